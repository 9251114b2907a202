/*  test_config - config.c against good and bad YAML: defaults, every key,
    block and flow style, and for each kind of mistake the exact
    LINE:COLUMN and the words that tell the user what to fix.

    Most cases parse in-memory text with config_parse; the shipped
    config/goro.yaml is loaded from the source tree (GORO_SOURCE_DIR if the
    build defines it, else found from this file's own path).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define T_NAME "t.yaml"

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static config_t *
s_good(const char *text)
{
    char err[CONFIG_ERROR_MAX] = "";
    config_t *config = config_parse(T_NAME, text, strlen(text), err);
    if (!config)
        fail_msg("expected success for:\n%s\ngot: %s", text, err);
    assert_string_equal(err, "");
    return config;
}

/* TEXT must fail at "LINE:COLUMN" with a message containing FRAGMENT. */
static void
s_bad(const char *text, const char *where, const char *fragment)
{
    char err[CONFIG_ERROR_MAX] = "";
    config_t *config = config_parse(T_NAME, text, strlen(text), err);
    if (config) {
        config_destroy(&config);
        fail_msg("expected an error for:\n%s", text);
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s:%s: ", T_NAME, where);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fragment))
        fail_msg("for:\n%s\nexpected \"%s...%s...\"\ngot      \"%s\"", text,
                 prefix, fragment, err);
}

static void
s_assert_defaults(const config_t *c)
{
    assert_string_equal(c->listen_clients, "tcp://127.0.0.1:7700");
    assert_string_equal(c->listen_workers, "tcp://127.0.0.1:7701");
    assert_int_equal(c->npools, 1);
    assert_string_equal(c->pools[0].name, "default");
    assert_int_equal(c->pools[0].processes, 0);
    assert_int_equal(c->pools[0].concurrency, 1);
    assert_null(c->pools[0].command);
    assert_int_equal(c->heartbeat_interval_ms, 1000);
    assert_int_equal(c->heartbeat_liveness, 3);
    assert_int_equal(c->max_attempts, 3);
    assert_int_equal(c->result_ttl_ms, 3600 * 1000);
    assert_int_equal(c->job_timeout_ms, 0);
    assert_int_equal(c->shutdown_grace_ms, 10 * 1000);
    assert_int_equal(c->exec_enabled, 1);
    assert_int_equal(c->nexec_allow, 1);
    assert_string_equal(c->exec_allow[0], "*");
    assert_int_equal(c->exec_max_output, 128 * 1024);
    assert_int_equal(c->exec_kill_grace_ms, 5 * 1000);
    assert_int_equal(c->max_message, 128 * 1024);
    assert_int_equal(c->max_queued_jobs, 1000000);
    assert_string_equal(c->journal_path, "var/goro.journal");
    assert_int_equal(c->journal_fsync, CONFIG_FSYNC_EVERYSEC);
    assert_int_equal(c->log_level, CONFIG_LOG_INFO);
    assert_int_equal(c->loop_cpu, -1);
    assert_int_equal(c->insecure, 0);
    assert_null(c->curve_cert);
    assert_null(c->curve_clients);
    assert_null(c->curve_workers);
}

static void
s_assert_defaults_for(const char *text)
{
    config_t *config = s_good(text);
    s_assert_defaults(config);
    config_destroy(&config);
    assert_null(config);
}

/* The source tree's root: the build may say, else this file knows. */
static void
s_source_path(char *buf, size_t size, const char *relative)
{
#ifdef GORO_SOURCE_DIR
    snprintf(buf, size, "%s/%s", GORO_SOURCE_DIR, relative);
#else
    const char *self = __FILE__;
    const char *tail = strstr(self, "tests/unit/test_config.c");
    int root = tail ? (int) (tail - self) : 0;
    snprintf(buf, size, "%.*s%s", root, self, relative);
#endif
}

/* ------------------------------------------------------------------ */
/*  Good configs                                                      */
/* ------------------------------------------------------------------ */

static void
test_new_has_defaults(void **state)
{
    (void) state;
    config_t *config = config_new();
    s_assert_defaults(config);
    config_destroy(&config);
    assert_null(config);
    config_destroy(&config); /* NULL is fine */
    config_destroy(NULL);
}

static void
test_empty_is_defaults(void **state)
{
    (void) state;
    s_assert_defaults_for("");
    s_assert_defaults_for("\n\n   \n");

    char err[CONFIG_ERROR_MAX];
    config_t *config = config_parse(T_NAME, NULL, 0, err);
    assert_non_null(config);
    s_assert_defaults(config);
    config_destroy(&config);
}

static void
test_comments_only_is_defaults(void **state)
{
    (void) state;
    s_assert_defaults_for("# nothing here\n  # indented\n#listen:\n");
    s_assert_defaults_for("---\n");
    s_assert_defaults_for("--- # empty\n...\n");
    s_assert_defaults_for("~\n");
}

static void
test_repo_goro_yaml_is_defaults(void **state)
{
    (void) state;
    char path[4096], err[CONFIG_ERROR_MAX] = "";
    s_source_path(path, sizeof path, "config/goro.yaml");
    config_t *config = config_load(path, err);
    if (!config)
        fail_msg("%s: %s", path, err);
    s_assert_defaults(config);
    config_destroy(&config);
}

/* The example in DESIGN.md, flow style and all. */
static void
test_design_example(void **state)
{
    (void) state;
    config_t *c = s_good(
        "listen:\n"
        "  clients: tcp://127.0.0.1:7700   # where the CLI and apps connect\n"
        "  workers: tcp://127.0.0.1:7701   # where workers connect\n"
        "pools:\n"
        "  - name: default\n"
        "    processes: 2                  # 0: one per CPU\n"
        "    concurrency: 1\n"
        "    command: goro-worker\n"
        "heartbeat: { interval: 1s, liveness: 3 }\n"
        "jobs: { max_attempts: 3, result_ttl: 1h, "
        "exec: { enabled: true, allow: [\"*\"] } }\n"
        "limits: { max_message: 1MiB, max_queued_jobs: 1000000 }\n"
        "journal: { path: var/goro.journal, fsync: everysec }\n"
        "log: { level: info }\n"
        "security:\n"
        "  insecure: false\n"
        "  curve: { cert: keys/server_secret, clients: keys/clients/, "
        "workers: keys/workers/ }\n");
    assert_int_equal(c->npools, 1);
    assert_int_equal(c->pools[0].processes, 2);
    assert_string_equal(c->pools[0].command, "goro-worker");
    assert_int_equal(c->heartbeat_interval_ms, 1000);
    assert_int_equal(c->exec_enabled, 1);
    assert_int_equal(c->nexec_allow, 1);
    assert_string_equal(c->exec_allow[0], "*");
    assert_string_equal(c->curve_cert, "keys/server_secret");
    assert_string_equal(c->curve_clients, "keys/clients/");
    assert_string_equal(c->curve_workers, "keys/workers/");
    config_destroy(&c);
}

static const char s_every_key[] =
    "listen:\n"
    "  clients: ipc:///tmp/goro-clients\n"
    "  workers: tcp://0.0.0.0:9001\n"
    "pools:\n"
    "  - name: fast\n"
    "    processes: 4\n"
    "    concurrency: 8\n"
    "    prefetch: 16\n"
    "    command: /usr/bin/my-worker\n"
    "  - name: slow\n"
    "heartbeat:\n"
    "  interval: 250ms\n"
    "  liveness: 5\n"
    "jobs:\n"
    "  max_attempts: 7\n"
    "  result_ttl: 2m\n"
    "  timeout: 1.5s\n"
    "  shutdown_grace: 1h30m\n"
    "  exec:\n"
    "    enabled: false\n"
    "    allow: [/bin/echo, \"/usr/bin/*\"]\n"
    "    max_output: 64KiB\n"
    "    kill_grace: 750ms\n"
    "limits:\n"
    "  max_message: 256MiB\n"
    "  max_queued_jobs: 42\n"
    "journal:\n"
    "  path: /var/lib/goro/journal\n"
    "  fsync: always\n"
    "log:\n"
    "  level: debug\n"
    "security:\n"
    "  insecure: true\n"
    "  curve:\n"
    "    cert: keys/server_secret\n"
    "    clients: keys/clients/\n"
    "    workers: keys/workers/\n";

static void
s_assert_every_key(const config_t *c)
{
    assert_string_equal(c->listen_clients, "ipc:///tmp/goro-clients");
    assert_string_equal(c->listen_workers, "tcp://0.0.0.0:9001");
    assert_int_equal(c->npools, 2);
    assert_string_equal(c->pools[0].name, "fast");
    assert_int_equal(c->pools[0].processes, 4);
    assert_int_equal(c->pools[0].concurrency, 8);
    assert_int_equal(c->pools[0].prefetch, 16);
    assert_string_equal(c->pools[0].command, "/usr/bin/my-worker");
    assert_string_equal(c->pools[1].name, "slow");
    assert_int_equal(c->pools[1].processes, 0);
    assert_int_equal(c->pools[1].concurrency, 1);
    assert_int_equal(c->pools[1].prefetch, 0);
    assert_null(c->pools[1].command);
    assert_int_equal(c->heartbeat_interval_ms, 250);
    assert_int_equal(c->heartbeat_liveness, 5);
    assert_int_equal(c->max_attempts, 7);
    assert_int_equal(c->result_ttl_ms, 120000);
    assert_int_equal(c->job_timeout_ms, 1500);
    assert_int_equal(c->shutdown_grace_ms, 5400000);
    assert_int_equal(c->exec_enabled, 0);
    assert_int_equal(c->nexec_allow, 2);
    assert_string_equal(c->exec_allow[0], "/bin/echo");
    assert_string_equal(c->exec_allow[1], "/usr/bin/*");
    assert_int_equal(c->exec_max_output, 65536);
    assert_int_equal(c->exec_kill_grace_ms, 750);
    assert_int_equal(c->max_message, 256u * 1024 * 1024);
    assert_int_equal(c->max_queued_jobs, 42);
    assert_string_equal(c->journal_path, "/var/lib/goro/journal");
    assert_int_equal(c->journal_fsync, CONFIG_FSYNC_ALWAYS);
    assert_int_equal(c->log_level, CONFIG_LOG_DEBUG);
    assert_int_equal(c->insecure, 1);
    assert_string_equal(c->curve_cert, "keys/server_secret");
    assert_string_equal(c->curve_clients, "keys/clients/");
    assert_string_equal(c->curve_workers, "keys/workers/");
}

static void
test_every_key_block_style(void **state)
{
    (void) state;
    config_t *config = s_good(s_every_key);
    s_assert_every_key(config);
    config_destroy(&config);
}

static void
test_every_key_flow_style(void **state)
{
    (void) state;
    config_t *config = s_good(
        "{ listen: { clients: \"ipc:///tmp/goro-clients\", "
        "workers: 'tcp://0.0.0.0:9001' },\n"
        "  pools: [ { name: fast, processes: 4, concurrency: 8,\n"
        "             prefetch: 16, command: /usr/bin/my-worker },\n"
        "           { name: slow } ],\n"
        "  heartbeat: { interval: 250ms, liveness: 5 },\n"
        "  jobs: { max_attempts: 7, result_ttl: 2m, timeout: 1.5s,\n"
        "          shutdown_grace: 1h30m,\n"
        "          exec: { enabled: no, allow: [/bin/echo, \"/usr/bin/*\"],\n"
        "                  max_output: 64KiB, kill_grace: 750ms } },\n"
        "  limits: { max_message: 256MiB, max_queued_jobs: 42 },\n"
        "  journal: { path: /var/lib/goro/journal, fsync: always },\n"
        "  log: { level: debug },\n"
        "  security: { insecure: yes, curve: { cert: keys/server_secret,\n"
        "      clients: keys/clients/, workers: keys/workers/ } } }\n");
    s_assert_every_key(config);
    config_destroy(&config);
}

/* Each key alone changes only itself. */
static void
test_each_key_overrides_alone(void **state)
{
    (void) state;
    config_t *c;

    c = s_good("listen: { clients: tcp://*:1 }");
    assert_string_equal(c->listen_clients, "tcp://*:1");
    assert_string_equal(c->listen_workers, "tcp://127.0.0.1:7701");
    config_destroy(&c);

    c = s_good("loop: { cpu: 1 }");
    assert_int_equal(c->loop_cpu, 1);
    config_destroy(&c);

    c = s_good("heartbeat: { liveness: 9 }");
    assert_int_equal(c->heartbeat_liveness, 9);
    assert_int_equal(c->heartbeat_interval_ms, 1000);
    config_destroy(&c);

    c = s_good("jobs: { timeout: 0 }");
    assert_int_equal(c->job_timeout_ms, 0);
    config_destroy(&c);

    c = s_good("jobs: { result_ttl: 0s, shutdown_grace: 0 }");
    assert_int_equal(c->result_ttl_ms, 0);
    assert_int_equal(c->shutdown_grace_ms, 0);
    config_destroy(&c);

    c = s_good("jobs: { exec: { max_output: 1, kill_grace: 0 } }");
    assert_int_equal(c->exec_max_output, 1);
    assert_int_equal(c->exec_kill_grace_ms, 0);
    assert_int_equal(c->exec_enabled, 1);
    config_destroy(&c);

    c = s_good("journal: { fsync: never }\nlog: { level: warn }");
    assert_int_equal(c->journal_fsync, CONFIG_FSYNC_NEVER);
    assert_int_equal(c->log_level, CONFIG_LOG_WARN);
    assert_string_equal(c->journal_path, "var/goro.journal");
    config_destroy(&c);

    c = s_good("log: { level: error }");
    assert_int_equal(c->log_level, CONFIG_LOG_ERROR);
    config_destroy(&c);

    c = s_good("security: { curve: { cert: a } }");
    assert_string_equal(c->curve_cert, "a");
    assert_null(c->curve_clients);
    assert_int_equal(c->insecure, 0);
    config_destroy(&c);

    c = s_good("limits: { max_message: 1 }");
    assert_int_equal(c->max_message, 1);
    assert_int_equal(c->max_queued_jobs, 1000000);
    assert_int_equal(c->handshake_timeout_ms, 5000);
    config_destroy(&c);

    c = s_good("limits: { handshake_timeout: 250ms }");
    assert_int_equal(c->handshake_timeout_ms, 250);
    config_destroy(&c);
}

static void
test_pools_variants(void **state)
{
    (void) state;
    config_t *c = s_good("pools: []\n");
    assert_int_equal(c->npools, 0);
    assert_null(c->pools);
    config_destroy(&c);

    c = s_good("pools:\n- name: a\n- name: b\n  processes: 0\n- name: c\n");
    assert_int_equal(c->npools, 3);
    assert_string_equal(c->pools[2].name, "c");
    assert_int_equal(c->pools[2].concurrency, 1);
    config_destroy(&c);

    c = s_good("pools: [ { name: x, command: ~ } ]");
    assert_int_equal(c->npools, 1);
    assert_null(c->pools[0].command);
    config_destroy(&c);
}

static void
test_exec_allow_variants(void **state)
{
    (void) state;
    config_t *c = s_good("jobs: { exec: { allow: [] } }");
    assert_int_equal(c->nexec_allow, 0);
    config_destroy(&c);

    c = s_good("jobs:\n  exec:\n    allow:\n      - a\n      - 'b c'\n");
    assert_int_equal(c->nexec_allow, 2);
    assert_string_equal(c->exec_allow[1], "b c");
    config_destroy(&c);
}

static void
test_booleans(void **state)
{
    (void) state;
    static const char *const truths[] = {"true", "True", "YES", "on", "On"};
    static const char *const lies[] = {"false", "FALSE", "no", "Off", "off"};
    char text[128];
    for (size_t i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "security: { insecure: %s }", truths[i]);
        config_t *c = s_good(text);
        assert_int_equal(c->insecure, 1);
        config_destroy(&c);
        snprintf(text, sizeof text, "jobs: { exec: { enabled: %s } }",
                 lies[i]);
        c = s_good(text);
        assert_int_equal(c->exec_enabled, 0);
        config_destroy(&c);
    }
}

