/*  cli.c - `goro`, the command-line client of gorod.

    Each verb of DESIGN.md's "Command line" is one s_cmd_* function, found
    through the verb table s_verbs[]. A verb parses its own arguments with
    the small option parser below, calls libgoro and returns the exit code
    that main() returns. Global options (-e, -v) come before the verb.

    This file uses only the public header goro.h, like any other client:
    if the CLI needs something goro.h cannot do, it belongs in libgoro.

    Exit codes are the contract of DESIGN.md and come from one place,
    s_exit_code(): 0 done, 1 error, 2 usage or config error, 3 channel
    closed, 124 timed out (as timeout(1)). `run` and `result` exit with the
    job's own status instead. Values and job output are raw bytes; nothing
    here runs a shell.
*/
#include "goro.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit codes of DESIGN.md, "Command line". */
#define S_EXIT_OK       0
#define S_EXIT_ERROR    1
#define S_EXIT_USAGE    2
#define S_EXIT_CLOSED   3
#define S_EXIT_TIMEOUT  124     /* as timeout(1), so scripts treat us alike */

/* `ping` gives up after this unless --timeout says otherwise: long enough
   for a daemon in the middle of a journal fsync, short enough for a
   health check. */
#define S_PING_TIMEOUT_MS 3000

/* `wg wait --progress` redraws at most this often. The end itself is seen
   at once, because the pause between redraws is a goro_wg_wait. */
#define S_PROGRESS_MS 200

/* Progress bar width in characters: bar and counters fit in 80 columns
   for group names up to about 16 characters. */
#define S_BAR_WIDTH 24

#if defined(__GNUC__)
#   define S_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#   define S_PRINTF(fmt, first)
#endif

typedef int s_cmd_fn(goro_t *client, int argc, char **argv);

/* One verb. Verbs of a group ("wg add") have the group word, a space and
   the verb word as NAME. */
typedef struct {
    const char *name;           /* as typed: "send", "wg add" */
    s_cmd_fn *handler;          /* gets argv[0] = the (last) verb word */
    int offline;                /* needs no client handle: help, keygen */
    const char *synopsis;       /* arguments; '\n' separates alternatives */
    const char *help;           /* what `goro VERB --help` adds */
} s_verb_t;

static void s_print_help(const char *name, FILE *out);
static int s_usage_error(const char *verb, const char *fmt, ...)
    S_PRINTF(2, 3);
static int s_fail(goro_t *client, int err, const char *fmt, ...)
    S_PRINTF(3, 4);
static int s_sys_error(const char *fmt, ...) S_PRINTF(1, 2);


/* ------------------------------------------------------------------ */
/*  Errors and exit codes                                             */
/* ------------------------------------------------------------------ */

/* The one goro_err_t -> exit code table (STYLE.md 4). GORO_EINVAL means
   gorod refused an argument the user typed (a bad name, say), so it is a
   usage error like the ones we find ourselves. */
static const int s_exit_codes[GORO_ERROR_MAX] = {
    [GORO_OK]           = S_EXIT_OK,
    [GORO_EINVAL]       = S_EXIT_USAGE,
    [GORO_ENOTFOUND]    = S_EXIT_ERROR,
    [GORO_EEXIST]       = S_EXIT_ERROR,
    [GORO_ETIMEDOUT]    = S_EXIT_TIMEOUT,
    [GORO_ECLOSED]      = S_EXIT_CLOSED,
    [GORO_ENEGATIVE]    = S_EXIT_ERROR,
    [GORO_ETOOBIG]      = S_EXIT_ERROR,
    [GORO_EDENIED]      = S_EXIT_ERROR,
    [GORO_EUNAVAILABLE] = S_EXIT_ERROR,
    [GORO_EPROTO]       = S_EXIT_ERROR,
    [GORO_EFULL]        = S_EXIT_ERROR,
    [GORO_ESTATE]       = S_EXIT_ERROR,
    [GORO_ESYS]         = S_EXIT_ERROR,
    [GORO_ECANCELLED]   = S_EXIT_ERROR,
};

static int
s_exit_code(int err)
{
    if (err == GORO_OK)
        return S_EXIT_OK;
    /* A code newer than this table, or one it forgot (0 there), must
       still never look like success. */
    if (err < 0 || err >= GORO_ERROR_MAX || s_exit_codes[err] == S_EXIT_OK)
        return S_EXIT_ERROR;
    return s_exit_codes[err];
}

/* Reports libgoro error ERR for what FMT describes ("recv jobs") as one
   line on stderr, and returns the exit code for it. */
/* Set when --cert was given: a refused key looks like an absent gorod. */
static int s_curve_used;

