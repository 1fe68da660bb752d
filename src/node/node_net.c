/* The node's network interface (node.h "network", docs/node.md "Network"): what the network shell
 * gives the node (blocks, endorsements) and asks of it (blocks, operations, status, final ranges).
 *
 * Everything that needs no actor's state is checked here, on the caller's thread (the network's),
 * so that the actors only see well-formed, correctly signed data: the header's structure, its id
 * and signature and those of its endorsements, the operation list against the header's ops_hash,
 * every operation's id, signature, thread and validity window, the block's size, and the draws
 * of the block's producer and endorsers and of endorsements (the selector is shared: nsel).  A
 * checked block goes to consensus one-way: the network's thread goes on with the next block while
 * consensus takes it (the graph's refusals come back as block_invalid events); what needs the pool
 * is handed to it the same way. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "npar.h"
#include "sigcache.h"

/* ---- blocks from peers ----------------------------------------------------------------------- */

/* The structure of a peer's header, and whether its id is the hash of its content (so that the
 * signatures, which are over ids, cover the content): E_NODE_BLOCK, E_SIGNATURE or OK. */
static weft_err check_header_form(const model_params *p, const block_header_t *h)
{
    if (h->version != HEADER_VERSION || h->slot.thread >= p->thread_count || h->slot.period == 0 ||
        h->parent_count != p->thread_count || h->endorsement_count > p->endorsement_count)
        return WEFT_E_NODE_BLOCK;
    for (uint32_t i = 0; i < h->endorsement_count; i++) {
        const endorsement_t *e = &h->endorsements[i];
        if (e->index >= p->endorsement_count || (i && e->index <= h->endorsements[i - 1].index) ||
            slot_cmp(e->slot, h->slot) != 0 ||
            !block_id_eq(&e->endorsed, &h->parents[h->slot.thread]))
            return WEFT_E_NODE_BLOCK;
        endorsement_t c = *e;
        endorsement_compute_id(&c);
        if (hash32_cmp(&c.id.h, &e->id.h) != 0)
            return WEFT_E_SIGNATURE;
    }
    block_header_t *c = malloc(sizeof *c); /* a header is large: not on the network's stack */
    if (!c)
        return WEFT_E_NOMEM;
    *c = *h;
    header_compute_id(c);
    bool same = block_id_eq(&c->id, &h->id);
    free(c);
    return same ? WEFT_OK : WEFT_E_SIGNATURE;
}

static int cmp_op_id(const void *x, const void *y) { return memcmp(x, y, sizeof(op_id_t)); }

/* The operations of a block built from a peer's parts (ids already match the ops_hash): each
 * operation's id is its content's digest, its creator in the block's thread, the block's period
 * in its validity window (the pool's selection rules, which execution also applies), no id twice,
 * the block within max_block_size.  The signatures come after (block_sigs). */
static weft_err check_block_ops(node_t *n, const nblock *b)
{
    const model_params *p = &n->params;
    const block_header_t *h = &b->b.header;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < b->b.op_count; i++) {
        const signed_op_t *op = &b->ops[i];
        hash32_t d;
        op_digest(&d, p->chain_id, &op->creator, op->content, op->content_len);
        if (hash32_cmp(&d, &op->id.h) != 0)
            return WEFT_E_SIGNATURE;
        address_t cr;
        address_of_pubkey(&cr, &op->creator);
        uint64_t exp = op->op.expire_period;
        if (address_thread(&cr, p->thread_count) != h->slot.thread || exp < h->slot.period ||
            exp - h->slot.period > p->operation_validity_periods)
            return WEFT_E_NODE_BLOCK;
        bytes += MODEL_SIG_LEN + MODEL_PK_LEN + (uint64_t)op->content_len;
        if (bytes > p->max_block_size)
            return WEFT_E_NODE_BLOCK;
    }
    if (b->b.op_count > 1) {
        op_id_t *ids = malloc(b->b.op_count * sizeof *ids);
        if (!ids)
            return WEFT_E_NOMEM;
        memcpy(ids, b->b.op_ids, b->b.op_count * sizeof *ids);
        qsort(ids, b->b.op_count, sizeof *ids, cmp_op_id);
        bool dup = false;
        for (uint32_t i = 1; i < b->b.op_count && !dup; i++)
            dup = hash32_cmp(&ids[i - 1].h, &ids[i].h) == 0;
        free(ids);
        if (dup)
            return WEFT_E_NODE_BLOCK;
    }
    return WEFT_OK;
}

