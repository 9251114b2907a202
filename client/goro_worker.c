/*  goro_worker - the runtime behind goro_worker_*: serves app functions and
   the built-in `exec` to gorod over its workers endpoint.

    Threads. The thread that calls goro_worker_serve() is the only one that
    touches the DEALER socket (but for a long inline handler's, see
    below): it sends READY, heartbeats and DONEs, and
    receives WELCOME, DISPATCH, KILL, HEARTBEAT and DISCONNECT. CONCURRENCY
    job threads run the app jobs (exec jobs too where there are no
    pidfds; see below). Everything they share sits under one mutex:

        active  every job dispatched to us that has not finished, so
                that a KILL can find it (and its process group);
        queue   the jobs of `active` that no thread has picked up yet;
        done    finished jobs whose DONE the main thread has not sent.

    A DISPATCH appends to active and queue and signals the condvar; a job
    thread pops the queue, runs the job unlocked, then moves the job from
    active to done and writes a byte to the wake pipe. The main thread
    polls the wake pipe as a raw fd beside the socket, so a finished job,
    a goro_worker_stop() from another thread and a signal handler all wake
    it the same way (write(2) is async-signal-safe).

    Exec jobs skip the threads: with a free slot, the serving thread
    spawns the command itself (exec_start: a vfork-style clone, no page
    tables copied) and polls its pipes, then its pidfd, beside the socket
    and the wake pipe; once it has reaped the child it sends the DONE at
    once. That spares each job two thread hops and a wake, which is what
    bounded a worker's rate of short commands (the DONE -> DISPATCH round
    trip is the rest). `busy` counts the slots taken, by job threads and
    by these children alike, so concurrency bounds both; an exec job
    queued behind others starts when a slot frees. The serving thread is
    the only one to signal or reap its children, so clearing a job's pgid
    right after the reap leaves no window for a KILL to hit a reused id.
    Without pidfds (Linux before 5.3) exec jobs run on the threads.

    Inline app jobs. With concurrency 1, an app job that finds the one
    slot free runs on the serving thread, between reading the socket and
    polling it again, and its DONE leaves at once: a job thread would
    cost two cross-thread wake-ups per job (in, and back through the
    wake pipe; ~30 us each on a small VM, a third of a no-op job's round
    trip), and with one slot the serving thread has nothing else to do
    meanwhile, as no other job may start. Prefetched jobs that queue up
    still run on the job thread. What a serving thread owes the daemon
    while a handler runs is kept by the idle job thread: it looks every
    tick (WORKER_INLINE_TICK_MS, at most a quarter of the heartbeat
    interval), and a handler still in the same call one tick later is
    long, so the job thread takes over the socket until it returns
    (s_take_over): heartbeats, liveness and reconnects, KILLs (so
    goro_call_cancelled() turns true within two ticks), stop requests,
    DISPATCHes (queued: the slot is taken). The handoff is
    inline_running/inline_taken under the lock: neither thread touches
    the socket or the serving state while the other may. SIGINT and
    SIGTERM are blocked on the serving thread during a handler, as job
    threads block them, so a handler's system calls never fail with
    EINTR; the job thread unblocks them while it serves. A handler run
    inline has the serving thread's goro_call_client(), not a job
    thread's, and may run on either thread from one job to the next.

    Liveness (Majordomo): any message from the daemon is life. Silence for
    liveness x interval closes the socket and, after a backoff, opens a
    new one and sends READY again; jobs keep running meanwhile and their
    DONEs wait in an outbox until a WELCOME says the daemon knows us
    again. A DISCONNECT from the daemon means it forgot us: READY again
    on the same socket, unless a READY is already unanswered (the
    DISCONNECT then answers something we sent before it; a second READY
    would make the daemon drop the jobs the first one got us).
    READY always offers the full concurrency plus the prefetch; a daemon
    that forgot us may so dispatch while our old jobs still run, and the
    extra jobs wait in the queue for a free thread rather than being
    refused.

    Prefetch (RabbitMQ's basic.qos, Celery's prefetch): the daemon may
    hand us PREFETCH jobs beyond the threads, which wait in the queue, so
    that a thread that finishes one job starts the next without a round
    trip to the daemon. Job threads wake the serving thread only when the
    done list turns non-empty, so a burst of finished jobs costs one wake
    and their DONEs leave back to back.

    Rejoining: after every WELCOME we CLAIM each job of `active`, so that
    a daemon that requeued them meanwhile, or restarted and never heard of
    them, answers KILL, and one that still counts them on our previous
    connection moves them to this one.

    KILL: an app call's cancelled flag is set; an exec job's process group
    gets SIGTERM, and SIGKILL once the policy's kill_grace has passed (the
    serving thread's timer), so that a command can clean up.

    Stop: the first stop request sends DISCONNECT and waits for every job
    we were given to end, sending their DONEs (heartbeats go on meanwhile,
    so the daemon can tell a draining worker from a dead one); a second
    request SIGKILLs running exec jobs and cancels app calls. A DISPATCH
    that crossed our DISCONNECT on the wire is still run: the daemon sent
    it believing we would. Timeouts are not enforced here: the daemon
    sends KILL when one passes.

    This module is not a client: a handler's goro_call_client() is a goro_t
    of goro.c, one per job thread (and one for inline calls), made on
    first use.
*/
/* pipe2(): the wake pipe must not leak into exec children spawned by
   other threads meanwhile; glibc declares it only for _GNU_SOURCE. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "goro.h"
#include "curve.h"
#include "goro_msg.h"
#include "util.h"
#include "exec.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define WORKER_TAG 0x60e0c0deu /* live goro_worker_t, see STYLE 3 */
#define WORKER_DEAD 0xdeadbeefu

/* Defaults of the contract: the workers endpoint of DESIGN.md's config,
   heartbeat { interval: 1s, liveness: 3 } and jobs.exec.max_output
   (128KiB, also limits.max_message) until WELCOME tells us. */
#define WORKER_ENDPOINT_DEFAULT "tcp://127.0.0.1:7701"
#define WORKER_INTERVAL_DEFAULT 1000
#define WORKER_LIVENESS_DEFAULT 3
#define WORKER_MAX_OUTPUT_DEFAULT (128 * 1024)

/* Bounds on what WELCOME may ask for, so that liveness x interval cannot
   overflow whatever a peer sends: an hour, and a thousand beats. */
#define WORKER_INTERVAL_MAX 3600000
#define WORKER_LIVENESS_MAX 1000

/* Reconnect backoff: from 100 ms, doubling, up to 5 s (the zguide's
   paranoid pirate uses the same shape). */
#define WORKER_BACKOFF_MIN 100
#define WORKER_BACKOFF_MAX 5000

/* How long close waits to deliver the final DISCONNECT and DONEs. */
#define WORKER_LINGER_MS 1000

/* How often a full send queue is retried. */
#define WORKER_RETRY_MS 100

/* Job threads per worker; more is a misconfiguration, not a use. */
#define WORKER_CONCURRENCY_MAX 4096

/* How often an idle job thread looks whether a handler the serving
   thread runs inline has run for a whole tick, and takes over the socket
   if so: at most this, and a quarter of the heartbeat interval, so that a
   beat is never late for it. */
#define WORKER_INLINE_TICK_MS 50
/* Ticks without an inline call after which the job thread stops
   ticking until the next one: a worker busy with short jobs keeps the
   tick (no wake-up per job), an idle one sleeps. */
#define WORKER_INLINE_IDLE_TICKS 20

/* Status of a DISPATCH for a function we do not serve, as a shell's
   "command not found", and of a job killed before it started. */
