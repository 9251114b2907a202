/*  exec - runs one `exec` job: an argv, no shell, spawned by
    clone(CLONE_VM | CLONE_VFORK) and execve.

    The child gets its own process group (so a KILL takes its whole tree
    with one kill(-pgid)), stdin from /dev/null, stdout and stderr on
    pipes, default signal dispositions and an empty signal mask (the
    worker ignores SIGPIPE and blocks SIGINT/SIGTERM in its job threads;
    a command must not inherit either), and the worker's environment plus
    GORO_ENDPOINT, GORO_JOB_ID and GORO_ATTEMPT. With a policy (gorod's
    jobs.exec), only the variables it allows are kept, and the child sets
    the policy's resource limits and user before execve.

    The spawn. The child shares our memory and runs on a stack in the
    spawning frame while that thread sleeps (CLONE_VFORK), like
    posix_spawn, but does only what the job needs: posix_spawn's child
    resets all 64 signal handlers one by one, ours resets those
    /proc/self/status says have one (and the ignored ones of a short
    list), which with the worker's two handlers halves the syscalls of a
    spawn. Until execve it calls only async-signal-safe functions, with
    every signal blocked, the program's search path and the user looked
    up before the clone; an errno it fails with comes back in the shared
    memory, so no report pipe either. The kernel gives a pidfd with the
    child (CLONE_PIDFD, Linux 5.2), which a caller can poll.

    Several threads spawn at once, so every descriptor we create is
    O_CLOEXEC from birth: the dup2s clear the flag on the child's 1 and 2
    only, and no sibling inherits another job's pipe (which would hold
    that job's EOF back until the sibling exits). close_range(3, ~0) in
    the child also drops descriptors that the application leaked without
    O_CLOEXEC.

    Two ways to run a command. exec_run() blocks a job thread to the end.
    exec_start() returns once the command runs, and a poll loop (the
    worker's serving thread) feeds exec_child_input() as its pipes and
    pidfd become readable: no thread per command, no hop between threads.

    The job ends when both pipes reach EOF and then the child is reaped; a
    background process that keeps stdout open keeps the job running, as in
    a shell's $(...). This module does not enforce timeouts: the daemon
    sends KILL, and the worker kills the group (on_pgid, or
    exec_child_signal()).
*/
/* pipe2(): close-on-exec from birth is the point (see above), and glibc
   declares it only for _GNU_SOURCE. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "exec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* waitid's idtype for a pidfd (Linux 5.4); glibc 2.36 does not name it. */
#define EXEC_P_PIDFD ((idtype_t) 3)

/* Bytes read per read(2): the default pipe capacity on Linux, so one
   read usually empties the pipe. */
#define EXEC_READ_CHUNK 65536

/* The variables we set; any inherited value of these is dropped. */
static const char *const s_goro_vars[] = {"GORO_ENDPOINT=", "GORO_JOB_ID=",
                                          "GORO_ATTEMPT="};
#define GORO_VARS (sizeof s_goro_vars / sizeof s_goro_vars[0])
/* Room for "GORO_JOB_ID=" and a 64-bit id's 20 digits, and a NUL. */
#define EXEC_VAR_SIZE 40

/* A growing byte buffer that keeps at most LIMIT bytes; what comes
   beyond is read and dropped. */
typedef struct {
    uint8_t *data;
    size_t size, cap, limit;
} sink_t;

/* Hands the sink's bytes over as a NUL-terminated buffer (never NULL). */
static uint8_t *
s_sink_take(sink_t *sink, size_t *size_out)
{
    uint8_t *data = sink->data ? sink->data : util_zalloc(1);
    data[sink->size] = 0;
    *size_out = sink->size;
    sink->data = NULL;
    sink->size = sink->cap = 0;
    return data;
}

static void
s_fail_text(exec_result_t *result, const char *text)
{
    result->err = util_strdup(text);
    result->err_size = strlen(text);
    result->out = util_zalloc(1);
    result->out_size = 0;
    result->status = EXEC_STATUS_NOT_RUN;
}

