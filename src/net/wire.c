/* The protocol's messages: encoders and the one bounded decoder (net_wire.h, docs/protocol.md). */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "net/net_wire.h"

/* ---- frames ---------------------------------------------------------------------------------- */

weft_err net_frame_check(const uint8_t hdr[NET_FRAME_HEADER], uint32_t max_frame, size_t *total)
{
    uint32_t l = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    *total = 0;
    if (l == 0)
        return WEFT_E_NET_MESSAGE;
    if (l - 1 > max_frame)
        return WEFT_E_NET_LIMIT;
    *total = (size_t)4 + l;
    return WEFT_OK;
}

/* Starts a frame: a length placeholder and the type; frame_end patches the length. */
static size_t frame_begin(wr_t *w, uint8_t type)
{
    size_t start = w->len;
    wr_bytes(w, "\0\0\0\0", 4);
    wr_u8(w, type);
    return start;
}

static void frame_end(wr_t *w, size_t start)
{
    if (wr_err(w))
        return;
    size_t l = w->len - start - 4;
    if (l > UINT32_MAX) {
        w->err = WEFT_E_LIMIT;
        return;
    }
    w->buf[start] = (uint8_t)(l >> 24);
    w->buf[start + 1] = (uint8_t)(l >> 16);
    w->buf[start + 2] = (uint8_t)(l >> 8);
    w->buf[start + 3] = (uint8_t)l;
}

static void wr_u16be(wr_t *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 2);
}

