/* Execution of one slot (docs/consensus.md §3): pruning of expired executed-op records, the
 * block's operations in order (rejection rules, fee taken into the slot's diff, effect in an
 * operation-level diff folded in on success and dropped on failure), rewards, the slot record
 * (seed bit and production statistics), deferred credits due at the slot, and the end-of-cycle
 * auto-sell.  Events are collected in the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"

/* Size of one entry of a layer array (a pointer to a diff). */
#define LAYER_SIZE sizeof(void *)
WEFT_STATIC_ASSERT(sizeof(const state_diff_t *) == sizeof(void *), "layer pointer size");

void exec_config_default(exec_config *c) { c->max_block_gas = EXEC_DEFAULT_MAX_BLOCK_GAS; }

void exec_output_free(exec_output *o)
{
    if (!o)
        return;
    state_diff_free(o->diff);
    for (size_t i = 0; i < o->event_count; i++) {
        free(o->events[i].call_stack);
        free(o->events[i].data);
    }
    free(o->events);
    free(o->results);
    memset(o, 0, sizeof *o);
}

/* ---- events ---------------------------------------------------------------------------------- */

typedef struct slot_ctx {
    const exec_config *cfg;
    const exec_vm_t *vm;
    const model_params *p;
    const exec_slot_in *in;
    exec_output *out;
    state_view_t sv; /* top: the slot diff */
    state_view_t ov; /* layers + slot diff, top: the operation diff */
    state_diff_t *op_diff;
    const op_id_t *cur_op; /* the operation running, for its events */
} slot_ctx;

static weft_err push_event(slot_ctx *c, const address_t *stack, size_t depth, bool is_error,
                           const char *data, size_t len)
{
    exec_output *o = c->out;
    if (len > EXEC_EVENT_DATA_MAX)
        return WEFT_E_LIMIT;
    if (o->event_count == o->event_cap) {
        size_t cap = o->event_cap ? 2 * o->event_cap : 8;
        exec_event_t *ev = realloc(o->events, cap * sizeof *ev);
        if (!ev)
            return WEFT_E_NOMEM;
        o->events = ev;
        o->event_cap = cap;
    }
    exec_event_t e = {
        .slot = c->in->slot,
        .index = (uint32_t)o->event_count,
        .has_block = c->in->block != NULL,
        .has_op = c->cur_op != NULL,
        .is_error = is_error,
        .data_len = len,
    };
    if (c->in->block)
        e.block = c->in->block->id;
    if (c->cur_op)
        e.op = *c->cur_op;
    e.data = malloc(len + 1);
    e.call_stack = depth ? malloc(depth * sizeof *e.call_stack) : NULL;
    if (!e.data || (depth && !e.call_stack)) {
        free(e.data);
        free(e.call_stack);
        return WEFT_E_NOMEM;
    }
    memcpy(e.data, data, len);
    e.data[len] = '\0';
    if (depth)
        memcpy(e.call_stack, stack, depth * sizeof *stack);
    e.call_stack_len = depth;
    o->events[o->event_count++] = e;
    return WEFT_OK;
}

static weft_err vm_emit(void *ctx, const address_t *call_stack, size_t depth, const char *data,
                        size_t len)
{
    return push_event(ctx, call_stack, depth, false, data, len);
}

static void drop_events_from(exec_output *o, size_t from)
{
    while (o->event_count > from) {
        exec_event_t *e = &o->events[--o->event_count];
        free(e->call_stack);
        free(e->data);
    }
}

/* {"massa_execution_error":"<msg>"} with the message JSON-escaped and cut to fit the limit. */
static weft_err error_event(slot_ctx *c, const address_t *caller, weft_err failure,
                            const char *detail)
{
    char buf[EXEC_EVENT_DATA_MAX + 1];
    static const char head[] = "{\"massa_execution_error\":\"", tail[] = "\"}";
    char msg[EXEC_MESSAGE_MAX + 128];
    if (detail && detail[0])
        snprintf(msg, sizeof msg, "%s: %s", weft_strerror(failure), detail);
    else
        snprintf(msg, sizeof msg, "%s", weft_strerror(failure));
    size_t n = 0, room = sizeof buf - 1 - (sizeof tail - 1);
    memcpy(buf, head, sizeof head - 1);
    n = sizeof head - 1;
    for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
        char esc[8];
        size_t k;
        if (*s == '"' || *s == '\\')
            k = (size_t)snprintf(esc, sizeof esc, "\\%c", *s);
        else if (*s < 0x20)
            k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *s);
        else {
            esc[0] = (char)*s;
            k = 1;
        }
        if (n + k > room)
            break;
        memcpy(buf + n, esc, k);
        n += k;
    }
    memcpy(buf + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    return push_event(c, caller, 1, true, buf, n);
}

