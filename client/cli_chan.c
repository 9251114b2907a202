/*  cli_chan - the verbs of channels: chan make, send, recv, close,
    select. Values are raw bytes, written as they came.
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int
cli_chan_make(goro_t *client, int argc, char **argv)
{
    static const cli_option_t options[] = {{"cap", CLI_KEY_CAP, 1},
                                           {NULL, 0, 0}};
    cli_parser_t p;
    cli_parser_init(&p, "chan make", argc, argv);
    int64_t capacity = 0;
    int opt;
    while ((opt = cli_parser_next(&p, options)) != CLI_OPT_END) {
        if (opt == CLI_OPT_STOP
            || cli_parser_int(&p, "--cap", p.value, 0, INT64_MAX, &capacity)
                   != 0)
            return p.exit_code;
    }
    if (cli_parser_args(&p, 1, "NAME") != 0)
        return p.exit_code;
    int rc = goro_chan_make(client, p.args[0], capacity);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "chan make %s", p.args[0]);
    return CLI_EXIT_OK;
}

int
cli_chan_send(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    int64_t timeout_ms = -1;
    if (cli_verb_parse_timeout(&p, "send", argc, argv, 2, "NAME VALUE",
                               &timeout_ms)
        != 0)
        return p.exit_code;

    const char *name = p.args[0];
    char *buf = NULL;
    const void *value = p.args[1];
    size_t len = strlen(p.args[1]);
    if (strcmp(p.args[1], "-") == 0) {
        if (cli_util_read_stream(stdin, &buf, &len) != 0)
            return cli_exit_sys("send %s: cannot read stdin", name);
        value = buf;
    }
    int rc = goro_chan_send(client, name, value, len, timeout_ms);
    free(buf);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "send %s", name);
    return CLI_EXIT_OK;
}

int
cli_chan_recv(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    int64_t timeout_ms = -1;
    if (cli_verb_parse_timeout(&p, "recv", argc, argv, 1, "NAME", &timeout_ms)
        != 0)
        return p.exit_code;

    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, p.args[0], timeout_ms, &data, &len);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "recv %s", p.args[0]);
    fwrite(data, 1, len, stdout);
    fputc('\n', stdout);
    goro_free(data);
    return CLI_EXIT_OK;
}

int
cli_chan_close(goro_t *client, int argc, char **argv)
{
    return cli_verb_on_name(client, "close", argc, argv, goro_chan_close);
}

/* Parses the select options into CASES (room for argc of them) and runs
   the select. Channel names of send cases are copies in NAMES[i]. */
static int
s_select(goro_t *client, cli_parser_t *p, goro_case_t *cases, char **names)
{
    static const cli_option_t options[] = {{"recv", CLI_KEY_RECV, 1},
                                           {"send", CLI_KEY_SEND, 1},
                                           {"timeout", CLI_KEY_TIMEOUT, 1},
                                           {"default", CLI_KEY_DEFAULT, 0},
                                           {NULL, 0, 0}};
    size_t count = 0;
    int64_t timeout_ms = -1;
    int have_timeout = 0;
    int have_default = 0;
    int opt;
    while ((opt = cli_parser_next(p, options)) != CLI_OPT_END) {
        const char *equals;
        size_t name_len;
        switch (opt) {
            case CLI_OPT_STOP: return p->exit_code;
            case CLI_KEY_RECV:
                if (!*p->value)
                    return cli_exit_usage(p->verb, "--recv needs a channel");
                cases[count].op = GORO_CASE_RECV;
                cases[count].chan = p->value;
                count++;
                break;
            case CLI_KEY_SEND:
                equals = strchr(p->value, '=');
                if (!equals || equals == p->value)
                    return cli_exit_usage(p->verb,
                                          "--send needs CH=VALUE, "
                                          "got \"%s\"",
                                          p->value);
                name_len = (size_t) (equals - p->value);
                names[count] = cli_util_realloc(NULL, name_len + 1);
                memcpy(names[count], p->value, name_len);
                names[count][name_len] = '\0';
                cases[count].op = GORO_CASE_SEND;
                cases[count].chan = names[count];
                /* The case never writes through DATA for a send. */
                cases[count].data = (void *) (equals + 1);
                cases[count].len = strlen(equals + 1);
                count++;
                break;
            case CLI_KEY_TIMEOUT:
                if (cli_parser_timeout(p, &timeout_ms) != 0)
                    return p->exit_code;
                have_timeout = 1;
                break;
            case CLI_KEY_DEFAULT: have_default = 1; break;
        }
    }
    if (cli_parser_args(p, 0, "") != 0)
        return p->exit_code;
    if (count == 0)
        return cli_exit_usage(p->verb, "needs at least one --recv or --send");
    if (have_timeout && have_default)
        return cli_exit_usage(p->verb, "--timeout and --default exclude "
                                       "each other");
    if (have_default)
        timeout_ms = 0; /* Go's default: give up at once */

    size_t fired = count;
    int rc = goro_select(client, cases, count, timeout_ms, &fired);
    if (rc == GORO_ETIMEDOUT && have_default) {
        printf("default\n");
        return CLI_EXIT_OK;
    }
    if (rc == GORO_ECLOSED && fired < count
        && cases[fired].op == GORO_CASE_SEND)
        return cli_exit_fail(client, rc, "select: send on %s",
                             cases[fired].chan);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "select");
    if (fired >= count) {
        fprintf(stderr, "goro: select: gorod named no case\n");
        return CLI_EXIT_ERROR;
    }

    goro_case_t *done = &cases[fired];
    if (done->op == GORO_CASE_SEND) {
        printf("%s\n", done->chan);
        return CLI_EXIT_OK;
    }
    /* A receive from a closed, drained channel: say which one, with no
       value after the tab, and exit as recv would. */
    printf("%s\t", done->chan);
    if (!done->closed)
        fwrite(done->data, 1, done->len, stdout);
    fputc('\n', stdout);
    return done->closed ? CLI_EXIT_CLOSED : CLI_EXIT_OK;
}

int
cli_chan_select(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    cli_parser_init(&p, "select", argc, argv);
    /* Each case takes at least one argv element: argc bounds them. */
    goro_case_t *cases = cli_util_realloc(NULL, (size_t) argc * sizeof *cases);
    char **names = cli_util_realloc(NULL, (size_t) argc * sizeof *names);
    memset(cases, 0, (size_t) argc * sizeof *cases);
    memset(names, 0, (size_t) argc * sizeof *names);

    int code = s_select(client, &p, cases, names);

    for (int i = 0; i < argc; i++) {
        if (cases[i].op == GORO_CASE_RECV && cases[i].data)
            goro_free(cases[i].data);
        free(names[i]);
    }
    free(cases);
    free(names);
    return code;
}
