/*  job - job records, the id and key indexes, and the state machine.

    The allowed transitions:

        queued  -> running | cancelled
        running -> queued (worker lost) | succeeded | failed | cancelled
                   | timed_out
        failed | cancelled | timed_out -> queued (retry)

    A transition outside this table is a bug in the caller, which must
    have checked the state and answered GORO_ESTATE itself.
*/
#include "job.h"
#include "goro_util.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct job_table {
    zhashx_t *by_id;            /* &job->id -> job, owns the jobs */
    zhashx_t *by_key;           /* key -> job, for idempotent submits */
    uint64_t next_id;
    uint64_t submitted;
    size_t count[JOB_STATES];
};

static const int s_allowed[JOB_STATES][JOB_STATES] = {
    [GORO_JOB_QUEUED] = {[GORO_JOB_RUNNING] = 1, [GORO_JOB_CANCELLED] = 1},
    [GORO_JOB_RUNNING] = {[GORO_JOB_QUEUED] = 1, [GORO_JOB_SUCCEEDED] = 1,
                          [GORO_JOB_FAILED] = 1, [GORO_JOB_CANCELLED] = 1,
                          [GORO_JOB_TIMED_OUT] = 1},
    [GORO_JOB_FAILED] = {[GORO_JOB_QUEUED] = 1},
    [GORO_JOB_CANCELLED] = {[GORO_JOB_QUEUED] = 1},
    [GORO_JOB_TIMED_OUT] = {[GORO_JOB_QUEUED] = 1},
};

static size_t
s_id_hash(const void *key)
{
    uint64_t x = *(const uint64_t *) key;
    x ^= x >> 33;                       /* murmur3's finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

static int
s_id_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void
s_job_free(void **item_p)
{
    job_t *job = *item_p;
    if (job) {
        free(job->fn);
        free(job->data);
        free(job->wg);
        free(job->chan);
        free(job->key);
        free(job->out);
        free(job->err);
        free(job);
        *item_p = NULL;
    }
}

job_table_t *
job_table_new(void)
{
    job_table_t *self = goro_zalloc(sizeof *self);
    self->by_id = zhashx_new();
    zhashx_set_key_hasher(self->by_id, s_id_hash);
    zhashx_set_key_comparator(self->by_id, s_id_compare);
    zhashx_set_key_duplicator(self->by_id, NULL);
    zhashx_set_key_destructor(self->by_id, NULL);
    zhashx_set_destructor(self->by_id, s_job_free);
    self->by_key = zhashx_new();        /* string keys, copied */
    self->next_id = 1;
    return self;
}

void
job_table_destroy(job_table_t **self_p)
{
    if (self_p && *self_p) {
        job_table_t *self = *self_p;
        zhashx_destroy(&self->by_key);
        zhashx_destroy(&self->by_id);
        free(self);
        *self_p = NULL;
    }
}

static char *
s_opt(const char *text)
{
    return text && *text ? goro_strdup(text) : NULL;
}

static void
s_transition(job_table_t *self, job_t *job, int state)
{
    assert(s_allowed[job->state][state]);
    self->count[job->state]--;
    self->count[state]++;
    job->state = state;
}

job_t *
job_table_submit(job_table_t *self, const job_spec_t *spec)
{
    job_t *job = goro_zalloc(sizeof *job);
    job->id = self->next_id++;
    job->fn = goro_strdup(spec->fn);
    job->data = goro_memdup(spec->data, spec->size);
    job->size = spec->size;
    job->wg = s_opt(spec->wg);
    job->chan = s_opt(spec->chan);
    job->key = s_opt(spec->key);
    job->timeout_ms = spec->timeout_ms;
    job->max_attempts = spec->max_attempts;
    job->state = GORO_JOB_QUEUED;
    job->status = -1;
    heap_node_init(&job->deadline, 0);
    zhashx_insert(self->by_id, &job->id, job);
    if (job->key)
        zhashx_insert(self->by_key, job->key, job);
    self->count[GORO_JOB_QUEUED]++;
    self->submitted++;
    return job;
}

job_t *
job_table_lookup(job_table_t *self, uint64_t id)
{
    return zhashx_lookup(self->by_id, &id);
}

job_t *
job_table_by_key(job_table_t *self, const char *key)
{
    return key && *key ? zhashx_lookup(self->by_key, key) : NULL;
}

void
job_table_start(job_table_t *self, job_t *job, int64_t now)
{
    s_transition(self, job, GORO_JOB_RUNNING);
    job->attempt++;
    job->started_at = now;
}

void
job_table_requeue(job_table_t *self, job_t *job)
{
    s_transition(self, job, GORO_JOB_QUEUED);
}

void
job_table_end(job_table_t *self, job_t *job, int state, int64_t status,
              int64_t runtime_ms, uint8_t **out, size_t out_size,
              char **err, size_t err_size)
{
    assert(job_state_ended(state));
    s_transition(self, job, state);
    job->status = status;
    job->runtime_ms = runtime_ms;
    free(job->out);
    job->out = out ? *out : NULL;
    job->out_size = job->out ? out_size : 0;
    if (out)
        *out = NULL;
    free(job->err);
    job->err = err ? *err : NULL;
    job->err_size = job->err ? err_size : 0;
    if (err)
        *err = NULL;
}

void
job_table_retry(job_table_t *self, job_t *job)
{
    s_transition(self, job, GORO_JOB_QUEUED);
    job->attempt_base = job->attempt;
    job->status = -1;
    job->runtime_ms = 0;
    free(job->out);             /* the old attempt's result is gone */
    free(job->err);
    job->out = NULL;
    job->err = NULL;
    job->out_size = job->err_size = 0;
}

void
job_table_remove(job_table_t *self, job_t **job_p)
{
    job_t *job = *job_p;
    assert(job_state_ended(job->state) && !job->waiters);
    self->count[job->state]--;
    if (job->key && zhashx_lookup(self->by_key, job->key) == job)
        zhashx_delete(self->by_key, job->key);
    zhashx_delete(self->by_id, &job->id);   /* frees it */
    *job_p = NULL;
}

size_t
job_table_count(job_table_t *self, int state)
{
    return state > 0 && state < JOB_STATES ? self->count[state] : 0;
}

uint64_t
job_table_submitted(job_table_t *self)
{
    return self->submitted;
}

void
job_table_each(job_table_t *self, void (*fn)(job_t *, void *), void *arg)
{
    for (job_t *job = zhashx_first(self->by_id); job;
         job = zhashx_next(self->by_id))
        fn(job, arg);
}

int
job_state_ended(int state)
{
    return state >= GORO_JOB_SUCCEEDED && state <= GORO_JOB_TIMED_OUT;
}

int
job_attempts_used(const job_t *job)
{
    return job->attempt - job->attempt_base;
}