static uint16_t rd_u16be(rd_t *r)
{
    const uint8_t *p = rd_ptr(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static void wr_slot(wr_t *w, slot_t s)
{
    wr_varint(w, s.period);
    wr_u8(w, s.thread);
}

static slot_t rd_slot(rd_t *r, uint32_t thread_count)
{
    slot_t s;
    s.period = rd_varint(r);
    s.thread = rd_u8(r);
    if (!rd_err(r) && s.thread >= thread_count)
        rd_fail(r, WEFT_E_THREAD);
    return s;
}

void net_wire_limits_init(net_wire_limits *l, const net_config *cfg)
{
    memset(l, 0, sizeof *l);
    l->thread_count = cfg->thread_count;
    l->max_ops = cfg->max_ops_per_message;
    l->max_sync_ids = NET_MAX_SYNC_IDS;
    model_params_default(&l->params);
    l->params.thread_count = cfg->thread_count;
    l->params.endorsement_count = MODEL_MAX_ENDORSEMENTS;
    l->params.max_operations_per_block = cfg->max_ops_per_message;
    l->params.chain_id = cfg->chain_id;
}

net_lane net_msg_lane(uint8_t type)
{
    switch (type) {
    case NET_MSG_BLOCK_OP_IDS:
    case NET_MSG_BLOCK_OPS:
    case NET_MSG_BLOCK_FULL:
    case NET_MSG_OP_ANNOUNCE:
    case NET_MSG_OPS:
    case NET_MSG_STATE_PART:
        return NET_LANE_BULK;
    default:
        return NET_LANE_CONTROL;
    }
}

const char *net_msg_name(uint8_t type)
{
    switch (type) {
    case NET_MSG_HANDSHAKE:
        return "HANDSHAKE";
    case NET_MSG_PROOF:
        return "HANDSHAKE_PROOF";
    case NET_MSG_REFUSE:
        return "REFUSE";
    case NET_MSG_HELLO:
        return "HELLO";
    case NET_MSG_HEADER:
        return "HEADER";
    case NET_MSG_ASK_BLOCK:
        return "ASK_BLOCK";
    case NET_MSG_BLOCK_HEADER:
        return "BLOCK_HEADER";
    case NET_MSG_BLOCK_OP_IDS:
        return "BLOCK_OP_IDS";
    case NET_MSG_BLOCK_OPS:
        return "BLOCK_OPS";
    case NET_MSG_BLOCK_FULL:
        return "BLOCK_FULL";
    case NET_MSG_BLOCK_NOT_FOUND:
        return "BLOCK_NOT_FOUND";
    case NET_MSG_ENDORSEMENTS:
        return "ENDORSEMENTS";
    case NET_MSG_OP_ANNOUNCE:
        return "OP_ANNOUNCE";
    case NET_MSG_OP_ASK:
        return "OP_ASK";
    case NET_MSG_OPS:
        return "OPS";
    case NET_MSG_SYNC_ASK:
        return "SYNC_ASK";
    case NET_MSG_SYNC_IDS:
        return "SYNC_IDS";
    case NET_MSG_STATE_ASK:
        return "STATE_ASK";
    case NET_MSG_STATE_PART:
        return "STATE_PART";
    case NET_MSG_STATE_CHECK:
        return "STATE_CHECK";
    case NET_MSG_STATE_CHECKED:
        return "STATE_CHECKED";
    case NET_MSG_PEERS_ASK:
        return "PEERS_ASK";
    case NET_MSG_PEERS:
        return "PEERS";
    default:
        return "UNKNOWN";
    }
}

/* ---- encoders -------------------------------------------------------------------------------- */

void net_enc_handshake(wr_t *w, const net_handshake *h)
{
    size_t s = frame_begin(w, NET_MSG_HANDSHAKE);
    wr_varint(w, h->version);
    wr_u64be(w, h->chain_id);
    wr_bytes(w, h->genesis.h.b, MODEL_HASH_LEN);
    wr_varint(w, h->thread_count);
    wr_bytes(w, h->node_id.b, 32);
    wr_u16be(w, h->listen_port);
    wr_bytes(w, h->nonce, NET_NONCE_LEN);
    frame_end(w, s);
}

void net_enc_proof(wr_t *w, const signature_t *sig)
{
    size_t s = frame_begin(w, NET_MSG_PROOF);
    wr_bytes(w, sig->b, 64);
    frame_end(w, s);
}

void net_enc_refuse(wr_t *w, uint8_t code, const char *text)
{
    size_t n = 0;
    char clean[NET_REFUSE_TEXT_MAX];
    for (; text && text[n] && n < NET_REFUSE_TEXT_MAX; n++)
        clean[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
    size_t s = frame_begin(w, NET_MSG_REFUSE);
    wr_u8(w, code);
    wr_varint(w, n);
    wr_bytes(w, clean, n);
    frame_end(w, s);
}

void net_enc_hello(wr_t *w, const net_hello *h)
{
    size_t s = frame_begin(w, NET_MSG_HELLO);
    wr_varint(w, h->thread_count);
    for (uint32_t i = 0; i < h->thread_count && i < MODEL_MAX_THREADS; i++) {
        wr_varint(w, h->final_periods[i]);
        wr_bytes(w, h->heads[i].h.b, MODEL_HASH_LEN);
        wr_varint(w, h->head_periods[i]);
    }
    wr_varint(w, h->kept_from);
    frame_end(w, s);
}

void net_enc_header(wr_t *w, uint8_t type, const block_header_t *h)
{
    size_t s = frame_begin(w, type);
    header_encode(w, h);
    frame_end(w, s);
}

void net_enc_ask_block(wr_t *w, const block_id_t *id, uint8_t what, const op_id_t *ids,
                       uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_ASK_BLOCK);
    wr_bytes(w, id->h.b, MODEL_HASH_LEN);
    wr_u8(w, what);
    if (what == NET_ASK_OPS) {
        wr_varint(w, count);
        for (uint32_t i = 0; i < count; i++)
            wr_bytes(w, ids[i].h.b, MODEL_HASH_LEN);
    }
    frame_end(w, s);
}

void net_enc_block_op_ids(wr_t *w, const block_id_t *id, const op_id_t *ids, uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_BLOCK_OP_IDS);
    wr_bytes(w, id->h.b, MODEL_HASH_LEN);
    wr_varint(w, count);
    for (uint32_t i = 0; i < count; i++)
        wr_bytes(w, ids[i].h.b, MODEL_HASH_LEN);
    frame_end(w, s);
}

static void wr_op_list(wr_t *w, uint8_t *const *ops, const size_t *lens, uint32_t count)
{
    wr_varint(w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_varint(w, lens[i]);
        wr_bytes(w, ops[i], lens[i]);
    }
}

void net_enc_block_ops(wr_t *w, const block_id_t *id, uint8_t *const *ops, const size_t *lens,
                       uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_BLOCK_OPS);
    wr_bytes(w, id->h.b, MODEL_HASH_LEN);
    wr_op_list(w, ops, lens, count);
    frame_end(w, s);
}

void net_enc_block_full(wr_t *w, const block_header_t *h, uint8_t *const *ops, const size_t *lens,
                        uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_BLOCK_FULL);
    header_encode(w, h);
    wr_op_list(w, ops, lens, count);
    frame_end(w, s);
}

