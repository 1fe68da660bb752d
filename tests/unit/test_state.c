/* Unit tests of src/state over the in-memory kv: the ordered map and diffs against a naive
 * reference model (seeded random operations), the diffs' Bloom filter as they grow, memkv
 * transactions, read-through views and range
 * scans against the same model, the fingerprint (incremental = recomputed, independent of order),
 * finalization rules, the end-of-cycle bookkeeping (roll and hash snapshots, pruning), the
 * selector lookback gathered from the state, the typed ledger / PoS / executed-op accessors, a
 * speculative history finalized slot by slot, and the record checks. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "state/state.h"
#include "state/state_internal.h"
#include "testutil.h"

/* ---- a naive reference model: a flat array of records ---------------------------------------- */

typedef struct rec {
    state_table t;
    uint8_t key[40];
    size_t klen;
    uint8_t val[16];
    size_t vlen;
    bool del; /* in a diff model: a deletion */
} rec;

typedef struct model {
    rec r[4096];
    size_t n;
} model;

static int rec_cmp(const rec *a, state_table t, const uint8_t *key, size_t klen)
{
    if (a->t != t)
        return a->t < t ? -1 : 1;
    size_t m = a->klen < klen ? a->klen : klen;
    int c = memcmp(a->key, key, m);
    if (c)
        return c;
    return a->klen < klen ? -1 : a->klen > klen ? 1 : 0;
}

static rec *model_find(model *m, state_table t, const uint8_t *key, size_t klen)
{
    for (size_t i = 0; i < m->n; i++)
        if (rec_cmp(&m->r[i], t, key, klen) == 0)
            return &m->r[i];
    return NULL;
}

static void model_set(model *m, state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen, bool del)
{
    rec *r = model_find(m, t, key, klen);
    if (!r) {
        assert_true(m->n < 4096);
        r = &m->r[m->n++];
    }
    r->t = t;
    memcpy(r->key, key, klen);
    r->klen = klen;
    if (vlen)
        memcpy(r->val, val, vlen);
    r->vlen = vlen;
    r->del = del;
}

/* Applies a diff-model on top of a state-model: deletions remove. */
static void model_apply(model *base, const model *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const rec *x = &d->r[i];
        if (!x->del) {
            model_set(base, x->t, x->key, x->klen, x->val, x->vlen, false);
            continue;
        }
        rec *r = model_find(base, x->t, x->key, x->klen);
        if (r)
            *r = base->r[--base->n];
    }
}

static int qsort_rec(const void *a, const void *b)
{
    const rec *y = b;
    return rec_cmp(a, y->t, y->key, y->klen);
}

/* Valid records of three tables, from a small key space so that keys repeat and datastore keys
 * are prefixes of one another: an address key (hash byte 31 in 0..3), plus for the datastore a
 * tail of 0..3 bytes in 0..3.  Values: rolls a one-byte nonzero varint, bytecode 1..15 bytes,
 * datastore 0..15 bytes. */
static const state_table test_tables[3] = {STATE_T_BYTECODE, STATE_T_DATASTORE, STATE_T_ROLLS};

static state_table random_table(test_rng *r) { return test_tables[test_rng_below(r, 3)]; }

static void key_of(state_table t, unsigned a, const uint8_t *tail, size_t tlen, uint8_t key[40],
                   size_t *klen)
{
    memset(key, 0, 34);
    key[33] = (uint8_t)a;
    *klen = 34;
    if (t == STATE_T_DATASTORE) {
        memcpy(key + 34, tail, tlen);
        *klen += tlen;
    }
}

static void random_key(test_rng *r, state_table t, uint8_t key[40], size_t *klen)
{
    uint8_t tail[3];
    size_t tlen = test_rng_below(r, 4);
    for (size_t i = 0; i < tlen; i++)
        tail[i] = (uint8_t)test_rng_below(r, 4);
    key_of(t, (unsigned)test_rng_below(r, 4), tail, tlen, key, klen);
}

static void random_val(test_rng *r, state_table t, uint8_t val[16], size_t *vlen)
{
    if (t == STATE_T_ROLLS) {
        val[0] = (uint8_t)(1 + test_rng_below(r, 127));
        *vlen = 1;
        return;
    }
    *vlen = (t == STATE_T_BYTECODE ? 1 : 0) + test_rng_below(r, 15);
    test_rng_bytes(r, val, *vlen);
}

static void random_change(test_rng *r, state_diff_t *d, model *m, state_table t)
{
    uint8_t key[40], val[16];
    size_t klen, vlen;
    random_key(r, t, key, &klen);
    random_val(r, t, val, &vlen);
    bool del = test_rng_below(r, 4) == 0;
    if (del)
        assert_int_equal(state_diff_del(d, t, key, klen), WEFT_OK);
    else
        assert_int_equal(state_diff_put(d, t, key, klen, val, vlen), WEFT_OK);
    model_set(m, t, key, klen, val, vlen, del);
}

/* ---- visitors ----------------------------------------------------------------------------------
 */

typedef struct seen {
    rec r[4096];
    size_t n;
    state_table t;
} seen;

static bool seen_diff(void *ctx, state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
    seen *s = ctx;
    rec *r = &s->r[s->n++];
    r->t = t;
    memcpy(r->key, key, klen);
    r->klen = klen;
    r->del = val == NULL;
    if (val)
        memcpy(r->val, val, vlen);
    r->vlen = val ? vlen : 0;
    return true;
}

static bool seen_scan(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    seen *s = ctx;
    assert_true(klen <= 40 && vlen <= 16);
    rec *r = &s->r[s->n++];
    r->t = s->t;
    memcpy(r->key, key, klen);
    r->klen = klen;
    if (vlen)
        memcpy(r->val, val, vlen);
    r->vlen = vlen;
    r->del = false;
    return true;
}

static void assert_same_records(const rec *a, size_t na, model *m, bool with_del)
{
    qsort(m->r, m->n, sizeof m->r[0], qsort_rec);
    assert_int_equal(na, m->n);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(rec_cmp(&a[i], m->r[i].t, m->r[i].key, m->r[i].klen), 0);
        if (with_del)
            assert_int_equal(a[i].del, m->r[i].del);
        if (!a[i].del) {
            assert_int_equal(a[i].vlen, m->r[i].vlen);
            if (a[i].vlen)
                assert_memory_equal(a[i].val, m->r[i].val, a[i].vlen);
        }
    }
}

/* ---- diffs -------------------------------------------------------------------------------------
 */

