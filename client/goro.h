/*  goro.h - the one public header of libgoro.

    libgoro connects a C program to gorod: it submits jobs ("goroutines"),
    waits for their results, uses channels and waitgroups, and serves app
    functions as a worker. Handles are opaque; every fallible call returns
    GORO_OK (0) or a positive GORO_E* code that goro_strerror() explains.
    Timeouts are milliseconds: -1 waits forever, 0 tries once.

    The vocabulary it shares with gorod (error codes, job states, case
    ops, waitgroup numbers, listing flags, version) is in goro_defs.h,
    installed beside it. Both include only standard headers: no ZeroMQ
    or czmq types.
    A goro_t is not thread safe; use one per thread.
*/
#ifndef GORO_H_INCLUDED
#define GORO_H_INCLUDED

#include "goro_defs.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The endpoint used when neither an argument nor $GORO_ENDPOINT names one. */
#define GORO_DEFAULT_ENDPOINT "tcp://127.0.0.1:7700"

/* Frees a buffer that libgoro returned. */
GORO_EXPORT void goro_free(void *ptr);

/* ------------------------------------------------------------------ */
/*  Client                                                            */
/* ------------------------------------------------------------------ */

typedef struct goro goro_t;

/* Connects lazily to ENDPOINT (NULL: $GORO_ENDPOINT, else the default).
   Caller owns the result. NULL only if the endpoint is malformed. */
GORO_EXPORT goro_t *goro_new(const char *endpoint);
GORO_EXPORT void goro_destroy(goro_t **self_p);

/* Non-zero: libgoro prints what it sends and receives to stderr. */
GORO_EXPORT void goro_set_verbose(goro_t *self, int verbose);

/* CURVE: CERT is our secret certificate (PATH_secret as `goro keygen`
   wrote it), SERVER_CERT gorod's public one. goro_new() takes them from
   $GORO_CERT and $GORO_SERVER_CERT. Both NULL: plain connections.
   GORO_EINVAL if one is missing or unreadable, GORO_EDENIED if the
   secret file is readable by others. Takes effect on the next call. */
GORO_EXPORT int goro_set_curve(goro_t *self, const char *cert,
                               const char *server_cert);

/* Writes a new certificate pair: PATH (public, to give gorod) and
   PATH_secret (mode 0600, to keep). */
GORO_EXPORT int goro_keygen(const char *path);

/* gorod's own words for the last call's error (e.g. "no channel X for
   the job's result"), or NULL if it failed locally or did not fail.
   Owned by SELF, valid until the next call. */
GORO_EXPORT const char *goro_last_error(goro_t *self);

/* The endpoint this handle uses. */
GORO_EXPORT const char *goro_endpoint(goro_t *self);

/* GORO_OK when the daemon answers within TIMEOUT_MS, else
   GORO_EUNAVAILABLE. */
GORO_EXPORT int goro_ping(goro_t *self, int64_t timeout_ms);

/* Options of a submission. Zero-initialise (or use GORO_OPTS_INIT); zero
   fields take the daemon's defaults. */
typedef struct {
    const char *wg;          /* waitgroup: Add(1) now, Done() at the end */
    const char *result_chan; /* channel that receives the job's output */
    const char *key;         /* idempotency key: resubmits return the id */
    int64_t timeout_ms;      /* run-time limit per attempt; 0: none */
    int max_attempts;        /* 0: jobs.max_attempts from the config */
} goro_opts_t;

#define GORO_OPTS_INIT \
    { \
        NULL, NULL, NULL, 0, 0 \
    }

