/* Blocks: headers pushed to peers that lack them, bodies pulled (operation ids, then the
 * operations the chain lacks), full blocks asked for missing parents and heads, asks in flight
 * with time-outs and re-asks elsewhere, the sync of final blocks from a peer that is ahead, and
 * the blocks the chain cannot take yet (docs/protocol.md "Blocks", "Sync"). */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

static weft_err oom(net_core *c)
{
    c->oom = true;
    return WEFT_E_NOMEM;
}

/* ---- assembled blocks ------------------------------------------------------------------------ */

static void asm_free(net_asm *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; i < a->count; i++)
        free(a->raw[i]);
    free(a->raw);
    free(a->lens);
    free(a->header);
    free(a);
}

static net_sender sender_of(const net_peer *p)
{
    net_sender s;
    memset(&s, 0, sizeof s);
    s.peer = p->id;
    s.node_id = p->node_id;
    s.has_node_id = p->has_node_id;
    memcpy(s.ip, p->ip, sizeof s.ip);
    return s;
}

/* ---- wants ----------------------------------------------------------------------------------- */

static net_want *want_get(net_core *c, const block_id_t *id)
{
    return net_pmap_get(&c->wants, id->h.b);
}

static weft_err queue_push(net_core *c, net_want *w)
{
    if (w->queued || w->asked)
        return WEFT_OK;
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 64;
        net_want **n = realloc(c->queue, ncap * sizeof *n);
        if (!n)
            return oom(c);
        c->queue = n;
        c->qcap = ncap;
    }
    c->queue[c->qlen++] = w;
    w->queued = true;
    c->sched_dirty = true;
    return WEFT_OK;
}

static void queue_remove(net_core *c, net_want *w)
{
    if (!w->queued)
        return;
    for (size_t i = 0; i < c->qlen; i++)
        if (c->queue[i] == w) {
            memmove(c->queue + i, c->queue + i + 1, (c->qlen - i - 1) * sizeof *c->queue);
            c->qlen--;
            break;
        }
    w->queued = false;
}

static void want_unask(net_core *c, net_want *w)
{
    if (!w->asked)
        return;
    net_peer *p = net_peer_find(c, w->asked);
    if (p && p->asks)
        p->asks--;
    w->asked = 0;
    c->sched_dirty = true; /* room for another ask */
}

static bool tried_has(const net_want *w, net_peer_id id)
{
    for (uint32_t i = 0; i < w->ntried; i++)
        if (w->tried[i] == id)
            return true;
    return false;
}

static void tried_add(net_want *w, net_peer_id id)
{
    if (tried_has(w, id))
        return;
    if (w->ntried == NET_WANT_TRIED) {
        memmove(w->tried, w->tried + 1, (NET_WANT_TRIED - 1) * sizeof *w->tried);
        w->ntried--;
    }
    w->tried[w->ntried++] = id;
}

static void want_body_free(net_want *w)
{
    if (w->op_raw)
        for (uint32_t i = 0; i < w->op_count; i++)
            free(w->op_raw[i]);
    free(w->op_raw);
    free(w->op_len);
    free(w->op_ids);
    w->op_raw = NULL;
    w->op_len = NULL;
    w->op_ids = NULL;
    w->op_count = w->missing = 0;
}

static void want_free(net_core *c, net_want *w)
{
    queue_remove(c, w);
    want_unask(c, w);
    net_pmap_del(&c->wants, w->id.h.b);
    want_body_free(w);
    free(w->header);
    free(w);
}

/* A new want (none exists for id); *out NULL when the wants are at their limit. */
static weft_err want_new(net_core *c, const block_id_t *id, uint8_t stage, net_peer_id prefer,
                         net_want **out)
{
    *out = NULL;
    if (c->wants.count >= NET_MAX_WANTS)
        return WEFT_OK;
    net_want *w = calloc(1, sizeof *w);
    if (!w)
        return oom(c);
    w->id = *id;
    w->stage = stage;
    w->prefer = prefer;
    weft_err e = net_pmap_put(&c->wants, id->h.b, w);
    if (e) {
        free(w);
        return oom(c);
    }
    e = queue_push(c, w);
    if (e) {
        want_free(c, w);
        return e;
    }
    *out = w;
    return WEFT_OK;
}

/* Back to the queue after an answer that did not complete it (or a time-out). */
static weft_err want_retry(net_core *c, net_want *w, net_peer *from)
{
    want_unask(c, w);
    if (from)
        tried_add(w, from->id);
    return queue_push(c, w);
}

/* ---- senders --------------------------------------------------------------------------------- */

static weft_err senders_add(net_core *c, const block_id_t *id, const net_peer *p)
{
    if (!p->has_node_id)
        return WEFT_OK;
    net_senders *s = net_lru_put(&c->senders, id->h.b, NULL);
    if (!s)
        return oom(c);
    for (uint32_t i = 0; i < s->n; i++)
        if (memcmp(s->s[i].node_id.b, p->node_id.b, 32) == 0)
            return WEFT_OK;
    if (s->n < NET_SENDERS_PER_BLOCK)
        s->s[s->n++] = sender_of(p);
    return WEFT_OK;
}

static weft_err mark_known(net_core *c, net_lru *set, const uint8_t key[32])
{
    return net_lru_put(set, key, NULL) ? WEFT_OK : oom(c);
}

/* ---- the later queue ------------------------------------------------------------------------- */

