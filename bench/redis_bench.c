/*  redis_bench - the Redis side of the benchmarks, with hiredis's
    synchronous API; pipelined (redisAppendCommand, then the replies) where
    a Redis user would pipeline.

        redis_bench jobs     PORT N MAXSEC       LPUSH (pipelined) / BRPOP, 2
   worker processes; jobs/s until both are done redis_bench rtt      PORT N
   MAXSEC       LPUSH req + BRPOP reply-key; a worker BRPOPs req and LPUSHes
   the reply redis_bench pingpong PORT N MAXSEC       two processes, lists ping
   and pong; per handoff redis_bench stream   PORT N MAXSEC SIZE
   plain|pipelined plain: RPUSH / BLPOP one at a time; pipelined: RPUSH in
   batches of 1000, BLMPOP COUNT 1000 redis_bench lpush    PORT N MAXSEC SIZE
   N single LPUSHes of SIZE bytes, each waiting for its reply; nobody pops
        redis_bench fill     PORT N SIZE         LPUSH N values of SIZE bytes
        redis_bench decr     PORT N MAXSEC [pipelined]
                                                 SET then N DECR: sequential,
   or WINDOW in flight

    Prints `result ...` lines (bench_util.h).
*/
#include "bench_util.h"

#include <hiredis/hiredis.h>

#define WINDOW 500 /* pushes in flight, as goro_go_many's window */
#define BATCH 1000 /* stream batch: the goro channel's capacity */
#define WORKERS 2
#define WARMUP 200

static int s_port;

static redisContext *
s_connect(void)
{
    redisContext *redis = redisConnect("127.0.0.1", s_port);
    if (!redis || redis->err) {
        fprintf(stderr, "redis_bench: cannot connect: %s\n",
                redis ? redis->errstr : "out of memory");
        exit(1);
    }
    return redis;
}

/* The next reply; exits on a connection error or an error reply. */
static redisReply *
s_reply(redisContext *redis)
{
    void *reply = NULL;
    if (redisGetReply(redis, &reply) != REDIS_OK || !reply) {
        fprintf(stderr, "redis_bench: %s\n", redis->errstr);
        exit(1);
    }
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis_bench: %s\n", r->str);
        exit(1);
    }
    return r;
}

static void
s_skip(redisContext *redis, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(s_reply(redis));
}

/* ---- jobs ------------------------------------------------------------ */

static void
s_jobs_worker(const char *queue, int fd)
{
    bench_die_with_parent();
    redisContext *redis = s_connect();
    bench_tell(fd, 0);
    int64_t count = 0;
    for (;;) {
        redisReply *r = redisCommand(redis, "BRPOP %s 0", queue);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            _exit(1);
        int quit = r->element[1]->len == 1 && r->element[1]->str[0] == 'q';
        freeReplyObject(r);
        if (quit)
            break;
        count++;
    }
    bench_tell(fd, count);
    _exit(0);
}

static int
s_jobs(size_t n, double maxsec)
{
    char queue[64];
    snprintf(queue, sizeof queue, "jobs%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            s_jobs_worker(queue, fds[1]);
    }
    for (int i = 0; i < WORKERS; i++)
        if (bench_hear(fds[0]) != 0)
            return 1;
    redisContext *redis = s_connect();
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t sent = 0;
    while (sent < n && bench_now() < deadline) {
        size_t k = n - sent < WINDOW ? n - sent : WINDOW;
        for (size_t i = 0; i < k; i++)
            redisAppendCommand(redis, "LPUSH %s %b", queue, "", (size_t) 0);
        s_skip(redis, k);
        sent += k;
    }
    for (int i = 0; i < WORKERS; i++)
        redisAppendCommand(redis, "LPUSH %s q", queue);
    s_skip(redis, WORKERS);
    int rc = bench_jobs_done(fds[0], pids, WORKERS, sent, t0);
    redisFree(redis);
    return rc;
}

/* ---- rtt ------------------------------------------------------------- */

static void
s_rtt_worker(const char *queue, int fd)
{
    bench_die_with_parent();
    redisContext *redis = s_connect();
    bench_tell(fd, 0);
    for (;;) {
        redisReply *r = redisCommand(redis, "BRPOP %s 0", queue);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            _exit(1);
        freeReplyObject(redisCommand(redis, "LPUSH %b ok", r->element[1]->str,
                                     (size_t) r->element[1]->len));
        freeReplyObject(r);
    }
}

