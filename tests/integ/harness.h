/*  harness - starts a real gorod (and extra processes) for integration
    tests, talks to it through libgoro and the real `goro` CLI, and makes
    sure nothing outlives the test program.

    Each harness_start() gets its own mkdtemp directory holding the
    generated config, gorod's log, the endpoints file and the captured
    output of the processes it ran, and binds tcp://127.0.0.1:* so that
    any number of tests run in parallel. An atexit handler SIGKILLs every
    process a harness started that is still running and removes the
    directories, whatever the test did (a failed cmocka assertion leaves
    the test through longjmp).

    Waiting is always for a condition with a bound (HARNESS_WAIT_MS by
    default), polled every HARNESS_POLL_MS: never a sleep that stands in
    for synchronisation.

    Programs come from compile definitions: GORO_BIN_DIR (gorod, goro,
    goro-worker) and GORO_TEST_BIN_DIR (the example programs built for
    the tests).
*/
#ifndef HARNESS_H_INCLUDED
#define HARNESS_H_INCLUDED

#include "goro.h"

#include <stdint.h>
#include <sys/types.h>

/* Poll period of every wait: short next to the 100 ms heartbeat. */
#define HARNESS_POLL_MS 10
/* Default bound of a wait: generous for a loaded 2-core machine under
   ASan, yet far under the ctest TIMEOUT. */
#define HARNESS_WAIT_MS 10000

/* Added when the caller's YAML has no heartbeat section: a lost worker is
   noticed in 1 s rather than 3 s, yet a worker starved of CPU for a few
   hundred ms on a loaded 2-core machine (ctest -j2 under ASan) is not
   declared lost, which would run its job twice. */
#define HARNESS_HEARTBEAT "heartbeat: { interval: 100ms, liveness: 10 }\n"

typedef struct harness harness_t;

/* Starts gorod -c DIR/goro.yaml --endpoints DIR/endpoints in a new temp
   dir, with `listen` on 127.0.0.1:* plus YAML (pools, jobs, limits, ...),
   and waits until it answers a ping. NULL (with gorod's log printed to
   stderr) if it did not come up within HARNESS_WAIT_MS. */
harness_t *harness_start(const char *yaml);

/* What harness_start_opts() may change. Zero-initialise. */
typedef struct {
    const char *yaml;        /* as harness_start()'s YAML */
    int ipc;                 /* listen on ipc://DIR/clients.sock and
                                ipc://DIR/workers.sock instead of
                                tcp://127.0.0.1:*, so the endpoints stay
                                the same across harness_restart() and
                                clients reconnect by themselves */
    const char *const *args; /* extra gorod arguments (NULL-terminated;
                                NULL for none), this start only */
} harness_opts_t;

/* As harness_start, with OPTS. */
harness_t *harness_start_opts(const harness_opts_t *opts);

/* Sends SIG to gorod (SIGKILL: a crash) and reaps it. Returns its exit
   code (128+N if signal N killed it), or -1 if it had not exited after
   TIMEOUT_MS (it is then SIGKILLed). Unlike harness_stop, a non-zero
   code is not reported: it is what a crash test expects. */
int harness_kill(harness_t *self, int sig, int64_t timeout_ms);

/* Starts gorod again, after harness_kill() or harness_stop(), in the same
   dir with the same config (so on the same journal), with the extra
   arguments ARGS (NULL-terminated; NULL for none), its output appended to
   DIR/gorod.log. Waits until it answers a ping and reads the endpoints
   again (what harness_clients() and harness_workers() returned before
   is freed: copy it to keep it); the harness client is made afresh.
   Returns 0 when it is up; gorod's exit code (> 0) if it exited at start
   (e.g. it refused the journal); -1 if it did not come up within
   TIMEOUT_MS (it is then killed). */
int harness_restart(harness_t *self, const char *const *args,
                    int64_t timeout_ms);

/* gorod's log since its last start or restart (free()). */
char *harness_log_run(harness_t *self);

/* Stops gorod if it still runs (SIGTERM, then SIGKILL after 5 s), kills
   the extra processes still running, frees the clients and removes the
   temp dir. Accepts NULL. */
void harness_destroy(harness_t **self_p);