static bool later_full(const net_core *c, size_t bytes)
{
    return c->nlater >= NET_LATER_MAX || c->later_bytes + bytes > NET_LATER_BYTES;
}

/* Keeps a block the chain could not take yet (E_NODE_BLOCK_LATER), in slot order; drops it when
 * the queue is full (it comes back through a hello, a child's missing parents or the sync). */
static weft_err later_add(net_core *c, net_asm *a)
{
    if (later_full(c, a->bytes) ||
        (a->later_since && since(c->now, a->later_since) >= NET_LATER_TTL_MS)) {
        asm_free(a);
        return WEFT_OK;
    }
    if (!a->later_since)
        a->later_since = c->now ? c->now : 1;
    if (!c->later) {
        c->later = malloc(NET_LATER_MAX * sizeof *c->later);
        if (!c->later) {
            asm_free(a);
            return oom(c);
        }
    }
    size_t lo = 0, hi = c->nlater;
    while (lo < hi) { /* after every block of a slot ≤ this one */
        size_t mid = (lo + hi) / 2;
        if (slot_cmp(c->later[mid]->header->slot, a->header->slot) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(c->later + lo + 1, c->later + lo, (c->nlater - lo) * sizeof *c->later);
    c->later[lo] = a;
    if (c->nlater == 0)
        c->later_next_ms = c->now + c->later_delay;
    c->nlater++;
    c->later_bytes += a->bytes;
    return WEFT_OK;
}

/* ---- submission ------------------------------------------------------------------------------ */

/* Gives a complete block to the chain (a is consumed).  *later: the chain said
 * E_NODE_BLOCK_LATER and the block is kept for a resubmission. */
static weft_err submit(net_core *c, net_asm *a, bool *later)
{
    if (later)
        *later = false;
    signed_op_t *ops = calloc(a->count ? a->count : 1, sizeof *ops);
    if (!ops) {
        asm_free(a);
        return oom(c);
    }
    for (uint32_t i = 0; i < a->count; i++) {
        weft_err e = signed_op_decode(&ops[i], c->cfg.chain_id, a->raw[i], a->lens[i]);
        if (e) {
            for (uint32_t j = 0; j < i; j++)
                signed_op_free(&ops[j]);
            free(ops);
            if (e == WEFT_E_NOMEM) {
                asm_free(a);
                return oom(c);
            }
            net_peer *p = net_peer_find(c, a->from.peer);
            if (p)
                net_peer_fault(c, p, e);
            else
                (void)net_ban_sender(c, &a->from, WEFT_E_NET_INVALID_BLOCK, c->now);
            asm_free(a);
            return WEFT_OK;
        }
    }
    weft_err verdict = WEFT_OK;
    weft_err e = c->vt->submit_block(c->ctx, a->header, ops, a->count, &verdict);
    /* ops and the array belong to the chain now */
    if (e) {
        asm_free(a);
        if (e == WEFT_E_NOMEM)
            return oom(c);
        /* the chain cannot take requests now (stopping): the block is dropped */
        return WEFT_OK;
    }
    switch (verdict) {
    case WEFT_OK:
        /* the chain moved: what it could not take may go now */
        c->later_delay = NET_LATER_RETRY_MS;
        if (c->nlater && c->later_next_ms > c->now + NET_LATER_RETRY_MS)
            c->later_next_ms = c->now + NET_LATER_RETRY_MS;
        c->st.blocks_in++;
        if (a->sync)
            c->st.sync_blocks_in++;
        if (a->from.peer && net_peer_find(c, a->from.peer))
            c->last_block_peer = a->from.peer;
        asm_free(a);
        return WEFT_OK;
    case WEFT_E_NODE_BLOCK_LATER:
        if (later)
            *later = true;
        return later_add(c, a);
    case WEFT_E_SIGNATURE:
    case WEFT_E_OPS_HASH:
    case WEFT_E_TOO_MANY_OPS:
    case WEFT_E_NODE_BLOCK:
        (void)net_ban_sender(c, &a->from, WEFT_E_NET_INVALID_BLOCK, c->now);
        asm_free(a);
        return WEFT_OK;
    default: /* E_GRAPH_*: not taken, not a fault */
        asm_free(a);
        return WEFT_OK;
    }
}

/* Gives the chain the blocks it could not take, in slot order, until it refuses one again.  Each
 * retry costs the chain some work (the node checks a header signature before it finds the draws
 * unknown), so while nothing is taken the retries slow down (doubling up to
 * NET_LATER_RETRY_MAX_MS). */
static weft_err later_retry(net_core *c)
{
    if (!c->nlater || c->now < c->later_next_ms)
        return WEFT_OK;
    uint64_t before = c->st.blocks_in;
    while (c->nlater) {
        net_asm *a = c->later[0];
        memmove(c->later, c->later + 1, (c->nlater - 1) * sizeof *c->later);
        c->nlater--;
        c->later_bytes -= a->bytes;
        bool later;
        weft_err e = submit(c, a, &later);
        if (e)
            return e;
        if (later)
            break;
    }
    if (c->st.blocks_in == before && c->later_delay < NET_LATER_RETRY_MAX_MS)
        c->later_delay *= 2;
    if (c->later_delay > NET_LATER_RETRY_MAX_MS)
        c->later_delay = NET_LATER_RETRY_MAX_MS;
    c->later_next_ms = c->now + c->later_delay;
    return WEFT_OK;
}

/* ---- sync ------------------------------------------------------------------------------------ */

static slot_t min_final_slot(const net_core *c, const net_chain_status *st)
{
    slot_t m = {st->final_periods[0], 0};
    for (uint32_t t = 1; t < c->cfg.thread_count; t++) {
        slot_t s = {st->final_periods[t], (uint8_t)t};
        if (slot_cmp(s, m) < 0)
            m = s;
    }
    return m;
}

static net_sync_entry *sync_entry(net_core *c, slot_t slot, const block_id_t *id)
{
    size_t lo = c->sync.next, hi = c->sync.len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = slot_cmp(c->sync.e[mid].slot, slot);
        if (cmp == 0)
            return block_id_eq(&c->sync.e[mid].id, id) ? &c->sync.e[mid] : NULL;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static weft_err send_sync_ask(net_core *c, net_peer *p)
{
    wr_t w;
    wr_init(&w);
    net_enc_sync_ask(&w, c->sync.cursor, c->cfg.sync_batch);
    c->sync.ids_pending = true;
    c->sync.ids_asked_at = c->now;
    return net_send(c, p, &w);
}

static weft_err ask_heads(net_core *c, net_peer *p);
static weft_err missing_ids(net_core *c, const block_id_t *ids, size_t n);

static void sync_clear(net_core *c)
{
    for (size_t i = c->sync.next; i < c->sync.len; i++) {
        net_sync_entry *se = &c->sync.e[i];
        if (se->state == NET_SE_NEED) {
            net_want *w = want_get(c, &se->id);
            if (w && w->sync)
                want_free(c, w);
        }
        asm_free(se->blk);
    }
    free(c->sync.e);
    memset(&c->sync, 0, sizeof c->sync);
}

static weft_err sync_finish(net_core *c, bool complete)
{
    (void)complete; /* done, or stopped: the next hello that is ahead starts it again */
    sync_clear(c);
    /* follow: the heads the peers told us about, and the parents noted while syncing */
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < c->npeers && !e; i++)
        if (net_peer_live(c->peers[i]))
            e = ask_heads(c, c->peers[i]);
    block_id_t *d = c->deferred;
    size_t n = c->ndeferred;
    c->deferred = NULL;
    c->ndeferred = 0;
    if (!e && n)
        e = missing_ids(c, d, n);
    free(d);
    return e;
}

/* Submits the sync list's blocks in slot order, asks the next batch of ids, ends the sync. */
static weft_err sync_pump(net_core *c)
{
    net_sync *s = &c->sync;
    weft_err e = WEFT_OK;
    while (s->active && s->next < s->len && !e) {
        net_sync_entry *se = &s->e[s->next];
        if (se->state == NET_SE_NEED)
            break;
        if (se->state == NET_SE_READY) {
            net_asm *a = se->blk;
            if (c->nlater && slot_cmp(c->later[0]->header->slot, a->header->slot) < 0) {
                /* behind an earlier block the chain cannot take yet: keep the slot order */
                if (later_full(c, a->bytes))
                    break;
                se->blk = NULL;
                s->buffered -= a->bytes;
                e = later_add(c, a);
            } else {
                se->blk = NULL;
                s->buffered -= a->bytes;
                e = submit(c, a, NULL);
            }
            se->state = NET_SE_DONE;
        }
        s->next++;
    }
    if (e || !s->active)
        return e;
    if (s->next > 0 && (s->next == s->len || s->next >= 256)) {
        memmove(s->e, s->e + s->next, (s->len - s->next) * sizeof *s->e);
        s->len -= s->next;
        s->next = 0;
    }
    if (!s->ids_pending && s->more && s->len - s->next <= c->cfg.sync_batch) {
        net_peer *p = s->peer ? net_peer_find(c, s->peer) : NULL;
        if (p && net_peer_live(p))
            return send_sync_ask(c, p);
    }
    if (!s->ids_pending && !s->more && s->next == s->len)
        return sync_finish(c, true);
    return WEFT_OK;
}

static weft_err sync_start(net_core *c, net_peer *p, const net_chain_status *st)
{
    memset(&c->sync, 0, sizeof c->sync);
    c->sync.active = true;
    c->sync.peer = p->id;
    c->sync.cursor = min_final_slot(c, st);
    c->sync.more = true;
    return send_sync_ask(c, p);
}

/* A peer to sync from instead of `not`: one whose hello is ahead of the sync cursor. */
static net_peer *sync_candidate(net_core *c, net_peer_id not )
{
    for (size_t i = 0; i < c->npeers; i++) {
        net_peer *p = c->peers[i];
        if (p->id == not || !net_peer_live(p) || !p->hello)
            continue;
        for (uint32_t t = 0; t < c->cfg.thread_count; t++)
            if (p->hello->final_periods[t] > c->sync.cursor.period)
                return p;
    }
    return NULL;
}

/* The sync peer is gone or silent: continue with another, or stop. */
static weft_err sync_switch(net_core *c)
{
    net_peer *q = sync_candidate(c, c->sync.peer);
    if (!q || ++c->sync.failures > NET_WANT_ROUNDS)
        return sync_finish(c, false);
    c->sync.peer = q->id;
    if (c->sync.ids_pending)
        return send_sync_ask(c, q);
    return WEFT_OK;
}

weft_err net_on_sync_ask(net_core *c, net_peer *p, const net_msg *m)
{
    size_t max = m->u.sync_ask.max;
    if (max > NET_MAX_SYNC_IDS)
        max = NET_MAX_SYNC_IDS;
    block_id_t *ids = NULL;
    slot_t *slots = NULL;
    size_t count = 0;
    bool more = false;
    weft_err e = c->vt->final_range(c->ctx, m->u.sync_ask.after, max, &ids, &slots, &count, &more);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e) {
        count = 0;
        more = false;
    }
    if (count > max) {
        count = max;
        more = true;
    }
    wr_t w;
    wr_init(&w);
    net_enc_sync_ids(&w, ids, slots, (uint32_t)count, more);
    free(ids);
    free(slots);
    return net_send(c, p, &w);
}

weft_err net_on_sync_ids(net_core *c, net_peer *p, net_msg *m)
{
    net_sync *s = &c->sync;
    if (!s->active || s->peer != p->id || !s->ids_pending)
        return WEFT_OK; /* late or unasked: dropped */
    uint32_t n = m->u.sync_ids.count;
    if (n > c->cfg.sync_batch) {
        net_peer_fault(c, p, WEFT_E_NET_LIMIT);
        return WEFT_OK;
    }
    if (n && slot_cmp(m->u.sync_ids.slots[0], s->cursor) <= 0) {
        net_peer_fault(c, p, WEFT_E_NET_MESSAGE);
        return WEFT_OK;
    }
    s->ids_pending = false;
    s->failures = 0;
    if (s->len + n > s->cap) {
        size_t ncap = s->cap ? s->cap : 256;
        while (ncap < s->len + n)
            ncap *= 2;
        net_sync_entry *ne = realloc(s->e, ncap * sizeof *ne);
        if (!ne)
            return oom(c);
        s->e = ne;
        s->cap = ncap;
    }
    uint32_t taken = 0;
    for (; taken < n; taken++) {
        const block_id_t *id = &m->u.sync_ids.ids[taken];
        net_sync_entry *se = &s->e[s->len];
        memset(se, 0, sizeof *se);
        se->id = *id;
        se->slot = m->u.sync_ids.slots[taken];
        weft_err e = mark_known(c, &p->known_blocks, id->h.b);
        if (e)
            return e;
        if (c->vt->has_block(c->ctx, id)) {
            se->state = NET_SE_DONE;
        } else {
            net_want *w = want_get(c, id);
            if (!w) {
                e = want_new(c, id, NET_W_FULL, p->id, &w);
                if (e)
                    return e;
                if (!w)
                    break; /* no room for more wants: the rest is asked again later */
            }
            w->sync = true;
            w->slot = se->slot;
        }
        s->len++;
        s->cursor = se->slot;
    }
    /* an empty answer ends the sync whatever its flag says */
    s->more = taken < n ? true : (n > 0 && m->u.sync_ids.more);
    c->sched_dirty = true;
    return sync_pump(c);
}

/* ---- hello ----------------------------------------------------------------------------------- */

static weft_err ask_heads(net_core *c, net_peer *p)
{
    if (!p->hello)
        return WEFT_OK;
    for (uint32_t t = 0; t < c->cfg.thread_count; t++) {
        const block_id_t *id = &p->hello->heads[t];
        if (p->hello->head_periods[t] == 0 || want_get(c, id) || c->vt->has_block(c->ctx, id))
            continue;
        net_want *w;
        weft_err e = want_new(c, id, NET_W_FULL, p->id, &w);
        if (e)
            return e;
    }
    return WEFT_OK;
}

weft_err net_on_hello(net_core *c, net_peer *p, const net_msg *m)
{
    if (!p->hello) {
        p->hello = malloc(sizeof *p->hello);
        if (!p->hello)
            return oom(c);
    }
    *p->hello = m->u.hello;
    for (uint32_t t = 0; t < c->cfg.thread_count; t++) {
        weft_err e = mark_known(c, &p->known_blocks, p->hello->heads[t].h.b);
        if (e)
            return e;
    }
    c->sched_dirty = true; /* it may have what waits for a peer */
    if (c->sync.active)
        return WEFT_OK; /* its heads are asked when the sync ends */
    net_chain_status st;
    memset(&st, 0, sizeof st);
    weft_err e = c->vt->status(c->ctx, &st);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e)
        return WEFT_OK;
    bool state; /* too far behind: the final state first (state.c) */
    e = net_state_on_hello(c, p, &st, &state);
    if (e || state)
        return e;
    for (uint32_t t = 0; t < c->cfg.thread_count; t++) {
        uint64_t ours;
        if (!u64_add(&ours, st.final_periods[t], NET_SYNC_LAG))
            continue;
        if (p->hello->final_periods[t] > ours)
            return sync_start(c, p, &st);
    }
    return ask_heads(c, p);
}

