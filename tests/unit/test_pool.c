/* Unit tests of src/pool: admission rules (expiry window, payability, duplicates), per-thread
 * bounds under a flood of 100x capacity (the survivors are exactly the best-ranked), pruning,
 * revalidation, block selection limits and per-creator spending, endorsements. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "pool/pool.h"
#include "testutil.h"

#define T 4

/* balances: a tiny table keyed by address; unknown addresses have `dflt` */
typedef struct bal {
    address_t who[16];
    amount_t amount[16];
    size_t n;
    uint64_t dflt;
} bal;

static weft_err balance_cb(void *ctx, const address_t *a, amount_t *out)
{
    bal *b = ctx;
    for (size_t i = 0; i < b->n; i++)
        if (address_eq(&b->who[i], a)) {
            *out = b->amount[i];
            return WEFT_OK;
        }
    out->nano = b->dflt;
    return WEFT_OK;
}

static void set_balance(bal *b, const keypair_t *kp, uint64_t nano)
{
    address_t a;
    address_of_pubkey(&a, &kp->pk);
    for (size_t i = 0; i < b->n; i++)
        if (address_eq(&b->who[i], &a)) {
            b->amount[i].nano = nano;
            return;
        }
    b->who[b->n] = a;
    b->amount[b->n++].nano = nano;
}

static keypair_t keys[T][4]; /* four creators per thread */

static void make_keys(void)
{
    size_t have[T] = {0};
    uint8_t seed[32] = {0};
    for (uint32_t i = 0; have[0] < 4 || have[1] < 4 || have[2] < 4 || have[3] < 4; i++) {
        memcpy(seed, &i, sizeof i);
        keypair_t kp;
        keypair_from_seed(&kp, seed);
        address_t a;
        address_of_pubkey(&a, &kp.pk);
        uint8_t t = address_thread(&a, T);
        if (have[t] < 4)
            keys[t][have[t]++] = kp;
    }
}

/* A signed transaction (heap) from keys[thread][who] with the given fee, expiry, amount and a
 * nonce that makes ids distinct; `pad` adds bytes through a CallSC parameter instead. */
static signed_op_t *make_op(int thread, int who, uint64_t fee, uint64_t expire, uint64_t amount,
                            uint64_t nonce, size_t pad)
{
    operation_t op = {.fee = {fee}, .expire_period = expire};
    uint8_t *param = NULL;
    if (pad) {
        op.type = OP_CALL_SC;
        op.u.call_sc.max_gas = nonce;
        op.u.call_sc.coins.nano = amount;
        op.u.call_sc.target.kind = ADDRESS_SC;
        op.u.call_sc.function = "f";
        op.u.call_sc.function_len = 1;
        param = calloc(1, pad);
        op.u.call_sc.param = param;
        op.u.call_sc.param_len = pad;
    } else {
        op.type = OP_TRANSACTION;
        op.u.transaction.amount.nano = amount;
        memcpy(op.u.transaction.recipient.hash.b, &nonce, sizeof nonce);
    }
    wr_t w;
    wr_init(&w);
    op_encode(&w, &op);
    free(param);
    const keypair_t *kp = &keys[thread][who];
    hash32_t d;
    op_digest(&d, 1, &kp->pk, w.buf, w.len);
    signature_t sig;
    model_sign_digest(&sig, kp, &d);
    signed_op_t *s = malloc(sizeof *s);
    assert_int_equal(signed_op_from_parts(s, 1, &kp->pk, &sig, w.buf, w.len), WEFT_OK);
    wr_free(&w);
    return s;
}

static pool_t *new_pool(uint32_t max_ops, uint64_t max_bytes)
{
    model_params mp;
    model_params_default(&mp);
    mp.thread_count = T;
    mp.endorsement_count = 4;
    pool_config c;
    pool_config_default(&c, &mp);
    c.max_ops_per_thread = max_ops;
    c.max_bytes_per_thread = max_bytes;
    c.endorsements_per_index = 2;
    c.max_endorsement_slots = 3;
    pool_t *p = pool_new(&c);
    assert_non_null(p);
    return p;
}

