/*  cli_wg - the verbs of waitgroups: wg add, done, wait (with its
    progress display), status.
*/
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* `wg wait --progress` redraws at most this often. The end itself is seen
   at once, because the pause between redraws is a goro_wg_wait. */
#define S_PROGRESS_MS 200

/* Progress bar width in characters: bar and counters fit in 80 columns
   for group names up to about 16 characters. */
#define S_BAR_WIDTH 24

int
cli_wg_add(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    cli_parser_init(&p, "wg add", argc, argv);
    int64_t delta;
    if (cli_parser_next(&p, cli_no_options) == CLI_OPT_STOP
        || cli_parser_args(&p, 2, "NAME N") != 0
        || cli_parser_int(&p, "N", p.args[1], INT64_MIN, INT64_MAX, &delta)
               != 0)
        return p.exit_code;
    int rc = goro_wg_add(client, p.args[0], delta);
    if (rc == GORO_OK)
        rc = goro_flush(client); /* its answer, before we exit */
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "wg add %s %" PRId64, p.args[0],
                             delta);
    return CLI_EXIT_OK;
}

/* goro_wg_done, and its answer before we exit. */
static int
s_done(goro_t *client, const char *name)
{
    int rc = goro_wg_done(client, name);
    return rc == GORO_OK ? goro_flush(client) : rc;
}

int
cli_wg_done(goro_t *client, int argc, char **argv)
{
    return cli_verb_on_name(client, "wg done", argc, argv, s_done);
}

/* What `wg wait --progress` has shown. */
typedef struct {
    const char *name;
    int tty;               /* stdout is a terminal: redraw one line */
    int64_t start_at;      /* when we started watching, for the rate */
    int64_t done_at_start; /* the rate counts only what we saw done */
    goro_wg_info_t shown;  /* counts last shown */
    int drawn;             /* something was shown */
} s_progress_t;

static void
s_progress_show(s_progress_t *self, const goro_wg_info_t *info)
{
    int64_t total = info->added;
    int64_t done = info->done;
    if (self->tty) {
        char bar[S_BAR_WIDTH + 1];
        int64_t filled = total > 0 ? done * S_BAR_WIDTH / total : 0;
        if (filled < 0)
            filled = 0;
        if (filled > S_BAR_WIDTH)
            filled = S_BAR_WIDTH;
        memset(bar, '#', (size_t) filled);
        memset(bar + filled, '-', (size_t) (S_BAR_WIDTH - filled));
        bar[S_BAR_WIDTH] = '\0';

        /* The rate is what we watched get done, so a group that was half
           done before we came does not look fast. */
        double seconds = (double) (cli_util_now_ms() - self->start_at)
                         / 1000.0;
        double rate = seconds > 0.5
                          ? (double) (done - self->done_at_start) / seconds
                          : 0.0;
        char rate_text[32] = "-";
        char eta[32] = "-";
        if (rate > 0) {
            snprintf(rate_text, sizeof rate_text, "%.1f", rate);
            if (total > done)
                cli_util_format_ms((int64_t) ((double) (total - done) / rate
                                              * 1000.0),
                                   eta, sizeof eta);
        }
        /* \033[K clears what a longer previous line left behind. */
        printf("\rwg %s [%s] %" PRId64 "/%" PRId64 " done, %" PRId64
               " failed, %s/s, ETA %s\033[K",
               self->name, bar, done, total, info->failed, rate_text, eta);
        fflush(stdout);
        self->drawn = 1;
    }
    else if (!self->drawn || info->added != self->shown.added
             || info->done != self->shown.done
             || info->failed != self->shown.failed) {
        printf("wg %s: %" PRId64 "/%" PRId64 " done, %" PRId64 " failed\n",
               self->name, done, total, info->failed);
        fflush(stdout);
        self->drawn = 1;
    }
    self->shown = *info;
}

/* wg wait --progress: shows the counts between short waits until the
   counter is zero or TIMEOUT_MS passed. Returns a libgoro code. */