/* ---- pushes and asks ------------------------------------------------------------------------- */

weft_err net_blocks_pending(net_core *c, const block_header_t *h)
{
    net_want *w = want_get(c, &h->id);
    if (w) { /* the chain has it now */
        if (w->sync) {
            net_sync_entry *se = sync_entry(c, w->slot, &w->id);
            if (se && se->state == NET_SE_NEED)
                se->state = NET_SE_DONE;
        }
        want_free(c, w);
        weft_err e = sync_pump(c);
        if (e)
            return e;
    }
    wr_t w0;
    wr_init(&w0);
    net_enc_header(&w0, NET_MSG_HEADER, h);
    if (wr_err(&w0)) {
        wr_free(&w0);
        return wr_err(&w0) == WEFT_E_NOMEM ? oom(c) : WEFT_OK;
    }
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < c->npeers && !e; i++) {
        net_peer *p = c->peers[i];
        if (!net_peer_live(p) || net_lru_has(&p->known_blocks, h->id.h.b))
            continue;
        /* a peer whose hello says this thread is final past the block has it (or no use for it) */
        if (p->hello && p->hello->final_periods[h->slot.thread] >= h->slot.period)
            continue;
        e = mark_known(c, &p->known_blocks, h->id.h.b);
        if (e)
            break;
        wr_t f;
        wr_init(&f);
        wr_bytes(&f, w0.buf, w0.len);
        e = net_send(c, p, &f);
        c->st.headers_out++;
    }
    wr_free(&w0);
    return e;
}

