/* pos internals shared by draw.c and selector.c: the layout of one cycle's draws. */
#ifndef WEFT_POS_INTERNAL_H
#define WEFT_POS_INTERNAL_H

#include "pos/pos.h"

struct pos_cycle_draws {
    uint64_t cycle;
    uint64_t first_period;
    uint64_t periods;  /* periods per cycle */
    uint32_t threads;  /* T */
    uint32_t per_slot; /* 1 + E */
    hash32_t seed;
    address_t *addrs; /* stakers with rolls, sorted by binary address */
    size_t addr_count;
    uint32_t *draws; /* per slot in order: producer, then endorsers; indices into addrs */
};

/* Stakers with nonzero rolls sorted by binary address, in a new array *out (caller frees; NULL on
 * error), their count and roll total.  E_POS_NO_ROLLS, E_DUPLICATE, E_OVERFLOW, E_NOMEM. */
weft_err pos_stakes_sorted(pos_stake_t **out, size_t *count, uint64_t *total,
                           const pos_stake_t *stakes, size_t n);
/* Index of addr among the cycle's stakers, or -1 if it has no rolls in this cycle. */
long pos_staker_index(const pos_cycle_draws_t *d, const address_t *addr);
/* The per_slot draw indices of a slot, producer first; NULL for a slot of another cycle. */
const uint32_t *pos_slot_draws(const pos_cycle_draws_t *d, slot_t slot);

#endif
