/* Unit tests of the final state in parts on real nodes (node.h "the final state in parts",
 * docs/node.md "State transfer"): node A (every actor, LMDB store, block log) produces a chain on a
 * fake clock with transfers and short cycles; node B, a fresh repository of the same network,
 * imports A's final state part by part through node.h alone, as the network shell does:
 *   1. served while A goes on finalizing between the parts (each part from one snapshot: the
 *      import's fingerprint matches), imported, adopted at B's next start (final cursor, balances,
 *      rolls and the root blocks as A's at the snapshot), then B takes A's later blocks — its
 *      graph restarted from the roots, its selector from the imported state — and agrees with A;
 *   2. refusals: a changed record (fingerprint), a record out of order, the metadata table, a
 *      block that is not a root, a root twice, a finish without every root; the snapshot table
 *      full (busy), an unknown cursor (gone); an ask going on with a value from a byte (served),
 *      beyond its end or with a record not there (unavailable);
 *   3. a transfer in parts of 24 bytes (values cut in pieces, put together again), then a crash
 *      in the middle of the adoption (the store moved, the block log not yet): the next start
 *      finishes it; an import never finished is removed at start;
 *   4. an import the node's own final blocks passed before its restart is dropped at start;
 *   5. a forged state (a balance changed, announced with the changed state's fingerprint) is
 *      adopted, followed up to the cycle whose draws its own final-state hash seeds, and no
 *      further; its fingerprint at the cursor (the forged one) is not A's there;
 *   6. the fingerprints of final slots a node keeps (node_net_state_fingerprint): the cursor's as
 *      a transfer announces it, every earlier one, the same on B following A's blocks, ahead, a
 *      thread the network does not have, every one still known after a restart (in test 1: B's
 *      after its import, from the cursor on, are A's).
 * A stakes for two keys, so that the draws depend on the seed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/node.h"
#include "repo/repo.h"
#include "state/state.h"
#include "testutil.h"

#define GENESIS_MS UINT64_C(1700000000000)
#define NACC 4
#define WAIT_S 60 /* a generous bound for the actors to react: a hang fails, nothing is timed */

typedef struct nd {
    char rdir[160];
    repo_t *repo;
    actor_fake_clock_t *clock;
    node_t *node;
} nd;

typedef struct fixture {
    char dir[64];
    nd a, b;
    model_params p;
    keypair_t staker[2]; /* A stakes for both */
    keypair_t acc[NACC];
    address_t acc_addr[NACC];
    slot_t next; /* A's next slot to pass */
} fixture;

static void seed_key(keypair_t *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    keypair_from_seed(kp, seed);
}

static void start(fixture *f, nd *x)
{
    char err[256];
    if (repo_open(&x->repo, x->rdir, NULL, 0, err, sizeof err) != WEFT_OK)
        fail_msg("repo_open: %s", err);
    node_options o = {.clock = actor_fake_clock_base(x->clock)};
    if (node_start(&x->node, x->repo, &o, err, sizeof err) != WEFT_OK)
        fail_msg("node_start: %s", err);
    f->p = *node_params(x->node);
}

static void stop(nd *x)
{
    node_stop(x->node);
    x->node = NULL;
    repo_close(x->repo);
    x->repo = NULL;
}

