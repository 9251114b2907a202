/*  harness - see harness.h. Processes are started with fork+execv (the
    child only does async-signal-safe calls before exec: the test process
    has libzmq threads), reaped with bounded WNOHANG polls, and remembered
    in one registry that the atexit handler empties.
*/
#include "harness.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GORO_BIN_DIR
#error "GORO_BIN_DIR must name the directory of gorod, goro, goro-worker"
#endif

#define S_MAX_PROCS 256   /* processes alive at once, all tests */
#define S_MAX_DIRS 256    /* temp dirs of one test program */
#define S_MAX_STRINGS 64  /* harness_path() results per harness */
#define S_MAX_SPAWNED 16  /* extra processes per harness */
#define S_MAX_ARGS 64     /* harness_cli() arguments */
#define S_STOP_MS 15000   /* over gorod's default 10 s grace */
#define S_DESTROY_MS 5000 /* harness_destroy: SIGTERM, then KILL */

struct harness {
    char *dir;
    char *clients;
    char *workers;
    pid_t pid; /* gorod; 0 once reaped */
    goro_t *client;
    char *strings[S_MAX_STRINGS];
    size_t nstrings;
    pid_t spawned[S_MAX_SPAWNED]; /* 0: free or reaped */
    int captures;                 /* files of harness_cli / harness_spawn */
    long log_from;                /* gorod.log offset of the current run */
};

/* ---- the registry and the atexit handler ------------------------- */

static pid_t s_procs[S_MAX_PROCS];
static char *s_dirs[S_MAX_DIRS];
static int s_atexit_set;

static int
s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

static void
s_rm_tree(const char *dir)
{
    nftw(dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
s_at_exit(void)
{
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i] > 0) {
            kill(s_procs[i], SIGKILL);
            waitpid(s_procs[i], NULL, 0);
            s_procs[i] = 0;
        }
    for (int i = 0; i < S_MAX_DIRS; i++)
        if (s_dirs[i]) {
            if (!getenv("GORO_INTEG_KEEP"))
                s_rm_tree(s_dirs[i]);
            free(s_dirs[i]);
            s_dirs[i] = NULL;
        }
}

static void
s_register_atexit(void)
{
    if (!s_atexit_set) {
        atexit(s_at_exit);
        s_atexit_set = 1;
    }
}

static void
s_proc_add(pid_t pid)
{
    s_register_atexit();
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i] == 0) {
            s_procs[i] = pid;
            return;
        }
    fprintf(stderr, "harness: more than %d processes\n", S_MAX_PROCS);
    abort();
}

static void
s_proc_forget(pid_t pid)
{
    for (int i = 0; i < S_MAX_PROCS; i++)
        if (s_procs[i] == pid)
            s_procs[i] = 0;
}

/* A new mkdtemp dir under $TMPDIR (else /tmp), registered for removal. */
static char *
s_mkdtemp(void)
{
    s_register_atexit();
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/goro-integ-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        abort();
    if (!mkdtemp(dir)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", dir, strerror(errno));
        abort();
    }
    for (int i = 0; i < S_MAX_DIRS; i++)
        if (!s_dirs[i]) {
            s_dirs[i] = strdup(dir);
            return dir;
        }
    fprintf(stderr, "harness: more than %d temp dirs\n", S_MAX_DIRS);
    abort();
}

/* Removes DIR now and from the registry. */
static void
s_rmdir_now(const char *dir)
{
    for (int i = 0; i < S_MAX_DIRS; i++)
        if (s_dirs[i] && strcmp(s_dirs[i], dir) == 0) {
            if (!getenv("GORO_INTEG_KEEP"))
                s_rm_tree(dir);
            free(s_dirs[i]);
            s_dirs[i] = NULL;
        }
}

/* ---- time ------------------------------------------------------------ */

int64_t
harness_now(void)
{
    return util_now(); /* the clock gorod's deadlines are on */
}

