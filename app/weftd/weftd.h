/* weftd's services around the node: the JSON-RPC APIs, the metrics endpoint and the endpoint files
 * of the repository (api.json, api.token). */
#ifndef WEFTD_H
#define WEFTD_H

#include "node/node.h"
#include "repo/repo.h"

typedef struct weftd_services weftd_services;

/* Starts the services of a running node and writes api.json / api.token with the addresses
 * actually bound.  On error nothing runs and err says why. */
WEFT_MUST_USE weft_err weftd_services_start(weftd_services **out, node_t *node, repo_t *repo,
                                            char *err, size_t errcap);
/* Stops the services (before the node stops) and frees them; NULL is ignored. */
void weftd_services_stop(weftd_services *s);

#endif
