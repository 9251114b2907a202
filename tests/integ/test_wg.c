/*  test_wg (integration) - waitgroups through a real gorod, real pool
    workers, an app-function worker (fanin_worker) and the `goro` CLI.

    Other processes are this program again (`test_wg --child ROLE
    ENDPOINT ARG...`, through harness_spawn), each with its own goro_t.
    Jobs that must run at the same time meet at a barrier of files in the
    harness dir, so parallelism is shown without timing; jobs that must
    not end yet wait for a file the test writes when it has looked.

    Also measured, printed, never asserted: goro_wg_done calls per second
    from one client ("MEASURE wg_done_per_sec=...").
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GORO_TEST_BIN_DIR
#error "GORO_TEST_BIN_DIR must name the directory of integ_fanin_worker"
#endif

#define T_NO_POOL "pools: []\n"
#define T_POOL(n) "pools:\n  - name: default\n    processes: " #n "\n"
/* A silent client is gone after liveness x max(interval, 1 s): 3 s. */
#define T_LIVENESS_3S \
    "pools: []\nheartbeat: { interval: 100ms, liveness: 3 }\n"
#define T_WAITERS 5
#define T_RATE_CALLS 20000

/* ------------------------------------------------------------------ */
/*  Child roles                                                       */
/* ------------------------------------------------------------------ */

/* wait NAME TIMEOUT READY: checks the group is not at zero yet, writes
   READY, waits; after the wait, the group must read zero. */
static int
s_child_wait(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    int rc = goro_wg_wait(client, argv[0], 0);
    if (rc != GORO_ETIMEDOUT)
        return 110; /* released before anything happened */
    FILE *ready = fopen(argv[2], "w");
    if (!ready || fclose(ready) != 0)
        return 103;
    rc = goro_wg_wait(client, argv[0], strtoll(argv[1], NULL, 10));
    if (rc)
        return rc;
    goro_wg_info_t info;
    rc = goro_wg_status(client, argv[0], &info);
    if (rc)
        return rc;
    return info.counter == 0 ? 0 : 111;
}

/* jobwait ID: waits for job ID to end, with no limit. */
static int
s_child_job_wait(goro_t *client, int argc, char **argv)
{
    if (argc < 1)
        return 101;
    goro_job_t *job = NULL;
    int rc = goro_job_wait(client, strtoull(argv[0], NULL, 10), -1, &job);
    goro_job_destroy(&job);
    return rc;
}

static const harness_role_t s_roles[] = {
    {"wait", s_child_wait},
    {"jobwait", s_child_job_wait},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

/* The state of each test is its harness_t * (NULL until harness_up). */
#define H ((harness_t *) *state)

static int
s_alive(pid_t pid)
{
    return harness_wait_dead(pid, 0) != 0;
}

/* Waits until gorod has received N requests beyond BASE (a `requests`
   reading), not counting the stats requests made here. A child's
   request is counted when it arrives, so this says that the children's
   waits reached the daemon. */
static void
s_wait_requests(harness_t *h, long long base, long long n)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    long long polls = 0, got = -1;
    do {
        long long now = harness_stat(h, "requests");
        polls++;
        got = now - base - polls;
        if (got >= n)
            return;
    } while (harness_nap(until));
    fail_msg("gorod got %lld requests, expected %lld", got, n);
}

static goro_wg_info_t
s_status(goro_t *client, const char *name)
{
    goro_wg_info_t info;
    int rc = goro_wg_status(client, name, &info);
    if (rc)
        fail_msg("wg status %s: %s", name, goro_strerror(rc));
    return info;
}

static void
s_expect(goro_t *client, const char *name, int64_t counter, int64_t added,
         int64_t done, int64_t succeeded, int64_t failed)
{
    goro_wg_info_t info = s_status(client, name);
    if (info.counter != counter || info.added != added || info.done != done
        || info.succeeded != succeeded || info.failed != failed)
        fail_msg("%s: counter %lld added %lld done %lld succeeded %lld "
                 "failed %lld; expected %lld %lld %lld %lld %lld",
                 name, (long long) info.counter, (long long) info.added,
                 (long long) info.done, (long long) info.succeeded,
                 (long long) info.failed, (long long) counter,
                 (long long) added, (long long) done, (long long) succeeded,
                 (long long) failed);
}

