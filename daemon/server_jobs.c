/*  server_jobs - what the server does around a job's life: it arms the
    job's deadline (run timeout, retry backoff, result ttl) in the heap,
    starts and kills it on workers, dispatches queued jobs to free
    workers, and serves the job requests: SUBMIT, STATUS, WAIT, CANCEL
    and RETRY.

    The job table (job.c) and the queues (sched.c) hold the state and
    know nothing of workers or clients; this file links a job to those.
    Of a job's runtime links (job_links.h) it owns the deadline and the
    backoff flag: every other file goes through the functions here.
    What follows a job's end, whoever ends it (a worker's DONE, a
    timeout, a cancel, a lost worker), is server_job_ended, so that
    waiters, waitgroups and result channels hear of every end once.
*/
#include "server_int.h"
#include "reply.h"
#include "chan.h"
#include "heap.h"
#include "job.h"
#include "job_links.h"
#include "list.h"
#include "log.h"
#include "park.h"
#include "sched.h"
#include "wg.h"
#include "worker.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <assert.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- jobs ---------------------------------------------------------- */

static void
s_reply_job(server_t *self, const goro_rid_t *rid, uint64_t reqid,
            const job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    goro_msg_t *msg = goro_msg_new(GORO_MSG_JOB);
    msg->reqid = reqid;
    msg->job_id = job->id;
    goro_msg_set_name(msg, job->fn);
    msg->state = (uint8_t) job->state;
    msg->attempt = (uint32_t) extra->attempt;
    msg->status = extra->status;
    msg->runtime = extra->runtime_ms;
    goro_msg_set_data(msg, extra->out, extra->out_size);
    goro_msg_set_text(msg, extra->err, extra->err_size);
    reply_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

/* The job's deadline node, made with its links on first use. */
static heap_node_t *
s_deadline(job_t *job)
{
    heap_node_t *node = &job_links_ensure(job)->deadline;
    node->kind = DL_JOB;
    return node;
}

void
server_job_keep_result(server_t *self, job_t *job, int64_t left_ms)
{
    heap_arm(self->heap, s_deadline(job), util_now() + left_ms);
}

/* Everything that follows a job's end: the result's ttl, the parked
   WAITs answered. */
void
server_job_ended(server_t *self, job_t *job)
{
    server_job_keep_result(self, job, self->cfg->result_ttl_ms);
    const job_extra_t *extra = job_extra(job);
    park_t *p;
    while ((p = park_first(&job_links_ensure(job)->waiters))) {
        s_reply_job(self, &p->rid, p->reqid, job);
        park_table_remove(self->parks, &p);
    }
    if (extra->wg)
        server_wg_job_done(self, job);
    if (extra->chan)
        server_chan_send_result(self, job);
    log_debug("job %llu %s (status %lld)", (unsigned long long) job->id,
              goro_job_state_name(job->state), (long long) extra->status);
}

void
server_job_end(server_t *self, job_t *job, int state, int64_t status,
               const char *reason)
{
    char *err = reason ? util_strdup(reason) : NULL;
    job_table_end(self->tables.jobs, job, state, status, 0, NULL, 0, &err,
                  reason ? strlen(reason) : 0);
    server_job_ended(self, job);
}

static void
s_job_start(server_t *self, job_t *job, worker_t *w)
{
    int64_t now = util_now();
    job_table_start(self->tables.jobs, job, now);
    worker_table_attach(self->wtable, w, job);
    if (job->timeout_ms > 0)
        heap_arm(self->heap, s_deadline(job), util_deadline(job->timeout_ms));
    reply_worker(self, w, GORO_MSG_DISPATCH, job);
}

/* Stops a running job on its worker. The job stays attached until the
   worker reports the attempt ended, so that its capacity is not given to
   another job while the process is still being killed. */
static void
s_job_kill(server_t *self, job_t *job)
{
    heap_cancel(self->heap, s_deadline(job));
    reply_worker(self, job_links(job)->worker, GORO_MSG_KILL, job);
}

void
server_job_lost(server_t *self, job_t *job, const char *why)
{
    if (job_attempts_used(job) < job->max_attempts) {
        /* Back off before the next attempt: a job that kills its worker
           should not take every worker down at once. */
        job_table_requeue(self->tables.jobs, job);
        int shift = job_attempts_used(job) - 1;
        int64_t delay = SERVER_RETRY_MIN_MS << (shift < 7 ? shift : 7);
        job_links_ensure(job)->delayed = true;
        heap_arm(self->heap, s_deadline(job), util_now() + delay);
    }
    else {
        char reason[128];
        snprintf(reason, sizeof reason, "worker lost (%s) on attempt %d of %d",
                 why, job_attempts_used(job), job->max_attempts);
        server_job_end(self, job, GORO_JOB_FAILED, -1, reason);
    }
}

void
server_job_expire(server_t *self, job_t *job)
{
    job_links_t *links = job_links_ensure(job); /* armed: it has them */
    if (links->delayed) {                       /* its backoff is over */
        links->delayed = false;
        sched_push_front(self->sched, job);
        server_job_dispatch_fn(self, job->fn);
    }
    else if (job->state == GORO_JOB_RUNNING) {
        char reason[96];
        snprintf(reason, sizeof reason, "timed out after %lld ms",
                 (long long) job->timeout_ms);
        s_job_kill(self, job);
        server_job_end(self, job, GORO_JOB_TIMED_OUT, -1, reason);
    }
    else if (links->worker)
        server_job_keep_result(self, job, SERVER_TTL_RETRY_MS);
    else {
        assert(links->waiters.count == 0); /* answered at its end */
        job_table_remove(self->tables.jobs, &job);
    }
}

/* ---- dispatch ------------------------------------------------------ */

void
server_job_dispatch_worker(server_t *self, worker_t *w)
{
    while (worker_table_is_free(self->wtable, w)) {
        job_t *job = sched_pop_any(self->sched, w->fns, w->nfns);
        if (!job)
            return;
        s_job_start(self, job, w);
    }
}

/* Starts queued jobs of FN (every function when NULL) on free workers. */
void
server_job_dispatch_fn(server_t *self, const char *fn)
{
    if (self->stopping)
        return;
    if (!fn) {
        for (worker_t *w = worker_table_first(self->wtable); w;
             w = worker_table_next(self->wtable))
            server_job_dispatch_worker(self, w);
        return;
    }
    while (sched_queued(self->sched, fn) > 0) {
        worker_t *w = worker_table_pick(self->wtable, fn);
        if (!w)
            return;
        char *const one[] = {(char *) fn};
        job_t *job = sched_pop_any(self->sched, one, 1);
        s_job_start(self, job, w);
    }
}

/* ---- client requests ----------------------------------------------- */

/* Exec jobs: argv[0] is the first NUL-terminated string of the payload,
   checked against jobs.exec.allow before the job is queued. */
static int
s_exec_policy(server_t *self, const goro_msg_t *msg, char *why, size_t size)
{
    if (!self->cfg->exec_enabled) {
        snprintf(why, size, "exec jobs are disabled (jobs.exec.enabled)");
        return GORO_EDENIED;
    }
    if (msg->size == 0 || msg->data[msg->size - 1] != '\0'
        || msg->data[0] == '\0') {
        snprintf(why, size,
                 "exec payload must be a non-empty argv of "
                 "NUL-terminated strings");
        return GORO_EINVAL;
    }
    const char *program = (const char *) msg->data;
    for (size_t i = 0; i < self->cfg->nexec_allow; i++)
        if (fnmatch(self->cfg->exec_allow[i], program, 0) == 0)
            return GORO_OK;
    snprintf(why, size, "%.200s is not in jobs.exec.allow", program);
    return GORO_EDENIED;
}

/* Parks the request MSG of RID until JOB ends, TIMEOUT_MS at most (-1:
   no limit). */
static park_t *
s_park_on_job(server_t *self, const goro_rid_t *rid, const goro_msg_t *msg,
              job_t *job, int64_t timeout_ms)
{
    park_t *p = park_new(rid, msg->reqid, msg->cmd);
    park_wait_on(p, job, &job_links_ensure(job)->waiters);
    park_table_add(self->parks, p, timeout_ms);
    return p;
}

/* A SUBMIT is answered with the job's id at once, or, if it asks to wait
   (Gearman's `do`: one round trip instead of submit then wait), with the
   JOB when it ends, or as it is when the wait runs out. */
static void
s_submit_answer(server_t *self, const goro_rid_t *rid, goro_msg_t *msg,
                job_t *job)
{
    if (msg->submit_wait == 0)
        reply_ok(self, rid, msg->reqid, job->id);
    else if (job_state_ended(job->state))
        s_reply_job(self, rid, msg->reqid, job);
    else {
        park_t *p = s_park_on_job(self, rid, msg, job, msg->submit_wait);
        p->job_at_deadline = true;
    }
}

static void
s_on_submit(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (self->stopping) {
        reply_error(self, rid, msg->reqid, GORO_EUNAVAILABLE,
                    "gorod is shutting down");
        return;
    }
    if (!msg->name || !*msg->name) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "a job needs a function name");
        return;
    }
    /* A leased id is good once. One leased by an earlier run is good if
       the journal kept that lease (the id is below what this run gives
       out): after a clean restart, or any with fsync: always, a client
       goes on with its lease; after a crash that lost it, the client
       hears so rather than its job taking an id this run gives another. */
    if (msg->cmd == GORO_MSG_SUBMIT_LEASED && msg->run_id != self->epoch
        && msg->job_id >= self->ids_before_run) {
        reply_error(self, rid, msg->reqid, GORO_EUNAVAILABLE,
                    "job %llu not submitted: gorod restarted and its "
                    "journal lost the lease of that id",
                    (unsigned long long) msg->job_id);
        return;
    }
    if (msg->cmd == GORO_MSG_SUBMIT_LEASED
        && !job_table_id_free(self->tables.jobs, msg->job_id)) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "job id %llu was not leased, or is taken",
                    (unsigned long long) msg->job_id);
        return;
    }
    job_t *job = job_table_by_key(self->tables.jobs, msg->key);
    if (job) { /* a retried submit: same job */
        s_submit_answer(self, rid, msg, job);
        return;
    }
    if (msg->chan && *msg->chan
        && !chan_exists(self->tables.chans, msg->chan)) {
        reply_error(self, rid, msg->reqid, GORO_ENOTFOUND,
                    "no channel %s for the job's result (make it first)",
                    msg->chan);
        return;
    }
    if (msg->wg && *msg->wg) {
        wg_t *wg = wg_table_lookup(self->tables.wgs, msg->wg);
        if (wg && wg->info.counter == INT64_MAX) {
            reply_error(self, rid, msg->reqid, GORO_EINVAL,
                        "waitgroup %s would overflow", msg->wg);
            return;
        }
    }
    if (strcmp(msg->name, "exec") == 0) {
        char why[256];
        int rc = s_exec_policy(self, msg, why, sizeof why);
        if (rc) {
            reply_error(self, rid, msg->reqid, rc, "%s", why);
            return;
        }
    }
    if (sched_total(self->sched) >= self->cfg->max_queued_jobs) {
        reply_error(self, rid, msg->reqid, GORO_EFULL,
                    "%zu jobs are queued (limits.max_queued_jobs)",
                    sched_total(self->sched));
        return;
    }
    if (msg->timeout < 0) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "a job timeout cannot be negative");
        return;
    }
    if (msg->max_attempts > INT_MAX) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "max-attempts is at most %d", INT_MAX);
        return;
    }
    job_spec_t spec = {
        .id = msg->cmd == GORO_MSG_SUBMIT_LEASED ? msg->job_id : 0,
        .fn = msg->name,
        .data = msg->data,
        .size = msg->size,
        .wg = msg->wg,
        .chan = msg->chan,
        .key = msg->key,
        .timeout_ms = msg->timeout ? msg->timeout : self->cfg->job_timeout_ms,
        .max_attempts = msg->max_attempts ? (int) msg->max_attempts
                                          : self->cfg->max_attempts,
    };
    job = job_table_submit(self->tables.jobs, &spec);
    if (job_extra(job)->wg) /* Add(1) in the same step as the enqueue */
        wg_add(self->tables.wgs, job_extra(job)->wg, 1, NULL);
    sched_push(self->sched, job);
    s_submit_answer(self, rid, msg, job);
    server_job_dispatch_fn(self, job->fn);
}

