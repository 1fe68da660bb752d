/* Unit tests of a node catching up (issue 6: sync speed and the sync crash), each on a real
 * one-node node (every actor, LMDB store, block log, journal) in a temporary repository on a fake
 * clock, its factory producing a block with endorsements in every slot:
 *   1. the verified-signature cache (src/node/sigcache.h): hits need the same id and signature;
 *      sized for the pool; sets of NSIGCACHE_WAYS entries, the oldest evicted;
 *      the verification workers (src/node/npar.h): every item runs once, a failure is reported,
 *      concurrent callers each get their own answer;
 *   2. an operation admitted by the pool, then given inside a block with another signature, is
 *      verified again and refused (the cache never skips a check for a pair it did not verify);
 *      with its own signature it is found in the cache (the node's status counts both);
 *   3. a restart with execution far behind the block log's final blocks (its store from an older
 *      copy, as after a crash while execution lagged): the graph is rebuilt, the same-thread
 *      parents of the blocks execution still has to run are found (they were older than the
 *      reloaded window: E_STATE, five restarts, the node stopped), and execution catches up;
 *   4. after a stop request execution finalizes no more slots, so that stopping does not wait
 *      for it to catch up. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/node.h"
#include "node/npar.h"
#include "node/sigcache.h"
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
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-node-sync-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    model_params p;
    model_params_default(&p);
    p.thread_count = 2;
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

static uint64_t min_final(const node_status_t *st)
{
    return st->final_periods[0] < st->final_periods[1] ? st->final_periods[0]
                                                       : st->final_periods[1];
}

/* Waits (bounded in real time, as a hang detector) until execution finalized every slot of
 * period `period`. */
static void wait_exec_final(fixture *f, uint64_t period)
{
    node_status_t st;
    for (int i = 0; i < WAIT_S * 100; i++) {
        assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
        if (st.has_final_cursor && st.final_cursor.period >= period &&
            (st.final_cursor.period > period || st.final_cursor.thread == 1))
            return;
        test_sleep_ms(10);
    }
    fail_msg("execution's final cursor stays at (%llu, %u), below period %llu",
             (unsigned long long)st.final_cursor.period, st.final_cursor.thread,
             (unsigned long long)period);
}

static void copy_dir(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

/* The factory's blocks carry endorsements (the scenario below needs them: execution asks for the
 * endorsed block's creator). */
static void assert_endorsed_blocks(fixture *f, slot_t s)
{
    block_id_t id;
    assert_int_equal(node_blockclique_block_at(f->node, s, &id), WEFT_OK);
    node_block_info_t bi;
    assert_int_equal(node_get_block(f->node, &id, &bi), WEFT_OK);
    assert_true(bi.header.endorsement_count > 0);
    node_block_info_free(&bi);
}

static void make_op(fixture *f, signed_op_t *out, int from, uint64_t expire, uint64_t amount)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(1000);
    op.expire_period = expire;
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
    assert_int_equal(signed_op_from_parts(out, f->p.chain_id, &kp->pk, &sig, c.buf, c.len),
                     WEFT_OK);
    wr_free(&c);
}

/* ---- 1. the cache ---------------------------------------------------------------------------- */

