/*  bs_bench - the beanstalkd side of the job benchmarks: a small client
    speaking beanstalkd's text protocol (doc/protocol.txt) over one TCP
    socket, pipelining where the protocol allows it, as a good client
    would.

        bs_bench jobs PORT N MAXSEC      one producer (pipelined puts), 2
   worker processes (reserve/delete); jobs/s until both workers are done
        bs_bench rtt  PORT N MAXSEC      put on tube req with the reply tube as
                                         body, a worker puts the answer there
        bs_bench put  PORT N MAXSEC SIZE single puts of SIZE bytes, each
   waiting for its INSERTED, nobody reserves bs_bench fill PORT N SIZE put N
   jobs of SIZE bytes, nobody reserves

    Prints `result ...` lines (bench_util.h).
*/
#include "bench_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define WINDOW 500 /* puts in flight, as goro_go_many's window */
#define WORKERS 2
#define WARMUP 200
#define LINE_MAX_ 256 /* the longest reply line we expect */

typedef struct {
    int fd;
    char buf[65536];
    size_t start, end;
} conn_t;

static void
s_die(const char *what)
{
    fprintf(stderr, "bs_bench: %s\n", what);
    exit(1);
}

static conn_t *
s_connect(int port)
{
    conn_t *conn = calloc(1, sizeof *conn);
    conn->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t) port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(conn->fd, (struct sockaddr *) &addr, sizeof addr) != 0)
        s_die("cannot connect to beanstalkd");
    int one = 1;
    setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return conn;
}

static void
s_disconnect(conn_t **conn_p)
{
    close((*conn_p)->fd);
    free(*conn_p);
    *conn_p = NULL;
}

static void
s_send(conn_t *conn, const char *data, size_t len)
{
    if (bench_write_all(conn->fd, data, len) != 0)
        s_die("write");
}

