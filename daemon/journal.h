/*  journal - gorod's append-only log of state changes, replayed at start.

    Each record is one goro_msg frame (the J_* commands of the codec)
    framed by its length and CRC32Cs, after an 8-byte file header. The
    tables append records from their mutators; the server flushes once per
    loop turn, before that turn's replies go out, and fsyncs as
    journal.fsync says (always: every flush; everysec: at most once a
    second; never: the kernel decides). Each flush ends with a J_COMMIT
    record, and replay applies whole turns only: a crash in mid-write
    never leaves half a state change (a job ended but its waitgroup not
    told).

    One gorod at a time: the journal is opened under an flock on
    PATH.lock, which holds the pid of the gorod that has it.

    Compaction rewrites the journal as a snapshot of the live state:
    written to PATH.compact, fsynced, renamed over PATH, and the directory
    fsynced, so a crash at any step leaves either the old journal or the
    new one whole.
*/
#ifndef JOURNAL_H_INCLUDED
#define JOURNAL_H_INCLUDED

#include "types.h"
#include "config.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JOURNAL_MAGIC "GOROJNL" /* 7 bytes, then the format version */
#define JOURNAL_VERSION 2       /* bumped on any record format change */
#define JOURNAL_HEADER 8
#define JOURNAL_FRAME \
    12 /* per record: length 4, CRC32C of the \
          length 4, CRC32C of the frame 4 */

typedef struct journal journal_t;

/* Applies one record during replay; GORO_OK or an error code, which
   makes the record count as corrupt. */
typedef int journal_apply_fn(void *arg, const goro_msg_t *record);

/* Writes a snapshot of the live state with journal_append(). */
typedef void journal_snapshot_fn(void *arg, journal_t *journal);

/* What replay found. */
typedef struct {
    uint64_t records; /* applied */
    uint64_t bytes;   /* good bytes kept */
    bool torn;        /* a torn last record was dropped */
    uint64_t torn_offset;
    uint64_t skipped; /* bad records dropped under --repair */
    bool reapply;     /* --repair cut a turn that was partly
                         applied: replay again into fresh
                         tables (the file now ends before it) */
} journal_replay_t;

/* Test hooks: each step of I/O goes through these, so that tests can
   fail or "crash" at any of them. NULL restores the real calls. A hook
   returning -1 with errno set fails that step. */
typedef struct {
    ssize_t (*write)(int fd, const void *buf, size_t size);
    int (*fsync)(int fd);
    int (*rename)(const char *from, const char *to);
} journal_io_t;

void journal_set_io(const journal_io_t *io);

/* Opens (creating it and its directory if needed) the journal at PATH,
   holding PATH.lock until journal_destroy: NULL, with a message naming
   the journal and the pid of the gorod that has it, if another process
   holds that lock. A file shorter than the header that is part of one
   (a crash while it was created) becomes an empty journal, with a
   warning. NULL with a message in ERR if it cannot open. Caller owns
   the result. */
journal_t *journal_open(const char *path, config_fsync_t fsync, char *err,
                        size_t err_size);
void journal_destroy(journal_t **self_p);

/* Reads every committed turn and calls APPLY for each record, in order.
   A torn tail (a crash mid-write: a last record that runs past the end
   of the file, or a last turn without its J_COMMIT) is cut off with a
   warning naming its offset. A whole record whose checksum fails, the
   last one included, or that does not fit the state, is corruption:
   GORO_EPROTO with the offset in ERR, unless REPAIR, which drops the
   journal from the start of that record's turn on. Must be called once,
   before any append. */
int journal_replay(journal_t *self, bool repair, journal_apply_fn *apply,
                   void *arg, journal_replay_t *info, char *err,
                   size_t err_size);

/* Adds RECORD to the buffer of the current loop turn. */
void journal_append(journal_t *self, const goro_msg_t *record);

/* Writes the buffer and fsyncs as configured; NOW is monotonic ms.
   GORO_ESYS if the disk refuses (the records stay buffered). */
int journal_flush(journal_t *self, int64_t now);

/* Bytes in the file, counting what is buffered. */
uint64_t journal_size(journal_t *self);

/* Compaction without stopping the world: a child process (fork) writes
   FN's snapshot of the state as it is now to PATH.compact, while gorod
   goes on; the turns flushed meanwhile are kept and appended when the
   child is done. GORO_ESTATE if one runs already, GORO_ESYS if it could
   not start (the old journal stays in use either way). */
int journal_compact_start(journal_t *self, journal_snapshot_fn *fn, void *arg);

/* Checks on a compaction started above: 0 while it runs (or none does),
   1 once it has replaced the journal, -1 if it failed (the old journal
   stays). Call it when a child exits (SIGCHLD) or now and then. */
int journal_compact_poll(journal_t *self);

const char *journal_path(journal_t *self);

/* CRC32C (Castagnoli) of SIZE bytes, continuing from CRC (0 to start). */
uint32_t journal_crc32c(uint32_t crc, const void *data, size_t size);

#endif
