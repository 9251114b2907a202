/*  test_json - json, the writer of every JSON document goro emits:
    commas and nesting, numbers at their limits, RFC 8259 escapes, and
    bytes that are not UTF-8 turned into U+FFFD one maximal subpart at a
    time (Unicode 3.9), as Python's bytes.decode("utf-8", "replace") and
    browsers do, so a parser never refuses goro's output.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define FFFD "\xEF\xBF\xBD"

/* The document holding only the string of LEN bytes DATA is WANT (the
   literal, quotes included, without the newline). */
static void
s_string_is(const char *data, size_t len, const char *want)
{
    json_t *json = json_new();
    json_bytes(json, data, len);
    size_t size = 0;
    char *text = json_finish(&json, &size);
    assert_null(json);
    assert_int_equal(size, strlen(text));
    assert_true(size > 0 && text[size - 1] == '\n');
    text[size - 1] = '\0';
    if (strcmp(text, want) != 0)
        fail_msg("got %s, want %s", text, want);
    free(text);
}

#define S_STRING_IS(literal, want) \
    s_string_is((literal), sizeof(literal) - 1, (want))

static void
test_escapes(void **state)
{
    (void) state;
    S_STRING_IS("plain", "\"plain\"");
    S_STRING_IS("", "\"\"");
    S_STRING_IS("a\"b\\c/", "\"a\\\"b\\\\c/\"");
    /* Every C0 control and DEL as \u00XX, NUL included. */
    S_STRING_IS("\x01\n\t\x1f\x7f", "\"\\u0001\\u000a\\u0009\\u001f\\u007f\"");
    S_STRING_IS("x\0y", "\"x\\u0000y\"");
}

static void
test_valid_utf8_passes(void **state)
{
    (void) state;
    /* Two, three and four bytes; the edges of the ranges Table 3-7
       narrows: U+0080, U+0800, U+D7FF, U+E000, U+10000, U+10FFFF. */
    const char *valid[] = {
        "\xC3\xA9",     "\xE2\x82\xAC",     "\xF0\x9F\x98\x80",
        "\xC2\x80",     "\xE0\xA0\x80",     "\xED\x9F\xBF",
        "\xEE\x80\x80", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char want[16];
        snprintf(want, sizeof want, "\"%s\"", valid[i]);
        s_string_is(valid[i], strlen(valid[i]), want);
    }
}

static void
test_invalid_utf8_replaced(void **state)
{
    (void) state;
    S_STRING_IS("\x80", "\"" FFFD "\"");
    S_STRING_IS("\xF5\xFF", "\"" FFFD FFFD "\"");
    /* An overlong, a surrogate, a code point past U+10FFFF: their lead
       cannot start what follows, so each byte is its own subpart. */
    S_STRING_IS("\xC0\x80", "\"" FFFD FFFD "\"");
    S_STRING_IS("\xE0\x80\x80", "\"" FFFD FFFD FFFD "\"");
    S_STRING_IS("\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"");
    S_STRING_IS("\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    /* A truncated sequence is one subpart, at the end or before ASCII. */
    S_STRING_IS("\xE2\x82", "\"" FFFD "\"");
    S_STRING_IS("\xE2\x82"
                "A",
                "\"" FFFD "A\"");
    S_STRING_IS("\xF0\x9F\x98x\"", "\"" FFFD "x\\\"\"");
    /* The Unicode standard's own example (3.9, U+FFFD substitution of
       maximal subparts). */
    S_STRING_IS("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
                "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
}

static void
test_structure(void **state)
{
    (void) state;
    json_t *json = json_new();
    json_object_open(json);
    json_key(json, "a");
    json_int(json, 1);
    json_key(json, "empty");
    json_array_open(json);
    json_array_close(json);
    json_key(json, "none");
    json_object_open(json);
    json_object_close(json);
    json_key(json, "list");
    json_array_open(json);
    json_int(json, 1);
    json_str(json, "x");
    json_str(json, NULL);
    json_bool(json, true);
    json_bool(json, false);
    json_null(json);
    json_object_open(json);
    json_key(json, "k\"");
    json_array_open(json);
    json_array_open(json);
    json_array_close(json);
    json_array_close(json);
    json_object_close(json);
    json_array_close(json);
    json_key(json, "min");
    json_int(json, INT64_MIN);
    json_key(json, "max");
    json_uint(json, UINT64_MAX);
    json_object_close(json);
    size_t size = 0;
    char *text = json_finish(&json, &size);
    assert_string_equal(
        text, "{\"a\":1,\"empty\":[],\"none\":{},"
              "\"list\":[1,\"x\",null,true,false,null,{\"k\\\"\":[[]]}],"
              "\"min\":-9223372036854775808,\"max\":18446744073709551615}\n");
    assert_int_equal(size, strlen(text));
    free(text);
}

/* A document far past the first buffer, with a long string that has
   escapes all through it, comes out whole. */
static void
test_growth(void **state)
{
    (void) state;
    enum { ROWS = 5000 };
    char name[300];
    memset(name, '"', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    json_t *json = json_new();
    json_array_open(json);
    for (int i = 0; i < ROWS; i++)
        json_str(json, name);
    json_array_close(json);
    size_t size = 0;
    char *text = json_finish(&json, &size);
    /* [ ] \n, each string 2 quotes + 2 per '"', and a comma between. */
    size_t per_string = 2 + 2 * (sizeof name - 1);
    assert_int_equal(size, 3 + ROWS * per_string + (ROWS - 1));
    assert_int_equal(strlen(text), size);
    assert_memory_equal(text + 1 + per_string, ",\"\\\"", 4);
    free(text);
}

static void
test_destroy_unfinished(void **state)
{
    (void) state;
    json_t *json = json_new();
    json_array_open(json);
    json_str(json, "left");
    json_destroy(&json);
    assert_null(json);
    json_destroy(&json);
    json_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_valid_utf8_passes),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_destroy_unfinished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
