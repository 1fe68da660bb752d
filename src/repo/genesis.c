/* repo: genesis.json — strict parsing (jansson, duplicate keys rejected, unknown fields rejected,
 * types and ranges checked, parameters consistent) and deterministic writing.  Balances and rolls
 * are held in address byte order (kind, then hash), which is also the order they are written in,
 * so parse ∘ write is the identity on parsed values. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

static int addr_cmp(const address_t *a, const address_t *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return hash32_cmp(&a->hash, &b->hash);
}
static int balance_cmp(const void *x, const void *y)
{
    return addr_cmp(&((const repo_balance_t *)x)->addr, &((const repo_balance_t *)y)->addr);
}
static int stake_cmp(const void *x, const void *y)
{
    return addr_cmp(&((const pos_stake_t *)x)->addr, &((const pos_stake_t *)y)->addr);
}

void repo_genesis_free(repo_genesis_t *g)
{
    if (!g)
        return;
    free(g->balances);
    free(g->rolls);
    memset(g, 0, sizeof *g);
}

/* ---- parsing ------------------------------------------------------------------------------- */

typedef struct gctx {
    const char *name;
    char *err;
    size_t errcap;
} gctx;

#define GFAIL(c, ...)                                                                              \
    do {                                                                                           \
        char m_[200];                                                                              \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        repo_errf((c)->err, (c)->errcap, "%s: %s", (c)->name, m_);                                 \
        return WEFT_E_REPO_GENESIS;                                                                \
    } while (0)

static weft_err get_uint(const gctx *c, const char *field, const json_t *v, uint64_t max,
                         uint64_t *out)
{
    if (!json_is_integer(v))
        GFAIL(c, "%s: must be an integer", field);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max)
        GFAIL(c, "%s: out of range 0..%llu", field, (unsigned long long)max);
    *out = (uint64_t)x;
    return WEFT_OK;
}

static weft_err get_amount(const gctx *c, const char *field, const json_t *v, amount_t *out)
{
    if (!json_is_string(v))
        GFAIL(c, "%s: must be a string of MAS (\"100\", \"0.4\")", field);
    weft_err e = amount_parse(out, json_string_value(v));
    if (e != WEFT_OK)
        GFAIL(c, "%s: %s", field, weft_strerror(e));
    return WEFT_OK;
}

static weft_err parse_params(const gctx *c, const json_t *po, model_params *p)
{
    if (!json_is_object(po))
        GFAIL(c, "params: must be an object");
    static const char *const known[] = {"thread_count",
                                        "t0",
                                        "periods_per_cycle",
                                        "endorsement_count",
                                        "delta_f0",
                                        "max_block_size",
                                        "max_operations_per_block",
                                        "operation_validity_periods",
                                        "roll_price",
                                        "block_reward"};
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)po, k, v) {
        bool ok = false;
        for (size_t i = 0; i < WEFT_ARRAY_LEN(known); i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            GFAIL(c, "params.%.64s: unknown field", k);
    }
    uint64_t x;
    weft_err e;
#define U32_FIELD(jname, member)                                                                   \
    if ((v = json_object_get(po, jname))) {                                                        \
        if ((e = get_uint(c, "params." jname, v, UINT32_MAX, &x)) != WEFT_OK)                      \
            return e;                                                                              \
        p->member = (uint32_t)x;                                                                   \
    }
#define U64_FIELD(jname, member)                                                                   \
    if ((v = json_object_get(po, jname))) {                                                        \
        if ((e = get_uint(c, "params." jname, v, UINT64_MAX, &x)) != WEFT_OK)                      \
            return e;                                                                              \
        p->member = x;                                                                             \
    }
    U32_FIELD("thread_count", thread_count)
    U64_FIELD("t0", t0_ms)
    U64_FIELD("periods_per_cycle", periods_per_cycle)
    U32_FIELD("endorsement_count", endorsement_count)
    U32_FIELD("max_block_size", max_block_size)
    U32_FIELD("max_operations_per_block", max_operations_per_block)
    U64_FIELD("operation_validity_periods", operation_validity_periods)
#undef U32_FIELD
    amount_t a;
    if ((v = json_object_get(po, "roll_price"))) {
        if ((e = get_amount(c, "params.roll_price", v, &a)) != WEFT_OK)
            return e;
        p->roll_price = a.nano;
    }
    if ((v = json_object_get(po, "block_reward"))) {
        if ((e = get_amount(c, "params.block_reward", v, &a)) != WEFT_OK)
            return e;
        p->block_reward = a.nano;
    }
    if (p->endorsement_count > MODEL_MAX_ENDORSEMENTS)
        GFAIL(c, "params.endorsement_count: at most %d", MODEL_MAX_ENDORSEMENTS);
    p->delta_f0 = (uint64_t)64 * (p->endorsement_count + 1u); /* default from the given E */
    U64_FIELD("delta_f0", delta_f0)
#undef U64_FIELD
    return WEFT_OK;
}

