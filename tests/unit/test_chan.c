/*  test_chan - chan.c, the channel table on its own: make, Go's rules for
    unbuffered and buffered channels, FIFO values, first come first served
    among parked senders and among parked receivers, close, try-once and
    withdraw leaving no trace, select (one case only, never matching
    itself), fairness of the random choice, and 100,000 parked receivers.
    Batches: a batched send takes what fits and parks the rest in order, a
    batched receive takes all that is available, closing and withdrawing
    report how many values of a batch went, and a batch given back returns
    to the head in order.

    What each table call makes fire is recorded once the call returns, as
    the server answers it (its owner, case, code, closed flag and a copy
    of the value), so each test says exactly which parks fired and with
    what. Parked counts come from
    chan_table_each, as `goro stats` sees them.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "goro_defs.h"
#include "util.h"

#define T_SEED 0x9d2c5680a3b1f7e5ULL
#define T_FAIR_SELECTS 10000
#define T_CHI2_999 10.83 /* chi-square, 1 dof, 99.9% */
#define T_SCALE 100000

/* ------------------------------------------------------------------ */
/*  Recording what fired                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    void *owner;
    size_t index;
    int code;
    bool closed;
    char *data; /* NUL-terminated copy, NULL if none; a
                   batch's values joined by "," */
    size_t size;
    size_t count; /* batches: values sent or received */
} fired_t;

typedef struct {
    chan_table_t *table;
    chan_fired_t pending; /* the current call's */
    fired_t *fired;       /* all recorded since the last clear */
    size_t nfired, cap;
} fixture_t;

/* A batch's values as one NUL-terminated string, "a,b,c". */
/* Acknowledges DELIVERY of HOLDER as libgoro's ACK does; nothing parked
   fires from it here. */
static int
s_ack(chan_table_t *table, uint64_t delivery, const list_t *holder)
{
    chan_fired_t fired = {0};
    int rc = chan_ack(table, delivery, holder, &fired);
    assert_int_equal(fired.count, 0);
    chan_fired_free(&fired);
    return rc;
}

static char *
s_joined(const goro_msg_value_t *values, size_t count)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += values[i].size + 1;
    char *text = calloc(1, size), *at = text;
    assert_non_null(text);
    for (size_t i = 0; i < count; i++) {
        if (i)
            *at++ = ',';
        memcpy(at, values[i].data, values[i].size);
        at += values[i].size;
    }
    return text;
}

/* Records what the table call that returned RC made fire, as the server
   would answer it, and returns RC. */
static int
s_record(fixture_t *fx, int rc)
{
    for (size_t i = 0; i < fx->pending.count; i++) {
        if (fx->nfired == fx->cap) {
            fx->cap = fx->cap ? fx->cap * 2 : 16;
            fx->fired = realloc(fx->fired, fx->cap * sizeof *fx->fired);
            assert_non_null(fx->fired);
        }
        const chan_result_t *result = &fx->pending.fires[i].result;
        fired_t *f = &fx->fired[fx->nfired++];
        f->owner = fx->pending.fires[i].owner;
        f->index = result->index;
        f->code = result->code;
        f->closed = result->closed;
        f->size = result->size;
        f->count = result->count;
        f->data = NULL;
        if (result->values)
            f->data = s_joined(result->values, result->count);
        else if (result->data) {
            f->data = malloc(result->size + 1);
            memcpy(f->data, result->data, result->size);
            f->data[result->size] = '\0';
        }
        /* The receiver has it, as libgoro acknowledges at once. */
        if (result->delivery)
            assert_int_equal(s_ack(fx->table, result->delivery, NULL),
                             GORO_OK);
    }
    chan_fired_free(&fx->pending);
    return rc;
}

/* The receiver of DELIVERY vanished: its values go back (GORO_OK), or
   GORO_ENOTFOUND if there is no such delivery. */
static int
s_return(fixture_t *fx, uint64_t delivery)
{
    list_t holder = {0};
    int rc = chan_delivery_hold(fx->table, delivery, &holder);
    if (rc == GORO_OK)
        chan_return(fx->table, &holder, &fx->pending);
    assert_int_equal(holder.count, 0);
    return s_record(fx, rc);
}

static void
s_fired_clear(fixture_t *fx)
{
    for (size_t i = 0; i < fx->nfired; i++)
        free(fx->fired[i].data);
    fx->nfired = 0;
}

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->table = chan_table_new(T_SEED);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    chan_table_destroy(&fx->table);
    s_fired_clear(fx);
    free(fx->fired);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

/* Owners are small tags; the table never dereferences them. */
#define T_OWNER(n) ((void *) (uintptr_t) (n))

/* A one-case send of TEXT. *PARK_OUT is set when it parked. When the
   table did not take the value (try-once, error) it is freed here, after
   checking that the table left it to us. */
static int
s_send(fixture_t *fx, const char *chan, const char *text, bool may_park,
       int owner, chan_park_t **park_out, chan_result_t *result)
{
    chan_case_t one = {GORO_CASE_SEND, chan, util_memdup(text, strlen(text)),
                       strlen(text)};
    chan_park_t *park = NULL;
    chan_result_t local;
    if (!result)
        result = &local;
    int rc = s_record(fx,
                      chan_select(fx->table, &one, 1, may_park, T_OWNER(owner),
                                  &park, result, &fx->pending));
    if (rc == GORO_OK)
        assert_null(one.data); /* taken, sent or parked */
    else
        assert_non_null(one.data); /* still the caller's */
    free(one.data);
    if (park_out)
        *park_out = park;
    return rc;
}

/* A one-case receive. On a value, *VALUE_OUT gets it (free()). */
static int
s_recv(fixture_t *fx, const char *chan, bool may_park, int owner,
       chan_park_t **park_out, chan_result_t *result)
{
    chan_case_t one = {GORO_CASE_RECV, chan, NULL, 0};
    chan_park_t *park = NULL;
    int rc = s_record(fx,
                      chan_select(fx->table, &one, 1, may_park, T_OWNER(owner),
                                  &park, result, &fx->pending));
    if (park_out)
        *park_out = park;
    return rc;
}

/* Receives now and expects TEXT. */
static void
s_expect_recv(fixture_t *fx, const char *chan, const char *text)
{
    chan_result_t result;
    chan_park_t *park = NULL;
    assert_int_equal(s_recv(fx, chan, false, 0, &park, &result), GORO_OK);
    assert_null(park);
    assert_int_equal(result.index, 0);
    assert_false(result.closed);
    assert_int_equal(result.code, GORO_OK);
    assert_non_null(result.data);
    assert_int_equal(result.size, strlen(text));
    assert_memory_equal(result.data, text, result.size);
    free(result.data);
    assert_int_equal(s_ack(fx->table, result.delivery, NULL), GORO_OK);
}

/* Sends now (no park) and expects it to complete. */
static void
s_expect_send(fixture_t *fx, const char *chan, const char *text)
{
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_send(fx, chan, text, true, 0, &park, &result), GORO_OK);
    assert_null(park);
    assert_int_equal(result.code, GORO_OK);
}

/* Parks a send and returns its park. */
static chan_park_t *
s_park_send(fixture_t *fx, const char *chan, const char *text, int owner)
{
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_send(fx, chan, text, true, owner, &park, &result),
                     GORO_OK);
    assert_non_null(park);
    assert_int_equal(result.index, (size_t) -1);
    return park;
}

