/* link.c — the simulated network of tests/sim (the model is written down in README.md).
 *
 * A connection is two directions, each an ordered byte stream as TCP gives: frames leave a
 * direction in order and arrive in order.  Each direction has the real shell's two lanes: frames
 * wait in a CONTROL and a BULK queue, and whenever the wire is free the next frame is taken from
 * CONTROL first — so control traffic overtakes queued bulk traffic, never a frame already on the
 * wire.  A frame occupies the wire for len / bandwidth, then arrives latency + jitter later, never
 * before the frame ahead of it.  Faults are drawn per frame when it goes on the wire:
 *   retransmission  the frame (and, by order, everything behind it) arrives rto later;
 *   drop            the frame never arrives: the connection breaks when it would have;
 *   dup             the frame arrives, then the connection breaks: the sender cannot know it
 *                   arrived and may send it again on its next connection.
 * A partition stalls the connections across it (nothing arrives, order is kept) until the heal or,
 * with data pending, until user_timeout_ms, when they break.  A crashed node's connections are
 * reset: its peers hear it one latency later; frames in flight either way are lost.
 *
 * Everything is deterministic given the calls and the seed; events come out in (time, creation)
 * order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---- randomness -------------------------------------------------------------------------------
 */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_init(sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n) { return n ? sim_rng_next(r) % n : 0; }

bool sim_rng_pm(sim_rng *r, uint32_t pm) { return pm && sim_rng_below(r, 1000) < pm; }

/* ---- structures -------------------------------------------------------------------------------
 */

enum { IT_FRAME = 0, IT_EOF = 1 };
enum { FL_NONE = 0, FL_DROP = 1, FL_BREAK_AFTER = 2 };

typedef struct item {
    struct item *next;
    uint64_t seq;
    uint64_t t; /* queued: when sent; on the wire: arrival */
    uint8_t kind, flag;
    net_lane lane;
    uint8_t *frame;
    size_t len;
} item;

typedef struct fifo {
    item *head, *tail;
    size_t n;
} fifo;

typedef struct dir {
    fifo q[2]; /* CONTROL, BULK: waiting for the wire */
    fifo fly;  /* on the wire, arrival times non-decreasing */
    uint64_t wire_free_us;
    uint64_t last_arrival;
    uint32_t consec_loss;
} dir;

typedef struct conn {
    struct conn *next;
    uint32_t id;
    int node[2];     /* dialer, acceptor */
    uint64_t gen[2]; /* the nodes' incarnations when the connection was made */
    bool open[2];    /* the end was told CONNECTED and not yet closed */
    bool gone[2];    /* the end closed or was told CLOSED: it hears nothing more */
    bool broken;     /* broken (fault, stall, crash): no more frames either way */
    bool stalled;
    uint64_t stalled_since;
    dir d[2]; /* d[e]: from end e to end 1 - e */
    char addr[NET_ADDR_MAX];
} conn;

typedef struct sched {
    struct sched *next;
    uint64_t seq;
    uint64_t gen; /* incarnation of ev.node the event is for */
    sim_event ev;
} sched;

struct sim_net {
    sim_link_cfg cfg;
    sim_rng rng;
    int nodes;
    bool *up;
    int *group;
    uint64_t *gen;
    conn *conns;
    uint32_t next_conn;
    sched *sched; /* sorted by (at, seq) */
    uint64_t seq;
    sim_net_stats st;
};

void sim_link_cfg_default(sim_link_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->latency_ms = 30;
    c->jitter_ms = 20;
    c->bandwidth = 10u << 20;
    c->rto_ms = 200;
    c->connect_timeout_ms = 3000;
    c->user_timeout_ms = 20000;
}

/* ---- helpers ----------------------------------------------------------------------------------
 */

static void fifo_push(fifo *f, item *it)
{
    it->next = NULL;
    if (f->tail)
        f->tail->next = it;
    else
        f->head = it;
    f->tail = it;
    f->n++;
}

static item *fifo_pop(fifo *f)
{
    item *it = f->head;
    if (!it)
        return NULL;
    f->head = it->next;
    if (!f->head)
        f->tail = NULL;
    f->n--;
    it->next = NULL;
    return it;
}

