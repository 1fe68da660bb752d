/* The protocol core: connections, the handshake, message dispatch, timers, actions and stats
 * (net.h; docs/protocol.md).  Blocks, gossip and the address book live in their own files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "net/net_internal.h"

void net_config_default(net_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_frame = NET_MAX_FRAME;
    c->handshake_timeout_ms = 10000;
    c->ask_timeout_ms = 10000;
    c->max_asks_per_peer = 128;
    c->max_known_per_peer = 8192;
    c->op_announce_ms = 300;
    c->op_announce_max = 2000;
    c->max_ops_per_message = 5000;
    c->ban_ms = 3600000;
    c->rate_window_ms = 1000;
    c->max_bytes_per_window = 64u << 20;
    c->max_msgs_per_window = 20000;
    c->sync_batch = 512;
    c->outbound_target = 8;
    c->max_inbound = 32;
    c->max_per_ip = 4;
    c->dial_backoff_min_ms = 500;
    c->dial_backoff_max_ms = 60000;
    c->peer_list_ms = 30000;
    c->state_part_bytes = 1u << 20;
    c->state_retry_ms = 30000;
}

void net_block_free(net_block *b)
{
    if (!b)
        return;
    if (b->ops)
        for (uint32_t i = 0; i < b->op_count; i++)
            free(b->ops[i]);
    free(b->ops);
    free(b->op_lens);
    free(b->op_ids);
    memset(b, 0, sizeof *b);
}

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

/* ---- actions --------------------------------------------------------------------------------- */

weft_err net_push_action(net_core *c, const net_action *a)
{
    if (c->nacts == c->acts_cap) {
        size_t ncap = c->acts_cap ? c->acts_cap * 2 : 64;
        net_action *n = realloc(c->acts, ncap * sizeof *n);
        if (!n) {
            c->oom = true;
            return WEFT_E_NOMEM;
        }
        c->acts = n;
        c->acts_cap = ncap;
    }
    c->acts[c->nacts++] = *a;
    return WEFT_OK;
}

weft_err net_send(net_core *c, net_peer *p, wr_t *frame)
{
    if (wr_err(frame) == WEFT_E_NOMEM) {
        wr_free(frame);
        c->oom = true;
        return WEFT_E_NOMEM;
    }
    if (wr_err(frame) || p->closing || frame->len < NET_FRAME_HEADER ||
        frame->len - NET_FRAME_HEADER > c->cfg.max_frame) {
        /* a frame we cannot send (too large for the peer's limit) is dropped, never cut */
        wr_free(frame);
        return WEFT_OK;
    }
    net_action a;
    memset(&a, 0, sizeof a);
    a.kind = NET_ACT_SEND;
    a.peer = p->id;
    a.lane = net_msg_lane(frame->buf[4]);
    a.frame = wr_take(frame, &a.len);
    if (!a.frame) {
        c->oom = true;
        return WEFT_E_NOMEM;
    }
    weft_err e = net_push_action(c, &a);
    if (e) {
        free(a.frame);
        return e;
    }
    c->st.frames_out++;
    c->st.bytes_out += a.len;
    if (a.lane == NET_LANE_BULK) /* answers: block bodies and operations */
        p->win_served += a.len;
    return WEFT_OK;
}

size_t net_core_take_actions(net_core *c, net_action *out, size_t cap)
{
    size_t n = c->nacts < cap ? c->nacts : cap;
    if (n == 0)
        return 0;
    memcpy(out, c->acts, n * sizeof *out);
    memmove(c->acts, c->acts + n, (c->nacts - n) * sizeof *c->acts);
    c->nacts -= n;
    return n;
}

void net_actions_free(net_action *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].frame);
        a[i].frame = NULL;
    }
}

/* ---- peers ----------------------------------------------------------------------------------- */

net_peer *net_peer_find(net_core *c, net_peer_id id)
{
    for (size_t i = 0; i < c->npeers; i++)
        if (c->peers[i]->id == id)
            return c->peers[i];
    return NULL;
}

