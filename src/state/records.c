/* Keys and record encodings of the final state (docs/consensus.md §2.2), and the bounded decoders
 * that check them: fixed layouts are length-checked, varints canonical, flags 0 or 1, padding
 * bits zero, no trailing bytes.  Every stored record passes state_record_check. */
#include <string.h>

#include "state/state_internal.h"

static const char *const table_names[STATE_T_COUNT] = {
    "meta",   "balance",    "bytecode",  "datastore", "rolls", "credits",
    "cycles", "prod_stats", "roll_snap", "hash_snap", "ops",   "ops_expiry",
};

const char *state_table_name(state_table t)
{
    return (unsigned)t < STATE_T_COUNT ? table_names[t] : NULL;
}

void state_key_addr(uint8_t out[STATE_ADDR_KEY_LEN], const address_t *a)
{
    out[0] = a->kind;
    out[1] = 0;
    memcpy(out + 2, a->hash.b, MODEL_HASH_LEN);
}

bool state_key_addr_read(const uint8_t *key, size_t klen, address_t *out)
{
    rd_t r;
    rd_init(&r, key, klen);
    address_read(&r, out);
    return rd_finish(&r) == WEFT_OK && klen == STATE_ADDR_KEY_LEN;
}

void state_key_cycle_addr(uint8_t out[STATE_CYCLE_ADDR_KEY_LEN], uint64_t cycle, const address_t *a)
{
    state_put_u64be(out, cycle);
    state_key_addr(out + 8, a);
}

void state_key_credit(uint8_t out[STATE_CREDIT_KEY_LEN], slot_t due, const address_t *a)
{
    state_put_u64be(out, due.period);
    out[8] = due.thread;
    state_key_addr(out + 9, a);
}

size_t state_enc_u64(uint8_t *out, uint64_t v) { return varint_encode(out, v); }

weft_err state_dec_u64(const uint8_t *val, size_t vlen, uint64_t *out)
{
    rd_t r;
    rd_init(&r, val, vlen);
    uint64_t v = rd_varint(&r);
    if (rd_finish(&r) != WEFT_OK)
        return WEFT_E_STATE_RECORD;
    *out = v;
    return WEFT_OK;
}

size_t state_enc_prod(uint8_t out[2 * VARINT_MAX_LEN], uint64_t produced, uint64_t missed)
{
    size_t n = varint_encode(out, produced);
    return n + varint_encode(out + n, missed);
}

weft_err state_dec_prod(const uint8_t *val, size_t vlen, uint64_t *produced, uint64_t *missed)
{
    rd_t r;
    rd_init(&r, val, vlen);
    uint64_t a = rd_varint(&r), b = rd_varint(&r);
    if (rd_finish(&r) != WEFT_OK)
        return WEFT_E_STATE_RECORD;
    *produced = a;
    *missed = b;
    return WEFT_OK;
}

size_t state_enc_op(uint8_t out[VARINT_MAX_LEN + 1], uint64_t expire, bool success)
{
    size_t n = varint_encode(out, expire);
    out[n] = success ? 1 : 0;
    return n + 1;
}

weft_err state_dec_op(const uint8_t *val, size_t vlen, uint64_t *expire, bool *success)
{
    rd_t r;
    rd_init(&r, val, vlen);
    uint64_t e = rd_varint(&r);
    uint8_t s = rd_u8(&r);
    if (rd_finish(&r) != WEFT_OK || s > 1)
        return WEFT_E_STATE_RECORD;
    *expire = e;
    *success = s;
    return WEFT_OK;
}

void state_enc_bits(wr_t *w, const uint8_t *bits, size_t count)
{
    wr_varint(w, count);
    if (count)
        wr_bytes(w, bits, (count + 7) / 8);
}

weft_err state_dec_bits(const uint8_t *val, size_t vlen, const uint8_t **bits, size_t *count)
{
    rd_t r;
    rd_init(&r, val, vlen);
    uint64_t n = rd_varint_max(&r, POS_MAX_CYCLE_DRAWS, WEFT_E_STATE_RECORD);
    const uint8_t *b = rd_ptr(&r, (size_t)(n + 7) / 8);
    if (rd_finish(&r) != WEFT_OK)
        return WEFT_E_STATE_RECORD;
    for (size_t i = (size_t)n; i % 8 != 0; i++)
        if (pos_bit_get(b, i))
            return WEFT_E_STATE_RECORD;
    *bits = b;
    *count = (size_t)n;
    return WEFT_OK;
}

size_t state_enc_cursor(uint8_t out[VARINT_MAX_LEN + 1], slot_t s)
{
    size_t n = varint_encode(out, s.period);
    out[n] = s.thread;
    return n + 1;
}

