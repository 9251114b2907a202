/*  freeport - prints N free loopback TCP ports, one a line, for the
    servers bench/run starts (the kernel picks them: bind to port 0). The
    sockets stay open until all N are chosen, so the N differ.

        freeport [N]
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    if (n < 1 || n > 64)
        return 2;
    int fds[64];
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *) &addr, len) != 0
            || getsockname(fds[i], (struct sockaddr *) &addr, &len) != 0) {
            perror("freeport");
            return 1;
        }
        printf("%d\n", ntohs(addr.sin_port));
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}
