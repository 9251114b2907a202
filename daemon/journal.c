/*  journal - the file format, group commit, replay and compaction.

    File: "GOROJNL" + version byte, then records of
        length (4, big-endian) | CRC32C of those 4 bytes | CRC32C of the
        frame (4) | frame
    where the frame is a goro_msg encoding, so replay decodes with the
    same bounds-checked codec as the network does. The length has its own
    checksum so that a flipped bit in it reads as corruption, not as a
    record running past the end (which is what a torn write looks like).
    Every flush ends with a J_COMMIT record; replay applies a turn's
    records only once it has seen the turn's J_COMMIT.

    Writes are buffered for the loop turn and written with one write();
    fsync follows journal.fsync. A record is durable once the flush of its
    turn returned (with fsync: always), and the server sends the turn's
    replies only after that.
*/
#include "journal.h"
#include "log.h"
#include "util.h"
#include "goro_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOURNAL_FSYNC_EVERY_MS 1000 /* journal.fsync: everysec */

struct journal {
    char *path;
    int fd;
    int lock_fd; /* PATH.lock, flocked while open */
    config_fsync_t fsync;
    uint8_t *buf; /* records of this turn */
    size_t used, alloc;
    uint64_t size;     /* bytes in the file */
    int64_t synced_at; /* monotonic ms of the last fsync */
    bool dirty;        /* written since the last fsync */
    bool committed;    /* the buffer ends with its J_COMMIT */
    bool failed;       /* the last write failed */
    pid_t child;       /* compaction in progress, or 0 */
    int compact_fd;    /* its PATH.compact */
    uint8_t *later;    /* turns flushed while it runs */
    size_t later_used, later_alloc;
};

static journal_io_t s_io = {write, fsync, rename};

void
journal_set_io(const journal_io_t *io)
{
    journal_io_t real = {write, fsync, rename};
    s_io = io ? *io : real;
}

/* ---- CRC32C -------------------------------------------------------- */

static uint32_t
s_crc32c_table(uint32_t crc, const uint8_t *p, size_t size)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    while (size--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* SSE 4.2 has CRC32C in hardware, 8 bytes an instruction: the journal
   checksums every record, and the table costs a tenth of gorod's time
   under load (bench/). */
__attribute__((target("sse4.2"))) static uint32_t
s_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t size)
{
    uint64_t c = crc;
    for (; size >= 8; size -= 8, p += 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
    }
    crc = (uint32_t) c;
    for (; size; size--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}
#endif

uint32_t
journal_crc32c(uint32_t crc, const void *data, size_t size)
{
    crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~s_crc32c_sse42(crc, data, size);
#endif
    return ~s_crc32c_table(crc, data, size);
}

/* ---- small I/O helpers --------------------------------------------- */

static int
s_write_all(int fd, const uint8_t *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = s_io.write(fd, buf, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        size -= (size_t) n;
    }
    return 0;
}

/* fsync of the directory holding PATH, so a rename in it is durable. */
static int
s_fsync_dir(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = s_io.fsync(fd);
    close(fd);
    return rc;
}

static void
s_mkdir_parent(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    char *dir = dirname(copy);
    if (strcmp(dir, ".") != 0)
        mkdir(dir, 0755); /* one level: var/ of var/goro.journal */
}

static void
s_put32(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t) (value >> 24);
    out[1] = (uint8_t) (value >> 16);
    out[2] = (uint8_t) (value >> 8);
    out[3] = (uint8_t) value;
}

static uint32_t
s_get32(const uint8_t *in)
{
    return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16
           | (uint32_t) in[2] << 8 | in[3];
}

static bool
s_all_zero(const uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (buf[i])
            return false;
    return true;
}

static void
s_header(uint8_t out[JOURNAL_HEADER])
{
    memcpy(out, JOURNAL_MAGIC, 7);
    out[7] = JOURNAL_VERSION;
}

/* ---- open ---------------------------------------------------------- */

/* Takes PATH.lock (flock, held while the journal is open) and writes our
   pid in it: a lock file rather than the journal itself, because
   compaction renames a new file over the journal and a lock on the old
   one would go with it. The fd, or -1 with a message in ERR that names
   the gorod holding it. */
