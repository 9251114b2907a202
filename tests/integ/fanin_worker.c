/*  fanin_worker - an app-function worker for the channel and waitgroup
    integration tests, written as an application would: goro_worker_*
    to serve, goro_call_client() to use channels and start jobs from
    inside a handler.

        fanin_worker WORKERS_ENDPOINT [CONCURRENCY]

    Functions:
      sum_half  payload "CHAN n1 n2 ...": sends the sum of the numbers on
                channel CHAN (waiting for a receiver as long as it takes),
                and replies with it too. Go's fan-in example.
      fanout    payload "GROUP N PATH [HOLD]": submits N `leaf` jobs with
                payload PATH into waitgroup GROUP, waits (at most 30 s)
                until HOLD exists if given, then returns: a job that
                starts more work in its own group before its Done.
      leaf      payload PATH: waits (at most 30 s) until PATH exists.
      gate      payload CHAN: receives from channel CHAN (at most 30 s)
                through goro_call_client() until it is closed: each job
                thread holds a client socket of its own, parked in gorod.
*/
#include "goro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAF_WAIT_MS 30000

/* The payload as a NUL-terminated copy (free()). */
static char *
s_payload(goro_call_t *call)
{
    size_t len = 0;
    const void *data = goro_call_data(call, &len);
    char *text = malloc(len + 1);
    if (!text)
        abort();
    memcpy(text, data, len);
    text[len] = '\0';
    return text;
}

static int
s_fail(goro_call_t *call, char *payload, const char *what, int rc)
{
    char text[256];
    snprintf(text, sizeof text, "%s: %s", what, goro_strerror(rc));
    goro_call_error(call, text);
    free(payload);
    return 1;
}

static int
s_sum_half(goro_call_t *call, void *arg)
{
    (void) arg;
    char *text = s_payload(call);
    char *save = NULL;
    char *chan = strtok_r(text, " ", &save);
    if (!chan)
        return s_fail(call, text, "sum_half: no channel", GORO_EINVAL);
    long long total = 0;
    for (char *word = strtok_r(NULL, " ", &save); word;
         word = strtok_r(NULL, " ", &save)) {
        char *end = NULL;
        errno = 0;
        long long value = strtoll(word, &end, 10);
        if (errno || !end || *end)
            return s_fail(call, text, "sum_half: not a number", GORO_EINVAL);
        total += value;
    }
    char sum[32];
    int n = snprintf(sum, sizeof sum, "%lld", total);
    int rc = goro_chan_send(goro_call_client(call), chan, sum, (size_t) n, -1);
    if (rc)
        return s_fail(call, text, "sum_half: send", rc);
    goro_call_reply(call, sum, (size_t) n);
    free(text);
    return 0;
}

/* Waits until PATH exists: 0, or -1 after LEAF_WAIT_MS or a cancel. */
static int
s_wait_for(goro_call_t *call, const char *path)
{
    for (int waited = 0; waited < LEAF_WAIT_MS; waited += 10) {
        if (access(path, F_OK) == 0)
            return 0;
        if (goro_call_cancelled(call))
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int
s_fanout(goro_call_t *call, void *arg)
{
    (void) arg;
    char *text = s_payload(call);
    char group[128], path[2048], hold[2048] = "";
    int n = 0;
    int got = sscanf(text, "%127s %d %2047s %2047s", group, &n, path, hold);
    if (got < 3 || n < 0)
        return s_fail(call, text, "fanout: payload", GORO_EINVAL);
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = group;
    goro_t *client = goro_call_client(call);
    for (int i = 0; i < n; i++) {
        uint64_t id = 0;
        int rc = goro_go(client, "leaf", path, strlen(path), &opts, &id);
        if (rc)
            return s_fail(call, text, "fanout: go", rc);
    }
    if (*hold && s_wait_for(call, hold) != 0)
        return s_fail(call, text, "fanout: hold", GORO_ETIMEDOUT);
    free(text);
    return 0;
}

static int
s_leaf(goro_call_t *call, void *arg)
{
    (void) arg;
    char *path = s_payload(call);
    int rc = s_wait_for(call, path);
    if (rc)
        goro_call_error(call, "leaf: the file never appeared");
    free(path);
    return rc ? 1 : 0;
}

static int
s_gate(goro_call_t *call, void *arg)
{
    (void) arg;
    char *chan = s_payload(call);
    void *value = NULL;
    size_t len = 0;
    int rc = goro_chan_recv(goro_call_client(call), chan, LEAF_WAIT_MS, &value,
                            &len);
    goro_free(value);
    if (rc != GORO_ECLOSED)
        return s_fail(call, chan, "gate: recv", rc);
    free(chan);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fanin_worker WORKERS_ENDPOINT "
                        "[CONCURRENCY]\n");
        return 2;
    }
    goro_worker_t *worker = goro_worker_new(argv[1]);
    if (!worker) {
        fprintf(stderr, "fanin_worker: bad endpoint %s\n", argv[1]);
        return 2;
    }
    goro_worker_register(worker, "sum_half", s_sum_half, NULL);
    goro_worker_register(worker, "fanout", s_fanout, NULL);
    goro_worker_register(worker, "leaf", s_leaf, NULL);
    goro_worker_register(worker, "gate", s_gate, NULL);
    goro_worker_set_concurrency(worker, argc > 2 ? atoi(argv[2]) : 4);
    goro_worker_set_name(worker, "fanin_worker");
    int rc = goro_worker_serve(worker);
    goro_worker_destroy(&worker);
    if (rc) {
        fprintf(stderr, "fanin_worker: %s\n", goro_strerror(rc));
        return 1;
    }
    return 0;
}
