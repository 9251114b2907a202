/*  config - gorod's YAML configuration: libyaml's event stream is read
    into a small tree of scalars, mappings and sequences that remembers
    where each node started, and the tree is then checked against a table
    of known keys into a config_t of plain values.

    Two passes rather than one so that every message can name the key's
    full path and its FILE:LINE:COLUMN, and so that a duplicate or unknown
    key is caught wherever it sits. The builder bounds the file size, the
    nesting depth and the node count, and refuses anchors and aliases, so a
    hostile file costs no more than a megabyte or so of memory.

    This is not a general YAML loader: no anchors, no merge keys, one
    document. It only reads; defaults that depend on the host (processes:
    0 = one per CPU, command: NULL = the goro-worker beside gorod) are
    resolved by their users, not here.
*/
#include "config.h"
#include "endpoint.h"
#include "goro_msg.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

/* The default goro.yaml is about 3 KiB; a config of a megabyte is a
   mistake (or an attack), and the whole text is held in memory. */
#define CONFIG_MAX_FILE (1024 * 1024)
/* The schema nests four deep (security.curve.cert); 32 leaves room for
   an honest mistake to reach the schema walk and get a precise message. */
#define CONFIG_MAX_DEPTH 32
/* Far above any real config (the default has under 100 nodes), low enough
   that a megabyte of "[a,a,a,...]" cannot grow into a large tree. */
#define CONFIG_MAX_NODES 10000
/* limits.max_message ceiling: a frame is held whole in memory, several
   at once; 256 MiB is already more than a job payload should be. */
#define CONFIG_MAX_MESSAGE ((int64_t) 256 * 1024 * 1024)
/* The bounds below keep every value the loader accepts one that gorod
   and goro-worker can act on; each says where it comes from. */
/* goro-worker takes --name of at most 255 bytes (a wire string), and the
   pool adds "/INDEX", at most "/1023": 5 bytes. */
#define CONFIG_MAX_POOL_NAME (GORO_MSG_STR_MAX - 5)
/* The default is one per CPU; 1024 is beyond any host gorod runs on and
   keeps a typo (processes: 100000) from forking the machine to a halt. */
#define CONFIG_MAX_PROCESSES 1024
/* goro-worker's own ceiling on --concurrency (client/goro_worker.c). */
#define CONFIG_MAX_CONCURRENCY 4096
/* What goro-worker accepts from WELCOME (client/goro_worker.c clamps to an
   hour and a thousand beats); their product, 1000 h in ms, is far from
   overflowing the int64_t it is computed in. */
#define CONFIG_MAX_INTERVAL_MS ((int64_t) 3600 * 1000)
#define CONFIG_MAX_LIVENESS 1000
/* Durations with no ceiling of their own (result_ttl, timeouts, grace):
   ten years, beyond any uptime, and far enough from INT64_MAX that
   util_now() plus one of them cannot overflow. */
#define CONFIG_MAX_DURATION_MS ((int64_t) 87600 * 3600 * 1000)
/* A path handed to open(2) and friends, NUL included. */
#define CONFIG_MAX_FILE_PATH (PATH_MAX - 1)
/* journal.c names its compaction file PATH.compact in a PATH_MAX buffer. */
#define CONFIG_MAX_JOURNAL_PATH ((int64_t) (PATH_MAX - sizeof ".compact"))
/* jobs.exec.env and .run_as travel to workers in WELCOME as wire strings
   "env=GLOB" and "run_as=USER", 255 bytes each, in one list of at most
   GORO_MSG_LIST_MAX that also holds run_as and four limits. */
#define CONFIG_MAX_ENV_GLOB (GORO_MSG_STR_MAX - (int) sizeof "env=" + 1)
#define CONFIG_MAX_RUN_AS (GORO_MSG_STR_MAX - (int) sizeof "run_as=" + 1)
#define CONFIG_MAX_ENV (GORO_MSG_LIST_MAX - 5)
/* How much of a bad value a message repeats; enough to recognise it. */
#define CONFIG_SHOW_MAX 48
/* Longest key path shown, e.g. "security.curve.workers". */
#define CONFIG_PATH_MAX 160

/* ------------------------------------------------------------------ */
/*  The node tree                                                     */
/* ------------------------------------------------------------------ */

typedef enum { S_SCALAR, S_MAPPING, S_SEQUENCE } s_kind_t;

typedef struct s_node s_node_t;
struct s_node {
    s_kind_t kind;
    size_t line;      /* 1-based, as editors count */
    size_t column;    /* 1-based */
    char *value;      /* S_SCALAR: text, NUL-free */
    int is_null;      /* plain "", "~" or "null": YAML's null */
    s_node_t **items; /* sequence items; mapping key, value, ... */
    size_t nitems;    /* pointers in items */
    size_t capacity;
};

typedef struct {
    const char *name; /* the file, as messages name it */
    char *err;        /* CONFIG_ERROR_MAX bytes, or NULL */
    const char *text; /* the input, to place reader errors */
    size_t size;
    size_t nnodes; /* built so far, against CONFIG_MAX_NODES */
} s_ctx_t;

static void
s_node_destroy(s_node_t **self_p)
{
    if (self_p && *self_p) {
        s_node_t *self = *self_p;
        for (size_t i = 0; i < self->nitems; i++)
            s_node_destroy(&self->items[i]);
        free(self->items);
        free(self->value);
        free(self);
        *self_p = NULL;
    }
}

static void
s_node_push(s_node_t *self, s_node_t *child)
{
    if (self->nitems == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 8;
        self->items = util_realloc(self->items,
                                   self->capacity * sizeof *self->items);
    }
    self->items[self->nitems++] = child;
}

/* ------------------------------------------------------------------ */
/*  Messages                                                          */
/* ------------------------------------------------------------------ */

