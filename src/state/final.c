/* The final state: a kv plus the incrementally maintained fingerprint and the final cursor.
 * Finalizing a slot is one storage transaction: the diff's records, the end-of-cycle bookkeeping,
 * the fingerprint and the cursor.  Every write goes through tx_write, which reads the old record
 * to take it out of the fingerprint; any failure aborts the transaction and leaves the in-memory
 * fingerprint and cursor untouched, so memory and storage never disagree.  A batch keeps one
 * transaction open over several slots: the in-memory fingerprint and cursor advance per slot and
 * the batch's start is saved, to come back to when the batch aborts or its commit fails. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "state/state_internal.h"

struct state_final {
    model_params p;
    state_kv_t kv;
    uint8_t fp[STATE_FP_LEN];
    bool has_genesis;
    bool has_cursor;
    slot_t cursor;
    uint64_t fp_keep; /* fingerprints of the last final slots kept in meta (0: none) */
    wr_t buf;         /* scratch for old values */
    /* the open batch: the kv's transaction is open, and this is the state at its start */
    bool in_batch;
    size_t batch_slots; /* slots applied in the batch */
    uint8_t batch_fp[STATE_FP_LEN];
    bool batch_has_cursor;
    slot_t batch_cursor;
};

void state_fp_entry(uint8_t out[STATE_FP_LEN], state_table t, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t vlen)
{
    uint8_t head[1 + VARINT_MAX_LEN];
    head[0] = (uint8_t)t;
    size_t n = 1 + varint_encode(head + 1, klen);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, head, n);
    if (klen)
        crypto_blake3_update(&c, key, klen);
    if (vlen)
        crypto_blake3_update(&c, val, vlen);
    crypto_blake3_final_xof(&c, out, STATE_FP_LEN);
}

static void fp_xor(uint8_t fp[STATE_FP_LEN], state_table t, const uint8_t *key, size_t klen,
                   const uint8_t *val, size_t vlen)
{
    uint8_t h[STATE_FP_LEN];
    state_fp_entry(h, t, key, klen, val, vlen);
    for (size_t i = 0; i < STATE_FP_LEN; i++)
        fp[i] ^= h[i];
}

static weft_err meta_get(state_final_t *f, const char *name)
{
    return f->kv.vt->get(f->kv.self, STATE_T_META, (const uint8_t *)name, strlen(name), &f->buf);
}

weft_err state_final_open(state_final_t **out, const model_params *p, state_kv_t kv)
{
    WEFT_MISUSE(out && p && kv.vt);
    *out = NULL;
    if (model_params_check(p) != WEFT_OK)
        return WEFT_E_INVAL;
    state_final_t *f = calloc(1, sizeof *f);
    if (!f)
        return WEFT_E_NOMEM;
    f->p = *p;
    f->kv = kv;
    wr_init(&f->buf);
    weft_err err = meta_get(f, STATE_META_VERSION);
    if (err == WEFT_E_NOT_FOUND) { /* an empty store */
        err = WEFT_OK;
        goto done;
    }
    if (err)
        goto out;
    uint64_t version;
    err = state_dec_u64(f->buf.buf, f->buf.len, &version);
    if (err)
        goto out;
    if (version != STATE_FORMAT_VERSION) {
        err = WEFT_E_VERSION;
        goto out;
    }
    f->has_genesis = true;
    err = meta_get(f, STATE_META_FINGERPRINT);
    if (err == WEFT_E_NOT_FOUND || (!err && f->buf.len != STATE_FP_LEN))
        err = WEFT_E_STATE_RECORD;
    if (err)
        goto out;
    memcpy(f->fp, f->buf.buf, STATE_FP_LEN);
    err = meta_get(f, STATE_META_CURSOR);
    if (err == WEFT_E_NOT_FOUND) {
        err = WEFT_OK;
        goto done;
    }
    if (err)
        goto out;
    err = state_dec_cursor(f->buf.buf, f->buf.len, &f->cursor);
    if (err)
        goto out;
    if (f->cursor.thread >= p->thread_count) {
        err = WEFT_E_STATE_RECORD;
        goto out;
    }
    f->has_cursor = true;
done:
    *out = f;
    f = NULL;
out:
    state_final_close(f);
    return err;
}

