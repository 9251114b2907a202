/*  goro - the client half of libgoro: requests to gorod over one DEALER
    socket, each with its own request id.

    A call sends its request and waits for the reply with that id; replies
    to requests the caller already gave up on are dropped. While it waits
    it heartbeats, so that a daemon that is gone is noticed within
    liveness x interval (GORO_EUNAVAILABLE) however long the call itself
    may block. The socket has ZMQ_IMMEDIATE set: a request is never queued
    for a daemon that is not connected, so it cannot run later behind the
    caller's back.
*/
#include "goro.h"
#include "curve.h"
#include "goro_msg.h"
#include "util.h"

#include <czmq.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GORO_HEARTBEAT_MS 1000 /* matches gorod's default interval */
#define GORO_LIVENESS 3        /* silent intervals before giving up */
#define GORO_WINDOW \
    500 /* requests in flight in goro_go_many; under \
           the default 1000-message HWM */
#define GORO_BATCH_BYTES \
    262144 /* values per CHAN_SEND_MANY frame, in bytes: \
              a quarter of gorod's default \
              limits.max_message; a smaller limit halves \
              it on GORO_ETOOBIG */
/* Waitgroup adds and dones a client may have sent without their reply
   (goro_flush). gorod answers each in the same loop turn, so the window
   only bounds what a restart can leave unanswered. */
#define GORO_PIPE_MAX 256
/* Job ids a client leases at a time for pipelined goro_go calls: the
   block doubles from the first to the last as a handle keeps
   submitting, so that a short-lived client spends few ids. */
#define GORO_LEASE_FIRST 16
#define GORO_LEASE_MAX 1024
/* Values a receiver reads ahead at most: the first CHAN_RECV_AHEAD of a
   run of receives on one channel asks for one, each next for twice as
   many, so that a single receive takes nothing it does not use. */
#define GORO_AHEAD_MAX 64
/* Values read ahead are handed out only while we were heard from this
   recently: gorod gives a client's values back once it has been silent
   for its liveness period, never under a second. */
#define GORO_AHEAD_FRESH_MS 500
/* Sockets in czmq's context, which libgoro shares with the application:
   a worker's job threads each hold a client (goro_call_client), up to
   goro_worker_set_concurrency()'s 4096, and the application may hold as
   many again. czmq's default, 1024, would make a socket past it a failed
   assertion inside zsock_new(). */
#define GORO_SOCKETS_MAX 8192

struct goro {
    char *endpoint;
    void *sock; /* DEALER; NULL until the first call */
    uint64_t next_reqid;
    int verbose;
    curve_keys_t curve; /* off unless a certificate was given */
    int curve_rc;       /* why the certificate given is unusable */
    char *last_error;   /* gorod's text for the last ERROR */
    uint64_t epoch;     /* gorod's run id, from HEARTBEAT; 0:
                           not known yet */
    /* Pipelined calls not answered yet, by request id in the order sent
       (gorod answers one connection in order), and the first error one
       of them got, kept for the next waitgroup call or goro_flush. */
    uint64_t pipe[GORO_PIPE_MAX];
    bool pipe_put[GORO_PIPE_MAX]; /* the call is a CHAN_PUT */
    size_t pipe_head, pipe_count;
    int pipe_error;
    char *pipe_error_text;
    /* Job ids leased for pipelined submissions: [lease_next, lease_end)
       are ours to use, in gorod's run lease_run. */
    uint64_t lease_next, lease_end, lease_run;
    uint32_t lease_size; /* of the next lease; 0: none asked yet */
    bool submitted;      /* the handle's first submission went */
    /* Sends on put_chan go without waiting while put_room, the room
       gorod last reported less what we sent since, lasts; put_pending
       of them are not answered yet. */
    char *put_chan;
    int64_t put_room;
    size_t put_pending;
    /* Values of ahead_chan read ahead: ahead->values from ahead_next on
       are ours to hand out, under ahead->delivery_id; ahead_want is what
       the next CHAN_RECV_AHEAD asks for. */
    char *ahead_chan;
    goro_msg_t *ahead;
    size_t ahead_next;
    uint32_t ahead_want;
    void *monitor;   /* PAIR: the socket's disconnections, once reading
                        ahead */
    int64_t sent_at; /* when we last sent gorod anything */
};

struct goro_job {
    uint64_t id;
    char *fn;
    int state;
    int attempts;
    int64_t status;
    int64_t runtime_ms;
    uint8_t *out;
    size_t out_size;
    char *err;
    size_t err_size;
};

/* Drops the socket: replies still on their way belong to calls that are
   over, and the next call starts clean. */
static void s_pipe_lost(goro_t *self);
/* Gives gorod back the values read ahead and not handed out. */
static void s_ahead_release(goro_t *self);

static void
s_reset(goro_t *self)
{
    s_pipe_lost(self);
    if (self->monitor) {
        zmq_close(self->monitor);
        self->monitor = NULL;
    }
    if (self->sock) {
        zsys_close(self->sock, __FILE__, __LINE__);
        self->sock = NULL;
    }
}

/* czmq sets up its global context on first use, and that first use is
   not safe from two threads at once: the job threads of a worker may
   each make their first goro_t together (goro_call_client). */
static pthread_once_t s_czmq_once = PTHREAD_ONCE_INIT;

static void
s_czmq_init(void)
{
    zsys_handler_set(NULL); /* a library does not take signals */
    void *ctx = zsys_init();
    /* Straight to libzmq: zsys_set_max_sockets() asserts once the
       application has sockets of its own, where libzmq keeps the limit
       it started with (zsys_socket() then fails, and so does our call). */
    if (ctx && zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS) < GORO_SOCKETS_MAX)
        zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, GORO_SOCKETS_MAX);
}

void
goro_free(void *ptr)
{
    free(ptr);
}

goro_t *
goro_new(const char *endpoint)
{
    if (!endpoint)
        endpoint = getenv("GORO_ENDPOINT");
    if (!endpoint || !*endpoint)
        endpoint = GORO_DEFAULT_ENDPOINT;
    if (strncmp(endpoint, "tcp://", 6) != 0
        && strncmp(endpoint, "ipc://", 6) != 0
        && strncmp(endpoint, "inproc://", 9) != 0)
        return NULL;
    goro_t *self = util_zalloc(sizeof *self);
    self->endpoint = util_strdup(endpoint);
    self->next_reqid = 1;
    /* A bad certificate in the environment shows at the first call. */
    goro_set_curve(self, getenv("GORO_CERT"), getenv("GORO_SERVER_CERT"));
    return self;
}

