/*  test_job - job.c, the job table and its state machine: ids, what a
    submission copies, the id and key indexes, each allowed transition and
    what it does to the job, per-state counts, and forgetting a job.

    Transitions the table rejects abort through assert (they are bugs in
    the caller, which answers GORO_ESTATE itself), so they are not tried
    here. A random walk over the allowed transitions checks that the
    counts always agree with the jobs themselves.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "job_links.h"
#include "util.h"
#include "xorshift.h"

#define T_WALK_JOBS 200
#define T_WALK_STEPS 20000
#define T_SEED 0x2545f4914f6cdd1dULL

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static job_t *
s_submit(job_table_t *table, const char *fn, const char *key)
{
    job_spec_t spec = {
        .fn = fn,
        .data = "x",
        .size = 1,
        .key = key,
        .timeout_ms = 0,
        .max_attempts = 1,
    };
    return job_table_submit(table, &spec);
}

/* A heap copy of TEXT without its NUL, as the server hands results in. */
static uint8_t *
s_buf(const char *text)
{
    return util_memdup(text, strlen(text));
}

static void
s_tally(job_t *job, void *arg)
{
    size_t *tally = arg;
    assert_true(job->state > 0 && job->state < JOB_STATES);
    tally[job->state]++;
    tally[0]++;
}

/* The counts the table keeps equal a recount of its jobs. */
static void
s_check_counts(job_table_t *table)
{
    size_t tally[JOB_STATES] = {0};
    job_table_each(table, s_tally, tally);
    size_t sum = 0;
    for (int state = 1; state < JOB_STATES; state++) {
        assert_int_equal(job_table_count(table, state), tally[state]);
        sum += job_table_count(table, state);
    }
    assert_int_equal(sum, tally[0]);
}

/* Running job ended as STATE with no result. */
static void
s_end(job_table_t *table, job_t *job, int state)
{
    job_table_end(table, job, state, state == GORO_JOB_SUCCEEDED ? 0 : 1, 5,
                  NULL, 0, NULL, 0);
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

static void
test_new_destroy(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    assert_non_null(table);
    for (int s = 0; s <= JOB_STATES; s++)
        assert_int_equal(job_table_count(table, s), 0);
    assert_int_equal(job_table_submitted(table), 0);
    assert_null(job_table_lookup(table, 1));
    assert_null(job_table_by_key(table, "k"));
    s_check_counts(table);
    job_table_destroy(&table);
    assert_null(table);
    job_table_destroy(&table);
    job_table_destroy(NULL);
}

static void
test_ids_increase_never_reused(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *a = s_submit(table, "f", NULL);
    job_t *b = s_submit(table, "f", NULL);
    job_t *c = s_submit(table, "g", NULL);
    assert_int_equal(a->id, 1);
    assert_int_equal(b->id, 2);
    assert_int_equal(c->id, 3);

    /* forget the newest, then everything: ids still go on from 4 */
    job_table_end(table, c, GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL, 0);
    job_table_remove(table, &c);
    job_t *d = s_submit(table, "f", NULL);
    assert_int_equal(d->id, 4);
    assert_null(job_table_lookup(table, 3));

    job_t *all[3] = {a, b, d};
    for (int i = 0; i < 3; i++) {
        job_table_end(table, all[i], GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL,
                      0);
        job_table_remove(table, &all[i]);
    }
    for (int s = 1; s < JOB_STATES; s++)
        assert_int_equal(job_table_count(table, s), 0);
    uint64_t last = 4;
    for (int i = 0; i < 100; i++) {
        job_t *job = s_submit(table, "f", NULL);
        assert_true(job->id == last + 1);
        last = job->id;
    }
    assert_int_equal(job_table_submitted(table), 104);
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 100);
    for (uint64_t id = 1; id <= 4; id++)
        assert_null(job_table_lookup(table, id));
    job_table_destroy(&table);
}

