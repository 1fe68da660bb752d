/* The vm's runtime objects and public API around the interpreter: configuration profiles and the
 * default gas table, module construction, stores (value stack, frames, gas), memories, tables,
 * globals, host functions, the linker, instantiation (import matching, segment initialization in
 * the spec's order, start function), exports, typed calls and the host-call bridge.
 *
 * Determinism notes: a memory or table whose cap is small (contract profile) is allocated at its
 * cap when created, so memory.grow/table.grow succeed or fail only by the limits, never by host
 * allocation; larger caps (spec-test profile) grow lazily.  Nothing here reads a clock or global
 * state; every object belongs to a store.
 */
#include <stdlib.h>

#include "vm/vm_internal.h"

#define PAGE 65536u
/* Memories up to this many pages, and tables up to this many elements, are allocated at their cap
 * on creation (see above). */
#define PREALLOC_PAGES 256u
#define PREALLOC_ELEMS 65536u

/* ---- configuration -------------------------------------------------------------------------- */

static const vm_gas_table gas_v1 = {
    .version = 1,
    .op = {[0 ... VM_GAS_OPS - 1] = 23},
    .per_local = 2,
    .per_page = 23 * 1024,
    .per_64_bytes = 23,
    .per_table_elem = 3,
    .load_per_byte = 100,
};

const vm_gas_table *vm_gas_default(void) { return &gas_v1; }

void vm_config_default(vm_config *cfg)
{
    *cfg = (vm_config){
        .features = 0,
        .metering = true,
        .gas = &gas_v1,
        .limits =
            {
                .module_bytes = 10000000,
                .types = 1024,
                .type_arity = 64,
                .funcs = 768,
                .imports = 256,
                .exports = 1024,
                .globals = 512,
                .tables = 16,
                .elem_segments = 512,
                .data_segments = 512,
                .elem_items = 65536,
                .locals = 16384,
                .block_depth = 1024,
                .memory_pages = 64,
                .table_elems = 65536,
                .call_depth = 1024,
                .value_stack = 262144,
                .host_nesting = 64,
            },
    };
}

void vm_config_spectest(vm_config *cfg)
{
    vm_config_default(cfg);
    cfg->features = VM_FEAT_ALL;
    cfg->limits = (vm_limits){
        .module_bytes = 64u << 20,
        .types = 1u << 20,
        .type_arity = 1000,
        .funcs = 1u << 20,
        .imports = 1u << 20,
        .exports = 1u << 20,
        .globals = 1u << 20,
        .tables = 1u << 16,
        .elem_segments = 1u << 20,
        .data_segments = 1u << 20,
        .elem_items = 10000000,
        .locals = 50000,
        .block_depth = 10000,
        .memory_pages = 65536,
        .table_elems = 10000000,
        .call_depth = 10000,
        .value_stack = 1u << 20,
        .host_nesting = 64,
    };
}

const char *vm_valtype_name(vm_valtype t)
{
    switch (t) {
    case VM_I32:
        return "i32";
    case VM_I64:
        return "i64";
    case VM_F32:
        return "f32";
    case VM_F64:
        return "f64";
    case VM_FUNCREF:
        return "funcref";
    case VM_EXTERNREF:
        return "externref";
    }
    return "?";
}

weft_err vm_valtype_parse(const char *name, vm_valtype *out)
{
    static const vm_valtype all[] = {VM_I32, VM_I64, VM_F32, VM_F64, VM_FUNCREF, VM_EXTERNREF};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(all); i++)
        if (strcmp(name, vm_valtype_name(all[i])) == 0) {
            *out = all[i];
            return WEFT_OK;
        }
    return WEFT_E_INVAL;
}

bool vm_err_is_trap(weft_err err)
{
    return (err <= WEFT_E_VM_TRAP_UNREACHABLE && err >= WEFT_E_VM_TRAP_HOST);
}

/* ---- modules -------------------------------------------------------------------------------- */