/* Submits `sh -c SCRIPT DIR` into group WG. */
static uint64_t
s_go_sh(goro_t *client, const char *script, const char *dir, const char *wg,
        int max_attempts, int64_t timeout_ms)
{
    const char *argv[] = {"/bin/sh", "-c", script, dir, NULL};
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = wg;
    opts.max_attempts = max_attempts;
    opts.timeout_ms = timeout_ms;
    uint64_t id = 0;
    int rc = goro_go_exec(client, argv, &opts, &id);
    if (rc)
        fail_msg("go: %s", goro_strerror(rc));
    return id;
}

static goro_job_t *
s_job_end(goro_t *client, uint64_t id)
{
    goro_job_t *job = NULL;
    int rc = goro_job_wait(client, id, 30000, &job);
    if (rc)
        fail_msg("job %llu: %s", (unsigned long long) id, goro_strerror(rc));
    return job;
}

static void
s_wait_file(const char *path)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (access(path, F_OK) != 0 && harness_nap(until)) {}
    if (access(path, F_OK) != 0)
        fail_msg("%s never appeared", path);
}

static const char *
s_mkdir(harness_t *h, const char *name)
{
    const char *path = harness_path(h, name);
    assert_int_equal(mkdir(path, 0700), 0);
    return path;
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

/* Go's downloads example: three `sleep 1` jobs in one group on three
   pool processes; wait returns once all three are done. The jobs meet at
   a barrier first (each touches a file, then waits for all three), which
   only passes if they run at the same time. */
static void
test_downloads(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_POOL(3)));
    const char *dir = s_mkdir(H, "barrier");
    const char *script =
        "touch \"$0/started-$GORO_JOB_ID\"; i=0; "
        "while [ \"$(ls \"$0\" | grep -c '^started-')\" -lt 3 ]; do "
        "  i=$((i+1)); [ $i -gt 3000 ] && exit 7; sleep 0.01; done; "
        "sleep 1";
    int64_t start = harness_now();
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = s_go_sh(client, script, dir, "downloads", 0, 0);
    assert_int_equal(goro_wg_wait(client, "downloads", 30000), GORO_OK);
    int64_t ms = harness_now() - start;
    s_expect(client, "downloads", 0, 3, 3, 3, 0);
    for (int i = 0; i < 3; i++) {
        goro_job_t *job = s_job_end(client, ids[i]);
        assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
        goro_job_destroy(&job);
    }
    char *out = NULL;
    assert_int_equal(
        harness_cli(H, &out, NULL, "wg", "status", "downloads", NULL), 0);
    assert_non_null(strstr(out, "succeeded: 3\n"));
    assert_non_null(strstr(out, "counter: 0\n"));
    free(out);
    print_message("downloads: three 1 s jobs done in %lld ms\n",
                  (long long) ms);
}

/* A job that fails or times out still does its Done, counted as failed;
   `wg status --json` shows the round. */