weft_err net_on_header(net_core *c, net_peer *p, block_header_t *h)
{
    c->st.headers_in++;
    weft_err e = mark_known(c, &p->known_blocks, h->id.h.b);
    if (!e)
        e = senders_add(c, &h->id, p);
    if (e || c->vt->has_block(c->ctx, &h->id))
        return e;
    net_want *w = want_get(c, &h->id);
    if (w) {
        if (!w->prefer)
            w->prefer = p->id;
        return WEFT_OK;
    }
    e = want_new(c, &h->id, NET_W_OPIDS, p->id, &w);
    if (e || !w)
        return e;
    w->header = malloc(sizeof *w->header);
    if (!w->header) {
        want_free(c, w);
        return oom(c);
    }
    *w->header = *h;
    return WEFT_OK;
}

weft_err net_blocks_invalid(net_core *c, const block_id_t *id)
{
    net_want *w = want_get(c, id);
    if (w && !w->sync)
        want_free(c, w);
    const net_senders *s = net_lru_get(&c->senders, id->h.b, NULL);
    if (!s)
        return WEFT_OK;
    net_senders copy = *s;
    for (uint32_t i = 0; i < copy.n; i++)
        (void)net_ban_sender(c, &copy.s[i], WEFT_E_NET_INVALID_BLOCK, c->now);
    return WEFT_OK;
}

