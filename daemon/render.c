/*  render - text and JSON listings. Text is for a terminal (aligned
    columns); JSON is one document a script can parse, with the same
    fields under stable names, written by json so that names holding
    any bytes still make valid UTF-8.
*/
#include "render.h"
#include "job.h"
#include "pool.h"
#include "worker.h"
#include "json.h"
#include "util.h"
#include "goro_defs.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t size, used;
} strbuf_t;

static void s_printf(strbuf_t *sb, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_printf(strbuf_t *sb, const char *format, ...)
{
    for (;;) {
        va_list args;
        va_start(args, format);
        size_t room = sb->size - sb->used;
        int len = vsnprintf(sb->buf ? sb->buf + sb->used : NULL, room, format,
                            args);
        va_end(args);
        if (len < 0)
            return;
        if ((size_t) len < room) {
            sb->used += (size_t) len;
            return;
        }
        sb->size = (sb->size + (size_t) len + 1) * 2;
        sb->buf = util_realloc(sb->buf, sb->size);
    }
}

typedef struct {
    job_t **jobs;
    size_t count;
    int flags;
} collect_t;

static void
s_collect(job_t *job, void *arg)
{
    collect_t *c = arg;
    if ((c->flags & RENDER_FAILED)
        && !(job_state_ended(job->state) && job->state != GORO_JOB_SUCCEEDED))
        return;
    c->jobs[c->count++] = job;
}

static int
s_by_id(const void *a, const void *b)
{
    uint64_t x = (*(job_t *const *) a)->id, y = (*(job_t *const *) b)->id;
    return x < y ? -1 : x > y;
}

static char *
s_jobs_json(job_t **jobs, size_t count, size_t *size_out)
{
    json_t *json = json_new();
    json_array_open(json);
    for (size_t i = 0; i < count; i++) {
        const job_extra_t *extra = job_extra(jobs[i]);
        json_object_open(json);
        json_key(json, "id");
        json_uint(json, jobs[i]->id);
        json_key(json, "state");
        json_str(json, goro_job_state_name(jobs[i]->state));
        json_key(json, "function");
        json_str(json, jobs[i]->fn);
        json_key(json, "attempts");
        json_int(json, extra->attempt);
        json_key(json, "status");
        json_int(json, extra->status);
        json_key(json, "runtime_ms");
        json_int(json, extra->runtime_ms);
        json_object_close(json);
    }
    json_array_close(json);
    return json_finish(&json, size_out);
}

/* The table of JOBS; OLDER more were left out. */
static char *
s_jobs_text(job_t **jobs, size_t count, size_t older, size_t *size_out)
{
    strbuf_t sb = {NULL, 0, 0};
    s_printf(&sb, "%-10s %-10s %-16s %8s %6s %10s\n", "ID", "STATE",
             "FUNCTION", "ATTEMPTS", "STATUS", "RUNTIME");
    for (size_t i = 0; i < count; i++) {
        const job_t *job = jobs[i];
        const job_extra_t *extra = job_extra(job);
        char status[24] = "-";
        if (extra->status >= 0)
            snprintf(status, sizeof status, "%lld", (long long) extra->status);
        s_printf(&sb, "%-10llu %-10s %-16.64s %8d %6s %8lldms\n",
                 (unsigned long long) job->id, goro_job_state_name(job->state),
                 job->fn, extra->attempt, status,
                 (long long) extra->runtime_ms);
    }
    if (older)
        s_printf(&sb, "(%zu older jobs not shown)\n", older);
    *size_out = sb.used;
    return sb.buf;
}

char *
render_jobs(job_table_t *jobs, int flags, size_t *size_out)
{
    size_t total = 0;
    for (int s = 1; s < JOB_STATES; s++)
        total += job_table_count(jobs, s);
    collect_t c = {util_zalloc(sizeof(job_t *) * (total + 1)), 0, flags};
    job_table_each(jobs, s_collect, &c);
    qsort(c.jobs, c.count, sizeof(job_t *), s_by_id);
    size_t first = c.count > RENDER_JOBS_MAX ? c.count - RENDER_JOBS_MAX : 0;
    char *text = flags & RENDER_JSON
                     ? s_jobs_json(c.jobs + first, c.count - first, size_out)
                     : s_jobs_text(c.jobs + first, c.count - first, first,
                                   size_out);
    free(c.jobs);
    return text;
}

static void
s_worker_json(json_t *json, const worker_t *w, const char *pool_name,
              int64_t now)
{
    json_object_open(json);
    json_key(json, "name");
    json_str(json, w->name);
    json_key(json, "pid");
    json_uint(json, w->pid);
    json_key(json, "pool");
    json_str(json, pool_name);
    json_key(json, "running");
    json_int(json, w->running);
    json_key(json, "capacity");
    json_int(json, w->capacity);
    json_key(json, "finished");
    json_uint(json, w->finished);
    json_key(json, "last_seen_ms");
    json_int(json, now - w->last_seen);
    json_key(json, "functions");
    json_array_open(json);
    for (size_t i = 0; i < w->nfns; i++)
        json_str(json, w->fns[i]);
    json_array_close(json);
    json_object_close(json);
}

static void
s_worker_text(strbuf_t *sb, const worker_t *w, const char *pool_name)
{
    s_printf(sb, "%-24.64s %8u %-10.32s %8d %8d %9llu  ", w->name, w->pid,
             pool_name ? pool_name : "(remote)", w->running, w->capacity,
             (unsigned long long) w->finished);
    for (size_t i = 0; i < w->nfns; i++)
        s_printf(sb, "%s%s", i ? "," : "", w->fns[i]);
    s_printf(sb, "\n");
}

char *
render_workers(worker_table_t *workers, pool_t *pool, int64_t now, int flags,
               size_t *size_out)
{
    bool as_json = flags & RENDER_JSON;
    json_t *json = NULL;
    strbuf_t sb = {NULL, 0, 0};
    if (as_json) {
        json = json_new();
        json_array_open(json);
    }
    else
        s_printf(&sb, "%-24s %8s %-10s %8s %8s %9s  %s\n", "NAME", "PID",
                 "POOL", "RUNNING", "CAPACITY", "FINISHED", "FUNCTIONS");
    for (worker_t *w = worker_table_first(workers); w;
         w = worker_table_next(workers)) {
        const char *pool_name = pool_name_of(pool, (pid_t) w->pid);
        if (as_json)
            s_worker_json(json, w, pool_name, now);
        else
            s_worker_text(&sb, w, pool_name);
    }
    if (!as_json) {
        *size_out = sb.used;
        return sb.buf;
    }
    json_array_close(json);
    return json_finish(&json, size_out);
}

/* One channel's row: appended to SB, or to JSON when it is non-NULL. */
typedef struct {
    strbuf_t *sb;
    json_t *json;
    int n;
} chan_rows_t;

static void
s_chan_row(const chan_info_t *info, void *arg)
{
    chan_rows_t *rows = arg;
    json_t *json = rows->json;
    if (json) {
        json_object_open(json);
        json_key(json, "name");
        json_str(json, info->name);
        json_key(json, "capacity");
        json_int(json, info->capacity);
        json_key(json, "buffered");
        json_uint(json, info->buffered);
        json_key(json, "senders");
        json_uint(json, info->senders);
        json_key(json, "receivers");
        json_uint(json, info->receivers);
        json_key(json, "closed");
        json_bool(json, info->closed);
        json_object_close(json);
    }
    else {
        strbuf_t *sb = rows->sb;
        if (rows->n++ == 0)
            s_printf(sb, "\n%-24s %8s %8s %8s %9s  %s\n", "CHANNEL",
                     "CAPACITY", "BUFFERED", "SENDERS", "RECEIVERS", "STATE");
        s_printf(sb, "%-24.64s %8lld %8zu %8zu %9zu  %s\n", info->name,
                 (long long) info->capacity, info->buffered, info->senders,
                 info->receivers, info->closed ? "closed" : "open");
    }
}

char *
render_stats(const render_stats_t *st, chan_table_t *chans, int flags,
             size_t *size_out)
{
    const struct {
        const char *name;
        long long value;
    } rows[] = {
        {"uptime_ms", (long long) st->uptime_ms},
        {"jobs_submitted", (long long) st->submitted},
        {"jobs_queued", (long long) st->queued},
        {"jobs_running", (long long) st->running},
        {"jobs_succeeded", (long long) st->succeeded},
        {"jobs_failed", (long long) st->failed},
        {"jobs_cancelled", (long long) st->cancelled},
        {"jobs_timed_out", (long long) st->timed_out},
        {"workers", (long long) st->workers},
        {"pool_processes", (long long) st->pool_processes},
        {"capacity", (long long) st->capacity},
        {"busy", (long long) st->busy},
        {"requests", (long long) st->requests},
        {"malformed", (long long) st->malformed},
        {"undelivered", (long long) st->undelivered},
        {"channels", (long long) st->channels},
        {"channel_bytes", (long long) st->buffered_bytes},
        {"results_dropped", (long long) st->results_dropped},
        {"waitgroups", (long long) st->waitgroups},
        {"parked_clients", (long long) st->parked_clients},
        {"auth_allowed", (long long) st->auth_allowed},
        {"auth_refused", (long long) st->auth_refused},
    };
    size_t nrows = sizeof rows / sizeof rows[0];
    if (flags & RENDER_JSON) {
        json_t *json = json_new();
        json_object_open(json);
        json_key(json, "clients_endpoint");
        json_str(json, st->clients_endpoint);
        json_key(json, "workers_endpoint");
        json_str(json, st->workers_endpoint);
        for (size_t i = 0; i < nrows; i++) {
            json_key(json, rows[i].name);
            json_int(json, rows[i].value);
        }
        json_key(json, "channel_list");
        json_array_open(json);
        chan_rows_t chan_rows = {NULL, json, 0};
        if (chans)
            chan_table_each(chans, s_chan_row, &chan_rows);
        json_array_close(json);
        json_object_close(json);
        return json_finish(&json, size_out);
    }
    strbuf_t sb = {NULL, 0, 0};
    s_printf(&sb, "%-18s %s\n%-18s %s\n", "clients_endpoint",
             st->clients_endpoint, "workers_endpoint", st->workers_endpoint);
    for (size_t i = 0; i < nrows; i++)
        s_printf(&sb, "%-18s %lld\n", rows[i].name, rows[i].value);
    chan_rows_t chan_rows = {&sb, NULL, 0};
    if (chans)
        chan_table_each(chans, s_chan_row, &chan_rows);
    *size_out = sb.used;
    return sb.buf;
}