/* Names the first violated rule of model_params_check (plus roll_price > 0). */
static weft_err check_params(const gctx *c, const model_params *p)
{
    uint32_t t = p->thread_count;
    if (t == 0 || t > MODEL_MAX_THREADS || (t & (t - 1)) != 0)
        GFAIL(c, "params.thread_count: must be a power of two in 1..%d", MODEL_MAX_THREADS);
    if (p->t0_ms == 0 || p->t0_ms % t != 0)
        GFAIL(c, "params.t0: must be a positive multiple of thread_count (%u)", t);
    if (p->periods_per_cycle == 0)
        GFAIL(c, "params.periods_per_cycle: must be at least 1");
    if (p->endorsement_count > MODEL_MAX_ENDORSEMENTS)
        GFAIL(c, "params.endorsement_count: at most %d", MODEL_MAX_ENDORSEMENTS);
    if (p->max_operations_per_block == 0)
        GFAIL(c, "params.max_operations_per_block: must be at least 1");
    if (p->max_block_size == 0)
        GFAIL(c, "params.max_block_size: must be at least 1");
    if (p->roll_price == 0)
        GFAIL(c, "params.roll_price: must be more than 0");
    if (model_params_check(p) != WEFT_OK)
        GFAIL(c, "params: inconsistent parameters");
    return WEFT_OK;
}

static weft_err parse_address(const gctx *c, const char *section, const char *text, address_t *out)
{
    weft_err e = address_parse(out, text);
    if (e != WEFT_OK)
        GFAIL(c, "%s.%.64s: not an address (%s)", section, text, weft_strerror(e));
    if (out->kind != ADDRESS_USER)
        GFAIL(c, "%s.%.64s: not a user address (AU...)", section, text);
    return WEFT_OK;
}

static weft_err parse_balances(const gctx *c, const json_t *o, repo_genesis_t *g)
{
    if (!json_is_object(o))
        GFAIL(c, "balances: must be an object {\"AU...\": \"MAS\"}");
    size_t n = json_object_size(o);
    if (n == 0)
        return WEFT_OK;
    g->balances = calloc(n, sizeof *g->balances);
    if (!g->balances)
        GFAIL(c, "balances: out of memory");
    const char *k;
    json_t *v;
    weft_err e;
    json_object_foreach ((json_t *)o, k, v) {
        repo_balance_t *b = &g->balances[g->balance_count];
        if ((e = parse_address(c, "balances", k, &b->addr)) != WEFT_OK)
            return e;
        char field[96];
        snprintf(field, sizeof field, "balances.%.64s", k);
        if ((e = get_amount(c, field, v, &b->amount)) != WEFT_OK)
            return e;
        g->balance_count++;
    }
    qsort(g->balances, g->balance_count, sizeof *g->balances, balance_cmp);
    for (size_t i = 1; i < g->balance_count; i++)
        if (addr_cmp(&g->balances[i - 1].addr, &g->balances[i].addr) == 0) {
            char s[MODEL_STR_MAX];
            address_to_str(s, &g->balances[i].addr);
            GFAIL(c, "balances.%s: duplicate address", s);
        }
    return WEFT_OK;
}

