/* Endorsements, block headers and blocks in weft's own Massa-like format (docs/formats.md).
 * Signed structures travel as  signature (00 ‖ 64 B) ‖ creator public key (00 ‖ 32 B) ‖ content,
 * and their id is BLAKE3(00 ‖ creator public key ‖ content); the signature is over the id. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "model/model.h"

/* id = BLAKE3(00 ‖ pk ‖ content of w) */
static void signed_id(hash32_t *out, const pubkey_t *creator, const wr_t *content)
{
    uint8_t pk[MODEL_PK_LEN];
    pubkey_to_bytes(pk, creator);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, pk, sizeof pk);
    crypto_blake3_update(&c, content->buf, content->len);
    crypto_blake3_final(&c, out->b);
}

static void write_sig_pk(wr_t *w, const signature_t *sig, const pubkey_t *pk)
{
    uint8_t v[MODEL_PK_LEN];
    wr_u8(w, 0);
    wr_bytes(w, sig->b, 64);
    pubkey_to_bytes(v, pk);
    wr_bytes(w, v, sizeof v);
}

static void read_sig_pk(rd_t *r, signature_t *sig, pubkey_t *pk)
{
    if (rd_varint(r) != 0)
        rd_fail(r, WEFT_E_VERSION);
    rd_bytes(r, sig->b, 64);
    if (rd_varint(r) != 0)
        rd_fail(r, WEFT_E_VERSION);
    rd_bytes(r, pk->b, 32);
    /* an invalid key (not a curve point) is rejected by signature verification, not here */
}

/* Content bytes of a signed structure: a small growable writer the caller frees. */
static void endorsement_content(wr_t *w, const endorsement_t *e)
{
    wr_init(w);
    endorsement_content_write(w, e);
    WEFT_ASSERT(wr_err(w) == WEFT_OK);
}

void endorsement_content_write(wr_t *w, const endorsement_t *e)
{
    wr_varint(w, e->slot.period);
    wr_u8(w, e->slot.thread);
    wr_varint(w, e->index);
    wr_bytes(w, e->endorsed.h.b, MODEL_HASH_LEN);
}

void endorsement_compute_id(endorsement_t *e)
{
    wr_t w;
    endorsement_content(&w, e);
    signed_id(&e->id.h, &e->creator, &w);
    wr_free(&w);
}

void endorsement_sign(endorsement_t *e, const keypair_t *kp)
{
    e->creator = kp->pk;
    endorsement_compute_id(e);
    model_sign_digest(&e->sig, kp, &e->id.h);
}

void endorsement_encode(wr_t *w, const endorsement_t *e)
{
    write_sig_pk(w, &e->sig, &e->creator);
    endorsement_content_write(w, e);
}

void endorsement_read(rd_t *r, const model_params *p, endorsement_t *out)
{
    memset(out, 0, sizeof *out);
    read_sig_pk(r, &out->sig, &out->creator);
    out->slot.period = rd_varint(r);
    uint8_t thread = rd_u8(r);
    uint64_t index = rd_varint(r);
    rd_bytes(r, out->endorsed.h.b, MODEL_HASH_LEN);
    if (rd_err(r))
        return;
    if (thread >= p->thread_count) {
        rd_fail(r, WEFT_E_THREAD);
        return;
    }
    if (index >= p->endorsement_count) {
        rd_fail(r, WEFT_E_ENDORSEMENT);
        return;
    }
    out->slot.thread = thread;
    out->index = (uint32_t)index;
    endorsement_compute_id(out);
}

weft_err endorsement_decode(endorsement_t *out, const model_params *p, const uint8_t *data,
                            size_t len)
{
    rd_t r;
    rd_init(&r, data, len);
    endorsement_read(&r, p, out);
    weft_err e = rd_finish(&r);
    if (e)
        memset(out, 0, sizeof *out);
    return e;
}

weft_err endorsement_verify(const endorsement_t *e)
{
    return model_verify_digest(&e->sig, &e->creator, &e->id.h);
}

void header_content_write(wr_t *w, const block_header_t *h)
{
    wr_varint(w, h->version);
    wr_varint(w, h->slot.period);
    wr_u8(w, h->slot.thread);
    wr_varint(w, h->parent_count);
    for (uint32_t i = 0; i < h->parent_count; i++)
        wr_bytes(w, h->parents[i].h.b, MODEL_HASH_LEN);
    wr_bytes(w, h->ops_hash.b, MODEL_HASH_LEN);
    wr_varint(w, h->endorsement_count);
    for (uint32_t i = 0; i < h->endorsement_count; i++)
        endorsement_encode(w, &h->endorsements[i]);
}

void header_compute_id(block_header_t *h)
{
    wr_t w;
    wr_init(&w);
    header_content_write(&w, h);
    WEFT_ASSERT(wr_err(&w) == WEFT_OK);
    signed_id(&h->id.h, &h->creator, &w);
    wr_free(&w);
}

void header_sign(block_header_t *h, const keypair_t *kp)
{
    h->creator = kp->pk;
    header_compute_id(h);
    model_sign_digest(&h->sig, kp, &h->id.h);
}

void header_encode(wr_t *w, const block_header_t *h)
{
    write_sig_pk(w, &h->sig, &h->creator);
    header_content_write(w, h);
}

