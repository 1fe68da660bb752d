/* world.c — a simulated network of real weft nodes in one process (tests/sim, README.md there).
 *
 * Each node is what weftd runs, minus the sockets: a node_t (its actors over its own repository:
 * LMDB state, block log, signing journal), a protocol core (net_core over netd_node_chain_vt) and
 * the event queue that carries the node's events to its core (netd_evq).  Every node's actor
 * system runs on ONE fake clock, the virtual clock.  The simulator is the only thread that moves
 * the clock, calls the cores and carries their frames (link.c).  A step:
 *
 *   1. the script (partitions, crashes, restarts, late starts), operation submissions and the
 *      byzantine staker's second blocks due by now;
 *   2. the clock moves by step_ms; each node's timer thread delivers what came due
 *      (actor_timer_sync);
 *   3. settle: wait until every node's actors are idle (actor_system_idle), drain each node's
 *      events into its core, tick the cores (first round), carry out their actions (frames onto
 *      the links, closes, dials), deliver every link event due by now (connections, frames,
 *      closes) — frames reach the chain synchronously through the core's callbacks — and repeat
 *      until a round does nothing and every node is idle;
 *   4. once per period: the invariants.
 *
 * Invariants (a failure names the seed, the scenario and what broke): every node's final blocks
 * agree slot by slot (a block, or a miss where another node's final period covers the slot); a
 * node's final blocks never change or vanish, and its final periods never go back (across
 * restarts too); no honest staker signs two blocks for one slot (seen through every node's
 * block_pending events); every operation an honest node accepted is executed in a final slot on
 * every running node within a bound after the network is whole again; no node bans a peer (they
 * all follow the protocol). */
#define _GNU_SOURCE
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actor/actor.h"
#include "crypto/crypto.h"
#include "model/model.h"
#include "net/net.h"
#include "netd/netd.h"
#include "node/node.h"
#include "repo/repo.h"
#include "sim.h"

#define WALL0 1700000000000ull /* the virtual wall clock at the start of every run */
#define PORT 31244
#define STEP_MS 20
#define ACCOUNTS 16
#define OP_BOUND_PERIODS 20 /* an accepted operation is final this long after the heal */
#define IDLE_LIMIT_S 120    /* a node that stays busy this long (real time) is stuck */

bool sim_have_stack(void) { return true; }

/* ---- structures -------------------------------------------------------------------------------
 */

typedef struct fin_slot {
    bool has;
    block_id_t id;
    int who; /* global table: the first node seen with it */
} fin_slot;

typedef struct fin_tab {
    fin_slot *v;
    size_t n; /* slot index = period * T + thread */
} fin_tab;

typedef struct peer_map {
    net_peer_id peer;
    uint32_t conn;
    int end;
    int node; /* the node at the other end */
} peer_map;

typedef struct sim_world sim_world;

typedef struct wnode {
    sim_world *w;
    int idx;
    char dir[512];
    char ip[32], addr[NET_ADDR_MAX];
    keypair_t node_key, staking;
    address_t staking_addr;
    bool up, byzantine;
    repo_t *repo;
    node_t *node;
    net_core *core;
    netd_evq *evq;
    const node_net_events *inner; /* the queue's sink: the tap forwards to it */
    node_net_events tap;
    peer_map *peers;
    size_t npeers, peercap;
    uint64_t final_periods[MODEL_MAX_THREADS];
    fin_tab fin;        /* final blocks seen on this node */
    size_t oldest_kept; /* slot index of the oldest final block its log keeps */
    uint64_t starts;
} wnode;

typedef struct pend_rec {
    int node;
    int creator; /* staker index, -1 unknown */
    slot_t slot;
    block_id_t id;
    block_header_t *hdr; /* kept for the byzantine staker's own blocks only */
} pend_rec;

typedef struct op_rec {
    op_id_t id;
    int node;
    size_t from, to; /* accounts */
    uint64_t at;     /* virtual ms when accepted */
    bool done, exempt;
} op_rec;

typedef struct byz_push {
    uint64_t at;
    block_header_t *hdr; /* the original, owned */
} byz_push;

struct sim_world {
    sim_opts o;
    sim_plan pl;
    model_params p;
    uint32_t T;
    block_id_t genesis_id;
    int n;
    wnode nodes[SIM_MAX_NODES];
    actor_fake_clock_t *fc;
    uint64_t now;        /* virtual monotonic ms (the fake clock's) */
    uint64_t genesis_ms; /* virtual ms of the genesis timestamp */
    sim_net *net;
    sim_rng r_ops, r_byz, r_nonce;
    char root[400];
    bool failed;
    char fail[2048];
    size_t next_step; /* script position */
    /* accounts and operations */
    keypair_t acc[ACCOUNTS];
    address_t acc_addr[ACCOUNTS];
    op_rec *ops;
    size_t nops, opcap;
    uint64_t next_op_at, op_counter, ops_submitted, ops_refused, ops_exempt;
    bool ops_on;
    /* block_pending taps (actor threads append, the simulator reads) */
    pthread_mutex_t mu;
    pend_rec *pend;
    size_t npend, pendcap, pend_seen;
    /* invariants */
    fin_tab gfin;
    fin_tab signed_by[SIM_MAX_NODES]; /* per honest staker: the block it signed per slot */
    /* byzantine */
    bool *byz_done;
    size_t byz_done_n;
    byz_push *byz;
    size_t nbyz, byzcap;
    uint64_t doubles_made, doubles_taken;
    net_peer_id next_peer;
    uint64_t closes, bans, checks;
    uint64_t last_check_period;
    int adoptions; /* restarts that adopted a fetched final state */
    net_stats st;  /* the state transfer counters of the cores gone (stopped nodes) */
};

static void failf(sim_world *w, const char *fmt, ...) WEFT_PRINTF(2, 3);
static void failf(sim_world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->fail, sizeof w->fail, fmt, ap);
    va_end(ap);
}

