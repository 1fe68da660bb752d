/* Unit tests of the final state in parts (src/net/state.c, docs/protocol.md "State transfer"):
 * cores over fake chains (net_harness.c) whose final state is a set of records served in parts.
 *
 * Covered: a node whose peers no longer keep the blocks after its final period fetches the state
 * in many parts (values larger than a part in pieces, given to the chain whole) and the root
 * blocks, the chain adopts it, then the blocks after it are synced
 * (blocks at or below a thread's new final period refused, not a fault) and the node follows; the
 * configurable threshold; a snapshot gone on the server (start over); a peer unable to serve, a
 * silent one (time-out) and one whose state does not match its fingerprint (banned): the transfer
 * goes on elsewhere; malformed parts from a scripted peer (roots missing a thread, records not
 * after the resume point, another cursor within a transfer, a value's rest at another byte, with
 * another record or missing) banned, a value's rest put together, a snapshot gone while a value
 * is under way (the transfer starts over from scratch, without a ban), a state not past ours
 * dropped without a ban; an adoption left to a restart (nothing more afterwards); the serving
 * side's statuses (unavailable, gone, busy beyond the answer budget); the state transfer's entries
 * of the fuzz corpus (fuzz/net_frame). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "net/net_internal.h"
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

static net_stats stats(tnet *t, int n)
{
    net_stats s;
    net_core_stats(t->n[n].core, &s);
    return s;
}

/* Periods 1..periods on node n, every slot filled but thread 2 at periods 29 and 30. */
static void produce_chain(tnet *t, int n, uint64_t periods)
{
    for (uint64_t p = 1; p <= periods; p++)
        for (uint8_t th = 0; th < TN_T; th++)
            if (!(th == 2 && (p == 29 || p == 30)))
                fc_produce(&t->n[n].ch, &t->n[n].key, p, th, (p * TN_T + th) % 5 == 0 ? 2 : 0);
    tn_pump(t);
}

/* Node n serves a state of nrec records final at (30, T-1) and keeps the blocks from period 25. */
static void make_server(tnet *t, int n, size_t nrec)
{
    fc_state_fill(&t->n[n].ch, nrec, 1);
    t->n[n].ch.st_cursor = (slot_t){30, TN_T - 1};
    t->n[n].ch.kept_from = 25;
    t->n[n].ch.st_serve = true;
}

/* Node n serves a copy of node from's blocks and state. */
static void copy_server(tnet *t, int n, int from)
{
    for (size_t i = TN_T; i < t->n[from].ch.nall; i++)
        fc_insert_copy(&t->n[n].ch, t->n[from].ch.all[i]);
    make_server(t, n, t->n[from].ch.nst);
}

static void small_parts(net_config *c, void *ctx)
{
    (void)ctx;
    c->state_part_bytes = 1500;
    c->state_retry_ms = 0;
}

static void check_same_state(tnet *t, int a, int b)
{
    const fchain *x = &t->n[a].ch, *y = &t->n[b].ch;
    assert_int_equal(y->nst, x->nst);
    assert_memory_equal(y->st, x->st, x->nst * sizeof *x->st);
    assert_int_equal(slot_cmp(y->st_cursor, x->st_cursor), 0);
}

static void check_same_final(tnet *t, int a, int b)
{
    for (int th = 0; th < TN_T; th++)
        assert_int_equal(t->n[b].ch.final_periods[th], t->n[a].ch.final_periods[th]);
}

static void test_fetch_state_then_sync(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, small_parts, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 600);
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a);
    assert_true(tn_ready(t, b, a));
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_begins, 1);
    assert_int_equal(bc->imp_finishes, 1);
    assert_int_equal(bc->imp_aborts, 0);
    check_same_state(t, a, b);
    /* many parts, each asked after the previous one; the roots: the latest block of each thread
     * at or before the cursor — (28,2) for thread 2 */
    assert_true(t->sent[b][a][NET_MSG_STATE_ASK] > 10);
    assert_int_equal(t->sent[a][b][NET_MSG_STATE_PART], t->sent[b][a][NET_MSG_STATE_ASK]);
    assert_int_equal(t->lane_seen[NET_MSG_STATE_ASK], 1);
    assert_int_equal(t->lane_seen[NET_MSG_STATE_PART], 2);
    for (int th = 0; th < TN_T; th++) { /* the roots, nothing below them */
        slot_t root = {th == 2 ? 28 : 30, (uint8_t)th};
        bool found = false;
        for (size_t i = 0; i < bc->nall; i++) {
            slot_t sl = bc->all[i]->h.slot;
            if (sl.thread == th && sl.period > 0 && sl.period <= 30) {
                assert_int_equal(slot_cmp(sl, root), 0);
                found = true;
            }
        }
        assert_true(found);
    }
    /* then the blocks after the roots: those at or below a thread's new final period refused (not
     * a fault), the 10 periods after the cursor taken in order */
    check_same_final(t, a, b);
    assert_int_equal(bc->taken_from_net, 10 * TN_T);
    for (size_t i = 1; i < bc->taken_from_net; i++)
        assert_true(slot_cmp(bc->taken_slots[i - 1], bc->taken_slots[i]) < 0);
    assert_true(slot_cmp(bc->taken_slots[0], (slot_t){31, 0}) == 0);
    net_stats s = stats(t, b);
    assert_false(s.state_fetching);
    assert_false(s.syncing);
    assert_int_equal(s.state_transfers, 1);
    assert_int_equal(s.state_failures, 0);
    assert_int_equal(s.state_records_in, 600);
    assert_int_equal(s.bans_total, 0);
    assert_int_equal(s.state_restarts, 0);
    assert_int_equal(s.state_parts_in, t->sent[a][b][NET_MSG_STATE_PART]);
    assert_int_equal(s.state_cur_records + s.state_cur_bytes + s.state_cur_roots, 0);
    assert_int_equal(s.state_cur_roots_total, 0);
    net_stats sa = stats(t, a);
    assert_int_equal(sa.state_parts_out, t->sent[a][b][NET_MSG_STATE_PART]);
    assert_int_equal(sa.state_records_out, 600);
    assert_int_equal(sa.state_bytes_out, s.state_bytes_in);
    assert_true(s.state_bytes_in > 0);
    /* and it follows */
    const fblock *x = fc_produce(&t->n[a].ch, &t->n[a].key, 41, 1, 1);
    tn_pump(t);
    assert_non_null(fc_get(bc, &x->h.id));
    net_del(t);
}

