/*  chan - channels, their buffers, and parked operations.

    Each channel keeps its buffered values in a FIFO and its parked
    senders and receivers in two lists of ops. A parked select is one
    chan_park_t holding one op per case, each op linked into its channel's
    list; when any op fires, s_fire unlinks all of them before anything
    else can look, which is what makes a select commit to exactly one case.
    A fired park goes on the caller's chan_fired_t, which is answered
    once the table call has returned: the table never calls out in the
    middle of a change.

    Matching happens only when an operation arrives: a parked sender and a
    parked receiver of different operations never sit on one channel,
    because whichever came second would have matched the first.

    A batched send is a sender op holding many values: it gives them up
    one at a time, in order, exactly as that many consecutive sends would,
    and fires once the last is taken. A batched receive is a receiver op
    that, when it fires, takes all that is available at that moment (up to
    its limits) rather than one value.

    A value a receiver gets is not gone yet: it becomes a delivery, held
    until the receiver acknowledges it (chan_ack), and put back at the head
    of its channel if the receiver vanishes first (chan_return). The values
    of a batched receive form one delivery, and the delivery is the one
    record of who holds them: it is linked into its holder's list (a
    client's), so a vanished client's values are found without a
    search. Each value has a sequence
    number within its channel, so the journal can say which one left, and
    a value put back goes where it was.

    A receiver that reads ahead (chan_recv_many with AHEAD) gets the
    values after the first of its batch as values still in the channel,
    in Go's terms: they count against the capacity (chan->ahead) until it
    says it took them (chan_take), so a receiver holding values ahead does
    not make room for senders that Go would keep waiting. Its batch takes
    from parked senders only its first value, which is the one its
    receive gets, and from the buffer the rest.
*/
#include "chan.h"
#include "journal.h"
#include "util.h"
#include "goro_defs.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct value {
    struct value *next;
    uint64_t seq; /* per channel, increasing */
    size_t size;
    uint8_t data[];
} value_t;

typedef struct op op_t;
typedef struct chan chan_t;

struct op {
    chan_park_t *park;
    size_t index; /* the case's position in the select */
    int dir;      /* GORO_CASE_RECV or GORO_CASE_SEND */
    chan_t *chan;
    goro_msg_value_t *values; /* send: the values, owned from TAKEN on;
                                 &one, or a batch's array */
    size_t nvalues, taken;
    goro_msg_value_t one;
    size_t max, max_bytes; /* receive: 0 one value, else a batch of at
                              most MAX values and MAX_BYTES bytes */
    bool ahead;            /* the batch reads ahead */
    list_node_t node;      /* in the channel's senders or receivers */
};

struct chan_park {
    void *owner;
    bool arriving; /* a batched send being applied: when it
                      runs out it is only unlinked */
    bool fired;
    size_t nops;
    op_t ops[];
};

struct chan {
    char *name;
    int64_t capacity;
    bool closed;
    value_t *head, *tail; /* buffered values, in seq order */
    size_t count;
    size_t ahead; /* values receivers hold ahead: still in the channel */
    uint64_t next_seq;
    list_t senders, receivers; /* op_t by their node */
};

/* Values handed to a receiver that has not acknowledged them yet. */
typedef struct {
    uint64_t id;
    chan_t *chan;
    value_t *values;       /* linked by next, in seq order */
    size_t ahead;          /* the last AHEAD of them are held ahead */
    list_t *holder;        /* who has them, NULL if not said */
    list_node_t by_holder; /* in *HOLDER */
} delivery_t;

struct chan_table {
    zhashx_t *chans;     /* name -> chan_t, owns them */
    chan_fired_t *fired; /* the current call's, while it runs */
    uint64_t rng;
    uint64_t bytes;       /* held (buffered or delivered), all
                             channels */
    zhashx_t *deliveries; /* &d->id -> delivery_t */
    uint64_t next_delivery;
    journal_t *journal; /* NULL while replaying */
};