static void vlog(sim_world *w, const char *fmt, ...) WEFT_PRINTF(2, 3);
static void vlog(sim_world *w, const char *fmt, ...)
{
    if (!w->o.verbose)
        return;
    uint64_t t = w->now >= w->genesis_ms ? w->now - w->genesis_ms : 0;
    printf("[%7.2f p%-3" PRIu64 "] ", (double)t / 1000.0, t / w->p.t0_ms);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static const char *bid(const block_id_t *id, char buf[MODEL_STR_MAX])
{
    block_id_to_str(buf, id);
    return buf;
}

/* ---- tables -----------------------------------------------------------------------------------
 */

static size_t slot_ix(const sim_world *w, slot_t s) { return (size_t)s.period * w->T + s.thread; }
static slot_t ix_slot(const sim_world *w, size_t i)
{
    return (slot_t){.period = i / w->T, .thread = (uint8_t)(i % w->T)};
}

static fin_slot *fin_at(fin_tab *t, size_t i)
{
    if (i >= t->n) {
        size_t nn = t->n ? t->n : 256;
        while (nn <= i)
            nn *= 2;
        fin_slot *v = realloc(t->v, nn * sizeof *v);
        WEFT_ASSERT(v != NULL);
        memset(v + t->n, 0, (nn - t->n) * sizeof *v);
        t->v = v;
        t->n = nn;
    }
    return &t->v[i];
}

static void fin_free(fin_tab *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* ---- the tap: every node event passes here on its way to the node's queue ----------------------
 */

static void tap_block_pending(void *ctx, const block_header_t *h)
{
    wnode *nd = ctx;
    sim_world *w = nd->w;
    int creator = -1;
    for (int i = 0; i < w->n; i++)
        if (memcmp(&w->nodes[i].staking.pk, &h->creator, sizeof h->creator) == 0)
            creator = i;
    pend_rec r = {.node = nd->idx, .creator = creator, .slot = h->slot, .id = h->id};
    if (creator >= 0 && w->nodes[creator].byzantine && creator == nd->idx) {
        r.hdr = malloc(sizeof *r.hdr);
        WEFT_ASSERT(r.hdr != NULL);
        *r.hdr = *h;
    }
    pthread_mutex_lock(&w->mu);
    if (w->npend == w->pendcap) {
        w->pendcap = w->pendcap ? 2 * w->pendcap : 1024;
        w->pend = realloc(w->pend, w->pendcap * sizeof *w->pend);
        WEFT_ASSERT(w->pend != NULL);
    }
    w->pend[w->npend++] = r;
    pthread_mutex_unlock(&w->mu);
    if (nd->inner->block_pending)
        nd->inner->block_pending(nd->inner->ctx, h);
}

static void tap_block_invalid(void *ctx, const block_id_t *id, weft_err reason)
{
    wnode *nd = ctx;
    if (nd->inner->block_invalid)
        nd->inner->block_invalid(nd->inner->ctx, id, reason);
}

static void tap_blocks_missing(void *ctx, const block_id_t *ids, size_t n)
{
    wnode *nd = ctx;
    if (nd->inner->blocks_missing)
        nd->inner->blocks_missing(nd->inner->ctx, ids, n);
}

static void tap_ops_admitted(void *ctx, const op_id_t *ids, size_t n)
{
    wnode *nd = ctx;
    if (nd->inner->ops_admitted)
        nd->inner->ops_admitted(nd->inner->ctx, ids, n);
}

static void tap_endorsements(void *ctx, const endorsement_t *e, size_t n)
{
    wnode *nd = ctx;
    if (nd->inner->endorsements_admitted)
        nd->inner->endorsements_admitted(nd->inner->ctx, e, n);
}

/* ---- setup ------------------------------------------------------------------------------------
 */

static void seed_key(keypair_t *kp, sim_rng *r)
{
    uint8_t seed[32];
    for (int i = 0; i < 4; i++) {
        uint64_t x = sim_rng_next(r);
        memcpy(seed + 8 * i, &x, 8);
    }
    keypair_from_seed(kp, seed);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool make_world(sim_world *w)
{
    model_params_default(&w->p);
    w->p.thread_count = 4;
    w->p.t0_ms = 1000;
    w->p.periods_per_cycle = 8;
    w->p.endorsement_count = 2;
    w->p.delta_f0 = 24;
    w->p.operation_validity_periods = 40;
    w->p.chain_id = 77;
    w->p.genesis_timestamp_ms = WALL0 + 1000;
    w->T = w->p.thread_count;
    w->genesis_ms = 1000;
    if (model_params_check(&w->p) != WEFT_OK) {
        failf(w, "setup: inconsistent model parameters");
        return false;
    }
    block_header_t *g = calloc(w->T, sizeof *g);
    WEFT_ASSERT(g != NULL);
    node_genesis_headers(&w->p, g);
    w->genesis_id = g[0].id;
    free(g);

    sim_rng keys;
    sim_rng_init(&keys, w->o.seed, 0x4e7);
    for (size_t i = 0; i < ACCOUNTS; i++) {
        seed_key(&w->acc[i], &keys);
        address_of_pubkey(&w->acc_addr[i], &w->acc[i].pk);
    }
    const char *parent = w->o.dir;
    struct stat st;
    if (!parent)
        parent = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm"
                 : getenv("TMPDIR")                                ? getenv("TMPDIR")
                                                                   : "/tmp";
    snprintf(w->root, sizeof w->root, "%s/weft-sim-XXXXXX", parent);
    if (!mkdtemp(w->root)) {
        failf(w, "setup: cannot create a directory under %s", parent);
        w->root[0] = 0;
        return false;
    }
    repo_genesis_t gen;
    memset(&gen, 0, sizeof gen);
    gen.params = w->p;
    gen.balances = calloc(ACCOUNTS + (size_t)w->n, sizeof *gen.balances);
    gen.rolls = calloc((size_t)w->n, sizeof *gen.rolls);
    WEFT_ASSERT(gen.balances && gen.rolls);
    for (size_t i = 0; i < ACCOUNTS; i++) {
        gen.balances[i].addr = w->acc_addr[i];
        gen.balances[i].amount = amount_from_nano(1000000ull * 1000000000ull);
    }
    for (int i = 0; i < w->n; i++) {
        wnode *nd = &w->nodes[i];
        nd->w = w;
        nd->idx = i;
        nd->byzantine = w->pl.byzantine == i;
        seed_key(&nd->node_key, &keys);
        seed_key(&nd->staking, &keys);
        address_of_pubkey(&nd->staking_addr, &nd->staking.pk);
        char ip[sizeof nd->ip], root[sizeof w->root];
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        memcpy(nd->ip, ip, sizeof ip);
        memcpy(root, w->root, sizeof root);
        snprintf(nd->addr, sizeof nd->addr, "%s:%d", ip, PORT);
        snprintf(nd->dir, sizeof nd->dir, "%s/node%d", root, i);
        gen.rolls[i].addr = nd->staking_addr;
        gen.rolls[i].rolls = 10;
        gen.balances[ACCOUNTS + (size_t)i].addr = nd->staking_addr;
        gen.balances[ACCOUNTS + (size_t)i].amount = amount_from_nano(1000ull * 1000000000ull);
        nd->tap = (node_net_events){.ctx = nd,
                                    .block_pending = tap_block_pending,
                                    .block_invalid = tap_block_invalid,
                                    .blocks_missing = tap_blocks_missing,
                                    .ops_admitted = tap_ops_admitted,
                                    .endorsements_admitted = tap_endorsements};
    }
    gen.balance_count = ACCOUNTS + (size_t)w->n;
    gen.roll_count = (size_t)w->n;
    char gpath[600], err[256];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", w->root);
    weft_err e = repo_genesis_write(&gen, gpath);
    repo_genesis_free(&gen);
    if (e != WEFT_OK) {
        failf(w, "setup: genesis: %s", weft_err_name(e));
        return false;
    }
    repo_config_t cfg;
    repo_config_default(&cfg);
    cfg.store_no_sync = true; /* process crashes keep committed writes; no machine crash here */
    cfg.block_retention = w->pl.retention ? w->pl.retention : REPO_RETAIN_ALL;
    for (int i = 0; i < w->n; i++) {
        wnode *nd = &w->nodes[i];
        repo_init_options io = {.genesis_path = gpath,
                                .node_key = &nd->node_key,
                                .staking = &nd->staking,
                                .staking_count = 1,
                                .config = &cfg};
        e = repo_init(nd->dir, &io, err, sizeof err);
        if (e != WEFT_OK) {
            failf(w, "setup: repo_init node %d: %s", i, err);
            return false;
        }
    }
    if (actor_fake_clock_new(&w->fc, WALL0) != WEFT_OK ||
        sim_net_new(&w->net, &w->pl.link, w->n, w->o.seed) != WEFT_OK) {
        failf(w, "setup: out of memory");
        return false;
    }
    for (int i = 0; i < w->n; i++)
        if (w->pl.late[i])
            sim_net_set_up(w->net, i, false, 0);
    return true;
}

/* ---- nodes ------------------------------------------------------------------------------------
 */

static bool start_node(sim_world *w, wnode *nd)
{
    char err[256];
    weft_err e = repo_open(&nd->repo, nd->dir, NULL, 0, err, sizeof err);
    if (e != WEFT_OK) {
        failf(w, "node %d: repo_open: %s", nd->idx, err);
        return false;
    }
    if (netd_evq_new(&nd->evq, NULL, NULL) != WEFT_OK) {
        failf(w, "node %d: netd_evq_new: out of memory", nd->idx);
        return false;
    }
    nd->inner = netd_evq_events(nd->evq);
    node_options no = {.clock = actor_fake_clock_base(w->fc), .net = &nd->tap};
    e = node_start(&nd->node, nd->repo, &no, err, sizeof err);
    if (e != WEFT_OK) {
        failf(w, "node %d: node_start: %s (%s)", nd->idx, weft_err_name(e), err);
        return false;
    }
    net_config nc;
    net_config_default(&nc);
    nc.chain_id = w->p.chain_id;
    nc.genesis_id = w->genesis_id;
    nc.thread_count = w->T;
    nc.node_key = nd->repo->node_key;
    nc.listen_port = PORT;
    if (w->pl.state_part_bytes)
        nc.state_part_bytes = w->pl.state_part_bytes;
    const char *boot[SIM_MAX_NODES];
    size_t nb = 0;
    for (int i = 0; i < w->n; i++)
        if (i != nd->idx)
            boot[nb++] = w->nodes[i].addr;
    e = net_core_new(&nd->core, &nc, &netd_node_chain_vt, nd->node, boot, nb);
    if (e != WEFT_OK) {
        failf(w, "node %d: net_core_new: %s", nd->idx, weft_err_name(e));
        return false;
    }
    nd->up = true;
    nd->starts++;
    sim_net_set_up(w->net, nd->idx, true, w->now);
    return true;
}

/* Adds a core's state transfer counters to *to. */
static void state_stats_add(net_stats *to, const net_core *core)
{
    net_stats s;
    net_core_stats(core, &s);
    to->state_records_in += s.state_records_in;
    to->state_bytes_in += s.state_bytes_in;
    to->state_parts_out += s.state_parts_out;
    to->state_transfers += s.state_transfers;
    to->state_failures += s.state_failures;
    to->state_confirmed += s.state_confirmed;
    to->state_contradicted += s.state_contradicted;
    to->state_disputed += s.state_disputed;
}

/* A crash: the process's actors stop where they are (the simulator only does this between steps,
 * when every actor is idle, so nothing queued is lost that a kill -9 at that point would have
 * kept), its connections are reset, its memory (pool, graph, core) is gone; its repository keeps
 * every committed write. */
static void stop_node(sim_world *w, wnode *nd)
{
    if (!nd->up)
        return;
    sim_net_set_up(w->net, nd->idx, false, w->now);
    state_stats_add(&w->st, nd->core);
    /* the core first, as weftd stops its network before the node: freeing a core aborts its
     * transfer through the node (node_import_abort) */
    net_core_free(nd->core);
    nd->core = NULL;
    node_stop(nd->node);
    nd->node = NULL;
    netd_evq_free(nd->evq);
    nd->evq = NULL;
    nd->inner = NULL;
    repo_close(nd->repo);
    nd->repo = NULL;
    nd->npeers = 0;
    nd->up = false;
}

static peer_map *peer_by_id(wnode *nd, net_peer_id id)
{
    for (size_t i = 0; i < nd->npeers; i++)
        if (nd->peers[i].peer == id)
            return &nd->peers[i];
    return NULL;
}

static peer_map *peer_by_conn(wnode *nd, uint32_t conn, int end)
{
    for (size_t i = 0; i < nd->npeers; i++)
        if (nd->peers[i].conn == conn && nd->peers[i].end == end)
            return &nd->peers[i];
    return NULL;
}

static void peer_drop(wnode *nd, peer_map *pm) { *pm = nd->peers[--nd->npeers]; }

static int node_by_addr(sim_world *w, const char *addr)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->nodes[i].addr, addr) == 0)
            return i;
    return -1;
}

