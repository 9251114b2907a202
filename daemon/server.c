/*  server - the event loop and the message handlers.

    One thread, one loop: zmq_poll over the clients ROUTER, the workers
    ROUTER and a self-pipe that signal handlers write to, with the poll
    timeout taken from the deadline heap. Handlers validate a request, call
    the table mutators, then reply; the tables never see a socket.

    Replies to a request are sent at once; parked requests (WAIT) are
    answered when their target changes or their deadline passes. Both
    ROUTERs are ROUTER_MANDATORY, so a reply to a peer that is gone fails
    visibly (and is logged) instead of vanishing.
*/
#include "server.h"
#include "auth.h"
#include "chan.h"
#include "client.h"
#include "config.h"
#include "heap.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "outbox.h"
#include "pool.h"
#include "render.h"
#include "sched.h"
#include "waiter.h"
#include "wg.h"
#include "worker.h"
#include "goro_msg.h"
#include "goro_util.h"
#include "goro.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* What a deadline in the heap belongs to. */
enum {
    DL_JOB = 1,                 /* job: run timeout, or result ttl */
    DL_WORKER,                  /* worker: silence check */
    DL_WAITER,                  /* parked request */
    DL_POOL,                    /* pool slot restart */
    DL_TICK,                    /* our heartbeat to workers */
    DL_PARK,                    /* parked channel operation */
    DL_CLIENT,                  /* parked client: silence check */
    DL_WG_WAITER                /* parked WG_WAIT */
};

/* A channel operation parked in the channel table, and who to answer
   when it fires. Operations the daemon itself makes (a job's result sent
   on its result channel) have no client and no deadline. */
typedef struct parked parked_t;
struct parked {
    goro_rid_t rid;
    uint64_t reqid;
    int cmd;                    /* CHAN_SEND, CHAN_RECV, SELECT or a
                                   batch; 0: ours */
    uint64_t job_id;            /* ours: the job whose result this is */
    chan_park_t *park;
    heap_node_t deadline;
    client_t *client;           /* NULL for our own sends */
    parked_t *prev, *next;      /* in the client's list */
};

#define SERVER_BATCH 256        /* messages per socket per loop turn, so
                                   neither socket starves the other */
#define SERVER_FRAME_SLACK 524288 /* header and fields beyond the values */
#define SERVER_TTL_RETRY_MS 1000 /* a result still tied to a worker waits */
#define SERVER_RETRY_MIN_MS 100  /* first backoff after a lost worker; it
                                    doubles per attempt, up to 12.8 s */

struct server {
    const config_t *cfg;
    zsock_t *clients;
    zsock_t *workers;
    char *clients_endpoint;
    char *workers_endpoint;
    heap_t *heap;
    job_table_t *jobs;
    sched_t *sched;
    worker_table_t *wtable;
    chan_table_t *chans;
    wg_table_t *wgs;
    client_table_t *ctable;
    journal_t *journal;
    outbox_t *outbox;           /* this turn's messages, sent after the
                                   journal has the turn's records */
    uint64_t compact_at;        /* journal size that triggers compaction */
    bool compacting;            /* a compaction's child runs */
    uint64_t compact_from;      /* journal size when it started */
    pool_t *pool;
    auth_t *auth;               /* CURVE and its ZAP handler, or NULL */
    heap_node_t tick;
    int sig_read, sig_write;    /* self-pipe */
    bool stopping;
    int64_t stop_deadline;
    int64_t started_at;
    uint64_t epoch;             /* this run's id, in HEARTBEAT replies */
    uint64_t requests, malformed;
    uint64_t undelivered;       /* replies to peers that were gone */
    uint64_t results_dropped;   /* job results for a closed channel */
    parked_t *own_parks;        /* our own parked result sends */
};

/* The signal handlers' only way in. */
static int s_sig_write = -1;

static void
s_on_signal(int signo)
{
    int saved = errno;
    char byte = (char) signo;
    if (write(s_sig_write, &byte, 1) < 0) {
        /* the pipe is full: a wakeup is pending anyway */
    }
    errno = saved;
}

/* ---- setup --------------------------------------------------------- */

static void s_on_chan_fire(void *arg, chan_park_t *park,
                           chan_result_t *result);
static int s_recover(server_t *self, bool repair, char *err,
                     size_t err_size);

