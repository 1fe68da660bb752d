/* vm internals shared by the files of src/vm: the binary reader (LEB128 with the spec's rules),
 * the decoded module, the internal code (instruction set, operand layout), and the runtime
 * objects (store, instance, function, memory, table, global, frames).
 *
 * Internal code.  Each defined function is translated into an array of 8-byte words (vm_op): a
 * handler address (computed goto) followed by the instruction's operand words.  Operands name
 * 8-byte value slots of the function's frame by 16-bit index: the frame is
 *     [ params | padding | declared locals | constants | temporaries (one per stack height) ]
 * starting at fp.  Arguments are passed in place (the caller's topmost temporaries become the
 * callee's parameters) and results come back the same way, in slots 0..nresults-1 (the padding
 * makes room when there are more results than parameters).  A callee's frame overlaps only the
 * caller's temporaries above the arguments, which are dead during the call.  Branch offsets are
 * relative to the word that holds them.  Constants are operands in the constant area or, for the
 * integer operators that have one, immediates in the instruction (_I forms).  The interpreter also
 * passes the value an instruction produced to the next one in a register (register variants, see
 * the operand forms below).  docs/vm.md describes the layout of every instruction.
 */
#ifndef WEFT_VM_INTERNAL_H
#define WEFT_VM_INTERNAL_H

#include <string.h>

#include "vm/vm.h"

/* ---- value slots and internal code ---------------------------------------------------------- */

/* One value slot.  i32 values use the low 32 bits (the high bits are unspecified), i64 all 64;
 * floats are stored as bits and read through the float members for arithmetic; references are
 * pointers (funcref: vm_func *) or host values, 0 = null. */
typedef union vm_slot {
    uint32_t u32;
    int32_t s32;
    uint64_t u64;
    int64_t s64;
    float f32;
    double f64;
} vm_slot;
WEFT_STATIC_ASSERT(sizeof(vm_slot) == 8, "value slots are 8 bytes");
WEFT_STATIC_ASSERT(sizeof(vm_val) == 8, "vm_val matches a slot");

/* One word of internal code. */
typedef union vm_op {
    const void *h; /* handler address */
    uint64_t u64;
    struct {
        uint16_t a, b, c, d; /* slot operands; a/b overlay lo, c/d overlay hi */
    } s;
    struct {
        uint32_t lo, hi;
    } w;
} vm_op;
WEFT_STATIC_ASSERT(sizeof(vm_op) == 8, "code words are 8 bytes");

/* Maximum slots of one frame (slot operands are 16-bit). */
#define VM_MAX_FRAME_SLOTS 65535u
/* Distinct constants kept in a function's constant area; further ones are CONST instructions. */
#define VM_MAX_CONSTS 256u

/* The internal instruction set; X(name, operand words, operand form).  Comment: layout of the
 * operand words.  "un" = s.a src, s.b dst; "bin" = s.a, s.b srcs, s.c dst. */