static int
s_lock(const char *path, char *err, size_t err_size)
{
    char lock[PATH_MAX];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            char text[24] = "";
            ssize_t n = pread(fd, text, sizeof text - 1, 0);
            long pid = n > 0 ? strtol(text, NULL, 10) : 0;
            /* no pid if we read between its truncate and its write */
            if (pid > 0)
                snprintf(err, err_size,
                         "journal %s is in use by another "
                         "gorod (pid %ld holds %s)",
                         path, pid, lock);
            else
                snprintf(err, err_size,
                         "journal %s is in use by another "
                         "gorod (it holds %s)",
                         path, lock);
        }
        else
            snprintf(err, err_size, "cannot lock %s: %s", lock,
                     strerror(errno));
        close(fd);
        return -1;
    }
    char text[24];
    int len = snprintf(text, sizeof text, "%ld\n", (long) getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t) len, 0) != len) {
        snprintf(err, err_size, "cannot write %s: %s", lock, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* True if the SIZE bytes of a file shorter than the header are what a
   crash while it was being created leaves: part of the header, or
   space allocated and never written. */
static bool
s_header_torn(const uint8_t *buf, size_t size)
{
    uint8_t header[JOURNAL_HEADER];
    s_header(header);
    return memcmp(buf, header, size) == 0 || s_all_zero(buf, size);
}

/* Gives a file that holds no record yet (empty, or its header cut
   short) the header of an empty journal. A short file that is something
   else is left for journal_replay to refuse. */
static int
s_start_empty(int fd, const char *path, struct stat *st)
{
    uint8_t buf[JOURNAL_HEADER];
    size_t size = (size_t) st->st_size;
    if (size >= JOURNAL_HEADER)
        return 0;
    if (size > 0) {
        if (pread(fd, buf, size, 0) != (ssize_t) size
            || !s_header_torn(buf, size))
            return 0;
        log_warn("journal %s: %zu bytes, shorter than its header (a crash "
                 "while it was created); starting with an empty journal",
                 path, size);
    }
    s_header(buf);
    /* the file offset is still 0: nothing has written through FD */
    if (ftruncate(fd, 0) != 0 || s_write_all(fd, buf, sizeof buf) != 0
        || s_io.fsync(fd) != 0)
        return -1;
    st->st_size = JOURNAL_HEADER;
    return 0;
}

journal_t *
journal_open(const char *path, config_fsync_t fsync_mode, char *err,
             size_t err_size)
{
    s_mkdir_parent(path);
    int lock_fd = s_lock(path, err, err_size);
    if (lock_fd < 0)
        return NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open journal %s: %s", path,
                 strerror(errno));
        goto error_lock;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot stat journal %s: %s", path,
                 strerror(errno));
        goto error_fd;
    }
    if (s_start_empty(fd, path, &st) != 0) {
        snprintf(err, err_size, "cannot write journal %s: %s", path,
                 strerror(errno));
        goto error_fd;
    }
    /* A compaction that never finished; only now, under the lock, is it
       surely not another gorod's in progress. */
    char stale[PATH_MAX];
    snprintf(stale, sizeof stale, "%s.compact", path);
    unlink(stale);
    journal_t *self = util_zalloc(sizeof *self);
    self->path = util_strdup(path);
    self->fd = fd;
    self->lock_fd = lock_fd;
    self->fsync = fsync_mode;
    self->size = (uint64_t) st.st_size;
    self->synced_at = util_now();
    return self;
error_fd:
    close(fd);
error_lock:
    close(lock_fd);
    return NULL;
}

void
journal_destroy(journal_t **self_p)
{
    if (self_p && *self_p) {
        journal_t *self = *self_p;
        if (self->child > 0) { /* a compaction cannot finish now */
            kill(self->child, SIGKILL);
            waitpid(self->child, NULL, 0);
            close(self->compact_fd);
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof tmp, "%s.compact", self->path);
            unlink(tmp);
            free(self->later);
        }
        if (self->used)
            journal_flush(self, util_now());
        if (self->dirty && self->fsync != CONFIG_FSYNC_NEVER)
            s_io.fsync(self->fd);
        close(self->fd);
        close(self->lock_fd); /* after the last write */
        free(self->buf);
        free(self->path);
        free(self);
        *self_p = NULL;
    }
}