static void s_message(s_ctx_t *ctx, size_t line, size_t column,
                      const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "NAME:LINE:COLUMN: message"; LINE 0 means the whole file. */
static void
s_message(s_ctx_t *ctx, size_t line, size_t column, const char *format, ...)
{
    if (!ctx->err)
        return;
    int used;
    if (line > 0)
        used = snprintf(ctx->err, CONFIG_ERROR_MAX, "%s:%zu:%zu: ", ctx->name,
                        line, column);
    else
        used = snprintf(ctx->err, CONFIG_ERROR_MAX, "%s: ", ctx->name);
    if (used < 0 || used >= CONFIG_ERROR_MAX)
        return; /* a name that long is message enough */
    va_list args;
    va_start(args, format);
    vsnprintf(ctx->err + used, CONFIG_ERROR_MAX - (size_t) used, format, args);
    va_end(args);
}

/* Copies TEXT for quoting in a message: escaped, so a control character
   or a quote cannot garble the line, and cut short, so one huge value
   cannot push the position out of the buffer. */
static const char *
s_show(const char *text, char *buf, size_t size)
{
    size_t out = 0, chars = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        /* Counting only UTF-8 lead bytes keeps a cut from splitting one. */
        int lead = (*p & 0xC0) != 0x80;
        if (lead && chars == CONFIG_SHOW_MAX) {
            if (out + 4 <= size) {
                memcpy(buf + out, "...", 3);
                out += 3;
            }
            break;
        }
        char esc[8];
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (*p < 0x20 || *p == 0x7F)
            snprintf(esc, sizeof esc, "\\x%02X", *p);
        else {
            esc[0] = (char) *p;
            esc[1] = '\0';
        }
        size_t len = strlen(esc);
        if (out + len + 1 > size)
            break;
        memcpy(buf + out, esc, len);
        out += len;
        chars += lead;
    }
    buf[out] = '\0';
    return buf;
}

/* What a node is, for "expected X, got Y". */
static const char *
s_describe(const s_node_t *node, char *buf, size_t size)
{
    if (node->kind == S_MAPPING)
        return "a mapping";
    if (node->kind == S_SEQUENCE)
        return "a sequence";
    if (node->is_null)
        return "no value";
    char shown[CONFIG_SHOW_MAX * 4 + 4];
    snprintf(buf, size, "\"%s\"", s_show(node->value, shown, sizeof shown));
    return buf;
}

/* The byte at LINE:COLUMN of the input (columns count characters), or
   NUL if there is none. */
static char
s_char_at(const s_ctx_t *ctx, size_t line, size_t column)
{
    size_t i = 0;
    for (size_t l = 1; l < line; l++) {
        const char *newline = memchr(ctx->text + i, '\n', ctx->size - i);
        if (!newline)
            return '\0';
        i = (size_t) (newline - ctx->text) + 1;
    }
    for (size_t c = 1; i < ctx->size; i++) {
        if (((unsigned char) ctx->text[i] & 0xC0) == 0x80)
            continue;
        if (c++ == column)
            return ctx->text[i];
        if (ctx->text[i] == '\n')
            break;
    }
    return '\0';
}

/* libyaml's own diagnosis, at the position libyaml gives. */
static void
s_yaml_error(s_ctx_t *ctx, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    if (parser->error == YAML_MEMORY_ERROR) {
        s_message(ctx, 0, 0, "out of memory while parsing YAML");
    }
    else if (parser->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t line = 1, column = 1;
        size_t end = parser->problem_offset < ctx->size
                         ? parser->problem_offset
                         : ctx->size;
        for (size_t i = 0; i < end; i++) {
            unsigned char c = (unsigned char) ctx->text[i];
            if (c == '\n') {
                line++;
                column = 1;
            }
            else if ((c & 0xC0) != 0x80)
                column++;
        }
        if (parser->problem_value != -1)
            s_message(ctx, line, column, "%s (byte 0x%02X)", problem,
                      (unsigned) parser->problem_value);
        else
            s_message(ctx, line, column, "%s", problem);
    }
    else {
        size_t line = parser->problem_mark.line + 1;
        size_t column = parser->problem_mark.column + 1;
        /* The context's start is often where the real mistake is. */
        char context[128] = "";
        if (parser->context
            && (parser->context_mark.line != parser->problem_mark.line
                || parser->context_mark.column != parser->problem_mark.column))
            snprintf(context, sizeof context, " (%s at %zu:%zu)",
                     parser->context, parser->context_mark.line + 1,
                     parser->context_mark.column + 1);
        else if (parser->context)
            snprintf(context, sizeof context, " (%s)", parser->context);
        /* libyaml's word for a tab in the indentation helps no one. */
        const char *hint = s_char_at(ctx, line, column) == '\t'
                               ? "; YAML indents with spaces, not tabs"
                               : "";
        s_message(ctx, line, column, "%s%s%s", problem, context, hint);
    }
}

/* ------------------------------------------------------------------ */
/*  Building the tree                                                 */
/* ------------------------------------------------------------------ */

static int
s_next(s_ctx_t *ctx, yaml_parser_t *parser, yaml_event_t *event)
{
    if (yaml_parser_parse(parser, event))
        return 0;
    s_yaml_error(ctx, parser);
    return -1;
}

/* Reads the node that EVENT starts, and for a collection all that it
   holds. The caller keeps EVENT. NULL after writing a message. */
static s_node_t *
s_build(s_ctx_t *ctx, yaml_parser_t *parser, const yaml_event_t *event,
        int depth)
{
    size_t line = event->start_mark.line + 1;
    size_t column = event->start_mark.column + 1;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    s_kind_t kind;

    switch (event->type) {
        case YAML_SCALAR_EVENT:
            kind = S_SCALAR;
            anchor = event->data.scalar.anchor;
            tag = event->data.scalar.tag;
            break;
        case YAML_SEQUENCE_START_EVENT:
            kind = S_SEQUENCE;
            anchor = event->data.sequence_start.anchor;
            tag = event->data.sequence_start.tag;
            break;
        case YAML_MAPPING_START_EVENT:
            kind = S_MAPPING;
            anchor = event->data.mapping_start.anchor;
            tag = event->data.mapping_start.tag;
            break;
        case YAML_ALIAS_EVENT:
            /* Aliases are how "billion laughs" grows; a config needs none. */
            s_message(ctx, line, column,
                      "aliases and anchors are not supported");
            return NULL;
        default:
            s_message(ctx, line, column, "unexpected YAML event");
            return NULL;
    }
    if (anchor) {
        s_message(ctx, line, column, "aliases and anchors are not supported");
        return NULL;
    }
    /* Every key has one type, so a tag could only contradict it (or be
       ignored, as "!!int" on a string would be). */
    if (tag) {
        char shown[CONFIG_SHOW_MAX * 4 + 4];
        s_message(ctx, line, column,
                  "YAML tags (here \"%s\") are not "
                  "supported; write the value without it",
                  s_show((const char *) tag, shown, sizeof shown));
        return NULL;
    }
    if (++ctx->nnodes > CONFIG_MAX_NODES) {
        s_message(ctx, line, column,
                  "too many values (more than %d); this is not a goro config",
                  CONFIG_MAX_NODES);
        return NULL;
    }
    if (kind != S_SCALAR && depth >= CONFIG_MAX_DEPTH) {
        s_message(ctx, line, column, "nested more than %d levels deep",
                  CONFIG_MAX_DEPTH);
        return NULL;
    }

    s_node_t *node = util_zalloc(sizeof *node);
    node->kind = kind;
    node->line = line;
    node->column = column;

    if (kind == S_SCALAR) {
        const char *value = (const char *) event->data.scalar.value;
        size_t length = event->data.scalar.length;
        /* A "\0" escape would silently cut the C string short. */
        if (memchr(value, '\0', length)) {
            s_message(ctx, line, column, "NUL characters are not allowed");
            s_node_destroy(&node);
            return NULL;
        }
        node->value = util_strdup(value);
        node->is_null = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                        && (length == 0 || strcmp(value, "~") == 0
                            || strcmp(value, "null") == 0
                            || strcmp(value, "Null") == 0
                            || strcmp(value, "NULL") == 0);
        return node;
    }

    yaml_event_type_t end = kind == S_SEQUENCE ? YAML_SEQUENCE_END_EVENT
                                               : YAML_MAPPING_END_EVENT;
    for (;;) {
        yaml_event_t child_event;
        if (s_next(ctx, parser, &child_event))
            goto error;
        if (child_event.type == end) {
            yaml_event_delete(&child_event);
            break;
        }
        s_node_t *child = s_build(ctx, parser, &child_event, depth + 1);
        yaml_event_delete(&child_event);
        if (!child)
            goto error;
        s_node_push(node, child);
    }
    return node;

error:
    s_node_destroy(&node);
    return NULL;
}