static void tiny_parts(net_config *c, void *ctx)
{
    (void)ctx;
    c->state_part_bytes = 20; /* below most records: values go in pieces, some of one byte */
}

/* Values larger than a part travel in pieces and are given to the chain whole. */
static void test_values_in_pieces(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, tiny_parts, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 60);
    size_t pieces = 0, bytes = 0;
    for (size_t i = 0; i < 60; i++) {
        const fsrec *r = &t->n[a].ch.st[i];
        size_t room = r->klen < 20 ? 20 - r->klen : 1;
        pieces += r->vlen > room ? (r->vlen + room - 1) / room : 1;
        bytes += r->klen + r->vlen;
    }
    assert_true(pieces > 120); /* most values are cut */
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a);
    assert_true(tn_ready(t, b, a));
    assert_int_equal(t->n[b].ch.imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    net_stats s = stats(t, b), sa = stats(t, a);
    assert_int_equal(s.state_records_in, 60);
    assert_int_equal(sa.state_records_out, 60);
    assert_int_equal(s.bans_total, 0);
    /* a part per piece, or whole records joined in one: never more parts than pieces */
    assert_true(t->sent[a][b][NET_MSG_STATE_PART] > 60);
    assert_true(t->sent[a][b][NET_MSG_STATE_PART] <= pieces);
    assert_true(s.state_bytes_in > bytes); /* a key goes again with each piece */
    net_del(t);
}

static void after_10(net_config *c, void *ctx)
{
    (void)ctx;
    c->state_after_periods = 10;
}

static void test_threshold(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, after_10, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 50);
    t->n[a].ch.kept_from = 0; /* a keeps every block */
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a); /* 40 periods ahead, more than 10: the state first */
    assert_int_equal(t->n[b].ch.imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    tn_connect(t, c, a); /* without a threshold: the blocks from genesis */
    assert_int_equal(t->sent[c][a][NET_MSG_STATE_ASK], 0);
    assert_int_equal(t->n[c].ch.imp_begins, 0);
    check_same_final(t, a, c);
    assert_int_equal(t->n[c].ch.taken_from_net, t->n[a].ch.nall - TN_T);
    net_del(t);
}

static void test_gone_starts_over(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, small_parts, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 300);
    t->n[a].ch.st_gone_at = 3; /* its snapshot goes away at the third part */
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_begins, 2);
    assert_int_equal(bc->imp_aborts, 1);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    assert_int_equal(stats(t, b).bans_total, 0);
    assert_int_equal(stats(t, b).state_restarts, 1); /* started over once */
    assert_int_equal(stats(t, b).state_transfers, 1);
    net_del(t);
}

static void test_unavailable_corrupt_then_elsewhere(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, small_parts, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 200);
    copy_server(t, c, a);
    memcpy(t->n[c].ch.st, t->n[a].ch.st, t->n[a].ch.nst * sizeof *t->n[a].ch.st);
    t->n[c].ch.st_corrupt = 150; /* one record differs from what its fingerprint says */
    t->n[b].ch.refuse_old = true;
    t->n[a].ch.st_serve = false;
    tn_connect(t, b, a); /* a cannot serve: given up for now */
    fchain *bc = &t->n[b].ch;
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 1);
    assert_int_equal(bc->imp_begins, 0);
    assert_int_equal(stats(t, b).state_failures, 1);
    t->n[a].ch.st_serve = true;
    tn_connect(t, b, c); /* c's state does not match: c banned, a asked */
    assert_int_equal(bc->imp_begins, 2);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    assert_false(tn_ready(t, b, c));
    assert_int_equal(t->n[b].last_close_reason, WEFT_E_STATE_CORRUPT);
    assert_true(t->n[b].last_close_banned);
    net_stats s = stats(t, b);
    assert_int_equal(s.bans_total, 1);
    assert_int_equal(s.state_transfers, 1);
    net_del(t);
}

/* b's p2p.state_peers names c only: c serves the state, ahead peer a never is asked */
static void only_from(net_config *c, void *ctx)
{
    small_parts(c, NULL);
    c->state_peers[0] = *(const pubkey_t *)ctx;
    c->state_peer_count = 1;
}

static void test_state_peers(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, only_from, &t->n[c].key.pk, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 200);
    copy_server(t, c, a);
    memcpy(t->n[c].ch.st, t->n[a].ch.st, t->n[a].ch.nst * sizeof *t->n[a].ch.st);
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a); /* ahead, without b's missing blocks, but not named: nothing from it */
    assert_true(tn_ready(t, b, a));
    fchain *bc = &t->n[b].ch;
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 0);
    assert_int_equal(t->sent[b][a][NET_MSG_SYNC_ASK], 0); /* a sync could not complete */
    assert_int_equal(bc->imp_begins, 0);
    tn_connect(t, b, c);
    assert_true(t->sent[b][c][NET_MSG_STATE_ASK] > 0);
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 0);
    assert_int_equal(bc->imp_begins, 1);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, c, b);
    check_same_final(t, c, b);
    assert_int_equal(stats(t, b).bans_total, 0);
    net_del(t);
}

/* an unnamed peer far ahead (state_after_periods) that keeps every block: a block sync from it */
static void far_only_from(net_config *c, void *ctx)
{
    after_10(c, NULL);
    only_from(c, ctx);
}

static void test_state_peers_sync_kept(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0); /* named, never connected */
    int b = tn_add(t, "10.0.0.2", 1002, far_only_from, &t->n[c].key.pk, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 50);
    t->n[a].ch.kept_from = 0; /* a keeps every block */
    tn_connect(t, b, a);
    assert_true(tn_ready(t, b, a));
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 0);
    assert_true(t->sent[b][a][NET_MSG_SYNC_ASK] > 0);
    assert_int_equal(t->n[b].ch.imp_begins, 0);
    check_same_final(t, a, b);
    net_del(t);
}

