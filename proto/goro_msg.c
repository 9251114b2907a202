/*  goro_msg - encoder and decoder for the frames PROTOCOL.md specifies.

    Each command is a list of fields (s_schema); one loop encodes and one
    loop decodes them all, so the grammar lives in exactly one table and
    adding a command is adding a row. The decoder bounds-checks every read
    and owns nothing of the input buffer after it returns.
*/
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Field ids; the type of each is in s_field_type. */
typedef enum {
    F_END = 0,
    F_JOB_ID,
    F_DELIVERY_ID,
    F_RUN_ID,
    F_VALUE_SEQ,
    F_CODE,
    F_STATE,
    F_WHAT,
    F_FLAGS,
    F_ATTEMPT,
    F_MAX_ATTEMPTS,
    F_INDEX,
    F_PID,
    F_WORKER_CAPACITY,
    F_RECV_MAX,
    F_SENT_COUNT,
    F_LEASE_COUNT,
    F_TAKEN_COUNT,
    F_STATUS,
    F_TIMEOUT,
    F_SUBMIT_WAIT,
    F_CAPACITY,
    F_ROOM,
    F_DELTA,
    F_HB_INTERVAL,
    F_HB_LIVENESS,
    F_ENDED_AT,
    F_ATTEMPT_BASE,
    F_RUNTIME,
    F_COUNTER,
    F_ADDED,
    F_DONE,
    F_SUCCEEDED,
    F_FAILED,
    F_NAME,
    F_WG,
    F_CHAN,
    F_KEY,
    F_DATA,
    F_TEXT,
    F_STRS,
    F_CASES,
    F_VALUES,
    F_NFIELDS
} field_t;

typedef enum {
    T_U8,
    T_U32,
    T_U64,
    T_I64,     /* big-endian integers */
    T_STR,     /* 1-byte length, then bytes */
    T_LONGSTR, /* 4-byte length, then bytes */
    T_STRS,    /* 4-byte count, then T_STR each */
    T_CASES,   /* 4-byte count, then op, T_STR, T_LONGSTR */
    T_VALUES   /* 4-byte count, then T_LONGSTR each */
} type_t;

static const type_t s_field_type[F_NFIELDS] = {
    [F_JOB_ID] = T_U64,
    [F_DELIVERY_ID] = T_U64,
    [F_RUN_ID] = T_U64,
    [F_VALUE_SEQ] = T_U64,
    [F_CODE] = T_U32,
    [F_STATE] = T_U8,
    [F_WHAT] = T_U8,
    [F_FLAGS] = T_U32,
    [F_ATTEMPT] = T_U32,
    [F_MAX_ATTEMPTS] = T_U32,
    [F_INDEX] = T_U32,
    [F_PID] = T_U32,
    [F_WORKER_CAPACITY] = T_U32,
    [F_RECV_MAX] = T_U32,
    [F_SENT_COUNT] = T_U32,
    [F_LEASE_COUNT] = T_U32,
    [F_TAKEN_COUNT] = T_U32,
    [F_STATUS] = T_I64,
    [F_TIMEOUT] = T_I64,
    [F_SUBMIT_WAIT] = T_I64,
    [F_CAPACITY] = T_I64,
    [F_ROOM] = T_I64,
    [F_DELTA] = T_I64,
    [F_HB_INTERVAL] = T_I64,
    [F_HB_LIVENESS] = T_I64,
    [F_ENDED_AT] = T_I64,
    [F_ATTEMPT_BASE] = T_I64,
    [F_RUNTIME] = T_I64,
    [F_COUNTER] = T_I64,
    [F_ADDED] = T_I64,
    [F_DONE] = T_I64,
    [F_SUCCEEDED] = T_I64,
    [F_FAILED] = T_I64,
    [F_NAME] = T_STR,
    [F_WG] = T_STR,
    [F_CHAN] = T_STR,
    [F_KEY] = T_STR,
    [F_DATA] = T_LONGSTR,
    [F_TEXT] = T_LONGSTR,
    [F_STRS] = T_STRS,
    [F_CASES] = T_CASES,
    [F_VALUES] = T_VALUES,
};

#define FIELDS_MAX 10

typedef struct {
    const char *name;
    field_t fields[FIELDS_MAX];
} schema_t;

