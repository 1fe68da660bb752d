/* api — weft's JSON-RPC 2.0 API over HTTP (DESIGN §6): the server the node embeds, the client the
 * `weft` CLI uses, Prometheus metrics, and JSON helpers for Massa's shapes.
 *
 * Contents, in order:
 *   1. errors a method handler returns (JSON-RPC code + message + optional data);
 *   2. the method table: name → handler, public or private;
 *   3. the JSON-RPC core without HTTP (api_rpc_*): body bytes in, response bytes out — request
 *      validation, batches, dispatch; used by the server, the tests and the fuzz target;
 *   4. the HTTP server (api_server_*): libmicrohttpd with a small thread pool; public, private
 *      (loopback only, bearer token) or metrics (GET /metrics);
 *   5. the client (api_client_*): libcurl, one call per request, errors that say what to check;
 *   6. metrics: a registry of counters, gauges and histograms with labels, and the Prometheus text
 *      exposition writer;
 *   7. JSON helpers for Massa's shapes: slots, decimal-string amounts, byte arrays as arrays of
 *      numbers, ids and addresses as text, explicit nulls; bounded getters that report which
 *      parameter is wrong;
 *   8. Massa's methods (get_status, send_operations, …) over the node's interface (node.h),
 *      reached through a table of functions that tests can replace.
 *
 * Protocol (docs/api.md): POST to path "/" with a JSON-RPC 2.0 request object or a batch (array).
 * Malformed JSON gets -32700, an invalid request -32600, an unknown method -32601, bad params
 * -32602; all with HTTP 200.  HTTP-level refusals carry a JSON-RPC error body too: 401 (private
 * API without the right "Authorization: Bearer <token>"), 404 (path other than "/"), 405 (method
 * other than POST/OPTIONS), 413 (body above the limit; refused from Content-Length before any of
 * it is read; a chunked body that grows past the limit makes the server drop the connection).
 * The public server answers CORS preflights (OPTIONS) and sends Access-Control-Allow-Origin: *;
 * the private server sends no CORS headers (browsers cannot call it).
 *
 * Threads: a server runs its own threads (libmicrohttpd's internal polling with a thread pool);
 * handlers run on those threads, concurrently with each other, and must be thread-safe.  A
 * handler that blocks holds up the other connections of its pool thread only.  A client that
 * sends slowly costs a connection slot until the per-connection inactivity timeout, never a
 * thread.
 * Ownership: jansson references follow jansson's rules; each function says whether it steals.
 * Errors: E_NOMEM, E_INVAL (bad configuration or listen address), E_IO (bind/listen), E_RPC (a
 * JSON-RPC error: from a handler, or returned by the node to the client), E_RPC_TRANSPORT (the
 * client cannot reach the node or gets no JSON-RPC answer).
 */
#ifndef WEFT_API_H
#define WEFT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/base.h"
#include "model/model.h"
#include "net/net.h"
#include "node/node.h"

/* ---- 1. errors ------------------------------------------------------------------------------ */

/* JSON-RPC 2.0 error codes (the spec's, then weft's server-defined ones in -32000..-32099). */
#define API_ERR_PARSE (-32700)           /* body is not JSON */
#define API_ERR_INVALID_REQUEST (-32600) /* not a JSON-RPC 2.0 request; batch or body too large */
#define API_ERR_METHOD_NOT_FOUND                                                                   \
    (-32601)                            /* unknown method, or private method on the public API     \
                                         */
#define API_ERR_INVALID_PARAMS (-32602) /* params not as the method expects */
#define API_ERR_INTERNAL (-32603)       /* the server failed (out of memory) */
#define API_ERR_NODE (-32000)           /* the node refused or failed: data names the weft_err */
#define API_ERR_UNAUTHORIZED (-32001)   /* private API without the right bearer token */
#define API_ERR_UNAVAILABLE (-32002)    /* the method exists but cannot run yet (no VM, syncing) */

#define API_ERROR_MSG_MAX 512