static void test_silent_peer_timeout(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int c = tn_add(t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 100);
    copy_server(t, c, a);
    t->n[b].ch.refuse_old = true;
    t->drop_from = c;
    t->drop_to = b;
    t->drop_type = NET_MSG_STATE_PART; /* c never answers b */
    tn_connect(t, b, c);
    tn_connect(t, b, a); /* a transfer is under way: a's hello starts nothing */
    fchain *bc = &t->n[b].ch;
    assert_true(stats(t, b).state_fetching);
    assert_int_equal(stats(t, b).state_cur_records, 0); /* nothing came yet */
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 0);
    assert_int_equal(t->sent[b][a][NET_MSG_SYNC_ASK], 0);
    t->now += 9999;
    tn_tick(t);
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], 0);
    t->now += 1;
    tn_tick(t);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    assert_int_equal(stats(t, b).bans_total, 0);     /* slow is not a fault */
    assert_int_equal(stats(t, b).state_restarts, 1); /* moved to a */
    assert_true(tn_ready(t, b, c));
    net_del(t);
}

static void adopt_later_cfg(net_config *c, void *ctx)
{
    (void)ctx;
    c->state_retry_ms = 0;
}

static void test_adopted_at_restart(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    int b = tn_add(t, "10.0.0.2", 1002, adopt_later_cfg, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 100);
    t->n[b].ch.imp_adopt_later = true;
    tn_connect(t, b, a);
    assert_int_equal(t->n[b].ch.imp_finishes, 1);
    assert_int_equal(stats(t, b).state_transfers, 1);
    /* the chain takes it when the node restarts: no sync, no other transfer meanwhile */
    uint32_t asks = t->sent[b][a][NET_MSG_STATE_ASK];
    for (int i = 0; i < 3; i++) {
        t->now += 30000;
        tn_tick(t);
    }
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_ASK], asks);
    assert_int_equal(t->sent[b][a][NET_MSG_SYNC_ASK], 0);
    assert_int_equal(t->n[b].ch.taken_from_net, 0);
    assert_false(stats(t, b).state_fetching);
    net_del(t);
}

/* ---- a scripted peer ------------------------------------------------------------------------- */

/* Drives raw peer r through the handshake with node n on connection ci. */
static void raw_handshake(tnet *t, int ci, int r, int n)
{
    tn_pump(t);
    tframe f;
    assert_int_equal(tn_raw_next(t, r, &f), NET_MSG_HANDSHAKE);
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, f.b, f.len), WEFT_OK);
    free(f.b);
    uint8_t core_nonce[32];
    memcpy(core_nonce, m.u.handshake.nonce, 32);
    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = TN_CHAIN;
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
    hash32_t d;
    signature_t sig;
    net_proof_digest(&d, TN_CHAIN, core_nonce, &t->n[r].key.pk, &t->n[n].key.pk);
    model_sign_digest(&sig, &t->n[r].key, &d);
    wr_init(&w);
    net_enc_proof(&w, &sig);
    tn_raw_send(t, ci, r, w.buf, w.len);
    wr_free(&w);
    tn_pump(t);
    assert_true(tn_ready(t, n, r));
}

/* The next frame of type `type` the raw peer got (others skipped); decoded into *m. */
/* The frame the last raw_expect decoded: m's borrowed bytes (keys) point into it, so it lives
 * until the next call. */
static uint8_t *raw_kept;

static void raw_expect(tnet *t, int r, uint8_t type, net_msg *m)
{
    tframe f;
    uint8_t got;
    free(raw_kept);
    raw_kept = NULL;
    while ((got = tn_raw_next(t, r, &f)) != 0) {
        if (got == type) {
            assert_int_equal(net_msg_decode(m, &lim, f.b, f.len), WEFT_OK);
            raw_kept = f.b;
            return;
        }
        free(f.b);
    }
    fail_msg("no frame of type %u", type);
}

static void raw_send(tnet *t, int ci, int r, wr_t *w)
{
    assert_int_equal(wr_err(w), WEFT_OK);
    tn_raw_send(t, ci, r, w->buf, w->len);
    wr_free(w);
    tn_pump(t);
}

/* A raw peer far ahead that no longer keeps old blocks: n asks it for its state. */
static int raw_server(tnet *t, int n, int *ci)
{
    int r = tn_add_raw(t, "10.0.0.9");
    *ci = tn_connect(t, n, r);
    raw_handshake(t, *ci, r, n);
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = TN_T;
    for (int th = 0; th < TN_T; th++) {
        h.final_periods[th] = 100;
        h.heads[th] = *tn_genesis_id();
    }
    h.kept_from = 90;
    wr_t w;
    wr_init(&w);
    net_enc_hello(&w, &h);
    raw_send(t, *ci, r, &w);
    return r;
}

typedef enum bad_part {
    BAD_ROOTS = 1,
    BAD_ORDER = 2,
    BAD_CURSOR = 3,
    STALE = 4,
    PIECE_OK = 5,     /* the first part ends with the start of a value, the next goes on with it */
    PIECE_OFFSET = 6, /* … at another byte */
    PIECE_KEY = 7,    /* … with another record */
    PIECE_NONE = 8,   /* … with no piece at all: the records after it */
    PIECE_GONE = 9,   /* … its snapshot gone: the transfer starts over, the piece dropped */
} bad_part;