/* strerror() for threads; _GNU_SOURCE gives glibc's own strerror_r. */
static const char *
s_reason(int errnum, char *buf, size_t size)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(errnum, buf, size);
#else
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
    return buf;
#endif
}

/* "exec: CMD: No such file or directory", as a shell words it, or with
   STEP ("pipe") when the failure was ours rather than the command's. */
static void
s_fail(exec_result_t *result, const char *cmd, const char *step, int errnum)
{
    char buf[128];
    const char *reason = s_reason(errnum, buf, sizeof buf);
    size_t len = strlen(cmd) + (step ? strlen(step) : 0) + strlen(reason) + 16;
    char *text = util_zalloc(len);
    if (step)
        snprintf(text, len, "exec: %s: %s: %s", cmd, step, reason);
    else
        snprintf(text, len, "exec: %s: %s", cmd, reason);
    s_fail_text(result, text);
    free(text);
}

/* A pipe whose ends are close-on-exec and above 2: with 0..2 closed in
   the worker, pipe2 could hand out 1 or 2, and the dup2 file actions
   would then clobber one pipe with the other. */
static int
s_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) == -1)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fds[i] > 2)
            continue;
        int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (high == -1) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
        close(fds[i]);
        fds[i] = high;
    }
    return 0;
}

/* Variables a policy always lets through: the certificates, so that a
   command can use goro itself when gorod requires CURVE. */
static const char *const s_kept_vars[] = {"GORO_CERT", "GORO_SERVER_CERT"};

/* True if the policy lets the inherited ENTRY ("NAME=value") through. */
static bool
s_allowed(const char *entry, const exec_policy_t *policy)
{
    if (!policy || !policy->env)
        return true;
    char name[256];
    size_t len = strcspn(entry, "=");
    if (len >= sizeof name)
        return false;
    memcpy(name, entry, len);
    name[len] = '\0';
    for (size_t i = 0; i < sizeof s_kept_vars / sizeof s_kept_vars[0]; i++)
        if (strcmp(name, s_kept_vars[i]) == 0)
            return true;
    for (size_t i = 0; i < policy->nenv; i++)
        if (fnmatch(policy->env[i], name, 0) == 0)
            return true;
    return false;
}

/* True for an inherited entry that the job's own value replaces, or that
   the policy drops. With no endpoint to give, the command inherits ours. */
static bool
s_replaced(const char *entry, const exec_spec_t *spec)
{
    for (size_t v = 0; v < GORO_VARS; v++)
        if (strncmp(entry, s_goro_vars[v], strlen(s_goro_vars[v])) == 0)
            return v != 0 || spec->endpoint != NULL;
    return !s_allowed(entry, spec->policy);
}

/* The worker's environment without the entries we replace, then ours.
   Caller frees it with s_environment_free(ENV, *OURS_AT). */
static char **
s_environment(const exec_spec_t *spec, size_t *ours_at)
{
    size_t count = 0;
    for (char **e = environ; e && *e; e++)
        count++;
    char **env = util_zalloc(sizeof(char *) * (count + GORO_VARS + 1));
    size_t used = 0;
    for (char **e = environ; e && *e; e++)
        if (!s_replaced(*e, spec))
            env[used++] = *e;
    *ours_at = used;
    if (spec->endpoint) {
        size_t len = strlen("GORO_ENDPOINT=") + strlen(spec->endpoint) + 1;
        env[used] = util_zalloc(len);
        snprintf(env[used++], len, "GORO_ENDPOINT=%s", spec->endpoint);
    }
    env[used] = util_zalloc(EXEC_VAR_SIZE);
    snprintf(env[used++], EXEC_VAR_SIZE, "GORO_JOB_ID=%" PRIu64, spec->job_id);
    env[used] = util_zalloc(EXEC_VAR_SIZE);
    snprintf(env[used++], EXEC_VAR_SIZE, "GORO_ATTEMPT=%" PRIu32,
             spec->attempt);
    env[used] = NULL;
    return env;
}

