/* Property test of src/graph over thousands of random block DAGs (seeded: the seed is printed and
 * WEFT_TEST_SEED replays it; WEFT_GRAPH_PROP_DAGS sets how many DAGs, default 4000).
 *
 * Each DAG has T = 2..4 threads, forks (parents picked among the recent blocks of each thread, so
 * blocks compete and lose), multistaking (two blocks in one slot), varied fitness and Δf0, a few
 * malformed blocks and never-delivered parents, duplicates, out-of-order delivery, and in some
 * DAGs a clock that holds blocks from the future.  After every input it checks:
 *   - agreement with a literal reference model of the spec written here (statuses of every block,
 *     incompatibilities, kept cliques in order with their fitness);
 *   - graph_check (every internal invariant);
 *   - the clique set against a brute-force enumeration of the maximal independent sets of the
 *     incompatibility graph (all of them: graph_clique_total; the kept ones: order, fitness, id-sum
 *     tie-break computed independently with a 40-byte big-endian accumulator, members);
 *   - every pending block is in a kept clique, no clique holds two incompatible blocks;
 *   - final blocks are compatible with every pending block (direct thread/grandpa incompatibility
 *     recomputed from the DAG itself for every pending/final pair);
 *   - the final blocks of each thread form a chain from genesis;
 *   - best parents agree with the blockclique and the latest final blocks;
 *   - verdicts never change (final, stale, invalid are forever; pending only becomes final or
 *     stale), and no pending block has a stale, invalid or waiting ancestor.
 * Every other DAG is also run in node mode with tiny bounds (drops, evictions, pruning, the
 * per-slot limit, stale on arrival), checking graph_check, the cliques and best parents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "testutil.h"

#define MAXB 128 /* blocks per DAG, genesis included */
#define MAXT 4

typedef struct pblock {
    block_id_t id;
    slot_t slot;
    uint64_t fit;
    uint32_t np;
    int par[MAXT + 1];       /* indices; -1 = a parent that is never delivered */
    uint64_t anc[MAXB / 64]; /* strict ancestors (by the parent links, whatever the verdicts) */
    bool structural;         /* T parents, parent i in thread i, lower slots */
    bool shunned;            /* malformed or inconsistent: later blocks do not build on it */
} pblock;

typedef struct dag {
    uint32_t T;
    uint64_t d0;
    uint32_t n; /* blocks, genesis first */
    pblock b[MAXB];
    block_id_t ghost; /* the never-delivered parent */
    bool clock;
} dag;

typedef struct stats {
    uint64_t inputs, mis_checked, mis_skipped, cliques, max_cliques, pending_max;
    uint64_t final, stale, invalid, multi_clique_steps;
    uint64_t why[16];
} stats;

static bool anc_has(const pblock *d, int a) { return (d->anc[a / 64] >> (a % 64)) & 1; }

/* ---- generation ----------------------------------------------------------------------------- */

/* a is b or an ancestor of b (both generated, by links) */
static bool anc_or_eq(const dag *g, int a, int b) { return a == b || anc_has(&g->b[b], a); }