int
harness_nap(int64_t deadline)
{
    if (harness_now() >= deadline)
        return 0;
    struct timespec ts = {0, HARNESS_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* ---- files ------------------------------------------------------------ */

char *
harness_read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    size_t size = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + size, 1, cap - size, file)) > 0) {
        size += got;
        if (size == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(file);
    buf[size] = '\0';
    return buf;
}

int
harness_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    if (!file)
        return -1;
    int rc = fputs(text, file) < 0 ? -1 : 0;
    if (fclose(file) != 0)
        rc = -1;
    return rc;
}

char *
harness_wait_line(const char *path, int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    do {
        char *text = harness_read_file(path);
        size_t len = text ? strlen(text) : 0;
        if (len && text[len - 1] == '\n')
            return text;
        free(text);
    } while (harness_nap(until));
    return NULL;
}

/* ---- processes --------------------------------------------------------- */

/* Exit code as a shell reports it. */
static int
s_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* fork + execv of ARGV in CWD with stdin /dev/null, stdout to OUT_PATH
   and stderr to ERR_PATH (the same file if equal). Registered. The child
   gets DEATHSIG when the test program dies: a test killed by the ctest
   TIMEOUT (SIGKILL, no atexit) leaves nothing running either. */
static pid_t
s_start_ex(const char *const *argv, const char *cwd, const char *out_path,
           const char *err_path, int deathsig, int append)
{
    int same = strcmp(out_path, err_path) == 0;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, deathsig);
        if (getppid() != parent)
            _exit(126); /* the test died before prctl took */
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path,
                       O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
                       0600);
        int err = same ? dup(out)
                       : open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (in > 2)
            close(in);
        if (out > 2)
            close(out);
        if (err > 2)
            close(err);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    if (pid > 0)
        s_proc_add(pid);
    return pid;
}

static pid_t
s_start(const char *const *argv, const char *cwd, const char *out_path,
        const char *err_path, int deathsig)
{
    return s_start_ex(argv, cwd, out_path, err_path, deathsig, 0);
}

/* Reaps PID within TIMEOUT_MS. 0 with *STATUS, -1 on timeout. */
static int
s_reap(pid_t pid, int64_t timeout_ms, int *status)
{
    int64_t until = harness_now() + timeout_ms;
    do {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid) {
            s_proc_forget(pid);
            return 0;
        }
        if (got < 0 && errno != EINTR) {
            s_proc_forget(pid);
            *status = 0;
            return -2;
        }
    } while (harness_nap(until));
    return -1;
}

/* SIG, then reaping within TIMEOUT_MS, then SIGKILL. Exit code or -1. */
static int
s_signal_reap(pid_t pid, int sig, int64_t timeout_ms)
{
    int status = 0;
    kill(pid, sig);
    int rc = s_reap(pid, timeout_ms, &status);
    if (rc == 0)
        return s_code(status);
    if (rc == -1) {
        kill(pid, SIGKILL);
        s_reap(pid, HARNESS_WAIT_MS, &status);
    }
    return -1;
}

int
harness_run(const char *dir, const char *const *argv, char **out, char **err,
            int64_t timeout_ms)
{
    static int serial;
    char out_path[4096], err_path[4096];
    serial++;
    snprintf(out_path, sizeof out_path, "%s/run-%d-%d.out", dir,
             (int) getpid(), serial);
    snprintf(err_path, sizeof err_path, "%s/run-%d-%d.err", dir,
             (int) getpid(), serial);
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    pid_t pid = s_start(argv, dir, out_path, err_path, SIGKILL);
    if (pid < 0)
        return -1;
    int status = 0;
    int rc = s_reap(pid, timeout_ms, &status);
    if (rc == -1) {
        fprintf(stderr, "harness: %s still ran after %lld ms; killed\n",
                argv[0], (long long) timeout_ms);
        kill(pid, SIGKILL);
        s_reap(pid, HARNESS_WAIT_MS, &status);
    }
    if (out)
        *out = harness_read_file(out_path);
    if (err)
        *err = harness_read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    return rc == 0 ? s_code(status) : -1;
}

int
harness_wait_gone(pid_t pid, int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    do {
        if (kill(pid, 0) == -1 && errno == ESRCH)
            return 0;
    } while (harness_nap(until));
    return -1;
}