static void
s_environment_free(char **env, size_t ours_at)
{
    for (size_t i = ours_at; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Splits the payload into a NULL-terminated argv that points into it.
   NULL if it is not a non-empty list of NUL-terminated strings. */
static char **
s_argv(const uint8_t *payload, size_t size)
{
    if (size == 0 || payload[size - 1] != 0 || payload[0] == 0)
        return NULL;
    size_t argc = 0;
    for (size_t i = 0; i < size; i++)
        if (payload[i] == 0)
            argc++;
    char **argv = util_zalloc(sizeof(char *) * (argc + 1));
    size_t at = 0;
    for (size_t i = 0; i < argc; i++) {
        /* posix_spawn's argv is char *const[] for historical reasons; it
           does not write to the strings. */
        argv[i] = (char *) (payload + at);
        at += strlen(argv[i]) + 1;
    }
    return argv;
}

exec_policy_t *
exec_policy_parse(char *const *lines, size_t count)
{
    exec_policy_t *self = util_zalloc(sizeof *self);
    self->kill_grace_ms = EXEC_KILL_GRACE_MS;
    self->max_output = -1;
    for (size_t i = 0; i < count; i++) {
        const char *line = lines[i];
        const char *value = strchr(line, '=');
        if (!value)
            continue;
        size_t key_len = (size_t) (value++ - line);
        uint64_t number = strtoull(value, NULL, 10);
        if (key_len == 3 && strncmp(line, "env", 3) == 0) {
            self->env = util_realloc(self->env,
                                     sizeof(char *) * (self->nenv + 2));
            self->env[self->nenv++] = util_strdup(value);
            self->env[self->nenv] = NULL;
        }
        else if (key_len == 6 && strncmp(line, "run_as", 6) == 0) {
            free(self->run_as);
            self->run_as = *value ? util_strdup(value) : NULL;
        }
        else if (strncmp(line, "limit.cpu=", 10) == 0)
            self->cpu_s = number;
        else if (strncmp(line, "limit.memory=", 13) == 0)
            self->memory = number;
        else if (strncmp(line, "limit.files=", 12) == 0)
            self->files = number;
        else if (strncmp(line, "limit.procs=", 12) == 0)
            self->procs = number;
        else if (strncmp(line, "kill_grace=", 11) == 0)
            self->kill_grace_ms = number > INT32_MAX ? INT32_MAX
                                                     : (int64_t) number;
        else if (strncmp(line, "max_output=", 11) == 0)
            self->max_output = number > INT64_MAX ? INT64_MAX
                                                  : (int64_t) number;
    }
    return self;
}

exec_policy_t *
exec_policy_copy(const exec_policy_t *policy)
{
    exec_policy_t *self = util_memdup(policy, sizeof *policy);
    if (policy->env) {
        self->env = util_zalloc(sizeof(char *) * (policy->nenv + 1));
        for (size_t i = 0; i < policy->nenv; i++)
            self->env[i] = util_strdup(policy->env[i]);
    }
    self->run_as = util_strdup(policy->run_as);
    return self;
}

void
exec_policy_destroy(exec_policy_t **self_p)
{
    if (self_p && *self_p) {
        exec_policy_t *self = *self_p;
        for (size_t i = 0; i < self->nenv; i++)
            free(self->env[i]);
        free(self->env);
        free(self->run_as);
        free(self);
        *self_p = NULL;
    }
}

/* The program search path: the command's own PATH when the policy
   limits or switches users (as the fork path always did), else the
   worker's (as posix_spawnp did), else a shell's default. */
static const char *
s_search_path(char **env, const exec_policy_t *policy)
{
    const char *dirs = NULL;
    bool own = policy
               && (policy->run_as || policy->cpu_s || policy->memory
                   || policy->files || policy->procs);
    if (own) {
        for (char **e = env; *e; e++)
            if (strncmp(*e, "PATH=", 5) == 0)
                dirs = *e + 5;
    }
    else
        dirs = getenv("PATH");
    return dirs ? dirs : "/usr/local/bin:/usr/bin:/bin";
}

/* Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): sigaction
   refuses them, and they are only ever sent to our own threads. */
#define EXEC_SIG_RESERVED ((1ULL << 31) | (1ULL << 32))

/* The signals with a handler in this process (bit N-1 for signal N), from
   /proc/self/status's SigCgt: three syscalls, where asking sigaction
   about each would take 64. Without /proc, all of them. */
static uint64_t
s_caught(void)
{
    uint64_t caught = ~0ULL;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return caught & ~EXEC_SIG_RESERVED;
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got > 0) {
        buf[got] = 0;
        char *line = strstr(buf, "\nSigCgt:");
        if (line)
            caught = strtoull(line + 8, NULL, 16);
    }
    return caught & ~EXEC_SIG_RESERVED;
}

/* What the child needs, all prepared before the clone: it shares our
   memory and calls nothing that allocates or locks. */
typedef struct {
    char **argv;
    char **env;
    const char *dirs; /* searched when argv[0] has no slash */
    int out_fd, err_fd;
    const exec_policy_t *policy;
    bool set_user;
    uid_t uid;
    gid_t gid;
    uint64_t reset; /* signals set back to SIG_DFL */
    int err;        /* the child's errno if it did not exec; 0: it did */
} spawn_args_t;

static void
s_child_fail(spawn_args_t *args, int err)
{
    /* Shared memory, and we are suspended until _exit: no pipe needed. */
    args->err = err ? err : EINVAL;
    _exit(EXEC_STATUS_NOT_RUN);
}

static void
s_limit(spawn_args_t *args, int resource, uint64_t value)
{
    if (!value)
        return;
    struct rlimit limit = {(rlim_t) value, (rlim_t) value};
    if (setrlimit(resource, &limit) != 0)
        s_child_fail(args, errno);
}

/* execve over the search path as execvp does it: EACCES if some
   candidate was found but could not run, else the last error. */
static void
s_child_exec(spawn_args_t *args)
{
    const char *argv0 = args->argv[0];
    if (strchr(argv0, '/')) {
        execve(argv0, args->argv, args->env);
        s_child_fail(args, errno);
    }
    char path[4096];
    size_t name_len = strlen(argv0);
    int err = ENOENT;
    bool denied = false;
    for (const char *dirs = args->dirs; *dirs;) {
        size_t len = strcspn(dirs, ":");
        const char *dir = len ? dirs : ".";
        size_t dir_len = len ? len : 1;
        if (dir_len + 1 + name_len < sizeof path) {
            memcpy(path, dir, dir_len);
            path[dir_len] = '/';
            memcpy(path + dir_len + 1, argv0, name_len + 1);
            execve(path, args->argv, args->env);
            err = errno;
            if (err == EACCES)
                denied = true;
            else if (err != ENOENT && err != ENOTDIR && err != ESTALE
                     && err != ENODEV && err != ETIMEDOUT)
                break; /* found, but it cannot run: say why */
        }
        dirs += len;
        if (*dirs == ':') {
            dirs++;
            if (!*dirs) /* a trailing colon means the current directory */
                dirs = ".";
        }
    }
    s_child_fail(args, denied ? EACCES : err);
}

/* The child of the clone, on its own stack in our memory, with every
   signal blocked; only async-signal-safe calls until execve. */
static int
s_child(void *arg)
{
    spawn_args_t *args = arg;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* A handler must not run here (it would run in the worker's memory)
       nor survive as an ignored disposition into the command. */
    for (int sig = 1; sig <= 64; sig++)
        if (args->reset & (1ULL << (sig - 1)))
            sigaction(sig, &dfl, NULL);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(args->out_fd, 1) < 0
        || dup2(args->err_fd, 2) < 0)
        s_child_fail(args, errno);
    /* Descriptors an application opened without O_CLOEXEC (or inherited)
       are not the command's business either, as with Go's os/exec. */
    syscall(SYS_close_range, 3, ~0U, 0);
    const exec_policy_t *policy = args->policy;
    if (policy) {
        s_limit(args, RLIMIT_CPU, policy->cpu_s);
        s_limit(args, RLIMIT_AS, policy->memory);
        s_limit(args, RLIMIT_NOFILE, policy->files);
        s_limit(args, RLIMIT_NPROC, policy->procs);
    }
    if (args->set_user
        && (setgroups(1, &args->gid) != 0 || setgid(args->gid) != 0
            || setuid(args->uid) != 0))
        s_child_fail(args, errno);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    s_child_exec(args);
    return 0; /* not reached */
}

/* ASan: the child's frames poison the shadow of the stack we lent it,
   in our memory, and it execs without unpoisoning: we do, or that part
   of our stack would look like redzones to the next frames there. */
#if defined(__SANITIZE_ADDRESS__)
#define EXEC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXEC_ASAN 1
#endif
#endif
#ifdef EXEC_ASAN
#include <sanitizer/asan_interface.h>
#define EXEC_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define EXEC_UNPOISON(addr, size) ((void) (addr), (void) (size))
#endif

/* Room for the child's frames and s_child_exec's path buffer. */
#define EXEC_CHILD_STACK (32 * 1024)

/* Whether clone() takes CLONE_PIDFD (Linux 5.2): -1 unknown, 0, 1. */
static atomic_int s_pidfd_ok = -1;

/* clone(CLONE_VM | CLONE_VFORK) + execve: the child borrows our memory
   and a stack in this frame, and we sleep until it has exec'd or failed,
   so no page tables are copied and no report pipe is needed. 0 with
   *PID_OUT and *PIDFD_OUT (-1 if the kernel gives none), or an errno. */
static int
s_spawn(char **argv, char **env, int out_fd, int err_fd,
        const exec_policy_t *policy, pid_t *pid_out, int *pidfd_out)
{
    spawn_args_t args = {.argv = argv,
                         .env = env,
                         .dirs = s_search_path(env, policy),
                         .out_fd = out_fd,
                         .err_fd = err_fd,
                         .policy = policy};
    if (policy && policy->run_as) {
        struct passwd pw, *found = NULL;
        char buf[4096];
        if (getpwnam_r(policy->run_as, &pw, buf, sizeof buf, &found) != 0
            || !found)
            return ESRCH; /* "no such user" */
        args.set_user = true;
        args.uid = pw.pw_uid;
        args.gid = pw.pw_gid;
    }
    /* Ignored dispositions survive exec; handled ones must go before the
       child unblocks anything. */
    static const int reset[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGPIPE, SIGTERM,
                                SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    args.reset = s_caught();
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        args.reset |= 1ULL << (reset[i] - 1);

    _Alignas(16) char stack[EXEC_CHILD_STACK];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler in the child */
    int pidfd = -1;
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    int want_pidfd = atomic_load(&s_pidfd_ok) != 0;
    pid_t pid = clone(s_child, stack + sizeof stack,
                      flags | (want_pidfd ? CLONE_PIDFD : 0), &args, &pidfd);
    if (pid < 0 && want_pidfd && errno == EINVAL) {
        atomic_store(&s_pidfd_ok, 0);
        pidfd = -1;
        pid = clone(s_child, stack + sizeof stack, flags, &args, NULL);
    }
    int clone_errno = errno;
    EXEC_UNPOISON(stack, sizeof stack);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return clone_errno;
    if (want_pidfd)
        atomic_store(&s_pidfd_ok, pidfd >= 0);
    if (args.err) {
        /* It has exited already (we slept until then): reap it. */
        if (pidfd >= 0)
            close(pidfd);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return args.err;
    }
    *pid_out = pid;
    *pidfd_out = pidfd;
    return 0;
}

struct exec_child {
    pid_t pid;
    int pidfd;  /* -1: none */
    int fds[2]; /* stdout, stderr read ends; -1 at EOF */
    sink_t sinks[2];
    bool exited; /* reaped, status known */
    int status;
    char *note; /* replaces stderr: what went wrong on our side */
};

bool
exec_pollable(void)
{
    if (atomic_load(&s_pidfd_ok) == -1) {
        int fd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        if (fd >= 0)
            close(fd);
        atomic_store(&s_pidfd_ok, fd >= 0);
    }
    return atomic_load(&s_pidfd_ok) == 1;
}

int
exec_start(const exec_spec_t *spec, exec_child_t **child_out,
           exec_result_t *result)
{
    memset(result, 0, sizeof *result);
    *child_out = NULL;
    char **argv = s_argv(spec->argv, spec->size);
    if (!argv) {
        s_fail_text(result,
                    "exec: malformed command: the payload must be "
                    "argv as NUL-terminated strings, argv[0] not empty");
        return -1;
    }
    int out_pipe[2], err_pipe[2];
    if (s_pipe(out_pipe) == -1) {
        s_fail(result, argv[0], "pipe", errno);
        free(argv);
        return -1;
    }
    if (s_pipe(err_pipe) == -1) {
        s_fail(result, argv[0], "pipe", errno);
        close(out_pipe[0]);
        close(out_pipe[1]);
        free(argv);
        return -1;
    }
    size_t ours_at;
    char **env = s_environment(spec, &ours_at);
    pid_t pid = 0;
    int pidfd = -1;
    int rc = s_spawn(argv, env, out_pipe[1], err_pipe[1], spec->policy, &pid,
                     &pidfd);
    s_environment_free(env, ours_at);
    /* Our copies of the write ends go now, so EOF means the child (and
       whatever it left holding them) is done. */
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        if (rc == ESRCH && spec->policy && spec->policy->run_as) {
            char text[300];
            snprintf(text, sizeof text,
                     "exec: jobs.exec.run_as: no user "
                     "%.200s on this worker",
                     spec->policy->run_as);
            s_fail_text(result, text);
        }
        else
            s_fail(result, argv[0], NULL, rc);
        free(argv);
        return -1;
    }
    free(argv);
    exec_child_t *child = util_zalloc(sizeof *child);
    child->pid = pid;
    child->pidfd = pidfd;
    child->fds[0] = out_pipe[0];
    child->fds[1] = err_pipe[0];
    for (int i = 0; i < 2; i++)
        child->sinks[i].limit = spec->max_output;
    *child_out = child;
    return 0;
}

pid_t
exec_child_pgid(const exec_child_t *child)
{
    return child->pid;
}

int
exec_child_fd(const exec_child_t *child, int which)
{
    if (which < 2)
        return child->fds[which];
    /* The exit matters only once the pipes are done: until then a
       readable pidfd would wake every poll. */
    if (child->exited || child->fds[0] >= 0 || child->fds[1] >= 0)
        return -1;
    return child->pidfd;
}

/* One read from pipe WHICH into its sink, straight into the sink's
   buffer while it has room, else into scratch and dropped. */
static void
s_child_read(exec_child_t *child, int which)
{
    sink_t *sink = &child->sinks[which];
    uint8_t scratch[4096];
    uint8_t *into = scratch;
    size_t room = sizeof scratch;
    if (sink->size < sink->limit) {
        if (sink->size == sink->cap) {
            size_t want = sink->cap ? sink->cap * 2 : 4096;
            if (want > sink->limit)
                want = sink->limit;
            if (want > EXEC_READ_CHUNK && want - sink->cap > EXEC_READ_CHUNK)
                want = sink->cap + EXEC_READ_CHUNK;
            sink->data = util_realloc(sink->data, want + 1); /* +1: NUL */
            sink->cap = want;
        }
        into = sink->data + sink->size;
        room = sink->cap - sink->size;
    }
    ssize_t got = read(child->fds[which], into, room);
    if (got > 0) {
        if (into != scratch)
            sink->size += (size_t) got;
    }
    else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(child->fds[which]);
        child->fds[which] = -1;
    }
}