/* Submits a job running function FN on DATA (LEN bytes) and returns its id
   in *ID_OUT without waiting for it to run. Errors: GORO_ETOOBIG,
   GORO_EDENIED, GORO_EFULL, GORO_EUNAVAILABLE, GORO_EINVAL, GORO_ENOTFOUND
   (no result channel).

   Pipelined, as Go's `go f()` does not wait: the first submission of a
   client, and any with OPTS->key, wait for gorod's answer; later ones take
   their id from a block of ids the client leases from gorod (16 at first,
   doubling up to 1024) and return once sent, as goro_wg_done does (up to
   256 unanswered). gorod applies them in order, before anything the same
   client sends later (a goro_job_status or goro_job_wait of the id on
   this client finds the job; another client may not before goro_flush
   returned). What gorod refuses comes back later, once, as for
   goro_wg_add: from goro_flush (or goro_wg_wait / goro_wg_status), or
   from a later goro_go once the answer is in, with goro_last_error()
   saying why; the refused job does not exist. A submission is accepted (and
   with journal.fsync: always, on disk) once goro_flush returned GORO_OK
   after it. Ids are unique and increase per client, but a client that
   stops before using its whole lease leaves a gap. */
GORO_EXPORT int goro_go(goro_t *self, const char *fn, const void *data,
                        size_t len, const goro_opts_t *opts, uint64_t *id_out);

/* Submits an `exec` job: ARGV (NULL-terminated) runs on a worker without a
   shell. */
GORO_EXPORT int goro_go_exec(goro_t *self, const char *const *argv,
                             const goro_opts_t *opts, uint64_t *id_out);

/* A job's state and, once it has ended, its result. */
typedef struct goro_job goro_job_t;

/* Submits a job and waits up to TIMEOUT_MS (-1 or 0: as long as it
   takes) for it to end, in one round trip with gorod (Gearman's `do`).
   Caller owns *JOB_OUT: the ended job, or, with GORO_ETIMEDOUT, the job
   as it is (its id, its state); it goes on. Other errors as goro_go(). */
GORO_EXPORT int goro_run(goro_t *self, const char *fn, const void *data,
                         size_t len, const goro_opts_t *opts,
                         int64_t timeout_ms, goro_job_t **job_out);

/* goro_run() of an `exec` job. */
GORO_EXPORT int goro_run_exec(goro_t *self, const char *const *argv,
                              const goro_opts_t *opts, int64_t timeout_ms,
                              goro_job_t **job_out);

/* Submits COUNT jobs of function FN with many requests in flight, so the
   rate is not bound by round trips. DATAS[i]/LENS[i] is job i's payload;
   IDS_OUT[i] gets its id (0 where that submission failed). Returns the
   first error met, GORO_OK if all were accepted. */
GORO_EXPORT int goro_go_many(goro_t *self, const char *fn, size_t count,
                             const void *const *datas, const size_t *lens,
                             const goro_opts_t *opts, uint64_t *ids_out);


/* Fetches job ID's state now. Caller owns *JOB_OUT. GORO_ENOTFOUND if the
   id is unknown or its result expired. */
GORO_EXPORT int goro_job_status(goro_t *self, uint64_t id,
                                goro_job_t **job_out);

/* Waits up to TIMEOUT_MS for job ID to end, then as goro_job_status. A
   job still running at the timeout gives GORO_ETIMEDOUT; the job goes
   on. */
GORO_EXPORT int goro_job_wait(goro_t *self, uint64_t id, int64_t timeout_ms,
                              goro_job_t **job_out);

/* Cancels a queued or running job. GORO_ESTATE if it already ended. */
GORO_EXPORT int goro_job_cancel(goro_t *self, uint64_t id);

/* Puts an ended job that failed, was cancelled or timed out back in the
   queue with fresh attempts. GORO_ESTATE otherwise. */
GORO_EXPORT int goro_job_retry(goro_t *self, uint64_t id);

GORO_EXPORT void goro_job_destroy(goro_job_t **self_p);
GORO_EXPORT uint64_t goro_job_id(const goro_job_t *self);
GORO_EXPORT int goro_job_state(const goro_job_t *self);
GORO_EXPORT const char *goro_job_fn(const goro_job_t *self);
/* Attempts started so far. */
GORO_EXPORT int goro_job_attempts(const goro_job_t *self);
/* exec: the exit status (128+N if killed by signal N); app function: the
   handler's return value. -1 while the job has not ended. */
