/* The interpreter: executes the internal code produced by compile.c with computed-goto dispatch
 * (gcc/clang "labels as values"): every instruction starts with its handler's address, so
 * dispatch is one indirect jump.
 *
 * State kept in locals: ip (current instruction), fp (frame base), `reg` (the value the last
 * instruction produced: every value-producing handler writes its result to its slot and to reg, and
 * the register variants _A/_B/_C read an operand from reg instead of the frame — compile.c picks
 * them where the value is known to be there), the memory base and size of the running instance
 * (reloaded after memory.grow, host calls, and calls and returns that change instance), the
 * remaining gas, and the running instance.  Wasm calls never recurse in C: a call pushes a vm_frame
 * on the store's frame array (bounded by limits.call_depth) and places the callee's frame on the
 * store's value stack (bounded; checked once per call against the callee's precomputed frame size).
 * Exhaustion of either is the trap "call stack exhausted".  Host functions are called from here and
 * may re-enter vm_exec (bounded by limits.host_nesting).
 *
 * Traps are returned as error codes: the store's frame depth is restored and the remaining gas
 * written back; nothing is unwound with longjmp.  Float arithmetic results are NaN-canonicalized;
 * abs/neg/copysign, loads, stores and reinterpretations keep bits unchanged, as the spec
 * requires.  Memory accesses are bounds-checked in 64-bit arithmetic.
 */
#include <math.h>

#include "vm/vm_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "weft's vm assumes a little-endian host (wasm memory is little-endian)"
#endif

/* ---- numeric helpers ------------------------------------------------------------------------ */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline uint64_t f64_bits(double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}
/* NaN-canonicalized bits of an arithmetic result. */
static inline uint32_t c32(float f) { return f != f ? VM_F32_CANON : f32_bits(f); }
static inline uint64_t c64(double f) { return f != f ? VM_F64_CANON : f64_bits(f); }