static void
test_failing_jobs_done(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_POOL(3)));
    /* Our own Add(1) holds the round open: a job that ended before the
       next was submitted would otherwise start a new round. */
    assert_int_equal(goro_wg_add(client, "mixed", 1), GORO_OK);
    uint64_t ok = s_go_sh(client, "exit 0", "x", "mixed", 0, 0);
    uint64_t bad = s_go_sh(client, "exit 3", "x", "mixed", 0, 0);
    uint64_t slow = s_go_sh(client, "exec sleep 30", "x", "mixed", 1, 300);
    assert_int_equal(goro_wg_done(client, "mixed"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "mixed", 30000), GORO_OK);
    const struct {
        uint64_t id;
        int state;
    } expect[] = {
        {ok, GORO_JOB_SUCCEEDED},
        {bad, GORO_JOB_FAILED},
        {slow, GORO_JOB_TIMED_OUT},
    };
    for (int i = 0; i < 3; i++) {
        goro_job_t *job = s_job_end(client, expect[i].id);
        assert_int_equal(goro_job_state(job), expect[i].state);
        goro_job_destroy(&job);
    }
    s_expect(client, "mixed", 0, 4, 4, 1, 2);

    char *out = NULL;
    assert_int_equal(harness_cli(H, &out, NULL, "wg", "status", "mixed",
                                 "--json", NULL),
                     0);
    assert_string_equal(out, "{\"counter\":0,\"added\":4,\"done\":4,"
                             "\"succeeded\":1,\"failed\":2}\n");
    free(out);
    assert_int_equal(harness_cli(H, &out, NULL, "wg", "status", "never",
                                 "--json", NULL),
                     0);
    assert_string_equal(out, "{\"counter\":0,\"added\":0,\"done\":0,"
                             "\"succeeded\":0,\"failed\":0}\n");
    free(out);
}

/* A job retried after its worker was killed Dones once, at its real end.
   The group also holds one manual Add, so a second Done would show as
   the counter reaching zero, not as a refused add. */
static void
test_retried_job_done_once(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_POOL(1)));
    const char *dir = s_mkdir(H, "retry");
    const char *script =
        "if [ \"$GORO_ATTEMPT\" = 1 ]; then "
        "  echo $PPID > \"$0/pid.tmp\"; mv \"$0/pid.tmp\" \"$0/pid\"; "
        "else touch \"$0/attempt2\"; fi; "
        "i=0; while [ ! -e \"$0/go\" ]; do "
        "  i=$((i+1)); [ $i -gt 3000 ] && exit 8; sleep 0.01; done; "
        "[ \"$GORO_ATTEMPT\" = 2 ]";
    assert_int_equal(goro_wg_add(client, "retry", 1), GORO_OK);
    uint64_t id = s_go_sh(client, script, dir, "retry", 2, 0);

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pid", dir);
    char *text = harness_wait_line(path, HARNESS_WAIT_MS);
    assert_non_null(text);
    pid_t worker = (pid_t) strtol(text, NULL, 10);
    free(text);
    pid_t pids[8];
    int n = harness_worker_pids(H, pids, 8);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], worker); /* $PPID is the worker */
    assert_int_equal(kill(worker, SIGKILL), 0);

    snprintf(path, sizeof path, "%s/attempt2", dir);
    s_wait_file(path);
    /* attempt 1 ended with its worker, and no Done came of it */
    s_expect(client, "retry", 2, 2, 0, 0, 0);
    assert_int_equal(goro_wg_wait(client, "retry", 0), GORO_ETIMEDOUT);

    snprintf(path, sizeof path, "%s/go", dir);
    assert_int_equal(harness_write_file(path, "go\n"), 0);
    goro_job_t *job = s_job_end(client, id);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    goro_job_destroy(&job);
    s_expect(client, "retry", 1, 2, 1, 1, 0); /* exactly one Done */
    assert_int_equal(goro_wg_done(client, "retry"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "retry", 0), GORO_OK);
    s_expect(client, "retry", 0, 2, 2, 1, 0);
}

/* Five processes wait on one group: one Done releases all of them. */
static void
test_many_waiters(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "many", 1), GORO_OK);
    long long base = harness_stat(H, "requests");
    pid_t pids[T_WAITERS];
    for (int i = 0; i < T_WAITERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "waiter-%d.ready", i);
        pids[i] = harness_spawn_role(H, "wait", "many", "30000",
                                     harness_path(H, name), NULL);
    }
    /* Each child wrote its ready file after its try-once wait (which must
       time out, so the Done below comes after all of them); then its
       first-request HEARTBEAT and its parked wait reach gorod, three
       requests a child. */
    for (int i = 0; i < T_WAITERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "waiter-%d.ready", i);
        s_wait_file(harness_path(H, name));
    }
    s_wait_requests(H, base, 3 * T_WAITERS);
    for (int i = 0; i < T_WAITERS; i++)
        assert_true(s_alive(pids[i])); /* none was released */
    assert_int_equal(goro_wg_done(client, "many"), GORO_OK);
    for (int i = 0; i < T_WAITERS; i++) {
        int code = harness_signal(H, pids[i], 0, HARNESS_WAIT_MS);
        if (code != 0)
            fail_msg("waiter %d exited with %d", i, code);
    }
    s_expect(client, "many", 0, 1, 1, 0, 0);
}

