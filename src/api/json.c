/* api/json.c — JSON-RPC error values built by handlers, and the JSON shapes Massa's API uses:
 * slots, decimal-string amounts, byte arrays as arrays of numbers, ids and keys as text, explicit
 * nulls.  The getters are the decoders of everything a client sends in "params": each checks type,
 * range and length before using a value, and names the offending parameter in its error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* ---- errors ---------------------------------------------------------------------------------- */

static void error_vset(api_error *err, int code, const char *fmt, va_list ap)
{
    err->code = code;
    if (fmt)
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    else
        err->message[0] = '\0';
    api_error_set_data(err, NULL);
}

weft_err api_error_set(api_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        error_vset(err, code, fmt, ap);
        va_end(ap);
    }
    return WEFT_E_RPC;
}

weft_err api_invalid_params(api_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        error_vset(err, API_ERR_INVALID_PARAMS, fmt, ap);
        va_end(ap);
    }
    return WEFT_E_RPC;
}

weft_err api_error_node(api_error *err, weft_err e, const char *fmt, ...)
{
    WEFT_MISUSE(e < 0);
    if (!err)
        return e;
    char detail[API_ERROR_MSG_MAX] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    api_error_set(err, API_ERR_NODE, "%s%s%s", weft_strerror(e), detail[0] ? ": " : "", detail);
    api_error_set_data(err, json_pack("{s:s,s:i}", "name", weft_err_name(e), "code", (int)e));
    return e;
}

void api_error_set_data(api_error *err, json_t *data)
{
    if (!err) {
        json_decref(data);
        return;
    }
    json_decref(err->data);
    err->data = data;
}

void api_error_clear(api_error *err)
{
    if (!err)
        return;
    json_decref(err->data);
    memset(err, 0, sizeof *err);
}

/* ---- constructors ---------------------------------------------------------------------------- */

json_t *api_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

json_t *api_json_amount(amount_t a)
{
    char buf[AMOUNT_STR_MAX];
    amount_format(buf, a);
    return json_string(buf);
}

json_t *api_json_slot(slot_t s)
{
    return json_pack("{s:o,s:i}", "period", api_json_u64(s.period), "thread", (int)s.thread);
}

