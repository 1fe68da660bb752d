/* Unit tests of the node's network interface (node.h "network"): a real one-node node (every
 * actor, LMDB store, block log, journal) in a temporary repository, driven by a fake clock so that
 * slots pass only when the test advances time.
 *
 * The tests run in order over one node (cmocka group state):
 *   1. the factory produces blocks: block_pending fires for each, in slot order; the blocks are
 *      served with their operations (node_net_get_block, node_net_get_ops, node_net_has_block);
 *      ops_admitted fires for node_send_operations; finality comes (small Δf0, two threads);
 *   2. the test removes the node's staking key and becomes the producer itself: its blocks go
 *      through node_net_block (taken, block_pending, after the call: consensus takes them without
 *      the caller waiting); every kind of bad block gets its verdict, the draws (producer,
 *      endorsers, cycle not drawn yet) on the caller's thread; a block with an unknown parent is
 *      taken and blocks_missing names the parent; a block the graph finds invalid or old is
 *      accepted by node_net_block and fires block_invalid or nothing;
 *   3. endorsements from peers; node_net_get_status; node_net_final_range;
 *   4. the same through netd's chain callbacks (netd_node_chain_vt), as the protocol core sees
 *      them, the final state in parts (a value cut, then its rest) and the fingerprint of a final
 *      slot (a check);
 *   5. a block that arrives before its parent, then becomes final: the node restarts from its
 *      block log (the block's record had the parent's period unknown);
 *   6. an operation whose block leaves the blockclique comes back to the pool (and is announced
 *      again);
 *   7. with its staking key back and time three cycles ahead of finality, the factory counts the
 *      slots whose draws it does not know (slots_undrawn) and produces nothing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "netd/netd.h"
#include "node/node.h"
#include "repo/repo.h"
#include "testutil.h"

#define GENESIS_MS UINT64_C(1700000000000)
#define NACC 8
#define WAIT_S 60 /* a generous bound for the actors to react: a hang fails, nothing is timed */

/* ---- recorded events ------------------------------------------------------------------------- */

typedef struct rec_block {
    block_id_t id;
    slot_t slot;
} rec_block;

typedef struct events {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_block *pending;
    size_t n_pending;
    block_id_t *invalid;
    weft_err *invalid_reason;
    size_t n_invalid;
    block_id_t *missing;
    size_t n_missing;
    op_id_t *ops;
    size_t n_ops;
    endorsement_id_t *endos;
    size_t n_endos;
} events;

static void *grow(void *p, size_t n, size_t sz)
{
    void *q = realloc(p, (n + 1) * sz);
    if (!q)
        abort();
    return q;
}