static int
s_fail(goro_t *client, int err, const char *fmt, ...)
{
    const char *said = client ? goro_last_error(client) : NULL;
    if (err == GORO_EUNAVAILABLE && !said) {
        /* The context adds nothing here; where we looked is what helps. */
        fprintf(stderr, "goro: cannot reach gorod at %s (is it running%s?)\n",
                goro_endpoint(client), getenv("GORO_CERT") || s_curve_used
                ? ", and is our certificate allowed" : "");
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

/* Reports a failed system call (errno) and returns the error exit code. */
static int
s_sys_error(const char *fmt, ...)
{
    int saved = errno;
    va_list args;
    va_start(args, fmt);
    fputs("goro: ", stderr);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, ": %s\n", strerror(saved));
    return S_EXIT_ERROR;
}

static int s_vusage_error(const char *verb, const char *fmt, va_list args)
    S_PRINTF(2, 0);

/* One line naming the mistake, then where to read more. VERB is NULL for
   mistakes before the verb. */
static int
s_vusage_error(const char *verb, const char *fmt, va_list args)
{
    fputs("goro: ", stderr);
    if (verb)
        fprintf(stderr, "%s: ", verb);
    vfprintf(stderr, fmt, args);
    fprintf(stderr, " (see goro %s%s--help)\n", verb ? verb : "",
            verb ? " " : "");
    return S_EXIT_USAGE;
}

static int
s_usage_error(const char *verb, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    s_vusage_error(verb, fmt, args);
    va_end(args);
    return S_EXIT_USAGE;
}


/* ------------------------------------------------------------------ */
/*  Small helpers                                                     */
/* ------------------------------------------------------------------ */

/* OOM aborts (STYLE.md 3): a CLI has nothing useful to do without
   memory. */
static void *
s_realloc(void *ptr, size_t size)
{
    void *result = realloc(ptr, size ? size : 1);
    if (!result) {
        fputs("goro: out of memory\n", stderr);
        abort();
    }
    return result;
}

static int64_t
s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Reads all of FILE, binary safe, into a new buffer the caller frees.
   -1 with errno set on a read error. */
static int
s_read_stream(FILE *file, char **buf_out, size_t *len_out)
{
    size_t size = 4096;
    size_t len = 0;
    char *buf = s_realloc(NULL, size);
    size_t got;
    while ((got = fread(buf + len, 1, size - len, file)) > 0) {
        len += got;
        if (len == size) {
            size *= 2;
            buf = s_realloc(buf, size);
        }
    }
    if (ferror(file)) {
        int saved = errno;
        free(buf);
        errno = saved ? saved : EIO;
        return -1;
    }
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* As s_read_stream for file PATH, or stdin when PATH is "-". */
static int
s_read_file(const char *path, char **buf_out, size_t *len_out)
{
    if (strcmp(path, "-") == 0)
        return s_read_stream(stdin, buf_out, len_out);
    FILE *file = fopen(path, "rb");
    if (!file)
        return -1;
    int rc = s_read_stream(file, buf_out, len_out);
    int saved = errno;
    fclose(file);
    errno = saved;
    return rc;
}

/* Go's Duration.String() style ("250ms", "1.5s", "2m3s"), for people. */
static void
s_format_ms(int64_t ms, char *buf, size_t size)
{
    if (ms < 1000) {
        snprintf(buf, size, "%" PRId64 "ms", ms);
        return;
    }
    int64_t hours = ms / 3600000;
    int64_t minutes = ms / 60000 % 60;
    int64_t seconds = ms / 1000 % 60;
    int millis = (int) (ms % 1000);
    char frac[8] = "";
    if (millis) {
        snprintf(frac, sizeof frac, ".%03d", millis);
        size_t end = strlen(frac);
        while (end > 1 && frac[end - 1] == '0')
            frac[--end] = '\0';
    }
    if (hours)
        snprintf(buf, size, "%" PRId64 "h%" PRId64 "m%" PRId64 "%ss",
                 hours, minutes, seconds, frac);
    else
    if (minutes)
        snprintf(buf, size, "%" PRId64 "m%" PRId64 "%ss",
                 minutes, seconds, frac);
    else
        snprintf(buf, size, "%" PRId64 "%ss", seconds, frac);
}

/* A JSON string literal for TEXT. Bytes >= 0x80 pass through: names are
   expected to be UTF-8. */
static void
s_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else
        if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
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


/* ------------------------------------------------------------------ */
/*  Option parser                                                     */
/* ------------------------------------------------------------------ */
/*  getopt_long would do, but restarting it for a verb is not portable
    (optind = 0 on glibc, optreset on the BSDs), it stops permuting under
    POSIXLY_CORRECT, and its messages are not ours. This one takes
    --NAME, --NAME VALUE, --NAME=VALUE, -h and "--", with arguments and
    options in any order unless the verb takes a command (go, run). "-"
    and negative numbers ("-1") are arguments, not options.             */

typedef struct {
    const char *name;           /* long name: --NAME */
    int key;                    /* what s_parser_next() returns; > 0 */
    int takes_value;            /* --NAME VALUE or --NAME=VALUE */
} s_option_t;

/* Option keys, shared so verbs can share option tables. */
enum {
    S_KEY_TIMEOUT = 1,
    S_KEY_WAIT,
    S_KEY_JSON,
    S_KEY_FAILED,
    S_KEY_CAP,
    S_KEY_PROGRESS,
    S_KEY_RECV,
    S_KEY_SEND,
    S_KEY_DEFAULT,
    S_KEY_WG,
    S_KEY_CHAN,
    S_KEY_ATTEMPTS,
    S_KEY_KEY,
    S_KEY_FN,
    S_KEY_DATA,
    S_KEY_DATA_FILE
};

/* What s_parser_next() returns besides option keys. */
enum {
    S_OPT_END = 0,              /* all arguments seen */
    S_OPT_STOP = -1             /* --help printed or a usage error: return
                                   the parser's exit_code */
};

/* No verb takes more than two arguments; more are counted, and the first
   extra one is kept so the error can name it. */
#define S_MAX_ARGS 4

typedef struct {
    const char *verb;           /* for messages and --help */
    int argc;
    char **argv;                /* argv[argc] is NULL, as main's */
    int next;                   /* index of the next element to look at */
    int options_done;           /* "--" seen: the rest are arguments */
    int command_follows;        /* go, run: the first argument starts the
                                   command, which takes the rest */
    const char *option;         /* name of the option just returned */
    const char *value;          /* its value */
    const char *args[S_MAX_ARGS];
    int nargs;                  /* all arguments, even those not kept */
    char **command;             /* command_follows: NULL-terminated */
    int exit_code;              /* after S_OPT_STOP or a failed check */
} s_parser_t;

static const s_option_t s_no_options[] = {{NULL, 0, 0}};

static void
s_parser_init(s_parser_t *self, const char *verb, int argc, char **argv)
{
    memset(self, 0, sizeof *self);
    self->verb = verb;
    self->argc = argc;
    self->argv = argv;
    self->next = 1;             /* argv[0] is the verb word */
}

static int s_parser_fail(s_parser_t *self, const char *fmt, ...)
    S_PRINTF(2, 3);

/* Reports a usage error and returns 0, so checks read
   `if (!ok) return p.exit_code`. */
static int
s_parser_fail(s_parser_t *self, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    self->exit_code = s_vusage_error(self->verb, fmt, args);
    va_end(args);
    return 0;
}

static int
s_is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0'
        && !isdigit((unsigned char) arg[1]);
}

static int
s_parser_option(s_parser_t *self, const s_option_t *options, const char *arg)
{
    if (arg[1] != '-') {
        s_parser_fail(self, "unknown option %s", arg);
        return S_OPT_STOP;
    }
    const char *name = arg + 2;
    const char *equals = strchr(name, '=');
    size_t name_len = equals ? (size_t) (equals - name) : strlen(name);
    const s_option_t *option = options;
    while (option->name && !(strlen(option->name) == name_len
                             && memcmp(option->name, name, name_len) == 0))
        option++;
    if (!option->name) {
        s_parser_fail(self, "unknown option --%.*s", (int) name_len, name);
        return S_OPT_STOP;
    }
    self->option = option->name;
    self->value = NULL;
    if (option->takes_value) {
        if (equals)
            self->value = equals + 1;
        else
        if (self->next < self->argc)
            self->value = self->argv[self->next++];
        else {
            s_parser_fail(self, "--%s needs a value", option->name);
            return S_OPT_STOP;
        }
    }
    else
    if (equals) {
        s_parser_fail(self, "--%s takes no value", option->name);
        return S_OPT_STOP;
    }
    return option->key;
}

/* Returns the next option's key (its value in self->value), S_OPT_END, or
   S_OPT_STOP. Arguments are collected in self->args on the way. */
static int
s_parser_next(s_parser_t *self, const s_option_t *options)
{
    while (self->next < self->argc) {
        char *arg = self->argv[self->next++];
        if (self->options_done || !s_is_option(arg)) {
            if (self->command_follows) {
                self->command = &self->argv[self->next - 1];
                self->next = self->argc;
                break;
            }
            if (self->nargs < S_MAX_ARGS)
                self->args[self->nargs] = arg;
            self->nargs++;
        }
        else
        if (strcmp(arg, "--") == 0)
            self->options_done = 1;
        else
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            s_print_help(self->verb, stdout);
            self->exit_code = S_EXIT_OK;
            return S_OPT_STOP;
        }
        else
            return s_parser_option(self, options, arg);
    }
    return S_OPT_END;
}

/* Checks that the verb got exactly COUNT arguments; NAMES spells them
   ("NAME VALUE") so the message can say which are missing. */
