/*  job - the job table and the job state machine.

    Every change of a job's state goes through one of the job_table_*
    mutators below; they check the transition against the state machine
    (PROTOCOL.md, "Job lifecycle") and keep the per-state counts. This is
    the boundary the journal hooks. The table knows nothing of sockets,
    queues or workers: the server links jobs to those.

    A job is the table's record, job_t and its job_extra_t, which replay
    of the journal rebuilds, and the runtime links that other modules
    hang on it (job_links.h), which replay never sees. The one link kept
    in job_t is its place in its function's queue, sched.c's.
*/
#ifndef JOB_H_INCLUDED
#define JOB_H_INCLUDED

#include "types.h"
#include "list.h"
#include "goro_defs.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_STATES 7 /* goro_job_state_t values are 1..6 */

/* What a submission asks for; the table copies it. */
typedef struct {
    uint64_t id; /* 0: the next id (replay gives one) */
    const char *fn;
    const void *data;
    size_t size;
    const char *wg; /* NULL or "" for none */
    const char *chan;
    const char *key;
    int64_t timeout_ms; /* per attempt; 0 none */
    int max_attempts;   /* >= 1 */
} job_spec_t;

/* Payload sizes fit the 29 bits of job_t.size: a client's value is at
   most limits.max_message, which config.c caps at 256 MiB (2^28). */
#define JOB_SIZE_MAX ((1u << 29) - 1)

/* What most queued jobs never use, so it is kept out of job_t and made
   on first need: when the job has options, starts, ends or is waited
   for. Once made, it lives as long as the job. */
typedef struct {
    char *wg, *chan, *key; /* NULL when unused */
    int attempt;           /* attempts started, ever: the fence;
                              0 until the first start, hence here */
    int attempt_base;      /* attempts before the last retry */
    int64_t status;        /* -1 until ended */
    int64_t runtime_ms;
    uint8_t *out; /* stdout / reply */
    size_t out_size;
    char *err; /* stderr / error text */
    size_t err_size;
    int64_t started_at; /* monotonic, current attempt */
    int64_t ended_at;   /* wall-clock ms, for the ttl on replay */
    bool result_sent;   /* sent on (or dropped by) its chan */
    job_links_t *links; /* not the table's (job_links.h): NULL
                           until needed, freed with the job */
} job_extra_t;

/* One allocation per queued job, with its payload: a million of them
   are queued at once (limits.max_queued_jobs), so every field here is
   paid a million times: 56 bytes before the payload (LP64). */
struct job {
    uint64_t id;        /* increasing, never reused */
    const char *fn;     /* shared by the jobs of the function */
    list_node_t queued; /* sched.c's: in its function's queue */
    job_extra_t *extra; /* NULL until needed; read it through
                           job_extra() */
    int64_t timeout_ms; /* per attempt; 0 none. Here, not in
                           extra: jobs.timeout gives every job one */
    int max_attempts;   /* >= 1; likewise jobs.max_attempts */
    unsigned size : 29; /* payload bytes, <= JOB_SIZE_MAX */
    unsigned state : 3; /* goro_job_state_t, 1..6 */
    uint8_t data[];     /* the payload */
};

/* Caller owns the result. */
job_table_t *job_table_new(void);

/* From now on every mutator appends its record to JOURNAL (NULL: none). */
void job_table_set_journal(job_table_t *self, journal_t *journal);

/* Applies a J_* job record during replay, checking it against the state
   machine: GORO_EPROTO if it does not fit (the journal is corrupt). */
int job_table_replay(job_table_t *self, const goro_msg_t *record);

/* Writes records that rebuild every job (running ones come back queued). */
void job_table_snapshot(job_table_t *self, journal_t *journal);

/* The job's result went to its result channel (or was dropped). */
void job_table_result_sent(job_table_t *self, job_t *job);
/* Frees every job; parked waiters must have been released. */
void job_table_destroy(job_table_t **self_p);

/* Makes a queued job with the next id, or with SPEC's id if it has one
   (a leased id). Owned by the table. */
job_t *job_table_submit(job_table_t *self, const job_spec_t *spec);

/* Gives out COUNT ids at once for a client to name its own submissions
   with (SUBMIT_LEASED): returns the first. The new next id is journaled,
   so that no later run gives them out again. */
uint64_t job_table_lease(job_table_t *self, uint32_t count);
/* Whether ID was given out (by a submit or a lease) and no job has it. */
bool job_table_id_free(job_table_t *self, uint64_t id);
/* The id the next submission without one gets. */
uint64_t job_table_next_id(job_table_t *self);

job_t *job_table_lookup(job_table_t *self, uint64_t id);
job_t *job_table_by_key(job_table_t *self, const char *key);

/* queued -> running; raises the attempt. */
void job_table_start(job_table_t *self, job_t *job, int64_t now);
/* running -> queued after the worker was lost. */
void job_table_requeue(job_table_t *self, job_t *job);
/* queued or running -> STATE (an ended state), with the result. The
   table takes OUT and ERR (malloc'd, may be NULL) and sets them to NULL. */
void job_table_end(job_table_t *self, job_t *job, int state, int64_t status,
                   int64_t runtime_ms, uint8_t **out, size_t out_size,
                   char **err, size_t err_size);
/* ended (not succeeded) -> queued, with a fresh budget of attempts.
   Attempt numbers keep growing, so a late DONE from an attempt before
   the retry can never pass for one after it. */
void job_table_retry(job_table_t *self, job_t *job);
/* Forgets an ended job (its result expired). */
void job_table_remove(job_table_t *self, job_t **job_p);

/* Jobs now in STATE; total submitted since start. */
size_t job_table_count(job_table_t *self, int state);
uint64_t job_table_submitted(job_table_t *self);

/* Calls FN for each job, in no particular order. */
void job_table_each(job_table_t *self, void (*fn)(job_t *, void *), void *arg);

int job_state_ended(int state);

/* Attempts used from the current budget (since the last retry). */
int job_attempts_used(const job_t *job);

/* For reading: the job's extra record, or, if it has none yet, a shared
   one that says what a fresh job's would (no options, no attempt,
   status -1, no result). */
const job_extra_t *job_extra(const job_t *job);
/* For writing: the job's extra record, made on first use. */
job_extra_t *job_extra_ensure(job_t *job);

#endif
