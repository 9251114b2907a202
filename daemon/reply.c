/*  reply - see reply.h. */
#include "reply.h"
#include "server_int.h"
#include "job.h"
#include "log.h"
#include "outbox.h"
#include "worker.h"
#include "goro_msg.h"
#include "goro_defs.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every message leaves through the outbox, after the journal flush. */
void
reply_send(server_t *self, zsock_t *sock, goro_msg_t *msg,
           const goro_rid_t *rid)
{
    if (outbox_push(self->outbox, zsock_resolve(sock), rid, msg) != GORO_OK)
        log_bug("a reply cannot be encoded");
}

void
reply_error(server_t *self, const goro_rid_t *rid, uint64_t reqid, int code,
            const char *format, ...)
{
    char text[512];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    goro_msg_t *msg = goro_msg_new(GORO_MSG_ERROR);
    msg->reqid = reqid;
    msg->code = (uint32_t) code;
    goro_msg_set_text(msg, text, strlen(text));
    reply_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

void
reply_ok(server_t *self, const goro_rid_t *rid, uint64_t reqid, uint64_t id)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_OK);
    msg->reqid = reqid;
    msg->job_id = id;
    reply_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

void
reply_worker(server_t *self, worker_t *w, int cmd, const job_t *job)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    if (job) {
        msg->job_id = job->id;
        msg->attempt = (uint32_t) job_extra(job)->attempt;
    }
    if (cmd == GORO_MSG_DISPATCH) {
        goro_msg_set_name(msg, job->fn);
        goro_msg_set_data(msg, job->data, job->size);
        msg->timeout = job->timeout_ms;
    }
    else if (cmd == GORO_MSG_HEARTBEAT)
        msg->run_id = self->epoch; /* as clients get it */
    reply_send(self, self->workers, msg, &w->rid);
    goro_msg_destroy(&msg);
}