/* Every signature of a block, one item each for npar: the header's, its endorsements', its
 * operations' — those the node verified already (the operation was admitted to the pool: same id
 * and signature) are looked up (sigcache.h). */
typedef struct block_sigs {
    node_t *n;
    const nblock *b;
} block_sigs;

static bool block_sig_item(void *ctx, size_t i)
{
    const block_sigs *s = ctx;
    const block_header_t *h = &s->b->b.header;
    if (i == 0)
        return model_verify_digest(&h->sig, &h->creator, &h->id.h) == WEFT_OK;
    if (--i < h->endorsement_count)
        return endorsement_verify(&h->endorsements[i]) == WEFT_OK;
    return nsigcache_verify(s->n->sigs, &s->b->ops[i - h->endorsement_count]) == WEFT_OK;
}

static void free_ops(signed_op_t *ops, uint32_t count)
{
    for (uint32_t i = 0; ops && i < count; i++)
        signed_op_free(&ops[i]);
    free(ops);
}

weft_err node_check_draws(node_t *n, const nblock *b)
{
    const block_header_t *h = &b->b.header;
    if (h->parent_count != n->params.thread_count || h->slot.thread >= n->params.thread_count ||
        h->endorsement_count > n->params.endorsement_count)
        return WEFT_E_NODE_BLOCK;
    address_t prod;
    weft_err err = nsel_producer(&n->sel, h->slot, &prod);
    if (err)
        return err;
    if (!address_eq(&prod, &b->creator))
        return WEFT_E_NODE_BLOCK;
    if (h->endorsement_count) {
        address_t e[MODEL_MAX_ENDORSEMENTS];
        err = nsel_endorsers(&n->sel, h->slot, e);
        if (err)
            return err;
        for (uint32_t i = 0; i < h->endorsement_count; i++) {
            address_t c;
            if (h->endorsements[i].index >= n->params.endorsement_count)
                return WEFT_E_NODE_BLOCK;
            address_of_pubkey(&c, &h->endorsements[i].creator);
            if (!address_eq(&c, &e[h->endorsements[i].index]))
                return WEFT_E_NODE_BLOCK;
        }
    }
    return WEFT_OK;
}

/* The draws of a peer's block: those of node_check_draws, except that a cycle not drawn is
 * E_GRAPH_OLD_PERIOD when its slot is final already (execution's final cursor is past it: the
 * selector forgot the cycle, and consensus would find the period final) and E_NODE_BLOCK_LATER
 * otherwise (not drawn yet). */
static weft_err check_net_draws(node_t *n, const nblock *b)
{
    weft_err e = node_check_draws(n, b);
    if (e != WEFT_E_POS_CYCLE_UNAVAILABLE)
        return e;
    slot_t next;
    if (exec_actor_final_next(n->ex, &next) && slot_cmp(b->b.header.slot, next) < 0)
        return WEFT_E_GRAPH_OLD_PERIOD;
    return WEFT_E_NODE_BLOCK_LATER;
}

/* Peers' blocks on their way to consensus: node_net_block waits while NODE_NET_BLOCKS_QUEUED are;
 * every message gives its place back when it is freed, handled or not (nnetblock_free). */
static void queue_enter(node_t *n)
{
    pthread_mutex_lock(&n->net_mu);
    while (n->net_queued >= NODE_NET_BLOCKS_QUEUED)
        pthread_cond_wait(&n->net_cv, &n->net_mu);
    n->net_queued++;
    pthread_mutex_unlock(&n->net_mu);
}

