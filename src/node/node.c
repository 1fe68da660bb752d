/* The node: builds the actors over a repository, starts and stops them, and answers the outside
 * interface of node.h by requests to the actor that owns each piece of data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node_internal.h"
#include "npar.h"
#include "sigcache.h"

/* ---- selector -------------------------------------------------------------------------------- */

weft_err nsel_producer(nsel *s, slot_t slot, address_t *out)
{
    pthread_rwlock_rdlock(&s->lock);
    weft_err e = pos_selector_producer(s->s, slot, out);
    pthread_rwlock_unlock(&s->lock);
    return e;
}

weft_err nsel_endorsers(nsel *s, slot_t slot, address_t *out)
{
    pthread_rwlock_rdlock(&s->lock);
    weft_err e = pos_selector_endorsers(s->s, slot, out);
    pthread_rwlock_unlock(&s->lock);
    return e;
}

weft_err nsel_feed(nsel *s, const pos_lookback_t *lb)
{
    pthread_rwlock_wrlock(&s->lock);
    weft_err e = pos_selector_feed(s->s, lb);
    pthread_rwlock_unlock(&s->lock);
    return e;
}

bool nsel_has_cycle(nsel *s, uint64_t cycle)
{
    pthread_rwlock_rdlock(&s->lock);
    bool h = pos_selector_has_cycle(s->s, cycle);
    pthread_rwlock_unlock(&s->lock);
    return h;
}

/* ---- helpers --------------------------------------------------------------------------------- */

weft_err node_call(actor_t *to, uint32_t kind, void *payload)
{
    /* No timeout: the payload is the caller's (often on its stack) and the actor reads and
     * writes it while handling the request, so the caller must not return before the answer.
     * Every request is answered: by its handler, or with E_ACTOR_STOPPED when the actor stops. */
    return actor_call(to, kind, payload, NULL, 0, NULL, NULL);
}

weft_err node_msg_unknown(const char *actor, actor_msg_t *m)
{
    log_warn(actor, "unknown message", "kind=%u", m->kind);
    if (m->free_fn)
        m->free_fn(m->payload);
    return WEFT_E_INVAL;
}

void node_msg_done(actor_msg_t *m, weft_err status)
{
    if (m->reply)
        actor_reply(m->reply, status, NULL, NULL);
}

actor_timer_id node_timer_next_slot(node_t *n, actor_t *to, uint32_t kind)
{
    slot_t next;
    uint64_t when;
    if (slot_next_after_time(&n->params, &next, node_now_ms(n)) != WEFT_OK ||
        slot_time(&n->params, &when, next) != WEFT_OK)
        return 0;
    return actor_timer_at_wall(n->sys, to, when, kind, NULL, NULL);
}

uint64_t node_now_ms(const node_t *n) { return n->clock->vt->wall_ms(n->clock); }

weft_err node_current_slot(const node_t *n, slot_t *out)
{
    return slot_at_time(&n->params, out, node_now_ms(n));
}

uint64_t node_current_period(const node_t *n)
{
    slot_t s;
    return node_current_slot(n, &s) == WEFT_OK ? s.period : 0;
}

const model_params *node_params(const node_t *n) { return &n->params; }
const repo_t *node_repo(const node_t *n) { return n->repo; }
actor_system_t *node_actor_system(node_t *n) { return n->sys; }
void node_id(const node_t *n, pubkey_t *out) { *out = n->repo->node_key.pk; }

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void on_fatal(void *ctx, const char *name, weft_err err)
{
    node_t *n = ctx;
    log_error("node", "actor failed beyond its restart budget; stopping the node",
              "actor=%s err=%s", name, weft_err_name(err));
    node_request_stop(n);
}

