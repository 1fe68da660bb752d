/* The ABI functions of Massa's legacy AssemblyScript runtime (import module "massa",
 * assembly_script_*, and the "env" imports AssemblyScript emits), as weft implements them:
 * signatures and fixed gas costs follow massa-sc-runtime and Massa's abi_gas_costs.json; the
 * semantics are those of Massa's execution context (massa-client-compat §4; docs/sc.md §2 lists
 * every function).  Each function has already been charged its fixed cost by the dispatcher
 * (host.c); it charges the data it moves or hashes, validates every guest pointer, and fails the
 * contract with a message for anything it refuses. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "sc/sc_internal.h"

#define INST(ctx) vm_ctx_instance(ctx)
#define MSG_ADDR(s) (int)(strlen(s) > 60 ? 60 : strlen(s)), (s)

/* ---- argument helpers ------------------------------------------------------------------------ */

static weft_err arg_addr(sc_run *r, vm_call_ctx *ctx, uint32_t ptr, address_t *out)
{
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), ptr, &s, &n);
    if (err)
        return err;
    if (address_parse(out, s) != WEFT_OK)
        err = sc_fail(r, WEFT_E_SC_ABI, "invalid address '%.*s'", MSG_ADDR(s));
    free(s);
    return err;
}

static const sc_frame *top(sc_run *r) { return sc_top(r); }
static const address_t *current(sc_run *r) { return &sc_top(r)->addr; }

static weft_err ret_bytes(sc_run *r, vm_call_ctx *ctx, const uint8_t *data, size_t len, vm_val *res)
{
    uint32_t p;
    weft_err err = sc_new_bytes(r, INST(ctx), data, len, &p);
    if (!err)
        res[0].i32 = p;
    return err;
}

static weft_err ret_str(sc_run *r, vm_call_ctx *ctx, const char *s, size_t len, vm_val *res)
{
    uint32_t p;
    weft_err err = sc_new_str(r, INST(ctx), s, len, &p);
    if (!err)
        res[0].i32 = p;
    return err;
}

static weft_err ret_addr(sc_run *r, vm_call_ctx *ctx, const address_t *a, vm_val *res)
{
    char s[MODEL_STR_MAX];
    address_to_str(s, a);
    return ret_str(r, ctx, s, strlen(s), res);
}

/* ---- ledger helpers -------------------------------------------------------------------------- */

static weft_err entry_exists(sc_run *r, const address_t *a, bool *yes)
{
    amount_t b;
    weft_err err = state_balance_get(r->view, a, &b);
    *yes = err == WEFT_OK;
    if (err && err != WEFT_E_NOT_FOUND)
        return sc_fault(r, err);
    return WEFT_OK;
}

static weft_err balance_of(sc_run *r, const address_t *a, uint64_t *out)
{
    amount_t b;
    weft_err err = state_balance_get(r->view, a, &b);
    if (err == WEFT_E_NOT_FOUND)
        b.nano = 0;
    else if (err)
        return sc_fault(r, err);
    *out = b.nano;
    return WEFT_OK;
}

/* Moves amount from → to (rights already checked): fails if from cannot pay, if to is a
 * smart-contract address without an entry, or on overflow; creates a user recipient's entry. */
static weft_err transfer(sc_run *r, const address_t *from, const address_t *to, uint64_t amount)
{
    char sf[MODEL_STR_MAX], st[MODEL_STR_MAX];
    uint64_t fb = 0;
    weft_err err = balance_of(r, from, &fb);
    if (err)
        return err;
    if (fb < amount) {
        address_to_str(sf, from);
        return sc_fail(r, WEFT_E_SC_ABI, "%s cannot transfer %" PRIu64 " (balance %" PRIu64 ")", sf,
                       amount, fb);
    }
    bool to_exists;
    if ((err = entry_exists(r, to, &to_exists)))
        return err;
    if (!to_exists && to->kind == ADDRESS_SC) {
        address_to_str(st, to);
        return sc_fail(r, WEFT_E_SC_ABI, "cannot transfer to %s: no such smart contract", st);
    }
    if ((err = state_balance_set(r->view, from, amount_from_nano(fb - amount))))
        return sc_fault(r, err);
    uint64_t tb = 0;
    if ((err = balance_of(r, to, &tb)))
        return err;
    if (tb + amount < tb) {
        address_to_str(st, to);
        return sc_fail(r, WEFT_E_SC_ABI, "the balance of %s would overflow", st);
    }
    if ((err = state_balance_set(r->view, to, amount_from_nano(tb + amount))))
        return sc_fault(r, err);
    return WEFT_OK;
}

static weft_err check_key(sc_run *r, size_t klen)
{
    if (klen > STATE_MAX_DS_KEY_LEN)
        return sc_fail(r, WEFT_E_SC_ABI, "datastore key of %zu bytes (at most %d)", klen,
                       STATE_MAX_DS_KEY_LEN);
    return WEFT_OK;
}

/* Writing a's datastore or bytecode needs a's entry and the rights of the top of the stack. */
static weft_err check_write(sc_run *r, const address_t *a)
{
    char s[MODEL_STR_MAX];
    if (!sc_frame_owns(top(r), a)) {
        address_to_str(s, a);
        return sc_fail(r, WEFT_E_SC_ABI, "writing to %s is not allowed in this context", s);
    }
    bool yes;
    weft_err err = entry_exists(r, a, &yes);
    if (err)
        return err;
    if (!yes) {
        address_to_str(s, a);
        return sc_fail(r, WEFT_E_SC_ABI, "address %s does not exist", s);
    }
    return WEFT_OK;
}

