/*  render - the daemon's listings for people and scripts: jobs, workers
    and stats as aligned text or as JSON. Read-only over the tables.
*/
#ifndef RENDER_H_INCLUDED
#define RENDER_H_INCLUDED

#include "types.h"
#include "chan.h"

#include <stddef.h>
#include <stdint.h>

#define RENDER_JSON 1   /* GORO_LIST_JSON */
#define RENDER_FAILED 2 /* GORO_LIST_FAILED */
#define RENDER_JOBS_MAX \
    10000 /* newest jobs listed; keeps a reply well \
             under limits.max_message */

/* Daemon-wide numbers for `goro stats`. */
typedef struct {
    int64_t uptime_ms;
    uint64_t submitted;
    size_t queued, running, succeeded, failed, cancelled, timed_out;
    size_t workers, pool_processes;
    int64_t capacity, busy;
    uint64_t requests, malformed, undelivered;
    size_t channels, waitgroups, parked_clients;
    uint64_t buffered_bytes, results_dropped;
    uint64_t auth_allowed, auth_refused;
    const char *clients_endpoint, *workers_endpoint;
} render_stats_t;

/* Each returns a new NUL-terminated text; caller frees it. */
char *render_jobs(job_table_t *jobs, int flags, size_t *size_out);
char *render_workers(worker_table_t *workers, pool_t *pool, int64_t now,
                     int flags, size_t *size_out);
/* With CHANS non-NULL, one line (or JSON object) per channel follows. */
char *render_stats(const render_stats_t *stats, chan_table_t *chans, int flags,
                   size_t *size_out);

#endif
