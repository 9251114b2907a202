/*  test_util - goro_util's duration parser against Go's own table for
    time.ParseDuration (src/time/time_test.go: parseDurationTests and
    parseDurationErrorTests), then goro's rule on top of it: whole
    milliseconds, rounded half up, nothing negative, nothing above 0 and
    under 1 ms; and goro_duration_parse, the public face, with its "-1".
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "goro.h"
#include "goro_util.h"

#define T_NS INT64_C(1)
#define T_US (1000 * T_NS)
#define T_MS (1000 * T_US)
#define T_S (1000 * T_MS)
#define T_MIN (60 * T_S)
#define T_H (60 * T_MIN)

static void
s_ns_good(const char *text, int64_t want)
{
    int64_t ns = 12345;
    if (goro_util_duration_ns(text, &ns) != GORO_OK)
        fail_msg("\"%s\": refused, Go takes it", text);
    if (ns != want)
        fail_msg("\"%s\": %lld ns, Go says %lld", text, (long long) ns,
                 (long long) want);
}

static void
s_ns_bad(const char *text)
{
    int64_t ns = 12345;
    if (goro_util_duration_ns(text, &ns) == GORO_OK)
        fail_msg("\"%s\": took it as %lld ns, Go refuses it", text,
                 (long long) ns);
    assert_int_equal(ns, 12345);
}

static void
test_go_accepts(void **state)
{
    (void) state;
    /* simple */
    s_ns_good("0", 0);
    s_ns_good("5s", 5 * T_S);
    s_ns_good("30s", 30 * T_S);
    s_ns_good("1478s", 1478 * T_S);
    /* sign */
    s_ns_good("-5s", -5 * T_S);
    s_ns_good("+5s", 5 * T_S);
    s_ns_good("-0", 0);
    s_ns_good("+0", 0);
    /* decimal */
    s_ns_good("5.0s", 5 * T_S);
    s_ns_good("5.6s", 5 * T_S + 600 * T_MS);
    s_ns_good("5.s", 5 * T_S);
    s_ns_good(".5s", 500 * T_MS);
    s_ns_good("1.0s", 1 * T_S);
    s_ns_good("1.00s", 1 * T_S);
    s_ns_good("1.004s", 1 * T_S + 4 * T_MS);
    s_ns_good("1.0040s", 1 * T_S + 4 * T_MS);
    s_ns_good("100.00100s", 100 * T_S + 1 * T_MS);
    /* different units */
    s_ns_good("10ns", 10 * T_NS);
    s_ns_good("11us", 11 * T_US);
    s_ns_good("12\xc2\xb5s", 12 * T_US);    /* U+00B5 */
    s_ns_good("12\xce\xbcs", 12 * T_US);    /* U+03BC */
    s_ns_good("13ms", 13 * T_MS);
    s_ns_good("14s", 14 * T_S);
    s_ns_good("15m", 15 * T_MIN);
    s_ns_good("16h", 16 * T_H);
    /* composite durations */
    s_ns_good("3h30m", 3 * T_H + 30 * T_MIN);
    s_ns_good("10.5s4m", 4 * T_MIN + 10 * T_S + 500 * T_MS);
    s_ns_good("-2m3.4s", -(2 * T_MIN + 3 * T_S + 400 * T_MS));
    s_ns_good("1h2m3s4ms5us6ns",
              1 * T_H + 2 * T_MIN + 3 * T_S + 4 * T_MS + 5 * T_US + 6 * T_NS);
    s_ns_good("39h9m14.425s", 39 * T_H + 9 * T_MIN + 14 * T_S + 425 * T_MS);
    /* large value */
    s_ns_good("52763797000ns", 52763797000 * T_NS);
    /* more than 9 digits after the point */
    s_ns_good("0.3333333333333333333h", 20 * T_MIN);
    /* 1<<53+1 cannot be stored precisely in a double */
    s_ns_good("9007199254740993ns", (INT64_C(1) << 53) + 1);
    /* the largest and smallest int64 in nanoseconds */
    s_ns_good("9223372036854775807ns", INT64_MAX);
    s_ns_good("9223372036854775.807us", INT64_MAX);
    s_ns_good("9223372036s854ms775us807ns", INT64_MAX);
    s_ns_good("-9223372036854775808ns", INT64_MIN);
    s_ns_good("-9223372036854775.808us", INT64_MIN);
    s_ns_good("-9223372036s854ms775us808ns", INT64_MIN);
    s_ns_good("-2562047h47m16.854775808s", INT64_MIN);
    /* a huge string; the first overflow check in leadingFraction */
    s_ns_good("0.100000000000000000000h", 6 * T_MIN);
    s_ns_good("0.830103483285477580700h",
              49 * T_MIN + 48 * T_S + 372539827 * T_NS);
    /* the examples */
    s_ns_good("300ms", 300 * T_MS);
    s_ns_good("1.5h", 90 * T_MIN);
    s_ns_good("2h45m", 2 * T_H + 45 * T_MIN);
    s_ns_good("1.s", 1 * T_S);
    s_ns_good("1ms1s", 1 * T_S + 1 * T_MS);     /* any order, as in Go */
}