void
goro_destroy(goro_t **self_p)
{
    if (self_p && *self_p) {
        goro_t *self = *self_p;
        goro_flush(self); /* what was pipelined leaves, answered */
        s_ahead_release(self);
        s_reset(self);
        free(self->put_chan);
        free(self->ahead_chan);
        free(self->endpoint);
        free(self->last_error);
        free(self->pipe_error_text);
        free(self);
        *self_p = NULL;
    }
}

void
goro_set_verbose(goro_t *self, int verbose)
{
    self->verbose = verbose;
}

int
goro_set_curve(goro_t *self, const char *cert, const char *server_cert)
{
    self->curve_rc = curve_load(cert, server_cert, &self->curve);
    s_reset(self); /* the next call connects anew */
    return self->curve_rc;
}

int
goro_keygen(const char *path)
{
    return curve_keygen(path);
}

const char *
goro_last_error(goro_t *self)
{
    return self->last_error;
}

const char *
goro_endpoint(goro_t *self)
{
    return self->endpoint;
}

static void
s_trace(goro_t *self, const char *dir, const goro_msg_t *msg)
{
    if (self->verbose)
        fprintf(stderr, "goro: %s %s reqid=%llu\n", dir,
                goro_msg_cmd_name(msg->cmd), (unsigned long long) msg->reqid);
}

/* Sends MSG, which has no answer, on the connection as it is. */
static void
s_notify(goro_t *self, const goro_msg_t *msg)
{
    s_trace(self, "send", msg);
    if (goro_msg_send(msg, self->sock, NULL) == GORO_OK)
        self->sent_at = util_now();
}

static int
s_connect(goro_t *self)
{
    if (self->sock)
        return GORO_OK;
    if (self->curve_rc)
        return self->curve_rc;
    pthread_once(&s_czmq_once, s_czmq_init);
    /* zsys_socket(), not zsock_new(): it fails rather than asserts when
       the context is out of sockets (or the process out of files). */
    self->sock = zsys_socket(ZMQ_DEALER, __FILE__, __LINE__);
    if (!self->sock)
        return GORO_ESYS;
    /* A little linger, so that the last ACK leaves before a short-lived
       client (goro recv) closes; IMMEDIATE keeps it from waiting on a
       daemon that was never there. */
    int linger = 1000, immediate = 1, unlimited = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
    zmq_setsockopt(self->sock, ZMQ_RCVHWM, &unlimited, sizeof unlimited);
    if (curve_apply(self->sock, &self->curve) != GORO_OK
        || zmq_connect(self->sock, self->endpoint) == -1) {
        s_reset(self);
        return GORO_EINVAL;
    }
    return GORO_OK;
}

/* Waits up to DEADLINE (-1: forever) for socket readiness EVENTS. */
static bool
s_poll(goro_t *self, short events, int64_t deadline)
{
    zmq_pollitem_t item = {self->sock, 0, events, 0};
    int rc = zmq_poll(&item, 1, (long) util_remaining(deadline));
    return rc > 0 && (item.revents & events);
}

/* Sends MSG with a fresh request id, waiting for a connection to the
   daemon at most one liveness period, or until DEADLINE if sooner. */
static int
s_send(goro_t *self, goro_msg_t *msg, int64_t deadline)
{
    int rc = s_connect(self);
    if (rc)
        return rc;
    msg->reqid = self->next_reqid++;
    s_trace(self, "send", msg);
    /* Try at once: with a connection up (the usual case) that is one
       syscall less per request than polling first. */
    rc = goro_msg_send(msg, self->sock, NULL);
    if (rc == GORO_EUNAVAILABLE) {
        int64_t until = util_deadline(GORO_HEARTBEAT_MS * GORO_LIVENESS);
        if (deadline >= 0 && deadline < until)
            until = deadline;
        rc = s_poll(self, ZMQ_POLLOUT, until)
                 ? goro_msg_send(msg, self->sock, NULL)
                 : GORO_EUNAVAILABLE;
    }
    if (rc) {
        s_reset(self);
        return rc;
    }
    self->sent_at = util_now();
    if (!self->epoch) {
        /* Learn gorod's run id with the first request, so that a restart
           during any later wait is noticed. */
        goro_msg_t *beat = goro_msg_new(GORO_MSG_HEARTBEAT);
        s_notify(self, beat);
        goro_msg_destroy(&beat);
    }
    return rc;
}

/* Receives the next reply for any request, heartbeating while the daemon
   is quiet. GORO_EUNAVAILABLE once it has been silent for liveness
   intervals, or when DEADLINE (-1: none) passes. */
static int
s_recv(goro_t *self, int64_t deadline, goro_msg_t **reply_out)
{
    int64_t silent_since = util_now();
    for (;;) {
        int64_t beat_at = util_now() + GORO_HEARTBEAT_MS;
        int64_t until = deadline >= 0 && deadline < beat_at ? deadline
                                                            : beat_at;
        goro_msg_t *reply = NULL;
        int rc = goro_msg_recv_wait(self->sock, util_remaining(until), 0,
                                    &reply);
        if (rc != GORO_EUNAVAILABLE) {
            silent_since = util_now();
            if (rc) {
                goro_msg_destroy(&reply);
                continue; /* a frame we can't read: not ours */
            }
            s_trace(self, "recv", reply);
            if (reply->cmd == GORO_MSG_HEARTBEAT) {
                /* Another run of gorod answers: whatever we were waiting
                   for died with the one before. */
                uint64_t epoch = reply->run_id;
                goro_msg_destroy(&reply);
                if (epoch && self->epoch && epoch != self->epoch) {
                    self->epoch = epoch;
                    s_pipe_lost(self);
                    return GORO_EUNAVAILABLE;
                }
                if (epoch)
                    self->epoch = epoch;
                continue;
            }
            *reply_out = reply;
            return GORO_OK;
        }
        int64_t now = util_now();
        if (deadline >= 0 && now >= deadline)
            return GORO_ETIMEDOUT;
        if (now - silent_since >= GORO_HEARTBEAT_MS * GORO_LIVENESS) {
            s_reset(self);
            return GORO_EUNAVAILABLE;
        }
        goro_msg_t *beat = goro_msg_new(GORO_MSG_HEARTBEAT);
        s_notify(self, beat);
        goro_msg_destroy(&beat);
    }
}

