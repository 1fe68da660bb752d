/* vm — weft's WebAssembly interpreter with deterministic gas (DESIGN §6, docs/vm.md).
 *
 * Pipeline: bytes → vm_module_new (decode, validate, translate every function into internal code)
 * → vm_instance_new (link imports, allocate memory/tables/globals, apply segments, run start)
 * → vm_invoke (call an export with typed arguments, get typed results or a trap).
 *
 * Objects and ownership:
 *   vm_module    immutable once built; owns its translated code and a copy of everything it needs
 *                from the input bytes (the bytes may be freed after vm_module_new).  It may be
 *                shared read-only by several threads and stores.  It must outlive every instance
 *                made from it.
 *   vm_store     the execution context: value stack, call frames, gas meter, limits.  It owns every
 *                instance, memory, table, global and host function created in it; vm_store_free
 *                releases them all.  Not thread-safe: one thread at a time per store.  Several
 *                stores (and several instances per store) may live in one process; nothing is
 *                global.
 *   vm_instance  a module's runtime state.  Borrowed pointers into it (memory base, exports) stay
 *                valid until the store is freed, except the memory base, which is valid only until
 *                the next call into the instance (memory.grow may move it).
 *   vm_linker    a name → extern table used to resolve imports; it borrows the externs it holds,
 *                which must outlive the linker's use.
 *
 * Determinism: gas is charged per straight-line run of operators (cut at every branch), in full
 * when control enters the run, with costs computed at translation from a versioned cost table
 * (vm_gas_table, docs/vm.md §5); a completed call pays exactly the costs of the operators it
 * executed.  Host functions charge their own costs with vm_ctx_charge.  Out of gas is the trap
 * E_VM_OUT_OF_GAS at a deterministic point and leaves 0 gas.  Float results of arithmetic are
 * NaN-canonicalized. Every limit (vm_limits) is enforced at validation or as a deterministic trap;
 * the interpreter never recurses on the C stack per wasm call, so exhaustion is always the trap
 * E_VM_TRAP_STACK.  The module is pure: no I/O, no clock, no global state.
 *
 * Errors (weft_err, vm band): E_VM_MALFORMED (binary decoding), E_VM_INVALID (validation),
 * E_VM_FEATURE (uses a feature the config leaves off), E_VM_LIMIT (exceeds a configured limit),
 * E_VM_UNLINKABLE (unknown import / incompatible import type), the traps E_VM_TRAP_* and
 * E_VM_OUT_OF_GAS (their messages are the spec's trap texts), E_NOMEM, and whatever error a host
 * function returns (it becomes the trap).  A bad module never asserts.
 */
#ifndef WEFT_VM_H
#define WEFT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- values -------------------------------------------------------------------------------- */

/* Value types, numbered as in the binary format. */
typedef enum vm_valtype {
    VM_I32 = 0x7f,
    VM_I64 = 0x7e,
    VM_F32 = 0x7d,
    VM_F64 = 0x7c,
    VM_FUNCREF = 0x70,
    VM_EXTERNREF = 0x6f,
} vm_valtype;

/* A raw value; its type comes from context (a signature or vm_value.type).  Floats are carried as
 * their IEEE-754 bit patterns.  References: 0 is null; a funcref is an opaque handle valid while
 * its instance's store lives; an externref is any non-zero host value. */
typedef union vm_val {
    uint32_t i32;
    uint64_t i64;
    uint32_t f32;
    uint64_t f64;
    uint64_t ref;
} vm_val;

typedef struct vm_value {
    vm_valtype type;
    vm_val v;
} vm_value;

/* "i32", "i64", "f32", "f64", "funcref", "externref"; "?" for anything else. */
const char *vm_valtype_name(vm_valtype t);
/* Parses a name as printed by vm_valtype_name; E_INVAL for an unknown name. */
WEFT_MUST_USE weft_err vm_valtype_parse(const char *name, vm_valtype *out);

/* A function type.  Arrays are borrowed from the module (or the host definition). */
typedef struct vm_functype {
    uint32_t nparams;
    uint32_t nresults;
    const uint8_t *params;  /* vm_valtype codes */
    const uint8_t *results; /* vm_valtype codes */
} vm_functype;

