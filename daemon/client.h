/*  client - the clients gorod holds something for, and when each was last
    heard from: requests it parked (park.c) and values it received and has
    not acknowledged (chan.c's deliveries). A client silent for the
    liveness period is gone: the server withdraws its parks, so that a
    vanished receiver is never handed a value, a vanished sender's value
    never appears and nothing is answered to nobody, and gives its
    unacknowledged values back to their channels.

    The table tracks liveness only; what a client holds sits in two lists
    whose items belong to other modules. Clients holding nothing are not
    tracked at all: a plain request needs no state here.
*/
#ifndef CLIENT_H_INCLUDED
#define CLIENT_H_INCLUDED

#include "types.h"
#include "heap.h"
#include "list.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct client client_t;
typedef struct client_table client_table_t;

struct client {
    goro_rid_t rid;
    int64_t last_seen;  /* monotonic ms */
    heap_node_t expiry; /* silence check */
    list_t parks;       /* park_t by their client node; park.c
                           links and unlinks them */
    list_t deliveries;  /* chan.c's deliveries it holds, by their
                           holder node; chan.c links them */
    bool pinned;        /* being withdrawn: not freed meanwhile */
};

/* Caller owns the result. A client is silent after LIVENESS_MS without a
   message; its silence check is a node of kind KIND in HEAP. */
client_table_t *client_table_new(heap_t *heap, int kind, int64_t liveness_ms);
/* Every client must have been released. */
void client_table_destroy(client_table_t **self_p);

/* The client at RID, tracked from now on (made if absent, seen NOW) with
   its silence check armed; owned by the table. */
client_t *client_table_hold(client_table_t *self, const goro_rid_t *rid,
                            int64_t now);
client_t *client_table_lookup(client_table_t *self, const goro_rid_t *rid);
/* Notes a sign of life from RID, if it is tracked. */
void client_table_touch(client_table_t *self, const goro_rid_t *rid,
                        int64_t now);

/* Forgets *C_P (and sets it to NULL) if it holds nothing any more and is
   not pinned. */
void client_table_release(client_table_t *self, client_t **c_p);

/* C's silence check is due at NOW: true if C has been silent for the
   liveness period, else false with the check armed again. */
bool client_table_silent(client_table_t *self, client_t *c, int64_t now);

size_t client_table_size(client_table_t *self);
/* Any tracked client, or NULL: for draining the table at shutdown. */
client_t *client_table_first(client_table_t *self);

#endif
