/* Unit tests of src/graph: one scenario per rule of
 * spec/blockclique.md (each verdict and its reason, both incompatibilities, stale, finality and its
 * strict threshold, the id-sum tie-break, best parents, waiting and its (slot, id) order, future
 * blocks); one test per bound (blocks per slot, future queue, waiting queue, discarded records,
 * pruning of final blocks, stale-on-arrival); the outputs (final in slot order, blockclique change,
 * missing parents); the API's named errors; and `weft graph replay`'s error reporting and output
 * format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "graph/graph.h"
#include "testutil.h"

/* ---- a small world of named blocks ---------------------------------------------------------- */

static block_id_t bid(const char *name)
{
    block_id_t id;
    crypto_blake3(id.h.b, name, strlen(name));
    return id;
}

typedef struct world {
    graph *g;
    uint32_t T;
} world;

/* Spec mode: everything unbounded, no stale-on-arrival (as `weft graph replay`). */
static void spec_config(graph_config *c, uint32_t T, uint64_t d0)
{
    graph_config_init(c, T, d0);
    c->max_future = c->max_waiting = c->max_discarded = GRAPH_UNBOUNDED;
    c->final_keep_periods = GRAPH_KEEP_ALL;
    c->stale_old_on_arrival = false;
}

static void w_open(world *w, const graph_config *cfg)
{
    block_id_t gen[MODEL_MAX_THREADS];
    char name[16];
    for (uint32_t i = 0; i < cfg->thread_count; i++) {
        snprintf(name, sizeof name, "g%u", i);
        gen[i] = bid(name);
    }
    w->T = cfg->thread_count;
    assert_int_equal(graph_new(&w->g, cfg, gen), WEFT_OK);
}

static void w_spec(world *w, uint32_t T, uint64_t d0)
{
    graph_config c;
    spec_config(&c, T, d0);
    w_open(w, &c);
}

static void w_close(world *w)
{
    graph_check(w->g);
    graph_free(w->g);
    w->g = NULL;
}

/* Adds block `name` at (period, thread) with fitness and space-separated parent names; returns the
 * graph_add result.  Outputs are cleared first, so the caller sees this input's outputs. */
static weft_err add_full(world *w, const char *name, uint64_t period, uint32_t thread,
                         uint64_t fitness, const char *parents, const slot_t *now, unsigned flags)
{
    block_id_t par[GRAPH_MAX_PARENTS];
    uint32_t np = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", parents);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        par[np++] = bid(tok);
    graph_block b = {.id = bid(name),
                     .slot = {.period = period, .thread = (uint8_t)thread},
                     .fitness = fitness,
                     .parent_count = np,
                     .parents = par};
    graph_outputs_clear(w->g);
    return graph_add(w->g, &b, now, flags);
}

static void add(world *w, const char *name, uint64_t period, uint32_t thread, const char *parents)
{
    assert_int_equal(add_full(w, name, period, thread, 1, parents, NULL, GRAPH_FORCE), WEFT_OK);
    graph_check(w->g);
}

static void addf(world *w, const char *name, uint64_t period, uint32_t thread, uint64_t fit,
                 const char *parents)
{
    assert_int_equal(add_full(w, name, period, thread, fit, parents, NULL, GRAPH_FORCE), WEFT_OK);
    graph_check(w->g);
}

static graph_status st(world *w, const char *name, weft_err *why)
{
    block_id_t id = bid(name);
    return graph_block_status(w->g, &id, why);
}

#define ASSERT_ST(w, name, status)                                                                 \
    do {                                                                                           \
        graph_status s_ = st(w, name, NULL);                                                       \
        if (s_ != (status))                                                                        \
            fail_msg("%s is %s, expected %s", name, graph_status_name(s_),                         \
                     graph_status_name(status));                                                   \
    } while (0)
#define ASSERT_VERDICT(w, name, status, reason)                                                    \
    do {                                                                                           \
        weft_err why_;                                                                             \
        graph_status s_ = st(w, name, &why_);                                                      \
        if (s_ != (status) || why_ != (reason))                                                    \
            fail_msg("%s is %s (%s), expected %s (%s)", name, graph_status_name(s_),               \
                     weft_err_name(why_), graph_status_name(status), weft_err_name(reason));       \
    } while (0)

static bool id_in(const block_id_t *v, size_t n, const char *name)
{
    block_id_t id = bid(name);
    for (size_t i = 0; i < n; i++)
        if (block_id_eq(&v[i], &id))
            return true;
    return false;
}

static bool ev_in(const graph_event *v, size_t n, const char *name, weft_err reason)
{
    block_id_t id = bid(name);
    for (size_t i = 0; i < n; i++)
        if (block_id_eq(&v[i].id, &id) && v[i].reason == reason)
            return true;
    return false;
}

/* Whether clique i holds exactly the named blocks (space-separated). */
static bool clique_is(world *w, size_t i, const char *names)
{
    block_id_t ids[256];
    size_t n = graph_clique_blocks(w->g, i, ids, 256);
    size_t k = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", names);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (!id_in(ids, n, tok))
            return false;
        k++;
    }
    return k == n;
}

static bool best_is(world *w, const char *names)
{
    block_id_t ids[MODEL_MAX_THREADS];
    graph_best_parents(w->g, ids);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", names);
    uint32_t t = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        block_id_t id = bid(tok);
        if (t >= w->T || !block_id_eq(&ids[t], &id))
            return false;
        t++;
    }
    return t == w->T;
}