void net_enc_not_found(wr_t *w, const block_id_t *id)
{
    size_t s = frame_begin(w, NET_MSG_BLOCK_NOT_FOUND);
    wr_bytes(w, id->h.b, MODEL_HASH_LEN);
    frame_end(w, s);
}

void net_enc_endorsements(wr_t *w, const endorsement_t *e, uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_ENDORSEMENTS);
    wr_varint(w, count);
    for (uint32_t i = 0; i < count; i++)
        endorsement_encode(w, &e[i]);
    frame_end(w, s);
}

void net_enc_prefixes(wr_t *w, uint8_t type, const uint8_t *prefixes, uint32_t count)
{
    size_t s = frame_begin(w, type);
    wr_varint(w, count);
    wr_bytes(w, prefixes, (size_t)count * NET_OP_PREFIX_LEN);
    frame_end(w, s);
}

void net_enc_ops(wr_t *w, uint8_t *const *ops, const size_t *lens, uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_OPS);
    wr_op_list(w, ops, lens, count);
    frame_end(w, s);
}

void net_enc_sync_ask(wr_t *w, slot_t after, uint32_t max)
{
    size_t s = frame_begin(w, NET_MSG_SYNC_ASK);
    wr_slot(w, after);
    wr_varint(w, max);
    frame_end(w, s);
}

void net_enc_sync_ids(wr_t *w, const block_id_t *ids, const slot_t *slots, uint32_t count,
                      bool more)
{
    size_t s = frame_begin(w, NET_MSG_SYNC_IDS);
    wr_varint(w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_bytes(w, ids[i].h.b, MODEL_HASH_LEN);
        wr_slot(w, slots[i]);
    }
    wr_u8(w, more ? 1 : 0);
    frame_end(w, s);
}

void net_enc_state_ask(wr_t *w, const net_state_ask *a)
{
    size_t s = frame_begin(w, NET_MSG_STATE_ASK);
    wr_u8(w, a->has_cursor ? 1 : 0);
    if (a->has_cursor)
        wr_slot(w, a->cursor);
    wr_u8(w, a->has_after ? 1 : 0);
    if (a->has_after) {
        wr_u8(w, a->after_table);
        wr_varint(w, a->after_klen);
        wr_bytes(w, a->after_key, a->after_klen);
        wr_varint(w, a->after_offset);
    }
    wr_varint(w, a->max_bytes);
    frame_end(w, s);
}

void net_enc_state_check(wr_t *w, slot_t slot)
{
    size_t s = frame_begin(w, NET_MSG_STATE_CHECK);
    wr_slot(w, slot);
    frame_end(w, s);
}

void net_enc_state_checked(wr_t *w, slot_t slot, uint8_t status, const uint8_t *fp)
{
    size_t s = frame_begin(w, NET_MSG_STATE_CHECKED);
    wr_slot(w, slot);
    wr_u8(w, status);
    if (status == NET_CHECK_KNOWN)
        wr_bytes(w, fp, NET_STATE_FP_LEN);
    frame_end(w, s);
}

void net_enc_state_part(wr_t *w, const net_state_part *p)
{
    size_t s = frame_begin(w, NET_MSG_STATE_PART);
    wr_u8(w, p->status);
    if (p->status == NET_STATE_OK) {
        wr_slot(w, p->cursor);
        wr_bytes(w, p->fingerprint, NET_STATE_FP_LEN);
        wr_varint(w, p->nroots);
        for (uint32_t i = 0; i < p->nroots; i++) {
            wr_bytes(w, p->root_ids[i].h.b, MODEL_HASH_LEN);
            wr_slot(w, p->root_slots[i]);
        }
        wr_varint(w, p->first_offset);
        wr_varint(w, p->count);
        for (uint32_t i = 0; i < p->count; i++) {
            const net_state_rec *r = &p->recs[i];
            wr_u8(w, r->table);
            wr_varint(w, r->klen);
            wr_bytes(w, r->key, r->klen);
            wr_varint(w, r->vlen);
            if (r->vlen)
                wr_bytes(w, r->val, r->vlen);
        }
        wr_u8(w, p->last_partial ? 1 : 0);
        wr_u8(w, p->more ? 1 : 0);
    }
    frame_end(w, s);
}

int net_state_key_cmp(uint8_t ta, const uint8_t *a, size_t alen, uint8_t tb, const uint8_t *b,
                      size_t blen)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

void net_state_part_free(net_state_part *p)
{
    if (!p)
        return;
    free(p->root_ids);
    free(p->root_slots);
    free(p->recs);
    free(p->mem);
    memset(p, 0, sizeof *p);
}

