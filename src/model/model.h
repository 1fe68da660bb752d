/* model — weft's data formats: amounts, slots and time, keys, addresses, ids, signatures,
 * operations (Massa's exact byte layout), endorsements, block headers and blocks (weft's own
 * Massa-like layout, docs/formats.md).
 *
 * Pure: no I/O, no clock, no globals.  Everything that depends on protocol parameters takes a
 * `const model_params *`.  Decoders are bounded, strict (Massa's limits) and reject trailing bytes;
 * on error they return a negative weft_err and leave their output zeroed (nothing to free).
 * Decoded values that hold variable-length data own it (heap) and have a *_free function; free
 * functions accept zeroed or already-freed values.  Encoders append to a wr_t.
 * Thread-safety: all functions are reentrant; values are not shared between threads without
 * external synchronization.
 * Requires crypto_init() before any hashing/signing function is used.
 */
#ifndef WEFT_MODEL_H
#define WEFT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- protocol parameters (DESIGN §2) -------------------------------------------------------- */

#define MODEL_MAX_THREADS 64      /* upper bound on T for blocks and the graph */
#define MODEL_MAX_ENDORSEMENTS 64 /* upper bound on E */

typedef struct model_params {
    uint32_t thread_count;             /* T, a power of two in [1, MODEL_MAX_THREADS]; default 32 */
    uint64_t t0_ms;                    /* period length; default 16000; must be a multiple of T */
    uint64_t periods_per_cycle;        /* default 128 */
    uint32_t endorsement_count;        /* E, default 16 */
    uint64_t delta_f0;                 /* default 64 * (E + 1) */
    uint32_t max_block_size;           /* serialized operations per block, default 300000 */
    uint32_t max_operations_per_block; /* default 5000 */
    uint64_t operation_validity_periods; /* default 10 */
    uint64_t roll_price;                 /* nanoMAS, default 100 MAS */
    uint64_t block_reward;               /* nanoMAS, default 0.4 MAS */
    uint64_t chain_id;
    uint64_t genesis_timestamp_ms;
} model_params;

/* Fills p with DESIGN §2 defaults (chain_id 0, genesis 0). */
void model_params_default(model_params *p);
/* Checks consistency (T power of two ≤ MODEL_MAX_THREADS, E ≤ MODEL_MAX_ENDORSEMENTS, t0 multiple
 * of T and > 0, periods_per_cycle > 0, ...). Returns WEFT_E_INVAL with no partial effect if not. */
WEFT_MUST_USE weft_err model_params_check(const model_params *p);

/* ---- amounts -------------------------------------------------------------------------------- */

/* An amount of nanoMAS (1 MAS = 10^9).  Arithmetic is checked; raw access only through .nano. */
typedef struct amount {
    uint64_t nano;
} amount_t;

#define AMOUNT_DECIMALS 9
#define AMOUNT_STR_MAX 32 /* "18446744073.709551615" + NUL fits */

static inline amount_t amount_from_nano(uint64_t n) { return (amount_t){n}; }
static inline WEFT_MUST_USE bool amount_add(amount_t *out, amount_t a, amount_t b)
{
    return u64_add(&out->nano, a.nano, b.nano);
}
static inline WEFT_MUST_USE bool amount_sub(amount_t *out, amount_t a, amount_t b)
{
    return u64_sub(&out->nano, a.nano, b.nano);
}
static inline WEFT_MUST_USE bool amount_mul(amount_t *out, amount_t a, uint64_t k)
{
    return u64_mul(&out->nano, a.nano, k);
}
/* Parses a decimal MAS string ("12.5", "0.000000001", "1000"): digits, optionally '.' and 1..9
 * fractional digits.  E_AMOUNT for anything else (sign, spaces, exponent, empty parts, >9
 * decimals), E_AMOUNT_OVERFLOW past u64 nanoMAS. */
