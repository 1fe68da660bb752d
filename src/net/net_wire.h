/* net_wire — the messages of the peer-to-peer protocol (docs/protocol.md): one encoder per message
 * type and one bounded decoder for all of them.  Internal to src/net (the core, its tests and the
 * fuzz target use it); other modules go through net.h.
 *
 * A frame is u32 big-endian L ‖ u8 type ‖ body, where L = 1 + body length (so L ≥ 1) and the
 * body is at most max_frame bytes.  Encoders append one complete frame to a wr_t.  The decoder
 * takes one complete frame, checks every count against its limit (and against the bytes left)
 * before allocating, and rejects trailing bytes; every failure is a weft_err (E_NET_MESSAGE for a
 * structural error, or the more precise error of a field decoder: E_TRUNCATED, E_TRAILING,
 * E_VARINT_*, E_THREAD, E_ENDORSEMENT, E_NET_LIMIT for a count above a limit …) and leaves
 * nothing to free.
 *
 * Decoded messages borrow from the frame: lists of ids and operation bytes point into it (valid
 * while the frame is), headers and endorsements are decoded into owned memory (net_msg_free).
 * Pure and reentrant.
 */
#ifndef WEFT_NET_WIRE_H
#define WEFT_NET_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "net/net.h"

/* Message types (docs/protocol.md).  Ranges: 1–15 connection, 16–31 blocks and endorsements,
 * 32–47 operations, 48–63 sync, 64–79 peer lists. */
typedef enum net_msg_type {
    NET_MSG_HANDSHAKE = 1,
    NET_MSG_PROOF = 2,
    NET_MSG_REFUSE = 3,
    NET_MSG_HELLO = 16,
    NET_MSG_HEADER = 17,
    NET_MSG_ASK_BLOCK = 18,
    NET_MSG_BLOCK_HEADER = 19,
    NET_MSG_BLOCK_OP_IDS = 20,
    NET_MSG_BLOCK_OPS = 21,
    NET_MSG_BLOCK_FULL = 22,
    NET_MSG_BLOCK_NOT_FOUND = 23,
    NET_MSG_ENDORSEMENTS = 24,
    NET_MSG_OP_ANNOUNCE = 32,
    NET_MSG_OP_ASK = 33,
    NET_MSG_OPS = 34,
    NET_MSG_SYNC_ASK = 48,
    NET_MSG_SYNC_IDS = 49,
    NET_MSG_STATE_ASK = 50,
    NET_MSG_STATE_PART = 51,
    NET_MSG_STATE_CHECK = 52,
    NET_MSG_STATE_CHECKED = 53,
    NET_MSG_PEERS_ASK = 64,
    NET_MSG_PEERS = 65,
} net_msg_type;

/* What an ASK_BLOCK asks for. */
typedef enum net_ask_what {
    NET_ASK_HEADER = 1,
    NET_ASK_OP_IDS = 2,
    NET_ASK_OPS = 3, /* the listed operations of the block */
    NET_ASK_FULL = 4,
} net_ask_what;

/* REFUSE reason codes (u8). */
typedef enum net_refuse_code {
    NET_REFUSE_VERSION = 1,
    NET_REFUSE_CHAIN = 2,
    NET_REFUSE_BANNED = 3,
    NET_REFUSE_FULL = 4,
    NET_REFUSE_SELF = 5,
    NET_REFUSE_DUPLICATE = 6,
    NET_REFUSE_PROTOCOL = 7,
} net_refuse_code;

#define NET_NONCE_LEN 32
#define NET_REFUSE_TEXT_MAX 120       /* printable ASCII */
#define NET_MAX_ENDORSEMENTS_MSG 1024 /* endorsements per ENDORSEMENTS message */
#define NET_MAX_SYNC_IDS 4096         /* ids per SYNC_IDS (NODE_NET_MAX_RANGE) */
#define NET_MIN_OP_LEN 98 /* 00 ‖ sig 64 ‖ 00 ‖ pk 32: the shortest signed operation */
#define NET_MIN_ENDORSEMENT_LEN 133 /* sig 65 ‖ pk 33 ‖ period ‖ thread ‖ index ‖ id 32 */
#define NET_PROOF_DOMAIN "weft/net/proof/v1"

