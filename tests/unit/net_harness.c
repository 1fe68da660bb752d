/* The fake chain and the in-memory network of net_harness.h.  Included (as a .c) by
 * test_net_core.c and fuzz/net_frame/fuzz.c; no cmocka here: a broken harness invariant
 * aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "net/net_wire.h"
#include "net_harness.h"

#define TN_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: harness check failed: %s\n", __FILE__, __LINE__, #c);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    TN_CHECK(p);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    TN_CHECK(q);
    return q;
}

/* ---- genesis --------------------------------------------------------------------------------- */

static block_header_t tn_genesis[TN_T];
static bool tn_genesis_done;

void tn_genesis_init(void)
{
    if (tn_genesis_done)
        return;
    TN_CHECK(crypto_init() == WEFT_OK);
    uint8_t seed[32];
    memset(seed, 0xee, sizeof seed);
    keypair_t g;
    keypair_from_seed(&g, seed);
    for (uint8_t t = 0; t < TN_T; t++) {
        block_header_t *h = &tn_genesis[t];
        memset(h, 0, sizeof *h);
        h->slot.thread = t;
        block_ops_hash(&h->ops_hash, NULL, 0);
        header_sign(h, &g);
    }
    tn_genesis_done = true;
}

const block_id_t *tn_genesis_id(void) { return &tn_genesis[0].id; }

/* ---- fake chain ------------------------------------------------------------------------------ */

static size_t fc_slot(const fchain *c, const block_id_t *id)
{
    uint64_t h;
    memcpy(&h, id->h.b, sizeof h);
    return (size_t)h & (c->tcap - 1);
}

const fblock *fc_get(const fchain *c, const block_id_t *id)
{
    for (size_t i = fc_slot(c, id);; i = (i + 1) & (c->tcap - 1)) {
        if (!c->tab[i])
            return NULL;
        if (block_id_eq(&c->tab[i]->h.id, id))
            return c->tab[i];
    }
}

static void fc_index(fchain *c, fblock *b)
{
    if ((c->count + 1) * 2 > c->tcap) {
        fblock **old = c->tab;
        size_t ocap = c->tcap;
        c->tcap *= 2;
        c->tab = xcalloc(c->tcap, sizeof *c->tab);
        c->count = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                fc_index(c, old[i]);
        free(old);
    }
    size_t i = fc_slot(c, &b->h.id);
    while (c->tab[i])
        i = (i + 1) & (c->tcap - 1);
    c->tab[i] = b;
    c->count++;
}

static void fc_event(fchain *c, const fevent *e)
{
    if (c->nev == c->evcap) {
        c->evcap = c->evcap ? c->evcap * 2 : 64;
        c->ev = xrealloc(c->ev, c->evcap * sizeof *c->ev);
    }
    c->ev[c->nev++] = *e;
}

static void fblock_free(fblock *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        free(b->ops[i]);
    free(b->ops);
    free(b->lens);
    free(b->ids);
    free(b);
}

/* A taken block: indexed, final, heads updated, pending event. */
static void fc_take(fchain *c, fblock *b, bool event)
{
    fc_index(c, b);
    if (c->nall == c->allcap) {
        c->allcap = c->allcap ? c->allcap * 2 : 64;
        c->all = xrealloc(c->all, c->allcap * sizeof *c->all);
    }
    c->all[c->nall++] = b;
    uint8_t t = b->h.slot.thread;
    if (b->h.slot.period >= c->final_periods[t]) {
        c->final_periods[t] = b->h.slot.period;
        c->heads[t] = b->h.id;
        c->head_slots[t] = b->h.slot;
    }
    if (event && !c->mute_pending) {
        fevent e = {.kind = FE_PENDING, .b = b};
        fc_event(c, &e);
    }
}

void fc_init(fchain *c)
{
    tn_genesis_init();
    memset(c, 0, sizeof *c);
    c->st_corrupt = -1;
    c->tcap = 64;
    c->tab = xcalloc(c->tcap, sizeof *c->tab);
    for (uint8_t t = 0; t < TN_T; t++) {
        fblock *b = xcalloc(1, sizeof *b);
        b->h = tn_genesis[t];
        fc_take(c, b, false);
    }
}

void fc_free(fchain *c)
{
    for (size_t i = 0; i < c->nall; i++)
        fblock_free(c->all[i]);
    for (size_t i = 0; i < c->nwaiting; i++)
        fblock_free(c->waiting[i]);
    free(c->all);
    free(c->waiting);
    free(c->tab);
    for (size_t i = 0; i < c->npool; i++)
        free(c->pool[i].b);
    free(c->pool);
    free(c->endos);
    free(c->ev);
    free(c->taken_slots);
    free(c->st);
    free(c->imp);
    free(c->imp_root_ids);
    free(c->imp_root_slots);
    for (uint32_t i = 0; c->imp_roots && i < c->imp_nroots; i++)
        if (c->imp_roots[i])
            fblock_free(c->imp_roots[i]);
    free(c->imp_roots);
    memset(c, 0, sizeof *c);
}

static uint64_t counter; /* makes every operation unique */

void fc_reset_ops(void) { counter = 0; }

uint8_t *fc_make_op(const keypair_t *key, size_t *len, op_id_t *id)
{
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(1000 + counter++);
    op.expire_period = 1000000;
    op.type = OP_TRANSACTION;
    address_of_pubkey(&op.u.transaction.recipient, &key->pk);
    op.u.transaction.amount = amount_from_nano(5);
    wr_t w;
    wr_init(&w);
    op_encode(&w, &op);
    hash32_t d;
    op_digest(&d, TN_CHAIN, &key->pk, w.buf, w.len);
    signature_t sig;
    model_sign_digest(&sig, key, &d);
    signed_op_t so;
    TN_CHECK(signed_op_from_parts(&so, TN_CHAIN, &key->pk, &sig, w.buf, w.len) == WEFT_OK);
    wr_free(&w);
    wr_init(&w);
    signed_op_encode(&w, &so);
    *id = so.id;
    signed_op_free(&so);
    return wr_take(&w, len);
}

bool fc_pool_has(const fchain *c, const op_id_t *id)
{
    for (size_t i = 0; i < c->npool; i++)
        if (memcmp(c->pool[i].id.h.b, id->h.b, 32) == 0)
            return true;
    return false;
}

