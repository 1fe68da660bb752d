/* net_core_bench — the protocol core's sync throughput (src/net, docs/protocol.md "Sync").
 *
 * One node holds a chain of final blocks (T = 4, a few signed transactions per block); a second
 * node with only the genesis blocks connects and syncs them through two cores over the in-memory
 * network of the core's tests (tests/unit/net_harness.c).  The fake chain checks what the node
 * checks on its caller's thread (header and operation signatures, the operation list against the
 * header), so the sync rate compares with the rate at which one core verifies the same blocks'
 * signatures (issue 6: sync ≥ 0.8 × that rate).  A second run with the checks off shows the
 * protocol's own cost per block.  Usage: net_core_bench [blocks] [ops per block]. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/unit/net_harness.c"
#include "bench_util.h"

static void bench_cfg(net_config *c, void *ctx)
{
    (void)ctx;
    net_config d;
    net_config_default(&d);
    c->sync_batch = d.sync_batch;
    c->max_asks_per_peer = d.max_asks_per_peer;
}

/* Syncs the chain of node 0 into a fresh node; returns the seconds it took. */
static double sync_once(tnet *t, bool trust, size_t blocks)
{
    int b = tn_add(t, "10.0.0.9", 1009, bench_cfg, NULL, NULL, 0);
    t->n[b].ch.trust = trust;
    double t0 = now_s();
    tn_connect(t, b, 0);
    double dt = now_s() - t0;
    if (t->n[b].ch.taken_from_net != blocks) {
        fprintf(stderr, "bench: synced %zu of %zu blocks\n", t->n[b].ch.taken_from_net, blocks);
        exit(1);
    }
    return dt;
}

int main(int argc, char **argv)
{
    size_t blocks = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    uint32_t nops = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10;
    blocks -= blocks % TN_T;
    if (!blocks) {
        fprintf(stderr, "usage: net_core_bench [blocks ≥ %d] [ops per block]\n", TN_T);
        return 2;
    }
    check(log_init("warn"), "log");
    tnet *t = calloc(1, sizeof *t);
    if (!t)
        return 1;
    tn_init(t);
    int a = tn_add(t, "10.0.0.1", 1001, bench_cfg, NULL, NULL, 0);
    printf("net_core_bench: %zu final blocks of %u operations, T = %d\n", blocks, nops, TN_T);
    double t0 = now_s();
    for (uint64_t p = 1; p <= blocks / TN_T; p++)
        for (uint8_t th = 0; th < TN_T; th++)
            fc_produce(&t->n[a].ch, &t->n[a].key, p, th, nops);
    tn_pump(t);
    printf("  chain built in %.2f s\n", now_s() - t0);

    /* what the node does per block on the caller's thread: decode and verify everything */
    t0 = now_s();
    for (size_t i = TN_T; i < t->n[a].ch.nall; i++) {
        const fblock *b = t->n[a].ch.all[i];
        check(header_verify(&b->h), "header_verify");
        for (uint32_t k = 0; k < b->n; k++) {
            signed_op_t op;
            check(signed_op_decode(&op, TN_CHAIN, b->ops[k], b->lens[k]), "decode");
            check(signed_op_verify(&op), "verify");
            signed_op_free(&op);
        }
    }
    double verify = now_s() - t0;
    double vrate = (double)blocks / verify;
    printf("  signature verification (one core): %.0f blocks/s (%.0f signatures/s)\n", vrate,
           (double)blocks * (1 + nops) / verify);

    double s = sync_once(t, false, blocks);
    double srate = (double)blocks / s;
    printf("  sync through two cores, blocks verified: %.0f blocks/s = %.2f x verification\n",
           srate, srate / vrate);
    s = sync_once(t, true, blocks);
    printf("  sync through two cores, checks off: %.0f blocks/s (%.1f us of protocol per "
           "block)\n",
           (double)blocks / s, s * 1e6 / (double)blocks);
    tn_free(t);
    free(t);
    return 0;
}
