/* The pool actor: owns the operation and endorsement pool (src/pool).  Admits operations in
 * batches (one balance query to execution per batch), endorsements from the factory, drops
 * operations that execution reports executed, prunes expired entries once per period, and
 * selects a block's operations and endorsements for the factory.
 *
 * Operations and endorsements newly admitted (not those already known) are reported to the
 * network sink, which announces them to peers.
 *
 * Operations that execution reports executed leave the pool, so that no later block includes
 * them again; but a speculative execution is undone when its block leaves the blockclique (a
 * fork, a partition that heals), and the operation would then be lost to every pool of the
 * network.  So they are parked, not dropped: at every tick the pool asks execution about the
 * parked operations — those executed in a final slot or expired are dropped, those no longer
 * executed at all (their block was orphaned) are admitted again (and announced again).
 *
 * Messages: MSG_POOL_ADD_OPS (request; the API waits), MSG_POOL_ADD_ENDO and MSG_POOL_REMOVE
 * (one-way, sent with DROP: under load an endorsement or a removal notice may be lost, which
 * costs fitness or a wasted inclusion, never safety), MSG_POOL_SELECT / _GET / _STATUS
 * (requests), MSG_POOL_NET_ADD_OPS / _NET_ADD_ENDOS (one-way: operations and endorsements from
 * the network, checked on the network's thread, which does not wait for the pool),
 * MSG_POOL_ADD_ENDOS / _NET_OPS (requests), MSG_POOL_TICK (timer).  The pool is not durable: a
 * restart starts it empty, as clients resubmit and peers re-announce. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "nmap.h"
#include "node_internal.h"

struct pool_actor {
    node_t *n;
    pool_t *pool;
    pool_config cfg;
    nmap parked; /* op id → signed_op_t* (owned copy): executed, not final yet */
    size_t parked_max;
};

/* ---- balances: a small open-addressing table filled from execution ------------------------- */

typedef struct baltab {
    address_t *k;
    amount_t *v;
    bool *used;
    size_t cap, count;
    node_t *n;
    bool lazy; /* missing entries are asked from execution one by one */
} baltab;

static size_t bt_hash(const address_t *a, size_t cap)
{
    uint64_t h;
    memcpy(&h, a->hash.b, 8);
    return (size_t)(h ^ a->kind) & (cap - 1);
}

static weft_err bt_init(baltab *t, size_t n, node_t *node, bool lazy)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    t->k = calloc(cap, sizeof *t->k);
    t->v = calloc(cap, sizeof *t->v);
    t->used = calloc(cap, sizeof *t->used);
    t->cap = cap;
    t->count = 0;
    t->n = node;
    t->lazy = lazy;
    if (!t->k || !t->v || !t->used) {
        free(t->k);
        free(t->v);
        free(t->used);
        return WEFT_E_NOMEM;
    }
    return WEFT_OK;
}

static void bt_free(baltab *t)
{
    free(t->k);
    free(t->v);
    free(t->used);
}

static size_t bt_slot(const baltab *t, const address_t *a)
{
    size_t i = bt_hash(a, t->cap);
    while (t->used[i] && !address_eq(&t->k[i], a))
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Sets the entry at slot i (from bt_slot) to (a, v). */
static void bt_set(baltab *t, size_t i, const address_t *a, amount_t v)
{
    if (!t->used[i]) {
        t->used[i] = true;
        t->count++;
    }
    t->k[i] = *a;
    t->v[i] = v;
}

static bool bt_grow(baltab *t)
{
    baltab nt;
    if (bt_init(&nt, t->cap, t->n, t->lazy) != WEFT_OK)
        return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->used[i]) {
            bt_set(&nt, bt_slot(&nt, &t->k[i]), &t->k[i], t->v[i]);
        }
    bt_free(t);
    *t = nt;
    return true;
}

