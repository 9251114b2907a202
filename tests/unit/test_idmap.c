/*  test_idmap - idmap.c, the id -> item map of the job table: lookups
    of present and absent ids (0 never stored), deletion in the middle of
    a probe run and of a run that wraps past the end of the array
    (backward shift: no entry after the hole may get lost), growth past
    3/4 full with every item still found, iteration that visits each item
    once, and a long random walk against a reference model.

    Collisions are made on purpose: the test picks ids whose home slot
    (the murmur3 finaliser, as idmap.c computes it) is the same, or is
    the array's last slot, so that the runs these tests delete from exist
    whatever the hash spreads.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>

#include "idmap.h"
#include "util.h"
#include "xorshift.h"

/* idmap.c's first array, so that T_SLOTS - 1 is the last slot's home. */
#define T_SLOTS 1024
/* Random walk: ids from a range small enough that inserts and deletes
   hit the same ids often, and enough of them to grow the map twice. */
#define T_RANGE 4000
#define T_OPS 200000
#define T_SEED 0x2545f4914f6cdd1dULL

typedef struct {
    uint64_t id;
} item_t;

static uint64_t
s_id_of(const void *item)
{
    return ((const item_t *) item)->id;
}

/* The home slot of ID in a map of T_SLOTS slots. */
static size_t
s_home(uint64_t id)
{
    return util_u64_hash(&id) & (T_SLOTS - 1);
}

/* COUNT ids from 1 up whose home slot is HOME, into IDS. */
static void
s_ids_at(size_t home, uint64_t *ids, size_t count)
{
    size_t found = 0;
    for (uint64_t id = 1; found < count; id++)
        if (s_home(id) == home)
            ids[found++] = id;
}

static void
test_insert_lookup_delete(void **state)
{
    (void) state;
    idmap_t *map = idmap_new(s_id_of);
    item_t a = {7}, b = {8}, c = {UINT64_MAX};
    assert_int_equal(idmap_size(map), 0);
    assert_null(idmap_lookup(map, 7));
    idmap_insert(map, &a);
    idmap_insert(map, &b);
    idmap_insert(map, &c);
    assert_int_equal(idmap_size(map), 3);
    assert_ptr_equal(idmap_lookup(map, 7), &a);
    assert_ptr_equal(idmap_lookup(map, 8), &b);
    assert_ptr_equal(idmap_lookup(map, UINT64_MAX), &c);
    assert_null(idmap_lookup(map, 9));
    assert_null(idmap_lookup(map, 0)); /* never stored */
    idmap_delete(map, 8);
    assert_null(idmap_lookup(map, 8));
    assert_int_equal(idmap_size(map), 2);
    /* absent ids and 0: harmless */
    idmap_delete(map, 8);
    idmap_delete(map, 12345);
    idmap_delete(map, 0);
    assert_int_equal(idmap_size(map), 2);
    assert_ptr_equal(idmap_lookup(map, 7), &a);
    assert_ptr_equal(idmap_lookup(map, UINT64_MAX), &c);
    /* the items stay the caller's */
    idmap_destroy(&map);
    assert_null(map);
    idmap_destroy(&map);
    idmap_destroy(NULL);
    assert_int_equal(a.id, 7);
}

/* Deleting each member of one run, in every position, leaves the rest
   of the run (and an id homed right after it) findable. */
static void
test_delete_inside_a_run(void **state)
{
    (void) state;
    enum { RUN = 5 };
    uint64_t ids[RUN];
    s_ids_at(100, ids, RUN);
    uint64_t next[1];
    s_ids_at(101, next, 1); /* pushed past the run by it */
    for (size_t gone = 0; gone < RUN; gone++) {
        idmap_t *map = idmap_new(s_id_of);
        item_t items[RUN + 1];
        for (size_t i = 0; i < RUN; i++) {
            items[i].id = ids[i];
            idmap_insert(map, &items[i]);
        }
        items[RUN].id = next[0];
        idmap_insert(map, &items[RUN]);
        idmap_delete(map, ids[gone]);
        assert_int_equal(idmap_size(map), RUN);
        for (size_t i = 0; i <= RUN; i++) {
            item_t *want = i == gone ? NULL : &items[i];
            if (idmap_lookup(map, items[i].id) != want)
                fail_msg("deleting member %zu of the run lost member %zu",
                         gone, i);
        }
        idmap_destroy(&map);
    }
}

/* A run that starts at the last slot continues at slot 0: deletion
   shifts entries back across the wrap, and not an entry that belongs
   where it is (one homed at slot 0). */