/* The one document's root: NULL in *ROOT_OUT for an empty stream. */
static int
s_read(s_ctx_t *ctx, s_node_t **root_out)
{
    *root_out = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        s_message(ctx, 0, 0, "out of memory while parsing YAML");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) ctx->text,
                                 ctx->size);
    s_node_t *root = NULL;
    int ndocuments = 0;
    int done = 0;
    while (!done) {
        yaml_event_t event;
        if (s_next(ctx, &parser, &event))
            goto error;
        int rc = 0;
        switch (event.type) {
            case YAML_DOCUMENT_START_EVENT:
                if (++ndocuments > 1) {
                    s_message(ctx, event.start_mark.line + 1,
                              event.start_mark.column + 1,
                              "only one YAML document is allowed");
                    rc = -1;
                }
                break;
            case YAML_SCALAR_EVENT:
            case YAML_SEQUENCE_START_EVENT:
            case YAML_MAPPING_START_EVENT:
            case YAML_ALIAS_EVENT:
                root = s_build(ctx, &parser, &event, 0);
                rc = root ? 0 : -1;
                break;
            case YAML_STREAM_END_EVENT: done = 1; break;
            default: break;
        }
        yaml_event_delete(&event);
        if (rc)
            goto error;
    }
    yaml_parser_delete(&parser);
    *root_out = root;
    return 0;

error:
    s_node_destroy(&root);
    yaml_parser_delete(&parser);
    return -1;
}

/* ------------------------------------------------------------------ */
/*  The schema                                                        */
/* ------------------------------------------------------------------ */

typedef enum {
    S_STRING,   /* char *, 1..max bytes */
    S_ENDPOINT, /* char *, good by endpoint_check */
    S_INT,      /* int within [min, max] */
    S_COUNT,    /* uint64_t within [min, max] */
    S_BOOL,     /* int, 0 or 1 */
    S_DURATION, /* int64_t ms within [min, max] */
    S_SIZE,     /* uint64_t bytes within [min, max] */
    S_ENUM,     /* an enum: the index into names */
    S_SECTION,  /* a mapping of fields */
    S_STRINGS,  /* char **, items of 1..max bytes, and
                   its count (to max_items) at
                   count_offset */
    S_POOLS     /* config_t's pools */
} s_type_t;

typedef struct s_field s_field_t;
struct s_field {
    const char *key;
    s_type_t type;
    size_t offset;            /* into the section's struct */
    size_t count_offset;      /* S_STRINGS: the size_t count */
    int64_t min;              /* numbers: the range allowed */
    int64_t max;              /* also strings' length in bytes */
    size_t max_items;         /* S_STRINGS: items allowed */
    int nullable;             /* S_STRING: null means NULL */
    const char *const *names; /* S_ENUM: NULL-terminated */
    const s_field_t *fields;  /* S_SECTION: {NULL}-terminated */
    /* S_STRING: a further check of the value, which writes the message */
    int (*check)(s_ctx_t *ctx, const s_node_t *node, const char *path);
};

static int s_check_command(s_ctx_t *ctx, const s_node_t *node,
                           const char *path);
static int s_check_journal_path(s_ctx_t *ctx, const s_node_t *node,
                                const char *path);

/* S_ENUM writes the index through an int. */
_Static_assert(sizeof(config_fsync_t) == sizeof(int), "enum is an int");
_Static_assert(sizeof(config_log_level_t) == sizeof(int), "enum is an int");

/* In config_fsync_t order. */
static const char *const s_fsync_names[] = {"always", "everysec", "never",
                                            NULL};

/* In config_log_level_t order. */
static const char *const s_log_level_names[] = {"debug", "info", "warn",
                                                "error", NULL};

#define S_CONFIG(field) offsetof(config_t, field)
#define S_POOL(field) offsetof(config_pool_t, field)

static const s_field_t s_listen_fields[] = {
    {.key = "clients", .type = S_ENDPOINT, .offset = S_CONFIG(listen_clients)},
    {.key = "workers", .type = S_ENDPOINT, .offset = S_CONFIG(listen_workers)},
    {.key = NULL}};

static const s_field_t s_pool_fields[] = {
    {.key = "name",
     .type = S_STRING,
     .offset = S_POOL(name),
     .max = CONFIG_MAX_POOL_NAME},
    {.key = "processes",
     .type = S_INT,
     .offset = S_POOL(processes),
     .min = 0,
     .max = CONFIG_MAX_PROCESSES},
    {.key = "concurrency",
     .type = S_INT,
     .offset = S_POOL(concurrency),
     .min = 1,
     .max = CONFIG_MAX_CONCURRENCY},
    {.key = "prefetch",
     .type = S_INT,
     .offset = S_POOL(prefetch),
     .min = 0,
     .max = CONFIG_MAX_CONCURRENCY - 1},
    {.key = "command",
     .type = S_STRING,
     .offset = S_POOL(command),
     .max = CONFIG_MAX_FILE_PATH,
     .nullable = 1,
     .check = s_check_command},
    {.key = NULL}};