static inline float fmin32(float a, float b)
{
    if (a != a || b != b)
        return NAN;
    if (a == b)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline float fmax32(float a, float b)
{
    if (a != a || b != b)
        return NAN;
    if (a == b)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}
static inline double fmin64(double a, double b)
{
    if (a != a || b != b)
        return NAN;
    if (a == b)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline double fmax64(double a, double b)
{
    if (a != a || b != b)
        return NAN;
    if (a == b)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline uint32_t rotl32(uint32_t a, uint32_t b)
{
    b &= 31;
    return (a << b) | (a >> ((32 - b) & 31));
}
static inline uint32_t rotr32(uint32_t a, uint32_t b)
{
    b &= 31;
    return (a >> b) | (a << ((32 - b) & 31));
}
static inline uint64_t rotl64(uint64_t a, uint64_t b)
{
    b &= 63;
    return (a << b) | (a >> ((64 - b) & 63));
}
static inline uint64_t rotr64(uint64_t a, uint64_t b)
{
    b &= 63;
    return (a >> b) | (a << ((64 - b) & 63));
}

/* Saturating truncations (non-trapping float-to-int). */
static inline uint32_t sat_i32(double a)
{
    if (a != a)
        return 0;
    if (a <= -2147483648.0)
        return 0x80000000u;
    if (a >= 2147483647.0)
        return 0x7fffffffu;
    return (uint32_t)(int32_t)a;
}
static inline uint32_t sat_u32(double a)
{
    if (a != a || a <= -1.0)
        return 0;
    if (a >= 4294967295.0)
        return 0xffffffffu;
    return (uint32_t)a;
}
static inline uint64_t sat_i64(double a)
{
    if (a != a)
        return 0;
    if (a < -9223372036854775808.0)
        return 0x8000000000000000ull;
    if (a >= 9223372036854775808.0)
        return 0x7fffffffffffffffull;
    return (uint64_t)(int64_t)a;
}
static inline uint64_t sat_u64(double a)
{
    if (a != a || a <= -1.0)
        return 0;
    if (a >= 18446744073709551616.0)
        return 0xffffffffffffffffull;
    return (uint64_t)a;
}

/* Gas for `units` of a dynamic cost: saturates instead of overflowing. */
static inline uint64_t gas_mul(uint64_t units, uint64_t per)
{
    uint64_t r;
    if (__builtin_mul_overflow(units, per, &r))
        return UINT64_MAX;
    return r;
}

/* ---- the interpreter ------------------------------------------------------------------------ */

/* The interpreter's frame, code and handler accesses are aligned and non-null by construction, and
 * its code pointers stay inside the code: UBSan's checks of those would multiply the blocks of this
 * one huge function (the sanitizer build then takes minutes to compile it); ASan still checks
 * every access, and UBSan everything else. */
__attribute__((no_sanitize("alignment", "null", "pointer-overflow"))) static weft_err
run(vm_store *s, vm_func *f, vm_slot *args, const void *const **table)
{
    static const void *const labels[VMOP_COUNT_] = {
#define X(name, words, form) [VMOP_##name] = &&L_##name,
        VM_OPS(X)
#undef X
#define V(var, base, field) [VMOP_##var] = &&L_##var,
#define X(name, words, form) VM_VAR_##form(name, V)
            VM_OPS(X)
#undef X
#undef V
#define F(x, y) [VMOP_F_##x##__##y] = &&L_F_##x##__##y,
                VM_PAIRS(F)
#undef F
    };
    if (table) {
        *table = labels;
        return WEFT_OK;
    }

    weft_err err = WEFT_OK;
    vm_frame *const frames = s->frames;
    const uint32_t max_depth = s->cfg.limits.call_depth;
    vm_slot *const stack_end = s->stack_end;
    const uint32_t entry_depth = s->depth;
    uint32_t depth = entry_depth;
    uint64_t gas = s->gas;

    const vm_op *ip = NULL;
    vm_slot *fp = NULL;
    const vm_code *code = NULL;
    vm_instance *inst = NULL;
    uint8_t *mem = NULL;
    uint64_t msize = 0;
    uint64_t acc = 0; /* counted stack position of fp */
    const uint64_t acc_limit = s->acc_limit;
    uint64_t reg = 0; /* the value produced by the last instruction (vm_internal.h) */
    vm_func *callee;
    vm_slot *nfp;
    uint64_t nacc;
    const vm_op *next;

#define NEXT() goto *(ip->h) /* NOLINT(bugprone-macro-parentheses): a computed goto */
#define TRAP(e)                                                                                    \
    do {                                                                                           \
        err = (e);                                                                                 \
        goto trap;                                                                                 \
    } while (0)
#define LOAD_MEM()                                                                                 \
    do {                                                                                           \
        vm_memory *mm_ = inst->mem0;                                                               \
        mem = mm_ ? mm_->data : s->no_memory;                                                      \
        msize = mm_ ? mm_->size : 0;                                                               \
    } while (0)
#define CHARGE(amount)                                                                             \
    do {                                                                                           \
        uint64_t c_ = (amount);                                                                    \
        if (__builtin_expect(gas < c_, 0)) {                                                       \
            gas = 0;                                                                               \
            TRAP(WEFT_E_VM_OUT_OF_GAS);                                                            \
        }                                                                                          \
        gas -= c_;                                                                                 \
    } while (0)
#define O (ip[1])
#define A (fp[O.s.a])
#define B (fp[O.s.b])
#define C (fp[O.s.c])
#define D (fp[O.s.d])
#define ACC ((vm_slot){.u64 = reg}) /* the register operand of the _A/_B/_C variants */
#define IMM(w) ((vm_slot){.u64 = (uint64_t)(int64_t)(int32_t)(w)}) /* an immediate operand */
#define JUMP(word, off) (ip = &ip[word] + (int32_t)(off))
#define TAIL(words)                                                                                \
    do {                                                                                           \
        ip += 1 + (words);                                                                         \
        NEXT();                                                                                    \
    } while (0)

    /* Instruction bodies, without advancing ip: a handler is its body and TAIL; a fused
     * instruction (VM_PAIRS) runs two bodies, moving ip between them so that each finds its
     * operands at ip[1].  A branch body leaves the handler when it jumps and runs `fall` when it
     * does not. */
#define B_COPY(src) (B.u64 = reg = (src).u64)
#define B_CONST32() (B.u64 = reg = IMM(O.w.hi).u64)
#define B_SEL(cond)                                                                                \
    do {                                                                                           \
        uint64_t m_ = -(uint64_t)((cond) != 0); /* branch-free: conditions are data */             \
        D.u64 = reg = (A.u64 & m_) | (B.u64 & ~m_);                                                \
    } while (0)
#define B_LOAD(ctype, expr, addr)                                                                  \
    do {                                                                                           \
        uint64_t ea = (uint64_t)(uint32_t)(addr) + O.w.hi;                                         \
        if (__builtin_expect(ea + sizeof(ctype) > msize, 0))                                       \
            TRAP(WEFT_E_VM_TRAP_MEMORY);                                                           \
        ctype v;                                                                                   \
        memcpy(&v, mem + ea, sizeof v);                                                            \
        B.u64 = reg = (expr);                                                                      \
    } while (0)
#define B_STORE(ctype, addr, value)                                                                \
    do {                                                                                           \
        uint64_t ea = (uint64_t)(uint32_t)(addr) + O.w.hi;                                         \
        if (__builtin_expect(ea + sizeof(ctype) > msize, 0))                                       \
            TRAP(WEFT_E_VM_TRAP_MEMORY);                                                           \
        ctype v = (ctype)(value);                                                                  \
        memcpy(mem + ea, &v, sizeof v);                                                            \
    } while (0)
#define B_UN(expr, src)                                                                            \
    do {                                                                                           \
        vm_slot a = (src);                                                                         \
        uint64_t r;                                                                                \
        expr;                                                                                      \
        B.u64 = reg = r;                                                                           \
    } while (0)
#define B_BIN(expr, src_a, src_b)                                                                  \
    do {                                                                                           \
        vm_slot a = (src_a), b = (src_b);                                                          \
        uint64_t r;                                                                                \
        expr;                                                                                      \
        C.u64 = reg = r;                                                                           \
    } while (0)
#define B_BINI(expr, src_a) /* operand b: the sign-extended immediate in w.hi */                   \
    do {                                                                                           \
        vm_slot a = (src_a), b = IMM(O.w.hi);                                                      \
        uint64_t r;                                                                                \
        expr;                                                                                      \
        B.u64 = reg = r;                                                                           \
    } while (0)
#define B_BRIF(cond, fall)                                                                         \
    do {                                                                                           \
        if (cond) {                                                                                \
            JUMP(1, O.w.lo);                                                                       \
            NEXT();                                                                                \
        }                                                                                          \
        fall;                                                                                      \
    } while (0)
#define B_BRIF_G(cond, fall)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            CHARGE(ip[2].w.lo);                                                                    \
            JUMP(1, O.w.lo);                                                                       \
            NEXT();                                                                                \
        }                                                                                          \
        CHARGE(ip[2].w.hi);                                                                        \
        fall;                                                                                      \
    } while (0)
#define B_BRCMP(x, op, y, fall)                                                                    \
    do {                                                                                           \
        if ((x)op(y)) {                                                                            \
            JUMP(1, O.w.hi);                                                                       \
            NEXT();                                                                                \
        }                                                                                          \
        fall;                                                                                      \
    } while (0)
#define B_BRCMP_G(x, op, y, fall)                                                                  \
    do {                                                                                           \
        if ((x)op(y)) {                                                                            \
            CHARGE(ip[2].w.lo);                                                                    \
            JUMP(1, O.w.hi);                                                                       \
            NEXT();                                                                                \
        }                                                                                          \
        CHARGE(ip[2].w.hi);                                                                        \
        fall;                                                                                      \
    } while (0)

    if (depth >= max_depth)
        return WEFT_E_VM_TRAP_STACK;
    frames[depth++] = (vm_frame){0}; /* the sentinel: returning to it leaves run() */
    callee = f;
    nfp = args;
    nacc = s->acc_sp;
    next = NULL;
    inst = f->inst;
    WEFT_ASSERT(inst != NULL);
    LOAD_MEM();
    goto enter;

call:
    /* callee, nfp (its frame), next (return address) are set */
    if (!callee->code) {
        s->gas = gas;
        s->depth = depth;
        err = vm_call_host(s, inst, callee, nfp, fp + code->frame_slots, acc + code->stack_slots);
        gas = s->gas;
        LOAD_MEM();
        if (err != WEFT_OK)
            goto trap;
        ip = next;
        NEXT();
    }
    if (__builtin_expect(depth >= max_depth, 0))
        TRAP(WEFT_E_VM_TRAP_STACK);
    frames[depth++] = (vm_frame){.ip = next, .fp = fp, .acc = acc, .inst = inst, .code = code};
    /* arguments are temporaries: their counted position leaves out the caller's constants */
    nacc = acc + (uint64_t)(nfp - fp) - code->nconsts;
enter : {
    const vm_code *c = callee->code;
    if (__builtin_expect(nacc + c->stack_slots > acc_limit, 0))
        TRAP(WEFT_E_VM_TRAP_STACK);
    /* the physical stack has room for every constant area (vm_store_new): cannot fail */
    if (__builtin_expect((size_t)(stack_end - nfp) < c->frame_slots, 0))
        TRAP(WEFT_E_VM_TRAP_STACK);
    acc = nacc;
    CHARGE(c->entry_gas);
    /* frames are small: plain loops beat calls to memset/memcpy here (a call would also spill
     * the interpreter's registers); the empty asm keeps the compiler from making them calls */
    {
        vm_slot *z = nfp + c->nparams;
        for (uint32_t k = 0, n = c->nzero; k < n; k++) {
            __asm__("" : "+r"(k));
            z[k].u64 = 0;
        }
        vm_slot *d = nfp + c->const_base;
        const vm_slot *cs = c->consts;
        for (uint32_t k = 0, n = c->nconsts; k < n; k++) {
            __asm__("" : "+r"(k));
            d[k] = cs[k];
        }
    }
    fp = nfp;
    code = c;
    ip = c->ops;
    if (callee->inst != inst) {
        inst = callee->inst;
        LOAD_MEM();
    }
    NEXT();
}

L_RETURN : {
    const vm_frame *fr = &frames[--depth];
    if (!fr->ip)
        goto done;
    ip = fr->ip;
    fp = fr->fp;
    acc = fr->acc;
    code = fr->code;
    /* within one instance mem and msize are current (memory.grow and host calls reload them) */
    if (fr->inst != inst) {
        inst = fr->inst;
        LOAD_MEM();
    }
    NEXT();
}

L_CALL:
    callee = inst->funcs[O.w.lo];
    nfp = fp + O.w.hi;
    next = ip + 2;
    goto call;

L_CALL_INDIRECT : {
    const vm_table *t = inst->tables[ip[2].w.lo];
    uint32_t i = D.u32;
    if (i >= t->size)
        TRAP(WEFT_E_VM_TRAP_UNDEFINED_ELEM);
    callee = (vm_func *)(uintptr_t)t->elems[i].u64;
    if (!callee)
        TRAP(WEFT_E_VM_TRAP_UNINIT_ELEM);
    const vm_type *want = &inst->m->types[O.w.lo];
    if (callee->type != &want->ft &&
        (callee->type_hash != want->hash || !vm_functype_eq(callee->type, &want->ft)))
        TRAP(WEFT_E_VM_TRAP_INDIRECT_TYPE);
    nfp = fp + O.s.c;
    next = ip + 3;
    goto call;
}

L_UNREACHABLE:
    TRAP(WEFT_E_VM_TRAP_UNREACHABLE);

L_BR:
    JUMP(1, O.w.lo);
    NEXT();

#define BR_IF_(label, cond)                                                                        \
    label:                                                                                         \
    B_BRIF(cond, TAIL(1));
    BR_IF_(L_BR_IF, C.u32)
    BR_IF_(L_BR_IF_C, (uint32_t)reg)
    BR_IF_(L_BR_IFZ, !C.u32)
    BR_IF_(L_BR_IFZ_C, !(uint32_t)reg)
#undef BR_IF_

#define BR_TABLE_(label, index)                                                                    \
    label : {                                                                                      \
        uint32_t n = O.w.lo;                                                                       \
        uint32_t i = (index);                                                                      \
        if (i > n)                                                                                 \
            i = n;                                                                                 \
        JUMP(2 + i, ip[2 + i].w.lo);                                                               \
        NEXT();                                                                                    \
    }
    BR_TABLE_(L_BR_TABLE, C.u32)
    BR_TABLE_(L_BR_TABLE_C, (uint32_t)reg)
#undef BR_TABLE_

    /* metered branches: charge the run entered, then go */
L_BR_G:
    CHARGE(O.w.hi);
    JUMP(1, O.w.lo);
    NEXT();

#define BR_IF_G_(label, cond)                                                                      \
    label:                                                                                         \
    B_BRIF_G(cond, TAIL(2));
    BR_IF_G_(L_BR_IF_G, C.u32)
    BR_IF_G_(L_BR_IF_G_C, (uint32_t)reg)
    BR_IF_G_(L_BR_IFZ_G, !C.u32)
    BR_IF_G_(L_BR_IFZ_G_C, !(uint32_t)reg)
#undef BR_IF_G_

#define BR_TABLE_G_(label, index)                                                                  \
    label : {                                                                                      \
        uint32_t n = O.w.lo;                                                                       \
        uint32_t i = (index);                                                                      \
        if (i > n)                                                                                 \
            i = n;                                                                                 \
        CHARGE(ip[2 + i].w.hi);                                                                    \
        JUMP(2 + i, ip[2 + i].w.lo);                                                               \
        NEXT();                                                                                    \
    }
    BR_TABLE_G_(L_BR_TABLE_G, C.u32)
    BR_TABLE_G_(L_BR_TABLE_G_C, (uint32_t)reg)
#undef BR_TABLE_G_

L_COPY:
    B_COPY(A);
    TAIL(1);

L_COPY_A:
    B_COPY(ACC);
    TAIL(1);

L_CONST:
    C.u64 = reg = ip[2].u64;
    ip += 3;
    NEXT();

L_CONST32:
    B_CONST32();
    TAIL(1);

L_SELECT:
    B_SEL(C.u32);
    TAIL(1);

L_SELECT_C:
    B_SEL((uint32_t)reg);
    TAIL(1);

L_GLOBAL_GET:
    C.u64 = reg = inst->globals[O.w.lo]->val.u64;
    ip += 2;
    NEXT();

L_GLOBAL_SET:
    inst->globals[O.w.lo]->val = C;
    ip += 2;
    NEXT();

L_GLOBAL_SET_C:
    inst->globals[O.w.lo]->val.u64 = reg;
    ip += 2;
    NEXT();

    /* ---- memory ---- */
#define LOAD(name, ctype, expr)                                                                    \
    L_##name : B_LOAD(ctype, expr, A.u32);                                                         \
    TAIL(1);                                                                                       \
    L_##name##_A : B_LOAD(ctype, expr, reg);                                                       \
    TAIL(1);
    LOAD(LOAD8S, int8_t, (uint64_t)(int64_t)v)
    LOAD(LOAD8U, uint8_t, v)
    LOAD(LOAD16S, int16_t, (uint64_t)(int64_t)v)
    LOAD(LOAD16U, uint16_t, v)
    LOAD(LOAD32S, int32_t, (uint64_t)(int64_t)v)
    LOAD(LOAD32U, uint32_t, v)
    LOAD(LOAD64, uint64_t, v)
#undef LOAD

#define STORE(name, ctype)                                                                         \
    L_##name : B_STORE(ctype, A.u32, B.u64);                                                       \
    TAIL(1);                                                                                       \
    L_##name##_A : B_STORE(ctype, reg, B.u64);                                                     \
    TAIL(1);                                                                                       \
    L_##name##_B : B_STORE(ctype, A.u32, reg);                                                     \
    TAIL(1);
    STORE(STORE8, uint8_t)
    STORE(STORE16, uint16_t)
    STORE(STORE32, uint32_t)
    STORE(STORE64, uint64_t)
#undef STORE

L_MEMORY_SIZE:
    C.u64 = msize >> 16;
    ip += 2;
    NEXT();

L_MEMORY_GROW : {
    vm_memory *m = inst->mem0;
    uint32_t delta = A.u32;
    if (delta && inst->m->cfg.metering && (uint64_t)m->pages + delta <= m->limit)
        CHARGE(gas_mul(delta, inst->m->cfg.gas->per_page));
    uint32_t r = vm_memory_grow(m, delta);
    LOAD_MEM();
    C.u64 = r;
    ip += 2;
    NEXT();
}

L_MEMORY_FILL : {
    uint64_t d = A.u32, n = C.u32;
    uint8_t v = (uint8_t)B.u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul((n + 63) / 64, inst->m->cfg.gas->per_64_bytes));
    if (d + n > msize)
        TRAP(WEFT_E_VM_TRAP_MEMORY);
    memset(mem + d, v, n);
    ip += 2;
    NEXT();
}

L_MEMORY_COPY : {
    uint64_t d = A.u32, src = B.u32, n = C.u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul((n + 63) / 64, inst->m->cfg.gas->per_64_bytes));
    if (d + n > msize || src + n > msize)
        TRAP(WEFT_E_VM_TRAP_MEMORY);
    memmove(mem + d, mem + src, n);
    ip += 2;
    NEXT();
}

