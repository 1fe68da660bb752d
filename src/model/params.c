/* Protocol parameters (DESIGN §2), amounts (decimal MAS text ↔ u64 nanoMAS) and plain u64 text. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

void model_params_default(model_params *p)
{
    memset(p, 0, sizeof *p);
    p->thread_count = 32;
    p->t0_ms = 16000;
    p->periods_per_cycle = 128;
    p->endorsement_count = 16;
    p->delta_f0 = (uint64_t)64 * (16 + 1);
    p->max_block_size = 300000;
    p->max_operations_per_block = 5000;
    p->operation_validity_periods = 10;
    p->roll_price = 100ull * 1000000000ull;
    p->block_reward = 400000000ull;
    p->chain_id = 0;
    p->genesis_timestamp_ms = 0;
}

weft_err model_params_check(const model_params *p)
{
    uint32_t t = p->thread_count;
    if (t == 0 || t > MODEL_MAX_THREADS || (t & (t - 1)) != 0)
        return WEFT_E_INVAL;
    if (p->t0_ms == 0 || p->t0_ms % t != 0)
        return WEFT_E_INVAL;
    if (p->periods_per_cycle == 0 || p->endorsement_count > MODEL_MAX_ENDORSEMENTS)
        return WEFT_E_INVAL;
    if (p->max_operations_per_block == 0 || p->max_block_size == 0)
        return WEFT_E_INVAL;
    return WEFT_OK;
}

weft_err model_parse_u64(uint64_t *out, const char *text)
{
    uint64_t v = 0;
    *out = 0;
    if (!text || !*text)
        return WEFT_E_INVAL;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return WEFT_E_INVAL;
        if (!u64_mul(&v, v, 10) || !u64_add(&v, v, (uint64_t)(*c - '0')))
            return WEFT_E_RANGE;
    }
    *out = v;
    return WEFT_OK;
}

weft_err amount_parse(amount_t *out, const char *text)
{
    static const uint64_t scale = 1000000000ull;
    out->nano = 0;
    if (!text)
        return WEFT_E_AMOUNT;
    const char *dot = strchr(text, '.');
    size_t int_len = dot ? (size_t)(dot - text) : strlen(text);
    if (int_len == 0)
        return WEFT_E_AMOUNT;
    uint64_t whole = 0, frac = 0;
    bool overflow = false;
    for (size_t i = 0; i < int_len; i++) {
        char c = text[i];
        if (c < '0' || c > '9')
            return WEFT_E_AMOUNT;
        if (!u64_mul(&whole, whole, 10) || !u64_add(&whole, whole, (uint64_t)(c - '0')))
            overflow = true; /* keep scanning: a malformed tail is reported as malformed */
    }
    if (dot) {
        const char *f = dot + 1;
        size_t flen = strlen(f);
        if (flen == 0 || flen > AMOUNT_DECIMALS)
            return WEFT_E_AMOUNT;
        for (size_t i = 0; i < AMOUNT_DECIMALS; i++) {
            char c = i < flen ? f[i] : '0';
            if (c < '0' || c > '9')
                return WEFT_E_AMOUNT;
            frac = frac * 10 + (uint64_t)(c - '0');
        }
    }
    uint64_t nano;
    if (overflow || !u64_mul(&nano, whole, scale) || !u64_add(&nano, nano, frac))
        return WEFT_E_AMOUNT_OVERFLOW;
    out->nano = nano;
    return WEFT_OK;
}

void amount_format(char out[AMOUNT_STR_MAX], amount_t a)
{
    uint64_t whole = a.nano / 1000000000ull, frac = a.nano % 1000000000ull;
    int n = snprintf(out, AMOUNT_STR_MAX, "%llu", (unsigned long long)whole);
    if (frac == 0)
        return;
    char digits[AMOUNT_DECIMALS + 1];
    snprintf(digits, sizeof digits, "%09llu", (unsigned long long)frac);
    int len = AMOUNT_DECIMALS;
    while (len > 0 && digits[len - 1] == '0')
        len--;
    snprintf(out + n, AMOUNT_STR_MAX - (size_t)n, ".%.*s", len, digits);
}
