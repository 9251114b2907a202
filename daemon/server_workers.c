/*  server_workers - the server's side of the worker protocol: READY and
    the WELCOME that answers it, CLAIM, DONE, HEARTBEAT and DISCONNECT,
    the liveness check that declares a silent worker lost, and the exit
    of a pool process, which declares its worker lost at once.

    The worker table (worker.c) holds who is connected and what each
    runs. A lost worker's jobs go back to the queue, after a backoff,
    while they have attempts left; a worker that says DISCONNECT drains
    instead: it keeps its jobs until their DONEs are in.

    A worker that rejoins CLAIMs each attempt it still runs. An attempt
    is its own if gorod runs it on this connection, or on an earlier
    connection of the same process (same name and pid) not yet declared
    lost: gorod then moves the attempt over and sends nothing more to the
    old connection. Any other claimed attempt (requeued, ended, or
    unknown to a gorod that restarted) gets KILL.
*/
#include "server_int.h"
#include "reply.h"
#include "config.h"
#include "heap.h"
#include "job.h"
#include "job_links.h"
#include "log.h"
#include "worker.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A worker died, went silent or left: its running jobs go back to the
   queue while they have attempts left. */
static void
s_worker_lost(server_t *self, worker_t *w, const char *why)
{
    log_info("worker %s (pid %u) lost: %s; %d job(s) running", w->name, w->pid,
             why, w->running);
    job_t *job;
    while ((job = worker_newest_job(w))) {
        worker_table_detach(self->wtable, w, job);
        /* one that is not running was ended by a cancel or a timeout */
        if (job->state == GORO_JOB_RUNNING)
            server_job_lost(self, job, why);
    }
    heap_cancel(self->heap, &w->expiry);
    worker_table_remove(self->wtable, &w);
    server_job_dispatch_fn(self, NULL);
}

static void
s_worker_forget_if_idle(server_t *self, worker_t *w)
{
    if (w->draining && w->running == 0) {
        heap_cancel(self->heap, &w->expiry);
        worker_table_remove(self->wtable, &w);
    }
}

static int64_t
s_liveness_ms(server_t *self)
{
    return self->cfg->heartbeat_interval_ms * self->cfg->heartbeat_liveness;
}

void
server_worker_check(server_t *self, worker_t *w)
{
    int64_t due = w->last_seen + s_liveness_ms(self);
    if (util_now() >= due)
        s_worker_lost(self, w, "no heartbeat");
    else
        heap_arm(self->heap, &w->expiry, due);
}

/* jobs.exec's environment, user, limits and output size travel in
   WELCOME, so that every worker, local or remote, runs commands under
   gorod's policy. */
static void
s_welcome_policy(server_t *self, goro_msg_t *welcome)
{
    const config_t *cfg = self->cfg;
    size_t max = cfg->nexec_env + 6;
    welcome->strs = util_zalloc(sizeof(char *) * max);
    char line[GORO_MSG_STR_MAX + 1];
    for (size_t i = 0; i < cfg->nexec_env; i++) {
        snprintf(line, sizeof line, "env=%s", cfg->exec_env[i]);
        welcome->strs[welcome->nstrs++] = util_strdup(line);
    }
    if (cfg->exec_run_as) {
        snprintf(line, sizeof line, "run_as=%s", cfg->exec_run_as);
        welcome->strs[welcome->nstrs++] = util_strdup(line);
    }
    const struct {
        const char *key;
        uint64_t value;
    } limits[] = {
        {"limit.cpu", (uint64_t) (cfg->exec_limit_cpu_ms + 999) / 1000},
        {"limit.memory", cfg->exec_limit_memory},
        {"limit.files", cfg->exec_limit_files},
        {"limit.procs", cfg->exec_limit_procs},
    };
    /* A worker gorod did not start learns it here; DONE frames must
       fit the frame limit, which follows it. */
    snprintf(line, sizeof line, "max_output=%llu",
             (unsigned long long) cfg->exec_max_output);
    welcome->strs[welcome->nstrs++] = util_strdup(line);
    for (size_t i = 0; i < 4; i++)
        if (limits[i].value) {
            snprintf(line, sizeof line, "%s=%llu", limits[i].key,
                     (unsigned long long) limits[i].value);
            welcome->strs[welcome->nstrs++] = util_strdup(line);
        }
    snprintf(line, sizeof line, "kill_grace=%lld",
             (long long) cfg->exec_kill_grace_ms);
    welcome->strs[welcome->nstrs++] = util_strdup(line);
}

static void
s_on_ready(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    worker_t *w = worker_table_lookup(self->wtable, rid);
    if (w) /* READY again on one connection: start it over */
        s_worker_lost(self, w, "registered again");
    w = worker_table_add(self->wtable, rid, msg, util_now());
    w->expiry.kind = DL_WORKER;
    heap_arm(self->heap, &w->expiry, w->last_seen + s_liveness_ms(self));
    log_info("worker %s (pid %u) joined: capacity %d, %zu function(s)",
             w->name, w->pid, w->capacity, w->nfns);
    goro_msg_t *welcome = goro_msg_new(GORO_MSG_WELCOME);
    welcome->hb_interval = self->cfg->heartbeat_interval_ms;
    welcome->hb_liveness = self->cfg->heartbeat_liveness;
    goro_msg_set_text(welcome, self->clients_endpoint,
                      strlen(self->clients_endpoint));
    s_welcome_policy(self, welcome);
    reply_send(self, self->workers, welcome, rid);
    goro_msg_destroy(&welcome);
    if (!self->stopping)
        server_job_dispatch_worker(self, w);
}

