/* The final state in parts (docs/protocol.md "State transfer"): a node whose final state is
 * behind what its peers still keep in blocks asks one peer for its final state — STATE_ASK, one
 * part at a time, each resuming after the last record received — and the final blocks the graph
 * restarts from (the roots, asked as full blocks), gives both to the chain, and lets the chain
 * check the whole against the announced fingerprint before adopting it; then the block sync goes
 * on from the new final periods.  The serving side answers each ask from the chain
 * (state_part), within the peer's answer budget. */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

static weft_err oom(net_core *c)
{
    c->oom = true;
    return WEFT_E_NOMEM;
}

static bool can_fetch(const net_core *c)
{
    const net_chain_vt *v = c->vt;
    return v->state_begin && v->state_records && v->state_root && v->state_finish && v->state_abort;
}

/* ---- serving --------------------------------------------------------------------------------- */

static weft_err send_status(net_core *c, net_peer *p, uint8_t status)
{
    net_state_part part;
    memset(&part, 0, sizeof part);
    part.status = status;
    wr_t w;
    wr_init(&w);
    net_enc_state_part(&w, &part);
    return net_send(c, p, &w);
}

weft_err net_on_state_ask(net_core *c, net_peer *p, const net_msg *m)
{
    if (!c->vt->state_part)
        return send_status(c, p, NET_STATE_UNAVAILABLE);
    if (net_served_enough(c, p)) /* its answer budget: later */
        return send_status(c, p, NET_STATE_BUSY);
    net_state_ask ask = m->u.state_ask;
    uint32_t cap =
        c->cfg.max_frame / 2 < NET_STATE_PART_MAX ? c->cfg.max_frame / 2 : NET_STATE_PART_MAX;
    if (ask.max_bytes > cap)
        ask.max_bytes = cap;
    net_state_part part;
    memset(&part, 0, sizeof part);
    weft_err e = c->vt->state_part(c->ctx, &ask, &part);
    if (e == WEFT_E_NOMEM) {
        net_state_part_free(&part);
        return oom(c);
    }
    if (e || part.status > NET_STATE_UNAVAILABLE) {
        net_state_part_free(&part);
        return send_status(c, p, NET_STATE_UNAVAILABLE);
    }
    if (ask.has_cursor)
        part.nroots = 0; /* roots go with the first part only */
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < part.count; i++)
        bytes += part.recs[i].klen + part.recs[i].vlen;
    uint32_t count = part.count - (part.count && part.last_partial ? 1 : 0); /* whole ones */
    wr_t w;
    wr_init(&w);
    net_enc_state_part(&w, &part);
    net_state_part_free(&part);
    if (wr_err(&w) == WEFT_OK && w.len - NET_FRAME_HEADER > c->cfg.max_frame) {
        wr_free(&w); /* a chain that did not keep to max_bytes */
        return send_status(c, p, NET_STATE_UNAVAILABLE);
    }
    c->st.state_parts_out++;
    c->st.state_records_out += count;
    c->st.state_bytes_out += bytes;
    return net_send(c, p, &w);
}

/* A peer checks a transfer it fetches from another: our fingerprint at that final slot. */
weft_err net_on_state_check(net_core *c, net_peer *p, const net_msg *m)
{
    /* each answer is a call into the chain: bounded per peer before it is made */
    if (!p->whitelisted && ++p->win_checks > NET_STATE_CHECKS_PER_WINDOW) {
        net_peer_fault(c, p, WEFT_E_NET_LIMIT);
        return WEFT_OK;
    }
    slot_t slot = m->u.state_check;
    uint8_t fp[NET_STATE_FP_LEN], status = NET_CHECK_NOT_KEPT;
    memset(fp, 0, sizeof fp);
    if (c->vt->state_fingerprint) {
        weft_err e = c->vt->state_fingerprint(c->ctx, slot, fp, &status);
        if (e == WEFT_E_NOMEM)
            return oom(c);
        if (e || status > NET_CHECK_NOT_KEPT)
            status = NET_CHECK_NOT_KEPT; /* cannot tell: not an answer either way */
    }
    if (status == NET_CHECK_KNOWN)
        c->st.state_checks_answered++;
    wr_t w;
    wr_init(&w);
    net_enc_state_checked(&w, slot, status, fp);
    return net_send(c, p, &w);
}

