/*  test_recovery - durability end to end: a real gorod with `journal:
    { fsync: always }` killed with SIGKILL (and stopped with SIGTERM) and
    started again on the same journal, in the same dir, with the same
    config; real workers, real clients, real sockets.

    gorod listens on ipc://DIR/clients.sock and ipc://DIR/workers.sock
    (harness_start_opts with ipc), so after a restart the endpoints are the
    same and clients and workers reconnect by themselves.

    Load comes from child processes (this program run again with --child
    ROLE): they append what the daemon acknowledged to files in the
    harness dir with O_APPEND writes, so what was acknowledged survives
    whatever happens to them. The checks at the end read those files and
    ask gorod: the total-queue checker.

    MEASURE lines on stdout are figures, not assertions.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "goro.h"
#include "goro_msg.h" /* to read the journal's records */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>


#define T_FSYNC_ALWAYS "journal: { fsync: always }\n"
/* gorod's default heartbeat rather than the harness's 100 ms one, where
   a worker lost is not what a test is about: on a loaded machine a
   worker silent for 300 ms would be retried, and attempt counts would
   not be the ones a test expects. */
#define T_CALM "heartbeat: { interval: 1s, liveness: 3 }\n"
#define T_NO_POOL "pools: []\n"
#define T_POOL2 "pools: [ { name: default, processes: 2 } ]\n"
#define T_JOB_WAIT_MS 30000

/* ------------------------------------------------------------------ */
/*  Small helpers shared by the test and its children                 */
/* ------------------------------------------------------------------ */

/* Appends LINE to PATH in one write (O_APPEND: whole lines even from
   several processes). */
static int
s_append(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(line);
    ssize_t n = write(fd, line, len);
    close(fd);
    return n == (ssize_t) len ? 0 : -1;
}

static int s_appendf(const char *path, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int
s_appendf(const char *path, const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    return s_append(path, line);
}

static int64_t
s_now(void)
{
    return harness_now();
}

static void
s_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* Reads PATH (NULL if it does not exist). */
static char *
s_slurp(const char *path)
{
    return harness_read_file(path);
}

/* ------------------------------------------------------------------ */
/*  Child roles                                                       */
/* ------------------------------------------------------------------ */

/* A call in progress when gorod restarts fails with GORO_EUNAVAILABLE
   (the new gorod's heartbeat carries another run id) and the load
   children make it again. Each such failure is counted: a line in
   OUT.unavailable. */
static void
s_unavailable(const char *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s.unavailable", out);
    s_append(path, "u\n");
}

/* Lines in PATH, and the number at the start of the last one (-1). */
static long
s_last_number(const char *path, long *lines_out)
{
    char *text = s_slurp(path);
    long last = -1, lines = 0;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (!end)
            break;
        last = strtol(line, NULL, 10);
        lines++;
        line = end + 1;
    }
    free(text);
    if (lines_out)
        *lines_out = lines;
    return last;
}

/* submit OUT N PREFIX RUNS: submits exec jobs PREFIX-i (i from where OUT
   ends to N-1) with key PREFIX-i, each running `echo $GORO_JOB_ID >>
   RUNS`; retries a submit on GORO_EUNAVAILABLE until it is accepted and
   appends "i id" to OUT. */
static int
s_child_submit(goro_t *client, int argc, char **argv)
{
    if (argc < 4)
        return 101;
    const char *out = argv[0];
    long n = strtol(argv[1], NULL, 10);
    char script[PATH_MAX + 64];
    snprintf(script, sizeof script, "echo $GORO_JOB_ID >> %s", argv[3]);
    const char *job[] = {"sh", "-c", script, NULL};
    for (long i = s_last_number(out, NULL) + 1; i < n; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s-%ld", argv[2], i);
        goro_opts_t opts = GORO_OPTS_INIT;
        opts.key = key;
        uint64_t id = 0;
        int rc;
        while ((rc = goro_go_exec(client, job, &opts, &id))
               == GORO_EUNAVAILABLE)
            s_unavailable(out);
        if (rc != GORO_OK)
            return rc;
        s_appendf(out, "%ld %" PRIu64 "\n", i, id);
    }
    return 0;
}

/* send OUT CHAN M: sends v00000 .. v(M-1), then END, on CHAN, each until
   it is acknowledged (retrying on GORO_EUNAVAILABLE, and on
   GORO_ETIMEDOUT while the buffer is full); appends "i" to OUT (M for
   END) once it was. */
static int
s_child_send(goro_t *client, int argc, char **argv)
{
    if (argc < 3)
        return 101;
    const char *out = argv[0];
    long m = strtol(argv[2], NULL, 10);
    for (long i = s_last_number(out, NULL) + 1; i <= m; i++) {
        char value[32];
        if (i < m)
            snprintf(value, sizeof value, "v%05ld", i);
        else
            snprintf(value, sizeof value, "END");
        int rc;
        while (
            (rc = goro_chan_send(client, argv[1], value, strlen(value), 1000))
                == GORO_EUNAVAILABLE
            || rc == GORO_ETIMEDOUT)
            if (rc == GORO_EUNAVAILABLE)
                s_unavailable(out);
        if (rc != GORO_OK)
            return rc;
        s_appendf(out, "%ld\n", i);
    }
    return 0;
}

/* recv OUT CHAN: receives from CHAN, appending each value to OUT, until
   END came or the channel is closed. */
static int
s_child_recv(goro_t *client, int argc, char **argv)
{
    if (argc < 2)
        return 101;
    for (;;) {
        void *data = NULL;
        size_t len = 0;
        int rc = goro_chan_recv(client, argv[1], 1000, &data, &len);
        if (rc == GORO_EUNAVAILABLE)
            s_unavailable(argv[0]);
        if (rc == GORO_ETIMEDOUT || rc == GORO_EUNAVAILABLE)
            continue;
        if (rc == GORO_ECLOSED)
            return 0;
        if (rc != GORO_OK)
            return rc;
        char line[64];
        snprintf(line, sizeof line, "%.*s\n", (int) (len < 40 ? len : 40),
                 (const char *) data);
        goro_free(data);
        s_append(argv[0], line);
        if (strcmp(line, "END\n") == 0)
            return 0;
    }
}

/* park CHAN OUT: a receive that parks (timeout -1); writes its result
   code to OUT when it returns. */
static int
s_child_park(goro_t *client, int argc, char **argv)
{
    if (argc < 2)
        return 101;
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, argv[0], -1, &data, &len);
    if (rc == GORO_OK)
        s_appendf(argv[1], "%d %.*s\n", rc, (int) len, (const char *) data);
    else
        s_appendf(argv[1], "%d\n", rc);
    goro_free(data);
    return 0;
}

/* --child ROLE ENDPOINT ENDPOINTS-FILE ARGS... */
static const harness_role_t s_roles[] = {
    {"park", s_child_park}, {"submit", s_child_submit},
    {"send", s_child_send}, {"recv", s_child_recv},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ */
/*  Fixture and helpers                                               */
/* ------------------------------------------------------------------ */

/* On ipc endpoints, which stay the same across restarts. */
static harness_t *
s_up(void **state, const char *yaml)
{
    harness_opts_t opts = {yaml, 1, NULL};
    return harness_up_opts(state, &opts);
}

#define T_MAX_CHILD_ARGS 16

typedef struct {
    const char *argv[T_MAX_CHILD_ARGS + 1];
    char endpoint[PATH_MAX]; /* a copy: the harness's changes at a
                                restart */
    pid_t pid;
    bool done;
} child_t;

static void
s_child_spawn(harness_t *h, child_t *c)
{
    c->pid = harness_spawn(h, c->argv);
    assert_true(c->pid > 0);
}

/* A load child: ROLE, then its arguments, NULL-terminated. */
static void
s_child_init(harness_t *h, child_t *c, const char *role, ...)
{
    memset(c, 0, sizeof *c);
    int argc = 0;
    c->argv[argc++] = harness_self();
    c->argv[argc++] = "--child";
    c->argv[argc++] = role;
    snprintf(c->endpoint, sizeof c->endpoint, "%s", harness_clients(h));
    c->argv[argc++] = c->endpoint;
    c->argv[argc++] = harness_path(h, "endpoints");
    va_list args;
    va_start(args, role);
    const char *arg;
    while ((arg = va_arg(args, const char *)) && argc < T_MAX_CHILD_ARGS)
        c->argv[argc++] = arg;
    va_end(args);
    c->argv[argc] = NULL;
    s_child_spawn(h, c);
}

/* Reaps the children that ended: any exit but 0 fails the test. Returns
   how many are still running. */
static int
s_children_poll(harness_t *h, child_t *children, int n)
{
    int running = 0;
    for (int i = 0; i < n; i++) {
        child_t *c = &children[i];
        if (c->done)
            continue;
        int code = 0;
        int rc = harness_poll_exit(h, c->pid, &code);
        assert_true(rc >= 0);
        if (rc == 0) {
            running++;
            continue;
        }
        if (code == 0)
            c->done = true;
        else
            fail_msg("child %s exited with code %d (its log is a spawn-N.log "
                     "in %s)",
                     c->argv[2], code, harness_dir(h));
    }
    return running;
}

/* SIGKILL, then the same gorod again on the same journal. */
static void
s_crash_restart(harness_t *h)
{
    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    if (harness_restart(h, NULL, HARNESS_WAIT_MS) != 0)
        fail_msg("gorod did not come back after kill -9");
}

static void
s_wait_receivers(harness_t *h, const char *chan, long long n)
{
    int64_t until = s_now() + HARNESS_WAIT_MS;
    harness_chan_t row = {-1, -1, -1, -1, false};
    do {
        if (harness_chan_row(h, chan, &row) == 0 && row.receivers == n)
            return;
    } while (harness_nap(until));
    fail_msg("channel %s: %lld receivers parked, expected %lld", chan,
             row.receivers, n);
}

static uint64_t
s_go_sh(harness_t *h, const char *script, const goro_opts_t *opts)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    uint64_t id = 0;
    int rc = goro_go_exec(harness_client(h), argv, opts, &id);
    if (rc == GORO_OK) /* accepted, not only sent: what a crash keeps */
        rc = goro_flush(harness_client(h));
    if (rc != GORO_OK)
        fail_msg("submit of %s: %s", script, goro_strerror(rc));
    return id;
}