/* A section whose keys are all commented out is an empty section. */
static void
test_null_section_and_strings(void **state)
{
    (void) state;
    s_assert_defaults_for("listen:\n  # clients: x\nsecurity:\n  curve:\n");
    config_t *c = s_good("security:\n  curve:\n    cert:\n    clients: ~\n"
                         "    workers: null\n");
    assert_null(c->curve_cert);
    assert_null(c->curve_clients);
    assert_null(c->curve_workers);
    config_destroy(&c);

    c = s_good("pools:\n  - name: p\n    command:\n");
    assert_null(c->pools[0].command);
    config_destroy(&c);
}

static void
test_later_key_replaces_default_without_leak(void **state)
{
    (void) state;
    /* Strings replaced twice over in one parse: defaults then values. */
    config_t *c = s_good("listen: { clients: tcp://127.0.0.1:1, "
                         "workers: tcp://127.0.0.2:2 }\n"
                         "journal: { path: x }\n");
    assert_string_equal(c->listen_clients, "tcp://127.0.0.1:1");
    assert_string_equal(c->journal_path, "x");
    config_destroy(&c);
}

/* ------------------------------------------------------------------ */
/*  Bad configs                                                       */
/* ------------------------------------------------------------------ */

static void
test_unknown_key_top(void **state)
{
    (void) state;
    s_bad("listen: {}\nlisen:\n  clients: tcp://x:1\n", "2:1",
          "unknown key \"lisen\" (expected one of: listen, pools, heartbeat, "
          "jobs, limits, journal, log, loop, security)");
}