#define WORKER_STATUS_UNKNOWN 127
#define WORKER_STATUS_KILLED (128 + SIGKILL)

typedef struct {
    char *name; /* function name as READY lists it */
    goro_handler_fn *fn;
    void *arg;
} handler_t;

typedef struct attempt attempt_t;
typedef struct worker_thread worker_thread_t;

struct attempt {
    attempt_t *next;       /* in active, then in done */
    attempt_t *queue_next; /* in queue */
    goro_worker_t *worker;
    uint64_t id;
    uint32_t attempt;
    const handler_t *handler; /* NULL: exec */
    uint8_t *data;            /* payload */
    size_t size;
    char *endpoint;        /* clients endpoint at dispatch, or NULL */
    exec_policy_t *policy; /* gorod's jobs.exec policy at dispatch */
    size_t max_output;     /* bytes kept of each output, at dispatch */
    atomic_int cancelled;  /* set by KILL or a forced stop */
    pid_t pgid;            /* exec child's group; 0: none. Locked */
    int kill_sig;          /* what its group gets: 0, SIGTERM within
                              the grace, then SIGKILL. Locked */
    int64_t kill_at;       /* SIGKILL due, with kill_sig SIGTERM.
                              Locked */
    exec_child_t *child;   /* an exec the serving thread spawned;
                              its own, like run_next */
    attempt_t *run_next;   /* in running */
    bool reaped;           /* child done: finish it */
    int64_t started;
    int64_t status; /* result, written by whoever ran it */
    int64_t runtime;
    uint8_t *out;
    size_t out_size;
    char *err;
    size_t err_size;
};

struct worker_thread {
    goro_worker_t *worker;
    pthread_t tid;
    goro_t *client;        /* for goro_call_client(), lazily */
    char *client_endpoint; /* what CLIENT was made for, or NULL */
};

struct goro_call {
    attempt_t *job;
    worker_thread_t *thread;
    uint8_t *reply; /* goro_call_reply() */
    size_t reply_size;
    char *error; /* goro_call_error() */
};

struct goro_worker {
    uint32_t tag;
    char *endpoint; /* daemon's workers endpoint */
    char *label;    /* NULL: host:pid at READY time */
    int concurrency;
    int prefetch; /* jobs offered beyond the threads */
    handler_t *handlers;
    size_t nhandlers;
    bool exec_enabled;
    size_t max_output_own; /* goro_worker_enable_exec's; 0: none */
    size_t max_output;     /* what outputs are cut at now */
    atomic_int verbose;
    atomic_int stop_count; /* stop requests; 2 forces */
    atomic_bool serving;
    int wake_fd[2]; /* self-pipe, both ends non-blocking */

    /* Shared with the job threads, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* queue got a job, or quit */
    attempt_t *active;
    attempt_t *queue_head, *queue_tail;
    attempt_t *done_head, *done_tail;
    bool quit;           /* threads exit once queue is empty */
    int busy;            /* jobs running, on job threads, as the serving
                            thread's children or inline; at most concurrency */
    pthread_cond_t back; /* inline_taken went false */
    uint64_t inline_seq; /* inline calls started so far */
    bool inline_running; /* the serving thread runs a handler */
    bool inline_taken;   /* ... and the job thread serves the socket
                            meanwhile, until it sees inline_running
                            false */
    atomic_int tick_ms;  /* WORKER_INLINE_TICK_MS, or less */
    bool watcher_asleep; /* the job thread waits untimed for an inline
                            call (WORKER_INLINE_IDLE_TICKS) */

    /* The serving thread's own. */
    worker_thread_t *threads;
    int nthreads;
    void *ctx;
    void *socket;  /* NULL between reconnect attempts */
    char *clients; /* clients endpoint from WELCOME */
    int64_t interval_ms;
    int64_t liveness;
    int64_t sent_at;      /* last send: heartbeat is due after */
    int64_t heard_at;     /* last message from the daemon */
    int64_t reconnect_at; /* when socket is NULL */
    int64_t backoff_ms;
    int64_t kill_next;   /* earliest kill_at of a killed job; 0:
                            none (it may have ended since) */
    goro_msg_t **outbox; /* DONEs and CLAIMs waiting for a socket */
    size_t noutbox;
    bool welcomed; /* WELCOME came on this socket */
    bool stopping;
    bool forced;
    struct sigaction old_int, old_term, old_pipe, old_chld;
    bool own_signals;
    curve_keys_t curve; /* off unless a certificate was given */
    int curve_rc;
    char *cert, *server_cert; /* for the handlers' clients too */
    exec_policy_t *policy;    /* from WELCOME: gorod's jobs.exec */
    bool exec_inline;         /* exec jobs are the serving thread's */
    attempt_t *running;       /* the serving thread's exec jobs */
    zmq_pollitem_t *items;    /* for zmq_poll, with for each of its */
    attempt_t **item_jobs;    /* items the job (NULL: not a job's) */
    int *item_which;          /* and which of its descriptors */
    size_t items_cap;

    bool inline_ok;                /* concurrency 1: app jobs may run on the
                                      serving thread */
    attempt_t *inline_job;         /* dispatched, to run inline next */
    worker_thread_t inline_thread; /* its goro_call_client() */
};

/* The worker whose serve() owns SIGINT/SIGTERM; a handler has no
   argument, so this is the one file-static. */
static goro_worker_t *_Atomic s_signal_worker;

