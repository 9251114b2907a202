/*  job_links - what the rest of gorod hangs on a job while it lives: the
    worker it runs on, its deadline, the requests parked on it. None of it
    is journaled; replay never sees it, and each link has one owner, the
    module named beside it, which alone writes it.

    The job table keeps the pointer (job_extra_t.links) and frees the
    block with the job, but never looks inside: the links own nothing, so
    freeing them is a free. A job's place in its function's queue is not
    here but in job_t (queued jobs are many, and pay for every byte).
*/
#ifndef JOB_LINKS_H_INCLUDED
#define JOB_LINKS_H_INCLUDED

#include "types.h"
#include "heap.h"
#include "list.h"

#include <stdbool.h>

struct job_links {
    job_t *job;            /* the job: its deadline leads back to it */
    worker_t *worker;      /* worker.c: the worker it runs on, from
                              its start until the worker reports the
                              attempt over (or is lost) */
    list_node_t on_worker; /* worker.c: in that worker's jobs */
    heap_node_t deadline;  /* server_jobs.c: running: its timeout;
                              queued: its backoff; ended: its
                              result's ttl */
    bool delayed;          /* server_jobs.c: queued, but backing off
                              before it joins its queue */
    list_t waiters;        /* park_t by their target node; park.c
                              links and unlinks them */
};

/* For reading: JOB's links, or, if it has none yet, shared ones that say
   what fresh links would (no worker, nothing armed, nothing parked). */
const job_links_t *job_links(const job_t *job);
/* For writing: JOB's links, made (with its extra record) on first use. */
job_links_t *job_links_ensure(job_t *job);

#endif
