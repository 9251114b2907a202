/*  test_jobs - jobs end to end through libgoro: a real gorod started by
    the harness, its pool of real goro-worker processes (or the example
    sum_worker), real sockets.

    Each test starts its own gorod with the config it needs and stops it
    at the end, checking that gorod exits 0 (under ASan that includes its
    leak check). Jobs synchronise with the test through files in the
    harness dir (pid files, barriers), never through sleeps.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"

#ifndef GORO_TEST_BIN_DIR
#error "GORO_TEST_BIN_DIR must name the directory of integ_sum_*"
#endif
#define SUM_WORKER GORO_TEST_BIN_DIR "/integ_sum_worker"
#define SUM_CLIENT GORO_TEST_BIN_DIR "/integ_sum_client"

/* Bound of a job wait: the jobs here take well under a second. */
#define T_JOB_WAIT_MS 20000

#define POOL1 "pools: [ { name: default, processes: 1 } ]\n"
#define POOL2 "pools: [ { name: default, processes: 2 } ]\n"
#define POOL3 "pools: [ { name: default, processes: 3 } ]\n"
#define NO_POOL "pools: []\n"

/* A silence limit of 15 s: what a test sees sooner than that was not
   found by heartbeats. */
#define SLOW_HEARTBEAT "heartbeat: { interval: 5s, liveness: 3 }\n"

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static uint64_t
s_go_opts(harness_t *h, const char *const *argv, const goro_opts_t *opts)
{
    uint64_t id = 0;
    int rc = goro_go_exec(harness_client(h), argv, opts, &id);
    if (rc != GORO_OK)
        fail_msg("goro_go_exec %s: %s", argv[0], goro_strerror(rc));
    assert_true(id > 0);
    return id;
}

static uint64_t
s_go(harness_t *h, const char *const *argv)
{
    return s_go_opts(h, argv, NULL);
}

static goro_job_t *
s_wait(harness_t *h, uint64_t id)
{
    return harness_wait_job(h, id, T_JOB_WAIT_MS);
}

static int
s_state(harness_t *h, uint64_t id)
{
    goro_job_t *job = NULL;
    int rc = goro_job_status(harness_client(h), id, &job);
    if (rc != GORO_OK)
        fail_msg("status of job %" PRIu64 ": %s", id, goro_strerror(rc));
    int state = goro_job_state(job);
    goro_job_destroy(&job);
    return state;
}

static void
s_assert_bytes(const void *data, size_t len, const char *expected)
{
    if (len != strlen(expected) || memcmp(data, expected, len) != 0)
        fail_msg("got \"%.*s\" (%zu bytes), expected \"%s\"", (int) len,
                 data ? (const char *) data : "", len, expected);
}

static void
s_assert_output(const goro_job_t *job, const char *expected)
{
    size_t len = 0;
    const void *out = goro_job_output(job, &len);
    s_assert_bytes(out, len, expected);
}

static void
s_assert_error_has(const goro_job_t *job, const char *fragment)
{
    size_t len = 0;
    const char *err = goro_job_error(job, &len);
    char *text = strndup(err ? err : "", len);
    if (!strstr(text, fragment)) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", text);
        free(text);
        fail_msg("error text \"%s\" lacks \"%s\"", copy, fragment);
    }
    free(text);
}

static void
s_assert_state(const goro_job_t *job, int state)
{
    if (goro_job_state(job) != state)
        fail_msg("job %" PRIu64 " ended %s, expected %s", goro_job_id(job),
                 goro_job_state_name(goro_job_state(job)),
                 goro_job_state_name(state));
}

/* A job gorod ended itself (timeout, cancel, lost worker): exit status
   -1, runtime 0, no output, and gorod's sentence as the error text
   (PROTOCOL.md section 9). */
static void
s_assert_ended_by_gorod(const goro_job_t *job, int state, const char *text)
{
    s_assert_state(job, state);
    assert_int_equal(goro_job_exit_status(job), -1);
    assert_int_equal(goro_job_runtime_ms(job), 0);
    size_t len = 0;
    goro_job_output(job, &len);
    assert_int_equal(len, 0);
    s_assert_error_has(job, text);
}

/* Runs `echo NAME` to the end: the worker pool is serving. */
static void
s_assert_serving(harness_t *h, const char *word)
{
    const char *argv[] = {"echo", word, NULL};
    goro_job_t *job = s_wait(h, s_go(h, argv));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    char expected[64];
    snprintf(expected, sizeof expected, "%s\n", word);
    s_assert_output(job, expected);
    goro_job_destroy(&job);
}

static int
s_has_pid(const pid_t *pids, int n, pid_t pid)
{
    for (int i = 0; i < n; i++)
        if (pids[i] == pid)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/*  Raw GORO/1 frames, written by hand (independent of the codec)     */
/* ------------------------------------------------------------------ */

enum {
    CMD_PING = 1,
    CMD_SUBMIT = 2,
    CMD_WAIT = 4,
    CMD_HEARTBEAT = 16,
    CMD_DISCONNECT = 17,
    CMD_OK = 20,
    CMD_ERROR = 21,
    CMD_JOB = 22,
    CMD_WG_ADD = 13,
    CMD_WG_WAIT = 14,
    CMD_WG_STATUS = 15,
    CMD_READY = 30,
    CMD_WELCOME = 31,
    CMD_LEASE = 58,
    CMD_LEASED = 59,
    CMD_SUBMIT_LEASED = 60
};

typedef struct {
    void *ctx;
    void *sock;
} raw_t;

static raw_t
s_raw_open(const char *endpoint)
{
    raw_t raw;
    raw.ctx = zmq_ctx_new();
    assert_non_null(raw.ctx);
    raw.sock = zmq_socket(raw.ctx, ZMQ_DEALER);
    assert_non_null(raw.sock);
    int zero = 0;
    zmq_setsockopt(raw.sock, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw.sock, endpoint), 0);
    return raw;
}

static void
s_raw_close(raw_t *raw)
{
    zmq_close(raw->sock);
    zmq_ctx_term(raw->ctx);
}

static size_t
s_put(uint8_t *buf, uint64_t value, int octets)
{
    for (int i = 0; i < octets; i++)
        buf[i] = (uint8_t) (value >> (8 * (octets - 1 - i)));
    return (size_t) octets;
}

static uint64_t
s_get(const uint8_t *buf, int octets)
{
    uint64_t value = 0;
    for (int i = 0; i < octets; i++)
        value = value << 8 | buf[i];
    return value;
}

static size_t
s_header(uint8_t *buf, int cmd, uint64_t reqid)
{
    buf[0] = 0xA7;
    buf[1] = 0xC0;
    buf[2] = 1;
    buf[3] = (uint8_t) cmd;
    s_put(buf + 4, reqid, 8);
    return 12;
}

static void
s_raw_send(raw_t *raw, const void *data, size_t len, int more)
{
    int rc = zmq_send(raw->sock, data, len, more ? ZMQ_SNDMORE : 0);
    assert_int_equal(rc, (int) len);
}

/* Waits up to TIMEOUT_MS for a frame with request id REQID and, unless
   CMD is 0, command CMD, dropping others. Returns its length in BUF, -1
   on timeout. */
