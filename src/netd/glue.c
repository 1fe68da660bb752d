/* The glue between a node and a protocol core (netd.h "glue"): the core's chain callbacks over
 * node.h's network section, and the queue that carries the node's events from its actor threads
 * to the thread that owns the core.
 *
 * The queue copies every event (the node's arguments are borrowed for the callback) into a FIFO
 * under a mutex; the consumer takes the whole FIFO at once and forwards it outside the lock, so the
 * actors never wait for the core.  It is bounded (NETD_EVQ_MAX_EVENTS events and
 * NETD_EVQ_MAX_BYTES of copies): an event beyond the bounds, or one that cannot be copied, is
 * dropped and counted (netd_evq_lost) — the core recovers what it missed through hellos and asks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "netd/netd.h"

/* ---- the chain over a node ------------------------------------------------------------------- */

static weft_err ch_status(void *ctx, net_chain_status *out)
{
    memset(out, 0, sizeof *out);
    node_net_status s;
    weft_err e = node_net_get_status(ctx, &s);
    if (e)
        return e;
    out->thread_count = s.thread_count;
    memcpy(out->final_periods, s.final_periods, sizeof out->final_periods);
    memcpy(out->heads, s.heads, sizeof out->heads);
    memcpy(out->head_slots, s.head_slots, sizeof out->head_slots);
    out->kept_from = s.kept_from;
    return WEFT_OK;
}

static bool ch_has_block(void *ctx, const block_id_t *id) { return node_net_has_block(ctx, id); }

static weft_err ch_get_block(void *ctx, const block_id_t *id, bool with_ops, net_block *out)
{
    memset(out, 0, sizeof *out);
    node_net_block_data d;
    weft_err e = node_net_get_block(ctx, id, with_ops, &d);
    if (e)
        return e;
    if (d.ops) {
        size_t n = d.op_count ? d.op_count : 1;
        out->ops = malloc(n * sizeof *out->ops);
        out->op_lens = malloc(n * sizeof *out->op_lens);
        if (!out->ops || !out->op_lens) {
            free(out->ops);
            free(out->op_lens);
            memset(out, 0, sizeof *out);
            node_net_block_data_free(&d);
            return WEFT_E_NOMEM;
        }
        for (uint32_t i = 0; i < d.op_count; i++) {
            out->ops[i] = d.ops[i].b; /* the bytes move */
            out->op_lens[i] = d.ops[i].len;
        }
        free(d.ops);
    }
    out->header = d.header;
    out->op_ids = d.op_ids; /* moves */
    out->op_count = d.op_count;
    out->is_final = d.is_final;
    return WEFT_OK;
}

static weft_err ch_get_ops(void *ctx, const op_id_t *ids, size_t n, uint8_t **ops, size_t *lens)
{
    for (size_t i = 0; i < n; i++) {
        ops[i] = NULL;
        lens[i] = 0;
    }
    if (!n)
        return WEFT_OK;
    node_bytes_t *b = malloc(n * sizeof *b);
    if (!b)
        return WEFT_E_NOMEM;
    weft_err e = node_net_get_ops(ctx, ids, n, b);
    if (!e)
        for (size_t i = 0; i < n; i++) {
            ops[i] = b[i].len ? b[i].b : NULL;
            lens[i] = b[i].len;
            if (!b[i].len)
                free(b[i].b);
        }
    free(b);
    return e;
}

static weft_err ch_submit_block(void *ctx, const block_header_t *h, signed_op_t *ops,
                                uint32_t count, weft_err *verdict)
{
    return node_net_block(ctx, h, ops, count, verdict);
}

static weft_err ch_submit_ops(void *ctx, signed_op_t **ops, size_t n, weft_err *results)
{
    weft_err e = node_net_ops(ctx, ops, n, results); /* consumes every operation */
    free(ops);
    return e;
}

static weft_err ch_submit_endorsements(void *ctx, const endorsement_t *e, size_t n,
                                       weft_err *results)
{
    return node_net_endorsements(ctx, e, n, results);
}

