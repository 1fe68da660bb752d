/* Diffs: the changes of one slot (or one operation) as an ordered map of (table, key) → new value
 * or deletion; absorbing one diff into another moves nodes without copying. */
#include <stdlib.h>
#include <string.h>

#include "state/state_internal.h"

weft_err state_diff_new(state_diff_t **out)
{
    WEFT_MISUSE(out);
    *out = calloc(1, sizeof **out);
    return *out ? WEFT_OK : WEFT_E_NOMEM;
}

void state_diff_free(state_diff_t *d)
{
    if (!d)
        return;
    state_map_clear(&d->map);
    free(d);
}

void state_diff_clear(state_diff_t *d)
{
    state_map_clear(&d->map);
    memset(d->bloom, 0, sizeof d->bloom);
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

static void bloom_add(state_diff_t *d, uint64_t h)
{
    size_t a = h % STATE_BLOOM_BITS, b = (h >> 32) % STATE_BLOOM_BITS;
    d->bloom[a / 64] |= 1ull << (a % 64);
    d->bloom[b / 64] |= 1ull << (b % 64);
}

static bool bloom_may_have(const state_diff_t *d, uint64_t h)
{
    size_t a = h % STATE_BLOOM_BITS, b = (h >> 32) % STATE_BLOOM_BITS;
    return (d->bloom[a / 64] >> (a % 64) & 1) && (d->bloom[b / 64] >> (b % 64) & 1);
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

/* Post-order walk handing every node of a tree to dst. */
static void move_all(state_map *dst, state_node *n)
{
    while (n) {
        move_all(dst, n->l);
        state_node *r = n->r;
        free(state_map_insert(dst, n));
        n = r;
    }
}

void state_diff_absorb(state_diff_t *dst, state_diff_t *src)
{
    WEFT_MISUSE(dst && src && dst != src);
    state_node *root = src->map.root;
    src->map.root = NULL;
    src->map.count = 0;
    move_all(&dst->map, root);
    for (size_t i = 0; i < STATE_BLOOM_BITS / 64; i++)
        dst->bloom[i] |= src->bloom[i];
    memset(src->bloom, 0, sizeof src->bloom);
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