static int
s_raw_wait(raw_t *raw, uint64_t reqid, int cmd, uint8_t *buf, size_t size,
           int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    for (;;) {
        int64_t left = until - harness_now();
        if (left <= 0)
            return -1;
        zmq_pollitem_t item = {raw->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long) left) <= 0)
            continue;
        int len = zmq_recv(raw->sock, buf, size, 0);
        if (len >= 12 && s_get(buf + 4, 8) == reqid
            && (cmd == 0 || buf[3] == cmd))
            return len;
    }
}

/* The reply to REQID, as s_raw_wait. */
static int
s_raw_reply(raw_t *raw, uint64_t reqid, uint8_t *buf, size_t size,
            int64_t timeout_ms)
{
    return s_raw_wait(raw, reqid, 0, buf, size, timeout_ms);
}

/* Sends a request with header CMD/REQID and BODY, expects ERROR CODE. */
static void
s_raw_expect_error(raw_t *raw, uint64_t reqid, int code)
{
    uint8_t buf[4096];
    int len = s_raw_reply(raw, reqid, buf, sizeof buf, HARNESS_WAIT_MS);
    if (len < 0)
        fail_msg("no reply to request %" PRIu64, reqid);
    assert_true(len >= 16);
    if (buf[3] != CMD_ERROR)
        fail_msg("request %" PRIu64 ": reply command %d, expected ERROR",
                 reqid, buf[3]);
    if ((int) s_get(buf + 12, 4) != code)
        fail_msg("request %" PRIu64 ": error %d, expected %d (%s)", reqid,
                 (int) s_get(buf + 12, 4), code, goro_strerror(code));
}

/* ------------------------------------------------------------------ */
/*  exec jobs                                                         */
/* ------------------------------------------------------------------ */

static void
test_exec_result(void **state)
{
    harness_t *h = harness_up(state, POOL1);

    /* stdout, stderr and the exit status come back separately. */
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    goro_job_t *job = s_wait(h, s_go(h, argv));
    s_assert_state(job, GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 3);
    assert_int_equal(goro_job_attempts(job), 1);
    assert_string_equal(goro_job_fn(job), "exec");
    s_assert_output(job, "out\n");
    size_t len;
    const void *err = goro_job_error(job, &len);
    s_assert_bytes(err, len, "err\n");
    assert_true(goro_job_runtime_ms(job) >= 0);
    goro_job_destroy(&job);

    /* No shell unless asked for: the argument arrives verbatim. */
    const char *echo[] = {"echo", "a  b", "$HOME", "*", NULL};
    job = s_wait(h, s_go(h, echo));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_exit_status(job), 0);
    s_assert_output(job, "a  b $HOME *\n");
    goro_job_destroy(&job);

    /* The environment names the job, the attempt and the endpoint. */
    const char *env[] = {"sh", "-c",
                         "echo \"$GORO_JOB_ID $GORO_ATTEMPT $GORO_ENDPOINT\"",
                         NULL};
    uint64_t id = s_go(h, env);
    job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    char expected[512];
    snprintf(expected, sizeof expected, "%" PRIu64 " 1 %s\n", id,
             harness_clients(h));
    s_assert_output(job, expected);
    goro_job_destroy(&job);

    /* A signal is 128+N. */
    const char *killed[] = {"sh", "-c", "kill -TERM $$", NULL};
    job = s_wait(h, s_go(h, killed));
    s_assert_state(job, GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 128 + SIGTERM);
    goro_job_destroy(&job);
    harness_finish(state);
}

static void
test_exec_missing_program(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    const char *argv[] = {"goro-integ-no-such-program", "x", NULL};
    goro_job_t *job = s_wait(h, s_go(h, argv));
    s_assert_state(job, GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 127);
    s_assert_error_has(job, "goro-integ-no-such-program");
    goro_job_destroy(&job);
    /* The worker survived it. */
    s_assert_serving(h, "still");
    harness_finish(state);
}

/* A job past its timeout ends timed_out and its whole process group is
   killed: the command itself and a background child. */
static void
test_timeout_kills_group(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.timeout_ms = 300;
    uint64_t id = harness_go_sh(h,
                                "sleep 30 & echo $! > @D/bg; "
                                "echo $$ > @D/pid; exec sleep 30",
                                &opts);
    goro_job_t *job = s_wait(h, id);
    s_assert_ended_by_gorod(job, GORO_JOB_TIMED_OUT, "timed out after 300 ms");
    goro_job_destroy(&job);

    pid_t pid, bg;
    harness_read_pids(harness_path(h, "pid"), &pid, NULL);
    harness_read_pids(harness_path(h, "bg"), &bg, NULL);
    /* The worker reaps its own child: gone, not a zombie. */
    if (harness_wait_gone(pid, HARNESS_WAIT_MS) != 0)
        fail_msg("the timed-out command (pid %d) still runs", (int) pid);
    /* The background one was reparented; a zombie counts as dead. */
    if (harness_wait_dead(bg, HARNESS_WAIT_MS) != 0) {
        kill(bg, SIGKILL);
        fail_msg("a child of the timed-out command (pid %d) still runs",
                 (int) bg);
    }
    /* The worker's slot is free again. */
    s_assert_serving(h, "next");
    harness_finish(state);
}

static void
test_cancel_queued(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    goro_t *c = harness_client(h);
    const char *argv[] = {"echo", "never", NULL};
    uint64_t id = s_go(h, argv);
    assert_int_equal(s_state(h, id), GORO_JOB_QUEUED);
    assert_int_equal(goro_job_cancel(c, id), GORO_OK);
    goro_job_t *job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_CANCELLED);
    assert_int_equal(goro_job_attempts(job), 0);
    goro_job_destroy(&job);
    /* Ended: a second cancel is refused, a retry queues it again. */
    assert_int_equal(goro_job_cancel(c, id), GORO_ESTATE);
    assert_int_equal(goro_job_retry(c, id), GORO_OK);
    assert_int_equal(s_state(h, id), GORO_JOB_QUEUED);
    assert_int_equal(goro_job_cancel(c, id), GORO_OK);
    assert_int_equal(s_state(h, id), GORO_JOB_CANCELLED);
    harness_finish(state);
}

static void
test_cancel_running(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    goro_t *c = harness_client(h);
    uint64_t id = harness_go_sh(h, "echo $$ > @D/pid; exec sleep 30", NULL);
    pid_t pid;
    harness_read_pids(harness_path(h, "pid"), &pid, NULL);
    assert_int_equal(s_state(h, id), GORO_JOB_RUNNING);

    assert_int_equal(goro_job_cancel(c, id), GORO_OK);
    goro_job_t *job = s_wait(h, id);
    s_assert_ended_by_gorod(job, GORO_JOB_CANCELLED, "cancelled");
    goro_job_destroy(&job);
    if (harness_wait_gone(pid, HARNESS_WAIT_MS) != 0)
        fail_msg("the cancelled command (pid %d) still runs", (int) pid);
    assert_int_equal(goro_job_cancel(c, id), GORO_ESTATE);
    /* The worker's slot is free again. */
    s_assert_serving(h, "after");
    /* The killed attempt's DONE is in, and changed nothing. */
    assert_int_equal(goro_job_status(c, id, &job), GORO_OK);
    s_assert_ended_by_gorod(job, GORO_JOB_CANCELLED, "cancelled");
    goro_job_destroy(&job);
    harness_finish(state);
}

