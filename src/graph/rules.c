/* graph/rules.c — processing one block whose parents are all known: the checks of
 * spec/blockclique.md ("Processing one block B", rules 1 to 8) in their order, the first that
 * applies deciding, then insertion into the pending graph and the graph update.
 *
 * Ancestry tests between blocks of one thread are cheap because of what the rules guarantee:
 * final blocks of a thread form a chain ending at its latest final block, every pending block
 * descends from the latest final block of its thread, and a block's ancestors in thread t are its
 * thread-t parent and that parent's ancestors (rule 5).  So for two blocks A, D of one thread:
 * pending A precedes pending D iff D's ancestor row holds A; a final (or pruned, hence final) A
 * precedes every pending D, and precedes a final D iff its period is lower; a pending A never
 * precedes a final D.  Rule 6 against final blocks then needs no scan: a final X can only conflict
 * with B through the final chains (see final_conflict). */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* One side of a same-thread ancestry test: the node (NULL when pruned) and its period. */
typedef struct side {
    const gnode *n;
    uint64_t period;
} side;

static side side_node(const gnode *n)
{
    side s = {n, n->slot.period};
    return s;
}

static side side_par(const graph *g, const gpar *p)
{
    side s = {g_deref(g, p->ref), p->period};
    return s;
}

static bool side_pending(const side *s) { return s->n && s->n->state == GN_PENDING; }

/* A is a strict ancestor of D (both of one thread, both pending or final/pruned). */
static bool strict_anc(const graph *g, side a, side d)
{
    if (a.n && a.n == d.n)
        return false;
    bool ap = side_pending(&a), dp = side_pending(&d);
    if (ap)
        return dp && bs_get(ROW(g->anc, g->words, d.n->idx), a.n->idx);
    if (dp)
        return true;
    return a.period < d.period;
}

/* A is D or an ancestor of D. */
static bool anc_or_same(const graph *g, side a, side d)
{
    if (a.n && a.n == d.n)
        return true;
    if (!side_pending(&a) && !side_pending(&d))
        return a.period <= d.period;
    return strict_anc(g, a, d);
}

/* Rule 6 against final blocks.  Thread: a final X of B's thread with B's parent as its parent
 * exists iff that parent is final and not the latest final block of the thread.  Grandpa, thread
 * τ != tB: X's thread-τ parent must strictly follow B's thread-τ parent P, so P is final and X is
 * on the final chain of τ at least two steps after P; along that chain the thread-tB parents only
 * move forward (rule 5), so the first such X, P's final grandchild, is the one to test. */
static bool final_conflict(const graph *g, const gnode *b, gnode **P)
{
    uint32_t tB = b->slot.thread;
    if (P[tB]->state == GN_FINAL && P[tB]->slot.period < g->lfp[tB])
        return true;
    for (uint32_t t = 0; t < g->T; t++) {
        if (t == tB || P[t]->state != GN_FINAL)
            continue;
        const gnode *c1 = g_deref(g, P[t]->final_child);
        const gnode *x0 = c1 ? g_deref(g, c1->final_child) : NULL;
        if (x0 && strict_anc(g, side_par(g, &x0->par[tB]), side_node(P[tB])))
            return true;
    }
    return false;
}

/* Rule 6 against pending X (not an ancestor of B): thread or grandpa incompatibility. */
static bool direct_conflict(const graph *g, const gnode *b, gnode **P, const gnode *x)
{
    uint32_t tB = b->slot.thread, tX = x->slot.thread;
    if (tX == tB)
        return g_deref(g, x->par[tB].ref) == P[tB];
    return strict_anc(g, side_node(P[tX]), side_par(g, &x->par[tX])) &&
           strict_anc(g, side_par(g, &x->par[tB]), side_node(P[tB]));
}

static weft_err verdict(graph *g, gnode *b, uint8_t state, weft_err reason)
{
    return g_discard(g, b, state, reason);
}