/* ---- the cores' actions and the links' events --------------------------------------------------
 */

/* Carries out every queued action of the node's core; true if there was any. */
static bool do_actions(sim_world *w, wnode *nd)
{
    bool any = false;
    net_action a[64];
    size_t k;
    while (nd->up && (k = net_core_take_actions(nd->core, a, 64)) > 0) {
        any = true;
        for (size_t i = 0; i < k; i++) {
            peer_map *pm;
            switch (a[i].kind) {
            case NET_ACT_SEND:
                pm = peer_by_id(nd, a[i].peer);
                if (pm) {
                    sim_net_send(w->net, pm->conn, pm->end, a[i].lane, a[i].frame, a[i].len,
                                 w->now);
                    a[i].frame = NULL;
                }
                break;
            case NET_ACT_CLOSE:
                pm = peer_by_id(nd, a[i].peer);
                w->closes++;
                w->bans += a[i].banned;
                if (!pm)
                    break;
                vlog(w, "node %d closes peer %u (node %d): %s%s", nd->idx, a[i].peer, pm->node,
                     weft_err_name(a[i].reason), a[i].banned ? ", banned" : "");
                /* every peer here follows the protocol (the byzantine staker's second blocks are
                 * valid blocks): a ban is a false accusation */
                if (a[i].banned)
                    failf(w, "node %d banned node %d: %s", nd->idx, pm->node,
                          weft_err_name(a[i].reason));
                sim_net_close(w->net, pm->conn, pm->end, w->now);
                peer_drop(nd, pm);
                net_core_disconnected(nd->core, a[i].peer, w->now);
                break;
            case NET_ACT_DIAL:
                sim_net_dial(w->net, nd->idx, node_by_addr(w, a[i].addr), a[i].addr, w->now);
                break;
            }
        }
        net_actions_free(a, k);
    }
    return any;
}

