/*  zmq_floor - raw ZeroMQ, no goro: the floor that goro's numbers are
    held against. Every hop is a real process on loopback TCP, as with
    gorod, and every broker is a plain zmq_poll loop.

        zmq_floor onehop   N MAXSEC        client DEALER -> server ROUTER, echo
        zmq_floor twohop   N MAXSEC        client DEALER -> broker
   ROUTER|ROUTER
                                           -> worker DEALER, and back
        zmq_floor pushpull N MAXSEC SIZE   producer PUSH -> broker PULL|PUSH ->
                                           consumer PULL; msgs/s

    Prints `result ...` lines (bench_util.h). Loops stop after N rounds or
    MAXSEC seconds.
*/
#include "bench_util.h"

#include <zmq.h>

#define WARMUP 200

static void
s_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "zmq_floor: %s: %s\n", what,
                zmq_strerror(zmq_errno()));
        exit(1);
    }
}

/* Binds SOCK to a free loopback port and returns the port. */
static int
s_bind_any(void *sock)
{
    s_check(zmq_bind(sock, "tcp://127.0.0.1:*") == 0, "bind");
    char endpoint[256];
    size_t size = sizeof endpoint;
    zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &size);
    return atoi(strrchr(endpoint, ':') + 1);
}

static void *
s_connect(void *ctx, int type, int port)
{
    void *sock = zmq_socket(ctx, type);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    s_check(zmq_connect(sock, endpoint) == 0, "connect");
    return sock;
}

/* Moves one (possibly multipart) message from FROM to TO. */
static void
s_relay(void *from, void *to)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    for (;;) {
        s_check(zmq_msg_recv(&part, from, 0) >= 0, "recv");
        int more = zmq_msg_more(&part);
        s_check(zmq_msg_send(&part, to, more ? ZMQ_SNDMORE : 0) >= 0, "send");
        if (!more)
            break;
    }
    zmq_msg_close(&part);
}

/* Measures N round trips of a 16-byte request on the DEALER SOCK. */
static void
s_measure_rtt(void *sock, size_t n, double maxsec)
{
    double *samples = calloc(n, sizeof *samples);
    char buf[64] = "0123456789abcdef";
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        s_check(zmq_send(sock, buf, 16, 0) == 16, "send");
        s_check(zmq_recv(sock, buf, sizeof buf, 0) >= 0, "recv");
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    bench_report_latency(samples, done, 1);
    free(samples);
}

/* ---- one hop --------------------------------------------------------- */

static void
s_echo_server(int fd)
{
    bench_die_with_parent();
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    bench_tell(fd, s_bind_any(router));
    for (;;)
        s_relay(router, router); /* [id][payload] back to its sender */
}

static int
s_onehop(size_t n, double maxsec)
{
    int fds[2];
    s_check(pipe(fds) == 0, "pipe");
    pid_t server = fork();
    if (server == 0)
        s_echo_server(fds[1]);
    int port = (int) bench_hear(fds[0]);
    void *ctx = zmq_ctx_new();
    void *dealer = s_connect(ctx, ZMQ_DEALER, port);
    s_measure_rtt(dealer, n, maxsec);
    bench_reap(&server, 1);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    return 0;
}

/* ---- two hops through a ROUTER-ROUTER broker ------------------------- */

static void
s_broker(int fd)
{
    bench_die_with_parent();
    void *ctx = zmq_ctx_new();
    void *front = zmq_socket(ctx, ZMQ_ROUTER);
    void *back = zmq_socket(ctx, ZMQ_ROUTER);
    bench_tell(fd, s_bind_any(front));
    bench_tell(fd, s_bind_any(back));
    char worker[256];
    int worker_len = -1;
    zmq_msg_t part;
    zmq_msg_init(&part);
    for (;;) {
        zmq_pollitem_t items[2] = {{back, 0, ZMQ_POLLIN, 0},
                                   {front, 0, ZMQ_POLLIN, 0}};
        /* no worker yet: do not take requests */
        s_check(zmq_poll(items, worker_len < 0 ? 1 : 2, -1) >= 0, "poll");
        if (items[1].revents & ZMQ_POLLIN) {
            /* [client id][payload] -> [worker id][client id][payload] */
            s_check(zmq_send(back, worker, (size_t) worker_len, ZMQ_SNDMORE)
                        >= 0,
                    "send");
            s_relay(front, back);
        }
        if (items[0].revents & ZMQ_POLLIN) {
            /* [worker id][READY] or [worker id][client id][payload] */
            int len = zmq_recv(back, worker, sizeof worker, 0);
            s_check(len >= 0, "recv");
            s_check(zmq_msg_recv(&part, back, 0) >= 0, "recv");
            if (!zmq_msg_more(&part)) {
                worker_len = len; /* READY */
                bench_tell(fd, 0);
                continue;
            }
            s_check(zmq_msg_send(&part, front, ZMQ_SNDMORE) >= 0, "send");
            s_relay(back, front);
        }
    }
}