static void test_sigcache(void **state)
{
    fixture *f = *state;
    f->p.chain_id = 992;
    nsigcache *c;
    assert_int_equal(nsigcache_new(&c, 7), WEFT_E_INVAL);
    assert_int_equal(nsigcache_new(&c, 8), WEFT_OK);
    signed_op_t op, bad;
    make_op(f, &op, 0, 10, 1);
    uint64_t hits, verified;
    assert_int_equal(nsigcache_verify(c, &op), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == 0 && verified == 1);
    assert_int_equal(nsigcache_verify(c, &op), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == 1 && verified == 1);
    /* the same id with another signature: verified, refused, and never recorded */
    assert_int_equal(
        signed_op_from_parts(&bad, f->p.chain_id, &op.creator, &op.sig, op.content, op.content_len),
        WEFT_OK);
    bad.sig.b[7] ^= 0x40;
    for (int k = 0; k < 2; k++)
        assert_int_equal(nsigcache_verify(c, &bad), WEFT_E_SIGNATURE);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == 1 && verified == 3);
    assert_int_equal(nsigcache_verify(c, &op), WEFT_OK);
    /* bounded: many operations later, every one still verifies correctly */
    for (int i = 0; i < 600; i++) {
        signed_op_t x;
        make_op(f, &x, i % NACC, 10, 100 + (uint64_t)i);
        assert_int_equal(nsigcache_verify(c, &x), WEFT_OK);
        x.sig.b[0] ^= 1;
        assert_int_equal(nsigcache_verify(c, &x), WEFT_E_SIGNATURE);
        signed_op_free(&x);
    }
    assert_int_equal(nsigcache_verify(NULL, &op), WEFT_OK);
    assert_int_equal(nsigcache_verify(NULL, &bad), WEFT_E_SIGNATURE);
    signed_op_free(&op);
    signed_op_free(&bad);
    nsigcache_free(c);

    /* sized for a pool: a power of two at least the operations, within the bounds */
    assert_int_equal(nsigcache_bits_for(0), NSIGCACHE_MIN_BITS);
    assert_int_equal(nsigcache_bits_for(UINT64_C(1) << 16), 16);
    assert_int_equal(nsigcache_bits_for((UINT64_C(1) << 16) + 1), 17);
    assert_int_equal(nsigcache_bits_for(8192 * 32), 18); /* the default pool */
    assert_int_equal(nsigcache_bits_for(UINT64_MAX), NSIGCACHE_MAX_BITS);
}

/* Sets of NSIGCACHE_WAYS entries, the set chosen by the id's first 8 bytes (big-endian) modulo
 * the sets: WAYS + 1 operations of one set are all remembered but the first, evicted by the
 * last; each new one then evicts the oldest in turn. */
static void test_sigcache_sets(void **state)
{
    fixture *f = *state;
    f->p.chain_id = 993;
    nsigcache *c;
    assert_int_equal(nsigcache_new(&c, 8), WEFT_OK);
    const size_t sets = 256 / NSIGCACHE_WAYS;
    enum { N = NSIGCACHE_WAYS + 1, TRIES = 4000 };
    signed_op_t same[N];
    size_t have = 0, want = SIZE_MAX;
    for (uint64_t i = 0; i < TRIES && have < N; i++) {
        signed_op_t x;
        make_op(f, &x, (int)(i % NACC), 10, 1000 + i);
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | x.id.h.b[k];
        if (want == SIZE_MAX)
            want = (size_t)(v % sets);
        if ((size_t)(v % sets) == want)
            same[have++] = x;
        else
            signed_op_free(&x);
    }
    assert_int_equal(have, N);
    uint64_t hits, verified;
    for (size_t k = 0; k < N; k++)
        assert_int_equal(nsigcache_verify(c, &same[k]), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == 0 && verified == N);
    for (size_t k = 1; k < N; k++) /* the newest WAYS: lookups */
        assert_int_equal(nsigcache_verify(c, &same[k]), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == N - 1 && verified == N);
    assert_int_equal(nsigcache_verify(c, &same[0]), WEFT_OK); /* evicted: verified again */
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == N - 1 && verified == N + 1);
    /* same[0] took the place of the oldest then, same[1]: verified again */
    assert_int_equal(nsigcache_verify(c, &same[1]), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == N - 1 && verified == N + 2);
    for (size_t k = 3; k < N; k++) /* same[1] took same[2]'s place; the others are there */
        assert_int_equal(nsigcache_verify(c, &same[k]), WEFT_OK);
    assert_int_equal(nsigcache_verify(c, &same[0]), WEFT_OK);
    nsigcache_stats(c, &hits, &verified);
    assert_true(hits == N - 1 + N - 2 && verified == N + 2);
    for (size_t k = 0; k < N; k++)
        signed_op_free(&same[k]);
    nsigcache_free(c);
}

typedef struct items {
    atomic_uint *count; /* per item: how many times it ran */
    size_t bad;         /* the item that fails (or past the end) */
} items;

static bool item_fn(void *ctx, size_t i)
{
    items *it = ctx;
    atomic_fetch_add(&it->count[i], 1);
    return i != it->bad;
}