static int
s_rtt(size_t n, double maxsec)
{
    char queue[64], reply_key[64];
    snprintf(queue, sizeof queue, "req%d", (int) getpid());
    snprintf(reply_key, sizeof reply_key, "rep%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t worker = fork();
    if (worker == 0)
        s_rtt_worker(queue, fds[1]);
    if (bench_hear(fds[0]) != 0)
        return 1;
    redisContext *redis = s_connect();
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        redisAppendCommand(redis, "LPUSH %s %s", queue, reply_key);
        redisAppendCommand(redis, "BRPOP %s 10", reply_key);
        freeReplyObject(s_reply(redis));
        redisReply *r = s_reply(redis);
        if (r->type != REDIS_REPLY_ARRAY)
            return 1;
        freeReplyObject(r);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    bench_reap(&worker, 1);
    bench_report_latency(samples, done, 1);
    free(samples);
    redisFree(redis);
    return 0;
}

/* ---- pingpong -------------------------------------------------------- */

static void
s_pong_child(const char *ping, const char *pong, int fd)
{
    bench_die_with_parent();
    redisContext *redis = s_connect();
    bench_tell(fd, 0);
    redisAppendCommand(redis, "BRPOP %s 10", ping);
    for (;;) {
        redisReply *r = s_reply(redis);
        if (r->type != REDIS_REPLY_ARRAY)
            _exit(1);
        if (!strcmp(r->element[1]->str, "stop"))
            _exit(0);
        freeReplyObject(r);
        /* the answer and the next wait leave in one write */
        redisAppendCommand(redis, "LPUSH %s pong", pong);
        redisAppendCommand(redis, "BRPOP %s 10", ping);
        freeReplyObject(s_reply(redis));
    }
}

static int
s_pingpong(size_t n, double maxsec)
{
    char ping[64], pong[64];
    snprintf(ping, sizeof ping, "ping%d", (int) getpid());
    snprintf(pong, sizeof pong, "pong%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t child = fork();
    if (child == 0)
        s_pong_child(ping, pong, fds[1]);
    if (bench_hear(fds[0]) != 0)
        return 1;
    redisContext *redis = s_connect();
    double *samples = calloc(n, sizeof *samples);
    size_t done = 0;
    double deadline = bench_now() + maxsec;
    for (size_t i = 0; i < n + WARMUP && bench_now() < deadline; i++) {
        double t0 = bench_now();
        redisAppendCommand(redis, "LPUSH %s ping", ping);
        redisAppendCommand(redis, "BRPOP %s 10", pong);
        freeReplyObject(s_reply(redis));
        redisReply *r = s_reply(redis);
        if (r->type != REDIS_REPLY_ARRAY)
            return 1;
        freeReplyObject(r);
        if (i >= WARMUP)
            samples[done++] = bench_now() - t0;
    }
    freeReplyObject(redisCommand(redis, "LPUSH %s stop", ping));
    waitpid(child, NULL, 0);
    bench_report_latency(samples, done, 2);
    free(samples);
    redisFree(redis);
    return 0;
}

/* ---- stream ---------------------------------------------------------- */

static void
s_producer(const char *list, size_t n, double maxsec, size_t size,
           int pipelined, int fd)
{
    bench_die_with_parent();
    redisContext *redis = s_connect();
    bench_tell(fd, 0);
    char *value = calloc(1, size + 1);
    memset(value, 'v', size);
    double deadline = bench_now() + maxsec;
    size_t step = pipelined ? BATCH : 1;
    for (size_t sent = 0; sent < n && bench_now() < deadline;) {
        size_t k = n - sent < step ? n - sent : step;
        for (size_t i = 0; i < k; i++)
            redisAppendCommand(redis, "RPUSH %s %b", list, value, size);
        s_skip(redis, k);
        sent += k;
    }
    freeReplyObject(redisCommand(redis, "RPUSH %s END", list));
    _exit(0);
}

static int
s_stream(size_t n, double maxsec, size_t size, int pipelined)
{
    char list[64];
    snprintf(list, sizeof list, "stream%d", (int) getpid());
    int fds[2];
    if (pipe(fds))
        return 1;
    pid_t child = fork();
    if (child == 0)
        s_producer(list, n, maxsec, size, pipelined, fds[1]);
    if (bench_hear(fds[0]) != 0)
        return 1;
    redisContext *redis = s_connect();
    size_t count = 0;
    double first = 0, last = 0;
    for (int end = 0; !end;) {
        redisReply *r = pipelined ? redisCommand(
                            redis, "BLMPOP 10 1 %s LEFT COUNT %d", list, BATCH)
                                  : redisCommand(redis, "BLPOP %s 10", list);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "redis_bench: stream: no value\n");
            return 1;
        }
        /* BLPOP: [list, value]; BLMPOP: [list, [values...]] */
        redisReply **values = pipelined ? r->element[1]->element
                                        : &r->element[1];
        size_t k = pipelined ? r->element[1]->elements : 1;
        for (size_t i = 0; i < k; i++) {
            if (values[i]->len == 3 && !memcmp(values[i]->str, "END", 3)) {
                end = 1;
                break;
            }
            last = bench_now();
            if (count++ == 0)
                first = last;
        }
        freeReplyObject(r);
    }
    waitpid(child, NULL, 0);
    bench_report_rate((double) (count - 1), last - first);
    redisFree(redis);
    return 0;
}