/* A two-thread chain a1 (1,0), a2 (1,1), a3 (2,0), a4 (2,1), ... each block on the previous two. */
static void chain(world *w, const char *prefix, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char name[32], p0[32], p1[32], parents[80];
        uint32_t thread = (uint32_t)((i - 1) % 2);
        uint64_t period = (uint64_t)(i + 1) / 2;
        /* latest thread-0 and thread-1 blocks before this one */
        int l0 = thread == 0 ? i - 2 : i - 1, l1 = thread == 1 ? i - 2 : i - 1;
        if (l0 >= 1)
            snprintf(p0, sizeof p0, "%s%d", prefix, l0);
        else
            snprintf(p0, sizeof p0, "g0");
        if (l1 >= 1)
            snprintf(p1, sizeof p1, "%s%d", prefix, l1);
        else
            snprintf(p1, sizeof p1, "g1");
        snprintf(name, sizeof name, "%s%d", prefix, i);
        snprintf(parents, sizeof parents, "%s %s", p0, p1);
        add(w, name, period, thread, parents);
    }
}

/* ---- rules ---------------------------------------------------------------------------------- */

static void test_rule1_structure(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 4);
    add(&w, "one_parent", 1, 0, "g0");
    ASSERT_VERDICT(&w, "one_parent", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    add(&w, "no_parent", 1, 0, "");
    ASSERT_VERDICT(&w, "no_parent", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    add(&w, "three_parents", 1, 0, "g0 g1 g1");
    ASSERT_VERDICT(&w, "three_parents", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    add(&w, "swapped", 1, 0, "g1 g0");
    ASSERT_VERDICT(&w, "swapped", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    add(&w, "not_after", 0, 1, "g0 g1"); /* parent g1 is at (0,1) itself */
    ASSERT_VERDICT(&w, "not_after", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    add(&w, "bad_thread", 1, 2, "g0 g1");
    ASSERT_VERDICT(&w, "bad_thread", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    assert_true(ev_in(graph_get_outputs(w.g)->invalid, graph_get_outputs(w.g)->n_invalid,
                      "bad_thread", WEFT_E_GRAPH_STRUCTURE));
    add(&w, "ok", 1, 0, "g0 g1");
    ASSERT_ST(&w, "ok", GRAPH_PENDING);
    /* a parent of a later slot */
    add(&w, "late", 2, 1, "g0 g1");
    add(&w, "early", 2, 0, "g0 late");
    ASSERT_VERDICT(&w, "early", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    w_close(&w);
}

static void test_rule2_bad_parents(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 2);
    add(&w, "bad", 1, 0, "g0");
    add(&w, "child_of_bad", 2, 0, "bad g1");
    ASSERT_VERDICT(&w, "child_of_bad", GRAPH_INVALID, WEFT_E_GRAPH_PARENT_INVALID);
    /* a stale parent: x loses to a heavier fork, then its child arrives */
    add(&w, "x", 1, 0, "g0 g1");
    addf(&w, "y", 2, 0, 5, "g0 g1");
    ASSERT_VERDICT(&w, "x", GRAPH_STALE, WEFT_E_GRAPH_LOW_FITNESS);
    add(&w, "child_of_stale", 2, 1, "x g1");
    ASSERT_VERDICT(&w, "child_of_stale", GRAPH_STALE, WEFT_E_GRAPH_PARENT_STALE);
    /* invalid wins over stale when both apply */
    add(&w, "both", 3, 1, "bad child_of_stale");
    ASSERT_VERDICT(&w, "both", GRAPH_INVALID, WEFT_E_GRAPH_PARENT_INVALID);
    w_close(&w);
}

static void test_rule3_old_period(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 2);
    chain(&w, "a", 1, 4); /* a1's descendants a2..a4 weigh 3 > 2: a1 final */
    ASSERT_ST(&w, "a1", GRAPH_FINAL);
    slot_t s;
    graph_latest_final(w.g, 0, NULL, &s);
    assert_int_equal(s.period, 1);
    add(&w, "old", 1, 0, "g0 g1");
    ASSERT_VERDICT(&w, "old", GRAPH_STALE, WEFT_E_GRAPH_OLD_PERIOD);
    w_close(&w);
}

static void test_rule4_parents_conflict(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "x", 1, 0, "g0 g1");
    add(&w, "y", 2, 0, "g0 g1"); /* same thread, same parent: incompatible with x */
    add(&w, "u", 2, 1, "x g1");  /* inherits: incompatible with y */
    block_id_t u = bid("u"), y = bid("y");
    assert_true(graph_incompatible(w.g, &u, &y));
    add(&w, "w", 3, 0, "y u");
    ASSERT_VERDICT(&w, "w", GRAPH_INVALID, WEFT_E_GRAPH_PARENTS_CONFLICT);
    w_close(&w);
}

static void test_rule5_inconsistent(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "a", 1, 0, "g0 g1");
    add(&w, "b", 1, 1, "a g1");
    /* b's parent in thread 0 is a, which is not g0 nor an ancestor of g0 */
    add(&w, "c", 2, 0, "g0 b");
    ASSERT_VERDICT(&w, "c", GRAPH_INVALID, WEFT_E_GRAPH_INCONSISTENT);
    add(&w, "d", 2, 0, "a b");
    ASSERT_ST(&w, "d", GRAPH_PENDING);
    w_close(&w);
}

static void test_rule6_thread_incompatibility(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "x", 1, 0, "g0 g1");
    add(&w, "y", 2, 0, "g0 g1");
    block_id_t x = bid("x"), y = bid("y");
    assert_true(graph_incompatible(w.g, &x, &y));
    assert_true(graph_incompatible(w.g, &y, &x));
    assert_int_equal(graph_clique_count(w.g), 2);
    /* equal fitness: the clique with the smaller id (as a big-endian integer) is the blockclique */
    const char *first = memcmp(x.h.b, y.h.b, 32) < 0 ? "x" : "y";
    assert_true(clique_is(&w, 0, first));
    assert_true(best_is(&w, first[0] == 'x' ? "x g1" : "y g1"));
    /* descendants inherit: a child of x is incompatible with y too, and fitness now decides */
    add(&w, "x2", 2, 1, "x g1");
    block_id_t x2 = bid("x2");
    assert_true(graph_incompatible(w.g, &x2, &y));
    assert_true(clique_is(&w, 0, "x x2"));
    assert_int_equal(graph_clique_fitness(w.g, 0), 2);
    assert_true(clique_is(&w, 1, "y"));
    assert_true(best_is(&w, "x x2"));
    w_close(&w);
}

static void test_rule6_grandpa(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 32);
    add(&w, "b1", 1, 0, "g0 g1");
    add(&w, "b2", 1, 1, "g0 g1");
    block_id_t b1 = bid("b1"), b2 = bid("b2"), b3 = bid("b3"), b4 = bid("b4");
    /* different threads, same parents: compatible (the grandpa rule is strict) */
    assert_false(graph_incompatible(w.g, &b1, &b2));
    add(&w, "b3", 2, 0, "b1 g1");
    add(&w, "b4", 2, 1, "g0 b2");
    assert_true(graph_incompatible(w.g, &b3, &b4));
    assert_int_equal(graph_clique_count(w.g), 2);
    assert_int_equal(graph_clique_total(w.g), 2);
    assert_true(clique_is(&w, 0, "b1 b2 b4") || clique_is(&w, 0, "b1 b2 b3"));
    w_close(&w);
}