/* ---- fetching: the transfer ------------------------------------------------------------------ */

static void fetch_reset(net_core *c, bool keep_round)
{
    net_state_fetch *f = &c->stf;
    if (f->began)
        c->vt->state_abort(c->ctx);
    free(f->roots);
    wr_free(&f->val);
    pubkey_t tried[NET_STATE_TRIED];
    uint32_t ntried = f->ntried, failures = f->failures;
    uint64_t retry_at = f->retry_at;
    bool done = f->done;
    memcpy(tried, f->tried, sizeof tried);
    memset(f, 0, sizeof *f);
    f->retry_at = retry_at;
    f->done = done;
    if (keep_round) {
        memcpy(f->tried, tried, sizeof tried);
        f->ntried = ntried;
        f->failures = failures;
    }
    c->st.state_fetching = false;
}

static uint64_t max_period(const uint64_t *periods, uint32_t n)
{
    uint64_t m = 0;
    for (uint32_t t = 0; t < n; t++)
        m = periods[t] > m ? periods[t] : m;
    return m;
}

/* Whether p may serve us the final state: any peer, or one of cfg.state_peers. */
static bool may_serve(const net_core *c, const net_peer *p)
{
    if (c->cfg.state_peer_count == 0)
        return true;
    for (uint32_t i = 0; i < c->cfg.state_peer_count && i < NET_STATE_PEERS_MAX; i++)
        if (memcmp(c->cfg.state_peers[i].b, p->node_id.b, 32) == 0)
            return true;
    return false;
}

/* Whether p's hello is ahead of our latest final period and p no longer keeps the blocks after
 * it (so they cannot be synced from p); *far: or (state_after_periods) more than that far ahead.
 * (The latest final period, not the smallest: a thread without blocks for long keeps an old final
 * period, and nothing of it is missing.) */
static bool gone_there(const net_core *c, const net_peer *p, const net_chain_status *st, bool *far)
{
    *far = false;
    if (!p->hello)
        return false;
    uint64_t ours = max_period(st->final_periods, c->cfg.thread_count);
    uint64_t ahead = max_period(p->hello->final_periods, c->cfg.thread_count);
    if (ahead <= ours)
        return false;
    *far = c->cfg.state_after_periods && ahead - ours > c->cfg.state_after_periods;
    return p->hello->kept_from > ours;
}

/* Whether p's hello makes its final state worth fetching: p may serve it, and the blocks we lack
 * are gone there or it is far ahead (gone_there). */
static bool worth_fetching(const net_core *c, const net_peer *p, const net_chain_status *st)
{
    bool far;
    bool gone = gone_there(c, p, st, &far);
    return (gone || far) && may_serve(c, p);
}

static bool tried(const net_state_fetch *f, const net_peer *p)
{
    for (uint32_t i = 0; i < f->ntried; i++)
        if (memcmp(f->tried[i].b, p->node_id.b, 32) == 0)
            return true;
    return false;
}

static weft_err send_ask(net_core *c, net_peer *p)
{
    net_state_fetch *f = &c->stf;
    net_state_ask a;
    memset(&a, 0, sizeof a);
    a.has_cursor = f->began;
    a.cursor = f->cursor;
    a.has_after = f->began && f->has_after;
    a.after_table = f->after_table;
    a.after_key = f->after_key;
    a.after_klen = f->after_klen;
    a.after_offset = a.has_after ? (uint32_t)f->val.len : 0;
    a.max_bytes = c->cfg.state_part_bytes ? c->cfg.state_part_bytes : 1;
    wr_t w;
    wr_init(&w);
    net_enc_state_ask(&w, &a);
    f->ask_pending = true;
    f->asked_at = c->now;
    return net_send(c, p, &w);
}

