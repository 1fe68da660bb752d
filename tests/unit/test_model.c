/* Unit tests of src/model: every entry of shared/vectors/massa-formats.json (keys, addresses,
 * threads, amounts, operations: round trip, digest, id, signature, re-signing), named errors for
 * malformed input and every size limit + 1, slot/time arithmetic, and seeded random round trips of
 * operations, endorsements, headers and blocks. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "model/model.h"
#include "testutil.h"

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s)
        fail_msg("vector field '%s' missing", k);
    return s;
}

/* Encodes op into a malloc'd buffer. */
static uint8_t *encode_op(const operation_t *op, size_t *len)
{
    wr_t w;
    wr_init(&w);
    op_encode(&w, op);
    assert_int_equal(wr_err(&w), WEFT_OK);
    return wr_take(&w, len);
}

static void test_key_vectors(void **state)
{
    (void)state;
    json_t *v = test_load_shared_json("vectors/massa-formats.json");
    json_t *keys = json_object_get(v, "keys");
    assert_true(json_array_size(keys) > 0);
    size_t i;
    json_t *k;
    json_array_foreach (keys, i, k) {
        size_t n;
        uint8_t *seed = test_unhex(jstr(k, "seed"), &n);
        assert_int_equal(n, 32);
        keypair_t kp;
        keypair_from_seed(&kp, seed);
        char s[MODEL_STR_MAX];
        secret_key_to_str(s, &kp);
        assert_string_equal(s, jstr(k, "secret_key"));
        pubkey_to_str(s, &kp.pk);
        assert_string_equal(s, jstr(k, "public_key"));
        uint8_t pkb[MODEL_PK_LEN];
        pubkey_to_bytes(pkb, &kp.pk);
        hex_encode(s, sizeof s, pkb, sizeof pkb);
        assert_string_equal(s, jstr(k, "public_key_bytes"));
        address_t a;
        address_of_pubkey(&a, &kp.pk);
        address_to_str(s, &a);
        assert_string_equal(s, jstr(k, "address"));
        uint8_t ab[MODEL_ADDRESS_LEN];
        wr_t w;
        wr_init_fixed(&w, ab, sizeof ab);
        address_write(&w, &a);
        assert_int_equal(w.len, MODEL_ADDRESS_LEN);
        hex_encode(s, sizeof s, ab, sizeof ab);
        assert_string_equal(s, jstr(k, "address_bytes"));
        assert_int_equal(address_thread(&a, 32),
                         json_integer_value(json_object_get(k, "thread_t32")));

        /* parsing the text forms gives the same values back */
        keypair_t kp2;
        assert_int_equal(secret_key_parse(&kp2, jstr(k, "secret_key")), WEFT_OK);
        assert_memory_equal(kp2.pk.b, kp.pk.b, 32);
        pubkey_t pk;
        assert_int_equal(pubkey_parse(&pk, jstr(k, "public_key")), WEFT_OK);
        assert_memory_equal(pk.b, kp.pk.b, 32);
        address_t a2;
        assert_int_equal(address_parse(&a2, jstr(k, "address")), WEFT_OK);
        assert_true(address_eq(&a, &a2));
        rd_t r;
        rd_init(&r, ab, sizeof ab);
        address_read(&r, &a2);
        assert_int_equal(rd_finish(&r), WEFT_OK);
        assert_true(address_eq(&a, &a2));
        free(seed);
    }
    json_decref(v);
}

static void test_worked_example(void **state)
{
    /* reference/massa-client-compat.md §1: seed 01..20 */
    (void)state;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    keypair_t kp;
    keypair_from_seed(&kp, seed);
    char s[MODEL_STR_MAX];
    secret_key_to_str(s, &kp);
    assert_string_equal(s, "S1SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2Ds6STz");
    pubkey_to_str(s, &kp.pk);
    assert_string_equal(s, "P1vbsq4Ykzba7ibBjHoxJuFdDe4pZfzbPAUJAfF76vF5h4Y2aCE");
    address_t a;
    address_of_pubkey(&a, &kp.pk);
    address_to_str(s, &a);
    assert_string_equal(s, "AU12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU8");
    a.kind = ADDRESS_SC;
    address_to_str(s, &a);
    assert_string_equal(s, "AS12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU8");
}

static void test_thread_any_power_of_two(void **state)
{
    (void)state;
    address_t a = {0};
    a.hash.b[0] = 0xb7; /* 1011 0111 */
    assert_int_equal(address_thread(&a, 1), 0);
    assert_int_equal(address_thread(&a, 2), 1);
    assert_int_equal(address_thread(&a, 4), 2);
    assert_int_equal(address_thread(&a, 32), 0xb7 >> 3);
    assert_int_equal(address_thread(&a, 256), 0xb7);
}

static void test_amount_vectors(void **state)
{
    (void)state;
    json_t *v = test_load_shared_json("vectors/massa-formats.json");
    json_t *list = json_object_get(v, "amounts");
    assert_true(json_array_size(list) > 0);
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        amount_t a;
        assert_int_equal(amount_parse(&a, jstr(e, "text")), WEFT_OK);
        uint64_t nano;
        assert_int_equal(model_parse_u64(&nano, jstr(e, "nano")), WEFT_OK);
        assert_true(a.nano == nano);
        char s[AMOUNT_STR_MAX];
        amount_format(s, a);
        assert_string_equal(s, jstr(e, "canonical"));
    }
    json_decref(v);
}

