/* Unit tests of src/pos, the selector: Xoshiro256++ against the reference outputs, rejection
 * sampling, seed bits and seeds against BLAKE3 of the documented byte strings, the worked example
 * of docs/consensus.md §1 pinned draw by draw, an independent re-implementation of the stream
 * order, determinism, the lookback and genesis rules, a chi-square check that draws follow roll
 * weights (with a negative control), one staker, empty / duplicate / overflowing roll sets, and
 * the queries (by slot, by address over ranges spanning cycles, cache eviction). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "pos/pos.h"
#include "testutil.h"

static void hex32(hash32_t *out, const char *hex)
{
    size_t n;
    uint8_t *b = test_unhex(hex, &n);
    assert_int_equal(n, 32);
    memcpy(out->b, b, 32);
    free(b);
}

static address_t addr_fill(uint8_t kind, uint8_t byte)
{
    address_t a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    memset(a.hash.b, byte, 32);
    return a;
}

static address_t addr_random(test_rng *r)
{
    address_t a;
    memset(&a, 0, sizeof a);
    test_rng_bytes(r, a.hash.b, 32);
    return a;
}

/* T = 2, 2 periods per cycle, E = 2: the worked example's parameters. */
static void small_params(model_params *p)
{
    model_params_default(p);
    p->thread_count = 2;
    p->periods_per_cycle = 2;
    p->endorsement_count = 2;
}

static void test_xoshiro_reference(void **state)
{
    (void)state;
    /* the reference implementation's outputs for s = {1, 2, 3, 4} */
    static const uint64_t expect[10] = {41943041ull,
                                        58720359ull,
                                        3588806011781223ull,
                                        3591011842654386ull,
                                        9228616714210784205ull,
                                        9973669472204895162ull,
                                        14011001112246962877ull,
                                        12406186145184390807ull,
                                        15849039046786891736ull,
                                        10450023813501588000ull};
    hash32_t seed;
    memset(&seed, 0, sizeof seed);
    for (int i = 0; i < 4; i++)
        seed.b[8 * i] = (uint8_t)(i + 1); /* little-endian words 1, 2, 3, 4 */
    pos_rng_t r;
    pos_rng_seed(&r, &seed);
    for (int i = 0; i < 10; i++)
        assert_true(pos_rng_next(&r) == expect[i]);

    /* the all-zero seed gets the documented replacement state */
    memset(&seed, 0, sizeof seed);
    pos_rng_seed(&r, &seed);
    assert_true(r.s[0] == 0x9E3779B97F4A7C15ull && r.s[1] == 0 && r.s[2] == 0 && r.s[3] == 0);
    uint64_t x = pos_rng_next(&r);
    assert_true(x != 0);
}

static void test_rejection_sampling(void **state)
{
    (void)state;
    test_rng t;
    test_rng_init(&t, test_seed());
    hash32_t seed;
    test_rng_bytes(&t, seed.b, 32);
    pos_rng_t r, shadow;
    pos_rng_seed(&r, &seed);
    shadow = r;
    /* n = 2^63 + 1: 2^64 mod n = 2^63 − 1, so outputs above 2^63 are rejected (about half) */
    const uint64_t n = (1ull << 63) + 1;
    int rejected = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t got = pos_rng_below(&r, n);
        uint64_t x;
        while ((x = pos_rng_next(&shadow)) > (1ull << 63))
            rejected++;
        assert_true(got == x % n);
        assert_true(got < n);
    }
    assert_true(rejected > 50 && rejected < 400);
    /* n a power of two: nothing is rejected, the result is the low bits */
    shadow = r;
    for (int i = 0; i < 100; i++)
        assert_true(pos_rng_below(&r, 1024) == (pos_rng_next(&shadow) & 1023));
    assert_true(pos_rng_below(&r, 1) == 0);
}