/* ---- configuration ------------------------------------------------------------------------- */

/* Optional features beyond the contract profile (MVP + sign-extension + non-trapping float-to-int
 * + mutable globals + bulk memory, which are always on). */
#define VM_FEAT_MULTI_VALUE 0x1u /* several results, block types with a type index */
#define VM_FEAT_REF_TYPES 0x2u   /* funcref/externref values, several tables, table.*, ref.* */
#define VM_FEAT_ALL (VM_FEAT_MULTI_VALUE | VM_FEAT_REF_TYPES)

/* Every structural and execution limit.  Module limits are checked by vm_module_new (E_VM_LIMIT);
 * execution limits are traps. */
typedef struct vm_limits {
    uint32_t module_bytes;  /* size of the binary */
    uint32_t types;         /* entries of the type section */
    uint32_t type_arity;    /* parameters, and results, of one function type */
    uint32_t funcs;         /* functions, imported and defined */
    uint32_t imports;       /* imports of any kind */
    uint32_t exports;       /* exports */
    uint32_t globals;       /* globals, imported and defined */
    uint32_t tables;        /* tables, imported and defined */
    uint32_t elem_segments; /* element segments */
    uint32_t data_segments; /* data segments */
    uint32_t elem_items;    /* total entries over all element segments */
    uint32_t locals;        /* locals of one function, parameters included */
    uint32_t block_depth;   /* nesting of block/loop/if in one function */
    uint32_t memory_pages;  /* memory size cap in 64 KiB pages (memory.grow fails beyond it) */
    uint32_t table_elems;   /* table size cap (table.grow fails beyond it) */
    uint32_t call_depth;    /* wasm call frames per store (trap beyond) */
    uint32_t value_stack;   /* 8-byte value slots per store (trap beyond) */
    uint32_t host_nesting;  /* host → wasm re-entries per store (trap beyond) */
} vm_limits;

/* The gas cost table (docs/vm.md gives the default, version 1).  All costs are in gas units. */
#define VM_GAS_OPS 512 /* op[] index: opcode byte; 256 + sub-opcode for the 0xFC prefix */
typedef struct vm_gas_table {
    uint32_t version;
    uint32_t op[VM_GAS_OPS]; /* cost of each wasm operator */
    uint32_t per_local;      /* function entry: per declared local (parameters excluded) */
    uint32_t per_page;       /* memory.grow: per page added */
    uint32_t per_64_bytes;   /* memory.fill/copy/init: per started 64 bytes */
    uint32_t per_table_elem; /* table.fill/copy/init/grow: per element */
    uint32_t load_per_byte;  /* vm_module_load_cost: per byte of the binary */
} vm_gas_table;

/* The default (contract) gas table, version 1.  Static storage. */
const vm_gas_table *vm_gas_default(void);

typedef struct vm_config {
    uint32_t features;       /* VM_FEAT_* beyond the contract profile */
    bool metering;           /* emit gas charges; false only for benchmarks and tests */
    const vm_gas_table *gas; /* borrowed; must outlive every module built with it */
    vm_limits limits;
} vm_config;

/* The contract profile: no optional features, metering on, the default gas table, contract
 * limits (64 memory pages, call depth 1000, ...; docs/vm.md lists them). */
void vm_config_default(vm_config *cfg);
/* The spec-test profile: every feature, limits sized for the official test suite. */
void vm_config_spectest(vm_config *cfg);

/* Diagnostics of a failed load or link: a message naming the failing check and the byte offset in
 * the binary where it was found (0 when not applicable). */
typedef struct vm_diag {
    char msg[160];
    size_t offset;
} vm_diag;

/* ---- modules ------------------------------------------------------------------------------- */

typedef enum vm_extern_kind {
    VM_EXTERN_FUNC = 0,
    VM_EXTERN_TABLE = 1,
    VM_EXTERN_MEMORY = 2,
    VM_EXTERN_GLOBAL = 3,
} vm_extern_kind;

typedef struct vm_module vm_module;

/* Decodes, validates and translates `bytes[0..len)` (borrowed for the call only).  On success
 * *out is a new module (free with vm_module_free).  Errors: E_VM_MALFORMED, E_VM_INVALID,
 * E_VM_FEATURE, E_VM_LIMIT, E_NOMEM; `diag` (may be NULL) receives details.  `cfg` is copied; its
 * gas table is borrowed. */
