/*  test_park - park.c and the client liveness it relies on (client.c),
    without a server: a park is linked into its client, its target's
    waiters and the deadline heap, and removing it leaves no trace in any
    of them; a client is tracked exactly while it holds a park or a
    delivery (or is pinned); our own parks have no client; a client is
    silent only after the liveness period without a sign of life.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "heap.h"
#include "list.h"
#include "park.h"
#include "util.h"
#include "goro_defs.h"

#include <stdlib.h>
#include <string.h>

#define T_PARK 7 /* heap kinds, as the server's DL_* */
#define T_CLIENT 8
#define T_LIVENESS_MS 3000

typedef struct {
    heap_t *heap;
    client_table_t *clients;
    park_table_t *parks;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fx = util_zalloc(sizeof *fx);
    fx->heap = heap_new();
    fx->clients = client_table_new(fx->heap, T_CLIENT, T_LIVENESS_MS);
    fx->parks = park_table_new(fx->heap, fx->clients, T_PARK);
    *state = fx;
    return 0;
}

/* The destroys assert that nothing is left parked or tracked. */
static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    park_table_destroy(&fx->parks);
    client_table_destroy(&fx->clients);
    assert_int_equal(heap_size(fx->heap), 0);
    heap_destroy(&fx->heap);
    free(fx);
    return 0;
}

static goro_rid_t
s_rid(uint8_t tag)
{
    goro_rid_t rid;
    memset(&rid, 0, sizeof rid);
    rid.size = 5;
    rid.data[0] = tag;
    return rid;
}

/* Parks request REQID of CMD from client TAG (ours if CMD is 0). */
static park_t *
s_add(fixture_t *fx, uint8_t tag, uint64_t reqid, int cmd, int64_t timeout_ms)
{
    goro_rid_t rid = s_rid(tag);
    park_t *p = park_new(cmd ? &rid : NULL, reqid, cmd);
    park_table_add(fx->parks, p, timeout_ms);
    return p;
}

static void
test_client_tracked_while_parked(void **state)
{
    fixture_t *fx = *state;
    park_t *a = s_add(fx, 1, 10, GORO_MSG_WAIT, -1);
    park_t *b = s_add(fx, 1, 11, GORO_MSG_WG_WAIT, 0);
    park_t *other = s_add(fx, 2, 12, GORO_MSG_CHAN_RECV, -1);
    assert_int_equal(park_table_size(fx->parks), 3);
    assert_int_equal(client_table_size(fx->clients), 2);
    goro_rid_t rid = s_rid(1);
    client_t *c = client_table_lookup(fx->clients, &rid);
    assert_non_null(c);
    assert_ptr_equal(a->client, c);
    assert_ptr_equal(b->client, c);
    assert_int_equal(c->parks.count, 2);
    assert_ptr_equal(park_table_first(fx->parks, c), a);
    assert_true(heap_node_armed(&c->expiry));    /* its silence check */
    assert_false(heap_node_armed(&a->deadline)); /* waits forever */

    /* one of two gone: the client stays, with the other */
    park_table_remove(fx->parks, &a);
    assert_null(a);
    assert_ptr_equal(park_table_first(fx->parks, c), b);
    assert_int_equal(client_table_size(fx->clients), 2);
    /* its last gone: the client is forgotten, its check cancelled */
    park_table_remove(fx->parks, &b);
    assert_null(client_table_lookup(fx->clients, &rid));
    assert_int_equal(client_table_size(fx->clients), 1);
    park_table_remove(fx->parks, &other);
    assert_int_equal(client_table_size(fx->clients), 0);
    assert_int_equal(park_table_size(fx->parks), 0);
}

/* Deliveries hold a client as parks do, and a pinned client (being
   withdrawn) is kept until unpinned and released. */
static void
test_client_held_by_deliveries_and_pin(void **state)
{
    fixture_t *fx = *state;
    goro_rid_t rid = s_rid(3);
    client_t *c = client_table_hold(fx->clients, &rid, util_now());
    list_node_t delivery = {0};
    list_push_back(&c->deliveries, &delivery);
    client_t *ref = c;
    client_table_release(fx->clients, &ref);
    assert_ptr_equal(ref, c); /* still holds a value */
    list_remove(&c->deliveries, &delivery);
    c->pinned = true;
    park_t *p = s_add(fx, 3, 1, GORO_MSG_CHAN_SEND, -1);
    park_table_remove(fx->parks, &p); /* its last park ... */
    assert_ptr_equal(client_table_lookup(fx->clients, &rid), c); /* kept */
    c->pinned = false;
    client_table_release(fx->clients, &ref);
    assert_null(ref);
    assert_int_equal(client_table_size(fx->clients), 0);
}