/* A process parked in a WG_WAIT and one parked in a job's WAIT are
   SIGKILLed: once gorod has found them silent, both parks are withdrawn
   as a dead client's channel operations are, and when the group reaches
   zero and the job ends, nothing is answered to the dead (stats:
   undelivered). The living are still answered. */
static void
test_dead_waiters_withdrawn(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_LIVENESS_3S));
    assert_int_equal(goro_wg_add(client, "dead", 1), GORO_OK);
    goro_opts_t opts = GORO_OPTS_INIT;
    uint64_t id = 0;
    assert_int_equal(goro_go(client, "nowhere", "x", 1, &opts, &id), GORO_OK);
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long) id);
    pid_t wg_waiter = harness_spawn_role(H, "wait", "dead", "-1",
                                         harness_path(H, "dead.ready"), NULL);
    pid_t job_waiter = harness_spawn_role(H, "jobwait", id_text, NULL);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(H, "parked_clients") != 2 && harness_nap(until)) {}
    assert_int_equal(harness_stat(H, "parked_clients"), 2);
    assert_int_equal(harness_signal(H, wg_waiter, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);
    assert_int_equal(harness_signal(H, job_waiter, SIGKILL, HARNESS_WAIT_MS),
                     128 + SIGKILL);

    until = harness_now() + HARNESS_WAIT_MS;
    while (harness_stat(H, "parked_clients") != 0 && harness_nap(until)) {}
    assert_int_equal(harness_stat(H, "parked_clients"), 0);
    assert_int_equal(goro_wg_done(client, "dead"), GORO_OK);
    assert_int_equal(goro_job_cancel(client, id), GORO_OK);
    assert_int_equal(harness_stat(H, "undelivered"), 0);
    goro_job_t *job = NULL;
    assert_int_equal(goro_job_wait(client, id, 0, &job), GORO_OK);
    assert_int_equal(goro_job_state(job), GORO_JOB_CANCELLED);
    goro_job_destroy(&job);
    assert_int_equal(goro_wg_wait(client, "dead", 0), GORO_OK);
}

/* A wait that times out says so, from the library and the CLI (124). */
static void
test_wait_timeout(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "slow", 1), GORO_OK);
    int64_t start = harness_now();
    assert_int_equal(goro_wg_wait(client, "slow", 200), GORO_ETIMEDOUT);
    assert_true(harness_now() - start >= 190);
    assert_int_equal(goro_wg_wait(client, "slow", 0), GORO_ETIMEDOUT);
    char *err = NULL;
    assert_int_equal(harness_cli(H, NULL, &err, "wg", "wait", "slow",
                                 "--timeout", "200ms", NULL),
                     124);
    assert_non_null(strstr(err, "slow"));
    free(err);
    s_expect(client, "slow", 1, 1, 0, 0, 0); /* waiting changed nothing */

    assert_int_equal(harness_cli(H, NULL, NULL, "wg", "done", "slow", NULL),
                     0);
    assert_int_equal(goro_wg_wait(client, "slow", 0), GORO_OK);
    assert_int_equal(harness_cli(H, NULL, NULL, "wg", "wait", "slow", NULL),
                     0);
    /* a name never used is at zero: wait returns at once */
    assert_int_equal(goro_wg_wait(client, "never-used", 0), GORO_OK);
    assert_int_equal(harness_cli(H, NULL, NULL, "wg", "wait", "never-used",
                                 "--timeout", "0", NULL),
                     0);
}

