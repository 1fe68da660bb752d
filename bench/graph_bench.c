/* graph_bench — the cost of one block insert into the block graph core at weft's parameters:
 * T = 32 threads, Δf0 = 1088, E = 16 (every block carries 16 endorsements: fitness 17).
 *
 * Each run produces blocks slot after slot, every block naming the graph's current best parents,
 * and gives them to graph_add with the current slot, the way the consensus actor will.  A
 * multistaked slot gets two blocks with the same parents (thread-incompatible twins: the graph
 * forks, the loser goes stale about two periods later).  Runs: a steady chain, 1% and 10% of slots
 * multistaked.  Prints, per run, the time per insert (median, p99, max), the kept and total clique
 * counts and the pending-set size.  Usage: graph_bench [SLOTS] (default 20000 per run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph.h"

#define T 32
#define DELTA_F0 1088
#define FITNESS 17

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void random_id(block_id_t *id, uint64_t *rng)
{
    for (int k = 0; k < 4; k++) {
        uint64_t v = rng_next(rng);
        memcpy(id->h.b + 8 * k, &v, 8);
    }
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(const char *label, uint64_t slots, unsigned multistake_permille)
{
    uint64_t rng = 0x5eed0000u + multistake_permille;
    graph_config cfg;
    graph_config_init(&cfg, T, DELTA_F0);
    block_id_t genesis[T];
    for (int i = 0; i < T; i++)
        random_id(&genesis[i], &rng);
    graph *g;
    if (graph_new(&g, &cfg, genesis) != WEFT_OK) {
        fprintf(stderr, "graph_new failed\n");
        return 1;
    }
    double *t = malloc(2 * slots * sizeof *t);
    if (!t)
        return 1;
    size_t n = 0;
    size_t kept_max = 0, total_max = 0, pend_max = 0, pend_sum = 0, stale = 0, final = 0;
    slot_t slot = {1, 0};
    for (uint64_t s = 0; s < slots; s++) {
        block_id_t parents[T];
        graph_best_parents(g, parents);
        int copies = (rng_next(&rng) % 1000) < multistake_permille ? 2 : 1;
        for (int c = 0; c < copies; c++) {
            graph_block b = {
                .slot = slot, .fitness = FITNESS, .parent_count = T, .parents = parents};
            random_id(&b.id, &rng);
            double t0 = now_us();
            weft_err err = graph_add(g, &b, &slot, 0);
            double t1 = now_us();
            if (err != WEFT_OK) {
                fprintf(stderr, "graph_add: %s\n", weft_err_name(err));
                return 1;
            }
            t[n++] = t1 - t0;
            const graph_outputs *o = graph_get_outputs(g);
            stale += o->n_stale;
            final += o->n_final;
            graph_outputs_clear(g);
            size_t pend = graph_count(g, GRAPH_PENDING);
            pend_sum += pend;
            if (pend > pend_max)
                pend_max = pend;
            if (graph_clique_count(g) > kept_max)
                kept_max = graph_clique_count(g);
            if (graph_clique_total(g) > total_max)
                total_max = graph_clique_total(g);
        }
        if (++slot.thread == T) {
            slot.thread = 0;
            slot.period++;
        }
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i];
    qsort(t, n, sizeof *t, dbl_cmp);
    printf("%-18s inserts %7zu  per insert: median %7.1f us  p99 %7.1f us  max %8.1f us  "
           "mean %6.1f us | cliques kept max %zu (now %zu), held max %zu | pending max %zu avg "
           "%.1f | final %zu stale %zu\n",
           label, n, t[n / 2], t[(size_t)((double)n * 0.99)], t[n - 1], total / (double)n, kept_max,
           graph_clique_count(g), total_max, pend_max, (double)pend_sum / (double)n, final, stale);
    free(t);
    graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t slots = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
    if (slots == 0)
        slots = 20000;
    printf("graph_bench: T=%d, delta_f0=%d, E=16 (fitness %d), %llu slots per run\n", T, DELTA_F0,
           FITNESS, (unsigned long long)slots);
    int rc = run("steady", slots, 0);
    rc |= run("multistake 1%", slots, 10);
    rc |= run("multistake 10%", slots, 100);
    return rc;
}