/* 'Z' (zombie) or 'X' (dead) in /proc/PID/stat, or no such process. */
static int
s_dead(pid_t pid)
{
    if (kill(pid, 0) == -1 && errno == ESRCH)
        return 1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    char *stat = harness_read_file(path);
    if (!stat)
        return 1;
    /* pid (comm) S ...: comm may hold spaces and parentheses */
    const char *close = strrchr(stat, ')');
    int dead = !close || close[1] != ' ' || close[2] == 'Z' || close[2] == 'X';
    free(stat);
    return dead;
}

int
harness_wait_dead(pid_t pid, int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    do {
        if (s_dead(pid))
            return 0;
    } while (harness_nap(until));
    return -1;
}

const char *
harness_tmpdir(void)
{
    char *dir = s_mkdtemp();
    /* the registry holds a copy; hand that one out */
    for (int i = 0; i < S_MAX_DIRS; i++)
        if (s_dirs[i] && strcmp(s_dirs[i], dir) == 0) {
            free(dir);
            return s_dirs[i];
        }
    abort();
}

/* ---- gorod ----------------------------------------------------------------
 */

const char *
harness_path(harness_t *self, const char *name)
{
    if (self->nstrings == S_MAX_STRINGS) {
        fprintf(stderr, "harness: more than %d paths\n", S_MAX_STRINGS);
        abort();
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s", self->dir, name) < 0)
        abort();
    self->strings[self->nstrings++] = path;
    return path;
}

char *
harness_log(harness_t *self)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/gorod.log", self->dir);
    char *text = harness_read_file(path);
    return text ? text : strdup("(no log)");
}

static void
s_print_log(harness_t *self, const char *why)
{
    char *log = harness_log(self);
    fprintf(stderr, "harness: %s; gorod's log (%s/gorod.log):\n%s\n", why,
            self->dir, log);
    free(log);
}

int
harness_wait_log(harness_t *self, const char *needle, int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    for (;;) {
        char *log = harness_log(self);
        int found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return 0;
        if (!harness_nap(until))
            break;
    }
    char why[256];
    snprintf(why, sizeof why, "no \"%s\" in the log", needle);
    s_print_log(self, why);
    return -1;
}

#define S_MAX_GOROD_ARGS 16 /* extra gorod arguments */

/* Starts gorod in SELF's dir with its config, the extra ARGS, its log
   truncated (first start) or appended to, and waits until it answers a
   ping within TIMEOUT_MS. 0; gorod's exit code (> 0) if it exited; -1
   if it did not come up (it is then killed). *WHY says what went wrong. */