/* ---- storage --------------------------------------------------------------------------------- */

static weft_err ds_set(sc_run *r, vm_call_ctx *ctx, const address_t *a, uint32_t kp, uint32_t vp,
                       bool append)
{
    uint8_t *k = NULL, *v = NULL, *joined = NULL;
    size_t kl, vl;
    weft_err err = sc_read_bytes(r, INST(ctx), kp, &k, &kl);
    if (!err)
        err = sc_read_bytes(r, INST(ctx), vp, &v, &vl);
    if (!err)
        err = check_key(r, kl);
    if (!err)
        err = check_write(r, a);
    if (err)
        goto out;
    if (append) {
        const uint8_t *old;
        size_t ol;
        err = state_ds_get(r->view, a, k, kl, &old, &ol);
        if (err == WEFT_E_NOT_FOUND) {
            err = sc_fail(r, WEFT_E_SC_ABI, "append to a datastore entry that does not exist");
            goto out;
        }
        if (err) {
            err = sc_fault(r, err);
            goto out;
        }
        if (ol + vl > STATE_MAX_VALUE_LEN) {
            err = sc_fail(r, WEFT_E_SC_ABI, "datastore value over %u bytes", STATE_MAX_VALUE_LEN);
            goto out;
        }
        if ((err = sc_charge_bytes(r, ol)))
            goto out;
        joined = malloc(ol + vl + 1);
        if (!joined) {
            err = sc_fault(r, WEFT_E_NOMEM);
            goto out;
        }
        memcpy(joined, old, ol);
        memcpy(joined + ol, v, vl);
        free(v);
        v = joined;
        vl += ol;
    } else if (vl > STATE_MAX_VALUE_LEN) {
        err = sc_fail(r, WEFT_E_SC_ABI, "datastore value over %u bytes", STATE_MAX_VALUE_LEN);
        goto out;
    }
    if ((err = state_ds_set(r->view, a, k, kl, v, vl)))
        err = sc_fault(r, err);
out:
    free(k);
    free(v);
    return err;
}

static weft_err ds_get(sc_run *r, vm_call_ctx *ctx, const address_t *a, uint32_t kp, vm_val *res)
{
    uint8_t *k, *copy = NULL;
    size_t kl;
    weft_err err = sc_read_bytes(r, INST(ctx), kp, &k, &kl);
    if (err)
        return err;
    const uint8_t *v;
    size_t vl = 0;
    err = kl > STATE_MAX_DS_KEY_LEN ? WEFT_E_NOT_FOUND : state_ds_get(r->view, a, k, kl, &v, &vl);
    free(k);
    if (err == WEFT_E_NOT_FOUND)
        return sc_fail(r, WEFT_E_SC_ABI, "data entry not found");
    if (err)
        return sc_fault(r, err);
    copy = malloc(vl + 1);
    if (!copy)
        return sc_fault(r, WEFT_E_NOMEM);
    memcpy(copy, v, vl);
    err = ret_bytes(r, ctx, copy, vl, res);
    free(copy);
    return err;
}

static weft_err ds_has(sc_run *r, vm_call_ctx *ctx, const address_t *a, uint32_t kp, vm_val *res)
{
    uint8_t *k;
    size_t kl;
    weft_err err = sc_read_bytes(r, INST(ctx), kp, &k, &kl);
    if (err)
        return err;
    const uint8_t *v;
    size_t vl;
    err = kl > STATE_MAX_DS_KEY_LEN ? WEFT_E_NOT_FOUND : state_ds_get(r->view, a, k, kl, &v, &vl);
    free(k);
    if (err && err != WEFT_E_NOT_FOUND)
        return sc_fault(r, err);
    res[0].i32 = err == WEFT_OK;
    return WEFT_OK;
}

static weft_err ds_del(sc_run *r, vm_call_ctx *ctx, const address_t *a, uint32_t kp)
{
    uint8_t *k;
    size_t kl;
    weft_err err = sc_read_bytes(r, INST(ctx), kp, &k, &kl);
    if (err)
        return err;
    if (!(err = check_key(r, kl)) && !(err = check_write(r, a))) {
        const uint8_t *v;
        size_t vl;
        err = state_ds_get(r->view, a, k, kl, &v, &vl);
        if (err == WEFT_E_NOT_FOUND)
            err = sc_fail(r, WEFT_E_SC_ABI, "data entry not found");
        else if (err || (err = state_ds_del(r->view, a, k, kl)))
            err = sc_fault(r, err);
    }
    free(k);
    return err;
}

/* Key lists: u32 LE count, then each key as u8 length ‖ bytes; nothing at all when empty. */
typedef struct keys_acc {
    sc_run *r;
    wr_t w;
    uint32_t count;
    uint64_t budget; /* gas left: the scan stops once its cost passes it */
    uint64_t cost;
} keys_acc;

static bool keys_add(keys_acc *k, const uint8_t *key, size_t klen)
{
    if (k->count == 0)
        wr_u32le(&k->w, 0);
    wr_u8(&k->w, (uint8_t)klen);
    wr_bytes(&k->w, key, klen);
    k->count++;
    k->cost += SC_GAS_PER_64_BYTES * (1 + (klen + 1) / 64);
    return k->cost <= k->budget && wr_err(&k->w) == WEFT_OK;
}

static bool keys_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    return keys_add(ctx, key, klen);
}