static void on_event(sim_world *w, sim_event *ev)
{
    wnode *nd = &w->nodes[ev->node];
    if (!nd->up) {
        free(ev->frame);
        return;
    }
    weft_err e = WEFT_OK;
    peer_map *pm;
    switch (ev->kind) {
    case SIM_EV_CONNECTED: {
        int other = sim_net_peer_node(w->net, ev->conn, ev->end);
        if (other < 0)
            return;
        const char *ip = w->nodes[other].ip;
        char addr[NET_ADDR_MAX];
        if (ev->end == 1) {
            if (!net_core_accept_ok(nd->core, ip, w->now)) {
                sim_net_close(w->net, ev->conn, 1, w->now);
                return;
            }
            snprintf(addr, sizeof addr, "%s:%u", ip, 40000u + ev->conn % 20000u);
        } else {
            snprintf(addr, sizeof addr, "%s", ev->addr);
        }
        if (nd->npeers == nd->peercap) {
            nd->peercap = nd->peercap ? 2 * nd->peercap : 16;
            nd->peers = realloc(nd->peers, nd->peercap * sizeof *nd->peers);
            WEFT_ASSERT(nd->peers != NULL);
        }
        net_peer_id id = ++w->next_peer;
        nd->peers[nd->npeers++] =
            (peer_map){.peer = id, .conn = ev->conn, .end = ev->end, .node = other};
        uint8_t nonce[32];
        for (int i = 0; i < 4; i++) {
            uint64_t x = sim_rng_next(&w->r_nonce);
            memcpy(nonce + 8 * i, &x, 8);
        }
        e = net_core_connected(nd->core, id, ev->end == 0, addr, ip, nonce, w->now);
        break;
    }
    case SIM_EV_DIAL_FAILED:
        net_core_dial_failed(nd->core, ev->addr, w->now);
        break;
    case SIM_EV_FRAME: {
        pm = peer_by_conn(nd, ev->conn, ev->end);
        size_t total = 0;
        if (pm &&
            (ev->len < NET_FRAME_HEADER ||
             net_frame_check(ev->frame, NET_MAX_FRAME, &total) != WEFT_OK || total != ev->len)) {
            /* what the shell does with a bad length prefix */
            net_peer_id id = pm->peer;
            sim_net_close(w->net, ev->conn, ev->end, w->now);
            peer_drop(nd, pm);
            net_core_disconnected(nd->core, id, w->now);
        } else if (pm) {
            e = net_core_received(nd->core, pm->peer, ev->frame, ev->len, w->now);
        }
        free(ev->frame);
        ev->frame = NULL;
        break;
    }
    case SIM_EV_CLOSED:
        pm = peer_by_conn(nd, ev->conn, ev->end);
        if (pm)
            vlog(w, "node %d: connection to node %d gone (peer %u)", nd->idx, pm->node, pm->peer);
        if (pm) {
            net_peer_id id = pm->peer;
            peer_drop(nd, pm);
            net_core_disconnected(nd->core, id, w->now);
        }
        break;
    }
    if (e != WEFT_OK)
        failf(w, "node %d: the protocol core failed: %s", nd->idx, weft_err_name(e));
}

/* ---- settling ---------------------------------------------------------------------------------
 */

static double real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool all_idle(sim_world *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].up && !actor_system_idle(node_actor_system(w->nodes[i].node)))
            return false;
    return true;
}

static void wait_idle(sim_world *w)
{
    double t0 = 0;
    for (int i = 0; i < w->n; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        actor_system_t *s = node_actor_system(nd->node);
        for (unsigned k = 0; !actor_system_idle(s); k++) {
            if (k < 64) {
                sched_yield();
                continue;
            }
            usleep(50);
            if (t0 == 0)
                t0 = real_s();
            else if (k % 1024 == 0 && real_s() - t0 > IDLE_LIMIT_S) {
                failf(w, "node %d: actors still busy after %d s of real time (stuck?)", i,
                      IDLE_LIMIT_S);
                return;
            }
        }
    }
}

static void settle(sim_world *w, bool tick)
{
    for (unsigned round = 0; !w->failed; round++) {
        wait_idle(w);
        bool work = false;
        for (int i = 0; i < w->n && !w->failed; i++) {
            wnode *nd = &w->nodes[i];
            if (!nd->up)
                continue;
            weft_err e = netd_evq_drain(nd->evq, nd->core, w->now);
            if (e == WEFT_OK && round == 0 && tick)
                e = net_core_tick(nd->core, w->now);
            if (e != WEFT_OK)
                failf(w, "node %d: the protocol core failed: %s", i, weft_err_name(e));
            work |= do_actions(w, nd);
        }
        sim_event ev;
        while (!w->failed && sim_net_next(w->net, w->now, &ev)) {
            work = true;
            int who = ev.node;
            on_event(w, &ev);
            if (w->nodes[who].up)
                do_actions(w, &w->nodes[who]);
        }
        if (!work && all_idle(w))
            return;
        if (round > 100000)
            failf(w, "the network does not settle at t=%" PRIu64 " ms", w->now);
    }
}

/* ---- operations -------------------------------------------------------------------------------
 */

static signed_op_t *make_transfer(sim_world *w, size_t from, size_t to, uint64_t amount,
                                  uint64_t expire)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(1000);
    op.expire_period = expire;
    op.type = OP_TRANSACTION;
    op.u.transaction.recipient = w->acc_addr[to];
    op.u.transaction.amount = amount_from_nano(amount);
    wr_t c;
    wr_init(&c);
    op_encode(&c, &op);
    hash32_t d;
    op_digest(&d, w->p.chain_id, &w->acc[from].pk, c.buf, c.len);
    signature_t sig;
    model_sign_digest(&sig, &w->acc[from], &d);
    signed_op_t *so = calloc(1, sizeof *so);
    WEFT_ASSERT(so != NULL);
    weft_err e = signed_op_from_parts(so, w->p.chain_id, &w->acc[from].pk, &sig, c.buf, c.len);
    wr_free(&c);
    WEFT_ASSERT(e == WEFT_OK);
    return so;
}