static int
s_launch(harness_t *self, const char *const *args, int append,
         int64_t timeout_ms, const char **why)
{
    char config_path[4096], endpoints[4096], log_path[4096];
    snprintf(config_path, sizeof config_path, "%s/goro.yaml", self->dir);
    snprintf(endpoints, sizeof endpoints, "%s/endpoints", self->dir);
    snprintf(log_path, sizeof log_path, "%s/gorod.log", self->dir);
    const char *argv[S_MAX_GOROD_ARGS + 6] = {
        GORO_BIN_DIR "/gorod", "-c", config_path, "--endpoints", endpoints};
    int argc = 5;
    for (; args && *args && argc < S_MAX_GOROD_ARGS + 5; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    unlink(endpoints); /* a restart must wait for a new one */
    struct stat st;
    self->log_from = append && stat(log_path, &st) == 0 ? (long) st.st_size
                                                        : 0;
    /* SIGTERM: gorod then stops its pool itself */
    self->pid = s_start_ex(argv, self->dir, log_path, log_path, SIGTERM,
                           append);
    if (self->pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        abort();
    }

    /* The file appears (by rename, so whole) once gorod listens. */
    int64_t until = harness_now() + timeout_ms;
    char *text = NULL;
    int status = 0;
    do {
        pid_t got = waitpid(self->pid, &status, WNOHANG);
        if (got == self->pid) {
            s_proc_forget(self->pid);
            self->pid = 0;
            *why = "gorod exited at start";
            int code = s_code(status);
            return code > 0 ? code : 255;
        }
        text = harness_read_file(endpoints);
    } while (!text && harness_nap(until));
    if (!text) {
        *why = "gorod wrote no endpoints file in time";
        goto fail;
    }
    char *newline = strchr(text, '\n');
    free(self->clients);
    free(self->workers);
    self->clients = self->workers = NULL;
    if (newline) {
        *newline = '\0';
        self->clients = strdup(text);
        char *second = newline + 1;
        char *end = strchr(second, '\n');
        if (end)
            *end = '\0';
        self->workers = strdup(second);
    }
    free(text);
    if (!self->clients || !self->workers || !*self->workers) {
        *why = "the endpoints file is not two lines";
        goto fail;
    }
    goro_destroy(&self->client);
    int64_t left = until - harness_now();
    int rc = goro_ping(harness_client(self), left > 100 ? left : 100);
    if (rc != GORO_OK) {
        *why = goro_strerror(rc);
        goto fail;
    }
    return 0;
fail:
    if (self->pid > 0) {
        s_signal_reap(self->pid, SIGKILL, HARNESS_WAIT_MS);
        self->pid = 0;
    }
    return -1;
}

harness_t *
harness_start_opts(const harness_opts_t *opts)
{
    harness_t *self = calloc(1, sizeof *self);
    self->dir = s_mkdtemp();
    const char *yaml = opts && opts->yaml ? opts->yaml : "";

    char listen[4096];
    if (opts && opts->ipc)
        snprintf(listen, sizeof listen,
                 "listen:\n"
                 "  clients: \"ipc://%s/clients.sock\"\n"
                 "  workers: \"ipc://%s/workers.sock\"\n",
                 self->dir, self->dir);
    else
        snprintf(listen, sizeof listen,
                 "listen:\n"
                 "  clients: \"tcp://127.0.0.1:*\"\n"
                 "  workers: \"tcp://127.0.0.1:*\"\n");
    char config[8192];
    int len = snprintf(
        config, sizeof config,
        "# generated by tests/integ/harness.c\n"
        "%s%s%s",
        listen, strstr(yaml, "heartbeat:") ? "" : HARNESS_HEARTBEAT, yaml);
    if (len < 0 || (size_t) len >= sizeof config) {
        fprintf(stderr, "harness: config too long\n");
        abort();
    }
    char config_path[4096];
    snprintf(config_path, sizeof config_path, "%s/goro.yaml", self->dir);
    if (harness_write_file(config_path, config) != 0) {
        fprintf(stderr, "harness: cannot write %s\n", config_path);
        abort();
    }
    const char *why = NULL;
    if (s_launch(self, opts ? opts->args : NULL, 0, HARNESS_WAIT_MS, &why)
        != 0) {
        s_print_log(self, why);
        harness_destroy(&self);
        return NULL;
    }
    return self;
}

harness_t *
harness_start(const char *yaml)
{
    harness_opts_t opts = {yaml, 0, NULL};
    return harness_start_opts(&opts);
}

int
harness_kill(harness_t *self, int sig, int64_t timeout_ms)
{
    if (!harness_running(self))
        return -1;
    int code = s_signal_reap(self->pid, sig, timeout_ms);
    self->pid = 0;
    return code;
}

int
harness_restart(harness_t *self, const char *const *args, int64_t timeout_ms)
{
    if (harness_running(self)) {
        fprintf(stderr, "harness: restart while gorod %d runs\n",
                (int) self->pid);
        return -1;
    }
    const char *why = NULL;
    int rc = s_launch(self, args, 1, timeout_ms, &why);
    if (rc < 0) {
        char *log = harness_log_run(self);
        fprintf(stderr,
                "harness: restart: %s; gorod's log of this run:\n"
                "%s\n",
                why, log);
        free(log);
    }
    return rc;
}

char *
harness_log_run(harness_t *self)
{
    char *log = harness_log(self);
    size_t len = strlen(log);
    if (self->log_from > 0 && (size_t) self->log_from <= len)
        memmove(log, log + self->log_from, len - (size_t) self->log_from + 1);
    return log;
}

const char *
harness_dir(harness_t *self)
{
    return self->dir;
}

const char *
harness_clients(harness_t *self)
{
    return self->clients;
}

const char *
harness_workers(harness_t *self)
{
    return self->workers;
}

pid_t
harness_pid(harness_t *self)
{
    return self->pid;
}

goro_t *
harness_client(harness_t *self)
{
    if (!self->client)
        self->client = goro_new(self->clients);
    return self->client;
}

int
harness_running(harness_t *self)
{
    if (self->pid <= 0)
        return 0;
    int status;
    pid_t got = waitpid(self->pid, &status, WNOHANG);
    if (got == self->pid || (got < 0 && errno == ECHILD)) {
        if (got == self->pid)
            fprintf(stderr,
                    "harness: gorod %d ended on its own (exit "
                    "code %d)\n",
                    (int) self->pid, s_code(status));
        s_proc_forget(self->pid);
        self->pid = 0;
        return 0;
    }
    return 1;
}

long long
harness_json_number(const char *text, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = text ? strstr(text, pattern) : NULL;
    return at ? strtoll(at + strlen(pattern), NULL, 10) : -1;
}

long long
harness_stat(harness_t *self, const char *key)
{
    char *text = NULL;
    long long value = -1;
    if (goro_stats(harness_client(self), GORO_LIST_JSON, &text) == GORO_OK)
        value = harness_json_number(text, key);
    goro_free(text);
    return value;
}

int
harness_chan_row(harness_t *self, const char *name, harness_chan_t *row)
{
    char *text = NULL;
    int rc = -1;
    if (goro_stats(harness_client(self), GORO_LIST_JSON, &text) != GORO_OK)
        return -1;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "{\"name\":\"%s\",", name);
    const char *at = strstr(text, pattern);
    char closed[8] = "";
    if (at
        && sscanf(at + strlen(pattern),
                  "\"capacity\":%lld,\"buffered\":"
                  "%lld,\"senders\":%lld,\"receivers\":%lld,\"closed\":"
                  "%5[a-z]",
                  &row->capacity, &row->buffered, &row->senders,
                  &row->receivers, closed)
               == 5) {
        row->closed = strcmp(closed, "true") == 0;
        rc = 0;
    }
    goro_free(text);
    return rc;
}

