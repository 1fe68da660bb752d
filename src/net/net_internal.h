/* net_internal — the protocol core's state, shared by its files (internal to src/net):
 *   core.c    connections, handshake, dispatch, timers, actions, stats
 *   blocks.c  header push, body pull, asks in flight, sync, blocks the chain cannot take yet
 *   gossip.c  operation announcements, operation and endorsement exchange
 *   book.c    address book, dial policy, peer lists, bans, whitelist
 *   idset.c   bounded id sets and an id → pointer map
 *   wire.c    the messages (net_wire.h)
 */
#ifndef WEFT_NET_INTERNAL_H
#define WEFT_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "net/net_wire.h"

/* Bounds of the core's own memory (docs/protocol.md "Limits"). */
#define NET_MAX_WANTS 16384  /* blocks wanted (asked or waiting for a peer) */
#define NET_WANT_TRIED 8     /* peers remembered per want before starting over */
#define NET_WANT_ROUNDS 4    /* rounds over every peer before a want is dropped */
#define NET_SENDERS_MAX 8192 /* recent blocks whose senders are remembered */
#define NET_SENDERS_PER_BLOCK 4
#define NET_OP_MAP_MAX 262144   /* operation ids known by prefix */
#define NET_OP_ASKED_MAX 65536  /* operation prefixes asked recently */
#define NET_OP_RECENT_MAX 65536 /* recent operations announced again to new peers … */
#define NET_OP_RECENT_MS 60000  /* … if admitted within this long */
#define NET_OPS_PER_FRAME 512   /* per OPS frame sent: a signature check each at the receiver */
#define NET_LATER_MAX 4096      /* blocks kept for a later resubmission … */
#define NET_LATER_BYTES (256u << 20) /* … and their operation bytes */
#define NET_LATER_RETRY_MS 250       /* how often the first of them is tried again, doubled … */
#define NET_LATER_RETRY_MAX_MS 4000  /* … while the chain takes nothing, up to this */
#define NET_LATER_TTL_MS 300000      /* … given up after this long */
#define NET_SYNC_BUFFER_BYTES (64u << 20) /* received sync blocks waiting for earlier ones */
#define NET_SYNC_LAG 1                    /* a peer this many final periods ahead is synced from */
#define NET_DEFERRED_MAX 4096             /* missing blocks noted while syncing */
#define NET_BOOK_MAX 1024                 /* addresses */
#define NET_MAX_BANS 4096
#define NET_MAX_WHITELIST 256
#define NET_DIAL_TIMEOUT_MS 30000 /* a dial the shell never reported is a failure */

/* ---- idset.c --------------------------------------------------------------------------------- */

uint64_t net_key_hash(const uint8_t *key, uint32_t klen, uint64_t seed);

/* A set of at most max 32-byte keys, compared (and hashed) on their first klen bytes, each with
 * vsize bytes of value; when full, inserting evicts the oldest key.  Memory grows with use. */
typedef struct net_lru {
    uint32_t max, klen, vsize;
    uint8_t *keys; /* ring of cap keys */
    uint8_t *vals; /* ring of cap values (vsize > 0) */
    uint32_t cap, head, count;
    uint32_t *table; /* ring position + 1; 0 = empty */
    uint32_t tcap;
    uint64_t seed;
} net_lru;
void net_lru_init(net_lru *s, uint32_t max, uint32_t klen, uint32_t vsize, uint64_t seed);
void net_lru_free(net_lru *s);
/* The value of key (or, in a set without values, the stored key), or NULL; *stored_key (may be
 * NULL) receives the stored 32 bytes. */
void *net_lru_get(const net_lru *s, const uint8_t *key, const uint8_t **stored_key);
bool net_lru_has(const net_lru *s, const uint8_t *key);
/* Inserts key if absent (zeroed value; *fresh = true) and returns its value (or stored key);
 * NULL when out of memory. */
void *net_lru_put(net_lru *s, const uint8_t key[32], bool *fresh);
/* The i-th oldest entry (i < count): its value (or stored key), *key its stored 32 bytes. */
void *net_lru_at(const net_lru *s, uint32_t i, const uint8_t **key);

