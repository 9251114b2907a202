/*  gen_corpus - writes the seed corpora of the codec and journal fuzz
    targets (tests/fuzz/corpus/{codec,journal}/). Run once by hand after a
    format change; its output is committed:

        build-fuzz/fuzz/fuzz_gen_corpus tests/fuzz/corpus

    codec/: every command, once with each field it carries set and once
    with every field zero, as goro_msg_encode() makes them.
    journal/: journals written by the real tables through their mutators
    (jobs in every state, channels with buffers, waitgroups), in the
    fuzz_journal input forms (see fuzz_journal.c): a whole file of
    several turns (each flush ends with J_COMMIT), the records with CRCs
    left to the target, a torn one, one whose last turn lacks its
    J_COMMIT, a compacted one.
*/
#include "journal.h"
#include "tables.h"
#include "job.h"
#include "chan.h"
#include "wg.h"
#include "goro_msg.h"
#include "util.h"
#include "goro_defs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *s_out;

static void
s_die(const char *what)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
s_write(const char *dir, const char *name, const uint8_t *prefix,
        size_t prefix_size, const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", s_out, dir, name);
    FILE *file = fopen(path, "wb");
    if (!file)
        s_die(path);
    if ((prefix_size && fwrite(prefix, 1, prefix_size, file) != prefix_size)
        || (size && fwrite(data, 1, size, file) != size) || fclose(file) != 0)
        s_die(path);
}

/* ---- codec ------------------------------------------------------------ */

static void
s_fill(goro_msg_t *msg)
{
    msg->reqid = 0x0102030405060708ULL;
    msg->job_id = 42;
    msg->delivery_id = 42;
    msg->run_id = 42;
    msg->value_seq = 42;
    msg->code = GORO_ENOTFOUND;
    msg->state = GORO_JOB_SUCCEEDED;
    msg->what = GORO_LIST_JOBS;
    msg->flags = 1;
    msg->attempt = 2;
    msg->max_attempts = 3;
    msg->index = 1;
    msg->pid = 4242;
    msg->worker_capacity = 4;
    msg->status = -1;
    msg->timeout = 1500;
    msg->submit_wait = 8;
    msg->capacity = 8;
    msg->delta = 8;
    msg->hb_interval = 8;
    msg->ended_at = 8;
    msg->runtime = 25;
    msg->counter = 3;
    msg->hb_liveness = 3;
    msg->attempt_base = 3;
    msg->added = 5;
    msg->done = 2;
    msg->succeeded = 1;
    msg->failed = 1;
    goro_msg_set_name(msg, "resize");
    goro_msg_set_str(&msg->wg, "batch");
    goro_msg_set_str(&msg->chan, "results");
    goro_msg_set_str(&msg->key, "upload-17");
    goro_msg_set_data(msg, "{\"w\":640}\n", 10);
    goro_msg_set_text(msg, "stderr text", 11);
    msg->strs = util_zalloc(2 * sizeof *msg->strs);
    msg->strs[0] = util_strdup("exec");
    msg->strs[1] = util_strdup("sum");
    msg->nstrs = 2;
    msg->cases = util_zalloc(2 * sizeof *msg->cases);
    msg->cases[0].op = GORO_CASE_RECV;
    msg->cases[0].chan = util_strdup("in");
    msg->cases[1].op = GORO_CASE_SEND;
    msg->cases[1].chan = util_strdup("out");
    msg->cases[1].data = util_memdup("v", 1);
    msg->cases[1].size = 1;
    msg->ncases = 2;
    msg->recv_max = 500;
    msg->sent_count = 500;
    msg->values = util_zalloc(2 * sizeof *msg->values);
    msg->values[0].data = util_memdup("first", 5);
    msg->values[0].size = 5;
    msg->values[1].data = util_memdup("second", 6);
    msg->values[1].size = 6;
    msg->nvalues = 2;
}

static void
s_codec(void)
{
    int written = 0;
    for (int cmd = 1; cmd < GORO_MSG_CMD_MAX; cmd++) {
        const char *name = goro_msg_cmd_name(cmd);
        if (strcmp(name, "?") == 0)
            continue;
        for (int full = 0; full <= 1; full++) {
            goro_msg_t *msg = goro_msg_new(cmd);
            if (full)
                s_fill(msg);
            uint8_t *buf;
            size_t size;
            if (goro_msg_encode(msg, &buf, &size) != GORO_OK) {
                fprintf(stderr, "gen_corpus: cannot encode %s\n", name);
                exit(1);
            }
            char file[64];
            snprintf(file, sizeof file, "%s-%s", name, full ? "full" : "zero");
            s_write("codec", file, NULL, 0, buf, size);
            free(buf);
            goro_msg_destroy(&msg);
            written++;
        }
    }
    printf("codec: %d seeds\n", written);
}