/* ---- pipelined calls ------------------------------------------------ */

/* Keeps the first error of a pipelined call: later ones add nothing the
   caller can act on. */
static void
s_pipe_fail(goro_t *self, int code, char *text)
{
    if (self->pipe_error) {
        free(text);
        return;
    }
    self->pipe_error = code;
    self->pipe_error_text = text;
}

/* The connection or gorod's run went away with calls unanswered: they
   may or may not have been applied, so the next check says so. */
static void
s_pipe_lost(goro_t *self)
{
    if (self->pipe_count)
        s_pipe_fail(self, GORO_EUNAVAILABLE, NULL);
    self->pipe_count = 0;
    self->lease_next = self->lease_end = 0; /* good in its run only */
    self->put_room = 0;
    self->put_pending = 0;
    goro_msg_destroy(&self->ahead); /* gorod has them back, or will */
}

/* REPLY answers the oldest pipelined call, or an old call that is over
   (dropped). Takes *REPLY_P. */
static void
s_pipe_answered(goro_t *self, goro_msg_t **reply_p)
{
    goro_msg_t *reply = *reply_p;
    if (self->pipe_count && reply->reqid == self->pipe[self->pipe_head]) {
        bool put = self->pipe_put[self->pipe_head];
        self->pipe_head = (self->pipe_head + 1) % GORO_PIPE_MAX;
        self->pipe_count--;
        if (put) {
            /* The room it reports less the sends that went after it. */
            self->put_pending--;
            self->put_room = reply->cmd == GORO_MSG_ROOM
                                 ? reply->room - (int64_t) self->put_pending
                                 : 0;
        }
        if (reply->cmd == GORO_MSG_ERROR) {
            int code = reply->code ? (int) reply->code : GORO_EPROTO;
            if (code == GORO_EUNAVAILABLE) /* e.g. a lease of a gone run */
                self->lease_next = self->lease_end = 0;
            s_pipe_fail(self, code, reply->text);
            reply->text = NULL;
        }
    }
    goro_msg_destroy(reply_p);
}

/* Waits for the answers of pipelined calls until at most LEFT are
   outstanding. */
static void
s_pipe_drain(goro_t *self, size_t left)
{
    while (self->pipe_count > left) {
        goro_msg_t *reply = NULL;
        if (s_recv(self, -1, &reply) != GORO_OK) {
            s_pipe_lost(self);
            s_reset(self);
            return;
        }
        s_pipe_answered(self, &reply);
    }
}

/* The first error of an earlier pipelined call, reported once (its text
   in goro_last_error), or GORO_OK. */
static int
s_pipe_check(goro_t *self)
{
    int rc = self->pipe_error;
    if (rc) {
        free(self->last_error);
        self->last_error = self->pipe_error_text;
        self->pipe_error_text = NULL;
        self->pipe_error = GORO_OK;
    }
    return rc;
}

/* Sends *MSG_P (taken) without waiting for its answer, once the window
   has room. GORO_OK means sent; what gorod says of it comes later. */
static int
s_pipe_send(goro_t *self, goro_msg_t **msg_p)
{
    bool put = (*msg_p)->cmd == GORO_MSG_CHAN_PUT;
    /* Answers already here first, without waiting: errors surface soon. */
    goro_msg_t *reply = NULL;
    while (self->pipe_count
           && s_recv(self, util_deadline(0), &reply) == GORO_OK)
        s_pipe_answered(self, &reply);
    s_pipe_drain(self, GORO_PIPE_MAX - 1);
    int rc = s_pipe_check(self);
    if (rc == GORO_OK)
        rc = s_send(self, *msg_p, -1);
    if (rc == GORO_OK) {
        size_t tail = (self->pipe_head + self->pipe_count) % GORO_PIPE_MAX;
        self->pipe[tail] = (*msg_p)->reqid;
        self->pipe_put[tail] = put;
        self->pipe_count++;
        self->put_pending += put;
    }
    goro_msg_destroy(msg_p);
    return rc;
}

int
goro_flush(goro_t *self)
{
    if (!self)
        return GORO_EINVAL;
    s_pipe_drain(self, 0);
    return s_pipe_check(self);
}

/* One request, one reply. On GORO_OK *REPLY_OUT is the reply (OK, JOB,
   VALUE, VALUES, SENT or WG_INFO); an ERROR reply becomes its code. */
static int
s_request(goro_t *self, goro_msg_t *msg, int64_t deadline,
          goro_msg_t **reply_out)
{
    *reply_out = NULL;
    free(self->last_error);
    self->last_error = NULL;
    /* A call that may wait gives back what we read ahead, so that other
       receivers are not kept from it meanwhile; a send does not, so a
       loop that receives from one channel and sends to another keeps
       its values. */
    if (msg->cmd != GORO_MSG_CHAN_PUT && msg->cmd != GORO_MSG_CHAN_RECV_AHEAD)
        s_ahead_release(self);
    int rc = s_send(self, msg, deadline);
    uint64_t reqid = msg->reqid;
    while (rc == GORO_OK) {
        goro_msg_t *reply = NULL;
        rc = s_recv(self, deadline, &reply);
        if (rc) {
            if (rc == GORO_ETIMEDOUT) /* only ping sets a deadline */
                rc = GORO_EUNAVAILABLE;
            break;
        }
        if (reply->reqid != reqid) {
            s_pipe_answered(self,
                            &reply); /* or a late answer to an old call */
            continue;
        }
        if (reply->cmd == GORO_MSG_ERROR) {
            if (self->verbose && reply->text)
                fprintf(stderr, "goro: gorod says: %s\n", reply->text);
            free(self->last_error);
            self->last_error = reply->text;
            reply->text = NULL;
            rc = reply->code ? (int) reply->code : GORO_EPROTO;
            goro_msg_destroy(&reply);
            break;
        }
        *reply_out = reply;
        break;
    }
    return rc;
}

