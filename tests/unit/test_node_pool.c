/* Unit tests of the pool's view of the blockclique (docs/node.md "Operations of orphaned blocks"):
 * a real one-node node (every actor, LMDB store, block log, journal) in a temporary repository,
 * driven by a fake clock, with execution held back through node_options.exec_gate — a node whose
 * execution lags behind consensus.
 *
 * The tests run in order over one node (cmocka group state):
 *   1. the node's factory produces every block; operations are sent, then execution is held for
 *      three periods: every operation is in exactly one of the blocks produced meanwhile (before,
 *      the pool learnt of an inclusion only from execution, and the thread's next block carried
 *      the same operations again); one of them, announced again by a peer once executed, is not
 *      admitted;
 *   2. the test becomes the producer: with execution held, an operation's block A leaves the
 *      blockclique (A' in the same slot, B on A'); once execution goes on, the operation is back
 *      in the pool and announced again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/node.h"
#include "repo/repo.h"
#include "testutil.h"

#define GENESIS_MS UINT64_C(1700000000000)
#define NACC 8
#define WAIT_S 60 /* a generous bound for the actors to react: a hang fails, nothing is timed */
#define OPS_PER_THREAD 5

typedef struct rec_block {
    block_id_t id;
    slot_t slot;
} rec_block;

typedef struct fixture {
    char dir[64];
    repo_t *repo;
    actor_fake_clock_t *clock;
    node_t *node;
    model_params p;
    keypair_t staker;
    keypair_t acc[NACC];
    address_t acc_addr[NACC];
    node_net_events sink;
    /* recorded events (actor threads write, the test reads) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_block *pending;
    size_t n_pending;
    op_id_t *ops;
    size_t n_ops;
    /* the gate that holds execution back */
    pthread_mutex_t gmu;
    pthread_cond_t gcv;
    bool held;
    slot_t next; /* the next slot to produce */
} fixture;

static void *grow(void *p, size_t n, size_t sz)
{
    void *q = realloc(p, (n + 1) * sz);
    if (!q)
        abort();
    return q;
}

static void ev_pending(void *ctx, const block_header_t *h)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->pending = grow(f->pending, f->n_pending, sizeof *f->pending);
    f->pending[f->n_pending++] = (rec_block){h->id, h->slot};
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void ev_invalid(void *ctx, const block_id_t *id, weft_err reason)
{
    (void)ctx;
    (void)id;
    (void)reason;
}

static void ev_missing(void *ctx, const block_id_t *ids, size_t n)
{
    (void)ctx;
    (void)ids;
    (void)n;
}

static void ev_ops(void *ctx, const op_id_t *ids, size_t n)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++) {
        f->ops = grow(f->ops, f->n_ops, sizeof *f->ops);
        f->ops[f->n_ops++] = ids[i];
    }
    pthread_mutex_unlock(&f->mu);
}

static void ev_endos(void *ctx, const endorsement_t *e, size_t n)
{
    (void)ctx;
    (void)e;
    (void)n;
}

/* node_options.exec_gate: execution waits here while the test holds it */
static void gate(void *ctx)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->gmu);
    while (f->held)
        pthread_cond_wait(&f->gcv, &f->gmu);
    pthread_mutex_unlock(&f->gmu);
}

static void hold(fixture *f, bool on)
{
    pthread_mutex_lock(&f->gmu);
    f->held = on;
    pthread_cond_broadcast(&f->gcv);
    pthread_mutex_unlock(&f->gmu);
}

