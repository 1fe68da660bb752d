/* weftd's network: the netd service (src/netd) built from the repository — the chain's identity
 * (chain id, thread 0's genesis block id), the node key, the listen address, the bootstrap peers
 * and the [p2p] limits of config.ini — and the address it bound, for api.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "weftd.h"

weft_err weftd_network_new(netd **out, const repo_t *repo, char *err, size_t errcap)
{
    *out = NULL;
    const model_params *p = &repo->genesis.params;
    const repo_config_t *cfg = &repo->config;
    netd_options o;
    memset(&o, 0, sizeof o);
    net_config_default(&o.core);
    o.core.chain_id = p->chain_id;
    o.core.thread_count = p->thread_count;
    block_header_t *genesis = calloc(p->thread_count, sizeof *genesis);
    if (!genesis)
        return WEFT_E_NOMEM;
    node_genesis_headers(p, genesis);
    o.core.genesis_id = genesis[0].id;
    free(genesis);
    o.core.node_key = repo->node_key;
    o.core.outbound_target = cfg->p2p_outbound;
    o.core.max_inbound =
        cfg->max_peers > cfg->p2p_outbound ? cfg->max_peers - cfg->p2p_outbound : 0;
    o.core.max_per_ip = cfg->p2p_max_per_ip;
    o.core.ban_ms = cfg->p2p_ban_seconds * 1000; /* bounded by repo_config_set */
    o.core.state_after_periods = cfg->p2p_fetch_state_after;
    WEFT_STATIC_ASSERT(REPO_MAX_STATE_PEERS == NET_STATE_PEERS_MAX, "state peer lists differ");
    size_t nsp =
        cfg->state_peer_count < NET_STATE_PEERS_MAX ? cfg->state_peer_count : NET_STATE_PEERS_MAX;
    memcpy(o.core.state_peers, cfg->state_peers, nsp * sizeof cfg->state_peers[0]);
    o.core.state_peer_count = (uint32_t)nsp;
    WEFT_STATIC_ASSERT(REPO_MAX_STATE_CONFIRMATIONS == NET_STATE_CHECKERS,
                       "confirmation limits differ");
    o.core.state_confirmations = cfg->p2p_state_confirmations; /* bounded by repo_config_set */
    const char *boot[REPO_MAX_BOOTSTRAP];
    for (size_t i = 0; i < cfg->bootstrap_count && i < REPO_MAX_BOOTSTRAP; i++)
        boot[i] = cfg->bootstrap[i];
    o.listen = cfg->p2p_listen;
    o.bootstrap = boot;
    o.n_bootstrap = cfg->bootstrap_count;
    weft_err e = netd_new(out, &o);
    crypto_wipe(&o.core.node_key, sizeof o.core.node_key);
    if (e)
        snprintf(err, errcap, "cannot create the network: %s", weft_strerror(e));
    return e;
}

void weftd_network_address(const repo_t *repo, const netd *net, char *out, size_t cap)
{
    char host[REPO_ADDR_MAX];
    uint16_t port;
    if (repo_addr_split(repo->config.p2p_listen, host, sizeof host, &port) != WEFT_OK) {
        snprintf(out, cap, "%s", repo->config.p2p_listen);
        return;
    }
    snprintf(out, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, netd_port(net));
}
