/* netd service: the network shell on libuv (netd.h "service"; docs/netd.md).
 *
 * One thread runs a uv loop that owns the protocol core (src/net) and every connection:
 *   - a TCP listener on netd_options.listen; an inbound connection is first checked with
 *     net_core_accept_ok (bans, inbound and per-IP limits) and closed at once if refused;
 *   - outbound dials when the core emits NET_ACT_DIAL: numeric addresses are connected at once,
 *     host names are resolved with uv_getaddrinfo (libuv's thread pool) and the first address
 *     is dialed;
 *   - framing: a reader per connection collects the 5-byte header, checks it with
 *     net_frame_check before allocating the frame, and hands whole frames to net_core_received;
 *   - operation batches and announcements (net_frame_deferrable) wait in a bounded queue and go to
 *     the core while the loop is otherwise idle, a few milliseconds at a time, so that they never
 *     hold headers, asks, endorsements and block bodies read after them, and so that operations
 *     are asked for at the pace they are checked;
 *   - two outbound queues per connection (CONTROL and BULK): every queued CONTROL frame is
 *     written before any BULK frame; the bytes queued for one peer are bounded
 *     (NETD_MAX_QUEUED): a peer that does not read is closed;
 *   - NET_ACT_CLOSE: stop reading, flush what is queued (at most NETD_FLUSH_TIMEOUT_MS), close —
 *     at once when more than NETD_CLOSE_FLUSH_MAX bytes are queued;
 *   - a timer every NETD_TICK_MS drains the node's events (netd_evq) into the core and calls
 *     net_core_tick; a uv_async wakes the loop when node events are queued, for the thread-safe
 *     queries (a request queue: the caller waits on a condition variable), and for netd_stop.
 * Time is uv_now (the loop's monotonic milliseconds); the handshake nonces come from the OS
 * generator (crypto_random: libsodium's randombytes_buf).
 * An E_NOMEM from the core leaves it unusable: the service then closes every connection and the
 * listener, logs the failure, and answers queries with E_ACTOR_STOPPED (the node keeps running
 * without a network). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "netd/netd.h"
#include "netd/netd_internal.h"

#define MOD "net"

/* ---- framing --------------------------------------------------------------------------------- */

void netd_reader_init(netd_reader *r, uint32_t max_frame)
{
    memset(r, 0, sizeof *r);
    r->max_frame = max_frame;
}

void netd_reader_free(netd_reader *r)
{
    free(r->frame);
    r->frame = NULL;
    r->hdr_got = r->total = r->got = 0;
}

int netd_reader_feed(netd_reader *r, const uint8_t **p, size_t *len, uint8_t **frame, size_t *flen)
{
    *frame = NULL;
    *flen = 0;
    while (*len > 0) {
        if (r->hdr_got < NET_FRAME_HEADER) {
            size_t k = NET_FRAME_HEADER - r->hdr_got;
            if (k > *len)
                k = *len;
            memcpy(r->hdr + r->hdr_got, *p, k);
            r->hdr_got += k;
            *p += k;
            *len -= k;
            if (r->hdr_got < NET_FRAME_HEADER)
                return 0;
            size_t total = 0;
            weft_err e = net_frame_check(r->hdr, r->max_frame, &total);
            if (e != WEFT_OK)
                return e;
            if (total < NET_FRAME_HEADER)
                return WEFT_E_NET_MESSAGE;
            r->frame = malloc(total);
            if (!r->frame)
                return WEFT_E_NOMEM;
            memcpy(r->frame, r->hdr, NET_FRAME_HEADER);
            r->total = total;
            r->got = NET_FRAME_HEADER;
        }
        size_t k = r->total - r->got;
        if (k > *len)
            k = *len;
        memcpy(r->frame + r->got, *p, k);
        r->got += k;
        *p += k;
        *len -= k;
        if (r->got == r->total)
            break;
    }
    if (r->hdr_got < NET_FRAME_HEADER || r->got < r->total)
        return 0;
    *frame = r->frame;
    *flen = r->total;
    r->frame = NULL;
    r->hdr_got = r->total = r->got = 0;
    return 1;
}

/* ---- lanes ----------------------------------------------------------------------------------- */

void netd_lanes_init(netd_lanes *l, size_t max_queued)
{
    memset(l, 0, sizeof *l);
    l->max_queued = max_queued;
}

static void qframes_free(netd_qframe *f)
{
    while (f) {
        netd_qframe *next = f->next;
        free(f->data);
        free(f);
        f = next;
    }
}

void netd_lanes_free(netd_lanes *l)
{
    for (int i = 0; i < 2; i++)
        qframes_free(l->head[i]);
    qframes_free(l->inflight);
    size_t max = l->max_queued;
    netd_lanes_init(l, max);
}

weft_err netd_lanes_push(netd_lanes *l, net_lane lane, uint8_t *frame, size_t len)
{
    WEFT_MISUSE(lane == NET_LANE_CONTROL || lane == NET_LANE_BULK);
    if (len > l->max_queued || l->queued > l->max_queued - len)
        return WEFT_E_NET_LIMIT;
    netd_qframe *f = malloc(sizeof *f);
    if (!f)
        return WEFT_E_NOMEM;
    f->next = NULL;
    f->data = frame;
    f->len = len;
    if (l->tail[lane])
        l->tail[lane]->next = f;
    else
        l->head[lane] = f;
    l->tail[lane] = f;
    l->count[lane]++;
    l->queued += len;
    return WEFT_OK;
}