static int make_repo(fixture *f, const char *gpath, nd *x, const char *name, bool staking)
{
    char err[256];
    snprintf(x->rdir, sizeof x->rdir, "%s/%s", f->dir, name);
    repo_config_t cfg;
    repo_config_default(&cfg);
    cfg.store_no_sync = true;
    repo_init_options io = {.genesis_path = gpath,
                            .staking = staking ? f->staker : NULL,
                            .staking_count = staking ? 2 : 0,
                            .config = &cfg};
    if (repo_init(x->rdir, &io, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "repo_init: %s\n", err);
        return -1;
    }
    return actor_fake_clock_new(&x->clock, GENESIS_MS - 100) == WEFT_OK ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-node-state-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    model_params p;
    model_params_default(&p);
    p.thread_count = 2;
    p.t0_ms = 1000;
    p.endorsement_count = 4;
    p.delta_f0 = 4;
    p.periods_per_cycle = 4; /* roll and hash snapshots, seed bits: several cycles of them */
    p.max_operations_per_block = 20;
    p.chain_id = 993;
    p.genesis_timestamp_ms = GENESIS_MS;
    seed_key(&f->staker[0], 1);
    seed_key(&f->staker[1], 2);
    repo_genesis_t g;
    memset(&g, 0, sizeof g);
    g.params = p;
    repo_balance_t bal[NACC];
    for (int i = 0; i < NACC; i++) {
        seed_key(&f->acc[i], (uint8_t)(10 + i));
        address_of_pubkey(&f->acc_addr[i], &f->acc[i].pk);
        bal[i].addr = f->acc_addr[i];
        bal[i].amount = amount_from_nano(UINT64_C(1000000000000));
    }
    g.balances = bal;
    g.balance_count = NACC;
    pos_stake_t roll[2]; /* two stakers: the draws depend on the seed */
    for (int i = 0; i < 2; i++) {
        address_of_pubkey(&roll[i].addr, &f->staker[i].pk);
        roll[i].rolls = 100;
    }
    g.rolls = roll;
    g.roll_count = 2;
    char gpath[128];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", f->dir);
    if (repo_genesis_write(&g, gpath) != WEFT_OK || make_repo(f, gpath, &f->a, "a", true) ||
        make_repo(f, gpath, &f->b, "b", false))
        return -1;
    f->next = (slot_t){1, 0};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->a.node)
        stop(&f->a);
    if (f->b.node)
        stop(&f->b);
    actor_fake_clock_free(f->a.clock);
    actor_fake_clock_free(f->b.clock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void wait_idle(nd *x)
{
    actor_system_t *sys = node_actor_system(x->node);
    actor_timer_sync(sys);
    for (int i = 0; i < WAIT_S * 1000 && !actor_system_idle(sys); i++)
        sleep_ms(1);
}

static void set_time(nd *x, uint64_t t)
{
    uint64_t now = node_now_ms(x->node);
    if (t > now)
        actor_fake_clock_advance(x->clock, t - now);
    wait_idle(x);
}

/* Gives B a block of A's as a peer's would be, and again once B's actors are idle while its
 * cycle is not drawn yet (E_NODE_BLOCK_LATER: B's execution has not run the final slots the draws
 * need — under load it lags; the network keeps such a block and offers it again): the verdict. */
static weft_err give_block(fixture *f, const node_net_block_data *d)
{
    weft_err verdict = WEFT_E_NODE_BLOCK_LATER;
    for (int tries = 0; verdict == WEFT_E_NODE_BLOCK_LATER && tries < 100; tries++) {
        if (tries)
            wait_idle(&f->b);
        signed_op_t *ops = calloc(d->op_count ? d->op_count : 1, sizeof *ops);
        assert_non_null(ops);
        for (uint32_t k = 0; k < d->op_count; k++)
            assert_int_equal(signed_op_decode(&ops[k], f->p.chain_id, d->ops[k].b, d->ops[k].len),
                             WEFT_OK);
        assert_int_equal(node_net_block(f->b.node, &d->header, ops, d->op_count, &verdict),
                         WEFT_OK);
    }
    return verdict;
}

static void send_transfer(fixture *f, int from, uint64_t amount)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(1000);
    op.expire_period = f->next.period + 5;
    op.type = OP_TRANSACTION;
    op.u.transaction.recipient = f->acc_addr[(from + 1) % NACC];
    op.u.transaction.amount = amount_from_nano(amount);
    wr_t c;
    wr_init(&c);
    op_encode(&c, &op);
    const keypair_t *kp = &f->acc[from];
    hash32_t d;
    op_digest(&d, f->p.chain_id, &kp->pk, c.buf, c.len);
    signature_t sig;
    model_sign_digest(&sig, kp, &d);
    signed_op_t **ops = malloc(sizeof *ops);
    assert_non_null(ops);
    ops[0] = malloc(sizeof **ops);
    assert_non_null(ops[0]);
    assert_int_equal(signed_op_from_parts(ops[0], f->p.chain_id, &kp->pk, &sig, c.buf, c.len),
                     WEFT_OK);
    wr_free(&c);
    weft_err res;
    assert_int_equal(node_send_operations(f->a.node, ops, 1, &res), WEFT_OK);
    assert_int_equal(res, WEFT_OK);
    free(ops);
}

/* A passes slots up to period `upto` (exclusive), a transfer every other slot. */
static void run_a(fixture *f, uint64_t upto)
{
    while (f->next.period < upto) {
        if ((f->next.period + f->next.thread) % 2 == 0)
            send_transfer(f, (int)(f->next.period % NACC), 1000 + f->next.period);
        uint64_t t;
        assert_int_equal(slot_time(&f->p, &t, f->next), WEFT_OK);
        set_time(&f->a, t);
        assert_int_equal(slot_next(&f->p, &f->next, f->next), WEFT_OK);
    }
}

static slot_t exec_cursor(nd *x)
{
    node_status_t st;
    assert_int_equal(node_get_status(x->node, &st), WEFT_OK);
    assert_true(st.has_final_cursor);
    return st.final_cursor;
}

/* A's final blocks after slot `after` (at most 4,096), as a block sync asks them: their count. */
static size_t a_final_after(fixture *f, slot_t after, block_id_t **ids, slot_t **slots)
{
    size_t n;
    bool more;
    slot_t oldest;
    assert_int_equal(node_net_final_range(f->a.node, after, 4096, ids, slots, &n, &more, &oldest),
                     WEFT_OK);
    return n;
}

/* Waits (bounded in real time, as a hang detector) until x's execution finalized slot s. */
static void wait_exec(nd *x, slot_t s)
{
    for (int i = 0; i < WAIT_S * 100; i++) {
        node_status_t st;
        assert_int_equal(node_get_status(x->node, &st), WEFT_OK);
        if (st.has_final_cursor && slot_cmp(st.final_cursor, s) >= 0)
            return;
        sleep_ms(10);
    }
    fail_msg("execution never finalized (%llu, %u)", (unsigned long long)s.period, s.thread);
}

/* x's fingerprint of its final state at slot s, which must have status `want`; fp filled when
 * KNOWN (left as it was otherwise). */
static void fp_at(nd *x, slot_t s, node_fp_status want, uint8_t fp[NODE_STATE_FP_LEN])
{
    node_fp_status st = (node_fp_status)99;
    uint8_t got[NODE_STATE_FP_LEN];
    memset(got, 0xee, sizeof got);
    assert_int_equal(node_net_state_fingerprint(x->node, s, got, &st), WEFT_OK);
    if (st != want)
        fail_msg("fingerprint at (%llu, %u): status %d, want %d", (unsigned long long)s.period,
                 s.thread, (int)st, (int)want);
    if (want == NODE_FP_KNOWN)
        memcpy(fp, got, sizeof got);
}

