/* Unit tests of src/vm: LEB128 rules, exact gas by the documented segment rules (straight line,
 * loops, both arms of an if, calls, host charges, bulk-memory surcharges, a trap inside a segment,
 * out of gas at the limit and one below), host functions (memory access, calls back into the
 * module's __new allocator while memory moves, traps, bounded re-entry), limits (call depth,
 * memory pages, module size, locals), isolation of instances, NaN canonicalization, feature flags,
 * typed-call checks, and seeded mutations of valid modules (never a crash).  The test modules are
 * written in .wat (shown above each array) and assembled with wat2wasm. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

/* gas.wat:
 * (module
 *   (import "env" "charge" (func $charge (param i64)))
 *   (memory 1)
 *   (func (export "straight") (result i32)
 *     i32.const 1
 *     i32.const 2
 *     i32.add)
 *   (func (export "count") (param $n i32) (result i32) (local $i i32)
 *     block
 *       loop
 *         local.get $i
 *         local.get $n
 *         i32.ge_u
 *         br_if 1
 *         local.get $i
 *         i32.const 1
 *         i32.add
 *         local.set $i
 *         br 0
 *       end
 *     end
 *     local.get $i)
 *   (func (export "cond") (param i32) (result i32)
 *     local.get 0
 *     if (result i32)
 *       i32.const 10
 *       i32.const 1
 *       i32.add
 *     else
 *       i32.const 20
 *     end
 *     i32.const 1
 *     i32.add)
 *   (func $seven (result i32)
 *     i32.const 7)
 *   (func (export "call") (result i32)
 *     call $seven
 *     i32.const 1
 *     i32.add)
 *   (func (export "host")
 *     i64.const 1000
 *     call $charge)
 *   (func (export "fill") (param i32)
 *     i32.const 0
 *     i32.const 0
 *     local.get 0
 *     memory.fill)
 *   (func (export "divzero")
 *     i32.const 1
 *     i32.const 0
 *     i32.div_u
 *     drop))
 */
static const uint8_t gas_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x15, 0x05, 0x60, 0x01, 0x7e, 0x00, 0x60,
    0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x02,
    0x0e, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, 0x00, 0x00, 0x03,
    0x09, 0x08, 0x01, 0x02, 0x02, 0x01, 0x01, 0x03, 0x04, 0x03, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07,
    0x3a, 0x07, 0x08, 0x73, 0x74, 0x72, 0x61, 0x69, 0x67, 0x68, 0x74, 0x00, 0x01, 0x05, 0x63, 0x6f,
    0x75, 0x6e, 0x74, 0x00, 0x02, 0x04, 0x63, 0x6f, 0x6e, 0x64, 0x00, 0x03, 0x04, 0x63, 0x61, 0x6c,
    0x6c, 0x00, 0x05, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x06, 0x04, 0x66, 0x69, 0x6c, 0x6c, 0x00,
    0x07, 0x07, 0x64, 0x69, 0x76, 0x7a, 0x65, 0x72, 0x6f, 0x00, 0x08, 0x0a, 0x63, 0x08, 0x07, 0x00,
    0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b, 0x1c, 0x01, 0x01, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01,
    0x20, 0x00, 0x4f, 0x0d, 0x01, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b,
    0x20, 0x01, 0x0b, 0x12, 0x00, 0x20, 0x00, 0x04, 0x7f, 0x41, 0x0a, 0x41, 0x01, 0x6a, 0x05, 0x41,
    0x14, 0x0b, 0x41, 0x01, 0x6a, 0x0b, 0x04, 0x00, 0x41, 0x07, 0x0b, 0x07, 0x00, 0x10, 0x04, 0x41,
    0x01, 0x6a, 0x0b, 0x07, 0x00, 0x42, 0xe8, 0x07, 0x10, 0x00, 0x0b, 0x0b, 0x00, 0x41, 0x00, 0x41,
    0x00, 0x20, 0x00, 0xfc, 0x0b, 0x00, 0x0b, 0x08, 0x00, 0x41, 0x01, 0x41, 0x00, 0x6e, 0x1a, 0x0b,
};

/* host.wat:
 * (module
 *   (import "env" "put_hello" (func $put_hello (result i32)))
 *   (import "env" "fail" (func $fail))
 *   (import "env" "reenter" (func $reenter (param i32) (result i32)))
 *   (memory 1)
 *   (global $top (mut i32) (i32.const 1024))
 *   ;; a bump allocator that grows the memory by one page per call, so that the host must re-read
 *   ;; the memory base after calling it
 *   (func (export "__new") (param $size i32) (param $id i32) (result i32) (local $p i32)
 *     global.get $top
 *     local.set $p
 *     global.get $top
 *     local.get $size
 *     i32.add
 *     global.set $top
 *     i32.const 1
 *     memory.grow
 *     drop
 *     local.get $p)
 *   (func (export "run") (result i32)
 *     call $put_hello
 *     i32.load8_u offset=1)
 *   (func (export "callfail") (result i32)
 *     call $fail
 *     i32.const 1)
 *   (func (export "down") (param i32) (result i32)
 *     local.get 0
 *     call $reenter))
 */
