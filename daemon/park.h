/*  park - every request gorod answers later, in one shape: a channel
    operation (send, receive, select, their batches), a WAIT or a SUBMIT
    that waits for its job, a WG_WAIT, and gorod's own sends of job
    results on their result channels.

    A park remembers who to answer and sits in up to three places, each
    through a link of its own: its client's list (client.c: a client that
    goes silent or says DISCONNECT has every park withdrawn), the list of
    what it waits for (a job's or a waitgroup's waiters; a channel
    operation waits in the channel table instead, through its
    chan_park_t), and the deadline heap when it has a timeout. The park
    table makes and breaks all of these links, so that a park removed
    leaves no trace in any of them.

    Not here: what a park is answered (server*.c), what matches (chan.c).
*/
#ifndef PARK_H_INCLUDED
#define PARK_H_INCLUDED

#include "types.h"
#include "chan.h"
#include "client.h"
#include "heap.h"
#include "list.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct park_table park_table_t;

struct park {
    goro_rid_t rid;        /* who to answer (ours: nobody) */
    uint64_t reqid;        /* and to which request */
    int cmd;               /* the request's command; 0: ours */
    heap_node_t deadline;  /* armed unless it waits forever */
    client_t *client;      /* NULL for ours */
    list_node_t by_client; /* in its client's parks, or our own */
    list_t *waiters;       /* the list it waits in, or NULL */
    list_node_t by_target; /* in *WAITERS */
    void *target;          /* the job or waitgroup it waits for */
    chan_park_t *chan;     /* a channel operation's park in the
                              channel table, until it fires or is
                              withdrawn */
    uint64_t job_id;       /* ours: the job whose result it sends */
    bool job_at_deadline;  /* a SUBMIT that waits: at its deadline
                              it gets the JOB as it is, not an
                              error, so the caller learns the id */
};

/* Caller owns the result. Deadlines go to HEAP as nodes of kind KIND;
   clients are tracked in CLIENTS. */
park_table_t *park_table_new(heap_t *heap, client_table_t *clients, int kind);
/* Every park must have been removed. */
void park_table_destroy(park_table_t **self_p);

/* A park for request REQID of CMD from the client at RID, or ours if CMD
   is 0 (RID is then NULL); in no list yet. Caller owns the result until
   it is added, or frees it with park_destroy if the request did not
   park. */
park_t *park_new(const goro_rid_t *rid, uint64_t reqid, int cmd);
void park_destroy(park_t **self_p);

/* P is parked: the table owns it, tracks its client (ours: in the own
   list) and arms its deadline TIMEOUT_MS from now if TIMEOUT_MS > 0. */
void park_table_add(park_table_t *self, park_t *p, int64_t timeout_ms);

/* P waits for TARGET in TARGET's list WAITERS, after those there. */
void park_wait_on(park_t *p, void *target, list_t *waiters);
/* The first park in WAITERS, NULL if none. */
park_t *park_first(const list_t *waiters);

/* Removes *P_P from every list and the heap, frees it and sets *P_P to
   NULL; its client is forgotten once it holds nothing more. */
void park_table_remove(park_table_t *self, park_t **p_p);

/* C's first park, or our own first with C NULL; NULL if none. */
park_t *park_table_first(park_table_t *self, const client_t *c);

/* Parks added and not removed. */
size_t park_table_size(park_table_t *self);

#endif
