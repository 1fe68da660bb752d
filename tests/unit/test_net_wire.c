/* Unit tests of the protocol's messages (src/net/wire.c, docs/protocol.md): every message type
 * round-trips; every strict prefix of a valid frame, a trailing byte and a wrong length prefix are
 * rejected; counts above their limits are rejected before anything is allocated; addresses. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "crypto/crypto.h"
#include "model/model.h"
#include "net/net.h"
#include "net/net_wire.h"

#define T 4
#define CHAIN 77

static net_config cfg;
static net_wire_limits lim;
static keypair_t kp;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), WEFT_OK);
    net_config_default(&cfg);
    cfg.thread_count = T;
    cfg.chain_id = CHAIN;
    cfg.max_ops_per_message = 50;
    net_wire_limits_init(&lim, &cfg);
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    keypair_from_seed(&kp, seed);
    return 0;
}

static void fill_id(block_id_t *id, uint8_t v) { memset(id->h.b, v, sizeof id->h.b); }

static void make_header(block_header_t *h, uint64_t period, uint8_t thread)
{
    memset(h, 0, sizeof *h);
    h->version = HEADER_VERSION;
    h->slot.period = period;
    h->slot.thread = thread;
    h->parent_count = T;
    for (uint32_t i = 0; i < T; i++)
        fill_id(&h->parents[i], (uint8_t)(0x10 + i));
    memset(h->ops_hash.b, 0x55, 32);
    h->endorsement_count = 1;
    endorsement_t *e = &h->endorsements[0];
    e->slot = h->slot;
    e->index = 2;
    e->endorsed = h->parents[thread];
    endorsement_sign(e, &kp);
    header_sign(h, &kp);
}

/* A signed transaction in wire form (malloc'd). */
static uint8_t *make_op(uint64_t fee, size_t *len, op_id_t *id)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(fee);
    op.expire_period = 10;
    op.type = OP_TRANSACTION;
    address_of_pubkey(&op.u.transaction.recipient, &kp.pk);
    op.u.transaction.amount = amount_from_nano(1000);
    wr_t w;
    wr_init(&w);
    op_encode(&w, &op);
    hash32_t d;
    op_digest(&d, CHAIN, &kp.pk, w.buf, w.len);
    signature_t sig;
    model_sign_digest(&sig, &kp, &d);
    signed_op_t so;
    assert_int_equal(signed_op_from_parts(&so, CHAIN, &kp.pk, &sig, w.buf, w.len), WEFT_OK);
    wr_free(&w);
    wr_init(&w);
    signed_op_encode(&w, &so);
    if (id)
        *id = so.id;
    signed_op_free(&so);
    return wr_take(&w, len);
}

/* Decodes a frame that must be valid, then checks that every strict prefix, one trailing byte and
 * a wrong length prefix are rejected. */
static void decode_ok_and_strict(const wr_t *w, net_msg *m)
{
    assert_int_equal(wr_err(w), WEFT_OK);
    assert_int_equal(net_msg_decode(m, &lim, w->buf, w->len), WEFT_OK);
    size_t total;
    assert_int_equal(net_frame_check(w->buf, cfg.max_frame, &total), WEFT_OK);
    assert_int_equal(total, w->len);
    uint8_t *b = malloc(w->len + 1);
    assert_non_null(b);
    for (size_t k = NET_FRAME_HEADER; k < w->len; k++) {
        memcpy(b, w->buf, k);
        uint32_t l = (uint32_t)(k - 4);
        b[0] = (uint8_t)(l >> 24), b[1] = (uint8_t)(l >> 16), b[2] = (uint8_t)(l >> 8),
        b[3] = (uint8_t)l;
        net_msg x;
        weft_err e = net_msg_decode(&x, &lim, b, k);
        if (e == WEFT_OK)
            fail_msg("prefix of %zu/%zu bytes of %s decoded", k, w->len, net_msg_name(w->buf[4]));
    }
    memcpy(b, w->buf, w->len);
    b[w->len] = 0;
    uint32_t l = (uint32_t)(w->len + 1 - 4);
    b[0] = (uint8_t)(l >> 24), b[1] = (uint8_t)(l >> 16), b[2] = (uint8_t)(l >> 8),
    b[3] = (uint8_t)l;
    net_msg x;
    assert_int_equal(net_msg_decode(&x, &lim, b, w->len + 1), WEFT_E_TRAILING);
    /* a length prefix that disagrees with the frame */
    assert_int_not_equal(net_msg_decode(&x, &lim, b, w->len), WEFT_OK);
    free(b);
}

