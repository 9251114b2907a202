/*  waiter - parked requests and their intrusive lists. The list is
    circular through prev (head->prev is the tail), so appending is O(1)
    without a separate tail pointer in every target.
*/
#include "waiter.h"
#include "goro_util.h"

#include <stdlib.h>
#include <string.h>

waiter_t *
waiter_new(const goro_rid_t *rid, uint64_t reqid, int kind, void *target)
{
    waiter_t *self = goro_zalloc(sizeof *self);
    self->rid = *rid;
    self->reqid = reqid;
    self->target = target;
    heap_node_init(&self->deadline, kind);
    return self;
}

void
waiter_destroy(waiter_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void
waiter_list_push(waiter_t **head_p, waiter_t *w)
{
    waiter_t *head = *head_p;
    w->next = NULL;
    if (!head) {
        w->prev = w;
        *head_p = w;
        return;
    }
    w->prev = head->prev;
    head->prev->next = w;
    head->prev = w;
}

void
waiter_list_remove(waiter_t **head_p, waiter_t *w)
{
    waiter_t *head = *head_p;
    if (w == head) {
        *head_p = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    else {
        w->prev->next = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            head->prev = w->prev;
    }
    w->prev = w->next = NULL;
}