static void gen_dag(dag *g, test_rng *r)
{
    memset(g, 0, sizeof *g);
    g->T = 2 + (uint32_t)test_rng_below(r, 3);
    static const uint64_t d0s[] = {2, 3, 4, 6, 8, 12};
    g->d0 = d0s[test_rng_below(r, WEFT_ARRAY_LEN(d0s))];
    g->clock = test_rng_below(r, 4) == 0;
    test_rng_bytes(r, g->ghost.h.b, 32);
    for (uint32_t t = 0; t < g->T; t++) {
        pblock *b = &g->b[g->n++];
        test_rng_bytes(r, b->id.h.b, 32);
        b->slot.thread = (uint8_t)t;
        b->fit = 1;
        b->structural = true;
    }
    uint64_t periods = 4 + test_rng_below(r, 9);
    for (uint64_t p = 1; p <= periods; p++)
        for (uint32_t t = 0; t < g->T; t++) {
            uint64_t roll = test_rng_below(r, 100);
            int k = roll < 10 ? 0 : roll < 30 ? 2 : 1; /* missed slot, multistaking, normal */
            for (int m = 0; m < k && g->n < MAXB; m++) {
                pblock *b = &g->b[g->n];
                test_rng_bytes(r, b->id.h.b, 32);
                b->slot.period = p;
                b->slot.thread = (uint8_t)t;
                b->fit = 1 + (test_rng_below(r, 5) == 0 ? test_rng_below(r, 3) : 0);
                b->np = g->T;
                /* own thread first, then the others, preferring consistent recent choices */
                for (uint32_t kk = 0; kk < g->T; kk++) {
                    uint32_t u = (t + kk) % g->T;
                    int cand[3] = {(int)u, (int)u, (int)u}, nc = 0; /* genesis u: always one */
                    for (int i = (int)g->n - 1; i >= 0 && nc < 3; i--)
                        if (g->b[i].slot.thread == u && slot_cmp(g->b[i].slot, b->slot) < 0)
                            cand[nc++] = i;
                    assert_true(nc > 0);
                    int pick = cand[0];
                    if (test_rng_below(r, 8) == 0) {
                        pick = cand[test_rng_below(r, (uint64_t)nc)];
                    } else {
                        for (int c = 0; c < nc; c++) {
                            bool ok = !g->b[cand[c]].shunned;
                            for (uint32_t jj = 0; jj < kk && ok; jj++) {
                                uint32_t v = (t + jj) % g->T;
                                const pblock *pv = &g->b[b->par[v]], *pc = &g->b[cand[c]];
                                if (pv->np && pv->par[u] >= 0 && !anc_or_eq(g, pv->par[u], cand[c]))
                                    ok = false;
                                if (pc->np && pc->par[v] >= 0 &&
                                    !anc_or_eq(g, pc->par[v], b->par[v]))
                                    ok = false;
                            }
                            if (ok) {
                                pick = cand[c];
                                break;
                            }
                        }
                    }
                    b->par[u] = pick;
                }
                b->structural = true;
                uint64_t bad = test_rng_below(r, 200);
                if (bad == 0) { /* a parent in the wrong thread */
                    uint32_t u = (uint32_t)test_rng_below(r, g->T);
                    b->par[u] = b->par[(u + 1) % g->T];
                    b->structural = false;
                } else if (bad == 1) {
                    b->par[test_rng_below(r, g->T)] = -1;
                }
                /* rule 5 by links: inconsistent blocks are invalid, do not build on them */
                for (uint32_t v = 0; v < g->T && !b->shunned; v++)
                    for (uint32_t u = 0; u < g->T; u++) {
                        const pblock *pv = &g->b[b->par[v] < 0 ? 0 : b->par[v]];
                        if (b->par[v] < 0 || b->par[u] < 0 || !b->structural) {
                            b->shunned = true;
                            break;
                        }
                        if (pv->np && u != v &&
                            (pv->par[u] < 0 || !anc_or_eq(g, pv->par[u], b->par[u])))
                            b->shunned = true;
                    }
                for (uint32_t u = 0; u < g->T; u++) {
                    int pi = b->par[u];
                    if (pi < 0)
                        continue;
                    b->anc[pi / 64] |= UINT64_C(1) << (pi % 64);
                    for (int w = 0; w < MAXB / 64; w++)
                        b->anc[w] |= g->b[pi].anc[w];
                }
                g->n++;
            }
        }
}

/* ---- the graph under test ------------------------------------------------------------------- */

static int index_of(const dag *g, const block_id_t *id)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (block_id_eq(&g->b[i].id, id))
            return (int)i;
    return -1;
}

static graph_status status_of(graph *gr, const dag *g, int i)
{
    return graph_block_status(gr, &g->b[i].id, NULL);
}

/* 40-byte big-endian accumulator: acc += id */
static void acc_add(uint8_t acc[40], const block_id_t *id)
{
    unsigned carry = 0;
    for (int k = 39; k >= 0; k--) {
        unsigned v = acc[k] + carry + (k >= 8 ? id->h.b[k - 8] : 0);
        acc[k] = (uint8_t)v;
        carry = v >> 8;
    }
    assert_int_equal(carry, 0);
}

typedef struct mis {
    uint64_t set;
    uint64_t fit;
    uint8_t sum[40];
} mis;

typedef struct enumctx {
    const uint64_t *adj;
    int n;
    mis *out;
    size_t nout, cap;
} enumctx;

/* Plain enumeration of maximal independent sets: include or exclude each vertex in turn, pruning a
 * branch as soon as an excluded vertex can no longer get an incompatible neighbour in the set. */