static void
test_fields_copied(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    char fn[] = "resize";
    char data[] = {'a', '\0', 'b', '\0', 'c'};
    char wg[] = "batch", chan[] = "results", key[] = "order-7";
    job_spec_t spec = {
        .fn = fn,
        .data = data,
        .size = sizeof data,
        .wg = wg,
        .chan = chan,
        .key = key,
        .timeout_ms = 1500,
        .max_attempts = 3,
    };
    job_t *job = job_table_submit(table, &spec);
    /* the caller's buffers are its own again */
    memset(fn, 'X', sizeof fn - 1);
    memset(data, 'X', sizeof data);
    memset(wg, 'X', sizeof wg - 1);
    memset(chan, 'X', sizeof chan - 1);
    memset(key, 'X', sizeof key - 1);

    assert_string_equal(job->fn, "resize");
    assert_int_equal(job->size, 5);
    assert_memory_equal(job->data, "a\0b\0c", 5);
    assert_string_equal(job_extra(job)->wg, "batch");
    assert_string_equal(job_extra(job)->chan, "results");
    assert_string_equal(job_extra(job)->key, "order-7");
    assert_int_equal(job->timeout_ms, 1500);
    assert_int_equal(job->max_attempts, 3);
    /* a fresh job: queued, not started, no result, linked nowhere */
    assert_int_equal(job->state, GORO_JOB_QUEUED);
    assert_int_equal(job_extra(job)->attempt, 0);
    assert_int_equal(job_extra(job)->status, -1);
    assert_int_equal(job_extra(job)->runtime_ms, 0);
    assert_null(job_extra(job)->out);
    assert_int_equal(job_extra(job)->out_size, 0);
    assert_null(job_extra(job)->err);
    assert_int_equal(job_extra(job)->err_size, 0);
    assert_null(job->queued.prev); /* the caller queues it */
    assert_null(job->queued.next);
    assert_null(job_extra(job)->links);
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 1);
    assert_int_equal(job_table_submitted(table), 1);
    job_table_destroy(&table);
}

static void
test_empty_options_are_null(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_spec_t spec = {
        .fn = "f",
        .data = NULL,
        .size = 0,
        .wg = "",
        .chan = "",
        .key = "",
        .max_attempts = 1,
    };
    job_t *a = job_table_submit(table, &spec);
    assert_null(job_extra(a)->wg);
    assert_null(job_extra(a)->chan);
    assert_null(job_extra(a)->key);
    assert_int_equal(a->size, 0);

    spec.wg = spec.chan = spec.key = NULL;
    job_t *b = job_table_submit(table, &spec);
    assert_null(job_extra(b)->wg);
    assert_null(job_extra(b)->chan);
    assert_null(job_extra(b)->key);
    /* no key: not in the key index */
    assert_null(job_table_by_key(table, ""));
    assert_null(job_table_by_key(table, NULL));
    job_table_destroy(&table);
}

static void
test_lookup_and_by_key(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *a = s_submit(table, "f", "alpha");
    job_t *b = s_submit(table, "f", NULL);
    job_t *c = s_submit(table, "g", "gamma");
    assert_ptr_equal(job_table_lookup(table, 1), a);
    assert_ptr_equal(job_table_lookup(table, 2), b);
    assert_ptr_equal(job_table_lookup(table, 3), c);
    assert_null(job_table_lookup(table, 0));
    assert_null(job_table_lookup(table, 4));
    assert_null(job_table_lookup(table, UINT64_MAX));
    assert_ptr_equal(job_table_by_key(table, "alpha"), a);
    assert_ptr_equal(job_table_by_key(table, "gamma"), c);
    char probe[] = "gamma"; /* by content, not by pointer */
    assert_ptr_equal(job_table_by_key(table, probe), c);
    assert_null(job_table_by_key(table, "beta"));
    assert_null(job_table_by_key(table, "alph"));
    assert_null(job_table_by_key(table, ""));
    assert_null(job_table_by_key(table, NULL));
    job_table_destroy(&table);
}

static void
test_start_raises_attempt(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    job_table_start(table, job, 1000);
    assert_int_equal(job->state, GORO_JOB_RUNNING);
    assert_int_equal(job_extra(job)->attempt, 1);
    assert_int_equal(job_extra(job)->started_at, 1000);
    assert_int_equal(job_extra(job)->status, -1);
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 0);
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 1);
    s_check_counts(table);
    job_table_destroy(&table);
}

