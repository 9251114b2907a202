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
#include "idmap.h"
#include "journal.h"
#include "util.h"

#include <assert.h>
#include <czmq.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A function name shared by all jobs of that function: a million queued
   jobs of "resize" hold one copy of the name. */
typedef struct {
    size_t refs;
    char name[];
} name_t;

struct job_table {
    idmap_t *by_id;   /* id -> job, owns the jobs */
    zhashx_t *by_key; /* key -> job, for idempotent submits */
    zhashx_t *names;  /* function name -> name_t */
    uint64_t next_id;
    uint64_t submitted;
    size_t count[JOB_STATES];
    journal_t *journal; /* NULL while replaying */
};

static const int s_allowed[JOB_STATES][JOB_STATES] = {
    [GORO_JOB_QUEUED] = {[GORO_JOB_RUNNING] = 1, [GORO_JOB_CANCELLED] = 1},
    [GORO_JOB_RUNNING] = {[GORO_JOB_QUEUED] = 1,
                          [GORO_JOB_SUCCEEDED] = 1,
                          [GORO_JOB_FAILED] = 1,
                          [GORO_JOB_CANCELLED] = 1,
                          [GORO_JOB_TIMED_OUT] = 1},
    [GORO_JOB_FAILED] = {[GORO_JOB_QUEUED] = 1},
    [GORO_JOB_CANCELLED] = {[GORO_JOB_QUEUED] = 1},
    [GORO_JOB_TIMED_OUT] = {[GORO_JOB_QUEUED] = 1},
};

static const char *
s_name_get(job_table_t *self, const char *fn)
{
    name_t *name = zhashx_lookup(self->names, fn);
    if (!name) {
        size_t len = strlen(fn) + 1;
        name = util_zalloc(sizeof *name + len);
        memcpy(name->name, fn, len);
        zhashx_insert(self->names, name->name, name);
    }
    name->refs++;
    return name->name;
}

static void
s_name_put(job_table_t *self, const char *fn)
{
    name_t *name = container_of(fn, name_t, name);
    if (--name->refs == 0)
        zhashx_delete(self->names, fn); /* frees it */
}

static void
s_name_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

/* What job_extra() shows for a job that has no extra record. */
static const job_extra_t s_no_extra = {.status = -1};

const job_extra_t *
job_extra(const job_t *job)
{
    return job->extra ? job->extra : &s_no_extra;
}

job_extra_t *
job_extra_ensure(job_t *job)
{
    if (!job->extra) {
        job->extra = util_zalloc(sizeof *job->extra);
        *job->extra = s_no_extra;
    }
    return job->extra;
}

/* The payload lives in the job's own allocation (see submit); the
   runtime links own nothing (job_links.h). */
static void
s_job_free(job_table_t *self, job_t *job)
{
    s_name_put(self, job->fn);
    job_extra_t *extra = job->extra;
    if (extra) {
        free(extra->wg);
        free(extra->chan);
        free(extra->key);
        free(extra->out);
        free(extra->err);
        free(extra->links);
        free(extra);
    }
    free(job);
}

static uint64_t
s_job_id(const void *job)
{
    return ((const job_t *) job)->id;
}

job_table_t *
job_table_new(void)
{
    job_table_t *self = util_zalloc(sizeof *self);
    self->by_id = idmap_new(s_job_id);
    self->by_key = zhashx_new(); /* string keys, copied */
    self->names = zhashx_new();
    zhashx_set_key_duplicator(self->names, NULL);
    zhashx_set_key_destructor(self->names, NULL);
    zhashx_set_destructor(self->names, s_name_free);
    self->next_id = 1;
    return self;
}

void
job_table_destroy(job_table_t **self_p)
{
    if (self_p && *self_p) {
        job_table_t *self = *self_p;
        zhashx_destroy(&self->by_key);
        size_t cursor = 0;
        job_t *job;
        while ((job = idmap_next(self->by_id, &cursor)))
            s_job_free(self, job);
        idmap_destroy(&self->by_id);
        zhashx_destroy(&self->names);
        free(self);
        *self_p = NULL;
    }
}

