/* net — the peer-to-peer protocol core (DESIGN §5 "Layers", seeds 000/002/003; the wire format is
 * docs/protocol.md).
 *
 * Pure: bytes and time in, bytes and actions out.  The core never does I/O, never reads a clock
 * and keeps no global state; time (now_ms, milliseconds of the caller's clock) and randomness (the
 * handshake nonces) are arguments.  The same core runs in weftd (the libuv shell, net_link.h) and
 * in the simulator (tests/sim) over simulated links.
 *
 * Layers (seed 003): the shell is the link (framed messages over a connection); the core is the
 * transport (two priority lanes per connection, directed sends and broadcast) and the protocol
 * (handshake, hello, header push / body pull, endorsement push, operation announcements, sync,
 * peer lists, bans).  The chain (graph, block log, pool) stays in the node: the core reaches it
 * only through net_chain_vt, a set of synchronous callbacks that the shell implements over
 * node.h's network section (and the simulator over its in-process nodes).
 *
 * A peer connection goes: CONNECTED (the shell calls net_core_connected) → HANDSHAKE (each side
 * sends version, chain id, genesis id, node id and a random nonce; each proves its node key by
 * signing the other's nonce) → READY (hello exchanged: final periods and heads per thread) →
 * closed (net_core_disconnected, or a NET_ACT_CLOSE the core asked for).
 *
 * Ownership: a net_core owns everything it allocates; actions taken with net_core_take_actions
 * belong to the caller (net_actions_free).  Frames given to net_core_received are borrowed.
 * Errors: bad input from a peer never fails a call — it becomes a NET_ACT_CLOSE action (with a
 * ban when the peer is at fault); functions return E_NOMEM (the core is then unusable: the shell
 * stops the network) or E_INVAL for a bad argument from the shell (an unknown peer handle).
 * Thread-safety: none; one thread (the net shell) owns a core.
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

/* 2: HELLO carries kept_from, STATE_ASK / STATE_PART; 3: values in pieces */
#define NET_PROTOCOL_VERSION 4
#define NET_FRAME_HEADER 5       /* u32 big-endian length of the rest ‖ u8 message type */
#define NET_MAX_FRAME (8u << 20) /* largest frame body accepted (a full block fits) */
#define NET_OP_PREFIX_LEN 17     /* operations are announced by id prefix (as Massa) */
#define NET_ADDR_MAX 64          /* "host:port" with NUL */
#define NET_MAX_PEERS_IN_LIST 100
#define NET_STATE_PEERS_MAX 16 /* node ids the final state may come from (p2p.state_peers) */

typedef uint32_t net_peer_id; /* the shell's handle for a connection; never 0 */

/* Lanes of one connection: the shell writes every queued CONTROL frame before any BULK frame
 * (seed 003: consensus and control traffic never waits behind block bodies or operation
 * batches).  CONTROL: handshake, hello, headers, endorsements, asks, sync control, peer lists.
 * BULK: block bodies (operation id lists and operations), operation batches.  The core relies on
 * each lane delivering in order and on a BULK frame never overtaking an earlier CONTROL frame (a
 * TCP connection written as above does both); a simulated link must keep that order too. */
typedef enum net_lane { NET_LANE_CONTROL = 0, NET_LANE_BULK = 1 } net_lane;

