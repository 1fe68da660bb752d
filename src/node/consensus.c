/* The consensus actor: owns the block graph (src/graph) and the block log (src/blocklog).  It
 * checks incoming blocks against the selector's draws and their signatures, gives them to the
 * graph and logs each durably with the final blocks it brought (one transaction) before anything
 * hears of it, ticks the graph at every slot time, records final blocks in the log (the
 * per-thread final head moves with them), and sends execution, after every change, the
 * slots that became final and the blockclique content from execution's final cursor on.
 *
 * Restart: the graph is rebuilt from the block log — the final blocks of the last periods (the
 * final frontier, graph_new_from), then every pending block in slot order — without asking peers.
 *
 * The network (docs/node.md "Network"): blocks from peers arrive one-way (MSG_CONS_NET_BLOCK,
 * checked for everything but the graph, draws included: the network does not wait for consensus)
 * and take the factory's path from the draws check on; the graph's outputs are reported to the
 * network sink (newly pending blocks, invalid blocks, missing parents); peers' queries (blocks,
 * operations of blocks in memory through an operation index, status, final ranges) are answered
 * from memory or the block log.
 *
 * Messages: MSG_CONS_BLOCK and MSG_CONS_NET_BLOCK (one-way, BLOCK: a block is never dropped by
 * back-pressure), MSG_CONS_TICK (timer), requests MSG_CONS_PARENTS/_STATUS/_BLOCK_INFO/_BC_AT/
 * _INTERVAL/_CLIQUES/_OP_BLOCKS/_ENDO_BLOCKS and MSG_CONS_NET_HAS/_GET/_OPS/_STATUS/_RANGE. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "nmap.h"
#include "node_internal.h"

/* Final blocks kept in memory beyond execution's final cursor, in periods (parents of new blocks
 * and queries of recent blocks are served from memory). */
#define KEEP_FINAL_PERIODS 16
/* At most this many slots of blockclique are sent to execution in one update. */
#define MAX_UPDATE_SLOTS 8192

struct cons_actor {
    node_t *n;
    graph *g;
    blocklog_t *log;
    nmap blocks; /* id → nblock* (owned reference): graph blocks and recent final blocks */
    nmap finals; /* slot key → nblock* (borrowed from blocks): final blocks not yet executed */
    nmap ops;    /* op id → signed_op_t* (borrowed, inside a block of `blocks`): for peers */
    bool has_now;
    slot_t now;
    actor_timer_id tick;
    uint64_t next_log_period; /* the first period without its "period" line yet */
    uint64_t last_prune_period;
    bool pool_stale; /* the last report to the pool was lost (notify_pool) */
};

static const uint8_t *idk(const block_id_t *id) { return id->h.b; }

static nblock *get_block(cons_actor *a, const block_id_t *id)
{
    return nmap_get(&a->blocks, idk(id));
}

/* Keeps b in memory (takes the caller's reference, also on error) and indexes its operations
 * (best effort: an operation left out of the index is only not served to peers). */
static weft_err keep_block(cons_actor *a, nblock *b)
{
    weft_err err = nmap_put(&a->blocks, idk(&b->b.header.id), b);
    if (err) {
        nblock_unref(b);
        return err;
    }
    for (uint32_t i = 0; i < b->b.op_count; i++)
        if (!nmap_get(&a->ops, b->ops[i].id.h.b) &&
            nmap_put(&a->ops, b->ops[i].id.h.b, &b->ops[i]) != WEFT_OK)
            break;
    return WEFT_OK;
}

static void forget_block(cons_actor *a, const block_id_t *id)
{
    nblock *b = nmap_del(&a->blocks, idk(id));
    if (b) {
        uint8_t k[NMAP_KEY];
        nmap_slot_key(k, b->b.header.slot);
        if (nmap_get(&a->finals, k) == b)
            nmap_del(&a->finals, k);
        for (uint32_t i = 0; i < b->b.op_count; i++)
            if (nmap_get(&a->ops, b->ops[i].id.h.b) == &b->ops[i])
                nmap_del(&a->ops, b->ops[i].id.h.b);
        nblock_unref(b);
    }
}

/* The blockclique's pending blocks: *n ids in a new array (NULL on allocation failure, *n 0). */
static block_id_t *bc_ids(cons_actor *a, size_t *n)
{
    size_t nbc = graph_clique_count(a->g) ? graph_clique_blocks(a->g, 0, NULL, 0) : 0;
    block_id_t *v = malloc((nbc ? nbc : 1) * sizeof *v);
    *n = v && nbc ? graph_clique_blocks(a->g, 0, v, nbc) : 0;
    return v;
}

static weft_err clock_slot(cons_actor *a, slot_t *out) { return node_current_slot(a->n, out); }

/* ---- execution updates ----------------------------------------------------------------------- */

/* The creator of a block that is not in memory, from its block log record (header only).  The
 * endorsed block of a block execution has yet to run is normally in memory (prune_memory keeps
 * the latest executed final block of every thread, the start loads them); this is the fallback
 * — an E_STATE here stopped a node that synced (its consensus actor restarted until its budget
 * was spent). */
static weft_err endorsed_creator_from_log(cons_actor *a, const block_id_t *id, address_t *out)
{
    slot_t s;
    blocklog_status ls;
    uint8_t *rec;
    size_t len;
    weft_err err = blocklog_get(a->log, id, &s, &ls, &rec, &len);
    if (err) {
        char ids[MODEL_STR_MAX];
        block_id_to_str(ids, id);
        log_error("consensus", "endorsed block neither in memory nor in the block log",
                  "id=%s err=%s", ids, weft_err_name(err));
        return err == WEFT_E_NOT_FOUND ? WEFT_E_STATE : err;
    }
    block_header_t *h = malloc(sizeof *h); /* a header is large: not on the stack */
    if (!h) {
        free(rec);
        return WEFT_E_NOMEM;
    }
    rd_t r;
    rd_init(&r, rec, len);
    header_read(&r, &a->n->params, h);
    err = rd_err(&r) ? WEFT_E_CORRUPT : WEFT_OK;
    if (!err && !block_id_eq(&h->id, id))
        err = WEFT_E_CORRUPT;
    if (!err)
        address_of_pubkey(out, &h->creator);
    free(h);
    free(rec);
    return err;
}

static weft_err fill_exec_block(cons_actor *a, exec_block *eb, nblock *b)
{
    const block_header_t *h = &b->b.header;
    eb->id = h->id;
    eb->creator = b->creator;
    eb->op_count = b->b.op_count;
    eb->ops = b->op_ptrs; /* the update holds a reference to b */
    eb->endorsement_count = h->endorsement_count;
    memcpy(eb->endorsers, b->endorsers, h->endorsement_count * sizeof *eb->endorsers);
    memset(&eb->endorsed_creator, 0, sizeof eb->endorsed_creator);
    if (h->parent_count) {
        const block_id_t *pid = &h->parents[h->slot.thread];
        nblock *par = get_block(a, pid);
        if (par)
            eb->endorsed_creator = par->creator;
        else if (h->endorsement_count) /* only then does execution need it */
            return endorsed_creator_from_log(a, pid, &eb->endorsed_creator);
    }
    return WEFT_OK;
}

/* The latest final period of each thread. */
static void final_periods(cons_actor *a, uint64_t *lfp)
{
    for (uint32_t t = 0; t < a->n->params.thread_count; t++) {
        slot_t s;
        graph_latest_final(a->g, t, NULL, &s);
        lfp[t] = s.period;
    }
}