static void test_frame_check(void **state)
{
    (void)state;
    size_t total = 99;
    uint8_t h[5] = {0, 0, 0, 0, NET_MSG_HELLO};
    assert_int_equal(net_frame_check(h, 100, &total), WEFT_E_NET_MESSAGE);
    assert_int_equal(total, 0);
    h[3] = 1; /* type only, empty body */
    assert_int_equal(net_frame_check(h, 100, &total), WEFT_OK);
    assert_int_equal(total, 5);
    h[3] = 101; /* body of 100 = max */
    assert_int_equal(net_frame_check(h, 100, &total), WEFT_OK);
    assert_int_equal(total, 105);
    h[3] = 102;
    assert_int_equal(net_frame_check(h, 100, &total), WEFT_E_NET_LIMIT);
    uint8_t big[5] = {0xff, 0xff, 0xff, 0xff, 1};
    assert_int_equal(net_frame_check(big, NET_MAX_FRAME, &total), WEFT_E_NET_LIMIT);
    /* frames shorter than their header are rejected by the decoder too */
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, h, 4), WEFT_E_TRUNCATED);
}

static void test_handshake_proof_refuse(void **state)
{
    (void)state;
    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = 0x0102030405060708ULL;
    fill_id(&h.genesis, 0xaa);
    h.thread_count = T;
    h.node_id = kp.pk;
    h.listen_port = 31244;
    memset(h.nonce, 0x42, sizeof h.nonce);
    wr_t w;
    wr_init(&w);
    net_enc_handshake(&w, &h);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_HANDSHAKE);
    assert_memory_equal(&m.u.handshake, &h, sizeof h);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
    net_msg_free(&m);
    wr_free(&w);

    signature_t sig;
    memset(sig.b, 0x33, 64);
    wr_init(&w);
    net_enc_proof(&w, &sig);
    decode_ok_and_strict(&w, &m);
    assert_memory_equal(m.u.proof.b, sig.b, 64);
    wr_free(&w);

    wr_init(&w);
    net_enc_refuse(&w, NET_REFUSE_CHAIN, "other chain\n"); /* control characters are replaced */
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.refuse.code, NET_REFUSE_CHAIN);
    assert_string_equal(m.u.refuse.text, "other chain?");
    wr_free(&w);

    /* a raw REFUSE with a control character in its text is malformed */
    uint8_t bad[] = {0, 0, 0, 5, NET_MSG_REFUSE, 2, 2, 'a', 0x07};
    assert_int_equal(net_msg_decode(&m, &lim, bad, sizeof bad), WEFT_E_NET_MESSAGE);
}

static void test_hello(void **state)
{
    (void)state;
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = T;
    for (uint32_t i = 0; i < T; i++) {
        h.final_periods[i] = 1000 + i;
        fill_id(&h.heads[i], (uint8_t)i);
        h.head_periods[i] = 2000 + i;
    }
    h.kept_from = 977;
    wr_t w;
    wr_init(&w);
    net_enc_hello(&w, &h);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_memory_equal(&m.u.hello, &h, sizeof h);
    wr_free(&w);
    /* another thread count is malformed */
    h.thread_count = T * 2;
    wr_init(&w);
    net_enc_hello(&w, &h);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
}

static void test_headers(void **state)
{
    (void)state;
    block_header_t *h = malloc(sizeof *h);
    make_header(h, 5, 1);
    uint8_t types[] = {NET_MSG_HEADER, NET_MSG_BLOCK_HEADER};
    for (int i = 0; i < 2; i++) {
        wr_t w;
        wr_init(&w);
        net_enc_header(&w, types[i], h);
        net_msg m;
        decode_ok_and_strict(&w, &m);
        assert_int_equal(m.type, types[i]);
        assert_true(block_id_eq(&m.u.header->id, &h->id));
        assert_int_equal(header_verify(m.u.header), WEFT_OK);
        assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
        net_msg_free(&m);
        wr_free(&w);
    }
    /* a header of thread T is rejected by the header decoder */
    h->slot.thread = T;
    wr_t w;
    wr_init(&w);
    net_enc_header(&w, NET_MSG_HEADER, h);
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_THREAD);
    wr_free(&w);
    free(h);
}