static weft_err keys_finish(sc_run *r, vm_call_ctx *ctx, keys_acc *k, vm_val *res)
{
    weft_err err = wr_err(&k->w) ? sc_fault(r, wr_err(&k->w)) : sc_charge(r, k->cost);
    if (!err) {
        if (k->count)
            memcpy(k->w.buf, &k->count, 4);
        err = ret_bytes(r, ctx, k->w.buf, k->w.len, res);
    }
    wr_free(&k->w);
    return err;
}

static weft_err ds_keys(sc_run *r, vm_call_ctx *ctx, const address_t *a, uint32_t pp, vm_val *res)
{
    uint8_t *prefix;
    size_t pl;
    weft_err err = sc_read_bytes(r, INST(ctx), pp, &prefix, &pl);
    if (err)
        return err;
    bool yes;
    if (!(err = entry_exists(r, a, &yes)) && !yes)
        err = sc_fail(r, WEFT_E_SC_ABI, "data entry not found");
    keys_acc k = {.r = r, .budget = vm_store_gas(r->store)};
    wr_init(&k.w);
    if (!err && pl <= STATE_MAX_DS_KEY_LEN &&
        (err = state_ds_scan(r->view, a, prefix, pl, keys_visit, &k)))
        err = sc_fault(r, err);
    free(prefix);
    if (err) {
        wr_free(&k.w);
        return err;
    }
    return keys_finish(r, ctx, &k, res);
}

static weft_err abi_set_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return ds_set(r, ctx, current(r), a[0].i32, a[1].i32, false);
}

static weft_err abi_append_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return ds_set(r, ctx, current(r), a[0].i32, a[1].i32, true);
}

static weft_err abi_get_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return ds_get(r, ctx, current(r), a[0].i32, res);
}

static weft_err abi_has_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return ds_has(r, ctx, current(r), a[0].i32, res);
}

static weft_err abi_delete_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return ds_del(r, ctx, current(r), a[0].i32);
}

static weft_err abi_get_keys(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return ds_keys(r, ctx, current(r), a[0].i32, res);
}

static weft_err abi_set_data_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_set(r, ctx, &addr, a[1].i32, a[2].i32, false);
}

static weft_err abi_append_data_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_set(r, ctx, &addr, a[1].i32, a[2].i32, true);
}

static weft_err abi_get_data_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_get(r, ctx, &addr, a[1].i32, res);
}

static weft_err abi_has_data_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_has(r, ctx, &addr, a[1].i32, res);
}

static weft_err abi_delete_data_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_del(r, ctx, &addr, a[1].i32);
}

static weft_err abi_get_keys_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : ds_keys(r, ctx, &addr, a[1].i32, res);
}

/* ---- operation datastore --------------------------------------------------------------------- */

static weft_err op_ds_check(sc_run *r)
{
    if (!top(r)->op_ds)
        return sc_fail(r, WEFT_E_SC_ABI, "no operation datastore in this context");
    return WEFT_OK;
}

static const op_ds_entry *op_ds_find(sc_run *r, const uint8_t *k, size_t kl)
{
    for (size_t i = 0; i < r->ds_len; i++)
        if (r->ds[i]->key_len == kl && (kl == 0 || memcmp(r->ds[i]->key, k, kl) == 0))
            return r->ds[i];
    return NULL;
}

static weft_err op_keys(sc_run *r, vm_call_ctx *ctx, const uint8_t *prefix, size_t pl, vm_val *res)
{
    weft_err err = op_ds_check(r);
    if (err)
        return err;
    keys_acc k = {.r = r, .budget = UINT64_MAX};
    wr_init(&k.w);
    for (size_t i = 0; i < r->ds_len; i++) {
        const op_ds_entry *e = r->ds[i];
        if (e->key_len >= pl && (pl == 0 || memcmp(e->key, prefix, pl) == 0))
            (void)keys_add(&k, e->key, e->key_len);
    }
    return keys_finish(r, ctx, &k, res);
}

static weft_err abi_get_op_keys(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)a;
    return op_keys(r, ctx, NULL, 0, res);
}

static weft_err abi_get_op_keys_prefix(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    uint8_t *p;
    size_t pl;
    weft_err err = sc_read_bytes(r, INST(ctx), a[0].i32, &p, &pl);
    if (err)
        return err;
    err = op_keys(r, ctx, p, pl, res);
    free(p);
    return err;
}

static weft_err abi_has_op_key(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    uint8_t *k;
    size_t kl;
    weft_err err = sc_read_bytes(r, INST(ctx), a[0].i32, &k, &kl);
    if (err)
        return err;
    if (!(err = op_ds_check(r))) {
        uint8_t b = op_ds_find(r, k, kl) != NULL; /* a 1-byte buffer, not an i32 */
        err = ret_bytes(r, ctx, &b, 1, res);
    }
    free(k);
    return err;
}

static weft_err abi_get_op_data(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    uint8_t *k;
    size_t kl;
    weft_err err = sc_read_bytes(r, INST(ctx), a[0].i32, &k, &kl);
    if (err)
        return err;
    if (!(err = op_ds_check(r))) {
        const op_ds_entry *e = op_ds_find(r, k, kl);
        err = e ? ret_bytes(r, ctx, e->value, e->value_len, res)
                : sc_fail(r, WEFT_E_SC_ABI, "no key of %zu bytes in the operation datastore", kl);
    }
    free(k);
    return err;
}

/* ---- context --------------------------------------------------------------------------------- */

