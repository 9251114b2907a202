/*  test_hostile - a real gorod under hostile input on both endpoints
    while a good client keeps using it.

    A thread throws at the clients and the workers endpoint, for about
    T_HOSTILE_MS, from several raw libzmq DEALER sockets and from plain
    TCP sockets:

        random          random bytes
        random_header   a sound header (signature, version) with a random
                        command and random fields
        truncated       a valid frame of a command cut short
        mutated         a valid frame with a few bytes changed
        huge_size       declared sizes far past the frame: string length
                        0xFFFFFFFF, list, case and value counts
                        0xFFFFFFFF, 1025
        multiframe      messages of two to five frames
        empty           frames of zero bytes
        bad_signature   valid frames with a wrong signature
        bad_version     valid frames with a wrong version
        unknown_cmd     commands the codec does not know
        journal_cmd     journal records (J_*, 40..53) sent over the wire
        wrong_role      worker commands to the clients endpoint and client
                        commands to the workers endpoint
        ready_flood     READY from many DEALERs, again and again, and from
                        short-lived connections
        too_big_value   a valid frame whose value exceeds
                        limits.max_message, or a CHAN_SEND_MANY whose
                        values do together (must get GORO_ETOOBIG back)
        oversized_frame a frame above gorod's ZMQ_MAXMSGSIZE (libzmq drops
                        the connection)
        tcp_garbage     raw non-ZMTP bytes over a plain TCP connection,
                        then close (half of them with a reset)
        tcp_half_open   a partial ZMTP greeting, then nothing: held open
                        to the end of the run
        zmtp_bad        a ZMTP handshake gone wrong: wrong mechanism or
                        version, wrong socket type, a frame declaring 2^64
                        bytes, bad flags, a message never finished

    Meanwhile the main thread is a good client (libgoro): pings, exec jobs
    run to the end by the pool's worker, values through a channel. Every
    one of its calls must succeed; gorod must still be alive afterwards
    and exit 0 on SIGTERM (under ASan: no leaks). A MEASURE line says how
    many hostile inputs of each kind were sent. GORO_HOSTILE_SEED repeats
    a run's random choices (the seed is printed).

    Two more tests hold on to what gorod gives every peer:
    test_stalled_handshakes_dropped squeezes gorod's descriptors (prlimit)
    and stalls connections in the ZMTP greeting: gorod logs that it
    refuses connections and drops the stalled ones after
    limits.handshake_timeout. test_mid_frame_peers_dropped has 200 peers
    finish the handshake and send all but the last byte of a frame as
    large as gorod accepts: ZMTP heartbeats drop them, and gorod's RSS
    comes back (MEASURE line).

    Frames that once triggered bugs (now fixed) are sent like any other:
    WG_ADD deltas that overflow a waitgroup's added/done sums (wg.c
    s_add refuses them with GORO_EINVAL) and WG_WAIT / WAIT parked with a
    timeout at shutdown (server.c cancels their deadlines).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"
#include "goro_msg.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif

#define T_HOSTILE_MS 10000  /* how long the hostile thread throws */
#define T_DEALERS 6         /* raw DEALERs per endpoint */
#define T_HALF_OPEN_MAX 40  /* stalled connections held per endpoint */
#define T_OP_MS 15000       /* bound of one good-client call */
#define T_MAX_MESSAGE 65536 /* limits.max_message, jobs.exec.max_output */
/* gorod's ZMQ_MAXMSGSIZE is 2 x 64 KiB + 16 KiB of slack: this is well
   above it. */
#define T_OVERSIZED (2 * 1024 * 1024)
#define T_MIN_GOOD_JOBS 10 /* the good client got real work done */

#define T_CONFIG \
    "pools: [ { name: default, processes: 1 } ]\n" \
    "heartbeat: { interval: 500ms, liveness: 6 }\n" \
    "jobs: { shutdown_grace: 1s, exec: { max_output: 64KiB } }\n" \
    "limits: { max_message: 64KiB }\n" \
    "log: { level: warn }\n"

enum { EP_CLIENTS, EP_WORKERS, EP_COUNT };

typedef enum {
    K_RANDOM,
    K_RANDOM_HEADER,
    K_TRUNCATED,
    K_MUTATED,
    K_HUGE_SIZE,
    K_MULTIFRAME,
    K_EMPTY,
    K_BAD_SIGNATURE,
    K_BAD_VERSION,
    K_UNKNOWN_CMD,
    K_JOURNAL_CMD,
    K_WRONG_ROLE,
    K_READY_FLOOD,
    K_TOO_BIG_VALUE,
    K_OVERSIZED_FRAME,
    K_TCP_GARBAGE,
    K_TCP_HALF_OPEN,
    K_ZMTP_BAD,
    K_COUNT
} kind_t;

static const char *const s_kind_names[K_COUNT] = {
    "random",        "random_header", "truncated",       "mutated",
    "huge_size",     "multiframe",    "empty",           "bad_signature",
    "bad_version",   "unknown_cmd",   "journal_cmd",     "wrong_role",
    "ready_flood",   "too_big_value", "oversized_frame", "tcp_garbage",
    "tcp_half_open", "zmtp_bad",
};

/* ------------------------------------------------------------------ */
/*  Frames                                                            */
/* ------------------------------------------------------------------ */

/* The hostile thread cannot use cmocka's asserts (they longjmp into the
   main thread's test); a broken invariant of the test itself aborts. */
#define T_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "test_hostile: %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond); \
            abort(); \
        } \
    } while (0)

typedef struct {
    uint8_t *data;
    size_t size;
} frame_t;

#define T_TEMPLATES 32

typedef struct {
    frame_t items[T_TEMPLATES];
    size_t count;
} templates_t;

static void
s_add(templates_t *t, goro_msg_t *msg)
{
    assert_true(t->count < T_TEMPLATES);
    frame_t *f = &t->items[t->count++];
    assert_int_equal(goro_msg_encode(msg, &f->data, &f->size), GORO_OK);
    goro_msg_destroy(&msg);
}

static goro_msg_t *
s_msg(int cmd, uint64_t reqid)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    msg->reqid = reqid;
    return msg;
}

/* Ids far above any job the good client gets, so that no hostile CANCEL
   or RETRY (nor a mutation of one) can touch its jobs. */
#define T_BOGUS_ID 0xFFFFFFF0000000A1ULL

/* Requests of the clients endpoint. None can harm the good client: the
   names are the hostile ones, the ids bogus, the timeouts zero. */