static void s_log(goro_worker_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_log(goro_worker_t *self, const char *fmt, ...)
{
    if (!atomic_load(&self->verbose))
        return;
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "goro worker: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
}

/* Async-signal-safe: called from signal handlers and job threads. A full
   pipe already holds a wakeup, so EAGAIN is fine. */
static void
s_wake(goro_worker_t *self)
{
    ssize_t rc = write(self->wake_fd[1], "", 1);
    (void) rc;
}

static void
s_wake_drain(goro_worker_t *self)
{
    char buf[256];
    while (read(self->wake_fd[0], buf, sizeof buf) > 0)
        ;
}

/* ---- jobs ----------------------------------------------------------- */

static void
s_job_destroy(attempt_t **self_p)
{
    if (self_p && *self_p) {
        attempt_t *self = *self_p;
        free(self->data);
        free(self->endpoint);
        exec_policy_destroy(&self->policy);
        free(self->out);
        free(self->err);
        free(self);
        *self_p = NULL;
    }
}

/* Under lock. */
static attempt_t *
s_active_find(goro_worker_t *self, uint64_t id, uint32_t attempt)
{
    for (attempt_t *job = self->active; job; job = job->next)
        if (job->id == id && job->attempt == attempt)
            return job;
    return NULL;
}

/* Under lock. */
static void
s_active_remove(goro_worker_t *self, attempt_t *job)
{
    for (attempt_t **p = &self->active; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            job->next = NULL;
            return;
        }
    assert(!"job not in the active list");
}

/* Cancels JOB: app handlers see goro_call_cancelled(), an exec child's
   group gets SIG (SIGTERM, or SIGKILL, which nothing follows). Under
   lock, which is what makes pgid trustworthy: exec clears it before
   reaping. */
static void
s_job_kill(attempt_t *job, int sig)
{
    atomic_store(&job->cancelled, 1);
    if (job->kill_sig == SIGKILL)
        return;
    job->kill_sig = sig;
    if (job->pgid > 0)
        kill(-job->pgid, sig);
}

/* exec's callback: the child's group is known, or about to be reaped. A
   KILL that came before the spawn finished is carried out here. */
static void
s_on_pgid(pid_t pgid, void *arg)
{
    attempt_t *job = arg;
    pthread_mutex_lock(&job->worker->lock);
    job->pgid = pgid;
    if (pgid > 0 && job->kill_sig)
        kill(-pgid, job->kill_sig);
    pthread_mutex_unlock(&job->worker->lock);
}

static void
s_job_result(attempt_t *job, exec_result_t *result)
{
    job->status = result->status;
    job->out = result->out;
    job->out_size = result->out_size;
    job->err = result->err;
    job->err_size = result->err_size;
}

/* What exec needs of JOB, on a job thread or the serving thread alike. */
static exec_spec_t
s_exec_spec(const attempt_t *job)
{
    exec_spec_t spec = {
        .argv = job->data,
        .size = job->size,
        .max_output = job->max_output,
        .endpoint = job->endpoint,
        .policy = job->policy,
        .job_id = job->id,
        .attempt = job->attempt,
    };
    return spec;
}

static void
s_job_exec(attempt_t *job)
{
    exec_spec_t spec = s_exec_spec(job);
    spec.on_pgid = s_on_pgid;
    spec.arg = job;
    exec_result_t result;
    exec_run(&spec, &result);
    s_job_result(job, &result);
}

/* A reply and an error text are kept up to max_output bytes, as exec's
   stdout and stderr are: a DONE larger than the daemon's max_message
   would be refused whole, and the job's result lost with it. */
static void
s_job_call(worker_thread_t *thread, attempt_t *job)
{
    size_t max_output = job->max_output;
    goro_call_t call = {job, thread, NULL, 0, NULL};
    job->status = job->handler->fn(&call, job->handler->arg);
    /* What the handler pipelined (goro_go, goro_wg_done) is applied
       before its job's DONE leaves on another connection: a job that
       starts jobs in its own waitgroup must not let it reach zero. */
    if (thread->client && goro_flush(thread->client) != GORO_OK
        && !call.error) {
        const char *why = goro_last_error(thread->client);
        call.error = util_strdup(why ? why : "a pipelined call failed");
    }
    job->out = call.reply;
    job->out_size = call.reply_size;
    if (job->out_size > max_output)
        job->out_size = max_output;
    job->err = call.error;
    job->err_size = call.error ? strlen(call.error) : 0;
    if (job->err_size > max_output) {
        job->err_size = max_output;
        job->err[max_output] = 0;
    }
}

/* KILLed while it waited in our queue. */
static void
s_job_killed_early(attempt_t *job)
{
    const char *text = "killed before it started";
    job->status = WORKER_STATUS_KILLED;
    job->err = util_strdup(text);
    job->err_size = strlen(text);
}

static void
s_job_run(worker_thread_t *thread, attempt_t *job)
{
    int64_t started = util_now();
    if (atomic_load(&job->cancelled))
        s_job_killed_early(job);
    else if (job->handler)
        s_job_call(thread, job);
    else
        s_job_exec(job);
    job->runtime = util_now() - started;
}

static void s_take_over(goro_worker_t *self);

/* Waits on cond for at most a tick; under lock. */
static void
s_tick_wait(goro_worker_t *self)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    int64_t ns = at.tv_nsec + (int64_t) atomic_load(&self->tick_ms) * 1000000;
    at.tv_sec += (time_t) (ns / 1000000000);
    at.tv_nsec = (long) (ns % 1000000000);
    pthread_cond_timedwait(&self->cond, &self->lock, &at);
}

static void *
s_thread_main(void *arg)
{
    worker_thread_t *thread = arg;
    goro_worker_t *self = thread->worker;
    uint64_t seen = 0;  /* the inline call running at the last tick */
    uint64_t last = 0;  /* inline calls started, at the last tick */
    int idle_ticks = 0; /* ticks in a row without one */
    pthread_mutex_lock(&self->lock);
    while (true) {
        /* A slot may be taken by the serving thread's exec children, or
           by the handler it runs inline; that one is watched, a tick at
           a time, and taken over once it has run for a tick. */
        while (!(self->queue_head && self->busy < self->concurrency)
               && !self->quit) {
            if (!self->inline_ok) {
                pthread_cond_wait(&self->cond, &self->lock);
                continue;
            }
            if (self->inline_running && self->inline_seq == seen) {
                s_take_over(self);
                seen = 0; /* and again in two ticks if it failed */
                continue;
            }
            seen = self->inline_running ? self->inline_seq : 0;
            idle_ticks = self->inline_running || self->inline_seq != last
                             ? 0
                             : idle_ticks + 1;
            last = self->inline_seq;
            if (idle_ticks >= WORKER_INLINE_IDLE_TICKS) {
                /* An idle worker does not wake every tick: the next
                   inline call wakes us. */
                self->watcher_asleep = true;
                pthread_cond_wait(&self->cond, &self->lock);
                self->watcher_asleep = false;
                idle_ticks = 0;
                continue;
            }
            s_tick_wait(self);
        }
        attempt_t *job = self->queue_head;
        if (!job)
            break; /* quit, and nothing left to run */
        self->queue_head = job->queue_next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        job->queue_next = NULL;
        self->busy++;
        pthread_mutex_unlock(&self->lock);

        s_job_run(thread, job);

        pthread_mutex_lock(&self->lock);
        self->busy--;
        s_active_remove(self, job);
        if (self->done_tail)
            self->done_tail->next = job;
        else {
            self->done_head = job;
            s_wake(self); /* else its wake is pending already */
        }
        self->done_tail = job;
    }
    pthread_mutex_unlock(&self->lock);
    goro_destroy(&thread->client);
    free(thread->client_endpoint);
    thread->client_endpoint = NULL;
    return NULL;
}

/* Starts the job threads with SIGINT and SIGTERM blocked, so that those
   signals reach the serving thread and never interrupt a handler. */
