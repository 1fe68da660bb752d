/* Unit tests of src/base: error table, checked arithmetic, reader/writer, varints, base58(check),
 * hex — against shared/vectors/massa-formats.json where it has entries, plus negative cases. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "testutil.h"

static void test_err_table(void **state)
{
    (void)state;
    assert_int_equal(WEFT_OK, 0);
    assert_string_equal(weft_err_name(WEFT_E_TRUNCATED), "E_TRUNCATED");
    assert_string_equal(weft_strerror(WEFT_E_CHECKSUM), "base58check checksum mismatch");
    assert_string_equal(weft_err_name(12345), "E_UNKNOWN");
    /* every code is distinct and negative (except OK); names are unique */
    static const int codes[] = {
#define X(name, value, msg) value,
#include "base/err_table.h"
#undef X
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(codes); i++) {
        assert_true(i == 0 ? codes[i] == 0 : codes[i] < 0);
        for (size_t j = i + 1; j < WEFT_ARRAY_LEN(codes); j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void test_checked_arith(void **state)
{
    (void)state;
    uint64_t r = 7;
    assert_true(u64_add(&r, 1, 2) && r == 3);
    assert_false(u64_add(&r, UINT64_MAX, 1));
    assert_int_equal(r, 3);
    assert_true(u64_sub(&r, 5, 5) && r == 0);
    assert_false(u64_sub(&r, 4, 5));
    assert_true(u64_mul(&r, 1ull << 32, (1ull << 32) - 1));
    assert_false(u64_mul(&r, 1ull << 32, 1ull << 32));
    assert_false(u64_div(&r, 1, 0));
    assert_true(u64_div(&r, 9, 2) && r == 4);
}

static void test_varint_vectors(void **state)
{
    (void)state;
    json_t *v = test_load_shared_json("vectors/massa-formats.json");
    json_t *list = json_object_get(v, "varints");
    assert_true(json_array_size(list) > 0);
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        uint64_t value = strtoull(json_string_value(json_object_get(e, "value")), NULL, 10);
        size_t blen;
        uint8_t *bytes = test_unhex(json_string_value(json_object_get(e, "bytes")), &blen);
        uint8_t enc[VARINT_MAX_LEN];
        size_t n = varint_encode(enc, value);
        assert_int_equal(n, blen);
        assert_int_equal(varint_len(value), blen);
        assert_memory_equal(enc, bytes, n);
        uint64_t got;
        assert_int_equal(varint_decode(&got, bytes, blen), (int)blen);
        assert_true(got == value);
        free(bytes);
    }
    json_decref(v);
}

static void test_varint_negative(void **state)
{
    (void)state;
    uint64_t v;
    static const uint8_t overlong1[] = {0x80, 0x00};
    static const uint8_t overlong2[] = {0xff, 0x80, 0x00};
    static const uint8_t overflow10[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x02};
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x81, 0x00};
    static const uint8_t trunc[] = {0x80, 0x80};
    assert_int_equal(varint_decode(&v, overlong1, sizeof overlong1), WEFT_E_VARINT_OVERLONG);
    assert_int_equal(varint_decode(&v, overlong2, sizeof overlong2), WEFT_E_VARINT_OVERLONG);
    assert_int_equal(varint_decode(&v, overflow10, sizeof overflow10), WEFT_E_VARINT_OVERFLOW);
    assert_int_equal(varint_decode(&v, eleven, sizeof eleven), WEFT_E_VARINT_OVERFLOW);
    assert_int_equal(varint_decode(&v, trunc, sizeof trunc), WEFT_E_TRUNCATED);
    assert_int_equal(varint_decode(&v, trunc, 0), WEFT_E_TRUNCATED);
    static const uint8_t zero[] = {0x00};
    assert_int_equal(varint_decode(&v, zero, 1), 1);
    assert_true(v == 0);
}

static void test_varint_random_roundtrip(void **state)
{
    (void)state;
    test_rng rng;
    test_rng_init(&rng, test_seed());
    for (int i = 0; i < 100000; i++) {
        uint64_t x = test_rng_next(&rng) >> test_rng_below(&rng, 64);
        uint8_t b[VARINT_MAX_LEN];
        size_t n = varint_encode(b, x);
        uint64_t y;
        assert_int_equal(varint_decode(&y, b, n), (int)n);
        assert_true(x == y);
        if (n > 1)
            assert_int_equal(varint_decode(&y, b, n - 1), WEFT_E_TRUNCATED);
    }
}

