/*  test_chan (integration) - channels and select through a real gorod,
    libgoro in several processes, real workers and the real `goro` CLI.

    Other processes are this program again: the test forks and execs
    itself as `test_chan --child ROLE ENDPOINT ARG...` through
    harness_spawn(), and the child makes its own goro_t (a process with
    libzmq threads cannot use them after a plain fork). A child reports
    through its exit code (the libgoro code, or 100+ for its own checks)
    and files in the harness dir.

    Nothing waits by sleeping: parked operations are observed in the
    daemon (`stats` JSON channel_list senders/receivers, parked_clients),
    files are polled, and every wait has a bound.

    Batches (goro_chan_send_many / goro_chan_recv_many) across processes:
    order, a batch larger than the buffer's room, a close in mid-batch,
    and a receiver killed before its one ACK.

    Also measured, printed, never asserted: the unbuffered ping-pong
    round trip between two processes and buffered streaming of 100-byte
    values (lines starting "MEASURE").
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef GORO_TEST_BIN_DIR
#error "GORO_TEST_BIN_DIR must name the directory of integ_fanin_worker"
#endif

#define T_POOL1 "pools:\n  - name: default\n    processes: 1\n"
#define T_NO_POOL "pools: []\n"
#define T_STREAM_VALUES 1000
#define T_RACERS 8
#define T_RACE_VALUES 10
#define T_PINGPONGS 2000
#define T_BLAST_VALUES 20000
#define T_BLAST_SIZE 100

/* ------------------------------------------------------------------ */
/*  Child roles                                                       */
/* ------------------------------------------------------------------ */

/* Writes SIZE bytes of DATA to PATH whole (by rename). */
static int
s_write_whole(const char *path, const void *data, size_t size)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen(tmp, "wb");
    if (!file)
        return -1;
    size_t put = size ? fwrite(data, 1, size, file) : 0;
    if (fclose(file) != 0 || put != size)
        return -1;
    return rename(tmp, path);
}

static int64_t
s_arg_ms(const char *text)
{
    return strtoll(text, NULL, 10);
}

/* send CHAN VALUE TIMEOUT [FLAG DONE]: sends; with FLAG, checks after
   the send returned that FLAG exists (the receiver wrote it before it
   received), then writes DONE. */
static int
s_child_send(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    int rc = goro_chan_send(client, argv[0], argv[1], strlen(argv[1]),
                            s_arg_ms(argv[2]));
    if (rc == GORO_OK && argc >= 5) {
        if (access(argv[3], F_OK) != 0)
            return 102; /* returned before the receiver came */
        if (s_write_whole(argv[4], "sent\n", 5) != 0)
            return 103;
    }
    return rc;
}

/* recv CHAN TIMEOUT OUT: receives and writes the value to OUT. */
static int
s_child_recv(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, argv[0], s_arg_ms(argv[1]), &data, &len);
    if (rc == GORO_OK && s_write_whole(argv[2], data, len) != 0)
        rc = 103;
    goro_free(data);
    return rc;
}

/* stream CHAN N SIZE: sends N values ("0", "1", ... padded with '.' to
   SIZE bytes if SIZE is larger), then closes CHAN. */
static int
s_child_stream(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    long n = strtol(argv[1], NULL, 10);
    size_t size = (size_t) strtol(argv[2], NULL, 10);
    char *value = malloc(size + 32);
    for (long i = 0; i < n; i++) {
        int len = snprintf(value, 32, "%ld", i);
        size_t total = (size_t) len;
        if (size > total) {
            memset(value + total, '.', size - total);
            total = size;
        }
        int rc = goro_chan_send(client, argv[0], value, total, 20000);
        if (rc) {
            free(value);
            return rc;
        }
    }
    free(value);
    return goro_chan_close(client, argv[0]);
}

/* recvn CHAN N OUT: receives N values, writes them to OUT one a line,
   then waits to be killed, holding what it read ahead. */
static int
s_child_recvn(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    long n = strtol(argv[1], NULL, 10);
    char text[4096] = "";
    size_t used = 0;
    for (long i = 0; i < n; i++) {
        void *data = NULL;
        size_t len = 0;
        int rc = goro_chan_recv(client, argv[0], 10000, &data, &len);
        if (rc)
            return rc;
        used += (size_t) snprintf(text + used, sizeof text - used, "%.*s\n",
                                  (int) len, (char *) data);
        goro_free(data);
    }
    if (s_write_whole(argv[2], text, used) != 0)
        return 103;
    for (;;)
        pause();
}

/* select A B OUT: selects on receives from A and B until it gets the
   value "stop", then writes the values it got to OUT, one a line. */
static int
s_child_select(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    size_t cap = 4096, used = 0;
    char *got = malloc(cap);
    got[0] = '\0';
    int rc;
    for (;;) {
        goro_case_t cases[2] = {
            {GORO_CASE_RECV, argv[0], NULL, 0, 0},
            {GORO_CASE_RECV, argv[1], NULL, 0, 0},
        };
        size_t fired = 2;
        rc = goro_select(client, cases, 2, 30000, &fired);
        if (rc)
            break;
        if (fired > 1) {
            rc = 104;
            break;
        }
        goro_case_t *c = &cases[fired];
        if (c->closed) {
            rc = 105;
            break;
        }
        if (c->len == 4 && memcmp(c->data, "stop", 4) == 0) {
            goro_free(c->data);
            break;
        }
        if (used + c->len + 2 > cap) {
            cap = (used + c->len + 2) * 2;
            got = realloc(got, cap);
        }
        memcpy(got + used, c->data, c->len);
        used += c->len;
        got[used++] = '\n';
        goro_free(c->data);
    }
    if (rc == GORO_OK && s_write_whole(argv[2], got, used) != 0)
        rc = 103;
    free(got);
    return rc;
}

/* echo PING PONG: receives from PING and sends each value back on PONG
   until PING is closed. */
static int
s_child_echo(goro_t *client, int argc, char **argv)
{
    if (argc < 2)
        return 101;
    for (;;) {
        void *data = NULL;
        size_t len = 0;
        int rc = goro_chan_recv(client, argv[0], 30000, &data, &len);
        if (rc == GORO_ECLOSED)
            return 0;
        if (rc)
            return rc;
        rc = goro_chan_send(client, argv[1], data, len, 30000);
        goro_free(data);
        if (rc)
            return rc;
    }
}

/* sendmany CHAN N TIMEOUT OUT [close]: one goro_chan_send_many of N
   values "v0", "v1", ...; writes "RC SENT" to OUT, then closes CHAN if
   asked. */
static int
s_child_sendmany(goro_t *client, int argc, char **argv)
{
    if (argc < 4)
        return 101;
    size_t n = (size_t) strtol(argv[1], NULL, 10);
    char(*texts)[16] = calloc(n ? n : 1, sizeof *texts);
    const void **datas = calloc(n ? n : 1, sizeof *datas);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        lens[i] = (size_t) snprintf(texts[i], sizeof texts[i], "v%zu", i);
        datas[i] = texts[i];
    }
    size_t sent = 0;
    int rc = goro_chan_send_many(client, argv[0], n, datas, lens,
                                 s_arg_ms(argv[2]), &sent);
    char line[64];
    int len = snprintf(line, sizeof line, "%d %zu", rc, sent);
    if (s_write_whole(argv[3], line, (size_t) len) != 0)
        rc = 103;
    else if (argc >= 5 && strcmp(argv[4], "close") == 0)
        rc = goro_chan_close(client, argv[0]);
    else
        rc = 0;
    free(texts);
    free(datas);
    free(lens);
    return rc;
}

/* recvmany CHAN MAX TIMEOUT OUT: one goro_chan_recv_many; writes the
   values to OUT, one a line. */