static void
test_requeue_then_start_again(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    job_table_start(table, job, 1000);
    job_table_requeue(table, job);
    assert_int_equal(job->state, GORO_JOB_QUEUED);
    assert_int_equal(job_extra(job)->attempt, 1); /* the lost one counts */
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 1);
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 0);
    job_table_start(table, job, 2000);
    assert_int_equal(job_extra(job)->attempt, 2);
    assert_int_equal(job_extra(job)->started_at, 2000);
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 1);
    assert_int_equal(job_table_submitted(table), 1);
    s_check_counts(table);
    job_table_destroy(&table);
}

static void
test_end_succeeded_takes_buffers(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    job_table_start(table, job, 10);
    uint8_t *out = util_memdup("ok\0out", 6); /* binary output */
    char *err = (char *) s_buf("warning");
    uint8_t *out_was = out;
    job_table_end(table, job, GORO_JOB_SUCCEEDED, 0, 42, &out, 6, &err, 7);
    assert_null(out); /* the table has them now */
    assert_null(err);
    assert_ptr_equal(job_extra(job)->out, out_was);
    assert_int_equal(job_extra(job)->out_size, 6);
    assert_memory_equal(job_extra(job)->out, "ok\0out", 6);
    assert_int_equal(job_extra(job)->err_size, 7);
    assert_memory_equal(job_extra(job)->err, "warning", 7);
    assert_int_equal(job->state, GORO_JOB_SUCCEEDED);
    assert_int_equal(job_extra(job)->status, 0);
    assert_int_equal(job_extra(job)->runtime_ms, 42);
    assert_true(job_state_ended(job->state));
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 0);
    assert_int_equal(job_table_count(table, GORO_JOB_SUCCEEDED), 1);
    s_check_counts(table);
    job_table_destroy(&table); /* frees out and err: ASan checks */
}

static void
test_end_without_buffers(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *a = s_submit(table, "f", NULL);
    job_table_start(table, a, 0);
    /* no pointers: sizes are ignored */
    job_table_end(table, a, GORO_JOB_FAILED, 2, 1, NULL, 9, NULL, 9);
    assert_null(job_extra(a)->out);
    assert_int_equal(job_extra(a)->out_size, 0);
    assert_null(job_extra(a)->err);
    assert_int_equal(job_extra(a)->err_size, 0);

    /* pointers to NULL: likewise */
    job_t *b = s_submit(table, "f", NULL);
    job_table_start(table, b, 0);
    uint8_t *out = NULL;
    char *err = NULL;
    job_table_end(table, b, GORO_JOB_FAILED, 2, 1, &out, 9, &err, 9);
    assert_null(job_extra(b)->out);
    assert_int_equal(job_extra(b)->out_size, 0);
    assert_null(job_extra(b)->err);
    assert_int_equal(job_extra(b)->err_size, 0);

    /* only one of the two */
    job_t *c = s_submit(table, "f", NULL);
    job_table_start(table, c, 0);
    err = (char *) s_buf("boom");
    job_table_end(table, c, GORO_JOB_FAILED, 1, 1, NULL, 0, &err, 4);
    assert_null(err);
    assert_null(job_extra(c)->out);
    assert_int_equal(job_extra(c)->err_size, 4);
    assert_int_equal(job_table_count(table, GORO_JOB_FAILED), 3);
    s_check_counts(table);
    job_table_destroy(&table);
}

static void
test_end_from_running_each_state(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    const int ended[] = {GORO_JOB_SUCCEEDED, GORO_JOB_FAILED,
                         GORO_JOB_CANCELLED, GORO_JOB_TIMED_OUT};
    for (size_t i = 0; i < 4; i++) {
        job_t *job = s_submit(table, "f", NULL);
        job_table_start(table, job, 0);
        job_table_end(table, job, ended[i], 9, 3, NULL, 0, NULL, 0);
        assert_int_equal(job->state, ended[i]);
        assert_int_equal(job_extra(job)->status, 9);
        assert_int_equal(job_extra(job)->runtime_ms, 3);
        assert_int_equal(job_table_count(table, ended[i]), 1);
        s_check_counts(table);
    }
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 0);
    job_table_destroy(&table);
}