void net_enc_peers_ask(wr_t *w)
{
    size_t s = frame_begin(w, NET_MSG_PEERS_ASK);
    frame_end(w, s);
}

void net_enc_peers(wr_t *w, const char (*addrs)[NET_ADDR_MAX], uint32_t count)
{
    size_t s = frame_begin(w, NET_MSG_PEERS);
    wr_varint(w, count);
    for (uint32_t i = 0; i < count; i++) {
        size_t n = strnlen(addrs[i], NET_ADDR_MAX - 1);
        wr_u8(w, (uint8_t)n);
        wr_bytes(w, addrs[i], n);
    }
    frame_end(w, s);
}

void net_proof_digest(hash32_t *out, uint64_t chain_id, const uint8_t nonce[NET_NONCE_LEN],
                      const pubkey_t *signer, const pubkey_t *verifier)
{
    uint8_t cid[8];
    for (int i = 0; i < 8; i++)
        cid[i] = (uint8_t)(chain_id >> (56 - 8 * i));
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, NET_PROOF_DOMAIN, sizeof NET_PROOF_DOMAIN - 1);
    crypto_blake3_update(&c, cid, sizeof cid);
    crypto_blake3_update(&c, nonce, NET_NONCE_LEN);
    crypto_blake3_update(&c, signer->b, 32);
    crypto_blake3_update(&c, verifier->b, 32);
    crypto_blake3_final(&c, out->b);
}

/* ---- addresses ------------------------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool net_addr_parse(const char *addr, char *host, size_t cap, uint16_t *port)
{
    size_t n = strnlen(addr, NET_ADDR_MAX);
    if (n == 0 || n >= NET_ADDR_MAX)
        return false;
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return false;
    const char *hs = addr, *he = colon;
    if (addr[0] == '[') {
        if (colon == addr || colon[-1] != ']')
            return false;
        hs = addr + 1;
        he = colon - 1;
        if (he <= hs)
            return false;
        for (const char *p = hs; p < he; p++)
            if (!is_hex(*p) && *p != ':' && *p != '.')
                return false;
    } else {
        if (he <= hs || he - hs > 253 || *hs == '.' || *hs == '-' || he[-1] == '.' || he[-1] == '-')
            return false;
        for (const char *p = hs; p < he; p++)
            if (!is_digit(*p) && !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
                *p != '.' && *p != '-')
                return false;
    }
    const char *ps = colon + 1;
    size_t pl = strlen(ps);
    if (pl == 0 || pl > 5 || ps[0] == '0')
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < pl; i++) {
        if (!is_digit(ps[i]))
            return false;
        v = v * 10 + (uint32_t)(ps[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    size_t hl = (size_t)(he - hs);
    if (hl + 1 > cap)
        return false;
    memcpy(host, hs, hl);
    host[hl] = 0;
    *port = (uint16_t)v;
    return true;
}

bool net_addr_valid(const char *addr)
{
    char host[NET_ADDR_MAX];
    uint16_t port;
    return addr && net_addr_parse(addr, host, sizeof host, &port);
}

/* ---- decoder --------------------------------------------------------------------------------- */

/* A count read as a varint, checked against its limit (E_NET_LIMIT) and against the bytes left
 * given the smallest possible size of one item (E_TRUNCATED), before anything is allocated. */
static uint32_t rd_count(rd_t *r, uint64_t limit, size_t min_item)
{
    uint64_t n = rd_varint_max(r, limit, WEFT_E_NET_LIMIT);
    if (!rd_err(r) && min_item && n > rd_left(r) / min_item)
        rd_fail(r, WEFT_E_TRUNCATED);
    return rd_err(r) ? 0 : (uint32_t)n;
}

static void rd_op_list(rd_t *r, const net_wire_limits *l, net_bytes **out, uint32_t *count)
{
    /* each entry: length varint (1+ bytes) ‖ at least NET_MIN_OP_LEN bytes */
    uint32_t n = rd_count(r, l->max_ops, 1 + NET_MIN_OP_LEN);
    *count = 0;
    *out = NULL;
    if (rd_err(r))
        return;
    net_bytes *ops = calloc(n ? n : 1, sizeof *ops);
    if (!ops) {
        rd_fail(r, WEFT_E_NOMEM);
        return;
    }
    for (uint32_t i = 0; i < n && !rd_err(r); i++) {
        uint64_t len = rd_varint(r);
        if (!rd_err(r) && (len < NET_MIN_OP_LEN || len > rd_left(r)))
            rd_fail(r, len < NET_MIN_OP_LEN ? WEFT_E_NET_MESSAGE : WEFT_E_TRUNCATED);
        ops[i].p = rd_ptr(r, (size_t)len);
        ops[i].len = (size_t)len;
    }
    if (rd_err(r)) {
        free(ops);
        return;
    }
    *out = ops;
    *count = n;
}

