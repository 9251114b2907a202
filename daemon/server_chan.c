/*  server_chan - the server's side of channels: it runs CHAN_SEND,
    CHAN_RECV, their batches and SELECT on the channel table, answers
    them at once or when their parked operation fires or times out, and
    sends a job's result on its result channel.

    A client is tracked (client.c) while it has an operation parked or a
    received value not yet acknowledged. If it goes silent or says
    DISCONNECT, its parks are withdrawn and its unacknowledged values go
    back to their channels, so that a value is lost neither to a crash
    nor to a timeout. Our own sends (job results) park like a client's,
    with no client and no deadline.
*/
#include "server_int.h"
#include "reply.h"
#include "chan.h"
#include "client.h"
#include "config.h"
#include "heap.h"
#include "job.h"
#include "log.h"
#include "goro_msg.h"
#include "goro_util.h"
#include "goro_defs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Liveness of a parked client: it heartbeats every second (libgoro's
   fixed interval) or at gorod's interval if slower. */
static int64_t
s_client_liveness_ms(server_t *self)
{
    int64_t interval = self->cfg->heartbeat_interval_ms > 1000
                       ? self->cfg->heartbeat_interval_ms : 1000;
    return interval * self->cfg->heartbeat_liveness;
}

/* The client at RID, tracked while it has something parked or
   delivered, with its liveness deadline armed. */
static client_t *
s_client_hold(server_t *self, const goro_rid_t *rid)
{
    client_t *c = client_table_get(self->ctable, rid, goro_now());
    if (!heap_node_armed(&c->expiry))
        heap_arm(self->heap, &c->expiry,
                 c->last_seen + s_client_liveness_ms(self));
    return c;
}

/* Forgets C once nothing of it is parked or delivered. */
static void
s_client_release(server_t *self, client_t *c)
{
    if (c->nparks == 0 && c->ndeliveries == 0 && !c->pinned) {
        heap_cancel(self->heap, &c->expiry);
        client_table_remove(self->ctable, &c);
    }
}

/* The receiver at RID got a value: it stays the channel's until acked. */
static void
s_delivered(server_t *self, client_t *c, const goro_rid_t *rid,
            uint64_t delivery)
{
    if (!delivery)
        return;
    if (!c)
        c = s_client_hold(self, rid);
    client_delivery_add(c, delivery);
}

static void
s_parked_link(server_t *self, parked_t *p, const goro_rid_t *rid)
{
    client_t *c = s_client_hold(self, rid);
    p->client = c;
    p->prev = NULL;
    p->next = c->parks;
    if (p->next)
        p->next->prev = p;
    c->parks = p;
    c->nparks++;
}

/* Frees P once its operation fired or was withdrawn, and forgets its
   client when nothing of it is parked any more. */
static void
s_parked_free(server_t *self, parked_t *p)
{
    heap_cancel(self->heap, &p->deadline);
    client_t *c = p->client;
    if (c) {
        if (p->prev)
            p->prev->next = p->next;
        else
            c->parks = p->next;
        if (p->next)
            p->next->prev = p->prev;
        c->nparks--;
        s_client_release(self, c);
    }
    else {
        if (p->prev)
            p->prev->next = p->next;
        else if (self->own_parks == p)
            self->own_parks = p->next;
        if (p->next)
            p->next->prev = p->prev;
    }
    free(p);
}