static void test_asks_and_answers(void **state)
{
    (void)state;
    block_id_t id;
    fill_id(&id, 0x77);
    op_id_t ids[3];
    for (int i = 0; i < 3; i++)
        memset(ids[i].h.b, 0x20 + i, 32);
    for (uint8_t what = NET_ASK_HEADER; what <= NET_ASK_FULL; what++) {
        wr_t w;
        wr_init(&w);
        net_enc_ask_block(&w, &id, what, ids, 3);
        net_msg m;
        decode_ok_and_strict(&w, &m);
        assert_true(block_id_eq(&m.u.ask.id, &id));
        assert_int_equal(m.u.ask.what, what);
        assert_int_equal(m.u.ask.count, what == NET_ASK_OPS ? 3 : 0);
        if (what == NET_ASK_OPS)
            assert_memory_equal(m.u.ask.ids, ids, sizeof ids);
        wr_free(&w);
    }
    uint8_t bad_what[] = {0, 0, 0, 34, NET_MSG_ASK_BLOCK};
    uint8_t frame[5 + 33];
    memcpy(frame, bad_what, 5);
    memset(frame + 5, 1, 32);
    frame[37] = 9;
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, frame, sizeof frame), WEFT_E_NET_MESSAGE);

    wr_t w;
    wr_init(&w);
    net_enc_block_op_ids(&w, &id, ids, 3);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.op_ids.count, 3);
    assert_memory_equal(m.u.op_ids.ids, ids, sizeof ids);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_BULK);
    wr_free(&w);

    wr_init(&w);
    net_enc_not_found(&w, &id);
    decode_ok_and_strict(&w, &m);
    assert_true(block_id_eq(&m.u.not_found, &id));
    wr_free(&w);
}

static void test_block_bodies_and_ops(void **state)
{
    (void)state;
    uint8_t *ops[3];
    size_t lens[3];
    op_id_t oids[3];
    for (int i = 0; i < 3; i++)
        ops[i] = make_op(100 + i, &lens[i], &oids[i]);
    block_header_t *h = malloc(sizeof *h);
    make_header(h, 9, 3);
    block_id_t id = h->id;

    wr_t w;
    wr_init(&w);
    net_enc_block_ops(&w, &id, ops, lens, 3);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_BLOCK_OPS);
    assert_int_equal(m.u.ops.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m.u.ops.ops[i].len, lens[i]);
        assert_memory_equal(m.u.ops.ops[i].p, ops[i], lens[i]);
    }
    assert_int_equal(net_msg_lane(m.type), NET_LANE_BULK);
    net_msg_free(&m);
    wr_free(&w);

    wr_init(&w);
    net_enc_block_full(&w, h, ops, lens, 3);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_BLOCK_FULL);
    assert_true(block_id_eq(&m.u.ops.header->id, &id));
    assert_true(block_id_eq(&m.u.ops.id, &id));
    assert_int_equal(m.u.ops.count, 3);
    signed_op_t so;
    assert_int_equal(signed_op_decode(&so, CHAIN, m.u.ops.ops[1].p, m.u.ops.ops[1].len), WEFT_OK);
    assert_memory_equal(so.id.h.b, oids[1].h.b, 32);
    signed_op_free(&so);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_BULK);
    net_msg_free(&m);
    wr_free(&w);

    wr_init(&w);
    net_enc_ops(&w, ops, lens, 3);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_OPS);
    assert_int_equal(m.u.ops.count, 3);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_BULK);
    net_msg_free(&m);
    wr_free(&w);

    /* an operation shorter than any signed operation is rejected (its count already cannot fit
     * in the bytes left) */
    uint8_t tiny[] = {0, 0, 0, 4, NET_MSG_OPS, 1, 1, 0};
    assert_int_equal(net_msg_decode(&m, &lim, tiny, sizeof tiny), WEFT_E_TRUNCATED);
    /* … and so is one whose length is below the minimum in a frame with room for it */
    uint8_t shorty[5 + 2 + 1 + 120];
    memset(shorty, 0, sizeof shorty);
    shorty[3] = (uint8_t)(sizeof shorty - 4);
    shorty[4] = NET_MSG_OPS;
    shorty[5] = 1;  /* count */
    shorty[6] = 97; /* length below NET_MIN_OP_LEN */
    assert_int_equal(net_msg_decode(&m, &lim, shorty, sizeof shorty), WEFT_E_NET_MESSAGE);
    for (int i = 0; i < 3; i++)
        free(ops[i]);
    free(h);
}

static void test_endorsements(void **state)
{
    (void)state;
    endorsement_t e[2];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 2; i++) {
        e[i].slot.period = 4;
        e[i].slot.thread = (uint8_t)i;
        e[i].index = (uint32_t)i;
        fill_id(&e[i].endorsed, 0x31);
        endorsement_sign(&e[i], &kp);
    }
    wr_t w;
    wr_init(&w);
    net_enc_endorsements(&w, e, 2);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.endorsements.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_memory_equal(m.u.endorsements.e[i].id.h.b, e[i].id.h.b, 32);
        assert_int_equal(endorsement_verify(&m.u.endorsements.e[i]), WEFT_OK);
    }
    assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
    net_msg_free(&m);
    wr_free(&w);
}

