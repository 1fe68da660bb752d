/* Unit tests of the protocol core (src/net, docs/protocol.md): 2–4 cores over fake chains wired
 * by an in-memory network (net_harness.c), plus scripted raw peers for misbehaviour.
 *
 * Covered: handshake; refusals (another chain, self, duplicate, time-out); key proof; hello-driven
 * fetch of a missing head; header push → op ids → only the missing operations → submit, and
 * onward propagation without echo; the walk back over missing parents; sync of 2,000 final
 * blocks in slot order; blocks the chain takes only later; endorsement push; operation
 * announce/ask/ops without echo; bans (garbage frame, bad proof, invalid block by verdict and by
 * the graph, bad endorsement, rate limit) and their expiry; the whitelist; ask time-out and
 * re-ask elsewhere; dial backoff; peer lists leading to dials; lanes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "net_harness.c"

static net_wire_limits lim;

static int setup(void **state)
{
    (void)state;
    if (!getenv("WEFT_LOG"))
        assert_int_equal(log_init("warn"), WEFT_OK);
    tn_genesis_init();
    net_config c;
    net_config_default(&c);
    c.thread_count = TN_T;
    c.chain_id = TN_CHAIN;
    net_wire_limits_init(&lim, &c);
    return 0;
}

static tnet *net_new(void)
{
    tnet *t = malloc(sizeof *t);
    assert_non_null(t);
    tn_init(t);
    return t;
}

static void net_del(tnet *t)
{
    tn_free(t);
    free(t);
}

static void connect_ready(tnet *t, int a, int b)
{
    tn_connect(t, a, b);
    assert_true(tn_ready(t, a, b));
    assert_true(tn_ready(t, b, a));
}

/* Connects a to b (ready both ways) and lets a batch interval pass; returns the connection. */
static int tn_tick_connect(tnet *t, int a, int b)
{
    int ci = tn_connect(t, a, b);
    assert_true(tn_ready(t, a, b));
    assert_true(tn_ready(t, b, a));
    t->now += 300;
    tn_tick(t);
    return ci;
}

static bool has_block(tnet *t, int n, const block_id_t *id) { return fc_get(&t->n[n].ch, id); }

static net_stats stats(tnet *t, int n)
{
    net_stats s;
    net_core_stats(t->n[n].core, &s);
    return s;
}

/* ---- raw peers ------------------------------------------------------------------------------- */

typedef struct raw_opts {
    uint64_t chain_id;
    bool bad_proof;
} raw_opts;

/* Drives a raw peer r through the handshake with the core of node n on connection ci (n dialed r
 * or r dialed n).  Returns whether n sent a REFUSE. */
static bool raw_handshake(tnet *t, int ci, int r, int n, const raw_opts *o)
{
    tn_pump(t);
    tframe f;
    uint8_t type = tn_raw_next(t, r, &f);
    assert_int_equal(type, NET_MSG_HANDSHAKE);
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, f.b, f.len), WEFT_OK);
    free(f.b);
    uint8_t core_nonce[32];
    memcpy(core_nonce, m.u.handshake.nonce, 32);
    assert_memory_equal(m.u.handshake.node_id.b, t->n[n].key.pk.b, 32);

    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = o && o->chain_id ? o->chain_id : TN_CHAIN;
    h.genesis = *tn_genesis_id();
    h.thread_count = TN_T;
    h.node_id = t->n[r].key.pk;
    memset(h.nonce, 0x11, 32);
    wr_t w;
    wr_init(&w);
    net_enc_handshake(&w, &h);
    tn_raw_send(t, ci, r, w.buf, w.len);
    wr_free(&w);
    tn_pump(t);
    type = tn_raw_next(t, r, &f);
    if (type == NET_MSG_REFUSE) {
        free(f.b);
        return true;
    }
    assert_int_equal(type, NET_MSG_PROOF);
    /* the core's proof verifies against our nonce */
    assert_int_equal(net_msg_decode(&m, &lim, f.b, f.len), WEFT_OK);
    free(f.b);
    hash32_t d;
    net_proof_digest(&d, TN_CHAIN, h.nonce, &t->n[n].key.pk, &t->n[r].key.pk);
    assert_int_equal(model_verify_digest(&m.u.proof, &t->n[n].key.pk, &d), WEFT_OK);

    signature_t sig;
    net_proof_digest(&d, TN_CHAIN, core_nonce, &t->n[r].key.pk, &t->n[n].key.pk);
    model_sign_digest(&sig, &t->n[r].key, &d);
    if (o && o->bad_proof)
        sig.b[5] ^= 1;
    wr_init(&w);
    net_enc_proof(&w, &sig);
    tn_raw_send(t, ci, r, w.buf, w.len);
    wr_free(&w);
    tn_pump(t);
    return false;
}

static void raw_send_frame(tnet *t, int ci, int r, const uint8_t *b, size_t len)
{
    tn_raw_send(t, ci, r, b, len);
    tn_pump(t);
}

static void raw_drain(tnet *t, int r)
{
    tframe f;
    while (tn_raw_next(t, r, &f)) /* the core never sends a frame of type 0 */
        free(f.b);
}

/* ---- handshake ------------------------------------------------------------------------------- */

static void test_handshake_ok(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    net_stats s = stats(t, a);
    assert_int_equal(s.peers, 1);
    assert_int_equal(s.peers_ready, 1);
    assert_int_equal(s.peers_outbound, 1);
    assert_int_equal(stats(t, b).peers_inbound, 1);
    assert_int_equal(s.bans_total, 0);
    net_peer_info info[4];
    assert_int_equal(net_core_peers(t->n[b].core, info, 4), 1);
    assert_false(info[0].outbound);
    assert_true(info[0].ready);
    assert_true(info[0].msgs_in >= 3); /* handshake, proof, hello */
    /* each side sent one hello and asked for peers */
    assert_int_equal(t->sent[a][b][NET_MSG_HELLO], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_PEERS_ASK], 1);
    /* an unknown handle is the shell's mistake */
    uint8_t f[5] = {0, 0, 0, 1, NET_MSG_PEERS_ASK};
    assert_int_equal(net_core_received(t->n[a].core, 999, f, 5, t->now), WEFT_E_INVAL);
    uint8_t nonce[32] = {0};
    assert_int_equal(net_core_connected(t->n[a].core, t->c[0].pa, true, "x:1", "x", nonce, t->now),
                     WEFT_E_INVAL);
    assert_int_equal(t->lane_errors, 0);
    net_del(t);
}