static chan_park_t *
s_park_recv(fixture_t *fx, const char *chan, int owner)
{
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_recv(fx, chan, true, owner, &park, &result), GORO_OK);
    assert_non_null(park);
    assert_int_equal(result.index, (size_t) -1);
    assert_null(result.data);
    return park;
}

typedef struct {
    const char *name;
    bool found;
    chan_info_t info;
} lookup_t;

static void
s_lookup_one(const chan_info_t *info, void *arg)
{
    lookup_t *l = arg;
    if (strcmp(info->name, l->name) == 0) {
        l->found = true;
        l->info = *info;
        l->info.name = l->name;
    }
}

/* What `goro stats` would show for NAME. */
static chan_info_t
s_info(fixture_t *fx, const char *name)
{
    lookup_t l = {name, false, {0}};
    chan_table_each(fx->table, s_lookup_one, &l);
    assert_true(l.found);
    return l.info;
}

static void
s_expect_counts(fixture_t *fx, const char *name, size_t buffered,
                size_t senders, size_t receivers)
{
    chan_info_t info = s_info(fx, name);
    assert_int_equal(info.buffered, buffered);
    assert_int_equal(info.senders, senders);
    assert_int_equal(info.receivers, receivers);
}

static void
s_expect_fired(fixture_t *fx, size_t n, int owner, size_t index, int code,
               bool closed, const char *data)
{
    assert_true(n < fx->nfired);
    fired_t *f = &fx->fired[n];
    assert_ptr_equal(f->owner, T_OWNER(owner));
    assert_int_equal(f->index, index);
    assert_int_equal(f->code, code);
    assert_int_equal(f->closed, closed);
    if (data) {
        assert_non_null(f->data);
        assert_string_equal(f->data, data);
    }
    else
        assert_null(f->data);
}

/* ------------------------------------------------------------------ */
/*  make                                                              */
/* ------------------------------------------------------------------ */

static void
test_make(void **state)
{
    fixture_t *fx = *state;
    const struct {
        const char *name;
        int64_t capacity;
        int rc;
    } cases[] = {
        {"a", 0, GORO_OK},     {"a", 0, GORO_OK}, /* same capacity: a no-op */
        {"a", 1, GORO_EEXIST},                    /* another capacity */
        {"b", 5, GORO_OK},     {"b", 5, GORO_OK},      {"b", 0, GORO_EEXIST},
        {"b", 6, GORO_EEXIST}, {"c", -1, GORO_EINVAL}, /* negative capacity */
        {"", 1, GORO_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = chan_make(fx->table, cases[i].name, cases[i].capacity);
        if (rc != cases[i].rc)
            fail_msg("case %zu: make(%s, %lld) gave %d, expected %d", i,
                     cases[i].name, (long long) cases[i].capacity, rc,
                     cases[i].rc);
    }
    assert_int_equal(chan_table_size(fx->table), 2);
    assert_true(chan_exists(fx->table, "a"));
    assert_true(chan_exists(fx->table, "b"));
    assert_false(chan_exists(fx->table, "c"));
    assert_int_equal(s_info(fx, "a").capacity, 0);
    assert_int_equal(s_info(fx, "b").capacity, 5);

    /* a no-op make keeps what the channel holds */
    s_expect_send(fx, "b", "kept");
    assert_int_equal(chan_make(fx->table, "b", 5), GORO_OK);
    s_expect_counts(fx, "b", 1, 0, 0);
    s_expect_recv(fx, "b", "kept");
}

/* ------------------------------------------------------------------ */
/*  unbuffered and buffered                                           */
/* ------------------------------------------------------------------ */

static void
test_unbuffered_send_waits_for_receiver(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    s_park_send(fx, "u", "hello", 1);
    assert_int_equal(fx->nfired, 0);   /* the send has not completed */
    s_expect_counts(fx, "u", 0, 1, 0); /* nothing is buffered */

    s_expect_recv(fx, "u", "hello");
    assert_int_equal(fx->nfired, 1); /* now it has */
    s_expect_fired(fx, 0, 1, 0, GORO_OK, false, NULL);
    s_expect_counts(fx, "u", 0, 0, 0);
}

static void
test_unbuffered_receiver_first(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    s_park_recv(fx, "u", 7);
    assert_int_equal(fx->nfired, 0);
    s_expect_counts(fx, "u", 0, 0, 1);
    s_expect_send(fx, "u", "v"); /* completes at once */
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 7, 0, GORO_OK, false, "v");
    s_expect_counts(fx, "u", 0, 0, 0);

    /* an empty value is a value, not "closed" */
    s_park_recv(fx, "u", 8);
    s_expect_send(fx, "u", "");
    s_expect_fired(fx, 1, 8, 0, GORO_OK, false, "");
    assert_int_equal(fx->fired[1].size, 0);
}

static void
test_buffered_capacity(void **state)
{
    fixture_t *fx = *state;
    for (int64_t n = 1; n <= 4; n++) {
        char name[16], text[16];
        snprintf(name, sizeof name, "b%lld", (long long) n);
        assert_int_equal(chan_make(fx->table, name, n), GORO_OK);
        s_fired_clear(fx);
        for (int64_t i = 0; i < n; i++) { /* n sends complete at once */
            snprintf(text, sizeof text, "%lld", (long long) i);
            s_expect_send(fx, name, text);
        }
        s_expect_counts(fx, name, (size_t) n, 0, 0);
        snprintf(text, sizeof text, "%lld", (long long) n);
        s_park_send(fx, name, text, 100); /* the n+1th parks */
        s_expect_counts(fx, name, (size_t) n, 1, 0);
        assert_int_equal(fx->nfired, 0);

        s_expect_recv(fx, name, "0");    /* frees a slot ... */
        assert_int_equal(fx->nfired, 1); /* ... the parked send completes */
        s_expect_fired(fx, 0, 100, 0, GORO_OK, false, NULL);
        s_expect_counts(fx, name, (size_t) n, 0, 0);
        for (int64_t i = 1; i <= n; i++) { /* its value is last in line */
            snprintf(text, sizeof text, "%lld", (long long) i);
            s_expect_recv(fx, name, text);
        }
        s_expect_counts(fx, name, 0, 0, 0);
    }
}

static void
test_fifo_values(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "f", 1000), GORO_OK);
    char text[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof text, "value-%d", i);
        s_expect_send(fx, "f", text);
    }
    assert_int_equal(chan_table_bytes(fx->table), 10 * 7 + 90 * 8 + 900 * 9);
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof text, "value-%d", i);
        s_expect_recv(fx, "f", text);
    }
    assert_int_equal(chan_table_bytes(fx->table), 0);
}

/* A value handed to a receiver stays held until acknowledged; if the
   receiver vanishes it goes back to the head of its channel, ahead of
   values sent after it, and to a receiver parked meanwhile. */