static void
s_client_templates(templates_t *t)
{
    goro_msg_t *m;
    s_add(t, s_msg(GORO_MSG_PING, 1));
    m = s_msg(GORO_MSG_SUBMIT, 2);
    goro_msg_set_name(m, "hostile-fn");
    goro_msg_set_data(m, "payload", 7);
    goro_msg_set_str(&m->key, "hostile-key");
    m->max_attempts = 1;
    s_add(t, m);
    m = s_msg(GORO_MSG_STATUS, 3);
    m->job_id = T_BOGUS_ID;
    s_add(t, m);
    m = s_msg(GORO_MSG_WAIT, 4);
    m->job_id = T_BOGUS_ID;
    s_add(t, m);
    m = s_msg(GORO_MSG_CANCEL, 5);
    m->job_id = T_BOGUS_ID;
    s_add(t, m);
    m = s_msg(GORO_MSG_RETRY, 6);
    m->job_id = T_BOGUS_ID;
    s_add(t, m);
    m = s_msg(GORO_MSG_LIST, 7);
    m->what = GORO_LIST_STATS;
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_MAKE, 8);
    goro_msg_set_name(m, "hostile-chan");
    m->capacity = 2;
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_SEND, 9);
    goro_msg_set_name(m, "hostile-chan");
    goro_msg_set_data(m, "v", 1);
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_RECV, 10);
    goro_msg_set_name(m, "hostile-chan");
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_CLOSE, 11);
    goro_msg_set_name(m, "hostile-other");
    s_add(t, m);
    m = s_msg(GORO_MSG_SELECT, 12);
    m->cases = calloc(2, sizeof *m->cases);
    m->ncases = 2;
    m->cases[0].op = GORO_CASE_RECV;
    m->cases[0].chan = strdup("hostile-chan");
    m->cases[1].op = GORO_CASE_SEND;
    m->cases[1].chan = strdup("hostile-chan");
    m->cases[1].data = (uint8_t *) strdup("w");
    m->cases[1].size = 1;
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_SEND_MANY, 54);
    goro_msg_set_name(m, "hostile-chan");
    m->values = calloc(3, sizeof *m->values);
    m->nvalues = 3;
    for (size_t i = 0; i < m->nvalues; i++) {
        m->values[i].data = (uint8_t *) strdup("x");
        m->values[i].size = 1;
    }
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_RECV_MANY, 55);
    goro_msg_set_name(m, "hostile-chan");
    m->recv_max = 0xFFFFFFFFu;
    s_add(t, m);
    m = s_msg(GORO_MSG_CHAN_RECV_MANY, 55); /* none wanted: EINVAL */
    goro_msg_set_name(m, "hostile-chan");
    s_add(t, m);
    m = s_msg(GORO_MSG_WG_ADD, 13);
    goro_msg_set_name(m, "hostile-wg");
    m->delta = 1;
    s_add(t, m);
    m = s_msg(GORO_MSG_WG_WAIT, 14);
    goro_msg_set_name(m, "hostile-wg");
    s_add(t, m);
    m = s_msg(GORO_MSG_WG_STATUS, 15);
    goro_msg_set_name(m, "hostile-wg");
    s_add(t, m);
    s_add(t, s_msg(GORO_MSG_HEARTBEAT, 16));
    m = s_msg(GORO_MSG_ACK, 18);
    m->delivery_id = T_BOGUS_ID;
    s_add(t, m);
    s_add(t, s_msg(GORO_MSG_DISCONNECT, 17));
}

/* What a worker sends. The functions are hostile ones: no exec job of
   the good client is ever dispatched to a fake worker. */
static void
s_worker_templates(templates_t *t)
{
    goro_msg_t *m = s_msg(GORO_MSG_READY, 0);
    goro_msg_set_name(m, "hostile-worker");
    m->pid = 1;
    m->worker_capacity = 2;
    m->strs = calloc(2, sizeof *m->strs);
    m->strs[0] = strdup("hostile-fn");
    m->strs[1] = strdup("hostile-other");
    m->nstrs = 2;
    s_add(t, m);
    s_add(t, s_msg(GORO_MSG_HEARTBEAT, 0));
    m = s_msg(GORO_MSG_DONE, 0);
    m->job_id = T_BOGUS_ID;
    m->attempt = 1;
    goro_msg_set_data(m, "out", 3);
    goro_msg_set_text(m, "err", 3);
    s_add(t, m);
    m = s_msg(GORO_MSG_CLAIM, 0);
    m->job_id = T_BOGUS_ID;
    m->attempt = 1;
    s_add(t, m);
    s_add(t, s_msg(GORO_MSG_DISCONNECT, 0));
}

/* One of each journal record, every field set. */
static void
s_journal_templates(templates_t *t)
{
    for (int cmd = GORO_MSG_J_SUBMIT; cmd <= GORO_MSG_J_COMMIT; cmd++) {
        goro_msg_t *m = s_msg(cmd, (uint64_t) cmd);
        m->job_id = T_BOGUS_ID;
        m->value_seq = T_BOGUS_ID;
        m->attempt = 1;
        m->state = GORO_JOB_SUCCEEDED;
        goro_msg_set_name(m, "hostile-fn");
        goro_msg_set_data(m, "data", 4);
        goro_msg_set_text(m, "text", 4);
        s_add(t, m);
    }
}

static void
s_templates_clear(templates_t *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].data);
    t->count = 0;
}

/* Big-endian writes into a buffer being built. */
typedef struct {
    uint8_t buf[8192];
    size_t used;
} builder_t;

static void
s_put(builder_t *b, const void *data, size_t size)
{
    T_CHECK(b->used + size <= sizeof b->buf);
    memcpy(b->buf + b->used, data, size);
    b->used += size;
}

static void
s_put_uint(builder_t *b, uint64_t value, int bytes)
{
    uint8_t out[8];
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (uint8_t) value;
        value >>= 8;
    }
    s_put(b, out, (size_t) bytes);
}

static void
s_put_header(builder_t *b, int cmd, uint64_t reqid)
{
    s_put_uint(b, GORO_MSG_SIGNATURE, 2);
    s_put_uint(b, GORO_MSG_VERSION, 1);
    s_put_uint(b, (uint64_t) cmd, 1);
    s_put_uint(b, reqid, 8);
}

static void
s_put_str(builder_t *b, const char *text)
{
    s_put_uint(b, strlen(text), 1);
    s_put(b, text, strlen(text));
}

#define T_HUGE_VARIANTS 13

