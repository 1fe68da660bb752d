/* Bounded id sets and an id → pointer map for the protocol core (net_internal.h).
 *
 * Both are open-addressing tables with linear probing and backward-shift deletion (no
 * tombstones).  Keys are peer-controlled bytes (ids, operation id prefixes), so slots come from a
 * keyed mix of the key: a peer that does not know the core's secret seed cannot aim its keys at
 * one probe sequence. */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t net_key_hash(const uint8_t *key, uint32_t klen, uint64_t seed)
{
    uint64_t h = seed;
    for (uint32_t i = 0; i < klen; i += 8) {
        uint64_t w = 0;
        uint32_t n = klen - i < 8 ? klen - i : 8;
        memcpy(&w, key + i, n);
        h = mix64(h ^ w ^ ((uint64_t)i << 56));
    }
    return mix64(h ^ klen);
}

/* ---- FIFO-bounded set ------------------------------------------------------------------------ */

void net_lru_init(net_lru *s, uint32_t max, uint32_t klen, uint32_t vsize, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->max = max ? max : 1;
    s->klen = klen;
    s->vsize = vsize;
    s->seed = seed;
}

void net_lru_free(net_lru *s)
{
    free(s->keys);
    free(s->vals);
    free(s->table);
    uint32_t max = s->max, klen = s->klen, vsize = s->vsize;
    uint64_t seed = s->seed;
    net_lru_init(s, max, klen, vsize, seed);
}

static const uint8_t *lru_key(const net_lru *s, uint32_t pos) { return s->keys + (size_t)pos * 32; }

static uint32_t lru_home(const net_lru *s, const uint8_t *key)
{
    return (uint32_t)(net_key_hash(key, s->klen, s->seed) & (s->tcap - 1));
}

/* The table slot holding key, or the empty slot where it would go; *found says which. */
static uint32_t lru_probe(const net_lru *s, const uint8_t *key, bool *found)
{
    uint32_t i = lru_home(s, key);
    while (s->table[i]) {
        if (memcmp(lru_key(s, s->table[i] - 1), key, s->klen) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & (s->tcap - 1);
    }
    *found = false;
    return i;
}

static void lru_table_del(net_lru *s, uint32_t i)
{
    uint32_t mask = s->tcap - 1;
    s->table[i] = 0;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->table[j])
            return;
        uint32_t k = lru_home(s, lru_key(s, s->table[j] - 1));
        /* the entry at j may move to i if its home is not in (i, j] (cyclically) */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->table[i] = s->table[j];
            s->table[j] = 0;
            i = j;
        }
    }
}

static bool lru_grow(net_lru *s)
{
    uint32_t ncap = s->cap ? s->cap * 2 : 64;
    if (ncap > s->max)
        ncap = s->max;
    uint32_t ntcap = 64;
    while (ntcap < ncap * 2)
        ntcap *= 2;
    uint8_t *keys = realloc(s->keys, (size_t)ncap * 32);
    if (!keys)
        return false;
    s->keys = keys;
    if (s->vsize) {
        uint8_t *vals = realloc(s->vals, (size_t)ncap * s->vsize);
        if (!vals)
            return false;
        s->vals = vals;
    }
    uint32_t *table = calloc(ntcap, sizeof *table);
    if (!table)
        return false;
    free(s->table);
    s->table = table;
    s->tcap = ntcap;
    s->cap = ncap;
    /* growth happens before any eviction: entries sit at ring positions 0 .. count-1 */
    for (uint32_t p = 0; p < s->count; p++) {
        bool found;
        uint32_t slot = lru_probe(s, lru_key(s, p), &found);
        s->table[slot] = p + 1;
    }
    return true;
}

void *net_lru_get(const net_lru *s, const uint8_t *key, const uint8_t **stored_key)
{
    if (!s->count)
        return NULL;
    bool found;
    uint32_t i = lru_probe(s, key, &found);
    if (!found)
        return NULL;
    uint32_t pos = s->table[i] - 1;
    if (stored_key)
        *stored_key = lru_key(s, pos);
    /* a set without values answers with the stored key: any non-NULL pointer means "present" */
    return s->vsize ? (void *)(s->vals + (size_t)pos * s->vsize) : (void *)lru_key(s, pos);
}

