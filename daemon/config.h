/*  config - gorod's YAML configuration, loaded with libyaml into a
    config_t of plain values. Every key has a default, so an empty file is
    a working config; an unknown key, a duplicate key, a wrong type or a
    bad value is an error that names FILE:LINE:COLUMN.

    config knows nothing of sockets or tables; gorod.c hands the result to
    the server.
*/
#ifndef CONFIG_H_INCLUDED
#define CONFIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERROR_MAX 512

typedef struct {
    char *name;      /* shown by `goro workers` */
    int processes;   /* 0: one per CPU */
    int concurrency; /* jobs at once per process */
    int prefetch;    /* jobs offered beyond those, per process */
    char *command;   /* NULL: goro-worker beside gorod */
} config_pool_t;

typedef enum {
    CONFIG_FSYNC_ALWAYS,
    CONFIG_FSYNC_EVERYSEC,
    CONFIG_FSYNC_NEVER
} config_fsync_t;

typedef enum {
    CONFIG_LOG_DEBUG,
    CONFIG_LOG_INFO,
    CONFIG_LOG_WARN,
    CONFIG_LOG_ERROR
} config_log_level_t;

typedef struct {
    char *listen_clients; /* tcp://127.0.0.1:7700 */
    char *listen_workers; /* tcp://127.0.0.1:7701 */
    config_pool_t *pools; /* default: one pool "default" */
    size_t npools;
    int64_t heartbeat_interval_ms; /* 1s */
    int heartbeat_liveness;        /* 3 */
    int max_attempts;              /* jobs.max_attempts: 3 */
    int64_t result_ttl_ms;         /* jobs.result_ttl: 1h */
    int64_t job_timeout_ms;        /* jobs.timeout: 0 (none) */
    int64_t shutdown_grace_ms;     /* jobs.shutdown_grace: 10s */
    int exec_enabled;              /* jobs.exec.enabled: true */
    char **exec_allow;             /* jobs.exec.allow: ["*"] */
    size_t nexec_allow;
    uint64_t exec_max_output; /* jobs.exec.max_output: 128KiB */
    char **exec_env;          /* jobs.exec.env: PATH, HOME, ... */
    size_t nexec_env;
    char *exec_run_as;            /* jobs.exec.run_as: NULL */
    int64_t exec_limit_cpu_ms;    /* jobs.exec.limits.cpu: 0 (none) */
    uint64_t exec_limit_memory;   /* jobs.exec.limits.memory: 0 */
    uint64_t exec_limit_files;    /* jobs.exec.limits.files: 0 */
    uint64_t exec_limit_procs;    /* jobs.exec.limits.processes: 0 */
    int64_t exec_kill_grace_ms;   /* jobs.exec.kill_grace: 5s */
    uint64_t max_message;         /* limits.max_message: 128KiB */
    uint64_t max_queued_jobs;     /* limits.max_queued_jobs: 1000000 */
    uint64_t max_channel_bytes;   /* limits.max_channel_bytes: 256MiB */
    int64_t handshake_timeout_ms; /* limits.handshake_timeout: 5s */
    char *journal_path;           /* journal.path: var/goro.journal */
    config_fsync_t journal_fsync; /* journal.fsync: everysec */
    uint64_t journal_compact_min; /* journal.compact_min: 64MiB */
    config_log_level_t log_level; /* log.level: info */
    int loop_cpu;        /* loop.cpu: -1, wherever the kernel puts it */
    int insecure;        /* security.insecure: false */
    char *curve_cert;    /* security.curve.cert: NULL */
    char *curve_clients; /* security.curve.clients: NULL */
    char *curve_workers; /* security.curve.workers: NULL */
} config_t;

/* A config with every default. Caller owns it. */
config_t *config_new(void);

/* Loads PATH over the defaults. Returns NULL and writes
   "PATH:LINE:COLUMN: message" into ERR (CONFIG_ERROR_MAX bytes) on any
   error. Caller owns the result. */
config_t *config_load(const char *path, char *err);

/* As config_load, from a buffer; NAME stands for the file in messages. */
config_t *config_parse(const char *name, const char *text, size_t size,
                       char *err);

void config_destroy(config_t **self_p);

#endif