static void peer_free(net_peer *p)
{
    net_lru_free(&p->known_blocks);
    net_lru_free(&p->known_ops);
    net_lru_free(&p->known_endos);
    free(p->hello);
    free(p);
}

void net_peer_close(net_core *c, net_peer *p, weft_err reason, bool banned)
{
    if (p->closing)
        return;
    p->closing = true;
    net_action a;
    memset(&a, 0, sizeof a);
    a.kind = NET_ACT_CLOSE;
    a.peer = p->id;
    a.reason = reason;
    a.banned = banned;
    weft_err e = net_push_action(c, &a); /* E_NOMEM is sticky in c->oom */
    (void)e;
    net_blocks_peer_gone(c, p);
    net_state_peer_gone(c, p);
}

void net_peer_fault(net_core *c, net_peer *p, weft_err reason)
{
    if (p->closing)
        return;
    net_sender s;
    memset(&s, 0, sizeof s);
    s.peer = p->id;
    s.node_id = p->node_id;
    s.has_node_id = p->has_node_id;
    memcpy(s.ip, p->ip, sizeof s.ip);
    bool banned = net_ban_sender(c, &s, reason, c->now);
    if (!p->closing) /* whitelisted, or nothing to ban (a loopback peer before its handshake) */
        net_peer_close(c, p, reason, banned);
}

static weft_err send_refuse(net_core *c, net_peer *p, uint8_t code, const char *text)
{
    wr_t w;
    wr_init(&w);
    net_enc_refuse(&w, code, text);
    return net_send(c, p, &w);
}

/* Refuses and closes a connection (not a fault: no ban). */
static weft_err refuse(net_core *c, net_peer *p, uint8_t code, weft_err reason)
{
    weft_err e = send_refuse(c, p, code, weft_strerror(reason));
    net_peer_close(c, p, reason, false);
    return e;
}

weft_err net_send_hello(net_core *c, net_peer *p)
{
    net_chain_status st;
    memset(&st, 0, sizeof st);
    weft_err e = c->vt->status(c->ctx, &st);
    if (e == WEFT_E_NOMEM)
        return e;
    if (e)
        return WEFT_OK; /* the chain cannot say now: the next periodic hello will */
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = c->cfg.thread_count;
    for (uint32_t i = 0; i < h.thread_count; i++) {
        h.final_periods[i] = st.final_periods[i];
        h.heads[i] = st.heads[i];
        h.head_periods[i] = st.head_slots[i].period;
    }
    h.kept_from = st.kept_from;
    wr_t w;
    wr_init(&w);
    net_enc_hello(&w, &h);
    return net_send(c, p, &w);
}

static size_t count_peers(const net_core *c, bool inbound_only, const char *ip)
{
    size_t n = 0;
    for (size_t i = 0; i < c->npeers; i++) {
        const net_peer *p = c->peers[i];
        if (p->closing || (inbound_only && p->outbound))
            continue;
        if (ip && strcmp(p->ip, ip) != 0)
            continue;
        n++;
    }
    return n;
}

static size_t max_records(const net_core *c)
{
    return 2 * ((size_t)c->cfg.max_inbound + c->cfg.outbound_target) + 16;
}

bool net_core_accept_ok(const net_core *c, const char *ip, uint64_t now_ms)
{
    if (!ip || net_ip_banned(c, ip, now_ms))
        return false;
    if (c->npeers >= max_records(c))
        return false;
    if (net_ip_whitelisted(c, ip))
        return true;
    return count_peers(c, true, NULL) < c->cfg.max_inbound &&
           count_peers(c, false, ip) < c->cfg.max_per_ip;
}

