/*  cli - what the pieces of `goro`, the command-line client, share: the
    exit codes and error reports (cli_exit.c), the option parser
    (cli_parser.c), small helpers (cli_util.c), the verb table and its
    help (cli_help.c, cli_verb.c) and the verbs by domain: cli_jobs.c,
    cli_chan.c, cli_wg.c, cli_admin.c. cli.c is main(). Only cli*.c
    include it.

    Like any other client, the CLI reaches gorod through goro.h alone:
    if it needs something goro.h cannot do, that belongs in libgoro.
    Besides libgoro it compiles in one leaf module of proto/, json,
    which gorod's listings share, so both write the same JSON.

    Return conventions: a verb (cli_verb_fn) and the cli_exit_* reports
    return the process's exit code. Every other helper that can fail
    returns 0, or -1 once it has reported why; the parser's say how to
    exit in the parser's exit_code (CLI_EXIT_OK after --help).
*/
#ifndef CLI_H_INCLUDED
#define CLI_H_INCLUDED

#include "goro.h"
#include "json.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CLI_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define CLI_PRINTF(fmt, first)
#endif

/* ------------------------------------------------------------------ */
/*  Exit codes and error reports (cli_exit.c)                          */
/* ------------------------------------------------------------------ */

/* Exit codes of DESIGN.md, "Command line". */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_CLOSED 3
#define CLI_EXIT_TIMEOUT 124 /* as timeout(1), so scripts treat us alike */

/* Reports libgoro error ERR for what FMT describes ("recv jobs") as one
   line on stderr, and returns the exit code for ERR. */
int cli_exit_fail(goro_t *client, int err, const char *fmt, ...)
    CLI_PRINTF(3, 4);
/* Reports a failed system call (errno); returns CLI_EXIT_ERROR. */
int cli_exit_sys(const char *fmt, ...) CLI_PRINTF(1, 2);
/* One line naming a usage mistake, then where to read more; returns
   CLI_EXIT_USAGE. VERB is NULL for mistakes before the verb. */
int cli_exit_usage(const char *verb, const char *fmt, ...) CLI_PRINTF(2, 3);
int cli_exit_vusage(const char *verb, const char *fmt, va_list args)
    CLI_PRINTF(2, 0);
/* --cert was given: cli_exit_fail then says a refused key may be why
   gorod seems absent. */
void cli_exit_curve_used(int used);

/* ------------------------------------------------------------------ */
/*  Small helpers (cli_util.c)                                         */
/* ------------------------------------------------------------------ */

/* realloc that aborts on OOM (STYLE.md 3). */
void *cli_util_realloc(void *ptr, size_t size);
int64_t cli_util_now_ms(void);
/* All of FILE (or of PATH; "-" is stdin), binary safe, into a new
   buffer the caller frees. 0, or -1 with errno set. */
int cli_util_read_stream(FILE *file, char **buf_out, size_t *len_out);
int cli_util_read_file(const char *path, char **buf_out, size_t *len_out);
/* MS in Go's Duration.String() style ("250ms", "1.5s", "2m3s"). */
void cli_util_format_ms(int64_t ms, char *buf, size_t size);
/* Ends *DOC_P (json_finish) and writes it to stdout. */
void cli_util_print_json(json_t **doc_p);

/* ------------------------------------------------------------------ */
/*  Option parser (cli_parser.c)                                       */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name; /* long name: --NAME */
    int key;          /* what cli_parser_next() returns; > 0 */
    int takes_value;  /* --NAME VALUE or --NAME=VALUE */
} cli_option_t;

/* Option keys, shared so verbs can share option tables. */
enum {
    CLI_KEY_TIMEOUT = 1,
    CLI_KEY_WAIT,
    CLI_KEY_JSON,
    CLI_KEY_FAILED,
    CLI_KEY_CAP,
    CLI_KEY_PROGRESS,
    CLI_KEY_RECV,
    CLI_KEY_SEND,
    CLI_KEY_DEFAULT,
    CLI_KEY_WG,
    CLI_KEY_CHAN,
    CLI_KEY_ATTEMPTS,
    CLI_KEY_KEY,
    CLI_KEY_FN,
    CLI_KEY_DATA,
    CLI_KEY_DATA_FILE
};

/* What cli_parser_next() returns besides option keys. */
enum {
    CLI_OPT_END = 0,  /* all arguments seen */
    CLI_OPT_STOP = -1 /* --help printed or a usage error: return
                         the parser's exit_code */
};

/* No verb takes more than two arguments; more are counted, and the first
   extra one is kept so the error can name it. */
#define CLI_MAX_ARGS 4