static void
s_child_lost(exec_child_t *child)
{
    /* Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) in the
       application): the status is lost. */
    free(child->note);
    child->note = util_strdup("exec: the command's exit status was lost "
                              "(reaped elsewhere)");
    child->status = EXEC_STATUS_NOT_RUN;
    child->exited = true;
}

static int
s_status(int code, int status)
{
    if (code == CLD_EXITED)
        return status;
    if (code == CLD_KILLED || code == CLD_DUMPED)
        return 128 + status;
    return EXEC_STATUS_NOT_RUN;
}

/* Reaps the child if it has exited: the pipes are done, so this is the
   last step. Never blocks. */
static void
s_child_reap(exec_child_t *child)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    while (
        (rc = child->pidfd >= 0
                  ? waitid(EXEC_P_PIDFD, (id_t) child->pidfd, &info,
                           WEXITED | WNOHANG)
                  : waitid(P_PID, (id_t) child->pid, &info, WEXITED | WNOHANG))
            == -1
        && errno == EINTR)
        ;
    if (rc == -1) {
        s_child_lost(child);
        return;
    }
    if (info.si_pid == 0)
        return; /* still running: its pidfd says when */
    child->status = s_status(info.si_code, info.si_status);
    child->exited = true;
}

bool
exec_child_input(exec_child_t *child, int which)
{
    if (which < 2 && child->fds[which] >= 0)
        s_child_read(child, which);
    if (!child->exited && child->fds[0] < 0 && child->fds[1] < 0)
        s_child_reap(child);
    return child->exited;
}

