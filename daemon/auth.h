/*  auth - CURVE for gorod's sockets and the ZAP handler that decides who
    may connect: a public key in security.curve.clients may use the
    clients socket, one in security.curve.workers the workers socket, and
    nobody else, whatever the mechanism. The sockets enforce the ZAP
    domain, so without this handler every connection is refused, never
    let in.

    gorod's own pool gets a fresh key pair at start, allowed on both
    sockets (its handlers may use channels), handed to the children
    through $GORO_CERT and $GORO_SERVER_CERT: no keys to copy by hand.
*/
#ifndef AUTH_H_INCLUDED
#define AUTH_H_INCLUDED

#include "config.h"

#include <czmq.h>
#include <stddef.h>

#define AUTH_DOMAIN_CLIENTS "clients"
#define AUTH_DOMAIN_WORKERS "workers"

typedef struct auth auth_t;

/* Checks the curve settings of CFG without starting anything: the
   server certificate loads and is not readable by others, the allow-list
   directories exist. 0, or -1 with a message in ERR. */
int auth_check(const config_t *cfg, char *err, size_t err_size);

/* Starts the ZAP handler for CFG. Caller owns the result. NULL with a
   message in ERR on failure. Call only when cfg->curve_cert is set. */
auth_t *auth_new(const config_t *cfg, char *err, size_t err_size);
void auth_destroy(auth_t **self_p);

/* Makes SOCK a CURVE server in DOMAIN (before it binds). */
void auth_apply(auth_t *self, zsock_t *sock, const char *domain);

/* The ZAP socket, to poll; auth_handle() answers one request on it. */
void *auth_zap_socket(auth_t *self);
void auth_handle(auth_t *self);

/* Certificate files for the pool's children ($GORO_CERT and
   $GORO_SERVER_CERT). */
const char *auth_pool_cert(auth_t *self);
const char *auth_server_cert(auth_t *self);

/* Connections allowed and refused so far. */
uint64_t auth_allowed(auth_t *self);
uint64_t auth_refused(auth_t *self);

#endif