static void submit_op(sim_world *w)
{
    int k = (int)sim_rng_below(&w->r_ops, (uint64_t)w->n);
    size_t from = sim_rng_below(&w->r_ops, ACCOUNTS), to = sim_rng_below(&w->r_ops, ACCOUNTS);
    uint64_t amount = 1 + ++w->op_counter;
    for (int i = 0; i < w->n && !w->nodes[k].up; i++)
        k = (k + 1) % w->n;
    wnode *nd = &w->nodes[k];
    slot_t cur;
    if (!nd->up || node_current_slot(nd->node, &cur) != WEFT_OK)
        return;
    signed_op_t *op =
        make_transfer(w, from, to, amount, cur.period + w->p.operation_validity_periods);
    op_id_t id = op->id;
    weft_err res = WEFT_OK;
    weft_err e = node_send_operations(nd->node, &op, 1, &res);
    if (e != WEFT_OK) {
        failf(w, "node %d: node_send_operations: %s", k, weft_err_name(e));
        return;
    }
    w->ops_submitted++;
    if (res != WEFT_OK) {
        w->ops_refused++;
        vlog(w, "node %d refused an operation: %s", k, weft_err_name(res));
        return;
    }
    if (nd->byzantine)
        return;
    if (w->nops == w->opcap) {
        w->opcap = w->opcap ? 2 * w->opcap : 256;
        w->ops = realloc(w->ops, w->opcap * sizeof *w->ops);
        WEFT_ASSERT(w->ops != NULL);
    }
    w->ops[w->nops++] = (op_rec){.id = id, .node = k, .from = from, .to = to, .at = w->now};
}

/* Whether every running node executed the operation in a final slot. */
static bool op_final_everywhere(sim_world *w, op_rec *r)
{
    for (int i = 0; i < w->n; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        node_op_info_t info;
        weft_err e = node_get_operation(nd->node, &r->id, &info);
        if (e != WEFT_OK) {
            failf(w, "node %d: node_get_operation: %s", i, weft_err_name(e));
            return false;
        }
        bool fin = info.final_executed;
        node_op_info_free(&info);
        if (!fin)
            return false;
    }
    return true;
}

/* Where each running node has an operation: "n0: pool, 2 blocks, spec; n1: unknown; …". */
static void op_whereabouts(sim_world *w, const op_rec *r, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = 0;
    for (int i = 0; i < w->n && off + 1 < cap; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        node_op_info_t info;
        if (node_get_operation(nd->node, &r->id, &info) != WEFT_OK)
            continue;
        off += (size_t)snprintf(
            out + off, cap - off, "%sn%d: %s%s%zu block(s)%s%s", off ? "; " : "", i,
            info.found ? "" : "unknown, ", info.in_pool ? "pool, " : "", info.in_block_count,
            info.spec_executed ? ", spec" : "", info.final_executed ? ", final" : "");
        node_op_info_free(&info);
    }
}

static size_t ops_pending(sim_world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nops && !w->failed; i++) {
        op_rec *r = &w->ops[i];
        if (r->done || r->exempt)
            continue;
        r->done = op_final_everywhere(w, r);
        n += !r->done;
    }
    return n;
}

/* Before a crash: operations only the crashing node knows die with its pool (an honest loss the
 * invariant does not count). */
static void exempt_lost_ops(sim_world *w, int crashing)
{
    for (size_t i = 0; i < w->nops; i++) {
        op_rec *r = &w->ops[i];
        if (r->node != crashing || r->done || r->exempt)
            continue;
        bool known = false;
        for (int k = 0; k < w->n && !known; k++) {
            if (k == crashing || !w->nodes[k].up)
                continue;
            node_op_info_t info;
            if (node_get_operation(w->nodes[k].node, &r->id, &info) == WEFT_OK) {
                known = info.found;
                node_op_info_free(&info);
            }
        }
        if (!known) {
            r->exempt = true;
            w->ops_exempt++;
        }
    }
}

/* ---- the byzantine staker ---------------------------------------------------------------------
 */

static void byz_scan(sim_world *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->npend;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = w->pend_seen; i < n; i++) {
        pthread_mutex_lock(&w->mu);
        pend_rec r = w->pend[i];
        w->pend[i].hdr = NULL;
        pthread_mutex_unlock(&w->mu);
        /* honest signing: one block per slot per honest staker */
        if (r.creator >= 0 && !w->nodes[r.creator].byzantine) {
            fin_slot *s = fin_at(&w->signed_by[r.creator], slot_ix(w, r.slot));
            char a[MODEL_STR_MAX], b[MODEL_STR_MAX];
            if (s->has && !block_id_eq(&s->id, &r.id))
                failf(w,
                      "honest staker of node %d signed two blocks for slot (%" PRIu64
                      ", %u): %s and %s",
                      r.creator, r.slot.period, r.slot.thread, bid(&s->id, a), bid(&r.id, b));
            s->has = true;
            s->id = r.id;
        }
        if (!r.hdr)
            continue;
        size_t ix = slot_ix(w, r.slot);
        if (ix >= w->byz_done_n) {
            size_t nn = w->byz_done_n ? w->byz_done_n : 256;
            while (nn <= ix)
                nn *= 2;
            w->byz_done = realloc(w->byz_done, nn);
            WEFT_ASSERT(w->byz_done != NULL);
            memset(w->byz_done + w->byz_done_n, 0, nn - w->byz_done_n);
            w->byz_done_n = nn;
        }
        if (w->byz_done[ix] || !sim_rng_pm(&w->r_byz, w->pl.byzantine_pm)) {
            w->byz_done[ix] = true;
            free(r.hdr);
            continue;
        }
        w->byz_done[ix] = true;
        if (w->nbyz == w->byzcap) {
            w->byzcap = w->byzcap ? 2 * w->byzcap : 64;
            w->byz = realloc(w->byz, w->byzcap * sizeof *w->byz);
            WEFT_ASSERT(w->byz != NULL);
        }
        uint64_t slot_ms = w->p.t0_ms / w->T;
        w->byz[w->nbyz++] =
            (byz_push){.at = w->now + sim_rng_below(&w->r_byz, slot_ms), .hdr = r.hdr};
    }
    w->pend_seen = n;
}

/* A second block for the slot of h: the same parents and endorsements, another operation list,
 * signed by the staking key; given to a random proper subset of the other running nodes as a
 * block from a peer. */