/* s_request, taking *MSG_P. */
static int
s_call_until(goro_t *self, goro_msg_t **msg_p, int64_t deadline,
             goro_msg_t **reply_out)
{
    int rc = s_request(self, *msg_p, deadline, reply_out);
    goro_msg_destroy(msg_p);
    return rc;
}

static int
s_call(goro_t *self, goro_msg_t **msg_p, goro_msg_t **reply_out)
{
    return s_call_until(self, msg_p, -1, reply_out);
}

/* A call whose reply carries nothing the caller needs. */
static int
s_call_simple(goro_t *self, goro_msg_t **msg_p)
{
    goro_msg_t *reply = NULL;
    int rc = s_call(self, msg_p, &reply);
    goro_msg_destroy(&reply);
    return rc;
}

/* Tells gorod a received value arrived, so that it leaves its channel
   for good; until then gorod would put it back if we vanished. No reply:
   the ack rides ahead of our next request on the same connection. */
static void
s_ack(goro_t *self, const goro_msg_t *value)
{
    if ((value->cmd != GORO_MSG_VALUE && value->cmd != GORO_MSG_VALUES)
        || value->delivery_id == 0 || !self->sock)
        return;
    goro_msg_t *ack = goro_msg_new(GORO_MSG_ACK);
    ack->delivery_id = value->delivery_id;
    s_notify(self, ack);
    goro_msg_destroy(&ack);
}

static bool
s_name_ok(const char *name)
{
    return name && *name && strlen(name) <= GORO_MSG_STR_MAX;
}

int
goro_ping(goro_t *self, int64_t timeout_ms)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_PING);
    goro_msg_t *reply = NULL;
    int rc = s_call_until(self, &msg, util_deadline(timeout_ms), &reply);
    goro_msg_destroy(&reply);
    return rc;
}

/* ---- jobs ---------------------------------------------------------- */

static goro_msg_t *
s_submit_msg(const char *fn, const void *data, size_t len,
             const goro_opts_t *opts)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_SUBMIT);
    goro_msg_set_name(msg, fn);
    goro_msg_set_data(msg, data, len);
    if (opts) {
        goro_msg_set_str(&msg->wg, opts->wg);
        goro_msg_set_str(&msg->chan, opts->result_chan);
        goro_msg_set_str(&msg->key, opts->key);
        msg->timeout = opts->timeout_ms;
        msg->max_attempts = opts->max_attempts > 0
                                ? (uint32_t) opts->max_attempts
                                : 0;
    }
    return msg;
}

static int
s_check_opts(const goro_opts_t *opts)
{
    if (!opts)
        return GORO_OK;
    const char *names[] = {opts->wg, opts->result_chan, opts->key};
    for (int i = 0; i < 3; i++)
        if (names[i] && strlen(names[i]) > GORO_MSG_STR_MAX)
            return GORO_EINVAL;
    return opts->timeout_ms < 0 || opts->max_attempts < 0
               ? GORO_EINVAL
               : GORO_OK;
}

static goro_job_t *s_job_from(goro_msg_t *reply);

/* A SUBMIT; with WAIT_MS non-zero gorod answers with the JOB once it
   ended (or as it is after WAIT_MS > 0): *JOB_OUT then. Else the id. */
static int
s_submit(goro_t *self, const char *fn, const void *data, size_t len,
         const goro_opts_t *opts, int64_t wait_ms, uint64_t *id_out,
         goro_job_t **job_out)
{
    if (job_out)
        *job_out = NULL;
    if (!s_name_ok(fn) || (len && !data) || s_check_opts(opts))
        return GORO_EINVAL;
    goro_msg_t *msg = s_submit_msg(fn, data, len, opts);
    msg->submit_wait = wait_ms;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK && wait_ms) {
        if (reply->cmd != GORO_MSG_JOB)
            rc = GORO_EPROTO;
        else {
            *job_out = s_job_from(reply);
            if ((*job_out)->state == GORO_JOB_QUEUED
                || (*job_out)->state == GORO_JOB_RUNNING)
                rc = GORO_ETIMEDOUT;
        }
    }
    else if (rc == GORO_OK && id_out)
        *id_out = reply->job_id;
    goro_msg_destroy(&reply);
    return rc;
}

/* The exec payload: ARGV as NUL-terminated strings. Caller frees it;
   NULL for an empty argv. */
static char *
s_argv_payload(const char *const *argv, size_t *size_out)
{
    if (!argv || !argv[0] || !*argv[0])
        return NULL;
    size_t size = 0;
    for (size_t i = 0; argv[i]; i++)
        size += strlen(argv[i]) + 1;
    char *payload = util_zalloc(size);
    char *p = payload;
    for (size_t i = 0; argv[i]; i++) {
        size_t len = strlen(argv[i]) + 1;
        memcpy(p, argv[i], len);
        p += len;
    }
    *size_out = size;
    return payload;
}

/* A block of job ids from gorod, for the submissions that follow. */
static int
s_lease(goro_t *self)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_LEASE);
    msg->lease_count = self->lease_size;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK
        && (reply->cmd != GORO_MSG_LEASED || reply->job_id == 0
            || reply->lease_count != self->lease_size))
        rc = GORO_EPROTO;
    if (rc == GORO_OK) {
        self->lease_next = reply->job_id;
        self->lease_end = reply->job_id + reply->lease_count;
        self->lease_run = reply->run_id;
        if (self->lease_size < GORO_LEASE_MAX)
            self->lease_size *= 2;
    }
    goro_msg_destroy(&reply);
    return rc;
}

/* goro_go: the first submission of a handle, and one with an
   idempotency key (whose answer may name an earlier job), wait for
   gorod's answer; later ones take an id of the handle's lease and leave
   pipelined, their errors deferred as for waitgroup calls. */
