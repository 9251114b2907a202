/*  chan - channels, their buffers, and parked operations.

    Each channel keeps its buffered values in a FIFO and its parked
    senders and receivers in two FIFOs of ops. A parked select is one
    chan_park_t holding one op per case, each op linked into its channel's
    list; when any op fires, s_fire unlinks all of them before anything
    else can look, which is what makes a select commit to exactly one case.

    Matching happens only when an operation arrives: a parked sender and a
    parked receiver of different operations never sit on one channel,
    because whichever came second would have matched the first.

    A value a receiver gets is not gone yet: it becomes a delivery, held
    until the receiver acknowledges it (chan_ack), and put back at the head
    of its channel if the receiver vanishes first (chan_return). Each value
    has a sequence number within its channel, so the journal can say which
    one left, and a value put back goes where it was.
*/
#include "chan.h"
#include "journal.h"
#include "goro_util.h"
#include "goro.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct value {
    struct value *next;
    uint64_t seq;               /* per channel, increasing */
    size_t size;
    uint8_t data[];
} value_t;

typedef struct op op_t;
typedef struct chan chan_t;

struct op {
    chan_park_t *park;
    size_t index;               /* the case's position in the select */
    int dir;                    /* GORO_CASE_RECV or GORO_CASE_SEND */
    chan_t *chan;
    uint8_t *data;              /* send value, owned */
    size_t size;
    op_t *prev, *next;          /* in the channel's senders or receivers */
};

struct chan_park {
    void *owner;
    size_t nops;
    op_t ops[];
};

typedef struct {
    op_t *head, *tail;
    size_t count;
} op_list_t;

struct chan {
    char *name;
    int64_t capacity;
    bool closed;
    value_t *head, *tail;       /* buffered values, in seq order */
    size_t count;
    uint64_t next_seq;
    op_list_t senders, receivers;
};

/* A value handed to a receiver that has not acknowledged it yet. */
typedef struct {
    uint64_t id;
    chan_t *chan;
    value_t *value;
} delivery_t;

struct chan_table {
    zhashx_t *chans;            /* name -> chan_t, owns them */
    chan_fire_fn *fire;
    void *arg;
    uint64_t rng;
    uint64_t bytes;             /* held (buffered or delivered), all
                                   channels */
    zhashx_t *deliveries;       /* &d->id -> delivery_t */
    uint64_t next_delivery;
    journal_t *journal;         /* NULL while replaying */
};

static void
s_log(chan_table_t *self, int cmd, const chan_t *chan, const value_t *value)
{
    if (!self->journal)
        return;
    goro_msg_t record = {
        .cmd = (uint8_t) cmd, .name = chan->name, .number = chan->capacity,
        .id = value ? value->seq : 0,
        .data = cmd == GORO_MSG_J_CHAN_PUSH ? (uint8_t *) value->data : NULL,
        .size = cmd == GORO_MSG_J_CHAN_PUSH ? value->size : 0,
    };
    journal_append(self->journal, &record);
}

/* ---- small pieces -------------------------------------------------- */

static uint64_t
s_random(chan_table_t *self)
{
    /* xorshift64*: fast, and uniform enough for choosing a case */
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return self->rng * 2685821657736338717ULL;
}

static void
s_list_push(op_list_t *list, op_t *op)
{
    op->next = NULL;
    op->prev = list->tail;
    if (list->tail)
        list->tail->next = op;
    else
        list->head = op;
    list->tail = op;
    list->count++;
}

static void
s_list_remove(op_list_t *list, op_t *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        list->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        list->tail = op->prev;
    op->prev = op->next = NULL;
    list->count--;
}

static op_list_t *
s_list_of(op_t *op)
{
    return op->dir == GORO_CASE_SEND ? &op->chan->senders
                                     : &op->chan->receivers;
}