/* Frames whose declared sizes lie: variant N of T_HUGE_VARIANTS. */
static void
s_huge(builder_t *b, int variant)
{
    b->used = 0;
    switch (variant) {
        case 0: /* SUBMIT: payload of 0xFFFFFFFF bytes */
            s_put_header(b, GORO_MSG_SUBMIT, 100);
            s_put_str(b, "hostile-fn");
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put(b, "12345678", 8);
            break;
        case 1: /* CHAN_SEND: value of 0xFFFFFFFE bytes */
            s_put_header(b, GORO_MSG_CHAN_SEND, 101);
            s_put_str(b, "hostile-chan");
            s_put_uint(b, 0xFFFFFFFEu, 4);
            s_put_uint(b, 0, 8);
            break;
        case 2: /* READY: 0xFFFFFFFF functions */
            s_put_header(b, GORO_MSG_READY, 102);
            s_put_str(b, "hostile-worker");
            s_put_uint(b, 1, 4);
            s_put_uint(b, 1, 4);
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put_str(b, "x");
            break;
        case 3: /* READY: 1025 functions, one over the limit */
            s_put_header(b, GORO_MSG_READY, 103);
            s_put_str(b, "hostile-worker");
            s_put_uint(b, 1, 4);
            s_put_uint(b, 1, 4);
            s_put_uint(b, 1025, 4);
            for (int i = 0; i < 1025; i++)
                s_put_str(b, "f");
            break;
        case 4: /* SELECT: 0xFFFFFFFF cases */
            s_put_header(b, GORO_MSG_SELECT, 104);
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put_uint(b, GORO_CASE_RECV, 1);
            s_put_str(b, "hostile-chan");
            s_put_uint(b, 0, 4);
            s_put_uint(b, 0, 8);
            break;
        case 5: /* SELECT: 1024 cases, each a value of 2^32-1 */
            s_put_header(b, GORO_MSG_SELECT, 105);
            s_put_uint(b, 1024, 4);
            for (int i = 0; i < 1024; i++) {
                s_put_uint(b, GORO_CASE_SEND, 1);
                s_put_uint(b, 0, 1);
                s_put_uint(b, i == 0 ? 0xFFFFFFFFu : 0, 4);
            }
            s_put_uint(b, 0, 8);
            break;
        case 6: /* DONE: output of 0xFFFFFFFF bytes */
            s_put_header(b, GORO_MSG_DONE, 106);
            s_put_uint(b, T_BOGUS_ID, 8);
            s_put_uint(b, 1, 4);
            s_put_uint(b, 0, 8);
            s_put_uint(b, 0, 8);
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put(b, "out", 3);
            break;
        case 7: /* a name of 255 bytes with 3 present */
            s_put_header(b, GORO_MSG_CHAN_MAKE, 107);
            s_put_uint(b, 255, 1);
            s_put(b, "abc", 3);
            break;
        case 8: /* JOB (daemon -> client) with a text of 2^31 */
            s_put_header(b, GORO_MSG_JOB, 108);
            s_put_uint(b, T_BOGUS_ID, 8);
            s_put_str(b, "f");
            s_put_uint(b, 3, 1);
            s_put_uint(b, 1, 4);
            s_put_uint(b, 0, 8);
            s_put_uint(b, 0, 8);
            s_put_uint(b, 0, 4);
            s_put_uint(b, 0x80000000u, 4);
            break;
        case 9: /* ERROR (daemon -> client) of 0xFFFFFFFF bytes */
            s_put_header(b, GORO_MSG_ERROR, 109);
            s_put_uint(b, GORO_EINVAL, 4);
            s_put_uint(b, 0xFFFFFFFFu, 4);
            break;
        case 10: /* CHAN_SEND_MANY: 0xFFFFFFFF values */
            s_put_header(b, GORO_MSG_CHAN_SEND_MANY, 111);
            s_put_str(b, "hostile-chan");
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put_uint(b, 1, 4);
            s_put(b, "v", 1);
            s_put_uint(b, 0, 8);
            break;
        case 11: /* CHAN_SEND_MANY: 1025 empty values */
            s_put_header(b, GORO_MSG_CHAN_SEND_MANY, 112);
            s_put_str(b, "hostile-chan");
            s_put_uint(b, 1025, 4);
            for (int i = 0; i < 1025; i++)
                s_put_uint(b, 0, 4);
            s_put_uint(b, 0, 8);
            break;
        default: /* READY: 0x7FFFFFFF functions of 255 bytes */
            s_put_header(b, GORO_MSG_READY, 110);
            s_put_str(b, "hostile-worker");
            s_put_uint(b, 1, 4);
            s_put_uint(b, 0xFFFFFFFFu, 4);
            s_put_uint(b, 0x7FFFFFFFu, 4);
            s_put_uint(b, 255, 1);
            break;
    }
}

/* ------------------------------------------------------------------ */
/*  The hostile thread                                                */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *endpoint[EP_COUNT];
    int port[EP_COUNT];
    void *ctx;
    void *dealers[EP_COUNT][T_DEALERS];
    int half_open[EP_COUNT][T_HALF_OPEN_MAX];
    size_t half_next[EP_COUNT];
    templates_t role[EP_COUNT]; /* the endpoint's own commands */
    templates_t journal;
    uint64_t rng;
    int64_t run_ms;
    uint64_t sent[K_COUNT][EP_COUNT];
    uint64_t refused_locally; /* a DEALER's queue was full */
    uint64_t replies, replies_error, replies_toobig, replies_disconnect,
        replies_welcome, replies_dispatch;
    uint64_t tcp_connect_failed;
    atomic_int done;
    char problem[256]; /* the thread's own failure, if any */
} hostile_t;

static uint64_t
s_rand(hostile_t *x)
{
    x->rng ^= x->rng >> 12;
    x->rng ^= x->rng << 25;
    x->rng ^= x->rng >> 27;
    return x->rng * 2685821657736338717ULL;
}

static size_t
s_below(hostile_t *x, size_t n)
{
    return n ? (size_t) (s_rand(x) % n) : 0;
}

static void
s_fill_random(hostile_t *x, uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t) s_rand(x);
}

static void
s_problem(hostile_t *x, const char *what)
{
    if (!x->problem[0])
        snprintf(x->problem, sizeof x->problem, "%s: %s", what,
                 strerror(errno));
}

/* A DEALER to endpoint EP. A BRIEF one is closed right after its one
   send: it lingers until that went out (or T_BRIEF_LINGER_MS passed). */
#define T_BRIEF_LINGER_MS 2000

static void *
s_dealer(hostile_t *x, int ep, bool brief)
{
    void *sock = zmq_socket(x->ctx, ZMQ_DEALER);
    if (!sock) {
        s_problem(x, "zmq_socket");
        return NULL;
    }
    int linger = brief ? T_BRIEF_LINGER_MS : 0, hwm = 10000, ms = 100;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ms, sizeof ms);
    if (zmq_connect(sock, x->endpoint[ep]) != 0) {
        s_problem(x, "zmq_connect");
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void *
s_any_dealer(hostile_t *x, int ep)
{
    return x->dealers[ep][s_below(x, T_DEALERS)];
}

/* Sends NPARTS frames as one message; counts it under KIND if it left. */
static void
s_send_parts(hostile_t *x, void *sock, int ep, kind_t kind,
             const frame_t *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < nparts ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, parts[i].data, parts[i].size, flags) < 0) {
            /* The first part never blocks half-way; a later one cannot
               fail once the first went (ZeroMQ queues atomically). */
            x->refused_locally++;
            return;
        }
    }
    x->sent[kind][ep]++;
}

static void
s_send(hostile_t *x, void *sock, int ep, kind_t kind, const void *data,
       size_t size)
{
    frame_t one = {(uint8_t *) data, size};
    s_send_parts(x, sock, ep, kind, &one, 1);
}

static const frame_t *
s_pick(hostile_t *x, const templates_t *t)
{
    return &t->items[s_below(x, t->count)];
}