static int
s_go(goro_t *self, const char *fn, const void *data, size_t len,
     const goro_opts_t *opts, uint64_t *id_out)
{
    bool keyed = opts && opts->key && *opts->key;
    if (!self->submitted || keyed || !s_name_ok(fn) || (len && !data)
        || s_check_opts(opts)) {
        self->submitted = true;
        return s_submit(self, fn, data, len, opts, 0, id_out, NULL);
    }
    if (self->lease_next == self->lease_end) {
        if (!self->lease_size)
            self->lease_size = GORO_LEASE_FIRST;
        int rc = s_lease(self);
        if (rc == GORO_EINVAL) /* a gorod without leases */
            return s_submit(self, fn, data, len, opts, 0, id_out, NULL);
        if (rc)
            return rc;
    }
    goro_msg_t *msg = s_submit_msg(fn, data, len, opts);
    uint64_t id = self->lease_next++;
    msg->cmd = GORO_MSG_SUBMIT_LEASED;
    msg->job_id = id;
    msg->run_id = self->lease_run;
    int rc = s_pipe_send(self, &msg);
    if (rc == GORO_OK && id_out)
        *id_out = id;
    return rc;
}

int
goro_go(goro_t *self, const char *fn, const void *data, size_t len,
        const goro_opts_t *opts, uint64_t *id_out)
{
    return s_go(self, fn, data, len, opts, id_out);
}

int
goro_go_exec(goro_t *self, const char *const *argv, const goro_opts_t *opts,
             uint64_t *id_out)
{
    size_t size = 0;
    char *payload = s_argv_payload(argv, &size);
    if (!payload)
        return GORO_EINVAL;
    int rc = s_go(self, "exec", payload, size, opts, id_out);
    free(payload);
    return rc;
}

int
goro_run(goro_t *self, const char *fn, const void *data, size_t len,
         const goro_opts_t *opts, int64_t timeout_ms, goro_job_t **job_out)
{
    if (!job_out)
        return GORO_EINVAL;
    return s_submit(self, fn, data, len, opts, timeout_ms ? timeout_ms : -1,
                    NULL, job_out);
}

int
goro_run_exec(goro_t *self, const char *const *argv, const goro_opts_t *opts,
              int64_t timeout_ms, goro_job_t **job_out)
{
    size_t size = 0;
    char *payload = s_argv_payload(argv, &size);
    if (!payload || !job_out) {
        free(payload);
        return GORO_EINVAL;
    }
    int rc = goro_run(self, "exec", payload, size, opts, timeout_ms, job_out);
    free(payload);
    return rc;
}

/* Many requests with up to GORO_WINDOW in flight, so that their rate is
   not bound by round trips: MAKE(ARG, i) builds request i and TAKE(ARG,
   i, reply) reads its reply (OK, VALUE or ERROR). Returns a transport
   error, or GORO_OK once every request has its reply. */
typedef goro_msg_t *s_make_fn(void *arg, size_t i);
typedef void s_take_fn(void *arg, size_t i, goro_msg_t *reply);

static int
s_pipeline(goro_t *self, size_t count, s_make_fn *make, s_take_fn *take,
           void *arg)
{
    size_t sent = 0, answered = 0;
    uint64_t base = self->next_reqid; /* request i has id base + i */
    while (answered < count) {
        while (sent < count && sent - answered < GORO_WINDOW) {
            goro_msg_t *msg = make(arg, sent);
            self->next_reqid = base + sent;
            int rc = s_send(self, msg, -1);
            goro_msg_destroy(&msg);
            if (rc)
                return rc;
            sent++;
        }
        goro_msg_t *reply = NULL;
        int rc = s_recv(self, -1, &reply);
        if (rc)
            return rc == GORO_ETIMEDOUT ? GORO_EUNAVAILABLE : rc;
        if (reply->reqid >= base && reply->reqid < base + sent) {
            take(arg, (size_t) (reply->reqid - base), reply);
            answered++;
        }
        s_pipe_answered(self, &reply); /* or a pipelined call's answer */
    }
    self->next_reqid = base + count;
    return GORO_OK;
}

/* The code of a reply that is not the success expected. */
static int
s_reply_code(const goro_msg_t *reply)
{
    return reply->cmd == GORO_MSG_ERROR && reply->code
               ? (int) reply->code
               : GORO_EPROTO;
}

typedef struct {
    const char *fn;
    const void *const *datas;
    const size_t *lens;
    const goro_opts_t *opts;
    uint64_t *ids;
    int first_error;
} go_many_t;

static goro_msg_t *
s_go_make(void *arg, size_t i)
{
    go_many_t *m = arg;
    return s_submit_msg(m->fn, m->datas[i], m->lens[i], m->opts);
}

static void
s_go_take(void *arg, size_t i, goro_msg_t *reply)
{
    go_many_t *m = arg;
    if (reply->cmd == GORO_MSG_OK) {
        if (m->ids)
            m->ids[i] = reply->job_id;
    }
    else if (!m->first_error)
        m->first_error = s_reply_code(reply);
}

int
goro_go_many(goro_t *self, const char *fn, size_t count,
             const void *const *datas, const size_t *lens,
             const goro_opts_t *opts, uint64_t *ids_out)
{
    if (!s_name_ok(fn) || s_check_opts(opts) || (count && (!datas || !lens)))
        return GORO_EINVAL;
    for (size_t i = 0; i < count && ids_out; i++)
        ids_out[i] = 0;
    go_many_t m = {fn, datas, lens, opts, ids_out, GORO_OK};
    int rc = s_pipeline(self, count, s_go_make, s_go_take, &m);
    return rc ? rc : m.first_error;
}

static goro_job_t *
s_job_from(goro_msg_t *reply)
{
    goro_job_t *job = util_zalloc(sizeof *job);
    job->id = reply->job_id;
    job->fn = util_strdup(reply->name ? reply->name : "");
    job->state = reply->state;
    job->attempts = (int) reply->attempt;
    job->status = reply->status;
    job->runtime_ms = reply->runtime;
    job->out = reply->data;
    job->out_size = reply->size;
    reply->data = NULL;
    job->err = reply->text;
    job->err_size = reply->text_size;
    reply->text = NULL;
    return job;
}

static int
s_job_call(goro_t *self, int cmd, uint64_t id, int64_t timeout_ms,
           goro_job_t **job_out)
{
    if (job_out)
        *job_out = NULL;
    goro_msg_t *msg = goro_msg_new(cmd);
    msg->job_id = id;
    msg->timeout = timeout_ms;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK && job_out) {
        if (reply->cmd == GORO_MSG_JOB)
            *job_out = s_job_from(reply);
        else
            rc = GORO_EPROTO;
    }
    goro_msg_destroy(&reply);
    return rc;
}

