/*  worker - the daemon's table of connected workers: who they are (their
    routing id on the workers socket), which functions they serve, how many
    jobs they run and may run, when they were last heard from.

    Workers with free capacity sit in a list that dispatch walks from the
    front, moving the one it picks to the back, so jobs spread over
    workers in turn. That list and each worker's list of running jobs
    are worker.c's: nothing else links or unlinks them.
*/
#ifndef WORKER_H_INCLUDED
#define WORKER_H_INCLUDED

#include "types.h"
#include "heap.h"
#include "list.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_CAPACITY_MAX 4096 /* goro-worker's own concurrency limit */

struct worker {
    goro_rid_t rid; /* routing id on the workers socket */
    char *name;     /* label the worker gave */
    uint32_t pid;
    int capacity; /* jobs at once */
    int running;
    char **fns; /* functions served */
    size_t nfns;
    list_t jobs;        /* running: job_links_t by on_worker,
                           newest first */
    int64_t last_seen;  /* monotonic ms of the last message */
    int64_t joined_at;  /* wall-clock ms */
    uint64_t finished;  /* jobs it ended */
    heap_node_t expiry; /* silence deadline */
    list_node_t free;   /* in the table's list of workers with
                           capacity left */
    bool draining;      /* said DISCONNECT: no new jobs */
};

/* Caller owns the result. */
worker_table_t *worker_table_new(void);
void worker_table_destroy(worker_table_t **self_p);

/* Registers a worker from its READY. Owned by the table. */
worker_t *worker_table_add(worker_table_t *self, const goro_rid_t *rid,
                           const goro_msg_t *ready, int64_t now);
worker_t *worker_table_lookup(worker_table_t *self, const goro_rid_t *rid);
/* Forgets W; its jobs must have been taken off it. */
void worker_table_remove(worker_table_t *self, worker_t **w_p);

bool worker_serves(const worker_t *w, const char *fn);

/* W is leaving: it gets no more jobs but may finish the ones it has. */
void worker_table_drain(worker_table_t *self, worker_t *w);

/* Links JOB as running on W / unlinks it (its links' worker and
   on_worker); keeps the free list right. */
void worker_table_attach(worker_table_t *self, worker_t *w, job_t *job);
void worker_table_detach(worker_table_t *self, worker_t *w, job_t *job);

/* The first worker with free capacity serving FN, or NULL. It moves to
   the back of the list, so the next job goes to another. */
worker_t *worker_table_pick(worker_table_t *self, const char *fn);

/* The newest of W's running jobs, NULL if it runs none. */
job_t *worker_newest_job(const worker_t *w);
/* Whether W is in the list of workers dispatch picks from. */
bool worker_table_is_free(const worker_table_t *self, const worker_t *w);

size_t worker_table_size(worker_table_t *self);
worker_t *worker_table_first(worker_table_t *self);
worker_t *worker_table_next(worker_table_t *self);

#endif
