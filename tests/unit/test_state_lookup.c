/* Lookups in diffs and through views against a plain reference, over seeded random changes (puts,
 * deletions, absorbs, clears, keys of every length up to 40 bytes in every table): a diff's Bloom
 * filter (state_internal.h) may only skip keys the diff does not hold. */
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "testutil.h"

#define NKEYS 300
#define NLAYERS 6

typedef struct key {
    state_table t;
    uint8_t k[40];
    size_t len;
} key;

/* The reference of one diff: per key, 0 unchanged, 1 set to val, 2 deleted. */
typedef struct ref {
    uint8_t st[NKEYS];
    uint8_t val[NKEYS];
} ref;

static void check_diff(const state_diff_t *d, const ref *r, const key *keys)
{
    for (int i = 0; i < NKEYS; i++) {
        const uint8_t *v = NULL;
        size_t vl = 0;
        state_change c = state_diff_lookup(d, keys[i].t, keys[i].k, keys[i].len, &v, &vl);
        assert_int_equal(c, r->st[i]);
        if (c == STATE_SET) {
            assert_int_equal(vl, 1);
            assert_int_equal(v[0], r->val[i]);
        }
    }
}

static void change(test_rng *rng, state_diff_t *d, ref *r, const key *keys)
{
    int i = (int)test_rng_below(rng, NKEYS);
    if (test_rng_below(rng, 3) == 0) {
        assert_int_equal(state_diff_del(d, keys[i].t, keys[i].k, keys[i].len), WEFT_OK);
        r->st[i] = STATE_DELETED;
    } else {
        uint8_t v = (uint8_t)test_rng_below(rng, 256);
        assert_int_equal(state_diff_put(d, keys[i].t, keys[i].k, keys[i].len, &v, 1), WEFT_OK);
        r->st[i] = STATE_SET;
        r->val[i] = v;
    }
}

static void test_diff_lookups(void **state)
{
    (void)state;
    test_rng rng;
    test_rng_init(&rng, test_seed());
    static key keys[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        bool dup = true;
        while (dup) { /* distinct keys, some of them prefixes of others */
            keys[i].t = (state_table)(1 + test_rng_below(&rng, STATE_T_COUNT - 1));
            keys[i].len = test_rng_below(&rng, 41);
            test_rng_bytes(&rng, keys[i].k, keys[i].len);
            if (i > 0 && keys[i - 1].len > 0 && test_rng_below(&rng, 8) == 0) {
                keys[i] = keys[i - 1];
                keys[i].len--;
            }
            dup = false;
            for (int j = 0; j < i && !dup; j++)
                dup = keys[j].t == keys[i].t && keys[j].len == keys[i].len &&
                      memcmp(keys[j].k, keys[i].k, keys[i].len) == 0;
        }
    }
    state_diff_t *a, *b;
    assert_int_equal(state_diff_new(&a), WEFT_OK);
    assert_int_equal(state_diff_new(&b), WEFT_OK);
    ref ra, rb;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    for (int step = 0; step < 3000; step++) {
        uint64_t what = test_rng_below(&rng, 100);
        if (what < 60) {
            change(&rng, a, &ra, keys);
        } else if (what < 95) {
            change(&rng, b, &rb, keys);
        } else if (what < 98) { /* b's changes on top of a's, b emptied */
            state_diff_absorb(a, b);
            for (int i = 0; i < NKEYS; i++)
                if (rb.st[i]) {
                    ra.st[i] = rb.st[i];
                    ra.val[i] = rb.val[i];
                }
            memset(&rb, 0, sizeof rb);
        } else {
            bool which = test_rng_below(&rng, 2);
            state_diff_clear(which ? a : b);
            memset(which ? &ra : &rb, 0, sizeof ra);
        }
        if (step % 100 == 0 || what >= 95) {
            check_diff(a, &ra, keys);
            check_diff(b, &rb, keys);
        }
    }
    state_diff_free(a);
    state_diff_free(b);
}

/* Reads through a view of several layers and a top diff: the newest change of a key wins, a key
 * no layer changes comes from the final state. */
static void test_view_lookups(void **state)
{
    (void)state;
    test_rng rng;
    test_rng_init(&rng, test_seed() ^ 0x5a5a);
    model_params p;
    model_params_default(&p);
    state_memkv_t *kv;
    state_final_t *f;
    assert_int_equal(state_memkv_new(&kv), WEFT_OK);
    assert_int_equal(state_final_open(&f, &p, state_memkv_kv(kv)), WEFT_OK);
    static key keys[NKEYS];
    for (int i = 0; i < NKEYS; i++) { /* ledger entries: kind ‖ 00 ‖ 32-byte hash */
        keys[i].t = STATE_T_BALANCE;
        keys[i].len = 34;
        keys[i].k[0] = (uint8_t)test_rng_below(&rng, 2);
        keys[i].k[1] = 0;
        test_rng_bytes(&rng, keys[i].k + 2, 32);
    }
    /* the final state: every key with balance 100 */
    state_diff_t *g;
    assert_int_equal(state_diff_new(&g), WEFT_OK);
    uint8_t fv = 100;
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(state_diff_put(g, keys[i].t, keys[i].k, keys[i].len, &fv, 1), WEFT_OK);
    assert_int_equal(state_final_genesis(f, g), WEFT_OK);
    state_diff_free(g);
    state_diff_t *layers[NLAYERS], *top;
    ref r[NLAYERS + 1];
    memset(r, 0, sizeof r);
    for (int l = 0; l < NLAYERS; l++)
        assert_int_equal(state_diff_new(&layers[l]), WEFT_OK);
    assert_int_equal(state_diff_new(&top), WEFT_OK);
    for (int l = 0; l <= NLAYERS; l++)
        for (int k = 0; k < 40; k++)
            change(&rng, l < NLAYERS ? layers[l] : top, &r[l], keys);
    state_view_t v;
    state_view_init(&v, f, (const state_diff_t *const *)layers, NLAYERS, top);
    for (int i = 0; i < NKEYS; i++) {
        int want = 2; /* 0 unchanged everywhere: the final value; 1 set; 2 deleted */
        uint8_t wv = fv;
        int l = NLAYERS;
        while (l >= 0 && r[l].st[i] == 0)
            l--;
        if (l < 0)
            want = 1;
        else if (r[l].st[i] == STATE_SET) {
            want = 1;
            wv = r[l].val[i];
        }
        const uint8_t *val;
        size_t vl;
        weft_err e = state_view_get(&v, keys[i].t, keys[i].k, keys[i].len, &val, &vl);
        if (want == 2) {
            assert_int_equal(e, WEFT_E_NOT_FOUND);
        } else {
            assert_int_equal(e, WEFT_OK);
            assert_int_equal(vl, 1);
            assert_int_equal(val[0], wv);
        }
    }
    state_view_free(&v);
    for (int l = 0; l < NLAYERS; l++)
        state_diff_free(layers[l]);
    state_diff_free(top);
    state_final_close(f);
    state_memkv_free(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_lookups),
        cmocka_unit_test(test_view_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
