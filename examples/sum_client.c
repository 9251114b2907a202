/*  sum_client - submits `sum` jobs and prints each result: the client
    half of the app-function example.

        sum_client [CLIENTS_ENDPOINT] [NUMBERS...]    (default "1 2 3 4")
*/
#include <goro.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    goro_t *goro = goro_new(argc > 1 ? argv[1] : NULL);
    if (!goro) {
        fprintf(stderr, "sum_client: bad endpoint\n");
        return 2;
    }
    char numbers[4096] = "";
    for (int i = 2; i < argc; i++) {
        strncat(numbers, argv[i], sizeof numbers - strlen(numbers) - 2);
        strcat(numbers, " ");
    }
    if (!*numbers)
        strcpy(numbers, "1 2 3 4");

    uint64_t id;
    int rc = goro_go(goro, "sum", numbers, strlen(numbers), NULL, &id);
    goro_job_t *job = NULL;
    if (rc == GORO_OK)
        rc = goro_job_wait(goro, id, 30000, &job);
    if (rc != GORO_OK) {
        fprintf(stderr, "sum_client: %s\n", goro_strerror(rc));
        goro_destroy(&goro);
        return 1;
    }
    size_t len;
    const char *out = goro_job_output(job, &len);
    int status = goro_job_exit_status(job);
    if (goro_job_state(job) == GORO_JOB_SUCCEEDED)
        printf("%.*s\n", (int) len, out);
    else {
        const char *err = goro_job_error(job, &len);
        fprintf(stderr, "sum_client: job %s: %.*s\n",
                goro_job_state_name(goro_job_state(job)), (int) len, err);
    }
    goro_job_destroy(&job);
    goro_destroy(&goro);
    return status == 0 ? 0 : 1;
}
