/* The final state in parts (node.h "the final state in parts", docs/node.md "State transfer").
 *
 * Serving: execution answers each ask from a snapshot of its final state (execution.c), and
 * consensus names the root blocks from the block log (consensus.c); this file puts them together.
 *
 * Fetching: a peer's final state is written into REPO/import — a store of its own, never the final
 * state in use — record by record as the parts come, with the root blocks in REPO/import/roots.
 * Finishing checks every record and the fingerprint (state_final_adopt writes the metadata only
 * then) and marks the import complete (REPO/import/READY, written last and synced).  The running
 * node does not change: node_request_restart makes the process stop it and start it again, and
 * node_start adopts a complete import before any actor runs — the imported store replaces
 * REPO/store, a new block log holding the roots (final) replaces REPO/blocks — so that execution
 * opens the imported final state at its cursor and consensus rebuilds the graph from the roots
 * (graph_new_from), and the block sync goes on from there.  Each step of the adoption can be
 * done again: a crash during it leaves READY in place and the next start finishes it; an import
 * without READY is incomplete and removed at start. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_internal.h"

/* ---- serving --------------------------------------------------------------------------------- */

void node_state_part_free(node_state_part *p)
{
    if (!p)
        return;
    free(p->root_ids);
    free(p->root_slots);
    free(p->recs);
    free(p->mem);
    memset(p, 0, sizeof *p);
}

weft_err node_net_state_part(node_t *n, const node_state_ask *ask, node_state_part *out)
{
    memset(out, 0, sizeof *out);
    nstpart q = {ask, out};
    weft_err err = node_call(n->a_exec, MSG_EXEC_STATE_PART, &q);
    if (!err && out->status == NODE_STATE_OK && !ask->has_cursor) {
        nrootq r;
        memset(&r, 0, sizeof r);
        r.cursor = out->cursor;
        err = node_call(n->a_cons, MSG_CONS_STATE_ROOTS, &r);
        if (!err && r.ok) {
            out->root_ids = r.ids;
            out->root_slots = r.slots;
            out->nroots = r.n;
        } else {
            free(r.ids);
            free(r.slots);
            if (!err) { /* a thread without a final block in the log: no transfer from here */
                node_state_part_free(out);
                out->status = NODE_STATE_UNAVAILABLE;
            }
        }
    }
    if (err)
        node_state_part_free(out);
    return err;
}

weft_err node_net_state_fingerprint(node_t *n, slot_t slot, uint8_t fp[NODE_STATE_FP_LEN],
                                    node_fp_status *status)
{
    *status = n->ex ? exec_actor_fingerprint(n->ex, slot, fp) : NODE_FP_NOT_KEPT;
    return WEFT_OK;
}

/* ---- paths ----------------------------------------------------------------------------------- */

/* Removes a file or a directory tree; absent is fine. */
static weft_err rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? WEFT_OK : WEFT_E_IO;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return WEFT_E_IO;
        weft_err e = WEFT_OK;
        struct dirent *x;
        while (!e && (x = readdir(d))) {
            if (strcmp(x->d_name, ".") == 0 || strcmp(x->d_name, "..") == 0)
                continue;
            char sub[4096];
            if (snprintf(sub, sizeof sub, "%s/%s", path, x->d_name) >= (int)sizeof sub)
                e = WEFT_E_LIMIT;
            else
                e = rm_tree(sub);
        }
        closedir(d);
        if (e)
            return e;
    }
    return remove(path) == 0 || errno == ENOENT ? WEFT_OK : WEFT_E_IO;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static weft_err sync_dir(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return WEFT_E_IO;
    int rc = fsync(fileno(f));
    fclose(f);
    return rc == 0 ? WEFT_OK : WEFT_E_IO;
}

typedef struct paths {
    char repo[4096], import[4096], istore[4096], roots[4096], ready[4096], tmp[4096];
    char store[4096], store_old[4096], blocks[4096], blocks_old[4096];
} paths;

