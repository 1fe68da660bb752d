/* weftd's services around the node: the network (netd), the JSON-RPC APIs, the metrics endpoint and
 * the endpoint files of the repository (api.json, api.token). */
#ifndef WEFTD_H
#define WEFTD_H

#include "netd/netd.h"
#include "node/node.h"
#include "repo/repo.h"

/* The network service of the repository (not started: node_start takes netd_events(*out), then
 * netd_start).  E_NOMEM with the reason in err. */
WEFT_MUST_USE weft_err weftd_network_new(netd **out, const repo_t *repo, char *err, size_t errcap);
/* The peer-to-peer address actually bound ("host:port" of p2p.listen with the bound port). */
void weftd_network_address(const repo_t *repo, const netd *net, char *out, size_t cap);

typedef struct weftd_services weftd_services;

/* Starts the services of a running node (and its started network: the peer methods of the private
 * API use it; borrowed, must outlive the services) and writes api.json / api.token with the
 * addresses actually bound.  On error nothing runs and err says why. */
WEFT_MUST_USE weft_err weftd_services_start(weftd_services **out, node_t *node, repo_t *repo,
                                            netd *net, char *err, size_t errcap);
/* Stops the services (before the network and the node stop) and frees them; NULL is ignored. */
void weftd_services_stop(weftd_services *s);

#endif
