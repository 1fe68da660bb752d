/* Fuzz target: the vm end to end — decode, validate, translate, instantiate (with the spectest
 * module) and run every exported function with zero arguments under a gas limit, with small
 * limits so that exhaustion paths are reached.
 * Oracles (abort on violation):
 *   - loading fails only with the vm's load errors; the contract profile never accepts a module
 *     that the full feature set refuses;
 *   - calls end in a result, a trap, or out of gas (which leaves exactly 0 gas); the gas left never
 *     exceeds the limit;
 *   - determinism: a second instance in a fresh store gives the same results, traps and gas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GAS 200000
#define MAXV 16
#define MAXCALLS 32

typedef struct outcome {
    weft_err err;
    uint64_t gas_left;
    vm_value res[MAXV];
} outcome;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz vm: %s\n", what);
        abort();
    }
}

static bool load_error(weft_err e)
{
    return e == WEFT_E_VM_MALFORMED || e == WEFT_E_VM_INVALID || e == WEFT_E_VM_FEATURE ||
           e == WEFT_E_VM_LIMIT;
}

/* Instantiates m in a fresh store and runs its exports; fills out[] (at most MAXCALLS). */
static size_t run_all(const vm_config *cfg, const vm_module *m, outcome *out, weft_err *inst_err)
{
    vm_store *s;
    vm_linker *l;
    size_t n = 0;
    check(vm_store_new(&s, cfg) == WEFT_OK, "store");
    check(vm_linker_new(&l) == WEFT_OK, "linker");
    check(vm_linker_define_spectest(l, s) == WEFT_OK, "spectest");
    vm_store_set_gas(s, GAS);
    vm_instance *inst;
    *inst_err = vm_instance_new(&inst, s, m, l, NULL);
    check(vm_store_gas(s) <= GAS, "gas grew during instantiation");
    if (*inst_err == WEFT_OK) {
        for (uint32_t i = 0; i < vm_module_export_count(m) && n < MAXCALLS; i++) {
            const char *name;
            size_t len;
            vm_extern_kind kind;
            vm_module_export_at(m, i, &name, &len, &kind);
            vm_extern x;
            if (kind != VM_EXTERN_FUNC || vm_instance_export_n(inst, name, len, &x) != WEFT_OK)
                continue;
            const vm_functype *ft = vm_func_type(x.u.func);
            if (ft->nparams > MAXV || ft->nresults > MAXV)
                continue;
            vm_value args[MAXV];
            for (uint32_t k = 0; k < ft->nparams; k++)
                args[k] = (vm_value){.type = (vm_valtype)ft->params[k], .v.i64 = 0};
            outcome *o = &out[n++];
            memset(o, 0, sizeof *o);
            vm_store_set_gas(s, GAS);
            o->err = vm_invoke(s, x.u.func, args, ft->nparams, o->res, ft->nresults);
            o->gas_left = vm_store_gas(s);
            check(o->err == WEFT_OK || vm_err_is_trap(o->err), "call ended in a non-trap error");
            check(o->gas_left <= GAS, "gas grew");
            check(o->err != WEFT_E_VM_OUT_OF_GAS || o->gas_left == 0, "out of gas left gas");
            if (o->err != WEFT_OK)
                memset(o->res, 0, sizeof o->res);
            for (uint32_t k = 0; o->err == WEFT_OK && k < ft->nresults; k++)
                if (o->res[k].type == VM_FUNCREF) /* handles differ between instances */
                    o->res[k].v.ref = o->res[k].v.ref != 0;
        }
    }
    vm_linker_free(l);
    vm_store_free(s);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vm_config all;
    vm_config_spectest(&all);
    all.limits.module_bytes = 1 << 20;
    all.limits.memory_pages = 16;
    all.limits.table_elems = 10000;
    all.limits.elem_items = 100000;
    all.limits.call_depth = 256;
    all.limits.value_stack = 1 << 16;
    all.limits.locals = 10000;
    all.limits.block_depth = 1000;
    vm_config contract = all;
    contract.features = 0;

    vm_module *m = NULL, *mc = NULL;
    weft_err err = vm_module_new(&m, &all, data, size, NULL);
    check(err == WEFT_OK || load_error(err) || err == WEFT_E_NOMEM, "unexpected load error");
    weft_err errc = vm_module_new(&mc, &contract, data, size, NULL);
    check(errc == WEFT_OK || load_error(errc) || errc == WEFT_E_NOMEM, "unexpected load error");
    check(!(err != WEFT_OK && errc == WEFT_OK), "contract profile accepts what all refuse");
    vm_module_free(mc);
    if (err != WEFT_OK)
        return 0;

    static outcome a[MAXCALLS], b[MAXCALLS];
    weft_err ea, eb;
    size_t na = run_all(&all, m, a, &ea);
    size_t nb = run_all(&all, m, b, &eb);
    check(ea == eb && na == nb, "instantiation is not deterministic");
    for (size_t i = 0; i < na; i++) {
        check(a[i].err == b[i].err && a[i].gas_left == b[i].gas_left,
              "a call is not deterministic");
        for (size_t k = 0; k < MAXV; k++)
            check(a[i].res[k].type == b[i].res[k].type && a[i].res[k].v.i64 == b[i].res[k].v.i64,
                  "a result is not deterministic");
    }
    vm_module_free(m);
    return 0;
}