static weft_err missing_ids(net_core *c, const block_id_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (want_get(c, &ids[i]) || c->vt->has_block(c->ctx, &ids[i]))
            continue;
        if (c->sync.active) { /* the sync brings final blocks; the rest is asked after it */
            if (c->ndeferred < NET_DEFERRED_MAX) {
                if (!c->deferred) {
                    c->deferred = malloc(NET_DEFERRED_MAX * sizeof *c->deferred);
                    if (!c->deferred)
                        return oom(c);
                }
                c->deferred[c->ndeferred++] = ids[i];
            }
            continue;
        }
        net_want *w;
        weft_err e = want_new(c, &ids[i], NET_W_FULL, c->last_block_peer, &w);
        if (e)
            return e;
    }
    return WEFT_OK;
}

weft_err net_blocks_missing(net_core *c, const block_id_t *ids, size_t n)
{
    return missing_ids(c, ids, n);
}

/* ---- scheduling ------------------------------------------------------------------------------ */

/* How good a peer is to ask a block from; 0: not to be asked.  A sync block is asked only from
 * peers known to have it (the sync peer, a peer that listed it, or one whose hello shows the
 * block's thread final at or past it), so a silent peer cannot hold the sync's head of line. */
static int rank_for(const net_core *c, const net_want *w, const net_peer *p)
{
    if (p->id == w->prefer)
        return 5;
    if (net_lru_has(&p->known_blocks, w->id.h.b))
        return 4;
    if (!w->sync)
        return 1;
    if (p->id == c->sync.peer ||
        (p->hello && p->hello->final_periods[w->slot.thread] >= w->slot.period))
        return 3;
    return 0;
}

/* The best untried peer with room for w; *room: some peer that may be asked w has room. */
static net_peer *pick_peer(net_core *c, const net_want *w, bool *room)
{
    net_peer *best = NULL;
    int best_rank = 0;
    *room = false;
    for (size_t i = 0; i < c->npeers; i++) {
        net_peer *p = c->peers[i];
        if (!net_peer_live(p) || p->asks >= c->cfg.max_asks_per_peer)
            continue;
        int rank = rank_for(c, w, p);
        if (!rank)
            continue;
        *room = true;
        if (tried_has(w, p->id))
            continue;
        if (rank > best_rank || (rank == best_rank && p->asks < best->asks)) {
            best = p;
            best_rank = rank;
        }
    }
    return best;
}

static weft_err send_ask(net_core *c, net_want *w, net_peer *p)
{
    wr_t f;
    wr_init(&f);
    if (w->stage == NET_W_OPS) {
        op_id_t *ids = malloc((w->missing ? w->missing : 1) * sizeof *ids);
        if (!ids)
            return oom(c);
        uint32_t k = 0;
        for (uint32_t i = 0; i < w->op_count; i++)
            if (!w->op_raw[i])
                ids[k++] = w->op_ids[i];
        net_enc_ask_block(&f, &w->id, NET_ASK_OPS, ids, k);
        free(ids);
    } else {
        net_enc_ask_block(&f, &w->id, w->stage == NET_W_OPIDS ? NET_ASK_OP_IDS : NET_ASK_FULL, NULL,
                          0);
    }
    weft_err e = net_send(c, p, &f);
    if (e)
        return e;
    w->asked = p->id;
    w->asked_at = c->now;
    tried_add(w, p->id);
    p->asks++;
    return WEFT_OK;
}