/* A transfer as the network shell does it: every part after the previous one (A going on between
 * them when `live`), the records into B's import, the roots from A's block log. */
typedef struct xfer {
    slot_t cursor;
    uint8_t fp[NODE_STATE_FP_LEN];
    block_id_t *roots;
    slot_t *root_slots;
    size_t nroots;
    size_t parts, records, pieces; /* pieces: parts ending with the start of a value */
} xfer;

static void xfer_free(xfer *x)
{
    free(x->roots);
    free(x->root_slots);
    memset(x, 0, sizeof *x);
}

static weft_err give_root(fixture *f, const block_id_t *id)
{
    node_net_block_data d;
    assert_int_equal(node_net_get_block(f->a.node, id, true, &d), WEFT_OK);
    signed_op_t *ops = calloc(d.op_count ? d.op_count : 1, sizeof *ops);
    assert_non_null(ops);
    for (uint32_t i = 0; i < d.op_count; i++)
        assert_int_equal(signed_op_decode(&ops[i], f->p.chain_id, d.ops[i].b, d.ops[i].len),
                         WEFT_OK);
    weft_err e = node_import_root(f->b.node, &d.header, ops, d.op_count);
    node_net_block_data_free(&d);
    return e;
}

/* Runs a whole transfer from A into B's import, max_bytes a part, the values cut in pieces put
 * together as the network does; corrupt >= 0 changes the value of that record — a record of the
 * first part, announced with the fingerprint of the changed state when forge (a forged server). */
static void transfer_as(fixture *f, xfer *x, bool live, long corrupt, bool forge, size_t max_bytes)
{
    memset(x, 0, sizeof *x);
    node_state_ask ask = {.max_bytes = max_bytes};
    uint8_t after[512];
    uint8_t *val = NULL; /* the value under way: ask.after_offset bytes */
    for (;;) {
        node_state_part part;
        assert_int_equal(node_net_state_part(f->a.node, &ask, &part), WEFT_OK);
        assert_int_equal(part.status, NODE_STATE_OK);
        if (!ask.has_cursor) {
            x->cursor = part.cursor;
            memcpy(x->fp, part.fingerprint, sizeof x->fp);
            if (forge) { /* the changed record in the fingerprint: the old one out, the new in */
                assert_true((size_t)corrupt < part.count && !part.last_partial);
                node_state_rec *r = &part.recs[corrupt];
                assert_true(r->table == 1 && r->vlen > 0); /* a balance */
                uint8_t e[NODE_STATE_FP_LEN];
                state_fp_entry(e, (state_table)r->table, r->key, r->klen, r->val, r->vlen);
                for (size_t k = 0; k < sizeof e; k++)
                    x->fp[k] ^= e[k];
                *(uint8_t *)r->val ^= 1;
                state_fp_entry(e, (state_table)r->table, r->key, r->klen, r->val, r->vlen);
                for (size_t k = 0; k < sizeof e; k++)
                    x->fp[k] ^= e[k];
                *(uint8_t *)r->val ^= 1; /* changed again below, as any corrupt record */
            }
            assert_true(part.nroots >= f->p.thread_count);
            x->roots = malloc(part.nroots * sizeof *x->roots);
            x->root_slots = malloc(part.nroots * sizeof *x->root_slots);
            memcpy(x->roots, part.root_ids, part.nroots * sizeof *x->roots);
            memcpy(x->root_slots, part.root_slots, part.nroots * sizeof *x->root_slots);
            x->nroots = part.nroots;
            assert_int_equal(
                node_import_begin(f->b.node, x->cursor, x->fp, x->roots, x->root_slots, x->nroots),
                WEFT_OK);
        } else {
            assert_int_equal(slot_cmp(part.cursor, x->cursor), 0);
            assert_memory_equal(part.fingerprint, x->fp, sizeof x->fp);
            assert_int_equal(part.nroots, 0);
        }
        assert_true(part.count > 0);
        assert_int_equal(part.first_offset, ask.after_offset);
        size_t bytes = 0;
        for (size_t i = 0; i < part.count; i++)
            bytes += part.recs[i].klen + part.recs[i].vlen;
        assert_true(bytes <= ask.max_bytes || (part.count == 1 && part.recs[0].klen >= max_bytes));
        if (part.last_partial)
            x->pieces++;
        for (size_t i = 0; i < part.count; i++) {
            node_state_rec r = part.recs[i];
            if (i == 0 && part.first_offset) { /* the rest of the value under way */
                assert_int_equal(r.klen, ask.after_klen);
                assert_memory_equal(r.key, after, r.klen);
                val = realloc(val, part.first_offset + r.vlen);
                memcpy(val + part.first_offset, r.val, r.vlen);
                r.val = val;
                r.vlen += part.first_offset;
            }
            if (i + 1 == part.count && part.last_partial) { /* the start of a value */
                if (!(i == 0 && part.first_offset)) {
                    val = realloc(val, r.vlen);
                    memcpy(val, r.val, r.vlen);
                }
                ask.after_offset = r.vlen;
                break;
            }
            ask.after_offset = 0;
            if (corrupt >= 0 && (size_t)corrupt == x->records) {
                assert_true(r.table == 1 && r.vlen > 0); /* a balance */
                *(uint8_t *)r.val ^= 1; /* its lowest bits: still a record, another value */
            }
            assert_int_equal(node_import_records(f->b.node, &r, 1), WEFT_OK);
            x->records++;
        }
        x->parts++;
        const node_state_rec *last = &part.recs[part.count - 1];
        ask.has_cursor = true;
        ask.cursor = x->cursor;
        ask.has_after = true;
        ask.after_table = last->table;
        memcpy(after, last->key, last->klen);
        ask.after_key = after;
        ask.after_klen = last->klen;
        bool more = part.more;
        node_state_part_free(&part);
        if (!more)
            break;
        if (live) /* A finalizes more slots: the transfer reads its snapshot */
            run_a(f, f->next.period + 1);
    }
    free(val);
    for (size_t i = 0; i < x->nroots; i++)
        assert_int_equal(give_root(f, &x->roots[i]), WEFT_OK);
}

