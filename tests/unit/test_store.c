/* Unit tests of src/store: the LMDB kv against the in-memory kv (seeded random transactions in
 * lockstep), poisoning after a real LMDB failure, map growth with transparent replay and the
 * growth limit, a reopened store giving the same fingerprint as an in-memory run of the same
 * history, injected write failures at every write of a finalization (nothing partial), and a real
 * crash (a forked child exiting) before every write of a finalization: reopening always finds the
 * old or the new final state, never a mix (the kept fingerprints of the last slots included);
 * snapshots (a final state as it was, read-only, ended by
 * a map growth or the store's close); batches of slots in one transaction (the same result as
 * one by one, aborts and failed writes back to the batch's start, a crash at every write). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "state/state.h"
#include "store/store.h"
#include "testutil.h"

/* ---- temporary environments --------------------------------------------------------------------
 */

static void tmpdir_make(char out[64])
{
    snprintf(out, 64, "/tmp/weft-store-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static store_t *open_store(const char *dir, size_t map, size_t max, bool no_sync)
{
    store_options o = {.dir = dir, .map_size = map, .map_size_max = max, .no_sync = no_sync};
    store_t *s;
    assert_int_equal(store_open(&s, &o), WEFT_OK);
    return s;
}

/* ---- the kv against the in-memory kv -----------------------------------------------------------
 */

typedef struct dump {
    uint8_t buf[1 << 16];
    size_t len;
} dump;

static bool dump_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    dump *d = ctx;
    assert_true(d->len + klen + vlen + 2 <= sizeof d->buf);
    d->buf[d->len++] = (uint8_t)klen;
    memcpy(d->buf + d->len, key, klen);
    d->len += klen;
    d->buf[d->len++] = (uint8_t)vlen;
    memcpy(d->buf + d->len, val, vlen);
    d->len += vlen;
    return true;
}

static void assert_same_scan(state_kv_t a, state_kv_t b, state_table t, const uint8_t *from,
                             size_t flen, const uint8_t *to, size_t tlen)
{
    static dump da, db;
    da.len = db.len = 0;
    assert_int_equal(a.vt->scan(a.self, t, from, flen, to, tlen, dump_cb, &da), WEFT_OK);
    assert_int_equal(b.vt->scan(b.self, t, from, flen, to, tlen, dump_cb, &db), WEFT_OK);
    assert_int_equal(da.len, db.len);
    assert_memory_equal(da.buf, db.buf, da.len);
}

static void rand_key(test_rng *r, uint8_t *k, size_t *klen)
{
    *klen = 1 + test_rng_below(r, 4);
    for (size_t i = 0; i < *klen; i++)
        k[i] = (uint8_t)(test_rng_below(r, 3) * 0x7f); /* 00, 7f, fe: prefixes and order */
}

static void test_kv_against_memkv(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed());
    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, true);
    state_memkv_t *m;
    assert_int_equal(state_memkv_new(&m), WEFT_OK);
    state_kv_t a = store_kv(s), b = state_memkv_kv(m);
    wr_t wa, wb;
    wr_init(&wa);
    wr_init(&wb);
    for (int txn = 0; txn < 60; txn++) {
        assert_int_equal(a.vt->begin(a.self), WEFT_OK);
        assert_int_equal(b.vt->begin(b.self), WEFT_OK);
        int ops = (int)test_rng_below(&r, 30);
        for (int i = 0; i < ops; i++) {
            state_table t = (state_table)(1 + test_rng_below(&r, 2));
            uint8_t k[4], v[8];
            size_t klen, vlen = test_rng_below(&r, 8);
            rand_key(&r, k, &klen);
            test_rng_bytes(&r, v, vlen);
            switch (test_rng_below(&r, 3)) {
            case 0:
                assert_int_equal(a.vt->put(a.self, t, k, klen, v, vlen), WEFT_OK);
                assert_int_equal(b.vt->put(b.self, t, k, klen, v, vlen), WEFT_OK);
                break;
            case 1:
                assert_int_equal(a.vt->del(a.self, t, k, klen), WEFT_OK);
                assert_int_equal(b.vt->del(b.self, t, k, klen), WEFT_OK);
                break;
            default: {
                weft_err ea = a.vt->get(a.self, t, k, klen, &wa);
                weft_err eb = b.vt->get(b.self, t, k, klen, &wb);
                assert_int_equal(ea, eb);
                if (ea == WEFT_OK) {
                    assert_int_equal(wa.len, wb.len);
                    if (wa.len)
                        assert_memory_equal(wa.buf, wb.buf, wa.len);
                }
            }
            }
        }
        /* reads inside the transaction see its writes, in both */
        uint8_t from[4], to[4];
        size_t flen, tlen;
        rand_key(&r, from, &flen);
        rand_key(&r, to, &tlen);
        assert_same_scan(a, b, STATE_T_BYTECODE, from, flen, to, tlen);
        if (test_rng_below(&r, 3) == 0) {
            a.vt->abort(a.self);
            b.vt->abort(b.self);
        } else {
            assert_int_equal(a.vt->commit(a.self), WEFT_OK);
            assert_int_equal(b.vt->commit(b.self), WEFT_OK);
        }
        for (unsigned t = 0; t < STATE_T_COUNT; t++)
            assert_same_scan(a, b, (state_table)t, NULL, 0, NULL, 0);
        assert_same_scan(a, b, STATE_T_DATASTORE, from, flen, NULL, 0);
    }
    wr_free(&wa);
    wr_free(&wb);
    state_memkv_free(m);
    store_close(s);
    tmpdir_remove(dir);
}

