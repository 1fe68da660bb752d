/* The smart-contract host: the module cache, a run's call stack and store, AssemblyScript memory
 * conventions, function execution in fresh instances, and the three entry points (an operation
 * through exec_vm_t, a read-only call, a read-only bytecode run).  docs/sc.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "sc/sc_internal.h"

WEFT_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "guest memory is read as LE");

#define CLASS_BUFFER 1u /* AssemblyScript ArrayBuffer id (Massa uses it for StaticArray<u8>) */
#define CLASS_STRING 2u

typedef struct sc_cached {
    hash32_t key;
    vm_module *m;
    uint64_t used; /* tick of the last use */
} sc_cached;

struct sc {
    sc_config cfg;
    sc_cached *cache;
    size_t cache_len, cache_cap;
    uint64_t tick;
};

void sc_config_default(sc_config *c)
{
    memset(c, 0, sizeof *c);
    vm_config_default(&c->vm);
    c->max_call_depth = SC_DEFAULT_MAX_CALL_DEPTH;
    c->max_events = SC_DEFAULT_MAX_EVENTS;
    c->launch_cost = SC_DEFAULT_LAUNCH_COST;
    c->module_cache = SC_DEFAULT_MODULE_CACHE;
}

/* ---- failures and gas ------------------------------------------------------------------------ */