/* A JSON-RPC error being built by a handler, or received by the client.  Zero it before use
 * (the server does, before each handler call). */
typedef struct api_error {
    int code;                        /* JSON-RPC error code; 0 while unset */
    char message[API_ERROR_MSG_MAX]; /* NUL-terminated, truncated to fit */
    json_t *data;                    /* optional error data, owned; NULL when absent */
} api_error;

/* Sets code and message (printf) and returns WEFT_E_RPC, so a handler can write
 * `return api_error_set(err, API_ERR_UNAVAILABLE, "no VM yet");`.  err may be NULL (then only
 * the return value).  Replaces an earlier error and its data. */
weft_err api_error_set(api_error *err, int code, const char *fmt, ...) WEFT_PRINTF(3, 4);
/* api_error_set with API_ERR_INVALID_PARAMS. */
weft_err api_invalid_params(api_error *err, const char *fmt, ...) WEFT_PRINTF(2, 3);
/* A node error: code API_ERR_NODE, message "<weft_strerror(e)>[: detail]", data
 * {"name":"E_…","code":e}.  Returns e (a negative weft_err), so a handler can pass a node
 * refusal straight through.  fmt may be NULL. */
weft_err api_error_node(api_error *err, weft_err e, const char *fmt, ...) WEFT_PRINTF(3, 4);
/* Attaches error data (steals data; NULL clears it). */
void api_error_set_data(api_error *err, json_t *data);
/* Frees the data and zeroes the error. */
void api_error_clear(api_error *err);

/* ---- 2. methods ----------------------------------------------------------------------------- */

/* A method handler.
 *   ctx     the table's context (api_rpc_config.ctx), shared by all calls and threads;
 *   params  the request's "params" (an array or object), borrowed for the call; NULL if absent;
 *   result  on WEFT_OK, a new reference to the result, or NULL for JSON null;
 *   err     zeroed on entry; fill it (api_error_set, api_invalid_params, api_error_node) when
 *           returning an error.
 * Returns WEFT_OK, or a negative weft_err.  An error left without a code becomes API_ERR_NODE
 * named after the weft_err, except E_NOMEM which becomes API_ERR_INTERNAL.  A result set
 * together with an error is released.  Runs on server threads: must be thread-safe. */
typedef weft_err (*api_handler_fn)(void *ctx, json_t *params, json_t **result, api_error *err);

typedef enum api_access {
    API_PUBLIC = 0,  /* served by the public and the private server */
    API_PRIVATE = 1, /* served only by the private server (loopback + token) */
} api_access;

typedef struct api_method {
    const char *name; /* exact JSON-RPC method name, e.g. "get_status" */
    api_handler_fn fn;
    api_access access;
} api_method;

/* ---- 3. the JSON-RPC core ------------------------------------------------------------------- */

#define API_DEFAULT_MAX_BATCH 16 /* Massa's batch limit */

typedef struct api_metrics api_metrics_t;

typedef struct api_rpc_config {
    const api_method *methods; /* borrowed: must outlive the api_rpc_t; names unique */
    size_t method_count;
    void *ctx;              /* passed to every handler */
    bool private_api;       /* true: private methods are callable */
    size_t max_batch;       /* requests per batch; 0: API_DEFAULT_MAX_BATCH */
    api_metrics_t *metrics; /* optional: per-method calls, errors and latency are recorded here */
    const char *label;      /* value of the "api" label in those metrics ("public", "private") */
} api_rpc_config;

typedef struct api_rpc api_rpc_t;

/* Creates a dispatcher.  E_NOMEM; E_INVAL for a table with an unnamed or duplicate method. */
WEFT_MUST_USE weft_err api_rpc_new(api_rpc_t **out, const api_rpc_config *cfg);
void api_rpc_free(api_rpc_t *r);

/* Handles one request body (a request object or a batch): parses it (jansson, bounded by the
 * body length and jansson's nesting limit), validates each request, calls the handlers and
 * builds the response.  On WEFT_OK *out is the response body (malloc'd, NUL-terminated, *out_len
 * bytes; free() it), or NULL when nothing is to be answered (only notifications).  Bad input
 * never fails the call: it becomes a JSON-RPC error response.  Returns E_NOMEM only.
 * Thread-safe (the table is read-only). */