static void node_free(node_t *n)
{
    if (!n)
        return;
    actor_system_free(n->sys);
    exec_actor_free(n->ex);
    pool_actor_free(n->po);
    cons_actor_free(n->co);
    fact_actor_free(n->fa);
    pos_selector_free(n->sel.s);
    pthread_rwlock_destroy(&n->sel.lock);
    pthread_cond_destroy(&n->net_cv);
    pthread_mutex_destroy(&n->net_mu);
    nsigcache_free(n->sigs);
    npar_free(n->par);
    node_import_free(n->imp);
    free(n);
}

weft_err node_start(node_t **out, repo_t *repo, const node_options *o, char *err, size_t errcap)
{
    *out = NULL;
    node_t *n = calloc(1, sizeof *n);
    if (!n)
        return WEFT_E_NOMEM;
    n->repo = repo;
    n->params = repo->genesis.params;
    n->clock = o && o->clock ? o->clock : actor_clock_system();
    n->on_stop = o ? o->on_stop_request : NULL;
    n->on_stop_ctx = o ? o->on_stop_ctx : NULL;
    n->exec_gate = o ? o->exec_gate : NULL;
    n->exec_gate_ctx = o ? o->exec_gate_ctx : NULL;
    n->net = o ? o->net : NULL;
    pthread_rwlock_init(&n->sel.lock, NULL);
    pthread_mutex_init(&n->net_mu, NULL);
    pthread_cond_init(&n->net_cv, NULL);
    node_genesis_headers(&n->params, n->genesis);
    address_of_pubkey(&n->genesis_creator, &n->genesis[0].creator);
    /* a final state fetched from a peer replaces ours before anything opens it */
    weft_err e = node_adopt_import(repo, &n->params, err, errcap);
    if (e) {
        pthread_rwlock_destroy(&n->sel.lock);
        pthread_cond_destroy(&n->net_cv);
        pthread_mutex_destroy(&n->net_mu);
        free(n);
        return e;
    }
    e = pos_selector_new(&n->sel.s, &n->params, repo->genesis.rolls, repo->genesis.roll_count, 8);
    const char *what = "selector";
    if (!e) {
        /* sized for the pool's capacity: the signatures of the operations waiting in it are
         * looked up when their blocks arrive (sigcache.h) */
        what = "signature cache";
        pool_config pc;
        node_pool_config(n, &pc);
        e = nsigcache_new(
            &n->sigs, nsigcache_bits_for((uint64_t)pc.max_ops_per_thread * n->params.thread_count));
    }
    if (!e) {
        what = "verification workers";
        e = npar_new(&n->par, npar_default_workers());
    }
    actor_system_config sc = {
        .clock = n->clock,
        .on_fatal = on_fatal,
        .on_fatal_ctx = n,
    };
    if (!e) {
        what = "actor system";
        e = actor_system_new(&n->sys, &sc);
    }
    /* dependency order: execution feeds the selector and serves the pool and consensus; the pool
     * serves the factory; consensus serves the factory */
    if (!e)
        e = exec_actor_add(n);
    if (!e)
        e = pool_actor_add(n);
    if (!e)
        e = cons_actor_add(n);
    if (!e)
        e = fact_actor_add(n);
    if (!e) {
        what = "actors";
        e = actor_system_start(n->sys);
    }
    if (e) {
        snprintf(err, errcap, "cannot start the node (%s): %s", what, weft_strerror(e));
        node_free(n);
        return e;
    }
    pool_actor_start_ticks(n->po);
    cons_actor_start_ticks(n->co);
    fact_actor_start_ticks(n->fa);
    *out = n;
    return WEFT_OK;
}

void node_stop(node_t *n)
{
    if (!n)
        return;
    atomic_store(&n->stop_requested, true); /* execution stops finalizing (docs/node.md) */
    actor_system_stop(n->sys);
    node_free(n);
}

void node_request_stop(node_t *n)
{
    if (atomic_exchange(&n->stop_requested, true))
        return;
    if (n->on_stop)
        n->on_stop(n->on_stop_ctx);
}

/* ---- status ---------------------------------------------------------------------------------- */

