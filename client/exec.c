/*  exec - runs one `exec` job: posix_spawnp of an argv, no shell.

    The child gets its own process group (so a KILL takes its whole tree
    with one kill(-pgid)), stdin from /dev/null, stdout and stderr on
    pipes, default signal dispositions and an empty signal mask (the
    worker ignores SIGPIPE and blocks SIGINT/SIGTERM in its job threads;
    a command must not inherit either), and the worker's environment plus
    GORO_ENDPOINT, GORO_JOB_ID and GORO_ATTEMPT.

    Several job threads spawn at once, so every descriptor we create is
    O_CLOEXEC from birth: the dup2 file actions clear the flag on the
    child's 1 and 2 only, and no sibling inherits another job's pipe (which
    would hold that job's EOF back until the sibling exits). Where glibc
    has it, closefrom(3) in the child also drops descriptors that the
    application leaked without O_CLOEXEC.

    With a policy (gorod's jobs.exec), only the variables it allows are
    kept, and a command with a user or resource limits is started by fork
    instead: posix_spawn can do neither. That child calls only
    async-signal-safe functions before execve, as a child of a threaded
    process must, with the program path and the user looked up before the
    fork.

    The job ends when both pipes reach EOF and then the child is reaped; a
    background process that keeps stdout open keeps the job running, as in
    a shell's $(...). This module does not enforce timeouts: the daemon
    sends KILL, and the worker kills the group we report through on_pgid.
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
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Bytes read per read(2): the default pipe capacity on Linux, so one
   read usually empties the pipe. */
#define EXEC_READ_CHUNK 65536

/* The variables we set; any inherited value of these is dropped. */
static const char *const s_goro_vars[] = {"GORO_ENDPOINT=", "GORO_JOB_ID=",
                                          "GORO_ATTEMPT="};
#define GORO_VARS (sizeof s_goro_vars / sizeof s_goro_vars[0])
/* Room for "GORO_JOB_ID=" and a 64-bit id's 20 digits, and a NUL. */
#define EXEC_VAR_SIZE 40

/* A growing byte buffer that keeps at most LIMIT bytes. */
typedef struct {
    uint8_t *data;
    size_t size, cap, limit;
} sink_t;

static void
s_sink_put(sink_t *sink, const uint8_t *data, size_t size)
{
    size_t room = sink->limit - sink->size;
    if (size > room)
        size = room; /* the rest is drained and dropped */
    if (size == 0)
        return;
    if (sink->size + size > sink->cap) {
        size_t want = sink->cap ? sink->cap * 2 : 4096;
        while (want < sink->size + size)
            want *= 2;
        if (want > sink->limit)
            want = sink->limit;
        sink->data = util_realloc(sink->data, want + 1); /* +1: NUL */
        sink->cap = want;
    }
    memcpy(sink->data + sink->size, data, size);
    sink->size += size;
}

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

/* Reads both pipes to EOF, keeping what the sinks allow. Poll, not two
   blocking reads: a child that fills stderr while we block on stdout
   would deadlock. */
static void
s_drain(int out_fd, int err_fd, sink_t *out, sink_t *err)
{
    uint8_t *chunk = util_zalloc(EXEC_READ_CHUNK);
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    sink_t *sinks[2] = {out, err};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            ssize_t got = read(fds[i].fd, chunk, EXEC_READ_CHUNK);
            if (got > 0)
                s_sink_put(sinks[i], chunk, (size_t) got);
            else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1; /* poll ignores negative fds */
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    free(chunk);
}

/* Waits for the child to exit without reaping it, tells on_pgid it is
   gone, then reaps it. Until the reap the pid (and so the group id)
   cannot be reused, so a KILL racing with the exit is harmless. */
static int
s_wait(const exec_spec_t *spec, pid_t pid, exec_result_t *result)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t) pid, &info, WEXITED | WNOWAIT) == -1
           && errno == EINTR)
        ;
    if (spec->on_pgid)
        spec->on_pgid(0, spec->arg);
    int wstatus;
    pid_t got;
    while ((got = waitpid(pid, &wstatus, 0)) == -1 && errno == EINTR)
        ;
    if (got == -1) {
        /* Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) in
           the application): the status is lost. */
        const char *note = "exec: the command's exit status was lost "
                           "(reaped elsewhere)";
        free(result->err);
        result->err = util_strdup(note);
        result->err_size = strlen(note);
        return EXEC_STATUS_NOT_RUN;
    }
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return EXEC_STATUS_NOT_RUN;
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

/* Whether the command needs the fork path: posix_spawn can neither
   change the user nor set resource limits. */
static bool
s_needs_fork(const exec_policy_t *policy)
{
    return policy
           && (policy->run_as || policy->cpu_s || policy->memory
               || policy->files || policy->procs);
}

/* The program for ARGV0 as execvp would find it, looked up before the
   fork (execvp may allocate). 0, or an errno. */
static int
s_resolve(const char *argv0, char **env, char *path, size_t size)
{
    if (strchr(argv0, '/')) {
        snprintf(path, size, "%s", argv0);
        return access(path, X_OK) == 0 ? 0 : errno;
    }
    const char *dirs = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = env; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            dirs = *e + 5;
    int err = ENOENT;
    while (*dirs) {
        size_t len = strcspn(dirs, ":");
        snprintf(path, size, "%.*s/%s", (int) len, len ? dirs : ".", argv0);
        if (access(path, X_OK) == 0)
            return 0;
        if (errno == EACCES)
            err = EACCES;
        dirs += len + (dirs[len] == ':');
    }
    return err;
}

