/* graph/cliques.c — the pending blocks' bitsets and the graph update of spec/blockclique.md: the
 * maximal cliques of compatible pending blocks, the blockclique, stale pruning, finality, the kept
 * cliques and the best parents.
 *
 * The graph holds every maximal clique (maximal independent set of the incompatibility graph) of
 * the pending blocks, kept or not, as bitsets over pending indices with their fitness and their
 * 320-bit id sum.  When pending block B arrives with incompatible set I:
 *   - the maximal cliques of the new graph are the old ones that meet I, plus {B} ∪ S for every
 *     maximal independent set S of the old graph restricted to the blocks outside I;
 *   - if B only inherits its parents' incompatibilities, those S are exactly the old cliques
 *     disjoint from I (every such clique holds B's pending parents), so B just joins them: no
 *     enumeration — the common case of a block built on the blockclique;
 *   - otherwise the cliques disjoint from I are dropped and the S are enumerated by Bron–Kerbosch
 *     with pivoting (Tomita's pivot: the vertex of P ∪ X with the most compatible vertices in P)
 *     over B's compatible blocks only; this yields the same set as a recomputation from scratch.
 * Stale blocks (in no kept clique) appear only in cliques below the kept threshold; removing them
 * leaves each such clique either still maximal, a duplicate, or contained in another, and those
 * are dropped.  Final blocks are in every clique, so removing them changes no clique's rank. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* ---- id sums -------------------------------------------------------------------------------- */

void idsum_limbs(uint64_t out[4], const block_id_t *id)
{
    for (int k = 0; k < 4; k++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | id->h.b[(3 - k) * 8 + j];
        out[k] = v;
    }
}

void idsum_add(idsum_t *s, const uint64_t v[4])
{
    unsigned carry = 0;
    for (int k = 0; k < IDSUM_LIMBS; k++) {
        uint64_t add = k < 4 ? v[k] : 0;
        uint64_t r;
        unsigned c1 = __builtin_add_overflow(s->l[k], add, &r);
        unsigned c2 = __builtin_add_overflow(r, (uint64_t)carry, &r);
        s->l[k] = r;
        carry = c1 | c2;
    }
    WEFT_ASSERT(carry == 0);
}

void idsum_sub(idsum_t *s, const uint64_t v[4])
{
    unsigned borrow = 0;
    for (int k = 0; k < IDSUM_LIMBS; k++) {
        uint64_t sub = k < 4 ? v[k] : 0;
        uint64_t r;
        unsigned b1 = __builtin_sub_overflow(s->l[k], sub, &r);
        unsigned b2 = __builtin_sub_overflow(r, (uint64_t)borrow, &r);
        s->l[k] = r;
        borrow = b1 | b2;
    }
    WEFT_ASSERT(borrow == 0);
}

int idsum_cmp(const idsum_t *a, const idsum_t *b)
{
    for (int k = IDSUM_LIMBS - 1; k >= 0; k--)
        if (a->l[k] != b->l[k])
            return a->l[k] < b->l[k] ? -1 : 1;
    return 0;
}

/* ---- pending index space -------------------------------------------------------------------- */

static uint64_t *regrow_rows(const uint64_t *old, uint32_t nrows_old, uint32_t ow, uint32_t nrows,
                             uint32_t nw)
{
    uint64_t *r = calloc((size_t)nrows * nw + 1, sizeof *r);
    if (!r)
        return NULL;
    for (uint32_t i = 0; i < nrows_old; i++)
        memcpy(r + (size_t)i * nw, old + (size_t)i * ow, ow * sizeof *r);
    return r;
}