static void ev_pending(void *ctx, const block_header_t *h)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->pending = grow(e->pending, e->n_pending, sizeof *e->pending);
    e->pending[e->n_pending++] = (rec_block){h->id, h->slot};
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void ev_invalid(void *ctx, const block_id_t *id, weft_err reason)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->invalid = grow(e->invalid, e->n_invalid, sizeof *e->invalid);
    e->invalid_reason = grow(e->invalid_reason, e->n_invalid, sizeof *e->invalid_reason);
    e->invalid_reason[e->n_invalid] = reason;
    e->invalid[e->n_invalid++] = *id;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void ev_missing(void *ctx, const block_id_t *ids, size_t n)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        e->missing = grow(e->missing, e->n_missing, sizeof *e->missing);
        e->missing[e->n_missing++] = ids[i];
    }
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void ev_ops(void *ctx, const op_id_t *ids, size_t n)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        e->ops = grow(e->ops, e->n_ops, sizeof *e->ops);
        e->ops[e->n_ops++] = ids[i];
    }
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void ev_endos(void *ctx, const endorsement_t *en, size_t n)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        e->endos = grow(e->endos, e->n_endos, sizeof *e->endos);
        e->endos[e->n_endos++] = en[i].id;
    }
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* ---- the fixture ----------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    repo_t *repo;
    actor_fake_clock_t *clock;
    node_t *node;
    model_params p;
    keypair_t staker, other;
    keypair_t acc[NACC];
    address_t acc_addr[NACC];
    events ev;
    node_net_events sink;
    /* phase 1 results */
    op_id_t sent_op;
    block_id_t op_block; /* the factory's block that includes sent_op */
    slot_t next;         /* the next slot to produce (phase 2) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/weft-node-net-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    pthread_mutex_init(&f->ev.mu, NULL);
    pthread_cond_init(&f->ev.cv, NULL);
    model_params p;
    model_params_default(&p);
    p.thread_count = 2;
    p.t0_ms = 1000;
    p.endorsement_count = 4;
    p.delta_f0 = 8;
    p.max_operations_per_block = 20;
    p.chain_id = 991;
    p.genesis_timestamp_ms = GENESIS_MS;
    test_seed_key(&f->staker, 1);
    test_seed_key(&f->other, 2);
    test_node_accounts(f->acc, f->acc_addr, NACC);
    char rdir[128], err[256];
    snprintf(rdir, sizeof rdir, "%s/repo", f->dir);
    if (test_node_repo_init(f->dir, rdir, &p, &f->staker, f->acc_addr, NACC, NULL) != 0)
        return -1;
    if (repo_open(&f->repo, rdir, NULL, 0, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "repo_open: %s\n", err);
        return -1;
    }
    if (actor_fake_clock_new(&f->clock, GENESIS_MS - 100) != WEFT_OK)
        return -1;
    f->sink = (node_net_events){&f->ev, ev_pending, ev_invalid, ev_missing, ev_ops, ev_endos};
    node_options o = {.clock = actor_fake_clock_base(f->clock), .net = &f->sink};
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
    node_stop(f->node);
    repo_close(f->repo);
    actor_fake_clock_free(f->clock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    events *e = &f->ev;
    free(e->pending);
    free(e->invalid);
    free(e->invalid_reason);
    free(e->missing);
    free(e->ops);
    free(e->endos);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void advance_to(fixture *f, slot_t s)
{
    uint64_t t;
    assert_int_equal(slot_time(&f->p, &t, s), WEFT_OK);
    uint64_t now = node_now_ms(f->node);
    if (t > now)
        actor_fake_clock_advance(f->clock, t - now);
    /* the slot's timers delivered and handled before the test goes on (else a block submitted
     * for that slot may reach consensus before its tick and wait for the next one) */
    actor_system_t *sys = node_actor_system(f->node);
    actor_timer_sync(sys);
    for (int i = 0; i < WAIT_S * 1000 && !actor_system_idle(sys); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Waits (bounded in real time, as a hang detector) until every actor is idle: what the network
 * hands the pool without waiting has been handled. */
static void settle(fixture *f)
{
    actor_system_t *sys = node_actor_system(f->node);
    for (int i = 0; i < WAIT_S * 1000 && !actor_system_idle(sys); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(actor_system_idle(sys));
}

static bool has_pending_slot(events *e, slot_t s, block_id_t *id)
{
    for (size_t i = 0; i < e->n_pending; i++)
        if (slot_cmp(e->pending[i].slot, s) == 0) {
            if (id)
                *id = e->pending[i].id;
            return true;
        }
    return false;
}

/* Waits (bounded in real time, as a hang detector) until a block of slot s was reported pending. */
static void wait_pending_slot(fixture *f, slot_t s, block_id_t *id)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_S;
    pthread_mutex_lock(&f->ev.mu);
    int rc = 0;
    while (!has_pending_slot(&f->ev, s, id) && rc == 0)
        rc = pthread_cond_timedwait(&f->ev.cv, &f->ev.mu, &dl);
    bool ok = has_pending_slot(&f->ev, s, id);
    pthread_mutex_unlock(&f->ev.mu);
    if (!ok)
        fail_msg("no block reported pending for slot (%llu, %u)", (unsigned long long)s.period,
                 s.thread);
}

static size_t count_pending(fixture *f)
{
    pthread_mutex_lock(&f->ev.mu);
    size_t n = f->ev.n_pending;
    pthread_mutex_unlock(&f->ev.mu);
    return n;
}

static int acc_of_thread(fixture *f, uint32_t thread, int skip)
{
    for (int i = 0; i < NACC; i++)
        if (address_thread(&f->acc_addr[i], f->p.thread_count) == thread && skip-- == 0)
            return i;
    fail_msg("no account in thread %u", thread);
    return -1;
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

/* A malloc'd array holding copies of ops[0..n). */
static signed_op_t *ops_copy(fixture *f, const signed_op_t *ops, uint32_t n)
{
    signed_op_t *v = calloc(n ? n : 1, sizeof *v);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(signed_op_from_parts(&v[i], f->p.chain_id, &ops[i].creator, &ops[i].sig,
                                              ops[i].content, ops[i].content_len),
                         WEFT_OK);
    return v;
}

/* A header for slot s over the node's current heads, listing ops, signed by kp. */
static void make_header(fixture *f, block_header_t *h, slot_t s, const signed_op_t *ops, uint32_t n,
                        const keypair_t *kp)
{
    node_net_status st;
    assert_int_equal(node_net_get_status(f->node, &st), WEFT_OK);
    memset(h, 0, sizeof *h);
    h->version = HEADER_VERSION;
    h->slot = s;
    h->parent_count = f->p.thread_count;
    memcpy(h->parents, st.heads, f->p.thread_count * sizeof(block_id_t));
    op_id_t ids[32];
    assert_true(n <= 32);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = ops[i].id;
    block_ops_hash(&h->ops_hash, ids, n);
    header_sign(h, kp);
}

static weft_err submit(fixture *f, const block_header_t *h, const signed_op_t *ops, uint32_t n)
{
    weft_err v = WEFT_E_INVAL;
    assert_int_equal(node_net_block(f->node, h, ops_copy(f, ops, n), n, &v), WEFT_OK);
    return v;
}

static void free_ops(signed_op_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        signed_op_free(&ops[i]);
}

/* ---- 1. the factory's blocks ----------------------------------------------------------------- */

static void test_factory_blocks(void **state)
{
    fixture *f = *state;
    /* an operation from the API before the first block: ops_admitted names it */
    int from = acc_of_thread(f, 1, 0);
    signed_op_t *op = malloc(sizeof *op);
    assert_non_null(op);
    make_op(f, op, from, 8, 12345);
    f->sent_op = op->id;
    weft_err res;
    assert_int_equal(node_send_operations(f->node, &op, 1, &res), WEFT_OK);
    assert_int_equal(res, WEFT_OK);
    pthread_mutex_lock(&f->ev.mu);
    assert_int_equal(f->ev.n_ops, 1);
    assert_memory_equal(&f->ev.ops[0], &f->sent_op, sizeof(op_id_t));
    pthread_mutex_unlock(&f->ev.mu);
    /* the same operation again: known, not announced again */
    op = malloc(sizeof *op);
    assert_non_null(op);
    make_op(f, op, from, 8, 12345);
    assert_int_equal(node_send_operations(f->node, &op, 1, &res), WEFT_OK);
    assert_int_equal(res, WEFT_OK);
    pthread_mutex_lock(&f->ev.mu);
    assert_int_equal(f->ev.n_ops, 1);
    pthread_mutex_unlock(&f->ev.mu);

    /* slots pass: a block per slot from period 1 on, until both threads have final blocks */
    slot_t s = {1, 0};
    node_status_t st;
    for (int i = 0; i < 40; i++) {
        advance_to(f, s);
        wait_pending_slot(f, s, NULL);
        assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
        if (st.final_periods[0] >= 4 && st.final_periods[1] >= 4 && st.has_final_cursor)
            break;
    }
    assert_true(st.final_periods[0] >= 4 && st.final_periods[1] >= 4);
    f->next = s;

    /* block_pending in slot order, one per slot (a single producer: no fork) */
    pthread_mutex_lock(&f->ev.mu);
    size_t np = f->ev.n_pending;
    rec_block *pend = malloc(np * sizeof *pend);
    assert_non_null(pend);
    memcpy(pend, f->ev.pending, np * sizeof *pend);
    pthread_mutex_unlock(&f->ev.mu);
    assert_true(np >= 8);
    for (size_t i = 0; i < np; i++) {
        slot_t want = {1 + i / 2, (uint8_t)(i % 2)};
        assert_int_equal(slot_cmp(pend[i].slot, want), 0);
    }

    /* every block is known and served, with its operations; find the one with the operation */
    bool found_op = false;
    for (size_t i = 0; i < np; i++) {
        assert_true(node_net_has_block(f->node, &pend[i].id));
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->node, &pend[i].id, true, &d), WEFT_OK);
        assert_memory_equal(&d.header.id, &pend[i].id, sizeof(block_id_t));
        assert_int_equal(header_verify(&d.header), WEFT_OK);
        for (uint32_t k = 0; k < d.op_count; k++) {
            signed_op_t so;
            assert_int_equal(signed_op_decode(&so, f->p.chain_id, d.ops[k].b, d.ops[k].len),
                             WEFT_OK);
            assert_memory_equal(&so.id, &d.op_ids[k], sizeof(op_id_t));
            if (hash32_cmp(&so.id.h, &f->sent_op.h) == 0) {
                found_op = true;
                f->op_block = pend[i].id;
                assert_int_equal(pend[i].slot.thread, 1);
            }
            signed_op_free(&so);
        }
        node_net_block_data_free(&d);
    }
    assert_true(found_op);
    free(pend);

    /* without the operations; and an unknown block */
    node_net_block_data d;
    assert_int_equal(node_net_get_block(f->node, &f->op_block, false, &d), WEFT_OK);
    assert_null(d.ops);
    assert_int_equal(d.op_count, 1);
    node_net_block_data_free(&d);
    block_id_t unknown;
    memset(&unknown, 0x5a, sizeof unknown);
    assert_false(node_net_has_block(f->node, &unknown));
    assert_int_equal(node_net_get_block(f->node, &unknown, true, &d), WEFT_E_NOT_FOUND);
    /* genesis blocks are known */
    block_header_t gen[MODEL_MAX_THREADS];
    node_genesis_headers(&f->p, gen);
    assert_true(node_net_has_block(f->node, &gen[1].id));

    /* the operation, by id (from the pool or from its block), next to an unknown id */
    op_id_t ids[2] = {f->sent_op, {{{0}}}};
    memset(&ids[1], 0x33, sizeof ids[1]);
    node_bytes_t out[2];
    assert_int_equal(node_net_get_ops(f->node, ids, 2, out), WEFT_OK);
    assert_true(out[0].len > 0);
    assert_int_equal(out[1].len, 0);
    signed_op_t so;
    assert_int_equal(signed_op_decode(&so, f->p.chain_id, out[0].b, out[0].len), WEFT_OK);
    assert_memory_equal(&so.id, &f->sent_op, sizeof so.id);
    signed_op_free(&so);
    free(out[0].b);
    free(out[1].b);
}

