/* Module decoding and module-level validation: the binary's sections in order (custom sections
 * anywhere), types, imports, functions, tables, memories, globals, exports, start, element
 * segments, data count, code (bodies are only delimited here and translated by compile.c) and data.
 * Every count is checked against the input left and against vm_limits before anything is
 * allocated; names must be valid UTF-8.  A failure is E_VM_MALFORMED (the spec's decoding errors),
 * E_VM_INVALID (validation), E_VM_FEATURE or E_VM_LIMIT, with the spec's wording in the diagnostic.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm/vm_internal.h"

/* ---- arena ---------------------------------------------------------------------------------- */

struct vm_arena_chunk {
    vm_arena_chunk *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

void *vm_arena_alloc(vm_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!a->head || a->cap - a->used < n) {
        size_t sz = n > (size_t)64 * 1024 ? n : (size_t)64 * 1024;
        vm_arena_chunk *c = calloc(1, sizeof *c + sz);
        if (!c)
            return NULL;
        c->size = sz;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = sz;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

void vm_arena_free(vm_arena *a)
{
    vm_arena_chunk *c = a->head;
    while (c) {
        vm_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}

/* ---- small helpers -------------------------------------------------------------------------- */

void vm_diag_set(vm_diag *diag, size_t offset, const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
    diag->offset = offset;
}

uint64_t vm_functype_hash(const vm_functype *ft)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ ft->nparams) * 1099511628211ull;
    for (uint32_t i = 0; i < ft->nparams; i++)
        h = (h ^ ft->params[i]) * 1099511628211ull;
    h = (h ^ (0x100u + ft->nresults)) * 1099511628211ull;
    for (uint32_t i = 0; i < ft->nresults; i++)
        h = (h ^ ft->results[i]) * 1099511628211ull;
    return h;
}

bool vm_functype_eq(const vm_functype *a, const vm_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           memcmp(a->params, b->params, a->nparams) == 0 &&
           memcmp(a->results, b->results, a->nresults) == 0;
}

bool vm_valtype_known(uint8_t b) { return vm_is_num(b) || vm_is_ref(b); }

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* The decoder's state: the reader (whose sticky error is the decoder's first failure of any
 * class), the module, the diagnostic. */
typedef struct dec {
    vm_rd r;
    vm_module *m;
    vm_diag *diag;
} dec;

static bool failed(const dec *d) { return d->r.err != WEFT_OK; }

static void fail(dec *d, weft_err err, const char *why) { vm_rd_fail(&d->r, err, why); }

static void *alloc(dec *d, size_t n)
{
    void *p = vm_arena_alloc(&d->m->arena, n);
    if (!p)
        fail(d, WEFT_E_NOMEM, "out of memory");
    return p;
}

/* Reads a vector count whose elements take at least `min_bytes` each, bounded by `limit`. */
static uint32_t read_count(dec *d, uint32_t limit, size_t min_bytes)
{
    uint32_t n = vm_rd_u32(&d->r);
    if (failed(d))
        return 0;
    if ((uint64_t)n * min_bytes > (uint64_t)(d->r.end - d->r.p)) {
        vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "unexpected end of section or function");
        return 0;
    }
    if (n > limit) {
        fail(d, WEFT_E_VM_LIMIT, "count exceeds a configured limit");
        return 0;
    }
    return n;
}

static void read_name(dec *d, vm_name *out)
{
    uint32_t len;
    const uint8_t *p = vm_rd_bytes(&d->r, &len);
    if (!p)
        return;
    if (!utf8_valid(p, len)) {
        vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed UTF-8 encoding");
        return;
    }
    char *s = alloc(d, (size_t)len + 1);
    if (!s)
        return;
    memcpy(s, p, len);
    s[len] = 0;
    out->s = s;
    out->len = len;
}

