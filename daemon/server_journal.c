/*  server_journal - the server's side of the journal: recovery at start
    (replay through the tables' own replay functions, then settling what
    was in flight), the commit that ends each loop turn, and compaction.

    The tables journal their own changes (job.c, chan.c, wg.c); this file
    decides when records become durable and when the journal is
    rewritten from a snapshot, and holds the rule that a turn's replies
    leave only after its records are flushed.
*/
#include "server_int.h"
#include "chan.h"
#include "config.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "outbox.h"
#include "sched.h"
#include "wg.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    job_t **queued;
    size_t nqueued;
    job_t **pending; /* ended, result not yet on its channel */
    size_t npending;
} settle_t;

static void
s_settle_collect(job_t *job, void *arg)
{
    settle_t *st = arg;
    if (job->state == GORO_JOB_RUNNING || job->state == GORO_JOB_QUEUED)
        st->queued[st->nqueued++] = job;
    else if (job_extra(job)->chan && !job_extra(job)->result_sent)
        st->pending[st->npending++] = job;
}

static void
s_settle_ttl(job_t *job, void *arg)
{
    server_t *self = arg;
    if (!job_state_ended(job->state))
        return;
    int64_t left = job_extra(job)->ended_at + self->cfg->result_ttl_ms
                   - util_wall_ms();
    server_job_keep_result(self, job, left > 0 ? left : 0);
}

static int
s_by_job_id(const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

/* After replay: jobs that were running when gorod stopped go back to the
   queue (their worker may still report; the attempt fence sorts that
   out), queues are rebuilt in id order, results get the rest of their
   ttl, and results owed to a channel are sent again. */
static void
s_settle(server_t *self)
{
    size_t total = 0;
    for (int state = 1; state < JOB_STATES; state++)
        total += job_table_count(self->tables.jobs, state);
    settle_t st = {util_zalloc(sizeof(job_t *) * (total + 1)), 0,
                   util_zalloc(sizeof(job_t *) * (total + 1)), 0};
    job_table_each(self->tables.jobs, s_settle_collect, &st);
    qsort(st.queued, st.nqueued, sizeof(job_t *), s_by_job_id);
    for (size_t i = 0; i < st.nqueued; i++) {
        job_t *job = st.queued[i];
        if (job->state == GORO_JOB_RUNNING)
            job_table_requeue(self->tables.jobs, job);
        sched_push(self->sched, job);
    }
    for (size_t i = 0; i < st.npending; i++)
        server_chan_send_result(self, st.pending[i]);
    free(st.queued);
    free(st.pending);
    job_table_each(self->tables.jobs, s_settle_ttl, self);
}

/* The seed spreads select's random choices differently per run. */
void
server_tables_init(server_t *self)
{
    tables_init(&self->tables,
                (uint64_t) util_wall_ms() ^ (uint64_t) getpid());
}

int
server_journal_recover(server_t *self, bool repair, char *err, size_t err_size)
{
    int64_t started = util_now();
    journal_replay_t info;
    int rc = journal_replay(self->journal, repair, tables_replay,
                            &self->tables, &info, err, err_size);
    if (rc == GORO_OK && info.reapply) {
        /* Part of the cut turn reached the tables: start them over from
           the journal as it now is. */
        tables_fini(&self->tables);
        server_tables_init(self);
        rc = journal_replay(self->journal, false, tables_replay, &self->tables,
                            &info, err, err_size);
    }
    if (rc)
        return rc;
    /* From here on, changes (the settling included) are journaled. */
    tables_set_journal(&self->tables, self->journal);
    s_settle(self);
    /* Redis's rule (auto-aof-rewrite-percentage 100): compact when the
       journal has doubled since the last snapshot, and not while small. */
    self->compact_at = 2 * journal_size(self->journal);
    if (info.records)
        log_info("journal %s: %llu record(s) replayed in %lld ms: %zu job(s)"
                 " queued, %zu ended, %zu channel(s), %zu waitgroup(s)",
                 self->cfg->journal_path, (unsigned long long) info.records,
                 (long long) (util_now() - started),
                 job_table_count(self->tables.jobs, GORO_JOB_QUEUED),
                 job_table_count(self->tables.jobs, GORO_JOB_SUCCEEDED)
                     + job_table_count(self->tables.jobs, GORO_JOB_FAILED)
                     + job_table_count(self->tables.jobs, GORO_JOB_CANCELLED)
                     + job_table_count(self->tables.jobs, GORO_JOB_TIMED_OUT),
                 chan_table_size(self->tables.chans),
                 wg_table_size(self->tables.wgs));
    return GORO_OK;
}

/* A compaction's child ended: the journal is replaced (or stays). */
void
server_journal_compact_check(server_t *self)
{
    if (!self->compacting)
        return;
    int rc = journal_compact_poll(self->journal);
    if (rc == 0)
        return;
    self->compacting = false;
    uint64_t size = journal_size(self->journal);
    if (rc > 0)
        log_info("journal compacted from %llu to %llu bytes",
                 (unsigned long long) self->compact_from,
                 (unsigned long long) size);
    self->compact_at = 2 * size;
}

/* End of a loop turn: the turn's records reach the journal (and the disk,
   with fsync: always) before its replies leave. If the disk refuses,
   the replies wait: nothing is acknowledged that is not recorded. */
void
server_journal_commit(server_t *self)
{
    if (!self->journal)
        return;
    if (journal_flush(self->journal, util_now()) != GORO_OK)
        return;
    self->undelivered += outbox_flush(self->outbox);
    server_journal_compact_check(self);
    uint64_t size = journal_size(self->journal);
    if (size >= self->cfg->journal_compact_min && size >= self->compact_at
        && !self->compacting) {
        int64_t started = util_now();
        if (journal_compact_start(self->journal, tables_snapshot,
                                  &self->tables)
            == GORO_OK) {
            self->compacting = true;
            self->compact_from = size;
            log_info("journal compaction started (%llu bytes); the loop "
                     "paused %lld ms for it",
                     (unsigned long long) size,
                     (long long) (util_now() - started));
        }
        else
            self->compact_at = size * 2; /* don't retry every turn */
    }
}
