/* Diffs: the changes of one slot (or one operation) as an ordered map of (table, key) → new value
 * or deletion; absorbing one diff into another moves nodes without copying. */
#include <stdlib.h>
#include <string.h>

#include "state/state_internal.h"

/* The small inline filter, empty. */
static void bloom_reset(state_diff_t *d)
{
    if (d->bloom != d->small)
        free(d->bloom);
    memset(d->small, 0, sizeof d->small);
    d->bloom = d->small;
    d->mask = STATE_BLOOM_BITS - 1;
}

weft_err state_diff_new(state_diff_t **out)
{
    WEFT_MISUSE(out);
    *out = calloc(1, sizeof **out);
    if (!*out)
        return WEFT_E_NOMEM;
    bloom_reset(*out);
    return WEFT_OK;
}

void state_diff_free(state_diff_t *d)
{
    if (!d)
        return;
    state_map_clear(&d->map);
    if (d->bloom != d->small)
        free(d->bloom);
    free(d);
}

void state_diff_clear(state_diff_t *d)
{
    state_map_clear(&d->map);
    bloom_reset(d);
}

/* ---- the Bloom filter ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

uint64_t state_key_hash(state_table t, const uint8_t *key, size_t klen)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)t << 56) ^ klen;
    size_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mix(h ^ w) * 0x9e3779b97f4a7c15ull;
    }
    uint64_t w = 0;
    for (size_t k = 0; i < klen; i++, k++)
        w |= (uint64_t)key[i] << (8 * k);
    return mix(h ^ w);
}

/* The two bits of h: its low bits, and the bits from 32 on rotated in (a filter may hold more
 * than 2^32 bits only in theory: the second index then still spreads). */
static void bloom_bits(const state_diff_t *d, uint64_t h, uint64_t *a, uint64_t *b)
{
    *a = h & d->mask;
    *b = (h >> 32 | h << 32) * 0x9e3779b97f4a7c15ull >> 17 & d->mask;
}

static void bloom_add(state_diff_t *d, uint64_t h)
{
    uint64_t a, b;
    bloom_bits(d, h, &a, &b);
    d->bloom[a / 64] |= 1ull << (a % 64);
    d->bloom[b / 64] |= 1ull << (b % 64);
}

static bool bloom_may_have(const state_diff_t *d, uint64_t h)
{
    uint64_t a, b;
    bloom_bits(d, h, &a, &b);
    return (d->bloom[a / 64] >> (a % 64) & 1) && (d->bloom[b / 64] >> (b % 64) & 1);
}

bool state_diff_may_have(const state_diff_t *d, uint64_t h) { return bloom_may_have(d, h); }

/* Grows the filter (4 times) while the diff holds more keys than it is sized for, rebuilding it
 * from the keys; on an allocation failure the filter in place stays (it is never wrong). */
static void bloom_fit(state_diff_t *d)
{
    uint64_t bits = d->mask + 1;
    if (d->map.count <= bits / STATE_BLOOM_BITS_PER_KEY)
        return;
    while (d->map.count > bits / STATE_BLOOM_BITS_PER_KEY && bits < (UINT64_C(1) << 40))
        bits *= 4;
    uint64_t *nb = calloc(bits / 64, sizeof *nb);
    if (!nb)
        return;
    if (d->bloom != d->small)
        free(d->bloom);
    d->bloom = nb;
    d->mask = bits - 1;
    state_map_iter it;
    state_map_iter_first(&it, &d->map);
    for (const state_node *n; (n = state_map_iter_next(&it));)
        bloom_add(d, state_key_hash((state_table)n->table, node_key(n), n->klen));
}

static weft_err change(state_diff_t *d, state_table t, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen, bool del)
{
    WEFT_MISUSE(d && (key || klen == 0) && (val || vlen == 0));
    if ((unsigned)t >= STATE_T_COUNT)
        return WEFT_E_INVAL;
    if (klen > STATE_MAX_KEY_LEN || vlen > STATE_MAX_VALUE_LEN)
        return WEFT_E_LIMIT;
    state_node *n = state_node_new(t, key, klen, val, vlen, del);
    if (!n)
        return WEFT_E_NOMEM;
    free(state_map_insert(&d->map, n));
    bloom_add(d, state_key_hash(t, key, klen));
    bloom_fit(d);
    return WEFT_OK;
}

weft_err state_diff_put(state_diff_t *d, state_table t, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen)
{
    return change(d, t, key, klen, val, vlen, false);
}

weft_err state_diff_del(state_diff_t *d, state_table t, const uint8_t *key, size_t klen)
{
    return change(d, t, key, klen, NULL, 0, true);
}

state_change state_diff_lookup(const state_diff_t *d, state_table t, const uint8_t *key,
                               size_t klen, const uint8_t **val, size_t *vlen)
{
    return state_diff_lookup_h(d, state_key_hash(t, key, klen), t, key, klen, val, vlen);
}

state_change state_diff_lookup_h(const state_diff_t *d, uint64_t h, state_table t,
                                 const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen)
{
    if (!bloom_may_have(d, h))
        return STATE_UNCHANGED;
    const state_node *n = state_map_find(&d->map, t, key, klen);
    if (!n)
        return STATE_UNCHANGED;
    if (n->del)
        return STATE_DELETED;
    *val = node_val(n);
    *vlen = n->vlen;
    return STATE_SET;
}

/* Post-order walk handing every node of a tree to dst (its keys into dst's filter when hash). */
static void move_all(state_diff_t *dst, state_node *n, bool hash)
{
    while (n) {
        move_all(dst, n->l, hash);
        state_node *r = n->r;
        if (hash)
            bloom_add(dst, state_key_hash((state_table)n->table, node_key(n), n->klen));
        free(state_map_insert(&dst->map, n));
        n = r;
    }
}

void state_diff_absorb(state_diff_t *dst, state_diff_t *src)
{
    WEFT_MISUSE(dst && src && dst != src);
    state_node *root = src->map.root;
    src->map.root = NULL;
    src->map.count = 0;
    bool same = dst->mask == src->mask; /* filters of one size: or'ed, no key hashed again */
    move_all(dst, root, !same);
    for (uint64_t i = 0; same && i <= dst->mask / 64; i++)
        dst->bloom[i] |= src->bloom[i];
    bloom_reset(src);
    bloom_fit(dst);
}

size_t state_diff_count(const state_diff_t *d) { return d->map.count; }

void state_diff_foreach(const state_diff_t *d, state_diff_visit visit, void *ctx)
{
    state_map_iter it;
    state_map_iter_first(&it, &d->map);
    for (state_node *n; (n = state_map_iter_next(&it));)
        if (!visit(ctx, (state_table)n->table, node_key(n), n->klen, n->del ? NULL : node_val(n),
                   n->vlen))
            return;
}