/* A new value of CHAN, made from DATA (taken), journaled as held. */
static value_t *
s_value_new(chan_table_t *self, chan_t *chan, uint8_t *data, size_t size)
{
    value_t *value = goro_zalloc(sizeof *value + size);
    value->seq = chan->next_seq++;
    value->size = size;
    if (size)
        memcpy(value->data, data, size);
    free(data);
    self->bytes += size;
    s_log(self, GORO_MSG_J_CHAN_PUSH, chan, value);
    return value;
}

/* Puts VALUE in CHAN's buffer at its place in seq order: the tail for a
   new value, nearer the head for one a vanished receiver gave back. */
static void
s_buffer_insert(chan_t *chan, value_t *value)
{
    value_t **at = &chan->head;
    if (chan->tail && chan->tail->seq < value->seq)
        at = &chan->tail->next;
    else
        while (*at && (*at)->seq < value->seq)
            at = &(*at)->next;
    value->next = *at;
    *at = value;
    if (!value->next)
        chan->tail = value;
    chan->count++;
}

static void
s_buffer_push(chan_table_t *self, chan_t *chan, uint8_t *data, size_t size)
{
    s_buffer_insert(chan, s_value_new(self, chan, data, size));
}

static value_t *
s_buffer_pop(chan_t *chan)
{
    value_t *value = chan->head;
    chan->head = value->next;
    if (!chan->head)
        chan->tail = NULL;
    chan->count--;
    value->next = NULL;
    return value;
}

/* VALUE goes to a receiver: it stays held as a delivery until acked. */
static void
s_deliver(chan_table_t *self, chan_t *chan, value_t *value,
          chan_result_t *result)
{
    delivery_t *d = goro_zalloc(sizeof *d);
    d->id = ++self->next_delivery;
    d->chan = chan;
    d->value = value;
    zhashx_insert(self->deliveries, &d->id, d);
    result->data = goro_memdup(value->data, value->size);
    result->size = value->size;
    result->delivery = d->id;
}

static void
s_chan_free(void **item_p)
{
    chan_t *chan = *item_p;
    if (chan) {
        while (chan->head) {
            value_t *value = chan->head;
            chan->head = value->next;
            free(value);
        }
        free(chan->name);
        free(chan);
        *item_p = NULL;
    }
}

/* ---- parks --------------------------------------------------------- */

/* Unlinks every op of PARK and frees the send values not taken. */
static void
s_park_unlink(chan_park_t *park)
{
    for (size_t i = 0; i < park->nops; i++) {
        op_t *op = &park->ops[i];
        s_list_remove(s_list_of(op), op);
        free(op->data);
        op->data = NULL;
    }
}

/* OP's case happened: withdraw the rest of its select, then tell the
   server. */
static void
s_fire(chan_table_t *self, op_t *op, chan_result_t *result)
{
    chan_park_t *park = op->park;
    result->index = op->index;
    s_park_unlink(park);
    self->fire(self->arg, park, result);
    free(park);
}

/* ---- the two halves of a handoff ----------------------------------- */

static bool
s_ready(const chan_t *chan, int dir)
{
    if (dir == GORO_CASE_RECV)
        return chan->count > 0 || chan->senders.count > 0 || chan->closed;
    return chan->closed || chan->receivers.count > 0
           || (int64_t) chan->count < chan->capacity;
}

/* A receive that is ready happens: from the buffer (then the first parked
   sender refills it), else straight from the first parked sender, else
   "closed". */
static void
s_do_recv(chan_table_t *self, chan_t *chan, chan_result_t *result)
{
    op_t *sender = chan->senders.head;
    if (chan->count > 0) {
        s_deliver(self, chan, s_buffer_pop(chan), result);
        if (sender) {
            s_buffer_push(self, chan, sender->data, sender->size);
            sender->data = NULL;
            chan_result_t sent = {0};
            s_fire(self, sender, &sent);
        }
    }
    else if (sender) {
        value_t *value = s_value_new(self, chan, sender->data, sender->size);
        sender->data = NULL;
        s_deliver(self, chan, value, result);
        chan_result_t sent = {0};
        s_fire(self, sender, &sent);
    }
    else {
        assert(chan->closed);
        result->closed = true;
    }
}

