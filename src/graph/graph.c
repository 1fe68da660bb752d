/* graph/graph.c — lifecycle of a block graph, its inputs (graph_add, graph_tick), the waiting
 * machinery, the bounds, the outputs and the queries.
 *
 * A block given to graph_add is either from the future (future queue), or has a parent that is
 * unknown or itself undecided (waiting queue; an unknown parent gets a MISSING placeholder node
 * that records who waits for it and is reported as missing), or is ready: the ready heap hands
 * ready blocks to rules_process in (slot, id) order until none is left, and every verdict wakes the
 * blocks that waited for it.  At the end of each input the bounded records are trimmed (oldest
 * first), final blocks that nothing new may reference are pruned, and the outputs are finished. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

static const char *const status_names[] = {"unknown", "waiting_parents", "waiting_slot", "pending",
                                           "final",   "stale",           "invalid"};

const char *graph_status_name(graph_status st)
{
    return (unsigned)st < WEFT_ARRAY_LEN(status_names) ? status_names[st] : "?";
}

void graph_config_init(graph_config *c, uint32_t thread_count, uint64_t delta_f0)
{
    memset(c, 0, sizeof *c);
    c->thread_count = thread_count;
    c->delta_f0 = delta_f0;
    c->max_blocks_per_slot = 2;
    c->max_future = 1024;
    c->max_waiting = 2048;
    c->max_discarded = 4096;
    c->final_keep_periods = 8;
    c->stale_old_on_arrival = true;
    c->hash_seed = 0;
}

/* ---- node table ----------------------------------------------------------------------------- */

gnode *g_deref(const graph *g, gref r)
{
    if (r.slot >= g->tab_top || g->tab_gen[r.slot] != r.gen)
        return NULL;
    return g->tab[r.slot];
}

void g_poison(graph *g, weft_err err)
{
    if (!g->poisoned)
        g->poisoned = err;
}

/* A new node for id, in the table and the map, state MISSING; NULL on allocation failure (nothing
 * changed then). */
static gnode *node_new(graph *g, const block_id_t *id)
{
    gnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->id = *id;
    if (g->n_tab_free == 0 && g->tab_top == g->tab_cap) {
        uint32_t ncap = g->tab_cap ? 2 * g->tab_cap : 256;
        gnode **nt = realloc(g->tab, ncap * sizeof(gnode *));
        if (nt)
            g->tab = nt;
        uint32_t *ng = nt ? realloc(g->tab_gen, ncap * sizeof *ng) : NULL;
        if (ng)
            g->tab_gen = ng;
        uint32_t *nf = ng ? realloc(g->tab_free, ncap * sizeof *nf) : NULL;
        if (nf)
            g->tab_free = nf;
        if (!nf) {
            free(n);
            return NULL;
        }
        g->tab_cap = ncap;
    }
    uint32_t slot;
    if (g->n_tab_free) {
        slot = g->tab_free[--g->n_tab_free];
    } else {
        slot = g->tab_top++;
        g->tab_gen[slot] = 1; /* generation 0 is never live: a zeroed gref is a null handle */
    }
    if (map_put(g, n) != WEFT_OK) {
        g->tab_free[g->n_tab_free++] = slot;
        free(n);
        return NULL;
    }
    g->tab[slot] = n;
    n->self = slot;
    return n;
}

/* Forgets a node entirely: map, table (its handles go stale), slot count. */
static void node_free(graph *g, gnode *n)
{
    if (n->counted)
        smap_dec(g, n->slot);
    map_del(g, n);
    g->tab[n->self] = NULL;
    if (++g->tab_gen[n->self] == 0)
        g->tab_gen[n->self] = 1;
    g->tab_free[g->n_tab_free++] = n->self;
    free(n->pid);
    free(n->par);
    free(n->waiters);
    free(n);
}

/* ---- queues and heap ------------------------------------------------------------------------ */

static void q_push(gqueue *q, gnode *n)
{
    n->qnext = NULL;
    n->qprev = q->tail;
    if (q->tail)
        q->tail->qnext = n;
    else
        q->head = n;
    q->tail = n;
    q->count++;
}

