/*  test_exec - client/exec.c without a worker: WELCOME's policy lines
    parsed (every key, the defaults, unknown keys and lines ignored, a
    deep copy), then real commands through exec_run: the exit status and
    128+N for a signal, stdout and stderr captured apart and cut at
    max_output, a command that cannot run (127 and a shell's wording), a
    malformed payload, stdin from /dev/null, a process group of its own
    reported through on_pgid (then 0 before the reap), a clean signal
    mask and no inherited descriptors, the GORO_* variables, the policy's
    environment filter, and the fork path's resource limits and unknown
    user; then the same through exec_start and a poll loop, as the
    worker's serving thread runs them: status and output cut at
    max_output, a command that closes its output and goes on (its pidfd),
    SIGTERM ignored then SIGKILL through exec_child_signal, a program not
    found, and the application's handlers not inherited.

    Commands run through /bin/sh -c, as a job's argv would name them.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"

/* An argv payload: the strings of ARGS, each with its NUL. */
typedef struct {
    uint8_t data[4096];
    size_t size;
} payload_t;

static void
s_payload(payload_t *p, const char *const *args)
{
    p->size = 0;
    for (; *args; args++) {
        size_t len = strlen(*args) + 1;
        assert_true(p->size + len <= sizeof p->data);
        memcpy(p->data + p->size, *args, len);
        p->size += len;
    }
}

/* What on_pgid was told, in order. */
typedef struct {
    pid_t calls[4];
    size_t count;
} pgids_t;

static void
s_on_pgid(pid_t pgid, void *arg)
{
    pgids_t *seen = arg;
    if (seen->count < 4)
        seen->calls[seen->count] = pgid;
    seen->count++;
}

/* The spec of job 42, attempt 3: `sh -c SCRIPT`, its argv in *P,
   keeping MAX_OUTPUT bytes. */
static exec_spec_t
s_sh_spec(payload_t *p, const char *script, size_t max_output)
{
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    s_payload(p, args);
    exec_spec_t spec = {.argv = p->data,
                        .size = p->size,
                        .max_output = max_output,
                        .job_id = 42,
                        .attempt = 3};
    return spec;
}

/* Runs `sh -c SCRIPT` with POLICY (or NULL), keeping MAX_OUTPUT bytes. */
static void
s_sh(const char *script, const exec_policy_t *policy, size_t max_output,
     exec_result_t *result)
{
    payload_t p;
    exec_spec_t spec = s_sh_spec(&p, script, max_output);
    spec.policy = policy;
    exec_run(&spec, result);
}

static exec_policy_t *
s_policy(const char *const *lines, size_t count)
{
    return exec_policy_parse((char *const *) lines, count);
}

/* ------------------------------------------------------------------ */
/*  The policy                                                        */
/* ------------------------------------------------------------------ */

static void
test_policy_defaults(void **state)
{
    (void) state;
    exec_policy_t *policy = exec_policy_parse(NULL, 0);
    assert_non_null(policy);
    assert_null(policy->env); /* all variables kept */
    assert_int_equal(policy->nenv, 0);
    assert_null(policy->run_as);
    assert_int_equal(policy->cpu_s, 0);
    assert_int_equal(policy->memory, 0);
    assert_int_equal(policy->files, 0);
    assert_int_equal(policy->procs, 0);
    assert_int_equal(policy->kill_grace_ms, EXEC_KILL_GRACE_MS);
    assert_int_equal(policy->max_output, -1); /* not said */
    exec_policy_destroy(&policy);
    assert_null(policy);
    exec_policy_destroy(&policy);
    exec_policy_destroy(NULL);
}

