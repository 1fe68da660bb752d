/* api/client.c — the JSON-RPC client of the `weft` CLI, over libcurl.
 *
 * One call = one request object {"jsonrpc":"2.0","method":M,"params":P,"id":1} POSTed to the URL,
 * the answer read into a buffer bounded by API_CLIENT_MAX_RESPONSE and decoded.  Failures are
 * sorted for the user: the node could not be reached or did not answer JSON-RPC (E_RPC_TRANSPORT:
 * the message says what to check), or the node answered with a JSON-RPC error (E_RPC: its code,
 * message and data, whatever the HTTP status). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api/api.h"
#include "crypto/crypto.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT; /* written once, under curl_once */

static void init_curl(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

struct body {
    char *buf;
    size_t len, cap;
    bool too_large;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct body *b = userp;
    size_t n = size * nmemb;
    if (n > API_CLIENT_MAX_RESPONSE - b->len) {
        b->too_large = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 16384;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *nb = realloc(b->buf, ncap);
        if (!nb)
            return 0;
        b->buf = nb;
        b->cap = ncap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static weft_err transport(api_error *err, const char *fmt, ...) WEFT_PRINTF(2, 3);
static weft_err transport(api_error *err, const char *fmt, ...)
{
    api_error_clear(err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return WEFT_E_RPC_TRANSPORT;
}

/* Decodes a JSON-RPC response object: result, or the node's error. */
static weft_err decode_response(json_t **result, api_error *err, const char *url, long status,
                                const struct body *b)
{
    json_error_t jerr;
    json_t *root = b->len ? json_loadb(b->buf, b->len, 0, &jerr) : NULL;
    json_t *e = root ? json_object_get(root, "error") : NULL;
    json_t *r = root ? json_object_get(root, "result") : NULL;
    weft_err rc;
    if (json_is_object(e)) {
        json_t *code = json_object_get(e, "code");
        json_t *msg = json_object_get(e, "message");
        api_error_clear(err);
        err->code = json_is_integer(code) ? (int)json_integer_value(code) : API_ERR_INTERNAL;
        snprintf(err->message, sizeof err->message, "%s",
                 json_is_string(msg) ? json_string_value(msg) : "(the node gave no message)");
        json_t *data = json_object_get(e, "data");
        err->data = data ? json_incref(data) : NULL;
        rc = WEFT_E_RPC;
    } else if (r && status >= 200 && status < 300) {
        *result = json_incref(r);
        rc = WEFT_OK;
    } else if (status < 200 || status >= 300) {
        rc = transport(err,
                       "HTTP %ld from %s without a JSON-RPC answer: is that weftd's JSON-RPC "
                       "address? check --rpc URL",
                       status, url);
    } else {
        rc = transport(err,
                       "the answer from %s is not JSON-RPC: is that weftd's JSON-RPC address? "
                       "check --rpc URL",
                       url);
    }
    json_decref(root);
    return rc;
}

weft_err api_client_call(const char *url, const char *token, const char *method, json_t *params,
                         long timeout_ms, json_t **result, api_error *err)
{
    WEFT_MISUSE(result && err);
    *result = NULL;
    memset(err, 0, sizeof *err);
    if (!url || !url[0] || !method || !method[0])
        return WEFT_E_INVAL;
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return transport(err, "cannot initialize libcurl: %s",
                         curl_easy_strerror(curl_init_result));
    if (timeout_ms <= 0)
        timeout_ms = API_CLIENT_DEFAULT_TIMEOUT_MS;

    weft_err rc = WEFT_E_NOMEM;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    char *auth = NULL, *req_text = NULL;
    struct body b = {0};
    json_t *req = json_pack("{s:s,s:s,s:i}", "jsonrpc", "2.0", "method", method, "id", 1);
    if (!req || (params && json_object_set(req, "params", params) != 0))
        goto out;
    size_t req_len = json_dumpb(req, NULL, 0, JSON_COMPACT);
    req_text = malloc(req_len + 1);
    if (!req_text || json_dumpb(req, req_text, req_len, JSON_COMPACT) != req_len)
        goto out;

    curl = curl_easy_init();
    if (!curl)
        goto out;
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = headers ? curl_slist_append(headers, "Expect:") : NULL;
    if (!h2)
        goto out;
    headers = h2;
    if (token) {
        size_t alen = strlen(token) + 32;
        auth = malloc(alen);
        if (!auth)
            goto out;
        snprintf(auth, alen, "Authorization: Bearer %s", token);
        h2 = curl_slist_append(headers, auth);
        if (!h2)
            goto out;
        headers = h2;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req_text);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req_len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        if (b.too_large)
            rc = transport(err, "the answer from %s is larger than %zu bytes", url,
                           API_CLIENT_MAX_RESPONSE);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            rc = transport(err,
                           "no answer from %s within %ld ms (%s): is weftd running and "
                           "responsive? check --rpc URL",
                           url, timeout_ms, why);
        else
            rc = transport(err,
                           "cannot reach the node at %s (%s): is weftd running? check "
                           "--rpc URL",
                           url, why);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    rc = decode_response(result, err, url, status, &b);
out:
    if (rc == WEFT_E_NOMEM)
        snprintf(err->message, sizeof err->message, "out of memory");
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (auth)
        crypto_wipe(auth, strlen(auth));
    free(auth);
    free(req_text);
    free(b.buf);
    json_decref(req);
    return rc;
}
