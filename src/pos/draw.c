/* pos draw primitives: Xoshiro256++ seeded from a hash, unbiased bounded integers by rejection,
 * seed bits of slots, cycle seeds, and the draws of one cycle (docs/consensus.md §1). */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "pos/pos.h"
#include "pos/pos_internal.h"

/* ---- Xoshiro256++ ---------------------------------------------------------------------------- */

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void pos_rng_seed(pos_rng_t *r, const hash32_t *seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--)
            w = (w << 8) | seed->b[8 * i + j];
        r->s[i] = w;
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 0x9E3779B97F4A7C15ull;
}

uint64_t pos_rng_next(pos_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t pos_rng_below(pos_rng_t *r, uint64_t n)
{
    WEFT_MISUSE(n > 0);
    uint64_t rem = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = pos_rng_next(r);
        if (x <= UINT64_MAX - rem) /* [0, 2^64 − rem) holds a whole number of copies of [0, n) */
            return x % n;
    }
}

/* ---- seeds ----------------------------------------------------------------------------------- */

static void put_u64be(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

bool pos_slot_seed_bit(slot_t slot, const block_id_t *block)
{
    if (block)
        return block->h.b[0] >> 7;
    uint8_t buf[9], h[CRYPTO_HASH_LEN];
    put_u64be(buf, slot.period);
    buf[8] = slot.thread;
    crypto_blake3(h, buf, sizeof buf);
    return h[0] >> 7;
}

void pos_cycle_seed(hash32_t *out, uint64_t cycle, const uint8_t *bits, size_t bit_count,
                    const hash32_t *state_hash)
{
    WEFT_MISUSE(bits || bit_count == 0);
    uint8_t d[8];
    put_u64be(d, cycle);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, d, sizeof d);
    if (bit_count)
        crypto_blake3_update(&c, bits, (bit_count + 7) / 8);
    crypto_blake3_update(&c, state_hash->b, MODEL_HASH_LEN);
    crypto_blake3_final(&c, out->b);
}

void pos_genesis_seed(hash32_t *out, uint64_t cycle)
{
    static const char tag[] = "weft/pos/genesis-seed";
    uint8_t d[8];
    put_u64be(d, cycle);
    crypto_blake3_ctx c;
    crypto_blake3_init(&c);
    crypto_blake3_update(&c, tag, sizeof tag - 1);
    crypto_blake3_update(&c, d, sizeof d);
    crypto_blake3_final(&c, out->b);
}

/* ---- one cycle ------------------------------------------------------------------------------- */

/* Binary address order: kind byte, then the hash bytes (the version byte is always 0).  A plain
 * byte loop: the order is consensus, so no library comparison with unspecified sign. */
static int addr_cmp(const address_t *a, const address_t *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    for (size_t i = 0; i < MODEL_HASH_LEN; i++)
        if (a->hash.b[i] != b->hash.b[i])
            return a->hash.b[i] < b->hash.b[i] ? -1 : 1;
    return 0;
}

static int stake_cmp_qsort(const void *x, const void *y)
{
    return addr_cmp(&((const pos_stake_t *)x)->addr, &((const pos_stake_t *)y)->addr);
}

weft_err pos_stakes_sorted(pos_stake_t **out, size_t *count, uint64_t *total,
                           const pos_stake_t *stakes, size_t n)
{
    *out = NULL;
    *count = 0;
    *total = 0;
    pos_stake_t *sorted = NULL;
    weft_err err = WEFT_OK;
    size_t m = 0;
    if (n) {
        sorted = malloc(n * sizeof *sorted);
        if (!sorted)
            return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (stakes[i].rolls)
            sorted[m++] = stakes[i];
    if (m == 0) {
        err = WEFT_E_POS_NO_ROLLS;
        goto out;
    }
    qsort(sorted, m, sizeof *sorted, stake_cmp_qsort);
    uint64_t sum = 0;
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && addr_cmp(&sorted[i - 1].addr, &sorted[i].addr) == 0) {
            err = WEFT_E_DUPLICATE;
            goto out;
        }
        if (!u64_add(&sum, sum, sorted[i].rolls)) {
            err = WEFT_E_OVERFLOW;
            goto out;
        }
    }
    *out = sorted;
    *count = m;
    *total = sum;
    sorted = NULL;
out:
    free(sorted);
    return err;
}

void pos_cycle_draws_free(pos_cycle_draws_t *d)
{
    if (!d)
        return;
    free(d->addrs);
    free(d->draws);
    free(d);
}

/* The index of the staker whose cumulative range holds roll index u: the first i with
 * cum[i] > u, where cum[i] is the sum of rolls of stakers 0..i. */