static int
s_child_recvmany(goro_t *client, int argc, char **argv)
{
    if (argc < 4)
        return 101;
    size_t max = (size_t) strtol(argv[1], NULL, 10), got = 0;
    void **datas = calloc(max, sizeof *datas);
    size_t *lens = calloc(max, sizeof *lens);
    int rc = goro_chan_recv_many(client, argv[0], max, s_arg_ms(argv[2]),
                                 datas, lens, &got);
    size_t used = 0;
    char *text = malloc(max * 32 + 1);
    for (size_t i = 0; i < got; i++) {
        used += (size_t) snprintf(text + used, 32, "%.*s\n", (int) lens[i],
                                  (const char *) datas[i]);
        goro_free(datas[i]);
    }
    if (rc == GORO_OK && s_write_whole(argv[3], text, used) != 0)
        rc = 103;
    free(text);
    free(datas);
    free(lens);
    return rc;
}

/* selfselect CHAN OUT: one select with a send ("self") and a receive on
   CHAN; writes "INDEX VALUE" of the case that fired to OUT. */
static int
s_child_selfselect(goro_t *client, int argc, char **argv)
{
    if (argc < 2)
        return 101;
    goro_case_t cases[2] = {
        {GORO_CASE_SEND, argv[0], "self", 4, 0},
        {GORO_CASE_RECV, argv[0], NULL, 0, 0},
    };
    size_t fired = 2;
    int rc = goro_select(client, cases, 2, 30000, &fired);
    if (rc)
        return rc;
    char line[64];
    int len = snprintf(line, sizeof line, "%zu %.*s", fired,
                       fired == 1 ? (int) cases[1].len : 0,
                       fired == 1 ? (const char *) cases[1].data : "");
    goro_free(cases[1].data);
    return s_write_whole(argv[1], line, (size_t) len) ? 103 : 0;
}

static const harness_role_t s_roles[] = {
    {"send", s_child_send},
    {"recv", s_child_recv},
    {"recvn", s_child_recvn},
    {"stream", s_child_stream},
    {"select", s_child_select},
    {"echo", s_child_echo},
    {"sendmany", s_child_sendmany},
    {"recvmany", s_child_recvmany},
    {"selfselect", s_child_selfselect},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

/* The state of each test is its harness_t * (NULL until harness_up). */
#define H ((harness_t *) *state)

/* Waits for a child to exit by itself; its exit code, -1 if it did not
   within TIMEOUT_MS (then it is killed). */
static int
s_child_exit(harness_t *h, pid_t pid, int64_t timeout_ms)
{
    return harness_signal(h, pid, 0, timeout_ms);
}

/* Non-zero while PID has not exited (a zombie counts as exited). */
static int
s_alive(pid_t pid)
{
    return harness_wait_dead(pid, 0) != 0;
}

/* Waits until NAME has SENDERS and RECEIVERS parked (-1: any). */
static void
s_wait_parked(harness_t *h, const char *name, long long senders,
              long long receivers)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    harness_chan_t row = {-1, -1, -1, -1, 0};
    do {
        if (harness_chan_row(h, name, &row) == 0
            && (senders < 0 || row.senders == senders)
            && (receivers < 0 || row.receivers == receivers))
            return;
    } while (harness_nap(until));
    fail_msg("channel %s: %lld senders, %lld receivers parked; expected "
             "%lld, %lld",
             name, row.senders, row.receivers, senders, receivers);
}

static void
s_expect_row(harness_t *h, const char *name, long long buffered,
             long long senders, long long receivers)
{
    harness_chan_t row;
    assert_int_equal(harness_chan_row(h, name, &row), 0);
    if (row.buffered != buffered || row.senders != senders
        || row.receivers != receivers)
        fail_msg("channel %s: buffered %lld senders %lld receivers %lld; "
                 "expected %lld %lld %lld",
                 name, row.buffered, row.senders, row.receivers, buffered,
                 senders, receivers);
}

static void
s_send_ok(goro_t *client, const char *chan, const char *text)
{
    int rc = goro_chan_send(client, chan, text, strlen(text), 10000);
    if (rc)
        fail_msg("send %s on %s: %s", text, chan, goro_strerror(rc));
}

/* Receives within TIMEOUT_MS and expects TEXT. */
static void
s_recv_expect(goro_t *client, const char *chan, int64_t timeout_ms,
              const char *text)
{
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, chan, timeout_ms, &data, &len);
    if (rc)
        fail_msg("recv %s: %s (expected \"%s\")", chan, goro_strerror(rc),
                 text);
    if (len != strlen(text) || memcmp(data, text, len) != 0)
        fail_msg("recv %s: got \"%.*s\", expected \"%s\"", chan, (int) len,
                 (const char *) data, text);
    goro_free(data);
}

static void
s_recv_nothing(goro_t *client, const char *chan)
{
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, chan, 0, &data, &len);
    if (rc != GORO_ETIMEDOUT)
        fail_msg("recv %s: %s, \"%.*s\"; expected nothing", chan,
                 goro_strerror(rc), (int) len, data ? (char *) data : "");
}

/* Runs `sh -c SCRIPT` in the harness dir; its exit code. */
static int
s_sh(harness_t *h, const char *script, char **out)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    return harness_run(harness_dir(h), argv, out, NULL, HARNESS_WAIT_MS * 3);
}

static int
s_cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ */
/*  Rendezvous, streaming, timeouts, close                            */
/* ------------------------------------------------------------------ */

/* An unbuffered send returns only once a receiver took the value: the
   sender (another process) stays parked until we, the late receiver,
   come; when its send returns it finds the flag we wrote just before
   receiving. */
static void
test_unbuffered_rendezvous(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "U", 0), GORO_OK);
    const char *flag = harness_path(H, "receiver-came");
    const char *done = harness_path(H, "sender-returned");
    pid_t sender = harness_spawn_role(H, "send", "U", "hello", "-1", flag,
                                      done, NULL);

    s_wait_parked(H, "U", 1, 0);  /* blocked in the daemon */
    assert_true(s_alive(sender)); /* and its send has not returned */
    assert_int_not_equal(access(done, F_OK), 0);
    s_expect_row(H, "U", 0, 1, 0); /* the value is in no buffer */

    assert_int_equal(harness_write_file(flag, "now\n"), 0);
    s_recv_expect(client, "U", 10000, "hello");
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
    assert_int_equal(access(done, F_OK), 0);
    s_expect_row(H, "U", 0, 0, 0);
}

/* 1,000 values from one process to another through a small buffer
   arrive complete and in order, then "closed". */
static void
test_buffered_stream_in_order(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "S", 8), GORO_OK);
    char n[16];
    snprintf(n, sizeof n, "%d", T_STREAM_VALUES);
    pid_t sender = harness_spawn_role(H, "stream", "S", n, "0", NULL);
    for (int i = 0; i < T_STREAM_VALUES; i++) {
        char expected[16];
        snprintf(expected, sizeof expected, "%d", i);
        s_recv_expect(client, "S", 20000, expected);
    }
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(client, "S", 20000, &data, &len),
                     GORO_ECLOSED);
    assert_null(data);
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
}

/* A send on a full buffered channel blocks, and completes as soon as a
   receive frees a slot: nobody has to take its own value. */
static void
test_buffered_send_blocks_while_full(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "F", 1), GORO_OK);
    s_send_ok(client, "F", "a");
    const char *done = harness_path(H, "b-sent");
    const char *flag = harness_path(H, "a-taken");
    pid_t sender = harness_spawn_role(H, "send", "F", "b", "-1", flag, done,
                                      NULL);
    s_wait_parked(H, "F", 1, 0);
    assert_true(s_alive(sender));
    s_expect_row(H, "F", 1, 1, 0);

    assert_int_equal(harness_write_file(flag, "now\n"), 0);
    s_recv_expect(client, "F", 0, "a");
    /* "b" moved into the buffer: the sender is done, "b" still here */
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
    assert_int_equal(access(done, F_OK), 0);
    s_expect_row(H, "F", 1, 0, 0);
    s_recv_expect(client, "F", 0, "b");
}

/* Parked receivers in three processes are served in the order they
   came; so are parked senders. */
