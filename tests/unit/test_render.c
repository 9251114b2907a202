/*  test_render - render.c, the listings `goro jobs`, `goro stats` (and
    `goro workers`, covered through a real gorod in integ_cli) print: the
    fields and their JSON names, ids in order, --failed, the cap on how
    many jobs a listing holds, and names that are not UTF-8 still giving
    valid JSON.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "job.h"
#include "goro_defs.h"

static job_t *
s_submit(job_table_t *table, const char *fn)
{
    job_spec_t spec = {
        .fn = fn,
        .data = "x",
        .size = 1,
        .timeout_ms = 0,
        .max_attempts = 1,
    };
    return job_table_submit(table, &spec);
}

/* JOB runs and ends as STATE with STATUS after RUNTIME_MS. */
static void
s_run(job_table_t *table, job_t *job, int state, int64_t status,
      int64_t runtime_ms)
{
    job_table_start(table, job, 0);
    job_table_end(table, job, state, status, runtime_ms, NULL, 0, NULL, 0);
}

static void
s_text_is(char *text, size_t size, const char *want)
{
    assert_non_null(text);
    assert_int_equal(size, strlen(text));
    if (strcmp(text, want) != 0)
        fail_msg("got\n%s\nwant\n%s", text, want);
    free(text);
}

static void
test_jobs(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    s_submit(table, "plain");
    /* A name is bytes: invalid UTF-8, a control and a quote. */
    job_t *bad = s_submit(table, "bad\xff\x01\"");
    job_t *good = s_submit(table, "sum");
    s_run(table, bad, GORO_JOB_FAILED, 3, 42);
    s_run(table, good, GORO_JOB_SUCCEEDED, 0, 7);

    size_t size = 0;
    char *text = render_jobs(table, RENDER_JSON, &size);
    s_text_is(text, size,
              "[{\"id\":1,\"state\":\"queued\",\"function\":\"plain\","
              "\"attempts\":0,\"status\":-1,\"runtime_ms\":0},"
              "{\"id\":2,\"state\":\"failed\",\"function\":\"bad\xEF\xBF\xBD"
              "\\u0001\\\"\",\"attempts\":1,\"status\":3,\"runtime_ms\":42},"
              "{\"id\":3,\"state\":\"succeeded\",\"function\":\"sum\","
              "\"attempts\":1,\"status\":0,\"runtime_ms\":7}]\n");

    text = render_jobs(table, RENDER_JSON | RENDER_FAILED, &size);
    s_text_is(
        text, size,
        "[{\"id\":2,\"state\":\"failed\",\"function\":\"bad\xEF\xBF\xBD"
        "\\u0001\\\"\",\"attempts\":1,\"status\":3,\"runtime_ms\":42}]\n");

    text = render_jobs(table, RENDER_FAILED, &size);
    s_text_is(
        text, size,
        "ID         STATE      FUNCTION         ATTEMPTS STATUS    RUNTIME\n"
        "2          failed     bad\xff\x01\""
        "           "
        "       1"
        "      3"
        "       42ms\n");
    job_table_destroy(&table);

    /* No jobs: an empty list, and a table with its header only. */
    table = job_table_new();
    text = render_jobs(table, RENDER_JSON, &size);
    s_text_is(text, size, "[]\n");
    text = render_jobs(table, 0, &size);
    s_text_is(
        text, size,
        "ID         STATE      FUNCTION         ATTEMPTS STATUS    RUNTIME\n");
    job_table_destroy(&table);
}

/* A listing holds the newest RENDER_JOBS_MAX jobs, and the text says how
   many older ones it left out. */
static void
test_jobs_cap(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    for (int i = 0; i < RENDER_JOBS_MAX + 2; i++)
        s_submit(table, "f");
    size_t size = 0;
    char *text = render_jobs(table, RENDER_JSON, &size);
    assert_non_null(strstr(text, "[{\"id\":3,"));
    char last[64];
    snprintf(last, sizeof last, "{\"id\":%d,", RENDER_JOBS_MAX + 2);
    assert_non_null(strstr(text, last));
    size_t rows = 0;
    for (const char *p = text; (p = strstr(p, "{\"id\":")); p++)
        rows++;
    assert_int_equal(rows, RENDER_JOBS_MAX);
    free(text);

    text = render_jobs(table, 0, &size);
    const char *tail = "(2 older jobs not shown)\n";
    assert_true(size > strlen(tail));
    assert_string_equal(text + size - strlen(tail), tail);
    free(text);
    job_table_destroy(&table);
}

static void
test_stats(void **state)
{
    (void) state;
    render_stats_t stats = {
        .uptime_ms = 1500,
        .submitted = 9,
        .queued = 2,
        .running = 1,
        .workers = 3,
        .capacity = -1,
        .auth_refused = 4,
        .clients_endpoint = "tcp://127.0.0.1:5555",
        .workers_endpoint = "ipc:///tmp/w\xC3\xA9\xC0",
    };
    size_t size = 0;
    char *text = render_stats(&stats, NULL, RENDER_JSON, &size);
    s_text_is(text, size,
              "{\"clients_endpoint\":\"tcp://127.0.0.1:5555\","
              "\"workers_endpoint\":\"ipc:///tmp/w\xC3\xA9\xEF\xBF\xBD\","
              "\"uptime_ms\":1500,\"jobs_submitted\":9,\"jobs_queued\":2,"
              "\"jobs_running\":1,\"jobs_succeeded\":0,\"jobs_failed\":0,"
              "\"jobs_cancelled\":0,\"jobs_timed_out\":0,\"workers\":3,"
              "\"pool_processes\":0,\"capacity\":-1,\"busy\":0,\"requests\":0,"
              "\"malformed\":0,\"undelivered\":0,\"channels\":0,"
              "\"channel_bytes\":0,\"results_dropped\":0,\"waitgroups\":0,"
              "\"parked_clients\":0,\"auth_allowed\":0,\"auth_refused\":4,"
              "\"channel_list\":[]}\n");

    text = render_stats(&stats, NULL, 0, &size);
    assert_non_null(text);
    assert_int_equal(size, strlen(text));
    assert_true(strncmp(text,
                        "clients_endpoint   tcp://127.0.0.1:5555\n"
                        "workers_endpoint   ipc:///tmp/w",
                        70)
                == 0);
    assert_non_null(strstr(text, "\nuptime_ms          1500\n"));
    assert_non_null(strstr(text, "\ncapacity           -1\n"));
    assert_non_null(strstr(text, "\nauth_refused       4\n"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_jobs_cap),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