/* Room for entry n in one half of an update (slots, their blocks, their block references): the
 * arrays grow by doubling up to max entries, so that an update costs what it carries — a node
 * catching up has up to MAX_UPDATE_SLOTS slots to now but sends far fewer (and an exec_block is
 * kilobytes).  Entries are not cleared: the caller sets each one it uses. */
static weft_err upd_grow(exec_slot_in **in, exec_block **blocks, nblock ***refs, size_t n,
                         size_t *cap, size_t max)
{
    if (n < *cap)
        return WEFT_OK;
    size_t nc = *cap ? 2 * *cap : 64;
    if (nc > max)
        nc = max;
    if (nc <= n)
        return WEFT_E_INVAL;
    exec_slot_in *x = realloc(*in, nc * sizeof *x);
    if (!x)
        return WEFT_E_NOMEM;
    *in = x;
    exec_block *y = realloc(*blocks, nc * sizeof *y);
    if (!y)
        return WEFT_E_NOMEM;
    *blocks = y;
    nblock **z = realloc(*refs, nc * sizeof *z);
    if (!z)
        return WEFT_E_NOMEM;
    *refs = z;
    *cap = nc;
    return WEFT_OK;
}

/* Reports to the pool the blocks whose operations no new block may include again (pool_actor.c,
 * clique_update): the blockclique's and the final blocks execution has not executed — all of
 * them each time.  Sent with every update, with DROP (consensus does not wait for the pool); a
 * lost report is sent again, waiting, before the factory is given its next parents, so that the
 * pool selects a block's operations knowing the blocks it builds on. */
static void notify_pool(cons_actor *a, bool wait)
{
    node_t *n = a->n;
    slot_t next;
    bool have_next = exec_actor_final_next(n->ex, &next);
    size_t nbc;
    block_id_t *bcids = bc_ids(a, &nbc);
    nblocks *x = calloc(1, sizeof *x);
    if (x)
        x->b = malloc((nbc + a->finals.count + 1) * sizeof *x->b);
    if (!bcids || !x || !x->b) {
        free(bcids);
        nblocks_free(x);
        a->pool_stale = true;
        return;
    }
    for (size_t i = 0; i < nbc; i++) {
        nblock *b = get_block(a, &bcids[i]);
        if (b)
            x->b[x->n++] = nblock_ref(b);
    }
    free(bcids);
    for (size_t i = 0; i < a->finals.cap; i++) {
        nblock *b = a->finals.e[i].v;
        if (b && (!have_next || slot_cmp(b->b.header.slot, next) >= 0))
            x->b[x->n++] = nblock_ref(b);
    }
    a->pool_stale = actor_send(n->a_pool, MSG_POOL_CLIQUE, x, nblocks_free,
                               wait ? ACTOR_SEND_BLOCK : ACTOR_SEND_DROP) != WEFT_OK;
}

/* Builds and sends one update: slots execution can finalize, then the blockclique up to now. */
static weft_err send_update(cons_actor *a)
{
    node_t *n = a->n;
    const model_params *p = &n->params;
    slot_t s;
    notify_pool(a, false);
    if (!a->has_now || !exec_actor_final_next(n->ex, &s))
        return WEFT_OK;
    uint64_t lfp[MODEL_MAX_THREADS];
    final_periods(a, lfp);
    /* the blockclique's blocks by slot */
    size_t nbc;
    block_id_t *bcids = bc_ids(a, &nbc);
    nupdate *u = calloc(1, sizeof *u);
    nmap bcmap;
    nmap_init(&bcmap, 7);
    weft_err err = (bcids && u) ? WEFT_OK : WEFT_E_NOMEM;
    for (size_t i = 0; !err && i < nbc; i++) {
        nblock *b = get_block(a, &bcids[i]);
        if (!b)
            continue;
        uint8_t k[NMAP_KEY];
        nmap_slot_key(k, b->b.header.slot);
        err = nmap_put(&bcmap, k, b);
    }
    /* Speculative slots end one period after the latest blockclique block, not at the clock's
     * slot: a node catching up (sync) has its blocks far behind the clock, and every block it
     * takes would have execution re-run every empty slot after it up to now — each over the
     * diffs of all the speculative slots before it (quadratic), which stalled execution, and
     * consensus waiting to send it updates, for minutes.  Live, the latest block is within a
     * slot or two of the clock: nothing changes. */
    slot_t spec_end = {0, 0};
    bool have_last = false;
    for (size_t i = 0; !err && i < nbc; i++) {
        nblock *b = get_block(a, &bcids[i]);
        if (b && (!have_last || slot_cmp(b->b.header.slot, spec_end) > 0)) {
            spec_end = b->b.header.slot;
            have_last = true;
        }
    }
    /* A node more than a period behind (catching up) stops at the latest block itself: each
     * block it takes extends the blockclique by one slot, and the trailing period of empty slots
     * was truncated and executed again for every block — 32 slots each, among them the first slot
     * of a period with its executed-operation pruning.  Speculative state only: final results do
     * not depend on it. */
    if (have_last) {
        slot_t live = spec_end;
        live.period++;
        if (slot_cmp(live, a->now) >= 0)
            spec_end = live;
    }
    size_t cap = 0, cap_fin = 0, cap_bc = 0;
    if (!err && slot_cmp(s, a->now) <= 0) {
        uint64_t i0, i1;
        if (slot_index(p, &i0, s) == WEFT_OK && slot_index(p, &i1, a->now) == WEFT_OK)
            cap = (size_t)(i1 - i0 + 1);
        if (cap > MAX_UPDATE_SLOTS)
            cap = MAX_UPDATE_SLOTS;
    }
    bool finalizing = true;
    for (size_t i = 0; !err && i < cap; i++) {
        address_t prod;
        if (nsel_producer(&n->sel, s, &prod) != WEFT_OK)
            break; /* draws not known yet: the next update goes further */
        bool determined = s.period <= lfp[s.thread];
        if (!determined)
            finalizing = false;
        if (!finalizing && have_last && slot_cmp(s, spec_end) > 0)
            break;
        uint8_t k[NMAP_KEY];
        nmap_slot_key(k, s);
        nblock *b = determined ? nmap_get(&a->finals, k) : nmap_get(&bcmap, k);
        exec_slot_in **ins = finalizing ? &u->finalize : &u->bc;
        exec_block **ebs = finalizing ? &u->fin_blocks : &u->bc_blocks;
        nblock ***refs = finalizing ? &u->fin_refs : &u->bc_refs;
        size_t *cnt = finalizing ? &u->n_finalize : &u->n_bc;
        if ((err = upd_grow(ins, ebs, refs, *cnt, finalizing ? &cap_fin : &cap_bc, cap)))
            break;
        exec_slot_in *in = &(*ins)[*cnt];
        memset(in, 0, sizeof *in);
        in->slot = s;
        in->producer = prod;
        (*ebs)[*cnt].ops = NULL;
        (*refs)[*cnt] = NULL;
        if (b) {
            err = fill_exec_block(a, &(*ebs)[*cnt], b);
            (*refs)[*cnt] = nblock_ref(b);
        }
        (*cnt)++;
        if (slot_next(p, &s, s) != WEFT_OK)
            break;
    }
    /* the arrays may have moved while growing: the block pointers are set at the end */
    for (size_t i = 0; u && i < u->n_finalize; i++)
        u->finalize[i].block = u->fin_refs[i] ? &u->fin_blocks[i] : NULL;
    for (size_t i = 0; u && i < u->n_bc; i++)
        u->bc[i].block = u->bc_refs[i] ? &u->bc_blocks[i] : NULL;
    nmap_free(&bcmap);
    free(bcids);
    if (err) {
        nupdate_free(u);
        return err;
    }
    if (!u->n_finalize && !u->n_bc) {
        nupdate_free(u);
        return WEFT_OK;
    }
    return actor_send(n->a_exec, MSG_EXEC_UPDATE, u, nupdate_free, ACTOR_SEND_BLOCK);
}