static void
s_log(chan_table_t *self, int cmd, const chan_t *chan, const value_t *value)
{
    if (!self->journal)
        return;
    goro_msg_t record = {
        .cmd = (uint8_t) cmd,
        .name = chan->name,
        .capacity = chan->capacity,
        .value_seq = value ? value->seq : 0,
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

static list_t *
s_list_of(op_t *op)
{
    return op->dir == GORO_CASE_SEND ? &op->chan->senders
                                     : &op->chan->receivers;
}

/* The op of NODE, NULL for none. */
static op_t *
s_op(list_node_t *node)
{
    return node ? LIST_ITEM(node, op_t, node) : NULL;
}

/* Free buffer slots; below zero while senders that held room for their
   values overshot it (chan_put). */
static int64_t
s_room(const chan_t *chan)
{
    return chan->capacity - (int64_t) (chan->count + chan->ahead);
}

/* A new value of CHAN, made from DATA (taken), journaled as held. */
static value_t *
s_value_new(chan_table_t *self, chan_t *chan, uint8_t *data, size_t size)
{
    value_t *value = util_zalloc(sizeof *value + size);
    value->seq = chan->next_seq++;
    value->size = size;
    if (size)
        memcpy(value->data, data, size);
    free(data);
    self->bytes += size;
    s_log(self, GORO_MSG_J_CHAN_PUSH, chan, value);
    return value;
}

/* Puts the VALUES chain (in seq order) in CHAN's buffer at their place
   in seq order: the tail for a new value, nearer the head for values a
   vanished receiver gave back. One merge pass, however many. */
static void
s_buffer_insert(chan_t *chan, value_t *values)
{
    value_t **at = &chan->head;
    if (chan->tail && chan->tail->seq < values->seq)
        at = &chan->tail->next;
    while (values) {
        while (*at && (*at)->seq < values->seq)
            at = &(*at)->next;
        value_t *value = values;
        values = value->next;
        value->next = *at;
        *at = value;
        at = &value->next;
        if (!value->next)
            chan->tail = value;
        chan->count++;
    }
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

/* The VALUES chain goes to a receiver: it stays held as one delivery
   until acked. A batch receiver gets views of the values, any other a
   copy of the one value. */
static void
s_deliver(chan_table_t *self, chan_t *chan, value_t *values, bool batch,
          size_t ahead, chan_result_t *result)
{
    delivery_t *d = util_zalloc(sizeof *d);
    d->id = ++self->next_delivery;
    d->chan = chan;
    d->values = values;
    d->ahead = ahead;
    zhashx_insert(self->deliveries, &d->id, d);
    result->delivery = d->id;
    if (!batch) {
        result->data = util_memdup(values->data, values->size);
        result->size = values->size;
        return;
    }
    size_t n = 0;
    for (value_t *v = values; v; v = v->next)
        n++;
    result->values = util_zalloc(sizeof *result->values * n);
    for (value_t *v = values; v; v = v->next) {
        result->values[result->count].data = v->data;
        result->values[result->count++].size = v->size;
    }
}

static void
s_values_free(value_t *values)
{
    while (values) {
        value_t *next = values->next;
        free(values);
        values = next;
    }
}

static void
s_chan_free(void **item_p)
{
    chan_t *chan = *item_p;
    if (chan) {
        s_values_free(chan->head);
        free(chan->name);
        free(chan);
        *item_p = NULL;
    }
}

/* ---- parks --------------------------------------------------------- */

static chan_park_t *
s_park_new(void *owner, size_t nops)
{
    chan_park_t *park = util_zalloc(sizeof *park + nops * sizeof(op_t));
    park->owner = owner;
    park->nops = nops;
    for (size_t i = 0; i < nops; i++) {
        park->ops[i].park = park;
        park->ops[i].index = i;
    }
    return park;
}

/* Unlinks every op of PARK and frees the send values not taken. */
static void
s_park_unlink(chan_park_t *park)
{
    for (size_t i = 0; i < park->nops; i++) {
        op_t *op = &park->ops[i];
        list_remove(s_list_of(op), &op->node);
        for (size_t v = op->taken; v < op->nvalues; v++)
            free(op->values[v].data);
        if (op->values != &op->one)
            free(op->values);
        op->values = NULL;
        op->nvalues = op->taken;
    }
}

/* OP's case happened: withdraw the rest of its select, then put it on
   the call's fired list (which takes RESULT's data). A batched send
   still being applied is only marked: its caller answers for it. */
static void
s_fire(chan_table_t *self, op_t *op, chan_result_t *result)
{
    chan_park_t *park = op->park;
    assert(!park->fired); /* unlinked at once: no second case */
    result->index = op->index;
    s_park_unlink(park);
    park->fired = true;
    if (park->arriving)
        return;
    chan_fired_t *fired = self->fired;
    assert(fired); /* only calls that take FIRED match */
    if (fired->count == fired->alloc) {
        fired->alloc = fired->alloc ? fired->alloc * 2 : 8;
        fired->fires = util_realloc(fired->fires,
                                    fired->alloc * sizeof *fired->fires);
    }
    fired->fires[fired->count].owner = park->owner;
    fired->fires[fired->count++].result = *result;
    free(park);
}

void
chan_fired_free(chan_fired_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->fires[i].result.data);
        free(self->fires[i].result.values);
    }
    free(self->fires);
    memset(self, 0, sizeof *self);
}

/* The next value of the parked SENDER becomes a value of its channel;
   the sender fires once it has given its last. */
static value_t *
s_sender_take(chan_table_t *self, op_t *sender)
{
    goro_msg_value_t *v = &sender->values[sender->taken++];
    value_t *value = s_value_new(self, sender->chan, v->data, v->size);
    v->data = NULL;
    if (sender->taken == sender->nvalues) {
        chan_result_t sent = {.count = sender->taken};
        s_fire(self, sender, &sent);
    }
    return value;
}

/* ---- the two halves of a handoff ----------------------------------- */

/* Whether an arriving operation's case could happen now. Only for
   operations not parked yet: a parked select's own cases would count. */
static bool
s_ready(const chan_t *chan, int dir)
{
    if (dir == GORO_CASE_RECV)
        return chan->count > 0 || chan->senders.count > 0 || chan->closed;
    return chan->closed || chan->receivers.count > 0 || s_room(chan) > 0;
}

/* The first parked sender a receive by PARK (NULL: one arriving) may
   take from. A select with a send and a receive on one unbuffered
   channel has both parked there, and it must not rendezvous with
   itself: its receive skips its own send, as Go's dequeue skips a
   select that is already done. */
static op_t *
s_sender_for(const chan_t *chan, const chan_park_t *park)
{
    op_t *sender = s_op(chan->senders.head);
    while (sender && park && sender->park == park)
        sender = s_op(sender->node.next);
    return sender;
}

/* The size of the value a receive by PARK would get now; false if none. */
static bool
s_next_size(const chan_t *chan, const chan_park_t *park, size_t *size_out)
{
    const op_t *sender = s_sender_for(chan, park);
    if (chan->head)
        *size_out = chan->head->size;
    else if (sender)
        *size_out = sender->values[sender->taken].size;
    else
        return false;
    return true;
}

/* One receive's worth: the buffer's head (then the first parked sender
   refills the buffer, if that made room: values put back may hold it
   above capacity), else straight from the first parked sender; NULL if
   neither has a value. PARK is the receive's, as s_sender_for. */
static value_t *
s_take_one(chan_table_t *self, chan_t *chan, const chan_park_t *park)
{
    op_t *sender = s_sender_for(chan, park);
    if (chan->count > 0) {
        value_t *value = s_buffer_pop(chan);
        if (sender && s_room(chan) > 0)
            s_buffer_insert(chan, s_sender_take(self, sender));
        return value;
    }
    return sender ? s_sender_take(self, sender) : NULL;
}

/* What the batch receive RECEIVER takes now: the values available, in
   channel order, the first whatever its size, up to its limits; reading
   ahead, after the first only what is buffered, counted in chan->ahead
   as it goes (so that s_take_one refills the buffer only for the
   first). A chain, NULL if none; *AHEAD_OUT gets how many are ahead. */
static value_t *
s_take_batch(chan_table_t *self, chan_t *chan, const op_t *receiver,
             size_t *ahead_out)
{
    value_t *head = NULL, **at = &head;
    size_t n = 0, bytes = 0, size;
    *ahead_out = 0;
    while (n < receiver->max && s_next_size(chan, receiver->park, &size)
           && (n == 0 || bytes + size <= receiver->max_bytes)
           && (n == 0 || !receiver->ahead || chan->count > 0)) {
        if (n > 0 && receiver->ahead) {
            chan->ahead++; /* before the take, which refills the buffer
                              only if that leaves room */
            (*ahead_out)++;
        }
        *at = s_take_one(self, chan, receiver->park);
        at = &(*at)->next;
        n++;
        bytes += size;
    }
    return head;
}

/* A receive that is ready happens: takes a value (or a batch), else
   reports "closed". */
static void
s_do_recv(chan_table_t *self, chan_t *chan, const op_t *receiver,
          chan_result_t *result)
{
    size_t ahead = 0;
    value_t *values = receiver->max
                          ? s_take_batch(self, chan, receiver, &ahead)
                          : s_take_one(self, chan, receiver->park);
    if (values)
        s_deliver(self, chan, values, receiver->max > 0, ahead, result);
    else {
        assert(chan->closed);
        result->closed = true;
    }
}

/* Parked receivers take what the channel has, first come first served,
   and the buffer takes from parked senders what fits. After this a
   receiver is parked only while nothing is there to take. */
static void
s_pump(chan_table_t *self, chan_t *chan)
{
    op_t *receiver;
    while ((receiver = s_op(chan->receivers.head))
           && (chan->count || s_sender_for(chan, receiver->park))) {
        chan_result_t got = {0};
        s_do_recv(self, chan, receiver, &got);
        assert(!receiver->park->fired); /* s_sender_for skipped it */
        s_fire(self, receiver, &got);
    }
    while (chan->senders.head && s_room(chan) > 0)
        s_buffer_insert(chan, s_sender_take(self, s_op(chan->senders.head)));
}

/* A send that is ready happens: fails on a closed channel, else goes
   straight to the first parked receiver, else into the buffer. Takes
   DATA. */
static void
s_do_send(chan_table_t *self, chan_t *chan, uint8_t *data, size_t size,
          chan_result_t *result)
{
    op_t *receiver = s_op(chan->receivers.head);
    if (chan->closed) {
        free(data);
        result->code = GORO_ECLOSED;
    }
    else if (receiver) {
        chan_result_t got = {0};
        s_deliver(self, chan, s_value_new(self, chan, data, size),
                  receiver->max > 0, 0, &got);
        s_fire(self, receiver, &got);
    }
    else
        s_buffer_insert(chan, s_value_new(self, chan, data, size));
}

/* ---- the table ----------------------------------------------------- */

static void
s_delivery_free(void **item_p)
{
    delivery_t *d = *item_p;
    if (d) {
        if (d->holder)
            list_remove(d->holder, &d->by_holder);
        s_values_free(d->values);
        free(d);
        *item_p = NULL;
    }
}

chan_table_t *
chan_table_new(uint64_t seed)
{
    chan_table_t *self = util_zalloc(sizeof *self);
    self->chans = zhashx_new();
    zhashx_set_destructor(self->chans, s_chan_free);
    self->deliveries = zhashx_new();
    zhashx_set_key_hasher(self->deliveries, util_u64_hash);
    zhashx_set_key_comparator(self->deliveries, util_u64_compare);
    zhashx_set_key_duplicator(self->deliveries, NULL);
    zhashx_set_key_destructor(self->deliveries, NULL);
    zhashx_set_destructor(self->deliveries, s_delivery_free);
    self->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    return self;
}

static void
s_drop_parks(list_t *list)
{
    while (list->head) {
        chan_park_t *park = s_op(list->head)->park;
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
    chan = util_zalloc(sizeof *chan);
    chan->name = util_strdup(name);
    chan->capacity = capacity;
    zhashx_insert(self->chans, name, chan);
    s_log(self, GORO_MSG_J_CHAN_MAKE, chan, NULL);
    return GORO_OK;
}

int
chan_close(chan_table_t *self, const char *name, chan_fired_t *fired)
{
    chan_t *chan = zhashx_lookup(self->chans, name);
    if (!chan)
        return GORO_ENOTFOUND;
    if (chan->closed)
        return GORO_ECLOSED;
    chan->closed = true;
    s_log(self, GORO_MSG_J_CHAN_CLOSE, chan, NULL);
    /* Receivers first, as Go's closechan: a select parked with both a
       receive and a send here gets "closed", not a failed send. */
    self->fired = fired;
    while (chan->receivers.head) {
        chan_result_t closed = {.closed = true};
        s_fire(self, s_op(chan->receivers.head), &closed);
    }
    while (chan->senders.head) {
        op_t *sender = s_op(chan->senders.head);
        chan_result_t failed = {.code = GORO_ECLOSED, .count = sender->taken};
        s_fire(self, sender, &failed);
    }
    self->fired = NULL;
    return GORO_OK;
}

int
chan_select(chan_table_t *self, chan_case_t *cases, size_t ncases,
            bool may_park, void *owner, chan_park_t **park_out,
            chan_result_t *result, chan_fired_t *fired)
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
        self->fired = fired;
        if (c->op == GORO_CASE_RECV) {
            const op_t single = {.max = 0};
            s_do_recv(self, chans[chosen], &single, result);
        }
        else {
            s_do_send(self, chans[chosen], c->data, c->size, result);
            c->data = NULL;
        }
        self->fired = NULL;
        return GORO_OK;
    }
    if (!may_park)
        return GORO_ETIMEDOUT;
    chan_park_t *park = s_park_new(owner, ncases);
    for (size_t i = 0; i < ncases; i++) {
        op_t *op = &park->ops[i];
        op->dir = cases[i].op;
        op->chan = chans[i];
        if (op->dir == GORO_CASE_SEND) {
            op->one.data = cases[i].data;
            op->one.size = cases[i].size;
            op->values = &op->one;
            op->nvalues = 1;
            cases[i].data = NULL;
        }
        list_push_back(s_list_of(op), &op->node);
    }
    *park_out = park;
    result->index = (size_t) -1;
    return GORO_OK;
}