static void test_seed_bits_and_seeds(void **state)
{
    (void)state;
    block_id_t b;
    memset(&b, 0, sizeof b);
    b.h.b[0] = 0x80;
    assert_true(pos_slot_seed_bit((slot_t){6, 1}, &b));
    b.h.b[0] = 0x7f;
    assert_false(pos_slot_seed_bit((slot_t){6, 1}, &b));
    /* misses: BLAKE3(period u64be ‖ thread): (6,1) → 59…, (6,0) → 8a… (b3sum) */
    assert_false(pos_slot_seed_bit((slot_t){6, 1}, NULL));
    assert_true(pos_slot_seed_bit((slot_t){6, 0}, NULL));

    uint8_t bits[1] = {0};
    pos_bit_put(bits, 0, true);
    pos_bit_put(bits, 2, true);
    pos_bit_put(bits, 3, true);
    assert_int_equal(bits[0], 0xB0);
    assert_true(pos_bit_get(bits, 0) && !pos_bit_get(bits, 1) && pos_bit_get(bits, 3));
    pos_bit_put(bits, 0, false);
    assert_int_equal(bits[0], 0x30);
    bits[0] = 0xB0;

    hash32_t sh, seed, expect;
    memset(sh.b, 0xAA, 32);
    /* b3sum of 0000000000000003 ‖ b0 ‖ aa×32 */
    pos_cycle_seed(&seed, 3, bits, 4, &sh);
    hex32(&expect, "5ce02bed0365d0edc7217ef93fd157a17de773dfa61d4c908d5710db8bb00fff");
    assert_memory_equal(seed.b, expect.b, 32);
    /* b3sum of "weft/pos/genesis-seed" ‖ 0000000000000000 */
    pos_genesis_seed(&seed, 0);
    hex32(&expect, "4bd63ee3cf452c89bf735ac6c1da30fed9759ba58f8f644ad1a945615da647f2");
    assert_memory_equal(seed.b, expect.b, 32);
    hash32_t g1, g2;
    pos_genesis_seed(&g1, 1);
    pos_genesis_seed(&g2, 2);
    assert_memory_not_equal(seed.b, g1.b, 32);
    assert_memory_not_equal(g1.b, g2.b, 32);
}

/* The worked example of docs/consensus.md §1.7. */
static void test_worked_example(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    pos_stake_t st[3] = {{addr_fill(ADDRESS_USER, 0x33), 3},
                         {addr_fill(ADDRESS_USER, 0x11), 1},
                         {addr_fill(ADDRESS_USER, 0x22), 2}};
    uint8_t bits[1] = {0xB0};
    hash32_t sh, seed;
    memset(sh.b, 0xAA, 32);
    pos_cycle_seed(&seed, 3, bits, 4, &sh);
    pos_rng_t r;
    pos_rng_seed(&r, &seed);
    assert_true(r.s[0] == 0xedd06503ed2be05cull && r.s[1] == 0xa157d13ff97e21c7ull &&
                r.s[2] == 0x904c1da6df73e77dull && r.s[3] == 0xff0fb08bdb10578dull);
    assert_true(pos_rng_next(&r) == 13093234189633998950ull);
    assert_true(pos_rng_next(&r) == 17651228465930092222ull);
    assert_true(pos_rng_next(&r) == 3800253707840398561ull);

    pos_cycle_draws_t *d;
    assert_int_equal(pos_draw_cycle(&d, &p, 3, st, 3, &seed), WEFT_OK);
    /* staker indices in binary address order: 0 = 11…, 1 = 22…, 2 = 33… */
    static const uint8_t expect[4][3] = {{0x22, 0x33, 0x22},  /* slot (6,0): producer, e0, e1 */
                                         {0x11, 0x22, 0x22},  /* (6,1) */
                                         {0x33, 0x22, 0x22},  /* (7,0) */
                                         {0x11, 0x33, 0x11}}; /* (7,1) */
    for (int i = 0; i < 4; i++) {
        slot_t s = {6 + (uint64_t)i / 2, (uint8_t)(i % 2)};
        address_t prod, end[2];
        assert_int_equal(pos_cycle_producer(d, s, &prod), WEFT_OK);
        assert_int_equal(pos_cycle_endorsers(d, s, end), WEFT_OK);
        assert_true(address_eq(&prod, &(address_t){0}) == false);
        assert_int_equal(prod.hash.b[0], expect[i][0]);
        assert_int_equal(end[0].hash.b[0], expect[i][1]);
        assert_int_equal(end[1].hash.b[0], expect[i][2]);
    }
    address_t a;
    assert_int_equal(pos_cycle_producer(d, (slot_t){8, 0}, &a), WEFT_E_RANGE);
    assert_int_equal(pos_cycle_producer(d, (slot_t){5, 1}, &a), WEFT_E_RANGE);
    pos_cycle_draws_free(d);
}

