/* Spec-test runner: executes the official WebAssembly core tests, converted by wabt's wast2json,
 * against weft's vm.  Commands: module, register, action, assert_return, assert_trap,
 * assert_exhaustion, assert_invalid, assert_malformed (binary), assert_unlinkable and
 * assert_uninstantiable, with the spec's "spectest" host module.
 *
 * Checks are strict: an assert_malformed module must fail with E_VM_MALFORMED and an
 * assert_invalid one with E_VM_INVALID; a trap's message must start with the expected text; NaN
 * results are checked by class (nan:canonical / nan:arithmetic), everything else bit for bit.
 *
 * Skips, each counted and printed with its reason: text-format modules (assert_malformed with
 * module_type "text": weft has no text parser), and — when run with --features=none, the contract
 * profile — every module refused with E_VM_FEATURE (multi-value or reference types) together with
 * the commands that use it.
 *
 * Usage: vm_spec_runner [--features=all|none] [--no-metering] [--known-failures FILE] [--verbose]
 *        FILE.json...
 * The known-failures file lists "file.json:line" entries, one per line ('#' comments); the runner
 * enforces it exactly: an unlisted failure and a listed command that passes both fail the run.
 * Exit status: 0 when the outcome matches, 1 otherwise, 2 on usage errors.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

typedef struct counts {
    long pass, fail, skip;
} counts;

typedef struct named {
    char *name;
    vm_instance *inst;
} named;

typedef struct runner {
    vm_config cfg;
    bool verbose;
    /* known failures */
    char **known;
    bool *known_hit;
    size_t nknown;
    long unexpected_pass, unexpected_fail;
    /* per file */
    const char *file; /* basename */
    char dir[4096];
    vm_store *store;
    vm_linker *linker;
    vm_module **mods;
    size_t nmods, capmods;
    named *names;
    size_t nnames;
    vm_instance *current;
    bool current_skipped; /* the current module was skipped (feature off): skip its commands */
    char **skipped;       /* names ($M) and registered names of skipped modules */
    size_t nskipped;
    counts c;
    long skip_text, skip_feature;
} runner;

static bool is_known(runner *r, long line)
{
    char key[512];
    snprintf(key, sizeof key, "%s:%ld", r->file, line);
    for (size_t i = 0; i < r->nknown; i++)
        if (strcmp(r->known[i], key) == 0) {
            r->known_hit[i] = true;
            return true;
        }
    return false;
}

static void pass(runner *r, long line)
{
    r->c.pass++;
    if (is_known(r, line)) {
        printf("  %s:%ld: listed as a known failure but passes\n", r->file, line);
        r->unexpected_pass++;
    }
}

