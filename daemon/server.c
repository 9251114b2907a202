/*  server - the event loop, and the routing of messages to the handlers.

    One thread, one loop: zmq_poll over the clients ROUTER, the workers
    ROUTER and a self-pipe that signal handlers write to, with the poll
    timeout taken from the deadline heap. Handlers validate a request, call
    the table mutators, then reply; the tables never see a socket.

    The handlers live with their concept: server_jobs.c (jobs, dispatch,
    job requests), server_workers.c, server_chan.c (channel operations and
    the clients they park), server_wg.c, and server_journal.c (recovery,
    and the commit that ends each turn); they answer through reply.c,
    below them all. This file has setup, LIST (which reads every table),
    the routing of messages and deadlines, the signals and the shutdown.

    Replies to a request are sent at once; parked requests (park.h) are
    answered when their target changes or their deadline passes. Both
    ROUTERs are ROUTER_MANDATORY, so a reply to a peer that is gone fails
    visibly (and is logged) instead of vanishing.
*/
#include "server.h"
#include "server_int.h"
#include "reply.h"
#include "auth.h"
#include "chan.h"
#include "client.h"
#include "config.h"
#include "heap.h"
#include "job.h"
#include "job_links.h"
#include "journal.h"
#include "log.h"
#include "monitor.h"
#include "outbox.h"
#include "park.h"
#include "pool.h"
#include "render.h"
#include "sched.h"
#include "wg.h"
#include "worker.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* The signal handlers' only way in. */
static int s_sig_write = -1;

static void
s_on_signal(int signo)
{
    int saved = errno;
    char byte = (char) signo;
    if (write(s_sig_write, &byte, 1) < 0) {
        /* the pipe is full: a wakeup is pending anyway */
    }
    errno = saved;
}

/* ---- setup --------------------------------------------------------- */

/* Liveness of a tracked client: it heartbeats every second (libgoro's
   fixed interval) or at gorod's interval if slower. */
static int64_t
s_client_liveness_ms(const config_t *cfg)
{
    int64_t interval = cfg->heartbeat_interval_ms > 1000
                           ? cfg->heartbeat_interval_ms
                           : 1000;
    return interval * cfg->heartbeat_liveness;
}

/* The largest value a peer may send: limits.max_message, and on the
   workers endpoint jobs.exec.max_output if that is larger (a DONE
   carries exec output, which gorod passes on in JOB and VALUE). */
static size_t
s_value_max(const config_t *cfg, bool workers)
{
    uint64_t max = cfg->max_message;
    if (workers && cfg->exec_max_output > max)
        max = cfg->exec_max_output;
    return (size_t) max;
}

/* The frame limit of both endpoints (PROTOCOL.md section 10): DONE and
   JOB carry two of the largest values (output and errors), plus the
   envelope. libzmq drops a connection that sends a larger frame. */
static int64_t
s_frame_max(const config_t *cfg)
{
    return (int64_t) (2 * s_value_max(cfg, true) + SERVER_FRAME_SLACK);
}

static int
s_int_ms(int64_t ms)
{
    return ms < INT_MAX ? (int) ms : INT_MAX;
}

/* What a peer can hold of gorod is bounded in time, not only in size.
   A connection that has not finished the ZeroMQ handshake within
   limits.handshake_timeout is closed (libzmq's default is 30 s, and each
   holds a descriptor). Once connected, libzmq PINGs the peer every
   heartbeat interval and drops it if no whole message arrives within
   interval x liveness: a live peer's libzmq answers PONG by itself, but
   one silent or stalled in the middle of a frame (whose buffer, up to
   the frame limit, gorod has allocated) cannot. */
static void
s_set_peer_limits(zsock_t *sock, const config_t *cfg)
{
    zsock_set_maxmsgsize(sock, s_frame_max(cfg));
    zsock_set_handshake_ivl(sock, s_int_ms(cfg->handshake_timeout_ms));
    int64_t interval = cfg->heartbeat_interval_ms;
    /* Both factors under 2^31 once clipped: the product cannot overflow. */
    int64_t dead = interval > INT_MAX ? INT_MAX
                                      : interval * cfg->heartbeat_liveness;
    zsock_set_heartbeat_ivl(sock, s_int_ms(interval));
    zsock_set_heartbeat_timeout(sock, s_int_ms(dead));
}

