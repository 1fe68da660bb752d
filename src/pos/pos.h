/* pos — the proof-of-stake selector (DESIGN §4.1; the exact algorithm is docs/consensus.md §1).
 *
 * Who produces the block of a slot and who endorses it is drawn, one cycle at a time, from a
 * deterministic random stream:
 *
 *   - the draws of cycle D use the roll counts at the end of cycle D−3 and a 32-byte seed
 *     BLAKE3(D ‖ the seed bits of cycle D−2 ‖ the final-state hash at the end of cycle D−3);
 *     cycles D < 3 use the genesis roll counts and a fixed per-cycle genesis seed;
 *   - a Xoshiro256++ generator seeded from that hash draws, for every slot of the cycle in slot
 *     order, the producer and then the E endorsers, each with probability proportional to rolls
 *     (a uniform roll index by rejection sampling, mapped to stakers sorted by binary address).
 *
 * Layers: the primitives (pos_rng_*, pos_slot_seed_bit, pos_cycle_seed, pos_genesis_seed), one
 * cycle's draws (pos_draw_cycle, an immutable table), and the selector (pos_selector_*), which
 * holds the genesis rolls and a bounded cache of drawn cycles and answers queries by slot, by
 * address and slot range.  Who gathers the lookback inputs from the final state is the state
 * module's business (state_pos_lookback); this module only checks and uses them.
 *
 * Pure: no I/O, no clock, no globals; everything is a function of its arguments.
 * Errors: bad inputs return weft_err (E_POS_NO_ROLLS, E_POS_LOOKBACK, E_DUPLICATE, E_OVERFLOW,
 * E_LIMIT, E_NOMEM); queries of cycles not drawn return E_POS_CYCLE_UNAVAILABLE; NULL pointers
 * and out-of-range threads are caller misuse (abort).
 * Thread-safety: none internally.  A pos_cycle_draws_t is immutable after creation and may be read
 * from any number of threads.  Selector queries (const) may run concurrently with each other, but
 * not with pos_selector_feed or pos_selector_free: the owner serializes those.
 */
#ifndef WEFT_POS_H
#define WEFT_POS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

/* Lookback distances (DESIGN §4.1): draws of cycle D use the rolls and state hash at the end of
 * D − POS_LOOKBACK_ROLLS and the seed bits of D − POS_LOOKBACK_BITS.  Cycles below
 * POS_LOOKBACK_ROLLS use the genesis rolls and seed. */
#define POS_LOOKBACK_ROLLS 3
#define POS_LOOKBACK_BITS 2

/* Upper bound on the draws of one cycle, slots × (1 + E), to bound memory (E_LIMIT beyond).  The
 * defaults need 4096 × 17 = 69,632. */
#define POS_MAX_CYCLE_DRAWS (1u << 24)

/* A staker and its roll count. */
typedef struct pos_stake {
    address_t addr;
    uint64_t rolls;
} pos_stake_t;

/* ---- primitives ------------------------------------------------------------------------------ */

/* Xoshiro256++ state.  Seeded from a 32-byte hash: word i = bytes 8i..8i+7 read little-endian; an
 * all-zero state (never produced by BLAKE3 in practice) is replaced by s[0] = 0x9E3779B97F4A7C15.
 */
typedef struct pos_rng {
    uint64_t s[4];
} pos_rng_t;

void pos_rng_seed(pos_rng_t *r, const hash32_t *seed);
/* The next 64-bit output of Xoshiro256++. */
uint64_t pos_rng_next(pos_rng_t *r);
/* A uniform integer in [0, n) for n > 0 (n == 0 is misuse): outputs x > 2^64 − 1 − (2^64 mod n)
 * are rejected and the next is drawn; the first accepted x gives x mod n. */
uint64_t pos_rng_below(pos_rng_t *r, uint64_t n);

/* The seed bit of a finalized slot: the most significant bit of the first byte of the block id,
 * or, for a slot without block (a miss, block == NULL), of BLAKE3(period u64be ‖ thread u8). */
bool pos_slot_seed_bit(slot_t slot, const block_id_t *block);
/* Bit i of a packed bit string (bit i is in byte i/8, at weight 2^(7 − i%8): MSB first). */
static inline bool pos_bit_get(const uint8_t *bits, size_t i)
{
    return (bits[i / 8] >> (7 - i % 8)) & 1;
}
static inline void pos_bit_put(uint8_t *bits, size_t i, bool v)
{
    uint8_t m = (uint8_t)(0x80u >> (i % 8));
    bits[i / 8] = v ? (uint8_t)(bits[i / 8] | m) : (uint8_t)(bits[i / 8] & ~m);
}

/* The seed of cycle D ≥ 3: BLAKE3(D u64be ‖ bits ‖ state_hash), where bits are the seed bits of
 * cycle D−2 packed MSB first in ceil(bit_count/8) bytes (padding bits must be zero) and state_hash
 * is the final-state hash at the end of cycle D−3. */
void pos_cycle_seed(hash32_t *out, uint64_t cycle, const uint8_t *bits, size_t bit_count,
                    const hash32_t *state_hash);
/* The seed of a genesis cycle D < 3: BLAKE3("weft/pos/genesis-seed" ‖ D u64be). */
void pos_genesis_seed(hash32_t *out, uint64_t cycle);