void state_final_close(state_final_t *f)
{
    if (!f)
        return;
    state_final_batch_abort(f);
    wr_free(&f->buf);
    free(f);
}

bool state_final_has_genesis(const state_final_t *f) { return f->has_genesis; }
const model_params *state_final_params(const state_final_t *f) { return &f->p; }
state_kv_t state_final_kv(const state_final_t *f) { return f->kv; }

bool state_final_cursor(const state_final_t *f, slot_t *out)
{
    if (f->has_cursor && out)
        *out = f->cursor;
    return f->has_cursor;
}

weft_err state_final_next_slot(const state_final_t *f, slot_t *out)
{
    if (!f->has_cursor) {
        *out = (slot_t){0, 0};
        return WEFT_OK;
    }
    return slot_next(&f->p, out, f->cursor);
}

void state_final_fingerprint(const state_final_t *f, uint8_t out[STATE_FP_LEN])
{
    memcpy(out, f->fp, STATE_FP_LEN);
}

void state_final_hash(const state_final_t *f, hash32_t *out)
{
    crypto_blake3(out->b, f->fp, STATE_FP_LEN);
}

/* ---- one transaction ------------------------------------------------------------------------- */

typedef struct txn {
    state_final_t *f;
    uint8_t fp[STATE_FP_LEN];
    weft_err err; /* first error of a visitor */
} txn;

/* Writes (or deletes) one record and keeps the fingerprint: the old record out, the new one in. */
static weft_err tx_write(txn *x, state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen, bool del)
{
    state_kv_t kv = x->f->kv;
    weft_err err = kv.vt->get(kv.self, t, key, klen, &x->f->buf);
    if (err == WEFT_OK)
        fp_xor(x->fp, t, key, klen, x->f->buf.buf, x->f->buf.len);
    else if (err != WEFT_E_NOT_FOUND)
        return err;
    else if (del)
        return WEFT_OK; /* nothing to delete */
    if (del)
        return kv.vt->del(kv.self, t, key, klen);
    fp_xor(x->fp, t, key, klen, val, vlen);
    return kv.vt->put(kv.self, t, key, klen, val, vlen);
}

static weft_err tx_diff(txn *x, const state_diff_t *d)
{
    state_map_iter it;
    state_map_iter_first(&it, &d->map);
    for (state_node *n; (n = state_map_iter_next(&it));) {
        if (n->table == STATE_T_META)
            return WEFT_E_INVAL;
#ifdef WEFT_VERIFY
        if (!n->del)
            WEFT_ASSERT(state_record_check((state_table)n->table, node_key(n), n->klen, node_val(n),
                                           n->vlen) == WEFT_OK);
#endif
        weft_err err =
            tx_write(x, (state_table)n->table, node_key(n), n->klen, node_val(n), n->vlen, n->del);
        if (err)
            return err;
    }
    return WEFT_OK;
}

/* Collects scanned records into a map (copies), to write after the scan. */
typedef struct collect {
    state_map map;
    state_table t;
    weft_err err;
} collect;

static bool collect_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    collect *c = ctx;
    state_node *n = state_node_new(c->t, key, klen, val, vlen, false);
    if (!n) {
        c->err = WEFT_E_NOMEM;
        return false;
    }
    free(state_map_insert(&c->map, n));
    return true;
}

static weft_err scan_collect(state_final_t *f, collect *c, state_table t, const uint8_t *from,
                             size_t flen, const uint8_t *to, size_t tlen)
{
    c->t = t;
    c->err = WEFT_OK;
    weft_err err = f->kv.vt->scan(f->kv.self, t, from, flen, to, tlen, collect_cb, c);
    return err ? err : c->err;
}

