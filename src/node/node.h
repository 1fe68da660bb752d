/* node — weftd's actors wired into a running node (DESIGN §5; docs/node.md).
 *
 * A node is built from a repository (src/repo): the supervisor (src/actor) starts, in dependency
 * order, the selector, execution (final state in LMDB + speculative executor + contract VM), pool,
 * consensus (block graph + block log + slot ticks) and factory (block and endorsement production,
 * signing journal) actors; the API and network shells plug in on top through the functions below.
 * It stops them in reverse order.
 *
 * The functions below are the node's whole outside interface (the JSON-RPC API uses only them).
 * Each is thread-safe: it sends a request to the actor that owns the data and waits for the reply
 * (without a time limit: the request points at the caller's memory, so the call cannot return
 * before the actor is done with it; a stopping actor answers E_ACTOR_STOPPED).  An API server
 * therefore bounds slow answers by its connection timeouts, not here.  Results are copies owned
 * by the caller, freed
 * with the matching *_free function.  Bad outside input (an operation, an address) gives an
 * error or a per-item status, never an abort.
 *
 * Errors: those of the repository, store, journal and actors at start; E_ACTOR_STOPPED
 * (the node is stopping), E_NOMEM from queries; per-operation statuses from node_send_operations.
 */
#ifndef WEFT_NODE_H
#define WEFT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor/actor.h"
#include "base/base.h"
#include "exec/exec.h"
#include "model/model.h"
#include "repo/repo.h"

#define NODE_VERSION "weft/0.1.0"

typedef struct node node_t;

typedef struct node_net_events node_net_events;

typedef struct node_options {
    actor_clock_t *clock; /* NULL: the system clock */
    /* The network shell's event sink (borrowed; must outlive the node), or NULL (no network). */
    const node_net_events *net;
    /* Called (from any thread) when the node wants to stop: node_request_stop or a fatal actor
     * failure.  weftd's main thread then calls node_stop. */
    void (*on_stop_request)(void *ctx);
    void *on_stop_ctx;
    /* Tests: called on execution's thread before each update it applies; blocking in it holds
     * execution back (a node whose execution lags).  NULL: none. */
    void (*exec_gate)(void *ctx);
    void *exec_gate_ctx;
} node_options;

/* Builds the node over repo (borrowed: must outlive the node) and starts every actor.  On error
 * nothing runs and *out is NULL; err (errcap bytes) says why. */
WEFT_MUST_USE weft_err node_start(node_t **out, repo_t *repo, const node_options *o, char *err,
                                  size_t errcap);
/* Stops the actors in reverse order and frees the node.  From the call on, execution finalizes
 * no more slots (a node far behind does not catch up first: the next start resumes from its final
 * cursor); a write in progress completes. */
void node_stop(node_t *n);
/* Asks for a stop (the stop_node RPC): calls on_stop_request; returns at once.  Execution
 * finalizes no more slots from then on (node_stop follows). */
void node_request_stop(node_t *n);
/* Asks for a stop followed by a new node_start over the same repository (a final state fetched
 * from a peer is adopted at start: node_import_finish): as node_request_stop, and
 * node_restart_requested tells the process to start the node again. */
void node_request_restart(node_t *n);
bool node_restart_requested(const node_t *n);

const model_params *node_params(const node_t *n);
const repo_t *node_repo(const node_t *n);
/* The node id (its node key's public key). */
void node_id(const node_t *n, pubkey_t *out);
/* The latest slot whose time has come (E_RANGE before genesis) at the node's clock. */
WEFT_MUST_USE weft_err node_current_slot(const node_t *n, slot_t *out);
uint64_t node_now_ms(const node_t *n);
actor_system_t *node_actor_system(node_t *n); /* its actors (tests/sim: sync, idle) */

/* ---- status ---------------------------------------------------------------------------------- */

