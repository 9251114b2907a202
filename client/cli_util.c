/*  cli_util - small helpers the verbs share: memory, the clock, reading
    a file or stdin whole, and durations for people.
*/
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OOM aborts (STYLE.md 3): a CLI has nothing useful to do without
   memory. */
void *
cli_util_realloc(void *ptr, size_t size)
{
    void *result = realloc(ptr, size ? size : 1);
    if (!result) {
        fputs("goro: out of memory\n", stderr);
        abort();
    }
    return result;
}

int64_t
cli_util_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Reads all of FILE, binary safe, into a new buffer the caller frees.
   -1 with errno set on a read error. */
int
cli_util_read_stream(FILE *file, char **buf_out, size_t *len_out)
{
    size_t size = 4096;
    size_t len = 0;
    char *buf = cli_util_realloc(NULL, size);
    size_t got;
    while ((got = fread(buf + len, 1, size - len, file)) > 0) {
        len += got;
        if (len == size) {
            size *= 2;
            buf = cli_util_realloc(buf, size);
        }
    }
    if (ferror(file)) {
        int saved = errno;
        free(buf);
        errno = saved ? saved : EIO;
        return -1;
    }
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* As cli_util_read_stream for file PATH, or stdin when PATH is "-". */
int
cli_util_read_file(const char *path, char **buf_out, size_t *len_out)
{
    if (strcmp(path, "-") == 0)
        return cli_util_read_stream(stdin, buf_out, len_out);
    FILE *file = fopen(path, "rb");
    if (!file)
        return -1;
    int rc = cli_util_read_stream(file, buf_out, len_out);
    int saved = errno;
    fclose(file);
    errno = saved;
    return rc;
}

/* Go's Duration.String() style ("250ms", "1.5s", "2m3s"), for people. */
void
cli_util_format_ms(int64_t ms, char *buf, size_t size)
{
    if (ms < 1000) {
        snprintf(buf, size, "%" PRId64 "ms", ms);
        return;
    }
    int64_t hours = ms / 3600000;
    int64_t minutes = ms / 60000 % 60;
    int64_t seconds = ms / 1000 % 60;
    int millis = (int) (ms % 1000);
    char frac[8] = "";
    if (millis) {
        snprintf(frac, sizeof frac, ".%03d", millis);
        size_t end = strlen(frac);
        while (end > 1 && frac[end - 1] == '0')
            frac[--end] = '\0';
    }
    if (hours)
        snprintf(buf, size, "%" PRId64 "h%" PRId64 "m%" PRId64 "%ss", hours,
                 minutes, seconds, frac);
    else if (minutes)
        snprintf(buf, size, "%" PRId64 "m%" PRId64 "%ss", minutes, seconds,
                 frac);
    else
        snprintf(buf, size, "%" PRId64 "%ss", seconds, frac);
}

void
cli_util_print_json(json_t **doc_p)
{
    size_t size = 0;
    char *text = json_finish(doc_p, &size);
    fwrite(text, 1, size, stdout);
    free(text);
}
