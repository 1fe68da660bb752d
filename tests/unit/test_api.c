/* Unit tests of src/api: the JSON-RPC core (validation, errors, batches, notifications), the HTTP
 * server through the client and through raw sockets (status codes, CORS, body limit, token,
 * private methods, slow clients, connection limit and timeout), the client's transport errors,
 * the metrics registry and its text format, and the JSON helpers for Massa's shapes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "testutil.h"

#define TOKEN "s3cret-token"

/* ---- the fake method table ------------------------------------------------------------------- */

struct fake {
    atomic_int counted;
};

static weft_err m_echo(void *ctx, json_t *params, json_t **result, api_error *err)
{
    *result = params ? json_incref(params) : NULL;
    return WEFT_OK;
}

static weft_err m_add(void *ctx, json_t *params, json_t **result, api_error *err)
{
    json_t *x;
    uint64_t a, b;
    if (api_params_one(&x, params, err) != WEFT_OK ||
        api_json_get_uint(&a, json_object_get(x, "a"), 1000000, "params[0].a", err) != WEFT_OK ||
        api_json_get_uint(&b, json_object_get(x, "b"), 1000000, "params[0].b", err) != WEFT_OK)
        return WEFT_E_RPC;
    *result = json_integer((json_int_t)(a + b));
    return WEFT_OK;
}

static weft_err m_count(void *ctx, json_t *params, json_t **result, api_error *err)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->counted, 1);
    *result = json_true();
    return WEFT_OK;
}

static weft_err m_fail_node(void *ctx, json_t *params, json_t **result, api_error *err)
{
    *result = json_true(); /* released by the framework: an error wins */
    return api_error_node(err, WEFT_E_POOL_EXPIRED, "expire period %d", 5);
}

static weft_err m_unavailable(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return api_error_set(err, API_ERR_UNAVAILABLE, "no VM yet");
}

static weft_err m_plain_error(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return WEFT_E_IO;
}

static weft_err m_bytes(void *ctx, json_t *params, json_t **result, api_error *err)
{
    json_t *x;
    uint8_t *buf;
    size_t len;
    if (api_params_one(&x, params, err) != WEFT_OK ||
        api_json_get_bytes(&buf, &len, x, 8, "params[0]", err) != WEFT_OK)
        return WEFT_E_RPC;
    *result = api_json_bytes(buf, len);
    free(buf);
    return WEFT_OK;
}

static weft_err m_stop(void *ctx, json_t *params, json_t **result, api_error *err)
{
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    *result = json_string("stopping");
    return WEFT_OK;
}

/* stop_self: stops its own server from another thread while it is answering (as stop_node makes
 * weftd stop the API), then answers after a moment. */
static api_server_t *stop_target;
static pthread_t stopper;
static void *stopper_main(void *arg)
{
    api_server_stop(arg);
    return NULL;
}
static weft_err m_stop_self(void *ctx, json_t *params, json_t **result, api_error *err)
{
    if (pthread_create(&stopper, NULL, stopper_main, stop_target) != 0)
        return WEFT_E_NOMEM;
    struct timespec ts = {0, 100 * 1000000L}; /* api_server_stop is under way meanwhile */
    nanosleep(&ts, NULL);
    *result = json_string("bye");
    return WEFT_OK;
}

static const api_method methods[] = {
    {"echo", m_echo, API_PUBLIC},
    {"add", m_add, API_PUBLIC},
    {"count", m_count, API_PUBLIC},
    {"fail_node", m_fail_node, API_PUBLIC},
    {"unavailable", m_unavailable, API_PUBLIC},
    {"plain_error", m_plain_error, API_PUBLIC},
    {"bytes", m_bytes, API_PUBLIC},
    {"stop_node", m_stop, API_PRIVATE},
    {"stop_self", m_stop_self, API_PUBLIC},
};

static struct fake fake;

static api_server_t *start(api_server_kind kind, const char *listen_at, size_t max_body,
                           unsigned threads, unsigned max_conn, unsigned timeout_s,
                           api_metrics_t *metrics)
{
    api_server_config c = {
        .kind = kind,
        .listen = listen_at,
        .methods = methods,
        .method_count = WEFT_ARRAY_LEN(methods),
        .ctx = &fake,
        .token = kind == API_SERVER_PRIVATE ? TOKEN : NULL,
        .max_body = max_body,
        .threads = threads,
        .max_connections = max_conn,
        .timeout_s = timeout_s,
        .metrics = metrics,
    };
    api_server_t *s = NULL;
    char errbuf[256];
    weft_err e = api_server_start(&s, &c, errbuf, sizeof errbuf);
    if (e != WEFT_OK)
        fail_msg("api_server_start: %s: %s", weft_err_name(e), errbuf);
    return s;
}

static void url_of(char *url, size_t cap, const api_server_t *s)
{
    snprintf(url, cap, "http://%s", api_server_address(s));
}