typedef struct node_status {
    uint64_t now_ms;
    bool has_slot;    /* false before genesis */
    slot_t last_slot; /* current slot */
    slot_t next_slot;
    uint64_t current_cycle;
    bool has_final_cursor; /* execution's final cursor (false before the first final slot) */
    slot_t final_cursor;
    bool has_active_cursor; /* the last speculatively executed slot */
    slot_t active_cursor;
    uint64_t final_periods[MODEL_MAX_THREADS]; /* latest final period per thread */
    size_t final_block_count;                  /* blocks finalized since start */
    size_t stale_block_count;                  /* blocks found stale since start */
    size_t pending_block_count;
    size_t clique_count;
    size_t pool_ops, pool_endorsements;
    uint64_t ops_final_executed; /* operations executed in final slots since start */
    uint64_t blocks_produced, endorsements_produced; /* by this node since start */
    /* slots at which the factory could not tell the producer: the draws of a cycle need the
     * cycle two before it final (docs/consensus.md §1.1), so finality that lags by more than a
     * cycle stops production here (0 for a node without staking keys) */
    uint64_t slots_undrawn;
    size_t staking_addresses;
    /* operation signatures checked since start (API, peers, blocks): verified, or found in the
     * cache of those verified before (an operation's block finds it there) */
    uint64_t op_sigs_verified, op_sig_cache_hits;
} node_status_t;
WEFT_MUST_USE weft_err node_get_status(node_t *n, node_status_t *out);

/* ---- operations ------------------------------------------------------------------------------ */

/* Admits signed operations (decoded by the caller; consumed: ownership passes to the node, each a
 * malloc'd signed_op_t): checks the signature, the expiry window and the fee, then the pool.
 * results[i] receives each operation's status (WEFT_OK: in the pool or already known;
 * E_SIGNATURE, E_POOL_*, E_NODE_OP_REJECTED …).  Returns an error only when the node cannot
 * take requests. */
WEFT_MUST_USE weft_err node_send_operations(node_t *n, signed_op_t **ops, size_t count,
                                            weft_err *results);
/* An operation's signature check as node_send_operations makes it (E_SIGNATURE), for a caller
 * that checks a whole batch before sending any (the API): a success is remembered, so that
 * node_send_operations and the block carrying the operation look it up instead of verifying
 * again. */
WEFT_MUST_USE weft_err node_verify_operation(node_t *n, const signed_op_t *op);

typedef struct node_op_info {
    bool found; /* known to the node (pool, a block, or executed) */
    bool in_pool;
    signed_op_t op; /* valid when has_op (pool or block): a copy, free with node_op_info_free */
    bool has_op;
    block_id_t *in_blocks; /* blocks (pending or final) that include it */
    size_t in_block_count;
    bool spec_executed; /* executed in the speculative history or the final state */
    bool spec_success;
    bool final_executed; /* executed in a final slot */
    bool final_success;
} node_op_info_t;
WEFT_MUST_USE weft_err node_get_operation(node_t *n, const op_id_t *id, node_op_info_t *out);
void node_op_info_free(node_op_info_t *i);

/* ---- addresses and datastore ----------------------------------------------------------------- */

typedef struct node_draw {
    slot_t slot;
    int32_t index; /* -1: block production, else endorsement index */
} node_draw_t;

typedef struct node_credit {
    slot_t slot;
    amount_t amount;
} node_credit_t;

typedef struct node_bytes {
    uint8_t *b;
    size_t len;
} node_bytes_t;

typedef struct node_address_info {
    address_t addr;
    bool final_exists, candidate_exists; /* ledger entry present */
    amount_t final_balance, candidate_balance;
    uint64_t final_rolls, candidate_rolls;
    node_bytes_t *final_keys, *candidate_keys; /* datastore keys (at most NODE_MAX_KEYS each) */
    size_t final_key_count, candidate_key_count;
    node_credit_t *credits; /* deferred credits (candidate) */
    size_t credit_count;
    node_draw_t *draws; /* next draws within the drawn cycles */
    size_t draw_count;
    uint64_t cycle_produced, cycle_missed; /* current cycle, candidate */
} node_address_info_t;
#define NODE_MAX_KEYS 4096
#define NODE_MAX_DRAWS 256
#define NODE_MAX_CREDITS 256
WEFT_MUST_USE weft_err node_get_address(node_t *n, const address_t *a, node_address_info_t *out);
void node_address_info_free(node_address_info_t *i);

