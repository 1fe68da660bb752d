/* Bounded byte reader with a sticky error, growable/fixed writer, and LEB128 varints. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

void rd_init(rd_t *r, const void *data, size_t len)
{
    WEFT_MISUSE(data != NULL || len == 0);
    r->p = data;
    r->len = len;
    r->pos = 0;
    r->err = WEFT_OK;
}

weft_err rd_fail(rd_t *r, weft_err err)
{
    if (r->err == WEFT_OK)
        r->err = err;
    return r->err;
}

const uint8_t *rd_ptr(rd_t *r, size_t n)
{
    static const uint8_t empty[1];
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        rd_fail(r, WEFT_E_TRUNCATED);
        return NULL;
    }
    const uint8_t *p = n ? r->p + r->pos : empty;
    r->pos += n;
    return p;
}

void rd_bytes(rd_t *r, void *out, size_t n)
{
    const uint8_t *p = rd_ptr(r, n);
    if (p)
        memcpy(out, p, n);
    else if (n)
        memset(out, 0, n);
}

uint8_t rd_u8(rd_t *r)
{
    const uint8_t *p = rd_ptr(r, 1);
    return p ? p[0] : 0;
}

uint32_t rd_u32le(rd_t *r)
{
    const uint8_t *p = rd_ptr(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t rd_u64le(rd_t *r)
{
    const uint8_t *p = rd_ptr(r, 8);
    uint64_t v = 0;
    if (p)
        for (int i = 7; i >= 0; i--)
            v = v << 8 | p[i];
    return v;
}

uint64_t rd_u64be(rd_t *r)
{
    const uint8_t *p = rd_ptr(r, 8);
    uint64_t v = 0;
    if (p)
        for (int i = 0; i < 8; i++)
            v = v << 8 | p[i];
    return v;
}

int varint_decode(uint64_t *v, const uint8_t *data, size_t len)
{
    uint64_t acc = 0;
    *v = 0;
    if (len == 0 || !data)
        return WEFT_E_TRUNCATED;
    for (size_t i = 0; i < VARINT_MAX_LEN; i++) {
        if (i >= len)
            return WEFT_E_TRUNCATED;
        uint8_t b = data[i];
        uint64_t bits = b & 0x7f;
        if (i == 9 && bits > 1) /* the tenth group may only hold bit 63 */
            return WEFT_E_VARINT_OVERFLOW;
        acc |= bits << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) /* a final zero group adds nothing: overlong */
                return WEFT_E_VARINT_OVERLONG;
            *v = acc;
            return (int)(i + 1);
        }
    }
    return WEFT_E_VARINT_OVERFLOW; /* an eleventh group would be needed */
}

size_t varint_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

uint64_t rd_varint(rd_t *r)
{
    if (r->err)
        return 0;
    uint64_t v;
    /* an empty reader may hold a NULL pointer: no arithmetic on it */
    const uint8_t *at = r->pos < r->len ? r->p + r->pos : NULL;
    int n = varint_decode(&v, at, r->len - r->pos);
    if (n < 0) {
        rd_fail(r, (weft_err)n);
        return 0;
    }
    r->pos += (size_t)n;
    return v;
}

uint64_t rd_varint_max(rd_t *r, uint64_t max, weft_err err)
{
    uint64_t v = rd_varint(r);
    if (!r->err && v > max) {
        rd_fail(r, err);
        return 0;
    }
    return v;
}

weft_err rd_finish(const rd_t *r)
{
    if (r->err)
        return r->err;
    return r->pos == r->len ? WEFT_OK : WEFT_E_TRAILING;
}

void wr_init(wr_t *w) { memset(w, 0, sizeof *w); }

void wr_init_fixed(wr_t *w, void *buf, size_t cap)
{
    WEFT_MISUSE(buf != NULL || cap == 0);
    w->buf = buf;
    w->len = 0;
    w->cap = cap;
    w->err = WEFT_OK;
    w->fixed = true;
}

void wr_free(wr_t *w)
{
    if (!w->fixed)
        free(w->buf);
    wr_init(w);
}

uint8_t *wr_take(wr_t *w, size_t *len)
{
    WEFT_MISUSE(!w->fixed);
    uint8_t *b = w->buf;
    *len = w->len;
    if (w->err) {
        free(b);
        b = NULL;
        *len = 0;
    }
    wr_init(w);
    return b;
}

static bool wr_reserve(wr_t *w, size_t n)
{
    if (w->err)
        return false;
    if (n <= w->cap - w->len)
        return true;
    if (w->fixed) {
        w->err = WEFT_E_LIMIT;
        return false;
    }
    size_t need;
    if (__builtin_add_overflow(w->len, n, &need)) {
        w->err = WEFT_E_NOMEM;
        return false;
    }
    size_t cap = w->cap ? w->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) {
        w->err = WEFT_E_NOMEM;
        return false;
    }
    w->buf = nb;
    w->cap = cap;
    return true;
}

void wr_bytes(wr_t *w, const void *data, size_t n)
{
    if (n == 0 || !wr_reserve(w, n))
        return;
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

void wr_u8(wr_t *w, uint8_t v) { wr_bytes(w, &v, 1); }

void wr_u32le(wr_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wr_bytes(w, b, 4);
}

void wr_u64le(wr_t *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wr_bytes(w, b, 8);
}

void wr_u64be(wr_t *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[7 - i] = (uint8_t)(v >> (8 * i));
    wr_bytes(w, b, 8);
}

void wr_varint(wr_t *w, uint64_t v)
{
    uint8_t b[VARINT_MAX_LEN];
    wr_bytes(w, b, varint_encode(b, v));
}