static void mis_rec(enumctx *c, int i, uint64_t chosen, uint64_t excluded)
{
    uint64_t rest =
        i >= 64 ? 0
                : (~UINT64_C(0) << i) & (c->n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << c->n) - 1));
    for (uint64_t m = excluded; m; m &= m - 1) {
        int v = __builtin_ctzll(m);
        if (!(c->adj[v] & (chosen | rest)))
            return;
    }
    if (i == c->n) {
        if (c->nout == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->out = realloc(c->out, c->cap * sizeof *c->out);
            assert_non_null(c->out);
        }
        c->out[c->nout++].set = chosen;
        return;
    }
    if (!(c->adj[i] & chosen))
        mis_rec(c, i + 1, chosen | (UINT64_C(1) << i), excluded);
    mis_rec(c, i + 1, chosen, excluded | (UINT64_C(1) << i));
}

static int mis_cmp(const void *a, const void *b)
{
    const mis *x = a, *y = b;
    if (x->fit != y->fit)
        return x->fit > y->fit ? -1 : 1;
    return memcmp(x->sum, y->sum, 40);
}

/* strict ancestry by links, for direct incompatibility from the DAG itself */
static bool sa(const dag *g, int a, int d) { return a != d && anc_has(&g->b[d], a); }

static bool direct_incompatible(const dag *g, int a, int c)
{
    const pblock *A = &g->b[a], *C = &g->b[c];
    if (a == c || anc_has(A, c) || anc_has(C, a) || !A->np || !C->np)
        return false;
    uint32_t ta = A->slot.thread, tc = C->slot.thread;
    if (ta == tc)
        return A->par[ta] == C->par[ta];
    return sa(g, A->par[tc], C->par[tc]) && sa(g, C->par[ta], A->par[ta]);
}

/* ---- a literal reference model of spec/blockclique.md -------------------------------------- */

/* The rules as written, with no cleverness: ancestry from the parent links, incompatibilities
 * recomputed from their definition, every maximal clique enumerated afresh after each pending
 * block.  The graph under test must agree with it on every status and every kept clique. */
typedef struct refm {
    const dag *g;
    graph_status st[MAXB];
    bool inc[MAXB][MAXB]; /* between pending blocks */
    uint64_t lfp[MAXT];
    int ncl;
    uint64_t cl[64][MAXB / 64]; /* kept cliques in order, as sets of block indices */
    uint64_t clfit[64];
} refm;

static bool ref_known(const refm *m, int p)
{
    return p >= 0 && m->st[p] != GRAPH_UNKNOWN && m->st[p] != GRAPH_WAITING_PARENTS &&
           m->st[p] != GRAPH_WAITING_SLOT;
}

static void ref_update(refm *m)
{
    const dag *g = m->g;
    int pend[MAXB], np = 0;
    for (uint32_t i = 0; i < g->n; i++)
        if (m->st[i] == GRAPH_PENDING)
            pend[np++] = (int)i;
    assert_true(np <= 64);
    uint64_t adj[64] = {0};
    for (int a = 0; a < np; a++)
        for (int b = 0; b < np; b++)
            if (m->inc[pend[a]][pend[b]])
                adj[a] |= UINT64_C(1) << b;
    enumctx c = {.adj = adj, .n = np};
    mis_rec(&c, 0, 0, 0);
    uint64_t best = 0;
    for (size_t i = 0; i < c.nout; i++) {
        c.out[i].fit = 0;
        memset(c.out[i].sum, 0, 40);
        for (int k = 0; k < np; k++)
            if (c.out[i].set >> k & 1) {
                c.out[i].fit += g->b[pend[k]].fit;
                acc_add(c.out[i].sum, &g->b[pend[k]].id);
            }
        if (c.out[i].fit > best)
            best = c.out[i].fit;
    }
    size_t nk = 0;
    for (size_t i = 0; i < c.nout; i++)
        if (c.out[i].fit + g->d0 >= best)
            c.out[nk++] = c.out[i];
    qsort(c.out, nk, sizeof *c.out, mis_cmp);
    /* stale: in no kept clique */
    uint64_t inkept = 0, all = 0;
    for (size_t i = 0; i < nk; i++)
        inkept |= c.out[i].set;
    for (int k = 0; k < np; k++)
        if (!(inkept >> k & 1))
            m->st[pend[k]] = GRAPH_STALE;
    /* final: in every kept clique, descendants in some kept clique of fitness > Δf0 weigh more */
    all = nk ? ~UINT64_C(0) : 0;
    for (size_t i = 0; i < nk; i++)
        all &= c.out[i].set;
    uint64_t fin = 0;
    for (int k = 0; k < np; k++) {
        if (!(all >> k & 1))
            continue;
        for (size_t i = 0; i < nk; i++) {
            if (c.out[i].fit <= g->d0)
                continue;
            uint64_t sum = 0;
            for (int q = 0; q < np; q++)
                if ((c.out[i].set >> q & 1) && anc_has(&g->b[pend[q]], pend[k]))
                    sum += g->b[pend[q]].fit;
            if (sum > g->d0) {
                fin |= UINT64_C(1) << k;
                break;
            }
        }
    }
    for (int k = 0; k < np; k++)
        if (fin >> k & 1) {
            const pblock *b = &g->b[pend[k]];
            m->st[pend[k]] = GRAPH_FINAL;
            if (b->slot.period > m->lfp[b->slot.thread])
                m->lfp[b->slot.thread] = b->slot.period;
        }
    m->ncl = 0;
    for (size_t i = 0; i < nk; i++) {
        assert_true(m->ncl < 64);
        memset(m->cl[m->ncl], 0, sizeof m->cl[m->ncl]);
        m->clfit[m->ncl] = 0;
        for (int k = 0; k < np; k++)
            if ((c.out[i].set >> k & 1) && !(fin >> k & 1)) {
                m->cl[m->ncl][pend[k] / 64] |= UINT64_C(1) << (pend[k] % 64);
                m->clfit[m->ncl] += g->b[pend[k]].fit;
            }
        m->ncl++;
    }
    free(c.out);
}