/* A block of ids for a client's pipelined submissions (goro_go), so
   that it knows each job's id without waiting for the job's OK. */
static void
s_on_lease(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (msg->lease_count < 1 || msg->lease_count > SERVER_LEASE_MAX) {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "a lease is of 1 to %d job ids", SERVER_LEASE_MAX);
        return;
    }
    goro_msg_t *reply = goro_msg_new(GORO_MSG_LEASED);
    reply->reqid = msg->reqid;
    reply->job_id = job_table_lease(self->tables.jobs, msg->lease_count);
    reply->lease_count = msg->lease_count;
    reply->run_id = self->epoch;
    reply_send(self, self->clients, reply, rid);
    goro_msg_destroy(&reply);
}

static job_t *
s_find_job(server_t *self, const goro_rid_t *rid, const goro_msg_t *msg)
{
    job_t *job = job_table_lookup(self->tables.jobs, msg->job_id);
    if (!job)
        reply_error(self, rid, msg->reqid, GORO_ENOTFOUND,
                    "no job %llu (never submitted, or its result "
                    "expired)",
                    (unsigned long long) msg->job_id);
    return job;
}

static void
s_on_wait(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    job_t *job = s_find_job(self, rid, msg);
    if (!job)
        return;
    if (job_state_ended(job->state))
        s_reply_job(self, rid, msg->reqid, job);
    else if (msg->timeout == 0)
        reply_error(self, rid, msg->reqid, GORO_ETIMEDOUT,
                    "job %llu has not ended", (unsigned long long) job->id);
    else
        s_park_on_job(self, rid, msg, job, msg->timeout);
}