static void
test_fcfs_across_processes(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "R", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "S", 0), GORO_OK);
    pid_t receivers[3], senders[3];
    const char *outs[3];
    for (int i = 0; i < 3; i++) {
        char name[32], value[16];
        snprintf(name, sizeof name, "receiver-%d.out", i);
        outs[i] = harness_path(H, name);
        receivers[i] = harness_spawn_role(H, "recv", "R", "-1", outs[i], NULL);
        s_wait_parked(H, "R", 0, i + 1);
        snprintf(value, sizeof value, "s%d", i);
        senders[i] = harness_spawn_role(H, "send", "S", value, "-1", NULL);
        s_wait_parked(H, "S", i + 1, 0);
    }
    for (int i = 0; i < 3; i++) {
        char value[16];
        snprintf(value, sizeof value, "r%d", i);
        s_send_ok(client, "R", value);
        assert_int_equal(s_child_exit(H, receivers[i], HARNESS_WAIT_MS), 0);
        char *text = harness_read_file(outs[i]);
        assert_non_null(text);
        if (strcmp(text, value) != 0)
            fail_msg("receiver %d got %s, expected %s", i, text, value);
        free(text);

        snprintf(value, sizeof value, "s%d", i);
        s_recv_expect(client, "S", 0, value);
        assert_int_equal(s_child_exit(H, senders[i], HARNESS_WAIT_MS), 0);
    }
}

/* A receive that timed out took nothing and left nothing parked: a later
   send is there for the next receiver. */
static void
test_recv_timeout_takes_nothing(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    for (int cap = 0; cap < 2; cap++) {
        const char *name = cap ? "B" : "U";
        assert_int_equal(goro_chan_make(client, name, cap), GORO_OK);
        void *data = NULL;
        size_t len = 0;
        int64_t start = harness_now();
        assert_int_equal(goro_chan_recv(client, name, 200, &data, &len),
                         GORO_ETIMEDOUT);
        assert_true(harness_now() - start >= 190); /* not early */
        assert_null(data);
        s_expect_row(H, name, 0, 0, 0);

        if (cap == 0) {
            /* no phantom receiver takes a try-once send ... */
            assert_int_equal(goro_chan_send(client, name, "x", 1, 0),
                             GORO_ETIMEDOUT);
            /* ... and a sender that comes later waits for a real one */
            pid_t sender = harness_spawn_role(H, "send", name, "later", "-1",
                                              NULL);
            s_wait_parked(H, name, 1, 0);
            s_recv_expect(client, name, 0, "later");
            assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
        }
        else {
            assert_int_equal(goro_chan_send(client, name, "later", 5, 0),
                             GORO_OK);
            s_recv_expect(client, name, 0, "later");
        }
        s_recv_nothing(client, name);
    }
}

/* A send that timed out left no value anywhere. */
static void
test_send_timeout_leaves_no_trace(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "U", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "F", 1), GORO_OK);
    s_send_ok(client, "F", "first");
    const char *names[] = {"U", "F"};
    for (int i = 0; i < 2; i++) {
        int64_t start = harness_now();
        assert_int_equal(goro_chan_send(client, names[i], "ghost", 5, 200),
                         GORO_ETIMEDOUT);
        assert_true(harness_now() - start >= 190);
        assert_int_equal(goro_chan_send(client, names[i], "ghost", 5, 0),
                         GORO_ETIMEDOUT);
    }
    s_expect_row(H, "U", 0, 0, 0);
    s_expect_row(H, "F", 1, 0, 0);
    s_recv_nothing(client, "U");
    s_recv_expect(client, "F", 0, "first");
    s_recv_nothing(client, "F");
}

/* Close over the wire: sends fail, receivers drain then get closed,
   parked senders and receivers in other processes are released with
   GORO_ECLOSED, a second close fails. */
static void
test_close_semantics(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "C", 3), GORO_OK);
    assert_int_equal(goro_chan_make(client, "R", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "W", 0), GORO_OK);
    s_send_ok(client, "C", "a");
    s_send_ok(client, "C", "b");

    const char *got = harness_path(H, "receiver-got");
    pid_t receiver = harness_spawn_role(H, "recv", "R", "-1", got, NULL);
    pid_t sender = harness_spawn_role(H, "send", "W", "never", "-1", NULL);
    s_wait_parked(H, "R", 0, 1);
    s_wait_parked(H, "W", 1, 0);

    const char *names[] = {"C", "R", "W"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(goro_chan_close(client, names[i]), GORO_OK);
    assert_int_equal(s_child_exit(H, receiver, HARNESS_WAIT_MS), GORO_ECLOSED);
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), GORO_ECLOSED);
    assert_int_not_equal(access(got, F_OK), 0);

    assert_int_equal(goro_chan_send(client, "C", "c", 1, -1), GORO_ECLOSED);
    assert_int_equal(goro_chan_send(client, "C", "c", 1, 0), GORO_ECLOSED);
    s_recv_expect(client, "C", -1, "a");
    s_recv_expect(client, "C", -1, "b");
    for (int i = 0; i < 3; i++) {
        void *data = NULL;
        size_t len = 0;
        /* at once, whatever the timeout */
        assert_int_equal(goro_chan_recv(client, names[i], i == 0 ? -1 : 0,
                                        &data, &len),
                         GORO_ECLOSED);
        assert_null(data);
        assert_int_equal(goro_chan_close(client, names[i]), GORO_ECLOSED);
        harness_chan_t row;
        assert_int_equal(harness_chan_row(H, names[i], &row), 0);
        assert_true(row.closed);
        assert_int_equal(row.buffered + row.senders + row.receivers, 0);
    }
    assert_int_equal(goro_chan_close(client, "nope"), GORO_ENOTFOUND);
    assert_int_equal(goro_chan_send(client, "nope", "x", 1, 0),
                     GORO_ENOTFOUND);

    /* select sees it too: a send case fails, a receive case is "closed" */
    goro_case_t send_case = {GORO_CASE_SEND, "C", "x", 1, 0};
    size_t fired = 9;
    assert_int_equal(goro_select(client, &send_case, 1, -1, &fired),
                     GORO_ECLOSED);
    assert_int_equal(fired, 0);
}

/* A receive case on a closed, drained channel fires as "closed", from
   the library and from the CLI (exit 3, "CH<TAB>" and no value). */
static void
test_select_closed_receive(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "A", 1), GORO_OK);
    assert_int_equal(goro_chan_make(client, "U", 0), GORO_OK);
    s_send_ok(client, "A", "left");
    assert_int_equal(goro_chan_close(client, "A"), GORO_OK);
    goro_case_t cases[] = {
        {GORO_CASE_RECV, "A", NULL, 0, 0},
        {GORO_CASE_RECV, "U", NULL, 0, 0},
    };
    size_t fired = 9;
    assert_int_equal(goro_select(client, cases, 2, -1, &fired), GORO_OK);
    assert_int_equal(fired, 0); /* drains first */
    assert_false(cases[0].closed);
    assert_int_equal(cases[0].len, 4);
    assert_memory_equal(cases[0].data, "left", 4);
    goro_free(cases[0].data);
    cases[0].data = NULL;
    assert_int_equal(goro_select(client, cases, 2, -1, &fired), GORO_OK);
    assert_int_equal(fired, 0);
    assert_true(cases[0].closed);
    assert_null(cases[0].data);
    assert_int_equal(cases[0].len, 0);

    char *out = NULL;
    assert_int_equal(harness_cli(H, &out, NULL, "select", "--recv", "A",
                                 "--default", NULL),
                     3);
    assert_string_equal(out, "A\t\n");
    free(out);
}

/* ------------------------------------------------------------------ */
/*  Select                                                            */
/* ------------------------------------------------------------------ */

/* Timeout 0 is Go's default: GORO_ETIMEDOUT at once when no case is
   ready, and then no case happened; a ready case does fire. */
