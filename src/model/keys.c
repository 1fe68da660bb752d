/* Keys, addresses, ids and signatures: binary forms and Massa's text forms (a prefix letter, then
 * base58check of a version varint (0) followed by the bytes).  reference/massa-client-compat.md §1.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "model/model.h"

/* prefix + b58check(00 ‖ data) */
static void versioned_to_str(char out[MODEL_STR_MAX], const char *prefix, const uint8_t *data,
                             size_t len)
{
    uint8_t buf[1 + 64];
    WEFT_MISUSE(len <= 64);
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl + 1); /* with its NUL: b58check_encode writes after it */
    buf[0] = 0;
    memcpy(buf + 1, data, len);
    int n = b58check_encode(out + pl, MODEL_STR_MAX - pl, buf, len + 1);
    WEFT_ASSERT(n > 0);
}

/* Parses prefix + b58check(version ‖ data) with version 0 and exactly `len` data bytes. */
static weft_err versioned_parse(uint8_t *out, size_t len, const char *prefix, const char *text)
{
    memset(out, 0, len);
    size_t pl = strlen(prefix);
    if (!text || strncmp(text, prefix, pl) != 0)
        return WEFT_E_PREFIX;
    uint8_t buf[128];
    int n = b58check_decode(buf, sizeof buf, text + pl);
    if (n == WEFT_E_LIMIT)
        return WEFT_E_LENGTH;
    if (n < 0)
        return (weft_err)n;
    if (n == 0)
        return WEFT_E_LENGTH;
    if (buf[0] != 0) /* the version varint; 0 is the only version in use */
        return WEFT_E_VERSION;
    if ((size_t)n != len + 1)
        return WEFT_E_LENGTH;
    memcpy(out, buf + 1, len);
    return WEFT_OK;
}

void keypair_from_seed(keypair_t *kp, const uint8_t seed[32])
{
    memcpy(kp->seed, seed, 32);
    crypto_ed25519_from_seed(kp->pk.b, kp->sk, seed);
}

void keypair_wipe(keypair_t *kp) { crypto_wipe(kp, sizeof *kp); }

void secret_key_to_str(char out[MODEL_STR_MAX], const keypair_t *kp)
{
    versioned_to_str(out, "S", kp->seed, 32);
}

weft_err secret_key_parse(keypair_t *out, const char *text)
{
    uint8_t seed[32];
    memset(out, 0, sizeof *out);
    weft_err e = versioned_parse(seed, 32, "S", text);
    if (e == WEFT_OK)
        keypair_from_seed(out, seed);
    crypto_wipe(seed, sizeof seed);
    return e;
}

void pubkey_to_str(char out[MODEL_STR_MAX], const pubkey_t *pk)
{
    versioned_to_str(out, "P", pk->b, 32);
}

/* A public key in text form behind `prefix` ("P" for keys, "N" for node ids): also a valid point.
 */
static weft_err pubkey_parse_prefixed(pubkey_t *out, const char *prefix, const char *text)
{
    weft_err e = versioned_parse(out->b, 32, prefix, text);
    if (e == WEFT_OK && (e = crypto_ed25519_check_pk(out->b)) != WEFT_OK)
        memset(out, 0, sizeof *out);
    return e;
}

weft_err pubkey_parse(pubkey_t *out, const char *text)
{
    return pubkey_parse_prefixed(out, "P", text);
}

void pubkey_to_bytes(uint8_t out[MODEL_PK_LEN], const pubkey_t *pk)
{
    out[0] = 0;
    memcpy(out + 1, pk->b, 32);
}

void signature_to_str(char out[MODEL_STR_MAX], const signature_t *s)
{
    versioned_to_str(out, "", s->b, 64);
}

weft_err signature_parse(signature_t *out, const char *text)
{
    return versioned_parse(out->b, 64, "", text);
}