WEFT_MUST_USE weft_err amount_parse(amount_t *out, const char *text);
/* Formats canonically: trailing fractional zeros trimmed, no '.' for whole amounts. */
void amount_format(char out[AMOUNT_STR_MAX], amount_t a);
/* Parses a plain decimal u64 ("0" .. "18446744073709551615", no sign/space/leading '+'); E_RANGE
 * beyond u64, E_INVAL if not digits. */
WEFT_MUST_USE weft_err model_parse_u64(uint64_t *out, const char *text);

/* ---- slots, periods, cycles, time ----------------------------------------------------------- */

typedef struct slot {
    uint64_t period;
    uint8_t thread;
} slot_t;

/* Orders by (period, thread): <0, 0, >0. */
int slot_cmp(slot_t a, slot_t b);
/* The slot after s; E_OVERFLOW at the end of time. */
WEFT_MUST_USE weft_err slot_next(const model_params *p, slot_t *out, slot_t s);
/* Slot index counted from (0,0): period*T + thread; E_OVERFLOW if it does not fit. */
WEFT_MUST_USE weft_err slot_index(const model_params *p, uint64_t *out, slot_t s);
/* Start time (ms since the epoch) of a slot: genesis + period*t0 + thread*(t0/T). */
WEFT_MUST_USE weft_err slot_time(const model_params *p, uint64_t *out_ms, slot_t s);
/* The latest slot whose start time is <= t.  E_RANGE if t is before genesis. */
WEFT_MUST_USE weft_err slot_at_time(const model_params *p, slot_t *out, uint64_t t_ms);
/* The first slot whose start time is strictly after t (before genesis: slot (0,0)). */
WEFT_MUST_USE weft_err slot_next_after_time(const model_params *p, slot_t *out, uint64_t t_ms);
static inline uint64_t cycle_of_period(const model_params *p, uint64_t period)
{
    return period / p->periods_per_cycle;
}

/* ---- hashes, keys, addresses, ids, signatures ----------------------------------------------- */

#define MODEL_HASH_LEN 32
#define MODEL_PK_LEN 33      /* versioned: 00 ‖ 32-byte Ed25519 public key */
#define MODEL_SIG_LEN 65     /* versioned: 00 ‖ 64-byte Ed25519 signature */
#define MODEL_ADDRESS_LEN 34 /* type ‖ version ‖ 32-byte hash */
#define MODEL_STR_MAX 128    /* room for any text form here, with NUL */

typedef struct hash32 {
    uint8_t b[MODEL_HASH_LEN];
} hash32_t;

/* An Ed25519 public key (raw 32 bytes; versioned form adds a 00 byte). */
typedef struct pubkey {
    uint8_t b[32];
} pubkey_t;

/* A keypair: 32-byte seed (the Massa secret key) plus libsodium's expanded secret and public key.
 * Secret: wipe with keypair_wipe when done. */
typedef struct keypair {
    uint8_t seed[32];
    uint8_t sk[64];
    pubkey_t pk;
} keypair_t;

typedef struct signature {
    uint8_t b[64];
} signature_t;

typedef enum address_kind { ADDRESS_USER = 0, ADDRESS_SC = 1 } address_kind;
typedef struct address {
    uint8_t kind; /* address_kind */
    hash32_t hash;
} address_t;

/* Ids are BLAKE3 digests; the text forms differ by prefix letter. */
typedef struct op_id {
    hash32_t h;
} op_id_t;
typedef struct block_id {
    hash32_t h;
} block_id_t;
typedef struct endorsement_id {
    hash32_t h;
} endorsement_id_t;

/* Derives the keypair of a 32-byte seed (a fresh key: pass 32 random bytes). */
void keypair_from_seed(keypair_t *kp, const uint8_t seed[32]);
void keypair_wipe(keypair_t *kp);
/* Text: "S" + b58check(00 ‖ seed).  Parse errors: E_PREFIX, E_BASE58, E_CHECKSUM, E_VERSION,
 * E_LENGTH. */