typedef struct net_config {
    uint64_t chain_id;
    block_id_t genesis_id; /* thread 0's genesis block: peers must agree */
    uint32_t thread_count;
    keypair_t node_key;   /* copied; the node id is its public key */
    uint16_t listen_port; /* advertised to peers for their peer lists; 0: not listening */
    /* limits and timers (net_config_default sets them) */
    uint32_t max_frame;            /* NET_MAX_FRAME */
    uint64_t handshake_timeout_ms; /* 10,000 */
    uint64_t ask_timeout_ms;       /* 10,000: an unanswered ask goes to another peer */
    uint32_t max_asks_per_peer;    /* 128 blocks asked and not yet received, per peer */
    uint32_t max_known_per_peer;   /* 8,192 ids remembered as known by each peer */
    uint64_t op_announce_ms;       /* 300: announcements are batched … */
    uint32_t op_announce_max;      /* 2,000: … or sent when this many are buffered */
    uint32_t max_ops_per_message;  /* 5,000 */
    uint64_t ban_ms;               /* 3,600,000: how long a faulty peer stays banned */
    uint64_t rate_window_ms;       /* 1,000 */
    uint64_t max_bytes_per_window; /* 64 MiB received per peer per window */
    uint32_t max_msgs_per_window;  /* 20,000 messages per peer per window */
    uint32_t sync_batch;           /* 512 final block ids per sync answer */
    uint32_t outbound_target;      /* 8 outbound connections wanted */
    uint32_t max_inbound;          /* 32 */
    uint32_t max_per_ip;           /* 4 connections per IP address */
    uint64_t dial_backoff_min_ms;  /* 500, doubled per failure … */
    uint64_t dial_backoff_max_ms;  /* … up to 60,000 */
    uint64_t peer_list_ms;         /* 30,000: peer lists are exchanged this often */
    /* state transfer (docs/protocol.md "State transfer") */
    uint64_t state_after_periods; /* 0: fetch the final state only from a peer that no longer
                                     keeps the blocks after ours; N: also when a peer's final
                                     period is more than N ahead of ours */
    uint32_t state_part_bytes;    /* 1 MiB of records asked per STATE_ASK */
    uint64_t state_retry_ms;      /* 30,000: after a failed transfer, the next one waits this */
    /* the node ids the final state may be fetched from (p2p.state_peers); none: any peer */
    pubkey_t state_peers[NET_STATE_PEERS_MAX];
    uint32_t state_peer_count;
    /* 0: a fetched state is adopted unless other peers contradict its fingerprint (more of them
       than confirm it); N ≤ NET_STATE_CHECKERS: and at least N peers other than its server
       confirm it (p2p.state_confirmations; net_core_new refuses more) */
    uint32_t state_confirmations;
} net_config;

/* Fills the limits and timers with the defaults above; identity fields are zeroed. */
void net_config_default(net_config *c);

/* ---- the chain, as the core sees it ------------------------------------------------------------
 */

typedef struct net_chain_status {
    uint32_t thread_count;
    uint64_t final_periods[MODEL_MAX_THREADS];
    block_id_t heads[MODEL_MAX_THREADS];
    slot_t head_slots[MODEL_MAX_THREADS];
    uint64_t kept_from; /* every final block from this period on is kept (0: all of them) */
} net_chain_status;

typedef struct net_block {
    block_header_t header;
    op_id_t *op_ids; /* owned by the chain callback's caller: free with net_block_free */
    uint32_t op_count;
    uint8_t **ops; /* with ops: op_count signed operations in wire form … */
    size_t *op_lens;
    bool is_final;
} net_block;
void net_block_free(net_block *b);

/* ---- the final state in parts (docs/protocol.md "State transfer") ---------------------------- */

#define NET_STATE_FP_LEN 64             /* the final state's fingerprint (state.h STATE_FP_LEN) */
#define NET_STATE_TABLES 12             /* tables 1..11 travel; table 0 (metadata) never does */
#define NET_STATE_MAX_KEY 511           /* state.h STATE_MAX_KEY_LEN */
#define NET_MAX_STATE_ROOTS 4096        /* final blocks a transfer starts the graph from */
#define NET_MAX_STATE_RECORDS 65536     /* records per STATE_PART */
#define NET_STATE_MAX_VALUE (16u << 20) /* a record's value (state.h STATE_MAX_VALUE_LEN) */

typedef enum net_state_status {
    NET_STATE_OK = 0,
    NET_STATE_GONE = 1,        /* the asked cursor is no longer served: start over */
    NET_STATE_BUSY = 2,        /* no room for another transfer now: later, or another peer */
    NET_STATE_UNAVAILABLE = 3, /* the peer cannot serve its state (none yet, blocks missing) */
} net_state_status;

#define NET_STATE_CHECKERS 4 /* peers asked to check a transfer's fingerprint */

/* The answer to a fingerprint check (STATE_CHECKED): a peer's final state at a slot. */
typedef enum net_check_status {
    NET_CHECK_KNOWN = 0,    /* its fingerprint follows */
    NET_CHECK_AHEAD = 1,    /* the slot is not final there yet */
    NET_CHECK_NOT_KEPT = 2, /* final there, but its fingerprint is not kept (too old, or from
                               before the peer's start) */
} net_check_status;

/* One record of the final state: borrowed bytes. */
typedef struct net_state_rec {
    uint8_t table; /* 1 .. NET_STATE_TABLES - 1 */
    uint32_t klen; /* 1 .. NET_STATE_MAX_KEY */
    const uint8_t *key;
    size_t vlen;
    const uint8_t *val;
} net_state_rec;

/* STATE_ASK: the part of a transfer after a record — or, after_offset > 0, the rest of that
 * record's value from that byte on, then the records after it. */
