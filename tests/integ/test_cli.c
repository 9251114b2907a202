/*  test_cli - the `goro` command line and gorod's own command line, as a
    user or a script runs them: the real programs, exit codes, stdout and
    stderr (DESIGN.md "Command line": 0 done, 1 error, 2 usage or config
    error, 124 timed out; run and result exit with the job's status).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SUM_WORKER GORO_TEST_BIN_DIR "/integ_sum_worker"
#define GORO GORO_BIN_DIR "/goro"
#define GOROD GORO_BIN_DIR "/gorod"
#define NOBODY "tcp://127.0.0.1:1" /* nothing listens on port 1 */

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

/* The captured output of the last s_cli call, freed by the next. */
static char *s_out, *s_err;

static void
s_reset(void)
{
    free(s_out);
    free(s_err);
    s_out = s_err = NULL;
}

/* Runs goro ARGS... against H and asserts exit code CODE. */
#define CLI(code, h, ...) \
    s_cli_check((code), (h), __FILE__, __LINE__, __VA_ARGS__, \
                (const char *) NULL)

static void
s_cli_check(int code, harness_t *h, const char *file, int line, ...)
{
    const char *argv[32];
    int argc = 0;
    va_list args;
    va_start(args, line);
    const char *arg;
    while ((arg = va_arg(args, const char *)) && argc < 31)
        argv[argc++] = arg;
    va_end(args);
    argv[argc] = NULL;
    s_reset();
    int got = harness_cliv(h, &s_out, &s_err, argv);
    if (got != code) {
        char cmd[512] = "goro";
        for (int i = 0; i < argc; i++) {
            strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
            strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 1);
        }
        fail_msg("%s:%d: `%s` exited %d, expected %d\nstdout: %s\n"
                 "stderr: %s",
                 file, line, cmd, got, code, s_out ? s_out : "",
                 s_err ? s_err : "");
    }
}

/* Runs an arbitrary program (no harness) and returns its exit code. */
static int
s_run(const char *const *argv)
{
    s_reset();
    return harness_run(harness_tmpdir(), argv, &s_out, &s_err,
                       HARNESS_WAIT_MS * 3);
}