size_t netd_lanes_next(netd_lanes *l, const uint8_t **bufs, size_t *lens, size_t cap,
                       net_lane *lane)
{
    if (l->inflight || cap == 0)
        return 0;
    net_lane ln = l->head[NET_LANE_CONTROL] ? NET_LANE_CONTROL : NET_LANE_BULK;
    size_t n = 0, bytes = 0;
    netd_qframe *last = NULL;
    for (netd_qframe *f = l->head[ln]; f && n < cap; f = f->next) {
        if (ln == NET_LANE_BULK && n > 0 && bytes + f->len > NETD_BULK_BATCH_BYTES)
            break;
        bufs[n] = f->data;
        lens[n] = f->len;
        bytes += f->len;
        last = f;
        n++;
    }
    if (n == 0)
        return 0;
    /* detach head..last as the batch in flight */
    l->inflight = l->head[ln];
    l->inflight_count = n;
    l->head[ln] = last->next;
    if (!l->head[ln])
        l->tail[ln] = NULL;
    last->next = NULL;
    l->count[ln] -= n;
    *lane = ln;
    return n;
}

void netd_lanes_done(netd_lanes *l)
{
    for (netd_qframe *f = l->inflight; f; f = f->next)
        l->queued -= f->len;
    qframes_free(l->inflight);
    l->inflight = NULL;
    l->inflight_count = 0;
}

/* ---- the service ----------------------------------------------------------------------------- */

typedef enum conn_state {
    CONN_DIALING = 1, /* outbound, connect in progress */
    CONN_OPEN = 2,    /* known to the core */
    CONN_CLOSING = 3, /* uv_close called, or flushing before it */
} conn_state;

typedef struct conn {
    uv_tcp_t tcp; /* tcp.data = the conn */
    uv_connect_t connect;
    uv_write_t wreq;
    struct netd *s;
    struct conn *prev, *next;
    net_peer_id id;
    conn_state state;
    bool outbound;
    bool known;       /* net_core_connected succeeded: the core must hear of the disconnect */
    bool handle_open; /* uv_tcp_init done: free through uv_close */
    bool writing;
    bool flushing;     /* NET_ACT_CLOSE: flush then close */
    uint64_t deadline; /* DIALING: connect timeout; flushing: flush timeout */
    weft_err reason;   /* why it is closing (logged) */
    bool banned;
    char addr[NET_ADDR_MAX]; /* dialed "host:port", or "ip:port" of an inbound peer */
    char ip[NET_ADDR_MAX];
    netd_reader rd;
    netd_lanes lanes;
    uv_buf_t wbufs[NETD_BATCH_MAX];
    uint8_t rbuf[NETD_READ_CHUNK];
} conn;

typedef struct dial {
    uv_getaddrinfo_t req;
    struct netd *s;
    struct dial *prev, *next;
    char addr[NET_ADDR_MAX];
    uint16_t port;
} dial;

enum req_kind {
    REQ_PEERS = 1,
    REQ_STATS,
    REQ_BAN_ID,
    REQ_BAN_IP,
    REQ_UNBAN_ID,
    REQ_UNBAN_IP,
    REQ_WL_ADD,
    REQ_WL_REMOVE,
    REQ_WL_LIST,
};

typedef struct netd_req {
    struct netd_req *next;
    enum req_kind kind;
    const pubkey_t *id;
    const char *ip;
    net_peer_info *peers;
    char (*wl)[NET_ADDR_MAX];
    size_t n;
    net_stats *stats;
    weft_err e;
    bool done;
} netd_req;

/* A received frame the core gets later (net_frame_deferrable: operation batches and
 * announcements). */
typedef struct dframe {
    struct dframe *next;
    net_peer_id peer;
    uint8_t *frame;
    size_t len;
    uint64_t at_ms; /* when it was queued (mono_ms) */
} dframe;

struct netd {
    /* options (copied) */
    char *listen;
    char **bootstrap;
    size_t n_bootstrap;
    net_config cfg;
    netd_evq *evq;
    /* loop thread state */
    uv_loop_t loop;
    bool loop_init;
    uv_async_t async;
    uv_tcp_t listener;
    bool listening;
    uv_timer_t timer;
    bool timer_init;
    uv_idle_t idle; /* runs while deferred frames wait */
    bool idle_init;
    dframe *dhead, *dtail;
    size_t dbytes;
    _Atomic uint64_t dhead_at; /* when the oldest waiting frame was queued (mono_ms; 0: none) */
    uint64_t ddropped;
    net_core *core;
    conn *conns;
    dial *dials;
    net_peer_id next_id;
    bool stopping;    /* shutdown began: no more core calls */
    bool core_failed; /* the core returned E_NOMEM: the network is down */
    uint16_t port;
    /* shared with other threads (mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool async_live; /* the async handle may be signalled */
    bool accepting;  /* requests are taken (the loop runs) */
    bool stop_asked;
    netd_req *reqs, *reqs_tail;
    bool thread_started;
    pthread_t thread;
};

static uint64_t now_ms(netd *s) { return uv_now(&s->loop); }

