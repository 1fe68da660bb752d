/* Slots, periods and time (DESIGN §2): slot time = genesis + period*t0 + thread*(t0/T). */
#include "model/model.h"

int slot_cmp(slot_t a, slot_t b)
{
    if (a.period != b.period)
        return a.period < b.period ? -1 : 1;
    if (a.thread != b.thread)
        return a.thread < b.thread ? -1 : 1;
    return 0;
}

weft_err slot_next(const model_params *p, slot_t *out, slot_t s)
{
    WEFT_MISUSE(s.thread < p->thread_count);
    if (s.thread + 1u < p->thread_count) {
        *out = (slot_t){s.period, (uint8_t)(s.thread + 1)};
        return WEFT_OK;
    }
    if (s.period == UINT64_MAX)
        return WEFT_E_OVERFLOW;
    *out = (slot_t){s.period + 1, 0};
    return WEFT_OK;
}

weft_err slot_index(const model_params *p, uint64_t *out, slot_t s)
{
    uint64_t v;
    if (!u64_mul(&v, s.period, p->thread_count) || !u64_add(&v, v, s.thread))
        return WEFT_E_OVERFLOW;
    *out = v;
    return WEFT_OK;
}

weft_err slot_time(const model_params *p, uint64_t *out_ms, slot_t s)
{
    uint64_t t, step = p->t0_ms / p->thread_count;
    if (!u64_mul(&t, s.period, p->t0_ms) || !u64_add(&t, t, (uint64_t)s.thread * step) ||
        !u64_add(&t, t, p->genesis_timestamp_ms))
        return WEFT_E_OVERFLOW;
    *out_ms = t;
    return WEFT_OK;
}

weft_err slot_at_time(const model_params *p, slot_t *out, uint64_t t_ms)
{
    if (t_ms < p->genesis_timestamp_ms)
        return WEFT_E_RANGE;
    uint64_t since = t_ms - p->genesis_timestamp_ms, step = p->t0_ms / p->thread_count;
    uint64_t n = since / step; /* slot index */
    *out = (slot_t){n / p->thread_count, (uint8_t)(n % p->thread_count)};
    return WEFT_OK;
}

weft_err slot_next_after_time(const model_params *p, slot_t *out, uint64_t t_ms)
{
    if (t_ms < p->genesis_timestamp_ms) {
        *out = (slot_t){0, 0};
        return WEFT_OK;
    }
    slot_t s;
    weft_err e = slot_at_time(p, &s, t_ms);
    if (e)
        return e;
    return slot_next(p, out, s);
}