static weft_err paths_of(const repo_t *r, paths *p)
{
    weft_err e;
    if ((e = repo_path(r, ".", p->repo, sizeof p->repo)) ||
        (e = repo_path(r, "import", p->import, sizeof p->import)) ||
        (e = repo_path(r, "import/store", p->istore, sizeof p->istore)) ||
        (e = repo_path(r, "import/roots", p->roots, sizeof p->roots)) ||
        (e = repo_path(r, "import/READY", p->ready, sizeof p->ready)) ||
        (e = repo_path(r, "import/READY.tmp", p->tmp, sizeof p->tmp)) ||
        (e = repo_path(r, "store", p->store, sizeof p->store)) ||
        (e = repo_path(r, "store.old", p->store_old, sizeof p->store_old)) ||
        (e = repo_path(r, "blocks", p->blocks, sizeof p->blocks)) ||
        (e = repo_path(r, "blocks.old", p->blocks_old, sizeof p->blocks_old)))
        return e;
    return WEFT_OK;
}

/* ---- fetching: the import -------------------------------------------------------------------- */

typedef struct root_ix {
    block_id_t id;
    uint32_t at; /* index in the roots list */
} root_ix;

struct node_import {
    store_t *store; /* REPO/import/store */
    FILE *roots;    /* REPO/import/roots: u32le length ‖ block log record, per root */
    slot_t cursor;
    uint8_t fp[NODE_STATE_FP_LEN];
    slot_t *root_slots;
    root_ix *ix; /* by id */
    bool *got;
    address_t *creators; /* of the roots received (genesis roots: none) */
    bool *drawn;         /* the root's producer is to be checked against the draws */
    size_t nroots, ngot;
    bool has_last; /* the last record written, for the order */
    uint8_t last_table;
    uint8_t last_key[STATE_MAX_KEY_LEN];
    size_t last_klen;
    uint64_t records;
};

void node_import_free(node_import *imp)
{
    if (!imp)
        return;
    store_close(imp->store);
    if (imp->roots)
        fclose(imp->roots);
    free(imp->root_slots);
    free(imp->ix);
    free(imp->got);
    free(imp->creators);
    free(imp->drawn);
    free(imp);
}

static int ix_cmp(const void *a, const void *b)
{
    return hash32_cmp(&((const root_ix *)a)->id.h, &((const root_ix *)b)->id.h);
}

static const root_ix *root_find(const node_import *imp, const block_id_t *id)
{
    root_ix key = {*id, 0};
    return bsearch(&key, imp->ix, imp->nroots, sizeof *imp->ix, ix_cmp);
}

void node_import_abort(node_t *n)
{
    if (!n->imp)
        return;
    node_import_free(n->imp);
    n->imp = NULL;
    paths p;
    if (paths_of(n->repo, &p) == WEFT_OK && rm_tree(p.import) != WEFT_OK)
        log_warn("node", "cannot remove an aborted import", "dir=%s", p.import);
}

weft_err node_import_begin(node_t *n, slot_t cursor, const uint8_t fp[NODE_STATE_FP_LEN],
                           const block_id_t *root_ids, const slot_t *root_slots, size_t nroots)
{
    node_import_abort(n);
    if (cursor.thread >= n->params.thread_count || nroots == 0)
        return WEFT_E_INVAL;
    paths p;
    weft_err err = paths_of(n->repo, &p);
    if (!err)
        err = rm_tree(p.import);
    if (err)
        return err;
    if (mkdir(p.import, 0700) != 0)
        return WEFT_E_IO;
    node_import *imp = calloc(1, sizeof *imp);
    if (!imp)
        return WEFT_E_NOMEM;
    imp->cursor = cursor;
    memcpy(imp->fp, fp, NODE_STATE_FP_LEN);
    imp->nroots = nroots;
    imp->root_slots = malloc(nroots * sizeof *imp->root_slots);
    imp->ix = malloc(nroots * sizeof *imp->ix);
    imp->got = calloc(nroots, sizeof *imp->got);
    imp->creators = calloc(nroots, sizeof *imp->creators);
    imp->drawn = calloc(nroots, sizeof *imp->drawn);
    if (!imp->root_slots || !imp->ix || !imp->got || !imp->creators || !imp->drawn) {
        node_import_free(imp);
        return WEFT_E_NOMEM;
    }
    memcpy(imp->root_slots, root_slots, nroots * sizeof *root_slots);
    for (size_t i = 0; i < nroots; i++) {
        if (root_slots[i].thread >= n->params.thread_count || slot_cmp(root_slots[i], cursor) > 0)
            err = WEFT_E_INVAL;
        imp->ix[i] = (root_ix){root_ids[i], (uint32_t)i};
    }
    qsort(imp->ix, nroots, sizeof *imp->ix, ix_cmp);
    for (size_t i = 1; !err && i < nroots; i++)
        if (block_id_eq(&imp->ix[i - 1].id, &imp->ix[i].id))
            err = WEFT_E_INVAL;
    store_options so = {
        .dir = p.istore,
        .map_size = (size_t)n->repo->config.store_map_mb << 20,
        .no_sync = n->repo->config.store_no_sync,
    };
    if (!err)
        err = store_open(&imp->store, &so);
    if (!err && !(imp->roots = fopen(p.roots, "wb")))
        err = WEFT_E_IO;
    if (err) {
        node_import_free(imp);
        (void)rm_tree(p.import);
        return err;
    }
    n->imp = imp;
    log_info("node", "importing a final state", "cursor=%llu:%u roots=%zu",
             (unsigned long long)cursor.period, cursor.thread, nroots);
    return WEFT_OK;
}