static graph_status ref_process(refm *m, int bi)
{
    const dag *g = m->g;
    const pblock *b = &g->b[bi];
    uint32_t T = g->T, tb = b->slot.thread;
    /* 1 */
    if (b->np != T || tb >= T)
        return GRAPH_INVALID;
    for (uint32_t i = 0; i < T; i++)
        if (g->b[b->par[i]].slot.thread != i || slot_cmp(g->b[b->par[i]].slot, b->slot) >= 0)
            return GRAPH_INVALID;
    /* 2, 3 */
    for (uint32_t i = 0; i < T; i++)
        if (m->st[b->par[i]] == GRAPH_INVALID)
            return GRAPH_INVALID;
    for (uint32_t i = 0; i < T; i++)
        if (m->st[b->par[i]] == GRAPH_STALE)
            return GRAPH_STALE;
    if (b->slot.period <= m->lfp[tb])
        return GRAPH_STALE;
    /* 4 */
    for (uint32_t i = 0; i < T; i++)
        for (uint32_t j = 0; j < T; j++)
            if (m->st[b->par[i]] == GRAPH_PENDING && m->st[b->par[j]] == GRAPH_PENDING &&
                m->inc[b->par[i]][b->par[j]])
                return GRAPH_INVALID;
    /* 5 */
    for (uint32_t s = 0; s < T; s++) {
        const pblock *ps = &g->b[b->par[s]];
        if (!ps->np)
            continue;
        for (uint32_t t = 0; t < T; t++)
            if (!anc_or_eq(g, ps->par[t], b->par[t]))
                return GRAPH_INVALID;
    }
    /* 6 */
    bool I[MAXB] = {false}, with_final = false;
    for (uint32_t x = T; x < g->n; x++)
        if ((m->st[x] == GRAPH_PENDING || m->st[x] == GRAPH_FINAL) &&
            direct_incompatible(g, bi, (int)x)) {
            if (m->st[x] == GRAPH_FINAL)
                with_final = true;
            I[x] = true;
        }
    if (with_final)
        return GRAPH_STALE;
    /* 7 */
    for (uint32_t i = 0; i < T; i++)
        if (m->st[b->par[i]] == GRAPH_PENDING)
            for (uint32_t x = 0; x < g->n; x++)
                if (m->inc[b->par[i]][x])
                    I[x] = true;
    bool J[MAXB];
    memcpy(J, I, sizeof J);
    for (uint32_t x = 0; x < g->n; x++)
        if (I[x])
            for (uint32_t y = 0; y < g->n; y++)
                if (m->st[y] == GRAPH_PENDING && anc_has(&g->b[y], (int)x))
                    J[y] = true;
    for (uint32_t x = 0; x < g->n; x++)
        if (J[x] && anc_has(b, (int)x))
            return GRAPH_INVALID;
    /* 8 */
    for (uint32_t x = 0; x < g->n; x++)
        if (J[x] && m->st[x] == GRAPH_PENDING)
            m->inc[bi][x] = m->inc[x][bi] = true;
    m->st[bi] = GRAPH_PENDING;
    ref_update(m);
    return m->st[bi];
}

