/*  goro_msg - the goro wire codec, shared by gorod, libgoro and the workers.

    One message is one ZeroMQ frame (after the routing id that a ROUTER
    adds): a 4-byte header (signature, version, command), a request id,
    then the command's fields in the order PROTOCOL.md gives. Nothing else
    in the tree builds or parses frames.

    The decoder trusts nothing: every read is bounds-checked, and a bad
    frame yields GORO_EPROTO (or GORO_ETOOBIG), never an assert.
*/
#ifndef GORO_MSG_H_INCLUDED
#define GORO_MSG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define GORO_MSG_SIGNATURE 0xA7C0 /* first two bytes of every message */
#define GORO_MSG_VERSION 1        /* bumped on any format change */
#define GORO_MSG_HEADER \
    12                       /* signature 2, version 1, command 1, \
                                request id 8 */
#define GORO_MSG_STR_MAX 255 /* names travel with a 1-byte length */
#define GORO_MSG_LIST_MAX \
    1024                     /* entries in a string list, cases or \
                                values */
#define GORO_MSG_RID_MAX 255 /* ZeroMQ routing ids are 1..255 bytes */

typedef enum {
    /* client -> daemon */
    GORO_MSG_PING = 1,
    GORO_MSG_SUBMIT = 2,
    GORO_MSG_STATUS = 3,
    GORO_MSG_WAIT = 4,
    GORO_MSG_CANCEL = 5,
    GORO_MSG_RETRY = 6,
    GORO_MSG_LIST = 7,
    GORO_MSG_CHAN_MAKE = 8,
    GORO_MSG_CHAN_SEND = 9,
    GORO_MSG_CHAN_RECV = 10,
    GORO_MSG_CHAN_CLOSE = 11,
    GORO_MSG_SELECT = 12,
    GORO_MSG_WG_ADD = 13,
    GORO_MSG_WG_WAIT = 14,
    GORO_MSG_WG_STATUS = 15,
    /* either way, on both endpoints */
    GORO_MSG_HEARTBEAT = 16,
    GORO_MSG_DISCONNECT = 17,
    GORO_MSG_ACK = 18, /* client -> daemon: a value was received */
    /* daemon -> client */
    GORO_MSG_OK = 20,
    GORO_MSG_ERROR = 21,
    GORO_MSG_JOB = 22,
    GORO_MSG_VALUE = 23,
    GORO_MSG_WG_INFO = 24,
    /* worker <-> daemon */
    GORO_MSG_READY = 30,
    GORO_MSG_WELCOME = 31,
    GORO_MSG_DISPATCH = 32,
    GORO_MSG_DONE = 33,
    GORO_MSG_KILL = 34,
    GORO_MSG_CLAIM = 35, /* worker -> daemon: an attempt it runs */
    /* journal records (never on the wire; gorod refuses them there) */
    GORO_MSG_J_SUBMIT = 40,
    GORO_MSG_J_START = 41,
    GORO_MSG_J_REQUEUE = 42,
    GORO_MSG_J_END = 43,
    GORO_MSG_J_RETRY = 44,
    GORO_MSG_J_REMOVE = 45,
    GORO_MSG_J_JOB_FLAGS = 46,
    GORO_MSG_J_CHAN_MAKE = 47,
    GORO_MSG_J_CHAN_PUSH = 48,
    GORO_MSG_J_CHAN_POP = 49,
    GORO_MSG_J_CHAN_CLOSE = 50,
    GORO_MSG_J_WG_SET = 51,
    GORO_MSG_J_NEXT_ID = 52,
    GORO_MSG_J_COMMIT = 53, /* ends a loop turn's records */
    /* batched channel operations */
    GORO_MSG_CHAN_SEND_MANY = 54, /* client -> daemon */
    GORO_MSG_CHAN_RECV_MANY = 55, /* client -> daemon */
    GORO_MSG_VALUES = 56,         /* daemon -> client */
    GORO_MSG_SENT = 57,           /* daemon -> client */
    /* pipelined submissions */
    GORO_MSG_LEASE = 58,           /* client -> daemon */
    GORO_MSG_LEASED = 59,          /* daemon -> client */
    GORO_MSG_SUBMIT_LEASED = 60,   /* client -> daemon */
    GORO_MSG_CHAN_PUT = 61,        /* client -> daemon */
    GORO_MSG_ROOM = 62,            /* daemon -> client */
    GORO_MSG_CHAN_RECV_AHEAD = 63, /* client -> daemon */
    GORO_MSG_CHAN_TAKEN = 64,      /* client -> daemon, no reply */
    GORO_MSG_CMD_MAX = 65
} goro_msg_cmd_t;

