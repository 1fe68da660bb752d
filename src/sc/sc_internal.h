/* Internals of src/sc shared by host.c (runs, memory conventions, calls) and abi.c (the ABI
 * functions).  Not a public interface. */
#ifndef WEFT_SC_INTERNAL_H
#define WEFT_SC_INTERNAL_H

#include "sc/sc.h"

/* One element of the call stack (massa-client-compat §4). */
typedef struct sc_frame {
    address_t addr;
    amount_t coins;
    address_t *owned; /* addresses this element may write: itself, and what it created */
    uint32_t owned_len, owned_cap;
    bool op_ds; /* the operation datastore is visible (ExecuteSC's only element) */
} sc_frame;

typedef struct sc_run sc_run;

/* An ABI function: reads args, writes results; returns WEFT_OK or the error that traps. */
typedef weft_err (*sc_abi_fn)(sc_run *r, vm_call_ctx *ctx, const vm_val *args, vm_val *results);

typedef struct sc_abi_def {
    const char *module;
    const char *name;
    const char *params; /* vm_host_def letters */
    const char *results;
    uint32_t gas;      /* fixed cost, charged before anything else */
    sc_abi_fn fn;      /* NULL: not supported by weft (fails the contract when called) */
    bool during_start; /* may run in a start function (abort only) */
} sc_abi_def;

extern const sc_abi_def sc_abi_table[];
extern const size_t sc_abi_count;

typedef struct sc_bind {
    sc_run *run;
    const sc_abi_def *def;
} sc_bind;

/* One execution: an operation or a read-only request. */
struct sc_run {
    sc_t *sc;
    const sc_config *cfg;
    state_view_t *view;
    const model_params *params;
    slot_t slot;
    bool has_op;
    op_id_t op_id;
    hash32_t origin;        /* seeds SC addresses and unsafe_random */
    const op_ds_entry **ds; /* the operation datastore, sorted by key */
    size_t ds_len;
    vm_store *store;
    vm_linker *linker;
    vm_func **fns;    /* per ABI function, created on first import */
    sc_bind *binds;   /* per ABI function */
    sc_frame *frames; /* cfg->max_call_depth + 2 */
    uint32_t depth;   /* frames in use */
    uint32_t nesting; /* nested call / local_call / local_execution */
    uint32_t events;
    uint64_t created;     /* SC addresses created so far */
    uint64_t rng_counter; /* unsafe_random draws */
    bool starting;        /* a start function is running: ABI disabled */
    /* events: exec's sink, or the read-only collector */
    exec_emit_fn emit;
    void *emit_ctx;
    /* outcome */
    weft_err failure;
    char message[EXEC_MESSAGE_MAX];
    weft_err fault; /* node fault: aborts the slot / the request */
};

/* Records a contract failure (the first one wins) and returns code. */
weft_err sc_fail(sc_run *r, weft_err code, const char *fmt, ...) WEFT_PRINTF(3, 4);
/* Records a node fault (storage, memory) and returns it. */
weft_err sc_fault(sc_run *r, weft_err err);
/* Charges gas to the run's store (also outside host calls); E_VM_OUT_OF_GAS leaves 0. */
weft_err sc_charge(sc_run *r, uint64_t gas);
weft_err sc_charge_bytes(sc_run *r, uint64_t bytes);

/* Guest memory (AssemblyScript layout).  Reads copy into malloc'd buffers (free them); a bad
 * pointer or length is E_VM_TRAP_MEMORY. */
weft_err sc_read_bytes(sc_run *r, vm_instance *inst, uint32_t ptr, uint8_t **out, size_t *len);
/* A string as NUL-terminated UTF-8 (unpaired surrogates become U+FFFD); ptr 0 reads "". */
weft_err sc_read_str(sc_run *r, vm_instance *inst, uint32_t ptr, char **out, size_t *len);
/* Allocates through the module's __new and writes: a buffer (class 1) or a string (class 2, from
 * UTF-8, then __pin). */
weft_err sc_new_bytes(sc_run *r, vm_instance *inst, const uint8_t *data, size_t len, uint32_t *ptr);
weft_err sc_new_str(sc_run *r, vm_instance *inst, const char *utf8, size_t len, uint32_t *ptr);

/* Runs `func` of `code` in a fresh instance with `param` (AssemblyScript conventions, §4);
 * *ret: malloc'd result bytes (NULL when empty). */
weft_err sc_run_function(sc_run *r, const uint8_t *code, size_t code_len, const char *func,
                         size_t func_len, const uint8_t *param, size_t param_len, uint8_t **ret,
                         size_t *ret_len);
/* Loads a module through the cache (charges the load cost). */
weft_err sc_module(sc_run *r, const uint8_t *code, size_t len, vm_module **out);

static inline sc_frame *sc_top(sc_run *r) { return &r->frames[r->depth - 1]; }
weft_err sc_frame_push(sc_run *r, const address_t *a, amount_t coins, bool op_ds);
void sc_frame_pop(sc_run *r);
weft_err sc_frame_own(sc_frame *f, const address_t *a);
bool sc_frame_owns(const sc_frame *f, const address_t *a);

/* Emits an event with the current call stack. */
weft_err sc_emit(sc_run *r, const char *data, size_t len);

#endif
