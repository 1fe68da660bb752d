/* The operation and endorsement pool: per-thread priority lists with an id index, bounded; see
 * pool.h for the rules.  Sizes are small (thousands per thread), so each thread keeps a sorted
 * array of entries (insertion by binary search and memmove) and an open-addressing hash index maps
 * ids to entries. */
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"

typedef struct pool_entry {
    signed_op_t *op; /* owned */
    address_t creator;
    amount_t max_spending;
    uint64_t size; /* wire bytes */
    uint64_t gas;  /* max_gas of smart-contract operations, else 0 */
    uint8_t thread;
} pool_entry;

typedef struct thread_list {
    pool_entry **items; /* sorted by priority, best first */
    size_t len, cap;
    uint64_t bytes;
} thread_list;

/* Endorsements of one slot: per index, up to endorsements_per_index entries. */
typedef struct endo_slot {
    slot_t slot;
    endorsement_t *items; /* E * per_index, `count[i]` used per index */
    uint32_t *count;
} endo_slot;

struct pool {
    pool_config cfg;
    thread_list *threads;
    /* id index: open addressing, linear probing; NULL = empty, TOMB = deleted */
    pool_entry **index;
    size_t index_cap, index_used, index_live;
    endo_slot *eslots; /* sorted by slot */
    size_t eslots_len, eslots_cap;
    size_t endorsements;
};

static pool_entry tomb_entry;
#define TOMB (&tomb_entry)

/* ---- priority ------------------------------------------------------------------------------- */

/* <0 if a ranks before (is better than) b. */
static int prio_cmp(const pool_entry *a, const pool_entry *b)
{
    if (a->op->op.fee.nano != b->op->op.fee.nano)
        return a->op->op.fee.nano > b->op->op.fee.nano ? -1 : 1;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return hash32_cmp(&a->op->id.h, &b->op->id.h);
}

/* ---- id index ------------------------------------------------------------------------------- */

static size_t id_slot(const op_id_t *id, size_t cap)
{
    uint64_t h;
    memcpy(&h, id->h.b, sizeof h); /* ids are hashes: any 8 bytes are uniform */
    return (size_t)h & (cap - 1);
}

static bool index_grow(pool_t *p)
{
    size_t ncap = p->index_cap ? p->index_cap * 2 : 64;
    while (p->index_live * 2 >= ncap)
        ncap *= 2;
    pool_entry **n = calloc(ncap, sizeof(pool_entry *));
    if (!n)
        return false;
    for (size_t i = 0; i < p->index_cap; i++) {
        pool_entry *e = p->index[i];
        if (!e || e == TOMB)
            continue;
        size_t s = id_slot(&e->op->id, ncap);
        while (n[s])
            s = (s + 1) & (ncap - 1);
        n[s] = e;
    }
    free(p->index);
    p->index = n;
    p->index_cap = ncap;
    p->index_used = p->index_live;
    return true;
}

static size_t index_find(const pool_t *p, const op_id_t *id)
{
    if (!p->index_cap)
        return SIZE_MAX;
    for (size_t s = id_slot(id, p->index_cap);; s = (s + 1) & (p->index_cap - 1)) {
        pool_entry *e = p->index[s];
        if (!e)
            return SIZE_MAX;
        if (e != TOMB && hash32_cmp(&e->op->id.h, &id->h) == 0)
            return s;
    }
}

static bool index_put(pool_t *p, pool_entry *e)
{
    if ((p->index_used + 1) * 4 >= p->index_cap * 3 && !index_grow(p))
        return false;
    size_t s = id_slot(&e->op->id, p->index_cap);
    while (p->index[s] && p->index[s] != TOMB)
        s = (s + 1) & (p->index_cap - 1);
    if (!p->index[s])
        p->index_used++;
    p->index[s] = e;
    p->index_live++;
    return true;
}

static void index_del(pool_t *p, const op_id_t *id)
{
    size_t s = index_find(p, id);
    WEFT_ASSERT(s != SIZE_MAX);
    p->index[s] = TOMB;
    p->index_live--;
}