/* Datastore value of (address, key): final and candidate (each may be absent). */
typedef struct node_ds_value {
    bool has_final, has_candidate;
    node_bytes_t final_value, candidate_value;
} node_ds_value_t;
WEFT_MUST_USE weft_err node_get_datastore(node_t *n, const address_t *a, const uint8_t *key,
                                          size_t klen, node_ds_value_t *out);
void node_ds_value_free(node_ds_value_t *v);

/* Bytecode of an address (final or candidate); E_NOT_FOUND if none. */
WEFT_MUST_USE weft_err node_get_bytecode(node_t *n, const address_t *a, bool final,
                                         node_bytes_t *out);

/* ---- blocks and graph ------------------------------------------------------------------------ */

typedef enum node_block_status {
    NODE_BLOCK_PENDING = 1, /* in the graph, not final */
    NODE_BLOCK_FINAL = 2,
    NODE_BLOCK_STALE = 3,
    NODE_BLOCK_INVALID = 4,
    NODE_BLOCK_WAITING = 5,
} node_block_status;

typedef struct node_block_info {
    block_id_t id;
    node_block_status status;
    bool in_blockclique;
    block_header_t header;
    address_t creator;
    op_id_t *op_ids; /* owned */
    size_t op_count;
    bool has_body; /* false for a stale/invalid block only remembered by id */
} node_block_info_t;
WEFT_MUST_USE weft_err node_get_block(node_t *n, const block_id_t *id, node_block_info_t *out);
void node_block_info_free(node_block_info_t *b);
/* The blockclique (or final) block of a slot; E_NOT_FOUND if none. */
WEFT_MUST_USE weft_err node_blockclique_block_at(node_t *n, slot_t slot, block_id_t *out);

typedef struct node_graph_item {
    block_id_t id;
    slot_t slot;
    address_t creator;
    node_block_status status;
    bool in_blockclique;
    block_id_t parents[MODEL_MAX_THREADS];
    uint32_t parent_count;
} node_graph_item_t;
/* Blocks (pending and recent final) whose slot time lies in [start_ms, end_ms); at most
 * NODE_MAX_GRAPH_ITEMS.  *items malloc'd (free()). */
#define NODE_MAX_GRAPH_ITEMS 10000
WEFT_MUST_USE weft_err node_graph_interval(node_t *n, uint64_t start_ms, uint64_t end_ms,
                                           node_graph_item_t **items, size_t *count);

typedef struct node_clique {
    uint64_t fitness;
    bool is_blockclique;
    block_id_t *ids; /* owned */
    size_t count;
} node_clique_t;
WEFT_MUST_USE weft_err node_get_cliques(node_t *n, node_clique_t **cliques, size_t *count);
void node_cliques_free(node_clique_t *c, size_t count);

/* ---- proof of stake -------------------------------------------------------------------------- */

/* Stakers with their candidate roll counts, by address.  *out malloc'd. */
WEFT_MUST_USE weft_err node_get_stakers(node_t *n, pos_stake_t **out, size_t *count);

/* ---- endorsements ---------------------------------------------------------------------------- */

typedef struct node_endorsement_info {
    endorsement_t e;
    bool in_pool;
    block_id_t *in_blocks;
    size_t in_block_count;
    bool is_final;
} node_endorsement_info_t;
WEFT_MUST_USE weft_err node_get_endorsement(node_t *n, const endorsement_id_t *id,
                                            node_endorsement_info_t *out);
void node_endorsement_info_free(node_endorsement_info_t *e);

/* ---- events ---------------------------------------------------------------------------------- */

typedef struct node_event_filter {
    bool has_start, has_end;
    slot_t start, end; /* inclusive start, exclusive end */
    bool has_emitter;  /* the last address of the call stack */
    address_t emitter;
    bool has_caller; /* the first address of the call stack */
    address_t caller;
    bool has_op;
    op_id_t op;
    int is_final; /* -1: any; 0: speculative (and, per massa-web3's needs, final too); 1: final */
    int is_error; /* -1 any, 0, 1 */
} node_event_filter;

