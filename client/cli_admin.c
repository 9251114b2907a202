/*  cli_admin - the verbs about gorod itself: ping, the listings gorod
    renders (jobs, workers, stats), and keygen, which needs no gorod.
*/
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* `ping` gives up after this unless --timeout says otherwise: long enough
   for a daemon in the middle of a journal fsync, short enough for a
   health check. */
#define S_PING_TIMEOUT_MS 3000

int
cli_admin_ping(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    int64_t timeout_ms = S_PING_TIMEOUT_MS;
    if (cli_verb_parse_timeout(&p, "ping", argc, argv, 0, "", &timeout_ms)
        != 0)
        return p.exit_code;

    int64_t start_at = cli_util_now_ms();
    int rc = goro_ping(client, timeout_ms);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "ping");
    printf("gorod at %s answered in %" PRId64 " ms\n", goro_endpoint(client),
           cli_util_now_ms() - start_at);
    return CLI_EXIT_OK;
}


/* Daemon-rendered text ends with a newline on our side whatever it did. */
static void
s_print_text(const char *text)
{
    size_t len = strlen(text);
    fputs(text, stdout);
    if (len > 0 && text[len - 1] != '\n')
        fputc('\n', stdout);
}

/* jobs, workers and stats: text gorod renders, printed as it comes. */
static int
s_listing(goro_t *client, const char *verb, int argc, char **argv,
          int (*list)(goro_t *, int, char **), int allow_failed)
{
    static const cli_option_t jobs_options[] = {{"json", CLI_KEY_JSON, 0},
                                                {"failed", CLI_KEY_FAILED, 0},
                                                {NULL, 0, 0}};
    static const cli_option_t json_options[] = {{"json", CLI_KEY_JSON, 0},
                                                {NULL, 0, 0}};
    const cli_option_t *options = allow_failed ? jobs_options : json_options;
    cli_parser_t p;
    cli_parser_init(&p, verb, argc, argv);
    int flags = 0;
    int opt;
    while ((opt = cli_parser_next(&p, options)) != CLI_OPT_END) {
        if (opt == CLI_OPT_STOP)
            return p.exit_code;
        flags |= opt == CLI_KEY_JSON ? GORO_LIST_JSON : GORO_LIST_FAILED;
    }
    if (cli_parser_args(&p, 0, "") != 0)
        return p.exit_code;

    char *text = NULL;
    int rc = list(client, flags, &text);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "%s", verb);
    s_print_text(text ? text : "");
    goro_free(text);
    return CLI_EXIT_OK;
}

int
cli_admin_jobs(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "jobs", argc, argv, goro_jobs_list, 1);
}

int
cli_admin_workers(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "workers", argc, argv, goro_workers_list, 0);
}

int
cli_admin_stats(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "stats", argc, argv, goro_stats, 0);
}

int
cli_admin_keygen(goro_t *client, int argc, char **argv)
{
    (void) client;
    cli_parser_t p;
    cli_parser_init(&p, "keygen", argc, argv);
    if (cli_parser_next(&p, cli_no_options) == CLI_OPT_STOP
        || cli_parser_args(&p, 1, "PATH") != 0)
        return p.exit_code;
    const char *path = p.args[0];
    int rc = goro_keygen(path);
    if (rc != GORO_OK) {
        fprintf(stderr, "goro keygen: cannot write %s and %s_secret: %s\n",
                path, path, goro_strerror(rc));
        return CLI_EXIT_ERROR;
    }
    printf("%s\n%s_secret\n", path, path);
    return CLI_EXIT_OK;
}
