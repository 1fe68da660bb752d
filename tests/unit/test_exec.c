/* Unit tests of src/exec over the in-memory kv: hand-built multi-slot histories for each rule of
 * docs/consensus.md §3 — balances and fees, fees kept on failure with an error event, replay,
 * wrong thread, the expiry window, block gas, unpayable fees, roll purchase and sale timing,
 * deferred credits, the reward split to the nanoMAS, misses and auto-sell, smart-contract
 * operations without a VM and through a test VM (kept on success, reverted on failure) — and the
 * speculative executor's cache, truncation and re-execution. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "testutil.h"

#define NACC 6 /* accounts 0..2 in thread 0, 3..5 in thread 1 */
#define BAL 1000000u
#define ROLL_PRICE 1000u
#define REWARD 900u /* E = 2: 9 units, part = 100 without fees */

typedef struct env {
    model_params p;
    exec_config cfg;
    state_memkv_t *kv;
    state_final_t *f;
    exec_t *e;
    keypair_t kp[NACC];
    address_t a[NACC];
    address_t filler; /* drawn producer of filler misses: no entry, no rolls */
    signed_op_t *ops[256];
    size_t nops;
} env;

static void setup_params(model_params *p, uint64_t periods_per_cycle)
{
    model_params_default(p);
    p->thread_count = 2;
    p->t0_ms = 1000;
    p->periods_per_cycle = periods_per_cycle;
    p->endorsement_count = 2;
    p->operation_validity_periods = 10;
    p->roll_price = ROLL_PRICE;
    p->block_reward = REWARD;
    assert_int_equal(model_params_check(p), WEFT_OK);
}

static void env_open_p(env *v, const exec_vm_t *vm, const uint64_t rolls[NACC], uint64_t ppc)
{
    memset(v, 0, sizeof *v);
    assert_int_equal(crypto_init(), WEFT_OK);
    setup_params(&v->p, ppc);
    exec_config_default(&v->cfg);
    /* keys whose addresses fall three in each thread */
    int got[2] = {0, 0};
    for (uint8_t s = 1; got[0] < 3 || got[1] < 3; s++) {
        uint8_t seed[32] = {s};
        keypair_t kp;
        address_t a;
        keypair_from_seed(&kp, seed);
        address_of_pubkey(&a, &kp.pk);
        int t = address_thread(&a, 2);
        if (got[t] == 3)
            continue;
        int i = 3 * t + got[t]++;
        v->kp[i] = kp;
        v->a[i] = a;
    }
    memset(&v->filler, 0x77, sizeof v->filler);
    v->filler.kind = ADDRESS_USER;
    assert_int_equal(state_memkv_new(&v->kv), WEFT_OK);
    assert_int_equal(state_final_open(&v->f, &v->p, state_memkv_kv(v->kv)), WEFT_OK);
    state_diff_t *g;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    state_view_t w;
    state_view_init(&w, v->f, NULL, 0, g);
    for (int i = 0; i < NACC; i++) {
        assert_int_equal(state_balance_set(&w, &v->a[i], amount_from_nano(BAL)), WEFT_OK);
        assert_int_equal(state_rolls_set(&w, &v->a[i], rolls ? rolls[i] : 0), WEFT_OK);
    }
    state_view_free(&w);
    assert_int_equal(state_final_genesis(v->f, g), WEFT_OK);
    state_diff_free(g);
    assert_int_equal(exec_new(&v->e, v->f, &v->cfg, vm), WEFT_OK);
}

static void env_open(env *v, const exec_vm_t *vm, const uint64_t rolls[NACC])
{
    env_open_p(v, vm, rolls, 4);
}

static void env_close(env *v)
{
    exec_free(v->e);
    state_final_close(v->f);
    state_memkv_free(v->kv);
    for (size_t i = 0; i < v->nops; i++) {
        signed_op_free(v->ops[i]);
        free(v->ops[i]);
    }
}