/* ---- ledger helpers -------------------------------------------------------------------------- */

/* Adds x to a's balance, creating the entry.  *fail (node faults are returned): E_OVERFLOW. */
static weft_err credit(state_view_t *v, const address_t *a, amount_t x, weft_err *fail)
{
    amount_t b;
    weft_err err = state_balance_get(v, a, &b);
    if (err == WEFT_E_NOT_FOUND)
        b.nano = 0;
    else if (err)
        return err;
    if (!amount_add(&b, b, x)) {
        *fail = WEFT_E_OVERFLOW;
        return WEFT_OK;
    }
    return state_balance_set(v, a, b);
}

/* Takes x from a's balance.  *fail: E_EXEC_INSUFFICIENT (no entry or not enough). */
static weft_err debit(state_view_t *v, const address_t *a, amount_t x, weft_err *fail)
{
    amount_t b;
    weft_err err = state_balance_get(v, a, &b);
    if (err == WEFT_E_NOT_FOUND) {
        *fail = WEFT_E_EXEC_INSUFFICIENT;
        return WEFT_OK;
    }
    if (err)
        return err;
    if (!amount_sub(&b, b, x)) {
        *fail = WEFT_E_EXEC_INSUFFICIENT;
        return WEFT_OK;
    }
    return state_balance_set(v, a, b);
}

/* Credits that must not fail (rewards, deferred credits): an overflow is a fault of the slot. */
static weft_err credit_must(state_view_t *v, const address_t *a, amount_t x)
{
    weft_err fail = WEFT_OK;
    weft_err err = credit(v, a, x, &fail);
    return err ? err : fail;
}

/* The slot where a roll sale of cycle C is paid: the last slot of cycle C + 3. */
static bool sale_due(const model_params *p, uint64_t cycle, slot_t *out)
{
    uint64_t c4, first;
    if (!u64_add(&c4, cycle, 4) || !u64_mul(&first, c4, p->periods_per_cycle))
        return false;
    out->period = first - 1;
    out->thread = (uint8_t)(p->thread_count - 1);
    return true;
}

/* ---- operation effects (in the operation view; *fail for operation failures) ---------------- */

static weft_err do_transaction(slot_ctx *c, const address_t *from, const operation_t *op,
                               weft_err *fail)
{
    const address_t *to = &op->u.transaction.recipient;
    weft_err err = debit(&c->ov, from, op->u.transaction.amount, fail);
    if (err || *fail)
        return err;
    amount_t b;
    err = state_balance_get(&c->ov, to, &b);
    if (err == WEFT_E_NOT_FOUND && to->kind != ADDRESS_USER) {
        *fail = WEFT_E_EXEC_RECIPIENT;
        return WEFT_OK;
    }
    if (err && err != WEFT_E_NOT_FOUND)
        return err;
    return credit(&c->ov, to, op->u.transaction.amount, fail);
}

static weft_err do_roll_buy(slot_ctx *c, const address_t *a, const operation_t *op, weft_err *fail)
{
    uint64_t n = op->u.roll.roll_count, rolls;
    amount_t cost;
    if (n == 0) {
        *fail = WEFT_E_EXEC_ROLL_COUNT;
        return WEFT_OK;
    }
    if (!amount_mul(&cost, amount_from_nano(c->p->roll_price), n)) {
        *fail = WEFT_E_EXEC_INSUFFICIENT;
        return WEFT_OK;
    }
    weft_err err = debit(&c->ov, a, cost, fail);
    if (err || *fail)
        return err;
    if ((err = state_rolls_get(&c->ov, a, &rolls)))
        return err;
    if (!u64_add(&rolls, rolls, n)) {
        *fail = WEFT_E_OVERFLOW;
        return WEFT_OK;
    }
    return state_rolls_set(&c->ov, a, rolls);
}

static weft_err do_roll_sell(slot_ctx *c, const address_t *a, const operation_t *op, weft_err *fail)
{
    uint64_t n = op->u.roll.roll_count, rolls;
    weft_err err = state_rolls_get(&c->ov, a, &rolls);
    if (err)
        return err;
    if (n == 0 || n > rolls) {
        *fail = WEFT_E_EXEC_ROLL_COUNT;
        return WEFT_OK;
    }
    amount_t value;
    slot_t due;
    if (!amount_mul(&value, amount_from_nano(c->p->roll_price), n) ||
        !sale_due(c->p, cycle_of_period(c->p, c->in->slot.period), &due)) {
        *fail = WEFT_E_OVERFLOW;
        return WEFT_OK;
    }
    if ((err = state_rolls_set(&c->ov, a, rolls - n)))
        return err;
    amount_t have;
    if ((err = state_credit_get(&c->ov, due, a, &have)))
        return err;
    if (!amount_add(&have, have, value)) {
        *fail = WEFT_E_OVERFLOW;
        return WEFT_OK;
    }
    return state_credit_add(&c->ov, due, a, value);
}