/* ---- journal ---------------------------------------------------------- */

static job_t *
s_submit(tables_t *t, const char *fn, const char *data, const char *key,
         const char *wg, const char *chan, int max_attempts)
{
    job_spec_t spec = {
        .fn = fn,
        .data = data,
        .size = data ? strlen(data) : 0,
        .wg = wg,
        .chan = chan,
        .key = key,
        .timeout_ms = 2500,
        .max_attempts = max_attempts,
    };
    return job_table_submit(t->jobs, &spec);
}

static void
s_end(tables_t *t, job_t *job, int state, int64_t status, const char *out,
      const char *err)
{
    uint8_t *o = out ? util_memdup(out, strlen(out)) : NULL;
    char *e = err ? util_strdup(err) : NULL;
    job_table_end(t->jobs, job, state, status, 17, &o, out ? strlen(out) : 0,
                  &e, err ? strlen(err) : 0);
}

static void
s_send(tables_t *t, const char *chan, const char *value)
{
    chan_case_t one = {GORO_CASE_SEND, chan, util_memdup(value, strlen(value)),
                       strlen(value)};
    chan_result_t result;
    chan_fired_t fired = {0};
    int rc = chan_select(t->chans, &one, 1, false, NULL, NULL, &result,
                         &fired);
    chan_fired_free(&fired);
    if (rc != GORO_OK) {
        fprintf(stderr, "gen_corpus: send on %s\n", chan);
        exit(1);
    }
    free(one.data);
}

static void
s_recv_ack(tables_t *t, const char *chan)
{
    chan_case_t one = {GORO_CASE_RECV, chan, NULL, 0};
    chan_result_t result;
    chan_fired_t fired = {0};
    int rc = chan_select(t->chans, &one, 1, false, NULL, NULL, &result,
                         &fired);
    chan_fired_free(&fired);
    if (rc != GORO_OK || result.closed) {
        fprintf(stderr, "gen_corpus: recv on %s\n", chan);
        exit(1);
    }
    free(result.data);
    chan_ack(t->chans, result.delivery, NULL, &fired);
    chan_fired_free(&fired);
}

/* Jobs in every state, channels with buffers, waitgroups: each mutator
   appends its record. */
static void
s_populate(tables_t *t, journal_t *journal)
{
    int64_t now = util_now();
    s_submit(t, "exec", "true", "k-queued", NULL, NULL, 3);
    job_t *running = s_submit(t, "resize", "img-2", NULL, "g1", NULL, 3);
    job_table_start(t->jobs, running, now);
    job_t *ok = s_submit(t, "exec", "echo", "k-ok", "g1", "c1", 3);
    job_table_start(t->jobs, ok, now);
    s_end(t, ok, GORO_JOB_SUCCEEDED, 0, "hello\n", "");
    job_table_result_sent(t->jobs, ok);
    job_t *failed = s_submit(t, "exec", "false", NULL, NULL, NULL, 1);
    job_table_start(t->jobs, failed, now);
    s_end(t, failed, GORO_JOB_FAILED, 3, "partial", "it broke\n");
    job_t *cancelled = s_submit(t, "exec", "sleep", NULL, NULL, NULL, 3);
    s_end(t, cancelled, GORO_JOB_CANCELLED, -1, NULL, "cancelled");
    job_t *retried = s_submit(t, "exec", "flaky", "k-retried", NULL, NULL, 2);
    job_table_start(t->jobs, retried, now);
    job_table_requeue(t->jobs, retried);
    job_table_start(t->jobs, retried, now);
    s_end(t, retried, GORO_JOB_FAILED, 1, NULL, "no");
    job_table_retry(t->jobs, retried);
    job_table_start(t->jobs, retried, now);
    job_t *removed = s_submit(t, "exec", "gone", "k-removed", NULL, NULL, 3);
    job_table_start(t->jobs, removed, now);
    s_end(t, removed, GORO_JOB_SUCCEEDED, 0, "x", NULL);
    job_table_remove(t->jobs, &removed);
    job_t *timed_out = s_submit(t, "exec", "hang", NULL, NULL, NULL, 3);
    job_table_start(t->jobs, timed_out, now);
    s_end(t, timed_out, GORO_JOB_TIMED_OUT, -1, NULL, "timed out");
    journal_flush(journal, util_now()); /* a turn */

    chan_make(t->chans, "c1", 5);
    s_send(t, "c1", "v1");
    s_send(t, "c1", "v2");
    s_send(t, "c1", "");
    s_recv_ack(t, "c1");
    chan_make(t->chans, "closed", 2);
    s_send(t, "closed", "a");
    chan_fired_t fired = {0};
    chan_close(t->chans, "closed", &fired);
    chan_fired_free(&fired);
    chan_make(t->chans, "unbuffered", 0);
    journal_flush(journal, util_now());

    wg_t *wg = NULL;
    wg_add(t->wgs, "g1", 2, &wg);
    wg_job_done(t->wgs, "g1", 1, &wg);
    wg_add(t->wgs, "g2", 1, &wg);
    wg_add(t->wgs, "g2", -1, &wg);
}