/* A send that is ready happens: fails on a closed channel, else goes
   straight to the first parked receiver, else into the buffer. Takes
   DATA. */
static void
s_do_send(chan_table_t *self, chan_t *chan, uint8_t *data, size_t size,
          chan_result_t *result)
{
    op_t *receiver = chan->receivers.head;
    if (chan->closed) {
        free(data);
        result->code = GORO_ECLOSED;
    }
    else if (receiver) {
        chan_result_t got = {0};
        s_deliver(self, chan, s_value_new(self, chan, data, size), &got);
        s_fire(self, receiver, &got);
    }
    else
        s_buffer_push(self, chan, data, size);
}

/* ---- the table ----------------------------------------------------- */

static void
s_delivery_free(void **item_p)
{
    delivery_t *d = *item_p;
    if (d) {
        free(d->value);
        free(d);
        *item_p = NULL;
    }
}

chan_table_t *
chan_table_new(chan_fire_fn *fire, void *arg, uint64_t seed)
{
    chan_table_t *self = goro_zalloc(sizeof *self);
    self->chans = zhashx_new();
    zhashx_set_destructor(self->chans, s_chan_free);
    self->deliveries = zhashx_new();
    zhashx_set_key_hasher(self->deliveries, goro_u64_hash);
    zhashx_set_key_comparator(self->deliveries, goro_u64_compare);
    zhashx_set_key_duplicator(self->deliveries, NULL);
    zhashx_set_key_destructor(self->deliveries, NULL);
    zhashx_set_destructor(self->deliveries, s_delivery_free);
    self->fire = fire;
    self->arg = arg;
    self->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    return self;
}

static void
s_drop_parks(op_list_t *list)
{
    while (list->head) {
        chan_park_t *park = list->head->park;
        s_park_unlink(park);
        free(park);
    }
}

void
chan_table_destroy(chan_table_t **self_p)
{
    if (self_p && *self_p) {
        chan_table_t *self = *self_p;
        for (chan_t *chan = zhashx_first(self->chans); chan;
             chan = zhashx_next(self->chans)) {
            s_drop_parks(&chan->senders);
            s_drop_parks(&chan->receivers);
        }
        zhashx_destroy(&self->deliveries);
        zhashx_destroy(&self->chans);
        free(self);
        *self_p = NULL;
    }
}

int
chan_make(chan_table_t *self, const char *name, int64_t capacity)
{
    if (!name || !*name || capacity < 0)
        return GORO_EINVAL;
    chan_t *chan = zhashx_lookup(self->chans, name);
    if (chan)
        return chan->capacity == capacity ? GORO_OK : GORO_EEXIST;
    chan = goro_zalloc(sizeof *chan);
    chan->name = goro_strdup(name);
    chan->capacity = capacity;
    zhashx_insert(self->chans, name, chan);
    s_log(self, GORO_MSG_J_CHAN_MAKE, chan, NULL);
    return GORO_OK;
}

int
chan_close(chan_table_t *self, const char *name)
{
    chan_t *chan = zhashx_lookup(self->chans, name);
    if (!chan)
        return GORO_ENOTFOUND;
    if (chan->closed)
        return GORO_ECLOSED;
    chan->closed = true;
    s_log(self, GORO_MSG_J_CHAN_CLOSE, chan, NULL);
    while (chan->senders.head) {
        chan_result_t failed = {.code = GORO_ECLOSED};
        s_fire(self, chan->senders.head, &failed);
    }
    while (chan->receivers.head) {
        chan_result_t closed = {.closed = true};
        s_fire(self, chan->receivers.head, &closed);
    }
    return GORO_OK;
}

