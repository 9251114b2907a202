/*  client - tracked clients by routing id, with their last sign of life.
    The hash is keyed on the routing id bytes, as the worker table is.
*/
#include "client.h"
#include "util.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>

struct client_table {
    zhashx_t *by_rid; /* &c->rid -> client, owns them */
    heap_t *heap;     /* the server's: silence checks */
    int kind;
    int64_t liveness_ms;
};

static void
s_client_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

client_table_t *
client_table_new(heap_t *heap, int kind, int64_t liveness_ms)
{
    client_table_t *self = util_zalloc(sizeof *self);
    self->by_rid = zhashx_new();
    zhashx_set_key_hasher(self->by_rid, goro_rid_hash);
    zhashx_set_key_comparator(self->by_rid, goro_rid_compare);
    zhashx_set_key_duplicator(self->by_rid, NULL);
    zhashx_set_key_destructor(self->by_rid, NULL);
    zhashx_set_destructor(self->by_rid, s_client_free);
    self->heap = heap;
    self->kind = kind;
    self->liveness_ms = liveness_ms;
    return self;
}

void
client_table_destroy(client_table_t **self_p)
{
    if (self_p && *self_p) {
        assert(zhashx_size((*self_p)->by_rid) == 0);
        zhashx_destroy(&(*self_p)->by_rid);
        free(*self_p);
        *self_p = NULL;
    }
}

client_t *
client_table_hold(client_table_t *self, const goro_rid_t *rid, int64_t now)
{
    client_t *c = zhashx_lookup(self->by_rid, rid);
    if (!c) {
        c = util_zalloc(sizeof *c);
        c->rid = *rid;
        heap_node_init(&c->expiry, self->kind);
        zhashx_insert(self->by_rid, &c->rid, c);
    }
    c->last_seen = now;
    if (!heap_node_armed(&c->expiry))
        heap_arm(self->heap, &c->expiry, now + self->liveness_ms);
    return c;
}

client_t *
client_table_lookup(client_table_t *self, const goro_rid_t *rid)
{
    return zhashx_lookup(self->by_rid, rid);
}

void
client_table_touch(client_table_t *self, const goro_rid_t *rid, int64_t now)
{
    client_t *c = zhashx_lookup(self->by_rid, rid);
    if (c)
        c->last_seen = now;
}

void
client_table_release(client_table_t *self, client_t **c_p)
{
    client_t *c = *c_p;
    if (c->parks.count || c->deliveries.count || c->pinned)
        return;
    heap_cancel(self->heap, &c->expiry);
    zhashx_delete(self->by_rid, &c->rid);
    *c_p = NULL;
}

/* The check is armed once, at the first hold, and moved on here rather
   than at every message: a busy client costs one store per message. */
bool
client_table_silent(client_table_t *self, client_t *c, int64_t now)
{
    int64_t due = c->last_seen + self->liveness_ms;
    if (now >= due)
        return true;
    heap_arm(self->heap, &c->expiry, due);
    return false;
}

size_t
client_table_size(client_table_t *self)
{
    return zhashx_size(self->by_rid);
}

client_t *
client_table_first(client_table_t *self)
{
    return zhashx_first(self->by_rid);
}
