/*  server_chan - the server's side of channels: it runs CHAN_SEND,
    CHAN_RECV, their batches and SELECT on the channel table, answers
    them at once or when their parked operation fires or times out, and
    sends a job's result on its result channel.

    The table returns the operations a call made fire, and they are
    answered here once the call has returned. A client is tracked
    (client.c) while it has an operation parked (park.c) or a received
    value not yet acknowledged; if it goes silent or says DISCONNECT
    (server_park.c), its unacknowledged values go back to their channels,
    so that a value is lost neither to a crash nor to a timeout. Our own
    sends (job results) park like a client's, with no client and no
    deadline.
*/
#include "server_int.h"
#include "reply.h"
#include "chan.h"
#include "client.h"
#include "config.h"
#include "job.h"
#include "log.h"
#include "park.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* The receiver at RID (C if known) got DELIVERY, 0 for none: it stays
   the channel's until C acknowledges it. */
static void
s_delivered(server_t *self, client_t *c, const goro_rid_t *rid,
            uint64_t delivery)
{
    if (!delivery)
        return;
    if (!c)
        c = client_table_hold(self->ctable, rid, util_now());
    chan_delivery_hold(self->tables.chans, delivery, &c->deliveries);
}

/* Whether CMD's answer is VALUES: the values are views of the table's. */
static bool
s_batch_recv(int cmd)
{
    return cmd == GORO_MSG_CHAN_RECV_MANY || cmd == GORO_MSG_CHAN_RECV_AHEAD;
}

/* The answer to a channel operation, parked or not; ROOM is what a
   CHAN_PUT's answer reports. */
static void
s_reply_chan(server_t *self, const goro_rid_t *rid, uint64_t reqid, int cmd,
             chan_result_t *result, int64_t room)
{
    if (cmd == GORO_MSG_CHAN_SEND || cmd == GORO_MSG_CHAN_PUT) {
        if (result->code)
            reply_error(self, rid, reqid, result->code,
                        "the channel is closed");
        else if (cmd == GORO_MSG_CHAN_SEND)
            reply_ok(self, rid, reqid, 0);
        else {
            goro_msg_t *msg = goro_msg_new(GORO_MSG_ROOM);
            msg->reqid = reqid;
            msg->room = room;
            reply_send(self, self->clients, msg, rid);
            goro_msg_destroy(&msg);
        }
        return;
    }
    goro_msg_t *msg = goro_msg_new(
        cmd == GORO_MSG_CHAN_SEND_MANY ? GORO_MSG_SENT
        : s_batch_recv(cmd)            ? GORO_MSG_VALUES
                                       : GORO_MSG_VALUE);
    msg->reqid = reqid;
    msg->code = (uint32_t) result->code;
    msg->sent_count = (uint32_t) result->count;
    msg->index = (uint32_t) result->index;
    msg->flags = result->closed || result->code == GORO_ECLOSED ? 1 : 0;
    msg->delivery_id = result->delivery;
    goro_msg_take_data(msg, &result->data, result->size);
    /* A batch's values are views of what the table holds; the outbox
       encodes them now, before the table changes. */
    if (s_batch_recv(cmd)) {
        msg->values = result->values;
        msg->nvalues = result->count;
    }
    reply_send(self, self->clients, msg, rid);
    msg->values = NULL;
    msg->nvalues = 0;
    goro_msg_destroy(&msg);
}

/* The parked P fired with RESULT (whose data goes to the answer). A
   CHAN_PUT that waited reports no room: others may be waiting too, and
   its sender's next send asks again. */
static void
s_park_fired(server_t *self, park_t *p, chan_result_t *result)
{
    p->chan = NULL; /* the table freed it */
    if (p->cmd) {
        s_delivered(self, p->client, &p->rid, result->delivery);
        s_reply_chan(self, &p->rid, p->reqid, p->cmd, result, 0);
    }
    else {
        if (result->code == GORO_ECLOSED)
            self->results_dropped++;
        job_t *job = job_table_lookup(self->tables.jobs, p->job_id);
        if (job)
            job_table_result_sent(self->tables.jobs, job);
    }
    park_table_remove(self->parks, &p);
}

/* Answers what fired in a table call, now that the call has returned,
   and empties FIRED. */
static void
s_answer_fired(server_t *self, chan_fired_t *fired)
{
    for (size_t i = 0; i < fired->count; i++)
        s_park_fired(self, fired->fires[i].owner, &fired->fires[i].result);
    chan_fired_free(fired);
}

void
server_chan_park_withdraw(server_t *self, park_t *p, bool tell, int code,
                          const char *why)
{
    size_t sent = chan_park_withdraw(self->tables.chans, &p->chan);
    if (tell && p->cmd == GORO_MSG_CHAN_SEND_MANY) {
        chan_result_t result = {.code = code, .count = sent};
        s_reply_chan(self, &p->rid, p->reqid, p->cmd, &result, 0);
    }
    else if (tell && p->cmd)
        reply_error(self, &p->rid, p->reqid, code, "%s", why);
    park_table_remove(self->parks, &p);
}