static void
s_random_kinds(hostile_t *x, int ep)
{
    uint8_t buf[1024];
    /* random bytes */
    for (int i = 0; i < 4; i++) {
        size_t size = 1 + s_below(x, 300);
        s_fill_random(x, buf, size);
        s_send(x, s_any_dealer(x, ep), ep, K_RANDOM, buf, size);
    }
    /* a sound header, then anything */
    for (int i = 0; i < 3; i++) {
        size_t size = GORO_MSG_HEADER + s_below(x, 200);
        s_fill_random(x, buf, size);
        buf[0] = GORO_MSG_SIGNATURE >> 8;
        buf[1] = GORO_MSG_SIGNATURE & 0xff;
        buf[2] = GORO_MSG_VERSION;
        buf[3] = (uint8_t) (1 + s_below(x, GORO_MSG_CMD_MAX - 1));
        s_send(x, s_any_dealer(x, ep), ep, K_RANDOM_HEADER, buf, size);
    }
    /* truncated: a valid frame cut anywhere before its end */
    for (int i = 0; i < 4; i++) {
        const frame_t *f = s_pick(x, &x->role[ep]);
        size_t cut = s_below(x, f->size);
        s_send(x, s_any_dealer(x, ep), ep, K_TRUNCATED, f->data, cut);
    }
    /* mutated: up to four bytes of a valid frame changed */
    for (int i = 0; i < 4; i++) {
        const frame_t *f = s_pick(x, &x->role[ep]);
        T_CHECK(f->size <= sizeof buf);
        memcpy(buf, f->data, f->size);
        /* The command byte and what follows: signature and version are
           bad_signature's and bad_version's. */
        int n = 1 + (int) s_below(x, 4);
        for (int k = 0; k < n; k++)
            buf[3 + s_below(x, f->size - 3)] = (uint8_t) s_rand(x);
        s_send(x, s_any_dealer(x, ep), ep, K_MUTATED, buf, f->size);
    }
}

static void
s_structural_kinds(hostile_t *x, int ep, uint64_t round)
{
    uint8_t buf[256];
    builder_t *b = malloc(sizeof *b);
    T_CHECK(b);
    /* lying sizes */
    s_huge(b, (int) (round % T_HUGE_VARIANTS));
    s_send(x, s_any_dealer(x, ep), ep, K_HUGE_SIZE, b->buf, b->used);
    free(b);
    /* two to five frames, the first a valid one */
    frame_t parts[5];
    size_t nparts = 2 + s_below(x, 4);
    parts[0] = *s_pick(x, &x->role[ep]);
    for (size_t i = 1; i < nparts; i++)
        parts[i] = *s_pick(x, &x->role[s_below(x, EP_COUNT)]);
    if (round % 3 == 0)
        parts[nparts - 1].size = 0;
    s_send_parts(x, s_any_dealer(x, ep), ep, K_MULTIFRAME, parts, nparts);
    /* nothing at all */
    s_send(x, s_any_dealer(x, ep), ep, K_EMPTY, "", 0);
    /* wrong signature, wrong version */
    const frame_t *f = s_pick(x, &x->role[ep]);
    size_t size = f->size < sizeof buf ? f->size : sizeof buf;
    memcpy(buf, f->data, size);
    buf[s_below(x, 2)] ^= (uint8_t) (1 + s_below(x, 255));
    s_send(x, s_any_dealer(x, ep), ep, K_BAD_SIGNATURE, buf, size);
    memcpy(buf, f->data, size);
    static const uint8_t versions[] = {0, 2, 3, 0x7f, 0xff};
    buf[2] = versions[s_below(x, sizeof versions)];
    s_send(x, s_any_dealer(x, ep), ep, K_BAD_VERSION, buf, size);
    /* commands the codec does not know */
    static const uint8_t unknown[] = {0,  19, 25, 26, 27, 28,  29,  35,  36,
                                      37, 38, 39, 58, 99, 127, 128, 200, 255};
    size = GORO_MSG_HEADER + s_below(x, 40);
    s_fill_random(x, buf, size);
    buf[0] = GORO_MSG_SIGNATURE >> 8;
    buf[1] = GORO_MSG_SIGNATURE & 0xff;
    buf[2] = GORO_MSG_VERSION;
    buf[3] = unknown[s_below(x, sizeof unknown)];
    s_send(x, s_any_dealer(x, ep), ep, K_UNKNOWN_CMD, buf, size);
    /* journal records */
    f = s_pick(x, &x->journal);
    s_send(x, s_any_dealer(x, ep), ep, K_JOURNAL_CMD, f->data, f->size);
    /* the other endpoint's commands */
    f = s_pick(x, &x->role[ep == EP_CLIENTS ? EP_WORKERS : EP_CLIENTS]);
    s_send(x, s_any_dealer(x, ep), ep, K_WRONG_ROLE, f->data, f->size);
}

/* READY on every DEALER of endpoint EP, and from a connection that goes
   away at once. On the workers endpoint each one registers (again) a
   worker that will never answer; on the clients endpoint it is a request
   gorod does not serve. */
static void
s_ready_flood(hostile_t *x, int ep)
{
    const frame_t *ready = &x->role[EP_WORKERS].items[0];
    for (int i = 0; i < T_DEALERS; i++)
        s_send(x, x->dealers[ep][i], ep, K_READY_FLOOD, ready->data,
               ready->size);
    void *brief = s_dealer(x, ep, true);
    if (brief) {
        s_send(x, brief, ep, K_READY_FLOOD, ready->data, ready->size);
        zmq_close(brief);
    }
}

/* A valid request whose value is over limits.max_message but under the
   frame limit: gorod must answer GORO_ETOOBIG (clients) or drop it. */
static void
s_too_big_value(hostile_t *x, int ep, uint64_t round)
{
    size_t value = T_MAX_MESSAGE + 1 + s_below(x, T_MAX_MESSAGE);
    uint8_t *data = calloc(1, value);
    T_CHECK(data);
    goro_msg_t *m = s_msg(ep == EP_CLIENTS ? GORO_MSG_SUBMIT : GORO_MSG_DONE,
                          7777);
    if (ep == EP_CLIENTS && round % 20 == 10) {
        /* a batch of two values that fit alone but not together */
        m->cmd = GORO_MSG_CHAN_SEND_MANY;
        goro_msg_set_name(m, "hostile-chan");
        m->values = calloc(2, sizeof *m->values);
        T_CHECK(m->values);
        m->nvalues = 2;
        for (size_t i = 0; i < 2; i++) {
            m->values[i].data = calloc(1, T_MAX_MESSAGE / 2 + 1);
            T_CHECK(m->values[i].data);
            m->values[i].size = T_MAX_MESSAGE / 2 + 1;
        }
    }
    else if (ep == EP_CLIENTS)
        goro_msg_set_name(m, "hostile-fn");
    else
        m->job_id = T_BOGUS_ID;
    goro_msg_take_data(m, &data, value); /* a batch does not carry it */
    uint8_t *buf;
    size_t size;
    T_CHECK(goro_msg_encode(m, &buf, &size) == GORO_OK);
    goro_msg_destroy(&m);
    s_send(x, x->dealers[ep][0], ep, K_TOO_BIG_VALUE, buf, size);
    free(buf);
}

/* Above ZMQ_MAXMSGSIZE: libzmq cuts the connection; a DEALER of its own
   so that the others keep theirs. */