static zsock_t *
s_bind(const char *endpoint, const config_t *cfg, auth_t *auth,
       const char *domain, char **bound, char *err, size_t err_size)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock) {
        snprintf(err, err_size, "cannot create a socket: %s",
                 zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_router_mandatory(sock, 1);
    zsock_set_linger(sock, 200);   /* last replies at shutdown go out */
    zsock_set_sndhwm(sock, 0);      /* replies queue; ZMQ never drops them */
    zsock_set_rcvhwm(sock, 100000);
    /* DONE and JOB carry two values (output and error) of up to
       max_message each; far larger frames drop the connection. */
    uint64_t value_max = cfg->max_message > cfg->exec_max_output
                         ? cfg->max_message : cfg->exec_max_output;
    zsock_set_maxmsgsize(sock, (int64_t) (2 * value_max
                                          + SERVER_FRAME_SLACK));
    if (auth)
        auth_apply(auth, sock, domain);
    if (zsock_bind(sock, "%s", endpoint) == -1) {
        snprintf(err, err_size, "cannot bind %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    *bound = goro_strdup(zsock_endpoint(sock));
    return sock;
}

server_t *
server_new(const config_t *cfg, const char *worker_cmd, bool repair,
           char *err, size_t err_size)
{
    server_t *self = goro_zalloc(sizeof *self);
    self->cfg = cfg;
    self->sig_read = self->sig_write = -1;
    /* The ZAP handler is up before a CURVE socket binds. */
    if (cfg->curve_cert) {
        self->auth = auth_new(cfg, err, err_size);
        if (!self->auth)
            goto error;
    }
    self->clients = s_bind(cfg->listen_clients, cfg, self->auth,
                           AUTH_DOMAIN_CLIENTS, &self->clients_endpoint,
                           err, err_size);
    if (!self->clients)
        goto error;
    self->workers = s_bind(cfg->listen_workers, cfg, self->auth,
                           AUTH_DOMAIN_WORKERS, &self->workers_endpoint,
                           err, err_size);
    if (!self->workers)
        goto error;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        goto error;
    }
    self->sig_read = fds[0];
    self->sig_write = fds[1];
    self->heap = heap_new();
    self->jobs = job_table_new();
    self->sched = sched_new();
    self->wtable = worker_table_new();
    self->chans = chan_table_new(s_on_chan_fire, self,
                                 (uint64_t) goro_wall_ms() ^ (uint64_t) getpid());
    self->wgs = wg_table_new();
    self->ctable = client_table_new(DL_CLIENT);
    self->outbox = outbox_new();
    self->pool = pool_new(cfg, worker_cmd, self->workers_endpoint,
                          self->auth ? auth_pool_cert(self->auth) : NULL,
                          self->auth ? auth_server_cert(self->auth) : NULL,
                          self->heap, DL_POOL);
    heap_node_init(&self->tick, DL_TICK);
    self->started_at = goro_now();
    /* Differs from run to run, so that a client whose call was parked
       in an earlier gorod learns that its request is gone. */
    self->epoch = ((uint64_t) goro_wall_ms() << 20) ^ (uint64_t) getpid()
                  ^ (uint64_t) goro_now();
    if (self->epoch == 0)
        self->epoch = 1;
    if (s_recover(self, repair, err, err_size) != GORO_OK)
        goto error;
    return self;
error:
    server_destroy(&self);
    return NULL;
}

static void s_waiter_free_all(server_t *self);
static void s_commit(server_t *self);

void
server_destroy(server_t **self_p)
{
    if (self_p && *self_p) {
        server_t *self = *self_p;
        if (self->jobs) {
            s_waiter_free_all(self);
            s_commit(self);
        }
        journal_destroy(&self->journal);
        outbox_destroy(&self->outbox);
        pool_destroy(&self->pool);
        chan_table_destroy(&self->chans);
        wg_table_destroy(&self->wgs);
        client_table_destroy(&self->ctable);
        worker_table_destroy(&self->wtable);
        sched_destroy(&self->sched);
        job_table_destroy(&self->jobs);
        heap_destroy(&self->heap);
        zsock_destroy(&self->clients);
        zsock_destroy(&self->workers);
        auth_destroy(&self->auth);
        free(self->clients_endpoint);
        free(self->workers_endpoint);
        if (self->sig_read >= 0)
            close(self->sig_read);
        if (self->sig_write >= 0)
            close(self->sig_write);
        free(self);
        *self_p = NULL;
    }
}

const char *
server_clients_endpoint(server_t *self)
{
    return self->clients_endpoint;
}

const char *
server_workers_endpoint(server_t *self)
{
    return self->workers_endpoint;
}

/* ---- replies ------------------------------------------------------- */

/* Every message leaves through the outbox, after the journal flush. */
static void
s_send(server_t *self, zsock_t *sock, goro_msg_t *msg, const goro_rid_t *rid)
{
    if (outbox_push(self->outbox, zsock_resolve(sock), rid, msg) != GORO_OK)
        log_bug("a reply cannot be encoded");
}

static void
s_reply_error(server_t *self, const goro_rid_t *rid, uint64_t reqid,
              int code, const char *format, ...)
    __attribute__((format(printf, 5, 6)));

static void
s_reply_error(server_t *self, const goro_rid_t *rid, uint64_t reqid,
              int code, const char *format, ...)
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
    s_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

static void
s_reply_ok(server_t *self, const goro_rid_t *rid, uint64_t reqid,
           uint64_t id)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_OK);
    msg->reqid = reqid;
    msg->id = id;
    s_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

static void
s_reply_job(server_t *self, const goro_rid_t *rid, uint64_t reqid,
            const job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    goro_msg_t *msg = goro_msg_new(GORO_MSG_JOB);
    msg->reqid = reqid;
    msg->id = job->id;
    goro_msg_set_name(msg, job->fn);
    msg->state = (uint8_t) job->state;
    msg->attempt = (uint32_t) extra->attempt;
    msg->status = extra->status;
    msg->runtime = extra->runtime_ms;
    goro_msg_set_data(msg, extra->out, extra->out_size);
    goro_msg_set_text(msg, extra->err, extra->err_size);
    s_send(self, self->clients, msg, rid);
    goro_msg_destroy(&msg);
}

static void
s_send_worker(server_t *self, worker_t *w, int cmd, const job_t *job)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    if (job) {
        msg->id = job->id;
        msg->attempt = (uint32_t) job_extra(job)->attempt;
    }
    if (cmd == GORO_MSG_DISPATCH) {
        goro_msg_set_name(msg, job->fn);
        goro_msg_set_data(msg, job->data, job->size);
        msg->timeout = job->timeout_ms;
    }
    s_send(self, self->workers, msg, &w->rid);
    goro_msg_destroy(&msg);
}

/* ---- jobs ---------------------------------------------------------- */

static void s_dispatch_fn(server_t *self, const char *fn);
static void s_dispatch_worker(server_t *self, worker_t *w);
static void s_job_send_result(server_t *self, job_t *job);
static void s_job_wg_done(server_t *self, job_t *job);

/* The job's deadline node, made with its extra record on first use. */
static heap_node_t *
s_job_deadline(job_t *job)
{
    heap_node_t *node = &job_extra_ensure(job)->deadline;
    node->kind = DL_JOB;
    return node;
}

/* Everything that follows a job's end: the result's ttl, the parked
   WAITs answered. */
static void
s_job_ended(server_t *self, job_t *job)
{
    job_extra_t *extra = job_extra_ensure(job);     /* ended: it has one */
    heap_arm(self->heap, s_job_deadline(job),
             goro_now() + self->cfg->result_ttl_ms);
    while (extra->waiters) {
        waiter_t *w = extra->waiters;
        waiter_list_remove(&extra->waiters, w);
        heap_cancel(self->heap, &w->deadline);
        s_reply_job(self, &w->rid, w->reqid, job);
        waiter_destroy(&w);
    }
    if (extra->wg)
        s_job_wg_done(self, job);
    if (extra->chan)
        s_job_send_result(self, job);
    log_debug("job %llu %s (status %lld)", (unsigned long long) job->id,
              goro_job_state_name(job->state), (long long) extra->status);
}

static void
s_job_end(server_t *self, job_t *job, int state, int64_t status,
          const char *reason)
{
    char *err = reason ? goro_strdup(reason) : NULL;
    job_table_end(self->jobs, job, state, status, 0, NULL, 0, &err,
                  reason ? strlen(reason) : 0);
    s_job_ended(self, job);
}

static void
s_job_start(server_t *self, job_t *job, worker_t *w)
{
    int64_t now = goro_now();
    job_table_start(self->jobs, job, now);
    worker_table_attach(self->wtable, w, job);
    if (job->timeout_ms > 0)
        heap_arm(self->heap, s_job_deadline(job), now + job->timeout_ms);
    s_send_worker(self, w, GORO_MSG_DISPATCH, job);
}

/* Stops a running job on its worker. The job stays attached until the
   worker reports the attempt ended, so that its capacity is not given to
   another job while the process is still being killed. */
static void
s_job_kill(server_t *self, job_t *job)
{
    heap_cancel(self->heap, s_job_deadline(job));
    s_send_worker(self, job_extra(job)->worker, GORO_MSG_KILL, job);
}