static weft_err do_sc(slot_ctx *c, const address_t *a, const signed_op_t *so, weft_err *fail,
                      char *message)
{
    const operation_t *op = &so->op;
    if (!c->vm) {
        *fail = WEFT_E_EXEC_NO_VM;
        return WEFT_OK;
    }
    amount_t before;
    weft_err err = state_balance_get(&c->ov, a, &before);
    if (err)
        return err;
    uint64_t max_gas;
    if (op->type == OP_CALL_SC) {
        /* coins move to an existing target before the call */
        amount_t tb;
        max_gas = op->u.call_sc.max_gas;
        err = state_balance_get(&c->ov, &op->u.call_sc.target, &tb);
        if (err == WEFT_E_NOT_FOUND) {
            *fail = WEFT_E_EXEC_RECIPIENT;
            return WEFT_OK;
        }
        if (err)
            return err;
        err = debit(&c->ov, a, op->u.call_sc.coins, fail);
        if (!err && !*fail)
            err = credit(&c->ov, &op->u.call_sc.target, op->u.call_sc.coins, fail);
        if (err || *fail)
            return err;
    } else {
        max_gas = op->u.execute_sc.max_gas;
    }
    exec_sc_call_t call = {
        .view = &c->ov,
        .params = c->p,
        .slot = c->in->slot,
        .block = &c->in->block->id,
        .op_id = &so->id,
        .caller = a,
        .op = op,
        .max_gas = max_gas,
        .emit = vm_emit,
        .emit_ctx = c,
    };
    if ((err = c->vm->vt->run(c->vm->self, &call)))
        return err;
    if (call.failure) {
        *fail = call.failure;
        call.message[EXEC_MESSAGE_MAX - 1] = '\0';
        memcpy(message, call.message, EXEC_MESSAGE_MAX);
        return WEFT_OK;
    }
    /* the caller's balance may not drop by more than the spending the operation allows */
    amount_t spend, after, floor;
    const amount_t cap = op->type == OP_CALL_SC ? op->u.call_sc.coins : op->u.execute_sc.max_coins;
    err = state_balance_get(&c->ov, a, &after);
    if (err == WEFT_E_NOT_FOUND)
        after.nano = 0;
    else if (err)
        return err;
    spend = cap;
    if (amount_sub(&floor, before, spend) && after.nano < floor.nano)
        *fail = WEFT_E_EXEC_MAX_SPENDING;
    return WEFT_OK;
}

/* ---- one operation --------------------------------------------------------------------------- */

static uint64_t op_gas(const operation_t *op)
{
    if (op->type == OP_EXECUTE_SC)
        return op->u.execute_sc.max_gas;
    if (op->type == OP_CALL_SC)
        return op->u.call_sc.max_gas;
    return 0;
}

