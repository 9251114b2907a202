/*  json - the one JSON writer of goro: gorod's listings (render.c)
    and the goro CLI's --json output write their documents through it.

    It puts the commas and colons, and it writes every string as valid
    UTF-8 escaped per RFC 8259, whatever bytes the string holds: names
    and output in goro are bytes, but a JSON parser refuses invalid UTF-8
    and raw control characters. Standard headers only, so the CLI can
    compile it in without seeing libgoro's internals.
*/
#ifndef JSON_H_INCLUDED
#define JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json json_t;

/* An empty document. Caller owns it; OOM aborts. */
json_t *json_new(void);
void json_destroy(json_t **self_p);

/* Containers. Opens and closes must pair up; a container nests at most
   JSON_DEPTH_MAX deep (goro's documents go three deep). */
#define JSON_DEPTH_MAX 16
void json_object_open(json_t *self);
void json_object_close(json_t *self);
void json_array_open(json_t *self);
void json_array_close(json_t *self);

/* The member name in an object; the next value is its value. */
void json_key(json_t *self, const char *key);

/* Values. A string of bytes: '"', '\\', the C0 controls and DEL become
   escapes (\" \\ \u00XX); valid UTF-8 passes as it is; each maximal
   invalid subpart (Unicode 3.9, as browsers decode) becomes U+FFFD, so
   the text is always valid UTF-8. TEXT NULL writes null. */
void json_str(json_t *self, const char *text);
void json_bytes(json_t *self, const void *data, size_t len);
void json_int(json_t *self, int64_t value);
void json_uint(json_t *self, uint64_t value);
void json_bool(json_t *self, bool value);
void json_null(json_t *self);

/* Ends the document with a newline and destroys the writer. Returns the
   NUL-terminated text (its length in *SIZE_OUT, NULL for none), which
   the caller frees with free(). */
char *json_finish(json_t **self_p, size_t *size_out);

#endif
