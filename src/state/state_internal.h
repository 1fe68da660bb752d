/* state internals shared by its files: the ordered map of (table, key) → value-or-deletion (an AVL
 * tree of individually allocated nodes, used by diffs, the in-memory kv and view scans), the
 * diff's layout, and the record codecs. */
#ifndef WEFT_STATE_INTERNAL_H
#define WEFT_STATE_INTERNAL_H

#include "state/state.h"

/* ---- the ordered map ------------------------------------------------------------------------- */

typedef struct state_node {
    struct state_node *l, *r;
    int h;         /* AVL height, 1 for a leaf */
    uint8_t table; /* state_table */
    uint8_t del;   /* a deletion marker (no value) */
    uint32_t klen, vlen;
    uint8_t data[]; /* key ‖ value */
} state_node;

static inline const uint8_t *node_key(const state_node *n) { return n->data; }
static inline const uint8_t *node_val(const state_node *n) { return n->data + n->klen; }

typedef struct state_map {
    state_node *root;
    size_t count;
} state_map;

/* Bytewise order, a key before its extensions; tables first. */
int state_key_cmp(uint8_t ta, const uint8_t *a, size_t alen, uint8_t tb, const uint8_t *b,
                  size_t blen);
/* A new node (malloc), or NULL.  Lengths are checked by callers. */
state_node *state_node_new(state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen, bool del);
/* Inserts node x (taking it).  If the key was present, the old node is returned (detached; the
 * caller frees or keeps it), else NULL. */
state_node *state_map_insert(state_map *m, state_node *x);
state_node *state_map_find(const state_map *m, state_table t, const uint8_t *key, size_t klen);
/* Detaches and returns the node of a key, or NULL. */
state_node *state_map_remove(state_map *m, state_table t, const uint8_t *key, size_t klen);
void state_map_clear(state_map *m);

/* In-order iteration from a lower bound. */
typedef struct state_map_iter {
    state_node *stack[96];
    int n;
} state_map_iter;
/* Positions before the first node ≥ (t, key); key NULL with t: the first node of table t;
 * everything: state_map_iter_first. */
void state_map_iter_seek(state_map_iter *it, const state_map *m, state_table t, const uint8_t *key,
                         size_t klen);
void state_map_iter_first(state_map_iter *it, const state_map *m);
state_node *state_map_iter_next(state_map_iter *it);

/* A diff's keys also go into a Bloom filter (2 bits per key; never a false negative): a read
 * through a view asks every speculative layer in turn, and most keys are in none of them (an
 * operation id checked for replay is in no layer at all), so each layer answers "unchanged" from
 * two bits instead of a tree walk.  The filter starts at STATE_BLOOM_BITS (inline) and grows —
 * rebuilt from the keys, 4 times larger — whenever the diff holds more than one key per
 * STATE_BLOOM_BITS_PER_KEY bits, so that a slot of thousands of records still answers "unchanged"
 * for almost every key it does not hold (about 1.4 % false positives); a growth that cannot
 * allocate keeps the smaller filter (slower, never wrong). */
#define STATE_BLOOM_BITS 4096
#define STATE_BLOOM_BITS_PER_KEY 16
struct state_diff {
    state_map map;
    uint64_t *bloom; /* small, or malloc'd when grown */
    uint64_t mask;   /* the filter's bits − 1 (a power of two) */
    uint64_t small[STATE_BLOOM_BITS / 64];
};

/* The filter's hash of (t, key); state_diff_lookup_h takes it so that a view hashes a key once
 * for all its layers. */
uint64_t state_key_hash(state_table t, const uint8_t *key, size_t klen);
/* The filter's answer for hash h: false means d holds no such key (for tests). */
bool state_diff_may_have(const state_diff_t *d, uint64_t h);
state_change state_diff_lookup_h(const state_diff_t *d, uint64_t h, state_table t,
                                 const uint8_t *key, size_t klen, const uint8_t **val,
                                 size_t *vlen);

/* The kv of a final state (views read through it). */
state_kv_t state_final_kv(const state_final_t *f);

