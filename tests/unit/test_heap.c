/*  test_heap - heap.c, the daemon's one deadline structure: pop order by
    (at, arming order), re-arming, cancelling from every position, the
    loop's timeout, and a long randomized run against a reference model
    that finds the minimum by a plain array scan.

    The nodes are embedded in a test item, as jobs and workers embed them,
    so the tests also check that each node's index stays right: the
    daemon cancels through it.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "xorshift.h"

/* Randomized run: enough operations that the heap grows past its first
   allocation (64) many times over and every path of sift up/down runs. */
#define T_NODES 1000
#define T_OPS 100000
#define T_SEED 0x9e3779b97f4a7c15ULL

typedef struct {
    int id;
    heap_node_t node;
} item_t;

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static item_t *
s_item(heap_node_t *node)
{
    return node ? container_of(node, item_t, node) : NULL;
}

static void
s_init(item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        items[i].id = (int) i;
        heap_node_init(&items[i].node, 7);
    }
}

/* Every armed node's index is a distinct slot below heap_size(); every
   other node says HEAP_NONE. */
static void
s_check_indexes(heap_t *heap, item_t *items, size_t count)
{
    size_t size = heap_size(heap);
    unsigned char *seen = calloc(size ? size : 1, 1);
    assert_non_null(seen);
    size_t armed = 0;
    for (size_t i = 0; i < count; i++) {
        heap_node_t *node = &items[i].node;
        if (node->index == HEAP_NONE) {
            assert_false(heap_node_armed(node));
            continue;
        }
        assert_true(heap_node_armed(node));
        assert_true(node->index < size);
        assert_false(seen[node->index]);
        seen[node->index] = 1;
        armed++;
    }
    assert_int_equal(armed, size);
    free(seen);
}

/* Pops everything due at NOW, checking the ids come out as EXPECTED. */
static void
s_expect_pops(heap_t *heap, int64_t now, const int *expected, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        item_t *item = s_item(heap_pop_due(heap, now));
        assert_non_null(item);
        assert_int_equal(item->id, expected[i]);
        assert_false(heap_node_armed(&item->node));
        assert_true(item->node.index == HEAP_NONE);
    }
    assert_null(heap_pop_due(heap, now));
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

static void
test_new_destroy(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    assert_non_null(heap);
    heap_destroy(&heap);
    assert_null(heap);
    heap_destroy(&heap); /* NULL is fine */
    heap_destroy(NULL);
}

static void
test_node_init(void **state)
{
    (void) state;
    heap_node_t node;
    memset(&node, 0x5a, sizeof node);
    heap_node_init(&node, 3);
    assert_true(node.index == HEAP_NONE);
    assert_int_equal(node.kind, 3);
    assert_false(heap_node_armed(&node));
}

static void
test_empty(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    assert_null(heap_peek(heap));
    assert_int_equal(heap_timeout_ms(heap, 0), -1);
    assert_int_equal(heap_timeout_ms(heap, INT64_MAX), -1);
    assert_null(heap_pop_due(heap, INT64_MAX));
    assert_int_equal(heap_size(heap), 0);
    heap_destroy(&heap);
}

static void
test_pop_in_time_order(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[8];
    s_init(items, 8);
    const int64_t at[8] = {50, 10, 80, 30, 70, 20, 60, 40};
    for (int i = 0; i < 8; i++) {
        heap_arm(heap, &items[i].node, at[i]);
        assert_true(heap_node_armed(&items[i].node));
    }
    assert_int_equal(heap_size(heap), 8);
    assert_ptr_equal(heap_peek(heap), &items[1].node);
    s_check_indexes(heap, items, 8);
    const int order[8] = {1, 5, 3, 7, 0, 6, 4, 2};
    s_expect_pops(heap, 100, order, 8);
    assert_int_equal(heap_size(heap), 0);
    assert_int_equal(heap_timeout_ms(heap, 0), -1);
    heap_destroy(&heap);
}

static void
test_kind_is_kept(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    heap_node_t a, b;
    heap_node_init(&a, 1);
    heap_node_init(&b, 2);
    heap_arm(heap, &a, 5);
    heap_arm(heap, &b, 5);
    heap_arm(heap, &a, 9); /* re-arming keeps the kind */
    assert_int_equal(heap_pop_due(heap, 10)->kind, 2);
    assert_int_equal(heap_pop_due(heap, 10)->kind, 1);
    heap_destroy(&heap);
}