static void wake(void *ctx)
{
    netd *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->async_live)
        uv_async_send(&s->async);
    pthread_mutex_unlock(&s->mu);
}

/* ---- connections ----------------------------------------------------------------------------- */

static conn *conn_find(netd *s, net_peer_id id)
{
    for (conn *c = s->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static net_peer_id next_peer_id(netd *s)
{
    for (;;) {
        net_peer_id id = ++s->next_id;
        if (id != 0 && !conn_find(s, id))
            return id;
    }
}

static conn *conn_new(netd *s, bool outbound)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->outbound = outbound;
    c->id = next_peer_id(s);
    netd_reader_init(&c->rd, s->cfg.max_frame);
    netd_lanes_init(&c->lanes, NETD_MAX_QUEUED);
    if (uv_tcp_init(&s->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->handle_open = true;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    return c;
}

static void core_fail(netd *s, weft_err e);
static void pump(netd *s);

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    netd *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->known) {
        log_info(MOD, "peer disconnected", "peer=%u addr=%s reason=%s banned=%d", c->id, c->addr,
                 c->reason ? weft_err_name(c->reason) : "closed", c->banned);
        if (!s->stopping && !s->core_failed) {
            net_core_disconnected(s->core, c->id, now_ms(s));
            pump(s);
        }
    }
    netd_reader_free(&c->rd);
    netd_lanes_free(&c->lanes);
    free(c);
}

/* Closes at once (queued frames are dropped). */
static void conn_close(conn *c, weft_err reason)
{
    if (!c->handle_open || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (!c->reason)
        c->reason = reason;
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_write(uv_write_t *req, int status);

/* Starts the next write if none is in flight. */
static void conn_kick(conn *c)
{
    if (c->writing || !c->handle_open || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    const uint8_t *bufs[NETD_BATCH_MAX];
    size_t lens[NETD_BATCH_MAX];
    net_lane lane;
    size_t n = netd_lanes_next(&c->lanes, bufs, lens, NETD_BATCH_MAX, &lane);
    if (n == 0) {
        if (c->flushing)
            conn_close(c, c->reason);
        return;
    }
    for (size_t i = 0; i < n; i++)
        c->wbufs[i] = uv_buf_init((char *)bufs[i], (unsigned)lens[i]);
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->wbufs, (unsigned)n, on_write);
    if (rc != 0) {
        netd_lanes_done(&c->lanes);
        log_debug(MOD, "write failed", "peer=%u err=%s", c->id, uv_strerror(rc));
        conn_close(c, WEFT_E_IO);
        return;
    }
    c->writing = true;
}

static void on_write(uv_write_t *req, int status)
{
    conn *c = req->data;
    c->writing = false;
    netd_lanes_done(&c->lanes);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (status < 0) {
        log_debug(MOD, "write failed", "peer=%u err=%s", c->id, uv_strerror(status));
        conn_close(c, WEFT_E_IO);
        return;
    }
    conn_kick(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

/* The reader refused a frame (a length prefix above max_frame — checked before anything was
 * allocated — or an empty frame): the peer is at fault.  The core gets the 5-byte header alone as
 * the frame: its own net_frame_check fails the same way, and it faults the peer (close, and a ban
 * unless the peer is whitelisted) with the reason. */
static void bad_frame(conn *c, weft_err r)
{
    netd *s = c->s;
    log_warn(MOD, "bad frame from peer", "peer=%u addr=%s err=%s", c->id, c->addr,
             weft_err_name(r));
    if (r == WEFT_E_NOMEM) {
        conn_close(c, r);
        return;
    }
    weft_err e = net_core_received(s->core, c->id, c->rd.hdr, NET_FRAME_HEADER, now_ms(s));
    if (e == WEFT_E_NOMEM) {
        core_fail(s, e);
        return;
    }
    pump(s);
    if (c->state == CONN_OPEN && !c->flushing)
        conn_close(c, r); /* the reader cannot go on */
}

/* ---- deferred frames: operation batches and announcements ---------------------------------- */

/* Each operation of an OPS frame costs a signature check: a burst of them would hold every
 * header, ask, endorsement and block body read after it.  They wait here, in order, and the core
 * gets them while the loop has nothing else to do, NETD_DEFER_BUDGET_MS at a time; beyond
 * NETD_DEFER_MAX bytes waiting, new ones are dropped (their operations come again in blocks).
 * OP_ANNOUNCE frames wait in the same queue: the core asks for the operations they name only
 * after the batches before them are checked. */

static void on_idle(uv_idle_t *h);

static void dframes_free(netd *s)
{
    while (s->dhead) {
        dframe *f = s->dhead;
        s->dhead = f->next;
        free(f->frame);
        free(f);
    }
    s->dtail = NULL;
    s->dbytes = 0;
    atomic_store(&s->dhead_at, 0);
}

/* A monotonic clock in ms, readable from any thread (never 0 once the machine is up a ms). */
static uint64_t mono_ms(void) { return uv_hrtime() / 1000000 + 1; }

uint64_t netd_ops_behind_ms(netd *s)
{
    uint64_t at = atomic_load(&s->dhead_at), now = mono_ms();
    return at && now > at ? now - at : 0;
}

static void defer(netd *s, conn *c, uint8_t *frame, size_t len)
{
    dframe *f = s->dbytes + len <= NETD_DEFER_MAX ? malloc(sizeof *f) : NULL;
    if (!f) {
        free(frame);
        if ((s->ddropped++ & 1023) == 0)
            log_warn(MOD,
                     "operation batches or announcements dropped: they come faster than they are "
                     "checked",
                     "dropped=%llu", (unsigned long long)s->ddropped);
        return;
    }
    *f = (dframe){NULL, c->id, frame, len, mono_ms()};
    if (!s->dhead)
        atomic_store(&s->dhead_at, f->at_ms);
    if (s->dtail)
        s->dtail->next = f;
    else
        s->dhead = f;
    s->dtail = f;
    s->dbytes += len;
    if (s->idle_init && !uv_is_active((uv_handle_t *)&s->idle))
        uv_idle_start(&s->idle, on_idle);
}

static void on_idle(uv_idle_t *h)
{
    netd *s = h->data;
    uint64_t start = uv_hrtime();
    while (s->dhead && !s->stopping && !s->core_failed &&
           uv_hrtime() - start < (uint64_t)NETD_DEFER_BUDGET_MS * 1000000) {
        dframe *f = s->dhead;
        s->dhead = f->next;
        if (!s->dhead)
            s->dtail = NULL;
        s->dbytes -= f->len;
        atomic_store(&s->dhead_at, s->dhead ? s->dhead->at_ms : 0);
        conn *c = conn_find(s, f->peer);
        weft_err e = WEFT_OK;
        if (c && c->state == CONN_OPEN && !c->flushing) /* else: gone, its frames with it */
            e = net_core_received(s->core, c->id, f->frame, f->len, now_ms(s));
        free(f->frame);
        free(f);
        if (e == WEFT_E_NOMEM) {
            core_fail(s, e);
            break;
        }
        if (e != WEFT_OK) {
            log_warn(MOD, "core refused a frame", "peer=%u err=%s", c->id, weft_err_name(e));
            conn_close(c, e);
        }
        pump(s);
    }
    if (s->stopping || s->core_failed)
        dframes_free(s);
    if (!s->dhead)
        uv_idle_stop(h);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = st->data;
    netd *s = c->s;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        log_debug(MOD, "connection ended by peer", "peer=%u err=%s", c->id,
                  uv_strerror((int)nread));
        conn_close(c, nread == UV_EOF ? WEFT_OK : WEFT_E_IO);
        return;
    }
    if (s->stopping || s->core_failed || c->state != CONN_OPEN || c->flushing)
        return;
    const uint8_t *p = c->rbuf;
    size_t left = (size_t)nread;
    while (left > 0 && c->state == CONN_OPEN && !c->flushing) {
        uint8_t *frame;
        size_t flen;
        int r = netd_reader_feed(&c->rd, &p, &left, &frame, &flen);
        if (r < 0) {
            bad_frame(c, (weft_err)r);
            return;
        }
        if (r == 0)
            break;
        if (net_frame_deferrable(frame, flen)) {
            defer(s, c, frame, flen);
            continue;
        }
        weft_err e = net_core_received(s->core, c->id, frame, flen, now_ms(s));
        free(frame);
        if (e != WEFT_OK) {
            if (e == WEFT_E_NOMEM) {
                core_fail(s, e);
                return;
            }
            log_warn(MOD, "core refused a frame", "peer=%u err=%s", c->id, weft_err_name(e));
            conn_close(c, e);
            return;
        }
        pump(s);
    }
}

/* Formats the remote address of a connected socket: ip (IPv4-mapped IPv6 as IPv4) and "ip:port" /
 * "[ip]:port". */
static int peer_address(conn *c, char ip[NET_ADDR_MAX], char addr[NET_ADDR_MAX])
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return rc;
    char host[INET6_ADDRSTRLEN];
    unsigned port;
    bool v6 = false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            uv_inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof host);
        else {
            uv_inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            v6 = true;
        }
    } else
        return UV_EAFNOSUPPORT;
    snprintf(ip, NET_ADDR_MAX, "%s", host);
    snprintf(addr, NET_ADDR_MAX, v6 ? "[%s]:%u" : "%s:%u", host, port);
    return 0;
}

/* The connection is up (either way): the core hears of it and reading starts. */
static void conn_up(conn *c)
{
    netd *s = c->s;
    uint8_t nonce[32];
    crypto_random(nonce, sizeof nonce);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    weft_err e = net_core_connected(s->core, c->id, c->outbound, c->addr, c->ip, nonce, now_ms(s));
    if (e != WEFT_OK) {
        if (e == WEFT_E_NOMEM)
            core_fail(s, e);
        else
            conn_close(c, e);
        return;
    }
    c->known = true;
    c->state = CONN_OPEN;
    log_info(MOD, "peer connected", "peer=%u addr=%s direction=%s", c->id, c->addr,
             c->outbound ? "out" : "in");
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        conn_close(c, WEFT_E_IO);
        return;
    }
    pump(s);
}

