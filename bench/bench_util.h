/*  bench_util.h - what every bench/ program shares: a monotonic clock,
    deadlines, percentiles, a pipe on which forked helpers say "ready" or
    report a count, and the one output format bench/run parses:

        result KEY VALUE [KEY VALUE ...]

    Header-only (static functions), so that each program stays one file.
*/
#ifndef BENCH_UTIL_H_INCLUDED
#define BENCH_UTIL_H_INCLUDED

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The P-th percentile (0..100) of N samples; sorts SAMPLES. */
static inline double
bench_percentile(double *samples, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof *samples, s_cmp_double);
    size_t i = (size_t) (p / 100.0 * (double) (n - 1) + 0.5);
    return samples[i < n ? i : n - 1];
}

/* Prints the latency line for N round-trip samples in seconds; DIVISOR
   splits a sample into equal parts (2: a ping-pong cycle is two
   handoffs). */
static inline void
bench_report_latency(double *samples, size_t n, double divisor)
{
    double median = bench_percentile(samples, n, 50) / divisor * 1e6;
    double p99 = bench_percentile(samples, n, 99) / divisor * 1e6;
    printf("result median_us %.1f p99_us %.1f n %zu\n", median, p99, n);
}

static inline void
bench_report_rate(double count, double seconds)
{
    printf("result rate %.0f n %.0f seconds %.3f\n",
           seconds > 0 ? count / seconds : 0, count, seconds);
}

/* Writes all LEN bytes of BUF to FD; 0 or -1. */
static inline int
bench_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Reads exactly LEN bytes; 0 or -1 (EOF or error). */
static inline int
bench_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Forked helpers: a child writes one int64 when ready (-1 on failure) and
   one more with its count when done. */
static inline void
bench_tell(int fd, int64_t value)
{
    bench_write_all(fd, &value, sizeof value);
}

static inline int64_t
bench_hear(int fd)
{
    int64_t value = -1;
    if (bench_read_all(fd, &value, sizeof value) != 0)
        return -1;
    return value;
}

/* The end of a jobs_noop run through a peer: each of the N workers in
   PIDS tells how many jobs it ran once its quit job reaches it, then
   exits. Prints the rate since T0 if together they ran all SENT jobs;
   returns 0, else 1 with a line on stderr. */
static inline int
bench_jobs_done(int fd, pid_t *pids, int n, size_t sent, double t0)
{
    int64_t done = 0;
    for (int i = 0; i < n; i++) {
        int64_t count = bench_hear(fd);
        done += count < 0 ? 0 : count;
    }
    double elapsed = bench_now() - t0;
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    if ((size_t) done != sent) {
        fprintf(stderr, "bench: the workers ran %lld of %zu jobs\n",
                (long long) done, sent);
        return 1;
    }
    bench_report_rate((double) done, elapsed);
    return 0;
}

/* Kills and reaps the children in PIDS (0 entries are skipped). */
static inline void
bench_reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
}

/* Helpers die with their parent: a harness killed by timeout(1) leaves
   nothing behind. */
#include <sys/prctl.h>
static inline void
bench_die_with_parent(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

#endif