static void test_amount_negative(void **state)
{
    (void)state;
    amount_t a;
    static const char *const bad[] = {"",   ".",   "1.",           ".5",  "-1",   "+1",    " 1",
                                      "1 ", "1e9", "1.0000000001", "1,5", "0x10", "1.2.3", "abc"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        assert_int_equal(amount_parse(&a, bad[i]), WEFT_E_AMOUNT);
        assert_true(a.nano == 0);
    }
    assert_int_equal(amount_parse(&a, "18446744073.709551616"), WEFT_E_AMOUNT_OVERFLOW);
    assert_int_equal(amount_parse(&a, "18446744074"), WEFT_E_AMOUNT_OVERFLOW);
    assert_int_equal(amount_parse(&a, "99999999999999999999999"), WEFT_E_AMOUNT_OVERFLOW);
    assert_int_equal(amount_parse(&a, "007.50"), WEFT_OK);
    assert_true(a.nano == 7500000000ull);
    amount_t x = amount_from_nano(UINT64_MAX), y = amount_from_nano(1), z;
    assert_false(amount_add(&z, x, y));
    assert_false(amount_sub(&z, y, x));
    assert_false(amount_mul(&z, x, 2));
    assert_true(amount_mul(&z, y, 5) && z.nano == 5);
    uint64_t u;
    assert_int_equal(model_parse_u64(&u, "18446744073709551616"), WEFT_E_RANGE);
    assert_int_equal(model_parse_u64(&u, "-1"), WEFT_E_INVAL);
}

/* The keypair among the vector keys whose public key is `pk_text`. */
static bool vector_keypair(json_t *v, const char *pk_text, keypair_t *out)
{
    size_t i;
    json_t *k;
    json_array_foreach (json_object_get(v, "keys"), i, k) {
        if (strcmp(jstr(k, "public_key"), pk_text) == 0) {
            size_t n;
            uint8_t *seed = test_unhex(jstr(k, "seed"), &n);
            keypair_from_seed(out, seed);
            free(seed);
            return true;
        }
    }
    return false;
}

static void test_operation_vectors(void **state)
{
    (void)state;
    json_t *v = test_load_shared_json("vectors/massa-formats.json");
    uint64_t chain_id = (uint64_t)json_integer_value(json_object_get(v, "chain_id"));
    json_t *ops = json_object_get(v, "operations");
    assert_true(json_array_size(ops) > 0);
    size_t i;
    json_t *o;
    json_array_foreach (ops, i, o) {
        size_t len;
        uint8_t *content = test_unhex(jstr(o, "serialized_content"), &len);
        operation_t op;
        assert_int_equal(op_decode(&op, content, len), WEFT_OK);
        assert_int_equal(op.type, json_integer_value(json_object_get(o, "type")));
        uint64_t fee;
        assert_int_equal(model_parse_u64(&fee, jstr(o, "fee")), WEFT_OK);
        assert_true(op.fee.nano == fee);
        assert_true(op.expire_period ==
                    (uint64_t)json_integer_value(json_object_get(o, "expire_period")));
        char s[MODEL_STR_MAX];
        if (op.type == OP_TRANSACTION) {
            address_to_str(s, &op.u.transaction.recipient);
            assert_string_equal(s, jstr(o, "recipient"));
            amount_t amt;
            assert_int_equal(amount_parse(&amt, jstr(o, "amount")), WEFT_OK);
            assert_true(amt.nano == op.u.transaction.amount.nano);
        } else if (op.type == OP_ROLL_BUY || op.type == OP_ROLL_SELL) {
            uint64_t rc;
            assert_int_equal(model_parse_u64(&rc, jstr(o, "roll_count")), WEFT_OK);
            assert_true(rc == op.u.roll.roll_count);
        }
        /* decode -> encode gives the same bytes */
        size_t elen;
        uint8_t *enc = encode_op(&op, &elen);
        assert_int_equal(elen, len);
        assert_memory_equal(enc, content, len);
        free(enc);

        pubkey_t pk;
        assert_int_equal(pubkey_parse(&pk, jstr(o, "creator_public_key")), WEFT_OK);
        hash32_t d;
        op_digest(&d, chain_id, &pk, content, len);
        hex_encode(s, sizeof s, d.b, 32);
        assert_string_equal(s, jstr(o, "signed_digest"));
        op_id_t id = {d};
        op_id_to_str(s, &id);
        assert_string_equal(s, jstr(o, "operation_id"));
        op_id_t id2;
        assert_int_equal(op_id_parse(&id2, jstr(o, "operation_id")), WEFT_OK);
        assert_memory_equal(id2.h.b, d.b, 32);

        signature_t sig;
        assert_int_equal(signature_parse(&sig, jstr(o, "signature")), WEFT_OK);
        size_t sblen;
        uint8_t *sb = test_unhex(jstr(o, "signature_bytes"), &sblen);
        assert_int_equal(sblen, MODEL_SIG_LEN);
        assert_int_equal(sb[0], 0);
        assert_memory_equal(sb + 1, sig.b, 64);
        signature_to_str(s, &sig);
        assert_string_equal(s, jstr(o, "signature"));
        assert_int_equal(model_verify_digest(&sig, &pk, &d), WEFT_OK);

        /* re-signing gives the same signature (Ed25519 is deterministic) */
        keypair_t kp;
        assert_true(vector_keypair(v, jstr(o, "creator_public_key"), &kp));
        signature_t sig2;
        model_sign_digest(&sig2, &kp, &d);
        assert_memory_equal(sig2.b, sig.b, 64);

        /* the wire form sig ‖ pk ‖ content decodes to the same operation and verifies */
        signed_op_t so;
        assert_int_equal(signed_op_from_parts(&so, chain_id, &pk, &sig, content, len), WEFT_OK);
        wr_t w;
        wr_init(&w);
        signed_op_encode(&w, &so);
        signed_op_t so2;
        assert_int_equal(signed_op_decode(&so2, chain_id, w.buf, w.len), WEFT_OK);
        assert_int_equal(signed_op_verify(&so2), WEFT_OK);
        assert_memory_equal(so2.id.h.b, d.b, 32);
        /* wrong chain id or a flipped signature bit: E_SIGNATURE */
        signed_op_t so3;
        assert_int_equal(signed_op_decode(&so3, chain_id + 1, w.buf, w.len), WEFT_OK);
        assert_int_equal(signed_op_verify(&so3), WEFT_E_SIGNATURE);
        signed_op_free(&so3);
        sig.b[i % 64] ^= 1;
        assert_int_equal(model_verify_digest(&sig, &pk, &d), WEFT_E_SIGNATURE);
        /* a creator key that is not a curve point decodes (keys are checked by verification)
         * and never verifies */
        memset(w.buf + 66, 0xff, 32);
        assert_int_equal(signed_op_decode(&so3, chain_id, w.buf, w.len), WEFT_OK);
        assert_int_equal(signed_op_verify(&so3), WEFT_E_SIGNATURE);
        signed_op_free(&so3);
        w.buf[0] = 1; /* signature version */
        assert_int_equal(signed_op_decode(&so3, chain_id, w.buf, w.len), WEFT_E_VERSION);

        /* every strict prefix is truncated; one more byte is trailing */
        for (size_t cut = 0; cut < len; cut++) {
            operation_t t;
            assert_int_equal(op_decode(&t, content, cut), WEFT_E_TRUNCATED);
        }
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, content, len);
        longer[len] = 0;
        operation_t t;
        assert_int_equal(op_decode(&t, longer, len + 1), WEFT_E_TRAILING);
        free(longer);

        wr_free(&w);
        signed_op_free(&so);
        signed_op_free(&so2);
        op_free(&op);
        free(sb);
        free(content);
    }
    json_decref(v);
}