static void
test_cancel_queued(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", "k");
    job_table_end(table, job, GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL, 0);
    assert_int_equal(job->state, GORO_JOB_CANCELLED);
    assert_int_equal(job_extra(job)->attempt, 0); /* never started */
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 0);
    assert_int_equal(job_table_count(table, GORO_JOB_CANCELLED), 1);
    assert_ptr_equal(job_table_by_key(table, "k"), job); /* still known */
    assert_ptr_equal(job_table_lookup(table, job->id), job);
    s_check_counts(table);
    job_table_destroy(&table);
}

/* Retry gives a fresh budget of attempts but keeps the numbering, so a
   late DONE of an earlier attempt never matches a new one. */
static void
test_retry_fresh_budget(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    const int ended[] = {GORO_JOB_FAILED, GORO_JOB_CANCELLED,
                         GORO_JOB_TIMED_OUT};
    for (size_t i = 0; i < 3; i++) {
        job_t *job = s_submit(table, "f", NULL);
        job_table_start(table, job, 0);
        job_table_requeue(table, job);
        job_table_start(table, job, 0);
        job_table_end(table, job, ended[i], 7, 99, NULL, 0, NULL, 0);
        assert_int_equal(job_extra(job)->attempt, 2);
        job_table_retry(table, job);
        assert_int_equal(job->state, GORO_JOB_QUEUED);
        assert_int_equal(job_extra(job)->attempt, 2);
        assert_int_equal(job_attempts_used(job), 0);
        assert_int_equal(job_extra(job)->status, -1);
        assert_int_equal(job_extra(job)->runtime_ms, 0);
        assert_int_equal(job_table_count(table, ended[i]), 0);
        s_check_counts(table);
        /* and it runs again as attempt 3, the first of its new budget */
        job_table_start(table, job, 5);
        assert_int_equal(job_extra(job)->attempt, 3);
        assert_int_equal(job_attempts_used(job), 1);
    }
    assert_int_equal(job_table_count(table, GORO_JOB_RUNNING), 3);
    assert_int_equal(job_table_submitted(table), 3); /* not resubmits */
    job_table_destroy(&table);
}

static void
test_result_replaced_on_second_end(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    job_table_start(table, job, 0);
    uint8_t *out = s_buf("first");
    char *err = (char *) s_buf("first err");
    job_table_end(table, job, GORO_JOB_FAILED, 1, 1, &out, 5, &err, 9);
    job_table_retry(table, job);
    job_table_start(table, job, 0);
    out = s_buf("second");
    job_table_end(table, job, GORO_JOB_SUCCEEDED, 0, 1, &out, 6, NULL, 0);
    /* the first result is freed (ASan would report a leak), not kept */
    assert_int_equal(job_extra(job)->out_size, 6);
    assert_memory_equal(job_extra(job)->out, "second", 6);
    assert_null(job_extra(job)->err);
    assert_int_equal(job_extra(job)->err_size, 0);
    job_table_destroy(&table);
}

static void
test_state_ended(void **state)
{
    (void) state;
    assert_false(job_state_ended(0));
    assert_false(job_state_ended(GORO_JOB_QUEUED));
    assert_false(job_state_ended(GORO_JOB_RUNNING));
    assert_true(job_state_ended(GORO_JOB_SUCCEEDED));
    assert_true(job_state_ended(GORO_JOB_FAILED));
    assert_true(job_state_ended(GORO_JOB_CANCELLED));
    assert_true(job_state_ended(GORO_JOB_TIMED_OUT));
    assert_false(job_state_ended(JOB_STATES));
    assert_false(job_state_ended(-1));
}

