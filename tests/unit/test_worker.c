/*  test_worker - worker.c, the table of connected workers: registering
    from a READY, lookup by routing id, which functions a worker serves,
    attach/detach of running jobs, and the free list that dispatch picks
    from (only workers serving the function with capacity left, in turn).

    READY messages are built as the decoder builds them; jobs come from a
    job table, since attach links them through their runtime links
    (job_links.h), apart from their place in a queue (sched.c).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "job.h"
#include "job_links.h"
#include "sched.h"
#include "goro_msg.h"
#include "util.h"


typedef struct {
    worker_table_t *workers;
    job_table_t *jobs;
} fixture_t;

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */
/* ------------------------------------------------------------------ */

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->workers = worker_table_new();
    fx->jobs = job_table_new();
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    worker_table_destroy(&fx->workers);
    job_table_destroy(&fx->jobs);
    free(fx);
    return 0;
}

/* A READY as the decoder makes it: FNS is a NULL-terminated list, copied
   into strs, which goro_msg_destroy frees. */
static goro_msg_t *
s_ready(const char *name, uint32_t pid, uint32_t capacity,
        const char *const *fns)
{
    goro_msg_t *msg = goro_msg_new(GORO_MSG_READY);
    assert_non_null(msg);
    if (name)
        goro_msg_set_name(msg, name);
    msg->pid = pid;
    msg->worker_capacity = capacity;
    size_t count = 0;
    while (fns && fns[count])
        count++;
    msg->strs = util_zalloc(sizeof(char *) * (count ? count : 1));
    for (size_t i = 0; i < count; i++)
        msg->strs[i] = util_strdup(fns[i]);
    msg->nstrs = count;
    return msg;
}

/* A routing id of SIZE bytes from TEXT; the unused tail is filled with
   FILL, which lookups must ignore. */
static goro_rid_t
s_rid(const char *text, size_t size, uint8_t fill)
{
    goro_rid_t rid;
    memset(&rid, fill, sizeof rid);
    rid.size = (uint8_t) size;
    memcpy(rid.data, text, size);
    return rid;
}

/* Adds a worker with routing id "wN" serving FNS with CAPACITY. */
static worker_t *
s_worker(fixture_t *fx, int n, uint32_t capacity, const char *const *fns)
{
    char text[16];
    int len = snprintf(text, sizeof text, "w%d", n);
    goro_rid_t rid = s_rid(text, (size_t) len, 0);
    goro_msg_t *ready = s_ready(text, (uint32_t) (1000 + n), capacity, fns);
    worker_t *w = worker_table_add(fx->workers, &rid, ready, 5);
    goro_msg_destroy(&ready);
    assert_non_null(w);
    return w;
}

static job_t *
s_job(fixture_t *fx, const char *fn)
{
    job_spec_t spec = {.fn = fn, .data = "", .size = 0, .max_attempts = 1};
    return job_table_submit(fx->jobs, &spec);
}

/* Counts W's running list, checking its links both ways and that it
   agrees with W's count of running jobs. */
static int
s_running_list(const worker_t *w)
{
    int count = 0;
    const list_node_t *prev = NULL;
    for (const list_node_t *node = w->jobs.head; node; node = node->next) {
        assert_ptr_equal(node->prev, prev);
        const job_links_t *links = LIST_ITEM(node, job_links_t, on_worker);
        assert_ptr_equal(links->worker, w);
        assert_ptr_equal(job_links(links->job), links);
        prev = node;
        count++;
    }
    assert_ptr_equal(w->jobs.tail, prev);
    assert_int_equal(w->jobs.count, count);
    assert_int_equal(w->running, count);
    return count;
}

/* Whether W is in the list dispatch picks from. */
static bool
s_free(fixture_t *fx, const worker_t *w)
{
    return worker_table_is_free(fx->workers, w);
}

/* ------------------------------------------------------------------ */
/*  Tests                                                             */
/* ------------------------------------------------------------------ */

static void
test_new_destroy(void **state)
{
    (void) state;
    worker_table_t *table = worker_table_new();
    assert_non_null(table);
    assert_int_equal(worker_table_size(table), 0);
    assert_null(worker_table_first(table));
    assert_null(worker_table_pick(table, "f"));
    worker_table_destroy(&table);
    assert_null(table);
    worker_table_destroy(&table);
    worker_table_destroy(NULL);
}