/* The answer to a channel operation, parked or not. */
static void
s_reply_chan(server_t *self, const goro_rid_t *rid, uint64_t reqid, int cmd,
             chan_result_t *result)
{
    if (cmd == GORO_MSG_CHAN_SEND) {
        if (result->code)
            server_reply_error(self, rid, reqid, result->code,
                               "the channel is closed");
        else
            server_reply_ok(self, rid, reqid, 0);
        return;
    }
    goro_msg_t *msg = goro_msg_new(cmd == GORO_MSG_CHAN_SEND_MANY
                                   ? GORO_MSG_SENT
                                   : cmd == GORO_MSG_CHAN_RECV_MANY
                                   ? GORO_MSG_VALUES : GORO_MSG_VALUE);
    msg->reqid = reqid;
    msg->code = (uint32_t) result->code;
    msg->count = (uint32_t) result->count;
    msg->index = (uint32_t) result->index;
    msg->flags = result->closed || result->code == GORO_ECLOSED ? 1 : 0;
    msg->id = result->delivery;
    goro_msg_take_data(msg, &result->data, result->size);
    /* A batch's values are views of what the table holds; the outbox
       encodes them now, before the table changes. */
    if (cmd == GORO_MSG_CHAN_RECV_MANY) {
        msg->values = result->values;
        msg->nvalues = result->count;
    }
    server_send(self, self->clients, msg, rid);
    msg->values = NULL;
    msg->nvalues = 0;
    goro_msg_destroy(&msg);
}

void
server_chan_on_fire(void *arg, chan_park_t *park, chan_result_t *result)
{
    server_t *self = arg;
    parked_t *p = chan_park_owner(park);
    if (p->cmd) {
        s_delivered(self, p->client, &p->rid, result->delivery);
        s_reply_chan(self, &p->rid, p->reqid, p->cmd, result);
    }
    else {
        if (result->code == GORO_ECLOSED)
            self->results_dropped++;
        job_t *job = job_table_lookup(self->tables.jobs, p->job_id);
        if (job)
            job_table_result_sent(self->tables.jobs, job);
    }
    free(result->data);
    result->data = NULL;
    free(result->values);
    result->values = NULL;
    s_parked_free(self, p);
}

/* Withdraws the parked P, answering CODE (WHY for people); a batched
   send says how many of its values went before. */
void
server_chan_parked_withdraw(server_t *self, parked_t *p, int code,
                            const char *why)
{
    size_t sent = chan_park_withdraw(self->tables.chans, &p->park);
    if (p->cmd == GORO_MSG_CHAN_SEND_MANY) {
        chan_result_t result = {.code = code, .count = sent};
        s_reply_chan(self, &p->rid, p->reqid, p->cmd, &result);
    }
    else
        server_reply_error(self, &p->rid, p->reqid, code, "%s", why);
    s_parked_free(self, p);
}

/* Hands MSG's operation to the channel table, P owning the park. A
   batched receive takes at most limits.max_message bytes, what a single
   value may be, and at most the values a frame may list. */
static int
s_chan_run(server_t *self, goro_msg_t *msg, chan_case_t *cases,
           size_t ncases, parked_t *p, chan_result_t *result)
{
    bool may_park = msg->timeout != 0;
    switch (msg->cmd) {
        case GORO_MSG_CHAN_SEND_MANY: {
            size_t nvalues = msg->nvalues;
            msg->nvalues = 0;
            return chan_send_many(self->tables.chans, msg->name, &msg->values,
                                  nvalues, may_park, p, &p->park, result);
        }
        case GORO_MSG_CHAN_RECV_MANY:
            return chan_recv_many(self->tables.chans, msg->name,
                                  msg->count < GORO_MSG_LIST_MAX
                                  ? msg->count : GORO_MSG_LIST_MAX,
                                  self->cfg->max_message, may_park, p,
                                  &p->park, result);
        default:
            return chan_select(self->tables.chans, cases, ncases, may_park, p,
                               &p->park, result);
    }
}

/* Every channel operation: a send, a receive or a select, as cases, or a
   batch, from MSG. */