/* ---- raw HTTP -------------------------------------------------------------------------------- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 60}; /* only a guard against a hung test, never asserted */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void raw_send(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may close early (413): what it answered is checked */
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until the server closes; returns a NUL-terminated malloc'd buffer. */
static char *raw_read_all(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Sends one request ("Connection: close" is added) and returns the whole response. */
static char *raw_http(uint16_t port, const char *method, const char *path, const char *headers,
                      const char *body)
{
    int fd = raw_connect(port);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, headers ? headers : "", body ? strlen(body) : 0);
    raw_send(fd, head, (size_t)n);
    if (body)
        raw_send(fd, body, strlen(body));
    char *resp = raw_read_all(fd);
    close(fd);
    return resp;
}

static int status_of(const char *resp)
{
    int st = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
        return -1;
    return st;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* True if the header block holds the line "name: value..." (name case-insensitive, value a
 * prefix). */
static bool has_header(const char *resp, const char *name, const char *value_prefix)
{
    const char *end = strstr(resp, "\r\n\r\n");
    size_t nlen = strlen(name);
    for (const char *p = strstr(resp, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            if (strncmp(v, value_prefix, strlen(value_prefix)) == 0)
                return true;
        }
    }
    return false;
}

static json_t *body_json(const char *resp)
{
    json_error_t e;
    json_t *j = json_loads(body_of(resp), JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("response body is not JSON: %s\n%s", e.text, resp);
    return j;
}

static int error_code(const json_t *resp)
{
    return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static const char *error_message(const json_t *resp)
{
    return json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
}

/* ---- the core, without HTTP ------------------------------------------------------------------ */

static api_rpc_t *rpc_new(bool private_api)
{
    api_rpc_config c = {.methods = methods,
                        .method_count = WEFT_ARRAY_LEN(methods),
                        .ctx = &fake,
                        .private_api = private_api};
    api_rpc_t *r = NULL;
    assert_int_equal(api_rpc_new(&r, &c), WEFT_OK);
    return r;
}

/* Handles body; returns the parsed answer, or NULL when there is none. */
static json_t *rpc(const api_rpc_t *r, const char *body)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(api_rpc_handle(r, &out, &len, body, strlen(body)), WEFT_OK);
    if (!out)
        return NULL;
    assert_int_equal(strlen(out), len);
    json_error_t e;
    json_t *j = json_loads(out, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("answer is not JSON: %s", out);
    free(out);
    return j;
}

/* Checks a single answer: the envelope, the id (as JSON text, "null" for null) and the error
 * code (0: a result). */
static void check_answer(const json_t *a, const char *id_json, int code)
{
    assert_true(json_is_object(a));
    assert_string_equal(json_string_value(json_object_get(a, "jsonrpc")), "2.0");
    json_t *id = json_object_get(a, "id");
    assert_non_null(id); /* always present, null when unknown */
    char *idtext = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
    assert_string_equal(idtext, id_json);
    free(idtext);
    if (code == 0) {
        assert_non_null(json_object_get(a, "result"));
        assert_null(json_object_get(a, "error"));
    } else {
        assert_null(json_object_get(a, "result"));
        assert_int_equal(error_code(a), code);
        assert_true(json_is_string(json_object_get(json_object_get(a, "error"), "message")));
    }
}

static void test_rpc_result_and_errors(void **state)
{
    api_rpc_t *r = rpc_new(false);
    struct {
        const char *body;
        const char *id;
        int code;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":7}", "7", 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"k\":1},\"id\":\"abc\"}", "\"abc\"",
         0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}", "null", 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1.5}", "1.5", 0},
        {"{bad", "null", API_ERR_PARSE},
        {"", "null", API_ERR_PARSE},
        {"{\"a\":1} trailing", "null", API_ERR_PARSE},
        {"\"\\u00\"", "null", API_ERR_PARSE},
        /* jansson's message quotes the bad token: invalid UTF-8 must not break the answer */
        {"{\"jsonrpc\":\"2.0\\u\xe3\x92\x9a\x8b\"}", "null", API_ERR_PARSE},
        {"[\"\xff\xfe\"]", "null", API_ERR_PARSE},
        {"5", "null", API_ERR_INVALID_REQUEST},
        {"[]", "null", API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}", "1", API_ERR_INVALID_REQUEST},
        {"{\"method\":\"echo\",\"id\":1}", "1", API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":2}", "2", API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":3}", "3", API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":\"x\",\"id\":4}", "4",
         API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}", "null", API_ERR_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":5}", "5", API_ERR_METHOD_NOT_FOUND},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"id\":6}", "6", API_ERR_METHOD_NOT_FOUND},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[{\"a\":1}],\"id\":8}", "8",
         API_ERR_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1},\"id\":9}", "9",
         API_ERR_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"fail_node\",\"id\":10}", "10", API_ERR_NODE},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"unavailable\",\"id\":11}", "11", API_ERR_UNAVAILABLE},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"plain_error\",\"id\":12}", "12", API_ERR_NODE},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"params\":[1],\"id\":13}", "13",
         API_ERR_METHOD_NOT_FOUND},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(cases); i++) {
        json_t *a = rpc(r, cases[i].body);
        if (!a)
            fail_msg("no answer to %s", cases[i].body);
        check_answer(a, cases[i].id, cases[i].code);
        json_decref(a);
    }

    /* results are the handler's values */
    json_t *a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[{\"a\":2,\"b\":40}],"
                       "\"id\":1}");
    assert_int_equal(json_integer_value(json_object_get(a, "result")), 42);
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}");
    assert_true(json_is_null(json_object_get(a, "result"))); /* explicit null result */
    json_decref(a);

    /* messages and data say what went wrong */
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[{\"a\":1,\"b\":-3}],\"id\":1}");
    assert_non_null(strstr(error_message(a), "params[0].b"));
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"id\":1}");
    assert_non_null(strstr(error_message(a), "private"));
    json_decref(a);
    /* a long multi-byte method name is cut in the message, never mid-character in the JSON */
    char body[1024];
    size_t len = (size_t)snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"method\":\"");
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(body + len, sizeof body - len, "\xc3\xa9");
    snprintf(body + len, sizeof body - len, "\",\"id\":3}");
    a = rpc(r, body);
    check_answer(a, "3", API_ERR_METHOD_NOT_FOUND);
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"fail_node\",\"id\":1}");
    json_t *data = json_object_get(json_object_get(a, "error"), "data");
    assert_string_equal(json_string_value(json_object_get(data, "name")), "E_POOL_EXPIRED");
    assert_int_equal(json_integer_value(json_object_get(data, "code")), WEFT_E_POOL_EXPIRED);
    assert_non_null(strstr(error_message(a), "expire period 5"));
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"plain_error\",\"id\":1}");
    data = json_object_get(json_object_get(a, "error"), "data");
    assert_string_equal(json_string_value(json_object_get(data, "name")), "E_IO");
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"unavailable\",\"id\":1}");
    assert_null(json_object_get(json_object_get(a, "error"), "data"));
    json_decref(a);
    api_rpc_free(r);

    /* the private dispatcher serves private and public methods */
    r = rpc_new(true);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"params\":[{}],\"id\":1}");
    check_answer(a, "1", 0);
    json_decref(a);
    a = rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}");
    check_answer(a, "2", 0);
    json_decref(a);
    api_rpc_free(r);
}

