/* The block log on LMDB: four named databases in an environment of its own.
 *
 *   blocks   id (32)                          → u64be period ‖ u8 thread ‖ u8 status ‖ record
 *   pending  u64be period ‖ u8 thread ‖ id    → (empty)       PENDING blocks in (slot, id) order
 *   final    u64be period ‖ u8 thread         → id            the final index
 *   meta     "format"                         → u32le BLOCKLOG_FORMAT
 *            "threads"                        → u32le T
 *            "head" ‖ u8 t                    → u64be period ‖ id    the head of thread t
 *
 * Every mutating call runs its body inside one write transaction; when the map fills, the
 * transaction is dropped, the map doubled (up to the limit) and the body run again from the start,
 * so growth is invisible to callers.  Reads use one reusable read transaction (reset between
 * calls); the foreach calls take a transaction of their own so that a visitor may read the log. */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blocklog/blocklog.h"
#include "store/store.h"

#define BLOCKLOG_FORMAT 1u
#define DEFAULT_MAP ((size_t)64 << 20)
#define DEFAULT_MAP_MAX ((size_t)1 << 40)
#define SLOT_KEY 9                  /* u64be period ‖ u8 thread */
#define PENDING_KEY (SLOT_KEY + 32) /* slot ‖ id */
#define BLOCK_HDR (SLOT_KEY + 1)    /* slot ‖ status, then the record */
#define HEAD_VAL (8 + 32)           /* u64be period ‖ id */

struct blocklog {
    MDB_env *env;
    MDB_dbi blocks, pending, final, meta;
    MDB_txn *rtxn; /* reset between reads */
    uint32_t threads;
    size_t map_size, map_max;
};

static weft_err map_err(int rc, const char *what) { return store_lmdb_err(rc, "blocklog", what); }

static weft_err corrupt(const char *what)
{
    log_error("blocklog", "corrupt entry", "what=%s", what);
    return WEFT_E_CORRUPT;
}

/* ---- encodings ------------------------------------------------------------------------------ */

static void put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void slot_key(uint8_t k[SLOT_KEY], slot_t s)
{
    put_u64be(k, s.period);
    k[8] = s.thread;
}

static slot_t slot_of_key(const uint8_t *k) { return (slot_t){get_u64be(k), k[8]}; }

static void pending_key(uint8_t k[PENDING_KEY], slot_t s, const block_id_t *id)
{
    slot_key(k, s);
    memcpy(k + SLOT_KEY, id->h.b, 32);
}

typedef struct block_val {
    slot_t slot;
    blocklog_status status;
    const uint8_t *rec; /* borrowed from LMDB */
    size_t len;
} block_val;

static weft_err decode_block(const blocklog_t *l, const MDB_val *v, block_val *out)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size <= BLOCK_HDR)
        return corrupt("block value too short");
    out->slot = slot_of_key(p);
    if (out->slot.thread >= l->threads)
        return corrupt("block thread");
    if (p[SLOT_KEY] != BLOCKLOG_PENDING && p[SLOT_KEY] != BLOCKLOG_FINAL)
        return corrupt("block status");
    out->status = (blocklog_status)p[SLOT_KEY];
    out->rec = p + BLOCK_HDR;
    out->len = v->mv_size - BLOCK_HDR;
    return WEFT_OK;
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ---- transactions --------------------------------------------------------------------------- */