static void test_prefixes_sync_peers(void **state)
{
    (void)state;
    uint8_t pre[3 * NET_OP_PREFIX_LEN];
    for (size_t i = 0; i < sizeof pre; i++)
        pre[i] = (uint8_t)i;
    uint8_t types[] = {NET_MSG_OP_ANNOUNCE, NET_MSG_OP_ASK};
    for (int i = 0; i < 2; i++) {
        wr_t w;
        wr_init(&w);
        net_enc_prefixes(&w, types[i], pre, 3);
        net_msg m;
        decode_ok_and_strict(&w, &m);
        assert_int_equal(m.u.prefixes.count, 3);
        assert_memory_equal(m.u.prefixes.p, pre, sizeof pre);
        wr_free(&w);
    }
    assert_int_equal(net_msg_lane(NET_MSG_OP_ANNOUNCE), NET_LANE_BULK);
    assert_int_equal(net_msg_lane(NET_MSG_OP_ASK), NET_LANE_CONTROL);

    slot_t after = {12, 3};
    wr_t w;
    wr_init(&w);
    net_enc_sync_ask(&w, after, 512);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.sync_ask.after.period, 12);
    assert_int_equal(m.u.sync_ask.after.thread, 3);
    assert_int_equal(m.u.sync_ask.max, 512);
    wr_free(&w);

    block_id_t ids[3];
    slot_t slots[3] = {{13, 0}, {13, 2}, {14, 1}};
    for (int i = 0; i < 3; i++)
        fill_id(&ids[i], (uint8_t)(0x60 + i));
    wr_init(&w);
    net_enc_sync_ids(&w, ids, slots, 3, true);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.sync_ids.count, 3);
    assert_true(m.u.sync_ids.more);
    assert_true(block_id_eq(&m.u.sync_ids.ids[2], &ids[2]));
    assert_int_equal(m.u.sync_ids.slots[2].period, 14);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
    net_msg_free(&m);
    wr_free(&w);
    /* slots must strictly increase */
    slots[2] = slots[1];
    wr_init(&w);
    net_enc_sync_ids(&w, ids, slots, 3, false);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);

    wr_init(&w);
    net_enc_peers_ask(&w);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_PEERS_ASK);
    wr_free(&w);

    char addrs[3][NET_ADDR_MAX] = {"10.0.0.1:31244", "[::1]:5", "node-3.example.org:65535"};
    wr_init(&w);
    net_enc_peers(&w, (const char(*)[NET_ADDR_MAX])addrs, 3);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.peers.count, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(m.u.peers.addrs[i], addrs[i]);
    net_msg_free(&m);
    wr_free(&w);
    strcpy(addrs[1], "10.0.0.2:0");
    wr_init(&w);
    net_enc_peers(&w, (const char(*)[NET_ADDR_MAX])addrs, 3);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
}

/* A frame of type with the raw body bytes. */
static void raw_frame(wr_t *w, uint8_t type, const uint8_t *body, size_t n)
{
    wr_init(w);
    uint8_t h[5] = {(uint8_t)((n + 1) >> 24), (uint8_t)((n + 1) >> 16), (uint8_t)((n + 1) >> 8),
                    (uint8_t)(n + 1), type};
    wr_bytes(w, h, 5);
    wr_bytes(w, body, n);
}

/* The start of an OK STATE_PART frame written by hand: cursor, a zero fingerprint; the caller
 * writes the rest and the length (w->buf[3], bodies under 256 bytes). */
static void raw_state_part_head(wr_t *w, uint64_t period, uint8_t thread)
{
    wr_init(w);
    wr_bytes(w, "\0\0\0\0", 4);
    wr_u8(w, NET_MSG_STATE_PART);
    wr_u8(w, NET_STATE_OK);
    wr_varint(w, period);
    wr_u8(w, thread);
    uint8_t fp[NET_STATE_FP_LEN] = {0};
    wr_bytes(w, fp, sizeof fp);
}