static void test_rule6_final_conflicts(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 2);
    /* thread: g0 is final but no longer the latest final block of thread 0 */
    chain(&w, "a", 1, 4);
    ASSERT_ST(&w, "a1", GRAPH_FINAL);
    add(&w, "late_fork", 3, 0, "g0 g1");
    ASSERT_VERDICT(&w, "late_fork", GRAPH_STALE, WEFT_E_GRAPH_FINAL_CONFLICT);
    w_close(&w);

    /* grandpa: B names g0 in thread 0, whose final grandchild a3 names g1 in thread 1, a strict
     * ancestor of B's parent c1 (still pending) */
    w_spec(&w, 2, 2);
    add(&w, "a1", 1, 0, "g0 g1");
    add(&w, "c1", 1, 1, "g0 g1");
    add(&w, "a3", 2, 0, "a1 g1");
    add(&w, "a5", 3, 0, "a3 g1");
    add(&w, "a7", 4, 0, "a5 g1");
    add(&w, "a9", 5, 0, "a7 g1");
    ASSERT_ST(&w, "a3", GRAPH_FINAL);
    ASSERT_ST(&w, "c1", GRAPH_PENDING);
    add(&w, "B", 6, 1, "g0 c1");
    ASSERT_VERDICT(&w, "B", GRAPH_STALE, WEFT_E_GRAPH_FINAL_CONFLICT);
    add(&w, "B2", 6, 1, "a9 c1"); /* on the final chain: fine */
    ASSERT_ST(&w, "B2", GRAPH_PENDING);
    w_close(&w);
}

static void test_stale_low_fitness(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 2);
    add(&w, "y", 2, 0, "g0 g1"); /* the fork that will lose */
    chain(&w, "a", 1, 3);        /* a1 and y: same parent in thread 0 */
    ASSERT_ST(&w, "y", GRAPH_PENDING);
    /* cliques {y} (1) and {a1 a2 a3} (3): 3 - 1 = 2 <= Δf0, both kept */
    assert_int_equal(graph_clique_count(w.g), 2);
    chain(&w, "a", 4, 4); /* {a1..a4} = 4: y is stale, then a1 final */
    ASSERT_VERDICT(&w, "y", GRAPH_STALE, WEFT_E_GRAPH_LOW_FITNESS);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_true(ev_in(o->stale, o->n_stale, "y", WEFT_E_GRAPH_LOW_FITNESS));
    assert_int_equal(graph_clique_count(w.g), 1);
    add(&w, "y_child", 3, 1, "y a2");
    ASSERT_VERDICT(&w, "y_child", GRAPH_STALE, WEFT_E_GRAPH_PARENT_STALE);
    w_close(&w);
}

