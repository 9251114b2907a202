/*  goro_jobs - submits N jobs from one client with pipelining and waits
    for all of them to end, through a waitgroup; prints jobs/s.

        goro_jobs [-t MAXSEC] ENDPOINT N noop          app-function no-op jobs
        goro_jobs [-t MAXSEC] ENDPOINT N exec CMD...   exec jobs

    With -t, submission stops after MAXSEC seconds (at a chunk boundary)
    and the jobs submitted so far are waited for; the last line,
    `result rate R n N seconds S`, is what bench/run parses.
*/
#include "bench_util.h"
#include "goro.h"

#define CHUNK 10000 /* jobs per goro_go_many between clock checks */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    double maxsec = 1e9;
    if (argc > 2 && !strcmp(argv[1], "-t")) {
        maxsec = atof(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: goro_jobs [-t MAXSEC] ENDPOINT N noop|exec "
                        "[CMD...]\n");
        return 2;
    }
    goro_t *goro = goro_new(argv[1]);
    size_t count = (size_t) atol(argv[2]);
    int exec = strcmp(argv[3], "exec") == 0;
    const char *fn = exec ? "exec" : argv[3];
    /* exec payload: argv as NUL-terminated strings */
    char payload[4096];
    size_t len = 0;
    for (int i = 4; exec && i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (len + n > sizeof payload)
            return 2;
        memcpy(payload + len, argv[i], n);
        len += n;
    }
    const void **datas = calloc(count, sizeof *datas);
    size_t *lens = calloc(count, sizeof *lens);
    uint64_t *ids = calloc(count, sizeof *ids);
    for (size_t i = 0; i < count; i++) {
        datas[i] = payload;
        lens[i] = len;
    }
    char group[64];
    snprintf(group, sizeof group, "bench-%ld",
             (long) time(NULL) ^ (long) getpid());
    goro_opts_t opts = GORO_OPTS_INIT;
    opts.wg = group;
    double start = bench_now();
    int rc = GORO_OK;
    size_t sent = 0;
    while (rc == GORO_OK && sent < count && bench_now() - start < maxsec) {
        size_t k = count - sent < CHUNK ? count - sent : CHUNK;
        rc = goro_go_many(goro, fn, k, datas + sent, lens + sent, &opts,
                          ids + sent);
        sent += k;
    }
    if (rc == GORO_OK)
        rc = goro_wg_wait(goro, group, 600000);
    double elapsed = bench_now() - start;
    goro_wg_info_t info = {0};
    goro_wg_status(goro, group, &info);
    if (rc != GORO_OK || info.failed) {
        fprintf(stderr, "goro_jobs: %s (%lld failed)\n", goro_strerror(rc),
                (long long) info.failed);
        return 1;
    }
    printf("%zu %s jobs in %.3f s: %.0f jobs/s\n", sent, fn, elapsed,
           (double) sent / elapsed);
    bench_report_rate((double) sent, elapsed);
    free(datas);
    free(lens);
    free(ids);
    goro_destroy(&goro);
    return 0;
}