weft_err vm_module_new(vm_module **out, const vm_config *cfg, const uint8_t *bytes, size_t len,
                       vm_diag *diag)
{
    WEFT_MISUSE(out && cfg && cfg->gas && (bytes || len == 0));
    *out = NULL;
    if (diag) {
        diag->msg[0] = 0;
        diag->offset = 0;
    }
    vm_module *m = calloc(1, sizeof *m);
    if (!m)
        return WEFT_E_NOMEM;
    m->cfg = *cfg;
    m->size = len;
    weft_err err = vm_decode(m, bytes, len, diag);
    for (uint32_t i = 0; err == WEFT_OK && i < m->nfuncs - m->nfunc_imports; i++)
        err = vm_syntax_check(m, i, bytes, diag);
    for (uint32_t i = 0; err == WEFT_OK && i < m->nfuncs - m->nfunc_imports; i++)
        err = vm_compile(m, i, bytes, diag);
    for (uint32_t i = 0; i < m->ncodes; i++)
        m->codes[i].body = NULL; /* borrowed from the caller's bytes */
    if (err != WEFT_OK) {
        vm_module_free(m);
        return err;
    }
    *out = m;
    return WEFT_OK;
}

void vm_module_free(vm_module *m)
{
    if (!m)
        return;
    vm_arena_free(&m->arena);
    free(m);
}

uint64_t vm_module_load_cost(const vm_module *m)
{
    uint64_t r;
    if (__builtin_mul_overflow((uint64_t)m->size, (uint64_t)m->cfg.gas->load_per_byte, &r))
        return UINT64_MAX;
    return r;
}

uint32_t vm_module_import_count(const vm_module *m) { return m->nimports; }

void vm_module_import_at(const vm_module *m, uint32_t i, const char **module, const char **name,
                         vm_extern_kind *kind)
{
    WEFT_MISUSE(i < m->nimports);
    *module = m->imports[i].module.s;
    *name = m->imports[i].name.s;
    *kind = (vm_extern_kind)m->imports[i].kind;
}

uint32_t vm_module_export_count(const vm_module *m) { return m->nexports; }

void vm_module_export_at(const vm_module *m, uint32_t i, const char **name, size_t *len,
                         vm_extern_kind *kind)
{
    WEFT_MISUSE(i < m->nexports);
    *name = m->exports[i].name.s;
    *len = m->exports[i].name.len;
    *kind = (vm_extern_kind)m->exports[i].kind;
}

/* ---- stores --------------------------------------------------------------------------------- */

weft_err vm_store_new(vm_store **out, const vm_config *cfg)
{
    WEFT_MISUSE(out && cfg);
    *out = NULL;
    vm_store *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    s->cfg = *cfg;
    /* counted use is bounded by limits.value_stack; each frame may add its constant area */
    size_t slots = (size_t)cfg->limits.value_stack +
                   (size_t)VM_MAX_CONSTS * ((size_t)cfg->limits.call_depth + 1) + 16;
    s->stack = malloc(sizeof(vm_slot) * slots);
    s->frames = malloc(sizeof(vm_frame) * (cfg->limits.call_depth + 1u));
    if (!s->stack || !s->frames) {
        free(s->stack);
        free(s->frames);
        free(s);
        return WEFT_E_NOMEM;
    }
    s->stack_end = s->stack + slots;
    s->sp = s->stack;
    s->acc_sp = 0;
    s->acc_limit = cfg->limits.value_stack;
    *out = s;
    return WEFT_OK;
}

static void instance_free(vm_instance *inst)
{
    if (inst->elems)
        for (uint32_t i = 0; i < inst->m->nelems; i++)
            free(inst->elems[i].items);
    free(inst->elems);
    free(inst->data_len);
    free(inst->funcs);
    free(inst->own);
    free(inst->tables);
    free(inst->globals);
    free(inst);
}

void vm_store_free(vm_store *s)
{
    if (!s)
        return;
    for (vm_instance *i = s->instances, *n; i; i = n) {
        n = i->next;
        instance_free(i);
    }
    for (vm_memory *m = s->memories, *n; m; m = n) {
        n = m->next;
        free(m->data);
        free(m);
    }
    for (vm_table *t = s->tables, *n; t; t = n) {
        n = t->next;
        free(t->elems);
        free(t);
    }
    for (vm_global *g = s->globals, *n; g; g = n) {
        n = g->next;
        free(g);
    }
    for (vm_func *f = s->host_funcs, *n; f; f = n) {
        n = f->next_host;
        free(f->sig);
        free(f);
    }
    free(s->stack);
    free(s->frames);
    free(s);
}

void vm_store_set_gas(vm_store *s, uint64_t gas) { s->gas = gas; }
uint64_t vm_store_gas(const vm_store *s) { return s->gas; }

/* ---- memories, tables, globals -------------------------------------------------------------- */