static bool sync_throttled(const net_core *c, const net_want *w)
{
    const net_sync *s = &c->sync;
    return w->sync && s->active && s->buffered > NET_SYNC_BUFFER_BYTES && s->next < s->len &&
           slot_cmp(w->slot, s->e[s->next].slot) > 0;
}

weft_err net_schedule(net_core *c)
{
    c->sched_dirty = false;
    size_t room = 0; /* live peers that can take another ask */
    for (size_t i = 0; i < c->npeers; i++)
        if (net_peer_live(c->peers[i]) && c->peers[i]->asks < c->cfg.max_asks_per_peer)
            room++;
    if (!room)
        return WEFT_OK;
    size_t keep = 0;
    weft_err e = WEFT_OK;
    bool abort_sync = false, sync_blocked = false;
    net_want **dropped = NULL;
    size_t ndropped = 0;
    for (size_t i = 0; i < c->qlen; i++) {
        net_want *w = c->queue[i];
        if (e || !room || (w->sync && (sync_blocked || sync_throttled(c, w)))) {
            c->queue[keep++] = w;
            continue;
        }
        bool eligible;
        net_peer *p = pick_peer(c, w, &eligible);
        if (!p && eligible) { /* every peer that may be asked was: another round */
            w->ntried = 0;
            if (++w->rounds > NET_WANT_ROUNDS) {
                if (!dropped)
                    dropped = malloc(c->qlen * sizeof *dropped);
                if (dropped) {
                    w->queued = false;
                    dropped[ndropped++] = w;
                    abort_sync |= w->sync;
                    continue;
                }
            } else {
                p = pick_peer(c, w, &eligible);
            }
        }
        if (!p) {
            /* sync blocks come in slot order: the later ones have no better peers */
            sync_blocked |= w->sync;
            c->queue[keep++] = w;
            continue;
        }
        e = send_ask(c, w, p);
        if (e) {
            c->queue[keep++] = w;
            continue;
        }
        w->queued = false;
        if (p->asks >= c->cfg.max_asks_per_peer)
            room--;
    }
    c->qlen = keep;
    for (size_t i = 0; i < ndropped; i++) {
        want_free(c, dropped[i]);
    }
    free(dropped);
    if (!e && abort_sync && c->sync.active)
        e = sync_finish(c, false);
    return e;
}

/* ---- answers --------------------------------------------------------------------------------- */

static bool answer_ok(const net_want *w, const net_peer *p)
{
    return w->asked == p->id || tried_has(w, p->id);
}

/* A complete block: to the sync list (submitted in slot order) or straight to the chain. */
static weft_err want_complete(net_core *c, net_want *w, net_asm *a)
{
    if (w->sync && c->sync.active) {
        net_sync_entry *se = sync_entry(c, w->slot, &w->id);
        want_free(c, w);
        if (se && se->state == NET_SE_NEED) {
            a->sync = true;
            se->blk = a;
            se->state = NET_SE_READY;
            c->sync.buffered += a->bytes;
            return sync_pump(c);
        }
        asm_free(a);
        return WEFT_OK;
    }
    want_free(c, w);
    return submit(c, a, NULL);
}

/* Builds a complete block from a want whose operations are all there (moves them). */
static net_asm *asm_from_want(net_want *w, const net_peer *from)
{
    net_asm *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->header = w->header;
    w->header = NULL;
    a->raw = w->op_raw;
    a->lens = w->op_len;
    a->count = w->op_count;
    for (uint32_t i = 0; i < a->count; i++)
        a->bytes += a->lens[i];
    a->from = sender_of(from);
    w->op_raw = NULL;
    w->op_len = NULL;
    w->op_count = 0;
    return a;
}

weft_err net_on_block_op_ids(net_core *c, net_peer *p, const net_msg *m)
{
    net_want *w = want_get(c, &m->u.op_ids.id);
    if (!w || w->stage != NET_W_OPIDS || !w->header || !answer_ok(w, p))
        return WEFT_OK;
    weft_err e = mark_known(c, &p->known_blocks, w->id.h.b);
    if (e)
        return e;
    uint32_t n = m->u.op_ids.count;
    op_id_t *ids = malloc((n ? n : 1) * sizeof *ids);
    uint8_t **raw = calloc(n ? n : 1, sizeof *raw);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    if (!ids || !raw || !lens) {
        free(ids);
        free(raw);
        free(lens);
        return oom(c);
    }
    memcpy(ids, m->u.op_ids.ids, (size_t)n * MODEL_HASH_LEN);
    hash32_t h;
    block_ops_hash(&h, ids, n);
    if (hash32_cmp(&h, &w->header->ops_hash) != 0) {
        free(ids);
        free(raw);
        free(lens);
        e = want_retry(c, w, p);
        net_peer_fault(c, p, WEFT_E_OPS_HASH);
        return e;
    }
    /* the operations the chain already has (pool, other blocks) are not asked again */
    e = n ? c->vt->get_ops(c->ctx, ids, n, raw, lens) : WEFT_OK;
    if (e == WEFT_E_NOMEM) {
        for (uint32_t i = 0; i < n; i++)
            free(raw[i]);
        free(ids);
        free(raw);
        free(lens);
        return oom(c);
    }
    uint32_t missing = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (e || lens[i] == 0) {
            free(raw[i]);
            raw[i] = NULL;
            lens[i] = 0;
        }
        if (!raw[i])
            missing++;
    }
    want_body_free(w);
    w->op_ids = ids;
    w->op_raw = raw;
    w->op_len = lens;
    w->op_count = n;
    w->missing = missing;
    w->stage = NET_W_OPS;
    if (missing == 0) {
        net_asm *a = asm_from_want(w, p);
        if (!a)
            return oom(c);
        return want_complete(c, w, a);
    }
    /* ask the rest from the same peer: the ask stays in flight */
    want_unask(c, w);
    return send_ask(c, w, p);
}