weft_err sc_fail(sc_run *r, weft_err code, const char *fmt, ...)
{
    if (r->failure == WEFT_OK) {
        r->failure = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->message, sizeof r->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

weft_err sc_fault(sc_run *r, weft_err err)
{
    if (r->fault == WEFT_OK)
        r->fault = err;
    return err;
}

weft_err sc_charge(sc_run *r, uint64_t gas)
{
    uint64_t have = vm_store_gas(r->store);
    if (have < gas) {
        vm_store_set_gas(r->store, 0);
        return WEFT_E_VM_OUT_OF_GAS;
    }
    vm_store_set_gas(r->store, have - gas);
    return WEFT_OK;
}

weft_err sc_charge_bytes(sc_run *r, uint64_t bytes)
{
    return sc_charge(r, (bytes / 64 + (bytes % 64 != 0)) * SC_GAS_PER_64_BYTES);
}

/* ---- call stack ------------------------------------------------------------------------------ */

bool sc_frame_owns(const sc_frame *f, const address_t *a)
{
    for (uint32_t i = 0; i < f->owned_len; i++)
        if (address_eq(&f->owned[i], a))
            return true;
    return false;
}

weft_err sc_frame_own(sc_frame *f, const address_t *a)
{
    if (sc_frame_owns(f, a))
        return WEFT_OK;
    if (f->owned_len == f->owned_cap) {
        uint32_t cap = f->owned_cap ? 2 * f->owned_cap : 4;
        address_t *o = realloc(f->owned, cap * sizeof *o);
        if (!o)
            return WEFT_E_NOMEM;
        f->owned = o;
        f->owned_cap = cap;
    }
    f->owned[f->owned_len++] = *a;
    return WEFT_OK;
}

weft_err sc_frame_push(sc_run *r, const address_t *a, amount_t coins, bool op_ds)
{
    WEFT_ASSERT(r->depth < r->cfg->max_call_depth + 2);
    sc_frame *f = &r->frames[r->depth];
    f->addr = *a;
    f->coins = coins;
    f->owned_len = 0;
    f->op_ds = op_ds;
    weft_err err = sc_frame_own(f, a);
    if (err)
        return sc_fault(r, err);
    r->depth++;
    return WEFT_OK;
}

void sc_frame_pop(sc_run *r)
{
    WEFT_ASSERT(r->depth > 0);
    r->depth--;
}

weft_err sc_emit(sc_run *r, const char *data, size_t len)
{
    if (len > EXEC_EVENT_DATA_MAX)
        return sc_fail(r, WEFT_E_SC_ABI, "event data of %zu bytes is over the %d-byte limit", len,
                       EXEC_EVENT_DATA_MAX);
    if (r->events >= r->cfg->max_events)
        return sc_fail(r, WEFT_E_SC_ABI, "more than %u events in one execution",
                       r->cfg->max_events);
    address_t stack[r->depth];
    for (uint32_t i = 0; i < r->depth; i++)
        stack[i] = r->frames[i].addr;
    weft_err err = r->emit(r->emit_ctx, stack, r->depth, data, len);
    if (err)
        return sc_fault(r, err);
    r->events++;
    return WEFT_OK;
}

/* ---- modules --------------------------------------------------------------------------------- */

weft_err sc_module(sc_run *r, const uint8_t *code, size_t len, vm_module **out)
{
    sc_t *sc = r->sc;
    weft_err err = sc_charge(r, (uint64_t)sc->cfg.vm.gas->load_per_byte * len);
    if (err)
        return err;
    hash32_t key;
    crypto_blake3(key.b, code, len);
    sc->tick++;
    for (size_t i = 0; i < sc->cache_len; i++) {
        if (hash32_cmp(&sc->cache[i].key, &key) == 0) {
            sc->cache[i].used = sc->tick;
            *out = sc->cache[i].m;
            return WEFT_OK;
        }
    }
    vm_diag diag = {{0}, 0};
    vm_module *m;
    if ((err = vm_module_new(&m, &sc->cfg.vm, code, len, &diag))) {
        if (err == WEFT_E_NOMEM)
            return sc_fault(r, err);
        return sc_fail(r, err, "bytecode does not load: %s (offset %zu)", diag.msg, diag.offset);
    }
    if (sc->cache_len == sc->cache_cap) {
        size_t cap = sc->cache_cap ? 2 * sc->cache_cap : 16;
        sc_cached *c = realloc(sc->cache, cap * sizeof *c);
        if (!c) {
            vm_module_free(m);
            return sc_fault(r, WEFT_E_NOMEM);
        }
        sc->cache = c;
        sc->cache_cap = cap;
    }
    sc->cache[sc->cache_len++] = (sc_cached){.key = key, .m = m, .used = sc->tick};
    *out = m;
    return WEFT_OK;
}

/* Drops the least recently used modules beyond the cache size (only between runs: instances of a
 * run borrow their modules until the run's store is freed). */
static void cache_trim(sc_t *sc)
{
    while (sc->cache_len > sc->cfg.module_cache) {
        size_t old = 0;
        for (size_t i = 1; i < sc->cache_len; i++)
            if (sc->cache[i].used < sc->cache[old].used)
                old = i;
        vm_module_free(sc->cache[old].m);
        sc->cache[old] = sc->cache[--sc->cache_len];
    }
}

/* ---- guest memory ---------------------------------------------------------------------------- */

static weft_err guest_span(sc_run *r, vm_instance *inst, uint32_t ptr, vm_memory **mem,
                           uint32_t *len)
{
    vm_memory *m = inst ? vm_instance_memory(inst) : NULL;
    if (!m)
        return sc_fail(r, WEFT_E_VM_TRAP_MEMORY, "the contract has no memory");
    uint64_t size;
    (void)vm_memory_data(m, &size);
    uint32_t n;
    if (ptr < 4 || ptr > size || vm_memory_read(m, (uint64_t)ptr - 4, &n, 4) != WEFT_OK)
        return sc_fail(r, WEFT_E_VM_TRAP_MEMORY, "bad guest pointer %u", ptr);
    if ((uint64_t)ptr + n > size)
        return sc_fail(r, WEFT_E_VM_TRAP_MEMORY, "guest object at %u claims %u bytes, past memory",
                       ptr, n);
    *mem = m;
    *len = n;
    return WEFT_OK;
}

weft_err sc_read_bytes(sc_run *r, vm_instance *inst, uint32_t ptr, uint8_t **out, size_t *len)
{
    vm_memory *m = NULL;
    uint32_t n = 0;
    weft_err err = guest_span(r, inst, ptr, &m, &n);
    if (!err)
        err = sc_charge_bytes(r, n);
    if (err)
        return err;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return sc_fault(r, WEFT_E_NOMEM);
    if ((err = vm_memory_read(m, ptr, b, n))) {
        free(b);
        return sc_fail(r, err, "bad guest buffer at %u", ptr);
    }
    *out = b;
    *len = n;
    return WEFT_OK;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

weft_err sc_read_str(sc_run *r, vm_instance *inst, uint32_t ptr, char **out, size_t *len)
{
    uint8_t *u16 = NULL;
    size_t n = 0;
    weft_err err;
    if (ptr != 0 && (err = sc_read_bytes(r, inst, ptr, &u16, &n)))
        return err;
    size_t units = n / 2;
    char *s = malloc(units * 3 + 1); /* a unit gives at most 3 bytes; a pair 4 for 2 units */
    if (!s) {
        free(u16);
        return sc_fault(r, WEFT_E_NOMEM);
    }
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t c = (uint32_t)u16[2 * i] | (uint32_t)u16[2 * i + 1] << 8;
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
            uint32_t d = (uint32_t)u16[2 * i + 2] | (uint32_t)u16[2 * i + 3] << 8;
            if (d >= 0xdc00 && d < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
                i++;
            } else {
                c = 0xfffd;
            }
        } else if (c >= 0xd800 && c < 0xe000) {
            c = 0xfffd;
        }
        o += put_utf8(s + o, c);
    }
    s[o] = '\0';
    free(u16);
    *out = s;
    *len = o;
    return WEFT_OK;
}

static weft_err guest_new(sc_run *r, vm_instance *inst, size_t len, uint32_t class_id,
                          uint32_t *ptr)
{
    if (!inst) /* a host function the contract exports, called directly: no guest to allocate in */
        return sc_fail(r, WEFT_E_SC_ABI,
                       "an ABI function that returns an object was called directly as an export");
    vm_func *f = vm_instance_func(inst, "__new");
    const vm_functype *t = f ? vm_func_type(f) : NULL;
    if (!t || t->nparams != 2 || t->nresults != 1 || t->params[0] != VM_I32 ||
        t->params[1] != VM_I32 || t->results[0] != VM_I32)
        return sc_fail(r, WEFT_E_SC_ABI,
                       "the contract exports no __new(i32, i32) -> i32 (compile it with "
                       "exportRuntime)");
    if (len > UINT32_MAX)
        return sc_fail(r, WEFT_E_SC_ABI, "result of %zu bytes does not fit in guest memory", len);
    weft_err err = sc_charge_bytes(r, len);
    if (err)
        return err;
    vm_value args[2] = {{VM_I32, {.i32 = (uint32_t)len}}, {VM_I32, {.i32 = class_id}}};
    vm_value res;
    if ((err = vm_invoke(r->store, f, args, 2, &res, 1)))
        return err == WEFT_E_NOMEM ? sc_fault(r, err) : err;
    *ptr = res.v.i32;
    return WEFT_OK;
}

weft_err sc_new_bytes(sc_run *r, vm_instance *inst, const uint8_t *data, size_t len, uint32_t *ptr)
{
    weft_err err = guest_new(r, inst, len, CLASS_BUFFER, ptr);
    if (err)
        return err;
    if (len && (err = vm_memory_write(vm_instance_memory(inst), *ptr, data, len)))
        return sc_fail(r, err, "__new returned a bad pointer %u", *ptr);
    return WEFT_OK;
}

weft_err sc_new_str(sc_run *r, vm_instance *inst, const char *utf8, size_t len, uint32_t *ptr)
{
    uint8_t *u16 = malloc(2 * len + 2);
    if (!u16)
        return sc_fault(r, WEFT_E_NOMEM);
    size_t n = 0;
    const uint8_t *s = (const uint8_t *)utf8;
    for (size_t i = 0; i < len;) {
        uint32_t c = s[i];
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (i + k > len)
            k = len - i;
        if (k == 2)
            c = (c & 0x1f) << 6 | (s[i + 1] & 0x3f);
        else if (k == 3)
            c = (c & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
        else if (k == 4)
            c = (c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3f) << 12 |
                (uint32_t)(s[i + 2] & 0x3f) << 6 | (s[i + 3] & 0x3f);
        i += k;
        if (c >= 0x10000) {
            c -= 0x10000;
            uint32_t hi = 0xd800 + (c >> 10), lo = 0xdc00 + (c & 0x3ff);
            u16[n++] = (uint8_t)hi;
            u16[n++] = (uint8_t)(hi >> 8);
            c = lo;
        }
        u16[n++] = (uint8_t)c;
        u16[n++] = (uint8_t)(c >> 8);
    }
    weft_err err = guest_new(r, inst, n, CLASS_STRING, ptr);
    if (!err && n && (err = vm_memory_write(vm_instance_memory(inst), *ptr, u16, n)))
        err = sc_fail(r, err, "__new returned a bad pointer %u", *ptr);
    free(u16);
    if (err)
        return err;
    /* Massa pins returned strings (the instance is short-lived: never unpinned) */
    vm_func *pin = vm_instance_func(inst, "__pin");
    const vm_functype *t = pin ? vm_func_type(pin) : NULL;
    if (t && t->nparams == 1 && t->nresults == 1 && t->params[0] == VM_I32 &&
        t->results[0] == VM_I32) {
        vm_value arg = {VM_I32, {.i32 = *ptr}}, res;
        if ((err = vm_invoke(r->store, pin, &arg, 1, &res, 1)))
            return err == WEFT_E_NOMEM ? sc_fault(r, err) : err;
    }
    return WEFT_OK;
}

/* ---- instances and function execution -------------------------------------------------------- */

static weft_err abi_entry(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    sc_bind *b = user;
    sc_run *r = b->run;
    if (r->starting && !b->def->during_start)
        return sc_fail(r, WEFT_E_SC_ABI, "%s.%s: ABI calls are not available in a start function",
                       b->def->module, b->def->name);
    weft_err err = sc_charge(r, b->def->gas);
    if (err)
        return err;
    if (!b->def->fn)
        return sc_fail(r, WEFT_E_SC_UNSUPPORTED, "%s.%s", b->def->module, b->def->name);
    return b->def->fn(r, ctx, args, results);
}

/* Defines in the run's linker every import of m that the ABI provides; an import it does not
 * know fails the contract (E_VM_UNLINKABLE) with the import's name. */
static weft_err link_imports(sc_run *r, const vm_module *m)
{
    uint32_t n = vm_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        const char *mod, *name;
        vm_extern_kind kind;
        vm_module_import_at(m, i, &mod, &name, &kind);
        size_t k = 0;
        while (k < sc_abi_count &&
               (strcmp(sc_abi_table[k].module, mod) || strcmp(sc_abi_table[k].name, name)))
            k++;
        if (k == sc_abi_count || kind != VM_EXTERN_FUNC)
            return sc_fail(r, WEFT_E_VM_UNLINKABLE, "import %s.%s is not provided by weft's ABI",
                           mod, name);
        if (r->fns[k])
            continue;
        const sc_abi_def *d = &sc_abi_table[k];
        r->binds[k] = (sc_bind){.run = r, .def = d};
        vm_host_def hd = {.module = d->module,
                          .name = d->name,
                          .params = d->params,
                          .results = d->results,
                          .fn = abi_entry,
                          .user = &r->binds[k]};
        weft_err err = vm_host_func_new(&r->fns[k], r->store, &hd);
        if (!err)
            err = vm_linker_define(r->linker, d->module, d->name,
                                   (vm_extern){.kind = VM_EXTERN_FUNC, .u.func = r->fns[k]});
        if (err) {
            r->fns[k] = NULL;
            return sc_fault(r, err);
        }
    }
    return WEFT_OK;
}

static weft_err instantiate(sc_run *r, const uint8_t *code, size_t len, vm_instance **out)
{
    vm_module *m;
    weft_err err = sc_module(r, code, len, &m);
    if (!err)
        err = link_imports(r, m);
    if (err)
        return err;
    vm_diag diag = {{0}, 0};
    bool was = r->starting;
    r->starting = true;
    err = vm_instance_new(out, r->store, m, r->linker, &diag);
    r->starting = was;
    if (err == WEFT_E_NOMEM)
        return sc_fault(r, err);
    if (err && vm_err_is_trap(err))
        return sc_fail(r, err, "in the start function");
    if (err)
        return sc_fail(r, err, "%s", diag.msg);
    if (!vm_instance_memory(*out))
        return sc_fail(r, WEFT_E_SC_ABI, "the contract has no memory");
    return WEFT_OK;
}

weft_err sc_run_function(sc_run *r, const uint8_t *code, size_t code_len, const char *func,
                         size_t func_len, const uint8_t *param, size_t param_len, uint8_t **ret,
                         size_t *ret_len)
{
    *ret = NULL;
    *ret_len = 0;
    vm_instance *inst;
    weft_err err = instantiate(r, code, code_len, &inst);
    if (!err)
        err = sc_charge(r, r->cfg->launch_cost);
    if (err)
        return err;
    vm_extern ext;
    if (vm_instance_export_n(inst, func, func_len, &ext) != WEFT_OK || ext.kind != VM_EXTERN_FUNC)
        return sc_fail(r, WEFT_E_SC_EXPORT, "the contract exports no function '%.*s'",
                       (int)(func_len > 64 ? 64 : func_len), func);
    const vm_functype *t = vm_func_type(ext.u.func);
    bool is_main = func_len == 4 && memcmp(func, "main", 4) == 0;
    if (t->nparams > 1 || (t->nparams == 1 && t->params[0] != VM_I32) || t->nresults > 1)
        return sc_fail(r, WEFT_E_SC_EXPORT,
                       "'%.*s' takes %u parameters and returns %u values: a contract function "
                       "takes at most one buffer and returns at most one",
                       (int)(func_len > 64 ? 64 : func_len), func, t->nparams, t->nresults);
    if (!is_main && t->nresults == 1 && t->results[0] != VM_I32)
        return sc_fail(r, WEFT_E_SC_EXPORT, "'%.*s' does not return a buffer",
                       (int)(func_len > 64 ? 64 : func_len), func);
    vm_value arg, res = {VM_I32, {0}};
    if (t->nparams == 1) {
        uint32_t p;
        if ((err = sc_new_bytes(r, inst, param, param_len, &p)))
            return err;
        arg = (vm_value){VM_I32, {.i32 = p}};
    }
    err = vm_invoke(r->store, ext.u.func, &arg, t->nparams, &res, t->nresults);
    if (err == WEFT_E_NOMEM)
        return sc_fault(r, err);
    if (err)
        return err;
    if (is_main || t->nresults == 0)
        return WEFT_OK;
    if ((err = sc_read_bytes(r, inst, res.v.i32, ret, ret_len)))
        return err;
    if (*ret_len == 0) {
        free(*ret);
        *ret = NULL;
    }
    return WEFT_OK;
}

/* ---- runs ------------------------------------------------------------------------------------ */

static int ds_cmp(const void *a, const void *b)
{
    const op_ds_entry *x = *(const op_ds_entry *const *)a, *y = *(const op_ds_entry *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static weft_err run_open(sc_run *r, sc_t *sc, state_view_t *view, const model_params *params,
                         slot_t slot, uint64_t max_gas)
{
    memset(r, 0, sizeof *r);
    r->sc = sc;
    r->cfg = &sc->cfg;
    r->view = view;
    r->params = params;
    r->slot = slot;
    cache_trim(sc);
    r->fns = calloc(sc_abi_count, sizeof *r->fns);
    r->binds = calloc(sc_abi_count, sizeof *r->binds);
    r->frames = calloc((size_t)sc->cfg.max_call_depth + 2, sizeof *r->frames);
    if (!r->fns || !r->binds || !r->frames)
        return WEFT_E_NOMEM;
    weft_err err = vm_store_new(&r->store, &sc->cfg.vm);
    if (!err)
        err = vm_linker_new(&r->linker);
    if (err)
        return err;
    vm_store_set_gas(r->store, max_gas);
    return WEFT_OK;
}

static weft_err run_set_datastore(sc_run *r, const op_ds_entry *ds, size_t n)
{
    if (!n)
        return WEFT_OK;
    r->ds = malloc(n * sizeof *r->ds);
    if (!r->ds)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        r->ds[i] = &ds[i];
    qsort(r->ds, n, sizeof *r->ds, ds_cmp);
    r->ds_len = n;
    return WEFT_OK;
}

static void run_close(sc_run *r)
{
    vm_linker_free(r->linker);
    vm_store_free(r->store);
    if (r->frames)
        for (uint32_t i = 0; i < r->cfg->max_call_depth + 2; i++)
            free(r->frames[i].owned);
    free(r->frames);
    free(r->fns);
    free(r->binds);
    free(r->ds);
}

/* The outcome of the top-level function: a contract failure keeps its first message. */
static void run_outcome(sc_run *r, weft_err err)
{
    if (err && r->failure == WEFT_OK) {
        r->failure = err;
        r->message[0] = '\0';
    }
}

/* Copies the target's bytecode (a view's value is borrowed only until its next call). */
static weft_err target_code(sc_run *r, const address_t *target, uint8_t **code, size_t *len)
{
    const uint8_t *c;
    size_t n;
    weft_err err = state_bytecode_get(r->view, target, &c, &n);
    if (err == WEFT_E_NOT_FOUND) {
        char s[MODEL_STR_MAX];
        address_to_str(s, target);
        return sc_fail(r, WEFT_E_SC_ABI, "no bytecode at %s", s);
    }
    if (err)
        return sc_fault(r, err);
    *code = malloc(n ? n : 1);
    if (!*code)
        return sc_fault(r, WEFT_E_NOMEM);
    memcpy(*code, c, n);
    *len = n;
    return WEFT_OK;
}

static weft_err run_call(sc_run *r, const address_t *caller, const address_t *target,
                         amount_t coins, const char *func, size_t func_len, const uint8_t *param,
                         size_t param_len, uint8_t **ret, size_t *ret_len)
{
    weft_err err = sc_frame_push(r, caller, amount_from_nano(0), false);
    if (!err)
        err = sc_frame_push(r, target, coins, false);
    if (err)
        return err;
    uint8_t *code = NULL;
    size_t len = 0;
    err = target_code(r, target, &code, &len);
    if (!err)
        err = sc_run_function(r, code, len, func, func_len, param, param_len, ret, ret_len);
    free(code);
    return err;
}

static weft_err run_bytecode(sc_run *r, const address_t *caller, const uint8_t *code, size_t len,
                             const op_ds_entry *ds, size_t ds_len)
{
    weft_err err = run_set_datastore(r, ds, ds_len);
    if (err)
        return sc_fault(r, err);
    if ((err = sc_frame_push(r, caller, amount_from_nano(0), true)))
        return err;
    uint8_t *ret;
    size_t ret_len;
    err = sc_run_function(r, code, len, "main", 4, NULL, 0, &ret, &ret_len);
    free(ret);
    return err;
}

/* ---- operations through exec_vm_t ------------------------------------------------------------ */

static weft_err op_run(void *self, exec_sc_call_t *call)
{
    sc_t *sc = self;
    sc_run r;
    weft_err err = run_open(&r, sc, call->view, call->params, call->slot, call->max_gas);
    if (err) {
        run_close(&r);
        return err;
    }
    r.has_op = true;
    r.op_id = *call->op_id;
    r.origin = call->op_id->h;
    r.emit = call->emit;
    r.emit_ctx = call->emit_ctx;
    const operation_t *op = call->op;
    if (op->type == OP_EXECUTE_SC) {
        err =
            run_bytecode(&r, call->caller, op->u.execute_sc.bytecode, op->u.execute_sc.bytecode_len,
                         op->u.execute_sc.datastore, op->u.execute_sc.datastore_len);
    } else if (op->type == OP_CALL_SC) {
        uint8_t *ret = NULL;
        size_t ret_len;
        err = run_call(&r, call->caller, &op->u.call_sc.target, op->u.call_sc.coins,
                       op->u.call_sc.function, op->u.call_sc.function_len, op->u.call_sc.param,
                       op->u.call_sc.param_len, &ret, &ret_len);
        free(ret);
    } else {
        err = sc_fail(&r, WEFT_E_OP_TYPE, "not a smart-contract operation");
    }
    run_outcome(&r, err);
    call->gas_used = call->max_gas - vm_store_gas(r.store);
    call->failure = r.failure;
    snprintf(call->message, sizeof call->message, "%s", r.message);
    weft_err fault = r.fault;
    run_close(&r);
    return fault;
}

static const exec_vm_vtbl sc_vtbl = {op_run};

weft_err sc_new(sc_t **out, const sc_config *cfg)
{
    *out = NULL;
    if (!cfg || cfg->max_call_depth == 0 || cfg->max_call_depth > 1000 || !cfg->vm.gas)
        return WEFT_E_INVAL;
    sc_t *sc = calloc(1, sizeof *sc);
    if (!sc)
        return WEFT_E_NOMEM;
    sc->cfg = *cfg;
    *out = sc;
    return WEFT_OK;
}

void sc_free(sc_t *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->cache_len; i++)
        vm_module_free(sc->cache[i].m);
    free(sc->cache);
    free(sc);
}

void sc_exec_vm(sc_t *sc, exec_vm_t *out)
{
    out->vt = &sc_vtbl;
    out->self = sc;
}

weft_err sc_vm_new(exec_vm_t *out, sc_t **owner, const sc_config *cfg)
{
    weft_err err = sc_new(owner, cfg);
    if (!err)
        sc_exec_vm(*owner, out);
    return err;
}

/* ---- read-only runs -------------------------------------------------------------------------- */

typedef struct ro_sink {
    const slot_t *slot;
    exec_event_t *ev;
    size_t n, cap;
} ro_sink;

static weft_err ro_emit(void *ctx, const address_t *stack, size_t depth, const char *data,
                        size_t len)
{
    ro_sink *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        exec_event_t *e = realloc(s->ev, cap * sizeof *e);
        if (!e)
            return WEFT_E_NOMEM;
        s->ev = e;
        s->cap = cap;
    }
    exec_event_t e = {.slot = *s->slot, .index = (uint32_t)s->n, .data_len = len};
    e.data = malloc(len + 1);
    e.call_stack = malloc(depth * sizeof *stack + 1);
    if (!e.data || !e.call_stack) {
        free(e.data);
        free(e.call_stack);
        return WEFT_E_NOMEM;
    }
    memcpy(e.data, data, len);
    e.data[len] = '\0';
    memcpy(e.call_stack, stack, depth * sizeof *stack);
    e.call_stack_len = depth;
    s->ev[s->n++] = e;
    return WEFT_OK;
}

static void events_free(exec_event_t *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ev[i].data);
        free(ev[i].call_stack);
    }
    free(ev);
}

