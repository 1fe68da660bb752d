/* exec — execution of weft's slots: operations, rewards, misses, roll sales and auto-sell, events,
 * and the speculative history on top of the final state (DESIGN §4.2–4.4; the exact rules are
 * consensus: docs/consensus.md §3).
 *
 * Two layers:
 *
 *   - exec_slot, pure: executes one slot (a block, or a miss) over the final state seen through a
 *     stack of older speculative diffs, and produces the slot's output — a state diff, the events
 *     and the outcome of each operation.  The state it reads is never modified.
 *   - exec_t, the speculative executor: a history of slot outputs, oldest first, contiguous from
 *     the slot after the final cursor.  Reads look through it (exec_view).  A blockclique change
 *     (exec_set_blockclique) truncates it at the first slot whose content changed and re-executes
 *     from there; finalizing a slot (exec_finalize) writes its diff with state_final_apply — the
 *     cached output when the history's first slot has the same content, a fresh execution
 *     otherwise.
 *
 * Smart-contract operations (ExecuteSC, CallSC) run through exec_vm_t, a vtable the node binds
 * to the contract VM.  Without a VM (vm == NULL) they are accepted (fee taken), then fail with
 * E_EXEC_NO_VM and an error event: a documented behaviour of a node configuration, and a
 * consensus one — every node of a network must run with the same VM binding.
 *
 * Signatures are not checked here: the operations of a block reach execution already verified.
 * Everything else about an operation is checked here (period, thread, gas, fee, replay): a bad
 * operation is rejected or fails, it never aborts the slot.
 *
 * Errors: exec_* return WEFT_OK or a node fault — storage errors of the kv, E_NOMEM, E_STATE_*
 * for a malformed state, E_OVERFLOW when a reward or deferred credit overflows a balance, and
 * E_EXEC_SLOT / E_EXEC_INPUT for a slot input that does not fit (out of sequence, more
 * endorsements than E, thread out of range).  On error an output is left empty (nothing to
 * free beyond exec_output_free) and an executor is unchanged unless stated.
 * Ownership: stated per function; inputs are borrowed for the call only.
 * Thread-safety: none.  An executor, its final state and outputs belong to one thread (the
 * execution actor).  A bound VM is only called from that thread.
 */
#ifndef WEFT_EXEC_H
#define WEFT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "state/state.h"

/* ---- configuration --------------------------------------------------------------------------- */

#define EXEC_DEFAULT_MAX_BLOCK_GAS 4294967295ull /* Massa's MAX_BLOCK_GAS */
#define EXEC_EVENT_DATA_MAX 1024                 /* bytes of an event's data (Massa's limit) */
#define EXEC_MESSAGE_MAX 256                     /* a failure message, with NUL */
#define EXEC_AUTOSELL_NUM 7                      /* auto-sell when missed/(produced+missed) */
#define EXEC_AUTOSELL_DEN 10                     /* is above 7/10 */

typedef struct exec_config {
    uint64_t max_block_gas; /* gas of a block's smart-contract operations (their max_gas) */
} exec_config;

void exec_config_default(exec_config *c);

/* ---- events (reference/massa-client-compat.md §3) -------------------------------------------- */

/* An event of an executed slot.  massa-web3 reads data and the context fields slot, block,
 * call_stack, index_in_slot, origin_operation_id, is_error (read_only is always false here and
 * is_final is where the event is stored: in the history or finalized). */
typedef struct exec_event {
    slot_t slot;
    uint32_t index; /* index_in_slot: 0, 1, … in execution order */
    bool has_block; /* the slot's block (a miss has none) */
    block_id_t block;
    bool has_op; /* origin_operation_id */
    op_id_t op;
    bool is_error;
    address_t *call_stack; /* owned; caller first */
    size_t call_stack_len;
    char *data; /* owned, NUL-terminated, ≤ EXEC_EVENT_DATA_MAX bytes; an error event's data is
                   {"massa_execution_error":"<message>"} */
    size_t data_len;
} exec_event_t;

/* ---- the contract VM interface --------------------------------------------------------------- */

/* Emits a (non-error) event for the running operation: data (copied, ≤ EXEC_EVENT_DATA_MAX bytes,
 * else E_LIMIT) and the call stack (copied, caller first).  Events of an operation that fails are
 * dropped with its state changes. */
typedef weft_err (*exec_emit_fn)(void *ctx, const address_t *call_stack, size_t depth,
                                 const char *data, size_t len);

/* One smart-contract operation handed to the VM.  The operation's fee is already taken.  Writes
 * through `view` land in the operation's own diff: they are kept if the VM reports success and
 * dropped otherwise.  For CallSC, `coins` already moved from the caller to the target. */
typedef struct exec_sc_call {
    state_view_t *view;
    const model_params *params;
    slot_t slot;
    const block_id_t *block;
    const op_id_t *op_id;
    const address_t *caller; /* the operation's creator */
    const operation_t *op;   /* type OP_EXECUTE_SC or OP_CALL_SC */
    uint64_t max_gas;
    exec_emit_fn emit;
    void *emit_ctx;
    /* out */
    uint64_t gas_used;
    weft_err failure; /* WEFT_OK: success; else why the contract failed (its effect is reverted) */
    char message[EXEC_MESSAGE_MAX]; /* optional detail of the failure, NUL-terminated */
} exec_sc_call_t;

/* run returns WEFT_OK after setting call->failure, or a node fault (storage, E_NOMEM) that aborts
 * the whole slot.  It must be deterministic: a function of the state it reads and the call. */