static void transfer(fixture *f, xfer *x, bool live, long corrupt, size_t max_bytes)
{
    transfer_as(f, x, live, corrupt, false, max_bytes);
}

/* ---- 1. a whole transfer, adopted, then the blocks after it -----------------------------------
 */

static void test_import_adopt_follow(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 30);
    slot_t c0 = exec_cursor(&f->a);
    assert_true(c0.period >= 20);
    start(f, &f->b);
    xfer x;
    transfer(f, &x, true, -1, 300);
    assert_true(x.parts > 3);
    assert_int_equal(slot_cmp(x.cursor, c0), 0);       /* the snapshot of the first ask */
    assert_true(slot_cmp(exec_cursor(&f->a), c0) > 0); /* A went on meanwhile */
    assert_int_equal(node_import_finish(f->b.node), WEFT_OK);
    /* the roots: the last NODE_STATE_ROOT_PERIODS periods up to the cursor */
    assert_true(x.nroots >= NODE_STATE_ROOT_PERIODS * f->p.thread_count);
    for (size_t i = 0; i < x.nroots; i++)
        assert_true(slot_cmp(x.root_slots[i], x.cursor) <= 0);
    stop(&f->b);

    /* B adopts it as it starts */
    start(f, &f->b);
    assert_int_equal(slot_cmp(exec_cursor(&f->b), x.cursor), 0);
    /* its fingerprint at the cursor, from its start on: the one announced, A's there */
    uint8_t fa[NODE_STATE_FP_LEN], fb[NODE_STATE_FP_LEN];
    fp_at(&f->b, x.cursor, NODE_FP_KNOWN, fb);
    fp_at(&f->a, x.cursor, NODE_FP_KNOWN, fa);
    assert_memory_equal(fb, x.fp, sizeof fb);
    assert_memory_equal(fa, x.fp, sizeof fa);
    slot_t before = {x.cursor.period - 1, x.cursor.thread};
    fp_at(&f->b, before, NODE_FP_NOT_KEPT, fb); /* before its state: not B's to tell */
    for (size_t i = 0; i < x.nroots; i++) {
        node_block_info_t bi;
        assert_int_equal(node_get_block(f->b.node, &x.roots[i], &bi), WEFT_OK);
        assert_int_equal(bi.status, NODE_BLOCK_FINAL);
        node_block_info_free(&bi);
    }
    node_net_status ns;
    assert_int_equal(node_net_get_status(f->b.node, &ns), WEFT_OK);
    assert_int_equal(ns.kept_from, x.root_slots[0].period); /* its log starts at the roots */

    /* then A's later blocks, as a block sync gives them */
    uint64_t now = node_now_ms(f->a.node);
    set_time(&f->b, now);
    /* past cycle C + 3, the first drawn with B's own final-state hash of the cursor's cycle C:
     * the same as A's (test 5 shows a forged state stopping there) */
    run_a(f, (cycle_of_period(&f->p, x.cursor.period) + 4) * f->p.periods_per_cycle + 1);
    set_time(&f->b, node_now_ms(f->a.node));
    block_id_t *ids;
    slot_t *slots;
    size_t n = a_final_after(f, x.cursor, &ids, &slots);
    assert_true(n > 10);
    /* and the blockclique's pending blocks after them, as the heads of a hello bring them */
    slot_t now_slot;
    assert_int_equal(node_current_slot(f->a.node, &now_slot), WEFT_OK);
    for (slot_t s = slots[n - 1]; slot_cmp(s, now_slot) < 0;) {
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
        block_id_t id;
        if (node_blockclique_block_at(f->a.node, s, &id) != WEFT_OK)
            continue;
        ids = realloc(ids, (n + 1) * sizeof *ids);
        slots = realloc(slots, (n + 1) * sizeof *slots);
        assert_true(ids && slots);
        ids[n] = id;
        slots[n++] = s;
    }
    for (size_t i = 0; i < n; i++) {
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->a.node, &ids[i], true, &d), WEFT_OK);
        weft_err verdict = give_block(f, &d);
        if (verdict != WEFT_OK && verdict != WEFT_E_GRAPH_OLD_PERIOD)
            fail_msg("block %zu of (%llu, %u): %s", i, (unsigned long long)slots[i].period,
                     slots[i].thread, weft_err_name(verdict));
        node_net_block_data_free(&d);
    }
    free(ids);
    free(slots);
    slot_t ca = exec_cursor(&f->a);
    wait_exec(&f->b, ca);
    /* B agrees with A: the final blocks after the cursor, and the final balances */
    for (slot_t s = x.cursor; slot_cmp(s, ca) <= 0; assert_int_equal(slot_next(&f->p, &s, s), 0)) {
        block_id_t ia, ib;
        weft_err ea = node_blockclique_block_at(f->a.node, s, &ia);
        weft_err eb = node_blockclique_block_at(f->b.node, s, &ib);
        assert_int_equal(ea, eb);
        if (!ea)
            assert_true(block_id_eq(&ia, &ib));
    }
    for (int i = 0; i < NACC; i++) {
        node_address_info_t ia, ib;
        assert_int_equal(node_get_address(f->a.node, &f->acc_addr[i], &ia), WEFT_OK);
        assert_int_equal(node_get_address(f->b.node, &f->acc_addr[i], &ib), WEFT_OK);
        if (slot_cmp(exec_cursor(&f->a), exec_cursor(&f->b)) == 0)
            assert_int_equal(ia.final_balance.nano, ib.final_balance.nano);
        assert_int_equal(ia.final_rolls, ib.final_rolls);
        node_address_info_free(&ia);
        node_address_info_free(&ib);
    }
    /* and the same fingerprints at every slot B finalized after the cursor */
    slot_t cb = exec_cursor(&f->b);
    size_t compared = 0;
    for (slot_t s = x.cursor; slot_cmp(s, cb) <= 0; assert_int_equal(slot_next(&f->p, &s, s), 0)) {
        fp_at(&f->a, s, NODE_FP_KNOWN, fa);
        fp_at(&f->b, s, NODE_FP_KNOWN, fb);
        assert_memory_equal(fa, fb, sizeof fa);
        compared++;
    }
    assert_true(compared > 10);
    xfer_free(&x);
    stop(&f->b);
    stop(&f->a);
}