static void
s_job_expire(server_t *self, job_t *job)
{
    job_extra_t *extra = job_extra_ensure(job);     /* armed: it has one */
    if (extra->delayed) {       /* its backoff is over */
        extra->delayed = false;
        sched_push_front(self->sched, job);
        s_dispatch_fn(self, job->fn);
    }
    else if (job->state == GORO_JOB_RUNNING) {
        char reason[96];
        snprintf(reason, sizeof reason, "timed out after %lld ms",
                 (long long) job->timeout_ms);
        s_job_kill(self, job);
        s_job_end(self, job, GORO_JOB_TIMED_OUT, -1, reason);
    }
    else if (extra->worker)
        heap_arm(self->heap, &extra->deadline,
                 goro_now() + SERVER_TTL_RETRY_MS);
    else
        job_table_remove(self->jobs, &job);
}

/* ---- workers ------------------------------------------------------- */

/* A worker died, went silent or left: its running jobs go back to the
   queue while they have attempts left. */
static void
s_worker_lost(server_t *self, worker_t *w, const char *why)
{
    log_info("worker %s (pid %u) lost: %s; %d job(s) running",
             w->name, w->pid, why, w->running);
    while (w->jobs) {
        job_t *job = w->jobs;
        worker_table_detach(self->wtable, w, job);
        if (job->state != GORO_JOB_RUNNING)
            continue;               /* already ended by cancel or timeout */
        heap_cancel(self->heap, s_job_deadline(job));
        if (job_attempts_used(job) < job->max_attempts) {
            /* Back off before the next attempt: a job that kills its
               worker should not take every worker down at once. */
            job_table_requeue(self->jobs, job);
            int shift = job_attempts_used(job) - 1;
            int64_t delay = SERVER_RETRY_MIN_MS << (shift < 7 ? shift : 7);
            job_extra_ensure(job)->delayed = true;
            heap_arm(self->heap, s_job_deadline(job), goro_now() + delay);
        }
        else {
            char reason[128];
            snprintf(reason, sizeof reason,
                     "worker lost (%s) on attempt %d of %d", why,
                     job_attempts_used(job), job->max_attempts);
            s_job_end(self, job, GORO_JOB_FAILED, -1, reason);
        }
    }
    heap_cancel(self->heap, &w->expiry);
    worker_table_remove(self->wtable, &w);
    s_dispatch_fn(self, NULL);
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

static void
s_worker_check(server_t *self, worker_t *w)
{
    int64_t due = w->last_seen + s_liveness_ms(self);
    if (goro_now() >= due)
        s_worker_lost(self, w, "no heartbeat");
    else
        heap_arm(self->heap, &w->expiry, due);
}

/* jobs.exec's environment, user and limits travel in WELCOME, so that
   every worker, local or remote, runs commands under gorod's policy. */
static void
s_welcome_policy(server_t *self, goro_msg_t *welcome)
{
    const config_t *cfg = self->cfg;
    size_t max = cfg->nexec_env + 5;
    welcome->strs = goro_zalloc(sizeof(char *) * max);
    char line[GORO_MSG_STR_MAX + 1];
    for (size_t i = 0; i < cfg->nexec_env; i++) {
        snprintf(line, sizeof line, "env=%s", cfg->exec_env[i]);
        welcome->strs[welcome->nstrs++] = goro_strdup(line);
    }
    if (cfg->exec_run_as) {
        snprintf(line, sizeof line, "run_as=%s", cfg->exec_run_as);
        welcome->strs[welcome->nstrs++] = goro_strdup(line);
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
    for (size_t i = 0; i < 4; i++)
        if (limits[i].value) {
            snprintf(line, sizeof line, "%s=%llu", limits[i].key,
                     (unsigned long long) limits[i].value);
            welcome->strs[welcome->nstrs++] = goro_strdup(line);
        }
}

static void
s_on_ready(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    worker_t *w = worker_table_lookup(self->wtable, rid);
    if (w)      /* READY again on one connection: start it over */
        s_worker_lost(self, w, "registered again");
    w = worker_table_add(self->wtable, rid, msg, goro_now());
    w->expiry.kind = DL_WORKER;
    heap_arm(self->heap, &w->expiry, w->last_seen + s_liveness_ms(self));
    log_info("worker %s (pid %u) joined: capacity %d, %zu function(s)",
             w->name, w->pid, w->capacity, w->nfns);
    goro_msg_t *welcome = goro_msg_new(GORO_MSG_WELCOME);
    welcome->number = self->cfg->heartbeat_interval_ms;
    welcome->counter = self->cfg->heartbeat_liveness;
    goro_msg_set_text(welcome, self->clients_endpoint,
                      strlen(self->clients_endpoint));
    s_welcome_policy(self, welcome);
    s_send(self, self->workers, welcome, rid);
    goro_msg_destroy(&welcome);
    if (!self->stopping)
        s_dispatch_worker(self, w);
}

/* Completions are fenced by attempt: a DONE for an attempt that is not
   the one this worker runs now changes nothing. */
static void
s_on_done(server_t *self, worker_t *w, goro_msg_t *msg)
{
    job_t *job = job_table_lookup(self->jobs, msg->id);
    if (!job || job_extra(job)->worker != w
        || job_extra(job)->attempt != (int) msg->attempt) {
        log_debug("stale DONE for job %llu attempt %u ignored",
                  (unsigned long long) msg->id, msg->attempt);
        return;
    }
    worker_table_detach(self->wtable, w, job);
    w->finished++;
    if (job->state == GORO_JOB_RUNNING) {
        heap_cancel(self->heap, s_job_deadline(job));
        int state = msg->status == 0 ? GORO_JOB_SUCCEEDED : GORO_JOB_FAILED;
        job_table_end(self->jobs, job, state, msg->status, msg->runtime,
                      &msg->data, msg->size, &msg->text, msg->text_size);
        s_job_ended(self, job);
    }
    if (w->draining)
        s_worker_forget_if_idle(self, w);
    else if (!self->stopping)
        s_dispatch_worker(self, w);
}

static void
s_on_worker_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
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
            s_send(self, self->workers, bye, rid);
            goro_msg_destroy(&bye);
        }
        return;
    }
    w->last_seen = goro_now();
    switch (msg->cmd) {
        case GORO_MSG_HEARTBEAT:
            break;
        case GORO_MSG_DONE:
            s_on_done(self, w, msg);
            break;
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

/* ---- dispatch ------------------------------------------------------ */

static void
s_dispatch_worker(server_t *self, worker_t *w)
{
    while (!w->draining && w->running < w->capacity) {
        job_t *job = sched_pop_any(self->sched, w->fns, w->nfns);
        if (!job)
            return;
        s_job_start(self, job, w);
    }
}

/* Starts queued jobs of FN (every function when NULL) on free workers. */
static void
s_dispatch_fn(server_t *self, const char *fn)
{
    if (self->stopping)
        return;
    if (!fn) {
        for (worker_t *w = worker_table_first(self->wtable); w;
             w = worker_table_next(self->wtable))
            s_dispatch_worker(self, w);
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

/* ---- channels ------------------------------------------------------ */

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
            s_reply_error(self, rid, reqid, result->code,
                          "the channel is closed");
        else
            s_reply_ok(self, rid, reqid, 0);
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
    s_send(self, self->clients, msg, rid);
    msg->values = NULL;
    msg->nvalues = 0;
    goro_msg_destroy(&msg);
}

static void
s_on_chan_fire(void *arg, chan_park_t *park, chan_result_t *result)
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
        job_t *job = job_table_lookup(self->jobs, p->job_id);
        if (job)
            job_table_result_sent(self->jobs, job);
    }
    free(result->data);
    result->data = NULL;
    free(result->values);
    result->values = NULL;
    s_parked_free(self, p);
}

