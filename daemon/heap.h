/*  heap - the daemon's one deadline structure: a binary min-heap of nodes
    embedded in the objects that have deadlines (jobs, workers, parked
    requests, pool restarts). Each node remembers its index, so arming,
    re-arming and cancelling are O(log n) (beanstalkd's heap.c setpos).

    The heap orders and hands back nodes; what a deadline means is up to
    its owner, told apart by KIND.
*/
#ifndef HEAP_H_INCLUDED
#define HEAP_H_INCLUDED

#include "types.h"

#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE ((size_t) -1)

struct heap_node {
    int64_t at;   /* monotonic ms */
    size_t index; /* position in the heap, HEAP_NONE if out */
    uint64_t seq; /* arming order: ties fire first-in first */
    int kind;     /* what the owner stored; heap ignores it */
};

/* Caller owns the result. */
heap_t *heap_new(void);
void heap_destroy(heap_t **self_p);

/* A node is out of any heap until armed. */
void heap_node_init(heap_node_t *node, int kind);
int heap_node_armed(const heap_node_t *node);

/* Arms NODE for AT, moving it if it was armed already. */
void heap_arm(heap_t *self, heap_node_t *node, int64_t at);
/* Takes NODE out; harmless if it is not armed. */
void heap_cancel(heap_t *self, heap_node_t *node);

/* The earliest node, or NULL. */
heap_node_t *heap_peek(heap_t *self);
/* Takes out and returns the earliest node due at NOW, or NULL. */
heap_node_t *heap_pop_due(heap_t *self, int64_t now);

/* Milliseconds until the earliest node (0 if due), -1 if empty. */
int64_t heap_timeout_ms(heap_t *self, int64_t now);

size_t heap_size(heap_t *self);

#endif