static void other_chain(net_config *c, void *ctx)
{
    (void)ctx;
    c->chain_id = TN_CHAIN + 1;
}

static void test_other_chain_refused(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, other_chain, NULL, NULL, 0);
    int ci = tn_connect(t, a, b);
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->sent[a][b][NET_MSG_REFUSE], 1);
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_CHAIN);
    assert_false(t->n[a].last_close_banned);
    assert_int_equal(stats(t, a).bans_total, 0);
    assert_int_equal(stats(t, b).bans_total, 0);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.2", t->now));
    assert_int_equal(stats(t, a).peers, 0);
    net_del(t);
}

static void test_bad_proof_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_opts o = {.bad_proof = true};
    assert_false(raw_handshake(t, ci, r, a, &o));
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_HANDSHAKE);
    assert_true(t->n[a].last_close_banned);
    assert_false(net_core_accept_ok(t->n[a].core, "10.0.0.66", t->now));
    assert_int_equal(stats(t, a).bans_total, 1);
    net_del(t);
}

static void test_raw_peer_other_chain_and_timeout(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_opts o = {.chain_id = 12345};
    assert_true(raw_handshake(t, ci, r, a, &o)); /* refused with a reason */
    assert_false(tn_conn_open(t, ci));
    assert_false(t->n[a].last_close_banned);
    /* a peer that never completes its handshake is closed, not banned */
    int ci2 = tn_connect(t, r, a);
    t->now += 9999;
    tn_tick(t);
    assert_true(tn_conn_open(t, ci2));
    t->now += 1;
    tn_tick(t);
    assert_false(tn_conn_open(t, ci2));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_TIMEOUT);
    assert_false(t->n[a].last_close_banned);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.66", t->now));
    raw_drain(t, r);
    net_del(t);
}

static void self_boot(net_config *c, void *ctx)
{
    (void)ctx;
    c->outbound_target = 2;
}

static void test_self_connection_refused(void **state)
{
    (void)state;
    tnet *t = net_new();
    const char *boot[] = {"10.0.0.1:1001"};
    int a = tn_add(t, "10.0.0.1", 1001, self_boot, NULL, boot, 1);
    tn_tick(t); /* dials its bootstrap address: itself */
    assert_int_equal(t->n[a].dials, 1);
    assert_int_equal(t->nc, 1);
    assert_false(tn_conn_open(t, 0));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_SELF);
    assert_false(t->n[a].last_close_banned);
    assert_int_equal(t->sent[a][a][NET_MSG_REFUSE], 2);
    /* never dialed again */
    for (int i = 0; i < 10; i++) {
        t->now += 61000;
        tn_tick(t);
    }
    assert_int_equal(t->n[a].dials, 1);
    assert_int_equal(stats(t, a).bans_total, 0);
    net_del(t);
}

static void test_duplicate_connections(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c1 = tn_connect(t, a, b);
    int c2 = tn_connect(t, a, b); /* a second one from the same node: the older stays */
    assert_true(tn_conn_open(t, c1));
    assert_false(tn_conn_open(t, c2));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_DUPLICATE);
    assert_int_equal(tn_ready_count(t, a), 1);
    assert_int_equal(tn_ready_count(t, b), 1);
    /* simultaneous dials both ways leave exactly one connection, the same on both sides */
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    int x = connect_addr(t, a, c, t->n[c].addr);
    int y = connect_addr(t, c, a, t->n[a].addr);
    tn_pump(t);
    assert_true(tn_conn_open(t, x) != tn_conn_open(t, y));
    assert_int_equal(tn_ready_count(t, a), 2);
    assert_int_equal(tn_ready_count(t, c), 1);
    assert_int_equal(stats(t, a).bans_total, 0);
    net_del(t);
}

/* ---- blocks ---------------------------------------------------------------------------------- */

static void test_hello_fetches_missing_head(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 2);
    tn_pump(t); /* no peers yet: nothing pushed */
    connect_ready(t, a, b);
    assert_true(has_block(t, b, &x->h.id));
    assert_int_equal(t->n[b].ch.taken_from_net, 1);
    assert_int_equal(t->sent[a][b][NET_MSG_BLOCK_FULL], 1);
    assert_false(stats(t, b).syncing);
    assert_int_equal(stats(t, b).blocks_in, 1);
    /* b does not push it back: a is known to have it */
    assert_int_equal(t->sent[b][a][NET_MSG_HEADER], 0);
    net_del(t);
}

typedef struct ask_tap {
    uint32_t ops_asked;
} ask_tap;

static void tap_asks(tnet *t, int from, int to, const uint8_t *f, size_t len)
{
    (void)from, (void)to;
    ask_tap *at = t->tap_ctx;
    if (len < 5 || f[4] != NET_MSG_ASK_BLOCK)
        return;
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, f, len), WEFT_OK);
    if (m.u.ask.what == NET_ASK_OPS)
        at->ops_asked += m.u.ask.count;
}

static void test_header_push_body_pull(void **state)
{
    (void)state;
    tnet *t = net_new();
    ask_tap at = {0};
    t->tap = tap_asks;
    t->tap_ctx = &at;
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    connect_ready(t, b, c);
    /* a produces a block of 3 operations; b's pool already holds the first */
    t->n[a].ch.mute_pending = true;
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 2, 3);
    t->n[a].ch.mute_pending = false;
    fc_pool_add(&t->n[b].ch, x->ops[0], x->lens[0], &x->ids[0]);
    assert_int_equal(net_core_block_pending(t->n[a].core, &x->h, t->now), WEFT_OK);
    tn_pump(t);
    assert_true(has_block(t, b, &x->h.id));
    assert_true(has_block(t, c, &x->h.id));
    assert_int_equal(t->sent[a][b][NET_MSG_HEADER], 1);
    assert_int_equal(t->sent[a][b][NET_MSG_BLOCK_OP_IDS], 1);
    assert_int_equal(t->sent[a][b][NET_MSG_BLOCK_OPS], 1);
    assert_int_equal(t->sent[a][b][NET_MSG_BLOCK_FULL], 0);
    /* b asked a for the 2 operations it lacked; c lacked all 3 */
    assert_int_equal(at.ops_asked, 2 + 3);
    /* propagation onward, never back */
    assert_int_equal(t->sent[b][c][NET_MSG_HEADER], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_HEADER], 0);
    assert_int_equal(t->sent[c][b][NET_MSG_HEADER], 0);
    assert_int_equal(stats(t, a).headers_out, 1);
    assert_int_equal(stats(t, b).headers_in, 1);
    /* lanes: bodies on BULK, the rest on CONTROL, never mixed */
    assert_int_equal(t->lane_errors, 0);
    assert_int_equal(t->lane_seen[NET_MSG_BLOCK_OP_IDS], 2);
    assert_int_equal(t->lane_seen[NET_MSG_BLOCK_OPS], 2);
    assert_int_equal(t->lane_seen[NET_MSG_HEADER], 1);
    assert_int_equal(t->lane_seen[NET_MSG_ASK_BLOCK], 1);
    assert_int_equal(t->lane_seen[NET_MSG_HELLO], 1);
    net_del(t);
}