/* An independent, deliberately naive reading of the algorithm: linear scans instead of binary
 * search, stakers sorted by a bubble sort over the 34-byte binary form. */
static void naive_draws(const model_params *p, const pos_stake_t *in, size_t n,
                        const hash32_t *seed, size_t total_draws, address_t *out)
{
    pos_stake_t *st = malloc(n * sizeof *st);
    memcpy(st, in, n * sizeof *st);
    uint8_t(*bin)[MODEL_ADDRESS_LEN] = malloc(n * MODEL_ADDRESS_LEN);
    for (size_t i = 0; i < n; i++) {
        wr_t w;
        wr_init_fixed(&w, bin[i], MODEL_ADDRESS_LEN);
        address_write(&w, &st[i].addr);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j + 1 < n - i; j++)
            if (memcmp(bin[j], bin[j + 1], MODEL_ADDRESS_LEN) > 0) {
                pos_stake_t t = st[j];
                st[j] = st[j + 1];
                st[j + 1] = t;
                uint8_t tb[MODEL_ADDRESS_LEN];
                memcpy(tb, bin[j], MODEL_ADDRESS_LEN);
                memcpy(bin[j], bin[j + 1], MODEL_ADDRESS_LEN);
                memcpy(bin[j + 1], tb, MODEL_ADDRESS_LEN);
            }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += st[i].rolls;
    pos_rng_t r;
    pos_rng_seed(&r, seed);
    for (size_t k = 0; k < total_draws; k++) {
        uint64_t u = pos_rng_below(&r, total), acc = 0;
        for (size_t i = 0; i < n; i++) {
            acc += st[i].rolls;
            if (u < acc) {
                out[k] = st[i].addr;
                break;
            }
        }
    }
    (void)p;
    free(bin);
    free(st);
}

