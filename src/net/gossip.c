/* Operations and endorsements (docs/protocol.md "Operations", "Endorsements"): operations the pool
 * admitted are announced by id prefix in batches; a peer asks the prefixes it does not know and
 * gets the full signed operations; endorsements are pushed in full.  Nothing goes to a peer known
 * to have it (sent to it, announced by it, or received from it), so nothing is echoed back.
 * Operations admitted within NET_OP_RECENT_MS are announced again to each peer that becomes ready
 * (a peer that connected after the batch went out, or whose connection broke), except to the node
 * that sent them. */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

static weft_err oom(net_core *c)
{
    c->oom = true;
    return WEFT_E_NOMEM;
}

/* A prefix as a 32-byte key (the sets compare the first NET_OP_PREFIX_LEN bytes). */
static void prefix_key(uint8_t key[32], const uint8_t *prefix)
{
    memset(key, 0, 32);
    memcpy(key, prefix, NET_OP_PREFIX_LEN);
}

/* ---- announcements --------------------------------------------------------------------------- */

/* Announces to p those of the n prefixes it is not known to have (they are known from now on);
 * buf has room for n prefixes. */
static weft_err announce_to(net_core *c, net_peer *p, const uint8_t *prefixes, size_t n,
                            uint8_t *buf)
{
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        const uint8_t *pre = prefixes + j * NET_OP_PREFIX_LEN;
        uint8_t key[32];
        prefix_key(key, pre);
        bool fresh;
        if (!net_lru_put(&p->known_ops, key, &fresh))
            return oom(c);
        if (fresh)
            memcpy(buf + k++ * NET_OP_PREFIX_LEN, pre, NET_OP_PREFIX_LEN);
    }
    weft_err e = WEFT_OK;
    for (size_t off = 0; off < k && !e; off += c->cfg.max_ops_per_message) {
        size_t m = k - off < c->cfg.max_ops_per_message ? k - off : c->cfg.max_ops_per_message;
        wr_t w;
        wr_init(&w);
        net_enc_prefixes(&w, NET_MSG_OP_ANNOUNCE, buf + off * NET_OP_PREFIX_LEN, (uint32_t)m);
        e = net_send(c, p, &w);
    }
    return e;
}

static weft_err announce_flush(net_core *c)
{
    size_t n = c->nannounce;
    c->nannounce = 0;
    if (!n)
        return WEFT_OK;
    uint8_t *buf = malloc(n * NET_OP_PREFIX_LEN);
    if (!buf)
        return oom(c);
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < c->npeers && !e; i++)
        if (net_peer_live(c->peers[i]))
            e = announce_to(c, c->peers[i], c->announce, n, buf);
    free(buf);
    return e;
}

/* Remembers a recent operation (admitted now); from: the node that sent it, if known.  An entry
 * keeps its first sender. */
static weft_err recent_put(net_core *c, const uint8_t *id, const pubkey_t *from)
{
    uint8_t key[32];
    prefix_key(key, id);
    bool fresh;
    net_op_recent *r = net_lru_put(&c->op_recent, key, &fresh);
    if (!r)
        return oom(c);
    if (!from) /* admitted (again) by the chain: announced to new peers from now */
        r->at = c->now;
    else if (fresh)
        r->at = c->now;
    if (from && !r->has_from) {
        r->from = *from;
        r->has_from = true;
    }
    return WEFT_OK;
}

weft_err net_gossip_ops_admitted(net_core *c, const op_id_t *ids, size_t n)
{
    size_t max = c->cfg.op_announce_max ? c->cfg.op_announce_max : 1;
    for (size_t i = 0; i < n; i++) {
        if (!net_lru_put(&c->op_ids, ids[i].h.b, NULL))
            return oom(c);
        weft_err e = recent_put(c, ids[i].h.b, NULL);
        if (e)
            return e;
        if (c->nannounce == c->announce_cap) {
            size_t ncap = c->announce_cap ? c->announce_cap * 2 : 256;
            uint8_t *b = realloc(c->announce, ncap * NET_OP_PREFIX_LEN);
            if (!b)
                return oom(c);
            c->announce = b;
            c->announce_cap = ncap;
        }
        if (c->nannounce == 0)
            c->announce_since = c->now;
        memcpy(c->announce + c->nannounce++ * NET_OP_PREFIX_LEN, ids[i].h.b, NET_OP_PREFIX_LEN);
        if (c->nannounce >= max) {
            e = announce_flush(c);
            if (e)
                return e;
        }
    }
    return WEFT_OK;
}

weft_err net_gossip_peer_ready(net_core *c, net_peer *p)
{
    uint32_t n = c->op_recent.count;
    if (!n)
        return WEFT_OK;
    uint8_t *pre = malloc((size_t)n * NET_OP_PREFIX_LEN);
    uint8_t *buf = malloc((size_t)n * NET_OP_PREFIX_LEN);
    if (!pre || !buf) {
        free(pre);
        free(buf);
        return oom(c);
    }
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *key;
        const net_op_recent *r = net_lru_at(&c->op_recent, i, &key);
        if (since(c->now, r->at) >= NET_OP_RECENT_MS)
            continue;
        if (r->has_from && memcmp(r->from.b, p->node_id.b, sizeof r->from.b) == 0)
            continue; /* never back to the node that sent it */
        memcpy(pre + k++ * NET_OP_PREFIX_LEN, key, NET_OP_PREFIX_LEN);
    }
    weft_err e = announce_to(c, p, pre, k, buf);
    free(pre);
    free(buf);
    return e;
}

