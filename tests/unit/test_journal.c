/*  test_journal - journal.c on its own and with the tables: the CRC32C,
    the file header and the record format (length | CRC32C of the length |
    CRC32C of the frame | frame, every flush ended by a J_COMMIT),
    append/flush/replay in order, torn tails cut at every offset (a turn
    comes back whole or not at all), single-bit flips anywhere in a middle
    turn or in the whole last record (the length field included:
    corruption, not a torn tail), --repair keeping the whole turns before
    the bad one, zero tails, a header cut short (an empty journal), the
    lock that keeps a second opener out, compaction as gorod runs it (a
    child writes the snapshot while the loop flushes on, the poll carries
    those turns over) and a "crash" at each of its I/O steps, in the
    child and in the loop, the fsync
    policies, and a round trip of the job, channel and waitgroup tables
    through the journal and through a snapshot.

    Each test works in its own mkdtemp directory. Records are compared by
    their encoding: two records are the same when goro_msg_encode gives
    the same bytes (replay does not hand the J_COMMITs to the tables, so
    they are not among the records compared). Crashes are simulated with
    journal_set_io(): at the chosen step the hook copies the files as they
    are at that moment (a "crash image"), then fails the step; the image
    is then opened afresh, as gorod would after a kill -9 there.

    Bugs these tests found in daemon/ were fixed; the checks that found
    them fail (s_known_bug) if they come back.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "job.h"
#include "journal.h"
#include "tables.h"
#include "log.h"
#include "wg.h"
#include "goro_defs.h"
#include "goro_msg.h"
#include "util.h"

#define T_RECORDS 6  /* records in the small test journals */
#define T_PER_TURN 2 /* ... in turns of this many records */

/* ------------------------------------------------------------------ */
/*  Fixed bugs: fail if they come back                                */
/* ------------------------------------------------------------------ */

/* A bug found here and fixed came back: fail, saying which. */
static void s_known_bug(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static void
s_known_bug(const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    fail_msg("regression of a fixed bug: %s", text);
}

/* ------------------------------------------------------------------ */
/*  Files and directories                                             */
/* ------------------------------------------------------------------ */

static int
s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

static char *
s_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    assert_true(
        asprintf(&dir, "%s/goro-journal-XXXXXX", tmp && *tmp ? tmp : "/tmp")
        > 0);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void
s_rmtree(char **dir_p)
{
    if (*dir_p) {
        nftw(*dir_p, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(*dir_p);
        *dir_p = NULL;
    }
}

/* DIR/NAME, malloc'd. */
static char *
s_join(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint8_t *
s_read(const char *path, size_t *size_out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t size = (size_t) st.st_size;
    uint8_t *buf = malloc(size + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        assert_true(n > 0);
        got += (size_t) n;
    }
    close(fd);
    *size_out = size;
    return buf;
}

static void
s_write(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        assert_true(n > 0);
        p += n;
        size -= (size_t) n;
    }
    assert_int_equal(close(fd), 0);
}

static size_t
s_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t) st.st_size;
}

/* ------------------------------------------------------------------ */
/*  Records                                                           */
/* ------------------------------------------------------------------ */

/* A list of encoded records. */
typedef struct {
    uint8_t **bufs;
    size_t *sizes;
    size_t count, cap;
} reclist_t;

static void
s_list_add(reclist_t *list, const goro_msg_t *record)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->bufs = realloc(list->bufs, list->cap * sizeof *list->bufs);
        list->sizes = realloc(list->sizes, list->cap * sizeof *list->sizes);
        assert_non_null(list->bufs);
        assert_non_null(list->sizes);
    }
    uint8_t *buf;
    size_t size;
    assert_int_equal(goro_msg_encode(record, &buf, &size), GORO_OK);
    list->bufs[list->count] = buf;
    list->sizes[list->count] = size;
    list->count++;
}

static void
s_list_clear(reclist_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->bufs[i]);
    free(list->bufs);
    free(list->sizes);
    memset(list, 0, sizeof *list);
}

/* True if GOT holds exactly the records of A[0..na) then B[0..nb). */
static bool
s_list_is(const reclist_t *got, const reclist_t *a, size_t na,
          const reclist_t *b, size_t nb)
{
    if (got->count != na + nb)
        return false;
    for (size_t i = 0; i < got->count; i++) {
        const reclist_t *from = i < na ? a : b;
        size_t j = i < na ? i : i - na;
        if (got->sizes[i] != from->sizes[j]
            || memcmp(got->bufs[i], from->bufs[j], got->sizes[i]) != 0)
            return false;
    }
    return true;
}

static int
s_collect(void *arg, const goro_msg_t *record)
{
    s_list_add(arg, record);
    return GORO_OK;
}

/* Record I of a family of varied J_* records: every command, strings,
   binary data with NULs, a larger payload now and then. */
static void
s_make_record(int family, size_t i, reclist_t *into)
{
    static const int cmds[] = {
        GORO_MSG_J_SUBMIT,    GORO_MSG_J_START,     GORO_MSG_J_END,
        GORO_MSG_J_CHAN_MAKE, GORO_MSG_J_CHAN_PUSH, GORO_MSG_J_WG_SET,
        GORO_MSG_J_REQUEUE,   GORO_MSG_J_RETRY,     GORO_MSG_J_REMOVE,
        GORO_MSG_J_JOB_FLAGS, GORO_MSG_J_CHAN_POP,  GORO_MSG_J_CHAN_CLOSE,
        GORO_MSG_J_NEXT_ID,
    };
    char name[64], key[64];
    snprintf(name, sizeof name, "name-%d-%zu", family, i);
    snprintf(key, sizeof key, "key-%d-%zu", family, i);
    size_t size = i % 5 == 4 ? 3000 + i : 5 + i % 7;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    for (size_t k = 0; k < size; k++)
        data[k] = (uint8_t) (k * 31 + i + (size_t) family * 7);
    uint64_t id = 1000 * (uint64_t) family + i + 1;
    goro_msg_t record = {
        .cmd = (uint8_t)
            cmds[(i + (size_t) family) % (sizeof cmds / sizeof cmds[0])],
        .job_id = id,
        .value_seq = id,
        .attempt = (uint32_t) i,
        .state = GORO_JOB_SUCCEEDED,
        .status = (int64_t) i - 3,
        .capacity = (int64_t) i * 11,
        .ended_at = (int64_t) i * 11,
        .attempt_base = (int64_t) i,
        .counter = (int64_t) i,
        .added = 2,
        .name = name,
        .key = key,
        .data = data,
        .size = size,
    };
    s_list_add(into, &record);
    free(data);
}

/* Decodes encoded record I of LIST and appends it to JOURNAL. */
static void
s_append_encoded(journal_t *journal, const reclist_t *list, size_t i)
{
    goro_msg_t *record = NULL;
    assert_int_equal(
        goro_msg_decode(list->bufs[i], list->sizes[i], 0, &record), GORO_OK);
    journal_append(journal, record);
    goro_msg_destroy(&record);
}

static journal_t *
s_open(const char *path, config_fsync_t fsync_mode)
{
    char err[512] = "";
    journal_t *journal = journal_open(path, fsync_mode, err, sizeof err);
    if (!journal)
        fail_msg("journal_open %s: %s", path, err);
    return journal;
}

/* s_open, then a replay that must succeed and whose records are not
   wanted: the journal is ready for appends. */
static journal_t *
s_open_replayed(const char *path, config_fsync_t fsync_mode)
{
    journal_t *journal = s_open(path, fsync_mode);
    char err[512];
    journal_replay_t info;
    reclist_t none = {0};
    if (journal_replay(journal, false, s_collect, &none, &info, err,
                       sizeof err)
        != GORO_OK)
        fail_msg("replay of %s: %s", path, err);
    s_list_clear(&none);
    return journal;
}

/* Writes records FROM[first..first+n) to a journal at PATH, PER_TURN
   records to a flush (a turn, ended by its J_COMMIT), and closes it. */
static void
s_write_turns(const char *path, const reclist_t *from, size_t first, size_t n,
              size_t per_turn)
{
    unlink(path);
    journal_t *journal = s_open_replayed(path, CONFIG_FSYNC_NEVER);
    for (size_t i = first; i < first + n; i++) {
        s_append_encoded(journal, from, i);
        if ((i - first) % per_turn == per_turn - 1)
            assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    }
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    journal_destroy(&journal);
}

/* The same, all in one turn. */
static void
s_write_journal(const char *path, const reclist_t *from, size_t first,
                size_t n)
{
    s_write_turns(path, from, first, n, n ? n : 1);
}

/* Opens PATH afresh and replays it into GOT. Returns replay's code. */
static int
s_replay_path(const char *path, bool repair, reclist_t *got,
              journal_replay_t *info, char *err, size_t err_size)
{
    journal_t *journal = s_open(path, CONFIG_FSYNC_NEVER);
    err[0] = '\0';
    int rc = journal_replay(journal, repair, s_collect, got, info, err,
                            err_size);
    journal_destroy(&journal);
    return rc;
}

static uint32_t
s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8
           | p[3];
}

/* The bytes of a J_COMMIT record: its frame is a bare header. */
#define T_COMMIT_SIZE (JOURNAL_FRAME + GORO_MSG_HEADER)
#define T_MAX_RECS 64

/* Where things are in a well-formed journal file, parsed by hand:
   length (4, big-endian) | CRC32C of those 4 bytes | CRC32C of the
   frame | frame, every turn ended by a J_COMMIT. */
typedef struct {
    size_t nall;                /* records, the commits included */
    size_t all[T_MAX_RECS + 1]; /* their offsets; all[nall]: the end */
    bool commit[T_MAX_RECS];
    size_t n;                   /* data records (not commits) */
    size_t off[T_MAX_RECS];     /* their offsets */
    size_t turn_of[T_MAX_RECS]; /* their turn */
    size_t nturns;
    size_t turn_start[T_MAX_RECS], turn_end[T_MAX_RECS];
    size_t turn_records[T_MAX_RECS]; /* data records before turn t's end */
} layout_t;

static void
s_layout(const uint8_t *buf, size_t size, layout_t *l)
{
    memset(l, 0, sizeof *l);
    size_t at = JOURNAL_HEADER;
    l->turn_start[0] = at;
    while (at < size) {
        assert_true(at + JOURNAL_FRAME <= size);
        assert_true(l->nall < T_MAX_RECS);
        uint32_t len = s_get32(buf + at);
        assert_int_equal(s_get32(buf + at + 4),
                         journal_crc32c(0, buf + at, 4));
        assert_true(at + JOURNAL_FRAME + len <= size);
        const uint8_t *frame = buf + at + JOURNAL_FRAME;
        assert_int_equal(s_get32(buf + at + 8), journal_crc32c(0, frame, len));
        goro_msg_t *msg = NULL;
        assert_int_equal(goro_msg_decode(frame, len, 0, &msg), GORO_OK);
        bool commit = msg->cmd == GORO_MSG_J_COMMIT;
        goro_msg_destroy(&msg);
        l->all[l->nall] = at;
        l->commit[l->nall++] = commit;
        at += JOURNAL_FRAME + len;
        if (commit) {
            assert_int_equal(len, GORO_MSG_HEADER);
            l->turn_end[l->nturns] = at;
            l->turn_records[l->nturns] = l->n;
            l->nturns++;
            l->turn_start[l->nturns] = at;
        }
        else {
            l->off[l->n] = at - JOURNAL_FRAME - len;
            l->turn_of[l->n++] = l->nturns;
        }
    }
    assert_int_equal(at, size);
    l->all[l->nall] = at;
    /* gorod's journals end with a commit */
    assert_true(l->nall > 0 && l->commit[l->nall - 1]);
}

/* The offset of the record that holds byte AT. */
static size_t
s_record_holding(const layout_t *l, size_t at)
{
    for (size_t i = 0; i < l->nall; i++)
        if (at >= l->all[i] && at < l->all[i + 1])
            return l->all[i];
    fail_msg("no record holds byte %zu", at);
    return 0;
}

/* ------------------------------------------------------------------ */
/*  Fixture: a temp dir per test                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    char *dir;
    char *path; /* DIR/var/goro.journal */
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    fx->dir = s_mkdtemp();
    fx->path = s_join(fx->dir, "var/goro.journal");
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    journal_set_io(NULL);
    s_rmtree(&fx->dir);
    free(fx->path);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ */
/*  CRC, header, order                                                */
/* ------------------------------------------------------------------ */

