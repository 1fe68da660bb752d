/* crypto: thin, allocation-free wrappers over libsodium and the official BLAKE3 C code. */
#include <sodium.h>
#include <string.h>

#include "crypto/crypto.h"

weft_err crypto_init(void) { return sodium_init() < 0 ? WEFT_E_UNSUPPORTED : WEFT_OK; }

void crypto_blake3(uint8_t out[CRYPTO_HASH_LEN], const void *data, size_t len)
{
    blake3_hasher h;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, data, len);
    blake3_hasher_finalize(&h, out, CRYPTO_HASH_LEN);
}

void crypto_blake3_init(crypto_blake3_ctx *c) { blake3_hasher_init(&c->h); }

void crypto_blake3_update(crypto_blake3_ctx *c, const void *data, size_t len)
{
    blake3_hasher_update(&c->h, data, len);
}

void crypto_blake3_final(const crypto_blake3_ctx *c, uint8_t out[CRYPTO_HASH_LEN])
{
    blake3_hasher_finalize(&c->h, out, CRYPTO_HASH_LEN);
}

void crypto_blake3_final_xof(const crypto_blake3_ctx *c, uint8_t *out, size_t len)
{
    blake3_hasher_finalize(&c->h, out, len);
}

void crypto_sha256(uint8_t out[32], const void *data, size_t len)
{
    crypto_hash_sha256(out, data, len);
}

void crypto_ed25519_from_seed(uint8_t pk[CRYPTO_ED25519_PK_LEN], uint8_t sk[CRYPTO_ED25519_SK_LEN],
                              const uint8_t seed[CRYPTO_ED25519_SEED_LEN])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

void crypto_ed25519_sign(uint8_t sig[CRYPTO_ED25519_SIG_LEN],
                         const uint8_t sk[CRYPTO_ED25519_SK_LEN], const uint8_t *msg, size_t len)
{
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

weft_err crypto_ed25519_verify(const uint8_t sig[CRYPTO_ED25519_SIG_LEN],
                               const uint8_t pk[CRYPTO_ED25519_PK_LEN], const uint8_t *msg,
                               size_t len)
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? WEFT_OK : WEFT_E_SIGNATURE;
}

weft_err crypto_ed25519_check_pk(const uint8_t pk[CRYPTO_ED25519_PK_LEN])
{
    return crypto_core_ed25519_is_valid_point(pk) ? WEFT_OK : WEFT_E_PUBLIC_KEY;
}

void crypto_random(void *buf, size_t n) { randombytes_buf(buf, n); }

void crypto_wipe(void *buf, size_t n) { sodium_memzero(buf, n); }
