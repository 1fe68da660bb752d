/* The LMDB-backed storage: one environment, a named database per state table, a reusable read
 * transaction for reads outside writes, and one write transaction at a time with a replay log so
 * that a full map grows and the whole transaction is replayed instead of failing. */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"

typedef struct logged {
    state_table t;
    bool del;
    uint8_t *key; /* key ‖ value, one allocation */
    size_t klen, vlen;
} logged;

struct store_snap {
    store_t *s; /* NULL once the store closed */
    MDB_txn *txn;
    store_snap_t *next;
};

struct store {
    MDB_env *env;
    MDB_dbi dbi[STATE_T_COUNT];
    MDB_txn *rtxn; /* reset between reads */
    MDB_txn *wtxn;
    bool poisoned;
    size_t map_size, map_max;
    logged *log;
    size_t log_len, log_cap;
    store_snap_t *snaps; /* open snapshots */
};

weft_err store_lmdb_err(int rc, const char *module, const char *what)
{
    switch (rc) {
    case 0:
        return WEFT_OK;
    case ENOMEM:
        return WEFT_E_NOMEM;
    case EIO:
    case ENOSPC:
        log_error(module, "I/O error", "op=%s err=%s", what, mdb_strerror(rc));
        return WEFT_E_IO;
    case MDB_MAP_FULL:
        return WEFT_E_STORE_MAP_FULL;
    case MDB_BAD_VALSIZE:
        return WEFT_E_LIMIT;
    case MDB_READERS_FULL:
        return WEFT_E_BUSY;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        log_error(module, "LMDB reports corruption", "op=%s err=%s", what, mdb_strerror(rc));
        return WEFT_E_CORRUPT;
    default:
        log_error(module, "LMDB error", "op=%s err=%s", what, mdb_strerror(rc));
        return WEFT_E_STORE_LMDB;
    }
}

static weft_err map_err(int rc, const char *what) { return store_lmdb_err(rc, "store", what); }

static void log_clear(store_t *s)
{
    for (size_t i = 0; i < s->log_len; i++)
        free(s->log[i].key);
    s->log_len = 0;
}

static weft_err log_add(store_t *s, state_table t, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen, bool del)
{
    if (s->log_len == s->log_cap) {
        size_t cap = s->log_cap ? 2 * s->log_cap : 256;
        logged *l = realloc(s->log, cap * sizeof *l);
        if (!l)
            return WEFT_E_NOMEM;
        s->log = l;
        s->log_cap = cap;
    }
    uint8_t *b = malloc(klen + vlen + 1);
    if (!b)
        return WEFT_E_NOMEM;
    if (klen)
        memcpy(b, key, klen);
    if (vlen)
        memcpy(b + klen, val, vlen);
    s->log[s->log_len++] = (logged){t, del, b, klen, vlen};
    return WEFT_OK;
}