static void
test_crc32c(void **state)
{
    (void) state;
    assert_int_equal(journal_crc32c(0, "123456789", 9), 0xE3069283);
    assert_int_equal(journal_crc32c(0, "", 0), 0);
    /* continued over pieces, the same as in one go */
    uint32_t crc = journal_crc32c(0, "1234", 4);
    assert_int_equal(journal_crc32c(crc, "56789", 5), 0xE3069283);
    /* RFC 3720 B.4: 32 bytes of zeros, and of 0xff */
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(journal_crc32c(0, zeros, 32), 0x8A9136AA);
    assert_int_equal(journal_crc32c(0, ones, 32), 0x62A8AB43);
}

/* The bytes on disk, parsed by hand: one flush of two records is the
   two records then a J_COMMIT, each as length | CRC32C of the length |
   CRC32C of the frame | frame. */
static void
test_record_format(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    s_make_record(20, 0, &want);
    s_make_record(20, 1, &want);
    s_write_journal(fx->path, &want, 0, want.count);
    size_t size;
    uint8_t *buf = s_read(fx->path, &size);
    assert_int_equal(JOURNAL_FRAME, 12);
    assert_int_equal(size, JOURNAL_HEADER + 2 * JOURNAL_FRAME + want.sizes[0]
                               + want.sizes[1] + T_COMMIT_SIZE);
    size_t at = JOURNAL_HEADER;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s_get32(buf + at), want.sizes[i]);
        assert_int_equal(s_get32(buf + at + 4),
                         journal_crc32c(0, buf + at, 4));
        assert_int_equal(s_get32(buf + at + 8),
                         journal_crc32c(0, want.bufs[i], want.sizes[i]));
        assert_memory_equal(buf + at + JOURNAL_FRAME, want.bufs[i],
                            want.sizes[i]);
        at += JOURNAL_FRAME + want.sizes[i];
    }
    /* the J_COMMIT: exactly what the codec makes of it */
    goro_msg_t commit = {.cmd = GORO_MSG_J_COMMIT};
    uint8_t *frame;
    size_t frame_size;
    assert_int_equal(goro_msg_encode(&commit, &frame, &frame_size), GORO_OK);
    assert_int_equal(frame_size, GORO_MSG_HEADER);
    assert_int_equal(s_get32(buf + at), frame_size);
    assert_int_equal(s_get32(buf + at + 4), journal_crc32c(0, buf + at, 4));
    assert_int_equal(s_get32(buf + at + 8),
                     journal_crc32c(0, frame, frame_size));
    assert_memory_equal(buf + at + JOURNAL_FRAME, frame, frame_size);
    assert_int_equal(buf[at + JOURNAL_FRAME + 3], GORO_MSG_J_COMMIT);
    assert_string_equal(goro_msg_cmd_name(GORO_MSG_J_COMMIT), "J_COMMIT");
    assert_int_equal(at + T_COMMIT_SIZE, size);
    free(frame);

    /* replay hands the two records to APPLY, not the commit */
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &want, 2, NULL, 0));
    assert_int_equal(info.records, 2);
    assert_int_equal(info.bytes, size);
    assert_false(info.torn);

    /* a flush with nothing to write writes nothing, not even a commit;
       each flush with records ends with its own commit */
    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    assert_int_equal(s_file_size(fx->path), size);
    for (size_t turn = 0; turn < 3; turn++) {
        s_append_encoded(journal, &want, turn % 2);
        assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
        size += JOURNAL_FRAME + want.sizes[turn % 2] + T_COMMIT_SIZE;
        assert_int_equal(s_file_size(fx->path), size);
        assert_int_equal(journal_size(journal), size);
    }
    journal_destroy(&journal);
    free(buf);
    buf = s_read(fx->path, &size);
    layout_t l;
    s_layout(buf, size, &l);
    assert_int_equal(l.nturns, 4);
    assert_int_equal(l.n, 5);
    s_list_clear(&got);
    s_list_clear(&want);
    free(buf);
}

static void
test_empty_file_gets_header(void **state)
{
    fixture_t *fx = *state;
    /* a path that does not exist yet, in a directory that doesn't either */
    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    assert_string_equal(journal_path(journal), fx->path);
    assert_int_equal(journal_size(journal), JOURNAL_HEADER);
    journal_destroy(&journal);
    assert_null(journal);
    size_t size;
    uint8_t *buf = s_read(fx->path, &size);
    assert_int_equal(size, JOURNAL_HEADER);
    assert_memory_equal(buf, "GOROJNL", 7);
    assert_int_equal(buf[7], JOURNAL_VERSION);
    free(buf);

    /* an existing empty file gets one too, and replays to nothing */
    s_write(fx->path, "", 0);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_int_equal(got.count, 0);
    assert_int_equal(info.records, 0);
    assert_int_equal(info.bytes, JOURNAL_HEADER);
    assert_false(info.torn);
    assert_int_equal(s_file_size(fx->path), JOURNAL_HEADER);
    s_list_clear(&got);
}

static void
test_append_flush_reopen_replay(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    for (size_t i = 0; i < 40; i++)
        s_make_record(1, i, &want);

    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    journal_replay_t info;
    char err[512];
    reclist_t got = {0};
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    assert_int_equal(got.count, 0);
    /* several turns; size counts what is buffered too */
    uint64_t expect_size = JOURNAL_HEADER;
    for (size_t i = 0; i < want.count; i++) {
        s_append_encoded(journal, &want, i);
        expect_size += JOURNAL_FRAME + want.sizes[i];
        assert_int_equal(journal_size(journal), expect_size);
        if (i % 7 == 6) {
            /* the flush ends the turn with a J_COMMIT */
            assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
            expect_size += T_COMMIT_SIZE;
            assert_int_equal(journal_size(journal), expect_size);
            assert_int_equal(s_file_size(fx->path), expect_size);
        }
    }
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    expect_size += T_COMMIT_SIZE;
    assert_int_equal(s_file_size(fx->path), expect_size);
    journal_destroy(&journal);

    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &want, want.count, NULL, 0));
    assert_int_equal(info.records, want.count);
    assert_int_equal(info.bytes, expect_size);
    assert_false(info.torn);
    assert_int_equal(info.skipped, 0);
    s_list_clear(&got);

    /* appends after a replay go after what was there */
    reclist_t more = {0};
    for (size_t i = 0; i < 5; i++)
        s_make_record(2, i, &more);
    journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    s_list_clear(&got);
    for (size_t i = 0; i < more.count; i++)
        s_append_encoded(journal, &more, i);
    journal_destroy(&journal); /* flushes what is buffered */
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &want, want.count, &more, more.count));
    s_list_clear(&got);
    s_list_clear(&more);
    s_list_clear(&want);
}

static void
test_not_a_journal_refused(void **state)
{
    fixture_t *fx = *state;
    char *var = s_join(fx->dir, "var");
    mkdir(var, 0755);
    free(var);

    const char *text = "this is my shopping list, not a journal\n";
    s_write(fx->path, text, strlen(text));
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                   sizeof err),
                     GORO_EPROTO);
    assert_non_null(strstr(err, "not a goro journal"));
    assert_non_null(strstr(err, fx->path));
    assert_int_equal(got.count, 0);
    /* and left as it was: nothing truncated, nothing written */
    size_t size;
    uint8_t *buf = s_read(fx->path, &size);
    assert_int_equal(size, strlen(text));
    assert_memory_equal(buf, text, size);
    free(buf);
    /* --repair does not make it one either */
    assert_int_equal(s_replay_path(fx->path, true, &got, &info, err,
                                   sizeof err),
                     GORO_EPROTO);
    assert_int_equal(s_file_size(fx->path), strlen(text));

    /* shorter than a header, and not part of one */
    s_write(fx->path, "GORX", 4);
    assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                   sizeof err),
                     GORO_EPROTO);
    assert_non_null(strstr(err, "not a goro journal"));
    assert_int_equal(s_file_size(fx->path), 4);

    /* a journal of another format version */
    reclist_t want = {0};
    s_make_record(3, 0, &want);
    s_write_journal(fx->path, &want, 0, 1);
    buf = s_read(fx->path, &size);
    buf[7] = JOURNAL_VERSION + 1;
    s_write(fx->path, buf, size);
    assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                   sizeof err),
                     GORO_EPROTO);
    char expect[64];
    snprintf(expect, sizeof expect, "format %d", JOURNAL_VERSION + 1);
    assert_non_null(strstr(err, expect));
    snprintf(expect, sizeof expect, "reads format %d", JOURNAL_VERSION);
    assert_non_null(strstr(err, expect));
    assert_int_equal(got.count, 0);
    assert_int_equal(s_file_size(fx->path), size);
    free(buf);
    s_list_clear(&want);
    s_list_clear(&got);
}

/* A journal cut to fewer bytes than its header (a crash while it was
   created: part of the header, or zeros where it was not yet written)
   starts as an empty journal, with a warning: nothing was in it, and
   refusing would leave gorod down until someone removes the file. */
static void
test_short_header_starts_empty(void **state)
{
    fixture_t *fx = *state;
    char *var = s_join(fx->dir, "var");
    mkdir(var, 0755);
    free(var);
    uint8_t header[JOURNAL_HEADER];
    memcpy(header, JOURNAL_MAGIC, 7);
    header[7] = JOURNAL_VERSION;
    static const uint8_t zeros[JOURNAL_HEADER];
    reclist_t later = {0};
    s_make_record(19, 0, &later);
    for (size_t cut = 1; cut < JOURNAL_HEADER; cut++)
        for (int zero = 0; zero < 2; zero++) {
            s_write(fx->path, zero ? zeros : header, cut);
            reclist_t got = {0};
            journal_replay_t info;
            char err[512];
            journal_t *journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
            int rc = journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err);
            if (rc != GORO_OK)
                fail_msg("%zu byte(s) of %s: %s", cut,
                         zero ? "zeros" : "the header", err);
            assert_int_equal(got.count, 0);
            assert_int_equal(info.bytes, JOURNAL_HEADER);
            size_t size;
            uint8_t *buf = s_read(fx->path, &size);
            assert_int_equal(size, JOURNAL_HEADER);
            assert_memory_equal(buf, header, JOURNAL_HEADER);
            free(buf);
            /* a journal like any other from there on */
            s_append_encoded(journal, &later, 0);
            journal_destroy(&journal);
            assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                           sizeof err),
                             GORO_OK);
            assert_true(s_list_is(&got, &later, 1, NULL, 0));
            s_list_clear(&got);
        }
    s_list_clear(&later);
}

/* ------------------------------------------------------------------ */
/*  Torn tails and bit flips                                          */
/* ------------------------------------------------------------------ */

/* A journal of T_RECORDS records of FAMILY in turns of T_PER_TURN at
   fx->path: its bytes (free()) and layout. */
static uint8_t *
s_turns_journal(fixture_t *fx, int family, reclist_t *want, layout_t *l,
                size_t *size)
{
    for (size_t i = 0; i < T_RECORDS; i++)
        s_make_record(family, i, want);
    s_write_turns(fx->path, want, 0, want->count, T_PER_TURN);
    uint8_t *whole = s_read(fx->path, size);
    s_layout(whole, *size, l);
    assert_int_equal(l->n, T_RECORDS);
    assert_int_equal(l->nturns, T_RECORDS / T_PER_TURN);
    return whole;
}

/* A crash may leave any prefix of the file: the replay gives back the
   turns whose J_COMMIT made it, whole, and cuts off the rest. */