static const signed_op_t *mk(env *v, int from, const operation_t *op)
{
    wr_t w;
    wr_init(&w);
    op_encode(&w, op);
    assert_int_equal(wr_err(&w), WEFT_OK);
    signed_op_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    signature_t sig;
    memset(&sig, 0, sizeof sig); /* execution does not check signatures */
    assert_int_equal(signed_op_from_parts(s, v->p.chain_id, &v->kp[from].pk, &sig, w.buf, w.len),
                     WEFT_OK);
    wr_free(&w);
    assert_true(v->nops < 256);
    v->ops[v->nops++] = s;
    return s;
}

static const signed_op_t *tx(env *v, int from, const address_t *to, uint64_t fee, uint64_t amount,
                             uint64_t expire)
{
    operation_t op = {
        .fee = amount_from_nano(fee), .expire_period = expire, .type = OP_TRANSACTION};
    op.u.transaction.recipient = *to;
    op.u.transaction.amount = amount_from_nano(amount);
    return mk(v, from, &op);
}

static const signed_op_t *roll(env *v, int from, int type, uint64_t fee, uint64_t n,
                               uint64_t expire)
{
    operation_t op = {.fee = amount_from_nano(fee), .expire_period = expire, .type = (uint8_t)type};
    op.u.roll.roll_count = n;
    return mk(v, from, &op);
}

static const signed_op_t *exec_sc_op(env *v, int from, uint64_t fee, uint64_t gas, uint64_t expire)
{
    static uint8_t code[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    operation_t op = {.fee = amount_from_nano(fee), .expire_period = expire, .type = OP_EXECUTE_SC};
    op.u.execute_sc.max_gas = gas;
    op.u.execute_sc.max_coins = amount_from_nano(50);
    op.u.execute_sc.bytecode = code;
    op.u.execute_sc.bytecode_len = sizeof code;
    return mk(v, from, &op);
}

static exec_block block(env *v, uint8_t idb, int creator, const signed_op_t *const *ops, size_t n)
{
    exec_block b;
    memset(&b, 0, sizeof b);
    memset(b.id.h.b, idb, sizeof b.id.h.b);
    b.creator = v->a[creator];
    b.ops = ops;
    b.op_count = n;
    return b;
}

static uint64_t bal(env *v, const address_t *a)
{
    state_view_t w;
    amount_t x;
    exec_view(v->e, &w);
    weft_err err = state_balance_get(&w, a, &x);
    state_view_free(&w);
    if (err == WEFT_E_NOT_FOUND)
        return 0;
    assert_int_equal(err, WEFT_OK);
    return x.nano;
}

static uint64_t rolls_of(env *v, const address_t *a)
{
    state_view_t w;
    uint64_t r;
    exec_view(v->e, &w);
    assert_int_equal(state_rolls_get(&w, a, &r), WEFT_OK);
    state_view_free(&w);
    return r;
}

static bool executed(env *v, const signed_op_t *s, bool *success)
{
    state_view_t w;
    bool ex;
    exec_view(v->e, &w);
    assert_int_equal(state_op_executed(&w, &s->id, &ex, success), WEFT_OK);
    state_view_free(&w);
    return ex;
}

/* Executes the next slot speculatively then finalizes it (a cache hit); returns its output. */
static void step(env *v, const exec_block *b, const address_t *producer, exec_output *out)
{
    exec_slot_in in;
    assert_int_equal(exec_next_slot(v->e, &in.slot), WEFT_OK);
    in.producer = producer ? *producer : b ? b->creator : v->filler;
    in.block = b;
    assert_int_equal(exec_push(v->e, &in), WEFT_OK);
    bool hit = false;
    exec_output o = {0};
    assert_int_equal(exec_finalize(v->e, &in, &hit, &o), WEFT_OK);
    assert_true(hit);
    if (out)
        *out = o;
    else
        exec_output_free(&o);
}

/* Misses by the filler producer until slot s is next. */
static void advance_to(env *v, slot_t s)
{
    slot_t n;
    for (;;) {
        assert_int_equal(exec_next_slot(v->e, &n), WEFT_OK);
        if (slot_cmp(n, s) >= 0)
            break;
        step(v, NULL, NULL, NULL);
    }
    assert_int_equal(slot_cmp(n, s), 0);
}

/* ---- operations ------------------------------------------------------------------------------ */

static void test_transfer_and_fee(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    address_t fresh;
    memset(&fresh, 0x42, sizeof fresh);
    fresh.kind = ADDRESS_USER;
    const signed_op_t *ops[] = {tx(&v, 0, &v.a[1], 10, 5000, 5), tx(&v, 1, &fresh, 7, 300, 5)};
    exec_block b = block(&v, 1, 2, ops, 2);
    exec_output o;
    step(&v, &b, NULL, &o); /* slot (0,0) */
    assert_int_equal(o.result_count, 2);
    assert_int_equal(o.results[0].status, WEFT_OK);
    assert_int_equal(o.results[1].status, WEFT_OK);
    assert_int_equal(o.event_count, 0);
    assert_int_equal(o.credits.nano, REWARD + 17);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[0]), BAL - 10 - 5000);
    assert_int_equal(bal(&v, &v.a[1]), BAL + 5000 - 7 - 300);
    assert_int_equal(bal(&v, &fresh), 300); /* a new user entry */
    /* producer: 917 = 9 × 101 + 8 → 3 parts + remainder, no endorsement */
    assert_int_equal(bal(&v, &v.a[2]), BAL + 3 * 101 + 8);
    bool ok;
    assert_true(executed(&v, ops[0], &ok));
    assert_true(ok);
    env_close(&v);
}