/* ---- 2. blocks from the network -------------------------------------------------------------- */

static void test_net_blocks(void **state)
{
    fixture *f = *state;
    /* the test becomes the producer: the node no longer stakes */
    address_t sa;
    address_of_pubkey(&sa, &f->staker.pk);
    assert_int_equal(node_staking_remove(f->node, &sa, 1), WEFT_OK);
    slot_t s = f->next;
    advance_to(f, s);
    int from = acc_of_thread(f, s.thread, 0);
    signed_op_t op[2];
    make_op(f, &op[0], from, s.period + 3, 777);
    make_op(f, &op[1], from, s.period + 3, 778);

    /* a good block with two operations */
    block_header_t *h = malloc(sizeof *h), *x = malloc(sizeof *x);
    assert_non_null(h);
    assert_non_null(x);
    make_header(f, h, s, op, 2, &f->staker);
    size_t np = count_pending(f);
    assert_int_equal(submit(f, h, op, 2), WEFT_OK);
    block_id_t got;
    wait_pending_slot(f, s, &got);
    assert_memory_equal(&got, &h->id, sizeof got);
    assert_true(node_net_has_block(f->node, &h->id));
    node_net_block_data d;
    assert_int_equal(node_net_get_block(f->node, &h->id, true, &d), WEFT_OK);
    assert_int_equal(d.op_count, 2);
    assert_false(d.is_final);
    node_net_block_data_free(&d);
    /* again: known, OK, not reported again */
    assert_int_equal(submit(f, h, op, 2), WEFT_OK);
    settle(f);
    assert_int_equal(count_pending(f), np + 1);

    /* a bad header signature */
    *x = *h;
    x->sig.b[7] ^= 1;
    assert_int_equal(submit(f, x, op, 2), WEFT_E_SIGNATURE);
    /* content that does not match the id */
    *x = *h;
    x->slot.period++;
    assert_int_equal(submit(f, x, op, 2), WEFT_E_SIGNATURE);
    /* the operation list does not match the header's ops_hash */
    assert_int_equal(submit(f, h, op, 1), WEFT_E_OPS_HASH);
    assert_int_equal(submit(f, h, &op[1], 1), WEFT_E_OPS_HASH);
    /* too many operations */
    {
        uint32_t n = f->p.max_operations_per_block + 1;
        signed_op_t *many = calloc(n, sizeof *many);
        assert_non_null(many);
        for (uint32_t i = 0; i < n; i++)
            make_op(f, &many[i], from, s.period + 3, 1000 + i);
        weft_err v;
        assert_int_equal(node_net_block(f->node, h, many, n, &v), WEFT_OK);
        assert_int_equal(v, WEFT_E_TOO_MANY_OPS);
    }
    /* a wrong parent count */
    *x = *h;
    x->parent_count = 1;
    header_sign(x, &f->staker);
    assert_int_equal(submit(f, x, op, 2), WEFT_E_NODE_BLOCK);
    /* the wrong producer (a key with no rolls), checked on the caller's thread (whatever its
     * signatures: a draw is checked before them) */
    make_header(f, x, s, op, 2, &f->other);
    assert_int_equal(submit(f, x, op, 2), WEFT_E_NODE_BLOCK);
    {
        signed_op_t badsig[2];
        make_op(f, &badsig[0], from, s.period + 3, 31);
        make_op(f, &badsig[1], from, s.period + 3, 32);
        badsig[1].sig.b[3] ^= 1;
        make_header(f, x, s, badsig, 2, &f->other);
        assert_int_equal(submit(f, x, badsig, 2), WEFT_E_NODE_BLOCK);
        free_ops(badsig, 2);
    }
    /* an endorsement by a key that was not drawn (the draws of the slot's endorsers) */
    make_header(f, x, s, NULL, 0, &f->staker);
    x->endorsement_count = 1;
    memset(&x->endorsements[0], 0, sizeof x->endorsements[0]);
    x->endorsements[0].slot = s;
    x->endorsements[0].index = 0;
    x->endorsements[0].endorsed = x->parents[s.thread];
    endorsement_sign(&x->endorsements[0], &f->other);
    header_sign(x, &f->staker);
    assert_int_equal(submit(f, x, NULL, 0), WEFT_E_NODE_BLOCK);
    /* an operation of the other thread */
    signed_op_t bad;
    make_op(f, &bad, acc_of_thread(f, 1 - s.thread, 0), s.period + 3, 5);
    make_header(f, x, s, &bad, 1, &f->staker);
    assert_int_equal(submit(f, x, &bad, 1), WEFT_E_NODE_BLOCK);
    signed_op_free(&bad);
    /* an operation expired at the block's period, and one not valid yet */
    make_op(f, &bad, from, s.period - 1, 5);
    make_header(f, x, s, &bad, 1, &f->staker);
    assert_int_equal(submit(f, x, &bad, 1), WEFT_E_NODE_BLOCK);
    signed_op_free(&bad);
    make_op(f, &bad, from, s.period + f->p.operation_validity_periods + 1, 5);
    make_header(f, x, s, &bad, 1, &f->staker);
    assert_int_equal(submit(f, x, &bad, 1), WEFT_E_NODE_BLOCK);
    signed_op_free(&bad);
    /* the same operation twice */
    {
        signed_op_t two[2];
        make_op(f, &two[0], from, s.period + 3, 9);
        make_op(f, &two[1], from, s.period + 3, 9);
        make_header(f, x, s, two, 2, &f->staker);
        assert_int_equal(submit(f, x, two, 2), WEFT_E_NODE_BLOCK);
        free_ops(two, 2);
    }
    /* a bad operation signature */
    make_op(f, &bad, from, s.period + 3, 6);
    bad.sig.b[10] ^= 1;
    make_header(f, x, s, &bad, 1, &f->staker);
    assert_int_equal(submit(f, x, &bad, 1), WEFT_E_SIGNATURE);
    signed_op_free(&bad);
    /* a cycle whose draws are far from known: for later (only the header's signature checked:
     * a forged one is refused at once) */
    slot_t far = {f->p.periods_per_cycle * 50, 0};
    make_header(f, x, far, NULL, 0, &f->staker);
    assert_int_equal(submit(f, x, NULL, 0), WEFT_E_NODE_BLOCK_LATER);
    x->sig.b[4] ^= 1;
    assert_int_equal(submit(f, x, NULL, 0), WEFT_E_SIGNATURE);
    /* a period already final in its thread: accepted, consensus finds it old and drops it */
    make_header(f, x, (slot_t){1, 1}, NULL, 0, &f->staker);
    block_id_t old_id = x->id;
    assert_int_equal(submit(f, x, NULL, 0), WEFT_OK);
    settle(f);
    assert_false(node_net_has_block(f->node, &old_id));
    /* none of those was taken */
    assert_int_equal(count_pending(f), np + 1);

    /* an unknown parent: taken (waiting), and the parent is asked for */
    block_id_t ghost;
    memset(&ghost, 0x77, sizeof ghost);
    make_header(f, x, s, NULL, 0, &f->staker);
    x->parents[1 - s.thread] = ghost;
    header_sign(x, &f->staker);
    assert_int_equal(submit(f, x, NULL, 0), WEFT_OK);
    settle(f);
    pthread_mutex_lock(&f->ev.mu);
    bool asked = false;
    for (size_t i = 0; i < f->ev.n_missing; i++)
        asked |= block_id_eq(&f->ev.missing[i], &ghost);
    pthread_mutex_unlock(&f->ev.mu);
    assert_true(asked);
    assert_true(node_net_has_block(f->node, &x->id));
    assert_int_equal(count_pending(f), np + 1);

    /* the next slot: a block whose parents are in the wrong threads is invalid for the graph */
    slot_t s2;
    assert_int_equal(slot_next(&f->p, &s2, s), WEFT_OK);
    advance_to(f, s2);
    make_header(f, x, s2, NULL, 0, &f->staker);
    block_id_t tmp = x->parents[0];
    x->parents[0] = x->parents[1];
    x->parents[1] = tmp;
    header_sign(x, &f->staker);
    assert_int_equal(submit(f, x, NULL, 0), WEFT_OK); /* the graph's verdict comes as an event */
    settle(f);
    pthread_mutex_lock(&f->ev.mu);
    bool inval = false;
    for (size_t i = 0; i < f->ev.n_invalid; i++)
        inval |= block_id_eq(&f->ev.invalid[i], &x->id) && f->ev.invalid_reason[i] != WEFT_OK;
    pthread_mutex_unlock(&f->ev.mu);
    assert_true(inval);
    /* and a good one for that slot, endorsed by the drawn key */
    make_header(f, x, s2, NULL, 0, &f->staker);
    x->endorsement_count = 1;
    memset(&x->endorsements[0], 0, sizeof x->endorsements[0]);
    x->endorsements[0].slot = s2;
    x->endorsements[0].index = 1;
    x->endorsements[0].endorsed = x->parents[s2.thread];
    endorsement_sign(&x->endorsements[0], &f->staker);
    header_sign(x, &f->staker);
    assert_int_equal(submit(f, x, NULL, 0), WEFT_OK);
    wait_pending_slot(f, s2, &got);
    assert_memory_equal(&got, &x->id, sizeof got);
    assert_int_equal(slot_next(&f->p, &f->next, s2), WEFT_OK);

    free_ops(op, 2);
    free(h);
    free(x);
}

