/* The execution actor: owns the LMDB store, the final state and the speculative executor (with
 * the contract VM when one is bound); applies the consensus actor's updates (slots to finalize,
 * then the blockclique), feeds the selector with each cycle's draws, tells the pool which
 * operations were executed, and answers state queries.
 *
 * Messages (docs/node.md): MSG_EXEC_UPDATE (one-way, senders block when the mailbox is full: an
 * update must not be lost) and requests MSG_EXEC_* (queries; the caller waits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpring.h"
#include "node_internal.h"
#include "sc/sc.h"

#define FINAL_EVENTS_MAX 20000

const double node_latency_bounds_s[NODE_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

/* A latency histogram updated by the actor's thread and read by any thread. */
typedef struct lat_hist {
    atomic_uint_fast64_t counts[NODE_LATENCY_BUCKETS + 1];
    atomic_uint_fast64_t sum_ms;
} lat_hist;

struct exec_actor {
    node_t *n;
    store_t *store;
    state_final_t *final;
    exec_t *ex;
    exec_config cfg;
    sc_t *sc; /* the contract host bound to the executor */
    /* the last FINAL_EVENTS_MAX events of final slots (a ring) */
    node_event_t *fev;
    size_t fev_head, fev_n;
    /* published for other threads */
    atomic_uint_fast64_t final_next; /* slot index + 1 of the next slot to finalize (0: unknown) */
    atomic_uint_fast64_t active;     /* slot index + 1 of the last speculative slot (0: none) */
    /* latencies (node_latency_stats) */
    uint64_t started_ms;    /* the first start: blocks of slots started before are not timed */
    uint64_t lat_exec_last; /* slot index + 1 of the latest block timed for execution */
    lat_hist lat_exec, lat_final;
    atomic_uint_fast64_t ops_executed;
    /* snapshots of the final state served to peers in parts (q_state_part) */
    struct {
        store_snap_t *sn;
        slot_t cursor;
        uint8_t fp[STATE_FP_LEN];
        uint64_t opened_ms, used_ms;
    } snaps[NODE_STATE_SNAPSHOTS];
    /* the fingerprints of the last NODE_STATE_FP_KEPT final slots (exec_actor_fingerprint): each
     * put after its slot's finalization, and at every start those the store kept and the cursor
     * the final state opens at; with the final cursor they were put at.  Written by
     * execution's thread, read by the network's, under fps_mu: a peer's check never waits for
     * execution's work */
    pthread_mutex_t fps_mu;
    fpring fps;
    bool fps_has_cursor;
    slot_t fps_cursor;
};

static void snaps_expire(exec_actor *a, bool all);

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t slot_idx1(const model_params *p, slot_t s)
{
    return s.period * p->thread_count + s.thread + 1;
}

static slot_t idx1_slot(const model_params *p, uint64_t i)
{
    slot_t s = {(i - 1) / p->thread_count, (uint8_t)((i - 1) % p->thread_count)};
    return s;
}

static void event_free_fields(exec_event_t *e)
{
    free(e->call_stack);
    free(e->data);
    memset(e, 0, sizeof *e);
}

static weft_err event_copy(exec_event_t *dst, const exec_event_t *src)
{
    *dst = *src;
    dst->call_stack = NULL;
    dst->data = NULL;
    if (src->call_stack_len) {
        dst->call_stack = malloc(src->call_stack_len * sizeof *dst->call_stack);
        if (!dst->call_stack)
            return WEFT_E_NOMEM;
        memcpy(dst->call_stack, src->call_stack, src->call_stack_len * sizeof *dst->call_stack);
    }
    dst->data = malloc(src->data_len + 1);
    if (!dst->data) {
        free(dst->call_stack);
        dst->call_stack = NULL;
        return WEFT_E_NOMEM;
    }
    memcpy(dst->data, src->data, src->data_len);
    dst->data[src->data_len] = 0;
    return WEFT_OK;
}

static void fev_push(exec_actor *a, exec_event_t *ev)
{
    size_t i = (a->fev_head + a->fev_n) % FINAL_EVENTS_MAX;
    if (a->fev_n == FINAL_EVENTS_MAX) {
        event_free_fields(&a->fev[a->fev_head].ev);
        a->fev_head = (a->fev_head + 1) % FINAL_EVENTS_MAX;
        a->fev_n--;
    }
    a->fev[i].ev = *ev; /* moved */
    a->fev[i].is_final = true;
    a->fev_n++;
    memset(ev, 0, sizeof *ev);
}

/* Feeds the selector every cycle from `from` on whose lookback the final state holds. */
static weft_err feed_cycles(exec_actor *a, uint64_t from, uint64_t to)
{
    state_view_t v;
    state_view_init(&v, a->final, NULL, 0, NULL);
    weft_err err = WEFT_OK;
    for (uint64_t d = from; d <= to; d++) {
        if (nsel_has_cycle(&a->n->sel, d))
            continue;
        state_lookback_t lb;
        memset(&lb, 0, sizeof lb);
        err = state_pos_lookback(&v, d, &lb);
        if (err == WEFT_E_POS_CYCLE_UNAVAILABLE) {
            err = WEFT_OK;
            break;
        }
        if (err)
            break;
        err = nsel_feed(&a->n->sel, &lb.lb);
        state_lookback_free(&lb);
        if (err) {
            log_error("exec", "cannot draw cycle", "cycle=%llu err=%s", (unsigned long long)d,
                      weft_err_name(err));
            break;
        }
        log_debug("exec", "cycle drawn", "cycle=%llu", (unsigned long long)d);
    }
    state_view_free(&v);
    return err;
}