weft_err rules_process(graph *g, gnode *b, gnode **P)
{
    const uint32_t T = g->T;
    uint32_t tB = b->slot.thread;

    /* 1. structure */
    bool ok = b->npar == T && tB < T;
    for (uint32_t i = 0; ok && i < b->npar; i++)
        if (P[i]->slot.thread != i || slot_cmp(P[i]->slot, b->slot) >= 0)
            ok = false;
    if (!ok)
        return verdict(g, b, GN_INVALID, WEFT_E_GRAPH_STRUCTURE);
    /* 2. invalid or stale parents */
    for (uint32_t i = 0; i < T; i++)
        if (P[i]->state == GN_INVALID)
            return verdict(g, b, GN_INVALID, WEFT_E_GRAPH_PARENT_INVALID);
    for (uint32_t i = 0; i < T; i++)
        if (P[i]->state == GN_STALE)
            return verdict(g, b, GN_STALE, WEFT_E_GRAPH_PARENT_STALE);
    /* 3. too old */
    if (b->slot.period <= g->lfp[tB])
        return verdict(g, b, GN_STALE, WEFT_E_GRAPH_OLD_PERIOD);

    /* every parent is now pending or final; rows below are computed at the final width */
    gpar *par = malloc(T * sizeof *par);
    if (!par)
        return WEFT_E_NOMEM;
    weft_err err = pend_reserve(g);
    if (!err)
        err = scratch_reserve(g, (size_t)5 * g->words);
    if (err)
        goto fail;
    const uint32_t w = g->words;
    uint64_t *pp = g->scratch, *anc = pp + w, *direct = anc + w, *inh = direct + w, *I = inh + w;
    bs_zero(pp, w);
    bs_zero(anc, w);
    bs_zero(inh, w);
    for (uint32_t i = 0; i < T; i++) {
        WEFT_ASSERT(P[i]->state == GN_PENDING || P[i]->state == GN_FINAL);
        if (P[i]->state != GN_PENDING)
            continue;
        bs_set(pp, P[i]->idx);
        bs_set(anc, P[i]->idx);
        bs_or(anc, ROW(g->anc, w, P[i]->idx), w);
        bs_or(inh, ROW(g->inc, w, P[i]->idx), w);
    }
    /* 4. two pending parents incompatible */
    if (bs_any_and(inh, pp, w)) {
        free(par);
        return verdict(g, b, GN_INVALID, WEFT_E_GRAPH_PARENTS_CONFLICT);
    }
    /* 5. topological consistency: Pσ's parent in τ is Pτ or one of its ancestors */
    for (uint32_t s = 0; s < T; s++) {
        if (P[s]->genesis)
            continue;
        for (uint32_t t = 0; t < T; t++)
            if (t != s && !anc_or_same(g, side_par(g, &P[s]->par[t]), side_node(P[t]))) {
                free(par);
                return verdict(g, b, GN_INVALID, WEFT_E_GRAPH_INCONSISTENT);
            }
    }
    /* 6. direct incompatibilities; one with a final block makes B stale */
    if (final_conflict(g, b, P)) {
        free(par);
        return verdict(g, b, GN_STALE, WEFT_E_GRAPH_FINAL_CONFLICT);
    }
    bs_zero(direct, w);
    for (uint32_t k = 0; k < w; k++) {
        for (uint64_t m = g->pmask[k] & ~anc[k]; m; m &= m - 1) {
            uint32_t x = k * 64 + (uint32_t)__builtin_ctzll(m);
            if (direct_conflict(g, b, P, g->pnode[x]))
                bs_set(direct, x);
        }
    }
    /* 7. I = direct ∪ inherited ∪ their pending descendants (inherited sets are closed already) */
    bs_copy(I, inh, w);
    bs_or(I, direct, w);
    for (int32_t x = bs_next(direct, w, 0); x >= 0; x = bs_next(direct, w, x + 1))
        bs_or(I, ROW(g->desc, w, (uint32_t)x), w);
    if (bs_any_and(I, anc, w)) {
        free(par);
        return verdict(g, b, GN_INVALID, WEFT_E_GRAPH_ANCESTOR_CONFLICT);
    }
    /* 8. pending */
    if (!g_ev_push(&g->o_pending, b, WEFT_OK)) {
        err = WEFT_E_NOMEM;
        goto fail;
    }
    bool inherit_only = bs_eq(I, inh, w);
    for (uint32_t i = 0; i < T; i++) {
        par[i].ref = g_ref(g, P[i]);
        par[i].period = P[i]->slot.period;
    }
    uint32_t bi = g->free_idx[--g->n_free_idx];
    b->idx = bi;
    b->state = GN_PENDING;
    b->par = par;
    free(b->pid);
    b->pid = NULL;
    g->npending++;
    bs_set(g->pmask, bi);
    g->pnode[bi] = b;
    g->pfit[bi] = b->fitness;
    g->pdfit[bi] = 0;
    idsum_limbs(g->plimbs[bi], &b->id);
    bs_copy(ROW(g->anc, w, bi), anc, w);
    bs_zero(ROW(g->desc, w, bi), w);
    bs_copy(ROW(g->inc, w, bi), I, w);
    for (int32_t x = bs_next(I, w, 0); x >= 0; x = bs_next(I, w, x + 1))
        bs_set(ROW(g->inc, w, (uint32_t)x), bi);
    for (int32_t a = bs_next(anc, w, 0); a >= 0; a = bs_next(anc, w, a + 1)) {
        bs_set(ROW(g->desc, w, (uint32_t)a), bi);
        g->pdfit[a] += b->fitness;
    }
    return cliques_update(g, b, inherit_only);
fail:
    free(par);
    return err;
}