/* ["AU…","AS…"], as serde_json writes it (no spaces). */
static weft_err ret_addr_list(sc_run *r, vm_call_ctx *ctx, const address_t *a, size_t n,
                              vm_val *res)
{
    wr_t w;
    wr_init(&w);
    wr_u8(&w, '[');
    for (size_t i = 0; i < n; i++) {
        char s[MODEL_STR_MAX];
        address_to_str(s, &a[i]);
        if (i)
            wr_u8(&w, ',');
        wr_u8(&w, '"');
        wr_bytes(&w, s, strlen(s));
        wr_u8(&w, '"');
    }
    wr_u8(&w, ']');
    weft_err err =
        wr_err(&w) ? sc_fault(r, wr_err(&w)) : ret_str(r, ctx, (const char *)w.buf, w.len, res);
    wr_free(&w);
    return err;
}

static weft_err abi_get_call_stack(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)a;
    address_t stack[r->depth];
    for (uint32_t i = 0; i < r->depth; i++)
        stack[i] = r->frames[i].addr;
    return ret_addr_list(r, ctx, stack, r->depth, res);
}

static weft_err abi_get_owned_addresses(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)a;
    return ret_addr_list(r, ctx, top(r)->owned, top(r)->owned_len, res);
}

static weft_err abi_caller_has_write_access(sc_run *r, vm_call_ctx *ctx, const vm_val *a,
                                            vm_val *res)
{
    (void)ctx;
    (void)a;
    const sc_frame *caller = r->depth >= 2 ? &r->frames[r->depth - 2] : top(r);
    res[0].i32 = sc_frame_owns(caller, current(r));
    return WEFT_OK;
}

static weft_err abi_get_call_coins(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i64 = top(r)->coins.nano;
    return WEFT_OK;
}

static weft_err abi_get_balance(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    return balance_of(r, current(r), &res[0].i64);
}

static weft_err abi_get_balance_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    return err ? err : balance_of(r, &addr, &res[0].i64);
}

static weft_err abi_get_time(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    uint64_t t;
    if (slot_time(r->params, &t, r->slot) != WEFT_OK)
        return sc_fail(r, WEFT_E_SC_ABI, "the slot's time overflows");
    res[0].i64 = t;
    return WEFT_OK;
}

static weft_err abi_get_current_period(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i64 = r->slot.period;
    return WEFT_OK;
}

static weft_err abi_get_current_thread(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i32 = r->slot.thread;
    return WEFT_OK;
}

static weft_err abi_chain_id(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i64 = r->params->chain_id;
    return WEFT_OK;
}

static weft_err abi_get_remaining_gas(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i64 = vm_store_gas(r->store);
    return WEFT_OK;
}

static weft_err abi_get_origin_operation_id(sc_run *r, vm_call_ctx *ctx, const vm_val *a,
                                            vm_val *res)
{
    (void)a;
    char s[MODEL_STR_MAX] = "";
    if (r->has_op)
        op_id_to_str(s, &r->op_id);
    return ret_str(r, ctx, s, strlen(s), res);
}

/* unsafe_random: the first 8 bytes (LE) of BLAKE3("weft.sc.random" ‖ origin ‖ u64be draw). */
static uint64_t draw(sc_run *r)
{
    static const char tag[] = "weft.sc.random";
    uint8_t buf[sizeof tag - 1 + 32 + 8], h[32];
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, r->origin.b, 32);
    uint64_t c = r->rng_counter++;
    for (int i = 0; i < 8; i++)
        buf[sizeof tag - 1 + 32 + i] = (uint8_t)(c >> (56 - 8 * i));
    crypto_blake3(h, buf, sizeof buf);
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | h[i];
    return x;
}

static weft_err abi_unsafe_random(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    res[0].i64 = draw(r);
    return WEFT_OK;
}

static weft_err env_seed(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)a;
    double d = (double)(draw(r) >> 11) * 0x1p-53; /* uniform in [0, 1) */
    memcpy(&res[0].f64, &d, sizeof d);
    return WEFT_OK;
}

static weft_err env_date_now(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    vm_val t = {0};
    weft_err err = abi_get_time(r, ctx, a, &t);
    if (err)
        return err;
    double d = (double)t.i64;
    memcpy(&res[0].f64, &d, sizeof d);
    return WEFT_OK;
}

/* ---- coins ----------------------------------------------------------------------------------- */

static weft_err abi_transfer_coins(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    if ((int64_t)a[1].i64 < 0)
        return sc_fail(r, WEFT_E_SC_ABI, "negative amount");
    address_t to;
    weft_err err = arg_addr(r, ctx, a[0].i32, &to);
    return err ? err : transfer(r, current(r), &to, a[1].i64);
}

static weft_err abi_transfer_coins_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    if ((int64_t)a[2].i64 < 0)
        return sc_fail(r, WEFT_E_SC_ABI, "negative amount");
    address_t from, to;
    weft_err err = arg_addr(r, ctx, a[0].i32, &from);
    if (!err)
        err = arg_addr(r, ctx, a[1].i32, &to);
    if (err)
        return err;
    if (!sc_frame_owns(top(r), &from)) {
        char s[MODEL_STR_MAX];
        address_to_str(s, &from);
        return sc_fail(r, WEFT_E_SC_ABI, "spending from %s is not allowed in this context", s);
    }
    return transfer(r, &from, &to, a[2].i64);
}

/* ---- events and logs ------------------------------------------------------------------------- */