/* ---- 2. refusals ----------------------------------------------------------------------------- */

/* One ask of A: a start (cursor NULL) or the first records of a transfer at *cursor; checks the
 * status and returns the part's cursor. */
static slot_t snap_ask(fixture *f, const slot_t *cursor, node_state_status want)
{
    node_state_ask ask = {.max_bytes = 10};
    if (cursor) {
        ask.has_cursor = true;
        ask.cursor = *cursor;
    }
    node_state_part part;
    assert_int_equal(node_net_state_part(f->a.node, &ask, &part), WEFT_OK);
    assert_int_equal(part.status, want);
    slot_t c = part.cursor;
    node_state_part_free(&part);
    return c;
}

static bool import_dir_exists(nd *x)
{
    char p[256];
    snprintf(p, sizeof p, "%s/import", x->rdir);
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 24);
    start(f, &f->b);
    /* a changed record: the fingerprint differs at the finish, the import is dropped */
    xfer x;
    transfer(f, &x, false, 3, 300);
    assert_int_equal(node_import_finish(f->b.node), WEFT_E_STATE_CORRUPT);
    assert_false(import_dir_exists(&f->b));
    assert_int_equal(node_import_finish(f->b.node), WEFT_E_STATE);
    /* the right records, but a root produced by a key the imported state does not draw for its
     * slot (validly signed, over the right parents) */
    size_t k = x.nroots - 1;
    node_net_block_data d;
    assert_int_equal(node_net_get_block(f->a.node, &x.roots[k], false, &d), WEFT_OK);
    block_header_t fake = d.header;
    node_net_block_data_free(&d);
    fake.endorsement_count = 0;
    block_ops_hash(&fake.ops_hash, NULL, 0);
    keypair_t other;
    seed_key(&other, 77);
    header_sign(&fake, &other);
    block_id_t *ids = malloc(x.nroots * sizeof *ids);
    assert_non_null(ids);
    memcpy(ids, x.roots, x.nroots * sizeof *ids);
    ids[k] = fake.id;
    assert_int_equal(node_import_begin(f->b.node, x.cursor, x.fp, ids, x.root_slots, x.nroots),
                     WEFT_OK);
    node_state_ask all = {.max_bytes = 1 << 20};
    node_state_part whole;
    assert_int_equal(node_net_state_part(f->a.node, &all, &whole), WEFT_OK);
    assert_int_equal(slot_cmp(whole.cursor, x.cursor), 0); /* the same snapshot */
    assert_false(whole.more);
    assert_int_equal(node_import_records(f->b.node, whole.recs, whole.count), WEFT_OK);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(give_root(f, &x.roots[i]), WEFT_OK);
    assert_int_equal(node_import_root(f->b.node, &fake, NULL, 0), WEFT_OK);
    assert_int_equal(node_import_finish(f->b.node), WEFT_E_NODE_BLOCK);
    assert_false(import_dir_exists(&f->b));
    free(ids);
    /* going on with a value: from its byte 1; not beyond its end; not with a record that is not
     * there */
    const node_state_rec *big = NULL;
    for (size_t i = 0; i < whole.count && !big; i++)
        big = whole.recs[i].vlen > 1 ? &whole.recs[i] : NULL;
    assert_non_null(big);
    uint8_t key[512];
    memcpy(key, big->key, big->klen);
    node_state_ask go = {.has_cursor = true,
                         .cursor = whole.cursor,
                         .has_after = true,
                         .after_table = big->table,
                         .after_key = key,
                         .after_klen = big->klen,
                         .after_offset = 1,
                         .max_bytes = 1 << 20};
    node_state_part on;
    assert_int_equal(node_net_state_part(f->a.node, &go, &on), WEFT_OK);
    assert_int_equal(on.status, NODE_STATE_OK);
    assert_int_equal(on.first_offset, 1);
    assert_false(on.last_partial);
    assert_int_equal(on.recs[0].vlen, big->vlen - 1);
    assert_memory_equal(on.recs[0].val, big->val + 1, big->vlen - 1);
    assert_int_equal(on.count, whole.count - (size_t)(big - whole.recs));
    node_state_part_free(&on);
    go.after_offset = big->vlen;
    assert_int_equal(node_net_state_part(f->a.node, &go, &on), WEFT_OK);
    assert_int_equal(on.status, NODE_STATE_UNAVAILABLE);
    go.after_offset = 1;
    key[big->klen] = 0xff;
    go.after_klen = big->klen + 1;
    assert_int_equal(node_net_state_part(f->a.node, &go, &on), WEFT_OK);
    assert_int_equal(on.status, NODE_STATE_UNAVAILABLE);
    node_state_part_free(&whole);
    /* out of order, the metadata table; a block that is not a root, a root twice */
    node_state_ask ask = {.max_bytes = 1 << 20};
    node_state_part part;
    assert_int_equal(node_net_state_part(f->a.node, &ask, &part), WEFT_OK);
    assert_true(part.count > 3 && !part.more);
    assert_int_equal(node_import_begin(f->b.node, part.cursor, part.fingerprint, part.root_ids,
                                       part.root_slots, part.nroots),
                     WEFT_OK);
    assert_int_equal(node_import_records(f->b.node, &part.recs[1], 1), WEFT_OK);
    assert_int_equal(node_import_records(f->b.node, &part.recs[0], 1), WEFT_E_STATE_RECORD);
    node_state_rec meta = part.recs[2];
    meta.table = 0;
    assert_int_equal(node_import_records(f->b.node, &meta, 1), WEFT_E_STATE_RECORD);
    block_id_t not_root;
    assert_int_equal(node_blockclique_block_at(f->a.node, (slot_t){1, 0}, &not_root), WEFT_OK);
    bool is_root = false;
    for (size_t i = 0; i < part.nroots; i++)
        is_root |= block_id_eq(&part.root_ids[i], &not_root);
    assert_false(is_root);
    assert_int_equal(give_root(f, &not_root), WEFT_E_INVAL);
    assert_int_equal(give_root(f, &part.root_ids[part.nroots - 1]), WEFT_OK);
    assert_int_equal(give_root(f, &part.root_ids[part.nroots - 1]), WEFT_E_INVAL);
    assert_int_equal(node_import_finish(f->b.node), WEFT_E_STATE); /* roots missing */
    node_import_abort(f->b.node);
    assert_false(import_dir_exists(&f->b));
    node_state_part_free(&part);
    /* the snapshot table: a new transfer joins a snapshot opened within 5 s, else takes a free
     * entry, else replaces one not asked for 5 s, else is busy; an unknown cursor is gone */
    slot_t c1 = snap_ask(f, NULL, NODE_STATE_OK); /* joins the one of the transfers above */
    run_a(f, f->next.period + 6);                 /* 6 s later */
    slot_t c2 = snap_ask(f, NULL, NODE_STATE_OK); /* a second one, at a later final slot */
    if (slot_cmp(c2, c1) <= 0)
        fail_msg("c1 (%llu,%u) c2 (%llu,%u) exec (%llu,%u)", (unsigned long long)c1.period,
                 c1.thread, (unsigned long long)c2.period, c2.thread,
                 (unsigned long long)exec_cursor(&f->a).period, exec_cursor(&f->a).thread);
    assert_int_equal(slot_cmp(snap_ask(f, &c1, NODE_STATE_OK), c1), 0);
    run_a(f, f->next.period + 6);
    (void)snap_ask(f, &c1, NODE_STATE_OK); /* both asked just now: a third start is busy */
    (void)snap_ask(f, &c2, NODE_STATE_OK);
    (void)snap_ask(f, NULL, NODE_STATE_BUSY);
    run_a(f, f->next.period + 6);
    (void)snap_ask(f, &c2, NODE_STATE_OK);
    slot_t c3 = snap_ask(f, NULL, NODE_STATE_OK); /* replaces c1's, idle for 6 s */
    assert_true(slot_cmp(c3, c2) > 0);
    (void)snap_ask(f, &c1, NODE_STATE_GONE);
    (void)snap_ask(f, &c2, NODE_STATE_OK);
    xfer_free(&x);
    stop(&f->b);
    stop(&f->a);
}