typedef struct net_state_ask {
    bool has_cursor; /* false: start a transfer of the peer's current final state */
    slot_t cursor;   /* the final slot of the transfer under way */
    bool has_after;  /* false: from the first record */
    uint8_t after_table;
    const uint8_t *after_key; /* borrowed */
    uint32_t after_klen;
    uint32_t after_offset; /* ≤ NET_STATE_MAX_VALUE; 0 unless has_after */
    uint32_t max_bytes;    /* of keys and values; at least one record or piece is sent */
} net_state_ask;

/* STATE_PART: a part of the final state at `cursor`, records in (table, key) order.  A value
 * larger than a part travels in pieces: the last record of a part may hold only the start of its
 * value (last_partial; then more), and the first record of the next part goes on with it at the
 * byte first_offset, the same key again.  Whole records otherwise. */
typedef struct net_state_part {
    uint8_t status; /* net_state_status; the other fields are empty unless OK */
    slot_t cursor;
    uint8_t fingerprint[NET_STATE_FP_LEN];
    block_id_t *root_ids; /* the first part only: final blocks at or before the cursor … */
    slot_t *root_slots;   /* … in slot order, at least one per thread */
    uint32_t nroots;
    net_state_rec *recs;
    uint32_t count;
    uint32_t first_offset; /* > 0: recs[0] is its value from this byte on (a piece) */
    bool last_partial;     /* recs[count - 1] is the start of its value only (more is set) */
    bool more;             /* records (or the rest of the last one's value) after these exist */
    uint8_t *mem;          /* a chain's answer: the bytes recs point into */
} net_state_part;
/* Frees the arrays (root_ids, root_slots, recs, mem) and zeroes the part. */
void net_state_part_free(net_state_part *p);

/* Synchronous callbacks into the chain.  They are called only from within net_core_* calls.
 * Every pointer argument is borrowed for the call. */
typedef struct net_chain_vt {
    weft_err (*status)(void *ctx, net_chain_status *out);
    bool (*has_block)(void *ctx, const block_id_t *id);
    /* E_NOT_FOUND if the body is unknown.  Fills *out (free with net_block_free). */
    weft_err (*get_block)(void *ctx, const block_id_t *id, bool with_ops, net_block *out);
    /* Operations by full id: lens[i] = 0 when unknown; ops[i] malloc'd otherwise. */
    weft_err (*get_ops)(void *ctx, const op_id_t *ids, size_t n, uint8_t **ops, size_t *lens);
    /* A block from a peer (ownership of ops passes): the verdict as node_net_block. */
    weft_err (*submit_block)(void *ctx, const block_header_t *h, signed_op_t *ops, uint32_t count,
                             weft_err *verdict);
    /* Operations from a peer (ownership of the array and each op passes): results per op as
     * node_send_operations (E_SIGNATURE is the sender's fault). */
    weft_err (*submit_ops)(void *ctx, signed_op_t **ops, size_t n, weft_err *results);
    weft_err (*submit_endorsements)(void *ctx, const endorsement_t *e, size_t n, weft_err *results);
    /* As node_net_final_range. */
    weft_err (*final_range)(void *ctx, slot_t after, size_t max, block_id_t **ids, slot_t **slots,
                            size_t *count, bool *more);

    /* The final state in parts (all optional: NULL serves / fetches nothing).  Serving:
     * state_part answers an ask (out is zeroed by the core; status GONE, BUSY or UNAVAILABLE
     * when it cannot; the records start after the ask's record — with after_offset > 0, at that
     * record's value from that byte: first_offset = after_offset (GONE or UNAVAILABLE when the
     * snapshot has no such record, or its value is not longer than that) — at least one record
     * or piece unless none is left; the keys and values within max_bytes, but for the first
     * record, which is cut to max_bytes − its key (at least one byte; last_partial, more) when it
     * does not fit; the roots in the answer to an ask without cursor).  Fetching: state_begin opens
     * an import of the state at cursor (E_STATE_* or E_INVAL: the announced state cannot be
     * imported — a fault of the peer); state_records writes whole records in order (the core puts
     * a value's pieces together first; E_STATE_RECORD: a malformed
     * record, the peer's fault); state_root gives one of the root blocks (ownership of ops passes;
     * E_SIGNATURE, E_OPS_HASH, E_NODE_BLOCK, E_INVAL: the peer's fault); state_finish checks the
     * whole (every record and root there, the fingerprint: E_STATE_CORRUPT is the peer's fault)
     * and adopts it: *adopted true when status reports the new final periods at once (the core
     * then syncs the blocks after them), false when the chain takes it over later (a restart of
     * the node: the core then starts neither another transfer nor a sync); state_abort drops an
     * import under way. */
    weft_err (*state_part)(void *ctx, const net_state_ask *ask, net_state_part *out);
    weft_err (*state_begin)(void *ctx, slot_t cursor, const uint8_t fp[NET_STATE_FP_LEN],
                            const block_id_t *root_ids, const slot_t *root_slots, uint32_t nroots);
    weft_err (*state_records)(void *ctx, const net_state_rec *recs, uint32_t n);
    weft_err (*state_root)(void *ctx, const block_header_t *h, signed_op_t *ops, uint32_t count);
    weft_err (*state_finish)(void *ctx, bool *adopted);
    void (*state_abort)(void *ctx);
    /* Checking (optional: NULL answers every check NET_CHECK_NOT_KEPT): the fingerprint of our
     * final state at a final slot, for a peer that checks a transfer from another (*status a
     * net_check_status; fp filled when KNOWN).  An error only when the chain cannot answer. */
    weft_err (*state_fingerprint)(void *ctx, slot_t slot, uint8_t fp[NET_STATE_FP_LEN],
                                  uint8_t *status);
} net_chain_vt;