static weft_err bt_lookup(void *ctx, const address_t *a, amount_t *out)
{
    baltab *t = ctx;
    size_t i = bt_slot(t, a);
    if (t->used[i]) {
        *out = t->v[i];
        return WEFT_OK;
    }
    if (!t->lazy)
        return WEFT_E_NOT_FOUND;
    nbalances q = {1, (address_t *)a, out};
    weft_err err = node_call(t->n->a_exec, MSG_EXEC_BALANCES, &q);
    if (err)
        return err;
    if (2 * (t->count + 1) > t->cap && !bt_grow(t))
        return WEFT_OK;
    bt_set(t, bt_slot(t, a), a, *out);
    return WEFT_OK;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static weft_err add_ops(pool_actor *a, nopsq *q)
{
    baltab t;
    weft_err err = bt_init(&t, q->n, a->n, false);
    if (err)
        return err;
    /* distinct creators, then one balance query */
    address_t *addrs = malloc((q->n ? q->n : 1) * sizeof *addrs);
    amount_t *amts = malloc((q->n ? q->n : 1) * sizeof *amts);
    op_id_t *fresh = NULL;
    size_t na = 0, nfresh = 0;
    if (!addrs || !amts) {
        err = WEFT_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (!q->ops[i])
            continue;
        address_t ad;
        address_of_pubkey(&ad, &q->ops[i]->creator);
        size_t s = bt_slot(&t, &ad);
        if (!t.used[s]) {
            bt_set(&t, s, &ad, amount_from_nano(0)); /* the balance comes below */
            addrs[na++] = ad;
        }
    }
    nbalances b = {na, addrs, amts};
    err = node_call(a->n->a_exec, MSG_EXEC_BALANCES, &b);
    if (err)
        goto done;
    for (size_t i = 0; i < na; i++)
        t.v[bt_slot(&t, &addrs[i])] = amts[i];
    /* the ids of newly admitted operations, for the network (the op may be evicted later) */
    fresh = malloc((q->n ? q->n : 1) * sizeof *fresh);
    for (size_t i = 0; i < q->n; i++) {
        if (!q->ops[i])
            continue;
        signed_op_t *op = q->ops[i];
        op_id_t id = op->id;
        bool dup;
        q->ops[i] = NULL;
        q->results[i] = pool_add_op(a->pool, op, q->current_period, bt_lookup, &t, &dup);
        if (fresh && q->results[i] == WEFT_OK && !dup)
            fresh[nfresh++] = id;
    }
    node_ev_ops_admitted(a->n, fresh, nfresh);
done:
    free(fresh);
    free(addrs);
    free(amts);
    bt_free(&t);
    return err;
}

static weft_err select_block(pool_actor *a, nselq *q)
{
    baltab t;
    weft_err err = bt_init(&t, 64, a->n, true);
    if (err)
        return err;
    uint32_t cap = a->n->params.max_operations_per_block;
    const signed_op_t **sel = malloc((cap ? cap : 1) * sizeof *sel);
    if (!sel) {
        bt_free(&t);
        return WEFT_E_NOMEM;
    }
    /* the balances of the likely creators in one request; others are asked one by one */
    size_t want = 2 * (size_t)cap;
    address_t *cr = malloc(want * sizeof *cr);
    amount_t *am = malloc(want * sizeof *am);
    if (cr && am) {
        size_t nc = pool_thread_creators(a->pool, q->slot.thread, want, cr, want);
        nbalances b = {nc, cr, am};
        if (nc && node_call(a->n->a_exec, MSG_EXEC_BALANCES, &b) == WEFT_OK) {
            baltab big;
            if (bt_init(&big, nc, a->n, true) == WEFT_OK) {
                bt_free(&t);
                t = big;
                for (size_t i = 0; i < nc; i++)
                    bt_set(&t, bt_slot(&t, &cr[i]), &cr[i], am[i]);
            }
        }
    }
    free(cr);
    free(am);
    size_t k = pool_select_ops(a->pool, q->slot, &q->limits, bt_lookup, &t, sel, cap);
    q->ops = calloc(k ? k : 1, sizeof *q->ops);
    if (!q->ops)
        err = WEFT_E_NOMEM;
    size_t done = 0;
    for (; !err && done < k; done++)
        err = node_op_copy(&q->ops[done], sel[done], a->n->params.chain_id);
    if (err) {
        for (size_t i = 0; i < done; i++)
            signed_op_free(&q->ops[i]);
        free(q->ops);
        q->ops = NULL;
        done = 0;
    }
    q->op_count = (uint32_t)done;
    const endorsement_t *e[MODEL_MAX_ENDORSEMENTS];
    pool_select_endorsements(a->pool, q->slot, &q->endorsed, e);
    q->endo_count = 0;
    for (uint32_t i = 0; i < a->n->params.endorsement_count; i++)
        if (e[i])
            q->endo[q->endo_count++] = *e[i];
    free(sel);
    bt_free(&t);
    return err;
}

/* Endorsements from the network (signature and draw checked by node_net_endorsements). */
static weft_err add_endorsements(pool_actor *a, nendoq *q)
{
    endorsement_t *fresh = malloc((q->n ? q->n : 1) * sizeof *fresh);
    size_t nfresh = 0;
    if (!fresh)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < q->n; i++) {
        if (q->results[i])
            continue;
        bool dup;
        q->results[i] = pool_add_endorsement(a->pool, &q->e[i], &dup);
        if (!q->results[i] && !dup)
            fresh[nfresh++] = q->e[i];
    }
    node_ev_endorsements(a->n, fresh, nfresh);
    free(fresh);
    return WEFT_OK;
}

