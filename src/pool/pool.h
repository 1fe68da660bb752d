/* pool — the operation and endorsement pool (DESIGN §4.5), a pure core.
 *
 * Operations are kept per thread (the thread of the creator's address: an operation can only be
 * included in blocks of that thread), ordered by priority: higher fee first, then smaller size,
 * then smaller id.  Each thread is bounded in count and bytes; when full, a new operation evicts
 * the lowest-priority ones only if it ranks above them, otherwise it is refused.  Operations whose
 * expire period has passed are evicted by pool_prune; operations whose maximum spending exceeds
 * the creator's candidate balance are refused at admission and evicted by pool_revalidate.
 * Duplicates are ignored.
 *
 * Endorsements are kept per (slot, index), at most `endorsements_per_index` different ones each
 * (forks may endorse different blocks), for slots not older than the pruning period.
 *
 * Block building: pool_select_ops picks, in priority order, the operations of a thread that are
 * valid in the block's period and fit the byte, count and gas limits and whose creators can pay
 * for all of them together; pool_select_endorsements picks, per index, an endorsement of the
 * block's slot that endorses the given (same-thread parent) block.
 *
 * Pure: no I/O, clock or globals; balances come from a caller-supplied callback, time as periods.
 * Ownership: the pool owns what it stores; pool_add_op always consumes the signed operation it is
 * given (stored, or freed if refused).  Pointers returned by selections are borrowed until the next
 * call that modifies the pool.  Not thread-safe: one owner (the pool actor) drives it.
 */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

typedef struct pool_config {
    uint32_t thread_count;
    uint64_t operation_validity_periods; /* an op is valid in periods [expire - this, expire] */
    amount_t roll_price;                 /* for the max spending of RollBuy */
    uint32_t max_ops_per_thread;         /* default 8192 */
    uint64_t max_bytes_per_thread;       /* serialized wire bytes, default 8 MiB */
    uint32_t endorsement_count;          /* E: valid indices are 0..E-1 */
    uint32_t endorsements_per_index;     /* kept per (slot, index), default 4 */
    uint32_t max_endorsement_slots;      /* distinct slots kept, default 4096 */
} pool_config;

/* Candidate balance of an address (speculative, as execution sees it).  Returns WEFT_OK, or an
 * error that makes the pool treat the balance as 0. */
typedef weft_err (*pool_balance_fn)(void *ctx, const address_t *addr, amount_t *out);

typedef struct pool pool_t;

/* Fills c with defaults for the given protocol parameters. */
void pool_config_default(pool_config *c, const model_params *p);
/* Creates an empty pool; NULL on allocation failure.  Aborts (misuse) on an invalid config. */
pool_t *pool_new(const pool_config *c);
void pool_free(pool_t *pool);

/* Admits a signed operation (already signature-checked by the caller).  `current_period` is the
 * period of the current slot.  Returns:
 *   WEFT_OK              stored (or *duplicate set: already present, nothing changed);
 *   WEFT_E_POOL_EXPIRED  expire_period < current_period;
 *   WEFT_E_POOL_TOO_EARLY expire_period > current_period + validity periods;
 *   WEFT_E_POOL_UNPAYABLE max spending > candidate balance (or overflows);
 *   WEFT_E_POOL_FULL     the thread is full of operations that rank higher.
 * Always consumes `op` (heap-allocated by the caller with malloc; freed with signed_op_free + free
 * when not stored).  `duplicate` may be NULL. */
WEFT_MUST_USE weft_err pool_add_op(pool_t *pool, signed_op_t *op, uint64_t current_period,
                                   pool_balance_fn balance, void *ctx, bool *duplicate);
/* Looks an operation up by id; borrowed, NULL if absent. */
const signed_op_t *pool_get_op(const pool_t *pool, const op_id_t *id);
/* Removes operations by id (e.g. included in final blocks or executed); unknown ids are ignored.
 * Returns how many were removed. */
size_t pool_remove_ops(pool_t *pool, const op_id_t *ids, size_t count);
/* Evicts operations that expired before `current_period` and endorsements of slots with a period
 * below `min_endorsement_period`.  Returns the number of operations evicted. */
size_t pool_prune(pool_t *pool, uint64_t current_period, uint64_t min_endorsement_period);
/* Evicts operations whose creator can no longer pay their max spending.  Returns the count. */
size_t pool_revalidate(pool_t *pool, pool_balance_fn balance, void *ctx);

typedef struct pool_limits {
    uint64_t max_bytes; /* max_block_size */
    uint32_t max_ops;   /* max_operations_per_block */
    uint64_t max_gas;   /* gas limit of a block */
} pool_limits;

/* Selects operations for a block of `slot`: thread slot.thread, valid in slot.period, in priority
 * order, within the limits, each creator able to pay the sum of the selected operations' max
 * spending.  Writes up to `cap` borrowed pointers to `out` and returns their number (0 also when
 * its scratch table of creators cannot be allocated: an empty block is always safe to build). */
size_t pool_select_ops(const pool_t *pool, slot_t slot, const pool_limits *limits,
                       pool_balance_fn balance, void *ctx, const signed_op_t **out, size_t cap);

/* The distinct creators of the first max_ops operations of a thread, in priority order (those
 * pool_select_ops may ask balances for): lets the caller fetch their balances in one batch.
 * Writes up to cap addresses and returns how many (0 when out of memory). */
size_t pool_thread_creators(const pool_t *pool, uint32_t thread, size_t max_ops, address_t *out,
                            size_t cap);

/* Admits an endorsement (signature and draw already checked by the caller).  Returns WEFT_OK
 * (*duplicate when already present), WEFT_E_ENDORSEMENT for an index >= E, or WEFT_E_POOL_FULL when
 * its (slot, index) already holds endorsements_per_index others or the slot would exceed
 * max_endorsement_slots while being older than all kept slots. */
WEFT_MUST_USE weft_err pool_add_endorsement(pool_t *pool, const endorsement_t *e, bool *duplicate);
/* For a block of `slot` whose same-thread parent is `endorsed`: out[i] = an endorsement of index i
 * endorsing it, or NULL.  `out` has room for E entries.  Returns the number found. */
size_t pool_select_endorsements(const pool_t *pool, slot_t slot, const block_id_t *endorsed,
                                const endorsement_t **out);

typedef struct pool_stats {
    size_t ops;
    uint64_t op_bytes;
    size_t endorsements;
} pool_stats;
void pool_get_stats(const pool_t *pool, pool_stats *out);

#endif
