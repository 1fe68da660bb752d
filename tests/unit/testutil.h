/* Shared helpers for the cmocka unit tests.
 *
 * Tests that use the team's shared/ folder find it through WEFT_SHARED (environment), defaulting to
 * the build's WEFT_SHARED_DEFAULT (../shared beside the project).  When it is absent a test calls
 * test_require_shared(), which prints a visible message and skips (cmocka "[  SKIPPED ]", which
 * ctest reports as skipped) — never a silent pass.
 *
 * Seeded randomness: test_seed() returns the seed from WEFT_TEST_SEED or a fresh one, printed once
 * so that any failure can be replayed.  test_rng_* is a small deterministic generator (splitmix64).
 */
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

/* Path of shared/ (static storage), or NULL if it does not exist. */
const char *test_shared_dir(void);
/* Loads shared/<relpath> as JSON; skips the current test visibly if shared/ or the file is
 * absent.  Returns a new reference (json_decref it). */
json_t *test_load_shared_json(const char *relpath);

uint64_t test_seed(void);
typedef struct test_rng {
    uint64_t s;
} test_rng;
void test_rng_init(test_rng *r, uint64_t seed);
uint64_t test_rng_next(test_rng *r);
uint64_t test_rng_below(test_rng *r, uint64_t n); /* uniform in [0, n), n > 0 */
void test_rng_bytes(test_rng *r, void *buf, size_t n);

/* Hex helpers that fail the test on malformed input.  test_unhex returns a malloc'd buffer. */
uint8_t *test_unhex(const char *hex, size_t *len);

/* ---- node tests: one-staker repositories, waiting for the actors ---------------------------- */

struct keypair;
struct address;
struct model_params;
struct repo_config;
struct node;

/* A key pair from the 32-byte seed whose bytes are all `tag`. */
void test_seed_key(struct keypair *kp, uint8_t tag);
/* Initializes a repository at `rdir` for one staker: genesis (written to dir/genesis.json) with
 * parameters p, 1,000 MAS to each of accounts[0..nacc) and to nobody else, 100 rolls to `staker`
 * (also the repository's staking key); cfg NULL: the default configuration with store_no_sync.
 * Returns 0, or -1 with the reason on stderr. */
int test_node_repo_init(const char *dir, const char *rdir, const struct model_params *p,
                        const struct keypair *staker, const struct address *accounts, size_t nacc,
                        const struct repo_config *cfg);
/* Key pairs from seed tags 10, 11, … and their addresses. */
void test_node_accounts(struct keypair *acc, struct address *addr, size_t n);
void test_sleep_ms(long ms);
/* Delivers the timers due on the node's clock, then waits (at most 60 s of real time: a hang
 * detector, nothing is timed) until every actor is idle. */
void test_node_wait_idle(struct node *n);

#endif