typedef struct {
    const char *verb; /* for messages and --help */
    int argc;
    char **argv;         /* argv[argc] is NULL, as main's */
    int next;            /* index of the next element to look at */
    int options_done;    /* "--" seen: the rest are arguments */
    int command_follows; /* go, run: the first argument starts the
                            command, which takes the rest */
    const char *option;  /* name of the option just returned */
    const char *value;   /* its value */
    const char *args[CLI_MAX_ARGS];
    int nargs;      /* all arguments, even those not kept */
    char **command; /* command_follows: NULL-terminated */
    int exit_code;  /* after CLI_OPT_STOP or a failed check */
} cli_parser_t;

/* The options of a verb that takes none. */
extern const cli_option_t cli_no_options[];

/* ARGV[0] is the verb word; VERB names it in messages and --help. */
void cli_parser_init(cli_parser_t *self, const char *verb, int argc,
                     char **argv);
/* The next option's key (its value in self->value), CLI_OPT_END, or
   CLI_OPT_STOP. Arguments are collected in self->args on the way. */
int cli_parser_next(cli_parser_t *self, const cli_option_t *options);
/* Non-zero if ARG is an option: "-" and "-1" are arguments. */
int cli_parser_is_option(const char *arg);

/* The checks: 0, or -1 after the usage error was reported (exit_code
   set). */
int cli_parser_fail(cli_parser_t *self, const char *fmt, ...) CLI_PRINTF(2, 3);
/* Exactly COUNT arguments; NAMES spells them ("NAME VALUE"). */
int cli_parser_args(cli_parser_t *self, int count, const char *names);
/* The current option's value as a timeout: a Go duration of at least
   1 ms, 0, or -1 for forever. */
int cli_parser_timeout(cli_parser_t *self, int64_t *ms_out);
/* TEXT as a decimal integer in MIN..MAX; WHAT names it. */
int cli_parser_int(cli_parser_t *self, const char *what, const char *text,
                   int64_t min, int64_t max, int64_t *out);
/* A job id: decimal digits only, 1..2^64-1. */
int cli_parser_job_id(cli_parser_t *self, const char *text, uint64_t *id_out);

/* ------------------------------------------------------------------ */
/*  Verbs (cli_verb.c, cli_help.c)                                     */
/* ------------------------------------------------------------------ */

/* Runs a verb; argv[0] is its (last) word. Returns the exit code. */
typedef int cli_verb_fn(goro_t *client, int argc, char **argv);

/* One verb. Verbs of a group ("wg add") have the group word, a space and
   the verb word as NAME. */
typedef struct {
    const char *name;     /* as typed: "send", "wg add" */
    cli_verb_fn *handler; /* gets argv[0] = the (last) verb word */
    int offline;          /* needs no client handle: help, keygen */
    const char *synopsis; /* arguments; '\n' separates alternatives */
    const char *help;     /* what `goro VERB --help` adds */
} cli_verb_t;

/* Every verb, in the order `goro --help` lists them (cli_help.c). */
extern const cli_verb_t cli_verbs[];
extern const size_t cli_verb_count;

/* The verb WORD, or WORD NEXT for a verb in a group; NULL if none. */
const cli_verb_t *cli_verb_find(const char *word, const char *next);
/* Non-zero if WORD starts verbs of a group ("wg", "chan"). */
int cli_verb_is_group(const char *word);

/* Shapes several verbs share. The parses: 0, or -1 (p->exit_code set)
   on --help or a usage error. */
/* The only option is --timeout D (into *TIMEOUT_MS if given); NARGS
   arguments, named USAGE in messages. */
int cli_verb_parse_timeout(cli_parser_t *p, const char *verb, int argc,
                           char **argv, int nargs, const char *usage,
                           int64_t *timeout_ms);
/* The only option is --json (*JSON set if given). */
int cli_verb_parse_json(cli_parser_t *p, const char *verb, int argc,
                        char **argv, int nargs, const char *usage, int *json);
/* A verb whose one argument is a NAME that ACTION acts on (close,
   wg done). Returns the exit code. */
int cli_verb_on_name(goro_t *client, const char *verb, int argc, char **argv,
                     int (*action)(goro_t *, const char *));

/* Help for verb NAME, or for all verbs of group NAME. */
void cli_help_print(const char *name, FILE *out);
/* `goro --help`: global options and every verb's synopsis. */
void cli_help_usage(FILE *out);

/* The verbs, by domain. */
cli_verb_fn cli_jobs_go, cli_jobs_run, cli_jobs_result, cli_jobs_status,
    cli_jobs_cancel, cli_jobs_retry;
cli_verb_fn cli_chan_make, cli_chan_send, cli_chan_recv, cli_chan_close,
    cli_chan_select;
cli_verb_fn cli_wg_add, cli_wg_done, cli_wg_wait, cli_wg_status;
cli_verb_fn cli_admin_ping, cli_admin_jobs, cli_admin_workers, cli_admin_stats,
    cli_admin_keygen;
cli_verb_fn cli_help_verb;

#endif
