/*  goro-worker - the generic worker: serves the built-in `exec` function to
    gorod until SIGTERM or SIGINT.

        goro-worker [--connect ENDPOINT] [--concurrency N] [--prefetch N]
                    [--name LABEL] [--max-output SIZE] [-v] [--help]

    A thin main over the public worker API (goro.h only), so everything it
    does an app linking libgoro can do too. When gorod's pool supervisor
    starts it, $GORO_POOL is set, and the worker dies with its parent:
    a pool worker that outlived gorod would hold jobs nobody collects.
*/
#include "goro.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Exit codes of DESIGN.md: 0 done, 1 error, 2 usage or config error. */
#define EXIT_USAGE 2

static const char *s_usage =
    "usage: goro-worker [--connect ENDPOINT] [--concurrency N] [--prefetch N]\n"
    "                   [--name LABEL] [--max-output SIZE] [-v] [--help]\n"
    "\n"
    "Runs `exec` jobs for gorod until SIGTERM or SIGINT (a second one kills\n"
    "the jobs still running).\n"
    "\n"
    "  --connect ENDPOINT  gorod's workers endpoint (default: $GORO_WORKERS,\n"
    "                      else tcp://127.0.0.1:7701)\n"
    "  --concurrency N     jobs at once (default 1)\n"
    "  --prefetch N        jobs gorod may queue here beyond those (default 0)\n"
    "  --name LABEL        shown by `goro workers` (default HOST:PID)\n"
    "  --max-output SIZE   bytes kept of a job's stdout, and of its stderr\n"
    "                      (e.g. 65536, 64KiB, 1MiB), at most; default and\n"
    "                      upper bound: gorod's jobs.exec.max_output\n"
    "  -v, --verbose       log the protocol to stderr\n"
    "  --help              this text\n";

static int
s_bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "goro-worker: %s%s%s (see --help)\n", what,
            arg ? ": " : "", arg ? arg : "");
    return EXIT_USAGE;
}

static int
s_parse_int(const char *text, int *value_out)
{
    if (*text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    long value = strtol(text, &end, 10);
    if (errno || *end || value > 1000000)
        return -1;
    *value_out = (int) value;
    return 0;
}

/* True when our parent already died, so we were reparented to init
   before PR_SET_PDEATHSIG could take effect. A gorod that is itself
   PID 1 (in a container) is still our parent. */
static int
s_parent_gone(void)
{
    if (getppid() != 1)
        return 0;
    FILE *file = fopen("/proc/1/comm", "r");
    if (!file)
        return 1;
    char comm[64] = "";
    if (!fgets(comm, sizeof comm, file))
        comm[0] = 0;
    fclose(file);
    return strncmp(comm, "gorod", 5) != 0;
}

int
main(int argc, char *argv[])
{
    static const struct option options[] = {
        {"connect", required_argument, NULL, 'c'},
        {"concurrency", required_argument, NULL, 'n'},
        {"prefetch", required_argument, NULL, 'p'},
        {"name", required_argument, NULL, 'N'},
        {"max-output", required_argument, NULL, 'm'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL;
    const char *name = NULL;
    int concurrency = 1;
    int prefetch = 0;
    uint64_t max_output = 0; /* 0: the library's default */
    int verbose = 0;

    opterr = 0; /* our own one-line messages */
    int opt;
    while ((opt = getopt_long(argc, argv, ":vh", options, NULL)) != -1) {
        switch (opt) {
            case 'c': endpoint = optarg; break;
            case 'n':
                if (s_parse_int(optarg, &concurrency) || concurrency < 1)
                    return s_bad_usage("--concurrency needs a number of "
                                       "at least 1",
                                       optarg);
                break;
            case 'p':
                if (s_parse_int(optarg, &prefetch) || prefetch < 0)
                    return s_bad_usage("--prefetch needs a number of at "
                                       "least 0",
                                       optarg);
                break;
            case 'N': name = optarg; break;
            case 'm':
                if (goro_size_parse(optarg, &max_output) || max_output == 0
                    || max_output > SIZE_MAX)
                    return s_bad_usage("--max-output needs a size of at "
                                       "least 1 byte",
                                       optarg);
                break;
            case 'v': verbose = 1; break;
            case 'h': fputs(s_usage, stdout); return 0;
            case ':':
                return s_bad_usage("missing value for", argv[optind - 1]);
            default: return s_bad_usage("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_bad_usage("unexpected argument", argv[optind]);

    if (getenv("GORO_POOL")) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        /* Checked after prctl: a parent dying in between is caught by
           one or the other. */
        if (s_parent_gone()) {
            fprintf(stderr, "goro-worker: gorod is gone; exiting\n");
            return 1;
        }
    }

    goro_worker_t *worker = goro_worker_new(endpoint);
    if (!worker)
        return s_bad_usage("bad endpoint",
                           endpoint ? endpoint : getenv("GORO_WORKERS"));
    goro_worker_set_verbose(worker, verbose);
    goro_worker_enable_exec(worker, (size_t) max_output);
    if (goro_worker_set_concurrency(worker, concurrency) != GORO_OK) {
        goro_worker_destroy(&worker);
        char text[32];
        snprintf(text, sizeof text, "%d", concurrency);
        return s_bad_usage("--concurrency is out of range", text);
    }
    if (goro_worker_set_prefetch(worker, prefetch) != GORO_OK) {
        goro_worker_destroy(&worker);
        return s_bad_usage("concurrency plus prefetch must be at most 4096",
                           NULL);
    }
    if (name && goro_worker_set_name(worker, name) != GORO_OK) {
        goro_worker_destroy(&worker);
        return s_bad_usage("--name must be 1 to 255 bytes", name);
    }
    /* Serves until SIGTERM/SIGINT, which serve itself catches. */
    int rc = goro_worker_serve(worker);
    goro_worker_destroy(&worker);
    if (rc == GORO_EINVAL)
        return s_bad_usage("bad endpoint",
                           endpoint ? endpoint : getenv("GORO_WORKERS"));
    if (rc != GORO_OK) {
        fprintf(stderr, "goro-worker: %s\n", goro_strerror(rc));
        return 1;
    }
    return 0;
}