static void
test_unknown_key_nested(void **state)
{
    (void) state;
    s_bad(
        "# listen\nlisten:\n  clientz: tcp://x:1\n", "3:3",
        "unknown key \"listen.clientz\" (expected one of: clients, workers)");
    s_bad("jobs:\n  exec:\n    enabled: true\n    allowed: []\n", "4:5",
          "unknown key \"jobs.exec.allowed\" (expected one of: enabled, "
          "allow, max_output, env, run_as, limits, kill_grace)");
    s_bad("pools:\n  - name: a\n    proceses: 2\n", "3:5",
          "unknown key \"pools[0].proceses\" (expected one of: name, "
          "processes, concurrency, prefetch, command)");
    s_bad("heartbeat: { interval: 1s, livenes: 3 }", "1:28",
          "unknown key \"heartbeat.livenes\"");
    s_bad("security: { curve: { key: a } }", "1:22",
          "unknown key \"security.curve.key\"");
}

static void
test_duplicate_key(void **state)
{
    (void) state;
    s_bad("pools: []\nlog: { level: info }\npools: []\n", "3:1",
          "duplicate key \"pools\" (first at line 1)");
    s_bad("heartbeat:\n  interval: 1s\n  interval: 2s\n", "3:3",
          "duplicate key \"heartbeat.interval\"");
    s_bad("log: { level: info, level: debug }", "1:21",
          "duplicate key \"log.level\"");
    s_bad("pools: [ { name: a, name: b } ]", "1:21",
          "duplicate key \"pools[0].name\"");
}

