/* node_bench — a single weft node (the real actors, LMDB store and journal, in this process) at
 * t0 = 16 s, T = 32, max_block_size = 1,000,000 B, fed pre-signed transfers through
 * node_send_operations (what the JSON-RPC send_operations handler calls: signature check, expiry
 * window, pool admission) as fast as it admits them.
 *
 * Prints: admitted ops/s, final ops/s (operations executed in final slots per second of the
 * measurement window), finality latency from admission to final execution (median, p99, over a
 * sample of operations), RSS at idle and under load.
 *
 * usage: node_bench [seconds of feeding, default 60] [accounts, default 4096] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "repo/repo.h"

#define BATCH 256
#define SAMPLE_EVERY 97

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

typedef struct sample {
    op_id_t id;
    double admitted;
    double final;
} sample;

typedef struct feeder {
    node_t *node;
    uint8_t **wire;
    size_t *wire_len;
    size_t from, to;
    uint64_t chain_id;
    atomic_size_t *admitted;
    sample *samples;
    size_t *nsamples;
    pthread_mutex_t *mu;
    double deadline;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    for (size_t i = f->from; i < f->to && now_s() < f->deadline; i += BATCH) {
        size_t n = i + BATCH <= f->to ? BATCH : f->to - i;
        signed_op_t *ops[BATCH];
        weft_err res[BATCH];
        for (size_t k = 0; k < n; k++) {
            ops[k] = malloc(sizeof *ops[k]);
            check(ops[k] ? signed_op_decode(ops[k], f->chain_id, f->wire[i + k], f->wire_len[i + k])
                         : WEFT_E_NOMEM,
                  "decode");
        }
        op_id_t ids[BATCH];
        for (size_t k = 0; k < n; k++)
            ids[k] = ops[k]->id;
        check(node_send_operations(f->node, ops, n, res), "send_operations");
        size_t ok = 0;
        for (size_t k = 0; k < n; k++)
            ok += res[k] == WEFT_OK;
        atomic_fetch_add(f->admitted, ok);
        double t = now_s();
        pthread_mutex_lock(f->mu);
        for (size_t k = 0; k < n; k++)
            if (res[k] == WEFT_OK && (i + k) % SAMPLE_EVERY == 0)
                f->samples[(*f->nsamples)++] = (sample){ids[k], t, 0};
        pthread_mutex_unlock(f->mu);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    size_t naccounts = argc > 2 ? (size_t)atol(argv[2]) : 4096;
    check(crypto_init(), "crypto_init");
    check(log_init(getenv("WEFT_LOG") ? NULL : "warn"), "log");
    char dir[] = "/tmp/weft-node-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char repodir[128], gpath[128];
    snprintf(repodir, sizeof repodir, "%s/repo", dir);
    snprintf(gpath, sizeof gpath, "%s/genesis.json", dir);

    /* genesis: one staker with every roll, naccounts funded senders */
    model_params p;
    model_params_default(&p);
    p.max_block_size = 1000000;
    p.chain_id = 77;
    p.genesis_timestamp_ms = wall_ms() + 1000;
    keypair_t staker, *acc = calloc(naccounts, sizeof *acc);
    uint8_t seed[32];
    uint64_t rs = 42;
    for (int i = 0; i < 4; i++) {
        uint64_t r = next_rand(&rs);
        memcpy(seed + 8 * i, &r, 8);
    }
    keypair_from_seed(&staker, seed);
    repo_genesis_t g;
    memset(&g, 0, sizeof g);
    g.params = p;
    g.balances = calloc(naccounts, sizeof *g.balances);
    g.rolls = calloc(1, sizeof *g.rolls);
    for (size_t i = 0; i < naccounts; i++) {
        for (int k = 0; k < 4; k++) {
            uint64_t r = next_rand(&rs);
            memcpy(seed + 8 * k, &r, 8);
        }
        keypair_from_seed(&acc[i], seed);
        address_of_pubkey(&g.balances[i].addr, &acc[i].pk);
        g.balances[i].amount = amount_from_nano(1000000ull * 1000000000ull);
    }
    g.balance_count = naccounts;
    address_of_pubkey(&g.rolls[0].addr, &staker.pk);
    g.rolls[0].rolls = 1000;
    g.roll_count = 1;
    check(repo_genesis_write(&g, gpath), "genesis");
    repo_config_t cfg;
    repo_config_default(&cfg);
    snprintf(cfg.api_public, sizeof cfg.api_public, "127.0.0.1:0");
    snprintf(cfg.api_private, sizeof cfg.api_private, "127.0.0.1:0");
    snprintf(cfg.metrics, sizeof cfg.metrics, "127.0.0.1:0");
    cfg.pool_max_ops_per_thread = 40000;
    char err[256];
    repo_init_options io = {
        .genesis_path = gpath, .staking = &staker, .staking_count = 1, .config = &cfg};
    check(repo_init(repodir, &io, err, sizeof err), err);

    /* pre-signed transfers: each account sends to the next, expiring at period 9 */
    double t0 = now_s();
    size_t nops = (size_t)(seconds * 12000);
    uint8_t **wire = calloc(nops, sizeof *wire);
    size_t *wire_len = calloc(nops, sizeof *wire_len);
    for (size_t i = 0; i < nops; i++) {
        operation_t op;
        memset(&op, 0, sizeof op);
        op.fee = amount_from_nano(1000);
        op.expire_period = 10; /* valid from genesis to period 10 (160 s): the whole run */
        op.type = OP_TRANSACTION;
        op.u.transaction.recipient = g.balances[(i + 1) % naccounts].addr;
        op.u.transaction.amount = amount_from_nano(1000 + i);
        wr_t c;
        wr_init(&c);
        op_encode(&c, &op);
        const keypair_t *kp = &acc[i % naccounts];
        hash32_t d;
        op_digest(&d, p.chain_id, &kp->pk, c.buf, c.len);
        signature_t sig;
        model_sign_digest(&sig, kp, &d);
        signed_op_t so;
        check(signed_op_from_parts(&so, p.chain_id, &kp->pk, &sig, c.buf, c.len), "op");
        wr_t w;
        wr_init(&w);
        signed_op_encode(&w, &so);
        wire[i] = wr_take(&w, &wire_len[i]);
        signed_op_free(&so);
        wr_free(&c);
    }
    printf("node_bench: %zu transfers from %zu accounts signed in %.1f s\n", nops, naccounts,
           now_s() - t0);

    long rss_before = rss_kb(); /* the pre-signed operations, before the node exists */
    repo_t *repo;
    check(repo_open(&repo, repodir, NULL, 0, err, sizeof err), err);
    node_t *node;
    check(node_start(&node, repo, NULL, err, sizeof err), err);
    /* idle: wait for genesis and a few slots */
    while (wall_ms() < p.genesis_timestamp_ms + 2000)
        usleep(50000);
    long rss_idle = rss_kb();

    atomic_size_t admitted = 0;
    sample *samples = calloc(nops / SAMPLE_EVERY + 16, sizeof *samples);
    size_t nsamples = 0;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    node_status_t st0, st1;
    check(node_get_status(node, &st0), "status");
    double start = now_s();
    feeder f[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        f[k] = (feeder){node,      wire,    wire_len,  nops * k / 2, nops * (k + 1) / 2, p.chain_id,
                        &admitted, samples, &nsamples, &mu,          start + seconds};
        pthread_create(&th[k], NULL, feed, &f[k]);
    }
    long rss_load = 0;
    /* while feeding and after: poll the sampled operations for final execution */
    double end_feed = 0;
    size_t done_samples = 0;
    /* final operations over time, for the best sustained rate over one period (16 s) */
    enum { MAXPTS = 4096 };
    static double pt_t[MAXPTS];
    static uint64_t pt_f[MAXPTS];
    size_t npts = 0;
    double best = 0;
    for (;;) {
        usleep(500000);
        node_status_t sn;
        if (npts < MAXPTS && node_get_status(node, &sn) == WEFT_OK) {
            pt_t[npts] = now_s();
            pt_f[npts] = sn.ops_final_executed;
            for (size_t k = 0; k < npts; k++)
                if (pt_t[npts] - pt_t[k] >= 16.0 && pt_t[npts] - pt_t[k] < 17.0) {
                    double r = (double)(pt_f[npts] - pt_f[k]) / (pt_t[npts] - pt_t[k]);
                    if (r > best)
                        best = r;
                }
            npts++;
        }
        long r = rss_kb();
        if (r > rss_load)
            rss_load = r;
        if (!end_feed && now_s() >= start + seconds)
            end_feed = now_s();
        pthread_mutex_lock(&mu);
        size_t ns = nsamples;
        pthread_mutex_unlock(&mu);
        done_samples = 0;
        for (size_t i = 0; i < ns; i++) {
            if (samples[i].final) {
                done_samples++;
                continue;
            }
            node_op_info_t oi;
            if (node_get_operation(node, &samples[i].id, &oi) == WEFT_OK) {
                if (oi.final_executed) {
                    samples[i].final = now_s();
                    done_samples++;
                }
                node_op_info_free(&oi);
            }
        }
        if (end_feed && (done_samples == ns || now_s() > end_feed + 60))
            break;
    }
    double stop = now_s();
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    check(node_get_status(node, &st1), "status");
    size_t adm = atomic_load(&admitted);
    uint64_t fin = st1.ops_final_executed - st0.ops_final_executed;
    double *lat = calloc(nsamples + 1, sizeof *lat);
    size_t nl = 0;
    for (size_t i = 0; i < nsamples; i++)
        if (samples[i].final)
            lat[nl++] = samples[i].final - samples[i].admitted;
    qsort(lat, nl, sizeof *lat, cmp_double);
    printf("node_bench: t0 16000 ms, T 32, max_block_size 1000000, %zu accounts, fed %.0f s\n",
           naccounts, seconds);
    printf("  admitted      %zu ops, %.0f ops/s\n", adm, adm / seconds);
    printf("  final         %llu ops in %.0f s (%.0f ops/s overall), best sustained over one "
           "period %.0f ops/s\n",
           (unsigned long long)fin, stop - start, fin / (stop - start), best);
    if (nl)
        printf("  finality      median %.1f s, p99 %.1f s (%zu of %zu sampled ops final)\n",
               lat[nl / 2], lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1], nl, nsamples);
    printf("  blocks        produced %llu, final %zu, stale %zu\n",
           (unsigned long long)st1.blocks_produced, st1.final_block_count, st1.stale_block_count);
    printf("  RSS           node at idle %.1f MB (process %.1f MB minus %.1f MB of pre-signed "
           "operations), peak under load %.1f MB\n",
           (rss_idle - rss_before) / 1024.0, rss_idle / 1024.0, rss_before / 1024.0,
           rss_load / 1024.0);
    node_stop(node);
    repo_close(repo);
    for (size_t i = 0; i < nops; i++)
        free(wire[i]);
    free(wire);
    free(wire_len);
    free(samples);
    free(lat);
    free(acc);
    repo_genesis_free(&g);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "node_bench: could not remove %s\n", dir);
    return 0;
}
