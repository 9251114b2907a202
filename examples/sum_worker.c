/*  sum_worker - serves the app function `sum`: the payload is integers in
    text ("1 2 3"), the reply is their sum ("6"). A payload that is not a
    list of integers fails the job with an error text.

        sum_worker [WORKERS_ENDPOINT]      (default $GORO_WORKERS)
*/
#include <goro.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
sum(goro_call_t *call, void *arg)
{
    (void) arg;
    size_t len;
    const char *data = goro_call_data(call, &len);
    char *text = strndup(data, len);
    long long total = 0;
    char *p = text, *end;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t')
            p++;
        if (!*p)
            break;
        errno = 0;
        long long value = strtoll(p, &end, 10);
        if (end == p || errno) {
            goro_call_error(call, "sum: the payload must be integers");
            free(text);
            return 1;
        }
        total += value;
        p = end;
    }
    free(text);
    char reply[32];
    int n = snprintf(reply, sizeof reply, "%lld", total);
    goro_call_reply(call, reply, (size_t) n);
    return 0;
}

int
main(int argc, char **argv)
{
    goro_worker_t *worker = goro_worker_new(argc > 1 ? argv[1] : NULL);
    if (!worker) {
        fprintf(stderr, "sum_worker: bad endpoint\n");
        return 2;
    }
    goro_worker_register(worker, "sum", sum, NULL);
    goro_worker_set_concurrency(worker, 2);
    int rc = goro_worker_serve(worker); /* until SIGTERM */
    goro_worker_destroy(&worker);
    if (rc) {
        fprintf(stderr, "sum_worker: %s\n", goro_strerror(rc));
        return 1;
    }
    return 0;
}