/* The limits a decoder checks (from net_config and the chain's thread count). */
typedef struct net_wire_limits {
    uint32_t thread_count;
    uint32_t max_ops; /* operations (or ids, or prefixes) per message */
    uint32_t max_sync_ids;
    model_params params; /* for headers and endorsements: thread_count and endorsement_count */
} net_wire_limits;

/* Fills limits for a configuration: T = cfg->thread_count, E = MODEL_MAX_ENDORSEMENTS (the chain
 * checks the real E), max_ops = cfg->max_ops_per_message, max_sync_ids = NET_MAX_SYNC_IDS. */
void net_wire_limits_init(net_wire_limits *l, const net_config *cfg);

typedef struct net_bytes {
    const uint8_t *p; /* borrowed from the frame */
    size_t len;
} net_bytes;

typedef struct net_handshake {
    uint32_t version;
    uint64_t chain_id;
    block_id_t genesis;
    uint32_t thread_count;
    pubkey_t node_id;
    uint16_t listen_port;
    uint8_t nonce[NET_NONCE_LEN];
} net_handshake;

typedef struct net_hello {
    uint32_t thread_count;
    uint64_t final_periods[MODEL_MAX_THREADS];
    block_id_t heads[MODEL_MAX_THREADS];
    uint64_t head_periods[MODEL_MAX_THREADS]; /* head i is in thread i */
    uint64_t kept_from; /* the sender keeps every final block from this period on (0: all) */
} net_hello;

typedef struct net_msg {
    uint8_t type; /* net_msg_type */
    union {
        net_handshake handshake;
        signature_t proof;
        struct {
            uint8_t code;
            char text[NET_REFUSE_TEXT_MAX + 1];
        } refuse;
        net_hello hello;
        block_header_t *header; /* HEADER, BLOCK_HEADER: owned */
        struct {
            block_id_t id;
            uint8_t what;
            const uint8_t *ids; /* NET_ASK_OPS: count × 32 bytes in the frame */
            uint32_t count;
        } ask;
        struct {
            block_id_t id;
            const uint8_t *ids; /* count × 32 bytes */
            uint32_t count;
        } op_ids;
        struct {
            block_id_t id;          /* BLOCK_OPS only */
            block_header_t *header; /* BLOCK_FULL only: owned */
            net_bytes *ops;         /* owned array of borrowed byte ranges */
            uint32_t count;
        } ops; /* BLOCK_OPS, BLOCK_FULL, OPS */
        block_id_t not_found;
        struct {
            endorsement_t *e; /* owned */
            uint32_t count;
        } endorsements;
        struct {
            const uint8_t *p; /* count × NET_OP_PREFIX_LEN bytes */
            uint32_t count;
        } prefixes; /* OP_ANNOUNCE, OP_ASK */
        struct {
            slot_t after;
            uint32_t max;
        } sync_ask;
        struct {
            block_id_t *ids; /* owned */
            slot_t *slots;   /* owned; strictly increasing */
            uint32_t count;
            bool more;
        } sync_ids;
        struct {
            char (*addrs)[NET_ADDR_MAX]; /* owned; each a valid "host:port" */
            uint32_t count;
        } peers;
        slot_t state_check; /* STATE_CHECK: the final slot whose fingerprint is asked */
        struct {
            slot_t slot;
            uint8_t status;                        /* net_check_status */
            uint8_t fingerprint[NET_STATE_FP_LEN]; /* KNOWN only; zero otherwise */
        } state_checked;
        net_state_ask state_ask;   /* after_key borrowed from the frame */
        net_state_part state_part; /* arrays owned, record bytes borrowed from the frame */
    } u;
} net_msg;