#define VM_OPS(X)                                                                                  \
    X(UNREACHABLE, 0, NONE)                                                                        \
    X(BR, 1, JMP)       /* w.lo offset */                                                          \
    X(BR_IF, 1, BRC)    /* w.lo offset, s.c cond: jump if cond != 0 */                             \
    X(BR_IFZ, 1, BRC)   /* w.lo offset, s.c cond: jump if cond == 0 */                             \
    X(BR_TABLE, 1, BRT) /* w.lo count n, s.c index; then n+1 words w.lo offset (last = default) */ \
    X(RETURN, 0, NONE)                                                                             \
    /* metered branches charge the gas of the run they enter (docs/vm.md): */                      \
    X(BR_G, 1, JMP)           /* w.lo offset, w.hi gas */                                          \
    X(BR_IF_G, 2, BRC)        /* as BR_IF; then w.lo gas if taken, w.hi gas if not */              \
    X(BR_IFZ_G, 2, BRC)       /* as BR_IFZ; then w.lo gas if taken, w.hi gas if not */             \
    X(BR_TABLE_G, 1, BRT)     /* as BR_TABLE; each entry's w.hi holds its gas */                   \
    X(CALL, 1, NONE)          /* w.lo function index, w.hi frame offset of the arguments */        \
    X(CALL_INDIRECT, 2, NONE) /* w.lo type index, s.c args offset, s.d elem index; w.lo table */   \
    X(COPY, 1, UN)            /* un */                                                             \
    X(CONST, 2, CONST)        /* s.c dst; then the u64 value */                                    \
    X(CONST32, 1, IMM)        /* s.b dst, w.hi value (sign-extended to 64 bits) */                 \
    X(SELECT, 1, SEL)         /* s.a v1, s.b v2, s.c cond, s.d dst */                              \
    X(GLOBAL_GET, 1, GGET)    /* w.lo global, s.c dst */                                           \
    X(GLOBAL_SET, 1, GSET)    /* w.lo global, s.c src */                                           \
    X(LOAD8S, 1, LOAD)        /* s.a addr, s.b dst, w.hi offset */                                 \
    X(LOAD8U, 1, LOAD)                                                                             \
    X(LOAD16S, 1, LOAD)                                                                            \
    X(LOAD16U, 1, LOAD)                                                                            \
    X(LOAD32S, 1, LOAD)                                                                            \
    X(LOAD32U, 1, LOAD)                                                                            \
    X(LOAD64, 1, LOAD)                                                                             \
    X(STORE8, 1, STORE) /* s.a addr, s.b value, w.hi offset */                                     \
    X(STORE16, 1, STORE)                                                                           \
    X(STORE32, 1, STORE)                                                                           \
    X(STORE64, 1, STORE)                                                                           \
    X(MEMORY_SIZE, 1, NONE) /* s.c dst */                                                          \
    X(MEMORY_GROW, 1, NONE) /* s.a delta, s.c dst */                                               \
    X(MEMORY_FILL, 1, NONE) /* s.a dst, s.b value, s.c n */                                        \
    X(MEMORY_COPY, 1, NONE) /* s.a dst, s.b src, s.c n */                                          \
    X(MEMORY_INIT, 2, NONE) /* s.a dst, s.b src, s.c n; w.lo data segment */                       \
    X(DATA_DROP, 1, NONE)   /* w.lo data segment */                                                \
    X(TABLE_GET, 1, NONE)   /* w.lo table, s.c index, s.d dst */                                   \
    X(TABLE_SET, 1, NONE)   /* w.lo table, s.c index, s.d value */                                 \
    X(TABLE_SIZE, 1, NONE)  /* w.lo table, s.c dst */                                              \
    X(TABLE_GROW, 2, NONE)  /* w.lo table, s.c init, s.d n; s.a dst */                             \
    X(TABLE_FILL, 2, NONE)  /* w.lo table, s.c dst; s.a value, s.b n */                            \
    X(TABLE_COPY, 2, NONE)  /* w.lo dst table, w.hi src table; s.a dst, s.b src, s.c n */          \
    X(TABLE_INIT, 2, NONE)  /* w.lo table, w.hi segment; s.a dst, s.b src, s.c n */                \
    X(ELEM_DROP, 1, NONE)   /* w.lo segment */                                                     \
    X(REF_FUNC, 1, NONE)    /* w.lo function, s.c dst */                                           \
    X(REF_IS_NULL, 1, NONE) /* un */                                                               \
    X(I32_EQZ, 1, UN)                                                                              \
    X(I32_EQ, 1, CBIN)                                                                             \
    X(I32_NE, 1, CBIN)                                                                             \
    X(I32_LT_S, 1, CBIN)                                                                           \
    X(I32_LT_U, 1, CBIN)                                                                           \
    X(I32_GT_S, 1, CBIN)                                                                           \
    X(I32_GT_U, 1, CBIN)                                                                           \
    X(I32_LE_S, 1, CBIN)                                                                           \
    X(I32_LE_U, 1, CBIN)                                                                           \
    X(I32_GE_S, 1, CBIN)                                                                           \
    X(I32_GE_U, 1, CBIN)                                                                           \
    X(I64_EQZ, 1, UN)                                                                              \
    X(I64_EQ, 1, CBIN)                                                                             \
    X(I64_NE, 1, CBIN)                                                                             \
    X(I64_LT_S, 1, CBIN)                                                                           \
    X(I64_LT_U, 1, CBIN)                                                                           \
    X(I64_GT_S, 1, CBIN)                                                                           \
    X(I64_GT_U, 1, CBIN)                                                                           \
    X(I64_LE_S, 1, CBIN)                                                                           \
    X(I64_LE_U, 1, CBIN)                                                                           \
    X(I64_GE_S, 1, CBIN)                                                                           \
    X(I64_GE_U, 1, CBIN)                                                                           \
    X(F32_EQ, 1, FBIN)                                                                             \
    X(F32_NE, 1, FBIN)                                                                             \
    X(F32_LT, 1, FBIN)                                                                             \
    X(F32_GT, 1, FBIN)                                                                             \
    X(F32_LE, 1, FBIN)                                                                             \
    X(F32_GE, 1, FBIN)                                                                             \
    X(F64_EQ, 1, FBIN)                                                                             \
    X(F64_NE, 1, FBIN)                                                                             \
    X(F64_LT, 1, FBIN)                                                                             \
    X(F64_GT, 1, FBIN)                                                                             \
    X(F64_LE, 1, FBIN)                                                                             \
    X(F64_GE, 1, FBIN)                                                                             \
    X(I32_CLZ, 1, UN)                                                                              \
    X(I32_CTZ, 1, UN)                                                                              \
    X(I32_POPCNT, 1, UN)                                                                           \
    X(I32_ADD, 1, CBIN)                                                                            \
    X(I32_SUB, 1, BIN)                                                                             \
    X(I32_MUL, 1, CBIN)                                                                            \
    X(I32_DIV_S, 1, BIN)                                                                           \
    X(I32_DIV_U, 1, BIN)                                                                           \
    X(I32_REM_S, 1, BIN)                                                                           \
    X(I32_REM_U, 1, BIN)                                                                           \
    X(I32_AND, 1, CBIN)                                                                            \
    X(I32_OR, 1, CBIN)                                                                             \
    X(I32_XOR, 1, CBIN)                                                                            \
    X(I32_SHL, 1, BIN)                                                                             \
    X(I32_SHR_S, 1, BIN)                                                                           \
    X(I32_SHR_U, 1, BIN)                                                                           \
    X(I32_ROTL, 1, BIN)                                                                            \
    X(I32_ROTR, 1, BIN)                                                                            \
    X(I64_CLZ, 1, UN)                                                                              \
    X(I64_CTZ, 1, UN)                                                                              \
    X(I64_POPCNT, 1, UN)                                                                           \
    X(I64_ADD, 1, CBIN)                                                                            \
    X(I64_SUB, 1, BIN)                                                                             \
    X(I64_MUL, 1, CBIN)                                                                            \
    X(I64_DIV_S, 1, BIN)                                                                           \
    X(I64_DIV_U, 1, BIN)                                                                           \
    X(I64_REM_S, 1, BIN)                                                                           \
    X(I64_REM_U, 1, BIN)                                                                           \
    X(I64_AND, 1, CBIN)                                                                            \
    X(I64_OR, 1, CBIN)                                                                             \
    X(I64_XOR, 1, CBIN)                                                                            \
    X(I64_SHL, 1, BIN)                                                                             \
    X(I64_SHR_S, 1, BIN)                                                                           \
    X(I64_SHR_U, 1, BIN)                                                                           \
    X(I64_ROTL, 1, BIN)                                                                            \
    X(I64_ROTR, 1, BIN)                                                                            \
    X(F32_ABS, 1, FUN)                                                                             \
    X(F32_NEG, 1, FUN)                                                                             \
    X(F32_CEIL, 1, FUN)                                                                            \
    X(F32_FLOOR, 1, FUN)                                                                           \
    X(F32_TRUNC, 1, FUN)                                                                           \
    X(F32_NEAREST, 1, FUN)                                                                         \
    X(F32_SQRT, 1, FUN)                                                                            \
    X(F32_ADD, 1, FBIN)                                                                            \
    X(F32_SUB, 1, FBIN)                                                                            \
    X(F32_MUL, 1, FBIN)                                                                            \
    X(F32_DIV, 1, FBIN)                                                                            \
    X(F32_MIN, 1, FBIN)                                                                            \
    X(F32_MAX, 1, FBIN)                                                                            \
    X(F32_COPYSIGN, 1, FBIN)                                                                       \
    X(F64_ABS, 1, FUN)                                                                             \
    X(F64_NEG, 1, FUN)                                                                             \
    X(F64_CEIL, 1, FUN)                                                                            \
    X(F64_FLOOR, 1, FUN)                                                                           \
    X(F64_TRUNC, 1, FUN)                                                                           \
    X(F64_NEAREST, 1, FUN)                                                                         \
    X(F64_SQRT, 1, FUN)                                                                            \
    X(F64_ADD, 1, FBIN)                                                                            \
    X(F64_SUB, 1, FBIN)                                                                            \
    X(F64_MUL, 1, FBIN)                                                                            \
    X(F64_DIV, 1, FBIN)                                                                            \
    X(F64_MIN, 1, FBIN)                                                                            \
    X(F64_MAX, 1, FBIN)                                                                            \
    X(F64_COPYSIGN, 1, FBIN)                                                                       \
    X(I32_TRUNC_F32_S, 1, FUN)                                                                     \
    X(I32_TRUNC_F32_U, 1, FUN)                                                                     \
    X(I32_TRUNC_F64_S, 1, FUN)                                                                     \
    X(I32_TRUNC_F64_U, 1, FUN)                                                                     \
    X(I64_EXTEND_I32_S, 1, UN)                                                                     \
    X(I64_EXTEND_I32_U, 1, UN)                                                                     \
    X(I64_TRUNC_F32_S, 1, FUN)                                                                     \
    X(I64_TRUNC_F32_U, 1, FUN)                                                                     \
    X(I64_TRUNC_F64_S, 1, FUN)                                                                     \
    X(I64_TRUNC_F64_U, 1, FUN)                                                                     \
    X(F32_CONVERT_I32_S, 1, FUN)                                                                   \
    X(F32_CONVERT_I32_U, 1, FUN)                                                                   \
    X(F32_CONVERT_I64_S, 1, FUN)                                                                   \
    X(F32_CONVERT_I64_U, 1, FUN)                                                                   \
    X(F32_DEMOTE_F64, 1, FUN)                                                                      \
    X(F64_CONVERT_I32_S, 1, FUN)                                                                   \
    X(F64_CONVERT_I32_U, 1, FUN)                                                                   \
    X(F64_CONVERT_I64_S, 1, FUN)                                                                   \
    X(F64_CONVERT_I64_U, 1, FUN)                                                                   \
    X(F64_PROMOTE_F32, 1, FUN)                                                                     \
    X(I32_EXTEND8_S, 1, UN)                                                                        \
    X(I32_EXTEND16_S, 1, UN)                                                                       \
    X(I64_EXTEND8_S, 1, UN)                                                                        \
    X(I64_EXTEND16_S, 1, UN)                                                                       \
    X(I64_EXTEND32_S, 1, UN)                                                                       \
    X(I32_TRUNC_SAT_F32_S, 1, FUN)                                                                 \
    X(I32_TRUNC_SAT_F32_U, 1, FUN)                                                                 \
    X(I32_TRUNC_SAT_F64_S, 1, FUN)                                                                 \
    X(I32_TRUNC_SAT_F64_U, 1, FUN)                                                                 \
    X(I64_TRUNC_SAT_F32_S, 1, FUN)                                                                 \
    X(I64_TRUNC_SAT_F32_U, 1, FUN)                                                                 \
    X(I64_TRUNC_SAT_F64_S, 1, FUN)                                                                 \
    X(I64_TRUNC_SAT_F64_U, 1, FUN)                                                                 \
    /* fused compare-and-branch: s.a, s.b operands, w.hi offset; jump if the comparison holds */   \
    X(BR_I32_EQ, 1, BRCMP)                                                                         \
    X(BR_I32_NE, 1, BRCMP)                                                                         \
    X(BR_I32_LT_S, 1, BRCMP)                                                                       \
    X(BR_I32_LT_U, 1, BRCMP)                                                                       \
    X(BR_I32_GT_S, 1, BRCMP)                                                                       \
    X(BR_I32_GT_U, 1, BRCMP)                                                                       \
    X(BR_I32_LE_S, 1, BRCMP)                                                                       \
    X(BR_I32_LE_U, 1, BRCMP)                                                                       \
    X(BR_I32_GE_S, 1, BRCMP)                                                                       \
    X(BR_I32_GE_U, 1, BRCMP)                                                                       \
    X(BR_I64_EQ, 1, BRCMP)                                                                         \
    X(BR_I64_NE, 1, BRCMP)                                                                         \
    X(BR_I64_LT_S, 1, BRCMP)                                                                       \
    X(BR_I64_LT_U, 1, BRCMP)                                                                       \
    X(BR_I64_GT_S, 1, BRCMP)                                                                       \
    X(BR_I64_GT_U, 1, BRCMP)                                                                       \
    X(BR_I64_LE_S, 1, BRCMP)                                                                       \
    X(BR_I64_LE_U, 1, BRCMP)                                                                       \
    X(BR_I64_GE_S, 1, BRCMP)                                                                       \
    X(BR_I64_GE_U, 1, BRCMP)                                                                       \
    /* metered fused compare-and-branch: as above; then w.lo gas if taken, w.hi gas if not */      \
    X(BRG_I32_EQ, 2, BRCMP)                                                                        \
    X(BRG_I32_NE, 2, BRCMP)                                                                        \
    X(BRG_I32_LT_S, 2, BRCMP)                                                                      \
    X(BRG_I32_LT_U, 2, BRCMP)                                                                      \
    X(BRG_I32_GT_S, 2, BRCMP)                                                                      \
    X(BRG_I32_GT_U, 2, BRCMP)                                                                      \
    X(BRG_I32_LE_S, 2, BRCMP)                                                                      \
    X(BRG_I32_LE_U, 2, BRCMP)                                                                      \
    X(BRG_I32_GE_S, 2, BRCMP)                                                                      \
    X(BRG_I32_GE_U, 2, BRCMP)                                                                      \
    X(BRG_I64_EQ, 2, BRCMP)                                                                        \
    X(BRG_I64_NE, 2, BRCMP)                                                                        \
    X(BRG_I64_LT_S, 2, BRCMP)                                                                      \
    X(BRG_I64_LT_U, 2, BRCMP)                                                                      \
    X(BRG_I64_GT_S, 2, BRCMP)                                                                      \
    X(BRG_I64_GT_U, 2, BRCMP)                                                                      \
    X(BRG_I64_LE_S, 2, BRCMP)                                                                      \
    X(BRG_I64_LE_U, 2, BRCMP)                                                                      \
    X(BRG_I64_GE_S, 2, BRCMP)                                                                      \
    X(BRG_I64_GE_U, 2, BRCMP)                                                                      \
    /* an operand that is a constant (i64: one that fits 32 bits signed) as an immediate: */       \
    VM_IMM_BINS(VM_BINI_, X) /* <op>_I: s.a src, s.b dst, w.hi immediate (sign-extended) */        \
    VM_IMM_CMPS(VM_BRI_, X)  /* BR_<cmp>_I: s.a src, w.hi offset; then w.lo immediate */           \
    VM_IMM_CMPS(VM_BRGI_,                                                                          \
                X) /* BRG_<cmp>_I: as BR_<cmp>_I, with the gas word before the immediate */