/* The grammar. Order within a row is the wire order. */
static const schema_t s_schema[GORO_MSG_CMD_MAX] = {
    [GORO_MSG_PING] = {"PING", {F_END}},
    [GORO_MSG_SUBMIT] = {"SUBMIT",
                         {F_NAME, F_DATA, F_WG, F_CHAN, F_KEY, F_TIMEOUT,
                          F_MAX_ATTEMPTS, F_SUBMIT_WAIT}},
    [GORO_MSG_STATUS] = {"STATUS", {F_JOB_ID}},
    [GORO_MSG_WAIT] = {"WAIT", {F_JOB_ID, F_TIMEOUT}},
    [GORO_MSG_CANCEL] = {"CANCEL", {F_JOB_ID}},
    [GORO_MSG_RETRY] = {"RETRY", {F_JOB_ID}},
    [GORO_MSG_LIST] = {"LIST", {F_WHAT, F_FLAGS}},
    [GORO_MSG_CHAN_MAKE] = {"CHAN_MAKE", {F_NAME, F_CAPACITY}},
    [GORO_MSG_CHAN_SEND] = {"CHAN_SEND", {F_NAME, F_DATA, F_TIMEOUT}},
    [GORO_MSG_CHAN_RECV] = {"CHAN_RECV", {F_NAME, F_TIMEOUT}},
    [GORO_MSG_CHAN_CLOSE] = {"CHAN_CLOSE", {F_NAME}},
    [GORO_MSG_SELECT] = {"SELECT", {F_CASES, F_TIMEOUT}},
    [GORO_MSG_WG_ADD] = {"WG_ADD", {F_NAME, F_DELTA}},
    [GORO_MSG_WG_WAIT] = {"WG_WAIT", {F_NAME, F_TIMEOUT}},
    [GORO_MSG_WG_STATUS] = {"WG_STATUS", {F_NAME}},
    [GORO_MSG_HEARTBEAT] = {"HEARTBEAT", {F_RUN_ID}},
    [GORO_MSG_DISCONNECT] = {"DISCONNECT", {F_END}},
    [GORO_MSG_ACK] = {"ACK", {F_DELIVERY_ID}},
    [GORO_MSG_OK] = {"OK", {F_JOB_ID, F_DATA}},
    [GORO_MSG_ERROR] = {"ERROR", {F_CODE, F_TEXT}},
    [GORO_MSG_JOB] = {"JOB",
                      {F_JOB_ID, F_NAME, F_STATE, F_ATTEMPT, F_STATUS,
                       F_RUNTIME, F_DATA, F_TEXT}},
    [GORO_MSG_VALUE] = {"VALUE", {F_INDEX, F_FLAGS, F_DELIVERY_ID, F_DATA}},
    [GORO_MSG_WG_INFO] = {"WG_INFO",
                          {F_COUNTER, F_ADDED, F_DONE, F_SUCCEEDED, F_FAILED}},
    [GORO_MSG_READY] = {"READY", {F_NAME, F_PID, F_WORKER_CAPACITY, F_STRS}},
    [GORO_MSG_WELCOME] = {"WELCOME",
                          {F_HB_INTERVAL, F_HB_LIVENESS, F_TEXT, F_STRS}},
    [GORO_MSG_DISPATCH] = {"DISPATCH",
                           {F_JOB_ID, F_ATTEMPT, F_NAME, F_DATA, F_TIMEOUT}},
    [GORO_MSG_DONE] = {"DONE",
                       {F_JOB_ID, F_ATTEMPT, F_STATUS, F_RUNTIME, F_DATA,
                        F_TEXT}},
    [GORO_MSG_KILL] = {"KILL", {F_JOB_ID, F_ATTEMPT}},
    [GORO_MSG_CLAIM] = {"CLAIM", {F_JOB_ID, F_ATTEMPT}},
    /* journal records */
    [GORO_MSG_J_SUBMIT] = {"J_SUBMIT",
                           {F_JOB_ID, F_NAME, F_DATA, F_WG, F_CHAN, F_KEY,
                            F_TIMEOUT, F_MAX_ATTEMPTS}},
    [GORO_MSG_J_START] = {"J_START", {F_JOB_ID, F_ATTEMPT}},
    [GORO_MSG_J_REQUEUE] = {"J_REQUEUE", {F_JOB_ID}},
    [GORO_MSG_J_END] = {"J_END",
                        {F_JOB_ID, F_STATE, F_STATUS, F_RUNTIME, F_ENDED_AT,
                         F_DATA, F_TEXT}},
    [GORO_MSG_J_RETRY] = {"J_RETRY", {F_JOB_ID}},
    [GORO_MSG_J_REMOVE] = {"J_REMOVE", {F_JOB_ID}},
    [GORO_MSG_J_JOB_FLAGS] = {"J_JOB_FLAGS",
                              {F_JOB_ID, F_ATTEMPT, F_ATTEMPT_BASE, F_FLAGS}},
    [GORO_MSG_J_CHAN_MAKE] = {"J_CHAN_MAKE", {F_NAME, F_CAPACITY}},
    [GORO_MSG_J_CHAN_PUSH] = {"J_CHAN_PUSH", {F_NAME, F_VALUE_SEQ, F_DATA}},
    [GORO_MSG_J_CHAN_POP] = {"J_CHAN_POP", {F_NAME, F_VALUE_SEQ}},
    [GORO_MSG_J_CHAN_CLOSE] = {"J_CHAN_CLOSE", {F_NAME}},
    [GORO_MSG_J_WG_SET] = {"J_WG_SET",
                           {F_NAME, F_COUNTER, F_ADDED, F_DONE, F_SUCCEEDED,
                            F_FAILED}},
    [GORO_MSG_J_NEXT_ID] = {"J_NEXT_ID", {F_JOB_ID}},
    [GORO_MSG_J_COMMIT] = {"J_COMMIT", {F_END}},
    [GORO_MSG_CHAN_SEND_MANY] = {"CHAN_SEND_MANY",
                                 {F_NAME, F_VALUES, F_TIMEOUT}},
    [GORO_MSG_CHAN_RECV_MANY] = {"CHAN_RECV_MANY",
                                 {F_NAME, F_RECV_MAX, F_TIMEOUT}},
    [GORO_MSG_VALUES] = {"VALUES", {F_FLAGS, F_DELIVERY_ID, F_VALUES}},
    [GORO_MSG_SENT] = {"SENT", {F_CODE, F_SENT_COUNT}},
    [GORO_MSG_LEASE] = {"LEASE", {F_LEASE_COUNT}},
    [GORO_MSG_LEASED] = {"LEASED", {F_JOB_ID, F_LEASE_COUNT, F_RUN_ID}},
    [GORO_MSG_SUBMIT_LEASED] = {"SUBMIT_LEASED",
                                {F_JOB_ID, F_RUN_ID, F_NAME, F_DATA, F_WG,
                                 F_CHAN, F_TIMEOUT, F_MAX_ATTEMPTS}},
    [GORO_MSG_CHAN_PUT] = {"CHAN_PUT", {F_NAME, F_FLAGS, F_DATA, F_TIMEOUT}},
    [GORO_MSG_ROOM] = {"ROOM", {F_ROOM}},
    [GORO_MSG_CHAN_RECV_AHEAD] = {"CHAN_RECV_AHEAD",
                                  {F_NAME, F_RECV_MAX, F_TIMEOUT}},
    [GORO_MSG_CHAN_TAKEN] = {"CHAN_TAKEN",
                             {F_DELIVERY_ID, F_TAKEN_COUNT, F_FLAGS}},
};

