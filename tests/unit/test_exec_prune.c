/* Executed-operation pruning, one period at a time (docs/consensus.md §2.2, §3.2 step 1).
 *
 * Execution removes at the first slot of period p only the records of expire period p − 1 (slot.c)
 * instead of every record below p at every slot.  The two give the same diffs exactly when nothing
 * below p is left after any slot of period p.  Over seeded random histories (fresh, replayed and
 * expired operations, misses, speculative slots and finalization mixed) these tests check, after
 * every slot of period p, on the state execution sees (final state and speculative layers):
 *   - a full prune below p (state_ops_prune, the rule as written) would change nothing;
 *   - every accepted operation is remembered exactly while its expire period is ≥ p (replay
 *     protection), and a replay inside its validity is rejected as such;
 * and that state_ops_prune_range removes exactly the records of its range. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "testutil.h"

#define NACC 8     /* accounts 0..3 in thread 0, 4..7 in thread 1 */
#define NPERIOD 24 /* T = 2: 48 slots */
#define MAXOPS 6
#define MAXACC (NPERIOD * 2 * MAXOPS)

typedef struct world {
    model_params p;
    keypair_t kp[NACC];
    address_t a[NACC];
    state_memkv_t *kv;
    state_final_t *f;
    exec_t *e;
    /* accepted operations: id and expire period */
    op_id_t acc[MAXACC];
    uint64_t acc_exp[MAXACC];
    size_t nacc;
    size_t replays, rejected_period;
} world;

static void world_open(world *w)
{
    memset(w, 0, sizeof *w);
    model_params_default(&w->p);
    w->p.thread_count = 2;
    w->p.t0_ms = 1000;
    w->p.periods_per_cycle = 4;
    w->p.endorsement_count = 2;
    w->p.operation_validity_periods = 4;
    w->p.block_reward = 1000;
    assert_int_equal(model_params_check(&w->p), WEFT_OK);
    int got[2] = {0, 0};
    for (uint32_t s = 1; got[0] < NACC / 2 || got[1] < NACC / 2; s++) {
        uint8_t sd[32] = {0};
        memcpy(sd, &s, sizeof s);
        keypair_t kp;
        address_t a;
        keypair_from_seed(&kp, sd);
        address_of_pubkey(&a, &kp.pk);
        int t = address_thread(&a, 2);
        if (got[t] == NACC / 2)
            continue;
        w->kp[t * NACC / 2 + got[t]] = kp;
        w->a[t * NACC / 2 + got[t]++] = a;
    }
    assert_int_equal(state_memkv_new(&w->kv), WEFT_OK);
    assert_int_equal(state_final_open(&w->f, &w->p, state_memkv_kv(w->kv)), WEFT_OK);
    state_diff_t *g;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    state_view_t v;
    state_view_init(&v, w->f, NULL, 0, g);
    for (int i = 0; i < NACC; i++) {
        assert_int_equal(state_balance_set(&v, &w->a[i], amount_from_nano(1000000000)), WEFT_OK);
        assert_int_equal(state_rolls_set(&v, &w->a[i], 1), WEFT_OK);
    }
    state_view_free(&v);
    assert_int_equal(state_final_genesis(w->f, g), WEFT_OK);
    state_diff_free(g);
    exec_config cfg;
    exec_config_default(&cfg);
    assert_int_equal(exec_new(&w->e, w->f, &cfg, NULL), WEFT_OK);
}

static void world_close(world *w)
{
    exec_free(w->e);
    state_final_close(w->f);
    state_memkv_free(w->kv);
}

/* A transfer by account `from` expiring at `expire`; `nonce` makes its id unique. */
static void make_op(world *w, signed_op_t *out, int from, uint64_t expire, uint64_t nonce)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(10);
    op.expire_period = expire;
    op.type = OP_TRANSACTION;
    op.u.transaction.recipient = w->a[(from + 1) % NACC];
    op.u.transaction.amount = amount_from_nano(1 + nonce);
    wr_t wr;
    wr_init(&wr);
    op_encode(&wr, &op);
    signature_t sig; /* execution does not check signatures */
    memset(&sig, 0, sizeof sig);
    assert_int_equal(
        signed_op_from_parts(out, w->p.chain_id, &w->kp[from].pk, &sig, wr.buf, wr.len), WEFT_OK);
    wr_free(&wr);
}