static int raw_write(store_t *s, const logged *l)
{
    MDB_val k = {l->klen, l->key}, v = {l->vlen, l->key + l->klen};
    if (l->del) {
        int rc = mdb_del(s->wtxn, s->dbi[l->t], &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_put(s->wtxn, s->dbi[l->t], &k, &v, 0);
}

/* The map can change size only without read transactions in this process: snapshots end. */
static void snaps_drop(store_t *s)
{
    for (store_snap_t *sn = s->snaps; sn; sn = sn->next)
        if (sn->txn) {
            mdb_txn_abort(sn->txn);
            sn->txn = NULL;
        }
}

static int begin_write(store_t *s)
{
    int rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
    if (rc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
        snaps_drop(s);
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
    }
    if (rc)
        s->wtxn = NULL;
    return rc;
}

/* The map is full: drop the transaction, double the map (up to the limit), begin again and replay
 * every logged write.  Loops while the replay itself fills the new map. */
static weft_err grow_and_replay(store_t *s)
{
    for (;;) {
        if (s->wtxn) {
            mdb_txn_abort(s->wtxn);
            s->wtxn = NULL;
        }
        if (s->map_size >= s->map_max)
            return WEFT_E_STORE_MAP_FULL;
        size_t next = s->map_size > s->map_max / 2 ? s->map_max : 2 * s->map_size;
        snaps_drop(s);
        int rc = mdb_env_set_mapsize(s->env, next);
        if (rc)
            return map_err(rc, "set_mapsize");
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
        log_info("store", "map grown", "bytes=%zu", s->map_size);
        rc = begin_write(s);
        if (rc)
            return map_err(rc, "txn_begin");
        for (size_t i = 0; i < s->log_len && rc == 0; i++)
            rc = raw_write(s, &s->log[i]);
        if (rc == MDB_MAP_FULL)
            continue;
        return map_err(rc, "replay");
    }
}

static void poison(store_t *s) { s->poisoned = true; }

/* ---- the state_kv_t implementation ------------------------------------------------------------
 */

static weft_err check_table(state_table t)
{
    return (unsigned)t < STATE_T_COUNT ? WEFT_OK : WEFT_E_INVAL;
}

/* The transaction for reads: the write transaction if open, else the renewed read transaction. */
static weft_err read_txn(store_t *s, MDB_txn **out)
{
    if (s->wtxn) {
        if (s->poisoned)
            return WEFT_E_STORE_POISONED;
        *out = s->wtxn;
        return WEFT_OK;
    }
    int rc = mdb_txn_renew(s->rtxn);
    if (rc)
        return map_err(rc, "txn_renew");
    *out = s->rtxn;
    return WEFT_OK;
}

static void read_done(store_t *s, MDB_txn *txn)
{
    if (txn == s->rtxn)
        mdb_txn_reset(s->rtxn);
}

static weft_err txn_get(store_t *s, MDB_txn *txn, state_table t, const uint8_t *key, size_t klen,
                        wr_t *out)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, s->dbi[t], &k, &v);
    out->len = 0;
    out->err = WEFT_OK;
    if (rc == 0) {
        wr_bytes(out, v.mv_data, v.mv_size);
        return wr_err(out);
    }
    return rc == MDB_NOTFOUND ? WEFT_E_NOT_FOUND : map_err(rc, "get");
}

static weft_err st_get(void *self, state_table t, const uint8_t *key, size_t klen, wr_t *out)
{
    store_t *s = self;
    weft_err err = check_table(t);
    if (err)
        return err;
    if (klen == 0)
        return WEFT_E_NOT_FOUND; /* LMDB has no empty keys */
    MDB_txn *txn = NULL;
    if ((err = read_txn(s, &txn)))
        return err;
    err = txn_get(s, txn, t, key, klen, out);
    read_done(s, txn);
    return err;
}

static int key_cmp(const MDB_val *k, const uint8_t *b, size_t blen)
{
    const uint8_t *a = k->mv_data;
    size_t n = k->mv_size < blen ? k->mv_size : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return k->mv_size < blen ? -1 : k->mv_size > blen ? 1 : 0;
}

static weft_err txn_scan(store_t *s, MDB_txn *txn, state_table t, const uint8_t *from, size_t flen,
                         const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    weft_err err = WEFT_OK;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[t], &cur);
    if (rc)
        return map_err(rc, "cursor_open");
    MDB_val k = {flen, (void *)from}, v;
    rc = flen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (to && key_cmp(&k, to, tlen) >= 0)
            break;
        if (!cb(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND)
        err = map_err(rc, "cursor_get");
    mdb_cursor_close(cur);
    return err;
}

static weft_err st_scan(void *self, state_table t, const uint8_t *from, size_t flen,
                        const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    store_t *s = self;
    weft_err err = check_table(t);
    if (err)
        return err;
    MDB_txn *txn = NULL;
    if ((err = read_txn(s, &txn)))
        return err;
    err = txn_scan(s, txn, t, from, flen, to, tlen, cb, ctx);
    read_done(s, txn);
    return err;
}