static void test_text_negative(void **state)
{
    (void)state;
    const char *good = "AU12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU8";
    address_t a;
    pubkey_t pk;
    keypair_t kp;
    char s[MODEL_STR_MAX];
    /* bad checksum: change one character */
    snprintf(s, sizeof s, "%s", good);
    s[10] = s[10] == 'a' ? 'b' : 'a';
    assert_int_equal(address_parse(&a, s), WEFT_E_CHECKSUM);
    /* wrong prefix letter */
    assert_int_equal(address_parse(&a, "AX12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU8"),
                     WEFT_E_PREFIX);
    assert_int_equal(address_parse(&a, "P1vbsq4Ykzba7ibBjHoxJuFdDe4pZfzbPAUJAfF76vF5h4Y2aCE"),
                     WEFT_E_PREFIX);
    assert_int_equal(pubkey_parse(&pk, "S1SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2Ds6STz"),
                     WEFT_E_PREFIX);
    assert_int_equal(secret_key_parse(&kp, "P1vbsq4Ykzba7ibBjHoxJuFdDe4pZfzbPAUJAfF76vF5h4Y2aCE"),
                     WEFT_E_PREFIX);
    /* bad base58 character */
    assert_int_equal(address_parse(&a, "AU12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU0"),
                     WEFT_E_BASE58);
    /* wrong version byte: a valid checksum over 01 ‖ hash */
    uint8_t payload[33] = {1};
    assert_int_equal(address_parse(&a, good), WEFT_OK);
    memcpy(payload + 1, a.hash.b, 32);
    memcpy(s, "AU", 2);
    assert_true(b58check_encode(s + 2, sizeof s - 2, payload, 33) > 0);
    assert_int_equal(address_parse(&a, s), WEFT_E_VERSION);
    s[0] = 'P';
    memmove(s + 1, s + 2, strlen(s + 2) + 1);
    assert_int_equal(pubkey_parse(&pk, s), WEFT_E_VERSION);
    /* wrong length: version 0 but 31 bytes */
    payload[0] = 0;
    memcpy(s, "AU", 2);
    assert_true(b58check_encode(s + 2, sizeof s - 2, payload, 32) > 0);
    assert_int_equal(address_parse(&a, s), WEFT_E_LENGTH);
    /* not a point on the curve */
    uint8_t badpk[33] = {0};
    memset(badpk + 1, 0xff, 32);
    s[0] = 'P';
    assert_true(b58check_encode(s + 1, sizeof s - 1, badpk, 33) > 0);
    assert_int_equal(pubkey_parse(&pk, s), WEFT_E_PUBLIC_KEY);
    /* node ids share the public key's checks */
    keypair_t nk;
    assert_int_equal(secret_key_parse(&nk, "S1SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2Ds6STz"),
                     WEFT_OK);
    node_id_to_str(s, &nk.pk);
    assert_int_equal(node_id_parse(&pk, s), WEFT_OK);
    assert_memory_equal(pk.b, nk.pk.b, 32);
    assert_int_equal(node_id_parse(&pk, s + 1), WEFT_E_PREFIX);
    signature_t sig;
    assert_int_equal(signature_parse(&sig, "1Wh4bh"), WEFT_E_LENGTH);
    assert_int_equal(op_id_parse(&(op_id_t){0}, "B1Wh4bh"), WEFT_E_PREFIX);
}