static void test_poison_after_lmdb_failure(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, true);
    state_kv_t kv = store_kv(s);
    wr_t w;
    wr_init(&w);
    static uint8_t big[600];
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, NULL, 0),
                     WEFT_E_STATE);
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->begin(kv.self), WEFT_E_STATE);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, (const uint8_t *)"1", 1),
        WEFT_OK);
    /* LMDB refuses a 600-byte key: the transaction is poisoned */
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, big, sizeof big, NULL, 0), WEFT_E_LIMIT);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"b", 1, NULL, 0),
                     WEFT_E_STORE_POISONED);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, &w),
                     WEFT_E_STORE_POISONED);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_E_STORE_POISONED);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, &w),
                     WEFT_E_NOT_FOUND);
    /* an empty key is refused as well */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_ROLLS, big, 0, NULL, 0), WEFT_E_LIMIT);
    kv.vt->abort(kv.self);
    /* and the store goes on */
    assert_int_equal(kv.vt->begin(kv.self), WEFT_OK);
    assert_int_equal(
        kv.vt->put(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, (const uint8_t *)"2", 1),
        WEFT_OK);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_OK);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_ROLLS, (const uint8_t *)"a", 1, &w), WEFT_OK);
    assert_true(w.len == 1 && w.buf[0] == '2');
    assert_int_equal(kv.vt->commit(kv.self), WEFT_E_STATE);
    wr_free(&w);
    store_close(s);
    tmpdir_remove(dir);
}

/* ---- a deterministic history -------------------------------------------------------------------
 */

static address_t addr_n(unsigned n)
{
    address_t a;
    memset(&a, 0, sizeof a);
    a.hash.b[0] = (uint8_t)(n * 29);
    a.hash.b[31] = (uint8_t)n;
    return a;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void small_params(model_params *p)
{
    model_params_default(p);
    p->thread_count = 2;
    p->periods_per_cycle = 2;
    p->endorsement_count = 2;
}

static void genesis(state_final_t *f)
{
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);
    for (unsigned i = 0; i < 8; i++) {
        address_t a = addr_n(i);
        assert_int_equal(state_balance_set(&v, &a, amount_from_nano(1000)), WEFT_OK);
        assert_int_equal(state_rolls_set(&v, &a, 1), WEFT_OK);
    }
    state_view_free(&v);
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    state_diff_free(d);
}

static void ignore_credit(void *ctx, const address_t *a, amount_t amount)
{
    (void)a;
    *(uint64_t *)ctx += amount.nano;
}

/* The changes of one slot, a function of the slot and the final state only.  Returns an error
 * instead of asserting so that a forked child can use it. */
static weft_err slot_diff(state_final_t *f, slot_t s, state_diff_t *d)
{
    uint64_t x = mix(s.period * 64 + s.thread);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);
    address_t from = addr_n(x % 8), to = addr_n((x >> 3) % 8), ds = addr_n((x >> 9) % 8);
    amount_t bf, bt;
    uint64_t amount = (x >> 6) % 50, credited = 0;
    weft_err err = state_ops_prune(&v, s.period);
    if (!err)
        err = state_balance_get(&v, &from, &bf);
    if (!err)
        err = state_balance_get(&v, &to, &bt);
    if (!err && bf.nano >= amount && !address_eq(&from, &to)) {
        err = state_balance_set(&v, &from, amount_from_nano(bf.nano - amount));
        if (!err)
            err = state_balance_set(&v, &to, amount_from_nano(bt.nano + amount));
    }
    uint8_t key[2] = {'k', (uint8_t)('0' + (x >> 12) % 4)}, val[9];
    val[0] = s.thread;
    memcpy(val + 1, &s.period, 8);
    if (!err)
        err = (x % 5 == 0) ? state_ds_del(&v, &ds, key, 2) : state_ds_set(&v, &ds, key, 2, val, 9);
    if (!err) {
        address_t st = addr_n((x >> 14) % 8);
        err = state_rolls_set(&v, &st, (x >> 17) % 4);
    }
    if (!err) {
        address_t c = addr_n((x >> 20) % 8);
        err = state_credit_add(&v, (slot_t){s.period + 3, s.thread}, &c, amount_from_nano(7));
    }
    if (!err)
        err = state_credits_take(&v, s, ignore_credit, &credited);
    op_id_t id;
    crypto_blake3(id.h.b, &x, sizeof x);
    if (!err)
        err = state_op_mark(&v, &id, s.period + 2, x % 7 != 0);
    block_id_t b;
    memcpy(b.h.b, id.h.b, 32);
    if (!err)
        err = state_slot_record(&v, s, x % 3 ? &b : NULL, &from);
    state_view_free(&v);
    return err;
}

/* Finalizes every slot before `end`. */
static void run_until(state_final_t *f, const model_params *p, slot_t end)
{
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    slot_t s;
    assert_int_equal(state_final_next_slot(f, &s), WEFT_OK);
    for (; slot_cmp(s, end) < 0; assert_int_equal(slot_next(p, &s, s), WEFT_OK)) {
        assert_int_equal(slot_diff(f, s, d), WEFT_OK);
        assert_int_equal(state_final_apply(f, s, d), WEFT_OK);
        state_diff_clear(d);
    }
    state_diff_free(d);
}