/* ---- lpush, fill, decr ----------------------------------------------- */

static int
s_lpush(size_t n, double maxsec, size_t size)
{
    redisContext *redis = s_connect();
    char *value = calloc(1, size + 1);
    memset(value, 'p', size);
    char list[64];
    snprintf(list, sizeof list, "lpush%d", (int) getpid());
    for (int i = 0; i < WARMUP; i++) {
        redisAppendCommand(redis, "LPUSH %s %b", list, value, size);
        s_skip(redis, 1);
    }
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t done = 0;
    while (done < n && bench_now() < deadline) {
        redisAppendCommand(redis, "LPUSH %s %b", list, value, size);
        s_skip(redis, 1);
        done++;
    }
    bench_report_rate((double) done, bench_now() - t0);
    free(value);
    redisFree(redis);
    return 0;
}

static int
s_fill(size_t n, size_t size)
{
    redisContext *redis = s_connect();
    char *value = calloc(1, size + 1);
    memset(value, 'p', size);
    double t0 = bench_now();
    for (size_t sent = 0; sent < n;) {
        size_t k = n - sent < BATCH ? n - sent : BATCH;
        for (size_t i = 0; i < k; i++)
            redisAppendCommand(redis, "LPUSH fill %b", value, size);
        s_skip(redis, k);
        sent += k;
    }
    bench_report_rate((double) n, bench_now() - t0);
    redisFree(redis);
    return 0;
}

static int
s_decr(size_t n, double maxsec, int pipelined)
{
    redisContext *redis = s_connect();
    char key[64];
    snprintf(key, sizeof key, "wg%d", (int) getpid());
    char count[32];
    snprintf(count, sizeof count, "%zu", n + WARMUP);
    freeReplyObject(redisCommand(redis, "SET %s %s", key, count));
    for (int i = 0; i < WARMUP; i++)
        freeReplyObject(redisCommand(redis, "DECR %s", key));
    double t0 = bench_now(), deadline = t0 + maxsec;
    size_t done = 0;
    size_t step = pipelined ? WINDOW : 1;
    while (done < n && bench_now() < deadline) {
        size_t k = n - done < step ? n - done : step;
        for (size_t i = 0; i < k; i++)
            redisAppendCommand(redis, "DECR %s", key);
        for (size_t i = 0; i < k; i++) {
            redisReply *r = s_reply(redis);
            if (r->type != REDIS_REPLY_INTEGER)
                return 1;
            freeReplyObject(r);
        }
        done += k;
    }
    bench_report_rate((double) done, bench_now() - t0);
    redisFree(redis);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: redis_bench MODE PORT N MAXSEC|SIZE ...\n");
        return 2;
    }
    const char *mode = argv[1];
    s_port = atoi(argv[2]);
    size_t n = (size_t) atol(argv[3]);
    if (!strcmp(mode, "jobs"))
        return s_jobs(n, atof(argv[4]));
    if (!strcmp(mode, "rtt"))
        return s_rtt(n, atof(argv[4]));
    if (!strcmp(mode, "pingpong"))
        return s_pingpong(n, atof(argv[4]));
    if (!strcmp(mode, "stream") && argc > 6)
        return s_stream(n, atof(argv[4]), (size_t) atol(argv[5]),
                        !strcmp(argv[6], "pipelined"));
    if (!strcmp(mode, "fill"))
        return s_fill(n, (size_t) atol(argv[4]));
    if (!strcmp(mode, "lpush") && argc > 5)
        return s_lpush(n, atof(argv[4]), (size_t) atol(argv[5]));
    if (!strcmp(mode, "decr"))
        return s_decr(n, atof(argv[4]),
                      argc > 5 && !strcmp(argv[5], "pipelined"));
    fprintf(stderr, "redis_bench: bad arguments\n");
    return 2;
}