/* A Done or Add that would take the counter below zero is refused and
   changes nothing. Adds and dones are pipelined: the refusal comes with
   goro_flush or a later waitgroup call. */
static void
test_negative_refused(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "neg", 2), GORO_OK);
    assert_int_equal(goro_wg_add(client, "neg", -3), GORO_OK);
    assert_int_equal(goro_flush(client), GORO_ENEGATIVE);
    assert_non_null(strstr(goro_last_error(client), "neg"));
    assert_int_equal(goro_flush(client), GORO_OK); /* reported once */
    s_expect(client, "neg", 2, 2, 0, 0, 0);
    assert_int_equal(
        harness_cli(H, NULL, NULL, "wg", "add", "neg", "-5", NULL), 1);
    s_expect(client, "neg", 2, 2, 0, 0, 0);
    assert_int_equal(goro_wg_done(client, "neg"), GORO_OK);
    assert_int_equal(goro_wg_done(client, "neg"), GORO_OK);
    assert_int_equal(goro_wg_done(client, "neg"), GORO_OK);
    /* a wait reports it, once its own answer (after that one) is in */
    assert_int_equal(goro_wg_wait(client, "neg", 0), GORO_ENEGATIVE);
    s_expect(client, "neg", 0, 2, 2, 0, 0);

    char *err = NULL;
    assert_int_equal(harness_cli(H, NULL, &err, "wg", "done", "zero", NULL),
                     1);
    assert_non_null(strstr(err, "zero"));
    free(err);
    s_expect(client, "zero", 0, 0, 0, 0, 0);
    assert_int_equal(goro_wg_wait(client, "zero", 0), GORO_OK);

    /* from zero, a new round: its progress starts over */
    assert_int_equal(goro_wg_add(client, "neg", 1), GORO_OK);
    s_expect(client, "neg", 1, 1, 0, 0, 0);
}

/* INT64_MIN is as negative as it gets: refused like any other. */
static void
test_add_int64_min_refused(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "min", 1), GORO_OK);
    assert_int_equal(goro_wg_add(client, "min", INT64_MIN), GORO_OK);
    assert_int_equal(goro_flush(client), GORO_ENEGATIVE);
    s_expect(client, "min", 1, 1, 0, 0, 0);
    assert_int_equal(goro_ping(client, 2000), GORO_OK);
}

#define T_PIPELINED 5000 /* several windows of unanswered dones */

/* A loop of Done calls does not wait for each answer, and a Wait after
   them sees every one: gorod applies a client's calls in order. */
static void
test_pipelined_dones_then_wait(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "loop", T_PIPELINED), GORO_OK);
    for (int i = 0; i < T_PIPELINED; i++)
        assert_int_equal(goro_wg_done(client, "loop"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "loop", 0), GORO_OK);
    s_expect(client, "loop", 0, T_PIPELINED, T_PIPELINED, 0, 0);
    assert_int_equal(goro_flush(client), GORO_OK);
}

/* Dones unanswered when gorod dies: the client cannot know whether they
   were applied, and says so once (GORO_EUNAVAILABLE) at its next
   waitgroup call. */