void header_read(rd_t *r, const model_params *p, block_header_t *out)
{
    memset(out, 0, sizeof *out);
    read_sig_pk(r, &out->sig, &out->creator);
    uint64_t version = rd_varint(r);
    if (!rd_err(r) && version != HEADER_VERSION)
        rd_fail(r, WEFT_E_VERSION);
    out->slot.period = rd_varint(r);
    uint8_t thread = rd_u8(r);
    if (!rd_err(r) && thread >= p->thread_count)
        rd_fail(r, WEFT_E_THREAD);
    out->slot.thread = thread;
    uint64_t parents = rd_varint(r);
    if (!rd_err(r) && parents != (out->slot.period == 0 ? 0 : p->thread_count))
        rd_fail(r, WEFT_E_PARENTS);
    if (rd_err(r))
        return;
    out->parent_count = (uint32_t)parents;
    for (uint32_t i = 0; i < out->parent_count; i++)
        rd_bytes(r, out->parents[i].h.b, MODEL_HASH_LEN);
    rd_bytes(r, out->ops_hash.b, MODEL_HASH_LEN);
    uint64_t count =
        rd_varint_max(r, out->slot.period == 0 ? 0 : p->endorsement_count, WEFT_E_ENDORSEMENT);
    out->endorsement_count = (uint32_t)count;
    for (uint32_t i = 0; i < out->endorsement_count && !rd_err(r); i++) {
        endorsement_t *e = &out->endorsements[i];
        endorsement_read(r, p, e);
        if (rd_err(r))
            break;
        bool ordered = i == 0 || e->index > out->endorsements[i - 1].index;
        if (!ordered || slot_cmp(e->slot, out->slot) != 0 ||
            !block_id_eq(&e->endorsed, &out->parents[out->slot.thread]))
            rd_fail(r, WEFT_E_ENDORSEMENT);
    }
    if (!rd_err(r))
        header_compute_id(out);
}

weft_err header_decode(block_header_t *out, const model_params *p, const uint8_t *data, size_t len)
{
    rd_t r;
    rd_init(&r, data, len);
    header_read(&r, p, out);
    weft_err e = rd_finish(&r);
    if (e)
        memset(out, 0, sizeof *out);
    return e;
}

weft_err header_verify(const block_header_t *h)
{
    weft_err e = model_verify_digest(&h->sig, &h->creator, &h->id.h);
    for (uint32_t i = 0; e == WEFT_OK && i < h->endorsement_count; i++)
        e = endorsement_verify(&h->endorsements[i]);
    return e;
}

void block_ops_hash(hash32_t *out, const op_id_t *ids, size_t count)
{
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    for (size_t i = 0; i < count; i++)
        crypto_blake3_update(&c, ids[i].h.b, MODEL_HASH_LEN);
    crypto_blake3_final(&c, out->b);
}

void block_encode(wr_t *w, const block_t *b)
{
    header_encode(w, &b->header);
    wr_varint(w, b->op_count);
    for (uint32_t i = 0; i < b->op_count; i++)
        wr_bytes(w, b->op_ids[i].h.b, MODEL_HASH_LEN);
}

static int op_id_cmp(const void *a, const void *b)
{
    return hash32_cmp(&((const op_id_t *)a)->h, &((const op_id_t *)b)->h);
}

weft_err block_decode(block_t *out, const model_params *p, const uint8_t *data, size_t len)
{
    weft_err e = WEFT_OK;
    op_id_t *sorted = NULL;
    memset(out, 0, sizeof *out);
    rd_t r;
    rd_init(&r, data, len);
    header_read(&r, p, &out->header);
    uint64_t count = rd_varint_max(&r, p->max_operations_per_block, WEFT_E_TOO_MANY_OPS);
    if ((e = rd_err(&r)) != WEFT_OK)
        goto fail;
    /* the count is bounded, and the bytes must be there before anything is allocated */
    if (rd_left(&r) / MODEL_HASH_LEN < count) {
        e = WEFT_E_TRUNCATED;
        goto fail;
    }
    out->op_ids = malloc(count ? count * sizeof(op_id_t) : 1);
    sorted = malloc(count ? count * sizeof(op_id_t) : 1);
    if (!out->op_ids || !sorted) {
        e = WEFT_E_NOMEM;
        goto fail;
    }
    out->op_count = (uint32_t)count;
    for (uint32_t i = 0; i < out->op_count; i++)
        rd_bytes(&r, out->op_ids[i].h.b, MODEL_HASH_LEN);
    if ((e = rd_finish(&r)) != WEFT_OK)
        goto fail;
    memcpy(sorted, out->op_ids, count * sizeof(op_id_t));
    qsort(sorted, count, sizeof(op_id_t), op_id_cmp);
    for (uint64_t i = 1; i < count; i++) {
        if (op_id_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            e = WEFT_E_DUPLICATE;
            goto fail;
        }
    }
    hash32_t h;
    block_ops_hash(&h, out->op_ids, out->op_count);
    if (hash32_cmp(&h, &out->header.ops_hash) != 0) {
        e = WEFT_E_OPS_HASH;
        goto fail;
    }
    free(sorted);
    return WEFT_OK;
fail:
    free(sorted);
    block_free(out);
    return e;
}

void block_free(block_t *b)
{
    free(b->op_ids);
    memset(b, 0, sizeof *b);
}
