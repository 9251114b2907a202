/*  goro_json - the one JSON writer of goro: gorod's listings (render.c)
    and the goro CLI's --json output write their documents through it.

    It puts the commas and colons, and it writes every string as valid
    UTF-8 escaped per RFC 8259, whatever bytes the string holds: names
    and output in goro are bytes, but a JSON parser refuses invalid UTF-8
    and raw control characters. Standard headers only, so the CLI can
    compile it in without seeing libgoro's internals.
*/
#ifndef GORO_JSON_H_INCLUDED
#define GORO_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct goro_json goro_json_t;

/* An empty document. Caller owns it; OOM aborts. */
goro_json_t *goro_json_new(void);
void goro_json_destroy(goro_json_t **self_p);

/* Containers. Opens and closes must pair up; a container nests at most
   GORO_JSON_DEPTH_MAX deep (goro's documents go three deep). */
#define GORO_JSON_DEPTH_MAX 16
void goro_json_object_open(goro_json_t *self);
void goro_json_object_close(goro_json_t *self);
void goro_json_array_open(goro_json_t *self);
void goro_json_array_close(goro_json_t *self);

/* The member name in an object; the next value is its value. */
void goro_json_key(goro_json_t *self, const char *key);

/* Values. A string of bytes: '"', '\\', the C0 controls and DEL become
   escapes (\" \\ \u00XX); valid UTF-8 passes as it is; each maximal
   invalid subpart (Unicode 3.9, as browsers decode) becomes U+FFFD, so
   the text is always valid UTF-8. TEXT NULL writes null. */
void goro_json_str(goro_json_t *self, const char *text);
void goro_json_bytes(goro_json_t *self, const void *data, size_t len);
void goro_json_int(goro_json_t *self, int64_t value);
void goro_json_uint(goro_json_t *self, uint64_t value);
void goro_json_bool(goro_json_t *self, bool value);
void goro_json_null(goro_json_t *self);

/* Ends the document with a newline and destroys the writer. Returns the
   NUL-terminated text (its length in *SIZE_OUT, NULL for none), which
   the caller frees with free(). */
char *goro_json_finish(goro_json_t **self_p, size_t *size_out);

#endif