static void q_remove(gqueue *q, gnode *n)
{
    if (n->qprev)
        n->qprev->qnext = n->qnext;
    else
        q->head = n->qnext;
    if (n->qnext)
        n->qnext->qprev = n->qprev;
    else
        q->tail = n->qprev;
    n->qprev = n->qnext = NULL;
    WEFT_ASSERT(q->count > 0);
    q->count--;
}

static int ready_cmp(const gnode *a, const gnode *b)
{
    int c = slot_cmp(a->slot, b->slot);
    return c ? c : hash32_cmp(&a->id.h, &b->id.h);
}

static weft_err heap_push(graph *g, gnode *n)
{
    if (g->n_heap == g->cap_heap) {
        size_t ncap = g->cap_heap ? 2 * g->cap_heap : 64;
        gnode **nh = realloc(g->heap, ncap * sizeof(gnode *));
        if (!nh)
            return WEFT_E_NOMEM;
        g->heap = nh;
        g->cap_heap = ncap;
    }
    size_t i = g->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (ready_cmp(g->heap[p], n) <= 0)
            break;
        g->heap[i] = g->heap[p];
        i = p;
    }
    g->heap[i] = n;
    return WEFT_OK;
}

static gnode *heap_pop(graph *g)
{
    gnode *top = g->heap[0];
    gnode *last = g->heap[--g->n_heap];
    size_t i = 0, n = g->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ready_cmp(g->heap[c + 1], g->heap[c]) < 0)
            c++;
        if (ready_cmp(last, g->heap[c]) <= 0)
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (n)
        g->heap[i] = last;
    return top;
}

/* ---- outputs -------------------------------------------------------------------------------- */

bool g_ev_push(evlist *l, const gnode *n, weft_err reason)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 16;
        graph_event *nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = ncap;
    }
    graph_event *e = &l->v[l->n++];
    e->id = n->id;
    e->slot = n->slot;
    e->reason = reason;
    return true;
}

bool g_id_push(idlist *l, const block_id_t *id)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 16;
        block_id_t *nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = *id;
    return true;
}

/* Removes id from l if present; returns whether it was. */
static bool id_cancel(idlist *l, const block_id_t *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (block_id_eq(&l->v[i], id)) {
            l->v[i] = l->v[--l->n];
            return true;
        }
    return false;
}

static void refresh_view(graph *g)
{
    graph_outputs *o = &g->out;
    o->pending = g->o_pending.v;
    o->n_pending = g->o_pending.n;
    o->final = g->o_final.v;
    o->n_final = g->o_final.n;
    o->stale = g->o_stale.v;
    o->n_stale = g->o_stale.n;
    o->invalid = g->o_invalid.v;
    o->n_invalid = g->o_invalid.n;
    o->missing = g->o_missing.v;
    o->n_missing = g->o_missing.n;
    o->dropped = g->o_dropped.v;
    o->n_dropped = g->o_dropped.n;
    o->bc_added = g->o_bc_added.v;
    o->n_bc_added = g->o_bc_added.n;
    o->bc_removed = g->o_bc_removed.v;
    o->n_bc_removed = g->o_bc_removed.n;
    o->blockclique_changed = g->o_bc_added.n + g->o_bc_removed.n > 0;
}

const graph_outputs *graph_get_outputs(const graph *g) { return &g->out; }

void graph_outputs_clear(graph *g)
{
    g->o_pending.n = g->o_final.n = g->o_stale.n = g->o_invalid.n = g->o_dropped.n = 0;
    g->o_missing.n = g->o_bc_added.n = g->o_bc_removed.n = 0;
    refresh_view(g);
}

/* ---- verdicts and waking waiters ------------------------------------------------------------ */

weft_err g_discard(graph *g, gnode *n, uint8_t state, weft_err reason)
{
    WEFT_ASSERT(state == GN_STALE || state == GN_INVALID);
    if (!g_ev_push(state == GN_STALE ? &g->o_stale : &g->o_invalid, n, reason))
        return WEFT_E_NOMEM;
    n->state = state;
    n->reason = reason;
    free(n->pid);
    n->pid = NULL;
    free(n->par);
    n->par = NULL;
    q_push(&g->discarded, n);
    return WEFT_OK;
}

static bool is_undecided(const gnode *n)
{
    return n->state == GN_MISSING || n->state == GN_FUTURE || n->state == GN_WAITING ||
           n->state == GN_READY;
}