weft_err pend_reserve(graph *g)
{
    if (g->n_free_idx)
        return WEFT_OK;
    uint32_t ncap = g->cap ? 2 * g->cap : 64, nw = ncap / 64, ow = g->words;
    uint64_t *pmask = regrow_rows(g->pmask, g->cap ? 1 : 0, ow, 1, nw);
    uint64_t *anc = regrow_rows(g->anc, g->cap, ow, ncap, nw);
    uint64_t *desc = regrow_rows(g->desc, g->cap, ow, ncap, nw);
    uint64_t *inc = regrow_rows(g->inc, g->cap, ow, ncap, nw);
    uint64_t *clbits = regrow_rows(g->clbits, g->ncl, ow, g->cap_cl, nw);
    gnode **pnode = calloc(ncap, sizeof(gnode *));
    uint64_t *pfit = calloc(ncap, sizeof *pfit);
    uint64_t *pdfit = calloc(ncap, sizeof *pdfit);
    uint64_t(*plimbs)[4] = calloc(ncap, sizeof *plimbs);
    uint32_t *free_idx = calloc(ncap, sizeof *free_idx);
    if (!pmask || !anc || !desc || !inc || !clbits || !pnode || !pfit || !pdfit || !plimbs ||
        !free_idx) {
        free(pmask);
        free(anc);
        free(desc);
        free(inc);
        free(clbits);
        free(pnode);
        free(pfit);
        free(pdfit);
        free(plimbs);
        free(free_idx);
        return WEFT_E_NOMEM;
    }
    if (g->cap) {
        memcpy(pnode, g->pnode, g->cap * sizeof(gnode *));
        memcpy(pfit, g->pfit, g->cap * sizeof *pfit);
        memcpy(pdfit, g->pdfit, g->cap * sizeof *pdfit);
        memcpy(plimbs, g->plimbs, g->cap * sizeof *plimbs);
    }
    free(g->pmask);
    free(g->anc);
    free(g->desc);
    free(g->inc);
    free(g->clbits);
    free(g->pnode);
    free(g->pfit);
    free(g->pdfit);
    free(g->plimbs);
    free(g->free_idx);
    g->pmask = pmask;
    g->anc = anc;
    g->desc = desc;
    g->inc = inc;
    g->clbits = clbits;
    g->pnode = pnode;
    g->pfit = pfit;
    g->pdfit = pdfit;
    g->plimbs = plimbs;
    g->free_idx = free_idx;
    /* lowest new index handed out first */
    g->n_free_idx = 0;
    for (uint32_t i = ncap; i > g->cap; i--)
        g->free_idx[g->n_free_idx++] = i - 1;
    g->cap = ncap;
    g->words = nw;
    return WEFT_OK;
}