static void publish_cursors(exec_actor *a)
{
    const model_params *p = &a->n->params;
    slot_t next;
    if (state_final_next_slot(a->final, &next) == WEFT_OK)
        atomic_store(&a->final_next, slot_idx1(p, next));
    size_t h = exec_history_len(a->ex);
    if (h)
        atomic_store(&a->active, slot_idx1(p, exec_history_at(a->ex, h - 1)->slot));
    else {
        slot_t c;
        atomic_store(&a->active, state_final_cursor(a->final, &c) ? slot_idx1(p, c) : 0);
    }
}

WEFT_STATIC_ASSERT(NODE_STATE_FP_LEN == STATE_FP_LEN, "fingerprint widths differ");

/* The final state's fingerprint after the slot just finalized, s: kept (the final state is at s,
 * nothing else moved it). */
static void fps_put(exec_actor *a, slot_t s)
{
    slot_t c;
    if (!state_final_cursor(a->final, &c) || slot_cmp(c, s) != 0)
        return;
    uint8_t fp[STATE_FP_LEN];
    state_final_fingerprint(a->final, fp);
    pthread_mutex_lock(&a->fps_mu);
    fpring_put(&a->fps, &a->n->params, s, fp);
    a->fps_has_cursor = true;
    a->fps_cursor = s;
    pthread_mutex_unlock(&a->fps_mu);
}

static bool fps_load_cb(void *ctx, slot_t s, const uint8_t fp[STATE_FP_LEN])
{
    exec_actor *a = ctx;
    fpring_put(&a->fps, &a->n->params, s, fp);
    return true;
}

/* At a start (the first, or a restart of the actor): the ring allocated once (without it nothing
 * is kept) and filled from the fingerprints the store kept (state_final_keep_fingerprints: those
 * of the last NODE_STATE_FP_KEPT final slots, written with each slot), then the cursor's put.  A
 * store that cannot be read leaves the cursor's only: checks of older slots are answered "not
 * kept", which costs peers a confirmation, not safety. */
