/*  fuzz_journal - libFuzzer target for the journal reader and the tables'
    replay (daemon/journal.c, job.c, chan.c, wg.c), as gorod runs them at
    start: journal_open + journal_replay into real job, channel and
    waitgroup tables through an apply function like the server's.

    The first input byte says how the rest becomes the journal file:

        0 (mod 3)  the file is the rest, as it is (a header or not)
        1          the file header, then the rest, as it is
        2          the file header, then records: the rest is a list of
                   4-byte big-endian lengths each followed by that many
                   bytes of frame, written with the CRC32C of the length
                   and of the frame computed here, so that mutations reach
                   the decoder and the tables instead of stopping at the
                   checksums; a last entry that does not fit is written as
                   a torn record. Replay applies whole turns only, so the
                   frames must include J_COMMIT records (the seeds do; the
                   dictionary has the command)

    Each file is replayed without and with repair. Checked: the result
    matches the file (a sound header with repair always replays; a failure
    says why), the tables' per-state counts add up, nothing fires during
    replay, and everything is freed (LeakSanitizer). A replayed state is
    then snapshotted (tables_snapshot into a fresh journal: the file a
    compaction writes) and the snapshot replayed again, which must give
    the same state.

    A repair that cut a turn it had partly applied says so (reapply);
    like gorod, the target then replays again into fresh tables.
*/
#include "journal.h"
#include "tables.h"
#include "job.h"
#include "chan.h"
#include "wg.h"
#include "log.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_journal: %s:%d: check failed: %s\n", \
                    __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

#define FUZZ_ERR 512

static char s_dir[PATH_MAX];
static char s_path[PATH_MAX];

/* ---- the tables, as the server holds them -------------------------- */

/* Nothing parks in replay, so nothing fires: chan_table_replay asserts
   it. */
typedef struct {
    tables_t tables;
} state_t;

static void
s_state_new(state_t *t)
{
    memset(t, 0, sizeof *t);
    tables_init(&t->tables, 1);
}

static void
s_state_destroy(state_t *t)
{
    tables_fini(&t->tables);
}

typedef struct {
    size_t jobs;
    size_t by_state[JOB_STATES];
} census_t;

static void
s_count_job(job_t *job, void *arg)
{
    census_t *c = arg;
    FUZZ_CHECK(job->state > 0 && job->state < JOB_STATES);
    FUZZ_CHECK(job->fn && *job->fn);
    c->jobs++;
    c->by_state[job->state]++;
}

/* The table's counts are the jobs it holds. */
static census_t
s_census(state_t *t)
{
    census_t c = {0};
    job_table_each(t->tables.jobs, s_count_job, &c);
    size_t total = 0;
    for (int state = 1; state < JOB_STATES; state++) {
        FUZZ_CHECK(job_table_count(t->tables.jobs, state)
                   == c.by_state[state]);
        total += c.by_state[state];
    }
    FUZZ_CHECK(total == c.jobs);
    return c;
}

/* ---- files ---------------------------------------------------------- */

static void
s_cleanup(void)
{
    char compact[PATH_MAX + 16];
    snprintf(compact, sizeof compact, "%s.compact", s_path);
    unlink(compact);
    unlink(s_path);
    rmdir(s_dir);
}

static int
s_no_fsync(int fd)
{
    (void) fd;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    /* Memory-backed if there is /dev/shm: the file is rewritten for every
       input. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base) {
        base = getenv("TMPDIR");
        if (!base || !*base)
            base = "/tmp";
    }
    snprintf(s_dir, sizeof s_dir, "%s/goro-fuzz-journal-XXXXXX", base);
    if (!mkdtemp(s_dir)) {
        fprintf(stderr, "fuzz_journal: mkdtemp %s: %s\n", s_dir,
                strerror(errno));
        abort();
    }
    snprintf(s_path, sizeof s_path, "%s/goro.journal", s_dir);
    atexit(s_cleanup);
    /* Durability is not under test; fsync would only slow it down. */
    journal_io_t io = {write, s_no_fsync, rename};
    journal_set_io(&io);
    /* Replay warns about every torn or bad record: quiet, unless asked. */
    if (!getenv("GORO_FUZZ_LOG"))
        log_set_level(CONFIG_LOG_ERROR);
    return 0;
}