static void run_bad_part(bad_part kind)
{
    tnet *t = net_new();
    int b = tn_add(t, "10.0.0.2", 1002, NULL, NULL, NULL, 0);
    int ci;
    int r = raw_server(t, b, &ci);
    net_msg m;
    raw_expect(t, r, NET_MSG_STATE_ASK, &m);
    assert_false(m.u.state_ask.has_cursor);
    /* the first part: roots in every thread (or not), two records, more to come */
    block_id_t ids[TN_T];
    slot_t slots[TN_T];
    for (int th = 0; th < TN_T; th++) {
        memset(ids[th].h.b, 0x30 + th, 32);
        slots[th] = (slot_t){95, (uint8_t)th};
    }
    uint8_t k1[4] = {1, 1, 1, 1}, k2[4] = {2, 2, 2, 2}, k3[4] = {3, 3, 3, 3}, v[2] = {9, 9};
    net_state_rec recs[2] = {{1, 4, k1, 2, v}, {1, 4, k2, 2, v}};
    bool piece = kind >= PIECE_OK;
    net_state_part p;
    memset(&p, 0, sizeof p);
    p.cursor = kind == STALE ? (slot_t){0, TN_T - 1} : (slot_t){96, 0};
    if (kind == STALE) /* a state not past ours (genesis): of no use, not a fault */
        for (int th = 0; th < TN_T; th++)
            slots[th] = (slot_t){0, (uint8_t)th};
    memset(p.fingerprint, 0x44, sizeof p.fingerprint);
    p.root_ids = ids;
    p.root_slots = slots;
    p.nroots = kind == BAD_ROOTS ? TN_T - 1 : TN_T;
    p.recs = recs;
    p.count = 2;
    p.more = true;
    p.last_partial = piece; /* k2's value: 2 bytes here, the rest to come */
    wr_t w;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    raw_send(t, ci, r, &w);
    if (kind == STALE) {
        assert_true(tn_ready(t, b, r));
        net_stats s = stats(t, b);
        assert_false(s.state_fetching);
        assert_int_equal(s.state_failures, 1);
        assert_int_equal(s.bans_total, 0);
        assert_int_equal(t->n[b].ch.imp_begins, 0);
        net_del(t);
        return;
    }
    if (kind != BAD_ROOTS) {
        assert_true(tn_ready(t, b, r));
        raw_expect(t, r, NET_MSG_STATE_ASK, &m);
        assert_true(m.u.state_ask.has_cursor && m.u.state_ask.has_after);
        assert_int_equal(m.u.state_ask.cursor.period, 96);
        assert_int_equal(m.u.state_ask.after_klen, 4);
        assert_memory_equal(m.u.state_ask.after_key, k2, 4);
        assert_int_equal(m.u.state_ask.after_offset, piece ? 2 : 0);
        assert_int_equal(t->n[b].ch.nimp, piece ? 1 : 2); /* k2 is kept until whole */
        if (kind == PIECE_GONE) {
            net_state_part gone;
            memset(&gone, 0, sizeof gone);
            gone.status = NET_STATE_GONE;
            wr_init(&w);
            net_enc_state_part(&w, &gone);
            raw_send(t, ci, r, &w);
            raw_expect(t, r, NET_MSG_STATE_ASK, &m); /* from scratch: no cursor, no value held */
            assert_false(m.u.state_ask.has_cursor || m.u.state_ask.has_after);
            assert_int_equal(m.u.state_ask.after_offset, 0);
            assert_true(tn_ready(t, b, r));
            net_stats s = stats(t, b);
            assert_true(s.state_fetching);
            assert_int_equal(s.state_restarts, 1);
            assert_int_equal(s.bans_total, 0);
            assert_int_equal(t->n[b].ch.imp_aborts, 1); /* the first import dropped */
            /* the new transfer's first part: whole records again */
            p.cursor = (slot_t){97, 0};
            p.nroots = TN_T;
            p.recs = recs;
            recs[1].vlen = 2;
            p.count = 2;
            p.last_partial = false;
            p.more = true;
            wr_init(&w);
            net_enc_state_part(&w, &p);
            raw_send(t, ci, r, &w);
            raw_expect(t, r, NET_MSG_STATE_ASK, &m);
            assert_true(m.u.state_ask.has_after);
            assert_int_equal(m.u.state_ask.after_offset, 0);
            assert_int_equal(t->n[b].ch.nimp, 2);
            assert_int_equal(t->n[b].ch.imp[1].vlen, 2);
            assert_true(tn_ready(t, b, r));
            net_del(t);
            return;
        }
        if (piece) {
            uint8_t rest[3] = {7, 7, 7};
            net_state_rec rr = {1, 4, kind == PIECE_KEY || kind == PIECE_NONE ? k3 : k2, 3, rest};
            p.nroots = 0;
            p.recs = &rr;
            p.count = 1;
            p.first_offset = kind == PIECE_OFFSET ? 3 : kind == PIECE_NONE ? 0 : 2;
            p.last_partial = p.more = false;
            wr_init(&w);
            net_enc_state_part(&w, &p);
            raw_send(t, ci, r, &w);
            if (kind == PIECE_OK) { /* k2 whole: 2 + 3 bytes */
                assert_true(tn_ready(t, b, r));
                const fchain *bc = &t->n[b].ch;
                assert_int_equal(bc->nimp, 2);
                assert_memory_equal(bc->imp[1].key, k2, 4);
                uint8_t whole[5] = {9, 9, 7, 7, 7};
                assert_int_equal(bc->imp[1].vlen, 5);
                assert_memory_equal(bc->imp[1].val, whole, 5);
                assert_int_equal(stats(t, b).state_records_in, 2);
                assert_int_equal(stats(t, b).bans_total, 0);
                net_del(t);
                return;
            }
        } else {
            /* the next part: a record not after the resume point, or another cursor */
            p.nroots = 0;
            p.count = 1;
            p.recs = kind == BAD_ORDER ? &recs[1] : &recs[0];
            if (kind == BAD_CURSOR) {
                recs[0].key = k3;
                p.cursor.period = 97;
            }
            wr_init(&w);
            net_enc_state_part(&w, &p);
            raw_send(t, ci, r, &w);
        }
    }
    assert_false(tn_ready(t, b, r));
    assert_true(t->n[b].last_close_banned);
    assert_int_equal(t->n[b].last_close_reason, WEFT_E_NET_MESSAGE);
    net_stats s = stats(t, b);
    assert_false(s.state_fetching);
    assert_int_equal(s.state_failures, 1);
    assert_int_equal(t->n[b].ch.imp_finishes, 0);
    assert_int_equal(t->n[b].ch.imp_aborts, kind == BAD_ROOTS ? 0 : 1);
    assert_false(t->n[b].ch.imp_on);
    net_del(t);
}

static void test_bad_parts_banned(void **state)
{
    (void)state;
    run_bad_part(BAD_ROOTS);
    run_bad_part(BAD_ORDER);
    run_bad_part(BAD_CURSOR);
    run_bad_part(STALE);
    run_bad_part(PIECE_OK);
    run_bad_part(PIECE_OFFSET);
    run_bad_part(PIECE_KEY);
    run_bad_part(PIECE_NONE);
    run_bad_part(PIECE_GONE);
}

static void budget_cfg(net_config *c, void *ctx)
{
    (void)ctx;
    c->max_bytes_per_window = 2000;
}