static weft_err abi_generate_event(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &s, &n);
    if (err)
        return err;
    err = sc_emit(r, s, n);
    free(s);
    return err;
}

/* print: Massa writes it to the node's debug log; weft reads it (pointer checks, gas) and drops
 * it — the host is pure. */
static weft_err abi_print(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &s, &n);
    free(err ? NULL : s);
    return err;
}

static weft_err console(sc_run *r, vm_call_ctx *ctx, uint32_t ptr, const char *prefix)
{
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), ptr, &s, &n);
    if (err)
        return err;
    size_t pl = strlen(prefix);
    char *e = malloc(pl + 3 + n + 1);
    if (!e) {
        free(s);
        return sc_fault(r, WEFT_E_NOMEM);
    }
    memcpy(e, prefix, pl);
    memcpy(e + pl, " | ", 3);
    memcpy(e + pl + 3, s, n);
    err = sc_emit(r, e, pl + 3 + n);
    free(e);
    free(s);
    return err;
}

static weft_err env_console_log(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return console(r, ctx, a[0].i32, "LOG");
}
static weft_err env_console_info(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return console(r, ctx, a[0].i32, "INFO");
}
static weft_err env_console_warn(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return console(r, ctx, a[0].i32, "WARN");
}
static weft_err env_console_error(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return console(r, ctx, a[0].i32, "ERROR");
}
static weft_err env_console_debug(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return console(r, ctx, a[0].i32, "DEBUG");
}

/* A float as Rust's Display prints it: the shortest digits that read back to the same value, in
 * positional notation ("1.5", "2", "0.001", "100000000000000000000"). */
static void fmt_f64(char *out, size_t cap, double x)
{
    if (isnan(x)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(x)) {
        snprintf(out, cap, x < 0 ? "-inf" : "inf");
        return;
    }
    char e[40];
    int p = 0;
    for (; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, x);
        if (strtod(e, NULL) == x)
            break;
    }
    /* e = [-]d.ddddde±XX → digits and exponent */
    char digits[24];
    size_t nd = 0;
    const char *s = e;
    bool neg = *s == '-';
    if (neg)
        s++;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    int exp10 = atoi(s + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t o = 0;
    if (neg && o + 1 < cap)
        out[o++] = '-';
    int point = exp10 + 1; /* digits before the decimal point */
    if (point <= 0) {
        for (int i = 0; i < 2 - point && o + 1 < cap; i++)
            out[o++] = i == 1 ? '.' : '0';
        for (size_t i = 0; i < nd && o + 1 < cap; i++)
            out[o++] = digits[i];
    } else {
        for (int i = 0; i < point && o + 1 < cap; i++)
            out[o++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd && o + 1 < cap) {
            out[o++] = '.';
            for (size_t i = (size_t)point; i < nd && o + 1 < cap; i++)
                out[o++] = digits[i];
        }
    }
    out[o] = '\0';
}

static weft_err env_trace(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &s, &n);
    if (err)
        return err;
    int count = (int)a[1].i32;
    char buf[EXEC_EVENT_DATA_MAX + 64];
    size_t o = 0;
    if (count >= 1 && count <= 5) {
        o = (size_t)snprintf(buf, sizeof buf, "msg: %.*s", (int)(n > 900 ? 900 : n), s);
        for (int i = 0; i < count && o < sizeof buf; i++) {
            double d;
            memcpy(&d, &a[2 + i].f64, sizeof d);
            char f[40];
            fmt_f64(f, sizeof f, d);
            o += (size_t)snprintf(buf + o, sizeof buf - o, ", a%d: %s", i, f);
        }
        if (o >= sizeof buf)
            o = sizeof buf - 1;
        err = sc_emit(r, buf, o);
    } else {
        err = sc_emit(r, s, n);
    }
    free(s);
    return err;
}

static weft_err env_abort(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    char *msg = NULL, *file = NULL;
    size_t ml, fl;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &msg, &ml);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &file, &fl);
    if (!err)
        err = sc_fail(r, WEFT_E_SC_ABORT, "%s at %s:%u col: %u", msg, file, a[2].i32, a[3].i32);
    free(msg);
    free(file);
    return err;
}

static weft_err env_process_exit(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)ctx;
    (void)res;
    return sc_fail(r, WEFT_E_SC_ABORT, "exit with code: %d", (int)a[0].i32);
}

/* ---- hashes and keys ------------------------------------------------------------------------- */

typedef void (*hash_fn)(uint8_t out[32], const void *data, size_t len);

static weft_err hash_with(sc_run *r, vm_call_ctx *ctx, uint32_t ptr, hash_fn h, vm_val *res)
{
    uint8_t *b, out[32];
    size_t n;
    weft_err err = sc_read_bytes(r, INST(ctx), ptr, &b, &n);
    if (!err)
        err = sc_charge_bytes(r, n);
    if (!err) {
        h(out, b, n);
        err = ret_bytes(r, ctx, out, 32, res);
    }
    free(b);
    return err;
}

static void blake3_fn(uint8_t out[32], const void *d, size_t n) { crypto_blake3(out, d, n); }
static void sha256_fn(uint8_t out[32], const void *d, size_t n) { crypto_sha256(out, d, n); }

static weft_err abi_hash(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return hash_with(r, ctx, a[0].i32, blake3_fn, res);
}
static weft_err abi_hash_sha256(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return hash_with(r, ctx, a[0].i32, sha256_fn, res);
}
static weft_err abi_keccak256_hash(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    return hash_with(r, ctx, a[0].i32, sc_keccak256, res);
}