static int
s_threads_start(goro_worker_t *self)
{
    self->threads = util_zalloc(
        sizeof *self->threads * (size_t) self->concurrency);
    self->quit = false;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = GORO_OK;
    for (int i = 0; i < self->concurrency; i++) {
        worker_thread_t *thread = &self->threads[i];
        thread->worker = self;
        if (pthread_create(&thread->tid, NULL, s_thread_main, thread)) {
            rc = GORO_ESYS;
            break;
        }
        self->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void
s_threads_stop(goro_worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->quit = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->nthreads; i++)
        pthread_join(self->threads[i].tid, NULL);
    free(self->threads);
    self->threads = NULL;
    self->nthreads = 0;
}

/* ---- the call API (job threads) ---------------------------------- */

const void *
goro_call_data(goro_call_t *call, size_t *len_out)
{
    assert(call);
    if (len_out)
        *len_out = call->job->size;
    return call->job->data;
}

uint64_t
goro_call_job_id(goro_call_t *call)
{
    assert(call);
    return call->job->id;
}

int
goro_call_attempt(goro_call_t *call)
{
    assert(call);
    return (int) call->job->attempt;
}

void
goro_call_reply(goro_call_t *call, const void *data, size_t len)
{
    assert(call);
    free(call->reply);
    call->reply = data || len ? util_memdup(data, len) : NULL;
    call->reply_size = call->reply ? len : 0;
}

void
goro_call_error(goro_call_t *call, const char *text)
{
    assert(call);
    free(call->error);
    call->error = util_strdup(text);
}

int
goro_call_cancelled(goro_call_t *call)
{
    assert(call);
    return atomic_load(&call->job->cancelled);
}

static bool
s_streq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

goro_t *
goro_call_client(goro_call_t *call)
{
    assert(call);
    worker_thread_t *thread = call->thread;
    const char *endpoint = call->job->endpoint;
    /* A new WELCOME may have moved the clients endpoint. */
    if (thread->client && !s_streq(thread->client_endpoint, endpoint)) {
        goro_destroy(&thread->client);
        free(thread->client_endpoint);
        thread->client_endpoint = NULL;
    }
    if (!thread->client) {
        thread->client = goro_new(endpoint);
        if (thread->client && call->thread->worker->cert)
            goro_set_curve(thread->client, call->thread->worker->cert,
                           call->thread->worker->server_cert);
        thread->client_endpoint = util_strdup(endpoint);
    }
    return thread->client;
}

/* ---- the socket (serving thread) ---------------------------------- */

/* Sends MSG now, or returns GORO_EUNAVAILABLE (no socket, or its queue is
   full). Counts as traffic for the heartbeat. */
static int
s_send(goro_worker_t *self, const goro_msg_t *msg)
{
    if (!self->socket)
        return GORO_EUNAVAILABLE;
    int rc = goro_msg_send(msg, self->socket, NULL);
    if (rc == GORO_OK) {
        self->sent_at = util_now();
        if (msg->cmd != GORO_MSG_HEARTBEAT)
            s_log(self, "sent %s", goro_msg_cmd_name(msg->cmd));
    }
    else
        s_log(self, "could not send %s: %s", goro_msg_cmd_name(msg->cmd),
              goro_strerror(rc));
    return rc;
}

/* Sends what waits in the outbox, in order, until the socket refuses.
   Only once welcomed: a DONE before the daemon knows us is ignored. */
static void
s_outbox_flush(goro_worker_t *self)
{
    if (!self->welcomed)
        return;
    size_t sent = 0;
    while (sent < self->noutbox) {
        int rc = s_send(self, self->outbox[sent]);
        if (rc == GORO_EUNAVAILABLE)
            break;
        /* Sent, or can never be encoded: either way it leaves. */
        goro_msg_destroy(&self->outbox[sent]);
        sent++;
    }
    if (sent) {
        memmove(self->outbox, self->outbox + sent,
                (self->noutbox - sent) * sizeof *self->outbox);
        self->noutbox -= sent;
    }
}

/* Takes *MSG_P. A DONE is worth keeping for later, as the daemon has no
   other way to learn a job's result, and so is a CLAIM, as a full send
   queue must not leave a job running that the daemon would kill. */
static void
s_send_kept(goro_worker_t *self, goro_msg_t **msg_p)
{
    if (self->welcomed && self->noutbox == 0
        && s_send(self, *msg_p) != GORO_EUNAVAILABLE) {
        goro_msg_destroy(msg_p);
        return;
    }
    self->outbox = util_realloc(self->outbox,
                                (self->noutbox + 1) * sizeof *self->outbox);
    self->outbox[self->noutbox++] = *msg_p;
    *msg_p = NULL;
}

static void
s_send_cmd(goro_worker_t *self, int cmd)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    s_send(self, msg);
    goro_msg_destroy(&msg);
}

static void
s_send_ready(goro_worker_t *self)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_READY);
    if (self->label)
        goro_msg_set_name(msg, self->label);
    else {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        /* Host names fit in 64 bytes on Linux; the cut keeps the label
           within the wire's 255. */
        char label[GORO_MSG_STR_MAX + 1];
        snprintf(label, sizeof label, "%.200s:%ld", host, (long) getpid());
        goro_msg_set_name(msg, label);
    }
    msg->pid = (uint32_t) getpid();
    msg->worker_capacity = (uint32_t) (self->concurrency + self->prefetch);
    msg->strs = util_zalloc(sizeof(char *) * (self->nhandlers + 1));
    for (size_t i = 0; i < self->nhandlers; i++)
        msg->strs[msg->nstrs++] = util_strdup(self->handlers[i].name);
    if (self->exec_enabled)
        msg->strs[msg->nstrs++] = util_strdup("exec");
    s_send(self, msg);
    goro_msg_destroy(&msg);
}

/* Opens a new socket and says READY; what waits in the outbox goes at
   WELCOME. */
static int
s_connect(goro_worker_t *self)
{
    self->socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->socket)
        return GORO_ESYS;
    int linger = WORKER_LINGER_MS;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    if (curve_apply(self->socket, &self->curve) != GORO_OK) {
        zmq_close(self->socket);
        self->socket = NULL;
        return GORO_ESYS;
    }
    if (zmq_connect(self->socket, self->endpoint) == -1) {
        int err = zmq_errno();
        zmq_close(self->socket);
        self->socket = NULL;
        return err == EINVAL || err == EPROTONOSUPPORT || err == ENOCOMPATPROTO
                   ? GORO_EINVAL
                   : GORO_ESYS;
    }
    s_log(self, "connecting to %s", self->endpoint);
    self->welcomed = false;
    self->heard_at = util_now();
    s_send_ready(self);
    return GORO_OK;
}

/* Sets the next connect attempt and grows the backoff. */
static void
s_reconnect_later(goro_worker_t *self, int64_t now)
{
    self->reconnect_at = now + self->backoff_ms;
    self->backoff_ms *= 2;
    if (self->backoff_ms > WORKER_BACKOFF_MAX)
        self->backoff_ms = WORKER_BACKOFF_MAX;
}

/* The daemon went silent: drop the socket (and whatever it still queues:
   a new READY on a new connection replaces it) and retry later. */
static void
s_disconnect(goro_worker_t *self, int64_t now)
{
    s_log(self,
          "daemon silent for %" PRId64 " ms; reconnecting in %" PRId64 " ms",
          now - self->heard_at, self->backoff_ms);
    int linger = 0;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(self->socket);
    self->socket = NULL;
    s_reconnect_later(self, now);
}

/* The daemon may bind a wildcard host (*, 0.0.0.0, [::]), which is no
   address to connect to; a job reaches the daemon at the host we reached
   it at. */
static char *
s_connectable(const char *clients, const char *workers)
{
    static const char *const wildcards[] = {"*", "0.0.0.0", "[::]", "::"};
    const char *prefix = "tcp://";
    size_t plen = strlen(prefix);
    if (strncmp(clients, prefix, plen) || strncmp(workers, prefix, plen))
        return util_strdup(clients);
    const char *port = strrchr(clients + plen, ':');
    const char *wport = strrchr(workers + plen, ':');
    if (!port || !wport)
        return util_strdup(clients);
    size_t hlen = (size_t) (port - (clients + plen));
    bool wild = false;
    for (size_t i = 0; i < sizeof wildcards / sizeof wildcards[0]; i++)
        if (hlen == strlen(wildcards[i])
            && strncmp(clients + plen, wildcards[i], hlen) == 0)
            wild = true;
    if (!wild)
        return util_strdup(clients);
    size_t whlen = (size_t) (wport - (workers + plen));
    size_t len = plen + whlen + strlen(port) + 1;
    char *fixed = util_zalloc(len);
    snprintf(fixed, len, "%s%.*s%s", prefix, (int) whlen, workers + plen,
             port);
    return fixed;
}

/* A CLAIM for every job we were given and have not finished, whether a
   thread runs it or it waits in the queue. */
static void
s_claim_all(goro_worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t count = 0;
    for (attempt_t *job = self->active; job; job = job->next)
        count++;
    goro_msg_t **claims = util_zalloc(sizeof *claims * (count ? count : 1));
    count = 0;
    for (attempt_t *job = self->active; job; job = job->next) {
        claims[count] = goro_msg_new(GORO_MSG_CLAIM);
        claims[count]->job_id = job->id;
        claims[count++]->attempt = job->attempt;
    }
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < count; i++) {
        s_log(self, "claim: job %" PRIu64 " attempt %" PRIu32,
              claims[i]->job_id, claims[i]->attempt);
        s_send_kept(self, &claims[i]);
    }
    free(claims);
}