weft_err node_get_status(node_t *n, node_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->now_ms = node_now_ms(n);
    if (node_current_slot(n, &out->last_slot) == WEFT_OK) {
        out->has_slot = true;
        if (slot_next(&n->params, &out->next_slot, out->last_slot) != WEFT_OK)
            out->next_slot = out->last_slot;
        out->current_cycle = cycle_of_period(&n->params, out->last_slot.period);
    } else {
        out->next_slot = (slot_t){0, 0};
    }
    weft_err e = node_call(n->a_cons, MSG_CONS_STATUS, out);
    if (!e)
        e = node_call(n->a_exec, MSG_EXEC_STATUS, out);
    if (!e)
        e = node_call(n->a_pool, MSG_POOL_STATUS, out);
    if (!e)
        e = node_call(n->a_fact, MSG_FACT_STATUS, out);
    out->final_block_count = atomic_load(&n->final_blocks);
    out->stale_block_count = atomic_load(&n->stale_blocks);
    out->ops_final_executed = atomic_load(&n->ops_final);
    out->blocks_produced = atomic_load(&n->blocks_produced);
    out->endorsements_produced = atomic_load(&n->endorsements_produced);
    out->slots_undrawn = atomic_load(&n->slots_undrawn);
    nsigcache_stats(n->sigs, &out->op_sig_cache_hits, &out->op_sigs_verified);
    return e;
}

/* ---- operations ------------------------------------------------------------------------------ */

weft_err node_verify_operation(node_t *n, const signed_op_t *op)
{
    return nsigcache_verify(n->sigs, op);
}

/* One operation's signature, an item for npar (its result in results[i], never a stop). */
typedef struct op_sigs {
    node_t *n;
    signed_op_t *const *ops;
    weft_err *results;
} op_sigs;

static bool op_sig_item(void *ctx, size_t i)
{
    const op_sigs *s = ctx;
    s->results[i] = nsigcache_verify(s->n->sigs, s->ops[i]);
    return true;
}

void node_verify_operations(node_t *n, signed_op_t *const *ops, size_t count, weft_err *results)
{
    op_sigs os = {n, ops, results};
    (void)npar_all(n->par, count, op_sig_item, &os);
}

size_t node_check_operations(node_t *n, signed_op_t **ops, size_t count, weft_err *results,
                             uint64_t period)
{
    size_t kept = 0;
    node_verify_operations(n, ops, count, results); /* over the verification workers */
    for (size_t i = 0; i < count; i++) {
        if (!results[i] && ops[i]->op.expire_period < period)
            results[i] = WEFT_E_POOL_EXPIRED;
        if (results[i]) {
            signed_op_free(ops[i]);
            free(ops[i]);
            ops[i] = NULL;
        } else {
            kept++;
        }
    }
    return kept;
}

weft_err node_send_operations(node_t *n, signed_op_t **ops, size_t count, weft_err *results)
{
    uint64_t period = node_current_period(n);
    (void)node_check_operations(n, ops, count, results, period);
    nopsq q = {ops, count, results, period, {0, NULL, NULL}};
    weft_err e = pool_actor_admit(n, &q); /* balances from execution, then the pool */
    for (size_t i = 0; i < count; i++)
        if (ops[i]) { /* not admitted (the pool could not be asked) */
            signed_op_free(ops[i]);
            free(ops[i]);
            ops[i] = NULL;
            if (e && !results[i])
                results[i] = e;
        }
    return e == WEFT_E_TIMEOUT || e == WEFT_E_ACTOR_STOPPED ? e : WEFT_OK;
}

weft_err node_get_operation(node_t *n, const op_id_t *id, node_op_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->op.id = *id;
    weft_err e = node_call(n->a_pool, MSG_POOL_GET, out);
    if (!e)
        e = node_call(n->a_cons, MSG_CONS_OP_BLOCKS, out);
    if (!e) {
        e = node_call(n->a_exec, MSG_EXEC_OP_STATUS, out); /* keyed by out->op.id */
        if (out->spec_executed || out->final_executed)
            out->found = true;
    }
    if (e)
        node_op_info_free(out);
    return e;
}