static void seed_key(keypair_t *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    keypair_from_seed(kp, seed);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-node-pool-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_mutex_init(&f->gmu, NULL);
    pthread_cond_init(&f->gcv, NULL);
    model_params p;
    model_params_default(&p);
    p.thread_count = 2;
    p.t0_ms = 1000;
    p.endorsement_count = 4;
    p.delta_f0 = 8;
    p.max_operations_per_block = 20;
    p.chain_id = 992;
    p.genesis_timestamp_ms = GENESIS_MS;
    seed_key(&f->staker, 1);
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
    pos_stake_t roll;
    address_of_pubkey(&roll.addr, &f->staker.pk);
    roll.rolls = 100;
    g.rolls = &roll;
    g.roll_count = 1;
    char gpath[128], rdir[128], err[256];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", f->dir);
    snprintf(rdir, sizeof rdir, "%s/repo", f->dir);
    if (repo_genesis_write(&g, gpath) != WEFT_OK)
        return -1;
    repo_config_t cfg;
    repo_config_default(&cfg);
    cfg.store_no_sync = true;
    repo_init_options io = {
        .genesis_path = gpath, .staking = &f->staker, .staking_count = 1, .config = &cfg};
    if (repo_init(rdir, &io, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "repo_init: %s\n", err);
        return -1;
    }
    if (repo_open(&f->repo, rdir, NULL, 0, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "repo_open: %s\n", err);
        return -1;
    }
    if (actor_fake_clock_new(&f->clock, GENESIS_MS - 100) != WEFT_OK)
        return -1;
    f->sink = (node_net_events){f, ev_pending, ev_invalid, ev_missing, ev_ops, ev_endos};
    node_options o = {.clock = actor_fake_clock_base(f->clock),
                      .net = &f->sink,
                      .exec_gate = gate,
                      .exec_gate_ctx = f};
    if (node_start(&f->node, f->repo, &o, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "node_start: %s\n", err);
        return -1;
    }
    f->p = *node_params(f->node);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hold(f, false);
    node_stop(f->node);
    repo_close(f->repo);
    actor_fake_clock_free(f->clock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f->pending);
    free(f->ops);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->gmu);
    pthread_cond_destroy(&f->gcv);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* Moves the clock to slot s and delivers its timers (the actors are not waited for: execution may
 * be held). */
static void clock_to(fixture *f, slot_t s)
{
    uint64_t t;
    assert_int_equal(slot_time(&f->p, &t, s), WEFT_OK);
    uint64_t now = node_now_ms(f->node);
    if (t > now)
        actor_fake_clock_advance(f->clock, t - now);
    actor_timer_sync(node_actor_system(f->node));
}

/* Waits (bounded in real time, as a hang detector) until every actor is idle. */
static void settle(fixture *f)
{
    actor_system_t *sys = node_actor_system(f->node);
    for (int i = 0; i < WAIT_S * 1000 && !actor_system_idle(sys); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(actor_system_idle(sys));
}

/* The index of the pending event for slot s (or for block id when id is not NULL), waited for
 * (bounded in real time, as a hang detector). */
static size_t wait_pending(fixture *f, slot_t s, const block_id_t *id)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_S;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        for (size_t i = 0; i < f->n_pending; i++)
            if (id ? block_id_eq(&f->pending[i].id, id) : slot_cmp(f->pending[i].slot, s) == 0) {
                pthread_mutex_unlock(&f->mu);
                return i;
            }
        if (pthread_cond_timedwait(&f->cv, &f->mu, &dl) != 0)
            break;
    }
    pthread_mutex_unlock(&f->mu);
    fail_msg("no block reported pending for slot (%llu, %u)", (unsigned long long)s.period,
             s.thread);
    return 0;
}

/* Returns once the factory has handled what it was given (its slot tick included, which arms the
 * next slot's timer): a request queued behind them.  Execution may be held: settle cannot. */
static void factory_done(fixture *f)
{
    address_t *a;
    size_t n;
    assert_int_equal(node_staking_list(f->node, &a, &n), WEFT_OK);
    free(a);
}

static int acc_of_thread(fixture *f, uint32_t thread, int skip)
{
    for (int i = 0; i < NACC; i++)
        if (address_thread(&f->acc_addr[i], f->p.thread_count) == thread && skip-- == 0)
            return i;
    fail_msg("no account in thread %u", thread);
    return -1;
}

static signed_op_t *make_op(fixture *f, int from, uint64_t expire, uint64_t amount)
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
    signed_op_t *out = malloc(sizeof *out);
    assert_non_null(out);
    assert_int_equal(signed_op_from_parts(out, f->p.chain_id, &kp->pk, &sig, c.buf, c.len),
                     WEFT_OK);
    wr_free(&c);
    return out;
}

static size_t count_op_events(fixture *f, const op_id_t *id)
{
    size_t k = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_ops; i++)
        k += hash32_cmp(&f->ops[i].h, &id->h) == 0;
    pthread_mutex_unlock(&f->mu);
    return k;
}

