/*  test_workers - what becomes of a worker's attempts when the worker
    is cut off and rejoins, or outlives a gorod restart, and how a KILL
    stops them: a real
    gorod, real goro-worker processes (and, where a test must say exactly
    what a worker says, a fake worker speaking GORO/1 through the codec
    on a raw DEALER), real sockets.

    Jobs write their pids to files in the harness dir; the tests wait for
    states and for processes to go, never sleep.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"
#include "goro_msg.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* Bound of a job wait. */
#define T_JOB_WAIT_MS 20000

#define POOL1 "pools: [ { name: default, processes: 1 } ]\n"
#define POOL2 "pools: [ { name: default, processes: 2 } ]\n"
#define NO_POOL "pools: []\n"

/* A job that writes "$PPID $$" (its worker, itself) to @D/w.ATTEMPT; its
   first attempt then runs for 60 s, a later one prints "again". */
#define T_LONG_FIRST \
    "echo $PPID $$ > @D/w.$GORO_ATTEMPT; " \
    "[ \"$GORO_ATTEMPT\" -ge 2 ] || exec sleep 60; echo again"

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static void
s_assert_output(const goro_job_t *job, const char *expected)
{
    size_t len = 0;
    const char *out = goro_job_output(job, &len);
    if (len != strlen(expected) || memcmp(out, expected, len) != 0)
        fail_msg("output \"%.*s\", expected \"%s\"", (int) len, out ? out : "",
                 expected);
}

/* Fails unless PID (not our child: a job's command) is gone within the
   default bound; a process that outlived that is killed, so nothing of
   the test stays behind. */
static void
s_assert_dies(pid_t pid, const char *what)
{
    if (harness_wait_dead(pid, HARNESS_WAIT_MS) != 0) {
        kill(pid, SIGKILL);
        fail_msg("%s (pid %d) still runs", what, (int) pid);
    }
}

static void
s_assert_log_has(harness_t *h, const char *fragment)
{
    char *log = harness_log(h);
    if (!log || !strstr(log, fragment))
        fail_msg("gorod's log lacks \"%s\":\n%s", fragment, log ? log : "");
    free(log);
}

/* ------------------------------------------------------------------ */
/*  A fake worker                                                     */
/* ------------------------------------------------------------------ */

static void *
s_fake_connect(void *ctx, harness_t *h)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(sock);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, harness_workers(h)), 0);
    return sock;
}

static void
s_fake_send(void *sock, goro_msg_t **msg_p)
{
    assert_int_equal(goro_msg_send(*msg_p, sock, NULL), GORO_OK);
    goro_msg_destroy(msg_p);
}

/* READY as NAME/PID, serving FN, one job at once. */
static void
s_fake_ready(void *sock, const char *name, uint32_t pid, const char *fn)
{
    goro_msg_t *ready = goro_msg_new(GORO_MSG_READY);
    goro_msg_set_name(ready, name);
    ready->pid = pid;
    ready->worker_capacity = 1;
    ready->strs = calloc(1, sizeof *ready->strs);
    ready->strs[0] = strdup(fn);
    ready->nstrs = 1;
    s_fake_send(sock, &ready);
}

static void
s_fake_attempt(void *sock, int cmd, uint64_t id, uint32_t attempt)
{
    goro_msg_t *msg = goro_msg_new(cmd);
    msg->job_id = id;
    msg->attempt = attempt;
    s_fake_send(sock, &msg);
}

/* The next message gorod sends SOCK, heartbeats skipped, which must be
   CMD. Caller owns it. */
static goro_msg_t *
s_fake_expect(void *sock, int cmd)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (harness_now() < until) {
        goro_msg_t *msg = NULL;
        int rc = goro_msg_recv_wait(sock, until - harness_now(), 0, &msg);
        if (rc == GORO_ETIMEDOUT || rc == GORO_EUNAVAILABLE)
            break;
        assert_int_equal(rc, GORO_OK);
        if (msg->cmd == GORO_MSG_HEARTBEAT) {
            goro_msg_destroy(&msg);
            continue;
        }
        if (msg->cmd != cmd)
            fail_msg("fake worker got %s, expected %s",
                     goro_msg_cmd_name(msg->cmd), goro_msg_cmd_name(cmd));
        return msg;
    }
    fail_msg("fake worker: no %s from gorod", goro_msg_cmd_name(cmd));
    return NULL;
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

/* KILL (here from CANCEL) gives an exec command SIGTERM, so it can clean
   up; one that ignores SIGTERM gets SIGKILL once jobs.exec.kill_grace is
   over. */
