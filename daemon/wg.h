/*  wg - the waitgroup table: named counters any process can add to and
    wait on, with the progress of the current round (added and done since
    the counter was last zero, jobs succeeded and failed).

    A name never used reads as a zero counter, as Go's zero WaitGroup
    does. Waiters are parked requests (park.h) that the server answers
    when the counter reaches zero.
*/
#ifndef WG_H_INCLUDED
#define WG_H_INCLUDED

#include "types.h"
#include "list.h"
#include "goro_defs.h"
#include "goro_msg.h"

#include <stdint.h>

typedef struct wg_table wg_table_t;
typedef struct wg wg_t;

struct wg {
    char *name;
    goro_wg_info_t info;
    list_t waiters; /* park_t by their target node, WG_WAITs
                       until the counter is zero; park.c
                       links and unlinks them */
};

/* Caller owns the result. */
wg_table_t *wg_table_new(void);
/* Waiters must have been released. */
void wg_table_destroy(wg_table_t **self_p);

/* From now on every change of a group goes to JOURNAL as its new state. */
void wg_table_set_journal(wg_table_t *self, journal_t *journal);
/* Applies a J_WG_SET record during replay. */
int wg_table_replay(wg_table_t *self, const goro_msg_t *record);
void wg_table_snapshot(wg_table_t *self, journal_t *journal);

/* Adds DELTA to NAME, making the group if needed. GORO_ENEGATIVE, and
   nothing changes, if the counter would go below zero. *WG_OUT is the
   group; if its counter is now zero the caller releases its waiters. */
int wg_add(wg_table_t *self, const char *name, int64_t delta, wg_t **wg_out);

/* Done() of an attached job that ended; SUCCEEDED says how. */
int wg_job_done(wg_table_t *self, const char *name, int succeeded,
                wg_t **wg_out);

/* The group, made on first use so that a waiter can park on it. */
wg_t *wg_table_get(wg_table_t *self, const char *name);
wg_t *wg_table_lookup(wg_table_t *self, const char *name);

size_t wg_table_size(wg_table_t *self);
void wg_table_each(wg_table_t *self, void (*fn)(wg_t *, void *), void *arg);

#endif