typedef struct net_pmap_slot {
    uint8_t key[32];
    void *v; /* NULL: empty */
} net_pmap_slot;
typedef struct net_pmap {
    net_pmap_slot *slots;
    uint32_t cap, count;
    uint64_t seed;
} net_pmap;
void net_pmap_init(net_pmap *m, uint64_t seed);
void net_pmap_free(net_pmap *m);
void *net_pmap_get(const net_pmap *m, const uint8_t key[32]);
WEFT_MUST_USE weft_err net_pmap_put(net_pmap *m, const uint8_t key[32], void *v);
void *net_pmap_del(net_pmap *m, const uint8_t key[32]);

/* ---- peers ----------------------------------------------------------------------------------- */

typedef enum net_hs {
    NET_HS_SENT = 1,  /* our HANDSHAKE is out */
    NET_HS_GOT = 2,   /* theirs checked, our PROOF is out: waiting for theirs */
    NET_HS_READY = 3, /* keys proven: HELLO exchanged, everything else allowed */
} net_hs;

typedef struct net_peer {
    net_peer_id id;
    bool outbound, closing, whitelisted;
    uint8_t hs; /* net_hs */
    char addr[NET_ADDR_MAX];
    char ip[NET_ADDR_MAX];
    uint8_t nonce[NET_NONCE_LEN]; /* ours, that the peer signs */
    pubkey_t node_id;
    bool has_node_id;
    uint16_t listen_port;
    uint64_t connected_ms;
    uint64_t bytes_in, msgs_in;
    uint64_t win_start, win_bytes;
    uint32_t win_msgs;
    uint64_t win_served; /* bytes of answers (blocks, operations) sent to it in the window */
    uint32_t win_checks; /* STATE_CHECKs it sent in the window */
    net_lru known_blocks, known_ops, known_endos; /* what the peer is known to have */
    uint32_t asks;                                /* blocks asked from it and not answered */
    net_hello *hello;                             /* its latest hello (owned), or NULL */
    uint64_t last_periodic_ms;
} net_peer;

/* ---- blocks ---------------------------------------------------------------------------------- */

typedef enum net_want_stage {
    NET_W_FULL = 1,  /* header unknown: ask the full block */
    NET_W_OPIDS = 2, /* header known (pushed): ask the operation ids */
    NET_W_OPS = 3,   /* header and ids known: ask the operations we lack */
} net_want_stage;

/* A block this node wants from its peers. */
typedef struct net_want {
    block_id_t id;
    uint8_t stage;
    bool sync;              /* an entry of the sync list (slot below) */
    bool queued;            /* in the queue waiting for a peer */
    slot_t slot;            /* sync entries */
    block_header_t *header; /* owned, once known */
    op_id_t *op_ids;        /* owned, NET_W_OPS */
    uint32_t op_count, missing;
    uint8_t **op_raw; /* owned wire bytes per operation, NULL while missing */
    size_t *op_len;
    net_peer_id asked; /* in flight from this peer (0: not in flight) */
    uint64_t asked_at;
    net_peer_id prefer; /* a peer known to have it (pushed its header, sent a child) */
    net_peer_id tried[NET_WANT_TRIED];
    uint32_t ntried, rounds;
} net_want;

/* Who supplied a block: its peer and what identifies it after a disconnect. */
typedef struct net_sender {
    net_peer_id peer;
    pubkey_t node_id;
    bool has_node_id;
    char ip[NET_ADDR_MAX];
} net_sender;

typedef struct net_senders {
    uint32_t n;
    net_sender s[NET_SENDERS_PER_BLOCK];
} net_senders;

/* A complete block in wire form, as it goes to the chain (and stays for a resubmission). */
typedef struct net_asm {
    block_header_t *header; /* owned */
    uint8_t **raw;          /* owned operations in wire form */
    size_t *lens;
    uint32_t count;
    size_t bytes;
    net_sender from;
    bool sync;
    uint64_t later_since; /* when the chain first said E_NODE_BLOCK_LATER (0: never) */
} net_asm;

typedef enum net_sync_state { NET_SE_NEED = 0, NET_SE_READY = 1, NET_SE_DONE = 2 } net_sync_state;
typedef struct net_sync_entry {
    block_id_t id;
    slot_t slot;
    uint8_t state;
    net_asm *blk; /* NET_SE_READY */
} net_sync_entry;