json_t *api_json_bytes(const uint8_t *data, size_t len)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (json_array_append_new(a, json_integer(data[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *api_json_address(const address_t *a)
{
    char buf[MODEL_STR_MAX];
    address_to_str(buf, a);
    return json_string(buf);
}

json_t *api_json_op_id(const op_id_t *id)
{
    char buf[MODEL_STR_MAX];
    op_id_to_str(buf, id);
    return json_string(buf);
}

json_t *api_json_block_id(const block_id_t *id)
{
    char buf[MODEL_STR_MAX];
    block_id_to_str(buf, id);
    return json_string(buf);
}

json_t *api_json_endorsement_id(const endorsement_id_t *id)
{
    char buf[MODEL_STR_MAX];
    endorsement_id_to_str(buf, id);
    return json_string(buf);
}

json_t *api_json_pubkey(const pubkey_t *pk)
{
    char buf[MODEL_STR_MAX];
    pubkey_to_str(buf, pk);
    return json_string(buf);
}

json_t *api_json_node_id(const pubkey_t *pk)
{
    char buf[MODEL_STR_MAX];
    node_id_to_str(buf, pk);
    return json_string(buf);
}

json_t *api_json_signature(const signature_t *sig)
{
    char buf[MODEL_STR_MAX];
    signature_to_str(buf, sig);
    return json_string(buf);
}

json_t *api_json_opt_bool(bool has, bool v) { return has ? json_boolean(v) : json_null(); }

json_t *api_json_text(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < len;) {
        uint8_t c = p[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && n > 1) { /* overlong forms, surrogates and values past U+10FFFF */
            uint32_t cp = c & (0x7F >> n);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (p[i + k] & 0x3F);
            static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min[n] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (ok) {
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
        } else {
            buf[o++] = (char)0xEF; /* U+FFFD */
            buf[o++] = (char)0xBF;
            buf[o++] = (char)0xBD;
            i++;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* ---- getters --------------------------------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

weft_err api_params_one(json_t **x, json_t *params, api_error *err)
{
    *x = NULL;
    if (!json_is_array(params) || json_array_size(params) != 1)
        return api_invalid_params(err, "params: expected an array of one element, got %s%s",
                                  params ? type_name(params) : "nothing",
                                  json_is_array(params) ? " of another length" : "");
    *x = json_array_get(params, 0);
    return WEFT_OK;
}

weft_err api_params_none(json_t *params, api_error *err)
{
    if (!params || json_is_null(params))
        return WEFT_OK;
    if (json_is_array(params)) {
        size_t n = json_array_size(params);
        if (n == 0)
            return WEFT_OK;
        json_t *x = json_array_get(params, 0);
        if (n == 1 && (json_is_null(x) || (json_is_object(x) && json_object_size(x) == 0)))
            return WEFT_OK;
    }
    return api_invalid_params(err, "params: this method takes none (send [] or [{}])");
}

weft_err api_json_get_array(size_t *n, const json_t *v, size_t max, const char *what,
                            api_error *err)
{
    *n = 0;
    if (!json_is_array(v))
        return api_invalid_params(err, "%s: expected an array, got %s", what, type_name(v));
    size_t len = json_array_size(v);
    if (len > max)
        return api_invalid_params(err, "%s: %zu elements, at most %zu allowed", what, len, max);
    *n = len;
    return WEFT_OK;
}

weft_err api_json_get_uint(uint64_t *out, const json_t *v, uint64_t max, const char *what,
                           api_error *err)
{
    *out = 0;
    if (!json_is_integer(v))
        return api_invalid_params(err, "%s: expected an integer, got %s", what, type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return api_invalid_params(err, "%s: %lld is out of range 0..%llu", what, (long long)i,
                                  (unsigned long long)max);
    *out = (uint64_t)i;
    return WEFT_OK;
}

weft_err api_json_get_bool(bool *out, const json_t *v, const char *what, api_error *err)
{
    *out = false;
    if (!json_is_boolean(v))
        return api_invalid_params(err, "%s: expected a boolean, got %s", what, type_name(v));
    *out = json_is_true(v);
    return WEFT_OK;
}

weft_err api_json_get_string(const char **out, size_t *len, const json_t *v, size_t max_len,
                             const char *what, api_error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (!json_is_string(v))
        return api_invalid_params(err, "%s: expected a string, got %s", what, type_name(v));
    size_t n = json_string_length(v);
    if (n > max_len)
        return api_invalid_params(err, "%s: string of %zu bytes, at most %zu allowed", what, n,
                                  max_len);
    *out = json_string_value(v);
    if (len)
        *len = n;
    return WEFT_OK;
}

weft_err api_json_get_amount(amount_t *out, const json_t *v, const char *what, api_error *err)
{
    *out = amount_from_nano(0);
    const char *s;
    if (api_json_get_string(&s, NULL, v, AMOUNT_STR_MAX, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    weft_err e = amount_parse(out, s);
    if (e != WEFT_OK) {
        *out = amount_from_nano(0);
        return api_invalid_params(err, "%s: not a decimal MAS amount (%s)", what, weft_err_name(e));
    }
    return WEFT_OK;
}

weft_err api_json_get_slot(slot_t *out, const json_t *v, uint32_t thread_count, const char *what,
                           api_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return api_invalid_params(err, "%s: expected a slot {period, thread}, got %s", what,
                                  type_name(v));
    uint64_t period, thread;
    char sub[256];
    snprintf(sub, sizeof sub, "%s.period", what);
    if (api_json_get_uint(&period, json_object_get(v, "period"), UINT64_MAX, sub, err) != WEFT_OK)
        return WEFT_E_RPC;
    snprintf(sub, sizeof sub, "%s.thread", what);
    WEFT_MISUSE(thread_count >= 1 && thread_count <= 256);
    if (api_json_get_uint(&thread, json_object_get(v, "thread"), thread_count - 1, sub, err) !=
        WEFT_OK)
        return WEFT_E_RPC;
    out->period = period;
    out->thread = (uint8_t)thread;
    return WEFT_OK;
}

weft_err api_json_get_bytes(uint8_t **out, size_t *len, const json_t *v, size_t max_len,
                            const char *what, api_error *err)
{
    *out = NULL;
    *len = 0;
    size_t n;
    if (api_json_get_array(&n, v, max_len, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        api_error_set(err, API_ERR_INTERNAL, "%s: out of memory", what);
        return WEFT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(v, i);
        json_int_t x = json_is_integer(b) ? json_integer_value(b) : -1;
        if (x < 0 || x > 255) {
            free(buf);
            return api_invalid_params(err, "%s[%zu]: expected a byte (integer 0..255)", what, i);
        }
        buf[i] = (uint8_t)x;
    }
    *out = buf;
    *len = n;
    return WEFT_OK;
}

/* The id and key getters share one shape: a string no longer than any text form, then the
 * model's parser.  (`type` names a type: it cannot be parenthesized.) */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define TEXT_GETTER(fn, type, parse, noun)                                                         \
    weft_err fn(type *out, const json_t *v, const char *what, api_error *err)                      \
    {                                                                                              \
        memset(out, 0, sizeof *out);                                                               \
        const char *s;                                                                             \
        if (api_json_get_string(&s, NULL, v, MODEL_STR_MAX - 1, what, err) != WEFT_OK)             \
            return WEFT_E_RPC;                                                                     \
        weft_err e = parse(out, s);                                                                \
        if (e != WEFT_OK) {                                                                        \
            memset(out, 0, sizeof *out);                                                           \
            return api_invalid_params(err, "%s: not " noun " (%s)", what, weft_err_name(e));       \
        }                                                                                          \
        return WEFT_OK;                                                                            \
    }

TEXT_GETTER(api_json_get_address, address_t, address_parse, "an address")
TEXT_GETTER(api_json_get_op_id, op_id_t, op_id_parse, "an operation id")
TEXT_GETTER(api_json_get_block_id, block_id_t, block_id_parse, "a block id")
TEXT_GETTER(api_json_get_endorsement_id, endorsement_id_t, endorsement_id_parse,
            "an endorsement id")
TEXT_GETTER(api_json_get_pubkey, pubkey_t, pubkey_parse, "a public key")
TEXT_GETTER(api_json_get_signature, signature_t, signature_parse, "a signature")
/* NOLINTEND(bugprone-macro-parentheses) */