static zsock_t *
s_bind(const char *endpoint, const config_t *cfg, auth_t *auth,
       const char *domain, char **bound, char *err, size_t err_size)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock) {
        snprintf(err, err_size, "cannot create a socket: %s",
                 zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_router_mandatory(sock, 1);
    zsock_set_linger(sock, 200); /* last replies at shutdown go out */
    zsock_set_sndhwm(sock, 0);   /* replies queue; ZMQ never drops them */
    zsock_set_rcvhwm(sock, 100000);
    s_set_peer_limits(sock, cfg);
    if (auth)
        auth_apply(auth, sock, domain);
    if (zsock_bind(sock, "%s", endpoint) == -1) {
        snprintf(err, err_size, "cannot bind %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    *bound = util_strdup(zsock_endpoint(sock));
    return sock;
}

server_t *
server_new(const config_t *cfg, const char *worker_cmd, bool repair, char *err,
           size_t err_size)
{
    server_t *self = util_zalloc(sizeof *self);
    self->cfg = cfg;
    self->sig_read = self->sig_write = -1;
    /* The journal's lock comes before any bind: a second gorod on the
       same journal must leave the first one's endpoints alone (binding
       an ipc path takes it over from whoever had it). */
    self->journal = journal_open(cfg->journal_path, cfg->journal_fsync, err,
                                 err_size);
    if (!self->journal)
        goto error;
    /* The ZAP handler is up before a CURVE socket binds. */
    if (cfg->curve_cert) {
        self->auth = auth_new(cfg, err, err_size);
        if (!self->auth)
            goto error;
    }
    self->clients = s_bind(cfg->listen_clients, cfg, self->auth,
                           AUTH_DOMAIN_CLIENTS, &self->clients_endpoint, err,
                           err_size);
    if (!self->clients)
        goto error;
    self->workers = s_bind(cfg->listen_workers, cfg, self->auth,
                           AUTH_DOMAIN_WORKERS, &self->workers_endpoint, err,
                           err_size);
    if (!self->workers)
        goto error;
    self->clients_monitor = monitor_new(self->clients, self->clients_endpoint);
    self->workers_monitor = monitor_new(self->workers, self->workers_endpoint);
    if (!self->clients_monitor || !self->workers_monitor) {
        snprintf(err, err_size, "cannot monitor the sockets: %s",
                 zmq_strerror(zmq_errno()));
        goto error;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        goto error;
    }
    self->sig_read = fds[0];
    self->sig_write = fds[1];
    self->heap = heap_new();
    self->ctable = client_table_new(self->heap, DL_CLIENT,
                                    s_client_liveness_ms(cfg));
    self->parks = park_table_new(self->heap, self->ctable, DL_PARK);
    server_tables_init(self);
    self->sched = sched_new();
    self->wtable = worker_table_new();
    self->outbox = outbox_new();
    self->pool = pool_new(cfg, worker_cmd, self->workers_endpoint,
                          self->auth ? auth_pool_cert(self->auth) : NULL,
                          self->auth ? auth_server_cert(self->auth) : NULL,
                          self->heap, DL_POOL);
    heap_node_init(&self->tick, DL_TICK);
    self->started_at = util_now();
    /* Differs from run to run, so that a client whose call was parked
       in an earlier gorod learns that its request is gone. */
    self->epoch = ((uint64_t) util_wall_ms() << 20) ^ (uint64_t) getpid()
                  ^ (uint64_t) util_now();
    if (self->epoch == 0)
        self->epoch = 1;
    if (server_journal_recover(self, repair, err, err_size) != GORO_OK)
        goto error;
    self->ids_before_run = job_table_next_id(self->tables.jobs);
    return self;
error:
    server_destroy(&self);
    return NULL;
}


void
server_destroy(server_t **self_p)
{
    if (self_p && *self_p) {
        server_t *self = *self_p;
        if (self->tables.jobs) {
            server_park_withdraw_all(self);
            server_journal_commit(self);
        }
        journal_destroy(&self->journal);
        outbox_destroy(&self->outbox);
        pool_destroy(&self->pool);
        park_table_destroy(&self->parks);
        client_table_destroy(&self->ctable);
        worker_table_destroy(&self->wtable);
        sched_destroy(&self->sched); /* before the jobs it links */
        tables_fini(&self->tables);
        heap_destroy(&self->heap);
        monitor_destroy(&self->clients_monitor);
        monitor_destroy(&self->workers_monitor);
        zsock_destroy(&self->clients);
        zsock_destroy(&self->workers);
        auth_destroy(&self->auth);
        free(self->clients_endpoint);
        free(self->workers_endpoint);
        if (self->sig_read >= 0)
            close(self->sig_read);
        if (self->sig_write >= 0)
            close(self->sig_write);
        free(self);
        *self_p = NULL;
    }
}

const char *
server_clients_endpoint(server_t *self)
{
    return self->clients_endpoint;
}

const char *
server_workers_endpoint(server_t *self)
{
    return self->workers_endpoint;
}

/* ---- client requests ----------------------------------------------- */

static void
s_on_list(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    size_t size = 0;
    char *text = NULL;
    if (msg->what == GORO_LIST_JOBS)
        text = render_jobs(self->tables.jobs, (int) msg->flags, &size);
    else if (msg->what == GORO_LIST_WORKERS)
        text = render_workers(self->wtable, self->pool, util_now(),
                              (int) msg->flags, &size);
    else if (msg->what == GORO_LIST_STATS) {
        render_stats_t stats = {
            .uptime_ms = util_now() - self->started_at,
            .submitted = job_table_submitted(self->tables.jobs),
            .queued = job_table_count(self->tables.jobs, GORO_JOB_QUEUED),
            .running = job_table_count(self->tables.jobs, GORO_JOB_RUNNING),
            .succeeded = job_table_count(self->tables.jobs,
                                         GORO_JOB_SUCCEEDED),
            .failed = job_table_count(self->tables.jobs, GORO_JOB_FAILED),
            .cancelled = job_table_count(self->tables.jobs,
                                         GORO_JOB_CANCELLED),
            .timed_out = job_table_count(self->tables.jobs,
                                         GORO_JOB_TIMED_OUT),
            .workers = worker_table_size(self->wtable),
            .pool_processes = pool_alive(self->pool),
            .requests = self->requests,
            .malformed = self->malformed,
            .undelivered = self->undelivered,
            .channels = chan_table_size(self->tables.chans),
            .buffered_bytes = chan_table_bytes(self->tables.chans),
            .results_dropped = self->results_dropped,
            .waitgroups = wg_table_size(self->tables.wgs),
            .parked_clients = client_table_size(self->ctable),
            .auth_allowed = self->auth ? auth_allowed(self->auth) : 0,
            .auth_refused = self->auth ? auth_refused(self->auth) : 0,
            .clients_endpoint = self->clients_endpoint,
            .workers_endpoint = self->workers_endpoint,
        };
        for (worker_t *w = worker_table_first(self->wtable); w;
             w = worker_table_next(self->wtable)) {
            stats.capacity += w->capacity;
            stats.busy += w->running;
        }
        text = render_stats(&stats, self->tables.chans, (int) msg->flags,
                            &size);
    }
    else {
        reply_error(self, rid, msg->reqid, GORO_EINVAL,
                    "LIST of unknown kind %u", msg->what);
        return;
    }
    goro_msg_t *reply = goro_msg_new(GORO_MSG_OK);
    reply->reqid = msg->reqid;
    goro_msg_take_data(reply, (uint8_t **) &text, size);
    reply_send(self, self->clients, reply, rid);
    goro_msg_destroy(&reply);
}

static void
s_on_client_msg(server_t *self, const goro_rid_t *rid, goro_msg_t *msg)
{
    switch (msg->cmd) {
        case GORO_MSG_PING: reply_ok(self, rid, msg->reqid, 0); break;
        case GORO_MSG_HEARTBEAT: {
            goro_msg_t *beat = goro_msg_new(GORO_MSG_HEARTBEAT);
            beat->reqid = msg->reqid;
            beat->run_id = self->epoch;
            reply_send(self, self->clients, beat, rid);
            goro_msg_destroy(&beat);
            break;
        }
        case GORO_MSG_SUBMIT:
        case GORO_MSG_SUBMIT_LEASED:
        case GORO_MSG_LEASE:
        case GORO_MSG_STATUS:
        case GORO_MSG_WAIT:
        case GORO_MSG_CANCEL:
        case GORO_MSG_RETRY: server_job_on_msg(self, rid, msg); break;
        case GORO_MSG_LIST: s_on_list(self, rid, msg); break;
        case GORO_MSG_CHAN_SEND:
        case GORO_MSG_CHAN_RECV:
        case GORO_MSG_CHAN_SEND_MANY:
        case GORO_MSG_CHAN_RECV_MANY:
        case GORO_MSG_CHAN_PUT:
        case GORO_MSG_CHAN_RECV_AHEAD:
        case GORO_MSG_SELECT: server_chan_on_msg(self, rid, msg); break;
        case GORO_MSG_CHAN_MAKE:
        case GORO_MSG_CHAN_CLOSE: server_chan_on_admin(self, rid, msg); break;
        case GORO_MSG_WG_ADD:
        case GORO_MSG_WG_WAIT:
        case GORO_MSG_WG_STATUS: server_wg_on_msg(self, rid, msg); break;
        case GORO_MSG_ACK:
        case GORO_MSG_CHAN_TAKEN: server_chan_on_ack(self, rid, msg); break;
        case GORO_MSG_DISCONNECT: {
            client_t *c = client_table_lookup(self->ctable, rid);
            if (c)
                server_park_client_withdraw(self, c, false);
            break;
        }
        default:
            reply_error(self, rid, msg->reqid, GORO_EINVAL,
                        "%s is not a request this gorod serves",
                        goro_msg_cmd_name(msg->cmd));
    }
}

/* ---- the loop ------------------------------------------------------ */

static void
s_drain(server_t *self, zsock_t *sock, bool workers)
{
    for (int i = 0; i < SERVER_BATCH; i++) {
        goro_rid_t rid;
        goro_msg_t *msg = NULL;
        int rc = goro_msg_recv(zsock_resolve(sock),
                               s_value_max(self->cfg, workers), &msg, &rid);
        if (rc == GORO_EUNAVAILABLE)
            return;
        self->requests++;
        if (rc) {
            self->malformed++;
            log_debug("malformed %s message: %s",
                      workers ? "worker" : "client", goro_strerror(rc));
            if (msg && !workers)
                reply_error(self, &rid, msg->reqid, rc, "%s",
                            rc == GORO_ETOOBIG
                                ? "a value exceeds limits.max_message"
                                : "malformed message");
        }
        else if (workers)
            server_worker_on_msg(self, &rid, msg);
        else {
            client_table_touch(self->ctable, &rid, util_now());
            s_on_client_msg(self, &rid, msg);
        }
        goro_msg_destroy(&msg);
    }
}

static void
s_on_tick(server_t *self)
{
    for (worker_t *w = worker_table_first(self->wtable); w;
         w = worker_table_next(self->wtable))
        reply_worker(self, w, GORO_MSG_HEARTBEAT, NULL);
    heap_arm(self->heap, &self->tick,
             util_now() + self->cfg->heartbeat_interval_ms);
}

static void
s_expire(server_t *self)
{
    heap_node_t *node;
    int64_t now = util_now();
    while ((node = heap_pop_due(self->heap, now))) {
        switch (node->kind) {
            case DL_JOB:
                server_job_expire(
                    self, container_of(node, job_links_t, deadline)->job);
                break;
            case DL_WORKER:
                server_worker_check(self,
                                    container_of(node, worker_t, expiry));
                break;
            case DL_POOL: pool_on_deadline(self->pool, node); break;
            case DL_TICK: s_on_tick(self); break;
            case DL_PARK:
                server_park_expire(self, container_of(node, park_t, deadline));
                break;
            case DL_CLIENT:
                server_park_client_check(self,
                                         container_of(node, client_t, expiry));
                break;
            default: log_bug("deadline of unknown kind");
        }
    }
}

static void
s_begin_stop(server_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->stop_deadline = util_now() + self->cfg->shutdown_grace_ms;
    log_info("stopping: no new jobs; waiting up to %lld ms for %zu running "
             "job(s)",
             (long long) self->cfg->shutdown_grace_ms,
             job_table_count(self->tables.jobs, GORO_JOB_RUNNING));
}

static void
s_on_signals(server_t *self)
{
    char bytes[64];
    ssize_t n;
    while ((n = read(self->sig_read, bytes, sizeof bytes)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (bytes[i] == SIGCHLD) {
                /* What a dead pool worker sent before it died (a DONE)
                   is read first, so that a job it finished is not run
                   again. */
                s_drain(self, self->workers, true);
                pool_reap(self->pool, server_worker_exited, self);
                server_journal_compact_check(self);
            }
            else if (bytes[i] == SIGTERM || bytes[i] == SIGINT)
                s_begin_stop(self);
            else if (bytes[i] == SIGHUP)
                log_warn("SIGHUP ignored: gorod cannot reload its config; "
                         "restart it to apply a change (SIGTERM stops it)");
        }
}

static void
s_install_signals(server_t *self)
{
    s_sig_write = self->sig_write;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    /* SIGHUP's default is to die, silently; a reload may use it later. */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
server_run(server_t *self)
{
    s_install_signals(self);
    pool_start(self->pool);
    heap_arm(self->heap, &self->tick,
             util_now() + self->cfg->heartbeat_interval_ms);
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->clients), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->workers), 0, ZMQ_POLLIN, 0},
        {NULL, self->sig_read, ZMQ_POLLIN, 0},
        {monitor_socket(self->clients_monitor), 0, ZMQ_POLLIN, 0},
        {monitor_socket(self->workers_monitor), 0, ZMQ_POLLIN, 0},
        {self->auth ? auth_zap_socket(self->auth) : NULL, 0, ZMQ_POLLIN, 0},
    };
    int nitems = self->auth ? 6 : 5;
    for (;;) {
        if (self->stopping
            && (job_table_count(self->tables.jobs, GORO_JOB_RUNNING) == 0
                || util_now() >= self->stop_deadline))
            break;
        int64_t timeout = heap_timeout_ms(self->heap, util_now());
        if (self->stopping) {
            int64_t left = util_remaining(self->stop_deadline);
            if (timeout < 0 || left < timeout)
                timeout = left;
        }
        if (zmq_poll(items, nitems, (long) timeout) == -1
            && zmq_errno() != EINTR) {
            log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            s_on_signals(self);
        if (items[3].revents & ZMQ_POLLIN)
            monitor_drain(self->clients_monitor, util_now());
        if (items[4].revents & ZMQ_POLLIN)
            monitor_drain(self->workers_monitor, util_now());
        if (self->auth && (items[5].revents & ZMQ_POLLIN))
            auth_handle(self->auth);
        if (items[1].revents & ZMQ_POLLIN)
            s_drain(self, self->workers, true);
        if (items[0].revents & ZMQ_POLLIN)
            s_drain(self, self->clients, false);
        s_expire(self);
        server_journal_commit(self);
    }
    size_t left = job_table_count(self->tables.jobs, GORO_JOB_RUNNING);
    if (left)
        log_warn("grace period over: %zu job(s) still running are stopped",
                 left);
    pool_stop(self->pool, self->cfg->shutdown_grace_ms);
    log_info("stopped");
    return 0;
}
