/* graph/check.c — graph_check: every internal invariant of a graph, checked the slow way and
 * panicking on the first broken one.  Tests call it; WEFT_VERIFY builds run it after every input.
 * What it checks: the pending index space, ancestors/descendants (transposes of each other and
 * equal to the closure of the parent links), incompatibilities (symmetric, never between ancestor
 * and descendant, closed under descendants), descendant fitness sums, the final chains, the
 * queues, the waiter links, the per-slot counts, the clique set (against a from-scratch
 * enumeration) and the best parents.  Nothing assumes the final chains start at genesis: a graph
 * restarted from its final frontier (graph_new_from) satisfies the same invariants. */
#include <stdlib.h>

#include "graph/graph_internal.h"

static void check_pending(const graph *g)
{
    uint32_t w = g->words;
    WEFT_ASSERT(bs_count(g->pmask, w) == g->npending);
    WEFT_ASSERT(g->npending + g->n_free_idx == g->cap);
    uint64_t *row = calloc(w, sizeof *row);
    WEFT_ASSERT(row);
    for (uint32_t i = 0; i < g->cap; i++) {
        const gnode *n = g->pnode[i];
        if (!bs_get(g->pmask, i)) {
            WEFT_ASSERT(!n);
            WEFT_ASSERT(bs_empty(ROW(g->anc, w, i), w) && bs_empty(ROW(g->desc, w, i), w) &&
                        bs_empty(ROW(g->inc, w, i), w));
            continue;
        }
        WEFT_ASSERT(n && n->state == GN_PENDING && n->idx == i && n->par && !n->pid);
        WEFT_ASSERT(g->pfit[i] == n->fitness);
        const uint64_t *anc = ROW(g->anc, w, i), *desc = ROW(g->desc, w, i),
                       *inc = ROW(g->inc, w, i);
        WEFT_ASSERT(bs_subset(anc, g->pmask, w) && bs_subset(desc, g->pmask, w) &&
                    bs_subset(inc, g->pmask, w));
        /* ancestors = closure of the pending parents */
        bs_zero(row, w);
        for (uint32_t t = 0; t < g->T; t++) {
            const gnode *p = g_deref(g, n->par[t].ref);
            WEFT_ASSERT(p && (p->state == GN_PENDING || p->state == GN_FINAL));
            WEFT_ASSERT(p->slot.thread == t && p->slot.period == n->par[t].period);
            if (p->state == GN_PENDING) {
                bs_set(row, p->idx);
                bs_or(row, ROW(g->anc, w, p->idx), w);
            } else if (t == n->slot.thread) {
                /* a pending block descends from the latest final block of its thread */
                WEFT_ASSERT(p == g->latest_final[t]);
            }
        }
        WEFT_ASSERT(bs_eq(row, anc, w));
        WEFT_ASSERT(!bs_get(inc, i) && !bs_any_and(inc, anc, w) && !bs_any_and(inc, desc, w));
        uint64_t dfit = 0;
        for (int32_t d = bs_next(desc, w, 0); d >= 0; d = bs_next(desc, w, d + 1)) {
            WEFT_ASSERT(bs_get(ROW(g->anc, w, (uint32_t)d), i));
            dfit += g->pfit[d];
        }
        WEFT_ASSERT(dfit == g->pdfit[i]);
        for (int32_t a = bs_next(anc, w, 0); a >= 0; a = bs_next(anc, w, a + 1))
            WEFT_ASSERT(bs_get(ROW(g->desc, w, (uint32_t)a), i));
        for (int32_t x = bs_next(inc, w, 0); x >= 0; x = bs_next(inc, w, x + 1)) {
            WEFT_ASSERT(bs_get(ROW(g->inc, w, (uint32_t)x), i));
            WEFT_ASSERT(bs_subset(ROW(g->desc, w, (uint32_t)x), inc, w));
        }
    }
    free(row);
}

static void check_final(const graph *g)
{
    size_t n_final = 0;
    for (uint32_t t = 0; t < g->T; t++) {
        const gnode *prev = NULL;
        const gnode *f = g->oldest_final[t];
        for (;;) {
            WEFT_ASSERT(f && f->state == GN_FINAL && f->slot.thread == t);
            WEFT_ASSERT(f == map_get(g, &f->id));
            /* a genesis block is at period 0 without parents; any other final block (also the
             * oldest one a restarted graph knows) has T final parents at or below the heads,
             * known ones resolved, forgotten ones by period */
            if (f->genesis) {
                WEFT_ASSERT(f->slot.period == 0 && !f->par);
            } else {
                WEFT_ASSERT(f->par && f->npar == g->T);
                for (uint32_t s = 0; s < g->T; s++) {
                    const gnode *p = g_deref(g, f->par[s].ref);
                    WEFT_ASSERT(f->par[s].period <= g->lfp[s]);
                    WEFT_ASSERT(!p || (p->state == GN_FINAL && p->slot.thread == s &&
                                       p->slot.period == f->par[s].period));
                }
            }
            if (prev) {
                WEFT_ASSERT(f->slot.period > prev->slot.period);
                WEFT_ASSERT(g_deref(g, f->par[t].ref) == prev);
            }
            n_final++;
            if (f == g->latest_final[t])
                break;
            prev = f;
            f = g_deref(g, f->final_child);
        }
        WEFT_ASSERT(g->lfp[t] == g->latest_final[t]->slot.period);
    }
    WEFT_ASSERT(n_final == g->n_final);
}