static uint8_t read_valtype(dec *d)
{
    uint8_t b = vm_rd_u8(&d->r);
    if (failed(d))
        return 0;
    if (vm_is_num(b))
        return b;
    if (vm_is_ref(b)) {
        if (!(d->m->cfg.features & VM_FEAT_REF_TYPES))
            fail(d, WEFT_E_VM_FEATURE, "reference types are not enabled");
        return b;
    }
    vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed value type");
    return 0;
}

static uint8_t read_reftype(dec *d)
{
    uint8_t b = vm_rd_u8(&d->r);
    if (failed(d))
        return 0;
    if (b == VM_FUNCREF)
        return b;
    if (b == VM_EXTERNREF) {
        if (!(d->m->cfg.features & VM_FEAT_REF_TYPES))
            fail(d, WEFT_E_VM_FEATURE, "reference types are not enabled");
        return b;
    }
    vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed reference type");
    return 0;
}

static void read_limits(dec *d, vm_lim *l)
{
    uint8_t flag = vm_rd_u8(&d->r);
    if (failed(d))
        return;
    if (flag > 1) {
        vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "integer too large");
        return;
    }
    l->min = vm_rd_u32(&d->r);
    l->has_max = flag == 1;
    l->max = l->has_max ? vm_rd_u32(&d->r) : 0;
}

static void check_table_limits(dec *d, const vm_lim *l)
{
    if (l->has_max && l->min > l->max)
        fail(d, WEFT_E_VM_INVALID, "size minimum must not be greater than maximum");
}

static void check_memory_limits(dec *d, const vm_lim *l)
{
    if (l->min > 65536 || (l->has_max && l->max > 65536))
        fail(d, WEFT_E_VM_INVALID, "memory size must be at most 65536 pages (4GiB)");
    else if (l->has_max && l->min > l->max)
        fail(d, WEFT_E_VM_INVALID, "size minimum must not be greater than maximum");
}

static void mark_declared(dec *d, uint32_t func)
{
    if (func < d->m->nfuncs && d->m->declared)
        d->m->declared[func / 8] |= (uint8_t)(1u << (func % 8));
}

/* True for the first byte of any operator weft knows (validity of the rest aside). */
static bool known_opcode(uint8_t op)
{
    return op <= 0x05 || (op >= 0x0b && op <= 0x11) || (op >= 0x1a && op <= 0x1c) ||
           (op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0xc4) || (op >= 0xd0 && op <= 0xd2) ||
           op == 0xfc;
}

/* Reads a constant expression of type `want` (0: any reference type is accepted and stored in
 * e->type).  Only imported immutable globals may be read (Wasm 2.0). */