/* Withdraws the parked P, answering CODE (WHY for people); a batched
   send says how many of its values went before. */
static void
s_parked_withdraw(server_t *self, parked_t *p, int code, const char *why)
{
    size_t sent = chan_park_withdraw(self->chans, &p->park);
    if (p->cmd == GORO_MSG_CHAN_SEND_MANY) {
        chan_result_t result = {.code = code, .count = sent};
        s_reply_chan(self, &p->rid, p->reqid, p->cmd, &result);
    }
    else
        s_reply_error(self, &p->rid, p->reqid, code, "%s", why);
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
            return chan_send_many(self->chans, msg->name, &msg->values,
                                  nvalues, may_park, p, &p->park, result);
        }
        case GORO_MSG_CHAN_RECV_MANY:
            return chan_recv_many(self->chans, msg->name,
                                  msg->count < GORO_MSG_LIST_MAX
                                  ? msg->count : GORO_MSG_LIST_MAX,
                                  self->cfg->max_message, may_park, p,
                                  &p->park, result);
        default:
            return chan_select(self->chans, cases, ncases, may_park, p,
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
            heap_arm(self->heap, &p->deadline, goro_now() + msg->timeout);
        return;
    }
    free(p);
    if (rc == GORO_OK) {
        s_delivered(self, NULL, rid, result.delivery);
        s_reply_chan(self, rid, msg->reqid, msg->cmd, &result);
    }
    else if (rc == GORO_ENOTFOUND)
        s_reply_error(self, rid, msg->reqid, rc, "no channel %.255s (make "
                      "it first)", msg->name ? msg->name : ncases == 1
                      ? cases[0].chan : "of the select");
    else if (rc == GORO_ETIMEDOUT)
        s_reply_error(self, rid, msg->reqid, rc, "no case was ready");
    else if (msg->name)
        s_reply_error(self, rid, msg->reqid, rc, "a batch needs at least "
                      "one value");
    else
        s_reply_error(self, rid, msg->reqid, rc, "invalid select case");
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
    if (bytes == 0 || chan_table_bytes(self->chans) + bytes
                      <= self->cfg->max_channel_bytes)
        return false;
    s_reply_error(self, rid, msg->reqid, GORO_EFULL, "channel buffers hold "
                  "%llu bytes (limits.max_channel_bytes)",
                  (unsigned long long) chan_table_bytes(self->chans));
    return true;
}

static void
s_on_chan_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (s_chan_full(self, rid, msg))
        return;
    if (msg->cmd == GORO_MSG_SELECT) {
        if (msg->ncases == 0) {
            s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
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

static void
s_on_chan_admin(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (!msg->name || !*msg->name) {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "a channel needs a name");
        return;
    }
    int rc;
    if (msg->cmd == GORO_MSG_CHAN_MAKE) {
        rc = chan_make(self->chans, msg->name, msg->number);
        if (rc == GORO_EEXIST)
            s_reply_error(self, rid, msg->reqid, rc, "channel %s exists with "
                          "another capacity", msg->name);
        else if (rc)
            s_reply_error(self, rid, msg->reqid, rc, "capacity %lld is not "
                          "valid", (long long) msg->number);
    }
    else {
        rc = chan_close(self->chans, msg->name);
        if (rc == GORO_ENOTFOUND)
            s_reply_error(self, rid, msg->reqid, rc, "no channel %s",
                          msg->name);
        else if (rc)
            s_reply_error(self, rid, msg->reqid, rc, "channel %s is closed "
                          "already", msg->name);
    }
    if (rc == GORO_OK)
        s_reply_ok(self, rid, msg->reqid, 0);
}

/* A job with a result channel sends its output there when it ends, under
   channel rules: the send parks while the channel is full (or unbuffered
   with no receiver), without holding a worker. On a closed channel the
   value is dropped and counted (stats: results_dropped). */
static void
s_job_send_result(server_t *self, job_t *job)
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
    int rc = chan_select(self->chans, &one, 1, true, p, &p->park, &result);
    free(one.data);
    if (rc == GORO_OK && p->park) {
        p->next = self->own_parks;
        if (p->next)
            p->next->prev = p;
        self->own_parks = p;
        return;
    }
    free(p);
    job_table_result_sent(self->jobs, job);
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
static void
s_client_withdraw(server_t *self, client_t *c, bool tell)
{
    c->pinned = true;
    while (c->parks) {
        parked_t *p = c->parks;
        if (tell)
            s_parked_withdraw(self, p, GORO_EUNAVAILABLE, "gorod stopped");
        else {
            chan_park_withdraw(self->chans, &p->park);
            s_parked_free(self, p);
        }
    }
    uint64_t *ids = c->deliveries;
    size_t count = c->ndeliveries;
    c->deliveries = NULL;
    c->ndeliveries = c->alloc = 0;
    for (size_t i = 0; i < count; i++)
        chan_return(self->chans, ids[i]);
    free(ids);
    c->pinned = false;
    s_client_release(self, c);
}

static void
s_on_ack(server_t *self, const goro_rid_t *rid, const goro_msg_t *msg)
{
    client_t *c = client_table_lookup(self->ctable, rid);
    /* Only the receiver of a value may acknowledge it. */
    if (!c || !client_delivery_remove(c, msg->id))
        return;
    chan_ack(self->chans, msg->id);
    s_client_release(self, c);
}

static void
s_on_client_gone(server_t *self, client_t *c)
{
    int64_t due = c->last_seen + s_client_liveness_ms(self);
    if (goro_now() < due) {
        heap_arm(self->heap, &c->expiry, due);
        return;
    }
    log_debug("client silent: %zu parked operation(s) withdrawn, %zu "
              "unacknowledged value(s) put back", c->nparks,
              c->ndeliveries);
    s_client_withdraw(self, c, false);
}

/* ---- waitgroups ---------------------------------------------------- */

static void
s_wg_release(server_t *self, wg_t *wg)
{
    if (wg->info.counter != 0)
        return;
    while (wg->waiters) {
        waiter_t *w = wg->waiters;
        waiter_list_remove(&wg->waiters, w);
        heap_cancel(self->heap, &w->deadline);
        s_reply_ok(self, &w->rid, w->reqid, 0);
        waiter_destroy(&w);
    }
}

static void
s_on_wg_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (!msg->name || !*msg->name) {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "a waitgroup needs a name");
        return;
    }
    wg_t *wg = wg_table_lookup(self->wgs, msg->name);
    if (msg->cmd == GORO_MSG_WG_ADD) {
        int rc = wg_add(self->wgs, msg->name, msg->number, &wg);
        if (rc == GORO_ENEGATIVE)
            s_reply_error(self, rid, msg->reqid, rc, "waitgroup %s is at %lld;"
                          " adding %lld would make it negative", msg->name,
                          (long long) (wg ? wg->info.counter : 0),
                          (long long) msg->number);
        else if (rc)
            s_reply_error(self, rid, msg->reqid, rc, "waitgroup %s would "
                          "overflow", msg->name);
        else {
            s_reply_ok(self, rid, msg->reqid, 0);
            s_wg_release(self, wg);
        }
    }
    else if (msg->cmd == GORO_MSG_WG_WAIT) {
        if (!wg || wg->info.counter == 0)
            s_reply_ok(self, rid, msg->reqid, 0);
        else if (msg->timeout == 0)
            s_reply_error(self, rid, msg->reqid, GORO_ETIMEDOUT,
                          "waitgroup %s is at %lld", msg->name,
                          (long long) wg->info.counter);
        else {
            waiter_t *w = waiter_new(rid, msg->reqid, DL_WG_WAITER, wg);
            waiter_list_push(&wg->waiters, w);
            if (msg->timeout > 0)
                heap_arm(self->heap, &w->deadline, goro_now() + msg->timeout);
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
        s_send(self, self->clients, info, rid);
        goro_msg_destroy(&info);
    }
}

