/*  test_util - util's duration parser against Go's own table for
    time.ParseDuration (src/time/time_test.go: parseDurationTests and
    parseDurationErrorTests), then goro's rule on top of it: whole
    milliseconds, rounded half up, nothing negative, nothing above 0 and
    under 1 ms; and goro_duration_parse, the public face, with its "-1".
    Then util_size, the parser of config sizes: its suffixes, what
    it refuses, and sizes that do not fit 64 bits.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "goro_defs.h"
#include "util.h"

#define T_NS INT64_C(1)
#define T_US (1000 * T_NS)
#define T_MS (1000 * T_US)
#define T_S (1000 * T_MS)
#define T_MIN (60 * T_S)
#define T_H (60 * T_MIN)

typedef int (*s_parse_t)(const char *text, int64_t *out);

/* PARSE takes TEXT as WANT. */
static void
s_takes(s_parse_t parse, const char *text, int64_t want)
{
    int64_t got = 12345;
    if (parse(text, &got) != GORO_OK)
        fail_msg("\"%s\": refused, want %lld", text, (long long) want);
    if (got != want)
        fail_msg("\"%s\": %lld, want %lld", text, (long long) got,
                 (long long) want);
}

/* PARSE refuses TEXT and leaves its output alone. */
static void
s_refuses(s_parse_t parse, const char *text)
{
    int64_t got = 12345;
    if (parse(text, &got) == GORO_OK)
        fail_msg("\"%s\": took it as %lld", text, (long long) got);
    assert_int_equal(got, 12345);
}

/* Go's ParseDuration, in nanoseconds; goro's, in milliseconds. */
#define S_NS_GOOD(text, want) s_takes(util_duration_ns, (text), (want))
#define S_NS_BAD(text) s_refuses(util_duration_ns, (text))
#define S_MS_GOOD(text, want) s_takes(util_duration, (text), (want))
#define S_MS_BAD(text) s_refuses(util_duration, (text))

static void
test_go_accepts(void **state)
{
    (void) state;
    /* simple */
    S_NS_GOOD("0", 0);
    S_NS_GOOD("5s", 5 * T_S);
    S_NS_GOOD("30s", 30 * T_S);
    S_NS_GOOD("1478s", 1478 * T_S);
    /* sign */
    S_NS_GOOD("-5s", -5 * T_S);
    S_NS_GOOD("+5s", 5 * T_S);
    S_NS_GOOD("-0", 0);
    S_NS_GOOD("+0", 0);
    /* decimal */
    S_NS_GOOD("5.0s", 5 * T_S);
    S_NS_GOOD("5.6s", 5 * T_S + 600 * T_MS);
    S_NS_GOOD("5.s", 5 * T_S);
    S_NS_GOOD(".5s", 500 * T_MS);
    S_NS_GOOD("1.0s", 1 * T_S);
    S_NS_GOOD("1.00s", 1 * T_S);
    S_NS_GOOD("1.004s", 1 * T_S + 4 * T_MS);
    S_NS_GOOD("1.0040s", 1 * T_S + 4 * T_MS);
    S_NS_GOOD("100.00100s", 100 * T_S + 1 * T_MS);
    /* different units */
    S_NS_GOOD("10ns", 10 * T_NS);
    S_NS_GOOD("11us", 11 * T_US);
    S_NS_GOOD("12\xc2\xb5s", 12 * T_US); /* U+00B5 */
    S_NS_GOOD("12\xce\xbcs", 12 * T_US); /* U+03BC */
    S_NS_GOOD("13ms", 13 * T_MS);
    S_NS_GOOD("14s", 14 * T_S);
    S_NS_GOOD("15m", 15 * T_MIN);
    S_NS_GOOD("16h", 16 * T_H);
    /* composite durations */
    S_NS_GOOD("3h30m", 3 * T_H + 30 * T_MIN);
    S_NS_GOOD("10.5s4m", 4 * T_MIN + 10 * T_S + 500 * T_MS);
    S_NS_GOOD("-2m3.4s", -(2 * T_MIN + 3 * T_S + 400 * T_MS));
    S_NS_GOOD("1h2m3s4ms5us6ns",
              1 * T_H + 2 * T_MIN + 3 * T_S + 4 * T_MS + 5 * T_US + 6 * T_NS);
    S_NS_GOOD("39h9m14.425s", 39 * T_H + 9 * T_MIN + 14 * T_S + 425 * T_MS);
    /* large value */
    S_NS_GOOD("52763797000ns", 52763797000 * T_NS);
    /* more than 9 digits after the point */
    S_NS_GOOD("0.3333333333333333333h", 20 * T_MIN);
    /* 1<<53+1 cannot be stored precisely in a double */
    S_NS_GOOD("9007199254740993ns", (INT64_C(1) << 53) + 1);
    /* the largest and smallest int64 in nanoseconds */
    S_NS_GOOD("9223372036854775807ns", INT64_MAX);
    S_NS_GOOD("9223372036854775.807us", INT64_MAX);
    S_NS_GOOD("9223372036s854ms775us807ns", INT64_MAX);
    S_NS_GOOD("-9223372036854775808ns", INT64_MIN);
    S_NS_GOOD("-9223372036854775.808us", INT64_MIN);
    S_NS_GOOD("-9223372036s854ms775us808ns", INT64_MIN);
    S_NS_GOOD("-2562047h47m16.854775808s", INT64_MIN);
    /* a huge string; the first overflow check in leadingFraction */
    S_NS_GOOD("0.100000000000000000000h", 6 * T_MIN);
    S_NS_GOOD("0.830103483285477580700h",
              49 * T_MIN + 48 * T_S + 372539827 * T_NS);
    /* the examples */
    S_NS_GOOD("300ms", 300 * T_MS);
    S_NS_GOOD("1.5h", 90 * T_MIN);
    S_NS_GOOD("2h45m", 2 * T_H + 45 * T_MIN);
    S_NS_GOOD("1.s", 1 * T_S);
    S_NS_GOOD("1ms1s", 1 * T_S + 1 * T_MS); /* any order, as in Go */
}