static void read_constexpr(dec *d, vm_constexpr *e, uint8_t want)
{
    vm_module *m = d->m;
    memset(e, 0, sizeof *e);
    uint8_t op = vm_rd_u8(&d->r);
    if (failed(d))
        return;
    e->op = op;
    switch (op) {
    case 0x41:
        e->type = VM_I32;
        e->bits = (uint32_t)(int32_t)vm_rd_sleb(&d->r, 32);
        break;
    case 0x42:
        e->type = VM_I64;
        e->bits = (uint64_t)vm_rd_sleb(&d->r, 64);
        break;
    case 0x43: {
        e->type = VM_F32;
        const uint8_t *p = d->r.p;
        if (d->r.end - p < 4) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "unexpected end");
            return;
        }
        uint32_t v;
        memcpy(&v, p, 4);
        e->bits = v;
        d->r.p += 4;
        break;
    }
    case 0x44: {
        e->type = VM_F64;
        const uint8_t *p = d->r.p;
        if (d->r.end - p < 8) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "unexpected end");
            return;
        }
        memcpy(&e->bits, p, 8);
        d->r.p += 8;
        break;
    }
    case 0x23: {
        uint32_t g = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (g >= m->nglobal_imports) {
            fail(d, WEFT_E_VM_INVALID, "unknown global");
            return;
        }
        if (m->globals[g].mut) {
            fail(d, WEFT_E_VM_INVALID, "constant expression required");
            return;
        }
        e->index = g;
        e->type = m->globals[g].type;
        break;
    }
    case 0xd0: {
        if (!(m->cfg.features & VM_FEAT_REF_TYPES) && want != VM_FUNCREF) {
            fail(d, WEFT_E_VM_FEATURE, "reference types are not enabled");
            return;
        }
        e->type = read_reftype(d);
        break;
    }
    case 0xd2: {
        uint32_t f = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (f >= m->nfuncs) {
            fail(d, WEFT_E_VM_INVALID, "unknown function");
            return;
        }
        e->index = f;
        e->type = VM_FUNCREF;
        mark_declared(d, f);
        break;
    }
    case 0x0b:
        fail(d, WEFT_E_VM_INVALID, "type mismatch");
        return;
    default:
        if (known_opcode(op))
            fail(d, WEFT_E_VM_INVALID, "constant expression required");
        else
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "illegal opcode");
        return;
    }
    if (failed(d))
        return;
    uint8_t end = vm_rd_u8(&d->r);
    if (failed(d))
        return;
    if (end != 0x0b) {
        /* a second instruction: either a constant one (type mismatch: two values) or not */
        bool constant = end == 0x41 || end == 0x42 || end == 0x43 || end == 0x44 || end == 0x23 ||
                        end == 0xd0 || end == 0xd2;
        fail(d, WEFT_E_VM_INVALID, constant ? "type mismatch" : "constant expression required");
        return;
    }
    if (want && e->type != want)
        fail(d, WEFT_E_VM_INVALID, "type mismatch");
}

/* ---- sections ------------------------------------------------------------------------------- */

static void sec_type(dec *d)
{
    vm_module *m = d->m;
    const vm_limits *lim = &m->cfg.limits;
    uint32_t n = read_count(d, lim->types, 3);
    m->types = alloc(d, sizeof *m->types * (n ? n : 1));
    if (failed(d))
        return;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        uint8_t form = vm_rd_u8(&d->r);
        if (!failed(d) && form != 0x60) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed function type");
            return;
        }
        vm_functype *ft = &m->types[i].ft;
        uint32_t np = read_count(d, lim->type_arity, 1);
        uint8_t *p = alloc(d, np + 1);
        for (uint32_t k = 0; k < np && !failed(d); k++)
            p[k] = read_valtype(d);
        uint32_t nr = read_count(d, lim->type_arity, 1);
        uint8_t *res = alloc(d, nr + 1);
        for (uint32_t k = 0; k < nr && !failed(d); k++)
            res[k] = read_valtype(d);
        if (failed(d))
            return;
        if (nr > 1 && !(m->cfg.features & VM_FEAT_MULTI_VALUE)) {
            fail(d, WEFT_E_VM_FEATURE, "multiple results need the multi-value feature");
            return;
        }
        ft->nparams = np;
        ft->params = p;
        ft->nresults = nr;
        ft->results = res;
        m->types[i].hash = vm_functype_hash(ft);
        m->ntypes = i + 1;
    }
}

