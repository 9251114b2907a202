/*  outbox - a growable array of encoded frames with their destination.
    Encoding happens at push, so a message's contents are fixed when the
    handler decides on them, whatever changes later in the turn.
*/
#include "outbox.h"
#include "util.h"
#include "goro_defs.h"

#include <stdlib.h>

typedef struct {
    void *socket;
    goro_rid_t rid;
    int has_rid;
    uint8_t *buf;
    size_t size;
} entry_t;

struct outbox {
    entry_t *entries;
    size_t count, alloc;
};

outbox_t *
outbox_new(void)
{
    return util_zalloc(sizeof(outbox_t));
}

void
outbox_destroy(outbox_t **self_p)
{
    if (self_p && *self_p) {
        outbox_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            free(self->entries[i].buf);
        free(self->entries);
        free(self);
        *self_p = NULL;
    }
}

int
outbox_push(outbox_t *self, void *socket, const goro_rid_t *rid,
            const goro_msg_t *msg)
{
    uint8_t *buf;
    size_t size;
    int rc = goro_msg_encode(msg, &buf, &size);
    if (rc)
        return rc;
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 256;
        self->entries = util_realloc(self->entries,
                                     self->alloc * sizeof(entry_t));
    }
    entry_t *e = &self->entries[self->count++];
    e->socket = socket;
    e->has_rid = rid != NULL;
    if (rid)
        e->rid = *rid;
    e->buf = buf;
    e->size = size;
    return GORO_OK;
}

size_t
outbox_flush(outbox_t *self)
{
    size_t failed = 0;
    for (size_t i = 0; i < self->count; i++) {
        entry_t *e = &self->entries[i];
        if (goro_msg_send_encoded(e->socket, e->has_rid ? &e->rid : NULL,
                                  &e->buf, e->size))
            failed++;
    }
    self->count = 0;
    return failed;
}

size_t
outbox_size(outbox_t *self)
{
    return self->count;
}