static void
s_on_wg_deadline(server_t *self, waiter_t *w)
{
    wg_t *wg = w->target;
    waiter_list_remove(&wg->waiters, w);
    s_reply_error(self, &w->rid, w->reqid, GORO_ETIMEDOUT,
                  "waitgroup %s is at %lld", wg->name,
                  (long long) wg->info.counter);
    waiter_destroy(&w);
}

/* A job's end is its Done(), exactly once: s_job_ended runs once per
   end, and a retry (which ends it again later) adds it back first. */
static void
s_job_wg_done(server_t *self, job_t *job)
{
    wg_t *wg = NULL;
    const char *name = job_extra(job)->wg;
    int rc = wg_job_done(self->wgs, name, job->state == GORO_JOB_SUCCEEDED,
                         &wg);
    if (rc)
        log_warn("job %llu: waitgroup %s was already at zero; its Done is "
                 "ignored", (unsigned long long) job->id, name);
    else
        s_wg_release(self, wg);
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
        snprintf(why, size, "exec payload must be a non-empty argv of "
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

/* A SUBMIT is answered with the job's id at once, or, if it asks to wait
   (Gearman's `do`: one round trip instead of submit then wait), with the
   JOB when it ends, or as it is when the wait runs out. */
static void
s_submit_answer(server_t *self, const goro_rid_t *rid, goro_msg_t *msg,
                job_t *job)
{
    if (msg->number == 0)
        s_reply_ok(self, rid, msg->reqid, job->id);
    else if (job_state_ended(job->state))
        s_reply_job(self, rid, msg->reqid, job);
    else {
        waiter_t *w = waiter_new(rid, msg->reqid, DL_WAITER, job);
        w->job_at_deadline = true;
        waiter_list_push(&job_extra_ensure(job)->waiters, w);
        if (msg->number > 0)
            heap_arm(self->heap, &w->deadline, goro_now() + msg->number);
    }
}

static void
s_on_submit(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    if (self->stopping) {
        s_reply_error(self, rid, msg->reqid, GORO_EUNAVAILABLE,
                      "gorod is shutting down");
        return;
    }
    if (!msg->name || !*msg->name) {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "a job needs a function name");
        return;
    }
    job_t *job = job_table_by_key(self->jobs, msg->key);
    if (job) {                  /* a retried submit: same job */
        s_submit_answer(self, rid, msg, job);
        return;
    }
    if (msg->chan && *msg->chan && !chan_exists(self->chans, msg->chan)) {
        s_reply_error(self, rid, msg->reqid, GORO_ENOTFOUND,
                      "no channel %s for the job's result (make it first)",
                      msg->chan);
        return;
    }
    if (msg->wg && *msg->wg) {
        wg_t *wg = wg_table_lookup(self->wgs, msg->wg);
        if (wg && wg->info.counter == INT64_MAX) {
            s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                          "waitgroup %s would overflow", msg->wg);
            return;
        }
    }
    if (strcmp(msg->name, "exec") == 0) {
        char why[256];
        int rc = s_exec_policy(self, msg, why, sizeof why);
        if (rc) {
            s_reply_error(self, rid, msg->reqid, rc, "%s", why);
            return;
        }
    }
    if (sched_total(self->sched) >= self->cfg->max_queued_jobs) {
        s_reply_error(self, rid, msg->reqid, GORO_EFULL,
                      "%zu jobs are queued (limits.max_queued_jobs)",
                      sched_total(self->sched));
        return;
    }
    if (msg->timeout < 0) {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "a job timeout cannot be negative");
        return;
    }
    if (msg->max_attempts > INT_MAX) {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "max-attempts is at most %d", INT_MAX);
        return;
    }
    job_spec_t spec = {
        .fn = msg->name, .data = msg->data, .size = msg->size,
        .wg = msg->wg, .chan = msg->chan, .key = msg->key,
        .timeout_ms = msg->timeout ? msg->timeout : self->cfg->job_timeout_ms,
        .max_attempts = msg->max_attempts ? (int) msg->max_attempts
                        : self->cfg->max_attempts,
    };
    job = job_table_submit(self->jobs, &spec);
    if (job_extra(job)->wg)     /* Add(1) in the same step as the enqueue */
        wg_add(self->wgs, job_extra(job)->wg, 1, NULL);
    sched_push(self->sched, job);
    s_submit_answer(self, rid, msg, job);
    s_dispatch_fn(self, job->fn);
}

static job_t *
s_find_job(server_t *self, const goro_rid_t *rid, const goro_msg_t *msg)
{
    job_t *job = job_table_lookup(self->jobs, msg->id);
    if (!job)
        s_reply_error(self, rid, msg->reqid, GORO_ENOTFOUND,
                      "no job %llu (never submitted, or its result "
                      "expired)", (unsigned long long) msg->id);
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
        s_reply_error(self, rid, msg->reqid, GORO_ETIMEDOUT,
                      "job %llu has not ended", (unsigned long long) job->id);
    else {
        waiter_t *w = waiter_new(rid, msg->reqid, DL_WAITER, job);
        waiter_list_push(&job_extra_ensure(job)->waiters, w);
        if (msg->timeout > 0)
            heap_arm(self->heap, &w->deadline, goro_now() + msg->timeout);
    }
}

static void
s_on_waiter_deadline(server_t *self, waiter_t *w)
{
    job_t *job = w->target;
    waiter_list_remove(&job_extra_ensure(job)->waiters, w);
    if (w->job_at_deadline)
        s_reply_job(self, &w->rid, w->reqid, job);
    else
        s_reply_error(self, &w->rid, w->reqid, GORO_ETIMEDOUT,
                      "job %llu has not ended", (unsigned long long) job->id);
    waiter_destroy(&w);
}