static void
s_chan_op(server_t *self, const goro_rid_t *rid, goro_msg_t *msg,
          chan_case_t *cases, size_t ncases)
{
    parked_t *p = goro_zalloc(sizeof *p);
    p->rid = *rid;
    p->reqid = msg->reqid;
    p->cmd = msg->cmd;
    heap_node_init(&p->deadline, DL_PARK);
    chan_result_t result;
    int rc = s_chan_run(self, msg, cases, ncases, p, &result);
    if (rc == GORO_OK && p->park) {
        s_parked_link(self, p, rid);
        if (msg->timeout > 0)
            heap_arm(self->heap, &p->deadline, goro_deadline(msg->timeout));
        return;
    }
    free(p);
    if (rc == GORO_OK) {
        s_delivered(self, NULL, rid, result.delivery);
        s_reply_chan(self, rid, msg->reqid, msg->cmd, &result);
    }
    else if (rc == GORO_ENOTFOUND)
        server_reply_error(self, rid, msg->reqid, rc, "no channel %.255s (make "
                           "it first)", msg->name ? msg->name : ncases == 1
                           ? cases[0].chan : "of the select");
    else if (rc == GORO_ETIMEDOUT)
        server_reply_error(self, rid, msg->reqid, rc, "no case was ready");
    else if (msg->name)
        server_reply_error(self, rid, msg->reqid, rc, "a batch needs at least "
                           "one value");
    else
        server_reply_error(self, rid, msg->reqid, rc, "invalid select case");
    free(result.data);
    free(result.values);
}

/* limits.max_channel_bytes bounds what channel buffers may hold. A send
   that could take the total past it is refused with GORO_EFULL, even if
   a receiver might take it at once: the check stays O(1). */
static bool
s_chan_full(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    uint64_t bytes = msg->cmd == GORO_MSG_CHAN_SEND ? msg->size : 0;
    for (size_t i = 0; i < msg->nvalues; i++)
        bytes += msg->values[i].size;
    for (size_t i = 0; i < msg->ncases; i++)
        if (msg->cases[i].op == GORO_CASE_SEND)
            bytes += msg->cases[i].size;
    if (bytes == 0 || chan_table_bytes(self->tables.chans) + bytes
                      <= self->cfg->max_channel_bytes)
        return false;
    server_reply_error(self, rid, msg->reqid, GORO_EFULL,
                       "channel buffers hold %llu bytes "
                       "(limits.max_channel_bytes)",
                       (unsigned long long)
                       chan_table_bytes(self->tables.chans));
    return true;
}

void
server_chan_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (s_chan_full(self, rid, msg))
        return;
    if (msg->cmd == GORO_MSG_SELECT) {
        if (msg->ncases == 0) {
            server_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                               "a select needs at least one case");
            return;
        }
        chan_case_t *cases = goro_zalloc(sizeof *cases * msg->ncases);
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
    if (msg->cmd == GORO_MSG_CHAN_SEND_MANY
        || msg->cmd == GORO_MSG_CHAN_RECV_MANY) {
        s_chan_op(self, rid, msg, NULL, 0);
        return;
    }
    chan_case_t one = {
        .op = msg->cmd == GORO_MSG_CHAN_SEND ? GORO_CASE_SEND
                                              : GORO_CASE_RECV,
        .chan = msg->name, .data = msg->data, .size = msg->size,
    };
    msg->data = NULL;
    s_chan_op(self, rid, msg, &one, 1);
    free(one.data);
}

void
server_chan_on_admin(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (!msg->name || !*msg->name) {
        server_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                           "a channel needs a name");
        return;
    }
    int rc;
    if (msg->cmd == GORO_MSG_CHAN_MAKE) {
        rc = chan_make(self->tables.chans, msg->name, msg->number);
        if (rc == GORO_EEXIST)
            server_reply_error(self, rid, msg->reqid, rc, "channel %s exists "
                               "with another capacity", msg->name);
        else if (rc)
            server_reply_error(self, rid, msg->reqid, rc, "capacity %lld is "
                               "not valid", (long long) msg->number);
    }
    else {
        rc = chan_close(self->tables.chans, msg->name);
        if (rc == GORO_ENOTFOUND)
            server_reply_error(self, rid, msg->reqid, rc, "no channel %s",
                               msg->name);
        else if (rc)
            server_reply_error(self, rid, msg->reqid, rc, "channel %s is "
                               "closed already", msg->name);
    }
    if (rc == GORO_OK)
        server_reply_ok(self, rid, msg->reqid, 0);
}