WEFT_MUST_USE weft_err vm_module_new(vm_module **out, const vm_config *cfg, const uint8_t *bytes,
                                     size_t len, vm_diag *diag);
void vm_module_free(vm_module *m);

/* Introspection: the module's imports and exports, in binary order.  Strings are borrowed from
 * the module and NUL-terminated (a name may also contain NULs: use the length). */
uint32_t vm_module_import_count(const vm_module *m);
void vm_module_import_at(const vm_module *m, uint32_t i, const char **module, const char **name,
                         vm_extern_kind *kind);
uint32_t vm_module_export_count(const vm_module *m);
void vm_module_export_at(const vm_module *m, uint32_t i, const char **name, size_t *len,
                         vm_extern_kind *kind);

/* The gas an embedder charges for loading this module: load_per_byte × binary size (docs/vm.md). */
uint64_t vm_module_load_cost(const vm_module *m);

/* ---- stores and externs -------------------------------------------------------------------- */

typedef struct vm_store vm_store;
typedef struct vm_instance vm_instance;
typedef struct vm_func vm_func;
typedef struct vm_memory vm_memory;
typedef struct vm_table vm_table;
typedef struct vm_global vm_global;

/* A borrowed reference to a function, table, memory or global owned by a store. */
typedef struct vm_extern {
    vm_extern_kind kind;
    union {
        vm_func *func;
        vm_table *table;
        vm_memory *memory;
        vm_global *global;
    } u;
} vm_extern;

/* Creates a store with the limits of `cfg` (copied).  E_NOMEM. */
WEFT_MUST_USE weft_err vm_store_new(vm_store **out, const vm_config *cfg);
/* Frees the store and everything created in it. */
void vm_store_free(vm_store *s);
/* Sets / reads the remaining gas.  Gas is shared by everything running in the store. */
void vm_store_set_gas(vm_store *s, uint64_t gas);
uint64_t vm_store_gas(const vm_store *s);

/* Host-created externs (used by the spectest module and by embedders), owned by the store.
 * Memory: `min` pages, optional `max` (has_max); E_VM_LIMIT beyond the store's page cap.
 * Table: `elem_type` VM_FUNCREF or VM_EXTERNREF, all entries null.
 * Global: type, mutability and initial value. */
WEFT_MUST_USE weft_err vm_memory_new(vm_memory **out, vm_store *s, uint32_t min, uint32_t max,
                                     bool has_max);
WEFT_MUST_USE weft_err vm_table_new(vm_table **out, vm_store *s, vm_valtype elem_type, uint32_t min,
                                    uint32_t max, bool has_max);
WEFT_MUST_USE weft_err vm_global_new(vm_global **out, vm_store *s, vm_valtype type, bool mut,
                                     vm_val init);

/* The memory's current bytes (borrowed; valid until the memory grows) and size in bytes. */
uint8_t *vm_memory_data(const vm_memory *m, uint64_t *size);
vm_val vm_global_get(const vm_global *g);

/* ---- host functions ------------------------------------------------------------------------ */

/* The context of a host function call. */
typedef struct vm_call_ctx vm_call_ctx;

/* A host function: reads its arguments from args[0..nparams) and writes results[0..nresults);
 * args stays valid while results are written (they do not alias).  Returns WEFT_OK, or any error,
 * which becomes a trap of the whole call (use E_VM_TRAP_HOST when there is no better code). */
typedef weft_err (*vm_host_fn)(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results);

/* A host function definition.  `params` and `results` spell the signature with one letter per
 * value: i = i32, I = i64, f = f32, F = f64, r = funcref, e = externref (e.g. "iI" → (i32 i64)). */
typedef struct vm_host_def {
    const char *module;
    const char *name;
    const char *params;
    const char *results;
    vm_host_fn fn;
    void *user; /* borrowed; passed to fn */
} vm_host_def;

/* Creates a host function in the store (the def's strings are copied).  E_INVAL for a bad
 * signature string. */
WEFT_MUST_USE weft_err vm_host_func_new(vm_func **out, vm_store *s, const vm_host_def *def);