static void
s_child_fail(int report, int step_errno)
{
    int err = step_errno;
    if (write(report, &err, sizeof err) < 0) {
        /* nothing left to tell it with */
    }
    _exit(EXEC_STATUS_NOT_RUN);
}

static void
s_limit(int resource, uint64_t value, int report)
{
    if (!value)
        return;
    struct rlimit limit = {(rlim_t) value, (rlim_t) value};
    if (setrlimit(resource, &limit) != 0)
        s_child_fail(report, errno);
}

/* fork + execve with the policy's user and limits. Between fork and
   execve the child calls only async-signal-safe functions; a failure is
   sent back as an errno over REPORT (close-on-exec: EOF means execve
   worked). 0 with *PID_OUT, or an errno. */
static int
s_fork_exec(char **argv, char **env, int out_fd, int err_fd,
            const exec_policy_t *policy, pid_t *pid_out)
{
    char path[4096];
    int err = s_resolve(argv[0], env, path, sizeof path);
    if (err)
        return err;
    uid_t uid = 0;
    gid_t gid = 0;
    if (policy->run_as) {
        struct passwd pw, *found = NULL;
        char buf[4096];
        if (getpwnam_r(policy->run_as, &pw, buf, sizeof buf, &found) != 0
            || !found)
            return ESRCH; /* "no such user" */
        uid = pw.pw_uid;
        gid = pw.pw_gid;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return errno;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler in the child */
    pid_t pid = fork();
    if (pid == 0) {
        static const int reset[] = {SIGHUP,  SIGINT,  SIGQUIT,
                                    SIGPIPE, SIGTERM, SIGCHLD,
                                    SIGUSR1, SIGUSR2, SIGALRM};
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
            sigaction(reset[i], &dfl, NULL);
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0
            || dup2(err_fd, 2) < 0)
            s_child_fail(report[1], errno);
        /* Everything else goes, but the report pipe (close-on-exec). */
        if (report[1] > 3)
            syscall(SYS_close_range, 3, report[1] - 1, 0);
        syscall(SYS_close_range, report[1] + 1, ~0U, 0);
        s_limit(RLIMIT_CPU, policy->cpu_s, report[1]);
        s_limit(RLIMIT_AS, policy->memory, report[1]);
        s_limit(RLIMIT_NOFILE, policy->files, report[1]);
        s_limit(RLIMIT_NPROC, policy->procs, report[1]);
        if (policy->run_as
            && (setgroups(1, &gid) != 0 || setgid(gid) != 0
                || setuid(uid) != 0))
            s_child_fail(report[1], errno);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, env);
        s_child_fail(report[1], errno);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        return fork_errno;
    }
    int child_errno = 0;
    ssize_t got;
    while ((got = read(report[0], &child_errno, sizeof child_errno)) < 0
           && errno == EINTR)
        ;
    close(report[0]);
    if (got == (ssize_t) sizeof child_errno) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return child_errno;
    }
    *pid_out = pid;
    return 0;
}

void
exec_run(const exec_spec_t *spec, exec_result_t *result)
{
    memset(result, 0, sizeof *result);
    char **argv = s_argv(spec->argv, spec->size);
    if (!argv) {
        s_fail_text(result,
                    "exec: malformed command: the payload must be "
                    "argv as NUL-terminated strings, argv[0] not empty");
        return;
    }
    int out_pipe[2], err_pipe[2];
    if (s_pipe(out_pipe) == -1) {
        s_fail(result, argv[0], "pipe", errno);
        goto error1;
    }
    if (s_pipe(err_pipe) == -1) {
        s_fail(result, argv[0], "pipe", errno);
        goto error2;
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* Descriptors an application opened without O_CLOEXEC (or inherited)
       are not the command's business either, as with Go's os/exec. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                 | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    /* Ignored dispositions survive exec; handled ones reset anyway. */
    static const int reset[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGPIPE, SIGTERM,
                                SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    sigemptyset(&defaults);
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&defaults, reset[i]);
    posix_spawnattr_setsigdefault(&attr, &defaults);

    size_t ours_at;
    char **env = s_environment(spec, &ours_at);
    pid_t pid;
    int rc = s_needs_fork(spec->policy)
                 ? s_fork_exec(argv, env, out_pipe[1], err_pipe[1],
                               spec->policy, &pid)
                 : posix_spawnp(&pid, argv[0], &actions, &attr, argv, env);
    s_environment_free(env, ours_at);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
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
        goto error1;
    }
    if (spec->on_pgid)
        spec->on_pgid(pid, spec->arg);

    sink_t out = {NULL, 0, 0, spec->max_output};
    sink_t err = {NULL, 0, 0, spec->max_output};
    s_drain(out_pipe[0], err_pipe[0], &out, &err);
    result->out = s_sink_take(&out, &result->out_size);
    result->err = (char *) s_sink_take(&err, &result->err_size);
    result->status = s_wait(spec, pid, result);
    free(argv);
    return;

error2:
    close(out_pipe[0]);
    close(out_pipe[1]);
error1:
    free(argv);
}

void
exec_result_fini(exec_result_t *result)
{
    free(result->out);
    free(result->err);
    memset(result, 0, sizeof *result);
}
