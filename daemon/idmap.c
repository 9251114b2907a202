/*  idmap - linear probing over a power-of-two array, grown at 3/4 full.

    The slot of an id is its murmur3 finaliser hash, so that ids handed
    out in sequence spread over the array instead of clustering.
*/
#include "idmap.h"
#include "goro_util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct {
    uint64_t id;                /* 0: empty */
    void *item;
} slot_t;

struct idmap {
    slot_t *slots;
    size_t mask;                /* slots - 1 */
    size_t size;
};

#define IDMAP_MIN_SLOTS 1024

static size_t
s_home(const idmap_t *self, uint64_t id)
{
    return goro_u64_hash(&id) & self->mask;
}

idmap_t *
idmap_new(void)
{
    idmap_t *self = goro_zalloc(sizeof *self);
    self->slots = goro_zalloc(IDMAP_MIN_SLOTS * sizeof(slot_t));
    self->mask = IDMAP_MIN_SLOTS - 1;
    return self;
}

void
idmap_destroy(idmap_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->slots);
        free(*self_p);
        *self_p = NULL;
    }
}

static void
s_place(idmap_t *self, uint64_t id, void *item)
{
    size_t i = s_home(self, id);
    while (self->slots[i].id) {
        assert(self->slots[i].id != id);    /* ids are never reused */
        i = (i + 1) & self->mask;
    }
    self->slots[i].id = id;
    self->slots[i].item = item;
}

static void
s_grow(idmap_t *self)
{
    slot_t *old = self->slots;
    size_t count = self->mask + 1;
    self->slots = goro_zalloc(2 * count * sizeof(slot_t));
    self->mask = 2 * count - 1;
    for (size_t i = 0; i < count; i++)
        if (old[i].id)
            s_place(self, old[i].id, old[i].item);
    free(old);
}

void
idmap_insert(idmap_t *self, uint64_t id, void *item)
{
    assert(id != 0);
    if ((self->size + 1) * 4 > (self->mask + 1) * 3)
        s_grow(self);
    s_place(self, id, item);
    self->size++;
}

void *
idmap_lookup(idmap_t *self, uint64_t id)
{
    if (id == 0)
        return NULL;
    for (size_t i = s_home(self, id); self->slots[i].id;
         i = (i + 1) & self->mask)
        if (self->slots[i].id == id)
            return self->slots[i].item;
    return NULL;
}

void
idmap_delete(idmap_t *self, uint64_t id)
{
    if (id == 0)
        return;
    size_t i = s_home(self, id);
    while (self->slots[i].id && self->slots[i].id != id)
        i = (i + 1) & self->mask;
    if (!self->slots[i].id)
        return;
    self->slots[i].id = 0;
    self->size--;
    /* Backward shift: move up every later entry of the run that would no
       longer be found past the hole. */
    for (size_t j = (i + 1) & self->mask; self->slots[j].id;
         j = (j + 1) & self->mask) {
        size_t home = s_home(self, self->slots[j].id);
        bool between = i <= j ? (i < home && home <= j)
                              : (i < home || home <= j);
        if (!between) {
            self->slots[i] = self->slots[j];
            self->slots[j].id = 0;
            i = j;
        }
    }
}

size_t
idmap_size(idmap_t *self)
{
    return self->size;
}

void *
idmap_next(idmap_t *self, size_t *cursor)
{
    while (*cursor <= self->mask) {
        slot_t *slot = &self->slots[(*cursor)++];
        if (slot->id)
            return slot->item;
    }
    return NULL;
}