/* A decodable content prefix: fee 0, expire 5, and the given type. */
static void op_head(wr_t *w, uint8_t type)
{
    wr_init(w);
    wr_varint(w, 0);
    wr_varint(w, 5);
    wr_varint(w, type);
}

static weft_err decode_wr(wr_t *w)
{
    operation_t op;
    weft_err e = op_decode(&op, w->buf, w->len);
    op_free(&op);
    wr_free(w);
    return e;
}

/* ExecuteSC content with a datastore of `n` entries of the given sizes (key i is made unique). */
static weft_err execute_sc_with(size_t bytecode_len, size_t n, size_t key_len, size_t value_len,
                                bool duplicate)
{
    wr_t w;
    op_head(&w, OP_EXECUTE_SC);
    wr_varint(&w, 1000);
    wr_varint(&w, 0);
    wr_varint(&w, bytecode_len);
    uint8_t *zeros = calloc(1, bytecode_len > value_len ? bytecode_len + 1 : value_len + 1);
    wr_bytes(&w, zeros, bytecode_len);
    wr_varint(&w, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[512] = {0};
        key[0] = duplicate ? 7 : (uint8_t)i;
        wr_varint(&w, key_len);
        wr_bytes(&w, key, key_len);
        wr_varint(&w, value_len);
        wr_bytes(&w, zeros, value_len);
    }
    free(zeros);
    return decode_wr(&w);
}

static weft_err call_sc_with(size_t name_len, size_t param_len, const char *name)
{
    wr_t w;
    op_head(&w, OP_CALL_SC);
    wr_varint(&w, 1000);
    wr_varint(&w, 0);
    address_t a = {.kind = ADDRESS_SC};
    address_write(&w, &a);
    wr_varint(&w, name_len);
    if (name) {
        wr_bytes(&w, name, name_len);
    } else {
        for (size_t i = 0; i < name_len; i++)
            wr_u8(&w, 'f');
    }
    wr_varint(&w, param_len);
    uint8_t *p = calloc(1, param_len + 1);
    wr_bytes(&w, p, param_len);
    free(p);
    return decode_wr(&w);
}

static void test_operation_limits(void **state)
{
    (void)state;
    /* at each limit: accepted; limit + 1: the named error */
    assert_int_equal(execute_sc_with(4, 1, OP_MAX_DS_KEY_LEN, 8, false), WEFT_OK);
    assert_int_equal(execute_sc_with(4, 1, OP_MAX_DS_KEY_LEN + 1, 8, false),
                     WEFT_E_DS_KEY_TOO_LONG);
    assert_int_equal(execute_sc_with(4, 1, 1, OP_MAX_DS_VALUE_LEN, false), WEFT_OK);
    assert_int_equal(execute_sc_with(4, 1, 1, OP_MAX_DS_VALUE_LEN + 1, false),
                     WEFT_E_DS_VALUE_TOO_LONG);
    assert_int_equal(execute_sc_with(4, OP_MAX_DS_ENTRIES, 1, 1, false), WEFT_OK);
    assert_int_equal(execute_sc_with(4, OP_MAX_DS_ENTRIES + 1, 1, 1, false),
                     WEFT_E_DS_TOO_MANY_ENTRIES);
    assert_int_equal(execute_sc_with(4, 2, 1, 1, true), WEFT_E_DS_DUPLICATE_KEY);
    assert_int_equal(execute_sc_with(OP_MAX_BYTECODE_LEN, 0, 0, 0, false), WEFT_OK);
    assert_int_equal(execute_sc_with(OP_MAX_BYTECODE_LEN + 1, 0, 0, 0, false),
                     WEFT_E_BYTECODE_TOO_LONG);
    assert_int_equal(call_sc_with(OP_MAX_FUNC_NAME_LEN, 0, NULL), WEFT_OK);
    assert_int_equal(call_sc_with(OP_MAX_FUNC_NAME_LEN + 1, 0, NULL), WEFT_E_FUNC_NAME_TOO_LONG);
    assert_int_equal(call_sc_with(3, OP_MAX_PARAM_LEN, NULL), WEFT_OK);
    assert_int_equal(call_sc_with(3, OP_MAX_PARAM_LEN + 1, NULL), WEFT_E_PARAM_TOO_LONG);
    assert_int_equal(call_sc_with(2, 0, "\xc3\x28"), WEFT_E_UTF8);
    assert_int_equal(call_sc_with(2, 0, "\xc0\x80"), WEFT_E_UTF8); /* overlong NUL */
    assert_int_equal(call_sc_with(4, 0, "f\xc3\xa9x"), WEFT_OK);

    /* unknown type, address type and version, overlong and overflowing varints */
    wr_t w;
    op_head(&w, 5);
    wr_varint(&w, 1);
    assert_int_equal(decode_wr(&w), WEFT_E_OP_TYPE);
    op_head(&w, OP_TRANSACTION);
    wr_u8(&w, 2);
    wr_u8(&w, 0);
    wr_bytes(&w, (uint8_t[32]){0}, 32);
    wr_varint(&w, 1);
    assert_int_equal(decode_wr(&w), WEFT_E_ADDRESS_TYPE);
    op_head(&w, OP_TRANSACTION);
    wr_u8(&w, 0);
    wr_u8(&w, 1);
    wr_bytes(&w, (uint8_t[32]){0}, 32);
    wr_varint(&w, 1);
    assert_int_equal(decode_wr(&w), WEFT_E_VERSION);
    static const uint8_t overlong_fee[] = {0x80, 0x00, 0x05, 0x01, 0x01};
    operation_t op;
    assert_int_equal(op_decode(&op, overlong_fee, sizeof overlong_fee), WEFT_E_VARINT_OVERLONG);
    static const uint8_t overflow_fee[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0x7f, 0x05, 0x01, 0x01};
    assert_int_equal(op_decode(&op, overflow_fee, sizeof overflow_fee), WEFT_E_VARINT_OVERFLOW);
    assert_int_equal(op_decode(&op, NULL, 0), WEFT_E_TRUNCATED);
}

