/* Unit tests of graph_new_from: a graph restarted from its final frontier behaves as the graph it
 * replaces.
 *
 *   - test_restart_prop (seeded; WEFT_GRAPH_RESTART_DAGS sets the count, default 1000): random
 *     block DAGs (T = 2..4, forks, multistaking, varied fitness and Δf0, malformed blocks, a
 *     parent never delivered, duplicates, out-of-order delivery, sometimes a clock; spec or node
 *     mode, with or without pruning) go into graph A.  At a random point, graph B is built with
 *     graph_new_from from A's remembered final blocks (shuffled) and given every block A holds as
 *     pending or waiting, in the order A received them, with GRAPH_FORCE and the same clock.  Then
 *     both get the rest of the DAG.  After B's build and after every later input both agree on
 *     the status of every block (see `excused` for the one deliberate difference), every kept
 *     clique (members and fitness, so the blockclique), the final events in order, the best
 *     parents and the latest final blocks, and pass graph_check.
 *   - test_old_final_parent: a block naming a final block below the head of its thread is
 *     processed as in the original graph when that block is given, and waits for it when only
 *     the heads are.
 *   - test_new_from_errors: every E_GRAPH_CONFIG case, and a minimal valid frontier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "testutil.h"

#define MAXB 160
#define MAXT 4
#define WORDS (MAXB / 64 + 1)

typedef struct rblock {
    block_id_t id;
    slot_t slot;
    uint64_t fit;
    uint32_t np;
    int par[MAXT];       /* indices; -1: the parent that is never delivered */
    uint64_t anc[WORDS]; /* strict ancestors by the links */
    bool bad;            /* malformed or inconsistent: others avoid building on it */
} rblock;

typedef struct rdag {
    uint32_t T;
    uint64_t d0;
    uint32_t n; /* genesis blocks first */
    rblock b[MAXB];
    block_id_t ghost;
    bool clock;
} rdag;

static bool has_anc(const rblock *b, int a) { return (b->anc[a / 64] >> (a % 64)) & 1; }
static bool anc_eq(const rdag *g, int a, int d) { return a == d || has_anc(&g->b[d], a); }

/* Is candidate c (thread u) a consistent parent next to the parents already chosen in `done`
 * (rule 5 by the links)? */
static bool fits(const rdag *g, const rblock *b, const bool *done, uint32_t u, int c)
{
    if (g->b[c].bad)
        return false;
    for (uint32_t v = 0; v < g->T; v++) {
        if (!done[v] || v == u)
            continue;
        const rblock *pv = &g->b[b->par[v]], *pc = &g->b[c];
        if (pv->np && (pv->par[u] < 0 || !anc_eq(g, pv->par[u], c)))
            return false;
        if (pc->np && (pc->par[v] < 0 || !anc_eq(g, pc->par[v], b->par[v])))
            return false;
    }
    return true;
}

/* Whether a generated block is well formed and consistent: others avoid building on it. */
static bool is_bad(const rdag *g, const rblock *b)
{
    bool done[MAXT];
    for (uint32_t u = 0; u < g->T; u++) {
        if (b->par[u] < 0 || g->b[b->par[u]].slot.thread != u)
            return true;
        done[u] = true;
    }
    for (uint32_t u = 0; u < g->T; u++)
        if (!fits(g, b, done, u, b->par[u]))
            return true;
    return false;
}

