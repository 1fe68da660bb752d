/* scen.c — the simulator's scenarios: each one a plan (link parameters, a script of partitions,
 * crashes, restarts and late starts by period, a byzantine staker) drawn from the seed before the
 * run.  README.md describes them. */
#include <string.h>

#include "sim.h"

const char *const sim_scenarios[] = {"steady",    "lossy", "partition", "crash",
                                     "byzantine", "late",  "stx",       NULL};

static sim_script_step *add(sim_plan *pl, uint64_t period, sim_step_kind kind, int node)
{
    WEFT_ASSERT(pl->nsteps < SIM_MAX_SCRIPT);
    sim_script_step *s = &pl->steps[pl->nsteps++];
    memset(s, 0, sizeof *s);
    s->period = period;
    s->kind = kind;
    s->node = node;
    return s;
}

/* A random split of the nodes into two halves (group 0 and 1). */
static void split(sim_script_step *s, int nodes, sim_rng *r)
{
    int perm[SIM_MAX_NODES];
    for (int i = 0; i < nodes; i++)
        perm[i] = i;
    for (int i = nodes - 1; i > 0; i--) {
        int j = (int)sim_rng_below(r, (uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < nodes; i++)
        s->groups[perm[i]] = i < nodes / 2 ? 0 : 1;
}

weft_err sim_plan_make(sim_plan *pl, const char *name, int nodes, uint64_t periods, uint64_t seed)
{
    memset(pl, 0, sizeof *pl);
    pl->byzantine = -1;
    sim_link_cfg_default(&pl->link);
    sim_rng r;
    sim_rng_init(&r, seed, 0x5ce);
    pl->nodes = nodes ? nodes : 4;
    if (pl->nodes < 1 || pl->nodes > SIM_MAX_NODES)
        return WEFT_E_INVAL;
    uint64_t P;
    if (strcmp(name, "steady") == 0) {
        /* latency and jitter, nothing else */
        pl->name = "steady";
        P = periods ? periods : 12;
        pl->link.latency_ms = 20 + sim_rng_below(&r, 30);
        pl->link.jitter_ms = 40;
    } else if (strcmp(name, "lossy") == 0) {
        /* retransmissions, breaks before and after a frame, jitter far above frame spacing */
        pl->name = "lossy";
        P = periods ? periods : 16;
        pl->link.latency_ms = 30;
        pl->link.jitter_ms = 300;
        pl->link.bandwidth = 2u << 20;
        pl->link.retrans_pm = 30;
        pl->link.rto_ms = 200;
        pl->link.drop_pm = 3;
        pl->link.dup_pm = 3;
        /* then whole: a clean link from period P on */
        sim_script_step *l = add(pl, P, SIM_LINK, -1);
        sim_link_cfg_default(&l->link);
        pl->heal_period = P;
    } else if (strcmp(name, "partition") == 0) {
        /* two halves cut apart for 3 periods, twice (each time another split), then healed */
        pl->name = "partition";
        P = periods ? periods : 16;
        if (P < 12 || pl->nodes < 2)
            return WEFT_E_INVAL;
        /* the first cut stalls the connections across it (they resume at the heal); during the
         * second one TCP gives up after 1 s: they break and the nodes must redial after it */
        uint64_t a = P / 6, b = P / 2;
        split(add(pl, a, SIM_GROUPS, -1), pl->nodes, &r);
        add(pl, a + 3, SIM_GROUPS, -1);
        sim_script_step *l = add(pl, b, SIM_LINK, -1);
        l->link = pl->link;
        l->link.user_timeout_ms = 1000;
        split(add(pl, b, SIM_GROUPS, -1), pl->nodes, &r);
        add(pl, b + 3, SIM_GROUPS, -1);
        add(pl, b + 3, SIM_LINK, -1)->link = pl->link;
        pl->heal_period = b + 3;
    } else if (strcmp(name, "crash") == 0) {
        /* one node crashes and restarts from its repository, then another (or the same) */
        pl->name = "crash";
        P = periods ? periods : 16;
        if (P < 12)
            return WEFT_E_INVAL;
        int x = (int)sim_rng_below(&r, (uint64_t)pl->nodes);
        int y = (int)sim_rng_below(&r, (uint64_t)pl->nodes);
        uint64_t a = P / 4, b = P / 2 + 1;
        add(pl, a, SIM_CRASH, x);
        add(pl, a + 2 + sim_rng_below(&r, 2), SIM_START, x);
        add(pl, b, SIM_CRASH, y);
        add(pl, b + 1 + sim_rng_below(&r, 2), SIM_START, y);
        pl->heal_period = b + 3;
    } else if (strcmp(name, "byzantine") == 0) {
        /* one staker signs a second block for half of its slots, pushed to some nodes */
        pl->name = "byzantine";
        P = periods ? periods : 12;
        pl->byzantine = (int)sim_rng_below(&r, (uint64_t)pl->nodes);
        pl->byzantine_pm = 500;
    } else if (strcmp(name, "late") == 0) {
        /* the last node starts with an empty chain once the others finalized some periods */
        pl->name = "late";
        P = periods ? periods : 16;
        if (P < 8 || pl->nodes < 2)
            return WEFT_E_INVAL;
        pl->late[pl->nodes - 1] = true;
        add(pl, P / 2, SIM_START, pl->nodes - 1);
        pl->heal_period = P / 2;
    } else if (strcmp(name, "stx") == 0) {
        /* every node keeps 3 periods of final blocks in its log (and 16 in memory): the last node,
         * started late, and a node down for 20 periods find no peer with the blocks after their
         * final periods — they fetch a final state in parts, adopt it at a restart and follow;
         * a node down for 8 periods may get its blocks back from the peers' memory while a
         * transfer runs, and must then not adopt a state its final blocks passed */
        pl->name = "stx";
        if (!nodes) /* two stakers away for long: three others keep finality going */
            pl->nodes = 5;
        P = periods ? periods : 60;
        if (P < 60 || pl->nodes < 3)
            return WEFT_E_INVAL;
        pl->retention = 3;
        pl->state_part_bytes = 512; /* many parts, each resuming after the last record */
        int last = pl->nodes - 1;
        int x = (int)sim_rng_below(&r, (uint64_t)last);
        int y = (int)sim_rng_below(&r, (uint64_t)last);
        pl->late[last] = true;
        add(pl, 24, SIM_START, last);
        add(pl, 26, SIM_CRASH, x);
        add(pl, 46, SIM_START, x);
        add(pl, 50, SIM_CRASH, y);
        add(pl, 58, SIM_START, y);
        pl->heal_period = 58;
        pl->adoptions = 2;
    } else {
        return WEFT_E_NOT_FOUND;
    }
    pl->periods = P;
    return WEFT_OK;
}