/* Starts a transfer from p (a new round unless keep_round). */
static weft_err fetch_start(net_core *c, net_peer *p, bool keep_round)
{
    fetch_reset(c, keep_round);
    net_state_fetch *f = &c->stf;
    f->active = true;
    f->peer = p->id;
    f->server.peer = p->id;
    f->server.node_id = p->node_id;
    f->server.has_node_id = p->has_node_id;
    memcpy(f->server.ip, p->ip, sizeof f->server.ip);
    if (!tried(f, p) && f->ntried < NET_STATE_TRIED)
        f->tried[f->ntried++] = p->node_id;
    c->st.state_fetching = true;
    return send_ask(c, p);
}

/* The transfer from the current peer failed (it is gone, slow, busy or at fault): start over with
 * another peer whose hello makes it worth it, or give up until state_retry_ms has passed. */
static weft_err fetch_switch(net_core *c)
{
    net_state_fetch *f = &c->stf;
    net_chain_status st;
    memset(&st, 0, sizeof st);
    weft_err e = c->vt->status(c->ctx, &st);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    net_peer *q = NULL;
    for (size_t i = 0; !e && i < c->npeers && !q; i++) {
        net_peer *p = c->peers[i];
        if (p->id != f->peer && net_peer_live(p) && !tried(f, p) && worth_fetching(c, p, &st))
            q = p;
    }
    if (!q || ++f->failures > NET_WANT_ROUNDS) {
        fetch_reset(c, false);
        c->stf.retry_at = c->now + c->cfg.state_retry_ms;
        c->st.state_failures++;
        return WEFT_OK; /* the next hello that makes it worth it starts again */
    }
    c->st.state_restarts++;
    return fetch_start(c, q, true);
}

/* The current peer is at fault: banned, and the transfer goes on elsewhere. */
static weft_err fetch_fault(net_core *c, net_peer *p, weft_err reason)
{
    net_peer_fault(c, p, reason);
    return fetch_switch(c);
}

/* Asks the root blocks not asked yet from the transfer's peer, within its ask bound. */
static weft_err ask_roots(net_core *c, net_peer *p)
{
    net_state_fetch *f = &c->stf;
    for (uint32_t i = 0; i < f->nroots && f->roots_asked < c->cfg.max_asks_per_peer; i++) {
        net_state_root *r = &f->roots[i];
        if (r->state != NET_ROOT_NEED || r->at > c->now)
            continue;
        wr_t w;
        wr_init(&w);
        net_enc_ask_block(&w, &r->id, NET_ASK_FULL, NULL, 0);
        weft_err e = net_send(c, p, &w);
        if (e)
            return e;
        r->state = NET_ROOT_ASKED;
        r->at = c->now;
        f->roots_asked++;
    }
    return WEFT_OK;
}

/* ---- fetching: other peers check the fingerprint --------------------------------------------- */

static weft_err send_check(net_core *c, net_peer *p, net_state_checker *k)
{
    wr_t w;
    wr_init(&w);
    net_enc_state_check(&w, c->stf.cursor);
    k->state = NET_CHECKER_ASKED;
    k->tries++;
    k->at = c->now;
    return net_send(c, p, &w);
}

static net_state_checker *checker_of(net_state_fetch *f, net_peer_id peer)
{
    for (uint32_t i = 0; i < f->nchecks; i++)
        if (f->checks[i].peer == peer)
            return &f->checks[i];
    return NULL;
}

/* Whether peer q may check the transfer: a READY peer other than the server, not a checker yet,
 * that may serve the state, on an IP of its own (neither the server's nor another checker's;
 * loopback excepted, as for bans), so that one host cannot answer for several. */