static void
test_ended_and_unknown(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    goro_t *c = harness_client(h);
    const char *argv[] = {"true", NULL};
    uint64_t id = s_go(h, argv);
    goro_job_t *job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    assert_int_equal(goro_job_cancel(c, id), GORO_ESTATE);
    assert_int_equal(goro_job_retry(c, id), GORO_ESTATE);
    /* The state did not change. */
    assert_int_equal(s_state(h, id), GORO_JOB_SUCCEEDED);

    uint64_t unknown = id + 1000;
    assert_int_equal(goro_job_status(c, unknown, &job), GORO_ENOTFOUND);
    assert_null(job);
    assert_int_equal(goro_job_wait(c, unknown, 1000, &job), GORO_ENOTFOUND);
    assert_int_equal(goro_job_cancel(c, unknown), GORO_ENOTFOUND);
    assert_int_equal(goro_job_retry(c, unknown), GORO_ENOTFOUND);
    harness_finish(state);
}

/* Three jobs on three pool processes all run at once: each waits until
   all three have started, which only happens if they run in parallel. */
static void
test_parallel_barrier(void **state)
{
    harness_t *h = harness_up(state, POOL3);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.timeout_ms = 20000;
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = harness_go_sh(h,
                               "touch @D/s.$GORO_JOB_ID; "
                               "while [ $(ls @D/s.* | wc -l) -lt 3 ]; "
                               "do sleep 0.02; done; echo $PPID",
                               &opts);
    pid_t workers[3];
    for (int i = 0; i < 3; i++) {
        goro_job_t *job = s_wait(h, ids[i]);
        s_assert_state(job, GORO_JOB_SUCCEEDED);
        size_t len;
        const char *out = goro_job_output(job, &len);
        workers[i] = (pid_t) strtol(out, NULL, 10);
        goro_job_destroy(&job);
    }
    /* ... on three different workers */
    assert_true(workers[0] != workers[1] && workers[1] != workers[2]
                && workers[0] != workers[2]);
    harness_finish(state);
}

/* goro-worker --prefetch: gorod hands the worker its concurrency plus
   the prefetch (they count as running), the extra jobs wait there for the
   one thread, and a job beyond that stays queued in gorod. */
static void
test_prefetch(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    const char *argv[] = {GORO_BIN_DIR "/goro-worker",
                          "--connect",
                          harness_workers(h),
                          "--concurrency",
                          "1",
                          "--prefetch",
                          "2",
                          NULL};
    assert_true(harness_spawn(h, argv) > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    assert_int_equal(harness_stat(h, "capacity"), 3);

    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = harness_go_sh(h,
                               "echo run > @D/p.$GORO_JOB_ID; "
                               "while [ ! -e @D/go ]; do sleep 0.02; done",
                               NULL);
    int64_t deadline = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(h, "jobs_running") < 3 && harness_nap(deadline))
        ;
    assert_int_equal(harness_stat(h, "jobs_running"), 3);
    assert_int_equal(harness_stat(h, "jobs_queued"), 1);
    /* One thread: the first job blocks it, the prefetched two wait. */
    char path[64];
    snprintf(path, sizeof path, "p.%" PRIu64, ids[0]);
    char *line = harness_wait_line(harness_path(h, path), HARNESS_WAIT_MS);
    assert_non_null(line);
    free(line);
    snprintf(path, sizeof path, "p.%" PRIu64, ids[1]);
    assert_int_equal(access(harness_path(h, path), F_OK), -1);

    assert_int_equal(harness_write_file(harness_path(h, "go"), ""), 0);
    for (int i = 0; i < 4; i++) {
        goro_job_t *job = s_wait(h, ids[i]);
        s_assert_state(job, GORO_JOB_SUCCEEDED);
        goro_job_destroy(&job);
    }
    harness_finish(state);
}

/* pools[].prefetch reaches the pool's goro-worker processes: each
   offers its concurrency plus the prefetch. */
static void
test_pool_prefetch(void **state)
{
    harness_t *h =
        harness_up(state, "pools: [ { name: p, processes: 2, concurrency: 1, "
                          "prefetch: 3 } ]\n");
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);
    int64_t deadline = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(h, "capacity") != 8 && harness_nap(deadline))
        ;
    assert_int_equal(harness_stat(h, "capacity"), 8);
    harness_finish(state);
}

/* kill -9 of the pool worker that runs a job: gorod notices at once,
   from the process's exit rather than its silence (15 s here), the job
   runs again, the pool starts a new worker. */
static void
test_worker_killed_job_retried(void **state)
{
    harness_t *h = harness_up(state, POOL1 SLOW_HEARTBEAT);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.max_attempts = 3;
    uint64_t id = harness_go_sh(h,
                                "echo $PPID $$ > @D/w.$GORO_ATTEMPT; "
                                "[ \"$GORO_ATTEMPT\" -ge 2 ] "
                                "|| exec sleep 60; echo done",
                                &opts);
    pid_t worker, job_pid;
    harness_read_pids(harness_path(h, "w.1"), &worker, &job_pid);
    pid_t known[4];
    int n = harness_worker_pids(h, known, 4);
    assert_int_equal(n, 1);
    assert_int_equal(known[0], worker); /* $PPID is the worker */

    int64_t killed_at = harness_now();
    assert_int_equal(kill(worker, SIGKILL), 0);
    kill(-job_pid, SIGKILL); /* the orphaned sleep: tidy up */

    /* A restart and a backoff of 100 ms each, far from 15 s. */
    goro_job_t *job = harness_wait_job(h, id, 4000);
    printf("MEASURE pool worker kill -9 to job done: %lld ms\n",
           (long long) (harness_now() - killed_at));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    s_assert_output(job, "done\n");
    goro_job_destroy(&job);
    pid_t worker2;
    harness_read_pids(harness_path(h, "w.2"), &worker2, NULL);
    assert_true(worker2 != worker);
    harness_finish(state);
}

static void
test_worker_killed_attempts_used(void **state)
{
    harness_t *h = harness_up(state, POOL1 SLOW_HEARTBEAT);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.max_attempts = 1;
    uint64_t id = harness_go_sh(h,
                                "echo $PPID $$ > @D/w.$GORO_ATTEMPT; "
                                "exec sleep 60",
                                &opts);
    pid_t worker, job_pid;
    harness_read_pids(harness_path(h, "w.1"), &worker, &job_pid);
    assert_int_equal(kill(worker, SIGKILL), 0);
    kill(-job_pid, SIGKILL);

    goro_job_t *job = harness_wait_job(h, id, 4000);
    s_assert_ended_by_gorod(job, GORO_JOB_FAILED,
                            "worker lost (process exited) on attempt 1 of 1");
    assert_int_equal(goro_job_attempts(job), 1);
    goro_job_destroy(&job);
    /* It was not run a second time. */
    assert_null(harness_read_file(harness_path(h, "w.2")));
    harness_finish(state);
}

