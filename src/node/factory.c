/* The factory actor: block and endorsement production for this node's staking keys (DESIGN §4.5).
 *
 * At every slot time S it produces the block of S if one of its keys is S's drawn producer (best
 * parents from consensus, endorsements of the same-thread parent and operations from the pool),
 * and endorses the slot t0/2 ahead (S + T/2 slots) for every endorsement index drawn to one of its
 * keys, endorsing the best block of that slot's thread.
 *
 * Reservations ahead: nothing is signed unless its (kind, slot, index) is in the signing journal,
 * synced.  Instead of one sync per block and per slot's endorsements, one journal append and sync
 * (journal_append) reserves every signature this node's keys are drawn for in a window ahead —
 * the blocks of the slots whose start lies within FACT_RESERVE_MS of S's start, from S on, and
 * the endorsements of the same span from S + T/2 slots on (only as far as the draws are known) —
 * and the factory remembers in memory which reserved (kind, slot, index) this run has not used.
 * A (kind, slot, index) found in the journal is never signed, except one reserved by this run
 * and not used yet, which is used at most once.  A new reservation is made after the slot's work
 * once less than half a window is reserved ahead (before it, if the slot itself is not covered,
 * or after keys were added), so a steady state costs one sync per half window instead of one or
 * two per slot.  The trade: after a restart (or a restart of this actor) the in-memory set is
 * empty, so every reserved-but-unused signature is lost, never made twice — a crash costs at
 * most the slots of one window (blocks and endorsements this node would have made in them).
 *
 * Messages: MSG_FACT_TICK (timer), requests MSG_FACT_STAKING_* and MSG_FACT_STATUS. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

/* The reservation window: the slots whose start lies within this much slot time of the current
 * slot's (at least that slot) are reserved in one journal sync. */
#define FACT_RESERVE_MS UINT64_C(1000)

struct fact_actor {
    node_t *n;
    journal_t *j;
    keypair_t *keys;
    address_t *addrs;
    size_t nkeys;
    actor_timer_id tick;
    /* reserved by this run (in the journal, synced) and not signed yet; each used at most once */
    journal_entry *unused;
    size_t nunused, capunused;
    /* the first block slot and the first endorsement slot the last reservation did not cover */
    bool reserved;
    slot_t blk_end, endo_end;
    bool keys_added; /* keys added since the last reservation: reserve before signing */
    uint64_t syncs;  /* journal syncs of the earlier runs of this actor (node_status_t) */
    /* the last period for which a skipped slot was logged (one line per period and reason) */
    uint64_t skip_logged[2];
};

/* Says, once per period and reason, why the factory does not produce at slot s: 0 the draws of
 * s's cycle are not known (execution's final state is too far behind: the node cannot produce
 * until its finality catches up), 1 drawn to a key of this node but not reserved by this run
 * (signed or reserved before a restart, or a failed reservation). */
static void skip_log(fact_actor *a, int why, slot_t s)
{
    if (a->skip_logged[why] == s.period + 1)
        return;
    a->skip_logged[why] = s.period + 1;
    log_info("factory", why == 0 ? "not producing: draws not known" : "drawn slot not reserved",
             "period=%llu thread=%u", (unsigned long long)s.period, s.thread);
}

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

/* ---- reservations ahead ---------------------------------------------------------------------- */

