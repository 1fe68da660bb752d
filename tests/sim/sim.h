/* sim.h — the network simulator (tests/sim, README.md there): N real nodes in one process, their
 * protocol cores joined by simulated links, one virtual clock.
 *
 *   rng      seeded xoshiro256** streams (scenario decisions, operations, link faults)
 *   link.c   the simulated network: connections as two ordered byte streams with latency, jitter,
 *            bandwidth and the two priority lanes of the real shell; faults (retransmissions,
 *            breaks, breaks after delivery), partitions that stall connections, crashed nodes
 *   world.c  the nodes (node_t + net_core + netd_evq each), the virtual clock and its steps, the
 *            invariants
 *   scen.c   the scenarios (steady, lossy, partition, crash, byzantine, late, stx)
 *   main.c   the command line, one run or a batch of seeds
 *   selftest.c  the link model against a trivial fake endpoint (no node needed)
 */
#ifndef WEFT_SIM_H
#define WEFT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "net/net.h"

/* ---- seeded randomness ------------------------------------------------------------------------
 */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_init(sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n) (0 when n is 0). */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* True with probability pm / 1000. */
bool sim_rng_pm(sim_rng *r, uint32_t pm);

/* ---- the simulated network (link.c) -----------------------------------------------------------
 */

typedef struct sim_link_cfg {
    uint64_t latency_ms;         /* one way, >= 1 */
    uint64_t jitter_ms;          /* extra delay per frame, uniform in [0, jitter_ms] */
    uint64_t bandwidth;          /* bytes per second per direction; 0: unlimited */
    uint32_t retrans_pm;         /* frames lost once and retransmitted (per mille) … */
    uint64_t rto_ms;             /* … after this delay (doubled per consecutive loss) */
    uint32_t drop_pm;            /* frames lost for good: the connection breaks before them */
    uint32_t dup_pm;             /* frames delivered, then the connection breaks right after */
    uint64_t connect_timeout_ms; /* a dial to an unreachable address fails after this */
    uint64_t user_timeout_ms;    /* a connection stalled with data pending breaks after this */
} sim_link_cfg;

void sim_link_cfg_default(sim_link_cfg *c);

typedef enum sim_ev_kind {
    SIM_EV_CONNECTED = 1,   /* the connection is up at this end */
    SIM_EV_DIAL_FAILED = 2, /* for the dialer: addr */
    SIM_EV_FRAME = 3,       /* a frame arrived at this end (frame owned by the event's taker) */
    SIM_EV_CLOSED = 4,      /* the connection is gone at this end */
} sim_ev_kind;

typedef struct sim_event {
    sim_ev_kind kind;
    uint64_t at;
    int node; /* the node the event is for */
    uint32_t conn;
    int end; /* 0: the dialer's end, 1: the acceptor's */
    net_lane lane;
    uint8_t *frame;
    size_t len;
    char addr[NET_ADDR_MAX]; /* DIAL_FAILED and CONNECTED at the dialer: what was dialed */
} sim_event;

typedef struct sim_net_stats {
    uint64_t dials, dials_failed, connections, breaks_drop, breaks_dup, breaks_stall, resets_crash;
    uint64_t frames, bytes, frames_lost, retransmits, closes;
} sim_net_stats;

typedef struct sim_net sim_net;

WEFT_MUST_USE weft_err sim_net_new(sim_net **out, const sim_link_cfg *cfg, int nodes,
                                   uint64_t seed);
void sim_net_free(sim_net *n);
/* Changes the link parameters from now on (frames already on the wire keep their times). */
void sim_net_set_cfg(sim_net *n, const sim_link_cfg *cfg);
const sim_link_cfg *sim_net_cfg(const sim_net *n);
/* A node is up (reachable; every node is at first) or down.  Taking a node down is a crash: its
 * ends vanish without a word to it; each peer learns it one latency later (the kernel's reset),
 * frames in flight both ways are lost. */
void sim_net_set_up(sim_net *n, int node, bool up, uint64_t now);
bool sim_net_is_up(const sim_net *n, int node);
/* Partition groups: nodes reach each other only within a group (all 0: healed).  Connections
 * across groups stall (TCP retransmits: nothing arrives, order is kept) and resume at the heal,
 * unless they stay stalled with data pending for user_timeout_ms: then they break. */