static void
test_wrong_type(void **state)
{
    (void) state;
    /* A scalar where a mapping goes. */
    s_bad(
        "listen: tcp://127.0.0.1:7700\n", "1:9",
        "listen: wrong type (expected a mapping, got \"tcp://127.0.0.1:7700\")");
    /* A mapping where a scalar goes. */
    s_bad("heartbeat:\n  interval:\n    ms: 300\n", "3:5",
          "heartbeat.interval: wrong type (expected a duration");
    /* A sequence where a scalar goes. */
    s_bad("log: { level: [info] }", "1:15",
          "log.level: wrong type (expected one of: debug, info, warn, error, "
          "got a sequence)");
    /* A sequence where a mapping goes. */
    s_bad("jobs:\n  - max_attempts: 3\n", "2:3",
          "jobs: wrong type (expected a mapping, got a sequence)");
    /* A mapping where a sequence goes. */
    s_bad("pools:\n  name: default\n", "2:3",
          "pools: wrong type (expected a sequence of pools, got a mapping)");
    s_bad("jobs: { exec: { allow: \"*\" } }", "1:24",
          "jobs.exec.allow: wrong type (expected a sequence of strings, "
          "got \"*\")");
    /* Items of the wrong type. */
    s_bad("pools:\n  - default\n", "2:5",
          "pools[0]: wrong type (expected a mapping, got \"default\")");
    s_bad("jobs: { exec: { allow: [a, { b: c }] } }", "1:28",
          "jobs.exec.allow[1]: wrong type (expected a string, got a mapping)");
    s_bad(
        "security: { curve: { cert: [a] } }", "1:28",
        "security.curve.cert: wrong type (expected a string, got a sequence)");
    /* Keys that are not scalars. */
    s_bad("? [a, b]\n: 1\n", "1:3", "keys must be plain strings");
}

static void
test_missing_value(void **state)
{
    (void) state;
    s_bad("heartbeat:\n  interval:\n  liveness: 3\n", "2:12",
          "heartbeat.interval: no value (expected a duration");
    s_bad("pools:\nlog: {}\n", "1:7", "pools: no value (expected a sequence");
    s_bad("pools: [ { name: ~ } ]", "1:18", "pools[0].name: no value");
    s_bad("journal: { path: \"\" }", "1:18",
          "journal.path: must not be empty");
    s_bad("security: { curve: { cert: '' } }", "1:28",
          "security.curve.cert: must not be empty");
    s_bad("jobs: { exec: { allow: [a, ''] } }", "1:28",
          "jobs.exec.allow[1]: must not be empty");
}

static void
test_bad_duration(void **state)
{
    (void) state;
    s_bad(
        "heartbeat:\n  interval: abc\n", "2:13",
        "heartbeat.interval: \"abc\" is not a duration (like 300ms, 1.5s, 2m)");
    s_bad("jobs: { timeout: 10 }", "1:18",
          "jobs.timeout: \"10\" is not a duration");
    s_bad("jobs: { result_ttl: 1d }", "1:21",
          "jobs.result_ttl: \"1d\" is not a duration");
    s_bad("jobs: { shutdown_grace: -1s }", "1:25",
          "jobs.shutdown_grace: -1s is out of range (at least 0)");
    s_bad("jobs: { exec: { kill_grace: -1s } }", "1:29",
          "jobs.exec.kill_grace: -1s is out of range (at least 0)");
    s_bad("heartbeat: { interval: 0s }", "1:24",
          "heartbeat.interval: 0s is out of range (at least 1ms)");
}

static void
test_bad_size(void **state)
{
    (void) state;
    s_bad(
        "limits:\n  max_message: 1 MiB\n", "2:16",
        "limits.max_message: \"1 MiB\" is not a size (like 4096, 64KiB, 1MiB)");
    s_bad("limits: { max_message: 1.5MiB }", "1:24", "is not a size");
    s_bad("limits: { max_message: 257MiB }", "1:24",
          "limits.max_message: 257MiB is out of range (at most 256MiB)");
    s_bad("limits: { max_message: 0 }", "1:24",
          "limits.max_message: 0 is out of range (at least 1)");
    s_bad("jobs: { exec: { max_output: -1 } }", "1:29",
          "jobs.exec.max_output: \"-1\" is not a size");
    /* goro-worker refuses --max-output 0: a pool would restart forever. */
    s_bad("jobs: { exec: { max_output: 0 } }", "1:29",
          "jobs.exec.max_output: 0 is out of range (at least 1)");
    s_bad("jobs: { exec: { max_output: 257MiB } }", "1:29",
          "jobs.exec.max_output: 257MiB is out of range (at most 256MiB)");
}

static void
test_bad_enum(void **state)
{
    (void) state;
    s_bad(
        "journal:\n  fsync: sometimes\n", "2:10",
        "journal.fsync: \"sometimes\" is not one of: always, everysec, never");
    s_bad("log: { level: INFO }", "1:15",
          "log.level: \"INFO\" is not one of: debug, info, warn, error");
}

static void
test_bad_int(void **state)
{
    (void) state;
    s_bad("pools:\n  - name: a\n    processes: -1\n", "3:16",
          "pools[0].processes: -1 is out of range (at least 0)");
    s_bad("pools: [ { name: a, concurrency: 0 } ]", "1:34",
          "pools[0].concurrency: 0 is out of range (at least 1)");
    s_bad("pools: [ { name: a, concurrency: 4000, prefetch: 100 } ]", "1:50",
          "pools[0].prefetch: concurrency + prefetch is 4100, above 4096");
    s_bad("heartbeat: { liveness: -3 }", "1:24",
          "heartbeat.liveness: -3 is out of range (at least 1)");
    s_bad("jobs: { max_attempts: 3x }", "1:23",
          "jobs.max_attempts: \"3x\" is not an integer");
    s_bad("jobs: { max_attempts: 0x10 }", "1:23", "is not an integer");
    s_bad("jobs: { max_attempts: 1.0 }", "1:23", "is not an integer");
    s_bad(
        "jobs: { max_attempts: 2147483648 }", "1:23",
        "jobs.max_attempts: 2147483648 is out of range (at most 2147483647)");
    s_bad("limits: { max_queued_jobs: 99999999999999999999999 }", "1:28",
          "limits.max_queued_jobs: 99999999999999999999999 is out of range");
    s_bad("limits: { max_queued_jobs: -99999999999999999999999 }", "1:28",
          "(at least 1)");
    s_bad("limits: { max_queued_jobs: 0 }", "1:28", "(at least 1)");
    s_bad("loop: { cpu: -2 }", "1:14",
          "loop.cpu: -2 is out of range (at least -1)");
    s_bad("loop: { cpu: 1024 }", "1:14",
          "loop.cpu: 1024 is out of range (at most 1023)");
    s_bad("limits: { handshake_timeout: 0 }", "1:30",
          "limits.handshake_timeout: 0 is out of range");
    s_bad("limits: { handshake_timeout: 1000h }", "1:30", "is out of range");
}

static void
test_bad_bool(void **state)
{
    (void) state;
    s_bad("security:\n  insecure: maybe\n", "2:13",
          "security.insecure: \"maybe\" is not a boolean (true or false)");
    s_bad("jobs: { exec: { enabled: 1 } }", "1:26", "is not a boolean");
}

static void
test_bad_endpoint(void **state)
{
    (void) state;
    s_bad("listen: { clients: 127.0.0.1:7700 }", "1:20",
          "listen.clients: \"127.0.0.1:7700\" is not an endpoint "
          "(tcp://HOST:PORT or ipc://PATH)");
    s_bad("listen: { workers: 'tcp://' }", "1:20",
          "listen.workers: \"tcp://\": no port");
    s_bad("listen: { workers: inproc://x }", "1:20", "is not an endpoint");
}