static void fps_start(exec_actor *a)
{
    pthread_mutex_lock(&a->fps_mu);
    if (!a->fps.e && fpring_init(&a->fps, NODE_STATE_FP_KEPT) != WEFT_OK)
        log_warn("exec", "no memory for the fingerprints of final slots: none kept", NULL);
    fpring_clear(&a->fps);
    weft_err err = state_final_fingerprints(a->final, fps_load_cb, a);
    if (err) {
        log_warn("exec", "cannot read the kept fingerprints: only the cursor's known", "err=%s",
                 weft_err_name(err));
        fpring_clear(&a->fps);
    }
    slot_t c;
    uint8_t fp[STATE_FP_LEN];
    state_final_fingerprint(a->final, fp);
    a->fps_has_cursor = state_final_cursor(a->final, &c);
    if (a->fps_has_cursor) {
        fpring_put(&a->fps, &a->n->params, c, fp);
        a->fps_cursor = c;
    }
    pthread_mutex_unlock(&a->fps_mu);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static weft_err write_genesis(exec_actor *a)
{
    const repo_genesis_t *g = &a->n->repo->genesis;
    state_diff_t *d = NULL;
    weft_err err = state_diff_new(&d);
    if (err)
        return err;
    state_view_t v;
    state_view_init(&v, a->final, NULL, 0, d);
    for (size_t i = 0; !err && i < g->balance_count; i++)
        err = state_balance_set(&v, &g->balances[i].addr, g->balances[i].amount);
    for (size_t i = 0; !err && i < g->roll_count; i++)
        err = state_rolls_set(&v, &g->rolls[i].addr, g->rolls[i].rolls);
    state_view_free(&v);
    if (!err)
        err = state_final_genesis(a->final, d);
    state_diff_free(d);
    return err;
}

static weft_err ex_start(void *ctx, actor_t *self)
{
    (void)self;
    exec_actor *a = ctx;
    node_t *n = a->n;
    if (!a->started_ms)
        a->started_ms = node_now_ms(n);
    char dir[4096];
    weft_err err = repo_path(n->repo, "store", dir, sizeof dir);
    if (err)
        return err;
    store_options so = {
        .dir = dir,
        .map_size = (size_t)n->repo->config.store_map_mb << 20,
        .no_sync = n->repo->config.store_no_sync,
    };
    err = store_open(&a->store, &so);
    if (!err)
        err = state_final_open(&a->final, &n->params, store_kv(a->store));
    if (!err && !state_final_has_genesis(a->final)) {
        err = write_genesis(a);
        if (!err)
            log_info("exec", "genesis state written", "balances=%zu stakers=%zu",
                     n->repo->genesis.balance_count, n->repo->genesis.roll_count);
    }
    if (!err)
        err = state_final_keep_fingerprints(a->final, NODE_STATE_FP_KEPT);
    exec_vm_t vm;
    if (!err) {
        sc_config scc;
        sc_config_default(&scc);
        err = sc_vm_new(&vm, &a->sc, &scc);
    }
    if (!err)
        err = exec_new(&a->ex, a->final, &a->cfg, &vm);
    if (!err) {
        slot_t next;
        err = state_final_next_slot(a->final, &next);
        uint64_t c = cycle_of_period(&n->params, next.period);
        if (!err)
            err = feed_cycles(a, c >= 2 ? c - 2 : 0, c + 2);
    }
    if (!a->fev && !err) {
        a->fev = calloc(FINAL_EVENTS_MAX, sizeof *a->fev);
        if (!a->fev)
            err = WEFT_E_NOMEM;
    }
    if (err) {
        log_error("exec", "cannot start execution", "err=%s", weft_err_name(err));
        exec_free(a->ex);
        sc_free(a->sc);
        state_final_close(a->final);
        store_close(a->store);
        a->ex = NULL;
        a->sc = NULL;
        a->final = NULL;
        a->store = NULL;
        return err;
    }
    publish_cursors(a);
    fps_start(a);
    slot_t c;
    if (state_final_cursor(a->final, &c))
        log_info("exec", "final state opened", "cursor=%llu:%u", (unsigned long long)c.period,
                 c.thread);
    return WEFT_OK;
}

static void ex_stop(void *ctx, actor_t *self)
{
    (void)self;
    exec_actor *a = ctx;
    snaps_expire(a, true);
    exec_free(a->ex);
    sc_free(a->sc);
    a->sc = NULL;
    state_final_close(a->final);
    store_close(a->store);
    a->ex = NULL;
    a->final = NULL;
    a->store = NULL;
}

/* ---- latencies ------------------------------------------------------------------------------- */

/* Times the block of slot s, executed now: into h when the slot started after the node did
 * (genesis blocks are not timed). */
static void lat_observe(exec_actor *a, lat_hist *h, slot_t s)
{
    uint64_t start, now = node_now_ms(a->n);
    if (s.period == 0 || slot_time(&a->n->params, &start, s) != WEFT_OK || start < a->started_ms)
        return;
    uint64_t ms = now > start ? now - start : 0;
    double sec = (double)ms / 1000.0;
    size_t b = 0;
    while (b < NODE_LATENCY_BUCKETS && sec > node_latency_bounds_s[b])
        b++;
    atomic_fetch_add(&h->counts[b], 1);
    atomic_fetch_add(&h->sum_ms, ms);
}

static void lat_read(node_latency_hist *out, lat_hist *h)
{
    memset(out, 0, sizeof *out);
    for (size_t b = 0; b <= NODE_LATENCY_BUCKETS; b++) {
        out->counts[b] = atomic_load(&h->counts[b]);
        out->count += out->counts[b];
    }
    out->sum_s = (double)atomic_load(&h->sum_ms) / 1000.0;
}

void node_latency_stats(node_t *n, node_latency_t *out)
{
    memset(out, 0, sizeof *out);
    exec_actor *a = n->ex;
    if (!a)
        return;
    lat_read(&out->execution, &a->lat_exec);
    lat_read(&out->finality, &a->lat_final);
    out->ops_executed = atomic_load(&a->ops_executed);
}

/* The newest `executed` outputs of the history were just executed: times the blocks executed for
 * the first time (slots after the latest one timed; a re-execution after a blockclique change is
 * not counted again) and counts their operations. */
static void lat_executed(exec_actor *a, size_t executed)
{
    const model_params *p = &a->n->params;
    size_t h = exec_history_len(a->ex);
    for (size_t i = h >= executed ? h - executed : 0; i < h; i++) {
        const exec_output *o = exec_history_at(a->ex, i);
        uint64_t idx = slot_idx1(p, o->slot);
        if (!o->has_block || idx <= a->lat_exec_last)
            continue;
        a->lat_exec_last = idx;
        lat_observe(a, &a->lat_exec, o->slot);
        size_t acc = 0;
        for (size_t k = 0; k < o->result_count; k++)
            acc += o->results[k].accepted;
        atomic_fetch_add(&a->ops_executed, acc);
    }
}

/* ---- updates --------------------------------------------------------------------------------- */

/* Collects the accepted operation ids of an output into *ids. */
static void collect_ops(const exec_output *o, nids *ids, size_t *cap)
{
    for (size_t i = 0; i < o->result_count; i++) {
        if (!o->results[i].accepted)
            continue;
        if (ids->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            op_id_t *v = realloc(ids->ids, nc * sizeof *v);
            if (!v)
                return; /* the pool keeps them until they expire or fail: harmless */
            ids->ids = v;
            *cap = nc;
        }
        ids->ids[ids->n++] = o->results[i].id;
    }
}

static weft_err ex_update(exec_actor *a, nupdate *u)
{
    node_t *n = a->n;
    const model_params *p = &n->params;
    weft_err err = WEFT_OK;
    nids *done = calloc(1, sizeof *done);
    size_t cap = 0;
    /* From a stop request on, no more slots: stopping must not wait for execution to catch up
     * (a node far behind has thousands of slots queued); the next start resumes from the final
     * cursor, as after a lost update. */
    bool stopping = false;
    for (size_t i = 0; i < u->n_finalize; i++) {
        if ((stopping = atomic_load(&n->stop_requested)))
            break;
        slot_t next;
        err = state_final_next_slot(a->final, &next);
        if (err)
            break;
        int c = slot_cmp(u->finalize[i].slot, next);
        if (c < 0)
            continue; /* finalized already (a resend after a restart) */
        if (c > 0) {
            log_error("exec", "finalization gap", "want=%llu:%u got=%llu:%u",
                      (unsigned long long)next.period, next.thread,
                      (unsigned long long)u->finalize[i].slot.period, u->finalize[i].slot.thread);
            err = WEFT_E_EXEC_SLOT;
            break;
        }
        exec_output out;
        memset(&out, 0, sizeof out);
        bool hit = false;
        err = exec_finalize(a->ex, &u->finalize[i], &hit, &out);
        if (err) {
            exec_output_free(&out);
            break;
        }
        fps_put(a, u->finalize[i].slot);
        size_t acc = 0, again = 0;
        for (size_t k = 0; k < out.result_count; k++) {
            acc += out.results[k].accepted;
            again += out.results[k].status == WEFT_E_EXEC_OP_REPLAY;
        }
        atomic_fetch_add(&n->ops_final, acc);
        if (again) /* an operation a block included again (net_bench counts them) */
            log_debug("exec", "final slot: operations already executed",
                      "period=%llu thread=%u count=%zu", (unsigned long long)out.slot.period,
                      out.slot.thread, again);
        if (out.has_block)
            lat_observe(a, &a->lat_final, out.slot);
        if (done)
            collect_ops(&out, done, &cap);
        for (size_t k = 0; k < out.event_count; k++)
            fev_push(a, &out.events[k]);
        exec_output_free(&out);
        slot_t s = u->finalize[i].slot;
        if (s.thread == p->thread_count - 1 && (s.period + 1) % p->periods_per_cycle == 0) {
            uint64_t cyc = cycle_of_period(p, s.period);
            err = feed_cycles(a, cyc + 1, cyc + 2);
            if (err)
                break;
        }
    }
    if (!err && u->n_bc && !stopping && !atomic_load(&n->stop_requested)) {
        size_t executed = 0;
        err = exec_set_blockclique(a->ex, u->bc, u->n_bc, &executed);
        lat_executed(a, executed);
        size_t h = exec_history_len(a->ex);
        if (done)
            for (size_t i = h >= executed ? h - executed : 0; i < h; i++)
                collect_ops(exec_history_at(a->ex, i), done, &cap);
        if (err == WEFT_E_EXEC_SLOT) {
            /* The consensus actor's view of the final cursor was behind ours: the next update,
             * built from the cursor published below, is consistent again. */
            log_debug("exec", "blockclique update out of sequence, waiting for the next", NULL);
            err = WEFT_OK;
        }
    }
    publish_cursors(a);
    snaps_expire(a, false);
    if (done && done->n) {
        if (actor_send(n->a_pool, MSG_POOL_REMOVE, done, nids_free, ACTOR_SEND_DROP) != WEFT_OK)
            log_debug("exec", "pool busy: executed operations not reported", NULL);
    } else {
        nids_free(done);
    }
    if (err)
        log_error("exec", "update failed", "err=%s", weft_err_name(err));
    return err;
}

/* ---- queries --------------------------------------------------------------------------------- */

static void view_final(exec_actor *a, state_view_t *v)
{
    state_view_init(v, a->final, NULL, 0, NULL);
}

typedef struct keyscan {
    node_bytes_t *v;
    size_t n;
    bool nomem;
} keyscan;

static bool key_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    keyscan *k = ctx;
    if (k->n >= NODE_MAX_KEYS)
        return false;
    uint8_t *b = malloc(klen ? klen : 1);
    if (!b) {
        k->nomem = true;
        return false;
    }
    memcpy(b, key, klen);
    k->v[k->n].b = b;
    k->v[k->n].len = klen;
    k->n++;
    return true;
}