static const schema_t *
s_schema_of(int cmd)
{
    if (cmd <= 0 || cmd >= GORO_MSG_CMD_MAX || !s_schema[cmd].name)
        return NULL;
    return &s_schema[cmd];
}

const char *
goro_msg_cmd_name(int cmd)
{
    const schema_t *schema = s_schema_of(cmd);
    return schema ? schema->name : "?";
}

goro_msg_t *
goro_msg_new(int cmd)
{
    goro_msg_t *self = util_zalloc(sizeof *self);
    self->cmd = (uint8_t) cmd;
    return self;
}

void
goro_msg_destroy(goro_msg_t **self_p)
{
    if (self_p && *self_p) {
        goro_msg_t *self = *self_p;
        free(self->name);
        free(self->wg);
        free(self->chan);
        free(self->key);
        free(self->data);
        free(self->text);
        for (size_t i = 0; i < self->nstrs; i++)
            free(self->strs[i]);
        free(self->strs);
        for (size_t i = 0; i < self->ncases; i++) {
            free(self->cases[i].chan);
            free(self->cases[i].data);
        }
        free(self->cases);
        for (size_t i = 0; i < self->nvalues; i++)
            free(self->values[i].data);
        free(self->values);
        free(self);
        *self_p = NULL;
    }
}