static int
s_lines(const char *text)
{
    int n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

static void
s_assert_has(const char *text, const char *fragment)
{
    if (!text || !strstr(text, fragment))
        fail_msg("\"%s\" lacks \"%s\"", text ? text : "(null)", fragment);
}

/* The job id `goro go` printed (digits and a newline, nothing else), into
   ID. */
static void
s_job_id(char id[32])
{
    size_t len = strlen(s_out);
    if (len < 2 || len > 31 || s_out[len - 1] != '\n')
        fail_msg("goro go printed \"%s\"", s_out);
    for (size_t i = 0; i + 1 < len; i++)
        if (!isdigit((unsigned char) s_out[i]))
            fail_msg("goro go printed \"%s\", not an id", s_out);
    assert_string_equal(s_err, "");
    memcpy(id, s_out, len - 1);
    id[len - 1] = '\0';
}

/* The STATE column of job ID in a `goro jobs` table; NULL if absent. */
static char *
s_jobs_state(const char *table, const char *id)
{
    const char *line = table;
    size_t id_len = strlen(id);
    while (line && *line) {
        if (strncmp(line, id, id_len) == 0 && line[id_len] == ' ') {
            const char *state = line + id_len;
            while (*state == ' ')
                state++;
            size_t len = strcspn(state, " \n");
            return strndup(state, len);
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NULL;
}

static void
s_wait_state(harness_t *h, const char *id, int state)
{
    uint64_t number = strtoull(id, NULL, 10);
    int64_t until = harness_now() + HARNESS_WAIT_MS;
    int now = 0;
    do {
        goro_job_t *job = NULL;
        if (goro_job_status(harness_client(h), number, &job) == GORO_OK)
            now = goro_job_state(job);
        goro_job_destroy(&job);
    } while (now != state && harness_nap(until));
    if (now != state)
        fail_msg("job %s is %s, expected %s", id, goro_job_state_name(now),
                 goro_job_state_name(state));
}

/* ------------------------------------------------------------------ */
/*  Tests against a running gorod                                     */
/* ------------------------------------------------------------------ */

static void
test_ping_go_result(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: [ { name: default, processes: 1 } ]\n");
    CLI(0, h, "ping");
    s_assert_has(s_out, "answered");

    CLI(0, h, "go", "--", "echo", "hi");
    char id[32];
    s_job_id(id);
    CLI(0, h, "result", id, "--wait");
    assert_string_equal(s_out, "hi\n");
    assert_string_equal(s_err, "");
    /* without --wait, for an ended job: the same */
    CLI(0, h, "result", id);
    assert_string_equal(s_out, "hi\n");
    CLI(0, h, "status", id);
    s_assert_has(s_out, "state: succeeded");
    s_assert_has(s_out, "exit_status: 0");
    s_assert_has(s_out, "function: exec");
    CLI(0, h, "status", "--json", id);
    s_assert_has(s_out, "\"state\":\"succeeded\"");

    /* an id gorod never gave */
    CLI(1, h, "status", "987654");
    assert_int_equal(s_lines(s_err), 1);
    CLI(2, h, "status", "notanid");
    harness_finish(state);
}

static void
test_run_exit_codes(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: [ { name: default, processes: 1 } ]\n");
    CLI(7, h, "run", "--", "sh", "-c", "echo out; echo err >&2; exit 7");
    assert_string_equal(s_out, "out\n");
    s_assert_has(s_err, "err\n");
    CLI(0, h, "run", "--", "echo", "fine");
    assert_string_equal(s_out, "fine\n");
    /* options stop at the command, as in timeout(1) */
    CLI(0, h, "run", "echo", "--timeout", "x");
    assert_string_equal(s_out, "--timeout x\n");
    CLI(124, h, "run", "--timeout", "200ms", "--", "sleep", "5");
    s_assert_has(s_err, "timed out");
    CLI(127, h, "run", "--", "goro-integ-no-such-program");
    harness_finish(state);
}

static void
test_result_timeout_cancel_retry(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: [ { name: default, processes: 1 } ]\n");
    CLI(0, h, "go", "--", "sleep", "30");
    char id[32];
    s_job_id(id);
    s_wait_state(h, id, GORO_JOB_RUNNING);
    CLI(124, h, "result", "--wait", "--timeout", "200ms", id);
    assert_string_equal(s_out, "");
    /* the job goes on */
    CLI(0, h, "status", id);
    s_assert_has(s_out, "state: running");
    /* not ended, no --wait: an error, not a result */
    CLI(1, h, "result", id);

    CLI(0, h, "cancel", id);
    assert_string_equal(s_out, "");
    CLI(0, h, "status", id);
    s_assert_has(s_out, "state: cancelled");
    CLI(1, h, "cancel", id); /* already ended */
    assert_int_equal(s_lines(s_err), 1);

    /* retry: it runs again, with a fresh budget of attempts (PROTOCOL.md
       RETRY) */
    CLI(0, h, "retry", id);
    assert_string_equal(s_out, "");
    s_wait_state(h, id, GORO_JOB_RUNNING);
    CLI(0, h, "status", id);
    s_assert_has(s_out, "state: running");
    s_assert_has(s_out, "attempts: 2"); /* numbering goes on */
    CLI(1, h, "retry", id);             /* not ended */
    CLI(0, h, "cancel", id);
    harness_finish(state);
}

static void
test_listings(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: [ { name: default, processes: 2 } ]\n");
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);
    CLI(0, h, "go", "--", "true");
    char good[32];
    s_job_id(good);
    CLI(0, h, "go", "--", "false");
    char bad[32];
    s_job_id(bad);
    CLI(0, h, "result", "--wait", good);
    CLI(1, h, "result", "--wait", bad);

    CLI(0, h, "jobs");
    char *st = s_jobs_state(s_out, good);
    assert_non_null(st);
    assert_string_equal(st, "succeeded");
    free(st);
    st = s_jobs_state(s_out, bad);
    assert_non_null(st);
    assert_string_equal(st, "failed");
    free(st);

    CLI(0, h, "jobs", "--failed");
    st = s_jobs_state(s_out, bad);
    assert_non_null(st);
    assert_string_equal(st, "failed");
    free(st);
    assert_null(s_jobs_state(s_out, good));

    CLI(0, h, "workers");
    s_assert_has(s_out, "default/0");
    s_assert_has(s_out, "default/1");
    s_assert_has(s_out, "exec");

    CLI(0, h, "stats", "--json");
    size_t len = strlen(s_out);
    assert_true(len > 2 && s_out[0] == '{' && s_out[len - 2] == '}'
                && s_out[len - 1] == '\n');
    s_assert_has(s_out, "\"workers\":2");
    s_assert_has(s_out, "\"jobs_succeeded\":1");
    s_assert_has(s_out, "\"jobs_failed\":1");
    CLI(0, h, "stats");
    s_assert_has(s_out, "workers");
    harness_finish(state);
}

static void
test_app_function_cli(void **state)
{
    harness_t *h = harness_up(state, "pools: []\n");
    const char *argv[] = {SUM_WORKER, harness_workers(h), NULL};
    assert_true(harness_spawn(h, argv) > 0);
    assert_int_equal(harness_wait_workers(h, 1, HARNESS_WAIT_MS), 0);
    CLI(0, h, "run", "--fn", "sum", "--data", "1 2 3");
    assert_string_equal(s_out, "6");
    CLI(0, h, "go", "--fn", "sum", "--data", "1 nope");
    char id[32];
    s_job_id(id);
    CLI(1, h, "result", "--wait", id);
    s_assert_has(s_err, "integers");
    harness_finish(state);
}

/* Python's json module, strict about UTF-8, reads TEXT and writes it
   back with every non-ASCII character escaped: what the test then looks
   for. */
#define S_PY_JSON \
    "import json, sys\n" \
    "doc = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))\n" \
    "print(json.dumps(doc, ensure_ascii=True, separators=(',', ':')))\n"

/* TEXT as S_PY_JSON rewrites it (free()); fails the test if Python
   refuses it, skips it where there is no python3. */
static char *
s_python_json(const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/doc.json", harness_tmpdir());
    assert_int_equal(harness_write_file(path, text), 0);
    const char *argv[] = {"/usr/bin/env", "python3", "-c",
                          S_PY_JSON,      path,      NULL};
    char *out = NULL, *err = NULL;
    int code = harness_run(harness_tmpdir(), argv, &out, &err,
                           HARNESS_WAIT_MS * 3);
    if (code == 127) {
        free(out);
        free(err);
        skip();
    }
    if (code != 0)
        fail_msg("python3's json refused %s: %s", text, err ? err : "");
    free(err);
    return out;
}

/* Names are bytes: "fn", then invalid UTF-8 (a lone FF, an overlong NUL
   C0 80), a control, a quote and a backslash. */
#define S_BAD_FN "fn\xff\xc0\x80\x01\"\\x"
#define S_BAD_FN_JSON "\"fn\\ufffd\\ufffd\\ufffd\\u0001\\\"\\\\x\""

/* Every --json output stays valid JSON in UTF-8, whatever bytes the
   names and the job output hold: invalid UTF-8 is U+FFFD, controls are
   \u00XX escapes. */
static void
test_json_any_bytes(void **state)
{
    harness_t *h = harness_up(state,
                              "pools: [ { name: default, processes: 1 } ]\n");
    const char *worker[] = {GORO_BIN_DIR "/goro-worker",
                            "--connect",
                            harness_workers(h),
                            "--name",
                            "w\xfe\x01",
                            NULL};
    assert_true(harness_spawn(h, worker) > 0);
    assert_int_equal(harness_wait_workers(h, 2, HARNESS_WAIT_MS), 0);

    /* No worker serves S_BAD_FN: the job stays queued. */
    CLI(0, h, "go", "--fn", S_BAD_FN);
    char id[32];
    s_job_id(id);
    CLI(0, h, "status", "--json", id);
    char *doc = s_python_json(s_out);
    s_assert_has(doc, "\"function\":" S_BAD_FN_JSON);
    s_assert_has(doc, "\"state\":\"queued\"");
    s_assert_has(doc, "\"exit_status\":null");
    free(doc);

    /* A job whose stdout is not UTF-8: written raw by run, and the
       listing that holds it and S_BAD_FN's job still parses. */
    CLI(0, h, "run", "--", "printf", "\\377\\376\\001");
    assert_string_equal(s_out, "\xff\xfe\x01");
    CLI(0, h, "jobs", "--json");
    doc = s_python_json(s_out);
    s_assert_has(doc, "\"function\":" S_BAD_FN_JSON);
    s_assert_has(doc, "\"function\":\"exec\",\"attempts\":1,\"status\":0");
    free(doc);

    CLI(0, h, "workers", "--json");
    doc = s_python_json(s_out);
    s_assert_has(doc, "\"name\":\"w\\ufffd\\u0001\"");
    free(doc);

    CLI(0, h, "chan", "make", "c\xc3\x28\x7f");
    CLI(0, h, "stats", "--json");
    doc = s_python_json(s_out);
    s_assert_has(doc, "{\"name\":\"c\\ufffd(\\u007f\",\"capacity\":0");
    free(doc);

    CLI(0, h, "wg", "add", "g\xff", "2");
    CLI(0, h, "wg", "status", "--json", "g\xff");
    doc = s_python_json(s_out);
    assert_string_equal(doc, "{\"counter\":2,\"added\":2,\"done\":0,"
                             "\"succeeded\":0,\"failed\":0}\n");
    free(doc);
    harness_finish(state);
}

/* ------------------------------------------------------------------ */
/*  Usage errors and help: no daemon needed                           */
/* ------------------------------------------------------------------ */

static const char *const s_verbs[][2] = {
    {"ping", NULL},    {"go", NULL},     {"run", NULL},    {"result", NULL},
    {"status", NULL},  {"cancel", NULL}, {"retry", NULL},  {"jobs", NULL},
    {"workers", NULL}, {"stats", NULL},  {"keygen", NULL}, {"chan", "make"},
    {"send", NULL},    {"recv", NULL},   {"close", NULL},  {"select", NULL},
    {"wg", "add"},     {"wg", "done"},   {"wg", "wait"},   {"wg", "status"},
    {"help", NULL},
};

static void
test_usage_and_help(void **state)
{
    (void) state;
    const char *unknown[] = {GORO, "-e", NOBODY, "frobnicate", NULL};
    assert_int_equal(s_run(unknown), 2);
    assert_int_equal(s_lines(s_err), 1);
    s_assert_has(s_err, "frobnicate");
    assert_string_equal(s_out, "");

    const char *bad_run[] = {GORO,       "-e", NOBODY, "run", "--timeout",
                             "5parsecs", "--", "true", NULL};
    assert_int_equal(s_run(bad_run), 2);
    s_assert_has(s_err, "5parsecs");
    assert_int_equal(s_lines(s_err), 1);
    const char *bad_result[] = {GORO,     "-e",        NOBODY, "result", "1",
                                "--wait", "--timeout", "soon", NULL};
    assert_int_equal(s_run(bad_result), 2);
    const char *missing[] = {GORO, "-e", NOBODY, "status", NULL};
    assert_int_equal(s_run(missing), 2);
    const char *nothing[] = {GORO, NULL};
    assert_int_equal(s_run(nothing), 2);

    const char *top[] = {GORO, "--help", NULL};
    assert_int_equal(s_run(top), 0);
    s_assert_has(s_out, "usage");
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++) {
        const char *argv[] = {GORO,
                              "-e",
                              NOBODY,
                              s_verbs[i][0],
                              s_verbs[i][1] ? s_verbs[i][1] : "--help",
                              s_verbs[i][1] ? "--help" : NULL,
                              NULL};
        int code = s_run(argv);
        if (code != 0 || !strstr(s_out, "usage"))
            fail_msg("goro %s %s --help: exit %d, stdout \"%s\"",
                     s_verbs[i][0], s_verbs[i][1] ? s_verbs[i][1] : "", code,
                     s_out);
    }
    /* Help says what the verb does in this build. */
    const char *keygen[] = {GORO, "keygen", "--help", NULL};
    assert_int_equal(s_run(keygen), 0);
    s_assert_has(s_out, "PATH_secret (mode 0600)");
    if (strstr(s_out, "available"))
        fail_msg("goro keygen --help: \"%s\"", s_out);
    s_reset();
}

/* Durations follow Go's time.ParseDuration, and a timeout above 0 but
   under 1 ms is refused rather than rounded to 0 ("no limit" for go,
   "try once" for recv). All are usage errors, found before connecting. */
static void
test_bad_durations(void **state)
{
    (void) state;
    static const char *const bad[] = {
        "500us", "999999ns", "1e3ms", "0x1fs", "1.s5", "10", "-1s", " 1s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *go[] = {GORO,   "-e", NOBODY, "go", "--timeout",
                            bad[i], "--", "true", NULL};
        const char *recv[] = {GORO, "-e",        NOBODY, "recv",
                              "c",  "--timeout", bad[i], NULL};
        const char *const *argvs[] = {go, recv};
        for (size_t j = 0; j < 2; j++) {
            int code = s_run(argvs[j]);
            if (code != 2 || !strstr(s_err, "bad duration")
                || !strstr(s_err, bad[i]))
                fail_msg("goro %s --timeout \"%s\": exit %d, stderr \"%s\"",
                         argvs[j][3], bad[i], code, s_err);
            s_assert_has(s_err, "at least 1ms");
            assert_int_equal(s_lines(s_err), 1);
        }
    }
    s_reset();
}

