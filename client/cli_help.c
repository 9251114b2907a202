/*  cli_help - the verb table with every verb's synopsis and help text,
    and the help it prints: `goro --help`, `goro VERB --help`, `goro help
    [VERB]`.
*/
#include "cli.h"

#include <string.h>

#define S_TIMEOUT_HELP \
    "  --timeout D       wait at most D (default: forever); exit 124 if " \
    "it runs out\n"

#define S_SUBMIT_HELP \
    "  --wg W            add the job to waitgroup W: Add(1) now, Done() " \
    "at its end\n" \
    "  --chan C          send the job's output on channel C when it ends\n" \
    "  --timeout D       limit each attempt's run time to D (default: " \
    "none)\n" \
    "  --attempts N      attempts before it fails (default: " \
    "jobs.max_attempts)\n" \
    "  --key K           idempotency key: submitting K again returns the " \
    "same id\n" \
    "  --fn NAME         run app function NAME instead of a command\n" \
    "  --data STRING     the payload of a --fn job\n" \
    "  --data-file FILE  read the payload of a --fn job from FILE (- for " \
    "stdin)\n" \
    "\n" \
    "The command is everything after --, or else from the first argument " \
    "that is not\n" \
    "an option: options go before it. It runs on a worker without a shell.\n"

const cli_verb_t cli_verbs[] = {
    {"ping", cli_admin_ping, 0, "[--timeout D]",
     "Asks gorod whether it is there: exit 0 when it answers, 1 when not.\n"
     "\n"
     "  --timeout D       give up after D (default 3s)\n"},
    {"go", cli_jobs_go, 0,
     "[OPTIONS] [--] CMD [ARG...]\n"
     "--fn NAME [--data STRING | --data-file FILE] [OPTIONS]",
     "Submits a job and prints its id alone; does not wait for it to run.\n"
     "\n" S_SUBMIT_HELP},
    {"run", cli_jobs_run, 0,
     "[OPTIONS] [--] CMD [ARG...]\n"
     "--fn NAME [--data STRING | --data-file FILE] [OPTIONS]",
     "Submits a job as `go` does, waits for it to end, writes its stdout and "
     "stderr\n"
     "to ours and exits with its exit status: 124 if it timed out, 1 if it "
     "failed\n"
     "without one. Waits as long as the job takes; interrupting `run` "
     "leaves the job\n"
     "running.\n"
     "\n" S_SUBMIT_HELP},
    {"result", cli_jobs_result, 0, "ID [--wait] [--timeout D]",
     "Writes job ID's stdout and stderr to ours and exits with its exit "
     "status:\n"
     "124 if it timed out, 1 if it failed without one. A job that has not "
     "ended\n"
     "is an error (exit 1) unless --wait is given.\n"
     "\n"
     "  --wait            wait for the job to end\n"
     "  --timeout D       wait at most D (implies --wait); exit 124 if it "
     "has not\n"
     "                    ended by then\n"},
    {"status", cli_jobs_status, 0, "ID [--json]",
     "Prints job ID, one \"key: value\" per line: id, function, state, "
     "attempts,\n"
     "exit_status (- while it has none) and runtime.\n"
     "\n"
     "  --json            one JSON object instead: runtime_ms, and\n"
     "                    exit_status null while it has none\n"},
    {"cancel", cli_jobs_cancel, 0, "ID",
     "Cancels job ID if it is queued or running; an error if it has "
     "ended.\n"},
    {"retry", cli_jobs_retry, 0, "ID",
     "Queues job ID again with fresh attempts, if it failed, was cancelled "
     "or\n"
     "timed out.\n"},
    {"jobs", cli_admin_jobs, 0, "[--failed] [--json]",
     "Lists jobs as gorod renders them.\n"
     "\n"
     "  --failed          only jobs that failed, were cancelled or timed out\n"
     "  --json            JSON instead of text\n"},
    {"workers", cli_admin_workers, 0, "[--json]",
     "Lists the workers connected to gorod.\n"
     "\n"
     "  --json            JSON instead of text\n"},
    {"stats", cli_admin_stats, 0, "[--json]",
     "Prints gorod's counters.\n"
     "\n"
     "  --json            JSON instead of text\n"},
    {"chan make", cli_chan_make, 0, "NAME [--cap N]",
     "Makes channel NAME. Making it again with the same capacity does "
     "nothing;\n"
     "with another capacity it is an error.\n"
     "\n"
     "  --cap N           buffer N values (default 0: unbuffered, a send "
     "waits\n"
     "                    for a receiver)\n"},
    {"send", cli_chan_send, 0, "NAME VALUE [--timeout D]",
     "Sends VALUE on channel NAME; VALUE - sends all of stdin. Waits while "
     "the\n"
     "channel is full (unbuffered: until a receiver takes it). Exit 3 if "
     "the\n"
     "channel is closed. Put -- before a VALUE such as --x: goro send NAME "
     "-- --x.\n"
     "\n" S_TIMEOUT_HELP
     "                    (0: send only if that can happen now)\n"},
    {"recv", cli_chan_recv, 0, "NAME [--timeout D]",
     "Receives a value from channel NAME and prints it and a newline. Exit "
     "3 once\n"
     "the channel is closed and drained.\n"
     "\n" S_TIMEOUT_HELP
     "                    (0: only a value that is there now)\n"},
    {"close", cli_chan_close, 0, "NAME",
     "Closes channel NAME: later sends fail, receivers drain what is "
     "buffered.\n"
     "Closing a closed channel is an error.\n"},
    {"select", cli_chan_select, 0,
     "(--recv CH | --send CH=VALUE)... [--timeout D | --default]",
     "Waits until exactly one case happens, chosen at random among those "
     "ready,\n"
     "and prints it: CH<TAB>VALUE for a receive, CH for a send, `default` "
     "when\n"
     "--default fired. A receive from a closed, drained channel prints "
     "CH<TAB>\n"
     "and exits 3; a send on a closed channel exits 3.\n"
     "\n"
     "  --recv CH         a case receiving from channel CH\n"
     "  --send CH=VALUE   a case sending VALUE on channel CH\n" S_TIMEOUT_HELP
     "  --default         do not wait: print `default` if no case is ready\n"},
    {"wg add", cli_wg_add, 0, "NAME N",
     "Adds N, which may be negative, to waitgroup NAME. An add that would "
     "take\n"
     "the counter below zero is refused and changes nothing.\n"},
    {"wg done", cli_wg_done, 0, "NAME",
     "Takes one from waitgroup NAME's counter.\n"},
    {"wg wait", cli_wg_wait, 0, "NAME [--timeout D] [--progress]",
     "Waits until waitgroup NAME's counter is zero (at once if it is).\n"
     "\n" S_TIMEOUT_HELP
     "  --progress        show progress while waiting: a bar on a terminal,"
     "\n"
     "                    else a line on stdout whenever the counts change\n"},
    {"wg status", cli_wg_status, 0, "NAME [--json]",
     "Prints waitgroup NAME: counter, added and done since it was last "
     "zero, and\n"
     "how many of its jobs succeeded and failed.\n"
     "\n"
     "  --json            one JSON object instead\n"},
    {"keygen", cli_admin_keygen, 1, "PATH",
     "Writes a new CURVE certificate pair and prints the two paths: PATH, "
     "the public\n"
     "certificate to give out (into gorod's security.curve.clients or "
     ".workers\n"
     "directory, or as a client's --server-cert), and PATH_secret (mode "
     "0600), for\n"
     "its owner's --cert or gorod's security.curve.cert. Needs no gorod.\n"},
    {"help", cli_help_verb, 1, "[VERB]",
     "Prints help for VERB, or the list of verbs.\n"},
};

