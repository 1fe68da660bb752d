/* pos selector: the genesis rolls, a bounded cache of drawn cycles fed from lookback inputs, and
 * the queries consensus, factories, the pool and the API ask (producer and endorsers of a slot, an
 * address's draws over a slot range). */
#include <stdlib.h>
#include <string.h>

#include "pos/pos.h"
#include "pos/pos_internal.h"

struct pos_selector {
    model_params p;
    pos_stake_t *genesis; /* sorted, nonzero rolls */
    size_t genesis_count;
    size_t max_cycles;
    pos_cycle_draws_t **cycles; /* ascending by cycle, at most max_cycles */
    size_t count;
};

weft_err pos_selector_new(pos_selector_t **out, const model_params *p, const pos_stake_t *genesis,
                          size_t genesis_count, size_t max_cycles)
{
    WEFT_MISUSE(out && p && (genesis || genesis_count == 0) && max_cycles >= 1);
    *out = NULL;
    if (model_params_check(p) != WEFT_OK)
        return WEFT_E_INVAL;
    pos_selector_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    uint64_t total;
    weft_err err =
        pos_stakes_sorted(&s->genesis, &s->genesis_count, &total, genesis, genesis_count);
    if (err)
        goto out;
    s->cycles = calloc(max_cycles + 1, sizeof(pos_cycle_draws_t *));
    if (!s->cycles) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    s->p = *p;
    s->max_cycles = max_cycles;
    *out = s;
    s = NULL;
out:
    pos_selector_free(s);
    return err;
}

void pos_selector_free(pos_selector_t *s)
{
    if (!s)
        return;
    if (s->cycles)
        for (size_t i = 0; i < s->count; i++)
            pos_cycle_draws_free(s->cycles[i]);
    free(s->cycles);
    free(s->genesis);
    free(s);
}

static weft_err check_lookback(const pos_selector_t *s, const pos_lookback_t *lb)
{
    uint64_t slots = s->p.periods_per_cycle * s->p.thread_count; /* bounded by pos_draw_cycle */
    if (lb->seed_bit_count != slots)
        return WEFT_E_POS_LOOKBACK;
    if ((!lb->seed_bits && lb->seed_bit_count) || (!lb->rolls && lb->roll_count))
        return WEFT_E_POS_LOOKBACK;
    for (size_t i = lb->seed_bit_count; i % 8 != 0; i++)
        if (pos_bit_get(lb->seed_bits, i))
            return WEFT_E_POS_LOOKBACK;
    return WEFT_OK;
}

weft_err pos_selector_feed(pos_selector_t *s, const pos_lookback_t *lb)
{
    WEFT_MISUSE(s && lb);
    hash32_t seed;
    pos_cycle_draws_t *d = NULL;
    weft_err err;
    if (lb->cycle < POS_LOOKBACK_ROLLS) {
        pos_genesis_seed(&seed, lb->cycle);
        err = pos_draw_cycle(&d, &s->p, lb->cycle, s->genesis, s->genesis_count, &seed);
    } else {
        uint64_t slots;
        if (!u64_mul(&slots, s->p.periods_per_cycle, s->p.thread_count) ||
            slots > POS_MAX_CYCLE_DRAWS)
            return WEFT_E_LIMIT;
        err = check_lookback(s, lb);
        if (err)
            return err;
        pos_cycle_seed(&seed, lb->cycle, lb->seed_bits, lb->seed_bit_count, &lb->state_hash);
        err = pos_draw_cycle(&d, &s->p, lb->cycle, lb->rolls, lb->roll_count, &seed);
    }
    if (err)
        return err;

    /* insert in cycle order, replacing an earlier draw of the same cycle */
    size_t i = 0;
    while (i < s->count && s->cycles[i]->cycle < lb->cycle)
        i++;
    if (i < s->count && s->cycles[i]->cycle == lb->cycle) {
        pos_cycle_draws_free(s->cycles[i]);
        s->cycles[i] = d;
        return WEFT_OK;
    }
    memmove(&s->cycles[i + 1], &s->cycles[i], (s->count - i) * sizeof(pos_cycle_draws_t *));
    s->cycles[i] = d;
    s->count++;
    if (s->count > s->max_cycles) { /* evict the lowest cycle */
        pos_cycle_draws_free(s->cycles[0]);
        memmove(&s->cycles[0], &s->cycles[1], (s->count - 1) * sizeof(pos_cycle_draws_t *));
        s->count--;
    }
    return WEFT_OK;
}

const pos_cycle_draws_t *pos_selector_cycle(const pos_selector_t *s, uint64_t cycle)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t c = s->cycles[mid]->cycle;
        if (c == cycle)
            return s->cycles[mid];
        if (c < cycle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool pos_selector_has_cycle(const pos_selector_t *s, uint64_t cycle)
{
    return pos_selector_cycle(s, cycle) != NULL;
}

static const pos_cycle_draws_t *cycle_of_slot(const pos_selector_t *s, slot_t slot)
{
    WEFT_MISUSE(slot.thread < s->p.thread_count);
    return pos_selector_cycle(s, cycle_of_period(&s->p, slot.period));
}

weft_err pos_selector_producer(const pos_selector_t *s, slot_t slot, address_t *out)
{
    const pos_cycle_draws_t *d = cycle_of_slot(s, slot);
    if (!d)
        return WEFT_E_POS_CYCLE_UNAVAILABLE;
    return pos_cycle_producer(d, slot, out);
}

weft_err pos_selector_endorsers(const pos_selector_t *s, slot_t slot, address_t *out)
{
    const pos_cycle_draws_t *d = cycle_of_slot(s, slot);
    if (!d)
        return WEFT_E_POS_CYCLE_UNAVAILABLE;
    return pos_cycle_endorsers(d, slot, out);
}

weft_err pos_selector_address_draws(const pos_selector_t *s, const address_t *addr, slot_t from,
                                    slot_t to, pos_draw_visit visit, void *ctx)
{
    WEFT_MISUSE(s && addr && visit && from.thread < s->p.thread_count &&
                to.thread < s->p.thread_count);
    if (slot_cmp(from, to) >= 0)
        return WEFT_OK;
    /* the last slot of the range: the one before `to` */
    slot_t last = to.thread > 0 ? (slot_t){to.period, (uint8_t)(to.thread - 1)}
                                : (slot_t){to.period - 1, (uint8_t)(s->p.thread_count - 1)};
    uint64_t c0 = cycle_of_period(&s->p, from.period), c1 = cycle_of_period(&s->p, last.period);
    for (uint64_t c = c0;; c++) {
        if (!pos_selector_has_cycle(s, c))
            return WEFT_E_POS_CYCLE_UNAVAILABLE;
        if (c == c1)
            break;
    }
    const pos_cycle_draws_t *d = NULL;
    long idx = -1;
    for (slot_t sl = from;;) {
        uint64_t c = cycle_of_period(&s->p, sl.period);
        if (!d || d->cycle != c) {
            d = pos_selector_cycle(s, c);
            idx = pos_staker_index(d, addr);
        }
        if (idx >= 0) {
            const uint32_t *draws = pos_slot_draws(d, sl);
            WEFT_ASSERT(draws);
            for (uint32_t k = 0; k < d->per_slot; k++)
                if (draws[k] == (uint32_t)idx && !visit(ctx, sl, (int32_t)k - 1))
                    return WEFT_OK;
        }
        if (slot_cmp(sl, last) == 0)
            break;
        if (slot_next(&s->p, &sl, sl) != WEFT_OK)
            break;
    }
    return WEFT_OK;
}