static void test_parents_missing_walk_back(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    t->n[a].ch.mute_pending = true;
    const fblock *x1 = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 1);
    const fblock *x2 = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 1, 0);
    const fblock *x3 = fc_produce(&t->n[a].ch, &t->n[a].key, 2, 0, 1);
    t->n[a].ch.mute_pending = false;
    /* only the last one is announced */
    assert_int_equal(net_core_block_pending(t->n[a].core, &x3->h, t->now), WEFT_OK);
    tn_pump(t);
    assert_true(has_block(t, b, &x1->h.id));
    assert_true(has_block(t, b, &x2->h.id));
    assert_true(has_block(t, b, &x3->h.id));
    assert_int_equal(t->n[b].ch.nwaiting, 0);
    /* taken parents first */
    fchain *cb = &t->n[b].ch;
    assert_int_equal(cb->taken_from_net, 3);
    assert_true(slot_cmp(cb->taken_slots[2], x3->h.slot) == 0);
    assert_int_equal(t->sent[a][b][NET_MSG_BLOCK_FULL], 2);
    net_del(t);
}

static void produce_chain(tnet *t, int n, uint64_t periods)
{
    for (uint64_t p = 1; p <= periods; p++)
        for (uint8_t th = 0; th < TN_T; th++)
            fc_produce(&t->n[n].ch, &t->n[n].key, p, th, (p * TN_T + th) % 7 == 0 ? 2 : 0);
    tn_pump(t);
}

static void check_taken_in_order(const fchain *c, size_t want)
{
    assert_int_equal(c->taken_from_net, want);
    for (size_t i = 1; i < c->taken_from_net; i++)
        assert_true(slot_cmp(c->taken_slots[i - 1], c->taken_slots[i]) < 0);
}

static void test_sync_2000_blocks(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    produce_chain(t, a, 500); /* 2,000 blocks while b is away */
    connect_ready(t, a, b);
    check_taken_in_order(&t->n[b].ch, 2000);
    net_stats s = stats(t, b);
    assert_false(s.syncing);
    assert_int_equal(s.sync_blocks_in, 2000);
    assert_int_equal(s.blocks_in, 2000);
    assert_int_equal(t->n[b].ch.final_periods[TN_T - 1], 500);
    assert_int_equal(t->sent[b][a][NET_MSG_SYNC_ASK], 2000 / 64 + 1);
    /* nothing pushed back to the node it came from */
    assert_int_equal(t->sent[b][a][NET_MSG_HEADER], 0);
    assert_int_equal(t->lane_errors, 0);
    assert_int_equal(t->lane_seen[NET_MSG_BLOCK_FULL], 2);
    assert_int_equal(t->lane_seen[NET_MSG_SYNC_IDS], 1);
    /* then it follows: a new block reaches b by push */
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 501, 0, 1);
    tn_pump(t);
    assert_true(has_block(t, b, &x->h.id));
    net_del(t);
}

static void test_sync_with_later_blocks(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    produce_chain(t, a, 50);
    t->n[b].ch.later_gate = 20; /* the chain's draws go to period 20 for now */
    connect_ready(t, a, b);
    assert_int_equal(t->n[b].ch.taken_from_net, 20 * TN_T);
    assert_false(stats(t, b).syncing); /* everything fetched; the rest waits in the core */
    t->n[b].ch.later_gate = 35;
    t->now += 300;
    tn_tick(t);
    assert_int_equal(t->n[b].ch.taken_from_net, 35 * TN_T);
    t->n[b].ch.later_gate = 0;
    t->now += 300;
    tn_tick(t);
    check_taken_in_order(&t->n[b].ch, 50 * TN_T);
    assert_int_equal(stats(t, b).bans_total, 0);
    /* while the chain takes nothing, the retries slow down: 250, 500, 1000 … ms */
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 51, 0, 0);
    size_t submits = t->n[b].ch.submits;
    t->n[b].ch.later_gate = 1;
    tn_pump(t); /* pushed, pulled, kept for later */
    assert_int_equal(t->n[b].ch.submits, submits + 1);
    uint64_t waits[] = {250, 500, 1000, 2000, 4000, 4000};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(waits); i++) {
        t->now += waits[i] - 1;
        tn_tick(t);
        assert_int_equal(t->n[b].ch.submits, submits + 1 + i);
        t->now += 1;
        tn_tick(t);
        assert_int_equal(t->n[b].ch.submits, submits + 2 + i);
    }
    t->n[b].ch.later_gate = 0;
    t->now += 4000;
    tn_tick(t);
    assert_true(has_block(t, b, &x->h.id));
    net_del(t);
}

static void test_sync_survives_losing_its_peer(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    produce_chain(t, a, 100);
    for (size_t i = TN_T; i < t->n[a].ch.nall; i++)
        fc_insert_copy(&t->n[c].ch, t->n[a].ch.all[i]);
    t->drop_from = a;
    t->drop_to = b;
    t->drop_type = NET_MSG_BLOCK_FULL; /* a lists the blocks but never delivers them */
    int ca = tn_connect(t, b, a);
    assert_true(stats(t, b).syncing);
    assert_int_equal(t->n[b].ch.taken_from_net, 0);
    connect_ready(t, b, c); /* c takes the asks beyond a's share */
    assert_true(stats(t, b).syncing);
    assert_true(t->sent[c][b][NET_MSG_BLOCK_FULL] > 0);
    size_t before = t->n[b].ch.taken_from_net;
    assert_int_equal(before, 0); /* the first blocks are stuck at a */
    tn_close(t, ca);             /* a goes away: its asks and the sync move to c */
    tn_tick(t);
    check_taken_in_order(&t->n[b].ch, 100 * TN_T);
    assert_false(stats(t, b).syncing);
    assert_true(t->sent[b][c][NET_MSG_SYNC_ASK] > 0);
    net_del(t);
}

