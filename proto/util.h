/*  util - small helpers both sides of the wire share: memory that
    aborts on exhaustion, the monotonic clock, and the parsers for the
    contract's durations ("1.5s") and sizes ("1MiB").

    Not a grab bag: anything with state or a concept of its own gets its
    own module.
*/
#ifndef UTIL_H_INCLUDED
#define UTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/* Allocation that aborts on OOM (as Redis's zmalloc does): callers never
   handle NULL from these. */
void *util_zalloc(size_t size);
void *util_realloc(void *ptr, size_t size);
char *util_strdup(const char *text);
void *util_memdup(const void *data, size_t size);

/* Hash and order of uint64_t keys (job ids, delivery ids), for czmq's
   zhashx with the key pointing into the item. */
size_t util_u64_hash(const void *key);
int util_u64_compare(const void *a, const void *b);

/* Monotonic milliseconds, for every in-memory deadline. */
int64_t util_now(void);

/* Wall-clock epoch milliseconds; only for what leaves the process. */
int64_t util_wall_ms(void);

#define UTIL_NS_PER_MS INT64_C(1000000)

/* Go's time.ParseDuration, exactly: TEXT to signed nanoseconds, or
   GORO_EINVAL for what Go refuses (syntax, unknown unit, overflow). */
int util_duration_ns(const char *text, int64_t *ns_out);

/* A Go duration to ms, rounded to the nearest (half up). GORO_EINVAL for
   what util_duration_ns refuses, a negative duration (the contract
   spells "forever" as -1 elsewhere) and one above 0 but under 1 ms. */
int util_duration(const char *text, int64_t *ms_out);

/* "1024", "64KiB", "1MiB", "1GiB" (also KB/MB/GB as powers of 1000; B,
   K, M and G as "", KiB, MiB and GiB). GORO_EINVAL for anything else and
   for a size that does not fit 64 bits. */
int util_size(const char *text, uint64_t *bytes_out);

/* Timeout (-1, 0, n ms) to an absolute monotonic deadline; -1 stays -1,
   0 is now. A deadline of n ms passes no sooner than n ms from now (and
   at most 1 ms later), so a timeout never fires early. */
int64_t util_deadline(int64_t timeout_ms);

/* Milliseconds left until DEADLINE (>= 0), or -1 for no deadline. */
int64_t util_remaining(int64_t deadline);

#endif