static bool may_check(net_core *c, const net_peer *q)
{
    net_state_fetch *f = &c->stf;
    if (q->id == f->server.peer || !net_peer_live(q) || !may_serve(c, q) || checker_of(f, q->id) ||
        (q->has_node_id && f->server.has_node_id &&
         memcmp(q->node_id.b, f->server.node_id.b, 32) == 0))
        return false;
    if (net_ip_is_loopback(q->ip))
        return true;
    if (strcmp(q->ip, f->server.ip) == 0)
        return false;
    for (uint32_t i = 0; i < f->nchecks; i++) {
        const net_peer *k = net_peer_find(c, f->checks[i].peer);
        if (k && strcmp(k->ip, q->ip) == 0)
            return false;
    }
    return true;
}

static weft_err check_add(net_core *c, net_peer *q)
{
    net_state_fetch *f = &c->stf;
    net_state_checker *k = &f->checks[f->nchecks++];
    memset(k, 0, sizeof *k);
    k->peer = q->id;
    return send_check(c, q, k);
}

/* At the first part: asks up to NET_STATE_CHECKERS other peers for their fingerprint at the
 * cursor — peers we dialed first (an inbound peer chose us), and among them those whose hello
 * says the cursor's slot is final there.  Peers that become ready later join while there is
 * room (net_state_on_hello). */
static weft_err checks_start(net_core *c)
{
    net_state_fetch *f = &c->stf;
    for (int pass = 0; pass < 4; pass++)
        for (size_t i = 0; i < c->npeers && f->nchecks < NET_STATE_CHECKERS; i++) {
            net_peer *q = c->peers[i];
            bool final_there =
                q->hello && q->hello->final_periods[f->cursor.thread] >= f->cursor.period;
            if (q->outbound != (pass < 2) || final_there != (pass % 2 == 0) || !may_check(c, q))
                continue;
            weft_err e = check_add(c, q);
            if (e)
                return e;
        }
    return WEFT_OK;
}

/* Checks still waiting for an answer. */
static uint32_t checks_pending(const net_state_fetch *f)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->nchecks; i++)
        n += f->checks[i].state != NET_CHECKER_DONE;
    return n;
}

/* Whether the checks rule the state out: more peers contradict it than confirm it (as soon as the
 * checks still waiting cannot change that); at the end (everything else here, no check waiting),
 * also fewer than state_confirmations confirm it. */
static bool checks_refuse(const net_core *c, bool at_end)
{
    const net_state_fetch *f = &c->stf;
    uint32_t pending = checks_pending(f);
    if (f->contradicted && f->confirmed + pending <= f->contradicted)
        return true;
    return at_end && f->confirmed < c->cfg.state_confirmations;
}

/* The state is ruled out by the checks: dropped, and the transfer goes on with another peer.  No
 * ban: which side is wrong cannot be told from here. */
static weft_err fetch_disputed(net_core *c)
{
    c->st.state_disputed++;
    return fetch_switch(c);
}

/* Everything is there: the chain checks and adopts the state; the block sync follows. */
static weft_err fetch_finish(net_core *c, net_peer *p)
{
    net_state_fetch *f = &c->stf;
    if (!f->began || f->more || f->ask_pending || f->roots_got < f->nroots || checks_pending(f))
        return WEFT_OK;
    /* the chain may have finalized past the state meanwhile (blocks its peers still had in
     * memory): of no use then, dropped */
    net_chain_status st;
    memset(&st, 0, sizeof st);
    weft_err e = c->vt->status(c->ctx, &st);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (!e && max_period(st.final_periods, c->cfg.thread_count) >= f->cursor.period) {
        fetch_reset(c, false);
        return WEFT_OK;
    }
    if (checks_refuse(c, true))
        return fetch_disputed(c);
    bool adopted = false;
    e = c->vt->state_finish(c->ctx, &adopted);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e) {
        f->began = false; /* the chain dropped the import */
        if (p)
            return fetch_fault(c, p, e);
        net_ban_sender(c, &f->server, e, c->now); /* it left while the checks were waiting */
        return fetch_switch(c);
    }
    f->began = false;
    c->st.state_transfers++;
    fetch_reset(c, false);
    if (!adopted) {
        c->stf.done = true; /* the chain adopts it when it restarts: nothing more until then */
        return WEFT_OK;
    }
    /* the chain is at the new final periods: sync the blocks after them from the peers */
    for (size_t i = 0; i < c->npeers && !c->sync.active; i++) {
        net_peer *q = c->peers[i];
        if (!net_peer_live(q) || !q->hello)
            continue;
        net_msg m;
        memset(&m, 0, sizeof m);
        m.type = NET_MSG_HELLO;
        m.u.hello = *q->hello;
        e = net_on_hello(c, q, &m);
        if (e)
            return e;
    }
    return WEFT_OK;
}