static void test_state_messages(void **state)
{
    (void)state;
    /* STATE_ASK: a start, and a resume point */
    net_state_ask a;
    memset(&a, 0, sizeof a);
    a.max_bytes = 1u << 20;
    wr_t w;
    wr_init(&w);
    net_enc_state_ask(&w, &a);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_STATE_ASK);
    assert_false(m.u.state_ask.has_cursor);
    assert_false(m.u.state_ask.has_after);
    assert_int_equal(m.u.state_ask.max_bytes, 1u << 20);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
    wr_free(&w);
    uint8_t key[40];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0x80 + i);
    a.has_cursor = true;
    a.cursor = (slot_t){812, 3};
    a.has_after = true;
    a.after_table = 3;
    a.after_key = key;
    a.after_klen = sizeof key;
    wr_init(&w);
    net_enc_state_ask(&w, &a);
    decode_ok_and_strict(&w, &m);
    assert_true(m.u.state_ask.has_cursor && m.u.state_ask.has_after);
    assert_int_equal(m.u.state_ask.cursor.period, 812);
    assert_int_equal(m.u.state_ask.cursor.thread, 3);
    assert_int_equal(m.u.state_ask.after_table, 3);
    assert_int_equal(m.u.state_ask.after_klen, sizeof key);
    assert_memory_equal(m.u.state_ask.after_key, key, sizeof key);
    wr_free(&w);

    /* STATE_PART with roots and records */
    block_id_t roots[3];
    slot_t rslots[3] = {{800, 0}, {801, 2}, {803, 1}};
    for (int i = 0; i < 3; i++)
        fill_id(&roots[i], (uint8_t)(0x70 + i));
    uint8_t val[3] = {1, 2, 3};
    net_state_rec recs[4] = {
        {1, 34, key, 3, val},
        {1, 35, key, 0, NULL}, /* an extension of the previous key comes after it */
        {3, 2, key + 1, 1, val},
        {11, 40, key, 0, NULL},
    };
    net_state_part p;
    memset(&p, 0, sizeof p);
    p.cursor = (slot_t){812, 3};
    memset(p.fingerprint, 0xf1, sizeof p.fingerprint);
    p.root_ids = roots;
    p.root_slots = rslots;
    p.nroots = 3;
    p.recs = recs;
    p.count = 4;
    p.more = true;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_STATE_PART);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_BULK);
    net_state_part *q = &m.u.state_part;
    assert_int_equal(q->status, NET_STATE_OK);
    assert_int_equal(q->cursor.period, 812);
    assert_memory_equal(q->fingerprint, p.fingerprint, NET_STATE_FP_LEN);
    assert_int_equal(q->nroots, 3);
    assert_true(block_id_eq(&q->root_ids[1], &roots[1]));
    assert_int_equal(q->root_slots[2].period, 803);
    assert_int_equal(q->count, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(q->recs[i].table, recs[i].table);
        assert_int_equal(q->recs[i].klen, recs[i].klen);
        assert_memory_equal(q->recs[i].key, recs[i].key, recs[i].klen);
        assert_int_equal(q->recs[i].vlen, recs[i].vlen);
        if (recs[i].vlen)
            assert_memory_equal(q->recs[i].val, recs[i].val, recs[i].vlen);
    }
    assert_true(q->more);
    net_msg_free(&m);
    wr_free(&w);

    /* records out of order, a duplicate, roots out of order: malformed */
    net_state_rec swap = recs[1];
    recs[1] = recs[0];
    recs[0] = swap;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    recs[0] = recs[1];
    wr_init(&w);
    net_enc_state_part(&w, &p);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    p.count = 1;
    rslots[1] = rslots[0];
    wr_init(&w);
    net_enc_state_part(&w, &p);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    /* the metadata table and tables beyond the last never travel; keys are 1..511 bytes */
    rslots[1] = (slot_t){801, 2};
    uint8_t bad_tables[] = {0, NET_STATE_TABLES};
    for (size_t i = 0; i < sizeof bad_tables; i++) {
        recs[0].table = bad_tables[i];
        wr_init(&w);
        net_enc_state_part(&w, &p);
        assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
        wr_free(&w);
    }
    recs[0].table = 2;
    recs[0].klen = 0;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    uint8_t big[NET_STATE_MAX_KEY + 1];
    memset(big, 1, sizeof big);
    recs[0].key = big;
    recs[0].klen = NET_STATE_MAX_KEY + 1;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_LIMIT);
    wr_free(&w);
    recs[0].klen = NET_STATE_MAX_KEY;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.state_part.recs[0].klen, NET_STATE_MAX_KEY);
    net_msg_free(&m);
    wr_free(&w);

    /* other statuses are one byte; anything after it, or an unknown status, is malformed */
    uint8_t st[] = {NET_STATE_GONE, NET_STATE_BUSY, NET_STATE_UNAVAILABLE};
    for (size_t i = 0; i < sizeof st; i++) {
        memset(&p, 0, sizeof p);
        p.status = st[i];
        p.count = 5; /* ignored */
        wr_init(&w);
        net_enc_state_part(&w, &p);
        assert_int_equal(w.len, NET_FRAME_HEADER + 1);
        decode_ok_and_strict(&w, &m);
        assert_int_equal(m.u.state_part.status, st[i]);
        assert_int_equal(m.u.state_part.count, 0);
        wr_free(&w);
    }
    uint8_t unknown_status[] = {4};
    raw_frame(&w, NET_MSG_STATE_PART, unknown_status, 1);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    /* an OK part whose more (or last_partial) flag is 2 */
    uint8_t more2[1 + 2 + NET_STATE_FP_LEN + 5];
    memset(more2, 0, sizeof more2);
    more2[1] = 5;                /* cursor period 5, thread 0 */
    more2[sizeof more2 - 1] = 2; /* roots 0, first_offset 0, records 0, last_partial 0, more 2 */
    raw_frame(&w, NET_MSG_STATE_PART, more2, sizeof more2);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    more2[sizeof more2 - 1] = 0;
    more2[sizeof more2 - 2] = 2;
    raw_frame(&w, NET_MSG_STATE_PART, more2, sizeof more2);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    more2[sizeof more2 - 2] = 0;
    wr_free(&w);
    raw_frame(&w, NET_MSG_STATE_PART, more2, sizeof more2);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_OK);
    net_msg_free(&m);
    wr_free(&w);
    /* STATE_ASK: a resume point without a cursor, no budget, a cursor thread >= T */
    uint8_t ask_after_only[] = {0, 1, 1, 1, 0x55, 0, 10};
    raw_frame(&w, NET_MSG_STATE_ASK, ask_after_only, sizeof ask_after_only);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    uint8_t ask_zero[] = {0, 0, 0};
    raw_frame(&w, NET_MSG_STATE_ASK, ask_zero, sizeof ask_zero);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    uint8_t ask_thread[] = {1, 7, T, 0, 10};
    raw_frame(&w, NET_MSG_STATE_ASK, ask_thread, sizeof ask_thread);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_THREAD);
    wr_free(&w);
    uint8_t ask_flag[] = {2, 0, 10};
    raw_frame(&w, NET_MSG_STATE_ASK, ask_flag, sizeof ask_flag);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
}