void nnetblock_free(void *p)
{
    nnetblock *q = p;
    if (!q)
        return;
    nblock_unref(q->b);
    node_t *n = q->n;
    pthread_mutex_lock(&n->net_mu);
    n->net_queued--;
    pthread_cond_signal(&n->net_cv);
    pthread_mutex_unlock(&n->net_mu);
    free(q);
}

static bool is_genesis(const node_t *n, const block_header_t *h)
{
    return h->slot.period == 0 && h->slot.thread < n->params.thread_count &&
           block_id_eq(&h->id, &n->genesis[h->slot.thread].id);
}

weft_err node_net_block(node_t *n, const block_header_t *h, signed_op_t *ops, uint32_t count,
                        weft_err *verdict)
{
    const model_params *p = &n->params;
    *verdict = WEFT_OK;
    if (is_genesis(n, h)) { /* every node has them */
        free_ops(ops, count);
        return WEFT_OK;
    }
    weft_err v = check_header_form(p, h);
    if (!v && count > p->max_operations_per_block)
        v = WEFT_E_TOO_MANY_OPS;
    if (v) {
        free_ops(ops, count);
        if (v == WEFT_E_NOMEM)
            return v;
        *verdict = v;
        return WEFT_OK;
    }
    /* The checks without signatures, the draws, then every signature at once over the node's
     * verification workers (npar.h).  A bad header signature comes first, as if it were checked
     * first: the verdict of a block with several faults does not depend on the order.  A block
     * whose cycle is not drawn yet (kept by the network for later) or forgotten (old) has only its
     * header's signature checked (one verification, not all at every retry). */
    nblock *b = NULL;
    v = nblock_new(&b, h, ops, count, NULL); /* takes the operations, whatever the outcome */
    if (!v)
        v = check_block_ops(n, b);
    if (!v)
        v = check_net_draws(n, b);
    if (v && v != WEFT_E_NOMEM && header_verify(h) != WEFT_OK)
        v = WEFT_E_SIGNATURE;
    if (!v) {
        block_sigs bs = {n, b};
        if (!npar_all(n->par, 1 + (size_t)h->endorsement_count + b->b.op_count, block_sig_item,
                      &bs))
            v = WEFT_E_SIGNATURE;
    }
    if (v) {
        nblock_unref(b);
        if (v == WEFT_E_NOMEM)
            return v;
        *verdict = v;
        return WEFT_OK;
    }
    /* To consensus without waiting for it (FIFO: parents before children).  What it may still
     * refuse — known, old, its slot full, invalid for the graph (then block_invalid) — needs no
     * answer here; if it fails while taking the block, the block is lost like any block not
     * received: peers give it again (hellos, sync, missing parents). */
    nnetblock *q = malloc(sizeof *q);
    if (!q) {
        nblock_unref(b);
        return WEFT_E_NOMEM;
    }
    queue_enter(n);
    *q = (nnetblock){n, b};
    weft_err e = actor_send(n->a_cons, MSG_CONS_NET_BLOCK, q, nnetblock_free, ACTOR_SEND_BLOCK);
    if (e) /* stopping: the block is dropped */
        *verdict = e;
    return e;
}

/* ---- endorsements from peers ----------------------------------------------------------------- */

/* An endorsement's form, slot age, draw and signature (the pool's own checks come after). */
static weft_err check_endorsement(node_t *n, const endorsement_t *e, uint64_t period)
{
    const model_params *p = &n->params;
    if (e->slot.thread >= p->thread_count || e->index >= p->endorsement_count)
        return WEFT_E_ENDORSEMENT;
    endorsement_t c = *e;
    endorsement_compute_id(&c);
    if (hash32_cmp(&c.id.h, &e->id.h) != 0)
        return WEFT_E_SIGNATURE;
    /* the pool keeps endorsements of the last periods only (pool ticks prune below period − 2) */
    if (e->slot.period + 2 < period)
        return WEFT_E_POOL_EXPIRED;
    address_t drawn[MODEL_MAX_ENDORSEMENTS];
    weft_err err = nsel_endorsers(&n->sel, e->slot, drawn);
    if (err == WEFT_E_POS_CYCLE_UNAVAILABLE)
        return WEFT_E_NODE_BLOCK_LATER;
    if (err)
        return err;
    address_t cr;
    address_of_pubkey(&cr, &e->creator);
    if (!address_eq(&cr, &drawn[e->index]))
        return WEFT_E_ENDORSEMENT;
    return endorsement_verify(e) == WEFT_OK ? WEFT_OK : WEFT_E_SIGNATURE;
}