void secret_key_to_str(char out[MODEL_STR_MAX], const keypair_t *kp);
WEFT_MUST_USE weft_err secret_key_parse(keypair_t *out, const char *text);
/* Text: "P" + b58check(00 ‖ pk); also E_PUBLIC_KEY when the bytes are not a valid key. */
void pubkey_to_str(char out[MODEL_STR_MAX], const pubkey_t *pk);
WEFT_MUST_USE weft_err pubkey_parse(pubkey_t *out, const char *text);
/* Versioned binary form 00 ‖ pk (33 bytes). */
void pubkey_to_bytes(uint8_t out[MODEL_PK_LEN], const pubkey_t *pk);
/* Text: b58check(00 ‖ sig) with no prefix letter. */
void signature_to_str(char out[MODEL_STR_MAX], const signature_t *s);
WEFT_MUST_USE weft_err signature_parse(signature_t *out, const char *text);

/* User address of a public key: hash = BLAKE3(00 ‖ pk). */
void address_of_pubkey(address_t *out, const pubkey_t *pk);
/* Text: "AU"/"AS" + b58check(00 ‖ hash).  Errors: E_PREFIX, E_BASE58, E_CHECKSUM, E_VERSION,
 * E_LENGTH. */
void address_to_str(char out[MODEL_STR_MAX], const address_t *a);
WEFT_MUST_USE weft_err address_parse(address_t *out, const char *text);
/* Binary form: kind ‖ version(00) ‖ hash; decode errors E_ADDRESS_TYPE, E_VERSION, E_TRUNCATED. */
void address_write(wr_t *w, const address_t *a);
void address_read(rd_t *r, address_t *out);
/* Thread of an address for T threads (T a power of two, 1..256): the top log2(T) bits of the first
 * hash byte. */
uint8_t address_thread(const address_t *a, uint32_t thread_count);
bool address_eq(const address_t *a, const address_t *b);

void op_id_to_str(char out[MODEL_STR_MAX], const op_id_t *id);
WEFT_MUST_USE weft_err op_id_parse(op_id_t *out, const char *text);
void block_id_to_str(char out[MODEL_STR_MAX], const block_id_t *id);
WEFT_MUST_USE weft_err block_id_parse(block_id_t *out, const char *text);
void endorsement_id_to_str(char out[MODEL_STR_MAX], const endorsement_id_t *id);
WEFT_MUST_USE weft_err endorsement_id_parse(endorsement_id_t *out, const char *text);
/* Node id: "N" + b58check(00 ‖ pk). */
void node_id_to_str(char out[MODEL_STR_MAX], const pubkey_t *pk);
WEFT_MUST_USE weft_err node_id_parse(pubkey_t *out, const char *text);

static inline int hash32_cmp(const hash32_t *a, const hash32_t *b)
{
    return __builtin_memcmp(a->b, b->b, MODEL_HASH_LEN);
}
static inline bool block_id_eq(const block_id_t *a, const block_id_t *b)
{
    return hash32_cmp(&a->h, &b->h) == 0;
}

/* ---- operations (Massa byte layout, reference/massa-client-compat.md §2) -------------------- */

enum op_type {
    OP_TRANSACTION = 0,
    OP_ROLL_BUY = 1,
    OP_ROLL_SELL = 2,
    OP_EXECUTE_SC = 3,
    OP_CALL_SC = 4,
};

#define OP_MAX_DS_KEY_LEN 255
#define OP_MAX_DS_VALUE_LEN 500000
#define OP_MAX_DS_ENTRIES 128
#define OP_MAX_FUNC_NAME_LEN 255
#define OP_MAX_PARAM_LEN 10000000
#define OP_MAX_BYTECODE_LEN 10000000

typedef struct op_ds_entry {
    uint8_t *key; /* owned */
    size_t key_len;
    uint8_t *value; /* owned */
    size_t value_len;
} op_ds_entry;