static void byz_push_one(sim_world *w, const block_header_t *h)
{
    wnode *bz = &w->nodes[w->pl.byzantine];
    block_header_t *h2 = malloc(sizeof *h2);
    WEFT_ASSERT(h2 != NULL);
    *h2 = *h;
    hash32_t empty;
    block_ops_hash(&empty, NULL, 0);
    signed_op_t *op = NULL;
    if (hash32_cmp(&h2->ops_hash, &empty) != 0) {
        h2->ops_hash = empty;
    } else {
        size_t a = ACCOUNTS;
        for (size_t i = 0; i < ACCOUNTS && a == ACCOUNTS; i++)
            if (address_thread(&w->acc_addr[i], w->T) == h->slot.thread)
                a = i;
        if (a == ACCOUNTS) {
            free(h2);
            return;
        }
        op = make_transfer(w, a, a, 1 + ++w->op_counter, h->slot.period + 1);
        block_ops_hash(&h2->ops_hash, &op->id, 1);
    }
    header_sign(h2, &bz->staking);
    int targets[SIM_MAX_NODES], nt = 0;
    for (int i = 0; i < w->n; i++)
        if (i != bz->idx && w->nodes[i].up)
            targets[nt++] = i;
    int k = nt > 1 ? 1 + (int)sim_rng_below(&w->r_byz, (uint64_t)nt - 1) : nt;
    for (int i = nt - 1; i > 0; i--) {
        int j = (int)sim_rng_below(&w->r_byz, (uint64_t)i + 1), t = targets[i];
        targets[i] = targets[j];
        targets[j] = t;
    }
    char a[MODEL_STR_MAX];
    w->doubles_made += k > 0;
    for (int t = 0; t < k; t++) {
        wnode *nd = &w->nodes[targets[t]];
        signed_op_t *ops = NULL;
        uint32_t count = 0;
        if (op) {
            ops = calloc(1, sizeof *ops);
            WEFT_ASSERT(ops != NULL);
            weft_err e = signed_op_from_parts(ops, w->p.chain_id, &op->creator, &op->sig,
                                              op->content, op->content_len);
            WEFT_ASSERT(e == WEFT_OK);
            count = 1;
        }
        weft_err verdict = WEFT_OK;
        weft_err e = node_net_block(nd->node, h2, ops, count, &verdict);
        if (e != WEFT_OK) {
            failf(w, "node %d: node_net_block: %s", nd->idx, weft_err_name(e));
            break;
        }
        w->doubles_taken += verdict == WEFT_OK;
        vlog(w, "byzantine node %d: second block %s for slot (%" PRIu64 ", %u) to node %d: %s",
             bz->idx, bid(&h2->id, a), h->slot.period, h->slot.thread, nd->idx,
             weft_err_name(verdict));
    }
    if (op) {
        signed_op_free(op);
        free(op);
    }
    free(h2);
}

/* ---- invariants -------------------------------------------------------------------------------
 */

static void check(sim_world *w)
{
    w->checks++;
    fin_tab now_fin[SIM_MAX_NODES];
    memset(now_fin, 0, sizeof now_fin);
    char a[MODEL_STR_MAX], b[MODEL_STR_MAX];
    /* 1. each node: final periods never go back; final blocks never change nor vanish; no two
     *    nodes finalize different blocks in one slot */
    for (int i = 0; i < w->n && !w->failed; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        node_status_t st;
        weft_err e = node_get_status(nd->node, &st);
        if (e != WEFT_OK) {
            failf(w, "node %d: node_get_status: %s", i, weft_err_name(e));
            break;
        }
        for (uint32_t t = 0; t < w->T; t++) {
            if (st.final_periods[t] < nd->final_periods[t])
                failf(w,
                      "node %d: final period of thread %u went back from %" PRIu64 " to %" PRIu64,
                      i, t, nd->final_periods[t], st.final_periods[t]);
            nd->final_periods[t] = st.final_periods[t];
        }
        slot_t after = {.period = 0, .thread = (uint8_t)(w->T - 1)};
        for (bool more = true; more && !w->failed;) {
            block_id_t *ids = NULL;
            slot_t *slots = NULL, oldest = {0};
            size_t cnt = 0;
            e = node_net_final_range(nd->node, after, NODE_NET_MAX_RANGE, &ids, &slots, &cnt, &more,
                                     &oldest);
            if (e != WEFT_OK) {
                failf(w, "node %d: node_net_final_range: %s", i, weft_err_name(e));
                break;
            }
            nd->oldest_kept = slot_ix(w, oldest);
            for (size_t k = 0; k < cnt; k++) {
                size_t ix = slot_ix(w, slots[k]);
                fin_slot *s = fin_at(&now_fin[i], ix);
                s->has = true;
                s->id = ids[k];
                fin_slot *old = fin_at(&nd->fin, ix);
                if (old->has && !block_id_eq(&old->id, &ids[k]))
                    failf(w, "node %d: final block of slot (%" PRIu64 ", %u) changed from %s to %s",
                          i, slots[k].period, slots[k].thread, bid(&old->id, a), bid(&ids[k], b));
                fin_slot *g = fin_at(&w->gfin, ix);
                if (g->has && !block_id_eq(&g->id, &ids[k]))
                    failf(w,
                          "nodes disagree on the final block of slot (%" PRIu64
                          ", %u): node %d has %s, node %d has %s",
                          slots[k].period, slots[k].thread, g->who, bid(&g->id, a), i,
                          bid(&ids[k], b));
                if (!g->has) {
                    g->has = true;
                    g->id = ids[k];
                    g->who = i;
                }
            }
            if (cnt > 0)
                after = slots[cnt - 1];
            else
                more = false;
            free(ids);
            free(slots);
        }
        for (size_t ix = nd->oldest_kept; ix < nd->fin.n && !w->failed; ix++)
            if (nd->fin.v[ix].has && (ix >= now_fin[i].n || !now_fin[i].v[ix].has)) {
                slot_t s = ix_slot(w, ix);
                failf(w, "node %d: final block %s of slot (%" PRIu64 ", %u) vanished", i,
                      bid(&nd->fin.v[ix].id, a), s.period, s.thread);
            }
        fin_free(&nd->fin);
        nd->fin = now_fin[i];
        now_fin[i] = (fin_tab){0};
    }
    /* 2. a slot final on a node without a block there while another node finalized a block */
    for (int i = 0; i < w->n && !w->failed; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        for (size_t ix = nd->oldest_kept; ix < w->gfin.n && !w->failed; ix++) {
            const fin_slot *g = &w->gfin.v[ix];
            slot_t s = ix_slot(w, ix);
            if (!g->has || s.period == 0 || s.period > nd->final_periods[s.thread])
                continue;
            if (ix >= nd->fin.n || !nd->fin.v[ix].has)
                failf(w,
                      "nodes disagree on slot (%" PRIu64 ", %u): node %d finalized %s, node %d "
                      "(final period %" PRIu64 " in that thread) has no block there",
                      s.period, s.thread, g->who, bid(&g->id, a), i, nd->final_periods[s.thread]);
        }
    }
    for (int i = 0; i < SIM_MAX_NODES; i++)
        fin_free(&now_fin[i]);
}

/* At the end, every accepted operation final everywhere (and none lost nor double-produced): the
 * accounts' final balances agree on every node — a node that adopted a fetched state included. */
static void check_balances(sim_world *w)
{
    bool touched[ACCOUNTS] = {false}; /* by an operation lost with a crash: perhaps executed */
    for (size_t i = 0; i < w->nops; i++)
        if (w->ops[i].exempt)
            touched[w->ops[i].from] = touched[w->ops[i].to] = true;
    for (size_t a = 0; a < ACCOUNTS && !w->failed; a++) {
        if (touched[a])
            continue;
        bool have = false;
        amount_t first = {0};
        int who = -1;
        for (int i = 0; i < w->n && !w->failed; i++) {
            if (!w->nodes[i].up)
                continue;
            node_address_info_t info;
            weft_err e = node_get_address(w->nodes[i].node, &w->acc_addr[a], &info);
            if (e != WEFT_OK) {
                failf(w, "node %d: node_get_address: %s", i, weft_err_name(e));
                break;
            }
            amount_t b = info.final_balance;
            node_address_info_free(&info);
            if (!have) {
                have = true;
                first = b;
                who = i;
            } else if (b.nano != first.nano) {
                failf(w,
                      "final balances disagree: account %zu has %" PRIu64 " nano on node %d, "
                      "%" PRIu64 " on node %d",
                      a, first.nano, who, b.nano, i);
            }
        }
    }
}