/* Outputs are cut at gorod's jobs.exec.max_output (WELCOME's
   max_output=), which its frame limit follows, or at our own if we were
   given a smaller one; an older gorod says nothing, and ours or the
   default stands. */
static void
s_max_output_set(goro_worker_t *self)
{
    size_t max = self->max_output_own ? self->max_output_own
                                      : WORKER_MAX_OUTPUT_DEFAULT;
    int64_t gorods = self->policy ? self->policy->max_output : -1;
    if (gorods >= 0 && (!self->max_output_own || (uint64_t) gorods < max))
        max = (uint64_t) gorods < SIZE_MAX ? (size_t) gorods : SIZE_MAX;
    self->max_output = max;
}

static void
s_on_welcome(goro_worker_t *self, goro_msg_t *msg)
{
    self->interval_ms = msg->hb_interval > 0 ? msg->hb_interval
                                             : WORKER_INTERVAL_DEFAULT;
    if (self->interval_ms > WORKER_INTERVAL_MAX)
        self->interval_ms = WORKER_INTERVAL_MAX;
    self->liveness = msg->hb_liveness > 0 ? msg->hb_liveness
                                          : WORKER_LIVENESS_DEFAULT;
    if (self->liveness > WORKER_LIVENESS_MAX)
        self->liveness = WORKER_LIVENESS_MAX;
    int64_t tick = self->interval_ms / 4;
    atomic_store(&self->tick_ms,
                 tick < 1                       ? 1
                 : tick > WORKER_INLINE_TICK_MS ? WORKER_INLINE_TICK_MS
                                                : (int) tick);
    free(self->clients);
    self->clients = msg->text && msg->text_size
                        ? s_connectable(msg->text, self->endpoint)
                        : NULL;
    exec_policy_destroy(&self->policy);
    self->policy = exec_policy_parse(msg->strs, msg->nstrs);
    s_max_output_set(self);
    self->backoff_ms = WORKER_BACKOFF_MIN;
    self->welcomed = true;
    s_log(self,
          "welcome: heartbeat %" PRId64 " ms x %" PRId64 ", clients at %s",
          self->interval_ms, self->liveness,
          self->clients ? self->clients : "(default)");
    s_claim_all(self);
    s_outbox_flush(self);
}

/* ---- exec jobs on the serving thread ------------------------------ */

static void s_send_done(goro_worker_t *self, attempt_t *job);

/* JOB, one of running or about to be, has its result: it leaves active
   and its slot, and its DONE goes now, without a hop through the done
   list and the wake pipe. */
static void
s_inline_done(goro_worker_t *self, attempt_t *job)
{
    job->runtime = util_now() - job->started;
    pthread_mutex_lock(&self->lock);
    job->pgid = 0;
    s_active_remove(self, job);
    self->busy--;
    pthread_mutex_unlock(&self->lock);
    s_send_done(self, job);
    s_job_destroy(&job);
}

/* Spawns exec JOB, which holds a slot already, as the serving thread's
   child: its pipes and pidfd join our poll. */
static void
s_inline_start(goro_worker_t *self, attempt_t *job)
{
    job->started = util_now();
    if (atomic_load(&job->cancelled)) {
        s_job_killed_early(job);
        s_inline_done(self, job);
        return;
    }
    exec_spec_t spec = s_exec_spec(job);
    exec_result_t result;
    if (exec_start(&spec, &job->child, &result) != 0) {
        s_job_result(job, &result);
        s_inline_done(self, job);
        return;
    }
    /* KILLs come on this thread, so none can have come meanwhile; the
       lock is for the job threads' view of active. */
    pthread_mutex_lock(&self->lock);
    job->pgid = exec_child_pgid(job->child);
    pthread_mutex_unlock(&self->lock);
    job->run_next = self->running;
    self->running = job;
}

/* Starts the queued exec jobs that free slots allow, from the head of the
   queue; an app job at the head is a job thread's, so wake one. */
static void
s_start_queued(goro_worker_t *self)
{
    attempt_t *start = NULL, **tail = &start;
    pthread_mutex_lock(&self->lock);
    while (self->exec_inline && self->queue_head && !self->queue_head->handler
           && self->busy < self->concurrency) {
        attempt_t *job = self->queue_head;
        self->queue_head = job->queue_next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        job->queue_next = NULL;
        *tail = job;
        tail = &job->queue_next;
        self->busy++;
    }
    if (self->queue_head && self->busy < self->concurrency)
        pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
    while (start) {
        attempt_t *job = start;
        start = job->queue_next;
        job->queue_next = NULL;
        s_inline_start(self, job);
    }
}

/* Finishes the running jobs whose child has been reaped. */
static void
s_finish_reaped(goro_worker_t *self)
{
    for (attempt_t **p = &self->running; *p;) {
        attempt_t *job = *p;
        if (!job->reaped) {
            p = &job->run_next;
            continue;
        }
        *p = job->run_next;
        exec_result_t result;
        exec_child_finish(&job->child, &result);
        s_job_result(job, &result);
        s_inline_done(self, job);
    }
}

/* The poll set: the wake pipe, each running child's descriptors that
   matter now, then the socket if there is one. Returns how many. */
static int
s_poll_items(goro_worker_t *self)
{
    size_t want = 2;
    for (attempt_t *job = self->running; job; job = job->run_next)
        want += 2; /* both pipes, or the pidfd */
    if (want > self->items_cap) {
        self->items_cap = want * 2;
        self->items = util_realloc(self->items,
                                   self->items_cap * sizeof *self->items);
        self->item_jobs = util_realloc(
            self->item_jobs, self->items_cap * sizeof *self->item_jobs);
        self->item_which = util_realloc(
            self->item_which, self->items_cap * sizeof *self->item_which);
    }
    size_t n = 0;
    self->items[n] = (zmq_pollitem_t){NULL, self->wake_fd[0], ZMQ_POLLIN, 0};
    self->item_jobs[n++] = NULL;
    for (attempt_t *job = self->running; job; job = job->run_next)
        for (int which = 0; which < 3; which++) {
            int fd = exec_child_fd(job->child, which);
            if (fd < 0)
                continue;
            self->items[n] = (zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0};
            self->item_jobs[n] = job;
            self->item_which[n++] = which;
        }
    if (self->socket) {
        self->items[n] = (zmq_pollitem_t){self->socket, 0, ZMQ_POLLIN, 0};
        self->item_jobs[n++] = NULL;
    }
    return (int) n;
}

/* Output and exits of the running children, as poll found them. */
static void
s_children_input(goro_worker_t *self, int nitems)
{
    bool any = false;
    for (int i = 0; i < nitems; i++) {
        attempt_t *job = self->item_jobs[i];
        if (!job || !self->items[i].revents || job->reaped)
            continue;
        if (exec_child_input(job->child, self->item_which[i])) {
            job->reaped = true;
            any = true;
        }
    }
    if (any)
        s_finish_reaped(self);
}