static void test_serving_statuses(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, budget_cfg, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 400);
    int r = tn_add_raw(t, "10.0.0.9");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a);
    net_msg m;
    /* a start: the first part with the roots, within the asked bytes */
    net_state_ask ask;
    memset(&ask, 0, sizeof ask);
    ask.max_bytes = 1000;
    wr_t w;
    wr_init(&w);
    net_enc_state_ask(&w, &ask);
    raw_send(t, ci, r, &w);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_OK);
    assert_int_equal(m.u.state_part.nroots, TN_T);
    assert_true(m.u.state_part.count > 1 && m.u.state_part.more);
    size_t bytes = 0;
    for (uint32_t i = 0; i < m.u.state_part.count; i++)
        bytes += m.u.state_part.recs[i].klen + m.u.state_part.recs[i].vlen;
    assert_true(bytes <= 1000);
    net_msg_free(&m);
    /* a cursor it does not serve: gone */
    ask.has_cursor = true;
    ask.cursor = (slot_t){29, 0};
    wr_init(&w);
    net_enc_state_ask(&w, &ask);
    raw_send(t, ci, r, &w);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_GONE);
    /* beyond the answer budget of the window: busy, until the window passes */
    ask.cursor = (slot_t){30, TN_T - 1};
    for (int i = 0; i < 3; i++) {
        wr_init(&w);
        net_enc_state_ask(&w, &ask);
        raw_send(t, ci, r, &w);
    }
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_OK);
    net_msg_free(&m);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_BUSY);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_BUSY);
    t->now += 1000;
    wr_init(&w);
    net_enc_state_ask(&w, &ask);
    raw_send(t, ci, r, &w);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_OK);
    assert_int_equal(m.u.state_part.nroots, 0); /* roots with the first part only */
    net_msg_free(&m);
    /* a node that serves no state */
    t->n[a].ch.st_serve = false;
    ask.has_cursor = false;
    wr_init(&w);
    net_enc_state_ask(&w, &ask);
    raw_send(t, ci, r, &w);
    raw_expect(t, r, NET_MSG_STATE_PART, &m);
    assert_int_equal(m.u.state_part.status, NET_STATE_UNAVAILABLE);
    assert_true(tn_ready(t, a, r));
    assert_int_equal(stats(t, a).bans_total, 0);
    net_del(t);
}

/* ---- fingerprint checks by other peers ------------------------------------------------------- */

/* Node n holds a copy of node from's blocks and state, but does not serve it (it answers checks).
 */
static void copy_checker(tnet *t, int n, int from)
{
    copy_server(t, n, from);
    memcpy(t->n[n].ch.st, t->n[from].ch.st, t->n[from].ch.nst * sizeof *t->n[from].ch.st);
    t->n[n].ch.st_serve = false;
}

/* The usual checks setup: a serves a state of 200 records (final at (30, T-1)), b (configured by
 * bcfg) will fetch it, c holds a copy of a's blocks and state and only checks. */
typedef struct trio {
    tnet *t;
    int a, b, c;
} trio;

static trio trio_new(void (*bcfg)(net_config *c, void *ctx))
{
    trio x;
    x.t = net_new();
    x.a = tn_add(x.t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    x.b = tn_add(x.t, "10.0.0.2", 1002, bcfg, NULL, NULL, 0);
    x.c = tn_add(x.t, "10.0.0.3", 1003, NULL, NULL, NULL, 0);
    produce_chain(x.t, x.a, 40);
    make_server(x.t, x.a, 200);
    copy_checker(x.t, x.c, x.a);
    return x;
}

/* Another checker, 10.0.0.k, holding a copy of node from's blocks and state. */
static int checker_new(tnet *t, int from, int k)
{
    char ip[16];
    snprintf(ip, sizeof ip, "10.0.0.%d", k);
    int n = tn_add(t, ip, (uint16_t)(1000 + k), NULL, NULL, NULL, 0);
    copy_checker(t, n, from);
    return n;
}

/* b adopted a's state, confirmed by that many checkers. */
static void check_adopted(tnet *t, int a, int b, uint64_t confirmed)
{
    assert_int_equal(t->n[b].ch.imp_finishes, 1);
    check_same_state(t, a, b);
    assert_int_equal(stats(t, b).state_confirmed, confirmed);
}

/* b, connected to checkers first (which cannot serve: b's transfers with them fail at once), then
 * to the server a: a's state is checked by them.  Returns the connection with the server. */
static int connect_checkers_then(tnet *t, int b, const int *checkers, int n, int server)
{
    t->n[b].ch.refuse_old = true;
    for (int i = 0; i < n; i++) {
        tn_connect(t, b, checkers[i]);
        assert_true(tn_ready(t, b, checkers[i]));
    }
    return tn_connect(t, b, server);
}

/* The serving side: a check answered with the fingerprint at the state's cursor, "ahead" after
 * it, "not kept" before it; more than NET_STATE_CHECKS_PER_WINDOW in a window is a fault. */
static void test_checks_served(void **state)
{
    (void)state;
    tnet *t = net_new();
    int a = tn_add(t, "10.0.0.1", 1001, NULL, NULL, NULL, 0);
    produce_chain(t, a, 40);
    make_server(t, a, 50);
    int r = tn_add_raw(t, "10.0.0.9");
    int ci = tn_connect(t, r, a);
    raw_handshake(t, ci, r, a);
    uint8_t fp[NET_STATE_FP_LEN];
    fc_state_fp(t->n[a].ch.st, t->n[a].ch.nst, fp);
    const slot_t slots[3] = {{30, TN_T - 1}, {31, 0}, {30, 0}};
    const uint8_t want[3] = {NET_CHECK_KNOWN, NET_CHECK_AHEAD, NET_CHECK_NOT_KEPT};
    t->now += 2000; /* a new rate window */
    tn_tick(t);
    for (int i = 0; i < NET_STATE_CHECKS_PER_WINDOW; i++) {
        wr_t w;
        wr_init(&w);
        net_enc_state_check(&w, slots[i % 3]);
        raw_send(t, ci, r, &w);
        net_msg m;
        raw_expect(t, r, NET_MSG_STATE_CHECKED, &m);
        assert_int_equal(slot_cmp(m.u.state_checked.slot, slots[i % 3]), 0);
        assert_int_equal(m.u.state_checked.status, want[i % 3]);
        if (want[i % 3] == NET_CHECK_KNOWN)
            assert_memory_equal(m.u.state_checked.fingerprint, fp, sizeof fp);
    }
    assert_true(tn_ready(t, a, r));
    assert_int_equal(stats(t, a).state_checks_answered, (NET_STATE_CHECKS_PER_WINDOW + 2) / 3);
    size_t asked = t->n[a].ch.checks;
    wr_t w;
    wr_init(&w);
    net_enc_state_check(&w, slots[0]);
    raw_send(t, ci, r, &w);
    assert_false(tn_ready(t, a, r)); /* one too many: closed and banned, the chain not asked */
    assert_int_equal(t->n[a].last_close_reason, WEFT_E_NET_LIMIT);
    assert_true(t->n[a].last_close_banned);
    assert_int_equal(t->n[a].ch.checks, asked);
    net_del(t);
}

static void test_checks_confirm(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    int checkers[] = {c};
    connect_checkers_then(t, b, checkers, 1, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    check_same_final(t, a, b);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 1);
    assert_int_equal(t->sent[c][b][NET_MSG_STATE_CHECKED], 1);
    assert_int_equal(stats(t, c).state_checks_answered, 1);
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_CHECK], 0); /* not the server itself */
    net_stats s = stats(t, b);
    assert_int_equal(s.state_confirmed, 1);
    assert_int_equal(s.state_contradicted, 0);
    assert_int_equal(s.state_disputed, 0);
    assert_int_equal(s.state_transfers, 1);
    assert_int_equal(s.bans_total, 0);
    net_del(t);
}

