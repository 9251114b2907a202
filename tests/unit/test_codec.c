/*  test_codec - unit tests of goro_msg, the wire codec (proto/goro_msg.c).

    The test carries its own copy of the grammar in PROTOCOL.md (s_grammar)
    and builds the expected bytes of every command independently of the
    codec, so a change to the wire format that PROTOCOL.md does not follow
    fails here. Then: decode round trips, every truncation, every malformed
    header, limits, a deterministic mutation loop (run it under ASan/UBSan:
    "never crashes" is the property), and send/recv over real ZeroMQ
    sockets. Every input handed to the decoder sits in a heap buffer of
    exactly its size, so ASan catches any read past the frame.
*/
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"
#include "xorshift.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include <cmocka.h>

/* ---- allocation probe ---------------------------------------------- */

/* Under ASan we watch every allocation the decoder makes, to prove that a
   declared count or length never turns into an allocation the frame does
   not back. Without ASan the probe reports 0 and the checks that use it
   reduce to the result checks. */
#if defined(__SANITIZE_ADDRESS__)
#define PROBE_ON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROBE_ON 1
#endif
#endif

static volatile int s_probe_armed;
static volatile size_t s_probe_max; /* largest allocation while armed */

#ifdef PROBE_ON
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static void
s_probe_malloc(const volatile void *ptr, size_t size)
{
    (void) ptr;
    if (s_probe_armed && size > s_probe_max)
        s_probe_max = size;
}

static void
s_probe_free(const volatile void *ptr)
{
    (void) ptr;
}
#endif

static void
s_probe_start(void)
{
#ifdef PROBE_ON
    static int installed;
    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(s_probe_malloc,
                                                              s_probe_free);
#endif
    s_probe_max = 0;
    s_probe_armed = 1;
}

static void
s_probe_stop(void)
{
    s_probe_armed = 0;
}

/* ---- the grammar, restated from PROTOCOL.md ------------------------- */

typedef enum {
    X_END = 0,
    X_JOB_ID,
    X_DELIVERY_ID,
    X_RUN_ID,
    X_VALUE_SEQ,
    X_CODE,
    X_STATE,
    X_WHAT,
    X_FLAGS,
    X_ATTEMPT,
    X_MAX_ATTEMPTS,
    X_INDEX,
    X_PID,
    X_WORKER_CAPACITY,
    X_RECV_MAX,
    X_SENT_COUNT,
    X_LEASE_COUNT,
    X_TAKEN_COUNT,
    X_STATUS,
    X_TIMEOUT,
    X_SUBMIT_WAIT,
    X_CAPACITY,
    X_ROOM,
    X_DELTA,
    X_HB_INTERVAL,
    X_HB_LIVENESS,
    X_ENDED_AT,
    X_ATTEMPT_BASE,
    X_RUNTIME,
    X_COUNTER,
    X_ADDED,
    X_DONE,
    X_SUCCEEDED,
    X_FAILED,
    X_NAME,
    X_WG,
    X_CHAN,
    X_KEY,
    X_DATA,
    X_TEXT,
    X_STRS,
    X_CASES,
    X_VALUES
} xfield_t;

typedef struct {
    int cmd;
    const char *name;
    xfield_t fields[10];
} xrow_t;

static const xrow_t s_grammar[] = {
    {GORO_MSG_PING, "PING", {X_END}},
    {GORO_MSG_SUBMIT,
     "SUBMIT",
     {X_NAME, X_DATA, X_WG, X_CHAN, X_KEY, X_TIMEOUT, X_MAX_ATTEMPTS,
      X_SUBMIT_WAIT}},
    {GORO_MSG_STATUS, "STATUS", {X_JOB_ID}},
    {GORO_MSG_WAIT, "WAIT", {X_JOB_ID, X_TIMEOUT}},
    {GORO_MSG_CANCEL, "CANCEL", {X_JOB_ID}},
    {GORO_MSG_RETRY, "RETRY", {X_JOB_ID}},
    {GORO_MSG_LIST, "LIST", {X_WHAT, X_FLAGS}},
    {GORO_MSG_CHAN_MAKE, "CHAN_MAKE", {X_NAME, X_CAPACITY}},
    {GORO_MSG_CHAN_SEND, "CHAN_SEND", {X_NAME, X_DATA, X_TIMEOUT}},
    {GORO_MSG_CHAN_RECV, "CHAN_RECV", {X_NAME, X_TIMEOUT}},
    {GORO_MSG_CHAN_CLOSE, "CHAN_CLOSE", {X_NAME}},
    {GORO_MSG_SELECT, "SELECT", {X_CASES, X_TIMEOUT}},
    {GORO_MSG_WG_ADD, "WG_ADD", {X_NAME, X_DELTA}},
    {GORO_MSG_WG_WAIT, "WG_WAIT", {X_NAME, X_TIMEOUT}},
    {GORO_MSG_WG_STATUS, "WG_STATUS", {X_NAME}},
    {GORO_MSG_HEARTBEAT, "HEARTBEAT", {X_RUN_ID}},
    {GORO_MSG_DISCONNECT, "DISCONNECT", {X_END}},
    {GORO_MSG_ACK, "ACK", {X_DELIVERY_ID}},
    {GORO_MSG_OK, "OK", {X_JOB_ID, X_DATA}},
    {GORO_MSG_ERROR, "ERROR", {X_CODE, X_TEXT}},
    {GORO_MSG_JOB,
     "JOB",
     {X_JOB_ID, X_NAME, X_STATE, X_ATTEMPT, X_STATUS, X_RUNTIME, X_DATA,
      X_TEXT}},
    {GORO_MSG_VALUE, "VALUE", {X_INDEX, X_FLAGS, X_DELIVERY_ID, X_DATA}},
    {GORO_MSG_WG_INFO,
     "WG_INFO",
     {X_COUNTER, X_ADDED, X_DONE, X_SUCCEEDED, X_FAILED}},
    {GORO_MSG_READY, "READY", {X_NAME, X_PID, X_WORKER_CAPACITY, X_STRS}},
    {GORO_MSG_WELCOME,
     "WELCOME",
     {X_HB_INTERVAL, X_HB_LIVENESS, X_TEXT, X_STRS}},
    {GORO_MSG_DISPATCH,
     "DISPATCH",
     {X_JOB_ID, X_ATTEMPT, X_NAME, X_DATA, X_TIMEOUT}},
    {GORO_MSG_DONE,
     "DONE",
     {X_JOB_ID, X_ATTEMPT, X_STATUS, X_RUNTIME, X_DATA, X_TEXT}},
    {GORO_MSG_KILL, "KILL", {X_JOB_ID, X_ATTEMPT}},
    {GORO_MSG_CLAIM, "CLAIM", {X_JOB_ID, X_ATTEMPT}},
    /* journal records */
    {GORO_MSG_J_SUBMIT,
     "J_SUBMIT",
     {X_JOB_ID, X_NAME, X_DATA, X_WG, X_CHAN, X_KEY, X_TIMEOUT,
      X_MAX_ATTEMPTS}},
    {GORO_MSG_J_START, "J_START", {X_JOB_ID, X_ATTEMPT}},
    {GORO_MSG_J_REQUEUE, "J_REQUEUE", {X_JOB_ID}},
    {GORO_MSG_J_END,
     "J_END",
     {X_JOB_ID, X_STATE, X_STATUS, X_RUNTIME, X_ENDED_AT, X_DATA, X_TEXT}},
    {GORO_MSG_J_RETRY, "J_RETRY", {X_JOB_ID}},
    {GORO_MSG_J_REMOVE, "J_REMOVE", {X_JOB_ID}},
    {GORO_MSG_J_JOB_FLAGS,
     "J_JOB_FLAGS",
     {X_JOB_ID, X_ATTEMPT, X_ATTEMPT_BASE, X_FLAGS}},
    {GORO_MSG_J_CHAN_MAKE, "J_CHAN_MAKE", {X_NAME, X_CAPACITY}},
    {GORO_MSG_J_CHAN_PUSH, "J_CHAN_PUSH", {X_NAME, X_VALUE_SEQ, X_DATA}},
    {GORO_MSG_J_CHAN_POP, "J_CHAN_POP", {X_NAME, X_VALUE_SEQ}},
    {GORO_MSG_J_CHAN_CLOSE, "J_CHAN_CLOSE", {X_NAME}},
    {GORO_MSG_J_WG_SET,
     "J_WG_SET",
     {X_NAME, X_COUNTER, X_ADDED, X_DONE, X_SUCCEEDED, X_FAILED}},
    {GORO_MSG_J_NEXT_ID, "J_NEXT_ID", {X_JOB_ID}},
    {GORO_MSG_J_COMMIT, "J_COMMIT", {X_END}},
    /* batched channel operations */
    {GORO_MSG_CHAN_SEND_MANY, "CHAN_SEND_MANY", {X_NAME, X_VALUES, X_TIMEOUT}},
    {GORO_MSG_CHAN_RECV_MANY,
     "CHAN_RECV_MANY",
     {X_NAME, X_RECV_MAX, X_TIMEOUT}},
    {GORO_MSG_VALUES, "VALUES", {X_FLAGS, X_DELIVERY_ID, X_VALUES}},
    {GORO_MSG_SENT, "SENT", {X_CODE, X_SENT_COUNT}},
    /* pipelined submissions */
    {GORO_MSG_LEASE, "LEASE", {X_LEASE_COUNT}},
    {GORO_MSG_LEASED, "LEASED", {X_JOB_ID, X_LEASE_COUNT, X_RUN_ID}},
    {GORO_MSG_SUBMIT_LEASED,
     "SUBMIT_LEASED",
     {X_JOB_ID, X_RUN_ID, X_NAME, X_DATA, X_WG, X_CHAN, X_TIMEOUT,
      X_MAX_ATTEMPTS}},
    /* pipelined sends, receives ahead */
    {GORO_MSG_CHAN_PUT, "CHAN_PUT", {X_NAME, X_FLAGS, X_DATA, X_TIMEOUT}},
    {GORO_MSG_ROOM, "ROOM", {X_ROOM}},
    {GORO_MSG_CHAN_RECV_AHEAD,
     "CHAN_RECV_AHEAD",
     {X_NAME, X_RECV_MAX, X_TIMEOUT}},
    {GORO_MSG_CHAN_TAKEN,
     "CHAN_TAKEN",
     {X_DELIVERY_ID, X_TAKEN_COUNT, X_FLAGS}},
};
#define NROWS (sizeof s_grammar / sizeof s_grammar[0])
#define NVARIANTS 3