static weft_err parse_rolls(const gctx *c, const json_t *o, repo_genesis_t *g)
{
    if (!json_is_object(o))
        GFAIL(c, "rolls: must be an object {\"AU...\": count}");
    size_t n = json_object_size(o);
    if (n == 0)
        GFAIL(c, "rolls: at least one address must hold rolls");
    g->rolls = calloc(n, sizeof *g->rolls);
    if (!g->rolls)
        GFAIL(c, "rolls: out of memory");
    const char *k;
    json_t *v;
    weft_err e;
    uint64_t total = 0;
    json_object_foreach ((json_t *)o, k, v) {
        pos_stake_t *s = &g->rolls[g->roll_count];
        if ((e = parse_address(c, "rolls", k, &s->addr)) != WEFT_OK)
            return e;
        char field[96];
        snprintf(field, sizeof field, "rolls.%.64s", k);
        if ((e = get_uint(c, field, v, UINT64_MAX, &s->rolls)) != WEFT_OK)
            return e;
        if (s->rolls == 0)
            GFAIL(c, "%s: must be at least 1 (leave the address out instead)", field);
        if (!u64_add(&total, total, s->rolls))
            GFAIL(c, "rolls: the total overflows 64 bits");
        g->roll_count++;
    }
    qsort(g->rolls, g->roll_count, sizeof *g->rolls, stake_cmp);
    for (size_t i = 1; i < g->roll_count; i++)
        if (addr_cmp(&g->rolls[i - 1].addr, &g->rolls[i].addr) == 0) {
            char s[MODEL_STR_MAX];
            address_to_str(s, &g->rolls[i].addr);
            GFAIL(c, "rolls.%s: duplicate address", s);
        }
    return WEFT_OK;
}

static weft_err parse_root(const gctx *c, const json_t *root, repo_genesis_t *g)
{
    if (!json_is_object(root))
        GFAIL(c, "the top level must be an object");
    static const char *const known[] = {"chain_id", "genesis_timestamp", "params", "balances",
                                        "rolls"};
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)root, k, v) {
        bool ok = false;
        for (size_t i = 0; i < WEFT_ARRAY_LEN(known); i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            GFAIL(c, "%.64s: unknown field", k);
    }
    model_params_default(&g->params);
    weft_err e;
    if (!(v = json_object_get(root, "chain_id")))
        GFAIL(c, "chain_id: missing");
    if ((e = get_uint(c, "chain_id", v, UINT64_MAX, &g->params.chain_id)) != WEFT_OK)
        return e;
    if (!(v = json_object_get(root, "genesis_timestamp")))
        GFAIL(c, "genesis_timestamp: missing (milliseconds since the Unix epoch)");
    if ((e = get_uint(c, "genesis_timestamp", v, UINT64_MAX, &g->params.genesis_timestamp_ms)) !=
        WEFT_OK)
        return e;
    if ((v = json_object_get(root, "params")) && (e = parse_params(c, v, &g->params)) != WEFT_OK)
        return e;
    if ((e = check_params(c, &g->params)) != WEFT_OK)
        return e;
    if ((v = json_object_get(root, "balances")) && (e = parse_balances(c, v, g)) != WEFT_OK)
        return e;
    if (!(v = json_object_get(root, "rolls")))
        GFAIL(c, "rolls: missing (at least one address must hold rolls)");
    return parse_rolls(c, v, g);
}

weft_err repo_genesis_parse_named(repo_genesis_t *out, const char *name, const char *json,
                                  size_t len, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    gctx c = {name, err, errcap};
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        repo_errf(err, errcap, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return WEFT_E_REPO_GENESIS;
    }
    weft_err e = parse_root(&c, root, out);
    json_decref(root);
    if (e != WEFT_OK)
        repo_genesis_free(out);
    return e;
}

weft_err repo_genesis_parse(repo_genesis_t *out, const char *json, size_t len, char *err,
                            size_t errcap)
{
    return repo_genesis_parse_named(out, "genesis.json", json, len, err, errcap);
}

/* ---- writing ------------------------------------------------------------------------------- */

