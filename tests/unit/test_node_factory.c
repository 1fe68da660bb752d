/* Unit tests of the factory's reservations ahead (src/node/factory.c): one journal append and
 * sync reserves the signatures the node's keys are drawn for in a window ahead, each used once by
 * the run that reserved it.  On a real one-node node (every actor, LMDB store, block log,
 * journal) in a temporary repository on a fake clock, its only staker drawn for every block and
 * endorsement:
 *   1. within one run every slot's block and endorsements are signed, once, with far fewer
 *      journal syncs than signatures (fewer than one per two slots, where it was two per slot);
 *   2. after a restart the signatures the first run reserved but did not use are never made (a
 *      crash costs at most a window), the later ones are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "journal/journal.h"
#include "node/node.h"
#include "repo/repo.h"
#include "testutil.h"

#define GENESIS_MS UINT64_C(1700000000000)
#define NACC 4
#define WAIT_S 60 /* a generous bound for the actors to react: a hang fails, nothing is timed */

typedef struct fixture {
    char dir[64];
    char rdir[128];
    repo_t *repo;
    actor_fake_clock_t *clock;
    node_t *node;
    model_params p;
    keypair_t staker;
    keypair_t acc[NACC];
    address_t acc_addr[NACC];
    slot_t next; /* the next slot to pass */
} fixture;

static void start_node(fixture *f)
{
    char err[256];
    if (repo_open(&f->repo, f->rdir, NULL, 0, err, sizeof err) != WEFT_OK)
        fail_msg("repo_open: %s", err);
    node_options o = {.clock = actor_fake_clock_base(f->clock)};
    if (node_start(&f->node, f->repo, &o, err, sizeof err) != WEFT_OK)
        fail_msg("node_start: %s", err);
    f->p = *node_params(f->node);
}

static void stop_node(fixture *f)
{
    node_stop(f->node);
    f->node = NULL;
    repo_close(f->repo);
    f->repo = NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-node-fact-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    model_params p;
    model_params_default(&p);
    p.thread_count = 4; /* 250 ms slots: a reservation window (1 s) holds 4 */
    p.t0_ms = 1000;
    p.endorsement_count = 4;
    p.delta_f0 = 4;
    p.max_operations_per_block = 20;
    p.chain_id = 992;
    p.genesis_timestamp_ms = GENESIS_MS;
    test_seed_key(&f->staker, 1);
    test_node_accounts(f->acc, f->acc_addr, NACC);
    snprintf(f->rdir, sizeof f->rdir, "%s/repo", f->dir);
    if (test_node_repo_init(f->dir, f->rdir, &p, &f->staker, f->acc_addr, NACC, NULL) != 0)
        return -1;
    if (actor_fake_clock_new(&f->clock, GENESIS_MS - 100) != WEFT_OK)
        return -1;
    f->next = (slot_t){1, 0};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->node)
        stop_node(f);
    actor_fake_clock_free(f->clock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* Passes slots up to period `upto` (exclusive): the factory produces a block in each. */
static void run_to(fixture *f, uint64_t upto)
{
    while (f->next.period < upto) {
        uint64_t t;
        assert_int_equal(slot_time(&f->p, &t, f->next), WEFT_OK);
        uint64_t now = node_now_ms(f->node);
        if (t > now)
            actor_fake_clock_advance(f->clock, t - now);
        test_node_wait_idle(f->node);
        assert_int_equal(slot_next(&f->p, &f->next, f->next), WEFT_OK);
    }
}

/* The slot whose endorsements the factory signs at slot s: T/2 slots later. */
static slot_t endorsed_slot(const fixture *f, slot_t s)
{
    for (uint32_t i = 0; i < f->p.thread_count / 2; i++)
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    return s;
}

static uint64_t slots_between(const fixture *f, slot_t from, slot_t to)
{
    uint64_t a, b;
    assert_int_equal(slot_index(&f->p, &a, from), WEFT_OK);
    assert_int_equal(slot_index(&f->p, &b, to), WEFT_OK);
    assert_true(b >= a);
    return b - a;
}

static journal_t *open_journal(fixture *f)
{
    char path[160];
    snprintf(path, sizeof path, "%s/journal", f->rdir);
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    return j;
}

/* ---- 1. one run ------------------------------------------------------------------------------ */

static void test_one_run(void **state)
{
    fixture *f = *state;
    start_node(f);
    slot_t first = f->next;
    run_to(f, 12);
    uint64_t ticks = slots_between(f, first, f->next);
    assert_int_equal(ticks, 44);
    node_status_t st;
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    /* every slot's block and its T/2-ahead slot's endorsements, each once */
    assert_int_equal(st.blocks_produced, ticks);
    assert_int_equal(st.endorsements_produced, ticks * f->p.endorsement_count);
    for (slot_t s = first; slot_cmp(s, f->next) < 0;) {
        block_id_t id;
        assert_int_equal(node_blockclique_block_at(f->node, s, &id), WEFT_OK);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    }
    /* far fewer syncs than signatures: fewer than one per two slots (two per slot before) */
    uint64_t sigs = st.blocks_produced + st.endorsements_produced;
    print_message("journal syncs=%llu signatures=%llu slots=%llu\n",
                  (unsigned long long)st.journal_syncs, (unsigned long long)sigs,
                  (unsigned long long)ticks);
    assert_true(st.journal_syncs >= 1);
    assert_true(st.journal_syncs * 2 < ticks);
    stop_node(f);
    /* everything signed is in the journal, and it reserved no more than a window ahead */
    journal_t *j = open_journal(f);
    slot_t s = first;
    for (uint64_t i = 0; i < ticks + 8; i++, assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK)) {
        slot_t e = endorsed_slot(f, s);
        bool signed_ = slot_cmp(s, f->next) < 0;
        bool beyond = slots_between(f, f->next, slot_cmp(s, f->next) < 0 ? f->next : s) >= 3;
        if (signed_)
            assert_true(journal_has(j, JOURNAL_BLOCK, s, 0));
        if (beyond)
            assert_false(journal_has(j, JOURNAL_BLOCK, s, 0));
        for (uint32_t k = 0; k < f->p.endorsement_count; k++) {
            if (signed_)
                assert_true(journal_has(j, JOURNAL_ENDORSEMENT, e, k));
            if (beyond)
                assert_false(journal_has(j, JOURNAL_ENDORSEMENT, e, k));
        }
    }
    journal_close(j);
}