/* ---- 3. endorsements, status, final ranges --------------------------------------------------- */

static void make_endo(fixture *f, endorsement_t *e, slot_t s, uint32_t index, const keypair_t *kp)
{
    memset(e, 0, sizeof *e);
    e->slot = s;
    e->index = index;
    memset(&e->endorsed, 0x42, sizeof e->endorsed);
    endorsement_sign(e, kp);
}

static void test_net_endorsements(void **state)
{
    fixture *f = *state;
    slot_t s = f->next;
    endorsement_t e[6];
    make_endo(f, &e[0], s, 1, &f->staker); /* good */
    make_endo(f, &e[1], s, 2, &f->other);  /* not drawn */
    make_endo(f, &e[2], s, 3, &f->staker); /* bad signature */
    e[2].sig.b[3] ^= 1;
    make_endo(f, &e[3], (slot_t){f->p.periods_per_cycle * 50, 0}, 0, &f->staker); /* later */
    make_endo(f, &e[4], (slot_t){1, 0}, 0, &f->staker);                           /* too old */
    make_endo(f, &e[5], s, 9, &f->staker);                                        /* index >= E */
    weft_err r[6];
    pthread_mutex_lock(&f->ev.mu);
    size_t ne = f->ev.n_endos;
    pthread_mutex_unlock(&f->ev.mu);
    assert_int_equal(node_net_endorsements(f->node, e, 6, r), WEFT_OK);
    assert_int_equal(r[0], WEFT_OK);
    assert_int_equal(r[1], WEFT_E_ENDORSEMENT);
    assert_int_equal(r[2], WEFT_E_SIGNATURE);
    assert_int_equal(r[3], WEFT_E_NODE_BLOCK_LATER);
    assert_int_equal(r[4], WEFT_E_POOL_EXPIRED);
    assert_int_equal(r[5], WEFT_E_ENDORSEMENT);
    settle(f); /* the pool admits the checked one in its own time */
    pthread_mutex_lock(&f->ev.mu);
    assert_int_equal(f->ev.n_endos, ne + 1);
    assert_memory_equal(&f->ev.endos[ne], &e[0].id, sizeof e[0].id);
    pthread_mutex_unlock(&f->ev.mu);
    /* again: known, not announced again */
    assert_int_equal(node_net_endorsements(f->node, e, 1, r), WEFT_OK);
    assert_int_equal(r[0], WEFT_OK);
    settle(f);
    pthread_mutex_lock(&f->ev.mu);
    assert_int_equal(f->ev.n_endos, ne + 1);
    pthread_mutex_unlock(&f->ev.mu);
}

