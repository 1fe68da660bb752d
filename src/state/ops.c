/* Executed operation ids, kept until their expire period has passed (replay protection): one
 * record by id (expire period, success) and one index record by (expire period, id) so that
 * pruning walks only what expires. */
#include <string.h>

#include "state/state_internal.h"

static void expiry_key(uint8_t out[STATE_EXPIRY_KEY_LEN], uint64_t expire, const op_id_t *id)
{
    state_put_u64be(out, expire);
    memcpy(out + 8, id->h.b, MODEL_HASH_LEN);
}

weft_err state_op_mark(state_view_t *v, const op_id_t *id, uint64_t expire_period, bool success)
{
    uint8_t val[VARINT_MAX_LEN + 1], ek[STATE_EXPIRY_KEY_LEN];
    size_t n = state_enc_op(val, expire_period, success);
    weft_err err = state_view_put(v, STATE_T_OPS, id->h.b, MODEL_HASH_LEN, val, n);
    if (err)
        return err;
    expiry_key(ek, expire_period, id);
    return state_view_put(v, STATE_T_OPS_EXPIRY, ek, sizeof ek, NULL, 0);
}

weft_err state_op_executed(state_view_t *v, const op_id_t *id, bool *executed, bool *success)
{
    const uint8_t *val;
    size_t vlen;
    *executed = false;
    if (success)
        *success = false;
    weft_err err = state_view_get(v, STATE_T_OPS, id->h.b, MODEL_HASH_LEN, &val, &vlen);
    if (err == WEFT_E_NOT_FOUND)
        return WEFT_OK;
    if (err)
        return err;
    uint64_t expire;
    bool ok;
    err = state_dec_op(val, vlen, &expire, &ok);
    if (err)
        return err;
    *executed = true;
    if (success)
        *success = ok;
    return WEFT_OK;
}

weft_err state_ops_prune_range(state_view_t *v, uint64_t from, uint64_t to)
{
    if (from >= to)
        return WEFT_OK;
    uint8_t lo[8], hi[8];
    state_put_u64be(lo, from);
    state_put_u64be(hi, to);
    state_keys ks;
    weft_err err = state_scan_keys(v, STATE_T_OPS_EXPIRY, lo, sizeof lo, hi, sizeof hi, &ks);
    if (err)
        return err;
    for (size_t i = 0; !err && i < ks.n; i++) {
        if (ks.lens[i] != STATE_EXPIRY_KEY_LEN) {
            err = WEFT_E_STATE_RECORD;
            break;
        }
        err = state_view_del(v, STATE_T_OPS, ks.keys[i] + 8, MODEL_HASH_LEN);
        if (!err)
            err = state_view_del(v, STATE_T_OPS_EXPIRY, ks.keys[i], ks.lens[i]);
    }
    state_keys_free(&ks);
    return err;
}

weft_err state_ops_prune(state_view_t *v, uint64_t period)
{
    return state_ops_prune_range(v, 0, period);
}
