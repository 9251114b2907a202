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
    free(*item_p);
    *item_p = NULL;
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
    assert(c->nparks == 0 && !heap_node_armed(&c->expiry));
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
