/* The pool actor: owns the operation and endorsement pool (src/pool).  Admits operations in
 * batches, endorsements from the factory and from peers, drops operations that a block of the
 * blockclique holds (consensus reports them) or that execution reports executed, prunes expired
 * entries once per period, and selects a block's operations and endorsements for the factory.
 *
 * The pool never waits for execution, which can be busy for seconds (re-executing the speculative
 * history after a blockclique change) while the network's thread, the API and the factory wait
 * for the pool.  The creators' candidate balances that admission checks come with the request:
 * the API's thread asks execution before asking the pool (pool_actor_admit); operations from the
 * network queue here and their balances are asked of execution one-way, one request at a time,
 * execution forwarding its answer back (MSG_EXEC_FWD_BALANCES → MSG_POOL_NET_BALANCES); so is
 * the review of parked operations (MSG_EXEC_FWD_OPS_EXECUTED → MSG_POOL_REVIEWED).  Execution
 * forwards with DROP (it never waits for the pool): a lost answer is noticed after
 * NET_INFLIGHT_MAX_MS and asked again.  A block's selection counts on the balances execution gave
 * at the operations' admission (remembered per creator), so the factory never waits either.
 *
 * Operations and endorsements newly admitted (not those already known) are reported to the
 * network sink, which announces them to peers.
 *
 * Operations of the blocks consensus reports (the blockclique, final blocks not executed yet) and
 * operations that execution reports executed leave the pool, so that no later block includes
 * them again; but a block can leave the blockclique (a fork, a partition that heals), and the
 * operation would then be lost to every pool of the network.  So they are parked, not dropped:
 * at every tick the pool asks execution about the parked operations no reported block holds —
 * those executed in a final slot or expired are dropped, those no longer executed at all (their
 * block was orphaned) are admitted again (and announced again).
 *
 * Messages: MSG_POOL_ADD_OPS (request with balances; the API waits), MSG_POOL_ADD_ENDO,
 * MSG_POOL_REMOVE and MSG_POOL_CLIQUE (one-way, sent with DROP: under load an endorsement or a
 * removal notice may be lost, which costs fitness or a wasted inclusion, never safety),
 * MSG_POOL_SELECT,
 * MSG_POOL_GET / _STATUS (requests),
 * MSG_POOL_NET_ADD_OPS / _NET_ADD_ENDOS (one-way: operations and endorsements from the network,
 * checked on the network's thread, which does not wait for the pool), MSG_POOL_NET_BALANCES /
 * _REVIEWED / _BALANCES (one-way answers forwarded by execution), MSG_POOL_ADD_ENDOS / _NET_OPS
 * (requests), MSG_POOL_TICK (timer).  The pool is not durable: a restart starts it empty, as
 * clients resubmit and peers re-announce. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "nmap.h"
#include "node_internal.h"

#define NET_PENDING_MAX 131072 /* operations from the network waiting for their balances */

struct pool_actor {
    node_t *n;
    pool_t *pool;
    pool_config cfg;
    nmap parked; /* op id → signed_op_t* (owned copy): executed, not final yet */
    size_t parked_max;
    /* the blocks consensus last reported (MSG_POOL_CLIQUE): the blockclique and the final blocks
     * not executed yet, and how many of them hold each operation */
    nmap bc_blocks; /* block id → nblock* (owned reference) */
    nmap bc_ops;    /* op id → (void *)(uintptr_t) count of bc_blocks holding it */
    /* operations from the network waiting for their creators' balances */
    signed_op_t **netq;
    size_t netq_n, netq_cap;
    uint64_t net_dropped; /* beyond NET_PENDING_MAX */
    /* one forwarded request to execution at a time, of each kind */
    bool net_inflight, review_inflight;
    uint64_t net_sent_ms, review_sent_ms;
    /* the latest candidate balance execution gave for each creator (admissions): what a block's
     * selection counts on */
    struct baltab *bal;
};

/* ---- balances: a small open-addressing table filled from execution ------------------------- */

typedef struct baltab {
    address_t *k;
    amount_t *v;
    bool *used;
    size_t cap, count;
} baltab;

