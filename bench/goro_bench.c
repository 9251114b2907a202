/*  goro_bench - the goro side of the latency, channel, waitgroup and
    memory benchmarks, through the public API only. Each mode prints one
    `result KEY VALUE ...` line (bench_util.h) that bench/run parses.

        goro_bench rtt      ENDPOINT N MAXSEC          goro_run (submit and
   wait) of a `noop` job (needs noop_worker) goro_bench pingpong ENDPOINT N
   MAXSEC          two processes, two unbuffered channels; per handoff
        goro_bench stream   ENDPOINT N MAXSEC SIZE CAP [BATCH]  one producer,
   one consumer, channel of CAP goro_bench wg       ENDPOINT N MAXSEC
   wg_add(+N), then N wg_done goro_bench go       ENDPOINT N MAXSEC SIZE     N
   single goro_go calls, each for a function nobody serves goro_bench submit
   ENDPOINT N SIZE            queue N jobs of SIZE bytes for a function nobody
   serves (one goro_go_many)

    Every loop stops after N rounds or MAXSEC seconds, whichever is first;
    the result says how many rounds ran.
*/
#include "bench_util.h"
#include "goro.h"

#define WARMUP 200            /* rounds before timing: connections, caches */
#define RECV_TIMEOUT_MS 10000 /* a peer process silent this long is gone */

static int
s_fail(const char *what, int rc)
{
    fprintf(stderr, "goro_bench: %s: %s\n", what, goro_strerror(rc));
    return 1;
}

/* ---- rtt: one job submitted, its result received -------------------- */

static int
s_rtt(const char *endpoint, size_t n, double maxsec)
{
    goro_t *goro = goro_new(endpoint);
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        goro_job_t *job = NULL;
        int rc = goro_run(goro, "noop", "x", 1, NULL, RECV_TIMEOUT_MS, &job);
        if (rc != GORO_OK)
            return s_fail("job", rc);
        if (goro_job_state(job) != GORO_JOB_SUCCEEDED) {
            fprintf(stderr, "goro_bench: job %s\n",
                    goro_job_state_name(goro_job_state(job)));
            return 1;
        }
        goro_job_destroy(&job);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    bench_report_latency(samples, done, 1);
    free(samples);
    goro_destroy(&goro);
    return 0;
}

/* ---- pingpong: two unbuffered channels between two processes -------- */

static void
s_pong_child(const char *endpoint, const char *ping, const char *pong,
             int ready_fd)
{
    bench_die_with_parent();
    goro_t *goro = goro_new(endpoint);
    int rc = goro_chan_make(goro, ping, 0);
    if (rc == GORO_OK)
        rc = goro_chan_make(goro, pong, 0);
    bench_tell(ready_fd, rc == GORO_OK ? 0 : -1);
    while (rc == GORO_OK) {
        void *value = NULL;
        size_t len = 0;
        rc = goro_chan_recv(goro, ping, RECV_TIMEOUT_MS, &value, &len);
        if (rc != GORO_OK)
            break; /* GORO_ECLOSED: the parent is done */
        rc = goro_chan_send(goro, pong, value, len, RECV_TIMEOUT_MS);
        goro_free(value);
    }
    goro_destroy(&goro);
    _exit(rc == GORO_ECLOSED ? 0 : 1);
}