/* Operations of the pool in wire form, for peers; entries already filled are skipped. */
static weft_err get_ops_wire(pool_actor *a, nnetops *q)
{
    wr_t w;
    wr_init(&w);
    for (size_t i = 0; i < q->n; i++) {
        if (q->out[i].len)
            continue;
        const signed_op_t *op = pool_get_op(a->pool, &q->ids[i]);
        if (!op)
            continue;
        signed_op_encode(&w, op);
        q->out[i].b = wr_take(&w, &q->out[i].len);
        if (!q->out[i].b) {
            q->out[i].len = 0;
            return WEFT_E_NOMEM;
        }
    }
    return WEFT_OK;
}

/* ---- parked operations ---------------------------------------------------------------------- */

static void parked_drop(pool_actor *a, const op_id_t *id)
{
    signed_op_t *op = nmap_del(&a->parked, id->h.b);
    if (op) {
        signed_op_free(op);
        free(op);
    }
}

/* Keeps a copy of the pool's operations among ids before they are removed (best effort: beyond
 * parked_max, or out of memory, an operation is dropped as before). */
static void park_ops(pool_actor *a, const nids *x)
{
    for (size_t i = 0; i < x->n && a->parked.count < a->parked_max; i++) {
        const signed_op_t *op = pool_get_op(a->pool, &x->ids[i]);
        if (!op || nmap_get(&a->parked, x->ids[i].h.b))
            continue;
        signed_op_t *c = malloc(sizeof *c);
        if (!c || node_op_copy(c, op, a->n->params.chain_id) != WEFT_OK) {
            free(c);
            return;
        }
        if (nmap_put(&a->parked, c->id.h.b, c) != WEFT_OK) {
            signed_op_free(c);
            free(c);
            return;
        }
    }
}

/* Drops the parked operations executed in a final slot or expired, and admits again those that
 * are no longer executed (their block left the blockclique). */
static weft_err review_parked(pool_actor *a, uint64_t period)
{
    size_t n = a->parked.count;
    if (!n)
        return WEFT_OK;
    op_id_t *ids = malloc(n * sizeof *ids);
    bool *spec = calloc(n, sizeof *spec), *fin = calloc(n, sizeof *fin);
    signed_op_t **back = malloc(n * sizeof *back);
    weft_err *res = malloc(n * sizeof *res);
    weft_err err = ids && spec && fin && back && res ? WEFT_OK : WEFT_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; !err && i < a->parked.cap; i++) {
        const signed_op_t *op = a->parked.e[i].v;
        if (op)
            ids[k++] = op->id;
    }
    nexecq q = {ids, k, spec, fin};
    if (!err)
        err = node_call(a->n->a_exec, MSG_EXEC_OPS_EXECUTED, &q);
    size_t nb = 0;
    for (size_t i = 0; !err && i < k; i++) {
        signed_op_t *op = nmap_get(&a->parked, ids[i].h.b);
        if (fin[i] || op->op.expire_period < period) {
            parked_drop(a, &ids[i]);
        } else if (!spec[i]) {
            nmap_del(&a->parked, ids[i].h.b);
            back[nb++] = op;
        }
    }
    if (nb) {
        nopsq aq = {back, nb, res, period};
        err = add_ops(a, &aq); /* consumes the operations it admits; fires ops_admitted */
        for (size_t i = 0; i < nb; i++)
            if (back[i]) {
                signed_op_free(back[i]);
                free(back[i]);
            }
        log_debug("pool", "operations of orphaned blocks admitted again", "count=%zu", nb);
    }
    free(ids);
    free(spec);
    free(fin);
    free(back);
    free(res);
    return err;
}

static void arm_tick(pool_actor *a)
{
    (void)actor_timer_after(a->n->sys, a->n->a_pool, a->n->params.t0_ms, MSG_POOL_TICK, NULL, NULL);
}