static weft_err run_op(slot_ctx *c, const signed_op_t *so, uint64_t *gas_left, exec_op_result *res)
{
    const operation_t *op = &so->op;
    const model_params *p = c->p;
    uint64_t period = c->in->slot.period;
    address_t creator;
    address_of_pubkey(&creator, &so->creator);
    res->id = so->id;
    res->accepted = false;

    /* rejection rules: no effect at all */
    uint64_t low = op->expire_period > p->operation_validity_periods
                       ? op->expire_period - p->operation_validity_periods
                       : 0;
    if (period < low || period > op->expire_period) {
        res->status = WEFT_E_EXEC_OP_PERIOD;
        return WEFT_OK;
    }
    if (address_thread(&creator, p->thread_count) != c->in->slot.thread) {
        res->status = WEFT_E_EXEC_OP_THREAD;
        return WEFT_OK;
    }
    uint64_t gas = op_gas(op);
    if (gas > *gas_left) {
        res->status = WEFT_E_EXEC_OP_GAS;
        return WEFT_OK;
    }
    bool executed;
    weft_err err = state_op_executed(&c->sv, &so->id, &executed, NULL);
    if (err)
        return err;
    if (executed) {
        res->status = WEFT_E_EXEC_OP_REPLAY;
        return WEFT_OK;
    }
    amount_t bal, credits;
    err = state_balance_get(&c->sv, &creator, &bal);
    if (err && err != WEFT_E_NOT_FOUND)
        return err;
    if (err || !amount_sub(&bal, bal, op->fee) || !amount_add(&credits, c->out->credits, op->fee)) {
        res->status = WEFT_E_EXEC_OP_FEE;
        return WEFT_OK;
    }

    /* accepted: the fee is taken, whatever happens next */
    if ((err = state_balance_set(&c->sv, &creator, bal)))
        return err;
    c->out->credits = credits;
    *gas_left -= gas;
    res->accepted = true;

    size_t events_before = c->out->event_count;
    weft_err fail = WEFT_OK;
    char message[EXEC_MESSAGE_MAX] = "";
    c->cur_op = &so->id;
    state_diff_clear(c->op_diff);
    switch (op->type) {
    case OP_TRANSACTION:
        err = do_transaction(c, &creator, op, &fail);
        break;
    case OP_ROLL_BUY:
        err = do_roll_buy(c, &creator, op, &fail);
        break;
    case OP_ROLL_SELL:
        err = do_roll_sell(c, &creator, op, &fail);
        break;
    case OP_EXECUTE_SC:
    case OP_CALL_SC:
        err = do_sc(c, &creator, so, &fail, message);
        break;
    default:
        fail = WEFT_E_OP_TYPE;
        break;
    }
    if (err)
        goto out;
    if (fail) {
        state_diff_clear(c->op_diff);
        drop_events_from(c->out, events_before);
        if ((err = error_event(c, &creator, fail, message)))
            goto out;
    } else {
        state_diff_absorb(c->out->diff, c->op_diff);
    }
    res->status = fail;
    err = state_op_mark(&c->sv, &so->id, op->expire_period, fail == WEFT_OK);
out:
    c->cur_op = NULL;
    return err;
}

/* ---- rewards, credits, auto-sell ------------------------------------------------------------- */

/* DESIGN §4.4: part = credits / (3·(1+E)); the producer gets 3 parts, 1 per included endorsement
 * and the remainder; each endorser 1 part; the endorsed block's creator 1 part per endorsement. */
static weft_err rewards(slot_ctx *c)
{
    const exec_block *b = c->in->block;
    uint64_t units = 3 * ((uint64_t)c->p->endorsement_count + 1);
    uint64_t part = c->out->credits.nano / units, rem = c->out->credits.nano % units;
    uint64_t k = b->endorsement_count;
    weft_err err = credit_must(&c->sv, &b->creator, amount_from_nano((3 + k) * part + rem));
    for (uint64_t i = 0; !err && i < k; i++)
        err = credit_must(&c->sv, &b->endorsers[i], amount_from_nano(part));
    if (!err && k)
        err = credit_must(&c->sv, &b->endorsed_creator, amount_from_nano(k * part));
    return err;
}

typedef struct credit_list {
    address_t *a;
    amount_t *x;
    size_t n, cap;
    bool nomem;
} credit_list;

static bool list_push(credit_list *l, const address_t *a, amount_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        address_t *na = realloc(l->a, cap * sizeof *na);
        if (na)
            l->a = na;
        amount_t *nx = na ? realloc(l->x, cap * sizeof *nx) : NULL;
        if (!nx) {
            l->nomem = true;
            return false;
        }
        l->x = nx;
        l->cap = cap;
    }
    l->a[l->n] = *a;
    l->x[l->n++] = x;
    return true;
}

static void list_free(credit_list *l)
{
    free(l->a);
    free(l->x);
}

static void take_cb(void *ctx, const address_t *a, amount_t amount)
{
    (void)list_push(ctx, a, amount);
}

static weft_err pay_credits(slot_ctx *c)
{
    credit_list l = {0};
    weft_err err = state_credits_take(&c->sv, c->in->slot, take_cb, &l);
    if (!err && l.nomem)
        err = WEFT_E_NOMEM;
    for (size_t i = 0; !err && i < l.n; i++)
        err = credit_must(&c->sv, &l.a[i], l.x[i]);
    list_free(&l);
    return err;
}

static bool autosell_cb(void *ctx, const address_t *a, uint64_t produced, uint64_t missed)
{
    /* missed / (produced + missed) > 7/10  ⟺  10·missed > 7·(produced + missed), in 128 bits */
    unsigned __int128 lhs = (unsigned __int128)missed * EXEC_AUTOSELL_DEN;
    unsigned __int128 rhs = ((unsigned __int128)produced + missed) * EXEC_AUTOSELL_NUM;
    if (lhs > rhs)
        return list_push(ctx, a, amount_from_nano(0));
    return true;
}