/* The operations a want still lacks, sorted by id, with their positions in the block. */
typedef struct op_pos {
    op_id_t id;
    uint32_t at;
} op_pos;

static int op_pos_cmp(const void *a, const void *b)
{
    return hash32_cmp(&((const op_pos *)a)->id.h, &((const op_pos *)b)->id.h);
}

weft_err net_on_block_ops(net_core *c, net_peer *p, net_msg *m)
{
    net_want *w = want_get(c, &m->u.ops.id);
    if (!w || w->stage != NET_W_OPS || !answer_ok(w, p))
        return WEFT_OK;
    uint32_t n = m->u.ops.count;
    op_pos *idx = malloc((w->missing ? w->missing : 1) * sizeof *idx);
    uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
    if (!idx || !pos) {
        free(idx);
        free(pos);
        return oom(c);
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < w->op_count; i++)
        if (!w->op_raw[i]) {
            idx[k].id = w->op_ids[i];
            idx[k++].at = i;
        }
    qsort(idx, k, sizeof *idx, op_pos_cmp);
    weft_err fault = WEFT_OK;
    for (uint32_t j = 0; j < n && !fault; j++) {
        op_pos key;
        signed_op_t op;
        weft_err e = signed_op_decode(&op, c->cfg.chain_id, m->u.ops.ops[j].p, m->u.ops.ops[j].len);
        if (e == WEFT_E_NOMEM) {
            free(idx);
            free(pos);
            return oom(c);
        }
        if (e) {
            fault = e;
            break;
        }
        key.id = op.id;
        signed_op_free(&op);
        const op_pos *hit = bsearch(&key, idx, k, sizeof *idx, op_pos_cmp);
        if (!hit) {
            fault = WEFT_E_NET_MESSAGE; /* an operation not asked */
            break;
        }
        for (uint32_t q = 0; q < j && !fault; q++)
            if (pos[q] == hit->at)
                fault = WEFT_E_NET_MESSAGE; /* sent twice */
        pos[j] = hit->at;
    }
    free(idx);
    weft_err e = WEFT_OK;
    if (fault) {
        free(pos);
        e = want_retry(c, w, p);
        net_peer_fault(c, p, fault);
        return e;
    }
    for (uint32_t j = 0; j < n; j++) {
        uint8_t *b = malloc(m->u.ops.ops[j].len);
        if (!b) {
            free(pos);
            return oom(c);
        }
        memcpy(b, m->u.ops.ops[j].p, m->u.ops.ops[j].len);
        w->op_raw[pos[j]] = b;
        w->op_len[pos[j]] = m->u.ops.ops[j].len;
        w->missing--;
    }
    free(pos);
    if ((e = mark_known(c, &p->known_blocks, w->id.h.b)) != WEFT_OK ||
        (e = senders_add(c, &w->id, p)) != WEFT_OK)
        return e;
    if (w->missing) /* the peer lacks some: another peer */
        return want_retry(c, w, p);
    want_unask(c, w);
    net_asm *a = asm_from_want(w, p);
    if (!a)
        return oom(c);
    return want_complete(c, w, a);
}

weft_err net_on_block_full(net_core *c, net_peer *p, net_msg *m)
{
    block_header_t *h = m->u.ops.header;
    net_want *w = want_get(c, &h->id);
    if (!w || !answer_ok(w, p))
        return WEFT_OK; /* unasked, or already complete */
    weft_err e = mark_known(c, &p->known_blocks, h->id.h.b);
    if (!e)
        e = senders_add(c, &h->id, p);
    if (e)
        return e;
    uint32_t n = m->u.ops.count;
    net_asm *a = calloc(1, sizeof *a);
    if (a) {
        a->raw = calloc(n ? n : 1, sizeof *a->raw);
        a->lens = calloc(n ? n : 1, sizeof *a->lens);
    }
    if (!a || !a->raw || !a->lens) {
        asm_free(a);
        return oom(c);
    }
    for (uint32_t i = 0; i < n; i++) {
        a->raw[i] = malloc(m->u.ops.ops[i].len);
        if (!a->raw[i]) {
            a->count = i;
            asm_free(a);
            return oom(c);
        }
        memcpy(a->raw[i], m->u.ops.ops[i].p, m->u.ops.ops[i].len);
        a->lens[i] = m->u.ops.ops[i].len;
        a->bytes += a->lens[i];
    }
    a->count = n;
    a->header = h;
    m->u.ops.header = NULL; /* taken */
    a->from = sender_of(p);
    want_unask(c, w);
    return want_complete(c, w, a);
}

weft_err net_on_not_found(net_core *c, net_peer *p, const block_id_t *id)
{
    net_want *w = want_get(c, id);
    if (!w || w->asked != p->id)
        return WEFT_OK;
    return want_retry(c, w, p);
}

/* ---- serving --------------------------------------------------------------------------------- */

static int opid_cmp(const void *a, const void *b)
{
    return hash32_cmp(&((const op_id_t *)a)->h, &((const op_id_t *)b)->h);
}