weft_err scratch_reserve(graph *g, size_t n)
{
    if (n <= g->scratch_words)
        return WEFT_OK;
    size_t nn = n < 2 * g->scratch_words ? 2 * g->scratch_words : n;
    uint64_t *s = realloc(g->scratch, nn * sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    g->scratch = s;
    g->scratch_words = nn;
    return WEFT_OK;
}

void pend_remove(graph *g, gnode *n)
{
    uint32_t w = g->words, i = n->idx;
    WEFT_ASSERT(n->state == GN_PENDING && g->pnode[i] == n);
    uint64_t *anc = ROW(g->anc, w, i), *desc = ROW(g->desc, w, i), *inc = ROW(g->inc, w, i);
    for (int32_t a = bs_next(anc, w, 0); a >= 0; a = bs_next(anc, w, a + 1)) {
        bs_clr(ROW(g->desc, w, (uint32_t)a), i);
        WEFT_ASSERT(g->pdfit[a] >= g->pfit[i]);
        g->pdfit[a] -= g->pfit[i];
    }
    for (int32_t d = bs_next(desc, w, 0); d >= 0; d = bs_next(desc, w, d + 1))
        bs_clr(ROW(g->anc, w, (uint32_t)d), i);
    for (int32_t x = bs_next(inc, w, 0); x >= 0; x = bs_next(inc, w, x + 1))
        bs_clr(ROW(g->inc, w, (uint32_t)x), i);
    bs_zero(anc, w);
    bs_zero(desc, w);
    bs_zero(inc, w);
    bs_clr(g->pmask, i);
    g->pnode[i] = NULL;
    g->pfit[i] = g->pdfit[i] = 0;
    g->free_idx[g->n_free_idx++] = i;
    g->npending--;
}

/* ---- the clique list ------------------------------------------------------------------------ */

static weft_err cl_reserve(graph *g, uint32_t extra)
{
    if (g->ncl + extra <= g->cap_cl)
        return WEFT_OK;
    uint32_t ncap = g->cap_cl ? g->cap_cl : 4;
    while (ncap < g->ncl + extra)
        ncap *= 2;
    gclique *cl = realloc(g->cl, ncap * sizeof *cl);
    if (!cl)
        return WEFT_E_NOMEM;
    g->cl = cl;
    uint32_t *kept = realloc(g->kept, ncap * sizeof *kept);
    if (!kept)
        return WEFT_E_NOMEM;
    g->kept = kept;
    uint64_t *bits = realloc(g->clbits, ((size_t)ncap * g->words + 1) * sizeof *bits);
    if (!bits)
        return WEFT_E_NOMEM;
    g->clbits = bits;
    g->cap_cl = ncap;
    return WEFT_OK;
}

static void cl_del(graph *g, uint32_t i)
{
    uint32_t last = --g->ncl;
    if (i != last) {
        g->cl[i] = g->cl[last];
        bs_copy(ROW(g->clbits, g->words, i), ROW(g->clbits, g->words, last), g->words);
    }
}

static void cl_add_member(graph *g, uint32_t c, uint32_t k)
{
    bs_set(ROW(g->clbits, g->words, c), k);
    g->cl[c].fit += g->pfit[k];
    idsum_add(&g->cl[c].sum, g->plimbs[k]);
    g->cl[c].size++;
}

static void cl_drop_member(graph *g, uint32_t c, uint32_t k)
{
    WEFT_ASSERT(bs_get(ROW(g->clbits, g->words, c), k));
    bs_clr(ROW(g->clbits, g->words, c), k);
    WEFT_ASSERT(g->cl[c].fit >= g->pfit[k] && g->cl[c].size > 0);
    g->cl[c].fit -= g->pfit[k];
    idsum_sub(&g->cl[c].sum, g->plimbs[k]);
    g->cl[c].size--;
}

weft_err cliques_init(graph *g)
{
    WEFT_ASSERT(g->ncl == 0 && g->cap > 0);
    weft_err err = cl_reserve(g, 4);
    if (err)
        return err;
    g->ncl = 1; /* with no pending block: one empty clique of fitness 0 */
    memset(&g->cl[0], 0, sizeof g->cl[0]);
    bs_zero(ROW(g->clbits, g->words, 0), g->words);
    return cliques_order(g);
}

/* ---- Bron–Kerbosch with pivoting ------------------------------------------------------------ */

/* Enumerates the maximal independent sets of the incompatibility graph restricted to the vertex
 * set given as P in frame 0 of `stack` (R and X of frame 0 must be set too).  Each frame is four
 * rows (R, P, X, C); `stack` has room for depth+2 frames, depth <= |P|.  emit(ctx, R) is called
 * for each maximal set; a non-OK return stops the enumeration. */
typedef weft_err (*bk_emit_fn)(void *ctx, const uint64_t *R);

static weft_err bk_rec(const graph *g, uint64_t *stack, uint32_t d, bk_emit_fn emit, void *ctx)
{
    uint32_t w = g->words;
    uint64_t *R = stack + (size_t)4 * d * w, *P = R + w, *X = P + w, *C = X + w;
    if (bs_empty(P, w) && bs_empty(X, w))
        return emit(ctx, R);
    /* pivot u in P ∪ X with the most compatible vertices in P: branching on P minus those */
    int32_t u = -1;
    uint32_t best = 0;
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t *S = pass ? X : P;
        for (int32_t v = bs_next(S, w, 0); v >= 0; v = bs_next(S, w, v + 1)) {
            const uint64_t *iv = ROW(g->inc, w, (uint32_t)v);
            uint32_t c = 0;
            for (uint32_t k = 0; k < w; k++)
                c += (uint32_t)__builtin_popcountll(P[k] & ~iv[k]);
            if (bs_get(P, (uint32_t)v))
                c--;
            if (u < 0 || c > best) {
                u = v;
                best = c;
            }
        }
    }
    const uint64_t *iu = ROW(g->inc, w, (uint32_t)u);
    for (uint32_t k = 0; k < w; k++)
        C[k] = P[k] & iu[k];
    if (bs_get(P, (uint32_t)u))
        bs_set(C, (uint32_t)u);
    uint64_t *R2 = C + w, *P2 = R2 + w, *X2 = P2 + w;
    for (int32_t v = bs_next(C, w, 0); v >= 0; v = bs_next(C, w, v + 1)) {
        const uint64_t *iv = ROW(g->inc, w, (uint32_t)v);
        for (uint32_t k = 0; k < w; k++) {
            R2[k] = R[k];
            P2[k] = P[k] & ~iv[k];
            X2[k] = X[k] & ~iv[k];
        }
        bs_set(R2, (uint32_t)v);
        bs_clr(P2, (uint32_t)v);
        bs_clr(X2, (uint32_t)v);
        weft_err err = bk_rec(g, stack, d + 1, emit, ctx);
        if (err)
            return err;
        bs_clr(P, (uint32_t)v);
        bs_set(X, (uint32_t)v);
    }
    return WEFT_OK;
}