/* ---- thread lists --------------------------------------------------------------------------- */

static size_t list_lower_bound(const thread_list *l, const pool_entry *e)
{
    size_t lo = 0, hi = l->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (prio_cmp(l->items[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool list_insert(thread_list *l, pool_entry *e)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        pool_entry **n = realloc(l->items, ncap * sizeof(pool_entry *));
        if (!n)
            return false;
        l->items = n;
        l->cap = ncap;
    }
    size_t at = list_lower_bound(l, e);
    memmove(l->items + at + 1, l->items + at, (l->len - at) * sizeof(pool_entry *));
    l->items[at] = e;
    l->len++;
    l->bytes += e->size;
    return true;
}

static void entry_free(pool_entry *e)
{
    signed_op_free(e->op);
    free(e->op);
    free(e);
}

/* Removes the entry at position `at` of its thread list, from the index too, and frees it. */
static void remove_at(pool_t *p, thread_list *l, size_t at)
{
    pool_entry *e = l->items[at];
    memmove(l->items + at, l->items + at + 1, (l->len - at - 1) * sizeof(pool_entry *));
    l->len--;
    l->bytes -= e->size;
    index_del(p, &e->op->id);
    entry_free(e);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

void pool_config_default(pool_config *c, const model_params *p)
{
    memset(c, 0, sizeof *c);
    c->thread_count = p->thread_count;
    c->operation_validity_periods = p->operation_validity_periods;
    c->roll_price = amount_from_nano(p->roll_price);
    c->max_ops_per_thread = 8192;
    c->max_bytes_per_thread = 8u << 20;
    c->endorsement_count = p->endorsement_count;
    c->endorsements_per_index = 4;
    c->max_endorsement_slots = 4096;
}

pool_t *pool_new(const pool_config *c)
{
    WEFT_MISUSE(c->thread_count >= 1 && c->thread_count <= MODEL_MAX_THREADS);
    WEFT_MISUSE(c->max_ops_per_thread > 0 && c->max_bytes_per_thread > 0);
    WEFT_MISUSE(c->endorsements_per_index > 0 && c->max_endorsement_slots > 0);
    pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = *c;
    p->threads = calloc(c->thread_count, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    return p;
}

static void eslot_free(endo_slot *s)
{
    free(s->items);
    free(s->count);
}

void pool_free(pool_t *p)
{
    if (!p)
        return;
    for (uint32_t t = 0; t < p->cfg.thread_count; t++) {
        for (size_t i = 0; i < p->threads[t].len; i++)
            entry_free(p->threads[t].items[i]);
        free(p->threads[t].items);
    }
    for (size_t i = 0; i < p->eslots_len; i++)
        eslot_free(&p->eslots[i]);
    free(p->eslots);
    free(p->threads);
    free(p->index);
    free(p);
}

/* ---- operations ----------------------------------------------------------------------------- */

static amount_t balance_of(pool_balance_fn balance, void *ctx, const address_t *a)
{
    amount_t b = {0};
    if (balance(ctx, a, &b) != WEFT_OK)
        b.nano = 0;
    return b;
}

weft_err pool_add_op(pool_t *p, signed_op_t *op, uint64_t current_period, pool_balance_fn balance,
                     void *ctx, bool *duplicate)
{
    weft_err err = WEFT_OK;
    pool_entry *e = NULL;
    if (duplicate)
        *duplicate = false;
    if (index_find(p, &op->id) != SIZE_MAX) {
        if (duplicate)
            *duplicate = true;
        goto refuse;
    }
    uint64_t latest;
    if (op->op.expire_period < current_period) {
        err = WEFT_E_POOL_EXPIRED;
        goto refuse;
    }
    if (!u64_add(&latest, current_period, p->cfg.operation_validity_periods) ||
        op->op.expire_period > latest) {
        err = WEFT_E_POOL_TOO_EARLY;
        goto refuse;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        err = WEFT_E_NOMEM;
        goto refuse;
    }
    e->op = op;
    address_of_pubkey(&e->creator, &op->creator);
    e->thread = address_thread(&e->creator, p->cfg.thread_count);
    e->size = 1 + 64 + MODEL_PK_LEN + op->content_len;
    if (op->op.type == OP_EXECUTE_SC)
        e->gas = op->op.u.execute_sc.max_gas;
    else if (op->op.type == OP_CALL_SC)
        e->gas = op->op.u.call_sc.max_gas;
    if (op_max_spending(&e->max_spending, &op->op, p->cfg.roll_price) != WEFT_OK ||
        e->max_spending.nano > balance_of(balance, ctx, &e->creator).nano) {
        err = WEFT_E_POOL_UNPAYABLE;
        goto refuse;
    }
    thread_list *l = &p->threads[e->thread];
    if (e->size > p->cfg.max_bytes_per_thread) {
        err = WEFT_E_POOL_FULL;
        goto refuse;
    }
    /* make room: evict from the tail while the new entry ranks above it */
    size_t need_n =
        l->len + 1 > p->cfg.max_ops_per_thread ? l->len + 1 - p->cfg.max_ops_per_thread : 0;
    uint64_t over = l->bytes + e->size > p->cfg.max_bytes_per_thread
                        ? l->bytes + e->size - p->cfg.max_bytes_per_thread
                        : 0;
    size_t k = 0;
    uint64_t freed = 0;
    while ((k < need_n || freed < over) && k < l->len) {
        if (prio_cmp(e, l->items[l->len - 1 - k]) >= 0) {
            err = WEFT_E_POOL_FULL;
            goto refuse;
        }
        freed += l->items[l->len - 1 - k]->size;
        k++;
    }
    if (!index_put(p, e)) {
        err = WEFT_E_NOMEM;
        goto refuse;
    }
    if (!list_insert(l, e)) {
        index_del(p, &op->id);
        err = WEFT_E_NOMEM;
        goto refuse;
    }
    /* the new entry ranks above the k evicted ones, so they are still the last k after it */
    for (size_t i = 0; i < k; i++)
        remove_at(p, l, l->len - 1);
    return WEFT_OK;
refuse:
    free(e);
    signed_op_free(op);
    free(op);
    return err;
}

const signed_op_t *pool_get_op(const pool_t *p, const op_id_t *id)
{
    size_t s = index_find(p, id);
    return s == SIZE_MAX ? NULL : p->index[s]->op;
}

/* Removes every entry of every thread for which `drop` says so; returns the count. */
static size_t remove_where(pool_t *p, bool (*drop)(const pool_entry *, void *), void *arg)
{
    size_t n = 0;
    for (uint32_t t = 0; t < p->cfg.thread_count; t++) {
        thread_list *l = &p->threads[t];
        size_t w = 0;
        for (size_t i = 0; i < l->len; i++) {
            pool_entry *e = l->items[i];
            if (drop(e, arg)) {
                l->bytes -= e->size;
                index_del(p, &e->op->id);
                entry_free(e);
                n++;
            } else {
                l->items[w++] = e;
            }
        }
        l->len = w;
    }
    return n;
}

size_t pool_remove_ops(pool_t *p, const op_id_t *ids, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t s = index_find(p, &ids[i]);
        if (s == SIZE_MAX)
            continue;
        pool_entry *e = p->index[s];
        thread_list *l = &p->threads[e->thread];
        size_t at = list_lower_bound(l, e);
        WEFT_ASSERT(at < l->len && l->items[at] == e);
        remove_at(p, l, at);
        n++;
    }
    return n;
}

static bool expired(const pool_entry *e, void *arg)
{
    return e->op->op.expire_period < *(const uint64_t *)arg;
}

struct payer_ctx {
    pool_balance_fn balance;
    void *ctx;
};

static bool unpayable(const pool_entry *e, void *arg)
{
    const struct payer_ctx *c = arg;
    return e->max_spending.nano > balance_of(c->balance, c->ctx, &e->creator).nano;
}

size_t pool_prune(pool_t *p, uint64_t current_period, uint64_t min_endorsement_period)
{
    size_t w = 0;
    for (size_t i = 0; i < p->eslots_len; i++) {
        endo_slot *s = &p->eslots[i];
        if (s->slot.period < min_endorsement_period) {
            for (uint32_t k = 0; k < p->cfg.endorsement_count; k++)
                p->endorsements -= s->count[k];
            eslot_free(s);
        } else {
            p->eslots[w++] = *s;
        }
    }
    p->eslots_len = w;
    return remove_where(p, expired, &current_period);
}

size_t pool_revalidate(pool_t *p, pool_balance_fn balance, void *ctx)
{
    struct payer_ctx c = {balance, ctx};
    return remove_where(p, unpayable, &c);
}

/* Spending already planned per creator during a selection (a small linear table: a block holds
 * at most max_operations_per_block operations). */
typedef struct spend {
    address_t who;
    amount_t planned;
    amount_t balance;
} spend;

/* The spender table of a selection: open addressing on the creator address (its hash bytes are
 * already uniform), sized for every entry of the thread. */
static size_t spend_find(spend *sp, bool *used, size_t cap, const address_t *a)
{
    uint64_t h;
    memcpy(&h, a->hash.b, sizeof h);
    size_t i = (size_t)(h ^ a->kind) & (cap - 1);
    while (used[i] && !address_eq(&sp[i].who, a))
        i = (i + 1) & (cap - 1);
    return i;
}

size_t pool_select_ops(const pool_t *p, slot_t slot, const pool_limits *lim,
                       pool_balance_fn balance, void *ctx, const signed_op_t **out, size_t cap)
{
    WEFT_MISUSE(slot.thread < p->cfg.thread_count);
    const thread_list *l = &p->threads[slot.thread];
    size_t n = 0;
    uint64_t bytes = 0, gas = 0;
    size_t tcap = 16;
    while (tcap < 2 * l->len)
        tcap *= 2;
    spend *sp = calloc(tcap, sizeof *sp);
    bool *used = calloc(tcap, sizeof *used);
    if (!sp || !used) {
        free(sp);
        free(used);
        return 0;
    }
    for (size_t i = 0; i < l->len && n < cap && n < lim->max_ops; i++) {
        const pool_entry *e = l->items[i];
        uint64_t exp = e->op->op.expire_period;
        if (exp < slot.period || exp - slot.period > p->cfg.operation_validity_periods)
            continue; /* not valid in this block's period */
        if (e->size > lim->max_bytes - bytes || e->gas > lim->max_gas - gas)
            continue;
        size_t k = spend_find(sp, used, tcap, &e->creator);
        if (!used[k]) {
            used[k] = true;
            sp[k].who = e->creator;
            sp[k].balance = balance_of(balance, ctx, &e->creator);
        }
        amount_t total;
        if (!amount_add(&total, sp[k].planned, e->max_spending) || total.nano > sp[k].balance.nano)
            continue;
        sp[k].planned = total;
        bytes += e->size;
        gas += e->gas;
        out[n++] = e->op;
    }
    free(sp);
    free(used);
    return n;
}

size_t pool_thread_creators(const pool_t *p, uint32_t thread, size_t max_ops, address_t *out,
                            size_t cap)
{
    WEFT_MISUSE(thread < p->cfg.thread_count);
    const thread_list *l = &p->threads[thread];
    size_t lim = l->len < max_ops ? l->len : max_ops;
    size_t tcap = 16;
    while (tcap < 2 * lim)
        tcap *= 2;
    spend *sp = calloc(tcap, sizeof *sp);
    bool *used = calloc(tcap, sizeof *used);
    size_t n = 0;
    if (sp && used)
        for (size_t i = 0; i < lim && n < cap; i++) {
            size_t k = spend_find(sp, used, tcap, &l->items[i]->creator);
            if (used[k])
                continue;
            used[k] = true;
            sp[k].who = l->items[i]->creator;
            out[n++] = l->items[i]->creator;
        }
    free(sp);
    free(used);
    return n;
}

/* ---- endorsements --------------------------------------------------------------------------- */

static size_t eslot_find(const pool_t *p, slot_t s, bool *found)
{
    size_t lo = 0, hi = p->eslots_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot_cmp(p->eslots[mid].slot, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < p->eslots_len && slot_cmp(p->eslots[lo].slot, s) == 0;
    return lo;
}

weft_err pool_add_endorsement(pool_t *p, const endorsement_t *e, bool *duplicate)
{
    uint32_t E = p->cfg.endorsement_count, per = p->cfg.endorsements_per_index;
    if (duplicate)
        *duplicate = false;
    if (e->index >= E)
        return WEFT_E_ENDORSEMENT;
    bool found;
    size_t at = eslot_find(p, e->slot, &found);
    if (!found) {
        if (p->eslots_len == p->cfg.max_endorsement_slots) {
            if (at == 0)
                return WEFT_E_POOL_FULL; /* older than everything kept */
            /* drop the oldest slot to make room */
            for (uint32_t k = 0; k < E; k++)
                p->endorsements -= p->eslots[0].count[k];
            eslot_free(&p->eslots[0]);
            memmove(p->eslots, p->eslots + 1, (p->eslots_len - 1) * sizeof *p->eslots);
            p->eslots_len--;
            at--;
        }
        if (p->eslots_len == p->eslots_cap) {
            size_t ncap = p->eslots_cap ? p->eslots_cap * 2 : 16;
            endo_slot *n = realloc(p->eslots, ncap * sizeof *n);
            if (!n)
                return WEFT_E_NOMEM;
            p->eslots = n;
            p->eslots_cap = ncap;
        }
        endo_slot s = {.slot = e->slot};
        s.items = calloc((size_t)E * per, sizeof *s.items);
        s.count = calloc(E, sizeof *s.count);
        if (!s.items || !s.count) {
            eslot_free(&s);
            return WEFT_E_NOMEM;
        }
        memmove(p->eslots + at + 1, p->eslots + at, (p->eslots_len - at) * sizeof *p->eslots);
        p->eslots[at] = s;
        p->eslots_len++;
    }
    endo_slot *s = &p->eslots[at];
    endorsement_t *row = s->items + (size_t)e->index * per;
    for (uint32_t k = 0; k < s->count[e->index]; k++) {
        if (hash32_cmp(&row[k].id.h, &e->id.h) == 0) {
            if (duplicate)
                *duplicate = true;
            return WEFT_OK;
        }
    }
    if (s->count[e->index] == per)
        return WEFT_E_POOL_FULL;
    row[s->count[e->index]++] = *e;
    p->endorsements++;
    return WEFT_OK;
}

size_t pool_select_endorsements(const pool_t *p, slot_t slot, const block_id_t *endorsed,
                                const endorsement_t **out)
{
    uint32_t E = p->cfg.endorsement_count, per = p->cfg.endorsements_per_index;
    for (uint32_t i = 0; i < E; i++)
        out[i] = NULL;
    bool found;
    size_t at = eslot_find(p, slot, &found);
    if (!found)
        return 0;
    const endo_slot *s = &p->eslots[at];
    size_t n = 0;
    for (uint32_t i = 0; i < E; i++) {
        const endorsement_t *row = s->items + (size_t)i * per;
        for (uint32_t k = 0; k < s->count[i]; k++) {
            if (block_id_eq(&row[k].endorsed, endorsed)) {
                out[i] = &row[k];
                n++;
                break;
            }
        }
    }
    return n;
}

void pool_get_stats(const pool_t *p, pool_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t t = 0; t < p->cfg.thread_count; t++) {
        out->ops += p->threads[t].len;
        out->op_bytes += p->threads[t].bytes;
    }
    out->endorsements = p->endorsements;
}