/* ---- the run ----------------------------------------------------------------------------------
 */

/* The lowest final period of any thread on any running node (from the last check). */
static uint64_t lowest_final(const sim_world *w)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < w->n; i++)
        for (uint32_t t = 0; t < w->T; t++)
            if (w->nodes[i].up && w->nodes[i].final_periods[t] < m)
                m = w->nodes[i].final_periods[t];
    return m == UINT64_MAX ? 0 : m;
}

/* Why a run stopped finalizing, when the nodes can tell: production stops once finality lags by
 * more than a cycle, because the draws of a cycle need the cycle two before it final
 * (docs/consensus.md §1.1); with the simulator's 8-period cycles, one down staker drawn for a
 * thread's slots 8 times in a row is enough (tests/sim/README.md "Liveness").  out gets "" or
 * "; …" naming the first running node that could not tell a slot's producer. */
static void undrawn_note(sim_world *w, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < w->n; i++) {
        node_status_t st;
        if (!w->nodes[i].up || node_get_status(w->nodes[i].node, &st) != WEFT_OK ||
            !st.slots_undrawn)
            continue;
        snprintf(out, cap,
                 "; production stopped: node %d could not tell the producer of %" PRIu64
                 " slot(s) (finality lagged more than a cycle)",
                 i, st.slots_undrawn);
        return;
    }
}

static uint64_t period_ms(const sim_world *w, uint64_t period)
{
    return w->genesis_ms + period * w->p.t0_ms;
}

static void run_script(sim_world *w)
{
    while (!w->failed && w->next_step < w->pl.nsteps &&
           period_ms(w, w->pl.steps[w->next_step].period) <= w->now) {
        const sim_script_step *s = &w->pl.steps[w->next_step++];
        switch (s->kind) {
        case SIM_GROUPS: {
            char g[128] = "";
            size_t off = 0;
            for (int i = 0; i < w->n; i++) {
                sim_net_set_group(w->net, i, s->groups[i], w->now);
                off +=
                    (size_t)snprintf(g + off, sizeof g - off, "%s%d", i ? " " : "", s->groups[i]);
                if (off >= sizeof g)
                    off = sizeof g - 1;
            }
            vlog(w, "partition groups: %s", g);
            break;
        }
        case SIM_CRASH:
            vlog(w, "node %d crashes", s->node);
            exempt_lost_ops(w, s->node);
            stop_node(w, &w->nodes[s->node]);
            break;
        case SIM_START:
            vlog(w, "node %d %s", s->node, w->nodes[s->node].starts ? "restarts" : "starts");
            start_node(w, &w->nodes[s->node]);
            break;
        case SIM_LINK:
            sim_net_set_cfg(w->net, &s->link);
            break;
        }
    }
}

/* A node that fetched a final state asks its process for a restart (node_request_restart): it
 * adopts the state when it starts again.  As weftd does, the world stops it and starts it again
 * from its repository at once (its pool is gone: operations only it knew are not counted). */
static void adopt_fetched(sim_world *w)
{
    for (int i = 0; i < w->n && !w->failed; i++) {
        wnode *nd = &w->nodes[i];
        if (!nd->up || !node_restart_requested(nd->node))
            continue;
        vlog(w, "node %d restarts to adopt a fetched final state", i);
        exempt_lost_ops(w, i);
        stop_node(w, nd);
        if (start_node(w, nd))
            w->adoptions++;
    }
}

static void step(sim_world *w)
{
    run_script(w);
    while (!w->failed && w->ops_on && w->now >= w->next_op_at) {
        if (w->now >= w->genesis_ms + w->p.t0_ms)
            submit_op(w);
        w->next_op_at += 100 + sim_rng_below(&w->r_ops, 300);
    }
    for (size_t i = 0; i < w->nbyz && !w->failed;) {
        if (w->byz[i].at <= w->now && w->nodes[w->pl.byzantine].up) {
            byz_push_one(w, w->byz[i].hdr);
            free(w->byz[i].hdr);
            w->byz[i] = w->byz[--w->nbyz];
        } else {
            i++;
        }
    }
    if (w->failed)
        return;
    actor_fake_clock_advance(w->fc, STEP_MS);
    w->now += STEP_MS;
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].up)
            actor_timer_sync(node_actor_system(w->nodes[i].node));
    settle(w, true);
    adopt_fetched(w);
    byz_scan(w);
    uint64_t per = w->now >= w->genesis_ms ? (w->now - w->genesis_ms) / w->p.t0_ms : 0;
    if (!w->failed && per > w->last_check_period) {
        w->last_check_period = per;
        check(w);
        /* operations final on every running node now: an executed operation is forgotten once
         * it expires (40 periods), a long run cannot wait for its end to see it */
        (void)ops_pending(w);
        if (w->o.verbose) {
            char line[512];
            size_t off = 0;
            for (int i = 0; i < w->n; i++) {
                wnode *nd = &w->nodes[i];
                uint64_t mn = UINT64_MAX;
                for (uint32_t t = 0; t < w->T; t++)
                    mn = nd->final_periods[t] < mn ? nd->final_periods[t] : mn;
                off += (size_t)snprintf(line + off, sizeof line - off, " n%d:%s%" PRIu64, i,
                                        nd->up ? "" : "down/", mn);
                if (off >= sizeof line)
                    off = sizeof line - 1;
            }
            vlog(w, "final periods%s; connections %zu", line, sim_net_open_count(w->net));
            /* operations slow to become final: where they are */
            for (size_t i = 0; i < w->nops && !w->failed; i++) {
                op_rec *r = &w->ops[i];
                if (r->done || r->exempt || w->now < r->at + 8 * w->p.t0_ms)
                    continue;
                r->done = op_final_everywhere(w, r);
                if (r->done)
                    continue;
                char a[MODEL_STR_MAX], where[512];
                op_id_to_str(a, &r->id);
                op_whereabouts(w, r, where, sizeof where);
                vlog(w, "operation %s (node %d, %.2f s) not final yet: %s", a, r->node,
                     (double)(r->at - w->genesis_ms) / 1000.0, where);
            }
        }
    }
}

static void teardown(sim_world *w)
{
    for (int i = 0; i < w->n; i++) {
        stop_node(w, &w->nodes[i]);
        free(w->nodes[i].peers);
        fin_free(&w->nodes[i].fin);
        keypair_wipe(&w->nodes[i].staking);
        keypair_wipe(&w->nodes[i].node_key);
    }
    for (int i = 0; i < SIM_MAX_NODES; i++)
        fin_free(&w->signed_by[i]);
    fin_free(&w->gfin);
    for (size_t i = 0; i < w->npend; i++)
        free(w->pend[i].hdr);
    free(w->pend);
    for (size_t i = 0; i < w->nbyz; i++)
        free(w->byz[i].hdr);
    free(w->byz);
    free(w->byz_done);
    free(w->ops);
    sim_net_free(w->net);
    if (w->fc)
        actor_fake_clock_free(w->fc);
    if (w->root[0] && !w->o.keep)
        nftw(w->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&w->mu);
}