static void test_net_status(void **state)
{
    fixture *f = *state;
    node_net_status ns;
    node_status_t before, after;
    /* execution may still be finalizing what the last block made final: its cursor is read
     * between two node statuses */
    assert_int_equal(node_get_status(f->node, &before), WEFT_OK);
    assert_int_equal(node_net_get_status(f->node, &ns), WEFT_OK);
    assert_int_equal(node_get_status(f->node, &after), WEFT_OK);
    assert_int_equal(ns.thread_count, 2);
    for (uint32_t t = 0; t < 2; t++)
        assert_int_equal(ns.final_periods[t], after.final_periods[t]);
    assert_true(ns.has_final_cursor && before.has_final_cursor && after.has_final_cursor);
    slot_t lo, hi; /* the status gives the last final slot, the hello the next one */
    assert_int_equal(slot_next(&f->p, &lo, before.final_cursor), WEFT_OK);
    assert_int_equal(slot_next(&f->p, &hi, after.final_cursor), WEFT_OK);
    assert_true(slot_cmp(lo, ns.final_cursor) <= 0);
    assert_true(slot_cmp(ns.final_cursor, hi) <= 0);
    /* the heads: the latest block of each thread (the test's last block is the head of its
     * thread; the other thread's head is the block before it) */
    pthread_mutex_lock(&f->ev.mu);
    rec_block last = f->ev.pending[f->ev.n_pending - 1];
    rec_block prev = f->ev.pending[f->ev.n_pending - 2];
    pthread_mutex_unlock(&f->ev.mu);
    assert_memory_equal(&ns.heads[last.slot.thread], &last.id, sizeof last.id);
    assert_int_equal(slot_cmp(ns.head_slots[last.slot.thread], last.slot), 0);
    assert_memory_equal(&ns.heads[prev.slot.thread], &prev.id, sizeof prev.id);
    assert_int_equal(slot_cmp(ns.head_slots[prev.slot.thread], prev.slot), 0);
}

