/* Unit tests of the network shell (src/netd/service.c).
 *
 *   - the framing reader: frames split at every boundary come out whole; a length prefix above
 *     the limit is refused before anything is allocated; an empty frame is refused;
 *   - the lanes: every queued CONTROL frame is written before any BULK frame, one batch in flight
 *     at a time, bulk batches bounded in bytes, queued bytes bounded;
 *   - two services over loopback TCP with fake chains (netd_start_chain): they connect and
 *     complete the handshake (peers, stats, directions, node ids); a raw TCP client sending an
 *     oversized length prefix or an unknown message is disconnected while the real peer stays; a
 *     manual ban by node id drops the peer and unban lifts it; the whitelist; queries after the
 *     stop answer E_ACTOR_STOPPED; an operation admitted at one is announced, asked and its
 *     batch (handed to the core once the loop is idle) reaches the other's chain. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "netd/netd.h"
#include "netd/netd_internal.h"
#include "testutil.h"

/* ---- framing ------------------------------------------------------------------------------- */

static void put_frame(uint8_t *out, uint8_t type, const uint8_t *body, uint32_t blen)
{
    uint32_t l = blen + 1; /* the length counts the type byte */
    out[0] = (uint8_t)(l >> 24);
    out[1] = (uint8_t)(l >> 16);
    out[2] = (uint8_t)(l >> 8);
    out[3] = (uint8_t)l;
    out[4] = type;
    memcpy(out + 5, body, blen);
}

static void test_reader_split(void **state)
{
    (void)state;
    test_rng rng;
    test_rng_init(&rng, test_seed());
    /* three frames back to back: bodies of 0, 1 and 70,000 bytes */
    const uint32_t sizes[3] = {0, 1, 70000};
    size_t total = 0;
    for (int i = 0; i < 3; i++)
        total += 5 + sizes[i];
    uint8_t *stream = malloc(total), *body = malloc(70000);
    assert_non_null(stream);
    assert_non_null(body);
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        test_rng_bytes(&rng, body, sizes[i]);
        put_frame(stream + off, (uint8_t)(10 + i), body, sizes[i]);
        off += 5 + sizes[i];
    }
    /* chunkings: byte by byte, random cuts, all at once */
    for (int mode = 0; mode < 3; mode++) {
        netd_reader r;
        netd_reader_init(&r, NET_MAX_FRAME);
        size_t pos = 0, got = 0, expect_off = 0;
        while (pos < total) {
            size_t n = mode == 0 ? 1 : mode == 1 ? 1 + test_rng_below(&rng, 9000) : total;
            if (n > total - pos)
                n = total - pos;
            const uint8_t *p = stream + pos;
            size_t left = n;
            while (left > 0) {
                uint8_t *f;
                size_t fl;
                int rc = netd_reader_feed(&r, &p, &left, &f, &fl);
                assert_true(rc == 0 || rc == 1);
                if (rc == 1) {
                    assert_true(got < 3);
                    assert_int_equal(fl, 5 + sizes[got]);
                    assert_memory_equal(f, stream + expect_off, fl);
                    expect_off += fl;
                    got++;
                    free(f);
                } else
                    assert_int_equal(left, 0);
            }
            pos += n;
        }
        assert_int_equal(got, 3);
        assert_null(r.frame); /* nothing half-read */
        netd_reader_free(&r);
    }
    free(stream);
    free(body);
}