static int
s_job_state_now(harness_t *h, uint64_t id)
{
    goro_job_t *job = NULL;
    int rc = goro_job_status(harness_client(h), id, &job);
    if (rc != GORO_OK)
        return -rc;
    int state = goro_job_state(job);
    goro_job_destroy(&job);
    return state;
}

static void
s_recv_expect(goro_t *client, const char *chan, const char *expect)
{
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, chan, 5000, &data, &len);
    if (rc != GORO_OK)
        fail_msg("receive on %s: %s, expected \"%s\"", chan, goro_strerror(rc),
                 expect);
    if (len != strlen(expect) || memcmp(data, expect, len) != 0)
        fail_msg("receive on %s: \"%.*s\", expected \"%s\"", chan, (int) len,
                 (const char *) data, expect);
    goro_free(data);
}

/* The job script that waits for FLAG (at most 20 s, so that nothing is
   left behind if the test fails). */
#define T_WAIT_FLAG(flag) \
    "i=0; while [ ! -e " flag " ] && [ $i -lt 400 ]; do sleep 0.05; " \
    "i=$((i+1)); done"

/* Replaces each @D in TEXT with DIR. */
static char *
s_subst(const char *text, const char *dir)
{
    size_t cap = strlen(text) + 1;
    for (const char *p = text; (p = strstr(p, "@D")); p += 2)
        cap += strlen(dir);
    char *out = malloc(cap);
    char *o = out;
    for (const char *p = text; *p;) {
        if (p[0] == '@' && p[1] == 'D') {
            o += sprintf(o, "%s", dir);
            p += 2;
        }
        else
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* The journal of harness H. */
static const char *
s_journal(harness_t *h)
{
    return harness_path(h, "var/goro.journal");
}

/* The records of a journal file, decoded with the codec gorod uses. */
#define T_FRAME 12 /* the bytes before each record's frame */
typedef struct {
    size_t offset;
    int cmd;
    uint64_t id;
} record_t;

static size_t
s_records(const char *path, record_t *records, size_t max)
{
    char *buf = NULL;
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    buf = malloc((size_t) size + 1);
    assert_int_equal(fread(buf, 1, (size_t) size, file), (size_t) size);
    fclose(file);
    assert_true(size >= 8);
    assert_memory_equal(buf, "GOROJNL", 7);
    /* length (4) | CRC32C of the length (4) | CRC32C of the frame (4) |
       frame; every turn ends with a J_COMMIT */
    size_t n = 0, at = 8;
    while (at + T_FRAME <= (size_t) size && n < max) {
        const uint8_t *p = (const uint8_t *) buf + at;
        uint32_t len = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                       | (uint32_t) p[2] << 8 | p[3];
        assert_true(at + T_FRAME + len <= (size_t) size);
        goro_msg_t *msg = NULL;
        assert_int_equal(goro_msg_decode(p + T_FRAME, len, 0, &msg), GORO_OK);
        records[n].offset = at;
        records[n].cmd = msg->cmd;
        records[n].id = msg->job_id;
        goro_msg_destroy(&msg);
        n++;
        at += T_FRAME + len;
    }
    assert_true(n > 0 && records[n - 1].cmd == GORO_MSG_J_COMMIT);
    assert_int_equal(at, (size_t) size);
    free(buf);
    return n;
}

/* The index of the J_SUBMIT of job ID among RECORDS. */
static size_t
s_submit_record(const record_t *records, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (records[i].cmd == GORO_MSG_J_SUBMIT && records[i].id == id)
            return i;
    fail_msg("no J_SUBMIT of job %" PRIu64 " in the journal", id);
    return 0;
}

static void
s_flip_bit(const char *path, size_t byte, int bit)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t) byte), 1);
    b ^= (uint8_t) (1u << bit);
    assert_int_equal(pwrite(fd, &b, 1, (off_t) byte), 1);
    close(fd);
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

/* A client blocked in a call when gorod dies gets GORO_EUNAVAILABLE once
   the new gorod answers its heartbeat with another run id: it does not
   wait forever for the reply to a request the new gorod never saw. */
static void
test_blocked_call_across_crash(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    assert_int_equal(goro_chan_make(harness_client(h), "B", 0), GORO_OK);
    const char *out = harness_path(h, "park.out");
    pid_t child = harness_spawn_role(h, "park", harness_path(h, "endpoints"),
                                     "B", out, NULL);
    s_wait_receivers(h, "B", 1);
    s_crash_restart(h);
    int64_t t0 = s_now();
    /* libgoro heartbeats every second while a call is parked: the first
       answer from the new gorod ends the call. 6 s is plenty. */
    char *text = harness_wait_line(out, 6000);
    int64_t took = s_now() - t0;
    if (!text) {
        harness_chan_t row = {0, 0, 0, 0, false};
        bool parked_again = harness_chan_row(h, "B", &row) == 0
                            && row.receivers == 1;
        harness_signal(h, child, SIGKILL, HARNESS_WAIT_MS);
        fail_msg("the blocked receive still waits %lld ms after gorod came "
                 "back (%s)",
                 (long long) took,
                 parked_again ? "made again on the new gorod"
                              : "its request is gone with the old gorod");
    }
    printf("MEASURE blocked receive returned %d %lld ms after gorod came "
           "back\n",
           atoi(text), (long long) took);
    assert_int_equal(atoi(text), GORO_EUNAVAILABLE);
    assert_true(took < 6000);
    free(text);
    /* it returned, so the child ends by itself */
    int code = -1;
    int64_t until = s_now() + HARNESS_WAIT_MS;
    int rc;
    while ((rc = harness_poll_exit(h, child, &code)) == 0
           && harness_nap(until)) {}
    assert_true(rc > 0);
    assert_int_equal(code, 0);
    /* and the new gorod holds no receiver of the lost request */
    harness_chan_t row = {0, 0, 0, 0, false};
    assert_int_equal(harness_chan_row(h, "B", &row), 0);
    assert_int_equal(row.receivers, 0);
    harness_finish(state);
}

/* (a) kill -9 gorod again and again while a client submits jobs with
   idempotency keys, two pool workers run them, another client sends
   values on a buffered channel and a third receives them; then the
   total-queue checker. */
/* The defaults; soak_recovery.sh raises them through the environment
   (GORO_SOAK_JOBS, GORO_SOAK_VALUES, GORO_SOAK_KILLS, GORO_SOAK_BUDGET_MS). */
static int T_CHAOS_JOBS = 2000;
static int T_CHAOS_VALUES = 1000;
static int T_CHAOS_KILLS = 8;
static int T_CHAOS_BUDGET_MS = 60000;

static int
s_env_int(const char *name, int fallback)
{
    const char *text = getenv(name);
    return text && *text ? atoi(text) : fallback;
}

static int
s_u64_order(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    uint64_t *ids; /* by submit index, 0: never acknowledged */
    int *sent;     /* acknowledged sends by value index */
    int *received; /* receipts by value index */
    int end_received;
} chaos_t;

static void
s_chaos_read(harness_t *h, chaos_t *ch, const char *submitted,
             const char *sent, const char *received)
{
    memset(ch, 0, sizeof *ch);
    ch->ids = calloc((size_t) T_CHAOS_JOBS, sizeof *ch->ids);
    ch->sent = calloc((size_t) T_CHAOS_VALUES + 1, sizeof *ch->sent);
    ch->received = calloc((size_t) T_CHAOS_VALUES + 1, sizeof *ch->received);
    char *text = s_slurp(submitted);
    assert_non_null(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long i = -1;
        uint64_t id = 0;
        assert_int_equal(sscanf(line, "%ld %" SCNu64, &i, &id), 2);
        assert_true(i >= 0 && i < T_CHAOS_JOBS && id > 0);
        if (ch->ids[i] && ch->ids[i] != id)
            fail_msg("key %ld was given ids %" PRIu64 " and %" PRIu64, i,
                     ch->ids[i], id);
        ch->ids[i] = id;
    }
    free(text);
    text = s_slurp(sent);
    assert_non_null(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long i = strtol(line, NULL, 10);
        assert_true(i >= 0 && i <= T_CHAOS_VALUES);
        ch->sent[i]++;
    }
    free(text);
    text = s_slurp(received);
    for (char *line = text ? strtok(text, "\n") : NULL; line;
         line = strtok(NULL, "\n")) {
        if (strcmp(line, "END") == 0) {
            ch->end_received++;
            continue;
        }
        long i = -1;
        if (sscanf(line, "v%ld", &i) != 1 || i < 0 || i >= T_CHAOS_VALUES)
            fail_msg("received \"%s\", which nobody sent", line);
        ch->received[i]++;
    }
    free(text);
    (void) h;
}