static void on_connect(uv_connect_t *req, int status)
{
    conn *c = req->data;
    netd *s = c->s;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (s->stopping || s->core_failed) {
        conn_close(c, WEFT_OK);
        return;
    }
    char ip[NET_ADDR_MAX], ra[NET_ADDR_MAX];
    if (status == 0)
        status = peer_address(c, ip, ra);
    if (status != 0) {
        log_debug(MOD, "dial failed", "addr=%s err=%s", c->addr, uv_strerror(status));
        net_core_dial_failed(s->core, c->addr, now_ms(s));
        conn_close(c, WEFT_OK);
        pump(s);
        return;
    }
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    conn_up(c);
}

static void dial_addr(netd *s, const char *addr, const struct sockaddr *sa)
{
    conn *c = conn_new(s, true);
    int rc = c ? 0 : UV_ENOMEM;
    if (c) {
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        c->state = CONN_DIALING;
        c->deadline = now_ms(s) + NETD_CONNECT_TIMEOUT_MS;
        c->connect.data = c;
        rc = uv_tcp_connect(&c->connect, &c->tcp, sa, on_connect);
        if (rc != 0)
            conn_close(c, WEFT_OK);
    }
    if (rc != 0) {
        log_debug(MOD, "dial failed", "addr=%s err=%s", addr, uv_strerror(rc));
        net_core_dial_failed(s->core, addr, now_ms(s));
    }
}