static void test_reader_limits(void **state)
{
    (void)state;
    netd_reader r;
    uint8_t hdr[5];
    const uint8_t *p;
    size_t left;
    uint8_t *f;
    size_t fl;
    /* a body one byte above the limit: refused on the header, nothing allocated */
    netd_reader_init(&r, 1000);
    uint32_t l = 1000 + 2;
    hdr[0] = (uint8_t)(l >> 24), hdr[1] = (uint8_t)(l >> 16), hdr[2] = (uint8_t)(l >> 8),
    hdr[3] = (uint8_t)l, hdr[4] = 1;
    p = hdr;
    left = 5;
    assert_int_equal(netd_reader_feed(&r, &p, &left, &f, &fl), WEFT_E_NET_LIMIT);
    assert_null(r.frame);
    assert_null(f);
    netd_reader_free(&r);
    /* 4 GiB announced: the same */
    netd_reader_init(&r, NET_MAX_FRAME);
    memset(hdr, 0xFF, sizeof hdr);
    p = hdr;
    left = 5;
    assert_int_equal(netd_reader_feed(&r, &p, &left, &f, &fl), WEFT_E_NET_LIMIT);
    assert_null(r.frame);
    netd_reader_free(&r);
    /* an empty frame (length 0: not even a type byte) */
    netd_reader_init(&r, 1000);
    memset(hdr, 0, sizeof hdr);
    p = hdr;
    left = 5;
    assert_int_equal(netd_reader_feed(&r, &p, &left, &f, &fl), WEFT_E_NET_MESSAGE);
    netd_reader_free(&r);
    /* exactly at the limit: accepted */
    netd_reader_init(&r, 1000);
    uint8_t *big = calloc(1, 5 + 1000);
    assert_non_null(big);
    put_frame(big, 7, big + 5, 1000);
    p = big;
    left = 5 + 1000;
    assert_int_equal(netd_reader_feed(&r, &p, &left, &f, &fl), 1);
    assert_int_equal(fl, 1005);
    free(f);
    free(big);
    netd_reader_free(&r);
}

/* ---- lanes --------------------------------------------------------------------------------- */

static uint8_t *frame_of(size_t len, uint8_t tag)
{
    uint8_t *f = malloc(len);
    assert_non_null(f);
    memset(f, tag, len);
    return f;
}

static void push(netd_lanes *l, net_lane lane, size_t len, uint8_t tag)
{
    uint8_t *f = frame_of(len, tag);
    assert_int_equal(netd_lanes_push(l, lane, f, len), WEFT_OK);
}

static void test_lanes_priority(void **state)
{
    (void)state;
    netd_lanes l;
    netd_lanes_init(&l, NETD_MAX_QUEUED);
    const uint8_t *bufs[NETD_BATCH_MAX];
    size_t lens[NETD_BATCH_MAX];
    net_lane lane;
    push(&l, NET_LANE_BULK, 100, 'b');
    push(&l, NET_LANE_BULK, 100, 'B');
    push(&l, NET_LANE_CONTROL, 10, 'c');
    push(&l, NET_LANE_CONTROL, 10, 'C');
    assert_int_equal(netd_lanes_queued(&l), 220);
    /* the control frames first, together, in order */
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 2);
    assert_int_equal(lane, NET_LANE_CONTROL);
    assert_int_equal(bufs[0][0], 'c');
    assert_int_equal(bufs[1][0], 'C');
    /* one batch in flight at a time */
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 0);
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_queued(&l), 200);
    /* then the bulk frames */
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 2);
    assert_int_equal(lane, NET_LANE_BULK);
    assert_int_equal(bufs[0][0], 'b');
    /* a control frame queued while bulk is in flight goes before the next bulk frame */
    push(&l, NET_LANE_BULK, 100, 'x');
    push(&l, NET_LANE_CONTROL, 10, 'k');
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(lane, NET_LANE_CONTROL);
    assert_int_equal(bufs[0][0], 'k');
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(bufs[0][0], 'x');
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 0);
    assert_int_equal(netd_lanes_queued(&l), 0);
    /* bulk batches are bounded in bytes (a large frame goes alone) */
    push(&l, NET_LANE_BULK, NETD_BULK_BATCH_BYTES - 10, '1');
    push(&l, NET_LANE_BULK, 100, '2');
    push(&l, NET_LANE_BULK, NETD_BULK_BATCH_BYTES * 2, '3');
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(bufs[0][0], '1');
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(bufs[0][0], '2');
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(lens[0], NETD_BULK_BATCH_BYTES * 2);
    /* freeing with a batch in flight and frames queued frees everything (ASan checks) */
    push(&l, NET_LANE_CONTROL, 10, 'z');
    netd_lanes_free(&l);
    assert_int_equal(netd_lanes_queued(&l), 0);
}