static const uint8_t host_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x13, 0x04, 0x60, 0x00, 0x01, 0x7f,
    0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x02,
    0x2a, 0x03, 0x03, 0x65, 0x6e, 0x76, 0x09, 0x70, 0x75, 0x74, 0x5f, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x04, 0x66, 0x61, 0x69, 0x6c, 0x00, 0x01, 0x03,
    0x65, 0x6e, 0x76, 0x07, 0x72, 0x65, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x00, 0x02, 0x03, 0x05,
    0x04, 0x03, 0x00, 0x00, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06, 0x07, 0x01, 0x7f, 0x01,
    0x41, 0x80, 0x08, 0x0b, 0x07, 0x21, 0x04, 0x05, 0x5f, 0x5f, 0x6e, 0x65, 0x77, 0x00, 0x03,
    0x03, 0x72, 0x75, 0x6e, 0x00, 0x04, 0x08, 0x63, 0x61, 0x6c, 0x6c, 0x66, 0x61, 0x69, 0x6c,
    0x00, 0x05, 0x04, 0x64, 0x6f, 0x77, 0x6e, 0x00, 0x06, 0x0a, 0x2e, 0x04, 0x16, 0x01, 0x01,
    0x7f, 0x23, 0x00, 0x21, 0x02, 0x23, 0x00, 0x20, 0x00, 0x6a, 0x24, 0x00, 0x41, 0x01, 0x40,
    0x00, 0x1a, 0x20, 0x02, 0x0b, 0x07, 0x00, 0x10, 0x00, 0x2d, 0x00, 0x01, 0x0b, 0x06, 0x00,
    0x10, 0x01, 0x41, 0x01, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10, 0x02, 0x0b,
};

/* misc.wat:
 * (module
 *   (memory 1)
 *   (global $g (mut i32) (i32.const 0))
 *   (func $rec (export "rec") (param i32) (result i32)
 *     local.get 0
 *     i32.const 1
 *     i32.add
 *     call $rec)
 *   (func (export "grow") (param i32) (result i32)
 *     local.get 0
 *     memory.grow)
 *   (func (export "bump") (result i32)
 *     global.get $g
 *     i32.const 1
 *     i32.add
 *     global.set $g
 *     i32.const 0
 *     i32.const 0
 *     i32.load
 *     i32.const 1
 *     i32.add
 *     i32.store
 *     global.get $g
 *     i32.const 0
 *     i32.load
 *     i32.add)
 *   (func (export "f32add") (param f32 f32) (result f32)
 *     local.get 0
 *     local.get 1
 *     f32.add)
 *   (func (export "f32neg") (param f32) (result f32)
 *     local.get 0
 *     f32.neg)
 *   (func (export "f64div") (param f64 f64) (result f64)
 *     local.get 0
 *     local.get 1
 *     f64.div)
 *   (func (export "demote") (param f64) (result f32)
 *     local.get 0
 *     f32.demote_f64)
 *   (func (export "swap") (param i32 i64) (result i64)
 *     local.get 1
 *     local.get 0
 *     i64.extend_i32_u
 *     i64.add))
 */
static const uint8_t misc_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x26, 0x07, 0x60, 0x01, 0x7f, 0x01, 0x7f,
    0x60, 0x00, 0x01, 0x7f, 0x60, 0x02, 0x7d, 0x7d, 0x01, 0x7d, 0x60, 0x01, 0x7d, 0x01, 0x7d, 0x60,
    0x02, 0x7c, 0x7c, 0x01, 0x7c, 0x60, 0x01, 0x7c, 0x01, 0x7d, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7e,
    0x03, 0x09, 0x08, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x05, 0x03, 0x01, 0x00, 0x01,
    0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x07, 0x40, 0x08, 0x03, 0x72, 0x65, 0x63, 0x00,
    0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x01, 0x04, 0x62, 0x75, 0x6d, 0x70, 0x00, 0x02, 0x06,
    0x66, 0x33, 0x32, 0x61, 0x64, 0x64, 0x00, 0x03, 0x06, 0x66, 0x33, 0x32, 0x6e, 0x65, 0x67, 0x00,
    0x04, 0x06, 0x66, 0x36, 0x34, 0x64, 0x69, 0x76, 0x00, 0x05, 0x06, 0x64, 0x65, 0x6d, 0x6f, 0x74,
    0x65, 0x00, 0x06, 0x04, 0x73, 0x77, 0x61, 0x70, 0x00, 0x07, 0x0a, 0x56, 0x08, 0x09, 0x00, 0x20,
    0x00, 0x41, 0x01, 0x6a, 0x10, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, 0x1e, 0x00,
    0x23, 0x00, 0x41, 0x01, 0x6a, 0x24, 0x00, 0x41, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x41, 0x01,
    0x6a, 0x36, 0x02, 0x00, 0x23, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x6a, 0x0b, 0x07, 0x00, 0x20,
    0x00, 0x20, 0x01, 0x92, 0x0b, 0x05, 0x00, 0x20, 0x00, 0x8c, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x20,
    0x01, 0xa3, 0x0b, 0x05, 0x00, 0x20, 0x00, 0xb6, 0x0b, 0x08, 0x00, 0x20, 0x01, 0x20, 0x00, 0xad,
    0x7c, 0x0b,
};

/* multi.wat:
 * (module
 *   (func (export "two") (result i32 i32)
 *     i32.const 1
 *     i32.const 2))
 */
static const uint8_t multi_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x00,
    0x02, 0x7f, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x74, 0x77,
    0x6f, 0x00, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x01, 0x41, 0x02, 0x0b,
};

/* bigmem.wat:
 * (module (memory 65))
 */
static const uint8_t bigmem_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x41,
};

/* gas2.wat:
 * (module
 *   (func (export "ifnoelse") (param i32) (result i32)
 *     local.get 0
 *     if
 *       i32.const 5
 *       local.set 0
 *     end
 *     local.get 0)
 *   (func (export "table") (param i32) (result i32)
 *     block
 *       block
 *         block
 *           local.get 0
 *           br_table 0 1 2
 *         end
 *         i32.const 10
 *         return
 *       end
 *       i32.const 20
 *       i32.const 1
 *       i32.add
 *       return
 *     end
 *     i32.const 30
 *     nop
 *     nop
 *     nop)
 *   (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $c
 * i32) loop $outer i32.const 0 local.set $j loop $inner local.get $c i32.const 1 i32.add local.set
 * $c local.get $j i32.const 1 i32.add local.tee $j i32.const 3 i32.lt_u br_if $inner end local.get
 * $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $outer end local.get $c) (func
 * (export "early") (param i32) (result i32) block local.get 0 br_if 0 i32.const 7 nop return end
 *     i32.const 9))
 */