void fc_pool_add(fchain *c, const uint8_t *op, size_t len, const op_id_t *id)
{
    if (fc_pool_has(c, id))
        return;
    c->pool = xrealloc(c->pool, (c->npool + 1) * sizeof *c->pool);
    c->pool[c->npool].id = *id;
    c->pool[c->npool].b = xcalloc(len, 1);
    memcpy(c->pool[c->npool].b, op, len);
    c->pool[c->npool].len = len;
    c->npool++;
}

const fblock *fc_produce(fchain *c, const keypair_t *key, uint64_t period, uint8_t thread,
                         uint32_t nops)
{
    fblock *b = xcalloc(1, sizeof *b);
    b->n = nops;
    b->ids = xcalloc(nops, sizeof *b->ids);
    b->ops = xcalloc(nops, sizeof *b->ops);
    b->lens = xcalloc(nops, sizeof *b->lens);
    for (uint32_t i = 0; i < nops; i++)
        b->ops[i] = fc_make_op(key, &b->lens[i], &b->ids[i]);
    block_header_t *h = &b->h;
    h->version = HEADER_VERSION;
    h->slot.period = period;
    h->slot.thread = thread;
    h->parent_count = TN_T;
    for (uint8_t t = 0; t < TN_T; t++)
        h->parents[t] = c->heads[t];
    block_ops_hash(&h->ops_hash, b->ids, nops);
    header_sign(h, key);
    fc_take(c, b, true);
    return b;
}

void fc_insert_copy(fchain *c, const fblock *src)
{
    fblock *b = xcalloc(1, sizeof *b);
    b->h = src->h;
    b->n = src->n;
    b->ids = xcalloc(b->n, sizeof *b->ids);
    b->ops = xcalloc(b->n, sizeof *b->ops);
    b->lens = xcalloc(b->n, sizeof *b->lens);
    for (uint32_t i = 0; i < b->n; i++) {
        b->ids[i] = src->ids[i];
        b->ops[i] = xcalloc(src->lens[i], 1);
        memcpy(b->ops[i], src->ops[i], src->lens[i]);
        b->lens[i] = src->lens[i];
    }
    fc_take(c, b, false);
}

static weft_err fc_status(void *ctx, net_chain_status *out)
{
    fchain *c = ctx;
    memset(out, 0, sizeof *out);
    out->thread_count = TN_T;
    memcpy(out->final_periods, c->final_periods, sizeof c->final_periods);
    memcpy(out->heads, c->heads, sizeof c->heads);
    memcpy(out->head_slots, c->head_slots, sizeof c->head_slots);
    out->kept_from = c->kept_from;
    return WEFT_OK;
}

/* Blocks of periods below kept_from are gone (genesis stays). */
static bool fc_gone(const fchain *c, const fblock *b)
{
    return b->h.slot.period > 0 && b->h.slot.period < c->kept_from;
}

static bool fc_waiting_has(const fchain *c, const block_id_t *id)
{
    for (size_t i = 0; i < c->nwaiting; i++)
        if (block_id_eq(&c->waiting[i]->h.id, id))
            return true;
    return false;
}

static bool fc_has_block(void *ctx, const block_id_t *id)
{
    fchain *c = ctx;
    return fc_get(c, id) || fc_waiting_has(c, id);
}

static weft_err fc_get_block(void *ctx, const block_id_t *id, bool with_ops, net_block *out)
{
    fchain *c = ctx;
    memset(out, 0, sizeof *out);
    const fblock *b = fc_get(c, id);
    if (!b || fc_gone(c, b))
        return WEFT_E_NOT_FOUND;
    out->header = b->h;
    out->op_count = b->n;
    out->op_ids = xcalloc(b->n, sizeof *out->op_ids);
    memcpy(out->op_ids, b->ids, b->n * sizeof *b->ids);
    out->is_final = true;
    if (with_ops) {
        out->ops = xcalloc(b->n, sizeof *out->ops);
        out->op_lens = xcalloc(b->n, sizeof *out->op_lens);
        for (uint32_t i = 0; i < b->n; i++) {
            out->ops[i] = xcalloc(b->lens[i], 1);
            memcpy(out->ops[i], b->ops[i], b->lens[i]);
            out->op_lens[i] = b->lens[i];
        }
    }
    return WEFT_OK;
}

static bool fc_find_op(const fchain *c, const op_id_t *id, const uint8_t **b, size_t *len)
{
    for (size_t i = 0; i < c->npool; i++)
        if (memcmp(c->pool[i].id.h.b, id->h.b, 32) == 0) {
            *b = c->pool[i].b;
            *len = c->pool[i].len;
            return true;
        }
    for (size_t k = 0; k < c->nall; k++) {
        const fblock *blk = c->all[k];
        for (uint32_t i = 0; i < blk->n; i++)
            if (memcmp(blk->ids[i].h.b, id->h.b, 32) == 0) {
                *b = blk->ops[i];
                *len = blk->lens[i];
                return true;
            }
    }
    return false;
}

static weft_err fc_get_ops(void *ctx, const op_id_t *ids, size_t n, uint8_t **ops, size_t *lens)
{
    fchain *c = ctx;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b;
        size_t len;
        ops[i] = NULL;
        lens[i] = 0;
        if (fc_find_op(c, &ids[i], &b, &len)) {
            ops[i] = xcalloc(len, 1);
            memcpy(ops[i], b, len);
            lens[i] = len;
        }
    }
    return WEFT_OK;
}

static bool fc_parents_known(const fchain *c, const block_header_t *h)
{
    for (uint32_t i = 0; i < h->parent_count; i++)
        if (!fc_get(c, &h->parents[i]))
            return false;
    return true;
}

static void fc_taken_from_net(fchain *c, fblock *b)
{
    fc_take(c, b, true);
    c->taken_from_net++;
    c->taken_slots = xrealloc(c->taken_slots, c->taken_from_net * sizeof *c->taken_slots);
    c->taken_slots[c->taken_from_net - 1] = b->h.slot;
    if (c->has_invalid_id && block_id_eq(&b->h.id, &c->invalid_id)) {
        fevent e = {.kind = FE_INVALID, .id = b->h.id};
        fc_event(c, &e);
    }
}