weft_err net_core_connected(net_core *c, net_peer_id peer, bool outbound, const char *addr,
                            const char *ip, const uint8_t nonce[32], uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    if (peer == 0 || net_peer_find(c, peer) || !ip || !addr)
        return WEFT_E_INVAL;
    if (c->npeers >= max_records(c)) {
        /* no room even for a record: close at once (the shell's disconnect finds no peer) */
        net_action a;
        memset(&a, 0, sizeof a);
        a.kind = NET_ACT_CLOSE;
        a.peer = peer;
        a.reason = WEFT_E_NET_FULL;
        return net_push_action(c, &a);
    }
    if (c->npeers == c->peers_cap) {
        size_t ncap = c->peers_cap ? c->peers_cap * 2 : 16;
        net_peer **n = realloc(c->peers, ncap * sizeof *n);
        if (!n)
            return WEFT_E_NOMEM;
        c->peers = n;
        c->peers_cap = ncap;
    }
    net_peer *p = calloc(1, sizeof *p);
    if (!p)
        return WEFT_E_NOMEM;
    p->id = peer;
    p->outbound = outbound;
    p->hs = NET_HS_SENT;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    snprintf(p->ip, sizeof p->ip, "%s", ip);
    memcpy(p->nonce, nonce, NET_NONCE_LEN);
    p->connected_ms = now_ms;
    p->win_start = now_ms;
    p->last_periodic_ms = now_ms;
    p->whitelisted = net_ip_whitelisted(c, ip);
    uint32_t known = c->cfg.max_known_per_peer ? c->cfg.max_known_per_peer : 1;
    net_lru_init(&p->known_blocks, known, 32, 0, c->seed);
    net_lru_init(&p->known_ops, known, NET_OP_PREFIX_LEN, 0, c->seed);
    net_lru_init(&p->known_endos, known, 32, 0, c->seed);
    /* counted before this peer joins the list */
    bool full =
        !p->whitelisted && ((!outbound && count_peers(c, true, NULL) >= c->cfg.max_inbound) ||
                            count_peers(c, false, ip) >= c->cfg.max_per_ip);
    c->peers[c->npeers++] = p;
    if (outbound)
        c->st.peers_outbound++;
    else
        c->st.peers_inbound++;
    net_book_connected(c, p);

    if (net_ip_banned(c, ip, now_ms))
        return refuse(c, p, NET_REFUSE_BANNED, WEFT_E_NET_BANNED);
    if (full)
        return refuse(c, p, NET_REFUSE_FULL, WEFT_E_NET_FULL);
    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = c->cfg.chain_id;
    h.genesis = c->cfg.genesis_id;
    h.thread_count = c->cfg.thread_count;
    h.node_id = c->cfg.node_key.pk;
    h.listen_port = c->cfg.listen_port;
    memcpy(h.nonce, nonce, NET_NONCE_LEN);
    wr_t w;
    wr_init(&w);
    net_enc_handshake(&w, &h);
    return net_send(c, p, &w);
}

void net_core_disconnected(net_core *c, net_peer_id peer, uint64_t now_ms)
{
    c->now = now_ms;
    size_t i = 0;
    while (i < c->npeers && c->peers[i]->id != peer)
        i++;
    if (i == c->npeers)
        return;
    net_peer *p = c->peers[i];
    bool was_ready = p->hs == NET_HS_READY;
    if (!p->closing) {
        p->closing = true;
        net_blocks_peer_gone(c, p);
        net_state_peer_gone(c, p);
    }
    net_book_gone(c, p, was_ready);
    if (p->outbound)
        c->st.peers_outbound--;
    else
        c->st.peers_inbound--;
    memmove(c->peers + i, c->peers + i + 1, (c->npeers - i - 1) * sizeof *c->peers);
    c->npeers--;
    peer_free(p);
    c->sched_dirty = true;
}

/* ---- handshake ------------------------------------------------------------------------------- */