/* A worker that stalls (SIGSTOP) past liveness is declared lost; its job
   fails (attempts used). RETRY queues it again; the stalled worker comes
   back and gets the new attempt (and a KILL for the old one, which it
   claims). The old attempt's late DONE must not count for the new one
   (PROTOCOL.md, workers, item 5: "a stale DONE never matches a new
   attempt"). */
static void
test_retry_fences_stale_done(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    goro_t *c = harness_client(h);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.max_attempts = 1;
    uint64_t id = harness_go_sh(h,
                                "if [ -e @D/started ]; then echo second; "
                                "exit 0; fi; touch @D/started; "
                                "while [ ! -e @D/release ]; "
                                "do sleep 0.02; done; echo first",
                                &opts);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (access(harness_path(h, "started"), F_OK) != 0
           && harness_nap(until)) {}
    assert_int_equal(access(harness_path(h, "started"), F_OK), 0);
    pid_t workers[4];
    assert_int_equal(harness_worker_pids(h, workers, 4), 1);
    assert_int_equal(harness_freeze(workers[0]), 0);
    goro_job_t *job = NULL;
    int rc = goro_job_wait(c, id, T_JOB_WAIT_MS, &job);
    harness_thaw();
    assert_int_equal(rc, GORO_OK);
    s_assert_state(job, GORO_JOB_FAILED);
    s_assert_error_has(job, "worker lost");
    goro_job_destroy(&job);

    /* The retry goes to the worker that came back; only then the old
       attempt may finish, if its KILL has not stopped it first. The new
       attempt ends as soon as the old one has made way, so its running
       state may be over before a poll sees it. */
    assert_int_equal(goro_job_retry(c, id), GORO_OK);
    until = harness_now() + HARNESS_WAIT_MS;
    int started = 0;
    do {
        assert_int_equal(goro_job_status(c, id, &job), GORO_OK);
        started = goro_job_state(job) != GORO_JOB_QUEUED;
        goro_job_destroy(&job);
    } while (!started && harness_nap(until));
    assert_true(started);
    assert_int_equal(harness_write_file(harness_path(h, "release"), ""), 0);

    job = s_wait(h, id);
    size_t len;
    const char *out = goro_job_output(job, &len);
    if (len == 6 && memcmp(out, "first\n", 6) == 0)
        fail_msg("the retried job %" PRIu64 " ended %s with the output of "
                 "the attempt that was declared lost",
                 id, goro_job_state_name(goro_job_state(job)));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    s_assert_output(job, "second\n");
    goro_job_destroy(&job);
    harness_finish(state);
}

static void
test_pool_restarts_worker(void **state)
{
    harness_t *h = harness_up(state, POOL2);
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);
    pid_t before[4];
    assert_int_equal(harness_worker_pids(h, before, 4), 2);
    assert_int_equal(kill(before[0], SIGKILL), 0);

    /* Back to two workers, neither of them the dead one. */
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    pid_t now[4];
    int n;
    do {
        n = harness_worker_pids(h, now, 4);
        if (n == 2 && !s_has_pid(now, n, before[0])
            && s_has_pid(now, n, before[1]))
            break;
    } while (harness_nap(until));
    assert_int_equal(n, 2);
    assert_false(s_has_pid(now, n, before[0]));
    assert_true(s_has_pid(now, n, before[1]));
    /* gorod reaped the dead one */
    assert_int_equal(harness_wait_gone(before[0], HARNESS_WAIT_MS), 0);

    char *stats = NULL;
    assert_int_equal(goro_stats(harness_client(h), GORO_LIST_JSON, &stats),
                     GORO_OK);
    assert_non_null(strstr(stats, "\"pool_processes\":2"));
    goro_free(stats);
    s_assert_serving(h, "one");
    s_assert_serving(h, "two");
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  App functions through the example worker                          */
/* ------------------------------------------------------------------ */

static pid_t
s_start_sum_worker(harness_t *h)
{
    const char *argv[] = {SUM_WORKER, harness_workers(h), NULL};
    pid_t pid = harness_spawn(h, argv);
    assert_true(pid > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    return pid;
}

static void
test_app_function(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    goro_t *c = harness_client(h);
    pid_t worker = s_start_sum_worker(h);

    uint64_t id;
    assert_int_equal(goro_go(c, "sum", "1 2 3 4", 7, NULL, &id), GORO_OK);
    goro_job_t *job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    assert_string_equal(goro_job_fn(job), "sum");
    assert_int_equal(goro_job_exit_status(job), 0);
    s_assert_output(job, "10");
    goro_job_destroy(&job);

    assert_int_equal(goro_go(c, "sum", "1 x 3", 5, NULL, &id), GORO_OK);
    job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 1);
    s_assert_error_has(job, "sum: the payload must be integers");
    goro_job_destroy(&job);

    /* The client half of the example. */
    char *out = NULL, *err = NULL;
    const char *client[] = {SUM_CLIENT, harness_clients(h), NULL};
    int code = harness_run(harness_dir(h), client, &out, &err,
                           HARNESS_WAIT_MS * 3);
    if (code != 0 || strcmp(out, "10\n") != 0)
        fail_msg("sum_client: exit %d, stdout \"%s\", stderr \"%s\"", code,
                 out, err);
    free(out);
    free(err);
    const char *client2[] = {SUM_CLIENT, harness_clients(h), "40", "2", NULL};
    code = harness_run(harness_dir(h), client2, &out, &err,
                       HARNESS_WAIT_MS * 3);
    assert_int_equal(code, 0);
    assert_string_equal(out, "42\n");
    free(out);
    free(err);

    /* A function nobody serves, and exec with no exec worker: queued
       until someone does. */
    uint64_t nobody, exec_id;
    assert_int_equal(goro_go(c, "nobody-serves-this", "x", 1, NULL, &nobody),
                     GORO_OK);
    const char *argv[] = {"true", NULL};
    exec_id = s_go(h, argv);
    assert_int_equal(goro_job_wait(c, nobody, 300, &job), GORO_ETIMEDOUT);
    assert_null(job);
    assert_int_equal(s_state(h, nobody), GORO_JOB_QUEUED);
    assert_int_equal(s_state(h, exec_id), GORO_JOB_QUEUED);
    /* while sum still runs */
    assert_int_equal(goro_go(c, "sum", "5", 1, NULL, &id), GORO_OK);
    job = s_wait(h, id);
    s_assert_output(job, "5");
    goro_job_destroy(&job);

    /* The worker stops cleanly on SIGTERM. */
    assert_int_equal(harness_signal(h, worker, SIGTERM, HARNESS_WAIT_MS), 0);
    harness_finish(state);
}

#define T_MANY 2000

