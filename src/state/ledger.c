/* Typed ledger accessors over a view: balances (whose record marks an entry's existence),
 * bytecode and datastore entries, and whole-entry deletion. */
#include <stdlib.h>
#include <string.h>

#include "state/state_internal.h"

weft_err state_balance_get(state_view_t *v, const address_t *a, amount_t *out)
{
    uint8_t key[STATE_ADDR_KEY_LEN];
    state_key_addr(key, a);
    const uint8_t *val;
    size_t vlen;
    weft_err err = state_view_get(v, STATE_T_BALANCE, key, sizeof key, &val, &vlen);
    if (err)
        return err;
    return state_dec_u64(val, vlen, &out->nano);
}

weft_err state_balance_set(state_view_t *v, const address_t *a, amount_t amount)
{
    uint8_t key[STATE_ADDR_KEY_LEN], val[VARINT_MAX_LEN];
    state_key_addr(key, a);
    size_t n = state_enc_u64(val, amount.nano);
    return state_view_put(v, STATE_T_BALANCE, key, sizeof key, val, n);
}

weft_err state_bytecode_get(state_view_t *v, const address_t *a, const uint8_t **code, size_t *len)
{
    uint8_t key[STATE_ADDR_KEY_LEN];
    state_key_addr(key, a);
    return state_view_get(v, STATE_T_BYTECODE, key, sizeof key, code, len);
}

weft_err state_bytecode_set(state_view_t *v, const address_t *a, const uint8_t *code, size_t len)
{
    uint8_t key[STATE_ADDR_KEY_LEN];
    state_key_addr(key, a);
    if (len == 0)
        return state_view_del(v, STATE_T_BYTECODE, key, sizeof key);
    return state_view_put(v, STATE_T_BYTECODE, key, sizeof key, code, len);
}

/* address ‖ datastore key */
static weft_err ds_key(uint8_t out[STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN], const address_t *a,
                       const uint8_t *key, size_t klen)
{
    if (klen > STATE_MAX_DS_KEY_LEN)
        return WEFT_E_LIMIT;
    WEFT_MISUSE(key || klen == 0);
    state_key_addr(out, a);
    if (klen)
        memcpy(out + STATE_ADDR_KEY_LEN, key, klen);
    return WEFT_OK;
}

weft_err state_ds_get(state_view_t *v, const address_t *a, const uint8_t *key, size_t klen,
                      const uint8_t **val, size_t *vlen)
{
    uint8_t k[STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN];
    weft_err err = ds_key(k, a, key, klen);
    if (err)
        return err;
    return state_view_get(v, STATE_T_DATASTORE, k, STATE_ADDR_KEY_LEN + klen, val, vlen);
}

weft_err state_ds_set(state_view_t *v, const address_t *a, const uint8_t *key, size_t klen,
                      const uint8_t *val, size_t vlen)
{
    uint8_t k[STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN];
    weft_err err = ds_key(k, a, key, klen);
    if (err)
        return err;
    return state_view_put(v, STATE_T_DATASTORE, k, STATE_ADDR_KEY_LEN + klen, val, vlen);
}

weft_err state_ds_del(state_view_t *v, const address_t *a, const uint8_t *key, size_t klen)
{
    uint8_t k[STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN];
    weft_err err = ds_key(k, a, key, klen);
    if (err)
        return err;
    return state_view_del(v, STATE_T_DATASTORE, k, STATE_ADDR_KEY_LEN + klen);
}

/* The smallest key above every extension of p[0..n): p with its last byte below 0xff incremented
 * and the rest cut.  Returns the length, 0 if there is none (all bytes 0xff). */
static size_t prefix_end(uint8_t *out, const uint8_t *p, size_t n)
{
    memcpy(out, p, n);
    while (n > 0 && out[n - 1] == 0xff)
        n--;
    if (n > 0)
        out[n - 1]++;
    return n;
}

typedef struct ds_scan_ctx {
    state_scan_cb cb;
    void *ctx;
} ds_scan_ctx;

static bool ds_scan_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    ds_scan_ctx *c = ctx;
    return c->cb(c->ctx, key + STATE_ADDR_KEY_LEN, klen - STATE_ADDR_KEY_LEN, val, vlen);
}

weft_err state_ds_scan(state_view_t *v, const address_t *a, const uint8_t *prefix, size_t plen,
                       state_scan_cb cb, void *ctx)
{
    uint8_t from[STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN], to[sizeof from];
    weft_err err = ds_key(from, a, prefix, plen);
    if (err)
        return err;
    size_t flen = STATE_ADDR_KEY_LEN + plen;
    size_t tlen = prefix_end(to, from, flen); /* > 0: the address kind byte is 0 or 1 */
    WEFT_ASSERT(tlen > 0);
    ds_scan_ctx c = {cb, ctx};
    return state_view_scan(v, STATE_T_DATASTORE, from, flen, to, tlen, ds_scan_cb, &c);
}

/* Collected keys of a scan, deleted after it. */
typedef struct keylist {
    uint8_t **keys;
    size_t *lens;
    size_t n, cap;
    weft_err err;
} keylist;

static bool keylist_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    keylist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint8_t **k = realloc(l->keys, cap * sizeof *k);
        if (k)
            l->keys = k;
        size_t *s = realloc(l->lens, cap * sizeof *s);
        if (s)
            l->lens = s;
        if (!k || !s) {
            l->err = WEFT_E_NOMEM;
            return false;
        }
        l->cap = cap;
    }
    uint8_t *c = malloc(klen ? klen : 1);
    if (!c) {
        l->err = WEFT_E_NOMEM;
        return false;
    }
    if (klen)
        memcpy(c, key, klen);
    l->keys[l->n] = c;
    l->lens[l->n++] = klen;
    return true;
}

static void keylist_free(keylist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->lens);
}

weft_err state_entry_delete(state_view_t *v, const address_t *a)
{
    uint8_t key[STATE_ADDR_KEY_LEN], to[STATE_ADDR_KEY_LEN];
    state_key_addr(key, a);
    size_t tlen = prefix_end(to, key, sizeof key);
    state_keys ks;
    weft_err err = state_scan_keys(v, STATE_T_DATASTORE, key, sizeof key, to, tlen, &ks);
    if (err)
        return err;
    for (size_t i = 0; !err && i < ks.n; i++)
        err = state_view_del(v, STATE_T_DATASTORE, ks.keys[i], ks.lens[i]);
    if (!err)
        err = state_view_del(v, STATE_T_BYTECODE, key, sizeof key);
    if (!err)
        err = state_view_del(v, STATE_T_BALANCE, key, sizeof key);
    state_keys_free(&ks);
    return err;
}

/* Shared with stake.c and ops.c. */
weft_err state_scan_keys(state_view_t *v, state_table t, const uint8_t *from, size_t flen,
                         const uint8_t *to, size_t tlen, state_keys *out)
{
    keylist l = {0};
    weft_err err = state_view_scan(v, t, from, flen, to, tlen, keylist_cb, &l);
    if (!err)
        err = l.err;
    if (err) {
        keylist_free(&l);
        return err;
    }
    out->keys = l.keys;
    out->lens = l.lens;
    out->n = l.n;
    return WEFT_OK;
}

void state_keys_free(state_keys *k)
{
    keylist l = {.keys = k->keys, .lens = k->lens, .n = k->n};
    keylist_free(&l);
    memset(k, 0, sizeof *k);
}