void
server_job_on_park_deadline(server_t *self, park_t *p)
{
    job_t *job = p->target;
    if (p->job_at_deadline)
        s_reply_job(self, &p->rid, p->reqid, job);
    else
        reply_error(self, &p->rid, p->reqid, GORO_ETIMEDOUT,
                    "job %llu has not ended", (unsigned long long) job->id);
    park_table_remove(self->parks, &p);
}

static void
s_on_cancel(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    job_t *job = s_find_job(self, rid, msg);
    if (!job)
        return;
    if (job->state == GORO_JOB_QUEUED && job_links(job)->delayed) {
        job_links_ensure(job)->delayed = false;
        heap_cancel(self->heap, s_deadline(job));
    }
    else if (job->state == GORO_JOB_QUEUED)
        sched_remove(self->sched, job);
    else if (job->state == GORO_JOB_RUNNING)
        s_job_kill(self, job);
    else {
        reply_error(self, rid, msg->reqid, GORO_ESTATE,
                    "job %llu already ended (%s)",
                    (unsigned long long) job->id,
                    goro_job_state_name(job->state));
        return;
    }
    server_job_end(self, job, GORO_JOB_CANCELLED, -1, "cancelled");
    reply_ok(self, rid, msg->reqid, job->id);
}

static void
s_on_retry(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    job_t *job = s_find_job(self, rid, msg);
    if (!job)
        return;
    if (!job_state_ended(job->state) || job->state == GORO_JOB_SUCCEEDED) {
        reply_error(self, rid, msg->reqid, GORO_ESTATE,
                    "job %llu is %s; only failed, cancelled or "
                    "timed-out jobs can be retried",
                    (unsigned long long) job->id,
                    goro_job_state_name(job->state));
        return;
    }
    if (job_links(job)->worker) {
        reply_error(self, rid, msg->reqid, GORO_ESTATE,
                    "job %llu is still being stopped on its worker",
                    (unsigned long long) job->id);
        return;
    }
    heap_cancel(self->heap, s_deadline(job));
    job_table_retry(self->tables.jobs, job);
    if (job_extra(job)->wg) /* it will Done again when it ends */
        wg_add(self->tables.wgs, job_extra(job)->wg, 1, NULL);
    sched_push(self->sched, job);
    s_submit_answer(self, rid, msg, job);
    server_job_dispatch_fn(self, job->fn);
}

void
server_job_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    switch (msg->cmd) {
        case GORO_MSG_SUBMIT:
        case GORO_MSG_SUBMIT_LEASED: s_on_submit(self, rid, msg); break;
        case GORO_MSG_LEASE: s_on_lease(self, rid, msg); break;
        case GORO_MSG_STATUS: {
            job_t *job = s_find_job(self, rid, msg);
            if (job)
                s_reply_job(self, rid, msg->reqid, job);
            break;
        }
        case GORO_MSG_WAIT: s_on_wait(self, rid, msg); break;
        case GORO_MSG_CANCEL: s_on_cancel(self, rid, msg); break;
        case GORO_MSG_RETRY: s_on_retry(self, rid, msg); break;
    }
}