/* A value in pieces: an ask going on with a value, a part going on with one and ending with the
 * start of another; the pieces' form is checked by the decoder. */
static void test_state_pieces(void **state)
{
    (void)state;
    uint8_t key[3] = {7, 8, 9};
    net_state_ask a;
    memset(&a, 0, sizeof a);
    a.has_cursor = a.has_after = true;
    a.cursor = (slot_t){40, 1};
    a.after_table = 4;
    a.after_key = key;
    a.after_klen = sizeof key;
    a.after_offset = NET_STATE_MAX_VALUE;
    a.max_bytes = 4096;
    wr_t w;
    wr_init(&w);
    net_enc_state_ask(&w, &a);
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.state_ask.after_offset, NET_STATE_MAX_VALUE);
    assert_int_equal(m.u.state_ask.max_bytes, 4096);
    wr_free(&w);
    a.after_offset = NET_STATE_MAX_VALUE + 1;
    wr_init(&w);
    net_enc_state_ask(&w, &a);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_LIMIT);
    wr_free(&w);

    uint8_t val[5] = {1, 2, 3, 4, 5};
    net_state_rec recs[3] = {{4, 3, key, 5, val}, {4, 2, key + 1, 1, val}, {5, 1, key, 2, val}};
    net_state_part p;
    memset(&p, 0, sizeof p);
    p.cursor = (slot_t){40, 1};
    p.recs = recs;
    p.count = 3;
    p.first_offset = 1000;
    p.last_partial = p.more = true;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.u.state_part.first_offset, 1000);
    assert_true(m.u.state_part.last_partial && m.u.state_part.more);
    assert_int_equal(m.u.state_part.count, 3);
    assert_int_equal(m.u.state_part.recs[2].vlen, 2);
    net_msg_free(&m);
    wr_free(&w);
    /* one piece in the middle of a value, up to the largest value */
    p.count = 1;
    p.first_offset = NET_STATE_MAX_VALUE - 5;
    wr_init(&w);
    net_enc_state_part(&w, &p);
    decode_ok_and_strict(&w, &m);
    net_msg_free(&m);
    wr_free(&w);
    /* malformed: beyond the largest value; a start without more; an empty piece; a piece of
     * nothing */
    struct {
        uint32_t count, first_offset;
        bool last_partial, more;
        size_t vlen0, vlast;
        weft_err want;
    } bad[] = {
        {1, NET_STATE_MAX_VALUE - 4, false, false, 5, 2, WEFT_E_NET_LIMIT},
        {3, 0, true, false, 5, 2, WEFT_E_NET_MESSAGE},
        {3, 0, true, true, 5, 0, WEFT_E_NET_MESSAGE},
        {3, 9, false, true, 0, 2, WEFT_E_NET_MESSAGE},
        {0, 9, false, true, 5, 2, WEFT_E_NET_MESSAGE},
        {0, 0, true, true, 5, 2, WEFT_E_NET_MESSAGE},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        p.count = bad[i].count;
        p.first_offset = bad[i].first_offset;
        p.last_partial = bad[i].last_partial;
        p.more = bad[i].more;
        recs[0].vlen = bad[i].vlen0;
        recs[2].vlen = bad[i].vlast;
        wr_init(&w);
        net_enc_state_part(&w, &p);
        if (net_msg_decode(&m, &lim, w.buf, w.len) != bad[i].want)
            fail_msg("case %zu", i);
        wr_free(&w);
    }
    /* a value above 16 MiB, whole or the start of one (whatever the frame allows): refused from
     * its length alone */
    for (int first = 0; first < 2; first++) {
        raw_state_part_head(&w, 40, 1);
        wr_varint(&w, 0);              /* roots */
        wr_varint(&w, first ? 10 : 0); /* first_offset */
        wr_varint(&w, 1);              /* records */
        wr_u8(&w, 4);                  /* table */
        wr_varint(&w, 1);              /* key length */
        wr_u8(&w, 7);                  /* key */
        wr_varint(&w, NET_STATE_MAX_VALUE + 1 - (first ? 10 : 0));
        w.buf[3] = (uint8_t)(w.len - 4);
        assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_LIMIT);
        wr_free(&w);
    }
}