weft_err net_state_on_hello(net_core *c, net_peer *p, const net_chain_status *st, bool *taken)
{
    net_state_fetch *f = &c->stf;
    *taken = false;
    if (!can_fetch(c))
        return WEFT_OK;
    if (f->done || f->active) { /* a transfer under way, or one the chain adopts later */
        *taken = true;
        /* a peer ready after the first part checks it too, while there is room */
        if (f->active && f->began && f->nchecks < NET_STATE_CHECKERS && may_check(c, p))
            return check_add(c, p);
        return WEFT_OK;
    }
    bool far;
    if (!may_serve(c, p) && gone_there(c, p, st, &far)) {
        /* not in state_peers, and what we lack is gone there: nothing to sync from it either —
         * the hello of a peer named there starts the transfer */
        *taken = true;
        return WEFT_OK;
    }
    if (c->now < f->retry_at || !worth_fetching(c, p, st))
        return WEFT_OK;
    *taken = true;
    return fetch_start(c, p, false);
}

/* Checks the first part's roots: in slot order (the decoder did), at or before the cursor, at
 * least one in every thread. */
static bool roots_ok(const net_core *c, const net_state_part *q)
{
    if (q->nroots == 0)
        return false;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < q->nroots; i++) {
        if (slot_cmp(q->root_slots[i], q->cursor) > 0)
            return false;
        seen |= 1ull << q->root_slots[i].thread;
    }
    uint64_t all = c->cfg.thread_count == 64 ? ~0ull : (1ull << c->cfg.thread_count) - 1;
    return seen == all;
}

/* Appends a piece to the value being put together (f->val), within NET_STATE_MAX_VALUE (the
 * decoder checks it too: a bound before allocating). */
static weft_err val_append(net_state_fetch *f, const uint8_t *b, size_t n)
{
    if (n > NET_STATE_MAX_VALUE - f->val.len)
        return WEFT_E_NET_LIMIT;
    wr_bytes(&f->val, b, n);
    return wr_err(&f->val); /* E_NOMEM */
}

static weft_err give(net_core *c, const net_state_rec *recs, uint32_t n)
{
    if (!n)
        return WEFT_OK;
    weft_err e = c->vt->state_records(c->ctx, recs, n);
    if (!e) {
        c->stf.records += n;
        c->st.state_records_in += n;
    }
    return e;
}

/* Gives a part's records to the chain, whole: a piece going on with the value put together so
 * far (checked by the caller: the same record, at the byte we have) completes it or adds to it;
 * a last record that is only the start of its value is kept until the rest comes.  Moves the
 * resume point to the last record. */