static void ref_settle(refm *m)
{
    const dag *g = m->g;
    for (;;) {
        int best = -1;
        for (uint32_t i = 0; i < g->n; i++) {
            if (m->st[i] != GRAPH_WAITING_PARENTS)
                continue;
            bool ready = true;
            for (uint32_t u = 0; u < g->b[i].np; u++)
                if (!ref_known(m, g->b[i].par[u]))
                    ready = false;
            if (!ready)
                continue;
            if (best < 0) {
                best = (int)i;
                continue;
            }
            int c = slot_cmp(g->b[i].slot, g->b[best].slot);
            if (c < 0 || (c == 0 && memcmp(g->b[i].id.h.b, g->b[best].id.h.b, 32) < 0))
                best = (int)i;
        }
        if (best < 0)
            return;
        m->st[best] = GRAPH_UNKNOWN;
        m->st[best] = ref_process(m, best);
    }
}

static void ref_deliver(refm *m, int bi, const slot_t *now)
{
    if (m->st[bi] != GRAPH_UNKNOWN)
        return; /* duplicate */
    if (now && slot_cmp(m->g->b[bi].slot, *now) > 0) {
        m->st[bi] = GRAPH_WAITING_SLOT;
        return;
    }
    m->st[bi] = GRAPH_WAITING_PARENTS;
    ref_settle(m);
}

static void ref_tick(refm *m, slot_t now)
{
    for (uint32_t i = 0; i < m->g->n; i++)
        if (m->st[i] == GRAPH_WAITING_SLOT && slot_cmp(m->g->b[i].slot, now) <= 0)
            m->st[i] = GRAPH_WAITING_PARENTS;
    ref_settle(m);
}

/* The graph under test agrees with the model on every status, incompatibility and kept clique. */
static void ref_compare(graph *gr, const refm *m)
{
    const dag *g = m->g;
    for (uint32_t i = 0; i < g->n; i++) {
        graph_status st = graph_block_status(gr, &g->b[i].id, NULL);
        if (st != m->st[i])
            fail_msg("block %u (slot %llu,%u): graph says %s, the rules say %s", i,
                     (unsigned long long)g->b[i].slot.period, g->b[i].slot.thread,
                     graph_status_name(st), graph_status_name(m->st[i]));
        if (st == GRAPH_PENDING)
            for (uint32_t j = 0; j < g->n; j++)
                if (m->st[j] == GRAPH_PENDING)
                    assert_int_equal(graph_incompatible(gr, &g->b[i].id, &g->b[j].id),
                                     m->inc[i][j]);
    }
    if (m->ncl == 0) { /* no update yet: the empty clique */
        assert_int_equal(graph_clique_count(gr), 1);
        assert_int_equal(graph_clique_fitness(gr, 0), 0);
        return;
    }
    assert_int_equal(graph_clique_count(gr), (size_t)m->ncl);
    for (int i = 0; i < m->ncl; i++) {
        block_id_t ids[MAXB];
        size_t n = graph_clique_blocks(gr, (size_t)i, ids, MAXB);
        uint64_t set[MAXB / 64] = {0};
        for (size_t k = 0; k < n; k++) {
            int bi = index_of(g, &ids[k]);
            set[bi / 64] |= UINT64_C(1) << (bi % 64);
        }
        assert_memory_equal(set, m->cl[i], sizeof set);
        assert_int_equal(graph_clique_fitness(gr, (size_t)i), m->clfit[i]);
    }
}