/* A state whose fingerprint the other peers contradict is dropped before it is adopted, without
 * a ban; one peer contradicting while more confirm does not stop a state. */
static void test_checks_contradict(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    int d = checker_new(t, a, 4), e = checker_new(t, a, 5);
    fc_state_fill(&t->n[a].ch, 200, 2); /* a's state is another one, at the same cursor */
    int checkers[] = {c, d};
    connect_checkers_then(t, b, checkers, 2, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_begins, 1);
    assert_int_equal(bc->imp_aborts, 1);
    assert_int_equal(bc->imp_finishes, 0);
    assert_int_equal(bc->nst, 0);
    net_stats s = stats(t, b);
    /* dropped at the first contradiction: the other check could at best tie it */
    assert_int_equal(s.state_contradicted, 1);
    assert_int_equal(s.state_confirmed, 0);
    assert_int_equal(s.state_disputed, 1);
    assert_int_equal(s.bans_total, 0); /* who is wrong cannot be told */
    /* dropped as soon as the answers came: fewer parts than the whole state */
    assert_true(s.state_records_in < 200);
    /* c then serves the real state: a contradicts it, but d and e confirm it (e's hello starts
     * a round: e cannot serve, then c is asked) */
    t->n[c].ch.st_serve = true;
    tn_connect(t, b, e);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, c, b);
    assert_int_equal(t->sent[b][a][NET_MSG_STATE_CHECK], 1);
    assert_int_equal(t->sent[b][e][NET_MSG_STATE_CHECK], 1);
    s = stats(t, b);
    assert_int_equal(s.state_contradicted, 2); /* a's by c, then c's by a */
    assert_int_equal(s.state_confirmed, 2);
    assert_int_equal(s.state_disputed, 1);
    assert_int_equal(s.bans_total, 0);
    net_del(t);
}

/* A checker not final at the cursor yet is asked again until it is; the state waits for it. */
static void test_checks_wait_for_checker(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    t->n[c].ch.st_cursor = (slot_t){30, 0}; /* c's state is behind a's cursor */
    int checkers[] = {c};
    int ci = connect_checkers_then(t, b, checkers, 1, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->nimp, 200);       /* everything came … */
    assert_int_equal(bc->imp_finishes, 0); /* … but the check is not done */
    assert_true(stats(t, b).state_fetching);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 1);
    t->now += NET_STATE_CHECK_RETRY_MS - 1;
    tn_tick(t);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 1);
    t->now += 1;
    tn_tick(t);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 2);
    assert_int_equal(bc->imp_finishes, 0);
    tn_close(t, ci); /* the server leaves: not needed any more */
    tn_tick(t);
    assert_true(stats(t, b).state_fetching);
    assert_int_equal(bc->imp_aborts, 0);
    t->n[c].ch.st_cursor = t->n[a].ch.st_cursor; /* c finalizes the cursor */
    t->now += NET_STATE_CHECK_RETRY_MS;
    tn_tick(t);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 3);
    check_adopted(t, a, b, 1);
    net_del(t);
}

/* A check nobody answers is given up after ask_timeout_ms; the state is adopted without it. */
static void test_checks_unanswered(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    t->drop_from = c;
    t->drop_to = b;
    t->drop_type = NET_MSG_STATE_CHECKED;
    int checkers[] = {c};
    connect_checkers_then(t, b, checkers, 1, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_finishes, 0);
    net_config dc;
    net_config_default(&dc);
    t->now += dc.ask_timeout_ms - 1;
    tn_tick(t);
    assert_int_equal(bc->imp_finishes, 0);
    t->now += 1;
    tn_tick(t);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    net_stats s = stats(t, b);
    assert_int_equal(s.state_confirmed + s.state_contradicted + s.state_disputed, 0);
    assert_int_equal(s.bans_total, 0);
    assert_true(tn_ready(t, b, c));
    net_del(t);
}

/* Checks that end without an answer either way: a checker that leaves, one whose cursor never
 * reaches ours (asked NET_STATE_CHECK_TRIES times), one that no longer keeps the slot.  The state
 * is adopted once none is waiting; with state_confirmations = 1 it would not be. */
static void test_checks_no_answer(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    int d = checker_new(t, a, 4), e = checker_new(t, a, 5);
    t->n[c].ch.st_cursor = (slot_t){30, 0}; /* behind: "ahead" */
    t->n[d].ch.st_cursor = (slot_t){30, 0}; /* behind, and it will leave */
    t->n[e].ch.st_cursor = (slot_t){31, 0}; /* past it: "not kept" */
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, c);
    int cd = tn_connect(t, b, d);
    tn_connect(t, b, e);
    tn_connect(t, b, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->nimp, 200);
    assert_int_equal(bc->imp_finishes, 0);
    assert_int_equal(t->sent[e][b][NET_MSG_STATE_CHECKED], 1);
    tn_close(t, cd); /* d leaves */
    for (int k = 1; k < NET_STATE_CHECK_TRIES; k++) {
        assert_int_equal(bc->imp_finishes, 0);
        t->now += NET_STATE_CHECK_RETRY_MS;
        tn_tick(t);
    }
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], NET_STATE_CHECK_TRIES);
    assert_int_equal(t->sent[b][e][NET_MSG_STATE_CHECK], 1);
    assert_int_equal(bc->imp_finishes, 1); /* the last "ahead" ends the wait */
    t->now += 10 * NET_STATE_CHECK_RETRY_MS;
    tn_tick(t);
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], NET_STATE_CHECK_TRIES);
    net_stats s = stats(t, b);
    assert_int_equal(s.state_confirmed + s.state_contradicted + s.state_disputed, 0);
    assert_int_equal(s.state_transfers, 1);
    net_del(t);
}