static int
s_parser_args(s_parser_t *self, int count, const char *names)
{
    if (self->nargs > count)
        return s_parser_fail(self, "unexpected argument \"%s\"",
                             self->args[count]);
    if (self->nargs < count) {
        const char *missing = names;
        for (int i = 0; i < self->nargs; i++)
            missing = strchr(missing, ' ') + 1;
        return s_parser_fail(self, "missing %s", missing);
    }
    return 1;
}

/* The current option's value as a timeout: a Go duration of at least
   1 ms, 0, or -1 for forever. goro_duration_parse refuses the rest,
   among them 500us, which would otherwise round to 0 and mean "no limit"
   or "try once". */
static int
s_parser_timeout(s_parser_t *self, int64_t *ms_out)
{
    if (goro_duration_parse(self->value, ms_out) != GORO_OK)
        return s_parser_fail(self, "bad duration \"%s\" for --%s: expected "
                             "Go syntax like 300ms, 1.5s or 2m (at least "
                             "1ms), 0, or -1 for forever", self->value,
                             self->option);
    return 1;
}

/* TEXT as a decimal integer in MIN..MAX; WHAT names it for the message.
   Stricter than strtoll alone: no blanks, no '+', no trailing junk. */
static int
s_parser_int(s_parser_t *self, const char *what, const char *text,
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
            return s_parser_fail(self, "bad %s \"%s\": expected a whole "
                                 "number", what, text);
        if (max == INT64_MAX)
            return s_parser_fail(self, "bad %s \"%s\": expected a whole "
                                 "number of at least %" PRId64, what, text,
                                 min);
        return s_parser_fail(self, "bad %s \"%s\": expected a whole number "
                             "from %" PRId64 " to %" PRId64, what, text, min,
                             max);
    }
    *out = number;
    return 1;
}

/* A job id: decimal digits only, 1..2^64-1 (0 is never an id). */
static int
s_parser_job_id(s_parser_t *self, const char *text, uint64_t *id_out)
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
        return s_parser_fail(self, "bad job id \"%s\"", text);
    *id_out = id;
    return 1;
}


/* ------------------------------------------------------------------ */
/*  Jobs                                                              */
/* ------------------------------------------------------------------ */

/* The parse of a verb whose only option is --timeout D: NARGS arguments
   (named USAGE in messages), *TIMEOUT_MS set if the option is given.
   0 (p->exit_code set) on --help or a usage error. */
static int
s_parse_timeout_verb(s_parser_t *p, const char *verb, int argc, char **argv,
                     int nargs, const char *usage, int64_t *timeout_ms)
{
    static const s_option_t options[] = {
        {"timeout", S_KEY_TIMEOUT, 1}, {NULL, 0, 0}
    };
    s_parser_init(p, verb, argc, argv);
    int opt;
    while ((opt = s_parser_next(p, options)) != S_OPT_END)
        if (opt == S_OPT_STOP || !s_parser_timeout(p, timeout_ms))
            return 0;
    return s_parser_args(p, nargs, usage);
}

/* The parse of a verb whose only option is --json: NARGS arguments
   (named USAGE), *JSON set if given. 0 (p->exit_code set) on --help or a
   usage error. */
static int
s_parse_json_verb(s_parser_t *p, const char *verb, int argc, char **argv,
                  int nargs, const char *usage, int *json)
{
    static const s_option_t options[] = {
        {"json", S_KEY_JSON, 0}, {NULL, 0, 0}
    };
    s_parser_init(p, verb, argc, argv);
    int opt;
    while ((opt = s_parser_next(p, options)) != S_OPT_END) {
        if (opt == S_OPT_STOP)
            return 0;
        *json = 1;
    }
    return s_parser_args(p, nargs, usage);
}

static int
s_cmd_ping(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    int64_t timeout_ms = S_PING_TIMEOUT_MS;
    if (!s_parse_timeout_verb(&p, "ping", argc, argv, 0, "", &timeout_ms))
        return p.exit_code;

    int64_t start_at = s_now_ms();
    int rc = goro_ping(client, timeout_ms);
    if (rc != GORO_OK)
        return s_fail(client, rc, "ping");
    printf("gorod at %s answered in %" PRId64 " ms\n",
           goro_endpoint(client), s_now_ms() - start_at);
    return S_EXIT_OK;
}

/* What `go` and `run` submit. */
typedef struct {
    goro_opts_t opts;
    const char *fn;             /* --fn; NULL: an exec job of COMMAND */
    const char *data;           /* --data */
    const char *data_file;      /* --data-file, "-" for stdin */
    char **command;             /* exec: argv, NULL-terminated */
} s_submit_t;

static const s_option_t s_submit_options[] = {
    {"wg", S_KEY_WG, 1},
    {"chan", S_KEY_CHAN, 1},
    {"timeout", S_KEY_TIMEOUT, 1},
    {"attempts", S_KEY_ATTEMPTS, 1},
    {"key", S_KEY_KEY, 1},
    {"fn", S_KEY_FN, 1},
    {"data", S_KEY_DATA, 1},
    {"data-file", S_KEY_DATA_FILE, 1},
    {NULL, 0, 0}
};

/* Parses the arguments of `go` and `run` into SUB. */
static int
s_submit_parse(s_parser_t *p, s_submit_t *sub)
{
    /* Options stop at the command, as in timeout(1): `goro go sleep -x`
       runs `sleep -x`. */
    p->command_follows = 1;
    int opt;
    while ((opt = s_parser_next(p, s_submit_options)) != S_OPT_END) {
        int64_t number;
        switch (opt) {
            case S_OPT_STOP:
                return 0;
            case S_KEY_WG:
                sub->opts.wg = p->value;
                break;
            case S_KEY_CHAN:
                sub->opts.result_chan = p->value;
                break;
            case S_KEY_KEY:
                sub->opts.key = p->value;
                break;
            case S_KEY_TIMEOUT:
                if (!s_parser_timeout(p, &sub->opts.timeout_ms))
                    return 0;
                /* For a job's run time, "forever" is goro_opts_t's 0. */
                if (sub->opts.timeout_ms < 0)
                    sub->opts.timeout_ms = 0;
                break;
            case S_KEY_ATTEMPTS:
                if (!s_parser_int(p, "--attempts", p->value, 1, INT_MAX,
                                  &number))
                    return 0;
                sub->opts.max_attempts = (int) number;
                break;
            case S_KEY_FN:
                sub->fn = p->value;
                break;
            case S_KEY_DATA:
                sub->data = p->value;
                break;
            case S_KEY_DATA_FILE:
                sub->data_file = p->value;
                break;
        }
    }
    sub->command = p->command;
    if (sub->data && sub->data_file)
        return s_parser_fail(p, "--data and --data-file exclude each other");
    if (sub->fn && sub->command)
        return s_parser_fail(p, "a --fn job takes no command (\"%s\"); "
                             "pass its payload with --data or --data-file",
                             sub->command[0]);
    if (!sub->fn && (sub->data || sub->data_file))
        return s_parser_fail(p, "--data and --data-file need --fn");
    if (!sub->fn && !sub->command)
        return s_parser_fail(p, "missing CMD");
    return 1;
}