static weft_err on_handshake(net_core *c, net_peer *p, const net_handshake *h)
{
    if (h->version != NET_PROTOCOL_VERSION)
        return refuse(c, p, NET_REFUSE_VERSION, WEFT_E_NET_VERSION);
    if (h->chain_id != c->cfg.chain_id || !block_id_eq(&h->genesis, &c->cfg.genesis_id) ||
        h->thread_count != c->cfg.thread_count)
        return refuse(c, p, NET_REFUSE_CHAIN, WEFT_E_NET_CHAIN);
    if (memcmp(h->node_id.b, c->cfg.node_key.pk.b, 32) == 0) {
        net_book_refused(c, p, NET_REFUSE_SELF);
        return refuse(c, p, NET_REFUSE_SELF, WEFT_E_NET_SELF);
    }
    if (crypto_ed25519_check_pk(h->node_id.b) != WEFT_OK) {
        net_peer_fault(c, p, WEFT_E_NET_HANDSHAKE);
        return WEFT_OK;
    }
    if (net_id_banned(c, &h->node_id, c->now))
        return refuse(c, p, NET_REFUSE_BANNED, WEFT_E_NET_BANNED);
    p->node_id = h->node_id;
    p->has_node_id = true;
    p->listen_port = h->listen_port;
    hash32_t d;
    net_proof_digest(&d, c->cfg.chain_id, h->nonce, &c->cfg.node_key.pk, &h->node_id);
    signature_t sig;
    model_sign_digest(&sig, &c->cfg.node_key, &d);
    wr_t w;
    wr_init(&w);
    net_enc_proof(&w, &sig);
    p->hs = NET_HS_GOT;
    return net_send(c, p, &w);
}

/* The node that opened a connection. */
static const pubkey_t *dialer(const net_core *c, const net_peer *p)
{
    return p->outbound ? &c->cfg.node_key.pk : &p->node_id;
}

