/*  cli_jobs - the verbs of jobs: go, run, result, status, cancel, retry.
    Job output is raw bytes, written as it came; nothing here runs a
    shell.
*/
#include "cli.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    goro_opts_t opts;
    const char *fn;        /* --fn; NULL: an exec job of COMMAND */
    const char *data;      /* --data */
    const char *data_file; /* --data-file, "-" for stdin */
    char **command;        /* exec: argv, NULL-terminated */
} s_submit_t;

static const cli_option_t s_submit_options[] = {
    {"wg", CLI_KEY_WG, 1},
    {"chan", CLI_KEY_CHAN, 1},
    {"timeout", CLI_KEY_TIMEOUT, 1},
    {"attempts", CLI_KEY_ATTEMPTS, 1},
    {"key", CLI_KEY_KEY, 1},
    {"fn", CLI_KEY_FN, 1},
    {"data", CLI_KEY_DATA, 1},
    {"data-file", CLI_KEY_DATA_FILE, 1},
    {NULL, 0, 0}};

/* Parses the arguments of `go` and `run` into SUB: 0, or -1 (P's
   exit_code set) on --help or a usage error. */
static int
s_submit_parse(cli_parser_t *p, s_submit_t *sub)
{
    /* Options stop at the command, as in timeout(1): `goro go sleep -x`
       runs `sleep -x`. */
    p->command_follows = 1;
    int opt;
    while ((opt = cli_parser_next(p, s_submit_options)) != CLI_OPT_END) {
        int64_t number;
        switch (opt) {
            case CLI_OPT_STOP: return -1;
            case CLI_KEY_WG: sub->opts.wg = p->value; break;
            case CLI_KEY_CHAN: sub->opts.result_chan = p->value; break;
            case CLI_KEY_KEY: sub->opts.key = p->value; break;
            case CLI_KEY_TIMEOUT:
                if (cli_parser_timeout(p, &sub->opts.timeout_ms) != 0)
                    return -1;
                /* For a job's run time, "forever" is goro_opts_t's 0. */
                if (sub->opts.timeout_ms < 0)
                    sub->opts.timeout_ms = 0;
                break;
            case CLI_KEY_ATTEMPTS:
                if (cli_parser_int(p, "--attempts", p->value, 1, INT_MAX,
                                   &number)
                    != 0)
                    return -1;
                sub->opts.max_attempts = (int) number;
                break;
            case CLI_KEY_FN: sub->fn = p->value; break;
            case CLI_KEY_DATA: sub->data = p->value; break;
            case CLI_KEY_DATA_FILE: sub->data_file = p->value; break;
        }
    }
    sub->command = p->command;
    if (sub->data && sub->data_file)
        return cli_parser_fail(p, "--data and --data-file exclude each other");
    if (sub->fn && sub->command)
        return cli_parser_fail(p,
                               "a --fn job takes no command (\"%s\"); "
                               "pass its payload with --data or --data-file",
                               sub->command[0]);
    if (!sub->fn && (sub->data || sub->data_file))
        return cli_parser_fail(p, "--data and --data-file need --fn");
    if (!sub->fn && !sub->command)
        return cli_parser_fail(p, "missing CMD");
    return 0;
}

/* Submits SUB for VERB; the id goes to *ID_OUT. With JOB_OUT, waits for
   the job's end in the same request instead (run), and the ended job
   goes there. Returns an exit code. */
static int
s_submit(goro_t *client, const char *verb, s_submit_t *sub, uint64_t *id_out,
         goro_job_t **job_out)
{
    int rc;
    if (sub->fn) {
        char *buf = NULL;
        const void *data = sub->data;
        size_t len = data ? strlen(data) : 0;
        if (sub->data_file) {
            if (cli_util_read_file(sub->data_file, &buf, &len) != 0)
                return cli_exit_sys("%s: cannot read %s", verb,
                                    sub->data_file);
            data = buf;
        }
        rc = job_out ? goro_run(client, sub->fn, data, len, &sub->opts, -1,
                                job_out)
                     : goro_go(client, sub->fn, data, len, &sub->opts, id_out);
        free(buf);
        if (rc != GORO_OK)
            return cli_exit_fail(client, rc, "%s --fn %s", verb, sub->fn);
    }
    else {
        const char *const *argv = (const char *const *) sub->command;
        rc = job_out ? goro_run_exec(client, argv, &sub->opts, -1, job_out)
                     : goro_go_exec(client, argv, &sub->opts, id_out);
        if (rc != GORO_OK)
            return cli_exit_fail(client, rc, "%s %s", verb, sub->command[0]);
    }
    return CLI_EXIT_OK;
}

