/*  goro_util - allocation, clocks, and the duration and size parsers.

    Durations follow Go's time.ParseDuration (a sequence of decimal numbers
    with a unit each: ns us ms s m h) rounded to whole milliseconds, since
    every timeout in goro is in milliseconds.
*/
#include "goro_util.h"
#include "goro.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
s_oom(size_t size)
{
    fprintf(stderr, "goro: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
goro_zalloc(size_t size)
{
    void *ptr = calloc(1, size ? size : 1);
    if (!ptr)
        s_oom(size);
    return ptr;
}

void *
goro_realloc(void *ptr, size_t size)
{
    void *grown = realloc(ptr, size ? size : 1);
    if (!grown)
        s_oom(size);
    return grown;
}

char *
goro_strdup(const char *text)
{
    return text ? goro_memdup(text, strlen(text) + 1) : NULL;
}

void *
goro_memdup(const void *data, size_t size)
{
    void *copy = goro_zalloc(size + 1);     /* +1: room for a NUL */
    if (size)
        memcpy(copy, data, size);
    return copy;
}

size_t
goro_u64_hash(const void *key)
{
    uint64_t x = *(const uint64_t *) key;
    x ^= x >> 33;                       /* murmur3's finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

int
goro_u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

int64_t
goro_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
goro_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
goro_deadline(int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return timeout_ms < 0 ? -1 : goro_now();
    /* goro_now() drops the part of a millisecond already gone, so the
       present may be up to 1 ms later than it says: one more makes the
       deadline come after the whole timeout, never before, as Go's
       timers do. */
    return goro_now() + timeout_ms + 1;
}

int64_t
goro_remaining(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - goro_now();
    return left > 0 ? left : 0;
}

int
goro_util_duration(const char *text, int64_t *ms_out)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {
        {"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
        {"s", 1000}, {"m", 60000}, {"h", 3600000},
    };
    if (!text || !*text)
        return GORO_EINVAL;
    if (strcmp(text, "0") == 0) {
        *ms_out = 0;
        return GORO_OK;
    }
    double total = 0;
    const char *p = text;
    while (*p) {
        if (!isdigit((unsigned char) *p) && *p != '.')
            return GORO_EINVAL;
        char *end;
        double value = strtod(p, &end);
        if (end == p)
            return GORO_EINVAL;
        p = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t len = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, len) == 0 && len > best_len) {
                best = i;
                best_len = len;
            }
        }
        if (best_len == 0)
            return GORO_EINVAL;     /* Go requires a unit on each number */
        total += value * units[best].ms;
        p += best_len;
    }
    if (!isfinite(total) || total > 9.2e15)
        return GORO_EINVAL;
    *ms_out = (int64_t) llround(total);
    return GORO_OK;
}

int
goro_util_size(const char *text, uint64_t *bytes_out)
{
    static const struct {
        const char *suffix;
        uint64_t scale;
    } suffixes[] = {
        {"", 1}, {"B", 1},
        {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
        {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
        {"K", 1ULL << 10}, {"M", 1ULL << 20}, {"G", 1ULL << 30},
    };
    if (!text || !isdigit((unsigned char) *text))
        return GORO_EINVAL;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(end, suffixes[i].suffix) == 0) {
            if (value > UINT64_MAX / suffixes[i].scale)
                return GORO_EINVAL;
            *bytes_out = value * suffixes[i].scale;
            return GORO_OK;
        }
    }
    return GORO_EINVAL;
}

int
goro_duration_parse(const char *text, int64_t *ms_out)
{
    if (text && strcmp(text, "-1") == 0) {      /* the contract's "forever" */
        *ms_out = -1;
        return GORO_OK;
    }
    return goro_util_duration(text, ms_out);
}
