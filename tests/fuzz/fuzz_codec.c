/*  fuzz_codec - libFuzzer target for the wire codec (proto/goro_msg.c).

    The input is one frame as a ROUTER hands it to gorod. It is decoded
    without a bound and with a small one (limits.max_message), and the
    results must agree with each other and with the codec's contract:

    - a frame that decodes re-encodes to exactly the same bytes (the
      grammar has one encoding per message);
    - a bound can only turn success into GORO_ETOOBIG, never into
      anything else, and never makes a bad frame good;
    - a frame that fails leaves either nothing (bad header) or a stub
      holding just the command and request id, for the ERROR reply;
    - whatever was decoded is freed by goro_msg_destroy (LeakSanitizer
      checks), also after the setters replaced its fields.
*/
#include "goro_msg.h"
#include "goro_defs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bound far below the frames the fuzzer makes, so both sides of it
   are reached. */
#define FUZZ_MAX_VALUE 64

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_codec: %s:%d: check failed: %s\n", \
                    __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

static uint64_t
s_reqid(const uint8_t *data)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | data[4 + i];
    return value;
}

/* The header is sound when signature and request id could be read. */
static int
s_header_sound(const uint8_t *data, size_t size)
{
    return size >= GORO_MSG_HEADER && data[0] == (GORO_MSG_SIGNATURE >> 8)
           && data[1] == (GORO_MSG_SIGNATURE & 0xff);
}

static void
s_check_failed(const uint8_t *data, size_t size, int rc, goro_msg_t *msg)
{
    FUZZ_CHECK(rc == GORO_EPROTO || rc == GORO_ETOOBIG);
    if (!s_header_sound(data, size)) {
        FUZZ_CHECK(msg == NULL);
        return;
    }
    /* The stub: command and request id, nothing else. */
    FUZZ_CHECK(msg != NULL);
    FUZZ_CHECK(msg->cmd == data[3]);
    FUZZ_CHECK(msg->reqid == s_reqid(data));
    FUZZ_CHECK(!msg->name && !msg->data && !msg->text && !msg->strs
               && !msg->cases && !msg->values && msg->size == 0);
}

static void
s_check_round_trip(const uint8_t *data, size_t size, const goro_msg_t *msg)
{
    FUZZ_CHECK(s_header_sound(data, size));
    FUZZ_CHECK(data[2] == GORO_MSG_VERSION);
    FUZZ_CHECK(msg->cmd == data[3]);
    FUZZ_CHECK(msg->reqid == s_reqid(data));
    FUZZ_CHECK(strcmp(goro_msg_cmd_name(msg->cmd), "?") != 0);
    uint8_t *again = NULL;
    size_t again_size = 0;
    FUZZ_CHECK(goro_msg_encode(msg, &again, &again_size) == GORO_OK);
    if (again_size != size || memcmp(again, data, size) != 0) {
        fprintf(stderr,
                "fuzz_codec: %s (%zu bytes) re-encodes to %zu "
                "different bytes\n",
                goro_msg_cmd_name(msg->cmd), size, again_size);
        abort();
    }
    free(again);
}

/* Two decodings of the same frame: without a bound (A) and with one (B). */
static void
s_check_agree(const goro_msg_t *a, int rc_b, const goro_msg_t *b)
{
    if (rc_b == GORO_ETOOBIG) {
        /* Some value must indeed be over the bound. */
        int over = a->size > FUZZ_MAX_VALUE || a->text_size > FUZZ_MAX_VALUE;
        for (size_t i = 0; i < a->ncases; i++)
            over |= a->cases[i].size > FUZZ_MAX_VALUE;
        /* a batch is bounded as a whole */
        size_t batch = 0;
        for (size_t i = 0; i < a->nvalues; i++)
            batch += a->values[i].size;
        over |= batch > FUZZ_MAX_VALUE;
        FUZZ_CHECK(over);
        return;
    }
    FUZZ_CHECK(rc_b == GORO_OK);
    FUZZ_CHECK(a->size <= FUZZ_MAX_VALUE && a->text_size <= FUZZ_MAX_VALUE);
    FUZZ_CHECK(b->cmd == a->cmd && b->reqid == a->reqid
               && b->job_id == a->job_id && b->delivery_id == a->delivery_id
               && b->run_id == a->run_id && b->value_seq == a->value_seq
               && b->size == a->size && b->nstrs == a->nstrs
               && b->ncases == a->ncases && b->nvalues == a->nvalues);
    FUZZ_CHECK(a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

/* The setters replace what decode allocated; destroy frees the rest. */
static void
s_mutate(goro_msg_t *msg, const uint8_t *data, size_t size)
{
    size_t half = size / 2;
    goro_msg_set_name(msg, "fuzz");
    goro_msg_set_str(&msg->wg, msg->chan);
    goro_msg_set_data(msg, data, half);
    goro_msg_set_text(msg, data + half, size - half);
    uint8_t *owned = malloc(half + 1);
    if (!owned)
        abort();
    memcpy(owned, data, half);
    goro_msg_take_data(msg, &owned, half);
    FUZZ_CHECK(owned == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    goro_msg_t *a = NULL, *b = NULL;
    int rc_a = goro_msg_decode(data, size, 0, &a);
    int rc_b = goro_msg_decode(data, size, FUZZ_MAX_VALUE, &b);
    if (rc_a == GORO_OK) {
        FUZZ_CHECK(a != NULL);
        s_check_round_trip(data, size, a);
        s_check_agree(a, rc_b, b);
        if (rc_b != GORO_OK)
            s_check_failed(data, size, rc_b, b);
        s_mutate(a, data, size);
    }
    else {
        /* Without a bound nothing is too big; with one, a bad frame
           stays bad (the reason may differ: the bound is met first). */
        FUZZ_CHECK(rc_a == GORO_EPROTO);
        FUZZ_CHECK(rc_b != GORO_OK);
        s_check_failed(data, size, rc_a, a);
        s_check_failed(data, size, rc_b, b);
    }
    goro_msg_destroy(&a);
    goro_msg_destroy(&b);
    FUZZ_CHECK(a == NULL && b == NULL);
    goro_msg_destroy(&a); /* destroying nothing is fine */
    return 0;
}