static int begin_write(blocklog_t *l, MDB_txn **txn)
{
    int rc = mdb_txn_begin(l->env, NULL, 0, txn);
    if (rc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
        rc = mdb_env_set_mapsize(l->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(l->env, NULL, 0, txn);
    }
    if (rc)
        *txn = NULL;
    return rc;
}

static weft_err grow(blocklog_t *l)
{
    if (l->map_size >= l->map_max)
        return WEFT_E_STORE_MAP_FULL;
    size_t next = l->map_size > l->map_max / 2 ? l->map_max : 2 * l->map_size;
    int rc = mdb_env_set_mapsize(l->env, next);
    if (rc)
        return map_err(rc, "set_mapsize");
    MDB_envinfo info;
    mdb_env_info(l->env, &info);
    l->map_size = info.me_mapsize;
    log_info("blocklog", "map grown", "bytes=%zu", l->map_size);
    return WEFT_OK;
}

/* A write body: returns an LMDB code (MDB_MAP_FULL makes the caller grow and rerun it) and sets
 * *err for everything else (its own refusals and mapped LMDB errors). */
typedef int (*write_body)(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err);

static weft_err run_write(blocklog_t *l, write_body body, void *ctx)
{
    for (;;) {
        MDB_txn *txn;
        int rc = begin_write(l, &txn);
        if (rc)
            return map_err(rc, "txn_begin");
        weft_err err = WEFT_OK;
        rc = body(l, txn, ctx, &err);
        if (rc == 0 && err == WEFT_OK) {
            rc = mdb_txn_commit(txn); /* frees the handle, success or not */
            if (rc == 0)
                return WEFT_OK;
            if (rc != MDB_MAP_FULL)
                return map_err(rc, "commit");
        } else {
            mdb_txn_abort(txn);
            if (rc != MDB_MAP_FULL)
                return err ? err : map_err(rc, "write");
        }
        if ((err = grow(l)))
            return err;
    }
}

/* LMDB failures inside a body: MDB_MAP_FULL goes back to run_write, the rest is mapped here. */
static int fail(int rc, const char *what, weft_err *err)
{
    if (rc != MDB_MAP_FULL)
        *err = map_err(rc, what);
    return rc;
}

static weft_err read_begin(blocklog_t *l, MDB_txn **txn)
{
    int rc = mdb_txn_renew(l->rtxn);
    if (rc)
        return map_err(rc, "txn_renew");
    *txn = l->rtxn;
    return WEFT_OK;
}

static void read_end(blocklog_t *l) { mdb_txn_reset(l->rtxn); }

/* ---- open and close ------------------------------------------------------------------------- */

static weft_err check_meta(blocklog_t *l, MDB_txn *txn, bool *fresh)
{
    MDB_val k = {6, "format"}, v;
    int rc = mdb_get(txn, l->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *fresh = true;
        return WEFT_OK;
    }
    if (rc)
        return map_err(rc, "get format");
    *fresh = false;
    if (v.mv_size != 4)
        return corrupt("format");
    if (get_u32le(v.mv_data) != BLOCKLOG_FORMAT) {
        log_error("blocklog", "unsupported format", "format=%u", get_u32le(v.mv_data));
        return WEFT_E_VERSION;
    }
    k = (MDB_val){7, "threads"};
    rc = mdb_get(txn, l->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return corrupt("threads missing");
    if (rc)
        return map_err(rc, "get threads");
    if (v.mv_size != 4)
        return corrupt("threads");
    uint32_t t = get_u32le(v.mv_data);
    if (t != l->threads) {
        log_error("blocklog", "thread count differs from the log's", "log=%u asked=%u", t,
                  l->threads);
        return WEFT_E_INVAL;
    }
    return WEFT_OK;
}

static int init_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    (void)ctx;
    int rc = mdb_dbi_open(txn, "blocks", MDB_CREATE, &l->blocks);
    if (!rc)
        rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &l->pending);
    if (!rc)
        rc = mdb_dbi_open(txn, "final", MDB_CREATE, &l->final);
    if (!rc)
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &l->meta);
    if (rc)
        return fail(rc, "dbi_open", err);
    bool fresh = false;
    if ((*err = check_meta(l, txn, &fresh)) || !fresh)
        return 0;
    uint8_t b[4];
    put_u32le(b, BLOCKLOG_FORMAT);
    MDB_val k = {6, "format"}, v = {4, b};
    rc = mdb_put(txn, l->meta, &k, &v, 0);
    put_u32le(b, l->threads);
    k = (MDB_val){7, "threads"};
    if (!rc)
        rc = mdb_put(txn, l->meta, &k, &v, 0);
    return rc ? fail(rc, "put meta", err) : 0;
}

