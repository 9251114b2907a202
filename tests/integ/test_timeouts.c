/*  test_timeouts (integration) - no timeout fires early.

    Go's timers never fire before their duration: a select, receive,
    send, waitgroup wait or job wait given t ms returns ETIMEDOUT no
    sooner than t ms after the call. Each kind is called T_ROUNDS times
    with a short timeout against a real gorod and timed with the
    nanosecond monotonic clock; every call must take at least its
    timeout. A deadline computed from a clock cut to whole milliseconds
    comes up to 1 ms early whenever gorod's loop wakes for something else
    in the meantime, so another client keeps it busy with pings while
    the calls are timed, as other traffic would.

    Also printed, never asserted: how late the latest call was
    ("MEASURE timeout_late_max_us=...").
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define T_NO_POOL "pools: []\n"
#define T_ROUNDS 40
#define T_TIMEOUT_MS 3
#define T_NOISE_PINGS 1000000 /* bound; stopped long before */

#define H ((harness_t *) *state)

typedef int call_fn(goro_t *client, int64_t timeout_ms);

static int64_t s_late_max_ns;

static int64_t
s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Calls CALL T_ROUNDS times: each must time out, and none early. */
static void
s_never_early(goro_t *client, const char *what, call_fn *call)
{
    for (int i = 0; i < T_ROUNDS; i++) {
        int64_t started = s_now_ns();
        int rc = call(client, T_TIMEOUT_MS);
        int64_t took = s_now_ns() - started;
        if (rc != GORO_ETIMEDOUT)
            fail_msg("%s, round %d: %s, not a timeout", what, i,
                     goro_strerror(rc));
        int64_t late = took - (int64_t) T_TIMEOUT_MS * 1000000;
        if (late < 0)
            fail_msg("%s, round %d: a %d ms timeout fired after %.3f ms", what,
                     i, T_TIMEOUT_MS, (double) took / 1e6);
        if (late > s_late_max_ns)
            s_late_max_ns = late;
    }
}

static int
s_select(goro_t *client, int64_t timeout_ms)
{
    goro_case_t cases[] = {
        {GORO_CASE_RECV, "empty", NULL, 0, 0},
        {GORO_CASE_SEND, "full", "x", 1, 0},
    };
    size_t fired;
    return goro_select(client, cases, 2, timeout_ms, &fired);
}

static int
s_recv(goro_t *client, int64_t timeout_ms)
{
    void *data = NULL;
    size_t len;
    int rc = goro_chan_recv(client, "empty", timeout_ms, &data, &len);
    goro_free(data);
    return rc;
}

static int
s_send(goro_t *client, int64_t timeout_ms)
{
    return goro_chan_send(client, "full", "x", 1, timeout_ms);
}

static int
s_send_many(goro_t *client, int64_t timeout_ms)
{
    const void *datas[] = {"x"};
    size_t lens[] = {1}, sent;
    return goro_chan_send_many(client, "full", 1, datas, lens, timeout_ms,
                               &sent);
}

static int
s_wg_wait(goro_t *client, int64_t timeout_ms)
{
    return goro_wg_wait(client, "pending", timeout_ms);
}

static uint64_t s_queued_job;

static int
s_job_wait(goro_t *client, int64_t timeout_ms)
{
    goro_job_t *job = NULL;
    int rc = goro_job_wait(client, s_queued_job, timeout_ms, &job);
    goro_job_destroy(&job);
    return rc;
}

/* goro_run's wait limit: GORO_ETIMEDOUT with the job still queued. */
static int
s_run(goro_t *client, int64_t timeout_ms)
{
    goro_job_t *job = NULL;
    int rc = goro_run(client, "nobody-serves-this", "", 0, NULL, timeout_ms,
                      &job);
    if (rc == GORO_ETIMEDOUT && goro_job_state(job) != GORO_JOB_QUEUED)
        rc = GORO_ESTATE;
    goro_job_destroy(&job);
    return rc;
}

typedef struct {
    const char *endpoint;
    atomic_bool stop;
} noise_t;

/* Other traffic: pings on a client of its own until told to stop. */
static void *
s_noise(void *arg)
{
    noise_t *noise = arg;
    goro_t *client = goro_new(noise->endpoint);
    for (int i = 0; i < T_NOISE_PINGS && !atomic_load(&noise->stop); i++)
        if (goro_ping(client, 5000) != GORO_OK)
            break;
    goro_destroy(&client);
    return NULL;
}

/* Every blocking call that takes a timeout, through one gorod. */
static void
test_no_timeout_fires_early(void **state)
{
    goro_t *client = harness_client(harness_up(state, T_NO_POOL));
    assert_int_equal(goro_chan_make(client, "empty", 0), GORO_OK);
    assert_int_equal(goro_chan_make(client, "full", 1), GORO_OK);
    assert_int_equal(goro_chan_send(client, "full", "x", 1, 0), GORO_OK);
    assert_int_equal(goro_wg_add(client, "pending", 1), GORO_OK);
    assert_int_equal(goro_go(client, "nobody-serves-this", "", 0, NULL,
                             &s_queued_job),
                     GORO_OK);

    noise_t noise = {.endpoint = harness_clients(H)};
    atomic_init(&noise.stop, false);
    pthread_t pinger;
    assert_int_equal(pthread_create(&pinger, NULL, s_noise, &noise), 0);
    s_never_early(client, "select", s_select);
    s_never_early(client, "recv", s_recv);
    s_never_early(client, "send", s_send);
    s_never_early(client, "send_many", s_send_many);
    s_never_early(client, "wg wait", s_wg_wait);
    s_never_early(client, "job wait", s_job_wait);
    s_never_early(client, "run", s_run);
    atomic_store(&noise.stop, true);
    pthread_join(pinger, NULL);
    printf("MEASURE timeout_late_max_us=%.0f (%d ms timeouts, %d calls of "
           "each kind)\n",
           (double) s_late_max_ns / 1e3, T_TIMEOUT_MS, T_ROUNDS);
    fflush(stdout);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_no_timeout_fires_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