static void
test_count_out_of_range(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    s_submit(table, "f", NULL);
    assert_int_equal(job_table_count(table, 0), 0);
    assert_int_equal(job_table_count(table, -1), 0);
    assert_int_equal(job_table_count(table, JOB_STATES), 0);
    assert_int_equal(job_table_count(table, 1000), 0);
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), 1);
    job_table_destroy(&table);
}

static void
test_remove_forgets_id_and_key(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *keep = s_submit(table, "f", "keep");
    job_t *job = s_submit(table, "f", "once");
    uint64_t id = job->id;
    job_table_start(table, job, 0);
    uint8_t *out = s_buf("result");
    job_table_end(table, job, GORO_JOB_SUCCEEDED, 0, 1, &out, 6, NULL, 0);
    job_table_remove(table, &job);
    assert_null(job); /* the caller's pointer too */
    assert_null(job_table_lookup(table, id));
    assert_null(job_table_by_key(table, "once"));
    assert_int_equal(job_table_count(table, GORO_JOB_SUCCEEDED), 0);
    assert_int_equal(job_table_submitted(table), 2); /* history stays */
    s_check_counts(table);
    /* the others are untouched */
    assert_ptr_equal(job_table_lookup(table, keep->id), keep);
    assert_ptr_equal(job_table_by_key(table, "keep"), keep);

    /* the key is free for a new job, with a new id */
    job_t *again = s_submit(table, "f", "once");
    assert_true(again->id > id);
    assert_ptr_equal(job_table_by_key(table, "once"), again);
    job_table_destroy(&table);
}

/* The extra record: none for a plain queued job (the common case the
   job's size is about), made by options, a start, an end or a wait. */
static void
test_extra_on_demand(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *plain = s_submit(table, "f", NULL);
    assert_null(plain->extra);
    const job_extra_t *none = job_extra(plain); /* defaults */
    assert_int_equal(none->status, -1);
    assert_int_equal(none->attempt, 0);
    assert_null(none->wg);
    assert_null(none->links);
    assert_null(plain->extra); /* reading made none */

    job_extra_t *made = job_extra_ensure(plain);
    assert_ptr_equal(plain->extra, made);
    assert_int_equal(made->status, -1);
    assert_ptr_equal(job_extra_ensure(plain), made); /* only once */
    assert_ptr_equal(job_extra(plain), made);

    job_spec_t spec = {.fn = "f", .chan = "results", .max_attempts = 1};
    job_t *chan = job_table_submit(table, &spec);
    assert_non_null(chan->extra);
    assert_string_equal(job_extra(chan)->chan, "results");

    job_t *run = s_submit(table, "f", NULL);
    assert_null(run->extra);
    job_table_start(table, run, 5);
    assert_non_null(run->extra);
    assert_null(job_extra(run)->links); /* the server's */

    job_t *cancel = s_submit(table, "f", NULL);
    char *err = (char *) s_buf("cancelled");
    job_table_end(table, cancel, GORO_JOB_CANCELLED, -1, 0, NULL, 0, &err, 9);
    assert_non_null(cancel->extra);
    assert_memory_equal(job_extra(cancel)->err, "cancelled", 9);
    job_table_remove(table, &cancel); /* frees it: ASan checks */
    job_table_destroy(&table);        /* and the rest */
}

/* The runtime links: not the table's. Made on first need (with the
   extra record they hang from), the same block from then on, left as
   they are by every mutator, and freed with the job. */
