/*  test_pool - pool.c, the supervisor of gorod's local workers, with a
    shell script for a worker: pools[].processes children of the pool's
    command (one per CPU for 0), each with the worker's flags appended
    (--connect, --concurrency, --name POOL/N, --max-output) and GORO_POOL,
    GORO_CERT and GORO_SERVER_CERT in its environment; a child that exits
    is reported with its pid and name and restarted after a backoff that
    doubles from 100 ms up to 10 s; pool_stop SIGTERMs, and SIGKILLs what
    is left after the grace.

    The script tells the test it started by a line on a FIFO, so the test
    waits on that rather than on time; it learns that a child exited with
    waitid(WNOWAIT), which leaves the reaping to pool_reap. Restarts are
    made by handing the armed node to pool_on_deadline at once, so a crash
    loop's whole backoff runs in a moment. (The reset after 10 s of
    running is left untested: it would take 10 s.)
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "heap.h"
#include "pool.h"
#include "util.h"

/* A child starts in well under this even under ASan on 2 busy cores;
   the waits end as soon as it does. */
#define T_WAIT_MS 10000
#define T_KIND 5 /* the heap kind the pool's nodes carry */

/* The worker: reads what the mode file says (exit 3, ignore SIGTERM, or
   wait to be stopped), gets ready for it, says who it is and what it
   got, then does it. */
static const char s_script[] =
    "dir=${0%/*}\n"
    "mode=$(cat \"$dir/mode\")\n"
    "if [ \"$mode\" = ignore ]; then trap '' TERM; fi\n"
    "echo \"$$ ${GORO_POOL-none} ${GORO_CERT-none} ${GORO_SERVER_CERT-none}"
    " $*\" > \"$dir/fifo\"\n"
    "if [ \"$mode\" = exit ]; then exit 3; fi\n"
    "exec sleep 60\n";

typedef struct {
    char dir[64];
    int fifo; /* read end, held open O_RDWR */
    config_t *cfg;
    heap_t *heap;
    pool_t *pool;
} fixture_t;

/* One child's start line. */
typedef struct {
    pid_t pid;
    char pool[64], cert[64], server_cert[64], args[256];
} started_t;

/* What pool_reap reported. */
typedef struct {
    pid_t pids[8];
    char names[8][64];
    size_t count;
} exits_t;

static void
s_on_exit(void *arg, pid_t pid, const char *name)
{
    exits_t *exits = arg;
    assert_true(exits->count < 8);
    exits->pids[exits->count] = pid;
    snprintf(exits->names[exits->count], sizeof exits->names[0], "%s", name);
    exits->count++;
}

static void
s_write_file(const char *dir, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

/* The fixture with a pool made from YAML_POOLS (its command the script),
   certificates CERT and SERVER_CERT (or NULL), children in MODE. */
static fixture_t *
s_fixture(const char *yaml_pools, const char *cert, const char *server_cert,
          const char *mode)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/goro-test-pool-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    s_write_file(fx->dir, "worker.sh", s_script);
    s_write_file(fx->dir, "mode", mode);
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fx->fifo = open(fifo, O_RDWR | O_CLOEXEC);
    assert_true(fx->fifo >= 0);
    /* YAML_POOLS names the script's directory @DIR@. */
    char yaml[1024], err[CONFIG_ERROR_MAX];
    size_t used = 0;
    for (const char *at = yaml_pools; *at;) {
        const char *dir = strstr(at, "@DIR@");
        size_t len = dir ? (size_t) (dir - at) : strlen(at);
        used += (size_t) snprintf(yaml + used, sizeof yaml - used, "%.*s%s",
                                  (int) len, at, dir ? fx->dir : "");
        assert_true(used < sizeof yaml);
        at += len + (dir ? 5 : 0);
    }
    fx->cfg = config_parse("test", yaml, strlen(yaml), err);
    if (!fx->cfg)
        fail_msg("%s", err);
    fx->heap = heap_new();
    fx->pool = pool_new(fx->cfg, "/bin/false", "ipc:///tmp/goro-test-pool",
                        cert, server_cert, fx->heap, T_KIND);
    return fx;
}

/* The fixture with one pool NAME of PROCESSES script processes in MODE,
   without certificates. */
static fixture_t *
s_pool(const char *name, int processes, const char *mode)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "pools:\n  - {name: %s, processes: %d, "
             "command: \"/bin/sh @DIR@/worker.sh\"}\n",
             name, processes);
    return s_fixture(yaml, NULL, NULL, mode);
}