static void
test_delivery_ack_and_return(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "d", 4), GORO_OK);
    s_expect_send(fx, "d", "one");
    s_expect_send(fx, "d", "two");
    chan_result_t got;
    chan_park_t *park = NULL;
    assert_int_equal(s_recv(fx, "d", false, 0, &park, &got), GORO_OK);
    assert_memory_equal(got.data, "one", 3);
    free(got.data);
    assert_true(got.delivery != 0);
    assert_int_equal(chan_table_deliveries(fx->table), 1);
    assert_int_equal(chan_table_bytes(fx->table), 6); /* still held */
    /* the receiver is gone: "one" is first again */
    assert_int_equal(s_return(fx, got.delivery), GORO_OK);
    assert_int_equal(s_return(fx, got.delivery), GORO_ENOTFOUND);
    assert_int_equal(s_ack(fx->table, got.delivery, NULL), GORO_ENOTFOUND);
    s_expect_recv(fx, "d", "one");
    s_expect_recv(fx, "d", "two");
    assert_int_equal(chan_table_bytes(fx->table), 0);
    assert_int_equal(chan_table_deliveries(fx->table), 0);

    /* unbuffered: a value taken straight from a parked sender is held
       too, and goes back to a receiver parked after the first left */
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    chan_case_t send = {GORO_CASE_SEND, "u", util_memdup("x", 1), 1};
    chan_result_t sent;
    assert_int_equal(s_record(fx, chan_select(fx->table, &send, 1, true,
                                              T_OWNER(1), &park, &sent,
                                              &fx->pending)),
                     GORO_OK);
    assert_non_null(park);
    assert_int_equal(s_recv(fx, "u", false, 0, &park, &got), GORO_OK);
    assert_int_equal(fx->nfired, 1); /* the sender is done */
    free(got.data);
    chan_park_t *waiting = NULL;
    chan_result_t none;
    assert_int_equal(s_recv(fx, "u", true, 2, &waiting, &none), GORO_OK);
    assert_non_null(waiting);
    assert_int_equal(s_return(fx, got.delivery), GORO_OK);
    assert_int_equal(fx->nfired, 2); /* handed on at once */
    assert_ptr_equal(fx->fired[1].owner, T_OWNER(2));
    assert_string_equal(fx->fired[1].data, "x");
    assert_int_equal(chan_table_bytes(fx->table), 0);
}

/* Values put back can leave the buffer above its capacity; receives
   then drain it, and a parked sender moves in only once there is room,
   as Go's send would block on a full buffer. */
static void
test_return_over_capacity(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "o", 1), GORO_OK);
    s_expect_send(fx, "o", "a");
    chan_result_t got;
    chan_park_t *park = NULL;
    assert_int_equal(s_recv(fx, "o", false, 0, &park, &got), GORO_OK);
    free(got.data);
    s_expect_send(fx, "o", "b");
    s_park_send(fx, "o", "c", 1);
    assert_int_equal(s_return(fx, got.delivery), GORO_OK);
    s_expect_counts(fx, "o", 2, 1, 0); /* a, b: one over */

    s_expect_recv(fx, "o", "a");
    s_expect_counts(fx, "o", 1, 1, 0); /* still full: c waits */
    assert_int_equal(fx->nfired, 0);
    s_expect_recv(fx, "o", "b");
    s_expect_counts(fx, "o", 1, 0, 0); /* room: c moved in */
    s_expect_fired(fx, 0, 1, 0, GORO_OK, false, NULL);
    s_expect_recv(fx, "o", "c");
}

/* Parked senders are served first come first served, on an unbuffered
   and on a full buffered channel; so are parked receivers. */
static void
test_fcfs_parked_senders(void **state)
{
    fixture_t *fx = *state;
    const int64_t caps[] = {0, 2};
    for (size_t c = 0; c < 2; c++) {
        char name[8];
        snprintf(name, sizeof name, "s%zu", c);
        assert_int_equal(chan_make(fx->table, name, caps[c]), GORO_OK);
        s_fired_clear(fx);
        for (int64_t i = 0; i < caps[c]; i++)
            s_expect_send(fx, name, "pre");
        const char *texts[] = {"first", "second", "third", "fourth"};
        for (int i = 0; i < 4; i++)
            s_park_send(fx, name, texts[i], 10 + i);
        s_expect_counts(fx, name, (size_t) caps[c], 4, 0);
        for (int64_t i = 0; i < caps[c]; i++)
            s_expect_recv(fx, name, "pre");
        for (int i = 0; i < 4; i++)
            s_expect_recv(fx, name, texts[i]);
        assert_int_equal(fx->nfired, 4);
        for (int i = 0; i < 4; i++)
            s_expect_fired(fx, (size_t) i, 10 + i, 0, GORO_OK, false, NULL);
        s_expect_counts(fx, name, 0, 0, 0);
    }
}

static void
test_fcfs_parked_receivers(void **state)
{
    fixture_t *fx = *state;
    const int64_t caps[] = {0, 3};
    for (size_t c = 0; c < 2; c++) {
        char name[8];
        snprintf(name, sizeof name, "r%zu", c);
        assert_int_equal(chan_make(fx->table, name, caps[c]), GORO_OK);
        s_fired_clear(fx);
        for (int i = 0; i < 4; i++)
            s_park_recv(fx, name, 20 + i);
        s_expect_counts(fx, name, 0, 0, 4);
        const char *texts[] = {"a", "b", "c", "d"};
        for (int i = 0; i < 4; i++)
            s_expect_send(fx, name, texts[i]);
        assert_int_equal(fx->nfired, 4);
        for (int i = 0; i < 4; i++)
            s_expect_fired(fx, (size_t) i, 20 + i, 0, GORO_OK, false,
                           texts[i]);
        /* a handoff to a parked receiver never went through the buffer */
        s_expect_counts(fx, name, 0, 0, 0);
    }
}

/* ------------------------------------------------------------------ */
/*  close                                                             */
/* ------------------------------------------------------------------ */

static void
test_close_later_sends_fail(void **state)
{
    fixture_t *fx = *state;
    const int64_t caps[] = {0, 1, 8};
    for (size_t c = 0; c < 3; c++) {
        char name[8];
        snprintf(name, sizeof name, "c%zu", c);
        assert_int_equal(chan_make(fx->table, name, caps[c]), GORO_OK);
        assert_int_equal(
            s_record(fx, chan_close(fx->table, name, &fx->pending)), GORO_OK);
        chan_park_t *park = NULL;
        chan_result_t result;
        /* fails at once, parking or not, and leaves nothing buffered */
        for (int may_park = 0; may_park < 2; may_park++) {
            assert_int_equal(s_send(fx, name, "late", may_park, 1, &park,
                                    &result),
                             GORO_OK);
            assert_null(park);
            assert_int_equal(result.code, GORO_ECLOSED);
        }
        s_expect_counts(fx, name, 0, 0, 0);
        assert_true(s_info(fx, name).closed);
    }
    assert_int_equal(fx->nfired, 0);
}