/* The operators that have an immediate form (the comparisons in the order of BR_I32_EQ..). */
// clang-format off
#define VM_IMM_CMPS(Y, X)                                                                          \
    Y(X, I32_EQ)                                                                                   \
    Y(X, I32_NE)                                                                                   \
    Y(X, I32_LT_S)                                                                                 \
    Y(X, I32_LT_U)                                                                                 \
    Y(X, I32_GT_S)                                                                                 \
    Y(X, I32_GT_U)                                                                                 \
    Y(X, I32_LE_S)                                                                                 \
    Y(X, I32_LE_U)                                                                                 \
    Y(X, I32_GE_S)                                                                                 \
    Y(X, I32_GE_U)                                                                                 \
    Y(X, I64_EQ)                                                                                   \
    Y(X, I64_NE)                                                                                   \
    Y(X, I64_LT_S)                                                                                 \
    Y(X, I64_LT_U)                                                                                 \
    Y(X, I64_GT_S)                                                                                 \
    Y(X, I64_GT_U)                                                                                 \
    Y(X, I64_LE_S)                                                                                 \
    Y(X, I64_LE_U)                                                                                 \
    Y(X, I64_GE_S)                                                                                 \
    Y(X, I64_GE_U)
#define VM_IMM_BINS(Y, X)                                                                          \
    VM_IMM_CMPS(Y, X)                                                                              \
    Y(X, I32_ADD)                                                                                  \
    Y(X, I32_SUB)                                                                                  \
    Y(X, I32_MUL)                                                                                  \
    Y(X, I32_DIV_S)                                                                                \
    Y(X, I32_DIV_U)                                                                                \
    Y(X, I32_REM_S)                                                                                \
    Y(X, I32_REM_U)                                                                                \
    Y(X, I32_AND)                                                                                  \
    Y(X, I32_OR)                                                                                   \
    Y(X, I32_XOR)                                                                                  \
    Y(X, I32_SHL)                                                                                  \
    Y(X, I32_SHR_S)                                                                                \
    Y(X, I32_SHR_U)                                                                                \
    Y(X, I32_ROTL)                                                                                 \
    Y(X, I32_ROTR)                                                                                 \
    Y(X, I64_ADD)                                                                                  \
    Y(X, I64_SUB)                                                                                  \
    Y(X, I64_MUL)                                                                                  \
    Y(X, I64_DIV_S)                                                                                \
    Y(X, I64_DIV_U)                                                                                \
    Y(X, I64_REM_S)                                                                                \
    Y(X, I64_REM_U)                                                                                \
    Y(X, I64_AND)                                                                                  \
    Y(X, I64_OR)                                                                                   \
    Y(X, I64_XOR)                                                                                  \
    Y(X, I64_SHL)                                                                                  \
    Y(X, I64_SHR_S)                                                                                \
    Y(X, I64_SHR_U)                                                                                \
    Y(X, I64_ROTL)                                                                                 \
    Y(X, I64_ROTR)