/* ZeroMQ would bind these as some other port, or fail only at bind. */
static void
test_endpoint_ports(void **state)
{
    (void) state;
    s_bad("listen: { clients: tcp://127.0.0.1:99999 }", "1:20",
          "listen.clients: \"tcp://127.0.0.1:99999\": port \"99999\" is not "
          "1 to 65535, or * for any free one");
    s_bad("listen: { clients: tcp://127.0.0.1:-1 }", "1:20",
          "port \"-1\" is not 1 to 65535");
    s_bad("listen: { clients: tcp://127.0.0.1:0 }", "1:20",
          "port \"0\" is not 1 to 65535");
    s_bad("listen: { workers: tcp://127.0.0.1:65536 }", "1:20",
          "listen.workers: \"tcp://127.0.0.1:65536\": port \"65536\"");
    s_bad("listen: { workers: tcp://127.0.0.1:0x10 }", "1:20",
          "port \"0x10\"");
    s_bad("listen: { workers: \"tcp://127.0.0.1:\" }", "1:20", "port \"\"");
    s_bad("listen: { workers: tcp://127.0.0.1 }", "1:20", "no port");
    s_bad("listen: { workers: tcp://127.0.0.1:1234567 }", "1:20",
          "port \"1234567\"");

    config_t *c = s_good("listen: { clients: \"tcp://127.0.0.1:*\", "
                         "workers: tcp://127.0.0.1:65535 }");
    assert_string_equal(c->listen_clients, "tcp://127.0.0.1:*");
    assert_string_equal(c->listen_workers, "tcp://127.0.0.1:65535");
    config_destroy(&c);
    c = s_good("listen: { clients: tcp://127.0.0.1:1 }");
    config_destroy(&c);
}

static void
test_endpoint_hosts(void **state)
{
    (void) state;
    s_bad("listen: { clients: tcp://127.1:7700 }", "1:20",
          "\"127.1\" is not an IPv4 address");
    s_bad("listen: { clients: tcp://256.0.0.1:7700 }", "1:20",
          "\"256.0.0.1\" is not an IPv4 address");
    s_bad("listen: { clients: tcp://1.2.3.4.5:7700 }", "1:20",
          "is not an IPv4 address");
    /* ZeroMQ takes a name for an interface, never for a host. */
    s_bad("listen: { clients: tcp://localhost:7700 }", "1:20",
          "no network interface is named \"localhost\"; gorod binds to an "
          "IPv4 address (like 127.0.0.1), * or an interface name");
    s_bad("listen: { clients: \"tcp://[::1]:7700\" }", "1:20",
          "IPv6 addresses are not supported");
    s_bad("listen: { clients: \"tcp://:7700\" }", "1:20", "no host");

    config_t *c = s_good("listen: { clients: \"tcp://*:7700\", "
                         "workers: tcp://lo:7701 }");
    assert_string_equal(c->listen_clients, "tcp://*:7700");
    assert_string_equal(c->listen_workers, "tcp://lo:7701");
    config_destroy(&c);
    c = s_good("listen: { clients: tcp://0.0.0.0:7702 }");
    config_destroy(&c);
}

/* A blank anywhere in an endpoint, the end included, is a mistake. */
static void
test_endpoint_blanks(void **state)
{
    (void) state;
    s_bad("listen: { clients: \"tcp://127.0.0.1:7700 \" }", "1:20",
          "listen.clients: \"tcp://127.0.0.1:7700 \": a blank or control "
          "character at character 21");
    s_bad("listen:\n  workers: \"ipc:///tmp/w.sock\\t\"\n", "2:12",
          "listen.workers: \"ipc:///tmp/w.sock\\t\": a blank or control "
          "character at character 18");
    s_bad("listen: { clients: \" tcp://127.0.0.1:7700\" }", "1:20",
          "is not an endpoint");
    s_bad("listen: { clients: \"tcp://127.0.0.1: 7700\" }", "1:20",
          "a blank or control character at character 17");
}

static void
test_endpoint_ipc(void **state)
{
    (void) state;
    char dir[] = "/tmp/test_config.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char text[512], where[256];

    /* sun_path holds 107 bytes and a NUL. */
    char path[200];
    int len = snprintf(path, sizeof path, "%s/", dir);
    memset(path + len, 's', 107 - (size_t) len);
    path[107] = '\0';
    snprintf(text, sizeof text, "listen: { clients: \"ipc://%s\" }", path);
    config_t *c = s_good(text);
    config_destroy(&c);
    snprintf(text, sizeof text, "listen: { clients: \"ipc://%ss\" }", path);
    s_bad(text, "1:20",
          "the socket path is 108 bytes, longer than the 107 a "
          "Unix socket takes");

    snprintf(text, sizeof text,
             "listen: { clients: \"ipc://%s/gone/c.sock\" }", dir);
    snprintf(where, sizeof where, "directory \"%s/gone\" does not exist", dir);
    s_bad(text, "1:20", where);

    char file[64];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(text, sizeof text,
             "pools: []\nlisten: { workers: \"ipc://%s/w.sock\" }", file);
    snprintf(where, sizeof where, "\"%s\" is not a directory", file);
    s_bad(text, "2:20", where);

    s_bad("listen: { clients: \"ipc://\" }", "1:20", "no path");
    c = s_good("listen: { clients: \"ipc://*\", workers: ipc://@goro-w }");
    assert_string_equal(c->listen_workers, "ipc://@goro-w");
    config_destroy(&c);
    c = s_good("listen: { clients: ipc://relative.sock }");
    config_destroy(&c);

    unlink(file);
    rmdir(dir);
}

static void
test_listen_clash(void **state)
{
    (void) state;
    s_bad("listen:\n  clients: tcp://127.0.0.1:7000\n"
          "  workers: tcp://127.0.0.1:7000\n",
          "3:12",
          "listen.workers: \"tcp://127.0.0.1:7000\" takes the address of "
          "listen.clients; the two need different ports or paths");
    s_bad(
        "listen: { clients: \"tcp://*:7000\", workers: tcp://127.0.0.1:7000 }",
        "1:45", "listen.workers");
    s_bad("listen: { clients: ipc:///tmp/x.sock, workers: ipc:///tmp/x.sock }",
          "1:48", "takes the address of listen.clients");
    /* Only clients given, on the default workers' address. */
    s_bad("listen: { clients: tcp://127.0.0.1:7701 }", "1:20",
          "listen.clients: \"tcp://127.0.0.1:7701\" takes the address of "
          "listen.workers");

    /* "*" picks a free port or path each time: never the same. */
    config_t *c = s_good("listen: { clients: \"tcp://127.0.0.1:*\", "
                         "workers: \"tcp://127.0.0.1:*\" }");
    config_destroy(&c);
    c = s_good("listen: { clients: \"ipc://*\", workers: \"ipc://*\" }");
    config_destroy(&c);
    c = s_good("listen: { clients: tcp://127.0.0.1:7000, "
               "workers: tcp://127.0.0.2:7000 }");
    config_destroy(&c);
}