weft_err net_gossip_tick(net_core *c)
{
    if (c->nannounce && since(c->now, c->announce_since) >= c->cfg.op_announce_ms)
        return announce_flush(c);
    return WEFT_OK;
}

weft_err net_on_op_announce(net_core *c, net_peer *p, const net_msg *m)
{
    uint32_t n = m->u.prefixes.count;
    uint8_t *ask = malloc(n ? (size_t)n * NET_OP_PREFIX_LEN : 1);
    if (!ask)
        return oom(c);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *pre = m->u.prefixes.p + (size_t)i * NET_OP_PREFIX_LEN;
        uint8_t key[32];
        prefix_key(key, pre);
        if (!net_lru_put(&p->known_ops, key, NULL)) {
            free(ask);
            return oom(c);
        }
        if (net_lru_has(&c->op_ids, key))
            continue; /* known here */
        bool fresh;
        uint64_t *asked = net_lru_put(&c->op_asked, key, &fresh);
        if (!asked) {
            free(ask);
            return oom(c);
        }
        if (!fresh && since(c->now, *asked) < c->cfg.ask_timeout_ms)
            continue; /* asked from another peer a moment ago */
        *asked = c->now;
        memcpy(ask + (size_t)k++ * NET_OP_PREFIX_LEN, pre, NET_OP_PREFIX_LEN);
    }
    weft_err e = WEFT_OK;
    if (k) {
        wr_t w;
        wr_init(&w);
        net_enc_prefixes(&w, NET_MSG_OP_ASK, ask, k);
        e = net_send(c, p, &w);
    }
    free(ask);
    return e;
}

weft_err net_send_ops(net_core *c, net_peer *p, const op_id_t *ids, size_t n)
{
    if (!n)
        return WEFT_OK;
    uint8_t **ops = calloc(n, sizeof *ops);
    size_t *lens = calloc(n, sizeof *lens);
    if (!ops || !lens) {
        free(ops);
        free(lens);
        return oom(c);
    }
    weft_err e = c->vt->get_ops(c->ctx, ids, n, ops, lens);
    if (e == WEFT_E_NOMEM) {
        for (size_t i = 0; i < n; i++)
            free(ops[i]);
        free(ops);
        free(lens);
        return oom(c);
    }
    /* compact the found ones, then cut into frames by count and size */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (e || !lens[i] || !ops[i]) {
            free(ops[i]);
            continue;
        }
        ops[k] = ops[i];
        lens[k++] = lens[i];
    }
    e = WEFT_OK;
    size_t room = c->cfg.max_frame > 64 ? c->cfg.max_frame - 64 : 0;
    size_t per = c->cfg.max_ops_per_message < NET_OPS_PER_FRAME ? c->cfg.max_ops_per_message
                                                                : NET_OPS_PER_FRAME;
    for (size_t i = 0; i < k && !e;) {
        size_t j = i, bytes = 0;
        while (j < k && j - i < per && (j == i || bytes + lens[j] + VARINT_MAX_LEN <= room)) {
            bytes += lens[j] + VARINT_MAX_LEN;
            j++;
        }
        wr_t w;
        wr_init(&w);
        net_enc_ops(&w, ops + i, lens + i, (uint32_t)(j - i));
        e = net_send(c, p, &w);
        c->st.ops_out += j - i;
        i = j;
    }
    for (size_t i = 0; i < k; i++)
        free(ops[i]);
    free(ops);
    free(lens);
    return e;
}

weft_err net_on_op_ask(net_core *c, net_peer *p, const net_msg *m)
{
    if (net_served_enough(c, p))
        return WEFT_OK; /* it asks again from whoever announces them next */
    uint32_t n = m->u.prefixes.count;
    op_id_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return oom(c);
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t key[32];
        prefix_key(key, m->u.prefixes.p + (size_t)i * NET_OP_PREFIX_LEN);
        const uint8_t *full;
        if (!net_lru_get(&c->op_ids, key, &full))
            continue; /* not an operation of ours: nothing to send */
        if (!net_lru_put(&p->known_ops, key, NULL)) {
            free(ids);
            return oom(c);
        }
        memcpy(ids[k++].h.b, full, MODEL_HASH_LEN);
    }
    weft_err e = net_send_ops(c, p, ids, k);
    free(ids);
    return e;
}

bool net_frame_deferrable(const uint8_t *frame, size_t len)
{
    return frame && len > NET_FRAME_HEADER &&
           (frame[4] == NET_MSG_OPS || frame[4] == NET_MSG_OP_ANNOUNCE);
}