typedef struct caller {
    npar *p;
    int ok, wrong;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    for (int r = 0; r < 300; r++) {
        atomic_uint cnt[40];
        for (int i = 0; i < 40; i++)
            atomic_init(&cnt[i], 0);
        items it = {cnt, r % 3 == 0 ? (size_t)(r % 40) : 1000};
        bool all = npar_all(c->p, 40, item_fn, &it);
        bool once = true;
        for (int i = 0; i < 40; i++)
            once &= atomic_load(&cnt[i]) <= 1 && (it.bad < 40 || atomic_load(&cnt[i]) == 1);
        if (all == (it.bad >= 40) && once)
            c->ok++;
        else
            c->wrong++;
    }
    return NULL;
}

static void test_npar(void **state)
{
    (void)state;
    npar *p;
    assert_int_equal(npar_new(&p, NPAR_MAX_WORKERS + 1), WEFT_E_INVAL);
    for (unsigned w = 0; w <= 3; w++) {
        assert_int_equal(npar_new(&p, w), WEFT_OK);
        atomic_uint cnt[100];
        for (int i = 0; i < 100; i++)
            atomic_init(&cnt[i], 0);
        items it = {cnt, 1000};
        assert_true(npar_all(p, 100, item_fn, &it));
        for (int i = 0; i < 100; i++)
            assert_int_equal(atomic_load(&cnt[i]), 1);
        it.bad = 57;
        assert_false(npar_all(p, 100, item_fn, &it));
        assert_true(npar_all(p, 0, item_fn, &it));
        /* several callers at once: each its own job (or its own items, the pool being busy) */
        caller c[3] = {{p, 0, 0}, {p, 0, 0}, {p, 0, 0}};
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            assert_int_equal(pthread_create(&th[i], NULL, caller_main, &c[i]), 0);
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(c[i].wrong, 0);
            assert_int_equal(c[i].ok, 300);
        }
        npar_free(p);
    }
    atomic_uint one[2] = {0, 0};
    items it = {one, 5};
    assert_true(npar_all(NULL, 2, item_fn, &it));
    npar_free(NULL);
}

/* ---- 2. a block's operation with another signature than the admitted one -------------------- */

static void test_block_op_other_signature(void **state)
{
    fixture *f = *state;
    start_node(f);
    run_to(f, 3);
    /* the test becomes the producer */
    address_t sa;
    address_of_pubkey(&sa, &f->staker.pk);
    assert_int_equal(node_staking_remove(f->node, &sa, 1), WEFT_OK);
    slot_t s = f->next;
    uint64_t t;
    assert_int_equal(slot_time(&f->p, &t, s), WEFT_OK);
    actor_fake_clock_advance(f->clock, t - node_now_ms(f->node));
    test_node_wait_idle(f->node);
    int from = -1;
    for (int i = 0; i < NACC && from < 0; i++)
        if (address_thread(&f->acc_addr[i], f->p.thread_count) == s.thread)
            from = i;
    assert_true(from >= 0);
    /* admitted by the pool: its signature verified */
    signed_op_t *op = malloc(sizeof *op), good, bad;
    assert_non_null(op);
    make_op(f, op, from, s.period + 3, 4242);
    assert_int_equal(signed_op_from_parts(&good, f->p.chain_id, &op->creator, &op->sig, op->content,
                                          op->content_len),
                     WEFT_OK);
    weft_err r;
    node_status_t st0, st;
    assert_int_equal(node_get_status(f->node, &st0), WEFT_OK);
    assert_int_equal(node_send_operations(f->node, &op, 1, &r), WEFT_OK);
    assert_int_equal(r, WEFT_OK);
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    assert_int_equal(st.op_sigs_verified, st0.op_sigs_verified + 1);
    assert_int_equal(st.op_sig_cache_hits, st0.op_sig_cache_hits);
    /* a block carrying it with a broken signature: same id, refused */
    node_net_status ns;
    assert_int_equal(node_net_get_status(f->node, &ns), WEFT_OK);
    block_header_t *h = malloc(sizeof *h);
    assert_non_null(h);
    memset(h, 0, sizeof *h);
    h->version = HEADER_VERSION;
    h->slot = s;
    h->parent_count = f->p.thread_count;
    memcpy(h->parents, ns.heads, f->p.thread_count * sizeof(block_id_t));
    block_ops_hash(&h->ops_hash, &good.id, 1);
    header_sign(h, &f->staker);
    signed_op_t *ops = calloc(1, sizeof *ops);
    assert_non_null(ops);
    assert_int_equal(signed_op_from_parts(ops, f->p.chain_id, &good.creator, &good.sig,
                                          good.content, good.content_len),
                     WEFT_OK);
    ops[0].sig.b[3] ^= 0x10;
    weft_err v = WEFT_OK;
    assert_int_equal(node_net_block(f->node, h, ops, 1, &v), WEFT_OK);
    assert_int_equal(v, WEFT_E_SIGNATURE);
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK); /* verified, not looked up */
    assert_int_equal(st.op_sigs_verified, st0.op_sigs_verified + 2);
    assert_int_equal(st.op_sig_cache_hits, st0.op_sig_cache_hits);
    /* the same block with the admitted signature: taken */
    ops = calloc(1, sizeof *ops);
    assert_non_null(ops);
    assert_int_equal(signed_op_from_parts(ops, f->p.chain_id, &good.creator, &good.sig,
                                          good.content, good.content_len),
                     WEFT_OK);
    (void)bad;
    assert_int_equal(node_net_block(f->node, h, ops, 1, &v), WEFT_OK);
    assert_int_equal(v, WEFT_OK);
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK); /* found in the cache */
    assert_int_equal(st.op_sigs_verified, st0.op_sigs_verified + 2);
    assert_int_equal(st.op_sig_cache_hits, st0.op_sig_cache_hits + 1);
    node_block_info_t bi;
    assert_int_equal(node_get_block(f->node, &h->id, &bi), WEFT_OK);
    assert_int_equal(bi.op_count, 1);
    node_block_info_free(&bi);
    signed_op_free(&good);
    free(h);
    stop_node(f);
}