// clang-format on
#define VM_BINI_(X, n) X(n##_I, 1, BINI)
#define VM_BRI_(X, n) X(BR_##n##_I, 2, BRCMPI)
#define VM_BRGI_(X, n) X(BRG_##n##_I, 3, BRCMPI)

/* Operand forms (third column of VM_OPS), for the register pass of compile.c:
 *   UN, BIN, CBIN, BINI, LOAD, CONST, IMM, SEL, GGET, and the float forms FUN, FBIN  produce a
 *                                    value: the handler writes it to its destination slot and to
 *                                    the interpreter's register `reg` (CBIN: a binary integer
 *                                    operator that is commutative or has a mirror comparison);
 *   STORE, GSET, BRC, BRCMP, BRCMPI  leave every slot and `reg` as they are (a conditional branch
 *                                    when it falls through);
 *   BRT, JMP, NONE                   anything else (reg is unknown after them).
 * Register variants: an instruction that reads the value the previous instruction produced may
 * read it from `reg` instead of its slot (the slot is written too, so nothing else changes).
 * VM_VAR_<form>(name, V) lists the variants of a base instruction as V(variant, base, field):
 * `_A` reads operand field s.a from the register, `_B` field s.b, `_C` field s.c.  CBIN and BRCMP
 * have no `_B`: the pass swaps their operands (mirroring a comparison) instead; float operators
 * have no variants. */