static weft_err st_begin(void *self)
{
    store_t *s = self;
    if (s->wtxn)
        return WEFT_E_STATE;
    s->poisoned = false;
    log_clear(s);
    int rc = begin_write(s);
    return map_err(rc, "txn_begin");
}

static weft_err st_write(store_t *s, state_table t, const uint8_t *key, size_t klen,
                         const uint8_t *val, size_t vlen, bool del)
{
    if (!s->wtxn)
        return WEFT_E_STATE;
    if (s->poisoned)
        return WEFT_E_STORE_POISONED;
    weft_err err = check_table(t); /* key sizes are LMDB's to refuse (MDB_BAD_VALSIZE) */
    if (!err)
        err = log_add(s, t, key, klen, val, vlen, del);
    if (err) {
        poison(s);
        return err;
    }
    int rc = raw_write(s, &s->log[s->log_len - 1]);
    if (rc == MDB_MAP_FULL)
        err = grow_and_replay(s);
    else
        err = map_err(rc, del ? "del" : "put");
    if (err)
        poison(s);
    return err;
}

static weft_err st_put(void *self, state_table t, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen)
{
    return st_write(self, t, key, klen, val, vlen, false);
}

static weft_err st_del(void *self, state_table t, const uint8_t *key, size_t klen)
{
    return st_write(self, t, key, klen, NULL, 0, true);
}

static void st_abort(void *self)
{
    store_t *s = self;
    if (s->wtxn)
        mdb_txn_abort(s->wtxn);
    s->wtxn = NULL;
    s->poisoned = false;
    log_clear(s);
}

static weft_err st_commit(void *self)
{
    store_t *s = self;
    if (!s->wtxn)
        return WEFT_E_STATE;
    if (s->poisoned) {
        st_abort(s);
        return WEFT_E_STORE_POISONED;
    }
    weft_err err;
    for (;;) {
        int rc = mdb_txn_commit(s->wtxn); /* frees the handle, success or not */
        s->wtxn = NULL;
        if (rc != MDB_MAP_FULL) {
            err = map_err(rc, "commit");
            break;
        }
        err = grow_and_replay(s);
        if (err)
            break;
    }
    st_abort(s); /* clears the log; the handle is already gone */
    return err;
}

static const state_kv_vtbl store_vtbl = {
    .get = st_get,
    .scan = st_scan,
    .begin = st_begin,
    .put = st_put,
    .del = st_del,
    .commit = st_commit,
    .abort = st_abort,
};

state_kv_t store_kv(store_t *s) { return (state_kv_t){&store_vtbl, s}; }

/* ---- snapshots ------------------------------------------------------------------------------- */

static weft_err snap_txn(store_snap_t *sn, state_table t, MDB_txn **txn)
{
    if (!sn->s || !sn->txn)
        return WEFT_E_STORE_SNAPSHOT;
    *txn = sn->txn;
    return check_table(t);
}

static weft_err sn_get(void *self, state_table t, const uint8_t *key, size_t klen, wr_t *out)
{
    store_snap_t *sn = self;
    MDB_txn *txn;
    weft_err err = snap_txn(sn, t, &txn);
    if (err)
        return err;
    if (klen == 0)
        return WEFT_E_NOT_FOUND;
    return txn_get(sn->s, txn, t, key, klen, out);
}

static weft_err sn_scan(void *self, state_table t, const uint8_t *from, size_t flen,
                        const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    store_snap_t *sn = self;
    MDB_txn *txn;
    weft_err err = snap_txn(sn, t, &txn);
    return err ? err : txn_scan(sn->s, txn, t, from, flen, to, tlen, cb, ctx);
}

static weft_err sn_begin(void *self)
{
    (void)self;
    return WEFT_E_STATE; /* read-only */
}

static weft_err sn_put(void *self, state_table t, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen)
{
    (void)self, (void)t, (void)key, (void)klen, (void)val, (void)vlen;
    return WEFT_E_STATE;
}

static weft_err sn_del(void *self, state_table t, const uint8_t *key, size_t klen)
{
    (void)self, (void)t, (void)key, (void)klen;
    return WEFT_E_STATE;
}