static int
s_wg_watch(goro_t *client, s_progress_t *progress, int64_t timeout_ms)
{
    const char *name = progress->name;
    int64_t deadline_at = timeout_ms < 0 ? -1 : cli_util_now_ms() + timeout_ms;
    goro_wg_info_t info;
    int rc = goro_wg_status(client, name, &info);
    if (rc != GORO_OK)
        return rc;
    progress->done_at_start = info.done;
    while (info.counter != 0) {
        s_progress_show(progress, &info);
        int64_t slice_ms = S_PROGRESS_MS;
        if (deadline_at >= 0) {
            int64_t left_ms = deadline_at - cli_util_now_ms();
            if (left_ms <= 0)
                return GORO_ETIMEDOUT;
            if (left_ms < slice_ms)
                slice_ms = left_ms;
        }
        /* Waiting rather than sleeping returns the moment it reaches zero,
           as the plain wait would; a later Add cannot hide that. */
        rc = goro_wg_wait(client, name, slice_ms);
        int reached_zero = rc == GORO_OK;
        if (rc != GORO_OK && rc != GORO_ETIMEDOUT)
            return rc;
        rc = goro_wg_status(client, name, &info);
        if (rc != GORO_OK)
            return rc;
        if (reached_zero) {
            /* The counts may have reset at zero, or a new round started:
               show the round we waited for, complete. */
            if (info.counter != 0 || info.added < progress->shown.added) {
                info = progress->shown;
                info.done = info.added;
                info.counter = 0;
            }
            break;
        }
    }
    s_progress_show(progress, &info);
    return GORO_OK;
}

int
cli_wg_wait(goro_t *client, int argc, char **argv)
{
    static const cli_option_t options[] = {{"timeout", CLI_KEY_TIMEOUT, 1},
                                           {"progress", CLI_KEY_PROGRESS, 0},
                                           {NULL, 0, 0}};
    cli_parser_t p;
    cli_parser_init(&p, "wg wait", argc, argv);
    int64_t timeout_ms = -1;
    int progress = 0;
    int opt;
    while ((opt = cli_parser_next(&p, options)) != CLI_OPT_END) {
        if (opt == CLI_OPT_STOP
            || (opt == CLI_KEY_TIMEOUT
                && cli_parser_timeout(&p, &timeout_ms) != 0))
            return p.exit_code;
        if (opt == CLI_KEY_PROGRESS)
            progress = 1;
    }
    if (cli_parser_args(&p, 1, "NAME") != 0)
        return p.exit_code;

    const char *name = p.args[0];
    int rc;
    if (progress) {
        s_progress_t watch = {name, isatty(STDOUT_FILENO), cli_util_now_ms(),
                              0,    {0, 0, 0, 0, 0},       0};
        rc = s_wg_watch(client, &watch, timeout_ms);
        /* End the bar's line so the error or prompt starts on its own. */
        if (watch.tty && watch.drawn) {
            fputc('\n', stdout);
            fflush(stdout);
        }
    }
    else
        rc = goro_wg_wait(client, name, timeout_ms);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "wg wait %s", name);
    return CLI_EXIT_OK;
}

int
cli_wg_status(goro_t *client, int argc, char **argv)
{
    cli_parser_t p;
    int json = 0;
    if (cli_verb_parse_json(&p, "wg status", argc, argv, 1, "NAME", &json)
        != 0)
        return p.exit_code;

    goro_wg_info_t info;
    int rc = goro_wg_status(client, p.args[0], &info);
    if (rc != GORO_OK)
        return cli_exit_fail(client, rc, "wg status %s", p.args[0]);
    if (json) {
        const struct {
            const char *key;
            int64_t value;
        } fields[] = {
            {"counter", info.counter}, {"added", info.added},
            {"done", info.done},       {"succeeded", info.succeeded},
            {"failed", info.failed},
        };
        json_t *doc = json_new();
        json_object_open(doc);
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            json_key(doc, fields[i].key);
            json_int(doc, fields[i].value);
        }
        json_object_close(doc);
        cli_util_print_json(&doc);
    }
    else
        printf("counter: %" PRId64 "\nadded: %" PRId64 "\ndone: %" PRId64
               "\nsucceeded: %" PRId64 "\nfailed: %" PRId64 "\n",
               info.counter, info.added, info.done, info.succeeded,
               info.failed);
    return CLI_EXIT_OK;
}
