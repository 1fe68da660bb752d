/* state_bench — the cost of the final state under execution-like load: slots of N transfers
 * (two balance records and two executed-op records per transfer, as execution will write them)
 * built as a diff over a read-through view of a populated LMDB final state, then finalized in one
 * transaction each.  Prints per-slot build and finalize times, records/s, the fingerprint's share,
 * and the ratio to verifying the same number of Ed25519 signatures.
 * Usage: state_bench [transfers-per-slot, default 5000] [slots, default 20] [accounts, default
 * 100000] [sync 0/1, default 1]. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "state/state.h"
#include "store/store.h"

#include "bench_util.h"

static address_t account(uint64_t i)
{
    address_t a;
    memset(&a, 0, sizeof a);
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    memcpy(a.hash.b, &h, 8);
    memcpy(a.hash.b + 8, &i, 8);
    return a;
}

int main(int argc, char **argv)
{
    long per_slot = argc > 1 ? atol(argv[1]) : 5000;
    long slots = argc > 2 ? atol(argv[2]) : 20;
    long accounts = argc > 3 ? atol(argv[3]) : 100000;
    bool sync = argc > 4 ? atoi(argv[4]) != 0 : true;
    if (per_slot <= 0 || slots <= 0 || accounts < 2) {
        fprintf(stderr, "usage: state_bench [transfers] [slots] [accounts] [sync]\n");
        return 2;
    }
    check(crypto_init(), "crypto_init");
    char dir[] = "/tmp/weft-state-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    model_params p;
    model_params_default(&p);
    store_options o = {.dir = dir, .no_sync = !sync};
    store_t *s;
    state_final_t *f;
    state_diff_t *d;
    check(store_open(&s, &o), "store_open");
    check(state_final_open(&f, &p, store_kv(s)), "final_open");
    check(state_diff_new(&d), "diff_new");

    double t0 = now_s();
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);
    for (long i = 0; i < accounts; i++) {
        address_t a = account((uint64_t)i);
        check(state_balance_set(&v, &a, amount_from_nano(1000000000000ull)), "genesis balance");
    }
    state_view_free(&v);
    check(state_final_genesis(f, d), "genesis");
    state_diff_clear(d);
    printf("genesis: %ld accounts in %.3f s\n", accounts, now_s() - t0);

    uint64_t rng = 42;
    double build = 0, apply = 0;
    size_t records = 0;
    slot_t sl = {0, 0};
    for (long k = 0; k < slots; k++) {
        double a0 = now_s();
        state_view_init(&v, f, NULL, 0, d);
        for (long i = 0; i < per_slot; i++) {
            address_t from = account(next_rand(&rng) % (uint64_t)accounts);
            address_t to = account(next_rand(&rng) % (uint64_t)accounts);
            amount_t bf, bt;
            check(state_balance_get(&v, &from, &bf), "get");
            check(state_balance_get(&v, &to, &bt), "get");
            check(state_balance_set(&v, &from, amount_from_nano(bf.nano - 1000)), "set");
            check(state_balance_get(&v, &to, &bt), "get");
            check(state_balance_set(&v, &to, amount_from_nano(bt.nano + 1000)), "set");
            op_id_t id;
            uint64_t r = next_rand(&rng);
            crypto_blake3(id.h.b, &r, sizeof r);
            check(state_op_mark(&v, &id, sl.period + 10, true), "op");
        }
        check(state_ops_prune(&v, sl.period), "prune");
        state_view_free(&v);
        double a1 = now_s();
        records += state_diff_count(d);
        slot_t next;
        check(state_final_next_slot(f, &next), "next");
        check(state_final_apply(f, next, d), "apply");
        double a2 = now_s();
        state_diff_clear(d);
        build += a1 - a0;
        apply += a2 - a1;
        sl = next;
    }
    /* the fingerprint's share: two entry hashes (old out, new in) per record */
    double h0 = now_s();
    uint8_t e[STATE_FP_LEN], key[34] = {0}, val[8] = {1};
    for (size_t i = 0; i < records; i++) {
        key[5] = (uint8_t)i;
        state_fp_entry(e, STATE_T_BALANCE, key, sizeof key, val, sizeof val);
        state_fp_entry(e, STATE_T_BALANCE, key, sizeof key, val, sizeof val);
    }
    double fp_time = now_s() - h0;
    /* signature verification of the same number of operations */
    keypair_t kp;
    uint8_t seed[32] = {7};
    keypair_from_seed(&kp, seed);
    hash32_t dg;
    memset(&dg, 3, sizeof dg);
    signature_t sig;
    model_sign_digest(&sig, &kp, &dg);
    long nver = per_slot < 2000 ? per_slot : 2000;
    double v0 = now_s();
    for (long i = 0; i < nver; i++)
        check(model_verify_digest(&sig, &kp.pk, &dg), "verify");
    double ver_slot = (now_s() - v0) / (double)nver * (double)per_slot;

    double per_build = build / (double)slots, per_apply = apply / (double)slots;
    printf("slots: %ld × %ld transfers, %zu records finalized (%s)\n", slots, per_slot, records,
           sync ? "fsync at commit" : "no fsync");
    printf("build diff over view:  %8.2f ms/slot  %10.0f transfers/s\n", per_build * 1e3,
           (double)per_slot / per_build);
    printf("finalize (LMDB txn):   %8.2f ms/slot  %10.1f slots/s  %10.0f records/s\n",
           per_apply * 1e3, 1.0 / per_apply, (double)records / apply);
    printf("fingerprint share:     %8.2f ms/slot  (%.0f%% of finalize)\n",
           fp_time / (double)slots * 1e3, 100.0 * fp_time / apply);
    printf("verify %ld signatures: %8.2f ms  → build+finalize is %.1f× faster\n", per_slot,
           ver_slot * 1e3, ver_slot / (per_build + per_apply));
    printf("map size: %zu MiB\n", store_map_size(s) >> 20);
    state_diff_free(d);
    state_final_close(f);
    store_close(s);
    rmtree(dir);
    return 0;
}