static void test_finality_threshold(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 2);
    chain(&w, "a", 1, 3); /* a1's descendants weigh 2: not more than Δf0 */
    ASSERT_ST(&w, "a1", GRAPH_PENDING);
    chain(&w, "a", 4, 4);
    ASSERT_ST(&w, "a1", GRAPH_FINAL);
    ASSERT_ST(&w, "a2", GRAPH_PENDING);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_int_equal(o->n_final, 1);
    assert_true(ev_in(o->final, o->n_final, "a1", WEFT_OK));
    block_id_t id;
    graph_latest_final(w.g, 0, &id, NULL);
    block_id_t a1 = bid("a1");
    assert_true(block_id_eq(&id, &a1));
    assert_true(best_is(&w, "a3 a4"));
    /* fitness counts, not blocks: one heavy descendant finalizes several ancestors at once */
    w_close(&w);
    w_spec(&w, 2, 2);
    chain(&w, "a", 1, 3);
    addf(&w, "heavy", 2, 1, 3, "a3 a2");
    o = graph_get_outputs(w.g);
    /* a1 (desc a2 a3 heavy = 5), a2 (a3 heavy = 4), a3 (heavy = 3) */
    assert_int_equal(o->n_final, 3);
    /* in slot order */
    block_id_t want[3] = {bid("a1"), bid("a2"), bid("a3")};
    for (int i = 0; i < 3; i++)
        assert_true(block_id_eq(&o->final[i].id, &want[i]));
    assert_true(best_is(&w, "a3 heavy"));
    w_close(&w);
}

static void test_blockclique_tiebreak_and_change(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 100);
    add(&w, "x", 1, 0, "g0 g1");
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_true(o->blockclique_changed);
    assert_int_equal(o->n_bc_added, 1);
    assert_true(id_in(o->bc_added, o->n_bc_added, "x"));
    /* find a name whose id is larger than x's: equal fitness then keeps x in the blockclique */
    block_id_t x = bid("x");
    char name[32] = "", smaller[32] = "";
    for (int i = 0; !name[0] || !smaller[0]; i++) {
        char n[32];
        snprintf(n, sizeof n, "y%d", i);
        block_id_t y = bid(n);
        if (memcmp(y.h.b, x.h.b, 32) > 0 && !name[0])
            snprintf(name, sizeof name, "%s", n);
        if (memcmp(y.h.b, x.h.b, 32) < 0 && !smaller[0])
            snprintf(smaller, sizeof smaller, "%s", n);
    }
    add(&w, name, 2, 0, "g0 g1");
    o = graph_get_outputs(w.g);
    assert_false(o->blockclique_changed);
    assert_true(clique_is(&w, 0, "x"));
    /* a smaller id at equal fitness takes over: x leaves, it enters */
    add(&w, smaller, 3, 0, "g0 g1");
    o = graph_get_outputs(w.g);
    assert_true(o->blockclique_changed);
    assert_true(id_in(o->bc_added, o->n_bc_added, smaller));
    assert_true(id_in(o->bc_removed, o->n_bc_removed, "x"));
    assert_true(clique_is(&w, 0, smaller));
    assert_int_equal(graph_clique_count(w.g), 3);
    w_close(&w);
}

static void test_waiting_for_parents(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "c", 2, 0, "a b");
    ASSERT_ST(&w, "c", GRAPH_WAITING_PARENTS);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_int_equal(o->n_missing, 2);
    assert_true(id_in(o->missing, o->n_missing, "a") && id_in(o->missing, o->n_missing, "b"));
    ASSERT_ST(&w, "a", GRAPH_UNKNOWN);
    add(&w, "b", 1, 1, "a g1");
    ASSERT_ST(&w, "b", GRAPH_WAITING_PARENTS);
    assert_int_equal(graph_get_outputs(w.g)->n_missing, 0); /* a is already wanted */
    assert_int_equal(graph_missing(w.g, NULL, 0), 1);
    add(&w, "a", 1, 0, "g0 g1");
    o = graph_get_outputs(w.g);
    assert_int_equal(o->n_pending, 3);
    block_id_t order[3] = {bid("a"), bid("b"), bid("c")};
    for (int i = 0; i < 3; i++)
        assert_true(block_id_eq(&o->pending[i].id, &order[i]));
    assert_int_equal(graph_missing(w.g, NULL, 0), 0);
    assert_int_equal(graph_count(w.g, GRAPH_WAITING_PARENTS), 0);
    w_close(&w);
}

/* Blocks released together are processed in (slot, id) order, which decides between two
 * thread-incompatible blocks of one slot only by id. */
static void test_waiting_order_by_slot_then_id(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "late", 3, 0, "p g1");
    add(&w, "early", 2, 0, "p g1");
    add(&w, "twin1", 2, 1, "p g1");
    add(&w, "twin2", 2, 1, "p g1");
    add(&w, "p", 1, 0, "g0 g1");
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_int_equal(o->n_pending, 5);
    block_id_t t1 = bid("twin1"), t2 = bid("twin2");
    bool t1first = memcmp(t1.h.b, t2.h.b, 32) < 0;
    block_id_t order[5] = {bid("p"), bid("early"), t1first ? t1 : t2, t1first ? t2 : t1,
                           bid("late")};
    for (int i = 0; i < 5; i++)
        assert_true(block_id_eq(&o->pending[i].id, &order[i]));
    w_close(&w);
}