/* A server that leaves while the checks are waiting, and whose records then do not give the
 * fingerprint it announced, is banned all the same. */
static void test_checks_server_left_banned(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    t->n[c].ch.st_cursor = (slot_t){30, 0}; /* c's state is behind a's cursor */
    t->n[a].ch.st_corrupt = 120;            /* a record differs from what the fingerprint says */
    int checkers[] = {c};
    int ci = connect_checkers_then(t, b, checkers, 1, a);
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->nimp, 200);
    tn_close(t, ci);
    t->n[c].ch.st_cursor = t->n[a].ch.st_cursor;
    t->now += NET_STATE_CHECK_RETRY_MS;
    tn_tick(t);
    net_stats s = stats(t, b);
    assert_int_equal(s.state_confirmed, 1); /* the fingerprint is the network's … */
    assert_int_equal(bc->imp_finishes, 0);  /* … the records are not: the chain dropped them */
    assert_false(bc->imp_on);
    assert_int_equal(s.bans_total, 1);
    tn_connect(t, b, a); /* banned: refused */
    assert_false(tn_ready(t, b, a));
    net_del(t);
}

/* Which peers check: up to NET_STATE_CHECKERS, peers we dialed before those that dialed us, never
 * one on the server's IP. */
static void test_checks_chosen(void **state)
{
    (void)state;
    trio x = trio_new(small_parts);
    tnet *t = x.t;
    int a = x.a, b = x.b;
    int same = tn_add(t, "10.0.0.1", 1009, NULL, NULL, NULL, 0); /* the server's IP */
    copy_checker(t, same, a);
    int in = checker_new(t, a, 8); /* it dials b */
    int out[4] = {x.c, checker_new(t, a, 4), checker_new(t, a, 5), checker_new(t, a, 6)};
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, same);
    tn_connect(t, in, b);
    for (int i = 0; i < 4; i++)
        tn_connect(t, b, out[i]);
    tn_connect(t, b, a);
    assert_int_equal(t->n[b].ch.imp_finishes, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t->sent[b][out[i]][NET_MSG_STATE_CHECK], 1);
    assert_int_equal(t->sent[b][in][NET_MSG_STATE_CHECK], 0);
    assert_int_equal(t->sent[b][same][NET_MSG_STATE_CHECK], 0);
    assert_int_equal(stats(t, b).state_confirmed, 4);
    net_del(t);
}

static void confirm_1(net_config *c, void *ctx)
{
    small_parts(c, ctx);
    c->state_confirmations = 1;
}

/* p2p.state_confirmations: a state nobody confirms is not adopted; one confirmed is. */
static void test_checks_required(void **state)
{
    (void)state;
    trio x = trio_new(confirm_1);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    t->n[b].ch.refuse_old = true;
    tn_connect(t, b, a); /* no other peer to confirm it */
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->imp_begins, 1);
    assert_int_equal(bc->imp_finishes, 0);
    assert_int_equal(bc->imp_aborts, 1);
    net_stats s = stats(t, b);
    assert_int_equal(s.state_disputed, 1);
    assert_int_equal(s.state_failures, 1);
    assert_int_equal(s.state_records_in, 200); /* fetched, and dropped at the end */
    assert_int_equal(s.bans_total, 0);
    tn_connect(t, b, c); /* c cannot serve (its hello starts a round), but it confirms a's */
    check_adopted(t, a, b, 1);
    net_del(t);
}

/* A peer that becomes ready while a transfer runs checks it too (a node starting up connects
 * to its peers one by one, and its first transfer starts with the first hello). */
static void test_checks_late_checker(void **state)
{
    (void)state;
    trio x = trio_new(confirm_1);
    tnet *t = x.t;
    int a = x.a, b = x.b, c = x.c;
    int d = checker_new(t, a, 4);
    t->n[d].ch.st_cursor = (slot_t){30, 0}; /* d's state is behind a's cursor: it holds the end */
    t->n[b].ch.refuse_old = true;
    int ci = tn_connect(t, b, d);
    assert_true(tn_ready(t, b, d));
    tn_connect(t, b, a); /* the transfer from a begins: d is its only checker, "ahead" */
    fchain *bc = &t->n[b].ch;
    assert_int_equal(bc->nimp, 200);
    assert_int_equal(bc->imp_finishes, 0);
    tn_connect(t, c, b); /* c dials b while it waits: it joins the checkers and confirms */
    assert_int_equal(t->sent[b][c][NET_MSG_STATE_CHECK], 1);
    assert_int_equal(stats(t, b).state_confirmed, 1);
    assert_int_equal(bc->imp_finishes, 0); /* d still waited for */
    tn_close(t, ci);                       /* d leaves */
    tn_tick(t);
    assert_int_equal(bc->imp_finishes, 1);
    check_same_state(t, a, b);
    net_del(t);
}

/* ---- the fuzz corpus (fuzz/net_frame) -------------------------------------------------------- */

typedef struct seq {
    const char *name;
    wr_t w;
} seq;

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

static void run_seq(const seq *q, bool want_open, bool want_banned, size_t want_imported)
{
    fz_env e;
    fz_init(&e);
    fz_feed(&e, q->w.buf, q->w.len);
    if (e.closed == want_open)
        fail_msg("%s: closed=%d reason=%s", q->name, e.closed, weft_err_name(e.reason));
    assert_int_equal(e.banned, want_banned);
    if (e.ch.imp_finishes != want_imported)
        fail_msg("%s: %zu imports, want %zu", q->name, e.ch.imp_finishes, want_imported);
    fz_free(&e);
}

/* Writes the state transfer's entries of the net_frame corpus (WEFT_NET_FRAME_CORPUS=dir) and
 * checks what each does to the fuzz environment's core. */