int
harness_wait_workers(harness_t *self, int n, int64_t timeout_ms)
{
    int64_t until = harness_now() + timeout_ms;
    long long last = -1;
    do {
        char *text = NULL;
        if (goro_stats(harness_client(self), GORO_LIST_JSON, &text) == GORO_OK)
            last = harness_json_number(text, "workers");
        goro_free(text);
        if (last == n)
            return 0;
    } while (harness_nap(until));
    fprintf(stderr, "harness: %lld workers after %lld ms, expected %d\n", last,
            (long long) timeout_ms, n);
    return -1;
}

int
harness_worker_pids(harness_t *self, pid_t *pids, int max)
{
    char *text = NULL;
    if (goro_workers_list(harness_client(self), GORO_LIST_JSON, &text)
        != GORO_OK)
        return -1;
    int n = 0;
    for (const char *at = strstr(text, "\"pid\":"); at && n < max;
         at = strstr(at + 1, "\"pid\":"))
        pids[n++] = (pid_t) strtol(at + 6, NULL, 10);
    goro_free(text);
    return n;
}

int
harness_stop_within(harness_t *self, int64_t timeout_ms)
{
    if (!harness_running(self))
        return -1;
    /* Our client first: gorod would only see it gone. */
    goro_destroy(&self->client);
    int code = s_signal_reap(self->pid, SIGTERM, timeout_ms);
    if (code == -1)
        s_print_log(self, "gorod did not stop on SIGTERM in time");
    else if (code != 0)
        s_print_log(self, "gorod exited with a non-zero code");
    self->pid = 0;
    return code;
}

int
harness_stop(harness_t *self)
{
    return harness_stop_within(self, S_STOP_MS);
}

/* ---- extra processes and the CLI -----------------------------------------
 */