static void
test_pipelined_lost_with_gorod(void **state)
{
    harness_t *h = harness_up(state, T_NO_POOL);
    goro_t *client = harness_client(h);
    assert_int_equal(goro_wg_add(client, "lost", 1000000), GORO_OK);
    assert_int_equal(goro_flush(client), GORO_OK);
    assert_int_equal(harness_freeze(harness_pid(h)), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(goro_wg_done(client, "lost"), GORO_OK);
    harness_kill(h, SIGKILL, HARNESS_WAIT_MS);
    harness_thaw();
    assert_int_equal(goro_flush(client), GORO_EUNAVAILABLE);
}

/* A job that starts more jobs in its own group before it returns: the
   group reaches zero only after all of them, never when the first job's
   Done comes. */
static void
test_fanout_own_group(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    const char *argv[] = {GORO_TEST_BIN_DIR "/integ_fanin_worker",
                          harness_workers(H), "4", NULL};
    assert_true(harness_spawn(H, argv) > 0);
    assert_int_equal(harness_wait_workers(H, 1, HARNESS_WAIT_MS), 0);
    const char *go = harness_path(H, "leaves-go");
    const char *hold = harness_path(H, "fanout-may-return");
    const char *ready = harness_path(H, "tree-waiter.ready");
    char payload[PATH_MAX * 2 + 32];
    snprintf(payload, sizeof payload, "tree 3 %s %s", go, hold);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "tree";
    uint64_t id = 0;
    assert_int_equal(goro_go(client, "fanout", payload, strlen(payload), &opts,
                             &id),
                     GORO_OK);
    /* a waiter from the start: the fanout job holds its Done until the
       waiter is ready, and its leaves hold theirs until we say */
    pid_t waiter = harness_spawn_role(H, "wait", "tree", "30000", ready, NULL);
    s_wait_file(ready);
    assert_int_equal(harness_write_file(hold, "go\n"), 0);
    goro_job_t *job = s_job_end(client, id);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);

    /* added 4 with done 1: the counter never touched zero in between
       (a zero would have started a new round) */
    s_expect(client, "tree", 3, 4, 1, 1, 0);
    assert_true(s_alive(waiter)); /* not released by its Done */
    assert_int_equal(goro_wg_wait(client, "tree", 0), GORO_ETIMEDOUT);

    assert_int_equal(harness_write_file(go, "go\n"), 0);
    assert_int_equal(goro_wg_wait(client, "tree", 30000), GORO_OK);
    assert_int_equal(harness_signal(H, waiter, 0, HARNESS_WAIT_MS), 0);
    s_expect(client, "tree", 0, 4, 4, 4, 0);
}