static size_t check_queue(const graph *g, const gqueue *q, uint8_t s1, uint8_t s2)
{
    size_t c = 0;
    const gnode *prev = NULL;
    for (const gnode *n = q->head; n; n = n->qnext) {
        WEFT_ASSERT(n->state == s1 || n->state == s2);
        WEFT_ASSERT(n->qprev == prev && map_get(g, &n->id) == n);
        prev = n;
        c++;
    }
    WEFT_ASSERT(q->tail == prev && c == q->count);
    return c;
}

static void check_nodes(const graph *g)
{
    size_t counts[GN_INVALID + 1] = {0};
    size_t n_map = 0;
    for (size_t i = 0; i < g->map_cap; i++) {
        const gnode *n = g->map[i];
        if (!n)
            continue;
        n_map++;
        WEFT_ASSERT(n->state <= GN_INVALID);
        counts[n->state]++;
        WEFT_ASSERT(g->tab[n->self] == n);
        if (n->counted)
            WEFT_ASSERT(smap_get(g, n->slot) > 0);
        switch (n->state) {
        case GN_MISSING:
            WEFT_ASSERT(n->nwaiters > 0 && !n->counted);
            break;
        case GN_WAITING: {
            /* one waiter entry per reference to a parent it waits for; a parent decided and
             * forgotten since, then given again, may be undecided without an entry: the block
             * looks at its parents again when it becomes ready */
            WEFT_ASSERT(n->unready > 0 && n->pid);
            uint32_t entries = 0;
            for (uint32_t k = 0; k < n->npar; k++) {
                const gnode *p = map_get(g, &n->pid[k]);
                bool first = true;
                uint32_t refs = 0, waits = 0;
                for (uint32_t j = 0; j < n->npar; j++)
                    if (block_id_eq(&n->pid[j], &n->pid[k])) {
                        first = first && j >= k;
                        refs++;
                    }
                if (!p || !first)
                    continue;
                for (uint32_t j = 0; j < p->nwaiters; j++)
                    waits += p->waiters[j] == n;
                WEFT_ASSERT(waits <= refs && (waits == 0 || p->state <= GN_READY));
                entries += waits;
            }
            WEFT_ASSERT(entries == n->unready);
            break;
        }
        case GN_READY:
            WEFT_PANIC("graph check: a ready block outside an input");
        default:
            break;
        }
        for (uint32_t k = 0; k < n->nwaiters; k++)
            WEFT_ASSERT(n->state <= GN_WAITING && n->waiters[k]->state == GN_WAITING);
        if (n->state > GN_WAITING)
            WEFT_ASSERT(n->nwaiters == 0);
    }
    WEFT_ASSERT(n_map == g->map_count);
    WEFT_ASSERT(g->n_heap == 0);
    WEFT_ASSERT(check_queue(g, &g->future, GN_FUTURE, GN_FUTURE) == counts[GN_FUTURE]);
    WEFT_ASSERT(check_queue(g, &g->waiting, GN_WAITING, GN_WAITING) == counts[GN_WAITING]);
    WEFT_ASSERT(check_queue(g, &g->discarded, GN_STALE, GN_INVALID) ==
                counts[GN_STALE] + counts[GN_INVALID]);
    WEFT_ASSERT(counts[GN_PENDING] == g->npending && counts[GN_FINAL] == g->n_final);
    WEFT_ASSERT(g->future.count <= g->cfg.max_future && g->waiting.count <= g->cfg.max_waiting &&
                g->discarded.count <= g->cfg.max_discarded);
    /* per-slot counts: every entry is the number of counted nodes of its slot */
    size_t total = 0;
    for (size_t i = 0; i < g->smap_cap; i++)
        total += g->smap[i].count;
    size_t counted = 0;
    for (size_t i = 0; i < g->map_cap; i++)
        if (g->map[i] && g->map[i]->counted)
            counted++;
    WEFT_ASSERT(total == counted);
}

static void check_best(const graph *g)
{
    for (uint32_t t = 0; t < g->T; t++) {
        const gnode *best = g->latest_final[t];
        const uint64_t *bc = ROW(g->clbits, g->words, g->kept[0]);
        for (int32_t k = bs_next(bc, g->words, 0); k >= 0; k = bs_next(bc, g->words, k + 1))
            if (g->pnode[k]->slot.thread == t && g->pnode[k]->slot.period > best->slot.period)
                best = g->pnode[k];
        WEFT_ASSERT(g->best[t] == best);
    }
}

void graph_check(const graph *g)
{
    WEFT_MISUSE(g);
    if (g->poisoned)
        return;
    check_pending(g);
    check_final(g);
    check_nodes(g);
    cliques_check(g);
    check_best(g);
}