static int key_cmp(uint8_t ta, const uint8_t *a, size_t alen, uint8_t tb, const uint8_t *b,
                   size_t blen)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

weft_err node_import_records(node_t *n, const node_state_rec *recs, size_t count)
{
    node_import *imp = n->imp;
    if (!imp)
        return WEFT_E_STATE;
    state_kv_t kv = store_kv(imp->store);
    weft_err err = kv.vt->begin(kv.self);
    for (size_t i = 0; !err && i < count; i++) {
        const node_state_rec *r = &recs[i];
        if (r->table == STATE_T_META || r->table >= STATE_T_COUNT ||
            (imp->has_last && key_cmp(imp->last_table, imp->last_key, imp->last_klen, r->table,
                                      r->key, r->klen) >= 0))
            err = WEFT_E_STATE_RECORD;
        if (!err)
            err = state_record_check((state_table)r->table, r->key, r->klen, r->val, r->vlen);
        if (!err)
            err = kv.vt->put(kv.self, (state_table)r->table, r->key, r->klen, r->val, r->vlen);
        if (!err) {
            imp->has_last = true;
            imp->last_table = r->table;
            imp->last_klen = r->klen;
            memcpy(imp->last_key, r->key, r->klen);
        }
    }
    if (err) {
        kv.vt->abort(kv.self);
        return err;
    }
    err = kv.vt->commit(kv.self);
    if (!err)
        imp->records += count;
    return err;
}

static void free_ops(signed_op_t *ops, uint32_t count)
{
    for (uint32_t i = 0; ops && i < count; i++)
        signed_op_free(&ops[i]);
    free(ops);
}

/* A root block, checked as a peer's block is (node_net.c) for what needs no state: form, id,
 * signature, operations against the header and their signatures.  Genesis blocks are ours. */
static weft_err check_root(node_t *n, const block_header_t *h, const signed_op_t *ops,
                           uint32_t count)
{
    const model_params *p = &n->params;
    if (h->slot.thread >= p->thread_count)
        return WEFT_E_NODE_BLOCK;
    if (h->slot.period == 0)
        return block_id_eq(&h->id, &n->genesis[h->slot.thread].id) && count == 0
                   ? WEFT_OK
                   : WEFT_E_NODE_BLOCK;
    if (h->version != HEADER_VERSION || h->parent_count != p->thread_count ||
        h->endorsement_count > p->endorsement_count || count > p->max_operations_per_block)
        return WEFT_E_NODE_BLOCK;
    block_header_t *c = malloc(sizeof *c);
    if (!c)
        return WEFT_E_NOMEM;
    *c = *h;
    header_compute_id(c);
    bool same = block_id_eq(&c->id, &h->id);
    free(c);
    if (!same || header_verify(h) != WEFT_OK)
        return WEFT_E_SIGNATURE;
    for (uint32_t i = 0; i < count; i++)
        if (signed_op_verify(&ops[i]) != WEFT_OK)
            return WEFT_E_SIGNATURE;
    return WEFT_OK;
}

