/*  cli.c - `goro`, the command-line client of gorod: global options, the
    client handle, and the verb DESIGN.md's "Command line" names, found
    in the verb table (cli_help.c) and run from its domain's file (see
    cli.h). Global options (-e, -v, --cert, --server-cert) come before
    the verb.
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* What s_global_value() found ARG to be. */
enum {
    S_GLOBAL_OTHER,  /* another option */
    S_GLOBAL_TAKEN,  /* this one: its value is stored */
    S_GLOBAL_MISSING /* this one, but its value is missing */
};

/* Whether ARG is option SHORT or LONG with a value (-e X, -eX,
   --endpoint X, --endpoint=X), and if so stores the value. */
static int
s_global_value(int argc, char **argv, int *next, const char *arg,
               const char *short_name, const char *long_name,
               const char **value_out)
{
    size_t short_len = strlen(short_name);
    size_t long_len = strlen(long_name);
    if (strcmp(arg, short_name) == 0 || strcmp(arg, long_name) == 0) {
        if (*next >= argc)
            return S_GLOBAL_MISSING;
        *value_out = argv[(*next)++];
        return S_GLOBAL_TAKEN;
    }
    if (strncmp(arg, long_name, long_len) == 0 && arg[long_len] == '=') {
        *value_out = arg + long_len + 1;
        return S_GLOBAL_TAKEN;
    }
    if (strncmp(arg, short_name, short_len) == 0 && arg[1] != '-') {
        *value_out = arg + short_len;
        return S_GLOBAL_TAKEN;
    }
    return S_GLOBAL_OTHER;
}

int
main(int argc, char **argv)
{
    const char *endpoint = NULL;
    const char *cert = getenv("GORO_CERT");
    const char *server_cert = getenv("GORO_SERVER_CERT");
    int verbose = 0;
    int next = 1;
    while (next < argc && cli_parser_is_option(argv[next])) {
        const char *arg = argv[next++];
        int found = s_global_value(argc, argv, &next, arg, "-e", "--endpoint",
                                   &endpoint);
        if (found == S_GLOBAL_OTHER)
            found = s_global_value(argc, argv, &next, arg, "--cert", "--cert",
                                   &cert);
        if (found == S_GLOBAL_OTHER)
            found = s_global_value(argc, argv, &next, arg, "--server-cert",
                                   "--server-cert", &server_cert);
        if (found == S_GLOBAL_MISSING)
            return cli_exit_usage(NULL, "%s needs a value", arg);
        if (found == S_GLOBAL_TAKEN)
            continue;
        if (strcmp(arg, "--") == 0)
            break;
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0)
            verbose = 1;
        else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_help_usage(stdout);
            return CLI_EXIT_OK;
        }
        else if (strcmp(arg, "--version") == 0) {
            printf("goro %d.%d.%d\n", GORO_VERSION_MAJOR, GORO_VERSION_MINOR,
                   GORO_VERSION_PATCH);
            return CLI_EXIT_OK;
        }
        else
            return cli_exit_usage(NULL, "unknown option %s", arg);
    }
    if (next >= argc) {
        cli_help_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    const char *word = argv[next];
    const char *sub = next + 1 < argc ? argv[next + 1] : NULL;
    const cli_verb_t *verb = cli_verb_find(word, sub);
    if (!verb) {
        if (!cli_verb_is_group(word))
            return cli_exit_usage(NULL, "unknown command \"%s\"", word);
        if (sub && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)) {
            cli_help_print(word, stdout);
            return CLI_EXIT_OK;
        }
        if (!sub)
            return cli_exit_usage(word, "missing VERB");
        return cli_exit_usage(word, "unknown command \"%s\"", sub);
    }
    /* The handler's argv starts at the verb's last word. */
    if (strchr(verb->name, ' '))
        next++;

    goro_t *client = NULL;
    if (!verb->offline) {
        client = goro_new(endpoint);
        if (!client) {
            const char *shown = endpoint ? endpoint : getenv("GORO_ENDPOINT");
            fprintf(stderr,
                    "goro: bad endpoint \"%s\"%s: expected one like "
                    "%s\n",
                    shown ? shown : "", endpoint ? "" : " in $GORO_ENDPOINT",
                    GORO_DEFAULT_ENDPOINT);
            return CLI_EXIT_USAGE;
        }
        goro_set_verbose(client, verbose);
        cli_exit_curve_used(cert != NULL);
        int rc = goro_set_curve(client, cert, server_cert);
        if (rc != GORO_OK) {
            fprintf(stderr,
                    "goro: cannot use the certificates (--cert %s, "
                    "--server-cert %s): %s\n",
                    cert ? cert : "(none)",
                    server_cert ? server_cert : "(none)",
                    rc == GORO_EDENIED ? "the secret certificate is "
                                         "readable by others; chmod 600 it"
                                       : goro_strerror(rc));
            goro_destroy(&client);
            return CLI_EXIT_USAGE;
        }
    }
    int code = verb->handler(client, argc - next, argv + next);
    goro_destroy(&client);

    /* Output that never arrived must not look like success (a full disk,
       a closed pipe with SIGPIPE ignored). */
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == CLI_EXIT_OK) {
        fprintf(stderr, "goro: cannot write to stdout\n");
        code = CLI_EXIT_ERROR;
    }
    return code;
}