static weft_err scan_keys(state_view_t *v, const address_t *a, node_bytes_t **out, size_t *count)
{
    keyscan k = {calloc(NODE_MAX_KEYS, sizeof(node_bytes_t)), 0, false};
    if (!k.v)
        return WEFT_E_NOMEM;
    weft_err err = state_ds_scan(v, a, NULL, 0, key_visit, &k);
    if (!err && k.nomem)
        err = WEFT_E_NOMEM;
    *out = k.v;
    *count = k.n;
    return err;
}

typedef struct credscan {
    const address_t *a;
    node_credit_t *v;
    size_t n, cap;
} credscan;

static bool credit_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    credscan *c = ctx;
    if (klen != 8 + 1 + MODEL_ADDRESS_LEN)
        return true;
    rd_t r;
    rd_init(&r, key + 9, MODEL_ADDRESS_LEN);
    address_t ad;
    address_read(&r, &ad);
    if (rd_err(&r) || !address_eq(&ad, c->a))
        return true;
    rd_init(&r, key, 9);
    slot_t s;
    s.period = rd_u64be(&r);
    s.thread = rd_u8(&r);
    rd_init(&r, val, vlen);
    uint64_t amt = rd_varint(&r);
    if (rd_err(&r) || c->n >= NODE_MAX_CREDITS)
        return true;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        node_credit_t *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv)
            return false;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n].slot = s;
    c->v[c->n].amount = amount_from_nano(amt);
    c->n++;
    return true;
}

typedef struct drawscan {
    node_draw_t *v;
    size_t n;
} drawscan;

static bool draw_visit(void *ctx, slot_t slot, int32_t index)
{
    drawscan *d = ctx;
    if (d->n >= NODE_MAX_DRAWS)
        return false;
    d->v[d->n].slot = slot;
    d->v[d->n].index = index;
    d->n++;
    return true;
}

static weft_err q_address(exec_actor *a, node_address_info_t *o)
{
    node_t *n = a->n;
    state_view_t fv, cv;
    view_final(a, &fv);
    exec_view(a->ex, &cv);
    weft_err err = state_balance_get(&fv, &o->addr, &o->final_balance);
    o->final_exists = err == WEFT_OK;
    if (err == WEFT_E_NOT_FOUND)
        err = WEFT_OK;
    if (!err) {
        err = state_balance_get(&cv, &o->addr, &o->candidate_balance);
        o->candidate_exists = err == WEFT_OK;
        if (err == WEFT_E_NOT_FOUND)
            err = WEFT_OK;
    }
    if (!err)
        err = state_rolls_get(&fv, &o->addr, &o->final_rolls);
    if (!err)
        err = state_rolls_get(&cv, &o->addr, &o->candidate_rolls);
    if (!err)
        err = scan_keys(&fv, &o->addr, &o->final_keys, &o->final_key_count);
    if (!err)
        err = scan_keys(&cv, &o->addr, &o->candidate_keys, &o->candidate_key_count);
    if (!err) {
        credscan c = {&o->addr, NULL, 0, 0};
        err = state_view_scan(&cv, STATE_T_CREDITS, NULL, 0, NULL, 0, credit_visit, &c);
        o->credits = c.v;
        o->credit_count = c.n;
    }
    slot_t now;
    if (!err && node_current_slot(n, &now) == WEFT_OK) {
        uint64_t cyc = cycle_of_period(&n->params, now.period);
        err = state_prod_get(&cv, cyc, &o->addr, &o->cycle_produced, &o->cycle_missed);
        /* draws from the next slot to the end of the last drawn cycle */
        slot_t from;
        if (!err && slot_next(&n->params, &from, now) == WEFT_OK) {
            uint64_t last = cycle_of_period(&n->params, from.period);
            while (nsel_has_cycle(&n->sel, last + 1))
                last++;
            if (nsel_has_cycle(&n->sel, cycle_of_period(&n->params, from.period))) {
                slot_t to = {(last + 1) * n->params.periods_per_cycle, 0};
                drawscan d = {calloc(NODE_MAX_DRAWS, sizeof(node_draw_t)), 0};
                if (!d.v)
                    err = WEFT_E_NOMEM;
                else {
                    pthread_rwlock_rdlock(&n->sel.lock);
                    weft_err e2 =
                        pos_selector_address_draws(n->sel.s, &o->addr, from, to, draw_visit, &d);
                    pthread_rwlock_unlock(&n->sel.lock);
                    (void)e2; /* a cycle evicted meanwhile: fewer draws listed */
                    o->draws = d.v;
                    o->draw_count = d.n;
                }
            }
        }
    }
    state_view_free(&fv);
    state_view_free(&cv);
    return err;
}

