/* graph/map.c — the two hash maps of a graph: block id -> node, and slot -> number of blocks known
 * in that slot (for the per-slot bound).  Open addressing with linear probing, load factor at most
 * 1/2, backward-shift deletion (no tombstones), keyed by the configuration's hash_seed so that a
 * node can randomize the layout against crafted ids. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t id_hash(const graph *g, const block_id_t *id)
{
    uint64_t a, b;
    memcpy(&a, id->h.b, 8);
    memcpy(&b, id->h.b + 8, 8);
    return mix64(a ^ mix64(b ^ g->cfg.hash_seed));
}

static uint64_t slot_hash(const graph *g, slot_t s)
{
    return mix64(s.period ^ mix64(((uint64_t)s.thread << 32) ^ g->cfg.hash_seed));
}

gnode *map_get(const graph *g, const block_id_t *id)
{
    if (g->map_cap == 0)
        return NULL;
    size_t mask = g->map_cap - 1;
    for (size_t i = id_hash(g, id) & mask;; i = (i + 1) & mask) {
        gnode *n = g->map[i];
        if (!n)
            return NULL;
        if (block_id_eq(&n->id, id))
            return n;
    }
}

static void map_insert_raw(gnode **map, size_t cap, uint64_t h, gnode *n)
{
    size_t mask = cap - 1;
    size_t i = h & mask;
    while (map[i])
        i = (i + 1) & mask;
    map[i] = n;
}

weft_err map_put(graph *g, gnode *n)
{
    WEFT_ASSERT(!map_get(g, &n->id));
    if (2 * (g->map_count + 1) > g->map_cap) {
        size_t ncap = g->map_cap ? 2 * g->map_cap : 64;
        gnode **nm = calloc(ncap, sizeof(gnode *));
        if (!nm)
            return WEFT_E_NOMEM;
        for (size_t i = 0; i < g->map_cap; i++)
            if (g->map[i])
                map_insert_raw(nm, ncap, id_hash(g, &g->map[i]->id), g->map[i]);
        free(g->map);
        g->map = nm;
        g->map_cap = ncap;
    }
    map_insert_raw(g->map, g->map_cap, id_hash(g, &n->id), n);
    g->map_count++;
    return WEFT_OK;
}

void map_del(graph *g, const gnode *n)
{
    size_t mask = g->map_cap - 1;
    size_t i = id_hash(g, &n->id) & mask;
    while (g->map[i] != n) {
        WEFT_ASSERT(g->map[i]);
        i = (i + 1) & mask;
    }
    /* backward shift: move later entries of the cluster into the hole when their home allows */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; g->map[j]; j = (j + 1) & mask) {
        size_t home = id_hash(g, &g->map[j]->id) & mask;
        /* j may fill the hole iff home is not cyclically within (hole, j] */
        bool within = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!within) {
            g->map[hole] = g->map[j];
            hole = j;
        }
    }
    g->map[hole] = NULL;
    g->map_count--;
}

/* ---- slot counts ---------------------------------------------------------------------------- */

static bool slot_eq(slot_t a, slot_t b) { return a.period == b.period && a.thread == b.thread; }

static size_t smap_find(const graph *g, slot_t s)
{
    size_t mask = g->smap_cap - 1;
    size_t i = slot_hash(g, s) & mask;
    while (g->smap[i].count && !slot_eq(g->smap[i].slot, s))
        i = (i + 1) & mask;
    return i;
}

uint32_t smap_get(const graph *g, slot_t s)
{
    if (g->smap_cap == 0)
        return 0;
    return g->smap[smap_find(g, s)].count;
}

weft_err smap_inc(graph *g, slot_t s)
{
    if (g->smap_cap == 0 || 2 * (g->smap_count + 1) > g->smap_cap) {
        size_t ncap = g->smap_cap ? 2 * g->smap_cap : 64;
        slotcount *nm = calloc(ncap, sizeof *nm);
        if (!nm)
            return WEFT_E_NOMEM;
        slotcount *old = g->smap;
        size_t ocap = g->smap_cap;
        g->smap = nm;
        g->smap_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].count)
                g->smap[smap_find(g, old[i].slot)] = old[i];
        free(old);
    }
    size_t i = smap_find(g, s);
    if (g->smap[i].count == 0) {
        g->smap[i].slot = s;
        g->smap_count++;
    }
    g->smap[i].count++;
    return WEFT_OK;
}

void smap_dec(graph *g, slot_t s)
{
    size_t i = smap_find(g, s);
    WEFT_ASSERT(g->smap[i].count > 0);
    if (--g->smap[i].count > 0)
        return;
    size_t mask = g->smap_cap - 1;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; g->smap[j].count; j = (j + 1) & mask) {
        size_t home = slot_hash(g, g->smap[j].slot) & mask;
        bool within = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!within) {
            g->smap[hole] = g->smap[j];
            hole = j;
        }
    }
    g->smap[hole].count = 0;
    g->smap_count--;
}