/* ---- 3. a crash during the adoption ---------------------------------------------------------- */

static void test_adoption_crash(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 14);
    start(f, &f->b);
    xfer x;
    transfer(f, &x, false, -1, 24); /* most values in pieces */
    assert_true(x.pieces > 10);
    assert_int_equal(node_import_finish(f->b.node), WEFT_OK);
    stop(&f->b);
    /* the crash: the imported store moved in, the block log not restarted yet */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mv '%s/store' '%s/store.old' && mv '%s/import/store' '%s/store'",
             f->b.rdir, f->b.rdir, f->b.rdir, f->b.rdir);
    assert_int_equal(system(cmd), 0);
    start(f, &f->b);
    assert_int_equal(slot_cmp(exec_cursor(&f->b), x.cursor), 0);
    node_block_info_t bi;
    assert_int_equal(node_get_block(f->b.node, &x.roots[x.nroots - 1], &bi), WEFT_OK);
    assert_int_equal(bi.status, NODE_BLOCK_FINAL);
    node_block_info_free(&bi);
    assert_false(import_dir_exists(&f->b));
    stop(&f->b);
    /* an import that never finished is removed at start, the node as it was */
    start(f, &f->b);
    assert_int_equal(node_import_begin(f->b.node, x.cursor, x.fp, x.roots, x.root_slots, x.nroots),
                     WEFT_OK);
    stop(&f->b);
    assert_true(import_dir_exists(&f->b));
    start(f, &f->b);
    assert_false(import_dir_exists(&f->b));
    assert_int_equal(slot_cmp(exec_cursor(&f->b), x.cursor), 0);
    xfer_free(&x);
    stop(&f->b);
    stop(&f->a);
}

