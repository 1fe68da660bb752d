/* state — the ledger and proof-of-stake state of weft, as diffs over a final state kept in a
 * key-value store (DESIGN §4.2–4.3; the byte layout is consensus: docs/consensus.md §2).
 *
 * Model.  The whole state is a set of records (table, key) → value in a few tables: ledger
 * balances, bytecode and datastore entries; rolls, deferred credits, per-cycle seed bits,
 * production statistics, roll and state-hash snapshots; executed operation ids (by id and by
 * expiry).  Four pieces work on it:
 *
 *   - state_kv_t, the storage interface (a vtable): ordered tables with get / scan and one write
 *     transaction at a time (begin, put, del, commit, abort).  state_memkv is the in-memory
 *     implementation here; src/store provides LMDB and a fault-injecting wrapper.
 *   - state_diff_t, the changes of one slot (or of one operation): an ordered map of
 *     (table, key) → new value or deletion.
 *   - state_view_t, a read-through view: reads look in the top diff, then older diffs newest
 *     first, then the final state; writes go to the top diff.  Execution runs a slot over
 *     [slot diff] → [newer speculative diffs] → final state.
 *   - state_final_t, the final state over a kv: finalizing a slot writes its diff, the cycle
 *     bookkeeping, the fingerprint and the final cursor in one storage transaction; any failure
 *     aborts it and leaves both the storage and the in-memory state as before.  A batch
 *     (state_final_batch_begin … _commit) finalizes several slots in one transaction: one commit,
 *     one sync, all of them or none.
 *
 * The fingerprint is the XOR, over every record outside the meta table, of
 * BLAKE3-XOF-64(table ‖ varint(key length) ‖ key ‖ value); it does not depend on insertion order
 * and is maintained incrementally.  The state hash is BLAKE3(fingerprint).
 *
 * Typed accessors (state_balance_*, state_rolls_*, …) encode and decode the records; a record that
 * does not decode is E_STATE_RECORD.
 *
 * Pure: no I/O except through the kv, no clock, no globals.
 * Ownership: documented per function; "borrowed" pointers stay valid until the stated event.
 * Thread-safety: none.  A final state, its kv, the diffs and the views over them belong to one
 * thread (the execution actor); other threads read through their own kv handles (which see
 * committed state only: see "Batches" below).
 */
#ifndef WEFT_STATE_H
#define WEFT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "pos/pos.h"

/* ---- tables and limits ----------------------------------------------------------------------- */

typedef enum state_table {
    STATE_T_META = 0,        /* node metadata (version, fingerprint, cursor): not fingerprinted */
    STATE_T_BALANCE = 1,     /* address → varint nanoMAS; the entry exists iff this record does */
    STATE_T_BYTECODE = 2,    /* address → bytecode (nonempty) */
    STATE_T_DATASTORE = 3,   /* address ‖ datastore key → value */
    STATE_T_ROLLS = 4,       /* address → varint rolls (nonzero) */
    STATE_T_CREDITS = 5,     /* u64be period ‖ thread ‖ address → varint nanoMAS (nonzero) */
    STATE_T_CYCLES = 6,      /* u64be cycle → seed bits so far */
    STATE_T_PROD = 7,        /* u64be cycle ‖ address → varint produced ‖ varint missed */
    STATE_T_ROLL_SNAP = 8,   /* u64be cycle ‖ address → varint rolls at the end of the cycle */
    STATE_T_HASH_SNAP = 9,   /* u64be cycle → 32-byte state hash at the end of the cycle */
    STATE_T_OPS = 10,        /* op id → varint expire period ‖ success byte */
    STATE_T_OPS_EXPIRY = 11, /* u64be expire period ‖ op id → empty */
    STATE_T_COUNT = 12,
} state_table;

/* The table's name (the LMDB database name): "meta", "balance", …; NULL if out of range. */
const char *state_table_name(state_table t);

