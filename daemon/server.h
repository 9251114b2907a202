/*  server - gorod's event loop: the two ROUTER sockets (clients and
    workers), the signal pipe and the deadline heap, and the handlers that
    turn messages into calls on the tables (jobs, queues, workers) and the
    tables' results into replies. It is the only module that both reads
    tables and touches sockets, and its thread owns all daemon state.
    server.c has the loop; the handlers are in server_*.c, by concept.
*/
#ifndef SERVER_H_INCLUDED
#define SERVER_H_INCLUDED

#include "types.h"
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* Locks the journal of CFG (which it keeps, not owns), binds its
   endpoints and replays the journal. WORKER_CMD is the default local
   worker command. REPAIR drops a corrupt journal's tail instead of
   refusing to start. NULL, with a line in ERR, if another gorod has the
   journal, it is unreadable or corrupt, or an endpoint cannot be bound.
   Caller owns the result. */
server_t *server_new(const config_t *cfg, const char *worker_cmd, bool repair,
                     char *err, size_t err_size);
void server_destroy(server_t **self_p);

/* The endpoints as bound (a "*" port resolved). */
const char *server_clients_endpoint(server_t *self);
const char *server_workers_endpoint(server_t *self);

/* Runs until SIGTERM/SIGINT and the shutdown that follows. Returns 0. */
int server_run(server_t *self);

#endif