/* Hands MSG's operation to the channel table, P owning the park. A
   batched receive takes at most limits.max_message bytes, what a single
   value may be, and at most the values a frame may list. A CHAN_PUT on
   room its sender held never parks (chan_put). */
static int
s_chan_run(server_t *self, goro_msg_t *msg, chan_case_t *cases, size_t ncases,
           park_t *p, chan_result_t *result, chan_fired_t *fired)
{
    bool may_park = msg->timeout != 0;
    if (msg->cmd == GORO_MSG_CHAN_PUT && (msg->flags & 1))
        return chan_put(self->tables.chans, msg->name, &cases[0].data,
                        cases[0].size, result, fired);
    switch (msg->cmd) {
        case GORO_MSG_CHAN_SEND_MANY: {
            size_t nvalues = msg->nvalues;
            msg->nvalues = 0;
            return chan_send_many(self->tables.chans, msg->name, &msg->values,
                                  nvalues, may_park, p, &p->chan, result,
                                  fired);
        }
        case GORO_MSG_CHAN_RECV_MANY:
        case GORO_MSG_CHAN_RECV_AHEAD: {
            chan_batch_t limits = {
                .max = msg->recv_max < GORO_MSG_LIST_MAX ? msg->recv_max
                                                         : GORO_MSG_LIST_MAX,
                .max_bytes = self->cfg->max_message,
                .ahead = msg->cmd == GORO_MSG_CHAN_RECV_AHEAD,
            };
            return chan_recv_many(self->tables.chans, msg->name, &limits,
                                  may_park, p, &p->chan, result, fired);
        }
        default:
            return chan_select(self->tables.chans, cases, ncases, may_park, p,
                               &p->chan, result, fired);
    }
}

/* Every channel operation: a send, a receive or a select, as cases, or a
   batch, from MSG. */
static void
s_chan_op(server_t *self, const goro_rid_t *rid, goro_msg_t *msg,
          chan_case_t *cases, size_t ncases)
{
    park_t *p = park_new(rid, msg->reqid, msg->cmd);
    chan_result_t result;
    chan_fired_t fired = {0};
    int rc = s_chan_run(self, msg, cases, ncases, p, &result, &fired);
    s_answer_fired(self, &fired);
    if (rc == GORO_OK && p->chan) {
        park_table_add(self->parks, p, msg->timeout);
        return;
    }
    park_destroy(&p);
    if (rc == GORO_OK) {
        s_delivered(self, NULL, rid, result.delivery);
        s_reply_chan(self, rid, msg->reqid, msg->cmd, &result,
                     chan_room(self->tables.chans, msg->name));
    }
    else if (rc == GORO_ENOTFOUND)
        reply_error(self, rid, msg->reqid, rc,
                    "no channel %.255s (make "
                    "it first)",
                    msg->name     ? msg->name
                    : ncases == 1 ? cases[0].chan
                                  : "of the select");
    else if (rc == GORO_ETIMEDOUT)
        reply_error(self, rid, msg->reqid, rc, "no case was ready");
    else if (msg->name)
        reply_error(self, rid, msg->reqid, rc,
                    "a batch needs at least "
                    "one value");
    else
        reply_error(self, rid, msg->reqid, rc, "invalid select case");
    free(result.data);
    free(result.values);
}

/* limits.max_channel_bytes bounds what channel buffers may hold. A send
   that could take the total past it is refused with GORO_EFULL, even if
   a receiver might take it at once: the check stays O(1). */
static bool
s_chan_full(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    uint64_t bytes = msg->cmd == GORO_MSG_CHAN_SEND
                             || msg->cmd == GORO_MSG_CHAN_PUT
                         ? msg->size
                         : 0;
    for (size_t i = 0; i < msg->nvalues; i++)
        bytes += msg->values[i].size;
    for (size_t i = 0; i < msg->ncases; i++)
        if (msg->cases[i].op == GORO_CASE_SEND)
            bytes += msg->cases[i].size;
    if (bytes == 0
        || chan_table_bytes(self->tables.chans) + bytes
               <= self->cfg->max_channel_bytes)
        return false;
    reply_error(self, rid, msg->reqid, GORO_EFULL,
                "channel buffers hold %llu bytes "
                "(limits.max_channel_bytes)",
                (unsigned long long) chan_table_bytes(self->tables.chans));
    return true;
}