WEFT_MUST_USE weft_err api_rpc_handle(const api_rpc_t *r, char **out, size_t *out_len,
                                      const char *body, size_t len);

/* ---- 4. the HTTP server --------------------------------------------------------------------- */

typedef enum api_server_kind {
    API_SERVER_PUBLIC = 0,  /* JSON-RPC, public methods, CORS */
    API_SERVER_PRIVATE = 1, /* JSON-RPC, all methods, loopback only, bearer token */
    API_SERVER_METRICS = 2, /* GET /metrics: Prometheus text */
} api_server_kind;

#define API_DEFAULT_MAX_BODY ((size_t)10 * 1024 * 1024) /* request body bytes */
#define API_DEFAULT_MAX_CONNECTIONS 100
#define API_DEFAULT_TIMEOUT_S 30 /* per-connection inactivity timeout */
#define API_DEFAULT_THREADS 4

/* Writes the whole metrics text (Prometheus exposition format) to out.  Called on a server
 * thread for each scrape; a failure answers 500. */
typedef weft_err (*api_metrics_text_fn)(void *ctx, wr_t *out);

typedef struct api_server_config {
    api_server_kind kind;
    const char *listen; /* "host:port" (host: IPv4, [IPv6] or a name); port 0 picks a free port */
    /* JSON-RPC servers: */
    const api_method *methods; /* borrowed: must outlive the server */
    size_t method_count;
    void *ctx;
    const char *token; /* private server: the bearer token (copied), non-empty */
    size_t max_body;   /* 0: API_DEFAULT_MAX_BODY */
    size_t max_batch;  /* 0: API_DEFAULT_MAX_BATCH */
    /* metrics server: the text comes from metrics_text(metrics_ctx, out) when set, else from the
     * registry `metrics`.  JSON-RPC servers record their per-method figures in `metrics` when set
     * (borrowed: must outlive the server). */
    api_metrics_text_fn metrics_text;
    void *metrics_ctx;
    api_metrics_t *metrics;
    /* all servers: */
    unsigned max_connections; /* 0: API_DEFAULT_MAX_CONNECTIONS */
    unsigned per_ip_limit;    /* connections per client IP; 0: no limit */
    unsigned timeout_s;       /* 0: API_DEFAULT_TIMEOUT_S */
    unsigned threads;         /* 0: API_DEFAULT_THREADS */
} api_server_config;

typedef struct api_server api_server_t;

/* Binds and starts a server; its threads serve until api_server_stop.  Errors (with a sentence in
 * errbuf, errcap bytes, when non-NULL): E_INVAL (unparsable address, private server on a
 * non-loopback address or without a token, JSON-RPC server without methods), E_IO (the address
 * cannot be bound: in use, not local), E_NOMEM. */
WEFT_MUST_USE weft_err api_server_start(api_server_t **out, const api_server_config *cfg,
                                        char *errbuf, size_t errcap);
/* The address actually bound, "host:port" with the real port (static for the server's life). */
const char *api_server_address(const api_server_t *s);
uint16_t api_server_port(const api_server_t *s);
/* Stops the server and frees it: lets the answers of requests under way be written (for at most
 * half a second: the stop_node answer reaches its client), waits for running handlers to return,
 * closes every connection.  Stop API servers before whatever their handlers call into.  NULL is a
 * no-op. */
void api_server_stop(api_server_t *s);

/* ---- 5. the client -------------------------------------------------------------------------- */

#define API_CLIENT_DEFAULT_TIMEOUT_MS 30000
#define API_CLIENT_MAX_RESPONSE ((size_t)256 * 1024 * 1024)