static void test_final_range(void **state)
{
    fixture *f = *state;
    block_id_t *ids;
    slot_t *slots, oldest;
    size_t n;
    bool more;
    /* the first three after genesis slot (0,0): (0,1), then period 1 */
    assert_int_equal(
        node_net_final_range(f->node, (slot_t){0, 0}, 3, &ids, &slots, &n, &more, &oldest),
        WEFT_OK);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_int_equal(slot_cmp(oldest, (slot_t){0, 0}), 0);
    assert_int_equal(slot_cmp(slots[0], (slot_t){0, 1}), 0);
    assert_int_equal(slot_cmp(slots[1], (slot_t){1, 0}), 0);
    assert_int_equal(slot_cmp(slots[2], (slot_t){1, 1}), 0);
    free(ids);
    free(slots);
    /* all of them: final, in slot order, up to the final periods */
    node_status_t st;
    assert_int_equal(node_get_status(f->node, &st), WEFT_OK);
    assert_int_equal(
        node_net_final_range(f->node, (slot_t){0, 0}, 100000, &ids, &slots, &n, &more, &oldest),
        WEFT_OK);
    assert_false(more);
    assert_true(n >= 2 * 4 - 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(slot_cmp(slots[i - 1], slots[i]) < 0);
        assert_true(slots[i].period <= st.final_periods[slots[i].thread]);
        node_block_info_t bi;
        assert_int_equal(node_get_block(f->node, &ids[i], &bi), WEFT_OK);
        assert_int_equal(bi.status, NODE_BLOCK_FINAL);
        assert_int_equal(slot_cmp(bi.header.slot, slots[i]), 0);
        node_block_info_free(&bi);
        node_net_block_data d;
        assert_int_equal(node_net_get_block(f->node, &ids[i], false, &d), WEFT_OK);
        assert_true(d.is_final);
        node_net_block_data_free(&d);
    }
    /* every final period is listed: the last entry of each thread is its final head */
    for (uint32_t t = 0; t < 2; t++) {
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen |= slots[i].thread == t && slots[i].period == st.final_periods[t];
        assert_true(seen);
    }
    slot_t last = slots[n - 1];
    free(ids);
    free(slots);
    /* after the last one: nothing more */
    assert_int_equal(node_net_final_range(f->node, last, 10, &ids, &slots, &n, &more, &oldest),
                     WEFT_OK);
    assert_int_equal(n, 0);
    assert_false(more);
    free(ids);
    free(slots);
}

/* ---- 4. the chain callbacks of netd -----------------------------------------------------------
 */

static void test_chain_vt(void **state)
{
    fixture *f = *state;
    const net_chain_vt *vt = &netd_node_chain_vt;
    net_chain_status cs;
    node_net_status ns;
    assert_int_equal(vt->status(f->node, &cs), WEFT_OK);
    assert_int_equal(node_net_get_status(f->node, &ns), WEFT_OK);
    assert_int_equal(cs.thread_count, 2);
    assert_memory_equal(cs.final_periods, ns.final_periods, sizeof cs.final_periods);
    assert_memory_equal(cs.heads, ns.heads, sizeof cs.heads);
    assert_memory_equal(cs.head_slots, ns.head_slots, sizeof cs.head_slots);

    /* the factory's block with the operation, with and without operations */
    assert_true(vt->has_block(f->node, &f->op_block));
    net_block b;
    assert_int_equal(vt->get_block(f->node, &f->op_block, true, &b), WEFT_OK);
    assert_memory_equal(&b.header.id, &f->op_block, sizeof f->op_block);
    assert_int_equal(b.op_count, 1);
    assert_non_null(b.ops);
    signed_op_t so;
    assert_int_equal(signed_op_decode(&so, f->p.chain_id, b.ops[0], b.op_lens[0]), WEFT_OK);
    assert_memory_equal(&so.id, &f->sent_op, sizeof so.id);
    assert_memory_equal(&b.op_ids[0], &f->sent_op, sizeof so.id);
    signed_op_free(&so);
    net_block_free(&b);
    assert_int_equal(vt->get_block(f->node, &f->op_block, false, &b), WEFT_OK);
    assert_null(b.ops);
    assert_int_equal(b.op_count, 1);
    net_block_free(&b);
    block_id_t unknown;
    memset(&unknown, 0x5b, sizeof unknown);
    assert_false(vt->has_block(f->node, &unknown));
    assert_int_equal(vt->get_block(f->node, &unknown, true, &b), WEFT_E_NOT_FOUND);

    /* operations by id */
    op_id_t ids[2] = {f->sent_op, {{{0}}}};
    memset(&ids[1], 0x34, sizeof ids[1]);
    uint8_t *ops[2];
    size_t lens[2];
    assert_int_equal(vt->get_ops(f->node, ids, 2, ops, lens), WEFT_OK);
    assert_true(lens[0] > 0);
    assert_int_equal(lens[1], 0);
    assert_null(ops[1]);
    assert_int_equal(signed_op_decode(&so, f->p.chain_id, ops[0], lens[0]), WEFT_OK);
    assert_memory_equal(&so.id, &f->sent_op, sizeof so.id);
    signed_op_free(&so);
    free(ops[0]);

    /* final ranges */
    block_id_t *rids;
    slot_t *rslots;
    size_t n;
    bool more;
    assert_int_equal(vt->final_range(f->node, (slot_t){0, 0}, 2, &rids, &rslots, &n, &more),
                     WEFT_OK);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_int_equal(slot_cmp(rslots[0], (slot_t){0, 1}), 0);
    free(rids);
    free(rslots);

    /* submissions: a block for the next slot (the test produces), operations (the array and
     * the operations pass), endorsements */
    slot_t s = f->next;
    advance_to(f, s);
    block_header_t *h = malloc(sizeof *h);
    assert_non_null(h);
    make_header(f, h, s, NULL, 0, &f->staker);
    weft_err v = WEFT_E_INVAL;
    assert_int_equal(vt->submit_block(f->node, h, NULL, 0, &v), WEFT_OK);
    assert_int_equal(v, WEFT_OK);
    block_id_t got;
    wait_pending_slot(f, s, &got);
    assert_memory_equal(&got, &h->id, sizeof got);
    h->sig.b[1] ^= 1;
    assert_int_equal(vt->submit_block(f->node, h, NULL, 0, &v), WEFT_OK);
    assert_int_equal(v, WEFT_E_SIGNATURE);
    free(h);
    assert_int_equal(slot_next(&f->p, &f->next, s), WEFT_OK);

    signed_op_t **arr = malloc(2 * sizeof *arr);
    assert_non_null(arr);
    for (int i = 0; i < 2; i++) {
        arr[i] = malloc(sizeof *arr[i]);
        assert_non_null(arr[i]);
        make_op(f, arr[i], acc_of_thread(f, 0, 0), s.period + 4, 4242 + (uint64_t)i);
    }
    arr[1]->sig.b[2] ^= 1;
    weft_err res[2];
    pthread_mutex_lock(&f->ev.mu);
    size_t nops = f->ev.n_ops;
    pthread_mutex_unlock(&f->ev.mu);
    assert_int_equal(vt->submit_ops(f->node, arr, 2, res), WEFT_OK);
    assert_int_equal(res[0], WEFT_OK);
    assert_int_equal(res[1], WEFT_E_SIGNATURE); /* on the caller's thread: the sender is banned */
    settle(f); /* the pool admits the good one without the network waiting for it */
    pthread_mutex_lock(&f->ev.mu);
    assert_int_equal(f->ev.n_ops, nops + 1);
    pthread_mutex_unlock(&f->ev.mu);

    endorsement_t e;
    make_endo(f, &e, f->next, 2, &f->staker);
    assert_int_equal(vt->submit_endorsements(f->node, &e, 1, res), WEFT_OK);
    assert_int_equal(res[0], WEFT_OK);

    /* the final state in parts: a start whose first record is cut to the asked bytes, then the
     * rest of its value (after_offset → first_offset, last_partial, more) */
    net_state_ask sa;
    memset(&sa, 0, sizeof sa);
    sa.max_bytes = 1 << 20;
    net_state_part whole, part;
    assert_int_equal(vt->state_part(f->node, &sa, &whole), WEFT_OK);
    assert_int_equal(whole.status, NET_STATE_OK);
    assert_true(whole.nroots >= 2 && whole.count > 0 && !whole.more);
    const net_state_rec *r0 = &whole.recs[0];
    assert_true(r0->vlen > 1);
    sa.max_bytes = r0->klen + 1; /* one byte of its value */
    assert_int_equal(vt->state_part(f->node, &sa, &part), WEFT_OK);
    assert_int_equal(part.status, NET_STATE_OK);
    assert_int_equal(slot_cmp(part.cursor, whole.cursor), 0);
    assert_int_equal(part.count, 1);
    assert_true(part.last_partial && part.more);
    assert_int_equal(part.first_offset, 0);
    assert_int_equal(part.recs[0].vlen, 1);
    net_state_part_free(&part);
    sa.has_cursor = sa.has_after = true;
    sa.cursor = whole.cursor;
    sa.after_table = r0->table;
    sa.after_key = r0->key;
    sa.after_klen = r0->klen;
    sa.after_offset = 1;
    sa.max_bytes = 1 << 20;
    assert_int_equal(vt->state_part(f->node, &sa, &part), WEFT_OK);
    assert_int_equal(part.status, NET_STATE_OK);
    assert_int_equal(part.nroots, 0);
    assert_int_equal(part.first_offset, 1);
    assert_false(part.last_partial || part.more);
    assert_int_equal(part.count, whole.count);
    assert_int_equal(part.recs[0].vlen, r0->vlen - 1);
    assert_memory_equal(part.recs[0].val, r0->val + 1, r0->vlen - 1);
    net_state_part_free(&part);

    /* the fingerprint of the final state at a final slot, for a peer's check: at the cursor of
     * a transfer starting now, the one it announces; after it, ahead; a bad thread, not kept */
    uint8_t fp[NET_STATE_FP_LEN], st = 99;
    assert_int_equal(vt->state_fingerprint(f->node, whole.cursor, fp, &st), WEFT_OK);
    assert_int_equal(st, NET_CHECK_KNOWN);
    assert_memory_equal(fp, whole.fingerprint, sizeof fp);
    slot_t later = {whole.cursor.period + 100, 0};
    assert_int_equal(vt->state_fingerprint(f->node, later, fp, &st), WEFT_OK);
    assert_int_equal(st, NET_CHECK_AHEAD);
    assert_int_equal(vt->state_fingerprint(f->node, (slot_t){1, 2}, fp, &st), WEFT_OK);
    assert_int_equal(st, NET_CHECK_NOT_KEPT);
    net_state_part_free(&whole);
}