static void
test_go_refuses(void **state)
{
    (void) state;
    /* Go's error table */
    S_NS_BAD("");
    S_NS_BAD("3");
    S_NS_BAD("-");
    S_NS_BAD("s");
    S_NS_BAD(".");
    S_NS_BAD("-.");
    S_NS_BAD(".s");
    S_NS_BAD("+.s");
    S_NS_BAD("1d");
    S_NS_BAD("\x85\x85");
    S_NS_BAD("\xff"
             "ff");
    S_NS_BAD("hello \xff"
             "ff world");
    S_NS_BAD("\xef\xbf\xbd");
    S_NS_BAD("\xef\xbf\xbd hello \xef\xbf\xbd world");
    /* overflow */
    S_NS_BAD("9223372036854775810ns");
    S_NS_BAD("9223372036854775808ns");
    S_NS_BAD("-9223372036854775809ns");
    S_NS_BAD("9223372036854776us");
    S_NS_BAD("3000000h");
    S_NS_BAD("9223372036854775.808us");
    S_NS_BAD("9223372036854ms775us808ns");
    /* what a C parser would take and Go does not */
    S_NS_BAD("1e3ms");
    S_NS_BAD("0x1fs");
    S_NS_BAD("1.s5");
    S_NS_BAD("00");
    S_NS_BAD(" 1s");
    S_NS_BAD("1s ");
    S_NS_BAD("1 s");
    S_NS_BAD("1S");
    S_NS_BAD("1sec");
    S_NS_BAD("1..5s");
    S_NS_BAD("--1s");
    S_NS_BAD("inf");
    S_NS_BAD("nan");
    S_NS_BAD("1_000ms");
    assert_int_equal(util_duration_ns(NULL, &(int64_t){0}), GORO_EINVAL);
}

static void
test_whole_milliseconds(void **state)
{
    (void) state;
    S_MS_GOOD("0", 0);
    S_MS_GOOD("0s", 0);
    S_MS_GOOD("-0", 0);
    S_MS_GOOD("1ms", 1);
    S_MS_GOOD("1000us", 1);
    S_MS_GOOD("1.4ms", 1);
    S_MS_GOOD("1.5ms", 2); /* half rounds up */
    S_MS_GOOD("1499999ns", 1);
    S_MS_GOOD("1500000ns", 2);
    S_MS_GOOD("1.5s", 1500);
    S_MS_GOOD("2m", 120000);
    S_MS_GOOD("1h30m", 5400000);
    S_MS_GOOD("9223372036854775807ns", 9223372036855);
    /* Above 0 but under 1 ms would round to 0, which means "no limit"
       or "try once": refused rather than silently changed. */
    S_MS_BAD("500us");
    S_MS_BAD("999999ns");
    S_MS_BAD("1ns");
    S_MS_BAD(".0001s");
    /* Negative durations: the contract spells "forever" as -1. */
    S_MS_BAD("-1s");
    S_MS_BAD("-1ms");
    S_MS_BAD("-1");
    S_MS_BAD("1e3ms");
}