static void test_reopen_same_fingerprint(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    const slot_t end = {20, 1}; /* 10 cycles: bookkeeping, pruning */
    /* the reference: the same history in memory */
    state_memkv_t *m;
    assert_int_equal(state_memkv_new(&m), WEFT_OK);
    state_final_t *ref;
    assert_int_equal(state_final_open(&ref, &p, state_memkv_kv(m)), WEFT_OK);
    genesis(ref);
    run_until(ref, &p, end);
    uint8_t want[STATE_FP_LEN], got[STATE_FP_LEN];
    state_final_fingerprint(ref, want);

    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, false); /* synced commits */
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    genesis(f);
    run_until(f, &p, (slot_t){9, 0});
    state_final_close(f);
    store_close(s);
    /* reopen midway, go on */
    s = open_store(dir, 0, 0, false);
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    slot_t cur;
    assert_true(state_final_cursor(f, &cur) && cur.period == 8 && cur.thread == 1);
    run_until(f, &p, end);
    state_final_fingerprint(f, got);
    assert_memory_equal(got, want, STATE_FP_LEN);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_final_close(f);
    store_close(s);
    /* and once more: the same fingerprint, cursor, and records */
    s = open_store(dir, 0, 0, false);
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    state_final_fingerprint(f, got);
    assert_memory_equal(got, want, STATE_FP_LEN);
    assert_true(state_final_cursor(f, &cur) && cur.period == 20 && cur.thread == 0);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    for (unsigned t = 0; t < STATE_T_COUNT; t++)
        assert_same_scan(store_kv(s), state_memkv_kv(m), (state_table)t, NULL, 0, NULL, 0);
    hash32_t h;
    state_view_t v;
    state_view_init(&v, f, NULL, 0, NULL);
    assert_int_equal(state_hash_snapshot(&v, 9, &h), WEFT_OK);
    assert_int_equal(state_hash_snapshot(&v, 4, &h), WEFT_E_NOT_FOUND); /* pruned */
    state_view_free(&v);
    state_final_close(f);
    store_close(s);
    state_final_close(ref);
    state_memkv_free(m);
    tmpdir_remove(dir);
}

/* ---- map growth --------------------------------------------------------------------------------
 */

static void big_slot(state_final_t *f, slot_t s, state_diff_t *d, size_t bytes)
{
    static uint8_t code[200000];
    memset(code, (int)(s.period + 1), sizeof code);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, d);
    address_t a = addr_n(100 + (unsigned)s.period * 2 + s.thread);
    a.kind = ADDRESS_SC;
    assert_true(bytes <= sizeof code);
    assert_int_equal(state_balance_set(&v, &a, amount_from_nano(1)), WEFT_OK);
    assert_int_equal(state_bytecode_set(&v, &a, code, bytes), WEFT_OK);
    state_view_free(&v);
}

static void test_map_growth(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    p.periods_per_cycle = 1000;
    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 256 << 10, 64 << 20, true);
    size_t start = store_map_size(s);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    /* 24 slots of 150 kB bytecode: 3.6 MB through a 256 kB map */
    for (slot_t sl = {0, 0}; sl.period < 12; assert_int_equal(slot_next(&p, &sl, sl), WEFT_OK)) {
        big_slot(f, sl, d, 150000);
        assert_int_equal(state_final_apply(f, sl, d), WEFT_OK);
        state_diff_clear(d);
    }
    assert_true(store_map_size(s) > start && store_map_size(s) >= (4u << 20));
    assert_int_equal(state_final_verify(f), WEFT_OK);
    uint8_t fp[STATE_FP_LEN], fp2[STATE_FP_LEN];
    state_final_fingerprint(f, fp);
    state_final_close(f);
    store_close(s);
    /* reopening with a smaller initial size keeps the grown map */
    s = open_store(dir, 256 << 10, 64 << 20, true);
    assert_true(store_map_size(s) >= (4u << 20));
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    state_final_fingerprint(f, fp2);
    assert_memory_equal(fp, fp2, STATE_FP_LEN);
    state_view_t v;
    state_view_init(&v, f, NULL, 0, NULL);
    address_t a = addr_n(100 + 5 * 2 + 1);
    a.kind = ADDRESS_SC;
    const uint8_t *code;
    size_t len;
    assert_int_equal(state_bytecode_get(&v, &a, &code, &len), WEFT_OK);
    assert_true(len == 150000 && code[0] == 6 && code[len - 1] == 6);
    state_view_free(&v);
    state_final_close(f);
    store_close(s);
    tmpdir_remove(dir);

    /* past the limit: the slot fails as a whole and the store goes on */
    tmpdir_make(dir);
    s = open_store(dir, 256 << 10, 512 << 10, true);
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    assert_int_equal(state_final_genesis(f, d), WEFT_OK);
    big_slot(f, (slot_t){0, 0}, d, 100000);
    assert_int_equal(state_final_apply(f, (slot_t){0, 0}, d), WEFT_OK);
    state_diff_clear(d);
    state_final_fingerprint(f, fp);
    for (unsigned i = 0; i < 6; i++) { /* 6 × 200 kB more in one slot: does not fit */
        state_diff_t *e;
        assert_int_equal(state_diff_new(&e), WEFT_OK);
        big_slot(f, (slot_t){1 + i, 0}, e, 200000);
        state_diff_absorb(d, e);
        state_diff_free(e);
    }
    assert_int_equal(state_final_apply(f, (slot_t){0, 1}, d), WEFT_E_STORE_MAP_FULL);
    assert_true(store_map_size(s) == (512u << 10));
    state_final_fingerprint(f, fp2);
    assert_memory_equal(fp, fp2, STATE_FP_LEN);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_diff_clear(d);
    big_slot(f, (slot_t){0, 1}, d, 1000);
    assert_int_equal(state_final_apply(f, (slot_t){0, 1}, d), WEFT_OK);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_diff_free(d);
    state_final_close(f);
    store_close(s);
    tmpdir_remove(dir);
}