#define STATE_MAX_KEY_LEN 511           /* LMDB's default key limit */
#define STATE_MAX_VALUE_LEN (16u << 20) /* a record, e.g. bytecode or a datastore value */
#define STATE_MAX_DS_KEY_LEN 255        /* datastore keys (Massa's limit) */
#define STATE_FP_LEN 64                 /* fingerprint width, bytes */
#define STATE_KEEP_CYCLES 5             /* cycle history kept in the final state */
#define STATE_FORMAT_VERSION 1

/* ---- the storage interface ------------------------------------------------------------------- */

/* Scan visitor: key and value are borrowed for the call.  Returns true to continue. */
typedef bool (*state_scan_cb)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                              size_t vlen);

/* A storage backend.  Keys order bytewise, a key before its extensions.  Reads see the open write
 * transaction's own writes.  Every function returns WEFT_OK or an error; backends add their own
 * errors (E_STORE_*, E_IO, E_NOMEM).
 *   get:    resets `out` (len = 0) and writes the value into it; E_NOT_FOUND if absent.
 *   scan:   visits the records with from ≤ key < to in key order (to == NULL: to the table's end).
 *           The visitor must not call the kv.
 *   begin:  opens the write transaction (E_STATE if one is open).
 *   put:    inserts or replaces.  del: removes (absent keys are fine).  Both need an open txn.
 *   commit: makes the transaction's writes durable and atomic.  On failure the transaction is
 *           gone as if aborted (the caller must not call abort).
 *   abort:  drops the open transaction (no-op without one).
 * A failed put or del poisons the transaction: everything but abort then fails. */
typedef struct state_kv_vtbl {
    weft_err (*get)(void *self, state_table t, const uint8_t *key, size_t klen, wr_t *out);
    weft_err (*scan)(void *self, state_table t, const uint8_t *from, size_t flen, const uint8_t *to,
                     size_t tlen, state_scan_cb cb, void *ctx);
    weft_err (*begin)(void *self);
    weft_err (*put)(void *self, state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen);
    weft_err (*del)(void *self, state_table t, const uint8_t *key, size_t klen);
    weft_err (*commit)(void *self);
    void (*abort)(void *self);
} state_kv_vtbl;

typedef struct state_kv {
    const state_kv_vtbl *vt;
    void *self;
} state_kv_t;

/* The in-memory backend (tests, the simulator).  Not durable; abort undoes the transaction's
 * writes.  state_memkv_free frees everything (an open transaction is dropped). */
typedef struct state_memkv state_memkv_t;
WEFT_MUST_USE weft_err state_memkv_new(state_memkv_t **out);
void state_memkv_free(state_memkv_t *m);
state_kv_t state_memkv_kv(state_memkv_t *m);

/* ---- diffs ----------------------------------------------------------------------------------- */

typedef struct state_diff state_diff_t;

WEFT_MUST_USE weft_err state_diff_new(state_diff_t **out);
void state_diff_free(state_diff_t *d);
void state_diff_clear(state_diff_t *d);
/* Records a new value / a deletion of (t, key), replacing an earlier change of the same key.
 * E_LIMIT for keys longer than STATE_MAX_KEY_LEN or values longer than STATE_MAX_VALUE_LEN,
 * E_INVAL for t ≥ STATE_T_COUNT, E_NOMEM; the diff is unchanged on error. */
WEFT_MUST_USE weft_err state_diff_put(state_diff_t *d, state_table t, const uint8_t *key,
                                      size_t klen, const uint8_t *val, size_t vlen);
WEFT_MUST_USE weft_err state_diff_del(state_diff_t *d, state_table t, const uint8_t *key,
                                      size_t klen);

typedef enum state_change {
    STATE_UNCHANGED = 0, /* the diff does not touch the key */
    STATE_SET = 1,       /* *val, *vlen: the new value, borrowed until the diff changes */
    STATE_DELETED = 2,
} state_change;
state_change state_diff_lookup(const state_diff_t *d, state_table t, const uint8_t *key,
                               size_t klen, const uint8_t **val, size_t *vlen);
/* Moves every change of src on top of dst (src's change of a key wins) and empties src.  Never
 * fails: the nodes move, nothing is allocated. */