static void test_diff_against_model(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed());
    for (int round = 0; round < 20; round++) {
        state_diff_t *d, *e;
        assert_int_equal(state_diff_new(&d), WEFT_OK);
        assert_int_equal(state_diff_new(&e), WEFT_OK);
        static model md, me;
        md.n = me.n = 0;
        int ops = 1 + (int)test_rng_below(&r, 300);
        for (int i = 0; i < ops; i++)
            random_change(&r, d, &md, random_table(&r));
        for (int i = 0; i < ops / 2; i++)
            random_change(&r, e, &me, random_table(&r));
        /* lookups */
        for (size_t i = 0; i < md.n; i++) {
            const uint8_t *v;
            size_t vl;
            state_change c = state_diff_lookup(d, md.r[i].t, md.r[i].key, md.r[i].klen, &v, &vl);
            assert_int_equal(c, md.r[i].del ? STATE_DELETED : STATE_SET);
            if (c == STATE_SET) {
                assert_int_equal(vl, md.r[i].vlen);
                if (vl)
                    assert_memory_equal(v, md.r[i].val, vl);
            }
        }
        const uint8_t *v;
        size_t vl;
        assert_int_equal(state_diff_lookup(d, STATE_T_ROLLS, (const uint8_t *)"x", 1, &v, &vl),
                         STATE_UNCHANGED);
        /* in-order visit */
        static seen s;
        s.n = 0;
        state_diff_foreach(d, seen_diff, &s);
        assert_int_equal(state_diff_count(d), md.n);
        assert_same_records(s.r, s.n, &md, true);
        /* absorb: e's changes win */
        for (size_t i = 0; i < me.n; i++)
            model_set(&md, me.r[i].t, me.r[i].key, me.r[i].klen, me.r[i].val, me.r[i].vlen,
                      me.r[i].del);
        state_diff_absorb(d, e);
        assert_int_equal(state_diff_count(e), 0);
        s.n = 0;
        state_diff_foreach(d, seen_diff, &s);
        assert_same_records(s.r, s.n, &md, true);
        for (size_t i = 0; i < md.n; i++) /* found after the absorb (its filter too) */
            assert_int_equal(state_diff_lookup(d, md.r[i].t, md.r[i].key, md.r[i].klen, &v, &vl),
                             md.r[i].del ? STATE_DELETED : STATE_SET);
        state_diff_free(d);
        state_diff_free(e);
    }
    /* limits */
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    static uint8_t big[STATE_MAX_KEY_LEN + 1];
    assert_int_equal(state_diff_put(d, STATE_T_DATASTORE, big, sizeof big, NULL, 0), WEFT_E_LIMIT);
    assert_int_equal(state_diff_put(d, STATE_T_DATASTORE, big, STATE_MAX_KEY_LEN, NULL, 0),
                     WEFT_OK);
    assert_int_equal(state_diff_del(d, STATE_T_COUNT, big, 1), WEFT_E_INVAL);
    assert_int_equal(state_diff_count(d), 1);
    state_diff_clear(d);
    assert_int_equal(state_diff_count(d), 0);
    state_diff_free(d);
}

/* The Bloom filter grows with the diff: no key is ever missed (put, absorbed either way,
 * cleared), and keys it does not hold are mostly answered from the filter. */
static uint64_t bloom_key(uint8_t key[32], uint32_t i, uint32_t salt)
{
    memset(key, 0, 32);
    memcpy(key, &i, sizeof i);
    memcpy(key + 4, &salt, sizeof salt);
    key[31] = 0xa5;
    return state_key_hash(STATE_T_BALANCE, key, 32);
}

static size_t count_found(const state_diff_t *d, uint32_t from, uint32_t n, uint32_t salt)
{
    size_t found = 0;
    for (uint32_t i = from; i < from + n; i++) {
        uint8_t key[32];
        uint64_t h = bloom_key(key, i, salt);
        const uint8_t *v;
        size_t vl;
        bool in = state_diff_lookup(d, STATE_T_BALANCE, key, 32, &v, &vl) == STATE_SET;
        assert_true(!in || state_diff_may_have(d, h)); /* never a false negative */
        found += in;
    }
    return found;
}

static void test_diff_bloom_growth(void **state)
{
    (void)state;
    enum { N = 20000 };
    state_diff_t *big, *small;
    assert_int_equal(state_diff_new(&big), WEFT_OK);
    assert_int_equal(state_diff_new(&small), WEFT_OK);
    uint8_t key[32], val[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (uint32_t i = 0; i < N; i++) {
        bloom_key(key, i, 1);
        assert_int_equal(state_diff_put(big, STATE_T_BALANCE, key, 32, val, sizeof val), WEFT_OK);
    }
    assert_int_equal(count_found(big, 0, N, 1), N);
    size_t fp = 0; /* keys not there that the filter cannot rule out */
    for (uint32_t i = 0; i < N; i++)
        fp += state_diff_may_have(big, bloom_key(key, i, 2));
    assert_true(fp < N / 25); /* 16 bits or more per key: about 1.4 % at most */
    /* a small diff absorbed into the big one, and the big one into a small one */
    for (uint32_t i = 0; i < 10; i++) {
        bloom_key(key, i, 3);
        assert_int_equal(state_diff_put(small, STATE_T_BALANCE, key, 32, val, sizeof val), WEFT_OK);
    }
    state_diff_absorb(big, small);
    assert_int_equal(count_found(big, 0, 10, 3), 10);
    assert_int_equal(count_found(big, 0, N, 1), N);
    assert_int_equal(state_diff_count(small), 0);
    assert_int_equal(count_found(small, 0, 10, 3), 0);
    bloom_key(key, 7, 4);
    assert_int_equal(state_diff_put(small, STATE_T_BALANCE, key, 32, val, sizeof val), WEFT_OK);
    state_diff_absorb(small, big);
    assert_int_equal(count_found(small, 0, N, 1), N);
    assert_int_equal(count_found(small, 0, 10, 3), 10);
    assert_int_equal(count_found(small, 7, 1, 4), 1);
    assert_int_equal(state_diff_count(small), N + 11);
    fp = 0;
    for (uint32_t i = 0; i < N; i++)
        fp += state_diff_may_have(small, bloom_key(key, i, 2));
    assert_true(fp < N / 25);
    /* cleared: nothing found, and it grows again */
    state_diff_clear(small);
    assert_int_equal(count_found(small, 0, N, 1), 0);
    for (uint32_t i = 0; i < N; i++) {
        bloom_key(key, i, 5);
        assert_int_equal(state_diff_put(small, STATE_T_BALANCE, key, 32, val, sizeof val), WEFT_OK);
    }
    assert_int_equal(count_found(small, 0, N, 5), N);
    state_diff_free(big);
    state_diff_free(small);
}

/* ---- memkv -------------------------------------------------------------------------------------
 */

static void test_memkv_transactions(void **state)
{
    (void)state;
    state_memkv_t *m;
    assert_int_equal(state_memkv_new(&m), WEFT_OK);
    state_kv_t kv = state_memkv_kv(m);
    wr_t out;
    wr_init(&out);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, NULL, 0),
                     WEFT_E_STATE); /* no transaction */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->begin(kv.self), WEFT_E_STATE);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, (const uint8_t *)"1", 1),
        WEFT_OK);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"b", 1, (const uint8_t *)"2", 1),
        WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);

    /* a transaction replacing, deleting, inserting — then aborted: exactly the old content */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, (const uint8_t *)"9", 1),
        WEFT_OK);
    assert_int_equal(kv.vt->del(kv.self, STATE_T_ROLLS, (const uint8_t *)"b", 1), WEFT_OK);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"c", 1, (const uint8_t *)"3", 1),
        WEFT_OK);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"c", 1, (const uint8_t *)"4", 1),
        WEFT_OK);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, &out), WEFT_OK);
    assert_true(out.len == 1 && out.buf[0] == '9'); /* reads see the transaction */
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"b", 1, &out),
                     WEFT_E_NOT_FOUND);
    kv.vt->abort(kv.self);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, &out), WEFT_OK);
    assert_true(out.len == 1 && out.buf[0] == '1');
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"b", 1, &out), WEFT_OK);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"c", 1, &out),
                     WEFT_E_NOT_FOUND);

    /* a failed write poisons the transaction: only abort works, commit refuses */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"d", 1, NULL, 0), WEFT_OK);
    static uint8_t big[STATE_MAX_KEY_LEN + 1];
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, big, sizeof big, NULL, 0), WEFT_E_LIMIT);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"e", 1, NULL, 0),
                     WEFT_E_STORE_POISONED);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_E_STORE_POISONED);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"d", 1, &out),
                     WEFT_E_NOT_FOUND);
    /* a fresh transaction works again; freeing with an open transaction drops it */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"f", 1, NULL, 0), WEFT_OK);
    wr_free(&out);
    state_memkv_free(m);
}