/* Whether a block in memory is final: final in the graph, or forgotten by it (the graph prunes
 * its old final blocks; every other block in memory has a graph status). */
static bool is_final_in_memory(cons_actor *a, const nblock *b)
{
    graph_status st = graph_block_status(a->g, &b->b.header.id, NULL);
    return st == GRAPH_FINAL || st == GRAPH_UNKNOWN;
}

/* Drops final blocks execution has finalized and that are older than KEEP_FINAL_PERIODS — except,
 * in every thread, the latest one before execution's next slot: it is the endorsed block (the
 * same-thread parent) of the thread's next block, which execution still has to run (with a gap
 * in a thread, or execution far behind, it is older than any bound in periods). */
static void prune_memory(cons_actor *a)
{
    node_t *n = a->n;
    uint32_t T = n->params.thread_count;
    slot_t next;
    if (!exec_actor_final_next(n->ex, &next))
        return;
    uint64_t lfp[MODEL_MAX_THREADS];
    final_periods(a, lfp);
    uint64_t minp = UINT64_MAX;
    for (uint32_t t = 0; t < T; t++)
        if (lfp[t] < minp)
            minp = lfp[t];
    uint64_t keep_from = minp > KEEP_FINAL_PERIODS ? minp - KEEP_FINAL_PERIODS : 0;
    if (keep_from <= a->last_prune_period)
        return;
    a->last_prune_period = keep_from;
    /* the latest executed final block of each thread */
    nblock *keep[MODEL_MAX_THREADS] = {0};
    for (size_t i = 0; i < a->blocks.cap; i++) {
        nblock *b = a->blocks.e[i].v;
        if (!b)
            continue;
        slot_t bs = b->b.header.slot;
        if (slot_cmp(bs, next) >= 0 || bs.thread >= T || !is_final_in_memory(a, b))
            continue;
        if (!keep[bs.thread] || slot_cmp(bs, keep[bs.thread]->b.header.slot) > 0)
            keep[bs.thread] = b;
    }
    block_id_t *victims = NULL;
    size_t nv = 0, cv = 0;
    for (size_t i = 0; i < a->blocks.cap; i++) {
        nblock *b = a->blocks.e[i].v;
        if (!b)
            continue;
        slot_t bs = b->b.header.slot;
        if (bs.period >= keep_from || slot_cmp(bs, next) >= 0 ||
            (bs.thread < T && keep[bs.thread] == b) || !is_final_in_memory(a, b))
            continue;
        if (nv == cv) {
            size_t nc = cv ? cv * 2 : 64;
            block_id_t *x = realloc(victims, nc * sizeof *x);
            if (!x)
                break;
            victims = x;
            cv = nc;
        }
        victims[nv++] = b->b.header.id;
    }
    for (size_t i = 0; i < nv; i++)
        forget_block(a, &victims[i]);
    free(victims);
    /* block log retention, never past those blocks (nor when one is not known: a restart reloads
     * them, see load_endorsed) */
    uint64_t ret = n->repo->config.block_retention;
    if (ret != REPO_RETAIN_ALL && next.period > ret) {
        uint64_t below = next.period - ret;
        for (uint32_t t = 0; t < T; t++)
            if (!keep[t])
                below = 0;
            else if (keep[t]->b.header.slot.period < below)
                below = keep[t]->b.header.slot.period;
        size_t removed = 0;
        weft_err e = below ? blocklog_prune_final(a->log, below, &removed) : WEFT_OK;
        if (e)
            log_warn("consensus", "block log pruning failed", "err=%s", weft_err_name(e));
        else if (removed)
            log_debug("consensus", "final blocks pruned", "count=%zu", removed);
    }
}

/* A block to log with the graph's outputs (take_block): its id, slot and block log record. */
typedef struct log_rec {
    const block_id_t *id;
    slot_t slot;
    wr_t w;
} log_rec;

/* Writes the new block (rec, may be NULL) and the newly final blocks to the block log, in one
 * transaction. */
static weft_err log_outputs(cons_actor *a, const graph_outputs *o, const log_rec *rec)
{
    if (!o->n_final && !rec)
        return WEFT_OK;
    block_id_t *ids = malloc((o->n_final ? o->n_final : 1) * sizeof *ids);
    if (!ids)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < o->n_final; i++)
        ids[i] = o->final[i].id;
    weft_err err = rec ? blocklog_put_final(a->log, rec->id, rec->slot, rec->w.buf, rec->w.len, ids,
                                            o->n_final)
                       : blocklog_mark_final(a->log, ids, o->n_final);
    free(ids);
    if (err)
        log_error("consensus", rec ? "cannot log block" : "cannot record final blocks", "err=%s",
                  weft_err_name(err));
    return err;
}

/* Handles the graph's outputs: the new block (rec, or NULL) and the final blocks into the log
 * first, then the events for the network, stale/invalid/dropped blocks out of the log. */
static weft_err take_outputs(cons_actor *a, const log_rec *rec)
{
    const graph_outputs *o = graph_get_outputs(a->g);
    weft_err err = log_outputs(a, o, rec);
    if (err)
        return err;
    /* the network first hears of newly pending blocks (in the order they became pending: parents
     * before children), except those that already left the graph in the same update */
    for (size_t i = 0; i < o->n_pending; i++) {
        nblock *b = get_block(a, &o->pending[i].id);
        graph_status st = graph_block_status(a->g, &o->pending[i].id, NULL);
        if (b && st != GRAPH_STALE && st != GRAPH_INVALID)
            node_ev_block_pending(a->n, &b->b.header);
    }
    for (size_t i = 0; i < o->n_invalid; i++)
        node_ev_block_invalid(a->n, &o->invalid[i].id, o->invalid[i].reason);
    node_ev_blocks_missing(a->n, o->missing, o->n_missing);
    if (o->n_final) {
        for (size_t i = 0; i < o->n_final; i++) {
            nblock *b = get_block(a, &o->final[i].id);
            if (!b)
                continue;
            uint8_t k[NMAP_KEY];
            nmap_slot_key(k, b->b.header.slot);
            err = nmap_put(&a->finals, k, b);
            if (err)
                return err;
        }
        atomic_fetch_add(&a->n->final_blocks, o->n_final);
    }
    const graph_event *lists[3] = {o->stale, o->invalid, o->dropped};
    size_t counts[3] = {o->n_stale, o->n_invalid, o->n_dropped};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const graph_event *e = &lists[l][i];
            if (l < 2)
                log_info("consensus", l == 0 ? "block stale" : "block invalid",
                         "period=%llu thread=%u reason=%s", (unsigned long long)e->slot.period,
                         e->slot.thread, weft_err_name(e->reason));
            weft_err r = blocklog_remove(a->log, &e->id);
            if (r && r != WEFT_E_NOT_FOUND)
                log_warn("consensus", "cannot remove block from the log", "err=%s",
                         weft_err_name(r));
            forget_block(a, &e->id);
        }
    atomic_fetch_add(&a->n->stale_blocks, o->n_stale);
    graph_outputs_clear(a->g);
    return WEFT_OK;
}

/* ---- blocks ---------------------------------------------------------------------------------- */

