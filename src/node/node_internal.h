/* node internals shared by the actor files of src/node (docs/node.md). */
#ifndef WEFT_NODE_INTERNAL_H
#define WEFT_NODE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "actor/actor.h"
#include "blocklog/blocklog.h"
#include "exec/exec.h"
#include "graph/graph.h"
#include "journal/journal.h"
#include "node/node.h"
#include "pool/pool.h"
#include "pos/pos.h"
#include "repo/repo.h"
#include "state/state.h"
#include "store/store.h"

/* ---- shared blocks --------------------------------------------------------------------------- */

/* A block with its operations, immutable once built and shared between actors by reference
 * count (the consensus actor keeps pending and recent final blocks; execution borrows them for the
 * length of an update message). */
typedef struct nblock {
    atomic_uint refs;
    block_t b;         /* header and op ids */
    signed_op_t *ops;  /* b.op_count decoded operations, in order */
    address_t creator; /* address of b.header.creator */
    /* for execution, built once (every update lists the blockclique's blocks again): */
    address_t *endorsers;        /* b.header.endorsement_count creators' addresses */
    const signed_op_t **op_ptrs; /* &ops[i] for every operation, in order */
    uint64_t parent_periods[MODEL_MAX_THREADS];
    uint64_t slot_time_ms;
} nblock;

nblock *nblock_ref(nblock *b);
void nblock_unref(nblock *b);
void nblock_free_fn(void *b); /* nblock_unref as an actor_free_fn */
/* References to blocks (MSG_POOL_CLIQUE); nblocks_free unrefs each and frees the list. */
typedef struct nblocks {
    nblock **b;
    size_t n;
} nblocks;
void nblocks_free(void *p);
/* Builds a block object from parts: takes ownership of *ops (count entries, malloc'd array of
 * signed ops) and copies the header; computes op ids and the ops hash check.  E_OPS_HASH if
 * the header's ops_hash does not match. */
WEFT_MUST_USE weft_err nblock_new(nblock **out, const block_header_t *h, signed_op_t *ops,
                                  uint32_t count, const uint64_t *parent_periods);
/* The block log record: block wire ‖ varint T ‖ T parent periods (varint) ‖ for each operation:
 * varint length ‖ signed op wire. */
WEFT_MUST_USE weft_err nblock_encode(const nblock *b, wr_t *w);
WEFT_MUST_USE weft_err nblock_decode(nblock **out, const model_params *p, const uint8_t *rec,
                                     size_t len);

/* ---- the selector (shared, read-mostly) ------------------------------------------------------ */

typedef struct nsel {
    pthread_rwlock_t lock;
    pos_selector_t *s;
} nsel;

WEFT_MUST_USE weft_err nsel_producer(nsel *s, slot_t slot, address_t *out);
WEFT_MUST_USE weft_err nsel_endorsers(nsel *s, slot_t slot, address_t *out);
WEFT_MUST_USE weft_err nsel_feed(nsel *s, const pos_lookback_t *lb);
bool nsel_has_cycle(nsel *s, uint64_t cycle);

/* ---- messages -------------------------------------------------------------------------------- */