/* ---- 4. an import the node's own final blocks passed meanwhile ------------------------------- */

static void test_outdated_import_dropped(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 14);
    start(f, &f->b);
    xfer x;
    transfer(f, &x, false, -1, 300);
    assert_int_equal(node_import_finish(f->b.node), WEFT_OK);
    stop(&f->b);
    /* meanwhile B's chain went past the state (as blocks its peers still had would take it):
     * A's store and block log, later than the import, stand for them */
    run_a(f, 20);
    slot_t ca = exec_cursor(&f->a);
    assert_true(slot_cmp(ca, x.cursor) > 0);
    stop(&f->a);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/store' '%s/blocks' && cp -r '%s/store' '%s/blocks' '%s/'",
             f->b.rdir, f->b.rdir, f->a.rdir, f->a.rdir, f->b.rdir);
    assert_int_equal(system(cmd), 0);
    /* B starts: the import would take its final blocks back — dropped, B as it was */
    start(f, &f->b);
    assert_false(import_dir_exists(&f->b));
    assert_int_equal(slot_cmp(exec_cursor(&f->b), ca), 0);
    xfer_free(&x);
    stop(&f->b);
}

/* ---- 5. a forged state ---------------------------------------------------------------------- */

/* A server announces a state with one balance changed, and the fingerprint of that state: B
 * imports and adopts it (nothing can tell), follows A's blocks until the draws seeded with its own
 * final-state hash of the cursor's cycle (cycle C + 3, docs/consensus.md §1.1) differ from A's,
 * then refuses A's blocks (producer or endorsers not those it draws) and stops finalizing. */
static void test_forged_state_stops(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 14);
    start(f, &f->b);
    xfer x;
    transfer_as(f, &x, false, 3, true, 1 << 20);
    assert_int_equal(node_import_finish(f->b.node), WEFT_OK);
    stop(&f->b);
    start(f, &f->b);
    assert_int_equal(slot_cmp(exec_cursor(&f->b), x.cursor), 0);
    /* what a check would show: B holds the announced fingerprint at the cursor, A (honest, the
     * same final blocks) another one */
    uint8_t fa[NODE_STATE_FP_LEN], fb[NODE_STATE_FP_LEN];
    fp_at(&f->b, x.cursor, NODE_FP_KNOWN, fb);
    fp_at(&f->a, x.cursor, NODE_FP_KNOWN, fa);
    assert_memory_equal(fb, x.fp, sizeof fb);
    assert_memory_not_equal(fa, x.fp, sizeof fa);
    /* the first cycle whose hash B computes: the cursor's, or the next when the cursor is the
     * last slot of its cycle (that hash came with the records) */
    uint64_t c = cycle_of_period(&f->p, x.cursor.period);
    if (x.cursor.thread == f->p.thread_count - 1 &&
        (x.cursor.period + 1) % f->p.periods_per_cycle == 0)
        c++;
    uint64_t bad_from = (c + 3) * f->p.periods_per_cycle; /* the first period drawn otherwise */
    run_a(f, bad_from + 2 * f->p.periods_per_cycle);
    set_time(&f->b, node_now_ms(f->a.node));
    block_id_t *ids;
    slot_t *slots;
    size_t n = a_final_after(f, x.cursor, &ids, &slots);
    size_t refused_before = 0, refused_after = 0;
    for (size_t i = 0; i < n; i++) {
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->a.node, &ids[i], true, &d), WEFT_OK);
        weft_err verdict = give_block(f, &d);
        node_net_block_data_free(&d);
        if (verdict == WEFT_OK || verdict == WEFT_E_GRAPH_OLD_PERIOD)
            continue;
        if (slots[i].period < bad_from)
            fail_msg("block of (%llu, %u) refused before cycle C + 3: %s",
                     (unsigned long long)slots[i].period, slots[i].thread, weft_err_name(verdict));
        if (verdict == WEFT_E_NODE_BLOCK)
            refused_after++;
        else
            refused_before++; /* another verdict: counted to fail below */
    }
    free(ids);
    free(slots);
    assert_int_equal(refused_before, 0);
    assert_true(refused_after > 0);
    wait_idle(&f->b);
    /* B went on up to the draws that differ, not beyond them */
    slot_t cb = exec_cursor(&f->b);
    assert_true(cb.period >= bad_from - f->p.periods_per_cycle);
    assert_true(cb.period < bad_from); /* no block of cycle C + 3 taken: none of its slots final */
    assert_true(slot_cmp(cb, exec_cursor(&f->a)) < 0);
    xfer_free(&x);
    stop(&f->b);
    stop(&f->a);
}