static weft_err graph_take(cons_actor *a, nblock *b, unsigned flags)
{
    const block_header_t *h = &b->b.header;
    graph_block gb = {
        .id = h->id,
        .slot = h->slot,
        .fitness = 1 + (uint64_t)h->endorsement_count,
        .parent_count = h->parent_count,
        .parents = h->parents,
    };
    return graph_add(a->g, &gb, a->has_now ? &a->now : NULL, flags);
}

/* The period of a block this node holds: in memory, else in the block log. */
static bool known_period(cons_actor *a, const block_id_t *id, uint64_t *period)
{
    nblock *b = get_block(a, id);
    if (b) {
        *period = b->b.header.slot.period;
        return true;
    }
    slot_t s;
    blocklog_status st;
    uint8_t *rec;
    size_t len;
    if (blocklog_get(a->log, id, &s, &st, &rec, &len) != WEFT_OK)
        return false;
    free(rec);
    *period = s.period;
    return true;
}

/* Takes a block (consumes the reference): from the factory, or from a peer (from_net: checked by
 * node_net_block for everything but the graph, signatures and draws included).  Draws (again for
 * a peer's block), then the block log, then the graph and its outputs.  *verdict: why it was not
 * taken (nobody waits for it: a peer's block comes one-way, the graph's refusals are reported as
 * block_invalid); the return value is an error of this actor (the block log, memory), which
 * restarts it. */
static weft_err take_block(cons_actor *a, nblock *b, bool from_net, weft_err *verdict)
{
    const block_header_t *h = &b->b.header;
    *verdict = WEFT_OK;
    if (get_block(a, &h->id) || graph_block_status(a->g, &h->id, NULL) != GRAPH_UNKNOWN ||
        (from_net && blocklog_has(a->log, &h->id))) {
        nblock_unref(b);
        return WEFT_OK;
    }
    weft_err err = WEFT_OK;
    if (h->slot.thread >= a->n->params.thread_count)
        err = WEFT_E_NODE_BLOCK;
    if (!err && from_net) {
        /* a peer's block at or below its thread's final period is stale on arrival: not worth
         * a draws check (its cycle may be forgotten) nor a write to the log */
        slot_t lf;
        graph_latest_final(a->g, h->slot.thread, NULL, &lf);
        if (h->slot.period <= lf.period)
            err = WEFT_E_GRAPH_OLD_PERIOD;
    }
    if (!err)
        err = node_check_draws(a->n, b); /* again for a peer's block: cheap */
    if (!err && !from_net)
        err = header_verify(h);
    if (err) {
        *verdict = err == WEFT_E_POS_CYCLE_UNAVAILABLE ? WEFT_E_NODE_BLOCK_LATER : err;
        if (*verdict == WEFT_E_NODE_BLOCK || *verdict == WEFT_E_SIGNATURE)
            log_warn("consensus", "block refused", "period=%llu thread=%u err=%s net=%d",
                     (unsigned long long)h->slot.period, h->slot.thread, weft_err_name(*verdict),
                     from_net);
        else
            log_debug("consensus", "block not taken", "period=%llu thread=%u err=%s",
                      (unsigned long long)h->slot.period, h->slot.thread, weft_err_name(*verdict));
        nblock_unref(b);
        return WEFT_OK;
    }
    /* the periods of its parents, for the log (graph restart); 0 for a parent not known yet (a
     * peer's block may come before its parents: the start fixes the record, see load_final) */
    for (uint32_t t = 0; t < h->parent_count; t++)
        if (!known_period(a, &h->parents[t], &b->parent_periods[t]))
            b->parent_periods[t] = 0;
    /* The block is logged with what the graph made of it — the blocks it made final — in one
     * transaction (one commit, and sync, per block: on the path of every block a peer gives),
     * before anyone hears of it.  A crash in between loses only the graph in memory. */
    log_rec rec = {&h->id, h->slot, {0}};
    wr_init(&rec.w);
    err = nblock_encode(b, &rec.w);
    if (err) {
        log_error("consensus", "cannot log block", "err=%s", weft_err_name(err));
        wr_free(&rec.w);
        nblock_unref(b);
        return err;
    }
    err = keep_block(a, b);
    if (!err)
        err = graph_take(a, b, 0);
    if (err) {
        wr_free(&rec.w);
        if (err == WEFT_E_NOMEM)
            return err;
        log_info("consensus", "graph refused block", "period=%llu thread=%u err=%s",
                 (unsigned long long)h->slot.period, h->slot.thread, weft_err_name(err));
        forget_block(a, &h->id);
        *verdict = err;
        return WEFT_OK;
    }
    if (from_net && log_enabled(LOG_DEBUG)) { /* with the producer's "block produced": bench */
        char id[MODEL_STR_MAX];
        block_id_to_str(id, &h->id);
        log_debug("consensus", "block from a peer taken", "period=%llu thread=%u id=%s",
                  (unsigned long long)h->slot.period, h->slot.thread, id);
    }
    err = take_outputs(a, &rec);
    wr_free(&rec.w);
    if (!err)
        err = send_update(a);
    return err;
}

static weft_err on_block(cons_actor *a, nblock *b)
{
    weft_err verdict;
    return take_block(a, b, false, &verdict);
}

static void arm_tick(cons_actor *a)
{
    a->tick = node_timer_next_slot(a->n, a->n->a_cons, MSG_CONS_TICK);
}

static weft_err on_tick(cons_actor *a)
{
    slot_t now;
    weft_err err = WEFT_OK;
    if (clock_slot(a, &now) == WEFT_OK) {
        a->now = now;
        a->has_now = true;
        err = graph_tick(a->g, now);
        if (!err)
            err = take_outputs(a, NULL);
        if (!err)
            err = send_update(a);
        if (!err)
            prune_memory(a);
        /* the first tick of a period, not only thread 0's: a late tick (a starved machine)
         * may skip that slot, and the line would vanish exactly when it is wanted */
        if (!err && now.period >= a->next_log_period) {
            a->next_log_period = now.period + 1;
            uint64_t lfp[MODEL_MAX_THREADS], minp = UINT64_MAX;
            final_periods(a, lfp);
            for (uint32_t t = 0; t < a->n->params.thread_count; t++)
                minp = lfp[t] < minp ? lfp[t] : minp;
            slot_t fn = {0, 0};
            (void)exec_actor_final_next(a->n->ex, &fn);
            log_info("consensus", "period",
                     "period=%llu final_period=%llu exec_final=%llu:%u "
                     "pending=%zu cliques=%zu",
                     (unsigned long long)now.period, (unsigned long long)minp,
                     (unsigned long long)fn.period, fn.thread, graph_count(a->g, GRAPH_PENDING),
                     graph_clique_count(a->g));
        }
    }
    arm_tick(a);
    return err;
}

/* ---- start: the graph from the block log ----------------------------------------------------- */

typedef struct loadctx {
    cons_actor *a;
    graph_final_block *fb;
    size_t n, cap;
    weft_err err;
    size_t count;
} loadctx;