/* Name and pid are what READY said: the same pair on two connections is
   one process that reconnected. */
static bool
s_same_process(const worker_t *a, const worker_t *b)
{
    return a->pid == b->pid && strcmp(a->name, b->name) == 0;
}

/* True if JOB's ATTEMPT is W's to report: gorod runs it on W, or on an
   earlier connection of W's process, from which it moves to W. That
   connection is gone (its process speaks on W now), so it gets no more
   jobs and is forgotten once empty. */
static bool
s_attempt_is_own(server_t *self, worker_t *w, job_t *job, uint32_t attempt)
{
    worker_t *owner = job_links(job)->worker;
    if (!owner || job_extra(job)->attempt != (int) attempt)
        return false;
    if (owner == w)
        return true;
    if (!s_same_process(owner, w))
        return false;
    log_info("worker %s (pid %u) reconnected: job %llu attempt %u moves to "
             "its new connection",
             w->name, w->pid, (unsigned long long) job->id, attempt);
    worker_table_drain(self->wtable, owner);
    worker_table_detach(self->wtable, owner, job);
    worker_table_attach(self->wtable, w, job);
    s_worker_forget_if_idle(self, owner);
    return true;
}

/* A rejoining worker's attempt that is not its own any more is stopped
   there; one that is but has ended meanwhile (cancelled, timed out) is
   stopped again, as its KILL may have gone to the old connection. */
static void
s_on_claim(server_t *self, worker_t *w, const goro_msg_t *msg)
{
    job_t *job = job_table_lookup(self->tables.jobs, msg->job_id);
    if (job && s_attempt_is_own(self, w, job, msg->attempt)) {
        if (job->state != GORO_JOB_RUNNING)
            reply_worker(self, w, GORO_MSG_KILL, job);
        return;
    }
    log_info("worker %s (pid %u) still runs job %llu attempt %u, which is "
             "no longer its own: killing it",
             w->name, w->pid, (unsigned long long) msg->job_id, msg->attempt);
    goro_msg_t *kill = goro_msg_new(GORO_MSG_KILL);
    kill->job_id = msg->job_id;
    kill->attempt = msg->attempt;
    reply_send(self, self->workers, kill, &w->rid);
    goro_msg_destroy(&kill);
}

/* Completions are fenced by attempt: a DONE for an attempt that is not
   the one this worker runs now changes nothing. */
static void
s_on_done(server_t *self, worker_t *w, goro_msg_t *msg)
{
    job_t *job = job_table_lookup(self->tables.jobs, msg->job_id);
    if (!job || !s_attempt_is_own(self, w, job, msg->attempt)) {
        log_debug("stale DONE for job %llu attempt %u ignored",
                  (unsigned long long) msg->job_id, msg->attempt);
        return;
    }
    worker_table_detach(self->wtable, w, job);
    w->finished++;
    if (job->state == GORO_JOB_RUNNING) {
        int state = msg->status == 0 ? GORO_JOB_SUCCEEDED : GORO_JOB_FAILED;
        job_table_end(self->tables.jobs, job, state, msg->status, msg->runtime,
                      &msg->data, msg->size, &msg->text, msg->text_size);
        server_job_ended(self, job);
    }
    if (w->draining)
        s_worker_forget_if_idle(self, w);
    else if (!self->stopping)
        server_job_dispatch_worker(self, w);
}

void
server_worker_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (msg->cmd == GORO_MSG_READY) {
        s_on_ready(self, rid, msg);
        return;
    }
    worker_t *w = worker_table_lookup(self->wtable, rid);
    if (!w) {
        /* We don't know it (we restarted, or it was declared lost):
           DISCONNECT tells it to register again. */
        if (msg->cmd != GORO_MSG_DISCONNECT) {
            goro_msg_t *bye = goro_msg_new(GORO_MSG_DISCONNECT);
            reply_send(self, self->workers, bye, rid);
            goro_msg_destroy(&bye);
        }
        return;
    }
    w->last_seen = util_now();
    switch (msg->cmd) {
        case GORO_MSG_HEARTBEAT: break;
        case GORO_MSG_DONE: s_on_done(self, w, msg); break;
        case GORO_MSG_CLAIM: s_on_claim(self, w, msg); break;
        case GORO_MSG_DISCONNECT:
            /* A worker that stops finishes what it runs: keep its jobs,
               accept their DONEs, forget it when the last one is in. */
            log_info("worker %s (pid %u) leaving after %d running job(s)",
                     w->name, w->pid, w->running);
            worker_table_drain(self->wtable, w);
            s_worker_forget_if_idle(self, w);
            break;
        default:
            log_debug("worker %s sent %s; ignored", w->name,
                      goro_msg_cmd_name(msg->cmd));
    }
}

void
server_worker_exited(void *arg, pid_t pid, const char *name)
{
    server_t *self = arg;
    /* Its old connections too, if it reconnected before it died. */
    bool found = true;
    while (found) {
        found = false;
        for (worker_t *w = worker_table_first(self->wtable); w;
             w = worker_table_next(self->wtable))
            if (w->pid == (uint32_t) pid && strcmp(w->name, name) == 0) {
                s_worker_lost(self, w, "process exited");
                found = true;
                break;
            }
    }
}