static int
s_carries(const xrow_t *row, xfield_t field)
{
    for (int i = 0; i < 10 && row->fields[i] != X_END; i++)
        if (row->fields[i] == field)
            return 1;
    return 0;
}

/* ---- an independent writer for the expected bytes ------------------ */

typedef struct {
    uint8_t *buf;
    size_t used, size;
} xbuf_t;

static void
x_put(xbuf_t *b, const void *data, size_t size)
{
    if (b->used + size > b->size) {
        b->size = (b->used + size) * 2 + 16;
        b->buf = util_realloc(b->buf, b->size);
    }
    if (size)
        memcpy(b->buf + b->used, data, size);
    b->used += size;
}

static void
x_be(xbuf_t *b, uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        uint8_t byte = (uint8_t) (value >> (8 * i));
        x_put(b, &byte, 1);
    }
}

static void
x_str(xbuf_t *b, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    x_be(b, len, 1);
    x_put(b, text, len);
}

static void
x_longstr(xbuf_t *b, const void *data, size_t size)
{
    x_be(b, size, 4);
    x_put(b, data, size);
}

static void
x_header(xbuf_t *b, int version, int cmd, uint64_t reqid)
{
    x_be(b, 0xA7C0, 2);
    x_be(b, (uint64_t) version, 1);
    x_be(b, (uint64_t) cmd, 1);
    x_be(b, reqid, 8);
}

static void
x_field(xbuf_t *b, const goro_msg_t *m, xfield_t field)
{
    switch (field) {
        case X_JOB_ID: x_be(b, m->job_id, 8); break;
        case X_DELIVERY_ID: x_be(b, m->delivery_id, 8); break;
        case X_RUN_ID: x_be(b, m->run_id, 8); break;
        case X_VALUE_SEQ: x_be(b, m->value_seq, 8); break;
        case X_CODE: x_be(b, m->code, 4); break;
        case X_STATE: x_be(b, m->state, 1); break;
        case X_WHAT: x_be(b, m->what, 1); break;
        case X_FLAGS: x_be(b, m->flags, 4); break;
        case X_ATTEMPT: x_be(b, m->attempt, 4); break;
        case X_MAX_ATTEMPTS: x_be(b, m->max_attempts, 4); break;
        case X_INDEX: x_be(b, m->index, 4); break;
        case X_PID: x_be(b, m->pid, 4); break;
        case X_WORKER_CAPACITY: x_be(b, m->worker_capacity, 4); break;
        case X_RECV_MAX: x_be(b, m->recv_max, 4); break;
        case X_SENT_COUNT: x_be(b, m->sent_count, 4); break;
        case X_LEASE_COUNT: x_be(b, m->lease_count, 4); break;
        case X_TAKEN_COUNT: x_be(b, m->taken_count, 4); break;
        case X_STATUS: x_be(b, (uint64_t) m->status, 8); break;
        case X_TIMEOUT: x_be(b, (uint64_t) m->timeout, 8); break;
        case X_SUBMIT_WAIT: x_be(b, (uint64_t) m->submit_wait, 8); break;
        case X_CAPACITY: x_be(b, (uint64_t) m->capacity, 8); break;
        case X_ROOM: x_be(b, (uint64_t) m->room, 8); break;
        case X_DELTA: x_be(b, (uint64_t) m->delta, 8); break;
        case X_HB_INTERVAL: x_be(b, (uint64_t) m->hb_interval, 8); break;
        case X_HB_LIVENESS: x_be(b, (uint64_t) m->hb_liveness, 8); break;
        case X_ENDED_AT: x_be(b, (uint64_t) m->ended_at, 8); break;
        case X_ATTEMPT_BASE: x_be(b, (uint64_t) m->attempt_base, 8); break;
        case X_RUNTIME: x_be(b, (uint64_t) m->runtime, 8); break;
        case X_COUNTER: x_be(b, (uint64_t) m->counter, 8); break;
        case X_ADDED: x_be(b, (uint64_t) m->added, 8); break;
        case X_DONE: x_be(b, (uint64_t) m->done, 8); break;
        case X_SUCCEEDED: x_be(b, (uint64_t) m->succeeded, 8); break;
        case X_FAILED: x_be(b, (uint64_t) m->failed, 8); break;
        case X_NAME: x_str(b, m->name); break;
        case X_WG: x_str(b, m->wg); break;
        case X_CHAN: x_str(b, m->chan); break;
        case X_KEY: x_str(b, m->key); break;
        case X_DATA: x_longstr(b, m->data, m->size); break;
        case X_TEXT: x_longstr(b, m->text, m->text_size); break;
        case X_STRS:
            x_be(b, m->nstrs, 4);
            for (size_t i = 0; i < m->nstrs; i++)
                x_str(b, m->strs[i]);
            break;
        case X_CASES:
            x_be(b, m->ncases, 4);
            for (size_t i = 0; i < m->ncases; i++) {
                x_be(b, m->cases[i].op, 1);
                x_str(b, m->cases[i].chan);
                x_longstr(b, m->cases[i].data, m->cases[i].size);
            }
            break;
        case X_VALUES:
            x_be(b, m->nvalues, 4);
            for (size_t i = 0; i < m->nvalues; i++)
                x_longstr(b, m->values[i].data, m->values[i].size);
            break;
        case X_END: break;
    }
}

