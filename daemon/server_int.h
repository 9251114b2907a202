/*  server_int - what the pieces of the server share: struct server, the
    kinds of deadline in its heap, and the functions one piece calls in
    another. Only server*.c and reply.c include it; the replies every
    piece sends are in reply.h.

    server.c has the loop and routes each message and each deadline to
    the piece of its concept: server_jobs.c, server_workers.c,
    server_chan.c, server_wg.c, server_park.c (what every parked request
    has in common), server_journal.c. They all run on the
    loop's thread, which owns all daemon state, and change state only
    through the tables' mutators, which journal.
*/
#ifndef SERVER_INT_H_INCLUDED
#define SERVER_INT_H_INCLUDED

#include "types.h"
#include "auth.h"
#include "chan.h"
#include "client.h"
#include "config.h"
#include "heap.h"
#include "monitor.h"
#include "outbox.h"
#include "park.h"
#include "tables.h"
#include "wg.h"
#include "goro_msg.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a deadline in the heap belongs to. */
enum {
    DL_JOB = 1, /* job: run timeout, or result ttl */
    DL_WORKER,  /* worker: silence check */
    DL_POOL,    /* pool slot restart */
    DL_TICK,    /* our heartbeat to workers */
    DL_PARK,    /* parked request (park.h) */
    DL_CLIENT   /* tracked client: silence check */
};

#define SERVER_BATCH \
    256 /* messages per socket per loop turn, so \
           neither socket starves the other */
/* A frame's header and fields beyond its two largest values: a JOB or
   DONE's names and numbers, a VALUES batch's 1024 lengths. A SELECT with
   many cases must fit the frame like any other (PROTOCOL.md 10): the
   slack does not grow with the cases, because every octet of the frame
   limit is memory a peer stalled mid-frame can pin (issue 12, 14). */
#define SERVER_FRAME_SLACK (16 * 1024)
#define SERVER_TTL_RETRY_MS 1000 /* a result still tied to a worker waits */
/* Ids a LEASE may ask for at once: libgoro asks for at most 1024, and a
   larger block only spends ids a client may never use. */
#define SERVER_LEASE_MAX 65536
#define SERVER_RETRY_MIN_MS \
    100 /* first backoff after a lost worker; it \
           doubles per attempt, up to 12.8 s */

struct server {
    const config_t *cfg;
    zsock_t *clients;
    zsock_t *workers;
    char *clients_endpoint;
    char *workers_endpoint;
    heap_t *heap;
    tables_t tables; /* jobs, channels, waitgroups */
    sched_t *sched;
    worker_table_t *wtable;
    client_table_t *ctable;
    park_table_t *parks; /* every parked request */
    journal_t *journal;
    outbox_t *outbox;      /* this turn's messages, sent after the
                              journal has the turn's records */
    uint64_t compact_at;   /* journal size that triggers compaction */
    bool compacting;       /* a compaction's child runs */
    uint64_t compact_from; /* journal size when it started */
    pool_t *pool;
    auth_t *auth;               /* CURVE and its ZAP handler, or NULL */
    monitor_t *clients_monitor; /* refused connections, for the log */
    monitor_t *workers_monitor;
    heap_node_t tick;
    int sig_read, sig_write; /* self-pipe */
    bool stopping;
    int64_t stop_deadline;
    int64_t started_at;
    uint64_t epoch;          /* this run's id, in HEARTBEAT replies */
    uint64_t ids_before_run; /* job ids below it were given out by
                                earlier runs only (the journal says) */
    uint64_t requests, malformed;
    uint64_t undelivered;     /* replies to peers that were gone */
    uint64_t results_dropped; /* job results for a closed channel */
};

/* ---- server_jobs.c: jobs, dispatch, job requests ---- */

/* The ended JOB's result is kept LEFT_MS more, then forgotten. */
void server_job_keep_result(server_t *self, job_t *job, int64_t left_ms);
void server_job_ended(server_t *self, job_t *job);
void server_job_end(server_t *self, job_t *job, int state, int64_t status,
                    const char *reason);
/* JOB was running on a worker that is lost: it goes back to the queue
   after a backoff while it has attempts left, else it fails. */
void server_job_lost(server_t *self, job_t *job, const char *why);
/* DL_JOB: a run timeout, a backoff or a result's ttl is over. */
void server_job_expire(server_t *self, job_t *job);
void server_job_dispatch_worker(server_t *self, worker_t *w);
void server_job_dispatch_fn(server_t *self, const char *fn);
/* SUBMIT, STATUS, WAIT, CANCEL and RETRY. */
void server_job_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg);
/* A parked WAIT (or waiting SUBMIT) P ran out. */
void server_job_on_park_deadline(server_t *self, park_t *p);

/* ---- server_workers.c ---- */

void server_worker_on_msg(server_t *self, const goro_rid_t *rid,
                          goro_msg_t *msg);
/* DL_WORKER: lost if silent for the liveness period, else re-armed. */
void server_worker_check(server_t *self, worker_t *w);
/* The pool's exit callback (pool_exit_fn; ARG is the server): the worker
   of pool process PID, named NAME, is lost now, not at its silence. */
void server_worker_exited(void *arg, pid_t pid, const char *name);

/* ---- server_chan.c: channel operations and what they deliver ---- */

/* CHAN_SEND, CHAN_RECV, their batches and SELECT. */
void server_chan_on_msg(server_t *self, const goro_rid_t *rid,
                        goro_msg_t *msg);
/* CHAN_MAKE and CHAN_CLOSE. */
void server_chan_on_admin(server_t *self, const goro_rid_t *rid,
                          goro_msg_t *msg);
void server_chan_on_ack(server_t *self, const goro_rid_t *rid,
                        const goro_msg_t *msg);
/* Withdraws the parked channel operation P, answering CODE (WHY for
   people) if TELL; a batched send says how many of its values went. */
void server_chan_park_withdraw(server_t *self, park_t *p, bool tell, int code,
                               const char *why);
void server_chan_send_result(server_t *self, job_t *job);
/* The receiver C vanished: what it had not acknowledged goes back. */
void server_chan_client_return(server_t *self, client_t *c);

/* ---- server_wg.c ---- */

/* WG_ADD, WG_WAIT and WG_STATUS. */
void server_wg_on_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg);
/* A parked WG_WAIT P ran out. */
void server_wg_on_park_deadline(server_t *self, park_t *p);
void server_wg_job_done(server_t *self, job_t *job);

/* ---- server_park.c: what every parked request has in common ---- */

/* DL_PARK: P's deadline passed; it is answered by its concept. */
void server_park_expire(server_t *self, park_t *p);
/* Withdraws every park of client C (answering "gorod stopped" if TELL)
   and gives back what it had not acknowledged, then forgets C. */
void server_park_client_withdraw(server_t *self, client_t *c, bool tell);
/* DL_CLIENT: C is withdrawn if silent, else its check re-armed. */
void server_park_client_check(server_t *self, client_t *c);
/* At shutdown: every park answered (clients', while the clients socket
   is there) or dropped (ours). */
void server_park_withdraw_all(server_t *self);

/* ---- server_journal.c: recovery, the commit, compaction ---- */

/* Makes the empty tables. */
void server_tables_init(server_t *self);

/* Replays self->journal, which server_new opened, into the tables. */
int server_journal_recover(server_t *self, bool repair, char *err,
                           size_t err_size);
void server_journal_commit(server_t *self);
void server_journal_compact_check(server_t *self);

#endif