static void failf(runner *r, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void failf(runner *r, long line, const char *fmt, ...)
{
    r->c.fail++;
    bool known = is_known(r, line);
    if (!known)
        r->unexpected_fail++;
    if (!known || r->verbose) {
        va_list ap;
        va_start(ap, fmt);
        printf("  %s:%ld: %sFAIL: ", r->file, line, known ? "(known) " : "");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
    }
}

/* Loads (decodes, validates, translates) the module file of a command. */
static weft_err load(runner *r, json_t *cmd, vm_module **out, vm_diag *diag)
{
    *out = NULL;
    const char *fn = json_string_value(json_object_get(cmd, "filename"));
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", r->dir, fn ? fn : "");
    size_t len;
    uint8_t *bytes = base_read_file(path, &len);
    if (!bytes) {
        snprintf(diag->msg, sizeof diag->msg, "cannot read %.120s", fn ? fn : "(none)");
        return WEFT_E_IO;
    }
    weft_err err = vm_module_new(out, &r->cfg, bytes, len, diag);
    free(bytes);
    if (err == WEFT_OK) {
        if (r->nmods == r->capmods) {
            r->capmods = r->capmods ? r->capmods * 2 : 64;
            r->mods = realloc(r->mods, sizeof *r->mods * r->capmods);
            if (!r->mods) {
                fprintf(stderr, "out of memory\n");
                exit(2);
            }
        }
        r->mods[r->nmods++] = *out;
    }
    return err;
}

static void add_skipped(runner *r, const char *name)
{
    r->skipped = realloc(r->skipped, sizeof *r->skipped * (r->nskipped + 1));
    if (!r->skipped) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    r->skipped[r->nskipped++] = strdup(name);
}

static bool is_skipped(const runner *r, const char *name)
{
    for (size_t i = 0; i < r->nskipped; i++)
        if (strcmp(r->skipped[i], name) == 0)
            return true;
    return false;
}

/* True when module m imports from a registered module that was skipped. */
static bool imports_skipped(const runner *r, const vm_module *m)
{
    for (uint32_t i = 0; i < vm_module_import_count(m); i++) {
        const char *mod, *name;
        vm_extern_kind k;
        vm_module_import_at(m, i, &mod, &name, &k);
        if (is_skipped(r, mod))
            return true;
    }
    return false;
}

static vm_instance *lookup(runner *r, json_t *name)
{
    const char *n = json_string_value(name);
    if (!n)
        return r->current;
    for (size_t i = r->nnames; i-- > 0;)
        if (strcmp(r->names[i].name, n) == 0)
            return r->names[i].inst;
    return NULL;
}

static void set_name(runner *r, const char *n, vm_instance *inst)
{
    r->names = realloc(r->names, sizeof *r->names * (r->nnames + 1));
    if (!r->names) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    r->names[r->nnames].name = strdup(n);
    r->names[r->nnames++].inst = inst;
}

/* Parses a JSON value {type, value} into a vm_value; NaN patterns are reported in *pattern. */
static bool parse_value(json_t *j, vm_value *out, const char **pattern)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    const char *v = json_string_value(json_object_get(j, "value"));
    *pattern = NULL;
    if (!t || vm_valtype_parse(t, &out->type) != WEFT_OK)
        return false;
    out->v.i64 = 0;
    if (!v)
        return true; /* type only (assert_trap expectations) */
    if (strncmp(v, "nan:", 4) == 0) {
        *pattern = v;
        return true;
    }
    if (strcmp(v, "null") == 0) {
        out->v.ref = 0;
        return true;
    }
    uint64_t n = strtoull(v, NULL, 10);
    if (out->type == VM_EXTERNREF)
        out->v.ref = n + 1; /* host reference n; 0 is null */
    else if (out->type == VM_FUNCREF)
        out->v.ref = n;
    else
        out->v.i64 = n;
    return true;
}