void
exec_child_signal(exec_child_t *child, int sig)
{
    if (!child->exited)
        kill(-child->pid, sig);
}

void
exec_child_finish(exec_child_t **child_p, exec_result_t *result)
{
    exec_child_t *child = *child_p;
    memset(result, 0, sizeof *result);
    for (int i = 0; i < 2; i++)
        if (child->fds[i] >= 0)
            close(child->fds[i]);
    if (!child->exited) {
        /* Not done: end it, as a forced stop would (callers wait for
           exec_child_input() to say done). */
        kill(-child->pid, SIGKILL);
        siginfo_t info;
        memset(&info, 0, sizeof info);
        int rc;
        while ((rc = waitid(P_PID, (id_t) child->pid, &info, WEXITED)) == -1
               && errno == EINTR)
            ;
        if (rc == -1)
            s_child_lost(child);
        else
            child->status = s_status(info.si_code, info.si_status);
    }
    if (child->pidfd >= 0)
        close(child->pidfd);
    result->status = child->status;
    result->out = s_sink_take(&child->sinks[0], &result->out_size);
    result->err = (char *) s_sink_take(&child->sinks[1], &result->err_size);
    if (child->note) {
        free(result->err);
        result->err = child->note;
        result->err_size = strlen(child->note);
    }
    free(child);
    *child_p = NULL;
}