static weft_err memory_create(vm_memory **out, vm_store *s, const vm_lim *type)
{
    uint32_t limit = type->has_max ? type->max : 65536;
    if (limit > s->cfg.limits.memory_pages)
        limit = s->cfg.limits.memory_pages;
    if (type->min > limit)
        return WEFT_E_VM_LIMIT;
    vm_memory *m = calloc(1, sizeof *m);
    if (!m)
        return WEFT_E_NOMEM;
    m->type = *type;
    m->limit = limit;
    m->pages = type->min;
    m->size = (uint64_t)type->min * PAGE;
    m->cap_pages = limit <= PREALLOC_PAGES ? limit : type->min;
    size_t bytes = (size_t)m->cap_pages * PAGE;
    m->data = calloc(1, bytes ? bytes : 16);
    if (!m->data) {
        free(m);
        return WEFT_E_NOMEM;
    }
    m->next = s->memories;
    s->memories = m;
    *out = m;
    return WEFT_OK;
}

uint32_t vm_memory_grow(vm_memory *m, uint32_t delta)
{
    uint32_t old = m->pages;
    if (delta == 0)
        return old;
    if ((uint64_t)old + delta > m->limit)
        return UINT32_MAX;
    uint32_t np = old + delta;
    if (np > m->cap_pages) {
        uint8_t *nd = realloc(m->data, (size_t)np * PAGE);
        if (!nd)
            return UINT32_MAX;
        memset(nd + (size_t)m->cap_pages * PAGE, 0, (size_t)(np - m->cap_pages) * PAGE);
        m->data = nd;
        m->cap_pages = np;
    }
    m->pages = np;
    m->size = (uint64_t)np * PAGE;
    return old;
}

weft_err vm_memory_new(vm_memory **out, vm_store *s, uint32_t min, uint32_t max, bool has_max)
{
    WEFT_MISUSE(out && s);
    *out = NULL;
    if (min > 65536 || (has_max && (max > 65536 || max < min)))
        return WEFT_E_INVAL;
    vm_lim l = {.min = min, .max = max, .has_max = has_max};
    return memory_create(out, s, &l);
}

uint8_t *vm_memory_data(const vm_memory *m, uint64_t *size)
{
    *size = m->size;
    return m->data;
}

weft_err vm_memory_read(const vm_memory *m, uint64_t addr, void *out, size_t len)
{
    if (!m || addr > m->size || len > m->size - addr)
        return WEFT_E_VM_TRAP_MEMORY;
    if (len)
        memcpy(out, m->data + addr, len);
    return WEFT_OK;
}

weft_err vm_memory_write(vm_memory *m, uint64_t addr, const void *data, size_t len)
{
    if (!m || addr > m->size || len > m->size - addr)
        return WEFT_E_VM_TRAP_MEMORY;
    if (len)
        memcpy(m->data + addr, data, len);
    return WEFT_OK;
}

static weft_err table_create(vm_table **out, vm_store *s, uint8_t elem_type, const vm_lim *type)
{
    uint32_t limit = type->has_max ? type->max : UINT32_MAX;
    if (limit > s->cfg.limits.table_elems)
        limit = s->cfg.limits.table_elems;
    if (type->min > limit)
        return WEFT_E_VM_LIMIT;
    vm_table *t = calloc(1, sizeof *t);
    if (!t)
        return WEFT_E_NOMEM;
    t->type = *type;
    t->elem_type = elem_type;
    t->limit = limit;
    t->size = type->min;
    t->cap = limit <= PREALLOC_ELEMS ? limit : type->min;
    t->elems = calloc(t->cap ? t->cap : 1, sizeof *t->elems);
    if (!t->elems) {
        free(t);
        return WEFT_E_NOMEM;
    }
    t->next = s->tables;
    s->tables = t;
    *out = t;
    return WEFT_OK;
}

uint32_t vm_table_grow(vm_table *t, uint32_t delta, vm_slot init)
{
    uint32_t old = t->size;
    if ((uint64_t)old + delta > t->limit)
        return UINT32_MAX;
    uint32_t ns = old + delta;
    if (ns > t->cap) {
        vm_slot *ne = realloc(t->elems, sizeof *ne * ns);
        if (!ne)
            return UINT32_MAX;
        t->elems = ne;
        t->cap = ns;
    }
    for (uint32_t i = old; i < ns; i++)
        t->elems[i] = init;
    t->size = ns;
    return old;
}