static void
test_chaos_kill9_during_run(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS T_POOL2
                        "jobs: { max_attempts: 20 }\n");
    int64_t t0 = s_now();
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "chaos", 100), GORO_OK);
    const char *submitted = harness_path(h, "submitted");
    const char *sent = harness_path(h, "sent");
    const char *received = harness_path(h, "received");
    const char *runs = harness_path(h, "runs");
    char njobs[16], nvalues[16];
    snprintf(njobs, sizeof njobs, "%d", T_CHAOS_JOBS);
    snprintf(nvalues, sizeof nvalues, "%d", T_CHAOS_VALUES);
    child_t kids[3];
    s_child_init(h, &kids[0], "submit", submitted, njobs, "chaos-key", runs,
                 NULL);
    s_child_init(h, &kids[1], "send", sent, "chaos", nvalues, NULL);
    s_child_init(h, &kids[2], "recv", received, "chaos", NULL);

    /* the crashes: every 300-500 ms after gorod is back */
    unsigned seed = (unsigned) time(NULL);
    printf("MEASURE chaos seed %u\n", seed);
    srand(seed);
    int kills = 0;
    int64_t restart_ms = 0;
    for (; kills < T_CHAOS_KILLS; kills++) {
        int64_t until = s_now() + 300 + rand() % 201;
        while (s_now() < until) {
            s_children_poll(h, kids, 3);
            s_sleep_ms(10);
        }
        int64_t t = s_now();
        s_crash_restart(h);
        restart_ms += s_now() - t;
        s_children_poll(h, kids, 3);
    }
    int64_t crashes_over = s_now();
    int64_t until = t0 + T_CHAOS_BUDGET_MS;
    while (s_children_poll(h, kids, 3) > 0 && harness_nap(until)) {}
    if (s_children_poll(h, kids, 3) > 0) {
        long got = 0;
        s_last_number(received, &got);
        fail_msg("the load was not done %d ms after it started: %ld jobs "
                 "submitted, %ld values sent, %ld received",
                 T_CHAOS_BUDGET_MS, s_last_number(submitted, NULL) + 1,
                 s_last_number(sent, NULL) + 1, got);
    }
    int64_t load_over = s_now();

    /* the total-queue checker */
    client = harness_client(h);
    chaos_t ch;
    /* whatever is left in the channel (a value given back after the END
       was taken) counts as received too */
    for (;;) {
        void *data = NULL;
        size_t len = 0;
        if (goro_chan_recv(client, "chaos", 0, &data, &len) != GORO_OK)
            break;
        char line[64];
        snprintf(line, sizeof line, "%.*s\n", (int) (len < 40 ? len : 40),
                 (const char *) data);
        goro_free(data);
        s_append(received, line);
    }
    s_chaos_read(h, &ch, submitted, sent, received);

    /* jobs: every key acknowledged once, each id distinct, every job
       ended exactly once, succeeded, and ran at least once */
    int max_attempts = 0, attempts_total = 0;
    for (int i = 0; i < T_CHAOS_JOBS; i++)
        if (!ch.ids[i])
            fail_msg("job key %d was never acknowledged", i);
    uint64_t *sorted = malloc(sizeof *sorted * (size_t) T_CHAOS_JOBS);
    memcpy(sorted, ch.ids, sizeof *sorted * (size_t) T_CHAOS_JOBS);
    qsort(sorted, (size_t) T_CHAOS_JOBS, sizeof *sorted, s_u64_order);
    for (int i = 1; i < T_CHAOS_JOBS; i++)
        if (sorted[i] == sorted[i - 1])
            fail_msg("two keys were given job %" PRIu64, sorted[i]);
    for (int i = 0; i < T_CHAOS_JOBS; i++) {
        goro_job_t *job = harness_wait_job(h, ch.ids[i], T_JOB_WAIT_MS);
        if (goro_job_state(job) != GORO_JOB_SUCCEEDED)
            fail_msg("job %" PRIu64 " ended %s", ch.ids[i],
                     goro_job_state_name(goro_job_state(job)));
        int attempts = goro_job_attempts(job);
        assert_true(attempts >= 1);
        attempts_total += attempts;
        if (attempts > max_attempts)
            max_attempts = attempts;
        goro_job_destroy(&job);
        /* the key still names the same job */
        char key[64];
        snprintf(key, sizeof key, "chaos-key-%d", i);
        goro_opts_t opts = GORO_OPTS_INIT;
        opts.key = key;
        const char *argv[] = {"true", NULL};
        uint64_t again = 0;
        assert_int_equal(goro_go_exec(client, argv, &opts, &again), GORO_OK);
        if (again != ch.ids[i])
            fail_msg("key %s names job %" PRIu64 " now, was %" PRIu64, key,
                     again, ch.ids[i]);
    }
    /* no job but those: the ids are distinct and nothing else exists */
    long long total =
        harness_stat(h, "jobs_queued") + harness_stat(h, "jobs_running")
        + harness_stat(h, "jobs_succeeded") + harness_stat(h, "jobs_failed")
        + harness_stat(h, "jobs_cancelled")
        + harness_stat(h, "jobs_timed_out");
    assert_int_equal(total, T_CHAOS_JOBS);
    assert_int_equal(harness_stat(h, "jobs_succeeded"), T_CHAOS_JOBS);
    /* executions: at least once each; more only for jobs in flight at a
       crash (two workers: at most two per crash) */
    int *execs = calloc((size_t) T_CHAOS_JOBS, sizeof *execs);
    char *text = s_slurp(runs);
    assert_non_null(text);
    long extra = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        uint64_t id = strtoull(line, NULL, 10);
        uint64_t *at = bsearch(&id, sorted, (size_t) T_CHAOS_JOBS,
                               sizeof *sorted, s_u64_order);
        if (!at)
            fail_msg("job %" PRIu64 " ran but was never acknowledged", id);
        if (execs[at - sorted]++)
            extra++;
    }
    free(text);
    for (int i = 0; i < T_CHAOS_JOBS; i++)
        if (!execs[i])
            fail_msg("job %" PRIu64 " succeeded but never ran", sorted[i]);
    free(execs);
    free(sorted);

    /* values: every acknowledged send received at least once (no loss);
       more than once is counted */
    long lost = 0, duplicated = 0, unacked_received = 0;
    for (int i = 0; i < T_CHAOS_VALUES; i++) {
        assert_true(ch.sent[i] <= 1);
        if (ch.sent[i] && ch.received[i] == 0) {
            lost++;
            printf("LOST v%05d: its send was acknowledged\n", i);
        }
        if (ch.received[i] > 1)
            duplicated += ch.received[i] - 1;
        if (!ch.sent[i] && ch.received[i])
            unacked_received++;
    }
    /* calls in progress at a crash failed with GORO_EUNAVAILABLE and
       were made again: none was abandoned (a hung one would have kept
       its child from ending within the budget) */
    long unavailable = 0;
    const char *outs[] = {submitted, sent, received};
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s.unavailable", outs[i]);
        long lines = 0;
        s_last_number(path, &lines);
        unavailable += lines;
    }
    printf("MEASURE chaos: %d kill -9 of gorod in %lld ms (restart %lld ms "
           "on average); load done %lld ms after the last crash; %ld calls "
           "failed with GORO_EUNAVAILABLE across a restart and were made "
           "again, 0 abandoned\n",
           kills, (long long) (crashes_over - t0),
           (long long) (restart_ms / (kills ? kills : 1)),
           (long long) (load_over - crashes_over), unavailable);
    printf("MEASURE chaos jobs: %d acknowledged, all succeeded; %ld extra "
           "executions (bound %d); attempts %d in all, at most %d for one\n",
           T_CHAOS_JOBS, extra, 2 * kills, attempts_total, max_attempts);
    printf("MEASURE chaos values: %d sent and acknowledged, %ld lost, %ld "
           "duplicates received, %ld received without an acknowledged "
           "send; END received %d time(s)\n",
           T_CHAOS_VALUES, lost, duplicated, unacked_received,
           ch.end_received);
    assert_int_equal(lost, 0);
    assert_true(ch.sent[T_CHAOS_VALUES] == 1 && ch.end_received >= 1);
    assert_true(extra <= 2 * kills);
    free(ch.ids);
    free(ch.sent);
    free(ch.received);
    harness_finish(state);
}

/* (b) 500 queued jobs survive kill -9 with their ids, and all run once a
   worker comes. */
#define T_QUEUED 500

static void
test_queued_jobs_survive(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS T_NO_POOL);
    static const char payload[] = "true";
    const void *datas[T_QUEUED];
    size_t lens[T_QUEUED];
    uint64_t ids[T_QUEUED];
    for (int i = 0; i < T_QUEUED; i++) {
        datas[i] = payload;
        lens[i] = sizeof payload;
    }
    assert_int_equal(goro_go_many(harness_client(h), "exec", T_QUEUED, datas,
                                  lens, NULL, ids),
                     GORO_OK);
    for (int i = 1; i < T_QUEUED; i++)
        assert_true(ids[i] > ids[i - 1]);
    s_crash_restart(h);
    assert_int_equal(harness_stat(h, "jobs_queued"), T_QUEUED);
    assert_int_equal(harness_stat(h, "jobs_running"), 0);
    for (int i = 0; i < T_QUEUED; i++)
        if (s_job_state_now(h, ids[i]) != GORO_JOB_QUEUED)
            fail_msg("job %" PRIu64 " is %d after kill -9, not queued", ids[i],
                     s_job_state_now(h, ids[i]));
    /* and a second crash right away changes nothing */
    s_crash_restart(h);
    assert_int_equal(harness_stat(h, "jobs_queued"), T_QUEUED);
    /* a new job gets an id above them */
    uint64_t next = s_go_sh(h, "true", NULL);
    assert_true(next > ids[T_QUEUED - 1]);

    const char *worker[] = {GORO_BIN_DIR "/goro-worker",
                            "--connect",
                            harness_workers(h),
                            "--concurrency",
                            "4",
                            NULL};
    pid_t w = harness_spawn(h, worker);
    assert_true(w > 0);
    for (int i = 0; i < T_QUEUED; i++) {
        goro_job_t *job = harness_wait_job(h, ids[i], T_JOB_WAIT_MS);
        assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
        assert_true(goro_job_attempts(job) >= 1);
        goro_job_destroy(&job);
    }
    goro_job_t *job = harness_wait_job(h, next, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    assert_int_equal(harness_signal(h, w, SIGTERM, HARNESS_WAIT_MS), 0);
    harness_finish(state);
}

/* (c) channel buffers keep their values in order, and closed channels
   stay closed, across kill -9. */