/* ---- faults ------------------------------------------------------------------------------------
 */

/* T = 2, P = 2: slot (11, 1) ends cycle 5 — roll snapshot, pruning of cycle 0, hash snapshot. */
/* A snapshot keeps the final state as it was (fingerprint, cursor, records) while the store's
 * writes go on; it refuses writes; a map growth or the store's close ends it. */
static void test_snapshots(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 2 << 20, 64 << 20, true);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    genesis(f);
    run_until(f, &p, (slot_t){6, 0});
    uint8_t fp[STATE_FP_LEN];
    state_final_fingerprint(f, fp);
    store_snap_t *sn, *sn2;
    assert_int_equal(store_snapshot_open(s, &sn), WEFT_OK);
    state_kv_t kv = store_snapshot_kv(sn);
    run_until(f, &p, (slot_t){9, 1}); /* the store moves on */
    uint8_t fp_now[STATE_FP_LEN];
    state_final_fingerprint(f, fp_now);
    assert_memory_not_equal(fp, fp_now, STATE_FP_LEN);
    /* a final state over the snapshot: the old cursor and fingerprint, and its records match */
    state_final_t *old;
    assert_int_equal(state_final_open(&old, &p, kv), WEFT_OK);
    slot_t c;
    assert_true(state_final_cursor(old, &c));
    assert_int_equal(slot_cmp(c, (slot_t){5, 1}), 0);
    uint8_t fp_old[STATE_FP_LEN];
    state_final_fingerprint(old, fp_old);
    assert_memory_equal(fp_old, fp, STATE_FP_LEN);
    assert_int_equal(state_final_verify(old), WEFT_OK);
    /* read-only */
    uint8_t k[1] = {1};
    assert_int_equal(kv.vt->begin(kv.self), WEFT_E_STATE);
    assert_int_equal(kv.vt->put(kv.self, STATE_T_BALANCE, k, 1, k, 1), WEFT_E_STATE);
    assert_int_equal(kv.vt->del(kv.self, STATE_T_BALANCE, k, 1), WEFT_E_STATE);
    assert_int_equal(kv.vt->commit(kv.self), WEFT_E_STATE);
    kv.vt->abort(kv.self);
    /* a second snapshot sees the new state */
    assert_int_equal(store_snapshot_open(s, &sn2), WEFT_OK);
    state_final_t *cur;
    assert_int_equal(state_final_open(&cur, &p, store_snapshot_kv(sn2)), WEFT_OK);
    state_final_fingerprint(cur, fp_old);
    assert_memory_equal(fp_old, fp_now, STATE_FP_LEN);
    state_final_close(cur);
    store_snapshot_close(sn2);
    /* a map growth ends it */
    assert_true(store_snapshot_live(sn));
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    slot_t sl;
    assert_int_equal(state_final_next_slot(f, &sl), WEFT_OK);
    size_t map = store_map_size(s);
    for (int i = 0; i < 20; i++) {
        big_slot(f, sl, d, 150000);
        assert_int_equal(slot_diff(f, sl, d), WEFT_OK);
        assert_int_equal(state_final_apply(f, sl, d), WEFT_OK);
        state_diff_clear(d);
        assert_int_equal(slot_next(&p, &sl, sl), WEFT_OK);
    }
    state_diff_free(d);
    assert_true(store_map_size(s) > map);
    assert_false(store_snapshot_live(sn));
    wr_t w;
    wr_init(&w);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_META, (const uint8_t *)"cursor", 6, &w),
                     WEFT_E_STORE_SNAPSHOT);
    state_final_close(old);
    store_snapshot_close(sn);
    /* the store's close ends those still open; their handles are closed after it */
    assert_int_equal(store_snapshot_open(s, &sn), WEFT_OK);
    kv = store_snapshot_kv(sn);
    assert_int_equal(kv.vt->get(kv.self, STATE_T_META, (const uint8_t *)"cursor", 6, &w), WEFT_OK);
    state_final_close(f);
    store_close(s);
    assert_false(store_snapshot_live(sn));
    assert_int_equal(kv.vt->get(kv.self, STATE_T_META, (const uint8_t *)"cursor", 6, &w),
                     WEFT_E_STORE_SNAPSHOT);
    store_snapshot_close(sn);
    wr_free(&w);
    tmpdir_remove(dir);
}

static const slot_t crash_slot = {11, 1};
#define KEPT                                                                                       \
    4 /* the fingerprints of the last KEPT slots are kept (state_final_keep_fingerprints) */

typedef struct last_kept {
    size_t n;
    slot_t s;
    uint8_t fp[STATE_FP_LEN];
} last_kept;

static bool last_kept_cb(void *ctx, slot_t s, const uint8_t fp[STATE_FP_LEN])
{
    last_kept *k = ctx;
    k->n++;
    k->s = s;
    memcpy(k->fp, fp, STATE_FP_LEN);
    return true;
}

/* The kept fingerprints end at the cursor, with its fingerprint, and there are KEPT of them. */
static void expect_kept_at_cursor(state_final_t *f)
{
    last_kept k = {.n = 0};
    assert_int_equal(state_final_fingerprints(f, last_kept_cb, &k), WEFT_OK);
    slot_t cur;
    uint8_t fp[STATE_FP_LEN];
    assert_true(state_final_cursor(f, &cur));
    state_final_fingerprint(f, fp);
    assert_int_equal(k.n, KEPT);
    assert_int_equal(slot_cmp(k.s, cur), 0);
    assert_memory_equal(k.fp, fp, STATE_FP_LEN);
}