static bool op_in_pool(fixture *f, const op_id_t *id)
{
    node_op_info_t oi;
    assert_int_equal(node_get_operation(f->node, id, &oi), WEFT_OK);
    bool in = oi.in_pool;
    node_op_info_free(&oi);
    return in;
}

/* ---- 1. no operation twice while execution lags ---------------------------------------------- */

static void test_held_no_duplicates(void **state)
{
    fixture *f = *state;
    /* a few slots with execution running: blocks on both threads */
    slot_t s = {1, 0};
    for (int i = 0; i < 4; i++) {
        clock_to(f, s);
        wait_pending(f, s, NULL);
        settle(f);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    }
    /* operations for both threads, then execution is held */
    uint64_t expire = s.period + 8;
    signed_op_t *ops[2 * OPS_PER_THREAD];
    op_id_t ids[2 * OPS_PER_THREAD];
    weft_err res[2 * OPS_PER_THREAD];
    for (uint32_t t = 0; t < 2; t++)
        for (int k = 0; k < OPS_PER_THREAD; k++) {
            int i = (int)t * OPS_PER_THREAD + k;
            ops[i] = make_op(f, acc_of_thread(f, t, 0), expire, 1000 + (uint64_t)i);
            ids[i] = ops[i]->id;
        }
    assert_int_equal(node_send_operations(f->node, ops, 2 * OPS_PER_THREAD, res), WEFT_OK);
    for (int i = 0; i < 2 * OPS_PER_THREAD; i++)
        assert_int_equal(res[i], WEFT_OK);
    settle(f);
    hold(f, true);
    /* three periods of blocks while execution executes nothing */
    rec_block made[6];
    for (int i = 0; i < 6; i++) {
        clock_to(f, s);
        size_t at = wait_pending(f, s, NULL);
        factory_done(f);
        pthread_mutex_lock(&f->mu);
        made[i] = f->pending[at];
        pthread_mutex_unlock(&f->mu);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    }
    /* every operation in exactly one block; no two blocks of a thread share one */
    int seen[2 * OPS_PER_THREAD] = {0};
    uint32_t with_ops = 0;
    for (int i = 0; i < 6; i++) {
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->node, &made[i].id, false, &d), WEFT_OK);
        with_ops += d.op_count > 0;
        for (uint32_t k = 0; k < d.op_count; k++)
            for (int j = 0; j < 2 * OPS_PER_THREAD; j++)
                if (hash32_cmp(&d.op_ids[k].h, &ids[j].h) == 0) {
                    seen[j]++;
                    assert_int_equal(made[i].slot.thread, (uint32_t)(j / OPS_PER_THREAD));
                }
        node_net_block_data_free(&d);
    }
    for (int j = 0; j < 2 * OPS_PER_THREAD; j++)
        assert_int_equal(seen[j], 1);
    assert_int_equal(with_ops, 2); /* the first block of each thread took its thread's five */
    /* execution goes on: the operations are executed, none is in the pool */
    hold(f, false);
    settle(f);
    for (int j = 0; j < 2 * OPS_PER_THREAD; j++) {
        node_op_info_t oi;
        assert_int_equal(node_get_operation(f->node, &ids[j], &oi), WEFT_OK);
        assert_false(oi.in_pool);
        assert_true(oi.spec_executed || oi.final_executed);
        node_op_info_free(&oi);
    }
    /* slots pass until the first operation's block is final and executed (out of the blocks
     * consensus reports to the pool) */
    bool fin = false;
    for (int i = 0; i < 60 && !fin; i++) {
        clock_to(f, s);
        wait_pending(f, s, NULL);
        settle(f);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
        node_op_info_t oi;
        assert_int_equal(node_get_operation(f->node, &ids[0], &oi), WEFT_OK);
        fin = oi.final_executed;
        node_op_info_free(&oi);
    }
    assert_true(fin);
    /* a peer announces it again: executed already, it is not admitted */
    signed_op_t *again = make_op(f, acc_of_thread(f, 0, 0), expire, 1000);
    op_id_t again_id = again->id;
    assert_memory_equal(&again_id, &ids[0], sizeof again_id);
    weft_err r;
    assert_int_equal(node_net_ops(f->node, &again, 1, &r), WEFT_OK);
    assert_int_equal(r, WEFT_OK);
    settle(f);
    assert_false(op_in_pool(f, &again_id));
    assert_int_equal(count_op_events(f, &again_id), 1);
    f->next = s;
}