static weft_err take_records(net_core *c, const net_state_part *q)
{
    net_state_fetch *f = &c->stf;
    if (!q->count)
        return WEFT_OK;
    uint32_t from = 0, to = q->count - (q->last_partial ? 1 : 0);
    weft_err e = WEFT_OK;
    if (q->first_offset) { /* the rest of the value under way */
        const net_state_rec *r = &q->recs[0];
        e = val_append(f, r->val, r->vlen);
        if (!e && to > 0) { /* complete */
            net_state_rec whole = {r->table, r->klen, r->key, f->val.len, f->val.buf};
            e = give(c, &whole, 1);
            f->val.len = 0;
        }
        from = 1;
    }
    if (!e && to > from)
        e = give(c, q->recs + from, to - from);
    const net_state_rec *last = &q->recs[q->count - 1];
    if (!e && q->last_partial && q->count > from) { /* a value starts here, the rest to come */
        f->val.len = 0;
        e = val_append(f, last->val, last->vlen);
    }
    if (e)
        return e;
    f->has_after = true;
    f->after_table = last->table;
    f->after_klen = last->klen;
    memcpy(f->after_key, last->key, last->klen);
    return WEFT_OK;
}

weft_err net_on_state_part(net_core *c, net_peer *p, net_msg *m)
{
    net_state_fetch *f = &c->stf;
    if (!f->active || f->peer != p->id || !f->ask_pending)
        return WEFT_OK; /* late (the transfer moved on) or unasked: dropped */
    f->ask_pending = false;
    net_state_part *q = &m->u.state_part;
    if (q->status == NET_STATE_GONE) { /* its snapshot is gone: start over with it */
        if (++f->failures > NET_WANT_ROUNDS)
            return fetch_switch(c);
        uint32_t failures = f->failures;
        c->st.state_restarts++;
        weft_err e = fetch_start(c, p, true);
        c->stf.failures = failures;
        return e;
    }
    if (q->status != NET_STATE_OK)
        return fetch_switch(c); /* busy or unable: another peer */
    if (!f->began) {
        net_chain_status st;
        memset(&st, 0, sizeof st);
        weft_err e = c->vt->status(c->ctx, &st);
        if (e == WEFT_E_NOMEM)
            return oom(c);
        if (e)
            return fetch_switch(c);
        if (!roots_ok(c, q))
            return fetch_fault(c, p, WEFT_E_NET_MESSAGE);
        /* a state not past our latest final period (its execution lags its finality): of no
         * use here, not a fault */
        if (q->cursor.period <= max_period(st.final_periods, c->cfg.thread_count))
            return fetch_switch(c);
        f->roots = calloc(q->nroots, sizeof *f->roots);
        if (!f->roots)
            return oom(c);
        for (uint32_t i = 0; i < q->nroots; i++) {
            f->roots[i].id = q->root_ids[i];
            f->roots[i].slot = q->root_slots[i];
        }
        f->nroots = q->nroots;
        e = c->vt->state_begin(c->ctx, q->cursor, q->fingerprint, q->root_ids, q->root_slots,
                               q->nroots);
        if (e == WEFT_E_NOMEM)
            return oom(c);
        if (e)
            return fetch_fault(c, p, e);
        f->began = true;
        f->cursor = q->cursor;
        memcpy(f->fp, q->fingerprint, NET_STATE_FP_LEN);
        e = checks_start(c);
        if (e)
            return e;
    } else if (slot_cmp(q->cursor, f->cursor) != 0 ||
               memcmp(q->fingerprint, f->fp, NET_STATE_FP_LEN) != 0 || q->nroots) {
        return fetch_fault(c, p, WEFT_E_NET_MESSAGE); /* another state within a transfer */
    }
    /* records: after the resume point — or going on with its value at the byte we have — some
     * unless the end; the decoder checked their order and the pieces' form */
    bool cont = f->has_after && f->val.len > 0;
    if ((q->count == 0 && q->more) || (cont && q->count == 0))
        return fetch_fault(c, p, WEFT_E_NET_MESSAGE);
    if (q->count) {
        const net_state_rec *r0 = &q->recs[0];
        int cmp = f->has_after ? net_state_key_cmp(f->after_table, f->after_key, f->after_klen,
                                                   r0->table, r0->key, r0->klen)
                               : -1;
        if (cont ? cmp != 0 || q->first_offset != f->val.len : cmp >= 0 || q->first_offset != 0)
            return fetch_fault(c, p, WEFT_E_NET_MESSAGE);
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < q->count; i++)
        bytes += q->recs[i].klen + q->recs[i].vlen;
    if (f->bytes + bytes > NET_STATE_MAX_TOTAL)
        return fetch_fault(c, p, WEFT_E_NET_LIMIT);
    weft_err e = take_records(c, q);
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e)
        return fetch_fault(c, p, e);
    f->bytes += bytes;
    f->more = q->more;
    f->failures = 0;
    c->st.state_parts_in++;
    c->st.state_bytes_in += bytes;
    e = ask_roots(c, p);
    if (!e && f->more)
        e = send_ask(c, p);
    return e ? e : fetch_finish(c, p);
}

