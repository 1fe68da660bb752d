/* A fake chain and a tiny in-memory network for the protocol core's tests (test_net_core.c).
 *
 * fchain: blocks by id (real signed headers and operations built with src/model, so signatures
 * verify), a pool of operations and endorsements, and a queue of node events (block pending,
 * invalid, missing; operations and endorsements admitted) that the network drains into the core
 * after every step, as weftd's event queue does.  Every block taken is final at once (final
 * periods and final_range follow), which is all the core needs to see.
 *
 * tnet: nodes (a core over an fchain, or a "raw" peer scripted by the test), connections with a
 * queue per direction and lane, and a pump that moves actions between cores: SEND frames are
 * delivered one per direction per step, CONTROL before BULK; CLOSE closes a connection once the
 * closing side's queued frames are delivered; DIAL connects to the node listening on the address
 * (or reports a failed dial).  Time is virtual (tnet.now).
 */
#ifndef WEFT_NET_HARNESS_H
#define WEFT_NET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "net/net.h"

#define TN_T 4 /* threads */
#define TN_CHAIN 0x5745465431ULL
#define TN_MAX_NODES 8
#define TN_MAX_CONNS 64

typedef struct fblock {
    block_header_t h;
    uint32_t n;
    op_id_t *ids;
    uint8_t **ops;
    size_t *lens;
} fblock;

enum fevent_kind { FE_PENDING = 1, FE_INVALID, FE_MISSING, FE_OPS, FE_ENDOS };
typedef struct fevent {
    int kind;
    const fblock *b;
    block_id_t id;
    op_id_t op;
    endorsement_t e;
} fevent;

/* A record of the fake final state (state transfer). */
typedef struct fsrec {
    uint8_t table;
    uint32_t klen, vlen;
    uint8_t key[48];
    uint8_t val[48];
} fsrec;

typedef struct fchain {
    fblock **tab; /* open addressing by id */
    size_t tcap, count;
    fblock **all; /* taken blocks, in the order taken */
    size_t nall, allcap;
    fblock **waiting;
    size_t nwaiting;
    uint64_t final_periods[TN_T];
    block_id_t heads[TN_T];
    slot_t head_slots[TN_T];
    struct {
        op_id_t id;
        uint8_t *b;
        size_t len;
    } * pool;
    size_t npool;
    endorsement_t *endos;
    size_t nendos;
    fevent *ev;
    size_t nev, evcap;
    /* knobs */
    bool mute_pending;     /* taken blocks fire no pending event */
    uint64_t later_gate;   /* blocks of a period above it: E_NODE_BLOCK_LATER (0: off) */
    block_id_t invalid_id; /* taken, then reported invalid by the "graph" */
    bool has_invalid_id;
    block_id_t reject_id; /* verdict E_NODE_BLOCK */
    bool has_reject_id;
    bool trust; /* no signature checks (benchmarks: the core's own cost) */
    /* observations */
    size_t submits, taken_from_net;
    slot_t *taken_slots; /* slots of the blocks taken from the network, in order */
    size_t ntaken_slots;
    size_t ops_submitted;
    /* the final state (records in key order) at st_cursor, served in parts when st_serve */
    fsrec *st;
    size_t nst;
    slot_t st_cursor;
    bool st_serve;
    uint64_t kept_from;  /* blocks of periods below it are gone (status, final_range, get_block) */
    bool refuse_old;     /* an unknown block at or below its thread's final period: OLD_PERIOD */
    uint32_t st_gone_at; /* the Nth ask with a cursor is answered GONE (0: never) */
    int st_corrupt;      /* the record of this index is served with a changed value (-1: off) */
    uint32_t st_asks;
    bool check_lie; /* fingerprint checks at st_cursor answered with another fingerprint */
    size_t checks;  /* fingerprint checks answered */
    /* an import under way (the fetching side) */
    bool imp_on, imp_adopt_later;
    slot_t imp_cursor;
    uint8_t imp_fp[NET_STATE_FP_LEN];
    fsrec *imp;
    size_t nimp;
    block_id_t *imp_root_ids;
    slot_t *imp_root_slots;
    uint32_t imp_nroots;
    fblock **imp_roots; /* received, by root index */
    size_t imp_begins, imp_aborts, imp_finishes;
} fchain;

void fc_init(fchain *c);
void fc_free(fchain *c);
const fblock *fc_get(const fchain *c, const block_id_t *id);
/* Produces the block of (period, thread) on the current heads with nops new transactions,
 * signed by key; taken at once (pending event unless muted).  Returns it. */
const fblock *fc_produce(fchain *c, const keypair_t *key, uint64_t period, uint8_t thread,
                         uint32_t nops);