static void
test_close_fails_parked_senders(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "b", 1), GORO_OK);
    s_park_send(fx, "u", "x", 1);
    s_park_send(fx, "u", "y", 2);
    s_expect_send(fx, "b", "kept");
    s_park_send(fx, "b", "z", 3);
    assert_int_equal(s_record(fx, chan_close(fx->table, "u", &fx->pending)),
                     GORO_OK);
    assert_int_equal(s_record(fx, chan_close(fx->table, "b", &fx->pending)),
                     GORO_OK);
    assert_int_equal(fx->nfired, 3);
    s_expect_fired(fx, 0, 1, 0, GORO_ECLOSED, false, NULL);
    s_expect_fired(fx, 1, 2, 0, GORO_ECLOSED, false, NULL);
    s_expect_fired(fx, 2, 3, 0, GORO_ECLOSED, false, NULL);
    s_expect_counts(fx, "u", 0, 0, 0);
    /* what was buffered before the close stays; the parked value does not */
    s_expect_counts(fx, "b", 1, 0, 0);
    s_expect_recv(fx, "b", "kept");
    chan_result_t result;
    assert_int_equal(s_recv(fx, "b", false, 0, NULL, &result), GORO_OK);
    assert_true(result.closed);
}

static void
test_close_receivers_drain_then_closed(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 3), GORO_OK);
    s_expect_send(fx, "b", "1");
    s_expect_send(fx, "b", "2");
    assert_int_equal(s_record(fx, chan_close(fx->table, "b", &fx->pending)),
                     GORO_OK);
    s_expect_recv(fx, "b", "1");
    s_expect_recv(fx, "b", "2");
    for (int may_park = 0; may_park < 2; may_park++) {
        chan_result_t result;
        chan_park_t *park = NULL;
        assert_int_equal(s_recv(fx, "b", may_park, 0, &park, &result),
                         GORO_OK);
        assert_null(park); /* never parks on a closed channel */
        assert_true(result.closed);
        assert_null(result.data);
        assert_int_equal(result.code, GORO_OK);
    }
    assert_int_equal(fx->nfired, 0);
}

static void
test_close_releases_parked_receivers(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "b", 2), GORO_OK);
    s_park_recv(fx, "u", 1);
    s_park_recv(fx, "b", 2);
    s_park_recv(fx, "u", 3);
    assert_int_equal(s_record(fx, chan_close(fx->table, "u", &fx->pending)),
                     GORO_OK);
    assert_int_equal(fx->nfired, 2);
    s_expect_fired(fx, 0, 1, 0, GORO_OK, true, NULL);
    s_expect_fired(fx, 1, 3, 0, GORO_OK, true, NULL);
    s_expect_counts(fx, "u", 0, 0, 0);
    s_expect_counts(fx, "b", 0, 0, 1); /* another channel: untouched */
    assert_int_equal(s_record(fx, chan_close(fx->table, "b", &fx->pending)),
                     GORO_OK);
    s_expect_fired(fx, 2, 2, 0, GORO_OK, true, NULL);
}

static void
test_close_twice_and_unknown(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "c", 1), GORO_OK);
    assert_int_equal(s_record(fx, chan_close(fx->table, "c", &fx->pending)),
                     GORO_OK);
    assert_int_equal(s_record(fx, chan_close(fx->table, "c", &fx->pending)),
                     GORO_ECLOSED);
    assert_int_equal(s_record(fx, chan_close(fx->table, "nope", &fx->pending)),
                     GORO_ENOTFOUND);
    assert_false(chan_exists(fx->table, "nope"));
    /* making a closed channel again with its capacity does not reopen it */
    assert_int_equal(chan_make(fx->table, "c", 1), GORO_OK);
    assert_true(s_info(fx, "c").closed);
}

/* ------------------------------------------------------------------ */
/*  try once, withdraw                                                */
/* ------------------------------------------------------------------ */

/* may_park false on an operation that cannot happen: GORO_ETIMEDOUT, no
   fire, nothing buffered or parked, the send value still the caller's
   (s_send checks that). */
static void
test_try_once_leaves_no_trace(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "full", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "empty", 4), GORO_OK);
    s_expect_send(fx, "full", "old");
    const struct {
        const char *chan;
        int op;
        size_t buffered;
    } cases[] = {
        {"u", GORO_CASE_SEND, 0},
        {"u", GORO_CASE_RECV, 0},
        {"full", GORO_CASE_SEND, 1},
        {"empty", GORO_CASE_RECV, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chan_result_t result;
        chan_park_t *park = T_OWNER(1);
        int rc = cases[i].op == GORO_CASE_SEND
                     ? s_send(fx, cases[i].chan, "try", false, 5, &park,
                              &result)
                     : s_recv(fx, cases[i].chan, false, 5, &park, &result);
        assert_int_equal(rc, GORO_ETIMEDOUT);
        assert_null(park);
        assert_null(result.data);
        s_expect_counts(fx, cases[i].chan, cases[i].buffered, 0, 0);
    }
    assert_int_equal(fx->nfired, 0);
    /* the unbuffered channel still has no sender: the try left nothing */
    chan_result_t result;
    assert_int_equal(s_recv(fx, "u", false, 0, NULL, &result), GORO_ETIMEDOUT);
    s_expect_recv(fx, "full", "old"); /* and "try" never got in */
    assert_int_equal(s_recv(fx, "full", false, 0, NULL, &result),
                     GORO_ETIMEDOUT);
}

static void
test_withdraw_leaves_no_trace(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "full", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "e", 2), GORO_OK);
    assert_int_equal(chan_make(fx->table, "e2", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "u2", 0), GORO_OK);
    s_expect_send(fx, "full", "old");

    chan_park_t *parks[4];
    parks[0] = s_park_send(fx, "u", "gone", 1);
    parks[1] = s_park_send(fx, "full", "never", 2);
    parks[2] = s_park_recv(fx, "e", 3);
    chan_case_t sel[] = {
        {GORO_CASE_RECV, "e2", NULL, 0},
        {GORO_CASE_SEND, "u2", util_memdup("sel", 3), 3},
    };
    chan_result_t result;
    assert_int_equal(s_record(fx,
                              chan_select(fx->table, sel, 2, true, T_OWNER(4),
                                          &parks[3], &result, &fx->pending)),
                     GORO_OK);
    assert_non_null(parks[3]);
    s_expect_counts(fx, "u", 0, 1, 0);
    s_expect_counts(fx, "full", 1, 1, 0);
    s_expect_counts(fx, "e", 0, 0, 1);
    s_expect_counts(fx, "e2", 0, 0, 1);
    s_expect_counts(fx, "u2", 0, 1, 0);

    for (int i = 0; i < 4; i++) {
        chan_park_withdraw(fx->table, &parks[i]);
        assert_null(parks[i]);
    }
    chan_park_withdraw(fx->table, NULL); /* accepted */
    assert_int_equal(fx->nfired, 0);
    s_expect_counts(fx, "u", 0, 0, 0);
    s_expect_counts(fx, "full", 1, 0, 0);
    s_expect_counts(fx, "e", 0, 0, 0);
    s_expect_counts(fx, "e2", 0, 0, 0);
    s_expect_counts(fx, "u2", 0, 0, 0);

    /* the withdrawn senders' values are nowhere */
    assert_int_equal(s_recv(fx, "u", false, 0, NULL, &result), GORO_ETIMEDOUT);
    assert_int_equal(s_recv(fx, "u2", false, 0, NULL, &result),
                     GORO_ETIMEDOUT);
    s_expect_recv(fx, "full", "old");
    assert_int_equal(s_recv(fx, "full", false, 0, NULL, &result),
                     GORO_ETIMEDOUT);
    /* and the withdrawn receivers are handed nothing */
    s_expect_send(fx, "e", "x");
    s_expect_counts(fx, "e", 1, 0, 0);
    assert_int_equal(s_send(fx, "e2", "y", false, 0, NULL, &result),
                     GORO_ETIMEDOUT);
    assert_int_equal(fx->nfired, 0);
}