static void dial_unlink(netd *s, dial *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        s->dials = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    dial *d = req->data;
    netd *s = d->s;
    dial_unlink(s, d);
    if (!s->stopping && !s->core_failed) {
        if (status == 0 && res) {
            struct sockaddr_storage ss;
            memcpy(&ss, res->ai_addr, res->ai_addrlen);
            if (ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&ss)->sin_port = htons(d->port);
            else
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons(d->port);
            dial_addr(s, d->addr, (const struct sockaddr *)&ss);
        } else {
            log_debug(MOD, "cannot resolve peer address", "addr=%s err=%s", d->addr,
                      uv_strerror(status));
            net_core_dial_failed(s->core, d->addr, now_ms(s));
        }
        pump(s);
    }
    uv_freeaddrinfo(res);
    free(d);
}

/* Numeric address into *ss: 0, or a libuv error. */
static int numeric_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return UV_EINVAL;
}

static void start_dial(netd *s, const char *addr)
{
    char host[NET_ADDR_MAX];
    uint16_t port;
    struct sockaddr_storage ss;
    if (repo_addr_split(addr, host, sizeof host, &port) != WEFT_OK || port == 0) {
        log_debug(MOD, "not a peer address", "addr=%s", addr);
        net_core_dial_failed(s->core, addr, now_ms(s));
        return;
    }
    if (numeric_addr(host, port, &ss) == 0) {
        dial_addr(s, addr, (const struct sockaddr *)&ss);
        return;
    }
    dial *d = calloc(1, sizeof *d);
    if (!d) {
        net_core_dial_failed(s->core, addr, now_ms(s));
        return;
    }
    d->s = s;
    d->port = port;
    snprintf(d->addr, sizeof d->addr, "%s", addr);
    d->req.data = d;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(&s->loop, &d->req, on_resolved, host, NULL, &hints);
    if (rc != 0) {
        free(d);
        log_debug(MOD, "cannot resolve peer address", "addr=%s err=%s", addr, uv_strerror(rc));
        net_core_dial_failed(s->core, addr, now_ms(s));
        return;
    }
    d->next = s->dials;
    if (s->dials)
        s->dials->prev = d;
    s->dials = d;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *server, int status)
{
    netd *s = server->data;
    if (status < 0) {
        log_warn(MOD, "accept failed", "err=%s", uv_strerror(status));
        return;
    }
    if (s->stopping || s->core_failed)
        return;
    conn *c = conn_new(s, false);
    if (!c) {
        /* take the connection off the backlog and drop it */
        uv_tcp_t *t = malloc(sizeof *t);
        if (t && uv_tcp_init(&s->loop, t) == 0) {
            (void)uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, free_handle);
        } else
            free(t);
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || peer_address(c, c->ip, c->addr) != 0) {
        conn_close(c, WEFT_OK);
        return;
    }
    if (!net_core_accept_ok(s->core, c->ip, now_ms(s))) {
        log_debug(MOD, "inbound connection refused", "addr=%s", c->addr);
        conn_close(c, WEFT_OK);
        return;
    }
    conn_up(c);
}

/* ---- actions --------------------------------------------------------------------------------- */

static void act_send(netd *s, net_action *a)
{
    conn *c = conn_find(s, a->peer);
    if (!c || c->state != CONN_OPEN || c->flushing)
        return; /* the frame is freed with the action */
    weft_err e = netd_lanes_push(&c->lanes, a->lane, a->frame, a->len);
    if (e == WEFT_OK) {
        a->frame = NULL;
        conn_kick(c);
        return;
    }
    if (e == WEFT_E_NET_LIMIT)
        log_warn(MOD, "peer does not read: closing", "peer=%u addr=%s queued=%zu", c->id, c->addr,
                 netd_lanes_queued(&c->lanes));
    conn_close(c, e);
}

static void act_close(netd *s, const net_action *a)
{
    conn *c = conn_find(s, a->peer);
    if (!c || c->state == CONN_CLOSING)
        return;
    c->reason = a->reason;
    c->banned = a->banned;
    if (a->banned)
        log_warn(MOD, "peer banned", "peer=%u addr=%s reason=%s", c->id, c->addr,
                 weft_err_name(a->reason));
    if (c->state != CONN_OPEN || netd_lanes_queued(&c->lanes) > NETD_CLOSE_FLUSH_MAX) {
        conn_close(c, a->reason);
        return;
    }
    c->flushing = true;
    c->deadline = now_ms(s) + NETD_FLUSH_TIMEOUT_MS;
    uv_read_stop((uv_stream_t *)&c->tcp);
    conn_kick(c); /* closes at once when nothing is queued */
}