static void
test_links_on_demand(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    const job_links_t *none = job_links(job); /* defaults */
    assert_null(none->worker);
    assert_false(none->delayed);
    assert_int_equal(none->waiters.count, 0);
    assert_false(heap_node_armed(&none->deadline));
    assert_null(job->extra); /* reading made none */

    job_links_t *links = job_links_ensure(job);
    assert_non_null(job->extra);
    assert_ptr_equal(job_extra(job)->links, links);
    assert_ptr_equal(links->job, job);
    assert_null(links->worker);
    assert_false(heap_node_armed(&links->deadline));
    assert_ptr_equal(job_links_ensure(job), links); /* only once */
    assert_ptr_equal(job_links(job), links);

    /* what the server hangs on it survives every transition */
    static char a_worker; /* an address, never read */
    worker_t *worker = (worker_t *) &a_worker;
    links->worker = worker;
    links->delayed = true;
    job_table_start(table, job, 5);
    job_table_requeue(table, job);
    job_table_start(table, job, 6);
    char *err = (char *) s_buf("boom");
    job_table_end(table, job, GORO_JOB_FAILED, 1, 0, NULL, 0, &err, 4);
    job_table_retry(table, job);
    job_table_start(table, job, 7);
    uint8_t *out = s_buf("ok");
    job_table_end(table, job, GORO_JOB_SUCCEEDED, 0, 3, &out, 2, NULL, 0);
    assert_ptr_equal(job_links(job), links);
    assert_ptr_equal(links->job, job);
    assert_ptr_equal(links->worker, worker);
    assert_true(links->delayed);
    links->worker = NULL;

    job_table_remove(table, &job); /* frees them: ASan checks */
    job_t *other = s_submit(table, "f", NULL);
    job_links_ensure(other);
    job_table_destroy(&table); /* and these */
}

/* Every queued job is paid for a million times (limits.max_queued_jobs):
   job.h's budget is 56 bytes before the payload on LP64, the links kept
   out of it but for the queue's node. */
static void
test_queued_job_size(void **state)
{
    (void) state;
    if (sizeof(void *) == 8)
        assert_true(sizeof(job_t) <= 56);
    job_table_t *table = job_table_new();
    job_t *job = s_submit(table, "f", NULL);
    assert_null(job->extra); /* nothing more made for it */
    job_table_destroy(&table);
}

/* Enough jobs to grow the id map several times, then every other one
   removed: the rest are still found (deletion shifts entries back). */
static void
test_lookup_after_growth_and_removal(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    enum { N = 5000 };
    job_t **jobs = util_zalloc(N * sizeof *jobs);
    for (int i = 0; i < N; i++)
        jobs[i] = s_submit(table, "f", NULL);
    for (int i = 0; i < N; i += 2) {
        job_table_end(table, jobs[i], GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL,
                      0);
        uint64_t id = jobs[i]->id;
        job_table_remove(table, &jobs[i]);
        assert_null(job_table_lookup(table, id));
    }
    for (int i = 1; i < N; i += 2)
        assert_ptr_equal(job_table_lookup(table, jobs[i]->id), jobs[i]);
    assert_null(job_table_lookup(table, N + 1));
    assert_int_equal(job_table_count(table, GORO_JOB_QUEUED), N / 2);
    s_check_counts(table);
    free(jobs);
    job_table_destroy(&table);
}

/* The payload size and max-attempts must fit the job: a journal is
   input. */
static void
test_replay_rejects_oversized_payload(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    uint8_t byte = 0;
    goro_msg_t record = {
        .cmd = GORO_MSG_J_SUBMIT,
        .job_id = 1,
        .name = "f",
        .data = &byte,
        .size = (size_t) JOB_SIZE_MAX + 1,
        .max_attempts = 1,
    };
    assert_int_equal(job_table_replay(table, &record), GORO_EPROTO);
    assert_null(job_table_lookup(table, 1));
    record.size = 1;
    record.max_attempts = 0x80000000u; /* beyond the job's int */
    assert_int_equal(job_table_replay(table, &record), GORO_EPROTO);
    record.max_attempts = 1;
    assert_int_equal(job_table_replay(table, &record), GORO_OK);
    assert_int_equal(job_table_lookup(table, 1)->size, 1);
    job_table_destroy(&table);
}

static void
test_duplicate_key_keeps_first(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *first = s_submit(table, "f", "k");
    job_t *second = s_submit(table, "f", "k");
    assert_ptr_equal(job_table_by_key(table, "k"), first);
    /* removing the job the index doesn't name leaves the index alone */
    job_table_end(table, second, GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL, 0);
    job_table_remove(table, &second);
    assert_ptr_equal(job_table_by_key(table, "k"), first);
    job_table_end(table, first, GORO_JOB_CANCELLED, -1, 0, NULL, 0, NULL, 0);
    job_table_remove(table, &first);
    assert_null(job_table_by_key(table, "k"));
    job_table_destroy(&table);
}