void
goro_msg_set_str(char **field, const char *value)
{
    free(*field);
    *field = util_strdup(value);
}

void
goro_msg_set_name(goro_msg_t *self, const char *name)
{
    goro_msg_set_str(&self->name, name);
}

void
goro_msg_set_data(goro_msg_t *self, const void *data, size_t size)
{
    free(self->data);
    self->data = data ? util_memdup(data, size) : NULL;
    self->size = self->data ? size : 0;
}

void
goro_msg_take_data(goro_msg_t *self, uint8_t **data_p, size_t size)
{
    free(self->data);
    self->data = *data_p;
    self->size = self->data ? size : 0;
    *data_p = NULL;
}

void
goro_msg_set_text(goro_msg_t *self, const void *text, size_t size)
{
    free(self->text);
    self->text = text ? util_memdup(text, size) : NULL;
    self->text_size = self->text ? size : 0;
}

/* Where each numeric field lives in the struct, so encode and decode
   share one mapping. */
static void *
s_number_slot(goro_msg_t *self, field_t field)
{
    switch (field) {
        case F_JOB_ID: return &self->job_id;
        case F_DELIVERY_ID: return &self->delivery_id;
        case F_RUN_ID: return &self->run_id;
        case F_VALUE_SEQ: return &self->value_seq;
        case F_CODE: return &self->code;
        case F_STATE: return &self->state;
        case F_WHAT: return &self->what;
        case F_FLAGS: return &self->flags;
        case F_ATTEMPT: return &self->attempt;
        case F_MAX_ATTEMPTS: return &self->max_attempts;
        case F_INDEX: return &self->index;
        case F_PID: return &self->pid;
        case F_WORKER_CAPACITY: return &self->worker_capacity;
        case F_RECV_MAX: return &self->recv_max;
        case F_SENT_COUNT: return &self->sent_count;
        case F_LEASE_COUNT: return &self->lease_count;
        case F_TAKEN_COUNT: return &self->taken_count;
        case F_STATUS: return &self->status;
        case F_TIMEOUT: return &self->timeout;
        case F_SUBMIT_WAIT: return &self->submit_wait;
        case F_CAPACITY: return &self->capacity;
        case F_ROOM: return &self->room;
        case F_DELTA: return &self->delta;
        case F_HB_INTERVAL: return &self->hb_interval;
        case F_HB_LIVENESS: return &self->hb_liveness;
        case F_ENDED_AT: return &self->ended_at;
        case F_ATTEMPT_BASE: return &self->attempt_base;
        case F_RUNTIME: return &self->runtime;
        case F_COUNTER: return &self->counter;
        case F_ADDED: return &self->added;
        case F_DONE: return &self->done;
        case F_SUCCEEDED: return &self->succeeded;
        case F_FAILED: return &self->failed;
        default: return NULL;
    }
}

static char **
s_str_slot(goro_msg_t *self, field_t field)
{
    switch (field) {
        case F_NAME: return &self->name;
        case F_WG: return &self->wg;
        case F_CHAN: return &self->chan;
        case F_KEY: return &self->key;
        default: return NULL;
    }
}