static void test_lanes_bound(void **state)
{
    (void)state;
    netd_lanes l;
    netd_lanes_init(&l, 1000);
    const uint8_t *bufs[NETD_BATCH_MAX];
    size_t lens[NETD_BATCH_MAX];
    net_lane lane;
    push(&l, NET_LANE_BULK, 600, 'a');
    uint8_t *f = frame_of(500, 'b');
    /* 1,100 bytes would be queued: refused, the frame stays the caller's */
    assert_int_equal(netd_lanes_push(&l, NET_LANE_CONTROL, f, 500), WEFT_E_NET_LIMIT);
    /* in flight still counts */
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 1);
    assert_int_equal(netd_lanes_push(&l, NET_LANE_CONTROL, f, 500), WEFT_E_NET_LIMIT);
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_push(&l, NET_LANE_CONTROL, f, 500), WEFT_OK);
    assert_int_equal(netd_lanes_queued(&l), 500);
    /* many control frames: one batch takes at most NETD_BATCH_MAX */
    netd_lanes_free(&l);
    netd_lanes_init(&l, 1 << 20);
    for (int i = 0; i < NETD_BATCH_MAX + 5; i++)
        push(&l, NET_LANE_CONTROL, 1, (uint8_t)i);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), NETD_BATCH_MAX);
    netd_lanes_done(&l);
    assert_int_equal(netd_lanes_next(&l, bufs, lens, NETD_BATCH_MAX, &lane), 5);
    assert_int_equal(bufs[0][0], NETD_BATCH_MAX);
    netd_lanes_done(&l);
    netd_lanes_free(&l);
}

/* ---- two services over loopback ------------------------------------------------------------ */

#define T 4
#define CHAIN_ID 4242

/* A chain that has every block and nothing to send: enough for handshakes and hellos. */
static weft_err fc_status(void *ctx, net_chain_status *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    out->thread_count = T;
    return WEFT_OK;
}
static bool fc_has_block(void *ctx, const block_id_t *id) { return true; }
static weft_err fc_get_block(void *ctx, const block_id_t *id, bool with_ops, net_block *out)
{
    memset(out, 0, sizeof *out);
    return WEFT_E_NOT_FOUND;
}
static weft_err fc_get_ops(void *ctx, const op_id_t *ids, size_t n, uint8_t **ops, size_t *lens)
{
    for (size_t i = 0; i < n; i++) {
        ops[i] = NULL;
        lens[i] = 0;
    }
    return WEFT_OK;
}
static weft_err fc_submit_block(void *ctx, const block_header_t *h, signed_op_t *ops,
                                uint32_t count, weft_err *verdict)
{
    free(ops);
    *verdict = WEFT_OK;
    return WEFT_OK;
}
static weft_err fc_submit_ops(void *ctx, signed_op_t **ops, size_t n, weft_err *results)
{
    for (size_t i = 0; i < n; i++) {
        free(ops[i]);
        results[i] = WEFT_OK;
    }
    free(ops);
    return WEFT_OK;
}
static weft_err fc_submit_endorsements(void *ctx, const endorsement_t *e, size_t n,
                                       weft_err *results)
{
    for (size_t i = 0; i < n; i++)
        results[i] = WEFT_OK;
    return WEFT_OK;
}
static weft_err fc_final_range(void *ctx, slot_t after, size_t max, block_id_t **ids,
                               slot_t **slots, size_t *count, bool *more)
{
    *ids = NULL;
    *slots = NULL;
    *count = 0;
    *more = false;
    return WEFT_OK;
}
static const net_chain_vt fake_chain = {
    .status = fc_status,
    .has_block = fc_has_block,
    .get_block = fc_get_block,
    .get_ops = fc_get_ops,
    .submit_block = fc_submit_block,
    .submit_ops = fc_submit_ops,
    .submit_endorsements = fc_submit_endorsements,
    .final_range = fc_final_range,
};

static netd *service_over(uint8_t seed_byte, uint64_t chain_id, const char *boot, keypair_t *kp,
                          const net_chain_vt *vt, void *ctx)
{
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    keypair_from_seed(kp, seed);
    netd_options o;
    memset(&o, 0, sizeof o);
    net_config_default(&o.core);
    o.core.chain_id = chain_id;
    memset(&o.core.genesis_id, 0x47, sizeof o.core.genesis_id);
    o.core.thread_count = T;
    o.core.node_key = *kp;
    o.core.max_per_ip = 16;
    o.core.dial_backoff_min_ms = 100;
    o.core.dial_backoff_max_ms = 400;
    o.listen = "127.0.0.1:0";
    o.bootstrap = &boot;
    o.n_bootstrap = boot ? 1 : 0;
    netd *s = NULL;
    assert_int_equal(netd_new(&s, &o), WEFT_OK);
    char err[256];
    weft_err e = netd_start_chain(s, vt, ctx, err, sizeof err);
    if (e)
        fail_msg("netd_start_chain: %s: %s", weft_err_name(e), err);
    assert_true(netd_port(s) > 0);
    return s;
}

