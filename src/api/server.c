/* api/server.c — the HTTP shell around the JSON-RPC core: libmicrohttpd with its internal polling
 * threads (a small pool), our own listening socket (so that port 0 reports the bound port), and
 * the HTTP rules of docs/api.md.
 *
 *~ libmicrohttpd calls on_request several times per request: once when the headers are in (the
 *~ place to refuse — wrong path or method, missing token, Content-Length above the limit — with
 *~ a response queued before any body byte is read), once per piece of body (appended to a buffer
 *~ that never exceeds max_body: a chunked body that would is refused by dropping the connection),
 *~ and a last time with no data, when the whole body is there and the core answers it.  Each
 *~ pool thread multiplexes its connections, so a client that sends slowly only holds its
 *~ connection slot until the inactivity timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api.h"
#include "crypto/crypto.h"

#define ADDR_MAX 80

struct api_server {
    api_server_kind kind;
    struct MHD_Daemon *daemon;
    api_rpc_t *rpc;
    size_t max_body;
    uint8_t token_hash[CRYPTO_HASH_LEN]; /* BLAKE3 of the private API token */
    api_metrics_text_fn metrics_text;
    void *metrics_ctx;
    api_metrics_t *metrics;
    api_metric_t *refused[4]; /* HTTP 401, 404, 405, 413 */
    char address[ADDR_MAX];
    uint16_t port;
    atomic_int inflight; /* requests from their first call to their completion notice */
};

/* How long api_server_stop lets answers being written finish (stop_node's own among them). */
#define STOP_DRAIN_MS 500

enum { REFUSED_401, REFUSED_404, REFUSED_405, REFUSED_413 };

/* Per-request state, from the first call to the completion notice. */
struct request {
    char *body;
    size_t len, cap;
};

static const char *kind_name(api_server_kind k)
{
    switch (k) {
    case API_SERVER_PUBLIC:
        return "public";
    case API_SERVER_PRIVATE:
        return "private";
    case API_SERVER_METRICS:
        return "metrics";
    }
    return "?";
}

/* ---- responses ------------------------------------------------------------------------------- */

