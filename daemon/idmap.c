/*  idmap - linear probing over a power-of-two array of item pointers,
    grown at 3/4 full.

    The slot of an id is its murmur3 finaliser hash, so that ids handed
    out in sequence spread over the array instead of clustering. Slots
    keep no copy of the id: that halves the map (8 bytes a slot, not 16),
    at the price of reading the item to compare ids while probing.
*/
#include "idmap.h"
#include "util.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

struct idmap {
    void **slots; /* NULL: empty */
    size_t mask;  /* slots - 1 */
    size_t size;
    idmap_id_fn *id_of;
};

#define IDMAP_MIN_SLOTS 1024

static size_t
s_home(const idmap_t *self, uint64_t id)
{
    return util_u64_hash(&id) & self->mask;
}

idmap_t *
idmap_new(idmap_id_fn *id_of)
{
    idmap_t *self = util_zalloc(sizeof *self);
    self->slots = util_zalloc(IDMAP_MIN_SLOTS * sizeof(void *));
    self->mask = IDMAP_MIN_SLOTS - 1;
    self->id_of = id_of;
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
s_place(idmap_t *self, void *item)
{
    uint64_t id = self->id_of(item);
    size_t i = s_home(self, id);
    while (self->slots[i]) {
        assert(self->id_of(self->slots[i]) != id); /* never reused */
        i = (i + 1) & self->mask;
    }
    self->slots[i] = item;
}

static void
s_grow(idmap_t *self)
{
    void **old = self->slots;
    size_t count = self->mask + 1;
    self->slots = util_zalloc(2 * count * sizeof(void *));
    self->mask = 2 * count - 1;
    for (size_t i = 0; i < count; i++)
        if (old[i])
            s_place(self, old[i]);
    free(old);
}

void
idmap_insert(idmap_t *self, void *item)
{
    assert(item && self->id_of(item) != 0);
    if ((self->size + 1) * 4 > (self->mask + 1) * 3)
        s_grow(self);
    s_place(self, item);
    self->size++;
}

/* The slot holding ID, or the empty slot that ends its run. */
static size_t
s_find(const idmap_t *self, uint64_t id)
{
    size_t i = s_home(self, id);
    while (self->slots[i] && self->id_of(self->slots[i]) != id)
        i = (i + 1) & self->mask;
    return i;
}

void *
idmap_lookup(idmap_t *self, uint64_t id)
{
    return id ? self->slots[s_find(self, id)] : NULL;
}

void
idmap_delete(idmap_t *self, uint64_t id)
{
    if (id == 0)
        return;
    size_t i = s_find(self, id);
    if (!self->slots[i])
        return;
    self->slots[i] = NULL;
    self->size--;
    /* Backward shift: move up every later entry of the run that would no
       longer be found past the hole. */
    for (size_t j = (i + 1) & self->mask; self->slots[j];
         j = (j + 1) & self->mask) {
        size_t home = s_home(self, self->id_of(self->slots[j]));
        bool between = i <= j ? (i < home && home <= j)
                              : (i < home || home <= j);
        if (!between) {
            self->slots[i] = self->slots[j];
            self->slots[j] = NULL;
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
        void *item = self->slots[(*cursor)++];
        if (item)
            return item;
    }
    return NULL;
}