static void
test_policy_every_key(void **state)
{
    (void) state;
    const char *lines[] = {
        "env=PATH",
        "env=LC_*",
        "run_as=nobody",
        "limit.cpu=10",
        "limit.memory=1073741824",
        "limit.files=64",
        "limit.procs=32",
        "kill_grace=250",
        "max_output=65536",
    };
    exec_policy_t *policy = s_policy(lines, sizeof lines / sizeof *lines);
    assert_int_equal(policy->nenv, 2);
    assert_string_equal(policy->env[0], "PATH");
    assert_string_equal(policy->env[1], "LC_*");
    assert_null(policy->env[2]);
    assert_string_equal(policy->run_as, "nobody");
    assert_int_equal(policy->cpu_s, 10);
    assert_int_equal(policy->memory, UINT64_C(1073741824));
    assert_int_equal(policy->files, 64);
    assert_int_equal(policy->procs, 32);
    assert_int_equal(policy->kill_grace_ms, 250);
    assert_int_equal(policy->max_output, 65536);
    exec_policy_destroy(&policy);
}

/* A newer gorod may say more: unknown keys and lines without '=' go by;
   a key only counts whole ("envy=" is not "env="). */
static void
test_policy_ignores_unknown(void **state)
{
    (void) state;
    const char *lines[] = {
        "colour=blue",  "no equals sign", "envy=HOME",     "limit.cpus=4",
        "kill_grace=0", "run_as=",        "limit.files=8", "limit.files=9",
    };
    exec_policy_t *policy = s_policy(lines, sizeof lines / sizeof *lines);
    assert_null(policy->env);
    assert_int_equal(policy->nenv, 0);
    assert_null(policy->run_as); /* empty: the worker's */
    assert_int_equal(policy->cpu_s, 0);
    assert_int_equal(policy->kill_grace_ms, 0); /* SIGKILL at once */
    assert_int_equal(policy->files, 9);         /* the last one says */
    exec_policy_destroy(&policy);
}

static void
test_policy_copy_is_deep(void **state)
{
    (void) state;
    const char *lines[] = {"env=HOME", "env=T_*", "run_as=nobody",
                           "limit.procs=5"};
    exec_policy_t *policy = s_policy(lines, 4);
    exec_policy_t *copy = exec_policy_copy(policy);
    exec_policy_destroy(&policy);
    assert_int_equal(copy->nenv, 2);
    assert_string_equal(copy->env[0], "HOME");
    assert_string_equal(copy->env[1], "T_*");
    assert_null(copy->env[2]);
    assert_string_equal(copy->run_as, "nobody");
    assert_int_equal(copy->procs, 5);
    exec_policy_destroy(&copy);
    /* and of a policy without lists */
    policy = exec_policy_parse(NULL, 0);
    copy = exec_policy_copy(policy);
    exec_policy_destroy(&policy);
    assert_null(copy->env);
    assert_null(copy->run_as);
    exec_policy_destroy(&copy);
}

/* ------------------------------------------------------------------ */
/*  Running commands                                                  */
/* ------------------------------------------------------------------ */

static void
test_status_and_output(void **state)
{
    (void) state;
    exec_result_t result;
    s_sh("printf 'to out'; printf 'to err' >&2; exit 3", NULL, 1024, &result);
    assert_int_equal(result.status, 3);
    assert_int_equal(result.out_size, 6);
    assert_memory_equal(result.out, "to out", 7); /* NUL after the end */
    assert_int_equal(result.err_size, 6);
    assert_string_equal(result.err, "to err");
    exec_result_fini(&result);
    assert_null(result.out);
    assert_null(result.err);
    s_sh("true", NULL, 1024, &result);
    assert_int_equal(result.status, 0);
    assert_int_equal(result.out_size, 0);
    assert_non_null(result.out);
    assert_string_equal(result.err, "");
    exec_result_fini(&result);
}

static void
test_killed_by_signal(void **state)
{
    (void) state;
    exec_result_t result;
    s_sh("kill -TERM $$", NULL, 1024, &result);
    assert_int_equal(result.status, 128 + SIGTERM);
    exec_result_fini(&result);
}

/* Output past max_output is read and dropped: the command is not
   blocked on a full pipe, and ends. */