/* End of cycle c (docs/consensus.md §2.4): roll snapshot, pruning, then the state-hash snapshot. */
static weft_err tx_cycle_end(txn *x, uint64_t c)
{
    state_final_t *f = x->f;
    collect col = {0};
    weft_err err = scan_collect(f, &col, STATE_T_ROLLS, NULL, 0, NULL, 0);
    if (err)
        goto out;
    state_map_iter it;
    state_map_iter_first(&it, &col.map);
    for (state_node *n; (n = state_map_iter_next(&it));) {
        uint8_t key[8 + STATE_MAX_KEY_LEN];
        WEFT_ASSERT(n->klen <= STATE_MAX_KEY_LEN);
        state_put_u64be(key, c);
        memcpy(key + 8, node_key(n), n->klen);
        err = tx_write(x, STATE_T_ROLL_SNAP, key, 8 + n->klen, node_val(n), n->vlen, false);
        if (err)
            goto out;
    }
    state_map_clear(&col.map);

    if (c >= STATE_KEEP_CYCLES) {
        uint8_t bound[8];
        state_put_u64be(bound, c - (STATE_KEEP_CYCLES - 1));
        static const state_table cyc[] = {STATE_T_CYCLES, STATE_T_PROD, STATE_T_ROLL_SNAP,
                                          STATE_T_HASH_SNAP};
        for (size_t i = 0; i < WEFT_ARRAY_LEN(cyc); i++) {
            err = scan_collect(f, &col, cyc[i], NULL, 0, bound, sizeof bound);
            if (err)
                goto out;
            state_map_iter_first(&it, &col.map);
            for (state_node *n; (n = state_map_iter_next(&it));) {
                err = tx_write(x, cyc[i], node_key(n), n->klen, NULL, 0, true);
                if (err)
                    goto out;
            }
            state_map_clear(&col.map);
        }
    }

    uint8_t key[8];
    hash32_t h;
    state_put_u64be(key, c);
    crypto_blake3(h.b, x->fp, STATE_FP_LEN);
    err = tx_write(x, STATE_T_HASH_SNAP, key, sizeof key, h.b, sizeof h.b, false);
out:
    state_map_clear(&col.map);
    return err;
}

static weft_err meta_put(state_final_t *f, const char *name, const uint8_t *val, size_t vlen)
{
    return f->kv.vt->put(f->kv.self, STATE_T_META, (const uint8_t *)name, strlen(name), val, vlen);
}

weft_err state_final_genesis(state_final_t *f, const state_diff_t *initial)
{
    WEFT_MISUSE(f && initial);
    if (f->has_genesis)
        return WEFT_E_EXISTS;
    txn x = {.f = f};
    memcpy(x.fp, f->fp, STATE_FP_LEN);
    state_kv_t kv = f->kv;
    weft_err err = kv.vt->begin(kv.self);
    if (err)
        return err;
    uint8_t v[VARINT_MAX_LEN];
    size_t vn = state_enc_u64(v, STATE_FORMAT_VERSION);
    if ((err = tx_diff(&x, initial)) || (err = meta_put(f, STATE_META_VERSION, v, vn)) ||
        (err = meta_put(f, STATE_META_FINGERPRINT, x.fp, STATE_FP_LEN))) {
        kv.vt->abort(kv.self);
        return err;
    }
    err = kv.vt->commit(kv.self);
    if (err)
        return err;
    memcpy(f->fp, x.fp, STATE_FP_LEN);
    f->has_genesis = true;
    return WEFT_OK;
}

/* Back to the batch's start; the kv's transaction is already gone. */
static void batch_restore(state_final_t *f)
{
    memcpy(f->fp, f->batch_fp, STATE_FP_LEN);
    f->has_cursor = f->batch_has_cursor;
    f->cursor = f->batch_cursor;
    f->in_batch = false;
    f->batch_slots = 0;
}