/* ---- views -------------------------------------------------------------------------------------
 */

/* Commits model records to a final state through a genesis diff. */
static state_final_t *final_from_model(state_memkv_t **mk, const model_params *p, const model *m)
{
    assert_int_equal(state_memkv_new(mk), WEFT_OK);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, p, state_memkv_kv(*mk)), WEFT_OK);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    for (size_t i = 0; i < m->n; i++)
        assert_int_equal(
            state_diff_put(d, m->r[i].t, m->r[i].key, m->r[i].klen, m->r[i].val, m->r[i].vlen),
            WEFT_OK);
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    state_diff_free(d);
    return f;
}

static void test_view_against_model(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0x7e);
    model_params p;
    model_params_default(&p);
    for (int round = 0; round < 15; round++) {
        static model base, expect, lm;
        base.n = 0;
        /* the final state: records of tables 1..3 (no deletions) */
        int n0 = (int)test_rng_below(&r, 120);
        for (int i = 0; i < n0; i++) {
            uint8_t key[40], val[16];
            size_t klen, vlen;
            state_table t = random_table(&r);
            random_key(&r, t, key, &klen);
            random_val(&r, t, val, &vlen);
            model_set(&base, t, key, klen, val, vlen, false);
        }
        state_memkv_t *mk;
        state_final_t *f = final_from_model(&mk, &p, &base);
        expect = base;
        /* speculative layers and a top diff */
        size_t nl = test_rng_below(&r, 4);
        state_diff_t *layers[4], *top;
        for (size_t l = 0; l < nl; l++) {
            assert_int_equal(state_diff_new(&layers[l]), WEFT_OK);
            lm.n = 0;
            int k = (int)test_rng_below(&r, 60);
            for (int i = 0; i < k; i++)
                random_change(&r, layers[l], &lm, random_table(&r));
            model_apply(&expect, &lm);
        }
        assert_int_equal(state_diff_new(&top), WEFT_OK);
        state_view_t v;
        state_view_init(&v, f, (const state_diff_t *const *)layers, nl, top);
        lm.n = 0;
        int k = (int)test_rng_below(&r, 60);
        for (int i = 0; i < k; i++) {
            uint8_t key[40], val[16];
            size_t klen, vlen;
            state_table t = random_table(&r);
            random_key(&r, t, key, &klen);
            random_val(&r, t, val, &vlen);
            if (test_rng_below(&r, 3) == 0) {
                assert_int_equal(state_view_del(&v, t, key, klen), WEFT_OK);
                model_set(&lm, t, key, klen, NULL, 0, true);
            } else {
                assert_int_equal(state_view_put(&v, t, key, klen, val, vlen), WEFT_OK);
                model_set(&lm, t, key, klen, val, vlen, false);
            }
        }
        model_apply(&expect, &lm);

        /* every possible key: get agrees with the model */
        for (unsigned ti = 0; ti < 3; ti++)
            for (unsigned a = 0; a < 4; a++)
                for (size_t tl = 0; tl <= 3; tl++)
                    for (unsigned x = 0; x < (1u << (2 * tl)); x++) {
                        state_table t = test_tables[ti];
                        if (t != STATE_T_DATASTORE && tl > 0)
                            break;
                        uint8_t tail[3], key[40];
                        size_t klen;
                        for (size_t i = 0; i < tl; i++)
                            tail[i] = (uint8_t)((x >> (2 * i)) & 3);
                        key_of(t, a, tail, tl, key, &klen);
                        const uint8_t *val;
                        size_t vlen;
                        weft_err err = state_view_get(&v, t, key, klen, &val, &vlen);
                        rec *e = model_find(&expect, t, key, klen);
                        if (!e) {
                            assert_int_equal(err, WEFT_E_NOT_FOUND);
                            continue;
                        }
                        assert_int_equal(err, WEFT_OK);
                        assert_int_equal(vlen, e->vlen);
                        if (vlen)
                            assert_memory_equal(val, e->val, vlen);
                    }
        /* scans: whole tables and random ranges */
        for (int q = 0; q < 12; q++) {
            state_table t = random_table(&r);
            uint8_t from[40], to[40];
            size_t flen = 0, tlen = 0;
            bool bounded = q > 2;
            if (bounded) {
                random_key(&r, STATE_T_DATASTORE, from, &flen);
                random_key(&r, STATE_T_DATASTORE, to, &tlen);
            }
            static seen s;
            s.n = 0;
            s.t = t;
            assert_int_equal(state_view_scan(&v, t, bounded ? from : NULL, flen,
                                             bounded ? to : NULL, tlen, seen_scan, &s),
                             WEFT_OK);
            static model sub;
            sub.n = 0;
            for (size_t i = 0; i < expect.n; i++) {
                const rec *e = &expect.r[i];
                if (e->t != t)
                    continue;
                if (bounded && (rec_cmp(e, t, from, flen) < 0 || rec_cmp(e, t, to, tlen) >= 0))
                    continue;
                sub.r[sub.n++] = *e;
            }
            assert_same_records(s.r, s.n, &sub, false);
        }
        state_view_free(&v);
        for (size_t l = 0; l < nl; l++)
            state_diff_free(layers[l]);
        state_diff_free(top);
        state_final_close(f);
        state_memkv_free(mk);
    }
}

/* ---- final state -------------------------------------------------------------------------------
 */

static address_t addr_n(uint8_t n)
{
    address_t a;
    memset(&a, 0, sizeof a);
    a.hash.b[0] = n;
    a.hash.b[31] = (uint8_t)(n * 7 + 1);
    return a;
}

static void small_params(model_params *p)
{
    model_params_default(p);
    p->thread_count = 2;
    p->periods_per_cycle = 2;
    p->endorsement_count = 2;
}