static uint8_t *
s_read(const char *path, size_t *size_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        s_die(path);
    uint8_t *buf = NULL;
    size_t size = 0, alloc = 0, got;
    do {
        if (size == alloc) {
            alloc = alloc ? alloc * 2 : 4096;
            buf = util_realloc(buf, alloc);
        }
        got = fread(buf + size, 1, alloc - size, file);
        size += got;
    } while (got > 0);
    fclose(file);
    *size_out = size;
    return buf;
}

static uint32_t
s_get32(const uint8_t *in)
{
    return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16
           | (uint32_t) in[2] << 8 | in[3];
}

/* FILE as fuzz_journal's form 2: its records without CRCs. */
static void
s_write_records(const char *name, const uint8_t *file, size_t size)
{
    uint8_t *out = util_zalloc(size + 1);
    size_t used = 0;
    out[used++] = 2;
    size_t nrecords = 0;
    for (size_t at = JOURNAL_HEADER; at + JOURNAL_FRAME <= size;) {
        size_t length = s_get32(file + at);
        if (length > size - at - JOURNAL_FRAME)
            break;
        memcpy(out + used, file + at, 4);
        memcpy(out + used + 4, file + at + JOURNAL_FRAME, length);
        used += 4 + length;
        at += JOURNAL_FRAME + length;
        nrecords++;
    }
    s_write("journal", name, NULL, 0, out, used);
    printf("journal: %s: %zu records\n", name, nrecords);
    free(out);
}

static void
s_journal(void)
{
    char dir[] = "/tmp/goro-gen-corpus-XXXXXX";
    if (!mkdtemp(dir))
        s_die("mkdtemp");
    char path[PATH_MAX], err[256];
    snprintf(path, sizeof path, "%s/goro.journal", dir);

    journal_t *journal = journal_open(path, CONFIG_FSYNC_NEVER, err,
                                      sizeof err);
    if (!journal) {
        fprintf(stderr, "gen_corpus: %s\n", err);
        exit(1);
    }
    tables_t t;
    tables_init(&t, 1);
    tables_set_journal(&t, journal);
    s_populate(&t, journal);
    journal_flush(journal, util_now());

    size_t size;
    uint8_t *file = s_read(path, &size);
    const uint8_t raw = 0, headed = 1;
    s_write("journal", "log-file", &raw, 1, file, size);
    s_write_records("log-records", file, size);
    /* a crash in the middle of the last record */
    s_write("journal", "log-torn", &raw, 1, file, size - 5);
    /* form 1: the header is added by the target */
    s_write("journal", "log-headed", &headed, 1, file + JOURNAL_HEADER,
            size - JOURNAL_HEADER);
    s_write("journal", "empty", &raw, 1, file, JOURNAL_HEADER);
    /* whole records, but the last turn without its J_COMMIT (a frame of
       GORO_MSG_HEADER bytes) */
    s_write("journal", "log-uncommitted", &raw, 1, file,
            size - JOURNAL_FRAME - GORO_MSG_HEADER);
    free(file);

    /* the same state compacted, as gorod compacts it: a child writes the
       snapshot, the poll once it has exited puts it in place */
    if (journal_compact_start(journal, tables_snapshot, &t) != GORO_OK
        || waitid(P_ALL, 0, &(siginfo_t){0}, WEXITED | WNOWAIT) != 0
        || journal_compact_poll(journal) != 1) {
        fprintf(stderr, "gen_corpus: the compaction failed\n");
        exit(1);
    }
    file = s_read(path, &size);
    s_write("journal", "compact-file", &raw, 1, file, size);
    s_write_records("compact-records", file, size);
    free(file);

    journal_destroy(&journal);
    tables_fini(&t);
    unlink(path);
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    s_out = argv[1];
    s_codec();
    s_journal();
    return 0;
}