static void
s_on_cancel(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    job_t *job = s_find_job(self, rid, msg);
    if (!job)
        return;
    if (job->state == GORO_JOB_QUEUED && job_extra(job)->delayed) {
        job_extra_ensure(job)->delayed = false;
        heap_cancel(self->heap, s_job_deadline(job));
    }
    else if (job->state == GORO_JOB_QUEUED)
        sched_remove(self->sched, job);
    else if (job->state == GORO_JOB_RUNNING)
        s_job_kill(self, job);
    else {
        s_reply_error(self, rid, msg->reqid, GORO_ESTATE,
                      "job %llu already ended (%s)",
                      (unsigned long long) job->id,
                      goro_job_state_name(job->state));
        return;
    }
    s_job_end(self, job, GORO_JOB_CANCELLED, -1, "cancelled");
    s_reply_ok(self, rid, msg->reqid, job->id);
}

static void
s_on_retry(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    job_t *job = s_find_job(self, rid, msg);
    if (!job)
        return;
    if (!job_state_ended(job->state) || job->state == GORO_JOB_SUCCEEDED) {
        s_reply_error(self, rid, msg->reqid, GORO_ESTATE,
                      "job %llu is %s; only failed, cancelled or timed-out "
                      "jobs can be retried", (unsigned long long) job->id,
                      goro_job_state_name(job->state));
        return;
    }
    if (job_extra(job)->worker) {
        s_reply_error(self, rid, msg->reqid, GORO_ESTATE,
                      "job %llu is still being stopped on its worker",
                      (unsigned long long) job->id);
        return;
    }
    heap_cancel(self->heap, s_job_deadline(job));
    job_table_retry(self->jobs, job);
    if (job_extra(job)->wg)     /* it will Done again when it ends */
        wg_add(self->wgs, job_extra(job)->wg, 1, NULL);
    sched_push(self->sched, job);
    s_submit_answer(self, rid, msg, job);
    s_dispatch_fn(self, job->fn);
}

static void
s_on_list(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    size_t size = 0;
    char *text = NULL;
    if (msg->what == GORO_LIST_JOBS)
        text = render_jobs(self->jobs, (int) msg->flags, &size);
    else if (msg->what == GORO_LIST_WORKERS)
        text = render_workers(self->wtable, self->pool, goro_now(),
                              (int) msg->flags, &size);
    else if (msg->what == GORO_LIST_STATS) {
        render_stats_t stats = {
            .uptime_ms = goro_now() - self->started_at,
            .submitted = job_table_submitted(self->jobs),
            .queued = job_table_count(self->jobs, GORO_JOB_QUEUED),
            .running = job_table_count(self->jobs, GORO_JOB_RUNNING),
            .succeeded = job_table_count(self->jobs, GORO_JOB_SUCCEEDED),
            .failed = job_table_count(self->jobs, GORO_JOB_FAILED),
            .cancelled = job_table_count(self->jobs, GORO_JOB_CANCELLED),
            .timed_out = job_table_count(self->jobs, GORO_JOB_TIMED_OUT),
            .workers = worker_table_size(self->wtable),
            .pool_processes = pool_alive(self->pool),
            .requests = self->requests,
            .malformed = self->malformed,
            .undelivered = self->undelivered,
            .channels = chan_table_size(self->chans),
            .buffered_bytes = chan_table_bytes(self->chans),
            .results_dropped = self->results_dropped,
            .waitgroups = wg_table_size(self->wgs),
            .parked_clients = client_table_size(self->ctable),
            .auth_allowed = self->auth ? auth_allowed(self->auth) : 0,
            .auth_refused = self->auth ? auth_refused(self->auth) : 0,
            .clients_endpoint = self->clients_endpoint,
            .workers_endpoint = self->workers_endpoint,
        };
        for (worker_t *w = worker_table_first(self->wtable); w;
             w = worker_table_next(self->wtable)) {
            stats.capacity += w->capacity;
            stats.busy += w->running;
        }
        text = render_stats(&stats, self->chans, (int) msg->flags, &size);
    }
    else {
        s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                      "LIST of unknown kind %u", msg->what);
        return;
    }
    goro_msg_t *reply = goro_msg_new(GORO_MSG_OK);
    reply->reqid = msg->reqid;
    goro_msg_take_data(reply, (uint8_t **) &text, size);
    s_send(self, self->clients, reply, rid);
    goro_msg_destroy(&reply);
}

static void
s_on_client_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    switch (msg->cmd) {
        case GORO_MSG_PING:
            s_reply_ok(self, rid, msg->reqid, 0);
            break;
        case GORO_MSG_HEARTBEAT: {
            goro_msg_t *beat = goro_msg_new(GORO_MSG_HEARTBEAT);
            beat->reqid = msg->reqid;
            beat->id = self->epoch;
            s_send(self, self->clients, beat, rid);
            goro_msg_destroy(&beat);
            break;
        }
        case GORO_MSG_SUBMIT: s_on_submit(self, rid, msg); break;
        case GORO_MSG_STATUS: {
            job_t *job = s_find_job(self, rid, msg);
            if (job)
                s_reply_job(self, rid, msg->reqid, job);
            break;
        }
        case GORO_MSG_WAIT: s_on_wait(self, rid, msg); break;
        case GORO_MSG_CANCEL: s_on_cancel(self, rid, msg); break;
        case GORO_MSG_RETRY: s_on_retry(self, rid, msg); break;
        case GORO_MSG_LIST: s_on_list(self, rid, msg); break;
        case GORO_MSG_CHAN_SEND:
        case GORO_MSG_CHAN_RECV:
        case GORO_MSG_CHAN_SEND_MANY:
        case GORO_MSG_CHAN_RECV_MANY:
        case GORO_MSG_SELECT: s_on_chan_msg(self, rid, msg); break;
        case GORO_MSG_CHAN_MAKE:
        case GORO_MSG_CHAN_CLOSE: s_on_chan_admin(self, rid, msg); break;
        case GORO_MSG_WG_ADD:
        case GORO_MSG_WG_WAIT:
        case GORO_MSG_WG_STATUS: s_on_wg_msg(self, rid, msg); break;
        case GORO_MSG_ACK: s_on_ack(self, rid, msg); break;
        case GORO_MSG_DISCONNECT: {
            client_t *c = client_table_lookup(self->ctable, rid);
            if (c)
                s_client_withdraw(self, c, false);
            break;
        }
        default:
            s_reply_error(self, rid, msg->reqid, GORO_EINVAL,
                          "%s is not a request this gorod serves",
                          goro_msg_cmd_name(msg->cmd));
    }
}

/* ---- journal ------------------------------------------------------- */