static void
s_fixture_destroy(fixture_t **fx_p)
{
    fixture_t *fx = *fx_p;
    pool_stop(fx->pool, T_WAIT_MS);
    pool_destroy(&fx->pool);
    assert_int_equal(heap_size(fx->heap), 0);
    heap_destroy(&fx->heap);
    config_destroy(&fx->cfg);
    close(fx->fifo);
    const char *names[] = {"worker.sh", "mode", "fifo"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    *fx_p = NULL;
}

/* Reads the next start line (lines are shorter than PIPE_BUF, so each
   arrives whole). */
static void
s_next_start(fixture_t *fx, started_t *out)
{
    char line[512];
    size_t used = 0;
    while (used == 0 || line[used - 1] != '\n') {
        struct pollfd pfd = {fx->fifo, POLLIN, 0};
        if (poll(&pfd, 1, T_WAIT_MS) != 1)
            fail_msg("no worker started within %d ms", T_WAIT_MS);
        ssize_t got = read(fx->fifo, line + used, 1); /* one line only */
        assert_int_equal(got, 1);
        used++;
        assert_true(used < sizeof line);
    }
    line[used - 1] = '\0';
    long pid;
    int at = 0;
    assert_int_equal(sscanf(line, "%ld %63s %63s %63s %n", &pid, out->pool,
                            out->cert, out->server_cert, &at),
                     4);
    out->pid = (pid_t) pid;
    snprintf(out->args, sizeof out->args, "%s", line + at);
}

/* Waits until PID has exited, leaving it to be reaped. */
static void
s_wait_exit(pid_t pid)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t) pid, &info, WEXITED | WNOWAIT) == -1)
        assert_int_equal(errno, EINTR);
}

static void
test_starts_each_process_with_its_flags(void **state)
{
    (void) state;
    fixture_t *fx = s_fixture(
        "pools:\n"
        "  - {name: alpha, processes: 2, concurrency: 3, command: "
        "\"/bin/sh @DIR@/worker.sh --own\"}\n"
        "jobs: {exec: {max_output: 64KiB}}\n",
        "/keys/pool", "/keys/server", "stay");
    pool_start(fx->pool);
    started_t a, b;
    s_next_start(fx, &a);
    s_next_start(fx, &b);
    assert_int_equal(pool_alive(fx->pool), 2);
    if (strstr(a.args, "alpha/1")) {
        started_t t = a;
        a = b;
        b = t;
    }
    assert_string_equal(a.pool, "alpha");
    assert_string_equal(a.cert, "/keys/pool");
    assert_string_equal(a.server_cert, "/keys/server");
    assert_string_equal(a.args,
                        "--own --connect ipc:///tmp/goro-test-pool "
                        "--concurrency 3 --name alpha/0 --max-output 65536");
    assert_string_equal(b.args,
                        "--own --connect ipc:///tmp/goro-test-pool "
                        "--concurrency 3 --name alpha/1 --max-output 65536");
    assert_string_equal(pool_name_of(fx->pool, a.pid), "alpha");
    assert_string_equal(pool_name_of(fx->pool, b.pid), "alpha");
    assert_null(pool_name_of(fx->pool, getpid())); /* not a pool's */
    s_fixture_destroy(&fx);
}

/* processes: 0 is one per CPU; without certificates, no GORO_CERT. */
static void
test_one_per_cpu_and_no_certs(void **state)
{
    (void) state;
    fixture_t *fx = s_pool("percpu", 0, "stay");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 0 ? (size_t) cpus : 1;
    pool_start(fx->pool);
    for (size_t i = 0; i < want; i++) {
        started_t s;
        s_next_start(fx, &s);
        assert_string_equal(s.pool, "percpu");
        assert_string_equal(s.cert, "none");
        assert_string_equal(s.server_cert, "none");
    }
    assert_int_equal(pool_alive(fx->pool), want);
    s_fixture_destroy(&fx);
}

/* A crash loop: each exit is reported and re-armed 100, 200, 400 ... ms
   later, never more than 10 s; the restart is a new process with the
   same name. */