/* No daemon: exit 1 and one line that says where we looked. */
static void
test_no_daemon(void **state)
{
    (void) state;
    const char *ping[] = {GORO, "-e", NOBODY, "ping", NULL};
    assert_int_equal(s_run(ping), 1);
    assert_int_equal(s_lines(s_err), 1);
    s_assert_has(s_err, NOBODY);
    assert_string_equal(s_out, "");
    const char *go[] = {GORO, "-e", NOBODY, "go", "--", "true", NULL};
    assert_int_equal(s_run(go), 1);
    assert_int_equal(s_lines(s_err), 1);
    assert_string_equal(s_out, "");
    s_reset();
}

/* ------------------------------------------------------------------ */
/*  gorod's command line                                              */
/* ------------------------------------------------------------------ */

static int
s_gorod_with(const char *config, const char **path_out)
{
    const char *dir = harness_tmpdir();
    static char path[4096];
    snprintf(path, sizeof path, "%s/goro.yaml", dir);
    assert_int_equal(harness_write_file(path, config), 0);
    *path_out = path;
    const char *argv[] = {GOROD, "-c", path, NULL};
    return s_run(argv);
}

/* gorod with CONFIG exits 2, saying "FILE:AT:" and FRAGMENT. */
static void
s_gorod_bad(const char *config, const char *at, const char *fragment)
{
    const char *path;
    assert_int_equal(s_gorod_with(config, &path), 2);
    char where[4200];
    snprintf(where, sizeof where, "%s:%s:", path, at);
    s_assert_has(s_err, where);
    s_assert_has(s_err, fragment);
}

