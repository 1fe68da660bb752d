/* The factory actor: block and endorsement production for this node's staking keys (DESIGN §4.5).
 *
 * At every slot time S it produces the block of S if one of its keys is S's drawn producer (best
 * parents from consensus, endorsements of the same-thread parent and operations from the pool),
 * and endorses the slot t0/2 ahead (S + T/2 slots) for every endorsement index drawn to one of its
 * keys, endorsing the best block of that slot's thread.  Before a signed block or endorsement
 * leaves this actor its (slot, index) is recorded in the signing journal and synced
 * (journal_record); a slot already in the journal is never signed again, across restarts.
 *
 * Messages: MSG_FACT_TICK (timer), requests MSG_FACT_STAKING_* and MSG_FACT_STATUS. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

struct fact_actor {
    node_t *n;
    journal_t *j;
    keypair_t *keys;
    address_t *addrs;
    size_t nkeys;
    actor_timer_id tick;
    uint64_t undrawn_cycle; /* the last cycle told about as undrawn, + 1 (0: none) */
};

static int find_key(const fact_actor *a, const address_t *ad)
{
    for (size_t i = 0; i < a->nkeys; i++)
        if (address_eq(&a->addrs[i], ad))
            return (int)i;
    return -1;
}

static weft_err load_keys(fact_actor *a)
{
    const repo_t *r = a->n->repo;
    size_t n = r->staking_count;
    keypair_t *k = calloc(n ? n : 1, sizeof *k);
    address_t *ad = calloc(n ? n : 1, sizeof *ad);
    if (!k || !ad) {
        free(k);
        free(ad);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        k[i] = r->staking_keys[i];
        address_of_pubkey(&ad[i], &k[i].pk);
    }
    a->keys = k;
    a->addrs = ad;
    a->nkeys = n;
    return WEFT_OK;
}

static void drop_keys(fact_actor *a)
{
    for (size_t i = 0; i < a->nkeys; i++)
        keypair_wipe(&a->keys[i]);
    free(a->keys);
    free(a->addrs);
    a->keys = NULL;
    a->addrs = NULL;
    a->nkeys = 0;
}

static void produce(fact_actor *a, slot_t s)
{
    node_t *n = a->n;
    address_t prod;
    weft_err e = nsel_producer(&n->sel, s, &prod);
    if (e == WEFT_E_POS_CYCLE_UNAVAILABLE) { /* finality lags: said once per cycle */
        atomic_fetch_add(&n->slots_undrawn, 1);
        uint64_t c = cycle_of_period(&n->params, s.period);
        if (a->undrawn_cycle != c + 1) {
            a->undrawn_cycle = c + 1;
            log_warn("factory", "not producing: the draws of this cycle are not known",
                     "slot=%llu:%u cycle=%llu needs=cycle %llu final", (unsigned long long)s.period,
                     s.thread, (unsigned long long)c, (unsigned long long)(c >= 2 ? c - 2 : 0));
        }
    }
    if (e)
        return;
    int k = find_key(a, &prod);
    if (k < 0 || journal_has(a->j, JOURNAL_BLOCK, s, 0))
        return;
    nparents q;
    memset(&q, 0, sizeof q);
    q.slot = s;
    weft_err err = node_call(n->a_cons, MSG_CONS_PARENTS, &q);
    if (err || !q.ok) {
        log_warn("factory", "no parents for a block", "period=%llu thread=%u err=%s",
                 (unsigned long long)s.period, s.thread, weft_err_name(err));
        return;
    }
    nselq sq;
    memset(&sq, 0, sizeof sq);
    sq.slot = s;
    sq.endorsed = q.parents[s.thread];
    sq.limits.max_bytes = n->params.max_block_size;
    sq.limits.max_ops = n->params.max_operations_per_block;
    sq.limits.max_gas = EXEC_DEFAULT_MAX_BLOCK_GAS;
    err = node_call(n->a_pool, MSG_POOL_SELECT, &sq); /* never waits for execution */
    if (err) {
        /* an empty block is always safe to build */
        log_warn("factory", "pool selection failed", "err=%s", weft_err_name(err));
        sq.op_count = 0;
        sq.endo_count = 0;
    }
    block_header_t h;
    memset(&h, 0, sizeof h);
    h.version = HEADER_VERSION;
    h.slot = s;
    h.parent_count = n->params.thread_count;
    memcpy(h.parents, q.parents, sizeof(block_id_t) * n->params.thread_count);
    op_id_t *ids = malloc((sq.op_count ? sq.op_count : 1) * sizeof *ids);
    if (!ids) {
        for (uint32_t i = 0; i < sq.op_count; i++)
            signed_op_free(&sq.ops[i]);
        free(sq.ops);
        return;
    }
    for (uint32_t i = 0; i < sq.op_count; i++)
        ids[i] = sq.ops[i].id;
    block_ops_hash(&h.ops_hash, ids, sq.op_count);
    free(ids);
    h.endorsement_count = sq.endo_count;
    memcpy(h.endorsements, sq.endo, sq.endo_count * sizeof(endorsement_t));
    header_sign(&h, &a->keys[k]);
    nblock *b;
    err = nblock_new(&b, &h, sq.ops, sq.op_count, q.parent_periods);
    if (err) {
        log_error("factory", "cannot build block", "err=%s", weft_err_name(err));
        return;
    }
    /* the journal first: only then may the signed block leave this actor */
    err = journal_record(a->j, JOURNAL_BLOCK, s, 0);
    if (err) {
        log_error("factory", "journal refused the block; not sending it", "err=%s",
                  weft_err_name(err));
        nblock_unref(b);
        return;
    }
    atomic_fetch_add(&n->blocks_produced, 1);
    log_debug("factory", "block produced", "period=%llu thread=%u ops=%u endorsements=%u",
              (unsigned long long)s.period, s.thread, sq.op_count, sq.endo_count);
    if (actor_send(n->a_cons, MSG_CONS_BLOCK, b, nblock_free_fn, ACTOR_SEND_BLOCK) != WEFT_OK)
        log_warn("factory", "consensus stopped: block not delivered", NULL);
}

