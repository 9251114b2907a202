/*  pool - the supervisor of gorod's local worker processes: it starts
    pools[].processes of each pool's command, restarts one that dies after
    a backoff (100 ms doubling to 10 s, reset once it has run 10 s), and
    stops them all when gorod exits.

    The pool only manages processes; the workers join over the workers
    socket like any remote worker.
*/
#ifndef POOL_H_INCLUDED
#define POOL_H_INCLUDED

#include "types.h"
#include "config.h"

#include <stdint.h>
#include <sys/types.h>

/* Restart deadlines go in HEAP with heap kind KIND. Caller owns the
   result. WORKER_CMD is the default command (goro-worker beside gorod).
   CERT and SERVER_CERT (or NULL) go to the children as $GORO_CERT and
   $GORO_SERVER_CERT. */
pool_t *pool_new(const config_t *cfg, const char *worker_cmd,
                 const char *workers_endpoint, const char *cert,
                 const char *server_cert, heap_t *heap, int kind);
void pool_destroy(pool_t **self_p);

/* Starts every process. */
void pool_start(pool_t *self);

/* Told of each pool process that exited: its pid and the name it was
   started with (--name POOL/N), which its worker gives in READY. */
typedef void(pool_exit_fn)(void *arg, pid_t pid, const char *name);

/* Reaps exited children (after SIGCHLD), tells ON_EXIT (if not NULL)
   with ARG, and arms their restarts. */
void pool_reap(pool_t *self, pool_exit_fn *on_exit, void *arg);

/* A restart deadline of this pool's kind fired. */
void pool_on_deadline(pool_t *self, heap_node_t *node);

/* SIGTERMs every process, waits up to GRACE_MS, then SIGKILLs. */
void pool_stop(pool_t *self, int64_t grace_ms);

/* The pool name of local process PID, or NULL for a remote worker. */
const char *pool_name_of(pool_t *self, pid_t pid);

/* Processes running now. */
size_t pool_alive(pool_t *self);

#endif