weft_err node_import_root(node_t *n, const block_header_t *h, signed_op_t *ops, uint32_t count)
{
    node_import *imp = n->imp;
    const root_ix *x = imp ? root_find(imp, &h->id) : NULL;
    weft_err err = !imp ? WEFT_E_STATE : !x || imp->got[x->at] ? WEFT_E_INVAL : WEFT_OK;
    if (!err && slot_cmp(h->slot, imp->root_slots[x->at]) != 0)
        err = WEFT_E_INVAL;
    if (!err)
        err = check_root(n, h, ops, count);
    if (err) {
        free_ops(ops, count);
        return err;
    }
    /* the parents' periods: those of other roots are known (the graph needs them for its final
     * blocks); the others stand for older final blocks */
    uint64_t pp[MODEL_MAX_THREADS] = {0};
    for (uint32_t t = 0; t < h->parent_count; t++) {
        const root_ix *px = root_find(imp, &h->parents[t]);
        if (px)
            pp[t] = imp->root_slots[px->at].period;
    }
    nblock *b;
    err = nblock_new(&b, h, ops, count, pp); /* takes the operations */
    wr_t w;
    wr_init(&w);
    if (!err)
        err = nblock_encode(b, &w);
    if (!err) {
        uint8_t len[4] = {(uint8_t)w.len, (uint8_t)(w.len >> 8), (uint8_t)(w.len >> 16),
                          (uint8_t)(w.len >> 24)};
        if (w.len > UINT32_MAX || fwrite(len, 1, 4, imp->roots) != 4 ||
            fwrite(w.buf, 1, w.len, imp->roots) != w.len)
            err = WEFT_E_IO;
    }
    wr_free(&w);
    if (b)
        nblock_unref(b);
    if (!err) {
        imp->got[x->at] = true;
        imp->ngot++;
        if (h->slot.period > 0) {
            address_of_pubkey(&imp->creators[x->at], &h->creator);
            imp->drawn[x->at] = true;
        }
    }
    return err;
}

/* The roots' producers against the draws the imported state gives (its roll and hash snapshots
 * and seed bits): a state whose proof-of-stake tables are not those the signed roots were drawn
 * from is refused (E_NODE_BLOCK).  Roots of cycles whose lookback the state no longer keeps are
 * not checked. */
static weft_err check_producers(node_t *n, node_import *imp)
{
    const model_params *p = &n->params;
    state_final_t *f = NULL;
    pos_selector_t *sel = NULL;
    weft_err err = state_final_open(&f, p, store_kv(imp->store));
    if (!err)
        err = pos_selector_new(&sel, p, n->repo->genesis.rolls, n->repo->genesis.roll_count, 64);
    state_view_t v;
    bool viewing = !err;
    if (viewing)
        state_view_init(&v, f, NULL, 0, NULL);
    size_t checked = 0;
    for (size_t i = 0; !err && i < imp->nroots; i++) {
        if (!imp->drawn[i])
            continue;
        uint64_t cycle = cycle_of_period(p, imp->root_slots[i].period);
        if (!pos_selector_has_cycle(sel, cycle)) {
            state_lookback_t lb;
            memset(&lb, 0, sizeof lb);
            err = state_pos_lookback(&v, cycle, &lb);
            if (err == WEFT_E_POS_CYCLE_UNAVAILABLE) {
                err = WEFT_OK;
                continue;
            }
            if (!err)
                err = pos_selector_feed(sel, &lb.lb);
            state_lookback_free(&lb);
            if (err) /* the state's lookback does not even draw */
                err = err == WEFT_E_NOMEM ? err : WEFT_E_NODE_BLOCK;
        }
        address_t prod;
        if (!err)
            err = pos_selector_producer(sel, imp->root_slots[i], &prod);
        if (!err && !address_eq(&prod, &imp->creators[i]))
            err = WEFT_E_NODE_BLOCK;
        checked += !err;
    }
    if (viewing)
        state_view_free(&v);
    pos_selector_free(sel);
    state_final_close(f);
    if (!err)
        log_debug("node", "imported roots drawn as their producers", "checked=%zu of=%zu", checked,
                  imp->nroots);
    return err;
}