static weft_err fc_submit_block(void *ctx, const block_header_t *h, signed_op_t *ops,
                                uint32_t count, weft_err *verdict)
{
    fchain *c = ctx;
    c->submits++;
    *verdict = WEFT_OK;
    fblock *b = NULL;
    if (fc_has_block(c, &h->id))
        goto out;
    if (!c->trust && header_verify(h) != WEFT_OK) {
        *verdict = WEFT_E_SIGNATURE;
        goto out;
    }
    op_id_t *ids = xcalloc(count, sizeof *ids);
    for (uint32_t i = 0; i < count; i++)
        ids[i] = ops[i].id;
    hash32_t oh;
    block_ops_hash(&oh, ids, count);
    free(ids);
    if (hash32_cmp(&oh, &h->ops_hash) != 0) {
        *verdict = WEFT_E_OPS_HASH;
        goto out;
    }
    for (uint32_t i = 0; i < count && !c->trust; i++)
        if (signed_op_verify(&ops[i]) != WEFT_OK) {
            *verdict = WEFT_E_SIGNATURE;
            goto out;
        }
    if (c->has_reject_id && block_id_eq(&h->id, &c->reject_id)) {
        *verdict = WEFT_E_NODE_BLOCK;
        goto out;
    }
    if (c->later_gate && h->slot.period > c->later_gate) {
        *verdict = WEFT_E_NODE_BLOCK_LATER;
        goto out;
    }
    if (c->refuse_old && h->slot.period <= c->final_periods[h->slot.thread]) {
        *verdict = WEFT_E_GRAPH_OLD_PERIOD;
        goto out;
    }
    b = xcalloc(1, sizeof *b);
    b->h = *h;
    b->n = count;
    b->ids = xcalloc(count, sizeof *b->ids);
    b->ops = xcalloc(count, sizeof *b->ops);
    b->lens = xcalloc(count, sizeof *b->lens);
    for (uint32_t i = 0; i < count; i++) {
        wr_t w;
        wr_init(&w);
        signed_op_encode(&w, &ops[i]);
        b->ops[i] = wr_take(&w, &b->lens[i]);
        b->ids[i] = ops[i].id;
    }
    if (!fc_parents_known(c, h)) {
        for (uint32_t i = 0; i < h->parent_count; i++)
            if (!fc_has_block(c, &h->parents[i])) {
                fevent e = {.kind = FE_MISSING, .id = h->parents[i]};
                fc_event(c, &e);
            }
        c->waiting = xrealloc(c->waiting, (c->nwaiting + 1) * sizeof *c->waiting);
        c->waiting[c->nwaiting++] = b;
        goto out;
    }
    fc_taken_from_net(c, b);
    /* waiting blocks whose parents are all known now */
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = 0; i < c->nwaiting; i++)
            if (fc_parents_known(c, &c->waiting[i]->h)) {
                fblock *w = c->waiting[i];
                memmove(c->waiting + i, c->waiting + i + 1,
                        (c->nwaiting - i - 1) * sizeof *c->waiting);
                c->nwaiting--;
                fc_taken_from_net(c, w);
                moved = true;
                break;
            }
    }
out:
    for (uint32_t i = 0; i < count; i++)
        signed_op_free(&ops[i]);
    free(ops);
    return WEFT_OK;
}

static weft_err fc_submit_ops(void *ctx, signed_op_t **ops, size_t n, weft_err *results)
{
    fchain *c = ctx;
    for (size_t i = 0; i < n; i++) {
        c->ops_submitted++;
        results[i] = signed_op_verify(ops[i]);
        if (results[i] == WEFT_OK && !fc_pool_has(c, &ops[i]->id)) {
            wr_t w;
            wr_init(&w);
            signed_op_encode(&w, ops[i]);
            fc_pool_add(c, w.buf, w.len, &ops[i]->id);
            wr_free(&w);
            fevent e = {.kind = FE_OPS, .op = ops[i]->id};
            fc_event(c, &e);
        }
        signed_op_free(ops[i]);
        free(ops[i]);
    }
    free(ops);
    return WEFT_OK;
}

static weft_err fc_submit_endorsements(void *ctx, const endorsement_t *e, size_t n,
                                       weft_err *results)
{
    fchain *c = ctx;
    for (size_t i = 0; i < n; i++) {
        results[i] = endorsement_verify(&e[i]);
        if (results[i])
            continue;
        bool known = false;
        for (size_t k = 0; k < c->nendos && !known; k++)
            known = memcmp(c->endos[k].id.h.b, e[i].id.h.b, 32) == 0;
        if (known)
            continue;
        c->endos = xrealloc(c->endos, (c->nendos + 1) * sizeof *c->endos);
        c->endos[c->nendos++] = e[i];
        fevent ev = {.kind = FE_ENDOS, .e = e[i]};
        fc_event(c, &ev);
    }
    return WEFT_OK;
}

static int fb_slot_cmp(const void *a, const void *b)
{
    return slot_cmp((*(const fblock *const *)a)->h.slot, (*(const fblock *const *)b)->h.slot);
}

static weft_err fc_final_range(void *ctx, slot_t after, size_t max, block_id_t **ids,
                               slot_t **slots, size_t *count, bool *more)
{
    fchain *c = ctx;
    const fblock **sel = xcalloc(c->nall, sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < c->nall; i++)
        if (slot_cmp(c->all[i]->h.slot, after) > 0 && !fc_gone(c, c->all[i]))
            sel[n++] = c->all[i];
    qsort(sel, n, sizeof *sel, fb_slot_cmp);
    size_t k = n < max ? n : max;
    *ids = xcalloc(k, sizeof **ids);
    *slots = xcalloc(k, sizeof **slots);
    for (size_t i = 0; i < k; i++) {
        (*ids)[i] = sel[i]->h.id;
        (*slots)[i] = sel[i]->h.slot;
    }
    *count = k;
    *more = n > k;
    free(sel);
    return WEFT_OK;
}

/* ---- the final state in parts ----------------------------------------------------------------
 */

static int fs_cmp(const fsrec *a, const fsrec *b)
{
    return net_state_key_cmp(a->table, a->key, a->klen, b->table, b->key, b->klen);
}

static int fs_qcmp(const void *a, const void *b) { return fs_cmp(a, b); }