const char *
journal_path(journal_t *self)
{
    return self->path;
}

/* ---- replay -------------------------------------------------------- */

static int
s_read_file(int fd, uint8_t **buf_out, size_t *size_out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    size_t size = (size_t) st.st_size;
    uint8_t *buf = util_zalloc(size + 1);
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t) got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t) n;
    }
    *buf_out = buf;
    *size_out = size;
    return 0;
}

typedef enum {
    REC_OK,
    REC_SHORT, /* runs past the end of the file */
    REC_BAD    /* whole, but a checksum is wrong */
} rec_t;

/* Checks the record at OFFSET: its frame, or why not. A tail of zeros
   (space a crash left allocated but unwritten) counts as short. */
static rec_t
s_record_at(const uint8_t *buf, size_t size, size_t offset,
            const uint8_t **frame, size_t *frame_size)
{
    size_t left = size - offset;
    if (left < JOURNAL_FRAME || s_all_zero(buf + offset, left))
        return REC_SHORT;
    if (journal_crc32c(0, buf + offset, 4) != s_get32(buf + offset + 4))
        return REC_BAD;
    size_t length = s_get32(buf + offset);
    if (length > left - JOURNAL_FRAME)
        return REC_SHORT;
    *frame = buf + offset + JOURNAL_FRAME;
    *frame_size = length;
    return journal_crc32c(0, *frame, length) == s_get32(buf + offset + 8)
               ? REC_OK
               : REC_BAD;
}

static bool
s_is_commit(const uint8_t *frame, size_t size)
{
    return size >= GORO_MSG_HEADER && frame[3] == GORO_MSG_J_COMMIT;
}

/* Applies the records in [FROM, TO), a whole turn; GORO_EPROTO at the
   first that does not decode or fit, with its offset in *BAD_AT. */
static int
s_apply_turn(const uint8_t *buf, size_t from, size_t to,
             journal_apply_fn *apply, void *arg, uint64_t *records,
             size_t *bad_at)
{
    for (size_t offset = from; offset < to;) {
        size_t length = s_get32(buf + offset);
        const uint8_t *frame = buf + offset + JOURNAL_FRAME;
        if (!s_is_commit(frame, length)) {
            goro_msg_t *record = NULL;
            int rc = goro_msg_decode(frame, length, 0, &record);
            if (rc == GORO_OK)
                rc = apply(arg, record);
            goro_msg_destroy(&record);
            if (rc) {
                *bad_at = offset;
                return GORO_EPROTO;
            }
            (*records)++;
        }
        offset += JOURNAL_FRAME + length;
    }
    return GORO_OK;
}