static void test_stream_order_and_determinism(void **state)
{
    (void)state;
    test_rng t;
    test_rng_init(&t, test_seed() ^ 0x51);
    model_params p;
    model_params_default(&p);
    p.thread_count = 4;
    p.periods_per_cycle = 8;
    p.endorsement_count = 3;
    size_t n = 12;
    pos_stake_t st[12];
    for (size_t i = 0; i < n; i++) {
        st[i].addr = addr_random(&t);
        st[i].addr.kind = (uint8_t)(i % 3 == 0); /* some contract addresses: kind sorts first */
        st[i].rolls = 1 + test_rng_below(&t, 50);
    }
    st[5].rolls = 0; /* ignored */
    hash32_t seed;
    test_rng_bytes(&t, seed.b, 32);
    const uint64_t cycle = 9;
    size_t per = 1 + p.endorsement_count, slots = 4 * 8;
    address_t *ref = malloc(slots * per * sizeof *ref);
    naive_draws(&p, st, n, &seed, slots * per, ref);

    pos_cycle_draws_t *d1, *d2;
    assert_int_equal(pos_draw_cycle(&d1, &p, cycle, st, n, &seed), WEFT_OK);
    /* the same stakers in another order give the same draws */
    pos_stake_t rev[12];
    for (size_t i = 0; i < n; i++)
        rev[i] = st[n - 1 - i];
    assert_int_equal(pos_draw_cycle(&d2, &p, cycle, rev, n, &seed), WEFT_OK);
    for (size_t i = 0; i < slots; i++) {
        slot_t s = {cycle * 8 + i / 4, (uint8_t)(i % 4)};
        address_t a1, a2, e1[3], e2[3];
        assert_int_equal(pos_cycle_producer(d1, s, &a1), WEFT_OK);
        assert_int_equal(pos_cycle_producer(d2, s, &a2), WEFT_OK);
        assert_true(address_eq(&a1, &a2) && address_eq(&a1, &ref[i * per]));
        assert_int_equal(pos_cycle_endorsers(d1, s, e1), WEFT_OK);
        assert_int_equal(pos_cycle_endorsers(d2, s, e2), WEFT_OK);
        for (size_t k = 0; k < 3; k++)
            assert_true(address_eq(&e1[k], &e2[k]) && address_eq(&e1[k], &ref[i * per + 1 + k]));
        assert_false(address_eq(&a1, &st[5].addr)); /* zero rolls are never drawn */
    }
    pos_cycle_draws_free(d2);
    /* another seed gives other draws */
    seed.b[31] ^= 1;
    assert_int_equal(pos_draw_cycle(&d2, &p, cycle, st, n, &seed), WEFT_OK);
    int differ = 0;
    for (size_t i = 0; i < slots; i++) {
        slot_t s = {cycle * 8 + i / 4, (uint8_t)(i % 4)};
        address_t a1, a2;
        assert_int_equal(pos_cycle_producer(d1, s, &a1), WEFT_OK);
        assert_int_equal(pos_cycle_producer(d2, s, &a2), WEFT_OK);
        differ += !address_eq(&a1, &a2);
    }
    assert_true(differ > 0);
    pos_cycle_draws_free(d1);
    pos_cycle_draws_free(d2);
    free(ref);
}

/* Pearson's statistic of observed counts against roll weights. */
static double chi_square(const uint64_t *obs, const uint64_t *w, size_t k, uint64_t total)
{
    uint64_t wsum = 0;
    for (size_t i = 0; i < k; i++)
        wsum += w[i];
    double x = 0;
    for (size_t i = 0; i < k; i++) {
        double e = (double)total * (double)w[i] / (double)wsum;
        x += ((double)obs[i] - e) * ((double)obs[i] - e) / e;
    }
    return x;
}

static void test_chi_square(void **state)
{
    (void)state;
    test_rng t;
    test_rng_init(&t, test_seed() ^ 0xC41);
    model_params p;
    model_params_default(&p); /* T = 32, 128 periods, E = 16: 69,632 draws per cycle */
    enum { K = 6 };
    const uint64_t w[K] = {1, 2, 3, 5, 9, 20}, uniform[K] = {1, 1, 1, 1, 1, 1};
    pos_stake_t st[K];
    for (size_t i = 0; i < K; i++)
        st[i] = (pos_stake_t){addr_random(&t), w[i]};
    for (int round = 0; round < 3; round++) {
        hash32_t seed;
        test_rng_bytes(&t, seed.b, 32);
        pos_cycle_draws_t *d;
        assert_int_equal(pos_draw_cycle(&d, &p, 40 + (uint64_t)round, st, K, &seed), WEFT_OK);
        uint64_t prod[K] = {0}, all[K] = {0}, n_prod = 0, n_all = 0;
        for (uint64_t per = 0; per < p.periods_per_cycle; per++)
            for (uint8_t th = 0; th < p.thread_count; th++) {
                slot_t s = {(40 + (uint64_t)round) * p.periods_per_cycle + per, th};
                address_t a, e[16];
                assert_int_equal(pos_cycle_producer(d, s, &a), WEFT_OK);
                assert_int_equal(pos_cycle_endorsers(d, s, e), WEFT_OK);
                for (size_t i = 0; i < K; i++) {
                    if (address_eq(&a, &st[i].addr)) {
                        prod[i]++;
                        all[i]++;
                    }
                    for (int k = 0; k < 16; k++)
                        all[i] += address_eq(&e[k], &st[i].addr);
                }
                n_prod++;
                n_all += 17;
            }
        uint64_t sum_all = 0;
        for (size_t i = 0; i < K; i++)
            sum_all += all[i];
        assert_true(sum_all == n_all);
        /* 5 degrees of freedom: P(X > 40) ≈ 1.5e-7 */
        double x_prod = chi_square(prod, w, K, n_prod), x_all = chi_square(all, w, K, n_all);
        assert_true(x_prod < 40.0);
        assert_true(x_all < 40.0);
        /* negative control: the same counts are far from uniform weights */
        assert_true(chi_square(all, uniform, K, n_all) > 1000.0);
        pos_cycle_draws_free(d);
    }
}