static void sec_import(dec *d)
{
    vm_module *m = d->m;
    const vm_limits *lim = &m->cfg.limits;
    uint32_t n = read_count(d, lim->imports, 4);
    m->imports = alloc(d, sizeof *m->imports * (n ? n : 1));
    /* the kinds' index spaces are sized by a first pass over the entries below; allocate for the
     * worst case (every import of one kind) within the limits */
    uint32_t fcap = n < lim->funcs ? n : lim->funcs;
    uint32_t gcap = n < lim->globals ? n : lim->globals;
    uint32_t tcap = n < lim->tables ? n : lim->tables;
    m->func_type = alloc(d, sizeof(uint32_t) * (fcap + 1));
    m->globals = alloc(d, sizeof *m->globals * (gcap + 1));
    m->tables = alloc(d, sizeof *m->tables * (tcap + 1));
    m->mems = alloc(d, sizeof *m->mems * 2);
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_import *im = &m->imports[i];
        read_name(d, &im->module);
        read_name(d, &im->name);
        uint8_t kind = vm_rd_u8(&d->r);
        if (failed(d))
            return;
        im->kind = kind;
        switch (kind) {
        case VM_EXTERN_FUNC: {
            uint32_t t = vm_rd_u32(&d->r);
            if (failed(d))
                return;
            if (t >= m->ntypes) {
                fail(d, WEFT_E_VM_INVALID, "unknown type");
                return;
            }
            if (m->nfunc_imports >= fcap) {
                fail(d, WEFT_E_VM_LIMIT, "too many functions");
                return;
            }
            im->index = m->nfunc_imports;
            m->func_type[m->nfunc_imports++] = t;
            break;
        }
        case VM_EXTERN_TABLE: {
            vm_tabledef td;
            td.elem_type = read_reftype(d);
            read_limits(d, &td.lim);
            if (failed(d))
                return;
            check_table_limits(d, &td.lim);
            if (m->ntable_imports >= tcap) {
                fail(d, WEFT_E_VM_LIMIT, "too many tables");
                return;
            }
            if (m->ntable_imports >= 1 && !(m->cfg.features & VM_FEAT_REF_TYPES)) {
                fail(d, WEFT_E_VM_FEATURE, "multiple tables need reference types");
                return;
            }
            im->index = m->ntable_imports;
            m->tables[m->ntable_imports++] = td;
            break;
        }
        case VM_EXTERN_MEMORY: {
            vm_lim l;
            read_limits(d, &l);
            if (failed(d))
                return;
            check_memory_limits(d, &l);
            if (m->nmem_imports >= 1) {
                fail(d, WEFT_E_VM_INVALID, "multiple memories");
                return;
            }
            im->index = 0;
            m->mems[m->nmem_imports++] = l;
            break;
        }
        case VM_EXTERN_GLOBAL: {
            vm_globaldef g = {0};
            g.type = read_valtype(d);
            uint8_t mut = vm_rd_u8(&d->r);
            if (failed(d))
                return;
            if (mut > 1) {
                vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed mutability");
                return;
            }
            g.mut = mut;
            if (m->nglobal_imports >= gcap) {
                fail(d, WEFT_E_VM_LIMIT, "too many globals");
                return;
            }
            im->index = m->nglobal_imports;
            m->globals[m->nglobal_imports++] = g;
            break;
        }
        default:
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed import kind");
            return;
        }
        m->nimports = i + 1;
    }
    m->nfuncs = m->nfunc_imports;
    m->nglobals = m->nglobal_imports;
    m->ntables = m->ntable_imports;
    m->nmems = m->nmem_imports;
}

/* Grows an index space array to hold `extra` more entries after the imports. */
static void *grow_space(dec *d, void *old, size_t elem, uint32_t nold, uint32_t extra)
{
    void *p = alloc(d, elem * ((size_t)nold + extra + 1));
    if (p && nold)
        memcpy(p, old, elem * nold);
    return p;
}

static void sec_function(dec *d)
{
    vm_module *m = d->m;
    uint32_t room = m->cfg.limits.funcs - m->nfunc_imports;
    uint32_t n = read_count(d, room, 1);
    uint32_t *ft = grow_space(d, m->func_type, sizeof(uint32_t), m->nfunc_imports, n);
    m->codes = alloc(d, sizeof *m->codes * (n ? n : 1));
    if (failed(d))
        return;
    m->func_type = ft;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        uint32_t t = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (t >= m->ntypes) {
            fail(d, WEFT_E_VM_INVALID, "unknown type");
            return;
        }
        ft[m->nfuncs++] = t;
    }
    m->have_funcsec = true;
}

