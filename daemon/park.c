/*  park - parked requests and their links. A park is in its client's list
    from park_table_add to park_table_remove; gorod's own parks, which
    have no client, are in the table's own list instead, so that every
    park is reachable at shutdown.
*/
#include "park.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

struct park_table {
    heap_t *heap;            /* the server's */
    client_table_t *clients; /* the server's */
    int kind;
    list_t own; /* ours, by their client node */
    size_t count;
};

park_table_t *
park_table_new(heap_t *heap, client_table_t *clients, int kind)
{
    park_table_t *self = util_zalloc(sizeof *self);
    self->heap = heap;
    self->clients = clients;
    self->kind = kind;
    return self;
}

void
park_table_destroy(park_table_t **self_p)
{
    if (self_p && *self_p) {
        assert((*self_p)->count == 0);
        free(*self_p);
        *self_p = NULL;
    }
}

park_t *
park_new(const goro_rid_t *rid, uint64_t reqid, int cmd)
{
    park_t *self = util_zalloc(sizeof *self);
    if (rid)
        self->rid = *rid;
    self->reqid = reqid;
    self->cmd = cmd;
    heap_node_init(&self->deadline, 0);
    return self;
}

void
park_destroy(park_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void
park_table_add(park_table_t *self, park_t *p, int64_t timeout_ms)
{
    if (p->cmd) {
        p->client = client_table_hold(self->clients, &p->rid, util_now());
        list_push_back(&p->client->parks, &p->by_client);
    }
    else
        list_push_back(&self->own, &p->by_client);
    p->deadline.kind = self->kind;
    if (timeout_ms > 0)
        heap_arm(self->heap, &p->deadline, util_deadline(timeout_ms));
    self->count++;
}

void
park_wait_on(park_t *p, void *target, list_t *waiters)
{
    p->target = target;
    p->waiters = waiters;
    list_push_back(waiters, &p->by_target);
}

park_t *
park_first(const list_t *waiters)
{
    return waiters->head ? LIST_ITEM(waiters->head, park_t, by_target) : NULL;
}

void
park_table_remove(park_table_t *self, park_t **p_p)
{
    park_t *p = *p_p;
    heap_cancel(self->heap, &p->deadline);
    if (p->waiters)
        list_remove(p->waiters, &p->by_target);
    if (p->client) {
        list_remove(&p->client->parks, &p->by_client);
        client_table_release(self->clients, &p->client);
    }
    else
        list_remove(&self->own, &p->by_client);
    self->count--;
    park_destroy(p_p);
}

park_t *
park_table_first(park_table_t *self, const client_t *c)
{
    const list_t *list = c ? &c->parks : &self->own;
    return list->head ? LIST_ITEM(list->head, park_t, by_client) : NULL;
}

size_t
park_table_size(park_table_t *self)
{
    return self->count;
}