static void test_fingerprint(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0xf1);
    model_params p;
    model_params_default(&p);
    /* the same records in two orders, in one genesis or spread over slots: the same fingerprint */
    static model m;
    m.n = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t key[40], val[16];
        size_t klen, vlen;
        state_table t = random_table(&r);
        random_key(&r, t, key, &klen);
        random_val(&r, t, val, &vlen);
        model_set(&m, t, key, klen, val, vlen, false);
    }
    state_memkv_t *k1, *k2;
    state_final_t *f1 = final_from_model(&k1, &p, &m);
    assert_int_equal(state_final_verify(f1), WEFT_OK);
    assert_int_equal(state_memkv_new(&k2), WEFT_OK);
    state_final_t *f2;
    assert_int_equal(state_final_open(&f2, &p, state_memkv_kv(k2)), WEFT_OK);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    assert_int_equal(state_final_genesis(f2, d), WEFT_OK);
    uint8_t zero[STATE_FP_LEN] = {0}, fp1[STATE_FP_LEN], fp2[STATE_FP_LEN];
    state_final_fingerprint(f2, fp2);
    assert_memory_equal(fp2, zero, STATE_FP_LEN); /* the empty state */
    /* reverse order, a few records per slot, with decoys set then deleted */
    size_t i = m.n;
    slot_t s = {0, 0};
    uint8_t decoy[34] = {0};
    decoy[2] = 0xde;
    while (i > 0) {
        for (int j = 0; j < 7 && i > 0; j++, i--) {
            const rec *x = &m.r[i - 1];
            assert_int_equal(state_diff_put(d, x->t, x->key, x->klen, x->val, x->vlen), WEFT_OK);
        }
        assert_int_equal(state_diff_put(d, STATE_T_BALANCE, decoy, 34, (const uint8_t *)"\x07", 1),
                         WEFT_OK);
        assert_int_equal(state_final_apply(f2, s, d), WEFT_OK);
        state_diff_clear(d);
        assert_int_equal(state_diff_del(d, STATE_T_BALANCE, decoy, 34), WEFT_OK);
        assert_int_equal(slot_next(&p, &s, s), WEFT_OK);
    }
    assert_int_equal(state_final_apply(f2, s, d), WEFT_OK);
    state_final_fingerprint(f1, fp1);
    state_final_fingerprint(f2, fp2);
    assert_memory_equal(fp1, fp2, STATE_FP_LEN);
    assert_memory_not_equal(fp1, zero, STATE_FP_LEN);
    assert_int_equal(state_final_verify(f2), WEFT_OK);
    hash32_t h1, h2;
    state_final_hash(f1, &h1);
    crypto_blake3(h2.b, fp1, STATE_FP_LEN);
    assert_memory_equal(h1.b, h2.b, 32);

    /* the documented entry hash: BLAKE3-XOF-64(table ‖ varint(klen) ‖ key ‖ value) */
    uint8_t e[STATE_FP_LEN], want[STATE_FP_LEN];
    state_fp_entry(e, STATE_T_ROLLS, (const uint8_t *)"ab", 2, (const uint8_t *)"\x05", 1);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c,
                         "\x04\x02"
                         "ab\x05",
                         5);
    crypto_blake3_final_xof(&c, want, STATE_FP_LEN);
    assert_memory_equal(e, want, STATE_FP_LEN);
    /* key/value boundary matters: ("a", "b…") differs from ("ab", "…") */
    uint8_t e2[STATE_FP_LEN];
    state_fp_entry(e2, STATE_T_ROLLS, (const uint8_t *)"a", 1, (const uint8_t *)"b\x05", 2);
    assert_memory_not_equal(e, e2, STATE_FP_LEN);

    /* a change behind the fingerprint's back is detected */
    state_kv_t kv = state_memkv_kv(k1);
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    uint8_t intruder[34] = {0};
    intruder[5] = 0x5e; /* a balance record: no random record lives in that table */
    assert_int_equal(kv.vt->put(kv.self, STATE_T_BALANCE, intruder, 34, (const uint8_t *)"\x01", 1),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    assert_int_equal(state_final_verify(f1), WEFT_E_STATE_CORRUPT);

    state_diff_free(d);
    state_final_close(f1);
    state_final_close(f2);
    state_memkv_free(k1);
    state_memkv_free(k2);
}

static void test_final_rules(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    state_memkv_t *mk;
    assert_int_equal(state_memkv_new(&mk), WEFT_OK);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    assert_false(state_final_has_genesis(f));
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    assert_int_equal(state_final_apply(f, (slot_t){0, 0}, d), WEFT_E_STATE);
    assert_int_equal(state_diff_put(d, STATE_T_META, (const uint8_t *)"cursor", 6,
                                    (const uint8_t *)"\x05\x00", 2),
                     WEFT_OK);
    assert_int_equal(state_final_genesis(f, d), WEFT_E_INVAL);
    assert_false(state_final_has_genesis(f));
    state_diff_clear(d);
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    assert_int_equal(state_final_genesis(f, d), WEFT_E_EXISTS);
    slot_t s;
    assert_false(state_final_cursor(f, &s));
    assert_int_equal(state_final_next_slot(f, &s), WEFT_OK);
    assert_true(s.period == 0 && s.thread == 0);
    assert_int_equal(state_final_apply(f, (slot_t){0, 1}, d), WEFT_E_STATE_SLOT);
    assert_int_equal(state_final_apply(f, (slot_t){0, 0}, d), WEFT_OK);
    assert_int_equal(state_final_apply(f, (slot_t){0, 0}, d), WEFT_E_STATE_SLOT);
    assert_int_equal(state_final_apply(f, (slot_t){0, 2}, d), WEFT_E_STATE_SLOT);
    assert_int_equal(state_diff_put(d, STATE_T_META, (const uint8_t *)"x", 1, NULL, 0), WEFT_OK);
    assert_int_equal(state_final_apply(f, (slot_t){0, 1}, d), WEFT_E_INVAL);
    assert_true(state_final_cursor(f, &s) && s.period == 0 && s.thread == 0);
    state_diff_clear(d);
    assert_int_equal(state_final_apply(f, (slot_t){0, 1}, d), WEFT_OK);
    assert_true(state_final_cursor(f, &s) && s.period == 0 && s.thread == 1);

    /* reopening the same kv: same cursor and fingerprint */
    uint8_t fp1[STATE_FP_LEN], fp2[STATE_FP_LEN];
    state_final_fingerprint(f, fp1);
    state_final_t *g;
    assert_int_equal(state_final_open(&g, &p, state_memkv_kv(mk)), WEFT_OK);
    state_final_fingerprint(g, fp2);
    assert_memory_equal(fp1, fp2, STATE_FP_LEN);
    assert_true(state_final_has_genesis(g) && state_final_cursor(g, &s) && s.period == 0 &&
                s.thread == 1);
    state_final_close(g);
    /* another format version is refused */
    state_kv_t kv = state_memkv_kv(mk);
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_META, (const uint8_t *)"version", 7,
                                (const uint8_t *)"\x02", 1),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    assert_int_equal(state_final_open(&g, &p, kv), WEFT_E_VERSION);
    assert_null(g);
    state_diff_free(d);
    state_final_close(f);
    state_memkv_free(mk);
}

/* ---- kept fingerprints ------------------------------------------------------------------------
 */

/* A final state over a new in-memory kv (*mk), with an empty genesis written. */
static state_final_t *empty_final(state_memkv_t **mk, const model_params *p)
{
    assert_int_equal(state_memkv_new(mk), WEFT_OK);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, p, state_memkv_kv(*mk)), WEFT_OK);
    state_diff_t *g;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    assert_int_equal(state_final_genesis(f, g), WEFT_OK);
    state_diff_free(g);
    return f;
}

typedef struct kept {
    slot_t s[16];
    uint8_t fp[16][STATE_FP_LEN];
    size_t n;
} kept;

static bool kept_cb(void *ctx, slot_t s, const uint8_t fp[STATE_FP_LEN])
{
    kept *k = ctx;
    assert_true(k->n < 16);
    k->s[k->n] = s;
    memcpy(k->fp[k->n], fp, STATE_FP_LEN);
    k->n++;
    return true;
}

/* The kept fingerprints of f are exactly those of slot indices first..last (T = 2) in fps. */
static void expect_kept(state_final_t *f, uint64_t first, uint64_t last,
                        uint8_t fps[][STATE_FP_LEN])
{
    kept k = {.n = 0};
    assert_int_equal(state_final_fingerprints(f, kept_cb, &k), WEFT_OK);
    assert_int_equal(k.n, first <= last ? last - first + 1 : 0);
    for (size_t j = 0; j < k.n; j++) {
        uint64_t i = first + j;
        assert_true(k.s[j].period == i / 2 && k.s[j].thread == i % 2);
        assert_memory_equal(k.fp[j], fps[i], STATE_FP_LEN);
    }
}

/* Finalizes slot index i (T = 2) with a balance changed, so that every slot's fingerprint differs;
 * its fingerprint into fps[i]. */
static void apply_changed(state_final_t *f, uint64_t i, uint8_t fps[][STATE_FP_LEN])
{
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);
    address_t a = addr_n(1);
    assert_int_equal(state_balance_set(&v, &a, amount_from_nano(1000 + i)), WEFT_OK);
    state_view_free(&v);
    assert_int_equal(state_final_apply(f, (slot_t){i / 2, (uint8_t)(i % 2)}, d), WEFT_OK);
    state_final_fingerprint(f, fps[i]);
    state_diff_free(d);
}

