/* Unit tests of netd's event queue (netd.h "glue"): the node's events pushed from several threads
 * reach the core in the order each thread pushed them, copied (the pusher's arguments are
 * borrowed), with a wake per push; nothing is lost under the bounds; a queue freed with events
 * still queued frees them.
 *
 * The core is a fake defined here: the five net_core_* event functions the drain calls record
 * what they receive (this test links no other part of the core). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "netd/netd.h"
#include "testutil.h"

/* ---- the fake core --------------------------------------------------------------------------- */

enum { K_PENDING = 1, K_INVALID, K_MISSING, K_OPS, K_ENDOS };

typedef struct rec {
    int kind;
    uint8_t tag[2]; /* (thread, sequence) written into the first bytes of the first id */
    size_t n;
    weft_err reason;
    uint64_t now;
} rec;

struct net_core {
    rec *v;
    size_t n, cap;
    size_t fail_at; /* the call with this index returns E_NOMEM (0: never) */
};

static weft_err record(net_core *c, int kind, const uint8_t *first, size_t n, weft_err reason,
                       uint64_t now)
{
    if (c->fail_at && c->n + 1 == c->fail_at)
        return WEFT_E_NOMEM;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    rec *r = &c->v[c->n++];
    r->kind = kind;
    r->tag[0] = first[0];
    r->tag[1] = first[1];
    r->n = n;
    r->reason = reason;
    r->now = now;
    return WEFT_OK;
}

weft_err net_core_block_pending(net_core *c, const block_header_t *h, uint64_t now_ms)
{
    return record(c, K_PENDING, h->id.h.b, 1, WEFT_OK, now_ms);
}

weft_err net_core_block_invalid(net_core *c, const block_id_t *id, weft_err reason, uint64_t now_ms)
{
    return record(c, K_INVALID, id->h.b, 1, reason, now_ms);
}

weft_err net_core_blocks_missing(net_core *c, const block_id_t *ids, size_t n, uint64_t now_ms)
{
    for (size_t i = 1; i < n; i++) /* every id was copied */
        assert_memory_equal(ids[i].h.b, ids[0].h.b, 2);
    return record(c, K_MISSING, ids[0].h.b, n, WEFT_OK, now_ms);
}

weft_err net_core_ops_admitted(net_core *c, const op_id_t *ids, size_t n, uint64_t now_ms)
{
    for (size_t i = 1; i < n; i++)
        assert_memory_equal(ids[i].h.b, ids[0].h.b, 2);
    return record(c, K_OPS, ids[0].h.b, n, WEFT_OK, now_ms);
}

weft_err net_core_endorsements_admitted(net_core *c, const endorsement_t *e, size_t n,
                                        uint64_t now_ms)
{
    for (size_t i = 1; i < n; i++)
        assert_memory_equal(e[i].id.h.b, e[0].id.h.b, 2);
    return record(c, K_ENDOS, e[0].id.h.b, n, WEFT_OK, now_ms);
}

/* ---- pushers --------------------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 5000

static atomic_uint wakes;
static void on_wake(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&wakes, 1);
}

typedef struct pusher {
    const node_net_events *ev;
    uint8_t thread;
} pusher;

/* Pushes PER_THREAD events of every kind in turn, each tagged (thread, sequence mod 256), from
 * stack buffers that are overwritten right after the call (the queue must have copied them). */
static void *push_all(void *arg)
{
    pusher *p = arg;
    const node_net_events *ev = p->ev;
    block_header_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    for (int i = 0; i < PER_THREAD; i++) {
        uint8_t tag[2] = {p->thread, (uint8_t)i};
        size_t n = 1 + (size_t)i % 3;
        switch (i % 5) {
        case 0:
            memcpy(h->id.h.b, tag, 2);
            ev->block_pending(ev->ctx, h);
            memset(h, 0xee, sizeof *h);
            break;
        case 1: {
            block_id_t id;
            memcpy(id.h.b, tag, 2);
            ev->block_invalid(ev->ctx, &id, WEFT_E_GRAPH_STRUCTURE);
            memset(&id, 0xee, sizeof id);
            break;
        }
        case 2: {
            block_id_t ids[3];
            for (size_t k = 0; k < n; k++)
                memcpy(ids[k].h.b, tag, 2);
            ev->blocks_missing(ev->ctx, ids, n);
            memset(ids, 0xee, sizeof ids);
            break;
        }
        case 3: {
            op_id_t ids[3];
            for (size_t k = 0; k < n; k++)
                memcpy(ids[k].h.b, tag, 2);
            ev->ops_admitted(ev->ctx, ids, n);
            memset(ids, 0xee, sizeof ids);
            break;
        }
        default: {
            endorsement_t e[3];
            memset(e, 0, sizeof e);
            for (size_t k = 0; k < n; k++)
                memcpy(e[k].id.h.b, tag, 2);
            ev->endorsements_admitted(ev->ctx, e, n);
            memset(e, 0xee, sizeof e);
            break;
        }
        }
    }
    free(h);
    return NULL;
}