/* Parks left at destroy are dropped without firing (and without leaks:
   the ASan build checks that). */
static void
test_destroy_with_parks(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "b", 1), GORO_OK);
    s_park_send(fx, "u", "dropped", 1);
    s_expect_send(fx, "b", "buffered");
    s_park_send(fx, "b", "parked", 2);
    chan_case_t sel[] = {
        {GORO_CASE_SEND, "u", util_memdup("s", 1), 1},
        {GORO_CASE_SEND, "b", util_memdup("t", 1), 1},
    };
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_record(fx,
                              chan_select(fx->table, sel, 2, true, T_OWNER(3),
                                          &park, &result, &fx->pending)),
                     GORO_OK);
    assert_non_null(park);
    chan_table_destroy(&fx->table);
    assert_null(fx->table);
    assert_int_equal(fx->nfired, 0);
}

/* ------------------------------------------------------------------ */
/*  select                                                            */
/* ------------------------------------------------------------------ */

static void
test_select_send_and_receive_cases(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "in", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "out", 1), GORO_OK);

    /* only the send is ready */
    chan_case_t cases[] = {
        {GORO_CASE_RECV, "in", NULL, 0},
        {GORO_CASE_SEND, "out", util_memdup("sent", 4), 4},
    };
    chan_result_t result;
    chan_park_t *park = NULL;
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_OK);
    assert_null(park);
    assert_int_equal(result.index, 1);
    assert_int_equal(result.code, GORO_OK);
    assert_null(cases[1].data);
    s_expect_counts(fx, "out", 1, 0, 0);
    s_expect_counts(fx, "in", 0, 0, 0);

    /* now "out" is full and "in" has a value: only the receive is ready */
    s_expect_send(fx, "in", "got");
    cases[1].data = util_memdup("again", 5);
    cases[1].size = 5;
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_OK);
    assert_null(park);
    assert_int_equal(result.index, 0);
    assert_int_equal(result.size, 3);
    assert_memory_equal(result.data, "got", 3);
    free(result.data);
    assert_non_null(cases[1].data); /* the send did not happen */
    free(cases[1].data);
    s_expect_counts(fx, "out", 1, 0, 0);
    s_expect_recv(fx, "out", "sent");
    assert_int_equal(fx->nfired, 0);

    /* parked: a receiver arriving on "out" takes the send case */
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    chan_case_t parked[] = {
        {GORO_CASE_RECV, "in", NULL, 0},
        {GORO_CASE_SEND, "u", util_memdup("late", 4), 4},
    };
    assert_int_equal(s_record(fx, chan_select(fx->table, parked, 2, true,
                                              T_OWNER(9), &park, &result,
                                              &fx->pending)),
                     GORO_OK);
    assert_non_null(park);
    assert_null(parked[1].data); /* the park holds it now */
    s_expect_recv(fx, "u", "late");
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 9, 1, GORO_OK, false, NULL);
    s_expect_counts(fx, "in", 0, 0, 0);
    s_expect_counts(fx, "u", 0, 0, 0);
}

/* A parked select whose two channels both become ready, one after the
   other: exactly one case happens, the other op is gone at once. */
static void
test_select_exactly_one_case(void **state)
{
    fixture_t *fx = *state;
    const struct {
        int op0, op1; /* the two cases */
        int first;    /* which channel becomes ready first */
    } variants[] = {
        {GORO_CASE_RECV, GORO_CASE_RECV, 0},
        {GORO_CASE_RECV, GORO_CASE_RECV, 1},
        {GORO_CASE_SEND, GORO_CASE_SEND, 0},
        {GORO_CASE_RECV, GORO_CASE_SEND, 1},
        {GORO_CASE_SEND, GORO_CASE_RECV, 0},
    };
    assert_int_equal(chan_make(fx->table, "x", 0), GORO_OK);
    assert_int_equal(chan_make(fx->table, "y", 0), GORO_OK);
    const char *names[] = {"x", "y"};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        s_fired_clear(fx);
        int ops[] = {variants[v].op0, variants[v].op1};
        chan_case_t cases[2];
        for (int i = 0; i < 2; i++) {
            cases[i].op = ops[i];
            cases[i].chan = names[i];
            cases[i].data = ops[i] == GORO_CASE_SEND ? util_memdup(names[i], 1)
                                                     : NULL;
            cases[i].size = ops[i] == GORO_CASE_SEND ? 1 : 0;
        }
        chan_park_t *park = NULL;
        chan_result_t result;
        assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2, true,
                                                  T_OWNER(42), &park, &result,
                                                  &fx->pending)),
                         GORO_OK);
        assert_non_null(park);
        for (int i = 0; i < 2; i++)
            s_expect_counts(fx, names[i], 0, ops[i] == GORO_CASE_SEND,
                            ops[i] == GORO_CASE_RECV);

        /* both channels become ready: the first one fires the select */
        for (int k = 0; k < 2; k++) {
            int i = k == 0 ? variants[v].first : 1 - variants[v].first;
            chan_result_t r;
            int rc = ops[i] == GORO_CASE_SEND
                         ? s_recv(fx, names[i], false, 0, NULL, &r)
                         : s_send(fx, names[i], "w", false, 0, NULL, &r);
            if (k == 0) {
                assert_int_equal(rc, GORO_OK);
                if (ops[i] == GORO_CASE_SEND) {
                    assert_int_equal(r.size, 1);
                    assert_memory_equal(r.data, names[i], 1);
                    free(r.data);
                }
                /* the other case was withdrawn in the same step */
                for (int j = 0; j < 2; j++)
                    s_expect_counts(fx, names[j], 0, 0, 0);
            }
            else
                assert_int_equal(rc, GORO_ETIMEDOUT); /* nobody there */
        }
        int fired = variants[v].first;
        assert_int_equal(fx->nfired, 1);
        s_expect_fired(fx, 0, 42, (size_t) fired, GORO_OK, false,
                       ops[fired] == GORO_CASE_RECV ? "w" : NULL);
    }
}

/* A select with a send and a receive on the same unbuffered channel does
   not rendezvous with itself; another operation completes one of them. */
static void
test_select_does_not_match_itself(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    for (int side = 0; side < 2; side++) {
        s_fired_clear(fx);
        chan_case_t cases[] = {
            {GORO_CASE_SEND, "u", util_memdup("self", 4), 4},
            {GORO_CASE_RECV, "u", NULL, 0},
        };
        chan_park_t *park = NULL;
        chan_result_t result;
        int rc = s_record(fx,
                          chan_select(fx->table, cases, 2, false, T_OWNER(1),
                                      &park, &result, &fx->pending));
        assert_int_equal(rc, GORO_ETIMEDOUT); /* nothing ready */
        assert_non_null(cases[0].data);
        assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2, true,
                                                  T_OWNER(1), &park, &result,
                                                  &fx->pending)),
                         GORO_OK);
        assert_non_null(park); /* parked, not matched */
        assert_int_equal(fx->nfired, 0);
        s_expect_counts(fx, "u", 0, 1, 1);

        chan_result_t r;
        if (side == 0) { /* a receiver takes the send case */
            assert_int_equal(s_recv(fx, "u", false, 0, NULL, &r), GORO_OK);
            assert_int_equal(r.size, 4);
            assert_memory_equal(r.data, "self", 4);
            free(r.data);
            s_expect_fired(fx, 0, 1, 0, GORO_OK, false, NULL);
        }
        else { /* a sender completes the receive */
            assert_int_equal(s_send(fx, "u", "other", false, 0, NULL, &r),
                             GORO_OK);
            s_expect_fired(fx, 0, 1, 1, GORO_OK, false, "other");
        }
        assert_int_equal(fx->nfired, 1);
        s_expect_counts(fx, "u", 0, 0, 0);
    }
}

