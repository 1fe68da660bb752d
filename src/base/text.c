/* Base58 (Bitcoin alphabet), base58check (double-SHA-256 checksum) and hex. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define B58_MAX_BIN 1024
#define B58_MAX_TEXT 2048

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int b58_value(char c)
{
    const char *p = c ? strchr(b58_alphabet, c) : NULL;
    return p ? (int)(p - b58_alphabet) : -1;
}

int b58_encode(char *out, size_t cap, const uint8_t *data, size_t len)
{
    if (len > B58_MAX_BIN)
        return WEFT_E_LIMIT;
    size_t zeros = 0;
    while (zeros < len && data[zeros] == 0)
        zeros++;
    /* log(256)/log(58) < 1.38: digits needed for the non-zero part */
    size_t size = (len - zeros) * 138 / 100 + 1;
    uint8_t digits[B58_MAX_BIN * 138 / 100 + 1];
    memset(digits, 0, size);
    size_t used = 0; /* digits in use, least significant at the end */
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = data[i];
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
            carry += 256u * digits[k];
            digits[k] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    size_t start = size - used;
    size_t total = zeros + used;
    if (total + 1 > cap)
        return WEFT_E_LIMIT;
    memset(out, '1', zeros);
    for (size_t k = start; k < size; k++)
        out[zeros + k - start] = b58_alphabet[digits[k]];
    out[total] = '\0';
    return (int)total;
}

int b58_decode(uint8_t *out, size_t cap, const char *text)
{
    size_t tlen = strnlen(text, B58_MAX_TEXT + 1);
    if (tlen == 0)
        return WEFT_E_BASE58;
    if (tlen > B58_MAX_TEXT)
        return WEFT_E_LIMIT;
    size_t zeros = 0;
    while (zeros < tlen && text[zeros] == '1')
        zeros++;
    /* log(58)/log(256) < 0.733 */
    size_t size = (tlen - zeros) * 733 / 1000 + 1;
    uint8_t bytes[B58_MAX_TEXT * 733 / 1000 + 1];
    memset(bytes, 0, size);
    size_t used = 0;
    for (size_t i = zeros; i < tlen; i++) {
        int v = b58_value(text[i]);
        if (v < 0)
            return WEFT_E_BASE58;
        unsigned carry = (unsigned)v;
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
            carry += 58u * bytes[k];
            bytes[k] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    size_t total = zeros + used;
    if (total > cap)
        return WEFT_E_LIMIT;
    memset(out, 0, zeros);
    memcpy(out + zeros, bytes + size - used, used);
    return (int)total;
}

static void checksum4(uint8_t out[4], const uint8_t *data, size_t len)
{
    uint8_t h1[crypto_hash_sha256_BYTES], h2[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h1, data, len);
    crypto_hash_sha256(h2, h1, sizeof h1);
    memcpy(out, h2, 4);
}

int b58check_encode(char *out, size_t cap, const uint8_t *payload, size_t len)
{
    if (len > B58_MAX_BIN - 4)
        return WEFT_E_LIMIT;
    uint8_t buf[B58_MAX_BIN];
    memcpy(buf, payload, len);
    checksum4(buf + len, payload, len);
    return b58_encode(out, cap, buf, len + 4);
}

int b58check_decode(uint8_t *out, size_t cap, const char *text)
{
    uint8_t buf[B58_MAX_TEXT];
    int n = b58_decode(buf, sizeof buf, text);
    if (n < 0)
        return n;
    if (n < 4)
        return WEFT_E_CHECKSUM;
    size_t plen = (size_t)n - 4;
    uint8_t sum[4];
    checksum4(sum, buf, plen);
    if (memcmp(sum, buf + plen, 4) != 0)
        return WEFT_E_CHECKSUM;
    if (plen > cap)
        return WEFT_E_LIMIT;
    memcpy(out, buf, plen);
    return (int)plen;
}

void hex_encode(char *out, size_t cap, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    WEFT_MISUSE(len <= (SIZE_MAX - 1) / 2 && cap >= 2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(uint8_t *out, size_t cap, const char *text)
{
    size_t tlen = strlen(text);
    if (tlen % 2)
        return WEFT_E_HEX;
    if (tlen / 2 > cap)
        return WEFT_E_LIMIT;
    if (tlen / 2 > INT32_MAX)
        return WEFT_E_LIMIT;
    for (size_t i = 0; i < tlen / 2; i++) {
        int hi = hex_nibble(text[2 * i]), lo = hex_nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return WEFT_E_HEX;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(tlen / 2);
}

weft_err hex_decode_alloc(uint8_t **out, size_t *len, const char *text)
{
    *out = NULL;
    *len = 0;
    size_t n = strlen(text) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return WEFT_E_NOMEM;
    int r = hex_decode(b, n, text);
    if (r < 0) {
        free(b);
        return (weft_err)r;
    }
    *out = b;
    *len = (size_t)r;
    return WEFT_OK;
}