static void sec_table(dec *d)
{
    vm_module *m = d->m;
    uint32_t room = m->cfg.limits.tables - m->ntable_imports;
    uint32_t n = read_count(d, room, 3);
    vm_tabledef *t = grow_space(d, m->tables, sizeof *t, m->ntable_imports, n);
    if (failed(d))
        return;
    m->tables = t;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_tabledef td;
        td.elem_type = read_reftype(d);
        read_limits(d, &td.lim);
        if (failed(d))
            return;
        check_table_limits(d, &td.lim);
        if (m->ntables >= 1 && !(m->cfg.features & VM_FEAT_REF_TYPES)) {
            fail(d, WEFT_E_VM_FEATURE, "multiple tables need reference types");
            return;
        }
        t[m->ntables++] = td;
    }
}

static void sec_memory(dec *d)
{
    vm_module *m = d->m;
    uint32_t n = read_count(d, UINT32_MAX, 2);
    if (failed(d))
        return;
    if (!m->mems)
        m->mems = alloc(d, sizeof *m->mems * 2);
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_lim l;
        read_limits(d, &l);
        if (failed(d))
            return;
        check_memory_limits(d, &l);
        if (m->nmems >= 1) {
            fail(d, WEFT_E_VM_INVALID, "multiple memories");
            return;
        }
        m->mems[m->nmems++] = l;
    }
}

static void sec_global(dec *d)
{
    vm_module *m = d->m;
    uint32_t room = m->cfg.limits.globals - m->nglobal_imports;
    uint32_t n = read_count(d, room, 3);
    vm_globaldef *g = grow_space(d, m->globals, sizeof *g, m->nglobal_imports, n);
    if (failed(d))
        return;
    m->globals = g;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_globaldef *gd = &g[m->nglobals];
        gd->type = read_valtype(d);
        uint8_t mut = vm_rd_u8(&d->r);
        if (failed(d))
            return;
        if (mut > 1) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed mutability");
            return;
        }
        gd->mut = mut;
        read_constexpr(d, &gd->init, gd->type);
        m->nglobals++;
    }
}

static int name_cmp(const void *a, const void *b)
{
    const vm_export *x = *(const vm_export *const *)a, *y = *(const vm_export *const *)b;
    uint32_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.s, y->name.s, n);
    if (c)
        return c;
    return x->name.len < y->name.len ? -1 : x->name.len > y->name.len;
}