static bool value_matches(const vm_value *got, const vm_value *want, const char *pattern)
{
    if (got->type != want->type)
        return false;
    if (pattern) {
        bool canonical = strcmp(pattern, "nan:canonical") == 0;
        if (got->type == VM_F32) {
            uint32_t b = got->v.f32;
            if ((b & 0x7f800000u) != 0x7f800000u || (b & 0x007fffffu) == 0)
                return false;
            return canonical ? (b & 0x7fffffffu) == 0x7fc00000u : (b & 0x00400000u) != 0;
        }
        if (got->type == VM_F64) {
            uint64_t b = got->v.f64;
            if ((b & 0x7ff0000000000000ull) != 0x7ff0000000000000ull ||
                (b & 0x000fffffffffffffull) == 0)
                return false;
            return canonical ? (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
                             : (b & 0x0008000000000000ull) != 0;
        }
        return false;
    }
    switch (got->type) {
    case VM_I32:
    case VM_F32:
        return got->v.i32 == want->v.i32;
    case VM_FUNCREF:
        return (got->v.ref == 0) == (want->v.ref == 0);
    default:
        return got->v.i64 == want->v.i64;
    }
}

#define MAXVALS 64

/* Performs an action; returns the vm's result code (or E_NOT_FOUND / E_INVAL for a bad action)
 * and fills results. */
static weft_err act(runner *r, json_t *action, vm_value *res, size_t *nres, char *why, size_t wlen)
{
    *nres = 0;
    vm_instance *inst = lookup(r, json_object_get(action, "module"));
    if (!inst) {
        snprintf(why, wlen, "no module instance");
        return WEFT_E_NOT_FOUND;
    }
    json_t *field = json_object_get(action, "field");
    const char *type = json_string_value(json_object_get(action, "type"));
    vm_extern ext;
    if (vm_instance_export_n(inst, json_string_value(field), json_string_length(field), &ext) !=
        WEFT_OK) {
        snprintf(why, wlen, "no export \"%s\"", json_string_value(field));
        return WEFT_E_NOT_FOUND;
    }
    if (type && strcmp(type, "get") == 0) {
        if (ext.kind != VM_EXTERN_GLOBAL) {
            snprintf(why, wlen, "export is not a global");
            return WEFT_E_INVAL;
        }
        vm_val v = vm_global_get(ext.u.global);
        /* the global's type: from its value type, kept in the export's global */
        res[0].v = v;
        res[0].type = VM_I32; /* fixed up by the caller from the expected type */
        *nres = 1;
        return WEFT_OK;
    }
    if (ext.kind != VM_EXTERN_FUNC) {
        snprintf(why, wlen, "export is not a function");
        return WEFT_E_INVAL;
    }
    json_t *args = json_object_get(action, "args");
    vm_value a[MAXVALS];
    size_t na = json_array_size(args);
    if (na > MAXVALS)
        return WEFT_E_INVAL;
    for (size_t i = 0; i < na; i++) {
        const char *pat;
        if (!parse_value(json_array_get(args, i), &a[i], &pat) || pat) {
            snprintf(why, wlen, "bad argument %zu", i);
            return WEFT_E_INVAL;
        }
    }
    const vm_functype *ft = vm_func_type(ext.u.func);
    if (ft->nresults > MAXVALS)
        return WEFT_E_INVAL;
    vm_store_set_gas(r->store, UINT64_MAX);
    weft_err err = vm_invoke(r->store, ext.u.func, a, na, res, ft->nresults);
    if (err == WEFT_OK)
        *nres = ft->nresults;
    return err;
}

static void fmt_value(char *buf, size_t n, const vm_value *v)
{
    switch (v->type) {
    case VM_I32:
    case VM_F32:
        snprintf(buf, n, "%s:0x%08" PRIx32, vm_valtype_name(v->type), v->v.i32);
        break;
    default:
        snprintf(buf, n, "%s:0x%016" PRIx64, vm_valtype_name(v->type), v->v.i64);
        break;
    }
}

static void cmd_module(runner *r, json_t *cmd, long line)
{
    vm_diag diag = {{0}, 0};
    vm_module *m;
    r->current = NULL;
    r->current_skipped = false;
    weft_err err = load(r, cmd, &m, &diag);
    const char *name = json_string_value(json_object_get(cmd, "name"));
    if (err == WEFT_E_VM_FEATURE) {
        r->current_skipped = true;
        r->c.skip++;
        r->skip_feature++;
        if (name)
            add_skipped(r, name);
        if (r->verbose)
            printf("  %s:%ld: skip module (%s)\n", r->file, line, diag.msg);
        return;
    }
    if (err != WEFT_OK) {
        failf(r, line, "module: %s: %s", weft_err_name(err), diag.msg);
        return;
    }
    vm_instance *inst;
    vm_store_set_gas(r->store, UINT64_MAX);
    err = vm_instance_new(&inst, r->store, m, r->linker, &diag);
    if (err == WEFT_E_VM_UNLINKABLE && imports_skipped(r, m)) {
        r->current_skipped = true;
        r->c.skip++;
        r->skip_feature++;
        if (name)
            add_skipped(r, name);
        return;
    }
    if (err != WEFT_OK) {
        failf(r, line, "instantiate: %s: %s", weft_err_name(err), diag.msg);
        return;
    }
    r->current = inst;
    if (name)
        set_name(r, name, inst);
    pass(r, line);
}

/* True when a command refers to a module that was skipped (feature off). */
static bool targets_skipped(runner *r, json_t *action)
{
    if (!action)
        return r->current_skipped;
    json_t *mod = json_object_get(action, "module");
    if (!mod)
        return r->current_skipped;
    return lookup(r, mod) == NULL;
}

static void cmd_action(runner *r, json_t *cmd, long line, const char *type)
{
    json_t *action = json_object_get(cmd, "action");
    if (targets_skipped(r, action)) {
        r->c.skip++;
        r->skip_feature++;
        return;
    }
    vm_value res[MAXVALS];
    size_t nres;
    char why[256] = "";
    weft_err err = act(r, action, res, &nres, why, sizeof why);
    json_t *exp = json_object_get(cmd, "expected");
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0) {
        if (err == WEFT_OK) {
            failf(r, line, "%s: expected trap \"%s\", got a result", type, text);
            return;
        }
        if (!vm_err_is_trap(err)) {
            failf(r, line, "%s: expected trap \"%s\", got %s %s", type, text, weft_err_name(err),
                  why);
            return;
        }
        const char *msg = weft_strerror(err);
        if (text &&
            strncmp(msg, text, strlen(msg) < strlen(text) ? strlen(msg) : strlen(text)) != 0) {
            failf(r, line, "%s: expected \"%s\", got \"%s\"", type, text, msg);
            return;
        }
        if (strcmp(type, "assert_exhaustion") == 0 && err != WEFT_E_VM_TRAP_STACK) {
            failf(r, line, "assert_exhaustion: got %s", weft_err_name(err));
            return;
        }
        pass(r, line);
        return;
    }
    if (err != WEFT_OK) {
        failf(r, line, "%s: %s %s", type, weft_err_name(err), why);
        return;
    }
    if (strcmp(type, "action") == 0) {
        pass(r, line);
        return;
    }
    size_t ne = json_array_size(exp);
    if (ne != nres) {
        failf(r, line, "assert_return: %zu results, expected %zu", nres, ne);
        return;
    }
    const char *atype = json_string_value(json_object_get(action, "type"));
    for (size_t i = 0; i < ne; i++) {
        vm_value want;
        const char *pat;
        if (!parse_value(json_array_get(exp, i), &want, &pat)) {
            failf(r, line, "assert_return: unparsable expected value");
            return;
        }
        if (atype && strcmp(atype, "get") == 0) {
            res[i].type = want.type;
            if (want.type == VM_I32 || want.type == VM_F32)
                res[i].v.i64 &= 0xffffffffu;
        }
        if (!value_matches(&res[i], &want, pat)) {
            char g[64], w[64];
            fmt_value(g, sizeof g, &res[i]);
            fmt_value(w, sizeof w, &want);
            failf(r, line, "assert_return: result %zu is %s, expected %s", i, g, pat ? pat : w);
            return;
        }
    }
    pass(r, line);
}