static net_state_root *root_of(net_state_fetch *f, const block_id_t *id)
{
    for (uint32_t i = 0; i < f->nroots; i++)
        if (block_id_eq(&f->roots[i].id, id))
            return &f->roots[i];
    return NULL;
}

weft_err net_state_on_block_full(net_core *c, net_peer *p, net_msg *m, bool *taken)
{
    net_state_fetch *f = &c->stf;
    *taken = false;
    const block_header_t *h = m->u.ops.header;
    net_state_root *r = f->active && f->began && f->peer == p->id ? root_of(f, &h->id) : NULL;
    if (!r || r->state != NET_ROOT_ASKED)
        return WEFT_OK;
    *taken = true;
    uint32_t n = m->u.ops.count;
    signed_op_t *ops = calloc(n ? n : 1, sizeof *ops);
    if (!ops)
        return oom(c);
    for (uint32_t i = 0; i < n; i++) {
        weft_err e =
            signed_op_decode(&ops[i], c->cfg.chain_id, m->u.ops.ops[i].p, m->u.ops.ops[i].len);
        if (e) {
            for (uint32_t j = 0; j < i; j++)
                signed_op_free(&ops[j]);
            free(ops);
            return e == WEFT_E_NOMEM ? oom(c) : fetch_fault(c, p, e);
        }
    }
    weft_err e = c->vt->state_root(c->ctx, h, ops, n); /* ops pass to the chain */
    if (e == WEFT_E_NOMEM)
        return oom(c);
    if (e)
        return fetch_fault(c, p, e);
    r->state = NET_ROOT_GOT;
    f->roots_asked--;
    f->roots_got++;
    e = ask_roots(c, p);
    return e ? e : fetch_finish(c, p);
}

weft_err net_state_on_not_found(net_core *c, net_peer *p, const block_id_t *id, bool *taken)
{
    net_state_fetch *f = &c->stf;
    *taken = false;
    net_state_root *r = f->active && f->began && f->peer == p->id ? root_of(f, id) : NULL;
    if (!r || r->state != NET_ROOT_ASKED)
        return WEFT_OK;
    *taken = true;
    f->roots_asked--;
    if (++r->tries >= NET_STATE_ROOT_TRIES)
        return fetch_switch(c); /* it does not have it (any more) */
    r->state = NET_ROOT_NEED;   /* its answer budget may be used up: a bit later */
    r->at = c->now + NET_STATE_ROOT_RETRY_MS;
    return WEFT_OK;
}

