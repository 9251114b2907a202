/*  client - parked clients by routing id, with their last sign of life.
    The hash is keyed on the routing id bytes, as the worker table is.
*/
#include "client.h"
#include "goro_util.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct client_table {
    zhashx_t *by_rid;           /* &c->rid -> client, owns them */
    int kind;
};

static void
s_client_free(void **item_p)
{
    client_t *c = *item_p;
    if (c) {
        free(c->deliveries);
        free(c);
        *item_p = NULL;
    }
}

client_table_t *
client_table_new(int kind)
{
    client_table_t *self = goro_zalloc(sizeof *self);
    self->by_rid = zhashx_new();
    zhashx_set_key_hasher(self->by_rid, goro_rid_hash);
    zhashx_set_key_comparator(self->by_rid, goro_rid_compare);
    zhashx_set_key_duplicator(self->by_rid, NULL);
    zhashx_set_key_destructor(self->by_rid, NULL);
    zhashx_set_destructor(self->by_rid, s_client_free);
    self->kind = kind;
    return self;
}

void
client_table_destroy(client_table_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->by_rid);
        free(*self_p);
        *self_p = NULL;
    }
}

client_t *
client_table_get(client_table_t *self, const goro_rid_t *rid, int64_t now)
{
    client_t *c = zhashx_lookup(self->by_rid, rid);
    if (!c) {
        c = goro_zalloc(sizeof *c);
        c->rid = *rid;
        heap_node_init(&c->expiry, self->kind);
        zhashx_insert(self->by_rid, &c->rid, c);
    }
    c->last_seen = now;
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
client_table_remove(client_table_t *self, client_t **c_p)
{
    client_t *c = *c_p;
    assert(c->nparks == 0 && c->ndeliveries == 0
           && !heap_node_armed(&c->expiry));
    zhashx_delete(self->by_rid, &c->rid);
    *c_p = NULL;
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

void
client_delivery_add(client_t *c, uint64_t id)
{
    if (c->ndeliveries == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 8;
        c->deliveries = goro_realloc(c->deliveries,
                                     c->alloc * sizeof(uint64_t));
    }
    c->deliveries[c->ndeliveries++] = id;
}

/* Acks come back in the order the values went out, so the search ends
   at the first entry nearly always. */
bool
client_delivery_remove(client_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->ndeliveries; i++)
        if (c->deliveries[i] == id) {
            memmove(c->deliveries + i, c->deliveries + i + 1,
                    (c->ndeliveries - i - 1) * sizeof(uint64_t));
            c->ndeliveries--;
            return true;
        }
    return false;
}