static size_t bt_hash(const address_t *a, size_t cap)
{
    uint64_t h;
    memcpy(&h, a->hash.b, 8);
    return (size_t)(h ^ a->kind) & (cap - 1);
}

static weft_err bt_init(baltab *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    t->k = calloc(cap, sizeof *t->k);
    t->v = calloc(cap, sizeof *t->v);
    t->used = calloc(cap, sizeof *t->used);
    t->cap = cap;
    t->count = 0;
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

/* The table of the balances execution gave (n entries). */
static weft_err bt_from(baltab *t, const address_t *addrs, const amount_t *amts, size_t n)
{
    weft_err err = bt_init(t, n);
    for (size_t i = 0; !err && i < n; i++)
        bt_set(t, bt_slot(t, &addrs[i]), &addrs[i], amts[i]);
    return err;
}

#define BAL_CACHE_MAX 262144 /* creators remembered; beyond, the cache starts over */

/* Remembers the balances execution gave (n entries) for the next selections. */
static void bal_remember(pool_actor *a, const address_t *addrs, const amount_t *amts, size_t n)
{
    baltab *t = a->bal;
    if (!t || !n)
        return;
    if (t->count + n > BAL_CACHE_MAX) { /* start over: admissions fill it again */
        bt_free(t);
        if (bt_init(t, 1024) != WEFT_OK) {
            free(t);
            a->bal = NULL;
            return;
        }
    }
    if (2 * (t->count + n) > t->cap) {
        baltab g;
        size_t want = 2 * (t->count + n);
        if (bt_init(&g, want) != WEFT_OK)
            return;
        for (size_t i = 0; i < t->cap; i++)
            if (t->used[i])
                bt_set(&g, bt_slot(&g, &t->k[i]), &t->k[i], t->v[i]);
        bt_free(t);
        *t = g;
    }
    for (size_t i = 0; i < n; i++)
        bt_set(t, bt_slot(t, &addrs[i]), &addrs[i], amts[i]);
}

/* A creator the table does not hold (not asked of execution) counts as unable to pay. */
static weft_err bt_lookup(void *ctx, const address_t *a, amount_t *out)
{
    baltab *t = ctx;
    size_t i = bt_slot(t, a);
    if (!t->used[i])
        return WEFT_E_NOT_FOUND;
    *out = t->v[i];
    return WEFT_OK;
}

weft_err node_op_creators(signed_op_t *const *ops, size_t n, address_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    baltab t;
    weft_err err = bt_init(&t, n);
    if (err)
        return err;
    address_t *addrs = malloc((n ? n : 1) * sizeof *addrs);
    if (!addrs) {
        bt_free(&t);
        return WEFT_E_NOMEM;
    }
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ops[i])
            continue;
        address_t ad;
        address_of_pubkey(&ad, &ops[i]->creator);
        size_t s = bt_slot(&t, &ad);
        if (!t.used[s]) {
            bt_set(&t, s, &ad, amount_from_nano(0));
            addrs[na++] = ad;
        }
    }
    bt_free(&t);
    *out = addrs;
    *count = na;
    return WEFT_OK;
}

/* ---- handlers -------------------------------------------------------------------------------- */

/* Admits ops[0..n) (NULL entries skipped; each one taken) with their creators' balances
 * (addrs/amts, na entries); results[i] per operation (results may be NULL); announces the new
 * ones. */
static bool park_taken(pool_actor *a, signed_op_t *op);

static weft_err admit(pool_actor *a, signed_op_t **ops, size_t n, weft_err *results,
                      uint64_t period, const address_t *addrs, const amount_t *amts, size_t na)
{
    baltab t;
    weft_err err = bt_from(&t, addrs, amts, na);
    if (err)
        return err;
    bal_remember(a, addrs, amts, na);
    /* the ids of newly admitted operations, for the network (the op may be evicted later) */
    op_id_t *fresh = malloc((n ? n : 1) * sizeof *fresh);
    size_t nfresh = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ops[i])
            continue;
        signed_op_t *op = ops[i];
        op_id_t id = op->id;
        bool dup;
        ops[i] = NULL;
        if (nmap_get(&a->bc_ops, id.h.b) && park_taken(a, op)) {
            if (results) /* already in a block of the blockclique: parked, as if included */
                results[i] = WEFT_OK;
            continue;
        }
        weft_err r = pool_add_op(a->pool, op, period, bt_lookup, &t, &dup);
        if (results)
            results[i] = r;
        if (fresh && r == WEFT_OK && !dup)
            fresh[nfresh++] = id;
    }
    node_ev_ops_admitted(a->n, fresh, nfresh);
    free(fresh);
    bt_free(&t);
    return WEFT_OK;
}