static int
s_job_ended(int state)
{
    return state != GORO_JOB_QUEUED && state != GORO_JOB_RUNNING;
}

/* Writes an ended job's stdout to ours and its stderr to ours, and
   returns the exit code `result` and `run` promise: the job's status
   clamped to 0..255, 124 if it timed out, 1 if it did not succeed and
   has no status that says so. */
static int
s_job_report(const goro_job_t *job)
{
    size_t len = 0;
    const char *out = goro_job_output(job, &len);
    if (out && len)
        fwrite(out, 1, len, stdout);
    /* Ours first, so a terminal shows the two in a sensible order. */
    fflush(stdout);
    const char *err = goro_job_error(job, &len);
    if (err && len) {
        fwrite(err, 1, len, stderr);
        /* An app function's error text is a message, not a stream. */
        if (err[len - 1] != '\n')
            fputc('\n', stderr);
    }

    uint64_t id = goro_job_id(job);
    int state = goro_job_state(job);
    int status = goro_job_exit_status(job);
    if (status > 255)
        status = 255;
    switch (state) {
        case GORO_JOB_SUCCEEDED: return status > 0 ? status : CLI_EXIT_OK;
        case GORO_JOB_TIMED_OUT:
            fprintf(stderr, "goro: job %" PRIu64 " timed out\n", id);
            return CLI_EXIT_TIMEOUT;
        case GORO_JOB_CANCELLED:
            fprintf(stderr, "goro: job %" PRIu64 " was cancelled\n", id);
            return status > 0 ? status : CLI_EXIT_ERROR;
        default:
            if (status > 0)
                return status; /* its stderr says why; so do we not */
            fprintf(stderr,
                    "goro: job %" PRIu64 " failed after %d "
                    "attempt%s\n",
                    id, goro_job_attempts(job),
                    goro_job_attempts(job) == 1 ? "" : "s");
            return CLI_EXIT_ERROR;
    }
}

int
cli_jobs_go(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    cli_parser_init(&p, "go", argc, argv);
    s_submit_t sub = {GORO_OPTS_INIT, NULL, NULL, NULL, NULL};
    if (s_submit_parse(&p, &sub) != 0)
        return p.exit_code;
    uint64_t id;
    int code = s_submit(client, "go", &sub, &id, NULL);
    if (code == CLI_EXIT_OK)
        printf("%" PRIu64 "\n", id);
    return code;
}

int
cli_jobs_run(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    cli_parser_init(&p, "run", argc, argv);
    s_submit_t sub = {GORO_OPTS_INIT, NULL, NULL, NULL, NULL};
    if (s_submit_parse(&p, &sub) != 0)
        return p.exit_code;
    /* No limit of our own: --timeout bounds the job, and a job that runs
       out of time ends (timed_out), which ends the wait. */
    goro_job_t *job = NULL;
    int code = s_submit(client, "run", &sub, NULL, &job);
    if (code != CLI_EXIT_OK)
        return code;
    code = s_job_report(job);
    goro_job_destroy(&job);
    return code;
}