static void
test_torn_at_every_offset(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0}, later = {0};
    layout_t l;
    size_t size;
    uint8_t *whole = s_turns_journal(fx, 4, &want, &l, &size);
    s_make_record(5, 0, &later);
    size_t torn_cuts = 0, clean_cuts = 0;

    for (size_t cut = JOURNAL_HEADER; cut < size; cut++) {
        /* what must come back: the turns that end by CUT */
        size_t turns = 0;
        while (turns < l.nturns && l.turn_end[turns] <= cut)
            turns++;
        size_t keep = turns ? l.turn_end[turns - 1] : JOURNAL_HEADER;
        size_t records = turns ? l.turn_records[turns - 1] : 0;
        bool torn = cut != keep;
        /* a cut inside a record names that record; one between two
           records of a turn without its commit names the turn */
        size_t torn_at = keep;
        for (size_t i = 0; i < l.nall; i++)
            if (cut > l.all[i] && cut < l.all[i + 1])
                torn_at = l.all[i];
        torn_cuts += torn;
        clean_cuts += !torn;

        s_write(fx->path, whole, cut);
        reclist_t got = {0};
        journal_replay_t info;
        char err[512];
        journal_t *journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
        int rc = journal_replay(journal, false, s_collect, &got, &info, err,
                                sizeof err);
        if (rc != GORO_OK)
            fail_msg("cut at %zu: %s", cut, err);
        if (!s_list_is(&got, &want, records, NULL, 0))
            fail_msg("cut at %zu: %zu records replayed, expected %zu (the "
                     "%zu whole turn(s))",
                     cut, got.count, records, turns);
        if (info.torn != torn)
            fail_msg("cut at %zu: torn %d, expected %d", cut, info.torn, torn);
        if (torn && info.torn_offset != torn_at)
            fail_msg("cut at %zu: torn at offset %" PRIu64 ", expected %zu",
                     cut, (uint64_t) info.torn_offset, torn_at);
        assert_int_equal(info.records, records);
        assert_int_equal(info.bytes, keep);
        /* cut off in the file, so what comes next follows whole turns */
        assert_int_equal(s_file_size(fx->path), keep);
        s_append_encoded(journal, &later, 0);
        assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
        journal_destroy(&journal);
        s_list_clear(&got);

        assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                       sizeof err),
                         GORO_OK);
        if (!s_list_is(&got, &want, records, &later, 1))
            fail_msg("cut at %zu: after an append, %zu records", cut,
                     got.count);
        assert_false(info.torn);
        s_list_clear(&got);
    }
    /* whole records with no J_COMMIT after them were among the cuts */
    assert_true(torn_cuts > 0);
    assert_int_equal(clean_cuts, l.nturns); /* HEADER + all but last */
    free(whole);
    s_list_clear(&want);
    s_list_clear(&later);
}

/* The record at OFFSET is the bad one: the message names it. */
static void
s_assert_offset_named(const char *err, size_t offset)
{
    char expect[64];
    snprintf(expect, sizeof expect, "offset %zu", offset);
    if (!strstr(err, expect))
        fail_msg("\"%s\" does not name %s", err, expect);
    if (!strstr(err, "--repair"))
        fail_msg("\"%s\" does not mention --repair", err);
}

/* Every single-bit flip in a middle turn, in any of its records (the
   J_COMMIT too) and in any field (the length too): corruption named by
   the record's offset; --repair keeps the turns before it. */
static void
test_bit_flips_in_middle_turn(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    layout_t l;
    size_t size;
    uint8_t *whole = s_turns_journal(fx, 6, &want, &l, &size);
    const size_t bad = 1; /* the middle turn */
    size_t from = l.turn_start[bad], to = l.turn_end[bad];
    size_t kept = l.turn_records[bad - 1];
    uint8_t *copy = malloc(size);
    size_t flips = 0, length_flips = 0;

    for (size_t bit = from * 8; bit < to * 8; bit++) {
        memcpy(copy, whole, size);
        copy[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        s_write(fx->path, copy, size);
        size_t record = s_record_holding(&l, bit / 8);
        reclist_t got = {0};
        journal_replay_t info;
        char err[512];
        int rc = s_replay_path(fx->path, false, &got, &info, err, sizeof err);
        flips++;
        length_flips += bit / 8 < record + 4;
        if (rc != GORO_EPROTO)
            fail_msg("bit %zu of the record at %zu (byte %zu): replay gave "
                     "%s, torn %d, %zu records: the flip went unseen",
                     bit - record * 8, record, bit / 8, goro_strerror(rc),
                     info.torn, got.count);
        s_assert_offset_named(err, record);
        assert_non_null(strstr(err, "checksum"));
        /* the file is left alone without --repair */
        assert_int_equal(s_file_size(fx->path), size);
        /* and nothing of the bad turn was applied: records are applied
           a whole turn at a time, once its records all check out */
        if (!s_list_is(&got, &want, kept, NULL, 0))
            fail_msg("bit %zu: %zu records applied before the refusal, "
                     "expected %zu",
                     bit, got.count, kept);
        s_list_clear(&got);

        /* --repair keeps the whole turns before it, drops the rest */
        assert_int_equal(s_replay_path(fx->path, true, &got, &info, err,
                                       sizeof err),
                         GORO_OK);
        if (!s_list_is(&got, &want, kept, NULL, 0))
            fail_msg("bit %zu: --repair kept %zu records, expected %zu",
                     bit - record * 8, got.count, kept);
        assert_int_equal(info.records, kept);
        assert_int_equal(info.skipped, 1);
        assert_false(info.torn);
        assert_int_equal(info.bytes, from);
        assert_int_equal(s_file_size(fx->path), from);
        s_list_clear(&got);
        /* and what it kept replays cleanly afterwards */
        assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                       sizeof err),
                         GORO_OK);
        assert_true(s_list_is(&got, &want, kept, NULL, 0));
        assert_false(info.torn);
        s_list_clear(&got);
    }
    assert_int_equal(flips, (to - from) * 8);
    /* the length field of each record of the turn, its commit included */
    assert_int_equal(length_flips, 32 * (T_PER_TURN + 1));
    free(copy);
    free(whole);
    s_list_clear(&want);
}

/* A whole last record (the last turn's J_COMMIT) with any bit flipped,
   in its length, its checksums or its frame: corruption, as anywhere
   else, not a torn write (which runs past the end of the file). With
   fsync: always that turn was on disk before its replies went out, so
   dropping it in silence would lose what a client was told; --repair
   drops it. */
static void
test_bad_last_record(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    layout_t l;
    size_t size;
    uint8_t *whole = s_turns_journal(fx, 7, &want, &l, &size);
    size_t last = l.all[l.nall - 1];
    size_t turn = l.turn_start[l.nturns - 1];
    size_t kept = l.turn_records[l.nturns - 2];
    assert_int_equal(size - last, T_COMMIT_SIZE);
    for (size_t bit = last * 8; bit < size * 8; bit++) {
        whole[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        s_write(fx->path, whole, size);
        whole[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        reclist_t got = {0};
        journal_replay_t info;
        char err[512];
        int rc = s_replay_path(fx->path, false, &got, &info, err, sizeof err);
        if (rc == GORO_OK && info.torn)
            s_known_bug("journal.c journal_replay: bit %zu of the whole "
                        "last record flipped was taken for a torn write, "
                        "and its turn dropped without a word",
                        bit - last * 8);
        if (rc != GORO_EPROTO)
            fail_msg("bit %zu of the last record: replay gave %s, torn %d",
                     bit - last * 8, goro_strerror(rc), info.torn);
        s_assert_offset_named(err, last);
        assert_int_equal(s_file_size(fx->path), size);
        assert_true(s_list_is(&got, &want, kept, NULL, 0));
        s_list_clear(&got);
        /* --repair drops the last turn, keeps the ones before */
        assert_int_equal(s_replay_path(fx->path, true, &got, &info, err,
                                       sizeof err),
                         GORO_OK);
        assert_true(s_list_is(&got, &want, kept, NULL, 0));
        assert_int_equal(info.skipped, 1);
        assert_false(info.torn);
        assert_int_equal(info.bytes, turn);
        assert_int_equal(s_file_size(fx->path), turn);
        s_list_clear(&got);
    }
    /* a bad frame in the last turn's last data record: corruption too */
    size_t rec = l.off[T_RECORDS - 1];
    whole[rec + JOURNAL_FRAME + 5] ^= 0x10;
    s_write(fx->path, whole, size);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(s_replay_path(fx->path, false, &got, &info, err,
                                   sizeof err),
                     GORO_EPROTO);
    s_assert_offset_named(err, rec);
    s_list_clear(&got);
    /* and the same record cut short by the end of the file is a torn
       write: the turns before it, with a warning */
    s_write(fx->path, whole, rec + JOURNAL_FRAME + 5);
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(info.torn);
    assert_int_equal(info.torn_offset, rec);
    assert_true(s_list_is(&got, &want, kept, NULL, 0));
    assert_int_equal(s_file_size(fx->path), turn);
    s_list_clear(&got);
    free(whole);
    s_list_clear(&want);
}

/* Space a crash left allocated but never written reads as zeros: a zero
   tail is torn, whatever its length. */
static void
test_zero_tail_is_torn(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    layout_t l;
    size_t size;
    uint8_t *whole = s_turns_journal(fx, 18, &want, &l, &size);
    const size_t tails[] = {
        1, 4, JOURNAL_FRAME - 1, JOURNAL_FRAME, JOURNAL_FRAME + 1, 100, 4096};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        uint8_t *buf = calloc(1, size + tails[i]);
        memcpy(buf, whole, size);
        s_write(fx->path, buf, size + tails[i]);
        free(buf);
        reclist_t got = {0};
        journal_replay_t info;
        char err[512];
        if (s_replay_path(fx->path, false, &got, &info, err, sizeof err)
            != GORO_OK)
            fail_msg("%zu zero bytes at the end: %s", tails[i], err);
        assert_true(info.torn);
        assert_int_equal(info.torn_offset, size);
        assert_true(s_list_is(&got, &want, T_RECORDS, NULL, 0));
        assert_int_equal(s_file_size(fx->path), size);
        s_list_clear(&got);
    }
    /* the last turn zeroed where it was (its blocks allocated, its data
       never written): the turns before it */
    size_t turn = l.turn_start[l.nturns - 1];
    uint8_t *buf = malloc(size);
    memcpy(buf, whole, size);
    memset(buf + turn, 0, size - turn);
    s_write(fx->path, buf, size);
    free(buf);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(info.torn);
    assert_int_equal(info.torn_offset, turn);
    assert_true(s_list_is(&got, &want, l.turn_records[l.nturns - 2], NULL, 0));
    assert_int_equal(s_file_size(fx->path), turn);
    s_list_clear(&got);
    free(whole);
    s_list_clear(&want);
}

/* Apply that refuses record number REFUSE (0-based) as not fitting. */
typedef struct {
    reclist_t got;
    size_t seen, refuse;
} refuser_t;

static int
s_refuse_one(void *arg, const goro_msg_t *record)
{
    refuser_t *r = arg;
    if (r->seen++ == r->refuse)
        return GORO_EPROTO;
    s_list_add(&r->got, record);
    return GORO_OK;
}

static void
test_record_that_does_not_fit(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    layout_t l;
    size_t size;
    uint8_t *whole = s_turns_journal(fx, 8, &want, &l, &size);
    /* the second record of the middle turn */
    const size_t refuse = 3;
    size_t turn = l.turn_of[refuse];
    assert_int_equal(turn, 1);
    assert_true(l.turn_of[refuse - 1] == turn);
    size_t kept = l.turn_records[turn - 1];

    refuser_t r = {.refuse = refuse};
    journal_replay_t info;
    char err[512];
    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
    assert_int_equal(journal_replay(journal, false, s_refuse_one, &r, &info,
                                    err, sizeof err),
                     GORO_EPROTO);
    journal_destroy(&journal);
    s_assert_offset_named(err, l.off[refuse]);
    assert_non_null(strstr(err, "does not fit"));
    assert_int_equal(s_file_size(fx->path), size);
    s_list_clear(&r.got);

    /* --repair drops the journal from the start of that record's turn */
    refuser_t again = {.refuse = refuse};
    journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
    assert_int_equal(journal_replay(journal, true, s_refuse_one, &again, &info,
                                    err, sizeof err),
                     GORO_OK);
    journal_destroy(&journal);
    assert_int_equal(info.skipped, 1);
    assert_int_equal(info.bytes, l.turn_start[turn]);
    assert_int_equal(s_file_size(fx->path), l.turn_start[turn]);
    /* Part of the cut turn was applied: replay says so, and the caller
       (gorod) replays again into fresh tables. */
    assert_int_equal(info.reapply, refuse > kept);
    if (!info.reapply) {
        if (!s_list_is(&again.got, &want, kept, NULL, 0))
            fail_msg("--repair applied %zu records, expected the %zu of the "
                     "whole turns before the bad one",
                     again.got.count, kept);
        assert_int_equal(info.records, kept);
    }
    s_list_clear(&again.got);
    /* what --repair kept replays cleanly */
    reclist_t got = {0};
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &want, kept, NULL, 0));
    assert_false(info.torn);
    s_list_clear(&got);
    free(whole);
    s_list_clear(&want);
}

/* ------------------------------------------------------------------ */
/*  Compaction                                                        */
/* ------------------------------------------------------------------ */

static void
s_snapshot_list(void *arg, journal_t *journal)
{
    const reclist_t *list = arg;
    for (size_t i = 0; i < list->count; i++)
        s_append_encoded(journal, list, i);
}