/* Our own parks (a job's result waiting to be sent) have no client and
   are reachable through the table. */
static void
test_own_parks(void **state)
{
    fixture_t *fx = *state;
    park_t *first = s_add(fx, 0, 0, 0, 0);
    park_t *second = s_add(fx, 0, 0, 0, 0);
    assert_null(first->client);
    assert_int_equal(client_table_size(fx->clients), 0);
    assert_ptr_equal(park_table_first(fx->parks, NULL), first);
    park_table_remove(fx->parks, &first);
    assert_ptr_equal(park_table_first(fx->parks, NULL), second);
    park_table_remove(fx->parks, &second);
    assert_null(park_table_first(fx->parks, NULL));
}

/* A target's waiters are answered first come first served, and a park
   removed from the middle (its deadline, its client gone) leaves the
   others in order. */
static void
test_target_waiters_fifo(void **state)
{
    fixture_t *fx = *state;
    list_t waiters = {0};
    int target;
    park_t *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = s_add(fx, (uint8_t) (10 + i), (uint64_t) i, GORO_MSG_WAIT, -1);
        park_wait_on(p[i], &target, &waiters);
        assert_ptr_equal(p[i]->target, &target);
    }
    assert_int_equal(waiters.count, 4);
    park_table_remove(fx->parks, &p[1]);
    assert_int_equal(waiters.count, 3);
    uint64_t order[3], n = 0;
    park_t *w;
    while ((w = park_first(&waiters))) {
        order[n++] = w->reqid;
        park_table_remove(fx->parks, &w);
    }
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    assert_null(park_first(&waiters));
    assert_int_equal(client_table_size(fx->clients), 0);
}

/* A timeout arms the park's deadline with the table's kind; removing the
   park cancels it, and a park that waits forever has none. */
static void
test_deadline(void **state)
{
    fixture_t *fx = *state;
    park_t *timed = s_add(fx, 20, 1, GORO_MSG_WG_WAIT, 50);
    park_t *forever = s_add(fx, 21, 2, GORO_MSG_WG_WAIT, -1);
    assert_true(heap_node_armed(&timed->deadline));
    assert_int_equal(timed->deadline.kind, T_PARK);
    assert_false(heap_node_armed(&forever->deadline));
    /* due before the clients' silence checks */
    heap_node_t *due = heap_pop_due(fx->heap, util_now() + 100);
    assert_ptr_equal(due, &timed->deadline);
    assert_null(heap_pop_due(fx->heap, util_now() + 100));
    park_table_remove(fx->parks, &timed);
    park_t *again = s_add(fx, 22, 3, GORO_MSG_WAIT, 60000);
    park_table_remove(fx->parks, &again);
    park_table_remove(fx->parks, &forever);
    assert_int_equal(heap_size(fx->heap), 0);
}

/* Silent means no sign of life for the liveness period: a touch moves
   the check on, and the check is armed again when it is not due. */
static void
test_client_silence(void **state)
{
    fixture_t *fx = *state;
    park_t *p = s_add(fx, 30, 1, GORO_MSG_WAIT, -1);
    client_t *c = p->client;
    int64_t seen = c->last_seen;
    heap_cancel(fx->heap, &c->expiry); /* as heap_pop_due does */
    assert_false(
        client_table_silent(fx->clients, c, seen + T_LIVENESS_MS - 1));
    assert_true(heap_node_armed(&c->expiry));
    assert_int_equal(c->expiry.at, seen + T_LIVENESS_MS);
    client_table_touch(fx->clients, &c->rid, seen + 1000);
    heap_cancel(fx->heap, &c->expiry);
    assert_false(client_table_silent(fx->clients, c, seen + T_LIVENESS_MS));
    assert_int_equal(c->expiry.at, seen + 1000 + T_LIVENESS_MS);
    assert_true(
        client_table_silent(fx->clients, c, seen + 1000 + T_LIVENESS_MS));
    /* an unknown peer's sign of life tracks nothing */
    goro_rid_t stranger = s_rid(99);
    client_table_touch(fx->clients, &stranger, seen);
    assert_null(client_table_lookup(fx->clients, &stranger));
    park_table_remove(fx->parks, &p);
}

#define T_FIXTURE(test) \
    cmocka_unit_test_setup_teardown(test, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T_FIXTURE(test_client_tracked_while_parked),
        T_FIXTURE(test_client_held_by_deliveries_and_pin),
        T_FIXTURE(test_own_parks),
        T_FIXTURE(test_target_waiters_fifo),
        T_FIXTURE(test_deadline),
        T_FIXTURE(test_client_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