/* Decodes one whole frame (header included).  On error *out is zeroed. */
WEFT_MUST_USE weft_err net_msg_decode(net_msg *out, const net_wire_limits *l, const uint8_t *frame,
                                      size_t len);
void net_msg_free(net_msg *m);

/* The lane a message type travels on. */
net_lane net_msg_lane(uint8_t type);
/* A short name ("HELLO") for logs; "UNKNOWN" otherwise. */
const char *net_msg_name(uint8_t type);

/* Encoders: each appends one complete frame to w (check wr_err). */
void net_enc_handshake(wr_t *w, const net_handshake *h);
void net_enc_proof(wr_t *w, const signature_t *sig);
void net_enc_refuse(wr_t *w, uint8_t code, const char *text);
void net_enc_hello(wr_t *w, const net_hello *h);
void net_enc_header(wr_t *w, uint8_t type, const block_header_t *h); /* HEADER, BLOCK_HEADER */
void net_enc_ask_block(wr_t *w, const block_id_t *id, uint8_t what, const op_id_t *ids,
                       uint32_t count);
void net_enc_block_op_ids(wr_t *w, const block_id_t *id, const op_id_t *ids, uint32_t count);
void net_enc_block_ops(wr_t *w, const block_id_t *id, uint8_t *const *ops, const size_t *lens,
                       uint32_t count);
void net_enc_block_full(wr_t *w, const block_header_t *h, uint8_t *const *ops, const size_t *lens,
                        uint32_t count);
void net_enc_not_found(wr_t *w, const block_id_t *id);
void net_enc_endorsements(wr_t *w, const endorsement_t *e, uint32_t count);
void net_enc_prefixes(wr_t *w, uint8_t type, const uint8_t *prefixes, uint32_t count);
void net_enc_ops(wr_t *w, uint8_t *const *ops, const size_t *lens, uint32_t count);
void net_enc_sync_ask(wr_t *w, slot_t after, uint32_t max);
void net_enc_sync_ids(wr_t *w, const block_id_t *ids, const slot_t *slots, uint32_t count,
                      bool more);
void net_enc_state_ask(wr_t *w, const net_state_ask *a);
/* A part with status other than OK is the status byte alone. */
void net_enc_state_part(wr_t *w, const net_state_part *p);
void net_enc_state_check(wr_t *w, slot_t slot);
/* fp is read only when status is NET_CHECK_KNOWN (it may be NULL otherwise). */
void net_enc_state_checked(wr_t *w, slot_t slot, uint8_t status, const uint8_t *fp);
void net_enc_peers_ask(wr_t *w);
void net_enc_peers(wr_t *w, const char (*addrs)[NET_ADDR_MAX], uint32_t count);

/* The order of state records: by table, then keys bytewise (a key before its extensions). */
int net_state_key_cmp(uint8_t ta, const uint8_t *a, size_t alen, uint8_t tb, const uint8_t *b,
                      size_t blen);

/* The digest a node signs to prove its key: BLAKE3(NET_PROOF_DOMAIN ‖ chain_id u64be ‖ the
 * verifier's nonce ‖ the signer's id ‖ the verifier's id). */
void net_proof_digest(hash32_t *out, uint64_t chain_id, const uint8_t nonce[NET_NONCE_LEN],
                      const pubkey_t *signer, const pubkey_t *verifier);

/* "host:port" checks: host is a DNS name or IPv4 literal ([A-Za-z0-9.-], 1..253 chars, not
 * starting or ending with '.' or '-') or a bracketed IPv6 literal ("[" hex digits, ':' and '.'
 * "]"); port is 1..65535 in decimal without leading zeros.  On success host (cap bytes) receives
 * the host without brackets and *port the port. */
WEFT_MUST_USE bool net_addr_parse(const char *addr, char *host, size_t cap, uint16_t *port);

#endif