/* An nendoq holding its own copies (MSG_POOL_NET_ADD_ENDOS). */
typedef struct endo_batch {
    nendoq q;
    endorsement_t *e;
    weft_err *results;
} endo_batch;

static void endo_batch_free(void *p)
{
    endo_batch *b = p;
    if (!b)
        return;
    free(b->e);
    free(b->results);
    free(b);
}

weft_err node_net_endorsements(node_t *n, const endorsement_t *e, size_t count, weft_err *results)
{
    uint64_t period = node_current_period(n);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        results[i] = check_endorsement(n, &e[i], period);
        k += results[i] == WEFT_OK;
    }
    if (!k)
        return WEFT_OK;
    /* the checked ones go to the pool without waiting for it (it may be waiting for execution) */
    endo_batch *b = calloc(1, sizeof *b);
    if (b) {
        b->e = malloc(k * sizeof *b->e);
        b->results = calloc(k, sizeof *b->results); /* WEFT_OK: admit */
    }
    if (!b || !b->e || !b->results) {
        endo_batch_free(b);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0, j = 0; i < count; i++)
        if (results[i] == WEFT_OK)
            b->e[j++] = e[i];
    b->q = (nendoq){b->e, k, b->results};
    weft_err err =
        actor_send(n->a_pool, MSG_POOL_NET_ADD_ENDOS, b, endo_batch_free, ACTOR_SEND_BLOCK);
    return err == WEFT_E_ACTOR_STOPPED ? err : WEFT_OK;
}

/* ---- operations from peers ------------------------------------------------------------------- */

static void ops_batch_free(void *p)
{
    nopsq *q = p;
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        if (q->ops[i]) {
            signed_op_free(q->ops[i]);
            free(q->ops[i]);
        }
    free(q->ops);
    free(q->results);
    free(q);
}