/* Submits SUB for VERB; the id goes to *ID_OUT. With JOB_OUT, waits for
   the job's end in the same request instead (run), and the ended job
   goes there. Returns an exit code. */
static int
s_submit(goro_t *client, const char *verb, s_submit_t *sub,
         uint64_t *id_out, goro_job_t **job_out)
{
    int rc;
    if (sub->fn) {
        char *buf = NULL;
        const void *data = sub->data;
        size_t len = data ? strlen(data) : 0;
        if (sub->data_file) {
            if (s_read_file(sub->data_file, &buf, &len) != 0)
                return s_sys_error("%s: cannot read %s", verb,
                                   sub->data_file);
            data = buf;
        }
        rc = job_out ? goro_run(client, sub->fn, data, len, &sub->opts, -1,
                                job_out)
                     : goro_go(client, sub->fn, data, len, &sub->opts, id_out);
        free(buf);
        if (rc != GORO_OK)
            return s_fail(client, rc, "%s --fn %s", verb, sub->fn);
    }
    else {
        const char *const *argv = (const char *const *) sub->command;
        rc = job_out ? goro_run_exec(client, argv, &sub->opts, -1, job_out)
                     : goro_go_exec(client, argv, &sub->opts, id_out);
        if (rc != GORO_OK)
            return s_fail(client, rc, "%s %s", verb, sub->command[0]);
    }
    return S_EXIT_OK;
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
        case GORO_JOB_SUCCEEDED:
            return status > 0 ? status : S_EXIT_OK;
        case GORO_JOB_TIMED_OUT:
            fprintf(stderr, "goro: job %" PRIu64 " timed out\n", id);
            return S_EXIT_TIMEOUT;
        case GORO_JOB_CANCELLED:
            fprintf(stderr, "goro: job %" PRIu64 " was cancelled\n", id);
            return status > 0 ? status : S_EXIT_ERROR;
        default:
            if (status > 0)
                return status;  /* its stderr says why; so do we not */
            fprintf(stderr, "goro: job %" PRIu64 " failed after %d "
                    "attempt%s\n", id, goro_job_attempts(job),
                    goro_job_attempts(job) == 1 ? "" : "s");
            return S_EXIT_ERROR;
    }
}

static int
s_cmd_go(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    s_parser_init(&p, "go", argc, argv);
    s_submit_t sub = {GORO_OPTS_INIT, NULL, NULL, NULL, NULL};
    if (!s_submit_parse(&p, &sub))
        return p.exit_code;
    uint64_t id;
    int code = s_submit(client, "go", &sub, &id, NULL);
    if (code == S_EXIT_OK)
        printf("%" PRIu64 "\n", id);
    return code;
}

static int
s_cmd_run(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    s_parser_init(&p, "run", argc, argv);
    s_submit_t sub = {GORO_OPTS_INIT, NULL, NULL, NULL, NULL};
    if (!s_submit_parse(&p, &sub))
        return p.exit_code;
    /* No limit of our own: --timeout bounds the job, and a job that runs
       out of time ends (timed_out), which ends the wait. */
    goro_job_t *job = NULL;
    int code = s_submit(client, "run", &sub, NULL, &job);
    if (code != S_EXIT_OK)
        return code;
    code = s_job_report(job);
    goro_job_destroy(&job);
    return code;
}

static int
s_cmd_result(goro_t *client, int argc, char **argv)
{
    static const s_option_t options[] = {
        {"wait", S_KEY_WAIT, 0}, {"timeout", S_KEY_TIMEOUT, 1}, {NULL, 0, 0}
    };
    s_parser_t p;
    s_parser_init(&p, "result", argc, argv);
    int do_wait = 0;
    int64_t timeout_ms = -1;
    int opt;
    while ((opt = s_parser_next(&p, options)) != S_OPT_END) {
        if (opt == S_OPT_STOP)
            return p.exit_code;
        if (opt == S_KEY_TIMEOUT && !s_parser_timeout(&p, &timeout_ms))
            return p.exit_code;
        /* A timeout only means something for a wait. */
        do_wait = 1;
    }
    uint64_t id;
    if (!s_parser_args(&p, 1, "ID") || !s_parser_job_id(&p, p.args[0], &id))
        return p.exit_code;

    goro_job_t *job = NULL;
    int rc = do_wait ? goro_job_wait(client, id, timeout_ms, &job)
                     : goro_job_status(client, id, &job);
    if (rc != GORO_OK)
        return s_fail(client, rc, "result %" PRIu64, id);
    int code;
    int state = goro_job_state(job);
    if (s_job_ended(state))
        code = s_job_report(job);
    else {
        fprintf(stderr, "goro: job %" PRIu64 " has not ended (state: %s); "
                "use --wait\n", id, goro_job_state_name(state));
        code = S_EXIT_ERROR;
    }
    goro_job_destroy(&job);
    return code;
}

static int
s_cmd_status(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    int json = 0;
    uint64_t id;
    if (!s_parse_json_verb(&p, "status", argc, argv, 1, "ID", &json)
        || !s_parser_job_id(&p, p.args[0], &id))
        return p.exit_code;

    goro_job_t *job = NULL;
    int rc = goro_job_status(client, id, &job);
    if (rc != GORO_OK)
        return s_fail(client, rc, "status %" PRIu64, id);
    const char *fn = goro_job_fn(job) ? goro_job_fn(job) : "";
    const char *state = goro_job_state_name(goro_job_state(job));
    int status = goro_job_exit_status(job);
    int64_t runtime_ms = goro_job_runtime_ms(job);
    if (json) {
        printf("{\"id\":%" PRIu64 ",\"function\":", goro_job_id(job));
        s_json_string(stdout, fn);
        printf(",\"state\":\"%s\",\"attempts\":%d,\"exit_status\":",
               state, goro_job_attempts(job));
        if (status < 0)
            printf("null");
        else
            printf("%d", status);
        printf(",\"runtime_ms\":%" PRId64 "}\n", runtime_ms);
    }
    else {
        char runtime[32];
        s_format_ms(runtime_ms, runtime, sizeof runtime);
        printf("id: %" PRIu64 "\nfunction: %s\nstate: %s\nattempts: %d\n",
               goro_job_id(job), fn, state, goro_job_attempts(job));
        if (status < 0)
            printf("exit_status: -\n");
        else
            printf("exit_status: %d\n", status);
        printf("runtime: %s\n", runtime);
    }
    goro_job_destroy(&job);
    return S_EXIT_OK;
}

/* cancel and retry: one id, no output. */
static int
s_job_action(goro_t *client, const char *verb, int argc, char **argv,
             int (*action)(goro_t *, uint64_t))
{
    s_parser_t p;
    s_parser_init(&p, verb, argc, argv);
    if (s_parser_next(&p, s_no_options) == S_OPT_STOP)
        return p.exit_code;
    uint64_t id;
    if (!s_parser_args(&p, 1, "ID") || !s_parser_job_id(&p, p.args[0], &id))
        return p.exit_code;
    int rc = action(client, id);
    if (rc != GORO_OK)
        return s_fail(client, rc, "%s %" PRIu64, verb, id);
    return S_EXIT_OK;
}