/* ---- 2. a restart ---------------------------------------------------------------------------- */

static void test_restart_loses_reserved(void **state)
{
    fixture *f = *state;
    start_node(f);
    run_to(f, 6);
    stop_node(f);
    /* what the first run reserved and did not use: from the next slot on */
    slot_t resume = f->next;
    slot_t lost_blocks[16];
    size_t nlost_blocks = 0;
    uint64_t lost_endos = 0;
    journal_t *j = open_journal(f);
    slot_t s = resume;
    for (int i = 0; i < 16; i++, assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK)) {
        if (journal_has(j, JOURNAL_BLOCK, s, 0))
            lost_blocks[nlost_blocks++] = s;
        for (uint32_t k = 0; k < f->p.endorsement_count; k++)
            lost_endos += journal_has(j, JOURNAL_ENDORSEMENT, endorsed_slot(f, s), k);
    }
    journal_close(j);
    /* at least the next slot is reserved (half a window is kept ahead), at most a window's */
    assert_true(nlost_blocks >= 1 && nlost_blocks <= 3);
    assert_int_equal(slot_cmp(lost_blocks[0], resume), 0);
    assert_true(lost_endos >= f->p.endorsement_count && lost_endos <= 3 * f->p.endorsement_count);

    start_node(f);
    run_to(f, 12);
    uint64_t ticks = slots_between(f, resume, f->next);
    node_status_t st;
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    /* the lost ones are not signed, every later one is */
    assert_int_equal(st.blocks_produced, ticks - nlost_blocks);
    assert_int_equal(st.endorsements_produced, ticks * f->p.endorsement_count - lost_endos);
    for (size_t i = 0; i < nlost_blocks; i++) {
        block_id_t id;
        assert_int_equal(node_blockclique_block_at(f->node, lost_blocks[i], &id), WEFT_E_NOT_FOUND);
    }
    s = lost_blocks[nlost_blocks - 1];
    assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    for (; slot_cmp(s, f->next) < 0; assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK)) {
        block_id_t id;
        assert_int_equal(node_blockclique_block_at(f->node, s, &id), WEFT_OK);
    }
    assert_true(st.journal_syncs * 2 < ticks);
    stop_node(f);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_loses_reserved, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