static void
s_oversized(hostile_t *x, int ep)
{
    uint8_t *buf = malloc(T_OVERSIZED);
    T_CHECK(buf);
    memset(buf, 0x5a, T_OVERSIZED);
    memcpy(buf, x->role[ep].items[0].data, GORO_MSG_HEADER);
    void *sock = s_dealer(x, ep, true);
    if (sock) {
        s_send(x, sock, ep, K_OVERSIZED_FRAME, buf, T_OVERSIZED);
        zmq_close(sock);
    }
    free(buf);
}

/* ---- raw TCP ---------------------------------------------------------- */

/* A plain TCP connection to 127.0.0.1:PORT, or -1. */
static int
s_tcp_dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t) port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int
s_tcp_connect(hostile_t *x, int ep)
{
    int fd = s_tcp_dial(x->port[ep]);
    if (fd < 0)
        x->tcp_connect_failed++;
    return fd;
}

static void
s_tcp_write(int fd, const void *data, size_t size)
{
    /* Best effort: gorod may have dropped us already. */
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            return;
        data = (const uint8_t *) data + n;
        size -= (size_t) n;
    }
}

/* Half the time a reset instead of an orderly close. */
static void
s_tcp_close(hostile_t *x, int fd)
{
    if (s_rand(x) & 1) {
        struct linger reset = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    close(fd);
}

/* ZMTP 3.0 greeting (64 bytes) with MECHANISM and VERSION. */
static void
s_greeting(uint8_t out[64], const char *mechanism, uint8_t major)
{
    memset(out, 0, 64);
    out[0] = 0xff;
    out[9] = 0x7f;
    out[10] = major;
    out[11] = 0;
    memcpy(out + 12, mechanism, strlen(mechanism));
}

/* A NULL-mechanism READY command announcing SOCKET_TYPE. */
static size_t
s_zmtp_ready(uint8_t *out, const char *socket_type)
{
    size_t type_len = strlen(socket_type);
    size_t n = 0;
    out[n++] = 0x04; /* command, short */
    out[n++] = (uint8_t) (6 + 1 + 11 + 4 + type_len);
    out[n++] = 5;
    memcpy(out + n, "READY", 5);
    n += 5;
    out[n++] = 11;
    memcpy(out + n, "Socket-Type", 11);
    n += 11;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = (uint8_t) type_len;
    memcpy(out + n, socket_type, type_len);
    return n + type_len;
}

static void
s_tcp_garbage(hostile_t *x, int ep)
{
    int fd = s_tcp_connect(x, ep);
    if (fd < 0)
        return;
    uint8_t buf[4096];
    size_t size = 1 + s_below(x, sizeof buf);
    s_fill_random(x, buf, size);
    if (s_rand(x) % 4 == 0) /* HTTP, the usual stray visitor */
        size = (size_t) snprintf((char *) buf, sizeof buf,
                                 "GET / HTTP/1.1\r\nHost: gorod\r\n\r\n");
    s_tcp_write(fd, buf, size);
    s_tcp_close(x, fd);
    x->sent[K_TCP_GARBAGE][ep]++;
}

/* Part of a greeting, then silence; the connection stays open. */
static void
s_tcp_half_open(hostile_t *x, int ep)
{
    int fd = s_tcp_connect(x, ep);
    if (fd < 0)
        return;
    uint8_t buf[128];
    s_greeting(buf, "NULL", 3);
    size_t size = s_below(x, 64);
    if (s_rand(x) % 4 == 0) /* a whole greeting, half a READY */
        size = 64 + s_below(x, s_zmtp_ready(buf + 64, "DEALER"));
    s_tcp_write(fd, buf, size);
    size_t slot = x->half_next[ep]++ % T_HALF_OPEN_MAX;
    if (x->half_open[ep][slot] >= 0)
        s_tcp_close(x, x->half_open[ep][slot]);
    x->half_open[ep][slot] = fd;
    x->sent[K_TCP_HALF_OPEN][ep]++;
}

#define T_ZMTP_VARIANTS 10

/* A ZMTP conversation that goes wrong: variant N of T_ZMTP_VARIANTS. */
static void
s_zmtp_bad(hostile_t *x, int ep, int variant)
{
    int fd = s_tcp_connect(x, ep);
    if (fd < 0)
        return;
    uint8_t buf[512];
    size_t n = 64;
    s_greeting(buf, "NULL", 3);
    switch (variant) {
        case 0: /* a frame declaring 2^64-1 bytes */
        case 1: /* ... and 4 GiB */
            n += s_zmtp_ready(buf + n, "DEALER");
            buf[n++] = 0x02;
            for (int i = 0; i < 8; i++)
                buf[n++] = variant == 0 ? 0xff : (i == 3 ? 1 : 0);
            s_fill_random(x, buf + n, 16);
            n += 16;
            break;
        case 2: /* a socket type a ROUTER does not talk to */
            n += s_zmtp_ready(buf + n, "PUB");
            break;
        case 3: /* the wrong mechanism */
            s_greeting(buf, "CURVE", 3);
            s_fill_random(x, buf + n, 200);
            n += 200;
            break;
        case 4:
            s_greeting(buf, "PLAIN", 3);
            buf[n++] = 0x04;
            buf[n++] = 20;
            memcpy(buf + n, "\x05HELLO\xff", 7);
            n += 20;
            break;
        case 5: /* an old protocol version, then garbage */
            s_greeting(buf, "NULL", (uint8_t) (1 + s_below(x, 2)));
            s_fill_random(x, buf + 10, 100);
            n = 110;
            break;
        case 6: { /* a READY whose property runs past its command */
            size_t at = n;
            n += s_zmtp_ready(buf + n, "DEALER");
            buf[at + 8] = 0xff; /* the name's length */
            break;
        }
        case 7: /* a long command declaring 2^63 bytes */
            buf[n++] = 0x06;
            buf[n++] = 0x80;
            for (int i = 0; i < 7; i++)
                buf[n++] = 0;
            break;
        case 8: { /* a good PING, then frames with reserved flag bits */
            n += s_zmtp_ready(buf + n, "DEALER");
            const frame_t *ping = &x->role[EP_CLIENTS].items[0];
            buf[n++] = 0x00;
            buf[n++] = (uint8_t) ping->size;
            memcpy(buf + n, ping->data, ping->size);
            n += ping->size;
            buf[n++] = 0xf0;
            buf[n++] = 4;
            memcpy(buf + n, "junk", 4);
            n += 4;
            break;
        }
        default: /* a message whose last frame never comes */
            n += s_zmtp_ready(buf + n, "DEALER");
            for (int i = 0; i < 3; i++) {
                buf[n++] = 0x01; /* more */
                buf[n++] = 12;
                memcpy(buf + n, x->role[ep].items[0].data, 12);
                n += 12;
            }
            buf[n++] = 0x03; /* more, long */
            buf[n++] = 0x7f;
            for (int i = 0; i < 7; i++)
                buf[n++] = 0xff;
            break;
    }
    T_CHECK(n <= sizeof buf);
    s_tcp_write(fd, buf, n);
    s_tcp_close(x, fd);
    x->sent[K_ZMTP_BAD][ep]++;
}

/* ---- replies ---------------------------------------------------------- */

static void
s_drain(hostile_t *x)
{
    for (int ep = 0; ep < EP_COUNT; ep++)
        for (int i = 0; i < T_DEALERS; i++) {
            zmq_msg_t frame;
            zmq_msg_init(&frame);
            while (zmq_msg_recv(&frame, x->dealers[ep][i], ZMQ_DONTWAIT)
                   >= 0) {
                x->replies++;
                goro_msg_t *msg = NULL;
                if (goro_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame),
                                    0, &msg)
                    == GORO_OK) {
                    switch (msg->cmd) {
                        case GORO_MSG_ERROR:
                            x->replies_error++;
                            x->replies_toobig += msg->code == GORO_ETOOBIG;
                            break;
                        case GORO_MSG_DISCONNECT:
                            x->replies_disconnect++;
                            break;
                        case GORO_MSG_WELCOME: x->replies_welcome++; break;
                        case GORO_MSG_DISPATCH: x->replies_dispatch++; break;
                        default: break;
                    }
                }
                goro_msg_destroy(&msg);
            }
            zmq_msg_close(&frame);
        }
}

