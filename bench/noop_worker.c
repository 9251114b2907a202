/*  noop_worker - serves `noop`, which does nothing: the worker side of
    the jobs_noop benchmark, so that what is measured is goro itself.

        noop_worker WORKERS_ENDPOINT [CONCURRENCY [PREFETCH]]
*/
#include "goro.h"

#include <stdio.h>
#include <stdlib.h>

static int
s_noop(goro_call_t *call, void *arg)
{
    (void) call;
    (void) arg;
    return 0;
}

int
main(int argc, char **argv)
{
    goro_worker_t *worker = goro_worker_new(argc > 1 ? argv[1] : NULL);
    if (!worker)
        return 2;
    goro_worker_register(worker, "noop", s_noop, NULL);
    goro_worker_set_concurrency(worker, argc > 2 ? atoi(argv[2]) : 1);
    goro_worker_set_prefetch(worker, argc > 3 ? atoi(argv[3]) : 0);
    int rc = goro_worker_serve(worker);
    goro_worker_destroy(&worker);
    return rc ? 1 : 0;
}