static void
test_output_bounded(void **state)
{
    (void) state;
    exec_result_t result;
    s_sh("head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; exit 7",
         NULL, 1000, &result);
    assert_int_equal(result.status, 7);
    assert_int_equal(result.out_size, 1000);
    assert_int_equal(result.err_size, 1000);
    exec_result_fini(&result);
    s_sh("echo dropped", NULL, 0, &result);
    assert_int_equal(result.status, 0);
    assert_int_equal(result.out_size, 0);
    exec_result_fini(&result);
}

static void
test_not_run(void **state)
{
    (void) state;
    const char *args[] = {"goro-test-no-such-program", "x", NULL};
    payload_t p;
    s_payload(&p, args);
    exec_spec_t spec = {.argv = p.data, .size = p.size, .max_output = 100};
    exec_result_t result;
    exec_run(&spec, &result);
    assert_int_equal(result.status, EXEC_STATUS_NOT_RUN);
    assert_string_equal(result.err, "exec: goro-test-no-such-program: No "
                                    "such file or directory");
    assert_int_equal(result.err_size, strlen(result.err));
    assert_int_equal(result.out_size, 0);
    exec_result_fini(&result);
}

/* The payload must be NUL-terminated strings, argv[0] not empty. */
static void
test_malformed_payload(void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        size_t size;
    } bad[] = {
        {"", 0},        /* nothing */
        {"sh", 2},      /* no NUL at the end */
        {"\0-c", 4},    /* empty argv[0] */
        {"true\0x", 6}, /* last string unterminated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        exec_spec_t spec = {.argv = (const uint8_t *) bad[i].bytes,
                            .size = bad[i].size,
                            .max_output = 100};
        exec_result_t result;
        exec_run(&spec, &result);
        assert_int_equal(result.status, EXEC_STATUS_NOT_RUN);
        if (!strstr(result.err, "malformed command"))
            fail_msg("payload %zu: \"%s\"", i, result.err);
        exec_result_fini(&result);
    }
}

static void
test_stdin_is_dev_null(void **state)
{
    (void) state;
    exec_result_t result;
    /* cat ends at once on /dev/null; on an inherited terminal or pipe it
       would wait. */
    s_sh("cat; readlink /proc/self/fd/0", NULL, 1024, &result);
    assert_int_equal(result.status, 0);
    assert_string_equal((char *) result.out, "/dev/null\n");
    exec_result_fini(&result);
}

/* The command leads a group of its own, which on_pgid names; then 0,
   before the reap. */
static void
test_own_process_group(void **state)
{
    (void) state;
    const char *args[] = {"/bin/sh", "-c", "cut -d' ' -f1,5 /proc/$$/stat",
                          NULL};
    payload_t p;
    s_payload(&p, args);
    pgids_t seen = {{0}, 0};
    exec_spec_t spec = {.argv = p.data,
                        .size = p.size,
                        .max_output = 100,
                        .on_pgid = s_on_pgid,
                        .arg = &seen};
    exec_result_t result;
    exec_run(&spec, &result);
    assert_int_equal(result.status, 0);
    long pid = 0, pgid = 0;
    assert_int_equal(sscanf((char *) result.out, "%ld %ld", &pid, &pgid), 2);
    assert_int_equal(pid, pgid);
    assert_int_not_equal(pgid, getpgrp());
    assert_int_equal(seen.count, 2);
    assert_int_equal(seen.calls[0], pgid);
    assert_int_equal(seen.calls[1], 0);
    exec_result_fini(&result);
}

/* Runs ARGS (no shell: a shell changes its own mask as it waits). */
static void
s_run(const char *const *args, exec_result_t *result)
{
    payload_t p;
    s_payload(&p, args);
    exec_spec_t spec = {.argv = p.data, .size = p.size, .max_output = 1024};
    exec_run(&spec, result);
}

/* Whatever the worker blocks, ignores or left open without O_CLOEXEC,
   the command starts clean. */