weft_err node_net_ops(node_t *n, signed_op_t **ops, size_t count, weft_err *results)
{
    uint64_t period = node_current_period(n);
    size_t k = node_check_operations(n, ops, count, results, period);
    if (!k)
        return WEFT_OK;
    nopsq *q = calloc(1, sizeof *q);
    if (q) {
        q->ops = malloc(k * sizeof *q->ops);
        q->results = calloc(k, sizeof *q->results);
    }
    if (!q || !q->ops || !q->results) {
        if (q) {
            free(q->ops);
            free(q->results);
            free(q);
        }
        for (size_t i = 0; i < count; i++)
            if (ops[i]) {
                signed_op_free(ops[i]);
                free(ops[i]);
                ops[i] = NULL;
            }
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        if (ops[i]) {
            q->ops[q->n++] = ops[i];
            ops[i] = NULL;
        }
    q->current_period = period;
    /* the pool admits them in its own time: the caller (the network's thread) does not wait for
     * it, nor for execution, which the pool asks the creators' balances */
    weft_err err = actor_send(n->a_pool, MSG_POOL_NET_ADD_OPS, q, ops_batch_free, ACTOR_SEND_BLOCK);
    return err == WEFT_E_ACTOR_STOPPED ? err : WEFT_OK;
}

/* ---- blocks and operations for peers --------------------------------------------------------- */

bool node_net_has_block(node_t *n, const block_id_t *id)
{
    for (uint32_t t = 0; t < n->params.thread_count; t++)
        if (block_id_eq(id, &n->genesis[t].id))
            return true;
    nnetq q;
    memset(&q, 0, sizeof q);
    q.id = *id;
    return node_call(n->a_cons, MSG_CONS_NET_HAS, &q) == WEFT_OK && q.found;
}

static weft_err encode_op(node_bytes_t *out, const signed_op_t *op)
{
    wr_t w;
    wr_init(&w);
    signed_op_encode(&w, op);
    out->b = wr_take(&w, &out->len);
    if (!out->b) {
        out->len = 0;
        return WEFT_E_NOMEM;
    }
    return WEFT_OK;
}

weft_err node_net_get_block(node_t *n, const block_id_t *id, bool with_ops,
                            node_net_block_data *out)
{
    memset(out, 0, sizeof *out);
    nnetq q;
    memset(&q, 0, sizeof q);
    q.id = *id;
    weft_err err = node_call(n->a_cons, MSG_CONS_NET_GET, &q);
    if (err) {
        nblock_unref(q.b);
        free(q.rec);
        return err;
    }
    nblock *b = q.b;
    if (!b && q.rec) { /* from the block log: decoded here, off the consensus thread */
        err = nblock_decode(&b, &n->params, q.rec, q.len);
        free(q.rec);
        if (err)
            return err;
    }
    if (!b)
        return WEFT_E_NOT_FOUND;
    out->header = b->b.header;
    out->is_final = q.is_final;
    out->op_count = b->b.op_count;
    out->op_ids = malloc((b->b.op_count ? b->b.op_count : 1) * sizeof *out->op_ids);
    if (!out->op_ids)
        err = WEFT_E_NOMEM;
    else
        memcpy(out->op_ids, b->b.op_ids, b->b.op_count * sizeof *out->op_ids);
    if (!err && with_ops) {
        out->ops = calloc(b->b.op_count ? b->b.op_count : 1, sizeof *out->ops);
        if (!out->ops)
            err = WEFT_E_NOMEM;
        for (uint32_t i = 0; !err && i < b->b.op_count; i++)
            err = encode_op(&out->ops[i], &b->ops[i]);
    }
    nblock_unref(b);
    if (err)
        node_net_block_data_free(out);
    return err;
}

void node_net_block_data_free(node_net_block_data *d)
{
    for (uint32_t i = 0; d->ops && i < d->op_count; i++)
        free(d->ops[i].b);
    free(d->ops);
    free(d->op_ids);
    memset(d, 0, sizeof *d);
}

weft_err node_net_get_ops(node_t *n, const op_id_t *ids, size_t count, node_bytes_t *out)
{
    memset(out, 0, count * sizeof *out);
    if (!count)
        return WEFT_OK;
    nnetops q = {ids, count, out};
    weft_err err = node_call(n->a_pool, MSG_POOL_NET_OPS, &q);
    bool missing = false;
    for (size_t i = 0; i < count && !missing; i++)
        missing = out[i].len == 0;
    if (!err && missing) /* the operations of blocks (they leave the pool once executed) */
        err = node_call(n->a_cons, MSG_CONS_NET_OPS, &q);
    if (err) {
        for (size_t i = 0; i < count; i++)
            free(out[i].b);
        memset(out, 0, count * sizeof *out);
    }
    return err;
}

/* ---- status and sync ------------------------------------------------------------------------- */

weft_err node_net_get_status(node_t *n, node_net_status *out)
{
    memset(out, 0, sizeof *out);
    weft_err err = node_call(n->a_cons, MSG_CONS_NET_STATUS, out);
    if (!err)
        out->has_final_cursor = exec_actor_final_next(n->ex, &out->final_cursor);
    return err;
}

weft_err node_net_final_range(node_t *n, slot_t after, size_t max, block_id_t **ids, slot_t **slots,
                              size_t *count, bool *more, slot_t *oldest_kept)
{
    nrange q;
    memset(&q, 0, sizeof q);
    q.after = after;
    q.max = max < NODE_NET_MAX_RANGE ? max : NODE_NET_MAX_RANGE;
    weft_err err = node_call(n->a_cons, MSG_CONS_NET_RANGE, &q);
    if (err) {
        free(q.ids);
        free(q.slots);
        memset(&q, 0, sizeof q);
    }
    *ids = q.ids;
    *slots = q.slots;
    *count = q.n;
    *more = q.more;
    *oldest_kept = q.oldest_kept;
    return err;
}