/* ---- encoding ---------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t size, used;
} writer_t;

static void
s_put(writer_t *w, const void *data, size_t size)
{
    if (w->used + size > w->size) {
        size_t want = w->size ? w->size * 2 : 256;
        while (want < w->used + size)
            want *= 2;
        w->buf = util_realloc(w->buf, want);
        w->size = want;
    }
    if (size)
        memcpy(w->buf + w->used, data, size);
    w->used += size;
}

static void
s_put_uint(writer_t *w, uint64_t value, int bytes)
{
    uint8_t out[8];
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (uint8_t) value;
        value >>= 8;
    }
    s_put(w, out, (size_t) bytes);
}

static int
s_put_str(writer_t *w, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len > GORO_MSG_STR_MAX)
        return GORO_EINVAL;
    s_put_uint(w, len, 1);
    s_put(w, text, len);
    return GORO_OK;
}

static int
s_put_longstr(writer_t *w, const void *data, size_t size)
{
    if (size > UINT32_MAX)
        return GORO_ETOOBIG;
    s_put_uint(w, size, 4);
    s_put(w, data, size);
    return GORO_OK;
}

static int
s_encode_field(writer_t *w, const goro_msg_t *self, field_t field)
{
    /* The slot helpers only compute addresses; nothing is written. */
    goro_msg_t *msg = (goro_msg_t *) self;
    void *slot = s_number_slot(msg, field);
    switch (s_field_type[field]) {
        case T_U8: s_put_uint(w, *(uint8_t *) slot, 1); return GORO_OK;
        case T_U32: s_put_uint(w, *(uint32_t *) slot, 4); return GORO_OK;
        case T_U64: s_put_uint(w, *(uint64_t *) slot, 8); return GORO_OK;
        case T_I64:
            s_put_uint(w, (uint64_t) * (int64_t *) slot, 8);
            return GORO_OK;
        case T_STR: return s_put_str(w, *s_str_slot(msg, field));
        case T_LONGSTR:
            return field == F_DATA
                       ? s_put_longstr(w, self->data, self->size)
                       : s_put_longstr(w, self->text, self->text_size);
        case T_STRS:
            if (self->nstrs > GORO_MSG_LIST_MAX)
                return GORO_EINVAL;
            s_put_uint(w, self->nstrs, 4);
            for (size_t i = 0; i < self->nstrs; i++)
                if (s_put_str(w, self->strs[i]))
                    return GORO_EINVAL;
            return GORO_OK;
        case T_CASES:
            if (self->ncases > GORO_MSG_LIST_MAX)
                return GORO_EINVAL;
            s_put_uint(w, self->ncases, 4);
            for (size_t i = 0; i < self->ncases; i++) {
                const goro_msg_case_t *c = &self->cases[i];
                s_put_uint(w, c->op, 1);
                if (s_put_str(w, c->chan)
                    || s_put_longstr(w, c->data, c->size))
                    return GORO_EINVAL;
            }
            return GORO_OK;
        case T_VALUES:
            if (self->nvalues > GORO_MSG_LIST_MAX)
                return GORO_EINVAL;
            s_put_uint(w, self->nvalues, 4);
            for (size_t i = 0; i < self->nvalues; i++)
                if (s_put_longstr(w, self->values[i].data,
                                  self->values[i].size))
                    return GORO_ETOOBIG;
            return GORO_OK;
    }
    return GORO_EINVAL;
}

int
goro_msg_encode(const goro_msg_t *self, uint8_t **buf_out, size_t *size_out)
{
    const schema_t *schema = s_schema_of(self->cmd);
    if (!schema)
        return GORO_EINVAL;
    writer_t w = {NULL, 0, 0};
    s_put_uint(&w, GORO_MSG_SIGNATURE, 2);
    s_put_uint(&w, GORO_MSG_VERSION, 1);
    s_put_uint(&w, self->cmd, 1);
    s_put_uint(&w, self->reqid, 8);
    for (int i = 0; i < FIELDS_MAX && schema->fields[i] != F_END; i++) {
        int rc = s_encode_field(&w, self, schema->fields[i]);
        if (rc) {
            free(w.buf);
            return rc;
        }
    }
    *buf_out = w.buf;
    *size_out = w.used;
    return GORO_OK;
}

/* ---- decoding ---------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t size, pos;
    size_t max_value;
    int error; /* first error met; reads then fail */
} reader_t;

static bool
s_need(reader_t *r, size_t size)
{
    if (r->error)
        return false;
    if (r->size - r->pos < size) {
        r->error = GORO_EPROTO;
        return false;
    }
    return true;
}

static uint64_t
s_get_uint(reader_t *r, int bytes)
{
    if (!s_need(r, (size_t) bytes))
        return 0;
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++)
        value = (value << 8) | r->buf[r->pos++];
    return value;
}

/* A string must not hold a NUL: the receiver treats it as a C string. */
static char *
s_get_str(reader_t *r)
{
    size_t len = (size_t) s_get_uint(r, 1);
    if (!s_need(r, len))
        return NULL;
    if (memchr(r->buf + r->pos, 0, len)) {
        r->error = GORO_EPROTO;
        return NULL;
    }
    char *text = util_memdup(r->buf + r->pos, len);
    r->pos += len;
    return text;
}