static void test_failure_keeps_fee(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    address_t sc;
    memset(&sc, 0x55, sizeof sc);
    sc.kind = ADDRESS_SC;
    const signed_op_t *ops[] = {
        tx(&v, 0, &v.a[1], 10, BAL, 5),      /* amount + fee > balance: fails */
        tx(&v, 1, &sc, 20, 5, 5),            /* SC recipient without entry: fails */
        roll(&v, 2, OP_ROLL_SELL, 30, 1, 5), /* no rolls to sell: fails */
    };
    exec_block b = block(&v, 1, 0, ops, 3);
    exec_output o;
    step(&v, &b, NULL, &o);
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_INSUFFICIENT);
    assert_int_equal(o.results[1].status, WEFT_E_EXEC_RECIPIENT);
    assert_int_equal(o.results[2].status, WEFT_E_EXEC_ROLL_COUNT);
    for (int i = 0; i < 3; i++)
        assert_true(o.results[i].accepted);
    assert_int_equal(o.event_count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const exec_event_t *ev = &o.events[i];
        assert_true(ev->is_error);
        assert_int_equal(ev->index, i);
        assert_true(ev->has_op && ev->has_block);
        assert_memory_equal(ev->op.h.b, ops[i]->id.h.b, 32);
        assert_int_equal(ev->call_stack_len, 1);
        json_error_t je;
        json_t *j = json_loads(ev->data, 0, &je);
        assert_non_null(j);
        assert_true(json_is_string(json_object_get(j, "massa_execution_error")));
        json_decref(j);
    }
    assert_non_null(strstr(o.events[0].data, "insufficient balance"));
    assert_int_equal(o.credits.nano, REWARD + 60);
    exec_output_free(&o);
    /* fees taken (the producer a0 also got its reward), nothing else moved */
    assert_int_equal(bal(&v, &v.a[1]), BAL - 20);
    assert_int_equal(bal(&v, &v.a[2]), BAL - 30);
    assert_int_equal(bal(&v, &sc), 0);
    /* credits 960 = 9 × 106 + 6 */
    assert_int_equal(bal(&v, &v.a[0]), BAL - 10 + 3 * 106 + 6);
    bool ok = true;
    assert_true(executed(&v, ops[0], &ok));
    assert_false(ok);
    env_close(&v);
}