static weft_err q_op_status(exec_actor *a, node_op_info_t *o, const op_id_t *id)
{
    state_view_t fv, cv;
    view_final(a, &fv);
    exec_view(a->ex, &cv);
    weft_err err = state_op_executed(&cv, id, &o->spec_executed, &o->spec_success);
    if (!err)
        err = state_op_executed(&fv, id, &o->final_executed, &o->final_success);
    state_view_free(&fv);
    state_view_free(&cv);
    return err;
}

static weft_err q_ops_executed(exec_actor *a, nexecq *q)
{
    state_view_t fv, cv;
    view_final(a, &fv);
    exec_view(a->ex, &cv);
    weft_err err = WEFT_OK;
    for (size_t i = 0; !err && i < q->n; i++) {
        err = state_op_executed(&cv, &q->ids[i], &q->spec[i], NULL);
        if (!err)
            err = state_op_executed(&fv, &q->ids[i], &q->fin[i], NULL);
    }
    state_view_free(&fv);
    state_view_free(&cv);
    return err;
}

static weft_err copy_bytes(node_bytes_t *dst, const uint8_t *b, size_t len)
{
    dst->b = malloc(len ? len : 1);
    if (!dst->b)
        return WEFT_E_NOMEM;
    memcpy(dst->b, b, len);
    dst->len = len;
    return WEFT_OK;
}

static weft_err q_datastore(exec_actor *a, ndsq *q)
{
    state_view_t fv, cv;
    view_final(a, &fv);
    exec_view(a->ex, &cv);
    const uint8_t *val;
    size_t vlen;
    weft_err err = state_ds_get(&fv, &q->addr, q->key, q->klen, &val, &vlen);
    if (!err) {
        q->out->has_final = true;
        err = copy_bytes(&q->out->final_value, val, vlen);
    } else if (err == WEFT_E_NOT_FOUND)
        err = WEFT_OK;
    if (!err) {
        err = state_ds_get(&cv, &q->addr, q->key, q->klen, &val, &vlen);
        if (!err) {
            q->out->has_candidate = true;
            err = copy_bytes(&q->out->candidate_value, val, vlen);
        } else if (err == WEFT_E_NOT_FOUND)
            err = WEFT_OK;
    }
    state_view_free(&fv);
    state_view_free(&cv);
    return err;
}

static weft_err q_bytecode(exec_actor *a, ndsq *q)
{
    state_view_t v;
    if (q->final)
        view_final(a, &v);
    else
        exec_view(a->ex, &v);
    const uint8_t *code;
    size_t len;
    weft_err err = state_bytecode_get(&v, &q->addr, &code, &len);
    if (!err)
        err = copy_bytes(q->code, code, len);
    state_view_free(&v);
    return err;
}

static bool event_match(const node_event_filter *f, const exec_event_t *e, bool is_final)
{
    if (f->has_start && slot_cmp(e->slot, f->start) < 0)
        return false;
    if (f->has_end && slot_cmp(e->slot, f->end) >= 0)
        return false;
    if (f->has_emitter &&
        (!e->call_stack_len || !address_eq(&e->call_stack[e->call_stack_len - 1], &f->emitter)))
        return false;
    if (f->has_caller && (!e->call_stack_len || !address_eq(&e->call_stack[0], &f->caller)))
        return false;
    if (f->has_op && (!e->has_op || hash32_cmp(&e->op.h, &f->op.h) != 0))
        return false;
    if (f->is_final == 1 && !is_final)
        return false;
    if (f->is_error >= 0 && e->is_error != (f->is_error == 1))
        return false;
    return true;
}

static weft_err ev_add(nevq *q, const exec_event_t *e, bool is_final)
{
    if (q->n >= NODE_MAX_EVENTS)
        return WEFT_OK;
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 16;
        node_event_t *v = realloc(q->out, nc * sizeof *v);
        if (!v)
            return WEFT_E_NOMEM;
        q->out = v;
        q->cap = nc;
    }
    weft_err err = event_copy(&q->out[q->n].ev, e);
    if (err)
        return err;
    q->out[q->n].is_final = is_final;
    q->n++;
    return WEFT_OK;
}

static weft_err q_events(exec_actor *a, nevq *q)
{
    weft_err err = WEFT_OK;
    for (size_t i = 0; !err && i < a->fev_n; i++) {
        const node_event_t *e = &a->fev[(a->fev_head + i) % FINAL_EVENTS_MAX];
        if (event_match(q->f, &e->ev, true))
            err = ev_add(q, &e->ev, true);
    }
    /* Massa returns only active-history events for is_final:false; massa-web3 asks for them after
     * an operation may already be final (reference/massa-client-compat.md §3), so false lists the
     * final events too (above) and then the speculative ones. */
    if (q->f->is_final != 1) {
        size_t h = exec_history_len(a->ex);
        for (size_t i = 0; !err && i < h; i++) {
            const exec_output *o = exec_history_at(a->ex, i);
            for (size_t k = 0; !err && k < o->event_count; k++)
                if (event_match(q->f, &o->events[k], false))
                    err = ev_add(q, &o->events[k], false);
        }
    }
    return err;
}

