/*  pool - starts, restarts and stops local worker processes.

    Children are started with fork+exec rather than posix_spawn so that
    each can ask the kernel (PR_SET_PDEATHSIG) to be told if gorod dies
    without stopping them, even by SIGKILL. Each gets GORO_POOL in its
    environment and joins through the workers endpoint.
*/
#include "pool.h"
#include "affinity.h"
#include "heap.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL_BACKOFF_MIN_MS 100   /* first restart delay */
#define POOL_BACKOFF_MAX_MS 10000 /* a crash loop costs a start per 10 s */
#define POOL_STABLE_MS 10000      /* ran this long: backoff starts over */

typedef struct {
    const config_pool_t *conf;
    int index;
    pid_t pid; /* 0 while not running */
    int64_t started_at;
    int64_t backoff_ms;
    heap_node_t restart;
} slot_t;

struct pool {
    slot_t *slots;
    size_t nslots;
    char *worker_cmd;
    char *endpoint;
    heap_t *heap;
    uint64_t max_output;      /* jobs.exec.max_output */
    char *cert, *server_cert; /* CURVE files for the children, or NULL */
    bool stopping;
};

pool_t *
pool_new(const config_t *cfg, const char *worker_cmd,
         const char *workers_endpoint, const char *cert,
         const char *server_cert, heap_t *heap, int kind)
{
    pool_t *self = util_zalloc(sizeof *self);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (size_t p = 0; p < cfg->npools; p++) {
        const config_pool_t *conf = &cfg->pools[p];
        int count = conf->processes ? conf->processes
                                    : (int) (cpus > 0 ? cpus : 1);
        self->slots = util_realloc(
            self->slots, sizeof(slot_t) * (self->nslots + (size_t) count));
        for (int i = 0; i < count; i++) {
            slot_t *slot = &self->slots[self->nslots++];
            memset(slot, 0, sizeof *slot);
            slot->conf = conf;
            slot->index = i;
            slot->backoff_ms = POOL_BACKOFF_MIN_MS;
            heap_node_init(&slot->restart, kind);
        }
    }
    self->worker_cmd = util_strdup(worker_cmd);
    self->endpoint = util_strdup(workers_endpoint);
    self->heap = heap;
    self->max_output = cfg->exec_max_output;
    self->cert = util_strdup(cert);
    self->server_cert = util_strdup(server_cert);
    return self;
}

void
pool_destroy(pool_t **self_p)
{
    if (self_p && *self_p) {
        pool_t *self = *self_p;
        for (size_t i = 0; i < self->nslots; i++)
            heap_cancel(self->heap, &self->slots[i].restart);
        free(self->slots);
        free(self->worker_cmd);
        free(self->endpoint);
        free(self->cert);
        free(self->server_cert);
        free(self);
        *self_p = NULL;
    }
}

/* The name a slot's process is started with, and its worker registers
   with: POOL/N. */
static void
s_slot_name(const slot_t *slot, char *name, size_t size)
{
    snprintf(name, size, "%s/%d", slot->conf->name, slot->index);
}

/* The command splits on blanks into argv (no shell), then gets the
   worker's own flags appended. */
static char **
s_argv(pool_t *self, slot_t *slot)
{
    const char *command = slot->conf->command ? slot->conf->command
                                              : self->worker_cmd;
    char *copy = util_strdup(command);
    size_t argc = 0;
    char **argv = util_zalloc(sizeof(char *) * (strlen(copy) / 2 + 14));
    for (char *save, *word = strtok_r(copy, " \t", &save); word;
         word = strtok_r(NULL, " \t", &save))
        argv[argc++] = util_strdup(word);
    free(copy);
    char concurrency[16], prefetch[16], name[300], max_output[32];
    snprintf(concurrency, sizeof concurrency, "%d", slot->conf->concurrency);
    snprintf(prefetch, sizeof prefetch, "%d", slot->conf->prefetch);
    snprintf(max_output, sizeof max_output, "%llu",
             (unsigned long long) self->max_output);
    s_slot_name(slot, name, sizeof name);
    const char *extra[] = {"--connect",    self->endpoint, "--concurrency",
                           concurrency,    "--name",       name,
                           "--max-output", max_output,     "--prefetch",
                           prefetch};
    /* --prefetch only when asked for: a pool's own command may not know
       it. */
    size_t nextra = sizeof extra / sizeof extra[0];
    if (slot->conf->prefetch == 0)
        nextra -= 2;
    for (size_t i = 0; i < nextra; i++)
        argv[argc++] = util_strdup(extra[i]);
    return argv;
}