static int64_t
s_now(void)
{
    return harness_now();
}

static void *
s_hostile_main(void *arg)
{
    hostile_t *x = arg;
    int64_t until = s_now() + x->run_ms;
    for (uint64_t round = 0; s_now() < until && !x->problem[0]; round++) {
        for (int ep = 0; ep < EP_COUNT; ep++) {
            s_random_kinds(x, ep);
            s_structural_kinds(x, ep, round);
            if (round % 10 == 0)
                s_too_big_value(x, ep, round);
            if (round % 40 == 0)
                s_oversized(x, ep);
            s_tcp_garbage(x, ep);
            s_tcp_half_open(x, ep);
            s_zmtp_bad(x, ep, (int) ((round / 2) % T_ZMTP_VARIANTS));
        }
        s_ready_flood(x, EP_WORKERS);
        if (round % 4 == 0)
            s_ready_flood(x, EP_CLIENTS);
        s_drain(x);
        struct timespec pause = {0, 3 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    atomic_store(&x->done, 1);
    return NULL;
}

static int
s_port_of(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    return colon ? atoi(colon + 1) : -1;
}

static hostile_t *
s_hostile_new(harness_t *h, int64_t run_ms, uint64_t seed)
{
    hostile_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->endpoint[EP_CLIENTS] = harness_clients(h);
    x->endpoint[EP_WORKERS] = harness_workers(h);
    for (int ep = 0; ep < EP_COUNT; ep++) {
        x->port[ep] = s_port_of(x->endpoint[ep]);
        assert_true(x->port[ep] > 0);
        for (int i = 0; i < T_HALF_OPEN_MAX; i++)
            x->half_open[ep][i] = -1;
    }
    x->rng = seed ? seed : 1;
    x->run_ms = run_ms;
    s_client_templates(&x->role[EP_CLIENTS]);
    s_worker_templates(&x->role[EP_WORKERS]);
    s_journal_templates(&x->journal);
    x->ctx = zmq_ctx_new();
    assert_non_null(x->ctx);
    for (int ep = 0; ep < EP_COUNT; ep++)
        for (int i = 0; i < T_DEALERS; i++) {
            x->dealers[ep][i] = s_dealer(x, ep, false);
            assert_non_null(x->dealers[ep][i]);
        }
    return x;
}

static void
s_hostile_destroy(hostile_t **x_p)
{
    hostile_t *x = *x_p;
    for (int ep = 0; ep < EP_COUNT; ep++) {
        for (int i = 0; i < T_DEALERS; i++)
            zmq_close(x->dealers[ep][i]);
        for (int i = 0; i < T_HALF_OPEN_MAX; i++)
            if (x->half_open[ep][i] >= 0)
                close(x->half_open[ep][i]);
        s_templates_clear(&x->role[ep]);
    }
    s_templates_clear(&x->journal);
    zmq_ctx_term(x->ctx);
    free(x);
    *x_p = NULL;
}

/* ------------------------------------------------------------------ */
/*  The good client                                                   */
/* ------------------------------------------------------------------ */

typedef struct {
    uint64_t pings, jobs, values, failures;
    char first_failure[512];
    int64_t slowest_ms;
} good_t;

static void
s_failed(good_t *g, const char *what, int rc, goro_t *client)
{
    g->failures++;
    if (!g->first_failure[0]) {
        const char *said = goro_last_error(client);
        snprintf(g->first_failure, sizeof g->first_failure, "%s: %s%s%s", what,
                 goro_strerror(rc), said ? ": " : "", said ? said : "");
    }
}

static void
s_timed(good_t *g, int64_t started)
{
    int64_t took = harness_now() - started;
    if (took > g->slowest_ms)
        g->slowest_ms = took;
}

/* One round of real work: a ping, an exec job run to its end, and every
   fourth round a value through a channel. */
static void
s_good_round(harness_t *h, good_t *g, uint64_t round, const char *chan)
{
    goro_t *client = harness_client(h);
    int64_t started = harness_now();
    int rc = goro_ping(client, T_OP_MS);
    s_timed(g, started);
    if (rc != GORO_OK)
        s_failed(g, "ping", rc, client);
    else
        g->pings++;

    char word[32];
    snprintf(word, sizeof word, "good-%" PRIu64, round);
    const char *argv[] = {"echo", word, NULL};
    uint64_t id = 0;
    started = harness_now();
    rc = goro_go_exec(client, argv, NULL, &id);
    if (rc != GORO_OK) {
        s_failed(g, "submit", rc, client);
    }
    else {
        goro_job_t *job = NULL;
        rc = goro_job_wait(client, id, T_OP_MS, &job);
        s_timed(g, started);
        if (rc != GORO_OK)
            s_failed(g, "wait", rc, client);
        else {
            size_t len = 0;
            const char *out = goro_job_output(job, &len);
            char expected[40];
            snprintf(expected, sizeof expected, "%s\n", word);
            if (goro_job_state(job) != GORO_JOB_SUCCEEDED
                || len != strlen(expected) || memcmp(out, expected, len) != 0)
                s_failed(g, "job result", GORO_EPROTO, client);
            else
                g->jobs++;
        }
        goro_job_destroy(&job);
    }

    if (round % 4 == 0) {
        started = harness_now();
        rc = goro_chan_send(client, chan, word, strlen(word), T_OP_MS);
        if (rc != GORO_OK) {
            s_failed(g, "chan send", rc, client);
            return;
        }
        void *data = NULL;
        size_t len = 0;
        rc = goro_chan_recv(client, chan, T_OP_MS, &data, &len);
        s_timed(g, started);
        if (rc != GORO_OK)
            s_failed(g, "chan recv", rc, client);
        else if (len != strlen(word) || memcmp(data, word, len) != 0)
            s_failed(g, "chan value", GORO_EPROTO, client);
        else
            g->values++;
        goro_free(data);
    }
}

/* ------------------------------------------------------------------ */
/*  The test                                                          */
/* ------------------------------------------------------------------ */

static void
test_hostile_input(void **state)
{
    harness_t *h = harness_up(state, T_CONFIG);
    /* The pool's worker is in before the storm. */
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);

    char chan[64];
    snprintf(chan, sizeof chan, "good-client-chan-%d", (int) getpid());
    assert_int_equal(goro_chan_make(harness_client(h), chan, 4), GORO_OK);

    const char *seed_text = getenv("GORO_HOSTILE_SEED");
    uint64_t seed = seed_text
                        ? strtoull(seed_text, NULL, 0)
                        : (uint64_t) time(NULL) ^ (uint64_t) getpid() << 20;
    printf("hostile: seed %" PRIu64 " (GORO_HOSTILE_SEED repeats it)\n", seed);
    fflush(stdout);
    hostile_t *x = s_hostile_new(h, T_HOSTILE_MS, seed);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_hostile_main, x), 0);

    good_t good = {0};
    int64_t started = harness_now();
    for (uint64_t round = 0; !atomic_load(&x->done); round++)
        s_good_round(h, &good, round, chan);
    pthread_join(thread, NULL);
    int64_t took = harness_now() - started;

    /* Still there, still serving, once the storm is over. */
    int alive = harness_running(h);
    int pong = alive ? goro_ping(harness_client(h), T_OP_MS) : -1;
    char *stats = NULL;
    if (pong == GORO_OK)
        goro_stats(harness_client(h), GORO_LIST_JSON, &stats);
    long long requests = harness_json_number(stats, "requests");
    long long malformed = harness_json_number(stats, "malformed");
    goro_free(stats);

    uint64_t total = 0, per_ep[EP_COUNT] = {0};
    char kinds[2048];
    size_t used = 0;
    for (int k = 0; k < K_COUNT; k++) {
        uint64_t n = x->sent[k][EP_CLIENTS] + x->sent[k][EP_WORKERS];
        total += n;
        per_ep[EP_CLIENTS] += x->sent[k][EP_CLIENTS];
        per_ep[EP_WORKERS] += x->sent[k][EP_WORKERS];
        used += (size_t) snprintf(kinds + used, sizeof kinds - used,
                                  " %s=%" PRIu64, s_kind_names[k], n);
    }
    printf("MEASURE hostile_inputs=%" PRIu64 " in %.1f s (clients endpoint "
           "%" PRIu64 ", workers endpoint %" PRIu64 "):%s\n",
           total, (double) took / 1000, per_ep[EP_CLIENTS], per_ep[EP_WORKERS],
           kinds);
    printf("MEASURE hostile_replies=%" PRIu64 " (error %" PRIu64 ", of them "
           "too_big %" PRIu64 "; disconnect %" PRIu64 ", welcome %" PRIu64
           ", dispatch %" PRIu64 "); not sent, queue full: %" PRIu64
           "; gorod counted requests=%lld malformed=%lld\n",
           x->replies, x->replies_error, x->replies_toobig,
           x->replies_disconnect, x->replies_welcome, x->replies_dispatch,
           x->refused_locally, requests, malformed);
    printf("MEASURE hostile_good_client pings=%" PRIu64 " jobs=%" PRIu64
           " values=%" PRIu64 " failures=%" PRIu64 " slowest_call_ms=%lld"
           "\n",
           good.pings, good.jobs, good.values, good.failures,
           (long long) good.slowest_ms);
    fflush(stdout);

    if (!alive || pong != GORO_OK || good.failures) {
        char *log = harness_log(h);
        size_t len = strlen(log);
        fprintf(stderr, "gorod's log (last 6000 bytes):\n%s\n",
                log + (len > 6000 ? len - 6000 : 0));
        free(log);
    }
    fflush(stdout);

    char problem[sizeof x->problem];
    snprintf(problem, sizeof problem, "%s", x->problem);
    uint64_t toobig = x->replies_toobig;
    uint64_t sent_kinds = 0;
    for (int k = 0; k < K_COUNT; k++)
        sent_kinds += x->sent[k][EP_CLIENTS] > 0 && x->sent[k][EP_WORKERS] > 0;
    s_hostile_destroy(&x);

    if (problem[0])
        fail_msg("the hostile thread failed: %s", problem);
    if (!alive)
        fail_msg("gorod died under hostile input");
    if (pong != GORO_OK)
        fail_msg("gorod no longer answers a ping: %s", goro_strerror(pong));
    if (good.failures)
        fail_msg("%" PRIu64 " of the good client's calls failed; the "
                 "first: %s",
                 good.failures, good.first_failure);
    /* Every kind reached both endpoints, and the limit was enforced. */
    assert_int_equal(sent_kinds, K_COUNT);
    assert_true(good.jobs >= T_MIN_GOOD_JOBS);
    assert_true(toobig > 0);
    assert_true(malformed > 0);

    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Peers that hold on to gorod's resources                           */