static bool
s_given(const char *text)
{
    return text && *text;
}

static char *
s_opt(const char *text)
{
    return s_given(text) ? util_strdup(text) : NULL;
}

static void
s_transition(job_table_t *self, job_t *job, int state)
{
    assert(s_allowed[job->state][state]);
    self->count[job->state]--;
    self->count[state]++;
    job->state = state;
}

void
job_table_set_journal(job_table_t *self, journal_t *journal)
{
    self->journal = journal;
}

/* Journal records borrow the job's buffers: nothing is copied but into
   the journal's own buffer. */
static void
s_log_id(job_table_t *self, int cmd, const job_t *job)
{
    if (!self->journal)
        return;
    goro_msg_t record = {.cmd = (uint8_t) cmd,
                         .job_id = job->id,
                         .attempt = (uint32_t) job_extra(job)->attempt};
    journal_append(self->journal, &record);
}

static void
s_log_submit(journal_t *journal, const job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    goro_msg_t record = {
        .cmd = GORO_MSG_J_SUBMIT,
        .job_id = job->id,
        .name = (char *) job->fn,
        .data = (uint8_t *) job->data,
        .size = job->size,
        .wg = extra->wg,
        .chan = extra->chan,
        .key = extra->key,
        .timeout = job->timeout_ms,
        .max_attempts = (uint32_t) job->max_attempts,
    };
    journal_append(journal, &record);
}

static void
s_log_end(journal_t *journal, const job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    goro_msg_t record = {
        .cmd = GORO_MSG_J_END,
        .job_id = job->id,
        .state = (uint8_t) job->state,
        .status = extra->status,
        .runtime = extra->runtime_ms,
        .ended_at = extra->ended_at,
        .data = extra->out,
        .size = extra->out_size,
        .text = extra->err,
        .text_size = extra->err_size,
    };
    journal_append(journal, &record);
}

static void
s_log_flags(journal_t *journal, const job_t *job)
{
    const job_extra_t *extra = job_extra(job);
    goro_msg_t record = {
        .cmd = GORO_MSG_J_JOB_FLAGS,
        .job_id = job->id,
        .attempt = (uint32_t) extra->attempt,
        .attempt_base = extra->attempt_base,
        .flags = extra->result_sent ? 1 : 0,
    };
    journal_append(journal, &record);
}

job_t *
job_table_submit(job_table_t *self, const job_spec_t *spec)
{
    /* One allocation for the job and its payload: per queued job, the
       fewer blocks the better (limits.max_queued_jobs is a million). */
    assert(spec->size <= JOB_SIZE_MAX);
    job_t *job = util_zalloc(sizeof *job + spec->size);
    job->id = spec->id ? spec->id : self->next_id;
    if (job->id >= self->next_id)
        self->next_id = job->id + 1;
    job->fn = s_name_get(self, spec->fn);
    if (spec->size)
        memcpy(job->data, spec->data, spec->size);
    job->size = spec->size;
    job->timeout_ms = spec->timeout_ms;
    job->max_attempts = spec->max_attempts;
    job->state = GORO_JOB_QUEUED;
    if (s_given(spec->wg) || s_given(spec->chan) || s_given(spec->key)) {
        job_extra_t *extra = job_extra_ensure(job);
        extra->wg = s_opt(spec->wg);
        extra->chan = s_opt(spec->chan);
        extra->key = s_opt(spec->key);
        if (extra->key)
            zhashx_insert(self->by_key, extra->key, job);
    }
    idmap_insert(self->by_id, job);
    self->count[GORO_JOB_QUEUED]++;
    self->submitted++;
    if (self->journal)
        s_log_submit(self->journal, job);
    return job;
}

uint64_t
job_table_lease(job_table_t *self, uint32_t count)
{
    uint64_t first = self->next_id;
    self->next_id += count;
    if (self->journal) {
        goro_msg_t record = {.cmd = GORO_MSG_J_NEXT_ID,
                             .job_id = self->next_id};
        journal_append(self->journal, &record);
    }
    return first;
}

