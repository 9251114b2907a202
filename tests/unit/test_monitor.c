/*  test_monitor - monitor.c on a real ROUTER: connections the listener
    could not accept for lack of descriptors are logged, the first at
    once, with the errno's text and the hint on stalled peers; the ones
    after it within MONITOR_LOG_MS make no line, and are counted into the
    line that comes once MONITOR_LOG_MS have passed. An idle monitor logs
    nothing.

    The refusals are real: the test lowers its own RLIMIT_NOFILE, fills
    the descriptor table, then connects TCP sockets it made beforehand,
    so libzmq's accept() fails with EMFILE. The log goes to a temporary
    file through zsys_set_logstream. Drains pass NOW explicitly, so the
    10 s of rate limiting take no time.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor.h"

/* libzmq reports a failed accept within this on a loaded machine; the
   wait ends as soon as it does. */
#define T_WAIT_MS 5000
#define T_CONNECTS 16  /* connections refused per round */
#define T_REFILL_MS 20 /* how often freed descriptors are taken */
#define T_FILLERS 4096 /* at most this many descriptors filled */

typedef struct {
    zsock_t *router;
    monitor_t *monitor;
    struct sockaddr_in addr;
    FILE *log;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    int port = zsock_bind(fx->router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    fx->monitor = monitor_new(fx->router, "clients");
    assert_non_null(fx->monitor);
    fx->addr.sin_family = AF_INET;
    fx->addr.sin_port = htons((uint16_t) port);
    fx->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fx->log = tmpfile();
    assert_non_null(fx->log);
    zsys_set_logstream(fx->log);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    zsys_set_logstream(stderr);
    fclose(fx->log);
    monitor_destroy(&fx->monitor);
    assert_null(fx->monitor);
    monitor_destroy(&fx->monitor);
    zsock_destroy(&fx->router);
    free(fx);
    return 0;
}

/* What was logged since the last call. Caller frees it. */
static char *
s_log_since(fixture_t *fx, long *offset)
{
    fflush(fx->log);
    long end = ftell(fx->log);
    size_t size = (size_t) (end - *offset);
    char *text = calloc(1, size + 1);
    assert_non_null(text);
    assert_int_equal(fseek(fx->log, *offset, SEEK_SET), 0);
    assert_int_equal(fread(text, 1, size, fx->log), size);
    *offset = end;
    return text;
}

static size_t
s_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* monitor_drain as of NOW until no event is left (it reads a batch). */
static void
s_drain_all(fixture_t *fx, int64_t now)
{
    zmq_pollitem_t item = {monitor_socket(fx->monitor), 0, ZMQ_POLLIN, 0};
    do
        monitor_drain(fx->monitor, now);
    while (zmq_poll(&item, 1, 0) == 1);
}

/* Fills the descriptor table with copies of FD, into FILLERS. */
static void
s_fill(int *fillers, size_t *filled, int fd)
{
    while (*filled < T_FILLERS && (fillers[*filled] = dup(fd)) >= 0)
        (*filled)++;
}

/* T_CONNECTS connections the listener cannot accept: the sockets are
   made first, then the descriptor table is filled under a lowered soft
   limit, then they connect (which needs no descriptor); once libzmq has
   reported a refusal, everything is given back. The events are read
   with monitor_drain as of NOW. */
static void
s_refused_connections(fixture_t *fx, int64_t now)
{
    int clients[T_CONNECTS];
    for (size_t i = 0; i < T_CONNECTS; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(clients[i] >= 0);
    }
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = old;
    low.rlim_cur = (rlim_t) (clients[T_CONNECTS - 1] + 64);
    if (low.rlim_cur > old.rlim_cur)
        low.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int *fillers = calloc(T_FILLERS, sizeof *fillers);
    assert_non_null(fillers);
    size_t filled = 0;
    s_fill(fillers, &filled, clients[0]);
    int dup_errno = errno;
    for (size_t i = 0; i < T_CONNECTS; i++)
        connect(clients[i], (struct sockaddr *) &fx->addr, sizeof fx->addr);
    /* libzmq may still close a connection of an earlier round and free a
       descriptor, which an accept would then get: take each one back
       while waiting. */
    zmq_pollitem_t item = {monitor_socket(fx->monitor), 0, ZMQ_POLLIN, 0};
    int64_t until = zclock_mono() + T_WAIT_MS;
    int ready = 0;
    while (ready != 1 && zclock_mono() < until) {
        s_fill(fillers, &filled, clients[0]);
        ready = zmq_poll(&item, 1, T_REFILL_MS);
    }
    for (size_t i = 0; i < filled; i++)
        close(fillers[i]);
    free(fillers);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    for (size_t i = 0; i < T_CONNECTS; i++)
        close(clients[i]);
    assert_int_equal(dup_errno, EMFILE);
    if (ready != 1)
        fail_msg("no refusal reported within %d ms", T_WAIT_MS);
    /* A ZeroMQ peer queued behind them: once its message is in, the
       listener accepts again, and every refusal before it has been
       reported. The events are drained meanwhile, as gorod's loop does:
       libzmq's I/O thread waits while the monitor's queue is full. */
    zsock_t *peer = zsock_new(ZMQ_DEALER);
    assert_non_null(peer);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
             ntohs(fx->addr.sin_port));
    assert_int_equal(zsock_connect(peer, "%s", endpoint), 0);
    assert_int_equal(zstr_send(peer, "after"), 0);
    until = zclock_mono() + T_WAIT_MS;
    bool in = false;
    while (!in && zclock_mono() < until) {
        zmq_pollitem_t items[] = {
            {monitor_socket(fx->monitor), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(fx->router), 0, ZMQ_POLLIN, 0},
        };
        assert_true(zmq_poll(items, 2, until - zclock_mono()) >= 0);
        if (items[0].revents & ZMQ_POLLIN)
            monitor_drain(fx->monitor, now);
        in = items[1].revents & ZMQ_POLLIN;
    }
    if (!in)
        fail_msg("the listener did not accept again within %d ms", T_WAIT_MS);
    zmsg_t *msg = zmsg_recv(fx->router);
    zmsg_destroy(&msg);
    zsock_destroy(&peer);
    s_drain_all(fx, now);
}