static void test_future_blocks(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    slot_t now = {0, 1};
    assert_int_equal(add_full(&w, "f", 1, 0, 1, "g0 g1", &now, 0), WEFT_OK);
    ASSERT_ST(&w, "f", GRAPH_WAITING_SLOT);
    assert_int_equal(add_full(&w, "f_child", 1, 1, 1, "f g1", &now, 0), WEFT_OK);
    ASSERT_ST(&w, "f_child", GRAPH_WAITING_SLOT);
    now.period = 1;
    now.thread = 0;
    graph_outputs_clear(w.g);
    assert_int_equal(graph_tick(w.g, now), WEFT_OK);
    ASSERT_ST(&w, "f", GRAPH_PENDING);
    ASSERT_ST(&w, "f_child", GRAPH_WAITING_SLOT);
    now.thread = 1;
    assert_int_equal(graph_tick(w.g, now), WEFT_OK);
    ASSERT_ST(&w, "f_child", GRAPH_PENDING);
    /* a block of the current slot is not from the future */
    assert_int_equal(add_full(&w, "now", 1, 1, 1, "g0 g1", &now, 0), WEFT_OK);
    ASSERT_ST(&w, "now", GRAPH_PENDING);
    w_close(&w);
}

/* ---- bounds --------------------------------------------------------------------------------- */

static void test_bound_blocks_per_slot(void **state)
{
    (void)state;
    world w;
    graph_config c;
    spec_config(&c, 2, 8);
    w_open(&w, &c);
    assert_int_equal(add_full(&w, "s1", 1, 0, 1, "g0 g1", NULL, 0), WEFT_OK);
    assert_int_equal(add_full(&w, "s2", 1, 0, 1, "x g1", NULL, 0), WEFT_OK);
    assert_int_equal(add_full(&w, "s3", 1, 0, 1, "g0 g1", NULL, 0), WEFT_E_GRAPH_SLOT_FULL);
    ASSERT_ST(&w, "s3", GRAPH_UNKNOWN);
    assert_int_equal(add_full(&w, "s3", 1, 0, 1, "g0 g1", NULL, GRAPH_FORCE), WEFT_OK);
    ASSERT_ST(&w, "s3", GRAPH_PENDING);
    /* another slot is unaffected */
    assert_int_equal(add_full(&w, "t1", 1, 1, 1, "g0 g1", NULL, 0), WEFT_OK);
    w_close(&w);
    c.max_blocks_per_slot = 1;
    w_open(&w, &c);
    assert_int_equal(add_full(&w, "s1", 1, 0, 1, "g0 g1", NULL, 0), WEFT_OK);
    assert_int_equal(add_full(&w, "s2", 1, 0, 1, "g0 g1", NULL, 0), WEFT_E_GRAPH_SLOT_FULL);
    w_close(&w);
}

static void test_bound_future_queue(void **state)
{
    (void)state;
    world w;
    graph_config c;
    spec_config(&c, 2, 8);
    c.max_future = 2;
    w_open(&w, &c);
    slot_t now = {0, 1};
    assert_int_equal(add_full(&w, "f1", 5, 0, 1, "g0 g1", &now, 0), WEFT_OK);
    assert_int_equal(add_full(&w, "f2", 6, 0, 1, "g0 g1", &now, 0), WEFT_OK);
    assert_int_equal(add_full(&w, "f3", 3, 0, 1, "g0 g1", &now, 0), WEFT_OK);
    ASSERT_ST(&w, "f1", GRAPH_UNKNOWN); /* the oldest arrival is dropped */
    ASSERT_ST(&w, "f2", GRAPH_WAITING_SLOT);
    ASSERT_ST(&w, "f3", GRAPH_WAITING_SLOT);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_int_equal(o->n_dropped, 1);
    assert_true(ev_in(o->dropped, o->n_dropped, "f1", WEFT_OK));
    assert_int_equal(graph_count(w.g, GRAPH_WAITING_SLOT), 2);
    /* a dropped block may be given again */
    now.period = 10;
    assert_int_equal(add_full(&w, "f1", 5, 0, 1, "g0 g1", &now, 0), WEFT_OK);
    ASSERT_ST(&w, "f1", GRAPH_PENDING);
    w_close(&w);
}

static void test_bound_waiting_queue(void **state)
{
    (void)state;
    world w;
    graph_config c;
    spec_config(&c, 2, 8);
    c.max_waiting = 2;
    w_open(&w, &c);
    add(&w, "w1", 2, 0, "m1 g1");
    add(&w, "w2", 2, 1, "g0 m2");
    assert_int_equal(graph_missing(w.g, NULL, 0), 2);
    add(&w, "w3", 3, 0, "m3 g1");
    ASSERT_ST(&w, "w1", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "w2", GRAPH_WAITING_PARENTS);
    ASSERT_ST(&w, "w3", GRAPH_WAITING_PARENTS);
    assert_true(
        ev_in(graph_get_outputs(w.g)->dropped, graph_get_outputs(w.g)->n_dropped, "w1", WEFT_OK));
    /* m1 was wanted only by w1: no longer wanted */
    block_id_t miss[8];
    size_t nm = graph_missing(w.g, miss, 8);
    assert_int_equal(nm, 2);
    assert_false(id_in(miss, nm, "m1"));
    w_close(&w);

    /* a dropped block that others wait for becomes a wanted parent again */
    c.max_waiting = 1;
    w_open(&w, &c);
    add(&w, "b", 1, 1, "a g1");
    add(&w, "c", 2, 0, "g0 b"); /* waits for b: b, the oldest, is dropped */
    ASSERT_ST(&w, "b", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "c", GRAPH_WAITING_PARENTS);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_true(id_in(o->missing, o->n_missing, "b"));
    nm = graph_missing(w.g, miss, 8);
    assert_int_equal(nm, 1);
    assert_true(id_in(miss, nm, "b"));
    add(&w, "b", 1, 1, "g0 g1");
    ASSERT_ST(&w, "b", GRAPH_PENDING);
    ASSERT_ST(&w, "c", GRAPH_PENDING);
    w_close(&w);

    /* zero: nothing may wait */
    c.max_waiting = 0;
    w_open(&w, &c);
    add(&w, "w", 2, 0, "m g1");
    ASSERT_ST(&w, "w", GRAPH_UNKNOWN);
    assert_int_equal(graph_missing(w.g, NULL, 0), 0);
    w_close(&w);
}