static bool load_final(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec, size_t len)
{
    (void)slot;
    loadctx *l = ctx;
    nblock *b;
    l->err = nblock_decode(&b, &l->a->n->params, rec, len);
    if (l->err)
        return false;
    if (!block_id_eq(id, &b->b.header.id)) {
        nblock_unref(b);
        l->err = WEFT_E_CORRUPT;
        return false;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        graph_final_block *v = realloc(l->fb, nc * sizeof *v);
        if (!v) {
            nblock_unref(b);
            l->err = WEFT_E_NOMEM;
            return false;
        }
        l->fb = v;
        l->cap = nc;
    }
    graph_final_block *f = &l->fb[l->n++];
    memset(f, 0, sizeof *f);
    const block_header_t *h = &b->b.header;
    f->id = h->id;
    f->slot = h->slot;
    f->fitness = 1 + (uint64_t)h->endorsement_count;
    f->parent_count = h->parent_count;
    for (uint32_t t = 0; t < h->parent_count; t++) {
        f->parents[t] = h->parents[t];
        f->parent_periods[t] = b->parent_periods[t];
        /* a block logged before one of its parents arrived (from a peer) has a 0 there: the
         * parents of a final block are final, loaded before it (slot order) or in the log */
        bool genesis = false;
        for (uint32_t g = 0; g < l->a->n->params.thread_count && !genesis; g++)
            genesis = block_id_eq(&h->parents[t], &l->a->n->genesis[g].id);
        nblock *par = get_block(l->a, &h->parents[t]);
        if (par)
            f->parent_periods[t] = par->b.header.slot.period;
        else if (f->parent_periods[t] == 0 && !genesis &&
                 !known_period(l->a, &h->parents[t], &f->parent_periods[t]))
            f->parent_periods[t] = 0;
    }
    /* kept in memory: recent final blocks serve as parents and for execution */
    nblock *old = nmap_get(&l->a->blocks, idk(id));
    if (old)
        nblock_unref(b);
    else {
        l->err = keep_block(l->a, b);
        if (l->err)
            return false;
        uint8_t k[NMAP_KEY];
        nmap_slot_key(k, h->slot);
        l->err = nmap_put(&l->a->finals, k, b);
        if (l->err)
            return false;
    }
    return true;
}

static bool load_pending(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec,
                         size_t len)
{
    (void)slot;
    loadctx *l = ctx;
    cons_actor *a = l->a;
    nblock *b;
    weft_err err = nblock_decode(&b, &a->n->params, rec, len);
    if (err || !block_id_eq(id, &b->b.header.id)) {
        if (!err)
            nblock_unref(b);
        log_warn("consensus", "dropping an unreadable pending block from the log", "err=%s",
                 weft_err_name(err ? err : WEFT_E_CORRUPT));
        if (blocklog_remove(a->log, id) != WEFT_OK)
            log_warn("consensus", "cannot remove an unreadable block from the log", NULL);
        return true;
    }
    if (nmap_get(&a->blocks, idk(id))) {
        nblock_unref(b);
        return true;
    }
    l->err = keep_block(a, b);
    if (l->err)
        return false;
    /* restored blocks: stale and final decisions wait for the graph_tick after the whole set */
    err = graph_take(a, b, GRAPH_FORCE | GRAPH_RESTORE);
    if (err == WEFT_E_NOMEM) {
        l->err = err;
        return false;
    }
    if (err)
        forget_block(a, id);
    l->count++;
    return true;
}

/* Loads into memory (not into the graph: they are final and older than its frontier) the latest
 * final block before execution's next slot `en` of every thread — the endorsed block of the
 * thread's next block for execution, which the final blocks loaded from `en` on do not include
 * (a thread's next block may be far ahead: execution behind, or a gap in the thread).  The head
 * of a thread, if before en, is that block; otherwise the final index is walked down from en. */
static weft_err load_endorsed(cons_actor *a, slot_t en, const block_id_t *heads,
                              const slot_t *hslots)
{
    for (uint32_t t = 0; t < a->n->params.thread_count; t++) {
        block_id_t id = heads[t];
        bool found = slot_cmp(hslots[t], en) < 0;
        uint64_t p = en.thread > t ? en.period : en.period - (en.period > 0);
        for (bool more = !found && slot_cmp((slot_t){p, (uint8_t)t}, en) < 0; more && !found;) {
            weft_err err = blocklog_final_at(a->log, (slot_t){p, (uint8_t)t}, &id);
            if (err && err != WEFT_E_NOT_FOUND)
                return err;
            found = err == WEFT_OK;
            more = p-- > 0;
        }
        if (!found || get_block(a, &id))
            continue;
        slot_t s;
        blocklog_status ls;
        uint8_t *rec;
        size_t len;
        weft_err err = blocklog_get(a->log, &id, &s, &ls, &rec, &len);
        if (err == WEFT_E_NOT_FOUND)
            continue; /* pruned: fill_exec_block says so if it is needed */
        if (err)
            return err;
        nblock *b;
        err = nblock_decode(&b, &a->n->params, rec, len);
        free(rec);
        if (!err && !block_id_eq(&id, &b->b.header.id)) {
            nblock_unref(b);
            err = WEFT_E_CORRUPT;
        }
        if (!err)
            err = keep_block(a, b);
        if (err)
            return err;
    }
    return WEFT_OK;
}

static weft_err store_genesis(cons_actor *a)
{
    node_t *n = a->n;
    block_id_t ids[MODEL_MAX_THREADS];
    weft_err err = WEFT_OK;
    for (uint32_t t = 0; !err && t < n->params.thread_count; t++) {
        nblock *b;
        block_id_t *id = &n->genesis[t].id;
        ids[t] = *id;
        if (blocklog_has(a->log, id))
            continue;
        err = nblock_new(&b, &n->genesis[t], NULL, 0, NULL);
        if (err)
            break;
        wr_t w;
        wr_init(&w);
        err = nblock_encode(b, &w);
        if (!err)
            err = blocklog_put(a->log, id, b->b.header.slot, w.buf, w.len);
        wr_free(&w);
        nblock_unref(b);
    }
    if (!err)
        err = blocklog_mark_final(a->log, ids, n->params.thread_count);
    return err;
}

static weft_err co_start(void *ctx, actor_t *self)
{
    (void)self;
    cons_actor *a = ctx;
    node_t *n = a->n;
    const model_params *p = &n->params;
    char dir[4096];
    weft_err err = repo_path(n->repo, "blocks", dir, sizeof dir);
    if (err)
        return err;
    blocklog_options lo = {
        .dir = dir,
        .thread_count = p->thread_count,
        .map_size = (size_t)n->repo->config.store_map_mb << 20,
        .no_sync = n->repo->config.store_no_sync,
    };
    uint64_t seed;
    crypto_random(&seed, sizeof seed);
    nmap_init(&a->blocks, seed);
    nmap_init(&a->finals, seed ^ 0x5555);
    nmap_init(&a->ops, seed ^ 0xaaaa);
    a->has_now = clock_slot(a, &a->now) == WEFT_OK;
    loadctx l = {a, NULL, 0, 0, WEFT_OK, 0};
    err = blocklog_open(&a->log, &lo);
    block_id_t heads[MODEL_MAX_THREADS];
    slot_t hslots[MODEL_MAX_THREADS];
    bool have = false;
    if (!err)
        err = blocklog_heads(a->log, heads, hslots, &have);
    if (!err && !have) {
        err = store_genesis(a);
        if (!err)
            err = blocklog_heads(a->log, heads, hslots, &have);
        if (!err && !have)
            err = WEFT_E_CORRUPT;
    }
    /* final blocks from the earlier of (execution's final cursor, the heads' frontier − margin) */
    if (!err) {
        uint64_t minp = UINT64_MAX;
        for (uint32_t t = 0; t < p->thread_count; t++)
            if (hslots[t].period < minp)
                minp = hslots[t].period;
        slot_t from = {minp > KEEP_FINAL_PERIODS ? minp - KEEP_FINAL_PERIODS : 0, 0};
        slot_t en;
        if (exec_actor_final_next(n->ex, &en) && slot_cmp(en, from) < 0)
            from = en;
        slot_t to = {UINT64_MAX, 0};
        err = blocklog_foreach_final(a->log, from, to, load_final, &l);
        if (!err)
            err = l.err;
        if (!err && exec_actor_final_next(n->ex, &en))
            err = load_endorsed(a, en, heads, hslots);
    }
    graph_config gc;
    graph_config_init(&gc, p->thread_count, p->delta_f0);
    crypto_random(&gc.hash_seed, sizeof gc.hash_seed);
    if (!err)
        err = graph_new_from(&a->g, &gc, l.fb, l.n);
    size_t nfinal = l.n;
    free(l.fb);
    if (!err) {
        l.fb = NULL;
        l.n = l.cap = 0;
        err = blocklog_foreach_pending(a->log, load_pending, &l);
        if (!err)
            err = l.err;
    }
    if (!err) {
        slot_t t = a->now;
        if (!a->has_now) /* before genesis: a tick at the heads' frontier settles the restore */
            graph_latest_final(a->g, 0, NULL, &t);
        err = graph_tick(a->g, t);
    }
    if (!err)
        err = take_outputs(a, NULL);
    if (err) {
        log_error("consensus", "cannot start consensus", "err=%s", weft_err_name(err));
        return err;
    }
    log_info("consensus", "graph rebuilt from the block log", "final=%zu pending=%zu", nfinal,
             l.count);
    err = send_update(a);
    if (a->tick) { /* a restart: the tick chain may have died with the failed handler */
        (void)actor_timer_cancel(n->sys, a->tick);
        arm_tick(a);
    }
    return err;
}