weft_err blocklog_open(blocklog_t **out, const blocklog_options *o)
{
    WEFT_MISUSE(out && o && o->dir);
    *out = NULL;
    if (o->thread_count == 0 || o->thread_count > MODEL_MAX_THREADS)
        return WEFT_E_INVAL;
    blocklog_t *l = calloc(1, sizeof *l);
    if (!l)
        return WEFT_E_NOMEM;
    weft_err err = WEFT_OK;
    l->threads = o->thread_count;
    l->map_size = o->map_size ? o->map_size : DEFAULT_MAP;
    l->map_max = o->map_size_max ? o->map_size_max : DEFAULT_MAP_MAX;
    if (l->map_max < l->map_size)
        l->map_max = l->map_size;
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        log_error("blocklog", "cannot create directory", "dir=%s errno=%d", o->dir, errno);
        err = WEFT_E_IO;
        goto out;
    }
    int rc = mdb_env_create(&l->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(l->env, 4);
    /* an existing environment opens with the map size it recorded and keeps it if larger than
     * asked; a new one (nothing past the two meta pages) gets the asked size */
    if (!rc)
        rc = mdb_env_open(l->env, o->dir, MDB_NOTLS | (o->no_sync ? MDB_NOSYNC : 0), 0600);
    MDB_envinfo info;
    if (!rc) {
        mdb_env_info(l->env, &info);
        if (info.me_mapsize < l->map_size || info.me_last_pgno <= 1)
            rc = mdb_env_set_mapsize(l->env, l->map_size);
    }
    if (rc) {
        err = map_err(rc, "env_open");
        goto out;
    }
    int dead = 0;
    mdb_reader_check(l->env, &dead); /* slots of readers that died with their process */
    if (dead)
        log_info("blocklog", "stale readers cleared", "count=%d", dead);
    mdb_env_info(l->env, &info);
    l->map_size = info.me_mapsize;
    if (l->map_max < l->map_size)
        l->map_max = l->map_size;
    if ((err = run_write(l, init_body, NULL)))
        goto out;
    rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &l->rtxn);
    if (rc) {
        l->rtxn = NULL;
        err = map_err(rc, "txn_begin");
        goto out;
    }
    mdb_txn_reset(l->rtxn);
    *out = l;
    l = NULL;
out:
    blocklog_close(l);
    return err;
}

void blocklog_close(blocklog_t *l)
{
    if (!l)
        return;
    if (l->rtxn)
        mdb_txn_abort(l->rtxn);
    if (l->env)
        mdb_env_close(l->env);
    free(l);
}

/* ---- blocks --------------------------------------------------------------------------------- */

typedef struct put_ctx {
    const block_id_t *id;
    slot_t slot;
    const uint8_t *rec;
    size_t len;
} put_ctx;

static int put_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    put_ctx *c = ctx;
    MDB_val k = {32, (void *)c->id->h.b}, v = {BLOCK_HDR + c->len, NULL};
    int rc = mdb_put(txn, l->blocks, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc == MDB_KEYEXIST) {
        *err = WEFT_E_EXISTS;
        return 0;
    }
    if (rc)
        return fail(rc, "put block", err);
    uint8_t *p = v.mv_data;
    slot_key(p, c->slot);
    p[SLOT_KEY] = BLOCKLOG_PENDING;
    memcpy(p + BLOCK_HDR, c->rec, c->len);
    uint8_t pk[PENDING_KEY];
    pending_key(pk, c->slot, c->id);
    k = (MDB_val){PENDING_KEY, pk};
    v = (MDB_val){0, NULL};
    rc = mdb_put(txn, l->pending, &k, &v, 0);
    return rc ? fail(rc, "put pending", err) : 0;
}

weft_err blocklog_put(blocklog_t *l, const block_id_t *id, slot_t slot, const uint8_t *rec,
                      size_t len)
{
    WEFT_MISUSE(l && id && (rec || len == 0));
    if (slot.thread >= l->threads || len == 0)
        return WEFT_E_INVAL;
    put_ctx c = {id, slot, rec, len};
    return run_write(l, put_body, &c);
}