/* Calls `method` at url ("http://host:port", "http://host:port/") and waits for the answer.
 *   token       the private API bearer token, or NULL;
 *   params      borrowed; NULL sends no "params" member (Massa methods want a one-element array);
 *   timeout_ms  for the whole call; 0: API_CLIENT_DEFAULT_TIMEOUT_MS;
 *   result      on WEFT_OK, a new reference (json_decref it); JSON null is a json_null();
 *   err         zeroed on entry; filled on E_RPC and E_RPC_TRANSPORT (api_error_clear it).
 * Returns WEFT_OK; E_RPC when the node answered with a JSON-RPC error (err->code, the node's
 * message, its data), including HTTP 401/404/405/413 answers that carry one; E_RPC_TRANSPORT
 * when the node cannot be reached, times out, or does not answer JSON-RPC (err->message says
 * what happened and what to check: "is weftd running? check --rpc URL"); E_NOMEM; E_INVAL for a
 * NULL or empty url/method.  Thread-safe (each call has its own connection). */
WEFT_MUST_USE weft_err api_client_call(const char *url, const char *token, const char *method,
                                       json_t *params, long timeout_ms, json_t **result,
                                       api_error *err);

/* ---- 6. metrics ----------------------------------------------------------------------------- */

typedef enum api_metric_type {
    API_METRIC_COUNTER = 0,
    API_METRIC_GAUGE = 1,
    API_METRIC_HISTOGRAM = 2,
} api_metric_type;

typedef struct api_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not "le", not starting with "__" */
    const char *value; /* any UTF-8; escaped on output */
} api_label;

typedef struct api_metric api_metric_t;

/* A registry.  Series are added (idempotently) from any thread and updated lock-free; the writer
 * takes a consistent-enough snapshot (each histogram's buckets and count agree).  Names, label
 * names and bucket bounds are program constants: an invalid one aborts (misuse). */
WEFT_MUST_USE weft_err api_metrics_new(api_metrics_t **out);
void api_metrics_free(api_metrics_t *m);

/* Adds (or finds) the series `name{labels}` and returns its handle, valid until api_metrics_free;
 * NULL on E_NOMEM (every update function accepts NULL and does nothing).  The first series of a
 * name fixes its type, help and (for histograms) its bucket upper bounds (strictly increasing,
 * finite; +Inf is implicit); a later one of another type aborts.  Series of one name are told
 * apart by their label values (the same names in the same order). */
api_metric_t *api_metrics_counter(api_metrics_t *m, const char *name, const char *help,
                                  const api_label *labels, size_t nlabels);
api_metric_t *api_metrics_gauge(api_metrics_t *m, const char *name, const char *help,
                                const api_label *labels, size_t nlabels);
api_metric_t *api_metrics_histogram(api_metrics_t *m, const char *name, const char *help,
                                    const api_label *labels, size_t nlabels, const double *bounds,
                                    size_t nbounds);
/* Latency buckets in seconds, 1 ms .. 10 s. */
extern const double api_metrics_latency_bounds[];
extern const size_t api_metrics_latency_nbounds;

void api_metric_inc(api_metric_t *c, uint64_t n);   /* counter += n */
void api_metric_set(api_metric_t *g, double v);     /* gauge = v */
void api_metric_add(api_metric_t *g, double v);     /* gauge += v */
void api_metric_observe(api_metric_t *h, double v); /* histogram */
/* The current value of a counter or gauge (for tests and collectors). */
double api_metric_value(const api_metric_t *m);

/* Writes every family (registration order) and its series in Prometheus text format. */
void api_metrics_write(const api_metrics_t *m, wr_t *out);

/* The text writer itself, for values computed at scrape time.  family writes the
 * "# HELP" and "# TYPE" lines; sample writes one line `name{labels} value` (suffix, e.g. "_sum",
 * appended to the name; may be NULL).  Values: integers below 2^53 exactly, others in the
 * shortest form that reads back the same, NaN, +Inf, -Inf. */
void api_metrics_text_family(wr_t *out, const char *name, api_metric_type type, const char *help);
void api_metrics_text_sample(wr_t *out, const char *name, const char *suffix,
                             const api_label *labels, size_t nlabels, double value);