static weft_err ch_final_range(void *ctx, slot_t after, size_t max, block_id_t **ids,
                               slot_t **slots, size_t *count, bool *more)
{
    slot_t oldest;
    return node_net_final_range(ctx, after, max, ids, slots, count, more, &oldest);
}

/* ---- the final state in parts ---------------------------------------------------------------- */

WEFT_STATIC_ASSERT(NET_STATE_FP_LEN == NODE_STATE_FP_LEN, "fingerprint widths differ");
WEFT_STATIC_ASSERT(NET_STATE_MAX_VALUE == NODE_STATE_MAX_VALUE, "value limits differ");

static weft_err ch_state_part(void *ctx, const net_state_ask *ask, net_state_part *out)
{
    memset(out, 0, sizeof *out);
    node_state_ask k = {
        .has_cursor = ask->has_cursor,
        .cursor = ask->cursor,
        .has_after = ask->has_after,
        .after_table = ask->after_table,
        .after_key = ask->after_key,
        .after_klen = ask->after_klen,
        .after_offset = ask->after_offset,
        .max_bytes = ask->max_bytes,
    };
    node_state_part p;
    weft_err e = node_net_state_part(ctx, &k, &p);
    if (e)
        return e;
    out->status = (uint8_t)p.status;
    if (p.status != NODE_STATE_OK || p.nroots > NET_MAX_STATE_ROOTS ||
        p.count > NET_MAX_STATE_RECORDS) {
        if (p.status == NODE_STATE_OK)
            out->status = NET_STATE_UNAVAILABLE;
        node_state_part_free(&p);
        return WEFT_OK;
    }
    out->recs = malloc((p.count ? p.count : 1) * sizeof *out->recs);
    if (!out->recs) {
        node_state_part_free(&p);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < p.count; i++)
        out->recs[i] = (net_state_rec){p.recs[i].table, (uint32_t)p.recs[i].klen, p.recs[i].key,
                                       p.recs[i].vlen, p.recs[i].val};
    out->count = (uint32_t)p.count;
    out->cursor = p.cursor;
    memcpy(out->fingerprint, p.fingerprint, NET_STATE_FP_LEN);
    out->root_ids = p.root_ids; /* the arrays and the bytes move */
    out->root_slots = p.root_slots;
    out->nroots = (uint32_t)p.nroots;
    out->first_offset = (uint32_t)p.first_offset;
    out->last_partial = p.last_partial;
    out->more = p.more;
    out->mem = p.mem;
    free(p.recs);
    return WEFT_OK;
}

static weft_err ch_state_begin(void *ctx, slot_t cursor, const uint8_t fp[NET_STATE_FP_LEN],
                               const block_id_t *root_ids, const slot_t *root_slots,
                               uint32_t nroots)
{
    return node_import_begin(ctx, cursor, fp, root_ids, root_slots, nroots);
}

static weft_err ch_state_records(void *ctx, const net_state_rec *recs, uint32_t n)
{
    node_state_rec *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return WEFT_E_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        r[i] =
            (node_state_rec){recs[i].table, recs[i].key, recs[i].klen, recs[i].val, recs[i].vlen};
    weft_err e = node_import_records(ctx, r, n);
    free(r);
    return e;
}

static weft_err ch_state_root(void *ctx, const block_header_t *h, signed_op_t *ops, uint32_t count)
{
    return node_import_root(ctx, h, ops, count);
}

/* The node adopts an imported state when it starts again: ask the process for a restart. */
static weft_err ch_state_finish(void *ctx, bool *adopted)
{
    *adopted = false;
    weft_err e = node_import_finish(ctx);
    if (!e)
        node_request_restart(ctx);
    return e;
}

static void ch_state_abort(void *ctx) { node_import_abort(ctx); }