const size_t cli_verb_count = sizeof cli_verbs / sizeof cli_verbs[0];

/* "goro NAME SYNOPSIS" for each alternative of VERB, after FIRST and then
   OTHERS. */
static void
s_print_synopsis(FILE *out, const cli_verb_t *verb, const char *first,
                 const char *others)
{
    const char *line = verb->synopsis;
    const char *prefix = first;
    do {
        const char *end = strchr(line, '\n');
        int len = end ? (int) (end - line) : (int) strlen(line);
        fprintf(out, "%sgoro %s%s%.*s\n", prefix, verb->name, len ? " " : "",
                len, line);
        line = end ? end + 1 : NULL;
        prefix = others;
    } while (line);
}

/* Help for verb NAME, or for all verbs of group NAME. */
void
cli_help_print(const char *name, FILE *out)
{
    for (size_t i = 0; i < cli_verb_count; i++) {
        if (strcmp(cli_verbs[i].name, name) == 0) {
            s_print_synopsis(out, &cli_verbs[i], "usage: ", "   or: ");
            fprintf(out, "\n%s", cli_verbs[i].help);
            return;
        }
    }
    const char *prefix = "usage: ";
    size_t len = strlen(name);
    for (size_t i = 0; i < cli_verb_count; i++) {
        if (strncmp(cli_verbs[i].name, name, len) == 0
            && cli_verbs[i].name[len] == ' ') {
            s_print_synopsis(out, &cli_verbs[i], prefix, "   or: ");
            prefix = "   or: ";
        }
    }
    fprintf(out, "\nSee goro %s VERB --help for one of them.\n", name);
}