typedef struct node_event {
    exec_event_t ev; /* owned fields (call_stack, data): free with node_events_free */
    bool is_final;
} node_event_t;
/* Events matching the filter, in execution order (final ones first), at most NODE_MAX_EVENTS. */
#define NODE_MAX_EVENTS 10000
WEFT_MUST_USE weft_err node_get_events(node_t *n, const node_event_filter *f, node_event_t **out,
                                       size_t *count);
void node_events_free(node_event_t *e, size_t count);

/* ---- read-only execution --------------------------------------------------------------------- */

typedef struct node_read_only {
    bool is_bytecode; /* execute_read_only_bytecode; else execute_read_only_call */
    uint64_t max_gas;
    address_t caller;
    bool has_caller;
    /* call */
    address_t target;
    const char *function;
    const uint8_t *param;
    size_t param_len;
    amount_t coins;
    /* bytecode */
    const uint8_t *bytecode;
    size_t bytecode_len;
    const uint8_t *op_datastore; /* serialized datastore or NULL */
    size_t op_datastore_len;
    amount_t fee;
} node_read_only_t;

typedef struct node_read_only_result {
    slot_t executed_at;
    bool ok;
    node_bytes_t result; /* the returned bytes when ok */
    char error[EXEC_MESSAGE_MAX];
    uint64_t gas_cost;
    node_event_t *events;
    size_t event_count;
} node_read_only_result_t;
/* Runs on a discarded copy of the speculative state.  E_EXEC_NO_VM when no contract VM is bound
 * (the API reports it as a JSON-RPC error). */
WEFT_MUST_USE weft_err node_read_only(node_t *n, const node_read_only_t *in,
                                      node_read_only_result_t *out);
void node_read_only_result_free(node_read_only_result_t *r);

/* ---- private: node control and staking ------------------------------------------------------- */

/* Signs msg with the node key (Ed25519 over the raw bytes). */
void node_sign_message(node_t *n, const uint8_t *msg, size_t len, pubkey_t *pk, signature_t *sig);
/* Adds staking keys (persisted in the repository) / removes staking addresses. */
WEFT_MUST_USE weft_err node_staking_add(node_t *n, const keypair_t *keys, size_t count);
WEFT_MUST_USE weft_err node_staking_remove(node_t *n, const address_t *addrs, size_t count);
/* The staking addresses; *out malloc'd. */
WEFT_MUST_USE weft_err node_staking_list(node_t *n, address_t **out, size_t *count);

/* ---- network (the shell in src/net uses these; docs/node.md "Network") ---------------------- */

/* What the node tells the network.  Each callback runs on one of the node's actor threads: it must
 * not block and must not call back into the node; its arguments are borrowed for the call (copy
 * what you keep).  Any callback may be NULL. */
struct node_net_events {
    void *ctx;
    /* A block became pending in the graph (produced here or received; parents always reported
     * before children).  From the consensus actor, after the block log has it. */
    void (*block_pending)(void *ctx, const block_header_t *h);
    /* The graph found these blocks invalid (a peer that sent one is banned). */
    void (*block_invalid)(void *ctx, const block_id_t *id, weft_err reason);
    /* The graph waits for these parents: ask peers for them. */
    void (*blocks_missing)(void *ctx, const block_id_t *ids, size_t n);
    /* The pool admitted new operations (from the API or from peers): announce them. */
    void (*ops_admitted)(void *ctx, const op_id_t *ids, size_t n);
    /* Endorsements produced here or admitted from peers: push them. */
    void (*endorsements_admitted)(void *ctx, const endorsement_t *e, size_t n);
};

