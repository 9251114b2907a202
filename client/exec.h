/*  exec - runs one built-in `exec` job: an argv, without a shell, in its
    own process group, with stdout and stderr captured up to a bound.

    Internal to libgoro (not exported). It knows nothing of sockets or of
    the worker's job table: the worker learns the child's process group
    through a callback, so that a KILL can reach it, and gets the result
    back as plain bytes.
*/
#ifndef EXEC_H_INCLUDED
#define EXEC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The status of a command that could not be run at all, as sh(1) uses
   for "command not found". */
#define EXEC_STATUS_NOT_RUN 127

/* Called with the child's process group id right after the spawn, and
   with 0 once the child has exited but before it is reaped: while the
   callback's last value is non-zero, kill(-pgid, ...) cannot hit a
   process that reused the id. Runs on the exec thread. */
typedef void exec_pgid_fn(pid_t pgid, void *arg);

/* How long a killed command has between SIGTERM and SIGKILL when gorod
   does not say (jobs.exec.kill_grace's default). */
#define EXEC_KILL_GRACE_MS 5000

/* What gorod's jobs.exec config asks of every command (WELCOME carries
   it as "key=value" lines): which variables of the worker's environment
   a command keeps, which user it runs as, its resource limits, and how
   long it has to exit between SIGTERM and SIGKILL when killed. */
typedef struct {
    char **env; /* name patterns (fnmatch); NULL: all */
    size_t nenv;
    char *run_as;          /* user name, or NULL: the worker's */
    uint64_t cpu_s;        /* RLIMIT_CPU seconds; 0: none */
    uint64_t memory;       /* RLIMIT_AS bytes; 0: none */
    uint64_t files;        /* RLIMIT_NOFILE; 0: none */
    uint64_t procs;        /* RLIMIT_NPROC; 0: none */
    int64_t kill_grace_ms; /* SIGTERM to SIGKILL; 0: SIGKILL at once */
    int64_t max_output;    /* bytes kept of stdout, stderr and an
                              app function's reply and error text;
                              -1: not said (an older gorod) */
} exec_policy_t;

/* Parses WELCOME's lines: env=PATTERN (repeatable), run_as=USER,
   limit.cpu=SECONDS, limit.memory=BYTES, limit.files=N, limit.procs=N,
   kill_grace=MS, max_output=BYTES; unknown keys are ignored, so a newer
   gorod can say more. Caller owns the result (never NULL). */
exec_policy_t *exec_policy_parse(char *const *lines, size_t count);
exec_policy_t *exec_policy_copy(const exec_policy_t *policy);
void exec_policy_destroy(exec_policy_t **self_p);

typedef struct {
    const uint8_t *argv;         /* NUL-terminated strings, argv[0] first */
    size_t size;                 /* bytes in argv, the last one a NUL */
    size_t max_output;           /* bytes kept of stdout and of stderr each */
    const char *endpoint;        /* GORO_ENDPOINT; NULL: inherit ours */
    uint64_t job_id;             /* GORO_JOB_ID */
    uint32_t attempt;            /* GORO_ATTEMPT */
    const exec_policy_t *policy; /* NULL: the worker's env, user, limits */
    exec_pgid_fn *on_pgid;       /* may be NULL */
    void *arg;                   /* for on_pgid */
} exec_spec_t;

typedef struct {
    int status;   /* exit status; 128+N if killed by signal
                     N; EXEC_STATUS_NOT_RUN if not run */
    uint8_t *out; /* stdout, malloc'd, NUL after the end */
    size_t out_size;
    char *err; /* stderr or our error text, same */
    size_t err_size;
} exec_result_t;

/* Runs SPEC to the end and fills *RESULT, whose buffers the caller frees
   with exec_result_fini(). Never fails as a call: what went wrong is in
   the status and the error text. Blocks the calling thread. */
void exec_run(const exec_spec_t *spec, exec_result_t *result);

/* A command started by exec_start() and not finished yet. */
typedef struct exec_child exec_child_t;

/* Whether exec_start()'s children come with a pidfd to poll (Linux 5.3),
   which the poll-loop way of running a command needs. */
bool exec_pollable(void);

/* Starts SPEC's command and returns without waiting: 0 with *CHILD_OUT
   (caller owns; see exec_child_finish), or -1 with *RESULT filled as
   exec_run() would have (the command did not run). on_pgid is not
   called: the caller has exec_child_pgid() and exec_child_signal(). */
int exec_start(const exec_spec_t *spec, exec_child_t **child_out,
               exec_result_t *result);

/* The child's process group id (its pid). */
pid_t exec_child_pgid(const exec_child_t *child);

/* The descriptor to poll for input for WHICH: 0 stdout, 1 stderr, 2 the
   exit (a pidfd, wanted only once both pipes are done); -1 for one that
   needs no polling now. */
int exec_child_fd(const exec_child_t *child, int which);

/* Handles input on WHICH's descriptor (one read), and reaps the child
   once both pipes are done and it has exited. True when it has been
   reaped: the caller must not signal its group after that, and calls
   exec_child_finish(). Never blocks. */
bool exec_child_input(exec_child_t *child, int which);

/* SIG to the child's group, unless it has been reaped. */
void exec_child_signal(exec_child_t *child, int sig);

/* Fills *RESULT (as exec_run does) and frees *CHILD_P. A child not
   reaped yet gets SIGKILL and is waited for. */
void exec_child_finish(exec_child_t **child_p, exec_result_t *result);

/* Frees RESULT's buffers and zeroes it. */
void exec_result_fini(exec_result_t *result);

#endif
