/* Shared helpers for the unit tests: shared/ lookup with visible skips, seeded randomness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "testutil.h"

const char *test_shared_dir(void)
{
    static char path[4096];
    const char *env = getenv("WEFT_SHARED");
    const char *p = env && *env ? env : WEFT_SHARED_DEFAULT;
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    snprintf(path, sizeof path, "%s", p);
    return path;
}

json_t *test_load_shared_json(const char *relpath)
{
    const char *dir = test_shared_dir();
    if (!dir) {
        print_message("SKIP: shared/ not found (set WEFT_SHARED; default %s) — %s not checked\n",
                      WEFT_SHARED_DEFAULT, relpath);
        skip();
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, relpath);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j) {
        if (access(path, F_OK) != 0) {
            print_message("SKIP: %s not found — not checked\n", path);
            skip();
        }
        fail_msg("cannot parse %s: %s (line %d)", path, jerr.text, jerr.line);
    }
    return j;
}

uint64_t test_seed(void)
{
    static uint64_t seed;
    static int have;
    if (!have) {
        const char *env = getenv("WEFT_TEST_SEED");
        if (env && *env) {
            seed = strtoull(env, NULL, 0);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        }
        have = 1;
        print_message("test seed: %llu (replay with WEFT_TEST_SEED=%llu)\n",
                      (unsigned long long)seed, (unsigned long long)seed);
    }
    return seed;
}

void test_rng_init(test_rng *r, uint64_t seed) { r->s = seed; }

uint64_t test_rng_next(test_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t test_rng_below(test_rng *r, uint64_t n) { return test_rng_next(r) % n; }

void test_rng_bytes(test_rng *r, void *buf, size_t n)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)test_rng_next(r);
}

uint8_t *test_unhex(const char *hex, size_t *len)
{
    uint8_t *out;
    weft_err e = hex_decode_alloc(&out, len, hex);
    if (e != WEFT_OK)
        fail_msg("bad hex in test data: %s", weft_err_name(e));
    return out;
}
