/*  chan - the channel table: named channels with Go's rules, and the
    parked operations (sends, receives, selects) waiting on them.

    A single send or receive is a select with one case, so there is one
    path for every operation. An operation that can happen now happens at
    once; otherwise it parks on every channel it names, and when one of
    its cases fires the others are withdrawn in the same step, so exactly
    one case of a select ever happens.

    The table never touches sockets and never calls out: each call that
    can make parked operations fire returns what fired, in order, in a
    chan_fired_t the caller gives, and the caller answers them after the
    call has returned, when the table is consistent again (Redis's
    blocked.c: the command runs, then the unblocked clients are served).
    Handoffs are O(1); a select costs O(cases).
*/
#ifndef CHAN_H_INCLUDED
#define CHAN_H_INCLUDED

#include "types.h"
#include "list.h"
#include "goro_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chan_table chan_table_t;
typedef struct chan_park chan_park_t;

/* One case of an operation. For a send, DATA/SIZE is the value, which
   the table takes (sets DATA to NULL) when the operation runs or parks. */
typedef struct {
    int op; /* GORO_CASE_RECV or GORO_CASE_SEND */
    const char *chan;
    uint8_t *data;
    size_t size;
} chan_case_t;

/* What happened to an operation: which case fired, with which result.
   A receive gets DATA (caller frees) or CLOSED; a send on a closed
   channel gets CODE GORO_ECLOSED. A batched receive gets COUNT VALUES
   instead of DATA: views of the values held for the delivery, valid
   until the table next changes (the caller frees only the array). A
   batched send gets COUNT, the values it gave. */
typedef struct {
    size_t index;
    int code;    /* GORO_OK or GORO_ECLOSED; batched send:
                    also GORO_ETIMEDOUT */
    bool closed; /* receive: closed and drained */
    uint8_t *data;
    size_t size;
    goro_msg_value_t *values;
    size_t count;
    uint64_t delivery; /* receive: ack or return it by this id,
                          all of a batch at once */
} chan_result_t;

/* A parked operation that fired: the OWNER it parked with, and its
   result. */
typedef struct {
    void *owner;
    chan_result_t result;
} chan_fire_t;

/* What fired during table calls, in the order it happened; zeroed, it is
   empty. The list owns the results' DATA and VALUES arrays until
   chan_fired_free (the caller may take DATA first, setting it to NULL);
   a batched receive's values are views valid until the table next
   changes, so the caller answers before its next table call. */
typedef struct {
    chan_fire_t *fires;
    size_t count, alloc;
} chan_fired_t;

/* Frees what SELF holds; it is empty again. */
void chan_fired_free(chan_fired_t *self);

/* Caller owns the result. SEED makes select's random choice repeatable
   in tests. */
chan_table_t *chan_table_new(uint64_t seed);
/* Parked operations are dropped without firing. */
void chan_table_destroy(chan_table_t **self_p);

/* From now on changes to channels and their values go to JOURNAL: made,
   closed, a value arrived (J_CHAN_PUSH, whether it is buffered or
   handed straight to a receiver), a value left for good (J_CHAN_POP,
   when its receiver acknowledged it). A value out for delivery is still
   the channel's in the journal, so a crash puts it back. */
void chan_table_set_journal(chan_table_t *self, journal_t *journal);

/* Applies a J_CHAN_* record during replay; GORO_EPROTO if it does not
   fit the channel's state. */
int chan_table_replay(chan_table_t *self, const goro_msg_t *record);

/* Writes records that rebuild every channel with its buffer. */
void chan_table_snapshot(chan_table_t *self, journal_t *journal);

/* GORO_OK, or GORO_EEXIST if NAME exists with another capacity. */
int chan_make(chan_table_t *self, const char *name, int64_t capacity);

/* Closes NAME: parked receivers fire with closed, then parked senders
   with GORO_ECLOSED, into FIRED. GORO_ENOTFOUND, or GORO_ECLOSED if
   closed already. */
int chan_close(chan_table_t *self, const char *name, chan_fired_t *fired);

/* Runs an operation of NCASES cases. GORO_OK: a case happened now, see
   *RESULT. GORO_ETIMEDOUT: none was ready and MAY_PARK is false; nothing
   happened and the send values are left to the caller. With MAY_PARK, a
   select that cannot happen now parks: *PARK_OUT is set, GORO_OK is
   returned and RESULT->index is (size_t) -1. GORO_ENOTFOUND if a channel
   does not exist, GORO_EINVAL for a bad case. OWNER is the caller's,
   given back when the park fires. Parked operations this one completes
   fire into FIRED (so do those of chan_send_many and chan_recv_many). */
int chan_select(chan_table_t *self, chan_case_t *cases, size_t ncases,
                bool may_park, void *owner, chan_park_t **park_out,
                chan_result_t *result, chan_fired_t *fired);