#define VM_VAR_UN(n, V) V(n##_A, n, 0)
#define VM_VAR_BIN(n, V) V(n##_A, n, 0) V(n##_B, n, 1)
#define VM_VAR_CBIN(n, V) V(n##_A, n, 0)
#define VM_VAR_FUN(n, V)
#define VM_VAR_FBIN(n, V)
#define VM_VAR_BINI(n, V) V(n##_A, n, 0)
#define VM_VAR_LOAD(n, V) V(n##_A, n, 0)
#define VM_VAR_STORE(n, V) V(n##_A, n, 0) V(n##_B, n, 1)
#define VM_VAR_SEL(n, V) V(n##_C, n, 2)
#define VM_VAR_GSET(n, V) V(n##_C, n, 2)
#define VM_VAR_BRC(n, V) V(n##_C, n, 2)
#define VM_VAR_BRT(n, V) V(n##_C, n, 2)
#define VM_VAR_BRCMP(n, V) V(n##_A, n, 0)
#define VM_VAR_BRCMPI(n, V) V(n##_A, n, 0)
#define VM_VAR_IMM(n, V)
#define VM_VAR_CONST(n, V)
#define VM_VAR_GGET(n, V)
#define VM_VAR_JMP(n, V)
#define VM_VAR_NONE(n, V)

/* Instruction pairs run as one (superinstructions): an instruction followed by one that is not a
 * branch target becomes F_<first>__<second>, whose operand words are those of the two in order.
 * Chosen from the dynamic pair counts of CoreMark and bench/vm; metered and unmetered branches. */