/* A read-only run over a discarded copy of the speculative state, at the current slot. */
static weft_err q_read_only(exec_actor *a, nroq *q)
{
    node_t *n = a->n;
    const node_read_only_t *in = q->in;
    node_read_only_result_t *out = q->out;
    slot_t now = {0, 0};
    if (node_current_slot(n, &now) != WEFT_OK)
        now = (slot_t){0, 0};
    state_view_t v;
    exec_view(a->ex, &v);
    sc_ro_result r;
    memset(&r, 0, sizeof r);
    weft_err err;
    if (in->is_bytecode) {
        operation_t ds;
        memset(&ds, 0, sizeof ds);
        err = in->op_datastore_len
                  ? op_datastore_decode(&ds, in->op_datastore, in->op_datastore_len)
                  : WEFT_OK;
        if (err) {
            state_view_free(&v);
            return err;
        }
        sc_ro_bytecode req = {
            .base = &v,
            .params = &n->params,
            .slot = now,
            .max_gas = in->max_gas,
            .caller = in->caller,
            .bytecode = in->bytecode,
            .bytecode_len = in->bytecode_len,
            .datastore = ds.u.execute_sc.datastore,
            .datastore_len = ds.u.execute_sc.datastore_len,
        };
        err = sc_read_only_bytecode(a->sc, &req, &r);
        op_free(&ds);
    } else {
        sc_ro_call req = {
            .base = &v,
            .params = &n->params,
            .slot = now,
            .max_gas = in->max_gas,
            .caller = in->caller,
            .target = in->target,
            .function = in->function,
            .function_len = in->function ? strlen(in->function) : 0,
            .param = in->param,
            .param_len = in->param_len,
            .coins = in->coins,
        };
        err = sc_read_only_call(a->sc, &req, &r);
    }
    state_view_free(&v);
    if (err) {
        sc_ro_result_free(&r);
        return err;
    }
    out->executed_at = now;
    out->ok = r.failure == WEFT_OK;
    out->gas_cost = r.gas_used;
    if (out->ok)
        err = copy_bytes(&out->result, r.ret ? r.ret : (const uint8_t *)"", r.ret_len);
    else {
        char msg[2 * EXEC_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s%s%s", weft_strerror(r.failure), r.message[0] ? ": " : "",
                 r.message);
        memcpy(out->error, msg, sizeof out->error - 1); /* truncated to fit */
        out->error[sizeof out->error - 1] = 0;
    }
    if (!err && r.event_count) {
        out->events = calloc(r.event_count, sizeof *out->events);
        if (!out->events)
            err = WEFT_E_NOMEM;
        for (size_t i = 0; !err && i < r.event_count; i++) {
            err = event_copy(&out->events[i].ev, &r.events[i]);
            if (!err)
                out->event_count = i + 1;
        }
    }
    sc_ro_result_free(&r);
    return err;
}

static bool staker_visit(void *ctx, const address_t *ad, uint64_t rolls)
{
    nstakers *s = ctx;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        pos_stake_t *v = realloc(s->v, nc * sizeof *v);
        if (!v)
            return false;
        s->v = v;
        s->cap = nc;
    }
    s->v[s->n].addr = *ad;
    s->v[s->n].rolls = rolls;
    s->n++;
    return true;
}

static weft_err q_balances(exec_actor *a, nbalances *b)
{
    state_view_t v;
    exec_view(a->ex, &v);
    weft_err err = WEFT_OK;
    for (size_t i = 0; !err && i < b->n; i++) {
        err = state_balance_get(&v, &b->addrs[i], &b->amounts[i]);
        if (err == WEFT_E_NOT_FOUND) {
            b->amounts[i] = amount_from_nano(0);
            err = WEFT_OK;
        }
    }
    state_view_free(&v);
    return err;
}

/* ---- the final state in parts ------------------------------------------------------------------
 */

#define SNAP_JOIN_MS 5000  /* a new transfer joins a snapshot opened this recently */
#define SNAP_IDLE_MS 30000 /* a snapshot not asked for this long is closed … */
#define SNAP_MAX_MS 600000 /* … and any after this long (it holds old pages of the store) */
#define SNAP_EVICT_MS 5000 /* a full table replaces a snapshot idle for this long */

static void snap_close(exec_actor *a, size_t i)
{
    store_snapshot_close(a->snaps[i].sn);
    memset(&a->snaps[i], 0, sizeof a->snaps[i]);
}

static void snaps_expire(exec_actor *a, bool all)
{
    uint64_t now = node_now_ms(a->n);
    for (size_t i = 0; i < NODE_STATE_SNAPSHOTS; i++)
        if (a->snaps[i].sn &&
            (all || !store_snapshot_live(a->snaps[i].sn) ||
             now - a->snaps[i].used_ms > SNAP_IDLE_MS || now - a->snaps[i].opened_ms > SNAP_MAX_MS))
            snap_close(a, i);
}

/* Opens a snapshot in entry i: its final cursor and fingerprint from its own metadata. */
static weft_err snap_open(exec_actor *a, size_t i)
{
    store_snap_t *sn;
    weft_err err = store_snapshot_open(a->store, &sn);
    if (err)
        return err;
    state_final_t *f;
    err = state_final_open(&f, &a->n->params, store_snapshot_kv(sn));
    if (!err && !state_final_cursor(f, &a->snaps[i].cursor))
        err = WEFT_E_STATE;
    if (!err)
        state_final_fingerprint(f, a->snaps[i].fp);
    if (!err)
        state_final_close(f);
    if (err) {
        store_snapshot_close(sn);
        return err;
    }
    a->snaps[i].sn = sn;
    a->snaps[i].opened_ms = a->snaps[i].used_ms = node_now_ms(a->n);
    return WEFT_OK;
}