static weft_err add_waiter(gnode *p, gnode *w)
{
    if (p->nwaiters == p->capwaiters) {
        uint32_t ncap = p->capwaiters ? 2 * p->capwaiters : 4;
        gnode **nw = realloc(p->waiters, ncap * sizeof(gnode *));
        if (!nw)
            return WEFT_E_NOMEM;
        p->waiters = nw;
        p->capwaiters = ncap;
    }
    p->waiters[p->nwaiters++] = w;
    return WEFT_OK;
}

/* n just got its verdict (pending, stale, invalid): the blocks waiting for it lose one unknown
 * parent; those with none left become ready. */
static weft_err wake_waiters(graph *g, gnode *n)
{
    weft_err err = WEFT_OK;
    for (uint32_t i = 0; i < n->nwaiters; i++) {
        gnode *w = n->waiters[i];
        WEFT_ASSERT(w->state == GN_WAITING && w->unready > 0);
        if (--w->unready == 0) {
            q_remove(&g->waiting, w);
            w->state = GN_READY;
            err = heap_push(g, w);
            if (err)
                goto out;
        }
    }
out:
    free(n->waiters);
    n->waiters = NULL;
    n->nwaiters = n->capwaiters = 0;
    return err;
}

/* Drops a FUTURE or WAITING block (a bound overflowed): it is forgotten, except that it stays as a
 * MISSING placeholder when other blocks wait for it. */
static weft_err drop_block(graph *g, gnode *v)
{
    weft_err err = WEFT_OK;
    WEFT_ASSERT(v);
    q_remove(v->state == GN_FUTURE ? &g->future : &g->waiting, v);
    if (!g_ev_push(&g->o_dropped, v, WEFT_OK))
        return WEFT_E_NOMEM;
    if (v->state == GN_WAITING) {
        /* withdraw v's waiter entries (one per reference to a still undecided parent) */
        for (uint32_t i = 0; i < v->npar; i++) {
            gnode *p = map_get(g, &v->pid[i]);
            if (!p || !is_undecided(p))
                continue;
            for (uint32_t k = 0; k < p->nwaiters; k++)
                if (p->waiters[k] == v) {
                    p->waiters[k] = p->waiters[--p->nwaiters];
                    break;
                }
        }
        for (uint32_t i = 0; i < v->npar; i++) {
            gnode *p = map_get(g, &v->pid[i]);
            if (p && p != v && p->state == GN_MISSING && p->nwaiters == 0)
                node_free(g, p);
        }
    }
    if (v->nwaiters == 0) {
        node_free(g, v);
        return WEFT_OK;
    }
    /* still wanted by others: back to a placeholder, asked for again */
    if (v->counted) {
        smap_dec(g, v->slot);
        v->counted = false;
    }
    free(v->pid);
    v->pid = NULL;
    v->npar = 0;
    v->unready = 0;
    v->state = GN_MISSING;
    if (!g_id_push(&g->o_missing, &v->id))
        err = WEFT_E_NOMEM;
    return err;
}

/* A block whose slot has come (or that never waited for it) looks at its parents: it waits while
 * one is unknown or undecided, else it is ready. */
static weft_err enter(graph *g, gnode *n)
{
    weft_err err = WEFT_OK;
    n->state = GN_WAITING;
    n->unready = 0;
    for (uint32_t i = 0; i < n->npar; i++) {
        gnode *p = map_get(g, &n->pid[i]);
        if (!p) {
            p = node_new(g, &n->pid[i]);
            if (!p)
                return WEFT_E_NOMEM;
            if (!g_id_push(&g->o_missing, &p->id))
                return WEFT_E_NOMEM;
        }
        if (is_undecided(p) || p == n) {
            err = add_waiter(p, n);
            if (err)
                return err;
            n->unready++;
        }
    }
    if (n->unready == 0) {
        n->state = GN_READY;
        return heap_push(g, n);
    }
    q_push(&g->waiting, n);
    while (g->waiting.count > g->cfg.max_waiting) {
        err = drop_block(g, g->waiting.head);
        if (err)
            return err;
    }
    return WEFT_OK;
}