/* The write count of finalizing crash_slot and the fingerprints before and after, from an
 * in-memory run. */
static void reference_run(const model_params *p, uint64_t *writes, uint8_t before[STATE_FP_LEN],
                          uint8_t after[STATE_FP_LEN])
{
    state_memkv_t *m;
    assert_int_equal(state_memkv_new(&m), WEFT_OK);
    store_fault_t fw;
    store_fault_init(&fw, state_memkv_kv(m));
    state_final_t *f;
    assert_int_equal(state_final_open(&f, p, store_fault_kv(&fw)), WEFT_OK);
    assert_int_equal(state_final_keep_fingerprints(f, KEPT), WEFT_OK);
    genesis(f);
    run_until(f, p, crash_slot);
    state_final_fingerprint(f, before);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    assert_int_equal(slot_diff(f, crash_slot, d), WEFT_OK);
    fw.writes = 0;
    assert_int_equal(state_final_apply(f, crash_slot, d), WEFT_OK);
    *writes = fw.writes;
    state_final_fingerprint(f, after);
    state_diff_free(d);
    state_final_close(f);
    state_memkv_free(m);
}

static void test_failed_write_at_every_step(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    uint64_t writes;
    uint8_t before[STATE_FP_LEN], after[STATE_FP_LEN], fp[STATE_FP_LEN];
    reference_run(&p, &writes, before, after);
    assert_true(writes > 15); /* diff records + bookkeeping + meta + commit */

    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, true);
    store_fault_t fw;
    store_fault_init(&fw, store_kv(s));
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_fault_kv(&fw)), WEFT_OK);
    assert_int_equal(state_final_keep_fingerprints(f, KEPT), WEFT_OK);
    genesis(f);
    run_until(f, &p, crash_slot);
    state_final_fingerprint(f, fp);
    assert_memory_equal(fp, before, STATE_FP_LEN);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    assert_int_equal(slot_diff(f, crash_slot, d), WEFT_OK);
    for (uint64_t n = 1; n <= writes; n++) {
        fw.writes = 0;
        fw.fail_at = n;
        assert_int_equal(state_final_apply(f, crash_slot, d), WEFT_E_STORE_FAULT);
        state_final_fingerprint(f, fp);
        assert_memory_equal(fp, before, STATE_FP_LEN);
        slot_t cur;
        assert_true(state_final_cursor(f, &cur) && cur.period == 11 && cur.thread == 0);
        fw.fail_at = 0;
        assert_int_equal(state_final_verify(f), WEFT_OK); /* storage holds exactly the old state */
        expect_kept_at_cursor(f);
    }
    /* an in-process crash in the middle: the transaction is gone, everything fails after it */
    fw.writes = 0;
    fw.crash_at = writes / 2;
    assert_int_equal(state_final_apply(f, crash_slot, d), WEFT_E_STORE_CRASHED);
    assert_true(fw.crashed);
    state_final_close(f);
    store_close(s);
    s = open_store(dir, 0, 0, true);
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    state_final_fingerprint(f, fp);
    assert_memory_equal(fp, before, STATE_FP_LEN);
    /* and without faults the slot finalizes to the reference state */
    assert_int_equal(state_final_apply(f, crash_slot, d), WEFT_OK);
    state_final_fingerprint(f, fp);
    assert_memory_equal(fp, after, STATE_FP_LEN);
    assert_int_equal(state_final_verify(f), WEFT_OK);
    state_diff_free(d);
    state_final_close(f);
    store_close(s);
    tmpdir_remove(dir);
}

static void crash_now(void *ctx)
{
    (void)ctx;
    _exit(0); /* a process death: no abort, no commit, no cleanup */
}

/* In a forked child: open the store, finalize crash_slot, crash before write n.  Exit codes: 0
 * crashed, 3 finished without crashing, 2 unexpected error. */
static void child_finalize(const char *dir, const model_params *p, uint64_t n)
{
    store_options o = {.dir = dir, .no_sync = true};
    store_t *s;
    state_final_t *f;
    state_diff_t *d;
    if (store_open(&s, &o) || state_diff_new(&d))
        _exit(2);
    store_fault_t fw;
    store_fault_init(&fw, store_kv(s));
    fw.crash_at = n;
    fw.crash = crash_now;
    if (state_final_open(&f, p, store_fault_kv(&fw)) || state_final_keep_fingerprints(f, KEPT) ||
        slot_diff(f, crash_slot, d))
        _exit(2);
    fw.writes = 0;
    weft_err err = state_final_apply(f, crash_slot, d);
    _exit(err == WEFT_OK ? 3 : 2);
}

