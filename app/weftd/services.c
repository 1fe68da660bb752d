/* weftd services: the public and private JSON-RPC APIs (Massa's methods over the node, the peer
 * methods over the network service), the metrics endpoint, and the endpoint files of the
 * repository. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "weftd.h"

struct weftd_services {
    node_t *node;
    repo_t *repo;
    netd *net;
    api_net_vt net_vt;
    api_massa_t *massa;
    api_metrics_t *metrics;
    api_server_t *pub, *priv, *met;
};

void weftd_services_stop(weftd_services *s)
{
    if (!s)
        return;
    /* servers first: no handler may run once the node stops */
    api_server_stop(s->pub);
    api_server_stop(s->priv);
    api_server_stop(s->met);
    api_massa_free(s->massa);
    api_metrics_free(s->metrics);
    free(s);
}

/* api_net_vt over netd (ctx = the netd) */
static weft_err net_peers(void *ctx, net_peer_info **out, size_t *n)
{
    return netd_peers(ctx, out, n);
}
static weft_err net_stats_(void *ctx, net_stats *out) { return netd_stats(ctx, out); }
static weft_err net_ban_id(void *ctx, const pubkey_t *id) { return netd_ban_id(ctx, id); }
static weft_err net_ban_ip(void *ctx, const char *ip) { return netd_ban_ip(ctx, ip); }
static weft_err net_unban_id(void *ctx, const pubkey_t *id) { return netd_unban_id(ctx, id); }
static weft_err net_unban_ip(void *ctx, const char *ip) { return netd_unban_ip(ctx, ip); }
static weft_err net_wl_add(void *ctx, const char *ip) { return netd_whitelist_add(ctx, ip); }
static weft_err net_wl_remove(void *ctx, const char *ip) { return netd_whitelist_remove(ctx, ip); }
static weft_err net_wl(void *ctx, char (**out)[NET_ADDR_MAX], size_t *n)
{
    return netd_whitelist(ctx, out, n);
}
static uint64_t net_ops_behind_ms(void *ctx) { return netd_ops_behind_ms(ctx); }

weft_err weftd_services_start(weftd_services **out, node_t *node, repo_t *repo, netd *net,
                              char *err, size_t errcap)
{
    *out = NULL;
    weftd_services *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    s->node = node;
    s->repo = repo;
    s->net = net;
    s->net_vt = (api_net_vt){.ctx = net,
                             .peers = net_peers,
                             .stats = net_stats_,
                             .ban_id = net_ban_id,
                             .ban_ip = net_ban_ip,
                             .unban_id = net_unban_id,
                             .unban_ip = net_unban_ip,
                             .whitelist_add = net_wl_add,
                             .whitelist_remove = net_wl_remove,
                             .whitelist = net_wl,
                             .ops_behind_ms = net_ops_behind_ms};
    char token[65]; /* the private API's bearer token for this run, written to api.token */
    uint8_t raw[32];
    crypto_random(raw, sizeof raw);
    hex_encode(token, sizeof token, raw, sizeof raw);
    crypto_wipe(raw, sizeof raw);
    const char *what = "the API";
    weft_err e = api_metrics_new(&s->metrics);
    api_massa_config mc = {.node = node,
                           .vt = NULL,
                           .minimal_fee = amount_from_nano(0),
                           .metrics = s->metrics,
                           .net = net ? &s->net_vt : NULL};
    if (!e)
        e = api_massa_new(&s->massa, &mc);
    char detail[256] = "";
    if (!e) {
        what = "the public API";
        api_server_config c = {
            .kind = API_SERVER_PUBLIC,
            .listen = repo->config.api_public,
            .methods = api_massa_methods,
            .method_count = api_massa_method_count,
            .ctx = s->massa,
            .metrics = s->metrics,
        };
        e = api_server_start(&s->pub, &c, detail, sizeof detail);
    }
    if (!e) {
        what = "the private API";
        api_server_config c = {
            .kind = API_SERVER_PRIVATE,
            .listen = repo->config.api_private,
            .methods = api_massa_methods,
            .method_count = api_massa_method_count,
            .ctx = s->massa,
            .token = token,
            .metrics = s->metrics,
        };
        e = api_server_start(&s->priv, &c, detail, sizeof detail);
    }
    if (!e) {
        what = "the metrics endpoint";
        api_server_config c = {
            .kind = API_SERVER_METRICS,
            .listen = repo->config.metrics,
            .metrics_text = api_massa_metrics_text,
            .metrics_ctx = s->massa,
        };
        e = api_server_start(&s->met, &c, detail, sizeof detail);
    }
    if (!e) {
        what = "the endpoint files";
        repo_endpoints_t ep;
        memset(&ep, 0, sizeof ep);
        snprintf(ep.api_public, sizeof ep.api_public, "%s", api_server_address(s->pub));
        snprintf(ep.api_private, sizeof ep.api_private, "%s", api_server_address(s->priv));
        snprintf(ep.metrics, sizeof ep.metrics, "%s", api_server_address(s->met));
        if (net)
            weftd_network_address(repo, net, ep.p2p, sizeof ep.p2p);
        else
            snprintf(ep.p2p, sizeof ep.p2p, "%s", repo->config.p2p_listen);
        e = repo_write_endpoints_token(repo, &ep, token);
    }
    crypto_wipe(token, sizeof token);
    if (e) {
        snprintf(err, errcap, "cannot start %s: %s%s%s", what, weft_strerror(e),
                 detail[0] ? ": " : "", detail);
        weftd_services_stop(s);
        return e;
    }
    *out = s;
    return WEFT_OK;
}
