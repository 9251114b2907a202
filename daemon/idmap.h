/*  idmap - a hash map from 64-bit ids to pointers, for tables that hold
    very many small objects (a million queued jobs): open addressing with
    linear probing, 8 bytes a slot, no allocation per entry, deletion by
    backward shift (no tombstones). A slot holds only the item; its id is
    read from the item itself, so items must keep their id while in the
    map. Id 0 is never stored.
*/
#ifndef IDMAP_H_INCLUDED
#define IDMAP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct idmap idmap_t;

/* The id of an item in the map. */
typedef uint64_t idmap_id_fn(const void *item);

/* ID_OF tells the items' ids. Caller owns the result. */
idmap_t *idmap_new(idmap_id_fn *id_of);
/* The items are the caller's. */
void idmap_destroy(idmap_t **self_p);

/* Adds ITEM, whose id must not be in the map yet, nor 0. */
void idmap_insert(idmap_t *self, void *item);
void *idmap_lookup(idmap_t *self, uint64_t id);
/* Takes ID out; harmless if absent. */
void idmap_delete(idmap_t *self, uint64_t id);
size_t idmap_size(idmap_t *self);

/* Iteration, in no order; the map must not change meanwhile. CURSOR
   starts at 0; NULL when done. */
void *idmap_next(idmap_t *self, size_t *cursor);

#endif