int
cli_jobs_result(goro_t *client, int argc, char **argv)
{
    static const cli_option_t options[] = {{"wait", CLI_KEY_WAIT, 0},
                                           {"timeout", CLI_KEY_TIMEOUT, 1},
                                           {NULL, 0, 0}};
    cli_parser_t p;
    cli_parser_init(&p, "result", argc, argv);
    int do_wait = 0;
    int64_t timeout_ms = -1;
    int opt;
    while ((opt = cli_parser_next(&p, options)) != CLI_OPT_END) {
        if (opt == CLI_OPT_STOP)
            return p.exit_code;
        if (opt == CLI_KEY_TIMEOUT && cli_parser_timeout(&p, &timeout_ms) != 0)
            return p.exit_code;
        /* A timeout only means something for a wait. */
        do_wait = 1;
    }
    uint64_t id;
    if (cli_parser_args(&p, 1, "ID") != 0
        || cli_parser_job_id(&p, p.args[0], &id) != 0)
        return p.exit_code;

    goro_job_t *job = NULL;
    int rc = do_wait ? goro_job_wait(client, id, timeout_ms, &job)
                     : goro_job_status(client, id, &job);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "result %" PRIu64, id);
    int code;
    int state = goro_job_state(job);
    if (s_job_ended(state))
        code = s_job_report(job);
    else {
        fprintf(stderr,
                "goro: job %" PRIu64 " has not ended (state: %s); "
                "use --wait\n",
                id, goro_job_state_name(state));
        code = CLI_EXIT_ERROR;
    }
    goro_job_destroy(&job);
    return code;
}

int
cli_jobs_status(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    int json = 0;
    uint64_t id;
    if (cli_verb_parse_json(&p, "status", argc, argv, 1, "ID", &json) != 0
        || cli_parser_job_id(&p, p.args[0], &id) != 0)
        return p.exit_code;

    goro_job_t *job = NULL;
    int rc = goro_job_status(client, id, &job);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "status %" PRIu64, id);
    const char *fn = goro_job_fn(job) ? goro_job_fn(job) : "";
    const char *state = goro_job_state_name(goro_job_state(job));
    int status = goro_job_exit_status(job);
    int64_t runtime_ms = goro_job_runtime_ms(job);
    if (json) {
        json_t *doc = json_new();
        json_object_open(doc);
        json_key(doc, "id");
        json_uint(doc, goro_job_id(job));
        json_key(doc, "function");
        json_str(doc, fn);
        json_key(doc, "state");
        json_str(doc, state);
        json_key(doc, "attempts");
        json_int(doc, goro_job_attempts(job));
        json_key(doc, "exit_status");
        if (status < 0)
            json_null(doc);
        else
            json_int(doc, status);
        json_key(doc, "runtime_ms");
        json_int(doc, runtime_ms);
        json_object_close(doc);
        cli_util_print_json(&doc);
    }
    else {
        char runtime[32];
        cli_util_format_ms(runtime_ms, runtime, sizeof runtime);
        printf("id: %" PRIu64 "\nfunction: %s\nstate: %s\nattempts: %d\n",
               goro_job_id(job), fn, state, goro_job_attempts(job));
        if (status < 0)
            printf("exit_status: -\n");
        else
            printf("exit_status: %d\n", status);
        printf("runtime: %s\n", runtime);
    }
    goro_job_destroy(&job);
    return CLI_EXIT_OK;
}

/* cancel and retry: one id, no output. */
static int
s_job_action(goro_t *client, const char *verb, int argc, char **argv,
             int (*action)(goro_t *, uint64_t))
{
    cli_parser_t p;
    cli_parser_init(&p, verb, argc, argv);
    if (cli_parser_next(&p, cli_no_options) == CLI_OPT_STOP)
        return p.exit_code;
    uint64_t id;
    if (cli_parser_args(&p, 1, "ID") != 0
        || cli_parser_job_id(&p, p.args[0], &id) != 0)
        return p.exit_code;
    int rc = action(client, id);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "%s %" PRIu64, verb, id);
    return CLI_EXIT_OK;
}

int
cli_jobs_cancel(goro_t *client, int argc, char **argv)
{
    return s_job_action(client, "cancel", argc, argv, goro_job_cancel);
}

int
cli_jobs_retry(goro_t *client, int argc, char **argv)
{
    return s_job_action(client, "retry", argc, argv, goro_job_retry);
}