static uint32_t find_staker(const uint64_t *cum, size_t n, uint64_t u)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)lo;
}

weft_err pos_draw_cycle(pos_cycle_draws_t **out, const model_params *p, uint64_t cycle,
                        const pos_stake_t *stakes, size_t n, const hash32_t *seed)
{
    WEFT_MISUSE(out && p && seed && (stakes || n == 0));
    *out = NULL;
    weft_err err = WEFT_OK;
    pos_stake_t *sorted = NULL;
    uint64_t *cum = NULL;
    pos_cycle_draws_t *d = NULL;

    if (model_params_check(p) != WEFT_OK)
        return WEFT_E_INVAL;
    uint64_t slots, total_draws, first_period;
    if (!u64_mul(&slots, p->periods_per_cycle, p->thread_count) ||
        !u64_mul(&total_draws, slots, 1u + (uint64_t)p->endorsement_count))
        return WEFT_E_LIMIT;
    if (total_draws > POS_MAX_CYCLE_DRAWS)
        return WEFT_E_LIMIT;
    if (!u64_mul(&first_period, cycle, p->periods_per_cycle) ||
        p->periods_per_cycle - 1 > UINT64_MAX - first_period)
        return WEFT_E_OVERFLOW;

    size_t m;
    uint64_t total;
    err = pos_stakes_sorted(&sorted, &m, &total, stakes, n);
    if (err)
        goto out;
    cum = malloc(m * sizeof *cum);
    d = calloc(1, sizeof *d);
    if (!cum || !d) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    d->addrs = malloc(m * sizeof *d->addrs);
    d->draws = malloc(total_draws * sizeof *d->draws);
    if (!d->addrs || !d->draws) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < m; i++) {
        acc += sorted[i].rolls; /* no overflow: pos_stakes_sorted checked the total */
        cum[i] = acc;
        d->addrs[i] = sorted[i].addr;
    }
    d->addr_count = m;
    d->cycle = cycle;
    d->first_period = first_period;
    d->periods = p->periods_per_cycle;
    d->threads = p->thread_count;
    d->per_slot = 1u + p->endorsement_count;
    d->seed = *seed;

    /* the stream: every slot in order, producer then endorsers */
    pos_rng_t rng;
    pos_rng_seed(&rng, seed);
    for (uint64_t k = 0; k < total_draws; k++)
        d->draws[k] = find_staker(cum, m, pos_rng_below(&rng, total));

    *out = d;
    d = NULL;
out:
    pos_cycle_draws_free(d);
    free(cum);
    free(sorted);
    return err;
}

uint64_t pos_cycle_draws_cycle(const pos_cycle_draws_t *d) { return d->cycle; }
const hash32_t *pos_cycle_draws_seed(const pos_cycle_draws_t *d) { return &d->seed; }

/* Position of a slot's first draw in d->draws, or E_RANGE if the slot is in another cycle. */
static weft_err slot_pos(const pos_cycle_draws_t *d, slot_t slot, size_t *pos)
{
    WEFT_MISUSE(slot.thread < d->threads);
    if (slot.period < d->first_period || slot.period - d->first_period >= d->periods)
        return WEFT_E_RANGE;
    uint64_t i = (slot.period - d->first_period) * d->threads + slot.thread;
    *pos = (size_t)(i * d->per_slot);
    return WEFT_OK;
}

weft_err pos_cycle_producer(const pos_cycle_draws_t *d, slot_t slot, address_t *out)
{
    size_t pos;
    weft_err err = slot_pos(d, slot, &pos);
    if (err)
        return err;
    *out = d->addrs[d->draws[pos]];
    return WEFT_OK;
}

weft_err pos_cycle_endorsers(const pos_cycle_draws_t *d, slot_t slot, address_t *out)
{
    size_t pos;
    weft_err err = slot_pos(d, slot, &pos);
    if (err)
        return err;
    for (uint32_t i = 1; i < d->per_slot; i++)
        out[i - 1] = d->addrs[d->draws[pos + i]];
    return WEFT_OK;
}

/* ---- shared with selector.c ------------------------------------------------------------------ */

long pos_staker_index(const pos_cycle_draws_t *d, const address_t *addr)
{
    size_t lo = 0, hi = d->addr_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = addr_cmp(&d->addrs[mid], addr);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const uint32_t *pos_slot_draws(const pos_cycle_draws_t *d, slot_t slot)
{
    size_t pos;
    if (slot_pos(d, slot, &pos) != WEFT_OK)
        return NULL;
    return d->draws + pos;
}