int
chan_send_many(chan_table_t *self, const char *name,
               goro_msg_value_t **values_p, size_t nvalues, bool may_park,
               void *owner, chan_park_t **park_out, chan_result_t *result,
               chan_fired_t *fired)
{
    memset(result, 0, sizeof *result);
    *park_out = NULL;
    goro_msg_value_t *values = *values_p;
    *values_p = NULL;
    chan_t *chan = name ? zhashx_lookup(self->chans, name) : NULL;
    int rc = !chan ? GORO_ENOTFOUND : nvalues == 0 ? GORO_EINVAL : GORO_OK;
    if (rc || chan->closed) {
        for (size_t i = 0; i < nvalues; i++)
            free(values[i].data);
        free(values);
        if (!rc)
            result->code = GORO_ECLOSED;
        return rc;
    }
    /* The batch queues as a parked sender would, behind any that wait,
       and gives what the channel takes now. */
    chan_park_t *park = s_park_new(owner, 1);
    op_t *op = &park->ops[0];
    op->dir = GORO_CASE_SEND;
    op->chan = chan;
    op->values = values;
    op->nvalues = nvalues;
    list_push_back(&chan->senders, &op->node);
    park->arriving = true;
    self->fired = fired;
    s_pump(self, chan);
    self->fired = NULL;
    park->arriving = false;
    result->count = op->taken;
    if (!park->fired && may_park) {
        *park_out = park;
        result->index = (size_t) -1;
        return GORO_OK;
    }
    if (!park->fired) {
        result->code = GORO_ETIMEDOUT;
        s_park_unlink(park);
    }
    free(park);
    return GORO_OK;
}