static void
test_clean_signals_and_descriptors(void **state)
{
    (void) state;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    int leaked = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
    assert_true(leaked > 2);
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", leaked);
    exec_result_t signals, fds;
    const char *grep[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status",
                          NULL};
    s_run(grep, &signals);
    const char *test[] = {"test", "-e", fd_path, NULL};
    s_run(test, &fds);
    close(leaked);
    signal(SIGPIPE, old_pipe);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(signals.status, 0);
    if (!strstr((char *) signals.out, "SigBlk:\t0000000000000000\n"))
        fail_msg("signals blocked in the command: %s", (char *) signals.out);
    char *ign = strstr((char *) signals.out, "SigIgn:\t");
    assert_non_null(ign);
    unsigned long long ignored = strtoull(ign + 8, NULL, 16);
    assert_false(ignored & (1ULL << (SIGPIPE - 1)));
    assert_int_equal(fds.status, 1); /* not there */
    exec_result_fini(&signals);
    exec_result_fini(&fds);
}

static void
test_goro_variables(void **state)
{
    (void) state;
    setenv("GORO_JOB_ID", "999", 1); /* ours replace these */
    setenv("GORO_ATTEMPT", "999", 1);
    setenv("GORO_ENDPOINT", "tcp://inherited:1", 1);
    const char *script = "echo $GORO_JOB_ID $GORO_ATTEMPT $GORO_ENDPOINT";
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    payload_t p;
    s_payload(&p, args);
    exec_spec_t spec = {.argv = p.data,
                        .size = p.size,
                        .max_output = 100,
                        .job_id = UINT64_MAX,
                        .attempt = 2,
                        .endpoint = "ipc:///tmp/given"};
    exec_result_t result;
    exec_run(&spec, &result);
    assert_string_equal((char *) result.out,
                        "18446744073709551615 2 ipc:///tmp/given\n");
    exec_result_fini(&result);
    /* without an endpoint to give, the command inherits ours */
    spec.endpoint = NULL;
    exec_run(&spec, &result);
    assert_string_equal((char *) result.out,
                        "18446744073709551615 2 tcp://inherited:1\n");
    exec_result_fini(&result);
    unsetenv("GORO_JOB_ID");
    unsetenv("GORO_ATTEMPT");
    unsetenv("GORO_ENDPOINT");
}

/* env= patterns keep what they match, the certificates always, and
   goro's own variables are set whatever the patterns say. */
static void
test_policy_filters_environment(void **state)
{
    (void) state;
    setenv("T_KEEP_ME", "kept", 1);
    setenv("T_DROP_ME", "dropped", 1);
    setenv("GORO_CERT", "/cert", 1);
    const char *lines[] = {"env=T_KEEP_*", "env=PATH"};
    exec_policy_t *policy = s_policy(lines, 2);
    exec_result_t result;
    s_sh("echo ${T_KEEP_ME-no} ${T_DROP_ME-no} ${GORO_CERT-no} "
         "${GORO_JOB_ID-no}",
         policy, 1024, &result);
    assert_string_equal((char *) result.out, "kept no /cert 42\n");
    exec_result_fini(&result);
    /* no policy: everything is kept */
    s_sh("echo ${T_KEEP_ME-no} ${T_DROP_ME-no}", NULL, 1024, &result);
    assert_string_equal((char *) result.out, "kept dropped\n");
    exec_result_fini(&result);
    exec_policy_destroy(&policy);
    unsetenv("T_KEEP_ME");
    unsetenv("T_DROP_ME");
    unsetenv("GORO_CERT");
}

/* Limits take the fork path; the command runs under them. */
static void
test_policy_limits(void **state)
{
    (void) state;
    const char *lines[] = {"limit.files=17", "limit.cpu=30"};
    exec_policy_t *policy = s_policy(lines, 2);
    exec_result_t result;
    s_sh("ulimit -n; ulimit -t; echo err >&2; exit 4", policy, 1024, &result);
    assert_int_equal(result.status, 4);
    assert_string_equal((char *) result.out, "17\n30\n");
    assert_string_equal(result.err, "err\n");
    exec_result_fini(&result);
    /* a program that is not there fails as on the spawn path */
    const char *args[] = {"goro-test-no-such-program", NULL};
    payload_t p;
    s_payload(&p, args);
    exec_spec_t spec = {
        .argv = p.data, .size = p.size, .max_output = 100, .policy = policy};
    exec_run(&spec, &result);
    assert_int_equal(result.status, EXEC_STATUS_NOT_RUN);
    assert_string_equal(result.err, "exec: goro-test-no-such-program: No "
                                    "such file or directory");
    exec_result_fini(&result);
    exec_policy_destroy(&policy);
}

