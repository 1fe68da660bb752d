/* Logging: one line per event, "time LEVEL module: message key=value ...", to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"

/* The process log level: configuration written once at start-up, read everywhere (see base.h). */
static log_level g_level = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

weft_err log_level_parse(const char *name, log_level *out)
{
    for (size_t i = 0; i < WEFT_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (log_level)i;
            return WEFT_OK;
        }
    }
    return WEFT_E_INVAL;
}

weft_err log_init(const char *spec)
{
    if (!spec)
        spec = getenv("WEFT_LOG");
    if (!spec || !*spec)
        spec = "info";
    log_level lvl;
    weft_err e = log_level_parse(spec, &lvl);
    if (e == WEFT_OK)
        g_level = lvl;
    return e;
}

log_level log_get_level(void) { return g_level; }

bool log_enabled(log_level lvl) { return lvl <= g_level; }

void log_write(log_level lvl, const char *module, const char *msg, const char *fields_fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    static const char *const upper[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, upper[lvl <= LOG_TRACE ? lvl : LOG_TRACE], module, msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (fields_fmt && *fields_fmt && len < sizeof line - 2) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fields_fmt);
        int m = vsnprintf(line + len, sizeof line - len, fields_fmt, ap);
        va_end(ap);
        if (m > 0)
            len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
    }
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