static void
s_visit(job_t *job, void *arg)
{
    uint64_t *sum = arg;
    *sum += job->id;
}

static void
test_each_visits_all(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    uint64_t sum = 0;
    job_table_each(table, s_visit, &sum);
    assert_int_equal(sum, 0);
    for (int i = 0; i < 50; i++)
        s_submit(table, "f", NULL);
    job_table_each(table, s_visit, &sum);
    assert_int_equal(sum, 50 * 51 / 2);
    job_table_destroy(&table);
}

/* Random walk over the allowed transitions (and removes, and new
   submissions); the counts must match a recount after every step. */
static void
test_counts_random_walk(void **state)
{
    (void) state;
    job_table_t *table = job_table_new();
    job_t *jobs[T_WALK_JOBS];
    for (int i = 0; i < T_WALK_JOBS; i++)
        jobs[i] = s_submit(table, "f", NULL);
    uint64_t rng = T_SEED;
    size_t removed = 0;

    for (int step = 0; step < T_WALK_STEPS; step++) {
        size_t i = xorshift_next(&rng) % T_WALK_JOBS;
        unsigned dice = (unsigned) (xorshift_next(&rng) % 4);
        job_t *job = jobs[i];
        switch (job->state) {
            case GORO_JOB_QUEUED:
                if (dice == 0)
                    s_end(table, job, GORO_JOB_CANCELLED);
                else
                    job_table_start(table, job, step);
                break;
            case GORO_JOB_RUNNING:
                if (dice == 0)
                    job_table_requeue(table, job);
                else {
                    const int ended[] = {GORO_JOB_SUCCEEDED, GORO_JOB_FAILED,
                                         GORO_JOB_CANCELLED,
                                         GORO_JOB_TIMED_OUT};
                    s_end(table, job, ended[xorshift_next(&rng) % 4]);
                }
                break;
            case GORO_JOB_SUCCEEDED:
                job_table_remove(table, &jobs[i]);
                jobs[i] = s_submit(table, "f", NULL);
                removed++;
                break;
            default: /* failed, cancelled, timed out */
                if (dice < 2)
                    job_table_retry(table, job);
                else {
                    job_table_remove(table, &jobs[i]);
                    jobs[i] = s_submit(table, "f", NULL);
                    removed++;
                }
                break;
        }
        s_check_counts(table);
    }
    assert_true(removed > 100);
    assert_int_equal(job_table_submitted(table), T_WALK_JOBS + removed);
    size_t live = 0;
    for (int s = 1; s < JOB_STATES; s++)
        live += job_table_count(table, s);
    assert_int_equal(live, T_WALK_JOBS);
    job_table_destroy(&table);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_destroy),
        cmocka_unit_test(test_ids_increase_never_reused),
        cmocka_unit_test(test_fields_copied),
        cmocka_unit_test(test_empty_options_are_null),
        cmocka_unit_test(test_lookup_and_by_key),
        cmocka_unit_test(test_start_raises_attempt),
        cmocka_unit_test(test_requeue_then_start_again),
        cmocka_unit_test(test_end_succeeded_takes_buffers),
        cmocka_unit_test(test_end_without_buffers),
        cmocka_unit_test(test_end_from_running_each_state),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_retry_fresh_budget),
        cmocka_unit_test(test_result_replaced_on_second_end),
        cmocka_unit_test(test_state_ended),
        cmocka_unit_test(test_count_out_of_range),
        cmocka_unit_test(test_remove_forgets_id_and_key),
        cmocka_unit_test(test_extra_on_demand),
        cmocka_unit_test(test_links_on_demand),
        cmocka_unit_test(test_queued_job_size),
        cmocka_unit_test(test_lookup_after_growth_and_removal),
        cmocka_unit_test(test_replay_rejects_oversized_payload),
        cmocka_unit_test(test_duplicate_key_keeps_first),
        cmocka_unit_test(test_each_visits_all),
        cmocka_unit_test(test_counts_random_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