static enum MHD_Result queue(const api_server_t *s, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r, const char *content_type)
{
    if (!r)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (s->kind == API_SERVER_PUBLIC)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Takes body (malloc'd) whatever happens. */
static enum MHD_Result reply_buffer(const api_server_t *s, struct MHD_Connection *c,
                                    unsigned status, const char *content_type, char *body,
                                    size_t len)
{
    if (!body || len == 0) {
        free(body);
        body = NULL;
        len = 0;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    return queue(s, c, status, r, content_type);
}

static enum MHD_Result reply_empty(const api_server_t *s, struct MHD_Connection *c, unsigned status)
{
    return queue(s, c, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                 NULL);
}

/* An HTTP-level refusal with a JSON-RPC error body (id null); hname/hvalue add one header. */
static enum MHD_Result refuse(api_server_t *s, struct MHD_Connection *c, unsigned status,
                              int refusal, int code, const char *hname, const char *hvalue,
                              const char *fmt, ...) WEFT_PRINTF(8, 9);
static enum MHD_Result refuse(api_server_t *s, struct MHD_Connection *c, unsigned status,
                              int refusal, int code, const char *hname, const char *hvalue,
                              const char *fmt, ...)
{
    api_metric_inc(s->refused[refusal], 1);
    char msg[API_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s,s:{s:i,s:o},s:n}", "jsonrpc", "2.0", "error", "code", code,
                          "message", api_json_text(msg, strlen(msg)), "id");
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return MHD_NO;
    char *copy = strdup(body); /* json_dumps uses jansson's allocator; MHD frees with free() */
    free(body);
    if (!copy)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(copy);
        return MHD_NO;
    }
    if (hname)
        MHD_add_response_header(r, hname, hvalue);
    return queue(s, c, status, r, "application/json; charset=utf-8");
}

/* ---- the request path ------------------------------------------------------------------------ */

static bool token_ok(const api_server_t *s, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    uint8_t got[CRYPTO_HASH_LEN];
    crypto_blake3(got, h, strlen(h));
    /* constant time over the digests: neither the token's length nor a prefix leaks */
    uint8_t diff = 0;
    for (size_t i = 0; i < CRYPTO_HASH_LEN; i++)
        diff |= (uint8_t)(got[i] ^ s->token_hash[i]);
    return diff == 0;
}

static enum MHD_Result serve_metrics(api_server_t *s, struct MHD_Connection *c, const char *url,
                                     const char *method)
{
    if (strcmp(url, "/metrics") != 0)
        return refuse(s, c, MHD_HTTP_NOT_FOUND, REFUSED_404, API_ERR_INVALID_REQUEST, NULL, NULL,
                      "no such path: metrics are at GET /metrics");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return refuse(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, REFUSED_405, API_ERR_INVALID_REQUEST,
                      MHD_HTTP_HEADER_ALLOW, "GET, HEAD", "metrics are read with GET");
    wr_t w;
    wr_init(&w);
    weft_err e = WEFT_OK;
    if (s->metrics_text)
        e = s->metrics_text(s->metrics_ctx, &w);
    else if (s->metrics)
        api_metrics_write(s->metrics, &w);
    if (e == WEFT_OK)
        e = wr_err(&w);
    if (e != WEFT_OK) {
        wr_free(&w);
        log_warn("api", "metrics text failed", "err=%s", weft_err_name(e));
        return reply_empty(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR);
    }
    size_t len = 0;
    uint8_t *buf = wr_take(&w, &len);
    return reply_buffer(s, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", (char *)buf,
                        len);
}

/* The first call, headers only: refuse now, or get ready for the body. */
static enum MHD_Result first_call(api_server_t *s, struct MHD_Connection *c, struct request *rq,
                                  const char *url, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0) {
        if (s->kind != API_SERVER_PUBLIC)
            return reply_empty(s, c, MHD_HTTP_NO_CONTENT);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS");
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS,
                                "Content-Type, Authorization");
        MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
        return queue(s, c, MHD_HTTP_NO_CONTENT, r, NULL);
    }
    if (s->kind == API_SERVER_METRICS)
        return serve_metrics(s, c, url, method);
    if (strcmp(url, "/") != 0)
        return refuse(s, c, MHD_HTTP_NOT_FOUND, REFUSED_404, API_ERR_INVALID_REQUEST, NULL, NULL,
                      "no JSON-RPC endpoint at %.64s: POST requests to /", url);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return refuse(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, REFUSED_405, API_ERR_INVALID_REQUEST,
                      MHD_HTTP_HEADER_ALLOW, "POST, OPTIONS",
                      "JSON-RPC requests are sent with POST");
    if (s->kind == API_SERVER_PRIVATE && !token_ok(s, c))
        return refuse(s, c, MHD_HTTP_UNAUTHORIZED, REFUSED_401, API_ERR_UNAUTHORIZED,
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer",
                      "unauthorized: the private API needs the header 'Authorization: Bearer "
                      "<token>' with the token of the node's repository (api.token)");
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > s->max_body)
            return refuse(s, c, MHD_HTTP_CONTENT_TOO_LARGE, REFUSED_413, API_ERR_INVALID_REQUEST,
                          NULL, NULL, "request body larger than %zu bytes", s->max_body);
        if (n > 0) {
            rq->body = malloc((size_t)n);
            if (!rq->body)
                return MHD_NO;
            rq->cap = (size_t)n;
        }
    }
    return MHD_YES;
}