/* What LIST asks for. */
typedef enum {
    GORO_LIST_JOBS = 1,
    GORO_LIST_WORKERS = 2,
    GORO_LIST_STATS = 3
} goro_list_what_t;

/* One case of a SELECT. */
typedef struct {
    uint8_t op; /* GORO_CASE_RECV or GORO_CASE_SEND */
    char *chan;
    uint8_t *data; /* send value */
    size_t size;
} goro_msg_case_t;

/* One value of a batch. */
typedef struct {
    uint8_t *data;
    size_t size;
} goro_msg_value_t;

/* A decoded or to-be-encoded message. Fields a command does not carry
   stay zero. Numbers have members named by meaning, after the fields of
   PROTOCOL.md's grammar (job-id is job_id), so that a use reads as the
   grammar; strings and payloads share name, data and text. Strings are
   NUL-terminated copies owned by the message. */
typedef struct {
    uint8_t cmd;
    uint64_t reqid;           /* echoed in the reply; 0 for unsolicited */
    uint64_t job_id;          /* from 1; J_NEXT_ID: the next one */
    uint64_t delivery_id;     /* VALUE, VALUES, ACK */
    uint64_t run_id;          /* HEARTBEAT: gorod's run, 0 from others;
                                 LEASED, SUBMIT_LEASED: the lease's run */
    uint64_t value_seq;       /* J_CHAN_PUSH, J_CHAN_POP */
    uint32_t code;            /* error code (ERROR, SENT) */
    uint8_t state;            /* job state (JOB, J_END) */
    uint8_t what;             /* LIST: goro_list_what_t */
    uint32_t flags;           /* LIST flags; VALUE(S): 1 = closed;
                                 J_JOB_FLAGS: job flags; CHAN_PUT:
                                 1 = sent on room held; CHAN_TAKEN:
                                 1 = release the rest */
    uint32_t attempt;         /* attempt number, from 1 */
    uint32_t max_attempts;    /* SUBMIT: 0 = daemon default */
    uint32_t index;           /* VALUE: the select case that fired */
    uint32_t pid;             /* READY: worker process id */
    uint32_t worker_capacity; /* READY: jobs at once */
    uint32_t recv_max;        /* CHAN_RECV_MANY: values wanted at most */
    uint32_t sent_count;      /* SENT: values of the batch that went */
    uint32_t lease_count;     /* LEASE, LEASED: job ids in the block */
    uint32_t taken_count;     /* CHAN_TAKEN: values of the delivery
                                 taken */
    int64_t status;           /* exit status / handler return */
    int64_t timeout;          /* milliseconds, -1 forever */
    int64_t submit_wait;      /* SUBMIT: 0 reply at once, <0 at the end,
                                 n at the end or after n ms */
    int64_t capacity;         /* CHAN_MAKE, J_CHAN_MAKE: 0 unbuffered */
    int64_t room;             /* ROOM: free buffer slots, <= 0 none */
    int64_t delta;            /* WG_ADD */
    int64_t hb_interval;      /* WELCOME: heartbeat interval in ms */
    int64_t hb_liveness;      /* WELCOME: missed intervals before dead */
    int64_t ended_at;         /* J_END: wall-clock epoch ms */
    int64_t attempt_base;     /* J_JOB_FLAGS: attempts before last RETRY */
    int64_t runtime;          /* milliseconds */
    int64_t counter, added, done, succeeded, failed; /* WG_INFO, J_WG_SET */
    char *name;    /* function, channel, group, worker */
    char *wg;      /* SUBMIT option */
    char *chan;    /* SUBMIT option: result channel */
    char *key;     /* SUBMIT option: idempotency key */
    uint8_t *data; /* payload, value, output, listing */
    size_t size;
    char *text; /* error text, stderr, endpoint */
    size_t text_size;
    char **strs; /* READY: functions served */
    size_t nstrs;
    goro_msg_case_t *cases; /* SELECT */
    size_t ncases;
    goro_msg_value_t *values; /* CHAN_SEND_MANY, VALUES */
    size_t nvalues;
} goro_msg_t;