void state_diff_absorb(state_diff_t *dst, state_diff_t *src);
size_t state_diff_count(const state_diff_t *d);
/* Visits the changes in (table, key) order; val is NULL for a deletion.  Returns true to go on. */
typedef bool (*state_diff_visit)(void *ctx, state_table t, const uint8_t *key, size_t klen,
                                 const uint8_t *val, size_t vlen);
void state_diff_foreach(const state_diff_t *d, state_diff_visit visit, void *ctx);

/* ---- the final state ------------------------------------------------------------------------- */

typedef struct state_final state_final_t;

/* Opens the final state kept in kv (borrowed; must outlive the final state).  An empty store
 * opens as "no genesis yet" with a zero fingerprint.  Errors: E_INVAL (parameters), E_VERSION
 * (another format version), E_STATE_RECORD (malformed metadata), kv errors. */
WEFT_MUST_USE weft_err state_final_open(state_final_t **out, const model_params *p, state_kv_t kv);
void state_final_close(state_final_t *f);
/* Whether the genesis state has been written. */
bool state_final_has_genesis(const state_final_t *f);
/* Writes the genesis records (ledger, rolls, …) of `initial` in one transaction.  E_EXISTS if
 * the store already has a genesis; E_INVAL if initial writes the meta table. */
WEFT_MUST_USE weft_err state_final_genesis(state_final_t *f, const state_diff_t *initial);
/* The last finalized slot; false if none yet. */
bool state_final_cursor(const state_final_t *f, slot_t *out);
/* The slot to finalize next: (0,0) first, then the slot after the cursor. */
WEFT_MUST_USE weft_err state_final_next_slot(const state_final_t *f, slot_t *out);
/* Finalizes `slot` with its diff (borrowed): writes the changes; if slot is the last of its
 * cycle C, the cycle bookkeeping (docs/consensus.md §2.4: roll snapshot of C, pruning of cycles
 * before C − 4, state-hash snapshot of C); then the fingerprint and the cursor — all in one
 * storage transaction.  On any error nothing is written and the final state is unchanged.
 * Inside a batch the writes go to the batch's transaction and nothing is committed; on any error
 * the whole batch is aborted (as state_final_batch_abort: the final state is back at the batch's
 * start and no batch is open).
 * Errors: E_STATE (no genesis), E_STATE_SLOT (not the next slot), E_INVAL (diff writes the meta
 * table), kv errors. */
WEFT_MUST_USE weft_err state_final_apply(state_final_t *f, slot_t slot, const state_diff_t *diff);

/* Batches: several slots finalized in one storage transaction (group commit: one commit and one
 * sync for all of them, where each slot alone costs one).
 *
 *   state_final_batch_begin(f);                 opens the kv's write transaction
 *   state_final_apply(f, s1, d1); … (f, sN, dN) each slot as above, in order, nothing committed
 *   state_final_batch_commit(f);                all N slots durable at once, or none
 *
 * Inside a batch every slot still does its own cycle bookkeeping, fingerprint and cursor, in
 * order, and the in-memory fingerprint and cursor (state_final_cursor, _next_slot, _fingerprint,
 * _hash) advance with each apply.  Reads through the final state's kv — views over f
 * (state_view_*), exec_slot over f, state_final_verify — see the batch's writes so far: slot N + 1
 * executes over slot N.  Those reads belong to the final state's thread, which owns the batch.
 * Anything else sees the committed state only: other kv handles and LMDB snapshots
 * (store_snapshot_open) taken before the commit, other processes, and a reopened store after a
 * crash, which finds the state at the batch's start or at its end, never in between.  Whoever
 * publishes finality to other threads (a cursor, events) must do it after the commit.
 *
 * begin: E_STATE without genesis or with a batch open; kv errors (nothing open then).
 * commit: E_STATE without a batch; kv errors — the transaction is gone and the final state is
 *   exactly as at the batch's start (storage and memory).  Either way no batch is open after it.
 *   A batch without slots is closed without a commit.
 * abort: drops the batch's writes and restores the fingerprint and cursor of its start (no-op
 *   without a batch).  Closing the final state with a batch open aborts it.
 * Genesis cannot be written inside a batch (it requires no genesis; a batch requires one).
 * Thread-safety: as the final state (none). */
