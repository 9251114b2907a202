/*  test_wg - wg.c, the waitgroup table on its own: a name never used
    reads zero, add and done, a refused negative add changes nothing, the
    overflow guard, and the progress of a round (added and done since the
    counter was last zero, succeeded and failed through wg_job_done).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"
#include "goro_defs.h"

static int
s_setup(void **state)
{
    wg_table_t *table = wg_table_new();
    if (!table)
        return -1;
    *state = table;
    return 0;
}

static int
s_teardown(void **state)
{
    wg_table_t *table = *state;
    wg_table_destroy(&table);
    return 0;
}

/* NAME's numbers, all zero for a name never used. */
static goro_wg_info_t
s_info(wg_table_t *table, const char *name)
{
    wg_t *wg = wg_table_lookup(table, name);
    goro_wg_info_t zero = {0, 0, 0, 0, 0};
    return wg ? wg->info : zero;
}

static void
s_expect(wg_table_t *table, const char *name, int64_t counter, int64_t added,
         int64_t done, int64_t succeeded, int64_t failed)
{
    goro_wg_info_t info = s_info(table, name);
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

static void
test_never_used_reads_zero(void **state)
{
    wg_table_t *table = *state;
    assert_null(wg_table_lookup(table, "never"));
    assert_int_equal(wg_table_size(table), 0);
    /* get makes it (for a waiter to park on) at zero */
    wg_t *wg = wg_table_get(table, "never");
    assert_non_null(wg);
    assert_string_equal(wg->name, "never");
    assert_int_equal(wg->waiters.count, 0);
    s_expect(table, "never", 0, 0, 0, 0, 0);
    assert_ptr_equal(wg_table_get(table, "never"), wg);
    assert_ptr_equal(wg_table_lookup(table, "never"), wg);
    assert_int_equal(wg_table_size(table), 1);
}

static void
test_add_and_done(void **state)
{
    wg_table_t *table = *state;
    wg_t *wg = NULL;
    assert_int_equal(wg_add(table, "g", 3, &wg), GORO_OK);
    assert_non_null(wg);
    assert_ptr_equal(wg, wg_table_lookup(table, "g"));
    s_expect(table, "g", 3, 3, 0, 0, 0);
    assert_int_equal(wg_add(table, "g", -1, NULL), GORO_OK);
    s_expect(table, "g", 2, 3, 1, 0, 0);
    assert_int_equal(wg_add(table, "g", 2, NULL), GORO_OK);
    s_expect(table, "g", 4, 5, 1, 0, 0);
    assert_int_equal(wg_add(table, "g", -3, &wg), GORO_OK);
    s_expect(table, "g", 1, 5, 4, 0, 0);
    assert_int_equal(wg_add(table, "g", -1, &wg), GORO_OK);
    assert_int_equal(wg->info.counter, 0); /* the caller releases now */
    s_expect(table, "g", 0, 5, 5, 0, 0);
    /* other names are apart */
    assert_int_equal(wg_add(table, "h", 1, NULL), GORO_OK);
    s_expect(table, "g", 0, 5, 5, 0, 0);
    s_expect(table, "h", 1, 1, 0, 0, 0);
    assert_int_equal(wg_table_size(table), 2);
}

/* A refused add changes nothing, and does not make a group. */
static void
test_negative_refused_unchanged(void **state)
{
    wg_table_t *table = *state;
    const struct {
        int64_t start;
        int64_t delta;
        int rc;
        int64_t counter;
    } cases[] = {
        {0, -1, GORO_ENEGATIVE, 0},
        {0, -5, GORO_ENEGATIVE, 0},
        {2, -3, GORO_ENEGATIVE, 2},
        {2, INT64_MIN + 1, GORO_ENEGATIVE, 2},
        {2, -2, GORO_OK, 0},
        {1, -1, GORO_OK, 0},
        {INT64_MAX, 1, GORO_EINVAL, INT64_MAX}, /* would overflow */
        {INT64_MAX - 1, 1, GORO_OK, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%zu", i);
        if (cases[i].start)
            assert_int_equal(wg_add(table, name, cases[i].start, NULL),
                             GORO_OK);
        goro_wg_info_t before = s_info(table, name);
        size_t groups = wg_table_size(table);
        wg_t *wg = (wg_t *) 1;
        int rc = wg_add(table, name, cases[i].delta, &wg);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %lld%+lld gave %d, expected %d", i,
                     (long long) cases[i].start, (long long) cases[i].delta,
                     rc, cases[i].rc);
        goro_wg_info_t after = s_info(table, name);
        assert_int_equal(after.counter, cases[i].counter);
        if (rc) {
            assert_memory_equal(&before, &after, sizeof before);
            assert_int_equal(wg_table_size(table), groups);
        }
    }
    assert_null(wg_table_lookup(table, "n0")); /* never made */
    assert_null(wg_table_lookup(table, "n1"));

    /* a refused job Done counts nothing either */
    wg_t *wg = NULL;
    assert_int_equal(wg_job_done(table, "none", 1, &wg), GORO_ENEGATIVE);
    assert_null(wg_table_lookup(table, "none"));
    assert_int_equal(wg_add(table, "j", 1, NULL), GORO_OK);
    assert_int_equal(wg_job_done(table, "j", 1, NULL), GORO_OK);
    assert_int_equal(wg_job_done(table, "j", 0, NULL), GORO_ENEGATIVE);
    s_expect(table, "j", 0, 1, 1, 1, 0);
}

/* The most negative delta is refused like any other that would take the
   counter below zero (its negation does not fit in an int64_t). */
static void
test_add_int64_min_refused(void **state)
{
    wg_table_t *table = *state;
    assert_int_equal(wg_add(table, "m", 5, NULL), GORO_OK);
    assert_int_equal(wg_add(table, "m", INT64_MIN, NULL), GORO_ENEGATIVE);
    s_expect(table, "m", 5, 5, 0, 0, 0);
    assert_int_equal(wg_add(table, "never", INT64_MIN, NULL), GORO_ENEGATIVE);
    assert_null(wg_table_lookup(table, "never"));
}

/* Adding zero is Go's no-op Add(0): no new round, nothing counted. */
static void
test_add_zero(void **state)
{
    wg_table_t *table = *state;
    assert_int_equal(wg_add(table, "z", 2, NULL), GORO_OK);
    assert_int_equal(wg_job_done(table, "z", 1, NULL), GORO_OK);
    assert_int_equal(wg_job_done(table, "z", 0, NULL), GORO_OK);
    s_expect(table, "z", 0, 2, 2, 1, 1);
    assert_int_equal(wg_add(table, "z", 0, NULL), GORO_OK);
    s_expect(table, "z", 0, 2, 2, 1, 1);
    assert_int_equal(wg_add(table, "z", 1, NULL), GORO_OK);
    assert_int_equal(wg_add(table, "z", 0, NULL), GORO_OK);
    s_expect(table, "z", 1, 1, 0, 0, 0);
}

/* Progress describes the round in flight, or the last one once it is
   done; a new round starts when an add lifts the counter from zero. */
static void
test_progress_rounds(void **state)
{
    wg_table_t *table = *state;
    /* round 1: three jobs, one fails, plus a manual add/done */
    assert_int_equal(wg_add(table, "p", 3, NULL), GORO_OK);
    assert_int_equal(wg_job_done(table, "p", 1, NULL), GORO_OK);
    s_expect(table, "p", 2, 3, 1, 1, 0);
    assert_int_equal(wg_add(table, "p", 1, NULL), GORO_OK); /* not zero:
                                                               same round */
    s_expect(table, "p", 3, 4, 1, 1, 0);
    assert_int_equal(wg_job_done(table, "p", 0, NULL), GORO_OK);
    assert_int_equal(wg_add(table, "p", -1, NULL), GORO_OK); /* plain done */
    s_expect(table, "p", 1, 4, 3, 1, 1);
    wg_t *wg = NULL;
    assert_int_equal(wg_job_done(table, "p", 1, &wg), GORO_OK);
    assert_non_null(wg);
    assert_int_equal(wg->info.counter, 0);
    /* at zero the last round's numbers stay readable */
    s_expect(table, "p", 0, 4, 4, 2, 1);

    /* round 2 starts from zero: everything starts over */
    assert_int_equal(wg_add(table, "p", 2, NULL), GORO_OK);
    s_expect(table, "p", 2, 2, 0, 0, 0);
    assert_int_equal(wg_job_done(table, "p", 0, NULL), GORO_OK);
    s_expect(table, "p", 1, 2, 1, 0, 1);
    assert_int_equal(wg_job_done(table, "p", 0, NULL), GORO_OK);
    s_expect(table, "p", 0, 2, 2, 0, 2);

    /* round 3, and the parked waiters list is untouched by it all */
    assert_int_equal(wg_add(table, "p", 1, &wg), GORO_OK);
    s_expect(table, "p", 1, 1, 0, 0, 0);
    assert_int_equal(wg->waiters.count, 0);
}

static void
s_count(wg_t *wg, void *arg)
{
    int *seen = arg;
    if (strcmp(wg->name, "a") == 0)
        seen[0]++;
    else if (strcmp(wg->name, "b") == 0)
        seen[1]++;
    else
        seen[2]++;
}

static void
test_each(void **state)
{
    wg_table_t *table = *state;
    assert_int_equal(wg_add(table, "a", 1, NULL), GORO_OK);
    assert_int_equal(wg_add(table, "b", 1, NULL), GORO_OK);
    assert_int_equal(wg_add(table, "b", -1, NULL), GORO_OK);
    int seen[3] = {0, 0, 0};
    wg_table_each(table, s_count, seen);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 0);
}

#define T_FIXTURE(test) \
    cmocka_unit_test_setup_teardown(test, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T_FIXTURE(test_never_used_reads_zero),
        T_FIXTURE(test_add_and_done),
        T_FIXTURE(test_negative_refused_unchanged),
        T_FIXTURE(test_add_int64_min_refused),
        T_FIXTURE(test_add_zero),
        T_FIXTURE(test_progress_rounds),
        T_FIXTURE(test_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