/* A block received from a peer: its header and its operations (decoded; ops[0..count) and the
 * array itself pass to the node, whatever the outcome).  On the caller's thread the node checks
 * what needs no state (header and endorsement signatures, the operation list against the header's
 * ops_hash, every operation's signature, sizes); then the consensus actor checks the draws
 * (producer, endorsers), logs the block and gives it to the graph.  *verdict:
 *   WEFT_OK              taken by the graph (pending or waiting), or already known;
 *   E_SIGNATURE, E_OPS_HASH, E_TOO_MANY_OPS, E_NODE_BLOCK (wrong producer, endorser, parent count,
 *                        thread or size)  — the sender is at fault (ban it);
 *   E_NODE_BLOCK_LATER   the draws of the block's cycle are not known yet (this node's final state
 *                        is behind): give it again after more blocks are final — not a fault;
 *   E_GRAPH_* from graph_add (slot full, …): not taken, not a fault.
 * Returns an error only when the node cannot take requests (E_ACTOR_STOPPED, E_NOMEM). */
WEFT_MUST_USE weft_err node_net_block(node_t *n, const block_header_t *h, signed_op_t *ops,
                                      uint32_t count, weft_err *verdict);

/* Endorsements received from a peer (copied): form, age, draw and signature checked on the
 * caller's thread; those that pass go to the pool, which admits them in its own time (the caller
 * does not wait for it).  results[i]: WEFT_OK (checked: on its way to the pool), E_SIGNATURE /
 * E_ENDORSEMENT (a fault: ban), E_NODE_BLOCK_LATER (draw unknown yet: dropped, not a fault),
 * E_POOL_EXPIRED (too old).  Admitted ones are reported by endorsements_admitted. */
WEFT_MUST_USE weft_err node_net_endorsements(node_t *n, const endorsement_t *e, size_t count,
                                             weft_err *results);
/* Operations received from a peer (each a malloc'd signed_op_t, consumed; the array stays the
 * caller's): signature and expiry checked on the caller's thread as node_send_operations does;
 * those that pass go to the pool without waiting for its admission (the network's thread never
 * waits for the pool, nor for execution, which the pool asks for balances).  results[i]: WEFT_OK
 * (checked: on its way to the pool), E_SIGNATURE (the sender's fault) or E_POOL_EXPIRED.  The
 * ones the pool admits are reported by ops_admitted.  E_ACTOR_STOPPED, E_NOMEM. */
WEFT_MUST_USE weft_err node_net_ops(node_t *n, signed_op_t **ops, size_t count, weft_err *results);

/* Whether the node knows a block (pending, waiting, final, stale or invalid; or in the block log).
 */
bool node_net_has_block(node_t *n, const block_id_t *id);

/* A block for a peer, from memory (pending and recent final blocks) or the block log. */
typedef struct node_net_block_data {
    block_header_t header; /* with its id */
    op_id_t *op_ids;       /* op_count ids, owned */
    uint32_t op_count;
    node_bytes_t *ops; /* when asked with ops: op_count signed operations in wire form, owned */
    bool is_final;
} node_net_block_data;
/* E_NOT_FOUND if the node does not have the block's body (a stale block only known by id). */
WEFT_MUST_USE weft_err node_net_get_block(node_t *n, const block_id_t *id, bool with_ops,
                                          node_net_block_data *out);
void node_net_block_data_free(node_net_block_data *d);

/* Operations in wire form for peers that asked (pool, pending blocks): out[i] empty (len 0) for
 * an unknown id.  out is caller-provided (count entries); free the entries with free(out[i].b). */
WEFT_MUST_USE weft_err node_net_get_ops(node_t *n, const op_id_t *ids, size_t count,
                                        node_bytes_t *out);

/* What a hello carries: per thread the latest final period and the ids of the blocks that are
 * the thread's heads in the graph (the latest pending or final block of the thread in the
 * blockclique). */
typedef struct node_net_status {
    uint32_t thread_count;
    uint64_t final_periods[MODEL_MAX_THREADS];
    block_id_t heads[MODEL_MAX_THREADS];
    slot_t head_slots[MODEL_MAX_THREADS];
    bool has_final_cursor; /* execution's next slot to finalize */
    slot_t final_cursor;
    uint64_t kept_from; /* every final block from this period on is in the block log (0: all) */
} node_net_status;
WEFT_MUST_USE weft_err node_net_get_status(node_t *n, node_net_status *out);