static void
test_select_default(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "A", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "B", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "C", 1), GORO_OK);
    goro_case_t cases[] = {
        {GORO_CASE_RECV, "A", NULL, 0, 0},
        {GORO_CASE_SEND, "B", "b", 1, 0},
    };
    size_t fired = 9;
    assert_int_equal(goro_select(client, cases, 2, 0, &fired), GORO_ETIMEDOUT);
    assert_null(cases[0].data);
    s_expect_row(H, "A", 0, 0, 0);
    s_expect_row(H, "B", 0, 0, 0);
    s_recv_nothing(client, "B"); /* the send did not happen */

    /* with C ready the same select (plus C) fires C, not default */
    goro_case_t more[] = {
        {GORO_CASE_RECV, "A", NULL, 0, 0},
        {GORO_CASE_SEND, "B", "b", 1, 0},
        {GORO_CASE_SEND, "C", "c", 1, 0},
    };
    assert_int_equal(goro_select(client, more, 3, 0, &fired), GORO_OK);
    assert_int_equal(fired, 2);
    s_recv_expect(client, "C", 0, "c");
    s_recv_nothing(client, "B");
}

/* 8 processes select on the same two channels; 10 values are sent: each
   is received exactly once in total. */
static void
test_select_racing_processes(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "A", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "B", 0), GORO_OK);
    pid_t pids[T_RACERS];
    const char *outs[T_RACERS];
    for (int i = 0; i < T_RACERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "racer-%d.out", i);
        outs[i] = harness_path(H, name);
        pids[i] = harness_spawn_role(H, "select", "A", "B", outs[i], NULL);
    }
    s_wait_parked(H, "A", 0, T_RACERS);
    s_wait_parked(H, "B", 0, T_RACERS);

    for (int i = 0; i < T_RACE_VALUES; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        s_send_ok(client, i % 2 ? "B" : "A", value);
    }
    /* every value was taken (unbuffered sends returned): now one "stop"
       for each racer, which ends it */
    for (int i = 0; i < T_RACERS; i++)
        s_send_ok(client, i % 2 ? "B" : "A", "stop");

    int seen[T_RACE_VALUES] = {0};
    int total = 0;
    for (int i = 0; i < T_RACERS; i++) {
        int code = s_child_exit(H, pids[i], HARNESS_WAIT_MS);
        if (code != 0)
            fail_msg("racer %d exited with %d", i, code);
        char *text = harness_read_file(outs[i]);
        assert_non_null(text);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            int v = -1;
            if (sscanf(line, "v%d", &v) != 1 || v < 0 || v >= T_RACE_VALUES)
                fail_msg("racer %d got \"%s\"", i, line);
            seen[v]++;
            total++;
        }
        free(text);
    }
    assert_int_equal(total, T_RACE_VALUES);
    for (int v = 0; v < T_RACE_VALUES; v++)
        if (seen[v] != 1)
            fail_msg("value v%d was received %d times", v, seen[v]);
    s_expect_row(H, "A", 0, 0, 0);
    s_expect_row(H, "B", 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/*  Liveness                                                          */
/* ------------------------------------------------------------------ */

/* A receiver parked in recv and a sender parked in send are SIGKILLed:
   once the daemon has found them silent (client liveness, ~3 s) their
   operations are withdrawn. A send is not handed to the dead receiver (a
   live receiver started afterwards gets it), and the dead sender's value
   never appears. */
static void
test_dead_clients_withdrawn(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "L", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "LS", 0), GORO_OK);
    const char *dead_out = harness_path(H, "dead.out");
    pid_t dead = harness_spawn_role(H, "recv", "L", "-1", dead_out, NULL);
    pid_t dead_sender = harness_spawn_role(H, "send", "LS", "from-the-dead",
                                           "-1", NULL);
    s_wait_parked(H, "L", 0, 1);
    s_wait_parked(H, "LS", 1, 0);
    assert_int_equal(harness_stat(H, "parked_clients"), 2);
    assert_int_equal(harness_signal(H, dead, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);
    assert_int_equal(harness_signal(H, dead_sender, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);

    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(H, "parked_clients") != 0 && harness_nap(until)) {}
    assert_int_equal(harness_stat(H, "parked_clients"), 0);
    s_expect_row(H, "L", 0, 0, 0);
    s_expect_row(H, "LS", 0, 0, 0);
    s_recv_nothing(client, "LS");
    /* nobody takes it now */
    assert_int_equal(goro_chan_send(client, "L", "for-the-living", 14, 0),
                     GORO_ETIMEDOUT);

    const char *live_out = harness_path(H, "live.out");
    pid_t live = harness_spawn_role(H, "recv", "L", "-1", live_out, NULL);
    s_wait_parked(H, "L", 0, 1);
    s_send_ok(client, "L", "for-the-living");
    assert_int_equal(s_child_exit(H, live, HARNESS_WAIT_MS), 0);
    char *text = harness_read_file(live_out);
    assert_non_null(text);
    assert_string_equal(text, "for-the-living");
    free(text);
    assert_int_not_equal(access(dead_out, F_OK), 0);
}

/* A live client parked with no timeout stays parked past the liveness
   period (its library heartbeats while it waits), and still gets the
   value. The test watches it for longer than that period. */
static void
test_live_parked_client_kept(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "K", 0), GORO_OK);
    const char *out = harness_path(H, "kept.out");
    pid_t kept = harness_spawn_role(H, "recv", "K", "-1", out, NULL);
    s_wait_parked(H, "K", 0, 1);
    int64_t watch_until = harness_now() + 5000; /* > 3 s liveness */
    do {
        harness_chan_t row;
        assert_int_equal(harness_chan_row(H, "K", &row), 0);
        if (row.receivers != 1 || harness_stat(H, "parked_clients") != 1)
            fail_msg("the live receiver was withdrawn");
        assert_true(s_alive(kept));
    } while (harness_nap(watch_until));
    s_send_ok(client, "K", "kept");
    assert_int_equal(s_child_exit(H, kept, HARNESS_WAIT_MS), 0);
    char *text = harness_read_file(out);
    assert_non_null(text);
    assert_string_equal(text, "kept");
    free(text);
}

/* A value over limits.max_message is refused with GORO_ETOOBIG and the
   connection goes on; one at the limit goes through. */
static void
test_value_too_big(void **state)
{
    goro_t *client = harness_client(
        harness_up(state, T_NO_POOL "limits: { max_message: 1KiB }\n"));
    assert_int_equal(goro_chan_make(client, "V", 1), GORO_OK);
    char big[1025];
    memset(big, 'x', sizeof big);
    assert_int_equal(goro_chan_send(client, "V", big, 1025, 1000),
                     GORO_ETOOBIG);
    s_expect_row(H, "V", 0, 0, 0);
    assert_int_equal(goro_chan_send(client, "V", big, 1024, 1000), GORO_OK);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(client, "V", 0, &data, &len), GORO_OK);
    assert_int_equal(len, 1024);
    goro_free(data);
    goro_case_t c = {GORO_CASE_SEND, "V", big, 1025, 0};
    size_t fired = 9;
    assert_int_equal(goro_select(client, &c, 1, 0, &fired), GORO_ETOOBIG);
    assert_int_equal(goro_ping(client, 5000), GORO_OK);
}

/* ------------------------------------------------------------------ */
/*  Jobs and channels: the Go examples, go --chan                     */
/* ------------------------------------------------------------------ */

/* Go's fan-in: two jobs sum the halves of a list and send their sums on
   one channel; the caller receives both. */