weft_err net_on_state_checked(net_core *c, net_peer *p, const net_msg *m)
{
    net_state_fetch *f = &c->stf;
    net_state_checker *k = f->active && f->began ? checker_of(f, p->id) : NULL;
    if (!k || k->state != NET_CHECKER_ASKED || slot_cmp(m->u.state_checked.slot, f->cursor) != 0)
        return WEFT_OK; /* late (another transfer) or unasked: dropped */
    switch (m->u.state_checked.status) {
    case NET_CHECK_KNOWN:
        k->state = NET_CHECKER_DONE;
        if (memcmp(m->u.state_checked.fingerprint, f->fp, NET_STATE_FP_LEN) == 0) {
            f->confirmed++;
            c->st.state_confirmed++;
        } else {
            f->contradicted++;
            c->st.state_contradicted++;
        }
        break;
    case NET_CHECK_AHEAD: /* not final there yet: again a bit later */
        k->state = k->tries < NET_STATE_CHECK_TRIES ? NET_CHECKER_WAIT : NET_CHECKER_DONE;
        k->at = c->now + NET_STATE_CHECK_RETRY_MS;
        break;
    default:
        k->state = NET_CHECKER_DONE; /* no answer either way */
        break;
    }
    if (checks_refuse(c, false))
        return fetch_disputed(c); /* no need to fetch the rest */
    net_peer *server = f->peer ? net_peer_find(c, f->peer) : NULL;
    return fetch_finish(c, server && net_peer_live(server) ? server : NULL);
}

/* Checkers: a STATE_CHECK unanswered for ask_timeout_ms, or whose peer is gone, is given up;
 * one not final there yet is asked again when its time comes. */
static weft_err checks_tick(net_core *c)
{
    net_state_fetch *f = &c->stf;
    for (uint32_t i = 0; i < f->nchecks; i++) {
        net_state_checker *k = &f->checks[i];
        if (k->state == NET_CHECKER_DONE)
            continue;
        net_peer *q = net_peer_find(c, k->peer);
        if (!q || !net_peer_live(q) ||
            (k->state == NET_CHECKER_ASKED && since(c->now, k->at) >= c->cfg.ask_timeout_ms)) {
            k->state = NET_CHECKER_DONE;
            continue;
        }
        if (k->state == NET_CHECKER_WAIT && c->now >= k->at) {
            weft_err e = send_check(c, q, k);
            if (e)
                return e;
        }
    }
    return WEFT_OK;
}

void net_state_peer_gone(net_core *c, net_peer *p)
{
    if (c->stf.active && c->stf.peer == p->id)
        c->stf.peer = 0; /* the next tick goes on with another peer */
}

weft_err net_state_tick(net_core *c)
{
    net_state_fetch *f = &c->stf;
    if (!f->active)
        return WEFT_OK;
    net_peer *p = f->peer ? net_peer_find(c, f->peer) : NULL;
    if (p && !net_peer_live(p))
        p = NULL;
    /* every record and root here, only checks to wait for: the server is needed no more */
    bool received = f->began && !f->more && !f->ask_pending && f->roots_got >= f->nroots;
    if (!received) {
        if (!p)
            return fetch_switch(c);
        if (f->ask_pending && since(c->now, f->asked_at) >= c->cfg.ask_timeout_ms)
            return fetch_switch(c);
        for (uint32_t i = 0; i < f->nroots; i++)
            if (f->roots[i].state == NET_ROOT_ASKED &&
                since(c->now, f->roots[i].at) >= c->cfg.ask_timeout_ms)
                return fetch_switch(c);
        weft_err e = ask_roots(c, p);
        if (e)
            return e;
    }
    if (!f->began || !f->nchecks)
        return WEFT_OK;
    uint32_t pending = checks_pending(f);
    weft_err e = checks_tick(c);
    if (!e && pending && !checks_pending(f)) /* the last check given up */
        e = fetch_finish(c, p);
    return e;
}

void net_state_progress(const net_core *c, net_stats *out)
{
    const net_state_fetch *f = &c->stf;
    out->state_cur_records = out->state_cur_bytes = 0;
    out->state_cur_roots = out->state_cur_roots_total = 0;
    if (!f->active)
        return;
    out->state_cur_records = f->records;
    out->state_cur_bytes = f->bytes;
    out->state_cur_roots = f->roots_got;
    out->state_cur_roots_total = f->nroots;
}

void net_state_free(net_core *c)
{
    if (c->stf.began && c->vt)
        c->vt->state_abort(c->ctx);
    free(c->stf.roots);
    wr_free(&c->stf.val);
    memset(&c->stf, 0, sizeof c->stf);
}