/* Processes ready blocks, smallest (slot, id) first, until none is left. */
static weft_err drain(graph *g)
{
    gnode **P = NULL;
    uint32_t capP = 0;
    weft_err err = WEFT_OK;
    while (g->n_heap) {
        gnode *n = heap_pop(g);
        WEFT_ASSERT(n->state == GN_READY);
        if (n->npar > capP) {
            gnode **np = realloc(P, n->npar * sizeof(gnode *));
            if (!np) {
                err = WEFT_E_NOMEM;
                goto out;
            }
            P = np;
            capP = n->npar;
        }
        bool known = true;
        for (uint32_t i = 0; i < n->npar; i++) {
            P[i] = map_get(g, &n->pid[i]);
            if (!P[i] || is_undecided(P[i]))
                known = false;
        }
        if (!known) { /* a parent was forgotten (pruned or evicted) since: wait for it again */
            err = enter(g, n);
            if (err)
                goto out;
            continue;
        }
        err = rules_process(g, n, P);
        if (err)
            goto out;
        err = wake_waiters(g, n);
        if (err)
            goto out;
    }
out:
    free(P);
    return err;
}

/* ---- end of an input: bounds, pruning, outputs ---------------------------------------------- */

static bool in_blockclique(const graph *g, const gnode *n)
{
    return n->state == GN_PENDING && bs_get(ROW(g->clbits, g->words, g->kept[0]), n->idx);
}

/* Accumulates the change of the blockclique since the previous input into the outputs. */
static weft_err bc_diff(graph *g)
{
    /* bc_snap holds the blockclique ids at the end of the previous input */
    for (size_t i = 0; i < g->bc_snap.n; i++) {
        gnode *n = map_get(g, &g->bc_snap.v[i]);
        if (n && (n->state == GN_FINAL || in_blockclique(g, n)))
            continue;
        if (!id_cancel(&g->o_bc_added, &g->bc_snap.v[i]) &&
            !g_id_push(&g->o_bc_removed, &g->bc_snap.v[i]))
            return WEFT_E_NOMEM;
    }
    const uint64_t *bc = ROW(g->clbits, g->words, g->kept[0]);
    for (int32_t i = bs_next(bc, g->words, 0); i >= 0; i = bs_next(bc, g->words, i + 1)) {
        gnode *n = g->pnode[i];
        if (n->bc_reported)
            continue;
        if (!id_cancel(&g->o_bc_removed, &n->id) && !g_id_push(&g->o_bc_added, &n->id))
            return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < g->bc_snap.n; i++) {
        gnode *n = map_get(g, &g->bc_snap.v[i]);
        if (n)
            n->bc_reported = false;
    }
    g->bc_snap.n = 0;
    for (int32_t i = bs_next(bc, g->words, 0); i >= 0; i = bs_next(bc, g->words, i + 1)) {
        g->pnode[i]->bc_reported = true;
        if (!g_id_push(&g->bc_snap, &g->pnode[i]->id))
            return WEFT_E_NOMEM;
    }
    return WEFT_OK;
}

static int final_ev_cmp(const void *a, const void *b)
{
    const graph_event *x = a, *y = b;
    int c = slot_cmp(x->slot, y->slot);
    return c ? c : hash32_cmp(&x->id.h, &y->id.h);
}

/* Final blocks of thread `t` older than any block a new block may still name as a parent: new
 * blocks name, in thread t, at least the thread-t parent of the latest final block of some thread
 * (spec rules 5 and 6; docs/graph.md).  Those and final_keep_periods more are kept. */
static void prune_final(graph *g)
{
    if (g->cfg.final_keep_periods == GRAPH_KEEP_ALL)
        return;
    for (uint32_t t = 0; t < g->T; t++) {
        uint64_t frontier = UINT64_MAX;
        for (uint32_t s = 0; s < g->T; s++) {
            const gnode *f = g->latest_final[s];
            uint64_t p = f->genesis ? 0 : f->par[t].period;
            if (p < frontier)
                frontier = p;
        }
        uint64_t bound =
            frontier > g->cfg.final_keep_periods ? frontier - g->cfg.final_keep_periods : 0;
        gnode *n = g->oldest_final[t];
        while (n != g->latest_final[t] && n->slot.period < bound) {
            gnode *next = g_deref(g, n->final_child);
            WEFT_ASSERT(next);
            node_free(g, n);
            g->n_final--;
            n = next;
        }
        g->oldest_final[t] = n;
    }
}