/* Executes every action the core has queued. */
static void pump(netd *s)
{
    if (s->stopping || s->core_failed)
        return;
    net_action a[32];
    size_t n;
    while ((n = net_core_take_actions(s->core, a, WEFT_ARRAY_LEN(a))) > 0) {
        for (size_t i = 0; i < n; i++) {
            switch (a[i].kind) {
            case NET_ACT_SEND:
                act_send(s, &a[i]);
                break;
            case NET_ACT_CLOSE:
                act_close(s, &a[i]);
                break;
            case NET_ACT_DIAL:
                start_dial(s, a[i].addr);
                break;
            }
        }
        net_actions_free(a, n);
        if (s->stopping || s->core_failed)
            return;
    }
}

/* ---- loop: tick, wake, requests, shutdown ---------------------------------------------------- */

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closes the connections, the listener and the timer (the async handle stays). */
static void close_network(netd *s)
{
    if (s->listening) {
        close_handle((uv_handle_t *)&s->listener);
        s->listening = false;
    }
    if (s->timer_init)
        close_handle((uv_handle_t *)&s->timer);
    if (s->idle_init)
        close_handle((uv_handle_t *)&s->idle);
    dframes_free(s);
    for (conn *c = s->conns; c; c = c->next)
        conn_close(c, WEFT_OK);
    for (dial *d = s->dials; d; d = d->next)
        uv_cancel((uv_req_t *)&d->req);
}

static void core_fail(netd *s, weft_err e)
{
    if (s->core_failed)
        return;
    log_error(MOD, "the network core failed: the network stops (the node keeps running)", "err=%s",
              weft_err_name(e));
    s->core_failed = true;
    close_network(s);
}

static void on_tick(uv_timer_t *t)
{
    netd *s = t->data;
    if (s->stopping || s->core_failed)
        return;
    uint64_t now = now_ms(s);
    for (conn *c = s->conns; c; c = c->next) {
        if (c->state == CONN_DIALING && now >= c->deadline) {
            log_debug(MOD, "dial timed out", "addr=%s", c->addr);
            conn_close(c, WEFT_E_NET_TIMEOUT);
            net_core_dial_failed(s->core, c->addr, now);
        } else if (c->flushing && c->state != CONN_CLOSING && now >= c->deadline)
            conn_close(c, c->reason);
    }
    weft_err e = netd_evq_drain(s->evq, s->core, now);
    if (e == WEFT_OK)
        e = net_core_tick(s->core, now);
    if (e != WEFT_OK) {
        core_fail(s, e);
        return;
    }
    pump(s);
}

static void answer(netd *s, netd_req *r)
{
    net_core *core = s->core;
    uint64_t now = now_ms(s);
    r->e = WEFT_OK;
    if (s->core_failed) {
        r->e = WEFT_E_ACTOR_STOPPED;
        return;
    }
    switch (r->kind) {
    case REQ_PEERS: {
        size_t n = net_core_peers(core, NULL, 0);
        r->peers = calloc(n ? n : 1, sizeof *r->peers);
        if (!r->peers) {
            r->e = WEFT_E_NOMEM;
            break;
        }
        r->n = net_core_peers(core, r->peers, n);
        if (r->n > n)
            r->n = n;
        break;
    }
    case REQ_STATS:
        net_core_stats(core, r->stats);
        break;
    case REQ_BAN_ID:
        r->e = net_core_ban_id(core, r->id, now);
        break;
    case REQ_BAN_IP:
        r->e = net_core_ban_ip(core, r->ip, now);
        break;
    case REQ_UNBAN_ID:
        r->e = net_core_unban_id(core, r->id);
        break;
    case REQ_UNBAN_IP:
        r->e = net_core_unban_ip(core, r->ip);
        break;
    case REQ_WL_ADD:
        r->e = net_core_whitelist_add(core, r->ip);
        break;
    case REQ_WL_REMOVE:
        r->e = net_core_whitelist_remove(core, r->ip);
        break;
    case REQ_WL_LIST: {
        size_t n = net_core_whitelist(core, NULL, 0);
        r->wl = calloc(n ? n : 1, sizeof *r->wl);
        if (!r->wl) {
            r->e = WEFT_E_NOMEM;
            break;
        }
        r->n = net_core_whitelist(core, r->wl, n);
        if (r->n > n)
            r->n = n;
        break;
    }
    }
    if (r->e == WEFT_OK && (r->kind == REQ_BAN_ID || r->kind == REQ_BAN_IP)) {
        char who[MODEL_STR_MAX];
        if (r->kind == REQ_BAN_ID)
            node_id_to_str(who, r->id);
        else
            snprintf(who, sizeof who, "%s", r->ip);
        log_info(MOD, "manual ban", "peer=%s", who);
    }
    if (r->e == WEFT_E_NOMEM && r->kind != REQ_PEERS && r->kind != REQ_WL_LIST)
        core_fail(s, r->e);
    else
        pump(s);
}

