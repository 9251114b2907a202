/*  endpoint - the listen endpoint check: see endpoint.h. ZeroMQ's own
    parser reads a port with atoi-like laxness (99999 wraps, -1 is 65535)
    and takes any name for an interface, so this one is strict and runs
    before any socket exists.
*/
#include "endpoint.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

/* sun_path holds the path and its NUL; for "@NAME" ZeroMQ puts a NUL in
   place of the '@', so the bound is the same. */
#define ENDPOINT_IPC_MAX (sizeof((struct sockaddr_un *) 0)->sun_path - 1)

/* A tcp endpoint split: "*" or the host's text, and the port, 0 for "*". */
typedef struct {
    char host[256];
    unsigned port;
} s_tcp_t;

/* 0 and *OUT filled, or -1 with WHY. */
static int
s_tcp_split(const char *rest, s_tcp_t *out, char *why, size_t size)
{
    const char *colon = strrchr(rest, ':');
    if (!colon) {
        snprintf(why, size,
                 "no port (expected tcp://HOST:PORT, PORT 1 to "
                 "65535 or * for any free one)");
        return -1;
    }
    size_t host_len = (size_t) (colon - rest);
    if (host_len == 0) {
        snprintf(why, size,
                 "no host (expected tcp://HOST:PORT, HOST an "
                 "IPv4 address, * or an interface name)");
        return -1;
    }
    if (host_len >= sizeof out->host) {
        snprintf(why, size, "the host is longer than %zu bytes",
                 sizeof out->host - 1);
        return -1;
    }
    memcpy(out->host, rest, host_len);
    out->host[host_len] = '\0';

    const char *port = colon + 1;
    if (strcmp(port, "*") == 0) {
        out->port = 0;
        return 0;
    }
    unsigned long value = 0;
    size_t digits = 0;
    for (; isdigit((unsigned char) port[digits]) && digits < 6; digits++)
        value = value * 10 + (unsigned long) (port[digits] - '0');
    if (digits == 0 || port[digits] != '\0' || value < 1 || value > 65535) {
        snprintf(why, size,
                 "port \"%.16s%s\" is not 1 to 65535, or * for "
                 "any free one",
                 port, strlen(port) > 16 ? "..." : "");
        return -1;
    }
    out->port = (unsigned) value;
    return 0;
}

static int
s_check_host(const char *host, char *why, size_t size)
{
    if (strcmp(host, "*") == 0)
        return 0;
    if (host[0] == '[') {
        snprintf(why, size,
                 "IPv6 addresses are not supported; use an IPv4 "
                 "address, * or an interface name");
        return -1;
    }
    /* Digits and dots only: meant as an address, so it must be one, not
       "127.1" or "256.0.0.1". */
    if (strspn(host, "0123456789.") == strlen(host)) {
        struct in_addr addr;
        if (inet_pton(AF_INET, host, &addr) == 1)
            return 0;
        snprintf(why, size,
                 "\"%s\" is not an IPv4 address (four numbers "
                 "0 to 255, like 127.0.0.1)",
                 host);
        return -1;
    }
    /* ZeroMQ binds to an interface by name but resolves no host names:
       "localhost" fails at bind with "No such device". */
    if (strlen(host) < IF_NAMESIZE && if_nametoindex(host) != 0)
        return 0;
    snprintf(why, size,
             "no network interface is named \"%.64s\"; gorod "
             "binds to an IPv4 address (like 127.0.0.1), * or an interface "
             "name, not a host name",
             host);
    return -1;
}

static int
s_check_ipc(const char *path, char *why, size_t size)
{
    if (!*path) {
        snprintf(why, size, "no path (expected ipc://PATH)");
        return -1;
    }
    if (strcmp(path, "*") == 0)
        return 0;
    if (strlen(path) > ENDPOINT_IPC_MAX) {
        snprintf(why, size,
                 "the socket path is %zu bytes, longer than the "
                 "%zu a Unix socket takes",
                 strlen(path), ENDPOINT_IPC_MAX);
        return -1;
    }
    if (path[0] == '@')
        return 0; /* abstract: no file, no directory */
    char copy[ENDPOINT_IPC_MAX + 1];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(why, size, "directory \"%s\" does not exist", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, size, "\"%s\" is not a directory", dir);
        return -1;
    }
    return 0;
}

int
endpoint_check(const char *endpoint, char *why, size_t size)
{
    for (size_t i = 0; endpoint[i]; i++) {
        unsigned char c = (unsigned char) endpoint[i];
        if (isspace(c) || iscntrl(c)) {
            snprintf(why, size,
                     "a blank or control character at character "
                     "%zu; endpoints have none",
                     i + 1);
            return -1;
        }
    }
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return s_check_ipc(endpoint + 6, why, size);
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        snprintf(why, size, "not tcp://HOST:PORT or ipc://PATH");
        return -1;
    }
    s_tcp_t tcp;
    if (s_tcp_split(endpoint + 6, &tcp, why, size))
        return -1;
    return s_check_host(tcp.host, why, size);
}

static bool
s_every_address(const char *host)
{
    return strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0;
}

bool
endpoint_clash(const char *a, const char *b)
{
    if (strncmp(a, "ipc://", 6) == 0)
        return strcmp(a, b) == 0 && strcmp(a + 6, "*") != 0;
    if (strncmp(a, "tcp://", 6) != 0 || strncmp(b, "tcp://", 6) != 0)
        return false;
    s_tcp_t ta, tb;
    char why[8];
    if (s_tcp_split(a + 6, &ta, why, sizeof why)
        || s_tcp_split(b + 6, &tb, why, sizeof why))
        return false;
    if (ta.port == 0 || ta.port != tb.port)
        return false;
    return strcmp(ta.host, tb.host) == 0 || s_every_address(ta.host)
           || s_every_address(tb.host);
}