static void
test_add_copies_ready(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"resize", "thumb", NULL};
    goro_msg_t *ready = s_ready("box-1", 4242, 3, fns);
    goro_rid_t rid = s_rid("\x00\x01\x02", 3, 0);
    worker_t *w = worker_table_add(fx->workers, &rid, ready, 777);
    goro_msg_destroy(&ready); /* the worker keeps copies */

    assert_non_null(w);
    assert_string_equal(w->name, "box-1");
    assert_int_equal(w->pid, 4242);
    assert_int_equal(w->capacity, 3);
    assert_int_equal(w->running, 0);
    assert_int_equal(w->nfns, 2);
    assert_string_equal(w->fns[0], "resize");
    assert_string_equal(w->fns[1], "thumb");
    assert_null(worker_newest_job(w));
    assert_int_equal(s_running_list(w), 0);
    assert_int_equal(w->last_seen, 777);
    assert_true(w->joined_at > 0); /* wall clock */
    assert_int_equal(w->finished, 0);
    assert_false(heap_node_armed(&w->expiry));
    assert_int_equal(w->rid.size, 3);
    assert_memory_equal(w->rid.data, "\x00\x01\x02", 3);
    assert_true(s_free(fx, w));
    assert_int_equal(worker_table_size(fx->workers), 1);
    assert_ptr_equal(worker_table_pick(fx->workers, "thumb"), w);
}

static void
test_add_defaults(void **state)
{
    fixture_t *fx = *state;
    /* no name, capacity 0 (the decoder's zero): one job at a time */
    goro_msg_t *ready = s_ready(NULL, 1, 0, NULL);
    goro_rid_t rid = s_rid("a", 1, 0);
    worker_t *w = worker_table_add(fx->workers, &rid, ready, 0);
    goro_msg_destroy(&ready);
    assert_string_equal(w->name, "");
    assert_int_equal(w->capacity, 1);
    assert_int_equal(w->nfns, 0);
    assert_non_null(w->fns);
    /* serving nothing, it is never picked */
    assert_null(worker_table_pick(fx->workers, "f"));
    assert_null(worker_table_pick(fx->workers, ""));
}

/* capacity32 comes from the peer as any 32-bit number: it is clamped to
   WORKER_CAPACITY_MAX, so a huge one never turns negative. */
static void
test_add_huge_capacity(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    const uint32_t huge[] = {0x80000000u, UINT32_MAX};
    for (int i = 0; i < 2; i++) {
        worker_t *w = s_worker(fx, i, huge[i], fns);
        assert_true(w->capacity >= 1);
        job_t *job = s_job(fx, "f");
        worker_table_attach(fx->workers, w, job);
        assert_true(s_free(fx, w)); /* a huge capacity is not used up */
        worker_table_detach(fx->workers, w, job);
        assert_true(s_free(fx, w));
        worker_table_remove(fx->workers, &w);
    }
}

static void
test_lookup_by_rid(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    goro_msg_t *ready = s_ready("x", 1, 1, fns);
    /* ROUTER ids: a zero byte and four more, plus a shorter and a longer
       one sharing its prefix */
    goro_rid_t r1 = s_rid("\x00\x6b\x8b\x45\x67", 5, 0);
    goro_rid_t r2 = s_rid("\x00\x6b\x8b\x45\x68", 5, 0);
    goro_rid_t r3 = s_rid("\x00\x6b\x8b\x45", 4, 0);
    goro_rid_t r4 = s_rid("\x00\x6b\x8b\x45\x67\x00", 6, 0);
    worker_t *w1 = worker_table_add(fx->workers, &r1, ready, 0);
    worker_t *w2 = worker_table_add(fx->workers, &r2, ready, 0);
    worker_t *w3 = worker_table_add(fx->workers, &r3, ready, 0);
    worker_t *w4 = worker_table_add(fx->workers, &r4, ready, 0);
    goro_msg_destroy(&ready);
    assert_int_equal(worker_table_size(fx->workers), 4);

    /* probes are separate copies whose unused bytes differ */
    goro_rid_t p1 = s_rid("\x00\x6b\x8b\x45\x67", 5, 0xaa);
    goro_rid_t p2 = s_rid("\x00\x6b\x8b\x45\x68", 5, 0x55);
    goro_rid_t p3 = s_rid("\x00\x6b\x8b\x45", 4, 0xff);
    goro_rid_t p4 = s_rid("\x00\x6b\x8b\x45\x67\x00", 6, 0x11);
    assert_ptr_equal(worker_table_lookup(fx->workers, &p1), w1);
    assert_ptr_equal(worker_table_lookup(fx->workers, &p2), w2);
    assert_ptr_equal(worker_table_lookup(fx->workers, &p3), w3);
    assert_ptr_equal(worker_table_lookup(fx->workers, &p4), w4);

    goro_rid_t unknown = s_rid("\x00\x6b\x8b\x45\x69", 5, 0);
    goro_rid_t empty = s_rid("", 0, 0);
    assert_null(worker_table_lookup(fx->workers, &unknown));
    assert_null(worker_table_lookup(fx->workers, &empty));
}

