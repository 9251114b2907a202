/*  test_sched - sched.c, the per-function queues of queued jobs: FIFO
    order, push_front for jobs whose worker was lost, removal from any
    position, the choice across functions (lowest id among the heads), the
    counts, and queues that empty and come back.

    Jobs are real ones from a job table, since sched links them through
    their own node and reads their fn and id; that node is sched's alone,
    so a worker's list of running jobs never disturbs a queue. A
    randomized run checks everything against plain arrays, one per
    function.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "job.h"
#include "xorshift.h"

#define T_FNS 3
#define T_JOBS 300
#define T_OPS 20000
#define T_SEED 0x853c49e6748fea9bULL

typedef struct {
    job_table_t *jobs;
    sched_t *sched;
} fixture_t;

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->jobs = job_table_new();
    fx->sched = sched_new();
    *state = fx;
    return 0;
}

/* The scheduler first: it must not touch the jobs it still links. */
static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    sched_destroy(&fx->sched);
    job_table_destroy(&fx->jobs);
    free(fx);
    return 0;
}

static job_t *
s_job(fixture_t *fx, const char *fn)
{
    job_spec_t spec = {.fn = fn, .data = "", .size = 0, .max_attempts = 1};
    return job_table_submit(fx->jobs, &spec);
}

static job_t *
s_pushed(fixture_t *fx, const char *fn)
{
    job_t *job = s_job(fx, fn);
    sched_push(fx->sched, job);
    return job;
}

static job_t *
s_pop(fixture_t *fx, const char *fn)
{
    char *const fns[] = {(char *) fn};
    return sched_pop_any(fx->sched, fns, 1);
}

/* Pops FN's queue empty, checking the order and that popped jobs are
   unlinked. */