enum {
    /* execution */
    MSG_EXEC_UPDATE = 100,     /* nupdate*: finalize then set blockclique (send BLOCK) */
    MSG_EXEC_BALANCES,         /* request nbalances*: candidate balances */
    MSG_EXEC_ADDRESS,          /* request node_address_info_t* (addr set) */
    MSG_EXEC_OP_STATUS,        /* request node_op_info_t* (fills exec fields), payload op id */
    MSG_EXEC_DATASTORE,        /* request ndsq* */
    MSG_EXEC_BYTECODE,         /* request ndsq* (key unused) */
    MSG_EXEC_EVENTS,           /* request nevq* */
    MSG_EXEC_STATUS,           /* request node_status_t* (exec fields) */
    MSG_EXEC_STAKERS,          /* request nstakers* */
    MSG_EXEC_READ_ONLY,        /* request nroq* */
    MSG_EXEC_OPS_EXECUTED,     /* request nexecq*: operations executed (speculative, final) */
    MSG_EXEC_FWD_BALANCES,     /* nfwd* (one-way): balances, the payload then forwarded (pool) */
    MSG_EXEC_FWD_OPS_EXECUTED, /* nfwd* (one-way): as MSG_EXEC_OPS_EXECUTED, then forwarded */
    MSG_EXEC_STATE_PART,       /* request nstpart*: a part of the final state for a peer */
    /* pool */
    MSG_POOL_ADD_OPS = 200, /* request nopsq*: admission (API senders use DROP) */
    MSG_POOL_ADD_ENDO,      /* endorsement_t* (send DROP) */
    MSG_POOL_REMOVE,        /* nids* executed/final operations to drop (send DROP) */
    MSG_POOL_SELECT,        /* request nselq* */
    MSG_POOL_GET,           /* request node_op_info_t* (pool fields) */
    MSG_POOL_STATUS,        /* request node_status_t* */
    MSG_POOL_GET_ENDO,      /* request node_endorsement_info_t* */
    MSG_POOL_TICK,          /* no payload: prune (timer) */
    MSG_POOL_ADD_ENDOS,     /* request nendoq*: endorsements from the network */
    MSG_POOL_NET_OPS,       /* request nnetops*: operations in wire form */
    MSG_POOL_NET_ADD_OPS,   /* nopsq* (owned, free_fn): checked operations from the network */
    MSG_POOL_NET_ADD_ENDOS, /* nendoq* (owned, free_fn): checked endorsements from the network */
    MSG_POOL_NET_BALANCES,  /* nfwd* from execution: balances of queued network operations */
    MSG_POOL_REVIEWED,      /* nfwd* from execution: which parked operations are executed */
    MSG_POOL_BALANCES,      /* nfwd* from execution: balances of creators a selection lacked */
    MSG_POOL_CLIQUE,        /* nblocks* from consensus: blockclique + unexecuted final (DROP) */
    /* consensus */
    MSG_CONS_TICK = 300,  /* slot timer */
    MSG_CONS_BLOCK,       /* nblock* from the factory (or the network), send BLOCK */
    MSG_CONS_PARENTS,     /* request nparents* */
    MSG_CONS_STATUS,      /* request node_status_t* */
    MSG_CONS_BLOCK_INFO,  /* request node_block_info_t* (id set) */
    MSG_CONS_BC_AT,       /* request nbcq* */
    MSG_CONS_INTERVAL,    /* request nintq* */
    MSG_CONS_CLIQUES,     /* request ncliq* */
    MSG_CONS_OP_BLOCKS,   /* request node_op_info_t* (in_blocks, op copy) */
    MSG_CONS_ENDO_BLOCKS, /* request node_endorsement_info_t* */
    MSG_CONS_NET_BLOCK,   /* nnetblock* (one-way, BLOCK, nnetblock_free): a peer's block */
    MSG_CONS_NET_HAS,     /* request nnetq* (found) */
    MSG_CONS_NET_GET,     /* request nnetq* (block reference or log record) */
    MSG_CONS_NET_OPS,     /* request nnetops*: operations of blocks in memory */
    MSG_CONS_NET_STATUS,  /* request node_net_status* (graph fields) */
    MSG_CONS_NET_RANGE,   /* request nrange* */
    MSG_CONS_STATE_ROOTS, /* request nrootq*: final blocks a state transfer restarts from */
    /* factory */
    MSG_FACT_TICK = 400,   /* slot timer */
    MSG_FACT_STAKING_ADD,  /* request nkeys* */
    MSG_FACT_STAKING_DEL,  /* request naddrs* */
    MSG_FACT_STAKING_LIST, /* request naddrs* (out) */
    MSG_FACT_STATUS,       /* request node_status_t* */
};

/* One execution update from consensus: slots to finalize (in order), then the blockclique content
 * from the final state's next slot on.  Owns references to its blocks. */
typedef struct nupdate {
    exec_slot_in *finalize;
    exec_block *fin_blocks; /* storage for finalize[i].block */
    nblock **fin_refs;      /* the nblock of fin_blocks[i] (or NULL for a miss) */
    size_t n_finalize;
    exec_slot_in *bc;
    exec_block *bc_blocks;
    nblock **bc_refs;
    size_t n_bc;
} nupdate;
void nupdate_free(void *p);