weft_err vm_table_new(vm_table **out, vm_store *s, vm_valtype elem_type, uint32_t min, uint32_t max,
                      bool has_max)
{
    WEFT_MISUSE(out && s);
    *out = NULL;
    if (!vm_is_ref(elem_type) || (has_max && max < min))
        return WEFT_E_INVAL;
    vm_lim l = {.min = min, .max = max, .has_max = has_max};
    return table_create(out, s, elem_type, &l);
}

static weft_err global_create(vm_global **out, vm_store *s, uint8_t type, bool mut, vm_slot v)
{
    vm_global *g = calloc(1, sizeof *g);
    if (!g)
        return WEFT_E_NOMEM;
    g->type = type;
    g->mut = mut;
    g->val = v;
    g->next = s->globals;
    s->globals = g;
    *out = g;
    return WEFT_OK;
}

weft_err vm_global_new(vm_global **out, vm_store *s, vm_valtype type, bool mut, vm_val init)
{
    WEFT_MISUSE(out && s);
    *out = NULL;
    if (!vm_valtype_known((uint8_t)type))
        return WEFT_E_INVAL;
    vm_slot v;
    memcpy(&v, &init, sizeof v);
    if (type == VM_I32 || type == VM_F32)
        v.u64 = v.u32;
    return global_create(out, s, (uint8_t)type, mut, v);
}

vm_val vm_global_get(const vm_global *g)
{
    vm_val v;
    memcpy(&v, &g->val, sizeof v);
    if (g->type == VM_I32 || g->type == VM_F32)
        v.i64 = g->val.u32;
    return v;
}

/* ---- host functions ------------------------------------------------------------------------- */

static bool sig_letter(char c, uint8_t *t)
{
    switch (c) {
    case 'i':
        *t = VM_I32;
        return true;
    case 'I':
        *t = VM_I64;
        return true;
    case 'f':
        *t = VM_F32;
        return true;
    case 'F':
        *t = VM_F64;
        return true;
    case 'r':
        *t = VM_FUNCREF;
        return true;
    case 'e':
        *t = VM_EXTERNREF;
        return true;
    }
    return false;
}

weft_err vm_host_func_new(vm_func **out, vm_store *s, const vm_host_def *def)
{
    WEFT_MISUSE(out && s && def && def->fn);
    *out = NULL;
    const char *ps = def->params ? def->params : "";
    const char *rs = def->results ? def->results : "";
    size_t np = strlen(ps), nr = strlen(rs);
    if (np > 1000 || nr > 1000)
        return WEFT_E_INVAL;
    vm_func *f = calloc(1, sizeof *f);
    uint8_t *sig = malloc(np + nr + 1);
    if (!f || !sig) {
        free(f);
        free(sig);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < np + nr; i++)
        if (!sig_letter(i < np ? ps[i] : rs[i - np], &sig[i])) {
            free(f);
            free(sig);
            return WEFT_E_INVAL;
        }
    f->sig = sig;
    f->host_type = (vm_functype){
        .nparams = (uint32_t)np, .nresults = (uint32_t)nr, .params = sig, .results = sig + np};
    f->type = &f->host_type;
    f->type_hash = vm_functype_hash(f->type);
    f->host = def->fn;
    f->user = def->user;
    f->next_host = s->host_funcs;
    s->host_funcs = f;
    *out = f;
    return WEFT_OK;
}

vm_store *vm_ctx_store(vm_call_ctx *ctx) { return ctx->store; }
vm_instance *vm_ctx_instance(vm_call_ctx *ctx) { return ctx->caller; }

weft_err vm_ctx_charge(vm_call_ctx *ctx, uint64_t gas)
{
    if (ctx->store->gas < gas) {
        ctx->store->gas = 0;
        return WEFT_E_VM_OUT_OF_GAS;
    }
    ctx->store->gas -= gas;
    return WEFT_OK;
}

weft_err vm_call_host(vm_store *s, vm_instance *caller, vm_func *f, vm_slot *args, vm_slot *scratch,
                      uint64_t acc_scratch)
{
    uint32_t np = f->type->nparams;
    if (s->host_nesting >= s->cfg.limits.host_nesting || acc_scratch + np > s->acc_limit ||
        scratch > s->stack_end || (size_t)(s->stack_end - scratch) < np)
        return WEFT_E_VM_TRAP_STACK;
    memcpy(scratch, args, sizeof(vm_slot) * np);
    vm_slot *saved_sp = s->sp;
    uint64_t saved_acc = s->acc_sp;
    s->sp = scratch + np;
    s->acc_sp = acc_scratch + np;
    s->host_nesting++;
    vm_call_ctx ctx = {.store = s, .caller = caller};
    weft_err err = f->host(&ctx, f->user, (const vm_val *)scratch, (vm_val *)args);
    s->host_nesting--;
    s->sp = saved_sp;
    s->acc_sp = saved_acc;
    return err;
}