static weft_err on_proof(net_core *c, net_peer *p, const signature_t *sig)
{
    hash32_t d;
    net_proof_digest(&d, c->cfg.chain_id, p->nonce, &p->node_id, &c->cfg.node_key.pk);
    if (model_verify_digest(sig, &p->node_id, &d) != WEFT_OK) {
        net_peer_fault(c, p, WEFT_E_NET_HANDSHAKE);
        return WEFT_OK;
    }
    /* A second proven connection to the same node: both ends keep the connection opened by the
     * node with the smaller id (the older one if the same node opened both), so that
     * simultaneous dials leave exactly one connection. */
    for (size_t i = 0; i < c->npeers; i++) {
        net_peer *o = c->peers[i];
        if (o == p || !net_peer_live(o) || memcmp(o->node_id.b, p->node_id.b, 32) != 0)
            continue;
        int cmp = memcmp(dialer(c, p)->b, dialer(c, o)->b, 32);
        if (cmp >= 0)
            return refuse(c, p, NET_REFUSE_DUPLICATE, WEFT_E_NET_DUPLICATE);
        weft_err e = refuse(c, o, NET_REFUSE_DUPLICATE, WEFT_E_NET_DUPLICATE);
        if (e)
            return e;
        break;
    }
    p->hs = NET_HS_READY;
    c->sched_dirty = true; /* a peer to ask */
    net_book_ready(c, p);
    p->last_periodic_ms = c->now;
    weft_err e = net_send_hello(c, p);
    if (e)
        return e;
    wr_t w;
    wr_init(&w);
    net_enc_peers_ask(&w);
    e = net_send(c, p, &w);
    return e ? e : net_gossip_peer_ready(c, p);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static weft_err dispatch(net_core *c, net_peer *p, net_msg *m)
{
    if (m->type == NET_MSG_REFUSE) {
        net_book_refused(c, p, m->u.refuse.code);
        weft_err reason = WEFT_E_CLOSED;
        switch (m->u.refuse.code) {
        case NET_REFUSE_VERSION:
            reason = WEFT_E_NET_VERSION;
            break;
        case NET_REFUSE_CHAIN:
            reason = WEFT_E_NET_CHAIN;
            break;
        case NET_REFUSE_BANNED:
            reason = WEFT_E_NET_BANNED;
            break;
        case NET_REFUSE_FULL:
            reason = WEFT_E_NET_FULL;
            break;
        case NET_REFUSE_SELF:
            reason = WEFT_E_NET_SELF;
            break;
        case NET_REFUSE_DUPLICATE:
            reason = WEFT_E_NET_DUPLICATE;
            break;
        default:
            break;
        }
        net_peer_close(c, p, reason, false);
        return WEFT_OK;
    }
    if (p->hs != NET_HS_READY) {
        if (m->type == NET_MSG_HANDSHAKE && p->hs == NET_HS_SENT)
            return on_handshake(c, p, &m->u.handshake);
        if (m->type == NET_MSG_PROOF && p->hs == NET_HS_GOT)
            return on_proof(c, p, &m->u.proof);
        net_peer_fault(c, p, WEFT_E_NET_HANDSHAKE);
        return WEFT_OK;
    }
    switch (m->type) {
    case NET_MSG_HELLO:
        return net_on_hello(c, p, m);
    case NET_MSG_HEADER:
        return net_on_header(c, p, m->u.header);
    case NET_MSG_ASK_BLOCK:
        return net_on_ask_block(c, p, m);
    case NET_MSG_BLOCK_HEADER:
        return WEFT_OK; /* never asked by this core: an answer to nothing is dropped */
    case NET_MSG_BLOCK_OP_IDS:
        return net_on_block_op_ids(c, p, m);
    case NET_MSG_BLOCK_OPS:
        return net_on_block_ops(c, p, m);
    case NET_MSG_BLOCK_FULL: {
        bool root; /* a root block of a state transfer */
        weft_err e = net_state_on_block_full(c, p, m, &root);
        return e || root ? e : net_on_block_full(c, p, m);
    }
    case NET_MSG_BLOCK_NOT_FOUND: {
        bool root;
        weft_err e = net_state_on_not_found(c, p, &m->u.not_found, &root);
        return e || root ? e : net_on_not_found(c, p, &m->u.not_found);
    }
    case NET_MSG_ENDORSEMENTS:
        return net_on_endorsements(c, p, m);
    case NET_MSG_OP_ANNOUNCE:
        return net_on_op_announce(c, p, m);
    case NET_MSG_OP_ASK:
        return net_on_op_ask(c, p, m);
    case NET_MSG_OPS:
        return net_on_ops(c, p, m);
    case NET_MSG_SYNC_ASK:
        return net_on_sync_ask(c, p, m);
    case NET_MSG_SYNC_IDS:
        return net_on_sync_ids(c, p, m);
    case NET_MSG_STATE_ASK:
        return net_on_state_ask(c, p, m);
    case NET_MSG_STATE_PART:
        return net_on_state_part(c, p, m);
    case NET_MSG_STATE_CHECK:
        return net_on_state_check(c, p, m);
    case NET_MSG_STATE_CHECKED:
        return net_on_state_checked(c, p, m);
    case NET_MSG_PEERS_ASK:
        return net_on_peers_ask(c, p);
    case NET_MSG_PEERS:
        return net_on_peers(c, p, m);
    default: /* a second HANDSHAKE or PROOF */
        net_peer_fault(c, p, WEFT_E_NET_MESSAGE);
        return WEFT_OK;
    }
}

/* Ends an entry point: queued asks go out, a failed allocation is reported. */
static weft_err finish(net_core *c, weft_err e)
{
    if (e == WEFT_OK && c->sched_dirty)
        e = net_schedule(c);
    if (e == WEFT_OK && c->oom)
        e = WEFT_E_NOMEM;
    if (e == WEFT_E_NOMEM)
        c->oom = true;
    return e;
}

weft_err net_core_received(net_core *c, net_peer_id peer, const uint8_t *frame, size_t len,
                           uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    net_peer *p = net_peer_find(c, peer);
    if (!p || (!frame && len))
        return WEFT_E_INVAL;
    if (p->closing)
        return WEFT_OK;
    p->bytes_in += len;
    p->msgs_in++;
    c->st.frames_in++;
    c->st.bytes_in += len;
    if (!p->whitelisted) {
        if (since(now_ms, p->win_start) >= c->cfg.rate_window_ms || now_ms < p->win_start) {
            p->win_start = now_ms;
            p->win_bytes = 0;
            p->win_msgs = 0;
            p->win_served = 0;
            p->win_checks = 0;
        }
        p->win_bytes += len;
        p->win_msgs++;
        if (p->win_bytes > c->cfg.max_bytes_per_window ||
            p->win_msgs > c->cfg.max_msgs_per_window) {
            net_peer_fault(c, p, WEFT_E_NET_LIMIT);
            return finish(c, WEFT_OK);
        }
    }
    size_t total;
    weft_err e = len < NET_FRAME_HEADER ? WEFT_E_NET_MESSAGE
                                        : net_frame_check(frame, c->cfg.max_frame, &total);
    if (e == WEFT_OK && total != len)
        e = WEFT_E_NET_MESSAGE;
    if (e) {
        net_peer_fault(c, p, e);
        return finish(c, WEFT_OK);
    }
    net_msg m;
    e = net_msg_decode(&m, &c->lim, frame, len);
    if (e == WEFT_E_NOMEM)
        return finish(c, e);
    if (e) {
        net_peer_fault(c, p, e);
        return finish(c, WEFT_OK);
    }
    e = dispatch(c, p, &m);
    net_msg_free(&m);
    return finish(c, e);
}

weft_err net_core_tick(net_core *c, uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < c->npeers && !e; i++) {
        net_peer *p = c->peers[i];
        if (p->closing)
            continue;
        if (p->hs != NET_HS_READY) {
            if (since(now_ms, p->connected_ms) >= c->cfg.handshake_timeout_ms)
                net_peer_close(c, p, WEFT_E_NET_TIMEOUT, false);
            continue;
        }
        if (c->cfg.peer_list_ms && since(now_ms, p->last_periodic_ms) >= c->cfg.peer_list_ms) {
            p->last_periodic_ms = now_ms;
            e = net_send_hello(c, p);
            if (!e) {
                wr_t w;
                wr_init(&w);
                net_enc_peers_ask(&w);
                e = net_send(c, p, &w);
            }
        }
    }
    if (!e)
        e = net_blocks_tick(c);
    if (!e)
        e = net_state_tick(c);
    if (!e)
        e = net_gossip_tick(c);
    if (!e)
        e = net_book_tick(c);
    c->sched_dirty = true;
    return finish(c, e);
}