/* A view over the final state and the whole speculative history, with a writable scratch top. */
typedef struct hview {
    state_view_t v;
    const state_diff_t **layers;
    state_diff_t *top;
} hview;

static void hview_open(hview *h, world *w)
{
    size_t n = exec_history_len(w->e);
    h->layers = calloc(n ? n : 1, sizeof *h->layers);
    assert_non_null(h->layers);
    for (size_t i = 0; i < n; i++)
        h->layers[i] = exec_history_at(w->e, i)->diff;
    assert_int_equal(state_diff_new(&h->top), WEFT_OK);
    state_view_init(&h->v, w->f, h->layers, n, h->top);
}

static void hview_close(hview *h)
{
    state_view_free(&h->v);
    state_diff_free(h->top);
    free(h->layers);
}

/* After a slot of period p: nothing below p is left, and the accepted operations are remembered
 * exactly while their expire period is ≥ p. */
static void check_after(world *w, uint64_t p)
{
    hview h;
    hview_open(&h, w);
    for (size_t i = 0; i < w->nacc; i++) {
        bool executed;
        assert_int_equal(state_op_executed(&h.v, &w->acc[i], &executed, NULL), WEFT_OK);
        assert_int_equal(executed, w->acc_exp[i] >= p);
    }
    assert_int_equal(state_ops_prune(&h.v, p), WEFT_OK);
    assert_int_equal(state_diff_count(h.top), 0);
    hview_close(&h);
}

static void test_prune_one_period(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), WEFT_OK);
    uint64_t seed = test_seed();
    for (int round = 0; round < 8; round++) {
        world *w = malloc(sizeof *w);
        assert_non_null(w);
        world_open(w);
        test_rng r;
        test_rng_init(&r, seed + (uint64_t)round);
        uint64_t nonce = 0;
        for (uint64_t p = 0; p < NPERIOD; p++)
            for (uint8_t t = 0; t < 2; t++) {
                exec_slot_in in = {.slot = {p, t}, .producer = w->a[t * NACC / 2]};
                exec_block b;
                memset(&b, 0, sizeof b);
                signed_op_t ops[MAXOPS];
                const signed_op_t *op_ptrs[MAXOPS];
                size_t nops = 0;
                if (p > 0 && test_rng_below(&r, 5) != 0) { /* some misses */
                    test_rng_bytes(&r, b.id.h.b, 32);
                    b.creator = in.producer;
                    b.endorsed_creator = in.producer;
                    nops = test_rng_below(&r, MAXOPS + 1);
                    for (size_t k = 0; k < nops; k++) {
                        int from = t * NACC / 2 + (int)test_rng_below(&r, NACC / 2);
                        if (k > 0 && test_rng_below(&r, 6) == 0) { /* a replay in the block */
                            assert_int_equal(signed_op_from_parts(
                                                 &ops[k], w->p.chain_id, &ops[0].creator,
                                                 &ops[0].sig, ops[0].content, ops[0].content_len),
                                             WEFT_OK);
                        } else {
                            /* mostly within the validity window, sometimes already expired */
                            uint64_t exp = p + test_rng_below(&r, w->p.operation_validity_periods);
                            if (test_rng_below(&r, 8) == 0 && p > 0)
                                exp = p - 1;
                            make_op(w, &ops[k], from, exp, nonce++);
                        }
                        op_ptrs[k] = &ops[k];
                    }
                    b.ops = op_ptrs;
                    b.op_count = nops;
                    in.block = &b;
                }
                assert_int_equal(exec_push(w->e, &in), WEFT_OK);
                const exec_output *o = exec_history_at(w->e, exec_history_len(w->e) - 1);
                for (size_t k = 0; k < o->result_count; k++) {
                    if (o->results[k].status == WEFT_E_EXEC_OP_REPLAY)
                        w->replays++;
                    if (o->results[k].status == WEFT_E_EXEC_OP_PERIOD)
                        w->rejected_period++;
                    if (!o->results[k].accepted)
                        continue;
                    assert_true(w->nacc < MAXACC);
                    w->acc[w->nacc] = o->results[k].id;
                    w->acc_exp[w->nacc++] = ops[k].op.expire_period;
                }
                for (size_t k = 0; k < nops; k++)
                    signed_op_free(&ops[k]);
                check_after(w, p);
                /* finalize now and then: the records then come from the final state */
                while (exec_history_len(w->e) > 0 && test_rng_below(&r, 3) == 0) {
                    const exec_output *h0 = exec_history_at(w->e, 0);
                    exec_slot_in fin = {.slot = h0->slot, .producer = h0->producer};
                    exec_block fb;
                    if (h0->has_block) { /* the same content: the cached output is written */
                        memset(&fb, 0, sizeof fb);
                        fb.id = h0->block;
                        fin.block = &fb;
                    }
                    bool hit = false;
                    assert_int_equal(exec_finalize(w->e, &fin, &hit, NULL), WEFT_OK);
                    assert_true(hit);
                    check_after(w, p);
                }
            }
        /* the histories exercise the rules: operations expired and replayed */
        assert_true(w->nacc > 0);
        assert_true(w->replays > 0 && w->rejected_period > 0);
        assert_int_equal(state_final_verify(w->f), WEFT_OK);
        world_close(w);
        free(w);
    }
}