static uint8_t *
s_get_longstr(reader_t *r, size_t *size_out)
{
    size_t len = (size_t) s_get_uint(r, 4);
    if (r->error)
        return NULL;
    if (r->max_value && len > r->max_value) {
        r->error = GORO_ETOOBIG;
        return NULL;
    }
    if (!s_need(r, len))
        return NULL;
    *size_out = len;
    uint8_t *data = util_memdup(r->buf + r->pos, len);
    r->pos += len;
    return data;
}

/* A count is checked against both the limit and the bytes left, so a
   declared size can never make us allocate more than the frame holds. */
static size_t
s_get_count(reader_t *r, size_t min_entry)
{
    size_t count = (size_t) s_get_uint(r, 4);
    if (r->error)
        return 0;
    if (count > GORO_MSG_LIST_MAX || count * min_entry > r->size - r->pos) {
        r->error = GORO_EPROTO;
        return 0;
    }
    return count;
}

static void
s_decode_field(reader_t *r, goro_msg_t *self, field_t field)
{
    void *slot = s_number_slot(self, field);
    switch (s_field_type[field]) {
        case T_U8: *(uint8_t *) slot = (uint8_t) s_get_uint(r, 1); break;
        case T_U32: *(uint32_t *) slot = (uint32_t) s_get_uint(r, 4); break;
        case T_U64: *(uint64_t *) slot = s_get_uint(r, 8); break;
        case T_I64: *(int64_t *) slot = (int64_t) s_get_uint(r, 8); break;
        case T_STR: *s_str_slot(self, field) = s_get_str(r); break;
        case T_LONGSTR:
            if (field == F_DATA)
                self->data = s_get_longstr(r, &self->size);
            else
                self->text = (char *) s_get_longstr(r, &self->text_size);
            break;
        case T_STRS: {
            size_t count = s_get_count(r, 1);
            self->strs = util_zalloc(sizeof(char *) * (count ? count : 1));
            for (size_t i = 0; i < count && !r->error; i++) {
                self->strs[i] = s_get_str(r);
                self->nstrs = i + 1;
            }
            break;
        }
        case T_CASES: {
            size_t count = s_get_count(r, 6);
            self->cases = util_zalloc(
                sizeof *self->cases * (count ? count : 1));
            for (size_t i = 0; i < count && !r->error; i++) {
                goro_msg_case_t *c = &self->cases[i];
                self->ncases = i + 1;
                c->op = (uint8_t) s_get_uint(r, 1);
                c->chan = s_get_str(r);
                c->data = s_get_longstr(r, &c->size);
            }
            break;
        }
        case T_VALUES: {
            /* MAX_VALUE bounds the batch as a whole, as it bounds one
               value: a batch is never bigger than a value could be. */
            size_t count = s_get_count(r, 4), total = 0;
            self->values = util_zalloc(
                sizeof *self->values * (count ? count : 1));
            for (size_t i = 0; i < count && !r->error; i++) {
                goro_msg_value_t *v = &self->values[i];
                self->nvalues = i + 1;
                v->data = s_get_longstr(r, &v->size);
                total += v->size;
                if (r->max_value && total > r->max_value)
                    r->error = GORO_ETOOBIG;
            }
            break;
        }
    }
}

int
goro_msg_decode(const uint8_t *buf, size_t size, size_t max_value,
                goro_msg_t **msg_out)
{
    *msg_out = NULL;
    reader_t r = {buf, size, 0, max_value, 0};
    uint64_t signature = s_get_uint(&r, 2);
    uint64_t version = s_get_uint(&r, 1);
    uint64_t cmd = s_get_uint(&r, 1);
    uint64_t reqid = s_get_uint(&r, 8);
    if (r.error || signature != GORO_MSG_SIGNATURE)
        return GORO_EPROTO;
    goro_msg_t *self = goro_msg_new((int) cmd);
    self->reqid = reqid;
    const schema_t *schema = s_schema_of((int) cmd);
    if (version != GORO_MSG_VERSION || !schema)
        r.error = GORO_EPROTO;
    for (int i = 0;
         schema && i < FIELDS_MAX && schema->fields[i] != F_END && !r.error;
         i++)
        s_decode_field(&r, self, schema->fields[i]);
    if (!r.error && r.pos != r.size)
        r.error = GORO_EPROTO; /* trailing bytes */
    if (r.error) {
        /* Keep only what an ERROR reply needs. */
        goro_msg_t *stub = goro_msg_new(self->cmd);
        stub->reqid = reqid;
        goro_msg_destroy(&self);
        *msg_out = stub;
        return r.error;
    }
    *msg_out = self;
    return GORO_OK;
}