static void
test_channels_survive(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "buf", 10), GORO_OK);
    assert_int_equal(goro_chan_make(client, "shut", 3), GORO_OK);
    assert_int_equal(goro_chan_make(client, "empty-shut", 1), GORO_OK);
    assert_int_equal(goro_chan_make(client, "rendezvous", 0), GORO_OK);
    const char *values[] = {"one",  "",    "three", "four\0with a NUL",
                            "five", "six", "seven"};
    size_t lens[] = {3, 0, 5, 15, 4, 3, 5};
    for (int i = 0; i < 7; i++)
        assert_int_equal(goro_chan_send(client, "buf", values[i], lens[i], 0),
                         GORO_OK);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(client, "buf", 0, &data, &len), GORO_OK);
    assert_int_equal(len, 3); /* "one" is taken and acknowledged */
    goro_free(data);
    assert_int_equal(goro_chan_send(client, "buf", "eight", 5, 0), GORO_OK);
    assert_int_equal(goro_chan_send(client, "shut", "a", 1, 0), GORO_OK);
    assert_int_equal(goro_chan_send(client, "shut", "b", 1, 0), GORO_OK);
    assert_int_equal(goro_chan_close(client, "shut"), GORO_OK);
    assert_int_equal(goro_chan_close(client, "empty-shut"), GORO_OK);

    s_crash_restart(h);
    client = harness_client(h);
    harness_chan_t row;
    assert_int_equal(harness_chan_row(h, "buf", &row), 0);
    assert_int_equal(row.capacity, 10);
    assert_int_equal(row.buffered, 7);
    assert_false(row.closed);
    assert_int_equal(harness_chan_row(h, "shut", &row), 0);
    assert_int_equal(row.buffered, 2);
    assert_true(row.closed);
    assert_int_equal(harness_chan_row(h, "empty-shut", &row), 0);
    assert_true(row.closed);
    assert_int_equal(harness_chan_row(h, "rendezvous", &row), 0);
    assert_int_equal(row.capacity, 0);
    /* the same make is a no-op, another capacity is refused */
    assert_int_equal(goro_chan_make(client, "buf", 10), GORO_OK);
    assert_int_equal(goro_chan_make(client, "buf", 11), GORO_EEXIST);

    s_crash_restart(h); /* twice: replay of a replayed state */
    client = harness_client(h);
    for (int i = 1; i < 7; i++) {
        assert_int_equal(goro_chan_recv(client, "buf", 0, &data, &len),
                         GORO_OK);
        if (len != lens[i] || memcmp(data, values[i], len) != 0)
            fail_msg("value %d of buf after kill -9: \"%.*s\"", i, (int) len,
                     (const char *) data);
        goro_free(data);
    }
    s_recv_expect(client, "buf", "eight");
    assert_int_equal(goro_chan_recv(client, "buf", 0, &data, &len),
                     GORO_ETIMEDOUT);
    s_recv_expect(client, "shut", "a");
    s_recv_expect(client, "shut", "b");
    assert_int_equal(goro_chan_recv(client, "shut", 0, &data, &len),
                     GORO_ECLOSED);
    assert_int_equal(goro_chan_send(client, "shut", "c", 1, 0), GORO_ECLOSED);
    assert_int_equal(goro_chan_recv(client, "empty-shut", 0, &data, &len),
                     GORO_ECLOSED);
    assert_int_equal(goro_chan_close(client, "shut"), GORO_ECLOSED);
    /* what was taken stays taken */
    s_crash_restart(h);
    assert_int_equal(harness_chan_row(h, "buf", &row), 0);
    assert_int_equal(row.buffered, 0);
    assert_int_equal(harness_chan_row(h, "shut", &row), 0);
    assert_int_equal(row.buffered, 0);
    harness_finish(state);
}

/* A receiver that has been handed a value and dies before it
   acknowledged it: the value goes back to the head of its channel, also
   when gorod is killed in between. The receiver is stopped (SIGSTOP)
   while parked, so the value reaches it but no ACK can leave. */
static void
test_receiver_killed_mid_handoff(void **state)
{
    /* T_CALM: the 3 s client liveness the wait below allows for (the
       harness's heartbeat gives 10 s, as long as the wait itself). */
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS T_NO_POOL);
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "hand", 5), GORO_OK);
    for (int round = 0; round < 2; round++) {
        const char *out = harness_path(h, round ? "hand1.out" : "hand0.out");
        pid_t receiver = harness_spawn_role(
            h, "park", harness_path(h, "endpoints"), "hand", out, NULL);
        s_wait_receivers(h, "hand", 1);
        assert_int_equal(kill(receiver, SIGSTOP), 0);
        /* straight to the parked receiver; then more behind it */
        assert_int_equal(goro_chan_send(client, "hand", "first", 5, 0),
                         GORO_OK);
        assert_int_equal(goro_chan_send(client, "hand", "second", 6, 0),
                         GORO_OK);
        harness_chan_t row;
        assert_int_equal(harness_chan_row(h, "hand", &row), 0);
        assert_int_equal(row.buffered, 1); /* "first" is out for delivery */
        if (round == 1) {
            /* the unacknowledged delivery is in the journal as held */
            s_crash_restart(h);
            client = harness_client(h);
        }
        assert_int_equal(harness_signal(h, receiver, SIGKILL, HARNESS_WAIT_MS),
                         128 + SIGKILL);
        /* back in the channel, at the head, once gorod gives up on the
           receiver (its liveness: 3 s of silence) */
        int64_t until = s_now() + HARNESS_WAIT_MS;
        while ((harness_chan_row(h, "hand", &row) != 0 || row.buffered != 2)
               && harness_nap(until)) {}
        assert_int_equal(row.buffered, 2);
        s_recv_expect(client, "hand", "first");
        s_recv_expect(client, "hand", "second");
        void *data = NULL;
        size_t len = 0;
        assert_int_equal(goro_chan_recv(client, "hand", 0, &data, &len),
                         GORO_ETIMEDOUT);
    }
    harness_finish(state);
}

/* (d) waitgroup counters and progress survive kill -9. */
static void
test_waitgroups_survive(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n");
    goro_t *client = harness_client(h);
    assert_int_equal(goro_wg_add(client, "w", 5), GORO_OK);
    assert_int_equal(goro_wg_done(client, "w"), GORO_OK);
    assert_int_equal(goro_wg_done(client, "w"), GORO_OK);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "jobs";
    opts.max_attempts = 1;
    /* Our own Add(1) holds the round open: a job that ended before the
       next was submitted would otherwise start a new round. */
    assert_int_equal(goro_wg_add(client, "jobs", 1), GORO_OK);
    s_go_sh(h, "true", &opts);
    s_go_sh(h, "true", &opts);
    s_go_sh(h, "exit 4", &opts);
    assert_int_equal(goro_wg_done(client, "jobs"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "jobs", T_JOB_WAIT_MS), GORO_OK);
    opts.wg = "pending";
    char *script = s_subst(T_WAIT_FLAG("@D/wg-go"), harness_dir(h));
    uint64_t pending = s_go_sh(h, script, &opts);
    free(script);
    goro_wg_info_t w0, j0, p0;
    assert_int_equal(goro_wg_status(client, "w", &w0), GORO_OK);
    assert_int_equal(goro_wg_status(client, "jobs", &j0), GORO_OK);
    assert_int_equal(goro_wg_status(client, "pending", &p0), GORO_OK);
    assert_int_equal(w0.counter, 3);
    assert_int_equal(w0.added, 5);
    assert_int_equal(w0.done, 2);
    assert_int_equal(j0.counter, 0);
    assert_int_equal(j0.added, 4);
    assert_int_equal(j0.done, 4);
    assert_int_equal(j0.succeeded, 2);
    assert_int_equal(j0.failed, 1);
    assert_int_equal(p0.counter, 1);

    s_crash_restart(h);
    client = harness_client(h);
    goro_wg_info_t w1, j1, p1;
    assert_int_equal(goro_wg_status(client, "w", &w1), GORO_OK);
    assert_int_equal(goro_wg_status(client, "jobs", &j1), GORO_OK);
    assert_int_equal(goro_wg_status(client, "pending", &p1), GORO_OK);
    assert_memory_equal(&w0, &w1, sizeof w0);
    assert_memory_equal(&j0, &j1, sizeof j0);
    assert_memory_equal(&p0, &p1, sizeof p0);
    assert_int_equal(goro_wg_wait(client, "w", 0), GORO_ETIMEDOUT);
    assert_int_equal(goro_wg_wait(client, "jobs", 0), GORO_OK);
    assert_int_equal(goro_wg_add(client, "w", -4), GORO_OK);
    assert_int_equal(goro_flush(client), GORO_ENEGATIVE); /* pipelined */
    for (int i = 0; i < 3; i++)
        assert_int_equal(goro_wg_done(client, "w"), GORO_OK);
    assert_int_equal(goro_wg_wait(client, "w", 0), GORO_OK);
    /* the job still pending at the crash ran again and did its Done()
       exactly once */
    assert_int_equal(harness_write_file(harness_path(h, "wg-go"), "go\n"), 0);
    assert_int_equal(goro_wg_wait(client, "pending", T_JOB_WAIT_MS), GORO_OK);
    goro_job_t *job = harness_wait_job(h, pending, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    goro_job_destroy(&job);
    assert_int_equal(goro_wg_status(client, "pending", &p1), GORO_OK);
    assert_int_equal(p1.counter, 0);
    assert_int_equal(p1.added, 1);
    assert_int_equal(p1.done, 1);
    assert_int_equal(p1.succeeded, 1);
    s_crash_restart(h);
    client = harness_client(h);
    goro_wg_info_t w2;
    assert_int_equal(goro_wg_status(client, "w", &w2), GORO_OK);
    assert_int_equal(w2.counter, 0);
    assert_int_equal(w2.done, 5);
    harness_finish(state);
}

/* (e) results within their ttl survive kill -9, and a result sent on
   its result channel is not sent again. */
static void
test_results_survive(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n"
                        "jobs: { result_ttl: 1h }\n");
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "results", 5), GORO_OK);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.max_attempts = 1;
    uint64_t ids[3];
    ids[0] = s_go_sh(h, "echo out-$GORO_JOB_ID; echo oops >&2; exit 3", &opts);
    opts.result_chan = "results";
    ids[1] = s_go_sh(h, "printf 'to the channel'", &opts);
    opts.result_chan = NULL;
    ids[2] = s_go_sh(h, "echo fine", &opts);
    goro_job_t *before[3];
    for (int i = 0; i < 3; i++)
        before[i] = harness_wait_job(h, ids[i], T_JOB_WAIT_MS);
    harness_chan_t row;
    int64_t until = s_now() + HARNESS_WAIT_MS;
    while ((harness_chan_row(h, "results", &row) != 0 || row.buffered != 1)
           && harness_nap(until)) {}
    assert_int_equal(row.buffered, 1);

    s_crash_restart(h);
    s_crash_restart(h);
    client = harness_client(h);
    for (int i = 0; i < 3; i++) {
        goro_job_t *after = NULL;
        assert_int_equal(goro_job_status(client, ids[i], &after), GORO_OK);
        assert_int_equal(goro_job_state(after), goro_job_state(before[i]));
        assert_int_equal(goro_job_exit_status(after),
                         goro_job_exit_status(before[i]));
        assert_int_equal(goro_job_attempts(after),
                         goro_job_attempts(before[i]));
        assert_int_equal(goro_job_runtime_ms(after),
                         goro_job_runtime_ms(before[i]));
        size_t a, b;
        const void *x = goro_job_output(after, &a);
        const void *y = goro_job_output(before[i], &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
        x = goro_job_error(after, &a);
        y = goro_job_error(before[i], &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
        goro_job_destroy(&after);
        goro_job_destroy(&before[i]);
    }
    char expect[64];
    snprintf(expect, sizeof expect, "out-%" PRIu64 "\n", ids[0]);
    goro_job_t *job = NULL;
    assert_int_equal(goro_job_status(client, ids[0], &job), GORO_OK);
    assert_int_equal(goro_job_state(job), GORO_JOB_FAILED);
    assert_int_equal(goro_job_exit_status(job), 3);
    size_t len;
    const char *out = goro_job_output(job, &len);
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(out, expect, len);
    goro_job_destroy(&job);
    /* the result went on its channel once, not once per restart */
    assert_int_equal(harness_chan_row(h, "results", &row), 0);
    assert_int_equal(row.buffered, 1);
    s_recv_expect(client, "results", "to the channel");
    harness_finish(state);
}

/* ... and a result whose ttl passes while gorod is down, or after it
   came back, is forgotten. */
static void
test_results_expire_after_restart(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n"
                        "jobs: { result_ttl: 1500ms }\n");
    uint64_t id = s_go_sh(h, "echo short-lived", NULL);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    goro_job_destroy(&job);
    int64_t ended = s_now();
    s_crash_restart(h);
    if (s_now() - ended < 1000) /* still within its ttl */
        assert_int_equal(s_job_state_now(h, id), GORO_JOB_SUCCEEDED);
    int64_t until = ended + 1500 + HARNESS_WAIT_MS;
    while (s_job_state_now(h, id) != -GORO_ENOTFOUND && harness_nap(until)) {}
    assert_int_equal(s_job_state_now(h, id), -GORO_ENOTFOUND);
    /* and stays forgotten after another crash */
    s_crash_restart(h);
    assert_int_equal(s_job_state_now(h, id), -GORO_ENOTFOUND);
    harness_finish(state);
}