/* ------------------------------------------------------------------ */

/* Entries in /proc/PID/fd: the descriptors PID has open. */
static long long
s_files_open(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    long long n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        n += entry->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* VmRSS of PID in KiB, from /proc/PID/status. */
static long long
s_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = harness_read_file(path);
    assert_non_null(text);
    const char *at = strstr(text, "VmRSS:");
    long long kib = at ? strtoll(at + 6, NULL, 10) : -1;
    free(text);
    assert_true(kib > 0);
    return kib;
}

/* Waits up to TIMEOUT_MS for gorod to close each of the COUNT
   connections FDS (EOF or reset; what it sends is read and dropped).
   Closes them; DROPPED_AT[i] gets the harness_now() of each drop, 0 if
   it never came. Returns how many were dropped. */
static int
s_wait_dropped(int *fds, int count, int64_t timeout_ms, int64_t *dropped_at)
{
    struct pollfd *polls = calloc((size_t) count, sizeof *polls);
    assert_non_null(polls);
    int dropped = 0;
    int64_t until = harness_now() + timeout_ms;
    for (int i = 0; i < count; i++)
        dropped_at[i] = 0;
    while (dropped < count && harness_now() < until) {
        for (int i = 0; i < count; i++) {
            polls[i].fd = fds[i];
            polls[i].events = POLLIN;
        }
        if (poll(polls, (nfds_t) count, HARNESS_POLL_MS) <= 0)
            continue;
        for (int i = 0; i < count; i++) {
            if (fds[i] < 0 || !polls[i].revents)
                continue;
            char scratch[4096];
            ssize_t n = recv(fds[i], scratch, sizeof scratch, MSG_DONTWAIT);
            if (n > 0 || (n < 0 && errno == EAGAIN))
                continue;
            close(fds[i]);
            fds[i] = -1;
            dropped_at[i] = harness_now();
            dropped++;
        }
    }
    for (int i = 0; i < count; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    free(polls);
    return dropped;
}

#define T_HANDSHAKE_MS 500 /* limits.handshake_timeout of the test */
#define T_SPARE_FILES 8    /* descriptors gorod may open past its own */
#define T_STALLED 40       /* stalled connections, 5 x the spare */
#define T_LOCKOUT_MS \
    10000 /* all stalled ones gone by then; libzmq's \
             default handshake allows 30 s */

/* gorod raises its soft descriptor limit to the hard one at start. Then,
   short of descriptors, it logs that it refuses connections, and drops
   connections stalled in the ZeroMQ handshake after
   limits.handshake_timeout, so that the lockout of new clients ends. */
static void
test_stalled_handshakes_dropped(void **state)
{
    struct rlimit ours;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &ours), 0);
    struct rlimit low = ours;
    if (low.rlim_max > 1024)
        low.rlim_cur = 1024; /* as a login shell often has it */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    harness_t *h = harness_up(state, "pools: []\n"
                                     "limits: { handshake_timeout: 500ms }\n");
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &ours), 0);
    pid_t pid = harness_pid(h);
    struct rlimit got;
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, NULL, &got), 0);
    assert_true(got.rlim_cur == got.rlim_max);

    struct rlimit tight = {(rlim_t) (s_files_open(pid) + T_SPARE_FILES),
                           got.rlim_max};
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &tight, NULL), 0);
    int port = s_port_of(harness_clients(h));
    int fds[T_STALLED];
    int64_t started = harness_now();
    for (int i = 0; i < T_STALLED; i++) {
        fds[i] = s_tcp_dial(port); /* into the listen backlog */
        assert_true(fds[i] >= 0);
        uint8_t greeting[64];
        s_greeting(greeting, "NULL", 3);
        s_tcp_write(fds[i], greeting, 10); /* the signature, no more */
    }
    assert_int_equal(
        harness_wait_log(h, "connection(s) refused", HARNESS_WAIT_MS), 0);

    int64_t dropped_at[T_STALLED];
    int dropped = s_wait_dropped(fds, T_STALLED, T_LOCKOUT_MS, dropped_at);
    int64_t first = 0, last = 0;
    for (int i = 0; i < T_STALLED; i++) {
        if (dropped_at[i] && (!first || dropped_at[i] < first))
            first = dropped_at[i];
        if (dropped_at[i] > last)
            last = dropped_at[i];
    }
    printf("MEASURE stalled_handshakes=%d dropped=%d first_after_ms=%lld "
           "last_after_ms=%lld (handshake_timeout %d ms, %d spare "
           "descriptors)\n",
           T_STALLED, dropped, (long long) (first ? first - started : -1),
           (long long) (last ? last - started : -1), T_HANDSHAKE_MS,
           T_SPARE_FILES);
    fflush(stdout);
    assert_int_equal(dropped, T_STALLED);

    /* A new client gets in again. */
    goro_t *fresh = goro_new(harness_clients(h));
    assert_int_equal(goro_ping(fresh, HARNESS_WAIT_MS), GORO_OK);
    goro_destroy(&fresh);
    harness_finish(state);
}

