/* Typed proof-of-stake accessors over a view: rolls, deferred credits, per-slot seed bits and
 * production statistics, state-hash snapshots, and the selector's lookback inputs. */
#include <stdlib.h>
#include <string.h>

#include "state/state_internal.h"

static const model_params *params(const state_view_t *v) { return state_final_params(v->final); }

weft_err state_rolls_get(state_view_t *v, const address_t *a, uint64_t *out)
{
    uint8_t key[STATE_ADDR_KEY_LEN];
    state_key_addr(key, a);
    const uint8_t *val;
    size_t vlen;
    weft_err err = state_view_get(v, STATE_T_ROLLS, key, sizeof key, &val, &vlen);
    if (err == WEFT_E_NOT_FOUND) {
        *out = 0;
        return WEFT_OK;
    }
    return err ? err : state_dec_u64(val, vlen, out);
}

weft_err state_rolls_set(state_view_t *v, const address_t *a, uint64_t rolls)
{
    uint8_t key[STATE_ADDR_KEY_LEN], val[VARINT_MAX_LEN];
    state_key_addr(key, a);
    if (rolls == 0)
        return state_view_del(v, STATE_T_ROLLS, key, sizeof key);
    size_t n = state_enc_u64(val, rolls);
    return state_view_put(v, STATE_T_ROLLS, key, sizeof key, val, n);
}

typedef struct stake_ctx {
    state_stake_visit visit;
    void *ctx;
    size_t key_off; /* where the address starts in the key */
    weft_err err;
} stake_ctx;

static bool stake_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    stake_ctx *c = ctx;
    address_t a;
    uint64_t rolls;
    if (klen != c->key_off + STATE_ADDR_KEY_LEN ||
        !state_key_addr_read(key + c->key_off, STATE_ADDR_KEY_LEN, &a) ||
        state_dec_u64(val, vlen, &rolls) != WEFT_OK) {
        c->err = WEFT_E_STATE_RECORD;
        return false;
    }
    return c->visit(c->ctx, &a, rolls);
}

weft_err state_rolls_scan(state_view_t *v, state_stake_visit visit, void *ctx)
{
    stake_ctx c = {visit, ctx, 0, WEFT_OK};
    weft_err err = state_view_scan(v, STATE_T_ROLLS, NULL, 0, NULL, 0, stake_cb, &c);
    return err ? err : c.err;
}

weft_err state_credit_get(state_view_t *v, slot_t due, const address_t *a, amount_t *out)
{
    uint8_t key[STATE_CREDIT_KEY_LEN];
    state_key_credit(key, due, a);
    const uint8_t *val;
    size_t vlen;
    weft_err err = state_view_get(v, STATE_T_CREDITS, key, sizeof key, &val, &vlen);
    if (err == WEFT_E_NOT_FOUND) {
        out->nano = 0;
        return WEFT_OK;
    }
    return err ? err : state_dec_u64(val, vlen, &out->nano);
}

weft_err state_credit_add(state_view_t *v, slot_t due, const address_t *a, amount_t amount)
{
    amount_t cur;
    weft_err err = state_credit_get(v, due, a, &cur);
    if (err)
        return err;
    if (!amount_add(&cur, cur, amount))
        return WEFT_E_OVERFLOW;
    if (cur.nano == 0)
        return WEFT_OK;
    uint8_t key[STATE_CREDIT_KEY_LEN], val[VARINT_MAX_LEN];
    state_key_credit(key, due, a);
    size_t n = state_enc_u64(val, cur.nano);
    return state_view_put(v, STATE_T_CREDITS, key, sizeof key, val, n);
}

typedef struct credit_item {
    address_t a;
    amount_t amount;
} credit_item;

typedef struct credit_ctx {
    credit_item *items;
    size_t n, cap;
    weft_err err;
} credit_ctx;

static bool credit_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    credit_ctx *c = ctx;
    credit_item it;
    if (klen != STATE_CREDIT_KEY_LEN || !state_key_addr_read(key + 9, STATE_ADDR_KEY_LEN, &it.a) ||
        state_dec_u64(val, vlen, &it.amount.nano) != WEFT_OK) {
        c->err = WEFT_E_STATE_RECORD;
        return false;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        credit_item *p = realloc(c->items, cap * sizeof *p);
        if (!p) {
            c->err = WEFT_E_NOMEM;
            return false;
        }
        c->items = p;
        c->cap = cap;
    }
    c->items[c->n++] = it;
    return true;
}