/* A routing id, as a ROUTER socket reports it. */
typedef struct {
    uint8_t size;
    uint8_t data[GORO_MSG_RID_MAX];
} goro_rid_t;

/* Hash and order of routing ids, for tables keyed by peer. */
size_t goro_rid_hash(const void *rid);
int goro_rid_compare(const void *a, const void *b);

/* Caller owns the result. */
goro_msg_t *goro_msg_new(int cmd);
void goro_msg_destroy(goro_msg_t **self_p);

/* "SUBMIT", "DONE", ... or "?" */
const char *goro_msg_cmd_name(int cmd);

/* Setters that copy; they replace any earlier value. */
void goro_msg_set_name(goro_msg_t *self, const char *name);
void goro_msg_set_str(char **field, const char *value);
void goro_msg_set_data(goro_msg_t *self, const void *data, size_t size);
void goro_msg_set_text(goro_msg_t *self, const void *text, size_t size);

/* Takes ownership of *DATA_P (malloc'd), setting it to NULL. */
void goro_msg_take_data(goro_msg_t *self, uint8_t **data_p, size_t size);

/* Encodes SELF into a newly allocated buffer. Caller owns *BUF_OUT.
   GORO_EINVAL if a field exceeds its wire limit. */
int goro_msg_encode(const goro_msg_t *self, uint8_t **buf_out,
                    size_t *size_out);

/* Decodes SIZE bytes. MAX_VALUE bounds every payload (0: no bound beyond
   the frame). GORO_OK: *MSG_OUT is new, caller owns it. GORO_EPROTO or
   GORO_ETOOBIG: if the header was sound, *MSG_OUT holds just cmd and reqid
   so that the caller can send an ERROR reply; else *MSG_OUT is NULL. */
int goro_msg_decode(const uint8_t *buf, size_t size, size_t max_value,
                    goro_msg_t **msg_out);

/* Sends SELF on the libzmq SOCKET, first the routing id RID if given.
   Never blocks. GORO_EUNAVAILABLE if the peer cannot take it now (gone,
   or its queue is full). */
int goro_msg_send(const goro_msg_t *self, void *socket, const goro_rid_t *rid);

/* Sends a frame goro_msg_encode() made, as goro_msg_send() does; takes
 *BUF_P (sets it to NULL) whatever happens. */
int goro_msg_send_encoded(void *socket, const goro_rid_t *rid, uint8_t **buf_p,
                          size_t size);

/* Receives one message from SOCKET without blocking; with RID non-NULL
   the socket is a ROUTER and the routing id goes there. Returns as
   goro_msg_decode(), or GORO_EUNAVAILABLE if nothing is waiting. Extra
   frames make the message malformed. */
int goro_msg_recv(void *socket, size_t max_value, goro_msg_t **msg_out,
                  goro_rid_t *rid);

/* As goro_msg_recv() on a DEALER, but waits up to TIMEOUT_MS (-1:
   forever) for the message. One blocking receive costs fewer system
   calls than a zmq_poll() followed by a receive: this is the wait of
   every client call. */
int goro_msg_recv_wait(void *socket, int64_t timeout_ms, size_t max_value,
                       goro_msg_t **msg_out);

#endif