const char *harness_dir(harness_t *self);
const char *harness_clients(harness_t *self); /* clients endpoint */
const char *harness_workers(harness_t *self); /* workers endpoint */
pid_t harness_pid(harness_t *self);           /* gorod */

/* DIR/NAME. Owned by the harness. */
const char *harness_path(harness_t *self, const char *name);

/* A client of this gorod, owned by the harness (destroyed with it). */
goro_t *harness_client(harness_t *self);

/* The number after "KEY": in gorod's stats JSON, -1 if absent. */
long long harness_stat(harness_t *self, const char *key);
/* The same in JSON TEXT (NULL: absent), for several keys of one reading. */
long long harness_json_number(const char *text, const char *key);

/* A channel's row in gorod's stats (`stats --json` channel_list). */
typedef struct {
    long long capacity, buffered, senders, receivers;
    int closed;
} harness_chan_t;

/* NAME's row: 0, or -1 if it is not there. */
int harness_chan_row(harness_t *self, const char *name, harness_chan_t *row);

/* Waits until goro_stats reports exactly N workers. 0, or -1 after
   TIMEOUT_MS. */
int harness_wait_workers(harness_t *self, int n, int64_t timeout_ms);

/* The pids of the workers gorod knows (from `workers` JSON), at most
   MAX. Returns how many, -1 on error. */
int harness_worker_pids(harness_t *self, pid_t *pids, int max);

/* SIGTERM to gorod, then waitpid. Returns gorod's exit code (128+N if
   signal N killed it), or -1 if it had not exited after TIMEOUT_MS (it
   is then SIGKILLed). */
int harness_stop_within(harness_t *self, int64_t timeout_ms);
/* As harness_stop_within(self, 15000): over the default 10 s grace. */
int harness_stop(harness_t *self);

/* Non-zero while gorod runs (it is reaped here if it died). */
int harness_running(harness_t *self);

/* Runs `goro -e CLIENTS ARG...` (NULL-terminated), stdin /dev/null.
   *OUT and *ERR (either may be NULL) get its stdout and stderr, NUL
   terminated; free() them. Returns its exit code, 128+N if signal N
   killed it, -1 if it ran longer than HARNESS_WAIT_MS * 3. */
int harness_cli(harness_t *self, char **out, char **err, ...);
/* As harness_cli with the arguments in ARGS, NULL-terminated. */
int harness_cliv(harness_t *self, char **out, char **err,
                 const char *const *args);

/* Runs ARGV (argv[0] a path) in directory DIR (captures go there too),
   as harness_cli does. */
int harness_run(const char *dir, const char *const *argv, char **out,
                char **err, int64_t timeout_ms);

/* Starts ARGV (argv[0] a path) with stdin /dev/null and stdout and stderr
   to DIR/spawn-N.log, as an extra process of this harness: it is killed
   at harness_destroy() and at exit. Returns its pid, -1 on error. */
pid_t harness_spawn(harness_t *self, const char *const *argv);

/* harness_spawn of `harness_self() --child ROLE CLIENTS-ENDPOINT ARG...`
   (the test program itself in a role; ARGs NULL-terminated, at most 19).
   Returns its pid; a failed start fails the test (cmocka). */
pid_t harness_spawn_role(harness_t *self, const char *role, ...);

/* This program's own path, for running it again as a child. Read once;
   aborts if /proc/self/exe cannot be read, as then no child can start. */
const char *harness_self(void);

/* A role this program can be run in as a child (harness_spawn_role):
   FN gets a client of the child's endpoint and the role's arguments; it
   returns the child's exit code, a GORO_E* code or 100+ for the role's
   own checks. */
typedef struct {
    const char *name;
    int (*fn)(goro_t *client, int argc, char **argv);
} harness_role_t;

/* Non-zero if main()'s ARGV asks for a child (`--child ...`). */
int harness_is_child(int argc, char **argv);

/* The child main()'s ARGV asks for: `PROG --child ROLE ENDPOINT ARG...`,
   ROLE looked up in ROLES (ended by a NULL name). The role gets the ARGs
   after the first SKIP (ones that a test passes to every child and no
   role reads). Returns the exit code: the role's, 101 for a short
   command line or an unknown role. A failure is printed to stderr, where
   the harness captures it. */