typedef struct {
    uint8_t *buf;
    size_t size, alloc;
} bytes_t;

static void
s_put(bytes_t *b, const void *data, size_t size)
{
    if (b->size + size > b->alloc) {
        b->alloc = (b->size + size) * 2 + 64;
        b->buf = realloc(b->buf, b->alloc);
        if (!b->buf)
            abort();
    }
    if (size)
        memcpy(b->buf + b->size, data, size);
    b->size += size;
}

static void
s_put32(bytes_t *b, uint32_t value)
{
    uint8_t out[4] = {(uint8_t) (value >> 24), (uint8_t) (value >> 16),
                      (uint8_t) (value >> 8), (uint8_t) value};
    s_put(b, out, 4);
}

static uint32_t
s_get32(const uint8_t *in)
{
    return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16
           | (uint32_t) in[2] << 8 | in[3];
}

static void
s_header(bytes_t *b)
{
    s_put(b, JOURNAL_MAGIC, 7);
    uint8_t version = JOURNAL_VERSION;
    s_put(b, &version, 1);
}

/* The journal file for this input (see the top of the file). */
static void
s_file_of(const uint8_t *data, size_t size, bytes_t *file)
{
    if (size == 0)
        return;
    int mode = data[0] % 3;
    data++;
    size--;
    if (mode >= 1)
        s_header(file);
    if (mode <= 1) {
        s_put(file, data, size);
        return;
    }
    while (size >= 4) {
        size_t length = s_get32(data);
        data += 4;
        size -= 4;
        size_t whole = length <= size ? length : size;
        uint8_t len[4] = {(uint8_t) (length >> 24), (uint8_t) (length >> 16),
                          (uint8_t) (length >> 8), (uint8_t) length};
        s_put(file, len, 4);
        s_put32(file, journal_crc32c(0, len, 4));
        s_put32(file, journal_crc32c(0, data, whole));
        s_put(file, data, whole);
        data += whole;
        size -= whole;
    }
    s_put(file, data, size);
}

