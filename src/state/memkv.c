/* The in-memory kv backend: one ordered map for all tables, written in place during a
 * transaction with an undo log of the replaced nodes, so that abort restores the exact previous
 * content and reads see the transaction's own writes.  Used by tests and the simulator. */
#include <stdlib.h>

#include "state/state_internal.h"

typedef struct undo {
    state_node *old; /* the node replaced or removed, or a key-only node if the key was absent */
    bool existed;
} undo;

struct state_memkv {
    state_map map;
    bool in_txn;
    bool poisoned;
    undo *log;
    size_t log_len, log_cap;
};

weft_err state_memkv_new(state_memkv_t **out)
{
    WEFT_MISUSE(out);
    *out = calloc(1, sizeof **out);
    return *out ? WEFT_OK : WEFT_E_NOMEM;
}

static void drop_log(state_memkv_t *m)
{
    for (size_t i = 0; i < m->log_len; i++)
        free(m->log[i].old);
    m->log_len = 0;
}

static void mk_abort(void *self)
{
    state_memkv_t *m = self;
    if (!m->in_txn)
        return;
    for (size_t i = m->log_len; i-- > 0;) {
        undo *u = &m->log[i];
        if (u->existed) {
            free(state_map_insert(&m->map, u->old));
        } else {
            free(state_map_remove(&m->map, (state_table)u->old->table, node_key(u->old),
                                  u->old->klen));
            free(u->old);
        }
        u->old = NULL;
    }
    m->log_len = 0;
    m->in_txn = false;
    m->poisoned = false;
}

void state_memkv_free(state_memkv_t *m)
{
    if (!m)
        return;
    mk_abort(m);
    free(m->log);
    state_map_clear(&m->map);
    free(m);
}

static weft_err mk_get(void *self, state_table t, const uint8_t *key, size_t klen, wr_t *out)
{
    state_memkv_t *m = self;
    if (m->poisoned)
        return WEFT_E_STORE_POISONED;
    out->len = 0;
    out->err = WEFT_OK;
    const state_node *n = state_map_find(&m->map, t, key, klen);
    if (!n)
        return WEFT_E_NOT_FOUND;
    wr_bytes(out, node_val(n), n->vlen);
    return wr_err(out);
}

static weft_err mk_scan(void *self, state_table t, const uint8_t *from, size_t flen,
                        const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    state_memkv_t *m = self;
    if (m->poisoned)
        return WEFT_E_STORE_POISONED;
    state_map_iter it;
    state_map_iter_seek(&it, &m->map, t, from, flen);
    for (state_node *n; (n = state_map_iter_next(&it));) {
        if (n->table != t || (to && state_key_cmp(0, node_key(n), n->klen, 0, to, tlen) >= 0))
            break;
        if (!cb(ctx, node_key(n), n->klen, node_val(n), n->vlen))
            break;
    }
    return WEFT_OK;
}

static weft_err mk_begin(void *self)
{
    state_memkv_t *m = self;
    if (m->in_txn)
        return WEFT_E_STATE;
    m->in_txn = true;
    m->poisoned = false;
    return WEFT_OK;
}

static weft_err log_push(state_memkv_t *m, state_node *old, bool existed)
{
    if (m->log_len == m->log_cap) {
        size_t cap = m->log_cap ? 2 * m->log_cap : 64;
        undo *l = realloc(m->log, cap * sizeof *l);
        if (!l)
            return WEFT_E_NOMEM;
        m->log = l;
        m->log_cap = cap;
    }
    m->log[m->log_len++] = (undo){old, existed};
    return WEFT_OK;
}

static weft_err mk_write(state_memkv_t *m, state_table t, const uint8_t *key, size_t klen,
                         const uint8_t *val, size_t vlen, bool del)
{
    if (!m->in_txn)
        return WEFT_E_STATE;
    if (m->poisoned)
        return WEFT_E_STORE_POISONED;
    weft_err err = WEFT_E_NOMEM;
    state_node *n = NULL, *keyonly = NULL;
    if ((unsigned)t >= STATE_T_COUNT || klen > STATE_MAX_KEY_LEN || vlen > STATE_MAX_VALUE_LEN) {
        err = (unsigned)t >= STATE_T_COUNT ? WEFT_E_INVAL : WEFT_E_LIMIT;
        goto fail;
    }
    /* reserve the undo slot first, so that a write never happens without its undo record */
    if (log_push(m, NULL, false) != WEFT_OK)
        goto fail;
    m->log_len--;
    if (del) {
        state_node *old = state_map_remove(&m->map, t, key, klen);
        if (old)
            m->log[m->log_len++] = (undo){old, true};
        return WEFT_OK;
    }
    n = state_node_new(t, key, klen, val, vlen, false);
    if (!n)
        goto fail;
    if (!state_map_find(&m->map, t, key, klen)) {
        keyonly = state_node_new(t, key, klen, NULL, 0, true);
        if (!keyonly)
            goto fail;
    }
    state_node *old = state_map_insert(&m->map, n);
    m->log[m->log_len++] = old ? (undo){old, true} : (undo){keyonly, false};
    return WEFT_OK;
fail:
    free(n);
    m->poisoned = true;
    return err;
}

static weft_err mk_put(void *self, state_table t, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen)
{
    return mk_write(self, t, key, klen, val, vlen, false);
}

static weft_err mk_del(void *self, state_table t, const uint8_t *key, size_t klen)
{
    return mk_write(self, t, key, klen, NULL, 0, true);
}

static weft_err mk_commit(void *self)
{
    state_memkv_t *m = self;
    if (!m->in_txn)
        return WEFT_E_STATE;
    if (m->poisoned) {
        mk_abort(m);
        return WEFT_E_STORE_POISONED;
    }
    drop_log(m);
    m->in_txn = false;
    return WEFT_OK;
}

static const state_kv_vtbl memkv_vtbl = {
    .get = mk_get,
    .scan = mk_scan,
    .begin = mk_begin,
    .put = mk_put,
    .del = mk_del,
    .commit = mk_commit,
    .abort = mk_abort,
};

state_kv_t state_memkv_kv(state_memkv_t *m) { return (state_kv_t){&memkv_vtbl, m}; }