/* gorod's compaction (server_journal_commit, then
   server_journal_compact_check once the child has exited): the child's
   exit is waited for with WNOWAIT, so journal_compact_poll reaps it. 1
   once the journal is replaced, -1 if the compaction failed. */
static int
s_compact_finish(journal_t *journal)
{
    siginfo_t info;
    while (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) == -1)
        assert_int_equal(errno, EINTR);
    return journal_compact_poll(journal);
}

/* A whole compaction of FN's snapshot with ARG, as gorod runs one:
   GORO_OK once the snapshot has replaced the journal. */
static int
s_compact(journal_t *journal, journal_snapshot_fn *fn, void *arg)
{
    int rc = journal_compact_start(journal, fn, arg);
    if (rc != GORO_OK)
        return rc;
    return s_compact_finish(journal) == 1 ? GORO_OK : GORO_ESYS;
}

static void
test_compaction(void **state)
{
    fixture_t *fx = *state;
    reclist_t old = {0}, pend = {0}, during = {0}, snap = {0}, after = {0};
    for (size_t i = 0; i < 50; i++)
        s_make_record(9, i, &old);
    for (size_t i = 0; i < 4; i++)
        s_make_record(10, i, &snap);
    s_make_record(11, 0, &after);
    s_make_record(16, 0, &pend);
    s_make_record(17, 0, &during);
    s_write_journal(fx->path, &old, 0, old.count);
    uint64_t before = s_file_size(fx->path);

    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    s_list_clear(&got);
    /* this turn's record is flushed before the child takes its snapshot */
    s_append_encoded(journal, &pend, 0);
    assert_int_equal(journal_compact_start(journal, s_snapshot_list, &snap),
                     GORO_OK);
    assert_int_equal(journal_compact_start(journal, s_snapshot_list, &snap),
                     GORO_ESTATE); /* one at a time */
    assert_int_equal(s_file_size(fx->path),
                     before + JOURNAL_FRAME + pend.sizes[0] + T_COMMIT_SIZE);
    /* a turn while the child runs goes to the old journal, and after the
       snapshot in the new one */
    s_append_encoded(journal, &during, 0);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    uint64_t during_size = JOURNAL_FRAME + during.sizes[0] + T_COMMIT_SIZE;
    assert_int_equal(s_compact_finish(journal), 1);
    assert_int_equal(journal_compact_poll(journal), 0); /* none runs */
    /* the snapshot is one turn: its records, then a J_COMMIT */
    uint64_t expect = JOURNAL_HEADER + T_COMMIT_SIZE + during_size;
    for (size_t i = 0; i < snap.count; i++)
        expect += JOURNAL_FRAME + snap.sizes[i];
    assert_int_equal(journal_size(journal), expect);
    assert_true(journal_size(journal) < before);
    assert_int_equal(s_file_size(fx->path), expect);
    size_t size;
    uint8_t *buf = s_read(fx->path, &size);
    layout_t l;
    s_layout(buf, size, &l);
    assert_int_equal(l.nturns, 2);
    assert_int_equal(l.n, snap.count + 1);
    free(buf);
    char *compact = NULL;
    assert_true(asprintf(&compact, "%s.compact", fx->path) > 0);
    assert_false(s_exists(compact));
    /* appends go to the new file */
    s_append_encoded(journal, &after, 0);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    journal_destroy(&journal);

    reclist_t tail = {0}; /* during, then after */
    s_make_record(17, 0, &tail);
    s_make_record(11, 0, &tail);
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &snap, snap.count, &tail, tail.count));
    assert_false(info.torn);
    s_list_clear(&got);
    s_list_clear(&tail);
    free(compact);
    s_list_clear(&old);
    s_list_clear(&pend);
    s_list_clear(&during);
    s_list_clear(&snap);
    s_list_clear(&after);
}

/* The I/O hooks: count the steps, and at step FAIL_AT copy the files as
   they are (the crash image) and fail the step. A failing write first
   writes half of its bytes, as a crash in the middle of it would. The
   state is in memory shared with the compaction's child (mapped in
   main), so that the child's steps count, and crash, in the same
   sequence as gorod's. */
typedef struct {
    int steps;
    int fail_at;       /* 0: never */
    const char *path;  /* the journal */
    const char *image; /* where its crash image goes */
    bool imaged;
    int fsyncs;
    int64_t now; /* the NOW of the flush in progress */
    int64_t fsync_at[64];
} hook_t;

static hook_t *s_hook;

static void
s_copy_if_there(const char *from, const char *to)
{
    size_t size;
    uint8_t *buf = s_read(from, &size);
    unlink(to);
    if (buf) {
        s_write(to, buf, size);
        free(buf);
    }
}

static void
s_take_image(void)
{
    char *from = NULL, *to = NULL;
    s_copy_if_there(s_hook->path, s_hook->image);
    assert_true(asprintf(&from, "%s.compact", s_hook->path) > 0);
    assert_true(asprintf(&to, "%s.compact", s_hook->image) > 0);
    s_copy_if_there(from, to);
    free(from);
    free(to);
    s_hook->imaged = true;
}

static bool
s_crash_here(void)
{
    return ++s_hook->steps == s_hook->fail_at;
}

static ssize_t
s_hook_write(int fd, const void *buf, size_t size)
{
    if (s_crash_here()) {
        if (size / 2 && write(fd, buf, size / 2) < 0)
            return -1;
        s_take_image();
        errno = EIO;
        return -1;
    }
    return write(fd, buf, size);
}

static int
s_hook_fsync(int fd)
{
    if (s_crash_here()) {
        s_take_image();
        errno = EIO;
        return -1;
    }
    if (s_hook->fsyncs < 64)
        s_hook->fsync_at[s_hook->fsyncs] = s_hook->now;
    s_hook->fsyncs++;
    return fsync(fd);
}

static int
s_hook_rename(const char *from, const char *to)
{
    if (s_crash_here()) {
        s_take_image();
        errno = EIO;
        return -1;
    }
    return rename(from, to);
}

static const journal_io_t s_hooks = {s_hook_write, s_hook_fsync,
                                     s_hook_rename};

/* INTO gets a copy of every record of FROM, after its own. */
static void
s_list_cat(reclist_t *into, const reclist_t *from)
{
    for (size_t i = 0; i < from->count; i++) {
        goro_msg_t *record = NULL;
        assert_int_equal(goro_msg_decode(from->bufs[i], from->sizes[i], 0,
                                         &record),
                         GORO_OK);
        s_list_add(into, record);
        goro_msg_destroy(&record);
    }
}

/* The records of A, then B, then C, as one list. */
static reclist_t
s_joined(const reclist_t *a, const reclist_t *b, const reclist_t *c)
{
    reclist_t all = {0};
    s_list_cat(&all, a);
    s_list_cat(&all, b);
    s_list_cat(&all, c);
    return all;
}

static bool
s_list_same(const reclist_t *got, const reclist_t *want)
{
    return s_list_is(got, want, want->count, NULL, 0);
}

/* One compaction as gorod runs it, with a crash at step K (0: none).
   OLD is on disk and PEND is this turn's records (buffered), flushed by
   journal_compact_start; SNAP is what the child writes; DURING is a turn
   the loop flushes once the child is done but before the poll, so it
   lands in the old journal and is carried into the new one. The crash
   image must replay to OLD (a turn not acknowledged goes as a whole),
   OLD + PEND, OLD + PEND + DURING, or the new journal, SNAP + DURING;
   the live journal must go on working either way. Returns the number
   of steps taken. */
static int
s_compaction_crash(fixture_t *fx, int k, const reclist_t *old,
                   const reclist_t *pend, const reclist_t *during,
                   const reclist_t *snap, const reclist_t *after)
{
    char *image_dir = s_join(fx->dir, "image");
    mkdir(image_dir, 0755);
    char *image = s_join(image_dir, "goro.journal");
    char *image_compact = NULL;
    assert_true(asprintf(&image_compact, "%s.compact", image) > 0);
    unlink(image);
    unlink(image_compact);
    unlink(fx->path);
    s_write_journal(fx->path, old, 0, old->count);

    journal_t *journal = s_open_replayed(fx->path, CONFIG_FSYNC_ALWAYS);
    for (size_t i = 0; i < pend->count; i++)
        s_append_encoded(journal, pend, i);

    memset(s_hook, 0, sizeof *s_hook);
    s_hook->fail_at = k;
    s_hook->path = fx->path;
    s_hook->image = image;
    journal_set_io(&s_hooks);
    int rc = journal_compact_start(journal, s_snapshot_list, (void *) snap);
    if (rc == GORO_OK) {
        /* the child's steps come next: let it finish first */
        siginfo_t exited;
        while (waitid(P_ALL, 0, &exited, WEXITED | WNOWAIT) == -1)
            assert_int_equal(errno, EINTR);
    }
    for (size_t i = 0; i < during->count; i++)
        s_append_encoded(journal, during, i);
    journal_flush(journal, util_now()); /* a failure keeps the turn */
    bool compacted = rc == GORO_OK && journal_compact_poll(journal) == 1;
    journal_set_io(NULL);
    int steps = s_hook->steps;
    /* the flush of the pending turn is the first write */
    bool flush_failed = pend->count && k == 1;
    if (k == 0)
        assert_true(compacted);
    if (k > 0 && k <= steps)
        assert_true(s_hook->imaged);
    if (!s_hook->imaged)
        s_take_image(); /* no crash: the state it ended in */

    /* the crash image, opened afresh as gorod would after kill -9 */
    reclist_t none = {0};
    reclist_t old_pend = s_joined(old, pend, &none);
    reclist_t old_all = s_joined(old, pend, during);
    reclist_t renewed = s_joined(snap, during, &none);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    journal_t *fresh = s_open(image, CONFIG_FSYNC_NEVER);
    assert_false(s_exists(image_compact)); /* a stale one is removed */
    rc = journal_replay(fresh, false, s_collect, &got, &info, err, sizeof err);
    journal_destroy(&fresh);
    if (rc != GORO_OK)
        fail_msg("crash at step %d: replay of the image: %s", k, err);
    bool ok = s_list_same(&got, old) || s_list_same(&got, &old_pend)
              || s_list_same(&got, &old_all) || s_list_same(&got, &renewed);
    if (!ok)
        fail_msg("crash at step %d: the image replays to %zu records, "
                 "neither the old state (with or without the whole turns) "
                 "nor the new",
                 k, got.count);
    s_list_clear(&got);

    /* the live journal goes on: after a failed compaction the old one
       (with the turns), with no temp file left; after one that succeeded
       (a failed fsync of the directory is only a warning) the new one */
    char *live_compact = NULL;
    assert_true(asprintf(&live_compact, "%s.compact", fx->path) > 0);
    assert_false(s_exists(live_compact));
    free(live_compact);
    for (size_t i = 0; i < after->count; i++)
        s_append_encoded(journal, after, i);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    journal_destroy(&journal);
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    if (compacted) {
        if (!s_list_is(&got, &renewed, renewed.count, after, after->count))
            fail_msg("crash at step %d: compaction succeeded, but the live "
                     "journal replays to %zu records",
                     k, got.count);
    }
    else if (flush_failed && after->count && s_list_same(&got, &old_pend)) {
        /* The failed write left the turn and its J_COMMIT buffered; the
           records appended after it went out with the retry, with no
           J_COMMIT of their own, and were dropped as a torn turn. */
        s_known_bug("journal.c journal_flush: after a failed write "
                    "(compaction crash at step %d), the records of the "
                    "next turn are written after the retried turn's "
                    "J_COMMIT with none of their own (committed stays "
                    "true in journal_append), so replay drops them as an "
                    "uncommitted turn though that flush succeeded",
                    k);
    }
    else if (!s_list_is(&got, &old_all, old_all.count, after, after->count))
        fail_msg("crash at step %d: compaction failed, and the live "
                 "journal replays to %zu records, not the old %zu",
                 k, got.count, old_all.count + after->count);
    s_list_clear(&got);
    s_list_clear(&old_pend);
    s_list_clear(&old_all);
    s_list_clear(&renewed);
    free(image_compact);
    free(image);
    free(image_dir);
    return steps;
}