typedef struct nbalances {
    size_t n;
    address_t *addrs;
    amount_t *amounts; /* out: candidate balance, 0 if none */
} nbalances;

typedef struct nids {
    op_id_t *ids;
    size_t n;
} nids;
void nids_free(void *p);

typedef struct nexecq {
    const op_id_t *ids;
    size_t n;
    bool *spec; /* out: executed in the speculative history (or final) */
    bool *fin;  /* out: executed in a final slot */
} nexecq;

typedef struct nopsq {
    signed_op_t **ops; /* owned until admitted */
    size_t n;
    weft_err *results;
    uint64_t current_period;
    nbalances bal; /* the creators' candidate balances (MSG_POOL_ADD_OPS: pool_actor_admit) */
} nopsq;

/* A query to execution whose answer goes on to another actor as a one-way message (DROP:
 * execution never waits for an actor that may be waiting for it).  The payload starts with the
 * nfwd; it and its free function pass along. */
typedef struct nfwd {
    actor_t *to;
    uint32_t kind; /* of the message `to` gets */
    actor_free_fn free_fn;
    weft_err st;   /* out: the query's status */
    nbalances bal; /* MSG_EXEC_FWD_BALANCES */
    nexecq ex;     /* MSG_EXEC_FWD_OPS_EXECUTED (and _BALANCES when ex.n > 0) */
} nfwd;

typedef struct nselq {
    slot_t slot;
    block_id_t endorsed;
    pool_limits limits;
    /* out */
    signed_op_t *ops; /* copies */
    uint32_t op_count;
    endorsement_t endo[MODEL_MAX_ENDORSEMENTS];
    uint32_t endo_count;
} nselq;

typedef struct nparents {
    slot_t slot; /* the slot to produce or endorse for */
    /* out */
    block_id_t parents[MODEL_MAX_THREADS];
    uint64_t parent_periods[MODEL_MAX_THREADS];
    bool ok;
} nparents;

typedef struct ndsq {
    address_t addr;
    const uint8_t *key;
    size_t klen;
    bool final;
    node_ds_value_t *out;
    node_bytes_t *code;
} ndsq;

typedef struct nevq {
    const node_event_filter *f;
    node_event_t *out;
    size_t n, cap;
} nevq;

typedef struct nstakers {
    pos_stake_t *v;
    size_t n, cap;
} nstakers;

typedef struct nbcq {
    slot_t slot;
    block_id_t id;
} nbcq;

typedef struct nintq {
    uint64_t start_ms, end_ms;
    node_graph_item_t *items;
    size_t n, cap;
} nintq;

typedef struct ncliq {
    node_clique_t *v;
    size_t n;
} ncliq;

typedef struct nroq {
    const node_read_only_t *in;
    node_read_only_result_t *out;
} nroq;

typedef struct nkeys {
    const keypair_t *keys;
    size_t n;
} nkeys;

typedef struct naddrs {
    const address_t *addrs;
    size_t n;
    address_t *out;
    size_t out_n;
} naddrs;

/* ---- the network section (node_net.c) ----------------------------------------------------- */

/* At most this many peers' blocks are on their way to consensus (sent, not yet taken from its
 * mailbox): node_net_block waits for room, so that the network's thread verifies the next blocks
 * while consensus takes the previous ones, with bounded memory and room left in consensus's
 * mailbox for everything else. */
#define NODE_NET_BLOCKS_QUEUED 16

typedef struct nnetblock {
    node_t *n;
    nblock *b; /* the block (checked for everything but the graph); the handler takes it and sets
                * b to NULL */
} nnetblock;
/* Frees the message (the block if still there) and gives its place back (node_net_block). */
void nnetblock_free(void *q);
/* The producer's and the endorsers' draws of a block (its form checked): E_NODE_BLOCK for a
 * creator that was not drawn, E_POS_CYCLE_UNAVAILABLE when the slot's cycle is not drawn. */