/* A whole histogram family without labels from values computed elsewhere: counts[0..nbounds]
 * per bucket, not cumulative (the last one above the last bound); writes the cumulative
 * `_bucket{le=…}` lines, `_sum` and `_count`. */
void api_metrics_text_histogram(wr_t *out, const char *name, const char *help, const double *bounds,
                                size_t nbounds, const uint64_t *counts, double sum);

/* ---- 7. JSON helpers for Massa's shapes ----------------------------------------------------- */

/* Constructors return new references, NULL on allocation failure (json_pack's "o" then fails
 * as a whole, so build shapes with json_pack: "o?" writes an explicit null for NULL). */
json_t *api_json_u64(uint64_t v);    /* a number; a decimal string above INT64_MAX */
json_t *api_json_amount(amount_t a); /* decimal MAS string, "12.5" (amount_format) */
json_t *api_json_slot(slot_t s);     /* {"period":N,"thread":T} */
json_t *api_json_bytes(const uint8_t *data, size_t len);     /* [0..255, ...] */
json_t *api_json_address(const address_t *a);                /* "AU…" / "AS…" */
json_t *api_json_op_id(const op_id_t *id);                   /* "O…" */
json_t *api_json_block_id(const block_id_t *id);             /* "B…" */
json_t *api_json_endorsement_id(const endorsement_id_t *id); /* "E…" */
json_t *api_json_pubkey(const pubkey_t *pk);                 /* "P…" */
json_t *api_json_node_id(const pubkey_t *pk);                /* "N…" */
json_t *api_json_signature(const signature_t *sig);
/* An explicit null when !has, else a boolean. */
json_t *api_json_opt_bool(bool has, bool v);
/* A string of len bytes that may not be valid UTF-8 (contract output, text cut at a byte limit):
 * each invalid or truncated sequence becomes U+FFFD, so the JSON stays valid. */
json_t *api_json_text(const char *s, size_t len);

/* Bounded getters.  Each checks the JSON type and the value, and on failure returns
 * WEFT_E_RPC with err (may be NULL) set to API_ERR_INVALID_PARAMS and a message naming `what`
 * ("params[0].addresses[2]: not an address (E_CHECKSUM)").  Outputs are zeroed on failure. */
/* Massa's parameter wrapping: params must be an array of exactly one element; *x borrowed. */
WEFT_MUST_USE weft_err api_params_one(json_t **x, json_t *params, api_error *err);
/* For methods without parameters: absent, null, [], [{}] and [null] are accepted. */
WEFT_MUST_USE weft_err api_params_none(json_t *params, api_error *err);
/* An array of at most max elements; *n its length. */
WEFT_MUST_USE weft_err api_json_get_array(size_t *n, const json_t *v, size_t max, const char *what,
                                          api_error *err);
/* A non-negative integer at most max. */
WEFT_MUST_USE weft_err api_json_get_uint(uint64_t *out, const json_t *v, uint64_t max,
                                         const char *what, api_error *err);
WEFT_MUST_USE weft_err api_json_get_bool(bool *out, const json_t *v, const char *what,
                                         api_error *err);
/* A string of at most max_len bytes (borrowed from v; NUL-terminated). */
WEFT_MUST_USE weft_err api_json_get_string(const char **out, size_t *len, const json_t *v,
                                           size_t max_len, const char *what, api_error *err);
/* A decimal MAS string (amount_parse). */
WEFT_MUST_USE weft_err api_json_get_amount(amount_t *out, const json_t *v, const char *what,
                                           api_error *err);
/* {"period":N,"thread":T} with T < thread_count. */
WEFT_MUST_USE weft_err api_json_get_slot(slot_t *out, const json_t *v, uint32_t thread_count,
                                         const char *what, api_error *err);
/* An array of at most max_len integers 0..255, into a new malloc'd buffer (free() it; non-NULL
 * even when empty).  Also E_NOMEM (err set to API_ERR_INTERNAL). */