/* Makes at least N bytes readable in the buffer. */
static void
s_fill(conn_t *conn, size_t n)
{
    if (conn->start > 0 && conn->end + n > sizeof conn->buf) {
        memmove(conn->buf, conn->buf + conn->start, conn->end - conn->start);
        conn->end -= conn->start;
        conn->start = 0;
    }
    while (conn->end - conn->start < n) {
        ssize_t got = read(conn->fd, conn->buf + conn->end,
                           sizeof conn->buf - conn->end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            s_die("beanstalkd closed the connection");
        conn->end += (size_t) got;
    }
}

/* The next reply line, without its CRLF, in LINE. */
static void
s_line(conn_t *conn, char *line)
{
    for (;;) {
        char *p = conn->buf + conn->start;
        char *eol = memmem(p, conn->end - conn->start, "\r\n", 2);
        if (eol) {
            size_t len = (size_t) (eol - p);
            if (len >= LINE_MAX_)
                s_die("reply line too long");
            memcpy(line, p, len);
            line[len] = '\0';
            conn->start += len + 2;
            return;
        }
        s_fill(conn, conn->end - conn->start + 1);
    }
}

static void
s_expect(conn_t *conn, const char *prefix)
{
    char line[LINE_MAX_];
    s_line(conn, line);
    if (strncmp(line, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "bs_bench: expected %s, got %s\n", prefix, line);
        exit(1);
    }
}

/* Reads "RESERVED id bytes\r\n<body>\r\n"; the body (NUL-terminated) into
   BODY of SIZE bytes. Returns the job id. */
static unsigned long long
s_reserved(conn_t *conn, char *body, size_t size)
{
    char line[LINE_MAX_];
    s_line(conn, line);
    unsigned long long id;
    size_t bytes;
    if (sscanf(line, "RESERVED %llu %zu", &id, &bytes) != 2)
        s_die(line);
    s_fill(conn, bytes + 2);
    size_t copy = bytes < size - 1 ? bytes : size - 1;
    memcpy(body, conn->buf + conn->start, copy);
    body[copy] = '\0';
    conn->start += bytes + 2;
    return id;
}

static void
s_watch_only(conn_t *conn, const char *tube)
{
    char cmd[128];
    int len = snprintf(cmd, sizeof cmd, "watch %s\r\nignore default\r\n",
                       tube);
    s_send(conn, cmd, (size_t) len);
    s_expect(conn, "WATCHING");
    s_expect(conn, "WATCHING");
}

static void
s_use(conn_t *conn, const char *tube)
{
    char cmd[128];
    int len = snprintf(cmd, sizeof cmd, "use %s\r\n", tube);
    s_send(conn, cmd, (size_t) len);
    s_expect(conn, "USING");
}

/* ---- jobs ------------------------------------------------------------ */

/* Reserves and deletes until the quit job; the delete of one job and the
   reserve of the next leave in one write. */
static void
s_jobs_worker(int port, int fd)
{
    bench_die_with_parent();
    conn_t *conn = s_connect(port);
    s_watch_only(conn, "jobs");
    bench_tell(fd, 0);
    s_send(conn, "reserve\r\n", 9);
    int64_t count = 0;
    for (;;) {
        char body[16], cmd[64];
        unsigned long long id = s_reserved(conn, body, sizeof body);
        int quit = !strcmp(body, "q");
        int len = snprintf(cmd, sizeof cmd, "delete %llu\r\n%s", id,
                           quit ? "" : "reserve\r\n");
        s_send(conn, cmd, (size_t) len);
        s_expect(conn, "DELETED");
        if (quit)
            break;
        count++;
    }
    bench_tell(fd, count);
    _exit(0);
}

static int
s_jobs(int port, size_t n, double maxsec)
{
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            s_jobs_worker(port, fds[1]);
    }
    for (int i = 0; i < WORKERS; i++)
        if (bench_hear(fds[0]) != 0)
            s_die("worker failed");
    conn_t *conn = s_connect(port);
    s_use(conn, "jobs");
    static const char put[] = "put 0 0 60 0\r\n\r\n";
    char *batch = malloc(WINDOW * (sizeof put - 1));
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t sent = 0;
    while (sent < n && bench_now() < deadline) {
        size_t k = n - sent < WINDOW ? n - sent : WINDOW;
        for (size_t i = 0; i < k; i++)
            memcpy(batch + i * (sizeof put - 1), put, sizeof put - 1);
        s_send(conn, batch, k * (sizeof put - 1));
        for (size_t i = 0; i < k; i++)
            s_expect(conn, "INSERTED");
        sent += k;
    }
    for (int i = 0; i < WORKERS; i++) {
        /* same priority, so FIFO: the quit jobs come after the rest */
        s_send(conn, "put 0 0 60 1\r\nq\r\n", 17);
        s_expect(conn, "INSERTED");
    }
    free(batch);
    return bench_jobs_done(fds[0], pids, WORKERS, sent, t0);
}

/* ---- rtt: a job and its reply through a reply tube ------------------- */

static void
s_rtt_worker(int port, int fd)
{
    bench_die_with_parent();
    conn_t *conn = s_connect(port);
    s_watch_only(conn, "req");
    bench_tell(fd, 0);
    s_send(conn, "reserve\r\n", 9);
    for (;;) {
        char tube[64], cmd[256];
        unsigned long long id = s_reserved(conn, tube, sizeof tube);
        int len = snprintf(cmd, sizeof cmd,
                           "use %s\r\nput 0 0 60 2\r\nok\r\n"
                           "delete %llu\r\nreserve\r\n",
                           tube, id);
        s_send(conn, cmd, (size_t) len);
        s_expect(conn, "USING");
        s_expect(conn, "INSERTED");
        s_expect(conn, "DELETED");
    }
}

