/*  gorod - the goro daemon's entry point: arguments, config, the
    fail-closed security check, then the server loop. Exit codes: 0 after a
    clean stop, 1 if it cannot start (e.g. an endpoint is taken, or another
    gorod has the journal), 2 for a usage or config error.
*/
#include "affinity.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"

#include <czmq.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *s_usage =
    "usage: gorod [-c FILE] [--endpoints FILE] [--repair] [-v]\n"
    "  -c, --config FILE     YAML config (default: every key at its default)\n"
    "      --endpoints FILE  write the bound clients and workers endpoints,\n"
    "                        one per line, once listening\n"
    "      --repair          drop a corrupt journal's tail instead of\n"
    "                        refusing to start\n"
    "  -v, --verbose         log at debug level\n"
    "Stops cleanly on SIGTERM or SIGINT; SIGHUP is logged and ignored.\n";

/* True for tcp endpoints bound to loopback only; ipc is local anyway.
   config refused host names and IPv6, so loopback is 127.x.x.x. */
static int
s_is_local(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 1;
    return strncmp(endpoint + 6, "127.", 4) == 0;
}

static int
s_check_security(const config_t *cfg, const char *path)
{
    char err[512];
    if (auth_check(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "gorod: %s: %s\n", path, err);
        return -1;
    }
    const char *endpoints[] = {cfg->listen_clients, cfg->listen_workers};
    for (int i = 0; i < 2; i++)
        if (!s_is_local(endpoints[i]) && !cfg->curve_cert && !cfg->insecure) {
            fprintf(stderr,
                    "gorod: %s: refusing to listen on %s without "
                    "CURVE: anyone who reaches it can run commands. Set "
                    "security.curve (see config/secure.yaml), bind to "
                    "127.0.0.1 or ipc://, or set security.insecure: true "
                    "on a network you trust\n",
                    path, endpoints[i]);
            return -1;
        }
    return 0;
}

/* The worker that ships with gorod lives in the same directory. */
static char *
s_worker_command(void)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return strdup("goro-worker");
    self[len] = '\0';
    char *command = NULL;
    if (asprintf(&command, "%s/goro-worker", dirname(self)) < 0)
        return NULL;
    return command;
}

/* Every connection costs a descriptor, and the soft limit is often 1024
   while the hard one is far higher: take what we may, as Go's runtime
   does, so that a crowd of peers does not lock new clients out. */
static void
s_raise_files_limit(void)
{
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0
        || files.rlim_cur == files.rlim_max)
        return;
    rlim_t was = files.rlim_cur;
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) == 0)
        log_debug("open files limit raised from %llu to %llu",
                  (unsigned long long) was,
                  (unsigned long long) files.rlim_cur);
    else
        log_warn("open files limit stays at %llu: %s",
                 (unsigned long long) was, strerror(errno));
}

static int
s_write_endpoints(const char *path, server_t *server)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen(tmp, "w");
    if (!file)
        return -1;
    fprintf(file, "%s\n%s\n", server_clients_endpoint(server),
            server_workers_endpoint(server));
    /* rename: a reader never sees half a file */
    if (fclose(file) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* Buffers of at least this size are mapped on their own (glibc). */
#define GOROD_MMAP_MIN (256 * 1024)

int
main(int argc, char **argv)
{
    /* A frame in progress has a buffer of its full declared size, up to
       the frame limit; a peer dropped mid-frame frees it. glibc would
       keep freed large buffers in the heap, raising its threshold as they
       come, so a crowd of such peers would leave gorod hundreds of MiB
       bigger for good. A fixed threshold maps each one on its own and
       gives it back to the system when it is freed. */
    mallopt(M_MMAP_THRESHOLD, GOROD_MMAP_MIN);
    const char *config_path = NULL, *endpoints_path = NULL;
    int verbose = 0;
    bool repair = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if ((!strcmp(arg, "-c") || !strcmp(arg, "--config")) && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(arg, "--endpoints") && i + 1 < argc)
            endpoints_path = argv[++i];
        else if (!strcmp(arg, "--repair"))
            repair = true;
        else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose"))
            verbose = 1;
        else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(s_usage, stdout);
            return 0;
        }
        else {
            fprintf(stderr, "gorod: unexpected argument '%s'\n%s", arg,
                    s_usage);
            return 2;
        }
    }
    char err[CONFIG_ERROR_MAX];
    config_t *cfg = config_path ? config_load(config_path, err) : config_new();
    if (!cfg) {
        fprintf(stderr, "gorod: %s\n", err);
        return 2;
    }
    if (s_check_security(cfg, config_path ? config_path : "(defaults)")) {
        config_destroy(&cfg);
        return 2;
    }
    /* Before anything starts a thread: they inherit the mask. */
    char pin_err[128];
    if (affinity_pin(cfg->loop_cpu, pin_err, sizeof pin_err) != 0) {
        fprintf(stderr, "gorod: %s\n", pin_err);
        config_destroy(&cfg);
        return 1;
    }
    zsys_handler_set(NULL); /* our loop handles the signals */
    zsys_set_logident("gorod");
    zsys_set_logstream(stderr);
    log_set_level(verbose ? CONFIG_LOG_DEBUG : cfg->log_level);
    s_raise_files_limit();

    char *worker_cmd = s_worker_command();
    char bind_err[512];
    server_t *server = server_new(cfg, worker_cmd, repair, bind_err,
                                  sizeof bind_err);
    int rc = 1;
    if (!server) {
        fprintf(stderr, "gorod: %s\n", bind_err);
        goto done;
    }
    if (endpoints_path && s_write_endpoints(endpoints_path, server)) {
        fprintf(stderr, "gorod: cannot write %s\n", endpoints_path);
        goto done;
    }
    if (cfg->loop_cpu >= 0)
        log_info("loop and ZeroMQ I/O thread on CPU %d (loop.cpu)",
                 cfg->loop_cpu);
    log_info("listening: clients %s, workers %s",
             server_clients_endpoint(server), server_workers_endpoint(server));
    rc = server_run(server);
done:
    server_destroy(&server);
    free(worker_cmd);
    config_destroy(&cfg);
    zsys_shutdown();
    return rc;
}