static void endorse(fact_actor *a, slot_t s)
{
    node_t *n = a->n;
    address_t e[MODEL_MAX_ENDORSEMENTS];
    if (nsel_endorsers(&n->sel, s, e) != WEFT_OK)
        return;
    endorsement_t ens[MODEL_MAX_ENDORSEMENTS];
    uint32_t idx[MODEL_MAX_ENDORSEMENTS];
    size_t k = 0;
    nparents q;
    bool have_parents = false;
    for (uint32_t i = 0; i < n->params.endorsement_count; i++) {
        int key = find_key(a, &e[i]);
        if (key < 0 || journal_has(a->j, JOURNAL_ENDORSEMENT, s, i))
            continue;
        if (!have_parents) {
            memset(&q, 0, sizeof q);
            q.slot = s;
            if (node_call(n->a_cons, MSG_CONS_PARENTS, &q) != WEFT_OK || !q.ok)
                return;
            have_parents = true;
        }
        endorsement_t *en = &ens[k];
        memset(en, 0, sizeof *en);
        en->slot = s;
        en->index = i;
        en->endorsed = q.parents[s.thread];
        endorsement_sign(en, &a->keys[key]);
        idx[k++] = i;
    }
    if (!k)
        return;
    /* one journal write and sync for all of this slot's endorsements, before any leaves */
    weft_err err = journal_record_many(a->j, JOURNAL_ENDORSEMENT, s, idx, k);
    if (err) {
        log_error("factory", "journal refused the endorsements; not sending them", "err=%s",
                  weft_err_name(err));
        return;
    }
    atomic_fetch_add(&n->endorsements_produced, k);
    for (size_t i = 0; i < k; i++) {
        endorsement_t *en = malloc(sizeof *en);
        if (!en)
            return;
        *en = ens[i];
        if (actor_send(n->a_pool, MSG_POOL_ADD_ENDO, en, free, ACTOR_SEND_DROP) != WEFT_OK)
            log_debug("factory", "pool busy: endorsement dropped", NULL);
    }
}

static void arm_tick(fact_actor *a)
{
    a->tick = node_timer_next_slot(a->n, a->n->a_fact, MSG_FACT_TICK);
}