typedef struct net_sync {
    bool active;
    net_peer_id peer;
    bool ids_pending; /* a SYNC_ASK is out */
    uint64_t ids_asked_at;
    slot_t cursor; /* the next SYNC_ASK asks after this slot */
    bool more;
    net_sync_entry *e;
    size_t len, cap, next; /* e[next] is the next to submit */
    size_t buffered;       /* bytes of READY entries */
    uint32_t failures;
} net_sync;

/* An operation admitted lately, announced again to each peer that becomes ready (but its
 * sender) while within NET_OP_RECENT_MS. */
typedef struct net_op_recent {
    uint64_t at; /* when admitted (or admitted again) */
    pubkey_t from;
    bool has_from; /* received from the node `from` (else submitted locally, or not known) */
} net_op_recent;

/* ---- the final state in parts (state.c) ---------------------------------------------------- */

#define NET_STATE_TRIED 8                 /* peers remembered per round of a state transfer */
#define NET_STATE_ROOT_RETRY_MS 1000      /* a root block answered BLOCK_NOT_FOUND is asked … */
#define NET_STATE_ROOT_TRIES 4            /* … this many times before the peer is given up */
#define NET_STATE_MAX_TOTAL (64ull << 30) /* bytes of records one transfer may bring */
#define NET_STATE_PART_MAX (4u << 20)     /* records served per part, at most */

#define NET_STATE_CHECK_RETRY_MS 1000 /* a checker not final at the cursor is asked again … */
#define NET_STATE_CHECK_TRIES 10      /* … at most this many asks in all */
/* STATE_CHECKs answered per peer and rate window; beyond, a fault (an honest peer sends a few) */
#define NET_STATE_CHECKS_PER_WINDOW 32

enum { NET_ROOT_NEED = 0, NET_ROOT_ASKED = 1, NET_ROOT_GOT = 2 };
/* A peer asked for its fingerprint at the transfer's cursor (STATE_CHECK). */
enum { NET_CHECKER_ASKED = 1, NET_CHECKER_WAIT = 2, NET_CHECKER_DONE = 3 };
typedef struct net_state_checker {
    net_peer_id peer;
    uint8_t state;
    uint8_t tries; /* STATE_CHECKs sent */
    uint64_t at;   /* asked at (ASKED), or to ask again at (WAIT) */
} net_state_checker;
typedef struct net_state_root {
    block_id_t id;
    slot_t slot;
    uint8_t state;
    uint8_t tries; /* BLOCK_NOT_FOUND answers */
    uint64_t at;   /* asked at, or not to be asked before (NEED) */
} net_state_root;

/* A transfer of a peer's final state (the fetching side). */
typedef struct net_state_fetch {
    bool active;
    net_peer_id peer;  /* 0: lost, another is chosen at the next tick */
    net_sender server; /* the serving peer's identity: banned for a fault found after it left */
    bool began;        /* the first part came: cursor, fingerprint and roots are known */
    bool ask_pending;  /* a STATE_ASK is out */
    uint64_t asked_at;
    slot_t cursor;
    uint8_t fp[NET_STATE_FP_LEN];
    bool has_after; /* the next part starts after this record … */
    uint8_t after_table;
    uint8_t after_key[NET_STATE_MAX_KEY];
    uint32_t after_klen;
    /* … or, not empty, goes on with its value: the bytes so far (≤ NET_STATE_MAX_VALUE) */
    wr_t val;
    bool more;        /* records left to ask */
    uint64_t bytes;   /* of records so far */
    uint64_t records; /* so far */
    net_state_root *roots;
    uint32_t nroots, roots_got, roots_asked;
    /* other peers checking the fingerprint at the cursor: those that confirm it, contradict it */
    net_state_checker checks[NET_STATE_CHECKERS];
    uint32_t nchecks, confirmed, contradicted;
    pubkey_t tried[NET_STATE_TRIED]; /* peers of this round */
    uint32_t ntried, failures;
    uint64_t retry_at; /* after a failed transfer: no new one before */
    bool done;         /* a transfer the chain adopts when it restarts: nothing more here */
} net_state_fetch;