static void
test_compaction_crash_at_each_step(void **state)
{
    fixture_t *fx = *state;
    reclist_t old = {0}, pend = {0}, during = {0}, snap = {0}, after = {0};
    for (size_t i = 0; i < 20; i++)
        s_make_record(12, i, &old);
    for (size_t i = 0; i < 3; i++)
        s_make_record(13, i, &pend);
    for (size_t i = 0; i < 2; i++)
        s_make_record(18, i, &during);
    for (size_t i = 0; i < 5; i++)
        s_make_record(14, i, &snap);
    for (size_t i = 0; i < 2; i++)
        s_make_record(15, i, &after);
    int steps = s_compaction_crash(fx, 0, &old, &pend, &during, &snap, &after);
    /* flush: write + fsync; the child: header, snapshot, fsync; the turn
       meanwhile: write + fsync; the poll: write of that turn, fsync,
       rename, fsync of the directory */
    assert_int_equal(steps, 11);
    for (int k = 1; k <= steps; k++)
        s_compaction_crash(fx, k, &old, &pend, &during, &snap, &after);
    /* nothing pending or meanwhile: the compaction's own steps only */
    reclist_t none = {0};
    steps = s_compaction_crash(fx, 0, &old, &none, &none, &snap, &after);
    for (int k = 1; k <= steps; k++)
        s_compaction_crash(fx, k, &old, &none, &none, &snap, &after);
    s_list_clear(&old);
    s_list_clear(&pend);
    s_list_clear(&during);
    s_list_clear(&snap);
    s_list_clear(&after);
}

/* A write that fails leaves its turn buffered; the next flush writes it
   again, with whatever the next turn appended, and all of it replays. */
static void
test_failed_write_then_next_turn(void **state)
{
    fixture_t *fx = *state;
    reclist_t first = {0}, second = {0}, got = {0};
    s_make_record(19, 0, &first);
    s_make_record(19, 1, &second);
    char *image = s_join(fx->dir, "image");
    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    journal_replay_t info;
    char err[512];
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    s_append_encoded(journal, &first, 0);
    memset(s_hook, 0, sizeof *s_hook);
    s_hook->fail_at = 1; /* the write: half of it goes out */
    s_hook->path = fx->path;
    s_hook->image = image;
    journal_set_io(&s_hooks);
    assert_int_equal(journal_flush(journal, util_now()), GORO_ESYS);
    journal_set_io(NULL);
    assert_true(s_hook->imaged);
    /* the next loop turn appends, and its flush goes through */
    s_append_encoded(journal, &second, 0);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    journal_destroy(&journal);

    /* what a crash right now would leave */
    int rc = s_replay_path(fx->path, false, &got, &info, err, sizeof err);
    if (rc != GORO_OK)
        fail_msg("replay after a failed write and a retry: %s", err);
    if (s_list_is(&got, &first, 1, NULL, 0) && info.torn)
        s_known_bug("journal.c journal_flush: after a failed write, the "
                    "next turn's records are written after the retried "
                    "turn's J_COMMIT with none of their own (committed "
                    "stays true in journal_append), so replay drops them "
                    "as an uncommitted turn (torn at offset %" PRIu64 ") "
                    "though their flush succeeded and was acknowledged",
                    (uint64_t) info.torn_offset);
    else {
        assert_true(s_list_is(&got, &first, 1, &second, 1));
        assert_false(info.torn);
    }
    s_list_clear(&got);
    /* the crash image of the failed write: half a turn, torn */
    assert_int_equal(s_replay_path(image, false, &got, &info, err, sizeof err),
                     GORO_OK);
    assert_int_equal(got.count, 0);
    assert_true(info.torn);
    assert_int_equal(info.torn_offset, JOURNAL_HEADER);
    s_list_clear(&got);
    free(image);
    s_list_clear(&first);
    s_list_clear(&second);
}

static void
test_stale_compact_file_removed_on_open(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0};
    for (size_t i = 0; i < 3; i++)
        s_make_record(16, i, &want);
    s_write_journal(fx->path, &want, 0, want.count);
    char *compact = NULL;
    assert_true(asprintf(&compact, "%s.compact", fx->path) > 0);
    s_write(compact, "GOROJNL\001half a snapshot", 23);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_false(s_exists(compact));
    assert_true(s_list_is(&got, &want, want.count, NULL, 0));
    s_list_clear(&got);
    s_list_clear(&want);
    free(compact);
}

/* A second open of a journal that is open is refused, naming the
   journal and the pid that has it, and touches nothing (not the stale
   PATH.compact either: it may be the holder's compaction in progress).
   The lock is on PATH.lock, so it holds across a compaction that
   renames a new file over the journal, and is free once the holder
   closes it. */
static void
s_assert_refused(const char *path)
{
    char err[512] = "";
    journal_t *second = journal_open(path, CONFIG_FSYNC_NEVER, err,
                                     sizeof err);
    if (second)
        fail_msg("a second journal_open of %s while it is open succeeded",
                 path);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long) getpid());
    if (!strstr(err, path) || !strstr(err, pid) || !strstr(err, "in use"))
        fail_msg("\"%s\" does not say %s is in use by %s", err, path, pid);
}

static void
test_second_open_refused(void **state)
{
    fixture_t *fx = *state;
    reclist_t want = {0}, snap = {0};
    for (size_t i = 0; i < 3; i++)
        s_make_record(20, i, &want);
    s_make_record(21, 0, &snap);
    s_write_journal(fx->path, &want, 0, want.count);
    journal_t *journal = s_open_replayed(fx->path, CONFIG_FSYNC_NEVER);
    char *lock = s_join(fx->dir, "var/goro.journal.lock");
    size_t size;
    uint8_t *text = s_read(lock, &size);
    assert_non_null(text);
    assert_int_equal(strtol((char *) text, NULL, 10), (long) getpid());
    free(text);

    char *compact = NULL;
    assert_true(asprintf(&compact, "%s.compact", fx->path) > 0);
    s_write(compact, "in progress", 11);
    size_t before = s_file_size(fx->path);
    s_assert_refused(fx->path);
    assert_true(s_exists(compact));
    assert_int_equal(s_file_size(fx->path), before);
    unlink(compact);

    /* while a compaction's child runs, and after it */
    assert_int_equal(journal_compact_start(journal, s_snapshot_list, &snap),
                     GORO_OK);
    s_assert_refused(fx->path);
    assert_int_equal(s_compact_finish(journal), 1);
    s_assert_refused(fx->path);

    journal_destroy(&journal);
    reclist_t got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(
        s_replay_path(fx->path, false, &got, &info, err, sizeof err), GORO_OK);
    assert_true(s_list_is(&got, &snap, snap.count, NULL, 0));
    s_list_clear(&got);
    free(compact);
    free(lock);
    s_list_clear(&want);
    s_list_clear(&snap);
}

/* ------------------------------------------------------------------ */
/*  fsync policies                                                    */
/* ------------------------------------------------------------------ */

static int
s_fsyncs_for(fixture_t *fx, config_fsync_t mode, int turns, int64_t step_ms,
             int64_t *first_now)
{
    unlink(fx->path);
    journal_t *journal = s_open(fx->path, mode);
    reclist_t recs = {0}, got = {0};
    journal_replay_t info;
    char err[512];
    assert_int_equal(journal_replay(journal, false, s_collect, &got, &info,
                                    err, sizeof err),
                     GORO_OK);
    s_make_record(17, 0, &recs);
    memset(s_hook, 0, sizeof *s_hook);
    journal_set_io(&s_hooks);
    int64_t t0 = util_now();
    *first_now = t0;
    for (int turn = 0; turn < turns; turn++) {
        s_hook->now = t0 + turn * step_ms;
        uint64_t size = journal_size(journal);
        s_append_encoded(journal, &recs, 0);
        assert_int_equal(journal_flush(journal, s_hook->now), GORO_OK);
        /* the record and the turn's J_COMMIT, in one write (one fsync) */
        assert_int_equal(journal_size(journal),
                         size + JOURNAL_FRAME + recs.sizes[0] + T_COMMIT_SIZE);
        /* a turn without records: nothing to write (no commit either),
           nothing to sync */
        int before = s_hook->fsyncs;
        int steps = s_hook->steps;
        assert_int_equal(journal_flush(journal, s_hook->now), GORO_OK);
        assert_int_equal(journal_size(journal),
                         size + JOURNAL_FRAME + recs.sizes[0] + T_COMMIT_SIZE);
        if (mode == CONFIG_FSYNC_ALWAYS) {
            assert_int_equal(s_hook->fsyncs, before);
            assert_int_equal(s_hook->steps, steps);
        }
    }
    int count = s_hook->fsyncs;
    journal_set_io(NULL);
    journal_destroy(&journal);
    s_list_clear(&recs);
    s_list_clear(&got);
    return count;
}

static void
test_fsync_policies(void **state)
{
    fixture_t *fx = *state;
    int64_t t0;
    assert_int_equal(s_fsyncs_for(fx, CONFIG_FSYNC_ALWAYS, 25, 10, &t0), 25);
    assert_int_equal(s_fsyncs_for(fx, CONFIG_FSYNC_NEVER, 25, 10, &t0), 0);

    /* everysec over 3.5 s of NOW in 50 ms turns: at most one fsync per
       second of NOW, and the dirty data does get synced */
    int n = s_fsyncs_for(fx, CONFIG_FSYNC_EVERYSEC, 71, 50, &t0);
    assert_true(n >= 3);
    assert_true(n <= 4);
    for (int i = 1; i < n && i < 64; i++)
        if (s_hook->fsync_at[i] - s_hook->fsync_at[i - 1] < 1000)
            fail_msg("everysec: fsyncs at %lld and %lld ms",
                     (long long) (s_hook->fsync_at[i - 1] - t0),
                     (long long) (s_hook->fsync_at[i] - t0));
    /* turns within one second: none after the first second starts */
    n = s_fsyncs_for(fx, CONFIG_FSYNC_EVERYSEC, 10, 10, &t0);
    assert_true(n <= 1);
}

/* ------------------------------------------------------------------ */
/*  The tables through the journal                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    tables_t tables;         /* as gorod holds them */
    int fired;               /* parked operations that fired */
    uint64_t fired_delivery; /* the last one's delivery id */
    uint64_t held;           /* a delivery left unacknowledged */
} state_t;

/* Counts what a table call made fire, and empties FIRED. */
static void
s_took(state_t *t, chan_fired_t *fired)
{
    for (size_t i = 0; i < fired->count; i++) {
        t->fired++;
        t->fired_delivery = fired->fires[i].result.delivery;
    }
    chan_fired_free(fired);
}

/* The receiver of DELIVERY has it, as libgoro's ACK says. */
static int
s_ack(state_t *t, uint64_t delivery)
{
    chan_fired_t fired = {0};
    int rc = chan_ack(t->tables.chans, delivery, NULL, &fired);
    s_took(t, &fired);
    return rc;
}

/* The receiver of DELIVERY vanished: its values go back. */
static void
s_give_back(state_t *t, uint64_t delivery)
{
    list_t holder = {0};
    assert_int_equal(chan_delivery_hold(t->tables.chans, delivery, &holder),
                     GORO_OK);
    chan_fired_t fired = {0};
    chan_return(t->tables.chans, &holder, &fired);
    s_took(t, &fired);
    assert_int_equal(holder.count, 0);
}

static void
s_state_new(state_t *t)
{
    memset(t, 0, sizeof *t);
    tables_init(&t->tables, 42);
}

static job_t *
s_submit(state_t *t, const char *fn, const char *data, const char *key,
         const char *wg, const char *chan, int max_attempts)
{
    job_spec_t spec = {
        .fn = fn,
        .data = data,
        .size = data ? strlen(data) + 1 : 0,
        .wg = wg,
        .chan = chan,
        .key = key,
        .timeout_ms = 2500,
        .max_attempts = max_attempts,
    };
    return job_table_submit(t->tables.jobs, &spec);
}

static void
s_end(state_t *t, job_t *job, int state, int64_t status, const char *out,
      const char *err)
{
    uint8_t *o = out ? util_memdup(out, strlen(out)) : NULL;
    char *e = err ? util_strdup(err) : NULL;
    job_table_end(t->tables.jobs, job, state, status, 17, &o,
                  out ? strlen(out) : 0, &e, err ? strlen(err) : 0);
}

static void
s_send(state_t *t, const char *chan, const char *value)
{
    chan_case_t one = {GORO_CASE_SEND, chan, util_memdup(value, strlen(value)),
                       strlen(value)};
    chan_result_t result;
    chan_fired_t fired = {0};
    assert_int_equal(chan_select(t->tables.chans, &one, 1, false, NULL, NULL,
                                 &result, &fired),
                     GORO_OK);
    s_took(t, &fired);
    assert_int_equal(result.code, GORO_OK);
    assert_null(one.data);
}