int
chan_select(chan_table_t *self, chan_case_t *cases, size_t ncases,
            bool may_park, void *owner, chan_park_t **park_out,
            chan_result_t *result)
{
    memset(result, 0, sizeof *result);
    if (park_out)
        *park_out = NULL;
    if (ncases == 0)
        return GORO_EINVAL;
    chan_t *chans[ncases];
    size_t ready = 0, chosen = 0;
    for (size_t i = 0; i < ncases; i++) {
        if (cases[i].op != GORO_CASE_RECV && cases[i].op != GORO_CASE_SEND)
            return GORO_EINVAL;
        chans[i] = cases[i].chan ? zhashx_lookup(self->chans, cases[i].chan)
                                 : NULL;
        if (!chans[i])
            return GORO_ENOTFOUND;
        /* Reservoir sampling: each ready case ends up chosen with
           probability 1/ready, in one pass. */
        if (s_ready(chans[i], cases[i].op) && s_random(self) % ++ready == 0)
            chosen = i;
    }
    if (ready) {
        chan_case_t *c = &cases[chosen];
        result->index = chosen;
        if (c->op == GORO_CASE_RECV)
            s_do_recv(self, chans[chosen], result);
        else {
            s_do_send(self, chans[chosen], c->data, c->size, result);
            c->data = NULL;
        }
        return GORO_OK;
    }
    if (!may_park)
        return GORO_ETIMEDOUT;
    chan_park_t *park = goro_zalloc(sizeof *park + ncases * sizeof(op_t));
    park->owner = owner;
    park->nops = ncases;
    for (size_t i = 0; i < ncases; i++) {
        op_t *op = &park->ops[i];
        op->park = park;
        op->index = i;
        op->dir = cases[i].op;
        op->chan = chans[i];
        if (op->dir == GORO_CASE_SEND) {
            op->data = cases[i].data;
            op->size = cases[i].size;
            cases[i].data = NULL;
        }
        s_list_push(s_list_of(op), op);
    }
    *park_out = park;
    result->index = (size_t) -1;
    return GORO_OK;
}

void
chan_park_withdraw(chan_table_t *self, chan_park_t **park_p)
{
    (void) self;
    if (park_p && *park_p) {
        s_park_unlink(*park_p);
        free(*park_p);
        *park_p = NULL;
    }
}

void *
chan_park_owner(chan_park_t *park)
{
    return park->owner;
}

bool
chan_exists(chan_table_t *self, const char *name)
{
    return zhashx_lookup(self->chans, name) != NULL;
}

size_t
chan_table_size(chan_table_t *self)
{
    return zhashx_size(self->chans);
}

void
chan_table_each(chan_table_t *self, void (*fn)(const chan_info_t *, void *),
                void *arg)
{
    for (chan_t *chan = zhashx_first(self->chans); chan;
         chan = zhashx_next(self->chans)) {
        chan_info_t info = {
            chan->name, chan->capacity, chan->count, chan->senders.count,
            chan->receivers.count, chan->closed,
        };
        fn(&info, arg);
    }
}

uint64_t
chan_table_bytes(chan_table_t *self)
{
    return self->bytes;
}

void
chan_table_set_journal(chan_table_t *self, journal_t *journal)
{
    self->journal = journal;
}

int
chan_table_replay(chan_table_t *self, const goro_msg_t *r)
{
    if (!r->name || !*r->name)
        return GORO_EPROTO;
    if (r->cmd == GORO_MSG_J_CHAN_MAKE)
        return zhashx_lookup(self->chans, r->name) || r->number < 0
               ? GORO_EPROTO : chan_make(self, r->name, r->number);
    chan_t *chan = zhashx_lookup(self->chans, r->name);
    if (!chan)
        return GORO_EPROTO;
    switch (r->cmd) {
        case GORO_MSG_J_CHAN_PUSH: {
            /* Values a receiver held at the crash were never popped: they
               come back in the buffer, at their place. */
            if (r->id < chan->next_seq || chan->closed)
                return GORO_EPROTO;
            chan->next_seq = r->id;
            s_buffer_push(self, chan, r->data ? goro_memdup(r->data, r->size)
                                              : NULL, r->size);
            return GORO_OK;
        }
        case GORO_MSG_J_CHAN_POP: {
            value_t **at = &chan->head, *prev = NULL;
            while (*at && (*at)->seq != r->id) {
                prev = *at;
                at = &(*at)->next;
            }
            value_t *value = *at;
            if (!value)
                return GORO_EPROTO;
            *at = value->next;
            if (chan->tail == value)
                chan->tail = prev;
            chan->count--;
            self->bytes -= value->size;
            free(value);
            return GORO_OK;
        }
        case GORO_MSG_J_CHAN_CLOSE:
            return chan->closed ? GORO_EPROTO : chan_close(self, r->name);
        default:
            return GORO_EPROTO;
    }
}