static int
s_cmd_cancel(goro_t *client, int argc, char **argv)
{
    return s_job_action(client, "cancel", argc, argv, goro_job_cancel);
}

static int
s_cmd_retry(goro_t *client, int argc, char **argv)
{
    return s_job_action(client, "retry", argc, argv, goro_job_retry);
}

/* jobs, workers and stats: text gorod renders, printed as it comes. */
static int
s_listing(goro_t *client, const char *verb, int argc, char **argv,
          int (*list)(goro_t *, int, char **), int allow_failed)
{
    static const s_option_t jobs_options[] = {
        {"json", S_KEY_JSON, 0}, {"failed", S_KEY_FAILED, 0}, {NULL, 0, 0}
    };
    static const s_option_t json_options[] = {
        {"json", S_KEY_JSON, 0}, {NULL, 0, 0}
    };
    const s_option_t *options = allow_failed ? jobs_options : json_options;
    s_parser_t p;
    s_parser_init(&p, verb, argc, argv);
    int flags = 0;
    int opt;
    while ((opt = s_parser_next(&p, options)) != S_OPT_END) {
        if (opt == S_OPT_STOP)
            return p.exit_code;
        flags |= opt == S_KEY_JSON ? GORO_LIST_JSON : GORO_LIST_FAILED;
    }
    if (!s_parser_args(&p, 0, ""))
        return p.exit_code;

    char *text = NULL;
    int rc = list(client, flags, &text);
    if (rc != GORO_OK)
        return s_fail(client, rc, "%s", verb);
    s_print_text(text ? text : "");
    goro_free(text);
    return S_EXIT_OK;
}

static int
s_cmd_jobs(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "jobs", argc, argv, goro_jobs_list, 1);
}

static int
s_cmd_workers(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "workers", argc, argv, goro_workers_list, 0);
}

static int
s_cmd_stats(goro_t *client, int argc, char **argv)
{
    return s_listing(client, "stats", argc, argv, goro_stats, 0);
}


/* ------------------------------------------------------------------ */
/*  Channels                                                          */
/* ------------------------------------------------------------------ */

static int
s_cmd_chan_make(goro_t *client, int argc, char **argv)
{
    static const s_option_t options[] = {
        {"cap", S_KEY_CAP, 1}, {NULL, 0, 0}
    };
    s_parser_t p;
    s_parser_init(&p, "chan make", argc, argv);
    int64_t capacity = 0;
    int opt;
    while ((opt = s_parser_next(&p, options)) != S_OPT_END) {
        if (opt == S_OPT_STOP
        || !s_parser_int(&p, "--cap", p.value, 0, INT64_MAX, &capacity))
            return p.exit_code;
    }
    if (!s_parser_args(&p, 1, "NAME"))
        return p.exit_code;
    int rc = goro_chan_make(client, p.args[0], capacity);
    if (rc != GORO_OK)
        return s_fail(client, rc, "chan make %s", p.args[0]);
    return S_EXIT_OK;
}

static int
s_cmd_send(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    int64_t timeout_ms = -1;
    if (!s_parse_timeout_verb(&p, "send", argc, argv, 2, "NAME VALUE",
                              &timeout_ms))
        return p.exit_code;

    const char *name = p.args[0];
    char *buf = NULL;
    const void *value = p.args[1];
    size_t len = strlen(p.args[1]);
    if (strcmp(p.args[1], "-") == 0) {
        if (s_read_stream(stdin, &buf, &len) != 0)
            return s_sys_error("send %s: cannot read stdin", name);
        value = buf;
    }
    int rc = goro_chan_send(client, name, value, len, timeout_ms);
    free(buf);
    if (rc != GORO_OK)
        return s_fail(client, rc, "send %s", name);
    return S_EXIT_OK;
}

static int
s_cmd_recv(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    int64_t timeout_ms = -1;
    if (!s_parse_timeout_verb(&p, "recv", argc, argv, 1, "NAME",
                              &timeout_ms))
        return p.exit_code;

    void *data = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(client, p.args[0], timeout_ms, &data, &len);
    if (rc != GORO_OK)
        return s_fail(client, rc, "recv %s", p.args[0]);
    fwrite(data, 1, len, stdout);
    fputc('\n', stdout);
    goro_free(data);
    return S_EXIT_OK;
}

/* A verb whose one argument is a NAME that ACTION acts on. */
static int
s_name_verb(goro_t *client, const char *verb, int argc, char **argv,
            int (*action)(goro_t *, const char *))
{
    s_parser_t p;
    s_parser_init(&p, verb, argc, argv);
    if (s_parser_next(&p, s_no_options) == S_OPT_STOP
    || !s_parser_args(&p, 1, "NAME"))
        return p.exit_code;
    int rc = action(client, p.args[0]);
    if (rc != GORO_OK)
        return s_fail(client, rc, "%s %s", verb, p.args[0]);
    return S_EXIT_OK;
}

static int
s_cmd_close(goro_t *client, int argc, char **argv)
{
    return s_name_verb(client, "close", argc, argv, goro_chan_close);
}

/* Parses the select options into CASES (room for argc of them) and runs
   the select. Channel names of send cases are copies in NAMES[i]. */
static int
s_select(goro_t *client, s_parser_t *p, goro_case_t *cases, char **names)
{
    static const s_option_t options[] = {
        {"recv", S_KEY_RECV, 1},
        {"send", S_KEY_SEND, 1},
        {"timeout", S_KEY_TIMEOUT, 1},
        {"default", S_KEY_DEFAULT, 0},
        {NULL, 0, 0}
    };
    size_t count = 0;
    int64_t timeout_ms = -1;
    int have_timeout = 0;
    int have_default = 0;
    int opt;
    while ((opt = s_parser_next(p, options)) != S_OPT_END) {
        const char *equals;
        size_t name_len;
        switch (opt) {
            case S_OPT_STOP:
                return p->exit_code;
            case S_KEY_RECV:
                if (!*p->value)
                    return s_usage_error(p->verb, "--recv needs a channel");
                cases[count].op = GORO_CASE_RECV;
                cases[count].chan = p->value;
                count++;
                break;
            case S_KEY_SEND:
                equals = strchr(p->value, '=');
                if (!equals || equals == p->value)
                    return s_usage_error(p->verb, "--send needs CH=VALUE, "
                                         "got \"%s\"", p->value);
                name_len = (size_t) (equals - p->value);
                names[count] = s_realloc(NULL, name_len + 1);
                memcpy(names[count], p->value, name_len);
                names[count][name_len] = '\0';
                cases[count].op = GORO_CASE_SEND;
                cases[count].chan = names[count];
                /* The case never writes through DATA for a send. */
                cases[count].data = (void *) (equals + 1);
                cases[count].len = strlen(equals + 1);
                count++;
                break;
            case S_KEY_TIMEOUT:
                if (!s_parser_timeout(p, &timeout_ms))
                    return p->exit_code;
                have_timeout = 1;
                break;
            case S_KEY_DEFAULT:
                have_default = 1;
                break;
        }
    }
    if (!s_parser_args(p, 0, ""))
        return p->exit_code;
    if (count == 0)
        return s_usage_error(p->verb, "needs at least one --recv or --send");
    if (have_timeout && have_default)
        return s_usage_error(p->verb, "--timeout and --default exclude "
                             "each other");
    if (have_default)
        timeout_ms = 0;         /* Go's default: give up at once */

    size_t fired = count;
    int rc = goro_select(client, cases, count, timeout_ms, &fired);
    if (rc == GORO_ETIMEDOUT && have_default) {
        printf("default\n");
        return S_EXIT_OK;
    }
    if (rc == GORO_ECLOSED && fired < count
    &&  cases[fired].op == GORO_CASE_SEND)
        return s_fail(client, rc, "select: send on %s", cases[fired].chan);
    if (rc != GORO_OK)
        return s_fail(client, rc, "select");
    if (fired >= count) {
        fprintf(stderr, "goro: select: gorod named no case\n");
        return S_EXIT_ERROR;
    }

    goro_case_t *done = &cases[fired];
    if (done->op == GORO_CASE_SEND) {
        printf("%s\n", done->chan);
        return S_EXIT_OK;
    }
    /* A receive from a closed, drained channel: say which one, with no
       value after the tab, and exit as recv would. */
    printf("%s\t", done->chan);
    if (!done->closed)
        fwrite(done->data, 1, done->len, stdout);
    fputc('\n', stdout);
    return done->closed ? S_EXIT_CLOSED : S_EXIT_OK;
}