void fc_state_fill(fchain *c, size_t n, uint32_t seed)
{
    free(c->st);
    c->st = xcalloc(n, sizeof *c->st);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        fsrec *r = &c->st[i];
        x = x * 1103515245u + 12345u;
        r->table = (uint8_t)(1 + (x >> 8) % (NET_STATE_TABLES - 1));
        r->klen = 4 + (x >> 16) % 40;
        r->vlen = (x >> 4) % 48;
        for (uint32_t k = 0; k < r->klen; k++)
            r->key[k] = (uint8_t)(x >> (k % 24));
        /* distinct keys: the index in the first four bytes */
        r->key[0] = (uint8_t)(i >> 24), r->key[1] = (uint8_t)(i >> 16);
        r->key[2] = (uint8_t)(i >> 8), r->key[3] = (uint8_t)i;
        for (uint32_t k = 0; k < r->vlen; k++)
            r->val[k] = (uint8_t)(x + k * 7);
    }
    qsort(c->st, n, sizeof *c->st, fs_qcmp);
    c->nst = n;
}

void fc_state_fp(const fsrec *r, size_t n, uint8_t out[NET_STATE_FP_LEN])
{
    memset(out, 0, NET_STATE_FP_LEN);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[NET_STATE_FP_LEN];
        crypto_blake3_ctx x;
        crypto_blake3_init(&x);
        crypto_blake3_update(&x, &r[i].table, 1);
        uint8_t kl = (uint8_t)r[i].klen;
        crypto_blake3_update(&x, &kl, 1);
        crypto_blake3_update(&x, r[i].key, r[i].klen);
        crypto_blake3_update(&x, r[i].val, r[i].vlen);
        crypto_blake3_final_xof(&x, h, sizeof h);
        for (size_t k = 0; k < NET_STATE_FP_LEN; k++)
            out[k] ^= h[k];
    }
}

static weft_err fc_state_part(void *ctx, const net_state_ask *ask, net_state_part *out)
{
    fchain *c = ctx;
    memset(out, 0, sizeof *out);
    if (!c->st_serve) {
        out->status = NET_STATE_UNAVAILABLE;
        return WEFT_OK;
    }
    if (ask->has_cursor && (slot_cmp(ask->cursor, c->st_cursor) != 0 ||
                            (c->st_gone_at && ++c->st_asks == c->st_gone_at))) {
        out->status = NET_STATE_GONE;
        return WEFT_OK;
    }
    out->cursor = c->st_cursor;
    fc_state_fp(c->st, c->nst, out->fingerprint);
    size_t i = 0, off = ask->has_after ? ask->after_offset : 0;
    if (ask->has_after) {
        fsrec a;
        memset(&a, 0, sizeof a);
        a.table = ask->after_table;
        a.klen = ask->after_klen <= sizeof a.key ? ask->after_klen : sizeof a.key;
        memcpy(a.key, ask->after_key, a.klen);
        while (i < c->nst && fs_cmp(&c->st[i], &a) < (off ? 0 : 1))
            i++;
        if (off && (i == c->nst || fs_cmp(&c->st[i], &a) != 0 || c->st[i].vlen <= off)) {
            out->status = NET_STATE_UNAVAILABLE; /* no such value to go on with */
            return WEFT_OK;
        }
    }
    /* the first record from the asked byte of its value, cut to fit; whole ones after it */
    size_t from = i, bytes = 0, first = 0;
    bool cut = false;
    if (i < c->nst) {
        size_t room = ask->max_bytes > c->st[i].klen ? ask->max_bytes - c->st[i].klen : 1;
        first = c->st[i].vlen - off;
        cut = first > room;
        first = cut ? room : first;
        bytes = c->st[i].klen + first;
        i++;
    }
    while (!cut && i < c->nst && bytes + c->st[i].klen + c->st[i].vlen <= ask->max_bytes) {
        bytes += c->st[i].klen + c->st[i].vlen;
        i++;
    }
    out->count = (uint32_t)(i - from);
    out->more = cut || i < c->nst;
    out->first_offset = out->count ? (uint32_t)off : 0;
    out->last_partial = cut;
    out->recs = xcalloc(out->count, sizeof *out->recs);
    out->mem = xcalloc(out->count, sizeof(fsrec));
    fsrec *copy = (fsrec *)out->mem;
    for (uint32_t k = 0; k < out->count; k++) {
        copy[k] = c->st[from + k];
        if (c->st_corrupt >= 0 && (size_t)c->st_corrupt == from + k)
            copy[k].val[0] ^= 1, copy[k].vlen = copy[k].vlen ? copy[k].vlen : 1;
        out->recs[k] =
            (net_state_rec){copy[k].table, copy[k].klen, copy[k].key, copy[k].vlen, copy[k].val};
    }
    if (out->count) { /* the first record's piece (or what st_corrupt made of it) */
        out->recs[0].val += off;
        out->recs[0].vlen = cut ? first : copy[0].vlen - off;
    }
    if (!ask->has_cursor) { /* roots: the latest block of each thread at or before the cursor */
        const fblock *latest[TN_T] = {0};
        for (size_t k = 0; k < c->nall; k++) {
            const fblock *b = c->all[k];
            uint8_t t = b->h.slot.thread;
            if (slot_cmp(b->h.slot, c->st_cursor) <= 0 &&
                (!latest[t] || slot_cmp(b->h.slot, latest[t]->h.slot) > 0))
                latest[t] = b;
        }
        out->root_ids = xcalloc(TN_T, sizeof *out->root_ids);
        out->root_slots = xcalloc(TN_T, sizeof *out->root_slots);
        for (uint64_t p = 0; p <= c->st_cursor.period; p++)
            for (uint8_t t = 0; t < TN_T; t++)
                if (latest[t] && latest[t]->h.slot.period == p) {
                    out->root_ids[out->nroots] = latest[t]->h.id;
                    out->root_slots[out->nroots++] = latest[t]->h.slot;
                }
    }
    return WEFT_OK;
}

static void fc_imp_clear(fchain *c)
{
    free(c->imp);
    free(c->imp_root_ids);
    free(c->imp_root_slots);
    for (uint32_t i = 0; c->imp_roots && i < c->imp_nroots; i++)
        if (c->imp_roots[i])
            fblock_free(c->imp_roots[i]);
    free(c->imp_roots);
    c->imp = NULL;
    c->nimp = 0;
    c->imp_root_ids = NULL;
    c->imp_root_slots = NULL;
    c->imp_roots = NULL;
    c->imp_nroots = 0;
    c->imp_on = false;
}