static netd *service(uint8_t seed_byte, uint64_t chain_id, const char *boot, keypair_t *kp)
{
    return service_over(seed_byte, chain_id, boot, kp, &fake_chain, NULL);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ready peers of s, and whether one of them has node id `id` (NULL: any). */
static size_t ready_peers(netd *s, const pubkey_t *id, bool *outbound)
{
    net_peer_info *p = NULL;
    size_t n = 0, ready = 0;
    assert_int_equal(netd_peers(s, &p, &n), WEFT_OK);
    for (size_t i = 0; i < n; i++)
        if (p[i].ready && (!id || memcmp(&p[i].node_id, id, sizeof *id) == 0)) {
            ready++;
            if (outbound)
                *outbound = p[i].outbound;
        }
    free(p);
    return ready;
}

/* Waits (a liveness bound, not a timing assertion) until s has `want` ready peers with id. */
static void wait_ready(netd *s, const pubkey_t *id, size_t want, const char *what)
{
    uint64_t end = mono_ms() + 20000;
    while (ready_peers(s, id, NULL) != want) {
        if (mono_ms() > end)
            fail_msg("timed out waiting for %s", what);
        usleep(20000);
    }
}

/* A raw TCP client: sends bytes, then reads until the service closes the connection.  Returns
 * true if it was closed (EOF or reset) within the bound. */
static bool raw_client_closed(uint16_t port, const uint8_t *bytes, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
    bool closed = false;
    uint8_t buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0)
            continue; /* the service's handshake */
        closed = r == 0 || errno == ECONNRESET;
        break;
    }
    close(fd);
    return closed;
}