static void
test_kill_terms_then_kills(void **state)
{
    harness_t *h = harness_up(state,
                              POOL2 "jobs: { exec: { kill_grace: 300ms } }\n");
    goro_t *c = harness_client(h);
    uint64_t polite = harness_go_sh(h,
                                    "trap 'echo cleaned > @D/cleaned; "
                                    "exit 0' TERM; echo $$ > @D/polite; "
                                    "sleep 60 & wait",
                                    NULL);
    uint64_t stubborn = harness_go_sh(h,
                                      "trap '' TERM; "
                                      "echo $$ > @D/stubborn; exec sleep 60",
                                      NULL);
    pid_t polite_pid, stubborn_pid;
    harness_read_pids(harness_path(h, "polite"), &polite_pid, NULL);
    harness_read_pids(harness_path(h, "stubborn"), &stubborn_pid, NULL);

    assert_int_equal(goro_job_cancel(c, polite), GORO_OK);
    assert_int_equal(goro_job_cancel(c, stubborn), GORO_OK);
    char *line = harness_wait_line(harness_path(h, "cleaned"),
                                   HARNESS_WAIT_MS);
    if (!line)
        fail_msg("the cancelled command got no SIGTERM to clean up on");
    assert_string_equal(line, "cleaned\n");
    free(line);
    s_assert_dies(polite_pid, "the cancelled command");
    s_assert_dies(stubborn_pid, "the command that ignores SIGTERM");
    harness_finish(state);
}

/* An exec command that closed its stdout and stderr and ignores SIGTERM
   (the worker waits on its exit, not on its pipes, by then): a KILL
   still gives it SIGTERM, then SIGKILL after kill_grace, and its DONE
   frees the slot for the next job. */
static void
test_kill_reaches_command_without_output(void **state)
{
    harness_t *h = harness_up(state,
                              POOL1 "jobs: { exec: { kill_grace: 300ms } }\n");
    goro_t *c = harness_client(h);
    uint64_t id = harness_go_sh(h,
                                "trap 'echo termed > @D/termed' TERM; "
                                "echo $$ > @D/pid; exec >&- 2>&-; "
                                "while :; do sleep 0.05; done",
                                NULL);
    pid_t pid;
    harness_read_pids(harness_path(h, "pid"), &pid, NULL);
    assert_int_equal(goro_job_cancel(c, id), GORO_OK);
    char *line = harness_wait_line(harness_path(h, "termed"), HARNESS_WAIT_MS);
    if (!line)
        fail_msg("the cancelled command got no SIGTERM");
    free(line);
    s_assert_dies(pid, "the command that ignores SIGTERM, output closed");
    uint64_t next = harness_go_sh(h, "echo next", NULL);
    goro_job_t *job = harness_wait_job(h, next, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    harness_finish(state);
}

/* A pool worker stalls (SIGSTOP) past the silence limit: gorod declares
   it lost and runs its job again on the other worker. When it comes
   back it rejoins, and the attempt it still runs, no longer its own, is
   killed rather than left to run to its end. */
static void
test_rejoined_worker_stops_old_attempt(void **state)
{
    harness_t *h = harness_up(state, POOL2);
    uint64_t id = harness_go_sh(h, T_LONG_FIRST, NULL);
    pid_t worker, old_pid;
    harness_read_pids(harness_path(h, "w.1"), &worker, &old_pid);
    assert_int_equal(harness_freeze(worker), 0);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    goro_job_destroy(&job);

    harness_thaw();
    s_assert_dies(old_pid, "the lost attempt on the rejoined worker");
    s_assert_log_has(h, "which is no longer its own: killing it");
    /* Its late DONE changed nothing. */
    job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_attempts(job), 2);
    s_assert_output(job, "again\n");
    goro_job_destroy(&job);
    harness_finish(state);
}

/* gorod is killed (-9) while a remote worker runs a long job, and comes
   back on its journal: it runs the job again, and when the worker has
   rejoined the new gorod, the attempt it still runs from before is
   killed. */
static void
test_restart_kills_old_attempt(void **state)
{
    harness_opts_t opts = {NO_POOL "journal: { fsync: always }\n", 1, NULL};
    harness_t *h = harness_up_opts(state, &opts);
    const char *worker[] = {GORO_BIN_DIR "/goro-worker",
                            "--connect",
                            harness_workers(h),
                            "--concurrency",
                            "2",
                            NULL};
    pid_t w = harness_spawn(h, worker);
    assert_true(w > 0);
    uint64_t id = harness_go_sh(h, T_LONG_FIRST, NULL);
    pid_t old_worker, old_pid;
    harness_read_pids(harness_path(h, "w.1"), &old_worker, &old_pid);
    assert_int_equal(old_worker, w);

    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    if (harness_restart(h, NULL, HARNESS_WAIT_MS) != 0)
        fail_msg("gorod did not come back after kill -9");
    s_assert_dies(old_pid, "the attempt from before the restart");
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    s_assert_output(job, "again\n");
    goro_job_destroy(&job);
    assert_int_equal(harness_signal(h, w, SIGTERM, HARNESS_WAIT_MS), 0);
    harness_finish(state);
}

/* The protocol exactly, from a fake worker: it gets a job on one
   connection, then registers again on a new one (same name and pid)
   before gorod has declared the first lost, and CLAIMs that job and one
   gorod never gave it. The first moves to the new connection (no KILL;
   its DONE there counts); the second gets KILL. */