const vm_functype *vm_func_type(const vm_func *f) { return f->type; }

weft_err vm_invoke(vm_store *s, vm_func *f, const vm_value *args, size_t nargs, vm_value *results,
                   size_t nresults)
{
    WEFT_MISUSE(s && f && (args || nargs == 0) && (results || nresults == 0));
    const vm_functype *ft = f->type;
    if (nargs != ft->nparams || nresults != ft->nresults)
        return WEFT_E_INVAL;
    for (size_t i = 0; i < nargs; i++)
        if ((uint8_t)args[i].type != ft->params[i])
            return WEFT_E_INVAL;
    vm_slot *base = s->sp;
    size_t need = (size_t)ft->nparams + ft->nresults;
    if (s->acc_sp + need > s->acc_limit || (size_t)(s->stack_end - base) < need + 1)
        return WEFT_E_VM_TRAP_STACK;
    for (size_t i = 0; i < nargs; i++) {
        memcpy(&base[i], &args[i].v, sizeof(vm_slot));
        if (ft->params[i] == VM_I32 || ft->params[i] == VM_F32)
            base[i].u64 = base[i].u32;
    }
    weft_err err;
    if (f->code) {
        err = vm_exec(s, f, base);
    } else {
        if (s->host_nesting >= s->cfg.limits.host_nesting)
            return WEFT_E_VM_TRAP_STACK;
        vm_slot *res = base + ft->nparams;
        vm_slot *saved_sp = s->sp;
        uint64_t saved_acc = s->acc_sp;
        s->sp = res + ft->nresults;
        s->acc_sp += need;
        s->host_nesting++;
        vm_call_ctx ctx = {.store = s, .caller = NULL};
        err = f->host(&ctx, f->user, (const vm_val *)base, (vm_val *)res);
        s->host_nesting--;
        s->sp = saved_sp;
        s->acc_sp = saved_acc;
        if (err == WEFT_OK)
            memmove(base, res, sizeof(vm_slot) * ft->nresults);
    }
    if (err != WEFT_OK)
        return err;
    for (size_t i = 0; i < nresults; i++) {
        results[i].type = (vm_valtype)ft->results[i];
        memcpy(&results[i].v, &base[i], sizeof(vm_slot));
        if (ft->results[i] == VM_I32 || ft->results[i] == VM_F32)
            results[i].v.i64 = base[i].u32;
    }
    return WEFT_OK;
}

/* ---- linker --------------------------------------------------------------------------------- */

typedef struct link_entry {
    char *module, *name;
    size_t mlen, nlen;
    vm_extern ext;
} link_entry;

struct vm_linker {
    link_entry *e;
    size_t n, cap;
};

weft_err vm_linker_new(vm_linker **out)
{
    WEFT_MISUSE(out);
    *out = calloc(1, sizeof **out);
    return *out ? WEFT_OK : WEFT_E_NOMEM;
}

void vm_linker_free(vm_linker *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].module);
        free(l->e[i].name);
    }
    free(l->e);
    free(l);
}

static const link_entry *linker_find(const vm_linker *l, const char *module, size_t mlen,
                                     const char *name, size_t nlen)
{
    if (!l)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const link_entry *e = &l->e[i];
        if (e->mlen == mlen && e->nlen == nlen && memcmp(e->module, module, mlen) == 0 &&
            memcmp(e->name, name, nlen) == 0)
            return e;
    }
    return NULL;
}

static weft_err linker_define_n(vm_linker *l, const char *module, size_t mlen, const char *name,
                                size_t nlen, vm_extern ext)
{
    link_entry *found = (link_entry *)linker_find(l, module, mlen, name, nlen);
    if (found) {
        found->ext = ext;
        return WEFT_OK;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        link_entry *ne = realloc(l->e, sizeof *ne * nc);
        if (!ne)
            return WEFT_E_NOMEM;
        l->e = ne;
        l->cap = nc;
    }
    char *m = malloc(mlen + 1), *n = malloc(nlen + 1);
    if (!m || !n) {
        free(m);
        free(n);
        return WEFT_E_NOMEM;
    }
    memcpy(m, module, mlen);
    m[mlen] = 0;
    memcpy(n, name, nlen);
    n[nlen] = 0;
    l->e[l->n++] = (link_entry){.module = m, .name = n, .mlen = mlen, .nlen = nlen, .ext = ext};
    return WEFT_OK;
}