static void test_admission(void **state)
{
    (void)state;
    pool_t *p = new_pool(100, 1 << 20);
    bal b = {.dflt = 1000};
    bool dup;
    signed_op_t *o = make_op(0, 0, 10, 105, 100, 1, 0);
    op_id_t id = o->id;
    assert_int_equal(pool_add_op(p, o, 100, balance_cb, &b, &dup), WEFT_OK);
    assert_false(dup);
    assert_non_null(pool_get_op(p, &id));
    assert_int_equal(pool_add_op(p, make_op(0, 0, 10, 105, 100, 1, 0), 100, balance_cb, &b, &dup),
                     WEFT_OK);
    assert_true(dup);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 10, 99, 100, 2, 0), 100, balance_cb, &b, NULL),
                     WEFT_E_POOL_EXPIRED);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 10, 100, 100, 3, 0), 100, balance_cb, &b, NULL),
                     WEFT_OK); /* last valid period */
    assert_int_equal(pool_add_op(p, make_op(0, 0, 10, 111, 100, 4, 0), 100, balance_cb, &b, NULL),
                     WEFT_E_POOL_TOO_EARLY);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 10, 110, 100, 5, 0), 100, balance_cb, &b, NULL),
                     WEFT_OK);
    /* fee + amount must be covered: 991 + 10 > 1000 */
    assert_int_equal(pool_add_op(p, make_op(1, 0, 10, 105, 991, 6, 0), 100, balance_cb, &b, NULL),
                     WEFT_E_POOL_UNPAYABLE);
    assert_int_equal(pool_add_op(p, make_op(1, 0, 10, 105, 990, 7, 0), 100, balance_cb, &b, NULL),
                     WEFT_OK);
    assert_int_equal(
        pool_add_op(p, make_op(1, 0, UINT64_MAX, 105, 1, 8, 0), 100, balance_cb, &b, NULL),
        WEFT_E_POOL_UNPAYABLE); /* max spending overflows */
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.ops, 4);
    /* prune: period 106 drops the three that expire at 100 and 105 */
    assert_int_equal(pool_prune(p, 106, 0), 3);
    pool_get_stats(p, &st);
    assert_int_equal(st.ops, 1);
    /* revalidate: the creator of the remaining op (expiry 110) goes broke */
    set_balance(&b, &keys[0][0], 5);
    assert_int_equal(pool_revalidate(p, balance_cb, &b), 1);
    pool_get_stats(p, &st);
    assert_int_equal(st.ops, 0);
    assert_int_equal(st.op_bytes, 0);
    pool_free(p);
}

typedef struct cand {
    uint64_t fee;
    uint64_t size;
    op_id_t id;
    int thread;
} cand;

static int cand_cmp(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->fee != b->fee)
        return a->fee > b->fee ? -1 : 1;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return hash32_cmp(&a->id.h, &b->id.h);
}

static void test_flood_keeps_the_best(void **state)
{
    (void)state;
    const uint32_t cap = 10;
    pool_t *p = new_pool(cap, 1 << 20);
    bal b = {.dflt = UINT64_MAX};
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0x9001);
    size_t n = 100 * cap * T;
    cand *all = calloc(n, sizeof *all);
    for (size_t i = 0; i < n; i++) {
        int t = (int)test_rng_below(&r, T);
        signed_op_t *o =
            make_op(t, (int)test_rng_below(&r, 4), test_rng_below(&r, 50), 105, 1, i, 0);
        all[i] = (cand){o->op.fee.nano, 1 + 64 + 33 + o->content_len, o->id, t};
        weft_err e = pool_add_op(p, o, 100, balance_cb, &b, NULL);
        assert_true(e == WEFT_OK || e == WEFT_E_POOL_FULL);
        pool_stats st;
        pool_get_stats(p, &st);
        assert_true(st.ops <= cap * T);
    }
    qsort(all, n, sizeof *all, cand_cmp);
    size_t kept[T] = {0};
    for (size_t i = 0; i < n; i++) {
        bool in = pool_get_op(p, &all[i].id) != NULL;
        assert_int_equal(in, kept[all[i].thread] < cap); /* exactly the best `cap` per thread */
        if (in)
            kept[all[i].thread]++;
    }
    /* selection returns them in priority order, each thread's own */
    const signed_op_t *out[64];
    pool_limits lim = {.max_bytes = 1 << 20, .max_ops = 64, .max_gas = UINT64_MAX};
    for (int t = 0; t < T; t++) {
        size_t k = pool_select_ops(p, (slot_t){100, (uint8_t)t}, &lim, balance_cb, &b, out, 64);
        assert_int_equal(k, cap);
        for (size_t i = 1; i < k; i++)
            assert_true(out[i - 1]->op.fee.nano >= out[i]->op.fee.nano);
    }
    free(all);
    pool_free(p);
}

static void test_byte_bound(void **state)
{
    (void)state;
    pool_t *p = new_pool(1000, 3000);
    bal b = {.dflt = UINT64_MAX};
    /* 1000-byte parameters: about 1110 bytes each, two fit in 3000 */
    assert_int_equal(pool_add_op(p, make_op(0, 0, 5, 105, 0, 1, 1000), 100, balance_cb, &b, NULL),
                     WEFT_OK);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 6, 105, 0, 2, 1000), 100, balance_cb, &b, NULL),
                     WEFT_OK);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 4, 105, 0, 3, 1000), 100, balance_cb, &b, NULL),
                     WEFT_E_POOL_FULL);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 7, 105, 0, 4, 1000), 100, balance_cb, &b, NULL),
                     WEFT_OK); /* evicts fee 5 */
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.ops, 2);
    assert_true(st.op_bytes <= 3000);
    assert_int_equal(pool_add_op(p, make_op(0, 0, 9, 105, 0, 5, 4000), 100, balance_cb, &b, NULL),
                     WEFT_E_POOL_FULL); /* larger than the whole thread budget */
    pool_free(p);
}