static void item_free(item *it)
{
    if (it) {
        free(it->frame);
        free(it);
    }
}

static size_t fifo_clear(fifo *f)
{
    size_t n = 0;
    item *it;
    while ((it = fifo_pop(f))) {
        n += it->kind == IT_FRAME;
        item_free(it);
    }
    return n;
}

static bool conn_has_data(const conn *c)
{
    for (int e = 0; e < 2; e++)
        if (c->d[e].q[0].n || c->d[e].q[1].n || c->d[e].fly.n)
            return true;
    return false;
}

static conn *conn_find(sim_net *n, uint32_t id)
{
    for (conn *c = n->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void sched_add(sim_net *n, const sim_event *ev)
{
    sched *s = calloc(1, sizeof *s);
    WEFT_ASSERT(s != NULL);
    s->ev = *ev;
    s->seq = n->seq++;
    s->gen = n->gen[ev->node];
    sched **p = &n->sched;
    while (*p && ((*p)->ev.at < ev->at || ((*p)->ev.at == ev->at && (*p)->seq < s->seq)))
        p = &(*p)->next;
    s->next = *p;
    *p = s;
}

static void sched_closed(sim_net *n, conn *c, int end, uint64_t at)
{
    sim_event ev = {
        .kind = SIM_EV_CLOSED, .at = at, .node = c->node[end], .conn = c->id, .end = end};
    sched_add(n, &ev);
}

/* Breaks a connection at `at`: every frame still queued or in flight is lost; each end still
 * listening hears CLOSED then. */
static void conn_break(sim_net *n, conn *c, uint64_t at)
{
    if (c->broken)
        return;
    c->broken = true;
    for (int e = 0; e < 2; e++) {
        n->st.frames_lost += fifo_clear(&c->d[e].q[0]) + fifo_clear(&c->d[e].q[1]);
        n->st.frames_lost += fifo_clear(&c->d[e].fly);
    }
    for (int e = 0; e < 2; e++)
        if (c->open[e] && !c->gone[e]) {
            c->gone[e] = true;
            sched_closed(n, c, e, at);
        }
}

static void conn_reap(sim_net *n)
{
    conn **p = &n->conns;
    while (*p) {
        conn *c = *p;
        bool done = (c->gone[0] || !c->open[0]) && (c->gone[1] || !c->open[1]);
        /* a connection still being set up has pending CONNECTED events: keep it */
        for (sched *s = n->sched; s && done; s = s->next)
            done = !(s->ev.conn == c->id && s->ev.kind == SIM_EV_CONNECTED);
        if (done) {
            *p = c->next;
            for (int e = 0; e < 2; e++) {
                fifo_clear(&c->d[e].q[0]);
                fifo_clear(&c->d[e].q[1]);
                fifo_clear(&c->d[e].fly);
            }
            free(c);
        } else {
            p = &c->next;
        }
    }
}

/* Puts frames on the wire while it is free (CONTROL first), drawing each one's faults. */
static void pump(sim_net *n, conn *c, int e, uint64_t now)
{
    dir *d = &c->d[e];
    if (c->broken || c->stalled)
        return;
    uint64_t now_us = now * 1000;
    while ((d->q[0].n || d->q[1].n) && d->wire_free_us <= now_us) {
        item *it = fifo_pop(d->q[0].n ? &d->q[0] : &d->q[1]);
        uint64_t start = d->wire_free_us > it->t * 1000 ? d->wire_free_us : it->t * 1000;
        uint64_t tx = n->cfg.bandwidth ? (uint64_t)it->len * 1000000u / n->cfg.bandwidth : 0;
        d->wire_free_us = start + tx;
        uint64_t arr = (d->wire_free_us + 999) / 1000 + n->cfg.latency_ms +
                       sim_rng_below(&n->rng, n->cfg.jitter_ms + 1);
        if (it->kind == IT_FRAME) {
            if (sim_rng_pm(&n->rng, n->cfg.retrans_pm)) {
                uint32_t k = d->consec_loss < 6 ? d->consec_loss : 6;
                arr += n->cfg.rto_ms << k;
                d->consec_loss++;
                n->st.retransmits++;
            } else {
                d->consec_loss = 0;
            }
            if (sim_rng_pm(&n->rng, n->cfg.drop_pm))
                it->flag = FL_DROP;
            else if (sim_rng_pm(&n->rng, n->cfg.dup_pm))
                it->flag = FL_BREAK_AFTER;
        }
        if (arr < d->last_arrival)
            arr = d->last_arrival;
        if (arr <= it->t)
            arr = it->t + 1;
        d->last_arrival = arr;
        it->t = arr;
        fifo_push(&d->fly, it);
    }
}

static bool reach(const sim_net *n, int a, int b)
{
    return n->up[a] && n->up[b] && n->group[a] == n->group[b];
}

/* Stall or resume the connections whose ends can no longer (or can again) reach each other;
 * break the ones stalled too long with data pending. */
static void restall(sim_net *n, uint64_t now)
{
    for (conn *c = n->conns; c; c = c->next) {
        if (c->broken)
            continue;
        bool st = n->group[c->node[0]] != n->group[c->node[1]];
        if (st && !c->stalled) {
            c->stalled = true;
            c->stalled_since = now;
        } else if (!st && c->stalled) {
            c->stalled = false;
            for (int e = 0; e < 2; e++) {
                dir *d = &c->d[e];
                uint64_t floor = now + n->cfg.latency_ms;
                for (item *it = d->fly.head; it; it = it->next) {
                    if (it->t < floor)
                        it->t = floor;
                    floor = it->t;
                }
                if (d->last_arrival < floor)
                    d->last_arrival = floor;
                if (d->wire_free_us < now * 1000)
                    d->wire_free_us = now * 1000;
            }
        }
        if (c->stalled && conn_has_data(c) && now >= c->stalled_since + n->cfg.user_timeout_ms) {
            n->st.breaks_stall++;
            conn_break(n, c, now);
        }
    }
}

/* ---- API --------------------------------------------------------------------------------------
 */

weft_err sim_net_new(sim_net **out, const sim_link_cfg *cfg, int nodes, uint64_t seed)
{
    *out = NULL;
    sim_net *n = calloc(1, sizeof *n);
    if (!n)
        return WEFT_E_NOMEM;
    n->up = calloc((size_t)nodes, sizeof *n->up);
    n->group = calloc((size_t)nodes, sizeof *n->group);
    n->gen = calloc((size_t)nodes, sizeof *n->gen);
    if (!n->up || !n->group || !n->gen) {
        sim_net_free(n);
        return WEFT_E_NOMEM;
    }
    n->cfg = *cfg;
    if (n->cfg.latency_ms == 0)
        n->cfg.latency_ms = 1;
    for (int i = 0; i < nodes; i++)
        n->up[i] = true;
    n->nodes = nodes;
    n->next_conn = 1;
    sim_rng_init(&n->rng, seed, 0x11f);
    *out = n;
    return WEFT_OK;
}

void sim_net_free(sim_net *n)
{
    if (!n)
        return;
    while (n->conns) {
        conn *c = n->conns;
        n->conns = c->next;
        for (int e = 0; e < 2; e++) {
            fifo_clear(&c->d[e].q[0]);
            fifo_clear(&c->d[e].q[1]);
            fifo_clear(&c->d[e].fly);
        }
        free(c);
    }
    while (n->sched) {
        sched *s = n->sched;
        n->sched = s->next;
        free(s->ev.frame);
        free(s);
    }
    free(n->up);
    free(n->group);
    free(n->gen);
    free(n);
}

void sim_net_set_cfg(sim_net *n, const sim_link_cfg *cfg)
{
    n->cfg = *cfg;
    if (n->cfg.latency_ms == 0)
        n->cfg.latency_ms = 1;
}

const sim_link_cfg *sim_net_cfg(const sim_net *n) { return &n->cfg; }

void sim_net_set_up(sim_net *n, int node, bool up, uint64_t now)
{
    if (n->up[node] == up)
        return;
    n->up[node] = up;
    n->gen[node]++;
    if (up)
        return;
    for (conn *c = n->conns; c; c = c->next) {
        int e = c->node[0] == node ? 0 : c->node[1] == node ? 1 : -1;
        if (e < 0 || c->broken)
            continue;
        /* the crashed end vanishes; the other one hears the reset one latency later */
        c->gone[e] = true;
        if (c->node[1 - e] == node)
            c->gone[1 - e] = true;
        n->st.resets_crash++;
        conn_break(n, c, now + n->cfg.latency_ms);
    }
    conn_reap(n);
}

bool sim_net_is_up(const sim_net *n, int node) { return n->up[node]; }

void sim_net_set_group(sim_net *n, int node, int group, uint64_t now)
{
    n->group[node] = group;
    restall(n, now);
}

bool sim_net_reachable(const sim_net *n, int a, int b) { return reach(n, a, b); }

void sim_net_dial(sim_net *n, int from, int to, const char *addr, uint64_t now)
{
    n->st.dials++;
    uint64_t rtt = 2 * n->cfg.latency_ms;
    if (to < 0 || !reach(n, from, to)) {
        /* nobody answers (unknown address, partition): a timeout; a down host: a quick refusal */
        bool refused = to >= 0 && !n->up[to] && n->group[from] == n->group[to];
        sim_event ev = {.kind = SIM_EV_DIAL_FAILED,
                        .at = now + (refused ? rtt : n->cfg.connect_timeout_ms),
                        .node = from};
        snprintf(ev.addr, sizeof ev.addr, "%s", addr);
        sched_add(n, &ev);
        return;
    }
    conn *c = calloc(1, sizeof *c);
    WEFT_ASSERT(c != NULL);
    c->id = n->next_conn++;
    c->node[0] = from;
    c->node[1] = to;
    c->gen[0] = n->gen[from];
    c->gen[1] = n->gen[to];
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = n->conns;
    n->conns = c;
    for (int e = 0; e < 2; e++) {
        sim_event ev = {
            .kind = SIM_EV_CONNECTED, .at = now + rtt, .node = c->node[e], .conn = c->id, .end = e};
        if (e == 0)
            snprintf(ev.addr, sizeof ev.addr, "%s", addr);
        sched_add(n, &ev);
    }
}

void sim_net_send(sim_net *n, uint32_t id, int end, net_lane lane, uint8_t *frame, size_t len,
                  uint64_t now)
{
    conn *c = conn_find(n, id);
    if (!c || c->broken || c->gone[end] || !c->open[end]) {
        free(frame);
        n->st.frames_lost++;
        return;
    }
    item *it = calloc(1, sizeof *it);
    WEFT_ASSERT(it != NULL);
    it->seq = n->seq++;
    it->t = now;
    it->kind = IT_FRAME;
    it->lane = lane == NET_LANE_BULK ? NET_LANE_BULK : NET_LANE_CONTROL;
    it->frame = frame;
    it->len = len;
    fifo_push(&c->d[end].q[it->lane], it);
    n->st.frames++;
    n->st.bytes += len;
    pump(n, c, end, now);
}

void sim_net_close(sim_net *n, uint32_t id, int end, uint64_t now)
{
    conn *c = conn_find(n, id);
    if (!c || c->gone[end])
        return;
    c->gone[end] = true;
    n->st.closes++;
    if (c->broken)
        return;
    /* EOF behind everything this end sent (a FIN after the data) */
    item *it = calloc(1, sizeof *it);
    WEFT_ASSERT(it != NULL);
    it->seq = n->seq++;
    it->t = now;
    it->kind = IT_EOF;
    it->lane = NET_LANE_BULK;
    fifo_push(&c->d[end].q[NET_LANE_BULK], it);
    pump(n, c, end, now);
}

int sim_net_peer_node(const sim_net *n, uint32_t id, int end)
{
    for (const conn *c = n->conns; c; c = c->next)
        if (c->id == id)
            return c->node[1 - end];
    return -1;
}

size_t sim_net_open_count(const sim_net *n)
{
    size_t k = 0;
    for (const conn *c = n->conns; c; c = c->next)
        k += !c->broken && c->open[0] && c->open[1] && !c->gone[0] && !c->gone[1];
    return k;
}

void sim_net_stats_get(const sim_net *n, sim_net_stats *out) { *out = n->st; }

bool sim_net_next(sim_net *n, uint64_t now, sim_event *out)
{
    memset(out, 0, sizeof *out);
    for (;;) {
        restall(n, now);
        for (conn *c = n->conns; c; c = c->next)
            for (int e = 0; e < 2; e++)
                pump(n, c, e, now);
        /* the earliest due event: scheduled ones, or the head of a direction's wire */
        sched *best_s = n->sched && n->sched->ev.at <= now ? n->sched : NULL;
        conn *best_c = NULL;
        int best_e = 0;
        uint64_t bt = best_s ? best_s->ev.at : UINT64_MAX, bseq = best_s ? best_s->seq : 0;
        for (conn *c = n->conns; c; c = c->next) {
            if (c->broken || c->stalled)
                continue;
            for (int e = 0; e < 2; e++) {
                item *h = c->d[e].fly.head;
                if (h && h->t <= now && (h->t < bt || (h->t == bt && h->seq < bseq))) {
                    bt = h->t;
                    bseq = h->seq;
                    best_c = c;
                    best_e = e;
                    best_s = NULL;
                }
            }
        }
        if (best_s) {
            n->sched = best_s->next;
            sim_event ev = best_s->ev;
            bool stale = best_s->gen != n->gen[ev.node] || !n->up[ev.node];
            free(best_s);
            if (stale)
                continue;
            if (ev.kind == SIM_EV_DIAL_FAILED) {
                n->st.dials_failed++;
                *out = ev;
                return true;
            }
            if (ev.kind == SIM_EV_CLOSED) { /* scheduled for an end that was listening */
                *out = ev;
                conn_reap(n);
                return true;
            }
            conn *c = conn_find(n, ev.conn); /* CONNECTED: kept alive by this event */
            WEFT_ASSERT(c != NULL);
            bool ok = !c->broken && !c->gone[ev.end] && reach(n, c->node[0], c->node[1]) &&
                      c->gen[0] == n->gen[c->node[0]] && c->gen[1] == n->gen[c->node[1]];
            if (!ok && ev.end == 0) {
                /* the target went away (or out of reach) during the handshake */
                c->broken = true;
                c->gone[0] = c->gone[1] = true;
                n->st.dials_failed++;
                ev.kind = SIM_EV_DIAL_FAILED;
                ev.conn = 0;
                *out = ev;
                conn_reap(n);
                return true;
            }
            if (!ok) { /* the acceptor never hears of it; the dialer hears the reset */
                c->gone[1] = true;
                conn_break(n, c, now);
                conn_reap(n);
                continue;
            }
            c->open[ev.end] = true;
            if (ev.end == 1)
                n->st.connections++;
            *out = ev;
            return true;
        }
        if (!best_c)
            return false;
        dir *d = &best_c->d[best_e];
        int to = 1 - best_e;
        item *it = fifo_pop(&d->fly);
        if (it->kind == IT_EOF) {
            bool tell = best_c->open[to] && !best_c->gone[to];
            best_c->gone[to] = true;
            uint64_t at = it->t;
            item_free(it);
            if (!tell) {
                conn_reap(n);
                continue;
            }
            out->kind = SIM_EV_CLOSED;
            out->at = at;
            out->node = best_c->node[to];
            out->conn = best_c->id;
            out->end = to;
            conn_reap(n);
            return true;
        }
        if (it->flag == FL_DROP) {
            n->st.breaks_drop++;
            n->st.frames_lost++;
            uint64_t at = it->t;
            item_free(it);
            conn_break(n, best_c, at);
            conn_reap(n);
            continue;
        }
        if (!best_c->open[to] || best_c->gone[to]) {
            n->st.frames_lost++;
            item_free(it);
            continue;
        }
        out->kind = SIM_EV_FRAME;
        out->at = it->t;
        out->node = best_c->node[to];
        out->conn = best_c->id;
        out->end = to;
        out->lane = it->lane;
        out->frame = it->frame;
        out->len = it->len;
        it->frame = NULL;
        if (it->flag == FL_BREAK_AFTER) {
            n->st.breaks_dup++;
            conn_break(n, best_c, it->t);
        }
        item_free(it);
        return true;
    }
}