WEFT_MUST_USE weft_err state_final_batch_begin(state_final_t *f);
WEFT_MUST_USE weft_err state_final_batch_commit(state_final_t *f);
void state_final_batch_abort(state_final_t *f);
/* Whether a batch is open. */
bool state_final_in_batch(const state_final_t *f);
void state_final_fingerprint(const state_final_t *f, uint8_t out[STATE_FP_LEN]);
/* Kept fingerprints: from now on, finalizing a slot also writes, in its transaction, the
 * fingerprint after it into the meta table (docs/consensus.md §2.5) and deletes the one n slots
 * before, so that the store holds those of the last n final slots — after a crash too, for
 * whoever answers peers about past slots (docs/node.md "State transfer").  A final state opens
 * keeping none (n = 0).  This call first deletes, in one transaction, every entry that is not a
 * well-formed one of the last n slots up to the cursor (all of them for n = 0 or without a
 * cursor): what an earlier run kept beyond n, and anything malformed.  E_STATE inside a batch; kv
 * errors (n unchanged then).  Cost: a scan of the kept entries. */
WEFT_MUST_USE weft_err state_final_keep_fingerprints(state_final_t *f, uint64_t n);
/* Visits the kept fingerprints in slot order (fp borrowed for the call); return false to stop.
 * E_STATE_RECORD for a malformed entry (a thread ≥ T included); kv errors.  Reads through the final
 * state's kv: a batch's writes so far included. */
typedef bool (*state_final_fp_cb)(void *ctx, slot_t s, const uint8_t fp[STATE_FP_LEN]);
WEFT_MUST_USE weft_err state_final_fingerprints(state_final_t *f, state_final_fp_cb cb, void *ctx);
/* BLAKE3 of the fingerprint. */
void state_final_hash(const state_final_t *f, hash32_t *out);
/* Recomputes the fingerprint from every record and checks that each record decodes: E_STATE_CORRUPT
 * if the fingerprint differs, E_STATE_RECORD for a malformed record.  Cost: a full scan. */
WEFT_MUST_USE weft_err state_final_verify(state_final_t *f);
/* Completes a final state written record by record into kv (a state fetched from a peer, whose
 * records were put outside any final state): recomputes the fingerprint from every record, checking
 * each (E_STATE_RECORD), compares it with fp (E_STATE_CORRUPT), then writes the metadata — format
 * version, fingerprint, cursor — in one transaction, so that state_final_open finds a final state
 * at `cursor`.  E_EXISTS if kv already has metadata; E_INVAL for a cursor thread ≥ T. */
WEFT_MUST_USE weft_err state_final_adopt(const model_params *p, state_kv_t kv, slot_t cursor,
                                         const uint8_t fp[STATE_FP_LEN]);
/* The fingerprint contribution of one record (XOR it in to add, again to remove). */
void state_fp_entry(uint8_t out[STATE_FP_LEN], state_table t, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t vlen);
const model_params *state_final_params(const state_final_t *f);

/* ---- views ----------------------------------------------------------------------------------- */

/* A read-through view.  Fields are private; the struct is public so views live on the stack. */
typedef struct state_view {
    state_final_t *final;
    const state_diff_t *const *layers; /* oldest first */
    size_t layer_count;
    state_diff_t *top; /* writable; NULL for a read-only view */
    wr_t scratch;
} state_view_t;

/* Initializes a view over final (borrowed) with the speculative diffs layers[0..n) (borrowed,
 * oldest first; a newer one hides an older one) and the writable top diff (borrowed, may be NULL).
 * Free with state_view_free (frees the scratch buffer only). */
void state_view_init(state_view_t *v, state_final_t *final, const state_diff_t *const *layers,
                     size_t n, state_diff_t *top);
void state_view_free(state_view_t *v);
/* Reads (t, key): WEFT_OK and the value (borrowed until the next call on the view or a change of
 * its diffs), or E_NOT_FOUND; kv errors. */