/* Ed25519 over BLAKE3(UTF-8 of data); an unparsable signature or key is simply false. */
static weft_err abi_signature_verify(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    char *data = NULL, *sig = NULL, *pk = NULL;
    size_t dl, sl, pl;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &data, &dl);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &sig, &sl);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[2].i32, &pk, &pl);
    if (!err)
        err = sc_charge_bytes(r, dl);
    if (!err) {
        signature_t s;
        pubkey_t k;
        hash32_t h;
        crypto_blake3(h.b, data, dl);
        res[0].i32 = signature_parse(&s, sig) == WEFT_OK && pubkey_parse(&k, pk) == WEFT_OK &&
                     model_verify_digest(&s, &k, &h) == WEFT_OK;
    }
    free(data);
    free(sig);
    free(pk);
    return err;
}

static weft_err abi_address_from_public_key(sc_run *r, vm_call_ctx *ctx, const vm_val *a,
                                            vm_val *res)
{
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &s, &n);
    if (err)
        return err;
    pubkey_t k;
    if (pubkey_parse(&k, s) != WEFT_OK) {
        err = sc_fail(r, WEFT_E_SC_ABI, "invalid public key '%.*s'", MSG_ADDR(s));
    } else {
        address_t addr;
        address_of_pubkey(&addr, &k);
        err = ret_addr(r, ctx, &addr, res);
    }
    free(s);
    return err;
}

static weft_err abi_validate_address(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    char *s;
    size_t n;
    weft_err err = sc_read_str(r, INST(ctx), a[0].i32, &s, &n);
    if (err)
        return err;
    address_t addr;
    res[0].i32 = address_parse(&addr, s) == WEFT_OK;
    free(s);
    return WEFT_OK;
}

static weft_err abi_is_address_eoa(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t addr;
    weft_err err = arg_addr(r, ctx, a[0].i32, &addr);
    if (!err)
        res[0].i32 = addr.kind == ADDRESS_USER;
    return err;
}

/* ---- calls and bytecode ---------------------------------------------------------------------- */

static weft_err code_of(sc_run *r, const address_t *a, uint8_t **code, size_t *len)
{
    const uint8_t *c;
    size_t n;
    weft_err err = state_bytecode_get(r->view, a, &c, &n);
    if (err == WEFT_E_NOT_FOUND) {
        char s[MODEL_STR_MAX];
        address_to_str(s, a);
        return sc_fail(r, WEFT_E_SC_ABI, "no bytecode at %s", s);
    }
    if (err)
        return sc_fault(r, err);
    if ((err = sc_charge_bytes(r, n)))
        return err;
    *code = malloc(n ? n : 1);
    if (!*code)
        return sc_fault(r, WEFT_E_NOMEM);
    memcpy(*code, c, n);
    *len = n;
    return WEFT_OK;
}

static weft_err nest(sc_run *r)
{
    if (r->nesting >= r->cfg->max_call_depth)
        return sc_fail(r, WEFT_E_SC_DEPTH, "more than %u nested calls", r->cfg->max_call_depth);
    r->nesting++;
    return WEFT_OK;
}

/* Runs func of code with param in the current context (local) or in a pushed frame, and returns
 * the result buffer into the calling instance. */
static weft_err run_nested(sc_run *r, vm_call_ctx *ctx, const uint8_t *code, size_t len,
                           const char *func, size_t flen, const uint8_t *param, size_t plen,
                           vm_val *res)
{
    uint8_t *ret;
    size_t rl;
    weft_err err = sc_run_function(r, code, len, func, flen, param, plen, &ret, &rl);
    r->nesting--;
    if (err)
        return err;
    err = ret_bytes(r, ctx, ret, rl, res);
    free(ret);
    return err;
}

static weft_err abi_call(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    if ((int64_t)a[3].i64 < 0)
        return sc_fail(r, WEFT_E_SC_ABI, "negative amount of coins in call");
    address_t to;
    char *func = NULL;
    size_t flen, plen, clen;
    uint8_t *param = NULL, *code = NULL;
    weft_err err = arg_addr(r, ctx, a[0].i32, &to);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &func, &flen);
    if (!err)
        err = sc_read_bytes(r, INST(ctx), a[2].i32, &param, &plen);
    if (err)
        goto out;
    bool yes;
    if ((err = entry_exists(r, &to, &yes)))
        goto out;
    if (to.kind != ADDRESS_SC || !yes) {
        char s[MODEL_STR_MAX];
        address_to_str(s, &to);
        err = sc_fail(r, WEFT_E_SC_ABI, "call target %s is not an existing smart contract", s);
        goto out;
    }
    if ((err = code_of(r, &to, &code, &clen)) || (err = nest(r)))
        goto out;
    if ((err = transfer(r, current(r), &to, a[3].i64)) ||
        (err = sc_frame_push(r, &to, amount_from_nano(a[3].i64), false))) {
        r->nesting--;
        goto out;
    }
    err = run_nested(r, ctx, code, clen, func, flen, param, plen, res);
    sc_frame_pop(r);
out:
    free(func);
    free(param);
    free(code);
    return err;
}

static weft_err abi_local_call(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t at;
    char *func = NULL;
    size_t flen, plen, clen;
    uint8_t *param = NULL, *code = NULL;
    weft_err err = arg_addr(r, ctx, a[0].i32, &at);
    if (!err)
        err = code_of(r, &at, &code, &clen);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &func, &flen);
    if (!err)
        err = sc_read_bytes(r, INST(ctx), a[2].i32, &param, &plen);
    if (!err && !(err = nest(r)))
        err = run_nested(r, ctx, code, clen, func, flen, param, plen, res);
    free(func);
    free(param);
    free(code);
    return err;
}

