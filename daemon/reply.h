/*  reply - the messages gorod sends: replies to clients and commands to
    workers. Every handler (server*.c) answers through here; this module
    calls no handler, so replying never re-enters the server's state.
    Each message goes to the outbox, which sends it after the journal has
    the turn's records.

    The first argument of each is the server whose sockets, outbox and
    run id it uses.
*/
#ifndef REPLY_H_INCLUDED
#define REPLY_H_INCLUDED

#include "types.h"
#include "goro_msg.h"

#include <czmq.h>
#include <stdint.h>

/* MSG to RID on SOCK (self->clients or self->workers). MSG stays the
   caller's. */
void reply_send(server_t *self, zsock_t *sock, goro_msg_t *msg,
                const goro_rid_t *rid);
/* ERROR CODE to client RID for request REQID, with a text made from
   FORMAT. */
void reply_error(server_t *self, const goro_rid_t *rid, uint64_t reqid,
                 int code, const char *format, ...)
    __attribute__((format(printf, 5, 6)));
/* OK (with ID) to client RID for request REQID. */
void reply_ok(server_t *self, const goro_rid_t *rid, uint64_t reqid,
              uint64_t id);
/* CMD (DISPATCH, KILL or HEARTBEAT) to worker W, about JOB if not NULL. */
void reply_worker(server_t *self, worker_t *w, int cmd, const job_t *job);

#endif