static bool append(struct request *rq, const char *data, size_t n, size_t max)
{
    if (n > max - rq->len)
        return false;
    if (rq->len + n > rq->cap) {
        size_t ncap = rq->cap ? rq->cap : 4096;
        while (ncap < rq->len + n)
            ncap = ncap > max / 2 ? max : ncap * 2;
        char *b = realloc(rq->body, ncap);
        if (!b)
            return false;
        rq->body = b;
        rq->cap = ncap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    api_server_t *s = cls;
    struct request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        atomic_fetch_add(&s->inflight, 1);
        return first_call(s, c, rq, url, method);
    }
    if (*upload_data_size) {
        if (!append(rq, upload_data, *upload_data_size, s->max_body)) {
            api_metric_inc(s->refused[REFUSED_413], 1);
            return MHD_NO; /* a body growing past the limit: drop the connection */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    char *out = NULL;
    size_t out_len = 0;
    weft_err e = api_rpc_handle(s->rpc, &out, &out_len, rq->body ? rq->body : "", rq->len);
    if (e != WEFT_OK)
        return reply_empty(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR);
    if (!out)
        return reply_empty(s, c, MHD_HTTP_NO_CONTENT);
    return reply_buffer(s, c, MHD_HTTP_OK, "application/json; charset=utf-8", out, out_len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
        atomic_fetch_sub(&((api_server_t *)cls)->inflight, 1);
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("api", msg, "server=%s", kind_name(((api_server_t *)cls)->kind));
}

/* ---- binding --------------------------------------------------------------------------------- */

static weft_err fail(char *errbuf, size_t errcap, weft_err e, const char *fmt, ...)
    WEFT_PRINTF(4, 5);
static weft_err fail(char *errbuf, size_t errcap, weft_err e, const char *fmt, ...)
{
    if (errbuf && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errcap, fmt, ap);
        va_end(ap);
    }
    return e;
}

/* Splits "host:port" / "[v6]:port" into host and port text. */
static bool split_address(const char *text, char host[ADDR_MAX], char port[8])
{
    const char *colon;
    size_t hlen;
    const char *h = text;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return false;
        hlen = (size_t)(colon - text);
    }
    size_t plen = strlen(colon + 1);
    if (hlen == 0 || hlen >= ADDR_MAX || plen == 0 || plen > 5)
        return false;
    for (size_t i = 0; i < plen; i++)
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return false;
    if (strtol(colon + 1, NULL, 10) > 65535)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return true;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* Binds a listening socket; fills s->address and s->port. */
static weft_err bind_listen(api_server_t *s, int *fd_out, int *family, const char *listen_at,
                            char *errbuf, size_t errcap)
{
    *fd_out = -1;
    char host[ADDR_MAX], port[8];
    if (!listen_at || !split_address(listen_at, host, port))
        return fail(errbuf, errcap, WEFT_E_INVAL,
                    "bad listen address '%s': expected host:port or [ipv6]:port",
                    listen_at ? listen_at : "(null)");
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || !res)
        return fail(errbuf, errcap, WEFT_E_INVAL, "cannot resolve listen host '%s': %s", host,
                    gai_strerror(gai));
    weft_err e = WEFT_OK;
    int fd = -1;
    if (s->kind == API_SERVER_PRIVATE && !is_loopback(res->ai_addr)) {
        e = fail(errbuf, errcap, WEFT_E_INVAL,
                 "the private API must listen on a loopback address (127.0.0.1, [::1]), not "
                 "'%s'",
                 listen_at);
        goto out;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        e = fail(errbuf, errcap, WEFT_E_IO, "cannot listen on %s: %s", listen_at, strerror(errno));
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        e = fail(errbuf, errcap, WEFT_E_IO, "getsockname: %s", strerror(errno));
        goto out;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        s->port = ntohs(in6->sin6_port);
        snprintf(s->address, sizeof s->address, "[%s]:%u", ip, (unsigned)s->port);
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        s->port = ntohs(in->sin_port);
        snprintf(s->address, sizeof s->address, "%s:%u", ip, (unsigned)s->port);
    }
    *family = ss.ss_family;
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return e;
}

weft_err api_server_start(api_server_t **out, const api_server_config *cfg, char *errbuf,
                          size_t errcap)
{
    *out = NULL;
    if (errbuf && errcap)
        errbuf[0] = '\0';
    WEFT_MISUSE(cfg);
    bool rpc = cfg->kind != API_SERVER_METRICS;
    if (rpc && (cfg->method_count == 0 || !cfg->methods))
        return fail(errbuf, errcap, WEFT_E_INVAL, "a JSON-RPC server needs a method table");
    if (cfg->kind == API_SERVER_PRIVATE && (!cfg->token || !cfg->token[0]))
        return fail(errbuf, errcap, WEFT_E_INVAL, "the private API needs a token");
    if (cfg->kind == API_SERVER_METRICS && !cfg->metrics_text && !cfg->metrics)
        return fail(errbuf, errcap, WEFT_E_INVAL, "a metrics server needs a text source");

    api_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    s->kind = cfg->kind;
    s->max_body = cfg->max_body ? cfg->max_body : API_DEFAULT_MAX_BODY;
    s->metrics_text = cfg->metrics_text;
    s->metrics_ctx = cfg->metrics_ctx;
    s->metrics = cfg->metrics;
    if (cfg->token)
        crypto_blake3(s->token_hash, cfg->token, strlen(cfg->token));
    weft_err e = WEFT_OK;
    int fd = -1, family = AF_INET;
    if (rpc) {
        api_rpc_config rc = {
            .methods = cfg->methods,
            .method_count = cfg->method_count,
            .ctx = cfg->ctx,
            .private_api = cfg->kind == API_SERVER_PRIVATE,
            .max_batch = cfg->max_batch,
            .metrics = cfg->metrics,
            .label = kind_name(cfg->kind),
        };
        e = api_rpc_new(&s->rpc, &rc);
        if (e != WEFT_OK) {
            fail(errbuf, errcap, e, "bad method table (unnamed or duplicate method)");
            goto fail;
        }
    }
    if (cfg->metrics) {
        static const char *const status[4] = {"401", "404", "405", "413"};
        for (size_t i = 0; i < 4; i++) {
            api_label l[2] = {{"api", kind_name(cfg->kind)}, {"status", status[i]}};
            s->refused[i] = api_metrics_counter(cfg->metrics, "weft_api_http_refused_total",
                                                "HTTP requests refused before the JSON-RPC "
                                                "layer, by status",
                                                l, 2);
        }
    }
    e = bind_listen(s, &fd, &family, cfg->listen, errbuf, errcap);
    if (e != WEFT_OK)
        goto fail;
    unsigned threads = cfg->threads ? cfg->threads : API_DEFAULT_THREADS;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned max_conn = cfg->max_connections ? cfg->max_connections : API_DEFAULT_MAX_CONNECTIONS;
    unsigned timeout = cfg->timeout_s ? cfg->timeout_s : API_DEFAULT_TIMEOUT_S;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)max_conn, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->per_ip_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)timeout, NULL},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        e = fail(errbuf, errcap, WEFT_E_IO, "cannot start the HTTP server on %s", s->address);
        goto fail;
    }
    log_info("api", "listening", "server=%s address=%s", kind_name(s->kind), s->address);
    *out = s;
    return WEFT_OK;
fail:
    api_rpc_free(s->rpc);
    free(s);
    return e;
}

const char *api_server_address(const api_server_t *s) { return s->address; }

uint16_t api_server_port(const api_server_t *s) { return s->port; }

void api_server_stop(api_server_t *s)
{
    if (!s)
        return;
    /* A request being answered (the stop_node call that led here, typically) gets its answer
     * out before the connections close; a client that holds a request open only delays the stop
     * by STOP_DRAIN_MS. */
    for (int ms = 0; ms < STOP_DRAIN_MS && atomic_load(&s->inflight) > 0; ms++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    api_rpc_free(s->rpc);
    free(s);
}