static weft_err abi_local_execution(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    char *func = NULL;
    size_t flen, plen, clen;
    uint8_t *param = NULL, *code = NULL;
    weft_err err = sc_read_bytes(r, INST(ctx), a[0].i32, &code, &clen);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &func, &flen);
    if (!err)
        err = sc_read_bytes(r, INST(ctx), a[2].i32, &param, &plen);
    if (!err && !(err = nest(r)))
        err = run_nested(r, ctx, code, clen, func, flen, param, plen, res);
    free(func);
    free(param);
    free(code);
    return err;
}

static weft_err abi_function_exists(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t at;
    char *func = NULL;
    size_t flen, clen;
    uint8_t *code = NULL;
    weft_err err = arg_addr(r, ctx, a[0].i32, &at);
    if (!err)
        err = sc_read_str(r, INST(ctx), a[1].i32, &func, &flen);
    if (!err)
        err = code_of(r, &at, &code, &clen);
    vm_module *m;
    if (!err && !(err = sc_module(r, code, clen, &m))) {
        bool found = false;
        uint32_t n = vm_module_export_count(m);
        for (uint32_t i = 0; i < n && !found; i++) {
            const char *name;
            size_t len;
            vm_extern_kind kind;
            vm_module_export_at(m, i, &name, &len, &kind);
            found = kind == VM_EXTERN_FUNC && len == flen && memcmp(name, func, len) == 0;
        }
        res[0].i32 = found;
    }
    free(func);
    free(code);
    return err;
}

/* A new SC address: BLAKE3("weft.sc.address" ‖ origin ‖ u64be index of creation in the run). */
static void new_address(sc_run *r, address_t *out)
{
    static const char tag[] = "weft.sc.address";
    uint8_t buf[sizeof tag - 1 + 32 + 8];
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, r->origin.b, 32);
    uint64_t c = r->created++;
    for (int i = 0; i < 8; i++)
        buf[sizeof tag - 1 + 32 + i] = (uint8_t)(c >> (56 - 8 * i));
    out->kind = ADDRESS_SC;
    crypto_blake3(out->hash.b, buf, sizeof buf);
}

static weft_err abi_create_sc(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    uint8_t *code;
    size_t n;
    weft_err err = sc_read_bytes(r, INST(ctx), a[0].i32, &code, &n);
    if (err)
        return err;
    address_t addr;
    new_address(r, &addr);
    bool taken;
    if ((err = entry_exists(r, &addr, &taken)))
        goto out;
    if (taken) {
        err = sc_fail(r, WEFT_E_SC_ABI, "the new smart-contract address is taken");
        goto out;
    }
    if (n > OP_MAX_BYTECODE_LEN) {
        err =
            sc_fail(r, WEFT_E_SC_ABI, "bytecode of %zu bytes (at most %d)", n, OP_MAX_BYTECODE_LEN);
        goto out;
    }
    if ((err = state_balance_set(r->view, &addr, amount_from_nano(0))) ||
        (err = state_bytecode_set(r->view, &addr, code, n)) ||
        (err = sc_frame_own(sc_top(r), &addr))) {
        err = sc_fault(r, err);
        goto out;
    }
    err = ret_addr(r, ctx, &addr, res);
out:
    free(code);
    return err;
}

static weft_err set_code(sc_run *r, vm_call_ctx *ctx, const address_t *at, uint32_t ptr)
{
    uint8_t *code;
    size_t n;
    weft_err err = sc_read_bytes(r, INST(ctx), ptr, &code, &n);
    if (err)
        return err;
    if (at->kind != ADDRESS_SC)
        err = sc_fail(r, WEFT_E_SC_ABI, "cannot set the bytecode of a user address");
    else if (n > OP_MAX_BYTECODE_LEN)
        err =
            sc_fail(r, WEFT_E_SC_ABI, "bytecode of %zu bytes (at most %d)", n, OP_MAX_BYTECODE_LEN);
    else if (!(err = check_write(r, at)) && (err = state_bytecode_set(r->view, at, code, n)))
        err = sc_fault(r, err);
    free(code);
    return err;
}

static weft_err abi_set_bytecode(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    return set_code(r, ctx, current(r), a[0].i32);
}

static weft_err abi_set_bytecode_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)res;
    address_t at;
    weft_err err = arg_addr(r, ctx, a[0].i32, &at);
    return err ? err : set_code(r, ctx, &at, a[1].i32);
}

static weft_err get_code(sc_run *r, vm_call_ctx *ctx, const address_t *at, vm_val *res)
{
    uint8_t *code;
    size_t n;
    weft_err err = code_of(r, at, &code, &n);
    if (err)
        return err;
    err = ret_bytes(r, ctx, code, n, res);
    free(code);
    return err;
}

static weft_err abi_get_bytecode(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    (void)a;
    return get_code(r, ctx, current(r), res);
}

static weft_err abi_get_bytecode_for(sc_run *r, vm_call_ctx *ctx, const vm_val *a, vm_val *res)
{
    address_t at;
    weft_err err = arg_addr(r, ctx, a[0].i32, &at);
    return err ? err : get_code(r, ctx, &at, res);
}

/* ---- the table ------------------------------------------------------------------------------- */