static void verify(graph *gr, const dag *g, graph_status *prev, stats *s, bool node)
{
    graph_check(gr);
    s->inputs++;
    graph_status cur[MAXB];
    int pend[MAXB], np = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        cur[i] = status_of(gr, g, (int)i);
        if (cur[i] == GRAPH_PENDING)
            pend[np++] = (int)i;
        if (node) /* bounds forget blocks: only the structural properties below hold */
            continue;
        /* verdicts are forever; pending only moves on to final or stale */
        if (prev[i] == GRAPH_FINAL || prev[i] == GRAPH_STALE || prev[i] == GRAPH_INVALID)
            assert_int_equal(cur[i], prev[i]);
        if (prev[i] == GRAPH_PENDING)
            assert_true(cur[i] == GRAPH_PENDING || cur[i] == GRAPH_FINAL || cur[i] == GRAPH_STALE);
        if (cur[i] == GRAPH_PENDING || cur[i] == GRAPH_FINAL) {
            assert_true(g->b[i].structural);
            for (uint32_t u = 0; i >= g->T && u < g->T; u++) {
                graph_status ps = status_of(gr, g, g->b[i].par[u]);
                assert_true(ps == GRAPH_PENDING || ps == GRAPH_FINAL);
                if (cur[i] == GRAPH_FINAL)
                    assert_int_equal(ps, GRAPH_FINAL);
            }
        }
        prev[i] = cur[i];
    }
    if ((uint64_t)np > s->pending_max)
        s->pending_max = (uint64_t)np;

    /* final chains per thread, from genesis */
    for (uint32_t t = 0; !node && t < g->T; t++) {
        int last = (int)t;
        block_id_t lf;
        graph_latest_final(gr, t, &lf, NULL);
        for (;;) {
            int next = -1;
            for (uint32_t i = g->T; i < g->n; i++)
                if (cur[i] == GRAPH_FINAL && g->b[i].slot.thread == t && g->b[i].par[t] == last)
                    next = (int)i;
            if (next < 0)
                break;
            last = next;
        }
        int nf = 0;
        for (uint32_t i = 0; i < g->n; i++)
            if (cur[i] == GRAPH_FINAL && g->b[i].slot.thread == t)
                nf++;
        int chain_len = 1;
        for (int k = last; k >= (int)g->T; k = g->b[k].par[t])
            chain_len++;
        assert_int_equal(nf, chain_len); /* every final block of t is on one chain */
        assert_true(block_id_eq(&lf, &g->b[last].id));
    }

    /* final blocks are compatible with every pending block */
    for (int k = 0; k < np; k++)
        for (uint32_t i = g->T; i < g->n; i++)
            if (cur[i] == GRAPH_FINAL)
                assert_false(direct_incompatible(g, pend[k], (int)i));

    /* cliques against brute force */
    if (np > 64) {
        s->mis_skipped++;
        return;
    }
    s->mis_checked++;
    uint64_t adj[64] = {0};
    for (int a = 0; a < np; a++)
        for (int b = 0; b < np; b++)
            if (graph_incompatible(gr, &g->b[pend[a]].id, &g->b[pend[b]].id))
                adj[a] |= UINT64_C(1) << b;
    for (int a = 0; a < np; a++) {
        assert_false(adj[a] >> a & 1);
        for (int b = 0; b < np; b++)
            assert_int_equal(adj[a] >> b & 1, adj[b] >> a & 1);
    }
    enumctx c = {.adj = adj, .n = np};
    mis_rec(&c, 0, 0, 0);
    assert_true(c.nout >= 1);
    assert_int_equal(graph_clique_total(gr), c.nout);
    uint64_t best = 0;
    for (size_t i = 0; i < c.nout; i++) {
        c.out[i].fit = 0;
        memset(c.out[i].sum, 0, 40);
        for (int k = 0; k < np; k++)
            if (c.out[i].set >> k & 1) {
                c.out[i].fit += g->b[pend[k]].fit;
                acc_add(c.out[i].sum, &g->b[pend[k]].id);
            }
        if (c.out[i].fit > best)
            best = c.out[i].fit;
    }
    size_t nk = 0;
    for (size_t i = 0; i < c.nout; i++)
        if (c.out[i].fit + g->d0 >= best)
            c.out[nk++] = c.out[i];
    qsort(c.out, nk, sizeof *c.out, mis_cmp);
    assert_int_equal(graph_clique_count(gr), nk);
    s->cliques += nk;
    if (nk > s->max_cliques)
        s->max_cliques = nk;
    if (nk > 1)
        s->multi_clique_steps++;
    uint64_t covered = 0;
    for (size_t i = 0; i < nk; i++) {
        block_id_t ids[64];
        size_t n = graph_clique_blocks(gr, i, ids, 64);
        uint64_t set = 0;
        for (size_t k = 0; k < n; k++) {
            int bi = index_of(g, &ids[k]);
            int pk = -1;
            for (int q = 0; q < np; q++)
                if (pend[q] == bi)
                    pk = q;
            assert_true(pk >= 0);
            set |= UINT64_C(1) << pk;
        }
        assert_int_equal(set, c.out[i].set);
        assert_int_equal(graph_clique_fitness(gr, i), c.out[i].fit);
        for (int k = 0; k < np; k++) /* no two incompatible blocks in a clique */
            if (set >> k & 1)
                assert_int_equal(adj[k] & set, 0);
        covered |= set;
    }
    if (np)
        assert_int_equal(covered, np == 64 ? ~UINT64_C(0) : (UINT64_C(1) << np) - 1);

    /* best parents: latest final or newer blockclique block of each thread */
    block_id_t bp[MAXT];
    graph_best_parents(gr, bp);
    for (uint32_t t = 0; t < g->T; t++) {
        block_id_t lf;
        graph_latest_final(gr, t, &lf, NULL);
        int want = index_of(g, &lf);
        for (int k = 0; k < np; k++)
            if ((c.out[0].set >> k & 1) && g->b[pend[k]].slot.thread == t &&
                g->b[pend[k]].slot.period > g->b[want].slot.period)
                want = pend[k];
        assert_true(block_id_eq(&bp[t], &g->b[want].id));
    }
    free(c.out);
}