void sc_ro_result_free(sc_ro_result *r)
{
    if (!r)
        return;
    free(r->ret);
    events_free(r->events, r->event_count);
    state_diff_free(r->changes);
    memset(r, 0, sizeof *r);
}

/* A writable view over base: base's layers, then base's top diff as one more layer, then ours. */
typedef struct ro_state {
    const state_diff_t **layers;
    state_view_t view;
    state_diff_t *diff;
} ro_state;

static weft_err ro_open(ro_state *s, const state_view_t *base)
{
    memset(s, 0, sizeof *s);
    size_t n = base->layer_count + (base->top != NULL);
    s->layers = malloc((n + 1) * sizeof *s->layers);
    if (!s->layers)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < base->layer_count; i++)
        s->layers[i] = base->layers[i];
    if (base->top)
        s->layers[base->layer_count] = base->top;
    weft_err err = state_diff_new(&s->diff);
    if (err)
        return err;
    state_view_init(&s->view, base->final, s->layers, n, s->diff);
    return WEFT_OK;
}

static void ro_close(ro_state *s)
{
    state_view_free(&s->view);
    state_diff_free(s->diff);
    free(s->layers);
}

/* The origin of a read-only run (no operation id): BLAKE3("weft.sc.read-only" ‖ u64be period ‖
 * thread ‖ caller address binary). */