static int
s_pingpong(const char *endpoint, size_t n, double maxsec)
{
    char ping[64], pong[64];
    snprintf(ping, sizeof ping, "bench-ping-%d", (int) getpid());
    snprintf(pong, sizeof pong, "bench-pong-%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    /* fork before this process touches ZeroMQ: a context does not
       survive fork */
    pid_t child = fork();
    if (child == 0)
        s_pong_child(endpoint, ping, pong, fds[1]);
    if (bench_hear(fds[0]) != 0) {
        bench_reap(&child, 1);
        return 1;
    }
    goro_t *goro = goro_new(endpoint);
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    int rc = GORO_OK;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        rc = goro_chan_send(goro, ping, "ping", 4, RECV_TIMEOUT_MS);
        void *value = NULL;
        size_t len = 0;
        if (rc == GORO_OK)
            rc = goro_chan_recv(goro, pong, RECV_TIMEOUT_MS, &value, &len);
        if (rc != GORO_OK)
            break;
        goro_free(value);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    goro_chan_close(goro, ping);
    int status = 0;
    waitpid(child, &status, 0);
    if (rc != GORO_OK)
        return s_fail("pingpong", rc);
    bench_report_latency(samples, done, 2);
    free(samples);
    goro_destroy(&goro);
    return 0;
}

/* ---- stream: one producer, one consumer, a buffered channel --------- */

#define STREAM_BATCH_MAX 4096 /* values per goro_chan_*_many call */

static void
s_producer_child(const char *endpoint, const char *chan, size_t n,
                 double maxsec, size_t size, int64_t cap, size_t batch,
                 int ready_fd)
{
    bench_die_with_parent();
    goro_t *goro = goro_new(endpoint);
    int rc = goro_chan_make(goro, chan, cap);
    bench_tell(ready_fd, rc == GORO_OK ? 0 : -1);
    char *value = calloc(1, size ? size : 1);
    memset(value, 'v', size);
    static const void *datas[STREAM_BATCH_MAX];
    static size_t lens[STREAM_BATCH_MAX];
    for (size_t i = 0; i < batch; i++) {
        datas[i] = value;
        lens[i] = size;
    }
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; rc == GORO_OK && i < n && bench_now() < deadline;) {
        if (batch > 1) {
            size_t count = n - i < batch ? n - i : batch, sent = 0;
            rc = goro_chan_send_many(goro, chan, count, datas, lens,
                                     RECV_TIMEOUT_MS, &sent);
            i += sent;
        }
        else {
            rc = goro_chan_send(goro, chan, value, size, RECV_TIMEOUT_MS);
            i++;
        }
    }
    if (rc == GORO_OK)
        rc = goro_chan_close(goro, chan);
    free(value);
    goro_destroy(&goro);
    _exit(rc == GORO_OK ? 0 : 1);
}

