/*  affinity - see affinity.h. */
#include "affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A fact of the whole process, set once before any thread starts. */
static cpu_set_t s_before;
static bool s_pinned;

int
affinity_pin(int cpu, char *err, size_t err_size)
{
    if (cpu < 0)
        return 0;
    if (sched_getaffinity(0, sizeof s_before, &s_before) != 0) {
        snprintf(err, err_size, "loop.cpu: cannot read the CPU mask: %s",
                 strerror(errno));
        return -1;
    }
    if (!CPU_ISSET(cpu, &s_before)) {
        snprintf(err, err_size,
                 "loop.cpu: CPU %d is not one gorod may run on (%d allowed)",
                 cpu, CPU_COUNT(&s_before));
        return -1;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
        snprintf(err, err_size, "loop.cpu: cannot pin to CPU %d: %s", cpu,
                 strerror(errno));
        return -1;
    }
    s_pinned = true;
    return 0;
}

void
affinity_restore(void)
{
    if (s_pinned)
        sched_setaffinity(0, sizeof s_before, &s_before);
}