/* A new signed transaction (unique) in wire form: *id, malloc'd bytes. */
uint8_t *fc_make_op(const keypair_t *key, size_t *len, op_id_t *id);
/* Adds an operation to the pool (no event). */
void fc_pool_add(fchain *c, const uint8_t *op, size_t len, const op_id_t *id);
bool fc_pool_has(const fchain *c, const op_id_t *id);
/* Inserts a copy of a block taken elsewhere (no event). */
void fc_insert_copy(fchain *c, const fblock *b);
extern const net_chain_vt fc_vt;
/* n records of distinct keys over the state tables (deterministic from seed), in key order. */
void fc_state_fill(fchain *c, size_t n, uint32_t seed);
/* The fake state's fingerprint: XOR of BLAKE3-XOF-64(table ‖ key ‖ value) per record. */
void fc_state_fp(const fsrec *r, size_t n, uint8_t out[NET_STATE_FP_LEN]);

/* The genesis headers (signed by a fixed key) and thread 0's id. */
void tn_genesis_init(void);
const block_id_t *tn_genesis_id(void);

typedef struct tframe {
    uint8_t *b;
    size_t len;
} tframe;

typedef struct tqueue {
    tframe *f;
    size_t head, len, cap;
} tqueue;

typedef struct tnode {
    bool raw; /* scripted by the test: frames to it land in inbox */
    fchain ch;
    net_core *core;
    net_config cfg;
    keypair_t key;
    char ip[NET_ADDR_MAX];
    char addr[NET_ADDR_MAX]; /* "ip:port" it listens on */
    bool listening;
    tqueue inbox; /* raw nodes */
    /* observations */
    weft_err last_close_reason;
    bool last_close_banned;
    size_t closes, dials;
} tnode;

typedef struct tconn {
    int a, b;           /* a opened it */
    net_peer_id pa, pb; /* the connection's handle at a and at b */
    bool open;
    bool closing[2]; /* [0]: a asked to close, [1]: b */
    tqueue q[2][2];  /* [direction 0: a→b, 1: b→a][lane] */
} tconn;

typedef struct tnet tnet;
struct tnet {
    tnode n[TN_MAX_NODES];
    int nn;
    tconn c[TN_MAX_CONNS];
    int nc;
    uint64_t now;
    net_peer_id next_id;
    uint64_t rng;
    /* frames sent, by [from][to][type] and whether any went on the wrong lane */
    uint32_t sent[TN_MAX_NODES][TN_MAX_NODES][256];
    uint32_t lane_errors;
    uint32_t bulk_sends, control_sends;
    int drop_from, drop_to; /* drop frames on this direction (-1: none) */
    uint8_t drop_type;      /* … of this type (0: every type) */
    uint8_t lane_seen[256]; /* per type: 1 CONTROL, 2 BULK (or both) */
    /* sees every frame sent (before any drop) */
    void (*tap)(tnet *t, int from, int to, const uint8_t *frame, size_t len);
    void *tap_ctx;
};

void tn_init(tnet *t);
void tn_free(tnet *t);
/* Adds a node (core over a fresh fchain) with the default test config, adjusted by cfg_fn. */
int tn_add(tnet *t, const char *ip, uint16_t port, void (*cfg_fn)(net_config *c, void *ctx),
           void *ctx, const char *const *boot, size_t nboot);
int tn_add_raw(tnet *t, const char *ip);
/* Opens a connection from a to b (both ends told); returns its index. */
int tn_connect(tnet *t, int a, int b);
/* Moves actions, frames and events until nothing moves (asserts progress ends). */
void tn_pump(tnet *t);
/* Ticks every core at t->now, then pumps. */
void tn_tick(tnet *t);
/* A frame from a raw node on connection ci. */
void tn_raw_send(tnet *t, int ci, int from, const uint8_t *frame, size_t len);
/* The next frame the raw node received (type), or 0; the frame is returned in *f (free it). */
uint8_t tn_raw_next(tnet *t, int raw, tframe *f);
bool tn_ready(tnet *t, int node, int other);
size_t tn_ready_count(tnet *t, int node);
bool tn_conn_open(const tnet *t, int ci);
/* The connection drops (both ends told, queued frames lost). */
void tn_close(tnet *t, int ci);

/* The fuzz environment (fuzz/net_frame): one core over a fake chain holding two blocks (of 2 and
 * 1 operations), one pool operation and a final state of 40 records at slot (1, 1), with a raw peer
 * (handle 1, IP 10.1.1.1, key of node 1) past the handshake.  Deterministic: every id is the same
 * in every process. */
#define FZ_PEER 1
typedef struct fz_env {
    fchain ch;
    net_core *core;
    keypair_t node, raw;
    uint64_t now;
    bool closed, banned;
    weft_err reason;
    const fblock *blocks[2];
    op_id_t pool_op;
} fz_env;
void fz_init(fz_env *e);
/* Feeds data as a sequence of frames (each cut by its own length prefix; a bad prefix sends the
 * rest as one frame), settling actions and chain events after each, then runs the timers. */
void fz_feed(fz_env *e, const uint8_t *data, size_t size);
void fz_free(fz_env *e);
/* Resets the counter that makes every fc_make_op operation unique. */
void fc_reset_ops(void);

#endif