/* state_final_keep_fingerprints: the last n slots' fingerprints written with each slot, in its
 * transaction (an aborted batch leaves none), kept across a reopen, pruned when n shrinks and
 * dropped for n = 0; checked as metadata by state_final_verify; a malformed entry refused. */
static void test_kept_fingerprints(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    state_memkv_t *mk;
    state_final_t *f = empty_final(&mk, &p);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    uint8_t fps[16][STATE_FP_LEN];
    /* none kept by default */
    apply_changed(f, 0, fps);
    expect_kept(f, 1, 0, fps);
    assert_int_equal(state_final_keep_fingerprints(f, 4), WEFT_OK);
    for (uint64_t i = 1; i < 10; i++) {
        apply_changed(f, i, fps);
        expect_kept(f, i >= 4 ? i - 3 : 1, i, fps); /* slot 0 was finalized before */
    }
    assert_int_equal(state_final_verify(f), WEFT_OK);
    /* a batch: no new keep inside; its slots' entries go with its abort */
    assert_int_equal(state_final_batch_begin(f), WEFT_OK);
    assert_int_equal(state_final_keep_fingerprints(f, 2), WEFT_E_STATE);
    uint8_t in_batch[16][STATE_FP_LEN];
    memcpy(in_batch, fps, sizeof in_batch);
    apply_changed(f, 10, in_batch);
    apply_changed(f, 11, in_batch);
    expect_kept(f, 8, 11, in_batch); /* reads through the batch see its writes */
    state_final_batch_abort(f);
    expect_kept(f, 6, 9, fps);
    /* a slot refused writes nothing */
    assert_int_equal(state_final_apply(f, (slot_t){7, 0}, d), WEFT_E_STATE_SLOT);
    expect_kept(f, 6, 9, fps);
    state_final_close(f);

    /* reopened: what the store kept is there, whether or not this run keeps any */
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    expect_kept(f, 6, 9, fps);
    assert_int_equal(state_final_keep_fingerprints(f, 2), WEFT_OK); /* pruned to 2 */
    expect_kept(f, 8, 9, fps);
    apply_changed(f, 10, fps);
    expect_kept(f, 9, 10, fps);
    assert_int_equal(state_final_keep_fingerprints(f, 0), WEFT_OK); /* all gone */
    expect_kept(f, 1, 0, fps);
    state_final_close(f); /* the other metadata untouched: the same state opens */
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    slot_t at;
    uint8_t fp_at[STATE_FP_LEN];
    assert_true(state_final_cursor(f, &at) && at.period == 5 && at.thread == 0);
    state_final_fingerprint(f, fp_at);
    assert_memory_equal(fp_at, fps[10], STATE_FP_LEN);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    apply_changed(f, 11, fps);
    expect_kept(f, 1, 0, fps);

    /* a malformed entry (a value of 3 bytes) is metadata that does not decode */
    assert_int_equal(state_final_keep_fingerprints(f, 3), WEFT_OK);
    apply_changed(f, 12, fps);
    state_kv_t kv = state_memkv_kv(mk);
    uint8_t key[11] = {'f', 'p', 0, 0, 0, 0, 0, 0, 0, 6, 1};
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_META, key, sizeof key, (const uint8_t *)"abc", 3),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    kept k = {.n = 0};
    assert_int_equal(state_final_fingerprints(f, kept_cb, &k), WEFT_E_STATE_RECORD);
    assert_int_equal(state_final_verify(f), WEFT_E_STATE_RECORD);
    /* mended, then a well-formed entry of a thread this network (T = 2) does not have, which
     * would name another slot's place */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_META, key, sizeof key, fps[0], STATE_FP_LEN),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    k.n = 0;
    assert_int_equal(state_final_fingerprints(f, kept_cb, &k), WEFT_OK);
    assert_int_equal(k.n, 2); /* slot 12 and the mended one */
    key[10] = 2;
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_META, key, sizeof key, fps[0], STATE_FP_LEN),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    k.n = 0;
    assert_int_equal(state_final_fingerprints(f, kept_cb, &k), WEFT_E_STATE_RECORD);
    assert_int_equal(state_record_check(STATE_T_META, key, sizeof key, fps[0], STATE_FP_LEN),
                     WEFT_OK);
    key[10] = 200; /* a thread no network has */
    assert_int_equal(state_record_check(STATE_T_META, key, sizeof key, fps[0], STATE_FP_LEN),
                     WEFT_E_STATE_RECORD);
    assert_int_equal(state_record_check(STATE_T_META, key, 10, fps[0], STATE_FP_LEN),
                     WEFT_E_STATE_RECORD);
    /* and one beyond the cursor: a keep leaves only the well-formed entries of its window, and
     * the other metadata as it was */
    uint8_t beyond[11] = {'f', 'p', 0, 0, 0, 0, 0, 0, 0, 100, 0};
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_META, beyond, sizeof beyond, fps[0], STATE_FP_LEN),
                     WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    assert_int_equal(state_final_keep_fingerprints(f, 3), WEFT_OK);
    k.n = 0;
    assert_int_equal(state_final_fingerprints(f, kept_cb, &k), WEFT_OK);
    assert_int_equal(k.n, 1); /* (6, 1), (6, 2) and (100, 0) are after the cursor (6, 0) */
    assert_true(k.s[0].period == 6 && k.s[0].thread == 0);
    uint8_t fp_before[STATE_FP_LEN], fp_after[STATE_FP_LEN];
    state_final_fingerprint(f, fp_before);
    state_final_close(f);
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    state_final_fingerprint(f, fp_after);
    assert_memory_equal(fp_before, fp_after, STATE_FP_LEN);
    slot_t cur;
    assert_true(state_final_cursor(f, &cur) && cur.period == 6 && cur.thread == 0);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_diff_free(d);
    state_final_close(f);
    state_memkv_free(mk);
}

/* ---- cycles, snapshots, lookback ---------------------------------------------------------------
 */

static bool count_stakes(void *ctx, const address_t *a, uint64_t rolls)
{
    (void)a;
    *(uint64_t *)ctx += rolls;
    return true;
}

/* Finalizes every slot of cycles 0..last with T = 2, P = 2: in cycle c, address c holds c + 1
 * rolls (address c − 1 sells); slots (period, 1) are misses, the others have a block. */
static void run_cycles(state_final_t *f, const model_params *p, uint64_t last)
{
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    for (uint64_t c = 0; c <= last; c++)
        for (uint64_t per = 2 * c; per < 2 * c + 2; per++)
            for (uint8_t th = 0; th < 2; th++) {
                state_view_t v;
                state_view_init(&v, f, NULL, 0, d);
                if (per == 2 * c && th == 0) {
                    address_t prev = addr_n((uint8_t)(c - 1)), cur = addr_n((uint8_t)c);
                    if (c > 0)
                        assert_int_equal(state_rolls_set(&v, &prev, 0), WEFT_OK);
                    assert_int_equal(state_rolls_set(&v, &cur, c + 1), WEFT_OK);
                }
                block_id_t b;
                memset(&b, 0, sizeof b);
                b.h.b[0] = (uint8_t)(per * 37 + th * 101); /* varied seed bits */
                address_t prod = addr_n((uint8_t)c);
                assert_int_equal(
                    state_slot_record(&v, (slot_t){per, th}, th == 0 ? &b : NULL, &prod), WEFT_OK);
                state_view_free(&v);
                assert_int_equal(state_final_apply(f, (slot_t){per, th}, d), WEFT_OK);
                state_diff_clear(d);
            }
    state_diff_free(d);
    (void)p;
}