/* The snapshot an ask reads: its cursor's, or (a new transfer) a recent one or a new one; -1 with
 * the status to answer otherwise. */
static int snap_for(exec_actor *a, const node_state_ask *k, node_state_status *status,
                    weft_err *err)
{
    uint64_t now = node_now_ms(a->n);
    *err = WEFT_OK;
    int at = -1;
    for (size_t i = 0; i < NODE_STATE_SNAPSHOTS && at < 0; i++) {
        if (!a->snaps[i].sn)
            continue;
        if (k->has_cursor ? slot_cmp(a->snaps[i].cursor, k->cursor) == 0
                          : now - a->snaps[i].opened_ms <= SNAP_JOIN_MS)
            at = (int)i;
    }
    if (at >= 0 || k->has_cursor) {
        *status = at >= 0 ? NODE_STATE_OK : NODE_STATE_GONE;
        return at;
    }
    for (size_t i = 0; i < NODE_STATE_SNAPSHOTS && at < 0; i++)
        if (!a->snaps[i].sn)
            at = (int)i;
    for (size_t i = 0; i < NODE_STATE_SNAPSHOTS && at < 0; i++)
        if (now - a->snaps[i].used_ms > SNAP_EVICT_MS)
            at = (int)i;
    if (at < 0) {
        *status = NODE_STATE_BUSY;
        return -1;
    }
    if (a->snaps[at].sn)
        snap_close(a, (size_t)at);
    *err = snap_open(a, (size_t)at);
    if (*err)
        return -1;
    *status = NODE_STATE_OK;
    return at;
}

typedef struct rec_ix {
    uint8_t table;
    size_t off, klen, vlen;
} rec_ix;

WEFT_STATIC_ASSERT(NODE_STATE_MAX_VALUE == STATE_MAX_VALUE_LEN, "value limits differ");

typedef struct partctx {
    wr_t buf;
    rec_ix *ix;
    size_t n, cap, bytes, max;
    uint8_t table;
    const uint8_t *skip; /* the resume point's key: not sent again … */
    size_t skiplen;
    size_t skip_off; /* … unless the ask goes on with its value from this byte */
    bool cut;        /* the last record holds only the start of its value */
    bool more;
    bool bad; /* the ask goes on with a value the snapshot does not hold (or not that long) */
    weft_err err;
} partctx;

static bool part_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    partctx *c = ctx;
    bool resume = c->skip && klen == c->skiplen && memcmp(key, c->skip, klen) == 0;
    if (resume && !c->skip_off)
        return true;
    if (c->skip_off && c->n == 0 && (!resume || vlen <= c->skip_off)) {
        c->bad = true;
        return false;
    }
    if (c->n && c->bytes + klen + vlen > c->max) {
        c->more = true;
        return false;
    }
    if (c->n == 0) { /* the first record: from the ask's byte of its value, cut to fit */
        size_t off = resume ? c->skip_off : 0, room = c->max > klen ? c->max - klen : 1;
        val += off;
        vlen -= off;
        if (vlen > room) {
            vlen = room;
            c->cut = c->more = true;
        }
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        rec_ix *x = realloc(c->ix, nc * sizeof *x);
        if (!x) {
            c->err = WEFT_E_NOMEM;
            return false;
        }
        c->ix = x;
        c->cap = nc;
    }
    c->ix[c->n++] = (rec_ix){c->table, c->buf.len, klen, vlen};
    wr_bytes(&c->buf, key, klen);
    if (vlen)
        wr_bytes(&c->buf, val, vlen);
    c->bytes += klen + vlen;
    if (wr_err(&c->buf)) {
        c->err = wr_err(&c->buf);
        return false;
    }
    return !c->cut;
}

/* A part of the final state for a peer (node_net_state_part): the records of a snapshot after the
 * resume point, up to the asked bytes. */
static weft_err q_state_part(exec_actor *a, nstpart *q)
{
    node_state_part *o = q->out;
    const node_state_ask *k = q->ask;
    snaps_expire(a, false);
    if (!state_final_cursor(a->final, NULL)) {
        o->status = NODE_STATE_UNAVAILABLE;
        return WEFT_OK;
    }
    weft_err err;
    int at = snap_for(a, k, &o->status, &err);
    if (at < 0)
        return err;
    a->snaps[at].used_ms = node_now_ms(a->n);
    o->cursor = a->snaps[at].cursor;
    memcpy(o->fingerprint, a->snaps[at].fp, STATE_FP_LEN);
    state_kv_t kv = store_snapshot_kv(a->snaps[at].sn);
    partctx c;
    memset(&c, 0, sizeof c);
    wr_init(&c.buf);
    c.max = k->max_bytes ? k->max_bytes : 1;
    unsigned t0 = k->has_after ? k->after_table : 1;
    c.skip_off = k->has_after ? k->after_offset : 0;
    for (unsigned t = t0 ? t0 : 1; t < STATE_T_COUNT && !c.more && !c.bad && !c.err && !err; t++) {
        c.table = (uint8_t)t;
        bool resume = k->has_after && t == k->after_table;
        c.skip = resume ? k->after_key : NULL;
        c.skiplen = resume ? k->after_klen : 0;
        err = kv.vt->scan(kv.self, (state_table)t, c.skip, c.skiplen, NULL, 0, part_visit, &c);
    }
    if (!err)
        err = c.err;
    if (!err && (c.bad || (c.skip_off && c.n == 0))) /* no such value to go on with */
        o->status = NODE_STATE_UNAVAILABLE;
    if (err == WEFT_E_STORE_SNAPSHOT) { /* the map grew under it: the transfer starts over */
        snap_close(a, (size_t)at);
        o->status = NODE_STATE_GONE;
        err = WEFT_OK;
    }
    if (!err && o->status == NODE_STATE_OK && c.n) {
        size_t len;
        o->recs = calloc(c.n, sizeof *o->recs);
        o->mem = wr_take(&c.buf, &len);
        if (!o->recs || !o->mem)
            err = WEFT_E_NOMEM;
        for (size_t i = 0; !err && i < c.n; i++)
            o->recs[i] = (node_state_rec){c.ix[i].table, o->mem + c.ix[i].off, c.ix[i].klen,
                                          o->mem + c.ix[i].off + c.ix[i].klen, c.ix[i].vlen};
        o->count = err ? 0 : c.n;
    }
    o->first_offset = o->count ? c.skip_off : 0;
    o->last_partial = o->count && c.cut;
    o->more = c.more;
    wr_free(&c.buf);
    free(c.ix);
    return err;
}

