/*  affinity - loop.cpu: gorod's threads on one CPU, its children not.

    On a VM a wake-up that crosses CPUs costs about ten times one on the
    same CPU, and every request crosses from libzmq's I/O thread to the
    loop and back. Pinning the main thread before the ZeroMQ context
    exists puts the loop, the I/O thread and every thread gorod starts
    later on one CPU (threads inherit the mask). The pool's worker
    processes are forked from that thread, so they would inherit it too:
    they get the mask gorod started with back, and the kernel spreads
    them as before.
*/
#ifndef AFFINITY_H_INCLUDED
#define AFFINITY_H_INCLUDED

#include <stddef.h>

/* Pins the calling thread to CPU (-1: leaves it alone), keeping the mask
   it had for affinity_restore. 0, or -1 with ERR (of ERR_SIZE bytes)
   saying why: CPU is not one this process may run on. */
int affinity_pin(int cpu, char *err, size_t err_size);

/* In a forked child: the mask from before affinity_pin. Only a system
   call, so safe between fork and exec. */
void affinity_restore(void);

#endif