static weft_err send_not_found(net_core *c, net_peer *p, const block_id_t *id)
{
    wr_t w;
    wr_init(&w);
    net_enc_not_found(&w, id);
    return net_send(c, p, &w);
}

weft_err net_on_ask_block(net_core *c, net_peer *p, const net_msg *m)
{
    const block_id_t *id = &m->u.ask.id;
    uint8_t what = m->u.ask.what;
    bool with_ops = what == NET_ASK_OPS || what == NET_ASK_FULL;
    if (what != NET_ASK_HEADER && net_served_enough(c, p))
        return send_not_found(c, p, id);
    net_block b;
    memset(&b, 0, sizeof b);
    weft_err e = c->vt->get_block(c->ctx, id, with_ops, &b);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e || (with_ops && b.op_count && !b.ops)) {
        net_block_free(&b);
        return send_not_found(c, p, id);
    }
    wr_t w;
    wr_init(&w);
    op_id_t *want = NULL;
    switch (what) {
    case NET_ASK_HEADER:
        net_enc_header(&w, NET_MSG_BLOCK_HEADER, &b.header);
        break;
    case NET_ASK_OP_IDS:
        net_enc_block_op_ids(&w, id, b.op_ids, b.op_count);
        break;
    case NET_ASK_OPS: {
        uint32_t n = m->u.ask.count;
        want = malloc((n ? n : 1) * sizeof *want);
        uint8_t **sel = malloc((b.op_count ? b.op_count : 1) * sizeof *sel);
        size_t *lens = malloc((b.op_count ? b.op_count : 1) * sizeof *lens);
        if (!want || !sel || !lens) {
            free(want);
            free(sel);
            free(lens);
            net_block_free(&b);
            return oom(c);
        }
        memcpy(want, m->u.ask.ids, (size_t)n * MODEL_HASH_LEN);
        qsort(want, n, sizeof *want, opid_cmp);
        uint32_t k = 0;
        for (uint32_t i = 0; i < b.op_count; i++)
            if (bsearch(&b.op_ids[i], want, n, sizeof *want, opid_cmp)) {
                sel[k] = b.ops[i];
                lens[k++] = b.op_lens[i];
            }
        net_enc_block_ops(&w, id, sel, lens, k);
        free(sel);
        free(lens);
        c->st.blocks_out++;
        break;
    }
    default:
        net_enc_block_full(&w, &b.header, b.ops, b.op_lens, b.op_count);
        c->st.blocks_out++;
        break;
    }
    free(want);
    net_block_free(&b);
    if (wr_err(&w) == WEFT_OK && w.len - NET_FRAME_HEADER > c->cfg.max_frame) {
        wr_free(&w);
        return send_not_found(c, p, id);
    }
    e = mark_known(c, &p->known_blocks, id->h.b);
    if (e) {
        wr_free(&w);
        return e;
    }
    return net_send(c, p, &w);
}

/* ---- peers going away, timers ---------------------------------------------------------------- */

void net_blocks_peer_gone(net_core *c, net_peer *p)
{
    for (uint32_t i = 0; i < c->wants.cap; i++) {
        net_want *w = c->wants.slots[i].v;
        if (w && w->asked == p->id) {
            w->asked = 0;
            tried_add(w, p->id);
            (void)queue_push(c, w); /* E_NOMEM is sticky in c->oom */
        }
    }
    p->asks = 0;
    if (c->last_block_peer == p->id)
        c->last_block_peer = 0;
    if (c->sync.active && c->sync.peer == p->id)
        c->sync.peer = 0; /* the next tick continues with another peer (never from in here:
                           * a ban can close the sync peer while the sync list is walked) */
    c->sched_dirty = true;
}

weft_err net_blocks_tick(net_core *c)
{
    weft_err e = WEFT_OK;
    for (uint32_t i = 0; i < c->wants.cap && !e; i++) {
        net_want *w = c->wants.slots[i].v;
        if (w && w->asked && since(c->now, w->asked_at) >= c->cfg.ask_timeout_ms)
            e = want_retry(c, w, net_peer_find(c, w->asked));
    }
    if (!e && c->sync.active) {
        if (c->sync.ids_pending && since(c->now, c->sync.ids_asked_at) >= c->cfg.ask_timeout_ms)
            e = sync_switch(c);
        else if (!c->sync.peer)
            e = sync_switch(c);
        else
            e = sync_pump(c);
    }
    if (!e)
        e = later_retry(c);
    return e;
}

/* ---- life ------------------------------------------------------------------------------------ */

weft_err net_blocks_init(net_core *c)
{
    net_pmap_init(&c->wants, c->seed);
    c->later_delay = NET_LATER_RETRY_MS;
    net_lru_init(&c->senders, NET_SENDERS_MAX, 32, sizeof(net_senders), c->seed);
    return WEFT_OK;
}

void net_blocks_free(net_core *c)
{
    if (c->sync.e) {
        for (size_t i = 0; i < c->sync.len; i++)
            asm_free(c->sync.e[i].blk);
        free(c->sync.e);
    }
    for (uint32_t i = 0; i < c->wants.cap; i++) {
        net_want *w = c->wants.slots[i].v;
        if (w) {
            want_body_free(w);
            free(w->header);
            free(w);
        }
    }
    net_pmap_free(&c->wants);
    free(c->queue);
    for (size_t i = 0; i < c->nlater; i++)
        asm_free(c->later[i]);
    free(c->later);
    net_lru_free(&c->senders);
    free(c->deferred);
}
