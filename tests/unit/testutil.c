/* Shared helpers for the unit tests: shared/ lookup with visible skips, seeded randomness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "node/node.h"
#include "repo/repo.h"
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

/* ---- node tests ------------------------------------------------------------------------------ */

void test_seed_key(keypair_t *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    keypair_from_seed(kp, seed);
}

void test_node_accounts(keypair_t *acc, address_t *addr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        test_seed_key(&acc[i], (uint8_t)(10 + i));
        address_of_pubkey(&addr[i], &acc[i].pk);
    }
}

int test_node_repo_init(const char *dir, const char *rdir, const model_params *p,
                        const keypair_t *staker, const address_t *accounts, size_t nacc,
                        const repo_config_t *cfg)
{
    repo_genesis_t g;
    memset(&g, 0, sizeof g);
    g.params = *p;
    repo_balance_t *bal = calloc(nacc ? nacc : 1, sizeof *bal);
    if (!bal)
        return -1;
    for (size_t i = 0; i < nacc; i++) {
        bal[i].addr = accounts[i];
        bal[i].amount = amount_from_nano(UINT64_C(1000000000000));
    }
    g.balances = bal;
    g.balance_count = nacc;
    pos_stake_t roll;
    address_of_pubkey(&roll.addr, &staker->pk);
    roll.rolls = 100;
    g.rolls = &roll;
    g.roll_count = 1;
    char gpath[4096], err[256];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", dir);
    weft_err e = repo_genesis_write(&g, gpath);
    free(bal);
    if (e != WEFT_OK) {
        fprintf(stderr, "repo_genesis_write: %s\n", weft_err_name(e));
        return -1;
    }
    repo_config_t def;
    if (!cfg) {
        repo_config_default(&def);
        def.store_no_sync = true;
        cfg = &def;
    }
    repo_init_options io = {
        .genesis_path = gpath, .staking = staker, .staking_count = 1, .config = cfg};
    if (repo_init(rdir, &io, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "repo_init: %s\n", err);
        return -1;
    }
    return 0;
}

void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void test_node_wait_idle(node_t *n)
{
    actor_system_t *sys = node_actor_system(n);
    actor_timer_sync(sys);
    for (int i = 0; i < 60 * 1000 && !actor_system_idle(sys); i++)
        test_sleep_ms(1);
}