static void
s_on_dispatch(goro_worker_t *self, goro_msg_t *msg)
{
    const char *fn = msg->name ? msg->name : "";
    const handler_t *handler = NULL;
    for (size_t i = 0; i < self->nhandlers; i++)
        if (strcmp(self->handlers[i].name, fn) == 0)
            handler = &self->handlers[i];
    s_log(self, "dispatch: job %" PRIu64 " attempt %" PRIu32 " %s",
          msg->job_id, msg->attempt, fn);
    if (!handler && !(self->exec_enabled && strcmp(fn, "exec") == 0)) {
        /* The daemon routes by READY's list, so this is its bug; answer
           rather than leave the job running forever. */
        char text[GORO_MSG_STR_MAX + 64];
        snprintf(text, sizeof text, "function %s is not served by this worker",
                 fn);
        goro_msg_t *done = goro_msg_new(GORO_MSG_DONE);
        done->job_id = msg->job_id;
        done->attempt = msg->attempt;
        done->status = WORKER_STATUS_UNKNOWN;
        goro_msg_set_text(done, text, strlen(text));
        s_send_kept(self, &done);
        return;
    }
    attempt_t *job = util_zalloc(sizeof *job);
    job->worker = self;
    job->id = msg->job_id;
    job->attempt = msg->attempt;
    job->handler = handler;
    job->data = msg->data; /* taken from the message */
    job->size = msg->size;
    msg->data = NULL;
    msg->size = 0;
    job->endpoint = util_strdup(self->clients);
    job->max_output = self->max_output;
    if (!handler && self->policy)
        job->policy = exec_policy_copy(self->policy);
    atomic_init(&job->cancelled, 0);

    pthread_mutex_lock(&self->lock);
    if (s_active_find(self, job->id, job->attempt)) {
        /* A duplicate must not run twice. */
        pthread_mutex_unlock(&self->lock);
        s_log(self,
              "dispatch: job %" PRIu64 " attempt %" PRIu32
              " runs already; ignored",
              job->id, job->attempt);
        s_job_destroy(&job);
        return;
    }
    job->next = self->active;
    self->active = job;
    /* An exec job with a free slot starts here and now, an app job
       with the one slot free runs on this thread once the socket is
       read (s_run_inline); others wait their turn in the queue. */
    bool free = !self->queue_head && self->busy < self->concurrency;
    bool now = free && !handler && self->exec_inline;
    bool later = free && handler && self->inline_ok;
    assert(!later || !self->inline_job);
    if (now || later)
        self->busy++;
    if (later)
        self->inline_job = job;
    else if (!now) {
        if (self->queue_tail)
            self->queue_tail->queue_next = job;
        else
            self->queue_head = job;
        self->queue_tail = job;
        pthread_cond_signal(&self->cond);
    }
    pthread_mutex_unlock(&self->lock);
    if (now)
        s_inline_start(self, job);
}

static void
s_on_kill(goro_worker_t *self, goro_msg_t *msg)
{
    int64_t grace = self->policy ? self->policy->kill_grace_ms
                                 : EXEC_KILL_GRACE_MS;
    pthread_mutex_lock(&self->lock);
    attempt_t *job = s_active_find(self, msg->job_id, msg->attempt);
    if (job && !job->kill_sig) {
        s_job_kill(job, grace > 0 ? SIGTERM : SIGKILL);
        job->kill_at = util_now() + grace;
        if (!self->kill_next || job->kill_at < self->kill_next)
            self->kill_next = job->kill_at;
    }
    pthread_mutex_unlock(&self->lock);
    s_log(self, "kill: job %" PRIu64 " attempt %" PRIu32 "%s", msg->job_id,
          msg->attempt, job ? "" : " (not running here)");
}

static void
s_recv_all(goro_worker_t *self)
{
    while (self->socket) {
        goro_msg_t *msg;
        int rc = goro_msg_recv(self->socket, 0, &msg, NULL);
        if (rc == GORO_EUNAVAILABLE)
            break;
        /* Any frame is life, once welcomed; before that only WELCOME is:
           a gorod that cannot read our READY (another protocol version)
           answers with DISCONNECTs, and we must not wait on it forever
           but reconnect, with backoff, and say so. */
        if (self->welcomed || (rc == GORO_OK && msg->cmd == GORO_MSG_WELCOME))
            self->heard_at = util_now();
        if (rc != GORO_OK) {
            s_log(self, "ignored a malformed %s: %s",
                  msg ? goro_msg_cmd_name(msg->cmd) : "frame",
                  goro_strerror(rc));
            goro_msg_destroy(&msg);
            continue;
        }
        switch (msg->cmd) {
            case GORO_MSG_WELCOME: s_on_welcome(self, msg); break;
            case GORO_MSG_DISPATCH: s_on_dispatch(self, msg); break;
            case GORO_MSG_KILL: s_on_kill(self, msg); break;
            case GORO_MSG_HEARTBEAT: break;
            case GORO_MSG_DISCONNECT:
                /* It forgot us (restarted, or expired us). Not welcomed:
                   our READY is on its way, and this answers what went
                   before it. A stopping worker does not sign up again. */
                s_log(self, "daemon sent DISCONNECT%s",
                      self->welcomed ? "" : " (READY pending: ignored)");
                if (!self->welcomed)
                    break;
                self->welcomed = false;
                if (!self->stopping)
                    s_send_ready(self);
                break;
            default:
                s_log(self, "ignored %s", goro_msg_cmd_name(msg->cmd));
                break;
        }
        goro_msg_destroy(&msg);
    }
}

/* Sends a DONE for each job the threads finished. */
static void
s_collect_done(goro_worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    attempt_t *job = self->done_head;
    self->done_head = self->done_tail = NULL;
    pthread_mutex_unlock(&self->lock);
    while (job) {
        attempt_t *next = job->next;
        s_send_done(self, job);
        s_job_destroy(&job);
        job = next;
    }
}

/* Takes JOB's result into a DONE, sent now or kept in the outbox. */
static void
s_send_done(goro_worker_t *self, attempt_t *job)
{
    goro_msg_t *done = goro_msg_new(GORO_MSG_DONE);
    done->job_id = job->id;
    done->attempt = job->attempt;
    done->status = job->status;
    done->runtime = job->runtime;
    goro_msg_take_data(done, &job->out, job->out_size);
    done->text = job->err; /* the message owns it now */
    done->text_size = job->err_size;
    job->err = NULL;
    s_log(self,
          "done: job %" PRIu64 " attempt %" PRIu32 " status %" PRId64
          " in %" PRId64 " ms",
          job->id, job->attempt, job->status, job->runtime);
    s_send_kept(self, &done);
}

static bool
s_idle(goro_worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool idle = !self->active && !self->done_head;
    pthread_mutex_unlock(&self->lock);
    return idle;
}

/* The second stop request: end what runs now rather than wait. */
static void
s_force(goro_worker_t *self)
{
    self->forced = true;
    s_log(self, "stop forced: killing running jobs");
    pthread_mutex_lock(&self->lock);
    for (attempt_t *job = self->active; job; job = job->next)
        s_job_kill(job, SIGKILL);
    pthread_mutex_unlock(&self->lock);
}

/* SIGKILL to the killed exec jobs whose grace is over; kill_next becomes
   the next grace to end. */
static void
s_kill_overdue(goro_worker_t *self, int64_t now)
{
    self->kill_next = 0;
    pthread_mutex_lock(&self->lock);
    for (attempt_t *job = self->active; job; job = job->next) {
        if (job->kill_sig != SIGTERM)
            continue;
        if (now >= job->kill_at)
            s_job_kill(job, SIGKILL);
        else if (!self->kill_next || job->kill_at < self->kill_next)
            self->kill_next = job->kill_at;
    }
    pthread_mutex_unlock(&self->lock);
}

/* Kill graces, heartbeat, liveness and reconnect, all due at NOW or
   before. */
static void
s_timers(goro_worker_t *self, int64_t now)
{
    if (self->kill_next && now >= self->kill_next)
        s_kill_overdue(self, now);
    if (!self->socket) {
        /* A stopping worker has nobody to report to any more. */
        if (!self->stopping && now >= self->reconnect_at
            && s_connect(self) != GORO_OK)
            s_reconnect_later(self, now);
        return;
    }
    if (!self->stopping
        && now - self->heard_at >= self->liveness * self->interval_ms) {
        s_disconnect(self, now);
        return;
    }
    if (now - self->sent_at >= self->interval_ms)
        s_send_cmd(self, GORO_MSG_HEARTBEAT);
    if (self->noutbox)
        s_outbox_flush(self);
}

