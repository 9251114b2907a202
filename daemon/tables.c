/*  tables - see tables.h. */
#include "tables.h"
#include "chan.h"
#include "job.h"
#include "wg.h"
#include "goro_defs.h"

void
tables_init(tables_t *self, uint64_t seed)
{
    self->jobs = job_table_new();
    self->chans = chan_table_new(seed);
    self->wgs = wg_table_new();
}

void
tables_fini(tables_t *self)
{
    chan_table_destroy(&self->chans);
    wg_table_destroy(&self->wgs);
    job_table_destroy(&self->jobs);
}

int
tables_replay(void *self, const goro_msg_t *record)
{
    tables_t *t = self;
    switch (record->cmd) {
        case GORO_MSG_J_CHAN_MAKE:
        case GORO_MSG_J_CHAN_PUSH:
        case GORO_MSG_J_CHAN_POP:
        case GORO_MSG_J_CHAN_CLOSE: return chan_table_replay(t->chans, record);
        case GORO_MSG_J_WG_SET: return wg_table_replay(t->wgs, record);
        default:
            if (record->cmd >= GORO_MSG_J_SUBMIT
                && record->cmd <= GORO_MSG_J_NEXT_ID)
                return job_table_replay(t->jobs, record);
            return GORO_EPROTO;
    }
}

void
tables_snapshot(void *self, journal_t *journal)
{
    tables_t *t = self;
    job_table_snapshot(t->jobs, journal);
    chan_table_snapshot(t->chans, journal);
    wg_table_snapshot(t->wgs, journal);
}

void
tables_set_journal(tables_t *self, journal_t *journal)
{
    job_table_set_journal(self->jobs, journal);
    chan_table_set_journal(self->chans, journal);
    wg_table_set_journal(self->wgs, journal);
}