/* What the test expects goro_msg_encode to produce for M. */
static void
x_expected(const xrow_t *row, const goro_msg_t *m, xbuf_t *b)
{
    x_header(b, 1, row->cmd, m->reqid);
    for (int i = 0; i < 10 && row->fields[i] != X_END; i++)
        x_field(b, m, row->fields[i]);
}

/* ---- test messages --------------------------------------------------- */

static char *
s_repeat(char c, size_t n)
{
    char *text = util_zalloc(n + 1);
    memset(text, c, n);
    return text;
}

static void
s_add_case(goro_msg_t *m, uint8_t op, const char *chan, const void *data,
           size_t size)
{
    m->cases = util_realloc(m->cases, sizeof *m->cases * (m->ncases + 1));
    goro_msg_case_t *c = &m->cases[m->ncases++];
    c->op = op;
    c->chan = chan ? util_strdup(chan) : NULL;
    c->data = data ? util_memdup(data, size) : NULL;
    c->size = data ? size : 0;
}

static void
s_add_value(goro_msg_t *m, const void *data, size_t size)
{
    m->values = util_realloc(m->values, sizeof *m->values * (m->nvalues + 1));
    goro_msg_value_t *v = &m->values[m->nvalues++];
    v->data = data ? util_memdup(data, size) : NULL;
    v->size = data ? size : 0;
}

static void
s_add_str(goro_msg_t *m, const char *text)
{
    m->strs = util_realloc(m->strs, sizeof *m->strs * (m->nstrs + 1));
    m->strs[m->nstrs++] = text ? util_strdup(text) : NULL;
}

/* Every field of the struct set, whatever CMD carries. Variant 0:
   typical values with binary payloads; 1: extremes (255-byte strings,
   negative and maximal numbers, 1 KiB of every byte value); 2: zero, NULL
   and empty everywhere. */
static goro_msg_t *
s_make(int cmd, int variant)
{
    goro_msg_t *m = goro_msg_new(cmd);
    if (variant == 0) {
        static const uint8_t bin[] = {'a', 0, 'b', 0, 0, 0xff, 'c'};
        static const char err[] = "line 1\nline\0 2";
        m->reqid = 0x0102030405060708ULL;
        m->job_id = 0x1122334455667788ULL;
        m->delivery_id = 0x2233445566778899ULL;
        m->run_id = 0x33445566778899aaULL;
        m->value_seq = 0x445566778899aabbULL;
        m->code = GORO_ETIMEDOUT;
        m->state = GORO_JOB_SUCCEEDED;
        m->what = GORO_LIST_WORKERS;
        m->flags = 3;
        m->attempt = 2;
        m->max_attempts = 5;
        m->index = 7;
        m->pid = 12345;
        m->worker_capacity = 4;
        m->recv_max = 500;
        m->sent_count = 499;
        m->status = 137;
        m->timeout = 1500;
        m->submit_wait = 16;
        m->capacity = 17;
        m->delta = 18;
        m->hb_interval = 19;
        m->hb_liveness = 20;
        m->ended_at = 1700000000000;
        m->attempt_base = 21;
        m->runtime = 42;
        m->counter = 3;
        m->added = 10;
        m->done = 7;
        m->succeeded = 6;
        m->failed = 1;
        goro_msg_set_name(m, "render");
        goro_msg_set_str(&m->wg, "batch-1");
        goro_msg_set_str(&m->chan, "results");
        goro_msg_set_str(&m->key, "key:42");
        goro_msg_set_data(m, bin, sizeof bin);
        goro_msg_set_text(m, err, sizeof err - 1);
        s_add_str(m, "exec");
        s_add_str(m, "resize");
        s_add_str(m, "");
        s_add_case(m, GORO_CASE_RECV, "in", NULL, 0);
        s_add_case(m, GORO_CASE_SEND, "out", "v\0al", 4);
        s_add_case(m, GORO_CASE_SEND, "", "", 0);
        s_add_value(m, "one", 3);
        s_add_value(m, "", 0);
        s_add_value(m, bin, sizeof bin);
    }
    else if (variant == 1) {
        uint8_t bin[1024];
        for (size_t i = 0; i < sizeof bin; i++)
            bin[i] = (uint8_t) (i * 7 + 3);
        m->reqid = UINT64_MAX;
        m->job_id = UINT64_MAX - 1;
        m->delivery_id = UINT64_MAX - 2;
        m->run_id = UINT64_MAX - 3;
        m->value_seq = UINT64_MAX - 4;
        m->code = UINT32_MAX;
        m->state = 255;
        m->what = 255;
        m->flags = UINT32_MAX;
        m->attempt = UINT32_MAX;
        m->max_attempts = 0x80000000u;
        m->index = UINT32_MAX - 1;
        m->pid = 0x7fffffffu;
        m->worker_capacity = UINT32_MAX;
        m->recv_max = UINT32_MAX;
        m->sent_count = UINT32_MAX - 1;
        m->status = INT64_MIN;
        m->timeout = -1;
        m->submit_wait = -5;
        m->capacity = -6;
        m->delta = INT64_MIN;
        m->hb_interval = -7;
        m->hb_liveness = INT64_MAX;
        m->ended_at = -8;
        m->attempt_base = -9;
        m->runtime = INT64_MAX;
        m->counter = -1;
        m->added = INT64_MIN + 1;
        m->done = -256;
        m->succeeded = INT64_MAX - 1;
        m->failed = -0x0102030405060708LL;
        m->name = s_repeat('n', 255);
        m->wg = s_repeat('w', 255);
        m->chan = s_repeat('c', 255);
        m->key = s_repeat('\xff', 255);
        goro_msg_set_data(m, bin, sizeof bin);
        goro_msg_set_text(m, bin + 1, 300);
        char *longest = s_repeat('s', 255);
        s_add_str(m, longest);
        s_add_str(m, "");
        s_add_str(m, "\x01\x7f\x80\xfe");
        s_add_case(m, GORO_CASE_SEND, longest, bin, 512);
        s_add_case(m, GORO_CASE_RECV, longest, NULL, 0);
        s_add_case(m, 0xff, "x", bin, 1);
        /* together exactly at the 1024-byte bound the round trip sets */
        s_add_value(m, bin, 512);
        s_add_value(m, NULL, 0);
        s_add_value(m, bin + 512, 512);
        free(longest);
    }
    /* variant 2: all zero from goro_msg_new */
    return m;
}

static int
s_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int
s_bytes_eq(const void *a, size_t asize, const void *b, size_t bsize)
{
    return asize == bsize && (asize == 0 || memcmp(a, b, asize) == 0);
}

/* DEC came from decoding ORIG as ROW: every field ROW carries is equal
   (NULL and empty are the same on the wire), every other one is zero. */