static void
test_fanin_sum(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    const char *argv[] = {GORO_TEST_BIN_DIR "/integ_fanin_worker",
                          harness_workers(H), "2", NULL};
    assert_true(harness_spawn(H, argv) > 0);
    assert_int_equal(harness_wait_workers(H, 1, HARNESS_WAIT_MS), 0);
    assert_int_equal(goro_chan_make(client, "SUMS", 0), GORO_OK);

    long long total = 0;
    char halves[2][1024];
    for (int half = 0; half < 2; half++) {
        int len = snprintf(halves[half], sizeof halves[half], "SUMS");
        for (int n = 1 + half * 50; n <= 50 + half * 50; n++) {
            len += snprintf(halves[half] + len,
                            sizeof halves[half] - (size_t) len, " %d",
                            n * 7 - 3);
            total += n * 7 - 3;
        }
    }
    uint64_t ids[2];
    for (int half = 0; half < 2; half++)
        assert_int_equal(goro_go(client, "sum_half", halves[half],
                                 strlen(halves[half]), NULL, &ids[half]),
                         GORO_OK);
    long long got = 0;
    for (int i = 0; i < 2; i++) {
        void *data = NULL;
        size_t len = 0;
        assert_int_equal(goro_chan_recv(client, "SUMS", 20000, &data, &len),
                         GORO_OK);
        char text[32] = "";
        memcpy(text, data, len < 31 ? len : 31);
        got += strtoll(text, NULL, 10);
        goro_free(data);
    }
    assert_int_equal(got, total);
    for (int half = 0; half < 2; half++) {
        goro_job_t *job = NULL;
        assert_int_equal(goro_job_wait(client, ids[half], 10000, &job),
                         GORO_OK);
        assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
        goro_job_destroy(&job);
    }
}

/* Go's select timeout: a job reports on C after 2 s; a select with a 1 s
   timeout gives up first, and a receive afterwards gets the report. */
static void
test_select_timeout_before_job(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_POOL1));
    assert_int_equal(goro_chan_make(client, "C", 0), GORO_OK);
    const char *argv[] = {"/bin/sh", "-c",
                          "sleep 2; exec \"$0\" -e \"$GORO_ENDPOINT\" send C "
                          "done",
                          GORO_BIN_DIR "/goro", NULL};
    uint64_t id = 0;
    assert_int_equal(goro_go_exec(client, argv, NULL, &id), GORO_OK);
    goro_case_t c = {GORO_CASE_RECV, "C", NULL, 0, 0};
    size_t fired = 9;
    assert_int_equal(goro_select(client, &c, 1, 1000, &fired), GORO_ETIMEDOUT);
    assert_null(c.data);
    s_recv_expect(client, "C", 30000, "done");
    goro_job_t *job = NULL;
    assert_int_equal(goro_job_wait(client, id, 10000, &job), GORO_OK);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
}

static uint64_t
s_cli_go(harness_t *h, const char *chan, const char *word)
{
    char *out = NULL;
    int code = chan ? harness_cli(h, &out, NULL, "go", "--chan", chan, "--",
                                  "echo", word, NULL)
                    : harness_cli(h, &out, NULL, "go", "--", "echo", word,
                                  NULL);
    assert_int_equal(code, 0);
    uint64_t id = strtoull(out, NULL, 10);
    free(out);
    assert_true(id > 0);
    return id;
}

static int
s_job_end_state(goro_t *client, uint64_t id)
{
    goro_job_t *job = NULL;
    int rc = goro_job_wait(client, id, 20000, &job);
    if (rc)
        fail_msg("job %llu: %s", (unsigned long long) id, goro_strerror(rc));
    int st = goro_job_state(job);
    goro_job_destroy(&job);
    return st;
}

/* `goro go --chan C`: the job's output is sent on C when it ends; on an
   unbuffered channel with nobody receiving the daemon parks that send
   without holding the worker (the one pool process runs the next job);
   on a closed channel the result is dropped and counted. */
static void
test_go_result_chan(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_POOL1));
    assert_int_equal(harness_wait_workers(H, 1, HARNESS_WAIT_MS), 0);

    assert_int_equal(goro_chan_make(client, "RB", 2), GORO_OK);
    uint64_t id = s_cli_go(H, "RB", "buffered");
    s_recv_expect(client, "RB", 20000, "buffered\n");
    assert_int_equal(s_job_end_state(client, id), GORO_JOB_SUCCEEDED);

    /* a receiver already waiting gets the result when the job ends */
    assert_int_equal(goro_chan_make(client, "RR", 0), GORO_OK);
    const char *rr_out = harness_path(H, "rr.out");
    pid_t rr = harness_spawn_role(H, "recv", "RR", "-1", rr_out, NULL);
    s_wait_parked(H, "RR", 0, 1);
    id = s_cli_go(H, "RR", "waited");
    assert_int_equal(s_child_exit(H, rr, HARNESS_WAIT_MS), 0);
    char *text = harness_read_file(rr_out);
    assert_non_null(text);
    assert_string_equal(text, "waited\n");
    free(text);
    assert_int_equal(s_job_end_state(client, id), GORO_JOB_SUCCEEDED);

    assert_int_equal(goro_chan_make(client, "RU", 0), GORO_OK);
    uint64_t a = s_cli_go(H, "RU", "A");
    uint64_t b = s_cli_go(H, NULL, "B");
    assert_int_equal(s_job_end_state(client, b), GORO_JOB_SUCCEEDED);
    assert_int_equal(s_job_end_state(client, a), GORO_JOB_SUCCEEDED);
    s_expect_row(H, "RU", 0, 1, 0); /* A's result waits, parked */
    assert_int_equal(harness_stat(H, "parked_clients"), 0);
    s_recv_expect(client, "RU", 0, "A\n");
    s_expect_row(H, "RU", 0, 0, 0);

    assert_int_equal(harness_stat(H, "results_dropped"), 0);
    assert_int_equal(goro_chan_make(client, "RC", 1), GORO_OK);
    assert_int_equal(goro_chan_close(client, "RC"), GORO_OK);
    id = s_cli_go(H, "RC", "dropped");
    assert_int_equal(s_job_end_state(client, id), GORO_JOB_SUCCEEDED);
    assert_int_equal(harness_stat(H, "results_dropped"), 1);
    s_expect_row(H, "RC", 0, 0, 0);

    /* a result parked on a channel that is closed later is dropped too */
    assert_int_equal(goro_chan_make(client, "RP", 0), GORO_OK);
    id = s_cli_go(H, "RP", "parked");
    assert_int_equal(s_job_end_state(client, id), GORO_JOB_SUCCEEDED);
    s_expect_row(H, "RP", 0, 1, 0);
    assert_int_equal(goro_chan_close(client, "RP"), GORO_OK);
    assert_int_equal(harness_stat(H, "results_dropped"), 2);
    s_expect_row(H, "RP", 0, 0, 0);

    /* no such channel: refused at submission */
    assert_int_equal(harness_cli(H, NULL, NULL, "go", "--chan", "NOPE", "--",
                                 "true", NULL),
                     1);
    uint64_t none = 0;
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.result_chan = "NOPE";
    const char *argv[] = {"true", NULL};
    assert_int_equal(goro_go_exec(client, argv, &opts, &none), GORO_ENOTFOUND);
}

/* What `go --chan` with a channel that does not exist tells the user:
   the channel's name, not just "not found" after the command's. */
static void
test_cli_go_missing_chan_says_which(void **state)
{
    harness_up(state, T_NO_POOL);
    char *err = NULL;
    assert_int_equal(harness_cli(H, NULL, &err, "go", "--chan", "NOPE", "--",
                                 "true", NULL),
                     1);
    if (!strstr(err, "NOPE"))
        fail_msg("the message does not name the channel: %s", err);
    free(err);
}

/* ------------------------------------------------------------------ */
/*  The CLI                                                           */
/* ------------------------------------------------------------------ */

