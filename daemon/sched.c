/*  sched - per-function FIFO queues of jobs.

    "Waited longest" across functions is the lowest id among the queue
    heads: ids grow with submission, and a requeued job goes back to the
    head of its queue with its original id.
*/
#include "sched.h"
#include "job.h"
#include "list.h"
#include "util.h"

#include <czmq.h>
#include <stdlib.h>

struct sched {
    zhashx_t *queues; /* function name -> list_t of job_t */
    size_t total;
};

static void
s_queue_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

sched_t *
sched_new(void)
{
    sched_t *self = util_zalloc(sizeof *self);
    self->queues = zhashx_new();
    zhashx_set_destructor(self->queues, s_queue_free);
    return self;
}

void
sched_destroy(sched_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->queues);
        free(*self_p);
        *self_p = NULL;
    }
}

static list_t *
s_queue(sched_t *self, const char *fn)
{
    list_t *queue = zhashx_lookup(self->queues, fn);
    if (!queue) {
        queue = util_zalloc(sizeof *queue);
        zhashx_insert(self->queues, fn, queue);
    }
    return queue;
}

void
sched_push(sched_t *self, job_t *job)
{
    list_push_back(s_queue(self, job->fn), &job->queued);
    self->total++;
}

void
sched_push_front(sched_t *self, job_t *job)
{
    list_push_front(s_queue(self, job->fn), &job->queued);
    self->total++;
}

void
sched_remove(sched_t *self, job_t *job)
{
    list_t *queue = zhashx_lookup(self->queues, job->fn);
    if (!queue)
        return;
    list_remove(queue, &job->queued);
    self->total--;
    if (queue->count == 0) /* names come from clients: don't pile up */
        zhashx_delete(self->queues, job->fn);
}

job_t *
sched_pop_any(sched_t *self, char *const *fns, size_t nfns)
{
    job_t *best = NULL;
    for (size_t i = 0; i < nfns; i++) {
        list_t *queue = zhashx_lookup(self->queues, fns[i]);
        job_t *head = queue && queue->head
                          ? LIST_ITEM(queue->head, job_t, queued)
                          : NULL;
        if (head && (!best || head->id < best->id))
            best = head;
    }
    if (best)
        sched_remove(self, best);
    return best;
}

size_t
sched_queued(sched_t *self, const char *fn)
{
    list_t *queue = zhashx_lookup(self->queues, fn);
    return queue ? queue->count : 0;
}

size_t
sched_total(sched_t *self)
{
    return self->total;
}