static weft_err fc_state_begin(void *ctx, slot_t cursor, const uint8_t fp[NET_STATE_FP_LEN],
                               const block_id_t *root_ids, const slot_t *root_slots,
                               uint32_t nroots)
{
    fchain *c = ctx;
    TN_CHECK(!c->imp_on); /* the core aborts a transfer before another */
    c->imp_on = true;
    c->imp_begins++;
    c->imp_cursor = cursor;
    memcpy(c->imp_fp, fp, NET_STATE_FP_LEN);
    c->imp_root_ids = xcalloc(nroots, sizeof *c->imp_root_ids);
    c->imp_root_slots = xcalloc(nroots, sizeof *c->imp_root_slots);
    c->imp_roots = xcalloc(nroots, sizeof *c->imp_roots);
    memcpy(c->imp_root_ids, root_ids, nroots * sizeof *root_ids);
    memcpy(c->imp_root_slots, root_slots, nroots * sizeof *root_slots);
    c->imp_nroots = nroots;
    return WEFT_OK;
}

static weft_err fc_state_records(void *ctx, const net_state_rec *recs, uint32_t n)
{
    fchain *c = ctx;
    TN_CHECK(c->imp_on);
    c->imp = xrealloc(c->imp, (c->nimp + n) * sizeof *c->imp);
    for (uint32_t i = 0; i < n; i++) {
        if (recs[i].klen > sizeof c->imp->key || recs[i].vlen > sizeof c->imp->val)
            return WEFT_E_STATE_RECORD;
        fsrec *r = &c->imp[c->nimp];
        memset(r, 0, sizeof *r);
        r->table = recs[i].table;
        r->klen = recs[i].klen;
        r->vlen = (uint32_t)recs[i].vlen;
        memcpy(r->key, recs[i].key, r->klen);
        memcpy(r->val, recs[i].val, r->vlen);
        TN_CHECK(c->nimp == 0 || fs_cmp(&c->imp[c->nimp - 1], r) < 0); /* the core's order */
        c->nimp++;
    }
    return WEFT_OK;
}

