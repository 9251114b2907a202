/*  worker - connected workers, indexed by routing id, plus the ring of
    those with free capacity.

    Picking walks the ring, so it costs the number of free workers that
    don't serve the function at hand; with the usual handful of functions
    per deployment that is a short walk.
*/
#include "worker.h"
#include "job.h"
#include "goro_util.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct worker_table {
    zhashx_t *by_rid;           /* &w->rid -> worker, owns them */
    worker_t *free_head;        /* ring of workers with capacity left */
};

static void
s_worker_free(void **item_p)
{
    worker_t *w = *item_p;
    if (w) {
        for (size_t i = 0; i < w->nfns; i++)
            free(w->fns[i]);
        free(w->fns);
        free(w->name);
        free(w);
        *item_p = NULL;
    }
}

worker_table_t *
worker_table_new(void)
{
    worker_table_t *self = goro_zalloc(sizeof *self);
    self->by_rid = zhashx_new();
    zhashx_set_key_hasher(self->by_rid, goro_rid_hash);
    zhashx_set_key_comparator(self->by_rid, goro_rid_compare);
    zhashx_set_key_duplicator(self->by_rid, NULL);
    zhashx_set_key_destructor(self->by_rid, NULL);
    zhashx_set_destructor(self->by_rid, s_worker_free);
    return self;
}

void
worker_table_destroy(worker_table_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->by_rid);
        free(*self_p);
        *self_p = NULL;
    }
}

static void
s_free_add(worker_table_t *self, worker_t *w)
{
    if (w->in_free)
        return;
    w->in_free = true;
    if (!self->free_head) {
        w->free_prev = w->free_next = w;
        self->free_head = w;
        return;
    }
    w->free_next = self->free_head;         /* at the back of the ring */
    w->free_prev = self->free_head->free_prev;
    w->free_prev->free_next = w;
    self->free_head->free_prev = w;
}

static void
s_free_remove(worker_table_t *self, worker_t *w)
{
    if (!w->in_free)
        return;
    w->in_free = false;
    if (w->free_next == w)
        self->free_head = NULL;
    else {
        w->free_prev->free_next = w->free_next;
        w->free_next->free_prev = w->free_prev;
        if (self->free_head == w)
            self->free_head = w->free_next;
    }
    w->free_prev = w->free_next = NULL;
}

worker_t *
worker_table_add(worker_table_t *self, const goro_rid_t *rid,
                 const goro_msg_t *ready, int64_t now)
{
    worker_t *w = goro_zalloc(sizeof *w);
    w->rid = *rid;
    w->name = goro_strdup(ready->name ? ready->name : "");
    w->pid = ready->pid;
    w->capacity = ready->capacity32 == 0 ? 1
                  : ready->capacity32 > WORKER_CAPACITY_MAX ? WORKER_CAPACITY_MAX
                  : (int) ready->capacity32;
    w->fns = goro_zalloc(sizeof(char *) * (ready->nstrs + 1));
    for (size_t i = 0; i < ready->nstrs; i++)
        w->fns[i] = goro_strdup(ready->strs[i]);
    w->nfns = ready->nstrs;
    w->last_seen = now;
    w->joined_at = goro_wall_ms();
    heap_node_init(&w->expiry, 0);
    zhashx_insert(self->by_rid, &w->rid, w);
    s_free_add(self, w);
    return w;
}

worker_t *
worker_table_lookup(worker_table_t *self, const goro_rid_t *rid)
{
    return zhashx_lookup(self->by_rid, rid);
}

void
worker_table_remove(worker_table_t *self, worker_t **w_p)
{
    worker_t *w = *w_p;
    assert(!w->jobs && w->running == 0);
    s_free_remove(self, w);
    zhashx_delete(self->by_rid, &w->rid);
    *w_p = NULL;
}

bool
worker_serves(const worker_t *w, const char *fn)
{
    for (size_t i = 0; i < w->nfns; i++)
        if (strcmp(w->fns[i], fn) == 0)
            return true;
    return false;
}

void
worker_table_attach(worker_table_t *self, worker_t *w, job_t *job)
{
    job_extra_ensure(job)->worker = w;     /* started: it has one */
    job->prev = NULL;
    job->next = w->jobs;
    if (w->jobs)
        w->jobs->prev = job;
    w->jobs = job;
    if (++w->running >= w->capacity)
        s_free_remove(self, w);
}

void
worker_table_detach(worker_table_t *self, worker_t *w, job_t *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        w->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
    job_extra_ensure(job)->worker = NULL;
    if (--w->running < w->capacity && !w->draining)
        s_free_add(self, w);
}

void
worker_table_drain(worker_table_t *self, worker_t *w)
{
    w->draining = true;
    s_free_remove(self, w);
}

worker_t *
worker_table_pick(worker_table_t *self, const char *fn)
{
    worker_t *w = self->free_head;
    if (!w)
        return NULL;
    do {
        if (worker_serves(w, fn)) {
            s_free_remove(self, w);             /* to the back of the ring */
            s_free_add(self, w);
            return w;
        }
        w = w->free_next;
    } while (w != self->free_head);
    return NULL;
}

size_t
worker_table_size(worker_table_t *self)
{
    return zhashx_size(self->by_rid);
}

worker_t *
worker_table_first(worker_table_t *self)
{
    return zhashx_first(self->by_rid);
}

worker_t *
worker_table_next(worker_table_t *self)
{
    return zhashx_next(self->by_rid);
}
