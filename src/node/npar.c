/* The worker pool of npar.h: one job slot under a mutex; the job's items are taken with an
 * atomic counter by the caller and by the workers that joined the job. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "npar.h"

struct npar {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t th[NPAR_MAX_WORKERS];
    unsigned nth;
    bool stop;
    /* the job */
    bool busy;
    uint64_t gen;    /* job number: a worker joins each job at most once */
    unsigned active; /* workers inside the job */
    npar_item_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
    atomic_bool fail;
};

static void run_items(npar *p, npar_item_fn fn, void *ctx, size_t n)
{
    while (!atomic_load(&p->fail)) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= n)
            break;
        if (!fn(ctx, i))
            atomic_store(&p->fail, true);
    }
}

static void *worker(void *arg)
{
    npar *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (!p->busy || p->gen == seen))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        p->active++;
        npar_item_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t n = p->n;
        pthread_mutex_unlock(&p->mu);
        run_items(p, fn, ctx, n);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

unsigned npar_default_workers(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    if (c <= 1)
        return 0;
    return c - 1 > 3 ? 3 : (unsigned)(c - 1);
}

weft_err npar_new(npar **out, unsigned workers)
{
    *out = NULL;
    if (workers > NPAR_MAX_WORKERS)
        return WEFT_E_INVAL;
    npar *p = calloc(1, sizeof *p);
    if (!p)
        return WEFT_E_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; p->nth < workers; p->nth++)
        if (pthread_create(&p->th[p->nth], NULL, worker, p) != 0) {
            npar_free(p);
            return WEFT_E_NOMEM;
        }
    *out = p;
    return WEFT_OK;
}

void npar_free(npar *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static bool run_inline(size_t n, npar_item_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        if (!fn(ctx, i))
            return false;
    return true;
}

bool npar_all(npar *p, size_t n, npar_item_fn fn, void *ctx)
{
    if (!p || p->nth == 0 || n < 2)
        return run_inline(n, fn, ctx);
    pthread_mutex_lock(&p->mu);
    if (p->busy) {
        pthread_mutex_unlock(&p->mu);
        return run_inline(n, fn, ctx);
    }
    p->busy = true;
    p->gen++;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    atomic_store(&p->fail, false);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    run_items(p, fn, ctx, n);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    p->busy = false;
    bool ok = !atomic_load(&p->fail);
    pthread_mutex_unlock(&p->mu);
    return ok;
}