static void ro_origin(hash32_t *out, slot_t slot, const address_t *caller)
{
    static const char tag[] = "weft.sc.read-only";
    uint8_t buf[sizeof tag - 1 + 9 + MODEL_ADDRESS_LEN];
    wr_t w;
    wr_init_fixed(&w, buf, sizeof buf);
    wr_bytes(&w, tag, sizeof tag - 1);
    wr_u64be(&w, slot.period);
    wr_u8(&w, slot.thread);
    address_write(&w, caller);
    crypto_blake3(out->b, buf, w.len);
}

typedef struct ro_req {
    const state_view_t *base;
    const model_params *params;
    slot_t slot;
    uint64_t max_gas;
    const address_t *caller;
    const sc_ro_call *call; /* one of the two */
    const sc_ro_bytecode *bytecode;
} ro_req;

static weft_err ro_run(sc_t *sc, const ro_req *q, sc_ro_result *out)
{
    memset(out, 0, sizeof *out);
    if (!q->base || !q->params)
        return WEFT_E_INVAL;
    ro_state st;
    weft_err err = ro_open(&st, q->base);
    if (err) {
        ro_close(&st);
        return err;
    }
    ro_sink sink = {.slot = &q->slot};
    sc_run r;
    if ((err = run_open(&r, sc, &st.view, q->params, q->slot, q->max_gas)))
        goto done;
    ro_origin(&r.origin, q->slot, q->caller);
    r.emit = ro_emit;
    r.emit_ctx = &sink;
    if (q->call) {
        const sc_ro_call *c = q->call;
        /* the coins move from the caller to the target first, as for a CallSC */
        amount_t from, to;
        err = state_balance_get(&st.view, &c->caller, &from);
        if (err == WEFT_E_NOT_FOUND)
            from.nano = 0;
        else if (err)
            goto fault;
        if (c->coins.nano) {
            if (!amount_sub(&from, from, c->coins)) {
                err = sc_fail(&r, WEFT_E_EXEC_INSUFFICIENT, "the caller cannot pay the coins");
                goto outcome;
            }
            err = state_balance_get(&st.view, &c->target, &to);
            if (err == WEFT_E_NOT_FOUND) {
                err = sc_fail(&r, WEFT_E_EXEC_RECIPIENT, "the target does not exist");
                goto outcome;
            }
            if (err)
                goto fault;
            if (!amount_add(&to, to, c->coins)) {
                err = sc_fail(&r, WEFT_E_OVERFLOW, "the target's balance overflows");
                goto outcome;
            }
            if ((err = state_balance_set(&st.view, &c->caller, from)) ||
                (err = state_balance_set(&st.view, &c->target, to)))
                goto fault;
        }
        err = run_call(&r, &c->caller, &c->target, c->coins, c->function, c->function_len, c->param,
                       c->param_len, &out->ret, &out->ret_len);
    } else {
        const sc_ro_bytecode *b = q->bytecode;
        err = run_bytecode(&r, &b->caller, b->bytecode, b->bytecode_len, b->datastore,
                           b->datastore_len);
    }
outcome:
    run_outcome(&r, err);
    err = r.fault;
    out->gas_used = q->max_gas - vm_store_gas(r.store);
    out->failure = r.failure;
    snprintf(out->message, sizeof out->message, "%s", r.message);
    goto done;
fault:
    sc_fault(&r, err);
done:
    run_close(&r);
    if (!err && out->failure == WEFT_OK) {
        out->events = sink.ev;
        out->event_count = sink.n;
        sink.ev = NULL;
        sink.n = 0;
        out->changes = st.diff;
        st.diff = NULL;
    } else {
        free(out->ret);
        out->ret = NULL;
        out->ret_len = 0;
    }
    events_free(sink.ev, sink.n);
    ro_close(&st);
    if (err) {
        sc_ro_result_free(out);
        return err;
    }
    return WEFT_OK;
}

weft_err sc_read_only_call(sc_t *sc, const sc_ro_call *req, sc_ro_result *out)
{
    ro_req q = {.base = req->base,
                .params = req->params,
                .slot = req->slot,
                .max_gas = req->max_gas,
                .caller = &req->caller,
                .call = req};
    return ro_run(sc, &q, out);
}

weft_err sc_read_only_bytecode(sc_t *sc, const sc_ro_bytecode *req, sc_ro_result *out)
{
    ro_req q = {.base = req->base,
                .params = req->params,
                .slot = req->slot,
                .max_gas = req->max_gas,
                .caller = &req->caller,
                .bytecode = req};
    return ro_run(sc, &q, out);
}
