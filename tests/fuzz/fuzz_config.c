/*  fuzz_config - libFuzzer target for the YAML loader (daemon/config.c).

    The input is the text of a goro.yaml. config_parse must either return
    a config (freed again by config_destroy: LeakSanitizer checks) or
    NULL with a one-line message in ERR, within bounded time and memory
    whatever the text holds: anchors and aliases, deep nesting, a flood
    of values, NULs, broken UTF-8.
*/
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_config: %s:%d: check failed: %s\n", \
                    __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly SIZE bytes, so ASan sees any read past it. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    char err[CONFIG_ERROR_MAX];
    memset(err, 'x', sizeof err);
    config_t *cfg = config_parse("fuzz.yaml", text, size, err);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (cfg) {
        FUZZ_CHECK(err[0] == '\0');
        /* What the daemon relies on being set. */
        FUZZ_CHECK(cfg->listen_clients && cfg->listen_workers);
        FUZZ_CHECK(cfg->journal_path);
        FUZZ_CHECK(cfg->npools == 0 || cfg->pools);
        for (size_t i = 0; i < cfg->npools; i++)
            FUZZ_CHECK(cfg->pools[i].name);
        for (size_t i = 0; i < cfg->nexec_allow; i++)
            FUZZ_CHECK(cfg->exec_allow[i]);
        config_destroy(&cfg);
        FUZZ_CHECK(cfg == NULL);
    }
    else {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
    }
    free(text);
    return 0;
}