void
cli_help_usage(FILE *out)
{
    fprintf(
        out,
        "usage: goro [-e ENDPOINT] [--cert F --server-cert F] [-v] VERB "
        "[ARGS...]\n"
        "\n"
        "The command line of goro: start jobs on gorod's workers, use its "
        "channels and\n"
        "waitgroups.\n"
        "\n"
        "  -e, --endpoint E  gorod's client endpoint (default: "
        "$GORO_ENDPOINT, else\n"
        "                    " GORO_DEFAULT_ENDPOINT ")\n"
        "  -v, --verbose     print what is sent and received to stderr\n"
        "      --cert F      CURVE: our secret certificate (default "
        "$GORO_CERT)\n"
        "      --server-cert F  CURVE: gorod's public certificate (default\n"
        "                    $GORO_SERVER_CERT)\n"
        "  -h, --help        this text; goro VERB --help describes VERB\n"
        "      --version     print the version\n"
        "\n"
        "Verbs:\n");
    for (size_t i = 0; i < cli_verb_count; i++)
        s_print_synopsis(out, &cli_verbs[i], "  ", "  ");
    fprintf(out,
            "\n"
            "Durations use Go's syntax: 300ms, 1.5s, 2m, 1h30m; 0 or at least "
            "1ms;\n-1 waits forever.\n"
            "Exit codes: 0 done, 1 error, 2 usage or config error, 3 channel "
            "closed,\n"
            "124 timed out; run and result exit with the job's status.\n");
}

int
cli_help_verb(goro_t *client, int argc, char **argv)
{
    (void) client;
    cli_parser_t p;
    cli_parser_init(&p, "help", argc, argv);
    if (cli_parser_next(&p, cli_no_options) == CLI_OPT_STOP)
        return p.exit_code;
    if (p.nargs == 0) {
        cli_help_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (p.nargs > 2)
        return cli_exit_usage("help", "unexpected argument \"%s\"", p.args[2]);
    const char *second = p.nargs > 1 ? p.args[1] : NULL;
    const cli_verb_t *verb = cli_verb_find(p.args[0], second);
    if (verb && (p.nargs == 1) == (strchr(verb->name, ' ') == NULL))
        cli_help_print(verb->name, stdout);
    else if (p.nargs == 1 && cli_verb_is_group(p.args[0]))
        cli_help_print(p.args[0], stdout);
    else
        return cli_exit_usage("help", "unknown command \"%s%s%s\"", p.args[0],
                              p.nargs > 1 ? " " : "",
                              p.nargs > 1 ? p.args[1] : "");
    return CLI_EXIT_OK;
}
