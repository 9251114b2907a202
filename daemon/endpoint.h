/*  endpoint - what gorod accepts as a listen endpoint, checked when the
    config loads: ZeroMQ would bind "tcp://127.0.0.1:99999" as some other
    port, and learn only at bind that a socket path is too long, while the
    log and --endpoints print what the config said.

    endpoint knows the syntax and asks the system only what a bind would
    (is there such an interface, such a directory); it binds nothing.
*/
#ifndef ENDPOINT_H_INCLUDED
#define ENDPOINT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/* Checks ENDPOINT for a bind: tcp://HOST:PORT with HOST "*", an IPv4
   address or a network interface's name, PORT 1..65535 or "*"; or
   ipc://PATH with PATH "*", "@NAME" (Linux's abstract namespace) or a
   file path that fits a sockaddr_un in a directory that exists. No
   blanks anywhere. 0 if it will do; else -1 and WHY (SIZE bytes) says
   what is wrong, as a phrase to follow "ENDPOINT: ". */
int endpoint_check(const char *endpoint, char *why, size_t size);

/* True if A and B, both good by endpoint_check, cannot both be bound: the
   same socket path, or the same tcp port on the same address or with
   either on every address. A "*" port or path never clashes. */
bool endpoint_clash(const char *a, const char *b);

#endif