WEFT_MUST_USE weft_err state_view_get(state_view_t *v, state_table t, const uint8_t *key,
                                      size_t klen, const uint8_t **val, size_t *vlen);
/* Writes to the top diff (a read-only view is caller misuse).  Errors of state_diff_put/del. */
WEFT_MUST_USE weft_err state_view_put(state_view_t *v, state_table t, const uint8_t *key,
                                      size_t klen, const uint8_t *val, size_t vlen);
WEFT_MUST_USE weft_err state_view_del(state_view_t *v, state_table t, const uint8_t *key,
                                      size_t klen);
/* Visits the records with from ≤ key < to (to NULL: to the end of the table) as the view sees
 * them, in key order.  The visitor must not use the view.  Cost: the range is merged in memory
 * (proportional to its size in the final state and the diffs). */
WEFT_MUST_USE weft_err state_view_scan(state_view_t *v, state_table t, const uint8_t *from,
                                       size_t flen, const uint8_t *to, size_t tlen,
                                       state_scan_cb cb, void *ctx);

/* ---- ledger ---------------------------------------------------------------------------------- */

/* Balance of an entry; E_NOT_FOUND if the address has no ledger entry. */
WEFT_MUST_USE weft_err state_balance_get(state_view_t *v, const address_t *a, amount_t *out);
/* Sets the balance, creating the entry if needed. */
WEFT_MUST_USE weft_err state_balance_set(state_view_t *v, const address_t *a, amount_t amount);
/* Bytecode of an address (borrowed as for state_view_get); E_NOT_FOUND if none.  Setting empty
 * bytecode removes it.  Bytecode and datastore writes do not check that the entry exists: that is
 * the executor's rule. */
WEFT_MUST_USE weft_err state_bytecode_get(state_view_t *v, const address_t *a, const uint8_t **code,
                                          size_t *len);
WEFT_MUST_USE weft_err state_bytecode_set(state_view_t *v, const address_t *a, const uint8_t *code,
                                          size_t len);
/* Datastore entries; keys are 0..STATE_MAX_DS_KEY_LEN bytes (E_LIMIT beyond). */
WEFT_MUST_USE weft_err state_ds_get(state_view_t *v, const address_t *a, const uint8_t *key,
                                    size_t klen, const uint8_t **val, size_t *vlen);
WEFT_MUST_USE weft_err state_ds_set(state_view_t *v, const address_t *a, const uint8_t *key,
                                    size_t klen, const uint8_t *val, size_t vlen);
WEFT_MUST_USE weft_err state_ds_del(state_view_t *v, const address_t *a, const uint8_t *key,
                                    size_t klen);
/* Visits the datastore entries of a whose key starts with prefix, in key order; the visitor gets
 * the datastore key (without the address). */
WEFT_MUST_USE weft_err state_ds_scan(state_view_t *v, const address_t *a, const uint8_t *prefix,
                                     size_t plen, state_scan_cb cb, void *ctx);
/* Deletes the whole entry: balance, bytecode and datastore. */
WEFT_MUST_USE weft_err state_entry_delete(state_view_t *v, const address_t *a);

/* ---- proof of stake -------------------------------------------------------------------------- */

/* Roll count (0 if none); setting 0 removes the record. */
WEFT_MUST_USE weft_err state_rolls_get(state_view_t *v, const address_t *a, uint64_t *out);
WEFT_MUST_USE weft_err state_rolls_set(state_view_t *v, const address_t *a, uint64_t rolls);
/* Visits every staker with its rolls in binary address order. */
typedef bool (*state_stake_visit)(void *ctx, const address_t *a, uint64_t rolls);
WEFT_MUST_USE weft_err state_rolls_scan(state_view_t *v, state_stake_visit visit, void *ctx);

/* Deferred credits due at a slot (0 if none); add is checked (E_OVERFLOW). */
WEFT_MUST_USE weft_err state_credit_get(state_view_t *v, slot_t due, const address_t *a,
                                        amount_t *out);
WEFT_MUST_USE weft_err state_credit_add(state_view_t *v, slot_t due, const address_t *a,
                                        amount_t amount);