static void cmd_bad_module(runner *r, json_t *cmd, long line, const char *type)
{
    const char *mt = json_string_value(json_object_get(cmd, "module_type"));
    if (mt && strcmp(mt, "text") == 0) {
        r->c.skip++;
        r->skip_text++;
        return;
    }
    vm_diag diag = {{0}, 0};
    vm_module *m;
    weft_err err = load(r, cmd, &m, &diag);
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (strcmp(type, "assert_malformed") == 0 || strcmp(type, "assert_invalid") == 0) {
        weft_err want =
            strcmp(type, "assert_malformed") == 0 ? WEFT_E_VM_MALFORMED : WEFT_E_VM_INVALID;
        if (err == WEFT_E_VM_FEATURE && r->cfg.features != VM_FEAT_ALL) {
            r->c.skip++;
            r->skip_feature++;
            return;
        }
        if (err == WEFT_OK)
            failf(r, line, "%s: module accepted (\"%s\")", type, text);
        else if (err != want)
            failf(r, line, "%s: rejected as %s (%s), expected \"%s\"", type, weft_err_name(err),
                  diag.msg, text);
        else
            pass(r, line);
        return;
    }
    /* assert_unlinkable / assert_uninstantiable: the module is valid; instantiation fails */
    if (err == WEFT_E_VM_FEATURE && r->cfg.features != VM_FEAT_ALL) {
        r->c.skip++;
        r->skip_feature++;
        return;
    }
    if (err != WEFT_OK) {
        failf(r, line, "%s: load failed: %s %s", type, weft_err_name(err), diag.msg);
        return;
    }
    vm_instance *inst;
    vm_store_set_gas(r->store, UINT64_MAX);
    err = vm_instance_new(&inst, r->store, m, r->linker, &diag);
    if (err == WEFT_E_VM_UNLINKABLE && imports_skipped(r, m)) {
        r->c.skip++;
        r->skip_feature++;
        return;
    }
    if (strcmp(type, "assert_unlinkable") == 0) {
        if (err != WEFT_E_VM_UNLINKABLE)
            failf(r, line, "assert_unlinkable: got %s (\"%s\")", weft_err_name(err), text);
        else
            pass(r, line);
        return;
    }
    if (!vm_err_is_trap(err))
        failf(r, line, "assert_uninstantiable: got %s, expected trap \"%s\"", weft_err_name(err),
              text);
    else if (text && strncmp(weft_strerror(err), text, strlen(text)) != 0)
        failf(r, line, "assert_uninstantiable: trap \"%s\", expected \"%s\"", weft_strerror(err),
              text);
    else
        pass(r, line);
}

