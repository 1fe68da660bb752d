/* sc — weft's smart-contract host: Massa's legacy AssemblyScript ABI (import module "massa",
 * functions assembly_script_*, plus the "env" imports AssemblyScript emits) on weft's WebAssembly
 * interpreter (src/vm), bound to the execution layer through exec_vm_t (docs/sc.md).
 *
 * What runs:
 *   - ExecuteSC: the operation's bytecode, export `main`, with the call stack
 *     [ {creator, 0 coins, owns [creator], the operation's datastore} ];
 *   - CallSC: the target's stored bytecode, the named export, with the parameter bytes passed as
 *     an AssemblyScript buffer; the stack is [ {creator}, {target, coins, owns [target]} ] and the
 *     coins have already moved (exec does it);
 *   - read-only calls and read-only bytecode runs for the JSON-RPC API, on a discarded diff.
 * Every function execution gets a fresh instance (fresh memory, start function run with the ABI
 * disabled); nested `call`s share the operation's store, so its gas meter and its limits (memory
 * pages per instance, wasm call frames, value stack, host re-entries) are shared deterministically.
 *
 * Gas (docs/sc.md §3): the operation's max_gas is the meter.  Charged: module load (the vm's
 * load_per_byte × bytecode size, on every load), a launch cost per function execution, each ABI
 * function's fixed cost (Massa's table), 23 per started 64 bytes moved between guest memory and
 * the host or hashed, and the wasm code itself (docs/vm.md §5).  Gas does not depend on the module
 * cache.
 *
 * Failures: a contract failure is reported in exec_sc_call_t.failure / message (or
 * sc_ro_result.failure / message): a trap (E_VM_TRAP_*, E_VM_OUT_OF_GAS; a bad guest pointer or
 * length is E_VM_TRAP_MEMORY), an abort (E_SC_ABORT), an ABI call the host refuses (E_SC_ABI, with
 * the reason), an ABI function weft does not implement (E_SC_UNSUPPORTED: the contract fails when
 * it calls it, never a silent success), the nested call depth (E_SC_DEPTH), a missing or
 * uncallable export (E_SC_EXPORT), or a module that does not load or link (E_VM_*).  Node faults
 * (storage errors, E_NOMEM) are returned by run() and the read-only functions.
 *
 * Determinism: a run is a function of the state it reads, the call and the configuration (which
 * is consensus: every node of a network uses the same).  New SC addresses and unsafe_random are
 * derived from the operation id (docs/sc.md §4).
 *
 * Thread-safety: none.  An sc_t (its module cache) belongs to one thread, the execution actor.
 */
#ifndef WEFT_SC_H
#define WEFT_SC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "exec/exec.h"
#include "model/model.h"
#include "state/state.h"
#include "vm/vm.h"

/* ---- configuration --------------------------------------------------------------------------- */

#define SC_DEFAULT_MAX_CALL_DEPTH 25 /* Massa's MAX_RECURSIVE_CALLS_DEPTH */
#define SC_DEFAULT_MAX_EVENTS 25     /* Massa's MAX_EVENT_PER_OPERATION */
#define SC_DEFAULT_LAUNCH_COST 15702 /* Massa's "launch" cost, per function execution */
#define SC_DEFAULT_MODULE_CACHE 64   /* translated modules kept between runs */
#define SC_GAS_PER_64_BYTES 23       /* data moved across the ABI or hashed, per started 64 bytes */

typedef struct sc_config {
    vm_config vm;            /* the contract profile (vm_config_default); its gas table borrowed */
    uint32_t max_call_depth; /* nested call / local_call / local_execution */
    uint32_t max_events;     /* events per run (operation or read-only) */
    uint64_t launch_cost;    /* gas per function execution */
    uint32_t module_cache;   /* modules kept between runs (not consensus: gas ignores the cache) */
} sc_config;

/* The consensus defaults above with vm_config_default. */
void sc_config_default(sc_config *c);

/* ---- the host -------------------------------------------------------------------------------- */

typedef struct sc sc_t;

/* Creates a host with cfg (copied; its gas table is borrowed).  E_INVAL for a zero call depth,
 * E_NOMEM. */
WEFT_MUST_USE weft_err sc_new(sc_t **out, const sc_config *cfg);
void sc_free(sc_t *sc);
/* The exec_vm_t of the host (its run() executes ExecuteSC and CallSC); valid while sc lives. */
void sc_exec_vm(sc_t *sc, exec_vm_t *out);
/* sc_new then sc_exec_vm: *owner receives the host to free with sc_free after the executor. */
WEFT_MUST_USE weft_err sc_vm_new(exec_vm_t *out, sc_t **owner, const sc_config *cfg);

/* ---- read-only runs (JSON-RPC execute_read_only_call / execute_read_only_bytecode) ----------- */

/* A read-only function call: as a CallSC by `caller` (its coins move from caller to target on the
 * discarded diff; the caller must be able to pay them). */
typedef struct sc_ro_call {
    const state_view_t *base; /* the state to run over (borrowed; never written) */
    const model_params *params;
    slot_t slot; /* the slot the run pretends to execute in (executed_at) */
    uint64_t max_gas;
    address_t caller;
    address_t target;
    const char *function; /* function_len bytes of UTF-8 */
    size_t function_len;
    const uint8_t *param;
    size_t param_len;
    amount_t coins;
} sc_ro_call;

/* A read-only bytecode run: as an ExecuteSC by `caller` with an operation datastore (borrowed,
 * keys unique; may be empty). */
typedef struct sc_ro_bytecode {
    const state_view_t *base;
    const model_params *params;
    slot_t slot;
    uint64_t max_gas;
    address_t caller;
    const uint8_t *bytecode;
    size_t bytecode_len;
    const op_ds_entry *datastore;
    size_t datastore_len;
} sc_ro_bytecode;

/* The outcome of a read-only run.  Owned; free with sc_ro_result_free. */
typedef struct sc_ro_result {
    weft_err failure;               /* WEFT_OK: success */
    char message[EXEC_MESSAGE_MAX]; /* detail of a failure */
    uint8_t *ret;                   /* the function's result bytes (call; NULL if none) */
    size_t ret_len;
    uint64_t gas_used;
    exec_event_t *events; /* the events emitted (none on failure); no block, no operation id */
    size_t event_count;
    state_diff_t *changes; /* the changes the run would have made (discarded by the node) */
} sc_ro_result;

/* Run the request over base (nothing is written to it) and fill *out (zeroed by the caller).
 * Returns WEFT_OK with out->failure set for a contract failure, or a node fault (then *out is
 * empty).  E_INVAL for a request without base or params. */
WEFT_MUST_USE weft_err sc_read_only_call(sc_t *sc, const sc_ro_call *req, sc_ro_result *out);
WEFT_MUST_USE weft_err sc_read_only_bytecode(sc_t *sc, const sc_ro_bytecode *req,
                                             sc_ro_result *out);
/* Frees what a result owns and zeroes it (a zeroed result is fine). */
void sc_ro_result_free(sc_ro_result *r);

/* ---- helpers shared with tests --------------------------------------------------------------- */

/* Keccak-256 (the original Keccak padding, as Ethereum and Massa's keccak256_hash use). */
void sc_keccak256(uint8_t out[32], const void *data, size_t len);

#endif