weft_err blocklog_get(blocklog_t *l, const block_id_t *id, slot_t *slot, blocklog_status *status,
                      uint8_t **rec, size_t *len)
{
    WEFT_MISUSE(l && id);
    MDB_txn *txn = NULL;
    weft_err err = read_begin(l, &txn);
    if (err)
        return err;
    MDB_val k = {32, (void *)id->h.b}, v;
    int rc = mdb_get(txn, l->blocks, &k, &v);
    block_val b;
    if (rc == MDB_NOTFOUND)
        err = WEFT_E_NOT_FOUND;
    else if (rc)
        err = map_err(rc, "get block");
    else
        err = decode_block(l, &v, &b);
    if (err)
        goto out;
    if (rec) {
        uint8_t *copy = malloc(b.len);
        if (!copy) {
            err = WEFT_E_NOMEM;
            goto out;
        }
        memcpy(copy, b.rec, b.len);
        *rec = copy;
    }
    if (len)
        *len = b.len;
    if (slot)
        *slot = b.slot;
    if (status)
        *status = b.status;
out:
    read_end(l);
    return err;
}

bool blocklog_has(blocklog_t *l, const block_id_t *id)
{
    return blocklog_get(l, id, NULL, NULL, NULL, NULL) == WEFT_OK;
}

static int remove_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    const block_id_t *id = ctx;
    MDB_val k = {32, (void *)id->h.b}, v;
    int rc = mdb_get(txn, l->blocks, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *err = WEFT_E_NOT_FOUND;
        return 0;
    }
    if (rc)
        return fail(rc, "get block", err);
    block_val b;
    if ((*err = decode_block(l, &v, &b)))
        return 0;
    if (b.status == BLOCKLOG_FINAL) {
        *err = WEFT_E_STATE;
        return 0;
    }
    uint8_t pk[PENDING_KEY];
    pending_key(pk, b.slot, id);
    rc = mdb_del(txn, l->blocks, &k, NULL);
    if (rc)
        return fail(rc, "del block", err);
    k = (MDB_val){PENDING_KEY, pk};
    rc = mdb_del(txn, l->pending, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        *err = corrupt("pending index entry missing");
        return 0;
    }
    return rc ? fail(rc, "del pending", err) : 0;
}

weft_err blocklog_remove(blocklog_t *l, const block_id_t *id)
{
    WEFT_MISUSE(l && id);
    return run_write(l, remove_body, (void *)id);
}

/* ---- finality ------------------------------------------------------------------------------- */

static int get_head(blocklog_t *l, MDB_txn *txn, uint8_t t, uint64_t *period, block_id_t *id,
                    weft_err *err)
{
    uint8_t hk[5] = {'h', 'e', 'a', 'd', t};
    MDB_val k = {5, hk}, v;
    int rc = mdb_get(txn, l->meta, &k, &v);
    if (rc)
        return rc == MDB_NOTFOUND ? rc : fail(rc, "get head", err);
    if (v.mv_size != HEAD_VAL) {
        *err = corrupt("head");
        return 0;
    }
    *period = get_u64be(v.mv_data);
    memcpy(id->h.b, (const uint8_t *)v.mv_data + 8, 32);
    return 0;
}

typedef struct final_ctx {
    const block_id_t *ids;
    size_t n;
} final_ctx;

