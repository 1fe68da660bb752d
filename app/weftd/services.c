/* weftd services: endpoint files (the API servers plug in here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weftd.h"

struct weftd_services {
    node_t *node;
    repo_t *repo;
};

weft_err weftd_services_start(weftd_services **out, node_t *node, repo_t *repo, char *err,
                              size_t errcap)
{
    *out = NULL;
    weftd_services *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    s->node = node;
    s->repo = repo;
    repo_endpoints_t ep;
    memset(&ep, 0, sizeof ep);
    snprintf(ep.api_public, sizeof ep.api_public, "%s", repo->config.api_public);
    snprintf(ep.api_private, sizeof ep.api_private, "%s", repo->config.api_private);
    snprintf(ep.metrics, sizeof ep.metrics, "%s", repo->config.metrics);
    snprintf(ep.p2p, sizeof ep.p2p, "%s", repo->config.p2p_listen);
    char token[65];
    weft_err e = repo_write_endpoints(repo, &ep, token);
    if (e) {
        snprintf(err, errcap, "cannot write the endpoint files: %s", weft_strerror(e));
        free(s);
        return e;
    }
    *out = s;
    return WEFT_OK;
}

void weftd_services_stop(weftd_services *s) { free(s); }