/* ---- 2. the operation of a block that leaves the blockclique comes back ---------------------- */

static void make_header(fixture *f, block_header_t *h, slot_t s, const signed_op_t *ops, uint32_t n)
{
    node_net_status st;
    assert_int_equal(node_net_get_status(f->node, &st), WEFT_OK);
    memset(h, 0, sizeof *h);
    h->version = HEADER_VERSION;
    h->slot = s;
    h->parent_count = f->p.thread_count;
    memcpy(h->parents, st.heads, f->p.thread_count * sizeof(block_id_t));
    op_id_t ids[4];
    assert_true(n <= 4);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = ops[i].id;
    block_ops_hash(&h->ops_hash, ids, n);
    header_sign(h, &f->staker);
}

/* Gives the node a block (ops copied) and waits until it is reported pending. */
static void submit(fixture *f, const block_header_t *h, const signed_op_t *ops, uint32_t n)
{
    signed_op_t *v = calloc(n ? n : 1, sizeof *v);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(signed_op_from_parts(&v[i], f->p.chain_id, &ops[i].creator, &ops[i].sig,
                                              ops[i].content, ops[i].content_len),
                         WEFT_OK);
    weft_err verdict = WEFT_OK;
    assert_int_equal(node_net_block(f->node, h, v, n, &verdict), WEFT_OK);
    wait_pending(f, h->slot, &h->id);
}

static void test_held_orphan_back(void **state)
{
    fixture *f = *state;
    address_t sa;
    address_of_pubkey(&sa, &f->staker.pk);
    assert_int_equal(node_staking_remove(f->node, &sa, 1), WEFT_OK);
    slot_t s = f->next, s1;
    assert_int_equal(slot_next(&f->p, &s1, s), WEFT_OK);
    clock_to(f, s);
    settle(f);
    signed_op_t *op = make_op(f, acc_of_thread(f, s.thread, 1), s.period + 8, 4242);
    op_id_t id = op->id;
    signed_op_t copy;
    assert_int_equal(signed_op_from_parts(&copy, f->p.chain_id, &op->creator, &op->sig, op->content,
                                          op->content_len),
                     WEFT_OK);
    weft_err r;
    assert_int_equal(node_send_operations(f->node, &op, 1, &r), WEFT_OK);
    assert_int_equal(r, WEFT_OK);
    assert_true(op_in_pool(f, &id));
    assert_int_equal(count_op_events(f, &id), 1);
    hold(f, true);
    /* A holds it; A' (same slot, without it) and B on A' take the blockclique from A */
    block_header_t *a = malloc(sizeof *a), *a2 = malloc(sizeof *a2), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(a2);
    assert_non_null(b);
    make_header(f, a, s, &copy, 1);
    submit(f, a, &copy, 1);
    *a2 = *a;
    block_ops_hash(&a2->ops_hash, NULL, 0);
    header_sign(a2, &f->staker);
    submit(f, a2, NULL, 0);
    clock_to(f, s1);
    make_header(f, b, s1, NULL, 0);
    b->parents[s.thread] = a2->id;
    header_sign(b, &f->staker);
    submit(f, b, NULL, 0);
    node_clique_t *cl;
    size_t ncl;
    assert_int_equal(node_get_cliques(f->node, &cl, &ncl), WEFT_OK);
    bool a_in_bc = false, a2_in_bc = false;
    for (size_t i = 0; i < cl[0].count; i++) {
        a_in_bc |= block_id_eq(&cl[0].ids[i], &a->id);
        a2_in_bc |= block_id_eq(&cl[0].ids[i], &a2->id);
    }
    node_cliques_free(cl, ncl);
    assert_false(a_in_bc);
    assert_true(a2_in_bc);
    /* execution goes on; at the pool's next tick the operation is back, and announced again */
    hold(f, false);
    settle(f);
    actor_fake_clock_advance(f->clock, f->p.t0_ms);
    bool back = false;
    for (int i = 0; i < WAIT_S * 100 && !back; i++) {
        back = op_in_pool(f, &id) && count_op_events(f, &id) == 2;
        if (!back) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(back);
    signed_op_free(&copy);
    free(a);
    free(a2);
    free(b);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_no_duplicates),
        cmocka_unit_test(test_held_orphan_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