static void
s_argv_free(char **argv)
{
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static void
s_spawn(pool_t *self, slot_t *slot)
{
    char **argv = s_argv(self, slot);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0); /* gorod died before prctl took */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        affinity_restore(); /* loop.cpu is gorod's, not its workers' */
        setenv("GORO_POOL", slot->conf->name, 1);
        if (self->cert) {
            setenv("GORO_CERT", self->cert, 1);
            setenv("GORO_SERVER_CERT", self->server_cert, 1);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "gorod: cannot start worker %s: %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        log_error("pool %s: fork failed: %s", slot->conf->name,
                  strerror(errno));
        heap_arm(self->heap, &slot->restart, util_now() + slot->backoff_ms);
    }
    else {
        slot->pid = pid;
        slot->started_at = util_now();
        log_debug("pool %s/%d: started %s (pid %d)", slot->conf->name,
                  slot->index, argv[0], (int) pid);
    }
    s_argv_free(argv);
}

void
pool_start(pool_t *self)
{
    for (size_t i = 0; i < self->nslots; i++)
        s_spawn(self, &self->slots[i]);
}

static slot_t *
s_slot_of(pool_t *self, pid_t pid)
{
    for (size_t i = 0; i < self->nslots; i++)
        if (self->slots[i].pid == pid)
            return &self->slots[i];
    return NULL;
}

void
pool_reap(pool_t *self, pool_exit_fn *on_exit, void *arg)
{
    /* Only our own children: gorod has others (a journal compaction). */
    for (size_t i = 0; i < self->nslots; i++) {
        slot_t *slot = &self->slots[i];
        int status;
        pid_t pid = slot->pid;
        if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
            continue;
        slot->pid = 0;
        if (on_exit) {
            char name[300];
            s_slot_name(slot, name, sizeof name);
            on_exit(arg, pid, name);
        }
        if (self->stopping)
            continue;
        int64_t now = util_now();
        if (now - slot->started_at >= POOL_STABLE_MS)
            slot->backoff_ms = POOL_BACKOFF_MIN_MS;
        if (WIFSIGNALED(status))
            log_warn("pool %s/%d: worker %d killed by signal %d; restart "
                     "in %lld ms",
                     slot->conf->name, slot->index, (int) pid,
                     WTERMSIG(status), (long long) slot->backoff_ms);
        else
            log_warn("pool %s/%d: worker %d exited with status %d; restart "
                     "in %lld ms",
                     slot->conf->name, slot->index, (int) pid,
                     WEXITSTATUS(status), (long long) slot->backoff_ms);
        heap_arm(self->heap, &slot->restart, now + slot->backoff_ms);
        slot->backoff_ms *= 2;
        if (slot->backoff_ms > POOL_BACKOFF_MAX_MS)
            slot->backoff_ms = POOL_BACKOFF_MAX_MS;
    }
}

void
pool_on_deadline(pool_t *self, heap_node_t *node)
{
    slot_t *slot = container_of(node, slot_t, restart);
    if (!self->stopping && slot->pid == 0)
        s_spawn(self, slot);
}

void
pool_stop(pool_t *self, int64_t grace_ms)
{
    self->stopping = true;
    for (size_t i = 0; i < self->nslots; i++) {
        heap_cancel(self->heap, &self->slots[i].restart);
        if (self->slots[i].pid > 0)
            kill(self->slots[i].pid, SIGTERM);
    }
    int64_t deadline = util_now() + grace_ms;
    while (pool_alive(self) > 0) {
        pool_reap(self, NULL, NULL);
        if (pool_alive(self) == 0)
            break;
        if (util_now() >= deadline) {
            for (size_t i = 0; i < self->nslots; i++)
                if (self->slots[i].pid > 0) {
                    log_warn("pool: worker %d did not stop; killing it",
                             (int) self->slots[i].pid);
                    kill(self->slots[i].pid, SIGKILL);
                    waitpid(self->slots[i].pid, NULL, 0);
                    self->slots[i].pid = 0;
                }
            break;
        }
        usleep(10000); /* children give no fd to wait on */
    }
}

const char *
pool_name_of(pool_t *self, pid_t pid)
{
    slot_t *slot = s_slot_of(self, pid);
    return slot ? slot->conf->name : NULL;
}

size_t
pool_alive(pool_t *self)
{
    size_t alive = 0;
    for (size_t i = 0; i < self->nslots; i++)
        alive += self->slots[i].pid > 0;
    return alive;
}
