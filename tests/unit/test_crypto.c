/* Unit tests of src/crypto: BLAKE3 against known answers and against `b3sum` (Debian's BLAKE3
 * tool) on seeded random inputs, streaming = one-shot, XOF prefix; Ed25519 against RFC 8032
 * test 1; SHA-256 known answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "testutil.h"

static void hex32(char out[65], const uint8_t h[32]) { hex_encode(out, 65, h, 32); }

static void test_blake3_known(void **state)
{
    (void)state;
    uint8_t h[32];
    char s[65];
    crypto_blake3(h, "", 0);
    hex32(s, h);
    assert_string_equal(s, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    /* the worked example of reference/massa-client-compat.md §1: BLAKE3(00 ‖ pk) */
    uint8_t pk[33];
    assert_int_equal(
        hex_decode(pk, sizeof pk,
                   "0079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"),
        33);
    crypto_blake3(h, pk, sizeof pk);
    hex32(s, h);
    assert_string_equal(s, "d27bd8b6a50de3325f983724456619fc838ff53cd0ebccf467e59c7026821b69");
}

static void test_blake3_streaming_and_xof(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0xb3);
    static uint8_t buf[70000];
    for (int i = 0; i < 50; i++) {
        size_t n = test_rng_below(&r, sizeof buf);
        test_rng_bytes(&r, buf, n);
        uint8_t one[32], two[32], xof[100];
        crypto_blake3(one, buf, n);
        crypto_blake3_ctx c;
        crypto_blake3_init(&c);
        size_t at = 0;
        while (at < n) {
            size_t k = 1 + test_rng_below(&r, 5000);
            if (k > n - at)
                k = n - at;
            crypto_blake3_update(&c, buf + at, k);
            at += k;
        }
        crypto_blake3_final(&c, two);
        assert_memory_equal(one, two, 32);
        crypto_blake3_final_xof(&c, xof, sizeof xof);
        assert_memory_equal(one, xof, 32);
    }
}

static void test_blake3_vs_b3sum(void **state)
{
    (void)state;
    if (system("command -v b3sum >/dev/null 2>&1") != 0) {
        print_message("SKIP: b3sum not installed (Debian package b3sum; scripts/setup.sh)\n");
        skip();
    }
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0xb35);
    char path[] = "/tmp/weft-b3-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const size_t sizes[] = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3072, 65536, 100001};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(sizes) + 4; i++) {
        size_t n = i < WEFT_ARRAY_LEN(sizes) ? sizes[i] : test_rng_below(&r, 300000);
        uint8_t *b = malloc(n + 1);
        test_rng_bytes(&r, b, n);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        fclose(f);
        char cmd[128], line[200] = {0};
        snprintf(cmd, sizeof cmd, "b3sum --no-names %s", path);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof line, p));
        pclose(p);
        uint8_t h[32];
        char s[65];
        crypto_blake3(h, b, n);
        hex32(s, h);
        assert_memory_equal(s, line, 64);
        free(b);
    }
    unlink(path);
}

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sk[64], sig[64], want_pk[32], want_sig[64];
    assert_int_equal(
        hex_decode(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        32);
    assert_int_equal(
        hex_decode(want_pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
        32);
    assert_int_equal(
        hex_decode(want_sig, 64,
                   "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8"
                   "821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        64);
    crypto_ed25519_from_seed(pk, sk, seed);
    assert_memory_equal(pk, want_pk, 32);
    crypto_ed25519_sign(sig, sk, (const uint8_t *)"", 0);
    assert_memory_equal(sig, want_sig, 64);
    assert_int_equal(crypto_ed25519_verify(sig, pk, (const uint8_t *)"", 0), WEFT_OK);
    assert_int_equal(crypto_ed25519_verify(sig, pk, (const uint8_t *)"x", 1), WEFT_E_SIGNATURE);
    sig[63] ^= 0x40;
    assert_int_equal(crypto_ed25519_verify(sig, pk, (const uint8_t *)"", 0), WEFT_E_SIGNATURE);
    assert_int_equal(crypto_ed25519_check_pk(pk), WEFT_OK);
    uint8_t bad[32];
    memset(bad, 0xff, 32);
    assert_int_equal(crypto_ed25519_check_pk(bad), WEFT_E_PUBLIC_KEY);
    memset(bad, 0, 32); /* small order */
    assert_int_equal(crypto_ed25519_check_pk(bad), WEFT_E_PUBLIC_KEY);
}

static void test_sha256_and_random(void **state)
{
    (void)state;
    uint8_t h[32];
    char s[65];
    crypto_sha256(h, "abc", 3);
    hex32(s, h);
    assert_string_equal(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    uint8_t a[32] = {0}, b[32] = {0};
    crypto_random(a, sizeof a);
    crypto_random(b, sizeof b);
    assert_memory_not_equal(a, b, 32);
    crypto_wipe(a, sizeof a);
    assert_memory_equal(a, (uint8_t[32]){0}, 32);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake3_known),      cmocka_unit_test(test_blake3_streaming_and_xof),
        cmocka_unit_test(test_blake3_vs_b3sum),   cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_sha256_and_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
