/* netd — the network shell: the protocol core (src/net) bound to a node (node.h's network
 * section) and to TCP connections (libuv).  DESIGN §5; docs/protocol.md; docs/node.md "Network".
 *
 * Two parts:
 *  - the glue, used by weftd and by the simulator (tests/sim): a net_chain_vt over a running node
 *    and a thread-safe queue of node events (node_net_events) that is drained into a core;
 *  - the service, used by weftd: a thread running a libuv loop that listens, dials, frames
 *    messages (length-prefixed, two priority lanes per connection), enforces buffer limits before
 *    allocating, and drives one net_core with the system's monotonic time.
 */
#ifndef WEFT_NETD_H
#define WEFT_NETD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "net/net.h"
#include "node/node.h"

/* ---- glue ------------------------------------------------------------------------------------ */

/* The chain callbacks over a node: ctx is the node_t*.  Each callback is a node_net_* call (it
 * waits for the node's actors). */
extern const net_chain_vt netd_node_chain_vt;

/* A queue of node events (thread-safe: the node's actor threads push, one consumer drains). */
typedef struct netd_evq netd_evq;
/* wake (may be NULL) is called after each push, from the pushing thread (e.g. uv_async_send). */
WEFT_MUST_USE weft_err netd_evq_new(netd_evq **out, void (*wake)(void *ctx), void *wake_ctx);
void netd_evq_free(netd_evq *q);
/* The sink to give the node (node_options.net); valid while q lives. */
const node_net_events *netd_evq_events(netd_evq *q);
/* Forwards every queued event to the core, in order (net_core_block_pending, …).  E_NOMEM from
 * the core.  Events pushed when the queue could not allocate are counted as lost (the core
 * recovers through hellos and asks); netd_evq_lost says how many. */
WEFT_MUST_USE weft_err netd_evq_drain(netd_evq *q, net_core *c, uint64_t now_ms);
uint64_t netd_evq_lost(const netd_evq *q);

/* ---- service --------------------------------------------------------------------------------- */

typedef struct netd netd;

typedef struct netd_options {
    const char *listen;           /* "host:port" (port 0: any free port); NULL: do not listen */
    const char *const *bootstrap; /* "host:port" peers to dial */
    size_t n_bootstrap;
    net_config core; /* identity and limits (listen_port is filled in) */
} netd_options;

/* Creates the service (not started): the event queue exists from here on, so the node can be
 * started with netd_events() before netd_start. */
WEFT_MUST_USE weft_err netd_new(netd **out, const netd_options *o);
const node_net_events *netd_events(netd *s);
/* Binds the listener and starts the loop thread over node (borrowed; must outlive netd_stop).
 * Errors: E_IO (cannot bind: the message in err), E_NOMEM. */
WEFT_MUST_USE weft_err netd_start(netd *s, node_t *node, char *err, size_t errcap);
/* The port actually bound (0 if not listening). */
uint16_t netd_port(const netd *s);
/* Closes every connection and joins the loop thread.  Call before node_stop. */
void netd_stop(netd *s);
void netd_free(netd *s);

/* How long (ms) the oldest operation batch or announcement from a peer has waited in the deferred
 * queue (docs/protocol.md "Operation batches"); 0 when none waits.  How far this node's signature
 * checks are behind its peers, whatever the number of peers or of duplicate announcements: the
 * API refuses new operations while it is above API_OPS_BEHIND_MAX_MS (docs/api.md,
 * send_operations).  Thread-safe, lock-free; never waits for the loop. */
uint64_t netd_ops_behind_ms(netd *s);

/* Thread-safe queries and commands (they run on the loop thread and wait for it). */
/* *out malloc'd (free()); count in *n. */
WEFT_MUST_USE weft_err netd_peers(netd *s, net_peer_info **out, size_t *n);
WEFT_MUST_USE weft_err netd_stats(netd *s, net_stats *out);
WEFT_MUST_USE weft_err netd_ban_id(netd *s, const pubkey_t *id);
WEFT_MUST_USE weft_err netd_ban_ip(netd *s, const char *ip);
WEFT_MUST_USE weft_err netd_unban_id(netd *s, const pubkey_t *id);
WEFT_MUST_USE weft_err netd_unban_ip(netd *s, const char *ip);
WEFT_MUST_USE weft_err netd_whitelist_add(netd *s, const char *ip);
WEFT_MUST_USE weft_err netd_whitelist_remove(netd *s, const char *ip);
/* *out malloc'd array of NET_ADDR_MAX strings (free()). */
WEFT_MUST_USE weft_err netd_whitelist(netd *s, char (**out)[NET_ADDR_MAX], size_t *n);

#endif
