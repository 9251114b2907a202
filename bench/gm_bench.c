/*  gm_bench - the Gearman side of the job benchmarks, with libgearman.

        gm_bench jobs PORT N MAXSEC      background jobs, submitted in batches
   of 500 tasks per run_tasks (pipelined); 2 worker processes; jobs/s until
   both are done gm_bench rtt  PORT N MAXSEC      gearman_client_do of an echo
   function gm_bench fill PORT N SIZE        N background jobs of SIZE bytes
   for a function no worker serves

    Prints `result ...` lines (bench_util.h).
*/
#include "bench_util.h"

#include <libgearman/gearman.h>

#define WINDOW 500 /* tasks per run_tasks, as goro_go_many's window */
#define WORKERS 2
#define WARMUP 200

static int s_port;

static void
s_check(gearman_return_t rc, const char *what)
{
    if (gearman_failed(rc)) {
        fprintf(stderr, "gm_bench: %s: %s\n", what, gearman_strerror(rc));
        exit(1);
    }
}

static gearman_client_st *
s_client(void)
{
    gearman_client_st *client = gearman_client_create(NULL);
    s_check(gearman_client_add_server(client, "127.0.0.1", (in_port_t) s_port),
            "add server");
    return client;
}

/* ---- workers --------------------------------------------------------- */

typedef struct {
    int64_t count;
    int quit;
} worker_state_t;

static void *
s_noop(gearman_job_st *job, void *context, size_t *result_size,
       gearman_return_t *ret)
{
    worker_state_t *state = context;
    size_t size = gearman_job_workload_size(job);
    if (size == 1 && *(const char *) gearman_job_workload(job) == 'q')
        state->quit = 1;
    else
        state->count++;
    *result_size = 0;
    *ret = GEARMAN_SUCCESS;
    return NULL;
}

static void *
s_echo(gearman_job_st *job, void *context, size_t *result_size,
       gearman_return_t *ret)
{
    (void) context;
    size_t size = gearman_job_workload_size(job);
    void *result = malloc(size ? size : 1); /* libgearman frees it */
    memcpy(result, gearman_job_workload(job), size);
    *result_size = size;
    *ret = GEARMAN_SUCCESS;
    return result;
}

static void
s_worker(const char *fn, gearman_worker_fn *handler, int fd)
{
    bench_die_with_parent();
    worker_state_t state = {0, 0};
    gearman_worker_st *worker = gearman_worker_create(NULL);
    s_check(gearman_worker_add_server(worker, "127.0.0.1", (in_port_t) s_port),
            "add server");
    s_check(gearman_worker_add_function(worker, fn, 0, handler, &state),
            "add function");
    /* registers the function with gearmand before we say ready */
    gearman_worker_set_timeout(worker, 100);
    gearman_return_t rc = gearman_worker_work(worker);
    if (rc != GEARMAN_TIMEOUT && rc != GEARMAN_NO_JOBS)
        s_check(rc, "work");
    gearman_worker_set_timeout(worker, -1);
    bench_tell(fd, 0);
    while (!state.quit) {
        rc = gearman_worker_work(worker);
        if (rc != GEARMAN_SUCCESS && rc != GEARMAN_IO_WAIT)
            s_check(rc, "work");
    }
    bench_tell(fd, state.count);
    gearman_worker_free(worker);
    _exit(0);
}

/* ---- jobs ------------------------------------------------------------ */

static void
s_background_batch(gearman_client_st *client, const char *fn, size_t k,
                   const void *data, size_t size)
{
    for (size_t i = 0; i < k; i++) {
        gearman_return_t rc;
        gearman_client_add_task_background(client, NULL, NULL, fn, NULL, data,
                                           size, &rc);
        s_check(rc, "add task");
    }
    s_check(gearman_client_run_tasks(client), "run tasks");
    gearman_client_task_free_all(client);
}

static int
s_jobs(size_t n, double maxsec)
{
    char fn[64];
    snprintf(fn, sizeof fn, "noop%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            s_worker(fn, s_noop, fds[1]);
    }
    for (int i = 0; i < WORKERS; i++)
        if (bench_hear(fds[0]) != 0)
            return 1;
    gearman_client_st *client = s_client();
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t sent = 0;
    while (sent < n && bench_now() < deadline) {
        size_t k = n - sent < WINDOW ? n - sent : WINDOW;
        s_background_batch(client, fn, k, "x",
                           1); /* libgearman refuses 0 bytes */
        sent += k;
    }
    /* one quit job per worker, queued after all the others */
    s_background_batch(client, fn, WORKERS, "q", 1);
    int rc = bench_jobs_done(fds[0], pids, WORKERS, sent, t0);
    gearman_client_free(client);
    return rc;
}

/* ---- rtt ------------------------------------------------------------- */

static int
s_rtt(size_t n, double maxsec)
{
    char fn[64];
    snprintf(fn, sizeof fn, "echo%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t worker = fork();
    if (worker == 0)
        s_worker(fn, s_echo, fds[1]);
    if (bench_hear(fds[0]) != 0)
        return 1;
    gearman_client_st *client = s_client();
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        size_t size = 0;
        gearman_return_t rc;
        void *result = gearman_client_do(client, fn, NULL, "x", 1, &size, &rc);
        s_check(rc, "do");
        free(result);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    bench_reap(&worker, 1);
    bench_report_latency(samples, done, 1);
    free(samples);
    gearman_client_free(client);
    return 0;
}

/* ---- fill ------------------------------------------------------------ */

static int
s_fill(size_t n, size_t size)
{
    gearman_client_st *client = s_client();
    char *payload = calloc(1, size + 1);
    memset(payload, 'p', size);
    double t0 = bench_now();
    for (size_t sent = 0; sent < n;) {
        size_t k = n - sent < WINDOW ? n - sent : WINDOW;
        s_background_batch(client, "bench-queued", k, payload, size);
        sent += k;
    }
    bench_report_rate((double) n, bench_now() - t0);
    gearman_client_free(client);
    free(payload);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: gm_bench jobs|rtt|fill PORT N MAXSEC|SIZE\n");
        return 2;
    }
    s_port = atoi(argv[2]);
    size_t n = (size_t) atol(argv[3]);
    if (!strcmp(argv[1], "jobs"))
        return s_jobs(n, atof(argv[4]));
    if (!strcmp(argv[1], "rtt"))
        return s_rtt(n, atof(argv[4]));
    if (!strcmp(argv[1], "fill"))
        return s_fill(n, (size_t) atol(argv[4]));
    fprintf(stderr, "gm_bench: bad arguments\n");
    return 2;
}