weft_err vm_linker_define(vm_linker *l, const char *module, const char *name, vm_extern ext)
{
    WEFT_MISUSE(l && module && name);
    return linker_define_n(l, module, strlen(module), name, strlen(name), ext);
}

static vm_extern export_extern(const vm_instance *inst, const vm_export *e)
{
    vm_extern x = {.kind = (vm_extern_kind)e->kind};
    switch (x.kind) {
    case VM_EXTERN_FUNC:
        x.u.func = inst->funcs[e->index];
        break;
    case VM_EXTERN_TABLE:
        x.u.table = inst->tables[e->index];
        break;
    case VM_EXTERN_MEMORY:
        x.u.memory = inst->mem0;
        break;
    case VM_EXTERN_GLOBAL:
        x.u.global = inst->globals[e->index];
        break;
    }
    return x;
}

weft_err vm_linker_define_instance(vm_linker *l, const char *module, vm_instance *inst)
{
    WEFT_MISUSE(l && module && inst);
    for (uint32_t i = 0; i < inst->m->nexports; i++) {
        const vm_export *e = &inst->m->exports[i];
        weft_err err = linker_define_n(l, module, strlen(module), e->name.s, e->name.len,
                                       export_extern(inst, e));
        if (err != WEFT_OK)
            return err;
    }
    return WEFT_OK;
}

weft_err vm_linker_define_host(vm_linker *l, vm_store *s, const vm_host_def *defs, size_t n)
{
    WEFT_MISUSE(l && s && (defs || n == 0));
    for (size_t i = 0; i < n; i++) {
        vm_func *f;
        weft_err err = vm_host_func_new(&f, s, &defs[i]);
        if (err != WEFT_OK)
            return err;
        err = vm_linker_define(l, defs[i].module, defs[i].name,
                               (vm_extern){.kind = VM_EXTERN_FUNC, .u.func = f});
        if (err != WEFT_OK)
            return err;
    }
    return WEFT_OK;
}

/* The spectest print functions print nothing: the vm does no I/O. */
static weft_err spectest_print(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)ctx;
    (void)user;
    (void)args;
    (void)results;
    return WEFT_OK;
}

weft_err vm_linker_define_spectest(vm_linker *l, vm_store *s)
{
    static const vm_host_def prints[] = {
        {"spectest", "print", "", "", spectest_print, NULL},
        {"spectest", "print_i32", "i", "", spectest_print, NULL},
        {"spectest", "print_i64", "I", "", spectest_print, NULL},
        {"spectest", "print_f32", "f", "", spectest_print, NULL},
        {"spectest", "print_f64", "F", "", spectest_print, NULL},
        {"spectest", "print_i32_f32", "if", "", spectest_print, NULL},
        {"spectest", "print_f64_f64", "FF", "", spectest_print, NULL},
    };
    weft_err err = vm_linker_define_host(l, s, prints, WEFT_ARRAY_LEN(prints));
    if (err != WEFT_OK)
        return err;
    struct {
        const char *name;
        vm_valtype type;
        uint64_t bits;
    } globals[] = {
        {"global_i32", VM_I32, 666},
        {"global_i64", VM_I64, 666},
        {"global_f32", VM_F32, 0x4426a666u},           /* 666.6f */
        {"global_f64", VM_F64, 0x4084d4cccccccccdull}, /* 666.6 */
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(globals); i++) {
        vm_global *g;
        err = vm_global_new(&g, s, globals[i].type, false, (vm_val){.i64 = globals[i].bits});
        if (err == WEFT_OK)
            err = vm_linker_define(l, "spectest", globals[i].name,
                                   (vm_extern){.kind = VM_EXTERN_GLOBAL, .u.global = g});
        if (err != WEFT_OK)
            return err;
    }
    vm_table *t;
    err = vm_table_new(&t, s, VM_FUNCREF, 10, 20, true);
    if (err == WEFT_OK)
        err = vm_linker_define(l, "spectest", "table",
                               (vm_extern){.kind = VM_EXTERN_TABLE, .u.table = t});
    if (err != WEFT_OK)
        return err;
    vm_memory *mem;
    err = vm_memory_new(&mem, s, 1, 2, true);
    if (err == WEFT_OK)
        err = vm_linker_define(l, "spectest", "memory",
                               (vm_extern){.kind = VM_EXTERN_MEMORY, .u.memory = mem});
    return err;
}