static void cmd_register(runner *r, json_t *cmd, long line)
{
    const char *as = json_string_value(json_object_get(cmd, "as"));
    json_t *name = json_object_get(cmd, "name");
    vm_instance *inst = lookup(r, name);
    if (!inst) {
        if ((!name && r->current_skipped) || (name && is_skipped(r, json_string_value(name)))) {
            add_skipped(r, as);
            r->c.skip++;
            r->skip_feature++;
            return;
        }
        failf(r, line, "register: no such module");
        return;
    }
    if (vm_linker_define_instance(r->linker, as, inst) != WEFT_OK) {
        failf(r, line, "register: out of memory");
        return;
    }
    pass(r, line);
}

static int run_file(runner *r, const char *path, counts *total)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    r->file = slash ? slash + 1 : path;
    size_t dl = slash ? (size_t)(slash - path) : 1;
    snprintf(r->dir, sizeof r->dir, "%.*s", (int)dl, slash ? path : ".");
    memset(&r->c, 0, sizeof r->c);
    r->skip_text = r->skip_feature = 0;
    r->current = NULL;
    r->current_skipped = false;
    if (vm_store_new(&r->store, &r->cfg) != WEFT_OK || vm_linker_new(&r->linker) != WEFT_OK ||
        vm_linker_define_spectest(r->linker, r->store) != WEFT_OK) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    json_t *cmds = json_object_get(root, "commands");
    size_t i;
    json_t *cmd;
    json_array_foreach (cmds, i, cmd) {
        const char *type = json_string_value(json_object_get(cmd, "type"));
        long line = (long)json_integer_value(json_object_get(cmd, "line"));
        if (!type)
            continue;
        if (strcmp(type, "module") == 0)
            cmd_module(r, cmd, line);
        else if (strcmp(type, "register") == 0)
            cmd_register(r, cmd, line);
        else if (strcmp(type, "action") == 0 || strcmp(type, "assert_return") == 0 ||
                 strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0)
            cmd_action(r, cmd, line, type);
        else if (strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_malformed") == 0 ||
                 strcmp(type, "assert_unlinkable") == 0 ||
                 strcmp(type, "assert_uninstantiable") == 0)
            cmd_bad_module(r, cmd, line, type);
        else
            failf(r, line, "unknown command type %s", type);
    }
    printf("%-32s pass %5ld  fail %4ld  skip %4ld", r->file, r->c.pass, r->c.fail, r->c.skip);
    if (r->skip_text)
        printf("  (text-format modules: %ld)", r->skip_text);
    if (r->skip_feature)
        printf("  (feature off: %ld)", r->skip_feature);
    printf("\n");
    total->pass += r->c.pass;
    total->fail += r->c.fail;
    total->skip += r->c.skip;
    vm_linker_free(r->linker);
    vm_store_free(r->store);
    for (size_t k = 0; k < r->nmods; k++)
        vm_module_free(r->mods[k]);
    r->nmods = 0;
    for (size_t k = 0; k < r->nnames; k++)
        free(r->names[k].name);
    r->nnames = 0;
    for (size_t k = 0; k < r->nskipped; k++)
        free(r->skipped[k]);
    r->nskipped = 0;
    json_decref(root);
    return 0;
}

