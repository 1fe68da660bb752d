/* fpring — the fingerprints of the last final slots (internal to src/node): execution records the
 * final state's fingerprint after each slot it finalizes and answers a peer that checks a transfer
 * (node_net_state_fingerprint).  Final slots are consecutive, so that an entry's place is its
 * slot's index modulo the capacity: a slot is known while no slot `cap` indices later replaced
 * it.  Every entry names its slot, so that a gap (a ring cleared, a slot never put) is never read
 * as another slot's fingerprint.
 *
 * A ring without room (capacity 0, or its allocation failed) keeps nothing: every final slot is
 * NOT_KEPT.  Not thread-safe: execution guards it with a lock of its own (execution.c). */
#ifndef WEFT_NODE_FPRING_H
#define WEFT_NODE_FPRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "node/node.h"

typedef struct fpring_entry {
    uint64_t idx1; /* slot index + 1 (0: empty) */
    uint8_t fp[NODE_STATE_FP_LEN];
} fpring_entry;

typedef struct fpring {
    fpring_entry *e;
    size_t cap;
} fpring;

/* Room for cap slots (0: none); E_NOMEM (the ring keeps nothing then, and stays usable). */
WEFT_MUST_USE weft_err fpring_init(fpring *r, size_t cap);
void fpring_free(fpring *r);
/* Forgets every slot. */
void fpring_clear(fpring *r);
/* Records the fingerprint of final slot s (thread < p->thread_count), replacing the slot cap
 * indices before it. */
void fpring_put(fpring *r, const model_params *p, slot_t s, const uint8_t fp[NODE_STATE_FP_LEN]);
/* The status of slot s (any input, a peer's) given the final cursor (has_cursor false: none yet):
 * NOT_KEPT for a thread ≥ p->thread_count; AHEAD after the cursor or without one; KNOWN (fp
 * filled) when the ring holds s; else NOT_KEPT. */
node_fp_status fpring_get(const fpring *r, const model_params *p, bool has_cursor, slot_t cursor,
                          slot_t s, uint8_t fp[NODE_STATE_FP_LEN]);

#endif