#define T_PINNERS 200 /* peers each holding a frame open */
/* gorod's frame limit at the default limits.max_message, 128 KiB, and
   jobs.exec.max_output, 128 KiB: 2 x 128 KiB + 16 KiB. */
#define T_FRAME (2 * 128 * 1024 + 16 * 1024)
/* Each one is dropped within this of its connect: heartbeat interval x
   liveness below (1 s), its first PING, and slack for a loaded machine. */
#define T_DROP_MS 5000
/* What they may add to gorod, while connected and after (issue 12,
   point 14: under 64 MB for 200 peers). */
#define T_PIN_LIMIT_KIB (62500)

/* A NULL-mechanism ZMTP handshake as a DEALER, then a frame of T_FRAME
   octets all but the last of which are sent: gorod holds a buffer of
   the whole frame for as long as the connection lasts. Returns the fd
   (-1 if gorod dropped it before the end, which is fine). */
static int
s_pin_frame(int port, const uint8_t *body)
{
    int fd = s_tcp_dial(port);
    assert_true(fd >= 0);
    struct timeval bound = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
    uint8_t head[256];
    s_greeting(head, "NULL", 3);
    size_t n = 64 + s_zmtp_ready(head + 64, "DEALER");
    head[n++] = 0x02; /* a long frame */
    for (int i = 7; i >= 0; i--)
        head[n++] = (uint8_t) ((uint64_t) T_FRAME >> (8 * i));
    const uint8_t *parts[2] = {head, body};
    size_t sizes[2] = {n, T_FRAME - 1};
    for (int p = 0; p < 2; p++)
        for (size_t sent = 0; sent < sizes[p];) {
            ssize_t k = send(fd, parts[p] + sent, sizes[p] - sent,
                             MSG_NOSIGNAL);
            if (k <= 0) {
                close(fd);
                return -1;
            }
            sent += (size_t) k;
        }
    return fd;
}

/* Peers that finish the handshake, then stop in the middle of a frame as
   large as gorod accepts, are dropped after heartbeat interval x
   liveness (their libzmq cannot answer gorod's PING mid-frame), and what
   they held goes back. */
static void
test_mid_frame_peers_dropped(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: []\n"
                              "heartbeat: { interval: 250ms, liveness: 4 }\n"
                              "log: { level: warn }\n");
    pid_t pid = harness_pid(h);
    int port = s_port_of(harness_clients(h));
    uint8_t *body = calloc(1, T_FRAME);
    assert_non_null(body);
    long long base = s_rss_kib(pid), peak = base;
    int fds[T_PINNERS];
    int64_t connected_at[T_PINNERS];
    int64_t started = harness_now();
    for (int i = 0; i < T_PINNERS; i++) {
        connected_at[i] = harness_now();
        fds[i] = s_pin_frame(port, body);
        long long rss = s_rss_kib(pid);
        peak = rss > peak ? rss : peak;
    }
    int64_t sent_ms = harness_now() - started;
    free(body);
    int64_t dropped_at[T_PINNERS];
    int open = 0;
    for (int i = 0; i < T_PINNERS; i++)
        open += fds[i] >= 0;
    int dropped = s_wait_dropped(fds, T_PINNERS, T_DROP_MS, dropped_at);
    int64_t slowest = 0;
    for (int i = 0; i < T_PINNERS; i++)
        if (dropped_at[i] && dropped_at[i] - connected_at[i] > slowest)
            slowest = dropped_at[i] - connected_at[i];
    long long after = s_rss_kib(pid);
    printf("MEASURE mid_frame_peers=%d of %d octets: sent in %lld ms, gorod "
           "RSS %lld KiB before, %lld KiB at most while they were "
           "connected (+%lld KiB), %lld KiB once dropped (+%lld KiB); "
           "%d of %d still open were dropped, the slowest %lld ms after "
           "its connect\n",
           T_PINNERS, T_FRAME, (long long) sent_ms, base, peak, peak - base,
           after, after - base, dropped, open, (long long) slowest);
    fflush(stdout);
    assert_int_equal(dropped, open);
    assert_true(slowest < T_DROP_MS);
    /* ASan's redzones and quarantine add to what is resident. */
#ifndef T_ASAN
    assert_true(peak - base < T_PIN_LIMIT_KIB);
    assert_true(after - base < T_PIN_LIMIT_KIB);
#endif
    assert_int_equal(goro_ping(harness_client(h), HARNESS_WAIT_MS), GORO_OK);
    harness_finish(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_hostile_input),
        HARNESS_TEST(test_stalled_handshakes_dropped),
        HARNESS_TEST(test_mid_frame_peers_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
