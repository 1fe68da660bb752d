/* Read-through views: the top diff, then the speculative diffs newest first, then the final
 * state.  Range scans merge the final records of the range with every layer's changes in an
 * in-memory map, newest change winning, deletions hiding older values. */
#include <stdlib.h>

#include "state/state_internal.h"

void state_view_init(state_view_t *v, state_final_t *final, const state_diff_t *const *layers,
                     size_t n, state_diff_t *top)
{
    WEFT_MISUSE(v && final && (layers || n == 0));
    v->final = final;
    v->layers = layers;
    v->layer_count = n;
    v->top = top;
    wr_init(&v->scratch);
}

void state_view_free(state_view_t *v) { wr_free(&v->scratch); }

weft_err state_view_get(state_view_t *v, state_table t, const uint8_t *key, size_t klen,
                        const uint8_t **val, size_t *vlen)
{
    WEFT_MISUSE(v && val && vlen && (key || klen == 0));
    state_change c = STATE_UNCHANGED;
    uint64_t h = state_key_hash(t, key, klen);
    if (v->top)
        c = state_diff_lookup_h(v->top, h, t, key, klen, val, vlen);
    for (size_t i = v->layer_count; c == STATE_UNCHANGED && i-- > 0;)
        c = state_diff_lookup_h(v->layers[i], h, t, key, klen, val, vlen);
    if (c == STATE_SET)
        return WEFT_OK;
    if (c == STATE_DELETED)
        return WEFT_E_NOT_FOUND;
    state_kv_t kv = state_final_kv(v->final);
    weft_err err = kv.vt->get(kv.self, t, key, klen, &v->scratch);
    if (err)
        return err;
    *val = v->scratch.buf ? v->scratch.buf : (const uint8_t *)"";
    *vlen = v->scratch.len;
    return WEFT_OK;
}

weft_err state_view_put(state_view_t *v, state_table t, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen)
{
    WEFT_MISUSE(v && v->top);
    return state_diff_put(v->top, t, key, klen, val, vlen);
}

weft_err state_view_del(state_view_t *v, state_table t, const uint8_t *key, size_t klen)
{
    WEFT_MISUSE(v && v->top);
    return state_diff_del(v->top, t, key, klen);
}

typedef struct merge {
    state_map map;
    state_table t;
    weft_err err;
} merge;

static bool merge_final_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen)
{
    merge *m = ctx;
    state_node *n = state_node_new(m->t, key, klen, val, vlen, false);
    if (!n) {
        m->err = WEFT_E_NOMEM;
        return false;
    }
    free(state_map_insert(&m->map, n));
    return true;
}

/* Overlays one diff's changes of the range onto the merge map. */
static weft_err merge_layer(merge *m, const state_diff_t *d, const uint8_t *from, size_t flen,
                            const uint8_t *to, size_t tlen)
{
    state_map_iter it;
    state_map_iter_seek(&it, &d->map, m->t, from, flen);
    for (state_node *n; (n = state_map_iter_next(&it));) {
        if (n->table != m->t || (to && state_key_cmp(0, node_key(n), n->klen, 0, to, tlen) >= 0))
            break;
        state_node *c = state_node_new(m->t, node_key(n), n->klen, node_val(n), n->vlen, n->del);
        if (!c)
            return WEFT_E_NOMEM;
        free(state_map_insert(&m->map, c));
    }
    return WEFT_OK;
}

weft_err state_view_scan(state_view_t *v, state_table t, const uint8_t *from, size_t flen,
                         const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    WEFT_MISUSE(v && cb && (from || flen == 0) && (to || tlen == 0));
    merge m = {.t = t};
    state_kv_t kv = state_final_kv(v->final);
    weft_err err = kv.vt->scan(kv.self, t, from, flen, to, tlen, merge_final_cb, &m);
    if (!err)
        err = m.err;
    for (size_t i = 0; !err && i < v->layer_count; i++)
        err = merge_layer(&m, v->layers[i], from, flen, to, tlen);
    if (!err && v->top)
        err = merge_layer(&m, v->top, from, flen, to, tlen);
    if (!err) {
        state_map_iter it;
        state_map_iter_first(&it, &m.map);
        for (state_node *n; (n = state_map_iter_next(&it));)
            if (!n->del && !cb(ctx, node_key(n), n->klen, node_val(n), n->vlen))
                break;
    }
    state_map_clear(&m.map);
    return err;
}