static void test_sync_not_held_by_later_live_blocks(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    produce_chain(t, a, 30);
    /* b's chain cannot take blocks past period 40 yet; one such block arrives first */
    t->n[b].ch.later_gate = 40;
    const fblock *far = fc_produce(&t->n[a].ch, &t->n[a].key, 60, 0, 0);
    tn_pump(t);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, b);
    raw_handshake(t, ci, r, b, NULL);
    wr_t w;
    wr_init(&w);
    net_enc_header(&w, NET_MSG_HEADER, &far->h);
    raw_send_frame(t, ci, r, w.buf, w.len);
    wr_free(&w);
    tframe f;
    uint8_t type;
    while ((type = tn_raw_next(t, r, &f)) != 0) { /* answer b's asks for the far block */
        if (type == NET_MSG_ASK_BLOCK) {
            wr_init(&w);
            net_enc_block_full(&w, &far->h, far->ops, far->lens, far->n);
            raw_send_frame(t, ci, r, w.buf, w.len);
            wr_free(&w);
        }
        free(f.b);
    }
    assert_int_equal(t->n[b].ch.taken_from_net, 0); /* kept for later */
    /* the sync's blocks, all before it, go straight to the chain */
    connect_ready(t, b, a);
    assert_int_equal(t->n[b].ch.taken_from_net, 30 * TN_T);
    t->n[b].ch.later_gate = 0;
    t->now += 300;
    tn_tick(t);
    assert_true(has_block(t, b, &far->h.id));
    raw_drain(t, r);
    net_del(t);
}

/* ---- endorsements and operations ------------------------------------------------------------- */

static void test_endorsement_push(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    connect_ready(t, b, c);
    endorsement_t e[2];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 2; i++) {
        e[i].slot.period = 3;
        e[i].slot.thread = 1;
        e[i].index = (uint32_t)i;
        e[i].endorsed = t->n[a].ch.heads[1];
        endorsement_sign(&e[i], &t->n[a].key);
    }
    assert_int_equal(net_core_endorsements_admitted(t->n[a].core, e, 2, t->now), WEFT_OK);
    tn_pump(t);
    assert_int_equal(t->n[b].ch.nendos, 2);
    assert_int_equal(t->n[c].ch.nendos, 2);
    assert_int_equal(t->sent[b][a][NET_MSG_ENDORSEMENTS], 0); /* no echo */
    assert_int_equal(t->sent[c][b][NET_MSG_ENDORSEMENTS], 0);
    assert_int_equal(stats(t, b).endorsements_in, 2);
    /* admitted again: nothing new to send */
    assert_int_equal(net_core_endorsements_admitted(t->n[a].core, e, 2, t->now), WEFT_OK);
    tn_pump(t);
    assert_int_equal(t->sent[a][b][NET_MSG_ENDORSEMENTS], 1);
    net_del(t);
}

static void test_bad_endorsement_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    assert_true(tn_ready(t, a, r));
    endorsement_t e;
    memset(&e, 0, sizeof e);
    e.slot.period = 3;
    e.endorsed = t->n[a].ch.heads[0];
    endorsement_sign(&e, &t->n[r].key);
    e.sig.b[9] ^= 1;
    wr_t w;
    wr_init(&w);
    net_enc_endorsements(&w, &e, 1);
    raw_send_frame(t, ci, r, w.buf, w.len);
    wr_free(&w);
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_SIGNATURE);
    assert_true(t->n[a].last_close_banned);
    raw_drain(t, r);
    net_del(t);
}

static void fast_announce(net_config *c, void *ctx)
{
    (void)ctx;
    c->op_announce_max = 3;
}

static void test_ops_announce_ask_no_echo(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, fast_announce, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    connect_ready(t, b, c);
    op_id_t id;
    size_t len;
    uint8_t *op = fc_make_op(&t->n[a].key, &len, &id);
    fc_pool_add(&t->n[a].ch, op, len, &id);
    free(op);
    assert_int_equal(net_core_ops_admitted(t->n[a].core, &id, 1, t->now), WEFT_OK);
    tn_pump(t);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 0); /* batched */
    t->now += 299;
    tn_tick(t);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 0);
    t->now += 1;
    tn_tick(t);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ASK], 1);
    assert_int_equal(t->sent[a][b][NET_MSG_OPS], 1);
    assert_true(fc_pool_has(&t->n[b].ch, &id));
    t->now += 300;
    tn_tick(t);
    assert_true(fc_pool_has(&t->n[c].ch, &id));
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ANNOUNCE], 0); /* never back */
    assert_int_equal(t->sent[c][b][NET_MSG_OP_ANNOUNCE], 0);
    assert_int_equal(t->n[b].ch.ops_submitted, 1);
    assert_int_equal(stats(t, a).ops_out, 1);
    /* a full batch goes at once */
    for (int i = 0; i < 3; i++) {
        op = fc_make_op(&t->n[a].key, &len, &id);
        fc_pool_add(&t->n[a].ch, op, len, &id);
        free(op);
        assert_int_equal(net_core_ops_admitted(t->n[a].core, &id, 1, t->now), WEFT_OK);
    }
    tn_pump(t);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 2);
    assert_true(fc_pool_has(&t->n[b].ch, &id));
    assert_int_equal(t->lane_seen[NET_MSG_OPS], 2);
    assert_int_equal(t->lane_seen[NET_MSG_OP_ANNOUNCE], 2);
    assert_int_equal(t->lane_errors, 0);
    net_del(t);
}

/* An operation admitted before a peer connects (its announcement batch already gone) reaches the
 * peer when it becomes ready, without any block; never back to its sender, not again to peers
 * that know it, and not once the recent window has passed. */