static void gen(rdag *g, test_rng *r)
{
    memset(g, 0, sizeof *g);
    g->T = 2 + (uint32_t)test_rng_below(r, 3);
    static const uint64_t d0s[] = {2, 3, 4, 6, 8};
    g->d0 = d0s[test_rng_below(r, WEFT_ARRAY_LEN(d0s))];
    g->clock = test_rng_below(r, 4) == 0;
    test_rng_bytes(r, g->ghost.h.b, 32);
    for (uint32_t t = 0; t < g->T; t++) {
        rblock *b = &g->b[g->n++];
        test_rng_bytes(r, b->id.h.b, 32);
        b->slot = (slot_t){0, (uint8_t)t};
        b->fit = 1;
    }
    for (uint64_t p = 1; g->n < MAXB; p++)
        for (uint32_t t = 0; t < g->T && g->n < MAXB; t++) {
            uint64_t roll = test_rng_below(r, 100);
            int k = roll < 10 ? 0 : roll < 28 ? 2 : 1; /* a miss, two producers, one */
            for (int m = 0; m < k && g->n < MAXB; m++) {
                rblock *b = &g->b[g->n];
                test_rng_bytes(r, b->id.h.b, 32);
                b->slot = (slot_t){p, (uint8_t)t};
                b->fit = 1 + (test_rng_below(r, 4) == 0 ? test_rng_below(r, 3) : 0);
                b->np = g->T;
                bool done[MAXT] = {false};
                for (uint32_t kk = 0; kk < g->T; kk++) { /* own thread first */
                    uint32_t u = (t + kk) % g->T;
                    int cand[3] = {0, 0, 0}, nc = 0; /* a genesis block is always there */
                    for (int i = (int)g->n - 1; i >= 0 && nc < 3; i--)
                        if (g->b[i].slot.thread == u && slot_cmp(g->b[i].slot, b->slot) < 0)
                            cand[nc++] = i;
                    int pick = cand[test_rng_below(r, (uint64_t)nc)]; /* sometimes inconsistent */
                    if (test_rng_below(r, 25) != 0)
                        for (int c = 0; c < nc; c++)
                            if (fits(g, b, done, u, cand[c])) {
                                pick = cand[c];
                                break;
                            }
                    b->par[u] = pick;
                    done[u] = true;
                }
                uint64_t odd = test_rng_below(r, 150);
                if (odd == 0) { /* a parent in the wrong thread */
                    uint32_t u = (uint32_t)test_rng_below(r, g->T);
                    b->par[u] = b->par[u + 1 == g->T ? 0 : u + 1];
                } else if (odd == 1) { /* a parent nobody ever delivers */
                    b->par[test_rng_below(r, g->T)] = -1;
                }
                b->bad = is_bad(g, b);
                for (uint32_t u = 0; u < g->T; u++) {
                    int pi = b->par[u];
                    if (pi < 0)
                        continue;
                    b->anc[pi / 64] |= UINT64_C(1) << (pi % 64);
                    for (int w = 0; w < WORDS; w++)
                        b->anc[w] |= g->b[pi].anc[w];
                }
                g->n++;
            }
        }
}

static int find(const rdag *g, const block_id_t *id)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (block_id_eq(&g->b[i].id, id))
            return (int)i;
    return -1;
}

static graph_block as_graph_block(const rdag *g, int i, block_id_t *par)
{
    const rblock *b = &g->b[i];
    for (uint32_t u = 0; u < b->np; u++)
        par[u] = b->par[u] >= 0 ? g->b[b->par[u]].id : g->ghost;
    return (graph_block){
        .id = b->id, .slot = b->slot, .fitness = b->fit, .parent_count = b->np, .parents = par};
}

static graph_final_block as_final_block(const rdag *g, int i)
{
    const rblock *b = &g->b[i];
    graph_final_block f;
    memset(&f, 0, sizeof f);
    f.id = b->id;
    f.slot = b->slot;
    f.fitness = b->fit;
    f.parent_count = b->np;
    for (uint32_t u = 0; u < b->np; u++) {
        assert_true(b->par[u] >= 0); /* a final block's parents were all delivered */
        f.parents[u] = g->b[b->par[u]].id;
        f.parent_periods[u] = g->b[b->par[u]].slot.period;
    }
    return f;
}

/* ---- comparing two graphs ------------------------------------------------------------------- */

typedef struct finals_ctx {
    const rdag *g;
    graph_final_block *v;
    size_t n;
} finals_ctx;

static void collect_final(void *ctx, const block_id_t *id, slot_t slot, graph_status st,
                          weft_err reason)
{
    (void)slot;
    (void)reason;
    finals_ctx *c = ctx;
    if (st != GRAPH_FINAL)
        return;
    int i = find(c->g, id);
    assert_true(i >= 0);
    c->v[c->n++] = as_final_block(c->g, i);
}

static int id_cmp(const void *a, const void *b)
{
    return hash32_cmp(&((const block_id_t *)a)->h, &((const block_id_t *)b)->h);
}

static void same_cliques(graph *a, graph *b)
{
    size_t n = graph_clique_count(a);
    assert_int_equal(graph_clique_count(b), n);
    for (size_t i = 0; i < n; i++) {
        block_id_t x[MAXB], y[MAXB];
        size_t nx = graph_clique_blocks(a, i, x, MAXB), ny = graph_clique_blocks(b, i, y, MAXB);
        assert_int_equal(nx, ny);
        assert_int_equal(graph_clique_fitness(a, i), graph_clique_fitness(b, i));
        qsort(x, nx, sizeof *x, id_cmp);
        qsort(y, ny, sizeof *y, id_cmp);
        if (nx)
            assert_memory_equal(x, y, nx * sizeof *x);
    }
}