weft_err state_final_batch_begin(state_final_t *f)
{
    WEFT_MISUSE(f);
    if (!f->has_genesis || f->in_batch)
        return WEFT_E_STATE;
    weft_err err = f->kv.vt->begin(f->kv.self);
    if (err)
        return err;
    memcpy(f->batch_fp, f->fp, STATE_FP_LEN);
    f->batch_has_cursor = f->has_cursor;
    f->batch_cursor = f->cursor;
    f->batch_slots = 0;
    f->in_batch = true;
    return WEFT_OK;
}

weft_err state_final_batch_commit(state_final_t *f)
{
    WEFT_MISUSE(f);
    if (!f->in_batch)
        return WEFT_E_STATE;
    if (!f->batch_slots) {
        state_final_batch_abort(f);
        return WEFT_OK;
    }
    weft_err err = f->kv.vt->commit(f->kv.self); /* consumes the transaction, even failing */
    if (err) {
        batch_restore(f);
        return err;
    }
    f->in_batch = false;
    f->batch_slots = 0;
    return WEFT_OK;
}

void state_final_batch_abort(state_final_t *f)
{
    if (!f->in_batch)
        return;
    f->kv.vt->abort(f->kv.self);
    batch_restore(f);
}

bool state_final_in_batch(const state_final_t *f) { return f->in_batch; }

/* The kept fingerprints (state_final_keep_fingerprints): slot's in, the one fp_keep slots before
 * it out.  A slot whose index does not fit 64 bits (never, in practice) is not kept. */
static weft_err tx_keep_fp(state_final_t *f, slot_t slot, const uint8_t fp[STATE_FP_LEN])
{
    uint64_t i;
    if (slot_index(&f->p, &i, slot) != WEFT_OK)
        return WEFT_OK;
    uint8_t key[STATE_META_FP_KEY_LEN];
    state_meta_fp_key(key, slot);
    weft_err err = f->kv.vt->put(f->kv.self, STATE_T_META, key, sizeof key, fp, STATE_FP_LEN);
    if (err || i < f->fp_keep)
        return err;
    uint64_t old = i - f->fp_keep, T = f->p.thread_count;
    state_meta_fp_key(key, (slot_t){.period = old / T, .thread = (uint8_t)(old % T)});
    err = f->kv.vt->del(f->kv.self, STATE_T_META, key, sizeof key);
    return err == WEFT_E_NOT_FOUND ? WEFT_OK : err;
}

/* The first slot whose fingerprint a final state keeping n at cursor c keeps (c + 1 − n). */
static slot_t keep_first(const state_final_t *f, uint64_t n)
{
    uint64_t i;
    if (!f->has_cursor || slot_index(&f->p, &i, f->cursor) != WEFT_OK || i + 1 < n)
        return (slot_t){0, 0};
    i = i + 1 - n;
    return (slot_t){.period = i / f->p.thread_count, .thread = (uint8_t)(i % f->p.thread_count)};
}

/* Collects, while scanning the "fp" range, the keys a keep deletes: every entry that is not a
 * well-formed one of the window [first, cursor] (all of them when !any).  The entries kept are
 * only looked at, not copied. */
typedef struct keep_scan {
    const state_final_t *f;
    bool any;
    slot_t first;
    state_map drop;
    weft_err err;
} keep_scan;

static bool keep_scan_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    (void)val;
    keep_scan *k = ctx;
    if (k->any && klen == STATE_META_FP_KEY_LEN && vlen == STATE_FP_LEN &&
        key[10] < k->f->p.thread_count) {
        slot_t s = {.period = state_get_u64be(key + 2), .thread = key[10]};
        if (slot_cmp(s, k->first) >= 0 && slot_cmp(s, k->f->cursor) <= 0)
            return true; /* kept */
    }
    state_node *m = state_node_new(STATE_T_META, key, klen, NULL, 0, true);
    if (!m) {
        k->err = WEFT_E_NOMEM;
        return false;
    }
    free(state_map_insert(&k->drop, m));
    return true;
}

