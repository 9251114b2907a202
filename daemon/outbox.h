/*  outbox - the replies and worker messages of one loop turn, held until
    the journal has the turn's records (group commit), then sent in order.
    A client is never told "done" about a change a crash could still undo.
*/
#ifndef OUTBOX_H_INCLUDED
#define OUTBOX_H_INCLUDED

#include "goro_msg.h"

#include <stddef.h>

typedef struct outbox outbox_t;

/* Caller owns the result. */
outbox_t *outbox_new(void);
/* Drops what was not sent. */
void outbox_destroy(outbox_t **self_p);

/* Encodes MSG for SOCKET (a libzmq socket) and RID now; sends later.
   GORO_EINVAL if MSG cannot be encoded. */
int outbox_push(outbox_t *self, void *socket, const goro_rid_t *rid,
                const goro_msg_t *msg);

/* Sends everything held; returns how many could not be delivered (their
   peer is gone or not reading). */
size_t outbox_flush(outbox_t *self);

size_t outbox_size(outbox_t *self);

#endif