/* ---- address book, bans ---------------------------------------------------------------------- */

typedef struct net_book_entry {
    char addr[NET_ADDR_MAX];
    char host[NET_ADDR_MAX];
    bool bootstrap, self, dialing;
    pubkey_t node_id;
    bool has_node_id;
    uint32_t failures;
    uint64_t next_dial_ms, dial_started_ms, last_ok_ms;
} net_book_entry;

typedef struct net_ban {
    bool is_ip;
    pubkey_t id;
    char ip[NET_ADDR_MAX];
    uint64_t until_ms;
} net_ban;

/* ---- the core -------------------------------------------------------------------------------- */

struct net_core {
    net_config cfg;
    const net_chain_vt *vt;
    void *ctx;
    net_wire_limits lim;
    uint64_t seed; /* keys the hash tables (derived from the node key) */
    uint64_t now;  /* latest time given by the shell */
    bool oom;      /* an allocation failed where no error could be returned: E_NOMEM next */

    net_peer **peers;
    size_t npeers, peers_cap;

    net_action *acts;
    size_t nacts, acts_cap;

    /* blocks */
    net_pmap wants;
    net_want **queue; /* wants waiting for a peer, in order */
    size_t qlen, qcap;
    bool sched_dirty;
    net_sync sync;
    net_asm **later; /* sorted by slot */
    size_t nlater, later_bytes;
    uint64_t later_next_ms, later_delay;
    net_lru senders; /* block id → net_senders */
    net_peer_id last_block_peer;
    block_id_t *deferred; /* missing blocks noted while syncing */
    size_t ndeferred;
    net_state_fetch stf; /* the final state in parts */

    /* operations */
    net_lru op_ids;    /* known operation ids, looked up by prefix */
    net_lru op_asked;  /* prefix → uint64_t time asked */
    net_lru op_recent; /* prefix → net_op_recent: announced to peers when they become ready */
    uint8_t *announce; /* pending prefixes, NET_OP_PREFIX_LEN each */
    size_t nannounce, announce_cap;
    uint64_t announce_since;

    /* peers' addresses and bans */
    net_book_entry *book;
    size_t nbook;
    net_ban *bans;
    size_t nbans;
    char (*white)[NET_ADDR_MAX];
    size_t nwhite;
    uint64_t last_dial_tick;

    net_stats st;
};

/* core.c */
net_peer *net_peer_find(net_core *c, net_peer_id id);
WEFT_MUST_USE weft_err net_send(net_core *c, net_peer *p, wr_t *frame);
WEFT_MUST_USE weft_err net_push_action(net_core *c, const net_action *a);
/* Closes a connection (once): CLOSE action, its asks go elsewhere. */
void net_peer_close(net_core *c, net_peer *p, weft_err reason, bool banned);
/* The peer is at fault: close and ban (its node id and IP), unless whitelisted. */
void net_peer_fault(net_core *c, net_peer *p, weft_err reason);
/* Whether a peer has used up its answer budget for the window (asks then get nothing or
 * BLOCK_NOT_FOUND, without reading the chain). */
static inline bool net_served_enough(const net_core *c, const net_peer *p)
{
    return !p->whitelisted && p->win_served >= c->cfg.max_bytes_per_window;
}
/* Ready, not closing. */
static inline bool net_peer_live(const net_peer *p) { return p->hs == NET_HS_READY && !p->closing; }
WEFT_MUST_USE weft_err net_send_hello(net_core *c, net_peer *p);