static void
s_check_fields(const xrow_t *row, const goro_msg_t *orig,
               const goro_msg_t *dec)
{
    assert_int_equal(dec->cmd, row->cmd);
    assert_true(dec->reqid == orig->reqid);
#define NUM(X, f) \
    if (s_carries(row, X)) \
        assert_true(dec->f == orig->f); \
    else \
        assert_true(dec->f == 0)
    NUM(X_JOB_ID, job_id);
    NUM(X_DELIVERY_ID, delivery_id);
    NUM(X_RUN_ID, run_id);
    NUM(X_VALUE_SEQ, value_seq);
    NUM(X_CODE, code);
    NUM(X_STATE, state);
    NUM(X_WHAT, what);
    NUM(X_FLAGS, flags);
    NUM(X_ATTEMPT, attempt);
    NUM(X_MAX_ATTEMPTS, max_attempts);
    NUM(X_INDEX, index);
    NUM(X_PID, pid);
    NUM(X_WORKER_CAPACITY, worker_capacity);
    NUM(X_RECV_MAX, recv_max);
    NUM(X_SENT_COUNT, sent_count);
    NUM(X_LEASE_COUNT, lease_count);
    NUM(X_TAKEN_COUNT, taken_count);
    NUM(X_STATUS, status);
    NUM(X_TIMEOUT, timeout);
    NUM(X_SUBMIT_WAIT, submit_wait);
    NUM(X_CAPACITY, capacity);
    NUM(X_ROOM, room);
    NUM(X_DELTA, delta);
    NUM(X_HB_INTERVAL, hb_interval);
    NUM(X_HB_LIVENESS, hb_liveness);
    NUM(X_ENDED_AT, ended_at);
    NUM(X_ATTEMPT_BASE, attempt_base);
    NUM(X_RUNTIME, runtime);
    NUM(X_COUNTER, counter);
    NUM(X_ADDED, added);
    NUM(X_DONE, done);
    NUM(X_SUCCEEDED, succeeded);
    NUM(X_FAILED, failed);
#undef NUM
#define STR(X, f) \
    if (s_carries(row, X)) { \
        assert_non_null(dec->f); \
        assert_true(s_str_eq(dec->f, orig->f)); \
    } \
    else \
        assert_null(dec->f)
    STR(X_NAME, name);
    STR(X_WG, wg);
    STR(X_CHAN, chan);
    STR(X_KEY, key);
#undef STR
    if (s_carries(row, X_DATA))
        assert_true(s_bytes_eq(dec->data, dec->size, orig->data, orig->size));
    else {
        assert_null(dec->data);
        assert_int_equal(dec->size, 0);
    }
    if (s_carries(row, X_TEXT)) {
        assert_true(s_bytes_eq(dec->text, dec->text_size, orig->text,
                               orig->text_size));
        /* text is usable as a C string: the codec NUL-terminates it */
        assert_non_null(dec->text);
        assert_int_equal(dec->text[dec->text_size], 0);
    }
    else {
        assert_null(dec->text);
        assert_int_equal(dec->text_size, 0);
    }
    if (s_carries(row, X_STRS)) {
        assert_int_equal(dec->nstrs, orig->nstrs);
        for (size_t i = 0; i < dec->nstrs; i++) {
            assert_non_null(dec->strs[i]);
            assert_true(s_str_eq(dec->strs[i], orig->strs[i]));
        }
    }
    else
        assert_int_equal(dec->nstrs, 0);
    if (s_carries(row, X_CASES)) {
        assert_int_equal(dec->ncases, orig->ncases);
        for (size_t i = 0; i < dec->ncases; i++) {
            const goro_msg_case_t *a = &dec->cases[i], *b = &orig->cases[i];
            assert_int_equal(a->op, b->op);
            assert_non_null(a->chan);
            assert_true(s_str_eq(a->chan, b->chan));
            assert_true(s_bytes_eq(a->data, a->size, b->data, b->size));
        }
    }
    else
        assert_int_equal(dec->ncases, 0);
    if (s_carries(row, X_VALUES)) {
        assert_int_equal(dec->nvalues, orig->nvalues);
        for (size_t i = 0; i < dec->nvalues; i++)
            assert_true(
                s_bytes_eq(dec->values[i].data, dec->values[i].size,
                           orig->values[i].data, orig->values[i].size));
    }
    else
        assert_int_equal(dec->nvalues, 0);
}

/* Decodes SIZE bytes of DATA from a heap copy of exactly that size (so
   ASan sees any read past the end), watching the decoder's allocations:
   s_probe_max is the largest one. */
static int
s_decode(const void *data, size_t size, size_t max_value, goro_msg_t **out)
{
    uint8_t *copy = malloc(size);
    if (size) {
        assert_non_null(copy);
        memcpy(copy, data, size);
    }
    s_probe_start();
    int rc = goro_msg_decode(copy, size, max_value, out);
    s_probe_stop();
    free(copy);
    return rc;
}

/* The grammar row of CMD. */
static const xrow_t *
s_row(int cmd)
{
    for (size_t r = 0; r < NROWS; r++)
        if (s_grammar[r].cmd == cmd)
            return &s_grammar[r];
    fail_msg("no row for %d", cmd);
    return NULL;
}

static uint64_t
s_be64(const uint8_t *p)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | p[i];
    return value;
}

/* A decode that failed: with a sound 12-byte header the stub carries just
   cmd and reqid; without one there is no message. */