static void test_rpc_notifications_and_batches(void **state)
{
    api_rpc_t *r = rpc_new(false);
    int before = atomic_load(&fake.counted);
    /* a notification runs but is not answered, even when it fails */
    assert_null(rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}"));
    assert_int_equal(atomic_load(&fake.counted), before + 1);
    assert_null(rpc(r, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}"));
    /* an invalid request without id is still answered */
    json_t *a = rpc(r, "{\"jsonrpc\":\"2.0\"}");
    check_answer(a, "null", API_ERR_INVALID_REQUEST);
    json_decref(a);

    /* a mixed batch: answers in order, none for the notification */
    a = rpc(r, "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":1},"
               "{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
               "7,"
               "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":4}]");
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 3);
    check_answer(json_array_get(a, 0), "1", 0);
    check_answer(json_array_get(a, 1), "null", API_ERR_INVALID_REQUEST);
    check_answer(json_array_get(a, 2), "4", API_ERR_METHOD_NOT_FOUND);
    json_decref(a);
    assert_int_equal(atomic_load(&fake.counted), before + 2);

    /* only notifications: no answer */
    assert_null(rpc(r, "[{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}]"));

    /* the batch limit: 16 answered, 17 refused as a whole (one error object, no call made) */
    char body[4096];
    for (int n = 16; n <= 17; n++) {
        size_t len = 0;
        body[len++] = '[';
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(body + len, sizeof body - len,
                                    "%s{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":%d}",
                                    i ? "," : "", i);
        body[len++] = ']';
        body[len] = '\0';
        int c0 = atomic_load(&fake.counted);
        a = rpc(r, body);
        if (n == 16) {
            assert_int_equal(json_array_size(a), 16);
            assert_int_equal(atomic_load(&fake.counted), c0 + 16);
        } else {
            check_answer(a, "null", API_ERR_INVALID_REQUEST);
            assert_non_null(strstr(error_message(a), "at most 16"));
            assert_int_equal(atomic_load(&fake.counted), c0);
        }
        json_decref(a);
    }

    /* deep nesting is a parse error, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    a = rpc(r, deep);
    check_answer(a, "null", API_ERR_PARSE);
    json_decref(a);
    free(deep);
    api_rpc_free(r);

    /* a table with a duplicate name is refused */
    api_method dup[2] = {{"x", m_echo, API_PUBLIC}, {"x", m_add, API_PUBLIC}};
    api_rpc_config c = {.methods = dup, .method_count = 2};
    assert_int_equal(api_rpc_new(&r, &c), WEFT_E_INVAL);
    assert_null(r);
}

/* ---- the server through the client ----------------------------------------------------------- */

static void test_client_calls(void **state)
{
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 0, 0, 0, NULL);
    assert_true(api_server_port(s) != 0);
    char url[128];
    url_of(url, sizeof url, s);

    json_t *params = json_pack("[{s:i,s:s}]", "a", 1, "b", "two");
    json_t *result = NULL;
    api_error err;
    assert_int_equal(api_client_call(url, NULL, "echo", params, 0, &result, &err), WEFT_OK);
    assert_true(json_equal(result, params));
    json_decref(result);
    json_decref(params);

    /* a null result is a json null */
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err), WEFT_OK);
    assert_true(json_is_null(result));
    json_decref(result);

    /* JSON-RPC errors come back as E_RPC with the node's code, message and data */
    assert_int_equal(api_client_call(url, NULL, "nope", NULL, 0, &result, &err), WEFT_E_RPC);
    assert_null(result);
    assert_int_equal(err.code, API_ERR_METHOD_NOT_FOUND);
    assert_non_null(strstr(err.message, "nope"));
    api_error_clear(&err);
    params = json_pack("[{s:i}]", "a", 1);
    assert_int_equal(api_client_call(url, NULL, "add", params, 0, &result, &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_INVALID_PARAMS);
    json_decref(params);
    api_error_clear(&err);
    assert_int_equal(api_client_call(url, NULL, "fail_node", NULL, 0, &result, &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_NODE);
    assert_string_equal(json_string_value(json_object_get(err.data, "name")), "E_POOL_EXPIRED");
    api_error_clear(&err);
    assert_int_equal(api_client_call(url, NULL, "stop_node", NULL, 0, &result, &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_METHOD_NOT_FOUND);
    assert_non_null(strstr(err.message, "private"));
    api_error_clear(&err);

    /* the URL with a trailing slash is the same endpoint; another path is a clear error */
    char url2[160];
    snprintf(url2, sizeof url2, "%s/", url);
    assert_int_equal(api_client_call(url2, NULL, "echo", NULL, 0, &result, &err), WEFT_OK);
    json_decref(result);
    snprintf(url2, sizeof url2, "%s/v2", url);
    assert_int_equal(api_client_call(url2, NULL, "echo", NULL, 0, &result, &err), WEFT_E_RPC);
    assert_non_null(strstr(err.message, "POST requests to /"));
    api_error_clear(&err);

    api_server_stop(s);
}

static void test_http_rules(void **state)
{
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 0, 0, 0, NULL);
    uint16_t port = api_server_port(s);

    /* a POST answer: 200, JSON, CORS */
    char *r = raw_http(port, "POST", "/", "Content-Type: application/json\r\n",
                       "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[true],\"id\":1}");
    assert_int_equal(status_of(r), 200);
    assert_true(has_header(r, "Content-Type", "application/json"));
    assert_true(has_header(r, "Access-Control-Allow-Origin", "*"));
    assert_string_equal(body_of(r), "{\"jsonrpc\":\"2.0\",\"result\":[true],\"id\":1}");
    free(r);

    /* malformed JSON is a JSON-RPC error with HTTP 200 */
    r = raw_http(port, "POST", "/", NULL, "{\"jsonrpc\":");
    assert_int_equal(status_of(r), 200);
    json_t *j = body_json(r);
    check_answer(j, "null", API_ERR_PARSE);
    json_decref(j);
    free(r);

    /* a notification: 204, no body */
    r = raw_http(port, "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}");
    assert_int_equal(status_of(r), 204);
    assert_string_equal(body_of(r), "");
    free(r);

    /* CORS preflight */
    r = raw_http(port, "OPTIONS", "/",
                 "Origin: http://dapp.example\r\nAccess-Control-Request-Method: POST\r\n"
                 "Access-Control-Request-Headers: content-type\r\n",
                 NULL);
    assert_int_equal(status_of(r), 204);
    assert_true(has_header(r, "Access-Control-Allow-Origin", "*"));
    assert_true(has_header(r, "Access-Control-Allow-Methods", "POST"));
    assert_true(has_header(r, "Access-Control-Allow-Headers", "Content-Type"));
    free(r);

    /* wrong method, wrong path: HTTP status and a JSON-RPC error body */
    r = raw_http(port, "GET", "/", NULL, NULL);
    assert_int_equal(status_of(r), 405);
    assert_true(has_header(r, "Allow", "POST"));
    j = body_json(r);
    check_answer(j, "null", API_ERR_INVALID_REQUEST);
    json_decref(j);
    free(r);
    r = raw_http(port, "POST", "/other", NULL, "{}");
    assert_int_equal(status_of(r), 404);
    j = body_json(r);
    check_answer(j, "null", API_ERR_INVALID_REQUEST);
    json_decref(j);
    free(r);

    /* malformed HTTP is refused by the HTTP layer (an error status or a closed connection), and
     * the server goes on */
    int fd = raw_connect(port);
    raw_send(fd, "BLAH\r\n\r\n", 8);
    r = raw_read_all(fd);
    close(fd);
    assert_int_not_equal(status_of(r), 200);
    free(r);
    fd = raw_connect(port);
    const char *neg = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n";
    raw_send(fd, neg, strlen(neg));
    r = raw_read_all(fd);
    close(fd);
    assert_true(status_of(r) == 400 || status_of(r) == 413);
    free(r);
    r = raw_http(port, "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}");
    assert_int_equal(status_of(r), 200);
    free(r);

    api_server_stop(s);
}

static void test_body_limit(void **state)
{
    const size_t limit = 1024;
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", limit, 0, 0, 0, NULL);
    uint16_t port = api_server_port(s);
    char url[128];
    url_of(url, sizeof url, s);

    /* a body of exactly the limit is served */
    char *body = malloc(limit + 2);
    const char *pre = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"";
    const char *post = "\"],\"id\":1}";
    size_t fill = limit - strlen(pre) - strlen(post);
    strcpy(body, pre);
    memset(body + strlen(pre), 'x', fill);
    strcpy(body + strlen(pre) + fill, post);
    assert_int_equal(strlen(body), limit);
    char *r = raw_http(port, "POST", "/", NULL, body);
    assert_int_equal(status_of(r), 200);
    free(r);

    /* one byte more: 413 from Content-Length, before the body is read */
    memmove(body + strlen(pre) + 1, body + strlen(pre), strlen(body + strlen(pre)) + 1);
    assert_int_equal(strlen(body), limit + 1);
    r = raw_http(port, "POST", "/", NULL, body);
    assert_int_equal(status_of(r), 413);
    json_t *j = body_json(r);
    check_answer(j, "null", API_ERR_INVALID_REQUEST);
    assert_non_null(strstr(error_message(j), "1024"));
    json_decref(j);
    free(r);
    free(body);

    /* a huge announced body is refused without being sent */
    int fd = raw_connect(port);
    const char *huge = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n";
    raw_send(fd, huge, strlen(huge));
    r = raw_read_all(fd);
    close(fd);
    assert_int_equal(status_of(r), 413);
    free(r);

    /* the client reports it as the node's error */
    json_t *params = json_pack("[s]", "");
    char big[2048];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_array_set_new(params, 0, json_string(big));
    json_t *result = NULL;
    api_error err;
    assert_int_equal(api_client_call(url, NULL, "echo", params, 0, &result, &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "larger than"));
    api_error_clear(&err);
    json_decref(params);

    /* a chunked body that grows past the limit: the connection is dropped, nothing answered */
    fd = raw_connect(port);
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    raw_send(fd, head, strlen(head));
    char chunk[600];
    int n = snprintf(chunk, sizeof chunk, "200\r\n");
    memset(chunk + n, ' ', 512);
    memcpy(chunk + n + 512, "\r\n", 2);
    for (int i = 0; i < 4; i++)
        raw_send(fd, chunk, (size_t)n + 514);
    raw_send(fd, "0\r\n\r\n", 5);
    r = raw_read_all(fd);
    close(fd);
    assert_int_not_equal(status_of(r), 200);
    free(r);

    /* and the server still serves */
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err), WEFT_OK);
    json_decref(result);
    api_server_stop(s);
}

