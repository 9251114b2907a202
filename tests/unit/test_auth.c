/*  test_auth - auth.c: auth_check's refusals of an unsafe or incomplete
    CURVE setup (each message naming the key), the pool's key files, and
    the ZAP handler's decisions: a key in security.curve.clients may use
    the clients domain only, one in .workers the workers domain only, the
    pool's key both, anything else (an unknown key, another mechanism, a
    malformed or foreign-version request) nobody; a certificate added to
    an allow-list counts for the next request. Then one real CURVE
    connection each way over loopback TCP through a socket auth_apply set
    up, answered by auth_handle in this thread as gorod's loop would.

    ZAP requests are sent by hand on inproc://zeromq.zap.01 (RFC 27), so
    the handler is driven frame by frame, bad frames included.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"

/* Loopback handshakes and ZAP round trips end in well under this; the
   waits return as soon as they do. */
#define T_WAIT_MS 5000

typedef struct {
    char dir[64];
    char *clients, *workers; /* allow-list directories */
    char *secret;            /* the server's secret certificate */
    zcert_t *server;
    zcert_t *client, *worker, *stranger;
    config_t *cfg;
    auth_t *auth; /* one for the whole run, as in gorod */
} fixture_t;

static char *
s_path(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static int
s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/goro-test-auth-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->clients = s_path(fx->dir, "clients");
    fx->workers = s_path(fx->dir, "workers");
    assert_int_equal(mkdir(fx->clients, 0700), 0);
    assert_int_equal(mkdir(fx->workers, 0700), 0);
    fx->server = zcert_new();
    char *server = s_path(fx->dir, "server");
    mode_t old = umask(077);
    assert_int_equal(zcert_save(fx->server, server), 0);
    umask(old);
    assert_true(asprintf(&fx->secret, "%s_secret", server) > 0);
    free(server);
    fx->client = zcert_new();
    fx->worker = zcert_new();
    fx->stranger = zcert_new();
    char *pub = s_path(fx->clients, "client");
    assert_int_equal(zcert_save_public(fx->client, pub), 0);
    free(pub);
    pub = s_path(fx->workers, "worker");
    assert_int_equal(zcert_save_public(fx->worker, pub), 0);
    free(pub);
    fx->cfg = config_new();
    fx->cfg->curve_cert = strdup(fx->secret);
    fx->cfg->curve_clients = strdup(fx->clients);
    fx->cfg->curve_workers = strdup(fx->workers);
    char err[512];
    fx->auth = auth_new(fx->cfg, err, sizeof err);
    if (!fx->auth)
        fail_msg("auth_new: %s", err);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    auth_destroy(&fx->auth);
    config_destroy(&fx->cfg);
    zcert_destroy(&fx->server);
    zcert_destroy(&fx->client);
    zcert_destroy(&fx->worker);
    zcert_destroy(&fx->stranger);
    nftw(fx->dir, s_rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(fx->clients);
    free(fx->workers);
    free(fx->secret);
    free(fx);
    return 0;
}

/* auth_check refuses CFG with a message containing WANT. */
static void
s_check_refuses(const config_t *cfg, const char *want)
{
    char err[512] = "";
    assert_int_equal(auth_check(cfg, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
}

static void
s_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

static void
test_check(void **state)
{
    fixture_t *fx = *state;
    char err[512];
    assert_int_equal(auth_check(fx->cfg, err, sizeof err), 0);
    /* no CURVE at all is fine */
    config_t *plain = config_new();
    assert_int_equal(auth_check(plain, err, sizeof err), 0);
    /* an allow-list needs the server's certificate */
    s_set(&plain->curve_workers, fx->workers);
    s_check_refuses(plain, "need security.curve.cert");
    config_destroy(&plain);

    s_set(&fx->cfg->curve_clients, "/nonexistent/clients");
    s_check_refuses(fx->cfg, "security.curve.clients: /nonexistent/clients "
                             "is not a directory");
    s_set(&fx->cfg->curve_clients, fx->secret); /* a file */
    s_check_refuses(fx->cfg, "is not a directory");
    s_set(&fx->cfg->curve_clients, fx->clients);
    s_set(&fx->cfg->curve_workers, "/nonexistent/workers");
    s_check_refuses(fx->cfg, "security.curve.workers: /nonexistent/workers");
    s_set(&fx->cfg->curve_workers, fx->workers);

    /* the certificate: there, private, and a secret one */
    assert_int_equal(chmod(fx->secret, 0640), 0);
    s_check_refuses(fx->cfg, "is readable by others; run chmod 600");
    assert_int_equal(chmod(fx->secret, 0600), 0);
    char *public = s_path(fx->dir, "public_only");
    assert_int_equal(zcert_save_public(fx->server, public), 0);
    assert_int_equal(chmod(public, 0600), 0);
    s_set(&fx->cfg->curve_cert, public);
    s_check_refuses(fx->cfg, "is not a secret certificate");
    free(public);
    s_set(&fx->cfg->curve_cert, "/nonexistent/cert");
    s_check_refuses(fx->cfg, "security.curve.cert: /nonexistent/cert: No such "
                             "file");
    /* Only the server's certificate is required of a CURVE setup. */
    s_set(&fx->cfg->curve_cert, fx->secret);
    s_set(&fx->cfg->curve_clients, NULL);
    s_set(&fx->cfg->curve_workers, NULL);
    assert_int_equal(auth_check(fx->cfg, err, sizeof err), 0);
}

/* The pool's files: its secret certificate private, the server's public
   one without the secret; both gone after destroy. Runs last: it
   destroys the run's auth_t. */
static void
test_pool_files(void **state)
{
    fixture_t *fx = *state;
    auth_t *auth = fx->auth;
    fx->auth = NULL;
    char *secret = NULL;
    assert_true(asprintf(&secret, "%s_secret", auth_pool_cert(auth)) > 0);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    zcert_t *pool = zcert_load(secret);
    assert_non_null(pool);
    assert_string_not_equal(zcert_secret_txt(pool),
                            "0000000000000000000000000000000000000000");
    zcert_destroy(&pool);
    zcert_t *server = zcert_load(auth_server_cert(auth));
    assert_non_null(server);
    assert_string_equal(zcert_public_txt(server),
                        zcert_public_txt(fx->server));
    assert_string_equal(zcert_secret_txt(server),
                        "0000000000000000000000000000000000000000");
    zcert_destroy(&server);
    char *dir = strdup(auth_server_cert(auth));
    *strrchr(dir, '/') = '\0';
    auth_destroy(&auth);
    assert_null(auth);
    assert_int_equal(access(secret, F_OK), -1);
    assert_int_equal(access(dir, F_OK), -1);
    auth_destroy(&auth);
    free(dir);
    free(secret);
}

/* One ZAP request of FRAMES (NULL ends them; a frame "KEY" stands for
   KEY's 32-byte public key), answered by auth_handle: the status code
   it got. Caller frees it. */
static char *
s_zap(auth_t *auth, zsock_t *req, const char *const *frames,
      const zcert_t *key)
{
    zmsg_t *request = zmsg_new();
    for (; *frames; frames++) {
        if (strcmp(*frames, "KEY") == 0)
            zmsg_addmem(request, zcert_public_key((zcert_t *) key), 32);
        else
            zmsg_addstr(request, *frames);
    }
    assert_int_equal(zmsg_send(&request, req), 0);
    zmq_pollitem_t item = {auth_zap_socket(auth), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, T_WAIT_MS), 1);
    auth_handle(auth);
    zmsg_t *reply = zmsg_recv(req);
    assert_non_null(reply);
    assert_int_equal(zmsg_size(reply), 6);
    char *version = zmsg_popstr(reply);
    char *sequence = zmsg_popstr(reply);
    char *status = zmsg_popstr(reply);
    assert_string_equal(version, "1.0");
    free(version);
    free(sequence);
    zmsg_destroy(&reply);
    return status;
}

/* ZAP says STATUS to DOMAIN and MECHANISM with KEY's public key. */
static void
s_expect(auth_t *auth, zsock_t *req, const char *domain, const char *mechanism,
         const zcert_t *key, const char *status)
{
    const char *frames[] = {"1.0", "7",       domain, "127.0.0.1",
                            "id",  mechanism, "KEY",  NULL};
    char *got = s_zap(auth, req, frames, key);
    if (strcmp(got, status) != 0)
        fail_msg("%s by %s: %s, want %s", domain, mechanism, got, status);
    free(got);
}

static void
test_zap_decisions(void **state)
{
    fixture_t *fx = *state;
    auth_t *auth = fx->auth;
    uint64_t allowed = auth_allowed(auth), refused = auth_refused(auth);
    zsock_t *req = zsock_new_req("inproc://zeromq.zap.01");
    assert_non_null(req);
    char *secret = NULL;
    assert_true(asprintf(&secret, "%s_secret", auth_pool_cert(auth)) > 0);
    zcert_t *pool = zcert_load(secret);
    free(secret);
    assert_non_null(pool);

    s_expect(auth, req, "clients", "CURVE", fx->client, "200");
    s_expect(auth, req, "workers", "CURVE", fx->client, "400");
    s_expect(auth, req, "workers", "CURVE", fx->worker, "200");
    s_expect(auth, req, "clients", "CURVE", fx->worker, "400");
    s_expect(auth, req, "clients", "CURVE", pool, "200");
    s_expect(auth, req, "workers", "CURVE", pool, "200");
    s_expect(auth, req, "clients", "CURVE", fx->stranger, "400");
    s_expect(auth, req, "other", "CURVE", fx->client, "400");
    /* whatever the mechanism, only CURVE keys get in */
    s_expect(auth, req, "clients", "PLAIN", fx->client, "400");
    s_expect(auth, req, "clients", "NULL", pool, "400");
    assert_int_equal(auth_allowed(auth) - allowed, 4);
    assert_int_equal(auth_refused(auth) - refused, 6);

    /* malformed: another version, a short key, missing frames */
    const char *v2[] = {"2.0", "1",     "clients", "a",
                        "id",  "CURVE", "KEY",     NULL};
    const char *short_key[] = {"1.0", "1",     "clients", "a",
                               "id",  "CURVE", "short",   NULL};
    const char *cut[] = {"1.0", "1", "clients", NULL};
    const char *empty[] = {"", NULL};
    const char *const *bad[] = {v2, short_key, cut, empty};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *got = s_zap(auth, req, bad[i], fx->client);
        if (strcmp(got, "400") != 0)
            fail_msg("malformed request %zu: %s", i, got);
        free(got);
    }
    assert_int_equal(auth_refused(auth) - refused, 10);

    /* a certificate added to the list counts for the next request */
    char *added = s_path(fx->clients, "stranger");
    assert_int_equal(zcert_save_public(fx->stranger, added), 0);
    s_expect(auth, req, "clients", "CURVE", fx->stranger, "200");
    unlink(added);
    free(added);
    s_expect(auth, req, "clients", "CURVE", fx->stranger, "400");

    zcert_destroy(&pool);
    zsock_destroy(&req);
}

/* A client DEALER with CERT's keys that talks to SERVER_CERT at
   ENDPOINT, its first message already sent. */
static zsock_t *
s_client(zcert_t *cert, const zcert_t *server_cert, const char *endpoint)
{
    zsock_t *client = zsock_new(ZMQ_DEALER);
    assert_non_null(client);
    zcert_apply(cert, client);
    zsock_set_curve_serverkey(client,
                              zcert_public_txt((zcert_t *) server_cert));
    assert_int_equal(zsock_connect(client, "%s", endpoint), 0);
    assert_int_equal(zstr_send(client, "hello"), 0);
    return client;
}

/* Answers ZAP requests until SERVER has a message (true) or the handler
   has refused one more connection than REFUSED (false). */
static bool
s_serve(auth_t *auth, zsock_t *server, uint64_t refused)
{
    int64_t until = zclock_mono() + T_WAIT_MS;
    while (zclock_mono() < until) {
        zmq_pollitem_t items[] = {
            {auth_zap_socket(auth), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(server), 0, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 2, until - zclock_mono()) < 0)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            auth_handle(auth);
        if (items[1].revents & ZMQ_POLLIN)
            return true;
        if (auth_refused(auth) > refused)
            return false;
    }
    fail_msg("neither a message nor a refusal within %d ms", T_WAIT_MS);
    return false;
}

static void
test_real_connections(void **state)
{
    fixture_t *fx = *state;
    auth_t *auth = fx->auth;
    uint64_t allowed = auth_allowed(auth), refused = auth_refused(auth);
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    assert_non_null(server);
    auth_apply(auth, server, AUTH_DOMAIN_CLIENTS);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    zsock_t *client = s_client(fx->client, fx->server, endpoint);
    assert_true(s_serve(auth, server, refused));
    zmsg_t *msg = zmsg_recv(server);
    assert_int_equal(zmsg_size(msg), 2); /* routing id, "hello" */
    zmsg_destroy(&msg);
    assert_int_equal(auth_allowed(auth) - allowed, 1);
    zsock_destroy(&client);

    /* a worker's key on the clients socket: refused, nothing arrives */
    client = s_client(fx->worker, fx->server, endpoint);
    assert_false(s_serve(auth, server, refused));
    assert_int_equal(auth_refused(auth) - refused, 1);
    assert_false(zsock_events(server) & ZMQ_POLLIN);
    zsock_destroy(&client);

    zsock_destroy(&server);
}

int
main(void)
{
    /* One auth_t for the run, as gorod has: ZAP's endpoint is fixed,
       and a closed socket lets go of it only once libzmq's reaper gets
       to it. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_zap_decisions),
        cmocka_unit_test(test_real_connections),
        cmocka_unit_test(test_pool_files),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
