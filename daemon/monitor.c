/*  monitor - a libzmq socket monitor on one of gorod's ROUTERs, reduced
    to what an operator must hear of: connections libzmq could not accept.

    Each event is two frames (libzmq's monitor format, version 1): six
    octets, the event number (16 bits) and its value (32 bits, the errno
    here) in host order, then the endpoint. Refusals are counted: the
    first is logged at once, the ones after it with the first refusal
    once MONITOR_LOG_MS have passed, so a storm of them (a failing accept
    is retried as fast as libzmq polls) is a line, not a flood.

    The monitor is not a table and holds no server state: server.c makes
    one per ROUTER and calls monitor_drain when its PAIR is readable.
*/
#include "monitor.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>

/* Events read per drain, so that a storm cannot hold the loop. */
#define MONITOR_BATCH 256

struct monitor {
    zsock_t *pair;    /* receives libzmq's events */
    char *endpoint;   /* for the log */
    uint64_t refused; /* since the last line */
    int last_errno;
    int64_t quiet_until; /* no line before this */
};

monitor_t *
monitor_new(zsock_t *sock, const char *endpoint)
{
    char inproc[64];
    snprintf(inproc, sizeof inproc, "inproc://gorod-monitor-%p",
             (void *) sock);
    if (zmq_socket_monitor(zsock_resolve(sock), inproc,
                           ZMQ_EVENT_ACCEPT_FAILED)
        != 0)
        return NULL;
    zsock_t *pair = zsock_new(ZMQ_PAIR);
    if (!pair || zsock_connect(pair, "%s", inproc) != 0) {
        zsock_destroy(&pair);
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        return NULL;
    }
    monitor_t *self = util_zalloc(sizeof *self);
    self->pair = pair;
    self->endpoint = util_strdup(endpoint);
    return self;
}

void
monitor_destroy(monitor_t **self_p)
{
    if (self_p && *self_p) {
        monitor_t *self = *self_p;
        zsock_destroy(&self->pair);
        free(self->endpoint);
        free(self);
        *self_p = NULL;
    }
}

void *
monitor_socket(monitor_t *self)
{
    return zsock_resolve(self->pair);
}

static void
s_log(monitor_t *self, int64_t now)
{
    struct rlimit files = {0, 0};
    getrlimit(RLIMIT_NOFILE, &files);
    bool out_of_files = self->last_errno == EMFILE
                        || self->last_errno == ENFILE;
    log_warn("%s: %" PRIu64 " connection(s) refused: %s%s (open files "
             "limit %llu)",
             self->endpoint, self->refused, strerror(self->last_errno),
             out_of_files ? "; stalled peers are dropped after "
                            "limits.handshake_timeout"
                          : "",
             (unsigned long long) files.rlim_cur);
    self->refused = 0;
    self->quiet_until = now + MONITOR_LOG_MS;
}

void
monitor_drain(monitor_t *self, int64_t now)
{
    void *pair = zsock_resolve(self->pair);
    for (int i = 0; i < MONITOR_BATCH; i++) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            break;
        }
        bool more = zmq_msg_more(&frame);
        if (zmq_msg_size(&frame) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&frame), 2);
            memcpy(&value, (uint8_t *) zmq_msg_data(&frame) + 2, 4);
            if (event == ZMQ_EVENT_ACCEPT_FAILED) {
                self->refused++;
                self->last_errno = (int) value;
            }
        }
        zmq_msg_close(&frame);
        /* The endpoint frame: ours already. */
        while (more) {
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, pair, ZMQ_DONTWAIT) < 0)
                more = false;
            else
                more = zmq_msg_more(&frame);
            zmq_msg_close(&frame);
        }
    }
    if (self->refused && now >= self->quiet_until)
        s_log(self, now);
}