/* The decoded content of an operation.  Variable-length fields are owned; free with op_free. */
typedef struct operation {
    amount_t fee;
    uint64_t expire_period;
    uint8_t type; /* enum op_type */
    union {
        struct {
            address_t recipient;
            amount_t amount;
        } transaction;
        struct {
            uint64_t roll_count;
        } roll; /* RollBuy and RollSell */
        struct {
            uint64_t max_gas;
            amount_t max_coins;
            uint8_t *bytecode;
            size_t bytecode_len;
            op_ds_entry *datastore; /* in encoded order; keys unique */
            size_t datastore_len;
        } execute_sc;
        struct {
            uint64_t max_gas;
            amount_t coins;
            address_t target;
            char *function; /* NUL-terminated UTF-8 */
            size_t function_len;
            uint8_t *param;
            size_t param_len;
        } call_sc;
    } u;
} operation_t;

/* Decodes serialized content strictly (limits above, UTF-8 function name, unique datastore keys,
 * no trailing bytes).  On error *out is zeroed and nothing needs freeing. */
WEFT_MUST_USE weft_err op_decode(operation_t *out, const uint8_t *data, size_t len);
/* Appends the serialized content (the inverse of op_decode: decode∘encode is the identity on bytes
 * for every decodable input). */
void op_encode(wr_t *w, const operation_t *op);
void op_free(operation_t *op);
/* Decodes a serialized ExecuteSC datastore alone (entry count, then key and value with their
 * lengths: the `operation_datastore` of execute_read_only_bytecode) into out->u.execute_sc
 * (type OP_EXECUTE_SC, no bytecode), with the limits and checks of op_decode.  Free with
 * op_free. */
WEFT_MUST_USE weft_err op_datastore_decode(operation_t *out, const uint8_t *data, size_t len);

/* digest = BLAKE3(chain_id u64 BE ‖ 00 ‖ pk ‖ content); the operation id is the same digest. */
void op_digest(hash32_t *out, uint64_t chain_id, const pubkey_t *creator, const uint8_t *content,
               size_t content_len);
/* Signature of the digest by the keypair (Ed25519 over the 32 raw digest bytes). */
void model_sign_digest(signature_t *out, const keypair_t *kp, const hash32_t *digest);
WEFT_MUST_USE weft_err model_verify_digest(const signature_t *sig, const pubkey_t *pk,
                                           const hash32_t *digest);
/* The maximum amount the operation can take from its creator: fee + amount / roll cost (roll_count
 * * roll_price) / max_coins / coins.  E_OVERFLOW if it does not fit. */
WEFT_MUST_USE weft_err op_max_spending(amount_t *out, const operation_t *op, amount_t roll_price);

/* A signed operation as carried in blocks and by the network: signature ‖ 00 ‖ pk ‖ content. */
typedef struct signed_op {
    signature_t sig;
    pubkey_t creator;
    uint8_t *content; /* owned serialized content */
    size_t content_len;
    operation_t op; /* decoded content */
    op_id_t id;     /* = digest */
} signed_op_t;

/* Decodes "sig ‖ pk ‖ content" (everything to the end is content); computes the id for chain_id.
 * Does not verify the signature nor the key's validity as a curve point: signed_op_verify does
 * both (E_SIGNATURE). */
WEFT_MUST_USE weft_err signed_op_decode(signed_op_t *out, uint64_t chain_id, const uint8_t *data,
                                        size_t len);
/* Builds a signed operation from content bytes (copied) + creator + signature. */
WEFT_MUST_USE weft_err signed_op_from_parts(signed_op_t *out, uint64_t chain_id,
                                            const pubkey_t *creator, const signature_t *sig,
                                            const uint8_t *content, size_t content_len);
void signed_op_encode(wr_t *w, const signed_op_t *s);
WEFT_MUST_USE weft_err signed_op_verify(const signed_op_t *s);
void signed_op_free(signed_op_t *s);

/* ---- endorsements, block headers, blocks (weft format, docs/formats.md) --------------------- */