WEFT_STATIC_ASSERT((int)NODE_FP_KNOWN == (int)NET_CHECK_KNOWN, "check statuses differ");
WEFT_STATIC_ASSERT((int)NODE_FP_AHEAD == (int)NET_CHECK_AHEAD, "check statuses differ");
WEFT_STATIC_ASSERT((int)NODE_FP_NOT_KEPT == (int)NET_CHECK_NOT_KEPT, "check statuses differ");

static weft_err ch_state_fingerprint(void *ctx, slot_t slot, uint8_t fp[NET_STATE_FP_LEN],
                                     uint8_t *status)
{
    node_fp_status st = NODE_FP_NOT_KEPT;
    weft_err e = node_net_state_fingerprint(ctx, slot, fp, &st);
    *status = (uint8_t)(e ? NET_CHECK_NOT_KEPT : st);
    return e;
}

const net_chain_vt netd_node_chain_vt = {
    .status = ch_status,
    .has_block = ch_has_block,
    .get_block = ch_get_block,
    .get_ops = ch_get_ops,
    .submit_block = ch_submit_block,
    .submit_ops = ch_submit_ops,
    .submit_endorsements = ch_submit_endorsements,
    .final_range = ch_final_range,
    .state_part = ch_state_part,
    .state_begin = ch_state_begin,
    .state_records = ch_state_records,
    .state_root = ch_state_root,
    .state_finish = ch_state_finish,
    .state_abort = ch_state_abort,
    .state_fingerprint = ch_state_fingerprint,
};

/* ---- the event queue ------------------------------------------------------------------------- */

#define NETD_EVQ_MAX_EVENTS (1u << 20)
#define NETD_EVQ_MAX_BYTES ((size_t)256 << 20)

typedef enum evq_kind {
    EV_PENDING = 1, /* data: block_header_t */
    EV_INVALID,     /* id, reason */
    EV_MISSING,     /* data: n block ids */
    EV_OPS,         /* data: n op ids */
    EV_ENDOS,       /* data: n endorsements */
} evq_kind;

typedef struct evq_item {
    struct evq_item *next;
    evq_kind kind;
    block_id_t id;
    weft_err reason;
    size_t n;
    size_t bytes; /* what the item counts against NETD_EVQ_MAX_BYTES */
    void *data;   /* malloc'd copy */
} evq_item;

struct netd_evq {
    pthread_mutex_t mu;
    evq_item *head, *tail;
    size_t count, bytes;
    atomic_uint_fast64_t lost;
    void (*wake)(void *ctx);
    void *wake_ctx;
    node_net_events sink;
};

static void item_free(evq_item *it)
{
    free(it->data);
    free(it);
}

/* Queues a new item holding a copy of len bytes of data (may be 0); counts it lost if it cannot. */
static void push(netd_evq *q, evq_kind kind, const void *data, size_t len, size_t n,
                 const block_id_t *id, weft_err reason)
{
    evq_item *it = calloc(1, sizeof *it);
    void *copy = len ? malloc(len) : NULL;
    if (!it || (len && !copy)) {
        free(it);
        free(copy);
        atomic_fetch_add(&q->lost, 1);
        return;
    }
    if (len)
        memcpy(copy, data, len);
    it->kind = kind;
    it->data = copy;
    it->n = n;
    it->reason = reason;
    if (id)
        it->id = *id;
    it->bytes = sizeof *it + len;
    pthread_mutex_lock(&q->mu);
    bool room = q->count < NETD_EVQ_MAX_EVENTS && q->bytes + it->bytes <= NETD_EVQ_MAX_BYTES;
    if (room) {
        if (q->tail)
            q->tail->next = it;
        else
            q->head = it;
        q->tail = it;
        q->count++;
        q->bytes += it->bytes;
    }
    pthread_mutex_unlock(&q->mu);
    if (!room) {
        item_free(it);
        atomic_fetch_add(&q->lost, 1);
        return;
    }
    if (q->wake)
        q->wake(q->wake_ctx);
}

static void ev_pending(void *ctx, const block_header_t *h)
{
    push(ctx, EV_PENDING, h, sizeof *h, 1, NULL, WEFT_OK);
}

