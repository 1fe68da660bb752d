/* weft_panic: the one place a broken invariant ends the process, loudly and with a stack trace. */
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"

void weft_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "weft: PANIC at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    abort();
}