static void
test_policy_unknown_user(void **state)
{
    (void) state;
    const char *lines[] = {"run_as=goro-test-no-such-user"};
    exec_policy_t *policy = s_policy(lines, 1);
    exec_result_t result;
    s_sh("echo ran", policy, 1024, &result);
    assert_int_equal(result.status, EXEC_STATUS_NOT_RUN);
    assert_string_equal(result.err, "exec: jobs.exec.run_as: no user "
                                    "goro-test-no-such-user on this worker");
    assert_int_equal(result.out_size, 0);
    exec_result_fini(&result);
    exec_policy_destroy(&policy);
}

/* ------------------------------------------------------------------ */
/*  exec_start: the poll loop's way (the worker's serving thread)     */
/* ------------------------------------------------------------------ */

/* Starts `sh -c SCRIPT`, or returns -1 with *RESULT filled. */
static int
s_start(const char *script, size_t max_output, exec_child_t **child,
        exec_result_t *result)
{
    payload_t p;
    exec_spec_t spec = s_sh_spec(&p, script, max_output);
    return exec_start(&spec, child, result);
}

/* Polls CHILD's descriptors as the worker does until it is reaped, at
   most TIMEOUT_MS; true if it was. */
static bool
s_poll_until_reaped(exec_child_t *child, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        struct pollfd fds[3];
        int which[3], n = 0;
        for (int i = 0; i < 3; i++) {
            int fd = exec_child_fd(child, i);
            if (fd >= 0) {
                fds[n] = (struct pollfd){fd, POLLIN, 0};
                which[n++] = i;
            }
        }
        assert_true(n > 0); /* something always says what comes next */
        assert_true(poll(fds, (nfds_t) n, 10) >= 0);
        for (int i = 0; i < n; i++)
            if (fds[i].revents && exec_child_input(child, which[i]))
                return true;
    }
    return false;
}

static void
test_start_status_and_bounded_output(void **state)
{
    (void) state;
    assert_true(exec_pollable()); /* Linux >= 5.3 */
    exec_child_t *child;
    exec_result_t result;
    assert_int_equal(s_start("head -c 300000 /dev/zero; printf 'to err' >&2; "
                             "head -c 200000 /dev/zero >&2; exit 7",
                             1000, &child, &result),
                     0);
    assert_true(exec_child_pgid(child) > 0);
    assert_true(s_poll_until_reaped(child, 10000));
    exec_child_finish(&child, &result);
    assert_null(child);
    assert_int_equal(result.status, 7);
    assert_int_equal(result.out_size, 1000);
    assert_int_equal(result.err_size, 1000);
    assert_memory_equal(result.err, "to err", 6);
    assert_int_equal(result.err[1000], 0);
    exec_result_fini(&result);
}

/* A command that closes its output and goes on is waited for through its
   pidfd, and ends when it exits, not at EOF. */
static void
test_start_closed_output_waits_for_exit(void **state)
{
    (void) state;
    exec_child_t *child;
    exec_result_t result;
    assert_int_equal(s_start("echo before; exec >&- 2>&-; sleep 0.2; exit 5",
                             100, &child, &result),
                     0);
    assert_true(s_poll_until_reaped(child, 10000));
    exec_child_finish(&child, &result);
    assert_int_equal(result.status, 5);
    assert_string_equal((char *) result.out, "before\n");
    exec_result_fini(&result);
}

/* exec_child_signal reaches the group: SIGTERM that is ignored, then
   SIGKILL, as a KILL after kill_grace does. */
