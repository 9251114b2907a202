/*  test_list - list.h: FIFO order, both ends, removal from anywhere, an
    item in two lists at once, and the counts and links left behind.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "list.h"

#include <stdio.h>

typedef struct {
    int value;
    list_node_t in_a;
    list_node_t in_b;
} item_t;

/* LIST's values in order, as "1,2,3", checked against its count. */
static void
s_expect(const list_t *list, const char *expected)
{
    char got[64] = "";
    size_t n = 0, used = 0;
    for (const list_node_t *node = list->head; node; node = node->next) {
        const item_t *item = LIST_ITEM(node, item_t, in_a);
        used += (size_t) snprintf(got + used, sizeof got - used, "%s%d",
                                  n++ ? "," : "", item->value);
    }
    assert_string_equal(got, expected);
    assert_int_equal(n, list->count);
    if (list->tail)
        assert_null(list->tail->next);
    else
        assert_null(list->head);
}

static void
test_fifo_both_ends(void **state)
{
    (void) state;
    item_t items[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    list_t list = {0};
    s_expect(&list, "");
    list_push_back(&list, &items[1].in_a);
    list_push_back(&list, &items[2].in_a);
    list_push_front(&list, &items[0].in_a);
    list_push_back(&list, &items[3].in_a);
    s_expect(&list, "1,2,3,4");
    assert_ptr_equal(LIST_ITEM(list_pop_front(&list), item_t, in_a),
                     &items[0]);
    s_expect(&list, "2,3,4");
    assert_false(list_contains(&list, &items[0].in_a));
}

static void
test_remove_anywhere(void **state)
{
    (void) state;
    item_t items[3] = {{.value = 1}, {.value = 2}, {.value = 3}};
    list_t list = {0};
    for (int i = 0; i < 3; i++)
        list_push_back(&list, &items[i].in_a);
    list_remove(&list, &items[1].in_a); /* middle */
    s_expect(&list, "1,3");
    list_remove(&list, &items[2].in_a); /* tail */
    s_expect(&list, "1");
    list_remove(&list, &items[0].in_a); /* the only one */
    s_expect(&list, "");
    assert_null(list_pop_front(&list));
    for (int i = 0; i < 3; i++)
        assert_false(list_contains(&list, &items[i].in_a));
    list_push_back(&list, &items[1].in_a); /* and back in */
    s_expect(&list, "2");
}

static void
test_two_lists_at_once(void **state)
{
    (void) state;
    item_t items[2] = {{.value = 1}, {.value = 2}};
    list_t a = {0}, b = {0};
    list_push_back(&a, &items[0].in_a);
    list_push_back(&a, &items[1].in_a);
    list_push_back(&b, &items[1].in_b);
    list_push_back(&b, &items[0].in_b);
    list_remove(&a, &items[0].in_a);
    s_expect(&a, "2");
    assert_int_equal(b.count, 2);
    assert_ptr_equal(LIST_ITEM(b.head, item_t, in_b), &items[1]);
    assert_ptr_equal(LIST_ITEM(b.tail, item_t, in_b), &items[0]);
    assert_true(list_contains(&b, &items[0].in_b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_both_ends),
        cmocka_unit_test(test_remove_anywhere),
        cmocka_unit_test(test_two_lists_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