struct emit_ctx {
    graph *g;
    uint32_t b; /* the new block's index, added to every emitted set */
};

static weft_err emit_clique(void *vctx, const uint64_t *R)
{
    struct emit_ctx *ctx = vctx;
    graph *g = ctx->g;
    weft_err err = cl_reserve(g, 1);
    if (err)
        return err;
    uint32_t c = g->ncl++;
    memset(&g->cl[c], 0, sizeof g->cl[c]);
    bs_zero(ROW(g->clbits, g->words, c), g->words);
    for (int32_t k = bs_next(R, g->words, 0); k >= 0; k = bs_next(R, g->words, k + 1))
        cl_add_member(g, c, (uint32_t)k);
    cl_add_member(g, c, ctx->b);
    return WEFT_OK;
}

/* ---- order, blockclique, best parents ------------------------------------------------------- */

/* Whether clique a ranks before clique b: higher fitness, then smaller id sum. */
static bool ranks_before(const gclique *a, const gclique *b)
{
    if (a->fit != b->fit)
        return a->fit > b->fit;
    return idsum_cmp(&a->sum, &b->sum) < 0;
}

static uint32_t blockclique_index(const graph *g)
{
    uint32_t bc = 0;
    for (uint32_t i = 1; i < g->ncl; i++)
        if (ranks_before(&g->cl[i], &g->cl[bc]))
            bc = i;
    return bc;
}

static bool is_kept(const graph *g, uint64_t bcfit, uint32_t i)
{
    return bcfit - g->cl[i].fit <= g->cfg.delta_f0;
}

struct rank {
    const gclique *c;
    uint32_t i;
};

