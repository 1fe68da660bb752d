/* Operations in Massa's exact byte layout (reference/massa-client-compat.md §2):
 *   content = fee:varint ‖ expire_period:varint ‖ type:varint ‖ payload
 * digest = BLAKE3(chain_id u64 BE ‖ 00 ‖ pk ‖ content); the operation id is the digest. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "model/model.h"

/* Copies n bytes from the reader into a new heap buffer (non-NULL even when n == 0). */
static uint8_t *rd_dup(rd_t *r, size_t n)
{
    const uint8_t *p = rd_ptr(r, n);
    if (!p)
        return NULL;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        rd_fail(r, WEFT_E_NOMEM);
        return NULL;
    }
    memcpy(b, p, n);
    return b;
}

/* Strict UTF-8 check (no overlongs, no surrogates, ≤ U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

static void read_datastore(rd_t *r, operation_t *op)
{
    uint64_t count = rd_varint_max(r, OP_MAX_DS_ENTRIES, WEFT_E_DS_TOO_MANY_ENTRIES);
    if (rd_err(r) || count == 0)
        return;
    op->u.execute_sc.datastore = calloc(count, sizeof(op_ds_entry));
    if (!op->u.execute_sc.datastore) {
        rd_fail(r, WEFT_E_NOMEM);
        return;
    }
    for (uint64_t i = 0; i < count && !rd_err(r); i++) {
        op_ds_entry *e = &op->u.execute_sc.datastore[i];
        op->u.execute_sc.datastore_len = i + 1; /* counted now so that op_free releases it */
        e->key_len = rd_varint_max(r, OP_MAX_DS_KEY_LEN, WEFT_E_DS_KEY_TOO_LONG);
        e->key = rd_dup(r, e->key_len);
        e->value_len = rd_varint_max(r, OP_MAX_DS_VALUE_LEN, WEFT_E_DS_VALUE_TOO_LONG);
        e->value = rd_dup(r, e->value_len);
        if (rd_err(r))
            break;
        /* at most 128 entries: a quadratic duplicate check is bounded and cheap */
        for (uint64_t k = 0; k < i; k++) {
            const op_ds_entry *o = &op->u.execute_sc.datastore[k];
            if (o->key_len == e->key_len && memcmp(o->key, e->key, e->key_len) == 0) {
                rd_fail(r, WEFT_E_DS_DUPLICATE_KEY);
                break;
            }
        }
    }
}

static void op_read(rd_t *r, operation_t *op)
{
    op->fee.nano = rd_varint(r);
    op->expire_period = rd_varint(r);
    uint64_t type = rd_varint(r);
    if (rd_err(r))
        return;
    if (type > OP_CALL_SC) {
        rd_fail(r, WEFT_E_OP_TYPE);
        return;
    }
    op->type = (uint8_t)type;
    switch (op->type) {
    case OP_TRANSACTION:
        address_read(r, &op->u.transaction.recipient);
        op->u.transaction.amount.nano = rd_varint(r);
        break;
    case OP_ROLL_BUY:
    case OP_ROLL_SELL:
        op->u.roll.roll_count = rd_varint(r);
        break;
    case OP_EXECUTE_SC:
        op->u.execute_sc.max_gas = rd_varint(r);
        op->u.execute_sc.max_coins.nano = rd_varint(r);
        op->u.execute_sc.bytecode_len =
            rd_varint_max(r, OP_MAX_BYTECODE_LEN, WEFT_E_BYTECODE_TOO_LONG);
        op->u.execute_sc.bytecode = rd_dup(r, op->u.execute_sc.bytecode_len);
        if (!op->u.execute_sc.bytecode)
            op->u.execute_sc.bytecode_len = 0;
        read_datastore(r, op);
        break;
    case OP_CALL_SC: {
        op->u.call_sc.max_gas = rd_varint(r);
        op->u.call_sc.coins.nano = rd_varint(r);
        address_read(r, &op->u.call_sc.target);
        size_t flen = rd_varint_max(r, OP_MAX_FUNC_NAME_LEN, WEFT_E_FUNC_NAME_TOO_LONG);
        const uint8_t *f = rd_ptr(r, flen);
        if (!f)
            break;
        if (!utf8_valid(f, flen)) {
            rd_fail(r, WEFT_E_UTF8);
            break;
        }
        op->u.call_sc.function = malloc(flen + 1);
        if (!op->u.call_sc.function) {
            rd_fail(r, WEFT_E_NOMEM);
            break;
        }
        memcpy(op->u.call_sc.function, f, flen);
        op->u.call_sc.function[flen] = '\0';
        op->u.call_sc.function_len = flen;
        op->u.call_sc.param_len = rd_varint_max(r, OP_MAX_PARAM_LEN, WEFT_E_PARAM_TOO_LONG);
        op->u.call_sc.param = rd_dup(r, op->u.call_sc.param_len);
        if (!op->u.call_sc.param)
            op->u.call_sc.param_len = 0;
        break;
    }
    }
}