static void test_cycle_bookkeeping_and_lookback(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    state_memkv_t *mk;
    state_final_t *f = empty_final(&mk, &p);
    run_cycles(f, &p, 7);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, NULL);

    /* kept: cycles 3..7; pruned: 0..2 */
    for (uint64_t c = 0; c <= 7; c++) {
        hash32_t h;
        weft_err e = state_hash_snapshot(&v, c, &h);
        assert_int_equal(e, c >= 3 ? WEFT_OK : WEFT_E_NOT_FOUND);
        wr_t bits;
        wr_init(&bits);
        size_t count;
        assert_int_equal(state_cycle_bits(&v, c, &bits, &count), WEFT_OK);
        assert_int_equal(count, c >= 3 ? 4 : 0);
        if (c >= 3) {
            /* bits: slots (2c,0) and (2c+1,0) from the block ids, (·,1) miss bits */
            for (uint64_t per = 2 * c, i = 0; per < 2 * c + 2; per++)
                for (uint8_t th = 0; th < 2; th++, i++) {
                    block_id_t b;
                    memset(&b, 0, sizeof b);
                    b.h.b[0] = (uint8_t)(per * 37 + th * 101);
                    assert_int_equal(pos_bit_get(bits.buf, i),
                                     pos_slot_seed_bit((slot_t){per, th}, th == 0 ? &b : NULL));
                }
            uint64_t produced, missed;
            address_t prod = addr_n((uint8_t)c);
            assert_int_equal(state_prod_get(&v, c, &prod, &produced, &missed), WEFT_OK);
            assert_true(produced == 2 && missed == 2);
        }
        wr_free(&bits);
    }
    /* the latest hash snapshot is BLAKE3 of the fingerprint just before it was written */
    hash32_t h7, check;
    assert_int_equal(state_hash_snapshot(&v, 7, &h7), WEFT_OK);
    uint8_t fp[STATE_FP_LEN], e[STATE_FP_LEN], key[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    state_final_fingerprint(f, fp);
    state_fp_entry(e, STATE_T_HASH_SNAP, key, 8, h7.b, 32);
    for (size_t i = 0; i < STATE_FP_LEN; i++)
        fp[i] ^= e[i];
    crypto_blake3(check.b, fp, STATE_FP_LEN);
    assert_memory_equal(check.b, h7.b, 32);

    /* lookback of D = 8: rolls at the end of cycle 5 (address 5: 6 rolls), bits of 6, hash of 5 */
    state_lookback_t lb;
    assert_int_equal(state_pos_lookback(&v, 8, &lb), WEFT_OK);
    assert_int_equal(lb.lb.cycle, 8);
    assert_int_equal(lb.lb.roll_count, 1);
    address_t a5 = addr_n(5);
    assert_true(address_eq(&lb.lb.rolls[0].addr, &a5) && lb.lb.rolls[0].rolls == 6);
    assert_int_equal(lb.lb.seed_bit_count, 4);
    wr_t bits6;
    wr_init(&bits6);
    size_t n6;
    assert_int_equal(state_cycle_bits(&v, 6, &bits6, &n6), WEFT_OK);
    assert_int_equal(lb.lb.seed_bits[0], bits6.buf[0]);
    hash32_t h5;
    assert_int_equal(state_hash_snapshot(&v, 5, &h5), WEFT_OK);
    assert_memory_equal(lb.lb.state_hash.b, h5.b, 32);
    /* the selector fed from the state draws exactly the documented inputs */
    pos_stake_t gen = {addr_n(0x77), 1};
    pos_selector_t *sel;
    assert_int_equal(pos_selector_new(&sel, &p, &gen, 1, 4), WEFT_OK);
    assert_int_equal(pos_selector_feed(sel, &lb.lb), WEFT_OK);
    hash32_t seed;
    pos_cycle_seed(&seed, 8, bits6.buf, 4, &h5);
    assert_memory_equal(pos_cycle_draws_seed(pos_selector_cycle(sel, 8))->b, seed.b, 32);
    address_t prod;
    assert_int_equal(pos_selector_producer(sel, (slot_t){16, 1}, &prod), WEFT_OK);
    assert_true(address_eq(&prod, &a5)); /* the only staker at the end of cycle 5 */
    state_lookback_free(&lb);
    wr_free(&bits6);

    /* D = 9 needs the bits of cycle 7 (complete) and snapshots of 6: fine; D = 10 needs cycle 8's
     * bits (not final yet); D = 6 needs the hash of cycle 3 (kept) and D = 5 that of 2 (pruned) */
    assert_int_equal(state_pos_lookback(&v, 9, &lb), WEFT_OK);
    assert_true(lb.lb.roll_count == 1 && lb.lb.rolls[0].rolls == 7);
    state_lookback_free(&lb);
    assert_int_equal(state_pos_lookback(&v, 10, &lb), WEFT_E_POS_CYCLE_UNAVAILABLE);
    assert_null(lb.rolls);
    assert_int_equal(state_pos_lookback(&v, 6, &lb), WEFT_OK);
    state_lookback_free(&lb);
    assert_int_equal(state_pos_lookback(&v, 5, &lb), WEFT_E_POS_CYCLE_UNAVAILABLE);
    /* genesis cycles carry only the cycle number */
    assert_int_equal(state_pos_lookback(&v, 2, &lb), WEFT_OK);
    assert_true(lb.lb.cycle == 2 && lb.lb.roll_count == 0 && lb.lb.seed_bits == NULL);
    assert_int_equal(pos_selector_feed(sel, &lb.lb), WEFT_OK);
    assert_int_equal(pos_selector_producer(sel, (slot_t){4, 0}, &prod), WEFT_OK);
    assert_true(address_eq(&prod, &gen.addr));
    state_lookback_free(&lb);
    pos_selector_free(sel);

    /* current rolls, and the roll snapshots kept for 3..7 only */
    uint64_t total = 0;
    assert_int_equal(state_rolls_scan(&v, count_stakes, &total), WEFT_OK);
    assert_int_equal(total, 8);
    state_view_free(&v);
    state_final_close(f);
    state_memkv_free(mk);
}

/* ---- typed accessors ---------------------------------------------------------------------------
 */

static bool collect_ds(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    seen *s = ctx;
    (void)val;
    rec *r = &s->r[s->n++];
    memcpy(r->key, key, klen < 8 ? klen : 8);
    r->klen = klen;
    r->vlen = vlen;
    return true;
}

typedef struct credits_seen {
    address_t a[8];
    amount_t v[8];
    size_t n;
} credits_seen;
static void credit_visit(void *ctx, const address_t *a, amount_t amount)
{
    credits_seen *c = ctx;
    c->a[c->n] = *a;
    c->v[c->n++] = amount;
}

