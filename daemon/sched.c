/*  sched - per-function FIFO queues of jobs.

    "Waited longest" across functions is the lowest id among the queue
    heads: ids grow with submission, and a requeued job goes back to the
    head of its queue with its original id.
*/
#include "sched.h"
#include "job.h"
#include "goro_util.h"

#include <czmq.h>
#include <stdlib.h>

typedef struct {
    job_t *head, *tail;
    size_t count;
} queue_t;

struct sched {
    zhashx_t *queues;           /* function name -> queue_t */
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
    sched_t *self = goro_zalloc(sizeof *self);
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

static queue_t *
s_queue(sched_t *self, const char *fn)
{
    queue_t *queue = zhashx_lookup(self->queues, fn);
    if (!queue) {
        queue = goro_zalloc(sizeof *queue);
        zhashx_insert(self->queues, fn, queue);
    }
    return queue;
}

void
sched_push(sched_t *self, job_t *job)
{
    queue_t *queue = s_queue(self, job->fn);
    job->next = NULL;
    job->prev = queue->tail;
    if (queue->tail)
        queue->tail->next = job;
    else
        queue->head = job;
    queue->tail = job;
    queue->count++;
    self->total++;
}

void
sched_push_front(sched_t *self, job_t *job)
{
    queue_t *queue = s_queue(self, job->fn);
    job->prev = NULL;
    job->next = queue->head;
    if (queue->head)
        queue->head->prev = job;
    else
        queue->tail = job;
    queue->head = job;
    queue->count++;
    self->total++;
}

void
sched_remove(sched_t *self, job_t *job)
{
    queue_t *queue = zhashx_lookup(self->queues, job->fn);
    if (!queue)
        return;
    if (job->prev)
        job->prev->next = job->next;
    else
        queue->head = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else
        queue->tail = job->prev;
    job->prev = job->next = NULL;
    queue->count--;
    self->total--;
    if (queue->count == 0)      /* names come from clients: don't pile up */
        zhashx_delete(self->queues, job->fn);
}

job_t *
sched_pop_any(sched_t *self, char *const *fns, size_t nfns)
{
    job_t *best = NULL;
    for (size_t i = 0; i < nfns; i++) {
        queue_t *queue = zhashx_lookup(self->queues, fns[i]);
        if (queue && queue->head && (!best || queue->head->id < best->id))
            best = queue->head;
    }
    if (best)
        sched_remove(self, best);
    return best;
}

size_t
sched_queued(sched_t *self, const char *fn)
{
    queue_t *queue = zhashx_lookup(self->queues, fn);
    return queue ? queue->count : 0;
}

size_t
sched_total(sched_t *self)
{
    return self->total;
}