weft_err state_final_keep_fingerprints(state_final_t *f, uint64_t n)
{
    WEFT_MISUSE(f);
    if (f->in_batch)
        return WEFT_E_STATE;
    /* what an earlier run kept outside the window of the last n slots (without a cursor: all),
     * and any entry that is not one (a thread ≥ T, a bad length), goes in one transaction: the
     * store then holds well-formed entries of the window only */
    uint8_t from[STATE_META_FP_KEY_LEN];
    state_meta_fp_key(from, (slot_t){0, 0});
    keep_scan k = {.f = f, .any = n && f->has_cursor, .first = keep_first(f, n)};
    weft_err err = f->kv.vt->scan(f->kv.self, STATE_T_META, from, sizeof from,
                                  (const uint8_t *)"fq", 2, keep_scan_cb, &k);
    if (!err)
        err = k.err;
    if (!err && k.drop.count && !(err = f->kv.vt->begin(f->kv.self))) {
        state_map_iter it;
        state_map_iter_first(&it, &k.drop);
        for (state_node *m; !err && (m = state_map_iter_next(&it));)
            err = f->kv.vt->del(f->kv.self, STATE_T_META, node_key(m), m->klen);
        if (err)
            f->kv.vt->abort(f->kv.self);
        else
            err = f->kv.vt->commit(f->kv.self);
    }
    state_map_clear(&k.drop);
    if (!err)
        f->fp_keep = n;
    return err;
}

typedef struct fp_visit {
    state_final_fp_cb cb;
    void *ctx;
    uint32_t T;
    weft_err err;
} fp_visit;

static bool fp_visit_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    fp_visit *v = ctx;
    /* a thread the network does not have would name another slot's place */
    if (state_record_check(STATE_T_META, key, klen, val, vlen) != WEFT_OK ||
        klen != STATE_META_FP_KEY_LEN || key[10] >= v->T) {
        v->err = WEFT_E_STATE_RECORD;
        return false;
    }
    slot_t s = {.period = state_get_u64be(key + 2), .thread = key[10]};
    return v->cb(v->ctx, s, val);
}

weft_err state_final_fingerprints(state_final_t *f, state_final_fp_cb cb, void *ctx)
{
    WEFT_MISUSE(f && cb);
    uint8_t from[STATE_META_FP_KEY_LEN];
    state_meta_fp_key(from, (slot_t){0, 0});
    fp_visit v = {.cb = cb, .ctx = ctx, .T = f->p.thread_count, .err = WEFT_OK};
    weft_err err = f->kv.vt->scan(f->kv.self, STATE_T_META, from, sizeof from,
                                  (const uint8_t *)"fq", 2, fp_visit_cb, &v);
    return err ? err : v.err;
}

weft_err state_final_apply(state_final_t *f, slot_t slot, const state_diff_t *diff)
{
    WEFT_MISUSE(f && diff);
    bool batch = f->in_batch;
    slot_t next;
    weft_err err = f->has_genesis ? state_final_next_slot(f, &next) : WEFT_E_STATE;
    if (!err && (slot.thread >= f->p.thread_count || slot_cmp(slot, next) != 0))
        err = WEFT_E_STATE_SLOT;
    if (err) {
        state_final_batch_abort(f); /* no-op outside a batch */
        return err;
    }

    txn x = {.f = f};
    memcpy(x.fp, f->fp, STATE_FP_LEN);
    state_kv_t kv = f->kv;
    if (!batch && (err = kv.vt->begin(kv.self)))
        return err;
    err = tx_diff(&x, diff);
    if (!err && slot.thread == f->p.thread_count - 1 &&
        (slot.period % f->p.periods_per_cycle) == f->p.periods_per_cycle - 1)
        err = tx_cycle_end(&x, cycle_of_period(&f->p, slot.period));
    uint8_t cur[VARINT_MAX_LEN + 1];
    size_t cn = state_enc_cursor(cur, slot);
    if (!err)
        err = meta_put(f, STATE_META_CURSOR, cur, cn);
    if (!err)
        err = meta_put(f, STATE_META_FINGERPRINT, x.fp, STATE_FP_LEN);
    if (!err && f->fp_keep)
        err = tx_keep_fp(f, slot, x.fp);
    if (err) {
        kv.vt->abort(kv.self);
        if (batch)
            batch_restore(f);
        return err;
    }
    if (batch)
        f->batch_slots++;
    else if ((err = kv.vt->commit(kv.self)))
        return err;
    memcpy(f->fp, x.fp, STATE_FP_LEN);
    f->cursor = slot;
    f->has_cursor = true;
    return WEFT_OK;
}

