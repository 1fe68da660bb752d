/* `weft vm` — run WebAssembly modules in weft's vm from the command line.
 *
 *   weft vm invoke MODULE.wasm EXPORT [TYPE:VALUE ...] [--gas N] [--features LIST]
 *
 * Loads the module with the contract profile (or the features named in LIST: "multi-value",
 * "reference-types", "all", "none"), instantiates it with the spec tests' "spectest" module as the
 * only import source, calls EXPORT with the arguments, prints each result as TYPE:VALUE on its own
 * line (i32/i64: unsigned decimal of the bits; f32/f64: unsigned decimal of the raw bits;
 * references: "null" or the handle) and the gas used to stderr.  Argument values use the same
 * form; integers may also be written negative or in hex (0x...).  --gas defaults to unlimited.
 *
 * Exit status: 0 ok; 2 usage, unreadable file, or a malformed, invalid, unsupported or unlinkable
 * module; 3 trap (the spec's trap text on stderr); 4 out of gas.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vm/vm.h"

#define EXIT_TRAP 3
#define EXIT_OUT_OF_GAS 4
#define MAX_VALUES 64

static int usage(void)
{
    return cli_error(WEFT_E_USAGE, "usage: weft vm invoke MODULE.wasm EXPORT [TYPE:VALUE ...] "
                                   "[--gas N] [--features multi-value,reference-types|all|none]");
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    if (s[0] == '-') {
        long long v = strtoll(s, &end, 0);
        *out = (uint64_t)v;
    } else {
        *out = strtoull(s, &end, 0);
    }
    return errno == 0 && *end == 0;
}

/* Parses TYPE:VALUE. */
static bool parse_arg(const char *s, vm_value *out)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon - s > 15)
        return false;
    char type[16];
    memcpy(type, s, (size_t)(colon - s));
    type[colon - s] = 0;
    if (vm_valtype_parse(type, &out->type) != WEFT_OK)
        return false;
    const char *v = colon + 1;
    out->v.i64 = 0;
    if ((out->type == VM_FUNCREF || out->type == VM_EXTERNREF) && strcmp(v, "null") == 0)
        return true;
    uint64_t x;
    if (!parse_u64(v, &x))
        return false;
    switch (out->type) {
    case VM_I32:
        if (v[0] == '-' ? (int64_t)x < INT32_MIN : x > UINT32_MAX)
            return false;
        out->v.i32 = (uint32_t)x;
        return true;
    case VM_F32:
        if (x > UINT32_MAX)
            return false;
        out->v.f32 = (uint32_t)x;
        return true;
    case VM_FUNCREF:
        return false; /* only null can be written */
    default:
        out->v.i64 = x;
        return true;
    }
}

static bool parse_features(const char *s, uint32_t *out)
{
    *out = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 3 && strncmp(s, "all", 3) == 0)
            *out |= VM_FEAT_ALL;
        else if (n == 4 && strncmp(s, "none", 4) == 0)
            ;
        else if (n == 11 && strncmp(s, "multi-value", 11) == 0)
            *out |= VM_FEAT_MULTI_VALUE;
        else if (n == 15 && strncmp(s, "reference-types", 15) == 0)
            *out |= VM_FEAT_REF_TYPES;
        else
            return false;
        s += n;
        if (*s == ',')
            s++;
    }
    return true;
}

static void print_value(const vm_value *v)
{
    const char *t = vm_valtype_name(v->type);
    switch (v->type) {
    case VM_I32:
    case VM_F32:
        printf("%s:%" PRIu32 "\n", t, v->v.i32);
        break;
    case VM_FUNCREF:
    case VM_EXTERNREF:
        if (v->v.ref == 0)
            printf("%s:null\n", t);
        else
            printf("%s:%" PRIu64 "\n", t, v->v.ref);
        break;
    default:
        printf("%s:%" PRIu64 "\n", t, v->v.i64);
        break;
    }
}

/* The exit status of a vm error from instantiation or a call. */
static int run_error(weft_err err, const char *what, const vm_diag *diag)
{
    if (err == WEFT_E_VM_OUT_OF_GAS) {
        fprintf(stderr, "weft: %s: out of gas\n", what);
        return EXIT_OUT_OF_GAS;
    }
    if (vm_err_is_trap(err)) {
        fprintf(stderr, "%s\n", weft_strerror(err));
        return EXIT_TRAP;
    }
    return cli_error(err, "%s%s%s", what, diag && diag->msg[0] ? ": " : "", diag ? diag->msg : "");
}