L_MEMORY_INIT : {
    uint32_t seg = ip[2].w.lo;
    uint64_t d = A.u32, src = B.u32, n = C.u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul((n + 63) / 64, inst->m->cfg.gas->per_64_bytes));
    if (src + n > inst->data_len[seg] || d + n > msize)
        TRAP(WEFT_E_VM_TRAP_MEMORY);
    if (n)
        memcpy(mem + d, inst->m->datas[seg].bytes + src, n);
    ip += 3;
    NEXT();
}

L_DATA_DROP:
    inst->data_len[O.w.lo] = 0;
    ip += 2;
    NEXT();

    /* ---- tables and references ---- */
L_TABLE_GET : {
    const vm_table *t = inst->tables[O.w.lo];
    uint32_t i = C.u32;
    if (i >= t->size)
        TRAP(WEFT_E_VM_TRAP_TABLE);
    D = t->elems[i];
    ip += 2;
    NEXT();
}

L_TABLE_SET : {
    vm_table *t = inst->tables[O.w.lo];
    uint32_t i = C.u32;
    if (i >= t->size)
        TRAP(WEFT_E_VM_TRAP_TABLE);
    t->elems[i] = D;
    ip += 2;
    NEXT();
}

L_TABLE_SIZE:
    C.u64 = inst->tables[O.w.lo]->size;
    ip += 2;
    NEXT();