int
goro_job_status(goro_t *self, uint64_t id, goro_job_t **job_out)
{
    if (!job_out)
        return GORO_EINVAL;
    return s_job_call(self, GORO_MSG_STATUS, id, 0, job_out);
}

int
goro_job_wait(goro_t *self, uint64_t id, int64_t timeout_ms,
              goro_job_t **job_out)
{
    if (!job_out)
        return GORO_EINVAL;
    return s_job_call(self, GORO_MSG_WAIT, id,
                      timeout_ms < 0 ? -1 : timeout_ms, job_out);
}

int
goro_job_cancel(goro_t *self, uint64_t id)
{
    return s_job_call(self, GORO_MSG_CANCEL, id, 0, NULL);
}

int
goro_job_retry(goro_t *self, uint64_t id)
{
    return s_job_call(self, GORO_MSG_RETRY, id, 0, NULL);
}

void
goro_job_destroy(goro_job_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->fn);
        free((*self_p)->out);
        free((*self_p)->err);
        free(*self_p);
        *self_p = NULL;
    }
}

uint64_t
goro_job_id(const goro_job_t *self)
{
    return self->id;
}

int
goro_job_state(const goro_job_t *self)
{
    return self->state;
}

const char *
goro_job_fn(const goro_job_t *self)
{
    return self->fn;
}

int
goro_job_attempts(const goro_job_t *self)
{
    return self->attempts;
}

int
goro_job_exit_status(const goro_job_t *self)
{
    return (int) self->status;
}

const void *
goro_job_output(const goro_job_t *self, size_t *len_out)
{
    if (len_out)
        *len_out = self->out_size;
    return self->out ? (const void *) self->out : "";
}

const void *
goro_job_error(const goro_job_t *self, size_t *len_out)
{
    if (len_out)
        *len_out = self->err_size;
    return self->err ? (const void *) self->err : "";
}

int64_t
goro_job_runtime_ms(const goro_job_t *self)
{
    return self->runtime_ms;
}

static int
s_list(goro_t *self, int what, int flags, char **text_out)
{
    if (!text_out)
        return GORO_EINVAL;
    *text_out = NULL;
    goro_msg_t *msg = goro_msg_new(GORO_MSG_LIST);
    msg->what = (uint8_t) what;
    msg->flags = (uint32_t) flags;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK) {
        /* util_memdup leaves a NUL after the bytes */
        *text_out = util_memdup(reply->data ? reply->data : (uint8_t *) "",
                                reply->size);
    }
    goro_msg_destroy(&reply);
    return rc;
}

int
goro_jobs_list(goro_t *self, int flags, char **text_out)
{
    return s_list(self, GORO_LIST_JOBS, flags, text_out);
}

int
goro_workers_list(goro_t *self, int flags, char **text_out)
{
    return s_list(self, GORO_LIST_WORKERS, flags, text_out);
}

int
goro_stats(goro_t *self, int flags, char **text_out)
{
    return s_list(self, GORO_LIST_STATS, flags, text_out);
}

/* ---- channels ------------------------------------------------------ */

static goro_msg_t *
s_named(int cmd, const char *name)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    goro_msg_set_name(msg, name);
    return msg;
}

int
goro_chan_make(goro_t *self, const char *name, int64_t capacity)
{
    if (!s_name_ok(name) || capacity < 0)
        return GORO_EINVAL;
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_MAKE, name);
    msg->capacity = capacity;
    return s_call_simple(self, &msg);
}

/* A send on room gorod reported goes without waiting (CHAN_PUT flag 1:
   gorod buffers it even if others took that room meanwhile); any other
   waits for its ROOM, which says how much may follow so. */
int
goro_chan_send(goro_t *self, const char *name, const void *data, size_t len,
               int64_t timeout_ms)
{
    if (!s_name_ok(name) || (len && !data))
        return GORO_EINVAL;
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_PUT, name);
    goro_msg_set_data(msg, data, len);
    msg->timeout = timeout_ms < 0 ? -1 : timeout_ms;
    if (self->put_room > 0 && strcmp(self->put_chan, name) == 0) {
        self->put_room--;
        msg->flags = 1;
        return s_pipe_send(self, &msg);
    }
    int rc = s_pipe_check(self);
    if (rc) {
        goro_msg_destroy(&msg);
        return rc;
    }
    goro_msg_t *reply = NULL;
    rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK && reply->cmd != GORO_MSG_ROOM)
        rc = GORO_EPROTO;
    /* Earlier sends were all answered before this one. */
    self->put_room = rc == GORO_OK ? reply->room : 0;
    if (!self->put_chan || strcmp(self->put_chan, name) != 0) {
        free(self->put_chan);
        self->put_chan = util_strdup(name);
    }
    goro_msg_destroy(&reply);
    return rc;
}

/* Tells gorod we took COUNT more values of delivery DELIVERY and, with
   RELEASE, that it has the rest back. */
static void
s_taken(goro_t *self, uint64_t delivery, uint32_t count, bool release)
{
    goro_msg_t *taken = goro_msg_new(GORO_MSG_CHAN_TAKEN);
    taken->delivery_id = delivery;
    taken->taken_count = count;
    taken->flags = release ? 1 : 0;
    s_notify(self, taken);
    goro_msg_destroy(&taken);
}

/* The run of receives is broken, so the next one reads ahead from 1
   again: a loop that does something else between receives would
   otherwise move 64 values out and back each time. */
static void
s_ahead_release(goro_t *self)
{
    if (!self->ahead)
        return;
    if (self->sock)
        s_taken(self, self->ahead->delivery_id, 0, true);
    goro_msg_destroy(&self->ahead);
    self->ahead_want = 1;
}

/* Whether the connection dropped since the last look: gorod may have
   restarted, with the values we hold back in its channels. */
static bool
s_disconnected(goro_t *self)
{
    bool dropped = false;
    zmq_msg_t event;
    zmq_msg_init(&event);
    while (zmq_msg_recv(&event, self->monitor, ZMQ_DONTWAIT) >= 0)
        dropped = true;
    zmq_msg_close(&event);
    return dropped;
}