static const uint8_t gas2_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,
    0x03, 0x05, 0x04, 0x00, 0x00, 0x00, 0x00, 0x07, 0x25, 0x04, 0x08, 0x69, 0x66, 0x6e, 0x6f, 0x65,
    0x6c, 0x73, 0x65, 0x00, 0x00, 0x05, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x00, 0x01, 0x06, 0x6e, 0x65,
    0x73, 0x74, 0x65, 0x64, 0x00, 0x02, 0x05, 0x65, 0x61, 0x72, 0x6c, 0x79, 0x00, 0x03, 0x0a, 0x70,
    0x04, 0x0d, 0x00, 0x20, 0x00, 0x04, 0x40, 0x41, 0x05, 0x21, 0x00, 0x0b, 0x20, 0x00, 0x0b, 0x20,
    0x00, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x02, 0x0b, 0x41,
    0x0a, 0x0f, 0x0b, 0x41, 0x14, 0x41, 0x01, 0x6a, 0x0f, 0x0b, 0x41, 0x1e, 0x01, 0x01, 0x01, 0x0b,
    0x2f, 0x01, 0x03, 0x7f, 0x03, 0x40, 0x41, 0x00, 0x21, 0x02, 0x03, 0x40, 0x20, 0x03, 0x41, 0x01,
    0x6a, 0x21, 0x03, 0x20, 0x02, 0x41, 0x01, 0x6a, 0x22, 0x02, 0x41, 0x03, 0x49, 0x0d, 0x00, 0x0b,
    0x20, 0x01, 0x41, 0x01, 0x6a, 0x22, 0x01, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b, 0x20, 0x03, 0x0b,
    0x0f, 0x00, 0x02, 0x40, 0x20, 0x00, 0x0d, 0x00, 0x41, 0x07, 0x01, 0x0f, 0x0b, 0x41, 0x09, 0x0b,
};

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct fixture {
    vm_config cfg;
    vm_module *m;
    vm_store *s;
    vm_linker *l;
    vm_instance *inst;
} fixture;

static weft_err host_charge(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)user;
    (void)results;
    return vm_ctx_charge(ctx, args[0].i64);
}

/* Loads `bytes` with `cfg`, instantiates it with env.charge (and `extra` host functions). */
static weft_err setup(fixture *f, const vm_config *cfg, const uint8_t *bytes, size_t len,
                      const vm_host_def *extra, size_t nextra)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    vm_diag diag;
    weft_err err = vm_module_new(&f->m, &f->cfg, bytes, len, &diag);
    if (err != WEFT_OK)
        return err;
    assert_int_equal(vm_store_new(&f->s, &f->cfg), WEFT_OK);
    assert_int_equal(vm_linker_new(&f->l), WEFT_OK);
    static const vm_host_def charge = {"env", "charge", "I", "", host_charge, NULL};
    assert_int_equal(vm_linker_define_host(f->l, f->s, &charge, 1), WEFT_OK);
    assert_int_equal(vm_linker_define_host(f->l, f->s, extra, nextra), WEFT_OK);
    vm_store_set_gas(f->s, UINT64_MAX);
    return vm_instance_new(&f->inst, f->s, f->m, f->l, &diag);
}

static void teardown_fx(fixture *f)
{
    vm_linker_free(f->l);
    vm_store_free(f->s);
    vm_module_free(f->m);
}

/* Calls export `name` with gas `gas`; returns the error, the gas used and the first result. */
static weft_err call(fixture *f, const char *name, const vm_value *args, size_t nargs, uint64_t gas,
                     uint64_t *used, vm_value *res)
{
    vm_func *fn = vm_instance_func(f->inst, name);
    assert_non_null(fn);
    vm_value tmp[4];
    size_t nres = vm_func_type(fn)->nresults;
    assert_true(nres <= 4);
    vm_store_set_gas(f->s, gas);
    weft_err err = vm_invoke(f->s, fn, args, nargs, tmp, nres);
    if (used)
        *used = gas - vm_store_gas(f->s);
    if (res && nres)
        *res = tmp[0];
    return err;
}

static vm_value I32(uint32_t v) { return (vm_value){.type = VM_I32, .v.i32 = v}; }
static vm_value F32(uint32_t bits) { return (vm_value){.type = VM_F32, .v.f32 = bits}; }
static vm_value F64(uint64_t bits) { return (vm_value){.type = VM_F64, .v.f64 = bits}; }

/* ---- LEB128 --------------------------------------------------------------------------------- */

static weft_err leb(const uint8_t *b, size_t n, int kind, int64_t *v)
{
    vm_rd r = {.p = b, .end = b + n, .base = b};
    *v = kind == 0 ? (int64_t)vm_rd_u32(&r) : vm_rd_sleb(&r, kind == 32 ? 32 : 64);
    if (r.err == WEFT_OK && r.p != r.end)
        return WEFT_E_TRAILING;
    return r.err;
}