static void test_private_api(void **state)
{
    api_server_t *s = start(API_SERVER_PRIVATE, "127.0.0.1:0", 0, 0, 0, 0, NULL);
    char url[128];
    url_of(url, sizeof url, s);
    json_t *result = NULL;
    api_error err;

    /* no token, a wrong one, a prefix of the right one, the wrong scheme: 401 */
    const char *bad[] = {NULL, "wrong", "s3cret", TOKEN "x", ""};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        assert_int_equal(api_client_call(url, bad[i], "stop_node", NULL, 0, &result, &err),
                         WEFT_E_RPC);
        assert_null(result);
        assert_int_equal(err.code, API_ERR_UNAUTHORIZED);
        assert_non_null(strstr(err.message, "Bearer"));
        api_error_clear(&err);
    }
    char *r = raw_http(api_server_port(s), "POST", "/", "Authorization: Basic " TOKEN "\r\n",
                       "{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"id\":1}");
    assert_int_equal(status_of(r), 401);
    assert_true(has_header(r, "WWW-Authenticate", "Bearer"));
    free(r);

    /* the right token: private and public methods; no CORS on the private API */
    assert_int_equal(api_client_call(url, TOKEN, "stop_node", NULL, 0, &result, &err), WEFT_OK);
    assert_string_equal(json_string_value(result), "stopping");
    json_decref(result);
    assert_int_equal(api_client_call(url, TOKEN, "echo", NULL, 0, &result, &err), WEFT_OK);
    json_decref(result);
    r = raw_http(api_server_port(s), "POST", "/", "Authorization: bearer " TOKEN "\r\n",
                 "{\"jsonrpc\":\"2.0\",\"method\":\"stop_node\",\"id\":1}");
    assert_int_equal(status_of(r), 200);
    assert_false(has_header(r, "Access-Control-Allow-Origin", ""));
    free(r);
    api_server_stop(s);

    /* refused configurations: non-loopback address, no token */
    api_server_config c = {.kind = API_SERVER_PRIVATE,
                           .listen = "0.0.0.0:0",
                           .methods = methods,
                           .method_count = WEFT_ARRAY_LEN(methods),
                           .token = TOKEN};
    char errbuf[256];
    assert_int_equal(api_server_start(&s, &c, errbuf, sizeof errbuf), WEFT_E_INVAL);
    assert_null(s);
    assert_non_null(strstr(errbuf, "loopback"));
    c.listen = "127.0.0.1:0";
    c.token = "";
    assert_int_equal(api_server_start(&s, &c, errbuf, sizeof errbuf), WEFT_E_INVAL);
}

static void test_listen_addresses(void **state)
{
    api_server_config c = {
        .kind = API_SERVER_PUBLIC, .methods = methods, .method_count = WEFT_ARRAY_LEN(methods)};
    api_server_t *s = NULL;
    char errbuf[256];
    const char *bad[] = {"nohostport",   "127.0.0.1:", ":80",   "127.0.0.1:99999",
                         "127.0.0.1:8x", "[::1:80",    "::1:80"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        c.listen = bad[i];
        assert_int_equal(api_server_start(&s, &c, errbuf, sizeof errbuf), WEFT_E_INVAL);
        assert_null(s);
    }
    /* a port already listened on */
    api_server_t *a = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 0, 0, 0, NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)api_server_port(a));
    c.listen = addr;
    assert_int_equal(api_server_start(&s, &c, errbuf, sizeof errbuf), WEFT_E_IO);
    assert_non_null(strstr(errbuf, addr));
    api_server_stop(a);
    /* a table-less JSON-RPC server */
    c.listen = "127.0.0.1:0";
    c.method_count = 0;
    assert_int_equal(api_server_start(&s, &c, errbuf, sizeof errbuf), WEFT_E_INVAL);
    /* IPv6 loopback, where the machine has it */
    c.method_count = WEFT_ARRAY_LEN(methods);
    c.listen = "[::1]:0";
    if (api_server_start(&s, &c, errbuf, sizeof errbuf) == WEFT_OK) {
        assert_non_null(strstr(api_server_address(s), "[::1]:"));
        char url[128];
        url_of(url, sizeof url, s);
        json_t *result = NULL;
        api_error err;
        assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err), WEFT_OK);
        json_decref(result);
        api_server_stop(s);
    }
}