static void test_replay_thread_window_fee(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    const signed_op_t *t1 = tx(&v, 0, &v.a[1], 10, 100, 10);
    const signed_op_t *ops1[] = {t1, t1};
    exec_block b1 = block(&v, 1, 2, ops1, 2);
    exec_output o;
    step(&v, &b1, NULL, &o); /* (0,0) */
    assert_int_equal(o.results[0].status, WEFT_OK);
    assert_int_equal(o.results[1].status, WEFT_E_EXEC_OP_REPLAY);
    assert_false(o.results[1].accepted);
    exec_output_free(&o);
    step(&v, NULL, NULL, NULL); /* (0,1) */
    /* in a later slot: replay again; a thread-1 creator in a thread-0 block; a fee above the
     * balance; an unknown creator */
    keypair_t nobody;
    uint8_t seed[32] = {200};
    keypair_from_seed(&nobody, seed);
    address_t na;
    address_of_pubkey(&na, &nobody.pk);
    const signed_op_t *wrong = tx(&v, 3, &v.a[0], 10, 100, 10);
    const signed_op_t *rich = tx(&v, 1, &v.a[0], BAL + 1000, 0, 10);
    const signed_op_t *ops2[] = {t1, wrong, rich};
    exec_block b2 = block(&v, 2, 2, ops2, 3);
    step(&v, &b2, NULL, &o); /* (1,0) */
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_OP_REPLAY);
    assert_int_equal(o.results[1].status, WEFT_E_EXEC_OP_THREAD);
    assert_int_equal(o.results[2].status, WEFT_E_EXEC_OP_FEE);
    assert_int_equal(o.event_count, 0);
    assert_int_equal(o.credits.nano, REWARD);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[0]), BAL - 110);
    assert_int_equal(bal(&v, &v.a[1]), BAL + 100);
    assert_int_equal(bal(&v, &v.a[3]), BAL);
    assert_false(executed(&v, wrong, NULL));
    assert_false(executed(&v, rich, NULL));

    /* the window [expire − 10, expire]: expire 15 is valid from period 5 to 15 */
    const signed_op_t *w[4] = {tx(&v, 0, &v.a[1], 1, 1, 15), tx(&v, 0, &v.a[1], 2, 1, 15),
                               tx(&v, 0, &v.a[1], 3, 1, 15), tx(&v, 0, &v.a[1], 4, 1, 15)};
    uint64_t periods[4] = {4, 5, 15, 16};
    weft_err want[4] = {WEFT_E_EXEC_OP_PERIOD, WEFT_OK, WEFT_OK, WEFT_E_EXEC_OP_PERIOD};
    for (int i = 0; i < 4; i++) {
        advance_to(&v, (slot_t){periods[i], 0});
        exec_block bw = block(&v, (uint8_t)(10 + i), 2, &w[i], 1);
        step(&v, &bw, NULL, &o);
        assert_int_equal(o.results[0].status, want[i]);
        exec_output_free(&o);
        if (i == 2) /* executed at its expire period 15: remembered through period 15 */
            assert_true(executed(&v, w[2], NULL));
    }
    /* t1 expired at 10: its record is pruned from period 11 on */
    assert_false(executed(&v, t1, NULL));
    assert_false(executed(&v, w[2], NULL)); /* pruned before the ops of period 16 */
    env_close(&v);
}

static void test_block_gas(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    exec_free(v.e);
    v.cfg.max_block_gas = 100;
    assert_int_equal(exec_new(&v.e, v.f, &v.cfg, NULL), WEFT_OK);
    const signed_op_t *ops[] = {exec_sc_op(&v, 0, 5, 60, 5), exec_sc_op(&v, 1, 5, 60, 5),
                                exec_sc_op(&v, 1, 6, 40, 5), tx(&v, 2, &v.a[0], 1, 1, 5)};
    exec_block b = block(&v, 1, 0, ops, 4);
    exec_output o;
    step(&v, &b, NULL, &o);
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_NO_VM);
    assert_int_equal(o.results[1].status, WEFT_E_EXEC_OP_GAS);
    assert_int_equal(o.results[2].status, WEFT_E_EXEC_NO_VM); /* 60 + 40 fits */
    assert_int_equal(o.results[3].status, WEFT_OK);
    assert_int_equal(o.credits.nano, REWARD + 12);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[1]), BAL - 6);
    env_close(&v);
}

/* ---- smart contracts ---------------------------------------------------------------------------
 */