static void
test_equal_deadlines_fifo(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[100];
    s_init(items, 100);
    /* 100 nodes on one deadline: more than fill a heap's first level, so
       ties are broken by the sequence throughout the tree */
    int order[100];
    for (int i = 0; i < 100; i++) {
        heap_arm(heap, &items[i].node, 1000);
        order[i] = i;
    }
    s_expect_pops(heap, 1000, order, 100);

    /* mixed: ties keep arming order within each deadline */
    s_init(items, 6);
    heap_arm(heap, &items[0].node, 10);
    heap_arm(heap, &items[1].node, 5);
    heap_arm(heap, &items[2].node, 10);
    heap_arm(heap, &items[3].node, 5);
    heap_arm(heap, &items[4].node, 10);
    heap_arm(heap, &items[5].node, 5);
    const int mixed[6] = {1, 3, 5, 0, 2, 4};
    s_expect_pops(heap, 10, mixed, 6);
    heap_destroy(&heap);
}

static void
test_rearm_moves(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[4];
    s_init(items, 4);
    heap_arm(heap, &items[0].node, 10);
    heap_arm(heap, &items[1].node, 20);
    heap_arm(heap, &items[2].node, 30);
    heap_arm(heap, &items[3].node, 40);

    heap_arm(heap, &items[0].node, 35); /* root moves down */
    assert_int_equal(heap_size(heap), 4);
    assert_ptr_equal(heap_peek(heap), &items[1].node);
    assert_int_equal(items[0].node.at, 35);
    s_check_indexes(heap, items, 4);

    heap_arm(heap, &items[3].node, 1); /* a leaf moves to the top */
    assert_int_equal(heap_size(heap), 4);
    assert_ptr_equal(heap_peek(heap), &items[3].node);
    s_check_indexes(heap, items, 4);

    const int order[4] = {3, 1, 2, 0};
    s_expect_pops(heap, 100, order, 4);

    /* re-arming on the same deadline counts as arming anew: it goes
       behind the nodes already waiting for that time */
    heap_arm(heap, &items[0].node, 50);
    heap_arm(heap, &items[1].node, 50);
    heap_arm(heap, &items[2].node, 50);
    heap_arm(heap, &items[0].node, 50);
    const int again[3] = {1, 2, 0};
    s_expect_pops(heap, 50, again, 3);

    /* a popped node can be armed again */
    heap_arm(heap, &items[2].node, 60);
    assert_int_equal(heap_size(heap), 1);
    assert_ptr_equal(heap_pop_due(heap, 60), &items[2].node);
    heap_destroy(&heap);
}

/* Seven nodes at 10, 20, ... 70 armed in order: a complete heap of three
   levels, node i at index i. */
static heap_t *
s_seven(item_t *items)
{
    heap_t *heap = heap_new();
    s_init(items, 7);
    for (int i = 0; i < 7; i++)
        heap_arm(heap, &items[i].node, 10 * (i + 1));
    for (int i = 0; i < 7; i++)
        assert_int_equal(items[i].node.index, i);
    return heap;
}

static void
test_cancel_middle(void **state)
{
    (void) state;
    item_t items[7];
    heap_t *heap = s_seven(items);
    /* index 1 has children; the last node (70) moves in and sifts down */
    heap_cancel(heap, &items[1].node);
    assert_false(heap_node_armed(&items[1].node));
    assert_int_equal(heap_size(heap), 6);
    s_check_indexes(heap, items, 7);
    const int order[6] = {0, 2, 3, 4, 5, 6};
    s_expect_pops(heap, 100, order, 6);
    heap_destroy(&heap);

    /* the moved-in last node must sift up when it is smaller than the
       cancelled node's parent: cancel a leaf in the other subtree */
    heap = heap_new();
    item_t more[7];
    s_init(more, 7);
    const int64_t at[7] = {1, 100, 2, 101, 102, 3, 4};
    for (int i = 0; i < 7; i++)
        heap_arm(heap, &more[i].node, at[i]);
    heap_cancel(heap, &more[3].node); /* 4 (index 6) replaces it */
    s_check_indexes(heap, more, 7);
    assert_true(more[6].node.index < 3); /* moved up past 100 */
    const int order2[6] = {0, 2, 5, 6, 1, 4};
    s_expect_pops(heap, 1000, order2, 6);
    heap_destroy(&heap);
}

static void
test_cancel_last(void **state)
{
    (void) state;
    item_t items[7];
    heap_t *heap = s_seven(items);
    heap_cancel(heap, &items[6].node);
    assert_false(heap_node_armed(&items[6].node));
    assert_int_equal(heap_size(heap), 6);
    s_check_indexes(heap, items, 7);
    const int order[6] = {0, 1, 2, 3, 4, 5};
    s_expect_pops(heap, 100, order, 6);
    heap_destroy(&heap);
}