static void test_ops_announced_to_late_peers(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    op_id_t id;
    size_t len;
    uint8_t *op = fc_make_op(&t->n[a].key, &len, &id);
    fc_pool_add(&t->n[a].ch, op, len, &id);
    free(op);
    assert_int_equal(net_core_ops_admitted(t->n[a].core, &id, 1, t->now), WEFT_OK);
    t->now += 1000;
    tn_tick(t); /* the batch went out to nobody */
    size_t blocks = t->n[b].ch.nall;
    int ab = tn_tick_connect(t, a, b);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ASK], 1);
    assert_true(fc_pool_has(&t->n[b].ch, &id));
    assert_int_equal(t->n[b].ch.nall, blocks); /* no block carried it */
    /* b's next peer gets it from b; a, which knows it, hears nothing more */
    t->now += 1000;
    tn_tick(t);
    tn_tick_connect(t, b, c);
    assert_int_equal(t->sent[b][c][NET_MSG_OP_ANNOUNCE], 1);
    assert_true(fc_pool_has(&t->n[c].ch, &id));
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ANNOUNCE], 0);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 1);
    /* a broken connection comes back: a announces again (b knows it: no ask), b never to a */
    tn_close(t, ab);
    tn_tick_connect(t, a, b);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 2);
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ASK], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ANNOUNCE], 0);
    assert_int_equal(t->n[b].ch.ops_submitted, 1);
    /* past the window, a new peer is not told */
    int d = tn_add(t, "10.0.0.4", 1004, NULL, NULL, NULL, 0);
    t->now += 60000;
    tn_tick(t);
    tn_tick_connect(t, a, d);
    assert_int_equal(t->sent[a][d][NET_MSG_OP_ANNOUNCE], 0);
    assert_false(fc_pool_has(&t->n[d].ch, &id));
    assert_int_equal(stats(t, a).bans_total + stats(t, b).bans_total, 0);
    assert_int_equal(t->lane_errors, 0);
    net_del(t);
}

/* OP_ASK answers are cut into OPS frames of at most 512 operations (each costs the receiver a
 * signature check before its next frames). */
static void test_ops_frames_cut(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    enum { N = 600 };
    op_id_t *ids = malloc(N * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *op = fc_make_op(&t->n[a].key, &len, &ids[i]);
        fc_pool_add(&t->n[a].ch, op, len, &ids[i]);
        free(op);
    }
    assert_int_equal(net_core_ops_admitted(t->n[a].core, ids, N, t->now), WEFT_OK);
    t->now += 300;
    tn_tick(t);
    assert_int_equal(t->sent[a][b][NET_MSG_OP_ANNOUNCE], 1);
    assert_int_equal(t->sent[b][a][NET_MSG_OP_ASK], 1);
    assert_int_equal(t->sent[a][b][NET_MSG_OPS], 2); /* 512 + 88 */
    for (int i = 0; i < N; i++)
        assert_true(fc_pool_has(&t->n[b].ch, &ids[i]));
    assert_int_equal(stats(t, a).ops_out, N);
    free(ids);
    net_del(t);
}

static void test_bad_op_signature_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    op_id_t id;
    size_t len;
    uint8_t *op = fc_make_op(&t->n[r].key, &len, &id);
    op[3] ^= 1; /* inside the signature */
    size_t lens[1] = {len};
    wr_t w;
    wr_init(&w);
    net_enc_ops(&w, &op, lens, 1);
    raw_send_frame(t, ci, r, w.buf, w.len);
    wr_free(&w);
    free(op);
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_SIGNATURE);
    assert_true(t->n[a].last_close_banned);
    raw_drain(t, r);
    net_del(t);
}

/* ---- bans ------------------------------------------------------------------------------------ */

static void test_garbage_frame_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    assert_true(tn_ready(t, a, r));
    uint8_t junk[] = {0, 0, 0, 3, 200, 1, 2};
    raw_send_frame(t, ci, r, junk, sizeof junk);
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_MESSAGE);
    assert_true(t->n[a].last_close_banned);
    assert_false(net_core_accept_ok(t->n[a].core, "10.0.0.66", t->now));
    /* its node id is banned too: from another IP it is refused at the handshake */
    int r2 = tn_add_raw(t, "10.0.0.67");
    t->n[r2].key = t->n[r].key;
    int ci2 = tn_connect(t, r2, a);
    assert_true(raw_handshake(t, ci2, r2, a, NULL));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_BANNED);
    /* bans expire */
    net_stats s = stats(t, a);
    assert_int_equal(s.bans_active, 2);
    t->now += 60000;
    tn_tick(t);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.66", t->now));
    assert_int_equal(stats(t, a).bans_active, 0);
    assert_int_equal(stats(t, a).bans_total, 1);
    raw_drain(t, r);
    raw_drain(t, r2);
    net_del(t);
}

static void test_frame_above_limit_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    /* a HELLO claiming more bytes than max_frame (the shell would not even read it) */
    uint32_t l = NET_MAX_FRAME + 2;
    uint8_t f[6] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8),
                    (uint8_t)l,         NET_MSG_HELLO,      0};
    raw_send_frame(t, ci, r, f, sizeof f);
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_LIMIT);
    assert_true(t->n[a].last_close_banned);
    raw_drain(t, r);
    net_del(t);
}

static void reject_cfg(net_config *c, void *ctx)
{
    (void)ctx;
    c->max_asks_per_peer = 4;
}

static void test_invalid_block_banned(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, reject_cfg, NULL, NULL, 0);
    connect_ready(t, a, b);
    /* the chain's verdict: the producer or a size is wrong */
    t->n[a].ch.mute_pending = true;
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 1);
    t->n[a].ch.mute_pending = false;
    t->n[b].ch.reject_id = x->h.id;
    t->n[b].ch.has_reject_id = true;
    assert_int_equal(net_core_block_pending(t->n[a].core, &x->h, t->now), WEFT_OK);
    tn_pump(t);
    assert_false(tn_ready(t, b, a));
    assert_int_equal(t->n[b].last_close_reason, WEFT_E_NET_INVALID_BLOCK);
    assert_true(t->n[b].last_close_banned);
    assert_false(net_core_accept_ok(t->n[b].core, "10.0.0.1", t->now));
    net_del(t);

    /* the graph finds a taken block invalid: every peer that sent it is banned */
    t = net_new();
    a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    connect_ready(t, a, b);
    connect_ready(t, b, c);
    t->n[a].ch.mute_pending = true;
    x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 0);
    t->n[a].ch.mute_pending = false;
    t->n[b].ch.invalid_id = x->h.id;
    t->n[b].ch.has_invalid_id = true;
    t->n[b].ch.mute_pending = true; /* b's graph does not keep it: nothing goes to c */
    assert_int_equal(net_core_block_pending(t->n[a].core, &x->h, t->now), WEFT_OK);
    tn_pump(t);
    assert_false(tn_ready(t, b, a));
    assert_true(tn_ready(t, b, c));
    assert_int_equal(t->n[b].last_close_reason, WEFT_E_NET_INVALID_BLOCK);
    assert_true(t->n[b].last_close_banned);
    assert_int_equal(stats(t, b).bans_total, 1);
    net_del(t);
}