static weft_err po_start(void *ctx, actor_t *self)
{
    (void)self;
    pool_actor *a = ctx;
    a->pool = pool_new(&a->cfg);
    if (!a->pool)
        return WEFT_E_NOMEM;
    uint64_t seed;
    crypto_random(&seed, sizeof seed);
    nmap_init(&a->parked, seed);
    return WEFT_OK;
}

static void po_stop(void *ctx, actor_t *self)
{
    (void)self;
    pool_actor *a = ctx;
    pool_free(a->pool);
    a->pool = NULL;
    for (size_t i = 0; i < a->parked.cap; i++) {
        signed_op_t *op = a->parked.e[i].v;
        if (op) {
            signed_op_free(op);
            free(op);
        }
    }
    nmap_free(&a->parked);
}

static weft_err po_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    (void)self;
    pool_actor *a = ctx;
    weft_err st = WEFT_OK;
    switch (m->kind) {
    case MSG_POOL_ADD_OPS:
        st = add_ops(a, m->payload);
        break;
    case MSG_POOL_ADD_ENDO: {
        bool dup;
        weft_err e = pool_add_endorsement(a->pool, m->payload, &dup);
        if (e)
            log_debug("pool", "endorsement refused", "err=%s", weft_err_name(e));
        else if (!dup)
            node_ev_endorsements(a->n, m->payload, 1);
        free(m->payload);
        break;
    }
    case MSG_POOL_ADD_ENDOS:
        st = add_endorsements(a, m->payload);
        break;
    case MSG_POOL_NET_OPS:
        st = get_ops_wire(a, m->payload);
        break;
    case MSG_POOL_NET_ADD_OPS: /* nobody waits: the results are dropped */
        st = add_ops(a, m->payload);
        if (st)
            log_debug("pool", "operations from the network not admitted", "err=%s",
                      weft_err_name(st));
        m->free_fn(m->payload); /* and the operations the pool did not take */
        break;
    case MSG_POOL_NET_ADD_ENDOS:
        st = add_endorsements(a, m->payload);
        m->free_fn(m->payload);
        break;
    case MSG_POOL_REMOVE: {
        nids *x = m->payload;
        park_ops(a, x);
        pool_remove_ops(a->pool, x->ids, x->n);
        nids_free(x);
        break;
    }
    case MSG_POOL_SELECT:
        st = select_block(a, m->payload);
        break;
    case MSG_POOL_GET: {
        node_op_info_t *o = m->payload;
        const signed_op_t *op = pool_get_op(a->pool, &o->op.id);
        if (op) {
            o->in_pool = true;
            o->found = true;
            if (!o->has_op) {
                st = node_op_copy(&o->op, op, a->n->params.chain_id);
                o->has_op = st == WEFT_OK;
            }
        }
        break;
    }
    case MSG_POOL_STATUS: {
        node_status_t *s = m->payload;
        pool_stats ps;
        pool_get_stats(a->pool, &ps);
        s->pool_ops = ps.ops;
        s->pool_endorsements = ps.endorsements;
        break;
    }
    case MSG_POOL_TICK: {
        uint64_t p = node_current_period(a->n);
        size_t ev = pool_prune(a->pool, p, p > 2 ? p - 2 : 0);
        if (ev)
            log_debug("pool", "expired operations dropped", "count=%zu", ev);
        weft_err e = review_parked(a, p);
        if (e)
            log_warn("pool", "cannot review parked operations", "err=%s", weft_err_name(e));
        arm_tick(a);
        break;
    }
    default:
        st = node_msg_unknown("pool", m);
        break;
    }
    node_msg_done(m, st);
    return WEFT_OK;
}

weft_err pool_actor_add(node_t *n)
{
    pool_actor *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->n = n;
    pool_config_default(&a->cfg, &n->params);
    if (n->repo->config.pool_max_ops_per_thread)
        a->cfg.max_ops_per_thread = n->repo->config.pool_max_ops_per_thread;
    a->parked_max = (size_t)a->cfg.max_ops_per_thread * n->params.thread_count;
    n->po = a;
    actor_def d = {
        .name = "pool",
        .mailbox_cap = 1024,
        .ctx = a,
        .start = po_start,
        .handle = po_handle,
        .stop = po_stop,
    };
    return actor_system_add(n->sys, &d, &n->a_pool);
}

void pool_actor_start_ticks(pool_actor *a) { arm_tick(a); }

void pool_actor_free(pool_actor *a) { free(a); }