node_fp_status exec_actor_fingerprint(exec_actor *a, slot_t s, uint8_t fp[NODE_STATE_FP_LEN])
{
    pthread_mutex_lock(&a->fps_mu);
    node_fp_status st = fpring_get(&a->fps, &a->n->params, a->fps_has_cursor, a->fps_cursor, s, fp);
    pthread_mutex_unlock(&a->fps_mu);
    return st;
}

static weft_err ex_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    (void)self;
    exec_actor *a = ctx;
    weft_err err = WEFT_OK, st = WEFT_OK;
    switch (m->kind) {
    case MSG_EXEC_UPDATE:
        if (a->n->exec_gate)
            a->n->exec_gate(a->n->exec_gate_ctx);
        err = ex_update(a, m->payload);
        nupdate_free(m->payload);
        return err;
    case MSG_EXEC_BALANCES:
        st = q_balances(a, m->payload);
        break;
    case MSG_EXEC_ADDRESS:
        st = q_address(a, m->payload);
        break;
    case MSG_EXEC_OP_STATUS: {
        node_op_info_t *o = m->payload;
        st = q_op_status(a, o, &o->op.id);
        break;
    }
    case MSG_EXEC_DATASTORE:
        st = q_datastore(a, m->payload);
        break;
    case MSG_EXEC_BYTECODE:
        st = q_bytecode(a, m->payload);
        break;
    case MSG_EXEC_EVENTS:
        st = q_events(a, m->payload);
        break;
    case MSG_EXEC_STAKERS: {
        state_view_t v;
        exec_view(a->ex, &v);
        st = state_rolls_scan(&v, staker_visit, m->payload);
        state_view_free(&v);
        break;
    }
    case MSG_EXEC_STATUS: {
        node_status_t *s = m->payload;
        const model_params *p = &a->n->params;
        s->has_final_cursor = state_final_cursor(a->final, &s->final_cursor);
        uint64_t act = atomic_load(&a->active);
        s->has_active_cursor = act != 0;
        if (act)
            s->active_cursor = idx1_slot(p, act);
        break;
    }
    case MSG_EXEC_OPS_EXECUTED:
        st = q_ops_executed(a, m->payload);
        break;
    case MSG_EXEC_FWD_BALANCES:
    case MSG_EXEC_FWD_OPS_EXECUTED: { /* answered by forwarding, never waiting for the receiver */
        nfwd *f = m->payload;
        f->st =
            m->kind == MSG_EXEC_FWD_BALANCES ? q_balances(a, &f->bal) : q_ops_executed(a, &f->ex);
        if (m->kind == MSG_EXEC_FWD_BALANCES && !f->st && f->ex.n) /* and which ran already */
            f->st = q_ops_executed(a, &f->ex);
        if (actor_send(f->to, f->kind, f, f->free_fn, ACTOR_SEND_DROP) != WEFT_OK)
            log_debug("exec", "answer not forwarded: receiver busy", "kind=%u", m->kind);
        break;
    }
    case MSG_EXEC_READ_ONLY:
        st = q_read_only(a, m->payload);
        break;
    case MSG_EXEC_STATE_PART:
        st = q_state_part(a, m->payload);
        break;
    default:
        st = node_msg_unknown("exec", m);
        break;
    }
    node_msg_done(m, st);
    /* A storage fault or allocation failure while answering is the node's, not the caller's:
     * it is reported to the caller and the actor goes on (its state did not change). */
    return WEFT_OK;
}

weft_err exec_actor_add(node_t *n)
{
    exec_actor *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->n = n;
    exec_config_default(&a->cfg);
    pthread_mutex_init(&a->fps_mu, NULL);
    n->ex = a;
    actor_def d = {
        .name = "execution",
        .mailbox_cap = 256,
        .ctx = a,
        .start = ex_start,
        .handle = ex_handle,
        .stop = ex_stop,
    };
    return actor_system_add(n->sys, &d, &n->a_exec);
}

void exec_actor_free(exec_actor *a)
{
    if (!a)
        return;
    if (a->fev) {
        for (size_t i = 0; i < a->fev_n; i++)
            event_free_fields(&a->fev[(a->fev_head + i) % FINAL_EVENTS_MAX].ev);
        free(a->fev);
    }
    fpring_free(&a->fps);
    pthread_mutex_destroy(&a->fps_mu);
    free(a);
}

/* Next slot to finalize as execution last published it (false: not known yet). */
bool exec_actor_final_next(exec_actor *a, slot_t *out)
{
    uint64_t v = atomic_load(&a->final_next);
    if (!v)
        return false;
    *out = idx1_slot(&a->n->params, v);
    return true;
}