static void tight_rate(net_config *c, void *ctx)
{
    (void)ctx;
    c->max_msgs_per_window = 20;
}

static void test_rate_limit_and_whitelist(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, tight_rate, NULL, NULL, 0);
    int r = tn_add_raw(t, "10.0.0.66");
    int w = tn_add_raw(t, "10.0.0.77");
    assert_int_equal(net_core_whitelist_add(t->n[a].core, "10.0.0.77"), WEFT_OK);
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    int cw = tn_connect(t, w, a);
    raw_handshake(t, cw, w, a, NULL);
    uint8_t ask[5] = {0, 0, 0, 1, NET_MSG_PEERS_ASK};
    for (int i = 0; i < 25; i++) {
        tn_raw_send(t, ci, r, ask, 5);
        tn_raw_send(t, cw, w, ask, 5);
    }
    tn_pump(t);
    assert_false(tn_conn_open(t, ci));
    assert_true(tn_conn_open(t, cw)); /* whitelisted: no rate limit */
    assert_false(net_core_accept_ok(t->n[a].core, "10.0.0.66", t->now));
    /* a new window starts clean */
    t->now += 1000;
    for (int i = 0; i < 15; i++)
        tn_raw_send(t, cw, w, ask, 5);
    tn_pump(t);
    assert_true(tn_conn_open(t, cw));
    /* whitelisted peers are closed for garbage, but never banned */
    uint8_t junk[] = {0, 0, 0, 1, 99};
    raw_send_frame(t, cw, w, junk, sizeof junk);
    assert_false(tn_conn_open(t, cw));
    assert_false(t->n[a].last_close_banned);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.77", t->now));
    char list[4][NET_ADDR_MAX];
    assert_int_equal(net_core_whitelist(t->n[a].core, list, 4), 1);
    assert_string_equal(list[0], "10.0.0.77");
    assert_int_equal(net_core_whitelist_remove(t->n[a].core, "10.0.0.77"), WEFT_OK);
    assert_int_equal(net_core_whitelist_remove(t->n[a].core, "10.0.0.77"), WEFT_E_NOT_FOUND);
    raw_drain(t, r);
    raw_drain(t, w);
    net_del(t);
}

static void one_inbound(net_config *c, void *ctx)
{
    (void)ctx;
    c->max_inbound = 1;
}

static void test_manual_bans_and_limits(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, one_inbound, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    connect_ready(t, b, a);
    int ci = tn_connect(t, c, a); /* beyond max_inbound */
    assert_false(tn_conn_open(t, ci));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_FULL);
    assert_false(t->n[a].last_close_banned);
    assert_false(net_core_accept_ok(t->n[a].core, "10.0.0.3", t->now));
    /* the whitelist bypasses it */
    assert_int_equal(net_core_whitelist_add(t->n[a].core, "10.0.0.3"), WEFT_OK);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.3", t->now));
    connect_ready(t, c, a);
    /* a manual ban closes and refuses, whitelisted or not; unban lifts it */
    assert_int_equal(net_core_ban_id(t->n[a].core, &t->n[c].key.pk, t->now), WEFT_OK);
    tn_pump(t);
    assert_false(tn_ready(t, a, c));
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_BANNED);
    assert_int_equal(net_core_ban_ip(t->n[a].core, "10.0.0.2", t->now), WEFT_OK);
    tn_pump(t);
    assert_false(tn_ready(t, a, b));
    assert_false(net_core_accept_ok(t->n[a].core, "10.0.0.2", t->now));
    assert_int_equal(net_core_unban_ip(t->n[a].core, "10.0.0.2"), WEFT_OK);
    assert_int_equal(net_core_unban_ip(t->n[a].core, "10.0.0.2"), WEFT_E_NOT_FOUND);
    assert_true(net_core_accept_ok(t->n[a].core, "10.0.0.2", t->now));
    assert_int_equal(net_core_unban_id(t->n[a].core, &t->n[c].key.pk), WEFT_OK);
    assert_int_equal(net_core_unban_id(t->n[a].core, &t->n[c].key.pk), WEFT_E_NOT_FOUND);
    net_del(t);
}

static void small_budget(net_config *c, void *ctx)
{
    (void)ctx;
    c->max_bytes_per_window = 4000;
}

static void test_answer_budget(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, small_budget, NULL, NULL, 0);
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 10);
    int r = tn_add_raw(t, "10.0.0.66");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a, NULL);
    raw_drain(t, r);
    wr_t w;
    for (int i = 0; i < 6; i++) {
        wr_init(&w);
        net_enc_ask_block(&w, &x->h.id, NET_ASK_FULL, NULL, 0);
        tn_raw_send(t, ci, r, w.buf, w.len);
        wr_free(&w);
    }
    tn_pump(t);
    size_t full = 0, not_found = 0, bytes = 0;
    tframe f;
    uint8_t type;
    while ((type = tn_raw_next(t, r, &f)) != 0) {
        if (type == NET_MSG_BLOCK_FULL) {
            full++;
            bytes = f.len;
        }
        not_found += type == NET_MSG_BLOCK_NOT_FOUND;
        free(f.b);
    }
    if (!(bytes > 1000 && bytes < 4000))
        fail_msg("full=%zu not_found=%zu bytes=%zu", full, not_found, bytes);
    assert_int_equal(full, (4000 + bytes - 1) / bytes); /* until the budget is used up */
    assert_int_equal(full + not_found, 6);
    assert_true(tn_conn_open(t, ci)); /* asking is not a fault */
    /* a new window, a new budget */
    t->now += 1000;
    wr_init(&w);
    net_enc_ask_block(&w, &x->h.id, NET_ASK_FULL, NULL, 0);
    raw_send_frame(t, ci, r, w.buf, w.len);
    wr_free(&w);
    assert_int_equal(tn_raw_next(t, r, &f), NET_MSG_BLOCK_FULL);
    free(f.b);
    raw_drain(t, r);
    net_del(t);
}

/* ---- asks, dials, peer lists ----------------------------------------------------------------- */