/* ---- 3. a restart with execution far behind the final blocks --------------------------------- */

static void test_restart_exec_behind(void **state)
{
    fixture *f = *state;
    start_node(f);
    run_to(f, 4);
    wait_exec_final(f, 0);
    node_status_t st;
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    slot_t old_cursor = st.final_cursor;
    stop_node(f);
    char store[160], snap[160];
    snprintf(store, sizeof store, "%s/store", f->rdir);
    snprintf(snap, sizeof snap, "%s/store.old", f->dir);
    copy_dir(store, snap);

    /* many periods later: the final blocks are far ahead of the old copy's cursor */
    start_node(f);
    run_to(f, 40);
    assert_endorsed_blocks(f, (slot_t){20, 0});
    assert_endorsed_blocks(f, (slot_t){20, 1});
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    uint64_t fin = min_final(&st);
    assert_true(fin > old_cursor.period + 16 + 4);
    wait_exec_final(f, fin);
    stop_node(f);

    /* execution's store back to the old copy, as after a crash while execution lagged */
    copy_dir(snap, store);
    start_node(f);
    wait_exec_final(f, fin);
    /* and the node goes on */
    run_to(f, 44);
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    assert_true(min_final(&st) > fin);
    wait_exec_final(f, min_final(&st));
    stop_node(f);
}

/* ---- 4. a stop request ----------------------------------------------------------------------- */

static void test_stop_request(void **state)
{
    fixture *f = *state;
    start_node(f);
    run_to(f, f->next.period + 4);
    node_status_t st;
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    wait_exec_final(f, min_final(&st));
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    slot_t cursor = st.final_cursor;
    uint64_t fin = min_final(&st);
    /* from the request on, consensus goes on and execution finalizes nothing more */
    node_request_stop(f->node);
    run_to(f, f->next.period + 10);
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    assert_true(min_final(&st) >= fin + 6);
    assert_true(st.has_final_cursor);
    assert_int_equal(slot_cmp(st.final_cursor, cursor), 0);
    stop_node(f);
    /* after a restart execution catches up */
    start_node(f);
    wait_exec_final(f, fin + 6);
    stop_node(f);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigcache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigcache_sets, setup, teardown),
        cmocka_unit_test(test_npar),
        cmocka_unit_test_setup_teardown(test_block_op_other_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_exec_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