static void test_crash_at_every_write(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    uint64_t writes;
    uint8_t before[STATE_FP_LEN], after[STATE_FP_LEN], fp[STATE_FP_LEN];
    reference_run(&p, &writes, before, after);

    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, true);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    assert_int_equal(state_final_keep_fingerprints(f, KEPT), WEFT_OK);
    genesis(f);
    run_until(f, &p, crash_slot);
    state_final_close(f);
    store_close(s);

    int saw_old = 0, saw_new = 0;
    for (uint64_t n = 1; n <= writes + 1; n++) { /* n = writes + 1: no crash at all */
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_finalize(dir, &p, n);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), n <= writes ? 0 : 3);

        s = open_store(dir, 0, 0, true);
        assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
        assert_int_equal(state_final_verify(f), WEFT_OK); /* records match the stored fingerprint */
        expect_kept_at_cursor(f); /* the kept fingerprints went with the slot, or not at all */
        state_final_fingerprint(f, fp);
        slot_t cur;
        assert_true(state_final_cursor(f, &cur));
        if (memcmp(fp, before, STATE_FP_LEN) == 0) {
            saw_old++;
            assert_true(cur.period == 11 && cur.thread == 0);
        } else {
            assert_memory_equal(fp, after, STATE_FP_LEN); /* the old or the new, nothing else */
            saw_new++;
            assert_true(cur.period == 11 && cur.thread == 1);
        }
        state_final_close(f);
        store_close(s);
    }
    print_message("crash points: %d (old state %d times, new state %d)\n", (int)writes + 1, saw_old,
                  saw_new);
    /* a crash before the commit call leaves the old state; only a completed commit the new */
    assert_int_equal(saw_old, (int)writes);
    assert_int_equal(saw_new, 1);
    tmpdir_remove(dir);
}

/* ---- batches: several slots in one transaction -------------------------------------------------
 */

#define BATCH_END_PERIOD 20 /* slots (0, 0) … (19, 1): 10 cycles of T = 2, P = 2 */
#define BATCH_SLOTS (2 * BATCH_END_PERIOD)

/* The reference: every slot finalized alone in memory; fp[i] after slot i (fp[-1]: genesis). */
typedef struct ref_run {
    state_memkv_t *m;
    state_final_t *f;
    uint8_t fp[BATCH_SLOTS + 1][STATE_FP_LEN]; /* [0]: genesis, [i + 1]: after slot index i */
} ref_run;

static void ref_run_make(ref_run *r, const model_params *p)
{
    assert_int_equal(state_memkv_new(&r->m), WEFT_OK);
    assert_int_equal(state_final_open(&r->f, p, state_memkv_kv(r->m)), WEFT_OK);
    genesis(r->f);
    state_final_fingerprint(r->f, r->fp[0]);
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    slot_t s = {0, 0};
    for (size_t i = 0; i < BATCH_SLOTS; i++, assert_int_equal(slot_next(p, &s, s), WEFT_OK)) {
        assert_int_equal(slot_diff(r->f, s, d), WEFT_OK);
        assert_int_equal(state_final_apply(r->f, s, d), WEFT_OK);
        state_diff_clear(d);
        state_final_fingerprint(r->f, r->fp[i + 1]);
    }
    state_diff_free(d);
}

static void ref_run_free(ref_run *r)
{
    state_final_close(r->f);
    state_memkv_free(r->m);
}

static size_t slot_ix(slot_t s) { return (size_t)(s.period * 2 + s.thread); }

/* Finalizes `count` slots from the next one in one batch, checking along the way that the
 * in-memory cursor and fingerprint advance with each apply; returns the commit's result. */
static weft_err run_batch(state_final_t *f, const model_params *p, size_t count, const ref_run *r)
{
    state_diff_t *d;
    assert_int_equal(state_diff_new(&d), WEFT_OK);
    slot_t s;
    assert_int_equal(state_final_next_slot(f, &s), WEFT_OK);
    assert_int_equal(state_final_batch_begin(f), WEFT_OK);
    assert_true(state_final_in_batch(f));
    uint8_t fp[STATE_FP_LEN];
    for (size_t i = 0; i < count; i++, assert_int_equal(slot_next(p, &s, s), WEFT_OK)) {
        /* the slot's changes read the final state: they see the batch's earlier slots */
        assert_int_equal(slot_diff(f, s, d), WEFT_OK);
        assert_int_equal(state_final_apply(f, s, d), WEFT_OK);
        state_diff_clear(d);
        slot_t c;
        assert_true(state_final_cursor(f, &c) && slot_cmp(c, s) == 0);
        state_final_fingerprint(f, fp);
        assert_memory_equal(fp, r->fp[slot_ix(s) + 1], STATE_FP_LEN);
    }
    state_diff_free(d);
    assert_true(state_final_in_batch(f));
    weft_err err = state_final_batch_commit(f);
    assert_false(state_final_in_batch(f));
    return err;
}

static void assert_at(state_final_t *f, const ref_run *r, size_t done)
{
    uint8_t fp[STATE_FP_LEN];
    state_final_fingerprint(f, fp);
    assert_memory_equal(fp, r->fp[done], STATE_FP_LEN);
    slot_t c;
    if (done == 0)
        assert_false(state_final_cursor(f, &c));
    else
        assert_true(state_final_cursor(f, &c) && slot_ix(c) == done - 1);
    assert_int_equal(state_final_verify(f), WEFT_OK); /* the stored records are the same */
}

/* The two backends of the batch tests: 0 the in-memory kv (*m), 1 an LMDB store in a new
 * temporary directory dir (*st). */
static state_kv_t backend_open(int backend, char *dir, state_memkv_t **m, store_t **st)
{
    *m = NULL;
    *st = NULL;
    if (backend == 0) {
        assert_int_equal(state_memkv_new(m), WEFT_OK);
        return state_memkv_kv(*m);
    }
    tmpdir_make(dir);
    *st = open_store(dir, 0, 0, true);
    return store_kv(*st);
}

/* For the LMDB backend (st not NULL): closes the store, reopens it, checks that the final state
 * is the one after `done` slots (durable), then removes it. */
