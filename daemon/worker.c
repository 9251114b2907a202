/*  worker - connected workers, indexed by routing id, plus the list of
    those with free capacity.

    Picking walks that list, so it costs the number of free workers that
    don't serve the function at hand; with the usual handful of functions
    per deployment that is a short walk.
*/
#include "worker.h"
#include "job_links.h"
#include "list.h"
#include "util.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct worker_table {
    zhashx_t *by_rid; /* &w->rid -> worker, owns them */
    list_t free;      /* workers with capacity left, by their
                         free node, in turn order */
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
    worker_table_t *self = util_zalloc(sizeof *self);
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
    if (!list_contains(&self->free, &w->free))
        list_push_back(&self->free, &w->free);
}

static void
s_free_remove(worker_table_t *self, worker_t *w)
{
    if (list_contains(&self->free, &w->free))
        list_remove(&self->free, &w->free);
}

worker_t *
worker_table_add(worker_table_t *self, const goro_rid_t *rid,
                 const goro_msg_t *ready, int64_t now)
{
    worker_t *w = util_zalloc(sizeof *w);
    w->rid = *rid;
    w->name = util_strdup(ready->name ? ready->name : "");
    w->pid = ready->pid;
    w->capacity = ready->worker_capacity == 0 ? 1
                  : ready->worker_capacity > WORKER_CAPACITY_MAX
                      ? WORKER_CAPACITY_MAX
                      : (int) ready->worker_capacity;
    w->fns = util_zalloc(sizeof(char *) * (ready->nstrs + 1));
    for (size_t i = 0; i < ready->nstrs; i++)
        w->fns[i] = util_strdup(ready->strs[i]);
    w->nfns = ready->nstrs;
    w->last_seen = now;
    w->joined_at = util_wall_ms();
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
    assert(w->jobs.count == 0 && w->running == 0);
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
    job_links_t *links = job_links_ensure(job);
    links->worker = w;
    list_push_front(&w->jobs, &links->on_worker);
    if (++w->running >= w->capacity)
        s_free_remove(self, w);
}

void
worker_table_detach(worker_table_t *self, worker_t *w, job_t *job)
{
    job_links_t *links = job_links_ensure(job); /* attached: it has them */
    list_remove(&w->jobs, &links->on_worker);
    links->worker = NULL;
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
    for (list_node_t *node = self->free.head; node; node = node->next) {
        worker_t *w = LIST_ITEM(node, worker_t, free);
        if (worker_serves(w, fn)) {
            list_remove(&self->free, node); /* to the back */
            list_push_back(&self->free, node);
            return w;
        }
    }
    return NULL;
}

bool
worker_table_is_free(const worker_table_t *self, const worker_t *w)
{
    return list_contains(&self->free, &w->free);
}

job_t *
worker_newest_job(const worker_t *w)
{
    return w->jobs.head ? LIST_ITEM(w->jobs.head, job_links_t, on_worker)->job
                        : NULL;
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
