/* exec_bench — execution and finalization of slots full of transfers on LMDB: each slot's block
 * holds N transfers (signatures already checked, as when a block reaches execution) between
 * accounts of a populated final state; every slot is executed speculatively (exec_push), then
 * finalized from the cached output (exec_finalize: one LMDB transaction) once `depth` slots are
 * speculative — a node's blockclique runs ahead of finality, so each read goes through that many
 * speculative layers.  Prints operations/s executed, slots/s finalized, and the ratio to
 * verifying the same operations' Ed25519 signatures (goal: execution + finalization at least 3×
 * faster).
 * Usage: exec_bench [transfers-per-slot, default 5000] [slots, default 20] [accounts, default
 * 20000] [sync 0/1, default 1] [depth, default 1]. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "store/store.h"

#include "bench_util.h"

/* Finalizes the oldest speculative slot (in: its input) from the cached output; counts its
 * applied operations and records. */
static void finalize_oldest(exec_t *e, const exec_slot_in *in, size_t *applied, size_t *records)
{
    const exec_output *out = exec_history_at(e, 0);
    for (size_t i = 0; i < out->result_count; i++)
        *applied += out->results[i].status == WEFT_OK;
    *records += state_diff_count(out->diff);
    bool hit;
    check(exec_finalize(e, in, &hit, NULL), "exec_finalize");
    if (!hit) {
        fprintf(stderr, "exec_bench: unexpected cache miss\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long per_slot = argc > 1 ? atol(argv[1]) : 5000;
    long slots = argc > 2 ? atol(argv[2]) : 20;
    long accounts = argc > 3 ? atol(argv[3]) : 20000;
    bool sync = argc > 4 ? atoi(argv[4]) != 0 : true;
    long depth = argc > 5 ? atol(argv[5]) : 1;
    if (per_slot <= 0 || slots <= 0 || accounts < 64 || depth < 1 || depth > 256) {
        fprintf(stderr,
                "usage: exec_bench [transfers] [slots] [accounts ≥ 64] [sync] [depth 1..256]\n");
        return 2;
    }
    check(crypto_init(), "crypto_init");
    model_params p;
    model_params_default(&p);
    if ((unsigned long)per_slot > p.max_operations_per_block)
        p.max_operations_per_block = (uint32_t)per_slot;
    const uint32_t T = p.thread_count;

    /* accounts, grouped by thread */
    double t0 = now_s();
    keypair_t *kp = malloc((size_t)accounts * sizeof *kp);
    address_t *ad = malloc((size_t)accounts * sizeof *ad);
    long *by_thread = malloc((size_t)accounts * sizeof *by_thread);
    long start[MODEL_MAX_THREADS + 1] = {0};
    if (!kp || !ad || !by_thread)
        return 1;
    for (long i = 0; i < accounts; i++) {
        uint8_t seed[32] = {0};
        memcpy(seed, &i, sizeof i);
        keypair_from_seed(&kp[i], seed);
        address_of_pubkey(&ad[i], &kp[i].pk);
        start[address_thread(&ad[i], T) + 1]++;
    }
    for (uint32_t t = 0; t < T; t++)
        start[t + 1] += start[t];
    long fill[MODEL_MAX_THREADS];
    memcpy(fill, start, sizeof fill);
    for (long i = 0; i < accounts; i++)
        by_thread[fill[address_thread(&ad[i], T)]++] = i;

    char dir[] = "/tmp/weft-exec-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    store_options o = {.dir = dir, .no_sync = !sync};
    store_t *s;
    state_final_t *f;
    state_diff_t *g;
    check(store_open(&s, &o), "store_open");
    check(state_final_open(&f, &p, store_kv(s)), "final_open");
    check(state_diff_new(&g), "diff_new");
    state_view_t v;
    state_view_init(&v, f, NULL, 0, g);
    for (long i = 0; i < accounts; i++)
        check(state_balance_set(&v, &ad[i], amount_from_nano(1000000000000000ull)), "balance");
    state_view_free(&v);
    check(state_final_genesis(f, g), "genesis");
    state_diff_free(g);
    printf("genesis: %ld accounts in %.2f s\n", accounts, now_s() - t0);

    exec_config cfg;
    exec_config_default(&cfg);
    exec_t *e;
    check(exec_new(&e, f, &cfg, NULL), "exec_new");

    /* the slots still speculative: their inputs, blocks and operations (a ring of depth) */
    signed_op_t *ops_all = calloc((size_t)(per_slot * depth), sizeof *ops_all);
    const signed_op_t **ptrs_all = calloc((size_t)(per_slot * depth), sizeof *ptrs_all);
    exec_slot_in *ins = calloc((size_t)depth, sizeof *ins);
    exec_block *blks = calloc((size_t)depth, sizeof *blks);
    if (!ops_all || !ptrs_all || !ins || !blks)
        return 1;
    uint64_t rng = 42;
    double build = 0, run = 0, fin = 0;
    size_t applied = 0, records = 0;
    signature_t zero_sig;
    memset(&zero_sig, 0, sizeof zero_sig);
    for (long k = 0; k < slots + depth - 1; k++) {
        if (k >= slots) { /* the last slots: finalized only */
            double a1 = now_s();
            finalize_oldest(e, &ins[(k - depth + 1) % depth], &applied, &records);
            fin += now_s() - a1;
            continue;
        }
        signed_op_t *ops = ops_all + (k % depth) * per_slot;
        const signed_op_t **ptrs = ptrs_all + (k % depth) * per_slot;
        exec_slot_in *inp = &ins[k % depth];
        exec_slot_in in;
        check(exec_next_slot(e, &in.slot), "next slot");
        uint32_t t = in.slot.thread;
        long n_t = start[t + 1] - start[t];
        if (n_t == 0) {
            fprintf(stderr, "exec_bench: no account in thread %u: use more accounts\n", t);
            return 1;
        }
        /* the block's operations (not timed): transfers from creators of the slot's thread */
        double b0 = now_s();
        for (long i = 0; i < per_slot; i++) {
            long from = by_thread[start[t] + (long)(next_rand(&rng) % (uint64_t)n_t)];
            long to = (long)(next_rand(&rng) % (uint64_t)accounts);
            operation_t op = {.fee = amount_from_nano(1000 + next_rand(&rng) % 1000),
                              .expire_period = in.slot.period + 5,
                              .type = OP_TRANSACTION};
            op.u.transaction.recipient = ad[to];
            op.u.transaction.amount = amount_from_nano(1 + next_rand(&rng) % 1000000);
            uint8_t buf[128];
            wr_t w;
            wr_init_fixed(&w, buf, sizeof buf);
            op_encode(&w, &op);
            check(wr_err(&w), "encode");
            signed_op_free(&ops[i]);
            check(signed_op_from_parts(&ops[i], p.chain_id, &kp[from].pk, &zero_sig, buf, w.len),
                  "op");
            ptrs[i] = &ops[i];
        }
        exec_block *blk = &blks[k % depth];
        memset(blk, 0, sizeof *blk);
        uint64_t r = next_rand(&rng);
        crypto_blake3(blk->id.h.b, &r, sizeof r);
        blk->creator = ad[by_thread[start[t]]];
        blk->ops = ptrs;
        blk->op_count = (size_t)per_slot;
        in.producer = blk->creator;
        in.block = blk;
        *inp = in;
        double a0 = now_s();
        check(exec_push(e, inp), "exec_push");
        double a1 = now_s();
        if (k + 1 >= depth)
            finalize_oldest(e, &ins[(k + 1 - depth) % depth], &applied, &records);
        double a2 = now_s();
        build += a0 - b0;
        run += a1 - a0;
        fin += a2 - a1;
    }

    /* Ed25519 verification of the same kind of operation, per operation */
    keypair_t vk = kp[0];
    hash32_t dg;
    signature_t sig;
    op_digest(&dg, p.chain_id, &vk.pk, ops_all[0].content, ops_all[0].content_len);
    model_sign_digest(&sig, &vk, &dg);
    long nver = per_slot < 2000 ? per_slot : 2000;
    double v0 = now_s();
    for (long i = 0; i < nver; i++)
        check(model_verify_digest(&sig, &vk.pk, &dg), "verify");
    double ver_op = (now_s() - v0) / (double)nver;

    double total = (double)per_slot * (double)slots;
    printf("slots: %ld × %ld transfers (%zu applied), %zu records finalized (%s), %ld speculative "
           "slot(s) deep\n",
           slots, per_slot, applied, records, sync ? "fsync at commit" : "no fsync", depth);
    printf("execute (speculative):  %8.2f ms/slot  %10.0f ops/s\n", run / (double)slots * 1e3,
           total / run);
    printf("finalize (LMDB txn):    %8.2f ms/slot  %10.1f slots/s\n", fin / (double)slots * 1e3,
           (double)slots / fin);
    printf("execute + finalize:     %8.2f ms/slot  %10.0f ops/s\n",
           (run + fin) / (double)slots * 1e3, total / (run + fin));
    printf("verify signatures:      %8.2f ms/slot  %10.0f ops/s  → execute+finalize is %.1f× "
           "faster (goal ≥ 3×)\n",
           ver_op * (double)per_slot * 1e3, 1.0 / ver_op, ver_op * total / (run + fin));
    printf("(building the ops, not timed above: %.2f ms/slot)\n", build / (double)slots * 1e3);

    for (long i = 0; i < per_slot * depth; i++)
        signed_op_free(&ops_all[i]);
    free(ops_all);
    free(ptrs_all);
    free(ins);
    free(blks);
    exec_free(e);
    state_final_close(f);
    store_close(s);
    rmtree(dir);
    free(kp);
    free(ad);
    free(by_thread);
    return 0;
}