#define VM_PAIRS(Y)                                                                                \
    Y(I32_ADD_I, I32_ADD_I)                                                                        \
    Y(I32_SHR_U_I_A, I32_AND_I_A)                                                                  \
    Y(STORE32, COPY)                                                                               \
    Y(COPY, LOAD32U)                                                                               \
    Y(LOAD32U, STORE32)                                                                            \
    Y(LOAD32U, LOAD8U_A)                                                                           \
    Y(CONST32, COPY)                                                                               \
    Y(SELECT_C, I32_SHR_U_I_A)                                                                     \
    Y(I32_MUL_A, I32_ADD_A)                                                                        \
    Y(I32_AND_I_A, I32_XOR_I_A)                                                                    \
    Y(I32_ADD_I, LOAD8U)                                                                           \
    Y(I32_SUB_I, I32_AND_I_A)                                                                      \
    Y(I32_AND_I_A, SELECT_C)                                                                       \
    Y(I32_ADD_A, I32_ADD_I)                                                                        \
    Y(I32_XOR_I_A, I32_SHR_U_I)                                                                    \
    Y(I32_ADD_I_A, STORE32_B)                                                                      \
    Y(LOAD32U, LOAD16U_A)                                                                          \
    Y(I32_XOR_A, I32_AND_I_A)                                                                      \
    Y(I32_SHR_U_I, I32_XOR_A)                                                                      \
    Y(CONST32, I32_SUB_I)                                                                          \
    Y(STORE32_B, I32_ADD_I)                                                                        \
    Y(LOAD8U_A, I32_AND_I)                                                                         \
    Y(LOAD16U_A, I32_AND_I)                                                                        \
    Y(COPY_A, RETURN)                                                                              \
    Y(LOAD64_A, STORE64_B)                                                                         \
    Y(I32_SHL_I_A, LOAD32U_A)                                                                      \
    Y(COPY, BR_IF_G)                                                                               \
    Y(COPY, BR_IF)                                                                                 \
    Y(LOAD32U, BR_IF_G_C)                                                                          \
    Y(LOAD32U, BR_IF_C)                                                                            \
    Y(LOAD8U, BR_IFZ_G_C)                                                                          \
    Y(LOAD8U, BR_IFZ_C)                                                                            \
    Y(LOAD32U_A, BR_IFZ_G_C)                                                                       \
    Y(LOAD32U_A, BR_IFZ_C)                                                                         \
    Y(COPY, BRG_I32_NE_I)                                                                          \
    Y(COPY, BR_I32_NE_I)                                                                           \
    Y(BR_IFZ_G_C, COPY)                                                                            \
    Y(BR_IFZ_C, COPY)                                                                              \
    Y(I32_SUB_I, BR_IF_G_C)                                                                        \
    Y(I32_SUB_I, BR_IF_C)                                                                          \
    Y(I32_ADD_I, BRG_I32_LT_U_I_A)                                                                 \
    Y(I32_ADD_I, BR_I32_LT_U_I_A)

enum vm_opcode {
#define X(name, words, form) VMOP_##name,
    VM_OPS(X)
#undef X
#define V(var, base, field) VMOP_##var,
#define X(name, words, form) VM_VAR_##form(name, V)
        VM_OPS(X)
#undef X
#undef V
#define F(x, y) VMOP_F_##x##__##y,
            VM_PAIRS(F)
#undef F
                VMOP_COUNT_
};

/* Operand words of every instruction (a variant has those of its base; a pair, the sum). */
enum vm_op_words {
#define X(name, words, form) VMW_##name = words,
    VM_OPS(X)
#undef X
#define V(var, base, field) VMW_##var = VMW_##base,
#define X(name, words, form) VM_VAR_##form(name, V)
        VM_OPS(X)
#undef X
#undef V
#define F(x, y) VMW_F_##x##__##y = VMW_##x + VMW_##y,
            VM_PAIRS(F)
#undef F
};

/* The interpreter's handler addresses, indexed by enum vm_opcode (static storage). */
const void *const *vm_interp_handlers(void);

/* ---- binary reader -------------------------------------------------------------------------- */

/* A bounded reader over the module bytes with a sticky error.  `why` names the first failure in
 * the spec's words ("unexpected end", "integer too large", ...); `err` is its class. */
typedef struct vm_rd {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *base; /* start of the whole binary, for offsets in diagnostics */
    weft_err err;
    const char *why;
    size_t err_off;
} vm_rd;

static inline void vm_rd_fail(vm_rd *r, weft_err err, const char *why)
{
    if (r->err == WEFT_OK) {
        r->err = err;
        r->why = why;
        r->err_off = (size_t)(r->p - r->base);
    }
    r->p = r->end; /* later reads see an empty input */
}

static inline bool vm_rd_ok(const vm_rd *r) { return r->err == WEFT_OK; }

static inline uint8_t vm_rd_u8(vm_rd *r)
{
    if (r->p >= r->end) {
        vm_rd_fail(r, WEFT_E_VM_MALFORMED, "unexpected end");
        return 0;
    }
    return *r->p++;
}

/* Unsigned LEB128 of at most `bits` (32) bits: at most ceil(bits/7) bytes ("integer representation
 * too long"), unused bits of the last byte zero ("integer too large"). */
