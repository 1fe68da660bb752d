/* Unit tests of src/sc: real AssemblyScript contracts compiled with massa-as-sdk 3.0.2
 * (tests/sc/wasm, rebuilt and compared by the sc_contracts test) executed through exec_t with the
 * host bound — storage, events and their call stacks, coins, deployment (create_sc + constructor
 * call), nested calls and their depth limit, failures (fee kept, effects and events reverted, the
 * massa_execution_error event), out of gas, bad guest pointers, unsupported and unknown imports,
 * the MRC20 token of sc-standards end to end (deploy, transfer, balanceOf by read-only call,
 * allowance, transferFrom), massa-web3's own deployer when tests/web3 is installed, read-only runs
 * on a discarded diff, and determinism (two runs, identical state fingerprints, events and gas). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "sc/sc.h"
#include "testutil.h"

#define NACC 3
#define BAL 1000000000000ull /* 1000 MAS */
#define DEPLOY_GAS 1500000000ull
#define CALL_GAS 200000000ull
#define FEE 1000u

/* ---- files ----------------------------------------------------------------------------------- */

/* tests/ of the source tree, from this file's path (CMake compiles it by absolute path). */
static void tests_dir(char *out, size_t cap)
{
    const char *env = getenv("WEFT_TESTS_DIR");
    if (env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    snprintf(out, cap, "%s", __FILE__);
    char *p = strstr(out, "/unit/test_sc.c");
    if (p)
        *p = '\0';
}

static uint8_t *load_wasm(const char *name, size_t *len)
{
    char dir[512], path[640];
    tests_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sc/wasm/%s.wasm", dir, name);
    uint8_t *b = base_read_file(path, len);
    if (!b)
        fail_msg("cannot read %s", path);
    return b;
}

/* ---- Args encoding (massa-client-compat §2) -------------------------------------------------- */

static void a_str(wr_t *w, const char *s)
{
    wr_u32le(w, (uint32_t)strlen(s));
    wr_bytes(w, s, strlen(s));
}
static void a_bytes(wr_t *w, const uint8_t *b, size_t n)
{
    wr_u32le(w, (uint32_t)n);
    wr_bytes(w, b, n);
}
static void a_u256(wr_t *w, uint64_t x)
{
    wr_u64le(w, x);
    for (int i = 0; i < 3; i++)
        wr_u64le(w, 0);
}

static uint64_t u256_low(const uint8_t *b, size_t n)
{
    assert_int_equal(n, 32);
    for (size_t i = 8; i < 32; i++)
        assert_int_equal(b[i], 0);
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | b[i];
    return x;
}

/* ---- environment ----------------------------------------------------------------------------- */

typedef struct env {
    model_params p;
    exec_config cfg;
    state_memkv_t *kv;
    state_final_t *f;
    exec_t *e;
    sc_t *sc;
    exec_vm_t vm;
    keypair_t kp[NACC];
    address_t a[NACC];
    char as[NACC][MODEL_STR_MAX];
    address_t producer;
    signed_op_t *ops[128];
    size_t nops;
    uint8_t block_tag;
} env;

static void env_open(env *v)
{
    memset(v, 0, sizeof *v);
    assert_int_equal(crypto_init(), WEFT_OK);
    model_params_default(&v->p);
    v->p.thread_count = 2;
    v->p.t0_ms = 1000;
    v->p.periods_per_cycle = 64;
    v->p.endorsement_count = 2;
    v->p.genesis_timestamp_ms = 1700000000000ull;
    assert_int_equal(model_params_check(&v->p), WEFT_OK);
    exec_config_default(&v->cfg);
    /* accounts in thread 0: their operations go in thread-0 blocks */
    int got = 0;
    for (uint8_t s = 1; got < NACC; s++) {
        uint8_t seed[32] = {s, 0x5c};
        keypair_t kp;
        address_t a;
        keypair_from_seed(&kp, seed);
        address_of_pubkey(&a, &kp.pk);
        if (address_thread(&a, 2) != 0)
            continue;
        v->kp[got] = kp;
        v->a[got] = a;
        address_to_str(v->as[got], &a);
        got++;
    }
    memset(&v->producer, 0x77, sizeof v->producer);
    v->producer.kind = ADDRESS_USER;
    assert_int_equal(state_memkv_new(&v->kv), WEFT_OK);
    assert_int_equal(state_final_open(&v->f, &v->p, state_memkv_kv(v->kv)), WEFT_OK);
    state_diff_t *g;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    state_view_t w;
    state_view_init(&w, v->f, NULL, 0, g);
    for (int i = 0; i < NACC; i++)
        assert_int_equal(state_balance_set(&w, &v->a[i], amount_from_nano(BAL)), WEFT_OK);
    state_view_free(&w);
    assert_int_equal(state_final_genesis(v->f, g), WEFT_OK);
    state_diff_free(g);
    sc_config c;
    sc_config_default(&c);
    assert_int_equal(sc_vm_new(&v->vm, &v->sc, &c), WEFT_OK);
    assert_int_equal(exec_new(&v->e, v->f, &v->cfg, &v->vm), WEFT_OK);
}

static void env_close(env *v)
{
    exec_free(v->e);
    sc_free(v->sc);
    state_final_close(v->f);
    state_memkv_free(v->kv);
    for (size_t i = 0; i < v->nops; i++) {
        signed_op_free(v->ops[i]);
        free(v->ops[i]);
    }
}

static uint64_t next_period(env *v)
{
    slot_t s;
    assert_int_equal(exec_next_slot(v->e, &s), WEFT_OK);
    return s.period + (s.thread != 0);
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
    memset(&sig, 0, sizeof sig);
    assert_int_equal(signed_op_from_parts(s, v->p.chain_id, &v->kp[from].pk, &sig, w.buf, w.len),
                     WEFT_OK);
    wr_free(&w);
    assert_true(v->nops < WEFT_ARRAY_LEN(v->ops));
    v->ops[v->nops++] = s;
    return s;
}

static const signed_op_t *execute_sc(env *v, int from, const uint8_t *code, size_t len,
                                     op_ds_entry *ds, size_t nds, uint64_t gas, uint64_t coins)
{
    operation_t op = {
        .fee = amount_from_nano(FEE), .expire_period = next_period(v) + 3, .type = OP_EXECUTE_SC};
    op.u.execute_sc.max_gas = gas;
    op.u.execute_sc.max_coins = amount_from_nano(coins);
    op.u.execute_sc.bytecode = (uint8_t *)code;
    op.u.execute_sc.bytecode_len = len;
    op.u.execute_sc.datastore = ds;
    op.u.execute_sc.datastore_len = nds;
    return mk(v, from, &op);
}

static const signed_op_t *call_sc(env *v, int from, const address_t *target, const char *func,
                                  const wr_t *param, uint64_t coins, uint64_t gas)
{
    operation_t op = {
        .fee = amount_from_nano(FEE), .expire_period = next_period(v) + 3, .type = OP_CALL_SC};
    op.u.call_sc.max_gas = gas;
    op.u.call_sc.coins = amount_from_nano(coins);
    op.u.call_sc.target = *target;
    op.u.call_sc.function = (char *)func;
    op.u.call_sc.function_len = strlen(func);
    op.u.call_sc.param = param ? param->buf : NULL;
    op.u.call_sc.param_len = param ? param->len : 0;
    return mk(v, from, &op);
}

/* Executes a block of ops in the next thread-0 slot (misses before it), finalizes it; the output
 * goes to *out (free it) or is dropped. */
static void run_block(env *v, const signed_op_t *const *ops, size_t n, exec_output *out)
{
    for (;;) {
        exec_slot_in in;
        assert_int_equal(exec_next_slot(v->e, &in.slot), WEFT_OK);
        in.producer = v->producer;
        exec_block b;
        memset(&b, 0, sizeof b);
        in.block = NULL;
        if (in.slot.thread == 0) {
            memset(b.id.h.b, ++v->block_tag, sizeof b.id.h.b);
            b.creator = v->producer;
            b.ops = ops;
            b.op_count = n;
            in.block = &b;
        }
        assert_int_equal(exec_push(v->e, &in), WEFT_OK);
        bool hit = false;
        exec_output o = {0};
        assert_int_equal(exec_finalize(v->e, &in, &hit, &o), WEFT_OK);
        assert_true(hit);
        if (in.block) {
            if (out)
                *out = o;
            else
                exec_output_free(&o);
            return;
        }
        exec_output_free(&o);
    }
}

static void run_one(env *v, const signed_op_t *op, exec_output *out)
{
    run_block(v, &op, 1, out);
    assert_int_equal(out->result_count, 1);
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

/* The datastore value of a (NULL if absent), copied into buf. */
static const char *ds(env *v, const address_t *a, const char *key, char *buf, size_t cap)
{
    state_view_t w;
    exec_view(v->e, &w);
    const uint8_t *val;
    size_t n;
    weft_err err = state_ds_get(&w, a, (const uint8_t *)key, strlen(key), &val, &n);
    const char *r = NULL;
    if (err == WEFT_OK) {
        assert_true(n < cap);
        memcpy(buf, val, n);
        buf[n] = '\0';
        r = buf;
    } else {
        assert_int_equal(err, WEFT_E_NOT_FOUND);
    }
    state_view_free(&w);
    return r;
}

static const char *error_of(const exec_output *o)
{
    assert_true(o->event_count > 0);
    const exec_event_t *e = &o->events[o->event_count - 1];
    assert_true(e->is_error);
    static char msg[EXEC_EVENT_DATA_MAX + 1];
    json_error_t je;
    json_t *j = json_loads(e->data, 0, &je);
    assert_non_null(j);
    const char *s = json_string_value(json_object_get(j, "massa_execution_error"));
    assert_non_null(s);
    snprintf(msg, sizeof msg, "%s", s);
    json_decref(j);
    return msg;
}

static void expect_fail(const exec_output *o, weft_err code, const char *needle)
{
    assert_int_equal(o->result_count, 1);
    if (o->results[0].status != code)
        fail_msg("status %s, expected %s (%s)", weft_err_name(o->results[0].status),
                 weft_err_name(code), o->event_count ? o->events[o->event_count - 1].data : "");
    assert_true(o->results[0].accepted);
    assert_int_equal(o->event_count, 1); /* only the error event: the others were dropped */
    if (needle && !strstr(error_of(o), needle))
        fail_msg("'%s' not in '%s'", needle, error_of(o));
}

static void expect_ok(const exec_output *o)
{
    assert_int_equal(o->result_count, 1);
    if (o->results[0].status != WEFT_OK)
        fail_msg("operation failed: %s (%s)", weft_err_name(o->results[0].status),
                 o->event_count ? o->events[o->event_count - 1].data : "");
}

static const exec_event_t *find_event(const exec_output *o, const char *prefix)
{
    for (size_t i = 0; i < o->event_count; i++)
        if (strncmp(o->events[i].data, prefix, strlen(prefix)) == 0)
            return &o->events[i];
    fail_msg("no event starting with '%s'", prefix);
    return NULL;
}

/* Deploys `code` with tests/sc's deployer (constructor args/coins optional); returns its
 * address and the deploy's output in *out (may be NULL). */
static void deploy(env *v, int from, const uint8_t *code, size_t len, const wr_t *args,
                   uint64_t coins, address_t *addr, exec_output *out)
{
    size_t dlen;
    uint8_t *deployer = load_wasm("deployer", &dlen);
    uint8_t cbytes[8];
    for (int i = 0; i < 8; i++)
        cbytes[i] = (uint8_t)(coins >> (8 * i));
    op_ds_entry e[3] = {{(uint8_t *)"code", 4, (uint8_t *)code, len},
                        {(uint8_t *)"coins", 5, cbytes, 8},
                        {(uint8_t *)"args", 4, args ? args->buf : NULL, args ? args->len : 0}};
    const signed_op_t *op = execute_sc(v, from, deployer, dlen, e, args ? 3 : 2, DEPLOY_GAS, coins);
    exec_output o;
    run_one(v, op, &o);
    free(deployer);
    expect_ok(&o);
    const exec_event_t *ev = find_event(&o, "Contract deployed at address: ");
    assert_int_equal(address_parse(addr, ev->data + strlen("Contract deployed at address: ")),
                     WEFT_OK);
    assert_int_equal(addr->kind, ADDRESS_SC);
    if (out)
        *out = o;
    else
        exec_output_free(&o);
}

static void ro_call(env *v, const address_t *target, const char *func, const wr_t *param,
                    uint64_t gas, sc_ro_result *res)
{
    state_view_t w;
    exec_view(v->e, &w);
    slot_t s;
    assert_int_equal(exec_next_slot(v->e, &s), WEFT_OK);
    sc_ro_call q = {.base = &w,
                    .params = &v->p,
                    .slot = s,
                    .max_gas = gas,
                    .caller = v->a[0],
                    .target = *target,
                    .function = func,
                    .function_len = strlen(func),
                    .param = param ? param->buf : NULL,
                    .param_len = param ? param->len : 0};
    memset(res, 0, sizeof *res);
    assert_int_equal(sc_read_only_call(v->sc, &q, res), WEFT_OK);
    state_view_free(&w);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_keccak(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        char c;
        const char *hex;
    } vec[] = {
        {0, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
        {135, 'a', "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446"},
        {136, 'a', "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e"},
        {300, 'a', "5b7e0e47a96f32a88b4f14ca177982790807c40e1a105742ba0fc1babe1ef826"},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(vec); i++) {
        char in[300];
        memset(in, vec[i].c, vec[i].n);
        uint8_t h[32];
        char hex[65];
        sc_keccak256(h, in, vec[i].n);
        hex_encode(hex, sizeof hex, h, 32);
        assert_string_equal(hex, vec[i].hex);
    }
    uint8_t h[32];
    char hex[65];
    sc_keccak256(h, "abc", 3);
    hex_encode(hex, sizeof hex, h, 32);
    assert_string_equal(hex, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/* ExecuteSC of probe's main: op datastore, storage under the sender, an event, a payment. */
static void test_execute_main(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    uint8_t amount[8] = {77};
    op_ds_entry e[3] = {{(uint8_t *)"k", 1, (uint8_t *)"v1", 2},
                        {(uint8_t *)"to", 2, (uint8_t *)v.as[1], strlen(v.as[1])},
                        {(uint8_t *)"amount", 6, amount, 8}};
    exec_output o;
    run_one(&v, execute_sc(&v, 0, code, len, e, 3, CALL_GAS, 77), &o);
    expect_ok(&o);
    assert_int_equal(o.event_count, 2);
    char want[200];
    snprintf(want, sizeof want, "hello from %s", v.as[0]);
    assert_string_equal(o.events[0].data, want);
    assert_int_equal(o.events[0].call_stack_len, 1);
    assert_true(address_eq(&o.events[0].call_stack[0], &v.a[0]));
    assert_true(o.events[0].has_op);
    assert_string_equal(o.events[1].data, "op keys: 3");
    exec_output_free(&o);
    char buf[64];
    assert_string_equal(ds(&v, &v.a[0], "k", buf, sizeof buf), "v1");
    assert_int_equal(bal(&v, &v.a[0]), BAL - FEE - 77);
    assert_int_equal(bal(&v, &v.a[1]), BAL + 77);
    /* spending more than max_coins fails the operation (exec's rule) and reverts the write */
    e[0].value = (uint8_t *)"v2";
    run_one(&v, execute_sc(&v, 0, code, len, e, 3, CALL_GAS, 76), &o);
    assert_int_equal(o.results[0].status, WEFT_E_EXEC_MAX_SPENDING);
    exec_output_free(&o);
    assert_string_equal(ds(&v, &v.a[0], "k", buf, sizeof buf), "v1");
    free(code);
    env_close(&v);
}

static void test_deploy_and_call(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    address_t p;
    exec_output o;
    deploy(&v, 0, code, len, NULL, 0, &p, &o);
    /* the deployed contract: its bytecode and an empty entry */
    assert_int_equal(o.event_count, 1);
    assert_int_equal(o.events[0].call_stack_len, 1);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &p), 0);
    char ps[MODEL_STR_MAX];
    address_to_str(ps, &p);

    wr_t w;
    wr_init(&w);
    a_str(&w, "color");
    a_str(&w, "blue");
    run_one(&v, call_sc(&v, 1, &p, "setValue", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_int_equal(o.event_count, 1);
    assert_string_equal(o.events[0].data, "set color=blue");
    assert_int_equal(o.events[0].call_stack_len, 2);
    assert_true(address_eq(&o.events[0].call_stack[0], &v.a[1]));
    assert_true(address_eq(&o.events[0].call_stack[1], &p));
    exec_output_free(&o);
    char buf[64];
    assert_string_equal(ds(&v, &p, "color", buf, sizeof buf), "blue");

    /* read back through a read-only call: Args(string) */
    wr_init(&w);
    a_str(&w, "color");
    sc_ro_result r;
    ro_call(&v, &p, "getValue", &w, CALL_GAS, &r);
    wr_free(&w);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.ret_len, 8);
    assert_memory_equal(r.ret, "\x04\0\0\0blue", 8);
    assert_true(r.gas_used > 0 && r.gas_used < CALL_GAS);
    sc_ro_result_free(&r);

    /* context: stack, caller, callee, coins moved before the call, slot and time */
    run_one(&v, call_sc(&v, 2, &p, "whoami", NULL, 7, CALL_GAS), &o);
    expect_ok(&o);
    slot_t s = o.slot;
    uint64_t t;
    assert_int_equal(slot_time(&v.p, &t, s), WEFT_OK);
    char want[1024];
    snprintf(want, sizeof want,
             "stack=[\"%s\",\"%s\"] caller=%s callee=%s coins=7 balance=7 period=%llu thread=0 "
             "time=%llu write=0",
             v.as[2], ps, v.as[2], ps, (unsigned long long)s.period, (unsigned long long)t);
    assert_string_equal(o.events[0].data, want);
    exec_output_free(&o);
    assert_int_equal(bal(&v, &p), 7);
    assert_int_equal(bal(&v, &v.a[2]), BAL - FEE - 7);

    /* pay from the contract; delete; key listings */
    wr_init(&w);
    a_str(&w, v.as[1]);
    wr_u64le(&w, 5);
    run_one(&v, call_sc(&v, 0, &p, "pay", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_string_equal(o.events[0].data, "paid 5 left 2");
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[1]), BAL - FEE + 5); /* a[1] paid the fee of setValue */
    wr_init(&w);
    a_str(&w, v.as[0]);
    run_one(&v, call_sc(&v, 0, &p, "keys", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_string_equal(o.events[0].data, "keys 1 0");
    exec_output_free(&o);
    wr_init(&w);
    a_str(&w, "color");
    ro_call(&v, &p, "delValue", &w, CALL_GAS, &r);
    wr_free(&w);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.ret_len, 2);
    assert_memory_equal(r.ret, "\x01\x00", 2); /* had it, has it no more */
    assert_non_null(r.changes);
    sc_ro_result_free(&r);
    assert_string_equal(ds(&v, &p, "color", buf, sizeof buf), "blue"); /* read-only: discarded */

    /* a function returning a StaticArray<u8> directly */
    ro_call(&v, &p, "u64bytes", NULL, CALL_GAS, &r);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.ret_len, 8);
    assert_int_equal(r.ret[0], 42);
    sc_ro_result_free(&r);
    free(code);
    env_close(&v);
}

static void test_failures(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    address_t p;
    deploy(&v, 0, code, len, NULL, 0, &p, NULL);
    exec_output o;

    /* an assertion: fee kept, coins back, write and event dropped, error event last */
    uint64_t before = bal(&v, &v.a[1]);
    run_one(&v, call_sc(&v, 1, &p, "fail", NULL, 9, CALL_GAS), &o);
    expect_fail(&o, WEFT_E_SC_ABORT, "contract aborted: probe says no at ");
    assert_int_equal(o.events[0].call_stack_len, 1);
    assert_true(address_eq(&o.events[0].call_stack[0], &v.a[1]));
    exec_output_free(&o);
    assert_int_equal(bal(&v, &v.a[1]), before - FEE);
    assert_int_equal(bal(&v, &p), 0);
    char buf[64];
    assert_null(ds(&v, &p, "doomed", buf, sizeof buf));

    static const struct {
        const char *func;
        weft_err code;
        const char *needle;
    } cases[] = {
        {"missingKey", WEFT_E_SC_ABI, "data entry not found"},
        {"opDataInCall", WEFT_E_SC_ABI, "no operation datastore"},
        {"noisy", WEFT_E_SC_ABI, "more than 25 events"},
        {"bigEvent", WEFT_E_SC_ABI, "over the 1024-byte limit"},
        {"nonexistent", WEFT_E_SC_EXPORT, "exports no function 'nonexistent'"},
        {"badPointer", WEFT_E_VM_TRAP_MEMORY, "bad guest pointer 4294967280"},
        {"badLength", WEFT_E_VM_TRAP_MEMORY, "claims 2147483647 bytes"},
        {"__new", WEFT_E_SC_EXPORT, "takes 2 parameters"},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(cases); i++) {
        run_one(&v, call_sc(&v, 1, &p, cases[i].func, NULL, 0, CALL_GAS), &o);
        expect_fail(&o, cases[i].code, cases[i].needle);
        exec_output_free(&o);
    }
    /* a user address has no bytecode */
    run_one(&v, call_sc(&v, 1, &v.a[2], "main", NULL, 0, CALL_GAS), &o);
    expect_fail(&o, WEFT_E_SC_ABI, "no bytecode at");
    exec_output_free(&o);
    /* transfer_coins_for from an address the contract does not own */
    wr_t w;
    wr_init(&w);
    a_str(&w, v.as[1]);
    a_str(&w, v.as[2]);
    wr_u64le(&w, 1);
    run_one(&v, call_sc(&v, 1, &p, "payFor", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_fail(&o, WEFT_E_SC_ABI, "not allowed in this context");
    exec_output_free(&o);

    /* hand-made modules: an unsupported ABI function fails when called; an unknown import does
     * not link; the ABI is off in a start function */
    /* (module (import "massa" "assembly_script_deferred_call_exists" (func (param i32) (result
     * i32))) (memory (export "memory") 1) (func (export "main") …call it…)), the same importing
     * "assembly_script_teleport", and one whose start function calls get_call_coins */
    static const char *mods[][3] = {
        {"0061736d0100000001090260017f017f600000022e01056d6173736124617373656d626c795f73637269"
         "70745f64656665727265645f63616c6c5f6578697374730000030201010503010001071102066d656d6f"
         "72790200046d61696e00010a09010700410010001a0b",
         "E_SC_UNSUPPORTED", "assembly_script_deferred_call_exists"},
        {"0061736d0100000001090260017f017f600000022201056d6173736118617373656d626c795f73637269"
         "70745f74656c65706f72740000030201010503010001071102066d656d6f72790200046d61696e00010a"
         "09010700410010001a0b",
         "E_VM_UNLINKABLE", "import massa.assembly_script_teleport is not provided"},
        {"0061736d010000000108026000017e600000022801056d617373611e617373656d626c795f7363726970"
         "745f6765745f63616c6c5f636f696e73000003030201010503010001071102066d656d6f72790200046d"
         "61696e00020801010a0a02050010001a0b02000b",
         "E_SC_ABI", "not available in a start function"},
        /* (module (import "massa" "assembly_script_get_call_stack" (func $f (result i32)))
         * (memory (export "memory") 1) (export "main" (func $f))): the ABI function itself is the
         * export, so no instance of the contract calls it and it has no guest to allocate in */
        {"0061736d010000000105016000017f022801056d617373611e617373656d626c795f7363726970745f67"
         "65745f63616c6c5f737461636b00000503010001071102066d656d6f72790200046d61696e0000",
         "E_SC_ABI", "called directly as an export"},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(mods); i++) {
        size_t n;
        uint8_t *m = test_unhex(mods[i][0], &n);
        run_one(&v, execute_sc(&v, 0, m, n, NULL, 0, CALL_GAS, 0), &o);
        if (strcmp(weft_err_name(o.results[0].status), mods[i][1]) != 0)
            fail_msg("module %zu: %s (%s)", i, weft_err_name(o.results[0].status), error_of(&o));
        assert_non_null(strstr(error_of(&o), mods[i][2]));
        exec_output_free(&o);
        free(m);
    }
    /* garbage bytecode */
    run_one(&v, execute_sc(&v, 0, (const uint8_t *)"\0asmjunk", 8, NULL, 0, CALL_GAS, 0), &o);
    expect_fail(&o, WEFT_E_VM_MALFORMED, "bytecode does not load");
    exec_output_free(&o);
    free(code);
    env_close(&v);
}

static void test_out_of_gas(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    address_t p;
    deploy(&v, 0, code, len, NULL, 0, &p, NULL);
    exec_output o;
    run_one(&v, call_sc(&v, 1, &p, "spin", NULL, 0, 20000000), &o);
    expect_fail(&o, WEFT_E_VM_OUT_OF_GAS, "out of gas");
    exec_output_free(&o);
    /* read-only: all the gas, twice the same */
    sc_ro_result r;
    ro_call(&v, &p, "spin", NULL, 20000000, &r);
    assert_int_equal(r.failure, WEFT_E_VM_OUT_OF_GAS);
    assert_int_equal(r.gas_used, 20000000);
    assert_int_equal(r.event_count, 0);
    sc_ro_result_free(&r);
    /* too little gas to even load the module: the load cost is charged first */
    ro_call(&v, &p, "whoami", NULL, 100 * len - 1, &r);
    assert_int_equal(r.failure, WEFT_E_VM_OUT_OF_GAS);
    assert_int_equal(r.gas_used, 100 * len - 1);
    sc_ro_result_free(&r);
    /* the same call twice costs the same, with the module cached or not */
    uint64_t g[3];
    sc_t *warm = v.sc, *fresh;
    sc_config c;
    sc_config_default(&c);
    assert_int_equal(sc_new(&fresh, &c), WEFT_OK);
    for (int i = 0; i < 3; i++) {
        v.sc = i == 2 ? fresh : warm; /* the last on a fresh host: empty cache */
        ro_call(&v, &p, "whoami", NULL, CALL_GAS, &r);
        assert_int_equal(r.failure, WEFT_OK);
        g[i] = r.gas_used;
        sc_ro_result_free(&r);
    }
    v.sc = warm;
    sc_free(fresh);
    assert_int_equal(g[0], g[1]);
    assert_int_equal(g[0], g[2]);
    /* the exact boundary: g[0] succeeds, one less runs out */
    ro_call(&v, &p, "whoami", NULL, g[0], &r);
    assert_int_equal(r.failure, WEFT_OK);
    sc_ro_result_free(&r);
    ro_call(&v, &p, "whoami", NULL, g[0] - 1, &r);
    assert_int_equal(r.failure, WEFT_E_VM_OUT_OF_GAS);
    sc_ro_result_free(&r);
    free(code);
    env_close(&v);
}

static void test_nested_calls(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    address_t p, q;
    deploy(&v, 0, code, len, NULL, 0, &p, NULL);
    deploy(&v, 0, code, len, NULL, 0, &q, NULL);
    char ps[MODEL_STR_MAX], qs[MODEL_STR_MAX];
    address_to_str(ps, &p);
    address_to_str(qs, &q);
    assert_false(address_eq(&p, &q));
    exec_output o;

    /* p forwards 4 of the 10 coins it receives to q's whoami */
    wr_t w;
    wr_init(&w);
    a_str(&w, qs);
    a_str(&w, "whoami");
    a_bytes(&w, NULL, 0);
    wr_u64le(&w, 4);
    run_one(&v, call_sc(&v, 1, &p, "forward", &w, 10, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_int_equal(o.events[0].call_stack_len, 3);
    assert_true(address_eq(&o.events[0].call_stack[2], &q));
    char want[1024];
    snprintf(want, sizeof want,
             "stack=[\"%s\",\"%s\",\"%s\"] caller=%s callee=%s coins=4 balance=4", v.as[1], ps, qs,
             ps, qs);
    assert_memory_equal(o.events[0].data, want, strlen(want));
    exec_output_free(&o);
    assert_int_equal(bal(&v, &p), 6);
    assert_int_equal(bal(&v, &q), 4);

    /* depth: 25 nested calls are fine, 26 are not */
    sc_ro_result r;
    wr_init(&w);
    wr_u64le(&w, SC_DEFAULT_MAX_CALL_DEPTH);
    ro_call(&v, &p, "recurse", &w, 3000000000ull, &r);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.ret_len, 8);
    assert_int_equal(r.ret[0], SC_DEFAULT_MAX_CALL_DEPTH);
    sc_ro_result_free(&r);
    wr_free(&w);
    wr_init(&w);
    wr_u64le(&w, SC_DEFAULT_MAX_CALL_DEPTH + 1);
    run_one(&v, call_sc(&v, 1, &p, "recurse", &w, 0, 3000000000ull), &o);
    wr_free(&w);
    expect_fail(&o, WEFT_E_SC_DEPTH, "more than 25 nested calls");
    exec_output_free(&o);

    /* local_call: q's getValue runs in p's context and reads p's storage */
    wr_init(&w);
    a_str(&w, "k");
    a_str(&w, "in p");
    run_one(&v, call_sc(&v, 1, &p, "setValue", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    exec_output_free(&o);
    wr_init(&w);
    a_str(&w, qs);
    a_str(&w, "k");
    ro_call(&v, &p, "localGet", &w, CALL_GAS, &r);
    wr_free(&w);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.ret_len, 8);
    assert_memory_equal(r.ret, "\x04\0\0\0in p", 8);
    sc_ro_result_free(&r);

    /* create_sc from a contract: the creator owns (may write) the new address */
    wr_init(&w);
    a_bytes(&w, code, len);
    run_one(&v, call_sc(&v, 1, &p, "spawn", &w, 0, DEPLOY_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    exec_output_free(&o);
    /* the new address is deterministic: find it through the state (its "born" key) */
    state_view_t sv;
    exec_view(v.e, &sv);
    uint8_t h[32];
    static const char tag[] = "weft.sc.address";
    uint8_t pre[sizeof tag - 1 + 32 + 8] = {0};
    memcpy(pre, tag, sizeof tag - 1);
    memcpy(pre + sizeof tag - 1, v.ops[v.nops - 1]->id.h.b, 32);
    crypto_blake3(h, pre, sizeof pre);
    address_t child = {.kind = ADDRESS_SC};
    memcpy(child.hash.b, h, 32);
    const uint8_t *val;
    size_t n;
    assert_int_equal(state_ds_get(&sv, &child, (const uint8_t *)"born", 4, &val, &n), WEFT_OK);
    assert_memory_equal(val, "yes", 3);
    assert_int_equal(state_bytecode_get(&sv, &child, &val, &n), WEFT_OK);
    assert_int_equal(n, len);
    state_view_free(&sv);
    /* set_bytecode of itself */
    run_one(&v, call_sc(&v, 1, &p, "upgrade", NULL, 0, DEPLOY_GAS), &o);
    expect_ok(&o);
    exec_output_free(&o);
    free(code);
    env_close(&v);
}

static void test_crypto(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    address_t p;
    deploy(&v, 0, code, len, NULL, 0, &p, NULL);
    const char *data = "hello weft";
    hash32_t d;
    crypto_blake3(d.b, data, strlen(data));
    signature_t sig;
    model_sign_digest(&sig, &v.kp[2], &d);
    char ss[MODEL_STR_MAX], pk[MODEL_STR_MAX];
    signature_to_str(ss, &sig);
    pubkey_to_str(pk, &v.kp[2].pk);
    for (int round = 0; round < 2; round++) {
        wr_t w;
        wr_init(&w);
        a_str(&w, data);
        a_str(&w, round ? "1BadSig" : ss);
        a_str(&w, pk);
        sc_ro_result r;
        ro_call(&v, &p, "crypto", &w, CALL_GAS, &r);
        wr_free(&w);
        assert_int_equal(r.failure, WEFT_OK);
        rd_t rd;
        rd_init(&rd, r.ret, r.ret_len);
        uint8_t sha[32], kec[32];
        crypto_sha256(sha, data, strlen(data));
        sc_keccak256(kec, data, strlen(data));
        assert_int_equal(rd_u32le(&rd), 32);
        assert_memory_equal(rd_ptr(&rd, 32), sha, 32);
        assert_int_equal(rd_u32le(&rd), 32);
        assert_memory_equal(rd_ptr(&rd, 32), kec, 32);
        assert_int_equal(rd_u8(&rd), round ? 0 : 1); /* signature valid */
        uint32_t al = rd_u32le(&rd);
        assert_int_equal(al, strlen(v.as[2]));
        assert_memory_equal(rd_ptr(&rd, al), v.as[2], al);
        assert_int_equal(rd_u8(&rd), 1); /* validate(AU…) */
        assert_int_equal(rd_u8(&rd), 0); /* validate("AU1nope") */
        assert_int_equal(rd_u8(&rd), 1); /* eoa */
        (void)rd_u64le(&rd);             /* unsafe_random */
        assert_int_equal(rd_finish(&rd), WEFT_OK);
        sc_ro_result_free(&r);
    }
    free(code);
    env_close(&v);
}

/* MRC20 of @massalabs/sc-standards 1.3.0: deploy (constructor), transfer, balanceOf read-only,
 * increaseAllowance, transferFrom, the events. */
static void test_mrc20(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("mrc20", &len);
    address_t t;
    exec_output o;
    deploy(&v, 0, code, len, NULL, 0, &t, &o);
    char ts[MODEL_STR_MAX];
    address_to_str(ts, &t);
    /* setOwner's event from inside the constructor (stack: creator, token), then the deployer's */
    assert_int_equal(o.event_count, 2);
    char want[256];
    snprintf(want, sizeof want, "CHANGE_OWNER:%s", v.as[0]);
    assert_string_equal(o.events[0].data, want);
    assert_int_equal(o.events[0].call_stack_len, 2);
    assert_true(address_eq(&o.events[0].call_stack[1], &t));
    snprintf(want, sizeof want, "Contract deployed at address: %s", ts);
    assert_string_equal(o.events[1].data, want);
    exec_output_free(&o);

    char buf[128];
    assert_string_equal(ds(&v, &t, "NAME", buf, sizeof buf), "MassaToken");
    assert_string_equal(ds(&v, &t, "SYMBOL", buf, sizeof buf), "MT");
    state_view_t sv;
    exec_view(v.e, &sv);
    const uint8_t *val;
    size_t n;
    assert_int_equal(state_ds_get(&sv, &t, (const uint8_t *)"DECIMALS", 8, &val, &n), WEFT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(val[0], 18);
    assert_int_equal(state_ds_get(&sv, &t, (const uint8_t *)"TOTAL_SUPPLY", 12, &val, &n), WEFT_OK);
    assert_int_equal(u256_low(val, n), 1010101010);
    char key[256];
    snprintf(key, sizeof key, "BALANCE%s", v.as[0]);
    assert_int_equal(state_ds_get(&sv, &t, (const uint8_t *)key, strlen(key), &val, &n), WEFT_OK);
    assert_int_equal(u256_low(val, n), 1010101010);
    state_view_free(&sv);

    /* transfer 1000 to a[1] */
    wr_t w;
    wr_init(&w);
    a_str(&w, v.as[1]);
    a_u256(&w, 1000);
    run_one(&v, call_sc(&v, 0, &t, "transfer", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_int_equal(o.event_count, 1);
    assert_string_equal(o.events[0].data, "TRANSFER SUCCESS");
    exec_output_free(&o);

    /* balanceOf through a read-only call */
    sc_ro_result r;
    for (int i = 0; i < 3; i++) {
        wr_init(&w);
        a_str(&w, v.as[i]);
        ro_call(&v, &t, "balanceOf", &w, CALL_GAS, &r);
        wr_free(&w);
        assert_int_equal(r.failure, WEFT_OK);
        static const uint64_t want_bal[] = {1010101010 - 1000, 1000, 0};
        assert_int_equal(u256_low(r.ret, r.ret_len), want_bal[i]);
        sc_ro_result_free(&r);
    }
    /* more than the balance: the contract refuses, nothing moves */
    wr_init(&w);
    a_str(&w, v.as[0]);
    a_u256(&w, 1001);
    run_one(&v, call_sc(&v, 1, &t, "transfer", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_fail(&o, WEFT_E_SC_ABORT, "Transfer failed: insufficient funds at ");
    exec_output_free(&o);

    /* a[1] lets a[2] spend 300, a[2] moves 250 of it to a[0] */
    wr_init(&w);
    a_str(&w, v.as[2]);
    a_u256(&w, 300);
    run_one(&v, call_sc(&v, 1, &t, "increaseAllowance", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    assert_string_equal(o.events[0].data, "APPROVAL SUCCESS");
    exec_output_free(&o);
    wr_init(&w);
    a_str(&w, v.as[1]);
    a_str(&w, v.as[0]);
    a_u256(&w, 250);
    run_one(&v, call_sc(&v, 2, &t, "transferFrom", &w, 0, CALL_GAS), &o);
    wr_free(&w);
    expect_ok(&o);
    exec_output_free(&o);
    wr_init(&w);
    a_str(&w, v.as[1]);
    a_str(&w, v.as[2]);
    ro_call(&v, &t, "allowance", &w, CALL_GAS, &r);
    wr_free(&w);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(u256_low(r.ret, r.ret_len), 50);
    sc_ro_result_free(&r);
    wr_init(&w);
    a_str(&w, v.as[1]);
    ro_call(&v, &t, "balanceOf", &w, CALL_GAS, &r);
    wr_free(&w);
    assert_int_equal(u256_low(r.ret, r.ret_len), 750);
    sc_ro_result_free(&r);
    /* the constructor refuses a second run (not deploying) */
    run_one(&v, call_sc(&v, 0, &t, "constructor", NULL, 0, CALL_GAS), &o);
    expect_fail(&o, WEFT_E_SC_ABORT, "contract aborted");
    exec_output_free(&o);
    free(code);
    env_close(&v);
}

/* massa-web3 5.3.0's own deployer bytecode (tests/web3/node_modules, when installed) with the
 * operation datastore SmartContract.deploy builds (massa-client-compat §5). */
static uint8_t *web3_deployer(size_t *len)
{
    char dir[512], path[768];
    tests_dir(dir, sizeof dir);
    snprintf(path, sizeof path,
             "%s/web3/node_modules/@massalabs/massa-web3/dist/cmd/generated/deployer-bytecode.js",
             dir);
    size_t n;
    char *js = (char *)base_read_file(path, &n);
    if (!js)
        return NULL;
    char *p = strchr(js, '[');
    uint8_t *out = malloc(n);
    size_t k = 0;
    while (p && *p && *p != ']') {
        p++;
        char *end;
        unsigned long x = strtoul(p, &end, 10);
        if (end == p)
            break;
        out[k++] = (uint8_t)x;
        p = end;
    }
    free(js);
    *len = k;
    return out;
}

static void test_web3_deployer(void **state)
{
    (void)state;
    size_t dlen;
    uint8_t *deployer = web3_deployer(&dlen);
    if (!deployer) {
        print_message("[  SKIPPED ] massa-web3 not installed in tests/web3 (scripts/setup.sh)\n");
        skip();
    }
    assert_true(dlen > 1000);
    assert_memory_equal(deployer, "\0asm", 4);
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("mrc20", &len);
    uint8_t count[8] = {1}, idx[8] = {1};
    uint8_t args_key[13] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    uint8_t coins_key[13] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
    uint8_t coins[8] = {0};
    op_ds_entry e[4] = {{(uint8_t *)"\0", 1, count, 8},
                        {idx, 8, code, len},
                        {args_key, 13, NULL, 0},
                        {coins_key, 13, coins, 8}};
    exec_output o;
    run_one(&v, execute_sc(&v, 0, deployer, dlen, e, 4, DEPLOY_GAS, 0), &o);
    expect_ok(&o);
    /* CHANGE_OWNER, "Contract deployed at address: AS…", then base64(Args([address])) */
    assert_int_equal(o.event_count, 3);
    const exec_event_t *dep = find_event(&o, "Contract deployed at address: ");
    address_t t;
    const char *as = dep->data + strlen("Contract deployed at address: ");
    assert_int_equal(address_parse(&t, as), WEFT_OK);
    /* the last event decodes to u32 total length, u32 length, the address */
    char want[256];
    uint8_t raw[128];
    size_t al = strlen(as);
    uint32_t tot = (uint32_t)(4 + al), l = (uint32_t)al;
    memcpy(raw, &tot, 4);
    memcpy(raw + 4, &l, 4);
    memcpy(raw + 8, as, al);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t rl = 8 + al, o64 = 0;
    for (size_t i = 0; i < rl; i += 3) {
        uint32_t x = (uint32_t)raw[i] << 16 | (i + 1 < rl ? (uint32_t)raw[i + 1] << 8 : 0) |
                     (i + 2 < rl ? raw[i + 2] : 0);
        want[o64++] = b64[x >> 18];
        want[o64++] = b64[(x >> 12) & 63];
        want[o64++] = i + 1 < rl ? b64[(x >> 6) & 63] : '=';
        want[o64++] = i + 2 < rl ? b64[x & 63] : '=';
    }
    want[o64] = '\0';
    assert_string_equal(o.events[2].data, want);
    exec_output_free(&o);
    char buf[64];
    assert_string_equal(ds(&v, &t, "NAME", buf, sizeof buf), "MassaToken");
    free(code);
    free(deployer);
    env_close(&v);
}

static void test_read_only_bytecode(void **state)
{
    (void)state;
    env v;
    env_open(&v);
    size_t len;
    uint8_t *code = load_wasm("probe", &len);
    state_view_t w;
    exec_view(v.e, &w);
    op_ds_entry e[1] = {{(uint8_t *)"k", 1, (uint8_t *)"ro", 2}};
    sc_ro_bytecode q = {.base = &w,
                        .params = &v.p,
                        .slot = {5, 0},
                        .max_gas = CALL_GAS,
                        .caller = v.a[1],
                        .bytecode = code,
                        .bytecode_len = len,
                        .datastore = e,
                        .datastore_len = 1};
    sc_ro_result r = {0};
    assert_int_equal(sc_read_only_bytecode(v.sc, &q, &r), WEFT_OK);
    assert_int_equal(r.failure, WEFT_OK);
    assert_int_equal(r.event_count, 2);
    assert_int_equal(r.events[0].slot.period, 5);
    assert_false(r.events[0].has_op);
    assert_string_equal(r.events[1].data, "op keys: 1");
    /* the change is reported, not applied */
    const uint8_t *val;
    size_t n;
    uint8_t dkey[MODEL_ADDRESS_LEN + 1];
    wr_t kw;
    wr_init_fixed(&kw, dkey, sizeof dkey);
    address_write(&kw, &v.a[1]);
    wr_u8(&kw, 'k');
    assert_int_equal(state_diff_lookup(r.changes, STATE_T_DATASTORE, dkey, kw.len, &val, &n),
                     STATE_SET);
    assert_memory_equal(val, "ro", 2);
    assert_int_equal(state_ds_get(&w, &v.a[1], (const uint8_t *)"k", 1, &val, &n),
                     WEFT_E_NOT_FOUND);
    sc_ro_result_free(&r);
    /* a failing run: no events, no changes, the message */
    q.bytecode = (const uint8_t *)"\0asm\x01\0\0\0\x05\x03\x01\0\x01", q.bytecode_len = 13;
    assert_int_equal(sc_read_only_bytecode(v.sc, &q, &r), WEFT_OK);
    assert_int_equal(r.failure, WEFT_E_SC_EXPORT);
    assert_non_null(strstr(r.message, "exports no function 'main'"));
    assert_null(r.changes);
    assert_int_equal(r.event_count, 0);
    sc_ro_result_free(&r);
    state_view_free(&w);
    free(code);
    env_close(&v);
}

/* The same operations on two fresh nodes: identical state fingerprints, events and results. */
static void scenario(env *v, uint8_t fp[STATE_FP_LEN], char *events, size_t cap)
{
    env_open(v);
    size_t len, plen;
    uint8_t *code = load_wasm("mrc20", &len);
    uint8_t *probe = load_wasm("probe", &plen);
    address_t t, p;
    exec_output o;
    size_t at = 0;
    deploy(v, 0, code, len, NULL, 0, &t, NULL);
    deploy(v, 1, probe, plen, NULL, 0, &p, NULL);
    for (int i = 0; i < 4; i++) {
        wr_t w;
        wr_init(&w);
        a_str(&w, v->as[1 + i % 2]);
        a_u256(&w, 10 + i);
        wr_t kv;
        wr_init(&kv);
        a_str(&kv, i % 2 ? "odd" : "even");
        a_str(&kv, v->as[i % 3]);
        const signed_op_t *ops[3] = {call_sc(v, 0, &t, "transfer", &w, 0, CALL_GAS),
                                     call_sc(v, 1, &p, "setValue", &kv, 0, CALL_GAS),
                                     call_sc(v, 2, &p, "whoami", NULL, 3, CALL_GAS)};
        run_block(v, ops, 3, &o);
        wr_free(&w);
        wr_free(&kv);
        for (size_t k = 0; k < o.event_count; k++)
            at += (size_t)snprintf(events + at, cap - at, "%s|", o.events[k].data);
        for (size_t k = 0; k < o.result_count; k++)
            at += (size_t)snprintf(events + at, cap - at, "%d|", o.results[k].status);
        exec_output_free(&o);
    }
    sc_ro_result r;
    wr_t w;
    wr_init(&w);
    a_str(&w, v->as[1]);
    ro_call(v, &t, "balanceOf", &w, CALL_GAS, &r);
    wr_free(&w);
    at += (size_t)snprintf(events + at, cap - at, "gas %llu|", (unsigned long long)r.gas_used);
    sc_ro_result_free(&r);
    state_final_fingerprint(v->f, fp);
    free(code);
    free(probe);
    env_close(v);
}

static void test_determinism(void **state)
{
    (void)state;
    env a, b;
    uint8_t fa[STATE_FP_LEN], fb[STATE_FP_LEN];
    static char ea[16384], eb[16384];
    scenario(&a, fa, ea, sizeof ea);
    scenario(&b, fb, eb, sizeof eb);
    assert_memory_equal(fa, fb, STATE_FP_LEN);
    assert_string_equal(ea, eb);
    assert_non_null(strstr(ea, "TRANSFER SUCCESS"));
    if (strstr(ea, "massa_execution_error"))
        fail_msg("a scenario operation failed: %s", ea);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak),          cmocka_unit_test(test_execute_main),
        cmocka_unit_test(test_deploy_and_call), cmocka_unit_test(test_failures),
        cmocka_unit_test(test_out_of_gas),      cmocka_unit_test(test_nested_calls),
        cmocka_unit_test(test_crypto),          cmocka_unit_test(test_mrc20),
        cmocka_unit_test(test_web3_deployer),   cmocka_unit_test(test_read_only_bytecode),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
