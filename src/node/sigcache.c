/* The verified-signature cache (sigcache.h): sets of NSIGCACHE_WAYS entries indexed by the id's
 * first bytes (ids are BLAKE3 outputs: uniform), each set replacing its entries oldest first, one
 * mutex per stripe of sets. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sigcache.h"

#define STRIPES 64

typedef struct set {
    uint8_t used; /* bit w: way w holds an entry */
    uint8_t next; /* the way the next new entry takes when all are used: the oldest */
    uint8_t id[NSIGCACHE_WAYS][MODEL_HASH_LEN];
    uint8_t sig[NSIGCACHE_WAYS][sizeof(signature_t)];
} set;

WEFT_STATIC_ASSERT(MODEL_HASH_LEN + sizeof(signature_t) == NSIGCACHE_ENTRY_BYTES,
                   "sigcache.h states the size of an entry");
WEFT_STATIC_ASSERT(NSIGCACHE_WAYS <= 8, "a set's ways are the bits of `used`");

struct nsigcache {
    set *sets;
    size_t mask; /* sets - 1 */
    pthread_mutex_t mu[STRIPES];
    atomic_uint_fast64_t hits, verified;
};

unsigned nsigcache_bits_for(uint64_t ops)
{
    unsigned bits = NSIGCACHE_MIN_BITS;
    while (bits < NSIGCACHE_MAX_BITS && ((uint64_t)1 << bits) < ops)
        bits++;
    return bits;
}

weft_err nsigcache_new(nsigcache **out, unsigned bits)
{
    *out = NULL;
    if (bits < 8 || bits > 24)
        return WEFT_E_INVAL;
    nsigcache *c = calloc(1, sizeof *c);
    if (!c)
        return WEFT_E_NOMEM;
    size_t sets = ((size_t)1 << bits) / NSIGCACHE_WAYS;
    c->sets = calloc(sets, sizeof *c->sets);
    if (!c->sets) {
        free(c);
        return WEFT_E_NOMEM;
    }
    c->mask = sets - 1;
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
    free(c->sets);
    free(c);
}

static size_t set_of(const nsigcache *c, const signed_op_t *op)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | op->id.h.b[i];
    return (size_t)v & c->mask;
}

/* The way of s holding op's id (whatever its signature), or -1. */
static int way_of(const set *s, const signed_op_t *op)
{
    for (int w = 0; w < NSIGCACHE_WAYS; w++)
        if ((s->used >> w & 1) && memcmp(s->id[w], op->id.h.b, MODEL_HASH_LEN) == 0)
            return w;
    return -1;
}

weft_err nsigcache_verify(nsigcache *c, const signed_op_t *op)
{
    if (!c)
        return signed_op_verify(op);
    size_t i = set_of(c, op);
    pthread_mutex_t *mu = &c->mu[i % STRIPES];
    set *s = &c->sets[i];
    pthread_mutex_lock(mu);
    int w = way_of(s, op);
    bool hit = w >= 0 && memcmp(s->sig[w], op->sig.b, sizeof op->sig.b) == 0;
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
    w = way_of(s, op); /* another thread may have put it meanwhile */
    if (w < 0) {
        for (w = 0; w < NSIGCACHE_WAYS && (s->used >> w & 1); w++)
            ;
        if (w == NSIGCACHE_WAYS) { /* full: the oldest goes */
            w = s->next;
            s->next = (uint8_t)((s->next + 1) % NSIGCACHE_WAYS);
        }
        memcpy(s->id[w], op->id.h.b, MODEL_HASH_LEN);
        s->used |= (uint8_t)(1u << w);
    }
    memcpy(s->sig[w], op->sig.b, sizeof op->sig.b);
    pthread_mutex_unlock(mu);
    return WEFT_OK;
}

void nsigcache_stats(nsigcache *c, uint64_t *hits, uint64_t *verified)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *verified = c ? atomic_load(&c->verified) : 0;
}
