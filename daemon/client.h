/*  client - the clients that have operations parked in the daemon, and
    when each was last heard from. A client that has been silent for the
    liveness period while parked is gone: the server withdraws what it had
    parked, so a vanished receiver is never handed a value and a vanished
    sender's value never appears.

    Values it received and has not acknowledged are tracked too: if it
    vanishes, they go back to their channels.

    Clients with nothing parked or delivered are not tracked at all: a
    plain request needs no state here.
*/
#ifndef CLIENT_H_INCLUDED
#define CLIENT_H_INCLUDED

#include "types.h"
#include "heap.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct client client_t;
typedef struct client_table client_table_t;

struct client {
    goro_rid_t rid;
    int64_t last_seen;          /* monotonic ms */
    heap_node_t expiry;         /* silence check */
    void *parks;                /* the server's list of parked operations */
    size_t nparks;
    uint64_t *deliveries;       /* values it got and has not acked */
    size_t ndeliveries, alloc;
    bool pinned;                /* being withdrawn: not freed meanwhile */
};

/* Caller owns the result. Clients get heap kind KIND on their expiry. */
client_table_t *client_table_new(int kind);
void client_table_destroy(client_table_t **self_p);

/* The client at RID, made if absent; owned by the table. */
client_t *client_table_get(client_table_t *self, const goro_rid_t *rid,
                           int64_t now);
client_t *client_table_lookup(client_table_t *self, const goro_rid_t *rid);
/* Notes a sign of life from RID, if it is tracked. */
void client_table_touch(client_table_t *self, const goro_rid_t *rid,
                        int64_t now);
/* Notes that C was handed delivery ID / that it acknowledged ID (false
   if C was not handed ID). */
void client_delivery_add(client_t *c, uint64_t id);
bool client_delivery_remove(client_t *c, uint64_t id);

/* Forgets C (nothing of it may still be parked or delivered). */
void client_table_remove(client_table_t *self, client_t **c_p);

size_t client_table_size(client_table_t *self);
/* Any tracked client, or NULL: for draining the table at shutdown. */
client_t *client_table_first(client_table_t *self);

#endif