/* A job with a result channel sends its output there when it ends, under
   channel rules: the send parks while the channel is full (or unbuffered
   with no receiver), without holding a worker. On a closed channel the
   value is dropped and counted (stats: results_dropped). */
void
server_chan_send_result(server_t *self, job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    parked_t *p = goro_zalloc(sizeof *p);
    p->job_id = job->id;
    heap_node_init(&p->deadline, DL_PARK);
    chan_case_t one = {
        .op = GORO_CASE_SEND, .chan = extra->chan,
        .data = goro_memdup(extra->out, extra->out_size),
        .size = extra->out_size,
    };
    chan_result_t result;
    int rc = chan_select(self->tables.chans, &one, 1, true, p, &p->park,
                         &result);
    free(one.data);
    if (rc == GORO_OK && p->park) {
        p->next = self->own_parks;
        if (p->next)
            p->next->prev = p;
        self->own_parks = p;
        return;
    }
    free(p);
    job_table_result_sent(self->tables.jobs, job);
    if (rc != GORO_OK || result.code != GORO_OK) {
        self->results_dropped++;
        log_info("job %llu: result for channel %s dropped (%s)",
                 (unsigned long long) job->id, extra->chan,
                 rc ? goro_strerror(rc) : goro_strerror(result.code));
    }
}

/* Withdraws everything client C parked (telling it so when TELL), then
   puts the values it had not acknowledged back in their channels, and
   forgets C. The parks go first, so that no value goes back to C. */
void
server_chan_client_withdraw(server_t *self, client_t *c, bool tell)
{
    c->pinned = true;
    while (c->parks) {
        parked_t *p = c->parks;
        if (tell)
            server_chan_parked_withdraw(self, p, GORO_EUNAVAILABLE,
                                        "gorod stopped");
        else {
            chan_park_withdraw(self->tables.chans, &p->park);
            s_parked_free(self, p);
        }
    }
    uint64_t *ids = c->deliveries;
    size_t count = c->ndeliveries;
    c->deliveries = NULL;
    c->ndeliveries = c->alloc = 0;
    for (size_t i = 0; i < count; i++)
        chan_return(self->tables.chans, ids[i]);
    free(ids);
    c->pinned = false;
    s_client_release(self, c);
}

void
server_chan_on_ack(server_t *self, const goro_rid_t *rid, const goro_msg_t *msg)
{
    client_t *c = client_table_lookup(self->ctable, rid);
    /* Only the receiver of a value may acknowledge it. */
    if (!c || !client_delivery_remove(c, msg->id))
        return;
    chan_ack(self->tables.chans, msg->id);
    s_client_release(self, c);
}

void
server_chan_client_gone(server_t *self, client_t *c)
{
    int64_t due = c->last_seen + s_client_liveness_ms(self);
    if (goro_now() < due) {
        heap_arm(self->heap, &c->expiry, due);
        return;
    }
    log_debug("client silent: %zu parked operation(s) withdrawn, %zu "
              "unacknowledged value(s) put back", c->nparks,
              c->ndeliveries);
    server_chan_client_withdraw(self, c, false);
}

/* Everything parked is dropped (our own sends) or withdrawn (clients',
   told so while the clients socket is there), before the tables go. */
void
server_chan_withdraw_all(server_t *self)
{
    while (self->own_parks) {
        parked_t *p = self->own_parks;
        chan_park_withdraw(self->tables.chans, &p->park);
        s_parked_free(self, p);
    }
    client_t *c;
    while (self->ctable && (c = client_table_first(self->ctable)))
        server_chan_client_withdraw(self, c, self->clients != NULL);
}