static void
s_check_stub(int rc, goro_msg_t *msg, const uint8_t *buf, size_t size)
{
    assert_true(rc == GORO_EPROTO || rc == GORO_ETOOBIG);
    if (size < 12 || buf[0] != 0xA7 || buf[1] != 0xC0) {
        assert_null(msg);
        return;
    }
    assert_non_null(msg);
    assert_int_equal(msg->cmd, buf[3]);
    assert_true(msg->reqid == s_be64(buf + 4));
    assert_null(msg->name);
    assert_null(msg->data);
    assert_null(msg->text);
    assert_null(msg->strs);
    assert_null(msg->cases);
    assert_null(msg->values);
    assert_true(msg->job_id == 0 && msg->size == 0 && msg->nstrs == 0
                && msg->ncases == 0 && msg->nvalues == 0);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_cmd_names(void **state)
{
    (void) state;
    for (size_t r = 0; r < NROWS; r++)
        assert_string_equal(goro_msg_cmd_name(s_grammar[r].cmd),
                            s_grammar[r].name);
    const int unknown[] = {-1, 0, 19, 25, 29, 36, 39, 65, 255, 256, 1000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(goro_msg_cmd_name(unknown[i]), "?");
    /* Every command id 0..255 is either in the grammar or unknown. */
    for (int cmd = 0; cmd < 256; cmd++) {
        int known = 0;
        for (size_t r = 0; r < NROWS; r++)
            known |= s_grammar[r].cmd == cmd;
        if (!known)
            assert_string_equal(goro_msg_cmd_name(cmd), "?");
    }
}

static void
test_header_constants(void **state)
{
    (void) state;
    assert_int_equal(GORO_MSG_SIGNATURE, 0xA7C0);
    assert_int_equal(GORO_MSG_VERSION, 1);
    assert_int_equal(GORO_MSG_HEADER, 12);
    assert_int_equal(GORO_MSG_STR_MAX, 255);
    assert_int_equal(GORO_MSG_LIST_MAX, 1024);
}

/* A byte-exact golden frame, written out by hand from PROTOCOL.md. */
static void
test_golden_submit(void **state)
{
    (void) state;
    static const uint8_t golden[] = {
        0xA7, 0xC0, 0x01, 0x02,                         /* header, SUBMIT */
        0,    0,    0,    0,    0,    0,    0x01, 0x00, /* reqid 256 */
        4,    'e',  'x',  'e',  'c',                    /* name */
        0,    0,    0,    8,    'e',  'c',  'h',  'o',
        0,    'h',  'i',  0,                            /* payload: argv */
        2,    'w',  '1',                                /* wg */
        0,                                              /* chan: none */
        0,                                              /* key: none */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x18, /* timeout -1000 */
        0,    0,    0,    3,                            /* max_attempts */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff  /* submit-wait -1 */
    };
    goro_msg_t *m = goro_msg_new(GORO_MSG_SUBMIT);
    m->reqid = 256;
    goro_msg_set_name(m, "exec");
    goro_msg_set_data(m, "echo\0hi\0", 8);
    goro_msg_set_str(&m->wg, "w1");
    m->timeout = -1000;
    m->max_attempts = 3;
    m->submit_wait = -1;
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    assert_int_equal(size, sizeof golden);
    assert_memory_equal(buf, golden, size);
    free(buf);
    goro_msg_destroy(&m);

    assert_int_equal(s_decode(golden, sizeof golden, 0, &m), GORO_OK);
    assert_int_equal(m->cmd, GORO_MSG_SUBMIT);
    assert_true(m->reqid == 256);
    assert_string_equal(m->name, "exec");
    assert_int_equal(m->size, 8);
    assert_memory_equal(m->data, "echo\0hi\0", 8);
    assert_string_equal(m->wg, "w1");
    assert_string_equal(m->chan, "");
    assert_string_equal(m->key, "");
    assert_true(m->timeout == -1000);
    assert_int_equal(m->max_attempts, 3);
    assert_true(m->submit_wait == -1);
    goro_msg_destroy(&m);
}

/* Every command, every variant: encode gives the bytes the grammar says,
   decode gives the fields back, and re-encoding is byte-identical. */
static void
test_roundtrip_all(void **state)
{
    (void) state;
    for (size_t r = 0; r < NROWS; r++) {
        const xrow_t *row = &s_grammar[r];
        for (int v = 0; v < NVARIANTS; v++) {
            goro_msg_t *m = s_make(row->cmd, v);
            uint8_t *buf;
            size_t size;
            assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
            xbuf_t want = {NULL, 0, 0};
            x_expected(row, m, &want);
            if (size != want.used || memcmp(buf, want.buf, size) != 0)
                fail_msg("%s variant %d: encoding differs from the grammar",
                         row->name, v);

            /* no bound, and a bound exactly at the largest value */
            const size_t bounds[] = {0, 1024};
            for (size_t b = 0; b < 2; b++) {
                goro_msg_t *dec = NULL;
                assert_int_equal(s_decode(buf, size, bounds[b], &dec),
                                 GORO_OK);
                s_check_fields(row, m, dec);
                uint8_t *again;
                size_t again_size;
                assert_int_equal(goro_msg_encode(dec, &again, &again_size),
                                 GORO_OK);
                assert_int_equal(again_size, size);
                assert_memory_equal(again, buf, size);
                free(again);
                goro_msg_destroy(&dec);
                assert_null(dec);
            }
            free(want.buf);
            free(buf);
            goro_msg_destroy(&m);
        }
    }
}

/* Lists at their limit of 1024 entries, 255 bytes each. */
static void
test_list_limits(void **state)
{
    (void) state;
    goro_msg_t *m = goro_msg_new(GORO_MSG_READY);
    char *longest = s_repeat('f', 255);
    for (int i = 0; i < GORO_MSG_LIST_MAX; i++)
        s_add_str(m, i % 2 ? longest : "");
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    goro_msg_t *dec;
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    assert_int_equal(dec->nstrs, GORO_MSG_LIST_MAX);
    assert_string_equal(dec->strs[1023], longest);
    assert_string_equal(dec->strs[1022], "");
    goro_msg_destroy(&dec);
    free(buf);
    s_add_str(m, "one too many");
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_SELECT);
    for (int i = 0; i < GORO_MSG_LIST_MAX; i++)
        s_add_case(m, (uint8_t) (1 + i % 2), longest, i % 2 ? "v" : NULL,
                   i % 2);
    m->timeout = 0;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    assert_int_equal(dec->ncases, GORO_MSG_LIST_MAX);
    assert_int_equal(dec->cases[1023].op, GORO_CASE_SEND);
    assert_int_equal(dec->cases[1023].size, 1);
    goro_msg_destroy(&dec);
    free(buf);
    s_add_case(m, GORO_CASE_RECV, "x", NULL, 0);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
    goro_msg_destroy(&m);
    free(longest);

    m = goro_msg_new(GORO_MSG_VALUES);
    for (int i = 0; i < GORO_MSG_LIST_MAX; i++)
        s_add_value(m, i % 2 ? "v" : NULL, i % 2);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    assert_int_equal(dec->nvalues, GORO_MSG_LIST_MAX);
    assert_int_equal(dec->values[1023].size, 1);
    goro_msg_destroy(&dec);
    free(buf);
    s_add_value(m, "x", 1);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
    goro_msg_destroy(&m);
}

/* Every proper prefix of every valid message fails cleanly. */
static void
test_truncation(void **state)
{
    (void) state;
    for (size_t r = 0; r < NROWS; r++) {
        for (int v = 0; v < NVARIANTS; v++) {
            goro_msg_t *m = s_make(s_grammar[r].cmd, v);
            uint8_t *buf;
            size_t size;
            assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
            for (size_t len = 0; len < size; len++) {
                goro_msg_t *dec = (goro_msg_t *) &dec; /* poison */
                int rc = s_decode(buf, len, 0, &dec);
                if (rc != GORO_EPROTO)
                    fail_msg("%s variant %d prefix %zu: rc %d",
                             s_grammar[r].name, v, len, rc);
                s_check_stub(rc, dec, buf, len);
                goro_msg_destroy(&dec);
            }
            free(buf);
            goro_msg_destroy(&m);
        }
    }
}

static void
test_trailing_byte(void **state)
{
    (void) state;
    for (size_t r = 0; r < NROWS; r++) {
        for (int v = 0; v < NVARIANTS; v++) {
            goro_msg_t *m = s_make(s_grammar[r].cmd, v);
            uint8_t *buf;
            size_t size;
            assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
            buf = util_realloc(buf, size + 1);
            buf[size] = 0;
            goro_msg_t *dec;
            int rc = s_decode(buf, size + 1, 0, &dec);
            assert_int_equal(rc, GORO_EPROTO);
            s_check_stub(rc, dec, buf, size + 1);
            assert_true(dec->reqid == m->reqid);
            goro_msg_destroy(&dec);
            free(buf);
            goro_msg_destroy(&m);
        }
    }
}

static void
test_bad_header(void **state)
{
    (void) state;
    goro_msg_t *m = s_make(GORO_MSG_CHAN_SEND, 0);
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    goro_msg_t *dec;

    /* wrong signature: dropped, no message */
    const uint8_t sigs[][2] = {
        {0xA7, 0xC1}, {0xC0, 0xA7}, {0, 0}, {0xff, 0xff}, {0x27, 0xC0}};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        uint8_t saved[2] = {buf[0], buf[1]};
        buf[0] = sigs[i][0];
        buf[1] = sigs[i][1];
        dec = (goro_msg_t *) &dec;
        assert_int_equal(s_decode(buf, size, 0, &dec), GORO_EPROTO);
        assert_null(dec);
        buf[0] = saved[0];
        buf[1] = saved[1];
    }

    /* wrong version: the stub keeps cmd and reqid for the ERROR reply */
    const uint8_t versions[] = {0, 2, 0x81, 255};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[2] = versions[i];
        assert_int_equal(s_decode(buf, size, 0, &dec), GORO_EPROTO);
        assert_non_null(dec);
        assert_int_equal(dec->cmd, GORO_MSG_CHAN_SEND);
        assert_true(dec->reqid == m->reqid);
        assert_null(dec->name);
        goro_msg_destroy(&dec);
    }
    buf[2] = 1;
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    goro_msg_destroy(&dec);

    /* a bare header of an unknown command, and one followed by bytes */
    const int unknown[] = {0, 19, 25, 29, 36, 128, 255};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        xbuf_t b = {NULL, 0, 0};
        x_header(&b, 1, unknown[i], 0xdeadbeefcafef00dULL);
        for (int extra = 0; extra < 2; extra++) {
            int rc = s_decode(b.buf, b.used, 0, &dec);
            assert_int_equal(rc, GORO_EPROTO);
            assert_non_null(dec);
            assert_int_equal(dec->cmd, unknown[i]);
            assert_true(dec->reqid == 0xdeadbeefcafef00dULL);
            goro_msg_destroy(&dec);
            x_be(&b, 0, 8);
        }
        free(b.buf);
    }

    /* the shortest valid frame is a bare 12-byte header */
    xbuf_t b = {NULL, 0, 0};
    x_header(&b, 1, GORO_MSG_PING, 0);
    assert_int_equal(s_decode(b.buf, b.used, 0, &dec), GORO_OK);
    assert_int_equal(dec->cmd, GORO_MSG_PING);
    goro_msg_destroy(&dec);
    free(b.buf);

    free(buf);
    goro_msg_destroy(&m);
}