/* state_ops_prune_range removes exactly the records of its range, from the final state and from
 * the layers; an empty range removes nothing. */
static void test_prune_range(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    state_memkv_t *kv;
    state_final_t *f;
    assert_int_equal(state_memkv_new(&kv), WEFT_OK);
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(kv)), WEFT_OK);
    state_diff_t *g, *layer, *top;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    assert_int_equal(state_diff_new(&layer), WEFT_OK);
    assert_int_equal(state_diff_new(&top), WEFT_OK);
    op_id_t id[8];
    state_view_t v;
    state_view_init(&v, f, NULL, 0, g);
    for (int i = 0; i < 4; i++) { /* expire periods 1..4 in the final state */
        memset(&id[i], 0x10 + i, sizeof id[i]);
        assert_int_equal(state_op_mark(&v, &id[i], 1 + (uint64_t)i, true), WEFT_OK);
    }
    state_view_free(&v);
    assert_int_equal(state_final_genesis(f, g), WEFT_OK);
    const state_diff_t *layers[1] = {layer};
    state_view_init(&v, f, NULL, 0, layer);
    for (int i = 4; i < 8; i++) { /* expire periods 1..4 again in a layer */
        memset(&id[i], 0x10 + i, sizeof id[i]);
        assert_int_equal(state_op_mark(&v, &id[i], 1 + (uint64_t)(i - 4), false), WEFT_OK);
    }
    state_view_free(&v);
    state_view_init(&v, f, layers, 1, top);
    assert_int_equal(state_ops_prune_range(&v, 3, 3), WEFT_OK);
    assert_int_equal(state_diff_count(top), 0);
    assert_int_equal(state_ops_prune_range(&v, 2, 4), WEFT_OK); /* expire 2 and 3 */
    for (int i = 0; i < 8; i++) {
        bool executed;
        uint64_t exp = 1 + (uint64_t)(i % 4);
        assert_int_equal(state_op_executed(&v, &id[i], &executed, NULL), WEFT_OK);
        assert_int_equal(executed, exp < 2 || exp >= 4);
    }
    assert_int_equal(state_diff_count(top), 8); /* ops and ops_expiry records of 4 operations */
    state_view_free(&v);
    state_diff_free(g);
    state_diff_free(layer);
    state_diff_free(top);
    state_final_close(f);
    state_memkv_free(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_one_period),
        cmocka_unit_test(test_prune_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