static void on_tick(fact_actor *a)
{
    node_t *n = a->n;
    slot_t now;
    if (a->nkeys && node_current_slot(n, &now) == WEFT_OK && now.period > 0) {
        /* endorse the slot t0/2 ahead (T/2 slots later) first: the endorsements go out on time
         * even when building the block waits for the other actors */
        slot_t s = now;
        bool ok = true;
        for (uint32_t i = 0; ok && i < n->params.thread_count / 2; i++)
            ok = slot_next(&n->params, &s, s) == WEFT_OK;
        if (n->params.thread_count == 1)
            ok = slot_next(&n->params, &s, s) == WEFT_OK;
        if (ok)
            endorse(a, s);
        produce(a, now);
    }
    arm_tick(a);
}

static weft_err fa_start(void *ctx, actor_t *self)
{
    (void)self;
    fact_actor *a = ctx;
    char path[4096];
    weft_err err = repo_path(a->n->repo, "journal", path, sizeof path);
    journal_open_report rep = {0, 0};
    if (!err)
        err = journal_open(&a->j, path, &rep);
    if (!err)
        err = load_keys(a);
    if (err) {
        log_error("factory", "cannot start the factory", "err=%s", weft_err_name(err));
        journal_close(a->j);
        a->j = NULL;
        return err;
    }
    log_info("factory", "signing journal replayed", "records=%llu truncated_bytes=%llu keys=%zu",
             (unsigned long long)rep.records, (unsigned long long)rep.truncated_bytes, a->nkeys);
    if (a->tick) {
        (void)actor_timer_cancel(a->n->sys, a->tick);
        arm_tick(a);
    }
    return WEFT_OK;
}

static void fa_stop(void *ctx, actor_t *self)
{
    (void)self;
    fact_actor *a = ctx;
    journal_close(a->j);
    a->j = NULL;
    drop_keys(a);
}

static weft_err staking_add(fact_actor *a, nkeys *q)
{
    for (size_t i = 0; i < q->n; i++) {
        address_t ad;
        address_of_pubkey(&ad, &q->keys[i].pk);
        if (find_key(a, &ad) >= 0)
            continue;
        weft_err err = repo_staking_add(a->n->repo, &q->keys[i]);
        if (err)
            return err;
    }
    drop_keys(a);
    return load_keys(a);
}

static weft_err staking_del(fact_actor *a, naddrs *q)
{
    for (size_t i = 0; i < q->n; i++) {
        weft_err err = repo_staking_remove(a->n->repo, &q->addrs[i]);
        if (err && err != WEFT_E_NOT_FOUND)
            return err;
    }
    drop_keys(a);
    return load_keys(a);
}

static weft_err fa_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    (void)self;
    fact_actor *a = ctx;
    weft_err st = WEFT_OK;
    switch (m->kind) {
    case MSG_FACT_TICK:
        on_tick(a);
        return WEFT_OK;
    case MSG_FACT_STAKING_ADD:
        st = staking_add(a, m->payload);
        break;
    case MSG_FACT_STAKING_DEL:
        st = staking_del(a, m->payload);
        break;
    case MSG_FACT_STAKING_LIST: {
        naddrs *q = m->payload;
        q->out = malloc((a->nkeys ? a->nkeys : 1) * sizeof *q->out);
        if (!q->out)
            st = WEFT_E_NOMEM;
        else {
            memcpy(q->out, a->addrs, a->nkeys * sizeof *q->out);
            q->out_n = a->nkeys;
        }
        break;
    }
    case MSG_FACT_STATUS: {
        node_status_t *s = m->payload;
        s->staking_addresses = a->nkeys;
        break;
    }
    default:
        st = node_msg_unknown("factory", m);
        break;
    }
    node_msg_done(m, st);
    return WEFT_OK;
}

weft_err fact_actor_add(node_t *n)
{
    fact_actor *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->n = n;
    n->fa = a;
    actor_def d = {
        .name = "factory",
        .mailbox_cap = 64,
        .ctx = a,
        .start = fa_start,
        .handle = fa_handle,
        .stop = fa_stop,
    };
    return actor_system_add(n->sys, &d, &n->a_fact);
}

void fact_actor_start_ticks(fact_actor *a) { arm_tick(a); }

void fact_actor_free(fact_actor *a) { free(a); }