/* Patches the byte at OFFSET of a fresh encoding of M to 0 and expects
   GORO_EPROTO with a stub. */
static void
s_expect_nul_rejected(goro_msg_t *m, size_t offset)
{
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    assert_true(offset < size);
    assert_int_not_equal(buf[offset], 0);
    buf[offset] = 0;
    goro_msg_t *dec;
    int rc = s_decode(buf, size, 0, &dec);
    assert_int_equal(rc, GORO_EPROTO);
    s_check_stub(rc, dec, buf, size);
    goro_msg_destroy(&dec);
    free(buf);
}

static void
test_nul_in_string(void **state)
{
    (void) state;
    /* SUBMIT name "abc": header, length byte, 'a' 'b' 'c' */
    goro_msg_t *m = goro_msg_new(GORO_MSG_SUBMIT);
    goro_msg_set_name(m, "abc");
    s_expect_nul_rejected(m, 12 + 1); /* first byte */
    s_expect_nul_rejected(m, 12 + 2); /* middle */
    s_expect_nul_rejected(m, 12 + 3); /* last */
    /* SUBMIT key "k" after name(1+3) data(4) wg(1) chan(1) */
    goro_msg_set_str(&m->key, "k");
    s_expect_nul_rejected(m, 12 + 4 + 4 + 1 + 1 + 1);
    goro_msg_destroy(&m);

    /* READY: an entry of the function list */
    m = goro_msg_new(GORO_MSG_READY);
    goro_msg_set_name(m, "w");
    s_add_str(m, "exec");
    s_add_str(m, "fn");
    /* name(2) pid(4) capacity(4) count(4) "exec"(5) len(1) 'f' */
    s_expect_nul_rejected(m, 12 + 2 + 4 + 4 + 4 + 5 + 1);
    goro_msg_destroy(&m);

    /* SELECT: a case's channel name; its value may hold NULs */
    m = goro_msg_new(GORO_MSG_SELECT);
    s_add_case(m, GORO_CASE_SEND, "ch", "\0\0", 2);
    s_expect_nul_rejected(m, 12 + 4 + 1 + 1 + 1);
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    goro_msg_t *dec;
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    assert_int_equal(dec->cases[0].size, 2);
    goro_msg_destroy(&dec);
    free(buf);
    goro_msg_destroy(&m);
}

static void
s_expect_toobig(goro_msg_t *m, size_t largest)
{
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    goro_msg_t *dec;
    assert_int_equal(s_decode(buf, size, largest, &dec), GORO_OK);
    goro_msg_destroy(&dec);
    assert_int_equal(s_decode(buf, size, 0, &dec), GORO_OK);
    goro_msg_destroy(&dec);
    int rc = s_decode(buf, size, largest - 1, &dec);
    assert_int_equal(rc, GORO_ETOOBIG);
    s_check_stub(rc, dec, buf, size);
    assert_true(dec->reqid == m->reqid);
    goro_msg_destroy(&dec);
    free(buf);
}

static void
test_too_big(void **state)
{
    (void) state;
    uint8_t value[100];
    memset(value, 0x5a, sizeof value);

    goro_msg_t *m = goro_msg_new(GORO_MSG_CHAN_SEND);
    m->reqid = 77;
    goro_msg_set_name(m, "c");
    goro_msg_set_data(m, value, sizeof value);
    s_expect_toobig(m, sizeof value);
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_ERROR); /* text is bounded too */
    m->reqid = 78;
    goro_msg_set_text(m, value, 60);
    s_expect_toobig(m, 60);
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_SELECT); /* and each case value */
    m->reqid = 79;
    s_add_case(m, GORO_CASE_SEND, "a", value, 10);
    s_add_case(m, GORO_CASE_SEND, "b", value, 50);
    s_expect_toobig(m, 50);
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_CHAN_SEND_MANY); /* a batch as a whole */
    m->reqid = 80;
    goro_msg_set_name(m, "c");
    s_add_value(m, value, 30);
    s_add_value(m, value, 30);
    s_add_value(m, value, 40);
    s_expect_toobig(m, 100);
    goro_msg_destroy(&m);

    /* A declared length beyond the frame with no bound: EPROTO, and
       nothing of the declared size is allocated. */
    xbuf_t b = {NULL, 0, 0};
    x_header(&b, 1, GORO_MSG_OK, 5);
    x_be(&b, 1, 8);
    x_be(&b, 0xffffffffu, 4);
    x_put(&b, "short", 5);
    goro_msg_t *dec;
    int rc = s_decode(b.buf, b.used, 0, &dec);
    size_t biggest = s_probe_max;
    assert_int_equal(rc, GORO_EPROTO);
    s_check_stub(rc, dec, b.buf, b.used);
    goro_msg_destroy(&dec);
    assert_true(biggest < 4096);
    /* with a bound, the bound wins */
    assert_int_equal(s_decode(b.buf, b.used, 1000, &dec), GORO_ETOOBIG);
    goro_msg_destroy(&dec);
    free(b.buf);
}

/* Builds a READY, SELECT or CHAN_SEND_MANY frame whose list declares
   COUNT entries and
   holds EXTRA filler bytes, and expects EPROTO without a large
   allocation. */
static void
s_expect_bad_count(int cmd, uint32_t count, size_t extra)
{
    xbuf_t b = {NULL, 0, 0};
    x_header(&b, 1, cmd, 4242);
    if (cmd == GORO_MSG_READY) {
        x_str(&b, "w");
        x_be(&b, 1, 4);
        x_be(&b, 1, 4);
    }
    if (cmd == GORO_MSG_CHAN_SEND_MANY)
        x_str(&b, "c");
    x_be(&b, count, 4);
    for (size_t i = 0; i < extra; i++)
        x_be(&b, 0, 1);
    goro_msg_t *dec;
    int rc = s_decode(b.buf, b.used, 0, &dec);
    size_t biggest = s_probe_max;
    if (rc != GORO_EPROTO)
        fail_msg("cmd %d count %u extra %zu: rc %d", cmd, count, extra, rc);
    s_check_stub(rc, dec, b.buf, b.used);
    assert_true(dec->reqid == 4242);
    goro_msg_destroy(&dec);
    /* a decoder that trusted the count would allocate count pointers or
       cases; the frame backs no more than a few hundred bytes */
    if (biggest > 2048)
        fail_msg("cmd %d count %u: allocated %zu bytes", cmd, count, biggest);
    free(b.buf);
}