/* Milliseconds until the next timer, for zmq_poll. */
static long
s_timeout(goro_worker_t *self, int64_t now)
{
    int64_t at;
    if (!self->socket)
        at = self->stopping ? now + self->interval_ms : self->reconnect_at;
    else {
        at = self->sent_at + self->interval_ms;
        if (!self->stopping) {
            int64_t expire = self->heard_at
                             + self->liveness * self->interval_ms;
            at = expire < at ? expire : at;
        }
        if (self->noutbox && self->welcomed && now + WORKER_RETRY_MS < at)
            at = now + WORKER_RETRY_MS;
    }
    if (self->kill_next && self->kill_next < at)
        at = self->kill_next;
    return at > now ? (long) (at - now) : 0;
}

/* Acts on goro_worker_stop() calls since the last look. */
static void
s_stop_requests(goro_worker_t *self)
{
    int requests = atomic_load(&self->stop_count);
    if (requests >= 1 && !self->stopping) {
        self->stopping = true;
        s_log(self, "stopping: waiting for running jobs");
        s_send_cmd(self, GORO_MSG_DISCONNECT);
    }
    if (requests >= 2 && !self->forced)
        s_force(self);
}

/* SIGINT and SIGTERM reach the serving thread only outside handlers, as
   they never reach job threads: a handler's system calls are not cut
   short with EINTR. */
static void
s_signals_block(goro_worker_t *self, int how)
{
    if (!self->own_signals)
        return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(how, &set, NULL);
}

/* Runs the app job s_on_dispatch kept for this thread, which holds the
   one slot, and sends its DONE at once: no hop to a job thread and back.
   While it runs this thread does not serve the socket; the job thread
   does, if the handler runs for a tick (s_take_over), and hands it back
   before we go on. */
static void
s_run_inline(goro_worker_t *self)
{
    attempt_t *job = self->inline_job;
    if (!job)
        return;
    self->inline_job = NULL;
    pthread_mutex_lock(&self->lock);
    self->inline_seq++;
    self->inline_running = true;
    if (self->watcher_asleep)
        pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);

    s_signals_block(self, SIG_BLOCK);
    s_job_run(&self->inline_thread, job);
    s_signals_block(self, SIG_UNBLOCK);

    pthread_mutex_lock(&self->lock);
    self->inline_running = false;
    if (self->inline_taken) {
        s_wake(self); /* out of its poll */
        while (self->inline_taken)
            pthread_cond_wait(&self->back, &self->lock);
    }
    self->busy--;
    s_active_remove(self, job);
    pthread_mutex_unlock(&self->lock);
    s_send_done(self, job);
    s_job_destroy(&job);
}

/* On the job thread, under lock (released meanwhile): the serving
   thread's handler has run for a tick, so this thread serves the socket
   in its place until the handler returns: heartbeats, KILLs (the
   handler sees goro_call_cancelled()), stop requests, DISPATCHes (queued:
   the slot is taken), reconnects. The serving thread touches none of its
   state until inline_taken is false again, and the lock orders the two
   threads' accesses. No exec child runs: the one slot is the handler's. */
static void
s_take_over(goro_worker_t *self)
{
    self->inline_taken = true;
    pthread_mutex_unlock(&self->lock);
    s_log(self, "a handler runs long: its job thread serves meanwhile");
    s_signals_block(self, SIG_UNBLOCK);
    while (true) {
        pthread_mutex_lock(&self->lock);
        bool running = self->inline_running;
        pthread_mutex_unlock(&self->lock);
        if (!running)
            break;
        s_stop_requests(self);
        int64_t now = util_now();
        s_timers(self, now);
        int nitems = s_poll_items(self);
        if (zmq_poll(self->items, nitems, s_timeout(self, now)) == -1) {
            if (zmq_errno() == EINTR)
                continue;
            break; /* the serving thread will see it too */
        }
        if (self->items[0].revents)
            s_wake_drain(self);
        if (self->socket && self->items[nitems - 1].revents)
            s_recv_all(self);
    }
    s_signals_block(self, SIG_BLOCK);
    pthread_mutex_lock(&self->lock);
    self->inline_taken = false;
    pthread_cond_broadcast(&self->back);
}

static void
s_loop(goro_worker_t *self)
{
    while (true) {
        s_stop_requests(self);
        s_collect_done(self);
        if (self->stopping && s_idle(self))
            break;

        int64_t now = util_now();
        s_timers(self, now);
        int nitems = s_poll_items(self);
        if (zmq_poll(self->items, nitems, s_timeout(self, now)) == -1) {
            if (zmq_errno() == EINTR)
                continue; /* a signal: its byte is in the pipe */
            s_log(self, "zmq_poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (self->items[0].revents)
            s_wake_drain(self);
        s_children_input(self, nitems);
        if (self->socket && self->items[nitems - 1].revents)
            s_recv_all(self);
        s_run_inline(self);
        s_start_queued(self);
    }
    /* Only a failed poll leaves children here: they are killed, so that
       none outlives the loop unreaped. */
    for (attempt_t *job = self->running; job; job = job->run_next)
        job->reaped = true;
    s_finish_reaped(self);
    s_collect_done(self);
    s_outbox_flush(self);
}

/* ---- signals ------------------------------------------------------ */

static void
s_on_signal(int sig)
{
    (void) sig;
    int saved = errno;
    goro_worker_t *self = atomic_load(&s_signal_worker);
    if (self)
        goro_worker_stop(self);
    errno = saved;
}

/* SIGINT and SIGTERM stop the worker; SIGPIPE is ignored (a handler
   writing to a closed pipe gets EPIPE rather than killing the process);
   and SIGCHLD must not be ignored, or the kernel reaps exec children
   before we read their status. Only one serving worker owns these. */
static void
s_signals_install(goro_worker_t *self)
{
    goro_worker_t *none = NULL;
    if (!atomic_compare_exchange_strong(&s_signal_worker, &none, self))
        return;
    self->own_signals = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, &self->old_int);
    sigaction(SIGTERM, &sa, &self->old_term);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &self->old_pipe);
    sigaction(SIGCHLD, NULL, &self->old_chld);
    if (self->old_chld.sa_handler == SIG_IGN) {
        sa.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &sa, NULL);
    }
}

static void
s_signals_restore(goro_worker_t *self)
{
    if (!self->own_signals)
        return;
    sigaction(SIGINT, &self->old_int, NULL);
    sigaction(SIGTERM, &self->old_term, NULL);
    sigaction(SIGPIPE, &self->old_pipe, NULL);
    sigaction(SIGCHLD, &self->old_chld, NULL);
    atomic_store(&s_signal_worker, NULL);
    self->own_signals = false;
}

/* ---- the public worker API ---------------------------------------- */

goro_worker_t *
goro_worker_new(const char *endpoint)
{
    if (!endpoint || !*endpoint)
        endpoint = getenv("GORO_WORKERS");
    if (!endpoint || !*endpoint)
        endpoint = WORKER_ENDPOINT_DEFAULT;
    if (!strstr(endpoint, "://"))
        return NULL;
    goro_worker_t *self = util_zalloc(sizeof *self);
    if (pipe2(self->wake_fd, O_CLOEXEC | O_NONBLOCK) == -1) {
        free(self);
        return NULL;
    }
    self->tag = WORKER_TAG;
    self->endpoint = util_strdup(endpoint);
    self->concurrency = 1;
    self->max_output = WORKER_MAX_OUTPUT_DEFAULT;
    atomic_init(&self->verbose, 0);
    atomic_init(&self->stop_count, 0);
    atomic_init(&self->serving, false);
    pthread_mutex_init(&self->lock, NULL);
    /* Job threads wait on cond a tick at a time (s_tick_wait). */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&self->back, NULL);
    atomic_init(&self->tick_ms, WORKER_INLINE_TICK_MS);
    goro_worker_set_curve(self, getenv("GORO_CERT"),
                          getenv("GORO_SERVER_CERT"));
    return self;
}