/* (f) a job running at the crash runs again after the restart, and ends
   once: one final state, one Done() on its waitgroup; the report of the
   attempt that was running at the crash changes nothing. */
static void
test_running_job_runs_again(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n");
    char *script = s_subst("echo $GORO_ATTEMPT >> @D/f-runs; " T_WAIT_FLAG(
                               "@D/f-go") "; echo attempt "
                                          "$GORO_ATTEMPT",
                           harness_dir(h));
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "f";
    uint64_t id = s_go_sh(h, script, &opts);
    free(script);
    const char *runs = harness_path(h, "f-runs");
    char *text = harness_wait_line(runs, HARNESS_WAIT_MS);
    assert_non_null(text);
    assert_string_equal(text, "1\n");
    free(text);
    assert_int_equal(s_job_state_now(h, id), GORO_JOB_RUNNING);

    s_crash_restart(h);
    /* the attempt that was running goes on in the old worker (it only
       got SIGTERM); the new gorod runs the job again */
    int64_t until = s_now() + HARNESS_WAIT_MS;
    long lines = 0;
    while (s_last_number(runs, &lines), lines < 2 && harness_nap(until)) {}
    assert_int_equal(lines, 2);
    text = s_slurp(runs);
    assert_string_equal(text, "1\n2\n");
    free(text);
    assert_int_equal(harness_write_file(harness_path(h, "f-go"), "go\n"), 0);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    size_t len;
    const char *out = goro_job_output(job, &len);
    assert_int_equal(len, strlen("attempt 2\n"));
    assert_memory_equal(out, "attempt 2\n", len);
    goro_job_destroy(&job);
    goro_wg_info_t info;
    assert_int_equal(goro_wg_wait(harness_client(h), "f", T_JOB_WAIT_MS),
                     GORO_OK);
    assert_int_equal(goro_wg_status(harness_client(h), "f", &info), GORO_OK);
    assert_int_equal(info.added, 1);
    assert_int_equal(info.done, 1);
    assert_int_equal(info.succeeded, 1);
    assert_int_equal(info.failed, 0);
    /* the old attempt's late report (if any) changed nothing */
    assert_int_equal(harness_stat(h, "jobs_succeeded"), 1);
    harness_finish(state);
}

/* (g) dead letters: a job with max_attempts 1 whose worker is killed
   fails, survives kill -9 of gorod, is listed by `goro jobs --failed`,
   and `goro retry ID` runs it again to success. */
static void
test_dead_letter_retry(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n");
    char *script = s_subst(
        "if [ \"$GORO_ATTEMPT\" -ge 2 ]; then echo "
        "second wind; exit 0; fi; echo $$ > @D/g.pid; " T_WAIT_FLAG(
            "@D/g.stop") "; exit 1",
        harness_dir(h));
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.max_attempts = 1;
    uint64_t id = s_go_sh(h, script, &opts);
    free(script);
    char *text = harness_wait_line(harness_path(h, "g.pid"), HARNESS_WAIT_MS);
    assert_non_null(text);
    free(text);
    pid_t workers[4];
    assert_int_equal(harness_worker_pids(h, workers, 4), 1);
    assert_int_equal(kill(workers[0], SIGKILL), 0);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_FAILED);
    assert_int_equal(goro_job_attempts(job), 1);
    goro_job_destroy(&job);
    harness_write_file(harness_path(h, "g.stop"), "stop\n");

    s_crash_restart(h);
    char *out = NULL, *err = NULL;
    assert_int_equal(harness_cli(h, &out, &err, "jobs", "--failed", NULL), 0);
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%" PRIu64 " ", id);
    if (!strstr(out, id_text) || !strstr(out, "failed"))
        fail_msg("goro jobs --failed after kill -9:\n%s", out);
    free(out);
    free(err);
    snprintf(id_text, sizeof id_text, "%" PRIu64, id);
    assert_int_equal(harness_cli(h, &out, &err, "retry", id_text, NULL), 0);
    free(out);
    free(err);
    job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    assert_int_equal(goro_job_state(job), GORO_JOB_SUCCEEDED);
    assert_int_equal(goro_job_attempts(job), 2);
    size_t len;
    const char *output = goro_job_output(job, &len);
    assert_int_equal(len, strlen("second wind\n"));
    assert_memory_equal(output, "second wind\n", len);
    goro_job_destroy(&job);
    /* no longer a dead letter, also after another crash */
    s_crash_restart(h);
    assert_int_equal(harness_cli(h, &out, &err, "jobs", "--failed", NULL), 0);
    snprintf(id_text, sizeof id_text, "%" PRIu64 " ", id);
    assert_null(strstr(out, id_text));
    free(out);
    free(err);
    assert_int_equal(s_job_state_now(h, id), GORO_JOB_SUCCEEDED);
    harness_finish(state);
}

/* (h) kill -9 pool workers in a loop while 200 jobs run: all end
   succeeded, none lost. */
#define T_WORKER_JOBS 200

static void
test_kill_workers_in_a_loop(void **state)
{
    harness_t *h = s_up(state,
                        T_FSYNC_ALWAYS T_POOL2 "jobs: { max_attempts: 50 }\n");
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);
    uint64_t ids[T_WORKER_JOBS];
    for (int i = 0; i < T_WORKER_JOBS; i++)
        ids[i] = s_go_sh(h, "sleep 0.02", NULL);
    int kills = 0;
    int64_t until = s_now() + 20000;
    srand((unsigned) time(NULL));
    while (kills < 12 && s_now() < until
           && harness_stat(h, "jobs_succeeded") < T_WORKER_JOBS) {
        pid_t pids[8];
        int n = harness_worker_pids(h, pids, 8);
        if (n > 0 && kill(pids[rand() % n], SIGKILL) == 0)
            kills++;
        s_sleep_ms(200 + rand() % 100);
    }
    int attempts = 0, retried = 0;
    for (int i = 0; i < T_WORKER_JOBS; i++) {
        goro_job_t *job = harness_wait_job(h, ids[i], 60000);
        if (goro_job_state(job) != GORO_JOB_SUCCEEDED)
            fail_msg("job %" PRIu64 " ended %s after %d attempts", ids[i],
                     goro_job_state_name(goro_job_state(job)),
                     goro_job_attempts(job));
        attempts += goro_job_attempts(job);
        retried += goro_job_attempts(job) > 1;
        goro_job_destroy(&job);
    }
    printf("MEASURE %d worker kills: %d jobs all succeeded, %d of them "
           "after more than one attempt, %d attempts in all\n",
           kills, T_WORKER_JOBS, retried, attempts);
    assert_true(kills >= 3);
    assert_int_equal(harness_stat(h, "jobs_succeeded"), T_WORKER_JOBS);
    harness_finish(state);
}