static void
test_bad_counts(void **state)
{
    (void) state;
    const int cmds[] = {GORO_MSG_READY, GORO_MSG_SELECT,
                        GORO_MSG_CHAN_SEND_MANY};
    for (size_t c = 0; c < 3; c++) {
        s_expect_bad_count(cmds[c], 0xffffffffu, 0);
        s_expect_bad_count(cmds[c], 0x80000000u, 16);
        s_expect_bad_count(cmds[c], 0x40000001u, 16); /* *4 wraps 32 bits */
        s_expect_bad_count(cmds[c], GORO_MSG_LIST_MAX + 1, 0);
        /* over the limit even though the frame holds enough bytes */
        s_expect_bad_count(cmds[c], GORO_MSG_LIST_MAX + 1,
                           (GORO_MSG_LIST_MAX + 1) * 6 + 8);
        /* within the limit, but the frame cannot hold that many */
        s_expect_bad_count(cmds[c], GORO_MSG_LIST_MAX, 40);
        s_expect_bad_count(cmds[c], 2, 0);
    }
}

static void
test_encode_limits(void **state)
{
    (void) state;
    char *s255 = s_repeat('a', 255);
    char *s256 = s_repeat('a', 256);
    uint8_t *buf = NULL;
    size_t size = 0;

    /* each string field of SUBMIT at 255 is fine, at 256 refused */
    char **fields[4];
    goro_msg_t *m = goro_msg_new(GORO_MSG_SUBMIT);
    fields[0] = &m->name;
    fields[1] = &m->wg;
    fields[2] = &m->chan;
    fields[3] = &m->key;
    for (int f = 0; f < 4; f++) {
        goro_msg_set_str(fields[f], s255);
        assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
        free(buf);
        goro_msg_set_str(fields[f], s256);
        buf = NULL;
        assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
        assert_null(buf);
        goro_msg_set_str(fields[f], s255);
    }
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_READY);
    s_add_str(m, "ok");
    s_add_str(m, s256);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
    goro_msg_destroy(&m);

    m = goro_msg_new(GORO_MSG_SELECT);
    s_add_case(m, GORO_CASE_RECV, s256, NULL, 0);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
    goro_msg_destroy(&m);

    /* a 256-byte string in a field the command does not carry is ignored */
    m = goro_msg_new(GORO_MSG_PING);
    goro_msg_set_name(m, s256);
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);
    assert_int_equal(size, 12);
    free(buf);
    goro_msg_destroy(&m);

    /* commands with no grammar cannot be encoded */
    const int unknown[] = {0, 19, 25, 36, 255};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        m = goro_msg_new(unknown[i]);
        assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_EINVAL);
        goro_msg_destroy(&m);
    }
    free(s255);
    free(s256);
}

static void
test_setters(void **state)
{
    (void) state;
    goro_msg_t *m = goro_msg_new(GORO_MSG_OK);
    goro_msg_set_data(m, NULL, 0);
    assert_null(m->data);
    assert_int_equal(m->size, 0);
    goro_msg_set_data(m, "", 0); /* empty but present */
    assert_non_null(m->data);
    assert_int_equal(m->size, 0);
    goro_msg_set_data(m, "a\0b", 3);
    assert_int_equal(m->size, 3);
    assert_memory_equal(m->data, "a\0b", 3);
    uint8_t *owned = util_memdup("xyz", 3);
    goro_msg_take_data(m, &owned, 3);
    assert_null(owned);
    assert_int_equal(m->size, 3);
    assert_memory_equal(m->data, "xyz", 3);
    goro_msg_take_data(m, &owned, 99); /* NULL: size follows */
    assert_null(m->data);
    assert_int_equal(m->size, 0);
    goro_msg_set_text(m, "err", 3);
    assert_string_equal(m->text, "err");
    goro_msg_set_text(m, NULL, 5);
    assert_null(m->text);
    assert_int_equal(m->text_size, 0);
    goro_msg_set_name(m, "one");
    goro_msg_set_name(m, "two");
    assert_string_equal(m->name, "two");
    goro_msg_set_name(m, NULL);
    assert_null(m->name);
    goro_msg_destroy(&m);
    assert_null(m);
    goro_msg_destroy(&m); /* NULL is fine */
    goro_msg_destroy(NULL);
}

static uint64_t
s_rand(void)
{
    static uint64_t rng = 0x9E3779B97F4A7C15ULL;
    return xorshift_next(&rng);
}

static size_t
s_below(size_t n)
{
    return (size_t) (s_rand() % n);
}

#define MUTATIONS 20000

static void
test_mutation(void **state)
{
    (void) state;
    /* corpus: every command in every variant */
    size_t ncorpus = NROWS * NVARIANTS;
    uint8_t **corpus = util_zalloc(sizeof *corpus * ncorpus);
    size_t *sizes = util_zalloc(sizeof *sizes * ncorpus);
    for (size_t i = 0; i < ncorpus; i++) {
        goro_msg_t *m = s_make(s_grammar[i / NVARIANTS].cmd,
                               (int) (i % NVARIANTS));
        assert_int_equal(goro_msg_encode(m, &corpus[i], &sizes[i]), GORO_OK);
        goro_msg_destroy(&m);
    }
    size_t accepted = 0, rejected = 0, toobig = 0;
    for (int iter = 0; iter < MUTATIONS; iter++) {
        size_t pick = s_below(ncorpus);
        size_t size = sizes[pick];
        size_t room = size + 16;
        uint8_t *buf = util_zalloc(room);
        memcpy(buf, corpus[pick], size);
        int edits = 1 + (int) s_below(4);
        for (int e = 0; e < edits; e++) {
            /* mostly past the signature, else every frame dies early */
            size_t lo = s_below(10) ? 2 : 0;
            size_t at = size > lo ? lo + s_below(size - lo) : 0;
            switch (s_below(6)) {
                case 0:
                    if (size)
                        buf[at] ^= (uint8_t) (1u << s_below(8));
                    break;
                case 1:
                    if (size)
                        buf[at] = (uint8_t) s_rand();
                    break;
                case 2:
                    if (size)
                        buf[at] = s_below(2) ? 0xff : 0;
                    break;
                case 3: size = size ? s_below(size) : 0; break; /* cut */
                case 4:                                         /* grow */
                    if (size < room)
                        buf[size++] = (uint8_t) s_rand();
                    break;
                case 5: /* a length or count byte set high */
                    if (size)
                        buf[at] = (uint8_t) (0x80 | s_rand());
                    break;
            }
        }
        size_t max_value = s_below(3) == 0 ? 0 : s_below(2048);
        goro_msg_t *dec = NULL;
        int rc = s_decode(buf, size, max_value, &dec);
        if (rc == GORO_OK) {
            accepted++;
            assert_non_null(dec);
            /* whatever decodes re-encodes to the very same bytes */
            uint8_t *again;
            size_t again_size;
            assert_int_equal(goro_msg_encode(dec, &again, &again_size),
                             GORO_OK);
            assert_int_equal(again_size, size);
            assert_memory_equal(again, buf, size);
            free(again);
        }
        else {
            rc == GORO_ETOOBIG ? toobig++ : rejected++;
            s_check_stub(rc, dec, buf, size);
        }
        goro_msg_destroy(&dec);
        free(buf);
    }
    print_message("mutation: %zu accepted, %zu EPROTO, %zu ETOOBIG\n",
                  accepted, rejected, toobig);
    /* the loop exercised both sides */
    assert_true(accepted > 100);
    assert_true(rejected > 1000);
    assert_true(toobig > 10);
    for (size_t i = 0; i < ncorpus; i++)
        free(corpus[i]);
    free(corpus);
    free(sizes);
}

/* ---- over real sockets ----------------------------------------------- */

typedef struct {
    void *ctx, *router, *dealer;
} pair_t;