static void
test_journal_path(void **state)
{
    (void) state;
    char dir[] = "/tmp/test_config.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char text[512], where[256];

    snprintf(text, sizeof text, "journal: { path: %s }", dir);
    snprintf(where, sizeof where,
             "journal.path: \"%s\" is a directory; "
             "name a file in it, like %s/goro.journal",
             dir, dir);
    s_bad(text, "1:18", where);

    snprintf(text, sizeof text, "journal:\n  path: %s/a/b/j\n", dir);
    snprintf(where, sizeof where,
             "journal.path: directory \"%s/a\" does not "
             "exist",
             dir);
    s_bad(text, "2:9", where);

    char file[64];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(text, sizeof text, "journal: { path: %s/j }", file);
    snprintf(where, sizeof where, "\"%s\" is not a directory", file);
    s_bad(text, "1:18", where);

    /* One missing level is the one journal_open creates, like var/. */
    snprintf(text, sizeof text, "journal: { path: %s/var/goro.journal }", dir);
    config_t *c = s_good(text);
    config_destroy(&c);
    snprintf(text, sizeof text, "journal: { path: %s/goro.journal }", dir);
    c = s_good(text);
    config_destroy(&c);

    unlink(file);
    rmdir(dir);
}

/* A string of N copies of C, for the length bounds. */
static char *
s_repeat(char c, size_t n)
{
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, c, n);
    text[n] = '\0';
    return text;
}

/* PREFIX, N bytes of 'x', SUFFIX must fail as s_bad says. */
static void
s_bad_long(const char *prefix, size_t n, const char *suffix, const char *where,
           const char *fragment)
{
    char *value = s_repeat('x', n);
    size_t size = strlen(prefix) + n + strlen(suffix) + 1;
    char *text = malloc(size);
    assert_non_null(text);
    snprintf(text, size, "%s%s%s", prefix, value, suffix);
    s_bad(text, where, fragment);
    free(text);
    free(value);
}

static void
test_numbers_bounded(void **state)
{
    (void) state;
    /* interval x liveness in ms must not overflow, and goro-worker
       clamps WELCOME to an hour and a thousand beats. */
    s_bad("heartbeat: { interval: 2562047h }", "1:24",
          "heartbeat.interval: 2562047h is out of range (at most 1h)");
    s_bad("heartbeat: { interval: 61m }", "1:24", "(at most 1h)");
    s_bad("heartbeat: { liveness: 1001 }", "1:24",
          "heartbeat.liveness: 1001 is out of range (at most 1000)");
    s_bad("heartbeat: { liveness: 2147483647 }", "1:24", "(at most 1000)");
    config_t *c = s_good("heartbeat: { interval: 1h, liveness: 1000 }");
    assert_int_equal(c->heartbeat_interval_ms, 3600000);
    assert_int_equal(c->heartbeat_liveness, 1000);
    config_destroy(&c);

    s_bad("pools: [ { name: a, processes: 1025 } ]", "1:32",
          "pools[0].processes: 1025 is out of range (at most 1024)");
    s_bad("pools: [ { name: a, concurrency: 4097 } ]", "1:34",
          "pools[0].concurrency: 4097 is out of range (at most 4096)");
    c = s_good("pools: [ { name: a, processes: 1024, concurrency: 4096 } ]");
    config_destroy(&c);

    /* now + any of these must not overflow */
    s_bad("jobs: { result_ttl: 87601h }", "1:21",
          "jobs.result_ttl: 87601h is out of range (at most 87600h)");
    s_bad("jobs: { timeout: 2562047h }", "1:18",
          "jobs.timeout: 2562047h is out of range (at most 87600h)");
    s_bad("jobs: { shutdown_grace: 100000h }", "1:25", "(at most 87600h)");
    s_bad("jobs: { exec: { limits: { cpu: 100000h } } }", "1:32",
          "jobs.exec.limits.cpu: 100000h is out of range (at most 87600h)");
    s_bad("jobs: { result_ttl: 3000000h }", "1:21",
          "jobs.result_ttl: \"3000000h\" is not a duration");
    c = s_good("jobs: { result_ttl: 87600h, timeout: 87600h }");
    assert_int_equal(c->result_ttl_ms, INT64_C(87600) * 3600 * 1000);
    config_destroy(&c);
}

static void
test_strings_bounded(void **state)
{
    (void) state;
    /* goro-worker --name takes 255 bytes, and the pool adds "/1023". */
    s_bad_long("pools: [ { name: ", 251, " } ]", "1:18",
               "pools[0].name: 251 bytes is too long (at most 250)");
    char *name = s_repeat('n', 250);
    char text[600];
    snprintf(text, sizeof text, "pools: [ { name: %s } ]", name);
    config_t *c = s_good(text);
    assert_string_equal(c->pools[0].name, name);
    config_destroy(&c);
    free(name);

    s_bad_long("pools: [ { name: a, command: ", 4096, " } ]", "1:30",
               "pools[0].command: 4096 bytes is too long (at most 4095)");
    s_bad("pools: [ { name: a, command: \"  \" } ]", "1:30",
          "pools[0].command: names no program");
    /* WELCOME carries "env=GLOB" and "run_as=USER" as 255-byte strings. */
    s_bad_long("jobs: { exec: { env: [PATH, ", 252, "] } }", "1:29",
               "jobs.exec.env[1]: 252 bytes is too long (at most 251)");
    s_bad_long("jobs: { exec: { run_as: ", 249, " } }", "1:25",
               "jobs.exec.run_as: 249 bytes is too long (at most 248)");
    s_bad_long("jobs: { exec: { allow: [", 4096, "] } }", "1:25",
               "jobs.exec.allow[0]: 4096 bytes is too long (at most 4095)");
    s_bad_long("journal: { path: ", 4088, " }", "1:18",
               "journal.path: 4088 bytes is too long (at most 4087)");
    s_bad_long("security: { curve: { cert: ", 4096, " } }", "1:28",
               "security.curve.cert: 4096 bytes is too long (at most 4095)");
    s_bad_long("security: { curve: { clients: ", 4096, " } }", "1:31",
               "(at most 4095)");
    s_bad_long("security: { curve: { workers: ", 4096, " } }", "1:31",
               "(at most 4095)");

    /* and WELCOME's list holds 1024 strings: the env lines and 5 more */
    char *many = malloc(1020 * 3 + 64);
    assert_non_null(many);
    size_t n = (size_t) sprintf(many, "jobs: { exec: { env: [");
    for (int i = 0; i < 1020; i++)
        n += (size_t) sprintf(many + n, "%sE", i ? "," : "");
    sprintf(many + n, "] } }");
    s_bad(many, "1:22",
          "jobs.exec.env: 1020 entries are too many (at most 1019)");
    free(many);
}

