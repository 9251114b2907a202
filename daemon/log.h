/*  log - gorod's logging: levels from log.level, lines to stderr through
    czmq's zsys (ident "gorod"). Internal errors carry file:line.
*/
#ifndef LOG_H_INCLUDED
#define LOG_H_INCLUDED

#include "config.h"

void log_set_level(config_log_level_t level);
int log_enabled(config_log_level_t level);

void log_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Our own invariant broke: say where, keep serving. */
#define log_bug(...) \
    log_error("internal error at " __FILE__ ":%d: %s", __LINE__, __VA_ARGS__)

#endif
