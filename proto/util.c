/*  util - allocation, clocks, and the duration and size parsers.

    Durations follow Go's time.ParseDuration to the letter: an optional
    sign, then one or more decimal numbers (digits, a point, digits; a
    digit on at least one side of the point) each with a unit (ns us µs
    μs ms s m h), or "0" alone; at most 2^63-1 ns. Every timeout in goro
    is in whole milliseconds, so util_duration rounds to the nearest
    one (half up) and refuses what is above 0 but under 1 ms, which
    rounding would turn into 0: "no limit" or "try once".
*/
#include "util.h"
#include "goro_defs.h"

#include <ctype.h>
#include <errno.h>
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
util_zalloc(size_t size)
{
    void *ptr = calloc(1, size ? size : 1);
    if (!ptr)
        s_oom(size);
    return ptr;
}

void *
util_realloc(void *ptr, size_t size)
{
    void *grown = realloc(ptr, size ? size : 1);
    if (!grown)
        s_oom(size);
    return grown;
}

char *
util_strdup(const char *text)
{
    return text ? util_memdup(text, strlen(text) + 1) : NULL;
}

void *
util_memdup(const void *data, size_t size)
{
    void *copy = util_zalloc(size + 1); /* +1: room for a NUL */
    if (size)
        memcpy(copy, data, size);
    return copy;
}

size_t
util_u64_hash(const void *key)
{
    uint64_t x = *(const uint64_t *) key;
    x ^= x >> 33; /* murmur3's finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

int
util_u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

int64_t
util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_deadline(int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return timeout_ms < 0 ? -1 : util_now();
    /* util_now() drops the part of a millisecond already gone, so the
       present may be up to 1 ms later than it says: one more makes the
       deadline come after the whole timeout, never before, as Go's
       timers do. */
    return util_now() + timeout_ms + 1;
}

int64_t
util_remaining(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - util_now();
    return left > 0 ? left : 0;
}

/* Go's leadingInt: the digits at *P, which must fit in 2^63. */
static int
s_leading_int(const char **p, uint64_t *out)
{
    uint64_t x = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        if (x > (UINT64_C(1) << 63) / 10)
            return GORO_EINVAL;
        x = x * 10 + (uint64_t) (**p - '0');
        if (x > UINT64_C(1) << 63)
            return GORO_EINVAL;
    }
    *out = x;
    return GORO_OK;
}

/* Go's leadingFraction: the digits after a '.', as X / SCALE; digits past
   what fits are read and dropped. */
static void
s_leading_fraction(const char **p, uint64_t *x_out, double *scale_out)
{
    uint64_t x = 0;
    double scale = 1;
    int overflow = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        if (overflow)
            continue;
        if (x > INT64_MAX / 10) {
            overflow = 1;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t) (**p - '0');
        if (y > UINT64_C(1) << 63) {
            overflow = 1;
            continue;
        }
        x = y;
        scale *= 10;
    }
    *x_out = x;
    *scale_out = scale;
}

int
util_duration_ns(const char *text, int64_t *ns_out)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000},
        {"\xce\xbcs", 1000},
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    if (!text)
        return GORO_EINVAL;
    const char *p = text;
    int negative = 0;
    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ns_out = 0;
        return GORO_OK;
    }
    if (!*p)
        return GORO_EINVAL;
    uint64_t total = 0;
    while (*p) {
        if (*p != '.' && (*p < '0' || *p > '9'))
            return GORO_EINVAL;
        const char *digits = p;
        uint64_t whole, fraction = 0;
        double scale = 1;
        if (s_leading_int(&p, &whole))
            return GORO_EINVAL;
        int before = p != digits, after = 0;
        if (*p == '.') {
            const char *point = ++p;
            s_leading_fraction(&p, &fraction, &scale);
            after = p != point;
        }
        if (!before && !after)
            return GORO_EINVAL; /* ".s", "-.s" */
        /* The unit runs to the next number, as in Go: "1e3ms" has unit
           "e", which is no unit. */
        size_t len = 0;
        while (p[len] && p[len] != '.' && (p[len] < '0' || p[len] > '9'))
            len++;
        size_t i = 0;
        while (i < sizeof units / sizeof units[0]
               && (strlen(units[i].unit) != len
                   || strncmp(p, units[i].unit, len) != 0))
            i++;
        if (i == sizeof units / sizeof units[0])
            return GORO_EINVAL; /* missing or unknown unit */
        p += len;
        uint64_t unit = units[i].ns;
        if (whole > (UINT64_C(1) << 63) / unit)
            return GORO_EINVAL;
        uint64_t value = whole * unit;
        if (fraction > 0) {
            /* Go does this step in float64; so do we, to agree to the ns. */
            value += (uint64_t) ((double) fraction * ((double) unit / scale));
            if (value > UINT64_C(1) << 63)
                return GORO_EINVAL;
        }
        total += value;
        if (total > UINT64_C(1) << 63)
            return GORO_EINVAL;
    }
    if (negative) {
        *ns_out = total == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t) total;
        return GORO_OK;
    }
    if (total > INT64_MAX)
        return GORO_EINVAL;
    *ns_out = (int64_t) total;
    return GORO_OK;
}

int
util_duration(const char *text, int64_t *ms_out)
{
    int64_t ns;
    if (util_duration_ns(text, &ns) || ns < 0
        || (ns > 0 && ns < UTIL_NS_PER_MS))
        return GORO_EINVAL;
    /* Half a millisecond or more rounds up, as llround would. */
    *ms_out = ns / UTIL_NS_PER_MS
              + (ns % UTIL_NS_PER_MS >= UTIL_NS_PER_MS / 2);
    return GORO_OK;
}

int
util_size(const char *text, uint64_t *bytes_out)
{
    static const struct {
        const char *suffix;
        uint64_t scale;
    } suffixes[] = {
        {"", 1},
        {"B", 1},
        {"KiB", 1ULL << 10},
        {"MiB", 1ULL << 20},
        {"GiB", 1ULL << 30},
        {"KB", 1000},
        {"MB", 1000000},
        {"GB", 1000000000},
        {"K", 1ULL << 10},
        {"M", 1ULL << 20},
        {"G", 1ULL << 30},
    };
    if (!text || !isdigit((unsigned char) *text))
        return GORO_EINVAL;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno == ERANGE) /* saturated at ULLONG_MAX */
        return GORO_EINVAL;
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
goro_size_parse(const char *text, uint64_t *bytes_out)
{
    return util_size(text, bytes_out);
}

int
goro_duration_parse(const char *text, int64_t *ms_out)
{
    if (text && strcmp(text, "-1") == 0) { /* the contract's "forever" */
        *ms_out = -1;
        return GORO_OK;
    }
    return util_duration(text, ms_out);
}