GORO_EXPORT int goro_job_exit_status(const goro_job_t *self);
/* exec: stdout; app function: the reply. Owned by the job. */
GORO_EXPORT const void *
goro_job_output(const goro_job_t *self, size_t *len_out);
/* exec: stderr; app function: the error text. Owned by the job. */
GORO_EXPORT const void *goro_job_error(const goro_job_t *self,
                                       size_t *len_out);
/* Run time of the last attempt in milliseconds. */
GORO_EXPORT int64_t goro_job_runtime_ms(const goro_job_t *self);

/* Listings rendered by the daemon as text for people (JSON when
   GORO_LIST_JSON is set; GORO_LIST_FAILED: jobs that failed, were
   cancelled or timed out). Caller frees *TEXT_OUT with goro_free(). */
GORO_EXPORT int goro_jobs_list(goro_t *self, int flags, char **text_out);
GORO_EXPORT int goro_workers_list(goro_t *self, int flags, char **text_out);
GORO_EXPORT int goro_stats(goro_t *self, int flags, char **text_out);

/* ------------------------------------------------------------------ */
/*  Channels                                                          */
/* ------------------------------------------------------------------ */

/* Makes channel NAME with CAPACITY (0: unbuffered). Making an existing
   channel with the same capacity is a no-op; another capacity gives
   GORO_EEXIST. */
GORO_EXPORT int goro_chan_make(goro_t *self, const char *name,
                               int64_t capacity);

/* Sends LEN bytes. Errors: GORO_ETIMEDOUT (nothing was sent),
   GORO_ECLOSED, GORO_ENOTFOUND, GORO_ETOOBIG, GORO_EFULL.
   On a buffered channel a send that finds room returns without waiting
   for gorod: each send's answer says how much room the channel has, and
   while that room (less the sends since) lasts, the next sends on the
   same channel are pipelined, in order, as goro_go's are. Such a send
   returns GORO_OK once it left; if gorod refuses it (the channel was
   closed by another client meanwhile, or is gone), the error comes back
   once, from the next send on a channel without room, goro_flush, or a
   later pipelined call, and the value never appears. The value is in
   the channel (with journal.fsync: always, on disk) once goro_flush
   returned GORO_OK after it. A send with no room known waits as Go's,
   up to TIMEOUT_MS; unbuffered channels always rendezvous. Closing a
   channel from this client first makes its own later sends wait, so
   they see GORO_ECLOSED at once. */
GORO_EXPORT int goro_chan_send(goro_t *self, const char *name,
                               const void *data, size_t len,
                               int64_t timeout_ms);

/* Receives a value: *DATA_OUT is a new buffer the caller frees with
   goro_free(). GORO_ECLOSED once the channel is closed and drained,
   GORO_ETIMEDOUT when nothing came (nothing was taken).
   Consecutive receives from one channel read ahead: a receive asks gorod
   for up to twice as many values as the one before (1, 2, ... 64); the
   ones it does not return are held here, still counted as buffered in
   the channel, and the next receives from that channel return them
   without a round trip. Any other call on this client that may wait
   (but a send), a receive from another channel, goro_destroy, 500 ms
   without talking to gorod, or a dropped connection give them back to
   the channel's head, in order; so does our death, once gorod notices
   our silence. */
GORO_EXPORT int goro_chan_recv(goro_t *self, const char *name,
                               int64_t timeout_ms, void **data_out,
                               size_t *len_out);

/* Closes NAME. GORO_ECLOSED if it was closed already. */
GORO_EXPORT int goro_chan_close(goro_t *self, const char *name);

/* Sends COUNT values in order, as COUNT goro_chan_send calls one after
   the other would, but many values to a request (up to 1024 and 256 KiB
   a frame). gorod hands them to waiting receivers, then puts in the
   buffer what fits; the rest waits, still in order, until receivers make
   room. TIMEOUT_MS bounds the whole call. *SENT_OUT gets how many were
   sent, always the first *SENT_OUT of them: GORO_OK (all), GORO_ETIMEDOUT
   (the rest were not sent), GORO_ECLOSED (closed before the rest went),
   GORO_ENOTFOUND, GORO_ETOOBIG, GORO_EFULL. */