static void
test_idle_logs_nothing(void **state)
{
    fixture_t *fx = *state;
    long offset = ftell(fx->log);
    monitor_drain(fx->monitor, 1000);
    char *text = s_log_since(fx, &offset);
    assert_string_equal(text, "");
    free(text);
}

static void
test_refusals_rate_limited(void **state)
{
    fixture_t *fx = *state;
    long offset = ftell(fx->log);
    int64_t now = 1000000;

    s_refused_connections(fx, now);
    char *text = s_log_since(fx, &offset);
    assert_int_equal(s_lines(text), 1);
    if (!strstr(text, "clients: ")
        || !strstr(text, " connection(s) "
                         "refused: Too many open files;"
                         " stalled peers are dropped "
                         "after limits.handshake_timeout"
                         " (open files limit "))
        fail_msg("first line: %s", text);
    free(text);

    /* More within MONITOR_LOG_MS: counted, not logged. */
    s_refused_connections(fx, now + 1);
    s_drain_all(fx, now + MONITOR_LOG_MS - 1);
    text = s_log_since(fx, &offset);
    assert_string_equal(text, "");
    free(text);

    /* Then one line, with them in its count. */
    s_drain_all(fx, now + MONITOR_LOG_MS);
    text = s_log_since(fx, &offset);
    assert_int_equal(s_lines(text), 1);
    const char *count = strstr(text, "clients: ");
    assert_non_null(count);
    unsigned long refused = strtoul(count + strlen("clients: "), NULL, 10);
    assert_true(refused >= 1);
    assert_non_null(strstr(text, "Too many open files"));
    free(text);

    /* Nothing new since: no line, however late. */
    monitor_drain(fx->monitor, now + 10 * MONITOR_LOG_MS);
    text = s_log_since(fx, &offset);
    assert_string_equal(text, "");
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idle_logs_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_rate_limited, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
