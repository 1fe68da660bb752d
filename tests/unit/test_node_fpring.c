/* Unit tests of fpring (src/node/fpring.h): the fingerprints of the last final slots, with a
 * small capacity — consecutive slots kept, the oldest replaced, a gap never read as another slot,
 * the status of any slot a peer names (a thread ≥ T, periods whose index overflows, after the
 * cursor, without one), a ring without room. */
#include <stdlib.h>
#include <string.h>

#include "node/fpring.h"
#include "testutil.h"

#define CAP 8

static void fp_of(uint8_t fp[NODE_STATE_FP_LEN], uint64_t tag)
{
    for (size_t i = 0; i < NODE_STATE_FP_LEN; i++)
        fp[i] = (uint8_t)(tag * 31 + i);
}

static model_params params3(void)
{
    model_params p;
    model_params_default(&p);
    p.thread_count = 3;
    return p;
}

/* Puts slots first..last (consecutive) with fingerprints tagged by their index. */
static void put_range(fpring *r, const model_params *p, slot_t first, slot_t last)
{
    for (slot_t s = first;; assert_int_equal(slot_next(p, &s, s), WEFT_OK)) {
        uint8_t fp[NODE_STATE_FP_LEN];
        fp_of(fp, s.period * p->thread_count + s.thread);
        fpring_put(r, p, s, fp);
        if (slot_cmp(s, last) == 0)
            break;
    }
}

/* Whether the ring holds slot s (at or before cursor) with exactly fingerprint want. */
static bool holds(const fpring *r, const model_params *p, slot_t cursor, slot_t s,
                  const uint8_t want[NODE_STATE_FP_LEN])
{
    uint8_t fp[NODE_STATE_FP_LEN];
    return fpring_get(r, p, true, cursor, s, fp) == NODE_FP_KNOWN &&
           memcmp(fp, want, sizeof fp) == 0;
}

static void expect(const fpring *r, const model_params *p, slot_t cursor, slot_t s,
                   node_fp_status want)
{
    uint8_t fp[NODE_STATE_FP_LEN], exp[NODE_STATE_FP_LEN];
    memset(fp, 0xee, sizeof fp);
    assert_int_equal(fpring_get(r, p, true, cursor, s, fp), want);
    if (want == NODE_FP_KNOWN) {
        fp_of(exp, s.period * p->thread_count + s.thread);
        assert_memory_equal(fp, exp, sizeof fp);
        assert_true(holds(r, p, cursor, s, exp));
    } else {
        for (size_t i = 0; i < sizeof fp; i++)
            assert_int_equal(fp[i], 0xee); /* untouched */
    }
}

static void test_kept_and_replaced(void **state)
{
    (void)state;
    model_params p = params3();
    fpring r;
    assert_int_equal(fpring_init(&r, CAP), WEFT_OK);
    slot_t first = {0, 0}, cursor = {3, 1}; /* index 10: 11 slots put, the last 8 kept */
    put_range(&r, &p, first, cursor);
    for (uint64_t i = 0; i <= 10; i++) {
        slot_t s = {i / 3, (uint8_t)(i % 3)};
        expect(&r, &p, cursor, s, i >= 3 ? NODE_FP_KNOWN : NODE_FP_NOT_KEPT);
    }
    expect(&r, &p, cursor, (slot_t){3, 2}, NODE_FP_AHEAD);
    expect(&r, &p, cursor, (slot_t){4, 0}, NODE_FP_AHEAD);
    expect(&r, &p, cursor, (slot_t){UINT64_MAX, 0}, NODE_FP_AHEAD);
    expect(&r, &p, cursor, (slot_t){UINT64_MAX / 3, 2}, NODE_FP_AHEAD);
    /* a thread the network does not have, before or after the cursor */
    expect(&r, &p, cursor, (slot_t){2, 3}, NODE_FP_NOT_KEPT);
    expect(&r, &p, cursor, (slot_t){9, 255}, NODE_FP_NOT_KEPT);
    expect(&r, &p, cursor, (slot_t){UINT64_MAX, 200}, NODE_FP_NOT_KEPT);
    /* no final cursor yet: any slot of the network is ahead */
    uint8_t fp[NODE_STATE_FP_LEN];
    assert_int_equal(fpring_get(&r, &p, false, (slot_t){0, 0}, (slot_t){0, 0}, fp), NODE_FP_AHEAD);
    assert_int_equal(fpring_get(&r, &p, false, (slot_t){0, 0}, (slot_t){0, 5}, fp),
                     NODE_FP_NOT_KEPT);
    /* a fingerprint held for a slot, not another one */
    fp_of(fp, 9);
    assert_true(holds(&r, &p, cursor, (slot_t){3, 0}, fp));
    assert_false(holds(&r, &p, cursor, (slot_t){3, 1}, fp));
    assert_false(holds(&r, &p, cursor, (slot_t){0, 0}, fp)); /* replaced */
    assert_false(holds(&r, &p, cursor, (slot_t){3, 7}, fp));
    assert_false(holds(&r, &p, cursor, (slot_t){UINT64_MAX, 0}, fp));
    /* cleared: nothing known, the cursor's put again */
    fpring_clear(&r);
    expect(&r, &p, cursor, (slot_t){3, 0}, NODE_FP_NOT_KEPT);
    put_range(&r, &p, cursor, cursor);
    expect(&r, &p, cursor, cursor, NODE_FP_KNOWN);
    expect(&r, &p, cursor, (slot_t){3, 0}, NODE_FP_NOT_KEPT);
    fpring_free(&r);
}

/* A gap (slots never put): the places the missing slots would take hold older slots (still
 * theirs) or nothing — never read as the missing slots' fingerprints. */
static void test_gap(void **state)
{
    (void)state;
    model_params p = params3();
    fpring r;
    assert_int_equal(fpring_init(&r, CAP), WEFT_OK);
    put_range(&r, &p, (slot_t){0, 0}, (slot_t){1, 2}); /* indices 0..5 */
    put_range(&r, &p, (slot_t){3, 0}, (slot_t){3, 1}); /* indices 9, 10: 6..8 missing */
    slot_t cursor = {3, 1};
    for (uint64_t i = 0; i <= 10; i++) {
        slot_t s = {i / 3, (uint8_t)(i % 3)};
        /* places 0..7: index 0, 9, 10, 3, 4, 5, none, none */
        bool known = i == 0 || (i >= 3 && i <= 5) || i >= 9;
        expect(&r, &p, cursor, s, known ? NODE_FP_KNOWN : NODE_FP_NOT_KEPT);
    }
    fpring_free(&r);
}

/* Without room nothing is kept, and nothing breaks. */
static void test_no_room(void **state)
{
    (void)state;
    model_params p = params3();
    fpring r;
    assert_int_equal(fpring_init(&r, 0), WEFT_OK);
    put_range(&r, &p, (slot_t){0, 0}, (slot_t){2, 2});
    slot_t cursor = {2, 2};
    expect(&r, &p, cursor, cursor, NODE_FP_NOT_KEPT);
    expect(&r, &p, cursor, (slot_t){3, 0}, NODE_FP_AHEAD);
    uint8_t fp[NODE_STATE_FP_LEN];
    fp_of(fp, 8);
    assert_false(holds(&r, &p, cursor, cursor, fp));
    fpring_clear(&r);
    fpring_free(&r);
    fpring_free(&r); /* twice: harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_and_replaced),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_no_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