static void
s_echo_worker(int port)
{
    bench_die_with_parent();
    void *ctx = zmq_ctx_new();
    void *dealer = s_connect(ctx, ZMQ_DEALER, port);
    s_check(zmq_send(dealer, "READY", 5, 0) == 5, "send");
    for (;;)
        s_relay(dealer, dealer); /* [client id][payload] back */
}

static int
s_twohop(size_t n, double maxsec)
{
    int fds[2];
    s_check(pipe(fds) == 0, "pipe");
    pid_t pids[2] = {0, 0};
    pids[0] = fork();
    if (pids[0] == 0)
        s_broker(fds[1]);
    int front = (int) bench_hear(fds[0]);
    int back = (int) bench_hear(fds[0]);
    pids[1] = fork();
    if (pids[1] == 0)
        s_echo_worker(back);
    if (bench_hear(fds[0]) != 0) {
        bench_reap(pids, 2);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    void *dealer = s_connect(ctx, ZMQ_DEALER, front);
    s_measure_rtt(dealer, n, maxsec);
    bench_reap(pids, 2);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    return 0;
}

/* ---- PUSH-PULL through a broker -------------------------------------- */

static void
s_stream_broker(int fd)
{
    bench_die_with_parent();
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    bench_tell(fd, s_bind_any(pull));
    bench_tell(fd, s_bind_any(push));
    for (;;)
        s_relay(pull, push);
}

static void
s_producer(int port, size_t n, double maxsec, size_t size)
{
    bench_die_with_parent();
    void *ctx = zmq_ctx_new();
    void *push = s_connect(ctx, ZMQ_PUSH, port);
    char *value = calloc(1, size + 1);
    memset(value, 'v', size);
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n && bench_now() < deadline; i++)
        s_check(zmq_send(push, value, size, 0) >= 0, "send");
    s_check(zmq_send(push, "", 0, 0) == 0, "send"); /* the end */
    zmq_close(push);
    zmq_ctx_term(ctx); /* lingers until everything left */
    _exit(0);
}

static int
s_pushpull(size_t n, double maxsec, size_t size)
{
    int fds[2];
    s_check(pipe(fds) == 0, "pipe");
    pid_t pids[2] = {0, 0};
    pids[0] = fork();
    if (pids[0] == 0)
        s_stream_broker(fds[1]);
    int front = (int) bench_hear(fds[0]);
    int back = (int) bench_hear(fds[0]);
    /* the consumer connects first, so no message waits for it */
    void *ctx = zmq_ctx_new();
    void *pull = s_connect(ctx, ZMQ_PULL, back);
    pids[1] = fork();
    if (pids[1] == 0)
        s_producer(front, n, maxsec, size);
    char *buf = malloc(size + 1);
    size_t count = 0;
    double first = 0, last = 0;
    for (;;) {
        int len = zmq_recv(pull, buf, size + 1, 0);
        s_check(len >= 0, "recv");
        if (len == 0)
            break;
        last = bench_now();
        if (count++ == 0)
            first = last;
    }
    bench_report_rate((double) (count - 1), last - first);
    waitpid(pids[1], NULL, 0);
    pids[1] = 0;
    bench_reap(pids, 2);
    free(buf);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: zmq_floor onehop|twohop|pushpull N MAXSEC "
                        "[SIZE]\n");
        return 2;
    }
    size_t n = (size_t) atol(argv[2]);
    double maxsec = atof(argv[3]);
    if (!strcmp(argv[1], "onehop"))
        return s_onehop(n, maxsec);
    if (!strcmp(argv[1], "twohop"))
        return s_twohop(n, maxsec);
    if (!strcmp(argv[1], "pushpull") && argc > 4)
        return s_pushpull(n, maxsec, (size_t) atol(argv[4]));
    fprintf(stderr, "zmq_floor: bad arguments\n");
    return 2;
}