static int
s_replay_apply(void *arg, const goro_msg_t *record)
{
    server_t *self = arg;
    switch (record->cmd) {
        case GORO_MSG_J_CHAN_MAKE:
        case GORO_MSG_J_CHAN_PUSH:
        case GORO_MSG_J_CHAN_POP:
        case GORO_MSG_J_CHAN_CLOSE:
            return chan_table_replay(self->chans, record);
        case GORO_MSG_J_WG_SET:
            return wg_table_replay(self->wgs, record);
        default:
            if (record->cmd >= GORO_MSG_J_SUBMIT
                && record->cmd <= GORO_MSG_J_NEXT_ID)
                return job_table_replay(self->jobs, record);
            return GORO_EPROTO;
    }
}

typedef struct {
    job_t **queued;
    size_t nqueued;
    job_t **pending;            /* ended, result not yet on its channel */
    size_t npending;
} settle_t;

static void
s_settle_collect(job_t *job, void *arg)
{
    settle_t *st = arg;
    if (job->state == GORO_JOB_RUNNING || job->state == GORO_JOB_QUEUED)
        st->queued[st->nqueued++] = job;
    else if (job_extra(job)->chan && !job_extra(job)->result_sent)
        st->pending[st->npending++] = job;
}

static void
s_settle_ttl(job_t *job, void *arg)
{
    server_t *self = arg;
    if (!job_state_ended(job->state))
        return;
    int64_t left = job_extra(job)->ended_at + self->cfg->result_ttl_ms
                   - goro_wall_ms();
    heap_arm(self->heap, s_job_deadline(job),
             goro_now() + (left > 0 ? left : 0));
}

static int
s_by_job_id(const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

/* After replay: jobs that were running when gorod stopped go back to the
   queue (their worker may still report; the attempt fence sorts that
   out), queues are rebuilt in id order, results get the rest of their
   ttl, and results owed to a channel are sent again. */
static void
s_settle(server_t *self)
{
    size_t total = 0;
    for (int state = 1; state < JOB_STATES; state++)
        total += job_table_count(self->jobs, state);
    settle_t st = {goro_zalloc(sizeof(job_t *) * (total + 1)), 0,
                   goro_zalloc(sizeof(job_t *) * (total + 1)), 0};
    job_table_each(self->jobs, s_settle_collect, &st);
    qsort(st.queued, st.nqueued, sizeof(job_t *), s_by_job_id);
    for (size_t i = 0; i < st.nqueued; i++) {
        job_t *job = st.queued[i];
        if (job->state == GORO_JOB_RUNNING)
            job_table_requeue(self->jobs, job);
        sched_push(self->sched, job);
    }
    for (size_t i = 0; i < st.npending; i++)
        s_job_send_result(self, st.pending[i]);
    free(st.queued);
    free(st.pending);
    job_table_each(self->jobs, s_settle_ttl, self);
}

static void
s_tables_journal(server_t *self, journal_t *journal)
{
    job_table_set_journal(self->jobs, journal);
    chan_table_set_journal(self->chans, journal);
    wg_table_set_journal(self->wgs, journal);
}

static int
s_recover(server_t *self, bool repair, char *err, size_t err_size)
{
    int64_t started = goro_now();
    self->journal = journal_open(self->cfg->journal_path,
                                 self->cfg->journal_fsync, err, err_size);
    if (!self->journal)
        return GORO_ESYS;
    journal_replay_t info;
    int rc = journal_replay(self->journal, repair, s_replay_apply, self,
                            &info, err, err_size);
    if (rc == GORO_OK && info.reapply) {
        /* Part of the cut turn reached the tables: start them over from
           the journal as it now is. */
        job_table_destroy(&self->jobs);
        chan_table_destroy(&self->chans);
        wg_table_destroy(&self->wgs);
        self->jobs = job_table_new();
        self->chans = chan_table_new(s_on_chan_fire, self,
                                     (uint64_t) goro_wall_ms());
        self->wgs = wg_table_new();
        rc = journal_replay(self->journal, false, s_replay_apply, self,
                            &info, err, err_size);
    }
    if (rc)
        return rc;
    /* From here on, changes (the settling included) are journaled. */
    s_tables_journal(self, self->journal);
    s_settle(self);
    /* Redis's rule (auto-aof-rewrite-percentage 100): compact when the
       journal has doubled since the last snapshot, and not while small. */
    self->compact_at = 2 * journal_size(self->journal);
    if (info.records)
        log_info("journal %s: %llu record(s) replayed in %lld ms: %zu job(s)"
                 " queued, %zu ended, %zu channel(s), %zu waitgroup(s)",
                 self->cfg->journal_path, (unsigned long long) info.records,
                 (long long) (goro_now() - started),
                 job_table_count(self->jobs, GORO_JOB_QUEUED),
                 job_table_count(self->jobs, GORO_JOB_SUCCEEDED)
                 + job_table_count(self->jobs, GORO_JOB_FAILED)
                 + job_table_count(self->jobs, GORO_JOB_CANCELLED)
                 + job_table_count(self->jobs, GORO_JOB_TIMED_OUT),
                 chan_table_size(self->chans), wg_table_size(self->wgs));
    return GORO_OK;
}

static void
s_snapshot(void *arg, journal_t *journal)
{
    server_t *self = arg;
    job_table_snapshot(self->jobs, journal);
    chan_table_snapshot(self->chans, journal);
    wg_table_snapshot(self->wgs, journal);
}

/* A compaction's child ended: the journal is replaced (or stays). */
static void
s_compact_check(server_t *self)
{
    if (!self->compacting)
        return;
    int rc = journal_compact_poll(self->journal);
    if (rc == 0)
        return;
    self->compacting = false;
    uint64_t size = journal_size(self->journal);
    if (rc > 0)
        log_info("journal compacted from %llu to %llu bytes",
                 (unsigned long long) self->compact_from,
                 (unsigned long long) size);
    self->compact_at = 2 * size;
}

/* End of a loop turn: the turn's records reach the journal (and the disk,
   with fsync: always) before its replies leave. If the disk refuses,
   the replies wait: nothing is acknowledged that is not recorded. */
static void
s_commit(server_t *self)
{
    if (!self->journal)
        return;
    if (journal_flush(self->journal, goro_now()) != GORO_OK)
        return;
    self->undelivered += outbox_flush(self->outbox);
    s_compact_check(self);
    uint64_t size = journal_size(self->journal);
    if (size >= self->cfg->journal_compact_min && size >= self->compact_at
        && !self->compacting) {
        int64_t started = goro_now();
        if (journal_compact_start(self->journal, s_snapshot, self)
            == GORO_OK) {
            self->compacting = true;
            self->compact_from = size;
            log_info("journal compaction started (%llu bytes); the loop "
                     "paused %lld ms for it", (unsigned long long) size,
                     (long long) (goro_now() - started));
        }
        else
            self->compact_at = size * 2;    /* don't retry every turn */
    }
}

/* ---- the loop ------------------------------------------------------ */

/* Workers send exec output of up to jobs.exec.max_output, which may be
   configured above limits.max_message. */
static size_t
s_value_max(server_t *self, bool workers)
{
    uint64_t max = self->cfg->max_message;
    if (workers && self->cfg->exec_max_output > max)
        max = self->cfg->exec_max_output;
    return (size_t) max;
}

static void
s_drain(server_t *self, zsock_t *sock, bool workers)
{
    for (int i = 0; i < SERVER_BATCH; i++) {
        goro_rid_t rid;
        goro_msg_t *msg = NULL;
        int rc = goro_msg_recv(zsock_resolve(sock), s_value_max(self, workers),
                               &msg, &rid);
        if (rc == GORO_EUNAVAILABLE)
            return;
        self->requests++;
        if (rc) {
            self->malformed++;
            log_debug("malformed %s message: %s",
                      workers ? "worker" : "client", goro_strerror(rc));
            if (msg && !workers)
                s_reply_error(self, &rid, msg->reqid, rc, "%s",
                              rc == GORO_ETOOBIG
                              ? "a value exceeds limits.max_message"
                              : "malformed message");
        }
        else if (workers)
            s_on_worker_msg(self, &rid, msg);
        else {
            client_table_touch(self->ctable, &rid, goro_now());
            s_on_client_msg(self, &rid, msg);
        }
        goro_msg_destroy(&msg);
    }
}

static void
s_on_tick(server_t *self)
{
    for (worker_t *w = worker_table_first(self->wtable); w;
         w = worker_table_next(self->wtable))
        s_send_worker(self, w, GORO_MSG_HEARTBEAT, NULL);
    heap_arm(self->heap, &self->tick,
             goro_now() + self->cfg->heartbeat_interval_ms);
}

static void
s_expire(server_t *self)
{
    heap_node_t *node;
    int64_t now = goro_now();
    while ((node = heap_pop_due(self->heap, now))) {
        switch (node->kind) {
            case DL_JOB:
                s_job_expire(self,
                             container_of(node, job_extra_t, deadline)->job);
                break;
            case DL_WORKER:
                s_worker_check(self, container_of(node, worker_t, expiry));
                break;
            case DL_WAITER:
                s_on_waiter_deadline(self,
                                     container_of(node, waiter_t, deadline));
                break;
            case DL_POOL:
                pool_on_deadline(self->pool, node);
                break;
            case DL_TICK:
                s_on_tick(self);
                break;
            case DL_PARK: {
                s_parked_withdraw(self, container_of(node, parked_t,
                                                     deadline),
                                  GORO_ETIMEDOUT, "no case was ready in time");
                break;
            }
            case DL_CLIENT:
                s_on_client_gone(self, container_of(node, client_t, expiry));
                break;
            case DL_WG_WAITER:
                s_on_wg_deadline(self, container_of(node, waiter_t, deadline));
                break;
            default:
                log_bug("deadline of unknown kind");
        }
    }
}

static void
s_begin_stop(server_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->stop_deadline = goro_now() + self->cfg->shutdown_grace_ms;
    log_info("stopping: no new jobs; waiting up to %lld ms for %zu running "
             "job(s)", (long long) self->cfg->shutdown_grace_ms,
             job_table_count(self->jobs, GORO_JOB_RUNNING));
}

static void
s_on_signals(server_t *self)
{
    char bytes[64];
    ssize_t n;
    while ((n = read(self->sig_read, bytes, sizeof bytes)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (bytes[i] == SIGCHLD) {
                pool_reap(self->pool);
                s_compact_check(self);
            }
            else if (bytes[i] == SIGTERM || bytes[i] == SIGINT)
                s_begin_stop(self);
        }
}

static void
s_install_signals(server_t *self)
{
    s_sig_write = self->sig_write;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
server_run(server_t *self)
{
    s_install_signals(self);
    pool_start(self->pool);
    heap_arm(self->heap, &self->tick,
             goro_now() + self->cfg->heartbeat_interval_ms);
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->clients), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->workers), 0, ZMQ_POLLIN, 0},
        {NULL, self->sig_read, ZMQ_POLLIN, 0},
        {self->auth ? auth_zap_socket(self->auth) : NULL, 0, ZMQ_POLLIN, 0},
    };
    int nitems = self->auth ? 4 : 3;
    for (;;) {
        if (self->stopping
            && (job_table_count(self->jobs, GORO_JOB_RUNNING) == 0
                || goro_now() >= self->stop_deadline))
            break;
        int64_t timeout = heap_timeout_ms(self->heap, goro_now());
        if (self->stopping) {
            int64_t left = goro_remaining(self->stop_deadline);
            if (timeout < 0 || left < timeout)
                timeout = left;
        }
        if (zmq_poll(items, nitems, (long) timeout) == -1
            && zmq_errno() != EINTR) {
            log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            s_on_signals(self);
        if (self->auth && (items[3].revents & ZMQ_POLLIN))
            auth_handle(self->auth);
        if (items[1].revents & ZMQ_POLLIN)
            s_drain(self, self->workers, true);
        if (items[0].revents & ZMQ_POLLIN)
            s_drain(self, self->clients, false);
        s_expire(self);
        s_commit(self);
    }
    size_t left = job_table_count(self->jobs, GORO_JOB_RUNNING);
    if (left)
        log_warn("grace period over: %zu job(s) still running are stopped",
                 left);
    pool_stop(self->pool, self->cfg->shutdown_grace_ms);
    log_info("stopped");
    return 0;
}