static inline uint32_t vm_rd_u32(vm_rd *r)
{
    uint32_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (r->p >= r->end) {
            vm_rd_fail(r, WEFT_E_VM_MALFORMED, "unexpected end");
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift == 28) {
            if (b & 0x80) {
                vm_rd_fail(r, WEFT_E_VM_MALFORMED, "integer representation too long");
                return 0;
            }
            if (b & 0x70) {
                vm_rd_fail(r, WEFT_E_VM_MALFORMED, "integer too large");
                return 0;
            }
        }
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

/* Signed LEB128 of `bits` (32, 33 or 64) bits, sign-extended into an int64: at most ceil(bits/7)
 * bytes; the unused bits of the last byte must equal the sign bit. */
static inline int64_t vm_rd_sleb(vm_rd *r, unsigned bits)
{
    uint64_t v = 0;
    unsigned shift = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end) {
            vm_rd_fail(r, WEFT_E_VM_MALFORMED, "unexpected end");
            return 0;
        }
        uint8_t b = *r->p++;
        if (i == maxbytes - 1) {
            if (b & 0x80) {
                vm_rd_fail(r, WEFT_E_VM_MALFORMED, "integer representation too long");
                return 0;
            }
            /* bits of this byte beyond `bits`, including the sign bit, must all be equal */
            unsigned used = bits - shift;      /* value bits in this byte, 1..7 */
            int8_t sb = (int8_t)(b << 1) >> 1; /* sign-extend the 7-bit group */
            int8_t top = (int8_t)(sb >> (used - 1));
            if (top != 0 && top != -1) {
                vm_rd_fail(r, WEFT_E_VM_MALFORMED, "integer too large");
                return 0;
            }
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
}

/* A byte vector's length followed by its bytes: returns a pointer to them (borrowed from the
 * input) or NULL on failure ("length out of bounds" / "unexpected end"). */
static inline const uint8_t *vm_rd_bytes(vm_rd *r, uint32_t *len)
{
    uint32_t n = vm_rd_u32(r);
    *len = 0;
    if (!vm_rd_ok(r))
        return NULL;
    if (n > (size_t)(r->end - r->p)) {
        vm_rd_fail(r, WEFT_E_VM_MALFORMED, "unexpected end");
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = n;
    return p;
}

/* ---- the decoded module --------------------------------------------------------------------- */

/* Memory and table limits. */
typedef struct vm_lim {
    uint32_t min;
    uint32_t max;
    bool has_max;
} vm_lim;

/* A constant expression (one instruction before `end`; Wasm 2.0 without extended-const). */
typedef struct vm_constexpr {
    uint8_t op;     /* 0x41..0x44 t.const, 0x23 global.get, 0xd0 ref.null, 0xd2 ref.func */
    uint8_t type;   /* result type */
    uint32_t index; /* global or function index */
    uint64_t bits;  /* constant value */
} vm_constexpr;

typedef struct vm_type {
    vm_functype ft;
    uint64_t hash; /* of the signature, for fast call_indirect checks */
} vm_type;

typedef struct vm_name {
    const char *s; /* copied into the module arena, NUL-terminated (may contain NULs) */
    uint32_t len;
} vm_name;

typedef struct vm_import {
    vm_name module;
    vm_name name;
    uint8_t kind;   /* vm_extern_kind */
    uint32_t index; /* index in the kind's space */
} vm_import;

typedef struct vm_tabledef {
    uint8_t elem_type;
    vm_lim lim;
} vm_tabledef;

typedef struct vm_globaldef {
    uint8_t type;
    bool mut;
    vm_constexpr init; /* unused for imports */
} vm_globaldef;

typedef struct vm_export {
    vm_name name;
    uint8_t kind;
    uint32_t index;
} vm_export;

enum { VM_SEG_ACTIVE, VM_SEG_PASSIVE, VM_SEG_DECLARATIVE };

typedef struct vm_elemseg {
    uint8_t mode;
    uint8_t type; /* VM_FUNCREF or VM_EXTERNREF */
    uint32_t table;
    vm_constexpr offset;
    uint32_t count;
    vm_constexpr *items;
} vm_elemseg;

typedef struct vm_dataseg {
    uint8_t mode;
    uint32_t memory;
    vm_constexpr offset;
    uint32_t len;
    const uint8_t *bytes; /* module arena */
} vm_dataseg;

/* A defined function: its body (until translated) and its internal code. */
typedef struct vm_code {
    /* from the binary */
    const uint8_t *body; /* operators, borrowed from the input during vm_module_new only */
    uint32_t body_len;
    size_t body_off;      /* offset of the operators in the binary */
    uint32_t nlocals;     /* declared locals (parameters excluded) */
    uint8_t *local_types; /* all locals, parameters first (module arena) */
    /* translated */
    vm_op *ops;
    uint32_t nops;
    uint32_t nparams;
    uint32_t nzero;       /* slots after the parameters zeroed at entry (padding + locals) */
    uint32_t stack_slots; /* counted against limits.value_stack: params + padding + locals +
                           * the validator's maximum operand height (wasm-level quantities) */
    uint32_t frame_slots; /* physical: stack_slots + constants */
    uint32_t const_base;  /* first constant slot */
    uint32_t nconsts;
    vm_slot *consts;
    uint64_t entry_gas; /* gas of the run that starts at the function's entry (0 if unmetered) */
} vm_code;

/* Simple bump allocator for the module's long-lived pieces; freed as a whole. */
typedef struct vm_arena_chunk vm_arena_chunk;
typedef struct vm_arena {
    vm_arena_chunk *head;
    size_t used, cap;
} vm_arena;
void *vm_arena_alloc(vm_arena *a, size_t n); /* zeroed, 8-aligned; NULL on E_NOMEM */
void vm_arena_free(vm_arena *a);

struct vm_module {
    vm_config cfg;
    vm_arena arena;
    size_t size; /* bytes of the binary */

    uint32_t ntypes;
    vm_type *types;

    uint32_t nimports;
    vm_import *imports;

    uint32_t nfuncs, nfunc_imports;
    uint32_t *func_type; /* type index of every function */
    vm_code *codes;      /* defined functions */
    uint32_t ncodes;     /* bodies seen in the code section */
    bool have_funcsec;

    uint32_t ntables, ntable_imports;
    vm_tabledef *tables;

    uint32_t nmems, nmem_imports;
    vm_lim *mems;

    uint32_t nglobals, nglobal_imports;
    vm_globaldef *globals;

    uint32_t nexports;
    vm_export *exports;

    bool has_start;
    uint32_t start;

    uint32_t nelems;
    vm_elemseg *elems;

    bool has_datacount;
    uint32_t datacount;
    uint32_t ndatas;
    vm_dataseg *datas;

    uint8_t *declared;   /* bitmap over functions: may be the target of ref.func */
    uint64_t code_words; /* translated words, all functions (bounded) */
};

/* decode.c: decodes and validates everything but function bodies (sections, types, imports,
 * constant expressions, segments, exports, start); fills m.  Errors as vm_module_new. */
weft_err vm_decode(vm_module *m, const uint8_t *bytes, size_t len, vm_diag *diag);
/* compile.c: checks the binary grammar of defined function `i`'s body (E_VM_MALFORMED). */
weft_err vm_syntax_check(const vm_module *m, uint32_t i, const uint8_t *base, vm_diag *diag);
/* compile.c: validates and translates defined function `i` (index among defined functions). */
weft_err vm_compile(vm_module *m, uint32_t i, const uint8_t *base, vm_diag *diag);
/* Reads a value type byte; E_VM_FEATURE for a reference type when reference types are off. */
bool vm_valtype_known(uint8_t b);

static inline bool vm_is_ref(uint8_t t) { return t == VM_FUNCREF || t == VM_EXTERNREF; }
static inline bool vm_is_num(uint8_t t)
{
    return t == VM_I32 || t == VM_I64 || t == VM_F32 || t == VM_F64;
}
uint64_t vm_functype_hash(const vm_functype *ft);
bool vm_functype_eq(const vm_functype *a, const vm_functype *b);
/* Formats a diagnostic (no-op if diag is NULL). */
void vm_diag_set(vm_diag *diag, size_t offset, const char *fmt, ...) WEFT_PRINTF(3, 4);

/* ---- runtime objects ------------------------------------------------------------------------ */

struct vm_func {
    const vm_functype *type;
    uint64_t type_hash;
    vm_instance *inst;   /* NULL for host functions */
    const vm_code *code; /* defined functions */
    vm_host_fn host;     /* host functions */
    void *user;
    vm_func *next_host; /* store list of host functions */
    uint8_t *sig;       /* host: owned signature storage */
    vm_functype host_type;
};

struct vm_memory {
    uint8_t *data;
    uint64_t size; /* bytes = pages * 65536 */
    uint32_t pages;
    uint32_t cap_pages; /* allocated */
    uint32_t limit;     /* memory.grow fails beyond: min(declared max, store cap) */
    vm_lim type;        /* declared limits (min = initial) */
    vm_memory *next;
};

struct vm_table {
    vm_slot *elems;
    uint32_t size;
    uint32_t cap;
    uint32_t limit;
    vm_lim type;
    uint8_t elem_type;
    vm_table *next;
};

struct vm_global {
    vm_slot val;
    uint8_t type;
    bool mut;
    vm_global *next;
};

typedef struct vm_elem_inst {
    vm_slot *items; /* evaluated references; NULL/0 count once dropped */
    uint32_t count;
} vm_elem_inst;

struct vm_instance {
    const vm_module *m;
    vm_store *store;
    vm_func **funcs; /* all functions, imports first */
    vm_func *own;    /* defined functions */
    vm_table **tables;
    vm_memory *mem0; /* memory 0 or NULL */
    vm_global **globals;
    vm_elem_inst *elems;
    uint32_t *data_len; /* current length of each data segment (0 once dropped) */
    vm_instance *next;
};

/* A call frame of the interpreter. */
typedef struct vm_frame {
    const vm_op *ip; /* return address; NULL marks the entry of a vm_exec */
    vm_slot *fp;
    uint64_t acc; /* counted stack position of fp (see vm_store) */
    vm_instance *inst;
    const vm_code *code;
} vm_frame;

struct vm_call_ctx {
    vm_store *store;
    vm_instance *caller;
};

struct vm_store {
    vm_config cfg;
    /* The value stack.  Its use is counted in wasm-level slots (vm_code.stack_slots: constants
     * excluded, so the limit does not depend on how constants are translated) against
     * limits.value_stack; the physical array has room for the constant areas on top. */
    vm_slot *stack;
    vm_slot *stack_end; /* physical end */
    vm_slot *sp;        /* first free slot above the running frames (for host re-entry) */
    uint64_t acc_sp;    /* counted position of sp */
    uint64_t acc_limit; /* limits.value_stack */
    vm_frame *frames;
    uint32_t depth;
    uint64_t gas;
    uint32_t host_nesting;
    vm_instance *instances;
    vm_memory *memories;
    vm_table *tables;
    vm_global *globals;
    vm_func *host_funcs;
    uint8_t no_memory[8]; /* the interpreter's memory base for instances without memory */
};

/* interp.c: runs defined function f with its arguments at args (inside the store's stack);
 * results are written at args.  Returns WEFT_OK or a trap. */
weft_err vm_exec(vm_store *s, vm_func *f, vm_slot *args);
/* runtime.c: calls host function f (args in place); used by the interpreter. */
weft_err vm_call_host(vm_store *s, vm_instance *caller, vm_func *f, vm_slot *args, vm_slot *scratch,
                      uint64_t acc_scratch);
/* runtime.c: memory.grow / table.grow; return the old size or -1 (0xffffffff). */
uint32_t vm_memory_grow(vm_memory *mem, uint32_t delta);
uint32_t vm_table_grow(vm_table *t, uint32_t delta, vm_slot init);

/* Canonical NaNs (positive sign, quiet bit only). */
#define VM_F32_CANON 0x7fc00000u
#define VM_F64_CANON 0x7ff8000000000000ull

#endif