bool
job_table_id_free(job_table_t *self, uint64_t id)
{
    return id && id < self->next_id && !job_table_lookup(self, id);
}

uint64_t
job_table_next_id(job_table_t *self)
{
    return self->next_id;
}

job_t *
job_table_lookup(job_table_t *self, uint64_t id)
{
    return idmap_lookup(self->by_id, id);
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
    job_extra_t *extra = job_extra_ensure(job);
    extra->attempt++;
    extra->started_at = now;
    s_log_id(self, GORO_MSG_J_START, job);
}

void
job_table_requeue(job_table_t *self, job_t *job)
{
    s_transition(self, job, GORO_JOB_QUEUED);
    s_log_id(self, GORO_MSG_J_REQUEUE, job);
}

void
job_table_end(job_table_t *self, job_t *job, int state, int64_t status,
              int64_t runtime_ms, uint8_t **out, size_t out_size, char **err,
              size_t err_size)
{
    assert(job_state_ended(state));
    s_transition(self, job, state);
    job_extra_t *extra = job_extra_ensure(job);
    extra->status = status;
    extra->runtime_ms = runtime_ms;
    free(extra->out);
    extra->out = out ? *out : NULL;
    extra->out_size = extra->out ? out_size : 0;
    if (out)
        *out = NULL;
    free(extra->err);
    extra->err = err ? *err : NULL;
    extra->err_size = extra->err ? err_size : 0;
    if (err)
        *err = NULL;
    if (!extra->ended_at)
        extra->ended_at = util_wall_ms();
    if (self->journal)
        s_log_end(self->journal, job);
}

void
job_table_retry(job_table_t *self, job_t *job)
{
    s_transition(self, job, GORO_JOB_QUEUED);
    job_extra_t *extra = job_extra_ensure(job); /* ended: it has one */
    extra->attempt_base = extra->attempt;
    extra->status = -1;
    extra->runtime_ms = 0;
    free(extra->out); /* the old attempt's result is gone */
    free(extra->err);
    extra->out = NULL;
    extra->err = NULL;
    extra->out_size = extra->err_size = 0;
    extra->ended_at = 0;
    extra->result_sent = false;
    s_log_id(self, GORO_MSG_J_RETRY, job);
}

void
job_table_remove(job_table_t *self, job_t **job_p)
{
    job_t *job = *job_p;
    const char *key = job_extra(job)->key;
    assert(job_state_ended(job->state));
    self->count[job->state]--;
    s_log_id(self, GORO_MSG_J_REMOVE, job);
    if (key && zhashx_lookup(self->by_key, key) == job)
        zhashx_delete(self->by_key, key);
    idmap_delete(self->by_id, job->id);
    s_job_free(self, job);
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
    size_t cursor = 0;
    job_t *job;
    while ((job = idmap_next(self->by_id, &cursor)))
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
    return job_extra(job)->attempt - job_extra(job)->attempt_base;
}

void
job_table_result_sent(job_table_t *self, job_t *job)
{
    job_extra_ensure(job)->result_sent = true;
    if (self->journal)
        s_log_flags(self->journal, job);
}

/* Replay: each record is checked against the state machine before it is
   applied, since the table's mutators assert and a journal is input. */