/* Watches the socket's disconnections, once, before values are held. */
static void
s_watch(goro_t *self)
{
    static atomic_uint s_monitors;
    if (self->monitor || !self->sock)
        return;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://goro-monitor-%u",
             atomic_fetch_add(&s_monitors, 1));
    if (zmq_socket_monitor(self->sock, endpoint, ZMQ_EVENT_DISCONNECTED) != 0)
        return;
    self->monitor = zmq_socket(zsys_init(), ZMQ_PAIR);
    int linger = 0;
    if (self->monitor)
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger);
    if (self->monitor && zmq_connect(self->monitor, endpoint) != 0) {
        zmq_close(self->monitor);
        self->monitor = NULL;
    }
}

/* Value I of VALUES (a VALUES reply) is the caller's now, and gorod is
   told it was taken. */
static void
s_hand_out(goro_t *self, goro_msg_t *values, size_t i, void **data_out,
           size_t *len_out)
{
    goro_msg_value_t *v = &values->values[i];
    *data_out = v->data ? v->data : util_zalloc(1);
    *len_out = v->size;
    v->data = NULL;
    s_taken(self, values->delivery_id, 1, false);
}

/* The next value read ahead from NAME, if we hold one we may hand out:
   still fresh at gorod, on the same connection. */
static bool
s_ahead_take(goro_t *self, const char *name, void **data_out, size_t *len_out)
{
    if (!self->ahead)
        return false;
    if (strcmp(self->ahead_chan, name) != 0
        || util_now() - self->sent_at >= GORO_AHEAD_FRESH_MS) {
        s_ahead_release(self);
        return false;
    }
    if (!self->monitor || s_disconnected(self)) {
        goro_msg_destroy(&self->ahead); /* not ours any more */
        return false;
    }
    s_hand_out(self, self->ahead, self->ahead_next++, data_out, len_out);
    if (self->ahead_next == self->ahead->nvalues)
        goro_msg_destroy(&self->ahead);
    return true;
}

/* A receive reads ahead (CHAN_RECV_AHEAD): the values that come with the
   one it returns are held, still the channel's at gorod, and handed out
   by the next receives from the same channel, each taken with a
   CHAN_TAKEN and no round trip. */
int
goro_chan_recv(goro_t *self, const char *name, int64_t timeout_ms,
               void **data_out, size_t *len_out)
{
    if (!s_name_ok(name) || !data_out)
        return GORO_EINVAL;
    *data_out = NULL;
    size_t len = 0;
    if (s_ahead_take(self, name, data_out, &len)) {
        if (len_out)
            *len_out = len;
        return GORO_OK;
    }
    if (len_out)
        *len_out = 0;
    bool again = self->ahead_chan && strcmp(self->ahead_chan, name) == 0;
    if (!again) {
        free(self->ahead_chan);
        self->ahead_chan = util_strdup(name);
        self->ahead_want = 1;
    }
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_RECV_AHEAD, name);
    msg->recv_max = self->ahead_want;
    msg->timeout = timeout_ms < 0 ? -1 : timeout_ms;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK && self->ahead_want < GORO_AHEAD_MAX)
        self->ahead_want *= 2;
    if (rc == GORO_OK) {
        if (reply->cmd != GORO_MSG_VALUES || reply->nvalues > GORO_AHEAD_MAX
            || (reply->nvalues == 0) == !(reply->flags & 1))
            rc = GORO_EPROTO;
        else if (reply->flags & 1)
            rc = GORO_ECLOSED;
    }
    if (rc == GORO_OK) {
        s_hand_out(self, reply, 0, data_out, &len);
        if (len_out)
            *len_out = len;
        if (reply->nvalues > 1) {
            s_watch(self);
            self->ahead = reply;
            self->ahead_next = 1;
            reply = NULL;
        }
    }
    goro_msg_destroy(&reply);
    return rc;
}

int
goro_chan_close(goro_t *self, const char *name)
{
    if (!s_name_ok(name))
        return GORO_EINVAL;
    /* Our own sends after our close hear of it at once: it settles the
       room we held. Those of others learn it from their next call. */
    if (self->put_chan && strcmp(self->put_chan, name) == 0)
        self->put_room = 0;
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_CLOSE, name);
    return s_call_simple(self, &msg);
}

/* One CHAN_SEND_MANY: the values from FIRST on that fit in a frame of
   BUDGET bytes (at least one), borrowed, not copied. *SENT_OUT gets how
   many gorod took; the code says why not all. */
static int
s_send_batch(goro_t *self, const char *name, size_t count,
             const void *const *datas, const size_t *lens, size_t first,
             size_t budget, int64_t deadline, size_t *n_out, size_t *sent_out)
{
    size_t n = 0, bytes = 0;
    while (first + n < count && n < GORO_MSG_LIST_MAX
           && (n == 0 || bytes + lens[first + n] <= budget))
        bytes += lens[first + n++];
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_SEND_MANY, name);
    msg->timeout = util_remaining(deadline);
    msg->values = util_zalloc(sizeof *msg->values * n);
    msg->nvalues = n;
    for (size_t i = 0; i < n; i++) {
        msg->values[i].data = (uint8_t *) datas[first + i];
        msg->values[i].size = lens[first + i];
    }
    goro_msg_t *reply = NULL;
    int rc = s_request(self, msg, -1, &reply);
    msg->nvalues = 0; /* the values are the caller's */
    goro_msg_destroy(&msg);
    *n_out = n;
    *sent_out = 0;
    if (rc == GORO_OK) {
        if (reply->cmd != GORO_MSG_SENT || reply->sent_count > n)
            rc = GORO_EPROTO;
        else {
            *sent_out = reply->sent_count;
            rc = (int) reply->code;
        }
    }
    goro_msg_destroy(&reply);
    return rc;
}