GORO_EXPORT int goro_chan_send_many(
    goro_t *self, const char *name, size_t count, const void *const *datas,
    const size_t *lens, int64_t timeout_ms, size_t *sent_out);

/* Receives, in one request, every value available now, in channel order,
   at most MAX (and at most 1024, and limits.max_message bytes together):
   what that many goro_chan_recv calls would get without waiting. If
   none is there it waits up to TIMEOUT_MS for the next send and returns
   what that makes available. GORO_OK: DATAS_OUT[i]/LENS_OUT[i] for i
   below *GOT_OUT, at least one (each freed with goro_free()).
   GORO_ECLOSED once the channel is closed and drained, GORO_ETIMEDOUT
   when nothing came (nothing was taken); *GOT_OUT is 0 then. The batch
   is acknowledged as a whole: until gorod has the acknowledgement, it
   would put all of it back at the channel's head were we to vanish. */
GORO_EXPORT int goro_chan_recv_many(goro_t *self, const char *name, size_t max,
                                    int64_t timeout_ms, void **datas_out,
                                    size_t *lens_out, size_t *got_out);

/* One case of a select. For a send, DATA/LEN is the value; for a receive
   that fires, DATA/LEN get the value (caller frees DATA with goro_free())
   and CLOSED is set when the channel was closed and drained instead. */
typedef struct {
    int op;
    const char *chan;
    void *data;
    size_t len;
    int closed;
} goro_case_t;

/* Waits until exactly one case happens and stores its index in *FIRED;
   among ready cases one is chosen uniformly at random. TIMEOUT_MS 0 is
   Go's default: GORO_ETIMEDOUT at once if none is ready. A send case on a
   closed channel fires with GORO_ECLOSED. */
GORO_EXPORT int goro_select(goro_t *self, goro_case_t *cases, size_t count,
                            int64_t timeout_ms, size_t *fired);

/* ------------------------------------------------------------------ */
/*  WaitGroups                                                        */
/* ------------------------------------------------------------------ */

/* Adds DELTA (may be negative) to waitgroup NAME; goro_wg_done adds -1.
   Both are pipelined, as Go's wg.Add and wg.Done do not wait: they send
   and return at once, up to 256 unanswered on one client, so a loop of
   them is not bound by round trips. gorod applies them in order, before
   anything the same client sends later (a goro_wg_wait after them sees
   them). What gorod says of one comes later: GORO_ENEGATIVE (counter
   unchanged) if it would take the counter below zero, GORO_EUNAVAILABLE
   if the connection or gorod's run was lost with some unanswered (they
   may or may not have been applied). That error, the first since the
   last report, is returned once, with goro_last_error() saying which, by
   goro_flush, goro_wg_wait or goro_wg_status on this client, or sooner
   by a goro_wg_add or goro_wg_done made after the answer arrived; a call
   that returns it did not do its own work. GORO_EINVAL at once for a bad
   NAME. */
GORO_EXPORT int goro_wg_add(goro_t *self, const char *name, int64_t delta);
GORO_EXPORT int goro_wg_done(goro_t *self, const char *name);

/* Waits until gorod has answered every pipelined call of this client
   (goro_go, goro_go_exec, goro_wg_add, goro_wg_done): GORO_OK once all
   were applied (and, with journal.fsync: always, are on disk), else their
   first error as above. goro_destroy flushes too, without reporting; a
   program that exits without either may lose what it sent last. */
GORO_EXPORT int goro_flush(goro_t *self);

/* Returns GORO_OK once the counter is zero (at once if it is, also for a
   name never used), GORO_ETIMEDOUT otherwise. */
GORO_EXPORT int goro_wg_wait(goro_t *self, const char *name,
                             int64_t timeout_ms);

GORO_EXPORT int goro_wg_status(goro_t *self, const char *name,
                               goro_wg_info_t *info_out);