/* Sends NVALUES values on NAME in order, as that many consecutive sends
   would: behind any parked senders, to parked receivers first, then into
   the buffer as far as it has room. Takes *VALUES_P (and sets it to
   NULL) whatever happens. GORO_OK: RESULT->count values went, and
   RESULT->code says why not all: GORO_ECLOSED (closed before any or
   all went), or GORO_ETIMEDOUT (no room and MAY_PARK is false). With
   MAY_PARK the rest parks, in order: *PARK_OUT is set and
   RESULT->index is (size_t) -1; it fires once all went (count NVALUES)
   or the channel closes (GORO_ECLOSED, count so far). GORO_ENOTFOUND,
   or GORO_EINVAL for no values. */
int chan_send_many(chan_table_t *self, const char *name,
                   goro_msg_value_t **values_p, size_t nvalues, bool may_park,
                   void *owner, chan_park_t **park_out, chan_result_t *result,
                   chan_fired_t *fired);

/* What a batched receive takes at most. AHEAD: the receiver reads
   ahead, and the values after the first stay the channel's, counted as
   buffered, until it takes them (chan_take); it gets from parked senders
   only the first. */
typedef struct {
    size_t max, max_bytes;
    bool ahead;
} chan_batch_t;

/* Receives from NAME all values available now, in channel order, up to
   LIMITS (the first whatever its size): GORO_OK with at least one in
   RESULT->values, or closed. If none is available, GORO_ETIMEDOUT, or
   with MAY_PARK it parks as chan_select does and fires with what the
   first send (or returned delivery) makes available. GORO_ENOTFOUND, or
   GORO_EINVAL if LIMITS->max is 0. */
int chan_recv_many(chan_table_t *self, const char *name,
                   const chan_batch_t *limits, bool may_park, void *owner,
                   chan_park_t **park_out, chan_result_t *result,
                   chan_fired_t *fired);

/* A send that never parks, from a sender that held room for it: to the
   first parked receiver, else into the buffer even if that is full (the
   room it saw was taken by others meanwhile). Takes *DATA_P. GORO_OK
   with RESULT->code GORO_ECLOSED on a closed channel, or
   GORO_ENOTFOUND. */
int chan_put(chan_table_t *self, const char *name, uint8_t **data_p,
             size_t size, chan_result_t *result, chan_fired_t *fired);

/* Free buffer slots of NAME, what a sender may send without waiting:
   at most 0 when full, unbuffered, closed or unknown. */
int64_t chan_room(chan_table_t *self, const char *name);

/* Withdraws a parked operation (timeout, client gone): nothing more
   happens, its send values not taken are dropped, the park is freed.
   Returns how many values a batched send gave before. */
size_t chan_park_withdraw(chan_table_t *self, chan_park_t **park_p);

/* The receiver of DELIVERY is HOLDER, a list the caller keeps (a
   client's): from now on only HOLDER acknowledges it, and chan_return
   gives back what HOLDER holds. Deliveries no one holds are acknowledged
   with HOLDER NULL. GORO_ENOTFOUND if there is no such delivery. */
int chan_delivery_hold(chan_table_t *self, uint64_t delivery, list_t *holder);

/* The receiver of DELIVERY has it: its values leave their channel for
   good (chan_take of all of them; values held ahead free their slots,
   so parked senders may fire into FIRED). GORO_ENOTFOUND if there is no
   such delivery (acked already) or HOLDER does not hold it. */
int chan_ack(chan_table_t *self, uint64_t delivery, const list_t *holder,
             chan_fired_t *fired);

/* The receiver of DELIVERY, HOLDER, took COUNT more of its values (the
   first COUNT left): they leave their channel for good. With RELEASE,
   or once none is left, the delivery ends: what it still holds goes
   back to the channel's head, in order. Parked operations this makes
   possible fire into FIRED. GORO_ENOTFOUND as chan_ack. */
int chan_take(chan_table_t *self, uint64_t delivery, const list_t *holder,
              size_t count, bool release, chan_fired_t *fired);

/* The receiver holding HOLDER's deliveries vanished before acknowledging
   them: their values go back to the head of their channels, in order
   (to parked receivers at once, if there are some: they fire into
   FIRED). HOLDER is empty afterwards. */
void chan_return(chan_table_t *self, list_t *holder, chan_fired_t *fired);

/* Values handed to receivers and not yet acknowledged. */
size_t chan_table_deliveries(chan_table_t *self);

/* Per-channel numbers for `goro stats`. */
typedef struct {
    const char *name;
    int64_t capacity;
    size_t buffered;           /* also what receivers hold ahead */
    size_t senders, receivers; /* parked */
    bool closed;
} chan_info_t;

bool chan_exists(chan_table_t *self, const char *name);
size_t chan_table_size(chan_table_t *self);
/* Calls FN for each channel. */
void chan_table_each(chan_table_t *self,
                     void (*fn)(const chan_info_t *, void *), void *arg);
/* Bytes held over all channels: buffered or out for delivery. */
uint64_t chan_table_bytes(chan_table_t *self);

#endif