weft_err state_dec_cursor(const uint8_t *val, size_t vlen, slot_t *out)
{
    rd_t r;
    rd_init(&r, val, vlen);
    uint64_t p = rd_varint(&r);
    uint8_t t = rd_u8(&r);
    if (rd_finish(&r) != WEFT_OK || t >= MODEL_MAX_THREADS)
        return WEFT_E_STATE_RECORD;
    *out = (slot_t){p, t};
    return WEFT_OK;
}

/* ---- whole-record checks --------------------------------------------------------------------- */

static bool key_is(const uint8_t *key, size_t klen, const char *name)
{
    size_t n = strlen(name);
    return klen == n && memcmp(key, name, n) == 0;
}

static bool nonzero_u64(const uint8_t *val, size_t vlen)
{
    uint64_t v;
    return state_dec_u64(val, vlen, &v) == WEFT_OK && v != 0;
}

static bool addr_at(const uint8_t *key, size_t klen, size_t off)
{
    address_t a;
    return klen >= off + STATE_ADDR_KEY_LEN &&
           state_key_addr_read(key + off, STATE_ADDR_KEY_LEN, &a);
}

static bool check_meta(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    uint64_t v;
    slot_t s;
    if (key_is(key, klen, STATE_META_VERSION))
        return state_dec_u64(val, vlen, &v) == WEFT_OK;
    if (key_is(key, klen, STATE_META_FINGERPRINT))
        return vlen == STATE_FP_LEN;
    if (key_is(key, klen, STATE_META_CURSOR))
        return state_dec_cursor(val, vlen, &s) == WEFT_OK;
    if (klen == STATE_META_FP_KEY_LEN && memcmp(key, STATE_META_FP_PREFIX, 2) == 0)
        return key[10] < MODEL_MAX_THREADS && vlen == STATE_FP_LEN;
    return false;
}

void state_meta_fp_key(uint8_t out[STATE_META_FP_KEY_LEN], slot_t s)
{
    memcpy(out, STATE_META_FP_PREFIX, 2);
    state_put_u64be(out + 2, s.period);
    out[10] = s.thread;
}

weft_err state_record_check(state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    WEFT_MISUSE((key || klen == 0) && (val || vlen == 0));
    uint64_t a, b;
    bool s, ok;
    const uint8_t *bits;
    size_t count;
    if (klen > STATE_MAX_KEY_LEN || vlen > STATE_MAX_VALUE_LEN)
        return WEFT_E_STATE_RECORD;
    switch (t) {
    case STATE_T_META:
        ok = check_meta(key, klen, val, vlen);
        break;
    case STATE_T_BALANCE:
        ok = klen == STATE_ADDR_KEY_LEN && addr_at(key, klen, 0) &&
             state_dec_u64(val, vlen, &a) == WEFT_OK;
        break;
    case STATE_T_BYTECODE:
        ok = klen == STATE_ADDR_KEY_LEN && addr_at(key, klen, 0) && vlen > 0;
        break;
    case STATE_T_DATASTORE:
        ok = klen <= STATE_ADDR_KEY_LEN + STATE_MAX_DS_KEY_LEN && addr_at(key, klen, 0);
        break;
    case STATE_T_ROLLS:
        ok = klen == STATE_ADDR_KEY_LEN && addr_at(key, klen, 0) && nonzero_u64(val, vlen);
        break;
    case STATE_T_CREDITS:
        ok = klen == STATE_CREDIT_KEY_LEN && key[8] < MODEL_MAX_THREADS && addr_at(key, klen, 9) &&
             nonzero_u64(val, vlen);
        break;
    case STATE_T_CYCLES:
        ok = klen == 8 && state_dec_bits(val, vlen, &bits, &count) == WEFT_OK;
        break;
    case STATE_T_PROD:
        ok = klen == STATE_CYCLE_ADDR_KEY_LEN && addr_at(key, klen, 8) &&
             state_dec_prod(val, vlen, &a, &b) == WEFT_OK;
        break;
    case STATE_T_ROLL_SNAP:
        ok = klen == STATE_CYCLE_ADDR_KEY_LEN && addr_at(key, klen, 8) && nonzero_u64(val, vlen);
        break;
    case STATE_T_HASH_SNAP:
        ok = klen == 8 && vlen == MODEL_HASH_LEN;
        break;
    case STATE_T_OPS:
        ok = klen == MODEL_HASH_LEN && state_dec_op(val, vlen, &a, &s) == WEFT_OK;
        break;
    case STATE_T_OPS_EXPIRY:
        ok = klen == STATE_EXPIRY_KEY_LEN && vlen == 0;
        break;
    case STATE_T_COUNT:
    default:
        return WEFT_E_INVAL;
    }
    return ok ? WEFT_OK : WEFT_E_STATE_RECORD;
}