int
chan_recv_many(chan_table_t *self, const char *name,
               const chan_batch_t *limits, bool may_park, void *owner,
               chan_park_t **park_out, chan_result_t *result,
               chan_fired_t *fired)
{
    memset(result, 0, sizeof *result);
    *park_out = NULL;
    chan_t *chan = name ? zhashx_lookup(self->chans, name) : NULL;
    if (!chan)
        return GORO_ENOTFOUND;
    if (limits->max == 0)
        return GORO_EINVAL;
    if (s_ready(chan, GORO_CASE_RECV)) {
        const op_t batch = {.max = limits->max,
                            .max_bytes = limits->max_bytes,
                            .ahead = limits->ahead};
        self->fired = fired;
        s_do_recv(self, chan, &batch, result);
        self->fired = NULL;
        return GORO_OK;
    }
    if (!may_park)
        return GORO_ETIMEDOUT;
    chan_park_t *park = s_park_new(owner, 1);
    op_t *op = &park->ops[0];
    op->dir = GORO_CASE_RECV;
    op->chan = chan;
    op->max = limits->max;
    op->max_bytes = limits->max_bytes;
    op->ahead = limits->ahead;
    list_push_back(&chan->receivers, &op->node);
    *park_out = park;
    result->index = (size_t) -1;
    return GORO_OK;
}