static weft_err end_input(graph *g)
{
    weft_err err = bc_diff(g);
    if (err)
        return err;
    while (g->discarded.count > g->cfg.max_discarded) {
        gnode *n = g->discarded.head;
        q_remove(&g->discarded, n);
        node_free(g, n);
    }
    prune_final(g);
    if (g->o_final.n > 1)
        qsort(g->o_final.v, g->o_final.n, sizeof *g->o_final.v, final_ev_cmp);
    refresh_view(g);
#ifdef WEFT_VERIFY
    graph_check(g);
#endif
    return WEFT_OK;
}

/* ---- inputs --------------------------------------------------------------------------------- */

/* A new block n: stale on arrival (node mode), from the future, or entering the graph. */
static weft_err arrive(graph *g, gnode *n, const slot_t *now, unsigned flags)
{
    if (g->cfg.stale_old_on_arrival && !(flags & GRAPH_RESTORE) && n->slot.thread < g->T &&
        n->slot.period <= g->lfp[n->slot.thread]) {
        weft_err err = g_discard(g, n, GN_STALE, WEFT_E_GRAPH_OLD_PERIOD);
        return err ? err : wake_waiters(g, n);
    }
    if (now && slot_cmp(n->slot, *now) > 0) {
        n->state = GN_FUTURE;
        q_push(&g->future, n);
        weft_err err = WEFT_OK;
        while (!err && g->future.count > g->cfg.max_future)
            err = drop_block(g, g->future.head);
        return err;
    }
    return enter(g, n);
}

weft_err graph_add(graph *g, const graph_block *b, const slot_t *now, unsigned flags)
{
    WEFT_MISUSE(g && b && (b->parents || b->parent_count == 0));
    if (g->poisoned)
        return g->poisoned;
    if (b->fitness > GRAPH_MAX_FITNESS)
        return WEFT_E_GRAPH_FITNESS;
    if (b->parent_count > GRAPH_MAX_PARENTS)
        return WEFT_E_GRAPH_PARENT_COUNT;
    gnode *n = map_get(g, &b->id);
    if (n && n->state != GN_MISSING)
        return WEFT_E_GRAPH_DUPLICATE;
    if (!(flags & GRAPH_FORCE) && smap_get(g, b->slot) >= g->cfg.max_blocks_per_slot)
        return WEFT_E_GRAPH_SLOT_FULL;

    /* allocate what the block needs before changing anything */
    block_id_t *pid = NULL;
    if (b->parent_count) {
        pid = malloc(b->parent_count * sizeof *pid);
        if (!pid)
            return WEFT_E_NOMEM;
        memcpy(pid, b->parents, b->parent_count * sizeof *pid);
    }
    bool fresh = !n;
    if (fresh && !(n = node_new(g, &b->id))) {
        free(pid);
        return WEFT_E_NOMEM;
    }
    if (smap_inc(g, b->slot) != WEFT_OK) {
        free(pid);
        if (fresh)
            node_free(g, n);
        return WEFT_E_NOMEM;
    }
    n->counted = true;
    n->slot = b->slot;
    n->fitness = b->fitness;
    n->npar = b->parent_count;
    n->pid = pid;
    n->seq = ++g->seq;

    weft_err err = WEFT_OK;
    if (flags & GRAPH_RESTORE)
        g->restoring = true;
    else if (g->restoring)
        err = cliques_settle(g); /* the restored set is complete: decide before this block */
    if (!err)
        err = arrive(g, n, now, flags);
    if (!err)
        err = drain(g);
    if (!err)
        err = end_input(g);
    if (err)
        g_poison(g, err);
    return err;
}

static int future_cmp(const void *a, const void *b)
{
    return ready_cmp(*(gnode *const *)a, *(gnode *const *)b);
}