static void
test_cli_chan_verbs(void **state)
{
    harness_up(state, T_NO_POOL);
    char *out = NULL;
    assert_int_equal(harness_cli(H, NULL, NULL, "chan", "make", "Q", "--cap",
                                 "4", NULL),
                     0);
    assert_int_equal(harness_cli(H, NULL, NULL, "chan", "make", "Q", "--cap",
                                 "4", NULL),
                     0);
    assert_int_equal(harness_cli(H, NULL, NULL, "chan", "make", "Q", NULL),
                     1); /* another capacity */
    assert_int_equal(harness_cli(H, NULL, NULL, "send", "Q", "one", NULL), 0);
    char script[1024];
    snprintf(script, sizeof script,
             "printf 'two\\nlines' | %s/goro -e %s "
             "send Q -",
             GORO_BIN_DIR, harness_clients(H));
    assert_int_equal(s_sh(H, script, NULL), 0);

    assert_int_equal(harness_cli(H, &out, NULL, "recv", "Q", NULL), 0);
    assert_string_equal(out, "one\n");
    free(out);
    assert_int_equal(harness_cli(H, &out, NULL, "recv", "Q", NULL), 0);
    assert_string_equal(out, "two\nlines\n");
    free(out);

    int64_t start = harness_now();
    assert_int_equal(harness_cli(H, &out, NULL, "recv", "Q", "--timeout",
                                 "100ms", NULL),
                     124);
    assert_true(harness_now() - start >= 95);
    assert_string_equal(out, "");
    free(out);

    assert_int_equal(harness_cli(H, NULL, NULL, "send", "Q", "last", NULL), 0);
    assert_int_equal(harness_cli(H, NULL, NULL, "close", "Q", NULL), 0);
    assert_int_equal(harness_cli(H, NULL, NULL, "close", "Q", NULL), 3);
    assert_int_equal(harness_cli(H, NULL, NULL, "send", "Q", "late", NULL), 3);
    assert_int_equal(harness_cli(H, &out, NULL, "recv", "Q", NULL), 0);
    assert_string_equal(out, "last\n");
    free(out);
    assert_int_equal(harness_cli(H, &out, NULL, "recv", "Q", NULL), 3);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(
        harness_cli(H, NULL, NULL, "recv", "NOPE", "--timeout", "0", NULL), 1);

    /* usage errors exit 2 */
    assert_int_equal(harness_cli(H, NULL, NULL, "chan", "make", "N", "--cap",
                                 "-1", NULL),
                     2);
    assert_int_equal(
        harness_cli(H, NULL, NULL, "recv", "Q", "--timeout", "soon", NULL), 2);
    assert_int_equal(harness_cli(H, NULL, NULL, "select", "--default", NULL),
                     2);
    assert_int_equal(harness_cli(H, NULL, NULL, "select", "--recv", "Q",
                                 "--timeout", "1s", "--default", NULL),
                     2);
    assert_int_equal(harness_cli(H, NULL, NULL, "select", "--send", "Qx",
                                 "--default", NULL),
                     2);
}

static void
test_cli_select(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "A", 1), GORO_OK);
    assert_int_equal(goro_chan_make(client, "B", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "BB", 1), GORO_OK);
    const struct {
        const char *send_value; /* put in A first, or NULL */
        const char *send_chan;  /* the --send case's channel */
        const char *mode;       /* "--timeout" or "--default" */
        int code;
        const char *out;
    } cases[] = {
        {"value", "B", "--timeout", 0, "A\tvalue\n"}, /* recv ready */
        {NULL, "BB", "--timeout", 0, "BB\n"},         /* send ready */
        {NULL, "B", "--default", 0, "default\n"},     /* none ready */
        {NULL, "B", "--timeout", 124, ""},            /* none, 1 s */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].send_value)
            s_send_ok(client, "A", cases[i].send_value);
        char send_arg[64];
        snprintf(send_arg, sizeof send_arg, "%s=x", cases[i].send_chan);
        char *out = NULL;
        int code = strcmp(cases[i].mode, "--default") == 0
                       ? harness_cli(H, &out, NULL, "select", "--recv", "A",
                                     "--send", send_arg, "--default", NULL)
                       : harness_cli(H, &out, NULL, "select", "--recv", "A",
                                     "--send", send_arg, "--timeout", "1s",
                                     NULL);
        if (code != cases[i].code || strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: exit %d, \"%s\"; expected %d, \"%s\"", i, code,
                     out, cases[i].code, cases[i].out);
        free(out);
    }
    s_recv_expect(client, "BB", 0, "x"); /* the send case did happen */
    s_recv_nothing(client, "A");
    s_recv_nothing(client, "B");
}

static void
test_cli_stats_channels(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "stat_open", 5), GORO_OK);
    assert_int_equal(goro_chan_make(client, "stat_closed", 2), GORO_OK);
    s_send_ok(client, "stat_open", "1");
    s_send_ok(client, "stat_open", "2");
    s_send_ok(client, "stat_closed", "3");
    assert_int_equal(goro_chan_close(client, "stat_closed"), GORO_OK);

    char *out = NULL;
    assert_int_equal(harness_cli(H, &out, NULL, "stats", NULL), 0);
    const struct {
        const char *name;
        long long capacity, buffered;
        const char *state;
    } rows[] = {
        {"stat_open", 5, 2, "open"},
        {"stat_closed", 2, 1, "closed"},
    };
    for (int i = 0; i < 2; i++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "\n%s ", rows[i].name);
        const char *at = strstr(out, pattern);
        if (!at)
            fail_msg("no row for %s in:\n%s", rows[i].name, out);
        char name[64], st[16];
        long long capacity, buffered, senders, receivers;
        assert_int_equal(sscanf(at + 1, "%63s %lld %lld %lld %lld %15s", name,
                                &capacity, &buffered, &senders, &receivers,
                                st),
                         6);
        assert_int_equal(capacity, rows[i].capacity);
        assert_int_equal(buffered, rows[i].buffered);
        assert_string_equal(st, rows[i].state);
    }
    assert_non_null(strstr(out, "CAPACITY"));
    free(out);

    assert_int_equal(harness_cli(H, &out, NULL, "stats", "--json", NULL), 0);
    assert_non_null(strstr(out, "\"channel_list\":["));
    assert_non_null(strstr(out, "{\"name\":\"stat_open\",\"capacity\":5,"
                                "\"buffered\":2,\"senders\":0,\"receivers\":0,"
                                "\"closed\":false}"));
    assert_non_null(strstr(out, "{\"name\":\"stat_closed\",\"capacity\":2,"
                                "\"buffered\":1,\"senders\":0,\"receivers\":0,"
                                "\"closed\":true}"));
    assert_non_null(strstr(out, "\"channels\":2"));
    assert_non_null(strstr(out, "\"channel_bytes\":3"));
    free(out);
}

/* ------------------------------------------------------------------ */
/*  Batches: goro_chan_send_many / goro_chan_recv_many                */
/* ------------------------------------------------------------------ */

/* The "RC SENT" a sendmany child wrote. */
static void
s_expect_sendmany(const char *path, int rc, size_t sent)
{
    char *text = harness_read_file(path);
    assert_non_null(text);
    char want[64];
    snprintf(want, sizeof want, "%d %zu", rc, sent);
    assert_string_equal(text, want);
    free(text);
}

/* Receives one batch of at most MAX within TIMEOUT_MS and expects it to
   be "vFIRST" ... "vLAST". */
static void
s_expect_batch(goro_t *client, const char *chan, size_t max,
               int64_t timeout_ms, size_t first, size_t last)
{
    void *datas[64];
    size_t lens[64], got = 0;
    assert_true(max <= 64);
    int rc = goro_chan_recv_many(client, chan, max, timeout_ms, datas, lens,
                                 &got);
    if (rc)
        fail_msg("recv_many %s: %s", chan, goro_strerror(rc));
    assert_int_equal(got, last - first + 1);
    for (size_t i = 0; i < got; i++) {
        char want[16];
        snprintf(want, sizeof want, "v%zu", first + i);
        if (lens[i] != strlen(want) || memcmp(datas[i], want, lens[i]) != 0)
            fail_msg("value %zu of %s: \"%.*s\", expected %s", i, chan,
                     (int) lens[i], (const char *) datas[i], want);
        goro_free(datas[i]);
    }
}

/* One send_many of 5000 values from another process, through a buffer
   of 100, arrives complete and in order in batches of at most 777 (each
   call gets what is there, at least one), then the channel reports
   closed. An empty channel times out with nothing. */
