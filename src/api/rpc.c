/* api/rpc.c — the JSON-RPC 2.0 core, without HTTP: body bytes in, response bytes out.
 *
 *~ The request path, in order: jansson parses the body (any JSON value; the body length and
 *~ jansson's nesting limit bound the work) — failure is -32700.  An array is a batch: empty or
 *~ longer than max_batch is one -32600 answer; otherwise each element is handled alone and the
 *~ answers are collected in order (notifications leave none).  A request must be an object with
 *~ "jsonrpc":"2.0", a string "method", "params" absent or an array or object, and "id" absent
 *~ (a notification), null, a string or a number — else -32600, answered with the id when the id
 *~ itself was valid.  The method is looked up in the table (-32601 when unknown, or private on
 *~ the public API), then its handler runs and either its result or its error is answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"

struct method_stats {
    api_metric_t *calls;
    api_metric_t *errors;
};

struct api_rpc {
    api_rpc_config cfg;
    struct method_stats *stats; /* per method index; NULL without metrics */
    api_metric_t *latency;
    api_metric_t *invalid;
};

weft_err api_rpc_new(api_rpc_t **out, const api_rpc_config *cfg)
{
    *out = NULL;
    WEFT_MISUSE(cfg && (cfg->method_count == 0 || cfg->methods));
    for (size_t i = 0; i < cfg->method_count; i++) {
        const api_method *m = &cfg->methods[i];
        if (!m->name || !m->name[0] || !m->fn)
            return WEFT_E_INVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->methods[j].name, m->name) == 0)
                return WEFT_E_INVAL;
    }
    api_rpc_t *r = calloc(1, sizeof *r);
    if (!r)
        return WEFT_E_NOMEM;
    r->cfg = *cfg;
    if (!r->cfg.max_batch)
        r->cfg.max_batch = API_DEFAULT_MAX_BATCH;
    if (cfg->metrics) {
        const char *api = cfg->label ? cfg->label : (cfg->private_api ? "private" : "public");
        r->stats = calloc(cfg->method_count ? cfg->method_count : 1, sizeof *r->stats);
        if (!r->stats) {
            free(r);
            return WEFT_E_NOMEM;
        }
        for (size_t i = 0; i < cfg->method_count; i++) {
            if (cfg->methods[i].access == API_PRIVATE && !cfg->private_api)
                continue;
            api_label l[2] = {{"api", api}, {"method", cfg->methods[i].name}};
            r->stats[i].calls = api_metrics_counter(cfg->metrics, "weft_api_calls_total",
                                                    "JSON-RPC calls per method", l, 2);
            r->stats[i].errors =
                api_metrics_counter(cfg->metrics, "weft_api_errors_total",
                                    "JSON-RPC calls per method answered with an error", l, 2);
        }
        api_label l1[1] = {{"api", api}};
        r->latency = api_metrics_histogram(cfg->metrics, "weft_api_call_seconds",
                                           "time spent in JSON-RPC method handlers", l1, 1,
                                           api_metrics_latency_bounds, api_metrics_latency_nbounds);
        r->invalid =
            api_metrics_counter(cfg->metrics, "weft_api_invalid_requests_total",
                                "malformed JSON, invalid requests, oversized batches", l1, 1);
    }
    *out = r;
    return WEFT_OK;
}

void api_rpc_free(api_rpc_t *r)
{
    if (!r)
        return;
    free(r->stats);
    free(r);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"jsonrpc":"2.0","error":{code,message[,data]},"id":id}; steals data.  NULL on E_NOMEM. */
static json_t *error_response(const json_t *id, int code, const char *message, json_t *data)
{
    json_t *e =
        json_pack("{s:i,s:o}", "code", code, "message", api_json_text(message, strlen(message)));
    if (e && data && json_object_set(e, "data", data) != 0) {
        json_decref(e);
        e = NULL;
    }
    json_decref(data);
    if (!e)
        return NULL;
    return json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "error", e, "id",
                     id ? (json_t *)id : json_null());
}

static bool valid_id(const json_t *id)
{
    return json_is_null(id) || json_is_string(id) || json_is_number(id);
}

static const api_method *lookup(const api_rpc_t *r, const char *name, size_t *index)
{
    for (size_t i = 0; i < r->cfg.method_count; i++) {
        if (strcmp(r->cfg.methods[i].name, name) == 0) {
            *index = i;
            return &r->cfg.methods[i];
        }
    }
    return NULL;
}

/* An invalid request: -32600 with the id when it is valid (null otherwise). */
static weft_err invalid(const api_rpc_t *r, json_t **resp, const json_t *id, const char *why)
{
    api_metric_inc(r->invalid, 1);
    char msg[API_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "invalid request: %s", why);
    *resp = error_response(id && valid_id(id) ? id : NULL, API_ERR_INVALID_REQUEST, msg, NULL);
    return *resp ? WEFT_OK : WEFT_E_NOMEM;
}