int harness_child_main(int argc, char **argv, const harness_role_t *roles,
                       int skip);

/* ---- for cmocka tests whose state is the harness_t * ---- */

/* harness_start(YAML) into *STATE; a failed start fails the test. */
harness_t *harness_up(void **state, const char *yaml);
/* As harness_up, with OPTS. */
harness_t *harness_up_opts(void **state, const harness_opts_t *opts);

/* The end of a test that got there: gorod must stop with exit code 0
   (under ASan that includes its leak check); the harness is destroyed. */
void harness_finish(void **state);

/* Submits `sh -c SCRIPT` as an exec job, each @D in SCRIPT replaced by
   the harness dir, and returns its id; a refusal fails the test. */
uint64_t harness_go_sh(harness_t *self, const char *script,
                       const goro_opts_t *opts);

/* Waits up to TIMEOUT_MS for job ID to end and returns it (caller
   destroys it); a failed wait fails the test with gorod's log. */
goro_job_t *harness_wait_job(harness_t *self, uint64_t id, int64_t timeout_ms);

/* The pids "FIRST SECOND" (SECOND NULL: just "FIRST") of the line a job
   writes to PATH, once it is there; fails the test if it does not come
   within HARNESS_WAIT_MS. */
void harness_read_pids(const char *path, pid_t *first, pid_t *second);

/* SIGSTOP to PID (e.g. a pool worker, to make it fall silent), which the
   next harness_teardown() resumes if harness_thaw() has not: a stopped
   process acts on no SIGTERM and would outlive the test. 0, or -1 with
   errno. */
int harness_freeze(pid_t pid);
/* SIGCONT to the process harness_freeze() stopped. */
void harness_thaw(void);

/* A teardown: destroys whatever the test (or a failed assertion) left,
   after resuming a process harness_freeze() left stopped. */
int harness_teardown(void **state);

/* A cmocka test entry with harness_teardown. */
#define HARNESS_TEST(test) cmocka_unit_test_teardown(test, harness_teardown)

/* Sends SIG to a process harness_spawn() started and reaps it. Returns
   its exit code (128+N if killed by signal N), -1 if it had not exited
   after TIMEOUT_MS (it is then SIGKILLed). */
int harness_signal(harness_t *self, pid_t pid, int sig, int64_t timeout_ms);

/* Without waiting: 1 if PID, a process harness_spawn() started, has
   exited (it is reaped, *CODE gets its exit code, 128+N if signal N
   killed it), 0 while it runs, -1 if it is not ours. */
int harness_poll_exit(harness_t *self, pid_t pid, int *code);

/* Waits until PID (not necessarily our child) no longer exists: kill(pid,
   0) fails with ESRCH. 0, or -1 after TIMEOUT_MS. */
int harness_wait_gone(pid_t pid, int64_t timeout_ms);

/* As harness_wait_gone, but an unreaped zombie also counts as gone (for
   processes whose parent we do not control). */
int harness_wait_dead(pid_t pid, int64_t timeout_ms);

/* A new temp dir, removed at exit. Owned by the harness module. */
const char *harness_tmpdir(void);

/* The content of PATH (free()), NULL if it cannot be read. */
char *harness_read_file(const char *path);
int harness_write_file(const char *path, const char *text);

/* Waits until PATH exists and ends with a newline; returns its content
   (free()), NULL after TIMEOUT_MS. */
char *harness_wait_line(const char *path, int64_t timeout_ms);

/* Monotonic milliseconds. */
int64_t harness_now(void);

/* For polling loops: returns 0 once DEADLINE (harness_now() based) has
   passed, else sleeps HARNESS_POLL_MS and returns 1.

       int64_t until = harness_now() + 5000;
       while (!condition() && harness_nap(until)) {}
*/
int harness_nap(int64_t deadline);

/* gorod's log so far (free()), for failure messages. */
char *harness_log(harness_t *self);

/* Waits until gorod's log holds NEEDLE: 0, or -1 after TIMEOUT_MS (the
   log is then printed to stderr). */
int harness_wait_log(harness_t *self, const char *needle, int64_t timeout_ms);

#endif