pid_t
harness_spawn(harness_t *self, const char *const *argv)
{
    int slot = -1;
    for (int i = 0; i < S_MAX_SPAWNED && slot < 0; i++)
        if (self->spawned[i] == 0)
            slot = i;
    if (slot < 0)
        return -1;
    char log_path[4096];
    snprintf(log_path, sizeof log_path, "%s/spawn-%d.log", self->dir,
             ++self->captures);
    pid_t pid = s_start(argv, self->dir, log_path, log_path, SIGKILL);
    if (pid > 0)
        self->spawned[slot] = pid;
    return pid;
}

int
harness_signal(harness_t *self, pid_t pid, int sig, int64_t timeout_ms)
{
    for (int i = 0; i < S_MAX_SPAWNED; i++)
        if (self->spawned[i] == pid)
            self->spawned[i] = 0;
    return s_signal_reap(pid, sig, timeout_ms);
}

int
harness_poll_exit(harness_t *self, pid_t pid, int *code)
{
    int slot = -1;
    for (int i = 0; i < S_MAX_SPAWNED; i++)
        if (self->spawned[i] == pid && pid > 0)
            slot = i;
    if (slot < 0)
        return -1;
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR))
        return 0;
    s_proc_forget(pid);
    self->spawned[slot] = 0;
    if (code)
        *code = got == pid ? s_code(status) : -1;
    return 1;
}

int
harness_cliv(harness_t *self, char **out, char **err, const char *const *args)
{
    const char *argv[S_MAX_ARGS + 4] = {GORO_BIN_DIR "/goro", "-e",
                                        self->clients};
    int argc = 3;
    for (; *args && argc < S_MAX_ARGS + 3; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    return harness_run(self->dir, argv, out, err, HARNESS_WAIT_MS * 3);
}

int
harness_cli(harness_t *self, char **out, char **err, ...)
{
    const char *args[S_MAX_ARGS + 1];
    int argc = 0;
    va_list list;
    va_start(list, err);
    const char *arg;
    while ((arg = va_arg(list, const char *)) && argc < S_MAX_ARGS)
        args[argc++] = arg;
    va_end(list);
    args[argc] = NULL;
    return harness_cliv(self, out, err, args);
}

/* Cancels every job gorod still runs or queues, so that a test that
   failed half-way leaves no `sleep 30` behind and gorod stops at once. */
static void
s_cancel_all(harness_t *self)
{
    char *text = NULL;
    goro_t *client = harness_client(self);
    if (goro_ping(client, 1000) != GORO_OK
        || goro_jobs_list(client, GORO_LIST_JSON, &text) != GORO_OK)
        return;
    for (const char *at = strstr(text, "{\"id\":"); at;
         at = strstr(at + 1, "{\"id\":")) {
        uint64_t id = strtoull(at + 6, NULL, 10);
        const char *state = strstr(at, "\"state\":\"");
        if (state
            && (strncmp(state + 9, "running\"", 8) == 0
                || strncmp(state + 9, "queued\"", 7) == 0))
            goro_job_cancel(client, id);
    }
    goro_free(text);
}

void
harness_destroy(harness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    harness_t *self = *self_p;
    if (harness_running(self))
        s_cancel_all(self);
    goro_destroy(&self->client);
    if (harness_running(self)) {
        if (s_signal_reap(self->pid, SIGTERM, S_DESTROY_MS) == -1)
            fprintf(stderr, "harness: gorod %d needed SIGKILL\n",
                    (int) self->pid);
        self->pid = 0;
    }
    for (int i = 0; i < S_MAX_SPAWNED; i++)
        if (self->spawned[i] > 0) {
            s_signal_reap(self->spawned[i], SIGKILL, S_DESTROY_MS);
            self->spawned[i] = 0;
        }
    s_rmdir_now(self->dir);
    for (size_t i = 0; i < self->nstrings; i++)
        free(self->strings[i]);
    free(self->dir);
    free(self->clients);
    free(self->workers);
    free(self);
    *self_p = NULL;
}

pid_t
harness_spawn_role(harness_t *self, const char *role, ...)
{
    const char *argv[24] = {harness_self(), "--child", role,
                            harness_clients(self)};
    int argc = 4;
    va_list args;
    va_start(args, role);
    const char *arg;
    while ((arg = va_arg(args, const char *)) && argc < 23)
        argv[argc++] = arg;
    va_end(args);
    argv[argc] = NULL;
    pid_t pid = harness_spawn(self, argv);
    if (pid <= 0)
        fail_msg("harness: cannot start child %s", role);
    return pid;
}

const char *
harness_self(void)
{
    static char self[PATH_MAX];
    if (!*self) {
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0) {
            perror("harness: readlink /proc/self/exe");
            abort();
        }
        self[len] = '\0';
    }
    return self;
}