/* ---- sockets ----------------------------------------------------- */

size_t
goro_rid_hash(const void *key)
{
    const goro_rid_t *rid = key;
    size_t hash = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < rid->size; i++)
        hash = (hash ^ rid->data[i]) * 1099511628211ULL;
    return hash;
}

int
goro_rid_compare(const void *a, const void *b)
{
    const goro_rid_t *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return memcmp(x->data, y->data, x->size);
}

static void
s_free_buf(void *data, void *hint)
{
    (void) hint;
    free(data);
}

int
goro_msg_send_encoded(void *socket, const goro_rid_t *rid, uint8_t **buf_p,
                      size_t size)
{
    uint8_t *buf = *buf_p;
    *buf_p = NULL;
    if (rid
        && zmq_send(socket, rid->data, rid->size, ZMQ_SNDMORE | ZMQ_DONTWAIT)
               == -1) {
        free(buf);
        return GORO_EUNAVAILABLE;
    }
    zmq_msg_t frame;
    zmq_msg_init_data(&frame, buf, size, s_free_buf, NULL);
    if (zmq_msg_send(&frame, socket, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close(&frame);
        return GORO_EUNAVAILABLE;
    }
    return GORO_OK;
}

int
goro_msg_send(const goro_msg_t *self, void *socket, const goro_rid_t *rid)
{
    uint8_t *buf;
    size_t size;
    int rc = goro_msg_encode(self, &buf, &size);
    if (rc)
        return rc;
    return goro_msg_send_encoded(socket, rid, &buf, size);
}

static void
s_drain(void *socket, zmq_msg_t *frame)
{
    while (zmq_msg_more(frame)) {
        zmq_msg_close(frame);
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, socket, ZMQ_DONTWAIT) == -1)
            break;
    }
}

static int
s_recv(void *socket, int flags, size_t max_value, goro_msg_t **msg_out,
       goro_rid_t *rid)
{
    *msg_out = NULL;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, socket, flags) == -1) {
        zmq_msg_close(&frame);
        return GORO_EUNAVAILABLE;
    }
    if (rid) {
        size_t len = zmq_msg_size(&frame);
        rid->size = (uint8_t) (len > GORO_MSG_RID_MAX ? GORO_MSG_RID_MAX
                                                      : len);
        memcpy(rid->data, zmq_msg_data(&frame), rid->size);
        if (!zmq_msg_more(&frame)) {
            zmq_msg_close(&frame);
            return GORO_EPROTO;
        }
        zmq_msg_close(&frame);
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, socket, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close(&frame);
            return GORO_EPROTO;
        }
    }
    int rc;
    if (zmq_msg_more(&frame)) {
        /* One message is one frame; a multi-frame one is malformed. */
        rc = goro_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame),
                             max_value, msg_out);
        if (rc == GORO_OK) {
            goro_msg_t *stub = goro_msg_new((*msg_out)->cmd);
            stub->reqid = (*msg_out)->reqid;
            goro_msg_destroy(msg_out);
            *msg_out = stub;
        }
        rc = GORO_EPROTO;
        s_drain(socket, &frame);
    }
    else
        rc = goro_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame),
                             max_value, msg_out);
    zmq_msg_close(&frame);
    return rc;
}

int
goro_msg_recv(void *socket, size_t max_value, goro_msg_t **msg_out,
              goro_rid_t *rid)
{
    return s_recv(socket, ZMQ_DONTWAIT, max_value, msg_out, rid);
}

int
goro_msg_recv_wait(void *socket, int64_t timeout_ms, size_t max_value,
                   goro_msg_t **msg_out)
{
    int timeout = timeout_ms < 0         ? -1
                  : timeout_ms > INT_MAX ? INT_MAX
                                         : (int) timeout_ms;
    if (zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout)) {
        *msg_out = NULL;
        return GORO_EUNAVAILABLE;
    }
    return s_recv(socket, 0, max_value, msg_out, NULL);
}