static void test_leb128(void **state)
{
    (void)state;
    int64_t v;
    static const uint8_t u_max[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    static const uint8_t u_big[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    static const uint8_t u_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    static const uint8_t u_overlong0[] = {0x80, 0x80, 0x00}; /* allowed by wasm */
    static const uint8_t u_trunc[] = {0x80, 0x80};
    assert_int_equal(leb(u_max, sizeof u_max, 0, &v), WEFT_OK);
    assert_true(v == 0xffffffff);
    assert_int_equal(leb(u_big, sizeof u_big, 0, &v), WEFT_E_VM_MALFORMED);
    assert_int_equal(leb(u_long, sizeof u_long, 0, &v), WEFT_E_VM_MALFORMED);
    assert_int_equal(leb(u_overlong0, sizeof u_overlong0, 0, &v), WEFT_OK);
    assert_true(v == 0);
    assert_int_equal(leb(u_trunc, sizeof u_trunc, 0, &v), WEFT_E_VM_MALFORMED);

    static const uint8_t s_m1[] = {0x7f};
    static const uint8_t s_m128[] = {0x80, 0x7f};
    static const uint8_t s_max[] = {0xff, 0xff, 0xff, 0xff, 0x07};
    static const uint8_t s_min[] = {0x80, 0x80, 0x80, 0x80, 0x78};
    static const uint8_t s_bad_hi[] = {0xff, 0xff, 0xff, 0xff, 0x0f}; /* sign 1, upper bits 0 */
    static const uint8_t s_bad_lo[] = {0x80, 0x80, 0x80, 0x80, 0x70}; /* sign 0, upper bits 1 */
    assert_int_equal(leb(s_m1, 1, 32, &v), WEFT_OK);
    assert_true(v == -1);
    assert_int_equal(leb(s_m128, 2, 32, &v), WEFT_OK);
    assert_true(v == -128);
    assert_int_equal(leb(s_max, 5, 32, &v), WEFT_OK);
    assert_true(v == INT32_MAX);
    assert_int_equal(leb(s_min, 5, 32, &v), WEFT_OK);
    assert_true(v == INT32_MIN);
    assert_int_equal(leb(s_bad_hi, 5, 32, &v), WEFT_E_VM_MALFORMED);
    assert_int_equal(leb(s_bad_lo, 5, 32, &v), WEFT_E_VM_MALFORMED);

    static const uint8_t l_min[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
    static const uint8_t l_max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t l_bad[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    static const uint8_t l_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(leb(l_min, 10, 64, &v), WEFT_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(leb(l_max, 10, 64, &v), WEFT_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(leb(l_bad, 10, 64, &v), WEFT_E_VM_MALFORMED);
    assert_int_equal(leb(l_long, 11, 64, &v), WEFT_E_VM_MALFORMED);
}

/* ---- gas ------------------------------------------------------------------------------------ */

/* Costs by the rules of docs/vm.md with the default table: 23 per operator, 2 per declared local;
 * a segment is charged in full when it starts. */
#define OP 23u

static void test_gas_segments(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, gas_wasm, sizeof gas_wasm, NULL, 0), WEFT_OK);
    uint64_t used;
    vm_value r;

    /* straight: const, const, add, end */
    assert_int_equal(call(&f, "straight", NULL, 0, 1000, &used, &r), WEFT_OK);
    assert_int_equal(used, 4 * OP);
    assert_int_equal(r.v.i32, 3);

    /* count(n): entry = 1 local + block + loop; header = get, get, ge_u, br_if (n+1 times);
     * body = get, const, add, set, br (n times); exit = get, end */
    for (uint32_t n = 0; n < 5; n++) {
        vm_value a = I32(n);
        assert_int_equal(call(&f, "count", &a, 1, 100000, &used, &r), WEFT_OK);
        assert_int_equal(r.v.i32, n);
        assert_int_equal(used, 2 + 2 * OP + (n + 1) * 4 * OP + n * 5 * OP + 2 * OP);
    }

    /* cond: get, if | then: const, const, add, else | else arm: const, end | const, add, end */
    vm_value one = I32(1), zero = I32(0);
    assert_int_equal(call(&f, "cond", &one, 1, 100000, &used, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 12);
    assert_int_equal(used, 2 * OP + 4 * OP + 3 * OP);
    assert_int_equal(call(&f, "cond", &zero, 1, 100000, &used, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 21);
    assert_int_equal(used, 2 * OP + 2 * OP + 3 * OP);

    /* call: call, const, add, end + callee const, end */
    assert_int_equal(call(&f, "call", NULL, 0, 100000, &used, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 8);
    assert_int_equal(used, 4 * OP + 2 * OP);

    /* host: const, call, end + the host's own charge of 1000 */
    assert_int_equal(call(&f, "host", NULL, 0, 100000, &used, NULL), WEFT_OK);
    assert_int_equal(used, 3 * OP + 1000);

    /* memory.fill of n bytes: 5 operators + 23 per started 64 bytes */
    vm_value n100 = I32(100), n0 = I32(0);
    assert_int_equal(call(&f, "fill", &n100, 1, 100000, &used, NULL), WEFT_OK);
    assert_int_equal(used, 5 * OP + 2 * 23);
    assert_int_equal(call(&f, "fill", &n0, 1, 100000, &used, NULL), WEFT_OK);
    assert_int_equal(used, 5 * OP);

    /* a trap inside a segment: the whole segment was charged when it started */
    assert_int_equal(call(&f, "divzero", NULL, 0, 100000, &used, NULL), WEFT_E_VM_TRAP_DIV_ZERO);
    assert_int_equal(used, 5 * OP);
    teardown_fx(&f);
}

/* Control forms, counted by hand from the rule (every executed operator costs 23; the `end` of an
 * if or block belongs to the path that falls through it; the run after a label is charged by the
 * branch that jumps there). */
static void test_gas_control(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, gas2_wasm, sizeof gas2_wasm, NULL, 0), WEFT_OK);
    static const struct {
        const char *fn;
        uint32_t arg;
        uint32_t result;
        uint64_t gas;
    } cases[] = {
        /* get, if, const, set, end, get, end | get, if, (label) get, end */
        {"ifnoelse", 1, 5, 7 * OP},
        {"ifnoelse", 0, 0, 4 * OP},
        /* block x3, get, br_table, then the arm: const, return | const, const, add, return |
         * const, nop x3, end */
        {"table", 0, 10, 7 * OP},
        {"table", 1, 21, 9 * OP},
        {"table", 2, 30, 10 * OP},
        {"table", 7, 30, 10 * OP},
        /* 3 locals; outer loop op; per outer round: const, set, loop, 3 inner rounds of 11,
         * end, 7 in the tail; then end, get, end */
        {"nested", 4, 12, 3 * 2 + (1 + 4 * (3 + 3 * 11 + 8) + 3) * OP},
        {"nested", 0, 3, 3 * 2 + (1 + 1 * (3 + 3 * 11 + 8) + 3) * OP},
        /* block, get, br_if, (label) const, end | block, get, br_if, const, nop, return */
        {"early", 1, 9, 5 * OP},
        {"early", 0, 7, 6 * OP},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(cases); i++) {
        vm_value a = I32(cases[i].arg), r;
        uint64_t used;
        assert_int_equal(call(&f, cases[i].fn, &a, 1, 1000000, &used, &r), WEFT_OK);
        assert_int_equal(r.v.i32, cases[i].result);
        assert_int_equal(used, cases[i].gas);
        /* the same gas, not one unit less, is needed to complete */
        assert_int_equal(call(&f, cases[i].fn, &a, 1, cases[i].gas, &used, &r), WEFT_OK);
        assert_int_equal(call(&f, cases[i].fn, &a, 1, cases[i].gas - 1, &used, &r),
                         WEFT_E_VM_OUT_OF_GAS);
    }
    teardown_fx(&f);
}

static void test_gas_limit(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, gas_wasm, sizeof gas_wasm, NULL, 0), WEFT_OK);
    uint64_t used;
    vm_value r;
    /* exactly enough, then one short: out of gas before anything runs, all gas consumed */
    assert_int_equal(call(&f, "straight", NULL, 0, 4 * OP, &used, &r), WEFT_OK);
    assert_int_equal(vm_store_gas(f.s), 0);
    assert_int_equal(call(&f, "straight", NULL, 0, 4 * OP - 1, &used, &r), WEFT_E_VM_OUT_OF_GAS);
    assert_int_equal(vm_store_gas(f.s), 0);
    /* a loop stops at the segment that does not fit, whatever the limit */
    vm_value big = I32(1000000);
    uint64_t limit = 10007;
    assert_int_equal(call(&f, "count", &big, 1, limit, &used, NULL), WEFT_E_VM_OUT_OF_GAS);
    assert_int_equal(used, limit);
    /* the host's charge can be the one that runs out */
    assert_int_equal(call(&f, "host", NULL, 0, 3 * OP + 999, &used, NULL), WEFT_E_VM_OUT_OF_GAS);
    assert_int_equal(vm_store_gas(f.s), 0);
    /* metering off: no gas is charged by wasm code */
    fixture g;
    cfg.metering = false;
    assert_int_equal(setup(&g, &cfg, gas_wasm, sizeof gas_wasm, NULL, 0), WEFT_OK);
    assert_int_equal(call(&g, "count", &big, 1, 5, &used, &r), WEFT_OK);
    assert_int_equal(used, 0);
    assert_int_equal(r.v.i32, 1000000);
    teardown_fx(&g);
    teardown_fx(&f);
}

/* ---- host functions ------------------------------------------------------------------------- */

/* env.put_hello: allocates 5 bytes with the module's __new (which grows memory, moving it) and
 * writes "hello" there. */
static weft_err put_hello(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)user;
    (void)args;
    vm_instance *inst = vm_ctx_instance(ctx);
    if (!inst) /* a mutated module exporting the import itself: called from vm_invoke */
        return WEFT_E_VM_TRAP_HOST;
    vm_func *alloc = vm_instance_func(inst, "__new");
    if (!alloc || vm_func_type(alloc)->nparams != 2 || vm_func_type(alloc)->nresults != 1)
        return WEFT_E_VM_TRAP_HOST; /* (mutated modules) */
    vm_value a[2] = {I32(5), I32(1)}, p;
    weft_err err = vm_invoke(vm_ctx_store(ctx), alloc, a, 2, &p, 1);
    if (err == WEFT_E_INVAL)
        return WEFT_E_VM_TRAP_HOST;
    if (err != WEFT_OK)
        return err;
    err = vm_memory_write(vm_instance_memory(inst), p.v.i32, "hello", 5);
    if (err != WEFT_OK)
        return err;
    results[0].i32 = p.v.i32;
    return WEFT_OK;
}

static weft_err host_fail(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)ctx;
    (void)user;
    (void)args;
    (void)results;
    return WEFT_E_VM_TRAP_HOST;
}

/* env.reenter(n): n == 0 → 0; otherwise calls the module's down(n - 1) and returns it + 1. */
static weft_err reenter(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)user;
    if (args[0].i32 == 0) {
        results[0].i32 = 0;
        return WEFT_OK;
    }
    if (!vm_ctx_instance(ctx)) /* a mutated module exporting the import itself */
        return WEFT_E_VM_TRAP_HOST;
    vm_func *down = vm_instance_func(vm_ctx_instance(ctx), "down");
    if (!down || vm_func_type(down)->nparams != 1 || vm_func_type(down)->nresults != 1)
        return WEFT_E_VM_TRAP_HOST; /* (mutated modules) */
    vm_value a = I32(args[0].i32 - 1), r;
    weft_err err = vm_invoke(vm_ctx_store(ctx), down, &a, 1, &r, 1);
    if (err == WEFT_E_INVAL)
        return WEFT_E_VM_TRAP_HOST;
    if (err != WEFT_OK)
        return err;
    results[0].i32 = r.v.i32 + 1;
    return WEFT_OK;
}