/* ---- 5. a child before its parent, final, then a restart ------------------------------------- */

static void produce_next(fixture *f)
{
    slot_t s = f->next;
    advance_to(f, s);
    block_header_t *h = malloc(sizeof *h);
    assert_non_null(h);
    make_header(f, h, s, NULL, 0, &f->staker);
    assert_int_equal(submit(f, h, NULL, 0), WEFT_OK);
    block_id_t got;
    wait_pending_slot(f, s, &got);
    assert_memory_equal(&got, &h->id, sizeof got);
    free(h);
    assert_int_equal(slot_next(&f->p, &f->next, s), WEFT_OK);
}

static void test_orphan_final_restart(void **state)
{
    fixture *f = *state;
    slot_t s0 = f->next, s1;
    assert_int_equal(slot_next(&f->p, &s1, s0), WEFT_OK);
    block_header_t *par = malloc(sizeof *par), *child = malloc(sizeof *child);
    assert_non_null(par);
    assert_non_null(child);
    make_header(f, par, s0, NULL, 0, &f->staker);
    make_header(f, child, s1, NULL, 0, &f->staker);
    child->parents[s0.thread] = par->id;
    header_sign(child, &f->staker);
    advance_to(f, s1);
    /* the child first: taken, waiting, its parent asked for */
    assert_int_equal(submit(f, child, NULL, 0), WEFT_OK);
    settle(f);
    pthread_mutex_lock(&f->ev.mu);
    assert_true(block_id_eq(&f->ev.missing[f->ev.n_missing - 1], &par->id));
    pthread_mutex_unlock(&f->ev.mu);
    /* then the parent: both pending, the parent reported first */
    assert_int_equal(submit(f, par, NULL, 0), WEFT_OK);
    settle(f);
    pthread_mutex_lock(&f->ev.mu);
    size_t np = f->ev.n_pending;
    assert_true(np >= 2);
    assert_true(block_id_eq(&f->ev.pending[np - 2].id, &par->id));
    assert_true(block_id_eq(&f->ev.pending[np - 1].id, &child->id));
    pthread_mutex_unlock(&f->ev.mu);
    assert_int_equal(slot_next(&f->p, &f->next, s1), WEFT_OK);
    /* descendants until the child is final */
    node_block_info_t bi;
    for (int i = 0; i < 40; i++) {
        produce_next(f);
        assert_int_equal(node_get_block(f->node, &child->id, &bi), WEFT_OK);
        node_block_info_free(&bi);
        if (bi.status == NODE_BLOCK_FINAL)
            break;
    }
    assert_int_equal(bi.status, NODE_BLOCK_FINAL);
    /* a restart rebuilds the graph from the log, the child among the final blocks */
    node_status_t before;
    assert_int_equal(node_get_status(f->node, &before), WEFT_OK);
    node_stop(f->node);
    f->node = NULL;
    char err[256];
    node_options o = {.clock = actor_fake_clock_base(f->clock), .net = &f->sink};
    assert_int_equal(node_start(&f->node, f->repo, &o, err, sizeof err), WEFT_OK);
    node_status_t after;
    assert_int_equal(node_get_status(f->node, &after), WEFT_OK);
    for (uint32_t t = 0; t < 2; t++)
        assert_int_equal(after.final_periods[t], before.final_periods[t]);
    assert_int_equal(node_get_block(f->node, &child->id, &bi), WEFT_OK);
    assert_int_equal(bi.status, NODE_BLOCK_FINAL);
    node_block_info_free(&bi);
    /* and it goes on */
    produce_next(f);
    free(par);
    free(child);
}