/* ---- events from the node -------------------------------------------------------------------- */

weft_err net_core_block_pending(net_core *c, const block_header_t *h, uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    return finish(c, net_blocks_pending(c, h));
}

weft_err net_core_block_invalid(net_core *c, const block_id_t *id, weft_err reason, uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    (void)reason; /* whatever the graph found, the senders were at fault */
    return finish(c, net_blocks_invalid(c, id));
}

weft_err net_core_blocks_missing(net_core *c, const block_id_t *ids, size_t n, uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    return finish(c, net_blocks_missing(c, ids, n));
}

weft_err net_core_ops_admitted(net_core *c, const op_id_t *ids, size_t n, uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    return finish(c, net_gossip_ops_admitted(c, ids, n));
}

weft_err net_core_endorsements_admitted(net_core *c, const endorsement_t *e, size_t n,
                                        uint64_t now_ms)
{
    c->now = now_ms;
    if (c->oom)
        return WEFT_E_NOMEM;
    return finish(c, net_gossip_endorsements(c, e, n));
}

/* ---- creation -------------------------------------------------------------------------------- */

weft_err net_core_new(net_core **out, const net_config *cfg, const net_chain_vt *vt,
                      void *chain_ctx, const char *const *bootstrap, size_t n_boot)
{
    *out = NULL;
    if (!cfg || !vt || !vt->status || !vt->has_block || !vt->get_block || !vt->get_ops ||
        !vt->submit_block || !vt->submit_ops || !vt->submit_endorsements || !vt->final_range)
        return WEFT_E_INVAL;
    if (cfg->thread_count == 0 || cfg->thread_count > MODEL_MAX_THREADS || cfg->max_frame == 0 ||
        cfg->max_ops_per_message == 0 || cfg->max_asks_per_peer == 0 || cfg->sync_batch == 0 ||
        cfg->rate_window_ms == 0 || cfg->state_confirmations > NET_STATE_CHECKERS)
        return WEFT_E_INVAL;
    net_core *c = calloc(1, sizeof *c);
    if (!c)
        return WEFT_E_NOMEM;
    c->cfg = *cfg;
    if (c->cfg.sync_batch > NET_MAX_SYNC_IDS)
        c->cfg.sync_batch = NET_MAX_SYNC_IDS;
    c->vt = vt;
    c->ctx = chain_ctx;
    net_wire_limits_init(&c->lim, &c->cfg);
    /* the hash tables' key: secret to peers, fixed for a node */
    uint8_t d[32];
    crypto_blake3_ctx h;
    crypto_blake3_init(&h);
    crypto_blake3_update(&h, "weft/net/table-seed", 19);
    crypto_blake3_update(&h, c->cfg.node_key.seed, 32);
    crypto_blake3_final(&h, d);
    memcpy(&c->seed, d, sizeof c->seed);
    crypto_wipe(d, sizeof d);
    weft_err e = net_blocks_init(c);
    if (!e) {
        net_lru_init(&c->op_ids, NET_OP_MAP_MAX, NET_OP_PREFIX_LEN, 0, c->seed);
        net_lru_init(&c->op_asked, NET_OP_ASKED_MAX, NET_OP_PREFIX_LEN, sizeof(uint64_t), c->seed);
        net_lru_init(&c->op_recent, NET_OP_RECENT_MAX, NET_OP_PREFIX_LEN, sizeof(net_op_recent),
                     c->seed);
        for (size_t i = 0; i < n_boot; i++)
            if (bootstrap[i])
                (void)net_book_add(c, bootstrap[i], true); /* invalid ones are ignored */
    }
    if (e || c->oom) {
        net_core_free(c);
        return e ? e : WEFT_E_NOMEM;
    }
    *out = c;
    return WEFT_OK;
}