static void test_sc_without_vm(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    operation_t call = {.fee = amount_from_nano(9), .expire_period = 3, .type = OP_CALL_SC};
    call.u.call_sc.max_gas = 1000;
    call.u.call_sc.coins = amount_from_nano(70);
    call.u.call_sc.target = v.a[2];
    call.u.call_sc.function = (char *)"main";
    call.u.call_sc.function_len = 4;
    const signed_op_t *ops[] = {exec_sc_op(&v, 0, 11, 1000, 3), mk(&v, 1, &call)};
    exec_block b = block(&v, 1, 2, ops, 2);
    exec_output o;
    step(&v, &b, NULL, &o);
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_NO_VM);
    assert_int_equal(o.results[1].status, WEFT_E_EXEC_NO_VM);
    assert_int_equal(o.event_count, 2);
    assert_true(o.events[0].is_error && o.events[1].is_error);
    assert_non_null(strstr(o.events[1].data, "no contract VM bound"));
    assert_memory_equal(o.events[0].call_stack[0].hash.b, v.a[0].hash.b, 32);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[0]), BAL - 11);
    assert_int_equal(bal(&v, &v.a[1]), BAL - 9); /* coins did not move */
    bool ok = true;
    assert_true(executed(&v, ops[1], &ok));
    assert_false(ok);
    env_close(&v);
}

/* A test VM: writes a datastore entry under the caller, emits an event, spends `spend` of the
 * caller's coins, then fails if the operation's max_gas is odd. */
typedef struct test_vm {
    uint64_t spend;
    int calls;
} test_vm;

static weft_err tvm_run(void *self, exec_sc_call_t *c)
{
    test_vm *t = self;
    t->calls++;
    weft_err err =
        state_ds_set(c->view, c->caller, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1);
    if (err)
        return err;
    if ((err = c->emit(c->emit_ctx, c->caller, 1, "hello", 5)))
        return err;
    char big[EXEC_EVENT_DATA_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(c->emit(c->emit_ctx, c->caller, 1, big, sizeof big), WEFT_E_LIMIT);
    amount_t b;
    if ((err = state_balance_get(c->view, c->caller, &b)))
        return err;
    assert_true(amount_sub(&b, b, amount_from_nano(t->spend)));
    if ((err = state_balance_set(c->view, c->caller, b)))
        return err;
    c->gas_used = c->max_gas / 2;
    if (c->max_gas % 2) {
        c->failure = WEFT_E_VM_TRAP_UNREACHABLE;
        strcpy(c->message, "contract said \"no\"");
    }
    return WEFT_OK;
}

static void test_sc_with_vm(void **state)
{
    (void)state;
    static const exec_vm_vtbl vt = {tvm_run};
    test_vm t = {.spend = 20};
    exec_vm_t vm = {&vt, &t};
    env v;
    env_open(&v, &vm, NULL);
    const signed_op_t *ops[] = {exec_sc_op(&v, 0, 1, 1000, 3), exec_sc_op(&v, 1, 1, 1001, 3),
                                exec_sc_op(&v, 2, 1, 2000, 3)};
    t.spend = 20;
    exec_block b = block(&v, 1, 0, ops, 2);
    exec_output o;
    step(&v, &b, NULL, &o);
    assert_int_equal(t.calls, 2);
    assert_int_equal(o.results[0].status, WEFT_OK);
    assert_int_equal(o.results[1].status, WEFT_E_VM_TRAP_UNREACHABLE);
    /* the success's event, then only the failure's error event (its "hello" is dropped) */
    assert_int_equal(o.event_count, 2);
    assert_false(o.events[0].is_error);
    assert_string_equal(o.events[0].data, "hello");
    assert_true(o.events[1].is_error);
    assert_int_equal(o.events[1].index, 1);
    json_error_t je;
    json_t *j = json_loads(o.events[1].data, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "massa_execution_error")),
                        "unreachable: contract said \"no\"");
    json_decref(j);
    exec_output_free(&o);
    state_view_t w;
    const uint8_t *val;
    size_t vlen;
    exec_view(v.e, &w);
    assert_int_equal(state_ds_get(&w, &v.a[0], (const uint8_t *)"k", 1, &val, &vlen), WEFT_OK);
    assert_int_equal(state_ds_get(&w, &v.a[1], (const uint8_t *)"k", 1, &val, &vlen),
                     WEFT_E_NOT_FOUND);
    state_view_free(&w);
    assert_int_equal(bal(&v, &v.a[1]), BAL - 1);
    /* spending more than max_coins (50) fails the operation */
    t.spend = 51;
    exec_block b2 = block(&v, 2, 0, &ops[2], 1);
    step(&v, NULL, NULL, NULL); /* (0,1) */
    step(&v, &b2, NULL, &o);    /* (1,0) */
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_MAX_SPENDING);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[2]), BAL - 1);
    env_close(&v);
}