/* ---- actions --------------------------------------------------------------------------------- */

typedef enum net_action_kind {
    NET_ACT_SEND = 1,  /* write frame (NET_FRAME_HEADER + body, complete) on peer's lane */
    NET_ACT_CLOSE = 2, /* close the connection (after flushing what is queued) */
    NET_ACT_DIAL = 3,  /* open an outbound connection to addr */
} net_action_kind;

typedef struct net_action {
    net_action_kind kind;
    net_peer_id peer;
    net_lane lane;
    uint8_t *frame; /* SEND: malloc'd, owned by the action */
    size_t len;
    weft_err reason;         /* CLOSE: why (E_NET_*, or an error of the peer's data); logged */
    bool banned;             /* CLOSE: the core banned the peer (its node id and its IP) */
    char addr[NET_ADDR_MAX]; /* DIAL */
} net_action;

/* ---- the core -------------------------------------------------------------------------------- */

typedef struct net_core net_core;

/* Creates a core over the chain (vt and ctx borrowed, must outlive the core).  Bootstrap
 * addresses ("host:port") seed the address book (copied); invalid ones (net_addr_valid) are
 * ignored. */
WEFT_MUST_USE weft_err net_core_new(net_core **out, const net_config *cfg, const net_chain_vt *vt,
                                    void *chain_ctx, const char *const *bootstrap, size_t n_boot);
void net_core_free(net_core *c);

/* Whether a connection from ip (text form, no port) may be accepted now: not banned, inbound and
 * per-IP limits.  The shell closes a refused connection at once. */
bool net_core_accept_ok(const net_core *c, const char *ip, uint64_t now_ms);

/* A connection is up (inbound or outbound; for outbound, addr is what was dialed, else
 * "ip:port" of the remote end).  nonce: 32 random bytes for the key proof.  Queues the
 * handshake.  E_INVAL if the id is in use. */
WEFT_MUST_USE weft_err net_core_connected(net_core *c, net_peer_id peer, bool outbound,
                                          const char *addr, const char *ip, const uint8_t nonce[32],
                                          uint64_t now_ms);
/* A dial (NET_ACT_DIAL) failed: the address gets a backoff. */
void net_core_dial_failed(net_core *c, const char *addr, uint64_t now_ms);
/* The connection is gone (closed by either side); forgets the peer's state, re-asks what was
 * asked from it elsewhere. */
void net_core_disconnected(net_core *c, net_peer_id peer, uint64_t now_ms);
/* One whole frame (NET_FRAME_HEADER + body) received from peer.  The shell has already checked
 * the length prefix against cfg.max_frame before allocating (net_frame_check). */
WEFT_MUST_USE weft_err net_core_received(net_core *c, net_peer_id peer, const uint8_t *frame,
                                         size_t len, uint64_t now_ms);
/* Timers: handshake and ask timeouts, announcement batches, retries of blocks the chain could
 * not take yet, sync progress, peer lists, dials.  Call at least every 100 ms. */
WEFT_MUST_USE weft_err net_core_tick(net_core *c, uint64_t now_ms);