/* (i) a torn tail is cut off with a warning naming its offset; a bad
   record in the middle stops gorod, which names --repair, and --repair
   starts it with what came before. */
static void
test_corrupt_journal(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    uint64_t a = s_go_sh(h, "echo a", NULL);
    uint64_t b = s_go_sh(h, "echo b", NULL);
    uint64_t c = s_go_sh(h, "echo c", NULL);
    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    record_t records[64];
    size_t n = s_records(s_journal(h), records, 64);
    /* a torn last record: c's submit (the last thing done, in the last
       turn, before its J_COMMIT) cut short */
    size_t last = s_submit_record(records, n, c);
    assert_int_equal(last, n - 2);
    assert_int_equal(records[n - 1].cmd, GORO_MSG_J_COMMIT);
    assert_int_equal(records[last - 1].cmd, GORO_MSG_J_COMMIT);
    size_t torn_at = records[last].offset;
    assert_int_equal(truncate(s_journal(h), (off_t) (torn_at + 11)), 0);
    assert_int_equal(harness_restart(h, NULL, HARNESS_WAIT_MS), 0);
    char *log = harness_log_run(h);
    char expect[128];
    snprintf(expect, sizeof expect, "torn last record at offset %zu", torn_at);
    if (!strstr(log, expect))
        fail_msg("no warning \"%s\" in gorod's log:\n%s", expect, log);
    free(log);
    assert_int_equal(s_job_state_now(h, a), GORO_JOB_QUEUED);
    assert_int_equal(s_job_state_now(h, b), GORO_JOB_QUEUED);
    assert_int_equal(s_job_state_now(h, c), -GORO_ENOTFOUND);
    uint64_t d = s_go_sh(h, "echo d", NULL);
    uint64_t e = s_go_sh(h, "echo e", NULL);
    assert_true(d > b);
    assert_int_equal(harness_stop(h), 0); /* SIGTERM this time */

    /* a flipped bit in the middle: in the frame of b's record, the
       first of its turn */
    n = s_records(s_journal(h), records, 64);
    size_t bad = s_submit_record(records, n, b);
    assert_true(bad + 2 < n);
    assert_int_equal(records[bad - 1].cmd, GORO_MSG_J_COMMIT);
    s_flip_bit(s_journal(h), records[bad].offset + T_FRAME + 2, 3);
    int code = harness_restart(h, NULL, HARNESS_WAIT_MS);
    assert_true(code > 0);
    log = harness_log_run(h);
    snprintf(expect, sizeof expect, "offset %zu", records[bad].offset);
    if (!strstr(log, "--repair") || !strstr(log, expect))
        fail_msg("gorod exited %d without naming --repair and %s:\n%s", code,
                 expect, log);
    free(log);
    /* and refuses again: nothing was changed by the refusal */
    assert_true(harness_restart(h, NULL, HARNESS_WAIT_MS) > 0);
    const char *repair[] = {"--repair", NULL};
    assert_int_equal(harness_restart(h, repair, HARNESS_WAIT_MS), 0);
    assert_int_equal(s_job_state_now(h, a), GORO_JOB_QUEUED);
    assert_int_equal(s_job_state_now(h, b), -GORO_ENOTFOUND);
    assert_int_equal(s_job_state_now(h, d), -GORO_ENOTFOUND);
    assert_int_equal(s_job_state_now(h, e), -GORO_ENOTFOUND);
    /* repaired for good: a plain start works again */
    s_crash_restart(h);
    assert_int_equal(s_job_state_now(h, a), GORO_JOB_QUEUED);
    harness_finish(state);
}

/* A flipped bit in the length field of a middle record is corruption
   too, even when the length it gives runs past the end of the file: the
   length has its own CRC. */
static void
test_corrupt_length_field(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = s_go_sh(h, "true", NULL);
    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    record_t records[16];
    size_t n = s_records(s_journal(h), records, 16);
    size_t bad = s_submit_record(records, n, ids[1]);
    assert_true(bad + 1 < n);
    s_flip_bit(s_journal(h), records[bad].offset, 7); /* length + 2^31 */
    int code = harness_restart(h, NULL, HARNESS_WAIT_MS);
    char *log = harness_log_run(h);
    if (code == 0)
        fail_msg("gorod started on a journal with a flipped length bit in "
                 "record %zu of %zu (the length CRC should catch it):\n%s",
                 bad, n, log);
    char expect[64];
    snprintf(expect, sizeof expect, "offset %zu", records[bad].offset);
    if (!strstr(log, "--repair") || !strstr(log, expect))
        fail_msg("gorod exited %d without naming --repair and %s:\n%s", code,
                 expect, log);
    free(log);
    /* --repair keeps the whole turns before it: the first job */
    const char *repair[] = {"--repair", NULL};
    assert_int_equal(harness_restart(h, repair, HARNESS_WAIT_MS), 0);
    assert_int_equal(s_job_state_now(h, ids[0]), GORO_JOB_QUEUED);
    for (int i = 1; i < 4; i++)
        assert_int_equal(s_job_state_now(h, ids[i]), -GORO_ENOTFOUND);
    harness_finish(state);
}

/* A crash may leave any prefix of the journal, so also one that ends
   between two records of one loop turn: the records of a state change
   that the daemon made in one step (a job's end and its waitgroup's
   Done) must come back together or not at all. Here the journal is cut
   between a job's J_END and the J_WG_SET of its Done. */
static void
test_torn_turn(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS
                        "pools: [ { name: default, processes: 1 } ]\n");
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "whole";
    uint64_t id = s_go_sh(h, "echo done", &opts);
    goro_job_t *job = harness_wait_job(h, id, T_JOB_WAIT_MS);
    goro_job_destroy(&job);
    assert_int_equal(goro_wg_wait(harness_client(h), "whole", 0), GORO_OK);
    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    record_t records[64];
    size_t n = s_records(s_journal(h), records, 64);
    size_t end = n, done = n;
    for (size_t i = 0; i < n; i++)
        if (records[i].cmd == GORO_MSG_J_END && records[i].id == id)
            end = i;
    for (size_t i = end + 1; i < n && done == n; i++)
        if (records[i].cmd == GORO_MSG_J_WG_SET)
            done = i;
    if (end == n || done == n)
        fail_msg("no J_END of job %" PRIu64 " followed by a J_WG_SET", id);
    /* one state change, one turn: no J_COMMIT between the two */
    for (size_t i = end + 1; i < done; i++)
        if (records[i].cmd == GORO_MSG_J_COMMIT)
            fail_msg("job %" PRIu64 "'s J_END (record %zu) and its "
                     "waitgroup's J_WG_SET (record %zu) are in different "
                     "turns",
                     id, end, done);
    assert_int_equal(truncate(s_journal(h), (off_t) records[done].offset), 0);
    assert_int_equal(harness_restart(h, NULL, HARNESS_WAIT_MS), 0);
    char *log = harness_log_run(h);
    if (!strstr(log, "has no commit"))
        fail_msg("no warning about the uncommitted last turn in gorod's "
                 "log:\n%s",
                 log);
    free(log);
    int state_now = s_job_state_now(h, id);
    goro_wg_info_t info;
    assert_int_equal(goro_wg_status(harness_client(h), "whole", &info),
                     GORO_OK);
    /* whole: either the job ended and did its Done, or it runs again
       (and may have ended again between the two reads) */
    if (state_now == GORO_JOB_SUCCEEDED)
        assert_int_equal(info.counter, 0);
    else if (info.counter != 1) {
        assert_int_equal(info.counter, 0);
        assert_int_equal(s_job_state_now(h, id), GORO_JOB_SUCCEEDED);
    }
    else {
        job = harness_wait_job(h, id, T_JOB_WAIT_MS);
        goro_job_destroy(&job);
    }
    assert_int_equal(goro_wg_wait(harness_client(h), "whole", T_JOB_WAIT_MS),
                     GORO_OK);
    harness_finish(state);
}

/* A compacted journal replays to the same state. compact_min is set low
   so that gorod compacts within the test. */
static void
test_compaction_then_crash(void **state)
{
    harness_t *h = s_up(state, T_CALM
                        "journal: { fsync: always, compact_min: "
                        "16KiB }\n"
                        "pools: [ { name: default, processes: 1 } ]\n");
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "kept", 100), GORO_OK);
    uint64_t ids[60];
    int64_t until = s_now() + 30000;
    int rounds = 0;
    char *log = NULL;
    do {
        free(log);
        goro_opts_t opts = GORO_OPTS_INIT;
        opts.wg = "compact";
        for (int i = 0; i < 60; i++)
            ids[i] = s_go_sh(h,
                             "echo a line of output to make the journal "
                             "grow",
                             &opts);
        assert_int_equal(goro_wg_wait(client, "compact", T_JOB_WAIT_MS),
                         GORO_OK);
        char value[32];
        snprintf(value, sizeof value, "round %d", rounds++);
        assert_int_equal(
            goro_chan_send(client, "kept", value, strlen(value), 0), GORO_OK);
        log = harness_log_run(h);
    } while (!strstr(log, "journal compacted") && s_now() < until);
    assert_non_null(strstr(log, "journal compacted"));
    free(log);
    goro_wg_info_t before;
    assert_int_equal(goro_wg_status(client, "compact", &before), GORO_OK);

    assert_int_equal(harness_kill(h, SIGKILL, HARNESS_WAIT_MS), 128 + SIGKILL);
    int code = harness_restart(h, NULL, HARNESS_WAIT_MS);
    if (code != 0) {
        log = harness_log_run(h);
        bool known = strstr(log, "does not fit") != NULL;
        printf("MEASURE gorod refused its compacted journal (exit %d): %s",
               code, log);
        free(log);
        fail_msg("gorod refused its own compacted journal (exit %d)%s", code,
                 known ? ": a running job's snapshot does not fit "
                         "the records after it"
                       : "");
    }
    client = harness_client(h);
    for (int i = 0; i < 60; i++)
        assert_int_equal(s_job_state_now(h, ids[i]), GORO_JOB_SUCCEEDED);
    goro_wg_info_t after;
    assert_int_equal(goro_wg_status(client, "compact", &after), GORO_OK);
    assert_memory_equal(&before, &after, sizeof before);
    for (int i = 0; i < rounds; i++) {
        char value[32];
        snprintf(value, sizeof value, "round %d", i);
        s_recv_expect(client, "kept", value);
    }
    harness_finish(state);
}