/* The blocks on which the graphs may differ, in one way only: the block or an ancestor was
 * discarded by A before the restart.  B never heard of it (a restarted node keeps no stale or
 * invalid block), so B waits for it as a missing parent where A decided at once. */

static void same_state(graph *a, graph *b, const rdag *g, const bool *excused)
{
#ifndef WEFT_VERIFY /* else every input already ran it */
    graph_check(a);
    graph_check(b);
#endif
    for (uint32_t i = 0; i < g->n; i++) {
        weft_err ra, rb;
        graph_status sa = graph_block_status(a, &g->b[i].id, &ra);
        graph_status sb = graph_block_status(b, &g->b[i].id, &rb);
        if (excused[i] && (sb == GRAPH_WAITING_PARENTS || sb == GRAPH_UNKNOWN))
            continue;
        if (sa != sb || ra != rb)
            fail_msg("block %u (slot %llu,%u): A says %s (%s), B says %s (%s)", i,
                     (unsigned long long)g->b[i].slot.period, g->b[i].slot.thread,
                     graph_status_name(sa), weft_err_name(ra), graph_status_name(sb),
                     weft_err_name(rb));
    }
    same_cliques(a, b);
    block_id_t pa[MAXT], pb[MAXT];
    graph_best_parents(a, pa);
    graph_best_parents(b, pb);
    assert_memory_equal(pa, pb, g->T * sizeof *pa);
    for (uint32_t t = 0; t < g->T; t++) {
        block_id_t x, y;
        slot_t sx, sy;
        graph_latest_final(a, t, &x, &sx);
        graph_latest_final(b, t, &y, &sy);
        assert_true(block_id_eq(&x, &y) && slot_cmp(sx, sy) == 0);
    }
    assert_int_equal(graph_count(a, GRAPH_PENDING), graph_count(b, GRAPH_PENDING));
}

static void same_final_events(graph *a, graph *b)
{
    const graph_outputs *oa = graph_get_outputs(a), *ob = graph_get_outputs(b);
    assert_int_equal(oa->n_final, ob->n_final);
    for (size_t i = 0; i < oa->n_final; i++)
        assert_true(block_id_eq(&oa->final[i].id, &ob->final[i].id));
}

/* ---- the property test ---------------------------------------------------------------------- */

/* Sorts block indices by (slot, id) (insertion sort: at most MAXB of them). */
static void sort_by_slot(const rdag *g, int *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            const rblock *x = &g->b[v[j - 1]], *y = &g->b[v[j]];
            int c = slot_cmp(x->slot, y->slot);
            if (c < 0 || (c == 0 && hash32_cmp(&x->id.h, &y->id.h) < 0))
                break;
            int t = v[j - 1];
            v[j - 1] = v[j];
            v[j] = t;
        }
}

typedef struct rstats {
    uint64_t dags, inputs, finals_given, fed, pruned_frontiers, final_after, excused, compared,
        pending_end;
} rstats;