static void
test_select_errors(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    chan_result_t result;
    chan_park_t *park = T_OWNER(1);

    assert_int_equal(s_recv(fx, "nope", true, 0, &park, &result),
                     GORO_ENOTFOUND);
    assert_null(park);
    assert_int_equal(s_send(fx, "nope", "x", true, 0, &park, &result),
                     GORO_ENOTFOUND);

    /* one unknown channel fails the whole select, before anything
       happens: the ready send to "b" does not, and nothing parks on "u" */
    chan_case_t cases[] = {
        {GORO_CASE_SEND, "b", util_memdup("x", 1), 1},
        {GORO_CASE_RECV, "u", NULL, 0},
        {GORO_CASE_RECV, "nope", NULL, 0},
    };
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 3, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_ENOTFOUND);
    assert_null(park);
    assert_non_null(cases[0].data);
    s_expect_counts(fx, "b", 0, 0, 0);
    s_expect_counts(fx, "u", 0, 0, 0);

    cases[2].op = 0; /* neither send nor receive */
    cases[2].chan = "u";
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 3, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_EINVAL);
    cases[2].chan = NULL;
    cases[2].op = GORO_CASE_RECV;
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 3, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_ENOTFOUND);
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 0, true, NULL,
                                              &park, &result, &fx->pending)),
                     GORO_EINVAL);
    free(cases[0].data);
    s_expect_counts(fx, "b", 0, 0, 0);
    s_expect_counts(fx, "u", 0, 0, 0);
    assert_int_equal(fx->nfired, 0);
}

/* With two always-ready cases each should win half the time: a
   chi-square test (1 degree of freedom) under the 99.9% critical value.
   Run for receives, sends and a mix, with the table's fixed seed. */
static void
test_select_fairness(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "p", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "q", 1), GORO_OK);
    assert_int_equal(chan_make(fx->table, "big", T_FAIR_SELECTS * 2), GORO_OK);
    assert_int_equal(chan_make(fx->table, "big2", T_FAIR_SELECTS * 2),
                     GORO_OK);
    s_expect_send(fx, "p", "p");
    s_expect_send(fx, "q", "q");
    const int kinds[][2] = {
        {GORO_CASE_RECV, GORO_CASE_RECV},
        {GORO_CASE_SEND, GORO_CASE_SEND},
        {GORO_CASE_RECV, GORO_CASE_SEND},
    };
    for (size_t k = 0; k < 3; k++) {
        const char *names[2] = {
            kinds[k][0] == GORO_CASE_RECV ? "p" : "big",
            kinds[k][1] == GORO_CASE_RECV ? "q" : "big2",
        };
        long wins[2] = {0, 0};
        for (int n = 0; n < T_FAIR_SELECTS; n++) {
            chan_case_t cases[2];
            for (int i = 0; i < 2; i++) {
                cases[i].op = kinds[k][i];
                cases[i].chan = names[i];
                cases[i].data = kinds[k][i] == GORO_CASE_SEND
                                    ? util_memdup("s", 1)
                                    : NULL;
                cases[i].size = kinds[k][i] == GORO_CASE_SEND ? 1 : 0;
            }
            chan_result_t result;
            chan_park_t *park = NULL;
            assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2,
                                                      false, NULL, &park,
                                                      &result, &fx->pending)),
                             GORO_OK);
            assert_true(result.index < 2);
            int i = (int) result.index;
            wins[i]++;
            if (kinds[k][i] == GORO_CASE_RECV) {
                /* refill the channel it drained: both stay ready */
                assert_int_equal(result.size, 1);
                free(result.data);
                s_expect_send(fx, names[i], names[i]);
            }
            for (int j = 0; j < 2; j++)
                free(cases[j].data); /* the send that did not happen */
        }
        double expected = T_FAIR_SELECTS / 2.0;
        double chi2 = 0;
        for (int i = 0; i < 2; i++)
            chi2 += (wins[i] - expected) * (wins[i] - expected) / expected;
        print_message("select fairness %s/%s: %ld vs %ld, chi2 %.3f\n",
                      kinds[k][0] == GORO_CASE_RECV ? "recv" : "send",
                      kinds[k][1] == GORO_CASE_RECV ? "recv" : "send", wins[0],
                      wins[1], chi2);
        assert_true(wins[0] + wins[1] == T_FAIR_SELECTS);
        if (chi2 >= T_CHI2_999)
            fail_msg("select is not uniform: %ld vs %ld, chi2 %.2f >= %.2f",
                     wins[0], wins[1], chi2, T_CHI2_999);
    }
    assert_int_equal(fx->nfired, 0);
}

/* 100,000 channels, each with a parked receiver; a send to each then
   completes at once and fires exactly that receiver. Correctness only. */