void
server_chan_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (s_chan_full(self, rid, msg))
        return;
    if (msg->cmd == GORO_MSG_SELECT) {
        if (msg->ncases == 0) {
            reply_error(self, rid, msg->reqid, GORO_EINVAL,
                        "a select needs at least one case");
            return;
        }
        chan_case_t *cases = util_zalloc(sizeof *cases * msg->ncases);
        for (size_t i = 0; i < msg->ncases; i++) {
            cases[i].op = msg->cases[i].op;
            cases[i].chan = msg->cases[i].chan;
            cases[i].data = msg->cases[i].data;
            cases[i].size = msg->cases[i].size;
            msg->cases[i].data = NULL;
        }
        s_chan_op(self, rid, msg, cases, msg->ncases);
        for (size_t i = 0; i < msg->ncases; i++)
            free(cases[i].data);
        free(cases);
        return;
    }
    if (msg->cmd == GORO_MSG_CHAN_SEND_MANY || s_batch_recv(msg->cmd)) {
        s_chan_op(self, rid, msg, NULL, 0);
        return;
    }
    chan_case_t one = {
        .op = msg->cmd == GORO_MSG_CHAN_SEND || msg->cmd == GORO_MSG_CHAN_PUT
                  ? GORO_CASE_SEND
                  : GORO_CASE_RECV,
        .chan = msg->name,
        .data = msg->data,
        .size = msg->size,
    };
    msg->data = NULL;
    s_chan_op(self, rid, msg, &one, 1);
    free(one.data);
}

void
server_chan_on_admin(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (!msg->name || !*msg->name) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "a channel needs a name");
        return;
    }
    int rc;
    if (msg->cmd == GORO_MSG_CHAN_MAKE) {
        rc = chan_make(self->tables.chans, msg->name, msg->capacity);
        if (rc == GORO_EEXIST)
            reply_error(self, rid, msg->reqid, rc,
                        "channel %s exists "
                        "with another capacity",
                        msg->name);
        else if (rc)
            reply_error(self, rid, msg->reqid, rc,
                        "capacity %lld is "
                        "not valid",
                        (long long) msg->capacity);
    }
    else {
        chan_fired_t fired = {0};
        rc = chan_close(self->tables.chans, msg->name, &fired);
        s_answer_fired(self, &fired);
        if (rc == GORO_ENOTFOUND)
            reply_error(self, rid, msg->reqid, rc, "no channel %s", msg->name);
        else if (rc)
            reply_error(self, rid, msg->reqid, rc,
                        "channel %s is "
                        "closed already",
                        msg->name);
    }
    if (rc == GORO_OK)
        reply_ok(self, rid, msg->reqid, 0);
}

/* A job with a result channel sends its output there when it ends, under
   channel rules: the send parks while the channel is full (or unbuffered
   with no receiver), without holding a worker. On a closed channel the
   value is dropped and counted (stats: results_dropped). */
void
server_chan_send_result(server_t *self, job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    park_t *p = park_new(NULL, 0, 0);
    p->job_id = job->id;
    chan_case_t one = {
        .op = GORO_CASE_SEND,
        .chan = extra->chan,
        .data = util_memdup(extra->out, extra->out_size),
        .size = extra->out_size,
    };
    chan_result_t result;
    chan_fired_t fired = {0};
    int rc = chan_select(self->tables.chans, &one, 1, true, p, &p->chan,
                         &result, &fired);
    s_answer_fired(self, &fired);
    free(one.data);
    if (rc == GORO_OK && p->chan) {
        park_table_add(self->parks, p, 0);
        return;
    }
    park_destroy(&p);
    job_table_result_sent(self->tables.jobs, job);
    if (rc != GORO_OK || result.code != GORO_OK) {
        self->results_dropped++;
        log_info("job %llu: result for channel %s dropped (%s)",
                 (unsigned long long) job->id, extra->chan,
                 rc ? goro_strerror(rc) : goro_strerror(result.code));
    }
}

void
server_chan_client_return(server_t *self, client_t *c)
{
    chan_fired_t fired = {0};
    chan_return(self->tables.chans, &c->deliveries, &fired);
    s_answer_fired(self, &fired);
}

void
server_chan_on_ack(server_t *self, const goro_rid_t *rid,
                   const goro_msg_t *msg)
{
    client_t *c = client_table_lookup(self->ctable, rid);
    /* Only the receiver of a value may acknowledge it. */
    if (!c)
        return;
    chan_fired_t fired = {0};
    int rc = msg->cmd == GORO_MSG_CHAN_TAKEN
                 ? chan_take(self->tables.chans, msg->delivery_id,
                             &c->deliveries, msg->taken_count, msg->flags & 1,
                             &fired)
                 : chan_ack(self->tables.chans, msg->delivery_id,
                            &c->deliveries, &fired);
    s_answer_fired(self, &fired);
    if (rc == GORO_OK)
        client_table_release(self->ctable, &c);
}