L_TABLE_GROW : {
    vm_table *t = inst->tables[O.w.lo];
    vm_slot init = C;
    uint32_t n = D.u32;
    if (n && inst->m->cfg.metering && (uint64_t)t->size + n <= t->limit)
        CHARGE(gas_mul(n, inst->m->cfg.gas->per_table_elem));
    fp[ip[2].s.a].u64 = vm_table_grow(t, n, init);
    ip += 3;
    NEXT();
}

L_TABLE_FILL : {
    vm_table *t = inst->tables[O.w.lo];
    uint64_t d = C.u32;
    vm_slot v = fp[ip[2].s.a];
    uint64_t n = fp[ip[2].s.b].u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul(n, inst->m->cfg.gas->per_table_elem));
    if (d + n > t->size)
        TRAP(WEFT_E_VM_TRAP_TABLE);
    for (uint64_t k = 0; k < n; k++)
        t->elems[d + k] = v;
    ip += 3;
    NEXT();
}

L_TABLE_COPY : {
    vm_table *td = inst->tables[O.w.lo];
    const vm_table *ts = inst->tables[O.w.hi];
    uint64_t d = fp[ip[2].s.a].u32, src = fp[ip[2].s.b].u32, n = fp[ip[2].s.c].u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul(n, inst->m->cfg.gas->per_table_elem));
    if (d + n > td->size || src + n > ts->size)
        TRAP(WEFT_E_VM_TRAP_TABLE);
    if (n)
        memmove(td->elems + d, ts->elems + src, sizeof(vm_slot) * n);
    ip += 3;
    NEXT();
}

L_TABLE_INIT : {
    vm_table *t = inst->tables[O.w.lo];
    const vm_elem_inst *e = &inst->elems[O.w.hi];
    uint64_t d = fp[ip[2].s.a].u32, src = fp[ip[2].s.b].u32, n = fp[ip[2].s.c].u32;
    if (inst->m->cfg.metering)
        CHARGE(gas_mul(n, inst->m->cfg.gas->per_table_elem));
    if (src + n > e->count || d + n > t->size)
        TRAP(WEFT_E_VM_TRAP_TABLE);
    if (n)
        memcpy(t->elems + d, e->items + src, sizeof(vm_slot) * n);
    ip += 3;
    NEXT();
}

L_ELEM_DROP:
    inst->elems[O.w.lo].count = 0;
    ip += 2;
    NEXT();

L_REF_FUNC:
    C.u64 = (uint64_t)(uintptr_t)inst->funcs[O.w.lo];
    ip += 2;
    NEXT();

