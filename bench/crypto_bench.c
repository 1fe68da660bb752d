/* crypto_bench — throughput of the primitives every block pays for: Ed25519 sign and verify,
 * BLAKE3 over 1 MiB and 150 B inputs, and operation decode + id + signature verify (a signed
 * transaction, the common case).  Each figure is measured on one thread and on all cores (one
 * thread per online CPU, same work each).  Usage: crypto_bench [seconds-per-figure, default 1]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "model/model.h"

#include "bench_util.h"

static double g_seconds = 1.0;

typedef struct fixture {
    keypair_t kp;
    hash32_t digest;
    signature_t sig;
    uint8_t *big; /* 1 MiB */
    uint8_t small[150];
    uint8_t *wire; /* a signed transaction: sig ‖ pk ‖ content */
    size_t wire_len;
} fixture;

typedef long (*work_fn)(const fixture *f, long iters); /* returns bytes processed, or iters */

static long w_sign(const fixture *f, long n)
{
    signature_t s;
    for (long i = 0; i < n; i++)
        model_sign_digest(&s, &f->kp, &f->digest);
    return n;
}

static long w_verify(const fixture *f, long n)
{
    long ok = 0;
    for (long i = 0; i < n; i++)
        ok += model_verify_digest(&f->sig, &f->kp.pk, &f->digest) == WEFT_OK;
    if (ok != n)
        abort();
    return n;
}

static long w_blake3_big(const fixture *f, long n)
{
    uint8_t out[32];
    for (long i = 0; i < n; i++)
        crypto_blake3(out, f->big, 1 << 20);
    return n * (1 << 20);
}

static long w_blake3_small(const fixture *f, long n)
{
    uint8_t out[32];
    for (long i = 0; i < n; i++)
        crypto_blake3(out, f->small, sizeof f->small);
    return n * (long)sizeof f->small;
}

static long w_op(const fixture *f, long n)
{
    for (long i = 0; i < n; i++) {
        signed_op_t s;
        if (signed_op_decode(&s, 77658366, f->wire, f->wire_len) != WEFT_OK ||
            signed_op_verify(&s) != WEFT_OK)
            abort();
        signed_op_free(&s);
    }
    return n;
}

struct job {
    const fixture *f;
    work_fn fn;
    long iters;
    long result;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    j->result = j->fn(j->f, j->iters);
    return NULL;
}

/* Calibrates an iteration count for ~g_seconds on one thread, then runs it on `threads` threads;
 * returns units per second over all threads. */
static double measure(const fixture *f, work_fn fn, int threads, long *calibrated)
{
    if (*calibrated == 0) {
        long n = 1;
        for (;;) {
            double t0 = now_s();
            fn(f, n);
            double dt = now_s() - t0;
            if (dt > g_seconds / 4) {
                *calibrated = (long)((double)n * g_seconds / dt) + 1;
                break;
            }
            n *= 2;
        }
    }
    struct job jobs[256];
    pthread_t tid[256];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){f, fn, *calibrated, 0};
        if (pthread_create(&tid[i], NULL, run_job, &jobs[i]) != 0)
            abort();
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].result;
    }
    return (double)total / (now_s() - t0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_seconds = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
    if (crypto_init() != WEFT_OK)
        return 1;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1 || cores > 256)
        cores = 1;

    fixture f;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    keypair_from_seed(&f.kp, seed);
    crypto_blake3(f.digest.b, "weft", 4);
    model_sign_digest(&f.sig, &f.kp, &f.digest);
    f.big = malloc(1 << 20);
    for (size_t i = 0; i < (1 << 20); i++)
        f.big[i] = (uint8_t)(i * 131);
    memset(f.small, 0x5a, sizeof f.small);

    /* a signed transaction of 1.5 MAS, fee 0.01 MAS */
    operation_t op = {.fee = {10000000}, .expire_period = 1000, .type = OP_TRANSACTION};
    address_of_pubkey(&op.u.transaction.recipient, &f.kp.pk);
    op.u.transaction.amount.nano = 1500000000;
    wr_t c;
    wr_init(&c);
    op_encode(&c, &op);
    signed_op_t so;
    memset(&so, 0, sizeof so);
    so.creator = f.kp.pk;
    so.content = c.buf;
    so.content_len = c.len;
    op_digest(&so.id.h, 77658366, &so.creator, c.buf, c.len);
    model_sign_digest(&so.sig, &f.kp, &so.id.h);
    wr_t w;
    wr_init(&w);
    signed_op_encode(&w, &so);
    f.wire = w.buf;
    f.wire_len = w.len;

    struct {
        const char *name, *unit;
        work_fn fn;
        double scale;
    } rows[] = {
        {"ed25519 sign", "sign/s", w_sign, 1},
        {"ed25519 verify", "verify/s", w_verify, 1},
        {"blake3 1 MiB", "MB/s", w_blake3_big, 1e-6},
        {"blake3 150 B", "MB/s", w_blake3_small, 1e-6},
        {"op decode+verify", "op/s", w_op, 1},
    };
    printf("crypto_bench: %.1f s per figure, %d core(s), transaction wire size %zu B\n", g_seconds,
           cores, f.wire_len);
    printf("%-18s %14s %14s %8s\n", "", "1 thread", "all cores", "unit");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        long cal = 0;
        double one = measure(&f, rows[i].fn, 1, &cal) * rows[i].scale;
        double all = measure(&f, rows[i].fn, cores, &cal) * rows[i].scale;
        printf("%-18s %14.0f %14.0f %8s\n", rows[i].name, one, all, rows[i].unit);
    }
    wr_free(&w);
    wr_free(&c);
    free(f.big);
    return 0;
}