/* ---- the draws of one cycle ------------------------------------------------------------------ */

typedef struct pos_cycle_draws pos_cycle_draws_t;

/* Draws cycle `cycle` from `stakes` (any order; entries with 0 rolls are ignored; an address may
 * appear once) and `seed`.  On success *out owns the draws (free with pos_cycle_draws_free).
 * Errors: E_POS_NO_ROLLS (no rolls at all), E_DUPLICATE (an address twice), E_OVERFLOW (roll total
 * or first period beyond u64), E_LIMIT (more than POS_MAX_CYCLE_DRAWS draws), E_INVAL (parameters
 * fail model_params_check), E_NOMEM.  *out is NULL on error. */
WEFT_MUST_USE weft_err pos_draw_cycle(pos_cycle_draws_t **out, const model_params *p,
                                      uint64_t cycle, const pos_stake_t *stakes, size_t n,
                                      const hash32_t *seed);
void pos_cycle_draws_free(pos_cycle_draws_t *d);
uint64_t pos_cycle_draws_cycle(const pos_cycle_draws_t *d);
/* The seed the draws were made from. */
const hash32_t *pos_cycle_draws_seed(const pos_cycle_draws_t *d);
/* Producer and endorsers of a slot of this cycle (E_RANGE for a slot of another cycle).
 * pos_cycle_endorsers writes exactly E addresses, endorsement index order, into out[0..E). */
WEFT_MUST_USE weft_err pos_cycle_producer(const pos_cycle_draws_t *d, slot_t slot, address_t *out);
WEFT_MUST_USE weft_err pos_cycle_endorsers(const pos_cycle_draws_t *d, slot_t slot, address_t *out);

/* ---- the selector ---------------------------------------------------------------------------- */

/* The lookback inputs of cycle D, gathered from the final state.  For D < POS_LOOKBACK_ROLLS the
 * selector uses its genesis rolls and pos_genesis_seed(D), and every other field is ignored. */
typedef struct pos_lookback {
    uint64_t cycle;           /* D, the cycle to draw */
    const pos_stake_t *rolls; /* borrowed: roll counts at the end of cycle D−3 */
    size_t roll_count;        /* entries in rolls */
    const uint8_t *seed_bits; /* borrowed: the seed bits of cycle D−2, packed MSB first */
    size_t seed_bit_count;    /* must be T × periods_per_cycle (cycle D−2 is complete) */
    hash32_t state_hash;      /* final-state hash at the end of cycle D−3 */
} pos_lookback_t;

typedef struct pos_selector pos_selector_t;

/* Creates a selector for parameters p (copied) with the genesis roll counts (copied; the same
 * rules as pos_draw_cycle: E_POS_NO_ROLLS, E_DUPLICATE, E_OVERFLOW) keeping at most max_cycles
 * drawn cycles (≥ 1; feeding one more evicts the lowest cycle).  E_INVAL for bad parameters. */
WEFT_MUST_USE weft_err pos_selector_new(pos_selector_t **out, const model_params *p,
                                        const pos_stake_t *genesis, size_t genesis_count,
                                        size_t max_cycles);
void pos_selector_free(pos_selector_t *s);
/* Draws cycle lb->cycle from its lookback inputs and caches it (replacing an earlier draw of the
 * same cycle).  Errors, with the cache unchanged: E_POS_LOOKBACK (seed_bit_count is not the
 * number of slots of a cycle, nonzero padding bits, or NULL pointers with nonzero counts), and
 * those of pos_draw_cycle. */
WEFT_MUST_USE weft_err pos_selector_feed(pos_selector_t *s, const pos_lookback_t *lb);
bool pos_selector_has_cycle(const pos_selector_t *s, uint64_t cycle);
/* The cached draws of a cycle (borrowed until the next feed or free), or NULL. */
const pos_cycle_draws_t *pos_selector_cycle(const pos_selector_t *s, uint64_t cycle);
/* Producer / endorsers (E addresses into out[0..E)) of a slot; E_POS_CYCLE_UNAVAILABLE if its
 * cycle is not drawn, E_OVERFLOW never for valid slots. */
WEFT_MUST_USE weft_err pos_selector_producer(const pos_selector_t *s, slot_t slot, address_t *out);
WEFT_MUST_USE weft_err pos_selector_endorsers(const pos_selector_t *s, slot_t slot, address_t *out);

/* Visitor of an address's draws: index −1 for a block draw, else the endorsement index.  Returns
 * false to stop the walk. */
typedef bool (*pos_draw_visit)(void *ctx, slot_t slot, int32_t index);
/* Calls visit for every draw of addr in the slots [from, to), in slot order and, within a slot,
 * block draw first then endorsement indices ascending.  Every cycle overlapping the range must be
 * drawn (E_POS_CYCLE_UNAVAILABLE otherwise, checked before any visit).  An empty range (to ≤ from)
 * visits nothing. */
WEFT_MUST_USE weft_err pos_selector_address_draws(const pos_selector_t *s, const address_t *addr,
                                                  slot_t from, slot_t to, pos_draw_visit visit,
                                                  void *ctx);

#endif
