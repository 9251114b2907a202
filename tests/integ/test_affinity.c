/*  test_affinity (integration) - loop.cpu pins gorod, not its workers.

    With loop.cpu set, every thread of gorod (its loop, libzmq's I/O
    thread, the rest) may run only on that CPU, read back from
    /proc/PID/task/TID/status, while the pool's worker processes keep
    the mask gorod was started with. Without it nothing is pinned. A CPU
    gorod may not run on (one past the highest of the test's own mask)
    stops it with exit 1 and a message naming loop.cpu.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_WAIT_MS 10000

/* The CPUs PATH (a /proc status file) may run on, as a mask. */
static int
s_allowed(const char *path, cpu_set_t *set)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    int rc = -1;
    CPU_ZERO(set);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            /* "0-1,3": ranges and single CPUs */
            char *p = line + 18;
            while (*p) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                    p++;
                if (*p < '0' || *p > '9')
                    break;
                long lo = strtol(p, &p, 10), hi = lo;
                if (*p == '-')
                    hi = strtol(p + 1, &p, 10);
                for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
                    CPU_SET((int) c, set);
            }
            rc = 0;
        }
    fclose(f);
    return rc;
}

/* Checks every thread of PID against WANT; returns how many it saw. */
static int
s_threads_are(pid_t pid, const cpu_set_t *want)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int) pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[384];
        snprintf(path, sizeof path, "%s/%s/status", dir, e->d_name);
        cpu_set_t got;
        if (s_allowed(path, &got) != 0)
            continue; /* a thread that just ended */
        if (!CPU_EQUAL(&got, want))
            fail_msg("thread %s of gorod may run on %d CPU(s), want %d",
                     e->d_name, CPU_COUNT(&got), CPU_COUNT(want));
        seen++;
    }
    closedir(d);
    return seen;
}

static void
s_worker_has(harness_t *h, const cpu_set_t *want)
{
    assert_int_equal(harness_wait_workers(h, 1, T_WAIT_MS), 0);
    pid_t pid;
    assert_int_equal(harness_worker_pids(h, &pid, 1), 1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    cpu_set_t got;
    assert_int_equal(s_allowed(path, &got), 0);
    assert_true(CPU_EQUAL(&got, want));
}

/* The CPU this test may run on that is highest: gorod inherits our mask,
   so it may run there too. */
static int
s_last_cpu(cpu_set_t *mine)
{
    assert_int_equal(sched_getaffinity(0, sizeof *mine, mine), 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, mine))
            last = c;
    return last;
}

static void
test_loop_cpu_pins_gorod_only(void **state)
{
    cpu_set_t mine;
    int cpu = s_last_cpu(&mine);
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "pools: [ { name: p, processes: 1 } ]\n"
             "loop: { cpu: %d }\n",
             cpu);
    harness_t *h = harness_up(state, yaml);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    /* main loop, libzmq's I/O thread and its reaper at least */
    assert_true(s_threads_are(harness_pid(h), &one) >= 3);
    s_worker_has(h, &mine);
    assert_int_equal(goro_ping(harness_client(h), T_WAIT_MS), GORO_OK);
    harness_finish(state);
}

static void
test_no_loop_cpu_pins_nothing(void **state)
{
    cpu_set_t mine;
    s_last_cpu(&mine);
    harness_t *h = harness_up(state, "pools: [ { name: p, processes: 1 } ]\n");
    assert_true(s_threads_are(harness_pid(h), &mine) >= 3);
    s_worker_has(h, &mine);
    harness_finish(state);
}

static void
test_cpu_outside_the_mask_refused(void **state)
{
    (void) state;
    cpu_set_t mine;
    int cpu = s_last_cpu(&mine) + 1;
    if (cpu >= CPU_SETSIZE)
        skip();
    char dir[] = "/tmp/goro-affinity-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/goro.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "loop: { cpu: %d }\n", cpu);
    fclose(f);
    char *out = NULL, *err = NULL;
    const char *argv[] = {GORO_BIN_DIR "/gorod", "-c", path, NULL};
    assert_int_equal(harness_run(dir, argv, &out, &err, T_WAIT_MS), 1);
    assert_non_null(strstr(err, "loop.cpu"));
    free(out);
    free(err);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_loop_cpu_pins_gorod_only),
        HARNESS_TEST(test_no_loop_cpu_pins_nothing),
        cmocka_unit_test(test_cpu_outside_the_mask_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
