/* sc_bench — MRC20 transfers through the full smart-contract host: the sc-standards MRC20 token
 * (tests/sc/wasm/mrc20.wasm, compiled from @massalabs/sc-standards 1.3.0) is deployed with the
 * test deployer, its supply spread over `holders` accounts, then every slot's block holds N CallSC
 * `transfer` operations (holder i → holder i+1, Args(string, u256)) executed speculatively by
 * exec_push with src/sc bound (fresh instance per call: load through the module cache, start
 * function, ABI calls, storage through the state view) and finalized on the in-memory kv.
 * Prints transfers/s executed (median and range over the slots), with finalization, gas per
 * transfer, and read-only balanceOf calls/s.  Timings only: nothing is asserted.
 * Usage: sc_bench [transfers-per-slot, default 500] [slots, default 10] [holders, default 256]
 *                 [wasm dir, default tests/sc/wasm of the source tree]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "sc/sc.h"

#include "bench_util.h"

typedef struct world {
    model_params p;
    exec_config cfg;
    state_memkv_t *kv;
    state_final_t *f;
    exec_t *e;
    sc_t *sc;
    exec_vm_t vm;
    long n;
    keypair_t *kp;
    address_t *ad;
    char (*as)[MODEL_STR_MAX];
    uint8_t tag;
} world;

static uint8_t *load(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.wasm", dir, name);
    uint8_t *b = base_read_file(path, len);
    if (!b) {
        fprintf(stderr, "sc_bench: cannot read %s\n", path);
        exit(1);
    }
    return b;
}

static signed_op_t *sign_op(world *w, long from, const operation_t *op)
{
    wr_t b;
    wr_init(&b);
    op_encode(&b, op);
    check(wr_err(&b), "encode");
    signed_op_t *s = calloc(1, sizeof *s);
    signature_t sig;
    memset(&sig, 0, sizeof sig); /* execution does not check signatures */
    check(signed_op_from_parts(s, w->p.chain_id, &w->kp[from].pk, &sig, b.buf, b.len), "op");
    wr_free(&b);
    return s;
}

static uint64_t next_period(world *w)
{
    slot_t s;
    check(exec_next_slot(w->e, &s), "next slot");
    return s.period;
}

/* Executes one block (T = 1: every slot is thread 0); returns exec_push's seconds. */
static double run_block(world *w, signed_op_t **ops, size_t n, double *fin_s, exec_output *out)
{
    exec_slot_in in;
    check(exec_next_slot(w->e, &in.slot), "next slot");
    exec_block b;
    memset(&b, 0, sizeof b);
    memset(b.id.h.b, ++w->tag, sizeof b.id.h.b);
    b.id.h.b[0] = (uint8_t)(in.slot.period >> 8);
    b.creator = w->ad[0];
    b.ops = (const signed_op_t *const *)ops;
    b.op_count = n;
    in.producer = w->ad[0];
    in.block = &b;
    double t0 = now_s();
    check(exec_push(w->e, &in), "exec_push");
    double t1 = now_s();
    bool hit;
    exec_output o = {0};
    check(exec_finalize(w->e, &in, &hit, &o), "exec_finalize");
    if (fin_s)
        *fin_s = now_s() - t1;
    if (out)
        *out = o;
    else
        exec_output_free(&o);
    return t1 - t0;
}

static void transfer_param(wr_t *b, const char *to, uint64_t amount)
{
    wr_u32le(b, (uint32_t)strlen(to));
    wr_bytes(b, to, strlen(to));
    wr_u64le(b, amount);
    for (int i = 0; i < 3; i++)
        wr_u64le(b, 0);
}

static signed_op_t *transfer_op(world *w, const address_t *token, long from, long to,
                                uint64_t amount, uint64_t gas)
{
    wr_t b;
    wr_init(&b);
    transfer_param(&b, w->as[to], amount);
    operation_t op = {
        .fee = amount_from_nano(0), .expire_period = next_period(w) + 5, .type = OP_CALL_SC};
    op.u.call_sc.max_gas = gas;
    op.u.call_sc.target = *token;
    op.u.call_sc.function = "transfer";
    op.u.call_sc.function_len = 8;
    op.u.call_sc.param = b.buf;
    op.u.call_sc.param_len = b.len;
    signed_op_t *s = sign_op(w, from, &op);
    wr_free(&b);
    return s;
}

