/*  render - text and JSON listings. Text is for a terminal (aligned
    columns); JSON is one document a script can parse, with the same
    fields under stable names.
*/
#include "render.h"
#include "job.h"
#include "pool.h"
#include "worker.h"
#include "goro_util.h"
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

static void
s_printf(strbuf_t *sb, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_printf(strbuf_t *sb, const char *format, ...)
{
    for (;;) {
        va_list args;
        va_start(args, format);
        size_t room = sb->size - sb->used;
        int len = vsnprintf(sb->buf ? sb->buf + sb->used : NULL, room,
                            format, args);
        va_end(args);
        if (len < 0)
            return;
        if ((size_t) len < room) {
            sb->used += (size_t) len;
            return;
        }
        sb->size = (sb->size + (size_t) len + 1) * 2;
        sb->buf = goro_realloc(sb->buf, sb->size);
    }
}

/* A JSON string literal of TEXT (which may hold any bytes). */
static void
s_json_str(strbuf_t *sb, const char *text)
{
    s_printf(sb, "\"");
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p == '"' || *p == '\\')
            s_printf(sb, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            s_printf(sb, "\\u%04x", *p);
        else
            s_printf(sb, "%c", *p);
    }
    s_printf(sb, "\"");
}

static char *
s_finish(strbuf_t *sb, size_t *size_out)
{
    if (!sb->buf)
        s_printf(sb, "%s", "");
    *size_out = sb->used;
    return sb->buf;
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

char *
render_jobs(job_table_t *jobs, int flags, size_t *size_out)
{
    size_t total = 0;
    for (int s = 1; s < JOB_STATES; s++)
        total += job_table_count(jobs, s);
    collect_t c = {goro_zalloc(sizeof(job_t *) * (total + 1)), 0, flags};
    job_table_each(jobs, s_collect, &c);
    qsort(c.jobs, c.count, sizeof(job_t *), s_by_id);
    size_t first = c.count > RENDER_JOBS_MAX ? c.count - RENDER_JOBS_MAX : 0;
    strbuf_t sb = {NULL, 0, 0};
    if (flags & RENDER_JSON)
        s_printf(&sb, "[");
    else
        s_printf(&sb, "%-10s %-10s %-16s %8s %6s %10s\n", "ID", "STATE",
                 "FUNCTION", "ATTEMPTS", "STATUS", "RUNTIME");
    for (size_t i = first; i < c.count; i++) {
        job_t *job = c.jobs[i];
        const job_extra_t *extra = job_extra(job);
        if (flags & RENDER_JSON) {
            s_printf(&sb, "%s{\"id\":%llu,\"state\":\"%s\",\"function\":",
                     i > first ? "," : "", (unsigned long long) job->id,
                     goro_job_state_name(job->state));
            s_json_str(&sb, job->fn);
            s_printf(&sb, ",\"attempts\":%d,\"status\":%lld,"
                     "\"runtime_ms\":%lld}", extra->attempt,
                     (long long) extra->status, (long long) extra->runtime_ms);
        }
        else {
            char status[24] = "-";
            if (extra->status >= 0)
                snprintf(status, sizeof status, "%lld",
                         (long long) extra->status);
            s_printf(&sb, "%-10llu %-10s %-16.64s %8d %6s %8lldms\n",
                     (unsigned long long) job->id,
                     goro_job_state_name(job->state), job->fn, extra->attempt,
                     status, (long long) extra->runtime_ms);
        }
    }
    if (flags & RENDER_JSON)
        s_printf(&sb, "]\n");
    else if (first)
        s_printf(&sb, "(%zu older jobs not shown)\n", first);
    free(c.jobs);
    return s_finish(&sb, size_out);
}

char *
render_workers(worker_table_t *workers, pool_t *pool, int64_t now,
               int flags, size_t *size_out)
{
    strbuf_t sb = {NULL, 0, 0};
    bool json = flags & RENDER_JSON;
    if (json)
        s_printf(&sb, "[");
    else
        s_printf(&sb, "%-24s %8s %-10s %8s %8s %9s  %s\n", "NAME", "PID",
                 "POOL", "RUNNING", "CAPACITY", "FINISHED", "FUNCTIONS");
    int n = 0;
    for (worker_t *w = worker_table_first(workers); w;
         w = worker_table_next(workers), n++) {
        const char *pool_name = pool_name_of(pool, (pid_t) w->pid);
        if (json) {
            s_printf(&sb, "%s{\"name\":", n ? "," : "");
            s_json_str(&sb, w->name);
            s_printf(&sb, ",\"pid\":%u,\"pool\":", w->pid);
            if (pool_name)
                s_json_str(&sb, pool_name);
            else
                s_printf(&sb, "null");
            s_printf(&sb, ",\"running\":%d,\"capacity\":%d,\"finished\":"
                     "%llu,\"last_seen_ms\":%lld,\"functions\":[",
                     w->running, w->capacity,
                     (unsigned long long) w->finished,
                     (long long) (now - w->last_seen));
            for (size_t i = 0; i < w->nfns; i++) {
                s_printf(&sb, "%s", i ? "," : "");
                s_json_str(&sb, w->fns[i]);
            }
            s_printf(&sb, "]}");
        }
        else {
            s_printf(&sb, "%-24.64s %8u %-10.32s %8d %8d %9llu  ", w->name,
                     w->pid, pool_name ? pool_name : "(remote)", w->running,
                     w->capacity, (unsigned long long) w->finished);
            for (size_t i = 0; i < w->nfns; i++)
                s_printf(&sb, "%s%s", i ? "," : "", w->fns[i]);
            s_printf(&sb, "\n");
        }
    }
    s_printf(&sb, json ? "]\n" : "");
    return s_finish(&sb, size_out);
}

typedef struct {
    strbuf_t *sb;
    bool json;
    int n;
} chan_rows_t;

static void
s_chan_row(const chan_info_t *info, void *arg)
{
    chan_rows_t *rows = arg;
    strbuf_t *sb = rows->sb;
    if (rows->json) {
        s_printf(sb, "%s{\"name\":", rows->n++ ? "," : "");
        s_json_str(sb, info->name);
        s_printf(sb, ",\"capacity\":%lld,\"buffered\":%zu,\"senders\":%zu,"
                 "\"receivers\":%zu,\"closed\":%s}", (long long) info->capacity,
                 info->buffered, info->senders, info->receivers,
                 info->closed ? "true" : "false");
    }
    else {
        if (rows->n++ == 0)
            s_printf(sb, "\n%-24s %8s %8s %8s %9s  %s\n", "CHANNEL", "CAPACITY",
                     "BUFFERED", "SENDERS", "RECEIVERS", "STATE");
        s_printf(sb, "%-24.64s %8lld %8zu %8zu %9zu  %s\n", info->name,
                 (long long) info->capacity, info->buffered, info->senders,
                 info->receivers, info->closed ? "closed" : "open");
    }
}

char *
render_stats(const render_stats_t *st, chan_table_t *chans, int flags,
             size_t *size_out)
{
    strbuf_t sb = {NULL, 0, 0};
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
        s_printf(&sb, "{\"clients_endpoint\":");
        s_json_str(&sb, st->clients_endpoint);
        s_printf(&sb, ",\"workers_endpoint\":");
        s_json_str(&sb, st->workers_endpoint);
        for (size_t i = 0; i < nrows; i++)
            s_printf(&sb, ",\"%s\":%lld", rows[i].name, rows[i].value);
        s_printf(&sb, ",\"channel_list\":[");
        chan_rows_t chan_rows = {&sb, true, 0};
        if (chans)
            chan_table_each(chans, s_chan_row, &chan_rows);
        s_printf(&sb, "]}\n");
    }
    else {
        s_printf(&sb, "%-18s %s\n%-18s %s\n", "clients_endpoint",
                 st->clients_endpoint, "workers_endpoint",
                 st->workers_endpoint);
        for (size_t i = 0; i < nrows; i++)
            s_printf(&sb, "%-18s %lld\n", rows[i].name, rows[i].value);
        chan_rows_t chan_rows = {&sb, false, 0};
        if (chans)
            chan_table_each(chans, s_chan_row, &chan_rows);
    }
    return s_finish(&sb, size_out);
}
