/*  curve - CURVE keys for libgoro's sockets: loading the caller's
    certificate and the server's public certificate (czmq's format, as
    `goro keygen` writes it), applying them to a libzmq socket, and
    making new certificate pairs. Internal to libgoro.
*/
#ifndef CURVE_H_INCLUDED
#define CURVE_H_INCLUDED

#include <stdbool.h>

/* Z85 text: 40 characters and a NUL. */
typedef struct {
    bool on;
    char public_key[41];
    char secret_key[41];
    char server_key[41];
} curve_keys_t;

/* Loads CERT (our secret certificate: PATH_secret, or PATH with a
   PATH_secret beside it) and SERVER_CERT (the server's public one). Both
   NULL: CURVE off. GORO_EINVAL if only one is given or either cannot be
   read; GORO_EDENIED if CERT's secret file is readable by others. */
int curve_load(const char *cert, const char *server_cert, curve_keys_t *out);

/* Makes SOCKET (a libzmq socket) a CURVE client with KEYS, if on. */
int curve_apply(void *socket, const curve_keys_t *keys);

/* Writes a new pair: PATH (public) and PATH_secret (secret, mode 0600). */
int curve_keygen(const char *path);

#endif