weft_err net_on_ops(net_core *c, net_peer *p, const net_msg *m)
{
    uint32_t n = m->u.ops.count;
    if (!n)
        return WEFT_OK;
    signed_op_t **ops = calloc(n, sizeof *ops);
    weft_err *res = calloc(n, sizeof *res);
    if (!ops || !res) {
        free(ops);
        free(res);
        return oom(c);
    }
    weft_err e = WEFT_OK;
    for (uint32_t i = 0; i < n && !e; i++) {
        ops[i] = malloc(sizeof **ops);
        if (!ops[i]) {
            e = WEFT_E_NOMEM;
            break;
        }
        e = signed_op_decode(ops[i], c->cfg.chain_id, m->u.ops.ops[i].p, m->u.ops.ops[i].len);
        if (e) {
            free(ops[i]);
            ops[i] = NULL;
            break;
        }
        /* the peer has it; it is known here from now on (asked no more) */
        uint8_t key[32];
        prefix_key(key, ops[i]->id.h.b);
        if (!net_lru_put(&p->known_ops, key, NULL) ||
            !net_lru_put(&c->op_ids, ops[i]->id.h.b, NULL))
            e = WEFT_E_NOMEM;
    }
    if (e) {
        for (uint32_t i = 0; i < n; i++)
            if (ops[i]) {
                signed_op_free(ops[i]);
                free(ops[i]);
            }
        free(ops);
        free(res);
        if (e == WEFT_E_NOMEM)
            return oom(c);
        net_peer_fault(c, p, e);
        return WEFT_OK;
    }
    c->st.ops_in += n;
    uint8_t *pre = malloc((size_t)n * NET_OP_PREFIX_LEN); /* the ops pass to the chain */
    if (!pre) {
        for (uint32_t i = 0; i < n; i++) {
            signed_op_free(ops[i]);
            free(ops[i]);
        }
        free(ops);
        free(res);
        return oom(c);
    }
    for (uint32_t i = 0; i < n; i++)
        memcpy(pre + (size_t)i * NET_OP_PREFIX_LEN, ops[i]->id.h.b, NET_OP_PREFIX_LEN);
    e = c->vt->submit_ops(c->ctx, ops, n, res); /* the operations and the array pass */
    if (e == WEFT_E_NOMEM) {
        free(pre);
        free(res);
        return oom(c);
    }
    bool bad = false;
    for (uint32_t i = 0; !e && i < n; i++)
        bad |= res[i] == WEFT_E_SIGNATURE;
    /* admitted (or known) ones: remembered as sent by this peer, so never announced back */
    weft_err re = WEFT_OK;
    for (uint32_t i = 0; !e && !bad && !re && i < n; i++)
        if (res[i] == WEFT_OK && p->has_node_id)
            re = recent_put(c, pre + (size_t)i * NET_OP_PREFIX_LEN, &p->node_id);
    free(pre);
    free(res);
    if (bad)
        net_peer_fault(c, p, WEFT_E_SIGNATURE);
    return re;
}

/* ---- endorsements ---------------------------------------------------------------------------- */

weft_err net_gossip_endorsements(net_core *c, const endorsement_t *e, size_t n)
{
    if (!n)
        return WEFT_OK;
    endorsement_t *sel = malloc(n * sizeof *sel);
    if (!sel)
        return oom(c);
    weft_err err = WEFT_OK;
    for (size_t i = 0; i < c->npeers && !err; i++) {
        net_peer *p = c->peers[i];
        if (!net_peer_live(p))
            continue;
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            bool fresh;
            if (!net_lru_put(&p->known_endos, e[j].id.h.b, &fresh)) {
                err = oom(c);
                break;
            }
            if (fresh)
                sel[k++] = e[j];
        }
        for (size_t off = 0; off < k && !err; off += NET_MAX_ENDORSEMENTS_MSG) {
            size_t m = k - off < NET_MAX_ENDORSEMENTS_MSG ? k - off : NET_MAX_ENDORSEMENTS_MSG;
            wr_t w;
            wr_init(&w);
            net_enc_endorsements(&w, sel + off, (uint32_t)m);
            err = net_send(c, p, &w);
            c->st.endorsements_out += m;
        }
    }
    free(sel);
    return err;
}

weft_err net_on_endorsements(net_core *c, net_peer *p, const net_msg *m)
{
    uint32_t n = m->u.endorsements.count;
    if (!n)
        return WEFT_OK;
    for (uint32_t i = 0; i < n; i++)
        if (!net_lru_put(&p->known_endos, m->u.endorsements.e[i].id.h.b, NULL))
            return oom(c);
    weft_err *res = calloc(n, sizeof *res);
    if (!res)
        return oom(c);
    c->st.endorsements_in += n;
    weft_err e = c->vt->submit_endorsements(c->ctx, m->u.endorsements.e, n, res);
    if (e == WEFT_E_NOMEM) {
        free(res);
        return oom(c);
    }
    weft_err fault = WEFT_OK;
    for (uint32_t i = 0; !e && i < n && !fault; i++)
        if (res[i] == WEFT_E_SIGNATURE || res[i] == WEFT_E_ENDORSEMENT)
            fault = res[i];
    free(res);
    if (fault)
        net_peer_fault(c, p, fault);
    return WEFT_OK;
}