/* The store, and the instance whose code made this call (NULL when called from vm_invoke). */
vm_store *vm_ctx_store(vm_call_ctx *ctx);
vm_instance *vm_ctx_instance(vm_call_ctx *ctx);
/* Charges `gas` to the store; E_VM_OUT_OF_GAS (remaining gas becomes 0) if not enough is left:
 * return that error from the host function. */
WEFT_MUST_USE weft_err vm_ctx_charge(vm_call_ctx *ctx, uint64_t gas);

/* ---- linking and instances ----------------------------------------------------------------- */

typedef struct vm_linker vm_linker;

WEFT_MUST_USE weft_err vm_linker_new(vm_linker **out);
void vm_linker_free(vm_linker *l);
/* Defines module.name as `ext` (borrowed); a later definition of the same name replaces it. */
WEFT_MUST_USE weft_err vm_linker_define(vm_linker *l, const char *module, const char *name,
                                        vm_extern ext);
/* Defines every export of `inst` under module name `module`. */
WEFT_MUST_USE weft_err vm_linker_define_instance(vm_linker *l, const char *module,
                                                 vm_instance *inst);
/* Creates host functions for `n` definitions in store `s` and defines them. */
WEFT_MUST_USE weft_err vm_linker_define_host(vm_linker *l, vm_store *s, const vm_host_def *defs,
                                             size_t n);
/* Defines the "spectest" module of the official test suite in `s`: print functions (which do
 * nothing), global_i32/i64/f32/f64 = 666/666/666.6/666.6, a funcref table (10..20) and a memory
 * (1..2 pages). */
WEFT_MUST_USE weft_err vm_linker_define_spectest(vm_linker *l, vm_store *s);

/* Instantiates `m` in store `s`, resolving imports through `l` (may be NULL when the module has
 * none): allocates memories, tables and globals, applies element then data segments in order, then
 * runs the start function.  Errors: E_VM_UNLINKABLE (diag names the import), E_VM_LIMIT, a trap
 * (segment out of bounds, or a trap or E_VM_OUT_OF_GAS in the start function; segment writes
 * before the trap stay, as the spec requires), E_NOMEM.  The instance belongs to the store. */
WEFT_MUST_USE weft_err vm_instance_new(vm_instance **out, vm_store *s, const vm_module *m,
                                       const vm_linker *l, vm_diag *diag);

/* Looks up an export by name (NUL-terminated, or `len` bytes for names that contain NULs);
 * E_NOT_FOUND. */
WEFT_MUST_USE weft_err vm_instance_export(const vm_instance *inst, const char *name,
                                          vm_extern *out);
WEFT_MUST_USE weft_err vm_instance_export_n(const vm_instance *inst, const char *name, size_t len,
                                            vm_extern *out);
/* The exported function `name`, or NULL if there is none (or it is not a function). */
vm_func *vm_instance_func(const vm_instance *inst, const char *name);
/* The instance's memory 0 (NULL if it has none). */
vm_memory *vm_instance_memory(const vm_instance *inst);

/* Bounds-checked copies between host buffers and an instance's memory 0: E_VM_TRAP_MEMORY if
 * [addr, addr+len) is outside it (or there is no memory). */
WEFT_MUST_USE weft_err vm_memory_read(const vm_memory *m, uint64_t addr, void *out, size_t len);
WEFT_MUST_USE weft_err vm_memory_write(vm_memory *m, uint64_t addr, const void *data, size_t len);

/* The function's type (borrowed). */
const vm_functype *vm_func_type(const vm_func *f);

/* Calls `f` with `nargs` typed arguments; on WEFT_OK writes `nresults` typed results.  The counts
 * and types must match vm_func_type (E_INVAL otherwise).  May be called from a host function to
 * call back into a module (nesting bounded by limits.host_nesting).  Returns WEFT_OK, a trap, or
 * E_VM_OUT_OF_GAS. */
WEFT_MUST_USE weft_err vm_invoke(vm_store *s, vm_func *f, const vm_value *args, size_t nargs,
                                 vm_value *results, size_t nresults);

/* True for the error codes that are runtime traps (E_VM_TRAP_*, E_VM_OUT_OF_GAS). */
bool vm_err_is_trap(weft_err err);

#endif