typedef struct endorsement {
    slot_t slot;
    uint32_t index;      /* < endorsement_count */
    block_id_t endorsed; /* the endorsed block (the same-thread parent of the including block) */
    pubkey_t creator;
    signature_t sig;     /* over id */
    endorsement_id_t id; /* BLAKE3(00 ‖ creator pk ‖ content) */
} endorsement_t;

/* Content: period varint ‖ thread u8 ‖ index varint ‖ endorsed block id (32 B). */
void endorsement_content_write(wr_t *w, const endorsement_t *e);
/* Computes e->id from the content and creator. */
void endorsement_compute_id(endorsement_t *e);
/* Fills creator, id and sig of e (slot, index, endorsed already set). */
void endorsement_sign(endorsement_t *e, const keypair_t *kp);
/* Wire: sig (65 B) ‖ pk (33 B) ‖ content. */
void endorsement_encode(wr_t *w, const endorsement_t *e);
/* Decodes one endorsement from the reader (thread < T, index < E); computes its id. */
void endorsement_read(rd_t *r, const model_params *p, endorsement_t *out);
WEFT_MUST_USE weft_err endorsement_decode(endorsement_t *out, const model_params *p,
                                          const uint8_t *data, size_t len);
WEFT_MUST_USE weft_err endorsement_verify(const endorsement_t *e);

#define HEADER_VERSION 0

typedef struct block_header {
    uint32_t version; /* HEADER_VERSION */
    slot_t slot;
    uint32_t parent_count;                 /* 0 (genesis, period 0) or T */
    block_id_t parents[MODEL_MAX_THREADS]; /* parents[i] is in thread i */
    hash32_t ops_hash;                     /* BLAKE3 of the concatenated operation ids */
    uint32_t endorsement_count;
    endorsement_t endorsements[MODEL_MAX_ENDORSEMENTS]; /* strictly increasing index */
    pubkey_t creator;
    signature_t sig; /* over id */
    block_id_t id;   /* BLAKE3(00 ‖ creator pk ‖ content) */
} block_header_t;

/* Header content: version varint ‖ period varint ‖ thread u8 ‖ parent_count varint ‖ parents ‖
 * ops_hash ‖ endorsement_count varint ‖ endorsements (wire form).  Decoding checks: thread < T,
 * parent_count 0 iff period 0 else T, endorsement count ≤ E, indices strictly increasing and < E,
 * each endorsement's slot = the header's slot and endorsed block = the same-thread parent, genesis
 * headers carry no endorsements. */
void header_content_write(wr_t *w, const block_header_t *h);
void header_compute_id(block_header_t *h);
void header_sign(block_header_t *h, const keypair_t *kp);
/* Wire: sig (65 B) ‖ pk (33 B) ‖ content. */
void header_encode(wr_t *w, const block_header_t *h);
void header_read(rd_t *r, const model_params *p, block_header_t *out);
WEFT_MUST_USE weft_err header_decode(block_header_t *out, const model_params *p,
                                     const uint8_t *data, size_t len);
/* Verifies the header's signature and every endorsement's signature (E_SIGNATURE, also for a
 * creator key that is not a valid curve point: decoding does not check keys). */
WEFT_MUST_USE weft_err header_verify(const block_header_t *h);

/* A block: header plus the ids of its operations, in order (bodies travel separately). */
typedef struct block {
    block_header_t header;
    op_id_t *op_ids; /* owned */
    uint32_t op_count;
} block_t;

/* ops_hash of a list of operation ids: BLAKE3(id_0 ‖ id_1 ‖ ...). */
void block_ops_hash(hash32_t *out, const op_id_t *ids, size_t count);
/* Wire: header (wire) ‖ op_count varint ‖ op ids (32 B each). */
void block_encode(wr_t *w, const block_t *b);
/* Decodes a block; checks op_count ≤ max_operations_per_block, unique op ids, and that ops_hash
 * matches (E_OPS_HASH). */
WEFT_MUST_USE weft_err block_decode(block_t *out, const model_params *p, const uint8_t *data,
                                    size_t len);
void block_free(block_t *b);

#endif