static void
test_scale_parked_receivers(void **state)
{
    fixture_t *fx = *state;
    char name[32], text[32];
    for (int i = 0; i < T_SCALE; i++) {
        snprintf(name, sizeof name, "ch-%d", i);
        assert_int_equal(chan_make(fx->table, name, 0), GORO_OK);
        chan_case_t one = {GORO_CASE_RECV, name, NULL, 0};
        chan_park_t *park = NULL;
        chan_result_t result;
        assert_int_equal(s_record(fx, chan_select(fx->table, &one, 1, true,
                                                  T_OWNER(i + 1), &park,
                                                  &result, &fx->pending)),
                         GORO_OK);
        assert_non_null(park);
    }
    assert_int_equal(chan_table_size(fx->table), T_SCALE);
    assert_int_equal(fx->nfired, 0);
    for (int i = T_SCALE - 1; i >= 0; i--) { /* in another order */
        snprintf(name, sizeof name, "ch-%d", i);
        snprintf(text, sizeof text, "v%d", i);
        chan_case_t one = {GORO_CASE_SEND, name,
                           util_memdup(text, strlen(text)), strlen(text)};
        chan_park_t *park = NULL;
        chan_result_t result;
        assert_int_equal(s_record(fx,
                                  chan_select(fx->table, &one, 1, true, NULL,
                                              &park, &result, &fx->pending)),
                         GORO_OK);
        assert_null(park); /* completed, did not park */
        assert_int_equal(result.code, GORO_OK);
        size_t n = (size_t) (T_SCALE - 1 - i);
        if (fx->nfired != n + 1)
            fail_msg("send %d fired %zu parks", i, fx->nfired - n);
        fired_t *f = &fx->fired[n];
        assert_ptr_equal(f->owner, T_OWNER(i + 1));
        assert_string_equal(f->data, text);
    }
    assert_int_equal(chan_table_bytes(fx->table), 0);
    s_expect_counts(fx, "ch-0", 0, 0, 0);
    s_expect_counts(fx, "ch-99999", 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/*  batches                                                           */
/* ------------------------------------------------------------------ */

/* A batched send of the comma-separated TEXTS ("" is no value). */
static int
s_send_many(fixture_t *fx, const char *chan, const char *texts, bool may_park,
            int owner, chan_park_t **park_out, chan_result_t *result)
{
    goro_msg_value_t *values = util_zalloc(sizeof *values * 16);
    size_t n = 0;
    for (const char *at = texts; *at; n++) {
        size_t len = strcspn(at, ",");
        values[n].data = util_memdup(at, len);
        values[n].size = len;
        at += len + (at[len] == ',');
    }
    int rc = s_record(fx, chan_send_many(fx->table, chan, &values, n, may_park,
                                         T_OWNER(owner), park_out, result,
                                         &fx->pending));
    assert_null(values); /* taken whatever happened */
    return rc;
}

/* Receives a batch of at most MAX now, expects TEXTS, and returns its
   delivery, not yet acknowledged. */
static uint64_t
s_expect_recv_many(fixture_t *fx, const char *chan, size_t max,
                   const char *texts)
{
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(
        s_record(fx,
                 chan_recv_many(fx->table, chan,
                                &(chan_batch_t){max, SIZE_MAX, false}, false,
                                NULL, &park, &result, &fx->pending)),
        GORO_OK);
    assert_null(park);
    assert_false(result.closed);
    assert_non_null(result.values);
    char *got = s_joined(result.values, result.count);
    assert_string_equal(got, texts);
    free(got);
    free(result.values);
    return result.delivery;
}

static void
test_send_many_fits_then_parks_in_order(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 3), GORO_OK);
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(
        s_send_many(fx, "b", "a,b,c,d,e", true, 1, &park, &result), GORO_OK);
    assert_non_null(park); /* three fit, two wait */
    assert_int_equal(result.count, 3);
    s_expect_counts(fx, "b", 3, 1, 0);
    /* a later single send queues behind the batch's rest */
    s_park_send(fx, "b", "f", 2);
    s_expect_recv(fx, "b", "a"); /* d moves into the buffer */
    s_expect_counts(fx, "b", 3, 2, 0);
    assert_int_equal(fx->nfired, 0);
    /* the buffer, then what parked senders hold, in order */
    assert_int_equal(s_ack(fx->table,
                           s_expect_recv_many(fx, "b", 10, "b,c,d,e,f"), NULL),
                     GORO_OK);
    assert_int_equal(fx->nfired, 2);
    s_expect_fired(fx, 0, 1, 0, GORO_OK, false, NULL);
    assert_int_equal(fx->fired[0].count, 5);
    s_expect_fired(fx, 1, 2, 0, GORO_OK, false, NULL);
    s_expect_counts(fx, "b", 0, 0, 0);
    assert_int_equal(chan_table_bytes(fx->table), 0);

    /* try once: what fits goes, the rest is dropped and reported */
    assert_int_equal(s_send_many(fx, "b", "x,y,z,w", false, 3, &park, &result),
                     GORO_OK);
    assert_null(park);
    assert_int_equal(result.code, GORO_ETIMEDOUT);
    assert_int_equal(result.count, 3);
    s_expect_counts(fx, "b", 3, 0, 0);
    assert_int_equal(s_ack(fx->table, s_expect_recv_many(fx, "b", 2, "x,y"),
                           NULL),
                     GORO_OK);
    s_expect_recv(fx, "b", "z");
}

/* Values read ahead hold their slots until taken; an ACK of their
   delivery, as a CHAN_TAKEN of all, frees them and the parked sender
   goes into the buffer. */
static void
test_ack_of_read_ahead_makes_room(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 2), GORO_OK);
    assert_int_equal(s_send(fx, "b", "a", false, 1, NULL, NULL), GORO_OK);
    assert_int_equal(s_send(fx, "b", "b", false, 1, NULL, NULL), GORO_OK);
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "b",
                                    &(chan_batch_t){2, SIZE_MAX, true}, false,
                                    NULL, &park, &result, &fx->pending)),
        GORO_OK);
    assert_int_equal(result.count, 2); /* a, and b held ahead */
    uint64_t delivery = result.delivery;
    free(result.values);
    assert_int_equal(s_send(fx, "b", "c", false, 1, NULL, NULL), GORO_OK);
    s_park_send(fx, "b", "d", 2); /* b and c fill the two slots */
    s_expect_counts(fx, "b", 2, 1, 0);
    assert_int_equal(s_record(fx, chan_ack(fx->table, delivery, NULL,
                                           &fx->pending)),
                     GORO_OK);
    s_expect_fired(fx, 0, 2, 0, GORO_OK, false, NULL);
    s_expect_counts(fx, "b", 2, 0, 0); /* c, d */
}

static void
test_send_many_to_parked_receivers(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    s_park_recv(fx, "u", 1);
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "u",
                                    &(chan_batch_t){2, SIZE_MAX, false}, true,
                                    T_OWNER(2), &park, &result, &fx->pending)),
        GORO_OK);
    assert_non_null(park);
    assert_int_equal(s_send_many(fx, "u", "a,b,c,d", true, 3, &park, &result),
                     GORO_OK);
    assert_non_null(park); /* d waits for a receiver */
    assert_int_equal(result.count, 3);
    s_expect_fired(fx, 0, 1, 0, GORO_OK, false, "a");
    s_expect_fired(fx, 1, 2, 0, GORO_OK, false, "b,c");
    s_expect_counts(fx, "u", 0, 1, 0);
    /* closed mid-batch: the sender learns how many went */
    assert_int_equal(s_record(fx, chan_close(fx->table, "u", &fx->pending)),
                     GORO_OK);
    s_expect_fired(fx, 2, 3, 0, GORO_ECLOSED, false, NULL);
    assert_int_equal(fx->fired[2].count, 3);
    assert_int_equal(s_send_many(fx, "u", "e", true, 4, &park, &result),
                     GORO_OK);
    assert_null(park);
    assert_int_equal(result.code, GORO_ECLOSED);
    assert_int_equal(result.count, 0);
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "u",
                                    &(chan_batch_t){5, SIZE_MAX, false}, true,
                                    NULL, &park, &result, &fx->pending)),
        GORO_OK);
    assert_null(park);
    assert_true(result.closed);
    assert_int_equal(result.count, 0);
}