static void test_one_staker(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    pos_stake_t st = {addr_fill(ADDRESS_USER, 0x42), 7};
    pos_selector_t *sel;
    assert_int_equal(pos_selector_new(&sel, &p, &st, 1, 4), WEFT_OK);
    uint8_t bits[1] = {0};
    pos_lookback_t lb = {
        .cycle = 5, .rolls = &st, .roll_count = 1, .seed_bits = bits, .seed_bit_count = 4};
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_OK);
    for (uint64_t per = 10; per < 12; per++)
        for (uint8_t th = 0; th < 2; th++) {
            address_t a, e[2];
            assert_int_equal(pos_selector_producer(sel, (slot_t){per, th}, &a), WEFT_OK);
            assert_int_equal(pos_selector_endorsers(sel, (slot_t){per, th}, e), WEFT_OK);
            assert_true(address_eq(&a, &st.addr) && address_eq(&e[0], &st.addr) &&
                        address_eq(&e[1], &st.addr));
        }
    pos_selector_free(sel);
}

static void test_bad_roll_sets(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    hash32_t seed;
    memset(&seed, 7, sizeof seed);
    pos_cycle_draws_t *d = (pos_cycle_draws_t *)&seed;
    assert_int_equal(pos_draw_cycle(&d, &p, 3, NULL, 0, &seed), WEFT_E_POS_NO_ROLLS);
    assert_null(d);
    pos_stake_t zero[2] = {{addr_fill(0, 1), 0}, {addr_fill(0, 2), 0}};
    assert_int_equal(pos_draw_cycle(&d, &p, 3, zero, 2, &seed), WEFT_E_POS_NO_ROLLS);
    pos_stake_t dup[3] = {{addr_fill(0, 1), 1}, {addr_fill(0, 2), 1}, {addr_fill(0, 1), 4}};
    assert_int_equal(pos_draw_cycle(&d, &p, 3, dup, 3, &seed), WEFT_E_DUPLICATE);
    /* the same hash with another kind is another address */
    dup[2].addr.kind = ADDRESS_SC;
    assert_int_equal(pos_draw_cycle(&d, &p, 3, dup, 3, &seed), WEFT_OK);
    pos_cycle_draws_free(d);
    pos_stake_t big[2] = {{addr_fill(0, 1), UINT64_MAX}, {addr_fill(0, 2), 1}};
    assert_int_equal(pos_draw_cycle(&d, &p, 3, big, 2, &seed), WEFT_E_OVERFLOW);
    big[1].rolls = 0; /* a total of exactly 2^64 − 1 is fine */
    assert_int_equal(pos_draw_cycle(&d, &p, 3, big, 2, &seed), WEFT_OK);
    pos_cycle_draws_free(d);
    /* a cycle whose periods do not fit in u64 */
    assert_int_equal(pos_draw_cycle(&d, &p, UINT64_MAX / 2 + 1, big, 1, &seed), WEFT_E_OVERFLOW);
    /* too many draws per cycle */
    model_params huge = p;
    huge.periods_per_cycle = POS_MAX_CYCLE_DRAWS;
    assert_int_equal(pos_draw_cycle(&d, &huge, 0, big, 1, &seed), WEFT_E_LIMIT);

    pos_selector_t *sel = NULL;
    assert_int_equal(pos_selector_new(&sel, &p, NULL, 0, 2), WEFT_E_POS_NO_ROLLS);
    assert_null(sel);
    assert_int_equal(pos_selector_new(&sel, &p, dup, 2, 2), WEFT_OK);
    uint8_t bits[1] = {0};
    pos_lookback_t lb = {
        .cycle = 4, .rolls = NULL, .roll_count = 0, .seed_bits = bits, .seed_bit_count = 4};
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_E_POS_NO_ROLLS);
    assert_false(pos_selector_has_cycle(sel, 4));
    pos_selector_free(sel);
}