/* Parked requests still waiting at shutdown are told so, rather than
   left to find out from silence. */
static void
s_free_waiters_of(job_t *job, void *arg)
{
    server_t *self = arg;
    if (!job->extra)
        return;
    while (job->extra->waiters) {
        waiter_t *w = job->extra->waiters;
        waiter_list_remove(&job->extra->waiters, w);
        heap_cancel(self->heap, &w->deadline);
        if (self->clients)
            s_reply_error(self, &w->rid, w->reqid, GORO_EUNAVAILABLE,
                          "gorod stopped");
        waiter_destroy(&w);
    }
}

static void
s_free_wg_waiters(wg_t *wg, void *arg)
{
    server_t *self = arg;
    while (wg->waiters) {
        waiter_t *w = wg->waiters;
        waiter_list_remove(&wg->waiters, w);
        heap_cancel(self->heap, &w->deadline);
        if (self->clients)
            s_reply_error(self, &w->rid, w->reqid, GORO_EUNAVAILABLE,
                          "gorod stopped");
        waiter_destroy(&w);
    }
}

/* Everything parked is answered (clients) or dropped (our own sends)
   before the tables go. */
static void
s_waiter_free_all(server_t *self)
{
    job_table_each(self->jobs, s_free_waiters_of, self);
    if (self->wgs)
        wg_table_each(self->wgs, s_free_wg_waiters, self);
    while (self->own_parks) {
        parked_t *p = self->own_parks;
        chan_park_withdraw(self->chans, &p->park);
        s_parked_free(self, p);
    }
    client_t *c;
    while (self->ctable && (c = client_table_first(self->ctable)))
        s_client_withdraw(self, c, self->clients != NULL);
}