static void
test_exit_reported_and_restarted_with_backoff(void **state)
{
    (void) state;
    fixture_t *fx = s_pool("crash", 1, "exit");
    static const int64_t backoff[] = {100,  200,  400,   800,  1600,
                                      3200, 6400, 10000, 10000};
    pool_start(fx->pool);
    pid_t previous = 0;
    for (size_t i = 0; i < sizeof backoff / sizeof backoff[0]; i++) {
        started_t s;
        s_next_start(fx, &s);
        assert_true(s.pid != previous);
        s_wait_exit(s.pid);
        exits_t exits = {{0}, {{0}}, 0};
        int64_t before = util_now();
        pool_reap(fx->pool, s_on_exit, &exits);
        int64_t after = util_now();
        assert_int_equal(exits.count, 1);
        assert_int_equal(exits.pids[0], s.pid);
        assert_string_equal(exits.names[0], "crash/0");
        assert_int_equal(pool_alive(fx->pool), 0);
        assert_null(pool_name_of(fx->pool, s.pid));
        heap_node_t *node = heap_peek(fx->heap);
        assert_non_null(node);
        assert_int_equal(node->kind, T_KIND);
        if (node->at < before + backoff[i] || node->at > after + backoff[i])
            fail_msg("exit %zu: restart in %lld ms, want %lld", i + 1,
                     (long long) (node->at - before), (long long) backoff[i]);
        /* the restart's deadline, fired early */
        heap_cancel(fx->heap, node);
        pool_on_deadline(fx->pool, node);
        previous = s.pid;
    }
    started_t s;
    s_next_start(fx, &s);
    s_fixture_destroy(&fx);
}

/* A deadline for a slot that runs (a stale one) starts nothing. */
static void
test_deadline_for_running_slot_ignored(void **state)
{
    (void) state;
    fixture_t *fx = s_pool("crash", 1, "exit");
    pool_start(fx->pool);
    started_t s;
    s_next_start(fx, &s);
    s_wait_exit(s.pid);
    pool_reap(fx->pool, NULL, NULL); /* no one told: fine too */
    heap_node_t *node = heap_peek(fx->heap);
    assert_non_null(node);
    heap_cancel(fx->heap, node);
    s_write_file(fx->dir, "mode", "stay");
    pool_on_deadline(fx->pool, node);
    s_next_start(fx, &s);
    assert_int_equal(pool_alive(fx->pool), 1);
    pool_on_deadline(fx->pool, node); /* again: it runs already */
    assert_int_equal(pool_alive(fx->pool), 1);
    struct pollfd pfd = {fx->fifo, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0); /* no second start line */
    s_fixture_destroy(&fx);
}

/* pool_stop: SIGTERM, then SIGKILL after the grace for children that
   ignore it; no restart is armed for them. */
static void
test_stop_terms_then_kills(void **state)
{
    (void) state;
    fixture_t *fx = s_pool("deaf", 2, "ignore");
    pool_start(fx->pool);
    started_t deaf[2];
    s_next_start(fx, &deaf[0]);
    s_next_start(fx, &deaf[1]);
    int64_t started = util_now();
    pool_stop(fx->pool, 300);
    int64_t took = util_now() - started;
    assert_int_equal(pool_alive(fx->pool), 0);
    if (took < 300)
        fail_msg("stopped in %lld ms: the grace was not given",
                 (long long) took);
    for (size_t i = 0; i < 2; i++) {
        errno = 0;
        assert_int_equal(kill(deaf[i].pid, 0), -1); /* killed and reaped */
        assert_int_equal(errno, ESRCH);
    }
    assert_int_equal(heap_size(fx->heap), 0);
    s_fixture_destroy(&fx);
}

/* A child that obeys SIGTERM does not make pool_stop wait its grace. */
static void
test_stop_returns_when_all_gone(void **state)
{
    (void) state;
    fixture_t *fx = s_pool("stays", 2, "stay");
    pool_start(fx->pool);
    s_next_start(fx, &(started_t){0});
    s_next_start(fx, &(started_t){0});
    int64_t started = util_now();
    pool_stop(fx->pool, T_WAIT_MS);
    assert_true(util_now() - started < T_WAIT_MS);
    assert_int_equal(pool_alive(fx->pool), 0);
    assert_int_equal(heap_size(fx->heap), 0);
    s_fixture_destroy(&fx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_each_process_with_its_flags),
        cmocka_unit_test(test_one_per_cpu_and_no_certs),
        cmocka_unit_test(test_exit_reported_and_restarted_with_backoff),
        cmocka_unit_test(test_deadline_for_running_slot_ignored),
        cmocka_unit_test(test_stop_terms_then_kills),
        cmocka_unit_test(test_stop_returns_when_all_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
