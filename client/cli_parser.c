/*  cli_parser - the option parser of every verb.

    getopt_long would do, but restarting it for a verb is not portable
    (optind = 0 on glibc, optreset on the BSDs), it stops permuting under
    POSIXLY_CORRECT, and its messages are not ours. This one takes
    --NAME, --NAME VALUE, --NAME=VALUE, -h and "--", with arguments and
    options in any order unless the verb takes a command (go, run). "-"
    and negative numbers ("-1") are arguments, not options.

    The checks return 0, or -1 once they have reported the mistake, so a
    verb reads `if (cli_parser_args(&p, 1, "ID") != 0) return
    p.exit_code;`.
*/
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const cli_option_t cli_no_options[] = {{NULL, 0, 0}};

void
cli_parser_init(cli_parser_t *self, const char *verb, int argc, char **argv)
{
    memset(self, 0, sizeof *self);
    self->verb = verb;
    self->argc = argc;
    self->argv = argv;
    self->next = 1; /* argv[0] is the verb word */
}

int
cli_parser_fail(cli_parser_t *self, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    self->exit_code = cli_exit_vusage(self->verb, fmt, args);
    va_end(args);
    return -1;
}

int
cli_parser_is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0' && !isdigit((unsigned char) arg[1]);
}

static int
s_parser_option(cli_parser_t *self, const cli_option_t *options,
                const char *arg)
{
    if (arg[1] != '-') {
        cli_parser_fail(self, "unknown option %s", arg);
        return CLI_OPT_STOP;
    }
    const char *name = arg + 2;
    const char *equals = strchr(name, '=');
    size_t name_len = equals ? (size_t) (equals - name) : strlen(name);
    const cli_option_t *option = options;
    while (option->name
           && !(strlen(option->name) == name_len
                && memcmp(option->name, name, name_len) == 0))
        option++;
    if (!option->name) {
        cli_parser_fail(self, "unknown option --%.*s", (int) name_len, name);
        return CLI_OPT_STOP;
    }
    self->option = option->name;
    self->value = NULL;
    if (option->takes_value) {
        if (equals)
            self->value = equals + 1;
        else if (self->next < self->argc)
            self->value = self->argv[self->next++];
        else {
            cli_parser_fail(self, "--%s needs a value", option->name);
            return CLI_OPT_STOP;
        }
    }
    else if (equals) {
        cli_parser_fail(self, "--%s takes no value", option->name);
        return CLI_OPT_STOP;
    }
    return option->key;
}

/* Returns the next option's key (its value in self->value), CLI_OPT_END, or
   CLI_OPT_STOP. Arguments are collected in self->args on the way. */
int
cli_parser_next(cli_parser_t *self, const cli_option_t *options)
{
    while (self->next < self->argc) {
        char *arg = self->argv[self->next++];
        if (self->options_done || !cli_parser_is_option(arg)) {
            if (self->command_follows) {
                self->command = &self->argv[self->next - 1];
                self->next = self->argc;
                break;
            }
            if (self->nargs < CLI_MAX_ARGS)
                self->args[self->nargs] = arg;
            self->nargs++;
        }
        else if (strcmp(arg, "--") == 0)
            self->options_done = 1;
        else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_help_print(self->verb, stdout);
            self->exit_code = CLI_EXIT_OK;
            return CLI_OPT_STOP;
        }
        else
            return s_parser_option(self, options, arg);
    }
    return CLI_OPT_END;
}

/* Checks that the verb got exactly COUNT arguments; NAMES spells them
   ("NAME VALUE") so the message can say which are missing. */
int
cli_parser_args(cli_parser_t *self, int count, const char *names)
{
    if (self->nargs > count)
        return cli_parser_fail(self, "unexpected argument \"%s\"",
                               self->args[count]);
    if (self->nargs < count) {
        const char *missing = names;
        for (int i = 0; i < self->nargs; i++)
            missing = strchr(missing, ' ') + 1;
        return cli_parser_fail(self, "missing %s", missing);
    }
    return 0;
}

/* The current option's value as a timeout: a Go duration of at least
   1 ms, 0, or -1 for forever. goro_duration_parse refuses the rest,
   among them 500us, which would otherwise round to 0 and mean "no limit"
   or "try once". */
int
cli_parser_timeout(cli_parser_t *self, int64_t *ms_out)
{
    if (goro_duration_parse(self->value, ms_out) != GORO_OK)
        return cli_parser_fail(self,
                               "bad duration \"%s\" for --%s: expected "
                               "Go syntax like 300ms, 1.5s or 2m (at least "
                               "1ms), 0, or -1 for forever",
                               self->value, self->option);
    return 0;
}

/* TEXT as a decimal integer in MIN..MAX; WHAT names it for the message.
   Stricter than strtoll alone: no blanks, no '+', no trailing junk. */
int
cli_parser_int(cli_parser_t *self, const char *what, const char *text,
               int64_t min, int64_t max, int64_t *out)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    char *end = NULL;
    long long number = 0;
    int good = isdigit((unsigned char) digits[0]);
    if (good) {
        errno = 0;
        number = strtoll(text, &end, 10);
        good = errno == 0 && *end == '\0' && number >= min && number <= max;
    }
    if (!good) {
        if (min == INT64_MIN)
            return cli_parser_fail(self,
                                   "bad %s \"%s\": expected a whole "
                                   "number",
                                   what, text);
        if (max == INT64_MAX)
            return cli_parser_fail(self,
                                   "bad %s \"%s\": expected a whole "
                                   "number of at least %" PRId64,
                                   what, text, min);
        return cli_parser_fail(self,
                               "bad %s \"%s\": expected a whole number "
                               "from %" PRId64 " to %" PRId64,
                               what, text, min, max);
    }
    *out = number;
    return 0;
}

/* A job id: decimal digits only, 1..2^64-1 (0 is never an id). */
int
cli_parser_job_id(cli_parser_t *self, const char *text, uint64_t *id_out)
{
    int good = text[0] != '\0';
    for (const char *c = text; *c && good; c++)
        good = isdigit((unsigned char) *c);
    unsigned long long id = 0;
    if (good) {
        errno = 0;
        id = strtoull(text, NULL, 10);
        good = errno == 0 && id > 0;
    }
    if (!good)
        return cli_parser_fail(self, "bad job id \"%s\"", text);
    *id_out = id;
    return 0;
}