#define M(name, p, res, gas, fn)                                                                   \
    {                                                                                              \
        "massa", "assembly_script_" name, p, res, gas, fn, false                                   \
    }
#define E(name, p, res, gas, fn, start)                                                            \
    {                                                                                              \
        "env", name, p, res, gas, fn, start                                                        \
    }

const sc_abi_def sc_abi_table[] = {
    /* env: AssemblyScript's own imports */
    E("abort", "iiii", "", 1, env_abort, true),
    E("seed", "", "F", 360, env_seed, false),
    E("Date.now", "", "F", 355, env_date_now, false),
    E("console.log", "i", "", 855, env_console_log, false),
    E("console.info", "i", "", 855, env_console_info, false),
    E("console.warn", "i", "", 855, env_console_warn, false),
    E("console.error", "i", "", 855, env_console_error, false),
    E("console.debug", "i", "", 855, env_console_debug, false),
    E("trace", "iiFFFFF", "", 855, env_trace, false),
    E("process.exit", "i", "", 1, env_process_exit, true),
    /* storage */
    M("set_data", "ii", "", 940, abi_set_data),
    M("set_data_for", "iii", "", 1070, abi_set_data_for),
    M("get_data", "i", "i", 1040, abi_get_data),
    M("get_data_for", "ii", "i", 1240, abi_get_data_for),
    M("delete_data", "i", "", 980, abi_delete_data),
    M("delete_data_for", "ii", "", 1100, abi_delete_data_for),
    M("append_data", "ii", "", 1060, abi_append_data),
    M("append_data_for", "iii", "", 1290, abi_append_data_for),
    M("has_data", "i", "i", 845, abi_has_data),
    M("has_data_for", "ii", "i", 1220, abi_has_data_for),
    M("get_keys", "i", "i", 1000, abi_get_keys),
    M("get_keys_for", "ii", "i", 1195, abi_get_keys_for),
    /* operation datastore */
    M("get_op_keys", "", "i", 1400, abi_get_op_keys),
    M("get_op_keys_prefix", "i", "i", 1400, abi_get_op_keys_prefix),
    M("has_op_key", "i", "i", 1455, abi_has_op_key),
    M("get_op_data", "i", "i", 50000, abi_get_op_data),
    /* context */
    M("get_call_stack", "", "i", 1560, abi_get_call_stack),
    M("get_owned_addresses", "", "i", 1600, abi_get_owned_addresses),
    M("caller_has_write_access", "", "i", 775, abi_caller_has_write_access),
    M("get_call_coins", "", "I", 725, abi_get_call_coins),
    M("get_balance", "", "I", 745, abi_get_balance),
    M("get_balance_for", "i", "I", 900, abi_get_balance_for),
    M("get_time", "", "I", 750, abi_get_time),
    M("get_current_period", "", "I", 785, abi_get_current_period),
    M("get_current_thread", "", "i", 770, abi_get_current_thread),
    M("chain_id", "", "I", 785, abi_chain_id),
    M("get_remaining_gas", "", "I", 580, abi_get_remaining_gas),
    M("get_origin_operation_id", "", "i", 785, abi_get_origin_operation_id),
    M("unsafe_random", "", "I", 790, abi_unsafe_random),
    /* coins */
    M("transfer_coins", "iI", "", 1045, abi_transfer_coins),
    M("transfer_coins_for", "iiI", "", 1190, abi_transfer_coins_for),
    /* events and logs */
    M("generate_event", "i", "", 860, abi_generate_event),
    M("print", "i", "", 855, abi_print),
    /* calls and bytecode */
    M("call", "iiiI", "i", 15000, abi_call),
    M("local_call", "iii", "i", 15000, abi_local_call),
    M("local_execution", "iii", "i", 314000000, abi_local_execution),
    M("function_exists", "ii", "i", 2875, abi_function_exists),
    M("create_sc", "i", "i", 745000000, abi_create_sc),
    M("set_bytecode", "i", "", 745000000, abi_set_bytecode),
    M("set_bytecode_for", "ii", "", 745000000, abi_set_bytecode_for),
    M("get_bytecode", "", "i", 1100, abi_get_bytecode),
    M("get_bytecode_for", "i", "i", 1375, abi_get_bytecode_for),
    /* crypto and addresses */
    M("hash", "i", "i", 1055, abi_hash),
    M("hash_sha256", "i", "i", 990, abi_hash_sha256),
    M("keccak256_hash", "i", "i", 1055, abi_keccak256_hash),
    M("signature_verify", "iii", "i", 1200, abi_signature_verify),
    M("address_from_public_key", "i", "i", 1570, abi_address_from_public_key),
    M("validate_address", "i", "i", 890, abi_validate_address),
    M("is_address_eoa", "i", "i", 450, abi_is_address_eoa),
    /* not supported by weft: linked (a contract may import them) but fail when called */
    M("evm_signature_verify", "iii", "i", 3310, NULL),
    M("evm_get_address_from_pubkey", "i", "i", 1120, NULL),
    M("evm_get_pubkey_from_signature", "ii", "i", 1540, NULL),
    M("send_message", "iiIiIiIIIiii", "", 40000000, NULL),
    M("get_deferred_call_quote", "IiII", "I", 1220, NULL),
    M("deferred_call_register", "iiIiIiI", "i", 2650, NULL),
    M("deferred_call_exists", "i", "i", 6580, NULL),
    M("deferred_call_cancel", "i", "", 4165, NULL),
};

const size_t sc_abi_count = WEFT_ARRAY_LEN(sc_abi_table);