static int
s_cmd_select(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    s_parser_init(&p, "select", argc, argv);
    /* Each case takes at least one argv element: argc bounds them. */
    goro_case_t *cases = s_realloc(NULL, (size_t) argc * sizeof *cases);
    char **names = s_realloc(NULL, (size_t) argc * sizeof *names);
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


/* ------------------------------------------------------------------ */
/*  WaitGroups                                                        */
/* ------------------------------------------------------------------ */

static int
s_cmd_wg_add(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    s_parser_init(&p, "wg add", argc, argv);
    int64_t delta;
    if (s_parser_next(&p, s_no_options) == S_OPT_STOP
    || !s_parser_args(&p, 2, "NAME N")
    || !s_parser_int(&p, "N", p.args[1], INT64_MIN, INT64_MAX, &delta))
        return p.exit_code;
    int rc = goro_wg_add(client, p.args[0], delta);
    if (rc != GORO_OK)
        return s_fail(client, rc, "wg add %s %" PRId64, p.args[0], delta);
    return S_EXIT_OK;
}

static int
s_cmd_wg_done(goro_t *client, int argc, char **argv)
{
    return s_name_verb(client, "wg done", argc, argv, goro_wg_done);
}

/* What `wg wait --progress` has shown. */
typedef struct {
    const char *name;
    int tty;                    /* stdout is a terminal: redraw one line */
    int64_t start_at;           /* when we started watching, for the rate */
    int64_t done_at_start;      /* the rate counts only what we saw done */
    goro_wg_info_t shown;       /* counts last shown */
    int drawn;                  /* something was shown */
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
        double seconds = (double) (s_now_ms() - self->start_at) / 1000.0;
        double rate = seconds > 0.5
                    ? (double) (done - self->done_at_start) / seconds : 0.0;
        char rate_text[32] = "-";
        char eta[32] = "-";
        if (rate > 0) {
            snprintf(rate_text, sizeof rate_text, "%.1f", rate);
            if (total > done)
                s_format_ms((int64_t) ((double) (total - done) / rate
                                       * 1000.0), eta, sizeof eta);
        }
        /* \033[K clears what a longer previous line left behind. */
        printf("\rwg %s [%s] %" PRId64 "/%" PRId64 " done, %" PRId64
               " failed, %s/s, ETA %s\033[K", self->name, bar, done, total,
               info->failed, rate_text, eta);
        fflush(stdout);
        self->drawn = 1;
    }
    else
    if (!self->drawn || info->added != self->shown.added
    || info->done != self->shown.done || info->failed != self->shown.failed) {
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
    int64_t deadline_at = timeout_ms < 0 ? -1 : s_now_ms() + timeout_ms;
    goro_wg_info_t info;
    int rc = goro_wg_status(client, name, &info);
    if (rc != GORO_OK)
        return rc;
    progress->done_at_start = info.done;
    while (info.counter != 0) {
        s_progress_show(progress, &info);
        int64_t slice_ms = S_PROGRESS_MS;
        if (deadline_at >= 0) {
            int64_t left_ms = deadline_at - s_now_ms();
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

static int
s_cmd_wg_wait(goro_t *client, int argc, char **argv)
{
    static const s_option_t options[] = {
        {"timeout", S_KEY_TIMEOUT, 1}, {"progress", S_KEY_PROGRESS, 0},
        {NULL, 0, 0}
    };
    s_parser_t p;
    s_parser_init(&p, "wg wait", argc, argv);
    int64_t timeout_ms = -1;
    int progress = 0;
    int opt;
    while ((opt = s_parser_next(&p, options)) != S_OPT_END) {
        if (opt == S_OPT_STOP
        || (opt == S_KEY_TIMEOUT && !s_parser_timeout(&p, &timeout_ms)))
            return p.exit_code;
        if (opt == S_KEY_PROGRESS)
            progress = 1;
    }
    if (!s_parser_args(&p, 1, "NAME"))
        return p.exit_code;

    const char *name = p.args[0];
    int rc;
    if (progress) {
        s_progress_t watch = {name, isatty(STDOUT_FILENO), s_now_ms(), 0,
                              {0, 0, 0, 0, 0}, 0};
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
        return s_fail(client, rc, "wg wait %s", name);
    return S_EXIT_OK;
}

static int
s_cmd_wg_status(goro_t *client, int argc, char **argv)
{
    s_parser_t p;
    int json = 0;
    if (!s_parse_json_verb(&p, "wg status", argc, argv, 1, "NAME", &json))
        return p.exit_code;

    goro_wg_info_t info;
    int rc = goro_wg_status(client, p.args[0], &info);
    if (rc != GORO_OK)
        return s_fail(client, rc, "wg status %s", p.args[0]);
    if (json)
        printf("{\"counter\":%" PRId64 ",\"added\":%" PRId64 ",\"done\":%"
               PRId64 ",\"succeeded\":%" PRId64 ",\"failed\":%" PRId64 "}\n",
               info.counter, info.added, info.done, info.succeeded,
               info.failed);
    else
        printf("counter: %" PRId64 "\nadded: %" PRId64 "\ndone: %" PRId64
               "\nsucceeded: %" PRId64 "\nfailed: %" PRId64 "\n",
               info.counter, info.added, info.done, info.succeeded,
               info.failed);
    return S_EXIT_OK;
}


/* ------------------------------------------------------------------ */
/*  Offline verbs                                                     */
/* ------------------------------------------------------------------ */

static int
s_cmd_keygen(goro_t *client, int argc, char **argv)
{
    (void) client;
    s_parser_t p;
    s_parser_init(&p, "keygen", argc, argv);
    if (s_parser_next(&p, s_no_options) == S_OPT_STOP
    || !s_parser_args(&p, 1, "PATH"))
        return p.exit_code;
    const char *path = p.args[0];
    int rc = goro_keygen(path);
    if (rc != GORO_OK) {
        fprintf(stderr, "goro keygen: cannot write %s and %s_secret: %s\n",
                path, path, goro_strerror(rc));
        return S_EXIT_ERROR;
    }
    printf("%s\n%s_secret\n", path, path);
    return S_EXIT_OK;
}

static void s_print_usage(FILE *out);
static const s_verb_t *s_verb_find(const char *word, const char *next);
static int s_is_group(const char *word);

static int
s_cmd_help(goro_t *client, int argc, char **argv)
{
    (void) client;
    s_parser_t p;
    s_parser_init(&p, "help", argc, argv);
    if (s_parser_next(&p, s_no_options) == S_OPT_STOP)
        return p.exit_code;
    if (p.nargs == 0) {
        s_print_usage(stdout);
        return S_EXIT_OK;
    }
    if (p.nargs > 2)
        return s_usage_error("help", "unexpected argument \"%s\"", p.args[2]);
    const s_verb_t *verb = s_verb_find(p.args[0], p.nargs > 1 ? p.args[1]
                                                               : NULL);
    if (verb && (p.nargs == 1) == (strchr(verb->name, ' ') == NULL))
        s_print_help(verb->name, stdout);
    else
    if (p.nargs == 1 && s_is_group(p.args[0]))
        s_print_help(p.args[0], stdout);
    else
        return s_usage_error("help", "unknown command \"%s%s%s\"",
                             p.args[0], p.nargs > 1 ? " " : "",
                             p.nargs > 1 ? p.args[1] : "");
    return S_EXIT_OK;
}


/* ------------------------------------------------------------------ */
/*  Verb table and help                                               */
/* ------------------------------------------------------------------ */

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

static const s_verb_t s_verbs[] = {
    {"ping", s_cmd_ping, 0, "[--timeout D]",
     "Asks gorod whether it is there: exit 0 when it answers, 1 when not.\n"
     "\n"
     "  --timeout D       give up after D (default 3s)\n"},
    {"go", s_cmd_go, 0,
     "[OPTIONS] [--] CMD [ARG...]\n"
     "--fn NAME [--data STRING | --data-file FILE] [OPTIONS]",
     "Submits a job and prints its id alone; does not wait for it to run.\n"
     "\n" S_SUBMIT_HELP},
    {"run", s_cmd_run, 0,
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
    {"result", s_cmd_result, 0, "ID [--wait] [--timeout D]",
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
    {"status", s_cmd_status, 0, "ID [--json]",
     "Prints job ID, one \"key: value\" per line: id, function, state, "
     "attempts,\n"
     "exit_status (- while it has none) and runtime.\n"
     "\n"
     "  --json            one JSON object instead: runtime_ms, and\n"
     "                    exit_status null while it has none\n"},
    {"cancel", s_cmd_cancel, 0, "ID",
     "Cancels job ID if it is queued or running; an error if it has "
     "ended.\n"},
    {"retry", s_cmd_retry, 0, "ID",
     "Queues job ID again with fresh attempts, if it failed, was cancelled "
     "or\n"
     "timed out.\n"},
    {"jobs", s_cmd_jobs, 0, "[--failed] [--json]",
     "Lists jobs as gorod renders them.\n"
     "\n"
     "  --failed          only jobs that failed, were cancelled or timed out\n"
     "  --json            JSON instead of text\n"},
    {"workers", s_cmd_workers, 0, "[--json]",
     "Lists the workers connected to gorod.\n"
     "\n"
     "  --json            JSON instead of text\n"},
    {"stats", s_cmd_stats, 0, "[--json]",
     "Prints gorod's counters.\n"
     "\n"
     "  --json            JSON instead of text\n"},
    {"chan make", s_cmd_chan_make, 0, "NAME [--cap N]",
     "Makes channel NAME. Making it again with the same capacity does "
     "nothing;\n"
     "with another capacity it is an error.\n"
     "\n"
     "  --cap N           buffer N values (default 0: unbuffered, a send "
     "waits\n"
     "                    for a receiver)\n"},
    {"send", s_cmd_send, 0, "NAME VALUE [--timeout D]",
     "Sends VALUE on channel NAME; VALUE - sends all of stdin. Waits while "
     "the\n"
     "channel is full (unbuffered: until a receiver takes it). Exit 3 if "
     "the\n"
     "channel is closed. Put -- before a VALUE such as --x: goro send NAME "
     "-- --x.\n"
     "\n" S_TIMEOUT_HELP
     "                    (0: send only if that can happen now)\n"},
    {"recv", s_cmd_recv, 0, "NAME [--timeout D]",
     "Receives a value from channel NAME and prints it and a newline. Exit "
     "3 once\n"
     "the channel is closed and drained.\n"
     "\n" S_TIMEOUT_HELP
     "                    (0: only a value that is there now)\n"},
    {"close", s_cmd_close, 0, "NAME",
     "Closes channel NAME: later sends fail, receivers drain what is "
     "buffered.\n"
     "Closing a closed channel is an error.\n"},
    {"select", s_cmd_select, 0,
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
     "  --send CH=VALUE   a case sending VALUE on channel CH\n"
     S_TIMEOUT_HELP
     "  --default         do not wait: print `default` if no case is ready\n"},
    {"wg add", s_cmd_wg_add, 0, "NAME N",
     "Adds N, which may be negative, to waitgroup NAME. An add that would "
     "take\n"
     "the counter below zero is refused and changes nothing.\n"},
    {"wg done", s_cmd_wg_done, 0, "NAME",
     "Takes one from waitgroup NAME's counter.\n"},
    {"wg wait", s_cmd_wg_wait, 0, "NAME [--timeout D] [--progress]",
     "Waits until waitgroup NAME's counter is zero (at once if it is).\n"
     "\n" S_TIMEOUT_HELP
     "  --progress        show progress while waiting: a bar on a terminal,"
     "\n"
     "                    else a line on stdout whenever the counts change\n"},
    {"wg status", s_cmd_wg_status, 0, "NAME [--json]",
     "Prints waitgroup NAME: counter, added and done since it was last "
     "zero, and\n"
     "how many of its jobs succeeded and failed.\n"
     "\n"
     "  --json            one JSON object instead\n"},
    {"keygen", s_cmd_keygen, 1, "PATH",
     "Writes a CURVE certificate pair: PATH and PATH_secret (0600). Not "
     "available\n"
     "in this build yet.\n"},
    {"help", s_cmd_help, 1, "[VERB]",
     "Prints help for VERB, or the list of verbs.\n"},
};

#define S_VERB_COUNT (sizeof s_verbs / sizeof s_verbs[0])

/* The verb WORD, or WORD NEXT for a verb in a group; NULL if none. */
static const s_verb_t *
s_verb_find(const char *word, const char *next)
{
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        const char *name = s_verbs[i].name;
        const char *space = strchr(name, ' ');
        if (!space && strcmp(name, word) == 0)
            return &s_verbs[i];
        if (space && next && strlen(word) == (size_t) (space - name)
        &&  strncmp(name, word, (size_t) (space - name)) == 0
        &&  strcmp(space + 1, next) == 0)
            return &s_verbs[i];
    }
    return NULL;
}

/* Non-zero if WORD starts verbs of a group ("wg", "chan"). */
static int
s_is_group(const char *word)
{
    size_t len = strlen(word);
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        const char *name = s_verbs[i].name;
        if (strncmp(name, word, len) == 0 && name[len] == ' ')
            return 1;
    }
    return 0;
}

/* "goro NAME SYNOPSIS" for each alternative of VERB, after FIRST and then
   OTHERS. */
static void
s_print_synopsis(FILE *out, const s_verb_t *verb, const char *first,
                 const char *others)
{
    const char *line = verb->synopsis;
    const char *prefix = first;
    do {
        const char *end = strchr(line, '\n');
        int len = end ? (int) (end - line) : (int) strlen(line);
        fprintf(out, "%sgoro %s%s%.*s\n", prefix, verb->name,
                len ? " " : "", len, line);
        line = end ? end + 1 : NULL;
        prefix = others;
    } while (line);
}

/* Help for verb NAME, or for all verbs of group NAME. */
static void
s_print_help(const char *name, FILE *out)
{
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        if (strcmp(s_verbs[i].name, name) == 0) {
            s_print_synopsis(out, &s_verbs[i], "usage: ", "   or: ");
            fprintf(out, "\n%s", s_verbs[i].help);
            return;
        }
    }
    const char *prefix = "usage: ";
    size_t len = strlen(name);
    for (size_t i = 0; i < S_VERB_COUNT; i++) {
        if (strncmp(s_verbs[i].name, name, len) == 0
        &&  s_verbs[i].name[len] == ' ') {
            s_print_synopsis(out, &s_verbs[i], prefix, "   or: ");
            prefix = "   or: ";
        }
    }
    fprintf(out, "\nSee goro %s VERB --help for one of them.\n", name);
}

static void
s_print_usage(FILE *out)
{
    fprintf(out,
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
    for (size_t i = 0; i < S_VERB_COUNT; i++)
        s_print_synopsis(out, &s_verbs[i], "  ", "  ");
    fprintf(out,
        "\n"
        "Durations use Go's syntax: 300ms, 1.5s, 2m, 1h30m; 0 or at least "
        "1ms;\n-1 waits forever.\n"
        "Exit codes: 0 done, 1 error, 2 usage or config error, 3 channel "
        "closed,\n"
        "124 timed out; run and result exit with the job's status.\n");
}


/* ------------------------------------------------------------------ */
/*  main                                                              */
/* ------------------------------------------------------------------ */

/* If ARG is option SHORT or LONG with a value (-e X, -eX, --endpoint X,
   --endpoint=X), stores the value and returns 1; 0 if ARG is another
   option; -1 if the value is missing. */
static int
s_global_value(int argc, char **argv, int *next, const char *arg,
               const char *short_name, const char *long_name,
               const char **value_out)
{
    size_t short_len = strlen(short_name);
    size_t long_len = strlen(long_name);
    if (strcmp(arg, short_name) == 0 || strcmp(arg, long_name) == 0) {
        if (*next >= argc)
            return -1;
        *value_out = argv[(*next)++];
        return 1;
    }
    if (strncmp(arg, long_name, long_len) == 0 && arg[long_len] == '=') {
        *value_out = arg + long_len + 1;
        return 1;
    }
    if (strncmp(arg, short_name, short_len) == 0 && arg[1] != '-') {
        *value_out = arg + short_len;
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *endpoint = NULL;
    const char *cert = getenv("GORO_CERT");
    const char *server_cert = getenv("GORO_SERVER_CERT");
    int verbose = 0;
    int next = 1;
    while (next < argc && s_is_option(argv[next])) {
        const char *arg = argv[next++];
        int found = s_global_value(argc, argv, &next, arg, "-e",
                                   "--endpoint", &endpoint);
        if (!found)
            found = s_global_value(argc, argv, &next, arg, "--cert",
                                   "--cert", &cert);
        if (!found)
            found = s_global_value(argc, argv, &next, arg, "--server-cert",
                                   "--server-cert", &server_cert);
        if (found < 0)
            return s_usage_error(NULL, "%s needs a value", arg);
        if (found)
            continue;
        if (strcmp(arg, "--") == 0)
            break;
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0)
            verbose = 1;
        else
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            s_print_usage(stdout);
            return S_EXIT_OK;
        }
        else
        if (strcmp(arg, "--version") == 0) {
            printf("goro %d.%d.%d\n", GORO_VERSION_MAJOR, GORO_VERSION_MINOR,
                   GORO_VERSION_PATCH);
            return S_EXIT_OK;
        }
        else
            return s_usage_error(NULL, "unknown option %s", arg);
    }
    if (next >= argc) {
        s_print_usage(stderr);
        return S_EXIT_USAGE;
    }

    const char *word = argv[next];
    const char *sub = next + 1 < argc ? argv[next + 1] : NULL;
    const s_verb_t *verb = s_verb_find(word, sub);
    if (!verb) {
        if (!s_is_group(word))
            return s_usage_error(NULL, "unknown command \"%s\"", word);
        if (sub && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)) {
            s_print_help(word, stdout);
            return S_EXIT_OK;
        }
        if (!sub)
            return s_usage_error(word, "missing VERB");
        return s_usage_error(word, "unknown command \"%s\"", sub);
    }
    /* The handler's argv starts at the verb's last word. */
    if (strchr(verb->name, ' '))
        next++;

    goro_t *client = NULL;
    if (!verb->offline) {
        client = goro_new(endpoint);
        if (!client) {
            const char *shown = endpoint ? endpoint : getenv("GORO_ENDPOINT");
            fprintf(stderr, "goro: bad endpoint \"%s\"%s: expected one like "
                    "%s\n",
                    shown ? shown : "", endpoint ? "" : " in $GORO_ENDPOINT",
                    GORO_DEFAULT_ENDPOINT);
            return S_EXIT_USAGE;
        }
        goro_set_verbose(client, verbose);
        s_curve_used = cert != NULL;
        int rc = goro_set_curve(client, cert, server_cert);
        if (rc != GORO_OK) {
            fprintf(stderr, "goro: cannot use the certificates (--cert %s, "
                    "--server-cert %s): %s\n", cert ? cert : "(none)",
                    server_cert ? server_cert : "(none)",
                    rc == GORO_EDENIED ? "the secret certificate is "
                    "readable by others; chmod 600 it" : goro_strerror(rc));
            goro_destroy(&client);
            return S_EXIT_USAGE;
        }
    }
    int code = verb->handler(client, argc - next, argv + next);
    goro_destroy(&client);

    /* Output that never arrived must not look like success (a full disk,
       a closed pipe with SIGPIPE ignored). */
    if ((fflush(stdout) != 0 || ferror(stdout)) && code == S_EXIT_OK) {
        fprintf(stderr, "goro: cannot write to stdout\n");
        code = S_EXIT_ERROR;
    }
    return code;
}
