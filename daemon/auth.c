/*  auth - the ZAP handler (RFC 27) on inproc://zeromq.zap.01, in the
    event loop's thread like everything else.

    The allow-lists are czmq certificate stores over the configured
    directories; zcertstore reloads a directory when it changes, so adding
    or removing a certificate file takes effect for the next connection.
*/
#include "auth.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* libzmq 4.3 draft option */
#endif

struct auth {
    zsock_t *zap;
    zcert_t *server;
    zcertstore_t *clients; /* NULL: no client key is allowed */
    zcertstore_t *workers;
    zcert_t *pool;
    char *dir; /* private temp dir with the pool's files */
    char *pool_cert, *server_cert;
    uint64_t allowed, refused;
};

static int
s_check_dir(const char *key, const char *dir, char *err, size_t err_size)
{
    struct stat st;
    if (dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        snprintf(err, err_size,
                 "%s: %s is not a directory of public "
                 "certificates",
                 key, dir);
        return -1;
    }
    return 0;
}

int
auth_check(const config_t *cfg, char *err, size_t err_size)
{
    if (!cfg->curve_cert) {
        if (cfg->curve_clients || cfg->curve_workers) {
            snprintf(err, err_size,
                     "security.curve.clients and .workers "
                     "need security.curve.cert, the server's secret "
                     "certificate (make one with `goro keygen`)");
            return -1;
        }
        return 0;
    }
    struct stat st;
    if (stat(cfg->curve_cert, &st) != 0) {
        snprintf(err, err_size, "security.curve.cert: %s: %s", cfg->curve_cert,
                 strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, err_size,
                 "security.curve.cert: %s is readable by "
                 "others; run chmod 600 %s",
                 cfg->curve_cert, cfg->curve_cert);
        return -1;
    }
    zcert_t *cert = zcert_load(cfg->curve_cert);
    bool has_secret = cert
                      && strcmp(zcert_secret_txt(cert),
                                "0000000000000000000000000000000000000000");
    zcert_destroy(&cert);
    if (!has_secret) {
        snprintf(err, err_size,
                 "security.curve.cert: %s is not a secret "
                 "certificate (use the PATH_secret file `goro keygen` "
                 "wrote)",
                 cfg->curve_cert);
        return -1;
    }
    if (s_check_dir("security.curve.clients", cfg->curve_clients, err,
                    err_size)
        || s_check_dir("security.curve.workers", cfg->curve_workers, err,
                       err_size))
        return -1;
    return 0;
}

auth_t *
auth_new(const config_t *cfg, char *err, size_t err_size)
{
    auth_t *self = util_zalloc(sizeof *self);
    self->server = zcert_load(cfg->curve_cert);
    if (cfg->curve_clients)
        self->clients = zcertstore_new(cfg->curve_clients);
    if (cfg->curve_workers)
        self->workers = zcertstore_new(cfg->curve_workers);
    self->pool = zcert_new();
    char dir[] = "/tmp/gorod-keys-XXXXXX";
    if (!self->server || !self->pool || !mkdtemp(dir)) {
        snprintf(err, err_size, "cannot set up CURVE: %s", strerror(errno));
        goto error;
    }
    self->dir = util_strdup(dir);
    self->pool_cert = util_zalloc(strlen(dir) + 16);
    self->server_cert = util_zalloc(strlen(dir) + 16);
    sprintf(self->pool_cert, "%s/pool", dir);
    sprintf(self->server_cert, "%s/server", dir);
    char secret[PATH_MAX];
    snprintf(secret, sizeof secret, "%s_secret", self->pool_cert);
    mode_t old = umask(077);
    int rc = zcert_save_secret(self->pool, secret);
    umask(old);
    if (rc != 0 || zcert_save_public(self->server, self->server_cert) != 0) {
        snprintf(err, err_size, "cannot write the pool's keys in %s", dir);
        goto error;
    }
    self->zap = zsock_new(ZMQ_REP);
    if (!self->zap || zsock_bind(self->zap, "inproc://zeromq.zap.01") != 0) {
        snprintf(err, err_size, "cannot start the ZAP handler: %s",
                 zmq_strerror(zmq_errno()));
        goto error;
    }
    return self;
error:
    auth_destroy(&self);
    return NULL;
}

void
auth_destroy(auth_t **self_p)
{
    if (self_p && *self_p) {
        auth_t *self = *self_p;
        zsock_destroy(&self->zap);
        if (self->dir) {
            char secret[PATH_MAX];
            snprintf(secret, sizeof secret, "%s_secret", self->pool_cert);
            unlink(secret);
            unlink(self->server_cert);
            rmdir(self->dir);
        }
        zcert_destroy(&self->server);
        zcert_destroy(&self->pool);
        zcertstore_destroy(&self->clients);
        zcertstore_destroy(&self->workers);
        free(self->dir);
        free(self->pool_cert);
        free(self->server_cert);
        free(self);
        *self_p = NULL;
    }
}

void
auth_apply(auth_t *self, zsock_t *sock, const char *domain)
{
    zcert_apply(self->server, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, domain);
    int on = 1;
    if (zmq_setsockopt(zsock_resolve(sock), ZMQ_ZAP_ENFORCE_DOMAIN, &on,
                       sizeof on)
        != 0)
        log_warn("libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN; the ZAP handler is "
                 "bound first, so connections are still checked");
}

void *
auth_zap_socket(auth_t *self)
{
    return zsock_resolve(self->zap);
}

static bool
s_allowed(auth_t *self, const char *domain, const char *mechanism,
          zframe_t *key)
{
    if (strcmp(mechanism, "CURVE") != 0 || zframe_size(key) != 32)
        return false;
    char text[41];
    zmq_z85_encode(text, zframe_data(key), 32);
    if (strcmp(text, zcert_public_txt(self->pool)) == 0)
        return true;
    zcertstore_t *store = strcmp(domain, AUTH_DOMAIN_CLIENTS) == 0
                              ? self->clients
                          : strcmp(domain, AUTH_DOMAIN_WORKERS) == 0
                              ? self->workers
                              : NULL;
    return store && zcertstore_lookup(store, text) != NULL;
}

void
auth_handle(auth_t *self)
{
    zmsg_t *request = zmsg_recv(self->zap);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    char *sequence = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *identity = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *key = zmsg_pop(request);
    bool ok = version && sequence && domain && address && mechanism && key
              && strcmp(version, "1.0") == 0
              && s_allowed(self, domain, mechanism, key);
    if (ok)
        self->allowed++;
    else {
        self->refused++;
        log_info("refused a %s connection from %s to %s",
                 mechanism ? mechanism : "?", address ? address : "?",
                 domain ? domain : "?");
    }
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, sequence ? sequence : "");
    zmsg_addstr(reply, ok ? "200" : "400");
    zmsg_addstr(reply, ok ? "OK" : "not allowed");
    zmsg_addstr(reply, "");
    zmsg_addmem(reply, NULL, 0);
    zmsg_send(&reply, self->zap);
    free(version);
    free(sequence);
    free(domain);
    free(address);
    free(mechanism);
    zframe_destroy(&identity);
    zframe_destroy(&key);
    zmsg_destroy(&request);
}

const char *
auth_pool_cert(auth_t *self)
{
    return self->pool_cert;
}

const char *
auth_server_cert(auth_t *self)
{
    return self->server_cert;
}

uint64_t
auth_allowed(auth_t *self)
{
    return self->allowed;
}

uint64_t
auth_refused(auth_t *self)
{
    return self->refused;
}