static void
test_delete_in_a_wrapping_run(void **state)
{
    (void) state;
    enum { RUN = 4 };
    uint64_t last[RUN], first[2];
    s_ids_at(T_SLOTS - 1, last, RUN);
    s_ids_at(0, first, 2);
    for (size_t gone = 0; gone < RUN + 2; gone++) {
        idmap_t *map = idmap_new(s_id_of);
        item_t items[RUN + 2];
        for (size_t i = 0; i < RUN + 2; i++) {
            items[i].id = i < RUN ? last[i] : first[i - RUN];
            idmap_insert(map, &items[i]);
        }
        idmap_delete(map, items[gone].id);
        assert_int_equal(idmap_size(map), RUN + 1);
        for (size_t i = 0; i < RUN + 2; i++) {
            item_t *want = i == gone ? NULL : &items[i];
            if (idmap_lookup(map, items[i].id) != want)
                fail_msg("deleting item %zu of the wrapping run lost item "
                         "%zu",
                         gone, i);
        }
        idmap_destroy(&map);
    }
}

/* Sequential ids well past the first array's 3/4: all found after the
   growths, and iteration visits each exactly once. */
static void
test_grow_and_iterate(void **state)
{
    (void) state;
    enum { COUNT = 5 * T_SLOTS };
    item_t *items = calloc(COUNT, sizeof *items);
    unsigned char *seen = calloc(COUNT, 1);
    assert_non_null(items);
    assert_non_null(seen);
    idmap_t *map = idmap_new(s_id_of);
    for (size_t i = 0; i < COUNT; i++) {
        items[i].id = i + 1;
        idmap_insert(map, &items[i]);
    }
    assert_int_equal(idmap_size(map), COUNT);
    for (size_t i = 0; i < COUNT; i++)
        assert_ptr_equal(idmap_lookup(map, i + 1), &items[i]);
    assert_null(idmap_lookup(map, COUNT + 1));
    size_t cursor = 0, visited = 0;
    item_t *item;
    while ((item = idmap_next(map, &cursor))) {
        size_t i = (size_t) (item - items);
        assert_true(i < COUNT);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        visited++;
    }
    assert_int_equal(visited, COUNT);
    assert_null(idmap_next(map, &cursor)); /* done stays done */
    /* an empty map iterates to nothing */
    idmap_t *empty = idmap_new(s_id_of);
    cursor = 0;
    assert_null(idmap_next(empty, &cursor));
    idmap_destroy(&empty);
    idmap_destroy(&map);
    free(seen);
    free(items);
}

/* Random inserts, deletes and lookups against an array indexed by id. */
static void
test_random_walk_against_model(void **state)
{
    (void) state;
    item_t *items = calloc(T_RANGE + 1, sizeof *items);
    unsigned char *in = calloc(T_RANGE + 1, 1);
    assert_non_null(items);
    assert_non_null(in);
    for (size_t i = 0; i <= T_RANGE; i++)
        items[i].id = i;
    idmap_t *map = idmap_new(s_id_of);
    size_t size = 0;
    uint64_t rng = T_SEED;
    for (size_t op = 0; op < T_OPS; op++) {
        uint64_t r = xorshift_next(&rng);
        uint64_t id = 1 + (r >> 8) % T_RANGE;
        /* Inserts outnumber deletes early on, so the map fills up and
           grows; then they balance. */
        bool insert = (r & 0xff) < (op < T_OPS / 4 ? 200 : 128);
        if (insert && !in[id]) {
            idmap_insert(map, &items[id]);
            in[id] = 1;
            size++;
        }
        else if (!insert) {
            idmap_delete(map, id);
            size -= in[id];
            in[id] = 0;
        }
        uint64_t probe = 1 + (xorshift_next(&rng) >> 8) % T_RANGE;
        if (idmap_lookup(map, probe) != (in[probe] ? &items[probe] : NULL))
            fail_msg("op %zu: lookup of %llu disagrees with the model", op,
                     (unsigned long long) probe);
        assert_int_equal(idmap_size(map), size);
    }
    for (uint64_t id = 1; id <= T_RANGE; id++)
        if (idmap_lookup(map, id) != (in[id] ? &items[id] : NULL))
            fail_msg("end: lookup of %llu disagrees with the model",
                     (unsigned long long) id);
    idmap_destroy(&map);
    free(in);
    free(items);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup_delete),
        cmocka_unit_test(test_delete_inside_a_run),
        cmocka_unit_test(test_delete_in_a_wrapping_run),
        cmocka_unit_test(test_grow_and_iterate),
        cmocka_unit_test(test_random_walk_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