weft_err state_credits_take(state_view_t *v, slot_t due, state_credit_visit visit, void *ctx)
{
    uint8_t from[9], to[9];
    state_put_u64be(from, due.period);
    from[8] = due.thread;
    memcpy(to, from, sizeof to);
    /* the bound: the 9-byte string after (period, thread) read as a big-endian integer */
    int i = 8;
    while (i >= 0 && to[i] == 0xff)
        to[i--] = 0;
    if (i >= 0)
        to[i]++;
    credit_ctx c = {0};
    weft_err err = state_view_scan(v, STATE_T_CREDITS, from, sizeof from, i >= 0 ? to : NULL,
                                   i >= 0 ? sizeof to : 0, credit_cb, &c);
    if (!err)
        err = c.err;
    for (size_t k = 0; !err && k < c.n; k++) {
        uint8_t key[STATE_CREDIT_KEY_LEN];
        state_key_credit(key, due, &c.items[k].a);
        err = state_view_del(v, STATE_T_CREDITS, key, sizeof key);
    }
    for (size_t k = 0; !err && k < c.n; k++) /* visits only once every removal succeeded */
        visit(ctx, &c.items[k].a, c.items[k].amount);
    free(c.items);
    return err;
}

/* ---- seed bits and production statistics ----------------------------------------------------- */

weft_err state_cycle_bits(state_view_t *v, uint64_t cycle, wr_t *out, size_t *count)
{
    uint8_t key[8];
    state_put_u64be(key, cycle);
    const uint8_t *val, *bits;
    size_t vlen;
    out->len = 0;
    out->err = WEFT_OK;
    *count = 0;
    weft_err err = state_view_get(v, STATE_T_CYCLES, key, sizeof key, &val, &vlen);
    if (err == WEFT_E_NOT_FOUND)
        return WEFT_OK;
    if (err)
        return err;
    size_t n;
    err = state_dec_bits(val, vlen, &bits, &n);
    if (err)
        return err;
    wr_bytes(out, bits, (n + 7) / 8);
    if (wr_err(out))
        return wr_err(out);
    *count = n;
    return WEFT_OK;
}

weft_err state_prod_get(state_view_t *v, uint64_t cycle, const address_t *a, uint64_t *produced,
                        uint64_t *missed)
{
    uint8_t key[STATE_CYCLE_ADDR_KEY_LEN];
    state_key_cycle_addr(key, cycle, a);
    const uint8_t *val;
    size_t vlen;
    *produced = *missed = 0;
    weft_err err = state_view_get(v, STATE_T_PROD, key, sizeof key, &val, &vlen);
    if (err == WEFT_E_NOT_FOUND)
        return WEFT_OK;
    return err ? err : state_dec_prod(val, vlen, produced, missed);
}

weft_err state_slot_record(state_view_t *v, slot_t slot, const block_id_t *block,
                           const address_t *producer)
{
    WEFT_MISUSE(v && producer);
    const model_params *p = params(v);
    WEFT_MISUSE(slot.thread < p->thread_count);
    uint64_t cycle = cycle_of_period(p, slot.period);
    uint64_t index = (slot.period % p->periods_per_cycle) * p->thread_count + slot.thread;

    wr_t bits;
    wr_init(&bits);
    size_t count;
    weft_err err = state_cycle_bits(v, cycle, &bits, &count);
    if (err)
        goto out;
    if (count != index) {
        err = WEFT_E_STATE_SEED_BITS;
        goto out;
    }
    if (count % 8 == 0)
        wr_u8(&bits, 0);
    if ((err = wr_err(&bits)))
        goto out;
    pos_bit_put(bits.buf, count, pos_slot_seed_bit(slot, block));
    count++;
    wr_t rec;
    wr_init(&rec);
    state_enc_bits(&rec, bits.buf, count);
    uint8_t key[8];
    state_put_u64be(key, cycle);
    err = wr_err(&rec);
    if (!err)
        err = state_view_put(v, STATE_T_CYCLES, key, sizeof key, rec.buf, rec.len);
    wr_free(&rec);
    if (err)
        goto out;

    uint64_t produced, missed;
    err = state_prod_get(v, cycle, producer, &produced, &missed);
    if (err)
        goto out;
    if (!(block ? u64_add(&produced, produced, 1) : u64_add(&missed, missed, 1))) {
        err = WEFT_E_OVERFLOW;
        goto out;
    }
    uint8_t pkey[STATE_CYCLE_ADDR_KEY_LEN], pval[2 * VARINT_MAX_LEN];
    state_key_cycle_addr(pkey, cycle, producer);
    size_t n = state_enc_prod(pval, produced, missed);
    err = state_view_put(v, STATE_T_PROD, pkey, sizeof pkey, pval, n);
out:
    wr_free(&bits);
    return err;
}

typedef struct prod_ctx {
    state_prod_visit visit;
    void *ctx;
    weft_err err;
} prod_ctx;