int
journal_replay(journal_t *self, bool repair, journal_apply_fn *apply,
               void *arg, journal_replay_t *info, char *err, size_t err_size)
{
    memset(info, 0, sizeof *info);
    uint8_t *buf;
    size_t size;
    if (s_read_file(self->fd, &buf, &size) != 0) {
        snprintf(err, err_size, "cannot read journal %s: %s", self->path,
                 strerror(errno));
        return GORO_ESYS;
    }
    int rc = GORO_OK;
    uint8_t header[JOURNAL_HEADER];
    s_header(header);
    if (size < JOURNAL_HEADER || memcmp(buf, header, 7) != 0) {
        snprintf(err, err_size, "%s is not a goro journal", self->path);
        rc = GORO_EPROTO;
        goto done;
    }
    if (buf[7] != JOURNAL_VERSION) {
        snprintf(err, err_size,
                 "%s has journal format %u; this gorod reads "
                 "format %u",
                 self->path, buf[7], JOURNAL_VERSION);
        rc = GORO_EPROTO;
        goto done;
    }
    /* Turn by turn: records up to a J_COMMIT are checked, then applied
       together. TURN is where the current turn started. */
    size_t offset = JOURNAL_HEADER, turn = JOURNAL_HEADER;
    while (offset < size) {
        const uint8_t *frame = NULL;
        size_t frame_size = 0;
        rec_t rec = s_record_at(buf, size, offset, &frame, &frame_size);
        size_t bad_at = offset;
        if (rec == REC_OK) {
            offset += JOURNAL_FRAME + frame_size;
            if (!s_is_commit(frame, frame_size))
                continue;
            if (s_apply_turn(buf, turn, offset, apply, arg, &info->records,
                             &bad_at)
                == GORO_OK) {
                turn = offset;
                continue;
            }
        }
        /* A record a crash cut short runs past the end of the file: the
           turn it belongs to never committed. A whole record whose
           checksum fails is corruption even when it is the last: that
           turn may have been fsynced and acknowledged. */
        if (rec == REC_SHORT) {
            info->torn = true;
            info->torn_offset = bad_at;
            log_warn("journal %s: torn last record at offset %zu; its turn "
                     "(from offset %zu, %zu bytes) is dropped",
                     self->path, bad_at, turn, size - turn);
        }
        else if (repair) {
            info->skipped++;
            info->reapply = rec == REC_OK && bad_at > turn;
            log_warn("journal %s: bad record at offset %zu; --repair drops "
                     "the journal from its turn at offset %zu (%zu bytes)",
                     self->path, bad_at, turn, size - turn);
        }
        else {
            snprintf(err, err_size,
                     "journal %s: bad record at offset %zu "
                     "(%s); start gorod with --repair to drop everything "
                     "from there",
                     self->path, bad_at,
                     rec == REC_BAD ? "checksum mismatch"
                                    : "content does not fit the state");
            rc = GORO_EPROTO;
            goto done;
        }
        break;
    }
    if (offset >= size && turn < size && !info->torn) {
        /* Whole records, but the last turn has no J_COMMIT: a write cut
           exactly between records. */
        info->torn = true;
        info->torn_offset = turn;
        log_warn("journal %s: last turn at offset %zu has no commit; "
                 "dropped (%zu bytes)",
                 self->path, turn, size - turn);
    }
    offset = turn;
    if (offset < size && ftruncate(self->fd, (off_t) offset) != 0) {
        snprintf(err, err_size, "cannot truncate journal %s: %s", self->path,
                 strerror(errno));
        rc = GORO_ESYS;
        goto done;
    }
    info->bytes = offset;
    self->size = offset;
    lseek(self->fd, (off_t) offset, SEEK_SET);
done:
    free(buf);
    return rc;
}

/* ---- append and flush ---------------------------------------------- */

static void
s_buffer(journal_t *self, const goro_msg_t *record, uint8_t **buf,
         size_t *used, size_t *alloc)
{
    uint8_t *frame;
    size_t frame_size;
    if (goro_msg_encode(record, &frame, &frame_size) != GORO_OK) {
        log_bug("a journal record cannot be encoded");
        return;
    }
    size_t need = *used + JOURNAL_FRAME + frame_size;
    if (need > *alloc) {
        *alloc = need * 2;
        *buf = util_realloc(*buf, *alloc);
    }
    uint8_t *at = *buf + *used;
    s_put32(at, (uint32_t) frame_size);
    s_put32(at + 4, journal_crc32c(0, at, 4));
    s_put32(at + 8, journal_crc32c(0, frame, frame_size));
    memcpy(at + JOURNAL_FRAME, frame, frame_size);
    *used = need;
    free(frame);
    (void) self;
}

void
journal_append(journal_t *self, const goro_msg_t *record)
{
    s_buffer(self, record, &self->buf, &self->used, &self->alloc);
    self->committed = false; /* a later flush commits this one too */
}

static const goro_msg_t s_commit = {.cmd = GORO_MSG_J_COMMIT};