static void
test_serves(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"resize", "thumb", "a", NULL};
    worker_t *w = s_worker(fx, 1, 1, fns);
    assert_true(worker_serves(w, "resize"));
    assert_true(worker_serves(w, "thumb"));
    assert_true(worker_serves(w, "a"));
    char probe[] = "thumb";
    assert_true(worker_serves(w, probe));
    assert_false(worker_serves(w, "resiz"));
    assert_false(worker_serves(w, "resize2"));
    assert_false(worker_serves(w, "Thumb"));
    assert_false(worker_serves(w, ""));
    worker_t *none = s_worker(fx, 2, 1, NULL);
    assert_false(worker_serves(none, "resize"));
}

static void
test_attach_detach_running(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w = s_worker(fx, 1, 3, fns);
    job_t *a = s_job(fx, "f"), *b = s_job(fx, "f"), *c = s_job(fx, "f");

    worker_table_attach(fx->workers, w, a);
    assert_int_equal(w->running, 1);
    assert_ptr_equal(job_links(a)->worker, w);
    assert_int_equal(s_running_list(w), 1);
    assert_true(s_free(fx, w));
    worker_table_attach(fx->workers, w, b);
    worker_table_attach(fx->workers, w, c);
    assert_int_equal(w->running, 3);
    assert_int_equal(s_running_list(w), 3);
    assert_false(s_free(fx, w)); /* full */

    worker_table_detach(fx->workers, w, b); /* middle */
    assert_int_equal(w->running, 2);
    assert_null(job_links(b)->worker);
    assert_null(job_links(b)->on_worker.prev);
    assert_null(job_links(b)->on_worker.next);
    assert_int_equal(s_running_list(w), 2);
    assert_true(s_free(fx, w));
    worker_table_detach(fx->workers, w, c); /* head (newest) */
    assert_int_equal(w->running, 1);
    assert_int_equal(s_running_list(w), 1);
    assert_ptr_equal(worker_newest_job(w), a);
    worker_table_detach(fx->workers, w, a); /* the last one */
    assert_int_equal(w->running, 0);
    assert_null(worker_newest_job(w));
    assert_null(job_links(a)->worker);
    assert_true(s_free(fx, w));

    /* a detached job can be attached again (a retry on the same worker) */
    worker_table_attach(fx->workers, w, a);
    worker_table_attach(fx->workers, w, b);
    worker_table_detach(fx->workers, w, a); /* tail (oldest) */
    assert_int_equal(s_running_list(w), 1);
    assert_ptr_equal(worker_newest_job(w), b);
    worker_table_detach(fx->workers, w, b);
    assert_int_equal(w->running, 0);
}

/* A job's place in a worker's running list and its place in its
   function's queue are two links with two owners (worker.c, sched.c).
   The server never has a job in both at once, but neither module relies
   on that: each writes only its own node, so one never moves the other. */
static void
test_running_list_apart_from_queue(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w = s_worker(fx, 1, 4, fns);
    sched_t *sched = sched_new();
    job_t *q[3];
    for (int i = 0; i < 3; i++) {
        q[i] = s_job(fx, "f");
        sched_push(sched, q[i]);
    }
    job_t *run = s_job(fx, "f"), *run2 = s_job(fx, "f");
    worker_table_attach(fx->workers, w, run);
    worker_table_attach(fx->workers, w, q[1]); /* the middle of a queue */
    sched_push(sched, run);                    /* the head of a list */
    worker_table_attach(fx->workers, w, run2);
    worker_table_detach(fx->workers, w, q[1]);
    sched_remove(sched, q[0]);

    assert_int_equal(s_running_list(w), 2);
    assert_ptr_equal(worker_newest_job(w), run2);
    assert_int_equal(sched_queued(sched, "f"), 3);
    char *const f[] = {"f"};
    job_t *const order[] = {q[1], q[2], run};
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(sched_pop_any(sched, f, 1), order[i]);
    assert_null(sched_pop_any(sched, f, 1));
    assert_int_equal(s_running_list(w), 2);
    worker_table_detach(fx->workers, w, run2);
    assert_ptr_equal(worker_newest_job(w), run);
    worker_table_detach(fx->workers, w, run);
    assert_int_equal(s_running_list(w), 0);
    sched_destroy(&sched);
}

/* Attach links a job first: a lost worker's jobs are taken off it
   newest first, which keeps their order when they are queued again
   (test_sched: test_lost_workers_jobs_keep_their_order). */
