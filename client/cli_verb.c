/*  cli_verb - finding a verb in the table, and the shapes of verb that
    several domains share.
*/
#include "cli.h"

#include <string.h>

const cli_verb_t *
cli_verb_find(const char *word, const char *next)
{
    for (size_t i = 0; i < cli_verb_count; i++) {
        const char *name = cli_verbs[i].name;
        const char *space = strchr(name, ' ');
        if (!space && strcmp(name, word) == 0)
            return &cli_verbs[i];
        if (space && next && strlen(word) == (size_t) (space - name)
            && strncmp(name, word, (size_t) (space - name)) == 0
            && strcmp(space + 1, next) == 0)
            return &cli_verbs[i];
    }
    return NULL;
}

int
cli_verb_is_group(const char *word)
{
    size_t len = strlen(word);
    for (size_t i = 0; i < cli_verb_count; i++) {
        const char *name = cli_verbs[i].name;
        if (strncmp(name, word, len) == 0 && name[len] == ' ')
            return 1;
    }
    return 0;
}

int
cli_verb_parse_timeout(cli_parser_t *p, const char *verb, int argc,
                       char **argv, int nargs, const char *usage,
                       int64_t *timeout_ms)
{
    static const cli_option_t options[] = {{"timeout", CLI_KEY_TIMEOUT, 1},
                                           {NULL, 0, 0}};
    cli_parser_init(p, verb, argc, argv);
    int opt;
    while ((opt = cli_parser_next(p, options)) != CLI_OPT_END)
        if (opt == CLI_OPT_STOP || cli_parser_timeout(p, timeout_ms) != 0)
            return -1;
    return cli_parser_args(p, nargs, usage);
}

int
cli_verb_parse_json(cli_parser_t *p, const char *verb, int argc, char **argv,
                    int nargs, const char *usage, int *json)
{
    static const cli_option_t options[] = {{"json", CLI_KEY_JSON, 0},
                                           {NULL, 0, 0}};
    cli_parser_init(p, verb, argc, argv);
    int opt;
    while ((opt = cli_parser_next(p, options)) != CLI_OPT_END) {
        if (opt == CLI_OPT_STOP)
            return -1;
        *json = 1;
    }
    return cli_parser_args(p, nargs, usage);
}
int
cli_verb_on_name(goro_t *client, const char *verb, int argc, char **argv,
                 int (*action)(goro_t *, const char *))
{
    cli_parser_t p;
    cli_parser_init(&p, verb, argc, argv);
    if (cli_parser_next(&p, cli_no_options) == CLI_OPT_STOP
        || cli_parser_args(&p, 1, "NAME") != 0)
        return p.exit_code;
    int rc = action(client, p.args[0]);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "%s %s", verb, p.args[0]);
    return CLI_EXIT_OK;
}