static void test_selection_limits(void **state)
{
    (void)state;
    pool_t *p = new_pool(100, 1 << 20);
    bal b = {.dflt = 1000};
    op_id_t ids[6];
    /* thread 2: creator 0 has fees 50, 40, 30 (amount 300 each: only 2 fit a balance of 1000 with
     * fees), creator 1 has a big-gas call and an op valid only from period 103 */
    signed_op_t *o;
    uint64_t fees[3] = {50, 40, 30};
    for (int i = 0; i < 3; i++) {
        o = make_op(2, 0, fees[i], 105, 300, (uint64_t)i, 0);
        ids[i] = o->id;
        assert_int_equal(pool_add_op(p, o, 100, balance_cb, &b, NULL), WEFT_OK);
    }
    o = make_op(2, 1, 45, 105, 0, 1000000, 10); /* CallSC with max_gas 1e6 */
    ids[3] = o->id;
    assert_int_equal(pool_add_op(p, o, 100, balance_cb, &b, NULL), WEFT_OK);
    o = make_op(2, 1, 60, 110, 0, 4, 0); /* valid in periods 100..110 */
    ids[4] = o->id;
    assert_int_equal(pool_add_op(p, o, 100, balance_cb, &b, NULL), WEFT_OK);
    const signed_op_t *out[8];
    pool_limits lim = {.max_bytes = 1 << 20, .max_ops = 8, .max_gas = 1000};
    size_t k = pool_select_ops(p, (slot_t){100, 2}, &lim, balance_cb, &b, out, 8);
    /* 60 (creator 1), 50 and 40 (creator 0: 350 + 340 = 690; + 330 > 1000), gas call excluded */
    assert_int_equal(k, 3);
    assert_memory_equal(out[0]->id.h.b, ids[4].h.b, 32);
    assert_memory_equal(out[1]->id.h.b, ids[0].h.b, 32);
    assert_memory_equal(out[2]->id.h.b, ids[1].h.b, 32);
    lim.max_gas = 2000000;
    lim.max_ops = 2;
    k = pool_select_ops(p, (slot_t){100, 2}, &lim, balance_cb, &b, out, 8);
    assert_int_equal(k, 2);
    /* a block of period 95 cannot hold ops expiring at 110 (valid from 100) */
    lim.max_ops = 8;
    k = pool_select_ops(p, (slot_t){95, 2}, &lim, balance_cb, &b, out, 8);
    assert_int_equal(k, 3); /* 50, the gas-heavy call (45), 40 */
    for (size_t i = 0; i < k; i++)
        assert_memory_not_equal(out[i]->id.h.b, ids[4].h.b, 32);
    assert_memory_equal(out[1]->id.h.b, ids[3].h.b, 32);
    /* byte limit: only the first op fits */
    lim.max_bytes = out[0]->content_len + 98;
    k = pool_select_ops(p, (slot_t){100, 2}, &lim, balance_cb, &b, out, 8);
    assert_int_equal(k, 1);
    /* other threads are empty */
    lim.max_bytes = 1 << 20;
    assert_int_equal(pool_select_ops(p, (slot_t){100, 1}, &lim, balance_cb, &b, out, 8), 0);
    /* removal */
    assert_int_equal(pool_remove_ops(p, ids, 5), 5);
    assert_int_equal(pool_remove_ops(p, ids, 5), 0);
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.ops, 0);
    pool_free(p);
}

static endorsement_t endo(uint64_t period, uint8_t thread, uint32_t index, uint8_t endorsed,
                          uint8_t creator)
{
    endorsement_t e = {.slot = {period, thread}, .index = index};
    memset(e.endorsed.h.b, endorsed, 32);
    memset(e.creator.b, creator, 32);
    endorsement_compute_id(&e);
    return e;
}