/* ---- 6. the fingerprints of final slots ------------------------------------------------------ */

/* A keeps the fingerprint of every final slot (its last NODE_STATE_FP_KEPT): at the cursor the
 * one a transfer starting now announces, earlier ones as they were (B, following A's final blocks
 * from genesis, has the same at every slot both finalized); after the cursor ahead; a thread the
 * network does not have not kept.  Its store keeps them: after a restart every earlier slot is
 * still known, with the same fingerprint. */
static void test_fingerprints(void **state)
{
    fixture *f = *state;
    start(f, &f->a);
    run_a(f, 14);
    slot_t ca = exec_cursor(&f->a);
    node_state_ask ask = {.max_bytes = 10};
    node_state_part part;
    assert_int_equal(node_net_state_part(f->a.node, &ask, &part), WEFT_OK);
    assert_int_equal(part.status, NODE_STATE_OK);
    assert_int_equal(slot_cmp(part.cursor, ca), 0);
    uint8_t fp[NODE_STATE_FP_LEN], fb[NODE_STATE_FP_LEN];
    fp_at(&f->a, ca, NODE_FP_KNOWN, fp);
    assert_memory_equal(fp, part.fingerprint, sizeof fp);
    node_state_part_free(&part);
    /* every final slot from the first on, as the state went (the transfers change it) */
    size_t n = (size_t)(ca.period * f->p.thread_count + ca.thread + 1);
    uint8_t(*fps)[NODE_STATE_FP_LEN] = calloc(n, sizeof *fps);
    assert_non_null(fps);
    size_t i = 0, changes = 0;
    for (slot_t s = {0, 0}; i < n; i++, assert_int_equal(slot_next(&f->p, &s, s), 0)) {
        fp_at(&f->a, s, NODE_FP_KNOWN, fps[i]);
        changes += i > 0 && memcmp(fps[i], fps[i - 1], sizeof fp) != 0;
    }
    assert_true(changes >= 5);
    assert_memory_not_equal(fps[0], fps[n - 1], sizeof fp);
    /* after the cursor; a thread ≥ T; periods no slot index holds */
    slot_t next;
    assert_int_equal(slot_next(&f->p, &next, ca), WEFT_OK);
    fp_at(&f->a, next, NODE_FP_AHEAD, fp);
    fp_at(&f->a, (slot_t){ca.period + 1000, 0}, NODE_FP_AHEAD, fp);
    fp_at(&f->a, (slot_t){UINT64_MAX, 1}, NODE_FP_AHEAD, fp);
    fp_at(&f->a, (slot_t){1, (uint8_t)f->p.thread_count}, NODE_FP_NOT_KEPT, fp);
    fp_at(&f->a, (slot_t){UINT64_MAX, 255}, NODE_FP_NOT_KEPT, fp);

    /* B, the same final blocks from genesis: the same fingerprints */
    start(f, &f->b);
    set_time(&f->b, node_now_ms(f->a.node));
    block_id_t *ids;
    slot_t *slots;
    size_t nb = a_final_after(f, (slot_t){0, (uint8_t)(f->p.thread_count - 1)}, &ids, &slots);
    assert_true(nb > 5);
    for (size_t k = 0; k < nb; k++) {
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->a.node, &ids[k], true, &d), WEFT_OK);
        weft_err verdict = give_block(f, &d);
        if (verdict != WEFT_OK)
            fail_msg("block %zu of (%llu, %u): %s", k, (unsigned long long)slots[k].period,
                     slots[k].thread, weft_err_name(verdict));
        node_net_block_data_free(&d);
    }
    free(ids);
    free(slots);
    wait_idle(&f->b);
    slot_t cb = exec_cursor(&f->b);
    assert_true(slot_cmp(cb, ca) <= 0);
    assert_true(cb.period >= 5);
    i = 0;
    for (slot_t s = {0, 0}; slot_cmp(s, cb) <= 0;
         i++, assert_int_equal(slot_next(&f->p, &s, s), 0)) {
        fp_at(&f->b, s, NODE_FP_KNOWN, fb);
        assert_memory_equal(fb, fps[i], sizeof fb);
    }
    stop(&f->b);

    /* A again: the store kept every slot's fingerprint, so the restarted node still knows them
     * all (fewer than NODE_STATE_FP_KEPT); then the new ones */
    stop(&f->a);
    start(f, &f->a);
    assert_int_equal(slot_cmp(exec_cursor(&f->a), ca), 0);
    i = 0;
    for (slot_t s = {0, 0}; i < n; i++, assert_int_equal(slot_next(&f->p, &s, s), 0)) {
        fp_at(&f->a, s, NODE_FP_KNOWN, fp);
        assert_memory_equal(fp, fps[i], sizeof fp);
    }
    run_a(f, f->next.period + 4);
    slot_t ca2 = exec_cursor(&f->a);
    assert_true(slot_cmp(ca2, ca) > 0);
    for (slot_t s = {0, 0}; slot_cmp(s, ca2) <= 0; assert_int_equal(slot_next(&f->p, &s, s), 0))
        fp_at(&f->a, s, NODE_FP_KNOWN, fp);
    free(fps);
    stop(&f->a);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_adopt_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adoption_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outdated_import_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_state_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