static void test_max_spending(void **state)
{
    (void)state;
    operation_t op = {.fee = {10}, .type = OP_ROLL_BUY, .u.roll.roll_count = 3};
    amount_t m;
    assert_int_equal(op_max_spending(&m, &op, amount_from_nano(100)), WEFT_OK);
    assert_true(m.nano == 310);
    op.u.roll.roll_count = UINT64_MAX;
    assert_int_equal(op_max_spending(&m, &op, amount_from_nano(100)), WEFT_E_OVERFLOW);
    op = (operation_t){.fee = {UINT64_MAX}, .type = OP_TRANSACTION};
    op.u.transaction.amount.nano = 1;
    assert_int_equal(op_max_spending(&m, &op, amount_from_nano(100)), WEFT_E_OVERFLOW);
}

static void test_slots_and_time(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    assert_int_equal(model_params_check(&p), WEFT_OK);
    p.genesis_timestamp_ms = 1000000;
    uint64_t t;
    assert_int_equal(slot_time(&p, &t, (slot_t){0, 0}), WEFT_OK);
    assert_true(t == 1000000);
    assert_int_equal(slot_time(&p, &t, (slot_t){2, 3}), WEFT_OK);
    assert_true(t == 1000000 + 2 * 16000 + 3 * 500);
    slot_t s;
    assert_int_equal(slot_at_time(&p, &s, t), WEFT_OK);
    assert_true(s.period == 2 && s.thread == 3);
    assert_int_equal(slot_at_time(&p, &s, t + 499), WEFT_OK);
    assert_true(s.period == 2 && s.thread == 3);
    assert_int_equal(slot_at_time(&p, &s, 999999), WEFT_E_RANGE);
    assert_int_equal(slot_next_after_time(&p, &s, 0), WEFT_OK);
    assert_true(s.period == 0 && s.thread == 0);
    assert_int_equal(slot_next_after_time(&p, &s, t), WEFT_OK);
    assert_true(s.period == 2 && s.thread == 4);
    assert_int_equal(slot_next(&p, &s, (slot_t){7, 31}), WEFT_OK);
    assert_true(s.period == 8 && s.thread == 0);
    assert_int_equal(slot_next(&p, &s, (slot_t){UINT64_MAX, 31}), WEFT_E_OVERFLOW);
    assert_int_equal(slot_time(&p, &t, (slot_t){UINT64_MAX / 1000, 0}), WEFT_E_OVERFLOW);
    uint64_t idx;
    assert_int_equal(slot_index(&p, &idx, (slot_t){3, 5}), WEFT_OK);
    assert_true(idx == 3 * 32 + 5);
    assert_true(slot_cmp((slot_t){1, 5}, (slot_t){2, 0}) < 0);
    assert_true(slot_cmp((slot_t){2, 1}, (slot_t){2, 0}) > 0);
    assert_true(cycle_of_period(&p, 127) == 0 && cycle_of_period(&p, 128) == 1);
    /* random times map to the slot containing them */
    test_rng rng;
    test_rng_init(&rng, test_seed() ^ 0x5107);
    for (int i = 0; i < 10000; i++) {
        uint64_t x = p.genesis_timestamp_ms + test_rng_below(&rng, 1ull << 40);
        assert_int_equal(slot_at_time(&p, &s, x), WEFT_OK);
        uint64_t start, next_start;
        slot_t n;
        assert_int_equal(slot_time(&p, &start, s), WEFT_OK);
        assert_int_equal(slot_next(&p, &n, s), WEFT_OK);
        assert_int_equal(slot_time(&p, &next_start, n), WEFT_OK);
        assert_true(start <= x && x < next_start);
    }
    p.thread_count = 3;
    assert_int_equal(model_params_check(&p), WEFT_E_INVAL);
    p.thread_count = 32;
    p.t0_ms = 1000; /* not a multiple of 32 */
    assert_int_equal(model_params_check(&p), WEFT_E_INVAL);
}