static int rank_cmp(const void *a, const void *b)
{
    const struct rank *x = a, *y = b;
    if (ranks_before(x->c, y->c))
        return -1;
    if (ranks_before(y->c, x->c))
        return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

weft_err cliques_order(graph *g)
{
    WEFT_ASSERT(g->ncl >= 1);
    uint64_t bcfit = g->cl[blockclique_index(g)].fit;
    g->nkept = 0;
    for (uint32_t i = 0; i < g->ncl; i++)
        if (is_kept(g, bcfit, i))
            g->kept[g->nkept++] = i;
    if (g->nkept > 1) {
        struct rank *r = malloc(g->nkept * sizeof *r);
        if (!r)
            return WEFT_E_NOMEM;
        for (uint32_t k = 0; k < g->nkept; k++) {
            r[k].c = &g->cl[g->kept[k]];
            r[k].i = g->kept[k];
        }
        qsort(r, g->nkept, sizeof *r, rank_cmp);
        for (uint32_t k = 0; k < g->nkept; k++)
            g->kept[k] = r[k].i;
        free(r);
    }
    for (uint32_t t = 0; t < g->T; t++)
        g->best[t] = g->latest_final[t];
    const uint64_t *bc = ROW(g->clbits, g->words, g->kept[0]);
    for (int32_t k = bs_next(bc, g->words, 0); k >= 0; k = bs_next(bc, g->words, k + 1)) {
        gnode *n = g->pnode[k];
        uint32_t t = n->slot.thread;
        WEFT_ASSERT(t < g->T);
        WEFT_VERIFY_CHECK(n->slot.period != g->best[t]->slot.period || n == g->best[t]);
        if (n->slot.period > g->best[t]->slot.period)
            g->best[t] = n;
    }
    return WEFT_OK;
}

/* ---- stale and final ------------------------------------------------------------------------ */

static int node_slot_cmp(const void *a, const void *b)
{
    const gnode *x = *(gnode *const *)a, *y = *(gnode *const *)b;
    int c = slot_cmp(x->slot, y->slot);
    return c ? c : hash32_cmp(&x->id.h, &y->id.h);
}

/* Step 1: pending blocks in no kept clique become stale.  S is a scratch row. */
static weft_err prune_stale(graph *g, uint64_t bcfit, uint64_t *S)
{
    uint32_t w = g->words;
    bs_copy(S, g->pmask, w);
    for (uint32_t i = 0; i < g->ncl; i++)
        if (is_kept(g, bcfit, i)) {
            const uint64_t *r = ROW(g->clbits, w, i);
            for (uint32_t k = 0; k < w; k++)
                S[k] &= ~r[k];
        }
    if (bs_empty(S, w))
        return WEFT_OK;
    bool *touched = calloc(g->ncl + 1, sizeof *touched);
    if (!touched)
        return WEFT_E_NOMEM;
    for (uint32_t i = 0; i < g->ncl; i++) {
        uint64_t *r = ROW(g->clbits, w, i);
        if (!bs_any_and(r, S, w))
            continue;
        WEFT_ASSERT(!is_kept(g, bcfit, i));
        touched[i] = true;
        for (int32_t k = bs_next(S, w, 0); k >= 0; k = bs_next(S, w, k + 1))
            if (bs_get(r, (uint32_t)k))
                cl_drop_member(g, i, (uint32_t)k);
    }
    weft_err err = WEFT_OK;
    for (int32_t k = bs_next(S, w, 0); k >= 0; k = bs_next(S, w, k + 1)) {
        gnode *n = g->pnode[k];
        pend_remove(g, n);
        err = g_discard(g, n, GN_STALE, WEFT_E_GRAPH_LOW_FITNESS);
        if (err)
            goto out;
    }
    /* a trimmed clique survives if still maximal (every pending block outside it conflicts with
     * one inside) and not a copy of another clique */
    bool *dead = calloc(g->ncl + 1, sizeof *dead);
    if (!dead) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    uint64_t *cover = S; /* S is no longer needed */
    for (uint32_t i = 0; i < g->ncl; i++) {
        if (!touched[i])
            continue;
        const uint64_t *r = ROW(g->clbits, w, i);
        bs_copy(cover, r, w);
        for (int32_t k = bs_next(r, w, 0); k >= 0; k = bs_next(r, w, k + 1))
            bs_or(cover, ROW(g->inc, w, (uint32_t)k), w);
        if (!bs_subset(g->pmask, cover, w)) {
            dead[i] = true;
            continue;
        }
        for (uint32_t j = 0; j < g->ncl; j++)
            if (j != i && !dead[j] && bs_eq(r, ROW(g->clbits, w, j), w)) {
                dead[i] = true;
                break;
            }
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < g->ncl; i++) {
        if (dead[i])
            continue;
        if (keep != i) {
            g->cl[keep] = g->cl[i];
            bs_copy(ROW(g->clbits, w, keep), ROW(g->clbits, w, i), w);
        }
        keep++;
    }
    g->ncl = keep;
    free(dead);
out:
    free(touched);
    return err;
}

static weft_err finalize(graph *g, gnode *f)
{
    uint32_t t = f->slot.thread;
    gnode *parent = g_deref(g, f->par[t].ref);
    WEFT_ASSERT(parent && parent == g->latest_final[t]);
    WEFT_ASSERT(bs_empty(ROW(g->inc, g->words, f->idx), g->words));
    if (!g_ev_push(&g->o_final, f, WEFT_OK))
        return WEFT_E_NOMEM;
    pend_remove(g, f);
    f->state = GN_FINAL;
    parent->final_child = g_ref(g, f);
    g->latest_final[t] = f;
    g->lfp[t] = f->slot.period;
    g->n_final++;
    return WEFT_OK;
}

/* Step 2: candidates are in every kept clique; one becomes final when, in some kept clique of
 * fitness > Δf0, its descendants weigh more than Δf0.  Rows C and F are scratch. */
static weft_err find_final(graph *g, uint64_t bcfit, uint64_t *C, uint64_t *F)
{
    uint32_t w = g->words;
    uint64_t d0 = g->cfg.delta_f0;
    bs_copy(C, g->pmask, w);
    for (uint32_t i = 0; i < g->ncl; i++)
        if (is_kept(g, bcfit, i)) {
            const uint64_t *r = ROW(g->clbits, w, i);
            for (uint32_t k = 0; k < w; k++)
                C[k] &= r[k];
        }
    bs_zero(F, w);
    uint32_t nf = 0;
    for (int32_t c = bs_next(C, w, 0); c >= 0; c = bs_next(C, w, c + 1)) {
        if (g->pdfit[c] <= d0) /* all its pending descendants weigh at most this */
            continue;
        const uint64_t *dc = ROW(g->desc, w, (uint32_t)c);
        for (uint32_t i = 0; i < g->ncl; i++) {
            if (!is_kept(g, bcfit, i) || g->cl[i].fit <= d0)
                continue;
            const uint64_t *r = ROW(g->clbits, w, i);
            uint64_t sum = 0;
            if (bs_subset(dc, r, w)) {
                sum = g->pdfit[c];
            } else {
                for (uint32_t k = 0; k < w; k++)
                    for (uint64_t m = dc[k] & r[k]; m; m &= m - 1)
                        sum += g->pfit[k * 64 + (uint32_t)__builtin_ctzll(m)];
            }
            if (sum > d0) {
                bs_set(F, (uint32_t)c);
                nf++;
                break;
            }
        }
    }
    if (nf == 0)
        return WEFT_OK;
    gnode **fin = malloc(nf * sizeof(gnode *));
    if (!fin)
        return WEFT_E_NOMEM;
    uint32_t k = 0;
    for (int32_t c = bs_next(F, w, 0); c >= 0 && k < nf; c = bs_next(F, w, c + 1))
        fin[k++] = g->pnode[c];
    WEFT_ASSERT(k == nf);
    /* final blocks are in every clique (each pending block shares a kept clique with them) */
    for (uint32_t i = 0; i < g->ncl; i++) {
        WEFT_VERIFY_CHECK(bs_subset(F, ROW(g->clbits, w, i), w));
        for (uint32_t j = 0; j < nf; j++)
            cl_drop_member(g, i, fin[j]->idx);
    }
    qsort(fin, nf, sizeof(gnode *), node_slot_cmp); /* ancestors first: chains stay chains */
    weft_err err = WEFT_OK;
    for (uint32_t j = 0; j < nf && !err; j++)
        err = finalize(g, fin[j]);
    free(fin);
    return err;
}

/* The decisions of the graph update: stale pruning, finality, kept order and best parents. */
static weft_err decide(graph *g)
{
    uint32_t w = g->words;
    weft_err err = scratch_reserve(g, (size_t)3 * w);
    if (err)
        return err;
    uint64_t bcfit = g->cl[blockclique_index(g)].fit;
    err = prune_stale(g, bcfit, g->scratch);
    if (err)
        return err;
    err = find_final(g, bcfit, g->scratch + w, g->scratch + (size_t)2 * w);
    if (err)
        return err;
    if (g->ncl == 0) { /* cannot happen: the blockclique is kept */
        WEFT_PANIC("no clique left");
    }
    return cliques_order(g);
}

weft_err cliques_update(graph *g, gnode *b, bool inherit_only)
{
    uint32_t w = g->words, bi = b->idx;
    const uint64_t *I = ROW(g->inc, w, bi);
    weft_err err;
    if (inherit_only) {
        for (uint32_t i = 0; i < g->ncl; i++)
            if (!bs_any_and(ROW(g->clbits, w, i), I, w))
                cl_add_member(g, i, bi);
    } else {
        for (uint32_t i = 0; i < g->ncl;)
            if (!bs_any_and(ROW(g->clbits, w, i), I, w))
                cl_del(g, i);
            else
                i++;
        err = scratch_reserve(g, (size_t)4 * w * (g->npending + 2));
        if (err)
            return err;
        uint64_t *R = g->scratch, *P = R + w, *X = P + w;
        bs_zero(R, w);
        bs_zero(X, w);
        for (uint32_t k = 0; k < w; k++)
            P[k] = g->pmask[k] & ~I[k];
        bs_clr(P, bi);
        struct emit_ctx ctx = {g, bi};
        err = bk_rec(g, g->scratch, 0, emit_clique, &ctx);
        if (err)
            return err;
    }
    if (g->restoring) /* stale and final wait for cliques_settle */
        return cliques_order(g);
    return decide(g);
}

weft_err cliques_settle(graph *g)
{
    g->restoring = false;
    return decide(g);
}

/* ---- full check ----------------------------------------------------------------------------- */

struct check_ctx {
    const graph *g;
    bool *seen;
    uint32_t found;
};

static weft_err check_emit(void *vctx, const uint64_t *R)
{
    struct check_ctx *ctx = vctx;
    const graph *g = ctx->g;
    for (uint32_t i = 0; i < g->ncl; i++)
        if (bs_eq(R, ROW(g->clbits, g->words, i), g->words)) {
            if (ctx->seen[i])
                WEFT_PANIC("graph check: clique %u found twice", i);
            ctx->seen[i] = true;
            ctx->found++;
            return WEFT_OK;
        }
    WEFT_PANIC("graph check: a maximal clique is missing from the clique set");
}

void cliques_check(const graph *g)
{
    uint32_t w = g->words;
    /* each clique's cached fitness, id sum and size; no two incompatible members */
    for (uint32_t i = 0; i < g->ncl; i++) {
        const uint64_t *r = ROW(g->clbits, w, i);
        WEFT_ASSERT(bs_subset(r, g->pmask, w));
        gclique c = {0};
        for (int32_t k = bs_next(r, w, 0); k >= 0; k = bs_next(r, w, k + 1)) {
            c.fit += g->pfit[k];
            idsum_add(&c.sum, g->plimbs[k]);
            c.size++;
            WEFT_ASSERT(!bs_any_and(ROW(g->inc, w, (uint32_t)k), r, w));
        }
        WEFT_ASSERT(c.fit == g->cl[i].fit && c.size == g->cl[i].size);
        WEFT_ASSERT(idsum_cmp(&c.sum, &g->cl[i].sum) == 0);
    }
    /* the clique set is exactly the maximal independent sets, recomputed from scratch */
    uint64_t *stack = calloc((size_t)4 * w * (g->npending + 2), sizeof *stack);
    bool *seen = calloc(g->ncl + 1, sizeof *seen);
    WEFT_ASSERT(stack && seen);
    bs_copy(stack + w, g->pmask, w);
    struct check_ctx ctx = {g, seen, 0};
    weft_err err = bk_rec(g, stack, 0, check_emit, &ctx);
    WEFT_ASSERT(err == WEFT_OK && ctx.found == g->ncl);
    free(stack);
    free(seen);
    /* kept order, every pending block in a kept clique */
    uint64_t bcfit = g->cl[blockclique_index(g)].fit;
    uint64_t *u = calloc(w, sizeof *u);
    WEFT_ASSERT(u);
    uint32_t nk = 0;
    for (uint32_t i = 0; i < g->ncl; i++)
        if (is_kept(g, bcfit, i)) {
            nk++;
            bs_or(u, ROW(g->clbits, w, i), w);
        }
    WEFT_ASSERT(nk == g->nkept);
    WEFT_ASSERT(g->restoring || bs_eq(u, g->pmask, w)); /* stale pruning may be deferred */
    free(u);
    for (uint32_t k = 1; k < g->nkept; k++)
        WEFT_ASSERT(!ranks_before(&g->cl[g->kept[k]], &g->cl[g->kept[k - 1]]));
}