static void load_known(runner *r, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *h = strchr(line, '#');
        if (h)
            *h = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, " \t\r\n");
        if (n == 0)
            continue;
        s[n] = 0;
        r->known = realloc(r->known, sizeof *r->known * (r->nknown + 1));
        r->known_hit = realloc(r->known_hit, sizeof *r->known_hit * (r->nknown + 1));
        if (!r->known || !r->known_hit) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        r->known[r->nknown] = strdup(s);
        r->known_hit[r->nknown++] = false;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    runner r;
    memset(&r, 0, sizeof r);
    vm_config_spectest(&r.cfg);
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strcmp(argv[first], "--verbose") == 0)
            r.verbose = true;
        else if (strcmp(argv[first], "--features=all") == 0)
            r.cfg.features = VM_FEAT_ALL;
        else if (strcmp(argv[first], "--features=none") == 0)
            r.cfg.features = 0;
        else if (strcmp(argv[first], "--no-metering") == 0)
            r.cfg.metering = false;
        else if (strcmp(argv[first], "--known-failures") == 0 && first + 1 < argc)
            load_known(&r, argv[++first]);
        else {
            fprintf(stderr,
                    "usage: %s [--features=all|none] [--no-metering] [--known-failures FILE] "
                    "[--verbose] "
                    "FILE.json...\n",
                    argv[0]);
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "%s: no test files\n", argv[0]);
        return 2;
    }
    counts total = {0, 0, 0};
    for (int i = first; i < argc; i++)
        if (run_file(&r, argv[i], &total) != 0)
            r.unexpected_fail++;
    long missing = 0;
    for (size_t i = 0; i < r.nknown; i++)
        if (!r.known_hit[i]) {
            printf("  known failure %s was not run\n", r.known[i]);
            missing++;
        }
    printf("TOTAL: %d files, %ld commands: pass %ld, fail %ld (known %ld), skip %ld\n",
           argc - first, total.pass + total.fail + total.skip, total.pass, total.fail,
           total.fail - r.unexpected_fail, total.skip);
    for (size_t i = 0; i < r.nknown; i++)
        free(r.known[i]);
    free(r.known);
    free(r.known_hit);
    free(r.mods);
    free(r.names);
    free(r.skipped);
    if (r.unexpected_fail || r.unexpected_pass || missing) {
        printf("RESULT: FAILED (%ld unexpected failures, %ld known failures now passing, %ld "
               "known failures not run)\n",
               r.unexpected_fail, r.unexpected_pass, missing);
        return 1;
    }
    printf("RESULT: OK\n");
    return 0;
}