/* ---- seeded random round trips ---- */

static void random_op(test_rng *r, operation_t *op)
{
    memset(op, 0, sizeof *op);
    op->fee.nano = test_rng_next(r) >> test_rng_below(r, 64);
    op->expire_period = test_rng_next(r) >> test_rng_below(r, 64);
    op->type = (uint8_t)test_rng_below(r, 5);
    switch (op->type) {
    case OP_TRANSACTION:
        op->u.transaction.recipient.kind = (uint8_t)test_rng_below(r, 2);
        test_rng_bytes(r, op->u.transaction.recipient.hash.b, 32);
        op->u.transaction.amount.nano = test_rng_next(r);
        break;
    case OP_ROLL_BUY:
    case OP_ROLL_SELL:
        op->u.roll.roll_count = test_rng_next(r) >> test_rng_below(r, 64);
        break;
    case OP_EXECUTE_SC: {
        op->u.execute_sc.max_gas = test_rng_next(r);
        op->u.execute_sc.max_coins.nano = test_rng_next(r);
        op->u.execute_sc.bytecode_len = test_rng_below(r, 300);
        op->u.execute_sc.bytecode = malloc(op->u.execute_sc.bytecode_len + 1);
        test_rng_bytes(r, op->u.execute_sc.bytecode, op->u.execute_sc.bytecode_len);
        size_t n = test_rng_below(r, 6);
        op->u.execute_sc.datastore = calloc(n + 1, sizeof(op_ds_entry));
        op->u.execute_sc.datastore_len = n;
        for (size_t i = 0; i < n; i++) {
            op_ds_entry *e = &op->u.execute_sc.datastore[i];
            e->key_len = 1 + test_rng_below(r, 20);
            e->key = malloc(e->key_len);
            test_rng_bytes(r, e->key, e->key_len);
            e->key[0] = (uint8_t)i; /* unique */
            e->value_len = test_rng_below(r, 50);
            e->value = malloc(e->value_len + 1);
            test_rng_bytes(r, e->value, e->value_len);
        }
        break;
    }
    case OP_CALL_SC:
        op->u.call_sc.max_gas = test_rng_next(r);
        op->u.call_sc.coins.nano = test_rng_next(r);
        op->u.call_sc.target.kind = ADDRESS_SC;
        test_rng_bytes(r, op->u.call_sc.target.hash.b, 32);
        op->u.call_sc.function_len = test_rng_below(r, 30);
        op->u.call_sc.function = malloc(op->u.call_sc.function_len + 1);
        for (size_t i = 0; i < op->u.call_sc.function_len; i++)
            op->u.call_sc.function[i] = (char)('a' + test_rng_below(r, 26));
        op->u.call_sc.function[op->u.call_sc.function_len] = 0;
        op->u.call_sc.param_len = test_rng_below(r, 100);
        op->u.call_sc.param = malloc(op->u.call_sc.param_len + 1);
        test_rng_bytes(r, op->u.call_sc.param, op->u.call_sc.param_len);
        break;
    }
}

static void test_random_operations(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0x0b);
    for (int i = 0; i < 3000; i++) {
        operation_t op, back;
        random_op(&r, &op);
        size_t len, len2;
        uint8_t *b = encode_op(&op, &len);
        assert_int_equal(op_decode(&back, b, len), WEFT_OK);
        uint8_t *b2 = encode_op(&back, &len2);
        assert_int_equal(len, len2);
        assert_memory_equal(b, b2, len);
        /* a random single-byte corruption never crashes and, if it decodes, re-encodes exactly */
        size_t at = test_rng_below(&r, len);
        b[at] ^= (uint8_t)(1 + test_rng_below(&r, 255));
        operation_t bent;
        if (op_decode(&bent, b, len) == WEFT_OK) {
            uint8_t *b3 = encode_op(&bent, &len2);
            assert_int_equal(len, len2);
            assert_memory_equal(b, b3, len);
            free(b3);
            op_free(&bent);
        }
        free(b);
        free(b2);
        op_free(&op);
        op_free(&back);
    }
}

static void make_key(test_rng *r, keypair_t *kp)
{
    uint8_t seed[32];
    test_rng_bytes(r, seed, 32);
    keypair_from_seed(kp, seed);
}

static void random_header(test_rng *r, const model_params *p, block_header_t *h, keypair_t *kp,
                          const op_id_t *ids, size_t nids)
{
    memset(h, 0, sizeof *h);
    h->slot.period = 1 + test_rng_below(r, 1000);
    h->slot.thread = (uint8_t)test_rng_below(r, p->thread_count);
    h->parent_count = p->thread_count;
    for (uint32_t i = 0; i < p->thread_count; i++)
        test_rng_bytes(r, h->parents[i].h.b, 32);
    block_ops_hash(&h->ops_hash, ids, nids);
    uint32_t idx = 0;
    for (uint32_t i = 0; i < p->endorsement_count; i++) {
        if (test_rng_below(r, 2))
            continue;
        endorsement_t *e = &h->endorsements[h->endorsement_count++];
        e->slot = h->slot;
        e->index = i;
        e->endorsed = h->parents[h->slot.thread];
        keypair_t ek;
        make_key(r, &ek);
        endorsement_sign(e, &ek);
        idx++;
    }
    header_sign(h, kp);
}