int
goro_chan_send_many(goro_t *self, const char *name, size_t count,
                    const void *const *datas, const size_t *lens,
                    int64_t timeout_ms, size_t *sent_out)
{
    if (sent_out)
        *sent_out = 0;
    if (!s_name_ok(name) || (count && (!datas || !lens)))
        return GORO_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (lens[i] && !datas[i])
            return GORO_EINVAL;
    int64_t deadline = util_deadline(timeout_ms < 0 ? -1 : timeout_ms);
    size_t sent = 0, budget = GORO_BATCH_BYTES;
    int rc = GORO_OK;
    /* One frame at a time: a frame gorod could not take whole has its
       rest parked in order, so the next must not overtake it. */
    while (rc == GORO_OK && sent < count) {
        size_t n, took;
        rc = s_send_batch(self, name, count, datas, lens, sent, budget,
                          deadline, &n, &took);
        sent += took;
        if (rc == GORO_ETOOBIG && n > 1) {
            budget /= 2; /* nothing was taken: retry smaller */
            rc = GORO_OK;
        }
    }
    if (sent_out)
        *sent_out = sent;
    return rc;
}

int
goro_chan_recv_many(goro_t *self, const char *name, size_t max,
                    int64_t timeout_ms, void **datas_out, size_t *lens_out,
                    size_t *got_out)
{
    if (got_out)
        *got_out = 0;
    if (!s_name_ok(name) || (max && (!datas_out || !lens_out)) || !got_out)
        return GORO_EINVAL;
    if (max == 0)
        return GORO_OK;
    goro_msg_t *msg = s_named(GORO_MSG_CHAN_RECV_MANY, name);
    msg->recv_max = max < GORO_MSG_LIST_MAX ? (uint32_t) max
                                            : GORO_MSG_LIST_MAX;
    msg->timeout = timeout_ms < 0 ? -1 : timeout_ms;
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK) {
        s_ack(self, reply);
        if (reply->cmd != GORO_MSG_VALUES || reply->nvalues > max
            || (reply->nvalues == 0) == !(reply->flags & 1))
            rc = GORO_EPROTO;
        else if (reply->flags & 1)
            rc = GORO_ECLOSED;
        for (size_t i = 0; rc == GORO_OK && i < reply->nvalues; i++) {
            goro_msg_value_t *v = &reply->values[i];
            datas_out[i] = v->data ? v->data : util_zalloc(1);
            lens_out[i] = v->size;
            v->data = NULL;
        }
        if (rc == GORO_OK)
            *got_out = reply->nvalues;
    }
    goro_msg_destroy(&reply);
    return rc;
}

int
goro_select(goro_t *self, goro_case_t *cases, size_t count, int64_t timeout_ms,
            size_t *fired)
{
    if (!cases || count == 0 || count > GORO_MSG_LIST_MAX || !fired)
        return GORO_EINVAL;
    goro_msg_t *msg = goro_msg_new(GORO_MSG_SELECT);
    msg->cases = util_zalloc(sizeof *msg->cases * count);
    msg->ncases = count;
    msg->timeout = timeout_ms < 0 ? -1 : timeout_ms;
    for (size_t i = 0; i < count; i++) {
        goro_case_t *c = &cases[i];
        if ((c->op != GORO_CASE_RECV && c->op != GORO_CASE_SEND)
            || !s_name_ok(c->chan)
            || (c->op == GORO_CASE_SEND && c->len && !c->data)) {
            goro_msg_destroy(&msg);
            return GORO_EINVAL;
        }
        msg->cases[i].op = (uint8_t) c->op;
        msg->cases[i].chan = util_strdup(c->chan);
        if (c->op == GORO_CASE_SEND) {
            msg->cases[i].data = util_memdup(c->data, c->len);
            msg->cases[i].size = c->len;
        }
    }
    goro_msg_t *reply = NULL;
    int rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK) {
        s_ack(self, reply);
        if (reply->cmd != GORO_MSG_VALUE || reply->index >= count)
            rc = GORO_EPROTO;
        else {
            goro_case_t *c = &cases[reply->index];
            *fired = reply->index;
            if (c->op == GORO_CASE_SEND && (reply->flags & 1))
                rc = GORO_ECLOSED;
            else if (c->op == GORO_CASE_RECV) {
                c->closed = (reply->flags & 1) != 0;
                c->data = NULL;
                c->len = 0;
                if (!c->closed) {
                    c->data = reply->data ? reply->data : util_zalloc(1);
                    c->len = reply->size;
                    reply->data = NULL;
                }
            }
        }
    }
    goro_msg_destroy(&reply);
    return rc;
}

/* ---- waitgroups ---------------------------------------------------- */

int
goro_wg_add(goro_t *self, const char *name, int64_t delta)
{
    if (!s_name_ok(name))
        return GORO_EINVAL;
    goro_msg_t *msg = s_named(GORO_MSG_WG_ADD, name);
    msg->delta = delta;
    return s_pipe_send(self, &msg);
}

int
goro_wg_done(goro_t *self, const char *name)
{
    return goro_wg_add(self, name, -1);
}

int
goro_wg_wait(goro_t *self, const char *name, int64_t timeout_ms)
{
    if (!s_name_ok(name))
        return GORO_EINVAL;
    int rc = s_pipe_check(self);
    if (rc)
        return rc;
    goro_msg_t *msg = s_named(GORO_MSG_WG_WAIT, name);
    msg->timeout = timeout_ms < 0 ? -1 : timeout_ms;
    rc = s_call_simple(self, &msg);
    /* Its answer came after those of the adds before it. */
    int earlier = s_pipe_check(self);
    return earlier ? earlier : rc;
}

int
goro_wg_status(goro_t *self, const char *name, goro_wg_info_t *info_out)
{
    if (!s_name_ok(name) || !info_out)
        return GORO_EINVAL;
    int rc = s_pipe_check(self);
    if (rc)
        return rc;
    goro_msg_t *msg = s_named(GORO_MSG_WG_STATUS, name);
    goro_msg_t *reply = NULL;
    rc = s_call(self, &msg, &reply);
    if (rc == GORO_OK)
        rc = s_pipe_check(self);
    if (rc == GORO_OK) {
        if (reply->cmd != GORO_MSG_WG_INFO)
            rc = GORO_EPROTO;
        else {
            info_out->counter = reply->counter;
            info_out->added = reply->added;
            info_out->done = reply->done;
            info_out->succeeded = reply->succeeded;
            info_out->failed = reply->failed;
        }
    }
    goro_msg_destroy(&reply);
    return rc;
}
