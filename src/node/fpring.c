/* fpring — the fingerprints of the last final slots (fpring.h). */
#include "fpring.h"

#include <stdlib.h>
#include <string.h>

weft_err fpring_init(fpring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    if (!cap)
        return WEFT_OK;
    r->e = calloc(cap, sizeof *r->e);
    if (!r->e)
        return WEFT_E_NOMEM;
    r->cap = cap;
    return WEFT_OK;
}

void fpring_free(fpring *r)
{
    free(r->e);
    memset(r, 0, sizeof *r);
}

void fpring_clear(fpring *r)
{
    if (r->cap)
        memset(r->e, 0, r->cap * sizeof *r->e);
}

/* The index + 1 of a slot whose thread is below T (callers check that its period fits). */
static uint64_t idx1_of(const model_params *p, slot_t s)
{
    return s.period * p->thread_count + s.thread + 1;
}

void fpring_put(fpring *r, const model_params *p, slot_t s, const uint8_t fp[NODE_STATE_FP_LEN])
{
    if (!r->cap || s.thread >= p->thread_count ||
        s.period > (UINT64_MAX - p->thread_count) / p->thread_count)
        return;
    uint64_t i = idx1_of(p, s);
    fpring_entry *e = &r->e[i % r->cap];
    e->idx1 = i;
    memcpy(e->fp, fp, NODE_STATE_FP_LEN);
}

/* The entry of slot s (thread < T, checked by the caller), if the ring holds it (a period no
 * index holds: none). */
static const fpring_entry *find(const fpring *r, const model_params *p, slot_t s)
{
    if (!r->cap || s.period > (UINT64_MAX - p->thread_count) / p->thread_count)
        return NULL;
    uint64_t i = idx1_of(p, s);
    const fpring_entry *e = &r->e[i % r->cap];
    return e->idx1 == i ? e : NULL;
}

node_fp_status fpring_get(const fpring *r, const model_params *p, bool has_cursor, slot_t cursor,
                          slot_t s, uint8_t fp[NODE_STATE_FP_LEN])
{
    if (s.thread >= p->thread_count)
        return NODE_FP_NOT_KEPT;
    if (!has_cursor || slot_cmp(s, cursor) > 0) /* also every period whose index overflows */
        return NODE_FP_AHEAD;
    const fpring_entry *e = find(r, p, s);
    if (!e)
        return NODE_FP_NOT_KEPT;
    memcpy(fp, e->fp, NODE_STATE_FP_LEN);
    return NODE_FP_KNOWN;
}