weft_err pool_actor_admit(node_t *n, nopsq *q)
{
    address_t *addrs;
    size_t na;
    weft_err err = node_op_creators(q->ops, q->n, &addrs, &na);
    if (err)
        return err;
    amount_t *amts = malloc((na ? na : 1) * sizeof *amts);
    if (!amts) {
        free(addrs);
        return WEFT_E_NOMEM;
    }
    q->bal = (nbalances){na, addrs, amts};
    if (na) /* on the caller's thread: the pool does not wait for execution */
        err = node_call(n->a_exec, MSG_EXEC_BALANCES, &q->bal);
    if (!err)
        err = node_call(n->a_pool, MSG_POOL_ADD_OPS, q);
    q->bal = (nbalances){0, NULL, NULL};
    free(addrs);
    free(amts);
    return err;
}

/* The cache's lookup for a selection, noting the creators it does not hold. */
#define SEL_MISSES_MAX 4096
typedef struct sel_lookup {
    baltab *t;
    address_t *miss; /* NULL: not noted */
    size_t nmiss;
} sel_lookup;

static weft_err sel_balance(void *ctx, const address_t *a, amount_t *out)
{
    sel_lookup *l = ctx;
    weft_err e = bt_lookup(l->t, a, out);
    if (e && l->miss && l->nmiss < SEL_MISSES_MAX)
        l->miss[l->nmiss++] = *a;
    return e;
}

static void refresh_balances(pool_actor *a, address_t *addrs, size_t n);

/* A block's operations are selected with the balances execution gave when they were admitted (the
 * cache above; a creator it does not hold counts as unable to pay, and its balance is asked of
 * execution, one-way, for the next blocks): the factory never waits for execution, which may be
 * seconds behind under load — a slot's block and endorsements would be late or missed.  A balance
 * that dropped since only costs an operation execution rejects. */
static weft_err select_block(pool_actor *a, nselq *q)
{
    weft_err err = WEFT_OK;
    uint32_t cap = a->n->params.max_operations_per_block;
    const signed_op_t **sel = malloc((cap ? cap : 1) * sizeof *sel);
    if (!sel)
        return WEFT_E_NOMEM;
    sel_lookup l = {a->bal, malloc(SEL_MISSES_MAX * sizeof(address_t)), 0};
    size_t k =
        a->bal ? pool_select_ops(a->pool, q->slot, &q->limits, sel_balance, &l, sel, cap) : 0;
    if (l.nmiss)
        refresh_balances(a, l.miss, l.nmiss); /* takes the array */
    else
        free(l.miss);
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
    return err;
}

/* ---- operations from the network: balances asked of execution one-way --------------------- */

/* An nfwd first: execution answers by forwarding the whole batch back. */
typedef struct net_batch {
    nfwd f;
    signed_op_t **ops;
    size_t n;
    op_id_t *ids; /* of ops (f.ex): which execution already ran */
    bool *spec, *fin;
} net_batch;

static void net_batch_free(void *p)
{
    net_batch *b = p;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i]) {
            signed_op_free(b->ops[i]);
            free(b->ops[i]);
        }
    free(b->ops);
    free(b->f.bal.addrs);
    free(b->f.bal.amounts);
    free(b->ids);
    free(b->spec);
    free(b->fin);
    free(b);
}