static void
test_cancel_root(void **state)
{
    (void) state;
    item_t items[7];
    heap_t *heap = s_seven(items);
    heap_cancel(heap, &items[0].node);
    assert_false(heap_node_armed(&items[0].node));
    assert_int_equal(heap_size(heap), 6);
    assert_ptr_equal(heap_peek(heap), &items[1].node);
    assert_int_equal(heap_timeout_ms(heap, 0), 20);
    s_check_indexes(heap, items, 7);
    const int order[6] = {1, 2, 3, 4, 5, 6};
    s_expect_pops(heap, 100, order, 6);
    heap_destroy(&heap);
}

static void
test_cancel_only_node(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t item;
    s_init(&item, 1);
    heap_arm(heap, &item.node, 5);
    heap_cancel(heap, &item.node);
    assert_int_equal(heap_size(heap), 0);
    assert_null(heap_peek(heap));
    assert_int_equal(heap_timeout_ms(heap, 0), -1);
    heap_destroy(&heap);
}

static void
test_cancel_unarmed_is_harmless(void **state)
{
    (void) state;
    item_t items[7];
    heap_t *heap = s_seven(items);
    item_t stray;
    s_init(&stray, 1);
    heap_cancel(heap, &stray.node); /* never armed */
    assert_false(heap_node_armed(&stray.node));
    assert_int_equal(heap_size(heap), 7);

    heap_cancel(heap, &items[3].node);
    heap_cancel(heap, &items[3].node); /* cancelled twice */
    assert_int_equal(heap_size(heap), 6);

    heap_node_t *popped = heap_pop_due(heap, 10);
    assert_ptr_equal(popped, &items[0].node);
    heap_cancel(heap, popped); /* popped, then cancelled */
    assert_int_equal(heap_size(heap), 5);
    s_check_indexes(heap, items, 7);

    const int order[5] = {1, 2, 4, 5, 6};
    s_expect_pops(heap, 100, order, 5);
    heap_cancel(heap, &items[6].node); /* empty heap */
    assert_int_equal(heap_size(heap), 0);
    heap_destroy(&heap);
}

static void
test_timeout_ms(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[2];
    s_init(items, 2);
    heap_arm(heap, &items[0].node, 1000);
    assert_int_equal(heap_timeout_ms(heap, 400), 600);
    assert_int_equal(heap_timeout_ms(heap, 999), 1);
    assert_int_equal(heap_timeout_ms(heap, 1000), 0); /* due */
    assert_int_equal(heap_timeout_ms(heap, 5000), 0); /* overdue: not < 0 */
    heap_arm(heap, &items[1].node, 700);
    assert_int_equal(heap_timeout_ms(heap, 400), 300); /* the earliest */
    heap_cancel(heap, &items[1].node);
    assert_int_equal(heap_timeout_ms(heap, 400), 600);
    /* timing only looks: nothing is taken out */
    assert_int_equal(heap_size(heap), 1);
    assert_true(heap_node_armed(&items[0].node));
    heap_destroy(&heap);
}

static void
test_pop_due_not_due(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[3];
    s_init(items, 3);
    heap_arm(heap, &items[0].node, 100);
    heap_arm(heap, &items[1].node, 200);
    heap_arm(heap, &items[2].node, 300);

    assert_null(heap_pop_due(heap, 99));
    assert_int_equal(heap_size(heap), 3);
    assert_true(heap_node_armed(&items[0].node));
    assert_ptr_equal(heap_peek(heap), &items[0].node);

    /* due at exactly its time; only what is due comes out */
    assert_ptr_equal(heap_pop_due(heap, 100), &items[0].node);
    assert_null(heap_pop_due(heap, 100));
    assert_ptr_equal(heap_pop_due(heap, 250), &items[1].node);
    assert_null(heap_pop_due(heap, 250));
    assert_int_equal(heap_size(heap), 1);
    assert_int_equal(heap_timeout_ms(heap, 250), 50);
    heap_destroy(&heap);
}

static void
test_negative_and_extreme_times(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t items[3];
    s_init(items, 3);
    heap_arm(heap, &items[0].node, INT64_MAX);
    heap_arm(heap, &items[1].node, -5);
    heap_arm(heap, &items[2].node, 0);
    assert_int_equal(heap_timeout_ms(heap, -10), 5);
    const int order[2] = {1, 2};
    s_expect_pops(heap, 0, order, 2);
    assert_int_equal(heap_timeout_ms(heap, 0), INT64_MAX);
    assert_ptr_equal(heap_pop_due(heap, INT64_MAX), &items[0].node);
    heap_destroy(&heap);
}

