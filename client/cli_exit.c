/*  cli_exit - the exit codes of DESIGN.md and the one-line error reports
    that go with them. Exit codes come from one place, s_exit_code(): 0
    done, 1 error, 2 usage or config error, 3 channel closed, 124 timed
    out (as timeout(1)). `run` and `result` exit with the job's own status
    instead (cli_jobs.c).
*/
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The one goro_err_t -> exit code table (STYLE.md 4). GORO_EINVAL means
   gorod refused an argument the user typed (a bad name, say), so it is a
   usage error like the ones we find ourselves. */
static const int s_exit_codes[GORO_ERROR_MAX] = {
    [GORO_OK] = CLI_EXIT_OK,
    [GORO_EINVAL] = CLI_EXIT_USAGE,
    [GORO_ENOTFOUND] = CLI_EXIT_ERROR,
    [GORO_EEXIST] = CLI_EXIT_ERROR,
    [GORO_ETIMEDOUT] = CLI_EXIT_TIMEOUT,
    [GORO_ECLOSED] = CLI_EXIT_CLOSED,
    [GORO_ENEGATIVE] = CLI_EXIT_ERROR,
    [GORO_ETOOBIG] = CLI_EXIT_ERROR,
    [GORO_EDENIED] = CLI_EXIT_ERROR,
    [GORO_EUNAVAILABLE] = CLI_EXIT_ERROR,
    [GORO_EPROTO] = CLI_EXIT_ERROR,
    [GORO_EFULL] = CLI_EXIT_ERROR,
    [GORO_ESTATE] = CLI_EXIT_ERROR,
    [GORO_ESYS] = CLI_EXIT_ERROR,
    [GORO_ECANCELLED] = CLI_EXIT_ERROR,
};

static int
s_exit_code(int err)
{
    if (err == GORO_OK)
        return CLI_EXIT_OK;
    /* A code newer than this table, or one it forgot (0 there), must
       still never look like success. */
    if (err < 0 || err >= GORO_ERROR_MAX || s_exit_codes[err] == CLI_EXIT_OK)
        return CLI_EXIT_ERROR;
    return s_exit_codes[err];
}

/* Set when --cert was given: a refused key looks like an absent gorod. */
static int s_curve_used;

void
cli_exit_curve_used(int used)
{
    s_curve_used = used;
}

int
cli_exit_fail(goro_t *client, int err, const char *fmt, ...)
{
    const char *said = client ? goro_last_error(client) : NULL;
    if (err == GORO_EUNAVAILABLE && !said) {
        /* The context adds nothing here; where we looked is what helps. */
        fprintf(stderr, "goro: cannot reach gorod at %s (is it running%s?)\n",
                goro_endpoint(client),
                getenv("GORO_CERT") || s_curve_used
                    ? ", and is our certificate allowed"
                    : "");
    }
    else {
        va_list args;
        va_start(args, fmt);
        fputs("goro: ", stderr);
        vfprintf(stderr, fmt, args);
        va_end(args);
        /* gorod's own words say which thing was wrong, where the code's
           text alone ("not found") could mean the command itself. */
        fprintf(stderr, ": %s\n", said ? said : goro_strerror(err));
    }
    return s_exit_code(err);
}

int
cli_exit_sys(const char *fmt, ...)
{
    int saved = errno;
    va_list args;
    va_start(args, fmt);
    fputs("goro: ", stderr);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, ": %s\n", strerror(saved));
    return CLI_EXIT_ERROR;
}

int
cli_exit_vusage(const char *verb, const char *fmt, va_list args)
{
    fputs("goro: ", stderr);
    if (verb)
        fprintf(stderr, "%s: ", verb);
    vfprintf(stderr, fmt, args);
    fprintf(stderr, " (see goro %s%s--help)\n", verb ? verb : "",
            verb ? " " : "");
    return CLI_EXIT_USAGE;
}

int
cli_exit_usage(const char *verb, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    cli_exit_vusage(verb, fmt, args);
    va_end(args);
    return CLI_EXIT_USAGE;
}