/* Final block ids after slot `after` (exclusive) in slot order from the block log, at most max
 * (<= NODE_NET_MAX_RANGE); *more says whether later final blocks exist.  *ids malloc'd (free()).
 * Blocks pruned by node.block_retention are gone: the range starts at the oldest kept one and
 * *oldest_kept says which slot that is (so a peer too far behind knows to fetch the state). */
#define NODE_NET_MAX_RANGE 4096
WEFT_MUST_USE weft_err node_net_final_range(node_t *n, slot_t after, size_t max, block_id_t **ids,
                                            slot_t **slots, size_t *count, bool *more,
                                            slot_t *oldest_kept);

/* ---- the final state in parts (docs/node.md "State transfer") ------------------------------ */

#define NODE_STATE_FP_LEN 64             /* STATE_FP_LEN */
#define NODE_STATE_MAX_VALUE (16u << 20) /* STATE_MAX_VALUE_LEN */

typedef enum node_state_status {
    NODE_STATE_OK = 0,
    NODE_STATE_GONE = 1,        /* the asked cursor's snapshot is no longer kept */
    NODE_STATE_BUSY = 2,        /* every snapshot is in use */
    NODE_STATE_UNAVAILABLE = 3, /* no final slot yet, or the root blocks are not in the log */
} node_state_status;

typedef struct node_state_rec {
    uint8_t table; /* state_table, never the metadata table */
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
} node_state_rec;

typedef struct node_state_ask {
    bool has_cursor; /* false: a new transfer, from a snapshot of the current final state */
    slot_t cursor;
    bool has_after; /* the records after (after_table, after_key) … */
    uint8_t after_table;
    const uint8_t *after_key;
    size_t after_klen;
    size_t after_offset; /* … or, > 0, that record's value from this byte on, then those after */
    size_t max_bytes;    /* of keys and values: records up to it, at least one record or piece */
} node_state_ask;

typedef struct node_state_part {
    node_state_status status;
    slot_t cursor;                          /* the snapshot's final slot … */
    uint8_t fingerprint[NODE_STATE_FP_LEN]; /* … and fingerprint */
    /* asks without cursor: the final blocks the graph restarts from (those of the
     * NODE_STATE_ROOT_PERIODS periods up to the cursor, and each thread's latest before them if
     * it has none there), in slot order */
    block_id_t *root_ids;
    slot_t *root_slots;
    size_t nroots;
    node_state_rec *recs; /* in (table, key) order; bytes in mem */
    size_t count;
    /* A value is cut when its record is the first of a part and does not fit max_bytes: the
     * first record holds its value from first_offset on (= the ask's after_offset), the last one
     * only the start of its value when last_partial (max_bytes − its key, at least one byte). */
    size_t first_offset;
    bool last_partial;
    bool more; /* records, or the rest of the last one's value, after these */
    uint8_t *mem;
} node_state_part;
void node_state_part_free(node_state_part *p);

/* A part of the final state for a peer: execution answers from a snapshot of its final state
 * (store_snapshot_open: at most NODE_STATE_SNAPSHOTS at once, each kept while asked within 30 s,
 * at most 10 minutes; an ask without cursor joins a snapshot opened in the last 5 s), consensus
 * names the root blocks from the block log.  An ask going on with a value (after_offset) that the
 * snapshot does not hold, or holds shorter than that, is answered NODE_STATE_UNAVAILABLE.  Returns
 * an error only when the node cannot answer. */
#define NODE_STATE_SNAPSHOTS 2
#define NODE_STATE_ROOT_PERIODS 16
WEFT_MUST_USE weft_err node_net_state_part(node_t *n, const node_state_ask *ask,
                                           node_state_part *out);

/* The fingerprint of the final state at a final slot, for a peer checking a transfer it fetches
 * from another (docs/protocol.md "Trust"): execution keeps those of its last NODE_STATE_FP_KEPT
 * final slots, in its store (across restarts) and in memory.  *status: NODE_FP_KNOWN (fp filled),
 * NODE_FP_AHEAD (the slot is after the final cursor), NODE_FP_NOT_KEPT (final, but before the ones
 * kept).  Returns an error only when the node cannot answer.  Thread-safe, and never waits for
 * execution's work (the ring is read under its own lock). */