static const vm_host_def host_defs[] = {
    {"env", "put_hello", "", "i", put_hello, NULL},
    {"env", "fail", "", "", host_fail, NULL},
    {"env", "reenter", "i", "i", reenter, NULL},
};

static void test_host_functions(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, host_wasm, sizeof host_wasm, host_defs, 3), WEFT_OK);
    vm_value r;
    /* run: the host allocated through __new (memory grew from 1 to 2 pages) and wrote "hello";
     * the module reads back byte 1 */
    assert_int_equal(call(&f, "run", NULL, 0, 1000000, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 'e');
    uint64_t size;
    uint8_t *mem = vm_memory_data(vm_instance_memory(f.inst), &size);
    assert_int_equal(size, 2 * 65536);
    assert_memory_equal(mem + 1024, "hello", 5);
    /* a host trap ends the call with the host's error */
    assert_int_equal(call(&f, "callfail", NULL, 0, 1000000, NULL, &r), WEFT_E_VM_TRAP_HOST);
    /* host → wasm → host ... re-entry works within the nesting limit ... */
    vm_value n = I32(10);
    assert_int_equal(call(&f, "down", &n, 1, 1000000, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 10);
    /* ... and beyond it is the trap "call stack exhausted", not a C stack overflow */
    n = I32(100000);
    assert_int_equal(call(&f, "down", &n, 1, UINT64_MAX, NULL, &r), WEFT_E_VM_TRAP_STACK);
    /* the store is still usable afterwards */
    n = I32(3);
    assert_int_equal(call(&f, "down", &n, 1, 1000000, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 3);
    /* bounds-checked host access */
    uint8_t buf[4];
    assert_int_equal(vm_memory_read(vm_instance_memory(f.inst), size - 2, buf, 4),
                     WEFT_E_VM_TRAP_MEMORY);
    assert_int_equal(vm_memory_read(vm_instance_memory(f.inst), UINT64_MAX, buf, 1),
                     WEFT_E_VM_TRAP_MEMORY);
    teardown_fx(&f);
}

/* An import with the wrong signature or a missing one does not link. */
static void test_link_errors(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    static const vm_host_def wrong[] = {
        {"env", "put_hello", "i", "i", put_hello, NULL}, /* (i32) -> i32, wanted () -> i32 */
        {"env", "fail", "", "", host_fail, NULL},
        {"env", "reenter", "i", "i", reenter, NULL},
    };
    assert_int_equal(setup(&f, &cfg, host_wasm, sizeof host_wasm, wrong, 3), WEFT_E_VM_UNLINKABLE);
    teardown_fx(&f);
    assert_int_equal(setup(&f, &cfg, host_wasm, sizeof host_wasm, host_defs, 2),
                     WEFT_E_VM_UNLINKABLE);
    teardown_fx(&f);
}

/* ---- limits and isolation ------------------------------------------------------------------- */

static void test_limits(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, misc_wasm, sizeof misc_wasm, NULL, 0), WEFT_OK);
    vm_value r, a = I32(0);
    /* unbounded recursion is the trap "call stack exhausted" */
    assert_int_equal(call(&f, "rec", &a, 1, UINT64_MAX, NULL, &r), WEFT_E_VM_TRAP_STACK);
    /* memory: 64 pages at most in the contract profile */
    a = I32(63);
    assert_int_equal(call(&f, "grow", &a, 1, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 1);
    a = I32(1);
    assert_int_equal(call(&f, "grow", &a, 1, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 0xffffffffu);
    teardown_fx(&f);

    /* a memory declared larger than the cap does not instantiate */
    assert_int_equal(setup(&f, &cfg, bigmem_wasm, sizeof bigmem_wasm, NULL, 0), WEFT_E_VM_LIMIT);
    teardown_fx(&f);
    /* module size */
    vm_config small = cfg;
    small.limits.module_bytes = 100;
    vm_module *m;
    assert_int_equal(vm_module_new(&m, &small, misc_wasm, sizeof misc_wasm, NULL), WEFT_E_VM_LIMIT);
    assert_null(m);
    /* call depth is configurable */
    vm_config shallow = cfg;
    shallow.limits.call_depth = 10;
    assert_int_equal(setup(&f, &shallow, misc_wasm, sizeof misc_wasm, NULL, 0), WEFT_OK);
    a = I32(0);
    assert_int_equal(call(&f, "rec", &a, 1, UINT64_MAX, NULL, &r), WEFT_E_VM_TRAP_STACK);
    teardown_fx(&f);
    /* locals: a function declaring more than limits.locals is refused at load */
    static const uint8_t many_locals[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,             /* header */
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                         /* type () -> () */
        0x03, 0x02, 0x01, 0x00,                                     /* one function */
        0x0a, 0x08, 0x01, 0x06, 0x01, 0x81, 0x80, 0x01, 0x7f, 0x0b, /* 16385 i32 locals */
    };
    vm_diag diag;
    assert_int_equal(vm_module_new(&m, &cfg, many_locals, sizeof many_locals, &diag),
                     WEFT_E_VM_LIMIT);
    vm_config roomy = cfg;
    roomy.limits.locals = 20000;
    assert_int_equal(vm_module_new(&m, &roomy, many_locals, sizeof many_locals, &diag), WEFT_OK);
    vm_module_free(m);
}

static void test_isolation(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, misc_wasm, sizeof misc_wasm, NULL, 0), WEFT_OK);
    vm_value r;
    /* bump: global += 1, mem[0] += 1, returns global + mem[0] */
    for (uint32_t i = 1; i <= 3; i++) {
        assert_int_equal(call(&f, "bump", NULL, 0, UINT64_MAX, NULL, &r), WEFT_OK);
        assert_int_equal(r.v.i32, 2 * i);
    }
    /* a second instance of the same module in the same store starts fresh */
    vm_instance *second;
    assert_int_equal(vm_instance_new(&second, f.s, f.m, f.l, NULL), WEFT_OK);
    vm_instance *first = f.inst;
    f.inst = second;
    assert_int_equal(call(&f, "bump", NULL, 0, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 2);
    f.inst = first;
    assert_int_equal(call(&f, "bump", NULL, 0, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.i32, 8);
    teardown_fx(&f);
}

/* A tiny module builder for the stack test below. */
typedef struct wbuf {
    uint8_t b[8192];
    size_t n;
} wbuf;
static void wb_byte(wbuf *w, uint8_t v)
{
    assert_true(w->n < sizeof w->b);
    w->b[w->n++] = v;
}
static void wb_u32(wbuf *w, uint32_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        wb_byte(w, (uint8_t)(c | (v ? 0x80 : 0)));
    } while (v);
}
static void wb_s64(wbuf *w, int64_t v)
{
    for (;;) {
        uint8_t c = v & 0x7f;
        v >>= 7;
        bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
        wb_byte(w, (uint8_t)(c | (done ? 0 : 0x80)));
        if (done)
            return;
    }
}
static void wb_bytes(wbuf *w, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wb_byte(w, ((const uint8_t *)p)[i]);
}
static void wb_section(wbuf *w, uint8_t id, const wbuf *content)
{
    wb_byte(w, id);
    wb_u32(w, (uint32_t)content->n);
    wb_bytes(w, content->b, content->n);
}

/* The value-stack limit counts wasm-level slots (parameters, locals, operand height), not the
 * translation's constants: "a" and "b" recurse alike ((param i32): count += 1; call self(p + 1)),
 * but "b" also pushes and drops 300 distinct i64 constants — more than the constant area holds,
 * which "many" (the sum of the constants 1..300) exercises. */
static void test_stack_accounting(void **state)
{
    (void)state;
    static wbuf w, sec, body;
    w.n = 0;
    wb_bytes(&w, "\0asm\1\0\0\0", 8);
    sec.n = 0; /* types: (i32) -> (), () -> (i64) */
    wb_bytes(&sec, "\x02\x60\x01\x7f\x00\x60\x00\x01\x7e", 9);
    wb_section(&w, 1, &sec);
    sec.n = 0;
    wb_bytes(&sec, "\x03\x00\x00\x01", 4);
    wb_section(&w, 3, &sec);
    sec.n = 0; /* (global $n (mut i32) (i32.const 0)) */
    wb_bytes(&sec, "\x01\x7f\x01\x41\x00\x0b", 6);
    wb_section(&w, 6, &sec);
    sec.n = 0;
    static const uint8_t exports[] = {4,   1, 'n', 3, 0,   1,   'a', 0,   0, 1,
                                      'b', 0, 1,   4, 'm', 'a', 'n', 'y', 0, 2};
    wb_bytes(&sec, exports, sizeof exports);
    wb_section(&w, 7, &sec);
    sec.n = 0;
    wb_u32(&sec, 3);
    for (int f = 0; f < 3; f++) {
        body.n = 0;
        wb_byte(&body, 0); /* no locals */
        if (f < 2) {
            wb_bytes(&body, "\x23\x00\x41\x01\x6a\x24\x00", 7); /* n += 1 */
            for (int k = 0; f == 1 && k < 300; k++) {
                wb_byte(&body, 0x42);
                wb_s64(&body, 1000 + k);
                wb_byte(&body, 0x1a); /* drop */
            }
            wb_bytes(&body, "\x20\x00\x41\x01\x6a\x10", 6);
            wb_u32(&body, (uint32_t)f); /* call self */
        } else {
            wb_bytes(&body, "\x42\x01", 2);
            for (int k = 2; k <= 300; k++) {
                wb_byte(&body, 0x42);
                wb_s64(&body, k);
                wb_byte(&body, 0x7c); /* i64.add */
            }
        }
        wb_byte(&body, 0x0b);
        wb_u32(&sec, (uint32_t)body.n);
        wb_bytes(&sec, body.b, body.n);
    }
    wb_section(&w, 10, &sec);

    vm_config cfg;
    vm_config_default(&cfg);
    cfg.limits.value_stack = 100;
    for (int f = 0; f < 2; f++) {
        fixture fx;
        assert_int_equal(setup(&fx, &cfg, w.b, w.n, NULL, 0), WEFT_OK);
        vm_value a = I32(0), r;
        assert_int_equal(call(&fx, f ? "b" : "a", &a, 1, UINT64_MAX, NULL, NULL),
                         WEFT_E_VM_TRAP_STACK);
        /* frame k starts k slots up (its argument) and needs 1 local + 2 operands: the last one
         * that fits is k = 100 - 3 */
        vm_extern n;
        assert_int_equal(vm_instance_export(fx.inst, "n", &n), WEFT_OK);
        assert_int_equal(vm_global_get(n.u.global).i32, 98);
        assert_int_equal(call(&fx, "many", NULL, 0, UINT64_MAX, NULL, &r), WEFT_OK);
        assert_true(r.v.i64 == 300 * 301 / 2);
        teardown_fx(&fx);
    }
}

/* ---- numerics, features, typed calls -------------------------------------------------------- */

static void test_nan_canonical(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    fixture f;
    assert_int_equal(setup(&f, &cfg, misc_wasm, sizeof misc_wasm, NULL, 0), WEFT_OK);
    vm_value r;
    vm_value a[2] = {F32(0x7fa00001u), F32(0x3f800000u)}; /* NaN with payload, 1.0 */
    assert_int_equal(call(&f, "f32add", a, 2, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.f32, VM_F32_CANON);
    a[0] = F32(0xffa00001u); /* negative NaN */
    assert_int_equal(call(&f, "f32add", a, 2, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.f32, VM_F32_CANON);
    /* neg is a bit operation: the payload is kept */
    assert_int_equal(call(&f, "f32neg", a, 1, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.f32, 0x7fa00001u);
    vm_value d[2] = {F64(0), F64(0)}; /* 0/0 */
    assert_int_equal(call(&f, "f64div", d, 2, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_true(r.v.f64 == VM_F64_CANON);
    vm_value n = F64(0xfff0000000000123ull);
    assert_int_equal(call(&f, "demote", &n, 1, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.f32, VM_F32_CANON);
    /* ordinary arithmetic is exact IEEE: 1.5 + 2.25 = 3.75 */
    vm_value b[2] = {F32(0x3fc00000u), F32(0x40100000u)};
    assert_int_equal(call(&f, "f32add", b, 2, UINT64_MAX, NULL, &r), WEFT_OK);
    assert_int_equal(r.v.f32, 0x40700000u);
    teardown_fx(&f);
}

static void test_features_and_types(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    vm_module *m;
    vm_diag diag;
    /* multi-value is off in the contract profile, on in the spec-test profile */
    assert_int_equal(vm_module_new(&m, &cfg, multi_wasm, sizeof multi_wasm, &diag),
                     WEFT_E_VM_FEATURE);
    vm_config all;
    vm_config_spectest(&all);
    fixture f;
    assert_int_equal(setup(&f, &all, multi_wasm, sizeof multi_wasm, NULL, 0), WEFT_OK);
    vm_value r[2];
    assert_int_equal(vm_invoke(f.s, vm_instance_func(f.inst, "two"), NULL, 0, r, 2), WEFT_OK);
    assert_int_equal(r[0].v.i32, 1);
    assert_int_equal(r[1].v.i32, 2);
    assert_int_equal(r[1].type, VM_I32);
    teardown_fx(&f);

    /* typed calls: counts and types are checked */
    assert_int_equal(setup(&f, &cfg, misc_wasm, sizeof misc_wasm, NULL, 0), WEFT_OK);
    vm_func *swap = vm_instance_func(f.inst, "swap");
    vm_value ok[2] = {I32(5), {.type = VM_I64, .v.i64 = 1ull << 40}}, res;
    assert_int_equal(vm_invoke(f.s, swap, ok, 2, &res, 1), WEFT_OK);
    assert_true(res.v.i64 == (1ull << 40) + 5);
    assert_int_equal(res.type, VM_I64);
    vm_value bad[2] = {I32(5), I32(1)};
    assert_int_equal(vm_invoke(f.s, swap, bad, 2, &res, 1), WEFT_E_INVAL);
    assert_int_equal(vm_invoke(f.s, swap, ok, 1, &res, 1), WEFT_E_INVAL);
    assert_null(vm_instance_func(f.inst, "nope"));
    teardown_fx(&f);
}

/* ---- robustness ----------------------------------------------------------------------------- */

/* Mutated copies of the valid modules either load or are rejected with an error; those that load
 * run every export under a gas limit without crashing. */
static void test_mutations(void **state)
{
    (void)state;
    static const struct {
        const uint8_t *b;
        size_t n;
    } seeds[] = {
        {gas_wasm, sizeof gas_wasm}, {host_wasm, sizeof host_wasm}, {misc_wasm, sizeof misc_wasm}};
    test_rng rng;
    test_rng_init(&rng, test_seed());
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.limits.call_depth = 64;
    cfg.limits.value_stack = 4096;
    long loaded = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t k = test_rng_below(&rng, WEFT_ARRAY_LEN(seeds));
        uint8_t buf[512];
        size_t n = seeds[k].n;
        memcpy(buf, seeds[k].b, n);
        int flips = 1 + (int)test_rng_below(&rng, 4);
        for (int i = 0; i < flips; i++)
            buf[8 + test_rng_below(&rng, n - 8)] = (uint8_t)test_rng_next(&rng);
        if (test_rng_below(&rng, 4) == 0)
            n = 8 + test_rng_below(&rng, n - 8);
        vm_module *m;
        vm_diag diag;
        weft_err err = vm_module_new(&m, &cfg, buf, n, &diag);
        if (err != WEFT_OK) {
            assert_true(err == WEFT_E_VM_MALFORMED || err == WEFT_E_VM_INVALID ||
                        err == WEFT_E_VM_FEATURE || err == WEFT_E_VM_LIMIT);
            continue;
        }
        loaded++;
        vm_store *s;
        vm_linker *l;
        assert_int_equal(vm_store_new(&s, &cfg), WEFT_OK);
        assert_int_equal(vm_linker_new(&l), WEFT_OK);
        static const vm_host_def charge = {"env", "charge", "I", "", host_charge, NULL};
        assert_int_equal(vm_linker_define_host(l, s, &charge, 1), WEFT_OK);
        assert_int_equal(vm_linker_define_host(l, s, host_defs, 3), WEFT_OK);
        vm_store_set_gas(s, 100000);
        vm_instance *inst;
        if (vm_instance_new(&inst, s, m, l, &diag) == WEFT_OK) {
            for (uint32_t e = 0; e < vm_module_export_count(m); e++) {
                const char *name;
                size_t len;
                vm_extern_kind kind;
                vm_module_export_at(m, e, &name, &len, &kind);
                vm_extern x;
                if (kind != VM_EXTERN_FUNC || vm_instance_export_n(inst, name, len, &x) != WEFT_OK)
                    continue;
                const vm_functype *ft = vm_func_type(x.u.func);
                vm_value args[8], res[8];
                if (ft->nparams > 8 || ft->nresults > 8)
                    continue;
                for (uint32_t p = 0; p < ft->nparams; p++)
                    args[p] = (vm_value){.type = (vm_valtype)ft->params[p], .v.i64 = 0};
                vm_store_set_gas(s, 100000);
                weft_err e2 = vm_invoke(s, x.u.func, args, ft->nparams, res, ft->nresults);
                assert_true(e2 == WEFT_OK || vm_err_is_trap(e2));
            }
        }
        vm_linker_free(l);
        vm_store_free(s);
        vm_module_free(m);
    }
    print_message("mutations: %ld of 3000 still loaded\n", loaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leb128),
        cmocka_unit_test(test_gas_segments),
        cmocka_unit_test(test_gas_control),
        cmocka_unit_test(test_gas_limit),
        cmocka_unit_test(test_host_functions),
        cmocka_unit_test(test_link_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_stack_accounting),
        cmocka_unit_test(test_nan_canonical),
        cmocka_unit_test(test_features_and_types),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