static int
s_stream(const char *endpoint, size_t n, double maxsec, size_t size,
         int64_t cap, size_t batch)
{
    char chan[64];
    snprintf(chan, sizeof chan, "bench-stream-%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t child = fork();
    if (child == 0)
        s_producer_child(endpoint, chan, n, maxsec, size, cap, batch, fds[1]);
    if (bench_hear(fds[0]) != 0) {
        bench_reap(&child, 1);
        return 1;
    }
    goro_t *goro = goro_new(endpoint);
    size_t count = 0;
    double first = 0, last = 0;
    int rc;
    static void *values[STREAM_BATCH_MAX];
    static size_t sizes[STREAM_BATCH_MAX];
    for (;;) {
        size_t got = 0;
        if (batch > 1)
            rc = goro_chan_recv_many(goro, chan, batch, RECV_TIMEOUT_MS,
                                     values, sizes, &got);
        else {
            rc = goro_chan_recv(goro, chan, RECV_TIMEOUT_MS, &values[0],
                                &sizes[0]);
            got = rc == GORO_OK;
        }
        if (got) {
            last = bench_now();
            if (count == 0)
                first = last;
            count += got;
        }
        for (size_t i = 0; i < got; i++)
            goro_free(values[i]);
        if (rc != GORO_OK)
            break;
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (rc != GORO_ECLOSED || !WIFEXITED(status) || WEXITSTATUS(status))
        return s_fail("stream", rc);
    /* from the first value to the last: count - 1 intervals */
    bench_report_rate((double) (count - 1), last - first);
    goro_destroy(&goro);
    return 0;
}

/* ---- wg: sequential done calls --------------------------------------- */

static int
s_wg(const char *endpoint, size_t n, double maxsec)
{
    goro_t *goro = goro_new(endpoint);
    char name[64];
    snprintf(name, sizeof name, "bench-wg-%d", (int) getpid());
    int rc = goro_wg_add(goro, name, (int64_t) (n + WARMUP));
    if (rc)
        return s_fail("wg add", rc);
    for (int i = 0; i < WARMUP; i++)
        goro_wg_done(goro, name);
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t done = 0;
    while (done < n && bench_now() < deadline) {
        rc = goro_wg_done(goro, name);
        if (rc)
            return s_fail("wg done", rc);
        done++;
    }
    rc = goro_flush(goro); /* every done answered, inside the time */
    if (rc)
        return s_fail("wg flush", rc);
    bench_report_rate((double) done, bench_now() - t0);
    goro_destroy(&goro);
    return 0;
}

/* ---- go: single submissions, as a plain loop makes them ------------- */

static int
s_go(const char *endpoint, size_t n, double maxsec, size_t size)
{
    goro_t *goro = goro_new(endpoint);
    char *payload = calloc(1, size ? size : 1);
    memset(payload, 'p', size);
    uint64_t id = 0;
    for (int i = 0; i < WARMUP; i++)
        goro_go(goro, "bench-go", payload, size, NULL, &id);
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t done = 0;
    while (done < n && bench_now() < deadline) {
        int rc = goro_go(goro, "bench-go", payload, size, NULL, &id);
        if (rc)
            return s_fail("go", rc);
        done++;
    }
    int rc = goro_flush(goro); /* every submission accepted, in time */
    if (rc)
        return s_fail("flush", rc);
    bench_report_rate((double) done, bench_now() - t0);
    free(payload);
    goro_destroy(&goro);
    return 0;
}

/* ---- submit: fill the queue for the memory benchmark ----------------- */

static int
s_submit(const char *endpoint, size_t n, size_t size)
{
    goro_t *goro = goro_new(endpoint);
    char *payload = calloc(1, size ? size : 1);
    memset(payload, 'p', size);
    const void **datas = calloc(n, sizeof *datas);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        datas[i] = payload;
        lens[i] = size;
    }
    double t0 = bench_now();
    int rc = goro_go_many(goro, "bench-queued", n, datas, lens, NULL, NULL);
    if (rc)
        return s_fail("submit", rc);
    bench_report_rate((double) n, bench_now() - t0);
    free(datas);
    free(lens);
    free(payload);
    goro_destroy(&goro);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: goro_bench rtt|pingpong|stream|wg|go|submit "
                        "ENDPOINT N ...\n");
        return 2;
    }
    const char *mode = argv[1], *endpoint = argv[2];
    size_t n = (size_t) atol(argv[3]);
    double maxsec = argc > 4 ? atof(argv[4]) : 60;
    if (!strcmp(mode, "rtt"))
        return s_rtt(endpoint, n, maxsec);
    if (!strcmp(mode, "pingpong"))
        return s_pingpong(endpoint, n, maxsec);
    if (!strcmp(mode, "stream") && argc > 6) {
        size_t batch = argc > 7 ? (size_t) atol(argv[7]) : 1;
        if (batch < 1 || batch > STREAM_BATCH_MAX)
            batch = 1;
        return s_stream(endpoint, n, maxsec, (size_t) atol(argv[5]),
                        (int64_t) atol(argv[6]), batch);
    }
    if (!strcmp(mode, "wg"))
        return s_wg(endpoint, n, maxsec);
    if (!strcmp(mode, "go") && argc > 5)
        return s_go(endpoint, n, maxsec, (size_t) atol(argv[5]));
    if (!strcmp(mode, "submit") && argc > 4)
        return s_submit(endpoint, n, (size_t) atol(argv[4]));
    fprintf(stderr, "goro_bench: bad arguments\n");
    return 2;
}