static void sn_abort(void *self) { (void)self; }

static const state_kv_vtbl snap_vtbl = {
    .get = sn_get,
    .scan = sn_scan,
    .begin = sn_begin,
    .put = sn_put,
    .del = sn_del,
    .commit = sn_begin,
    .abort = sn_abort,
};

weft_err store_snapshot_open(store_t *s, store_snap_t **out)
{
    *out = NULL;
    store_snap_t *sn = calloc(1, sizeof *sn);
    if (!sn)
        return WEFT_E_NOMEM;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &sn->txn);
    if (rc) {
        free(sn);
        return map_err(rc, "snapshot");
    }
    sn->s = s;
    sn->next = s->snaps;
    s->snaps = sn;
    *out = sn;
    return WEFT_OK;
}

state_kv_t store_snapshot_kv(store_snap_t *sn) { return (state_kv_t){&snap_vtbl, sn}; }

bool store_snapshot_live(const store_snap_t *sn) { return sn->s && sn->txn; }

void store_snapshot_close(store_snap_t *sn)
{
    if (!sn)
        return;
    if (sn->txn)
        mdb_txn_abort(sn->txn);
    if (sn->s) {
        store_snap_t **pp = &sn->s->snaps;
        while (*pp != sn)
            pp = &(*pp)->next;
        *pp = sn->next;
    }
    free(sn);
}
size_t store_map_size(const store_t *s) { return s->map_size; }

/* ---- open and close ------------------------------------------------------------------------- */

weft_err store_open(store_t **out, const store_options *o)
{
    WEFT_MISUSE(out && o && o->dir);
    *out = NULL;
    store_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    weft_err err = WEFT_OK;
    s->map_size = o->map_size ? o->map_size : STORE_DEFAULT_MAP_SIZE;
    s->map_max = o->map_size_max ? o->map_size_max : STORE_DEFAULT_MAP_MAX;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        log_error("store", "cannot create directory", "dir=%s errno=%d", o->dir, errno);
        err = WEFT_E_IO;
        goto out;
    }
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, STATE_T_COUNT + 4);
    /* no size before opening: an existing environment opens with the map size it recorded and
     * keeps it if larger than asked; a new one (nothing past the two meta pages) gets the size */
    if (!rc)
        rc = mdb_env_open(s->env, o->dir, MDB_NOTLS | (o->no_sync ? MDB_NOSYNC : 0), 0600);
    MDB_envinfo info;
    if (!rc) {
        mdb_env_info(s->env, &info);
        if (info.me_mapsize < s->map_size || info.me_last_pgno <= 1)
            rc = mdb_env_set_mapsize(s->env, s->map_size);
    }
    if (rc) {
        err = map_err(rc, "env_open");
        goto out;
    }
    int dead;
    mdb_reader_check(s->env, &dead);
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;

    MDB_txn *txn = NULL;
    rc = begin_write(s);
    if (rc) {
        err = map_err(rc, "txn_begin");
        goto out;
    }
    txn = s->wtxn;
    s->wtxn = NULL;
    for (unsigned t = 0; t < STATE_T_COUNT && !rc; t++)
        rc = mdb_dbi_open(txn, state_table_name((state_table)t), MDB_CREATE, &s->dbi[t]);
    if (rc) {
        mdb_txn_abort(txn);
        err = map_err(rc, "dbi_open");
        goto out;
    }
    rc = mdb_txn_commit(txn);
    if (!rc)
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn);
    if (rc) {
        s->rtxn = NULL;
        err = map_err(rc, "open");
        goto out;
    }
    mdb_txn_reset(s->rtxn);
    *out = s;
    s = NULL;
out:
    store_close(s);
    return err;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    snaps_drop(s);
    for (store_snap_t *sn = s->snaps; sn; sn = sn->next)
        sn->s = NULL; /* their handles stay valid: reads fail, close frees them */
    st_abort(s);
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    if (s->env)
        mdb_env_close(s->env);
    free(s->log);
    free(s);
}