/* blocks.c */
WEFT_MUST_USE weft_err net_blocks_init(net_core *c);
void net_blocks_free(net_core *c);
WEFT_MUST_USE weft_err net_on_hello(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_header(net_core *c, net_peer *p, block_header_t *h);
WEFT_MUST_USE weft_err net_on_ask_block(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_block_op_ids(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_block_ops(net_core *c, net_peer *p, net_msg *m);
WEFT_MUST_USE weft_err net_on_block_full(net_core *c, net_peer *p, net_msg *m);
WEFT_MUST_USE weft_err net_on_not_found(net_core *c, net_peer *p, const block_id_t *id);
WEFT_MUST_USE weft_err net_on_sync_ask(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_sync_ids(net_core *c, net_peer *p, net_msg *m);
/* A peer is going away: its asks go back to the queue, the sync moves to another peer. */
void net_blocks_peer_gone(net_core *c, net_peer *p);
WEFT_MUST_USE weft_err net_blocks_tick(net_core *c);
WEFT_MUST_USE weft_err net_schedule(net_core *c);
WEFT_MUST_USE weft_err net_blocks_pending(net_core *c, const block_header_t *h);
WEFT_MUST_USE weft_err net_blocks_invalid(net_core *c, const block_id_t *id);
WEFT_MUST_USE weft_err net_blocks_missing(net_core *c, const block_id_t *ids, size_t n);

/* state.c */
/* Whether the state path takes this hello over (a transfer starts or is under way): then no sync
 * of blocks starts from it.  st: the chain's status. */
WEFT_MUST_USE weft_err net_state_on_hello(net_core *c, net_peer *p, const net_chain_status *st,
                                          bool *taken);
WEFT_MUST_USE weft_err net_on_state_ask(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_state_check(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_state_checked(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_state_part(net_core *c, net_peer *p, net_msg *m);
/* A BLOCK_FULL or BLOCK_NOT_FOUND that answers a root block of the transfer: *taken. */
WEFT_MUST_USE weft_err net_state_on_block_full(net_core *c, net_peer *p, net_msg *m, bool *taken);
WEFT_MUST_USE weft_err net_state_on_not_found(net_core *c, net_peer *p, const block_id_t *id,
                                              bool *taken);
void net_state_peer_gone(net_core *c, net_peer *p);
WEFT_MUST_USE weft_err net_state_tick(net_core *c);
void net_state_free(net_core *c);
void net_state_progress(const net_core *c, net_stats *out); /* the state_cur_* of a transfer */

/* gossip.c */
WEFT_MUST_USE weft_err net_on_endorsements(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_op_announce(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_op_ask(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_on_ops(net_core *c, net_peer *p, const net_msg *m);
WEFT_MUST_USE weft_err net_gossip_ops_admitted(net_core *c, const op_id_t *ids, size_t n);
WEFT_MUST_USE weft_err net_gossip_endorsements(net_core *c, const endorsement_t *e, size_t n);
WEFT_MUST_USE weft_err net_gossip_tick(net_core *c);
/* A peer became ready: announce the recent operations it is not known to have. */
WEFT_MUST_USE weft_err net_gossip_peer_ready(net_core *c, net_peer *p);
/* Sends OPS frames (split by count and size) with the operations of ids the chain has. */
WEFT_MUST_USE weft_err net_send_ops(net_core *c, net_peer *p, const op_id_t *ids, size_t n);

/* book.c */
bool net_ip_banned(const net_core *c, const char *ip, uint64_t now);
bool net_id_banned(const net_core *c, const pubkey_t *id, uint64_t now);
bool net_ip_whitelisted(const net_core *c, const char *ip);
/* Bans a faulty peer (its node id, and its IP unless loopback) and closes its connections with
 * reason; false (nothing banned) if its IP is whitelisted or nothing identifies it. */
bool net_ban_sender(net_core *c, const net_sender *s, weft_err reason, uint64_t now);
net_book_entry *net_book_find(net_core *c, const char *addr);
/* Adds a valid "host:port" (bounded book); returns the entry or NULL. */
net_book_entry *net_book_add(net_core *c, const char *addr, bool bootstrap);
void net_book_connected(net_core *c, net_peer *p);
void net_book_ready(net_core *c, net_peer *p);
void net_book_gone(net_core *c, net_peer *p, bool was_ready);
void net_book_refused(net_core *c, net_peer *p, uint8_t code);
WEFT_MUST_USE weft_err net_book_tick(net_core *c);
WEFT_MUST_USE weft_err net_on_peers_ask(net_core *c, net_peer *p);
WEFT_MUST_USE weft_err net_on_peers(net_core *c, net_peer *p, const net_msg *m);
void net_bans_free(net_core *c);
bool net_ip_is_loopback(const char *ip);

#endif