/* (j) the same key before and after kill -9 names the same job. */
static void
test_idempotent_submit_across_restart(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.key = "order-42";
    uint64_t first = s_go_sh(h, "echo once", &opts);
    assert_int_equal(s_go_sh(h, "echo once", &opts), first);
    s_crash_restart(h);
    assert_int_equal(s_go_sh(h, "echo once", &opts), first);
    char *out = NULL, *err = NULL;
    assert_int_equal(harness_cli(h, &out, &err, "go", "--key", "order-42",
                                 "--", "echo", "once", NULL),
                     0);
    assert_int_equal(strtoull(out, NULL, 10), first);
    free(out);
    free(err);
    opts.key = "order-43";
    uint64_t other = s_go_sh(h, "echo once", &opts);
    assert_true(other > first);
    s_crash_restart(h);
    assert_int_equal(s_go_sh(h, "echo once", &opts), other);
    opts.key = "order-42";
    assert_int_equal(s_go_sh(h, "echo once", &opts), first);
    assert_int_equal(harness_stat(h, "jobs_queued"), 2);
    harness_finish(state);
}

/* Two gorods on one journal would each give out the same job ids and
   each lose the other's turns at the next start: a second gorod on a
   journal in use exits 1 at once, naming the journal and the first one's
   pid, whether it has the same config (the same ipc endpoints, which it
   must not take over) or only the same journal.path. The lock goes with
   the first gorod, kill -9 included. */
static void
s_second_gorod_refused(harness_t *h, const char *config)
{
    const char *argv[] = {GORO_BIN_DIR "/gorod", "-c", config, NULL};
    char *out = NULL, *err = NULL;
    int code = harness_run(harness_dir(h), argv, &out, &err, HARNESS_WAIT_MS);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int) harness_pid(h));
    if (code != 1 || !err || !strstr(err, "var/goro.journal")
        || !strstr(err, pid))
        fail_msg("a second gorod with %s on the journal of gorod %s exited "
                 "%d (expected 1, naming var/goro.journal and %s):\n%s",
                 config, pid, code, pid, err ? err : "");
    free(out);
    free(err);
}

/* A client's pipelined goro_go goes on with the ids it leased across a
   crash the journal kept the lease through (fsync: always), and no later
   client is given one of them. */
static void
test_lease_across_crash(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    goro_t *c = goro_new(harness_clients(h)); /* ipc: the same after */
    assert_non_null(c);
    const char *argv[] = {"true", NULL};
    uint64_t first = 0, leased = 0, after = 0;
    assert_int_equal(goro_go_exec(c, argv, NULL, &first), GORO_OK);
    assert_int_equal(goro_go_exec(c, argv, NULL, &leased), GORO_OK);
    assert_int_equal(goro_flush(c), GORO_OK);
    s_crash_restart(h);
    assert_int_equal(goro_go_exec(c, argv, NULL, &after), GORO_OK);
    assert_int_equal(goro_flush(c), GORO_OK);
    assert_int_equal(after, leased + 1);
    const uint64_t ids[] = {first, leased, after};
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_job_state_now(h, ids[i]), GORO_JOB_QUEUED);
    /* the harness client is new: its first submission is not leased */
    assert_true(s_go_sh(h, "true", NULL) > after + 1);
    goro_destroy(&c);
    harness_finish(state);
}

static void
test_second_gorod_refused(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = s_go_sh(h, "true", NULL);
    s_second_gorod_refused(h, harness_path(h, "goro.yaml"));
    const char *other = harness_path(h, "other.yaml");
    assert_int_equal(harness_write_file(other,
                                        "listen: { clients: "
                                        "tcp://127.0.0.1:*, workers: "
                                        "tcp://127.0.0.1:* }\n" T_NO_POOL),
                     0);
    s_second_gorod_refused(h, other);
    /* the first one serves on, on its own endpoints, new connections
       too (the ipc socket file is still its own) */
    goro_t *fresh = goro_new(harness_clients(h));
    assert_non_null(fresh);
    assert_int_equal(goro_ping(fresh, 5000), GORO_OK);
    goro_destroy(&fresh);
    uint64_t next = s_go_sh(h, "true", NULL);
    assert_true(next > ids[2]);
    /* a crash lets go of the journal: the next gorod has every job */
    s_crash_restart(h);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_job_state_now(h, ids[i]), GORO_JOB_QUEUED);
    assert_int_equal(s_job_state_now(h, next), GORO_JOB_QUEUED);
    assert_true(s_go_sh(h, "true", NULL) > next);
    s_second_gorod_refused(h, other);
    harness_finish(state);
}

/* Channel values are delivered at least once across a gorod crash, and
   at most once more per crash: a value leaves its channel for good when
   the turn that reads the receiver's ACK is written, so a crash between
   the VALUE and that write brings it back at the head of the channel
   for the next receive. The window ends when the receiver's next
   request on the same connection is answered (the ACK went ahead of it,
   and replies leave after their turn is written).

   First the window held open: a raw client takes a value and sends no
   ACK, as if gorod died before reading it. Then kill -9 right after a
   receive, where the ACK may or may not have been read (each value at
   most twice, only the one received last before a crash, none lost),
   and right after a receive and a ping (never again). */
#define T_DUP_VALUES 16 /* enough for every round to take two */
#define T_DUP_RACES 4   /* crashes right after a receive */
#define T_DUP_CLOSED 3  /* ... after a receive and a ping */

/* The index of value "vNNNNN" of "dup"; any other value fails the
   test. */
static int
s_dup_index(const void *data, size_t len)
{
    char text[16] = "";
    snprintf(text, sizeof text, "%.*s", (int) (len < 15 ? len : 15),
             (const char *) data);
    int index = -1;
    if (sscanf(text, "v%d", &index) != 1 || index < 0 || index >= T_DUP_VALUES)
        fail_msg("received \"%s\" on dup, which was never sent", text);
    return index;
}

/* A connection of the test's own, to speak the protocol by hand. */
typedef struct {
    void *ctx;
    void *sock;
} raw_t;

/* Receives the value at the head of "dup" on a DEALER of its own, RAW,
   and sends no ACK; returns its index. */
static int
s_recv_without_ack(harness_t *h, raw_t *raw)
{
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(sock, harness_clients(h)), 0);
    goro_msg_t *recv = goro_msg_new(GORO_MSG_CHAN_RECV);
    recv->reqid = 1;
    goro_msg_set_name(recv, "dup");
    recv->timeout = 5000;
    assert_int_equal(goro_msg_send(recv, sock, NULL), GORO_OK);
    goro_msg_destroy(&recv);
    goro_msg_t *value = NULL;
    assert_int_equal(goro_msg_recv_wait(sock, 10000, 0, &value), GORO_OK);
    assert_int_equal(value->cmd, GORO_MSG_VALUE);
    assert_true(value->delivery_id != 0); /* a delivery to acknowledge */
    int index = s_dup_index(value->data, value->size);
    goro_msg_destroy(&value);
    raw->ctx = ctx;
    raw->sock = sock;
    return index;
}

static int
s_recv_dup(harness_t *h)
{
    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(harness_client(h), "dup", 5000, &data, &len);
    if (rc != GORO_OK)
        fail_msg("receive on dup: %s", goro_strerror(rc));
    int index = s_dup_index(data, len);
    goro_free(data);
    return index;
}

/* Sends that went without waiting, on room the channel had, are in it
   once goro_flush returned OK: with fsync: always, a kill -9 right after
   loses none and keeps their order. */
#define T_PIPED_SENDS 300
static void
test_pipelined_sends_across_crash(void **state)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    goro_t *client = harness_client(h);
    assert_int_equal(goro_chan_make(client, "piped", 1000), GORO_OK);
    char value[16];
    for (int i = 0; i < T_PIPED_SENDS; i++) {
        snprintf(value, sizeof value, "p%05d", i);
        assert_int_equal(goro_chan_send(client, "piped", value, 6, -1),
                         GORO_OK);
    }
    assert_int_equal(goro_flush(client), GORO_OK);
    s_crash_restart(h);
    client = harness_client(h); /* the restart made a new one */
    for (int i = 0; i < T_PIPED_SENDS; i++) {
        void *data = NULL;
        size_t len = 0;
        snprintf(value, sizeof value, "p%05d", i);
        assert_int_equal(goro_chan_recv(client, "piped", 5000, &data, &len),
                         GORO_OK);
        if (len != 6 || memcmp(data, value, 6) != 0)
            fail_msg("after the crash, value %d is %.*s", i, (int) len,
                     (char *) data);
        goro_free(data);
    }
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(client, "piped", 0, &data, &len),
                     GORO_ETIMEDOUT);
    harness_finish(state);
}