static void
test_go_many_pipelined(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    goro_t *c = harness_client(h);
    s_start_sum_worker(h);

    const void **datas = calloc(T_MANY, sizeof *datas);
    size_t *lens = calloc(T_MANY, sizeof *lens);
    uint64_t *ids = calloc(T_MANY, sizeof *ids);
    for (int i = 0; i < T_MANY; i++)
        datas[i] = "";
    int rc = goro_go_many(c, "sum", T_MANY, datas, lens, NULL, ids);
    assert_int_equal(rc, GORO_OK);
    for (int i = 0; i < T_MANY; i++) {
        assert_true(ids[i] > 0);
        if (i > 0 && ids[i] <= ids[i - 1])
            fail_msg("ids[%d] = %" PRIu64 " after ids[%d] = %" PRIu64, i,
                     ids[i], i - 1, ids[i - 1]);
    }
    for (int i = 0; i < T_MANY; i++) {
        goro_job_t *job = s_wait(h, ids[i]);
        s_assert_state(job, GORO_JOB_SUCCEEDED);
        s_assert_output(job, "0");
        goro_job_destroy(&job);
    }
    char *stats = NULL;
    assert_int_equal(goro_stats(c, GORO_LIST_JSON, &stats), GORO_OK);
    char expected[64];
    snprintf(expected, sizeof expected, "\"jobs_succeeded\":%d", T_MANY);
    if (!strstr(stats, expected))
        fail_msg("stats lack %s: %s", expected, stats);
    goro_free(stats);
    free(datas);
    free(lens);
    free(ids);
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Submission rules                                                   */
/* ------------------------------------------------------------------ */

static void
test_idempotency_key(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    const char *argv[] = {"echo", "once", NULL};
    const char *other[] = {"echo", "twice", NULL};
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.key = "deploy-42";
    uint64_t first = s_go_opts(h, argv, &opts);
    uint64_t again = s_go_opts(h, other, &opts);
    assert_int_equal(first, again);
    opts.key = "deploy-43";
    uint64_t third = s_go_opts(h, argv, &opts);
    assert_true(third != first);
    /* without a key, every submission is a new job */
    uint64_t a = s_go(h, argv), b = s_go(h, argv);
    assert_true(a != b && a != first && b != third);

    char *stats = NULL;
    assert_int_equal(goro_stats(harness_client(h), GORO_LIST_JSON, &stats),
                     GORO_OK);
    assert_non_null(strstr(stats, "\"jobs_submitted\":4"));
    goro_free(stats);
    harness_finish(state);
}

static void
test_exec_disabled(void **state)
{
    harness_t *h = harness_up(state,
                              NO_POOL "jobs: { exec: { enabled: false } }\n");
    goro_t *c = harness_client(h);
    const char *argv[] = {"true", NULL};
    uint64_t id = 0;
    assert_int_equal(goro_go_exec(c, argv, NULL, &id), GORO_EDENIED);
    /* app functions are not affected */
    assert_int_equal(goro_go(c, "sum", "1", 1, NULL, &id), GORO_OK);
    assert_true(id > 0);
    harness_finish(state);
}

static void
test_exec_allow(void **state)
{
    harness_t *h = harness_up(state, POOL1
                              "jobs: { exec: { allow: [\"/bin/*\"] } }\n");
    goro_t *c = harness_client(h);
    const char *ok[] = {"/bin/true", NULL};
    goro_job_t *job = s_wait(h, s_go(h, ok));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    /* After the client's first submission goro_go pipelines: a refusal
       shows at goro_flush, and no job has the id it gave. */
    uint64_t id = 0;
    const char *sh[] = {"sh", "-c", "true", NULL};
    assert_int_equal(goro_go_exec(c, sh, NULL, &id), GORO_OK);
    assert_int_equal(goro_flush(c), GORO_EDENIED);
    assert_non_null(strstr(goro_last_error(c), "sh"));
    assert_int_equal(goro_job_status(c, id, &job), GORO_ENOTFOUND);
    const char *usr[] = {"/usr/bin/true", NULL};
    assert_int_equal(goro_go_exec(c, usr, NULL, &id), GORO_OK);
    assert_int_equal(goro_flush(c), GORO_EDENIED);
    assert_int_equal(goro_flush(c), GORO_OK); /* reported once */
    harness_finish(state);
}

static void
test_payload_too_big(void **state)
{
    harness_t *h = harness_up(state, POOL1 "limits: { max_message: 1KiB }\n");
    goro_t *c = harness_client(h);
    char *big = malloc(4096 + 1);
    memset(big, '7', 4096);
    big[4096] = '\0';
    uint64_t id = 0;
    assert_int_equal(goro_go(c, "sum", big, 4096, NULL, &id), GORO_ETOOBIG);
    const char *argv[] = {"echo", big, NULL};
    assert_int_equal(goro_go_exec(c, argv, NULL, &id), GORO_OK); /* sent */
    assert_int_equal(goro_flush(c), GORO_ETOOBIG);
    free(big);
    /* and it keeps serving, this client included */
    assert_int_equal(goro_ping(c, HARNESS_WAIT_MS), GORO_OK);
    s_assert_serving(h, "small");
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Pipelined submissions                                             */
/* ------------------------------------------------------------------ */

/* A loop of goro_go does not wait for each job's OK: past the first, ids
   come from blocks the client leases, increasing and never given twice,
   also with another client submitting between; goro_flush then says all
   were accepted, and every job is there. */
static void
test_pipelined_go(void **state)
{
    harness_t *h = harness_up(state, "pools: []\n");
    goro_t *c = harness_client(h);
    goro_t *other = goro_new(harness_clients(h));
    assert_non_null(other);
    enum { N = 700 };
    uint64_t ids[N], theirs[N / 10];
    for (int i = 0; i < N; i++) {
        char data[16];
        int len = snprintf(data, sizeof data, "%d", i);
        assert_int_equal(
            goro_go(c, "nobody", data, (size_t) len, NULL, &ids[i]), GORO_OK);
        assert_true(i == 0 || ids[i] > ids[i - 1]);
        if (i % 10 == 0)
            assert_int_equal(goro_go(other, "nobody", "o", 1, NULL,
                                     &theirs[i / 10]),
                             GORO_OK);
    }
    assert_int_equal(goro_flush(c), GORO_OK);
    assert_int_equal(goro_flush(other), GORO_OK);
    for (int i = 0; i < N / 10; i++)
        for (int j = 0; j < N; j++)
            assert_true(theirs[i] != ids[j]);
    assert_int_equal(harness_stat(h, "jobs_queued"), N + N / 10);
    goro_destroy(&other);
    for (int i = 0; i < N; i += 99) {
        goro_job_t *job = NULL;
        assert_int_equal(goro_job_status(c, ids[i], &job), GORO_OK);
        assert_int_equal(goro_job_state(job), GORO_JOB_QUEUED);
        goro_job_destroy(&job);
    }
    harness_finish(state);
}

/* What gorod refuses of a pipelined goro_go shows once, at the next call
   that reports (here goro_flush or a later goro_go), and takes nothing:
   with room for 5 queued jobs, 12 submissions leave 5 jobs. */
static void
test_pipelined_go_refusal(void **state)
{
    harness_t *h = harness_up(state, "pools: []\n"
                                     "limits: { max_queued_jobs: 5 }\n");
    goro_t *c = harness_client(h);
    int reported = 0;
    for (int i = 0; i < 12; i++) {
        uint64_t id = 0;
        int rc = goro_go(c, "nobody", "x", 1, NULL, &id);
        if (rc == GORO_EFULL)
            reported++;
        else
            assert_int_equal(rc, GORO_OK);
    }
    int rc = goro_flush(c);
    if (rc == GORO_EFULL)
        reported++;
    else
        assert_int_equal(rc, GORO_OK);
    assert_true(reported >= 1);
    assert_non_null(strstr(goro_last_error(c), "max_queued_jobs"));
    assert_int_equal(goro_flush(c), GORO_OK);
    assert_int_equal(harness_stat(h, "jobs_queued"), 5);
    harness_finish(state);
}

/* GORO/1's LEASE and SUBMIT_LEASED from a raw peer: a lease is of 1 to
   65536 ids; a leased id is taken once; an id never given out, or one
   claimed for another run of gorod that this run could give out, is
   refused; the ids of a lease are given to nobody else. */
static void
test_leased_ids_checked(void **state)
{
    harness_t *h = harness_up(state, "pools: []\n");
    raw_t cl = s_raw_open(harness_clients(h));
    uint8_t buf[128], reply[256];
    size_t len;
    const uint32_t counts[] = {0, 65537};
    for (int i = 0; i < 2; i++) {
        len = s_header(buf, CMD_LEASE, 10 + (uint64_t) i);
        len += s_put(buf + len, counts[i], 4);
        s_raw_send(&cl, buf, len, 0);
        s_raw_expect_error(&cl, 10 + (uint64_t) i, GORO_EINVAL);
    }
    len = s_header(buf, CMD_LEASE, 12);
    len += s_put(buf + len, 4, 4);
    s_raw_send(&cl, buf, len, 0);
    int got = s_raw_reply(&cl, 12, reply, sizeof reply, HARNESS_WAIT_MS);
    assert_int_equal(got, 12 + 8 + 4 + 8);
    assert_int_equal(reply[3], CMD_LEASED);
    uint64_t first = s_get(reply + 12, 8);
    assert_int_equal(s_get(reply + 20, 4), 4);
    uint64_t run = s_get(reply + 24, 8);
    assert_true(first >= 1);

    struct {
        uint64_t id, run;
        int code; /* 0: OK */
    } cases[] = {
        {first + 1, run, 0},
        {first + 1, run, GORO_EINVAL},           /* taken */
        {first + 100, run, GORO_EINVAL},         /* never given out */
        {0, run, GORO_EINVAL},                   /* no id */
        {first + 2, run ^ 1, GORO_EUNAVAILABLE}, /* not this run's */
        {first, run, 0},                         /* any order */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t reqid = 20 + i;
        len = s_header(buf, CMD_SUBMIT_LEASED, reqid);
        len += s_put(buf + len, cases[i].id, 8);
        len += s_put(buf + len, cases[i].run, 8);
        buf[len++] = 4;
        memcpy(buf + len, "noop", 4);
        len += 4;
        len += s_put(buf + len, 0, 4); /* empty payload */
        buf[len++] = 0;                /* wg, result-chan */
        buf[len++] = 0;
        len += s_put(buf + len, 0, 8); /* timeout */
        len += s_put(buf + len, 0, 4); /* max-attempts */
        s_raw_send(&cl, buf, len, 0);
        if (cases[i].code) {
            s_raw_expect_error(&cl, reqid, cases[i].code);
            continue;
        }
        got = s_raw_reply(&cl, reqid, reply, sizeof reply, HARNESS_WAIT_MS);
        assert_true(got >= 20);
        assert_int_equal(reply[3], CMD_OK);
        assert_int_equal(s_get(reply + 12, 8), cases[i].id);
    }
    s_raw_close(&cl);
    /* a plain submission gets an id past the lease */
    uint64_t id = 0;
    assert_int_equal(goro_go(harness_client(h), "noop", "", 0, NULL, &id),
                     GORO_OK);
    assert_true(id >= first + 4);
    assert_int_equal(harness_stat(h, "jobs_queued"), 3);
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Robustness                                                        */
/* ------------------------------------------------------------------ */

static void
s_random_frames(raw_t *raw, unsigned *seed, int count)
{
    uint8_t buf[300];
    for (int i = 0; i < count; i++) {
        size_t len = (size_t) (rand_r(seed) % (int) sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t) rand_r(seed);
        if (i % 3 == 0 && len >= 4) {
            /* a good signature and version: past the first check */
            buf[0] = 0xA7;
            buf[1] = 0xC0;
            buf[2] = 1;
        }
        s_raw_send(raw, buf, len, 0);
    }
}

static void
test_garbage_on_both_sockets(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    unsigned seed = (unsigned) getpid();
    print_message("garbage seed %u\n", seed);
    uint8_t buf[64];
    size_t len;

    /* clients endpoint */
    raw_t cl = s_raw_open(harness_clients(h));
    s_random_frames(&cl, &seed, 300);
    /* a SUBMIT cut after its header */
    len = s_header(buf, CMD_SUBMIT, 77);
    s_raw_send(&cl, buf, len, 0);
    /* a PING followed by two more frames */
    len = s_header(buf, CMD_PING, 78);
    s_raw_send(&cl, buf, len, 1);
    s_raw_send(&cl, "more", 4, 1);
    s_raw_send(&cl, "", 0, 0);
    /* an unknown command */
    len = s_header(buf, 99, 79);
    s_raw_send(&cl, buf, len, 0);
    /* a payload claiming 4 GiB */
    len = s_header(buf, CMD_SUBMIT, 80);
    buf[len++] = 4;
    memcpy(buf + len, "exec", 4);
    len += 4;
    len += s_put(buf + len, 0xFFFFFFFFu, 4);
    s_raw_send(&cl, buf, len, 0);
    /* max-attempts beyond what a job can count */
    len = s_header(buf, CMD_SUBMIT, 82);
    buf[len++] = 4;
    memcpy(buf + len, "noop", 4);
    len += 4;
    len += s_put(buf + len, 0, 4); /* empty payload */
    buf[len++] = 0;                /* wg, result-chan, key */
    buf[len++] = 0;
    buf[len++] = 0;
    len += s_put(buf + len, 0, 8);           /* timeout */
    len += s_put(buf + len, 0x80000000u, 4); /* max-attempts */
    len += s_put(buf + len, 0, 8);           /* submit-wait */
    s_raw_send(&cl, buf, len, 0);
    /* then a good PING on the same connection */
    len = s_header(buf, CMD_PING, 81);
    s_raw_send(&cl, buf, len, 0);

    s_raw_expect_error(&cl, 77, GORO_EPROTO);
    s_raw_expect_error(&cl, 78, GORO_EPROTO);
    s_raw_expect_error(&cl, 79, GORO_EPROTO);
    s_raw_expect_error(&cl, 80, GORO_ETOOBIG);
    s_raw_expect_error(&cl, 82, GORO_EINVAL);
    uint8_t reply[4096];
    int got = s_raw_reply(&cl, 81, reply, sizeof reply, HARNESS_WAIT_MS);
    assert_true(got >= 12);
    assert_int_equal(reply[3], CMD_OK);

    /* workers endpoint */
    raw_t wk = s_raw_open(harness_workers(h));
    s_random_frames(&wk, &seed, 300);
    len = s_header(buf, CMD_READY, 0); /* READY, cut short */
    s_raw_send(&wk, buf, len, 0);
    len = s_header(buf, CMD_READY, 0); /* in three frames */
    s_raw_send(&wk, buf, len, 1);
    s_raw_send(&wk, "x", 1, 1);
    s_raw_send(&wk, "y", 1, 0);
    len = s_header(buf, CMD_PING, 5); /* a client command */
    s_raw_send(&wk, buf, len, 0);
    /* an unknown peer's heartbeat gets DISCONNECT (PROTOCOL.md 6.7) */
    len = s_header(buf, CMD_HEARTBEAT, 0);
    s_raw_send(&wk, buf, len, 0);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    int disconnected = 0;
    while (!disconnected && harness_now() < until) {
        zmq_pollitem_t item = {wk.sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) > 0) {
            int n = zmq_recv(wk.sock, reply, sizeof reply, 0);
            disconnected = n >= 12 && reply[3] == CMD_DISCONNECT;
        }
    }
    assert_true(disconnected);

    /* a frame over ZMQ_MAXMSGSIZE: libzmq drops that connection */
    size_t huge_len = 4u << 20;
    uint8_t *huge = calloc(1, huge_len);
    s_header(huge, CMD_PING, 82);
    s_raw_send(&cl, huge, huge_len, 0);
    s_raw_send(&wk, huge, huge_len, 0);
    free(huge);

    /* A good client is served, and a job runs on the real worker. */
    assert_true(harness_running(h));
    assert_int_equal(goro_ping(harness_client(h), HARNESS_WAIT_MS), GORO_OK);
    s_assert_serving(h, "unharmed");
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    char *stats = NULL;
    assert_int_equal(goro_stats(harness_client(h), GORO_LIST_JSON, &stats),
                     GORO_OK);
    assert_null(strstr(stats, "\"malformed\":0,"));
    goro_free(stats);
    s_raw_close(&cl);
    s_raw_close(&wk);
    harness_finish(state);
}

/* SIGTERM with a job running: the job finishes within the grace period,
   a client waiting for it gets its result, gorod exits 0 and takes its
   pool down with it. */
static void
test_sigterm_graceful(void **state)
{
    harness_t *h = harness_up(state, POOL1 "jobs: { shutdown_grace: 10s }\n");
    uint64_t id = harness_go_sh(h, "echo $$ > @D/pid; sleep 1; echo ok", NULL);
    pid_t job_pid;
    harness_read_pids(harness_path(h, "pid"), &job_pid, NULL);
    pid_t workers[4];
    assert_int_equal(harness_worker_pids(h, workers, 4), 1);

    /* A WAIT for the job, parked in gorod before the SIGTERM: the PING
       after it on the same connection is answered only after the WAIT
       was handled. */
    raw_t raw = s_raw_open(harness_clients(h));
    uint8_t buf[64];
    size_t len = s_header(buf, CMD_WAIT, 500);
    len += s_put(buf + len, id, 8);
    len += s_put(buf + len, (uint64_t) -1, 8);
    s_raw_send(&raw, buf, len, 0);
    len = s_header(buf, CMD_PING, 501);
    s_raw_send(&raw, buf, len, 0);
    uint8_t reply[4096];
    assert_true(s_raw_reply(&raw, 501, reply, sizeof reply, HARNESS_WAIT_MS)
                >= 12);

    /* SIGTERM, and gorod's exit: 0 once the job has finished (the WAIT's
       reply waits in our socket). Signal and reap in one step, so that
       no check of ours can find gorod gone before it is reaped. */
    int64_t start = harness_now();
    assert_int_equal(harness_kill(h, SIGTERM, HARNESS_WAIT_MS), 0);
    /* well within the grace period: the job, not the grace, ended it */
    assert_true(harness_now() - start < 9000);
    int got = s_raw_reply(&raw, 500, reply, sizeof reply, HARNESS_WAIT_MS);
    if (got < 0)
        fail_msg("no reply to the WAIT after SIGTERM");
    assert_int_equal(reply[3], CMD_JOB);
    /* JOB: id, function, state, attempts, exit status, runtime, output */
    size_t at = 12 + 8;
    at += 1 + reply[at];
    assert_true((size_t) got >= at + 1 + 4 + 8 + 8 + 4);
    assert_int_equal(reply[at], GORO_JOB_SUCCEEDED);
    at += 1 + 4 + 8 + 8;
    size_t out_len = (size_t) s_get(reply + at, 4);
    assert_true((size_t) got >= at + 4 + out_len);
    s_assert_bytes(reply + at + 4, out_len, "ok\n");
    s_raw_close(&raw);

    assert_int_equal(harness_wait_gone(workers[0], HARNESS_WAIT_MS), 0);
    assert_int_equal(harness_wait_gone(job_pid, HARNESS_WAIT_MS), 0);
    harness_destroy(&h);
    *state = NULL;
}

/* jobs.exec.max_output of the tests below, far under what they print */
#define T_MAX_OUTPUT 100
#define T_MAX_OUTPUT_YAML NO_POOL "jobs: { exec: { max_output: 100 } }\n"

/* The next unsolicited frame (request id 0) of command CMD. */
static int
s_raw_next(raw_t *raw, int cmd, uint8_t *buf, size_t size)
{
    return s_raw_wait(raw, 0, cmd, buf, size, HARNESS_WAIT_MS);
}

/* A worker of our own, frames by hand: WELCOME says max_output=BYTES
   among its exec-policy lines, and gorod's HEARTBEAT on the workers
   endpoint carries the run id clients get (PROTOCOL.md sections 6, 7). */
static void
test_worker_hears_policy_and_run_id(void **state)
{
    harness_t *h = harness_up(state, T_MAX_OUTPUT_YAML);
    raw_t cl = s_raw_open(harness_clients(h));
    uint8_t buf[4096];
    size_t len = s_header(buf, CMD_HEARTBEAT, 9);
    len += s_put(buf + len, 0, 8); /* others send 0 */
    s_raw_send(&cl, buf, len, 0);
    assert_int_equal(s_raw_reply(&cl, 9, buf, sizeof buf, HARNESS_WAIT_MS),
                     20);
    assert_int_equal(buf[3], CMD_HEARTBEAT);
    uint64_t run_id = s_get(buf + 12, 8);
    assert_true(run_id != 0);

    raw_t wk = s_raw_open(harness_workers(h));
    len = s_header(buf, CMD_READY, 0);
    buf[len++] = 3;
    memcpy(buf + len, "raw", 3);
    len += 3;
    len += s_put(buf + len, (uint64_t) getpid(), 4);
    len += s_put(buf + len, 1, 4); /* capacity */
    len += s_put(buf + len, 0, 4); /* no functions */
    s_raw_send(&wk, buf, len, 0);
    int got = s_raw_next(&wk, CMD_WELCOME, buf, sizeof buf);
    assert_true(got >= 12 + 8 + 8 + 4);
    size_t at = 12 + 8 + 8;                /* interval, liveness */
    at += 4 + (size_t) s_get(buf + at, 4); /* clients endpoint */
    assert_true((size_t) got >= at + 4);
    uint64_t lines = s_get(buf + at, 4);
    at += 4;
    int found = 0;
    for (uint64_t i = 0; i < lines; i++) {
        assert_true((size_t) got >= at + 1
                    && (size_t) got >= at + 1 + buf[at]);
        found += buf[at] == strlen("max_output=100")
                 && memcmp(buf + at + 1, "max_output=100", buf[at]) == 0;
        at += 1 + buf[at];
    }
    assert_int_equal(at, (size_t) got);
    if (found != 1)
        fail_msg("WELCOME's %" PRIu64 " exec-policy lines lack "
                 "max_output=100",
                 lines);

    got = s_raw_next(&wk, CMD_HEARTBEAT, buf, sizeof buf);
    assert_int_equal(got, 20);
    assert_int_equal(s_get(buf + 12, 8), run_id);
    s_raw_close(&wk);
    s_raw_close(&cl);
    harness_finish(state);
}

/* A waitgroup request with an empty name gets ERROR EINVAL from gorod
   itself (libgoro refuses one before it is sent). */
static void
test_wg_empty_name_refused(void **state)
{
    harness_t *h = harness_up(state, NO_POOL);
    raw_t cl = s_raw_open(harness_clients(h));
    static const int cmds[] = {CMD_WG_ADD, CMD_WG_WAIT, CMD_WG_STATUS};
    for (uint64_t i = 0; i < 3; i++) {
        uint8_t buf[64];
        size_t len = s_header(buf, cmds[i], 60 + i);
        buf[len++] = 0; /* group "" */
        if (cmds[i] != CMD_WG_STATUS)
            len += s_put(buf + len, 1, 8); /* delta, timeout */
        s_raw_send(&cl, buf, len, 0);
        s_raw_expect_error(&cl, 60 + i, GORO_EINVAL);
    }
    s_raw_close(&cl);
    harness_finish(state);
}

/* A goro-worker gorod did not start, given no --max-output, keeps what
   gorod's jobs.exec.max_output says; one given a smaller size keeps
   that. */
static void
test_remote_worker_max_output(void **state)
{
    harness_t *h = harness_up(state, T_MAX_OUTPUT_YAML);
    const char *argv[] = {GORO_BIN_DIR "/goro-worker", "--connect",
                          harness_workers(h), NULL};
    pid_t worker = harness_spawn(h, argv);
    assert_true(worker > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    const char *loud[] = {"sh", "-c",
                          "head -c 1000 /dev/zero; "
                          "head -c 1000 /dev/zero >&2",
                          NULL};
    goro_job_t *job = s_wait(h, s_go(h, loud));
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    size_t out = 0, err = 0;
    goro_job_output(job, &out);
    goro_job_error(job, &err);
    assert_int_equal(out, T_MAX_OUTPUT);
    assert_int_equal(err, T_MAX_OUTPUT);
    goro_job_destroy(&job);
    assert_int_equal(harness_signal(h, worker, SIGTERM, HARNESS_WAIT_MS), 0);

    const char *small[] = {GORO_BIN_DIR "/goro-worker",
                           "--connect",
                           harness_workers(h),
                           "--max-output",
                           "10",
                           NULL};
    assert_true(harness_spawn(h, small) > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    job = s_wait(h, s_go(h, loud));
    goro_job_output(job, &out);
    assert_int_equal(out, 10);
    goro_job_destroy(&job);
    harness_finish(state);
}

/* SIGHUP is logged and ignored: gorod keeps serving, its job goes on,
   and SIGTERM still stops it cleanly. */
static void
test_sighup_ignored(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    uint64_t id = harness_go_sh(h, "echo $$ > @D/pid; sleep 1; echo ok", NULL);
    pid_t job_pid;
    harness_read_pids(harness_path(h, "pid"), &job_pid, NULL);
    assert_int_equal(kill(harness_pid(h), SIGHUP), 0);
    assert_int_equal(harness_wait_log(h, "SIGHUP ignored", HARNESS_WAIT_MS),
                     0);
    assert_true(harness_running(h));
    assert_int_equal(goro_ping(harness_client(h), HARNESS_WAIT_MS), GORO_OK);
    goro_job_t *job = s_wait(h, id);
    s_assert_state(job, GORO_JOB_SUCCEEDED);
    s_assert_output(job, "ok\n");
    goro_job_destroy(&job);
    harness_finish(state);
}

/* goro_run submits and waits in one request: the ended job comes back;
   a wait that runs out gives GORO_ETIMEDOUT with the job as it is (its
   id, running), and the job goes on. */
static void
test_run_submits_and_waits(void **state)
{
    harness_t *h = harness_up(state, POOL1);
    goro_t *c = harness_client(h);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    const char *echo[] = {"sh", "-c", "echo ran; exit 3", NULL};
    goro_job_t *job = NULL;
    assert_int_equal(goro_run_exec(c, echo, NULL, -1, &job), GORO_OK);
    assert_int_equal(goro_job_state(job), GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 3);
    size_t len;
    const char *out = goro_job_output(job, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "ran\n", 4);
    goro_job_destroy(&job);

    const char *slow[] = {"sh", "-c", "sleep 1; echo late", NULL};
    assert_int_equal(goro_run_exec(c, slow, NULL, 100, &job), GORO_ETIMEDOUT);
    assert_non_null(job);
    uint64_t id = goro_job_id(job);
    assert_true(id > 0);
    assert_true(goro_job_state(job) == GORO_JOB_RUNNING
                || goro_job_state(job) == GORO_JOB_QUEUED);
    goro_job_destroy(&job);
    assert_int_equal(goro_job_wait(c, id, HARNESS_WAIT_MS, &job), GORO_OK);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    harness_finish(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_exec_result),
        HARNESS_TEST(test_run_submits_and_waits),
        HARNESS_TEST(test_exec_missing_program),
        HARNESS_TEST(test_timeout_kills_group),
        HARNESS_TEST(test_cancel_queued),
        HARNESS_TEST(test_cancel_running),
        HARNESS_TEST(test_ended_and_unknown),
        HARNESS_TEST(test_parallel_barrier),
        HARNESS_TEST(test_prefetch),
        HARNESS_TEST(test_pool_prefetch),
        HARNESS_TEST(test_worker_killed_job_retried),
        HARNESS_TEST(test_worker_killed_attempts_used),
        HARNESS_TEST(test_retry_fences_stale_done),
        HARNESS_TEST(test_pool_restarts_worker),
        HARNESS_TEST(test_app_function),
        HARNESS_TEST(test_go_many_pipelined),
        HARNESS_TEST(test_idempotency_key),
        HARNESS_TEST(test_exec_disabled),
        HARNESS_TEST(test_exec_allow),
        HARNESS_TEST(test_payload_too_big),
        HARNESS_TEST(test_pipelined_go),
        HARNESS_TEST(test_pipelined_go_refusal),
        HARNESS_TEST(test_leased_ids_checked),
        HARNESS_TEST(test_garbage_on_both_sockets),
        HARNESS_TEST(test_sigterm_graceful),
        HARNESS_TEST(test_sighup_ignored),
        HARNESS_TEST(test_worker_hears_policy_and_run_id),
        HARNESS_TEST(test_remote_worker_max_output),
        HARNESS_TEST(test_wg_empty_name_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