static void
test_go_refuses(void **state)
{
    (void) state;
    /* Go's error table */
    s_ns_bad("");
    s_ns_bad("3");
    s_ns_bad("-");
    s_ns_bad("s");
    s_ns_bad(".");
    s_ns_bad("-.");
    s_ns_bad(".s");
    s_ns_bad("+.s");
    s_ns_bad("1d");
    s_ns_bad("\x85\x85");
    s_ns_bad("\xff" "ff");
    s_ns_bad("hello \xff" "ff world");
    s_ns_bad("\xef\xbf\xbd");
    s_ns_bad("\xef\xbf\xbd hello \xef\xbf\xbd world");
    /* overflow */
    s_ns_bad("9223372036854775810ns");
    s_ns_bad("9223372036854775808ns");
    s_ns_bad("-9223372036854775809ns");
    s_ns_bad("9223372036854776us");
    s_ns_bad("3000000h");
    s_ns_bad("9223372036854775.808us");
    s_ns_bad("9223372036854ms775us808ns");
    /* what a C parser would take and Go does not */
    s_ns_bad("1e3ms");
    s_ns_bad("0x1fs");
    s_ns_bad("1.s5");
    s_ns_bad("00");
    s_ns_bad(" 1s");
    s_ns_bad("1s ");
    s_ns_bad("1 s");
    s_ns_bad("1S");
    s_ns_bad("1sec");
    s_ns_bad("1..5s");
    s_ns_bad("--1s");
    s_ns_bad("inf");
    s_ns_bad("nan");
    s_ns_bad("1_000ms");
    assert_int_equal(goro_util_duration_ns(NULL, &(int64_t){0}), GORO_EINVAL);
}

static void
s_ms_good(const char *text, int64_t want)
{
    int64_t ms = 12345;
    if (goro_util_duration(text, &ms) != GORO_OK)
        fail_msg("\"%s\": refused", text);
    if (ms != want)
        fail_msg("\"%s\": %lld ms, want %lld", text, (long long) ms,
                 (long long) want);
}

static void
s_ms_bad(const char *text)
{
    int64_t ms = 12345;
    if (goro_util_duration(text, &ms) == GORO_OK)
        fail_msg("\"%s\": took it as %lld ms", text, (long long) ms);
    assert_int_equal(ms, 12345);
}

static void
test_whole_milliseconds(void **state)
{
    (void) state;
    s_ms_good("0", 0);
    s_ms_good("0s", 0);
    s_ms_good("-0", 0);
    s_ms_good("1ms", 1);
    s_ms_good("1000us", 1);
    s_ms_good("1.4ms", 1);
    s_ms_good("1.5ms", 2);                  /* half rounds up */
    s_ms_good("1499999ns", 1);
    s_ms_good("1500000ns", 2);
    s_ms_good("1.5s", 1500);
    s_ms_good("2m", 120000);
    s_ms_good("1h30m", 5400000);
    s_ms_good("9223372036854775807ns", 9223372036855);
    /* Above 0 but under 1 ms would round to 0, which means "no limit"
       or "try once": refused rather than silently changed. */
    s_ms_bad("500us");
    s_ms_bad("999999ns");
    s_ms_bad("1ns");
    s_ms_bad(".0001s");
    /* Negative durations: the contract spells "forever" as -1. */
    s_ms_bad("-1s");
    s_ms_bad("-1ms");
    s_ms_bad("-1");
    s_ms_bad("1e3ms");
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_accepts),
        cmocka_unit_test(test_go_refuses),
        cmocka_unit_test(test_whole_milliseconds),
        cmocka_unit_test(test_public_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