static void
test_start_signal_term_then_kill(void **state)
{
    (void) state;
    exec_child_t *child;
    exec_result_t result;
    assert_int_equal(s_start("trap '' TERM; echo ready; exec sleep 30", 100,
                             &child, &result),
                     0);
    /* "ready": the trap is set. */
    struct pollfd out = {exec_child_fd(child, 0), POLLIN, 0};
    assert_int_equal(poll(&out, 1, 10000), 1);
    assert_false(exec_child_input(child, 0));
    exec_child_signal(child, SIGTERM);
    assert_false(s_poll_until_reaped(child, 300)); /* ignored */
    exec_child_signal(child, SIGKILL);
    assert_true(s_poll_until_reaped(child, 10000));
    exec_child_signal(child, SIGKILL); /* reaped: a no-op */
    exec_child_finish(&child, &result);
    assert_int_equal(result.status, 128 + SIGKILL);
    assert_string_equal((char *) result.out, "ready\n");
    exec_result_fini(&result);
}

/* A program that is not there never starts: the result says why. */
static void
test_start_not_run(void **state)
{
    (void) state;
    const char *args[] = {"goro-test-no-such-program", NULL};
    payload_t p;
    s_payload(&p, args);
    exec_spec_t spec = {.argv = p.data, .size = p.size, .max_output = 100};
    exec_child_t *child = (exec_child_t *) &spec; /* must be cleared */
    exec_result_t result;
    assert_int_equal(exec_start(&spec, &child, &result), -1);
    assert_null(child);
    assert_int_equal(result.status, EXEC_STATUS_NOT_RUN);
    assert_string_equal(result.err, "exec: goro-test-no-such-program: No "
                                    "such file or directory");
    exec_result_fini(&result);
}

/* A handler the application installed is not the command's, nor is a
   disposition it ignores from the short list. */
static void
s_on_usr1(int sig)
{
    (void) sig;
}

static void
test_start_handlers_reset(void **state)
{
    (void) state;
    struct sigaction sa, old_usr1, old_usr2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_usr1;
    sigaction(SIGUSR1, &sa, &old_usr1);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &sa, &old_usr2);
    exec_child_t *child;
    exec_result_t result;
    assert_int_equal(s_start("grep -E '^Sig(Ign|Cgt)' /proc/self/status; "
                             "kill -USR1 $$; echo survived",
                             1024, &child, &result),
                     0);
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGUSR2, &old_usr2, NULL);
    assert_true(s_poll_until_reaped(child, 10000));
    exec_child_finish(&child, &result);
    assert_int_equal(result.status, 128 + SIGUSR1);
    char *ign = strstr((char *) result.out, "SigIgn:\t");
    assert_non_null(ign);
    unsigned long long ignored = strtoull(ign + 8, NULL, 16);
    assert_false(ignored & (1ULL << (SIGUSR2 - 1)));
    assert_null(strstr((char *) result.out, "survived"));
    exec_result_fini(&result);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_defaults),
        cmocka_unit_test(test_policy_every_key),
        cmocka_unit_test(test_policy_ignores_unknown),
        cmocka_unit_test(test_policy_copy_is_deep),
        cmocka_unit_test(test_status_and_output),
        cmocka_unit_test(test_killed_by_signal),
        cmocka_unit_test(test_output_bounded),
        cmocka_unit_test(test_not_run),
        cmocka_unit_test(test_malformed_payload),
        cmocka_unit_test(test_stdin_is_dev_null),
        cmocka_unit_test(test_own_process_group),
        cmocka_unit_test(test_clean_signals_and_descriptors),
        cmocka_unit_test(test_goro_variables),
        cmocka_unit_test(test_policy_filters_environment),
        cmocka_unit_test(test_policy_limits),
        cmocka_unit_test(test_policy_unknown_user),
        cmocka_unit_test(test_start_status_and_bounded_output),
        cmocka_unit_test(test_start_closed_output_waits_for_exit),
        cmocka_unit_test(test_start_signal_term_then_kill),
        cmocka_unit_test(test_start_not_run),
        cmocka_unit_test(test_start_handlers_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