static void sec_export(dec *d)
{
    vm_module *m = d->m;
    uint32_t n = read_count(d, m->cfg.limits.exports, 3);
    m->exports = alloc(d, sizeof *m->exports * (n ? n : 1));
    if (failed(d))
        return;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_export *e = &m->exports[i];
        read_name(d, &e->name);
        uint8_t kind = vm_rd_u8(&d->r);
        uint32_t idx = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        e->kind = kind;
        e->index = idx;
        switch (kind) {
        case VM_EXTERN_FUNC:
            if (idx >= m->nfuncs)
                fail(d, WEFT_E_VM_INVALID, "unknown function");
            mark_declared(d, idx);
            break;
        case VM_EXTERN_TABLE:
            if (idx >= m->ntables)
                fail(d, WEFT_E_VM_INVALID, "unknown table");
            break;
        case VM_EXTERN_MEMORY:
            if (idx >= m->nmems)
                fail(d, WEFT_E_VM_INVALID, "unknown memory");
            break;
        case VM_EXTERN_GLOBAL:
            if (idx >= m->nglobals)
                fail(d, WEFT_E_VM_INVALID, "unknown global");
            break;
        default:
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed export kind");
            return;
        }
        m->nexports = i + 1;
    }
    if (failed(d) || n < 2)
        return;
    const vm_export **sorted = malloc(sizeof(const vm_export *) * n);
    if (!sorted) {
        fail(d, WEFT_E_NOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = &m->exports[i];
    qsort(sorted, n, sizeof(const vm_export *), name_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (name_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            fail(d, WEFT_E_VM_INVALID, "duplicate export name");
            break;
        }
    free(sorted);
}

static void sec_start(dec *d)
{
    vm_module *m = d->m;
    uint32_t f = vm_rd_u32(&d->r);
    if (failed(d))
        return;
    if (f >= m->nfuncs) {
        fail(d, WEFT_E_VM_INVALID, "unknown function");
        return;
    }
    const vm_functype *ft = &m->types[m->func_type[f]].ft;
    if (ft->nparams || ft->nresults) {
        fail(d, WEFT_E_VM_INVALID, "start function");
        return;
    }
    m->has_start = true;
    m->start = f;
}

static void sec_elem(dec *d)
{
    vm_module *m = d->m;
    const vm_limits *lim = &m->cfg.limits;
    uint32_t n = read_count(d, lim->elem_segments, 1);
    m->elems = alloc(d, sizeof *m->elems * (n ? n : 1));
    uint64_t total = 0;
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_elemseg *e = &m->elems[i];
        uint32_t flags = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (flags > 7) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed elements segment kind");
            return;
        }
        bool passive_or_decl = flags & 1, explicit_table = flags & 2, exprs = flags & 4;
        e->mode = !passive_or_decl ? VM_SEG_ACTIVE
                  : explicit_table ? VM_SEG_DECLARATIVE
                                   : VM_SEG_PASSIVE;
        e->table = 0;
        if (e->mode == VM_SEG_ACTIVE) {
            if (explicit_table)
                e->table = vm_rd_u32(&d->r);
            if (failed(d))
                return;
            if (e->table >= m->ntables) {
                fail(d, WEFT_E_VM_INVALID, "unknown table");
                return;
            }
            read_constexpr(d, &e->offset, VM_I32);
        }
        e->type = VM_FUNCREF;
        if (passive_or_decl || explicit_table) {
            if (exprs) {
                e->type = read_reftype(d);
            } else {
                uint8_t kind = vm_rd_u8(&d->r);
                if (!failed(d) && kind != 0x00)
                    vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed element kind");
            }
        }
        if (failed(d))
            return;
        uint32_t cnt = read_count(d, UINT32_MAX, 1);
        if (failed(d))
            return;
        total += cnt;
        if (total > lim->elem_items) {
            fail(d, WEFT_E_VM_LIMIT, "too many element segment items");
            return;
        }
        e->count = cnt;
        e->items = alloc(d, sizeof *e->items * (cnt ? cnt : 1));
        for (uint32_t k = 0; k < cnt && !failed(d); k++) {
            if (exprs) {
                read_constexpr(d, &e->items[k], e->type);
            } else {
                uint32_t f = vm_rd_u32(&d->r);
                if (failed(d))
                    return;
                if (f >= m->nfuncs) {
                    fail(d, WEFT_E_VM_INVALID, "unknown function");
                    return;
                }
                e->items[k].op = 0xd2;
                e->items[k].type = VM_FUNCREF;
                e->items[k].index = f;
                mark_declared(d, f);
            }
        }
        if (failed(d))
            return;
        if (e->mode == VM_SEG_ACTIVE && m->tables[e->table].elem_type != e->type) {
            fail(d, WEFT_E_VM_INVALID, "type mismatch");
            return;
        }
        m->nelems = i + 1;
    }
}

static void sec_datacount(dec *d)
{
    d->m->datacount = vm_rd_u32(&d->r);
    d->m->has_datacount = true;
}