/* The distinct creators of a thread's first operations, in priority order, each once. */
static void test_thread_creators(void **state)
{
    (void)state;
    pool_t *p = new_pool(100, 1 << 20);
    bal b = {.dflt = 1000000000000ull};
    /* thread 2: creator 0 pays the best fees, then 1, then 0 again, then 3 */
    uint64_t fees[4] = {900, 800, 700, 600};
    int who[4] = {0, 1, 0, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pool_add_op(p, make_op(2, who[i], fees[i], 5, 1, (uint64_t)i, 0), 1,
                                     balance_cb, &b, NULL),
                         WEFT_OK);
    address_t out[8], a0, a1, a3;
    address_of_pubkey(&a0, &keys[2][0].pk);
    address_of_pubkey(&a1, &keys[2][1].pk);
    address_of_pubkey(&a3, &keys[2][3].pk);
    assert_int_equal(pool_thread_creators(p, 2, 100, out, 8), 3);
    assert_true(address_eq(&out[0], &a0));
    assert_true(address_eq(&out[1], &a1));
    assert_true(address_eq(&out[2], &a3));
    assert_int_equal(pool_thread_creators(p, 2, 2, out, 8), 2);   /* first two operations only */
    assert_int_equal(pool_thread_creators(p, 2, 100, out, 1), 1); /* cap */
    assert_int_equal(pool_thread_creators(p, 1, 100, out, 8), 0);
    pool_free(p);
}

static void test_endorsements(void **state)
{
    (void)state;
    pool_t *p = new_pool(10, 1 << 20);
    bool dup;
    endorsement_t a = endo(5, 1, 0, 0xaa, 1), b = endo(5, 1, 0, 0xbb, 2),
                  c = endo(5, 1, 0, 0xcc, 3);
    assert_int_equal(pool_add_endorsement(p, &a, &dup), WEFT_OK);
    assert_false(dup);
    assert_int_equal(pool_add_endorsement(p, &a, &dup), WEFT_OK);
    assert_true(dup);
    assert_int_equal(pool_add_endorsement(p, &b, NULL), WEFT_OK);
    assert_int_equal(pool_add_endorsement(p, &c, NULL), WEFT_E_POOL_FULL); /* 2 per index */
    endorsement_t bad = endo(5, 1, 4, 0xaa, 1);
    assert_int_equal(pool_add_endorsement(p, &bad, NULL), WEFT_E_ENDORSEMENT);
    endorsement_t i2 = endo(5, 1, 2, 0xbb, 4);
    assert_int_equal(pool_add_endorsement(p, &i2, NULL), WEFT_OK);
    const endorsement_t *out[4];
    block_id_t target;
    memset(target.h.b, 0xbb, 32);
    assert_int_equal(pool_select_endorsements(p, (slot_t){5, 1}, &target, out), 2);
    assert_non_null(out[0]);
    assert_null(out[1]);
    assert_non_null(out[2]);
    assert_memory_equal(out[0]->id.h.b, b.id.h.b, 32);
    assert_int_equal(pool_select_endorsements(p, (slot_t){5, 2}, &target, out), 0);
    /* at most 3 slots: a fourth, newer slot drops the oldest; an older one is refused */
    endorsement_t s6 = endo(6, 0, 0, 1, 1), s7 = endo(7, 0, 0, 1, 1), s8 = endo(8, 0, 0, 1, 1);
    assert_int_equal(pool_add_endorsement(p, &s6, NULL), WEFT_OK);
    assert_int_equal(pool_add_endorsement(p, &s7, NULL), WEFT_OK);
    assert_int_equal(pool_add_endorsement(p, &s8, NULL), WEFT_OK);
    pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.endorsements, 3);
    endorsement_t s4 = endo(4, 0, 0, 1, 1);
    assert_int_equal(pool_add_endorsement(p, &s4, NULL), WEFT_E_POOL_FULL);
    assert_int_equal(pool_prune(p, 0, 8), 0);
    pool_get_stats(p, &st);
    assert_int_equal(st.endorsements, 1);
    pool_free(p);
}

static void test_endorsement_flood(void **state)
{
    (void)state;
    pool_t *p = new_pool(10, 1 << 20);
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0xe0);
    for (int i = 0; i < 3 * 4 * 2 * 100; i++) {
        endorsement_t e = endo(test_rng_below(&r, 50), (uint8_t)test_rng_below(&r, T),
                               (uint32_t)test_rng_below(&r, 5), (uint8_t)test_rng_below(&r, 256),
                               (uint8_t)test_rng_below(&r, 256));
        weft_err err = pool_add_endorsement(p, &e, NULL);
        assert_true(err == WEFT_OK || err == WEFT_E_POOL_FULL || err == WEFT_E_ENDORSEMENT);
        pool_stats st;
        pool_get_stats(p, &st);
        assert_true(st.endorsements <= 3 * 4 * 2); /* slots x E x per index */
    }
    pool_free(p);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    make_keys();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admission),       cmocka_unit_test(test_flood_keeps_the_best),
        cmocka_unit_test(test_byte_bound),      cmocka_unit_test(test_selection_limits),
        cmocka_unit_test(test_endorsements),    cmocka_unit_test(test_endorsement_flood),
        cmocka_unit_test(test_thread_creators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