static int put(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static json_t *jint(uint64_t v, bool *range)
{
    if (v > (uint64_t)INT64_MAX) {
        *range = true;
        return json_null();
    }
    return json_integer((json_int_t)v);
}

static json_t *jamount(uint64_t nano)
{
    char s[AMOUNT_STR_MAX];
    amount_format(s, amount_from_nano(nano));
    return json_string(s);
}

weft_err repo_genesis_to_json(const repo_genesis_t *g, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    bool range = false;
    int bad = 0;
    const model_params *p = &g->params;
    json_t *root = json_object(), *params = json_object(), *bal = json_object(),
           *rolls = json_object();
    if (!root || !params || !bal || !rolls) {
        json_decref(root);
        json_decref(params);
        json_decref(bal);
        json_decref(rolls);
        return WEFT_E_NOMEM;
    }
    bad |= put(root, "chain_id", jint(p->chain_id, &range));
    bad |= put(root, "genesis_timestamp", jint(p->genesis_timestamp_ms, &range));
    bad |= put(params, "thread_count", jint(p->thread_count, &range));
    bad |= put(params, "t0", jint(p->t0_ms, &range));
    bad |= put(params, "periods_per_cycle", jint(p->periods_per_cycle, &range));
    bad |= put(params, "endorsement_count", jint(p->endorsement_count, &range));
    bad |= put(params, "delta_f0", jint(p->delta_f0, &range));
    bad |= put(params, "max_block_size", jint(p->max_block_size, &range));
    bad |= put(params, "max_operations_per_block", jint(p->max_operations_per_block, &range));
    bad |= put(params, "operation_validity_periods", jint(p->operation_validity_periods, &range));
    bad |= put(params, "roll_price", jamount(p->roll_price));
    bad |= put(params, "block_reward", jamount(p->block_reward));
    bad |= put(root, "params", params);
    for (size_t i = 0; i < g->balance_count; i++) {
        char a[MODEL_STR_MAX];
        address_to_str(a, &g->balances[i].addr);
        bad |= put(bal, a, jamount(g->balances[i].amount.nano));
    }
    bad |= put(root, "balances", bal);
    for (size_t i = 0; i < g->roll_count; i++) {
        char a[MODEL_STR_MAX];
        address_to_str(a, &g->rolls[i].addr);
        bad |= put(rolls, a, jint(g->rolls[i].rolls, &range));
    }
    bad |= put(root, "rolls", rolls);
    char *text = NULL;
    if (!bad && !range)
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (range)
        return WEFT_E_RANGE; /* jansson integers are signed 64-bit */
    if (bad || !text) {
        free(text);
        return WEFT_E_NOMEM;
    }
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) {
        free(text);
        return WEFT_E_NOMEM;
    }
    t2[n] = '\n';
    t2[n + 1] = '\0';
    *out = t2;
    *len = n + 1;
    return WEFT_OK;
}

weft_err repo_genesis_write(const repo_genesis_t *g, const char *path)
{
    char *text;
    size_t len;
    weft_err e = repo_genesis_to_json(g, &text, &len);
    if (e != WEFT_OK)
        return e;
    e = repo_write_atomic(path, text, len, 0644);
    free(text);
    return e;
}

bool repo_genesis_eq(const repo_genesis_t *a, const repo_genesis_t *b)
{
    const model_params *p = &a->params, *q = &b->params;
    if (p->thread_count != q->thread_count || p->t0_ms != q->t0_ms ||
        p->periods_per_cycle != q->periods_per_cycle ||
        p->endorsement_count != q->endorsement_count || p->delta_f0 != q->delta_f0 ||
        p->max_block_size != q->max_block_size ||
        p->max_operations_per_block != q->max_operations_per_block ||
        p->operation_validity_periods != q->operation_validity_periods ||
        p->roll_price != q->roll_price || p->block_reward != q->block_reward ||
        p->chain_id != q->chain_id || p->genesis_timestamp_ms != q->genesis_timestamp_ms)
        return false;
    if (a->balance_count != b->balance_count || a->roll_count != b->roll_count)
        return false;
    for (size_t i = 0; i < a->balance_count; i++)
        if (!address_eq(&a->balances[i].addr, &b->balances[i].addr) ||
            a->balances[i].amount.nano != b->balances[i].amount.nano)
            return false;
    for (size_t i = 0; i < a->roll_count; i++)
        if (!address_eq(&a->rolls[i].addr, &b->rolls[i].addr) ||
            a->rolls[i].rolls != b->rolls[i].rolls)
            return false;
    return true;
}