/* Asks execution for the balances of the queued operations' creators (one request at a time). */
static void net_ask(pool_actor *a)
{
    if (a->net_inflight || !a->netq_n)
        return;
    net_batch *b = calloc(1, sizeof *b);
    if (!b)
        return; /* asked again at the next arrival or tick */
    b->ops = a->netq;
    b->n = a->netq_n;
    a->netq = NULL;
    a->netq_n = a->netq_cap = 0;
    size_t na = 0;
    address_t *addrs = NULL;
    amount_t *amts = NULL;
    if (node_op_creators(b->ops, b->n, &addrs, &na) != WEFT_OK ||
        !(amts = malloc((na ? na : 1) * sizeof *amts))) {
        free(addrs);
        net_batch_free(b);
        log_warn("pool", "operations from the network dropped", "err=%s",
                 weft_err_name(WEFT_E_NOMEM));
        return;
    }
    b->f = (nfwd){.to = a->n->a_pool,
                  .kind = MSG_POOL_NET_BALANCES,
                  .free_fn = net_batch_free,
                  .bal = {na, addrs, amts}};
    /* and which of them execution already ran: an operation that comes (again) from a peer after
     * its block was executed — final, out of the blocks consensus reports — would be included
     * again (best effort: without the arrays, admitted as before) */
    b->ids = malloc(b->n * sizeof *b->ids);
    b->spec = calloc(b->n, sizeof *b->spec);
    b->fin = calloc(b->n, sizeof *b->fin);
    if (b->ids && b->spec && b->fin) {
        size_t k = 0;
        for (size_t i = 0; i < b->n; i++)
            if (b->ops[i])
                b->ids[k++] = b->ops[i]->id;
        b->f.ex = (nexecq){b->ids, k, b->spec, b->fin};
    }
    weft_err e =
        actor_send(a->n->a_exec, MSG_EXEC_FWD_BALANCES, b, net_batch_free, ACTOR_SEND_BLOCK);
    if (e) { /* freed by the runtime */
        log_debug("pool", "operations from the network dropped", "err=%s", weft_err_name(e));
        return;
    }
    a->net_inflight = true;
    a->net_sent_ms = node_now_ms(a->n);
}

/* Asks execution, one-way, for the balances of creators a selection did not find (addrs taken):
 * remembered when the answer comes (MSG_POOL_BALANCES). */
static void refresh_balances(pool_actor *a, address_t *addrs, size_t n)
{
    net_batch *b = calloc(1, sizeof *b);
    amount_t *amts = malloc(n * sizeof *amts);
    if (!b || !amts) {
        free(b);
        free(amts);
        free(addrs);
        return;
    }
    b->f = (nfwd){.to = a->n->a_pool,
                  .kind = MSG_POOL_BALANCES,
                  .free_fn = net_batch_free,
                  .bal = {n, addrs, amts}};
    weft_err e =
        actor_send(a->n->a_exec, MSG_EXEC_FWD_BALANCES, b, net_batch_free, ACTOR_SEND_BLOCK);
    if (e)
        log_debug("pool", "creators' balances not asked", "err=%s", weft_err_name(e));
}

/* Queues operations (taken; NULL entries skipped) for admission once their balances are known. */
static void net_queue(pool_actor *a, signed_op_t **ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!ops[i])
            continue;
        if (a->netq_n == a->netq_cap && a->netq_n < NET_PENDING_MAX) {
            size_t cap = a->netq_cap ? a->netq_cap * 2 : 1024;
            signed_op_t **q = realloc(a->netq, cap * sizeof *q);
            if (q) {
                a->netq = q;
                a->netq_cap = cap;
            }
        }
        if (a->netq_n < a->netq_cap) {
            a->netq[a->netq_n++] = ops[i];
        } else {
            signed_op_free(ops[i]);
            free(ops[i]);
            if (a->net_dropped++ % 10000 == 0)
                log_warn("pool", "operations from the network dropped: too many waiting",
                         "dropped=%llu", (unsigned long long)a->net_dropped);
        }
        ops[i] = NULL;
    }
    net_ask(a);
}