static int
s_rtt(int port, size_t n, double maxsec)
{
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t worker = fork();
    if (worker == 0)
        s_rtt_worker(port, fds[1]);
    if (bench_hear(fds[0]) != 0)
        s_die("worker failed");
    conn_t *conn = s_connect(port);
    char tube[64];
    snprintf(tube, sizeof tube, "rep%d", (int) getpid());
    s_use(conn, "req");
    s_watch_only(conn, tube);
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    unsigned long long last = 0;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        char cmd[256], body[16];
        int len = 0;
        if (last) /* the previous reply's delete rides along */
            len = snprintf(cmd, sizeof cmd, "delete %llu\r\n", last);
        len += snprintf(cmd + len, sizeof cmd - (size_t) len,
                        "put 0 0 60 %zu\r\n%s\r\nreserve\r\n", strlen(tube),
                        tube);
        double t0 = bench_now();
        s_send(conn, cmd, (size_t) len);
        if (last)
            s_expect(conn, "DELETED");
        s_expect(conn, "INSERTED");
        last = s_reserved(conn, body, sizeof body);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    bench_reap(&worker, 1);
    bench_report_latency(samples, done, 1);
    free(samples);
    return 0;
}

/* ---- put, fill: jobs that stay queued -------------------------------- */

/* COUNT copies of a put of SIZE bytes, back to back; the length of one in
 *ONE_OUT. Caller owns the buffer. */
static char *
s_puts(size_t count, size_t size, size_t *one_out)
{
    char head[64];
    int head_len = snprintf(head, sizeof head, "put 0 0 60 %zu\r\n", size);
    size_t one = (size_t) head_len + size + 2;
    char *batch = malloc(count * one);
    for (size_t i = 0; i < count; i++) {
        char *p = batch + i * one;
        memcpy(p, head, (size_t) head_len);
        memset(p + head_len, 'p', size);
        memcpy(p + head_len + size, "\r\n", 2);
    }
    *one_out = one;
    return batch;
}

static int
s_put(int port, size_t n, double maxsec, size_t size)
{
    conn_t *conn = s_connect(port);
    s_use(conn, "put");
    size_t one;
    char *put = s_puts(1, size, &one);
    for (int i = 0; i < WARMUP; i++) {
        s_send(conn, put, one);
        s_expect(conn, "INSERTED");
    }
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t done = 0;
    while (done < n && bench_now() < deadline) {
        s_send(conn, put, one);
        s_expect(conn, "INSERTED");
        done++;
    }
    bench_report_rate((double) done, bench_now() - t0);
    free(put);
    s_disconnect(&conn);
    return 0;
}

static int
s_fill_queue(int port, size_t n, size_t size)
{
    conn_t *conn = s_connect(port);
    s_use(conn, "fill");
    size_t one;
    char *batch = s_puts(WINDOW, size, &one);
    double t0 = bench_now();
    for (size_t sent = 0; sent < n;) {
        size_t k = n - sent < WINDOW ? n - sent : WINDOW;
        s_send(conn, batch, k * one);
        for (size_t i = 0; i < k; i++)
            s_expect(conn, "INSERTED");
        sent += k;
    }
    bench_report_rate((double) n, bench_now() - t0);
    free(batch);
    s_disconnect(&conn);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bs_bench jobs|rtt|put|fill PORT N "
                        "MAXSEC|SIZE [SIZE]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int port = atoi(argv[2]);
    size_t n = (size_t) atol(argv[3]);
    if (!strcmp(argv[1], "jobs"))
        return s_jobs(port, n, atof(argv[4]));
    if (!strcmp(argv[1], "rtt"))
        return s_rtt(port, n, atof(argv[4]));
    if (!strcmp(argv[1], "put") && argc > 5)
        return s_put(port, n, atof(argv[4]), (size_t) atol(argv[5]));
    if (!strcmp(argv[1], "fill"))
        return s_fill_queue(port, n, (size_t) atol(argv[4]));
    fprintf(stderr, "bs_bench: bad arguments\n");
    return 2;
}