static void
test_batches_in_order(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    enum { N = 5000, CHUNK = 777 };
    assert_int_equal(goro_chan_make(client, "batch", 100), GORO_OK);
    void *got[CHUNK];
    size_t got_lens[CHUNK], n = 1;
    assert_int_equal(goro_chan_recv_many(client, "batch", 3, 100, got,
                                         got_lens, &n),
                     GORO_ETIMEDOUT);
    assert_int_equal(n, 0);
    const char *out = harness_path(H, "sendmany.out");
    pid_t sender = harness_spawn_role(H, "sendmany", "batch", "5000", "-1",
                                      out, "close", NULL);
    size_t total = 0;
    int rc;
    while ((rc = goro_chan_recv_many(client, "batch", CHUNK, 20000, got,
                                     got_lens, &n))
           == GORO_OK) {
        assert_true(n >= 1 && n <= CHUNK);
        for (size_t i = 0; i < n; i++, total++) {
            char want[16];
            snprintf(want, sizeof want, "v%zu", total);
            if (got_lens[i] != strlen(want)
                || memcmp(got[i], want, got_lens[i]) != 0)
                fail_msg("value %zu: \"%.*s\"", total, (int) got_lens[i],
                         (const char *) got[i]);
            goro_free(got[i]);
        }
    }
    assert_int_equal(rc, GORO_ECLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(total, N);
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
    s_expect_sendmany(out, GORO_OK, N);
}

/* A batch larger than the room in the buffer: what fits goes at once,
   the rest waits in order (a parked sender), and a receiver takes the
   buffer and the waiting rest in one batch. With a timeout, the part
   that did not fit is reported and never appears. */
static void
test_batch_partial_fit(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "fit", 4), GORO_OK);
    const char *out = harness_path(H, "fit.out");
    pid_t sender = harness_spawn_role(H, "sendmany", "fit", "10", "-1", out,
                                      NULL);
    s_wait_parked(H, "fit", 1, 0);
    s_expect_row(H, "fit", 4, 1, 0);
    assert_true(s_alive(sender));
    s_expect_batch(client, "fit", 64, 0, 0, 9);
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
    s_expect_sendmany(out, GORO_OK, 10);
    s_expect_row(H, "fit", 0, 0, 0);

    /* try once, and a timeout: only what fits is sent */
    const char *texts[] = {"v0", "v1", "v2", "v3", "v4", "v5"};
    const void *datas[6];
    size_t lens[6], sent = 99;
    for (int i = 0; i < 6; i++) {
        datas[i] = texts[i];
        lens[i] = 2;
    }
    assert_int_equal(goro_chan_send_many(client, "fit", 6, datas, lens, 0,
                                         &sent),
                     GORO_ETIMEDOUT);
    assert_int_equal(sent, 4);
    s_expect_row(H, "fit", 4, 0, 0);
    assert_int_equal(goro_chan_send_many(client, "fit", 6, datas, lens, 200,
                                         &sent),
                     GORO_ETIMEDOUT);
    assert_int_equal(sent, 0);
    s_expect_row(H, "fit", 4, 0, 0); /* the rest left no trace */
    s_expect_batch(client, "fit", 3, 0, 0, 2);
    s_expect_batch(client, "fit", 64, 0, 3, 3);
}

/* Closing the channel while a batch waits for room: the sender gets
   GORO_ECLOSED with the count that went before, and those values are
   still received, in order, before "closed". */
static void
test_batch_close_mid_batch(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "mid", 4), GORO_OK);
    const char *out = harness_path(H, "mid.out");
    pid_t sender = harness_spawn_role(H, "sendmany", "mid", "10", "-1", out,
                                      NULL);
    s_wait_parked(H, "mid", 1, 0);
    assert_int_equal(goro_chan_close(client, "mid"), GORO_OK);
    assert_int_equal(s_child_exit(H, sender, HARNESS_WAIT_MS), 0);
    s_expect_sendmany(out, GORO_ECLOSED, 4);
    s_expect_batch(client, "mid", 64, 0, 0, 3);
    void *data = NULL;
    size_t len = 0, got = 9;
    assert_int_equal(goro_chan_recv_many(client, "mid", 5, -1, &data, &len,
                                         &got),
                     GORO_ECLOSED);
    assert_int_equal(got, 0);
    const void *one = "x";
    size_t one_len = 1, sent = 9;
    assert_int_equal(goro_chan_send_many(client, "mid", 1, &one, &one_len, -1,
                                         &sent),
                     GORO_ECLOSED);
    assert_int_equal(sent, 0);
}

/* A receiver handed a batch dies before its one ACK leaves (it is
   stopped while parked, so the values reach it but nothing can go out):
   once gorod gives up on it, the whole batch is back at the head of the
   channel, in order, ahead of what was sent after it. */