static const s_field_t s_heartbeat_fields[] = {
    {.key = "interval",
     .type = S_DURATION,
     .offset = S_CONFIG(heartbeat_interval_ms),
     .min = 1,
     .max = CONFIG_MAX_INTERVAL_MS},
    {.key = "liveness",
     .type = S_INT,
     .offset = S_CONFIG(heartbeat_liveness),
     .min = 1,
     .max = CONFIG_MAX_LIVENESS},
    {.key = NULL}};

static const s_field_t s_exec_limit_fields[] = {
    {.key = "cpu",
     .type = S_DURATION,
     .offset = S_CONFIG(exec_limit_cpu_ms),
     .min = 0,
     .max = CONFIG_MAX_DURATION_MS},
    {.key = "memory",
     .type = S_SIZE,
     .offset = S_CONFIG(exec_limit_memory),
     .min = 0,
     .max = INT64_MAX},
    {.key = "files",
     .type = S_COUNT,
     .offset = S_CONFIG(exec_limit_files),
     .min = 0,
     .max = INT64_MAX},
    {.key = "processes",
     .type = S_COUNT,
     .offset = S_CONFIG(exec_limit_procs),
     .min = 0,
     .max = INT64_MAX},
    {.key = NULL}};

static const s_field_t s_exec_fields[] = {
    {.key = "enabled", .type = S_BOOL, .offset = S_CONFIG(exec_enabled)},
    /* Globs on a program's path, so no longer than a path. */
    {.key = "allow",
     .type = S_STRINGS,
     .offset = S_CONFIG(exec_allow),
     .count_offset = S_CONFIG(nexec_allow),
     .max = CONFIG_MAX_FILE_PATH,
     .max_items = CONFIG_MAX_NODES},
    /* goro-worker refuses --max-output 0, and a DONE carries it whole. */
    {.key = "max_output",
     .type = S_SIZE,
     .offset = S_CONFIG(exec_max_output),
     .min = 1,
     .max = CONFIG_MAX_MESSAGE},
    {.key = "env",
     .type = S_STRINGS,
     .offset = S_CONFIG(exec_env),
     .count_offset = S_CONFIG(nexec_env),
     .max = CONFIG_MAX_ENV_GLOB,
     .max_items = CONFIG_MAX_ENV},
    {.key = "run_as",
     .type = S_STRING,
     .offset = S_CONFIG(exec_run_as),
     .max = CONFIG_MAX_RUN_AS,
     .nullable = 1},
    {.key = "limits", .type = S_SECTION, .fields = s_exec_limit_fields},
    /* A worker keeps a grace within 32 bits of ms (about 24 days). */
    {.key = "kill_grace",
     .type = S_DURATION,
     .offset = S_CONFIG(exec_kill_grace_ms),
     .min = 0,
     .max = INT32_MAX},
    {.key = NULL}};

static const s_field_t s_jobs_fields[] = {
    {.key = "max_attempts",
     .type = S_INT,
     .offset = S_CONFIG(max_attempts),
     .min = 1,
     .max = INT_MAX},
    {.key = "result_ttl",
     .type = S_DURATION,
     .offset = S_CONFIG(result_ttl_ms),
     .min = 0,
     .max = CONFIG_MAX_DURATION_MS},
    {.key = "timeout",
     .type = S_DURATION,
     .offset = S_CONFIG(job_timeout_ms),
     .min = 0,
     .max = CONFIG_MAX_DURATION_MS},
    {.key = "shutdown_grace",
     .type = S_DURATION,
     .offset = S_CONFIG(shutdown_grace_ms),
     .min = 0,
     .max = CONFIG_MAX_DURATION_MS},
    {.key = "exec", .type = S_SECTION, .fields = s_exec_fields},
    {.key = NULL}};

static const s_field_t s_limits_fields[] = {
    {.key = "max_message",
     .type = S_SIZE,
     .offset = S_CONFIG(max_message),
     .min = 1,
     .max = CONFIG_MAX_MESSAGE},
    {.key = "max_queued_jobs",
     .type = S_COUNT,
     .offset = S_CONFIG(max_queued_jobs),
     .min = 1,
     .max = INT64_MAX},
    {.key = "max_channel_bytes",
     .type = S_SIZE,
     .offset = S_CONFIG(max_channel_bytes),
     .min = 1,
     .max = INT64_MAX},
    /* ZMQ_HANDSHAKE_IVL is an int of ms, and 0 would mean none. */
    {.key = "handshake_timeout",
     .type = S_DURATION,
     .offset = S_CONFIG(handshake_timeout_ms),
     .min = 1,
     .max = INT_MAX},
    {.key = NULL}};

static const s_field_t s_journal_fields[] = {
    {.key = "path",
     .type = S_STRING,
     .offset = S_CONFIG(journal_path),
     .max = CONFIG_MAX_JOURNAL_PATH,
     .check = s_check_journal_path},
    {.key = "fsync",
     .type = S_ENUM,
     .offset = S_CONFIG(journal_fsync),
     .names = s_fsync_names},
    {.key = "compact_min",
     .type = S_SIZE,
     .offset = S_CONFIG(journal_compact_min),
     .min = 0,
     .max = INT64_MAX},
    {.key = NULL}};

static const s_field_t s_log_fields[] = {{.key = "level",
                                          .type = S_ENUM,
                                          .offset = S_CONFIG(log_level),
                                          .names = s_log_level_names},
                                         {.key = NULL}};

static const s_field_t s_curve_fields[] = {
    {.key = "cert",
     .type = S_STRING,
     .offset = S_CONFIG(curve_cert),
     .max = CONFIG_MAX_FILE_PATH,
     .nullable = 1},
    {.key = "clients",
     .type = S_STRING,
     .offset = S_CONFIG(curve_clients),
     .max = CONFIG_MAX_FILE_PATH,
     .nullable = 1},
    {.key = "workers",
     .type = S_STRING,
     .offset = S_CONFIG(curve_workers),
     .max = CONFIG_MAX_FILE_PATH,
     .nullable = 1},
    {.key = NULL}};

static const s_field_t s_security_fields[] = {
    {.key = "insecure", .type = S_BOOL, .offset = S_CONFIG(insecure)},
    {.key = "curve", .type = S_SECTION, .fields = s_curve_fields},
    {.key = NULL}};

/* CPU_SETSIZE: what sched_setaffinity can name. */
static const s_field_t s_loop_fields[] = {
    {.key = "cpu",
     .type = S_INT,
     .offset = S_CONFIG(loop_cpu),
     .min = -1,
     .max = CPU_SETSIZE - 1},
    {.key = NULL}};