/* Go's syntax exactly, and nothing between 0 and 1 ms. */
static void
test_durations_go_syntax(void **state)
{
    (void) state;
    s_bad("jobs: { timeout: 1e3ms }", "1:18",
          "jobs.timeout: \"1e3ms\" is not a duration");
    s_bad("jobs: { timeout: 0x1fs }", "1:18", "\"0x1fs\" is not a duration");
    s_bad("jobs: { timeout: 1.s5 }", "1:18", "\"1.s5\" is not a duration");
    s_bad("jobs: { timeout: . }", "1:18", "\".\" is not a duration");
    /* 400us would round to 0, which for jobs.timeout means "none". */
    s_bad("jobs: { timeout: 400us }", "1:18",
          "jobs.timeout: 400us is under 1ms; goro counts whole "
          "milliseconds, so write 0 or at least 1ms");
    s_bad("heartbeat: { interval: 500us }", "1:24",
          "heartbeat.interval: 500us is under 1ms");
    s_bad("jobs: { timeout: -1ns }", "1:18",
          "jobs.timeout: -1ns is out of range (at least 0)");

    config_t *c = s_good("jobs: { timeout: .5s, result_ttl: 1.s, "
                         "shutdown_grace: 1.5ms }\n");
    assert_int_equal(c->job_timeout_ms, 500);
    assert_int_equal(c->result_ttl_ms, 1000);
    assert_int_equal(c->shutdown_grace_ms, 2); /* rounds half up */
    config_destroy(&c);
    c = s_good("jobs: { timeout: 2h45m4s1ms }");
    assert_int_equal(c->job_timeout_ms, (2 * 3600 + 45 * 60 + 4) * 1000 + 1);
    config_destroy(&c);
    c = s_good("jobs: { timeout: +1m, result_ttl: -0 }\n"
               "heartbeat: { interval: 1h }\n");
    assert_int_equal(c->job_timeout_ms, 60000);
    assert_int_equal(c->result_ttl_ms, 0);
    config_destroy(&c);
    s_bad("heartbeat: { interval: 2h45m4s1ms }", "1:24", "(at most 1h)");
}

/* Every key has one type; a tag could only contradict it. */
static void
test_tags_refused(void **state)
{
    (void) state;
    s_bad("log: { level: !!str info }", "1:15",
          "YAML tags (here \"tag:yaml.org,2002:str\") are not supported");
    s_bad("log:\n  level: !custom info\n", "2:10",
          "YAML tags (here \"!custom\") are not supported; write the value "
          "without it");
    s_bad("heartbeat: !!map { interval: 1s }", "1:12", "YAML tags");
    s_bad("pools: !!seq []", "1:8", "YAML tags");
    s_bad("jobs: { exec: { allow: [a, !x b] } }", "1:28", "\"!x\"");
    s_bad("--- !!map\nlog: {}\n", "1:5", "YAML tags");
    s_bad("log: { level: ! info }", "1:15", "(here \"!\")");
    s_bad("journal: { path: !!str 'x' }", "1:18", "YAML tags");
}

static void
test_pool_names(void **state)
{
    (void) state;
    s_bad("pools:\n  - processes: 2\n", "2:5",
          "pools[0]: missing required key \"name\"");
    s_bad("pools:\n  - name: a\n  - name: b\n  - name: a\n", "4:11",
          "pools[2].name: \"a\" is already the name of pools[0]");
    s_bad("pools: [ {} ]", "1:10", "pools[0]: missing required key \"name\"");
}

static void
test_alias_refused(void **state)
{
    (void) state;
    s_bad("a: &x 1s\nheartbeat: { interval: *x }\n", "1:4",
          "aliases and anchors are not supported");
    s_bad("heartbeat: { interval: *x }\n", "1:24",
          "aliases and anchors are not supported");
    s_bad("listen: &l\n  clients: tcp://a:1\n", "1:9",
          "aliases and anchors are not supported");
    /* The classic: must stop at the first anchor, long before expanding. */
    s_bad("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
          "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
          "1:4", "aliases and anchors are not supported");
}

static void
test_deep_nesting_refused(void **state)
{
    (void) state;
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        text[n++] = '[';
    for (int i = 0; i < 40; i++)
        text[n++] = ']';
    text[n] = '\0';
    /* The 33rd "[" is column 33: 32 levels are allowed, the 33rd is not. */
    s_bad(text, "1:33", "nested more than 32 levels deep");

    /* Just within the bound it reaches the schema and fails there. */
    n = 0;
    n += (size_t) snprintf(text + n, sizeof text - n, "jobs: ");
    for (int i = 0; i < 31; i++)
        text[n++] = '[';
    for (int i = 0; i < 31; i++)
        text[n++] = ']';
    text[n] = '\0';
    s_bad(text, "1:7", "jobs: wrong type (expected a mapping");
}

static void
test_too_many_values_refused(void **state)
{
    (void) state;
    size_t size = 2 + 2 * 20000 + 2;
    char *text = malloc(size);
    assert_non_null(text);
    size_t n = 0;
    text[n++] = '[';
    for (int i = 0; i < 20000; i++) {
        text[n++] = 'a';
        text[n++] = ',';
    }
    text[n - 1] = ']';
    text[n] = '\0';
    /* Node 10001 is the 10000th scalar: column 2 + 2 * 9999. */
    s_bad(text, "1:20000", "too many values");
    free(text);
}

static void
test_too_big_refused(void **state)
{
    (void) state;
    size_t size = 1024 * 1024 + 1;
    char *text = malloc(size);
    assert_non_null(text);
    memset(text, '#', size);
    char err[CONFIG_ERROR_MAX];
    config_t *config = config_parse(T_NAME, text, size, err);
    assert_null(config);
    assert_non_null(strstr(err, T_NAME ": larger than"));
    free(text);
}