bool net_lru_has(const net_lru *s, const uint8_t *key) { return net_lru_get(s, key, NULL) != NULL; }

void *net_lru_put(net_lru *s, const uint8_t key[32], bool *fresh)
{
    if (fresh)
        *fresh = false;
    void *v = net_lru_get(s, key, NULL);
    if (v)
        return v;
    if (s->count == s->cap && s->cap < s->max && !lru_grow(s))
        return NULL;
    if (s->count == s->max) { /* evict the oldest */
        bool found;
        uint32_t i = lru_probe(s, lru_key(s, s->head), &found);
        WEFT_ASSERT(found);
        lru_table_del(s, i);
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    uint32_t pos = (s->head + s->count) % s->cap;
    memcpy(s->keys + (size_t)pos * 32, key, 32);
    bool found;
    uint32_t slot = lru_probe(s, key, &found);
    s->table[slot] = pos + 1;
    s->count++;
    if (fresh)
        *fresh = true;
    if (!s->vsize)
        return s->keys + (size_t)pos * 32;
    uint8_t *val = s->vals + (size_t)pos * s->vsize;
    memset(val, 0, s->vsize);
    return val;
}

void *net_lru_at(const net_lru *s, uint32_t i, const uint8_t **key)
{
    WEFT_ASSERT(i < s->count);
    uint32_t pos = (s->head + i) % s->cap;
    if (key)
        *key = lru_key(s, pos);
    return s->vsize ? (void *)(s->vals + (size_t)pos * s->vsize) : (void *)lru_key(s, pos);
}

/* ---- id → pointer map ------------------------------------------------------------------------ */

void net_pmap_init(net_pmap *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->seed = seed;
}

void net_pmap_free(net_pmap *m)
{
    free(m->slots);
    uint64_t seed = m->seed;
    net_pmap_init(m, seed);
}

static uint32_t pmap_home(const net_pmap *m, const uint8_t *key)
{
    return (uint32_t)(net_key_hash(key, 32, m->seed) & (m->cap - 1));
}

static uint32_t pmap_probe(const net_pmap *m, const uint8_t *key, bool *found)
{
    uint32_t i = pmap_home(m, key);
    while (m->slots[i].v) {
        if (memcmp(m->slots[i].key, key, 32) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    *found = false;
    return i;
}

void *net_pmap_get(const net_pmap *m, const uint8_t key[32])
{
    if (!m->count)
        return NULL;
    bool found;
    uint32_t i = pmap_probe(m, key, &found);
    return found ? m->slots[i].v : NULL;
}

weft_err net_pmap_put(net_pmap *m, const uint8_t key[32], void *v)
{
    WEFT_MISUSE(v != NULL);
    if ((m->count + 1) * 2 > m->cap) {
        uint32_t ncap = m->cap ? m->cap * 2 : 64;
        net_pmap_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return WEFT_E_NOMEM;
        net_pmap old = *m;
        m->slots = ns;
        m->cap = ncap;
        for (uint32_t i = 0; i < old.cap; i++) {
            if (!old.slots[i].v)
                continue;
            bool found;
            uint32_t j = pmap_probe(m, old.slots[i].key, &found);
            m->slots[j] = old.slots[i];
        }
        free(old.slots);
    }
    bool found;
    uint32_t i = pmap_probe(m, key, &found);
    if (!found)
        m->count++;
    memcpy(m->slots[i].key, key, 32);
    m->slots[i].v = v;
    return WEFT_OK;
}

void *net_pmap_del(net_pmap *m, const uint8_t key[32])
{
    if (!m->count)
        return NULL;
    bool found;
    uint32_t i = pmap_probe(m, key, &found);
    if (!found)
        return NULL;
    void *v = m->slots[i].v;
    uint32_t mask = m->cap - 1;
    m->slots[i].v = NULL;
    m->count--;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].v)
            break;
        uint32_t k = pmap_home(m, m->slots[j].key);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j].v = NULL;
            i = j;
        }
    }
    return v;
}
