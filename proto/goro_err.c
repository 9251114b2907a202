/*  goro_err - the text of each error code and job state. The codes travel
    on the wire, so both ends share these tables.
*/
#include "goro_defs.h"

static const char *const s_errors[GORO_ERROR_MAX] = {
    [GORO_OK] = "success",
    [GORO_EINVAL] = "invalid argument or request",
    [GORO_ENOTFOUND] = "not found",
    [GORO_EEXIST] = "already exists with different properties",
    [GORO_ETIMEDOUT] = "timed out",
    [GORO_ECLOSED] = "channel is closed",
    [GORO_ENEGATIVE] = "waitgroup counter would go below zero",
    [GORO_ETOOBIG] = "value exceeds limits.max_message",
    [GORO_EDENIED] = "denied by policy",
    [GORO_EUNAVAILABLE] =
        "gorod is unavailable (not running, not reachable, or stopping)",
    [GORO_EPROTO] = "protocol error: malformed message",
    [GORO_EFULL] = "capacity exhausted",
    [GORO_ESTATE] = "not allowed in the job's current state",
    [GORO_ESYS] = "system call failed",
    [GORO_ECANCELLED] = "cancelled",
};

const char *
goro_strerror(int code)
{
    if (code < 0 || code >= GORO_ERROR_MAX || !s_errors[code])
        return "unknown error";
    return s_errors[code];
}

const char *
goro_job_state_name(int state)
{
    static const char *const names[] = {
        "?",      "queued",    "running",   "succeeded",
        "failed", "cancelled", "timed_out",
    };
    return state >= 1 && state <= GORO_JOB_TIMED_OUT ? names[state] : "?";
}