static void sec_code(dec *d)
{
    vm_module *m = d->m;
    uint32_t ndefined = m->nfuncs - m->nfunc_imports;
    uint32_t n = vm_rd_u32(&d->r);
    if (failed(d))
        return;
    if (n != ndefined) {
        vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED,
                   "function and code section have inconsistent lengths");
        return;
    }
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_code *c = &m->codes[i];
        uint32_t size = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (size > (size_t)(d->r.end - d->r.p)) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "unexpected end of section or function");
            return;
        }
        vm_rd body = d->r;
        body.end = d->r.p + size;
        d->r.p += size;
        const vm_functype *ft = &m->types[m->func_type[m->nfunc_imports + i]].ft;
        /* locals: a vector of (count, type); first count them, then fill */
        uint32_t ngroups = vm_rd_u32(&body);
        uint64_t total = ft->nparams;
        const uint8_t *groups = body.p;
        for (uint32_t g = 0; g < ngroups && vm_rd_ok(&body); g++) {
            uint32_t cnt = vm_rd_u32(&body);
            (void)vm_rd_u8(&body);
            total += cnt;
            if (total > UINT32_MAX) {
                vm_rd_fail(&body, WEFT_E_VM_MALFORMED, "too many locals");
                break;
            }
        }
        if (!vm_rd_ok(&body)) {
            d->r.p = body.base + body.err_off;
            vm_rd_fail(&d->r, body.err, body.why);
            return;
        }
        if (total > m->cfg.limits.locals) {
            fail(d, WEFT_E_VM_LIMIT, "too many locals");
            return;
        }
        c->local_types = alloc(d, (size_t)total + 1);
        if (failed(d))
            return;
        memcpy(c->local_types, ft->params, ft->nparams);
        uint32_t at = ft->nparams;
        vm_rd lr = body;
        lr.p = groups;
        for (uint32_t g = 0; g < ngroups; g++) {
            uint32_t cnt = vm_rd_u32(&lr);
            uint8_t t = vm_rd_u8(&lr);
            if (vm_is_ref(t) && !(m->cfg.features & VM_FEAT_REF_TYPES)) {
                fail(d, WEFT_E_VM_FEATURE, "reference types are not enabled");
                return;
            }
            if (!vm_valtype_known(t)) {
                d->r.p = lr.p - 1;
                vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed value type");
                return;
            }
            memset(c->local_types + at, t, cnt);
            at += cnt;
        }
        c->nparams = ft->nparams;
        c->nlocals = (uint32_t)(total - ft->nparams);
        c->body = lr.p;
        c->body_len = (uint32_t)(body.end - lr.p);
        c->body_off = (size_t)(lr.p - d->r.base);
        m->ncodes = i + 1;
    }
}

static void sec_data(dec *d)
{
    vm_module *m = d->m;
    uint32_t n = read_count(d, m->cfg.limits.data_segments, 1);
    if (failed(d))
        return;
    if (m->has_datacount && n != m->datacount) {
        vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED,
                   "data count and data section have inconsistent lengths");
        return;
    }
    m->datas = alloc(d, sizeof *m->datas * (n ? n : 1));
    for (uint32_t i = 0; i < n && !failed(d); i++) {
        vm_dataseg *s = &m->datas[i];
        uint32_t flags = vm_rd_u32(&d->r);
        if (failed(d))
            return;
        if (flags > 2) {
            vm_rd_fail(&d->r, WEFT_E_VM_MALFORMED, "malformed data segment kind");
            return;
        }
        s->mode = flags == 1 ? VM_SEG_PASSIVE : VM_SEG_ACTIVE;
        if (flags == 2)
            s->memory = vm_rd_u32(&d->r);
        if (s->mode == VM_SEG_ACTIVE) {
            if (failed(d))
                return;
            if (s->memory >= m->nmems) {
                fail(d, WEFT_E_VM_INVALID, "unknown memory");
                return;
            }
            read_constexpr(d, &s->offset, VM_I32);
        }
        uint32_t len;
        const uint8_t *p = vm_rd_bytes(&d->r, &len);
        if (failed(d))
            return;
        uint8_t *copy = alloc(d, len);
        if (failed(d))
            return;
        memcpy(copy, p, len);
        s->bytes = copy;
        s->len = len;
        m->ndatas = i + 1;
    }
}