/* Delivery order: creation order, locally shuffled, a few held back to the end, then a few
 * duplicates (from index *ndup on).  Returns the number of deliveries. */
static int make_order(const dag *g, test_rng *r, int *order, int *ndup_out)
{
    int no = 0;
    for (uint32_t i = g->T; i < g->n; i++)
        order[no++] = (int)i;
    for (int i = 0; i < no; i++)
        if (test_rng_below(r, 5) == 0) {
            int j = i + 1 + (int)test_rng_below(r, 6);
            if (j < no) {
                int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
        }
    for (int i = 0; i < no; i++)
        if (test_rng_below(r, 25) == 0) {
            int held = order[i];
            memmove(&order[i], &order[i + 1], (size_t)(no - i - 1) * sizeof *order);
            order[no - 1] = held;
        }
    int ndup = no;
    for (int i = 0; i < ndup; i++)
        if (test_rng_below(r, 50) == 0)
            order[no++] = order[i];

    *ndup_out = ndup;
    return no;
}

static void run_dag(dag *g, test_rng *r, stats *s)
{
    graph_config cfg;
    graph_config_init(&cfg, g->T, g->d0);
    cfg.max_future = cfg.max_waiting = cfg.max_discarded = GRAPH_UNBOUNDED;
    cfg.final_keep_periods = GRAPH_KEEP_ALL;
    cfg.stale_old_on_arrival = false;
    block_id_t gen[MAXT];
    for (uint32_t t = 0; t < g->T; t++)
        gen[t] = g->b[t].id;
    graph *gr;
    assert_int_equal(graph_new(&gr, &cfg, gen), WEFT_OK);
    graph_status prev[MAXB];
    for (uint32_t i = 0; i < g->n; i++)
        prev[i] = status_of(gr, g, (int)i);
    refm *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->g = g;
    for (uint32_t t = 0; t < g->T; t++)
        m->st[t] = GRAPH_FINAL;

    int order[2 * MAXB], ndup, no = make_order(g, r, order, &ndup);

    slot_t now = {0, 0};
    for (int k = 0; k < no; k++) {
        pblock *b = &g->b[order[k]];
        block_id_t par[MAXT];
        for (uint32_t u = 0; u < b->np; u++)
            par[u] = b->par[u] >= 0 ? g->b[b->par[u]].id : g->ghost;
        graph_block gb = {
            .id = b->id, .slot = b->slot, .fitness = b->fit, .parent_count = b->np, .parents = par};
        if (g->clock) {
            /* the clock trails the newest block given so far by up to two slots */
            slot_t t = b->slot;
            uint64_t back = test_rng_below(r, 3);
            while (back--) {
                if (t.thread > 0) {
                    t.thread--;
                } else if (t.period > 0) {
                    t.period--;
                    t.thread = (uint8_t)(g->T - 1);
                }
            }
            if (slot_cmp(t, now) > 0) {
                now = t;
                assert_int_equal(graph_tick(gr, now), WEFT_OK);
                ref_tick(m, now);
                verify(gr, g, prev, s, false);
                ref_compare(gr, m);
            }
        }
        weft_err e = graph_add(gr, &gb, g->clock ? &now : NULL, GRAPH_FORCE);
        assert_true(e == WEFT_OK || (e == WEFT_E_GRAPH_DUPLICATE && k >= ndup));
        graph_outputs_clear(gr);
        ref_deliver(m, order[k], g->clock ? &now : NULL);
        verify(gr, g, prev, s, false);
        ref_compare(gr, m);
    }
    if (g->clock) {
        now.period = 1000;
        assert_int_equal(graph_tick(gr, now), WEFT_OK);
        ref_tick(m, now);
        verify(gr, g, prev, s, false);
        ref_compare(gr, m);
        assert_int_equal(graph_count(gr, GRAPH_WAITING_SLOT), 0);
    }
    for (uint32_t i = g->T; i < g->n; i++) {
        weft_err why = WEFT_OK;
        graph_block_status(gr, &g->b[i].id, &why);
        if (why)
            s->why[-why - 300]++;
        graph_status st = prev[i];
        s->final += st == GRAPH_FINAL;
        s->stale += st == GRAPH_STALE;
        s->invalid += st == GRAPH_INVALID;
    }
    free(m);
    graph_free(gr);
}

/* The same DAG in node mode with tiny bounds (queues of 2-3 blocks, 4 remembered verdicts, no
 * final margin, stale on arrival, per-slot limit without force): blocks get dropped, evicted,
 * pruned and asked for again.  Checks graph_check, the cliques against brute force, final blocks
 * compatible with pending ones and best parents after every input. */
static void run_dag_node(dag *g, test_rng *r, stats *s)
{
    graph_config cfg;
    graph_config_init(&cfg, g->T, g->d0);
    cfg.max_future = 2;
    cfg.max_waiting = 3;
    cfg.max_discarded = 4;
    cfg.final_keep_periods = 0;
    cfg.hash_seed = test_rng_next(r);
    block_id_t gen[MAXT];
    for (uint32_t t = 0; t < g->T; t++)
        gen[t] = g->b[t].id;
    graph *gr;
    assert_int_equal(graph_new(&gr, &cfg, gen), WEFT_OK);
    graph_status prev[MAXB];
    int order[2 * MAXB], ndup, no = make_order(g, r, order, &ndup);
    slot_t now = {0, 0};
    for (int k = 0; k < no; k++) {
        pblock *b = &g->b[order[k]];
        block_id_t par[MAXT];
        for (uint32_t u = 0; u < b->np; u++)
            par[u] = b->par[u] >= 0 ? g->b[b->par[u]].id : g->ghost;
        graph_block gb = {
            .id = b->id, .slot = b->slot, .fitness = b->fit, .parent_count = b->np, .parents = par};
        if (g->clock && slot_cmp(b->slot, now) > 0 && test_rng_below(r, 2)) {
            now = b->slot;
            assert_int_equal(graph_tick(gr, now), WEFT_OK);
            verify(gr, g, prev, s, true);
        }
        weft_err e = graph_add(gr, &gb, g->clock ? &now : NULL, 0);
        assert_true(e == WEFT_OK || e == WEFT_E_GRAPH_DUPLICATE || e == WEFT_E_GRAPH_SLOT_FULL);
        graph_outputs_clear(gr);
        verify(gr, g, prev, s, true);
    }
    graph_free(gr);
}

static void test_random_dags(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    const char *env = getenv("WEFT_GRAPH_PROP_DAGS");
    long ndags = env && *env ? strtol(env, NULL, 10) : 4000;
    test_rng r;
    test_rng_init(&r, seed);
    stats s = {0};
    dag *g = malloc(sizeof *g);
    assert_non_null(g);
    for (long i = 0; i < ndags; i++) {
        gen_dag(g, &r);
        run_dag(g, &r, &s);
        if (i % 2 == 0) /* node mode on every other DAG keeps the run within seconds */
            run_dag_node(g, &r, &s);
    }
    free(g);
    print_message("%ld DAGs, %llu inputs, %llu brute-force clique checks (%llu skipped), "
                  "max %llu kept cliques, max %llu pending, %llu steps with several cliques; "
                  "verdicts: %llu final, %llu stale, %llu invalid\n",
                  ndags, (unsigned long long)s.inputs, (unsigned long long)s.mis_checked,
                  (unsigned long long)s.mis_skipped, (unsigned long long)s.max_cliques,
                  (unsigned long long)s.pending_max, (unsigned long long)s.multi_clique_steps,
                  (unsigned long long)s.final, (unsigned long long)s.stale,
                  (unsigned long long)s.invalid);
    for (int k = 0; k < 16; k++)
        if (s.why[k])
            print_message("  %s: %llu\n", weft_err_name(-300 - k), (unsigned long long)s.why[k]);
    /* the generator must exercise what it claims to */
    if (ndags >= 200) {
        assert_true(s.final > 0 && s.stale > 0 && s.invalid > 0);
        assert_true(s.multi_clique_steps > 0 && s.max_cliques >= 3);
        assert_true(s.mis_skipped * 100 <= s.mis_checked);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_dags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