static weft_err fc_state_root(void *ctx, const block_header_t *h, signed_op_t *ops, uint32_t n)
{
    fchain *c = ctx;
    TN_CHECK(c->imp_on);
    weft_err err = WEFT_E_INVAL;
    uint32_t at = 0;
    while (at < c->imp_nroots && !block_id_eq(&c->imp_root_ids[at], &h->id))
        at++;
    if (at < c->imp_nroots && !c->imp_roots[at] && header_verify(h) == WEFT_OK) {
        fblock *b = xcalloc(1, sizeof *b);
        b->h = *h;
        b->n = n;
        b->ids = xcalloc(n, sizeof *b->ids);
        b->ops = xcalloc(n, sizeof *b->ops);
        b->lens = xcalloc(n, sizeof *b->lens);
        for (uint32_t i = 0; i < n; i++) {
            wr_t w;
            wr_init(&w);
            signed_op_encode(&w, &ops[i]);
            b->ops[i] = wr_take(&w, &b->lens[i]);
            b->ids[i] = ops[i].id;
        }
        hash32_t oh;
        block_ops_hash(&oh, b->ids, n);
        if (hash32_cmp(&oh, &h->ops_hash) == 0) {
            c->imp_roots[at] = b;
            err = WEFT_OK;
        } else {
            fblock_free(b);
            err = WEFT_E_OPS_HASH;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        signed_op_free(&ops[i]);
    free(ops);
    return err;
}

static weft_err fc_state_finish(void *ctx, bool *adopted)
{
    fchain *c = ctx;
    TN_CHECK(c->imp_on);
    for (uint32_t i = 0; i < c->imp_nroots; i++)
        TN_CHECK(c->imp_roots[i]); /* the core finishes with every root */
    uint8_t fp[NET_STATE_FP_LEN];
    fc_state_fp(c->imp, c->nimp, fp);
    if (memcmp(fp, c->imp_fp, sizeof fp) != 0) {
        fc_imp_clear(c);
        return WEFT_E_STATE_CORRUPT;
    }
    c->imp_finishes++;
    *adopted = !c->imp_adopt_later;
    if (c->imp_adopt_later) {
        fc_imp_clear(c);
        return WEFT_OK;
    }
    free(c->st);
    c->st = c->imp;
    c->nst = c->nimp;
    c->imp = NULL;
    c->st_cursor = c->imp_cursor;
    for (uint32_t i = 0; i < c->imp_nroots; i++) {
        if (!fc_get(c, &c->imp_roots[i]->h.id))
            fc_take(c, c->imp_roots[i], false);
        else
            fblock_free(c->imp_roots[i]);
        c->imp_roots[i] = NULL;
    }
    fc_imp_clear(c);
    return WEFT_OK;
}

/* Checks: the fingerprint is known at st_cursor only (a state held), not final yet after it. */
static weft_err fc_state_fingerprint(void *ctx, slot_t slot, uint8_t fp[NET_STATE_FP_LEN],
                                     uint8_t *status)
{
    fchain *c = ctx;
    c->checks++;
    *status = NET_CHECK_NOT_KEPT;
    if (c->nst == 0 || slot_cmp(slot, c->st_cursor) > 0) {
        *status = NET_CHECK_AHEAD;
    } else if (slot_cmp(slot, c->st_cursor) == 0) {
        *status = NET_CHECK_KNOWN;
        fc_state_fp(c->st, c->nst, fp);
        if (c->check_lie)
            fp[0] ^= 1;
    }
    return WEFT_OK;
}

static void fc_state_abort(void *ctx)
{
    fchain *c = ctx;
    if (c->imp_on)
        c->imp_aborts++;
    fc_imp_clear(c);
}

const net_chain_vt fc_vt = {
    .status = fc_status,
    .has_block = fc_has_block,
    .get_block = fc_get_block,
    .get_ops = fc_get_ops,
    .submit_block = fc_submit_block,
    .submit_ops = fc_submit_ops,
    .submit_endorsements = fc_submit_endorsements,
    .final_range = fc_final_range,
    .state_part = fc_state_part,
    .state_begin = fc_state_begin,
    .state_records = fc_state_records,
    .state_root = fc_state_root,
    .state_finish = fc_state_finish,
    .state_abort = fc_state_abort,
    .state_fingerprint = fc_state_fingerprint,
};

/* ---- network --------------------------------------------------------------------------------- */

static void q_push(tqueue *q, uint8_t *b, size_t len)
{
    if (q->head + q->len == q->cap) {
        if (q->head) {
            memmove(q->f, q->f + q->head, q->len * sizeof *q->f);
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 16;
            q->f = xrealloc(q->f, q->cap * sizeof *q->f);
        }
    }
    q->f[q->head + q->len++] = (tframe){b, len};
}

static bool q_pop(tqueue *q, tframe *out)
{
    if (!q->len)
        return false;
    *out = q->f[q->head++];
    q->len--;
    if (!q->len)
        q->head = 0;
    return true;
}

static void q_free(tqueue *q)
{
    tframe f;
    while (q_pop(q, &f))
        free(f.b);
    free(q->f);
    memset(q, 0, sizeof *q);
}

void tn_init(tnet *t)
{
    tn_genesis_init();
    memset(t, 0, sizeof *t);
    t->next_id = 1;
    t->now = 1000000;
    t->rng = 0x9e3779b97f4a7c15ULL;
    t->drop_from = t->drop_to = -1;
}

void tn_free(tnet *t)
{
    for (int i = 0; i < t->nc; i++)
        for (int d = 0; d < 2; d++)
            for (int l = 0; l < 2; l++)
                q_free(&t->c[i].q[d][l]);
    for (int i = 0; i < t->nn; i++) {
        net_core_free(t->n[i].core);
        fc_free(&t->n[i].ch);
        q_free(&t->n[i].inbox);
    }
}

static void test_cfg(net_config *c, const keypair_t *key, uint16_t port)
{
    net_config_default(c);
    c->chain_id = TN_CHAIN;
    c->genesis_id = *tn_genesis_id();
    c->thread_count = TN_T;
    c->node_key = *key;
    c->listen_port = port;
    c->outbound_target = 0; /* tests that want dials set it */
    c->ban_ms = 60000;
    c->sync_batch = 64;
    c->max_asks_per_peer = 16;
}

static void node_key(keypair_t *k, int i)
{
    uint8_t seed[32];
    memset(seed, 0, sizeof seed);
    seed[0] = (uint8_t)(i + 1);
    seed[1] = 0x5a;
    keypair_from_seed(k, seed);
}

int tn_add(tnet *t, const char *ip, uint16_t port, void (*cfg_fn)(net_config *c, void *ctx),
           void *ctx, const char *const *boot, size_t nboot)
{
    TN_CHECK(t->nn < TN_MAX_NODES);
    int i = t->nn++;
    tnode *n = &t->n[i];
    memset(n, 0, sizeof *n);
    node_key(&n->key, i);
    fc_init(&n->ch);
    snprintf(n->ip, sizeof n->ip, "%s", ip);
    char addr[NET_ADDR_MAX + 8];
    snprintf(addr, sizeof addr, "%s:%u", ip, port);
    snprintf(n->addr, sizeof n->addr, "%.*s", NET_ADDR_MAX - 1, addr);
    n->listening = port != 0;
    test_cfg(&n->cfg, &n->key, port);
    if (cfg_fn)
        cfg_fn(&n->cfg, ctx);
    TN_CHECK(net_core_new(&n->core, &n->cfg, &fc_vt, &n->ch, boot, nboot) == WEFT_OK);
    return i;
}

int tn_add_raw(tnet *t, const char *ip)
{
    TN_CHECK(t->nn < TN_MAX_NODES);
    int i = t->nn++;
    tnode *n = &t->n[i];
    memset(n, 0, sizeof *n);
    n->raw = true;
    node_key(&n->key, i);
    snprintf(n->ip, sizeof n->ip, "%s", ip);
    return i;
}

static void nonce(tnet *t, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        t->rng = t->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(t->rng >> 56);
    }
}

static int connect_addr(tnet *t, int a, int b, const char *dialed)
{
    TN_CHECK(t->nc < TN_MAX_CONNS);
    int ci = t->nc++;
    tconn *c = &t->c[ci];
    memset(c, 0, sizeof *c);
    c->a = a;
    c->b = b;
    c->pa = t->next_id++;
    c->pb = t->next_id++;
    c->open = true;
    uint8_t na[32], nb[32];
    nonce(t, na);
    nonce(t, nb);
    char remote_a[NET_ADDR_MAX + 16];
    snprintf(remote_a, sizeof remote_a, "%s:%u", t->n[a].ip, 40000u + (unsigned)ci % 20000u);
    remote_a[NET_ADDR_MAX - 1] = 0;
    if (!t->n[a].raw)
        TN_CHECK(net_core_connected(t->n[a].core, c->pa, true, dialed, t->n[b].ip, na, t->now) ==
                 WEFT_OK);
    if (!t->n[b].raw)
        TN_CHECK(net_core_connected(t->n[b].core, c->pb, false, remote_a, t->n[a].ip, nb, t->now) ==
                 WEFT_OK);
    return ci;
}

int tn_connect(tnet *t, int a, int b)
{
    int ci = connect_addr(t, a, b, t->n[b].addr[0] ? t->n[b].addr : t->n[b].ip);
    tn_pump(t);
    return ci;
}

bool tn_conn_open(const tnet *t, int ci) { return t->c[ci].open; }

/* The connection and side of a node's handle. */
static int find_conn(tnet *t, int node, net_peer_id peer, int *side)
{
    for (int i = 0; i < t->nc; i++) {
        tconn *c = &t->c[i];
        if (!c->open)
            continue;
        if (c->a == node && c->pa == peer) {
            *side = 0;
            return i;
        }
        if (c->b == node && c->pb == peer) {
            *side = 1;
            return i;
        }
    }
    return -1;
}

static void do_dial(tnet *t, int from, const char *addr)
{
    t->n[from].dials++;
    for (int j = 0; j < t->nn; j++) {
        tnode *n = &t->n[j];
        if (!n->listening || strcmp(n->addr, addr) != 0)
            continue;
        if (n->core && !net_core_accept_ok(n->core, t->n[from].ip, t->now))
            break;
        connect_addr(t, from, j, addr);
        return;
    }
    net_core_dial_failed(t->n[from].core, addr, t->now);
}

static bool take_actions(tnet *t, int i)
{
    tnode *n = &t->n[i];
    if (n->raw)
        return false;
    bool moved = false;
    net_action acts[64];
    size_t k;
    while ((k = net_core_take_actions(n->core, acts, 64)) > 0) {
        moved = true;
        for (size_t j = 0; j < k; j++) {
            net_action *a = &acts[j];
            int side = 0;
            int ci = a->kind == NET_ACT_DIAL ? -1 : find_conn(t, i, a->peer, &side);
            if (a->kind == NET_ACT_SEND) {
                if (ci >= 0 && !t->c[ci].closing[side]) {
                    tconn *c = &t->c[ci];
                    int to = side == 0 ? c->b : c->a;
                    uint8_t type = a->frame[4];
                    t->sent[i][to][type]++;
                    t->lane_seen[type] |= a->lane == NET_LANE_BULK ? 2 : 1;
                    if (t->tap)
                        t->tap(t, i, to, a->frame, a->len);
                    if (a->lane != net_msg_lane(type))
                        t->lane_errors++;
                    if (a->lane == NET_LANE_BULK)
                        t->bulk_sends++;
                    else
                        t->control_sends++;
                    bool drop = t->drop_from == i && t->drop_to == to &&
                                (!t->drop_type || t->drop_type == type);
                    if (!drop) {
                        q_push(&c->q[side][a->lane], a->frame, a->len);
                        a->frame = NULL;
                    }
                }
            } else if (a->kind == NET_ACT_CLOSE) {
                n->closes++;
                n->last_close_reason = a->reason;
                n->last_close_banned = a->banned;
                if (ci >= 0)
                    t->c[ci].closing[side] = true;
            } else if (a->kind == NET_ACT_DIAL) {
                do_dial(t, i, a->addr);
            }
        }
        net_actions_free(acts, k);
    }
    return moved;
}

static bool drain_events(tnet *t, int i)
{
    tnode *n = &t->n[i];
    if (n->raw || !n->ch.nev)
        return false;
    fevent *ev = n->ch.ev;
    size_t nev = n->ch.nev;
    n->ch.ev = NULL;
    n->ch.nev = n->ch.evcap = 0;
    for (size_t k = 0; k < nev; k++) {
        fevent *e = &ev[k];
        weft_err r = WEFT_OK;
        switch (e->kind) {
        case FE_PENDING:
            r = net_core_block_pending(n->core, &e->b->h, t->now);
            break;
        case FE_INVALID:
            r = net_core_block_invalid(n->core, &e->id, WEFT_E_GRAPH_PARENT_INVALID, t->now);
            break;
        case FE_MISSING:
            r = net_core_blocks_missing(n->core, &e->id, 1, t->now);
            break;
        case FE_OPS:
            r = net_core_ops_admitted(n->core, &e->op, 1, t->now);
            break;
        case FE_ENDOS:
            r = net_core_endorsements_admitted(n->core, &e->e, 1, t->now);
            break;
        default:
            break;
        }
        TN_CHECK(r == WEFT_OK);
    }
    free(ev);
    return true;
}

static bool deliver(tnet *t, int ci)
{
    tconn *c = &t->c[ci];
    bool moved = false;
    for (int d = 0; d < 2; d++) {
        tframe f;
        if (!q_pop(&c->q[d][NET_LANE_CONTROL], &f) && !q_pop(&c->q[d][NET_LANE_BULK], &f))
            continue;
        moved = true;
        int to = d == 0 ? c->b : c->a;
        net_peer_id pid = d == 0 ? c->pb : c->pa;
        tnode *n = &t->n[to];
        if (c->closing[1 - d]) { /* the receiver closed: nothing more reaches it */
            free(f.b);
            continue;
        }
        if (n->raw) {
            q_push(&n->inbox, f.b, f.len);
            continue;
        }
        TN_CHECK(net_core_received(n->core, pid, f.b, f.len, t->now) == WEFT_OK);
        free(f.b);
    }
    /* a side that asked to close is closed once its frames are out */
    for (int s = 0; s < 2; s++)
        if (c->closing[s] && !c->q[s][0].len && !c->q[s][1].len && c->open) {
            c->open = false;
            if (!t->n[c->a].raw)
                net_core_disconnected(t->n[c->a].core, c->pa, t->now);
            if (!t->n[c->b].raw)
                net_core_disconnected(t->n[c->b].core, c->pb, t->now);
            for (int d = 0; d < 2; d++)
                for (int l = 0; l < 2; l++)
                    q_free(&c->q[d][l]);
            moved = true;
        }
    return moved;
}

void tn_close(tnet *t, int ci)
{
    tconn *c = &t->c[ci];
    if (!c->open)
        return;
    c->open = false;
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < 2; l++)
            q_free(&c->q[d][l]);
    if (!t->n[c->a].raw)
        net_core_disconnected(t->n[c->a].core, c->pa, t->now);
    if (!t->n[c->b].raw)
        net_core_disconnected(t->n[c->b].core, c->pb, t->now);
}