typedef struct exec_vm_vtbl {
    weft_err (*run)(void *self, exec_sc_call_t *call);
} exec_vm_vtbl;

typedef struct exec_vm {
    const exec_vm_vtbl *vt;
    void *self;
} exec_vm_t;

/* ---- slot inputs ----------------------------------------------------------------------------- */

/* The content of a block as execution needs it (signatures already checked, the creator already
 * checked against the draw, endorsements already checked against the same-thread parent). */
typedef struct exec_block {
    block_id_t id;
    address_t creator;
    const signed_op_t *const *ops; /* borrowed, in block order */
    size_t op_count;
    uint32_t endorsement_count;                  /* included endorsements, ≤ E */
    address_t endorsers[MODEL_MAX_ENDORSEMENTS]; /* their creators */
    address_t endorsed_creator; /* the creator of the endorsed block (same-thread parent) */
} exec_block;

typedef struct exec_slot_in {
    slot_t slot;
    address_t producer;      /* the drawn producer of the slot (selector) */
    const exec_block *block; /* NULL: a miss */
} exec_slot_in;

/* ---- slot outputs ---------------------------------------------------------------------------- */

/* Outcome of one operation of a block: WEFT_OK (applied), a rejection (E_EXEC_OP_*: no effect at
 * all, not recorded) or a failure (fee taken, effect reverted, error event, recorded). */
typedef struct exec_op_result {
    op_id_t id;
    weft_err status;
    bool accepted; /* fee taken and the operation recorded as executed */
} exec_op_result;

typedef struct exec_output {
    slot_t slot;
    bool has_block;
    block_id_t block;
    address_t producer;
    state_diff_t *diff; /* owned: the slot's changes */
    exec_event_t *events;
    size_t event_count, event_cap;
    exec_op_result *results; /* one per operation of the block, in order */
    size_t result_count;
    amount_t credits; /* block reward + fees of the accepted operations (0 for a miss) */
} exec_output;

/* Frees what an output owns and zeroes it (a zeroed output is fine). */
void exec_output_free(exec_output *o);

/* Executes one slot over final (borrowed) seen through layers[0..n) (borrowed speculative diffs of
 * the slots before it, oldest first).  *out must be zeroed; on success it owns the slot's diff,
 * events and results.  The layers must end with the slot just before in->slot: execution records
 * every slot in order (E_STATE_SEED_BITS otherwise).  vm may be NULL. */
WEFT_MUST_USE weft_err exec_slot(exec_output *out, const exec_config *cfg, const exec_vm_t *vm,
                                 state_final_t *final, const state_diff_t *const *layers, size_t n,
                                 const exec_slot_in *in);

/* ---- the speculative executor ---------------------------------------------------------------- */

typedef struct exec exec_t;

/* Creates an executor over final (borrowed, must outlive it, with its genesis written), config
 * (copied) and vm (copied; NULL: no VM bound).  E_STATE without genesis, E_NOMEM. */
WEFT_MUST_USE weft_err exec_new(exec_t **out, state_final_t *final, const exec_config *cfg,
                                const exec_vm_t *vm);
void exec_free(exec_t *e);

/* The slot the next exec_push executes: after the history's last slot, or the final state's next
 * slot when the history is empty. */
WEFT_MUST_USE weft_err exec_next_slot(const exec_t *e, slot_t *out);
size_t exec_history_len(const exec_t *e);
/* Output i of the history (0 = oldest), borrowed until the history changes; NULL past the end. */
const exec_output *exec_history_at(const exec_t *e, size_t i);

/* Executes in->slot speculatively on top of the history.  E_EXEC_SLOT if it is not
 * exec_next_slot.  On error the history is unchanged. */
WEFT_MUST_USE weft_err exec_push(exec_t *e, const exec_slot_in *in);
/* Drops the history from slot `from` on (nothing if the history ends before). */
void exec_truncate(exec_t *e, slot_t from);
/* Sets the blockclique: slots[0..n) give the content of the contiguous slots from the final
 * state's next slot on.  Keeps the longest prefix of the history with the same content (slot,
 * producer, block id or miss), truncates at the first difference and executes the rest; a history
 * longer than n is truncated to n.  *executed (may be NULL): slots executed.  E_EXEC_SLOT if
 * slots are not contiguous from the next final slot.  On error the history ends at the last slot
 * executed successfully. */
WEFT_MUST_USE weft_err exec_set_blockclique(exec_t *e, const exec_slot_in *slots, size_t n,
                                            size_t *executed);
/* Finalizes the final state's next slot with its final content in: the history's first output if
 * it has the same content (*cache_hit true), else — after clearing the history — a fresh
 * execution over the final state.  The diff is written by state_final_apply and the output is
 * handed to *finalized (zeroed by the caller; may be NULL to drop it) for its events.  On error
 * the final state is unchanged (the history may have been cleared).
 * Inside a batch of the final state (state_final_batch_begin) the slot joins the batch, and the
 * history moves on as if it were final; if the batch then does not commit (abort, a failed apply
 * or commit, which put the final state back at the batch's start), the history no longer starts
 * at the final state's next slot: the caller must empty it (exec_truncate from slot (0, 0)). */
WEFT_MUST_USE weft_err exec_finalize(exec_t *e, const exec_slot_in *in, bool *cache_hit,
                                     exec_output *finalized);
/* A read-only view of the final state through the whole history (the speculative state after the
 * history's last slot).  Borrowed from e: valid until the history changes; free with
 * state_view_free. */
void exec_view(exec_t *e, state_view_t *v);

#endif