static void net_balances(pool_actor *a, net_batch *b)
{
    a->net_inflight = false;
    size_t ran = 0;
    for (size_t i = 0, k = 0; b->f.st == WEFT_OK && i < b->n; i++) {
        if (!b->ops[i])
            continue;
        if (k < b->f.ex.n && (b->spec[k] || b->fin[k])) { /* executed already: not again */
            signed_op_free(b->ops[i]);
            free(b->ops[i]);
            b->ops[i] = NULL;
            ran++;
        }
        k++;
    }
    if (ran)
        log_debug("pool", "operations from the network already executed", "count=%zu", ran);
    if (b->f.st == WEFT_OK) {
        weft_err e = admit(a, b->ops, b->n, NULL, node_current_period(a->n), b->f.bal.addrs,
                           b->f.bal.amounts, b->f.bal.n);
        if (e)
            log_debug("pool", "operations from the network not admitted", "err=%s",
                      weft_err_name(e));
    } else {
        log_debug("pool", "operations from the network not admitted", "err=%s",
                  weft_err_name(b->f.st));
    }
    net_batch_free(b);
    net_ask(a);
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

/* Parks an operation that arrives while a block of the blockclique already holds it (taken: kept,
 * or freed when already parked).  False when there is no room (the caller keeps it). */
static bool park_taken(pool_actor *a, signed_op_t *op)
{
    if (nmap_get(&a->parked, op->id.h.b)) {
        signed_op_free(op);
        free(op);
        return true;
    }
    return a->parked.count < a->parked_max && nmap_put(&a->parked, op->id.h.b, op) == WEFT_OK;
}

void nblocks_free(void *p)
{
    nblocks *x = p;
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        nblock_unref(x->b[i]);
    free(x->b);
    free(x);
}

/* Counts (d = +1) or uncounts (d = -1) the operations of b in bc_ops; counted ones still in the
 * pool are parked and removed (best effort: one that cannot be parked — parked_max, memory — stays
 * in the pool, where a block may include it again, rather than be lost if b is orphaned). */
static void bc_count(pool_actor *a, const nblock *b, int d)
{
    op_id_t *gone = malloc((b->b.op_count ? b->b.op_count : 1) * sizeof *gone);
    size_t ngone = 0;
    for (uint32_t i = 0; i < b->b.op_count; i++) {
        const uint8_t *k = b->b.op_ids[i].h.b;
        uintptr_t c = (uintptr_t)nmap_get(&a->bc_ops, k);
        if (d < 0) {
            /* a count the map cannot store is dropped: at worst a wasted inclusion */
            if (c == 1 || (c > 1 && nmap_put(&a->bc_ops, k, (void *)(c - 1)) != WEFT_OK))
                nmap_del(&a->bc_ops, k);
            continue;
        }
        if (nmap_put(&a->bc_ops, k, (void *)(c + 1)) != WEFT_OK)
            continue;
        if (gone && pool_get_op(a->pool, &b->b.op_ids[i]))
            gone[ngone++] = b->b.op_ids[i];
    }
    if (ngone) {
        nids x = {gone, ngone};
        park_ops(a, &x);
        size_t w = 0;
        for (size_t i = 0; i < ngone; i++)
            if (nmap_get(&a->parked, gone[i].h.b))
                gone[w++] = gone[i];
        pool_remove_ops(a->pool, gone, w);
    }
    free(gone);
}

/* Consensus reports, after every change, the blocks of the blockclique and the final blocks that
 * execution has not executed yet — the full list every time, so that a report lost to a full
 * mailbox is made good by the next.  The operations of newly reported blocks leave the pool at
 * once, parked as executed ones are: execution may be seconds behind, and until it executes
 * them the factory would include them again in the thread's next blocks (execution refuses the
 * second copy: block space and work wasted).  The operations of blocks no longer reported are
 * reviewed at the next tick with the other parked ones: kept while executed, admitted again when
 * their block left the blockclique. */
static void clique_update(pool_actor *a, nblocks *x)
{
    nmap now;
    nmap_init(&now, a->bc_blocks.seed ^ 0x9e3779b97f4a7c15u);
    bool ok = true;
    for (size_t i = 0; ok && i < x->n; i++)
        ok = nmap_put(&now, x->b[i]->b.header.id.h.b, x->b[i]) == WEFT_OK;
    nblock **gone = malloc((a->bc_blocks.count ? a->bc_blocks.count : 1) * sizeof *gone);
    if (!ok || !gone) { /* the previous view stays until the next report */
        free(gone);
        nmap_free(&now);
        nblocks_free(x);
        return;
    }
    size_t ngone = 0;
    for (size_t i = 0; i < a->bc_blocks.cap; i++) {
        nblock *b = a->bc_blocks.e[i].v;
        if (b && !nmap_get(&now, b->b.header.id.h.b))
            gone[ngone++] = b;
    }
    for (size_t i = 0; i < ngone; i++) {
        nmap_del(&a->bc_blocks, gone[i]->b.header.id.h.b);
        bc_count(a, gone[i], -1);
        nblock_unref(gone[i]);
    }
    free(gone);
    nmap_free(&now);
    for (size_t i = 0; i < x->n; i++) {
        nblock *b = x->b[i];
        if (nmap_get(&a->bc_blocks, b->b.header.id.h.b) ||
            nmap_put(&a->bc_blocks, b->b.header.id.h.b, b) != WEFT_OK)
            continue;
        x->b[i] = NULL; /* the reference moves to bc_blocks */
        bc_count(a, b, +1);
    }
    nblocks_free(x);
}

static void bc_clear(pool_actor *a)
{
    for (size_t i = 0; i < a->bc_blocks.cap; i++)
        nblock_unref(a->bc_blocks.e[i].v);
    nmap_free(&a->bc_blocks);
    nmap_free(&a->bc_ops);
}

typedef struct review_batch {
    nfwd f;
    op_id_t *ids;
    bool *spec, *fin;
} review_batch;

static void review_free(void *p)
{
    review_batch *r = p;
    if (!r)
        return;
    free(r->ids);
    free(r->spec);
    free(r->fin);
    free(r);
}

/* Asks execution which parked operations are executed (speculatively, finally); the answer comes
 * back as MSG_POOL_REVIEWED. */
static void review_ask(pool_actor *a)
{
    size_t n = a->parked.count;
    if (!n || a->review_inflight)
        return;
    review_batch *r = calloc(1, sizeof *r);
    if (r) {
        r->ids = malloc(n * sizeof *r->ids);
        r->spec = calloc(n, sizeof *r->spec);
        r->fin = calloc(n, sizeof *r->fin);
    }
    if (!r || !r->ids || !r->spec || !r->fin) {
        review_free(r);
        log_warn("pool", "cannot review parked operations", "err=%s", weft_err_name(WEFT_E_NOMEM));
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < a->parked.cap; i++) {
        const signed_op_t *op = a->parked.e[i].v;
        if (op && !nmap_get(&a->bc_ops, op->id.h.b)) /* kept while a reported block holds it */
            r->ids[k++] = op->id;
    }
    if (!k) {
        review_free(r);
        return;
    }
    r->f = (nfwd){.to = a->n->a_pool,
                  .kind = MSG_POOL_REVIEWED,
                  .free_fn = review_free,
                  .ex = {r->ids, k, r->spec, r->fin}};
    weft_err e =
        actor_send(a->n->a_exec, MSG_EXEC_FWD_OPS_EXECUTED, r, review_free, ACTOR_SEND_BLOCK);
    if (e) {
        log_debug("pool", "cannot review parked operations", "err=%s", weft_err_name(e));
        return;
    }
    a->review_inflight = true;
    a->review_sent_ms = node_now_ms(a->n);
}

/* Drops the parked operations executed in a final slot or expired, and admits again those that
 * are no longer executed (their block left the blockclique). */
static void reviewed(pool_actor *a, review_batch *r)
{
    a->review_inflight = false;
    if (r->f.st != WEFT_OK) {
        log_warn("pool", "cannot review parked operations", "err=%s", weft_err_name(r->f.st));
        review_free(r);
        return;
    }
    uint64_t period = node_current_period(a->n);
    size_t back = 0;
    for (size_t i = 0; i < r->f.ex.n; i++) {
        signed_op_t *op = nmap_get(&a->parked, r->ids[i].h.b);
        if (!op)
            continue; /* dropped since */
        if (r->fin[i] || op->op.expire_period < period) {
            parked_drop(a, &r->ids[i]);
        } else if (!r->spec[i] && !nmap_get(&a->bc_ops, r->ids[i].h.b)) {
            nmap_del(&a->parked, r->ids[i].h.b);
            net_queue(a, &op, 1); /* admitted again once its creator's balance is known */
            back++;
        }
    }
    if (back)
        log_debug("pool", "operations of orphaned blocks admitted again", "count=%zu", back);
    review_free(r);
}

/* A forwarded request whose answer execution could not deliver (DROP) is asked again. */
#define NET_INFLIGHT_MAX_MS(a) (4 * (a)->n->params.t0_ms)

static void arm_tick(pool_actor *a)
{
    (void)actor_timer_after(a->n->sys, a->n->a_pool, a->n->params.t0_ms, MSG_POOL_TICK, NULL, NULL);
}

static weft_err po_start(void *ctx, actor_t *self)
{
    (void)self;
    pool_actor *a = ctx;
    a->pool = pool_new(&a->cfg);
    a->bal = malloc(sizeof *a->bal);
    if (!a->pool || !a->bal || bt_init(a->bal, 1024) != WEFT_OK) {
        pool_free(a->pool);
        a->pool = NULL;
        free(a->bal);
        a->bal = NULL;
        return WEFT_E_NOMEM;
    }
    uint64_t seed;
    crypto_random(&seed, sizeof seed);
    nmap_init(&a->parked, seed);
    nmap_init(&a->bc_blocks, seed ^ 1);
    nmap_init(&a->bc_ops, seed ^ 2);
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
    bc_clear(a);
    for (size_t i = 0; i < a->netq_n; i++) {
        signed_op_free(a->netq[i]);
        free(a->netq[i]);
    }
    free(a->netq);
    a->netq = NULL;
    a->netq_n = a->netq_cap = 0;
    a->net_inflight = a->review_inflight = false;
    if (a->bal)
        bt_free(a->bal);
    free(a->bal);
    a->bal = NULL;
}

static weft_err po_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    (void)self;
    pool_actor *a = ctx;
    weft_err st = WEFT_OK;
    switch (m->kind) {
    case MSG_POOL_ADD_OPS: {
        nopsq *q = m->payload;
        st = admit(a, q->ops, q->n, q->results, q->current_period, q->bal.addrs, q->bal.amounts,
                   q->bal.n);
        break;
    }
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
    case MSG_POOL_NET_ADD_OPS: { /* nobody waits */
        nopsq *q = m->payload;
        net_queue(a, q->ops, q->n);
        m->free_fn(q); /* its operations were taken */
        break;
    }
    case MSG_POOL_NET_BALANCES:
        net_balances(a, m->payload);
        break;
    case MSG_POOL_REVIEWED:
        reviewed(a, m->payload);
        break;
    case MSG_POOL_CLIQUE:
        clique_update(a, m->payload);
        break;
    case MSG_POOL_BALANCES: { /* creators a selection did not find */
        net_batch *b = m->payload;
        if (b->f.st == WEFT_OK)
            bal_remember(a, b->f.bal.addrs, b->f.bal.amounts, b->f.bal.n);
        net_batch_free(b);
        break;
    }

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
        uint64_t now = node_now_ms(a->n);
        if (a->net_inflight && now - a->net_sent_ms > NET_INFLIGHT_MAX_MS(a))
            a->net_inflight = false; /* execution's answer was dropped: ask again */
        if (a->review_inflight && now - a->review_sent_ms > NET_INFLIGHT_MAX_MS(a))
            a->review_inflight = false;
        net_ask(a);
        review_ask(a);
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

void node_pool_config(const node_t *n, pool_config *out)
{
    pool_config_default(out, &n->params);
    if (n->repo->config.pool_max_ops_per_thread)
        out->max_ops_per_thread = n->repo->config.pool_max_ops_per_thread;
}

weft_err pool_actor_add(node_t *n)
{
    pool_actor *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->n = n;
    node_pool_config(n, &a->cfg);
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