static void test_accessors(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    state_memkv_t *mk;
    assert_int_equal(state_memkv_new(&mk), WEFT_OK);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    address_t a = addr_n(1), b = addr_n(2), sc = addr_n(3);
    sc.kind = ADDRESS_SC;
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);

    /* ledger */
    amount_t x;
    assert_int_equal(state_balance_get(&v, &a, &x), WEFT_E_NOT_FOUND);
    assert_int_equal(state_balance_set(&v, &a, amount_from_nano(1000)), WEFT_OK);
    assert_int_equal(state_balance_set(&v, &sc, amount_from_nano(0)), WEFT_OK);
    assert_int_equal(state_balance_get(&v, &a, &x), WEFT_OK);
    assert_true(x.nano == 1000);
    assert_int_equal(state_balance_get(&v, &sc, &x), WEFT_OK);
    assert_true(x.nano == 0);
    const uint8_t *val;
    size_t vlen;
    assert_int_equal(state_bytecode_set(&v, &sc, (const uint8_t *)"\0asm", 4), WEFT_OK);
    assert_int_equal(state_bytecode_get(&v, &sc, &val, &vlen), WEFT_OK);
    assert_true(vlen == 4 && memcmp(val, "\0asm", 4) == 0);
    const char *keys[] = {"", "a", "ab", "abc", "b", "\xff", "\xff\xff"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(keys); i++)
        assert_int_equal(state_ds_set(&v, &sc, (const uint8_t *)keys[i], strlen(keys[i]),
                                      (const uint8_t *)"v", 1),
                         WEFT_OK);
    assert_int_equal(state_ds_set(&v, &b, (const uint8_t *)"a", 1, (const uint8_t *)"w", 1),
                     WEFT_OK);
    static uint8_t longkey[STATE_MAX_DS_KEY_LEN + 1];
    assert_int_equal(state_ds_set(&v, &sc, longkey, sizeof longkey, NULL, 0), WEFT_E_LIMIT);
    static seen s;
    s.n = 0;
    assert_int_equal(state_ds_scan(&v, &sc, (const uint8_t *)"a", 1, collect_ds, &s), WEFT_OK);
    assert_int_equal(s.n, 3); /* a, ab, abc — not b, not the other address */
    s.n = 0;
    assert_int_equal(state_ds_scan(&v, &sc, (const uint8_t *)"\xff", 1, collect_ds, &s), WEFT_OK);
    assert_int_equal(s.n, 2);
    s.n = 0;
    assert_int_equal(state_ds_scan(&v, &sc, NULL, 0, collect_ds, &s), WEFT_OK);
    assert_int_equal(s.n, WEFT_ARRAY_LEN(keys));
    assert_int_equal(s.r[0].klen, 0); /* the empty key first */
    assert_int_equal(state_ds_del(&v, &sc, (const uint8_t *)"ab", 2), WEFT_OK);
    assert_int_equal(state_ds_get(&v, &sc, (const uint8_t *)"ab", 2, &val, &vlen),
                     WEFT_E_NOT_FOUND);
    assert_int_equal(state_ds_get(&v, &sc, (const uint8_t *)"abc", 3, &val, &vlen), WEFT_OK);
    /* finalize, then delete the whole entry through a view over the final state */
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    state_diff_clear(d);
    assert_int_equal(state_entry_delete(&v, &sc), WEFT_OK);
    assert_int_equal(state_balance_get(&v, &sc, &x), WEFT_E_NOT_FOUND);
    assert_int_equal(state_bytecode_get(&v, &sc, &val, &vlen), WEFT_E_NOT_FOUND);
    s.n = 0;
    assert_int_equal(state_ds_scan(&v, &sc, NULL, 0, collect_ds, &s), WEFT_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(state_ds_get(&v, &b, (const uint8_t *)"a", 1, &val, &vlen), WEFT_OK);
    assert_int_equal(state_balance_get(&v, &a, &x), WEFT_OK);

    /* rolls and deferred credits */
    uint64_t rolls;
    assert_int_equal(state_rolls_get(&v, &a, &rolls), WEFT_OK);
    assert_int_equal(rolls, 0);
    assert_int_equal(state_rolls_set(&v, &a, 5), WEFT_OK);
    assert_int_equal(state_rolls_get(&v, &a, &rolls), WEFT_OK);
    assert_int_equal(rolls, 5);
    slot_t due = {7, 1}, other = {7, 0}, next = {8, 0};
    assert_int_equal(state_credit_add(&v, due, &b, amount_from_nano(30)), WEFT_OK);
    assert_int_equal(state_credit_add(&v, due, &b, amount_from_nano(12)), WEFT_OK);
    assert_int_equal(state_credit_add(&v, due, &a, amount_from_nano(5)), WEFT_OK);
    assert_int_equal(state_credit_add(&v, other, &a, amount_from_nano(1)), WEFT_OK);
    assert_int_equal(state_credit_add(&v, next, &a, amount_from_nano(2)), WEFT_OK);
    assert_int_equal(state_credit_add(&v, due, &a, amount_from_nano(UINT64_MAX)), WEFT_E_OVERFLOW);
    credits_seen cs = {0};
    assert_int_equal(state_credits_take(&v, due, credit_visit, &cs), WEFT_OK);
    assert_int_equal(cs.n, 2);
    assert_true(address_eq(&cs.a[0], &a) && cs.v[0].nano == 5); /* address order */
    assert_true(address_eq(&cs.a[1], &b) && cs.v[1].nano == 42);
    assert_int_equal(state_credit_get(&v, due, &b, &x), WEFT_OK);
    assert_true(x.nano == 0);
    assert_int_equal(state_credit_get(&v, other, &a, &x), WEFT_OK);
    assert_true(x.nano == 1);
    assert_int_equal(state_credit_get(&v, next, &a, &x), WEFT_OK);
    assert_true(x.nano == 2);
    cs.n = 0;
    assert_int_equal(state_credits_take(&v, due, credit_visit, &cs), WEFT_OK);
    assert_int_equal(cs.n, 0);
    /* the largest slot: no upper bound overflow */
    assert_int_equal(state_credit_add(&v, (slot_t){UINT64_MAX, 255}, &a, amount_from_nano(3)),
                     WEFT_OK);
    assert_int_equal(state_credits_take(&v, (slot_t){UINT64_MAX, 255}, credit_visit, &cs), WEFT_OK);
    assert_true(cs.n == 1 && cs.v[0].nano == 3);

    /* seed bits must be recorded in slot order from the start of the cycle */
    block_id_t blk;
    memset(&blk, 0x80, sizeof blk);
    assert_int_equal(state_slot_record(&v, (slot_t){2, 1}, &blk, &a), WEFT_E_STATE_SEED_BITS);
    assert_int_equal(state_slot_record(&v, (slot_t){2, 0}, &blk, &a), WEFT_OK);
    assert_int_equal(state_slot_record(&v, (slot_t){2, 0}, &blk, &a), WEFT_E_STATE_SEED_BITS);
    assert_int_equal(state_slot_record(&v, (slot_t){2, 1}, NULL, &b), WEFT_OK);
    uint64_t pr, mi;
    assert_int_equal(state_prod_get(&v, 1, &a, &pr, &mi), WEFT_OK);
    assert_true(pr == 1 && mi == 0);
    assert_int_equal(state_prod_get(&v, 1, &b, &pr, &mi), WEFT_OK);
    assert_true(pr == 0 && mi == 1);

    /* executed operations and their pruning */
    op_id_t o1, o2, o3;
    memset(&o1, 1, sizeof o1);
    memset(&o2, 2, sizeof o2);
    memset(&o3, 3, sizeof o3);
    assert_int_equal(state_op_mark(&v, &o1, 10, true), WEFT_OK);
    assert_int_equal(state_op_mark(&v, &o2, 11, false), WEFT_OK);
    assert_int_equal(state_op_mark(&v, &o3, 12, true), WEFT_OK);
    bool ex, ok;
    assert_int_equal(state_op_executed(&v, &o2, &ex, &ok), WEFT_OK);
    assert_true(ex && !ok);
    assert_int_equal(state_ops_prune(&v, 11), WEFT_OK); /* expire 10 < 11: forgotten */
    assert_int_equal(state_op_executed(&v, &o1, &ex, NULL), WEFT_OK);
    assert_false(ex);
    assert_int_equal(state_op_executed(&v, &o2, &ex, &ok), WEFT_OK);
    assert_true(ex);
    assert_int_equal(state_ops_prune(&v, 13), WEFT_OK);
    assert_int_equal(state_op_executed(&v, &o3, &ex, NULL), WEFT_OK);
    assert_false(ex);

    /* everything written above passes the record checks when finalized */
    assert_int_equal(state_final_apply(f, (slot_t){0, 0}, d), WEFT_OK);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_view_free(&v);
    state_diff_free(d);
    state_final_close(f);
    state_memkv_free(mk);
}