static weft_err autosell(slot_ctx *c, uint64_t cycle)
{
    credit_list l = {0};
    slot_t due;
    weft_err err = state_prod_scan(&c->sv, cycle, autosell_cb, &l);
    if (!err && l.nomem)
        err = WEFT_E_NOMEM;
    if (!err && !sale_due(c->p, cycle, &due))
        err = WEFT_E_OVERFLOW;
    for (size_t i = 0; !err && i < l.n; i++) {
        uint64_t rolls;
        amount_t value;
        if ((err = state_rolls_get(&c->sv, &l.a[i], &rolls)) || rolls == 0)
            continue;
        if (!amount_mul(&value, amount_from_nano(c->p->roll_price), rolls)) {
            err = WEFT_E_OVERFLOW;
            break;
        }
        if (!(err = state_rolls_set(&c->sv, &l.a[i], 0)))
            err = state_credit_add(&c->sv, due, &l.a[i], value);
    }
    list_free(&l);
    return err;
}

/* ---- the slot -------------------------------------------------------------------------------- */

static weft_err check_input(const model_params *p, const exec_slot_in *in)
{
    if (in->slot.thread >= p->thread_count)
        return WEFT_E_EXEC_INPUT;
    if (in->block && (in->block->endorsement_count > p->endorsement_count ||
                      (in->block->op_count && !in->block->ops)))
        return WEFT_E_EXEC_INPUT;
    return WEFT_OK;
}

weft_err exec_slot(exec_output *out, const exec_config *cfg, const exec_vm_t *vm,
                   state_final_t *final, const state_diff_t *const *layers, size_t n,
                   const exec_slot_in *in)
{
    WEFT_MISUSE(out && cfg && final && in && (layers || n == 0));
    const model_params *p = state_final_params(final);
    slot_ctx c = {.cfg = cfg, .vm = vm, .p = p, .in = in, .out = out};
    const state_diff_t **ol = NULL;
    bool views = false;
    memset(out, 0, sizeof *out);
    weft_err err = check_input(p, in);
    if (err)
        return err;
    out->slot = in->slot;
    out->producer = in->producer;
    out->has_block = in->block != NULL;
    if (in->block)
        out->block = in->block->id;
    if ((err = state_diff_new(&out->diff)) || (err = state_diff_new(&c.op_diff)))
        goto out;
    ol = malloc((n + 1) * LAYER_SIZE);
    if (!ol) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    if (n)
        memcpy(ol, layers, n * LAYER_SIZE);
    ol[n] = out->diff;
    state_view_init(&c.sv, final, layers, n, out->diff);
    state_view_init(&c.ov, final, ol, n + 1, c.op_diff);
    views = true;

    /* §3.2 step 1, one period at a time: a record of expire period e is written only by a slot
     * of period ≤ e and removed at (e + 1, 0), the first slot of the next period; every slot is
     * executed in order, so before (p, 0) nothing below p − 1 is left and after it nothing below
     * p — the other slots of p have nothing to remove.  Same diffs as removing every record below
     * p at every slot, without scanning the deletions of all the earlier slots' layers. */
    if (in->slot.thread == 0 && in->slot.period > 0 &&
        (err = state_ops_prune_range(&c.sv, in->slot.period - 1, in->slot.period)))
        goto out;
    if (in->block) {
        const exec_block *b = in->block;
        out->credits = amount_from_nano(p->block_reward);
        if (b->op_count) {
            out->results = calloc(b->op_count, sizeof *out->results);
            if (!out->results) {
                err = WEFT_E_NOMEM;
                goto out;
            }
        }
        uint64_t gas_left = cfg->max_block_gas;
        for (size_t i = 0; i < b->op_count; i++) {
            if (!b->ops[i]) {
                err = WEFT_E_EXEC_INPUT;
                goto out;
            }
            if ((err = run_op(&c, b->ops[i], &gas_left, &out->results[i])))
                goto out;
            out->result_count = i + 1;
        }
        if ((err = rewards(&c)))
            goto out;
    }
    if ((err =
             state_slot_record(&c.sv, in->slot, in->block ? &in->block->id : NULL, &in->producer)))
        goto out;
    if ((err = pay_credits(&c)))
        goto out;
    if (in->slot.thread == p->thread_count - 1 &&
        in->slot.period % p->periods_per_cycle == p->periods_per_cycle - 1)
        err = autosell(&c, cycle_of_period(p, in->slot.period));
out:
    if (views) {
        state_view_free(&c.sv);
        state_view_free(&c.ov);
    }
    free(ol);
    state_diff_free(c.op_diff);
    if (err)
        exec_output_free(out);
    return err;
}