/* The model: for each node whether it is armed, its deadline and its own
   arming sequence. The minimum is found by scanning, by (at, seq). */
typedef struct {
    int armed;
    int64_t at;
    uint64_t seq;
} model_t;

static int
s_model_min(const model_t *model, size_t count)
{
    int best = -1;
    for (size_t i = 0; i < count; i++) {
        if (!model[i].armed)
            continue;
        if (best < 0 || model[i].at < model[best].at
            || (model[i].at == model[best].at
                && model[i].seq < model[best].seq))
            best = (int) i;
    }
    return best;
}

static void
test_randomized_against_model(void **state)
{
    (void) state;
    heap_t *heap = heap_new();
    item_t *items = calloc(T_NODES, sizeof *items);
    model_t *model = calloc(T_NODES, sizeof *model);
    assert_non_null(items);
    assert_non_null(model);
    s_init(items, T_NODES);
    uint64_t rng = T_SEED, seq = 0;
    size_t armed = 0, pops = 0, empty_pops = 0;

    for (int op = 0; op < T_OPS; op++) {
        size_t pick = xorshift_next(&rng) % T_NODES;
        item_t *item = &items[pick];
        /* deadlines from a narrow range so that ties are common */
        int64_t now = (int64_t) (xorshift_next(&rng) % 1000);
        unsigned dice = (unsigned) (xorshift_next(&rng) % 100);

        if (dice < 45) { /* arm or re-arm */
            int64_t at = (int64_t) (xorshift_next(&rng) % 1000);
            if (!model[pick].armed)
                armed++;
            heap_arm(heap, &item->node, at);
            model[pick] = (model_t){1, at, seq++};
        }
        else if (dice < 60) { /* cancel, armed or not */
            if (model[pick].armed)
                armed--;
            heap_cancel(heap, &item->node);
            model[pick].armed = 0;
        }
        else { /* pop what is due */
            int min = s_model_min(model, T_NODES);
            int due = min >= 0 && model[min].at <= now;
            item_t *got = s_item(heap_pop_due(heap, now));
            if (!due) {
                assert_null(got);
                empty_pops++;
            }
            else {
                assert_non_null(got);
                if (got->id != min)
                    fail_msg("op %d: popped %d (at %lld), model says %d "
                             "(at %lld)",
                             op, got->id, (long long) got->node.at, min,
                             (long long) model[min].at);
                model[min].armed = 0;
                armed--;
                pops++;
            }
        }
        assert_int_equal(heap_size(heap), armed);
        int min = s_model_min(model, T_NODES);
        if (min < 0) {
            assert_null(heap_peek(heap));
            assert_int_equal(heap_timeout_ms(heap, now), -1);
        }
        else {
            assert_ptr_equal(heap_peek(heap), &items[min].node);
            int64_t left = model[min].at > now ? model[min].at - now : 0;
            assert_int_equal(heap_timeout_ms(heap, now), left);
        }
        if (op % 4096 == 0)
            s_check_indexes(heap, items, T_NODES);
    }
    s_check_indexes(heap, items, T_NODES);
    for (size_t i = 0; i < T_NODES; i++)
        assert_int_equal(heap_node_armed(&items[i].node), model[i].armed);
    /* both paths of pop were exercised */
    assert_true(pops > 1000);
    assert_true(empty_pops > 100);

    /* drain: the rest comes out in model order */
    for (;;) {
        int min = s_model_min(model, T_NODES);
        item_t *got = s_item(heap_pop_due(heap, INT64_MAX));
        if (min < 0) {
            assert_null(got);
            break;
        }
        assert_non_null(got);
        assert_int_equal(got->id, min);
        model[min].armed = 0;
    }
    assert_int_equal(heap_size(heap), 0);
    for (size_t i = 0; i < T_NODES; i++)
        assert_true(items[i].node.index == HEAP_NONE);
    heap_destroy(&heap);
    free(model);
    free(items);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_destroy),
        cmocka_unit_test(test_node_init),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_pop_in_time_order),
        cmocka_unit_test(test_kind_is_kept),
        cmocka_unit_test(test_equal_deadlines_fifo),
        cmocka_unit_test(test_rearm_moves),
        cmocka_unit_test(test_cancel_middle),
        cmocka_unit_test(test_cancel_last),
        cmocka_unit_test(test_cancel_root),
        cmocka_unit_test(test_cancel_only_node),
        cmocka_unit_test(test_cancel_unarmed_is_harmless),
        cmocka_unit_test(test_timeout_ms),
        cmocka_unit_test(test_pop_due_not_due),
        cmocka_unit_test(test_negative_and_extreme_times),
        cmocka_unit_test(test_randomized_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