int
goro_worker_set_curve(goro_worker_t *self, const char *cert,
                      const char *server_cert)
{
    self->curve_rc = curve_load(cert, server_cert, &self->curve);
    free(self->cert);
    free(self->server_cert);
    self->cert = self->curve.on ? util_strdup(cert) : NULL;
    self->server_cert = self->curve.on ? util_strdup(server_cert) : NULL;
    return self->curve_rc;
}

void
goro_worker_destroy(goro_worker_t **self_p)
{
    if (self_p && *self_p) {
        goro_worker_t *self = *self_p;
        assert(self->tag == WORKER_TAG);
        assert(!atomic_load(&self->serving));
        for (size_t i = 0; i < self->nhandlers; i++)
            free(self->handlers[i].name);
        free(self->handlers);
        free(self->endpoint);
        exec_policy_destroy(&self->policy);
        free(self->cert);
        free(self->server_cert);
        free(self->label);
        free(self->clients);
        free(self->items);
        free(self->item_jobs);
        free(self->item_which);
        close(self->wake_fd[0]);
        close(self->wake_fd[1]);
        pthread_mutex_destroy(&self->lock);
        pthread_cond_destroy(&self->cond);
        pthread_cond_destroy(&self->back);
        self->tag = WORKER_DEAD;
        free(self);
        *self_p = NULL;
    }
}

int
goro_worker_register(goro_worker_t *self, const char *name,
                     goro_handler_fn *handler, void *arg)
{
    assert(self && self->tag == WORKER_TAG);
    if (!name || !*name || strlen(name) > GORO_MSG_STR_MAX || !handler)
        return GORO_EINVAL;
    /* READY carries the list; job threads read the table unlocked. */
    if (atomic_load(&self->serving))
        return GORO_ESTATE;
    if (self->nhandlers + 1 >= GORO_MSG_LIST_MAX)
        return GORO_EFULL;
    if (strcmp(name, "exec") == 0)
        return GORO_EEXIST; /* built in: goro_worker_enable_exec() */
    for (size_t i = 0; i < self->nhandlers; i++)
        if (strcmp(self->handlers[i].name, name) == 0)
            return GORO_EEXIST;
    self->handlers = util_realloc(
        self->handlers, (self->nhandlers + 1) * sizeof *self->handlers);
    handler_t *entry = &self->handlers[self->nhandlers++];
    entry->name = util_strdup(name);
    entry->fn = handler;
    entry->arg = arg;
    return GORO_OK;
}

int
goro_worker_enable_exec(goro_worker_t *self, size_t max_output)
{
    assert(self && self->tag == WORKER_TAG);
    if (atomic_load(&self->serving))
        return GORO_ESTATE;
    self->exec_enabled = true;
    self->max_output_own = max_output;
    self->max_output = max_output ? max_output : WORKER_MAX_OUTPUT_DEFAULT;
    return GORO_OK;
}

int
goro_worker_set_concurrency(goro_worker_t *self, int n)
{
    assert(self && self->tag == WORKER_TAG);
    if (n < 1 || n + self->prefetch > WORKER_CONCURRENCY_MAX)
        return GORO_EINVAL;
    if (atomic_load(&self->serving))
        return GORO_ESTATE;
    self->concurrency = n;
    return GORO_OK;
}

int
goro_worker_set_prefetch(goro_worker_t *self, int n)
{
    assert(self && self->tag == WORKER_TAG);
    if (n < 0 || self->concurrency + n > WORKER_CONCURRENCY_MAX)
        return GORO_EINVAL;
    if (atomic_load(&self->serving))
        return GORO_ESTATE;
    self->prefetch = n;
    return GORO_OK;
}

int
goro_worker_set_name(goro_worker_t *self, const char *name)
{
    assert(self && self->tag == WORKER_TAG);
    if (!name || !*name || strlen(name) > GORO_MSG_STR_MAX)
        return GORO_EINVAL;
    if (atomic_load(&self->serving))
        return GORO_ESTATE;
    free(self->label);
    self->label = util_strdup(name);
    return GORO_OK;
}

void
goro_worker_set_verbose(goro_worker_t *self, int verbose)
{
    assert(self && self->tag == WORKER_TAG);
    atomic_store(&self->verbose, verbose);
}

void
goro_worker_stop(goro_worker_t *self)
{
    if (!self)
        return;
    atomic_fetch_add(&self->stop_count, 1);
    s_wake(self);
}

/* Returns GORO_OK after a stop, GORO_EINVAL if there is nothing to serve
   or the endpoint is not one libzmq accepts, GORO_ESTATE if it is being
   served already, GORO_ESYS if threads or sockets could not be made. */
int
goro_worker_serve(goro_worker_t *self)
{
    assert(self && self->tag == WORKER_TAG);
    if (self->nhandlers == 0 && !self->exec_enabled)
        return GORO_EINVAL;
    if (self->curve_rc)
        return self->curve_rc;
    if (atomic_exchange(&self->serving, true))
        return GORO_ESTATE;
    int rc = GORO_OK;
    if (atomic_load(&self->stop_count) > 0)
        goto error1; /* stopped before it started */
    rc = GORO_ESYS;
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto error1;
    self->interval_ms = WORKER_INTERVAL_DEFAULT;
    self->liveness = WORKER_LIVENESS_DEFAULT;
    self->backoff_ms = WORKER_BACKOFF_MIN;
    self->stopping = self->forced = false;
    self->exec_inline = self->exec_enabled && exec_pollable();
    /* With one slot, an app job on a job thread would leave this one
       idle: it runs here instead (s_run_inline). */
    self->inline_ok = self->concurrency == 1;
    self->inline_thread.worker = self;
    atomic_store(&self->tick_ms, WORKER_INLINE_TICK_MS);
    s_signals_install(self);
    rc = s_connect(self);
    if (rc)
        goto error2;
    rc = s_threads_start(self);
    if (rc) {
        s_send_cmd(self, GORO_MSG_DISCONNECT);
        goto error3;
    }
    s_loop(self);
    rc = GORO_OK;

error3:
    s_threads_stop(self); /* after the loop: nothing is queued */
    goro_destroy(&self->inline_thread.client);
    free(self->inline_thread.client_endpoint);
    self->inline_thread.client_endpoint = NULL;
    if (self->socket) {
        /* Linger gives the last DONEs and DISCONNECT their chance; a
           daemon that does not know us would drop them anyway, and one
           that never answered may not be there to take them. */
        if (!self->welcomed) {
            int linger = 0;
            zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
        }
        zmq_close(self->socket);
        self->socket = NULL;
    }
error2:
    s_signals_restore(self);
    zmq_ctx_term(self->ctx);
    self->ctx = NULL;
error1:
    for (size_t i = 0; i < self->noutbox; i++)
        goro_msg_destroy(&self->outbox[i]);
    free(self->outbox);
    self->outbox = NULL;
    self->noutbox = 0;
    free(self->clients);
    self->clients = NULL;
    s_wake_drain(self);
    atomic_store(&self->stop_count, 0);
    atomic_store(&self->serving, false);
    return rc;
}