static void
test_claim_moves_or_kills(void **state)
{
    harness_t *h = harness_up(state, NO_POOL
                              "heartbeat: { interval: 1s, liveness: 10 }\n");
    uint64_t id = 0;
    assert_int_equal(goro_go(harness_client(h), "fake_fn", "x", 1, NULL, &id),
                     GORO_OK);
    void *ctx = zmq_ctx_new();
    void *first = s_fake_connect(ctx, h);
    s_fake_ready(first, "fake", 4242, "fake_fn");
    goro_msg_t *msg = s_fake_expect(first, GORO_MSG_WELCOME);
    goro_msg_destroy(&msg);
    msg = s_fake_expect(first, GORO_MSG_DISPATCH);
    assert_true(msg->job_id == id);
    assert_int_equal(msg->attempt, 1);
    goro_msg_destroy(&msg);

    void *second = s_fake_connect(ctx, h);
    s_fake_ready(second, "fake", 4242, "fake_fn");
    msg = s_fake_expect(second, GORO_MSG_WELCOME);
    goro_msg_destroy(&msg);
    s_fake_attempt(second, GORO_MSG_CLAIM, id, 1);
    s_fake_attempt(second, GORO_MSG_CLAIM, id + 100, 3);
    /* gorod answers in order: a KILL for the first claim would come
       before this one. */
    msg = s_fake_expect(second, GORO_MSG_KILL);
    assert_true(msg->job_id == id + 100);
    assert_int_equal(msg->attempt, 3);
    goro_msg_destroy(&msg);

    msg = goro_msg_new(GORO_MSG_DONE);
    msg->job_id = id;
    msg->attempt = 1;
    goro_msg_set_data(msg, "taken over", 10);
    s_fake_send(second, &msg);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 1);
    s_assert_output(job, "taken over");
    goro_job_destroy(&job);
    /* The first connection is forgotten: one worker is left. */
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);

    zmq_close(first);
    zmq_close(second);
    zmq_ctx_term(ctx);
    harness_finish(state);
}

/* An app worker of concurrency 1 runs its handlers on the thread that
   serves the socket (goro_worker.c, "Inline"): fanin_worker with "1". */
static void
s_inline_worker(harness_t *h)
{
    const char *argv[] = {GORO_TEST_BIN_DIR "/integ_fanin_worker",
                          harness_workers(h), "1", NULL};
    assert_true(harness_spawn(h, argv) > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
}

static uint64_t
s_go_leaf(harness_t *h, const char *path)
{
    uint64_t id = 0;
    assert_int_equal(goro_go(harness_client(h), "leaf", path, strlen(path),
                             NULL, &id),
                     GORO_OK);
    return id;
}

static void
s_wait_running(harness_t *h, uint64_t id)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    int state = -1;
    do {
        goro_job_t *job = NULL;
        assert_int_equal(goro_job_status(harness_client(h), id, &job),
                         GORO_OK);
        state = goro_job_state(job);
        goro_job_destroy(&job);
    } while (state != GORO_JOB_RUNNING && harness_nap(until));
    assert_int_equal(state, GORO_JOB_RUNNING);
}

/* A handler run inline for ten times gorod's liveness (3 x 100 ms): the
   worker's job thread beats for it meanwhile, so gorod never loses the
   worker and the job succeeds on its first attempt. */
static void
test_inline_long_handler_beats(void **state)
{
    harness_t *h = harness_up(state, NO_POOL "heartbeat: { interval: 100ms, "
                                             "liveness: 3 }\n");
    s_inline_worker(h);
    const char *path = harness_path(h, "leaf-may-end");
    uint64_t id = s_go_leaf(h, path);
    s_wait_running(h, id);
    /* Time itself is what is tested: the handler must outlast liveness. */
    struct timespec ts = {3, 0};
    nanosleep(&ts, NULL);
    assert_int_equal(harness_write_file(path, "go\n"), 0);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 1);
    goro_job_destroy(&job);
    assert_int_equal(harness_stat(h, "workers"), 1);
    harness_finish(state);
}

/* A cancel reaches a handler run inline (goro_call_cancelled(), which
   the job thread's KILL sets): it returns, and the one slot takes the
   next job, which gorod gives only once the first job's DONE is in. */
static void
test_inline_handler_sees_cancel(void **state)
{
    harness_t *h = harness_up(state, NO_POOL "heartbeat: { interval: 100ms, "
                                             "liveness: 3 }\n");
    s_inline_worker(h);
    uint64_t id = s_go_leaf(h, harness_path(h, "never"));
    s_wait_running(h, id);
    assert_int_equal(goro_job_cancel(harness_client(h), id), GORO_OK);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_CANCELLED);
    goro_job_destroy(&job);

    const char *path = harness_path(h, "there");
    assert_int_equal(harness_write_file(path, "go\n"), 0);
    /* the leaf that never ends would hold the slot for 30 s */
    job = harness_wait_job(h, s_go_leaf(h, path), T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    harness_finish(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_kill_terms_then_kills),
        HARNESS_TEST(test_kill_reaches_command_without_output),
        HARNESS_TEST(test_rejoined_worker_stops_old_attempt),
        HARNESS_TEST(test_restart_kills_old_attempt),
        HARNESS_TEST(test_claim_moves_or_kills),
        HARNESS_TEST(test_inline_long_handler_beats),
        HARNESS_TEST(test_inline_handler_sees_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