static void
s_log_push(journal_t *journal, const chan_t *chan, const value_t *value)
{
    goro_msg_t push = {.cmd = GORO_MSG_J_CHAN_PUSH, .name = chan->name,
                       .id = value->seq, .data = (uint8_t *) value->data,
                       .size = value->size};
    journal_append(journal, &push);
}

static int
s_by_seq(const void *a, const void *b)
{
    uint64_t x = (*(value_t *const *) a)->seq;
    uint64_t y = (*(value_t *const *) b)->seq;
    return x < y ? -1 : x > y;
}

/* Every channel, with its buffer and the values out for delivery merged
   back in seq order: in the snapshot, as after a crash, a value not yet
   acknowledged is still in its channel. */
void
chan_table_snapshot(chan_table_t *self, journal_t *journal)
{
    for (chan_t *chan = zhashx_first(self->chans); chan;
         chan = zhashx_next(self->chans)) {
        goro_msg_t make = {.cmd = GORO_MSG_J_CHAN_MAKE, .name = chan->name,
                           .number = chan->capacity};
        journal_append(journal, &make);
        size_t n = chan->count;
        for (delivery_t *d = zhashx_first(self->deliveries); d;
             d = zhashx_next(self->deliveries))
            n += d->chan == chan;
        value_t **values = goro_zalloc(sizeof(value_t *) * (n + 1));
        size_t i = 0;
        for (value_t *value = chan->head; value; value = value->next)
            values[i++] = value;
        for (delivery_t *d = zhashx_first(self->deliveries); d;
             d = zhashx_next(self->deliveries))
            if (d->chan == chan)
                values[i++] = d->value;
        qsort(values, n, sizeof(value_t *), s_by_seq);
        for (i = 0; i < n; i++)
            s_log_push(journal, chan, values[i]);
        free(values);
        if (chan->closed) {
            goro_msg_t close = {.cmd = GORO_MSG_J_CHAN_CLOSE,
                                .name = chan->name};
            journal_append(journal, &close);
        }
    }
}

int
chan_ack(chan_table_t *self, uint64_t delivery)
{
    delivery_t *d = zhashx_lookup(self->deliveries, &delivery);
    if (!d)
        return GORO_ENOTFOUND;
    s_log(self, GORO_MSG_J_CHAN_POP, d->chan, d->value);
    self->bytes -= d->value->size;
    zhashx_delete(self->deliveries, &delivery);     /* frees the value */
    return GORO_OK;
}

int
chan_return(chan_table_t *self, uint64_t delivery)
{
    delivery_t *d = zhashx_lookup(self->deliveries, &delivery);
    if (!d)
        return GORO_ENOTFOUND;
    chan_t *chan = d->chan;
    s_buffer_insert(chan, d->value);
    d->value = NULL;
    zhashx_delete(self->deliveries, &delivery);
    /* Receivers may be parked on the channel the value went back to. */
    while (chan->count > 0 && chan->receivers.head) {
        op_t *receiver = chan->receivers.head;
        chan_result_t got = {0};
        s_deliver(self, chan, s_buffer_pop(chan), &got);
        s_fire(self, receiver, &got);
    }
    return GORO_OK;
}

size_t
chan_table_deliveries(chan_table_t *self)
{
    return zhashx_size(self->deliveries);
}
