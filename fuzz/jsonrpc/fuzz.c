/* Fuzz target: the JSON-RPC request path without HTTP — body bytes → jansson → request objects →
 * validation → dispatch → the params getters of Massa shapes (bytes, amounts, slots, ids, keys)
 * → response bytes.
 * Oracles: every answer is JSON; a single answer is an object, a batch answer an array, each with
 * "jsonrpc":"2.0", an "id", and exactly one of "result" and "error" (an integer code and a string
 * message); a request object with a valid id is answered with that id; ids, keys and byte arrays
 * that decode re-encode to the same JSON. */
#include "../fuzz_util.h"

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static weft_err m_echo(void *ctx, json_t *params, json_t **result, api_error *err)
{
    *result = params ? json_incref(params) : NULL;
    return WEFT_OK;
}

static weft_err m_none(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return api_params_none(params, err);
}

static weft_err m_private(void *ctx, json_t *params, json_t **result, api_error *err)
{
    abort(); /* never callable on the public dispatcher */
}

static void same_json(const json_t *a, const json_t *b, const char *what)
{
    if (!a || !b || !json_equal(a, b)) {
        fprintf(stderr, "fuzz: %s decoded but re-encoded differently\n", what);
        abort();
    }
}

/* params[0] is an object; each known member is decoded with its getter, then re-encoded. */
static weft_err m_typed(void *ctx, json_t *params, json_t **result, api_error *err)
{
    json_t *x, *v;
    if (api_params_one(&x, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    if (!json_is_object(x))
        return api_invalid_params(err, "params[0]: expected an object");
    json_t *out = json_object();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err rc = WEFT_E_RPC;
    if ((v = json_object_get(x, "bytes"))) {
        uint8_t *b;
        size_t n;
        if (api_json_get_bytes(&b, &n, v, 64, "bytes", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_bytes(b, n);
        same_json(back, v, "bytes");
        json_object_set_new(out, "bytes", back);
        free(b);
    }
    if ((v = json_object_get(x, "amount"))) {
        amount_t a;
        if (api_json_get_amount(&a, v, "amount", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_amount(a);
        amount_t again;
        if (api_json_get_amount(&again, back, "amount", NULL) != WEFT_OK || again.nano != a.nano)
            abort();
        json_object_set_new(out, "amount", back);
    }
    if ((v = json_object_get(x, "slot"))) {
        slot_t s;
        if (api_json_get_slot(&s, v, 32, "slot", err) != WEFT_OK)
            goto out;
        json_object_set_new(out, "slot", api_json_slot(s));
    }
    if ((v = json_object_get(x, "address"))) {
        address_t a;
        if (api_json_get_address(&a, v, "address", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_address(&a);
        same_json(back, v, "address");
        json_object_set_new(out, "address", back);
    }
    if ((v = json_object_get(x, "op_id"))) {
        op_id_t id;
        if (api_json_get_op_id(&id, v, "op_id", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_op_id(&id);
        same_json(back, v, "op_id");
        json_object_set_new(out, "op_id", back);
    }
    if ((v = json_object_get(x, "block_id"))) {
        block_id_t id;
        if (api_json_get_block_id(&id, v, "block_id", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_block_id(&id);
        same_json(back, v, "block_id");
        json_object_set_new(out, "block_id", back);
    }
    if ((v = json_object_get(x, "pubkey"))) {
        pubkey_t pk;
        if (api_json_get_pubkey(&pk, v, "pubkey", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_pubkey(&pk);
        same_json(back, v, "pubkey");
        json_object_set_new(out, "pubkey", back);
    }
    if ((v = json_object_get(x, "signature"))) {
        signature_t sig;
        if (api_json_get_signature(&sig, v, "signature", err) != WEFT_OK)
            goto out;
        json_t *back = api_json_signature(&sig);
        same_json(back, v, "signature");
        json_object_set_new(out, "signature", back);
    }
    if ((v = json_object_get(x, "uint"))) {
        uint64_t u;
        if (api_json_get_uint(&u, v, 1000000, "uint", err) != WEFT_OK)
            goto out;
        json_object_set_new(out, "uint", api_json_u64(u));
    }
    if ((v = json_object_get(x, "list"))) {
        size_t n;
        if (api_json_get_array(&n, v, 8, "list", err) != WEFT_OK)
            goto out;
        for (size_t i = 0; i < n; i++) {
            const char *s;
            if (api_json_get_string(&s, NULL, json_array_get(v, i), 16, "list[i]", err) != WEFT_OK)
                goto out;
        }
    }
    *result = out;
    return WEFT_OK;
out:
    json_decref(out);
    return rc;
}

static const api_method methods[] = {
    {"echo", m_echo, API_PUBLIC},
    {"none", m_none, API_PUBLIC},
    {"typed", m_typed, API_PUBLIC},
    {"stop_node", m_private, API_PRIVATE},
};

static void check_answer(const json_t *a, const json_t *req)
{
    json_t *e = json_object_get(a, "error");
    json_t *r = json_object_get(a, "result");
    json_t *id = json_object_get(a, "id");
    json_t *v = json_object_get(a, "jsonrpc");
    if (!json_is_object(a) || !json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0 ||
        !id || (!e == !r))
        abort();
    if (e && (!json_is_integer(json_object_get(e, "code")) ||
              !json_is_string(json_object_get(e, "message"))))
        abort();
    /* a request object with a valid id is answered with that id */
    json_t *rid = json_is_object(req) ? json_object_get(req, "id") : NULL;
    if (rid && (json_is_string(rid) || json_is_number(rid)) && !json_equal(rid, id))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    static api_rpc_t *rpc;
    if (!rpc) {
        api_rpc_config c = {
            .methods = methods, .method_count = WEFT_ARRAY_LEN(methods), .max_batch = 4};
        if (api_rpc_new(&rpc, &c) != WEFT_OK)
            abort();
    }
    char *out = NULL;
    size_t out_len = 0;
    if (api_rpc_handle(rpc, &out, &out_len, (const char *)data, size) != WEFT_OK)
        abort(); /* only E_NOMEM may fail it */
    if (!out)
        return 0; /* notifications only */
    json_error_t jerr;
    json_t *ans = json_loadb(out, out_len, JSON_DECODE_ANY, &jerr);
    if (!ans)
        abort();
    json_t *req = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    if (json_is_array(ans)) {
        if (!json_is_array(req) || json_array_size(ans) == 0 ||
            json_array_size(ans) > json_array_size(req))
            abort();
        size_t i;
        json_t *a;
        json_array_foreach (ans, i, a)
            check_answer(a, NULL);
    } else {
        check_answer(ans, json_is_array(req) ? NULL : req);
    }
    json_decref(req);
    json_decref(ans);
    free(out);
    return 0;
}