static void test_random_blocks(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0xb10c);
    model_params p;
    model_params_default(&p);
    p.thread_count = 4;
    p.endorsement_count = 4;
    p.max_operations_per_block = 50;
    block_t *b = calloc(1, sizeof *b), *back = calloc(1, sizeof *back);
    for (int iter = 0; iter < 200; iter++) {
        keypair_t kp;
        make_key(&r, &kp);
        uint32_t n = (uint32_t)test_rng_below(&r, 20);
        b->op_ids = malloc((n + 1) * sizeof(op_id_t));
        b->op_count = n;
        for (uint32_t i = 0; i < n; i++)
            test_rng_bytes(&r, b->op_ids[i].h.b, 32);
        random_header(&r, &p, &b->header, &kp, b->op_ids, n);
        assert_int_equal(header_verify(&b->header), WEFT_OK);
        wr_t w;
        wr_init(&w);
        block_encode(&w, b);
        assert_int_equal(block_decode(back, &p, w.buf, w.len), WEFT_OK);
        assert_memory_equal(back->header.id.h.b, b->header.id.h.b, 32);
        assert_int_equal(back->op_count, n);
        assert_int_equal(header_verify(&back->header), WEFT_OK);
        wr_t w2;
        wr_init(&w2);
        block_encode(&w2, back);
        assert_int_equal(w.len, w2.len);
        assert_memory_equal(w.buf, w2.buf, w.len);
        block_free(back);
        /* truncation and trailing bytes */
        assert_int_equal(block_decode(back, &p, w.buf, w.len - 1), WEFT_E_TRUNCATED);
        wr_u8(&w, 0);
        assert_int_equal(block_decode(back, &p, w.buf, w.len), WEFT_E_TRAILING);
        /* a flipped bit in the signed part breaks the signature, or the decode */
        size_t at = 66 + test_rng_below(&r, w.len - 1 - 66 - (size_t)n * 32 - 1);
        w.buf[at] ^= 0x10;
        weft_err e = block_decode(back, &p, w.buf, w.len - 1);
        if (e == WEFT_OK) {
            assert_int_not_equal(header_verify(&back->header), WEFT_OK);
            block_free(back);
        }
        /* the header alone round-trips too */
        wr_t wh;
        wr_init(&wh);
        header_encode(&wh, &b->header);
        block_header_t *h = calloc(1, sizeof *h);
        assert_int_equal(header_decode(h, &p, wh.buf, wh.len), WEFT_OK);
        assert_memory_equal(h->id.h.b, b->header.id.h.b, 32);
        free(h);
        wr_free(&wh);
        wr_free(&w);
        wr_free(&w2);
        block_free(b);
    }
    free(b);
    free(back);
}

/* Encodes a header after applying `mutate` (which breaks one rule) and re-signing. */
static weft_err decode_mutated_with(const model_params *p, const model_params *decode_p,
                                    void (*mutate)(block_header_t *))
{
    test_rng r;
    test_rng_init(&r, 42);
    keypair_t kp;
    make_key(&r, &kp);
    block_header_t *h = calloc(1, sizeof *h), *out = calloc(1, sizeof *out);
    random_header(&r, p, h, &kp, NULL, 0);
    mutate(h);
    header_sign(h, &kp);
    wr_t w;
    wr_init(&w);
    header_encode(&w, h);
    weft_err e = header_decode(out, decode_p, w.buf, w.len);
    wr_free(&w);
    free(h);
    free(out);
    return e;
}

static weft_err decode_mutated(const model_params *p, void (*mutate)(block_header_t *))
{
    return decode_mutated_with(p, p, mutate);
}

static void m_none(block_header_t *h) { (void)h; }
static void m_thread(block_header_t *h) { h->slot.thread = 4; }
static void m_genesis_parents(block_header_t *h)
{
    h->slot.period = 0;
    h->endorsement_count = 0;
}
static void m_few_parents(block_header_t *h) { h->parent_count = 3; }
static void m_version(block_header_t *h) { h->version = 1; }
static void m_endorsed(block_header_t *h)
{
    h->endorsement_count = 1;
    h->endorsements[0].endorsed.h.b[0] ^= 1;
}
static void m_endorsement_slot(block_header_t *h)
{
    h->endorsement_count = 1;
    h->endorsements[0].slot.period++;
}
static void m_all_endorsements(block_header_t *h)
{
    h->endorsement_count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        h->endorsements[i] = h->endorsements[0];
        h->endorsements[i].index = i;
    }
}
static void m_endorsement_order(block_header_t *h)
{
    h->endorsement_count = 2;
    h->endorsements[1] = h->endorsements[0];
}