static void test_loopback(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    keypair_t ka, kb, kc;
    netd *a = service(1, CHAIN_ID, NULL, &ka);
    char boot[64];
    snprintf(boot, sizeof boot, "127.0.0.1:%u", netd_port(a));
    netd *b = service(2, CHAIN_ID, boot, &kb);

    /* b dials a (bootstrap); both complete the handshake */
    wait_ready(a, &kb.pk, 1, "a sees b");
    wait_ready(b, &ka.pk, 1, "b sees a");
    bool out = true;
    assert_int_equal(ready_peers(a, &kb.pk, &out), 1);
    assert_false(out); /* inbound at a */
    assert_int_equal(ready_peers(b, &ka.pk, &out), 1);
    assert_true(out); /* outbound at b */
    net_stats st;
    assert_int_equal(netd_stats(a, &st), WEFT_OK);
    assert_true(st.peers_ready >= 1);
    assert_true(st.frames_in > 0 && st.bytes_in > 0);

    /* a node of another chain exchanges frames with a (handshake, refusal) but never becomes a
     * ready peer */
    netd *c = service(3, CHAIN_ID + 1, boot, &kc);
    uint64_t end = mono_ms() + 20000;
    for (;;) {
        assert_int_equal(netd_stats(c, &st), WEFT_OK);
        if (st.frames_in > 0)
            break;
        if (mono_ms() > end)
            fail_msg("timed out waiting for c to reach a");
        usleep(20000);
    }

    /* garbage: a 4 GiB length prefix, then an unknown message type; each connection is closed,
     * and a keeps its real peer */
    uint8_t huge[5] = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_true(raw_client_closed(netd_port(a), huge, sizeof huge));
    uint8_t junk[7] = {0, 0, 0, 3, 0xEE, 0x12, 0x34};
    assert_true(raw_client_closed(netd_port(a), junk, sizeof junk));
    assert_int_equal(ready_peers(a, &kb.pk, NULL), 1);
    assert_int_equal(ready_peers(a, &kc.pk, NULL), 0);
    assert_int_equal(ready_peers(c, NULL, NULL), 0);

    /* a manual ban by node id drops b; unban lifts it and b comes back */
    assert_int_equal(netd_ban_id(a, &kb.pk), WEFT_OK);
    wait_ready(a, &kb.pk, 0, "b banned at a");
    assert_int_equal(netd_unban_id(a, &kb.pk), WEFT_OK);
    assert_int_equal(netd_unban_id(a, &kb.pk), WEFT_E_NOT_FOUND);
    wait_ready(a, &kb.pk, 1, "b back at a after the unban");

    /* whitelist */
    assert_int_equal(netd_whitelist_add(a, "10.1.2.3"), WEFT_OK);
    char(*wl)[NET_ADDR_MAX] = NULL;
    size_t n = 0;
    assert_int_equal(netd_whitelist(a, &wl, &n), WEFT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(wl[0], "10.1.2.3");
    free(wl);
    assert_int_equal(netd_whitelist_remove(a, "10.1.2.3"), WEFT_OK);
    assert_int_equal(netd_whitelist(a, &wl, &n), WEFT_OK);
    assert_int_equal(n, 0);
    free(wl);

    /* stop: a's peer b sees the disconnect; queries after the stop are refused */
    netd_stop(a);
    wait_ready(b, &ka.pk, 0, "b sees a gone");
    net_peer_info *pi = NULL;
    assert_int_equal(netd_peers(a, &pi, &n), WEFT_E_ACTOR_STOPPED);
    assert_null(pi);
    assert_int_equal(netd_stats(a, &st), WEFT_E_ACTOR_STOPPED);
    netd_stop(a); /* twice: nothing */
    netd_stop(b);
    netd_stop(c);
    netd_free(a);
    netd_free(b);
    netd_free(c);
    keypair_wipe(&ka);
    keypair_wipe(&kb);
    keypair_wipe(&kc);
}

/* ---- operation batches ---------------------------------------------------------------------- */

/* A chain holding one operation (get_ops) and counting the ones submitted to it. */
typedef struct op_chain {
    uint8_t *op;
    size_t len;
    op_id_t id;
    pthread_mutex_t mu;
    size_t got; /* submissions of that operation */
} op_chain;

static weft_err oc_get_ops(void *ctx, const op_id_t *ids, size_t n, uint8_t **ops, size_t *lens)
{
    op_chain *c = ctx;
    for (size_t i = 0; i < n; i++) {
        ops[i] = NULL;
        lens[i] = 0;
        if (c->op && memcmp(&ids[i], &c->id, sizeof c->id) == 0) {
            ops[i] = malloc(c->len);
            assert_non_null(ops[i]);
            memcpy(ops[i], c->op, c->len);
            lens[i] = c->len;
        }
    }
    return WEFT_OK;
}

static weft_err oc_submit_ops(void *ctx, signed_op_t **ops, size_t n, weft_err *results)
{
    op_chain *c = ctx;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&c->mu);
        c->got += memcmp(&ops[i]->id, &c->id, sizeof c->id) == 0;
        pthread_mutex_unlock(&c->mu);
        results[i] = signed_op_verify(ops[i]);
        signed_op_free(ops[i]);
        free(ops[i]);
    }
    free(ops);
    return WEFT_OK;
}