/* Handles one request object; *resp is NULL for a notification. */
static weft_err handle_one(const api_rpc_t *r, json_t **resp, json_t *req)
{
    *resp = NULL;
    if (!json_is_object(req))
        return invalid(r, resp, NULL, "expected a request object");
    json_t *id = json_object_get(req, "id");
    if (id && !valid_id(id))
        return invalid(r, resp, NULL, "\"id\" must be a string, a number or null");
    json_t *version = json_object_get(req, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        return invalid(r, resp, id, "\"jsonrpc\" must be \"2.0\"");
    json_t *jmethod = json_object_get(req, "method");
    if (!json_is_string(jmethod))
        return invalid(r, resp, id, "\"method\" must be a string");
    json_t *params = json_object_get(req, "params");
    if (params && !json_is_array(params) && !json_is_object(params))
        return invalid(r, resp, id, "\"params\" must be an array or an object");

    const char *name = json_string_value(jmethod);
    size_t index = 0;
    const api_method *m = lookup(r, name, &index);
    api_error err = {0};
    json_t *result = NULL;
    weft_err rc;
    if (!m) {
        rc = api_error_set(&err, API_ERR_METHOD_NOT_FOUND, "method not found: %.128s", name);
    } else if (m->access == API_PRIVATE && !r->cfg.private_api) {
        rc = api_error_set(&err, API_ERR_METHOD_NOT_FOUND,
                           "method %.128s is private: call it on the node's private API "
                           "(loopback address, with the repository's token)",
                           name);
    } else {
        const struct method_stats *st = r->stats ? &r->stats[index] : NULL;
        double t0 = st ? now_s() : 0;
        rc = m->fn(r->cfg.ctx, params, &result, &err);
        if (st) {
            api_metric_observe(r->latency, now_s() - t0);
            api_metric_inc(st->calls, 1);
            if (rc != WEFT_OK)
                api_metric_inc(st->errors, 1);
        }
        if (rc != WEFT_OK && err.code == 0) {
            if (rc == WEFT_E_NOMEM)
                api_error_set(&err, API_ERR_INTERNAL, "out of memory");
            else if (rc == WEFT_E_RPC)
                api_error_set(&err, API_ERR_INTERNAL, "the method failed without saying why");
            else
                api_error_node(&err, rc, NULL);
        }
    }
    if (!id) { /* a notification: never answered */
        json_decref(result);
        api_error_clear(&err);
        return WEFT_OK;
    }
    if (rc == WEFT_OK) {
        *resp = json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "result",
                          result ? result : json_null(), "id", id);
    } else {
        json_decref(result);
        json_t *data = err.data;
        err.data = NULL;
        *resp = error_response(id, err.code, err.message, data);
    }
    api_error_clear(&err);
    return *resp ? WEFT_OK : WEFT_E_NOMEM;
}

static weft_err handle_batch(const api_rpc_t *r, json_t **resp, json_t *batch)
{
    *resp = NULL;
    size_t n = json_array_size(batch);
    if (n == 0)
        return invalid(r, resp, NULL, "empty batch");
    if (n > r->cfg.max_batch) {
        char why[96];
        snprintf(why, sizeof why, "batch of %zu requests, at most %zu allowed", n,
                 r->cfg.max_batch);
        return invalid(r, resp, NULL, why);
    }
    json_t *answers = json_array();
    if (!answers)
        return WEFT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *one;
        if (handle_one(r, &one, json_array_get(batch, i)) != WEFT_OK ||
            (one && json_array_append_new(answers, one) != 0)) {
            json_decref(answers);
            return WEFT_E_NOMEM;
        }
    }
    if (json_array_size(answers) == 0) {
        json_decref(answers);
        return WEFT_OK;
    }
    *resp = answers;
    return WEFT_OK;
}

weft_err api_rpc_handle(const api_rpc_t *r, char **out, size_t *out_len, const char *body,
                        size_t len)
{
    *out = NULL;
    *out_len = 0;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    json_t *resp = NULL;
    weft_err rc = WEFT_OK;
    if (!root) {
        api_metric_inc(r->invalid, 1);
        char msg[API_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "parse error: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        resp = error_response(NULL, API_ERR_PARSE, msg, NULL);
        rc = resp ? WEFT_OK : WEFT_E_NOMEM;
    } else if (json_is_array(root)) {
        rc = handle_batch(r, &resp, root);
    } else {
        rc = handle_one(r, &resp, root);
    }
    json_decref(root);
    if (rc != WEFT_OK || !resp)
        return rc;
    size_t n = json_dumpb(resp, NULL, 0, JSON_COMPACT);
    char *buf = n ? malloc(n + 1) : NULL;
    if (!buf || json_dumpb(resp, buf, n, JSON_COMPACT) != n) {
        free(buf);
        json_decref(resp);
        return WEFT_E_NOMEM;
    }
    buf[n] = '\0';
    json_decref(resp);
    *out = buf;
    *out_len = n;
    return WEFT_OK;
}