static void test_bound_discarded(void **state)
{
    (void)state;
    world w;
    graph_config c;
    spec_config(&c, 2, 8);
    c.max_discarded = 2;
    w_open(&w, &c);
    add(&w, "i1", 1, 0, "g0");
    add(&w, "i2", 1, 0, "g1");
    ASSERT_ST(&w, "i1", GRAPH_INVALID);
    add(&w, "i3", 1, 1, "g0");
    ASSERT_ST(&w, "i1", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "i2", GRAPH_INVALID);
    ASSERT_ST(&w, "i3", GRAPH_INVALID);
    assert_int_equal(graph_count(w.g, GRAPH_INVALID), 2);
    w_close(&w);

    /* a waiting block whose decided parent is forgotten waits for it again */
    c.max_discarded = 1;
    w_open(&w, &c);
    add(&w, "d", 1, 1, "g0");        /* invalid */
    add(&w, "w", 2, 0, "m d");       /* waits for m only: d is decided */
    add(&w, "other", 1, 1, "g1 g0"); /* invalid: d is forgotten */
    ASSERT_ST(&w, "d", GRAPH_UNKNOWN);
    add(&w, "m", 1, 0, "g0 g1");
    ASSERT_ST(&w, "w", GRAPH_WAITING_PARENTS);
    const graph_outputs *o = graph_get_outputs(w.g);
    assert_true(id_in(o->missing, o->n_missing, "d"));
    add(&w, "d", 1, 1, "g0");
    ASSERT_VERDICT(&w, "w", GRAPH_INVALID, WEFT_E_GRAPH_PARENT_INVALID);
    w_close(&w);
}

static void test_bound_prune_final(void **state)
{
    (void)state;
    world w;
    graph_config c;
    graph_config_init(&c, 2, 2);
    c.final_keep_periods = 0;
    w_open(&w, &c);
    chain(&w, "a", 1, 40); /* periods 1..20 */
    slot_t s0, s1;
    graph_latest_final(w.g, 0, NULL, &s0);
    graph_latest_final(w.g, 1, NULL, &s1);
    assert_true(s0.period >= 18 && s1.period >= 17);
    /* only the final blocks that a new block may still name are left */
    size_t nfinal = graph_count(w.g, GRAPH_FINAL);
    assert_true(nfinal <= 6);
    ASSERT_ST(&w, "g0", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "a1", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "a30", GRAPH_UNKNOWN);
    ASSERT_ST(&w, "a35", GRAPH_FINAL);
    ASSERT_ST(&w, "a34", GRAPH_FINAL);
    /* the best parents still resolve and the chain goes on */
    chain(&w, "a", 41, 44);
    ASSERT_ST(&w, "a44", GRAPH_PENDING);
    /* a block naming a pruned block in an old period: stale on arrival, nothing requested */
    assert_int_equal(add_full(&w, "old", 2, 0, 1, "a1 a2", NULL, GRAPH_FORCE), WEFT_OK);
    ASSERT_VERDICT(&w, "old", GRAPH_STALE, WEFT_E_GRAPH_OLD_PERIOD);
    assert_int_equal(graph_get_outputs(w.g)->n_missing, 0);
    w_close(&w);

    /* keep margin: final_keep_periods more periods stay */
    c.final_keep_periods = 5;
    w_open(&w, &c);
    chain(&w, "a", 1, 40);
    size_t nkeep = graph_count(w.g, GRAPH_FINAL);
    assert_true(nkeep >= nfinal + 10 && nkeep <= nfinal + 12);
    w_close(&w);

    /* never: everything stays */
    c.final_keep_periods = GRAPH_KEEP_ALL;
    w_open(&w, &c);
    chain(&w, "a", 1, 40);
    ASSERT_ST(&w, "g0", GRAPH_FINAL);
    ASSERT_ST(&w, "a1", GRAPH_FINAL);
    w_close(&w);
}

static void test_stale_on_arrival_mode(void **state)
{
    (void)state;
    world w;
    graph_config c;
    spec_config(&c, 2, 2);
    w_open(&w, &c);
    chain(&w, "a", 1, 4);
    /* spec mode: an old block with an unknown parent waits */
    add(&w, "old", 1, 0, "unknown g1");
    ASSERT_ST(&w, "old", GRAPH_WAITING_PARENTS);
    w_close(&w);
    c.stale_old_on_arrival = true;
    w_open(&w, &c);
    chain(&w, "a", 1, 4);
    add(&w, "old", 1, 0, "unknown g1");
    ASSERT_VERDICT(&w, "old", GRAPH_STALE, WEFT_E_GRAPH_OLD_PERIOD);
    assert_int_equal(graph_missing(w.g, NULL, 0), 0);
    w_close(&w);
}