/* ---- the client's transport errors ----------------------------------------------------------- */

/* A fake HTTP server thread: accepts one connection, reads the request head, then answers
 * `reply` (or nothing, holding the connection until the client goes, when reply is NULL). */
struct fake_http {
    int lfd;
    const char *reply;
    pthread_t th;
};

static void *fake_http_main(void *arg)
{
    struct fake_http *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    if (f->reply)
        send(fd, f->reply, strlen(f->reply), MSG_NOSIGNAL);
    else
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    close(fd);
    return NULL;
}

static uint16_t fake_http_start(struct fake_http *f, const char *reply)
{
    f->reply = reply;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    socklen_t sl = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &sl);
    assert_int_equal(pthread_create(&f->th, NULL, fake_http_main, f), 0);
    return ntohs(a.sin_port);
}

static void fake_http_join(struct fake_http *f)
{
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static void test_client_transport_errors(void **state)
{
    json_t *result = NULL;
    api_error err;
    char url[128];

    /* nothing listening */
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 0, 0, 0, NULL);
    url_of(url, sizeof url, s);
    api_server_stop(s);
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    assert_null(result);
    assert_non_null(strstr(err.message, "is weftd running"));
    assert_non_null(strstr(err.message, "--rpc"));
    assert_non_null(strstr(err.message, url));
    api_error_clear(&err);

    /* an HTTP server that does not speak JSON-RPC */
    struct fake_http f;
    uint16_t port =
        fake_http_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                            "hello");
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    assert_non_null(strstr(err.message, "not JSON-RPC"));
    api_error_clear(&err);
    fake_http_join(&f);

    port = fake_http_start(&f, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n"
                               "Connection: close\r\n\r\nbad");
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    assert_non_null(strstr(err.message, "HTTP 502"));
    api_error_clear(&err);
    fake_http_join(&f);

    /* a server that never answers: the call's timeout ends it */
    port = fake_http_start(&f, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 200, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    assert_non_null(strstr(err.message, "no answer"));
    api_error_clear(&err);
    fake_http_join(&f);

    /* misuse-free bad arguments */
    assert_int_equal(api_client_call("", NULL, "echo", NULL, 0, &result, &err), WEFT_E_INVAL);
    assert_int_equal(api_client_call("http://127.0.0.1:1", NULL, "", NULL, 0, &result, &err),
                     WEFT_E_INVAL);
    /* not an http URL */
    assert_int_equal(api_client_call("file:///etc/passwd", NULL, "echo", NULL, 0, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    api_error_clear(&err);
}

/* ---- slow and many clients ------------------------------------------------------------------- */

struct worker {
    const char *url;
    int base;
    int ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 25; i++) {
        json_t *params = json_pack("[{s:i,s:i}]", "a", w->base, "b", i);
        json_t *result = NULL;
        api_error err;
        if (api_client_call(w->url, NULL, "add", params, 0, &result, &err) == WEFT_OK &&
            json_integer_value(result) == w->base + i)
            w->ok++;
        api_error_clear(&err);
        json_decref(result);
        json_decref(params);
    }
    return NULL;
}

/* A request answered while the server stops still gets its answer (weftd's stop_node). */
static void test_answer_survives_stop(void **state)
{
    stop_target = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 2, 0, 0, NULL);
    char url[128];
    url_of(url, sizeof url, stop_target);
    json_t *result = NULL;
    api_error err;
    weft_err e = api_client_call(url, NULL, "stop_self", NULL, 5000, &result, &err);
    if (e != WEFT_OK)
        fail_msg("stop_self: %s: %s", weft_err_name(e), err.message);
    assert_string_equal(json_string_value(result), "bye");
    json_decref(result);
    pthread_join(stopper, NULL);
    /* and the server is gone */
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 2000, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    api_error_clear(&err);
}

static void test_slow_clients_do_not_stall_others(void **state)
{
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 2, 0, 0, NULL);
    uint16_t port = api_server_port(s);
    char url[128];
    url_of(url, sizeof url, s);

    /* slow-loris clients: a body that never completes, headers that never end */
    int loris[6];
    for (int i = 0; i < 6; i++) {
        loris[i] = raw_connect(port);
        const char *part = i % 2 ? "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"js"
                                 : "POST / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa";
        raw_send(loris[i], part, strlen(part));
    }

    enum { W = 8 };
    struct worker w[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        w[i] = (struct worker){.url = url, .base = 1000 * (i + 1)};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 25);
    }
    for (int i = 0; i < 6; i++)
        close(loris[i]);
    api_server_stop(s);
}

static void test_connection_limit_and_timeout(void **state)
{
    /* one thread, two connections at most, idle connections closed after 1 s */
    api_server_t *s = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 1, 2, 1, NULL);
    uint16_t port = api_server_port(s);
    char url[128];
    url_of(url, sizeof url, s);
    json_t *result = NULL;
    api_error err;

    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = raw_connect(port);
        raw_send(held[i], "POST / HTTP/1.1\r\n", 17);
    }
    /* while both are held, a third client gets no service (refused or not accepted in time) */
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 500, &result, &err),
                     WEFT_E_RPC_TRANSPORT);
    api_error_clear(&err);

    /* the server closes idle connections itself: both reads end with EOF, not our guard */
    for (int i = 0; i < 2; i++) {
        char buf[256];
        ssize_t n;
        while ((n = recv(held[i], buf, sizeof buf, 0)) > 0) {
        }
        assert_int_equal(n, 0);
        close(held[i]);
    }
    /* then it serves again (the server may still be reaping the closed connections) */
    weft_err e = WEFT_E_RPC_TRANSPORT;
    for (int tries = 0; tries < 100 && e != WEFT_OK; tries++) {
        api_error_clear(&err);
        e = api_client_call(url, NULL, "echo", NULL, 0, &result, &err);
        if (e != WEFT_OK)
            usleep(50000);
    }
    assert_int_equal(e, WEFT_OK);
    json_decref(result);
    api_server_stop(s);
}