weft_err node_import_finish(node_t *n)
{
    node_import *imp = n->imp;
    if (!imp)
        return WEFT_E_STATE;
    if (imp->ngot != imp->nroots)
        return WEFT_E_STATE;
    paths p;
    weft_err err = paths_of(n->repo, &p);
    if (err)
        return err;
    /* every record again, from the store: the fingerprint, then the metadata */
    err = state_final_adopt(&n->params, store_kv(imp->store), imp->cursor, imp->fp);
    if (!err)
        err = check_producers(n, imp);
    if (!err && (fflush(imp->roots) != 0 || fsync(fileno(imp->roots)) != 0))
        err = WEFT_E_IO;
    if (err) {
        log_warn("node", "imported final state refused", "err=%s", weft_err_name(err));
        node_import_abort(n);
        return err;
    }
    slot_t cursor = imp->cursor;
    uint64_t records = imp->records;
    size_t nroots = imp->nroots;
    node_import_free(imp);
    n->imp = NULL;
    FILE *f = fopen(p.tmp, "w");
    if (!f)
        return WEFT_E_IO;
    bool ok = fprintf(f, "%llu %u\n", (unsigned long long)cursor.period, cursor.thread) > 0 &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(p.tmp, p.ready) != 0 || sync_dir(p.import) != WEFT_OK)
        return WEFT_E_IO;
    log_info("node", "final state imported; adopted at the next start",
             "cursor=%llu:%u "
             "records=%llu roots=%zu",
             (unsigned long long)cursor.period, cursor.thread, (unsigned long long)records, nroots);
    return WEFT_OK;
}

/* ---- adoption at start ----------------------------------------------------------------------- */

typedef struct root_rec {
    uint8_t *rec;
    size_t len;
    block_id_t id;
    slot_t slot;
} root_rec;

static void root_recs_free(root_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].rec);
    free(r);
}

/* Reads REPO/import/roots: every record decodes as a block of this network. */
static weft_err read_roots(const char *path, const model_params *p, root_rec **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return WEFT_E_IO;
    root_rec *v = NULL;
    size_t n = 0, cap = 0;
    weft_err err = WEFT_OK;
    uint8_t h[4];
    while (!err && fread(h, 1, 4, f) == 4) {
        size_t len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            root_rec *x = realloc(v, nc * sizeof *x);
            if (!x) {
                err = WEFT_E_NOMEM;
                break;
            }
            v = x;
            cap = nc;
        }
        uint8_t *rec = len && len <= (64u << 20) ? malloc(len) : NULL;
        if (!rec || fread(rec, 1, len, f) != len) {
            free(rec);
            err = len && len <= (64u << 20) ? WEFT_E_CORRUPT : WEFT_E_CORRUPT;
            break;
        }
        nblock *b;
        err = nblock_decode(&b, p, rec, len);
        if (err) {
            free(rec);
            err = WEFT_E_CORRUPT;
            break;
        }
        v[n] = (root_rec){rec, len, b->b.header.id, b->b.header.slot};
        nblock_unref(b);
        n++;
    }
    if (!err && ferror(f))
        err = WEFT_E_IO;
    fclose(f);
    if (!err && n == 0)
        err = WEFT_E_CORRUPT;
    if (err) {
        root_recs_free(v, n);
        return err;
    }
    *out = v;
    *count = n;
    return WEFT_OK;
}

/* Whether the block log's final blocks passed the imported roots: some thread's latest final
 * block is after the latest root of that thread (or the roots have none there). */
static weft_err log_ahead(const paths *p, repo_t *repo, const model_params *mp,
                          const root_rec *roots, size_t nroots, bool *ahead)
{
    *ahead = false;
    if (!exists(p->blocks))
        return WEFT_OK;
    uint32_t T = mp->thread_count;
    slot_t top[MODEL_MAX_THREADS], heads[MODEL_MAX_THREADS];
    bool has[MODEL_MAX_THREADS] = {false};
    for (size_t i = 0; i < nroots; i++) {
        slot_t s = roots[i].slot;
        if (s.thread < T && (!has[s.thread] || slot_cmp(s, top[s.thread]) > 0)) {
            top[s.thread] = s;
            has[s.thread] = true;
        }
    }
    blocklog_options lo = {
        .dir = p->blocks,
        .thread_count = T,
        .map_size = (size_t)repo->config.store_map_mb << 20,
        .no_sync = repo->config.store_no_sync,
    };
    blocklog_t *log = NULL;
    block_id_t *ids = malloc(MODEL_MAX_THREADS * sizeof *ids);
    bool have = false;
    weft_err e = ids ? blocklog_open(&log, &lo) : WEFT_E_NOMEM;
    if (!e)
        e = blocklog_heads(log, ids, heads, &have);
    blocklog_close(log);
    free(ids);
    for (uint32_t t = 0; !e && have && t < T; t++)
        if (!has[t] || slot_cmp(heads[t], top[t]) > 0)
            *ahead = true;
    return e;
}

