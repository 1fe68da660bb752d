/* The fault-injecting kv wrapper: counts writes (put, del, commit), fails the chosen one, or
 * crashes before the chosen one — through a callback (a forked child's _exit: a real crash) or in
 * process (the inner transaction is dropped and everything fails from then on, as after a crash
 * of the process that owned it). */
#include "store/store.h"

/* Counts a write; returns an error if this write must not reach the inner kv. */
static weft_err fault_step(store_fault_t *f)
{
    if (f->crashed)
        return WEFT_E_STORE_CRASHED;
    if (f->poisoned)
        return WEFT_E_STORE_POISONED;
    f->writes++;
    if (f->crash_at && f->writes == f->crash_at) {
        if (f->crash)
            f->crash(f->crash_ctx);
        f->inner.vt->abort(f->inner.self);
        f->crashed = true;
        return WEFT_E_STORE_CRASHED;
    }
    if (f->fail_at && f->writes == f->fail_at) {
        f->poisoned = true;
        return WEFT_E_STORE_FAULT;
    }
    return WEFT_OK;
}

static weft_err fw_get(void *self, state_table t, const uint8_t *key, size_t klen, wr_t *out)
{
    store_fault_t *f = self;
    if (f->crashed)
        return WEFT_E_STORE_CRASHED;
    if (f->poisoned)
        return WEFT_E_STORE_POISONED;
    return f->inner.vt->get(f->inner.self, t, key, klen, out);
}

static weft_err fw_scan(void *self, state_table t, const uint8_t *from, size_t flen,
                        const uint8_t *to, size_t tlen, state_scan_cb cb, void *ctx)
{
    store_fault_t *f = self;
    if (f->crashed)
        return WEFT_E_STORE_CRASHED;
    if (f->poisoned)
        return WEFT_E_STORE_POISONED;
    return f->inner.vt->scan(f->inner.self, t, from, flen, to, tlen, cb, ctx);
}

static weft_err fw_begin(void *self)
{
    store_fault_t *f = self;
    if (f->crashed)
        return WEFT_E_STORE_CRASHED;
    f->poisoned = false;
    return f->inner.vt->begin(f->inner.self);
}

static weft_err fw_put(void *self, state_table t, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen)
{
    store_fault_t *f = self;
    weft_err err = fault_step(f);
    return err ? err : f->inner.vt->put(f->inner.self, t, key, klen, val, vlen);
}

static weft_err fw_del(void *self, state_table t, const uint8_t *key, size_t klen)
{
    store_fault_t *f = self;
    weft_err err = fault_step(f);
    return err ? err : f->inner.vt->del(f->inner.self, t, key, klen);
}

static weft_err fw_commit(void *self)
{
    store_fault_t *f = self;
    weft_err err = fault_step(f);
    if (err == WEFT_E_STORE_FAULT || err == WEFT_E_STORE_POISONED) {
        f->inner.vt->abort(f->inner.self); /* commit consumes the transaction, even failing */
        f->poisoned = false;
    }
    return err ? err : f->inner.vt->commit(f->inner.self);
}

static void fw_abort(void *self)
{
    store_fault_t *f = self;
    f->poisoned = false;
    if (!f->crashed)
        f->inner.vt->abort(f->inner.self);
}

static const state_kv_vtbl fault_vtbl = {
    .get = fw_get,
    .scan = fw_scan,
    .begin = fw_begin,
    .put = fw_put,
    .del = fw_del,
    .commit = fw_commit,
    .abort = fw_abort,
};

void store_fault_init(store_fault_t *f, state_kv_t inner) { *f = (store_fault_t){.inner = inner}; }

state_kv_t store_fault_kv(store_fault_t *f) { return (state_kv_t){&fault_vtbl, f}; }