static block_header_t *rd_header_new(rd_t *r, const net_wire_limits *l)
{
    if (rd_err(r))
        return NULL;
    block_header_t *h = malloc(sizeof *h);
    if (!h) {
        rd_fail(r, WEFT_E_NOMEM);
        return NULL;
    }
    header_read(r, &l->params, h);
    if (rd_err(r)) {
        free(h);
        return NULL;
    }
    return h;
}

void net_msg_free(net_msg *m)
{
    switch (m->type) {
    case NET_MSG_HEADER:
    case NET_MSG_BLOCK_HEADER:
        free(m->u.header);
        break;
    case NET_MSG_BLOCK_OPS:
    case NET_MSG_BLOCK_FULL:
    case NET_MSG_OPS:
        free(m->u.ops.header);
        free(m->u.ops.ops);
        break;
    case NET_MSG_ENDORSEMENTS:
        free(m->u.endorsements.e);
        break;
    case NET_MSG_SYNC_IDS:
        free(m->u.sync_ids.ids);
        free(m->u.sync_ids.slots);
        break;
    case NET_MSG_PEERS:
        free(m->u.peers.addrs);
        break;
    case NET_MSG_STATE_PART:
        net_state_part_free(&m->u.state_part);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof *m);
}

static uint8_t rd_flag(rd_t *r)
{
    uint8_t v = rd_u8(r);
    if (!rd_err(r) && v > 1)
        rd_fail(r, WEFT_E_NET_MESSAGE);
    return v;
}

/* A record's table and key: table 1..NET_STATE_TABLES-1, key 1..NET_STATE_MAX_KEY bytes. */
static void rd_state_key(rd_t *r, uint8_t *table, const uint8_t **key, uint32_t *klen)
{
    *table = rd_u8(r);
    if (!rd_err(r) && (*table == 0 || *table >= NET_STATE_TABLES))
        rd_fail(r, WEFT_E_NET_MESSAGE);
    uint64_t n = rd_varint_max(r, NET_STATE_MAX_KEY, WEFT_E_NET_LIMIT);
    if (!rd_err(r) && n == 0)
        rd_fail(r, WEFT_E_NET_MESSAGE);
    *klen = rd_err(r) ? 0 : (uint32_t)n;
    *key = rd_ptr(r, *klen);
}

static void decode_state_ask(rd_t *r, net_state_ask *a, const net_wire_limits *l)
{
    a->has_cursor = rd_flag(r);
    if (a->has_cursor)
        a->cursor = rd_slot(r, l->thread_count);
    a->has_after = rd_flag(r);
    if (!rd_err(r) && a->has_after && !a->has_cursor)
        rd_fail(r, WEFT_E_NET_MESSAGE); /* a resume point belongs to a transfer */
    if (a->has_after) {
        rd_state_key(r, &a->after_table, &a->after_key, &a->after_klen);
        a->after_offset = (uint32_t)rd_varint_max(r, NET_STATE_MAX_VALUE, WEFT_E_NET_LIMIT);
    }
    a->max_bytes = (uint32_t)rd_varint_max(r, UINT32_MAX, WEFT_E_NET_LIMIT);
    if (!rd_err(r) && a->max_bytes == 0)
        rd_fail(r, WEFT_E_NET_MESSAGE);
}