static void
test_malformed_yaml(void **state)
{
    (void) state;
    /* libyaml's problem_mark: where the bad token is, 1-based. */
    s_bad("listen:\n  clients: a\n workers: b\n", "3:2",
          "did not find expected key");
    s_bad("heartbeat: { interval: 1s\n", "2:1",
          "did not find expected ',' or '}'");
    s_bad("log: \"info\n", "2:1", "found unexpected end of stream");
    s_bad("a: b: c\n", "1:5",
          "mapping values are not allowed in this context");
    s_bad("\tlisten: {}\n", "1:1",
          "found character that cannot start any token (while scanning for "
          "the next token); YAML indents with spaces, not tabs");
    s_bad("log:\n  level: info\npools:\n\t- name: a\n", "4:1", "not tabs");
    /* Reader errors carry an offset, not a mark. */
    s_bad("log:\n  level: \xff\n", "2:10", "invalid leading UTF-8 octet");
    s_bad("log: { level: \"a\x01\" }\n", "1:17",
          "control characters are not allowed");
}

static void
test_top_level_not_mapping(void **state)
{
    (void) state;
    s_bad("- listen\n- pools\n", "1:1",
          "the top level must be a mapping of sections");
    s_bad("# hello\n  just some text\n", "2:3",
          "top level must be a mapping of sections (listen:, pools:, jobs:, "
          "...), got \"just some text\"");
    s_bad("--- 42\n", "1:5", "got \"42\"");
}

static void
test_one_document_only(void **state)
{
    (void) state;
    s_bad("log: { level: info }\n---\nlog: { level: debug }\n", "2:1",
          "only one YAML document is allowed");
}

static void
test_nul_refused(void **state)
{
    (void) state;
    s_bad("journal: { path: \"a\\0b\" }\n", "1:18",
          "NUL characters are not allowed");
}

static void
test_long_values_are_cut_in_messages(void **state)
{
    (void) state;
    char text[4096];
    snprintf(text, sizeof text, "log: { level: \"%0*d\\n\" }", 2000, 7);
    char err[CONFIG_ERROR_MAX];
    config_t *config = config_parse(T_NAME, text, strlen(text), err);
    assert_null(config);
    assert_true(strlen(err) < 200);
    assert_non_null(strstr(err, "...\" is not one of: debug"));

    snprintf(text, sizeof text, "log: { level: \"a\\tb\\\"c\" }");
    config = config_parse(T_NAME, text, strlen(text), err);
    assert_null(config);
    assert_non_null(strstr(err, "\"a\\tb\\\"c\" is not one of"));
}

static void
test_null_err_buffer(void **state)
{
    (void) state;
    const char *text = "nope: 1";
    assert_null(config_parse(T_NAME, text, strlen(text), NULL));
    assert_null(config_load("/nonexistent/goro.yaml", NULL));
}

static void
test_load_errors_name_the_file(void **state)
{
    (void) state;
    char err[CONFIG_ERROR_MAX];
    assert_null(config_load("/nonexistent/goro.yaml", err));
    assert_string_equal(err, "/nonexistent/goro.yaml: cannot open: "
                             "No such file or directory");

    char dir[] = "/tmp/test_config.XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_null(config_load(dir, err));
    assert_non_null(strstr(err, ": cannot read: "));

    char path[128];
    snprintf(path, sizeof path, "%s/goro.yaml", dir);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("log:\n  level: info\nlisten:\n    clientz: x\n", file);
    fclose(file);
    assert_null(config_load(path, err));
    char expected[256];
    snprintf(expected, sizeof expected,
             "%s:4:5: unknown key \"listen.clientz\" "
             "(expected one of: clients, workers)",
             path);
    assert_string_equal(err, expected);

    file = fopen(path, "w");
    assert_non_null(file);
    fputs("log: { level: debug }\n", file);
    fclose(file);
    config_t *config = config_load(path, err);
    assert_non_null(config);
    assert_int_equal(config->log_level, CONFIG_LOG_DEBUG);
    config_destroy(&config);

    /* A file past the size bound is refused before parsing. */
    file = fopen(path, "w");
    assert_non_null(file);
    char line[1024];
    memset(line, '#', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 1025; i++) /* 1 MiB + 1 KiB of comments */
        assert_int_equal(fwrite(line, 1, sizeof line, file), sizeof line);
    fclose(file);
    assert_null(config_load(path, err));
    assert_non_null(strstr(err, ": larger than"));

    unlink(path);
    rmdir(dir);
}

/* Errors deep into a parse, after defaults were replaced and lists
   built, must free all of it (run under LSan). */
static void
test_errors_after_partial_fill_do_not_leak(void **state)
{
    (void) state;
    s_bad("listen: { clients: tcp://127.0.0.1:1 }\n"
          "pools: [ { name: a, command: x }, { name: b, command: y }, 5 ]\n",
          "2:60", "pools[2]: wrong type");
    s_bad("jobs: { exec: { allow: [a, b, c, [d]] } }\n", "1:34",
          "jobs.exec.allow[3]: wrong type");
    s_bad("security: { curve: { cert: a, clients: b, workers: c } }\n"
          "journal: { path: p }\nlog: { level: loud }\n",
          "3:15", "log.level");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_has_defaults),
        cmocka_unit_test(test_empty_is_defaults),
        cmocka_unit_test(test_comments_only_is_defaults),
        cmocka_unit_test(test_repo_goro_yaml_is_defaults),
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_every_key_block_style),
        cmocka_unit_test(test_every_key_flow_style),
        cmocka_unit_test(test_each_key_overrides_alone),
        cmocka_unit_test(test_pools_variants),
        cmocka_unit_test(test_exec_allow_variants),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_null_section_and_strings),
        cmocka_unit_test(test_later_key_replaces_default_without_leak),
        cmocka_unit_test(test_unknown_key_top),
        cmocka_unit_test(test_unknown_key_nested),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_bad_duration),
        cmocka_unit_test(test_bad_size),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_bad_int),
        cmocka_unit_test(test_bad_bool),
        cmocka_unit_test(test_bad_endpoint),
        cmocka_unit_test(test_endpoint_ports),
        cmocka_unit_test(test_endpoint_hosts),
        cmocka_unit_test(test_endpoint_blanks),
        cmocka_unit_test(test_endpoint_ipc),
        cmocka_unit_test(test_listen_clash),
        cmocka_unit_test(test_journal_path),
        cmocka_unit_test(test_numbers_bounded),
        cmocka_unit_test(test_strings_bounded),
        cmocka_unit_test(test_durations_go_syntax),
        cmocka_unit_test(test_tags_refused),
        cmocka_unit_test(test_pool_names),
        cmocka_unit_test(test_alias_refused),
        cmocka_unit_test(test_deep_nesting_refused),
        cmocka_unit_test(test_too_many_values_refused),
        cmocka_unit_test(test_too_big_refused),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_top_level_not_mapping),
        cmocka_unit_test(test_one_document_only),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_long_values_are_cut_in_messages),
        cmocka_unit_test(test_null_err_buffer),
        cmocka_unit_test(test_load_errors_name_the_file),
        cmocka_unit_test(test_errors_after_partial_fill_do_not_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