void tn_pump(tnet *t)
{
    for (long iter = 0;; iter++) {
        TN_CHECK(iter < 5000000);
        bool moved = false;
        for (int i = 0; i < t->nn; i++)
            moved |= take_actions(t, i);
        for (int i = 0; i < t->nc; i++)
            if (t->c[i].open)
                moved |= deliver(t, i);
        for (int i = 0; i < t->nn; i++)
            moved |= drain_events(t, i);
        if (!moved)
            return;
    }
}

void tn_tick(tnet *t)
{
    for (int i = 0; i < t->nn; i++)
        if (!t->n[i].raw)
            TN_CHECK(net_core_tick(t->n[i].core, t->now) == WEFT_OK);
    tn_pump(t);
}

void tn_raw_send(tnet *t, int ci, int from, const uint8_t *frame, size_t len)
{
    tconn *c = &t->c[ci];
    int side = c->a == from ? 0 : 1;
    uint8_t *b = xcalloc(len, 1);
    memcpy(b, frame, len);
    q_push(&c->q[side][len >= 5 ? net_msg_lane(frame[4]) : NET_LANE_CONTROL], b, len);
}

uint8_t tn_raw_next(tnet *t, int raw, tframe *f)
{
    if (!q_pop(&t->n[raw].inbox, f))
        return 0;
    return f->len >= 5 ? f->b[4] : 0;
}

