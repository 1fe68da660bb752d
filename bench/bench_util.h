/* Helpers shared by the benchmarks (the programs in bench/): a monotonic clock in seconds, a fatal
 * error check, a seeded splitmix64 stream, and removal of a flat scratch directory. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Exits with a message naming the step when e is an error. */
static inline void check(weft_err e, const char *what)
{
    if (e != WEFT_OK) {
        fprintf(stderr, "bench: %s: %s\n", what, weft_strerror(e));
        exit(1);
    }
}

static inline uint64_t next_rand(uint64_t *s)
{
    uint64_t x = (*s += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Removes dir and the files directly in it (benchmark scratch directories are flat). */
static inline void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char p[512];
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