static bool
s_has(const char *path, const char *needle)
{
    char *text = harness_read_file(path);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

static void
s_wait_has(const char *path, const char *needle)
{
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    while (!s_has(path, needle) && harness_nap(until)) {}
    if (!s_has(path, needle)) {
        char *text = harness_read_file(path);
        fail_msg("%s never showed \"%s\"; it has:\n%s", path, needle,
                 text ? text : "(nothing)");
    }
}

#define T_WIDE 1500 /* job threads, past czmq's 1024 sockets */

/* A worker of T_WIDE job threads whose handlers each use
   goro_call_client() at once: every one of them gets its socket (the
   library raised the context's socket limit), the worker neither aborts
   nor fails a call, and every job succeeds. */
static void
test_wide_worker_clients(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    char wide[16];
    snprintf(wide, sizeof wide, "%d", T_WIDE);
    const char *argv[] = {GORO_TEST_BIN_DIR "/integ_fanin_worker",
                          harness_workers(H), wide, NULL};
    pid_t worker = harness_spawn(H, argv);
    assert_true(worker > 0);
    assert_int_equal(harness_wait_workers(H, 1, HARNESS_WAIT_MS), 0);
    assert_int_equal(goro_chan_make(client, "gate", 0), GORO_OK);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "wide";
    opts.max_attempts = 1;
    for (int i = 0; i < T_WIDE; i++) {
        uint64_t id = 0;
        assert_int_equal(goro_go(client, "gate", "gate", 4, &opts, &id),
                         GORO_OK);
    }
    /* All of them in their handlers at once, each on its own client. */
    int64_t until = harness_now() + HARNESS_WAIT_MS * 3;
    int code = 0, gone = 0;
    while (harness_stat(H, "parked_clients") < T_WIDE + 0LL
           && !(gone = harness_poll_exit(H, worker, &code))
           && harness_nap(until)) {}
    long long parked = harness_stat(H, "parked_clients");
    if (gone == 1)
        fail_msg("the worker died (exit %d) with %lld clients parked", code,
                 parked);
    if (parked < T_WIDE)
        fail_msg("%lld of %d handler clients reached gorod", parked, T_WIDE);
    assert_int_equal(goro_chan_close(client, "gate"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "wide", HARNESS_WAIT_MS * 3),
                     GORO_OK);
    s_expect(client, "wide", 0, T_WIDE, T_WIDE, T_WIDE, 0);
    assert_int_equal(harness_poll_exit(H, worker, &code), 0);
}

/* `wg wait --progress` with stdout not a terminal prints plain lines as
   the group moves, and exits 0 at zero. */
static void
test_cli_wait_progress(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "prog", 2), GORO_OK);
    const char *out = harness_path(H, "progress.out");
    char script[PATH_MAX * 3];
    snprintf(script, sizeof script,
             "exec %s/goro -e %s wg wait prog "
             "--progress --timeout 30s > %s 2> %s.err",
             GORO_BIN_DIR, harness_clients(H), out, out);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    pid_t pid = harness_spawn(H, argv);
    assert_true(pid > 0);

    s_wait_has(out, "wg prog: 0/2 done, 0 failed\n");
    assert_int_equal(goro_wg_done(client, "prog"), GORO_OK);
    s_wait_has(out, "wg prog: 1/2 done, 0 failed\n");
    assert_int_equal(goro_wg_done(client, "prog"), GORO_OK);
    assert_int_equal(harness_signal(H, pid, 0, HARNESS_WAIT_MS), 0);

    char *text = harness_read_file(out);
    assert_non_null(text);
    assert_null(strchr(text, '\r'));
    assert_null(strchr(text, '\033'));
    int lines = 0, last_done = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int done = -1, total = -1, failed = -1, end = 0;
        if (sscanf(line, "wg prog: %d/%d done, %d failed%n", &done, &total,
                   &failed, &end)
                != 3
            || line[end] != '\0')
            fail_msg("not a progress line: \"%s\"", line);
        assert_int_equal(total, 2);
        assert_int_equal(failed, 0);
        assert_true(done >= last_done);
        last_done = done;
        lines++;
    }
    free(text);
    assert_true(lines >= 3);
    assert_int_equal(last_done, 2);
}

/* Done calls per second from one client (printed, not asserted). */
static void
test_measure_wg_rate(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_wg_add(client, "rate", T_RATE_CALLS), GORO_OK);
    int64_t start = harness_now();
    for (int i = 0; i < T_RATE_CALLS; i++) {
        int rc = goro_wg_done(client, "rate");
        if (rc)
            fail_msg("done %d: %s", i, goro_strerror(rc));
    }
    assert_int_equal(goro_flush(client), GORO_OK); /* all answered */
    int64_t ms = harness_now() - start;
    s_expect(client, "rate", 0, T_RATE_CALLS, T_RATE_CALLS, 0, 0);
    printf("MEASURE wg_done_per_sec=%.0f (%d goro_wg_done calls, one "
           "client, pipelined, then goro_flush)\n",
           ms > 0 ? T_RATE_CALLS * 1000.0 / (double) ms : 0.0, T_RATE_CALLS);
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    if (harness_is_child(argc, argv))
        return harness_child_main(argc, argv, s_roles, 0);
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_downloads),
        HARNESS_TEST(test_failing_jobs_done),
        HARNESS_TEST(test_retried_job_done_once),
        HARNESS_TEST(test_many_waiters),
        HARNESS_TEST(test_dead_waiters_withdrawn),
        HARNESS_TEST(test_wait_timeout),
        HARNESS_TEST(test_negative_refused),
        HARNESS_TEST(test_pipelined_dones_then_wait),
        HARNESS_TEST(test_pipelined_lost_with_gorod),
        HARNESS_TEST(test_add_int64_min_refused),
        HARNESS_TEST(test_fanout_own_group),
        HARNESS_TEST(test_cli_wait_progress),
        HARNESS_TEST(test_wide_worker_clients),
        HARNESS_TEST(test_measure_wg_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