void sim_net_set_group(sim_net *n, int node, int group, uint64_t now);
bool sim_net_reachable(const sim_net *n, int a, int b);
/* Opens a connection from `from` to `to` (-1: an address that is nobody's) for a NET_ACT_DIAL. */
void sim_net_dial(sim_net *n, int from, int to, const char *addr, uint64_t now);
/* Queues a frame (taken: freed by the network) on a lane of `end`'s direction. */
void sim_net_send(sim_net *n, uint32_t conn, int end, net_lane lane, uint8_t *frame, size_t len,
                  uint64_t now);
/* `end` closes: it hears nothing more; the other end receives what was sent, then CLOSED. */
void sim_net_close(sim_net *n, uint32_t conn, int end, uint64_t now);
/* The next event due at or before now, in (time, creation order) order; false if none. */
bool sim_net_next(sim_net *n, uint64_t now, sim_event *out);
/* The node at the other end of a connection (-1 if unknown). */
int sim_net_peer_node(const sim_net *n, uint32_t conn, int end);
/* Open connections (both ends not yet closed). */
size_t sim_net_open_count(const sim_net *n);
void sim_net_stats_get(const sim_net *n, sim_net_stats *out);

/* The link model's self-test (selftest.c): prints what it checks; 0 on success. */
int sim_selftest(bool verbose);

/* ---- scenarios (scen.c) -----------------------------------------------------------------------
 */

#define SIM_MAX_NODES 16
#define SIM_MAX_SCRIPT 64

typedef enum sim_step_kind {
    SIM_GROUPS = 1, /* partition groups per node (all 0: healed) */
    SIM_CRASH = 2,  /* the node's process dies */
    SIM_START = 3,  /* the node starts (a late join) or restarts from its repository */
    SIM_LINK = 4,   /* new link parameters */
} sim_step_kind;

typedef struct sim_script_step {
    uint64_t period; /* at the start of this period (slot time of (period, 0)) */
    sim_step_kind kind;
    int node;
    int groups[SIM_MAX_NODES];
    sim_link_cfg link;
} sim_script_step;

/* What a scenario does, decided from the seed before the run (so a seed replays the same
 * decisions whatever the thread scheduling inside the nodes). */
typedef struct sim_plan {
    const char *name;
    int nodes;
    uint64_t periods;         /* the faulty phase; then the network is whole and every node up */
    sim_link_cfg link;        /* at start */
    int byzantine;            /* the node whose staking key double-produces, or -1 */
    uint32_t byzantine_pm;    /* share of its slots it doubles */
    bool late[SIM_MAX_NODES]; /* not started at genesis (a SIM_START step starts it) */
    sim_script_step steps[SIM_MAX_SCRIPT];
    size_t nsteps;
    uint64_t heal_period; /* the period from which the network is whole and every node up */
    uint64_t retention;   /* node.block_retention of every node (periods); 0: every block kept */
    int adoptions;        /* final states a node must fetch and adopt (restarts) during the run */
    uint32_t state_part_bytes; /* net_config.state_part_bytes of every node; 0: the default */
} sim_plan;

/* Fills the plan of scenario `name` for `nodes` nodes (0: default) and `periods` (0: default).
 * E_NOT_FOUND for an unknown name, E_INVAL for parameters the scenario cannot use. */
WEFT_MUST_USE weft_err sim_plan_make(sim_plan *pl, const char *name, int nodes, uint64_t periods,
                                     uint64_t seed);

/* ---- runs (world.c) ---------------------------------------------------------------------------
 */

typedef struct sim_opts {
    uint64_t seed;
    const char *scenario;
    int nodes;        /* 0: the scenario's default */
    uint64_t periods; /* 0: the scenario's default */
    bool verbose;
    const char *dir; /* parent of the temporary repositories (NULL: /dev/shm or TMPDIR) */
    bool keep;       /* keep the repositories */
} sim_opts;

/* Scenario names, NULL-terminated. */
extern const char *const sim_scenarios[];
/* Whether the simulator was built with the network stack (src/net, src/netd). */
bool sim_have_stack(void);
/* Runs one scenario; prints a summary line, or the failure with the command that replays it.
 * Returns 0 (invariants held), 1 (an invariant broke), 2 (setup or usage error). */
int sim_run(const sim_opts *o);

#endif