static void
test_gorod_bad_config(void **state)
{
    (void) state;
    s_gorod_bad("listen:\n"
                "  clients: \"tcp://127.0.0.1:*\"\n"
                "  bogus: 1\n"
                "pools: []\n",
                "3:3", "bogus");
    s_gorod_bad("pools: []\n"
                "heartbeat: { interval: soon }\n",
                "2:24", "soon");
    /* Ports ZeroMQ would bind as another (99999 as 34463), and two binds
       of one address: config errors with a position, not exit 1 at bind. */
    s_gorod_bad("pools: []\n"
                "listen:\n"
                "  clients: tcp://127.0.0.1:99999\n",
                "3:12", "port \"99999\" is not 1 to 65535");
    s_gorod_bad("pools: []\n"
                "listen: { clients: tcp://127.0.0.1:7709,\n"
                "          workers: tcp://127.0.0.1:7709 }\n",
                "3:20", "takes the address of listen.clients");

    /* a file that is not there */
    const char *argv[] = {GOROD, "-c", "/nonexistent/goro.yaml", NULL};
    assert_int_equal(s_run(argv), 2);
    s_assert_has(s_err, "/nonexistent/goro.yaml");
    /* an unknown flag */
    const char *flag[] = {GOROD, "--frobnicate", NULL};
    assert_int_equal(s_run(flag), 2);
    s_reset();
}

static void
test_gorod_refuses_open_bind(void **state)
{
    (void) state;
    const char *path;
    int code = s_gorod_with("listen:\n"
                            "  clients: \"tcp://0.0.0.0:*\"\n"
                            "  workers: \"tcp://127.0.0.1:*\"\n"
                            "pools: []\n",
                            &path);
    assert_int_equal(code, 2);
    s_assert_has(s_err, "tcp://0.0.0.0:*");
    s_assert_has(s_err, "security.insecure");
    s_reset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        HARNESS_TEST(test_ping_go_result),
        HARNESS_TEST(test_run_exit_codes),
        HARNESS_TEST(test_result_timeout_cancel_retry),
        HARNESS_TEST(test_listings),
        HARNESS_TEST(test_app_function_cli),
        HARNESS_TEST(test_json_any_bytes),
        cmocka_unit_test(test_usage_and_help),
        cmocka_unit_test(test_bad_durations),
        cmocka_unit_test(test_no_daemon),
        cmocka_unit_test(test_gorod_bad_config),
        cmocka_unit_test(test_gorod_refuses_open_bind),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    s_reset();
    return failed;
}