static void co_stop(void *ctx, actor_t *self)
{
    (void)self;
    cons_actor *a = ctx;
    for (size_t i = 0; i < a->blocks.cap; i++)
        if (a->blocks.e[i].v)
            nblock_unref(a->blocks.e[i].v);
    nmap_free(&a->blocks);
    nmap_free(&a->finals);
    nmap_free(&a->ops);
    graph_free(a->g);
    a->g = NULL;
    blocklog_close(a->log);
    a->log = NULL;
}

/* ---- queries --------------------------------------------------------------------------------- */

static weft_err q_parents(cons_actor *a, nparents *q)
{
    if (a->pool_stale)
        notify_pool(a, true);
    graph_best_parents(a->g, q->parents);
    q->ok = true;
    for (uint32_t t = 0; t < a->n->params.thread_count; t++) {
        nblock *b = get_block(a, &q->parents[t]);
        if (!b || slot_cmp(b->b.header.slot, q->slot) >= 0) {
            q->ok = false;
            return WEFT_OK;
        }
        q->parent_periods[t] = b->b.header.slot.period;
    }
    return WEFT_OK;
}

static node_block_status status_of(graph_status st)
{
    switch (st) {
    case GRAPH_PENDING:
        return NODE_BLOCK_PENDING;
    case GRAPH_FINAL:
        return NODE_BLOCK_FINAL;
    case GRAPH_STALE:
        return NODE_BLOCK_STALE;
    case GRAPH_INVALID:
        return NODE_BLOCK_INVALID;
    default:
        return NODE_BLOCK_WAITING;
    }
}

static bool in_blockclique(cons_actor *a, const block_id_t *id)
{
    size_t nbc;
    block_id_t *v = bc_ids(a, &nbc);
    if (!v)
        return false;
    bool in = false;
    for (size_t i = 0; i < nbc && !in; i++)
        in = block_id_eq(&v[i], id);
    free(v);
    return in;
}

static weft_err fill_info(node_block_info_t *o, nblock *b)
{
    o->header = b->b.header;
    o->creator = b->creator;
    o->op_ids = malloc((b->b.op_count ? b->b.op_count : 1) * sizeof *o->op_ids);
    if (!o->op_ids)
        return WEFT_E_NOMEM;
    memcpy(o->op_ids, b->b.op_ids, b->b.op_count * sizeof *o->op_ids);
    o->op_count = b->b.op_count;
    o->has_body = true;
    return WEFT_OK;
}

static weft_err q_block(cons_actor *a, node_block_info_t *o)
{
    graph_status st = graph_block_status(a->g, &o->id, NULL);
    nblock *b = get_block(a, &o->id);
    if (b) {
        o->status = st == GRAPH_UNKNOWN ? NODE_BLOCK_FINAL : status_of(st);
        o->in_blockclique = st == GRAPH_PENDING && in_blockclique(a, &o->id);
        return fill_info(o, b);
    }
    slot_t slot;
    blocklog_status ls;
    uint8_t *rec;
    size_t len;
    weft_err err = blocklog_get(a->log, &o->id, &slot, &ls, &rec, &len);
    if (err == WEFT_E_NOT_FOUND) {
        if (st == GRAPH_UNKNOWN)
            return WEFT_E_NOT_FOUND;
        o->status = status_of(st);
        return WEFT_OK;
    }
    if (err)
        return err;
    err = nblock_decode(&b, &a->n->params, rec, len);
    free(rec);
    if (err)
        return err;
    o->status = ls == BLOCKLOG_FINAL ? NODE_BLOCK_FINAL : status_of(st);
    err = fill_info(o, b);
    nblock_unref(b);
    return err;
}

static weft_err q_bc_at(cons_actor *a, nbcq *q)
{
    slot_t hs;
    graph_latest_final(a->g, q->slot.thread, NULL, &hs);
    if (q->slot.period <= hs.period) {
        uint8_t k[NMAP_KEY];
        nmap_slot_key(k, q->slot);
        nblock *b = nmap_get(&a->finals, k);
        if (b) {
            q->id = b->b.header.id;
            return WEFT_OK;
        }
        return blocklog_final_at(a->log, q->slot, &q->id);
    }
    size_t nbc;
    block_id_t *bc = bc_ids(a, &nbc);
    if (!bc)
        return WEFT_E_NOMEM;
    weft_err err = WEFT_E_NOT_FOUND;
    for (size_t i = 0; i < nbc && err; i++) {
        nblock *b = get_block(a, &bc[i]);
        if (b && slot_cmp(b->b.header.slot, q->slot) == 0) {
            q->id = bc[i];
            err = WEFT_OK;
        }
    }
    free(bc);
    return err;
}

static weft_err q_interval(cons_actor *a, nintq *q)
{
    size_t nbc;
    block_id_t *bc = bc_ids(a, &nbc);
    if (!bc)
        return WEFT_E_NOMEM;
    weft_err err = WEFT_OK;
    for (size_t i = 0; !err && i < a->blocks.cap; i++) {
        nblock *b = a->blocks.e[i].v;
        if (!b)
            continue;
        uint64_t t;
        if (slot_time(&a->n->params, &t, b->b.header.slot) != WEFT_OK || t < q->start_ms ||
            t >= q->end_ms)
            continue;
        if (q->n >= NODE_MAX_GRAPH_ITEMS)
            break;
        if (q->n == q->cap) {
            size_t nc = q->cap ? q->cap * 2 : 64;
            node_graph_item_t *v = realloc(q->items, nc * sizeof *v);
            if (!v) {
                err = WEFT_E_NOMEM;
                break;
            }
            q->items = v;
            q->cap = nc;
        }
        node_graph_item_t *it = &q->items[q->n++];
        memset(it, 0, sizeof *it);
        it->id = b->b.header.id;
        it->slot = b->b.header.slot;
        it->creator = b->creator;
        graph_status st = graph_block_status(a->g, &it->id, NULL);
        it->status = st == GRAPH_UNKNOWN ? NODE_BLOCK_FINAL : status_of(st);
        for (size_t k = 0; k < nbc && !it->in_blockclique; k++)
            it->in_blockclique = block_id_eq(&bc[k], &it->id);
        it->parent_count = b->b.header.parent_count;
        memcpy(it->parents, b->b.header.parents, it->parent_count * sizeof(block_id_t));
    }
    free(bc);
    return err;
}