static void test_ask_timeout_reasks_elsewhere(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 1, 0, 1);
    fc_insert_copy(&t->n[c].ch, x);
    tn_pump(t);
    t->drop_from = a;
    t->drop_to = b;
    t->drop_type = NET_MSG_BLOCK_FULL; /* a never delivers the block to b */
    connect_ready(t, b, a);
    connect_ready(t, b, c);
    assert_false(has_block(t, b, &x->h.id));
    assert_int_equal(t->sent[b][a][NET_MSG_ASK_BLOCK], 1);
    assert_int_equal(t->sent[b][c][NET_MSG_ASK_BLOCK], 0);
    t->now += 9999;
    tn_tick(t);
    assert_false(has_block(t, b, &x->h.id));
    t->now += 1;
    tn_tick(t);
    assert_true(has_block(t, b, &x->h.id));
    assert_int_equal(t->sent[b][c][NET_MSG_ASK_BLOCK], 1);
    assert_int_equal(stats(t, b).bans_total, 0); /* slow is not a fault */
    net_del(t);
}

typedef struct dial_opts {
    uint32_t target;
    uint64_t backoff_max;
} dial_opts;

static void dial_cfg(net_config *c, void *ctx)
{
    dial_opts *o = ctx;
    c->outbound_target = o->target;
    c->dial_backoff_min_ms = 500;
    c->dial_backoff_max_ms = o->backoff_max;
}

static void test_dial_backoff(void **state)
{
    (void)state;
    tnet *t = net_new();
    const char *boot[] = {"10.9.9.9:7", "not an address"};
    dial_opts o = {.target = 2, .backoff_max = 2000};
    int a = tn_add(t, "10.0.0.1", 1001, dial_cfg, &o, boot, 2);
    tn_tick(t);
    assert_int_equal(t->n[a].dials, 1); /* the bad address never entered the book */
    uint64_t waits[] = {500, 1000, 2000, 2000, 2000};
    for (int i = 0; i < 5; i++) {
        t->now += waits[i] - 1;
        tn_tick(t);
        assert_int_equal(t->n[a].dials, (size_t)i + 1);
        t->now += 1;
        tn_tick(t);
        assert_int_equal(t->n[a].dials, (size_t)i + 2);
    }
    net_del(t);
}

static void test_peer_lists_lead_to_dials(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    const char *boot[] = {"10.0.0.1:1001"};
    dial_opts o = {.target = 2, .backoff_max = 60000};
    int c = tn_add(t, "10.0.0.3", 1003, dial_cfg, &o, boot, 1);
    connect_ready(t, a, b);
    tn_tick(t); /* c dials a; a's peer list names b */
    assert_true(tn_ready(t, c, a));
    assert_int_equal(t->sent[a][c][NET_MSG_PEERS], 1);
    tn_tick(t); /* c dials b */
    assert_true(tn_ready(t, c, b));
    assert_int_equal(stats(t, c).peers_outbound, 2);
    /* at its target: no more dials, and reconnection after a loss */
    size_t dials = t->n[c].dials;
    t->now += 5000;
    tn_tick(t);
    assert_int_equal(t->n[c].dials, dials);
    /* periodic hellos and peer lists */
    uint32_t hellos = t->sent[a][c][NET_MSG_HELLO];
    t->now += 30000;
    tn_tick(t);
    assert_int_equal(t->sent[a][c][NET_MSG_HELLO], hellos + 1);
    net_del(t);
}

/* ---- the fuzz corpus (fuzz/net_frame) -------------------------------------------------------- */

typedef struct seq {
    const char *name;
    wr_t w;
} seq;

static void header_over(block_header_t *h, const block_id_t parents[TN_T], uint64_t period,
                        uint8_t thread, const op_id_t *ids, uint32_t n, const keypair_t *key)
{
    memset(h, 0, sizeof *h);
    h->version = HEADER_VERSION;
    h->slot.period = period;
    h->slot.thread = thread;
    h->parent_count = TN_T;
    memcpy(h->parents, parents, TN_T * sizeof *parents);
    block_ops_hash(&h->ops_hash, ids, n);
    header_sign(h, key);
}

/* Writes seq to dir/name when dir is set. */
static void corpus_write(const char *dir, const seq *q)
{
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, q->name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(q->w.buf, 1, q->w.len, f), q->w.len);
    fclose(f);
}

static void run_seq(const seq *q, bool want_open, bool want_banned, size_t want_taken)
{
    fz_env e;
    fz_init(&e);
    fz_feed(&e, q->w.buf, q->w.len);
    if (e.closed == want_open)
        fail_msg("%s: closed=%d reason=%s", q->name, e.closed, weft_err_name(e.reason));
    assert_int_equal(e.banned, want_banned);
    if (e.ch.taken_from_net != want_taken)
        fail_msg("%s: %zu blocks taken, want %zu", q->name, e.ch.taken_from_net, want_taken);
    fz_free(&e);
}