/* ---- metrics --------------------------------------------------------------------------------- */

static char *write_text(const api_metrics_t *m)
{
    wr_t w;
    wr_init(&w);
    api_metrics_write(m, &w);
    wr_u8(&w, 0);
    size_t len;
    return (char *)wr_take(&w, &len);
}

static void test_metrics_text(void **state)
{
    api_metrics_t *m = NULL;
    assert_int_equal(api_metrics_new(&m), WEFT_OK);
    api_metric_t *c = api_metrics_counter(m, "weft_ops_admitted_total",
                                          "operations admitted\\to the pool\nsecond line", NULL, 0);
    api_label t3[1] = {{"thread", "3"}};
    api_label t0[1] = {{"thread", "0"}};
    api_metric_t *g3 = api_metrics_gauge(m, "weft_final_period", "final period per thread", t3, 1);
    api_metric_t *g0 = api_metrics_gauge(m, "weft_final_period", "ignored", t0, 1);
    api_label odd[2] = {{"peer", "a\"b\\c\nd"}, {"dir", "in"}};
    api_metric_t *o = api_metrics_gauge(m, "weft_odd", "", odd, 2);
    const double bounds[] = {0.5, 1};
    api_metric_t *h =
        api_metrics_histogram(m, "weft_latency_seconds", "latency", NULL, 0, bounds, 2);
    /* the same series twice is one series */
    assert_ptr_equal(api_metrics_gauge(m, "weft_final_period", "x", t3, 1), g3);

    api_metric_inc(c, 2);
    api_metric_inc(c, 40);
    api_metric_set(g3, 1234);
    api_metric_set(g0, 7);
    api_metric_add(g0, 0.5);
    api_metric_set(o, -0.1);
    api_metric_observe(h, 0.25);
    api_metric_observe(h, 0.5); /* le is inclusive */
    api_metric_observe(h, 0.75);
    api_metric_observe(h, 3);
    api_metric_inc(NULL, 1); /* a NULL handle (allocation failed) is ignored */
    assert_true(api_metric_value(c) == 42);
    assert_true(api_metric_value(g0) == 7.5);
    assert_true(api_metric_value(h) == 4);

    char *text = write_text(m);
    const char *want = "# HELP weft_ops_admitted_total operations admitted\\\\to the pool\\nsecond "
                       "line\n"
                       "# TYPE weft_ops_admitted_total counter\n"
                       "weft_ops_admitted_total 42\n"
                       "# HELP weft_final_period final period per thread\n"
                       "# TYPE weft_final_period gauge\n"
                       "weft_final_period{thread=\"3\"} 1234\n"
                       "weft_final_period{thread=\"0\"} 7.5\n"
                       "# HELP weft_odd \n"
                       "# TYPE weft_odd gauge\n"
                       "weft_odd{peer=\"a\\\"b\\\\c\\nd\",dir=\"in\"} -0.1\n"
                       "# HELP weft_latency_seconds latency\n"
                       "# TYPE weft_latency_seconds histogram\n"
                       "weft_latency_seconds_bucket{le=\"0.5\"} 2\n"
                       "weft_latency_seconds_bucket{le=\"1\"} 3\n"
                       "weft_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                       "weft_latency_seconds_sum 4.5\n"
                       "weft_latency_seconds_count 4\n";
    assert_string_equal(text, want);
    free(text);
    api_metrics_free(m);

    /* values at scrape time, through the text writer */
    wr_t w;
    wr_init(&w);
    api_metrics_text_family(&w, "x", API_METRIC_GAUGE, "h");
    api_label l[1] = {{"k", "v"}};
    double vals[] = {0.0 / 0.0, 1.0 / 0.0, -1.0 / 0.0, 1e21, 0.1, 9007199254740993.0, -3};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(vals); i++)
        api_metrics_text_sample(&w, "x", i == 0 ? "_sum" : NULL, i % 2 ? l : NULL, i % 2 ? 1 : 0,
                                vals[i]);
    wr_u8(&w, 0);
    assert_string_equal((char *)w.buf, "# HELP x h\n# TYPE x gauge\n"
                                       "x_sum NaN\n"
                                       "x{k=\"v\"} +Inf\n"
                                       "x -Inf\n"
                                       "x{k=\"v\"} 1e+21\n"
                                       "x 0.1\n"
                                       "x{k=\"v\"} 9007199254740992\n"
                                       "x -3\n");
    wr_free(&w);
}

static weft_err custom_text(void *ctx, wr_t *out)
{
    api_label l[1] = {{"thread", "3"}};
    api_metrics_text_family(out, "final_period", API_METRIC_GAUGE, "final period");
    api_metrics_text_sample(out, "final_period", NULL, l, 1, *(int *)ctx);
    return WEFT_OK;
}

static void test_metrics_server(void **state)
{
    api_metrics_t *m = NULL;
    assert_int_equal(api_metrics_new(&m), WEFT_OK);
    api_server_t *pub = start(API_SERVER_PUBLIC, "127.0.0.1:0", 0, 0, 0, 0, m);
    api_server_config mc = {.kind = API_SERVER_METRICS, .listen = "127.0.0.1:0", .metrics = m};
    api_server_t *ms = NULL;
    assert_int_equal(api_server_start(&ms, &mc, NULL, 0), WEFT_OK);

    char url[128];
    url_of(url, sizeof url, pub);
    json_t *result = NULL;
    api_error err;
    assert_int_equal(api_client_call(url, NULL, "echo", NULL, 0, &result, &err), WEFT_OK);
    json_decref(result);
    assert_int_equal(api_client_call(url, NULL, "fail_node", NULL, 0, &result, &err), WEFT_E_RPC);
    api_error_clear(&err);
    free(raw_http(api_server_port(pub), "GET", "/", NULL, NULL)); /* one 405 */

    char *r = raw_http(api_server_port(ms), "GET", "/metrics", NULL, NULL);
    assert_int_equal(status_of(r), 200);
    assert_true(has_header(r, "Content-Type", "text/plain; version=0.0.4"));
    const char *b = body_of(r);
    assert_non_null(strstr(b, "# TYPE weft_api_calls_total counter\n"));
    assert_non_null(strstr(b, "weft_api_calls_total{api=\"public\",method=\"echo\"} 1\n"));
    assert_non_null(strstr(b, "weft_api_calls_total{api=\"public\",method=\"add\"} 0\n"));
    assert_non_null(strstr(b, "weft_api_errors_total{api=\"public\",method=\"fail_node\"} 1\n"));
    assert_non_null(strstr(b, "weft_api_call_seconds_count{api=\"public\"} 2\n"));
    assert_non_null(strstr(b, "weft_api_http_refused_total{api=\"public\",status=\"405\"} 1\n"));
    /* private methods have no series on the public API */
    assert_null(strstr(b, "method=\"stop_node\""));
    free(r);

    r = raw_http(api_server_port(ms), "POST", "/metrics", NULL, "x");
    assert_int_equal(status_of(r), 405);
    free(r);
    r = raw_http(api_server_port(ms), "GET", "/", NULL, NULL);
    assert_int_equal(status_of(r), 404);
    free(r);
    api_server_stop(ms);

    /* a callback as the text source */
    int period = 42;
    mc = (api_server_config){.kind = API_SERVER_METRICS,
                             .listen = "127.0.0.1:0",
                             .metrics_text = custom_text,
                             .metrics_ctx = &period};
    assert_int_equal(api_server_start(&ms, &mc, NULL, 0), WEFT_OK);
    r = raw_http(api_server_port(ms), "GET", "/metrics", NULL, NULL);
    assert_string_equal(body_of(r), "# HELP final_period final period\n# TYPE final_period gauge\n"
                                    "final_period{thread=\"3\"} 42\n");
    free(r);
    api_server_stop(ms);
    api_server_stop(pub);
    api_metrics_free(m);
}