static void
test_channel_value_twice_across_crash(void **state)
{
    harness_t *h = s_up(state, T_CALM T_FSYNC_ALWAYS T_NO_POOL);
    assert_int_equal(goro_chan_make(harness_client(h), "dup", T_DUP_VALUES),
                     GORO_OK);
    for (int i = 0; i < T_DUP_VALUES; i++) {
        char value[8];
        snprintf(value, sizeof value, "v%05d", i);
        assert_int_equal(goro_chan_send(harness_client(h), "dup", value, 6, 0),
                         GORO_OK);
    }
    int got[T_DUP_VALUES] = {0};

    /* the window held open: delivered, and delivered again */
    raw_t raw;
    int first = s_recv_without_ack(h, &raw);
    assert_int_equal(first, 0);
    got[first]++;
    s_crash_restart(h);
    zmq_close(raw.sock);
    zmq_ctx_destroy(raw.ctx);
    int again = s_recv_dup(h);
    assert_int_equal(again, first);
    got[again]++;

    /* kill -9 right after a receive: its ACK may not have been read */
    int duplicates = 0;
    for (int round = 0; round < T_DUP_RACES; round++) {
        int last = s_recv_dup(h);
        got[last]++;
        s_crash_restart(h);
        int next = s_recv_dup(h);
        got[next]++;
        if (next == last)
            duplicates++;
        else if (next != last + 1)
            fail_msg("after v%05d and a crash came v%05d: a value was "
                     "lost or reordered",
                     last, next);
    }
    /* ... and after a receive whose next request was answered: the ACK
       went ahead of that request, so its record is on disk */
    for (int round = 0; round < T_DUP_CLOSED; round++) {
        int last = s_recv_dup(h);
        got[last]++;
        assert_int_equal(goro_ping(harness_client(h), 5000), GORO_OK);
        s_crash_restart(h);
        int next = s_recv_dup(h);
        got[next]++;
        if (next != last + 1)
            fail_msg("v%05d was received, its ACK confirmed by a ping, and "
                     "after a crash came v%05d",
                     last, next);
    }
    /* the rest, then nothing: none lost, none more than twice */
    harness_chan_t row;
    assert_int_equal(harness_chan_row(h, "dup", &row), 0);
    for (long long i = 0; i < row.buffered; i++)
        got[s_recv_dup(h)]++;
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(goro_chan_recv(harness_client(h), "dup", 0, &data, &len),
                     GORO_ETIMEDOUT);
    for (int i = 0; i < T_DUP_VALUES; i++)
        if (got[i] < 1 || got[i] > 2)
            fail_msg("v%05d was received %d times", i, got[i]);
    printf("MEASURE kill -9 right after a receive: %d of %d values "
           "delivered again\n",
           duplicates, T_DUP_RACES);
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Measurements: MEASURE lines, not assertions                       */
/* ------------------------------------------------------------------ */

#define T_RATE_JOBS 2000
#define T_RATE_SEQ 500

static void
s_measure_rate(void **state, const char *fsync_mode)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml, "journal: { fsync: %s }\n" T_POOL2,
             fsync_mode);
    harness_t *h = s_up(state, yaml);
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);
    static const char payload[] = "true";
    const void **datas = calloc(T_RATE_JOBS, sizeof *datas);
    size_t *lens = calloc(T_RATE_JOBS, sizeof *lens);
    for (int i = 0; i < T_RATE_JOBS; i++) {
        datas[i] = payload;
        lens[i] = sizeof payload;
    }
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = "rate";
    int64_t t0 = s_now();
    assert_int_equal(goro_go_many(harness_client(h), "exec", T_RATE_JOBS,
                                  datas, lens, &opts, NULL),
                     GORO_OK);
    int64_t t1 = s_now();
    assert_int_equal(goro_wg_wait(harness_client(h), "rate", 120000), GORO_OK);
    int64_t t2 = s_now();
    goro_wg_info_t info;
    assert_int_equal(goro_wg_status(harness_client(h), "rate", &info),
                     GORO_OK);
    assert_int_equal(info.succeeded, T_RATE_JOBS);
    /* one submit at a time: each waits for its turn's flush (and fsync,
       with always), so this is where the policy shows */
    const char *argv[] = {"true", NULL};
    opts.wg = "rate-seq";
    int64_t t3 = s_now();
    for (int i = 0; i < T_RATE_SEQ; i++)
        assert_int_equal(goro_go_exec(harness_client(h), argv, &opts, NULL),
                         GORO_OK);
    int64_t t4 = s_now();
    assert_int_equal(goro_wg_wait(harness_client(h), "rate-seq", 120000),
                     GORO_OK);
    printf("MEASURE fsync=%s: %d no-op exec jobs (true) on 2 pool workers "
           "in %lld ms = %.0f jobs/s (pipelined submit of all in %lld ms); "
           "%d submits one at a time: %.0f/s\n",
           fsync_mode, T_RATE_JOBS, (long long) (t2 - t0),
           T_RATE_JOBS * 1000.0 / (double) (t2 - t0 ? t2 - t0 : 1),
           (long long) (t1 - t0), T_RATE_SEQ,
           T_RATE_SEQ * 1000.0 / (double) (t4 - t3 ? t4 - t3 : 1));
    free(datas);
    free(lens);
    harness_finish(state);
}

static void
test_measure_rate_always(void **state)
{
    s_measure_rate(state, "always");
}

static void
test_measure_rate_everysec(void **state)
{
    s_measure_rate(state, "everysec");
}

static void
test_measure_rate_never(void **state)
{
    s_measure_rate(state, "never");
}

/* Restart time with many queued jobs: from the start of gorod on their
   journal until it answers a ping. */
static void
s_measure_restart(void **state, int count, int sig)
{
    harness_t *h = s_up(state, T_FSYNC_ALWAYS T_NO_POOL);
    static const char payload[] = "true";
    const void **datas = calloc((size_t) count, sizeof *datas);
    size_t *lens = calloc((size_t) count, sizeof *lens);
    uint64_t *ids = calloc((size_t) count, sizeof *ids);
    for (int i = 0; i < count; i++) {
        datas[i] = payload;
        lens[i] = sizeof payload;
    }
    int64_t t0 = s_now();
    assert_int_equal(goro_go_many(harness_client(h), "exec", (size_t) count,
                                  datas, lens, NULL, ids),
                     GORO_OK);
    int64_t submitted = s_now() - t0;
    int code = harness_kill(h, sig, 30000);
    assert_int_equal(code, sig == SIGKILL ? 128 + SIGKILL : 0);
    struct stat st;
    assert_int_equal(stat(s_journal(h), &st), 0);
    t0 = s_now();
    assert_int_equal(harness_restart(h, NULL, 120000), 0);
    int64_t restart = s_now() - t0;
    assert_int_equal(harness_stat(h, "jobs_queued"), count);
    assert_int_equal(s_job_state_now(h, ids[0]), GORO_JOB_QUEUED);
    assert_int_equal(s_job_state_now(h, ids[count - 1]), GORO_JOB_QUEUED);
    char *log = harness_log_run(h);
    const char *replayed = strstr(log, "replayed in ");
    long replay_ms = replayed ? strtol(replayed + 12, NULL, 10) : -1;
    free(log);
    printf("MEASURE restart with %d queued jobs (journal %lld bytes, after "
           "%s): %lld ms from start to the first ping answered, replay "
           "%ld ms (they were submitted with goro_go_many in %lld ms, "
           "fsync always)\n",
           count, (long long) st.st_size,
           sig == SIGKILL ? "kill -9" : "SIGTERM", (long long) restart,
           replay_ms, (long long) submitted);
    free(datas);
    free(lens);
    free(ids);
    harness_finish(state);
}

static void
test_measure_restart_100k(void **state)
{
    s_measure_restart(state, 100000, SIGKILL);
}

int
main(int argc, char **argv)
{
    /* 1: ENDPOINTS-FILE, passed to every child */
    if (harness_is_child(argc, argv))
        return harness_child_main(argc, argv, s_roles, 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* T_FILTER=test_name (a glob) runs only the tests it matches */
    if (getenv("T_FILTER"))
        cmocka_set_test_filter(getenv("T_FILTER"));
    T_CHAOS_JOBS = s_env_int("GORO_SOAK_JOBS", T_CHAOS_JOBS);
    T_CHAOS_VALUES = s_env_int("GORO_SOAK_VALUES", T_CHAOS_VALUES);
    T_CHAOS_KILLS = s_env_int("GORO_SOAK_KILLS", T_CHAOS_KILLS);
    T_CHAOS_BUDGET_MS = s_env_int("GORO_SOAK_BUDGET_MS", T_CHAOS_BUDGET_MS);
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_blocked_call_across_crash),
        HARNESS_TEST(test_chaos_kill9_during_run),
        HARNESS_TEST(test_queued_jobs_survive),
        HARNESS_TEST(test_channels_survive),
        HARNESS_TEST(test_receiver_killed_mid_handoff),
        HARNESS_TEST(test_waitgroups_survive),
        HARNESS_TEST(test_results_survive),
        HARNESS_TEST(test_results_expire_after_restart),
        HARNESS_TEST(test_running_job_runs_again),
        HARNESS_TEST(test_dead_letter_retry),
        HARNESS_TEST(test_kill_workers_in_a_loop),
        HARNESS_TEST(test_corrupt_journal),
        HARNESS_TEST(test_corrupt_length_field),
        HARNESS_TEST(test_torn_turn),
        HARNESS_TEST(test_compaction_then_crash),
        HARNESS_TEST(test_idempotent_submit_across_restart),
        HARNESS_TEST(test_second_gorod_refused),
        HARNESS_TEST(test_lease_across_crash),
        HARNESS_TEST(test_pipelined_sends_across_crash),
        HARNESS_TEST(test_channel_value_twice_across_crash),
        HARNESS_TEST(test_measure_rate_always),
        HARNESS_TEST(test_measure_rate_everysec),
        HARNESS_TEST(test_measure_rate_never),
        HARNESS_TEST(test_measure_restart_100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