/* ------------------------------------------------------------------ */
/*  Workers: serve app functions                                      */
/* ------------------------------------------------------------------ */

typedef struct goro_worker goro_worker_t;
typedef struct goro_call goro_call_t;

/* A handler runs one job. It returns 0 for success, anything else for
   failure (the job's exit status). It may call goro_call_reply() once. */
typedef int goro_handler_fn(goro_call_t *call, void *arg);

/* Payload of the job. Owned by the call. */
GORO_EXPORT const void *goro_call_data(goro_call_t *call, size_t *len_out);
GORO_EXPORT uint64_t goro_call_job_id(goro_call_t *call);
GORO_EXPORT int goro_call_attempt(goro_call_t *call);
/* Sets the job's output (its result and what --chan sends). Copies. */
GORO_EXPORT void goro_call_reply(goro_call_t *call, const void *data,
                                 size_t len);
/* Sets the job's error text. Copies. */
GORO_EXPORT void goro_call_error(goro_call_t *call, const char *text);
/* Non-zero once the job was cancelled or timed out; handlers that run long
   should check it and return. */
GORO_EXPORT int goro_call_cancelled(goro_call_t *call);
/* A client handle on the same daemon, for channels, waitgroups and new
   jobs from inside a handler. Owned by the call's thread. */
GORO_EXPORT goro_t *goro_call_client(goro_call_t *call);

/* A worker for the daemon's worker endpoint ENDPOINT (NULL: $GORO_WORKERS,
   else tcp://127.0.0.1:7701). Caller owns it. */
GORO_EXPORT goro_worker_t *goro_worker_new(const char *endpoint);
GORO_EXPORT void goro_worker_destroy(goro_worker_t **self_p);

/* Serves function NAME with HANDLER. Call before goro_worker_serve(). */
GORO_EXPORT int goro_worker_register(goro_worker_t *self, const char *name,
                                     goro_handler_fn *handler, void *arg);

/* Also runs built-in `exec` jobs (goro-worker does this). Outputs (exec's
   stdout and stderr, a handler's reply and error text) are cut at the
   daemon's jobs.exec.max_output, which it sends when the worker joins,
   or at MAX_OUTPUT bytes if that is smaller; 0: the daemon's alone. */
GORO_EXPORT int
goro_worker_enable_exec(goro_worker_t *self, size_t max_output);

/* Jobs at once (threads); default 1. With 1, a handler may run on the
   thread that called goro_worker_serve() as well as on the job thread. */
GORO_EXPORT int goro_worker_set_concurrency(goro_worker_t *self, int n);

/* Jobs the daemon may hand this worker beyond its concurrency; they wait
   here for a free thread (default 0). For many short jobs it saves a
   round trip per job. The cost: a prefetched job's timeout runs while it
   waits, and it cannot move to another worker that becomes free first.
   Concurrency plus prefetch is at most 4096. */
GORO_EXPORT int goro_worker_set_prefetch(goro_worker_t *self, int n);

/* A label shown by `goro workers` (default: host:pid). */
GORO_EXPORT int goro_worker_set_name(goro_worker_t *self, const char *name);

GORO_EXPORT void goro_worker_set_verbose(goro_worker_t *self, int verbose);

/* CURVE for the worker's connection, as goro_set_curve(); goro_worker_new()
   takes $GORO_CERT and $GORO_SERVER_CERT. The clients that handlers get
   from goro_call_client() use the same certificate, so a worker whose
   handlers use channels needs its key allowed for clients as well. */
GORO_EXPORT int goro_worker_set_curve(goro_worker_t *self, const char *cert,
                                      const char *server_cert);

/* Serves jobs until goro_worker_stop() or SIGINT/SIGTERM; reconnects when
   the daemon goes away. Running jobs finish before it returns. */
GORO_EXPORT int goro_worker_serve(goro_worker_t *self);

/* Asks serve to return. Safe from a signal handler or another thread. */
GORO_EXPORT void goro_worker_stop(goro_worker_t *self);

#ifdef __cplusplus
}
#endif

#endif
