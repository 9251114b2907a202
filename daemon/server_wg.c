/*  server_wg - the server's side of waitgroups: WG_ADD, WG_WAIT and
    WG_STATUS, the parked WG_WAITs released when a counter reaches zero,
    and the Done of a job submitted with a waitgroup.

    The waitgroup table (wg.c) holds the counters; a job's Add(1) is made
    where the job is queued (server_jobs.c), in the same step.
*/
#include "server_int.h"
#include "reply.h"
#include "job.h"
#include "log.h"
#include "park.h"
#include "wg.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

static void
s_wg_release(server_t *self, wg_t *wg)
{
    if (wg->info.counter != 0)
        return;
    park_t *p;
    while ((p = park_first(&wg->waiters))) {
        reply_ok(self, &p->rid, p->reqid, 0);
        park_table_remove(self->parks, &p);
    }
}

void
server_wg_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (!msg->name || !*msg->name) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "a waitgroup needs a name");
        return;
    }
    wg_t *wg = wg_table_lookup(self->tables.wgs, msg->name);
    if (msg->cmd == GORO_MSG_WG_ADD) {
        int rc = wg_add(self->tables.wgs, msg->name, msg->delta, &wg);
        if (rc == GORO_ENEGATIVE)
            reply_error(self, rid, msg->reqid, rc,
                        "waitgroup %s is at "
                        "%lld; adding %lld would make it negative",
                        msg->name, (long long) (wg ? wg->info.counter : 0),
                        (long long) msg->delta);
        else if (rc)
            reply_error(self, rid, msg->reqid, rc,
                        "waitgroup %s would "
                        "overflow",
                        msg->name);
        else {
            reply_ok(self, rid, msg->reqid, 0);
            s_wg_release(self, wg);
        }
    }
    else if (msg->cmd == GORO_MSG_WG_WAIT) {
        if (!wg || wg->info.counter == 0)
            reply_ok(self, rid, msg->reqid, 0);
        else if (msg->timeout == 0)
            reply_error(self, rid, msg->reqid, GORO_ETIMEDOUT,
                        "waitgroup %s is at %lld", msg->name,
                        (long long) wg->info.counter);
        else {
            park_t *p = park_new(rid, msg->reqid, msg->cmd);
            park_wait_on(p, wg, &wg->waiters);
            park_table_add(self->parks, p, msg->timeout);
        }
    }
    else {
        goro_msg_t *info = goro_msg_new(GORO_MSG_WG_INFO);
        info->reqid = msg->reqid;
        if (wg) {
            info->counter = wg->info.counter;
            info->added = wg->info.added;
            info->done = wg->info.done;
            info->succeeded = wg->info.succeeded;
            info->failed = wg->info.failed;
        }
        reply_send(self, self->clients, info, rid);
        goro_msg_destroy(&info);
    }
}

void
server_wg_on_park_deadline(server_t *self, park_t *p)
{
    wg_t *wg = p->target;
    reply_error(self, &p->rid, p->reqid, GORO_ETIMEDOUT,
                "waitgroup %s is at %lld", wg->name,
                (long long) wg->info.counter);
    park_table_remove(self->parks, &p);
}

/* A job's end is its Done(), exactly once: server_job_ended runs once per
   end, and a retry (which ends it again later) adds it back first. */
void
server_wg_job_done(server_t *self, job_t *job)
{
    wg_t *wg = NULL;
    const char *name = job_extra(job)->wg;
    int rc = wg_job_done(self->tables.wgs, name,
                         job->state == GORO_JOB_SUCCEEDED, &wg);
    if (rc)
        log_warn("job %llu: waitgroup %s was already at zero; its Done is "
                 "ignored",
                 (unsigned long long) job->id, name);
    else
        s_wg_release(self, wg);
}