static void test_threads_order(void **state)
{
    (void)state;
    netd_evq *q;
    atomic_store(&wakes, 0);
    assert_int_equal(netd_evq_new(&q, on_wake, NULL), WEFT_OK);
    const node_net_events *ev = netd_evq_events(q);
    assert_ptr_equal(ev->ctx, q);
    net_core core = {0};
    pthread_t th[THREADS];
    pusher ps[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ps[t] = (pusher){ev, (uint8_t)t};
        assert_int_equal(pthread_create(&th[t], NULL, push_all, &ps[t]), 0);
    }
    /* drains while the pushers run, then once more */
    for (int k = 0; k < 50; k++)
        assert_int_equal(netd_evq_drain(q, &core, 1000 + (uint64_t)k), WEFT_OK);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(netd_evq_drain(q, &core, 2000), WEFT_OK);

    assert_int_equal(netd_evq_lost(q), 0);
    assert_int_equal(atomic_load(&wakes), THREADS * PER_THREAD);
    assert_int_equal(core.n, THREADS * PER_THREAD);
    /* each thread's events arrive in its order, with their kinds, counts and reasons */
    int next[THREADS] = {0};
    uint64_t last_now = 0;
    for (size_t i = 0; i < core.n; i++) {
        const rec *r = &core.v[i];
        assert_true(r->tag[0] < THREADS);
        int t = r->tag[0], seq = next[t]++;
        assert_int_equal(r->tag[1], (uint8_t)seq);
        assert_int_equal(r->kind, K_PENDING + seq % 5);
        if (r->kind == K_MISSING || r->kind == K_OPS || r->kind == K_ENDOS)
            assert_int_equal(r->n, 1 + (size_t)seq % 3);
        if (r->kind == K_INVALID)
            assert_int_equal(r->reason, WEFT_E_GRAPH_STRUCTURE);
        assert_true(r->now >= last_now); /* the drain's time is given as is */
        last_now = r->now;
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(next[t], PER_THREAD);
    /* an empty queue drains nothing */
    assert_int_equal(netd_evq_drain(q, &core, 3000), WEFT_OK);
    assert_int_equal(core.n, THREADS * PER_THREAD);
    netd_evq_free(q);
    free(core.v);
}

/* A core failing in the middle of a drain: the rest of that drain is dropped and counted lost;
 * the queue stays usable; a queue freed with events in it frees them (ASan: no leak). */
static void test_failure_and_free(void **state)
{
    (void)state;
    netd_evq *q;
    assert_int_equal(netd_evq_new(&q, NULL, NULL), WEFT_OK);
    const node_net_events *ev = netd_evq_events(q);
    pusher p = {ev, 0};
    push_all(&p); /* PER_THREAD events */
    net_core core = {0};
    core.fail_at = 10;
    assert_int_equal(netd_evq_drain(q, &core, 1), WEFT_E_NOMEM);
    assert_int_equal(core.n, 9);
    assert_int_equal(netd_evq_lost(q), PER_THREAD - 9);
    core.fail_at = 0;
    ev->ops_admitted(ev->ctx, (op_id_t[1]){{{{7, 7}}}}, 1);
    assert_int_equal(netd_evq_drain(q, &core, 2), WEFT_OK);
    assert_int_equal(core.n, 10);
    assert_int_equal(core.v[9].kind, K_OPS);
    /* callbacks with no items queue nothing */
    ev->ops_admitted(ev->ctx, NULL, 0);
    ev->blocks_missing(ev->ctx, NULL, 0);
    ev->endorsements_admitted(ev->ctx, NULL, 0);
    assert_int_equal(netd_evq_drain(q, &core, 3), WEFT_OK);
    assert_int_equal(core.n, 10);
    push_all(&p);
    netd_evq_free(q); /* with PER_THREAD events queued */
    netd_evq_free(NULL);
    free(core.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_order),
        cmocka_unit_test(test_failure_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