static void
s_write_file(const bytes_t *file)
{
    int fd = open(s_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    size_t done = 0;
    while (done < file->size) {
        ssize_t n = write(fd, file->buf + done, file->size - done);
        FUZZ_CHECK(n > 0);
        done += (size_t) n;
    }
    FUZZ_CHECK(close(fd) == 0);
}

static uint64_t
s_file_size(void)
{
    struct stat st;
    FUZZ_CHECK(stat(s_path, &st) == 0);
    return (uint64_t) st.st_size;
}

/* A whole header of this version, or a file shorter than one that is
   part of one or zeros (journal_open starts those as empty journals). */
static bool
s_header_sound(const bytes_t *file)
{
    static const uint8_t zeros[JOURNAL_HEADER];
    uint8_t header[JOURNAL_HEADER];
    memcpy(header, JOURNAL_MAGIC, 7);
    header[7] = JOURNAL_VERSION;
    if (file->size == 0)
        return true;
    if (file->size < JOURNAL_HEADER)
        return memcmp(file->buf, header, file->size) == 0
               || memcmp(file->buf, zeros, file->size) == 0;
    return memcmp(file->buf, header, JOURNAL_HEADER) == 0;
}

/* ---- one replay ------------------------------------------------------- */

/* Compacts the replayed state T and replays the snapshot: the same jobs
   (running ones back in the queue), channels and groups. */
static void
s_round_trip(journal_t **journal_p, state_t *t)
{
    census_t before = s_census(t);
    /* The file a compaction's child writes (the header, the snapshot, one
       J_COMMIT), written into a fresh journal instead: no fork per
       input. */
    journal_destroy(journal_p);
    FUZZ_CHECK(unlink(s_path) == 0);
    char err[FUZZ_ERR] = "";
    journal_t *fresh = journal_open(s_path, CONFIG_FSYNC_NEVER, err,
                                    sizeof err);
    FUZZ_CHECK(fresh);
    tables_snapshot(&t->tables, fresh);
    FUZZ_CHECK(journal_flush(fresh, util_now()) == GORO_OK);
    journal_destroy(&fresh);

    journal_t *journal = journal_open(s_path, CONFIG_FSYNC_NEVER, err,
                                      sizeof err);
    FUZZ_CHECK(journal);
    state_t again;
    s_state_new(&again);
    journal_replay_t info;
    int rc = journal_replay(journal, false, tables_replay, &again.tables,
                            &info, err, sizeof err);
    if (rc == GORO_OK) {
        FUZZ_CHECK(!info.torn && info.skipped == 0);
        census_t after = s_census(&again);
        FUZZ_CHECK(after.jobs == before.jobs);
        /* the snapshot keeps every state, running included (gorod's
           settling requeues running jobs after replay) */
        for (int state = 1; state < JOB_STATES; state++)
            FUZZ_CHECK(after.by_state[state] == before.by_state[state]);
        FUZZ_CHECK(chan_table_size(again.tables.chans)
                   == chan_table_size(t->tables.chans));
        FUZZ_CHECK(chan_table_bytes(again.tables.chans)
                   == chan_table_bytes(t->tables.chans));
        FUZZ_CHECK(wg_table_size(again.tables.wgs)
                   == wg_table_size(t->tables.wgs));
    }
    else {
        fprintf(stderr,
                "fuzz_journal: the snapshot of a replayed state "
                "does not replay: %s\n",
                err);
        abort();
    }
    s_state_destroy(&again);
    journal_destroy(&journal);
}

static void
s_replay(const bytes_t *file, bool repair)
{
    s_write_file(file);
    char err[FUZZ_ERR] = "";
    journal_t *journal = journal_open(s_path, CONFIG_FSYNC_NEVER, err,
                                      sizeof err);
    if (!journal) {
        fprintf(stderr, "fuzz_journal: journal_open: %s\n", err);
        abort();
    }
    state_t t;
    s_state_new(&t);
    journal_replay_t info;
    int rc = journal_replay(journal, repair, tables_replay, &t.tables, &info,
                            err, sizeof err);
    if (rc == GORO_OK && info.reapply) {
        FUZZ_CHECK(repair);
        s_state_destroy(&t);
        s_state_new(&t);
        rc = journal_replay(journal, false, tables_replay, &t.tables, &info,
                            err, sizeof err);
        FUZZ_CHECK(rc == GORO_OK);
    }
    /* An empty or short file is a new journal: journal_open wrote the
       header. */
    bool sound = s_header_sound(file);
    if (rc == GORO_OK) {
        FUZZ_CHECK(sound);
        FUZZ_CHECK(info.bytes >= JOURNAL_HEADER);
        FUZZ_CHECK(
            info.bytes
            <= (file->size > JOURNAL_HEADER ? file->size : JOURNAL_HEADER));
        FUZZ_CHECK(s_file_size() == info.bytes);
        FUZZ_CHECK(repair || info.skipped == 0);
        FUZZ_CHECK(info.skipped <= 1);
        /* Records applied are records kept: whole turns only. */
        bool partial = info.records
                       > (info.bytes - JOURNAL_HEADER) / JOURNAL_FRAME;
        FUZZ_CHECK(!partial);
        s_census(&t);
        if (repair)
            s_round_trip(&journal, &t);
    }
    else {
        FUZZ_CHECK(rc == GORO_EPROTO);
        FUZZ_CHECK(err[0] != '\0');
        /* With repair, only a file that is not a journal is refused. */
        FUZZ_CHECK(!repair || !sound);
    }
    s_state_destroy(&t);
    journal_destroy(&journal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bytes_t file = {0};
    s_file_of(data, size, &file);
    s_replay(&file, false);
    s_replay(&file, true);
    free(file.buf);
    return 0;
}
