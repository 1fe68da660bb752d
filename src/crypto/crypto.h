/* crypto — hashing, signatures and randomness for weft.
 *
 *   BLAKE3 (the official C implementation, SIMD-dispatched at run time): one-shot, streaming, XOF.
 *   SHA-256 (libsodium).
 *   Ed25519 (libsodium; RFC 8032): keypair from a 32-byte seed, detached sign, verify.
 *   Randomness (libsodium's OS-backed generator).  Protocol cores never call crypto_random: they
 *   take randomness as an argument; only actor shells and tools do.
 *
 * crypto_init() must be called once before anything else here (it is idempotent and thread-safe);
 * every function after that is thread-safe and allocation-free.  Pointers are borrowed for the
 * call.
 */
#ifndef WEFT_CRYPTO_H
#define WEFT_CRYPTO_H

#include <blake3.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define CRYPTO_HASH_LEN 32
#define CRYPTO_ED25519_SEED_LEN 32
#define CRYPTO_ED25519_PK_LEN 32
#define CRYPTO_ED25519_SK_LEN 64 /* libsodium's expanded form: seed ‖ public key */
#define CRYPTO_ED25519_SIG_LEN 64

/* Initializes libsodium.  Returns WEFT_E_UNSUPPORTED if it cannot (no usable entropy source). */
WEFT_MUST_USE weft_err crypto_init(void);

/* BLAKE3, unkeyed, 32-byte output. */
void crypto_blake3(uint8_t out[CRYPTO_HASH_LEN], const void *data, size_t len);

/* Streaming BLAKE3: init, update any number of times, then final (32 bytes) or final_xof (any
 * length, for extendable output).  The context is plain memory; no cleanup is needed. */
typedef struct crypto_blake3_ctx {
    blake3_hasher h;
} crypto_blake3_ctx;
void crypto_blake3_init(crypto_blake3_ctx *c);
void crypto_blake3_update(crypto_blake3_ctx *c, const void *data, size_t len);
void crypto_blake3_final(const crypto_blake3_ctx *c, uint8_t out[CRYPTO_HASH_LEN]);
void crypto_blake3_final_xof(const crypto_blake3_ctx *c, uint8_t *out, size_t len);

void crypto_sha256(uint8_t out[32], const void *data, size_t len);

/* Derives an Ed25519 keypair from a 32-byte seed: pk (32 bytes) and sk (64 bytes, secret). */
void crypto_ed25519_from_seed(uint8_t pk[CRYPTO_ED25519_PK_LEN], uint8_t sk[CRYPTO_ED25519_SK_LEN],
                              const uint8_t seed[CRYPTO_ED25519_SEED_LEN]);
/* Signs msg with the 64-byte secret key; deterministic (RFC 8032). */
void crypto_ed25519_sign(uint8_t sig[CRYPTO_ED25519_SIG_LEN],
                         const uint8_t sk[CRYPTO_ED25519_SK_LEN], const uint8_t *msg, size_t len);
/* Returns WEFT_OK if sig is a valid signature of msg by pk, WEFT_E_SIGNATURE otherwise (including a
 * malformed public key or signature). */
WEFT_MUST_USE weft_err crypto_ed25519_verify(const uint8_t sig[CRYPTO_ED25519_SIG_LEN],
                                             const uint8_t pk[CRYPTO_ED25519_PK_LEN],
                                             const uint8_t *msg, size_t len);
/* Returns WEFT_OK if the 32 bytes are a valid Ed25519 point encoding usable as a public key,
 * WEFT_E_PUBLIC_KEY otherwise. */
WEFT_MUST_USE weft_err crypto_ed25519_check_pk(const uint8_t pk[CRYPTO_ED25519_PK_LEN]);

/* Fills buf with n cryptographically secure random bytes. */
void crypto_random(void *buf, size_t n);
/* Wipes secret material in a way the compiler cannot elide. */
void crypto_wipe(void *buf, size_t n);

#endif