int sim_run(const sim_opts *o)
{
    sim_world *w = calloc(1, sizeof *w);
    WEFT_ASSERT(w != NULL);
    w->o = *o;
    weft_err pe = sim_plan_make(&w->pl, o->scenario, o->nodes, o->periods, o->seed);
    if (pe != WEFT_OK) {
        fprintf(stderr, "sim: %s: %s\n", o->scenario,
                pe == WEFT_E_NOT_FOUND ? "unknown scenario" : "parameters out of range");
        free(w);
        return 2;
    }
    w->n = w->pl.nodes;
    pthread_mutex_init(&w->mu, NULL);
    sim_rng_init(&w->r_ops, o->seed, 0x0b5);
    sim_rng_init(&w->r_byz, o->seed, 0xb12);
    sim_rng_init(&w->r_nonce, o->seed, 0x40c);
    double t0 = real_s();
    bool ok = make_world(w);
    for (int i = 0; ok && i < w->n && !w->failed; i++)
        if (!w->pl.late[i])
            start_node(w, &w->nodes[i]);
    /* the faulty phase, with operations submitted throughout */
    w->ops_on = true;
    w->next_op_at = w->genesis_ms + w->p.t0_ms;
    uint64_t end_main = period_ms(w, w->pl.periods);
    if (!w->failed)
        settle(w, false);
    while (!w->failed && w->now < end_main)
        step(w);
    /* then whole: no more operations; every accepted one final within the bound */
    w->ops_on = false;
    uint64_t heal = period_ms(w, w->pl.heal_period);
    uint64_t last_op = 0;
    for (size_t i = 0; i < w->nops; i++)
        last_op = w->ops[i].at > last_op ? w->ops[i].at : last_op;
    uint64_t deadline = (heal > last_op ? heal : last_op) + OP_BOUND_PERIODS * w->p.t0_ms;
    size_t left = 0;
    uint64_t last_ops_check = 0, min_final = 0;
    while (!w->failed) {
        if (w->now >= last_ops_check + w->p.t0_ms) {
            last_ops_check = w->now;
            left = ops_pending(w);
            min_final = lowest_final(w);
            if ((left == 0 && min_final > w->pl.heal_period) || w->now >= deadline)
                break;
        }
        step(w);
    }
    if (!w->failed) {
        check(w);
        min_final = lowest_final(w);
    }
    if (!w->failed && left > 0) {
        char a[MODEL_STR_MAX];
        op_rec *r = NULL;
        for (size_t i = 0; i < w->nops && !r; i++)
            if (!w->ops[i].done && !w->ops[i].exempt)
                r = &w->ops[i];
        op_id_to_str(a, &r->id);
        char where[512];
        op_whereabouts(w, r, where, sizeof where);
        char why[160];
        undrawn_note(w, why, sizeof why);
        failf(w,
              "%zu accepted operation(s) not final on every node %d periods after the heal, "
              "e.g. %s accepted by node %d at %.2f s (%s)%s",
              left, OP_BOUND_PERIODS, a, r->node, (double)(r->at - w->genesis_ms) / 1000.0, where,
              why);
    }
    if (!w->failed && w->adoptions < w->pl.adoptions)
        failf(w, "%d node restart(s) adopted a fetched final state, the scenario needs %d",
              w->adoptions, w->pl.adoptions);
    if (!w->failed && w->pl.byzantine < 0)
        check_balances(w);
    if (!w->failed && min_final <= w->pl.heal_period) {
        char why[160];
        undrawn_note(w, why, sizeof why);
        failf(w,
              "no finality after the heal: lowest final period %" PRIu64 " (heal at period %" PRIu64
              ") %d periods later%s",
              min_final, w->pl.heal_period, OP_BOUND_PERIODS, why);
    }

    sim_net_stats ns;
    memset(&ns, 0, sizeof ns);
    if (w->net)
        sim_net_stats_get(w->net, &ns);
    net_stats st = w->st;
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].up)
            state_stats_add(&st, w->nodes[i].core);
    /* every node is honest about its final state: their fingerprints at a slot agree */
    if (!w->failed && (st.state_contradicted || st.state_disputed))
        failf(w,
              "a fetched final state was contradicted by another node's fingerprint "
              "(%" PRIu64 " contradictions, %" PRIu64 " states dropped)",
              st.state_contradicted, st.state_disputed);
    size_t nfinal = 0;
    for (size_t i = 0; i < w->gfin.n; i++)
        nfinal += w->gfin.v[i].has;
    double real = real_s() - t0;
    double virt = (double)w->now / 1000.0;
    int rc = 0;
    if (w->failed) {
        printf("sim: FAIL scenario=%s seed=%" PRIu64 ": %s\n",
               w->pl.name ? w->pl.name : o->scenario, o->seed, w->fail);
        printf("sim: replay: sim --seed %" PRIu64 " --scenario %s --nodes %d --periods %" PRIu64
               " --verbose\n",
               o->seed, w->pl.name ? w->pl.name : o->scenario, w->n, w->pl.periods);
        rc = 1;
    } else {
        printf("sim: ok scenario=%s seed=%" PRIu64 " nodes=%d periods=%" PRIu64
               " virtual=%.1fs real=%.1fs final_period=%" PRIu64 " final_blocks=%zu"
               " ops_final=%zu/%" PRIu64 " (exempt %" PRIu64 ", refused %" PRIu64
               ", to the byzantine node %" PRIu64 ") second_blocks=%" PRIu64 " (taken %" PRIu64
               ") frames=%" PRIu64 " bytes=%" PRIu64 " connections=%" PRIu64 " breaks=%" PRIu64
               " closes=%" PRIu64 " bans=%" PRIu64 " adoptions=%d state_transfers=%" PRIu64
               " (failed %" PRIu64 ") state_records=%" PRIu64 " state_parts_served=%" PRIu64
               " state_checks_confirmed=%" PRIu64 "\n",
               w->pl.name, o->seed, w->n, w->pl.periods, virt, real, min_final, nfinal,
               w->nops - w->ops_exempt, w->ops_submitted, w->ops_exempt, w->ops_refused,
               w->ops_submitted - w->ops_refused - w->nops, w->doubles_made, w->doubles_taken,
               ns.frames, ns.bytes, ns.connections,
               ns.breaks_drop + ns.breaks_dup + ns.breaks_stall + ns.resets_crash, w->closes,
               w->bans, w->adoptions, st.state_transfers, st.state_failures, st.state_records_in,
               st.state_parts_out, st.state_confirmed);
    }
    fflush(stdout);
    teardown(w);
    free(w);
    return rc;
}