/* ---- instantiation -------------------------------------------------------------------------- */

/* Import subtyping of limits: the provided object's current size and declared max must fit the
 * import's declared limits. */
static bool limits_match(uint64_t cur, const vm_lim *have, const vm_lim *want)
{
    if (cur < want->min)
        return false;
    if (want->has_max && (!have->has_max || have->max > want->max))
        return false;
    return true;
}

static vm_slot eval_const(const vm_instance *inst, const vm_constexpr *e)
{
    vm_slot v = {.u64 = 0};
    switch (e->op) {
    case 0x23:
        v = inst->globals[e->index]->val;
        break;
    case 0xd2:
        v.u64 = (uint64_t)(uintptr_t)inst->funcs[e->index];
        break;
    case 0xd0:
        v.u64 = 0;
        break;
    default:
        v.u64 = e->bits;
        break;
    }
    return v;
}

static weft_err link_imports(vm_instance *inst, const vm_linker *l, vm_diag *diag)
{
    const vm_module *m = inst->m;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const vm_import *im = &m->imports[i];
        const link_entry *e =
            linker_find(l, im->module.s, im->module.len, im->name.s, im->name.len);
        if (!e) {
            vm_diag_set(diag, 0, "unknown import %s.%s", im->module.s, im->name.s);
            return WEFT_E_VM_UNLINKABLE;
        }
        bool ok = e->ext.kind == im->kind;
        if (ok) {
            switch (im->kind) {
            case VM_EXTERN_FUNC: {
                const vm_type *t = &m->types[m->func_type[im->index]];
                const vm_func *f = e->ext.u.func;
                ok = f->type_hash == t->hash && vm_functype_eq(f->type, &t->ft);
                if (ok)
                    inst->funcs[im->index] = e->ext.u.func;
                break;
            }
            case VM_EXTERN_TABLE: {
                const vm_tabledef *td = &m->tables[im->index];
                const vm_table *t = e->ext.u.table;
                ok = t->elem_type == td->elem_type && limits_match(t->size, &t->type, &td->lim);
                if (ok)
                    inst->tables[im->index] = e->ext.u.table;
                break;
            }
            case VM_EXTERN_MEMORY: {
                const vm_memory *mem = e->ext.u.memory;
                ok = limits_match(mem->pages, &mem->type, &m->mems[0]);
                if (ok)
                    inst->mem0 = e->ext.u.memory;
                break;
            }
            case VM_EXTERN_GLOBAL: {
                const vm_globaldef *gd = &m->globals[im->index];
                const vm_global *g = e->ext.u.global;
                ok = g->type == gd->type && g->mut == gd->mut;
                if (ok)
                    inst->globals[im->index] = e->ext.u.global;
                break;
            }
            }
        }
        if (!ok) {
            vm_diag_set(diag, 0, "incompatible import type %s.%s", im->module.s, im->name.s);
            return WEFT_E_VM_UNLINKABLE;
        }
    }
    return WEFT_OK;
}