static const s_field_t s_top_fields[] = {
    {.key = "listen", .type = S_SECTION, .fields = s_listen_fields},
    {.key = "pools", .type = S_POOLS},
    {.key = "heartbeat", .type = S_SECTION, .fields = s_heartbeat_fields},
    {.key = "jobs", .type = S_SECTION, .fields = s_jobs_fields},
    {.key = "limits", .type = S_SECTION, .fields = s_limits_fields},
    {.key = "journal", .type = S_SECTION, .fields = s_journal_fields},
    {.key = "log", .type = S_SECTION, .fields = s_log_fields},
    {.key = "loop", .type = S_SECTION, .fields = s_loop_fields},
    {.key = "security", .type = S_SECTION, .fields = s_security_fields},
    {.key = NULL}};

/* ------------------------------------------------------------------ */
/*  Scalars                                                           */
/* ------------------------------------------------------------------ */

/* Decimal only: "0x10", "1e3", "1_000" and "3 apples" are refused rather
   than read as something the user may not have meant. 0 ok, 1 not an
   integer, 2 beyond int64_t. */
static int
s_parse_int(const char *text, int64_t *value_out)
{
    const char *p = text;
    int negative = 0;
    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    if (*p < '0' || *p > '9')
        return 1;
    uint64_t magnitude = 0;
    int overflow = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned) (*p - '0');
        if (magnitude > (UINT64_MAX - digit) / 10)
            overflow = 1;
        else
            magnitude = magnitude * 10 + digit;
    }
    if (*p)
        return 1;
    uint64_t limit = negative ? (uint64_t) INT64_MAX + 1
                              : (uint64_t) INT64_MAX;
    if (overflow || magnitude > limit)
        return 2;
    *value_out = negative ? (int64_t) (0 - magnitude) : (int64_t) magnitude;
    return 0;
}

static int
s_parse_bool(const char *text, int *value_out)
{
    static const char *const truths[] = {"true", "yes", "on"};
    static const char *const lies[] = {"false", "no", "off"};
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        if (strcasecmp(text, truths[i]) == 0) {
            *value_out = 1;
            return 0;
        }
        if (strcasecmp(text, lies[i]) == 0) {
            *value_out = 0;
            return 0;
        }
    }
    return 1;
}

/* A limit spelled as the user would write it. */
static const char *
s_format_limit(s_type_t type, int64_t value, char *buf, size_t size)
{
    if (type == S_DURATION && value > 0) {
        static const struct {
            const char *unit;
            int64_t ms;
        } units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (value % units[i].ms == 0) {
                snprintf(buf, size, "%" PRId64 "%s", value / units[i].ms,
                         units[i].unit);
                return buf;
            }
        }
    }
    if (type == S_SIZE && value > 0) {
        static const struct {
            const char *unit;
            int64_t bytes;
        } units[] = {{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (value % units[i].bytes == 0) {
                snprintf(buf, size, "%" PRId64 "%s", value / units[i].bytes,
                         units[i].unit);
                return buf;
            }
        }
    }
    snprintf(buf, size, "%" PRId64, value);
    return buf;
}

/* "one of: a, b, c" for enums, else what the type looks like. */
static const char *
s_expected(const s_field_t *field, char *buf, size_t size)
{
    switch (field->type) {
        case S_STRING: return "a string";
        case S_ENDPOINT: return "an endpoint (tcp://HOST:PORT or ipc://PATH)";
        case S_INT:
        case S_COUNT: return "an integer";
        case S_BOOL: return "a boolean (true or false)";
        case S_DURATION: return "a duration (like 300ms, 1.5s, 2m)";
        case S_SIZE: return "a size (like 4096, 64KiB, 1MiB)";
        case S_SECTION: return "a mapping";
        case S_STRINGS: return "a sequence of strings";
        case S_POOLS: return "a sequence of pools";
        case S_ENUM: break;
    }
    size_t used = (size_t) snprintf(buf, size, "one of:");
    for (size_t i = 0; field->names[i] && used < size; i++)
        used += (size_t) snprintf(buf + used, size - used, "%s %s",
                                  i ? "," : "", field->names[i]);
    return buf;
}

static void
s_wrong_type(s_ctx_t *ctx, const s_node_t *node, const char *path,
             const s_field_t *field)
{
    char expected[CONFIG_PATH_MAX], got[CONFIG_SHOW_MAX * 4 + 8];
    s_message(ctx, node->line, node->column,
              "%s: wrong type (expected %s, got %s)", path,
              s_expected(field, expected, sizeof expected),
              s_describe(node, got, sizeof got));
}

static void
s_bad_value(s_ctx_t *ctx, const s_node_t *node, const char *path,
            const s_field_t *field)
{
    char expected[CONFIG_PATH_MAX], shown[CONFIG_SHOW_MAX * 4 + 4];
    s_message(ctx, node->line, node->column, "%s: \"%s\" is not %s", path,
              s_show(node->value, shown, sizeof shown),
              s_expected(field, expected, sizeof expected));
}

static void
s_out_of_range(s_ctx_t *ctx, const s_node_t *node, const char *path,
               const s_field_t *field, int below)
{
    char limit[64], shown[CONFIG_SHOW_MAX * 4 + 4];
    s_message(ctx, node->line, node->column, "%s: %s is out of range (%s %s)",
              path, s_show(node->value, shown, sizeof shown),
              below ? "at least" : "at most",
              s_format_limit(field->type, below ? field->min : field->max,
                             limit, sizeof limit));
}

/* Refuses a string of more than MAX bytes: what uses it has no room. */
static int
s_too_long(s_ctx_t *ctx, const s_node_t *node, const char *path, int64_t max)
{
    assert(max > 0); /* every string field has its bound */
    size_t len = strlen(node->value);
    if (len <= (size_t) max)
        return 0;
    s_message(ctx, node->line, node->column,
              "%s: %zu bytes is too long (at most %" PRId64 ")", path, len,
              max);
    return -1;
}

/* pools[].command splits on blanks (pool.c), so it needs a word. */
static int
s_check_command(s_ctx_t *ctx, const s_node_t *node, const char *path)
{
    if (node->value[strspn(node->value, " \t")])
        return 0;
    s_message(ctx, node->line, node->column,
              "%s: names no program (leave it out for the goro-worker "
              "beside gorod)",
              path);
    return -1;
}

/* journal_open creates the journal's own directory (var/ of
   var/goro.journal) and nothing above it; anything else would fail at
   the first start, as exit 1 without a position. */