static void decode_state_part(rd_t *r, net_state_part *p, const net_wire_limits *l)
{
    p->status = rd_u8(r);
    if (rd_err(r) || p->status != NET_STATE_OK) {
        if (!rd_err(r) && p->status > NET_STATE_UNAVAILABLE)
            rd_fail(r, WEFT_E_NET_MESSAGE);
        return; /* nothing follows another status */
    }
    p->cursor = rd_slot(r, l->thread_count);
    rd_bytes(r, p->fingerprint, NET_STATE_FP_LEN);
    /* roots: id 32 ‖ period (1+) ‖ thread 1 */
    uint32_t nr = rd_count(r, NET_MAX_STATE_ROOTS, MODEL_HASH_LEN + 2);
    if (rd_err(r))
        return;
    p->root_ids = malloc((nr ? nr : 1) * sizeof *p->root_ids);
    p->root_slots = malloc((nr ? nr : 1) * sizeof *p->root_slots);
    if (!p->root_ids || !p->root_slots) {
        rd_fail(r, WEFT_E_NOMEM);
        return;
    }
    for (uint32_t i = 0; i < nr && !rd_err(r); i++) {
        rd_bytes(r, p->root_ids[i].h.b, MODEL_HASH_LEN);
        p->root_slots[i] = rd_slot(r, l->thread_count);
        if (!rd_err(r) && i > 0 && slot_cmp(p->root_slots[i - 1], p->root_slots[i]) >= 0)
            rd_fail(r, WEFT_E_NET_MESSAGE);
    }
    p->nroots = nr;
    p->first_offset = (uint32_t)rd_varint_max(r, NET_STATE_MAX_VALUE, WEFT_E_NET_LIMIT);
    /* records: table 1 ‖ key length (1+) ‖ key (1+) ‖ value length (1+) */
    uint32_t n = rd_count(r, NET_MAX_STATE_RECORDS, 4);
    if (rd_err(r))
        return;
    p->recs = calloc(n ? n : 1, sizeof *p->recs);
    if (!p->recs) {
        rd_fail(r, WEFT_E_NOMEM);
        return;
    }
    for (uint32_t i = 0; i < n && !rd_err(r); i++) {
        net_state_rec *x = &p->recs[i];
        rd_state_key(r, &x->table, &x->key, &x->klen);
        /* every value within NET_STATE_MAX_VALUE, the first one's with first_offset (a frame
         * may be larger: max_frame is a setting) */
        uint64_t vl = rd_varint(r);
        if (!rd_err(r) && vl > NET_STATE_MAX_VALUE - (i == 0 ? p->first_offset : 0))
            rd_fail(r, WEFT_E_NET_LIMIT);
        if (!rd_err(r) && vl > rd_left(r))
            rd_fail(r, WEFT_E_TRUNCATED);
        x->vlen = rd_err(r) ? 0 : (size_t)vl;
        x->val = rd_ptr(r, x->vlen);
        if (!rd_err(r) && i > 0 &&
            net_state_key_cmp(x[-1].table, x[-1].key, x[-1].klen, x->table, x->key, x->klen) >= 0)
            rd_fail(r, WEFT_E_NET_MESSAGE);
    }
    p->count = n;
    p->last_partial = rd_flag(r);
    p->more = rd_flag(r);
    if (rd_err(r))
        return;
    /* pieces: the first record goes on with a value (≥ 1 byte), the last one's value goes on in
     * the next part (≥ 1 byte here, and more) */
    if (p->first_offset && (n == 0 || p->recs[0].vlen == 0))
        rd_fail(r, WEFT_E_NET_MESSAGE);
    else if (p->last_partial && (n == 0 || !p->more || p->recs[n - 1].vlen == 0))
        rd_fail(r, WEFT_E_NET_MESSAGE);
}