static int vm_invoke_cmd(int argc, char **argv)
{
    struct cli_opt opts[] = {{.name = "gas"}, {.name = "features"}};
    const char *pos[MAX_VALUES + 3];
    size_t npos;
    int rc =
        cli_parse_opts(argc, argv, opts, WEFT_ARRAY_LEN(opts), pos, WEFT_ARRAY_LEN(pos), &npos);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (npos < 2)
        return usage();
    vm_config cfg;
    vm_config_default(&cfg);
    if (opts[1].set && !parse_features(opts[1].value, &cfg.features))
        return cli_error(WEFT_E_USAGE, "unknown feature list '%s'", opts[1].value);
    uint64_t gas = UINT64_MAX;
    if (opts[0].set && (!parse_u64(opts[0].value, &gas) || opts[0].value[0] == '-'))
        return cli_error(WEFT_E_USAGE, "bad gas amount '%s'", opts[0].value);
    size_t nargs = npos - 2;
    vm_value args[MAX_VALUES];
    for (size_t i = 0; i < nargs; i++)
        if (!parse_arg(pos[2 + i], &args[i]))
            return cli_error(WEFT_E_USAGE, "bad argument '%s' (expected TYPE:VALUE)", pos[2 + i]);

    size_t len;
    uint8_t *bytes = base_read_file(pos[0], &len);
    if (!bytes)
        return cli_error(WEFT_E_IO, "cannot read %s", pos[0]);
    vm_module *m = NULL;
    vm_store *s = NULL;
    vm_linker *l = NULL;
    vm_diag diag;
    bool started = false;
    weft_err err = vm_module_new(&m, &cfg, bytes, len, &diag);
    free(bytes);
    if (err != WEFT_OK) {
        rc = cli_error(err, "%s: %s (offset %zu)", pos[0], diag.msg, diag.offset);
        goto out;
    }
    err = vm_store_new(&s, &cfg);
    if (err == WEFT_OK)
        err = vm_linker_new(&l);
    if (err == WEFT_OK)
        err = vm_linker_define_spectest(l, s);
    if (err != WEFT_OK) {
        rc = cli_error(err, "cannot set up the vm");
        goto out;
    }
    vm_store_set_gas(s, gas);
    started = true;
    vm_instance *inst;
    err = vm_instance_new(&inst, s, m, l, &diag);
    if (err != WEFT_OK) {
        rc = run_error(err, "instantiation", &diag);
        goto out;
    }
    vm_func *f = vm_instance_func(inst, pos[1]);
    if (!f) {
        rc = cli_error(WEFT_E_NOT_FOUND, "no exported function '%s'", pos[1]);
        goto out;
    }
    const vm_functype *ft = vm_func_type(f);
    if (ft->nparams != nargs) {
        rc = cli_error(WEFT_E_USAGE, "'%s' takes %u arguments, %zu given", pos[1], ft->nparams,
                       nargs);
        goto out;
    }
    for (size_t i = 0; i < nargs; i++)
        if ((uint8_t)args[i].type != ft->params[i]) {
            rc = cli_error(WEFT_E_USAGE, "argument %zu of '%s' must be %s", i + 1, pos[1],
                           vm_valtype_name((vm_valtype)ft->params[i]));
            goto out;
        }
    if (ft->nresults > MAX_VALUES) {
        rc = cli_error(WEFT_E_LIMIT, "too many results");
        goto out;
    }
    vm_value res[MAX_VALUES];
    err = vm_invoke(s, f, args, nargs, res, ft->nresults);
    if (err != WEFT_OK) {
        rc = run_error(err, pos[1], NULL);
        goto out;
    }
    for (uint32_t i = 0; i < ft->nresults; i++)
        print_value(&res[i]);
    rc = CLI_EXIT_OK;
out:
    if (s && started) /* gas of the start function and the call */
        fprintf(stderr, "gas used: %" PRIu64 "\n", gas - vm_store_gas(s));
    vm_linker_free(l);
    vm_store_free(s);
    vm_module_free(m);
    return rc;
}

int cmd_vm(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "invoke") == 0)
        return vm_invoke_cmd(argc - 1, argv + 1);
    return usage();
}
