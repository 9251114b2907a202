/*  curve - certificates through czmq's zcert, keys onto raw sockets.

    A secret certificate that others may read is refused rather than used:
    whoever can read it can be us.
*/
#include "curve.h"
#include "goro.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* czmq's zcert_load tries PATH_secret before PATH, so both spellings of
   the caller's certificate work. */
static const char *
s_secret_file(const char *cert, char *buf, size_t size)
{
    snprintf(buf, size, "%s_secret", cert);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : cert;
}

int
curve_load(const char *cert, const char *server_cert, curve_keys_t *out)
{
    memset(out, 0, sizeof *out);
    bool have_cert = cert && *cert, have_server = server_cert && *server_cert;
    if (!have_cert && !have_server)
        return GORO_OK;
    if (!have_cert || !have_server)
        return GORO_EINVAL;
    char buf[4096];
    const char *secret = s_secret_file(cert, buf, sizeof buf);
    struct stat st;
    if (stat(secret, &st) != 0)
        return GORO_EINVAL;
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return GORO_EDENIED;
    zcert_t *ours = zcert_load(cert);
    zcert_t *server = zcert_load(server_cert);
    int rc = GORO_EINVAL;
    if (ours && server && strlen(zcert_secret_txt(ours)) == 40
        && strcmp(zcert_secret_txt(ours),
                  "0000000000000000000000000000000000000000")
               != 0) {
        snprintf(out->public_key, sizeof out->public_key, "%s",
                 zcert_public_txt(ours));
        snprintf(out->secret_key, sizeof out->secret_key, "%s",
                 zcert_secret_txt(ours));
        snprintf(out->server_key, sizeof out->server_key, "%s",
                 zcert_public_txt(server));
        out->on = true;
        rc = GORO_OK;
    }
    zcert_destroy(&ours);
    zcert_destroy(&server);
    return rc;
}

int
curve_apply(void *socket, const curve_keys_t *keys)
{
    if (!keys->on)
        return GORO_OK;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, keys->server_key, 40)
        || zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, keys->public_key, 40)
        || zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, keys->secret_key, 40))
        return GORO_ESYS;
    return GORO_OK;
}

int
curve_keygen(const char *path)
{
    if (!path || !*path)
        return GORO_EINVAL;
    zcert_t *cert = zcert_new();
    if (!cert)
        return GORO_ESYS;
    char secret[4096];
    snprintf(secret, sizeof secret, "%s_secret", path);
    /* Write the secret file under a 077 umask: never readable by others,
       not even between open and chmod. */
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, secret);
    umask(old);
    if (rc == 0)
        rc = zcert_save_public(cert, path);
    zcert_destroy(&cert);
    if (rc != 0)
        return GORO_ESYS;
    return chmod(secret, 0600) == 0 ? GORO_OK : GORO_ESYS;
}