/* ---- rewards --------------------------------------------------------------------------------- */

static void test_reward_split(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    /* two endorsements: credits 900 + 23 = 923 = 9 × 102 + 5 */
    const signed_op_t *ops[] = {tx(&v, 1, &v.a[0], 23, 0, 3)};
    exec_block b = block(&v, 1, 0, ops, 1);
    b.endorsement_count = 2;
    b.endorsers[0] = v.a[3];
    b.endorsers[1] = v.a[3]; /* the same address may endorse twice */
    b.endorsed_creator = v.a[4];
    step(&v, &b, NULL, NULL);
    assert_int_equal(bal(&v, &v.a[0]), BAL + 5 * 102 + 5);
    assert_int_equal(bal(&v, &v.a[1]), BAL - 23);
    assert_int_equal(bal(&v, &v.a[3]), BAL + 2 * 102);
    assert_int_equal(bal(&v, &v.a[4]), BAL + 2 * 102);
    /* one endorsement: 900 = 9 × 100; the parts of the missing one are not minted */
    exec_block b2 = block(&v, 2, 3, NULL, 0);
    b2.endorsement_count = 1;
    b2.endorsers[0] = v.a[5];
    b2.endorsed_creator = v.a[0];
    step(&v, &b2, NULL, NULL);
    assert_int_equal(bal(&v, &v.a[3]), BAL + 2 * 102 + 400);
    assert_int_equal(bal(&v, &v.a[5]), BAL + 100);
    assert_int_equal(bal(&v, &v.a[0]), BAL + 5 * 102 + 5 + 100);
    /* too many endorsements is a bad input, not an abort */
    exec_block b3 = block(&v, 3, 0, NULL, 0);
    b3.endorsement_count = 3;
    exec_slot_in in = {.slot = {1, 0}, .producer = v.a[0], .block = &b3};
    assert_int_equal(exec_push(v.e, &in), WEFT_E_EXEC_INPUT);
    in.slot.period = 2;
    b3.endorsement_count = 0;
    assert_int_equal(exec_push(v.e, &in), WEFT_E_EXEC_SLOT);
    assert_int_equal(exec_history_len(v.e), 0);
    env_close(&v);
}

/* ---- rolls ----------------------------------------------------------------------------------- */