/* Receives from CHAN now and acknowledges it, as libgoro does: the
   value (free()), or NULL if closed or nothing is there. */
static char *
s_recv(state_t *t, const char *chan, int *rc_out)
{
    chan_case_t one = {GORO_CASE_RECV, chan, NULL, 0};
    chan_result_t result;
    chan_fired_t fired = {0};
    *rc_out = chan_select(t->tables.chans, &one, 1, false, NULL, NULL, &result,
                          &fired);
    s_took(t, &fired);
    if (*rc_out != GORO_OK || result.closed)
        return NULL;
    assert_true(result.delivery != 0);
    assert_int_equal(s_ack(t, result.delivery), GORO_OK);
    assert_int_equal(s_ack(t, result.delivery), GORO_ENOTFOUND);
    char *text = malloc(result.size + 1);
    memcpy(text, result.data, result.size);
    text[result.size] = '\0';
    free(result.data);
    return text;
}

/* Receives from CHAN now without acknowledging: the delivery id. */
static uint64_t
s_recv_unacked(state_t *t, const char *chan, const char *expect)
{
    chan_case_t one = {GORO_CASE_RECV, chan, NULL, 0};
    chan_result_t result;
    chan_fired_t fired = {0};
    assert_int_equal(chan_select(t->tables.chans, &one, 1, false, NULL, NULL,
                                 &result, &fired),
                     GORO_OK);
    s_took(t, &fired);
    assert_false(result.closed);
    assert_int_equal(result.size, strlen(expect));
    assert_memory_equal(result.data, expect, result.size);
    free(result.data);
    assert_true(result.delivery != 0);
    return result.delivery;
}

/* Every kind of state the tables hold; returns the highest id used. */
static uint64_t
s_populate(state_t *t)
{
    int64_t now = util_now();
    /* jobs */
    s_submit(t, "exec", "true", "k-queued", NULL, NULL, 3); /* 1 */
    job_t *running = s_submit(t, "resize", "img-2", NULL, "g1", NULL, 3);
    job_table_start(t->tables.jobs, running, now); /* 2 */
    job_t *ok = s_submit(t, "exec", "echo", "k-ok", "g1", "c1", 3);
    job_table_start(t->tables.jobs, ok, now);
    s_end(t, ok, GORO_JOB_SUCCEEDED, 0, "hello\n", ""); /* 3 */
    job_table_result_sent(t->tables.jobs, ok);
    job_t *failed = s_submit(t, "exec", "false", NULL, NULL, NULL, 1);
    job_table_start(t->tables.jobs, failed, now);
    s_end(t, failed, GORO_JOB_FAILED, 3, "partial", "it broke\n"); /* 4 */
    job_t *cancelled = s_submit(t, "exec", "sleep", NULL, NULL, NULL, 3);
    s_end(t, cancelled, GORO_JOB_CANCELLED, -1, NULL, "cancelled"); /* 5 */
    job_t *retried = s_submit(t, "exec", "flaky", "k-retried", NULL, NULL, 2);
    job_table_start(t->tables.jobs, retried, now);
    job_table_requeue(t->tables.jobs, retried);
    job_table_start(t->tables.jobs, retried, now);
    s_end(t, retried, GORO_JOB_FAILED, 1, NULL, "no");
    job_table_retry(t->tables.jobs, retried);
    job_table_start(t->tables.jobs, retried, now); /* 6 */
    job_t *removed = s_submit(t, "exec", "gone", "k-removed", NULL, NULL, 3);
    job_table_start(t->tables.jobs, removed, now);
    s_end(t, removed, GORO_JOB_SUCCEEDED, 0, "x", NULL); /* 7 */
    job_table_remove(t->tables.jobs, &removed);
    job_t *requeued = s_submit(t, "exec", "slow", NULL, NULL, NULL, 3);
    job_table_start(t->tables.jobs, requeued, now);
    job_table_requeue(t->tables.jobs, requeued); /* 8 */
    job_t *timed_out = s_submit(t, "exec", "hang", NULL, NULL, NULL, 3);
    job_table_start(t->tables.jobs, timed_out, now);
    s_end(t, timed_out, GORO_JOB_TIMED_OUT, -1, NULL, "timed out"); /* 9 */
    job_t *last = s_submit(t, "exec", "last", "k-last", NULL, NULL, 3);
    job_table_start(t->tables.jobs, last, now);
    s_end(t, last, GORO_JOB_SUCCEEDED, 0, "", NULL); /* 10 */
    job_table_remove(t->tables.jobs, &last); /* the highest id, forgotten */

    /* channels */
    assert_int_equal(chan_make(t->tables.chans, "c1", 5), GORO_OK);
    s_send(t, "c1", "v1");
    s_send(t, "c1", "v2");
    s_send(t, "c1", "");
    s_send(t, "c1", "v4");
    int rc;
    char *v = s_recv(t, "c1", &rc);
    assert_string_equal(v, "v1");
    free(v); /* c1: v2 "" v4 */
    assert_int_equal(chan_make(t->tables.chans, "closed", 2), GORO_OK);
    s_send(t, "closed", "a");
    s_send(t, "closed", "b");
    chan_fired_t fired = {0};
    assert_int_equal(chan_close(t->tables.chans, "closed", &fired), GORO_OK);
    assert_int_equal(chan_make(t->tables.chans, "unbuffered", 0), GORO_OK);
    assert_int_equal(chan_make(t->tables.chans, "drained", 3), GORO_OK);
    s_send(t, "drained", "z");
    v = s_recv(t, "drained", &rc);
    free(v);
    assert_int_equal(chan_make(t->tables.chans, "closed-empty", 1), GORO_OK);
    assert_int_equal(chan_close(t->tables.chans, "closed-empty", &fired),
                     GORO_OK);
    s_took(t, &fired);
    /* a handoff to a parked receiver, acknowledged: gone for good */
    chan_case_t wait = {GORO_CASE_RECV, "unbuffered", NULL, 0};
    chan_park_t *park = NULL;
    chan_result_t result;
    assert_int_equal(chan_select(t->tables.chans, &wait, 1, true, t, &park,
                                 &result, &fired),
                     GORO_OK);
    s_took(t, &fired);
    assert_non_null(park);
    s_send(t, "unbuffered", "handed");
    assert_int_equal(t->fired, 1);
    assert_int_equal(s_ack(t, t->fired_delivery), GORO_OK);
    /* a value out for delivery, not acknowledged: after a crash it is
       back at the head of its channel, ahead of the values sent later */
    assert_int_equal(chan_make(t->tables.chans, "held", 2), GORO_OK);
    s_send(t, "held", "h1");
    s_send(t, "held", "h2");
    t->held = s_recv_unacked(t, "held", "h1");
    s_send(t, "held", "h3");
    assert_int_equal(chan_table_deliveries(t->tables.chans), 1);

    /* waitgroups */
    assert_int_equal(wg_add(t->tables.wgs, "g1", 5, NULL), GORO_OK);
    assert_int_equal(wg_job_done(t->tables.wgs, "g1", 1, NULL), GORO_OK);
    assert_int_equal(wg_job_done(t->tables.wgs, "g1", 1, NULL), GORO_OK);
    assert_int_equal(wg_job_done(t->tables.wgs, "g1", 0, NULL), GORO_OK);
    assert_int_equal(wg_add(t->tables.wgs, "g2", 2, NULL), GORO_OK);
    assert_int_equal(wg_add(t->tables.wgs, "g2", -2, NULL), GORO_OK);
    assert_int_equal(wg_add(t->tables.wgs, "g3", 1, NULL), GORO_OK);
    assert_int_equal(wg_add(t->tables.wgs, "g3", -5, NULL), GORO_ENEGATIVE);
    assert_int_equal(t->fired, 1);
    return 10;
}