weft_err op_decode(operation_t *out, const uint8_t *data, size_t len)
{
    memset(out, 0, sizeof *out);
    rd_t r;
    rd_init(&r, data, len);
    op_read(&r, out);
    weft_err e = rd_finish(&r);
    if (e)
        op_free(out);
    return e;
}

void op_encode(wr_t *w, const operation_t *op)
{
    wr_varint(w, op->fee.nano);
    wr_varint(w, op->expire_period);
    wr_varint(w, op->type);
    switch (op->type) {
    case OP_TRANSACTION:
        address_write(w, &op->u.transaction.recipient);
        wr_varint(w, op->u.transaction.amount.nano);
        break;
    case OP_ROLL_BUY:
    case OP_ROLL_SELL:
        wr_varint(w, op->u.roll.roll_count);
        break;
    case OP_EXECUTE_SC:
        wr_varint(w, op->u.execute_sc.max_gas);
        wr_varint(w, op->u.execute_sc.max_coins.nano);
        wr_varint(w, op->u.execute_sc.bytecode_len);
        wr_bytes(w, op->u.execute_sc.bytecode, op->u.execute_sc.bytecode_len);
        wr_varint(w, op->u.execute_sc.datastore_len);
        for (size_t i = 0; i < op->u.execute_sc.datastore_len; i++) {
            const op_ds_entry *e = &op->u.execute_sc.datastore[i];
            wr_varint(w, e->key_len);
            wr_bytes(w, e->key, e->key_len);
            wr_varint(w, e->value_len);
            wr_bytes(w, e->value, e->value_len);
        }
        break;
    case OP_CALL_SC:
        wr_varint(w, op->u.call_sc.max_gas);
        wr_varint(w, op->u.call_sc.coins.nano);
        address_write(w, &op->u.call_sc.target);
        wr_varint(w, op->u.call_sc.function_len);
        wr_bytes(w, op->u.call_sc.function, op->u.call_sc.function_len);
        wr_varint(w, op->u.call_sc.param_len);
        wr_bytes(w, op->u.call_sc.param, op->u.call_sc.param_len);
        break;
    default:
        WEFT_PANIC("op_encode: bad operation type %u", op->type);
    }
}

void op_free(operation_t *op)
{
    if (op->type == OP_EXECUTE_SC) {
        free(op->u.execute_sc.bytecode);
        for (size_t i = 0; i < op->u.execute_sc.datastore_len; i++) {
            free(op->u.execute_sc.datastore[i].key);
            free(op->u.execute_sc.datastore[i].value);
        }
        free(op->u.execute_sc.datastore);
    } else if (op->type == OP_CALL_SC) {
        free(op->u.call_sc.function);
        free(op->u.call_sc.param);
    }
    memset(op, 0, sizeof *op);
}

weft_err op_datastore_decode(operation_t *out, const uint8_t *data, size_t len)
{
    memset(out, 0, sizeof *out);
    out->type = OP_EXECUTE_SC;
    rd_t r;
    rd_init(&r, data, len);
    read_datastore(&r, out);
    weft_err e = rd_finish(&r);
    if (e)
        op_free(out);
    return e;
}