static void backend_reopen_check(store_t *st, const char *dir, const model_params *p,
                                 const ref_run *r, size_t done)
{
    if (!st)
        return;
    store_close(st);
    st = open_store(dir, 0, 0, true);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, p, store_kv(st)), WEFT_OK);
    assert_at(f, r, done);
    state_final_close(f);
    store_close(st);
    tmpdir_remove(dir);
}

/* Batches of 1 to 9 slots, across cycle ends (every 4 slots), give the same fingerprints, cursors
 * and records as the slots one by one — in memory and in LMDB (reopened: durable); an LMDB
 * snapshot taken during a batch sees the state before it. */
static void test_batch_same_as_one_by_one(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    ref_run r;
    ref_run_make(&r, &p);
    static const size_t sizes[] = {1, 3, 9, 2, 4, 5, 7, 1, 8};
    for (int backend = 0; backend < 2; backend++) {
        char dir[64];
        state_memkv_t *m;
        store_t *st;
        state_kv_t kv = backend_open(backend, dir, &m, &st);
        state_final_t *f;
        assert_int_equal(state_final_open(&f, &p, kv), WEFT_OK);
        assert_int_equal(state_final_batch_begin(f), WEFT_E_STATE); /* no genesis */
        genesis(f);
        size_t done = 0;
        for (size_t i = 0; done < BATCH_SLOTS; i++) {
            size_t n = sizes[i % WEFT_ARRAY_LEN(sizes)];
            if (n > BATCH_SLOTS - done)
                n = BATCH_SLOTS - done;
            store_snap_t *sn = NULL;
            if (st && i == 3) { /* a snapshot in the middle of a batch: see below */
                assert_int_equal(state_final_batch_begin(f), WEFT_OK);
                assert_int_equal(state_final_batch_begin(f), WEFT_E_STATE); /* one at a time */
                state_diff_t *d;
                assert_int_equal(state_diff_new(&d), WEFT_OK);
                slot_t s;
                assert_int_equal(state_final_next_slot(f, &s), WEFT_OK);
                assert_int_equal(slot_diff(f, s, d), WEFT_OK);
                assert_int_equal(state_final_apply(f, s, d), WEFT_OK);
                state_diff_free(d);
                assert_int_equal(store_snapshot_open(st, &sn), WEFT_OK);
                state_final_t *old;
                assert_int_equal(state_final_open(&old, &p, store_snapshot_kv(sn)), WEFT_OK);
                assert_at(old, &r, done); /* committed state only */
                state_final_close(old);
                store_snapshot_close(sn);
                assert_int_equal(state_final_batch_commit(f), WEFT_OK);
                done++;
                assert_at(f, &r, done);
                continue;
            }
            assert_int_equal(run_batch(f, &p, n, &r), WEFT_OK);
            done += n;
            assert_at(f, &r, done);
        }
        /* an empty batch changes nothing */
        assert_int_equal(state_final_batch_begin(f), WEFT_OK);
        assert_int_equal(state_final_batch_commit(f), WEFT_OK);
        assert_int_equal(state_final_batch_commit(f), WEFT_E_STATE); /* none open */
        assert_at(f, &r, BATCH_SLOTS);
        for (unsigned t = 0; t < STATE_T_COUNT; t++)
            assert_same_scan(kv, state_memkv_kv(r.m), (state_table)t, NULL, 0, NULL, 0);
        state_final_close(f);
        backend_reopen_check(st, dir, &p, &r, BATCH_SLOTS); /* durable: at the last batch */
        state_memkv_free(m);
    }
    ref_run_free(&r);
}

/* Aborts and failures put the final state back at the batch's start (memory and storage) and a
 * following batch works: an abort, a slot out of order, a failed write at every write of a batch
 * of 6 slots across two cycle ends (an apply's or the commit's), in memory and in LMDB. */