static size_t oc_got(op_chain *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->got;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* An operation admitted at a is announced to b, asked, and its batch (OPS, which the shell hands
 * the core once the loop is idle) reaches b's chain. */
static void test_ops_batches(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    /* only operation batches and announcements wait for the idle loop */
    uint8_t f[6] = {0, 0, 0, 2, 34, 0}; /* OPS */
    assert_true(net_frame_deferrable(f, sizeof f));
    f[4] = 32; /* OP_ANNOUNCE */
    assert_true(net_frame_deferrable(f, sizeof f));
    f[4] = 33; /* OP_ASK */
    assert_false(net_frame_deferrable(f, sizeof f));
    f[4] = 17; /* HEADER */
    assert_false(net_frame_deferrable(f, sizeof f));
    f[4] = 34;
    assert_false(net_frame_deferrable(f, 4));
    assert_false(net_frame_deferrable(NULL, 0));

    net_chain_vt vt = fake_chain;
    vt.get_ops = oc_get_ops;
    vt.submit_ops = oc_submit_ops;
    op_chain ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    pthread_mutex_init(&ca.mu, NULL);
    pthread_mutex_init(&cb.mu, NULL);
    keypair_t ka, kb, creator;
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    keypair_from_seed(&creator, seed);
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(1000);
    op.expire_period = 1000000;
    op.type = OP_TRANSACTION;
    address_of_pubkey(&op.u.transaction.recipient, &creator.pk);
    op.u.transaction.amount = amount_from_nano(5);
    wr_t w;
    wr_init(&w);
    op_encode(&w, &op);
    hash32_t d;
    op_digest(&d, CHAIN_ID, &creator.pk, w.buf, w.len);
    signature_t sig;
    model_sign_digest(&sig, &creator, &d);
    signed_op_t so;
    assert_int_equal(signed_op_from_parts(&so, CHAIN_ID, &creator.pk, &sig, w.buf, w.len), WEFT_OK);
    wr_free(&w);
    wr_init(&w);
    signed_op_encode(&w, &so);
    ca.id = cb.id = so.id;
    ca.op = wr_take(&w, &ca.len);
    assert_non_null(ca.op);
    signed_op_free(&so);

    netd *a = service_over(11, CHAIN_ID, NULL, &ka, &vt, &ca);
    char boot[64];
    snprintf(boot, sizeof boot, "127.0.0.1:%u", netd_port(a));
    netd *b = service_over(12, CHAIN_ID, boot, &kb, &vt, &cb);
    wait_ready(a, &kb.pk, 1, "a sees b");
    wait_ready(b, &ka.pk, 1, "b sees a");
    const node_net_events *ev = netd_events(a); /* the pool of a admitted it */
    ev->ops_admitted(ev->ctx, &ca.id, 1);
    uint64_t end = mono_ms() + 20000;
    while (oc_got(&cb) == 0) {
        if (mono_ms() > end)
            fail_msg("timed out waiting for the operation at b");
        usleep(20000);
    }
    assert_int_equal(oc_got(&cb), 1);
    assert_int_equal(oc_got(&ca), 0); /* never back to a */
    /* nothing waits any more: neither node is behind its peer */
    end = mono_ms() + 20000;
    while (netd_ops_behind_ms(a) || netd_ops_behind_ms(b)) {
        if (mono_ms() > end)
            fail_msg("still behind: a %llu ms, b %llu ms",
                     (unsigned long long)netd_ops_behind_ms(a),
                     (unsigned long long)netd_ops_behind_ms(b));
        usleep(20000);
    }
    assert_int_equal(ready_peers(b, &ka.pk, NULL), 1);
    netd_stop(a);
    netd_stop(b);
    netd_free(a);
    netd_free(b);
    free(ca.op);
    pthread_mutex_destroy(&ca.mu);
    pthread_mutex_destroy(&cb.mu);
    keypair_wipe(&ka);
    keypair_wipe(&kb);
    keypair_wipe(&creator);
}

/* A service created and freed without a start, and one whose listen address is taken. */
static void test_lifecycle(void **state)
{
    (void)state;
    keypair_t ka;
    netd *a = service(5, CHAIN_ID, NULL, &ka);
    netd_options o;
    memset(&o, 0, sizeof o);
    net_config_default(&o.core);
    o.core.chain_id = CHAIN_ID;
    o.core.thread_count = T;
    o.core.node_key = ka;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", netd_port(a));
    o.listen = addr;
    netd *b = NULL;
    assert_int_equal(netd_new(&b, &o), WEFT_OK);
    assert_non_null(netd_events(b));
    char err[256] = "";
    assert_int_equal(netd_start_chain(b, &fake_chain, NULL, err, sizeof err), WEFT_E_IO);
    assert_non_null(strstr(err, "cannot listen"));
    net_stats st;
    assert_int_equal(netd_stats(b, &st), WEFT_E_ACTOR_STOPPED);
    netd_free(b);
    o.listen = "nonsense";
    assert_int_equal(netd_new(&b, &o), WEFT_OK);
    assert_int_equal(netd_start_chain(b, &fake_chain, NULL, err, sizeof err), WEFT_E_IO);
    netd_free(b);
    o.listen = NULL;
    assert_int_equal(netd_new(&b, &o), WEFT_OK);
    netd_free(b); /* never started */
    netd_free(a);
    keypair_wipe(&ka);
}

int main(void)
{
    if (crypto_init() != WEFT_OK || log_init(NULL) != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_split),   cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_lanes_priority), cmocka_unit_test(test_lanes_bound),
        cmocka_unit_test(test_loopback),       cmocka_unit_test(test_ops_batches),
        cmocka_unit_test(test_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