/* Counts above their limits are rejected from the count alone: no body follows. */
/* STATE_CHECK and STATE_CHECKED: a slot, a status, the fingerprint when known. */
static void test_state_checks(void **state)
{
    (void)state;
    wr_t w;
    wr_init(&w);
    net_enc_state_check(&w, (slot_t){70000, 3});
    net_msg m;
    decode_ok_and_strict(&w, &m);
    assert_int_equal(m.type, NET_MSG_STATE_CHECK);
    assert_int_equal(slot_cmp(m.u.state_check, (slot_t){70000, 3}), 0);
    assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
    assert_string_equal(net_msg_name(m.type), "STATE_CHECK");
    net_msg_free(&m);
    wr_free(&w);
    uint8_t fp[NET_STATE_FP_LEN];
    for (size_t i = 0; i < sizeof fp; i++)
        fp[i] = (uint8_t)(i * 7 + 1);
    for (uint8_t st = NET_CHECK_KNOWN; st <= NET_CHECK_NOT_KEPT; st++) {
        wr_init(&w);
        net_enc_state_checked(&w, (slot_t){9, 1}, st, st == NET_CHECK_KNOWN ? fp : NULL);
        decode_ok_and_strict(&w, &m);
        assert_int_equal(m.type, NET_MSG_STATE_CHECKED);
        assert_int_equal(net_msg_lane(m.type), NET_LANE_CONTROL);
        assert_int_equal(slot_cmp(m.u.state_checked.slot, (slot_t){9, 1}), 0);
        assert_int_equal(m.u.state_checked.status, st);
        assert_int_equal(w.len, NET_FRAME_HEADER + 3 + (st == NET_CHECK_KNOWN ? sizeof fp : 0));
        if (st == NET_CHECK_KNOWN)
            assert_memory_equal(m.u.state_checked.fingerprint, fp, sizeof fp);
        net_msg_free(&m);
        wr_free(&w);
    }
    /* an unknown status; a thread beyond the chain's; a fingerprint after another status */
    uint8_t bad_status[] = {9, 1, 3};
    raw_frame(&w, NET_MSG_STATE_CHECKED, bad_status, sizeof bad_status);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_MESSAGE);
    wr_free(&w);
    uint8_t bad_thread[] = {9, T};
    raw_frame(&w, NET_MSG_STATE_CHECK, bad_thread, sizeof bad_thread);
    assert_int_not_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_OK);
    wr_free(&w);
    uint8_t ahead_fp[3 + NET_STATE_FP_LEN] = {9, 1, NET_CHECK_AHEAD};
    raw_frame(&w, NET_MSG_STATE_CHECKED, ahead_fp, sizeof ahead_fp);
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_TRAILING);
    wr_free(&w);
}