int
chan_put(chan_table_t *self, const char *name, uint8_t **data_p, size_t size,
         chan_result_t *result, chan_fired_t *fired)
{
    memset(result, 0, sizeof *result);
    uint8_t *data = *data_p;
    *data_p = NULL;
    chan_t *chan = name ? zhashx_lookup(self->chans, name) : NULL;
    if (!chan) {
        free(data);
        return GORO_ENOTFOUND;
    }
    self->fired = fired;
    s_do_send(self, chan, data, size, result);
    self->fired = NULL;
    return GORO_OK;
}

int64_t
chan_room(chan_table_t *self, const char *name)
{
    chan_t *chan = name ? zhashx_lookup(self->chans, name) : NULL;
    return chan && !chan->closed ? s_room(chan) : 0;
}

size_t
chan_park_withdraw(chan_table_t *self, chan_park_t **park_p)
{
    (void) self;
    size_t sent = 0;
    if (park_p && *park_p) {
        s_park_unlink(*park_p);
        sent = (*park_p)->ops[0].taken;
        free(*park_p);
        *park_p = NULL;
    }
    return sent;
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
            chan->name,
            chan->capacity,
            chan->count + chan->ahead,
            chan->senders.count,
            chan->receivers.count,
            chan->closed,
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
        return zhashx_lookup(self->chans, r->name) || r->capacity < 0
                   ? GORO_EPROTO
                   : chan_make(self, r->name, r->capacity);
    chan_t *chan = zhashx_lookup(self->chans, r->name);
    if (!chan)
        return GORO_EPROTO;
    switch (r->cmd) {
        case GORO_MSG_J_CHAN_PUSH: {
            /* Values a receiver held at the crash were never popped: they
               come back in the buffer, at their place. */
            if (r->value_seq < chan->next_seq || chan->closed)
                return GORO_EPROTO;
            chan->next_seq = r->value_seq;
            s_buffer_insert(chan,
                            s_value_new(self, chan,
                                        r->data ? util_memdup(r->data, r->size)
                                                : NULL,
                                        r->size));
            return GORO_OK;
        }
        case GORO_MSG_J_CHAN_POP: {
            value_t **at = &chan->head, *prev = NULL;
            while (*at && (*at)->seq != r->value_seq) {
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
        case GORO_MSG_J_CHAN_CLOSE: {
            /* Nothing is parked during replay: nothing can fire. */
            chan_fired_t none = {0};
            int rc = chan->closed ? GORO_EPROTO
                                  : chan_close(self, r->name, &none);
            assert(none.count == 0);
            return rc;
        }
        default: return GORO_EPROTO;
    }
}

static void
s_log_push(journal_t *journal, const chan_t *chan, const value_t *value)
{
    goro_msg_t push = {.cmd = GORO_MSG_J_CHAN_PUSH,
                       .name = chan->name,
                       .value_seq = value->seq,
                       .data = (uint8_t *) value->data,
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
        goro_msg_t make = {.cmd = GORO_MSG_J_CHAN_MAKE,
                           .name = chan->name,
                           .capacity = chan->capacity};
        journal_append(journal, &make);
        size_t n = chan->count;
        for (delivery_t *d = zhashx_first(self->deliveries); d;
             d = zhashx_next(self->deliveries))
            for (value_t *v = d->values; v && d->chan == chan; v = v->next)
                n++;
        value_t **values = util_zalloc(sizeof(value_t *) * (n + 1));
        size_t i = 0;
        for (value_t *value = chan->head; value; value = value->next)
            values[i++] = value;
        for (delivery_t *d = zhashx_first(self->deliveries); d;
             d = zhashx_next(self->deliveries))
            for (value_t *v = d->values; v && d->chan == chan; v = v->next)
                values[i++] = v;
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
chan_delivery_hold(chan_table_t *self, uint64_t delivery, list_t *holder)
{
    delivery_t *d = zhashx_lookup(self->deliveries, &delivery);
    if (!d)
        return GORO_ENOTFOUND;
    assert(!d->holder);
    d->holder = holder;
    list_push_back(holder, &d->by_holder);
    return GORO_OK;
}

/* The first COUNT values of D (at most all) left for good. */
static void
s_delivery_pop(chan_table_t *self, delivery_t *d, size_t count)
{
    size_t left = 0;
    for (value_t *v = d->values; v; v = v->next)
        left++;
    for (; count > 0 && d->values; count--, left--) {
        value_t *v = d->values;
        d->values = v->next;
        if (left == d->ahead) { /* one held ahead was taken */
            d->ahead--;
            d->chan->ahead--;
        }
        s_log(self, GORO_MSG_J_CHAN_POP, d->chan, v);
        self->bytes -= v->size;
        free(v);
    }
}

/* D's values not popped go back to their channel at their place, where
   receivers parked on it may take them (and senders the room). */
static void
s_delivery_return(chan_table_t *self, delivery_t *d)
{
    chan_t *chan = d->chan;
    chan->ahead -= d->ahead;
    d->ahead = 0;
    if (d->values)
        s_buffer_insert(chan, d->values);
    d->values = NULL;
    uint64_t id = d->id;
    zhashx_delete(self->deliveries, &id); /* unlinks it */
    s_pump(self, chan);
}

int
chan_ack(chan_table_t *self, uint64_t delivery, const list_t *holder,
         chan_fired_t *fired)
{
    return chan_take(self, delivery, holder, SIZE_MAX, false, fired);
}

int
chan_take(chan_table_t *self, uint64_t delivery, const list_t *holder,
          size_t count, bool release, chan_fired_t *fired)
{
    delivery_t *d = zhashx_lookup(self->deliveries, &delivery);
    if (!d || d->holder != holder)
        return GORO_ENOTFOUND;
    chan_t *chan = d->chan;
    self->fired = fired;
    s_delivery_pop(self, d, count);
    if (release || !d->values)
        s_delivery_return(self, d);
    else
        s_pump(self, chan); /* what was taken made room */
    self->fired = NULL;
    return GORO_OK;
}

/* In the order they were delivered, so that values of one channel go
   back in their order whatever the merge. */
void
chan_return(chan_table_t *self, list_t *holder, chan_fired_t *fired)
{
    list_node_t *node;
    self->fired = fired;
    while ((node = holder->head))
        s_delivery_return(self, LIST_ITEM(node, delivery_t, by_holder));
    self->fired = NULL;
}

size_t
chan_table_deliveries(chan_table_t *self)
{
    return zhashx_size(self->deliveries);
}
