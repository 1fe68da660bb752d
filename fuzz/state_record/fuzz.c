/* Fuzz target: final-state records as the store holds them.  Input: table byte ‖ key length byte ‖
 * key ‖ value.  state_record_check must accept or reject without crashing; for an accepted record
 * the oracles are: its value re-encodes to the same bytes, and a final state holding it verifies
 * (decodes every record, recomputes the fingerprint); a kept fingerprint reads back as it was. */
#include "../fuzz_util.h"
#include "state/state.h"
#include "state/state_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const char *what)
{
    if (alen != blen || memcmp(a, b, alen) != 0) {
        fprintf(stderr, "fuzz: %s record re-encoded differently\n", what);
        abort();
    }
}

static void reencode(state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                     size_t vlen)
{
    uint8_t buf[2 * VARINT_MAX_LEN + 1];
    uint64_t a, b;
    bool s;
    const uint8_t *bits;
    size_t n;
    slot_t cur;
    switch (t) {
    case STATE_T_BALANCE:
    case STATE_T_ROLLS:
    case STATE_T_CREDITS:
    case STATE_T_ROLL_SNAP:
        if (state_dec_u64(val, vlen, &a) != WEFT_OK)
            abort();
        same(buf, state_enc_u64(buf, a), val, vlen, "varint");
        break;
    case STATE_T_PROD:
        if (state_dec_prod(val, vlen, &a, &b) != WEFT_OK)
            abort();
        same(buf, state_enc_prod(buf, a, b), val, vlen, "production");
        break;
    case STATE_T_OPS:
        if (state_dec_op(val, vlen, &a, &s) != WEFT_OK)
            abort();
        same(buf, state_enc_op(buf, a, s), val, vlen, "executed op");
        break;
    case STATE_T_CYCLES: {
        if (state_dec_bits(val, vlen, &bits, &n) != WEFT_OK)
            abort();
        wr_t w;
        wr_init(&w);
        state_enc_bits(&w, bits, n);
        same(w.buf, w.len, val, vlen, "seed bits");
        wr_free(&w);
        break;
    }
    case STATE_T_META:
        if (klen == 6 && memcmp(key, "cursor", 6) == 0) {
            if (state_dec_cursor(val, vlen, &cur) != WEFT_OK)
                abort();
            same(buf, state_enc_cursor(buf, cur), val, vlen, "cursor");
        }
        break;
    default:
        break;
    }
}

typedef struct one_fp {
    int n;
    slot_t s;
    uint8_t fp[STATE_FP_LEN];
} one_fp;

static bool one_fp_cb(void *ctx, slot_t s, const uint8_t fp[STATE_FP_LEN])
{
    one_fp *o = ctx;
    o->n++;
    o->s = s;
    memcpy(o->fp, fp, STATE_FP_LEN);
    return true;
}

/* An accepted kept-fingerprint entry (state_final_keep_fingerprints) reads back as the slot its
 * key names, with its value. */
static void kept_fp(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    if (klen != STATE_META_FP_KEY_LEN || memcmp(key, STATE_META_FP_PREFIX, 2) != 0)
        return;
    model_params p;
    fuzz_params(&p);
    state_memkv_t *mk;
    state_final_t *f;
    if (state_memkv_new(&mk) || state_final_open(&f, &p, state_memkv_kv(mk)))
        abort();
    state_kv_t kv = state_memkv_kv(mk);
    one_fp o = {0};
    if (kv.vt->begin(kv.self) || kv.vt->put(kv.self, STATE_T_META, key, klen, val, vlen) ||
        kv.vt->commit(kv.self))
        abort();
    weft_err want = key[10] < p.thread_count ? WEFT_OK : WEFT_E_STATE_RECORD;
    if (state_final_fingerprints(f, one_fp_cb, &o) != want) {
        fprintf(stderr, "fuzz: a kept fingerprint of thread %u misjudged\n", key[10]);
        abort();
    }
    uint8_t back[STATE_META_FP_KEY_LEN];
    state_meta_fp_key(back, o.s);
    if (want == WEFT_OK &&
        (o.n != 1 || memcmp(back, key, klen) != 0 || memcmp(o.fp, val, vlen) != 0)) {
        fprintf(stderr, "fuzz: kept fingerprint read back differently\n");
        abort();
    }
    state_final_close(f);
    state_memkv_free(mk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 2)
        return 0;
    state_table t = (state_table)data[0];
    size_t klen = data[1];
    if (klen > size - 2)
        return 0;
    const uint8_t *key = data + 2, *val = data + 2 + klen;
    size_t vlen = size - 2 - klen;
    if (state_record_check(t, key, klen, val, vlen) != WEFT_OK)
        return 0;
    reencode(t, key, klen, val, vlen);
    if (t == STATE_T_META) {
        kept_fp(key, klen, val, vlen);
        return 0;
    }
    /* a final state holding the record verifies */
    model_params p;
    fuzz_params(&p);
    state_memkv_t *mk;
    state_final_t *f;
    state_diff_t *d;
    if (state_memkv_new(&mk) || state_final_open(&f, &p, state_memkv_kv(mk)) || state_diff_new(&d))
        abort();
    if (state_diff_put(d, t, key, klen, val, vlen) || state_final_genesis(f, d) ||
        state_final_verify(f))
        abort();
    state_diff_free(d);
    state_final_close(f);
    state_memkv_free(mk);
    return 0;
}