static bool prod_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    prod_ctx *c = ctx;
    address_t a;
    uint64_t produced, missed;
    if (klen != STATE_CYCLE_ADDR_KEY_LEN || !state_key_addr_read(key + 8, STATE_ADDR_KEY_LEN, &a) ||
        state_dec_prod(val, vlen, &produced, &missed) != WEFT_OK) {
        c->err = WEFT_E_STATE_RECORD;
        return false;
    }
    return c->visit(c->ctx, &a, produced, missed);
}

/* [u64be(cycle), u64be(cycle + 1)), or to the end for the last cycle. */
static weft_err scan_cycle(state_view_t *v, state_table t, uint64_t cycle, state_scan_cb cb,
                           void *ctx)
{
    uint8_t from[8], to[8];
    state_put_u64be(from, cycle);
    state_put_u64be(to, cycle + 1);
    return state_view_scan(v, t, from, sizeof from, cycle == UINT64_MAX ? NULL : to,
                           cycle == UINT64_MAX ? 0 : sizeof to, cb, ctx);
}

weft_err state_prod_scan(state_view_t *v, uint64_t cycle, state_prod_visit visit, void *ctx)
{
    prod_ctx c = {visit, ctx, WEFT_OK};
    weft_err err = scan_cycle(v, STATE_T_PROD, cycle, prod_cb, &c);
    return err ? err : c.err;
}

weft_err state_hash_snapshot(state_view_t *v, uint64_t cycle, hash32_t *out)
{
    uint8_t key[8];
    state_put_u64be(key, cycle);
    const uint8_t *val;
    size_t vlen;
    weft_err err = state_view_get(v, STATE_T_HASH_SNAP, key, sizeof key, &val, &vlen);
    if (err)
        return err;
    if (vlen != MODEL_HASH_LEN)
        return WEFT_E_STATE_RECORD;
    memcpy(out->b, val, MODEL_HASH_LEN);
    return WEFT_OK;
}

/* ---- selector lookback ----------------------------------------------------------------------- */

typedef struct snap_ctx {
    pos_stake_t *st;
    size_t n, cap;
    weft_err err;
} snap_ctx;

static bool snap_visit(void *ctx, const address_t *a, uint64_t rolls)
{
    snap_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        pos_stake_t *p = realloc(c->st, cap * sizeof *p);
        if (!p) {
            c->err = WEFT_E_NOMEM;
            return false;
        }
        c->st = p;
        c->cap = cap;
    }
    c->st[c->n++] = (pos_stake_t){*a, rolls};
    return true;
}

void state_lookback_free(state_lookback_t *l)
{
    if (!l)
        return;
    free(l->rolls);
    free(l->bits);
    memset(l, 0, sizeof *l);
}

weft_err state_pos_lookback(state_view_t *v, uint64_t cycle, state_lookback_t *out)
{
    WEFT_MISUSE(v && out);
    memset(out, 0, sizeof *out);
    out->lb.cycle = cycle;
    if (cycle < POS_LOOKBACK_ROLLS)
        return WEFT_OK;
    const model_params *p = params(v);
    uint64_t rc = cycle - POS_LOOKBACK_ROLLS, bc = cycle - POS_LOOKBACK_BITS;

    weft_err err = state_hash_snapshot(v, rc, &out->lb.state_hash);
    if (err == WEFT_E_NOT_FOUND)
        err = WEFT_E_POS_CYCLE_UNAVAILABLE;
    if (err)
        goto fail;

    wr_t bits;
    wr_init(&bits);
    size_t count;
    err = state_cycle_bits(v, bc, &bits, &count);
    if (!err && count != p->periods_per_cycle * p->thread_count)
        err = WEFT_E_POS_CYCLE_UNAVAILABLE;
    if (err) {
        wr_free(&bits);
        goto fail;
    }
    size_t blen;
    out->bits = wr_take(&bits, &blen);
    if (!out->bits) {
        err = WEFT_E_NOMEM;
        goto fail;
    }
    out->lb.seed_bits = out->bits;
    out->lb.seed_bit_count = count;

    snap_ctx c = {0};
    stake_ctx sc = {snap_visit, &c, 8, WEFT_OK};
    err = scan_cycle(v, STATE_T_ROLL_SNAP, rc, stake_cb, &sc);
    if (!err)
        err = sc.err ? sc.err : c.err;
    out->rolls = c.st;
    if (err)
        goto fail;
    out->lb.rolls = out->rolls;
    out->lb.roll_count = c.n;
    return WEFT_OK;
fail:
    state_lookback_free(out);
    out->lb.cycle = cycle;
    return err;
}