/* ---- a speculative history finalized slot by slot ----------------------------------------------
 */

static void test_speculative_history(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    state_memkv_t *mk;
    assert_int_equal(state_memkv_new(&mk), WEFT_OK);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(mk)), WEFT_OK);
    state_diff_t *hist[4];
    address_t a = addr_n(1), b = addr_n(2);
    assert_int_equal(state_diff_new(&hist[0]), WEFT_OK);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, hist[0]);
    assert_int_equal(state_balance_set(&v, &a, amount_from_nano(100)), WEFT_OK);
    state_view_free(&v);
    assert_int_equal(state_final_genesis(f, hist[0]), WEFT_OK);
    state_diff_clear(hist[0]);
    /* four slots, each moving 10 from a to b, each over the diffs of the slots before it */
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            assert_int_equal(state_diff_new(&hist[i]), WEFT_OK);
        state_view_init(&v, f, (const state_diff_t *const *)hist, (size_t)i, hist[i]);
        /* an operation-level diff on top, absorbed on success */
        state_diff_t *op;
        assert_int_equal(state_diff_new(&op), WEFT_OK);
        const state_diff_t *below[5];
        for (int k = 0; k <= i; k++)
            below[k] = hist[k];
        state_view_t ov;
        state_view_init(&ov, f, below, (size_t)i + 1, op);
        amount_t xa, xb = amount_from_nano(0);
        assert_int_equal(state_balance_get(&ov, &a, &xa), WEFT_OK);
        weft_err e = state_balance_get(&ov, &b, &xb);
        assert_true(e == WEFT_OK || (i == 0 && e == WEFT_E_NOT_FOUND));
        assert_true(xa.nano == 100 - 10 * (uint64_t)i && xb.nano == 10 * (uint64_t)i);
        assert_int_equal(state_balance_set(&ov, &a, amount_from_nano(xa.nano - 10)), WEFT_OK);
        assert_int_equal(state_balance_set(&ov, &b, amount_from_nano(xb.nano + 10)), WEFT_OK);
        state_view_free(&ov);
        state_diff_absorb(hist[i], op);
        state_diff_free(op);
        state_view_free(&v);
    }
    /* finalize oldest first: after each, the remaining history over the final state reads the same
     */
    for (int i = 0; i < 4; i++) {
        slot_t s = {(uint64_t)i / 2, (uint8_t)(i % 2)};
        assert_int_equal(state_final_apply(f, s, hist[i]), WEFT_OK);
        state_view_init(&v, f, (const state_diff_t *const *)&hist[i + 1], (size_t)(3 - i), NULL);
        amount_t xa, xb;
        assert_int_equal(state_balance_get(&v, &a, &xa), WEFT_OK);
        assert_int_equal(state_balance_get(&v, &b, &xb), WEFT_OK);
        assert_true(xa.nano == 60 && xb.nano == 40);
        state_view_free(&v);
    }
    for (int i = 0; i < 4; i++)
        state_diff_free(hist[i]);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_final_close(f);
    state_memkv_free(mk);
}

/* ---- record checks -----------------------------------------------------------------------------
 */

static void test_record_checks(void **state)
{
    (void)state;
    uint8_t addr[34] = {0};
    uint8_t ck[43] = {0};
    memcpy(ck + 9, addr, 34);
    assert_int_equal(state_record_check(STATE_T_BALANCE, addr, 34, (const uint8_t *)"\x05", 1),
                     WEFT_OK);
    assert_int_equal(state_record_check(STATE_T_BALANCE, addr, 34, (const uint8_t *)"\x05\x00", 2),
                     WEFT_E_STATE_RECORD); /* trailing byte */
    assert_int_equal(state_record_check(STATE_T_BALANCE, addr, 34, (const uint8_t *)"\x80\x00", 2),
                     WEFT_E_STATE_RECORD); /* overlong varint */
    assert_int_equal(state_record_check(STATE_T_BALANCE, addr, 33, (const uint8_t *)"\x05", 1),
                     WEFT_E_STATE_RECORD);
    addr[0] = 2; /* unknown address kind */
    assert_int_equal(state_record_check(STATE_T_BALANCE, addr, 34, (const uint8_t *)"\x05", 1),
                     WEFT_E_STATE_RECORD);
    addr[0] = 1;
    addr[1] = 1; /* address version 1 */
    assert_int_equal(state_record_check(STATE_T_ROLLS, addr, 34, (const uint8_t *)"\x05", 1),
                     WEFT_E_STATE_RECORD);
    addr[1] = 0;
    assert_int_equal(state_record_check(STATE_T_ROLLS, addr, 34, (const uint8_t *)"\x00", 1),
                     WEFT_E_STATE_RECORD); /* zero rolls are not stored */
    assert_int_equal(state_record_check(STATE_T_BYTECODE, addr, 34, NULL, 0), WEFT_E_STATE_RECORD);
    assert_int_equal(state_record_check(STATE_T_CREDITS, ck, 43, (const uint8_t *)"\x01", 1),
                     WEFT_OK);
    ck[8] = MODEL_MAX_THREADS;
    assert_int_equal(state_record_check(STATE_T_CREDITS, ck, 43, (const uint8_t *)"\x01", 1),
                     WEFT_E_STATE_RECORD);
    uint8_t c8[8] = {0};
    assert_int_equal(state_record_check(STATE_T_CYCLES, c8, 8, (const uint8_t *)"\x03\xa0", 2),
                     WEFT_OK);
    assert_int_equal(state_record_check(STATE_T_CYCLES, c8, 8, (const uint8_t *)"\x03\xb0", 2),
                     WEFT_E_STATE_RECORD); /* padding bit set */
    assert_int_equal(state_record_check(STATE_T_CYCLES, c8, 8, (const uint8_t *)"\x09\xff", 2),
                     WEFT_E_STATE_RECORD); /* truncated */
    assert_int_equal(state_record_check(STATE_T_OPS, c8, 8, (const uint8_t *)"\x01\x01", 2),
                     WEFT_E_STATE_RECORD); /* id is 32 bytes */
    uint8_t id[32] = {0};
    assert_int_equal(state_record_check(STATE_T_OPS, id, 32, (const uint8_t *)"\x01\x01", 2),
                     WEFT_OK);
    assert_int_equal(state_record_check(STATE_T_OPS, id, 32, (const uint8_t *)"\x01\x02", 2),
                     WEFT_E_STATE_RECORD); /* success flag 2 */
    assert_int_equal(state_record_check(STATE_T_META, (const uint8_t *)"cursor", 6,
                                        (const uint8_t *)"\x05\x01", 2),
                     WEFT_OK);
    assert_int_equal(state_record_check(STATE_T_META, (const uint8_t *)"other", 5,
                                        (const uint8_t *)"\x05\x01", 2),
                     WEFT_E_STATE_RECORD);
    assert_int_equal(state_record_check(STATE_T_COUNT, id, 1, NULL, 0), WEFT_E_INVAL);
    for (unsigned t = 0; t < STATE_T_COUNT; t++)
        assert_non_null(state_table_name((state_table)t));
    assert_null(state_table_name(STATE_T_COUNT));
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_against_model),
        cmocka_unit_test(test_diff_bloom_growth),
        cmocka_unit_test(test_memkv_transactions),
        cmocka_unit_test(test_view_against_model),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_final_rules),
        cmocka_unit_test(test_kept_fingerprints),
        cmocka_unit_test(test_cycle_bookkeeping_and_lookback),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_speculative_history),
        cmocka_unit_test(test_record_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