weft_err node_adopt_import(repo_t *repo, const model_params *mp, char *err, size_t errcap)
{
    paths p;
    weft_err e = paths_of(repo, &p);
    if (e)
        return e;
    if (!exists(p.ready)) { /* nothing, or an import that never completed: starts over */
        if (exists(p.import) && rm_tree(p.import) != WEFT_OK)
            log_warn("node", "cannot remove an incomplete import", "dir=%s", p.import);
        return WEFT_OK;
    }
    root_rec *roots = NULL;
    size_t nroots = 0;
    e = read_roots(p.roots, mp, &roots, &nroots);
    if (e) {
        snprintf(err, errcap, "the imported final state's root blocks (%s) cannot be read: %s",
                 p.roots, weft_strerror(e));
        return e;
    }
    /* the node may have gone on finalizing blocks while the state came (from peers that still
     * had them): a state its final blocks passed already would take them back — dropped */
    bool ahead = false;
    if (exists(p.istore))
        e = log_ahead(&p, repo, mp, roots, nroots, &ahead);
    if (!e && ahead) {
        root_recs_free(roots, nroots);
        if (rm_tree(p.import) != WEFT_OK)
            log_warn("node", "cannot remove an outdated import", "dir=%s", p.import);
        log_info("node", "fetched final state dropped: the node's final blocks passed it", NULL);
        return WEFT_OK;
    }
    if (e) {
        snprintf(err, errcap, "cannot read the block log (%s): %s", p.blocks, weft_strerror(e));
        root_recs_free(roots, nroots);
        return e;
    }
    /* the final state: the imported store replaces ours (once; a crash after this finds it
     * moved already) */
    if (exists(p.istore)) {
        store_options so = {.dir = p.istore, .no_sync = repo->config.store_no_sync};
        store_t *s = NULL;
        state_final_t *f = NULL;
        e = store_open(&s, &so);
        if (!e)
            e = state_final_open(&f, mp, store_kv(s));
        if (!e && (!state_final_has_genesis(f) || !state_final_cursor(f, NULL)))
            e = WEFT_E_STATE;
        state_final_close(f);
        store_close(s);
        if (!e)
            e = rm_tree(p.store_old);
        if (!e && exists(p.store) && rename(p.store, p.store_old) != 0)
            e = WEFT_E_IO;
        if (!e && rename(p.istore, p.store) != 0)
            e = WEFT_E_IO;
        if (!e)
            e = sync_dir(p.repo);
        if (e) {
            snprintf(err, errcap, "cannot adopt the imported final state: %s", weft_strerror(e));
            root_recs_free(roots, nroots);
            return e;
        }
    }
    /* the block log: a new one holding the roots, final */
    blocklog_options lo = {
        .dir = p.blocks,
        .thread_count = mp->thread_count,
        .map_size = (size_t)repo->config.store_map_mb << 20,
        .no_sync = repo->config.store_no_sync,
    };
    blocklog_t *log = NULL;
    block_id_t *ids = malloc(nroots * sizeof *ids);
    e = ids ? rm_tree(p.blocks_old) : WEFT_E_NOMEM;
    if (!e && exists(p.blocks) && rename(p.blocks, p.blocks_old) != 0)
        e = WEFT_E_IO;
    if (!e)
        e = blocklog_open(&log, &lo);
    for (size_t i = 0; !e && i < nroots; i++) {
        ids[i] = roots[i].id;
        e = blocklog_put(log, &roots[i].id, roots[i].slot, roots[i].rec, roots[i].len);
    }
    if (!e)
        e = blocklog_mark_final(log, ids, nroots);
    blocklog_close(log);
    free(ids);
    root_recs_free(roots, nroots);
    if (!e && unlink(p.ready) != 0)
        e = WEFT_E_IO;
    if (!e)
        e = sync_dir(p.import);
    if (e) {
        snprintf(err, errcap, "cannot restart the block log from the imported roots: %s",
                 weft_strerror(e));
        return e;
    }
    if (rm_tree(p.import) || rm_tree(p.store_old) || rm_tree(p.blocks_old))
        log_warn("node", "cannot remove what the adopted import replaced", "repo=%s", repo->dir);
    log_info("node", "imported final state adopted", "roots=%zu", nroots);
    return WEFT_OK;
}

/* ---- restart --------------------------------------------------------------------------------- */

void node_request_restart(node_t *n)
{
    atomic_store(&n->restart_requested, true);
    node_request_stop(n);
}

bool node_restart_requested(const node_t *n) { return atomic_load(&n->restart_requested); }