/* ---- API errors ----------------------------------------------------------------------------- */

static void test_api_errors(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 8);
    add(&w, "x", 1, 0, "g0 g1");
    assert_int_equal(add_full(&w, "x", 1, 0, 1, "g0 g1", NULL, GRAPH_FORCE),
                     WEFT_E_GRAPH_DUPLICATE);
    assert_int_equal(add_full(&w, "g0", 1, 0, 1, "g0 g1", NULL, GRAPH_FORCE),
                     WEFT_E_GRAPH_DUPLICATE);
    assert_int_equal(add_full(&w, "heavy", 1, 1, GRAPH_MAX_FITNESS + 1, "g0 g1", NULL, GRAPH_FORCE),
                     WEFT_E_GRAPH_FITNESS);
    ASSERT_ST(&w, "heavy", GRAPH_UNKNOWN);
    block_id_t many[GRAPH_MAX_PARENTS + 1];
    for (size_t i = 0; i < WEFT_ARRAY_LEN(many); i++)
        many[i] = bid("g0");
    graph_block b = {.id = bid("many"),
                     .slot = {1, 1},
                     .fitness = 1,
                     .parent_count = GRAPH_MAX_PARENTS + 1,
                     .parents = many};
    assert_int_equal(graph_add(w.g, &b, NULL, GRAPH_FORCE), WEFT_E_GRAPH_PARENT_COUNT);
    b.parent_count = GRAPH_MAX_PARENTS;
    assert_int_equal(graph_add(w.g, &b, NULL, GRAPH_FORCE), WEFT_OK);
    ASSERT_VERDICT(&w, "many", GRAPH_INVALID, WEFT_E_GRAPH_STRUCTURE);
    w_close(&w);

    graph_config c;
    graph *g = NULL;
    block_id_t gen[MODEL_MAX_THREADS + 1];
    for (int i = 0; i <= MODEL_MAX_THREADS; i++) {
        char n[16];
        snprintf(n, sizeof n, "g%d", i);
        gen[i] = bid(n);
    }
    graph_config_init(&c, 0, 8);
    assert_int_equal(graph_new(&g, &c, gen), WEFT_E_GRAPH_CONFIG);
    graph_config_init(&c, MODEL_MAX_THREADS + 1, 8);
    assert_int_equal(graph_new(&g, &c, gen), WEFT_E_GRAPH_CONFIG);
    graph_config_init(&c, 2, 8);
    c.max_blocks_per_slot = 0;
    assert_int_equal(graph_new(&g, &c, gen), WEFT_E_GRAPH_CONFIG);
    graph_config_init(&c, 2, 8);
    gen[1] = gen[0];
    assert_int_equal(graph_new(&g, &c, gen), WEFT_E_GRAPH_CONFIG);
    assert_null(g);
    graph_config_init(&c, MODEL_MAX_THREADS, 8);
    gen[1] = bid("g1");
    assert_int_equal(graph_new(&g, &c, gen), WEFT_OK);
    assert_int_equal(graph_clique_count(g), 1);
    assert_int_equal(graph_clique_fitness(g, 0), 0);
    assert_int_equal(graph_clique_blocks(g, 0, NULL, 0), 0);
    assert_int_equal(graph_count(g, GRAPH_FINAL), MODEL_MAX_THREADS);
    graph_free(g);
    graph_free(NULL);
}

/* Many pending blocks: the bitsets grow past 64 and 128 indices. */
static void test_growth(void **state)
{
    (void)state;
    world w;
    w_spec(&w, 2, 1000);
    chain(&w, "a", 1, 300);
    assert_int_equal(graph_count(w.g, GRAPH_PENDING), 300);
    assert_int_equal(graph_clique_count(w.g), 1);
    assert_int_equal(graph_clique_fitness(w.g, 0), 300);
    add(&w, "fork", 150, 0, "a297 a298"); /* a299 is the thread-0 child of a297 */
    assert_int_equal(graph_clique_count(w.g), 2);
    w_close(&w);
}

/* ---- replay --------------------------------------------------------------------------------- */

static weft_err replay(const char *json, char **out, char *err, size_t errcap)
{
    return graph_replay(out, json, strlen(json), false, err, errcap);
}