WEFT_MUST_USE weft_err node_check_draws(node_t *n, const nblock *b);

typedef struct nnetq {
    block_id_t id;
    /* out */
    bool found;   /* known: memory, graph or block log */
    nblock *b;    /* MSG_CONS_NET_GET: a reference to the block in memory, or NULL … */
    uint8_t *rec; /* … else its block log record (malloc'd), or NULL */
    size_t len;
    bool is_final;
} nnetq;

typedef struct nnetops {
    const op_id_t *ids;
    size_t n;
    node_bytes_t *out; /* entries still empty (len 0) are looked up and filled (malloc'd wire) */
} nnetops;

typedef struct nrange {
    slot_t after;
    size_t max;
    /* out */
    block_id_t *ids; /* malloc'd */
    slot_t *slots;   /* malloc'd */
    size_t n;
    bool more;
    slot_t oldest_kept;
} nrange;

typedef struct nendoq {
    const endorsement_t *e;
    size_t n;
    weft_err *results; /* in: WEFT_OK for the entries to admit (others are skipped); out */
} nendoq;

/* ---- the final state in parts (state_sync.c) ------------------------------------------------ */

typedef struct nstpart {
    const node_state_ask *ask;
    node_state_part *out; /* status, cursor, fingerprint, records */
} nstpart;

typedef struct nrootq {
    slot_t cursor;
    /* out */
    block_id_t *ids; /* malloc'd, slot order */
    slot_t *slots;
    size_t n;
    bool ok; /* every thread has one */
} nrootq;

typedef struct node_import node_import;
void node_import_free(node_import *imp);
/* At start, before the actors: adopts a complete import of REPO/import (docs/node.md "State
 * transfer"); nothing to do without one.  Errors: storage and I/O (the node does not start). */
WEFT_MUST_USE weft_err node_adopt_import(repo_t *repo, const model_params *p, char *err,
                                         size_t errcap);

/* ---- the node -------------------------------------------------------------------------------- */

typedef struct exec_actor exec_actor;
typedef struct pool_actor pool_actor;
typedef struct cons_actor cons_actor;
typedef struct fact_actor fact_actor;

struct node {
    repo_t *repo;
    model_params params;
    actor_clock_t *clock;
    actor_system_t *sys;
    actor_t *a_exec, *a_pool, *a_cons, *a_fact;
    exec_actor *ex;
    pool_actor *po;
    cons_actor *co;
    fact_actor *fa;
    nsel sel;
    block_header_t genesis[MODEL_MAX_THREADS];
    address_t genesis_creator;
    void (*on_stop)(void *);
    void *on_stop_ctx;
    void (*exec_gate)(void *ctx); /* node_options.exec_gate (tests), or NULL */
    void *exec_gate_ctx;
    atomic_bool stop_requested;
    struct nsigcache *sigs; /* operation signatures verified (sigcache.h) */
    struct npar *par;       /* signature verification workers (npar.h) */
    atomic_uint_fast64_t blocks_produced, endorsements_produced, ops_final;
    atomic_uint_fast64_t slots_undrawn; /* factory ticks without the draws of their slot */
    atomic_uint_fast64_t final_blocks, stale_blocks;
    const node_net_events *net; /* node_options.net (borrowed), or NULL */
    node_import *imp;           /* a final state being imported (the network thread's) */
    atomic_bool restart_requested;
    pthread_mutex_t net_mu; /* with net_cv: room for peers' blocks (NODE_NET_BLOCKS_QUEUED) */
    pthread_cond_t net_cv;
    uint32_t net_queued;
};

/* The network sink's callbacks (node_options.net), called from actor threads; each does nothing
 * when the sink or the callback is absent. */
static inline void node_ev_block_pending(const node_t *n, const block_header_t *h)
{
    if (n->net && n->net->block_pending)
        n->net->block_pending(n->net->ctx, h);
}

static inline void node_ev_block_invalid(const node_t *n, const block_id_t *id, weft_err r)
{
    if (n->net && n->net->block_invalid)
        n->net->block_invalid(n->net->ctx, id, r);
}

