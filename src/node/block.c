/* Shared block objects, their block-log record, and the genesis blocks. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node_internal.h"

nblock *nblock_ref(nblock *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void nblock_unref(nblock *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < b->b.op_count; i++)
        signed_op_free(&b->ops[i]);
    free(b->ops);
    free(b->endorsers);
    free(b->op_ptrs);
    block_free(&b->b);
    free(b);
}

void nblock_free_fn(void *b) { nblock_unref(b); }

weft_err nblock_new(nblock **out, const block_header_t *h, signed_op_t *ops, uint32_t count,
                    const uint64_t *parent_periods)
{
    *out = NULL;
    nblock *b = calloc(1, sizeof *b);
    op_id_t *ids = calloc(count ? count : 1, sizeof *ids);
    const signed_op_t **ptrs = calloc(count ? count : 1, sizeof *ptrs);
    uint32_t ne = h->endorsement_count <= MODEL_MAX_ENDORSEMENTS ? h->endorsement_count : 0;
    address_t *endo = calloc(ne ? ne : 1, sizeof *endo);
    if (!b || !ids || !ptrs || !endo) {
        free(b);
        free(ids);
        free(ptrs);
        free(endo);
        for (uint32_t i = 0; i < count; i++)
            signed_op_free(&ops[i]);
        free(ops);
        return WEFT_E_NOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        ids[i] = ops[i].id;
        ptrs[i] = &ops[i];
    }
    for (uint32_t i = 0; i < ne; i++)
        address_of_pubkey(&endo[i], &h->endorsements[i].creator);
    atomic_init(&b->refs, 1);
    b->b.header = *h;
    b->b.op_ids = ids;
    b->b.op_count = count;
    b->ops = ops;
    b->op_ptrs = ptrs;
    b->endorsers = endo;
    address_of_pubkey(&b->creator, &h->creator);
    if (parent_periods)
        memcpy(b->parent_periods, parent_periods, sizeof b->parent_periods);
    hash32_t oh;
    block_ops_hash(&oh, ids, count);
    if (hash32_cmp(&oh, &h->ops_hash) != 0) {
        nblock_unref(b);
        return WEFT_E_OPS_HASH;
    }
    *out = b;
    return WEFT_OK;
}

weft_err nblock_encode(const nblock *b, wr_t *w)
{
    block_encode(w, &b->b);
    uint32_t T = b->b.header.parent_count;
    wr_varint(w, T);
    for (uint32_t t = 0; t < T; t++)
        wr_varint(w, b->parent_periods[t]);
    wr_t one;
    wr_init(&one);
    for (uint32_t i = 0; i < b->b.op_count; i++) {
        one.len = 0;
        signed_op_encode(&one, &b->ops[i]);
        wr_varint(w, one.len);
        wr_bytes(w, one.buf, one.len);
    }
    weft_err e = wr_err(&one);
    wr_free(&one);
    return e ? e : wr_err(w);
}

/* Reads a block record (bounded: counts are checked against the parameters, trailing bytes are
 * refused, and every operation must have the id the block lists). */
weft_err nblock_decode(nblock **out, const model_params *p, const uint8_t *rec, size_t len)
{
    *out = NULL;
    rd_t r;
    rd_init(&r, rec, len);
    block_header_t h;
    header_read(&r, p, &h);
    uint64_t nops = rd_varint_max(&r, p->max_operations_per_block, WEFT_E_LIMIT);
    if (rd_err(&r))
        return rd_err(&r);
    op_id_t *ids = calloc(nops ? nops : 1, sizeof *ids);
    if (!ids)
        return WEFT_E_NOMEM;
    for (uint64_t i = 0; i < nops; i++)
        rd_bytes(&r, ids[i].h.b, MODEL_HASH_LEN);
    uint64_t T = rd_varint_max(&r, MODEL_MAX_THREADS, WEFT_E_LIMIT);
    uint64_t pp[MODEL_MAX_THREADS] = {0};
    for (uint64_t t = 0; t < T; t++)
        pp[t] = rd_varint(&r);
    signed_op_t *ops = calloc(nops ? nops : 1, sizeof *ops);
    weft_err e = ops ? rd_err(&r) : WEFT_E_NOMEM;
    uint64_t done = 0;
    for (; !e && done < nops; done++) {
        uint64_t l = rd_varint_max(&r, len, WEFT_E_LIMIT);
        const uint8_t *d = rd_ptr(&r, l);
        e = rd_err(&r);
        if (!e)
            e = signed_op_decode(&ops[done], p->chain_id, d, l);
        if (!e && hash32_cmp(&ops[done].id.h, &ids[done].h) != 0) {
            signed_op_free(&ops[done]);
            e = WEFT_E_CORRUPT;
        }
        if (e)
            break;
    }
    if (!e)
        e = rd_finish(&r);
    free(ids);
    if (e) {
        for (uint64_t i = 0; i < done && ops; i++)
            signed_op_free(&ops[i]);
        free(ops);
        return e;
    }
    return nblock_new(out, &h, ops, (uint32_t)nops, pp);
}

void node_genesis_headers(const model_params *p, block_header_t *out)
{
    /* the genesis key: BLAKE3("weft/genesis-key/v1" ‖ chain_id u64be ‖ genesis_timestamp u64be) */
    static const char tag[] = "weft/genesis-key/v1";
    uint8_t num[16];
    for (int i = 0; i < 8; i++) {
        num[i] = (uint8_t)(p->chain_id >> (56 - 8 * i));
        num[8 + i] = (uint8_t)(p->genesis_timestamp_ms >> (56 - 8 * i));
    }
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, tag, sizeof tag - 1);
    crypto_blake3_update(&c, num, sizeof num);
    uint8_t seed[32];
    crypto_blake3_final(&c, seed);
    keypair_t kp;
    keypair_from_seed(&kp, seed);
    for (uint32_t t = 0; t < p->thread_count; t++) {
        block_header_t *h = &out[t];
        memset(h, 0, sizeof *h);
        h->version = HEADER_VERSION;
        h->slot.period = 0;
        h->slot.thread = (uint8_t)t;
        h->parent_count = 0;
        block_ops_hash(&h->ops_hash, NULL, 0);
        header_sign(h, &kp);
    }
    keypair_wipe(&kp);
    crypto_wipe(seed, sizeof seed);
}

weft_err node_op_copy(signed_op_t *dst, const signed_op_t *src, uint64_t chain_id)
{
    return signed_op_from_parts(dst, chain_id, &src->creator, &src->sig, src->content,
                                src->content_len);
}

void nupdate_free(void *p)
{
    nupdate *u = p;
    if (!u)
        return;
    for (size_t i = 0; i < u->n_finalize; i++)
        nblock_unref(u->fin_refs[i]);
    for (size_t i = 0; i < u->n_bc; i++)
        nblock_unref(u->bc_refs[i]);
    free(u->finalize);
    free(u->fin_blocks);
    free(u->fin_refs);
    free(u->bc);
    free(u->bc_blocks);
    free(u->bc_refs);
    free(u);
}

void nids_free(void *p)
{
    nids *x = p;
    if (!x)
        return;
    free(x->ids);
    free(x);
}