static void test_reader_writer(void **state)
{
    (void)state;
    wr_t w;
    wr_init(&w);
    wr_u8(&w, 0xab);
    wr_u32le(&w, 0x01020304);
    wr_u64be(&w, 77658366);
    wr_u64le(&w, 5);
    wr_varint(&w, 300);
    wr_bytes(&w, "xyz", 3);
    assert_int_equal(wr_err(&w), WEFT_OK);
    size_t len;
    uint8_t *buf = wr_take(&w, &len);
    assert_non_null(buf);
    assert_int_equal(len, 1 + 4 + 8 + 8 + 2 + 3);
    static const uint8_t chain_be[8] = {0, 0, 0, 0, 0x04, 0xa0, 0xf8, 0xfe};
    assert_memory_equal(buf + 5, chain_be, 8);

    rd_t r;
    rd_init(&r, buf, len);
    assert_int_equal(rd_u8(&r), 0xab);
    assert_int_equal(rd_u32le(&r), 0x01020304);
    assert_true(rd_u64be(&r) == 77658366);
    assert_true(rd_u64le(&r) == 5);
    assert_true(rd_varint(&r) == 300);
    assert_int_equal(rd_finish(&r), WEFT_E_TRAILING);
    assert_memory_equal(rd_ptr(&r, 3), "xyz", 3);
    assert_int_equal(rd_finish(&r), WEFT_OK);
    /* sticky: a failed read poisons the reader, later reads return zero */
    assert_int_equal(rd_u8(&r), 0);
    assert_int_equal(rd_err(&r), WEFT_E_TRUNCATED);
    rd_fail(&r, WEFT_E_LIMIT);
    assert_int_equal(rd_finish(&r), WEFT_E_TRUNCATED);
    free(buf);

    /* bounded varint */
    static const uint8_t big[] = {0xac, 0x02};
    rd_init(&r, big, 2);
    assert_true(rd_varint_max(&r, 299, WEFT_E_LIMIT) == 0);
    assert_int_equal(rd_err(&r), WEFT_E_LIMIT);

    /* fixed writer refuses to overflow */
    uint8_t small[4];
    wr_init_fixed(&w, small, sizeof small);
    wr_u32le(&w, 1);
    assert_int_equal(wr_err(&w), WEFT_OK);
    wr_u8(&w, 1);
    assert_int_equal(wr_err(&w), WEFT_E_LIMIT);
}

static void test_base58check_vectors(void **state)
{
    (void)state;
    json_t *v = test_load_shared_json("vectors/massa-formats.json");
    json_t *list = json_object_get(v, "base58check");
    assert_true(json_array_size(list) > 0);
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        size_t plen;
        uint8_t *payload = test_unhex(json_string_value(json_object_get(e, "payload")), &plen);
        const char *text = json_string_value(json_object_get(e, "text"));
        char out[256];
        assert_int_equal(b58check_encode(out, sizeof out, payload, plen), (int)strlen(text));
        assert_string_equal(out, text);
        uint8_t dec[128];
        assert_int_equal(b58check_decode(dec, sizeof dec, text), (int)plen);
        assert_memory_equal(dec, payload, plen);
        free(payload);
    }
    json_decref(v);
}

static void test_base58_negative(void **state)
{
    (void)state;
    uint8_t out[64];
    assert_int_equal(b58check_decode(out, sizeof out, "kA3B33GVuqU"), WEFT_E_CHECKSUM);
    assert_int_equal(b58check_decode(out, sizeof out, "kA3B33GVuq0"), WEFT_E_BASE58); /* 0 */
    assert_int_equal(b58check_decode(out, sizeof out, "kA3B3lGVuqT"), WEFT_E_BASE58); /* l */
    assert_int_equal(b58check_decode(out, sizeof out, ""), WEFT_E_BASE58);
    assert_int_equal(b58check_decode(out, sizeof out, "1"), WEFT_E_CHECKSUM); /* too short */
    assert_int_equal(b58check_decode(out, 2, "kA3B33GVuqT"), WEFT_E_LIMIT);
    char small[4];
    static const uint8_t data[] = {1, 2, 3, 4, 5};
    assert_int_equal(b58check_encode(small, sizeof small, data, 5), WEFT_E_LIMIT);
}

static void test_base58_random_roundtrip(void **state)
{
    (void)state;
    test_rng rng;
    test_rng_init(&rng, test_seed() ^ 0x58);
    for (int i = 0; i < 2000; i++) {
        uint8_t in[80], out[80];
        size_t n = test_rng_below(&rng, sizeof in + 1);
        test_rng_bytes(&rng, in, n);
        size_t zeros = test_rng_below(&rng, 4);
        for (size_t k = 0; k < zeros && k < n; k++)
            in[k] = 0;
        char text[256];
        assert_true(b58check_encode(text, sizeof text, in, n) > 0);
        assert_int_equal(b58check_decode(out, sizeof out, text), (int)n);
        assert_memory_equal(in, out, n);
    }
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t b[4];
    char s[9];
    assert_int_equal(hex_decode(b, sizeof b, "00aBff10"), 4);
    hex_encode(s, sizeof s, b, 4);
    assert_string_equal(s, "00abff10");
    assert_int_equal(hex_decode(b, sizeof b, "abc"), WEFT_E_HEX);
    assert_int_equal(hex_decode(b, sizeof b, "zz"), WEFT_E_HEX);
    assert_int_equal(hex_decode(b, 1, "0000"), WEFT_E_LIMIT);
    assert_int_equal(hex_decode(b, sizeof b, ""), 0);
}

static void test_log_levels(void **state)
{
    (void)state;
    log_level l;
    assert_int_equal(log_level_parse("DEBUG", &l), WEFT_OK);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("loud", &l), WEFT_E_INVAL);
    assert_int_equal(log_init("warn"), WEFT_OK);
    assert_true(log_enabled(LOG_ERROR));
    assert_false(log_enabled(LOG_INFO));
    assert_int_equal(log_init("nonsense"), WEFT_E_INVAL);
    assert_int_equal(log_get_level(), LOG_WARN);
    log_warn("test", "a warning", "k=%d s=%s", 1, "v");
    assert_int_equal(log_init("info"), WEFT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_checked_arith),
        cmocka_unit_test(test_varint_vectors),
        cmocka_unit_test(test_varint_negative),
        cmocka_unit_test(test_varint_random_roundtrip),
        cmocka_unit_test(test_reader_writer),
        cmocka_unit_test(test_base58check_vectors),
        cmocka_unit_test(test_base58_negative),
        cmocka_unit_test(test_base58_random_roundtrip),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