static void
test_public_parse(void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_int_equal(goro_duration_parse("-1", &ms), GORO_OK);
    assert_int_equal(ms, -1);
    assert_int_equal(goro_duration_parse("300ms", &ms), GORO_OK);
    assert_int_equal(ms, 300);
    assert_int_equal(goro_duration_parse(".5s", &ms), GORO_OK);
    assert_int_equal(ms, 500);
    assert_int_equal(goro_duration_parse("0", &ms), GORO_OK);
    assert_int_equal(ms, 0);
    ms = 7;
    assert_int_equal(goro_duration_parse("500us", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse("-2", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse("-1s", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse("1e3ms", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse("0x1fs", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse("1.s5", &ms), GORO_EINVAL);
    assert_int_equal(goro_duration_parse(NULL, &ms), GORO_EINVAL);
    assert_int_equal(ms, 7);
}

/* goro_size_parse (goro-worker's; gorod's config calls util_size behind
   it) takes TEXT as WANT bytes. */
static void
s_size_takes(const char *text, uint64_t want)
{
    uint64_t got = 12345;
    if (goro_size_parse(text, &got) != GORO_OK)
        fail_msg("\"%s\": refused, want %llu", text,
                 (unsigned long long) want);
    if (got != want)
        fail_msg("\"%s\": %llu, want %llu", text, (unsigned long long) got,
                 (unsigned long long) want);
}

/* goro_size_parse refuses TEXT and leaves its output alone. */
static void
s_size_refuses(const char *text)
{
    uint64_t got = 12345;
    if (goro_size_parse(text, &got) == GORO_OK)
        fail_msg("\"%s\": took it as %llu", text, (unsigned long long) got);
    assert_int_equal(got, 12345);
}

static void
test_size_suffixes(void **state)
{
    (void) state;
    s_size_takes("0", 0);
    s_size_takes("1024", 1024);
    s_size_takes("4096B", 4096);
    s_size_takes("64KiB", 64 * 1024);
    s_size_takes("1MiB", 1024 * 1024);
    s_size_takes("1GiB", UINT64_C(1) << 30);
    s_size_takes("3KB", 3000);
    s_size_takes("1MB", 1000000);
    s_size_takes("2GB", UINT64_C(2000000000));
    /* the short forms are the binary ones */
    s_size_takes("8K", 8 * 1024);
    s_size_takes("1M", 1024 * 1024);
    s_size_takes("1G", UINT64_C(1) << 30);
    s_size_takes("007KiB", 7 * 1024);
}

static void
test_size_refuses(void **state)
{
    (void) state;
    s_size_refuses("");
    s_size_refuses("KiB");
    s_size_refuses("-1");
    s_size_refuses("+1");
    s_size_refuses(" 1");
    s_size_refuses("1 KiB");
    s_size_refuses("1KiB ");
    s_size_refuses("1kib");
    s_size_refuses("1kb");
    s_size_refuses("1.5MiB");
    s_size_refuses("1e3");
    s_size_refuses("0x10");
    s_size_refuses("1TiB");
    s_size_refuses("1KiBKiB");
    assert_int_equal(util_size(NULL, &(uint64_t){0}), GORO_EINVAL);
}

/* A size must fit 64 bits, with its suffix and without. */
static void
test_size_overflow(void **state)
{
    (void) state;
    s_size_takes("18446744073709551615", UINT64_MAX);
    s_size_refuses("18446744073709551616");
    s_size_refuses("99999999999999999999999");
    s_size_refuses("18446744073709551616B");
    s_size_takes("17179869183GiB", UINT64_MAX - (UINT64_C(1) << 30) + 1);
    s_size_refuses("17179869184GiB");
    s_size_takes("18446744073GB", UINT64_C(18446744073000000000));
    s_size_refuses("18446744074GB");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_accepts),
        cmocka_unit_test(test_go_refuses),
        cmocka_unit_test(test_whole_milliseconds),
        cmocka_unit_test(test_public_parse),
        cmocka_unit_test(test_size_suffixes),
        cmocka_unit_test(test_size_refuses),
        cmocka_unit_test(test_size_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