int
journal_flush(journal_t *self, int64_t now)
{
    if (self->used && !self->committed) {
        journal_append(self, &s_commit);
        self->committed = true;
    }
    if (self->used) {
        /* After a failed write, position explicitly: it may have moved
           the offset part way, and the retry must overwrite, not append
           after it. */
        if ((self->failed && lseek(self->fd, (off_t) self->size, SEEK_SET) < 0)
            || s_write_all(self->fd, self->buf, self->used) != 0) {
            log_error("journal %s: write failed: %s; will retry", self->path,
                      strerror(errno));
            self->failed = true;
            return GORO_ESYS;
        }
        self->failed = false;
        if (self->child > 0) {
            /* A compaction's snapshot is of the state before these: they
               go after it in the new journal too. */
            if (self->later_used + self->used > self->later_alloc) {
                self->later_alloc = (self->later_used + self->used) * 2;
                self->later = util_realloc(self->later, self->later_alloc);
            }
            memcpy(self->later + self->later_used, self->buf, self->used);
            self->later_used += self->used;
        }
        self->size += self->used;
        self->used = 0;
        self->committed = false;
        self->dirty = true;
    }
    bool due = self->fsync == CONFIG_FSYNC_ALWAYS
               || (self->fsync == CONFIG_FSYNC_EVERYSEC
                   && now - self->synced_at >= JOURNAL_FSYNC_EVERY_MS);
    if (self->dirty && due) {
        if (s_io.fsync(self->fd) != 0) {
            log_error("journal %s: fsync failed: %s", self->path,
                      strerror(errno));
            return GORO_ESYS;
        }
        self->dirty = false;
        self->synced_at = now;
    }
    return GORO_OK;
}

uint64_t
journal_size(journal_t *self)
{
    return self->size + self->used;
}

/* ---- compaction ---------------------------------------------------- */

int
journal_compact_start(journal_t *self, journal_snapshot_fn *fn, void *arg)
{
    if (self->child > 0)
        return GORO_ESTATE;
    /* The snapshot is of the state after every flushed turn: flush this
       one first, so that the file and the snapshot agree. */
    if (journal_flush(self, util_now()) != GORO_OK)
        return GORO_ESYS;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.compact", self->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("journal compaction: cannot create %s: %s", tmp,
                  strerror(errno));
        return GORO_ESYS;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child has a copy of the tables as they are now: it only
           serializes them and writes, then leaves without running any
           of the parent's exit handlers. It lets go of the lock file at
           once, so that a gorod started after this one was killed is not
           refused while the child finishes (the lock stays with the
           parent's descriptor). */
        close(self->lock_fd);
        fn(arg, self);
        journal_append(self, &s_commit);
        uint8_t header[JOURNAL_HEADER];
        s_header(header);
        int ok = s_write_all(fd, header, sizeof header) == 0
                 && s_write_all(fd, self->buf, self->used) == 0
                 && s_io.fsync(fd) == 0;
        _exit(ok ? 0 : 1);
    }
    if (pid < 0) {
        log_error("journal compaction: fork failed: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        return GORO_ESYS;
    }
    self->child = pid;
    self->compact_fd = fd;
    self->later_used = 0;
    return GORO_OK;
}

int
journal_compact_poll(journal_t *self)
{
    int status;
    if (self->child <= 0
        || waitpid(self->child, &status, WNOHANG) != self->child)
        return 0;
    self->child = 0;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.compact", self->path);
    int fd = self->compact_fd;
    struct stat st;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0
              && lseek(fd, 0, SEEK_END) >= 0
              && s_write_all(fd, self->later, self->later_used) == 0
              && s_io.fsync(fd) == 0 && fstat(fd, &st) == 0
              && s_io.rename(tmp, self->path) == 0;
    free(self->later);
    self->later = NULL;
    self->later_used = self->later_alloc = 0;
    if (!ok) {
        log_error("journal compaction failed (%s); the old journal stays",
                  WIFEXITED(status) && WEXITSTATUS(status) == 0
                      ? strerror(errno)
                      : "its process did not finish");
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (s_fsync_dir(self->path) != 0)
        log_warn("journal compaction: fsync of the directory failed: %s",
                 strerror(errno));
    close(self->fd);
    self->fd = fd;
    self->size = (uint64_t) st.st_size;
    self->dirty = false;
    self->synced_at = util_now();
    return 1;
}