static int mark_one(blocklog_t *l, MDB_txn *txn, const block_id_t *id, weft_err *err)
{
    MDB_val k = {32, (void *)id->h.b}, v;
    int rc = mdb_get(txn, l->blocks, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *err = WEFT_E_NOT_FOUND;
        return 0;
    }
    if (rc)
        return fail(rc, "get block", err);
    block_val b;
    if ((*err = decode_block(l, &v, &b)) || b.status == BLOCKLOG_FINAL)
        return 0; /* already final: nothing to do */
    /* the status byte is rewritten in a reserved copy: v points into the map and is not ours */
    size_t size = v.mv_size;
    uint8_t *copy = malloc(size);
    if (!copy) {
        *err = WEFT_E_NOMEM;
        return 0;
    }
    memcpy(copy, v.mv_data, size);
    copy[SLOT_KEY] = BLOCKLOG_FINAL;
    v = (MDB_val){size, copy};
    rc = mdb_put(txn, l->blocks, &k, &v, 0);
    free(copy);
    if (rc)
        return fail(rc, "put block", err);

    uint8_t pk[PENDING_KEY];
    pending_key(pk, b.slot, id);
    k = (MDB_val){PENDING_KEY, pk};
    rc = mdb_del(txn, l->pending, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        *err = corrupt("pending index entry missing");
        return 0;
    }
    if (rc)
        return fail(rc, "del pending", err);

    uint8_t sk[SLOT_KEY];
    slot_key(sk, b.slot);
    k = (MDB_val){SLOT_KEY, sk};
    v = (MDB_val){32, (void *)id->h.b};
    rc = mdb_put(txn, l->final, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        *err = WEFT_E_EXISTS; /* another block is final at this slot */
        return 0;
    }
    if (rc)
        return fail(rc, "put final", err);

    uint64_t hp = 0;
    block_id_t hid;
    rc = get_head(l, txn, b.slot.thread, &hp, &hid, err);
    if (*err || (rc && rc != MDB_NOTFOUND))
        return rc == MDB_NOTFOUND ? 0 : rc;
    if (rc == 0 && hp >= b.slot.period)
        return 0; /* heads only move forward */
    uint8_t hk[5] = {'h', 'e', 'a', 'd', b.slot.thread}, hv[HEAD_VAL];
    put_u64be(hv, b.slot.period);
    memcpy(hv + 8, id->h.b, 32);
    k = (MDB_val){5, hk};
    v = (MDB_val){HEAD_VAL, hv};
    rc = mdb_put(txn, l->meta, &k, &v, 0);
    return rc ? fail(rc, "put head", err) : 0;
}

static int final_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    final_ctx *c = ctx;
    for (size_t i = 0; i < c->n; i++) {
        int rc = mark_one(l, txn, &c->ids[i], err);
        if (rc || *err)
            return rc;
    }
    return 0;
}

weft_err blocklog_mark_final(blocklog_t *l, const block_id_t *ids, size_t n)
{
    WEFT_MISUSE(l && (ids || n == 0));
    if (n == 0)
        return WEFT_OK;
    final_ctx c = {ids, n};
    return run_write(l, final_body, &c);
}

/* ---- group commit --------------------------------------------------------------------------- */

typedef struct write_ctx {
    const blocklog_put_rec *puts;
    size_t np;
    final_ctx fin;
    const block_id_t *rm;
    size_t nr;
    size_t skipped;
} write_ctx;

static int group_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    write_ctx *c = ctx;
    c->skipped = 0; /* the body runs again after the map grew */
    for (size_t i = 0; i < c->np; i++) {
        put_ctx p = {c->puts[i].id, c->puts[i].slot, c->puts[i].rec, c->puts[i].len};
        int rc = put_body(l, txn, &p, err);
        if (rc || *err)
            return rc;
    }
    int rc = final_body(l, txn, &c->fin, err);
    for (size_t i = 0; !rc && !*err && i < c->nr; i++) {
        rc = remove_body(l, txn, (void *)&c->rm[i], err);
        if (!rc && (*err == WEFT_E_NOT_FOUND || *err == WEFT_E_STATE)) {
            *err = WEFT_OK;
            c->skipped++;
        }
    }
    return rc;
}

weft_err blocklog_write(blocklog_t *l, const blocklog_put_rec *puts, size_t np,
                        const block_id_t *ids, size_t nf, const block_id_t *rm, size_t nr,
                        size_t *skipped)
{
    WEFT_MISUSE(l && (puts || np == 0) && (ids || nf == 0) && (rm || nr == 0));
    if (skipped)
        *skipped = 0;
    for (size_t i = 0; i < np; i++) {
        WEFT_MISUSE(puts[i].id && (puts[i].rec || puts[i].len == 0));
        if (puts[i].slot.thread >= l->threads || puts[i].len == 0)
            return WEFT_E_INVAL;
    }
    if (np == 0 && nf == 0 && nr == 0)
        return WEFT_OK;
    write_ctx c = {puts, np, {ids, nf}, rm, nr, 0};
    weft_err err = run_write(l, group_body, &c);
    if (!err && skipped)
        *skipped = c.skipped;
    return err;
}