/* Removes every credit due at `due`, then reports each (address order) to visit, which must not
 * use the view.  On error nothing is visited (the top diff may hold some removals). */
typedef void (*state_credit_visit)(void *ctx, const address_t *a, amount_t amount);
WEFT_MUST_USE weft_err state_credits_take(state_view_t *v, slot_t due, state_credit_visit visit,
                                          void *ctx);

/* Records the outcome of an executed slot: appends its seed bit (pos_slot_seed_bit) to its
 * cycle's bits and counts, for the drawn producer, a produced block (block != NULL) or a miss.
 * Slots must be recorded in order from the first slot of the cycle: E_STATE_SEED_BITS otherwise. */
WEFT_MUST_USE weft_err state_slot_record(state_view_t *v, slot_t slot, const block_id_t *block,
                                         const address_t *producer);
/* The seed bits recorded for a cycle so far: *count bits, packed MSB first into out (at least
 * ceil(count/8) bytes reset and written; it is a wr_t reset first).  Count 0 if none. */
WEFT_MUST_USE weft_err state_cycle_bits(state_view_t *v, uint64_t cycle, wr_t *out, size_t *count);
/* Production statistics of an address in a cycle (0, 0 if none). */
WEFT_MUST_USE weft_err state_prod_get(state_view_t *v, uint64_t cycle, const address_t *a,
                                      uint64_t *produced, uint64_t *missed);
typedef bool (*state_prod_visit)(void *ctx, const address_t *a, uint64_t produced, uint64_t missed);
WEFT_MUST_USE weft_err state_prod_scan(state_view_t *v, uint64_t cycle, state_prod_visit visit,
                                       void *ctx);
/* The state hash snapshot taken at the end of a cycle; E_NOT_FOUND if none (not complete yet or
 * pruned). */
WEFT_MUST_USE weft_err state_hash_snapshot(state_view_t *v, uint64_t cycle, hash32_t *out);

/* The selector inputs of cycle D gathered from the state (docs/consensus.md §1.1): roll snapshot
 * and hash snapshot of D−3, seed bits of D−2.  Owns its arrays; free with state_lookback_free. */
typedef struct state_lookback {
    pos_lookback_t lb; /* points into the arrays below */
    pos_stake_t *rolls;
    uint8_t *bits;
} state_lookback_t;
/* E_POS_CYCLE_UNAVAILABLE if D−2 is not complete or D−3's snapshots are missing (pruned or not
 * taken yet).  For D < 3 the result only carries the cycle number (genesis rules). */
WEFT_MUST_USE weft_err state_pos_lookback(state_view_t *v, uint64_t cycle, state_lookback_t *out);
void state_lookback_free(state_lookback_t *l);

/* ---- executed operations --------------------------------------------------------------------- */

/* Remembers an executed operation until its expiry period (success: its effect applied). */
WEFT_MUST_USE weft_err state_op_mark(state_view_t *v, const op_id_t *id, uint64_t expire_period,
                                     bool success);
/* Whether an operation id was executed; optionally its success flag. */
WEFT_MUST_USE weft_err state_op_executed(state_view_t *v, const op_id_t *id, bool *executed,
                                         bool *success);
/* Forgets the operations whose expire period is below `period` (they can no longer be included).
 * Cost: the view's whole range below `period`, deletions of older layers included. */
WEFT_MUST_USE weft_err state_ops_prune(state_view_t *v, uint64_t period);
/* Forgets the operations whose expire period is in [from, to).  Execution prunes one period at a
 * time (docs/consensus.md §2.2): cost proportional to what expires in the range. */
WEFT_MUST_USE weft_err state_ops_prune_range(state_view_t *v, uint64_t from, uint64_t to);

/* ---- records (docs/consensus.md §2.2) -------------------------------------------------------- */

/* Checks that (t, key, value) is a well-formed record of its table: every decoder is bounded and
 * rejects trailing bytes.  E_STATE_RECORD otherwise, E_INVAL for an unknown table. */
WEFT_MUST_USE weft_err state_record_check(state_table t, const uint8_t *key, size_t klen,
                                          const uint8_t *val, size_t vlen);

#endif