static void
s_pair_open(pair_t *p, const char *endpoint)
{
    p->ctx = zmq_ctx_new();
    assert_non_null(p->ctx);
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
    assert_non_null(p->router);
    assert_non_null(p->dealer);
    int linger = 0;
    zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_setsockopt(p->dealer, ZMQ_ROUTING_ID, "client-1", 8),
                     0);
    assert_int_equal(zmq_bind(p->router, endpoint), 0);
    assert_int_equal(zmq_connect(p->dealer, endpoint), 0);
}

static void
s_pair_close(pair_t *p)
{
    zmq_close(p->dealer);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
}

/* Waits up to 2 s for SOCKET to have a message. */
static void
s_wait_readable(void *socket)
{
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 2000), 1);
}

static void
test_socket_roundtrip(void **state)
{
    (void) state;
    pair_t p;
    s_pair_open(&p, "inproc://test-codec-1");
    goro_msg_t *dec = (goro_msg_t *) &dec;
    goro_rid_t rid;

    /* nothing waiting */
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid),
                     GORO_EUNAVAILABLE);
    assert_null(dec);
    assert_int_equal(goro_msg_recv(p.dealer, 0, &dec, NULL),
                     GORO_EUNAVAILABLE);

    /* client -> daemon: every variant of SUBMIT */
    for (int v = 0; v < NVARIANTS; v++) {
        goro_msg_t *m = s_make(GORO_MSG_SUBMIT, v);
        assert_int_equal(goro_msg_send(m, p.dealer, NULL), GORO_OK);
        s_wait_readable(p.router);
        memset(&rid, 0, sizeof rid);
        assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid), GORO_OK);
        assert_int_equal(rid.size, 8);
        assert_memory_equal(rid.data, "client-1", 8);
        s_check_fields(s_row(GORO_MSG_SUBMIT), m, dec);
        goro_msg_destroy(&dec);

        /* daemon -> client, addressed by the routing id */
        goro_msg_t *reply = s_make(GORO_MSG_JOB, v);
        assert_int_equal(goro_msg_send(reply, p.router, &rid), GORO_OK);
        s_wait_readable(p.dealer);
        assert_int_equal(goro_msg_recv(p.dealer, 0, &dec, NULL), GORO_OK);
        s_check_fields(s_row(GORO_MSG_JOB), reply, dec);
        goro_msg_destroy(&dec);
        goro_msg_destroy(&reply);
        goro_msg_destroy(&m);
    }

    /* a value over the bound: ETOOBIG, the stub keeps the reqid */
    goro_msg_t *m = goro_msg_new(GORO_MSG_CHAN_SEND);
    m->reqid = 99;
    goro_msg_set_name(m, "c");
    goro_msg_set_data(m, "0123456789", 10);
    assert_int_equal(goro_msg_send(m, p.dealer, NULL), GORO_OK);
    s_wait_readable(p.router);
    assert_int_equal(goro_msg_recv(p.router, 9, &dec, &rid), GORO_ETOOBIG);
    assert_non_null(dec);
    assert_true(dec->reqid == 99);
    assert_null(dec->data);
    goro_msg_destroy(&dec);
    goro_msg_destroy(&m);

    /* an encoding error is reported and nothing goes out */
    m = goro_msg_new(0);
    assert_int_equal(goro_msg_send(m, p.dealer, NULL), GORO_EINVAL);
    goro_msg_destroy(&m);

    s_pair_close(&p);
}

static void
test_socket_malformed(void **state)
{
    (void) state;
    pair_t p;
    s_pair_open(&p, "inproc://test-codec-2");
    goro_msg_t *dec;
    goro_rid_t rid;

    goro_msg_t *m = s_make(GORO_MSG_WAIT, 0);
    m->reqid = 0xabcdef;
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(m, &buf, &size), GORO_OK);

    /* a valid message followed by a second frame: EPROTO, stub reqid */
    assert_int_equal(zmq_send(p.dealer, buf, size, ZMQ_SNDMORE), (int) size);
    assert_int_equal(zmq_send(p.dealer, "junk", 4, 0), 4);
    /* then three frames whose first is garbage: EPROTO, no message */
    assert_int_equal(zmq_send(p.dealer, "xx", 2, ZMQ_SNDMORE), 2);
    assert_int_equal(zmq_send(p.dealer, "yy", 2, ZMQ_SNDMORE), 2);
    assert_int_equal(zmq_send(p.dealer, buf, size, 0), (int) size);
    /* an empty frame: EPROTO, no message */
    assert_int_equal(zmq_send(p.dealer, "", 0, 0), 0);
    /* and a good one after all that: the extra frames were drained */
    assert_int_equal(goro_msg_send(m, p.dealer, NULL), GORO_OK);

    s_wait_readable(p.router);
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid), GORO_EPROTO);
    assert_non_null(dec);
    assert_int_equal(dec->cmd, GORO_MSG_WAIT);
    assert_true(dec->reqid == 0xabcdef);
    assert_true(dec->job_id == 0 && dec->timeout == 0);
    assert_int_equal(rid.size, 8);
    assert_memory_equal(rid.data, "client-1", 8);
    goro_msg_destroy(&dec);

    s_wait_readable(p.router);
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid), GORO_EPROTO);
    assert_null(dec);
    assert_memory_equal(rid.data, "client-1", 8);

    s_wait_readable(p.router);
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid), GORO_EPROTO);
    assert_null(dec);

    s_wait_readable(p.router);
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid), GORO_OK);
    s_check_fields(s_row(GORO_MSG_WAIT), m, dec);
    goro_msg_destroy(&dec);
    assert_int_equal(goro_msg_recv(p.router, 0, &dec, &rid),
                     GORO_EUNAVAILABLE);

    /* the same on the DEALER side: a 2-frame message from the ROUTER */
    rid.size = 8;
    memcpy(rid.data, "client-1", 8);
    assert_int_equal(zmq_send(p.router, rid.data, rid.size, ZMQ_SNDMORE), 8);
    assert_int_equal(zmq_send(p.router, buf, size, ZMQ_SNDMORE), (int) size);
    assert_int_equal(zmq_send(p.router, "", 0, 0), 0);
    s_wait_readable(p.dealer);
    assert_int_equal(goro_msg_recv(p.dealer, 0, &dec, NULL), GORO_EPROTO);
    assert_non_null(dec);
    assert_true(dec->reqid == 0xabcdef);
    goro_msg_destroy(&dec);
    assert_int_equal(goro_msg_recv(p.dealer, 0, &dec, NULL),
                     GORO_EUNAVAILABLE);

    free(buf);
    goro_msg_destroy(&m);
    s_pair_close(&p);
}

/* Sends that cannot go out fail with GORO_EUNAVAILABLE and free the
   encoded frame (ASan's leak check is the assertion). */
static void
test_socket_unavailable(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one), 0);
    assert_int_equal(zmq_bind(router, "inproc://test-codec-3"), 0);

    goro_msg_t *m = s_make(GORO_MSG_DISPATCH, 0);
    goro_rid_t rid = {5, "ghost"};
    assert_int_equal(goro_msg_send(m, router, &rid), GORO_EUNAVAILABLE);
    /* a DEALER with no peer cannot take a message without blocking */
    assert_int_equal(goro_msg_send(m, dealer, NULL), GORO_EUNAVAILABLE);
    goro_msg_destroy(&m);

    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_names),
        cmocka_unit_test(test_header_constants),
        cmocka_unit_test(test_golden_submit),
        cmocka_unit_test(test_roundtrip_all),
        cmocka_unit_test(test_list_limits),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_trailing_byte),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_bad_counts),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_mutation),
        cmocka_unit_test(test_socket_roundtrip),
        cmocka_unit_test(test_socket_malformed),
        cmocka_unit_test(test_socket_unavailable),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
