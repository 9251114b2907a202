/*  wg - waitgroup counters.

    A round starts when an add lifts the counter from zero: the progress
    numbers (added, done, succeeded, failed) start over then, so `goro wg
    status` describes the batch in flight, or the last one once it is
    done.
*/
#include "wg.h"
#include "journal.h"
#include "util.h"

#include <czmq.h>
#include <stdlib.h>

struct wg_table {
    zhashx_t *groups;   /* name -> wg_t, owns them */
    journal_t *journal; /* NULL while replaying */
};

/* Groups are journaled as their whole state: replay just sets it. */
static void
s_log(journal_t *journal, const wg_t *wg)
{
    if (!journal)
        return;
    goro_msg_t record = {
        .cmd = GORO_MSG_J_WG_SET,
        .name = wg->name,
        .counter = wg->info.counter,
        .added = wg->info.added,
        .done = wg->info.done,
        .succeeded = wg->info.succeeded,
        .failed = wg->info.failed,
    };
    journal_append(journal, &record);
}

static void
s_wg_free(void **item_p)
{
    wg_t *wg = *item_p;
    if (wg) {
        free(wg->name);
        free(wg);
        *item_p = NULL;
    }
}

wg_table_t *
wg_table_new(void)
{
    wg_table_t *self = util_zalloc(sizeof *self);
    self->groups = zhashx_new();
    zhashx_set_destructor(self->groups, s_wg_free);
    return self;
}

void
wg_table_destroy(wg_table_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->groups);
        free(*self_p);
        *self_p = NULL;
    }
}

wg_t *
wg_table_lookup(wg_table_t *self, const char *name)
{
    return zhashx_lookup(self->groups, name);
}

wg_t *
wg_table_get(wg_table_t *self, const char *name)
{
    wg_t *wg = zhashx_lookup(self->groups, name);
    if (!wg) {
        wg = util_zalloc(sizeof *wg);
        wg->name = util_strdup(name);
        zhashx_insert(self->groups, name, wg);
    }
    return wg;
}

static int
s_add(wg_table_t *self, const char *name, int64_t delta, wg_t **wg_out)
{
    wg_t *wg = wg_table_lookup(self, name);
    int64_t counter = wg ? wg->info.counter : 0;
    if (delta < 0 && counter + delta < 0) /* counter >= 0: no overflow */
        return GORO_ENEGATIVE;
    /* The round's sums grow too: refuse what would overflow them. */
    if (delta > 0
        && (counter > INT64_MAX - delta
            || (wg && counter > 0 && wg->info.added > INT64_MAX - delta)))
        return GORO_EINVAL;
    if (delta < 0 && wg && wg->info.done > INT64_MAX + delta)
        return GORO_EINVAL;
    wg = wg_table_get(self, name);
    if (counter == 0 && delta > 0) {
        goro_wg_info_t fresh = {0};
        wg->info = fresh;
    }
    wg->info.counter += delta;
    if (delta > 0)
        wg->info.added += delta;
    else
        wg->info.done -= delta;
    if (wg_out)
        *wg_out = wg;
    return GORO_OK;
}

int
wg_add(wg_table_t *self, const char *name, int64_t delta, wg_t **wg_out)
{
    wg_t *wg = NULL;
    int rc = s_add(self, name, delta, &wg);
    if (rc == GORO_OK)
        s_log(self->journal, wg);
    if (wg_out)
        *wg_out = wg;
    return rc;
}

int
wg_job_done(wg_table_t *self, const char *name, int succeeded, wg_t **wg_out)
{
    wg_t *wg = NULL;
    int rc = s_add(self, name, -1, &wg);
    if (rc == GORO_OK) {
        if (succeeded)
            wg->info.succeeded++;
        else
            wg->info.failed++;
        s_log(self->journal, wg);
    }
    if (wg_out)
        *wg_out = wg;
    return rc;
}

size_t
wg_table_size(wg_table_t *self)
{
    return zhashx_size(self->groups);
}

void
wg_table_each(wg_table_t *self, void (*fn)(wg_t *, void *), void *arg)
{
    for (wg_t *wg = zhashx_first(self->groups); wg;
         wg = zhashx_next(self->groups))
        fn(wg, arg);
}

void
wg_table_set_journal(wg_table_t *self, journal_t *journal)
{
    self->journal = journal;
}

int
wg_table_replay(wg_table_t *self, const goro_msg_t *r)
{
    if (r->cmd != GORO_MSG_J_WG_SET || !r->name || !*r->name || r->counter < 0)
        return GORO_EPROTO;
    wg_t *wg = wg_table_get(self, r->name);
    goro_wg_info_t info = {r->counter, r->added, r->done, r->succeeded,
                           r->failed};
    wg->info = info;
    return GORO_OK;
}

void
wg_table_snapshot(wg_table_t *self, journal_t *journal)
{
    for (wg_t *wg = zhashx_first(self->groups); wg;
         wg = zhashx_next(self->groups))
        s_log(journal, wg);
}