static void test_fuzz_corpus(void **state)
{
    (void)state;
    const char *dir = getenv("WEFT_NET_FRAME_CORPUS");
    fz_env e;
    fz_init(&e); /* for the ids of its chain */
    const fblock *b0 = e.blocks[0], *b1 = e.blocks[1];
    block_id_t gen[TN_T], heads[TN_T];
    for (int t = 0; t < TN_T; t++)
        gen[t] = e.ch.all[t]->h.id;
    memcpy(heads, e.ch.heads, sizeof heads);
    size_t lens[2];
    uint8_t *ops[2];
    op_id_t ids[2];
    for (int i = 0; i < 2; i++)
        ops[i] = fc_make_op(&e.raw, &lens[i], &ids[i]);
    block_header_t *x = malloc(sizeof *x), *z = malloc(sizeof *z), *y = malloc(sizeof *y);
    header_over(x, heads, 2, 0, ids, 2, &e.raw); /* on top of the chain */
    header_over(z, gen, 1, 2, NULL, 0, &e.raw);  /* unknown to the chain */
    block_id_t yp[TN_T];
    memcpy(yp, heads, sizeof yp);
    yp[2] = z->id;
    header_over(y, yp, 2, 1, ids, 1, &e.raw); /* needs z */

    seq q[12];
    memset(q, 0, sizeof q);
    for (int i = 0; i < 12; i++)
        wr_init(&q[i].w);
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = TN_T;
    memcpy(h.heads, gen, sizeof gen);
    q[0].name = "hello";
    net_enc_hello(&q[0].w, &h);

    q[1].name = "push_pull";
    net_enc_header(&q[1].w, NET_MSG_HEADER, x);
    net_enc_block_op_ids(&q[1].w, &x->id, ids, 2);
    net_enc_block_ops(&q[1].w, &x->id, ops, lens, 2);

    q[2].name = "asks";
    net_enc_ask_block(&q[2].w, &b0->h.id, NET_ASK_FULL, NULL, 0);
    net_enc_ask_block(&q[2].w, &b1->h.id, NET_ASK_OP_IDS, NULL, 0);
    net_enc_ask_block(&q[2].w, &b0->h.id, NET_ASK_OPS, &b0->ids[1], 1);
    net_enc_ask_block(&q[2].w, &b1->h.id, NET_ASK_HEADER, NULL, 0);
    net_enc_ask_block(&q[2].w, &x->id, NET_ASK_FULL, NULL, 0);

    q[3].name = "ops";
    uint8_t pre[2 * NET_OP_PREFIX_LEN];
    memcpy(pre, ids[0].h.b, NET_OP_PREFIX_LEN);
    memcpy(pre + NET_OP_PREFIX_LEN, ids[1].h.b, NET_OP_PREFIX_LEN);
    net_enc_prefixes(&q[3].w, NET_MSG_OP_ANNOUNCE, pre, 2);
    net_enc_prefixes(&q[3].w, NET_MSG_OP_ASK, e.pool_op.h.b, 1);
    net_enc_ops(&q[3].w, ops, lens, 1);

    q[4].name = "endorsements";
    endorsement_t en;
    memset(&en, 0, sizeof en);
    en.slot.period = 2;
    en.slot.thread = 0;
    en.endorsed = heads[0];
    endorsement_sign(&en, &e.raw);
    net_enc_endorsements(&q[4].w, &en, 1);

    q[5].name = "sync_serve";
    slot_t after = {0, 0};
    net_enc_sync_ask(&q[5].w, after, 10);
    slot_t zs = z->slot;
    net_enc_sync_ids(&q[5].w, &z->id, &zs, 1, false); /* not asked: dropped */

    q[6].name = "peers";
    char addrs[2][NET_ADDR_MAX] = {"10.2.2.2:31244", "[::1]:9"};
    net_enc_peers_ask(&q[6].w);
    net_enc_peers(&q[6].w, (const char(*)[NET_ADDR_MAX])addrs, 2);

    q[7].name = "unasked_answers";
    net_enc_header(&q[7].w, NET_MSG_BLOCK_HEADER, z);
    net_enc_block_full(&q[7].w, z, NULL, NULL, 0);
    net_enc_not_found(&q[7].w, &z->id);
    net_enc_block_op_ids(&q[7].w, &z->id, NULL, 0);

    q[8].name = "missing_parent";
    net_enc_header(&q[8].w, NET_MSG_HEADER, y);
    net_enc_block_op_ids(&q[8].w, &y->id, ids, 1);
    net_enc_block_ops(&q[8].w, &y->id, ops, lens, 1);
    net_enc_block_full(&q[8].w, z, NULL, NULL, 0); /* the parent the core then asks */

    q[9].name = "sync_pull";
    net_hello ahead = h;
    for (int t = 0; t < TN_T; t++)
        ahead.final_periods[t] = 5;
    net_enc_hello(&q[9].w, &ahead);
    slot_t cursor = {0, 2}; /* the chain's smallest final slot: thread 2 is at period 0 */
    (void)cursor;
    net_enc_sync_ids(&q[9].w, &z->id, &zs, 1, false);
    net_enc_block_full(&q[9].w, z, NULL, NULL, 0);

    q[10].name = "refuse";
    net_enc_refuse(&q[10].w, NET_REFUSE_FULL, "full");

    q[11].name = "garbage";
    uint8_t junk[] = {0, 0, 0, 3, 0x7f, 1, 2};
    wr_bytes(&q[11].w, junk, sizeof junk);

    run_seq(&q[0], true, false, 0);
    run_seq(&q[1], true, false, 1);
    run_seq(&q[2], true, false, 0);
    run_seq(&q[3], true, false, 0);
    run_seq(&q[4], true, false, 0);
    run_seq(&q[5], true, false, 0);
    run_seq(&q[6], true, false, 0);
    run_seq(&q[7], true, false, 0);
    run_seq(&q[8], true, false, 2);
    run_seq(&q[9], true, false, 1);
    run_seq(&q[10], false, false, 0);
    run_seq(&q[11], false, true, 0);
    for (int i = 0; i < 12; i++) {
        corpus_write(dir, &q[i]);
        wr_free(&q[i].w);
    }
    for (int i = 0; i < 2; i++)
        free(ops[i]);
    free(x);
    free(y);
    free(z);
    fz_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_ok),
        cmocka_unit_test(test_other_chain_refused),
        cmocka_unit_test(test_bad_proof_banned),
        cmocka_unit_test(test_raw_peer_other_chain_and_timeout),
        cmocka_unit_test(test_self_connection_refused),
        cmocka_unit_test(test_duplicate_connections),
        cmocka_unit_test(test_hello_fetches_missing_head),
        cmocka_unit_test(test_header_push_body_pull),
        cmocka_unit_test(test_parents_missing_walk_back),
        cmocka_unit_test(test_sync_2000_blocks),
        cmocka_unit_test(test_sync_with_later_blocks),
        cmocka_unit_test(test_sync_survives_losing_its_peer),
        cmocka_unit_test(test_sync_not_held_by_later_live_blocks),
        cmocka_unit_test(test_endorsement_push),
        cmocka_unit_test(test_bad_endorsement_banned),
        cmocka_unit_test(test_ops_announce_ask_no_echo),
        cmocka_unit_test(test_ops_announced_to_late_peers),
        cmocka_unit_test(test_ops_frames_cut),
        cmocka_unit_test(test_bad_op_signature_banned),
        cmocka_unit_test(test_garbage_frame_banned),
        cmocka_unit_test(test_frame_above_limit_banned),
        cmocka_unit_test(test_invalid_block_banned),
        cmocka_unit_test(test_rate_limit_and_whitelist),
        cmocka_unit_test(test_manual_bans_and_limits),
        cmocka_unit_test(test_answer_budget),
        cmocka_unit_test(test_ask_timeout_reasks_elsewhere),
        cmocka_unit_test(test_dial_backoff),
        cmocka_unit_test(test_peer_lists_lead_to_dials),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