weft_err graph_tick(graph *g, slot_t now)
{
    WEFT_MISUSE(g);
    if (g->poisoned)
        return g->poisoned;
    weft_err err = g->restoring ? cliques_settle(g) : WEFT_OK;
    size_t n = 0;
    gnode **due = NULL;
    if (err)
        goto out;
    for (gnode *f = g->future.head; f; f = f->qnext)
        if (slot_cmp(f->slot, now) <= 0)
            n++;
    if (n) {
        due = malloc(n * sizeof(gnode *));
        if (!due) {
            err = WEFT_E_NOMEM;
            goto out;
        }
        size_t k = 0;
        for (gnode *f = g->future.head; f; f = f->qnext)
            if (slot_cmp(f->slot, now) <= 0)
                due[k++] = f;
        qsort(due, n, sizeof(gnode *), future_cmp);
        for (size_t i = 0; i < n; i++)
            q_remove(&g->future, due[i]);
        for (size_t i = 0; i < n && !err; i++)
            err = enter(g, due[i]);
        /* a due block may have been dropped from the waiting queue by a later one: enter() only
         * drops WAITING blocks, and every due block is WAITING or READY once entered */
    }
    if (!err)
        err = drain(g);
    if (!err)
        err = end_input(g);
out:
    free(due);
    if (err)
        g_poison(g, err);
    return err;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* A final block's place in the given array, sorted by thread, then period. */
typedef struct final_key {
    uint64_t period;
    uint32_t thread;
    size_t i;
} final_key;

static int final_key_cmp(const void *a, const void *b)
{
    const final_key *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    return 0;
}

/* Checks one final block on its own (see graph_new_from). */
static bool final_block_ok(const graph_final_block *f, uint32_t T)
{
    if (f->slot.thread >= T || f->fitness > GRAPH_MAX_FITNESS)
        return false;
    if (f->parent_count == 0)
        return f->slot.period == 0;
    if (f->parent_count != T)
        return false;
    for (uint32_t t = 0; t < T; t++) {
        slot_t ps = {f->parent_periods[t], (uint8_t)t};
        if (slot_cmp(ps, f->slot) >= 0)
            return false;
    }
    return true;
}

weft_err graph_new_from(graph **out, const graph_config *cfg, const graph_final_block *finals,
                        size_t n)
{
    WEFT_MISUSE(out && cfg && (finals || n == 0));
    *out = NULL;
    if (cfg->thread_count < 1 || cfg->thread_count > MODEL_MAX_THREADS ||
        cfg->max_blocks_per_slot < 1 || n < cfg->thread_count)
        return WEFT_E_GRAPH_CONFIG;
    const uint32_t T = cfg->thread_count;
    for (size_t i = 0; i < n; i++)
        if (!final_block_ok(&finals[i], T))
            return WEFT_E_GRAPH_CONFIG;
    /* by thread and period: each thread's given blocks must be a chain ending at its head */
    final_key *key = malloc(n * sizeof *key);
    size_t *ord = calloc(n, sizeof *ord);
    if (!key || !ord) {
        free(key);
        free(ord);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        key[i] = (final_key){finals[i].slot.period, finals[i].slot.thread, i};
    qsort(key, n, sizeof *key, final_key_cmp);
    for (size_t i = 0; i < n; i++)
        ord[i] = key[i].i;
    free(key);
    weft_err err = WEFT_OK;
    size_t first[MODEL_MAX_THREADS], last[MODEL_MAX_THREADS];
    bool have[MODEL_MAX_THREADS] = {false};
    for (size_t k = 0; k < n && !err; k++) {
        const graph_final_block *f = &finals[ord[k]];
        uint32_t t = f->slot.thread;
        if (have[t]) {
            const graph_final_block *prev = &finals[ord[k - 1]];
            if (prev->slot.period == f->slot.period || f->parent_count == 0 ||
                !block_id_eq(&f->parents[t], &prev->id) ||
                f->parent_periods[t] != prev->slot.period)
                err = WEFT_E_GRAPH_CONFIG;
        } else {
            have[t] = true;
            first[t] = k;
        }
        last[t] = k;
    }
    for (uint32_t t = 0; t < T && !err; t++)
        if (!have[t])
            err = WEFT_E_GRAPH_CONFIG;
    /* every parent is final, hence at or below the head of its thread */
    for (size_t i = 0; i < n && !err; i++)
        for (uint32_t t = 0; t < finals[i].parent_count && !err; t++)
            if (finals[i].parent_periods[t] > finals[ord[last[t]]].slot.period)
                err = WEFT_E_GRAPH_CONFIG;
    if (err) {
        free(ord);
        return err;
    }

    err = WEFT_E_NOMEM;
    graph *g = calloc(1, sizeof *g);
    if (!g)
        goto out;
    g->cfg = *cfg;
    g->T = T;
    if (pend_reserve(g) != WEFT_OK)
        goto out;
    for (size_t k = 0; k < n; k++) {
        const graph_final_block *f = &finals[ord[k]];
        if (map_get(g, &f->id)) {
            err = WEFT_E_GRAPH_CONFIG;
            goto out;
        }
        gnode *nd = node_new(g, &f->id);
        if (!nd)
            goto out;
        nd->state = GN_FINAL;
        nd->genesis = f->parent_count == 0;
        nd->slot = f->slot;
        nd->fitness = f->fitness;
        nd->npar = f->parent_count;
        g->n_final++;
        if (!nd->genesis && !(nd->par = malloc(T * sizeof *nd->par)))
            goto out;
    }
    /* parents: a given final block of that id (at that slot), else a forgotten one by period */
    for (size_t k = 0; k < n; k++) {
        const graph_final_block *f = &finals[ord[k]];
        gnode *nd = map_get(g, &f->id);
        for (uint32_t t = 0; t < f->parent_count; t++) {
            gnode *p = map_get(g, &f->parents[t]);
            if (p && (p->slot.thread != t || p->slot.period != f->parent_periods[t])) {
                err = WEFT_E_GRAPH_CONFIG;
                goto out;
            }
            nd->par[t].ref = p ? g_ref(g, p) : (gref){0, 0};
            nd->par[t].period = f->parent_periods[t];
        }
    }
    for (uint32_t t = 0; t < T; t++) {
        g->oldest_final[t] = map_get(g, &finals[ord[first[t]]].id);
        g->latest_final[t] = map_get(g, &finals[ord[last[t]]].id);
        g->lfp[t] = g->latest_final[t]->slot.period;
        for (size_t k = first[t]; k < last[t]; k++)
            map_get(g, &finals[ord[k]].id)->final_child =
                g_ref(g, map_get(g, &finals[ord[k + 1]].id));
    }
    err = cliques_init(g);
    if (err)
        goto out;
    refresh_view(g);
#ifdef WEFT_VERIFY
    graph_check(g);
#endif
    *out = g;
    g = NULL;
out:
    free(ord);
    graph_free(g);
    return err;
}

weft_err graph_new(graph **out, const graph_config *cfg, const block_id_t *genesis)
{
    WEFT_MISUSE(out && cfg && genesis);
    *out = NULL;
    if (cfg->thread_count < 1 || cfg->thread_count > MODEL_MAX_THREADS)
        return WEFT_E_GRAPH_CONFIG;
    graph_final_block *f = calloc(cfg->thread_count, sizeof *f);
    if (!f)
        return WEFT_E_NOMEM;
    for (uint32_t i = 0; i < cfg->thread_count; i++) {
        f[i].id = genesis[i];
        f[i].slot = (slot_t){0, (uint8_t)i};
        f[i].fitness = 1;
    }
    weft_err err = graph_new_from(out, cfg, f, cfg->thread_count);
    free(f);
    return err;
}

void graph_free(graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->map_cap; i++)
        if (g->map[i]) {
            gnode *n = g->map[i];
            free(n->pid);
            free(n->par);
            free(n->waiters);
            free(n);
        }
    free(g->map);
    free(g->smap);
    free(g->tab);
    free(g->tab_gen);
    free(g->tab_free);
    free(g->heap);
    free(g->pmask);
    free(g->anc);
    free(g->desc);
    free(g->inc);
    free(g->pnode);
    free(g->pfit);
    free(g->pdfit);
    free(g->plimbs);
    free(g->free_idx);
    free(g->cl);
    free(g->clbits);
    free(g->kept);
    free(g->scratch);
    free(g->o_pending.v);
    free(g->o_final.v);
    free(g->o_stale.v);
    free(g->o_invalid.v);
    free(g->o_dropped.v);
    free(g->o_missing.v);
    free(g->o_bc_added.v);
    free(g->o_bc_removed.v);
    free(g->bc_snap.v);
    free(g);
}

/* ---- queries -------------------------------------------------------------------------------- */

static graph_status public_status(const gnode *n)
{
    switch (n->state) {
    case GN_FUTURE:
        return GRAPH_WAITING_SLOT;
    case GN_WAITING:
    case GN_READY:
        return GRAPH_WAITING_PARENTS;
    case GN_PENDING:
        return GRAPH_PENDING;
    case GN_FINAL:
        return GRAPH_FINAL;
    case GN_STALE:
        return GRAPH_STALE;
    case GN_INVALID:
        return GRAPH_INVALID;
    default:
        return GRAPH_UNKNOWN;
    }
}

graph_status graph_block_status(const graph *g, const block_id_t *id, weft_err *reason)
{
    WEFT_MISUSE(g && id);
    const gnode *n = map_get(g, id);
    graph_status st = n ? public_status(n) : GRAPH_UNKNOWN;
    if (reason)
        *reason = (st == GRAPH_STALE || st == GRAPH_INVALID) ? n->reason : WEFT_OK;
    return st;
}

size_t graph_count(const graph *g, graph_status st)
{
    WEFT_MISUSE(g);
    size_t c = 0;
    for (size_t i = 0; i < g->map_cap; i++)
        if (g->map[i] && public_status(g->map[i]) == st)
            c++;
    return c;
}

void graph_foreach(const graph *g, graph_visit_fn fn, void *ctx)
{
    WEFT_MISUSE(g && fn);
    for (size_t i = 0; i < g->map_cap; i++) {
        const gnode *n = g->map[i];
        if (!n || n->state == GN_MISSING)
            continue;
        graph_status st = public_status(n);
        fn(ctx, &n->id, n->slot, st,
           (st == GRAPH_STALE || st == GRAPH_INVALID) ? n->reason : WEFT_OK);
    }
}

size_t graph_missing(const graph *g, block_id_t *out, size_t cap)
{
    WEFT_MISUSE(g && (out || cap == 0));
    size_t c = 0;
    for (size_t i = 0; i < g->map_cap; i++)
        if (g->map[i] && g->map[i]->state == GN_MISSING) {
            if (c < cap)
                out[c] = g->map[i]->id;
            c++;
        }
    return c;
}

size_t graph_clique_count(const graph *g)
{
    WEFT_MISUSE(g);
    return g->nkept;
}

size_t graph_clique_total(const graph *g)
{
    WEFT_MISUSE(g);
    return g->ncl;
}

uint64_t graph_clique_fitness(const graph *g, size_t i)
{
    WEFT_MISUSE(g && i < g->nkept);
    return g->cl[g->kept[i]].fit;
}

size_t graph_clique_blocks(const graph *g, size_t i, block_id_t *out, size_t cap)
{
    WEFT_MISUSE(g && i < g->nkept && (out || cap == 0));
    const uint64_t *r = ROW(g->clbits, g->words, g->kept[i]);
    size_t c = 0;
    for (int32_t k = bs_next(r, g->words, 0); k >= 0; k = bs_next(r, g->words, k + 1)) {
        if (c < cap)
            out[c] = g->pnode[k]->id;
        c++;
    }
    return c;
}

void graph_best_parents(const graph *g, block_id_t *out)
{
    WEFT_MISUSE(g && out);
    for (uint32_t t = 0; t < g->T; t++)
        out[t] = g->best[t]->id;
}

void graph_latest_final(const graph *g, uint32_t t, block_id_t *id, slot_t *slot)
{
    WEFT_MISUSE(g && t < g->T);
    if (id)
        *id = g->latest_final[t]->id;
    if (slot)
        *slot = g->latest_final[t]->slot;
}

bool graph_incompatible(const graph *g, const block_id_t *a, const block_id_t *b)
{
    WEFT_MISUSE(g && a && b);
    const gnode *x = map_get(g, a), *y = map_get(g, b);
    if (!x || !y || x->state != GN_PENDING || y->state != GN_PENDING)
        return false;
    return bs_get(ROW(g->inc, g->words, x->idx), y->idx);
}

bool graph_is_ancestor(const graph *g, const block_id_t *a, const block_id_t *d)
{
    WEFT_MISUSE(g && a && d);
    const gnode *x = map_get(g, a), *y = map_get(g, d);
    if (!x || !y || x->state != GN_PENDING || y->state != GN_PENDING)
        return false;
    return bs_get(ROW(g->anc, g->words, y->idx), x->idx);
}

const graph_config *graph_get_config(const graph *g)
{
    WEFT_MISUSE(g);
    return &g->cfg;
}