static void run_restart(const rdag *g, test_rng *r, rstats *st)
{
    graph_config cfg;
    graph_config_init(&cfg, g->T, g->d0);
    cfg.max_future = cfg.max_waiting = cfg.max_discarded = GRAPH_UNBOUNDED;
    static const uint64_t keeps[] = {0, 1, 3, GRAPH_KEEP_ALL};
    cfg.final_keep_periods = keeps[test_rng_below(r, WEFT_ARRAY_LEN(keeps))];
    cfg.stale_old_on_arrival = test_rng_below(r, 2) == 0;
    cfg.hash_seed = test_rng_next(r);
    block_id_t gen_ids[MAXT];
    for (uint32_t t = 0; t < g->T; t++)
        gen_ids[t] = g->b[t].id;
    graph *a, *b = NULL;
    assert_int_equal(graph_new(&a, &cfg, gen_ids), WEFT_OK);

    /* delivery order: creation order, locally shuffled, some held back, some repeated */
    int order[2 * MAXB], no = 0;
    for (uint32_t i = g->T; i < g->n; i++)
        order[no++] = (int)i;
    for (int i = 0; i + 1 < no; i++)
        if (test_rng_below(r, 5) == 0) {
            int j = i + 1 + (int)test_rng_below(r, 3);
            if (j < no) {
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
        }
    for (int i = 0, base = no; i < base; i++)
        if (test_rng_below(r, 40) == 0)
            order[no++] = order[(int)test_rng_below(r, (uint64_t)i + 1)];
    int restart = (int)test_rng_below(r, (uint64_t)no + 1);

    int arrived[2 * MAXB], na = 0; /* blocks A took, in order */
    bool skip[MAXB] = {false};
    bool excused[MAXB] = {false};
    slot_t now = {0, 0};
    for (int k = 0; k <= no; k++) {
        if (k == restart) {
            /* B from A's remembered final blocks, in shuffled order */
            graph_final_block *fv = calloc(MAXB, sizeof *fv);
            assert_non_null(fv);
            finals_ctx fc = {g, fv, 0};
            graph_foreach(a, collect_final, &fc);
            for (size_t i = fc.n; i > 1; i--) {
                size_t j = test_rng_below(r, i);
                graph_final_block x = fv[i - 1];
                fv[i - 1] = fv[j];
                fv[j] = x;
            }
            graph_config cb = cfg;
            cb.hash_seed = test_rng_next(r);
            assert_int_equal(graph_new_from(&b, &cb, fv, fc.n), WEFT_OK);
            size_t ngen = 0;
            for (size_t i = 0; i < fc.n; i++)
                ngen += fv[i].parent_count == 0;
            st->pruned_frontiers += ngen < g->T;
            st->finals_given += fc.n;
            free(fv);
            /* then what A holds as pending or waiting (a block A forgot by pruning and took
             * again counts at its last arrival), restored in A's arrival order, in (slot, id)
             * order as the node's block log gives them, or shuffled */
            int last_arrival[MAXB], feed[2 * MAXB], nfeed = 0;
            for (int i = 0; i < na; i++)
                last_arrival[arrived[i]] = i;
            for (int i = 0; i < na; i++) {
                int bi = arrived[i];
                graph_status s = graph_block_status(a, &g->b[bi].id, NULL);
                if (last_arrival[bi] == i &&
                    (s == GRAPH_PENDING || s == GRAPH_WAITING_PARENTS || s == GRAPH_WAITING_SLOT))
                    feed[nfeed++] = bi;
            }
            uint64_t how = test_rng_below(r, 3);
            if (how == 1)
                sort_by_slot(g, feed, nfeed);
            for (int i = nfeed; how == 2 && i > 1; i--) {
                int j = (int)test_rng_below(r, (uint64_t)i), x = feed[i - 1];
                feed[i - 1] = feed[j];
                feed[j] = x;
            }
            for (int i = 0; i < nfeed; i++) {
                block_id_t par[MAXT];
                graph_block gb = as_graph_block(g, feed[i], par);
                assert_int_equal(
                    graph_add(b, &gb, g->clock ? &now : NULL, GRAPH_FORCE | GRAPH_RESTORE),
                    WEFT_OK);
                st->fed++;
            }
            /* what A discarded is forgotten by B, and so is the parent of each descendant */
            bool forgotten[MAXB] = {false};
            for (int i = 0; i < na; i++) {
                graph_status s = graph_block_status(a, &g->b[arrived[i]].id, NULL);
                forgotten[arrived[i]] = s == GRAPH_STALE || s == GRAPH_INVALID;
            }
            for (uint32_t i = 0; i < g->n; i++) {
                for (uint32_t f = 0; f < g->n && !excused[i]; f++)
                    excused[i] = forgotten[f] && (f == i || has_anc(&g->b[i], (int)f));
                skip[i] = forgotten[i]; /* not given again: B would judge it afresh */
            }
            graph_outputs_clear(a);
            graph_outputs_clear(b);
            same_state(a, b, g, excused);
        }
        if (k == no)
            break;
        int bi = order[k];
        if (b && skip[bi])
            continue;
        block_id_t par[MAXT];
        graph_block gb = as_graph_block(g, bi, par);
        if (g->clock) { /* the clock trails the newest block by up to two slots */
            slot_t t = g->b[bi].slot;
            for (uint64_t back = test_rng_below(r, 3); back--;) {
                if (t.thread > 0) {
                    t.thread--;
                } else if (t.period > 0) {
                    t.period--;
                    t.thread = (uint8_t)(g->T - 1);
                }
            }
            if (slot_cmp(t, now) > 0) {
                now = t;
                assert_int_equal(graph_tick(a, now), WEFT_OK);
                if (b) {
                    assert_int_equal(graph_tick(b, now), WEFT_OK);
                    same_final_events(a, b);
                    same_state(a, b, g, excused);
                    graph_outputs_clear(b);
                }
                graph_outputs_clear(a);
            }
        }
        weft_err ea = graph_add(a, &gb, g->clock ? &now : NULL, GRAPH_FORCE);
        assert_true(ea == WEFT_OK || ea == WEFT_E_GRAPH_DUPLICATE);
        if (ea == WEFT_OK)
            arrived[na++] = bi;
        if (b) {
            weft_err eb = graph_add(b, &gb, g->clock ? &now : NULL, GRAPH_FORCE);
            assert_int_equal(ea, eb);
            same_final_events(a, b);
            st->final_after += graph_get_outputs(b)->n_final;
            same_state(a, b, g, excused);
            graph_outputs_clear(b);
            st->inputs++;
        }
        graph_outputs_clear(a);
    }
    if (g->clock && b) {
        now.period = 1000;
        assert_int_equal(graph_tick(a, now), WEFT_OK);
        assert_int_equal(graph_tick(b, now), WEFT_OK);
        same_final_events(a, b);
        same_state(a, b, g, excused);
    }
    for (uint32_t i = g->T; b && i < g->n; i++) {
        graph_status sa = graph_block_status(a, &g->b[i].id, NULL);
        if (excused[i])
            st->excused++;
        else if (sa != GRAPH_UNKNOWN)
            st->compared++;
        if (!excused[i] && sa == GRAPH_PENDING)
            st->pending_end++;
    }
    st->dags++;
    graph_free(a);
    graph_free(b);
}

static void test_restart_prop(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    const char *env = getenv("WEFT_GRAPH_RESTART_DAGS");
    long ndags = env && *env ? strtol(env, NULL, 10) : 1000;
    test_rng r;
    test_rng_init(&r, seed);
    rdag *g = malloc(sizeof *g);
    assert_non_null(g);
    rstats st = {0};
    for (long i = 0; i < ndags; i++) {
        gen(g, &r);
        run_restart(g, &r, &st);
    }
    free(g);
    print_message("%llu DAGs restarted: %llu final blocks given (%llu frontiers without genesis), "
                  "%llu blocks fed back, %llu inputs compared after restart, %llu final after "
                  "restart; at the end %llu blocks agree exactly (%llu pending), %llu excused\n",
                  (unsigned long long)st.dags, (unsigned long long)st.finals_given,
                  (unsigned long long)st.pruned_frontiers, (unsigned long long)st.fed,
                  (unsigned long long)st.inputs, (unsigned long long)st.final_after,
                  (unsigned long long)st.compared, (unsigned long long)st.pending_end,
                  (unsigned long long)st.excused);
    if (ndags >= 200) /* the generator exercises what the test claims */
        assert_true(st.pruned_frontiers > 0 && st.fed > 0 && st.final_after > 0);
}

/* ---- direct tests ---------------------------------------------------------------------------- */

static block_id_t named(const char *s)
{
    block_id_t id;
    memset(&id, 0, sizeof id);
    size_t n = strlen(s);
    memcpy(id.h.b, s, n < 32 ? n : 32);
    return id;
}

typedef struct mini {
    const char *name;
    slot_t slot;
    const char *par[2];
} mini;

/* T = 2, Δf0 = 1: a1 b1 a2 b2 a3 on one chain; a1, b1, a2 final after a3. */
static const mini chain[] = {
    {"a1", {1, 0}, {"g0", "g1"}}, {"b1", {1, 1}, {"a1", "g1"}}, {"a2", {2, 0}, {"a1", "b1"}},
    {"b2", {2, 1}, {"a2", "b1"}}, {"a3", {3, 0}, {"a2", "b2"}},
};

static const mini *mini_find(const char *name)
{
    for (size_t i = 0; i < WEFT_ARRAY_LEN(chain); i++)
        if (strcmp(chain[i].name, name) == 0)
            return &chain[i];
    return NULL;
}

static graph_final_block mini_final(const char *name)
{
    graph_final_block f;
    memset(&f, 0, sizeof f);
    f.id = named(name);
    f.fitness = 1;
    const mini *m = mini_find(name);
    if (!m) { /* g0, g1 */
        f.slot = (slot_t){0, (uint8_t)(name[1] - '0')};
        return f;
    }
    f.slot = m->slot;
    f.parent_count = 2;
    for (int t = 0; t < 2; t++) {
        f.parents[t] = named(m->par[t]);
        const mini *p = mini_find(m->par[t]);
        f.parent_periods[t] = p ? p->slot.period : 0;
    }
    return f;
}

static void add_mini(graph *g, const char *name, slot_t slot, const char *p0, const char *p1)
{
    block_id_t par[2] = {named(p0), named(p1)};
    graph_block b = {
        .id = named(name), .slot = slot, .fitness = 1, .parent_count = 2, .parents = par};
    assert_int_equal(graph_add(g, &b, NULL, GRAPH_FORCE), WEFT_OK);
}

static graph_status st_of(graph *g, const char *name, weft_err *why)
{
    return graph_block_status(g, &(block_id_t){named(name).h}, why);
}

static void test_old_final_parent(void **state)
{
    (void)state;
    graph_config cfg;
    graph_config_init(&cfg, 2, 1);
    cfg.final_keep_periods = GRAPH_KEEP_ALL;
    block_id_t gen_ids[2] = {named("g0"), named("g1")};
    graph *a;
    assert_int_equal(graph_new(&a, &cfg, gen_ids), WEFT_OK);
    for (size_t i = 0; i < WEFT_ARRAY_LEN(chain); i++)
        add_mini(a, chain[i].name, chain[i].slot, chain[i].par[0], chain[i].par[1]);
    assert_int_equal(st_of(a, "a1", NULL), GRAPH_FINAL);
    assert_int_equal(st_of(a, "b1", NULL), GRAPH_FINAL);
    assert_int_equal(st_of(a, "a2", NULL), GRAPH_FINAL);
    assert_int_equal(st_of(a, "b2", NULL), GRAPH_PENDING);
    assert_int_equal(st_of(a, "a3", NULL), GRAPH_PENDING);

    /* B knows every final block A knows, A's pending ones given again */
    const char *fin[] = {"a2", "g1", "a1", "g0", "b1"};
    graph_final_block fv[5];
    for (int i = 0; i < 5; i++)
        fv[i] = mini_final(fin[i]);
    graph *b;
    assert_int_equal(graph_new_from(&b, &cfg, fv, 5), WEFT_OK);
    graph_check(b);
    assert_int_equal(graph_count(b, GRAPH_FINAL), 5);
    add_mini(b, "b2", (slot_t){2, 1}, "a2", "b1");
    add_mini(b, "a3", (slot_t){3, 0}, "a2", "b2");
    /* C names a1, final but below the head a2 of thread 0, next to the head b1 of thread 1 */
    add_mini(a, "c", (slot_t){3, 1}, "a1", "b1");
    add_mini(b, "c", (slot_t){3, 1}, "a1", "b1");
    weft_err wa, wb;
    assert_int_equal(st_of(a, "c", &wa), GRAPH_PENDING);
    assert_int_equal(st_of(b, "c", &wb), GRAPH_PENDING);
    block_id_t c = named("c"), b2 = named("b2");
    assert_true(graph_incompatible(a, &c, &b2) && graph_incompatible(b, &c, &b2));
    same_cliques(a, b);
    assert_int_equal(graph_clique_count(b), 2);

    /* from the heads alone, C waits for a1, which the restarted node must then ask for */
    graph_final_block heads[2] = {mini_final("a2"), mini_final("b1")};
    graph *h;
    assert_int_equal(graph_new_from(&h, &cfg, heads, 2), WEFT_OK);
    add_mini(h, "b2", (slot_t){2, 1}, "a2", "b1");
    add_mini(h, "a3", (slot_t){3, 0}, "a2", "b2");
    add_mini(h, "c", (slot_t){3, 1}, "a1", "b1");
    assert_int_equal(st_of(h, "c", NULL), GRAPH_WAITING_PARENTS);
    assert_int_equal(graph_missing(h, NULL, 0), 1);
    graph_check(h);
    graph_free(h);
    graph_free(a);
    graph_free(b);
}

static weft_err try_from(const graph_config *cfg, const graph_final_block *fv, size_t n)
{
    graph *g = NULL;
    weft_err err = graph_new_from(&g, cfg, fv, n);
    if (err == WEFT_OK) {
        graph_check(g);
        graph_free(g);
    } else {
        assert_null(g);
    }
    return err;
}

static void test_new_from_errors(void **state)
{
    (void)state;
    graph_config cfg;
    graph_config_init(&cfg, 2, 1);
    graph_final_block v[6];
    /* valid: the heads only; the heads and an older chain; genesis and its successors */
    v[0] = mini_final("a2");
    v[1] = mini_final("b1");
    assert_int_equal(try_from(&cfg, v, 2), WEFT_OK);
    v[2] = mini_final("a1");
    assert_int_equal(try_from(&cfg, v, 3), WEFT_OK);
    v[3] = mini_final("g0");
    v[4] = mini_final("g1");
    assert_int_equal(try_from(&cfg, v, 5), WEFT_OK);
    graph *g;
    assert_int_equal(graph_new_from(&g, &cfg, v, 5), WEFT_OK);
    block_id_t bp[2];
    graph_best_parents(g, bp);
    assert_true(block_id_eq(&bp[0], &(block_id_t){named("a2").h}));
    assert_true(block_id_eq(&bp[1], &(block_id_t){named("b1").h}));
    slot_t ls;
    graph_latest_final(g, 0, NULL, &ls);
    assert_int_equal(ls.period, 2);
    graph_free(g);

    /* a thread without a final block */
    v[0] = mini_final("a2");
    v[1] = mini_final("a1");
    assert_int_equal(try_from(&cfg, v, 2), WEFT_E_GRAPH_CONFIG);
    assert_int_equal(try_from(&cfg, v, 1), WEFT_E_GRAPH_CONFIG);
    /* a duplicate id */
    v[0] = mini_final("a2");
    v[1] = mini_final("b1");
    v[2] = mini_final("b1");
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    v[2] = mini_final("a2");
    v[2].slot.thread = 1; /* the same id at another slot */
    v[2].slot.period = 3;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    /* two final blocks of one slot */
    v[2] = mini_final("b1");
    v[2].id = named("b1'");
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    /* a parent count other than 0 and T; 0 after period 0 */
    v[2] = mini_final("a1");
    v[2].parent_count = 1;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    v[2].parent_count = 0;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    /* a gap: a2's parent a1 missing between g0 and a2 */
    v[2] = mini_final("g0");
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    /* an own-thread parent that is the previous block by id but not by period */
    v[2] = mini_final("a1");
    v[0].parent_periods[0] = 0;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    v[0] = mini_final("a2");
    /* a slot thread >= T, a fitness out of range */
    v[2].slot.thread = 2;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    v[2] = mini_final("a1");
    v[2].fitness = GRAPH_MAX_FITNESS + 1;
    assert_int_equal(try_from(&cfg, v, 3), WEFT_E_GRAPH_CONFIG);
    v[2] = mini_final("a1");
    /* a parent slot not before the block's; a parent after the head of its thread */
    v[1].parent_periods[0] = 1;
    v[1].parents[0] = named("a1");
    assert_int_equal(try_from(&cfg, v, 3), WEFT_OK); /* b1 (1,1) names a1 (1,0): fine */
    v[1].slot.thread = 0;
    v[1].slot.period = 5;
    v[1].parent_periods[0] = 5; /* (5,0) names (5,0) */
    assert_int_equal(try_from(&cfg, v, 2), WEFT_E_GRAPH_CONFIG);
    v[1] = mini_final("b1");
    v[0].parent_periods[1] = 2; /* a2 names b1 as if at period 2 (after the head of thread 1, 1) */
    v[0].slot.period = 3;
    v[0].parents[0] = named("x");
    assert_int_equal(try_from(&cfg, v, 2), WEFT_E_GRAPH_CONFIG);
    /* configuration errors */
    v[0] = mini_final("a2");
    graph_config bad = cfg;
    bad.thread_count = 0;
    assert_int_equal(try_from(&bad, v, 2), WEFT_E_GRAPH_CONFIG);
    bad = cfg;
    bad.max_blocks_per_slot = 0;
    assert_int_equal(try_from(&bad, v, 2), WEFT_E_GRAPH_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_from_errors),
        cmocka_unit_test(test_old_final_parent),
        cmocka_unit_test(test_restart_prop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
