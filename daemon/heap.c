/*  heap - binary min-heap of embedded deadline nodes keyed by (at, seq).

    The sequence number makes equal deadlines fire in arming order, which
    keeps parked requests with the same deadline first come, first served.
*/
#include "heap.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

struct heap {
    heap_node_t **nodes;
    size_t size, alloc;
    uint64_t next_seq;
};

heap_t *
heap_new(void)
{
    return util_zalloc(sizeof(heap_t));
}

void
heap_destroy(heap_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->nodes);
        free(*self_p);
        *self_p = NULL;
    }
}

void
heap_node_init(heap_node_t *node, int kind)
{
    node->at = 0;
    node->index = HEAP_NONE;
    node->seq = 0;
    node->kind = kind;
}

int
heap_node_armed(const heap_node_t *node)
{
    return node->index != HEAP_NONE;
}

static int
s_less(const heap_node_t *a, const heap_node_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
s_set(heap_t *self, size_t index, heap_node_t *node)
{
    self->nodes[index] = node;
    node->index = index;
}

static void
s_sift_up(heap_t *self, size_t index)
{
    heap_node_t *node = self->nodes[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (!s_less(node, self->nodes[parent]))
            break;
        s_set(self, index, self->nodes[parent]);
        index = parent;
    }
    s_set(self, index, node);
}

static void
s_sift_down(heap_t *self, size_t index)
{
    heap_node_t *node = self->nodes[index];
    for (;;) {
        size_t child = index * 2 + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size
            && s_less(self->nodes[child + 1], self->nodes[child]))
            child++;
        if (!s_less(self->nodes[child], node))
            break;
        s_set(self, index, self->nodes[child]);
        index = child;
    }
    s_set(self, index, node);
}

void
heap_cancel(heap_t *self, heap_node_t *node)
{
    if (node->index == HEAP_NONE)
        return;
    size_t index = node->index;
    assert(index < self->size && self->nodes[index] == node);
    node->index = HEAP_NONE;
    self->size--;
    if (index == self->size)
        return;
    heap_node_t *moved = self->nodes[self->size];
    s_set(self, index, moved);
    s_sift_up(self, index);
    s_sift_down(self, moved->index);
}

void
heap_arm(heap_t *self, heap_node_t *node, int64_t at)
{
    heap_cancel(self, node);
    if (self->size == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 64;
        self->nodes = util_realloc(self->nodes,
                                   self->alloc * sizeof *self->nodes);
    }
    node->at = at;
    node->seq = self->next_seq++;
    s_set(self, self->size++, node);
    s_sift_up(self, node->index);
}

heap_node_t *
heap_peek(heap_t *self)
{
    return self->size ? self->nodes[0] : NULL;
}

heap_node_t *
heap_pop_due(heap_t *self, int64_t now)
{
    heap_node_t *node = heap_peek(self);
    if (!node || node->at > now)
        return NULL;
    heap_cancel(self, node);
    return node;
}

int64_t
heap_timeout_ms(heap_t *self, int64_t now)
{
    heap_node_t *node = heap_peek(self);
    if (!node)
        return -1;
    return node->at > now ? node->at - now : 0;
}

size_t
heap_size(heap_t *self)
{
    return self->size;
}