void node_op_info_free(node_op_info_t *i)
{
    if (i->has_op)
        signed_op_free(&i->op);
    free(i->in_blocks);
    memset(i, 0, sizeof *i);
}

/* ---- addresses ------------------------------------------------------------------------------- */

weft_err node_get_address(node_t *n, const address_t *a, node_address_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->addr = *a;
    weft_err e = node_call(n->a_exec, MSG_EXEC_ADDRESS, out);
    if (e)
        node_address_info_free(out);
    return e;
}

static void free_keys(node_bytes_t *k, size_t n)
{
    for (size_t i = 0; k && i < n; i++)
        free(k[i].b);
    free(k);
}

void node_address_info_free(node_address_info_t *i)
{
    free_keys(i->final_keys, i->final_key_count);
    free_keys(i->candidate_keys, i->candidate_key_count);
    free(i->credits);
    free(i->draws);
    address_t a = i->addr;
    memset(i, 0, sizeof *i);
    i->addr = a;
}

weft_err node_get_datastore(node_t *n, const address_t *a, const uint8_t *key, size_t klen,
                            node_ds_value_t *out)
{
    memset(out, 0, sizeof *out);
    ndsq q = {*a, key, klen, false, out, NULL};
    weft_err e = node_call(n->a_exec, MSG_EXEC_DATASTORE, &q);
    if (e)
        node_ds_value_free(out);
    return e;
}

void node_ds_value_free(node_ds_value_t *v)
{
    free(v->final_value.b);
    free(v->candidate_value.b);
    memset(v, 0, sizeof *v);
}

weft_err node_get_bytecode(node_t *n, const address_t *a, bool final, node_bytes_t *out)
{
    memset(out, 0, sizeof *out);
    ndsq q = {*a, NULL, 0, final, NULL, out};
    return node_call(n->a_exec, MSG_EXEC_BYTECODE, &q);
}

/* ---- blocks ---------------------------------------------------------------------------------- */

weft_err node_get_block(node_t *n, const block_id_t *id, node_block_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = *id;
    weft_err e = node_call(n->a_cons, MSG_CONS_BLOCK_INFO, out);
    if (e)
        node_block_info_free(out);
    return e;
}

void node_block_info_free(node_block_info_t *b)
{
    free(b->op_ids);
    b->op_ids = NULL;
    b->op_count = 0;
}

weft_err node_blockclique_block_at(node_t *n, slot_t slot, block_id_t *out)
{
    if (slot.thread >= n->params.thread_count)
        return WEFT_E_RANGE;
    nbcq q = {slot, {{{0}}}};
    weft_err e = node_call(n->a_cons, MSG_CONS_BC_AT, &q);
    if (!e)
        *out = q.id;
    return e;
}

weft_err node_graph_interval(node_t *n, uint64_t start_ms, uint64_t end_ms,
                             node_graph_item_t **items, size_t *count)
{
    nintq q = {start_ms, end_ms, NULL, 0, 0};
    weft_err e = node_call(n->a_cons, MSG_CONS_INTERVAL, &q);
    if (e) {
        free(q.items);
        q.items = NULL;
        q.n = 0;
    }
    *items = q.items;
    *count = q.n;
    return e;
}

weft_err node_get_cliques(node_t *n, node_clique_t **cliques, size_t *count)
{
    ncliq q = {NULL, 0};
    weft_err e = node_call(n->a_cons, MSG_CONS_CLIQUES, &q);
    if (e) {
        node_cliques_free(q.v, q.n);
        q.v = NULL;
        q.n = 0;
    }
    *cliques = q.v;
    *count = q.n;
    return e;
}

void node_cliques_free(node_clique_t *c, size_t count)
{
    for (size_t i = 0; c && i < count; i++)
        free(c[i].ids);
    free(c);
}