int
job_table_replay(job_table_t *self, const goro_msg_t *r)
{
    if (r->cmd == GORO_MSG_J_NEXT_ID) {
        if (r->job_id > self->next_id)
            self->next_id = r->job_id;
        return GORO_OK;
    }
    job_t *job = job_table_lookup(self, r->job_id);
    if (r->cmd == GORO_MSG_J_SUBMIT) {
        if (job || r->job_id == 0 || !r->name || !*r->name
            || r->size > JOB_SIZE_MAX || r->max_attempts < 1
            || r->max_attempts > INT_MAX)
            return GORO_EPROTO;
        job_spec_t spec = {
            .id = r->job_id,
            .fn = r->name,
            .data = r->data,
            .size = r->size,
            .wg = r->wg,
            .chan = r->chan,
            .key = r->key,
            .timeout_ms = r->timeout,
            .max_attempts = (int) r->max_attempts,
        };
        job_table_submit(self, &spec);
        return GORO_OK;
    }
    if (!job)
        return GORO_EPROTO;
    uint8_t *out = NULL;
    char *err = NULL;
    switch (r->cmd) {
        case GORO_MSG_J_START:
            /* gorod writes the attempt it starts: one more than before */
            if (!s_allowed[job->state][GORO_JOB_RUNNING]
                || r->attempt != (uint32_t) job_extra(job)->attempt + 1
                || r->attempt >= INT_MAX)
                return GORO_EPROTO;
            job_table_start(self, job, util_now());
            return GORO_OK;
        case GORO_MSG_J_REQUEUE:
        case GORO_MSG_J_RETRY:
            if (!s_allowed[job->state][GORO_JOB_QUEUED]
                || (r->cmd == GORO_MSG_J_REQUEUE)
                       != (job->state == GORO_JOB_RUNNING))
                return GORO_EPROTO;
            if (r->cmd == GORO_MSG_J_RETRY)
                job_table_retry(self, job);
            else
                job_table_requeue(self, job);
            return GORO_OK;
        case GORO_MSG_J_END:
            if (!job_state_ended(r->state) || !s_allowed[job->state][r->state])
                return GORO_EPROTO;
            out = r->data ? util_memdup(r->data, r->size) : NULL;
            err = r->text ? util_memdup(r->text, r->text_size) : NULL;
            job_extra_ensure(job)->ended_at = r->ended_at;
            job_table_end(self, job, r->state, r->status, r->runtime, &out,
                          r->size, &err, r->text_size);
            return GORO_OK;
        case GORO_MSG_J_REMOVE:
            if (!job_state_ended(job->state))
                return GORO_EPROTO;
            job_table_remove(self, &job);
            return GORO_OK;
        case GORO_MSG_J_JOB_FLAGS: {
            if (r->attempt >= INT_MAX || r->attempt_base < 0
                || r->attempt_base > (int64_t) r->attempt)
                return GORO_EPROTO;
            job_extra_t *extra = job_extra_ensure(job);
            extra->attempt = (int) r->attempt;
            extra->attempt_base = (int) r->attempt_base;
            extra->result_sent = r->flags & 1;
            return GORO_OK;
        }
        default: return GORO_EPROTO;
    }
}

static int
s_by_id(const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

void
job_table_snapshot(job_table_t *self, journal_t *journal)
{
    goro_msg_t next = {.cmd = GORO_MSG_J_NEXT_ID, .job_id = self->next_id};
    journal_append(journal, &next);
    /* In id order, so that replay queues them as they were. */
    size_t count = idmap_size(self->by_id), n = 0, cursor = 0;
    job_t **jobs = util_zalloc(sizeof(job_t *) * (count + 1));
    job_t *job;
    while ((job = idmap_next(self->by_id, &cursor)))
        jobs[n++] = job;
    qsort(jobs, n, sizeof(job_t *), s_by_id);
    for (size_t i = 0; i < n; i++) {
        s_log_submit(journal, jobs[i]);
        /* A running job, and an ended one but for a cancel in the queue,
           went through running: replay checks that path, and the records
           after the snapshot (its end, its requeue) must fit it. */
        if (jobs[i]->state == GORO_JOB_RUNNING
            || (job_state_ended(jobs[i]->state)
                && (jobs[i]->state != GORO_JOB_CANCELLED
                    || job_extra(jobs[i])->attempt))) {
            /* attempt 1 here; J_JOB_FLAGS below restores the count */
            goro_msg_t start = {.cmd = GORO_MSG_J_START,
                                .job_id = jobs[i]->id,
                                .attempt = 1};
            journal_append(journal, &start);
        }
        if (job_state_ended(jobs[i]->state))
            s_log_end(journal, jobs[i]);
        if (job_extra(jobs[i])->attempt || job_extra(jobs[i])->result_sent)
            s_log_flags(journal, jobs[i]);
    }
    free(jobs);
}