/* ---- JSON helpers ---------------------------------------------------------------------------- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return j;
}

static void test_json_shapes(void **state)
{
    char *s;
    json_t *j = api_json_u64(INT64_MAX);
    assert_true(json_is_integer(j));
    json_decref(j);
    j = api_json_u64(UINT64_MAX);
    assert_string_equal(json_string_value(j), "18446744073709551615");
    json_decref(j);
    j = api_json_amount(amount_from_nano(12500000000ull));
    assert_string_equal(json_string_value(j), "12.5");
    json_decref(j);
    j = api_json_amount(amount_from_nano(0));
    assert_string_equal(json_string_value(j), "0");
    json_decref(j);
    j = api_json_slot((slot_t){.period = 77, .thread = 31});
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"period\":77,\"thread\":31}");
    free(s);
    json_decref(j);
    const uint8_t bytes[] = {0, 1, 255};
    j = api_json_bytes(bytes, 3);
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "[0,1,255]");
    free(s);
    json_decref(j);
    j = api_json_bytes(NULL, 0);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    /* text that may not be UTF-8: kept when valid, each bad sequence replaced by U+FFFD */
    struct {
        const char *in;
        size_t len;
        const char *out;
    } texts[] = {
        {"h\xc3\xa9llo", 6, "h\xc3\xa9llo"},
        {"a\xff"
         "b",
         3,
         "a\xef\xbf\xbd"
         "b"},
        {"cut \xc3", 5, "cut \xef\xbf\xbd"},                         /* truncated sequence */
        {"\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong NUL */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(texts); i++) {
        j = api_json_text(texts[i].in, texts[i].len);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), texts[i].out);
        json_decref(j);
    }

    /* explicit nulls through json_pack's "o?" */
    j = json_pack("{s:o?,s:o?,s:o}", "op_exec_status", api_json_opt_bool(false, false),
                  "is_operation_final", NULL, "in_pool", api_json_opt_bool(true, true));
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"op_exec_status\":null,\"is_operation_final\":null,"
                           "\"in_pool\":true}");
    free(s);
    json_decref(j);

    /* ids and keys as text, round trip through the getters */
    const char *au = "AU12bhXUwWnDdi2WHqp4ZX64BHcNyEuCb2EmxQCvbzRMrKPGafsU8";
    address_t a;
    j = json_string(au);
    assert_int_equal(api_json_get_address(&a, j, "addr", NULL), WEFT_OK);
    json_decref(j);
    j = api_json_address(&a);
    assert_string_equal(json_string_value(j), au);
    json_decref(j);
    op_id_t oid;
    memset(&oid, 7, sizeof oid);
    j = api_json_op_id(&oid);
    op_id_t back;
    assert_int_equal(api_json_get_op_id(&back, j, "id", NULL), WEFT_OK);
    assert_memory_equal(&back, &oid, sizeof oid);
    assert_int_equal(json_string_value(j)[0], 'O');
    json_decref(j);
    block_id_t bid;
    memset(&bid, 9, sizeof bid);
    j = api_json_block_id(&bid);
    assert_int_equal(json_string_value(j)[0], 'B');
    /* a block id is not an operation id */
    api_error err = {0};
    assert_int_equal(api_json_get_op_id(&back, j, "params[0][1]", &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "params[0][1]"));
    assert_non_null(strstr(err.message, "E_PREFIX"));
    api_error_clear(&err);
    json_decref(j);
    keypair_t kp;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    keypair_from_seed(&kp, seed);
    j = api_json_pubkey(&kp.pk);
    pubkey_t pk;
    assert_int_equal(api_json_get_pubkey(&pk, j, "pk", NULL), WEFT_OK);
    assert_memory_equal(&pk, &kp.pk, sizeof pk);
    json_decref(j);
    j = api_json_node_id(&kp.pk);
    assert_int_equal(json_string_value(j)[0], 'N');
    json_decref(j);
    signature_t sig;
    memset(&sig, 3, sizeof sig);
    j = api_json_signature(&sig);
    signature_t sig2;
    assert_int_equal(api_json_get_signature(&sig2, j, "sig", NULL), WEFT_OK);
    assert_memory_equal(&sig, &sig2, sizeof sig);
    json_decref(j);
    endorsement_id_t eid, eid2;
    memset(&eid, 5, sizeof eid);
    j = api_json_endorsement_id(&eid);
    assert_int_equal(api_json_get_endorsement_id(&eid2, j, "e", NULL), WEFT_OK);
    assert_memory_equal(&eid, &eid2, sizeof eid);
    json_decref(j);
    keypair_wipe(&kp);

    /* a bad checksum is named */
    char broken[64];
    strcpy(broken, au);
    broken[10] = broken[10] == 'a' ? 'b' : 'a';
    j = json_string(broken);
    assert_int_equal(api_json_get_address(&a, j, "addresses[0]", &err), WEFT_E_RPC);
    assert_non_null(strstr(err.message, "addresses[0]"));
    api_error_clear(&err);
    json_decref(j);
}