static void test_roll_timing(void **state)
{
    (void)state;
    uint64_t rolls[NACC] = {0, 0, 0, 5, 0, 0};
    env v;
    env_open(&v, NULL, rolls);
    /* cycle 0 = periods 0..3 (P = 4); a sale in cycle 1 is paid at the last slot of cycle 4,
     * (19, 1) */
    const signed_op_t *buy = roll(&v, 0, OP_ROLL_BUY, 1, 3, 5);
    exec_block b = block(&v, 1, 0, &buy, 1);
    step(&v, &b, NULL, NULL); /* (0,0) */
    assert_int_equal(rolls_of(&v, &v.a[0]), 3);
    assert_int_equal(bal(&v, &v.a[0]), BAL - 1 - 3 * ROLL_PRICE + 3 * 100 + 1); /* 901 = 9×100+1 */
    const signed_op_t *toomany = roll(&v, 3, OP_ROLL_SELL, 1, 6, 8);
    const signed_op_t *sell = roll(&v, 3, OP_ROLL_SELL, 1, 2, 8);
    const signed_op_t *sells[] = {toomany, sell};
    advance_to(&v, (slot_t){4, 1});
    exec_block b2 = block(&v, 2, 5, sells, 2);
    exec_output o;
    step(&v, &b2, NULL, &o); /* (4,1), cycle 1 */
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_ROLL_COUNT);
    assert_int_equal(o.results[1].status, WEFT_OK);
    exec_output_free(&o);
    assert_int_equal(rolls_of(&v, &v.a[3]), 3);
    uint64_t before = BAL - 2;
    assert_int_equal(bal(&v, &v.a[3]), before);
    state_view_t w;
    amount_t due;
    exec_view(v.e, &w);
    assert_int_equal(state_credit_get(&w, (slot_t){19, 1}, &v.a[3], &due), WEFT_OK);
    state_view_free(&w);
    assert_int_equal(due.nano, 2 * ROLL_PRICE);
    advance_to(&v, (slot_t){19, 1});
    assert_int_equal(bal(&v, &v.a[3]), before);
    step(&v, NULL, &v.a[3], NULL); /* (19,1): a miss of a[3] itself, paid anyway */
    assert_int_equal(bal(&v, &v.a[3]), before + 2 * ROLL_PRICE);
    exec_view(v.e, &w);
    assert_int_equal(state_credit_get(&w, (slot_t){19, 1}, &v.a[3], &due), WEFT_OK);
    state_view_free(&w);
    assert_int_equal(due.nano, 0);
    env_close(&v);
}

static void test_misses_and_autosell(void **state)
{
    (void)state;
    uint64_t rolls[NACC] = {4, 4, 4, 0, 0, 0};
    env v;
    env_open(&v, NULL, rolls);
    /* cycle 0 (8 slots): a0 drawn 4 times, 1 block, 3 misses (75%: sold at the cycle's end);
     * a2 1 of 2 (50%); a1 2 of 2 produced */
    const int prod[8] = {0, 0, 0, 0, 2, 2, 1, 1};
    const bool has[8] = {true, false, false, false, true, false, true, true};
    for (int i = 0; i < 8; i++) {
        exec_block b = block(&v, (uint8_t)(i + 1), prod[i], NULL, 0);
        step(&v, has[i] ? &b : NULL, &v.a[prod[i]], NULL);
        if (i == 6) /* not before the end of the cycle */
            assert_int_equal(rolls_of(&v, &v.a[0]), 4);
    }
    state_view_t w;
    uint64_t produced, missed;
    exec_view(v.e, &w);
    assert_int_equal(state_prod_get(&w, 0, &v.a[0], &produced, &missed), WEFT_OK);
    state_view_free(&w);
    assert_int_equal(produced, 1);
    assert_int_equal(missed, 3);
    assert_int_equal(rolls_of(&v, &v.a[0]), 0);
    assert_int_equal(rolls_of(&v, &v.a[1]), 4);
    assert_int_equal(rolls_of(&v, &v.a[2]), 4);
    amount_t due;
    exec_view(v.e, &w);
    assert_int_equal(state_credit_get(&w, (slot_t){15, 1}, &v.a[0], &due), WEFT_OK);
    state_view_free(&w);
    assert_int_equal(due.nano, 4 * ROLL_PRICE); /* paid at the end of cycle 3 */
    /* cycle 1: a1 produces 1 of 8 */
    for (int i = 0; i < 8; i++) {
        exec_block b = block(&v, (uint8_t)(20 + i), 1, NULL, 0);
        step(&v, i == 0 ? &b : NULL, &v.a[1], NULL);
    }
    assert_int_equal(rolls_of(&v, &v.a[1]), 0);
    assert_int_equal(rolls_of(&v, &v.a[2]), 4);
    advance_to(&v, (slot_t){15, 1});
    uint64_t before = bal(&v, &v.a[0]);
    step(&v, NULL, NULL, NULL);
    assert_int_equal(bal(&v, &v.a[0]), before + 4 * ROLL_PRICE);
    env_close(&v);
}