/* Waits for the child to exit without reaping it, tells on_pgid it is
   gone, then reaps it. Until the reap the pid (and so the group id)
   cannot be reused, so a KILL from another thread racing with the exit
   is harmless. */
static void
s_wait(const exec_spec_t *spec, exec_child_t *child)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t) child->pid, &info, WEXITED | WNOWAIT) == -1
           && errno == EINTR)
        ;
    if (spec->on_pgid)
        spec->on_pgid(0, spec->arg);
    memset(&info, 0, sizeof info);
    int rc;
    while ((rc = waitid(P_PID, (id_t) child->pid, &info, WEXITED)) == -1
           && errno == EINTR)
        ;
    if (rc == -1) {
        s_child_lost(child);
        return;
    }
    child->status = s_status(info.si_code, info.si_status);
    child->exited = true;
}

void
exec_run(const exec_spec_t *spec, exec_result_t *result)
{
    exec_child_t *child;
    if (exec_start(spec, &child, result) != 0)
        return;
    if (spec->on_pgid)
        spec->on_pgid(child->pid, spec->arg);
    /* Both pipes to EOF, by poll: a child that fills stderr while we
       block on stdout would deadlock. */
    while (child->fds[0] >= 0 || child->fds[1] >= 0) {
        struct pollfd fds[2] = {{child->fds[0], POLLIN, 0},
                                {child->fds[1], POLLIN, 0}};
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++)
            if (fds[i].fd >= 0 && fds[i].revents)
                s_child_read(child, i);
    }
    s_wait(spec, child);
    exec_child_finish(&child, result);
}

void
exec_result_fini(exec_result_t *result)
{
    free(result->out);
    free(result->err);
    memset(result, 0, sizeof *result);
}