static void
test_newest_job_first(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w = s_worker(fx, 1, 3, fns);
    job_t *j[3];
    for (int i = 0; i < 3; i++) {
        j[i] = s_job(fx, "f");
        worker_table_attach(fx->workers, w, j[i]);
    }
    for (int i = 2; i >= 0; i--) {
        assert_ptr_equal(worker_newest_job(w), j[i]);
        worker_table_detach(fx->workers, w, j[i]);
    }
    assert_null(worker_newest_job(w));
    assert_true(s_free(fx, w));
}

static void
test_pick_only_serving(void **state)
{
    fixture_t *fx = *state;
    const char *a_fns[] = {"a", NULL};
    const char *b_fns[] = {"b", "c", NULL};
    worker_t *wa = s_worker(fx, 1, 1, a_fns);
    worker_t *wb = s_worker(fx, 2, 1, b_fns);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(worker_table_pick(fx->workers, "b"), wb);
        assert_ptr_equal(worker_table_pick(fx->workers, "a"), wa);
        assert_ptr_equal(worker_table_pick(fx->workers, "c"), wb);
        assert_null(worker_table_pick(fx->workers, "d"));
    }
    /* picking alone takes no capacity: only attach does */
    assert_int_equal(wa->running, 0);
    assert_true(s_free(fx, wa));
}

static void
test_pick_rotates(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w[2] = {s_worker(fx, 1, 1, fns), s_worker(fx, 2, 1, fns)};
    worker_t *first = worker_table_pick(fx->workers, "f");
    assert_true(first == w[0] || first == w[1]);
    worker_t *second = first == w[0] ? w[1] : w[0];
    job_t *job = s_job(fx, "f");
    worker_t *prev = NULL;
    for (int i = 0; i < 10; i++) {
        worker_t *got = i ? worker_table_pick(fx->workers, "f") : first;
        assert_ptr_equal(got, i % 2 ? second : first);
        assert_ptr_not_equal(got, prev);
        worker_table_attach(fx->workers, got, job);
        worker_table_detach(fx->workers, got, job);
        prev = got;
    }
}

static void
test_pick_rotates_without_attach(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    for (int i = 0; i < 3; i++)
        s_worker(fx, i, 4, fns);
    /* with capacity to spare, consecutive picks still take turns: three
       picks hit three different workers, then the cycle repeats */
    worker_t *seen[6];
    for (int i = 0; i < 6; i++)
        seen[i] = worker_table_pick(fx->workers, "f");
    assert_ptr_not_equal(seen[0], seen[1]);
    assert_ptr_not_equal(seen[1], seen[2]);
    assert_ptr_not_equal(seen[0], seen[2]);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(seen[i + 3], seen[i]);
}

static void
test_pick_skips_others_and_still_alternates(void **state)
{
    fixture_t *fx = *state;
    const char *f_fns[] = {"f", NULL};
    const char *g_fns[] = {"g", NULL};
    s_worker(fx, 1, 1, g_fns);
    worker_t *f1 = s_worker(fx, 2, 1, f_fns);
    s_worker(fx, 3, 1, g_fns);
    worker_t *f2 = s_worker(fx, 4, 1, f_fns);
    job_t *job = s_job(fx, "f");
    worker_t *last = NULL;
    for (int i = 0; i < 8; i++) {
        worker_t *got = worker_table_pick(fx->workers, "f");
        assert_true(got == f1 || got == f2);
        assert_ptr_not_equal(got, last);
        worker_table_attach(fx->workers, got, job);
        worker_table_detach(fx->workers, got, job);
        last = got;
    }
}

/* Only the picked worker moves to the back of the list: a pick for g
   must not send an f worker still waiting behind one just used. */
static void
test_pick_rotation_ignores_other_functions(void **state)
{
    fixture_t *fx = *state;
    const char *f_fns[] = {"f", NULL};
    const char *g_fns[] = {"g", NULL};
    worker_t *f1 = s_worker(fx, 1, 4, f_fns);
    worker_t *f2 = s_worker(fx, 2, 4, f_fns);
    worker_t *g1 = s_worker(fx, 3, 4, g_fns);
    worker_t *last = NULL;
    for (int i = 0; i < 6; i++) {
        worker_t *got = worker_table_pick(fx->workers, "f");
        assert_true(got == f1 || got == f2);
        assert_ptr_not_equal(got, last);
        last = got;
        assert_ptr_equal(worker_table_pick(fx->workers, "g"), g1);
    }
}