L_REF_IS_NULL:
    B.u64 = A.u64 == 0;
    ip += 2;
    NEXT();

    /* ---- numeric ---- */
#define UNOP(name, expr)                                                                           \
    L_##name : B_UN(expr, A);                                                                      \
    TAIL(1);                                                                                       \
    L_##name##_A : B_UN(expr, ACC);                                                                \
    TAIL(1);
#define BINOP(name, expr)                                                                          \
    L_##name : B_BIN(expr, A, B);                                                                  \
    TAIL(1);                                                                                       \
    L_##name##_A : B_BIN(expr, ACC, B);                                                            \
    TAIL(1);                                                                                       \
    L_##name##_B : B_BIN(expr, A, ACC);                                                            \
    TAIL(1);
#define CBINOP(name, expr) /* commutative, or a comparison with a mirror: no _B */                 \
    L_##name : B_BIN(expr, A, B);                                                                  \
    TAIL(1);                                                                                       \
    L_##name##_A : B_BIN(expr, ACC, B);                                                            \
    TAIL(1);
#define FBINOP(name, expr) /* float: no register variants */                                       \
    L_##name : B_BIN(expr, A, B);                                                                  \
    TAIL(1);
#define FUNOP(name, expr)                                                                          \
    L_##name : B_UN(expr, A);                                                                      \
    TAIL(1);
#define IMMOPS(name, expr)                                                                         \
    L_##name##_I : B_BINI(expr, A);                                                                \
    TAIL(1);                                                                                       \
    L_##name##_I_A : B_BINI(expr, ACC);                                                            \
    TAIL(1);
#define ICBINOP(name, expr) CBINOP(name, expr) IMMOPS(name, expr)
#define IBINOP(name, expr)                                                                         \
    BINOP(name, expr)                                                                              \
    IMMOPS(name, expr)