int
harness_is_child(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "--child") == 0;
}

int
harness_child_main(int argc, char **argv, const harness_role_t *roles,
                   int skip)
{
    if (argc < 4 + skip)
        return 101;
    const char *role = argv[2];
    goro_t *client = goro_new(argv[3]);
    if (!client)
        return 101;
    int rc = 101;
    for (const harness_role_t *r = roles; r->name; r++)
        if (strcmp(r->name, role) == 0) {
            rc = r->fn(client, argc - 4 - skip, argv + 4 + skip);
            break;
        }
    goro_destroy(&client);
    if (rc)
        fprintf(stderr, "child %s: %d (%s)\n", role, rc,
                rc < GORO_ERROR_MAX ? goro_strerror(rc) : "test check");
    return rc;
}

harness_t *
harness_up(void **state, const char *yaml)
{
    harness_opts_t opts = {.yaml = yaml};
    return harness_up_opts(state, &opts);
}

harness_t *
harness_up_opts(void **state, const harness_opts_t *opts)
{
    *state = harness_start_opts(opts);
    assert_non_null(*state);
    return *state;
}

void
harness_finish(void **state)
{
    assert_int_equal(harness_stop(*state), 0);
    harness_destroy((harness_t **) state);
}

/* The process harness_freeze() stopped, 0 if none. */
static pid_t s_frozen;

int
harness_freeze(pid_t pid)
{
    if (kill(pid, SIGSTOP) != 0)
        return -1;
    s_frozen = pid;
    return 0;
}

void
harness_thaw(void)
{
    if (s_frozen > 0)
        kill(s_frozen, SIGCONT);
    s_frozen = 0;
}

int
harness_teardown(void **state)
{
    harness_thaw();
    harness_destroy((harness_t **) state);
    return 0;
}

uint64_t
harness_go_sh(harness_t *self, const char *script, const goro_opts_t *opts)
{
    char text[4096];
    size_t used = 0;
    for (const char *p = script; *p; p++) {
        const char *piece = p[0] == '@' && p[1] == 'D' ? self->dir : NULL;
        size_t len = piece ? strlen(piece) : 1;
        assert_true(used + len < sizeof text);
        memcpy(text + used, piece ? piece : p, len);
        used += len;
        if (piece)
            p++;
    }
    text[used] = '\0';
    const char *argv[] = {"sh", "-c", text, NULL};
    uint64_t id = 0;
    int rc = goro_go_exec(harness_client(self), argv, opts, &id);
    if (rc != GORO_OK)
        fail_msg("submit of sh -c %s: %s", text, goro_strerror(rc));
    assert_true(id > 0);
    return id;
}

goro_job_t *
harness_wait_job(harness_t *self, uint64_t id, int64_t timeout_ms)
{
    goro_job_t *job = NULL;
    int rc = goro_job_wait(harness_client(self), id, timeout_ms, &job);
    if (rc != GORO_OK) {
        char *log = harness_log_run(self);
        fail_msg("wait for job %llu: %s\ngorod's log:\n%s",
                 (unsigned long long) id, goro_strerror(rc), log);
    }
    assert_true(goro_job_id(job) == id);
    return job;
}

void
harness_read_pids(const char *path, pid_t *first, pid_t *second)
{
    char *line = harness_wait_line(path, HARNESS_WAIT_MS);
    if (!line)
        fail_msg("%s did not appear", path);
    int a = 0, b = 0;
    int got = sscanf(line, "%d %d", &a, &b);
    free(line);
    assert_true(got >= 1 && a > 1);
    *first = a;
    if (second) {
        assert_int_equal(got, 2);
        assert_true(b > 1);
        *second = b;
    }
}
