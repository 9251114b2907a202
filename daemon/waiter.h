/*  waiter - a client request parked until something happens or its
    deadline passes: a WAIT for a job to end (later also channel and
    waitgroup operations). It remembers who to answer (routing id and
    request id) and sits in its target's list and in the deadline heap.
*/
#ifndef WAITER_H_INCLUDED
#define WAITER_H_INCLUDED

#include "types.h"
#include "heap.h"
#include "list.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stdint.h>

struct waiter {
    goro_rid_t rid;             /* who to answer */
    uint64_t reqid;             /* and to which request */
    heap_node_t deadline;       /* armed unless the wait is forever */
    void *target;               /* what it waits on (job, ...) */
    bool job_at_deadline;       /* a SUBMIT that waits: at its deadline
                                   it gets the JOB as it is, not an
                                   error, so the caller learns the id */
    waiter_t *prev, *next;      /* in a waitgroup's list */
    list_node_t on_target;      /* in a job's waiters (job_links.h) */
};

/* Caller owns the result; it is in no list yet. */
waiter_t *waiter_new(const goro_rid_t *rid, uint64_t reqid, int kind,
                     void *target);
void waiter_destroy(waiter_t **self_p);

/* Appends W to the list at *HEAD_P (FIFO: the first parked is first). */
void waiter_list_push(waiter_t **head_p, waiter_t *w);
/* Unlinks W from the list at *HEAD_P. */
void waiter_list_remove(waiter_t **head_p, waiter_t *w);

#endif
