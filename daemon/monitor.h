/*  monitor - says in the log when a listening socket refuses connections
    because accept() failed, typically for lack of file descriptors.

    libzmq drops such a connection without a word, and while gorod is out
    of descriptors every new client is locked out. A libzmq socket
    monitor reports ZMQ_EVENT_ACCEPT_FAILED with the errno on an inproc
    PAIR, which the server's loop polls beside its ROUTERs.
*/
#ifndef MONITOR_H_INCLUDED
#define MONITOR_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

/* At most one log line per this many ms and endpoint: a failing accept
   repeats as fast as libzmq retries it. */
#define MONITOR_LOG_MS 10000

typedef struct monitor monitor_t;

/* Watches SOCK (bound to ENDPOINT, named in the log) for refused
   connections. Caller owns the result; NULL if libzmq cannot set up the
   monitor. */
monitor_t *monitor_new(zsock_t *sock, const char *endpoint);
void monitor_destroy(monitor_t **self_p);

/* The PAIR socket to poll for ZMQ_POLLIN. */
void *monitor_socket(monitor_t *self);

/* Reads the events waiting and logs them, rate-limited, as of NOW. */
void monitor_drain(monitor_t *self, int64_t now);

#endif