static void
s_expect_queue(fixture_t *fx, const char *fn, job_t *const *expected,
               size_t count)
{
    assert_int_equal(sched_queued(fx->sched, fn), count);
    for (size_t i = 0; i < count; i++) {
        job_t *job = s_pop(fx, fn);
        assert_ptr_equal(job, expected[i]);
        assert_null(job->queued.prev);
        assert_null(job->queued.next);
    }
    assert_null(s_pop(fx, fn));
    assert_int_equal(sched_queued(fx->sched, fn), 0);
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

static void
test_new_destroy(void **state)
{
    (void) state;
    sched_t *sched = sched_new();
    assert_non_null(sched);
    assert_int_equal(sched_total(sched), 0);
    assert_int_equal(sched_queued(sched, "f"), 0);
    sched_destroy(&sched);
    assert_null(sched);
    sched_destroy(&sched);
    sched_destroy(NULL);
}

static void
test_empty(void **state)
{
    fixture_t *fx = *state;
    assert_null(s_pop(fx, "f"));
    assert_null(sched_pop_any(fx->sched, NULL, 0));
    assert_int_equal(sched_total(fx->sched), 0);
    assert_int_equal(sched_queued(fx->sched, ""), 0);
}

static void
test_fifo_per_function(void **state)
{
    fixture_t *fx = *state;
    job_t *f[4], *g[3];
    /* interleaved pushes: each function keeps its own order */
    f[0] = s_pushed(fx, "f");
    g[0] = s_pushed(fx, "g");
    f[1] = s_pushed(fx, "f");
    f[2] = s_pushed(fx, "f");
    g[1] = s_pushed(fx, "g");
    f[3] = s_pushed(fx, "f");
    g[2] = s_pushed(fx, "g");
    assert_int_equal(sched_queued(fx->sched, "f"), 4);
    assert_int_equal(sched_queued(fx->sched, "g"), 3);
    assert_int_equal(sched_total(fx->sched), 7);
    s_expect_queue(fx, "g", g, 3);
    assert_int_equal(sched_total(fx->sched), 4);
    s_expect_queue(fx, "f", f, 4);
    assert_int_equal(sched_total(fx->sched), 0);
}

static void
test_push_front(void **state)
{
    fixture_t *fx = *state;
    job_t *a = s_pushed(fx, "f");
    job_t *b = s_pushed(fx, "f");
    /* a job that was running goes back first in line */
    job_t *c = s_job(fx, "f");
    sched_push_front(fx->sched, c);
    assert_int_equal(sched_queued(fx->sched, "f"), 3);
    assert_int_equal(sched_total(fx->sched), 3);
    job_t *const order[] = {c, a, b};
    s_expect_queue(fx, "f", order, 3);

    /* onto an empty queue, then pushes go behind it */
    sched_push_front(fx->sched, a);
    sched_push(fx->sched, b);
    sched_push_front(fx->sched, c);
    job_t *const again[] = {c, a, b};
    s_expect_queue(fx, "f", again, 3);
    assert_int_equal(sched_total(fx->sched), 0);
}

static void
test_lost_workers_jobs_keep_their_order(void **state)
{
    fixture_t *fx = *state;
    /* the server walks a lost worker's running list (newest first, as
       worker_table_attach links them) and pushes each to the front, so
       the oldest ends up first */
    job_t *old = s_job(fx, "f"), *mid = s_job(fx, "f"), *new = s_job(fx, "f");
    job_t *waiting = s_pushed(fx, "f");
    sched_push_front(fx->sched, new);
    sched_push_front(fx->sched, mid);
    sched_push_front(fx->sched, old);
    job_t *const order[] = {old, mid, new, waiting};
    s_expect_queue(fx, "f", order, 4);
}

static void
test_remove_positions(void **state)
{
    fixture_t *fx = *state;
    job_t *j[5];
    for (int i = 0; i < 5; i++)
        j[i] = s_pushed(fx, "f");
    job_t *other = s_pushed(fx, "g");

    sched_remove(fx->sched, j[2]); /* middle */
    assert_null(j[2]->queued.prev);
    assert_null(j[2]->queued.next);
    assert_int_equal(sched_queued(fx->sched, "f"), 4);
    assert_int_equal(sched_total(fx->sched), 5);

    sched_remove(fx->sched, j[0]); /* head */
    assert_null(j[0]->queued.prev);
    assert_null(j[0]->queued.next);
    assert_int_equal(sched_queued(fx->sched, "f"), 3);

    sched_remove(fx->sched, j[4]); /* tail */
    assert_null(j[4]->queued.prev);
    assert_null(j[4]->queued.next);
    assert_int_equal(sched_queued(fx->sched, "f"), 2);
    assert_int_equal(sched_total(fx->sched), 3);

    /* a push after removing the tail links behind the new tail */
    job_t *late = s_pushed(fx, "f");
    job_t *const order[] = {j[1], j[3], late};
    s_expect_queue(fx, "f", order, 3);
    assert_int_equal(sched_queued(fx->sched, "g"), 1);
    sched_remove(fx->sched, other); /* the only one */
    assert_int_equal(sched_queued(fx->sched, "g"), 0);
    assert_int_equal(sched_total(fx->sched), 0);
    assert_null(s_pop(fx, "g"));
}

static void
test_remove_then_push_front(void **state)
{
    fixture_t *fx = *state;
    job_t *a = s_pushed(fx, "f");
    job_t *b = s_pushed(fx, "f");
    sched_remove(fx->sched, a); /* head gone: b is head */
    job_t *c = s_job(fx, "f");
    sched_push_front(fx->sched, c);
    job_t *const order[] = {c, b};
    s_expect_queue(fx, "f", order, 2);
}

static void
test_pop_any_lowest_id_among_heads(void **state)
{
    fixture_t *fx = *state;
    job_t *j1 = s_pushed(fx, "f");
    job_t *j2 = s_pushed(fx, "g");
    job_t *j3 = s_pushed(fx, "h");
    job_t *j4 = s_pushed(fx, "g");
    job_t *j5 = s_pushed(fx, "f");
    char *const fns[] = {"h", "g", "f"}; /* order of FNS is no priority */
    job_t *const order[] = {j1, j2, j3, j4, j5};
    for (int i = 0; i < 5; i++) {
        job_t *job = sched_pop_any(fx->sched, fns, 3);
        assert_ptr_equal(job, order[i]);
        assert_int_equal(sched_total(fx->sched), 4 - i);
    }
    assert_null(sched_pop_any(fx->sched, fns, 3));
}

static void
test_pop_any_requeued_job_wins(void **state)
{
    fixture_t *fx = *state;
    job_t *j1 = s_pushed(fx, "f");
    job_t *j2 = s_pushed(fx, "g");
    job_t *j3 = s_pushed(fx, "f");
    char *const fns[] = {"f", "g"};
    assert_ptr_equal(sched_pop_any(fx->sched, fns, 2), j1);
    assert_ptr_equal(sched_pop_any(fx->sched, fns, 2), j2);
    /* j1's worker is lost: it goes back ahead of j3, and of anything in
       g submitted after it */
    job_t *j4 = s_pushed(fx, "g");
    sched_push_front(fx->sched, j1);
    job_t *const order[] = {j1, j3, j4};
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(sched_pop_any(fx->sched, fns, 2), order[i]);
    assert_null(sched_pop_any(fx->sched, fns, 2));
}

static void
test_pop_any_only_listed_functions(void **state)
{
    fixture_t *fx = *state;
    job_t *old = s_pushed(fx, "f");
    job_t *young = s_pushed(fx, "g");
    char *const only_g[] = {"g"};
    char *const none[] = {"h", "i"};
    char *const h_and_f[] = {"h", "f"};
    char *const twice[] = {"g", "g"};

    /* the older job in f does not count for a worker serving only g */
    assert_ptr_equal(sched_pop_any(fx->sched, only_g, 1), young);
    assert_null(sched_pop_any(fx->sched, only_g, 1));
    assert_null(sched_pop_any(fx->sched, twice, 2));
    /* no matching function: nothing taken */
    assert_null(sched_pop_any(fx->sched, none, 2));
    assert_null(sched_pop_any(fx->sched, NULL, 0));
    assert_int_equal(sched_total(fx->sched), 1);
    assert_int_equal(sched_queued(fx->sched, "f"), 1);
    /* an empty list of functions takes nothing either */
    assert_null(sched_pop_any(fx->sched, h_and_f, 0));
    assert_ptr_equal(sched_pop_any(fx->sched, h_and_f, 2), old);
    assert_int_equal(sched_total(fx->sched), 0);
}

static void
test_function_names_by_content(void **state)
{
    fixture_t *fx = *state;
    char name[] = "resize";
    job_t *a = s_pushed(fx, name); /* the job copies the name */
    char probe[] = "resize";
    assert_int_equal(sched_queued(fx->sched, probe), 1);
    assert_int_equal(sched_queued(fx->sched, "resiz"), 0);
    assert_int_equal(sched_queued(fx->sched, "resize2"), 0);
    char *const fns[] = {probe};
    assert_ptr_equal(sched_pop_any(fx->sched, fns, 1), a);
}

static void
test_emptied_queue_is_dropped_and_reused(void **state)
{
    fixture_t *fx = *state;
    for (int round = 0; round < 3; round++) {
        /* emptied by pop */
        job_t *a = s_pushed(fx, "f");
        job_t *b = s_pushed(fx, "f");
        assert_ptr_equal(s_pop(fx, "f"), a);
        assert_ptr_equal(s_pop(fx, "f"), b);
        assert_int_equal(sched_queued(fx->sched, "f"), 0);

        /* emptied by remove */
        job_t *c = s_pushed(fx, "f");
        sched_remove(fx->sched, c);
        assert_int_equal(sched_queued(fx->sched, "f"), 0);

        /* and used again, in order, from push and from push_front */
        sched_push(fx->sched, a);
        sched_push(fx->sched, b);
        sched_push_front(fx->sched, c);
        job_t *const order[] = {c, a, b};
        s_expect_queue(fx, "f", order, 3);
        sched_push_front(fx->sched, c);
        sched_push(fx->sched, a);
        job_t *const again[] = {c, a};
        s_expect_queue(fx, "f", again, 2);
    }
    assert_int_equal(sched_total(fx->sched), 0);
}

static void
test_destroy_with_queued_jobs(void **state)
{
    fixture_t *fx = *state;
    /* sched frees its queues, never the jobs: teardown destroys the job
       table afterwards and ASan sees neither a leak nor a double free */
    for (int i = 0; i < 10; i++)
        s_pushed(fx, i % 2 ? "f" : "g");
    assert_int_equal(sched_total(fx->sched), 10);
}

/* Reference: per function an array of job indexes in queue order. */
typedef struct {
    size_t items[T_JOBS];
    size_t count;
} ref_queue_t;

static void
s_ref_remove(ref_queue_t *q, size_t pos)
{
    memmove(&q->items[pos], &q->items[pos + 1],
            (q->count - pos - 1) * sizeof q->items[0]);
    q->count--;
}

static void
test_randomized_against_model(void **state)
{
    fixture_t *fx = *state;
    static const char *names[T_FNS] = {"a", "b", "c"};
    static job_t *jobs[T_JOBS];
    static int where[T_JOBS]; /* fn index, -1 if out */
    static ref_queue_t ref[T_FNS];
    memset(ref, 0, sizeof ref);
    for (size_t i = 0; i < T_JOBS; i++) {
        jobs[i] = s_job(fx, names[i % T_FNS]);
        where[i] = -1;
    }
    uint64_t rng = T_SEED;
    size_t total = 0, pops = 0;

    for (int op = 0; op < T_OPS; op++) {
        size_t i = xorshift_next(&rng) % T_JOBS;
        int fn = (int) (i % T_FNS);
        unsigned dice = (unsigned) (xorshift_next(&rng) % 10);
        ref_queue_t *q = &ref[fn];

        if (where[i] < 0 && dice < 4) { /* push */
            sched_push(fx->sched, jobs[i]);
            q->items[q->count++] = i;
            where[i] = fn;
            total++;
        }
        else if (where[i] < 0 && dice < 6) { /* push front */
            sched_push_front(fx->sched, jobs[i]);
            memmove(&q->items[1], &q->items[0], q->count * sizeof q->items[0]);
            q->items[0] = i;
            q->count++;
            where[i] = fn;
            total++;
        }
        else if (where[i] >= 0 && dice < 3) { /* remove (cancel) */
            sched_remove(fx->sched, jobs[i]);
            size_t pos = 0;
            while (q->items[pos] != i)
                pos++;
            s_ref_remove(q, pos);
            where[i] = -1;
            total--;
        }
        else { /* pop for a subset */
            unsigned mask = 1 + (unsigned) (xorshift_next(&rng) % 7);
            char *fns[T_FNS];
            size_t nfns = 0;
            int best = -1;
            for (int k = 0; k < T_FNS; k++) {
                if (!(mask & (1u << k)))
                    continue;
                fns[nfns++] = (char *) names[k];
                if (ref[k].count
                    && (best < 0
                        || jobs[ref[k].items[0]]->id
                               < jobs[ref[best].items[0]]->id))
                    best = k;
            }
            job_t *got = sched_pop_any(fx->sched, fns, nfns);
            if (best < 0)
                assert_null(got);
            else {
                size_t want = ref[best].items[0];
                assert_ptr_equal(got, jobs[want]);
                s_ref_remove(&ref[best], 0);
                where[want] = -1;
                total--;
                pops++;
            }
        }
        assert_int_equal(sched_total(fx->sched), total);
        for (int k = 0; k < T_FNS; k++)
            assert_int_equal(sched_queued(fx->sched, names[k]), ref[k].count);
    }
    assert_true(pops > 1000);
    /* drain each queue and compare its order */
    for (int k = 0; k < T_FNS; k++) {
        job_t *expected[T_JOBS];
        for (size_t n = 0; n < ref[k].count; n++)
            expected[n] = jobs[ref[k].items[n]];
        s_expect_queue(fx, names[k], expected, ref[k].count);
    }
    assert_int_equal(sched_total(fx->sched), 0);
}

/* A test run with a fresh fixture. */
#define T_FIXTURE(test) \
    cmocka_unit_test_setup_teardown(test, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_destroy),
        T_FIXTURE(test_empty),
        T_FIXTURE(test_fifo_per_function),
        T_FIXTURE(test_push_front),
        T_FIXTURE(test_lost_workers_jobs_keep_their_order),
        T_FIXTURE(test_remove_positions),
        T_FIXTURE(test_remove_then_push_front),
        T_FIXTURE(test_pop_any_lowest_id_among_heads),
        T_FIXTURE(test_pop_any_requeued_job_wins),
        T_FIXTURE(test_pop_any_only_listed_functions),
        T_FIXTURE(test_function_names_by_content),
        T_FIXTURE(test_emptied_queue_is_dropped_and_reused),
        T_FIXTURE(test_destroy_with_queued_jobs),
        T_FIXTURE(test_randomized_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