/* ---- verification ---------------------------------------------------------------------------- */

typedef struct verify_ctx {
    state_table t;
    uint8_t fp[STATE_FP_LEN];
    weft_err err;
} verify_ctx;

static bool verify_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    verify_ctx *v = ctx;
    weft_err err = state_record_check(v->t, key, klen, val, vlen);
    if (err) {
        v->err = err;
        return false;
    }
    if (v->t != STATE_T_META)
        fp_xor(v->fp, v->t, key, klen, val, vlen);
    return true;
}

weft_err state_final_adopt(const model_params *p, state_kv_t kv, slot_t cursor,
                           const uint8_t fp[STATE_FP_LEN])
{
    WEFT_MISUSE(p && kv.vt && fp);
    if (model_params_check(p) != WEFT_OK || cursor.thread >= p->thread_count)
        return WEFT_E_INVAL;
    wr_t w;
    wr_init(&w);
    weft_err err = kv.vt->get(kv.self, STATE_T_META, (const uint8_t *)STATE_META_VERSION,
                              strlen(STATE_META_VERSION), &w);
    wr_free(&w);
    if (err != WEFT_E_NOT_FOUND)
        return err ? err : WEFT_E_EXISTS;
    verify_ctx v = {0};
    for (unsigned t = 1; t < STATE_T_COUNT; t++) {
        v.t = (state_table)t;
        err = kv.vt->scan(kv.self, v.t, NULL, 0, NULL, 0, verify_cb, &v);
        if (!err)
            err = v.err;
        if (err)
            return err;
    }
    if (memcmp(v.fp, fp, STATE_FP_LEN) != 0)
        return WEFT_E_STATE_CORRUPT;
    uint8_t ver[VARINT_MAX_LEN], cur[VARINT_MAX_LEN + 1];
    size_t vn = state_enc_u64(ver, STATE_FORMAT_VERSION), cn = state_enc_cursor(cur, cursor);
    static const char *const names[3] = {STATE_META_VERSION, STATE_META_FINGERPRINT,
                                         STATE_META_CURSOR};
    const uint8_t *vals[3] = {ver, fp, cur};
    size_t lens[3] = {vn, STATE_FP_LEN, cn};
    err = kv.vt->begin(kv.self);
    for (int i = 0; !err && i < 3; i++)
        err = kv.vt->put(kv.self, STATE_T_META, (const uint8_t *)names[i], strlen(names[i]),
                         vals[i], lens[i]);
    if (err) {
        kv.vt->abort(kv.self);
        return err;
    }
    return kv.vt->commit(kv.self);
}

weft_err state_final_verify(state_final_t *f)
{
    verify_ctx v = {0};
    for (unsigned t = 0; t < STATE_T_COUNT; t++) {
        v.t = (state_table)t;
        weft_err err = f->kv.vt->scan(f->kv.self, v.t, NULL, 0, NULL, 0, verify_cb, &v);
        if (err)
            return err;
        if (v.err)
            return v.err;
    }
    for (size_t i = 0; i < STATE_FP_LEN; i++)
        if (v.fp[i] != f->fp[i])
            return WEFT_E_STATE_CORRUPT;
    return WEFT_OK;
}