WEFT_MUST_USE weft_err api_json_get_bytes(uint8_t **out, size_t *len, const json_t *v,
                                          size_t max_len, const char *what, api_error *err);
WEFT_MUST_USE weft_err api_json_get_address(address_t *out, const json_t *v, const char *what,
                                            api_error *err);
WEFT_MUST_USE weft_err api_json_get_op_id(op_id_t *out, const json_t *v, const char *what,
                                          api_error *err);
WEFT_MUST_USE weft_err api_json_get_block_id(block_id_t *out, const json_t *v, const char *what,
                                             api_error *err);
WEFT_MUST_USE weft_err api_json_get_endorsement_id(endorsement_id_t *out, const json_t *v,
                                                   const char *what, api_error *err);
WEFT_MUST_USE weft_err api_json_get_pubkey(pubkey_t *out, const json_t *v, const char *what,
                                           api_error *err);
WEFT_MUST_USE weft_err api_json_get_signature(signature_t *out, const json_t *v, const char *what,
                                              api_error *err);

/* ---- 8. Massa's methods ---------------------------------------------------------------------- */

/* The node as the Massa methods see it: node.h's functions with the node as a `void *`.
 * api_node_real calls node.h; tests and fuzz targets pass their own.  Results are owned as
 * node.h says (freed with node.h's *_free functions, which only free memory). */
typedef struct api_node_vt {
    const model_params *(*params)(void *n);
    void (*node_id)(void *n, pubkey_t *out);
    uint64_t (*now_ms)(void *n);
    weft_err (*current_slot)(void *n, slot_t *out);
    weft_err (*get_status)(void *n, node_status_t *out);
    weft_err (*send_operations)(void *n, signed_op_t **ops, size_t count, weft_err *results);
    /* may be NULL: signed_op_verify (the real node remembers a success: send_operations and
     * blocks carrying the operation then look it up instead of verifying again) */
    weft_err (*verify_operation)(void *n, const signed_op_t *op);
    weft_err (*get_operation)(void *n, const op_id_t *id, node_op_info_t *out);
    weft_err (*get_address)(void *n, const address_t *a, node_address_info_t *out);
    weft_err (*get_datastore)(void *n, const address_t *a, const uint8_t *key, size_t klen,
                              node_ds_value_t *out);
    weft_err (*get_bytecode)(void *n, const address_t *a, bool final, node_bytes_t *out);
    weft_err (*get_block)(void *n, const block_id_t *id, node_block_info_t *out);
    weft_err (*blockclique_block_at)(void *n, slot_t slot, block_id_t *out);
    weft_err (*graph_interval)(void *n, uint64_t start_ms, uint64_t end_ms,
                               node_graph_item_t **items, size_t *count);
    weft_err (*get_cliques)(void *n, node_clique_t **cliques, size_t *count);
    weft_err (*get_stakers)(void *n, pos_stake_t **out, size_t *count);
    weft_err (*get_endorsement)(void *n, const endorsement_id_t *id, node_endorsement_info_t *out);
    weft_err (*get_events)(void *n, const node_event_filter *f, node_event_t **out, size_t *count);
    weft_err (*read_only)(void *n, const node_read_only_t *in, node_read_only_result_t *out);
    void (*request_stop)(void *n);
    void (*sign_message)(void *n, const uint8_t *msg, size_t len, pubkey_t *pk, signature_t *sig);
    weft_err (*staking_add)(void *n, const keypair_t *keys, size_t count);
    weft_err (*staking_remove)(void *n, const address_t *addrs, size_t count);
    weft_err (*staking_list)(void *n, address_t **out, size_t *count);
    size_t (*actor_stats)(void *n, node_actor_stat *out, size_t cap);
    void (*latency_stats)(void *n, node_latency_t *out); /* may be NULL: no latency metrics */
} api_node_vt;

extern const api_node_vt api_node_real;

