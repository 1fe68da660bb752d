/* main.c — the simulator's command line (tests/sim/README.md).
 *
 *   sim --seed N --scenario NAME [--nodes N] [--periods P] [--verbose] [--dir D] [--keep]
 *   sim --batch K [--first-seed S] [--scenarios a,b,...] [--nodes N] [--periods P]
 *   sim --selftest [--verbose]        the link model against a fake endpoint
 *   sim --list                        scenario names
 *
 * Exit status: 0 every run held its invariants, 1 an invariant broke (the replay command is
 * printed), 2 usage or setup error, 77 the network stack is not built (the runs are skipped). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "sim.h"

#define SKIP 77

static int usage(void)
{
    fprintf(
        stderr,
        "usage: sim --seed N --scenario NAME [--nodes N] [--periods P] [--verbose] [--dir D] "
        "[--keep]\n"
        "       sim --batch K [--first-seed S] [--scenarios a,b,...] [--nodes N] [--periods P]\n"
        "       sim --selftest [--verbose]\n"
        "       sim --list\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    sim_opts o = {.seed = 1};
    uint64_t batch = 0, first = 1, v;
    const char *scenarios = NULL;
    bool have_seed = false, selftest = false, list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seed") == 0 && parse_u64(next, &o.seed)) {
            have_seed = true;
            i++;
        } else if (strcmp(a, "--scenario") == 0 && next) {
            o.scenario = next;
            i++;
        } else if (strcmp(a, "--nodes") == 0 && parse_u64(next, &v) && v <= SIM_MAX_NODES) {
            o.nodes = (int)v;
            i++;
        } else if (strcmp(a, "--periods") == 0 && parse_u64(next, &o.periods)) {
            i++;
        } else if (strcmp(a, "--batch") == 0 && parse_u64(next, &batch) && batch > 0) {
            i++;
        } else if (strcmp(a, "--first-seed") == 0 && parse_u64(next, &first)) {
            i++;
        } else if (strcmp(a, "--scenarios") == 0 && next) {
            scenarios = next;
            i++;
        } else if (strcmp(a, "--dir") == 0 && next) {
            o.dir = next;
            i++;
        } else if (strcmp(a, "--verbose") == 0) {
            o.verbose = true;
        } else if (strcmp(a, "--keep") == 0) {
            o.keep = true;
        } else if (strcmp(a, "--selftest") == 0) {
            selftest = true;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else {
            return usage();
        }
    }
    if (list) {
        for (size_t i = 0; sim_scenarios[i]; i++)
            printf("%s\n", sim_scenarios[i]);
        return 0;
    }
    if (selftest)
        return sim_selftest(o.verbose);
    if (!batch && (!have_seed || !o.scenario))
        return usage();
    if (!sim_have_stack()) {
        printf("sim: the network stack (src/net, src/netd) is not built yet: runs skipped\n");
        return SKIP;
    }
    if (crypto_init() != WEFT_OK || log_init(getenv("WEFT_LOG") ? NULL : "error") != WEFT_OK) {
        fprintf(stderr, "sim: cannot initialize crypto or logging\n");
        return 2;
    }
    if (!batch)
        return sim_run(&o);

    /* a batch: K seeds of every (chosen) scenario */
    const char *names[16];
    size_t nn = 0;
    char buf[256];
    if (scenarios) {
        snprintf(buf, sizeof buf, "%s", scenarios);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && nn < 16;
             t = strtok_r(NULL, ",", &save))
            names[nn++] = t;
    } else {
        for (size_t i = 0; sim_scenarios[i] && nn < 16; i++)
            names[nn++] = sim_scenarios[i];
    }
    int failed = 0, runs = 0, worst = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t s = first; s < first + batch; s++)
        for (size_t k = 0; k < nn; k++) {
            sim_opts r = o;
            r.seed = s;
            r.scenario = names[k];
            int rc = sim_run(&r);
            runs++;
            failed += rc != 0;
            worst = rc > worst ? rc : worst;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("sim: batch of %d runs (%" PRIu64 " seeds from %" PRIu64 " × %zu scenarios): %d failed, "
           "%.1f s\n",
           runs, batch, first, nn, failed, secs);
    return failed ? (worst == 2 ? 2 : 1) : 0;
}