static weft_err q_cliques(cons_actor *a, ncliq *q)
{
    size_t n = graph_clique_count(a->g);
    q->v = calloc(n ? n : 1, sizeof *q->v);
    if (!q->v)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t sz = graph_clique_blocks(a->g, i, NULL, 0);
        q->v[i].ids = malloc((sz ? sz : 1) * sizeof(block_id_t));
        if (!q->v[i].ids) {
            q->n = i;
            return WEFT_E_NOMEM;
        }
        q->v[i].count = graph_clique_blocks(a->g, i, q->v[i].ids, sz);
        q->v[i].fitness = graph_clique_fitness(a->g, i);
        q->v[i].is_blockclique = i == 0;
    }
    q->n = n;
    return WEFT_OK;
}

static weft_err add_block_id(block_id_t **v, size_t *n, const block_id_t *id)
{
    block_id_t *x = realloc(*v, (*n + 1) * sizeof *x);
    if (!x)
        return WEFT_E_NOMEM;
    x[(*n)++] = *id;
    *v = x;
    return WEFT_OK;
}

static weft_err q_op_blocks(cons_actor *a, node_op_info_t *o)
{
    weft_err err = WEFT_OK;
    for (size_t i = 0; !err && i < a->blocks.cap; i++) {
        nblock *b = a->blocks.e[i].v;
        if (!b)
            continue;
        for (uint32_t k = 0; !err && k < b->b.op_count; k++)
            if (hash32_cmp(&b->b.op_ids[k].h, &o->op.id.h) == 0) {
                err = add_block_id(&o->in_blocks, &o->in_block_count, &b->b.header.id);
                o->found = true;
                if (!err && !o->has_op) {
                    err = node_op_copy(&o->op, &b->ops[k], a->n->params.chain_id);
                    o->has_op = err == WEFT_OK;
                }
            }
    }
    return err;
}

static weft_err q_endo_blocks(cons_actor *a, node_endorsement_info_t *o)
{
    weft_err err = WEFT_OK;
    bool found = false;
    for (size_t i = 0; !err && i < a->blocks.cap; i++) {
        nblock *b = a->blocks.e[i].v;
        if (!b)
            continue;
        const block_header_t *h = &b->b.header;
        for (uint32_t k = 0; !err && k < h->endorsement_count; k++)
            if (hash32_cmp(&h->endorsements[k].id.h, &o->e.id.h) == 0) {
                if (!found)
                    o->e = h->endorsements[k];
                found = true;
                err = add_block_id(&o->in_blocks, &o->in_block_count, &h->id);
                if (graph_block_status(a->g, &h->id, NULL) != GRAPH_PENDING)
                    o->is_final = true;
            }
    }
    if (!err && !found)
        err = WEFT_E_NOT_FOUND;
    return err;
}

/* ---- the network's queries ------------------------------------------------------------------ */

static weft_err q_net_get(cons_actor *a, nnetq *q, bool body)
{
    graph_status st = graph_block_status(a->g, &q->id, NULL);
    nblock *b = get_block(a, &q->id);
    if (b) {
        q->found = true;
        q->is_final = st == GRAPH_FINAL || st == GRAPH_UNKNOWN; /* in memory, out of the graph */
        if (body)
            q->b = nblock_ref(b);
        return WEFT_OK;
    }
    if (!body) {
        q->found = st != GRAPH_UNKNOWN || blocklog_has(a->log, &q->id);
        return WEFT_OK;
    }
    slot_t slot;
    blocklog_status ls;
    weft_err err = blocklog_get(a->log, &q->id, &slot, &ls, &q->rec, &q->len);
    if (err)
        return err;
    q->found = true;
    q->is_final = ls == BLOCKLOG_FINAL;
    return WEFT_OK;
}

static weft_err q_net_ops(cons_actor *a, nnetops *q)
{
    wr_t w;
    wr_init(&w);
    for (size_t i = 0; i < q->n; i++) {
        if (q->out[i].len)
            continue;
        const signed_op_t *op = nmap_get(&a->ops, q->ids[i].h.b);
        if (!op)
            continue;
        signed_op_encode(&w, op);
        q->out[i].b = wr_take(&w, &q->out[i].len);
        if (!q->out[i].b) {
            q->out[i].len = 0;
            return WEFT_E_NOMEM;
        }
    }
    return WEFT_OK;
}

static weft_err oldest_kept(cons_actor *a, slot_t *out);

static weft_err q_net_status(cons_actor *a, node_net_status *s)
{
    uint32_t T = a->n->params.thread_count;
    s->thread_count = T;
    slot_t kept;
    if (oldest_kept(a, &kept) == WEFT_OK)
        s->kept_from = kept.period;
    final_periods(a, s->final_periods);
    graph_best_parents(a->g, s->heads);
    for (uint32_t t = 0; t < T; t++) {
        nblock *b = get_block(a, &s->heads[t]);
        if (b)
            s->head_slots[t] = b->b.header.slot;
        else /* a head is in memory (pending, or final and recent); the final head otherwise */
            graph_latest_final(a->g, t, &s->heads[t], &s->head_slots[t]);
    }
    return WEFT_OK;
}

/* Appends (id, slot) to the parallel arrays *ids and *slots of *n entries, growing both (doubling
 * from 64, never past max entries; the caller checks n < max); E_NOMEM leaves them as they were. */
static weft_err push_block_slot(block_id_t **ids, slot_t **slots, size_t *n, size_t *cap,
                                size_t max, const block_id_t *id, slot_t slot)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        nc = nc > max ? max : nc;
        block_id_t *ni = realloc(*ids, nc * sizeof *ni);
        if (ni)
            *ids = ni;
        slot_t *ns = ni ? realloc(*slots, nc * sizeof *ns) : NULL;
        if (!ns)
            return WEFT_E_NOMEM;
        *slots = ns;
        *cap = nc;
    }
    (*ids)[*n] = *id;
    (*slots)[(*n)++] = slot;
    return WEFT_OK;
}

typedef struct rangectx {
    nrange *q;
    size_t cap;
    bool first_only;
    weft_err err;
} rangectx;

static bool range_visit(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec,
                        size_t len)
{
    (void)rec;
    (void)len;
    rangectx *r = ctx;
    nrange *q = r->q;
    if (r->first_only) {
        q->oldest_kept = slot;
        return false;
    }
    if (q->n == q->max) {
        q->more = true;
        return false;
    }
    if ((r->err = push_block_slot(&q->ids, &q->slots, &q->n, &r->cap, q->max, id, slot)))
        return false;
    return true;
}

/* The first slot from which every final block is in the block log: the log's first final block
 * (a log started from a state transfer's roots begins there), or the retention boundary (final
 * blocks more than block_retention periods below execution's cursor are pruned but the threads'
 * heads), whichever is later. */
static weft_err oldest_kept(cons_actor *a, slot_t *out)
{
    nrange q;
    memset(&q, 0, sizeof q);
    rangectx r = {&q, 0, true, WEFT_OK};
    slot_t end = {UINT64_MAX, 0};
    weft_err err = blocklog_foreach_final(a->log, (slot_t){0, 0}, end, range_visit, &r);
    *out = q.oldest_kept;
    uint64_t ret = a->n->repo->config.block_retention;
    slot_t next;
    if (ret != REPO_RETAIN_ALL && exec_actor_final_next(a->n->ex, &next) && next.period > ret) {
        slot_t bound = {next.period - ret, 0};
        if (slot_cmp(bound, *out) > 0)
            *out = bound;
    }
    return err;
}

