/*  log - a thin level filter over czmq's zsys_* logging, which writes
    timestamped lines to stderr (and syslog when configured).
*/
#include "log.h"

#include <czmq.h>
#include <stdarg.h>

static config_log_level_t s_level = CONFIG_LOG_INFO;

void
log_set_level(config_log_level_t level)
{
    s_level = level;
}

int
log_enabled(config_log_level_t level)
{
    return level >= s_level;
}

#define LOG_BODY(level, sink) \
    do { \
        if (!log_enabled(level)) \
            return; \
        va_list args; \
        va_start(args, format); \
        char *line = zsys_vprintf(format, args); \
        va_end(args); \
        if (line) \
            sink("%s", line); \
        free(line); \
    } while (0)

void
log_debug(const char *format, ...)
{
    LOG_BODY(CONFIG_LOG_DEBUG, zsys_debug);
}

void
log_info(const char *format, ...)
{
    LOG_BODY(CONFIG_LOG_INFO, zsys_info);
}

void
log_warn(const char *format, ...)
{
    LOG_BODY(CONFIG_LOG_WARN, zsys_warning);
}

void
log_error(const char *format, ...)
{
    LOG_BODY(CONFIG_LOG_ERROR, zsys_error);
}