static void free_ops(signed_op_t **ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        signed_op_free(ops[i]);
        free(ops[i]);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long per_slot = argc > 1 ? atol(argv[1]) : 500;
    long slots = argc > 2 ? atol(argv[2]) : 10;
    long holders = argc > 3 ? atol(argv[3]) : 256;
    char dir[1024];
    if (argc > 4) {
        snprintf(dir, sizeof dir, "%s", argv[4]);
    } else {
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *p = strstr(dir, "/bench/sc_bench.c");
        if (p)
            strcpy(p, "/tests/sc/wasm");
    }
    if (per_slot <= 0 || slots <= 0 || holders < 2) {
        fprintf(stderr, "usage: sc_bench [transfers] [slots] [holders ≥ 2] [wasm dir]\n");
        return 2;
    }
    check(crypto_init(), "crypto_init");
    world w;
    memset(&w, 0, sizeof w);
    model_params_default(&w.p);
    w.p.thread_count = 1;
    w.p.t0_ms = 1000;
    if ((unsigned long)per_slot > w.p.max_operations_per_block)
        w.p.max_operations_per_block = (uint32_t)per_slot;
    check(model_params_check(&w.p), "params");
    exec_config_default(&w.cfg);
    w.n = holders;
    w.kp = calloc((size_t)holders, sizeof *w.kp);
    w.ad = calloc((size_t)holders, sizeof *w.ad);
    w.as = calloc((size_t)holders, sizeof *w.as);
    check(state_memkv_new(&w.kv), "memkv");
    check(state_final_open(&w.f, &w.p, state_memkv_kv(w.kv)), "final");
    state_diff_t *g;
    check(state_diff_new(&g), "diff");
    state_view_t v;
    state_view_init(&v, w.f, NULL, 0, g);
    for (long i = 0; i < holders; i++) {
        uint8_t seed[32] = {0x5b};
        memcpy(seed + 1, &i, sizeof i);
        keypair_from_seed(&w.kp[i], seed);
        address_of_pubkey(&w.ad[i], &w.kp[i].pk);
        address_to_str(w.as[i], &w.ad[i]);
        check(state_balance_set(&v, &w.ad[i], amount_from_nano(1000000000000ull)), "balance");
    }
    state_view_free(&v);
    check(state_final_genesis(w.f, g), "genesis");
    state_diff_free(g);
    sc_config sc_cfg;
    sc_config_default(&sc_cfg);
    check(sc_vm_new(&w.vm, &w.sc, &sc_cfg), "sc");
    check(exec_new(&w.e, w.f, &w.cfg, &w.vm), "exec");

    /* deploy MRC20 with the test deployer (holder 0 gets the supply) */
    size_t dlen, tlen;
    uint8_t *deployer = load(dir, "deployer", &dlen);
    uint8_t *token_code = load(dir, "mrc20", &tlen);
    uint8_t zero8[8] = {0};
    op_ds_entry ds[2] = {{(uint8_t *)"code", 4, token_code, tlen},
                         {(uint8_t *)"coins", 5, zero8, 8}};
    operation_t dop = {
        .fee = amount_from_nano(0), .expire_period = next_period(&w) + 5, .type = OP_EXECUTE_SC};
    dop.u.execute_sc.max_gas = 2000000000ull;
    dop.u.execute_sc.bytecode = deployer;
    dop.u.execute_sc.bytecode_len = dlen;
    dop.u.execute_sc.datastore = ds;
    dop.u.execute_sc.datastore_len = 2;
    signed_op_t *d = sign_op(&w, 0, &dop);
    exec_output o;
    run_block(&w, &d, 1, NULL, &o);
    address_t token;
    const char *pre = "Contract deployed at address: ";
    bool found = false;
    for (size_t i = 0; i < o.event_count && !found; i++)
        found = strncmp(o.events[i].data, pre, strlen(pre)) == 0 &&
                address_parse(&token, o.events[i].data + strlen(pre)) == WEFT_OK;
    if (o.results[0].status != WEFT_OK || !found) {
        fprintf(stderr, "sc_bench: deploy failed: %s\n",
                o.event_count ? o.events[o.event_count - 1].data : "?");
        return 1;
    }
    exec_output_free(&o);
    free_ops(&d, 1);

    /* the gas of one transfer, from a read-only run, +20% as massa-web3 estimates */
    state_view_t rv;
    exec_view(w.e, &rv);
    wr_t pb;
    wr_init(&pb);
    transfer_param(&pb, w.as[1], 1);
    slot_t now;
    check(exec_next_slot(w.e, &now), "slot");
    sc_ro_call q = {.base = &rv,
                    .params = &w.p,
                    .slot = now,
                    .max_gas = 100000000,
                    .caller = w.ad[0],
                    .target = token,
                    .function = "transfer",
                    .function_len = 8,
                    .param = pb.buf,
                    .param_len = pb.len};
    sc_ro_result r = {0};
    check(sc_read_only_call(w.sc, &q, &r), "read-only transfer");
    if (r.failure) {
        fprintf(stderr, "sc_bench: read-only transfer failed: %s\n", r.message);
        return 1;
    }
    uint64_t gas_one = r.gas_used, gas = gas_one + gas_one / 5;
    sc_ro_result_free(&r);
    wr_free(&pb);
    state_view_free(&rv);
    if ((uint64_t)per_slot * gas > w.cfg.max_block_gas) {
        long fit = (long)(w.cfg.max_block_gas / gas);
        fprintf(stderr, "sc_bench: %ld transfers of %llu gas exceed the block gas; using %ld\n",
                per_slot, (unsigned long long)gas, fit);
        per_slot = fit;
    }

    /* spread the supply: holder 0 → every other holder, in blocks */
    signed_op_t **ops = calloc((size_t)(per_slot > holders ? per_slot : holders), sizeof *ops);
    for (long i = 1; i < holders;) {
        long n = 0;
        for (; i < holders && n < per_slot; i++)
            ops[n++] = transfer_op(&w, &token, 0, i, 1000000, gas);
        run_block(&w, ops, (size_t)n, NULL, &o);
        for (size_t k = 0; k < o.result_count; k++)
            if (o.results[k].status != WEFT_OK) {
                fprintf(stderr, "sc_bench: seeding transfer failed: %s\n",
                        weft_err_name(o.results[k].status));
                return 1;
            }
        exec_output_free(&o);
        free_ops(ops, (size_t)n);
    }

    /* the kernel */
    double *rate = calloc((size_t)slots, sizeof *rate);
    double exec_total = 0, fin_total = 0;
    long done = 0, failed = 0;
    for (long s = 0; s < slots; s++) {
        for (long k = 0; k < per_slot; k++) {
            long from = (s * per_slot + k) % holders;
            /* the amount varies so that no two operations have the same id */
            uint64_t amount = 1 + (uint64_t)(s * per_slot + k) / (uint64_t)holders;
            ops[k] = transfer_op(&w, &token, from, (from + 1) % holders, amount, gas);
        }
        double fin;
        double t = run_block(&w, ops, (size_t)per_slot, &fin, &o);
        for (size_t k = 0; k < o.result_count; k++)
            if (o.results[k].status != WEFT_OK && failed++ == 0)
                fprintf(stderr, "sc_bench: a transfer failed: %s (%s)\n",
                        weft_err_name(o.results[k].status),
                        o.event_count ? o.events[o.event_count - 1].data : "");
        exec_output_free(&o);
        free_ops(ops, (size_t)per_slot);
        rate[s] = (double)per_slot / t;
        exec_total += t;
        fin_total += fin;
        done += per_slot;
    }
    qsort(rate, (size_t)slots, sizeof *rate, cmp_d);

    /* read-only balanceOf */
    exec_view(w.e, &rv);
    check(exec_next_slot(w.e, &now), "slot");
    long ro_n = 2000;
    double t0 = now_s();
    for (long i = 0; i < ro_n; i++) {
        wr_t b;
        wr_init(&b);
        wr_u32le(&b, (uint32_t)strlen(w.as[i % holders]));
        wr_bytes(&b, w.as[i % holders], strlen(w.as[i % holders]));
        sc_ro_call bq = {.base = &rv,
                         .params = &w.p,
                         .slot = now,
                         .max_gas = 100000000,
                         .caller = w.ad[0],
                         .target = token,
                         .function = "balanceOf",
                         .function_len = 9,
                         .param = b.buf,
                         .param_len = b.len};
        sc_ro_result br = {0};
        check(sc_read_only_call(w.sc, &bq, &br), "balanceOf");
        if (br.failure && failed++ == 0)
            fprintf(stderr, "sc_bench: balanceOf failed: %s\n", br.message);
        sc_ro_result_free(&br);
        wr_free(&b);
    }
    double ro_s = now_s() - t0;
    state_view_free(&rv);

    printf("sc_bench: MRC20 (sc-standards 1.3.0, %zu bytes) transfer via CallSC, %ld per slot, "
           "%ld slots, %ld holders\n",
           tlen, per_slot, slots, holders);
    printf("  gas per transfer        %llu (max_gas given %llu)\n", (unsigned long long)gas_one,
           (unsigned long long)gas);
    printf(
        "  executed (exec_push)    median %.0f transfers/s  (min %.0f, max %.0f)  %.1f us each\n",
        rate[slots / 2], rate[0], rate[slots - 1], 1e6 * exec_total / (double)done);
    printf("  with finalization       %.0f transfers/s (memkv)\n",
           (double)done / (exec_total + fin_total));
    printf("  read-only balanceOf     %.0f calls/s\n", (double)ro_n / ro_s);
    printf("  failed operations       %ld\n", failed);

    free(rate);
    free(ops);
    free(deployer);
    free(token_code);
    exec_free(w.e);
    sc_free(w.sc);
    state_final_close(w.f);
    state_memkv_free(w.kv);
    free(w.kp);
    free(w.ad);
    free(w.as);
    return failed ? 1 : 0;
}