static void ev_invalid(void *ctx, const block_id_t *id, weft_err reason)
{
    push(ctx, EV_INVALID, NULL, 0, 0, id, reason);
}

static void ev_missing(void *ctx, const block_id_t *ids, size_t n)
{
    if (n && n <= NETD_EVQ_MAX_BYTES / sizeof *ids)
        push(ctx, EV_MISSING, ids, n * sizeof *ids, n, NULL, WEFT_OK);
    else if (n)
        atomic_fetch_add(&((netd_evq *)ctx)->lost, 1);
}

static void ev_ops(void *ctx, const op_id_t *ids, size_t n)
{
    if (n && n <= NETD_EVQ_MAX_BYTES / sizeof *ids)
        push(ctx, EV_OPS, ids, n * sizeof *ids, n, NULL, WEFT_OK);
    else if (n)
        atomic_fetch_add(&((netd_evq *)ctx)->lost, 1);
}

static void ev_endos(void *ctx, const endorsement_t *e, size_t n)
{
    if (n && n <= NETD_EVQ_MAX_BYTES / sizeof *e)
        push(ctx, EV_ENDOS, e, n * sizeof *e, n, NULL, WEFT_OK);
    else if (n)
        atomic_fetch_add(&((netd_evq *)ctx)->lost, 1);
}

weft_err netd_evq_new(netd_evq **out, void (*wake)(void *ctx), void *wake_ctx)
{
    *out = NULL;
    netd_evq *q = calloc(1, sizeof *q);
    if (!q)
        return WEFT_E_NOMEM;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        return WEFT_E_NOMEM;
    }
    atomic_init(&q->lost, 0);
    q->wake = wake;
    q->wake_ctx = wake_ctx;
    q->sink = (node_net_events){
        .ctx = q,
        .block_pending = ev_pending,
        .block_invalid = ev_invalid,
        .blocks_missing = ev_missing,
        .ops_admitted = ev_ops,
        .endorsements_admitted = ev_endos,
    };
    *out = q;
    return WEFT_OK;
}

static void free_list(evq_item *it)
{
    while (it) {
        evq_item *next = it->next;
        item_free(it);
        it = next;
    }
}

void netd_evq_free(netd_evq *q)
{
    if (!q)
        return;
    free_list(q->head);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

const node_net_events *netd_evq_events(netd_evq *q) { return &q->sink; }

static weft_err forward(net_core *c, const evq_item *it, uint64_t now_ms)
{
    switch (it->kind) {
    case EV_PENDING:
        return net_core_block_pending(c, it->data, now_ms);
    case EV_INVALID:
        return net_core_block_invalid(c, &it->id, it->reason, now_ms);
    case EV_MISSING:
        return net_core_blocks_missing(c, it->data, it->n, now_ms);
    case EV_OPS:
        return net_core_ops_admitted(c, it->data, it->n, now_ms);
    case EV_ENDOS:
        return net_core_endorsements_admitted(c, it->data, it->n, now_ms);
    }
    return WEFT_E_INVAL;
}

weft_err netd_evq_drain(netd_evq *q, net_core *c, uint64_t now_ms)
{
    pthread_mutex_lock(&q->mu);
    evq_item *it = q->head;
    q->head = q->tail = NULL;
    q->count = 0;
    q->bytes = 0;
    pthread_mutex_unlock(&q->mu);
    weft_err err = WEFT_OK;
    while (it) {
        err = forward(c, it, now_ms);
        if (err)
            break;
        evq_item *next = it->next;
        item_free(it);
        it = next;
    }
    if (it) { /* the core failed on it (E_NOMEM: the core is unusable): it and the rest are lost */
        uint64_t n = 0;
        for (evq_item *x = it; x; x = x->next)
            n++;
        atomic_fetch_add(&q->lost, n);
        free_list(it);
    }
    return err;
}

uint64_t netd_evq_lost(const netd_evq *q)
{
    return atomic_load((atomic_uint_fast64_t *)&q->lost); /* the counter is atomic: no const */
}