static int
s_job_by_id(const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

typedef struct {
    job_t **jobs;
    size_t count;
} jobvec_t;

static void
s_job_collect(job_t *job, void *arg)
{
    jobvec_t *v = arg;
    v->jobs[v->count++] = job;
}

static jobvec_t
s_jobs_sorted(job_table_t *table)
{
    size_t total = 0;
    for (int s = 1; s < JOB_STATES; s++)
        total += job_table_count(table, s);
    jobvec_t v = {calloc(total + 1, sizeof(job_t *)), 0};
    job_table_each(table, s_job_collect, &v);
    assert_int_equal(v.count, total);
    qsort(v.jobs, v.count, sizeof(job_t *), s_job_by_id);
    return v;
}

static bool
s_str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool
s_mem_same(const void *a, size_t na, const void *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

/* The observable state of A and B agree (a snapshot keeps a running job
   running; gorod's settling after replay requeues it). */
static void
s_jobs_same(job_table_t *a, job_table_t *b, bool snapshot)
{
    jobvec_t va = s_jobs_sorted(a), vb = s_jobs_sorted(b);
    assert_int_equal(va.count, vb.count);
    for (size_t i = 0; i < va.count; i++) {
        job_t *x = va.jobs[i], *y = vb.jobs[i];
        assert_int_equal(x->id, y->id);
        (void) snapshot;
        int state = x->state;
        if (y->state != state)
            fail_msg("job %" PRIu64 ": %s, expected %s", x->id,
                     goro_job_state_name(y->state),
                     goro_job_state_name(state));
        assert_string_equal(x->fn, y->fn);
        assert_true(s_mem_same(x->data, x->size, y->data, y->size));
        const job_extra_t *xe = job_extra(x), *ye = job_extra(y);
        assert_true(s_str_same(xe->wg, ye->wg));
        assert_true(s_str_same(xe->chan, ye->chan));
        assert_true(s_str_same(xe->key, ye->key));
        assert_int_equal(x->timeout_ms, y->timeout_ms);
        assert_int_equal(x->max_attempts, y->max_attempts);
        if (xe->attempt != ye->attempt || xe->attempt_base != ye->attempt_base)
            fail_msg("job %" PRIu64 ": attempt %d base %d, expected %d "
                     "base %d",
                     x->id, ye->attempt, ye->attempt_base, xe->attempt,
                     xe->attempt_base);
        assert_int_equal(xe->status, ye->status);
        assert_int_equal(xe->runtime_ms, ye->runtime_ms);
        assert_true(s_mem_same(xe->out, xe->out_size, ye->out, ye->out_size));
        assert_true(s_mem_same(xe->err, xe->err_size, ye->err, ye->err_size));
        assert_int_equal(xe->ended_at, ye->ended_at);
        assert_int_equal(xe->result_sent, ye->result_sent);
        if (xe->key)
            assert_ptr_equal(job_table_by_key(b, xe->key), y);
    }
    for (int s = 1; s < JOB_STATES; s++)
        assert_int_equal(job_table_count(b, s), job_table_count(a, s));
    free(va.jobs);
    free(vb.jobs);
}

typedef struct {
    chan_info_t infos[16];
    char *names[16];
    size_t count;
} chanvec_t;

static void
s_chan_collect(const chan_info_t *info, void *arg)
{
    chanvec_t *v = arg;
    assert_true(v->count < 16);
    v->infos[v->count] = *info;
    v->names[v->count] = strdup(info->name);
    v->count++;
}

static void
s_chans_same(state_t *a, state_t *b)
{
    chanvec_t va = {0}, vb = {0};
    chan_table_each(a->tables.chans, s_chan_collect, &va);
    chan_table_each(b->tables.chans, s_chan_collect, &vb);
    assert_int_equal(va.count, vb.count);
    assert_int_equal(chan_table_bytes(a->tables.chans),
                     chan_table_bytes(b->tables.chans));
    for (size_t i = 0; i < va.count; i++) {
        size_t j = 0;
        while (j < vb.count && strcmp(va.names[i], vb.names[j]) != 0)
            j++;
        if (j == vb.count)
            fail_msg("channel %s is missing after replay", va.names[i]);
        assert_int_equal(va.infos[i].capacity, vb.infos[j].capacity);
        if (va.infos[i].buffered != vb.infos[j].buffered)
            fail_msg("channel %s: %zu value(s) buffered after replay, "
                     "expected %zu",
                     va.names[i], vb.infos[j].buffered, va.infos[i].buffered);
        if (va.infos[i].closed != vb.infos[j].closed)
            fail_msg("channel %s: closed %d after replay, expected %d",
                     va.names[i], vb.infos[j].closed, va.infos[i].closed);
    }
    for (size_t i = 0; i < va.count; i++)
        free(va.names[i]);
    for (size_t i = 0; i < vb.count; i++)
        free(vb.names[i]);
}

/* Drains every buffered channel of both and compares the values in
   order, then the closed flag as a receive sees it. */
static void
s_drain_same(state_t *a, state_t *b)
{
    const char *names[] = {"c1",      "closed",       "unbuffered",
                           "drained", "closed-empty", "held"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (int n = 0;; n++) {
            int rca, rcb;
            char *x = s_recv(a, names[i], &rca);
            char *y = s_recv(b, names[i], &rcb);
            assert_int_equal(rca, rcb);
            if (!x || !y) {
                assert_true(!x && !y);
                break;
            }
            if (strcmp(x, y) != 0)
                fail_msg("channel %s value %d: \"%s\", expected \"%s\"",
                         names[i], n, y, x);
            free(x);
            free(y);
        }
    }
}

typedef struct {
    wg_table_t *other;
    size_t count;
} wgcmp_t;

static void
s_wg_compare(wg_t *wg, void *arg)
{
    wgcmp_t *c = arg;
    wg_t *twin = wg_table_lookup(c->other, wg->name);
    if (!twin)
        fail_msg("waitgroup %s is missing after replay", wg->name);
    assert_int_equal(wg->info.counter, twin->info.counter);
    assert_int_equal(wg->info.added, twin->info.added);
    assert_int_equal(wg->info.done, twin->info.done);
    assert_int_equal(wg->info.succeeded, twin->info.succeeded);
    assert_int_equal(wg->info.failed, twin->info.failed);
    c->count++;
}

static void
s_wgs_same(state_t *a, state_t *b)
{
    wgcmp_t c = {b->tables.wgs, 0};
    wg_table_each(a->tables.wgs, s_wg_compare, &c);
    assert_int_equal(c.count, wg_table_size(b->tables.wgs));
}

/* Opens PATH and replays it into fresh tables T. */
static int
s_replay_tables(const char *path, state_t *t, char *err, size_t err_size)
{
    s_state_new(t);
    journal_t *journal = s_open(path, CONFIG_FSYNC_NEVER);
    journal_replay_t info;
    int rc = journal_replay(journal, false, tables_replay, &t->tables, &info,
                            err, err_size);
    journal_destroy(&journal);
    return rc;
}

/* gorod's start on the journal at PATH: new tables in *LIVE, the journal
   replayed into them, then journaling on. Caller owns the journal. */
static journal_t *
s_start_live(const char *path, state_t *live)
{
    s_state_new(live);
    journal_t *journal = s_open(path, CONFIG_FSYNC_ALWAYS);
    journal_replay_t info;
    char err[512];
    if (journal_replay(journal, false, tables_replay, &live->tables, &info,
                       err, sizeof err)
        != GORO_OK)
        fail_msg("replay of %s: %s", path, err);
    tables_set_journal(&live->tables, journal);
    return journal;
}

static void
s_next_id_above(state_t *t, uint64_t highest)
{
    job_t *job = s_submit(t, "exec", "new", NULL, NULL, NULL, 1);
    if (job->id <= highest)
        fail_msg("a new job got id %" PRIu64 ", not above %" PRIu64, job->id,
                 highest);
}

static void
test_tables_round_trip(void **state)
{
    fixture_t *fx = *state;
    state_t live;
    journal_t *journal = s_start_live(fx->path, &live);
    uint64_t highest = s_populate(&live);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    tables_set_journal(&live.tables, NULL);
    journal_destroy(&journal);
    /* what a crash means for the unacknowledged value: back in its
       channel, at the head */
    s_give_back(&live, live.held);
    assert_int_equal(chan_table_deliveries(live.tables.chans), 0);

    /* the log, replayed */
    char err[512];
    state_t back;
    if (s_replay_tables(fx->path, &back, err, sizeof err) != GORO_OK)
        fail_msg("replay of the log: %s", err);
    s_jobs_same(live.tables.jobs, back.tables.jobs, false);
    s_chans_same(&live, &back);
    s_wgs_same(&live, &back);
    assert_int_equal(back.fired, 0);
    assert_int_equal(chan_table_deliveries(back.tables.chans), 0);

    /* a snapshot of what was replayed, replayed; the log is kept to
       give a second replica to drain against the snapshot's (draining
       takes the values out) */
    char *log_copy = s_join(fx->dir, "log-copy");
    size_t log_size;
    uint8_t *log_bytes = s_read(fx->path, &log_size);
    s_write(log_copy, log_bytes, log_size);
    free(log_bytes);
    journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    journal_replay_t info;
    reclist_t ignored = {0};
    assert_int_equal(journal_replay(journal, false, s_collect, &ignored, &info,
                                    err, sizeof err),
                     GORO_OK);
    s_list_clear(&ignored);
    assert_int_equal(s_compact(journal, tables_snapshot, &back.tables),
                     GORO_OK);
    journal_destroy(&journal);
    state_t snap;
    /* ended jobs included: J_SUBMIT, J_START (attempt 1), J_END, then
       J_JOB_FLAGS with the attempt count */
    if (s_replay_tables(fx->path, &snap, err, sizeof err) != GORO_OK)
        fail_msg("replay of the snapshot: %s", err);
    s_jobs_same(live.tables.jobs, snap.tables.jobs, true);
    s_chans_same(&live, &snap);
    s_wgs_same(&live, &snap);
    s_next_id_above(&snap, highest);
    state_t replica;
    if (s_replay_tables(log_copy, &replica, err, sizeof err) != GORO_OK)
        fail_msg("replay of the log's copy: %s", err);
    s_drain_same(&replica, &snap);
    tables_fini(&replica.tables);
    tables_fini(&snap.tables);
    free(log_copy);

    /* ids go on above every id ever used, the removed ones included */
    s_next_id_above(&back, highest);
    s_drain_same(&live, &back);
    tables_fini(&back.tables);
    tables_fini(&live.tables);
}

/* A snapshot of channels and waitgroups, of jobs not ended and of a job
   cancelled in the queue (no J_START in its snapshot), replays to the
   same state. */
static void
test_snapshot_round_trip_unended(void **state)
{
    fixture_t *fx = *state;
    state_t live;
    s_state_new(&live);
    int64_t now = util_now();
    s_submit(&live, "exec", "a", "ka", "g", NULL, 3);
    job_t *run = s_submit(&live, "exec", "b", NULL, NULL, "c", 3);
    job_table_start(live.tables.jobs, run, now);
    job_table_requeue(live.tables.jobs, run);
    job_table_start(live.tables.jobs, run, now);
    job_t *gone = s_submit(&live, "exec", "c", NULL, NULL, NULL, 3);
    job_table_end(live.tables.jobs, gone, GORO_JOB_CANCELLED, -1, 0, NULL, 0,
                  NULL, 0);
    job_table_remove(live.tables.jobs, &gone);
    /* cancelled in the queue: never ran (4), and ran once before (5) */
    job_t *never = s_submit(&live, "exec", "d", "kd", NULL, NULL, 3);
    job_table_end(live.tables.jobs, never, GORO_JOB_CANCELLED, -1, 0, NULL, 0,
                  NULL, 0);
    job_t *again = s_submit(&live, "exec", "e", NULL, NULL, NULL, 3);
    job_table_start(live.tables.jobs, again, now);
    job_table_requeue(live.tables.jobs, again);
    job_table_end(live.tables.jobs, again, GORO_JOB_CANCELLED, -1, 0, NULL, 0,
                  NULL, 0);
    assert_int_equal(job_extra(again)->attempt, 1);
    assert_int_equal(chan_make(live.tables.chans, "c", 4), GORO_OK);
    s_send(&live, "c", "1");
    s_send(&live, "c", "2");
    assert_int_equal(chan_make(live.tables.chans, "d", 1), GORO_OK);
    s_send(&live, "d", "x");
    chan_fired_t fired = {0};
    assert_int_equal(chan_close(live.tables.chans, "d", &fired), GORO_OK);
    s_took(&live, &fired);
    assert_int_equal(wg_add(live.tables.wgs, "g", 3, NULL), GORO_OK);
    assert_int_equal(wg_job_done(live.tables.wgs, "g", 0, NULL), GORO_OK);
    /* "0" is out for delivery: the snapshot has it back at the head */
    assert_int_equal(chan_make(live.tables.chans, "e", 2), GORO_OK);
    s_send(&live, "e", "0");
    s_send(&live, "e", "1");
    uint64_t held = s_recv_unacked(&live, "e", "0");
    s_send(&live, "e", "2");

    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_ALWAYS);
    journal_replay_t info;
    char err[512];
    reclist_t ignored = {0};
    assert_int_equal(journal_replay(journal, false, s_collect, &ignored, &info,
                                    err, sizeof err),
                     GORO_OK);
    assert_int_equal(s_compact(journal, tables_snapshot, &live.tables),
                     GORO_OK);
    journal_destroy(&journal);
    s_give_back(&live, held);
    state_t snap;
    if (s_replay_tables(fx->path, &snap, err, sizeof err) != GORO_OK)
        fail_msg("replay of the snapshot: %s", err);
    s_jobs_same(live.tables.jobs, snap.tables.jobs, true);
    s_chans_same(&live, &snap);
    s_wgs_same(&live, &snap);
    s_next_id_above(&snap, 5);
    int rc;
    char *v = s_recv(&snap, "c", &rc);
    assert_string_equal(v, "1");
    free(v);
    v = s_recv(&snap, "c", &rc);
    assert_string_equal(v, "2");
    free(v);
    v = s_recv(&snap, "d", &rc);
    assert_string_equal(v, "x");
    free(v);
    v = s_recv(&snap, "d", &rc);
    assert_null(v); /* closed and drained */
    assert_int_equal(rc, GORO_OK);
    for (int i = 0; i < 3; i++) {
        char expect[2] = {(char) ('0' + i), '\0'};
        v = s_recv(&snap, "e", &rc);
        assert_non_null(v);
        assert_string_equal(v, expect);
        free(v);
    }
    s_list_clear(&ignored);
    tables_fini(&snap.tables);
    tables_fini(&live.tables);
}

/* A compaction while a job runs, and the job ends while the child
   writes: the J_END carried after the snapshot must fit the state the
   snapshot replays to. */
static void
test_snapshot_then_running_job_ends(void **state)
{
    fixture_t *fx = *state;
    state_t live;
    journal_t *journal = s_start_live(fx->path, &live);
    job_t *job = s_submit(&live, "exec", "long", NULL, NULL, NULL, 3);
    job_table_start(live.tables.jobs, job, util_now());
    assert_int_equal(journal_compact_start(journal, tables_snapshot,
                                           &live.tables),
                     GORO_OK);
    /* the next loop turn, while the child writes: the job ends */
    s_end(&live, job, GORO_JOB_SUCCEEDED, 0, "out", NULL);
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    assert_int_equal(s_compact_finish(journal), 1);
    tables_set_journal(&live.tables, NULL);
    journal_destroy(&journal);

    char err[512];
    state_t back;
    int rc = s_replay_tables(fx->path, &back, err, sizeof err);
    if (rc == GORO_EPROTO && strstr(err, "does not fit"))
        s_known_bug("job.c job_table_snapshot: a running job is written as "
                    "queued (J_SUBMIT + J_JOB_FLAGS, no J_START), so its "
                    "J_END appended after the compaction does not fit at "
                    "replay (queued -> succeeded): \"%s\"",
                    err);
    else {
        if (rc != GORO_OK)
            fail_msg("replay of snapshot + J_END: %s", err);
        s_jobs_same(live.tables.jobs, back.tables.jobs, false);
    }
    tables_fini(&back.tables);
    tables_fini(&live.tables);
}

/* Records that don't fit the state machine: GORO_EPROTO, never an abort,
   and the tables unchanged. */
static void
test_replay_refuses_what_does_not_fit(void **state)
{
    (void) state;
    state_t t;
    s_state_new(&t);
    uint8_t value[] = "v";
    goro_msg_t submit = {.cmd = GORO_MSG_J_SUBMIT,
                         .job_id = 5,
                         .name = "exec",
                         .data = value,
                         .size = 2,
                         .max_attempts = 2};
    goro_msg_t ended = {.cmd = GORO_MSG_J_SUBMIT,
                        .job_id = 6,
                        .name = "exec",
                        .max_attempts = 2};
    assert_int_equal(tables_replay(&t.tables, &submit), GORO_OK);
    assert_int_equal(tables_replay(&t.tables, &ended), GORO_OK);
    goro_msg_t start6 = {.cmd = GORO_MSG_J_START, .job_id = 6, .attempt = 1};
    goro_msg_t end6 = {.cmd = GORO_MSG_J_END,
                       .job_id = 6,
                       .state = GORO_JOB_SUCCEEDED};
    assert_int_equal(tables_replay(&t.tables, &start6), GORO_OK);
    assert_int_equal(tables_replay(&t.tables, &end6), GORO_OK);
    goro_msg_t make = {.cmd = GORO_MSG_J_CHAN_MAKE,
                       .name = "c",
                       .capacity = 1};
    assert_int_equal(tables_replay(&t.tables, &make), GORO_OK);

    const goro_msg_t bad[] = {
        /* jobs */
        {.cmd = GORO_MSG_J_START, .job_id = 99, .attempt = 1}, /* unknown */
        {.cmd = GORO_MSG_J_END, .job_id = 99, .state = GORO_JOB_FAILED},
        {.cmd = GORO_MSG_J_END,
         .job_id = 6,
         .state = GORO_JOB_FAILED}, /* ended */
        {.cmd = GORO_MSG_J_END, .job_id = 5, .state = GORO_JOB_QUEUED},
        {.cmd = GORO_MSG_J_END, .job_id = 5, .state = 200},
        {.cmd = GORO_MSG_J_START, .job_id = 6, .attempt = 2}, /* ended */
        {.cmd = GORO_MSG_J_REQUEUE, .job_id = 5},             /* queued */
        {.cmd = GORO_MSG_J_RETRY, .job_id = 6},               /* succeeded */
        {.cmd = GORO_MSG_J_RETRY, .job_id = 5},               /* queued */
        {.cmd = GORO_MSG_J_REMOVE, .job_id = 5},              /* not ended */
        {.cmd = GORO_MSG_J_REMOVE, .job_id = 99},
        {.cmd = GORO_MSG_J_JOB_FLAGS,
         .job_id = 5,
         .attempt = 1,
         .attempt_base = 2},
        {.cmd = GORO_MSG_J_JOB_FLAGS,
         .job_id = 5,
         .attempt = 1,
         .attempt_base = -1},
        {.cmd = GORO_MSG_J_JOB_FLAGS, .job_id = 99},
        /* attempts: J_START is the job's attempt + 1, J_JOB_FLAGS below
           INT_MAX with its base at most the attempt */
        {.cmd = GORO_MSG_J_START, .job_id = 5, .attempt = 0},
        {.cmd = GORO_MSG_J_START, .job_id = 5, .attempt = 2},
        {.cmd = GORO_MSG_J_START, .job_id = 5, .attempt = UINT32_MAX},
        {.cmd = GORO_MSG_J_JOB_FLAGS, .job_id = 5, .attempt = INT_MAX},
        {.cmd = GORO_MSG_J_JOB_FLAGS, .job_id = 5, .attempt = UINT32_MAX},
        {.cmd = GORO_MSG_J_JOB_FLAGS,
         .job_id = 5,
         .attempt = 3,
         .attempt_base = 4},
        {.cmd = GORO_MSG_J_SUBMIT, .job_id = 5, .name = "exec"}, /* twice */
        {.cmd = GORO_MSG_J_SUBMIT, .job_id = 0, .name = "exec"},
        {.cmd = GORO_MSG_J_SUBMIT, .job_id = 7}, /* no function */
        {.cmd = GORO_MSG_J_SUBMIT, .job_id = 7, .name = ""},
        /* channels */
        {.cmd = GORO_MSG_J_CHAN_POP, .name = "c"}, /* empty */
        {.cmd = GORO_MSG_J_CHAN_POP, .name = "nope"},
        {.cmd = GORO_MSG_J_CHAN_PUSH, .name = "nope"},
        {.cmd = GORO_MSG_J_CHAN_MAKE, .name = "c", .capacity = 1}, /* twice */
        {.cmd = GORO_MSG_J_CHAN_MAKE, .name = "neg", .capacity = -1},
        {.cmd = GORO_MSG_J_CHAN_MAKE}, /* no name */
        {.cmd = GORO_MSG_J_CHAN_CLOSE, .name = "nope"},
        /* waitgroups */
        {.cmd = GORO_MSG_J_WG_SET, .name = "g", .counter = -1},
        {.cmd = GORO_MSG_J_WG_SET, .counter = 1}, /* no name */
        /* not a journal record at all */
        {.cmd = GORO_MSG_SUBMIT, .job_id = 8, .name = "exec"},
        {.cmd = GORO_MSG_PING},
        {.cmd = GORO_MSG_J_COMMIT}, /* journal_replay keeps it */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tables_replay(&t.tables, &bad[i]);
        if (rc != GORO_EPROTO)
            fail_msg("bad record %zu (%s) gave %s, not GORO_EPROTO", i,
                     goro_msg_cmd_name(bad[i].cmd), goro_strerror(rc));
    }
    /* values carry increasing sequence numbers within their channel: a
       push that goes back, or a pop of a value that is not there, does
       not fit. (A push beyond the capacity does fit since values out for
       delivery came back: capacity + unacknowledged values may be held.) */
    goro_msg_t push = {.cmd = GORO_MSG_J_CHAN_PUSH,
                       .name = "c",
                       .value_seq = 3,
                       .data = value,
                       .size = 1};
    assert_int_equal(tables_replay(&t.tables, &push), GORO_OK);
    assert_int_equal(tables_replay(&t.tables, &push), GORO_EPROTO); /* again */
    push.value_seq = 2;
    assert_int_equal(tables_replay(&t.tables, &push), GORO_EPROTO); /* back */
    goro_msg_t pop = {.cmd = GORO_MSG_J_CHAN_POP, .name = "c", .value_seq = 2};
    assert_int_equal(tables_replay(&t.tables, &pop), GORO_EPROTO);
    pop.value_seq = 3;
    assert_int_equal(tables_replay(&t.tables, &pop), GORO_OK);
    assert_int_equal(tables_replay(&t.tables, &pop), GORO_EPROTO); /* twice */
    goro_msg_t close = {.cmd = GORO_MSG_J_CHAN_CLOSE, .name = "c"};
    assert_int_equal(tables_replay(&t.tables, &close), GORO_OK);
    assert_int_equal(tables_replay(&t.tables, &close), GORO_EPROTO);
    make.name = "d";
    assert_int_equal(tables_replay(&t.tables, &make), GORO_OK);
    /* no send succeeds on a closed channel, so no push follows a close */
    goro_msg_t closed_push = {.cmd = GORO_MSG_J_CHAN_PUSH,
                              .name = "c",
                              .value_seq = 4,
                              .data = value,
                              .size = 1};
    assert_int_equal(tables_replay(&t.tables, &closed_push), GORO_EPROTO);

    /* the highest attempt J_JOB_FLAGS takes is INT_MAX - 1: a J_START
       one above it would give INT_MAX, which a snapshot cannot write
       back (J_JOB_FLAGS refuses it), and the next start overflows */
    state_t u;
    s_state_new(&u);
    goro_msg_t submit9 = {.cmd = GORO_MSG_J_SUBMIT,
                          .job_id = 9,
                          .name = "exec",
                          .max_attempts = 2};
    goro_msg_t flags9 = {.cmd = GORO_MSG_J_JOB_FLAGS,
                         .job_id = 9,
                         .attempt = INT_MAX - 1};
    goro_msg_t start9 = {.cmd = GORO_MSG_J_START,
                         .job_id = 9,
                         .attempt = INT_MAX};
    assert_int_equal(tables_replay(&u.tables, &submit9), GORO_OK);
    assert_int_equal(tables_replay(&u.tables, &flags9), GORO_OK);
    if (tables_replay(&u.tables, &start9) == GORO_OK)
        s_known_bug("job.c job_table_replay: J_START with attempt INT_MAX "
                    "is accepted (after J_JOB_FLAGS attempt INT_MAX - 1); "
                    "the snapshot then writes J_JOB_FLAGS attempt INT_MAX, "
                    "which replay refuses, and after a J_REQUEUE a J_START "
                    "of attempt 2^31 makes job_table_start's attempt++ "
                    "overflow. Fix: refuse J_START with attempt >= INT_MAX");
    tables_fini(&u.tables);

    /* nothing of that changed the tables */
    job_t *five = job_table_lookup(t.tables.jobs, 5);
    assert_non_null(five);
    assert_int_equal(five->state, GORO_JOB_QUEUED);
    assert_int_equal(job_extra(five)->attempt, 0);
    job_t *six = job_table_lookup(t.tables.jobs, 6);
    assert_int_equal(six->state, GORO_JOB_SUCCEEDED);
    assert_null(job_table_lookup(t.tables.jobs, 99));
    assert_null(job_table_lookup(t.tables.jobs, 7));
    assert_int_equal(job_table_count(t.tables.jobs, GORO_JOB_QUEUED), 1);
    assert_int_equal(chan_table_size(t.tables.chans), 2);
    assert_int_equal(chan_table_deliveries(t.tables.chans), 0);
    assert_false(chan_exists(t.tables.chans, "neg"));
    assert_null(wg_table_lookup(t.tables.wgs, "g"));
    assert_int_equal(t.fired, 0);
    tables_fini(&t.tables);
}

/* The same, through journal_replay: a middle record that does not fit
   stops the replay with its offset; --repair keeps what came before. */
static void
test_journal_with_impossible_record(void **state)
{
    fixture_t *fx = *state;
    journal_t *journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
    state_t t;
    s_state_new(&t);
    journal_replay_t info;
    char err[512];
    assert_int_equal(journal_replay(journal, false, tables_replay, &t.tables,
                                    &info, err, sizeof err),
                     GORO_OK);
    tables_fini(&t.tables);
    goro_msg_t make = {.cmd = GORO_MSG_J_CHAN_MAKE,
                       .name = "c",
                       .capacity = 2};
    goro_msg_t pop = {.cmd = GORO_MSG_J_CHAN_POP, .name = "c"};
    goro_msg_t wg = {
        .cmd = GORO_MSG_J_WG_SET, .name = "g", .counter = 1, .added = 1};
    journal_append(journal, &make); /* turn 1 */
    assert_int_equal(journal_flush(journal, util_now()), GORO_OK);
    uint64_t turn_at = journal_size(journal);
    journal_append(journal, &wg); /* turn 2: fits, */
    uint64_t bad_at = journal_size(journal);
    journal_append(journal, &pop); /* pop of an empty channel */
    journal_destroy(&journal);     /* flushes turn 2 */

    if (s_replay_tables(fx->path, &t, err, sizeof err) != GORO_EPROTO)
        fail_msg("an impossible record was replayed");
    s_assert_offset_named(err, (size_t) bad_at);
    assert_non_null(strstr(err, "does not fit"));
    tables_fini(&t.tables);

    /* --repair: turn 1 only, cut at the start of turn 2 */
    s_state_new(&t);
    journal = s_open(fx->path, CONFIG_FSYNC_NEVER);
    assert_int_equal(journal_replay(journal, true, tables_replay, &t.tables,
                                    &info, err, sizeof err),
                     GORO_OK);
    journal_destroy(&journal);
    assert_int_equal(info.skipped, 1);
    assert_true(chan_exists(t.tables.chans, "c"));
    assert_int_equal(info.bytes, turn_at);
    assert_int_equal(s_file_size(fx->path), turn_at);
    assert_true(info.reapply); /* the J_WG_SET of the cut turn */
    tables_fini(&t.tables);
    /* what --repair kept replays to the same */
    assert_int_equal(s_replay_tables(fx->path, &t, err, sizeof err), GORO_OK);
    assert_true(chan_exists(t.tables.chans, "c"));
    assert_null(wg_table_lookup(t.tables.wgs, "g"));
    tables_fini(&t.tables);
}

int
main(void)
{
    log_set_level(CONFIG_LOG_ERROR); /* torn-tail warnings by the 100 */
    s_hook = mmap(NULL, sizeof *s_hook, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s_hook == MAP_FAILED)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_record_format, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_gets_header, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_append_flush_reopen_replay,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_journal_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_short_header_starts_empty,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_torn_at_every_offset, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bit_flips_in_middle_turn, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_last_record, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_zero_tail_is_torn, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_record_that_does_not_fit, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_crash_at_each_step,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_then_next_turn,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_stale_compact_file_removed_on_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_second_open_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fsync_policies, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_tables_round_trip, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_round_trip_unended,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_then_running_job_ends,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_replay_refuses_what_does_not_fit),
        cmocka_unit_test_setup_teardown(test_journal_with_impossible_record,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