/* ---- 6. the operation of an orphaned block ----------------------------------------------------
 */

static size_t count_op_events(fixture *f, const op_id_t *id)
{
    size_t k = 0;
    pthread_mutex_lock(&f->ev.mu);
    for (size_t i = 0; i < f->ev.n_ops; i++)
        k += hash32_cmp(&f->ev.ops[i].h, &id->h) == 0;
    pthread_mutex_unlock(&f->ev.mu);
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

/* Waits (bounded in real time, as a hang detector) until the operation's pool presence is `in`
 * and it was announced `events` times. */
static void wait_op(fixture *f, const op_id_t *id, bool in, size_t announced)
{
    for (int i = 0; i < WAIT_S * 100; i++) {
        if (op_in_pool(f, id) == in && count_op_events(f, id) == announced)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("operation: in pool %d (want %d), announced %zu times (want %zu)", op_in_pool(f, id),
             in, count_op_events(f, id), announced);
}

static void test_orphaned_op_back(void **state)
{
    fixture *f = *state;
    slot_t s = f->next, s1;
    assert_int_equal(slot_next(&f->p, &s1, s), WEFT_OK);
    advance_to(f, s);
    signed_op_t *op = malloc(sizeof *op), copy;
    assert_non_null(op);
    make_op(f, op, acc_of_thread(f, s.thread, 1), s.period + 6, 31337);
    op_id_t id = op->id;
    assert_int_equal(signed_op_from_parts(&copy, f->p.chain_id, &op->creator, &op->sig, op->content,
                                          op->content_len),
                     WEFT_OK);
    weft_err r;
    assert_int_equal(node_send_operations(f->node, &op, 1, &r), WEFT_OK);
    assert_int_equal(r, WEFT_OK);
    assert_int_equal(count_op_events(f, &id), 1);
    /* block A includes it: executed speculatively, it leaves the pool */
    block_header_t *a = malloc(sizeof *a), *a2 = malloc(sizeof *a2), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(a2);
    assert_non_null(b);
    make_header(f, a, s, &copy, 1, &f->staker);
    assert_int_equal(submit(f, a, &copy, 1), WEFT_OK);
    wait_op(f, &id, false, 1);
    /* A' in the same slot without it, and B on A': the blockclique leaves A */
    *a2 = *a;
    block_ops_hash(&a2->ops_hash, NULL, 0);
    header_sign(a2, &f->staker);
    assert_int_equal(submit(f, a2, NULL, 0), WEFT_OK);
    advance_to(f, s1);
    make_header(f, b, s1, NULL, 0, &f->staker);
    b->parents[s.thread] = a2->id;
    header_sign(b, &f->staker);
    assert_int_equal(submit(f, b, NULL, 0), WEFT_OK);
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
    /* at the pool's next tick the operation is back, and announced again */
    actor_fake_clock_advance(f->clock, f->p.t0_ms);
    wait_op(f, &id, true, 2);
    assert_int_equal(slot_next(&f->p, &f->next, s1), WEFT_OK);
    signed_op_free(&copy);
    free(a);
    free(a2);
    free(b);
}

/* ---- the draws not known ---------------------------------------------------------------------
 */

/* Time jumps three cycles ahead of finality: the factory cannot tell the producers of those slots
 * (the draws of a cycle need the cycle two before final), produces nothing and counts them. */
static void test_undrawn_slots(void **state)
{
    fixture *f = *state;
    assert_int_equal(node_staking_add(f->node, &f->staker, 1), WEFT_OK); /* removed in 2. */
    node_status_t before, after;
    assert_int_equal(node_get_status(f->node, &before), WEFT_OK);
    assert_int_equal(before.slots_undrawn, 0);
    assert_int_equal(before.staking_addresses, 1);
    slot_t s = {3 * f->p.periods_per_cycle + 1, 0};
    for (int i = 0; i < 4; i++) {
        advance_to(f, s);
        assert_int_equal(slot_next(&f->p, &s, s), WEFT_OK);
    }
    settle(f);
    assert_int_equal(node_get_status(f->node, &after), WEFT_OK);
    assert_true(after.slots_undrawn >= 3);
    assert_int_equal(after.blocks_produced, before.blocks_produced);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_blocks),       cmocka_unit_test(test_net_blocks),
        cmocka_unit_test(test_net_endorsements),     cmocka_unit_test(test_net_status),
        cmocka_unit_test(test_final_range),          cmocka_unit_test(test_chain_vt),
        cmocka_unit_test(test_orphan_final_restart), cmocka_unit_test(test_orphaned_op_back),
        cmocka_unit_test(test_undrawn_slots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
