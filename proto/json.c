/*  json - a JSON document built in a growing buffer.

    Strings are where bytes meet the format: RFC 8259 wants '"', '\\' and
    U+0000..U+001F escaped, and text that is UTF-8. DEL is escaped too, so
    a listing shown on a terminal cannot carry a control character. Bytes
    that are not UTF-8 cannot be escaped in JSON (\u00XX would name
    another character), so each maximal subpart of an ill-formed sequence
    becomes one U+FFFD: Unicode's recommended practice (3.9, U+FFFD
    substitution), which is what WHATWG decoders and Python's
    errors="replace" do, so a reader sees the same number of them.

    Not a parser, and no pretty printing: one document on one line.
*/
#include "json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json {
    char *buf;
    size_t size, used;  /* used excludes the NUL kept after it */
    int depth;          /* open containers */
    uint32_t has_items; /* bit D: the container at depth D has a
                           value, so the next one needs a comma */
    bool after_key;     /* a key was written: no comma before its
                           value */
};

#define S_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */
#define S_SIZE_FIRST 256             /* a job's row; listings double from it */

/* OOM aborts, as util_realloc does (STYLE.md 3), without libgoro. */
static void
s_oom(size_t size)
{
    fprintf(stderr, "goro: out of memory allocating %zu bytes\n", size);
    abort();
}

static void
s_append(json_t *self, const char *data, size_t len)
{
    if (self->used + len + 1 > self->size) {
        size_t size = self->size * 2;
        while (size < self->used + len + 1)
            size *= 2;
        char *buf = realloc(self->buf, size);
        if (!buf)
            s_oom(size);
        self->buf = buf;
        self->size = size;
    }
    memcpy(self->buf + self->used, data, len);
    self->used += len;
    self->buf[self->used] = '\0';
}

/* Before every value and key: the comma its container needs. */
static void
s_separate(json_t *self)
{
    if (self->after_key) {
        self->after_key = false;
        return;
    }
    uint32_t bit = UINT32_C(1) << self->depth;
    if (self->has_items & bit)
        s_append(self, ",", 1);
    self->has_items |= bit;
}

json_t *
json_new(void)
{
    json_t *self = calloc(1, sizeof *self);
    if (!self)
        s_oom(sizeof *self);
    self->size = S_SIZE_FIRST;
    self->buf = malloc(self->size);
    if (!self->buf)
        s_oom(self->size);
    self->buf[0] = '\0';
    return self;
}

void
json_destroy(json_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->buf);
        free(*self_p);
        *self_p = NULL;
    }
}

static void
s_open(json_t *self, const char *bracket)
{
    s_separate(self);
    assert(self->depth + 1 < JSON_DEPTH_MAX);
    self->depth++;
    self->has_items &= ~(UINT32_C(1) << self->depth);
    s_append(self, bracket, 1);
}

static void
s_close(json_t *self, const char *bracket)
{
    assert(self->depth > 0 && !self->after_key);
    self->depth--;
    s_append(self, bracket, 1);
}

void
json_object_open(json_t *self)
{
    s_open(self, "{");
}

void
json_object_close(json_t *self)
{
    s_close(self, "}");
}

void
json_array_open(json_t *self)
{
    s_open(self, "[");
}

void
json_array_close(json_t *self)
{
    s_close(self, "]");
}

/* The length of the well-formed UTF-8 sequence at P (at most LEN bytes
   there), or 0 if it is ill-formed, with *BAD_OUT the length of its
   maximal subpart: the bytes that one U+FFFD replaces. Table 3-7 of the
   Unicode standard: no overlongs, no surrogates, nothing above
   U+10FFFF. */
static size_t
s_utf8_len(const unsigned char *p, size_t len, size_t *bad_out)
{
    unsigned char lead = p[0];
    size_t need;
    unsigned char low = 0x80, high = 0xBF; /* range of the 2nd byte */
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        need = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        if (lead == 0xE0)
            low = 0xA0; /* no overlongs */
        if (lead == 0xED)
            high = 0x9F; /* no surrogates */
    }
    else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        if (lead == 0xF0)
            low = 0x90; /* no overlongs */
        if (lead == 0xF4)
            high = 0x8F; /* nothing past U+10FFFF */
    }
    else {
        *bad_out = 1; /* 80..C1, F5..FF */
        return 0;
    }
    size_t got = 1;
    while (got < need && got < len) {
        unsigned char c = p[got];
        if (c < (got == 1 ? low : 0x80) || c > (got == 1 ? high : 0xBF))
            break;
        got++;
    }
    if (got == need)
        return need;
    *bad_out = got;
    return 0;
}

void
json_bytes(json_t *self, const void *data, size_t len)
{
    s_separate(self);
    s_append(self, "\"", 1);
    const unsigned char *p = data;
    const unsigned char *end = p + len;
    while (p < end) {
        /* The run that needs no escape goes in one piece. */
        const unsigned char *run = p;
        size_t seq = 0, bad = 0;
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7F
               && (seq = s_utf8_len(p, (size_t) (end - p), &bad)) > 0)
            p += seq;
        s_append(self, (const char *) run, (size_t) (p - run));
        if (p == end)
            break;
        if (*p == '"' || *p == '\\') {
            char escape[2] = {'\\', (char) *p};
            s_append(self, escape, 2);
            p++;
        }
        else if (*p < 0x20 || *p == 0x7F) {
            char escape[8];
            snprintf(escape, sizeof escape, "\\u%04x", *p);
            s_append(self, escape, 6);
            p++;
        }
        else {
            s_append(self, S_REPLACEMENT, sizeof S_REPLACEMENT - 1);
            p += bad;
        }
    }
    s_append(self, "\"", 1);
}

void
json_str(json_t *self, const char *text)
{
    if (text)
        json_bytes(self, text, strlen(text));
    else
        json_null(self);
}

void
json_key(json_t *self, const char *key)
{
    assert(!self->after_key);
    json_str(self, key);
    s_append(self, ":", 1);
    self->after_key = true;
}

static void
s_literal(json_t *self, const char *text)
{
    s_separate(self);
    s_append(self, text, strlen(text));
}

void
json_int(json_t *self, int64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, value);
    s_literal(self, text);
}

void
json_uint(json_t *self, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, value);
    s_literal(self, text);
}

void
json_bool(json_t *self, bool value)
{
    s_literal(self, value ? "true" : "false");
}

void
json_null(json_t *self)
{
    s_literal(self, "null");
}

char *
json_finish(json_t **self_p, size_t *size_out)
{
    json_t *self = *self_p;
    assert(self->depth == 0 && !self->after_key);
    s_append(self, "\n", 1);
    char *text = self->buf;
    if (size_out)
        *size_out = self->used;
    free(self);
    *self_p = NULL;
    return text;
}