static void
test_recv_many_limits_and_return(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 10), GORO_OK);
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_send_many(fx, "b", "aa,bb,cc,dd,ee", true, 1, &park,
                                 &result),
                     GORO_OK);
    assert_null(park);
    assert_int_equal(result.code, GORO_OK);
    assert_int_equal(result.count, 5);
    /* at most 5 bytes: the first whatever its size, then what fits */
    assert_int_equal(
        s_record(fx,
                 chan_recv_many(fx->table, "b", &(chan_batch_t){10, 5, false},
                                false, NULL, &park, &result, &fx->pending)),
        GORO_OK);
    assert_int_equal(result.count, 2);
    free(result.values);
    uint64_t first = result.delivery;
    s_expect_recv(fx, "b", "cc");
    /* the receiver of the first batch vanishes: both values go back to
       the head, in order, ahead of what is still buffered */
    assert_int_equal(s_return(fx, first), GORO_OK);
    s_expect_counts(fx, "b", 4, 0, 0);
    assert_int_equal(
        s_ack(fx->table, s_expect_recv_many(fx, "b", 10, "aa,bb,dd,ee"), NULL),
        GORO_OK);
    assert_int_equal(s_ack(fx->table, first, NULL), GORO_ENOTFOUND);
    assert_int_equal(chan_table_bytes(fx->table), 0);
    /* nothing there: try once fails, a parked batch takes the next send */
    assert_int_equal(
        s_record(fx,
                 chan_recv_many(fx->table, "b",
                                &(chan_batch_t){10, SIZE_MAX, false}, false,
                                NULL, &park, &result, &fx->pending)),
        GORO_ETIMEDOUT);
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "b",
                                    &(chan_batch_t){0, SIZE_MAX, false}, true,
                                    NULL, &park, &result, &fx->pending)),
        GORO_EINVAL);
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "nope",
                                    &(chan_batch_t){1, SIZE_MAX, false}, true,
                                    NULL, &park, &result, &fx->pending)),
        GORO_ENOTFOUND);
    assert_int_equal(
        s_record(fx, chan_recv_many(fx->table, "b",
                                    &(chan_batch_t){10, SIZE_MAX, false}, true,
                                    T_OWNER(7), &park, &result, &fx->pending)),
        GORO_OK);
    assert_non_null(park);
    s_expect_send(fx, "b", "ff");
    s_expect_fired(fx, 0, 7, 0, GORO_OK, false, "ff");
}

static void
test_withdraw_batch_reports_sent(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "b", 1), GORO_OK);
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_send_many(fx, "b", "a,b,c", true, 1, &park, &result),
                     GORO_OK);
    assert_non_null(park);
    s_expect_recv(fx, "b", "a"); /* b moves into the buffer */
    assert_int_equal(chan_park_withdraw(fx->table, &park), 2);
    assert_null(park);
    s_expect_counts(fx, "b", 1, 0, 0); /* c never appears */
    s_expect_recv(fx, "b", "b");
    assert_int_equal(fx->nfired, 0);
    assert_int_equal(s_send_many(fx, "b", "", true, 1, &park, &result),
                     GORO_EINVAL);
    assert_int_equal(s_send_many(fx, "nope", "a", true, 1, &park, &result),
                     GORO_ENOTFOUND);
}

/* Parks select 1, a send and a receive on unbuffered "u", as
   test_select_does_not_match_itself does. */
static void
s_park_self_select(fixture_t *fx)
{
    chan_case_t cases[] = {
        {GORO_CASE_SEND, "u", util_memdup("self", 4), 4},
        {GORO_CASE_RECV, "u", NULL, 0},
    };
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(s_record(fx, chan_select(fx->table, cases, 2, true,
                                              T_OWNER(1), &park, &result,
                                              &fx->pending)),
                     GORO_OK);
    assert_non_null(park);
    s_expect_counts(fx, "u", 0, 1, 1);
}

/* Every path that matches parked operations skips the select's own
   other case: a batched send, a batched receive, a value given back, and
   close (the receive fires with "closed", as Go's close wakes receivers
   before senders). The parked counts stay exact throughout. */
static void
test_select_self_pair_every_path(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(chan_make(fx->table, "u", 0), GORO_OK);
    chan_park_t *park = NULL;
    chan_result_t result;

    /* a batched send: the select's receive takes the first value, the
       second waits for a receiver */
    s_park_self_select(fx);
    assert_int_equal(s_send_many(fx, "u", "a,b", true, 2, &park, &result),
                     GORO_OK);
    assert_non_null(park);
    assert_int_equal(result.count, 1);
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 1, 1, GORO_OK, false, "a");
    s_expect_counts(fx, "u", 0, 1, 0);
    s_expect_recv(fx, "u", "b");
    s_expect_fired(fx, 1, 2, 0, GORO_OK, false, NULL);
    assert_int_equal(fx->fired[1].count, 2);
    s_expect_counts(fx, "u", 0, 0, 0);

    /* a batched receive takes the select's send and nothing more */
    s_fired_clear(fx);
    s_park_self_select(fx);
    assert_int_equal(s_ack(fx->table, s_expect_recv_many(fx, "u", 10, "self"),
                           NULL),
                     GORO_OK);
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 1, 0, GORO_OK, false, NULL);
    s_expect_counts(fx, "u", 0, 0, 0);

    /* a value given back goes to the select's receive */
    s_fired_clear(fx);
    s_park_send(fx, "u", "held", 3);
    assert_int_equal(s_recv(fx, "u", false, 0, NULL, &result), GORO_OK);
    uint64_t delivery = result.delivery; /* not acknowledged */
    free(result.data);
    s_fired_clear(fx);
    s_park_self_select(fx);
    assert_int_equal(s_return(fx, delivery), GORO_OK);
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 1, 1, GORO_OK, false, "held");
    s_expect_counts(fx, "u", 0, 0, 0);

    /* close: the receive case reports "closed", the send case never
       fails */
    s_fired_clear(fx);
    s_park_self_select(fx);
    assert_int_equal(s_record(fx, chan_close(fx->table, "u", &fx->pending)),
                     GORO_OK);
    assert_int_equal(fx->nfired, 1);
    s_expect_fired(fx, 0, 1, 1, GORO_OK, true, NULL);
    s_expect_counts(fx, "u", 0, 0, 0);
    assert_int_equal(chan_table_bytes(fx->table), 0);
}

#define T_FIXTURE(test) \
    cmocka_unit_test_setup_teardown(test, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T_FIXTURE(test_make),
        T_FIXTURE(test_unbuffered_send_waits_for_receiver),
        T_FIXTURE(test_unbuffered_receiver_first),
        T_FIXTURE(test_buffered_capacity),
        T_FIXTURE(test_fifo_values),
        T_FIXTURE(test_delivery_ack_and_return),
        T_FIXTURE(test_return_over_capacity),
        T_FIXTURE(test_fcfs_parked_senders),
        T_FIXTURE(test_fcfs_parked_receivers),
        T_FIXTURE(test_close_later_sends_fail),
        T_FIXTURE(test_close_fails_parked_senders),
        T_FIXTURE(test_close_receivers_drain_then_closed),
        T_FIXTURE(test_close_releases_parked_receivers),
        T_FIXTURE(test_close_twice_and_unknown),
        T_FIXTURE(test_try_once_leaves_no_trace),
        T_FIXTURE(test_withdraw_leaves_no_trace),
        T_FIXTURE(test_destroy_with_parks),
        T_FIXTURE(test_select_send_and_receive_cases),
        T_FIXTURE(test_select_exactly_one_case),
        T_FIXTURE(test_select_does_not_match_itself),
        T_FIXTURE(test_select_errors),
        T_FIXTURE(test_select_fairness),
        T_FIXTURE(test_scale_parked_receivers),
        T_FIXTURE(test_send_many_fits_then_parks_in_order),
        T_FIXTURE(test_ack_of_read_ahead_makes_room),
        T_FIXTURE(test_send_many_to_parked_receivers),
        T_FIXTURE(test_recv_many_limits_and_return),
        T_FIXTURE(test_withdraw_batch_reports_sent),
        T_FIXTURE(test_select_self_pair_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