/* Events from the local node (node_net_events, forwarded by the shell). */
WEFT_MUST_USE weft_err net_core_block_pending(net_core *c, const block_header_t *h,
                                              uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_block_invalid(net_core *c, const block_id_t *id, weft_err reason,
                                              uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_blocks_missing(net_core *c, const block_id_t *ids, size_t n,
                                               uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_ops_admitted(net_core *c, const op_id_t *ids, size_t n,
                                             uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_endorsements_admitted(net_core *c, const endorsement_t *e, size_t n,
                                                      uint64_t now_ms);

/* Moves up to cap queued actions into out (the caller owns them now); returns the count. */
size_t net_core_take_actions(net_core *c, net_action *out, size_t cap);
void net_actions_free(net_action *a, size_t n);

/* Whether addr is a "host:port" the core accepts (docs/protocol.md, PEERS): a DNS name or IPv4
 * literal, or a bracketed IPv6 literal, and a port 1..65535; at most NET_ADDR_MAX - 1 bytes. */
bool net_addr_valid(const char *addr);

/* Whether the shell may give the core this received frame (whole) after frames received later
 * on the same connection, keeping such frames in order among themselves: operation batches
 * (OPS), which cost a signature check per operation, so that they do not hold the headers, asks,
 * endorsements and block bodies behind them; and operation announcements (OP_ANNOUNCE), so that
 * a node asks for more operations only once it has checked the batches before them — it pulls
 * at the pace it checks (docs/protocol.md "Lanes"). */
bool net_frame_deferrable(const uint8_t *frame, size_t len);

/* The length of the frame that starts with hdr (NET_FRAME_HEADER bytes): E_NET_LIMIT if above
 * max_frame, E_NET_MESSAGE if empty.  *total = NET_FRAME_HEADER + body length. */
WEFT_MUST_USE weft_err net_frame_check(const uint8_t hdr[NET_FRAME_HEADER], uint32_t max_frame,
                                       size_t *total);

/* ---- peers and bans (API, metrics) -------------------------------------------------------------
 */

typedef struct net_peer_info {
    net_peer_id peer;
    pubkey_t node_id; /* valid once ready */
    char addr[NET_ADDR_MAX];
    bool outbound, ready;
    uint64_t connected_ms;
    uint64_t bytes_in, msgs_in;
} net_peer_info;
/* Fills up to cap peers; returns the number of connections. */
size_t net_core_peers(const net_core *c, net_peer_info *out, size_t cap);

typedef struct net_stats {
    uint64_t peers, peers_ready, peers_inbound, peers_outbound;
    uint64_t bans_active, bans_total;
    uint64_t headers_in, headers_out, blocks_in, blocks_out, ops_in, ops_out;
    uint64_t endorsements_in, endorsements_out, frames_in, frames_out, bytes_in, bytes_out;
    uint64_t sync_blocks_in;
    bool syncing;
    bool state_fetching; /* a transfer of the final state is under way */
    uint64_t state_parts_in, state_records_in, state_bytes_in;    /* fetched … */
    uint64_t state_parts_out, state_records_out, state_bytes_out; /* … and served */
    uint64_t state_transfers, state_failures; /* completed and failed transfers (fetching) */
    uint64_t state_restarts; /* transfers started over (snapshot gone) or moved to another peer */
    /* fingerprint checks of a transfer by other peers: answers that confirm it, contradict it;
       transfers dropped because more peers contradicted than confirmed, or too few confirmed */
    uint64_t state_confirmed, state_contradicted, state_disputed;
    uint64_t state_checks_answered; /* other peers' checks answered with a fingerprint */
    /* the transfer under way (0 without one): records and bytes received, roots received and
     * announced */
    uint64_t state_cur_records, state_cur_bytes, state_cur_roots, state_cur_roots_total;
} net_stats;
void net_core_stats(const net_core *c, net_stats *out);

/* Manual bans (private API).  A ban closes matching connections (NET_ACT_CLOSE) and refuses
 * them until now_ms + cfg.ban_ms; unban lifts it.  E_NOT_FOUND for an unban without a ban. */
WEFT_MUST_USE weft_err net_core_ban_id(net_core *c, const pubkey_t *id, uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_ban_ip(net_core *c, const char *ip, uint64_t now_ms);
WEFT_MUST_USE weft_err net_core_unban_id(net_core *c, const pubkey_t *id);
WEFT_MUST_USE weft_err net_core_unban_ip(net_core *c, const char *ip);
/* Peers whitelist: whitelisted IPs are never banned automatically and bypass the per-IP and
 * inbound limits. */
WEFT_MUST_USE weft_err net_core_whitelist_add(net_core *c, const char *ip);
WEFT_MUST_USE weft_err net_core_whitelist_remove(net_core *c, const char *ip);
size_t net_core_whitelist(const net_core *c, char (*out)[NET_ADDR_MAX], size_t cap);

#endif
