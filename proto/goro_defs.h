/*  goro_defs.h - the vocabulary that gorod, the codec and libgoro share:
    error codes, job states, select's case ops, a waitgroup's numbers,
    the listing flags, and the version.

    It lives with the codec because the codes and states travel on the
    wire (PROTOCOL.md), so both ends must mean the same by them. gorod
    and proto/ include this header and never client/goro.h; goro.h
    includes it, and it is installed beside goro.h. Like goro.h it
    includes only standard headers.
*/
#ifndef GORO_DEFS_H_INCLUDED
#define GORO_DEFS_H_INCLUDED

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GORO_VERSION_MAJOR 0
#define GORO_VERSION_MINOR 1
#define GORO_VERSION_PATCH 0

#if defined(GORO_BUILDING) && defined(__GNUC__)
#define GORO_EXPORT __attribute__((visibility("default")))
#else
#define GORO_EXPORT
#endif

/* Error codes. The numbers are also the wire error codes (PROTOCOL.md), so
   they never change meaning; new codes are appended. */
typedef enum {
    GORO_OK = 0,
    GORO_EINVAL = 1,       /* bad argument or malformed request */
    GORO_ENOTFOUND = 2,    /* no such job, channel or group */
    GORO_EEXIST = 3,       /* already exists with other properties */
    GORO_ETIMEDOUT = 4,    /* the timeout passed first */
    GORO_ECLOSED = 5,      /* the channel is closed */
    GORO_ENEGATIVE = 6,    /* the waitgroup counter would go below zero */
    GORO_ETOOBIG = 7,      /* a value or payload exceeds limits.max_message */
    GORO_EDENIED = 8,      /* refused by policy (exec disabled, not allowed) */
    GORO_EUNAVAILABLE = 9, /* the daemon cannot be reached or is stopping */
    GORO_EPROTO = 10,      /* a peer sent a message we cannot decode */
    GORO_EFULL = 11,       /* a configured capacity is used up */
    GORO_ESTATE = 12,      /* the job is not in a state that allows this */
    GORO_ESYS = 13,        /* an operating-system call failed */
    GORO_ECANCELLED = 14,  /* the operation was cancelled */
    GORO_ERROR_MAX = 15
} goro_err_t;

/* A sentence a person can act on. Never NULL. */
GORO_EXPORT const char *goro_strerror(int code);

/* A duration in Go's time.ParseDuration syntax ("300ms", "1.5s", "2m",
   "1h30m", ".5s", "0"), or "-1" for forever, to milliseconds, rounded to
   the nearest (half up). GORO_EINVAL for what Go refuses ("1e3ms",
   "10"), for a negative duration, and for one above 0 but under 1 ms,
   which rounding would make 0 ("no limit", "try once"). */
GORO_EXPORT int goro_duration_parse(const char *text, int64_t *ms_out);

/* A size as the config writes it: digits with an optional suffix B, K,
   KiB, M, MiB, G, GiB (powers of 1024) or KB, MB, GB (of 1000), to
   bytes. GORO_EINVAL for anything else and for an overflow. */
GORO_EXPORT int goro_size_parse(const char *text, uint64_t *bytes_out);

/* Job states, in the order a job passes them. */
typedef enum {
    GORO_JOB_QUEUED = 1,
    GORO_JOB_RUNNING = 2,
    GORO_JOB_SUCCEEDED = 3,
    GORO_JOB_FAILED = 4,
    GORO_JOB_CANCELLED = 5,
    GORO_JOB_TIMED_OUT = 6
} goro_job_state_t;

/* "queued", "running", ... */
GORO_EXPORT const char *goro_job_state_name(int state);

/* Listings rendered by the daemon: JSON instead of text for people, and
   for jobs only those that failed, were cancelled or timed out. */
#define GORO_LIST_JSON 1
#define GORO_LIST_FAILED 2

/* What a case of a select does. */
typedef enum { GORO_CASE_RECV = 1, GORO_CASE_SEND = 2 } goro_case_op_t;

/* A waitgroup's numbers (WG_INFO). */
typedef struct {
    int64_t counter;   /* current value */
    int64_t added;     /* added since the counter was last zero */
    int64_t done;      /* done since the counter was last zero */
    int64_t succeeded; /* attached jobs that succeeded */
    int64_t failed;    /* attached jobs that ended otherwise */
} goro_wg_info_t;

#ifdef __cplusplus
}
#endif

#endif