/* The datastore of execute_read_only_bytecode, decoded alone with op_decode's rules. */
static void test_datastore_decode(void **state)
{
    (void)state;
    operation_t op;
    const uint8_t ok[] = {2, 1, 'a', 2, 'x', 'y', 1, 'b', 0};
    assert_int_equal(op_datastore_decode(&op, ok, sizeof ok), WEFT_OK);
    assert_int_equal(op.u.execute_sc.datastore_len, 2);
    assert_memory_equal(op.u.execute_sc.datastore[0].value, "xy", 2);
    assert_int_equal(op.u.execute_sc.datastore[1].value_len, 0);
    op_free(&op);
    const uint8_t empty[] = {0};
    assert_int_equal(op_datastore_decode(&op, empty, sizeof empty), WEFT_OK);
    assert_int_equal(op.u.execute_sc.datastore_len, 0);
    op_free(&op);
    const uint8_t dup[] = {2, 1, 'a', 0, 1, 'a', 0};
    assert_int_equal(op_datastore_decode(&op, dup, sizeof dup), WEFT_E_DS_DUPLICATE_KEY);
    const uint8_t trailing[] = {1, 1, 'a', 0, 9};
    assert_int_equal(op_datastore_decode(&op, trailing, sizeof trailing), WEFT_E_TRAILING);
    for (size_t n = 0; n < sizeof ok; n++)
        assert_int_not_equal(op_datastore_decode(&op, ok, n), WEFT_OK);
}

static void test_header_rules(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.thread_count = 4;
    p.endorsement_count = 4;
    /* seed 42 gives at least one endorsement (checked by m_none's success below) */
    assert_int_equal(decode_mutated(&p, m_none), WEFT_OK);
    assert_int_equal(decode_mutated(&p, m_thread), WEFT_E_THREAD);
    assert_int_equal(decode_mutated(&p, m_genesis_parents), WEFT_E_PARENTS);
    assert_int_equal(decode_mutated(&p, m_few_parents), WEFT_E_PARENTS);
    assert_int_equal(decode_mutated(&p, m_version), WEFT_E_VERSION);
    assert_int_equal(decode_mutated(&p, m_endorsed), WEFT_E_ENDORSEMENT);
    assert_int_equal(decode_mutated(&p, m_endorsement_slot), WEFT_E_ENDORSEMENT);
    assert_int_equal(decode_mutated(&p, m_endorsement_order), WEFT_E_ENDORSEMENT);
    assert_int_equal(decode_mutated(&p, m_all_endorsements), WEFT_OK);
    model_params fewer = p; /* more endorsements than E */
    fewer.endorsement_count = 3;
    assert_int_equal(decode_mutated_with(&p, &fewer, m_all_endorsements), WEFT_E_ENDORSEMENT);
    fewer.endorsement_count = 0;
    assert_int_equal(decode_mutated_with(&p, &fewer, m_all_endorsements), WEFT_E_ENDORSEMENT);
}

static void test_block_rules(void **state)
{
    (void)state;
    model_params p;
    model_params_default(&p);
    p.thread_count = 2;
    p.endorsement_count = 0;
    p.max_operations_per_block = 3;
    test_rng r;
    test_rng_init(&r, 7);
    keypair_t kp;
    make_key(&r, &kp);
    block_t *b = calloc(1, sizeof *b), *out = calloc(1, sizeof *out);
    op_id_t ids[4];
    test_rng_bytes(&r, ids, sizeof ids);
    b->op_ids = ids;
    struct {
        uint32_t n;
        bool dup, wrong_hash;
        weft_err want;
    } cases[] = {{3, false, false, WEFT_OK},
                 {4, false, false, WEFT_E_TOO_MANY_OPS},
                 {2, true, false, WEFT_E_DUPLICATE},
                 {2, false, true, WEFT_E_OPS_HASH}};
    for (size_t c = 0; c < WEFT_ARRAY_LEN(cases); c++) {
        b->op_count = cases[c].n;
        ids[1] = cases[c].dup ? ids[0] : ids[3];
        random_header(&r, &p, &b->header, &kp, ids, cases[c].wrong_hash ? 1 : cases[c].n);
        wr_t w;
        wr_init(&w);
        block_encode(&w, b);
        assert_int_equal(block_decode(out, &p, w.buf, w.len), cases[c].want);
        block_free(out);
        wr_free(&w);
    }
    /* a count that claims more ids than bytes present: no allocation, truncated */
    b->op_count = 0;
    random_header(&r, &p, &b->header, &kp, NULL, 0);
    wr_t w;
    wr_init(&w);
    header_encode(&w, &b->header);
    wr_varint(&w, 3);
    assert_int_equal(block_decode(out, &p, w.buf, w.len), WEFT_E_TRUNCATED);
    wr_free(&w);
    free(b);
    free(out);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_vectors),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_thread_any_power_of_two),
        cmocka_unit_test(test_amount_vectors),
        cmocka_unit_test(test_amount_negative),
        cmocka_unit_test(test_operation_vectors),
        cmocka_unit_test(test_text_negative),
        cmocka_unit_test(test_operation_limits),
        cmocka_unit_test(test_max_spending),
        cmocka_unit_test(test_slots_and_time),
        cmocka_unit_test(test_random_operations),
        cmocka_unit_test(test_random_blocks),
        cmocka_unit_test(test_datastore_decode),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_block_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