static void
test_batch_receiver_killed_before_ack(void **state)
{
    /* gorod gives a silent client liveness x max(interval, 1 s): 3 s
       here, well inside the wait below, where the harness's default
       liveness of 10 would make it 10 s, as long as the wait itself. */
    goro_t *client = harness_client(
        harness_up(state,
                   T_NO_POOL "heartbeat: { interval: 100ms, liveness: 3 }\n"));
    assert_int_equal(goro_chan_make(client, "lost", 10), GORO_OK);
    const char *out = harness_path(H, "lost.out");
    pid_t receiver = harness_spawn_role(H, "recvmany", "lost", "10", "-1", out,
                                        NULL);
    s_wait_parked(H, "lost", 0, 1);
    assert_int_equal(kill(receiver, SIGSTOP), 0);
    const char *texts[] = {"v0", "v1", "v2", "v3"};
    const void *datas[4];
    size_t lens[4], sent = 0;
    for (int i = 0; i < 4; i++) {
        datas[i] = texts[i];
        lens[i] = 2;
    }
    /* three to the parked receiver as one batch, then one buffered */
    assert_int_equal(goro_chan_send_many(client, "lost", 3, datas, lens, 0,
                                         &sent),
                     GORO_OK);
    assert_int_equal(sent, 3);
    assert_int_equal(goro_chan_send_many(client, "lost", 1, datas + 3,
                                         lens + 3, 0, &sent),
                     GORO_OK);
    s_expect_row(H, "lost", 1, 0, 0);
    assert_int_equal(harness_signal(H, receiver, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    harness_chan_t row = {0};
    while ((harness_chan_row(H, "lost", &row) != 0 || row.buffered != 4)
           && harness_nap(until)) {}
    assert_int_equal(row.buffered, 4);
    s_expect_batch(client, "lost", 64, 0, 0, 3);
    assert_int_not_equal(access(out, F_OK), 0);
}

/* Values a receiver reads ahead are still in the channel, as Go counts
   a buffer: they hold their slots until the receiver hands them out, so
   a sender finds the channel full where Go's would wait. */
static void
test_read_ahead_counts_as_buffered(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    goro_t *rx = goro_new(harness_clients(H));
    assert_int_equal(goro_chan_make(client, "A", 4), GORO_OK);
    const char *v[] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6"};
    for (int i = 0; i < 4; i++)
        s_send_ok(client, "A", v[i]);
    s_recv_expect(rx, "A", -1, "a0");
    s_send_ok(client, "A", "a4");
    /* the second receive of a run reads one value ahead: a2 */
    s_recv_expect(rx, "A", -1, "a1");
    s_expect_row(H, "A", 3, 0, 0);
    assert_int_equal(goro_chan_send(client, "A", "a5", 2, 0), GORO_OK);
    assert_int_equal(goro_chan_send(client, "A", "a6", 2, 0), GORO_ETIMEDOUT);
    s_recv_expect(rx, "A", -1, "a2"); /* held: no round trip */
    s_send_ok(client, "A", "a6");     /* the slot a2 held is free */
    for (int i = 3; i < 7; i++)
        s_recv_expect(rx, "A", -1, v[i]);
    s_recv_nothing(rx, "A");
    goro_destroy(&rx);
}

/* A receiver killed while it holds values read ahead gives them back:
   the next receiver gets them first, in order, none lost or twice. */
static void
test_read_ahead_returned_by_the_dead(void **state)
{
    goro_t *client = harness_client(
        harness_up(state,
                   T_NO_POOL "heartbeat: { interval: 100ms, liveness: 3 }\n"));
    assert_int_equal(goro_chan_make(client, "D", 10), GORO_OK);
    char value[8];
    for (int i = 0; i < 10; i++) {
        snprintf(value, sizeof value, "d%d", i);
        s_send_ok(client, "D", value);
    }
    const char *out = harness_path(H, "dead.out");
    pid_t dead = harness_spawn_role(H, "recvn", "D", "4", out, NULL);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    char *got = NULL;
    while (!(got = harness_read_file(out)) && harness_nap(until)) {}
    assert_non_null(got);
    assert_string_equal(got, "d0\nd1\nd2\nd3\n");
    free(got);
    /* its receives asked for 1, 2 and 4 values: d4..d6 are held ahead */
    s_expect_row(H, "D", 6, 0, 0);
    assert_int_equal(harness_stat(H, "parked_clients"), 1);
    assert_int_equal(harness_signal(H, dead, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);
    until = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(H, "parked_clients") != 0 && harness_nap(until)) {}
    assert_int_equal(harness_stat(H, "parked_clients"), 0);
    for (int i = 4; i < 10; i++) {
        snprintf(value, sizeof value, "d%d", i);
        s_recv_expect(client, "D", -1, value);
    }
    s_recv_nothing(client, "D");
}

/* A send on room held goes without waiting; if another client closed
   the channel meanwhile, the sender learns it from its next call, and
   the value never appears. */
static void
test_pipelined_send_learns_of_close(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    goro_t *closer = goro_new(harness_clients(H));
    assert_int_equal(goro_chan_make(client, "P", 10), GORO_OK);
    s_send_ok(client, "P", "p0"); /* waits, and learns of 9 free slots */
    assert_int_equal(goro_chan_close(closer, "P"), GORO_OK);
    assert_int_equal(goro_chan_send(client, "P", "p1", 2, -1), GORO_OK);
    assert_int_equal(goro_flush(client), GORO_ECLOSED);
    assert_int_equal(goro_chan_send(client, "P", "p2", 2, -1), GORO_ECLOSED);
    s_recv_expect(client, "P", -1, "p0");
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(client, "P", 0, &data, &len),
                     GORO_ECLOSED);
    goro_destroy(&closer);
}

/* ------------------------------------------------------------------ */
/*  Measurements (printed, not asserted)                              */
/* ------------------------------------------------------------------ */

static void
test_measure_chan(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));

    /* unbuffered ping-pong with an echo process */
    assert_int_equal(goro_chan_make(client, "PING", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "PONG", 0), GORO_OK);
    pid_t echo = harness_spawn_role(H, "echo", "PING", "PONG", NULL);
    s_wait_parked(H, "PING", 0, 1);
    int64_t *us = calloc(T_PINGPONGS, sizeof *us);
    for (int i = 0; i < T_PINGPONGS; i++) {
        char value[16];
        snprintf(value, sizeof value, "%d", i);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        s_send_ok(client, "PING", value);
        s_recv_expect(client, "PONG", 10000, value);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        us[i] = (t1.tv_sec - t0.tv_sec) * 1000000
                + (t1.tv_nsec - t0.tv_nsec) / 1000;
    }
    assert_int_equal(goro_chan_close(client, "PING"), GORO_OK);
    assert_int_equal(s_child_exit(H, echo, HARNESS_WAIT_MS), 0);
    qsort(us, T_PINGPONGS, sizeof *us, s_cmp_int64);
    printf("MEASURE chan_pingpong_median_us=%lld (p90 %lld, %d round "
           "trips, unbuffered, two processes)\n",
           (long long) us[T_PINGPONGS / 2],
           (long long) us[T_PINGPONGS * 9 / 10], T_PINGPONGS);
    free(us);

    /* buffered streaming of 100-byte values */
    assert_int_equal(goro_chan_make(client, "BLAST", 1000), GORO_OK);
    char n[16], size[16];
    snprintf(n, sizeof n, "%d", T_BLAST_VALUES);
    snprintf(size, sizeof size, "%d", T_BLAST_SIZE);
    pid_t blaster = harness_spawn_role(H, "stream", "BLAST", n, size, NULL);
    int64_t first = 0;
    for (int i = 0; i < T_BLAST_VALUES; i++) {
        void *data = NULL;
        size_t len = 0;
        int rc = goro_chan_recv(client, "BLAST", 20000, &data, &len);
        if (rc)
            fail_msg("value %d: %s", i, goro_strerror(rc));
        assert_int_equal(len, T_BLAST_SIZE);
        assert_int_equal(strtol(data, NULL, 10), i);
        goro_free(data);
        if (i == 0)
            first = harness_now();
    }
    int64_t ms = harness_now() - first;
    assert_int_equal(s_child_exit(H, blaster, HARNESS_WAIT_MS), 0);
    printf("MEASURE chan_stream_msgs_per_sec=%.0f (%d values of %d bytes, "
           "capacity 1000, one sender process, one receiver)\n",
           ms > 0 ? (T_BLAST_VALUES - 1) * 1000.0 / (double) ms : 0.0,
           T_BLAST_VALUES, T_BLAST_SIZE);
    fflush(stdout);
}

/* A batched send meets a parked select that has a send and a receive
   on the same unbuffered channel: the select's receive takes the batch's
   value and the batch completes (Go's rule; the select never pairs with
   itself), the parked counts return to zero, and a later plain send
   finds no receiver. */
static void
test_batch_meets_self_select(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "U", 0), GORO_OK);
    const char *out = harness_path(H, "selfselect.out");
    pid_t selector = harness_spawn_role(H, "selfselect", "U", out, NULL);
    s_wait_parked(H, "U", 1, 1);

    const void *datas[] = {"batch"};
    size_t lens[] = {5}, sent = 0;
    assert_int_equal(goro_chan_send_many(client, "U", 1, datas, lens, 10000,
                                         &sent),
                     GORO_OK);
    assert_int_equal(sent, 1);
    assert_int_equal(s_child_exit(H, selector, HARNESS_WAIT_MS), 0);
    char *got = harness_read_file(out);
    assert_non_null(got);
    assert_string_equal(got, "1 batch");
    free(got);
    s_expect_row(H, "U", 0, 0, 0);
    assert_int_equal(goro_chan_send(client, "U", "x", 1, 0), GORO_ETIMEDOUT);
    assert_int_equal(goro_ping(client, 5000), GORO_OK);
}

int
main(int argc, char **argv)
{
    if (harness_is_child(argc, argv))
        return harness_child_main(argc, argv, s_roles, 0);
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_unbuffered_rendezvous),
        HARNESS_TEST(test_buffered_stream_in_order),
        HARNESS_TEST(test_buffered_send_blocks_while_full),
        HARNESS_TEST(test_fcfs_across_processes),
        HARNESS_TEST(test_recv_timeout_takes_nothing),
        HARNESS_TEST(test_send_timeout_leaves_no_trace),
        HARNESS_TEST(test_close_semantics),
        HARNESS_TEST(test_read_ahead_counts_as_buffered),
        HARNESS_TEST(test_read_ahead_returned_by_the_dead),
        HARNESS_TEST(test_pipelined_send_learns_of_close),
        HARNESS_TEST(test_select_closed_receive),
        HARNESS_TEST(test_select_default),
        HARNESS_TEST(test_select_racing_processes),
        HARNESS_TEST(test_dead_clients_withdrawn),
        HARNESS_TEST(test_live_parked_client_kept),
        HARNESS_TEST(test_value_too_big),
        HARNESS_TEST(test_fanin_sum),
        HARNESS_TEST(test_select_timeout_before_job),
        HARNESS_TEST(test_go_result_chan),
        HARNESS_TEST(test_cli_go_missing_chan_says_which),
        HARNESS_TEST(test_cli_chan_verbs),
        HARNESS_TEST(test_cli_select),
        HARNESS_TEST(test_cli_stats_channels),
        HARNESS_TEST(test_batches_in_order),
        HARNESS_TEST(test_batch_partial_fit),
        HARNESS_TEST(test_batch_close_mid_batch),
        HARNESS_TEST(test_batch_receiver_killed_before_ack),
        HARNESS_TEST(test_batch_meets_self_select),
        HARNESS_TEST(test_measure_chan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