/* The keys of a view range (copies), for changes after a scan (ledger.c). */
typedef struct state_keys {
    uint8_t **keys;
    size_t *lens;
    size_t n;
} state_keys;
WEFT_MUST_USE weft_err state_scan_keys(state_view_t *v, state_table t, const uint8_t *from,
                                       size_t flen, const uint8_t *to, size_t tlen,
                                       state_keys *out);
void state_keys_free(state_keys *k);

/* ---- helpers --------------------------------------------------------------------------------- */

static inline void state_put_u64be(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t state_get_u64be(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

/* Whether (table, key) is in [from, to) (to NULL: unbounded). */
bool state_in_range(const uint8_t *key, size_t klen, const uint8_t *from, size_t flen,
                    const uint8_t *to, size_t tlen);

/* ---- keys and record codecs (records.c) ------------------------------------------------------ */

#define STATE_ADDR_KEY_LEN MODEL_ADDRESS_LEN /* kind ‖ 00 ‖ hash */
#define STATE_CYCLE_ADDR_KEY_LEN (8 + STATE_ADDR_KEY_LEN)
#define STATE_CREDIT_KEY_LEN (8 + 1 + STATE_ADDR_KEY_LEN)
#define STATE_EXPIRY_KEY_LEN (8 + MODEL_HASH_LEN)

void state_key_addr(uint8_t out[STATE_ADDR_KEY_LEN], const address_t *a);
/* Decodes a 34-byte address key; false if malformed. */
bool state_key_addr_read(const uint8_t *key, size_t klen, address_t *out);
void state_key_cycle_addr(uint8_t out[STATE_CYCLE_ADDR_KEY_LEN], uint64_t cycle,
                          const address_t *a);
void state_key_credit(uint8_t out[STATE_CREDIT_KEY_LEN], slot_t due, const address_t *a);

/* A varint-only value (balances, rolls, credits, snapshots, version): writes into out (at least
 * VARINT_MAX_LEN bytes), returns the length. */
size_t state_enc_u64(uint8_t *out, uint64_t v);
WEFT_MUST_USE weft_err state_dec_u64(const uint8_t *val, size_t vlen, uint64_t *out);
/* Production statistics: varint produced ‖ varint missed. */
size_t state_enc_prod(uint8_t out[2 * VARINT_MAX_LEN], uint64_t produced, uint64_t missed);
WEFT_MUST_USE weft_err state_dec_prod(const uint8_t *val, size_t vlen, uint64_t *produced,
                                      uint64_t *missed);
/* Executed operation: varint expire period ‖ success byte (0 or 1). */
size_t state_enc_op(uint8_t out[VARINT_MAX_LEN + 1], uint64_t expire, bool success);
WEFT_MUST_USE weft_err state_dec_op(const uint8_t *val, size_t vlen, uint64_t *expire,
                                    bool *success);
/* Seed bits of a cycle: varint count ‖ ceil(count/8) bytes, MSB first, zero padding; count ≤
 * POS_MAX_CYCLE_DRAWS.  The decoder returns a borrowed pointer to the packed bits. */
void state_enc_bits(wr_t *w, const uint8_t *bits, size_t count);
WEFT_MUST_USE weft_err state_dec_bits(const uint8_t *val, size_t vlen, const uint8_t **bits,
                                      size_t *count);
/* Final cursor: varint period ‖ thread byte (< MODEL_MAX_THREADS). */
size_t state_enc_cursor(uint8_t out[VARINT_MAX_LEN + 1], slot_t s);
WEFT_MUST_USE weft_err state_dec_cursor(const uint8_t *val, size_t vlen, slot_t *out);

/* Meta keys. */
#define STATE_META_VERSION "version"
#define STATE_META_FINGERPRINT "fingerprint"
#define STATE_META_CURSOR "cursor"
/* A kept fingerprint (state_final_keep_fingerprints): "fp" ‖ u64be period ‖ thread byte → the
 * 64-byte fingerprint after that final slot. */
#define STATE_META_FP_PREFIX "fp"
#define STATE_META_FP_KEY_LEN 11
void state_meta_fp_key(uint8_t out[STATE_META_FP_KEY_LEN], slot_t s);

#endif