/* the result r: i32 results zero-extended to 64 bits */
#define R32 r
#define R64 r
#define U32 r
#define U64 r
/* the operators that superinstructions (VM_PAIRS) use, by name */
#define E_I32_ADD R32 = a.u32 + b.u32
#define E_I32_SUB R32 = a.u32 - b.u32
#define E_I32_MUL R32 = (uint32_t)(a.u32 * b.u32)
#define E_I32_AND R32 = a.u32 & b.u32
#define E_I32_XOR R32 = a.u32 ^ b.u32
#define E_I32_SHL R32 = (uint32_t)(a.u32 << (b.u32 & 31))
#define E_I32_SHR_U R32 = a.u32 >> (b.u32 & 31)

    UNOP(I32_EQZ, U32 = a.u32 == 0)
    ICBINOP(I32_EQ, R32 = a.u32 == b.u32)
    ICBINOP(I32_NE, R32 = a.u32 != b.u32)
    ICBINOP(I32_LT_S, R32 = a.s32 < b.s32)
    ICBINOP(I32_LT_U, R32 = a.u32 < b.u32)
    ICBINOP(I32_GT_S, R32 = a.s32 > b.s32)
    ICBINOP(I32_GT_U, R32 = a.u32 > b.u32)
    ICBINOP(I32_LE_S, R32 = a.s32 <= b.s32)
    ICBINOP(I32_LE_U, R32 = a.u32 <= b.u32)
    ICBINOP(I32_GE_S, R32 = a.s32 >= b.s32)
    ICBINOP(I32_GE_U, R32 = a.u32 >= b.u32)
    UNOP(I64_EQZ, U32 = a.u64 == 0)
    ICBINOP(I64_EQ, R32 = a.u64 == b.u64)
    ICBINOP(I64_NE, R32 = a.u64 != b.u64)
    ICBINOP(I64_LT_S, R32 = a.s64 < b.s64)
    ICBINOP(I64_LT_U, R32 = a.u64 < b.u64)
    ICBINOP(I64_GT_S, R32 = a.s64 > b.s64)
    ICBINOP(I64_GT_U, R32 = a.u64 > b.u64)
    ICBINOP(I64_LE_S, R32 = a.s64 <= b.s64)
    ICBINOP(I64_LE_U, R32 = a.u64 <= b.u64)
    ICBINOP(I64_GE_S, R32 = a.s64 >= b.s64)
    ICBINOP(I64_GE_U, R32 = a.u64 >= b.u64)
    FBINOP(F32_EQ, R32 = a.f32 == b.f32)
    FBINOP(F32_NE, R32 = a.f32 != b.f32)
    FBINOP(F32_LT, R32 = a.f32 < b.f32)
    FBINOP(F32_GT, R32 = a.f32 > b.f32)
    FBINOP(F32_LE, R32 = a.f32 <= b.f32)
    FBINOP(F32_GE, R32 = a.f32 >= b.f32)
    FBINOP(F64_EQ, R32 = a.f64 == b.f64)
    FBINOP(F64_NE, R32 = a.f64 != b.f64)
    FBINOP(F64_LT, R32 = a.f64 < b.f64)
    FBINOP(F64_GT, R32 = a.f64 > b.f64)
    FBINOP(F64_LE, R32 = a.f64 <= b.f64)
    FBINOP(F64_GE, R32 = a.f64 >= b.f64)

    UNOP(I32_CLZ, U32 = a.u32 ? (uint32_t)__builtin_clz(a.u32) : 32)
    UNOP(I32_CTZ, U32 = a.u32 ? (uint32_t)__builtin_ctz(a.u32) : 32)
    UNOP(I32_POPCNT, U32 = (uint32_t)__builtin_popcount(a.u32))
    ICBINOP(I32_ADD, E_I32_ADD)
    IBINOP(I32_SUB, E_I32_SUB)
    ICBINOP(I32_MUL, E_I32_MUL)
    IBINOP(I32_DIV_S, {
        if (b.u32 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        if (a.s32 == INT32_MIN && b.s32 == -1)
            TRAP(WEFT_E_VM_TRAP_INT_OVERFLOW);
        R32 = (uint32_t)(a.s32 / b.s32);
    })
    IBINOP(I32_DIV_U, {
        if (b.u32 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R32 = a.u32 / b.u32;
    })
    IBINOP(I32_REM_S, {
        if (b.u32 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R32 = b.s32 == -1 ? 0 : (uint32_t)(a.s32 % b.s32);
    })
    IBINOP(I32_REM_U, {
        if (b.u32 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R32 = a.u32 % b.u32;
    })
    ICBINOP(I32_AND, E_I32_AND)
    ICBINOP(I32_OR, R32 = a.u32 | b.u32)
    ICBINOP(I32_XOR, E_I32_XOR)
    IBINOP(I32_SHL, E_I32_SHL)
    IBINOP(I32_SHR_S, R32 = (uint32_t)(a.s32 >> (b.u32 & 31)))
    IBINOP(I32_SHR_U, E_I32_SHR_U)
    IBINOP(I32_ROTL, R32 = rotl32(a.u32, b.u32))
    IBINOP(I32_ROTR, R32 = rotr32(a.u32, b.u32))

    UNOP(I64_CLZ, U64 = a.u64 ? (uint64_t)__builtin_clzll(a.u64) : 64)
    UNOP(I64_CTZ, U64 = a.u64 ? (uint64_t)__builtin_ctzll(a.u64) : 64)
    UNOP(I64_POPCNT, U64 = (uint64_t)__builtin_popcountll(a.u64))
    ICBINOP(I64_ADD, R64 = a.u64 + b.u64)
    IBINOP(I64_SUB, R64 = a.u64 - b.u64)
    ICBINOP(I64_MUL, R64 = a.u64 * b.u64)
    IBINOP(I64_DIV_S, {
        if (b.u64 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        if (a.s64 == INT64_MIN && b.s64 == -1)
            TRAP(WEFT_E_VM_TRAP_INT_OVERFLOW);
        R64 = (uint64_t)(a.s64 / b.s64);
    })
    IBINOP(I64_DIV_U, {
        if (b.u64 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R64 = a.u64 / b.u64;
    })
    IBINOP(I64_REM_S, {
        if (b.u64 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R64 = b.s64 == -1 ? 0 : (uint64_t)(a.s64 % b.s64);
    })
    IBINOP(I64_REM_U, {
        if (b.u64 == 0)
            TRAP(WEFT_E_VM_TRAP_DIV_ZERO);
        R64 = a.u64 % b.u64;
    })
    ICBINOP(I64_AND, R64 = a.u64 & b.u64)
    ICBINOP(I64_OR, R64 = a.u64 | b.u64)
    ICBINOP(I64_XOR, R64 = a.u64 ^ b.u64)
    IBINOP(I64_SHL, R64 = a.u64 << (b.u64 & 63))
    IBINOP(I64_SHR_S, R64 = (uint64_t)(a.s64 >> (b.u64 & 63)))
    IBINOP(I64_SHR_U, R64 = a.u64 >> (b.u64 & 63))
    IBINOP(I64_ROTL, R64 = rotl64(a.u64, b.u64))
    IBINOP(I64_ROTR, R64 = rotr64(a.u64, b.u64))

    FUNOP(F32_ABS, U32 = a.u32 & 0x7fffffffu)
    FUNOP(F32_NEG, U32 = a.u32 ^ 0x80000000u)
    FUNOP(F32_CEIL, U32 = c32(ceilf(a.f32)))
    FUNOP(F32_FLOOR, U32 = c32(floorf(a.f32)))
    FUNOP(F32_TRUNC, U32 = c32(truncf(a.f32)))
    FUNOP(F32_NEAREST, U32 = c32(nearbyintf(a.f32)))
    FUNOP(F32_SQRT, U32 = c32(sqrtf(a.f32)))
    FBINOP(F32_ADD, R32 = c32(a.f32 + b.f32))
    FBINOP(F32_SUB, R32 = c32(a.f32 - b.f32))
    FBINOP(F32_MUL, R32 = c32(a.f32 * b.f32))
    FBINOP(F32_DIV, R32 = c32(a.f32 / b.f32))
    FBINOP(F32_MIN, R32 = c32(fmin32(a.f32, b.f32)))
    FBINOP(F32_MAX, R32 = c32(fmax32(a.f32, b.f32)))
    FBINOP(F32_COPYSIGN, R32 = (a.u32 & 0x7fffffffu) | (b.u32 & 0x80000000u))
    FUNOP(F64_ABS, U64 = a.u64 & 0x7fffffffffffffffull)
    FUNOP(F64_NEG, U64 = a.u64 ^ 0x8000000000000000ull)
    FUNOP(F64_CEIL, U64 = c64(ceil(a.f64)))
    FUNOP(F64_FLOOR, U64 = c64(floor(a.f64)))
    FUNOP(F64_TRUNC, U64 = c64(trunc(a.f64)))
    FUNOP(F64_NEAREST, U64 = c64(nearbyint(a.f64)))
    FUNOP(F64_SQRT, U64 = c64(sqrt(a.f64)))
    FBINOP(F64_ADD, R64 = c64(a.f64 + b.f64))
    FBINOP(F64_SUB, R64 = c64(a.f64 - b.f64))
    FBINOP(F64_MUL, R64 = c64(a.f64 * b.f64))
    FBINOP(F64_DIV, R64 = c64(a.f64 / b.f64))
    FBINOP(F64_MIN, R64 = c64(fmin64(a.f64, b.f64)))
    FBINOP(F64_MAX, R64 = c64(fmax64(a.f64, b.f64)))
    FBINOP(F64_COPYSIGN, R64 = (a.u64 & 0x7fffffffffffffffull) | (b.u64 & 0x8000000000000000ull))

    /* trapping float-to-int: NaN is "invalid conversion", out of range "integer overflow" */
#define TRUNC(name, in, lo_ok, hi, ctype, rtype)                                                   \
    FUNOP(name, {                                                                                  \
        in v = a.in##_field;                                                                       \
        if (v != v)                                                                                \
            TRAP(WEFT_E_VM_TRAP_CONVERSION);                                                       \
        if (!((lo_ok) && v < (hi)))                                                                \
            TRAP(WEFT_E_VM_TRAP_INT_OVERFLOW);                                                     \
        r = (rtype)(ctype)v;                                                                       \
    })
#define float_field f32
#define double_field f64
    TRUNC(I32_TRUNC_F32_S, float, v >= -2147483648.0f, 2147483648.0f, int32_t, uint32_t)
    TRUNC(I32_TRUNC_F32_U, float, v > -1.0f, 4294967296.0f, uint32_t, uint32_t)
    TRUNC(I32_TRUNC_F64_S, double, v > -2147483649.0, 2147483648.0, int32_t, uint32_t)
    TRUNC(I32_TRUNC_F64_U, double, v > -1.0, 4294967296.0, uint32_t, uint32_t)
    TRUNC(I64_TRUNC_F32_S, float, v >= -9223372036854775808.0f, 9223372036854775808.0f, int64_t,
          uint64_t)
    TRUNC(I64_TRUNC_F32_U, float, v > -1.0f, 18446744073709551616.0f, uint64_t, uint64_t)
    TRUNC(I64_TRUNC_F64_S, double, v >= -9223372036854775808.0, 9223372036854775808.0, int64_t,
          uint64_t)
    TRUNC(I64_TRUNC_F64_U, double, v > -1.0, 18446744073709551616.0, uint64_t, uint64_t)
#undef TRUNC

    UNOP(I64_EXTEND_I32_S, U64 = (uint64_t)(int64_t)a.s32)
    UNOP(I64_EXTEND_I32_U, U64 = a.u32)
    FUNOP(F32_CONVERT_I32_S, U32 = f32_bits((float)a.s32))
    FUNOP(F32_CONVERT_I32_U, U32 = f32_bits((float)a.u32))
    FUNOP(F32_CONVERT_I64_S, U32 = f32_bits((float)a.s64))
    FUNOP(F32_CONVERT_I64_U, U32 = f32_bits((float)a.u64))
    FUNOP(F32_DEMOTE_F64, U32 = c32((float)a.f64))
    FUNOP(F64_CONVERT_I32_S, U64 = f64_bits((double)a.s32))
    FUNOP(F64_CONVERT_I32_U, U64 = f64_bits((double)a.u32))
    FUNOP(F64_CONVERT_I64_S, U64 = f64_bits((double)a.s64))
    FUNOP(F64_CONVERT_I64_U, U64 = f64_bits((double)a.u64))
    FUNOP(F64_PROMOTE_F32, U64 = c64((double)a.f32))
    UNOP(I32_EXTEND8_S, U32 = (uint32_t)(int32_t)(int8_t)a.u32)
    UNOP(I32_EXTEND16_S, U32 = (uint32_t)(int32_t)(int16_t)a.u32)
    UNOP(I64_EXTEND8_S, U64 = (uint64_t)(int64_t)(int8_t)a.u64)
    UNOP(I64_EXTEND16_S, U64 = (uint64_t)(int64_t)(int16_t)a.u64)
    UNOP(I64_EXTEND32_S, U64 = (uint64_t)(int64_t)(int32_t)a.u64)
    FUNOP(I32_TRUNC_SAT_F32_S, U32 = sat_i32(a.f32))
    FUNOP(I32_TRUNC_SAT_F32_U, U32 = sat_u32(a.f32))
    FUNOP(I32_TRUNC_SAT_F64_S, U32 = sat_i32(a.f64))
    FUNOP(I32_TRUNC_SAT_F64_U, U32 = sat_u32(a.f64))
    FUNOP(I64_TRUNC_SAT_F32_S, U64 = sat_i64(a.f32))
    FUNOP(I64_TRUNC_SAT_F32_U, U64 = sat_u64(a.f32))
    FUNOP(I64_TRUNC_SAT_F64_S, U64 = sat_i64(a.f64))
    FUNOP(I64_TRUNC_SAT_F64_U, U64 = sat_u64(a.f64))

    /* ---- fused compare-and-branch ---- */
#define BRCMP(name, field, op)                                                                     \
    L_##name : B_BRCMP(A.field, op, B.field, TAIL(1));                                             \
    L_##name##_A : B_BRCMP(ACC.field, op, B.field, TAIL(1));
    BRCMP(BR_I32_EQ, u32, ==)
    BRCMP(BR_I32_NE, u32, !=)
    BRCMP(BR_I32_LT_S, s32, <)
    BRCMP(BR_I32_LT_U, u32, <)
    BRCMP(BR_I32_GT_S, s32, >)
    BRCMP(BR_I32_GT_U, u32, >)
    BRCMP(BR_I32_LE_S, s32, <=)
    BRCMP(BR_I32_LE_U, u32, <=)
    BRCMP(BR_I32_GE_S, s32, >=)
    BRCMP(BR_I32_GE_U, u32, >=)
    BRCMP(BR_I64_EQ, u64, ==)
    BRCMP(BR_I64_NE, u64, !=)
    BRCMP(BR_I64_LT_S, s64, <)
    BRCMP(BR_I64_LT_U, u64, <)
    BRCMP(BR_I64_GT_S, s64, >)
    BRCMP(BR_I64_GT_U, u64, >)
    BRCMP(BR_I64_LE_S, s64, <=)
    BRCMP(BR_I64_LE_U, u64, <=)
    BRCMP(BR_I64_GE_S, s64, >=)
    BRCMP(BR_I64_GE_U, u64, >=)
#undef BRCMP
#define BRCMPG(name, field, op)                                                                    \
    L_##name : B_BRCMP_G(A.field, op, B.field, TAIL(2));                                           \
    L_##name##_A : B_BRCMP_G(ACC.field, op, B.field, TAIL(2));
    BRCMPG(BRG_I32_EQ, u32, ==)
    BRCMPG(BRG_I32_NE, u32, !=)
    BRCMPG(BRG_I32_LT_S, s32, <)
    BRCMPG(BRG_I32_LT_U, u32, <)
    BRCMPG(BRG_I32_GT_S, s32, >)
    BRCMPG(BRG_I32_GT_U, u32, >)
    BRCMPG(BRG_I32_LE_S, s32, <=)
    BRCMPG(BRG_I32_LE_U, u32, <=)
    BRCMPG(BRG_I32_GE_S, s32, >=)
    BRCMPG(BRG_I32_GE_U, u32, >=)
    BRCMPG(BRG_I64_EQ, u64, ==)
    BRCMPG(BRG_I64_NE, u64, !=)
    BRCMPG(BRG_I64_LT_S, s64, <)
    BRCMPG(BRG_I64_LT_U, u64, <)
    BRCMPG(BRG_I64_GT_S, s64, >)
    BRCMPG(BRG_I64_GT_U, u64, >)
    BRCMPG(BRG_I64_LE_S, s64, <=)
    BRCMPG(BRG_I64_LE_U, u64, <=)
    BRCMPG(BRG_I64_GE_S, s64, >=)
    BRCMPG(BRG_I64_GE_U, u64, >=)
#undef BRCMPG

    /* compare with an immediate and branch: the immediate in the word after the operands (after
     * the gas word when metered) */
#define BRCMPI(name, field, op)                                                                    \
    L_BR_##name##_I : B_BRCMP(A.field, op, IMM(ip[2].w.lo).field, TAIL(2));                        \
    L_BR_##name##_I_A : B_BRCMP(ACC.field, op, IMM(ip[2].w.lo).field, TAIL(2));                    \
    L_BRG_##name##_I : B_BRCMP_G(A.field, op, IMM(ip[3].w.lo).field, TAIL(3));                     \
    L_BRG_##name##_I_A : B_BRCMP_G(ACC.field, op, IMM(ip[3].w.lo).field, TAIL(3));
    BRCMPI(I32_EQ, u32, ==)
    BRCMPI(I32_NE, u32, !=)
    BRCMPI(I32_LT_S, s32, <)
    BRCMPI(I32_LT_U, u32, <)
    BRCMPI(I32_GT_S, s32, >)
    BRCMPI(I32_GT_U, u32, >)
    BRCMPI(I32_LE_S, s32, <=)
    BRCMPI(I32_LE_U, u32, <=)
    BRCMPI(I32_GE_S, s32, >=)
    BRCMPI(I32_GE_U, u32, >=)
    BRCMPI(I64_EQ, u64, ==)
    BRCMPI(I64_NE, u64, !=)
    BRCMPI(I64_LT_S, s64, <)
    BRCMPI(I64_LT_U, u64, <)
    BRCMPI(I64_GT_S, s64, >)
    BRCMPI(I64_GT_U, u64, >)
    BRCMPI(I64_LE_S, s64, <=)
    BRCMPI(I64_LE_U, u64, <=)
    BRCMPI(I64_GE_S, s64, >=)
    BRCMPI(I64_GE_U, u64, >=)
#undef BRCMPI

    /* ---- superinstructions (VM_PAIRS): the first body, then the second with ip moved to its
     * operands (a branch first leaves when it jumps, else falls into the second) ---- */
#define BODY_COPY(fall) B_COPY(A)
#define BODY_COPY_A(fall) B_COPY(ACC)
#define BODY_CONST32(fall) B_CONST32()
#define BODY_SELECT_C(fall) B_SEL((uint32_t)reg)
#define BODY_LOAD8U(fall) B_LOAD(uint8_t, v, A.u32)
#define BODY_LOAD8U_A(fall) B_LOAD(uint8_t, v, reg)
#define BODY_LOAD16U_A(fall) B_LOAD(uint16_t, v, reg)
#define BODY_LOAD32U(fall) B_LOAD(uint32_t, v, A.u32)
#define BODY_LOAD32U_A(fall) B_LOAD(uint32_t, v, reg)
#define BODY_LOAD64_A(fall) B_LOAD(uint64_t, v, reg)
#define BODY_STORE32(fall) B_STORE(uint32_t, A.u32, B.u64)
#define BODY_STORE32_B(fall) B_STORE(uint32_t, A.u32, reg)
#define BODY_STORE64_B(fall) B_STORE(uint64_t, A.u32, reg)
#define BODY_I32_ADD_I(fall) B_BINI(E_I32_ADD, A)
#define BODY_I32_ADD_I_A(fall) B_BINI(E_I32_ADD, ACC)
#define BODY_I32_ADD_A(fall) B_BIN(E_I32_ADD, ACC, B)
#define BODY_I32_SUB_I(fall) B_BINI(E_I32_SUB, A)
#define BODY_I32_MUL_A(fall) B_BIN(E_I32_MUL, ACC, B)
#define BODY_I32_AND_I(fall) B_BINI(E_I32_AND, A)
#define BODY_I32_AND_I_A(fall) B_BINI(E_I32_AND, ACC)
#define BODY_I32_XOR_A(fall) B_BIN(E_I32_XOR, ACC, B)
#define BODY_I32_XOR_I_A(fall) B_BINI(E_I32_XOR, ACC)
#define BODY_I32_SHL_I_A(fall) B_BINI(E_I32_SHL, ACC)
#define BODY_I32_SHR_U_I(fall) B_BINI(E_I32_SHR_U, A)
#define BODY_I32_SHR_U_I_A(fall) B_BINI(E_I32_SHR_U, ACC)
#define BODY_BR_IF(fall) B_BRIF(C.u32, fall)
#define BODY_BR_IF_C(fall) B_BRIF((uint32_t)reg, fall)
#define BODY_BR_IFZ_C(fall) B_BRIF(!(uint32_t)reg, fall)
#define BODY_BR_IF_G(fall) B_BRIF_G(C.u32, fall)
#define BODY_BR_IF_G_C(fall) B_BRIF_G((uint32_t)reg, fall)
#define BODY_BR_IFZ_G_C(fall) B_BRIF_G(!(uint32_t)reg, fall)
#define BODY_BR_I32_NE_I(fall) B_BRCMP(A.u32, !=, IMM(ip[2].w.lo).u32, fall)
#define BODY_BRG_I32_NE_I(fall) B_BRCMP_G(A.u32, !=, IMM(ip[3].w.lo).u32, fall)
#define BODY_BR_I32_LT_U_I_A(fall) B_BRCMP(ACC.u32, <, IMM(ip[2].w.lo).u32, fall)
#define BODY_BRG_I32_LT_U_I_A(fall) B_BRCMP_G(ACC.u32, <, IMM(ip[3].w.lo).u32, fall)
#define BODY_RETURN(fall) goto L_RETURN
#define FUSE(x, y)                                                                                 \
    L_F_##x##__##y : BODY_##x((void)0);                                                            \
    ip += VMW_##x;                                                                                 \
    BODY_##y(TAIL(VMW_##y));                                                                       \
    TAIL(VMW_##y);
    VM_PAIRS(FUSE)
#undef FUSE

done:
    s->depth = entry_depth;
    s->gas = gas;
    return WEFT_OK;

trap:
    s->depth = entry_depth;
    s->gas = gas;
    return err;

#undef NEXT
#undef TRAP
#undef LOAD_MEM
#undef CHARGE
#undef O
#undef A
#undef B
#undef C
#undef D
#undef ACC
#undef IMM
#undef JUMP
}

const void *const *vm_interp_handlers(void)
{
    const void *const *t = NULL;
    (void)run(NULL, NULL, NULL, &t);
    return t;
}

weft_err vm_exec(vm_store *s, vm_func *f, vm_slot *args)
{
    WEFT_ASSERT(f->code != NULL);
    return run(s, f, args, NULL);
}
