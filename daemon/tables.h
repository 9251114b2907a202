/*  tables - the daemon's durable state as the journal sees it: the job,
    channel and waitgroup tables. Replay routes each J_* record to the
    table that wrote it, a snapshot asks each table for the records that
    rebuild it, and all three journal to the same journal_t.

    gorod, the journal's unit tests and its fuzz target all replay through
    here, so what they check is gorod's own routing, not a copy of it.
*/
#ifndef TABLES_H_INCLUDED
#define TABLES_H_INCLUDED

#include "types.h"
#include "chan.h"
#include "wg.h"
#include "goro_msg.h"

#include <stdint.h>

typedef struct {
    job_table_t *jobs;
    chan_table_t *chans;
    wg_table_t *wgs;
} tables_t;

/* Makes the three, empty; SEED goes to chan_table_new(). */
void tables_init(tables_t *self, uint64_t seed);
/* Frees what tables_init() made (any of it may be NULL). */
void tables_fini(tables_t *self);

/* A journal_apply_fn: applies RECORD to its table. SELF is a tables_t.
   GORO_EPROTO for a record that is no table's or does not fit it. */
int tables_replay(void *self, const goro_msg_t *record);

/* A journal_snapshot_fn: the records that rebuild every table. SELF is a
   tables_t. */
void tables_snapshot(void *self, journal_t *journal);

/* From now on every table's mutators append to JOURNAL (NULL: none). */
void tables_set_journal(tables_t *self, journal_t *journal);

#endif