/* Collects an address's draws. */
struct hits {
    slot_t slot[512];
    int32_t index[512];
    size_t n, stop_after;
};
static bool collect(void *ctx, slot_t slot, int32_t index)
{
    struct hits *h = ctx;
    assert_true(h->n < 512);
    h->slot[h->n] = slot;
    h->index[h->n] = index;
    h->n++;
    return h->stop_after == 0 || h->n < h->stop_after;
}

static void test_lookback_and_genesis(void **state)
{
    (void)state;
    model_params p;
    small_params(&p);
    pos_stake_t gen[2] = {{addr_fill(0, 0x10), 1}, {addr_fill(0, 0x20), 3}};
    pos_stake_t later[3] = {
        {addr_fill(0, 0x30), 2}, {addr_fill(0, 0x40), 2}, {addr_fill(0, 0x50), 1}};
    pos_selector_t *sel;
    assert_int_equal(pos_selector_new(&sel, &p, gen, 2, 8), WEFT_OK);
    assert_false(pos_selector_has_cycle(sel, 0));
    address_t a;
    assert_int_equal(pos_selector_producer(sel, (slot_t){0, 0}, &a), WEFT_E_POS_CYCLE_UNAVAILABLE);

    /* cycles 0..2: genesis rolls and genesis seed; the other lookback fields are ignored */
    for (uint64_t c = 0; c < 3; c++) {
        pos_lookback_t lb = {.cycle = c, .rolls = later, .roll_count = 3};
        assert_int_equal(pos_selector_feed(sel, &lb), WEFT_OK);
        hash32_t gs;
        pos_genesis_seed(&gs, c);
        pos_cycle_draws_t *ref;
        assert_int_equal(pos_draw_cycle(&ref, &p, c, gen, 2, &gs), WEFT_OK);
        const pos_cycle_draws_t *got = pos_selector_cycle(sel, c);
        assert_non_null(got);
        assert_memory_equal(pos_cycle_draws_seed(got)->b, gs.b, 32);
        for (uint64_t per = 2 * c; per < 2 * c + 2; per++)
            for (uint8_t th = 0; th < 2; th++) {
                address_t x, y, ex[2], ey[2];
                assert_int_equal(pos_selector_producer(sel, (slot_t){per, th}, &x), WEFT_OK);
                assert_int_equal(pos_cycle_producer(ref, (slot_t){per, th}, &y), WEFT_OK);
                assert_true(address_eq(&x, &y));
                assert_true(address_eq(&x, &gen[0].addr) || address_eq(&x, &gen[1].addr));
                assert_int_equal(pos_selector_endorsers(sel, (slot_t){per, th}, ex), WEFT_OK);
                assert_int_equal(pos_cycle_endorsers(ref, (slot_t){per, th}, ey), WEFT_OK);
                assert_true(address_eq(&ex[0], &ey[0]) && address_eq(&ex[1], &ey[1]));
            }
        pos_cycle_draws_free(ref);
    }

    /* cycle 3: the lookback rolls, seed BLAKE3(3 ‖ bits of cycle 1 ‖ hash at the end of cycle 0) */
    uint8_t bits[1] = {0xB0};
    hash32_t sh;
    memset(sh.b, 0xAA, 32);
    pos_lookback_t lb = {.cycle = 3,
                         .rolls = later,
                         .roll_count = 3,
                         .seed_bits = bits,
                         .seed_bit_count = 4,
                         .state_hash = sh};
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_OK);
    hash32_t seed;
    pos_cycle_seed(&seed, 3, bits, 4, &sh);
    assert_memory_equal(pos_cycle_draws_seed(pos_selector_cycle(sel, 3))->b, seed.b, 32);
    for (uint64_t per = 6; per < 8; per++)
        for (uint8_t th = 0; th < 2; th++) {
            assert_int_equal(pos_selector_producer(sel, (slot_t){per, th}, &a), WEFT_OK);
            assert_false(address_eq(&a, &gen[0].addr) || address_eq(&a, &gen[1].addr));
        }
    /* each input changes the seed: another bit, another hash, another cycle number */
    hash32_t s2;
    uint8_t bits2[1] = {0xA0};
    pos_cycle_seed(&s2, 3, bits2, 4, &sh);
    assert_memory_not_equal(s2.b, seed.b, 32);
    hash32_t sh2 = sh;
    sh2.b[31] ^= 1;
    pos_cycle_seed(&s2, 3, bits, 4, &sh2);
    assert_memory_not_equal(s2.b, seed.b, 32);
    pos_cycle_seed(&s2, 4, bits, 4, &sh);
    assert_memory_not_equal(s2.b, seed.b, 32);

    /* malformed lookbacks leave the cache alone */
    lb.cycle = 4;
    lb.seed_bit_count = 3;
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_E_POS_LOOKBACK);
    lb.seed_bit_count = 8;
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_E_POS_LOOKBACK);
    lb.seed_bit_count = 4;
    lb.seed_bits = NULL;
    assert_int_equal(pos_selector_feed(sel, &lb), WEFT_E_POS_LOOKBACK);
    assert_false(pos_selector_has_cycle(sel, 4));
    pos_selector_free(sel);

    /* padding bits must be zero: T = 1, 3 periods per cycle → 3 bits in one byte */
    model_params q;
    model_params_default(&q);
    q.thread_count = 1;
    q.periods_per_cycle = 3;
    q.endorsement_count = 1;
    assert_int_equal(pos_selector_new(&sel, &q, gen, 2, 2), WEFT_OK);
    uint8_t b3[1] = {0xE0};
    pos_lookback_t lq = {
        .cycle = 7, .rolls = later, .roll_count = 3, .seed_bits = b3, .seed_bit_count = 3};
    assert_int_equal(pos_selector_feed(sel, &lq), WEFT_OK);
    b3[0] = 0xF0;
    assert_int_equal(pos_selector_feed(sel, &lq), WEFT_E_POS_LOOKBACK);
    pos_selector_free(sel);
}

