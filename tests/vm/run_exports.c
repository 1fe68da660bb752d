/* vm_run_exports: instantiates a module (no imports) in weft's vm and calls every exported
 * function that takes no parameters, in export order, in the same instance — printing each
 * outcome in the format of wabt's `wasm-interp --run-all-exports`, so that the differential test
 * (test_differential.py) can compare the two engines line by line:
 *     name() => i32:4294967295, f64:-0.100000
 *     name() =>
 *     name() => error: integer divide by zero
 * Integers print as unsigned decimals; floats with printf's %f (as wasm-interp does; NaN as "nan").
 * Profile: the contract feature set with spec-test limits, metering on with unlimited gas.
 * Exit status: 0 when the module ran (traps included), 1 when it did not load or instantiate. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

static void print_value(const vm_value *v)
{
    float f;
    double d;
    switch (v->type) {
    case VM_I32:
        printf("i32:%" PRIu32, v->v.i32);
        break;
    case VM_I64:
        printf("i64:%" PRIu64, v->v.i64);
        break;
    case VM_F32:
        memcpy(&f, &v->v.f32, 4);
        if (f != f)
            printf("f32:nan");
        else
            printf("f32:%f", (double)f);
        break;
    case VM_F64:
        memcpy(&d, &v->v.f64, 8);
        if (d != d)
            printf("f64:nan");
        else
            printf("f64:%f", d);
        break;
    default:
        printf("%s:%" PRIu64, vm_valtype_name(v->type), v->v.ref);
        break;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE.wasm\n", argv[0]);
        return 2;
    }
    size_t len;
    uint8_t *bytes = base_read_file(argv[1], &len);
    if (!bytes) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    vm_config cfg;
    vm_config_spectest(&cfg);
    cfg.features = 0;
    vm_module *m = NULL;
    vm_store *s = NULL;
    vm_diag diag;
    int rc = 1;
    weft_err err = vm_module_new(&m, &cfg, bytes, len, &diag);
    free(bytes);
    if (err != WEFT_OK) {
        printf("load => error: %s: %s\n", weft_err_name(err), diag.msg);
        goto out;
    }
    if (vm_store_new(&s, &cfg) != WEFT_OK)
        goto out;
    vm_store_set_gas(s, UINT64_MAX);
    vm_instance *inst;
    err = vm_instance_new(&inst, s, m, NULL, &diag);
    if (err != WEFT_OK) {
        printf("instantiate => error: %s\n", weft_strerror(err));
        goto out;
    }
    for (uint32_t i = 0; i < vm_module_export_count(m); i++) {
        const char *name;
        size_t nlen;
        vm_extern_kind kind;
        vm_module_export_at(m, i, &name, &nlen, &kind);
        vm_extern x;
        if (kind != VM_EXTERN_FUNC || vm_instance_export_n(inst, name, nlen, &x) != WEFT_OK)
            continue;
        const vm_functype *ft = vm_func_type(x.u.func);
        if (ft->nparams != 0)
            continue;
        vm_value res[16];
        if (ft->nresults > 16)
            continue;
        vm_store_set_gas(s, UINT64_MAX);
        err = vm_invoke(s, x.u.func, NULL, 0, res, ft->nresults);
        printf("%.*s() =>", (int)nlen, name);
        if (err != WEFT_OK) {
            printf(" error: %s\n", weft_strerror(err));
            continue;
        }
        for (uint32_t k = 0; k < ft->nresults; k++) {
            printf(k ? ", " : " ");
            print_value(&res[k]);
        }
        printf("\n");
    }
    rc = 0;
out:
    vm_store_free(s);
    vm_module_free(m);
    return rc;
}