weft_err blocklog_put_final(blocklog_t *l, const block_id_t *id, slot_t slot, const uint8_t *rec,
                            size_t len, const block_id_t *ids, size_t n)
{
    WEFT_MISUSE(l && (rec || len == 0 || !id) && (ids || n == 0));
    blocklog_put_rec p = {id, slot, rec, len};
    return blocklog_write(l, &p, id ? 1 : 0, ids, n, NULL, 0, NULL);
}

weft_err blocklog_heads(blocklog_t *l, block_id_t *ids, slot_t *slots, bool *have)
{
    WEFT_MISUSE(l && ids && slots && have);
    *have = false;
    MDB_txn *txn = NULL;
    weft_err err = read_begin(l, &txn);
    if (err)
        return err;
    block_id_t tid[MODEL_MAX_THREADS];
    uint64_t tp[MODEL_MAX_THREADS];
    bool all = true;
    for (uint32_t t = 0; t < l->threads && all && !err; t++) {
        int rc = get_head(l, txn, (uint8_t)t, &tp[t], &tid[t], &err);
        if (rc == MDB_NOTFOUND)
            all = false;
        else if (rc && !err)
            err = map_err(rc, "get head");
    }
    read_end(l);
    if (err || !all)
        return err;
    for (uint32_t t = 0; t < l->threads; t++) {
        ids[t] = tid[t];
        slots[t] = (slot_t){tp[t], (uint8_t)t};
    }
    *have = true;
    return WEFT_OK;
}

weft_err blocklog_final_at(blocklog_t *l, slot_t slot, block_id_t *id)
{
    WEFT_MISUSE(l && id);
    MDB_txn *txn = NULL;
    weft_err err = read_begin(l, &txn);
    if (err)
        return err;
    uint8_t sk[SLOT_KEY];
    slot_key(sk, slot);
    MDB_val k = {SLOT_KEY, sk}, v;
    int rc = mdb_get(txn, l->final, &k, &v);
    if (rc == MDB_NOTFOUND)
        err = WEFT_E_NOT_FOUND;
    else if (rc)
        err = map_err(rc, "get final");
    else if (v.mv_size != 32)
        err = corrupt("final index value");
    else
        memcpy(id->h.b, v.mv_data, 32);
    read_end(l);
    return err;
}

/* ---- iteration ------------------------------------------------------------------------------ */

/* Walks an index (pending: key slot ‖ id; final: key slot, value id) from key `from` up to key
 * `to` (exclusive; NULL: to the end), reading each block and handing it to the visitor.  Runs in
 * a read transaction of its own so that the visitor may call the log's readers. */
static weft_err walk(blocklog_t *l, MDB_dbi dbi, bool is_final, const uint8_t *from, size_t flen,
                     const uint8_t *to, size_t tlen, blocklog_visit visit, void *ctx)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return map_err(rc, "txn_begin");
    weft_err err = WEFT_OK;
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        err = map_err(rc, "cursor_open");
        goto out;
    }
    MDB_val k = {flen, (void *)from}, v;
    rc = flen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (to) {
            size_t n = k.mv_size < tlen ? k.mv_size : tlen;
            int c = memcmp(k.mv_data, to, n);
            if (c > 0 || (c == 0 && k.mv_size >= tlen))
                break;
        }
        block_id_t id;
        if (is_final ? k.mv_size != SLOT_KEY || v.mv_size != 32 : k.mv_size != PENDING_KEY) {
            err = corrupt(is_final ? "final index entry" : "pending index entry");
            goto out;
        }
        slot_t s = slot_of_key(k.mv_data);
        memcpy(id.h.b, is_final ? v.mv_data : (const uint8_t *)k.mv_data + SLOT_KEY, 32);
        MDB_val bk = {32, id.h.b}, bv;
        int brc = mdb_get(txn, l->blocks, &bk, &bv);
        block_val b;
        if (brc == MDB_NOTFOUND) {
            err = corrupt("indexed block missing");
            goto out;
        }
        if (brc) {
            err = map_err(brc, "get block");
            goto out;
        }
        if ((err = decode_block(l, &bv, &b)))
            goto out;
        if (slot_cmp(b.slot, s) != 0 ||
            b.status != (is_final ? BLOCKLOG_FINAL : BLOCKLOG_PENDING)) {
            err = corrupt("index entry disagrees with its block");
            goto out;
        }
        if (!visit(ctx, &id, s, b.rec, b.len)) {
            rc = 0;
            break;
        }
    }
    if (rc && rc != MDB_NOTFOUND)
        err = map_err(rc, "cursor_get");
out:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return err;
}

weft_err blocklog_foreach_pending(blocklog_t *l, blocklog_visit visit, void *ctx)
{
    WEFT_MISUSE(l && visit);
    return walk(l, l->pending, false, NULL, 0, NULL, 0, visit, ctx);
}

weft_err blocklog_foreach_final(blocklog_t *l, slot_t from, slot_t to, blocklog_visit visit,
                                void *ctx)
{
    WEFT_MISUSE(l && visit);
    if (slot_cmp(from, to) >= 0)
        return WEFT_OK;
    uint8_t fk[SLOT_KEY], tk[SLOT_KEY];
    slot_key(fk, from);
    slot_key(tk, to);
    return walk(l, l->final, true, fk, SLOT_KEY, tk, SLOT_KEY, visit, ctx);
}

typedef struct prune_ctx {
    uint64_t below;
    size_t removed;
} prune_ctx;

static int prune_body(blocklog_t *l, MDB_txn *txn, void *ctx, weft_err *err)
{
    prune_ctx *c = ctx;
    c->removed = 0; /* the body may run again after the map grew */
    uint64_t hp[MODEL_MAX_THREADS];
    bool have[MODEL_MAX_THREADS];
    for (uint32_t t = 0; t < l->threads; t++) {
        block_id_t hid;
        int rc = get_head(l, txn, (uint8_t)t, &hp[t], &hid, err);
        if (*err || (rc && rc != MDB_NOTFOUND))
            return rc == MDB_NOTFOUND ? 0 : rc;
        have[t] = rc == 0;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, l->final, &cur);
    if (rc)
        return fail(rc, "cursor_open", err);
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SLOT_KEY || v.mv_size != 32) {
            *err = corrupt("final index entry");
            break;
        }
        slot_t s = slot_of_key(k.mv_data);
        if (s.period >= c->below)
            break;
        if (s.thread < l->threads && have[s.thread] && hp[s.thread] == s.period)
            continue; /* a head */
        uint8_t id[32];
        memcpy(id, v.mv_data, 32);
        MDB_val bk = {32, id};
        rc = mdb_del(txn, l->blocks, &bk, NULL);
        if (rc && rc != MDB_NOTFOUND)
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc)
            break;
        c->removed++;
    }
    mdb_cursor_close(cur);
    if (*err || rc == MDB_NOTFOUND)
        return 0;
    return fail(rc, "prune", err);
}

weft_err blocklog_prune_final(blocklog_t *l, uint64_t below_period, size_t *removed)
{
    WEFT_MISUSE(l);
    prune_ctx c = {below_period, 0};
    weft_err err = run_write(l, prune_body, &c);
    if (removed)
        *removed = err ? 0 : c.removed;
    return err;
}

void blocklog_get_stats(blocklog_t *l, blocklog_stats *out)
{
    WEFT_MISUSE(l && out);
    *out = (blocklog_stats){.map_size = l->map_size};
    MDB_txn *txn = NULL;
    if (read_begin(l, &txn))
        return;
    MDB_stat sp, sb;
    if (mdb_stat(txn, l->pending, &sp) == 0 && mdb_stat(txn, l->blocks, &sb) == 0) {
        out->pending = sp.ms_entries;
        out->final = sb.ms_entries >= sp.ms_entries ? sb.ms_entries - sp.ms_entries : 0;
    }
    read_end(l);
}
