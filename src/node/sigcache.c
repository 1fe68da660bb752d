/* The verified-signature cache (sigcache.h): a direct-mapped table indexed by the id's first
 * bytes (ids are BLAKE3 outputs: uniform), one mutex per stripe of entries. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sigcache.h"

#define STRIPES 64

typedef struct entry {
    uint8_t id[MODEL_HASH_LEN];
    uint8_t sig[sizeof(signature_t)];
    bool used;
} entry;

struct nsigcache {
    entry *e;
    size_t mask;
    pthread_mutex_t mu[STRIPES];
    atomic_uint_fast64_t hits, verified;
};

weft_err nsigcache_new(nsigcache **out, unsigned bits)
{
    *out = NULL;
    if (bits < 8 || bits > 24)
        return WEFT_E_INVAL;
    nsigcache *c = calloc(1, sizeof *c);
    if (!c)
        return WEFT_E_NOMEM;
    c->e = calloc((size_t)1 << bits, sizeof *c->e);
    if (!c->e) {
        free(c);
        return WEFT_E_NOMEM;
    }
    c->mask = ((size_t)1 << bits) - 1;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    *out = c;
    return WEFT_OK;
}

void nsigcache_free(nsigcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c->e);
    free(c);
}

static size_t index_of(const nsigcache *c, const signed_op_t *op)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | op->id.h.b[i];
    return (size_t)v & c->mask;
}

weft_err nsigcache_verify(nsigcache *c, const signed_op_t *op)
{
    if (!c)
        return signed_op_verify(op);
    size_t i = index_of(c, op);
    pthread_mutex_t *mu = &c->mu[i % STRIPES];
    entry *e = &c->e[i];
    pthread_mutex_lock(mu);
    bool hit = e->used && memcmp(e->id, op->id.h.b, sizeof e->id) == 0 &&
               memcmp(e->sig, op->sig.b, sizeof e->sig) == 0;
    pthread_mutex_unlock(mu);
    if (hit) {
        atomic_fetch_add(&c->hits, 1);
        return WEFT_OK;
    }
    weft_err err = signed_op_verify(op);
    atomic_fetch_add(&c->verified, 1);
    if (err)
        return err;
    pthread_mutex_lock(mu);
    memcpy(e->id, op->id.h.b, sizeof e->id);
    memcpy(e->sig, op->sig.b, sizeof e->sig);
    e->used = true;
    pthread_mutex_unlock(mu);
    return WEFT_OK;
}

void nsigcache_stats(nsigcache *c, uint64_t *hits, uint64_t *verified)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *verified = c ? atomic_load(&c->verified) : 0;
}