static int
s_check_journal_path(s_ctx_t *ctx, const s_node_t *node, const char *path)
{
    const char *file = node->value;
    char shown[CONFIG_SHOW_MAX * 4 + 4], dir[PATH_MAX], parent[PATH_MAX];
    struct stat st;
    if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
        s_message(ctx, node->line, node->column,
                  "%s: \"%s\" is a directory; name a file in it, like "
                  "%s/goro.journal",
                  path, s_show(file, shown, sizeof shown), shown);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", file);
    snprintf(parent, sizeof parent, "%s", dirname(dir));
    if (stat(parent, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        s_message(ctx, node->line, node->column,
                  "%s: \"%s\" is not a "
                  "directory",
                  path, s_show(parent, shown, sizeof shown));
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", parent);
    const char *above = dirname(dir);
    if (stat(above, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* journal_open makes PARENT */
    s_message(ctx, node->line, node->column,
              "%s: directory \"%s\" does not exist (gorod creates only the "
              "journal's own directory)",
              path, s_show(above, shown, sizeof shown));
    return -1;
}

/* Replaces the string at SLOT, freeing the default it held. */
static void
s_set_string(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? util_strdup(value) : NULL;
}

/* ------------------------------------------------------------------ */
/*  The walk                                                          */
/* ------------------------------------------------------------------ */

/* "pools[2]": PATH is at most a few keys long, so a cut never happens;
   if it did, a shortened path still points the way. */
static void
s_index_path(char *buf, const char *path, size_t index)
{
    if (snprintf(buf, CONFIG_PATH_MAX, "%s[%zu]", path, index) < 0)
        buf[0] = '\0';
}

static int s_walk_section(s_ctx_t *ctx, const s_node_t *node, const char *path,
                          const s_field_t *fields, void *base);

static const s_node_t *
s_lookup(const s_node_t *mapping, const char *key)
{
    for (size_t i = 0; i + 1 < mapping->nitems; i += 2)
        if (strcmp(mapping->items[i]->value, key) == 0)
            return mapping->items[i + 1];
    return NULL;
}

static int
s_walk_strings(s_ctx_t *ctx, const s_node_t *node, const char *path,
               const s_field_t *field, void *base)
{
    char ***list = (char ***) ((char *) base + field->offset);
    size_t *count = (size_t *) ((char *) base + field->count_offset);
    for (size_t i = 0; i < *count; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *count = 0;
    if (node->nitems == 0)
        return 0;
    if (node->nitems > field->max_items) {
        s_message(ctx, node->line, node->column,
                  "%s: %zu entries are too many (at most %zu)", path,
                  node->nitems, field->max_items);
        return -1;
    }
    /* Set up before filling, so destroy frees whatever was filled. */
    *list = util_zalloc(node->nitems * sizeof **list);
    *count = node->nitems;
    for (size_t i = 0; i < node->nitems; i++) {
        const s_node_t *item = node->items[i];
        char item_path[CONFIG_PATH_MAX];
        s_index_path(item_path, path, i);
        if (item->kind != S_SCALAR || item->is_null) {
            static const s_field_t string = {.type = S_STRING};
            s_wrong_type(ctx, item, item_path, &string);
            return -1;
        }
        if (!*item->value) {
            s_message(ctx, item->line, item->column, "%s: must not be empty",
                      item_path);
            return -1;
        }
        if (s_too_long(ctx, item, item_path, field->max))
            return -1;
        (*list)[i] = util_strdup(item->value);
    }
    return 0;
}

static int
s_walk_pools(s_ctx_t *ctx, const s_node_t *node, const char *path,
             config_t *config)
{
    for (size_t i = 0; i < config->npools; i++) {
        free(config->pools[i].name);
        free(config->pools[i].command);
    }
    free(config->pools);
    config->pools = NULL;
    config->npools = 0;
    if (node->nitems == 0)
        return 0; /* pools: [] = no local workers */
    config->pools = util_zalloc(node->nitems * sizeof *config->pools);
    config->npools = node->nitems;
    for (size_t i = 0; i < node->nitems; i++) {
        const s_node_t *item = node->items[i];
        config_pool_t *pool = &config->pools[i];
        pool->processes = 0;
        pool->concurrency = 1;
        char item_path[CONFIG_PATH_MAX];
        s_index_path(item_path, path, i);
        if (item->kind != S_MAPPING) {
            static const s_field_t section = {.type = S_SECTION};
            s_wrong_type(ctx, item, item_path, &section);
            return -1;
        }
        if (s_walk_section(ctx, item, item_path, s_pool_fields, pool))
            return -1;
        /* The name is how `goro workers` and the logs tell pools apart,
           so it has no default and must be unique. */
        if (!pool->name) {
            s_message(ctx, item->line, item->column,
                      "%s: missing required key \"name\"", item_path);
            return -1;
        }
        /* goro-worker's bound: the jobs it may hold at once. */
        if (pool->concurrency + pool->prefetch > CONFIG_MAX_CONCURRENCY) {
            const s_node_t *at = s_lookup(item, "prefetch");
            s_message(ctx, at->line, at->column,
                      "%s.prefetch: concurrency + prefetch is %d, above %d",
                      item_path, pool->concurrency + pool->prefetch,
                      CONFIG_MAX_CONCURRENCY);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(config->pools[j].name, pool->name) == 0) {
                const s_node_t *name = s_lookup(item, "name");
                char shown[CONFIG_SHOW_MAX * 4 + 4];
                s_message(ctx, name->line, name->column,
                          "%s.name: \"%s\" is already the name of %s[%zu]",
                          item_path, s_show(pool->name, shown, sizeof shown),
                          path, j);
                return -1;
            }
        }
    }
    return 0;
}

static int
s_walk_value(s_ctx_t *ctx, const s_node_t *node, const char *path,
             const s_field_t *field, void *base)
{
    void *slot = (char *) base + field->offset;

    /* Collections first: null has a meaning for some of them. */
    if (field->type == S_SECTION) {
        if (node->kind == S_SCALAR && node->is_null)
            return 0; /* every child commented out: defaults */
        if (node->kind != S_MAPPING) {
            s_wrong_type(ctx, node, path, field);
            return -1;
        }
        return s_walk_section(ctx, node, path, field->fields, base);
    }
    if (field->type == S_STRINGS || field->type == S_POOLS) {
        if (node->kind == S_SCALAR && node->is_null) {
            /* For pools, absent and empty mean different things, so a
               bare "pools:" is neither. */
            char expected[CONFIG_PATH_MAX];
            s_message(ctx, node->line, node->column,
                      "%s: no value (expected %s; write [] for none)", path,
                      s_expected(field, expected, sizeof expected));
            return -1;
        }
        if (node->kind != S_SEQUENCE) {
            s_wrong_type(ctx, node, path, field);
            return -1;
        }
        if (field->type == S_POOLS)
            return s_walk_pools(ctx, node, path, base);
        return s_walk_strings(ctx, node, path, field, base);
    }

    if (node->kind != S_SCALAR) {
        s_wrong_type(ctx, node, path, field);
        return -1;
    }
    if (node->is_null) {
        if (field->type == S_STRING && field->nullable) {
            s_set_string(slot, NULL);
            return 0;
        }
        char expected[CONFIG_PATH_MAX];
        s_message(ctx, node->line, node->column, "%s: no value (expected %s)",
                  path, s_expected(field, expected, sizeof expected));
        return -1;
    }

    const char *text = node->value;
    switch (field->type) {
        case S_STRING:
            if (!*text) {
                s_message(ctx, node->line, node->column,
                          "%s: must not be empty%s", path,
                          field->nullable ? " (leave it out for the default)"
                                          : "");
                return -1;
            }
            if (s_too_long(ctx, node, path, field->max)
                || (field->check && field->check(ctx, node, path)))
                return -1;
            s_set_string(slot, text);
            return 0;

        case S_ENDPOINT: {
            if (strncmp(text, "tcp://", 6) != 0
                && strncmp(text, "ipc://", 6) != 0) {
                s_bad_value(ctx, node, path, field);
                return -1;
            }
            char why[CONFIG_ERROR_MAX / 2], shown[CONFIG_SHOW_MAX * 4 + 4];
            if (endpoint_check(text, why, sizeof why)) {
                s_message(ctx, node->line, node->column, "%s: \"%s\": %s",
                          path, s_show(text, shown, sizeof shown), why);
                return -1;
            }
            s_set_string(slot, text);
            return 0;
        }

        case S_INT:
        case S_COUNT: {
            int64_t value;
            int rc = s_parse_int(text, &value);
            if (rc == 1) {
                s_bad_value(ctx, node, path, field);
                return -1;
            }
            int below = rc == 2 ? *text == '-' : value < field->min;
            if (rc == 2 || value < field->min || value > field->max) {
                s_out_of_range(ctx, node, path, field, below);
                return -1;
            }
            if (field->type == S_INT)
                *(int *) slot = (int) value;
            else
                *(uint64_t *) slot = (uint64_t) value;
            return 0;
        }

        case S_BOOL:
            if (s_parse_bool(text, slot)) {
                s_bad_value(ctx, node, path, field);
                return -1;
            }
            return 0;

        case S_DURATION: {
            /* util_duration refuses negatives and what is under 1 ms
               outright; the nanoseconds say which rule broke. */
            int64_t ns, ms;
            if (util_duration_ns(text, &ns)) {
                s_bad_value(ctx, node, path, field);
                return -1;
            }
            if (ns < 0) {
                s_out_of_range(ctx, node, path, field, 1);
                return -1;
            }
            if (util_duration(text, &ms)) {
                char shown[CONFIG_SHOW_MAX * 4 + 4];
                s_message(
                    ctx, node->line, node->column,
                    "%s: %s is under 1ms; goro counts whole milliseconds, "
                    "so write 0 or at least 1ms",
                    path, s_show(text, shown, sizeof shown));
                return -1;
            }
            if (ms < field->min || ms > field->max) {
                s_out_of_range(ctx, node, path, field, ms < field->min);
                return -1;
            }
            *(int64_t *) slot = ms;
            return 0;
        }

        case S_SIZE: {
            uint64_t bytes;
            if (util_size(text, &bytes)) {
                s_bad_value(ctx, node, path, field);
                return -1;
            }
            if (bytes < (uint64_t) field->min
                || bytes > (uint64_t) field->max) {
                s_out_of_range(ctx, node, path, field,
                               bytes < (uint64_t) field->min);
                return -1;
            }
            *(uint64_t *) slot = bytes;
            return 0;
        }

        case S_ENUM:
            for (int i = 0; field->names[i]; i++) {
                if (strcmp(text, field->names[i]) == 0) {
                    *(int *) slot = i;
                    return 0;
                }
            }
            s_bad_value(ctx, node, path, field);
            return -1;

        default: break;
    }
    /* Collections returned above; a new scalar type must be added here. */
    s_message(ctx, node->line, node->column, "%s: internal error", path);
    return -1;
}

static int
s_walk_section(s_ctx_t *ctx, const s_node_t *node, const char *path,
               const s_field_t *fields, void *base)
{
    for (size_t i = 0; i + 1 < node->nitems; i += 2) {
        const s_node_t *key = node->items[i];
        const s_node_t *value = node->items[i + 1];
        const char *dot = *path ? "." : "";
        char shown[CONFIG_SHOW_MAX * 4 + 4];

        if (key->kind != S_SCALAR) {
            s_message(ctx, key->line, key->column,
                      "%s%skeys must be plain strings, not %s", path,
                      *path ? ": " : "",
                      key->kind == S_MAPPING ? "mappings" : "sequences");
            return -1;
        }
        /* Earlier keys were all known, so this scan is schema-sized. */
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(node->items[j]->value, key->value) == 0) {
                s_message(ctx, key->line, key->column,
                          "duplicate key \"%s%s%s\" (first at line %zu)", path,
                          dot, key->value, node->items[j]->line);
                return -1;
            }
        }
        const s_field_t *field = fields;
        while (field->key && strcmp(field->key, key->value) != 0)
            field++;
        if (!field->key) {
            char expected[CONFIG_PATH_MAX];
            size_t used = 0;
            expected[0] = '\0';
            for (const s_field_t *f = fields; f->key && used < sizeof expected;
                 f++)
                used += (size_t) snprintf(expected + used,
                                          sizeof expected - used, "%s%s",
                                          f == fields ? "" : ", ", f->key);
            s_message(ctx, key->line, key->column,
                      "unknown key \"%s%s%s\" (expected one of: %s)", path,
                      dot, s_show(key->value, shown, sizeof shown), expected);
            return -1;
        }
        char child_path[CONFIG_PATH_MAX];
        snprintf(child_path, sizeof child_path, "%s%s%s", path, dot,
                 field->key);
        if (s_walk_value(ctx, value, child_path, field, base))
            return -1;
    }
    return 0;
}

/* Two binds of one address: the second would fail at start. The message
   goes to the key the file gives, workers if it gives both. */
static int
s_check_listen(s_ctx_t *ctx, const s_node_t *root, const config_t *config)
{
    if (!endpoint_clash(config->listen_clients, config->listen_workers))
        return 0;
    const s_node_t *listen = s_lookup(root, "listen");
    const s_node_t *node = s_lookup(listen, "workers");
    const char *key = "workers", *other = "clients";
    if (!node) {
        node = s_lookup(listen, "clients");
        key = "clients";
        other = "workers";
    }
    char shown[CONFIG_SHOW_MAX * 4 + 4];
    s_message(ctx, node->line, node->column,
              "listen.%s: \"%s\" takes the address of listen.%s; the two "
              "need different ports or paths",
              key, s_show(node->value, shown, sizeof shown), other);
    return -1;
}

/* ------------------------------------------------------------------ */
/*  Public API                                                        */
/* ------------------------------------------------------------------ */

config_t *
config_new(void)
{
    config_t *self = util_zalloc(sizeof *self);
    self->listen_clients = util_strdup("tcp://127.0.0.1:7700");
    self->listen_workers = util_strdup("tcp://127.0.0.1:7701");
    self->pools = util_zalloc(sizeof *self->pools);
    self->npools = 1;
    self->pools[0].name = util_strdup("default");
    self->pools[0].processes = 0;
    self->pools[0].concurrency = 1;
    self->pools[0].command = NULL;
    self->heartbeat_interval_ms = 1000;
    self->heartbeat_liveness = 3;
    self->max_attempts = 3;
    self->result_ttl_ms = 3600 * 1000;
    self->job_timeout_ms = 0;
    self->shutdown_grace_ms = 10 * 1000;
    self->exec_enabled = 1;
    self->exec_allow = util_zalloc(sizeof *self->exec_allow);
    self->exec_allow[0] = util_strdup("*");
    self->nexec_allow = 1;
    /* What a command needs to behave as in a login shell, and nothing of
       the worker's own (its certificates excepted: see client/exec.c). */
    static const char *const env[] = {
        "PATH",     "HOME", "USER", "LOGNAME", "SHELL", "LANG",
        "LANGUAGE", "LC_*", "TZ",   "TMPDIR",  "TERM",
    };
    self->nexec_env = sizeof env / sizeof env[0];
    self->exec_env = util_zalloc(sizeof(char *) * self->nexec_env);
    for (size_t i = 0; i < self->nexec_env; i++)
        self->exec_env[i] = util_strdup(env[i]);
    self->exec_max_output = 128 * 1024;
    self->exec_kill_grace_ms = 5 * 1000;
    self->max_message = 128 * 1024;
    self->max_queued_jobs = 1000000;
    self->journal_path = util_strdup("var/goro.journal");
    self->journal_fsync = CONFIG_FSYNC_EVERYSEC;
    self->journal_compact_min = 64ULL << 20;
    self->max_channel_bytes = 256ULL << 20;
    self->handshake_timeout_ms = 5000;
    self->log_level = CONFIG_LOG_INFO;
    self->loop_cpu = -1;
    self->insecure = 0;
    return self;
}

config_t *
config_parse(const char *name, const char *text, size_t size, char *err)
{
    s_ctx_t ctx = {
        .name = name ? name : "<config>",
        .err = err,
        .text = text ? text : "",
        .size = size,
    };
    if (err)
        err[0] = '\0';
    if (!text && size > 0) {
        s_message(&ctx, 0, 0, "no text to parse");
        return NULL;
    }
    if (size > CONFIG_MAX_FILE) {
        s_message(&ctx, 0, 0, "larger than %d bytes; is this a goro config?",
                  CONFIG_MAX_FILE);
        return NULL;
    }

    s_node_t *root;
    if (s_read(&ctx, &root))
        return NULL;
    config_t *self = config_new();
    /* No document, or an empty one, is the all-defaults config. */
    if (root && !(root->kind == S_SCALAR && root->is_null)) {
        if (root->kind != S_MAPPING) {
            char got[CONFIG_SHOW_MAX * 4 + 8];
            s_message(&ctx, root->line, root->column,
                      "the top level must be a mapping of sections "
                      "(listen:, pools:, jobs:, ...), got %s",
                      s_describe(root, got, sizeof got));
            goto error;
        }
        if (s_walk_section(&ctx, root, "", s_top_fields, self)
            || s_check_listen(&ctx, root, self))
            goto error;
    }
    s_node_destroy(&root);
    return self;

error:
    s_node_destroy(&root);
    config_destroy(&self);
    return NULL;
}

config_t *
config_load(const char *path, char *err)
{
    s_ctx_t ctx = {.name = path ? path : "<config>", .err = err};
    if (err)
        err[0] = '\0';
    if (!path) {
        s_message(&ctx, 0, 0, "no config file named");
        return NULL;
    }
    FILE *file = fopen(path, "rb");
    if (!file) {
        s_message(&ctx, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    /* Read one byte past the limit, so config_parse can tell "too big". */
    char *text = NULL;
    size_t size = 0, capacity = 0;
    for (;;) {
        if (size == capacity) {
            if (capacity > CONFIG_MAX_FILE)
                break;
            capacity = capacity ? capacity * 2 : 16384;
            if (capacity > CONFIG_MAX_FILE + 1)
                capacity = CONFIG_MAX_FILE + 1;
            text = util_realloc(text, capacity);
        }
        size_t got = fread(text + size, 1, capacity - size, file);
        size += got;
        if (got == 0)
            break;
    }
    int failed = ferror(file);
    int saved_errno = errno;
    fclose(file);
    if (failed) {
        s_message(&ctx, 0, 0, "cannot read: %s", strerror(saved_errno));
        free(text);
        return NULL;
    }
    config_t *self = config_parse(path, text, size, err);
    free(text);
    return self;
}

void
config_destroy(config_t **self_p)
{
    if (self_p && *self_p) {
        config_t *self = *self_p;
        free(self->listen_clients);
        free(self->listen_workers);
        for (size_t i = 0; i < self->npools; i++) {
            free(self->pools[i].name);
            free(self->pools[i].command);
        }
        free(self->pools);
        for (size_t i = 0; i < self->nexec_allow; i++)
            free(self->exec_allow[i]);
        free(self->exec_allow);
        for (size_t i = 0; i < self->nexec_env; i++)
            free(self->exec_env[i]);
        free(self->exec_env);
        free(self->exec_run_as);
        free(self->journal_path);
        free(self->curve_cert);
        free(self->curve_clients);
        free(self->curve_workers);
        free(self);
        *self_p = NULL;
    }
}