weft_err vm_instance_new(vm_instance **out, vm_store *s, const vm_module *m, const vm_linker *l,
                         vm_diag *diag)
{
    WEFT_MISUSE(out && s && m);
    *out = NULL;
    if (diag) {
        diag->msg[0] = 0;
        diag->offset = 0;
    }
    weft_err err = WEFT_OK;
    vm_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return WEFT_E_NOMEM;
    inst->m = m;
    inst->store = s;
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    inst->funcs = calloc(m->nfuncs + 1u, sizeof(vm_func *));
    inst->own = calloc(ndef + 1u, sizeof(vm_func));
    inst->tables = calloc(m->ntables + 1u, sizeof(vm_table *));
    inst->globals = calloc(m->nglobals + 1u, sizeof(vm_global *));
    inst->elems = calloc(m->nelems + 1u, sizeof *inst->elems);
    inst->data_len = calloc(m->ndatas + 1u, sizeof *inst->data_len);
    if (!inst->funcs || !inst->own || !inst->tables || !inst->globals || !inst->elems ||
        !inst->data_len) {
        instance_free(inst);
        return WEFT_E_NOMEM;
    }
    /* from here on the instance belongs to the store, even if instantiation fails: a failed
     * instantiation may already have written references to its functions into shared tables */
    inst->next = s->instances;
    s->instances = inst;

    err = link_imports(inst, l, diag);
    if (err != WEFT_OK)
        return err;
    for (uint32_t i = 0; i < ndef; i++) {
        vm_func *f = &inst->own[i];
        const vm_type *t = &m->types[m->func_type[m->nfunc_imports + i]];
        f->type = &t->ft;
        f->type_hash = t->hash;
        f->inst = inst;
        f->code = &m->codes[i];
        inst->funcs[m->nfunc_imports + i] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        err = table_create(&inst->tables[i], s, m->tables[i].elem_type, &m->tables[i].lim);
        if (err != WEFT_OK) {
            vm_diag_set(diag, 0, "table %u exceeds the table limit", i);
            return err;
        }
    }
    if (m->nmems > m->nmem_imports) {
        err = memory_create(&inst->mem0, s, &m->mems[0]);
        if (err != WEFT_OK) {
            vm_diag_set(diag, 0, "memory exceeds the page limit");
            return err;
        }
    }
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        const vm_globaldef *gd = &m->globals[i];
        err = global_create(&inst->globals[i], s, gd->type, gd->mut, eval_const(inst, &gd->init));
        if (err != WEFT_OK)
            return err;
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        const vm_elemseg *e = &m->elems[i];
        vm_elem_inst *ei = &inst->elems[i];
        ei->items = calloc(e->count + 1u, sizeof *ei->items);
        if (!ei->items)
            return WEFT_E_NOMEM;
        for (uint32_t k = 0; k < e->count; k++)
            ei->items[k] = eval_const(inst, &e->items[k]);
        ei->count = e->mode == VM_SEG_DECLARATIVE ? 0 : e->count;
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        inst->data_len[i] = m->datas[i].len;
    /* active element segments, in order: table.init then elem.drop */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const vm_elemseg *e = &m->elems[i];
        if (e->mode != VM_SEG_ACTIVE)
            continue;
        vm_table *t = inst->tables[e->table];
        uint64_t off = eval_const(inst, &e->offset).u32;
        if (off + e->count > t->size) {
            vm_diag_set(diag, 0, "element segment %u out of bounds", i);
            return WEFT_E_VM_TRAP_TABLE;
        }
        if (e->count)
            memcpy(t->elems + off, inst->elems[i].items, sizeof(vm_slot) * e->count);
        inst->elems[i].count = 0;
    }
    /* active data segments, in order: memory.init then data.drop */
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const vm_dataseg *d = &m->datas[i];
        if (d->mode != VM_SEG_ACTIVE)
            continue;
        vm_memory *mem = inst->mem0;
        WEFT_ASSERT(mem != NULL); /* validation: active segments need a memory */
        uint64_t off = eval_const(inst, &d->offset).u32;
        if (off + d->len > mem->size) {
            vm_diag_set(diag, 0, "data segment %u out of bounds", i);
            return WEFT_E_VM_TRAP_MEMORY;
        }
        if (d->len)
            memcpy(mem->data + off, d->bytes, d->len);
        inst->data_len[i] = 0;
    }
    if (m->has_start) {
        err = vm_invoke(s, inst->funcs[m->start], NULL, 0, NULL, 0);
        if (err != WEFT_OK) {
            vm_diag_set(diag, 0, "start function: %s", weft_strerror(err));
            return err;
        }
    }
    *out = inst;
    return WEFT_OK;
}

weft_err vm_instance_export_n(const vm_instance *inst, const char *name, size_t len, vm_extern *out)
{
    WEFT_MISUSE(inst && name && out);
    const vm_module *m = inst->m;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const vm_export *e = &m->exports[i];
        if (e->name.len == len && memcmp(e->name.s, name, len) == 0) {
            *out = export_extern(inst, e);
            return WEFT_OK;
        }
    }
    return WEFT_E_NOT_FOUND;
}

weft_err vm_instance_export(const vm_instance *inst, const char *name, vm_extern *out)
{
    return vm_instance_export_n(inst, name, strlen(name), out);
}

vm_func *vm_instance_func(const vm_instance *inst, const char *name)
{
    vm_extern x;
    if (vm_instance_export(inst, name, &x) != WEFT_OK || x.kind != VM_EXTERN_FUNC)
        return NULL;
    return x.u.func;
}

vm_memory *vm_instance_memory(const vm_instance *inst) { return inst->mem0; }