/* The network as the Massa methods see it: netd's queries and commands (src/netd/netd.h) with the
 * service as ctx, in plain types so that the API does not link the network shell.  Every function
 * is thread-safe (it waits for the network's loop) and returns WEFT_OK or a weft_err (E_NOMEM;
 * E_NOT_FOUND for an unban without a ban or the removal of an IP that is not whitelisted;
 * anything else is reported as a node error).  Arrays are malloc'd (free()).  Used by
 * node_ban_by_id/ip, node_unban_by_id/ip, node_peers_whitelist, node_add_to/remove_from_peers_
 * whitelist, get_status (connected_nodes, network_stats) and the metrics (weft_peers, …). */
typedef struct api_net_vt {
    void *ctx; /* e.g. the netd service */
    weft_err (*peers)(void *ctx, net_peer_info **out, size_t *n);
    weft_err (*stats)(void *ctx, net_stats *out);
    weft_err (*ban_id)(void *ctx, const pubkey_t *id);
    weft_err (*ban_ip)(void *ctx, const char *ip);
    weft_err (*unban_id)(void *ctx, const pubkey_t *id);
    weft_err (*unban_ip)(void *ctx, const char *ip);
    weft_err (*whitelist_add)(void *ctx, const char *ip);
    weft_err (*whitelist_remove)(void *ctx, const char *ip);
    weft_err (*whitelist)(void *ctx, char (**out)[NET_ADDR_MAX], size_t *n);
    /* how long (ms) the oldest operation batch or announcement from a peer has waited for this
       node's checks (netd_ops_behind_ms); lock-free, called by every send_operations; NULL: 0 */
    uint64_t (*ops_behind_ms)(void *ctx);
} api_net_vt;

/* send_operations refuses a request (E_BUSY, nothing admitted) while the oldest operation batch or
 * announcement from a peer has waited longer than this for the node's checks
 * (api_net_vt.ops_behind_ms): a node behind its peers takes no more from clients, so that what it
 * admitted is not dropped for want of checks and the block pipeline keeps its CPU.  A time, not a
 * count: an operation announced by several peers is announced several times. */
#define API_OPS_BEHIND_MAX_MS 200

#define API_MASSA_MAX_ARGS 128 /* ids, addresses or operations per call (Massa's max_arguments) */

typedef struct api_massa_config {
    void *node;             /* a node_t * (or a test's node), borrowed: must outlive the methods */
    const api_node_vt *vt;  /* NULL: api_node_real */
    amount_t minimal_fee;   /* send_operations refuses lower fees; get_status reports it */
    const char *version;    /* get_status "version" (borrowed); NULL: NODE_VERSION */
    api_metrics_t *metrics; /* optional registry (borrowed): operations admitted and refused by
                               send_operations are counted there; api_massa_metrics_text
                               appends it */
    const api_net_vt *net;  /* optional network (borrowed, with its ctx: must outlive the
                               methods); NULL: the peer methods answer API_ERR_UNAVAILABLE and
                               get_status / the metrics report no peers */
} api_massa_config;

typedef struct api_massa api_massa_t;

/* The context of the Massa methods (their handlers' ctx).  E_NOMEM. */
WEFT_MUST_USE weft_err api_massa_new(api_massa_t **out, const api_massa_config *cfg);
void api_massa_free(api_massa_t *m);

/* The node's metrics text (an api_metrics_text_fn; ctx = the api_massa_t): current slot, final
 * period per thread, cliques, blocks final/stale/pending, pool sizes, peers, bans and traffic
 * (from the config's network; 0 without one), operations executed in final slots, blocks and
 * endorsements produced, staking addresses, execution and finality latency histograms and
 * operations executed speculatively (node_latency_stats), actor mailbox depths and restarts,
 * resident memory, then the registry of the config (API calls and latencies, operations
 * admitted).  E_NOMEM, or the node's error. */
WEFT_MUST_USE weft_err api_massa_metrics_text(void *ctx, wr_t *out);

/* The method table, public and private methods (docs/api.md lists them with their shapes); give
 * it to api_server_config with ctx = the api_massa_t. */
extern const api_method api_massa_methods[];
extern const size_t api_massa_method_count;

#endif
