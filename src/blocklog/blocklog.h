/* blocklog — the node's block log (DESIGN §5 "Repository", seed 002's chain store): every block the
 * node has taken into its graph, kept in an LMDB environment of its own (REPO/blocks/), so that a
 * restart rebuilds the pending graph without asking peers and no final block is ever lost.
 *
 * Contents:
 *   - block records: block id → (slot, status, opaque record bytes).  The record bytes are the
 *     node's business (the block with its operations and the periods of its parents; src/node
 *     encodes and decodes them); the log only stores them.  Status is PENDING (taken into the
 *     graph, not final yet) or FINAL.
 *   - the final index: slot → block id of the final block of that slot (a slot with no final
 *     block is a miss once a later block of its thread is final).
 *   - the heads: the latest final block of every thread (id and slot) — the "head" pointer of
 *     seed 002 — updated in the same transaction as the final index.
 *
 * Durability: every mutating call is one LMDB write transaction, committed (and synced unless
 * no_sync) before it returns (blocklog_write groups several writes in one): after a crash the log
 * holds every call that returned WEFT_OK, and the call in progress either whole or not at all.
 * Layout (blocklog.c): databases "blocks", "pending" (the (slot, id) index of PENDING blocks),
 * "final" and "meta" (format, T, heads). Retention: blocklog_prune_final removes final blocks
 * (records and index) below a period; the heads are never removed.
 *
 * Errors: E_STORE_LMDB (logged), E_STORE_MAP_FULL (past map_size_max; the map grows by doubling
 * before that, transparently: the call's transaction is replayed), E_IO, E_NOMEM, E_NOT_FOUND
 * (lookups), E_INVAL (thread ≥ thread_count, empty record), E_CORRUPT (a stored entry that does
 * not decode: the log was damaged; logged), E_VERSION (a log written by a later format).
 * The log stores only the node's own records, so it is not fuzzed; a damaged entry is refused
 * with E_CORRUPT, never trusted (tests write garbage through raw LMDB).
 * Thread-safety: one thread (the consensus actor) uses a blocklog_t; reads from other threads go
 * through that actor.
 */
#ifndef WEFT_BLOCKLOG_H
#define WEFT_BLOCKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

typedef struct blocklog blocklog_t;

typedef struct blocklog_options {
    const char *dir;       /* environment directory; created (0700) if missing */
    uint32_t thread_count; /* T; fixed for the life of the log (E_INVAL if it differs on reopen) */
    size_t map_size;       /* initial map size; 0: 64 MiB */
    size_t map_size_max;   /* 0: 1 TiB */
    bool no_sync;          /* MDB_NOSYNC (tests) */
} blocklog_options;

typedef enum blocklog_status {
    BLOCKLOG_PENDING = 1,
    BLOCKLOG_FINAL = 2,
} blocklog_status;

WEFT_MUST_USE weft_err blocklog_open(blocklog_t **out, const blocklog_options *o);
void blocklog_close(blocklog_t *l);

/* Stores a block as PENDING (replacing nothing: E_EXISTS if the id is present). */
WEFT_MUST_USE weft_err blocklog_put(blocklog_t *l, const block_id_t *id, slot_t slot,
                                    const uint8_t *rec, size_t len);
/* Reads a block: its slot, status and a copy of its record (*rec malloc'd, caller frees). */
WEFT_MUST_USE weft_err blocklog_get(blocklog_t *l, const block_id_t *id, slot_t *slot,
                                    blocklog_status *status, uint8_t **rec, size_t *len);
bool blocklog_has(blocklog_t *l, const block_id_t *id);
/* Removes a pending block (stale or invalid); E_NOT_FOUND if absent, E_STATE if final. */
WEFT_MUST_USE weft_err blocklog_remove(blocklog_t *l, const block_id_t *id);

/* Marks blocks final, in one transaction: each must be present (E_NOT_FOUND otherwise, nothing
 * written); sets its status, adds it to the final index, and advances the head of its thread if
 * its slot is later than the head's.  An id already final is skipped; a block whose slot already
 * has another final block is refused (E_EXISTS, nothing written). */
WEFT_MUST_USE weft_err blocklog_mark_final(blocklog_t *l, const block_id_t *ids, size_t n);
/* Group commit: several writes in one transaction — one commit, and one sync, for all of them.
 * In order: blocklog_put of every puts[i], then blocklog_mark_final of ids[0..nf) (which may name
 * the blocks just put), then blocklog_remove of rm[0..nr), where a block that is absent or final
 * is skipped (counted in *skipped, may be NULL; a block put and removed in the same call is not
 * kept).  All of it or nothing: the first error of a put (E_EXISTS, E_INVAL for a thread ≥ T or an
 * empty record) or of the marks is returned and nothing is written.  The caller keeps its
 * arguments (copied by LMDB during the call). */
typedef struct blocklog_put_rec {
    const block_id_t *id;
    slot_t slot;
    const uint8_t *rec;
    size_t len;
} blocklog_put_rec;
WEFT_MUST_USE weft_err blocklog_write(blocklog_t *l, const blocklog_put_rec *puts, size_t np,
                                      const block_id_t *ids, size_t nf, const block_id_t *rm,
                                      size_t nr, size_t *skipped);
/* blocklog_write of one block (when id is not NULL) and the blocks it made final. */
WEFT_MUST_USE weft_err blocklog_put_final(blocklog_t *l, const block_id_t *id, slot_t slot,
                                          const uint8_t *rec, size_t len, const block_id_t *ids,
                                          size_t n);

/* The head of every thread: ids[t], slots[t] for t < T; *have false (and nothing written) when
 * some thread has no final block yet (a fresh log: the heads are the genesis blocks, which the
 * node stores and marks final, all T in one call, at its first start). */
WEFT_MUST_USE weft_err blocklog_heads(blocklog_t *l, block_id_t *ids, slot_t *slots, bool *have);
/* The final block of a slot, or E_NOT_FOUND (a miss, pruned, or not final yet). */
WEFT_MUST_USE weft_err blocklog_final_at(blocklog_t *l, slot_t slot, block_id_t *id);

/* Visits every PENDING block in (slot, id) order with its record (borrowed for the call).
 * The visitor returns false to stop.  It may call the log's readers (the walk has a read
 * transaction of its own and sees the log as it was when the walk began), not its writers. */
typedef bool (*blocklog_visit)(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec,
                               size_t len);
WEFT_MUST_USE weft_err blocklog_foreach_pending(blocklog_t *l, blocklog_visit visit, void *ctx);
/* Visits the final index entries with from ≤ slot < to, in slot order (rec borrowed). */
WEFT_MUST_USE weft_err blocklog_foreach_final(blocklog_t *l, slot_t from, slot_t to,
                                              blocklog_visit visit, void *ctx);

/* Removes final blocks of periods < below_period except the heads; *removed (may be NULL) gets
 * the count.  One transaction; bounded work per call is not required. */
WEFT_MUST_USE weft_err blocklog_prune_final(blocklog_t *l, uint64_t below_period, size_t *removed);

typedef struct blocklog_stats {
    size_t pending, final; /* block counts by status (zero if the log cannot be read) */
    size_t map_size;       /* current map size in bytes */
} blocklog_stats;
void blocklog_get_stats(blocklog_t *l, blocklog_stats *out);

#endif