static void decode_body(rd_t *r, net_msg *m, const net_wire_limits *l)
{
    switch (m->type) {
    case NET_MSG_HANDSHAKE: {
        net_handshake *h = &m->u.handshake;
        uint64_t v = rd_varint_max(r, UINT32_MAX, WEFT_E_NET_MESSAGE);
        h->version = (uint32_t)v;
        h->chain_id = rd_u64be(r);
        rd_bytes(r, h->genesis.h.b, MODEL_HASH_LEN);
        h->thread_count = (uint32_t)rd_varint_max(r, MODEL_MAX_THREADS, WEFT_E_NET_MESSAGE);
        rd_bytes(r, h->node_id.b, 32);
        h->listen_port = rd_u16be(r);
        rd_bytes(r, h->nonce, NET_NONCE_LEN);
        break;
    }
    case NET_MSG_PROOF:
        rd_bytes(r, m->u.proof.b, 64);
        break;
    case NET_MSG_REFUSE: {
        m->u.refuse.code = rd_u8(r);
        uint32_t n = rd_count(r, NET_REFUSE_TEXT_MAX, 1);
        const uint8_t *p = rd_ptr(r, n);
        for (uint32_t i = 0; p && i < n; i++) {
            if (p[i] < 0x20 || p[i] >= 0x7f) {
                rd_fail(r, WEFT_E_NET_MESSAGE);
                break;
            }
            m->u.refuse.text[i] = (char)p[i];
        }
        break;
    }
    case NET_MSG_HELLO: {
        net_hello *h = &m->u.hello;
        h->thread_count = (uint32_t)rd_varint_max(r, MODEL_MAX_THREADS, WEFT_E_NET_MESSAGE);
        if (!rd_err(r) && h->thread_count != l->thread_count)
            rd_fail(r, WEFT_E_NET_MESSAGE);
        for (uint32_t i = 0; i < h->thread_count && !rd_err(r); i++) {
            h->final_periods[i] = rd_varint(r);
            rd_bytes(r, h->heads[i].h.b, MODEL_HASH_LEN);
            h->head_periods[i] = rd_varint(r);
        }
        h->kept_from = rd_varint(r);
        break;
    }
    case NET_MSG_HEADER:
    case NET_MSG_BLOCK_HEADER:
        m->u.header = rd_header_new(r, l);
        break;
    case NET_MSG_ASK_BLOCK:
        rd_bytes(r, m->u.ask.id.h.b, MODEL_HASH_LEN);
        m->u.ask.what = rd_u8(r);
        if (!rd_err(r) && (m->u.ask.what < NET_ASK_HEADER || m->u.ask.what > NET_ASK_FULL))
            rd_fail(r, WEFT_E_NET_MESSAGE);
        if (m->u.ask.what == NET_ASK_OPS) {
            m->u.ask.count = rd_count(r, l->max_ops, MODEL_HASH_LEN);
            m->u.ask.ids = rd_ptr(r, (size_t)m->u.ask.count * MODEL_HASH_LEN);
        }
        break;
    case NET_MSG_BLOCK_OP_IDS:
        rd_bytes(r, m->u.op_ids.id.h.b, MODEL_HASH_LEN);
        m->u.op_ids.count = rd_count(r, l->max_ops, MODEL_HASH_LEN);
        m->u.op_ids.ids = rd_ptr(r, (size_t)m->u.op_ids.count * MODEL_HASH_LEN);
        break;
    case NET_MSG_BLOCK_OPS:
        rd_bytes(r, m->u.ops.id.h.b, MODEL_HASH_LEN);
        rd_op_list(r, l, &m->u.ops.ops, &m->u.ops.count);
        break;
    case NET_MSG_BLOCK_FULL:
        m->u.ops.header = rd_header_new(r, l);
        if (m->u.ops.header)
            m->u.ops.id = m->u.ops.header->id;
        rd_op_list(r, l, &m->u.ops.ops, &m->u.ops.count);
        break;
    case NET_MSG_OPS:
        rd_op_list(r, l, &m->u.ops.ops, &m->u.ops.count);
        break;
    case NET_MSG_BLOCK_NOT_FOUND:
        rd_bytes(r, m->u.not_found.h.b, MODEL_HASH_LEN);
        break;
    case NET_MSG_ENDORSEMENTS: {
        uint32_t n = rd_count(r, NET_MAX_ENDORSEMENTS_MSG, NET_MIN_ENDORSEMENT_LEN);
        if (rd_err(r))
            break;
        endorsement_t *e = calloc(n ? n : 1, sizeof *e);
        if (!e) {
            rd_fail(r, WEFT_E_NOMEM);
            break;
        }
        for (uint32_t i = 0; i < n && !rd_err(r); i++)
            endorsement_read(r, &l->params, &e[i]);
        if (rd_err(r)) {
            free(e);
            break;
        }
        m->u.endorsements.e = e;
        m->u.endorsements.count = n;
        break;
    }
    case NET_MSG_OP_ANNOUNCE:
    case NET_MSG_OP_ASK:
        m->u.prefixes.count = rd_count(r, l->max_ops, NET_OP_PREFIX_LEN);
        m->u.prefixes.p = rd_ptr(r, (size_t)m->u.prefixes.count * NET_OP_PREFIX_LEN);
        break;
    case NET_MSG_SYNC_ASK:
        m->u.sync_ask.after = rd_slot(r, l->thread_count);
        m->u.sync_ask.max = (uint32_t)rd_varint_max(r, l->max_sync_ids, WEFT_E_NET_LIMIT);
        if (!rd_err(r) && m->u.sync_ask.max == 0)
            rd_fail(r, WEFT_E_NET_MESSAGE);
        break;
    case NET_MSG_SYNC_IDS: {
        /* each entry: id 32 ‖ period (1+) ‖ thread 1 */
        uint32_t n = rd_count(r, l->max_sync_ids, MODEL_HASH_LEN + 2);
        if (rd_err(r))
            break;
        block_id_t *ids = malloc((n ? n : 1) * sizeof *ids);
        slot_t *slots = malloc((n ? n : 1) * sizeof *slots);
        if (!ids || !slots) {
            free(ids);
            free(slots);
            rd_fail(r, WEFT_E_NOMEM);
            break;
        }
        for (uint32_t i = 0; i < n && !rd_err(r); i++) {
            rd_bytes(r, ids[i].h.b, MODEL_HASH_LEN);
            slots[i] = rd_slot(r, l->thread_count);
            if (!rd_err(r) && i > 0 && slot_cmp(slots[i - 1], slots[i]) >= 0)
                rd_fail(r, WEFT_E_NET_MESSAGE);
        }
        uint8_t more = rd_u8(r);
        if (!rd_err(r) && more > 1)
            rd_fail(r, WEFT_E_NET_MESSAGE);
        if (rd_err(r)) {
            free(ids);
            free(slots);
            break;
        }
        m->u.sync_ids.ids = ids;
        m->u.sync_ids.slots = slots;
        m->u.sync_ids.count = n;
        m->u.sync_ids.more = more == 1;
        break;
    }
    case NET_MSG_STATE_ASK:
        decode_state_ask(r, &m->u.state_ask, l);
        break;
    case NET_MSG_STATE_PART:
        decode_state_part(r, &m->u.state_part, l);
        break;
    case NET_MSG_STATE_CHECK:
        m->u.state_check = rd_slot(r, l->thread_count);
        break;
    case NET_MSG_STATE_CHECKED:
        m->u.state_checked.slot = rd_slot(r, l->thread_count);
        m->u.state_checked.status = rd_u8(r);
        if (!rd_err(r) && m->u.state_checked.status > NET_CHECK_NOT_KEPT)
            rd_fail(r, WEFT_E_NET_MESSAGE);
        if (!rd_err(r) && m->u.state_checked.status == NET_CHECK_KNOWN)
            rd_bytes(r, m->u.state_checked.fingerprint, NET_STATE_FP_LEN);
        break;
    case NET_MSG_PEERS_ASK:
        break;
    case NET_MSG_PEERS: {
        uint32_t n = rd_count(r, NET_MAX_PEERS_IN_LIST, 2);
        if (rd_err(r))
            break;
        char(*a)[NET_ADDR_MAX] = calloc(n ? n : 1, NET_ADDR_MAX);
        if (!a) {
            rd_fail(r, WEFT_E_NOMEM);
            break;
        }
        for (uint32_t i = 0; i < n && !rd_err(r); i++) {
            uint8_t len = rd_u8(r);
            if (!rd_err(r) && (len == 0 || len >= NET_ADDR_MAX))
                rd_fail(r, WEFT_E_NET_MESSAGE);
            rd_bytes(r, a[i], rd_err(r) ? 0 : len);
            char host[NET_ADDR_MAX];
            uint16_t port;
            if (!rd_err(r) &&
                (memchr(a[i], 0, len) || !net_addr_parse(a[i], host, sizeof host, &port)))
                rd_fail(r, WEFT_E_NET_MESSAGE);
        }
        if (rd_err(r)) {
            free(a);
            break;
        }
        m->u.peers.addrs = a;
        m->u.peers.count = n;
        break;
    }
    default:
        rd_fail(r, WEFT_E_NET_MESSAGE);
        break;
    }
}

weft_err net_msg_decode(net_msg *out, const net_wire_limits *l, const uint8_t *frame, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len < NET_FRAME_HEADER)
        return WEFT_E_TRUNCATED;
    uint32_t fl =
        (uint32_t)frame[0] << 24 | (uint32_t)frame[1] << 16 | (uint32_t)frame[2] << 8 | frame[3];
    if (fl == 0 || (size_t)fl != len - 4)
        return WEFT_E_NET_MESSAGE;
    out->type = frame[4];
    rd_t r;
    rd_init(&r, frame + NET_FRAME_HEADER, len - NET_FRAME_HEADER);
    decode_body(&r, out, l);
    /* on failure the body decoder has freed what it allocated for the failed part and left the
     * pointers of the parts that succeeded (a BLOCK_FULL header): net_msg_free takes them */
    weft_err e = rd_finish(&r);
    if (e) {
        net_msg_free(out);
        return e;
    }
    return WEFT_OK;
}