#define NODE_STATE_FP_KEPT 4096
typedef enum node_fp_status {
    NODE_FP_KNOWN = 0,
    NODE_FP_AHEAD = 1,
    NODE_FP_NOT_KEPT = 2,
} node_fp_status;
WEFT_MUST_USE weft_err node_net_state_fingerprint(node_t *n, slot_t slot,
                                                  uint8_t fp[NODE_STATE_FP_LEN],
                                                  node_fp_status *status);

/* Importing a peer's final state (the fetching side), into REPO/import — never into the final
 * state in use: begin (any import under way is dropped), the records in key order (each checked:
 * E_STATE_RECORD; out of order or the metadata table: E_STATE_RECORD too), the root blocks
 * (E_INVAL: not a root, or twice; checked as a peer's block: E_NODE_BLOCK, E_SIGNATURE,
 * E_OPS_HASH), then finish: every root there (E_STATE otherwise), the fingerprint of the records
 * equal to the announced one (E_STATE_CORRUPT otherwise), the roots' producers those the imported
 * state draws for their slots where it still has the draws' inputs (E_NODE_BLOCK otherwise) — on
 * an error the import is dropped — and the import is marked complete.  The node adopts it at its
 * next start (node_start: the imported store replaces the final state, the block log restarts from
 * the roots; a crash in between leaves the import to adopt at the start after).  One caller at a
 * time (the network thread). */
WEFT_MUST_USE weft_err node_import_begin(node_t *n, slot_t cursor,
                                         const uint8_t fp[NODE_STATE_FP_LEN],
                                         const block_id_t *root_ids, const slot_t *root_slots,
                                         size_t nroots);
WEFT_MUST_USE weft_err node_import_records(node_t *n, const node_state_rec *recs, size_t count);
/* ops[0..count) and the array pass to the node. */
WEFT_MUST_USE weft_err node_import_root(node_t *n, const block_header_t *h, signed_op_t *ops,
                                        uint32_t count);
WEFT_MUST_USE weft_err node_import_finish(node_t *n);
void node_import_abort(node_t *n);

/* ---- metrics --------------------------------------------------------------------------------- */

typedef struct node_actor_stat {
    const char *name;
    size_t mailbox_depth;
    uint64_t restarts;
} node_actor_stat;
/* Mailbox depths and restarts of every actor (at most cap entries); returns the count. */
size_t node_actor_stats(node_t *n, node_actor_stat *out, size_t cap);

/* ---- latencies (execution actor) ------------------------------------------------------------ */

/* Histograms of how long blocks take, measured by the execution actor on the node's clock, for
 * blocks (not genesis) whose slot started after the node did (a restart's replay is not counted):
 *   execution: from the slot's start to the first speculative execution of its block;
 *   finality:  from the slot's start to the final execution of its block.
 * Buckets are Prometheus's: counts[i] observations <= node_latency_bounds_s[i] and above the
 * previous bound (not cumulative), counts[NODE_LATENCY_BUCKETS] those above the last bound. */
#define NODE_LATENCY_BUCKETS 15
extern const double node_latency_bounds_s[NODE_LATENCY_BUCKETS]; /* 5 ms .. 300 s */
typedef struct node_latency_hist {
    uint64_t counts[NODE_LATENCY_BUCKETS + 1];
    uint64_t count; /* the sum of counts */
    double sum_s;   /* of every observation, seconds */
} node_latency_hist;
typedef struct node_latency {
    node_latency_hist execution, finality;
    uint64_t ops_executed; /* operations executed speculatively (first execution of their block) */
} node_latency_t;
/* A snapshot of the histograms (thread-safe, lock-free; no request to the actor). */
void node_latency_stats(node_t *n, node_latency_t *out);

/* ---- genesis --------------------------------------------------------------------------------- */

/* The T genesis blocks of a network (deterministic: a header per thread at period 0, signed by
 * the genesis key derived from the chain id and genesis timestamp).  out has T entries. */
void node_genesis_headers(const model_params *p, block_header_t *out);

#endif