static void test_batch_abort_and_failures(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    ref_run r;
    ref_run_make(&r, &p);
    const size_t start = 7, count = 6; /* slots (3, 1) … (6, 0): cycle ends (3, 1) and (5, 1) */
    /* writes of the batch: counted on the reference's backend */
    uint64_t writes;
    {
        state_memkv_t *m;
        assert_int_equal(state_memkv_new(&m), WEFT_OK);
        store_fault_t fw;
        store_fault_init(&fw, state_memkv_kv(m));
        state_final_t *f;
        assert_int_equal(state_final_open(&f, &p, store_fault_kv(&fw)), WEFT_OK);
        genesis(f);
        run_until(f, &p, (slot_t){3, 1});
        fw.writes = 0;
        assert_int_equal(run_batch(f, &p, count, &r), WEFT_OK);
        writes = fw.writes;
        assert_at(f, &r, start + count);
        state_final_close(f);
        state_memkv_free(m);
    }
    assert_true(writes > 6 * 10); /* records, bookkeeping, cursors, one commit */
    for (int backend = 0; backend < 2; backend++) {
        char dir[64];
        state_memkv_t *m;
        store_t *st;
        state_kv_t inner = backend_open(backend, dir, &m, &st);
        store_fault_t fw;
        store_fault_init(&fw, inner);
        state_final_t *f;
        assert_int_equal(state_final_open(&f, &p, store_fault_kv(&fw)), WEFT_OK);
        genesis(f);
        run_until(f, &p, (slot_t){3, 1});
        assert_at(f, &r, start);

        /* an abort */
        state_diff_t *d;
        assert_int_equal(state_diff_new(&d), WEFT_OK);
        assert_int_equal(state_final_batch_begin(f), WEFT_OK);
        slot_t s = {3, 1};
        for (size_t i = 0; i < count; i++, assert_int_equal(slot_next(&p, &s, s), WEFT_OK)) {
            assert_int_equal(slot_diff(f, s, d), WEFT_OK);
            assert_int_equal(state_final_apply(f, s, d), WEFT_OK);
            state_diff_clear(d);
        }
        state_final_batch_abort(f);
        assert_false(state_final_in_batch(f));
        state_final_batch_abort(f); /* none open: nothing */
        assert_at(f, &r, start);
        state_view_t v;
        hash32_t h;
        state_view_init(&v, f, NULL, 0, NULL);
        assert_int_equal(state_hash_snapshot(&v, 1, &h), WEFT_E_NOT_FOUND); /* cycle 1's end */
        state_view_free(&v);

        /* a slot out of order ends the batch too */
        assert_int_equal(state_final_batch_begin(f), WEFT_OK);
        assert_int_equal(slot_diff(f, (slot_t){3, 1}, d), WEFT_OK);
        assert_int_equal(state_final_apply(f, (slot_t){3, 1}, d), WEFT_OK);
        assert_int_equal(state_final_apply(f, (slot_t){3, 1}, d), WEFT_E_STATE_SLOT);
        state_diff_clear(d);
        assert_false(state_final_in_batch(f));
        assert_at(f, &r, start);

        /* a failed write at every write of the batch */
        for (uint64_t n = 1; n <= writes; n++) {
            fw.writes = 0;
            fw.fail_at = n;
            assert_int_equal(state_final_batch_begin(f), WEFT_OK);
            weft_err err = WEFT_OK;
            s = (slot_t){3, 1};
            for (size_t i = 0; !err && i < count;
                 i++, assert_int_equal(slot_next(&p, &s, s), WEFT_OK)) {
                assert_int_equal(slot_diff(f, s, d), WEFT_OK);
                err = state_final_apply(f, s, d);
                state_diff_clear(d);
            }
            if (!err)
                err = state_final_batch_commit(f);
            assert_int_equal(err, WEFT_E_STORE_FAULT);
            assert_true(n < writes || fw.writes == writes); /* the last write is the commit */
            assert_false(state_final_in_batch(f));
            fw.fail_at = 0;
            assert_at(f, &r, start);
        }
        /* and then the batch commits */
        fw.writes = 0;
        assert_int_equal(run_batch(f, &p, count, &r), WEFT_OK);
        assert_int_equal(fw.writes, writes);
        assert_at(f, &r, start + count);
        state_diff_free(d);
        state_final_close(f);
        backend_reopen_check(st, dir, &p, &r, start + count);
        state_memkv_free(m);
    }
    ref_run_free(&r);
}

/* In a forked child: finalize slots (3, 1) … (6, 0) in one batch, crash before write n (exit
 * codes as child_finalize). */
static void child_batch(const char *dir, const model_params *p, uint64_t n)
{
    store_options o = {.dir = dir, .no_sync = true};
    store_t *s;
    state_final_t *f;
    state_diff_t *d;
    if (store_open(&s, &o) || state_diff_new(&d))
        _exit(2);
    store_fault_t fw;
    store_fault_init(&fw, store_kv(s));
    fw.crash_at = n;
    fw.crash = crash_now;
    if (state_final_open(&f, p, store_fault_kv(&fw)) || state_final_batch_begin(f))
        _exit(2);
    slot_t sl = {3, 1};
    for (int i = 0; i < 6; i++) {
        if (slot_diff(f, sl, d) || state_final_apply(f, sl, d) || slot_next(p, &sl, sl))
            _exit(2);
        state_diff_clear(d);
    }
    _exit(state_final_batch_commit(f) == WEFT_OK ? 3 : 2);
}

/* A real crash before every write of a batch: reopening finds the batch's start or its end. */
static void test_batch_crash_at_every_write(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    ref_run r;
    ref_run_make(&r, &p);
    char dir[64];
    tmpdir_make(dir);
    store_t *s = open_store(dir, 0, 0, true);
    state_final_t *f;
    assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
    genesis(f);
    run_until(f, &p, (slot_t){3, 1});
    state_final_close(f);
    store_close(s);
    int saw_old = 0, saw_new = 0;
    for (uint64_t n = 1;; n++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_batch(dir, &p, n);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
        s = open_store(dir, 0, 0, true);
        assert_int_equal(state_final_open(&f, &p, store_kv(s)), WEFT_OK);
        slot_t c;
        assert_true(state_final_cursor(f, &c));
        if (slot_ix(c) == 6) {
            assert_at(f, &r, 7);
            saw_old++;
        } else {
            assert_at(f, &r, 13);
            saw_new++;
        }
        state_final_close(f);
        store_close(s);
        if (WEXITSTATUS(status) == 3) /* no crash: every write passed */
            break;
    }
    print_message("batch crash points: %d (start %d times, end %d)\n", saw_old + saw_new - 1,
                  saw_old, saw_new);
    assert_true(saw_old > 60);
    assert_int_equal(saw_new, 1); /* only the completed commit */
    tmpdir_remove(dir);
    ref_run_free(&r);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_against_memkv),
        cmocka_unit_test(test_poison_after_lmdb_failure),
        cmocka_unit_test(test_reopen_same_fingerprint),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_failed_write_at_every_step),
        cmocka_unit_test(test_crash_at_every_write),
        cmocka_unit_test(test_batch_same_as_one_by_one),
        cmocka_unit_test(test_batch_abort_and_failures),
        cmocka_unit_test(test_batch_crash_at_every_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
