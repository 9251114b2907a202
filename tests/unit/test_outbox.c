/*  test_outbox - outbox.c, the group commit's send queue: nothing leaves
    before outbox_flush, then everything leaves in push order, with the
    contents it had at push (a message changed afterwards goes out as it
    was); a peer that is gone counts as undelivered without holding up
    the others; a message the codec refuses is refused at push; what was
    never flushed is dropped at destroy.

    The sockets are gorod's kind: a ROUTER with ROUTER_MANDATORY (so a
    reply to an unknown routing id fails instead of vanishing) and a
    DEALER peer, over inproc.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <string.h>

#include "outbox.h"
#include "goro_defs.h"
#include "goro_msg.h"

/* Long enough for an inproc message to arrive on a loaded machine; the
   waits return as soon as it does. */
#define T_WAIT_MS 5000

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
    goro_rid_t rid; /* the dealer, as the router knows it */
} fixture_t;

static goro_msg_t *
s_msg(uint64_t reqid, const char *name)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_CHAN_MAKE);
    msg->reqid = reqid;
    goro_msg_set_name(msg, name);
    return msg;
}

/* Waits until SOCK has a message, or T_WAIT_MS pass. */
static bool
s_wait_readable(zsock_t *sock)
{
    zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, T_WAIT_MS) == 1;
}

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->router = zsock_new(ZMQ_ROUTER);
    fx->dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(fx->router);
    assert_non_null(fx->dealer);
    zsock_set_router_mandatory(fx->router, 1);
    /* A fresh endpoint each test: a closed socket lets go of its inproc
       name only once libzmq's reaper gets to it. */
    static int tests_run;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://test-outbox-%d",
             tests_run++);
    assert_int_equal(zsock_bind(fx->router, "%s", endpoint), 0);
    assert_int_equal(zsock_connect(fx->dealer, "%s", endpoint), 0);
    /* The router learns the dealer's routing id from its first message. */
    goro_msg_t *hello = goro_msg_new(GORO_MSG_PING);
    assert_int_equal(goro_msg_send(hello, zsock_resolve(fx->dealer), NULL),
                     GORO_OK);
    goro_msg_destroy(&hello);
    assert_true(s_wait_readable(fx->router));
    goro_msg_t *got = NULL;
    assert_int_equal(
        goro_msg_recv(zsock_resolve(fx->router), 0, &got, &fx->rid), GORO_OK);
    assert_int_equal(got->cmd, GORO_MSG_PING);
    goro_msg_destroy(&got);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    zsock_destroy(&fx->dealer);
    zsock_destroy(&fx->router);
    free(fx);
    return 0;
}

/* Waits for SOCK's next message and checks it is REQID named NAME. */
static void
s_expect(zsock_t *sock, goro_rid_t *rid, uint64_t reqid, const char *name)
{
    if (!s_wait_readable(sock))
        fail_msg("message %llu did not arrive", (unsigned long long) reqid);
    goro_msg_t *got = NULL;
    assert_int_equal(goro_msg_recv(zsock_resolve(sock), 0, &got, rid),
                     GORO_OK);
    assert_int_equal(got->cmd, GORO_MSG_CHAN_MAKE);
    assert_int_equal(got->reqid, reqid);
    assert_string_equal(got->name, name);
    goro_msg_destroy(&got);
}

static bool
s_nothing_waiting(zsock_t *sock)
{
    return !(zsock_events(sock) & ZMQ_POLLIN);
}

static void
test_held_until_flush_then_in_order(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    assert_int_equal(outbox_size(outbox), 0);
    for (uint64_t i = 1; i <= 300; i++) { /* past the first array */
        goro_msg_t *msg = s_msg(i, "reply");
        assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router),
                                     &fx->rid, msg),
                         GORO_OK);
        goro_msg_destroy(&msg);
    }
    assert_int_equal(outbox_size(outbox), 300);
    assert_true(s_nothing_waiting(fx->dealer));
    assert_int_equal(outbox_flush(outbox), 0);
    assert_int_equal(outbox_size(outbox), 0);
    for (uint64_t i = 1; i <= 300; i++)
        s_expect(fx->dealer, NULL, i, "reply");
    /* a flush sends each message once */
    assert_int_equal(outbox_flush(outbox), 0);
    assert_true(s_nothing_waiting(fx->dealer));
    outbox_destroy(&outbox);
    assert_null(outbox);
    outbox_destroy(&outbox);
}

static void
test_contents_fixed_at_push(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    goro_msg_t *msg = s_msg(1, "before");
    assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router), &fx->rid,
                                 msg),
                     GORO_OK);
    goro_msg_set_name(msg, "after");
    msg->reqid = 2;
    assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router), &fx->rid,
                                 msg),
                     GORO_OK);
    goro_msg_destroy(&msg);
    assert_int_equal(outbox_flush(outbox), 0);
    s_expect(fx->dealer, NULL, 1, "before");
    s_expect(fx->dealer, NULL, 2, "after");
    outbox_destroy(&outbox);
}

/* Without a routing id the frame goes out as it is: a DEALER's way. */
static void
test_no_rid(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    goro_msg_t *msg = s_msg(5, "up");
    assert_int_equal(outbox_push(outbox, zsock_resolve(fx->dealer), NULL, msg),
                     GORO_OK);
    goro_msg_destroy(&msg);
    assert_int_equal(outbox_flush(outbox), 0);
    goro_rid_t rid;
    s_expect(fx->router, &rid, 5, "up");
    assert_int_equal(goro_rid_compare(&rid, &fx->rid), 0);
    outbox_destroy(&outbox);
}

static void
test_gone_peer_counted_others_sent(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    goro_rid_t gone = {.size = 4, .data = "gone"};
    const goro_rid_t *to[] = {&fx->rid, &gone, &fx->rid, &gone};
    for (size_t i = 0; i < 4; i++) {
        goro_msg_t *msg = s_msg(i + 1, "mixed");
        assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router), to[i],
                                     msg),
                         GORO_OK);
        goro_msg_destroy(&msg);
    }
    assert_int_equal(outbox_flush(outbox), 2);
    assert_int_equal(outbox_size(outbox), 0);
    s_expect(fx->dealer, NULL, 1, "mixed");
    s_expect(fx->dealer, NULL, 3, "mixed");
    assert_true(s_nothing_waiting(fx->dealer));
    outbox_destroy(&outbox);
}

static void
test_unencodable_refused_at_push(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    char name[GORO_MSG_STR_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    goro_msg_t *msg = s_msg(1, name);
    assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router), &fx->rid,
                                 msg),
                     GORO_EINVAL);
    goro_msg_destroy(&msg);
    assert_int_equal(outbox_size(outbox), 0);
    assert_int_equal(outbox_flush(outbox), 0);
    assert_true(s_nothing_waiting(fx->dealer));
    outbox_destroy(&outbox);
}

/* Destroy drops what was held (ASan checks it is freed). */
static void
test_destroy_drops_unsent(void **state)
{
    fixture_t *fx = *state;
    outbox_t *outbox = outbox_new();
    goro_msg_t *msg = s_msg(1, "never");
    assert_int_equal(outbox_push(outbox, zsock_resolve(fx->router), &fx->rid,
                                 msg),
                     GORO_OK);
    goro_msg_destroy(&msg);
    outbox_destroy(&outbox);
    assert_true(s_nothing_waiting(fx->dealer));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_until_flush_then_in_order,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_contents_fixed_at_push, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_no_rid, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gone_peer_counted_others_sent,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unencodable_refused_at_push,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_drops_unsent, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
