/* A hash map from 32-byte keys (block ids, or encoded slots) to pointers: open addressing with
 * linear probing and backward-shift deletion.  Keys are BLAKE3 outputs or slot encodings, mixed
 * with a per-map seed so that a peer cannot pick colliding ids. */
#include <stdlib.h>
#include <string.h>

#include "nmap.h"

static size_t nm_hash(const nmap *m, const uint8_t *k)
{
    uint64_t a, b;
    memcpy(&a, k, 8);
    memcpy(&b, k + 8, 8);
    uint64_t h = (a ^ m->seed) * 0x9E3779B97F4A7C15ull;
    h ^= (b + m->seed) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return (size_t)h & (m->cap - 1);
}

void nmap_init(nmap *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->seed = seed;
}

void nmap_free(nmap *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

static size_t find(const nmap *m, const uint8_t *k)
{
    size_t i = nm_hash(m, k);
    while (m->e[i].v && memcmp(m->e[i].k, k, NMAP_KEY) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void *nmap_get(const nmap *m, const uint8_t *k)
{
    if (!m->cap)
        return NULL;
    return m->e[find(m, k)].v;
}

static bool grow(nmap *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    nmap n = {calloc(nc, sizeof *m->e), nc, 0, m->seed};
    if (!n.e)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].v) {
            size_t j = find(&n, m->e[i].k);
            n.e[j] = m->e[i];
            n.count++;
        }
    free(m->e);
    *m = n;
    return true;
}

weft_err nmap_put(nmap *m, const uint8_t *k, void *v)
{
    WEFT_MISUSE(v != NULL);
    if (2 * (m->count + 1) > m->cap && !grow(m))
        return WEFT_E_NOMEM;
    size_t i = find(m, k);
    if (!m->e[i].v) {
        memcpy(m->e[i].k, k, NMAP_KEY);
        m->count++;
    }
    m->e[i].v = v;
    return WEFT_OK;
}

void *nmap_del(nmap *m, const uint8_t *k)
{
    if (!m->cap)
        return NULL;
    size_t i = find(m, k);
    void *v = m->e[i].v;
    if (!v)
        return NULL;
    m->e[i].v = NULL;
    m->count--;
    /* backward shift: move later entries of the run into the hole when their home allows it */
    size_t j = i;
    for (;;) {
        j = (j + 1) & (m->cap - 1);
        if (!m->e[j].v)
            break;
        size_t h = nm_hash(m, m->e[j].k);
        bool between = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (between)
            continue;
        m->e[i] = m->e[j];
        m->e[j].v = NULL;
        i = j;
    }
    return v;
}

void nmap_slot_key(uint8_t k[NMAP_KEY], slot_t s)
{
    memset(k, 0, NMAP_KEY);
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(s.period >> (8 * i));
    k[8] = s.thread;
    k[9] = 0x5a;
}