static inline void node_ev_blocks_missing(const node_t *n, const block_id_t *ids, size_t k)
{
    if (k && n->net && n->net->blocks_missing)
        n->net->blocks_missing(n->net->ctx, ids, k);
}

static inline void node_ev_ops_admitted(const node_t *n, const op_id_t *ids, size_t k)
{
    if (k && n->net && n->net->ops_admitted)
        n->net->ops_admitted(n->net->ctx, ids, k);
}

static inline void node_ev_endorsements(const node_t *n, const endorsement_t *e, size_t k)
{
    if (k && n->net && n->net->endorsements_admitted)
        n->net->endorsements_admitted(n->net->ctx, e, k);
}

/* The pool's configuration: pool_config_default with the repository's
 * node.pool_max_ops_per_thread (the pool actor, and the signature cache sized from it). */
void node_pool_config(const node_t *n, pool_config *out);

/* Builds and registers each actor (node.c calls them in dependency order). */
WEFT_MUST_USE weft_err exec_actor_add(node_t *n);
WEFT_MUST_USE weft_err pool_actor_add(node_t *n);
WEFT_MUST_USE weft_err cons_actor_add(node_t *n);
WEFT_MUST_USE weft_err fact_actor_add(node_t *n);
/* Arms the periodic timers once the system has started (node_start calls them). */
void pool_actor_start_ticks(pool_actor *a);
/* Admission of checked operations (MSG_POOL_ADD_OPS) with the creators' balances asked of
 * execution first, on the caller's thread: the pool never waits for execution.  Errors of either
 * call. */
WEFT_MUST_USE weft_err pool_actor_admit(node_t *n, nopsq *q);
/* The distinct creators of ops[0..n) (NULL entries skipped); *out malloc'd.  E_NOMEM. */
WEFT_MUST_USE weft_err node_op_creators(signed_op_t *const *ops, size_t n, address_t **out,
                                        size_t *count);
void cons_actor_start_ticks(cons_actor *a);
void fact_actor_start_ticks(fact_actor *a);
void exec_actor_free(exec_actor *a);
/* The fingerprint of the final state at final slot s, from any thread (fpring_get over the ring
 * and the cursor execution last put). */
node_fp_status exec_actor_fingerprint(exec_actor *a, slot_t s, uint8_t fp[NODE_STATE_FP_LEN]);
/* The next slot to finalize as execution last published it; false before execution started. */
bool exec_actor_final_next(exec_actor *a, slot_t *out);
void pool_actor_free(pool_actor *a);
void cons_actor_free(cons_actor *a);
void fact_actor_free(fact_actor *a);

/* A request with a caller-owned payload (no free function): actor_call with the node timeout. */
WEFT_MUST_USE weft_err node_call(actor_t *to, uint32_t kind, void *payload);
/* The end of every actor handler: a message of an unknown kind is logged and its payload freed
 * (E_INVAL), then a request gets its status. */
weft_err node_msg_unknown(const char *actor, actor_msg_t *m);
void node_msg_done(actor_msg_t *m, weft_err status);
/* Arms a wall-clock timer delivering `kind` to `to` at the start of the next slot; returns the
 * timer id (0 if the clock is past the end of time or the system stopped). */
actor_timer_id node_timer_next_slot(node_t *n, actor_t *to, uint32_t kind);
/* The current period at the node's clock (0 before genesis). */
uint64_t node_current_period(const node_t *n);
/* The signatures of ops[0..count) (through the signature cache, over the verification workers):
 * results[i] WEFT_OK or E_SIGNATURE. */
void node_verify_operations(node_t *n, signed_op_t *const *ops, size_t count, weft_err *results);
/* Checks operations before the pool: signatures (node_verify_operations), then expiry against
 * `period` (E_POOL_EXPIRED). Each refused one is freed and its entry set to NULL, its error in
 * results[i]. Returns how many are left. */
size_t node_check_operations(node_t *n, signed_op_t **ops, size_t count, weft_err *results,
                             uint64_t period);
/* Deep copy of a signed operation. */
WEFT_MUST_USE weft_err node_op_copy(signed_op_t *dst, const signed_op_t *src, uint64_t chain_id);

#endif