bool tn_ready(tnet *t, int node, int other)
{
    net_peer_info info[32];
    size_t n = net_core_peers(t->n[node].core, info, 32);
    for (size_t i = 0; i < n && i < 32; i++)
        if (info[i].ready && memcmp(info[i].node_id.b, t->n[other].key.pk.b, 32) == 0)
            return true;
    return false;
}

size_t tn_ready_count(tnet *t, int node)
{
    net_stats st;
    net_core_stats(t->n[node].core, &st);
    return st.peers_ready;
}

/* ---- fuzz environment ------------------------------------------------------------------------ */

static void fz_settle(fz_env *e)
{
    for (bool moved = true; moved;) {
        moved = false;
        net_action acts[64];
        size_t k;
        while ((k = net_core_take_actions(e->core, acts, 64)) > 0) {
            moved = true;
            for (size_t i = 0; i < k; i++)
                if (acts[i].kind == NET_ACT_CLOSE && acts[i].peer == FZ_PEER && !e->closed) {
                    e->closed = true;
                    e->banned = acts[i].banned;
                    e->reason = acts[i].reason;
                }
            net_actions_free(acts, k);
        }
        if (e->closed) /* the shell reports the close */
            net_core_disconnected(e->core, FZ_PEER, e->now);
        fevent *ev = e->ch.ev;
        size_t nev = e->ch.nev;
        e->ch.ev = NULL;
        e->ch.nev = e->ch.evcap = 0;
        for (size_t i = 0; i < nev; i++) {
            moved = true;
            weft_err r = WEFT_OK;
            switch (ev[i].kind) {
            case FE_PENDING:
                r = net_core_block_pending(e->core, &ev[i].b->h, e->now);
                break;
            case FE_INVALID:
                r = net_core_block_invalid(e->core, &ev[i].id, WEFT_E_GRAPH_STRUCTURE, e->now);
                break;
            case FE_MISSING:
                r = net_core_blocks_missing(e->core, &ev[i].id, 1, e->now);
                break;
            case FE_OPS:
                r = net_core_ops_admitted(e->core, &ev[i].op, 1, e->now);
                break;
            case FE_ENDOS:
                r = net_core_endorsements_admitted(e->core, &ev[i].e, 1, e->now);
                break;
            default:
                break;
            }
            TN_CHECK(r == WEFT_OK);
        }
        free(ev);
    }
}

void fz_init(fz_env *e)
{
    tn_genesis_init();
    memset(e, 0, sizeof *e);
    e->now = 5000000;
    node_key(&e->node, 0);
    node_key(&e->raw, 1);
    fc_init(&e->ch);
    fc_reset_ops();
    e->ch.mute_pending = true;
    e->blocks[0] = fc_produce(&e->ch, &e->node, 1, 0, 2);
    e->blocks[1] = fc_produce(&e->ch, &e->node, 1, 1, 1);
    e->ch.mute_pending = false;
    fc_state_fill(&e->ch, 40, 7); /* a final state it serves in parts */
    e->ch.st_cursor = (slot_t){1, 1};
    e->ch.st_serve = true;
    size_t len;
    uint8_t *op = fc_make_op(&e->node, &len, &e->pool_op);
    fc_pool_add(&e->ch, op, len, &e->pool_op);
    free(op);
    net_config cfg;
    test_cfg(&cfg, &e->node, 31244);
    cfg.max_ops_per_message = 64;
    TN_CHECK(net_core_new(&e->core, &cfg, &fc_vt, &e->ch, NULL, 0) == WEFT_OK);
    uint8_t nonce[32];
    memset(nonce, 0x4e, sizeof nonce);
    TN_CHECK(net_core_connected(e->core, FZ_PEER, false, "10.1.1.1:40000", "10.1.1.1", nonce,
                                e->now) == WEFT_OK);
    TN_CHECK(net_core_ops_admitted(e->core, &e->pool_op, 1, e->now) == WEFT_OK);
    /* the raw peer's handshake and proof */
    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = TN_CHAIN;
    h.genesis = *tn_genesis_id();
    h.thread_count = TN_T;
    h.node_id = e->raw.pk;
    h.listen_port = 31245;
    memset(h.nonce, 0x52, sizeof h.nonce);
    hash32_t d;
    net_proof_digest(&d, TN_CHAIN, nonce, &e->raw.pk, &e->node.pk);
    signature_t sig;
    model_sign_digest(&sig, &e->raw, &d);
    wr_t w;
    wr_init(&w);
    net_enc_handshake(&w, &h);
    net_enc_proof(&w, &sig);
    size_t cut = w.len - (NET_FRAME_HEADER + 64);
    TN_CHECK(net_core_received(e->core, FZ_PEER, w.buf, cut, e->now) == WEFT_OK);
    TN_CHECK(net_core_received(e->core, FZ_PEER, w.buf + cut, w.len - cut, e->now) == WEFT_OK);
    wr_free(&w);
    fz_settle(e);
    TN_CHECK(!e->closed);
}

void fz_feed(fz_env *e, const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size && !e->closed) {
        size_t left = size - off, take = left;
        if (left >= NET_FRAME_HEADER) {
            const uint8_t *p = data + off;
            uint64_t l = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
            if (l >= 1 && l <= left - 4)
                take = 4 + (size_t)l;
        }
        TN_CHECK(net_core_received(e->core, FZ_PEER, data + off, take, e->now) == WEFT_OK);
        off += take;
        fz_settle(e);
        e->now += 7;
    }
    /* time-outs, retries, announcements, periodic hellos, ban expiry */
    uint64_t steps[] = {300, 11000, 61000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        e->now += steps[i];
        TN_CHECK(net_core_tick(e->core, e->now) == WEFT_OK);
        fz_settle(e);
    }
}

void fz_free(fz_env *e)
{
    net_core_free(e->core);
    fc_free(&e->ch);
    memset(e, 0, sizeof *e);
}