void op_digest(hash32_t *out, uint64_t chain_id, const pubkey_t *creator, const uint8_t *content,
               size_t content_len)
{
    uint8_t prefix[8 + MODEL_PK_LEN];
    for (int i = 0; i < 8; i++)
        prefix[i] = (uint8_t)(chain_id >> (56 - 8 * i));
    pubkey_to_bytes(prefix + 8, creator);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, prefix, sizeof prefix);
    crypto_blake3_update(&c, content, content_len);
    crypto_blake3_final(&c, out->b);
}

weft_err op_max_spending(amount_t *out, const operation_t *op, amount_t roll_price)
{
    amount_t extra = {0};
    switch (op->type) {
    case OP_TRANSACTION:
        extra = op->u.transaction.amount;
        break;
    case OP_ROLL_BUY:
        if (!amount_mul(&extra, roll_price, op->u.roll.roll_count))
            return WEFT_E_OVERFLOW;
        break;
    case OP_ROLL_SELL:
        break;
    case OP_EXECUTE_SC:
        extra = op->u.execute_sc.max_coins;
        break;
    case OP_CALL_SC:
        extra = op->u.call_sc.coins;
        break;
    default:
        WEFT_PANIC("op_max_spending: bad operation type %u", op->type);
    }
    return amount_add(out, op->fee, extra) ? WEFT_OK : WEFT_E_OVERFLOW;
}

static weft_err signed_op_finish(signed_op_t *out, uint64_t chain_id)
{
    weft_err e = op_decode(&out->op, out->content, out->content_len);
    if (e)
        return e;
    op_digest(&out->id.h, chain_id, &out->creator, out->content, out->content_len);
    return WEFT_OK;
}

weft_err signed_op_from_parts(signed_op_t *out, uint64_t chain_id, const pubkey_t *creator,
                              const signature_t *sig, const uint8_t *content, size_t content_len)
{
    memset(out, 0, sizeof *out);
    out->sig = *sig;
    out->creator = *creator;
    out->content = malloc(content_len ? content_len : 1);
    if (!out->content)
        return WEFT_E_NOMEM;
    memcpy(out->content, content, content_len);
    out->content_len = content_len;
    weft_err e = signed_op_finish(out, chain_id);
    if (e)
        signed_op_free(out);
    return e;
}

weft_err signed_op_decode(signed_op_t *out, uint64_t chain_id, const uint8_t *data, size_t len)
{
    memset(out, 0, sizeof *out);
    rd_t r;
    rd_init(&r, data, len);
    if (rd_varint(&r) != 0 && !rd_err(&r))
        rd_fail(&r, WEFT_E_VERSION);
    signature_t sig;
    rd_bytes(&r, sig.b, 64);
    if (rd_varint(&r) != 0 && !rd_err(&r))
        rd_fail(&r, WEFT_E_VERSION);
    pubkey_t pk;
    rd_bytes(&r, pk.b, 32);
    if (rd_err(&r))
        return rd_err(&r);
    /* The key's validity as a curve point is left to signed_op_verify, which rejects bad keys:
     * checking it here too would double the cost of decoding (a full point decompression). */
    size_t rest = rd_left(&r);
    return signed_op_from_parts(out, chain_id, &pk, &sig, rd_ptr(&r, rest), rest);
}

void signed_op_encode(wr_t *w, const signed_op_t *s)
{
    uint8_t pk[MODEL_PK_LEN];
    wr_u8(w, 0);
    wr_bytes(w, s->sig.b, 64);
    pubkey_to_bytes(pk, &s->creator);
    wr_bytes(w, pk, sizeof pk);
    wr_bytes(w, s->content, s->content_len);
}

weft_err signed_op_verify(const signed_op_t *s)
{
    return model_verify_digest(&s->sig, &s->creator, &s->id.h);
}

void signed_op_free(signed_op_t *s)
{
    free(s->content);
    op_free(&s->op);
    memset(s, 0, sizeof *s);
}