static void test_autosell_boundary(void **state)
{
    (void)state;
    uint64_t rolls[NACC] = {4, 0, 0, 0, 0, 0};
    env v;
    env_open_p(&v, NULL, rolls, 5); /* 10 slots per cycle */
    /* cycle 0: 7 misses of 10 draws is exactly 70%, not over: kept */
    for (int i = 0; i < 10; i++) {
        exec_block b = block(&v, (uint8_t)(i + 1), 0, NULL, 0);
        step(&v, i < 3 ? &b : NULL, &v.a[0], NULL);
    }
    assert_int_equal(rolls_of(&v, &v.a[0]), 4);
    /* cycle 1: 8 of 10 (each cycle counts on its own): sold */
    for (int i = 0; i < 10; i++) {
        exec_block b = block(&v, (uint8_t)(i + 20), 0, NULL, 0);
        step(&v, i < 2 ? &b : NULL, &v.a[0], NULL);
    }
    assert_int_equal(rolls_of(&v, &v.a[0]), 0);
    env_close(&v);
}

/* ---- speculative history -----------------------------------------------------------------------
 */

static void test_speculative_history(void **state)
{
    (void)state;
    env v;
    env_open(&v, NULL, NULL);
    const signed_op_t *t1 = tx(&v, 0, &v.a[1], 10, 1000, 9);
    const signed_op_t *t2 = tx(&v, 3, &v.a[4], 10, 2000, 9);
    exec_block ba = block(&v, 1, 2, &t1, 1), bb = block(&v, 2, 5, &t2, 1);
    exec_block ba2 = block(&v, 3, 1, &t1, 1);
    exec_slot_in s[3] = {{{0, 0}, v.a[2], &ba}, {{0, 1}, v.a[5], &bb}, {{1, 0}, v.a[2], NULL}};
    size_t ex;
    assert_int_equal(exec_set_blockclique(v.e, s, 3, &ex), WEFT_OK);
    assert_int_equal(ex, 3);
    assert_int_equal(bal(&v, &v.a[1]), BAL + 1000);
    assert_int_equal(bal(&v, &v.a[4]), BAL + 2000);
    /* the same blockclique: nothing re-executed */
    assert_int_equal(exec_set_blockclique(v.e, s, 3, &ex), WEFT_OK);
    assert_int_equal(ex, 0);
    /* slot (0,0) changes block: everything from it re-executes */
    s[0].block = &ba2;
    s[0].producer = v.a[1];
    assert_int_equal(exec_set_blockclique(v.e, s, 2, &ex), WEFT_OK);
    assert_int_equal(ex, 2);
    assert_int_equal(exec_history_len(v.e), 2);
    assert_int_equal(bal(&v, &v.a[2]), BAL);
    /* the final content of (0,0) is ba after all: cache miss, history cleared */
    s[0].block = &ba;
    s[0].producer = v.a[2];
    bool hit = true;
    assert_int_equal(exec_finalize(v.e, &s[0], &hit, NULL), WEFT_OK);
    assert_false(hit);
    assert_int_equal(exec_history_len(v.e), 0);
    assert_int_equal(exec_finalize(v.e, &s[2], &hit, NULL), WEFT_E_EXEC_SLOT);
    assert_int_equal(exec_set_blockclique(v.e, &s[1], 2, &ex), WEFT_OK);
    assert_int_equal(exec_finalize(v.e, &s[1], &hit, NULL), WEFT_OK);
    assert_true(hit);
    assert_int_equal(exec_history_len(v.e), 1);
    exec_truncate(v.e, (slot_t){1, 0});
    assert_int_equal(exec_history_len(v.e), 0);
    assert_int_equal(bal(&v, &v.a[4]), BAL + 2000);
    assert_int_equal(bal(&v, &v.a[2]), BAL + 3 * 101 + 1); /* 910 = 9 × 101 + 1 */
    env_close(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_and_fee),
        cmocka_unit_test(test_failure_keeps_fee),
        cmocka_unit_test(test_replay_thread_window_fee),
        cmocka_unit_test(test_block_gas),
        cmocka_unit_test(test_sc_without_vm),
        cmocka_unit_test(test_sc_with_vm),
        cmocka_unit_test(test_reward_split),
        cmocka_unit_test(test_roll_timing),
        cmocka_unit_test(test_misses_and_autosell),
        cmocka_unit_test(test_autosell_boundary),
        cmocka_unit_test(test_speculative_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