static void test_limits(void **state)
{
    (void)state;
    struct {
        uint8_t type;
        uint64_t count;
        weft_err want;
    } cases[] = {
        {NET_MSG_OP_ANNOUNCE, 51, WEFT_E_NET_LIMIT},
        {NET_MSG_OP_ASK, 1000000, WEFT_E_NET_LIMIT},
        {NET_MSG_OPS, 51, WEFT_E_NET_LIMIT},
        {NET_MSG_OPS, 50, WEFT_E_TRUNCATED}, /* within the limit, but the bytes are not there */
        {NET_MSG_ENDORSEMENTS, NET_MAX_ENDORSEMENTS_MSG + 1, WEFT_E_NET_LIMIT},
        {NET_MSG_SYNC_IDS, NET_MAX_SYNC_IDS + 1, WEFT_E_NET_LIMIT},
        {NET_MSG_PEERS, NET_MAX_PEERS_IN_LIST + 1, WEFT_E_NET_LIMIT},
        {NET_MSG_PEERS, UINT64_MAX, WEFT_E_NET_LIMIT},
    };
    /* STATE_PART: roots, then records above their limits (status OK, cursor, fingerprint) */
    for (int which = 0; which < 3; which++) {
        wr_t w;
        raw_state_part_head(&w, 9, 0);
        if (which == 0) {
            wr_varint(&w, NET_MAX_STATE_ROOTS + 1);
        } else if (which == 1) {
            wr_varint(&w, 0);
            wr_varint(&w, 0);
            wr_varint(&w, NET_MAX_STATE_RECORDS + 1);
        } else { /* a piece beyond the largest value */
            wr_varint(&w, 0);
            wr_varint(&w, NET_STATE_MAX_VALUE + 1);
        }
        w.buf[3] = (uint8_t)(w.len - 4);
        net_msg m;
        assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_LIMIT);
        wr_free(&w);
    }
    for (size_t i = 0; i < WEFT_ARRAY_LEN(cases); i++) {
        wr_t w;
        wr_init(&w);
        wr_bytes(&w, "\0\0\0\0", 4);
        wr_u8(&w, cases[i].type);
        wr_varint(&w, cases[i].count);
        uint32_t l = (uint32_t)(w.len - 4);
        w.buf[3] = (uint8_t)l;
        net_msg m;
        assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), cases[i].want);
        wr_free(&w);
    }
    /* BLOCK_OP_IDS over the limit, with its block id */
    wr_t w;
    wr_init(&w);
    wr_bytes(&w, "\0\0\0\0", 4);
    wr_u8(&w, NET_MSG_BLOCK_OP_IDS);
    uint8_t zero[32] = {0};
    wr_bytes(&w, zero, 32);
    wr_varint(&w, 51);
    w.buf[3] = (uint8_t)(w.len - 4);
    net_msg m;
    assert_int_equal(net_msg_decode(&m, &lim, w.buf, w.len), WEFT_E_NET_LIMIT);
    wr_free(&w);
    /* unknown message types */
    uint8_t unk[] = {0, 0, 0, 1, 200};
    assert_int_equal(net_msg_decode(&m, &lim, unk, sizeof unk), WEFT_E_NET_MESSAGE);
    uint8_t zero_type[] = {0, 0, 0, 1, 0};
    assert_int_equal(net_msg_decode(&m, &lim, zero_type, sizeof zero_type), WEFT_E_NET_MESSAGE);
    /* a SYNC_ASK for zero ids */
    uint8_t sa[] = {0, 0, 0, 4, NET_MSG_SYNC_ASK, 1, 0, 0};
    assert_int_equal(net_msg_decode(&m, &lim, sa, sizeof sa), WEFT_E_NET_MESSAGE);
}

static void test_addr_parse(void **state)
{
    (void)state;
    char host[NET_ADDR_MAX];
    uint16_t port;
    assert_true(net_addr_parse("127.0.0.1:31244", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 31244);
    assert_true(net_addr_parse("[fe80::1]:1", host, sizeof host, &port));
    assert_string_equal(host, "fe80::1");
    assert_int_equal(port, 1);
    assert_true(net_addr_parse("a-b.example:65535", host, sizeof host, &port));
    const char *bad[] = {"",         ":1",      "host",        "host:",   "host:0", "host:65536",
                         "host:01",  "host:1x", "-host:1",     "host.:1", "[::1:1", "[]:1",
                         "[g::1]:1", "ho st:1", "host:123456", "::1:5",   "h_o:1"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++)
        if (net_addr_parse(bad[i], host, sizeof host, &port))
            fail_msg("accepted \"%s\"", bad[i]);
    assert_true(net_addr_valid("10.0.0.1:31244"));
    assert_false(net_addr_valid("10.0.0.1"));
    assert_false(net_addr_valid(NULL));
    char longa[NET_ADDR_MAX + 8];
    memset(longa, 'a', sizeof longa);
    strcpy(longa + NET_ADDR_MAX, ":1");
    assert_false(net_addr_parse(longa, host, sizeof host, &port));
}

static void test_proof_digest(void **state)
{
    (void)state;
    uint8_t n1[32], n2[32];
    memset(n1, 1, 32);
    memset(n2, 2, 32);
    pubkey_t a = kp.pk, b;
    memset(b.b, 9, 32);
    hash32_t d1, d2, d3, d4;
    net_proof_digest(&d1, CHAIN, n1, &a, &b);
    net_proof_digest(&d2, CHAIN, n2, &a, &b);
    net_proof_digest(&d3, CHAIN, n1, &b, &a);
    net_proof_digest(&d4, CHAIN + 1, n1, &a, &b);
    assert_memory_not_equal(d1.b, d2.b, 32);
    assert_memory_not_equal(d1.b, d3.b, 32);
    assert_memory_not_equal(d1.b, d4.b, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_check),
        cmocka_unit_test(test_handshake_proof_refuse),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_asks_and_answers),
        cmocka_unit_test(test_block_bodies_and_ops),
        cmocka_unit_test(test_endorsements),
        cmocka_unit_test(test_prefixes_sync_peers),
        cmocka_unit_test(test_state_messages),
        cmocka_unit_test(test_state_pieces),
        cmocka_unit_test(test_state_checks),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_proof_digest),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