void net_core_free(net_core *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npeers; i++)
        peer_free(c->peers[i]);
    free(c->peers);
    net_blocks_free(c);
    net_state_free(c);
    net_lru_free(&c->op_ids);
    net_lru_free(&c->op_asked);
    net_lru_free(&c->op_recent);
    free(c->announce);
    net_actions_free(c->acts, c->nacts);
    free(c->acts);
    free(c->book);
    net_bans_free(c);
    crypto_wipe(&c->cfg.node_key, sizeof c->cfg.node_key);
    free(c);
}

/* ---- queries --------------------------------------------------------------------------------- */

size_t net_core_peers(const net_core *c, net_peer_info *out, size_t cap)
{
    for (size_t i = 0; i < c->npeers && i < cap; i++) {
        const net_peer *p = c->peers[i];
        net_peer_info *o = &out[i];
        memset(o, 0, sizeof *o);
        o->peer = p->id;
        if (p->hs == NET_HS_READY)
            o->node_id = p->node_id;
        memcpy(o->addr, p->addr, sizeof o->addr);
        o->outbound = p->outbound;
        o->ready = p->hs == NET_HS_READY && !p->closing;
        o->connected_ms = p->connected_ms;
        o->bytes_in = p->bytes_in;
        o->msgs_in = p->msgs_in;
    }
    return c->npeers;
}

void net_core_stats(const net_core *c, net_stats *out)
{
    *out = c->st;
    out->peers = c->npeers;
    out->peers_ready = 0;
    for (size_t i = 0; i < c->npeers; i++)
        if (net_peer_live(c->peers[i]))
            out->peers_ready++;
    out->bans_active = 0;
    for (size_t i = 0; i < c->nbans; i++)
        if (c->bans[i].until_ms > c->now)
            out->bans_active++;
    out->syncing = c->sync.active;
    net_state_progress(c, out);
}