void address_of_pubkey(address_t *out, const pubkey_t *pk)
{
    uint8_t v[MODEL_PK_LEN];
    pubkey_to_bytes(v, pk);
    out->kind = ADDRESS_USER;
    crypto_blake3(out->hash.b, v, sizeof v);
}

void address_to_str(char out[MODEL_STR_MAX], const address_t *a)
{
    WEFT_MISUSE(a->kind == ADDRESS_USER || a->kind == ADDRESS_SC);
    versioned_to_str(out, a->kind == ADDRESS_USER ? "AU" : "AS", a->hash.b, 32);
}

weft_err address_parse(address_t *out, const char *text)
{
    memset(out, 0, sizeof *out);
    if (!text || text[0] != 'A' || (text[1] != 'U' && text[1] != 'S'))
        return WEFT_E_PREFIX;
    out->kind = text[1] == 'U' ? ADDRESS_USER : ADDRESS_SC;
    weft_err e = versioned_parse(out->hash.b, 32, text[1] == 'U' ? "AU" : "AS", text);
    if (e)
        memset(out, 0, sizeof *out);
    return e;
}

void address_write(wr_t *w, const address_t *a)
{
    wr_u8(w, a->kind);
    wr_u8(w, 0);
    wr_bytes(w, a->hash.b, 32);
}

void address_read(rd_t *r, address_t *out)
{
    memset(out, 0, sizeof *out);
    uint8_t kind = rd_u8(r);
    uint64_t version = rd_varint(r);
    rd_bytes(r, out->hash.b, 32);
    if (rd_err(r))
        return;
    if (kind != ADDRESS_USER && kind != ADDRESS_SC) {
        rd_fail(r, WEFT_E_ADDRESS_TYPE);
        return;
    }
    if (version != 0) {
        rd_fail(r, WEFT_E_VERSION);
        return;
    }
    out->kind = kind;
}

uint8_t address_thread(const address_t *a, uint32_t thread_count)
{
    WEFT_MISUSE(thread_count >= 1 && thread_count <= 256 &&
                (thread_count & (thread_count - 1)) == 0);
    unsigned bits = (unsigned)__builtin_ctz(thread_count);
    return bits ? (uint8_t)(a->hash.b[0] >> (8 - bits)) : 0;
}

bool address_eq(const address_t *a, const address_t *b)
{
    return a->kind == b->kind && hash32_cmp(&a->hash, &b->hash) == 0;
}

void op_id_to_str(char out[MODEL_STR_MAX], const op_id_t *id)
{
    versioned_to_str(out, "O", id->h.b, 32);
}
weft_err op_id_parse(op_id_t *out, const char *text)
{
    return versioned_parse(out->h.b, 32, "O", text);
}
void block_id_to_str(char out[MODEL_STR_MAX], const block_id_t *id)
{
    versioned_to_str(out, "B", id->h.b, 32);
}
weft_err block_id_parse(block_id_t *out, const char *text)
{
    return versioned_parse(out->h.b, 32, "B", text);
}
void endorsement_id_to_str(char out[MODEL_STR_MAX], const endorsement_id_t *id)
{
    versioned_to_str(out, "E", id->h.b, 32);
}
weft_err endorsement_id_parse(endorsement_id_t *out, const char *text)
{
    return versioned_parse(out->h.b, 32, "E", text);
}
void node_id_to_str(char out[MODEL_STR_MAX], const pubkey_t *pk)
{
    versioned_to_str(out, "N", pk->b, 32);
}
weft_err node_id_parse(pubkey_t *out, const char *text)
{
    return pubkey_parse_prefixed(out, "N", text);
}

void model_sign_digest(signature_t *out, const keypair_t *kp, const hash32_t *digest)
{
    crypto_ed25519_sign(out->b, kp->sk, digest->b, MODEL_HASH_LEN);
}

weft_err model_verify_digest(const signature_t *sig, const pubkey_t *pk, const hash32_t *digest)
{
    return crypto_ed25519_verify(sig->b, pk->b, digest->b, MODEL_HASH_LEN);
}