/* Final blocks after q->after from the block log, from the oldest kept slot on. */
static weft_err q_net_range(cons_actor *a, nrange *q)
{
    const model_params *p = &a->n->params;
    rangectx r = {q, 0, false, WEFT_OK};
    slot_t end = {UINT64_MAX, 0};
    weft_err err = oldest_kept(a, &q->oldest_kept);
    if (err)
        return err;
    slot_t from;
    if (slot_next(p, &from, q->after) != WEFT_OK)
        return WEFT_OK; /* nothing after the end of time */
    if (slot_cmp(from, q->oldest_kept) < 0)
        from = q->oldest_kept;
    err = blocklog_foreach_final(a->log, from, end, range_visit, &r);
    return err ? err : r.err;
}

/* ---- the roots of a state transfer ----------------------------------------------------------- */

typedef struct rootsctx {
    nrootq *q;
    size_t cap;
    uint64_t have;                         /* threads with a root */
    bool back;                             /* looking further back for the threads without */
    block_id_t late_id[MODEL_MAX_THREADS]; /* back: the latest block of each such thread */
    slot_t late_slot[MODEL_MAX_THREADS];
    uint64_t late; /* back: threads found */
    weft_err err;
} rootsctx;

static bool roots_add(rootsctx *r, const block_id_t *id, slot_t slot)
{
    nrootq *q = r->q;
    if ((r->err = push_block_slot(&q->ids, &q->slots, &q->n, &r->cap, SIZE_MAX, id, slot)))
        return false;
    return true;
}

static bool roots_visit(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec,
                        size_t len)
{
    (void)rec;
    (void)len;
    rootsctx *r = ctx;
    uint64_t bit = 1ull << slot.thread;
    if (!r->back) {
        r->have |= bit;
        return roots_add(r, id, slot);
    }
    if (!(r->have & bit)) { /* slot order: the last one seen is the latest */
        r->late |= bit;
        r->late_id[slot.thread] = *id;
        r->late_slot[slot.thread] = slot;
    }
    return true;
}

/* The final blocks a peer that imports our state at q->cursor restarts its graph from: those of
 * the NODE_STATE_ROOT_PERIODS periods up to the cursor, and for a thread without any there its
 * latest final block before (looked for in windows of 64 periods, at most 16 of them) — in slot
 * order.  q->ok is false when some thread has none in the log. */
static weft_err q_state_roots(cons_actor *a, nrootq *q)
{
    uint32_t T = a->n->params.thread_count;
    uint64_t all = T == 64 ? ~0ull : (1ull << T) - 1;
    slot_t to;
    if (slot_next(&a->n->params, &to, q->cursor) != WEFT_OK)
        return WEFT_E_INVAL;
    uint64_t p0 =
        q->cursor.period > NODE_STATE_ROOT_PERIODS ? q->cursor.period - NODE_STATE_ROOT_PERIODS : 0;
    rootsctx r;
    memset(&r, 0, sizeof r);
    r.q = q;
    weft_err err = blocklog_foreach_final(a->log, (slot_t){p0, 0}, to, roots_visit, &r);
    r.back = true;
    for (uint64_t w = 0, hi = p0; !err && !r.err && r.have != all && hi > 0 && w < 16; w++) {
        uint64_t lo = hi > 64 ? hi - 64 : 0;
        r.late = 0;
        err = blocklog_foreach_final(a->log, (slot_t){lo, 0}, (slot_t){hi, 0}, roots_visit, &r);
        for (uint32_t t = 0; !err && t < T; t++)
            if ((r.late >> t) & 1 && roots_add(&r, &r.late_id[t], r.late_slot[t]))
                r.have |= 1ull << t;
        hi = lo;
    }
    if (!err)
        err = r.err;
    /* the older ones came last: one insertion pass puts everything in slot order */
    for (size_t i = 1; !err && i < q->n; i++)
        for (size_t j = i; j > 0 && slot_cmp(q->slots[j - 1], q->slots[j]) > 0; j--) {
            block_id_t id = q->ids[j];
            slot_t sl = q->slots[j];
            q->ids[j] = q->ids[j - 1];
            q->slots[j] = q->slots[j - 1];
            q->ids[j - 1] = id;
            q->slots[j - 1] = sl;
        }
    q->ok = !err && r.have == all;
    return err;
}

static weft_err co_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    (void)self;
    cons_actor *a = ctx;
    weft_err st = WEFT_OK;
    switch (m->kind) {
    case MSG_CONS_BLOCK:
        return on_block(a, m->payload);
    case MSG_CONS_TICK:
        return on_tick(a);
    case MSG_CONS_PARENTS:
        st = q_parents(a, m->payload);
        break;
    case MSG_CONS_STATUS: {
        node_status_t *s = m->payload;
        final_periods(a, s->final_periods);
        s->pending_block_count = graph_count(a->g, GRAPH_PENDING);
        s->clique_count = graph_clique_count(a->g);
        break;
    }
    case MSG_CONS_BLOCK_INFO:
        st = q_block(a, m->payload);
        break;
    case MSG_CONS_BC_AT:
        st = q_bc_at(a, m->payload);
        break;
    case MSG_CONS_INTERVAL:
        st = q_interval(a, m->payload);
        break;
    case MSG_CONS_CLIQUES:
        st = q_cliques(a, m->payload);
        break;
    case MSG_CONS_OP_BLOCKS:
        st = q_op_blocks(a, m->payload);
        break;
    case MSG_CONS_ENDO_BLOCKS:
        st = q_endo_blocks(a, m->payload);
        break;
    case MSG_CONS_NET_BLOCK: {
        /* one-way: the network's thread checked it (draws included) and went on with the next;
         * the graph's verdicts reach it as events (block_invalid) */
        nnetblock *q = m->payload;
        nblock *b = q->b;
        q->b = NULL;
        nnetblock_free(q);
        weft_err verdict;
        return take_block(a, b, true, &verdict); /* an error restarts the actor (the block is
                                                  * lost: docs/node.md "Network") */
    }
    case MSG_CONS_NET_HAS:
        st = q_net_get(a, m->payload, false);
        break;
    case MSG_CONS_NET_GET:
        st = q_net_get(a, m->payload, true);
        break;
    case MSG_CONS_NET_OPS:
        st = q_net_ops(a, m->payload);
        break;
    case MSG_CONS_NET_STATUS:
        st = q_net_status(a, m->payload);
        break;
    case MSG_CONS_STATE_ROOTS:
        st = q_state_roots(a, m->payload);
        break;
    case MSG_CONS_NET_RANGE:
        st = q_net_range(a, m->payload);
        break;
    default:
        st = node_msg_unknown("consensus", m);
        break;
    }
    node_msg_done(m, st);
    return WEFT_OK;
}

weft_err cons_actor_add(node_t *n)
{
    cons_actor *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->n = n;
    n->co = a;
    actor_def d = {
        .name = "consensus",
        .mailbox_cap = 1024,
        .ctx = a,
        .start = co_start,
        .handle = co_handle,
        .stop = co_stop,
    };
    return actor_system_add(n->sys, &d, &n->a_cons);
}

void cons_actor_start_ticks(cons_actor *a) { arm_tick(a); }

void cons_actor_free(cons_actor *a) { free(a); }
