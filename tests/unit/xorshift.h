/*  xorshift - the pseudo-random numbers of the unit tests' random walks:
    xorshift64* (Vigna), so a seed gives the same sequence on every run
    and platform, unlike rand(). Not for anything that must be
    unpredictable.
*/
#ifndef XORSHIFT_H_INCLUDED
#define XORSHIFT_H_INCLUDED

#include <stdint.h>

/* The next number from *STATE (not 0), which it advances. */
static inline uint64_t
xorshift_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

#endif