static void finish_reqs(netd *s, netd_req *list, bool run)
{
    while (list) {
        netd_req *next = list->next;
        if (run)
            answer(s, list);
        else
            list->e = WEFT_E_ACTOR_STOPPED;
        pthread_mutex_lock(&s->mu);
        list->done = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        list = next;
    }
}

static void shutdown_loop(netd *s)
{
    s->stopping = true;
    close_network(s);
    pthread_mutex_lock(&s->mu);
    s->async_live = false;
    s->accepting = false;
    netd_req *left = s->reqs;
    s->reqs = s->reqs_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    finish_reqs(s, left, false);
    close_handle((uv_handle_t *)&s->async);
}

static void on_async(uv_async_t *a)
{
    netd *s = a->data;
    pthread_mutex_lock(&s->mu);
    netd_req *list = s->reqs;
    s->reqs = s->reqs_tail = NULL;
    bool stop = s->stop_asked;
    pthread_mutex_unlock(&s->mu);
    if (stop) {
        finish_reqs(s, list, false);
        shutdown_loop(s);
        return;
    }
    if (!s->core) { /* not started: events wait in the queue */
        finish_reqs(s, list, false);
        return;
    }
    finish_reqs(s, list, true);
    if (s->core_failed)
        return;
    weft_err e = netd_evq_drain(s->evq, s->core, now_ms(s));
    if (e != WEFT_OK) {
        core_fail(s, e);
        return;
    }
    pump(s);
}

static void *loop_main(void *arg)
{
    netd *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- public ---------------------------------------------------------------------------------- */

static char *dup_str(const char *t)
{
    size_t n = strlen(t) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, t, n);
    return d;
}

weft_err netd_new(netd **out, const netd_options *o)
{
    *out = NULL;
    netd *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    s->cfg = o->core;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    weft_err e = WEFT_OK;
    if (o->listen && !(s->listen = dup_str(o->listen)))
        e = WEFT_E_NOMEM;
    if (!e && o->n_bootstrap) {
        s->bootstrap = calloc(o->n_bootstrap, sizeof *s->bootstrap);
        if (!s->bootstrap)
            e = WEFT_E_NOMEM;
        for (size_t i = 0; !e && i < o->n_bootstrap; i++) {
            if (!(s->bootstrap[i] = dup_str(o->bootstrap[i])))
                e = WEFT_E_NOMEM;
            s->n_bootstrap = i + 1;
        }
    }
    if (!e && uv_loop_init(&s->loop) != 0)
        e = WEFT_E_NOMEM;
    else if (!e) {
        s->loop_init = true;
        if (uv_async_init(&s->loop, &s->async, on_async) != 0)
            e = WEFT_E_NOMEM;
        else {
            s->async.data = s;
            s->async_live = true;
        }
    }
    if (!e)
        e = netd_evq_new(&s->evq, wake, s);
    if (e) {
        netd_free(s);
        return e;
    }
    *out = s;
    return WEFT_OK;
}

const node_net_events *netd_events(netd *s) { return netd_evq_events(s->evq); }

uint16_t netd_port(const netd *s) { return s->port; }

/* Binds the listener; E_IO with the reason in err. */
static weft_err bind_listener(netd *s, char *err, size_t errcap)
{
    char host[NET_ADDR_MAX];
    uint16_t port;
    if (repo_addr_split(s->listen, host, sizeof host, &port) != WEFT_OK) {
        snprintf(err, errcap, "p2p listen address '%s' is not host:port", s->listen);
        return WEFT_E_IO;
    }
    struct sockaddr_storage ss;
    if (numeric_addr(host, port, &ss) != 0) {
        uv_getaddrinfo_t req;
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        int rc = uv_getaddrinfo(&s->loop, &req, NULL, host, NULL, &hints);
        if (rc != 0 || !req.addrinfo) {
            snprintf(err, errcap, "cannot resolve p2p listen host '%s': %s", host,
                     uv_strerror(rc ? rc : UV_EAI_NONAME));
            return WEFT_E_IO;
        }
        memcpy(&ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
        uv_freeaddrinfo(req.addrinfo);
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    }
    int rc = uv_tcp_init(&s->loop, &s->listener);
    if (rc != 0) {
        snprintf(err, errcap, "p2p listener: %s", uv_strerror(rc));
        return WEFT_E_IO;
    }
    s->listener.data = s;
    s->listening = true;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rc == 0) {
        int len = sizeof ss;
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    }
    if (rc != 0) {
        snprintf(err, errcap, "cannot listen on %s: %s", s->listen, uv_strerror(rc));
        return WEFT_E_IO;
    }
    s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return WEFT_OK;
}