weft_err node_get_stakers(node_t *n, pos_stake_t **out, size_t *count)
{
    nstakers q = {NULL, 0, 0};
    weft_err e = node_call(n->a_exec, MSG_EXEC_STAKERS, &q);
    if (e) {
        free(q.v);
        q.v = NULL;
        q.n = 0;
    }
    *out = q.v;
    *count = q.n;
    return e;
}

weft_err node_get_endorsement(node_t *n, const endorsement_id_t *id, node_endorsement_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->e.id = *id;
    weft_err e = node_call(n->a_cons, MSG_CONS_ENDO_BLOCKS, out);
    if (e)
        node_endorsement_info_free(out);
    return e;
}

void node_endorsement_info_free(node_endorsement_info_t *e)
{
    free(e->in_blocks);
    e->in_blocks = NULL;
    e->in_block_count = 0;
}

/* ---- events ---------------------------------------------------------------------------------- */

weft_err node_get_events(node_t *n, const node_event_filter *f, node_event_t **out, size_t *count)
{
    nevq q = {f, NULL, 0, 0};
    weft_err e = node_call(n->a_exec, MSG_EXEC_EVENTS, &q);
    if (e) {
        node_events_free(q.out, q.n);
        q.out = NULL;
        q.n = 0;
    }
    *out = q.out;
    *count = q.n;
    return e;
}

void node_events_free(node_event_t *e, size_t count)
{
    for (size_t i = 0; e && i < count; i++) {
        free(e[i].ev.call_stack);
        free(e[i].ev.data);
    }
    free(e);
}

/* ---- read-only execution --------------------------------------------------------------------- */

weft_err node_read_only(node_t *n, const node_read_only_t *in, node_read_only_result_t *out)
{
    memset(out, 0, sizeof *out);
    nroq q = {in, out};
    weft_err e = node_call(n->a_exec, MSG_EXEC_READ_ONLY, &q);
    if (e)
        node_read_only_result_free(out);
    return e;
}

void node_read_only_result_free(node_read_only_result_t *r)
{
    free(r->result.b);
    node_events_free(r->events, r->event_count);
    memset(r, 0, sizeof *r);
}

/* ---- private --------------------------------------------------------------------------------- */

void node_sign_message(node_t *n, const uint8_t *msg, size_t len, pubkey_t *pk, signature_t *sig)
{
    *pk = n->repo->node_key.pk;
    crypto_ed25519_sign(sig->b, n->repo->node_key.sk, msg, len);
}

weft_err node_staking_add(node_t *n, const keypair_t *keys, size_t count)
{
    nkeys q = {keys, count};
    return node_call(n->a_fact, MSG_FACT_STAKING_ADD, &q);
}

weft_err node_staking_remove(node_t *n, const address_t *addrs, size_t count)
{
    naddrs q = {addrs, count, NULL, 0};
    return node_call(n->a_fact, MSG_FACT_STAKING_DEL, &q);
}

weft_err node_staking_list(node_t *n, address_t **out, size_t *count)
{
    naddrs q = {NULL, 0, NULL, 0};
    weft_err e = node_call(n->a_fact, MSG_FACT_STAKING_LIST, &q);
    if (e) {
        free(q.out);
        q.out = NULL;
        q.out_n = 0;
    }
    *out = q.out;
    *count = q.out_n;
    return e;
}

/* ---- metrics --------------------------------------------------------------------------------- */

size_t node_actor_stats(node_t *n, node_actor_stat *out, size_t cap)
{
    actor_t *as[] = {n->a_exec, n->a_pool, n->a_cons, n->a_fact};
    size_t k = 0;
    for (size_t i = 0; i < WEFT_ARRAY_LEN(as) && k < cap; i++, k++) {
        out[k].name = actor_name(as[i]);
        out[k].mailbox_depth = actor_mailbox_depth(as[i]);
        out[k].restarts = actor_restarts(as[i]);
    }
    return k;
}