static void test_queries_and_cache(void **state)
{
    (void)state;
    test_rng t;
    test_rng_init(&t, test_seed() ^ 0x9e);
    model_params p;
    model_params_default(&p);
    p.thread_count = 4;
    p.periods_per_cycle = 3;
    p.endorsement_count = 2;
    pos_stake_t st[4];
    for (int i = 0; i < 4; i++)
        st[i] = (pos_stake_t){addr_random(&t), 1 + (uint64_t)i};
    pos_selector_t *sel;
    assert_int_equal(pos_selector_new(&sel, &p, st, 4, 3), WEFT_OK);
    uint8_t bits[2] = {0x5A, 0xC0};
    for (uint64_t c = 0; c < 6; c++) {
        pos_lookback_t lb = {
            .cycle = c, .rolls = st, .roll_count = 4, .seed_bits = bits, .seed_bit_count = 12};
        assert_int_equal(pos_selector_feed(sel, &lb), WEFT_OK);
    }
    /* max 3 cycles: 3, 4, 5 remain */
    assert_false(pos_selector_has_cycle(sel, 2));
    assert_true(pos_selector_has_cycle(sel, 3) && pos_selector_has_cycle(sel, 5));
    /* feeding an already drawn cycle again replaces it in place */
    pos_lookback_t again = {
        .cycle = 4, .rolls = st, .roll_count = 4, .seed_bits = bits, .seed_bit_count = 12};
    assert_int_equal(pos_selector_feed(sel, &again), WEFT_OK);
    assert_true(pos_selector_has_cycle(sel, 3) && pos_selector_has_cycle(sel, 4) &&
                pos_selector_has_cycle(sel, 5));

    /* an address's draws over slots (10,2) .. (17,1) (cycles 3, 4, 5) against per-slot queries */
    for (int who = 0; who < 4; who++) {
        struct hits h = {0};
        slot_t from = {10, 2}, to = {17, 1};
        assert_int_equal(pos_selector_address_draws(sel, &st[who].addr, from, to, collect, &h),
                         WEFT_OK);
        size_t k = 0;
        for (slot_t s = from; slot_cmp(s, to) < 0;) {
            address_t prod, e[2];
            assert_int_equal(pos_selector_producer(sel, s, &prod), WEFT_OK);
            assert_int_equal(pos_selector_endorsers(sel, s, e), WEFT_OK);
            if (address_eq(&prod, &st[who].addr)) {
                assert_true(k < h.n && slot_cmp(h.slot[k], s) == 0 && h.index[k] == -1);
                k++;
            }
            for (int i = 0; i < 2; i++)
                if (address_eq(&e[i], &st[who].addr)) {
                    assert_true(k < h.n && slot_cmp(h.slot[k], s) == 0 && h.index[k] == i);
                    k++;
                }
            assert_int_equal(slot_next(&p, &s, s), WEFT_OK);
        }
        assert_int_equal(k, h.n);
    }
    /* the visitor can stop the walk */
    struct hits h = {.stop_after = 2};
    assert_int_equal(
        pos_selector_address_draws(sel, &st[3].addr, (slot_t){9, 0}, (slot_t){18, 0}, collect, &h),
        WEFT_OK);
    assert_int_equal(h.n, 2);
    /* an address without rolls has no draws; an empty range visits nothing */
    address_t nobody = addr_fill(0, 0xEE);
    h = (struct hits){0};
    assert_int_equal(
        pos_selector_address_draws(sel, &nobody, (slot_t){9, 0}, (slot_t){18, 0}, collect, &h),
        WEFT_OK);
    assert_int_equal(h.n, 0);
    assert_int_equal(
        pos_selector_address_draws(sel, &st[3].addr, (slot_t){12, 0}, (slot_t){12, 0}, collect, &h),
        WEFT_OK);
    assert_int_equal(h.n, 0);
    /* a range touching an undrawn cycle fails before visiting anything */
    assert_int_equal(
        pos_selector_address_draws(sel, &st[3].addr, (slot_t){9, 0}, (slot_t){18, 1}, collect, &h),
        WEFT_E_POS_CYCLE_UNAVAILABLE);
    assert_int_equal(
        pos_selector_address_draws(sel, &st[3].addr, (slot_t){8, 3}, (slot_t){12, 0}, collect, &h),
        WEFT_E_POS_CYCLE_UNAVAILABLE);
    assert_int_equal(h.n, 0);
    address_t a, e[2];
    assert_int_equal(pos_selector_producer(sel, (slot_t){18, 0}, &a), WEFT_E_POS_CYCLE_UNAVAILABLE);
    assert_int_equal(pos_selector_endorsers(sel, (slot_t){8, 3}, e), WEFT_E_POS_CYCLE_UNAVAILABLE);
    pos_selector_free(sel);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xoshiro_reference),
        cmocka_unit_test(test_rejection_sampling),
        cmocka_unit_test(test_seed_bits_and_seeds),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_stream_order_and_determinism),
        cmocka_unit_test(test_chi_square),
        cmocka_unit_test(test_one_staker),
        cmocka_unit_test(test_bad_roll_sets),
        cmocka_unit_test(test_lookback_and_genesis),
        cmocka_unit_test(test_queries_and_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