static void test_json_getters(void **state)
{
    api_error err = {0};
    uint8_t *buf;
    size_t len;
    struct {
        const char *json;
        size_t max;
        weft_err want;
        size_t len;
    } bcases[] = {
        {"[0,255,7]", 8, WEFT_OK, 3},
        {"[]", 8, WEFT_OK, 0},
        {"[1,2,3,4,5,6,7,8]", 8, WEFT_OK, 8},
        {"[1,2,3,4,5,6,7,8,9]", 8, WEFT_E_RPC, 0},
        {"[256]", 8, WEFT_E_RPC, 0},
        {"[-1]", 8, WEFT_E_RPC, 0},
        {"[1.0]", 8, WEFT_E_RPC, 0},
        {"[\"1\"]", 8, WEFT_E_RPC, 0},
        {"[null]", 8, WEFT_E_RPC, 0},
        {"\"AQID\"", 8, WEFT_E_RPC, 0},
        {"{}", 8, WEFT_E_RPC, 0},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bcases); i++) {
        json_t *j = J(bcases[i].json);
        weft_err e = api_json_get_bytes(&buf, &len, j, bcases[i].max, "content", &err);
        assert_int_equal(e, bcases[i].want);
        assert_int_equal(len, bcases[i].len);
        if (e == WEFT_OK) {
            assert_non_null(buf);
            if (len)
                assert_int_equal(buf[0], (uint8_t)json_integer_value(json_array_get(j, 0)));
            free(buf);
        } else {
            assert_null(buf);
            assert_int_equal(err.code, API_ERR_INVALID_PARAMS);
            assert_non_null(strstr(err.message, "content"));
        }
        api_error_clear(&err);
        json_decref(j);
    }

    amount_t amt;
    json_t *j = J("\"12.5\"");
    assert_int_equal(api_json_get_amount(&amt, j, "fee", NULL), WEFT_OK);
    assert_true(amt.nano == 12500000000ull);
    json_decref(j);
    const char *bad_amounts[] = {"12.5", "\"1e3\"",          "\"-1\"",
                                 "\"\"", "\"0.0000000001\"", "\"99999999999999999999\"",
                                 "null"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad_amounts); i++) {
        j = J(bad_amounts[i]);
        assert_int_equal(api_json_get_amount(&amt, j, "fee", &err), WEFT_E_RPC);
        assert_true(amt.nano == 0);
        assert_non_null(strstr(err.message, "fee"));
        api_error_clear(&err);
        json_decref(j);
    }

    slot_t sl;
    j = J("{\"period\":5,\"thread\":31}");
    assert_int_equal(api_json_get_slot(&sl, j, 32, "slot", NULL), WEFT_OK);
    assert_true(sl.period == 5 && sl.thread == 31);
    json_decref(j);
    const char *bad_slots[] = {"{\"period\":5,\"thread\":32}", "{\"thread\":1}",
                               "{\"period\":-1,\"thread\":1}", "{\"period\":1,\"thread\":\"1\"}",
                               "[5,1]"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad_slots); i++) {
        j = J(bad_slots[i]);
        assert_int_equal(api_json_get_slot(&sl, j, 32, "start", &err), WEFT_E_RPC);
        assert_non_null(strstr(err.message, "start"));
        api_error_clear(&err);
        json_decref(j);
    }

    uint64_t u;
    j = J("7");
    assert_int_equal(api_json_get_uint(&u, j, 7, "n", NULL), WEFT_OK);
    assert_int_equal(api_json_get_uint(&u, j, 6, "n", NULL), WEFT_E_RPC);
    json_decref(j);
    bool bv;
    j = J("true");
    assert_int_equal(api_json_get_bool(&bv, j, "b", NULL), WEFT_OK);
    assert_true(bv);
    assert_int_equal(api_json_get_uint(&u, j, 6, "n", NULL), WEFT_E_RPC);
    json_decref(j);
    const char *str;
    size_t slen;
    j = J("\"abcd\"");
    assert_int_equal(api_json_get_string(&str, &slen, j, 4, "s", NULL), WEFT_OK);
    assert_int_equal(slen, 4);
    assert_int_equal(api_json_get_string(&str, &slen, j, 3, "s", NULL), WEFT_E_RPC);
    assert_null(str);
    json_decref(j);
    size_t n;
    j = J("[1,2,3]");
    assert_int_equal(api_json_get_array(&n, j, 3, "a", NULL), WEFT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(api_json_get_array(&n, j, 2, "a", NULL), WEFT_E_RPC);
    json_decref(j);

    /* Massa's parameter wrapping */
    json_t *x;
    const char *one_ok[] = {"[{}]", "[[\"AU1\"]]", "[null]"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(one_ok); i++) {
        j = J(one_ok[i]);
        assert_int_equal(api_params_one(&x, j, NULL), WEFT_OK);
        assert_ptr_equal(x, json_array_get(j, 0));
        json_decref(j);
    }
    const char *one_bad[] = {"[]", "[1,2]", "{\"a\":1}"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(one_bad); i++) {
        j = J(one_bad[i]);
        assert_int_equal(api_params_one(&x, j, &err), WEFT_E_RPC);
        assert_int_equal(err.code, API_ERR_INVALID_PARAMS);
        api_error_clear(&err);
        json_decref(j);
    }
    assert_int_equal(api_params_one(&x, NULL, NULL), WEFT_E_RPC);
    assert_int_equal(api_params_none(NULL, NULL), WEFT_OK);
    const char *none_ok[] = {"[]", "[{}]", "[null]", "null"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(none_ok); i++) {
        j = J(none_ok[i]);
        assert_int_equal(api_params_none(j, NULL), WEFT_OK);
        json_decref(j);
    }
    const char *none_bad[] = {"[1]", "[{\"a\":1}]", "{}", "[{},{}]"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(none_bad); i++) {
        j = J(none_bad[i]);
        assert_int_equal(api_params_none(j, NULL), WEFT_E_RPC);
        json_decref(j);
    }

    /* error data is owned by the error */
    api_error_set(&err, API_ERR_NODE, "x");
    api_error_set_data(&err, json_pack("{s:i}", "k", 1));
    api_error_set_data(&err, json_pack("{s:i}", "k", 2));
    assert_int_equal(json_integer_value(json_object_get(err.data, "k")), 2);
    api_error_clear(&err);
    assert_null(err.data);
    assert_int_equal(err.code, 0);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("warn") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_result_and_errors),
        cmocka_unit_test(test_rpc_notifications_and_batches),
        cmocka_unit_test(test_client_calls),
        cmocka_unit_test(test_http_rules),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_private_api),
        cmocka_unit_test(test_listen_addresses),
        cmocka_unit_test(test_answer_survives_stop),
        cmocka_unit_test(test_client_transport_errors),
        cmocka_unit_test(test_slow_clients_do_not_stall_others),
        cmocka_unit_test(test_connection_limit_and_timeout),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_metrics_server),
        cmocka_unit_test(test_json_shapes),
        cmocka_unit_test(test_json_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