weft_err netd_start_chain(netd *s, const net_chain_vt *vt, void *chain_ctx, char *err,
                          size_t errcap)
{
    WEFT_MISUSE(!s->core && !s->thread_started);
    if (errcap)
        err[0] = 0;
    weft_err e = WEFT_OK;
    if (s->listen && (e = bind_listener(s, err, errcap)) != WEFT_OK)
        return e;
    s->cfg.listen_port = s->port;
    for (size_t i = 0; i < s->n_bootstrap; i++)
        if (!net_addr_valid(s->bootstrap[i]))
            log_warn(MOD, "bootstrap address ignored (host:port with a port 1..65535 expected)",
                     "addr=%s", s->bootstrap[i]);
    e = net_core_new(&s->core, &s->cfg, vt, chain_ctx, (const char *const *)s->bootstrap,
                     s->n_bootstrap);
    if (e != WEFT_OK) {
        snprintf(err, errcap, "network core: %s", weft_strerror(e));
        return e;
    }
    if (uv_timer_init(&s->loop, &s->timer) != 0 ||
        uv_timer_start(&s->timer, on_tick, NETD_TICK_MS, NETD_TICK_MS) != 0) {
        snprintf(err, errcap, "network timer");
        return WEFT_E_NOMEM;
    }
    s->timer_init = true;
    s->timer.data = s;
    if (uv_idle_init(&s->loop, &s->idle) != 0) {
        snprintf(err, errcap, "network idle handle");
        return WEFT_E_NOMEM;
    }
    s->idle_init = true;
    s->idle.data = s;
    pthread_mutex_lock(&s->mu);
    s->accepting = true;
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        pthread_mutex_lock(&s->mu);
        s->accepting = false;
        pthread_mutex_unlock(&s->mu);
        snprintf(err, errcap, "cannot start the network thread");
        return WEFT_E_NOMEM;
    }
    s->thread_started = true;
    if (s->port)
        log_info(MOD, "listening", "addr=%s port=%u", s->listen, s->port);
    wake(s); /* events queued before the start */
    return WEFT_OK;
}

weft_err netd_start(netd *s, node_t *node, char *err, size_t errcap)
{
    return netd_start_chain(s, &netd_node_chain_vt, node, err, errcap);
}

void netd_stop(netd *s)
{
    if (!s || !s->thread_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop_asked = true;
    if (s->async_live)
        uv_async_send(&s->async);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->thread_started = false;
    net_core_free(s->core);
    s->core = NULL;
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    close_handle(h);
}

void netd_free(netd *s)
{
    if (!s)
        return;
    netd_stop(s);
    if (s->loop_init) {
        /* never started, or start failed: close what was opened (the loop is not running) */
        pthread_mutex_lock(&s->mu);
        s->async_live = false;
        pthread_mutex_unlock(&s->mu);
        s->stopping = true;
        uv_walk(&s->loop, walk_close, NULL);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&s->loop) != 0)
            log_warn(MOD, "event loop not empty at close", NULL);
    }
    dframes_free(s);
    net_core_free(s->core);
    netd_evq_free(s->evq);
    free(s->listen);
    for (size_t i = 0; i < s->n_bootstrap; i++)
        free(s->bootstrap[i]);
    free(s->bootstrap);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    crypto_wipe(&s->cfg.node_key, sizeof s->cfg.node_key);
    free(s);
}

/* ---- thread-safe queries --------------------------------------------------------------------- */

static weft_err call(netd *s, netd_req *r)
{
    pthread_mutex_lock(&s->mu);
    if (!s->accepting || !s->async_live) {
        pthread_mutex_unlock(&s->mu);
        return WEFT_E_ACTOR_STOPPED;
    }
    r->next = NULL;
    if (s->reqs_tail)
        s->reqs_tail->next = r;
    else
        s->reqs = r;
    s->reqs_tail = r;
    uv_async_send(&s->async);
    while (!r->done)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return r->e;
}

weft_err netd_peers(netd *s, net_peer_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    netd_req r = {.kind = REQ_PEERS};
    weft_err e = call(s, &r);
    if (e != WEFT_OK) {
        free(r.peers);
        return e;
    }
    *out = r.peers;
    *n = r.n;
    return WEFT_OK;
}

weft_err netd_stats(netd *s, net_stats *out)
{
    memset(out, 0, sizeof *out);
    netd_req r = {.kind = REQ_STATS, .stats = out};
    return call(s, &r);
}

weft_err netd_ban_id(netd *s, const pubkey_t *id)
{
    netd_req r = {.kind = REQ_BAN_ID, .id = id};
    return call(s, &r);
}

weft_err netd_ban_ip(netd *s, const char *ip)
{
    netd_req r = {.kind = REQ_BAN_IP, .ip = ip};
    return call(s, &r);
}

weft_err netd_unban_id(netd *s, const pubkey_t *id)
{
    netd_req r = {.kind = REQ_UNBAN_ID, .id = id};
    return call(s, &r);
}

weft_err netd_unban_ip(netd *s, const char *ip)
{
    netd_req r = {.kind = REQ_UNBAN_IP, .ip = ip};
    return call(s, &r);
}

weft_err netd_whitelist_add(netd *s, const char *ip)
{
    netd_req r = {.kind = REQ_WL_ADD, .ip = ip};
    return call(s, &r);
}

weft_err netd_whitelist_remove(netd *s, const char *ip)
{
    netd_req r = {.kind = REQ_WL_REMOVE, .ip = ip};
    return call(s, &r);
}

weft_err netd_whitelist(netd *s, char (**out)[NET_ADDR_MAX], size_t *n)
{
    *out = NULL;
    *n = 0;
    netd_req r = {.kind = REQ_WL_LIST};
    weft_err e = call(s, &r);
    if (e != WEFT_OK) {
        free(r.wl);
        return e;
    }
    *out = r.wl;
    *n = r.n;
    return WEFT_OK;
}