static void
test_full_worker_not_picked(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w1 = s_worker(fx, 1, 1, fns);
    worker_t *w2 = s_worker(fx, 2, 2, fns);
    job_t *j[3] = {s_job(fx, "f"), s_job(fx, "f"), s_job(fx, "f")};

    worker_table_attach(fx->workers, w1, j[0]); /* w1 full */
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(worker_table_pick(fx->workers, "f"), w2);
    worker_table_attach(fx->workers, w2, j[1]);
    assert_ptr_equal(worker_table_pick(fx->workers, "f"), w2);
    worker_table_attach(fx->workers, w2, j[2]); /* both full */
    assert_null(worker_table_pick(fx->workers, "f"));
    assert_false(s_free(fx, w1));
    assert_false(s_free(fx, w2));

    worker_table_detach(fx->workers, w1, j[0]); /* w1 free again */
    assert_ptr_equal(worker_table_pick(fx->workers, "f"), w1);
    assert_ptr_equal(worker_table_pick(fx->workers, "f"), w1);
    worker_table_detach(fx->workers, w2, j[2]);
    worker_t *a = worker_table_pick(fx->workers, "f");
    worker_t *b = worker_table_pick(fx->workers, "f");
    assert_true((a == w1 && b == w2) || (a == w2 && b == w1));
    worker_table_detach(fx->workers, w2, j[1]);
    assert_int_equal(w1->running, 0);
    assert_int_equal(w2->running, 0);
}

static void
test_remove(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = s_worker(fx, i, 1, fns);
    goro_rid_t rid = w[1]->rid;

    worker_t *gone = w[1];
    worker_table_remove(fx->workers, &gone);
    assert_null(gone);
    assert_int_equal(worker_table_size(fx->workers), 2);
    assert_null(worker_table_lookup(fx->workers, &rid));
    /* it is out of the free list: picks only ever find the others */
    for (int i = 0; i < 6; i++) {
        worker_t *got = worker_table_pick(fx->workers, "f");
        assert_true(got == w[0] || got == w[2]);
    }

    /* a worker removed after it was used and freed again */
    job_t *job = s_job(fx, "f");
    worker_table_attach(fx->workers, w[0], job);
    worker_table_detach(fx->workers, w[0], job);
    worker_table_remove(fx->workers, &w[0]);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(worker_table_pick(fx->workers, "f"), w[2]);

    /* a full worker (out of the list), once its job is off it */
    worker_table_attach(fx->workers, w[2], job);
    assert_null(worker_table_pick(fx->workers, "f"));
    worker_table_detach(fx->workers, w[2], job);
    worker_table_remove(fx->workers, &w[2]);
    assert_int_equal(worker_table_size(fx->workers), 0);
    assert_null(worker_table_pick(fx->workers, "f"));
    assert_null(worker_table_first(fx->workers));

    /* the routing id can register again */
    goro_msg_t *ready = s_ready("again", 9, 1, fns);
    worker_t *back = worker_table_add(fx->workers, &rid, ready, 0);
    goro_msg_destroy(&ready);
    assert_ptr_equal(worker_table_lookup(fx->workers, &rid), back);
    assert_ptr_equal(worker_table_pick(fx->workers, "f"), back);
}

static void
test_first_next(void **state)
{
    fixture_t *fx = *state;
    const char *fns[] = {"f", NULL};
    worker_t *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = s_worker(fx, i, 1, fns);
    int seen[4] = {0};
    size_t count = 0;
    for (worker_t *it = worker_table_first(fx->workers); it;
         it = worker_table_next(fx->workers)) {
        for (int i = 0; i < 4; i++)
            if (it == w[i])
                seen[i]++;
        count++;
    }
    assert_int_equal(count, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seen[i], 1);
}

/* A test run with a fresh fixture. */
#define T_FIXTURE(test) \
    cmocka_unit_test_setup_teardown(test, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_destroy),
        T_FIXTURE(test_add_copies_ready),
        T_FIXTURE(test_add_defaults),
        T_FIXTURE(test_add_huge_capacity),
        T_FIXTURE(test_lookup_by_rid),
        T_FIXTURE(test_serves),
        T_FIXTURE(test_attach_detach_running),
        T_FIXTURE(test_running_list_apart_from_queue),
        T_FIXTURE(test_newest_job_first),
        T_FIXTURE(test_pick_only_serving),
        T_FIXTURE(test_pick_rotates),
        T_FIXTURE(test_pick_rotates_without_attach),
        T_FIXTURE(test_pick_skips_others_and_still_alternates),
        T_FIXTURE(test_pick_rotation_ignores_other_functions),
        T_FIXTURE(test_full_worker_not_picked),
        T_FIXTURE(test_remove),
        T_FIXTURE(test_first_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