static void test_replay_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        weft_err err;
    } bad[] = {
        {"", WEFT_E_JSON},
        {"{", WEFT_E_JSON},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": []} x", WEFT_E_JSON},
        {"{\"thread_count\": 2, \"thread_count\": 2, \"delta_f0\": 1, \"blocks\": []}",
         WEFT_E_JSON},
        {"[]", WEFT_E_GRAPH_SCENARIO},
        {"{\"delta_f0\": 1, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 0, \"delta_f0\": 1, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 65, \"delta_f0\": 1, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": \"2\", \"delta_f0\": 1, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": -1, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1.5, \"blocks\": []}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": {}}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [1]}", WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"slot\": [1, 0], \"parents\": "
         "[]}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": 5, \"slot\": [1, 0], "
         "\"parents\": []}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1], "
         "\"parents\": []}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, -1], "
         "\"parents\": []}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, 0]}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, 0], "
         "\"parents\": [\"g0\", 1]}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, 0], "
         "\"parents\": [\"g0\", \"g1\"], \"fitness\": -1}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, 0], "
         "\"parents\": [\"g0\", \"g1\"], \"fitness\": 4294967297}]}",
         WEFT_E_GRAPH_SCENARIO},
        {"{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", \"slot\": [1, 0], "
         "\"parents\": [\"g0\", \"g1\"], \"fitness\": true}]}",
         WEFT_E_GRAPH_SCENARIO},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        char *out = (char *)1, err[256];
        weft_err e = replay(bad[i].json, &out, err, sizeof err);
        if (e != bad[i].err)
            fail_msg("case %zu: got %s, want %s (%s)", i, weft_err_name(e),
                     weft_err_name(bad[i].err), err);
        assert_null(out);
        assert_true(strlen(err) > 0);
    }
    /* the message names the place */
    char *out, err[256];
    assert_int_equal(replay("{\"thread_count\": 2, \"delta_f0\": 1, \"blocks\": [{\"id\": \"b\", "
                            "\"slot\": [1, 0], \"parents\": [\"g0\", 7]}]}",
                            &out, err, sizeof err),
                     WEFT_E_GRAPH_SCENARIO);
    assert_non_null(strstr(err, "blocks[0].parents[1]"));
    /* a zero-sized error buffer is fine */
    assert_int_equal(graph_replay(&out, "{", 1, false, NULL, 0), WEFT_E_JSON);
}

static void test_replay_format(void **state)
{
    (void)state;
    char *out, err[256];
    /* no blocks: genesis only */
    assert_int_equal(
        replay("{\"thread_count\": 2, \"delta_f0\": 3, \"blocks\": []}", &out, err, sizeof err),
        WEFT_OK);
    assert_string_equal(out, "{\"best_parents\": [\"g0\", \"g1\"], \"cliques\": [{\"blocks\": [], "
                             "\"fitness\": 0, \"is_blockclique\": true}], \"final\": [\"g0\", "
                             "\"g1\"], \"invalid\": [], \"pending\": [], \"stale\": [], "
                             "\"waiting\": []}\n");
    free(out);
    /* ids escaped like Python's json.dumps (ASCII, lower-case \u, surrogate pairs), sorted by
     * bytes; a duplicate block changes nothing; thread beyond 255 is invalid, not malformed */
    const char *json = "{\"thread_count\": 1, \"delta_f0\": 3, \"blocks\": ["
                       "{\"id\": \"\\u00e9\\\"\\n\\u007f\\ud83d\\ude00/\", \"slot\": [1, 0], "
                       "\"parents\": [\"g0\"], "
                       "\"fitness\": 2},"
                       "{\"id\": \"B\", \"slot\": [1, 0], \"parents\": [\"g0\"], \"extra\": null},"
                       "{\"id\": \"B\", \"slot\": [1, 0], \"parents\": [\"g0\"]},"
                       "{\"id\": \"T\", \"slot\": [1, 300], \"parents\": [\"g0\"]},"
                       "{\"id\": \"W\", \"slot\": [2, 0], \"parents\": [\"nowhere\"]}]}";
    assert_int_equal(replay(json, &out, err, sizeof err), WEFT_OK);
    const char *want =
        "{\"best_parents\": [\"\\u00e9\\\"\\n\\u007f\\ud83d\\ude00/\"], \"cliques\": [{\"blocks\": "
        "[\"\\u00e9\\\"\\n\\u007f\\ud83d\\ude00/\"], \"fitness\": 2, \"is_blockclique\": true}, "
        "{\"blocks\": [\"B\"], \"fitness\": 1, \"is_blockclique\": false}], \"final\": [\"g0\"], "
        "\"invalid\": [\"T\"], \"pending\": [\"B\", \"\\u00e9\\\"\\n\\u007f\\ud83d\\ude00/\"], "
        "\"stale\": [], \"waiting\": [\"W\"]}\n";
    assert_string_equal(out, want);
    free(out);
    /* trace: one line per block, duplicates included */
    assert_int_equal(graph_replay(&out, json, strlen(json), true, err, sizeof err), WEFT_OK);
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 5);
    free(out);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule1_structure),
        cmocka_unit_test(test_rule2_bad_parents),
        cmocka_unit_test(test_rule3_old_period),
        cmocka_unit_test(test_rule4_parents_conflict),
        cmocka_unit_test(test_rule5_inconsistent),
        cmocka_unit_test(test_rule6_thread_incompatibility),
        cmocka_unit_test(test_rule6_grandpa),
        cmocka_unit_test(test_rule6_final_conflicts),
        cmocka_unit_test(test_stale_low_fitness),
        cmocka_unit_test(test_finality_threshold),
        cmocka_unit_test(test_blockclique_tiebreak_and_change),
        cmocka_unit_test(test_waiting_for_parents),
        cmocka_unit_test(test_waiting_order_by_slot_then_id),
        cmocka_unit_test(test_future_blocks),
        cmocka_unit_test(test_bound_blocks_per_slot),
        cmocka_unit_test(test_bound_future_queue),
        cmocka_unit_test(test_bound_waiting_queue),
        cmocka_unit_test(test_bound_discarded),
        cmocka_unit_test(test_bound_prune_final),
        cmocka_unit_test(test_stale_on_arrival_mode),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_replay_errors),
        cmocka_unit_test(test_replay_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
