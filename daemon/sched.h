/*  sched - the queues of queued jobs, one FIFO per function, and the
    choice of which queued job a worker with free capacity runs next.

    Jobs are linked in through their own node (job_t.queued, which is
    sched's alone), so removing a cancelled job from the middle of its
    queue is O(1). sched decides order only; the server starts the jobs
    it picks.
*/
#ifndef SCHED_H_INCLUDED
#define SCHED_H_INCLUDED

#include "types.h"

#include <stddef.h>

/* Caller owns the result. */
sched_t *sched_new(void);
/* The jobs themselves belong to the job table. */
void sched_destroy(sched_t **self_p);

/* Appends JOB to its function's queue. */
void sched_push(sched_t *self, job_t *job);
/* Puts JOB first in its function's queue: a job whose worker was lost
   was first in line before, and goes on being so. */
void sched_push_front(sched_t *self, job_t *job);
/* Takes JOB out of its queue. */
void sched_remove(sched_t *self, job_t *job);

/* The job that has waited longest among the functions FNS, taken out of
   its queue; NULL if none is queued. */
job_t *sched_pop_any(sched_t *self, char *const *fns, size_t nfns);

/* Queued jobs of function FN, and in all. */
size_t sched_queued(sched_t *self, const char *fn);
size_t sched_total(sched_t *self);

#endif