/* Position of a section id in the required order (the data count section, 12, sits between
 * element (9) and code (10)). */
static int section_rank(uint8_t id)
{
    static const int8_t rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return id <= 12 ? rank[id] : -1;
}

weft_err vm_decode(vm_module *m, const uint8_t *bytes, size_t len, vm_diag *diag)
{
    dec d = {.m = m, .diag = diag};
    d.r.p = d.r.base = bytes;
    d.r.end = bytes + len;
    weft_err err = WEFT_OK;

    static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
    static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
    if (!bytes || len < 4 || memcmp(bytes, magic, 4) != 0) {
        vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "magic header not detected");
        goto out;
    }
    d.r.p += 4;
    if (len < 8 || memcmp(bytes + 4, version, 4) != 0) {
        vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "unknown binary version");
        goto out;
    }
    d.r.p += 4;
    if (len > m->cfg.limits.module_bytes) {
        fail(&d, WEFT_E_VM_LIMIT, "module larger than the configured limit");
        goto out;
    }

    int last = 0;
    bool seen_function = false;
    while (d.r.p < d.r.end && !failed(&d)) {
        uint8_t id = vm_rd_u8(&d.r);
        uint32_t size = vm_rd_u32(&d.r);
        if (failed(&d))
            break;
        if (size > (size_t)(d.r.end - d.r.p)) {
            vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "length out of bounds");
            break;
        }
        const uint8_t *sec_end = d.r.p + size;
        vm_rd outer = d.r;
        d.r.end = sec_end;
        if (id == 0) {
            vm_name name;
            read_name(&d, &name);
            d.r.p = sec_end;
        } else {
            int rank = section_rank(id);
            if (rank < 0) {
                vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "malformed section id");
                break;
            }
            if (rank <= last) {
                vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "unexpected content after last section");
                break;
            }
            last = rank;
            /* index spaces that no import created still need arrays */
            if (!m->func_type) {
                m->func_type = alloc(&d, sizeof(uint32_t));
                m->globals = alloc(&d, sizeof *m->globals);
                m->tables = alloc(&d, sizeof *m->tables);
            }
            switch (id) {
            case 1:
                sec_type(&d);
                break;
            case 2:
                sec_import(&d);
                break;
            case 3:
                sec_function(&d);
                seen_function = true;
                break;
            case 4:
                sec_table(&d);
                break;
            case 5:
                sec_memory(&d);
                break;
            case 6:
                sec_global(&d);
                break;
            case 7:
                sec_export(&d);
                break;
            case 8:
                sec_start(&d);
                break;
            case 9:
                sec_elem(&d);
                break;
            case 10:
                sec_code(&d);
                break;
            case 11:
                sec_data(&d);
                break;
            case 12:
                sec_datacount(&d);
                break;
            }
            /* the declared-function bitmap is needed from the global section on */
            if (id == 3 || (id == 2 && !seen_function)) {
                uint8_t *bm = alloc(&d, (size_t)m->nfuncs / 8 + 1);
                if (bm && m->declared)
                    memcpy(bm, m->declared, (size_t)m->nfunc_imports / 8 + 1);
                m->declared = bm;
            }
        }
        if (failed(&d))
            break;
        if (d.r.p != sec_end) {
            vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED, "section size mismatch");
            break;
        }
        d.r.end = outer.end;
    }
    if (!failed(&d)) {
        if (m->nfuncs > m->nfunc_imports && m->ncodes != m->nfuncs - m->nfunc_imports)
            vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED,
                       "function and code section have inconsistent lengths");
        else if (m->has_datacount && m->ndatas != m->datacount)
            vm_rd_fail(&d.r, WEFT_E_VM_MALFORMED,
                       "data count and data section have inconsistent lengths");
    }
out:
    if (d.r.err != WEFT_OK) {
        err = d.r.err;
        vm_diag_set(diag, d.r.err_off, "%s", d.r.why);
    }
    return err;
}