static size_t unused_find(const fact_actor *a, journal_kind kind, slot_t s, uint32_t index)
{
    for (size_t i = 0; i < a->nunused; i++) {
        const journal_entry *e = &a->unused[i];
        if (e->kind == kind && e->index == index && slot_cmp(e->slot, s) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* Takes (kind, s, index) out of the reserved-and-unused set: true if this run reserved it and
 * has not used it, and then it may be signed (once). */
static bool unused_take(fact_actor *a, journal_kind kind, slot_t s, uint32_t index)
{
    size_t i = unused_find(a, kind, s, index);
    if (i == SIZE_MAX)
        return false;
    a->unused[i] = a->unused[--a->nunused];
    return true;
}

/* Forgets the reservations of slots the factory will not sign any more (blocks before `now`,
 * endorsements before `es`): they stay in the journal, unused. */
static void unused_prune(fact_actor *a, slot_t now, slot_t es)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nunused; i++) {
        const journal_entry *e = &a->unused[i];
        if (slot_cmp(e->slot, e->kind == JOURNAL_BLOCK ? now : es) >= 0)
            a->unused[k++] = *e;
    }
    a->nunused = k;
}

static void unused_clear(fact_actor *a)
{
    free(a->unused);
    a->unused = NULL;
    a->nunused = a->capunused = 0;
    a->reserved = false;
}

/* Adds to e[*n] the signature (kind, s, index) unless the journal has it (signed or reserved). */
static void want(fact_actor *a, journal_entry *e, size_t *n, journal_kind kind, slot_t s,
                 uint32_t index)
{
    if (!journal_has(a->j, kind, s, index))
        e[(*n)++] = (journal_entry){kind, s, index};
}

/* Collects the signatures of this node's keys from slot `from` over the window into e (room for
 * JOURNAL_MAX_APPEND), as far as the draws are known; *end is the first slot not covered. */
static void collect(fact_actor *a, journal_kind kind, slot_t from, journal_entry *e, size_t *n,
                    slot_t *end)
{
    node_t *n_ = a->n;
    const model_params *p = &n_->params;
    uint64_t t0, t;
    slot_t s = from;
    *end = from;
    if (slot_time(p, &t0, from) != WEFT_OK)
        return;
    size_t per_slot = kind == JOURNAL_BLOCK ? 1 : p->endorsement_count;
    for (;;) {
        if (slot_time(p, &t, s) != WEFT_OK || (slot_cmp(s, from) > 0 && t - t0 >= FACT_RESERVE_MS))
            break;
        if (*n + per_slot > JOURNAL_MAX_APPEND)
            break;
        if (kind == JOURNAL_BLOCK) {
            address_t prod;
            if (nsel_producer(&n_->sel, s, &prod) != WEFT_OK)
                break; /* not drawn yet: a later reservation covers it */
            if (find_key(a, &prod) >= 0)
                want(a, e, n, kind, s, 0);
        } else {
            address_t d[MODEL_MAX_ENDORSEMENTS];
            if (nsel_endorsers(&n_->sel, s, d) != WEFT_OK)
                break;
            for (uint32_t i = 0; i < p->endorsement_count; i++)
                if (find_key(a, &d[i]) >= 0)
                    want(a, e, n, kind, s, i);
        }
        if (slot_next(p, &s, s) != WEFT_OK)
            break;
        *end = s;
    }
}

/* Reserves, in one journal append and sync, every signature of this node's keys in the window
 * ahead of block slot `now` and endorsement slot `es` that the journal does not hold yet. */
static void reserve_ahead(fact_actor *a, slot_t now, slot_t es)
{
    unused_prune(a, now, es);
    journal_entry *e = malloc(JOURNAL_MAX_APPEND * sizeof *e);
    if (!e) {
        log_error("factory", "no memory for a reservation", NULL);
        return;
    }
    size_t n = 0;
    slot_t blk_end, endo_end;
    collect(a, JOURNAL_BLOCK, now, e, &n, &blk_end);
    collect(a, JOURNAL_ENDORSEMENT, es, e, &n, &endo_end);
    if (n && a->nunused + n > a->capunused) {
        size_t cap = a->capunused ? a->capunused : 64;
        while (cap < a->nunused + n)
            cap *= 2;
        journal_entry *u = realloc(a->unused, cap * sizeof *u);
        if (!u) {
            log_error("factory", "no memory for a reservation", NULL);
            free(e);
            return;
        }
        a->unused = u;
        a->capunused = cap;
    }
    weft_err err = journal_append(a->j, e, n);
    if (err) {
        log_error("factory", "journal refused a reservation; not signing its slots", "err=%s",
                  weft_err_name(err));
        free(e);
        return;
    }
    if (n) /* a->unused is NULL until the first reservation that holds something */
        memcpy(a->unused + a->nunused, e, n * sizeof *e);
    a->nunused += n;
    free(e);
    a->reserved = true;
    a->blk_end = blk_end;
    a->endo_end = endo_end;
    a->keys_added = false;
    log_debug("factory", "signatures reserved", "records=%zu until_period=%llu until_thread=%u", n,
              (unsigned long long)blk_end.period, blk_end.thread);
}

/* True when less than `ms` of slot time is reserved ahead of `from` (reservation end `end`). */
static bool short_of(const fact_actor *a, slot_t from, slot_t end, uint64_t ms)
{
    const model_params *p = &a->n->params;
    uint64_t t0, t;
    if (slot_time(p, &t0, from) != WEFT_OK || slot_time(p, &t, end) != WEFT_OK)
        return true;
    return t < t0 || t - t0 < ms;
}

/* ---- production ------------------------------------------------------------------------------ */

static void produce(fact_actor *a, slot_t s)
{
    node_t *n = a->n;
    address_t prod;
    if (nsel_producer(&n->sel, s, &prod) != WEFT_OK) {
        skip_log(a, 0, s);
        return;
    }
    int k = find_key(a, &prod);
    if (k < 0)
        return;
    if (unused_find(a, JOURNAL_BLOCK, s, 0) == SIZE_MAX) {
        skip_log(a, 1, s); /* signed before, or not reserved (a reservation failed) */
        return;
    }
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
    /* reserved (in the journal, synced) by this run and not used: used now, once */
    bool took = unused_take(a, JOURNAL_BLOCK, s, 0);
    WEFT_ASSERT(took);
    header_sign(&h, &a->keys[k]);
    nblock *b;
    err = nblock_new(&b, &h, sq.ops, sq.op_count, q.parent_periods);
    if (err) {
        log_error("factory", "cannot build block", "err=%s", weft_err_name(err));
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
    size_t k = 0;
    nparents q;
    bool have_parents = false;
    for (uint32_t i = 0; i < n->params.endorsement_count; i++) {
        int key = find_key(a, &e[i]);
        if (key < 0 || unused_find(a, JOURNAL_ENDORSEMENT, s, i) == SIZE_MAX)
            continue; /* not ours, signed before, or not reserved */
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
        /* reserved (in the journal, synced) by this run and not used: used now, once */
        bool took = unused_take(a, JOURNAL_ENDORSEMENT, s, i);
        WEFT_ASSERT(took);
        endorsement_sign(en, &a->keys[key]);
        k++;
    }
    if (!k)
        return;
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
        /* this slot's signatures not covered (the first tick, draws that were not known, a
         * failed reservation, new keys): reserve before signing */
        if (ok && (!a->reserved || a->keys_added || slot_cmp(a->blk_end, now) <= 0 ||
                   slot_cmp(a->endo_end, s) <= 0))
            reserve_ahead(a, now, s);
        if (ok)
            endorse(a, s);
        produce(a, now);
        /* less than half a window reserved ahead: the next reservation, after this slot's work
         * left, so that its sync delays nothing signed now */
        if (ok && (short_of(a, now, a->blk_end, FACT_RESERVE_MS / 2) ||
                   short_of(a, s, a->endo_end, FACT_RESERVE_MS / 2)))
            reserve_ahead(a, now, s);
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
    /* reservations of an earlier run (or of this actor before a restart) are never used */
    unused_clear(a);
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
    if (a->j)
        a->syncs += journal_syncs(a->j);
    journal_close(a->j);
    a->j = NULL;
    unused_clear(a);
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
    a->keys_added = true; /* reserved at the next tick, before it signs */
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
        s->journal_syncs = a->syncs + (a->j ? journal_syncs(a->j) : 0);
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

void fact_actor_free(fact_actor *a)
{
    if (a)
        unused_clear(a);
    free(a);
}