static void test_fuzz_corpus(void **state)
{
    (void)state;
    const char *dir = getenv("WEFT_NET_FRAME_CORPUS");
    seq q[5];
    memset(q, 0, sizeof q);
    for (int i = 0; i < 5; i++)
        wr_init(&q[i].w);

    /* serving: a start, a resume point, a cursor it does not serve */
    q[0].name = "state_serve";
    net_state_ask ask;
    memset(&ask, 0, sizeof ask);
    ask.max_bytes = 300;
    net_enc_state_ask(&q[0].w, &ask);
    uint8_t key[6] = {0, 0, 0, 9, 1, 2};
    ask.has_cursor = true;
    ask.cursor = (slot_t){1, 1};
    ask.has_after = true;
    ask.after_table = 3;
    ask.after_key = key;
    ask.after_klen = sizeof key;
    net_enc_state_ask(&q[0].w, &ask);
    ask.cursor = (slot_t){0, 3};
    net_enc_state_ask(&q[0].w, &ask);

    /* fetching: a peer far ahead that keeps no old blocks; its state in two parts, then its
     * root blocks (period 2 in every thread, over the genesis blocks) */
    fz_env e;
    fz_init(&e); /* for its keys */
    block_id_t gen[TN_T];
    for (int th = 0; th < TN_T; th++)
        gen[th] = e.ch.all[th]->h.id;
    block_header_t roots[TN_T];
    block_id_t root_ids[TN_T];
    slot_t root_slots[TN_T];
    for (int th = 0; th < TN_T; th++) {
        memset(&roots[th], 0, sizeof roots[th]);
        roots[th].version = HEADER_VERSION;
        roots[th].slot = (slot_t){2, (uint8_t)th};
        roots[th].parent_count = TN_T;
        memcpy(roots[th].parents, gen, sizeof gen);
        block_ops_hash(&roots[th].ops_hash, NULL, 0);
        header_sign(&roots[th], &e.raw);
        root_ids[th] = roots[th].id;
        root_slots[th] = roots[th].slot;
    }
    fchain st;
    fc_init(&st);
    fc_state_fill(&st, 12, 3);
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = TN_T;
    for (int th = 0; th < TN_T; th++) {
        h.final_periods[th] = 3;
        h.heads[th] = gen[th];
    }
    h.kept_from = 3;
    net_state_part p;
    memset(&p, 0, sizeof p);
    p.cursor = (slot_t){2, TN_T - 1};
    fc_state_fp(st.st, st.nst, p.fingerprint);
    net_state_rec recs[12];
    for (int i = 0; i < 12; i++)
        recs[i] = (net_state_rec){st.st[i].table, st.st[i].klen, st.st[i].key, st.st[i].vlen,
                                  st.st[i].val};
    for (int k = 1; k < 3; k++) {
        q[k].name = k == 1 ? "state_fetch" : "state_bad_resume";
        net_enc_hello(&q[k].w, &h);
        p.root_ids = root_ids;
        p.root_slots = root_slots;
        p.nroots = TN_T;
        p.recs = recs;
        p.count = 7;
        p.more = true;
        net_enc_state_part(&q[k].w, &p);
        p.root_ids = NULL;
        p.root_slots = NULL;
        p.nroots = 0;
        p.recs = k == 1 ? recs + 7 : recs + 6; /* the second: a record already given */
        p.count = k == 1 ? 5 : 6;
        p.more = false;
        net_enc_state_part(&q[k].w, &p);
        for (int th = 0; th < TN_T; th++)
            net_enc_block_full(&q[k].w, &roots[th], NULL, NULL, 0);
    }
    /* the same state, a value cut in two: the first part ends with its start, the second goes on
     * with the rest */
    int cut = 1;
    while (cut < 11 && st.st[cut].vlen < 2)
        cut++;
    assert_true(cut < 11);
    uint32_t half = st.st[cut].vlen / 2;
    q[3].name = "state_pieces";
    net_enc_hello(&q[3].w, &h);
    p.root_ids = root_ids;
    p.root_slots = root_slots;
    p.nroots = TN_T;
    p.recs = recs;
    p.count = (uint32_t)cut + 1;
    recs[cut].vlen = half;
    p.last_partial = p.more = true;
    net_enc_state_part(&q[3].w, &p);
    p.root_ids = NULL;
    p.root_slots = NULL;
    p.nroots = 0;
    p.recs = recs + cut;
    p.count = 12 - (uint32_t)cut;
    recs[cut].val += half;
    recs[cut].vlen = st.st[cut].vlen - half;
    p.first_offset = half;
    p.last_partial = p.more = false;
    net_enc_state_part(&q[3].w, &p);
    for (int th = 0; th < TN_T; th++)
        net_enc_block_full(&q[3].w, &roots[th], NULL, NULL, 0);
    /* fingerprint checks: asked at a slot, and an answer nobody asked for (dropped) */
    q[4].name = "state_check";
    net_enc_state_check(&q[4].w, (slot_t){1, 1});
    net_enc_state_check(&q[4].w, (slot_t){900, 0});
    net_enc_state_checked(&q[4].w, (slot_t){2, 3}, NET_CHECK_KNOWN, p.fingerprint);
    net_enc_state_checked(&q[4].w, (slot_t){2, 3}, NET_CHECK_AHEAD, NULL);
    fc_free(&st);
    fz_free(&e);

    run_seq(&q[0], true, false, 0);
    run_seq(&q[1], true, false, 1);
    run_seq(&q[2], false, true, 0);
    run_seq(&q[3], true, false, 1);
    run_seq(&q[4], true, false, 0);
    for (int i = 0; i < 5; i++) {
        corpus_write(dir, &q[i]);
        wr_free(&q[i].w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_state_then_sync),
        cmocka_unit_test(test_values_in_pieces),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_gone_starts_over),
        cmocka_unit_test(test_unavailable_corrupt_then_elsewhere),
        cmocka_unit_test(test_silent_peer_timeout),
        cmocka_unit_test(test_state_peers),
        cmocka_unit_test(test_state_peers_sync_kept),
        cmocka_unit_test(test_adopted_at_restart),
        cmocka_unit_test(test_bad_parts_banned),
        cmocka_unit_test(test_serving_statuses),
        cmocka_unit_test(test_checks_confirm),
        cmocka_unit_test(test_checks_contradict),
        cmocka_unit_test(test_checks_wait_for_checker),
        cmocka_unit_test(test_checks_unanswered),
        cmocka_unit_test(test_checks_required),
        cmocka_unit_test(test_checks_served),
        cmocka_unit_test(test_checks_no_answer),
        cmocka_unit_test(test_checks_server_left_banned),
        cmocka_unit_test(test_checks_chosen),
        cmocka_unit_test(test_checks_late_checker),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
