/* api/massa.c — Massa's JSON-RPC methods (names, parameters and result shapes of massa-api, as
 * massa-web3 5.x reads them: ../shared/reference/massa-client-compat.md §3, §6) over the node's
 * interface (src/node/node.h), reached through a table of functions so that tests can stand in
 * for the node.
 *
 *~ Conventions of every method here: the argument comes wrapped in a one-element array
 *~ (`params: [X]`); lists of ids or addresses are bounded (API_MASSA_MAX_ARGS); amounts are
 *~ decimal MAS strings; byte strings arrays of numbers; absent values explicit nulls; an id the
 *~ node does not know is left out of the result (get_operations, get_blocks, get_endorsements),
 *~ as Massa does.  A malformed parameter is -32602 naming it; a refusal by the node is -32000
 *~ with the weft error in data; what the node cannot do yet (network, contract VM) is -32002. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"

/* Creator keys send_operations checked already, by text: the point check of a public key
 * (crypto_ed25519_check_pk) costs about half a signature check, and clients send many operations
 * from few keys.  Direct-mapped; only keys that passed pubkey_parse enter, and a hit needs the
 * same text. */
#define PK_CACHE 1024
typedef struct pk_entry {
    char text[MODEL_STR_MAX]; /* "" : empty */
    pubkey_t pk;
} pk_entry;

struct api_massa {
    api_massa_config cfg;
    uint64_t started_ms;
    api_metric_t *ops_admitted, *ops_refused; /* NULL without a registry */
    pthread_mutex_t pk_mu;                    /* the server's worker threads share the cache */
    pk_entry *pk_cache;                       /* PK_CACHE entries */
};

#define NODE(m) ((m)->cfg.node)
#define VT(m) ((m)->cfg.vt)
#define NET(m) ((m)->cfg.net)

/* ---- the real node --------------------------------------------------------------------------- */

static const model_params *real_params(void *n) { return node_params(n); }
static void real_node_id(void *n, pubkey_t *out) { node_id(n, out); }
static uint64_t real_now_ms(void *n) { return node_now_ms(n); }
static weft_err real_current_slot(void *n, slot_t *out) { return node_current_slot(n, out); }
static weft_err real_get_status(void *n, node_status_t *out) { return node_get_status(n, out); }
static weft_err real_send_operations(void *n, signed_op_t **ops, size_t count, weft_err *results)
{
    return node_send_operations(n, ops, count, results);
}
static weft_err real_verify_operation(void *n, const signed_op_t *op)
{
    return node_verify_operation(n, op);
}
static weft_err real_get_operation(void *n, const op_id_t *id, node_op_info_t *out)
{
    return node_get_operation(n, id, out);
}
static weft_err real_get_address(void *n, const address_t *a, node_address_info_t *out)
{
    return node_get_address(n, a, out);
}
static weft_err real_get_datastore(void *n, const address_t *a, const uint8_t *key, size_t klen,
                                   node_ds_value_t *out)
{
    return node_get_datastore(n, a, key, klen, out);
}
static weft_err real_get_bytecode(void *n, const address_t *a, bool final, node_bytes_t *out)
{
    return node_get_bytecode(n, a, final, out);
}
static weft_err real_get_block(void *n, const block_id_t *id, node_block_info_t *out)
{
    return node_get_block(n, id, out);
}
static weft_err real_blockclique_block_at(void *n, slot_t slot, block_id_t *out)
{
    return node_blockclique_block_at(n, slot, out);
}
static weft_err real_graph_interval(void *n, uint64_t start_ms, uint64_t end_ms,
                                    node_graph_item_t **items, size_t *count)
{
    return node_graph_interval(n, start_ms, end_ms, items, count);
}
static weft_err real_get_cliques(void *n, node_clique_t **cliques, size_t *count)
{
    return node_get_cliques(n, cliques, count);
}
static weft_err real_get_stakers(void *n, pos_stake_t **out, size_t *count)
{
    return node_get_stakers(n, out, count);
}
static weft_err real_get_endorsement(void *n, const endorsement_id_t *id,
                                     node_endorsement_info_t *out)
{
    return node_get_endorsement(n, id, out);
}
static weft_err real_get_events(void *n, const node_event_filter *f, node_event_t **out,
                                size_t *count)
{
    return node_get_events(n, f, out, count);
}
static weft_err real_read_only(void *n, const node_read_only_t *in, node_read_only_result_t *out)
{
    return node_read_only(n, in, out);
}
static void real_request_stop(void *n) { node_request_stop(n); }
static void real_sign_message(void *n, const uint8_t *msg, size_t len, pubkey_t *pk,
                              signature_t *sig)
{
    node_sign_message(n, msg, len, pk, sig);
}
static weft_err real_staking_add(void *n, const keypair_t *keys, size_t count)
{
    return node_staking_add(n, keys, count);
}
static weft_err real_staking_remove(void *n, const address_t *addrs, size_t count)
{
    return node_staking_remove(n, addrs, count);
}
static weft_err real_staking_list(void *n, address_t **out, size_t *count)
{
    return node_staking_list(n, out, count);
}
static size_t real_actor_stats(void *n, node_actor_stat *out, size_t cap)
{
    return node_actor_stats(n, out, cap);
}
static void real_latency_stats(void *n, node_latency_t *out) { node_latency_stats(n, out); }

const api_node_vt api_node_real = {
    .params = real_params,
    .node_id = real_node_id,
    .now_ms = real_now_ms,
    .current_slot = real_current_slot,
    .get_status = real_get_status,
    .send_operations = real_send_operations,
    .verify_operation = real_verify_operation,
    .get_operation = real_get_operation,
    .get_address = real_get_address,
    .get_datastore = real_get_datastore,
    .get_bytecode = real_get_bytecode,
    .get_block = real_get_block,
    .blockclique_block_at = real_blockclique_block_at,
    .graph_interval = real_graph_interval,
    .get_cliques = real_get_cliques,
    .get_stakers = real_get_stakers,
    .get_endorsement = real_get_endorsement,
    .get_events = real_get_events,
    .read_only = real_read_only,
    .request_stop = real_request_stop,
    .sign_message = real_sign_message,
    .staking_add = real_staking_add,
    .staking_remove = real_staking_remove,
    .staking_list = real_staking_list,
    .actor_stats = real_actor_stats,
    .latency_stats = real_latency_stats,
};

weft_err api_massa_new(api_massa_t **out, const api_massa_config *cfg)
{
    *out = NULL;
    WEFT_MISUSE(cfg && cfg->node);
    api_massa_t *m = calloc(1, sizeof *m);
    if (!m)
        return WEFT_E_NOMEM;
    m->pk_cache = calloc(PK_CACHE, sizeof *m->pk_cache);
    if (!m->pk_cache) {
        free(m);
        return WEFT_E_NOMEM;
    }
    pthread_mutex_init(&m->pk_mu, NULL);
    m->cfg = *cfg;
    if (!m->cfg.vt)
        m->cfg.vt = &api_node_real;
    if (!m->cfg.version)
        m->cfg.version = NODE_VERSION;
    m->started_ms = m->cfg.vt->now_ms(m->cfg.node);
    if (cfg->metrics) {
        m->ops_admitted = api_metrics_counter(cfg->metrics, "weft_api_operations_admitted_total",
                                              "operations admitted by send_operations", NULL, 0);
        m->ops_refused = api_metrics_counter(cfg->metrics, "weft_api_operations_refused_total",
                                             "operations refused by send_operations", NULL, 0);
    }
    *out = m;
    return WEFT_OK;
}

void api_massa_free(api_massa_t *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->pk_mu);
    free(m->pk_cache);
    free(m);
}

/* An operation's creator key (api_json_get_pubkey), looked up among the keys checked before. */
static weft_err get_creator(api_massa_t *m, pubkey_t *pk, json_t *j, const char *what,
                            api_error *err)
{
    const char *text = json_string_value(j);
    size_t len = text ? strlen(text) : 0;
    pk_entry *e = NULL;
    if (len && len < MODEL_STR_MAX) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (size_t i = 0; i < len; i++)
            h = (h ^ (uint8_t)text[i]) * 1099511628211ull;
        e = &m->pk_cache[h & (PK_CACHE - 1)];
        pthread_mutex_lock(&m->pk_mu);
        bool hit = strcmp(e->text, text) == 0;
        if (hit)
            *pk = e->pk;
        pthread_mutex_unlock(&m->pk_mu);
        if (hit)
            return WEFT_OK;
    }
    weft_err r = api_json_get_pubkey(pk, j, what, err);
    if (r == WEFT_OK && e) {
        pthread_mutex_lock(&m->pk_mu);
        memcpy(e->text, text, len + 1);
        e->pk = *pk;
        pthread_mutex_unlock(&m->pk_mu);
    }
    return r;
}

/* ---- JSON pieces ----------------------------------------------------------------------------- */

static json_t *hash_json(const hash32_t *h)
{
    char buf[MODEL_STR_MAX];
    if (b58check_encode(buf, sizeof buf, h->b, MODEL_HASH_LEN) < 0)
        return NULL;
    return json_string(buf);
}

static json_t *block_ids_json(const block_id_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, api_json_block_id(&ids[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *op_type_json(const operation_t *op)
{
    switch ((enum op_type)op->type) {
    case OP_TRANSACTION:
        return json_pack("{s:{s:o,s:o}}", "Transaction", "recipient_address",
                         api_json_address(&op->u.transaction.recipient), "amount",
                         api_json_amount(op->u.transaction.amount));
    case OP_ROLL_BUY:
    case OP_ROLL_SELL:
        return json_pack("{s:{s:o}}", op->type == OP_ROLL_BUY ? "RollBuy" : "RollSell",
                         "roll_count", api_json_u64(op->u.roll.roll_count));
    case OP_EXECUTE_SC: {
        json_t *ds = json_array();
        for (size_t i = 0; ds && i < op->u.execute_sc.datastore_len; i++) {
            const op_ds_entry *e = &op->u.execute_sc.datastore[i];
            if (json_array_append_new(ds, json_pack("[o,o]", api_json_bytes(e->key, e->key_len),
                                                    api_json_bytes(e->value, e->value_len))) != 0) {
                json_decref(ds);
                ds = NULL;
            }
        }
        return json_pack("{s:{s:o,s:o,s:o,s:o}}", "ExecuteSC", "data",
                         api_json_bytes(op->u.execute_sc.bytecode, op->u.execute_sc.bytecode_len),
                         "max_gas", api_json_u64(op->u.execute_sc.max_gas), "max_coins",
                         api_json_amount(op->u.execute_sc.max_coins), "datastore", ds);
    }
    case OP_CALL_SC:
        return json_pack("{s:{s:o,s:o,s:o,s:o,s:o}}", "CallSC", "target_addr",
                         api_json_address(&op->u.call_sc.target), "target_func",
                         api_json_text(op->u.call_sc.function, op->u.call_sc.function_len), "param",
                         api_json_bytes(op->u.call_sc.param, op->u.call_sc.param_len), "max_gas",
                         api_json_u64(op->u.call_sc.max_gas), "coins",
                         api_json_amount(op->u.call_sc.coins));
    }
    return NULL;
}

/* Massa's SecureShareOperation: {content:{fee,expire_period,op}, signature,
 * content_creator_pub_key, content_creator_address, id}. */
static json_t *signed_op_json(const signed_op_t *s)
{
    address_t creator;
    address_of_pubkey(&creator, &s->creator);
    return json_pack(
        "{s:{s:o,s:o,s:o},s:o,s:o,s:o,s:o}", "content", "fee", api_json_amount(s->op.fee),
        "expire_period", api_json_u64(s->op.expire_period), "op", op_type_json(&s->op), "signature",
        api_json_signature(&s->sig), "content_creator_pub_key", api_json_pubkey(&s->creator),
        "content_creator_address", api_json_address(&creator), "id", api_json_op_id(&s->id));
}

static json_t *endorsement_json(const endorsement_t *e)
{
    address_t creator;
    address_of_pubkey(&creator, &e->creator);
    return json_pack("{s:{s:o,s:i,s:o},s:o,s:o,s:o,s:o}", "content", "slot", api_json_slot(e->slot),
                     "index", (int)e->index, "endorsed_block", api_json_block_id(&e->endorsed),
                     "signature", api_json_signature(&e->sig), "content_creator_pub_key",
                     api_json_pubkey(&e->creator), "content_creator_address",
                     api_json_address(&creator), "id", api_json_endorsement_id(&e->id));
}

/* Massa's Block: {header: SecureShare<BlockHeader>, operations:[ids]}. */
static json_t *block_json(const node_block_info_t *b)
{
    const block_header_t *h = &b->header;
    json_t *ends = json_array();
    for (uint32_t i = 0; ends && i < h->endorsement_count; i++)
        if (json_array_append_new(ends, endorsement_json(&h->endorsements[i])) != 0) {
            json_decref(ends);
            ends = NULL;
        }
    json_t *ops = json_array();
    for (size_t i = 0; ops && i < b->op_count; i++)
        if (json_array_append_new(ops, api_json_op_id(&b->op_ids[i])) != 0) {
            json_decref(ops);
            ops = NULL;
        }
    address_t creator;
    address_of_pubkey(&creator, &h->creator);
    return json_pack("{s:{s:{s:i,s:n,s:o,s:o,s:o,s:o,s:[]},s:o,s:o,s:o,s:o},s:o}", "header",
                     "content", "current_version", (int)h->version, "announced_version", "slot",
                     api_json_slot(h->slot), "parents", block_ids_json(h->parents, h->parent_count),
                     "operation_merkle_root", hash_json(&h->ops_hash), "endorsements", ends,
                     "denunciations", "signature", api_json_signature(&h->sig),
                     "content_creator_pub_key", api_json_pubkey(&h->creator),
                     "content_creator_address", api_json_address(&creator), "id",
                     api_json_block_id(&h->id), "operations", ops);
}

/* Massa's SCOutputEvent: {data, context:{slot, block, read_only, call_stack, index_in_slot,
 * origin_operation_id, is_final, is_error, deferred_call_id, async_msg_id}}. */
static json_t *event_json(const node_event_t *e, bool read_only)
{
    const exec_event_t *ev = &e->ev;
    json_t *stack = json_array();
    for (size_t i = 0; stack && i < ev->call_stack_len; i++)
        if (json_array_append_new(stack, api_json_address(&ev->call_stack[i])) != 0) {
            json_decref(stack);
            stack = NULL;
        }
    return json_pack("{s:o,s:{s:o,s:o?,s:b,s:o,s:o,s:o?,s:b,s:b,s:n,s:n}}", "data",
                     api_json_text(ev->data ? ev->data : "", ev->data ? ev->data_len : 0),
                     "context", "slot", api_json_slot(ev->slot), "block",
                     ev->has_block ? api_json_block_id(&ev->block) : NULL, "read_only", read_only,
                     "call_stack", stack, "index_in_slot", api_json_u64(ev->index),
                     "origin_operation_id", ev->has_op ? api_json_op_id(&ev->op) : NULL, "is_final",
                     e->is_final, "is_error", ev->is_error, "deferred_call_id", "async_msg_id");
}

static json_t *events_json(const node_event_t *ev, size_t n, bool read_only)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, event_json(&ev[i], read_only)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* ---- parameters ------------------------------------------------------------------------------ */

/* params = [ [X, ...] ]: *list is the inner array (borrowed), *n its length. */
static weft_err list_param(json_t **list, size_t *n, json_t *params, api_error *err)
{
    *list = NULL;
    json_t *x;
    if (api_params_one(&x, params, err) != WEFT_OK ||
        api_json_get_array(n, x, API_MASSA_MAX_ARGS, "params[0]", err) != WEFT_OK)
        return WEFT_E_RPC;
    *list = x;
    return WEFT_OK;
}

/* An optional member: absent and null both mean "not given". */
static json_t *opt_member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static weft_err node_failed(api_error *err, weft_err e, const char *what)
{
    return api_error_node(err, e, "%s", what);
}

/* ---- get_status ------------------------------------------------------------------------------ */

static uint64_t cycle_start_ms(const model_params *p, uint64_t cycle)
{
    uint64_t t = 0;
    slot_t s = {.period = cycle * p->periods_per_cycle, .thread = 0};
    if (slot_time(p, &t, s) != WEFT_OK)
        t = UINT64_MAX;
    return t;
}

/* The host of a "host:port" or "[v6]:port" peer address, into out (NET_ADDR_MAX bytes). */
static void peer_host(char out[NET_ADDR_MAX], const char *addr)
{
    const char *start = addr, *end = addr + strnlen(addr, NET_ADDR_MAX - 1);
    if (*addr == '[') {
        const char *close = memchr(addr, ']', (size_t)(end - addr));
        if (close) {
            start = addr + 1;
            end = close;
        }
    } else {
        const char *colon = memchr(addr, ':', (size_t)(end - addr));
        if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            end = colon; /* one colon: IPv4 or name with a port; more: a bare IPv6 address */
    }
    snprintf(out, NET_ADDR_MAX, "%.*s", (int)(end - start), start);
}

/* get_status's connected_nodes, {"N…": [ip, is_outgoing]} for every peer past its handshake, and
 * the network's counters in *ns (zeros without a network, or when it does not answer: the status
 * stays available). */
static json_t *connected_nodes_json(api_massa_t *m, net_stats *ns)
{
    memset(ns, 0, sizeof *ns);
    json_t *out = json_object();
    if (!NET(m) || !out)
        return out;
    if (NET(m)->stats && NET(m)->stats(NET(m)->ctx, ns) != WEFT_OK)
        memset(ns, 0, sizeof *ns);
    net_peer_info *peers = NULL;
    size_t n = 0;
    if (!NET(m)->peers || NET(m)->peers(NET(m)->ctx, &peers, &n) != WEFT_OK)
        return out;
    for (size_t i = 0; i < n; i++) {
        if (!peers[i].ready)
            continue;
        char id[MODEL_STR_MAX], host[NET_ADDR_MAX];
        node_id_to_str(id, &peers[i].node_id);
        peer_host(host, peers[i].addr);
        if (json_object_set_new(
                out, id,
                json_pack("[o,b]", api_json_text(host, strlen(host)), peers[i].outbound)) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    free(peers);
    return out;
}

static weft_err m_get_status(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    node_status_t st;
    weft_err e = VT(m)->get_status(NODE(m), &st);
    if (e != WEFT_OK)
        return node_failed(err, e, "status");
    const model_params *p = VT(m)->params(NODE(m));
    pubkey_t id;
    VT(m)->node_id(NODE(m), &id);
    slot_t zero = {0, 0};
    char fee[AMOUNT_STR_MAX];
    amount_format(fee, m->cfg.minimal_fee);
    json_t *consensus = json_pack(
        "{s:o,s:o,s:o,s:o,s:o}", "start_timespan", api_json_u64(m->started_ms), "end_timespan",
        api_json_u64(st.now_ms), "final_block_count", api_json_u64(st.final_block_count),
        "stale_block_count", api_json_u64(st.stale_block_count), "clique_count",
        api_json_u64(st.clique_count));
    net_stats ns;
    json_t *connected = connected_nodes_json(m, &ns);
    json_t *network =
        json_pack("{s:o,s:o,s:o,s:o,s:o}", "in_connection_count", api_json_u64(ns.peers_inbound),
                  "out_connection_count", api_json_u64(ns.peers_outbound), "known_peer_count",
                  api_json_u64(ns.peers), "banned_peer_count", api_json_u64(ns.bans_active),
                  "active_node_count", api_json_u64(ns.peers_ready));
    json_t *execution =
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "time_window_start", api_json_u64(m->started_ms),
                  "time_window_end", api_json_u64(st.now_ms), "final_block_count",
                  api_json_u64(st.final_block_count), "final_executed_operations_count",
                  api_json_u64(st.ops_final_executed), "active_cursor",
                  api_json_slot(st.has_active_cursor ? st.active_cursor : zero), "final_cursor",
                  api_json_slot(st.has_final_cursor ? st.final_cursor : zero));
    json_t *config = json_pack("{s:o,s:n,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "genesis_timestamp",
                               api_json_u64(p->genesis_timestamp_ms), "end_timestamp",
                               "thread_count", (int)p->thread_count, "t0", api_json_u64(p->t0_ms),
                               "delta_f0", api_json_u64(p->delta_f0), "operation_validity_periods",
                               api_json_u64(p->operation_validity_periods), "periods_per_cycle",
                               api_json_u64(p->periods_per_cycle), "block_reward",
                               api_json_amount(amount_from_nano(p->block_reward)), "roll_price",
                               api_json_amount(amount_from_nano(p->roll_price)), "max_block_size",
                               api_json_u64(p->max_block_size));
    *result = json_pack(
        "{s:o,s:n,s:s,s:o,s:o,s:o,s:o,s:o,s:o?,s:o,s:o,s:[o,o],s:o,s:o,s:o,s:o,s:s,s:i}", "node_id",
        api_json_node_id(&id), "node_ip", "version", m->cfg.version, "current_time",
        api_json_u64(st.now_ms), "current_cycle", api_json_u64(st.current_cycle),
        "current_cycle_time", api_json_u64(cycle_start_ms(p, st.current_cycle)), "next_cycle_time",
        api_json_u64(cycle_start_ms(p, st.current_cycle + 1)), "connected_nodes", connected,
        "last_slot", st.has_slot ? api_json_slot(st.last_slot) : NULL, "next_slot",
        api_json_slot(st.next_slot), "consensus_stats", consensus, "pool_stats",
        api_json_u64(st.pool_ops), api_json_u64(st.pool_endorsements), "network_stats", network,
        "execution_stats", execution, "config", config, "chain_id", api_json_u64(p->chain_id),
        "minimal_fees", fee, "current_mip_version", 0);
    return *result ? WEFT_OK : WEFT_E_NOMEM;
}

/* ---- addresses and datastore ----------------------------------------------------------------- */

static json_t *keys_json(const node_bytes_t *k, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, api_json_bytes(k[i].b, k[i].len)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *address_info_json(const node_address_info_t *i, const model_params *p,
                                 uint64_t cycle)
{
    json_t *credits = json_array(), *blocks = json_array(), *ends = json_array();
    for (size_t k = 0; credits && k < i->credit_count; k++)
        if (json_array_append_new(credits, json_pack("{s:o,s:o}", "slot",
                                                     api_json_slot(i->credits[k].slot), "amount",
                                                     api_json_amount(i->credits[k].amount))) != 0) {
            json_decref(credits);
            credits = NULL;
        }
    for (size_t k = 0; blocks && ends && k < i->draw_count; k++) {
        const node_draw_t *d = &i->draws[k];
        int r =
            d->index < 0
                ? json_array_append_new(blocks, api_json_slot(d->slot))
                : json_array_append_new(ends, json_pack("{s:o,s:i}", "slot", api_json_slot(d->slot),
                                                        "index", (int)d->index));
        if (r != 0) {
            json_decref(blocks);
            blocks = NULL;
        }
    }
    return json_pack(
        "{s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:[],s:[],s:[],s:[{s:o,s:b,s:o,s:o,s:n}]}",
        "address", api_json_address(&i->addr), "thread",
        (int)address_thread(&i->addr, p->thread_count), "final_balance",
        api_json_amount(i->final_balance), "final_roll_count", api_json_u64(i->final_rolls),
        "final_datastore_keys", keys_json(i->final_keys, i->final_key_count), "candidate_balance",
        api_json_amount(i->candidate_balance), "candidate_roll_count",
        api_json_u64(i->candidate_rolls), "candidate_datastore_keys",
        keys_json(i->candidate_keys, i->candidate_key_count), "deferred_credits", credits,
        "next_block_draws", blocks, "next_endorsement_draws", ends, "created_blocks",
        "created_operations", "created_endorsements", "cycle_infos", "cycle", api_json_u64(cycle),
        "is_final", false, "ok_count", api_json_u64(i->cycle_produced), "nok_count",
        api_json_u64(i->cycle_missed), "active_rolls");
}

static uint64_t current_cycle(const api_massa_t *m)
{
    slot_t s;
    if (VT(m)->current_slot(NODE(m), &s) != WEFT_OK)
        return 0;
    return cycle_of_period(VT(m)->params(NODE(m)), s.period);
}

static weft_err m_get_addresses(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    address_t *addrs = malloc((n ? n : 1) * sizeof *addrs);
    if (!addrs)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        e = api_json_get_address(&addrs[i], json_array_get(list, i), what, err);
    }
    json_t *out = e ? NULL : json_array();
    const model_params *p = VT(m)->params(NODE(m));
    uint64_t cycle = current_cycle(m);
    for (size_t i = 0; out && i < n; i++) {
        node_address_info_t info;
        e = VT(m)->get_address(NODE(m), &addrs[i], &info);
        if (e) {
            node_failed(err, e, "address");
            break;
        }
        json_t *j = address_info_json(&info, p, cycle);
        node_address_info_free(&info);
        if (json_array_append_new(out, j) != 0) {
            e = WEFT_E_NOMEM;
            break;
        }
    }
    free(addrs);
    if (!e && !out)
        e = WEFT_E_NOMEM;
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

static weft_err m_get_datastore_entries(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    json_t *out = json_array();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        json_t *item = json_array_get(list, i);
        char what[64];
        address_t a;
        uint8_t *key = NULL;
        size_t klen = 0;
        if (!json_is_object(item)) {
            e = api_invalid_params(err, "params[0][%zu]: expected {address, key}", i);
            break;
        }
        snprintf(what, sizeof what, "params[0][%zu].address", i);
        e = api_json_get_address(&a, json_object_get(item, "address"), what, err);
        snprintf(what, sizeof what, "params[0][%zu].key", i);
        if (!e)
            e = api_json_get_bytes(&key, &klen, json_object_get(item, "key"), OP_MAX_DS_KEY_LEN,
                                   what, err);
        if (e)
            break;
        node_ds_value_t v;
        e = VT(m)->get_datastore(NODE(m), &a, key, klen, &v);
        free(key);
        if (e) {
            node_failed(err, e, "datastore");
            break;
        }
        json_t *j = json_pack(
            "{s:o?,s:o?}", "final_value",
            v.has_final ? api_json_bytes(v.final_value.b, v.final_value.len) : NULL,
            "candidate_value",
            v.has_candidate ? api_json_bytes(v.candidate_value.b, v.candidate_value.len) : NULL);
        node_ds_value_free(&v);
        if (json_array_append_new(out, j) != 0)
            e = WEFT_E_NOMEM;
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

static weft_err m_get_addresses_bytecode(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    json_t *out = json_array();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        json_t *item = json_array_get(list, i);
        char what[64];
        address_t a;
        bool final = false;
        if (!json_is_object(item)) {
            e = api_invalid_params(err, "params[0][%zu]: expected {address, is_final}", i);
            break;
        }
        snprintf(what, sizeof what, "params[0][%zu].address", i);
        e = api_json_get_address(&a, json_object_get(item, "address"), what, err);
        snprintf(what, sizeof what, "params[0][%zu].is_final", i);
        if (!e)
            e = api_json_get_bool(&final, json_object_get(item, "is_final"), what, err);
        if (e)
            break;
        node_bytes_t code = {0};
        e = VT(m)->get_bytecode(NODE(m), &a, final, &code);
        if (e == WEFT_E_NOT_FOUND) { /* no bytecode: an empty one, as Massa answers */
            e = WEFT_OK;
        } else if (e) {
            node_failed(err, e, "bytecode");
            break;
        }
        if (json_array_append_new(out, api_json_bytes(code.b, code.len)) != 0)
            e = WEFT_E_NOMEM;
        free(code.b);
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

/* ---- operations ------------------------------------------------------------------------------ */

static weft_err m_send_operations(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    uint64_t behind = NET(m) && NET(m)->ops_behind_ms ? NET(m)->ops_behind_ms(NET(m)->ctx) : 0;
    if (behind > API_OPS_BEHIND_MAX_MS) { /* before any decoding or signature check */
        api_metric_inc(m->ops_refused, n ? n : 1);
        return api_error_node(err, WEFT_E_BUSY,
                              "the node's checks are %llu ms behind its peers' operations (more "
                              "than %d): send again in a moment",
                              (unsigned long long)behind, API_OPS_BEHIND_MAX_MS);
    }
    const model_params *p = VT(m)->params(NODE(m));
    slot_t now;
    uint64_t period = VT(m)->current_slot(NODE(m), &now) == WEFT_OK ? now.period : 0;
    signed_op_t **ops = calloc(n ? n : 1, sizeof(signed_op_t *));
    weft_err *results = calloc(n ? n : 1, sizeof *results);
    op_id_t *ids = calloc(n ? n : 1, sizeof *ids);
    weft_err e = ops && results && ids ? WEFT_OK : WEFT_E_NOMEM;
    for (size_t i = 0; i < n && !e; i++) {
        json_t *item = json_array_get(list, i);
        char what[80];
        if (!json_is_object(item)) {
            e = api_invalid_params(err,
                                   "params[0][%zu]: expected {serialized_content, "
                                   "creator_public_key, signature}",
                                   i);
            break;
        }
        pubkey_t pk;
        signature_t sig;
        uint8_t *content = NULL;
        size_t len = 0;
        snprintf(what, sizeof what, "params[0][%zu].creator_public_key", i);
        e = get_creator(m, &pk, json_object_get(item, "creator_public_key"), what, err);
        snprintf(what, sizeof what, "params[0][%zu].signature", i);
        if (!e)
            e = api_json_get_signature(&sig, json_object_get(item, "signature"), what, err);
        snprintf(what, sizeof what, "params[0][%zu].serialized_content", i);
        if (!e)
            e = api_json_get_bytes(&content, &len, json_object_get(item, "serialized_content"),
                                   p->max_block_size, what, err);
        if (e)
            break;
        ops[i] = calloc(1, sizeof *ops[i]);
        if (!ops[i]) {
            free(content);
            e = WEFT_E_NOMEM;
            break;
        }
        weft_err d = signed_op_from_parts(ops[i], p->chain_id, &pk, &sig, content, len);
        free(content);
        if (d) {
            free(ops[i]);
            ops[i] = NULL;
            e = api_invalid_params(err, "%s: not an operation (%s: %s)", what, weft_err_name(d),
                                   weft_strerror(d));
            break;
        }
        const operation_t *op = &ops[i]->op;
        uint64_t gas = op->type == OP_EXECUTE_SC ? op->u.execute_sc.max_gas
                       : op->type == OP_CALL_SC  ? op->u.call_sc.max_gas
                                                 : 0;
        char fee[AMOUNT_STR_MAX], min[AMOUNT_STR_MAX];
        amount_format(fee, op->fee);
        amount_format(min, m->cfg.minimal_fee);
        if (gas > EXEC_DEFAULT_MAX_BLOCK_GAS)
            e = api_error_node(err, WEFT_E_NODE_OP_REJECTED,
                               "operation %zu: max_gas %llu above the block gas limit %llu", i,
                               (unsigned long long)gas, EXEC_DEFAULT_MAX_BLOCK_GAS);
        else if (op->fee.nano < m->cfg.minimal_fee.nano)
            e = api_error_node(err, WEFT_E_NODE_OP_REJECTED,
                               "operation %zu: fee %s below the minimal fee %s", i, fee, min);
        else if (op->expire_period < period)
            e = api_error_node(err, WEFT_E_POOL_EXPIRED,
                               "operation %zu: expire period %llu is before the current period "
                               "%llu",
                               i, (unsigned long long)op->expire_period,
                               (unsigned long long)period);
        else if (op->expire_period - period > p->operation_validity_periods)
            e = api_error_node(err, WEFT_E_POOL_TOO_EARLY,
                               "operation %zu: expire period %llu is more than %llu periods after "
                               "the current period %llu",
                               i, (unsigned long long)op->expire_period,
                               (unsigned long long)p->operation_validity_periods,
                               (unsigned long long)period);
        else if ((d = VT(m)->verify_operation ? VT(m)->verify_operation(NODE(m), ops[i])
                                              : signed_op_verify(ops[i])) != WEFT_OK)
            e = api_error_node(err, d, "operation %zu", i);
        ids[i] = ops[i]->id;
    }
    if (!e) {
        /* ownership of every operation passes to the node */
        e = VT(m)->send_operations(NODE(m), ops, n, results);
        for (size_t i = 0; i < n; i++)
            ops[i] = NULL;
        if (e) {
            node_failed(err, e, "send_operations");
        } else {
            for (size_t i = 0; i < n && !e; i++) {
                if (results[i]) {
                    char id[MODEL_STR_MAX];
                    op_id_to_str(id, &ids[i]);
                    e = api_error_node(err, results[i], "operation %zu (%s) refused", i, id);
                    if (err->data)
                        json_object_set_new(err->data, "index", json_integer((json_int_t)i));
                }
            }
        }
    }
    if (e == WEFT_OK) {
        api_metric_inc(m->ops_admitted, n);
    } else if (e != WEFT_E_NOMEM && results) {
        size_t refused = 0;
        for (size_t i = 0; i < n; i++)
            refused += results[i] != WEFT_OK;
        api_metric_inc(m->ops_refused, refused ? refused : 1);
        api_metric_inc(m->ops_admitted, refused ? n - refused : 0); /* the pool took the rest */
    }
    json_t *out = e ? NULL : json_array();
    for (size_t i = 0; out && i < n; i++)
        if (json_array_append_new(out, api_json_op_id(&ids[i])) != 0) {
            json_decref(out);
            out = NULL;
        }
    for (size_t i = 0; ops && i < n; i++)
        if (ops[i]) {
            signed_op_free(ops[i]);
            free(ops[i]);
        }
    free(ops);
    free(results);
    free(ids);
    if (!e && !out)
        e = WEFT_E_NOMEM;
    if (e)
        return e;
    *result = out;
    return WEFT_OK;
}

/* Massa's OperationInfo.  op_exec_status and is_operation_final are explicit nulls until the
 * operation is executed; executed means out of the pool (massa-web3's status table). */
static json_t *op_info_json(const node_op_info_t *i, const op_id_t *id, uint32_t thread_count)
{
    bool executed = i->spec_executed || i->final_executed;
    json_t *status = NULL, *final = NULL;
    if (i->final_executed) {
        status = json_boolean(i->final_success);
        final = json_true();
    } else if (i->spec_executed) {
        status = json_boolean(i->spec_success);
        final = json_false();
    }
    int thread = 0;
    if (i->has_op) {
        address_t creator;
        address_of_pubkey(&creator, &i->op.creator);
        thread = address_thread(&creator, thread_count);
    }
    return json_pack("{s:o,s:b,s:o,s:o?,s:i,s:o?,s:o?}", "id", api_json_op_id(id), "in_pool",
                     i->in_pool && !executed, "in_blocks",
                     block_ids_json(i->in_blocks, i->in_block_count), "is_operation_final", final,
                     "thread", thread, "operation", i->has_op ? signed_op_json(&i->op) : NULL,
                     "op_exec_status", status);
}

static weft_err m_get_operations(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    uint32_t t = VT(m)->params(NODE(m))->thread_count;
    json_t *out = json_array();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        op_id_t id;
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        if ((e = api_json_get_op_id(&id, json_array_get(list, i), what, err)) != WEFT_OK)
            break;
        node_op_info_t info;
        e = VT(m)->get_operation(NODE(m), &id, &info);
        if (e) {
            node_failed(err, e, "operation");
            break;
        }
        if (info.found && json_array_append_new(out, op_info_json(&info, &id, t)) != 0)
            e = WEFT_E_NOMEM;
        node_op_info_free(&info);
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

/* ---- blocks, graph, cliques, stakers, endorsements ------------------------------------------- */

static weft_err m_get_blocks(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    json_t *out = json_array();
    node_block_info_t *b = malloc(sizeof *b);
    weft_err e = out && b ? WEFT_OK : WEFT_E_NOMEM;
    for (size_t i = 0; i < n && !e; i++) {
        block_id_t id;
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        if ((e = api_json_get_block_id(&id, json_array_get(list, i), what, err)) != WEFT_OK)
            break;
        e = VT(m)->get_block(NODE(m), &id, b);
        if (e == WEFT_E_NOT_FOUND) {
            e = WEFT_OK;
            continue;
        }
        if (e) {
            node_failed(err, e, "block");
            break;
        }
        if (b->has_body) {
            bool final = b->status == NODE_BLOCK_FINAL;
            bool discarded = b->status == NODE_BLOCK_STALE || b->status == NODE_BLOCK_INVALID;
            json_t *j = json_pack(
                "{s:o,s:{s:b,s:b,s:b,s:b,s:o}}", "id", api_json_block_id(&id), "content",
                "is_final", final, "is_in_blockclique", b->in_blockclique, "is_candidate",
                b->status == NODE_BLOCK_PENDING, "is_discarded", discarded, "block", block_json(b));
            if (json_array_append_new(out, j) != 0)
                e = WEFT_E_NOMEM;
        }
        node_block_info_free(b);
    }
    free(b);
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

static weft_err m_get_blockclique_block_by_slot(void *ctx, json_t *params, json_t **result,
                                                api_error *err)
{
    api_massa_t *m = ctx;
    json_t *x;
    slot_t slot;
    if (api_params_one(&x, params, err) != WEFT_OK ||
        api_json_get_slot(&slot, x, VT(m)->params(NODE(m))->thread_count, "params[0]", err) !=
            WEFT_OK)
        return WEFT_E_RPC;
    block_id_t id;
    weft_err e = VT(m)->blockclique_block_at(NODE(m), slot, &id);
    if (e == WEFT_E_NOT_FOUND) {
        *result = NULL; /* null: no block there */
        return WEFT_OK;
    }
    if (e)
        return node_failed(err, e, "blockclique block");
    node_block_info_t *b = malloc(sizeof *b);
    if (!b)
        return WEFT_E_NOMEM;
    e = VT(m)->get_block(NODE(m), &id, b);
    if (e == WEFT_E_NOT_FOUND) {
        free(b);
        *result = NULL;
        return WEFT_OK;
    }
    if (e) {
        free(b);
        return node_failed(err, e, "block");
    }
    *result = b->has_body ? block_json(b) : NULL;
    bool failed = b->has_body && !*result;
    node_block_info_free(b);
    free(b);
    return failed ? WEFT_E_NOMEM : WEFT_OK;
}

static weft_err m_get_graph_interval(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *x, *v;
    uint64_t start = 0, end = UINT64_MAX;
    if (api_params_one(&x, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    if (!json_is_object(x))
        return api_invalid_params(err, "params[0]: expected {start, end} (ms, each optional)");
    if ((v = opt_member(x, "start")) &&
        api_json_get_uint(&start, v, INT64_MAX, "params[0].start", err) != WEFT_OK)
        return WEFT_E_RPC;
    if ((v = opt_member(x, "end")) &&
        api_json_get_uint(&end, v, INT64_MAX, "params[0].end", err) != WEFT_OK)
        return WEFT_E_RPC;
    node_graph_item_t *items = NULL;
    size_t n = 0;
    weft_err e = VT(m)->graph_interval(NODE(m), start, end, &items, &n);
    if (e)
        return node_failed(err, e, "graph interval");
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++) {
        const node_graph_item_t *it = &items[i];
        json_t *j =
            json_pack("{s:o,s:b,s:b,s:b,s:o,s:o,s:o}", "id", api_json_block_id(&it->id), "is_final",
                      it->status == NODE_BLOCK_FINAL, "is_stale", it->status == NODE_BLOCK_STALE,
                      "is_in_blockclique", it->in_blockclique, "slot", api_json_slot(it->slot),
                      "creator", api_json_address(&it->creator), "parents",
                      block_ids_json(it->parents, it->parent_count));
        if (json_array_append_new(out, j) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    free(items);
    if (!out)
        return WEFT_E_NOMEM;
    *result = out;
    return WEFT_OK;
}

static weft_err m_get_cliques(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    node_clique_t *c = NULL;
    size_t n = 0;
    weft_err e = VT(m)->get_cliques(NODE(m), &c, &n);
    if (e)
        return node_failed(err, e, "cliques");
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++) {
        json_t *j =
            json_pack("{s:o,s:o,s:b}", "block_ids", block_ids_json(c[i].ids, c[i].count), "fitness",
                      api_json_u64(c[i].fitness), "is_blockclique", c[i].is_blockclique);
        if (json_array_append_new(out, j) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    node_cliques_free(c, n);
    if (!out)
        return WEFT_E_NOMEM;
    *result = out;
    return WEFT_OK;
}

static int staker_cmp(const void *a, const void *b)
{
    const pos_stake_t *x = a, *y = b;
    if (x->rolls != y->rolls)
        return x->rolls > y->rolls ? -1 : 1;
    if (x->addr.kind != y->addr.kind)
        return x->addr.kind < y->addr.kind ? -1 : 1;
    return hash32_cmp(&x->addr.hash, &y->addr.hash);
}

/* get_stakers: params absent, [] or [null] for all; [{limit, offset}] for a page.  Result: pairs
 * [address, rolls], most rolls first. */
static weft_err m_get_stakers(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    uint64_t limit = UINT64_MAX, offset = 0;
    json_t *page = NULL;
    if (json_is_array(params) && json_array_size(params) == 1)
        page = json_array_get(params, 0);
    else if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    if (page && !json_is_null(page)) {
        if (!json_is_object(page))
            return api_invalid_params(err, "params[0]: expected {limit, offset} or null");
        if (api_json_get_uint(&limit, json_object_get(page, "limit"), UINT32_MAX, "params[0].limit",
                              err) != WEFT_OK ||
            api_json_get_uint(&offset, json_object_get(page, "offset"), UINT32_MAX,
                              "params[0].offset", err) != WEFT_OK)
            return WEFT_E_RPC;
    }
    pos_stake_t *s = NULL;
    size_t n = 0;
    weft_err e = VT(m)->get_stakers(NODE(m), &s, &n);
    if (e)
        return node_failed(err, e, "stakers");
    if (n > 1)
        qsort(s, n, sizeof *s, staker_cmp);
    json_t *out = json_array();
    for (uint64_t i = offset; out && i < n && i - offset < limit; i++)
        if (json_array_append_new(out, json_pack("[o,o]", api_json_address(&s[i].addr),
                                                 api_json_u64(s[i].rolls))) != 0) {
            json_decref(out);
            out = NULL;
        }
    free(s);
    if (!out)
        return WEFT_E_NOMEM;
    *result = out;
    return WEFT_OK;
}

static weft_err m_get_endorsements(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    json_t *out = json_array();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        endorsement_id_t id;
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        if ((e = api_json_get_endorsement_id(&id, json_array_get(list, i), what, err)) != WEFT_OK)
            break;
        node_endorsement_info_t info;
        e = VT(m)->get_endorsement(NODE(m), &id, &info);
        if (e == WEFT_E_NOT_FOUND) {
            e = WEFT_OK;
            continue;
        }
        if (e) {
            node_failed(err, e, "endorsement");
            break;
        }
        json_t *j = json_pack("{s:o,s:b,s:o,s:b,s:o}", "id", api_json_endorsement_id(&id),
                              "in_pool", info.in_pool, "in_blocks",
                              block_ids_json(info.in_blocks, info.in_block_count), "is_final",
                              info.is_final, "endorsement", endorsement_json(&info.e));
        node_endorsement_info_free(&info);
        if (json_array_append_new(out, j) != 0)
            e = WEFT_E_NOMEM;
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

/* ---- events ---------------------------------------------------------------------------------- */

/* An optional boolean filter: absent or null is -1. */
static weft_err tri_member(int *out, const json_t *obj, const char *key, const char *what,
                           api_error *err)
{
    *out = -1;
    json_t *v = opt_member(obj, key);
    bool b;
    if (!v)
        return WEFT_OK;
    if (api_json_get_bool(&b, v, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    *out = b ? 1 : 0;
    return WEFT_OK;
}

static weft_err m_get_filtered_sc_output_event(void *ctx, json_t *params, json_t **result,
                                               api_error *err)
{
    api_massa_t *m = ctx;
    json_t *x, *v;
    if (api_params_one(&x, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    if (!json_is_object(x))
        return api_invalid_params(err, "params[0]: expected an event filter object");
    uint32_t t = VT(m)->params(NODE(m))->thread_count;
    node_event_filter f = {0};
    weft_err e = WEFT_OK;
    if (!e && (v = opt_member(x, "start"))) {
        f.has_start = true;
        e = api_json_get_slot(&f.start, v, t, "params[0].start", err);
    }
    if (!e && (v = opt_member(x, "end"))) {
        f.has_end = true;
        e = api_json_get_slot(&f.end, v, t, "params[0].end", err);
    }
    if (!e && (v = opt_member(x, "emitter_address"))) {
        f.has_emitter = true;
        e = api_json_get_address(&f.emitter, v, "params[0].emitter_address", err);
    }
    if (!e && (v = opt_member(x, "original_caller_address"))) {
        f.has_caller = true;
        e = api_json_get_address(&f.caller, v, "params[0].original_caller_address", err);
    }
    if (!e && (v = opt_member(x, "original_operation_id"))) {
        f.has_op = true;
        e = api_json_get_op_id(&f.op, v, "params[0].original_operation_id", err);
    }
    if (!e)
        e = tri_member(&f.is_final, x, "is_final", "params[0].is_final", err);
    if (!e)
        e = tri_member(&f.is_error, x, "is_error", "params[0].is_error", err);
    if (e)
        return e;
    node_event_t *ev = NULL;
    size_t n = 0;
    e = VT(m)->get_events(NODE(m), &f, &ev, &n);
    if (e)
        return node_failed(err, e, "events");
    *result = events_json(ev, n, false);
    node_events_free(ev, n);
    return *result ? WEFT_OK : WEFT_E_NOMEM;
}

/* ---- read-only execution --------------------------------------------------------------------- */

static json_t *read_only_json(const node_read_only_result_t *r)
{
    json_t *res = r->ok ? json_pack("{s:o}", "Ok", api_json_bytes(r->result.b, r->result.len))
                        : json_pack("{s:o}", "Error", api_json_text(r->error, strlen(r->error)));
    return json_pack("{s:o,s:o,s:o,s:o,s:{s:{},s:[],s:{},s:{},s:{},s:s}}", "executed_at",
                     api_json_slot(r->executed_at), "result", res, "output_events",
                     events_json(r->events, r->event_count, true), "gas_cost",
                     api_json_u64(r->gas_cost), "state_changes", "ledger_changes",
                     "async_pool_changes", "pos_changes", "executed_ops_changes",
                     "executed_denunciations_changes", "execution_trail_hash_change", "Keep");
}

/* Parses one read-only request into in; owned buffers in bufs[0..3) (free them). */
static weft_err read_only_input(node_read_only_t *in, uint8_t *bufs[3], const json_t *item,
                                size_t i, bool bytecode, api_error *err)
{
    memset(in, 0, sizeof *in);
    char what[64];
    json_t *v;
    if (!json_is_object(item))
        return api_invalid_params(err, "params[0][%zu]: expected an object", i);
    in->is_bytecode = bytecode;
    snprintf(what, sizeof what, "params[0][%zu].max_gas", i);
    if (api_json_get_uint(&in->max_gas, json_object_get(item, "max_gas"),
                          EXEC_DEFAULT_MAX_BLOCK_GAS, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    const char *caller_key = bytecode ? "address" : "caller_address";
    if ((v = opt_member(item, caller_key))) {
        snprintf(what, sizeof what, "params[0][%zu].%s", i, caller_key);
        in->has_caller = true;
        if (api_json_get_address(&in->caller, v, what, err) != WEFT_OK)
            return WEFT_E_RPC;
    }
    if ((v = opt_member(item, "fee"))) {
        snprintf(what, sizeof what, "params[0][%zu].fee", i);
        if (api_json_get_amount(&in->fee, v, what, err) != WEFT_OK)
            return WEFT_E_RPC;
    }
    size_t len;
    if (bytecode) {
        snprintf(what, sizeof what, "params[0][%zu].bytecode", i);
        if (api_json_get_bytes(&bufs[0], &len, json_object_get(item, "bytecode"),
                               OP_MAX_BYTECODE_LEN, what, err) != WEFT_OK)
            return WEFT_E_RPC;
        in->bytecode = bufs[0];
        in->bytecode_len = len;
        if ((v = opt_member(item, "operation_datastore"))) {
            snprintf(what, sizeof what, "params[0][%zu].operation_datastore", i);
            if (api_json_get_bytes(&bufs[1], &len, v, OP_MAX_BYTECODE_LEN, what, err) != WEFT_OK)
                return WEFT_E_RPC;
            in->op_datastore = bufs[1];
            in->op_datastore_len = len;
        }
        return WEFT_OK;
    }
    snprintf(what, sizeof what, "params[0][%zu].target_address", i);
    if (api_json_get_address(&in->target, json_object_get(item, "target_address"), what, err) !=
        WEFT_OK)
        return WEFT_E_RPC;
    snprintf(what, sizeof what, "params[0][%zu].target_function", i);
    if (api_json_get_string(&in->function, NULL, json_object_get(item, "target_function"),
                            OP_MAX_FUNC_NAME_LEN, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    snprintf(what, sizeof what, "params[0][%zu].parameter", i);
    if (api_json_get_bytes(&bufs[2], &len, json_object_get(item, "parameter"), OP_MAX_PARAM_LEN,
                           what, err) != WEFT_OK)
        return WEFT_E_RPC;
    in->param = bufs[2];
    in->param_len = len;
    if ((v = opt_member(item, "coins"))) {
        snprintf(what, sizeof what, "params[0][%zu].coins", i);
        if (api_json_get_amount(&in->coins, v, what, err) != WEFT_OK)
            return WEFT_E_RPC;
    }
    return WEFT_OK;
}

static weft_err read_only(api_massa_t *m, json_t *params, json_t **result, api_error *err,
                          bool bytecode)
{
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    json_t *out = json_array();
    if (!out)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        node_read_only_t in;
        uint8_t *bufs[3] = {NULL, NULL, NULL};
        e = read_only_input(&in, bufs, json_array_get(list, i), i, bytecode, err);
        if (!e) {
            node_read_only_result_t r;
            e = VT(m)->read_only(NODE(m), &in, &r);
            if (e == WEFT_E_EXEC_NO_VM)
                api_error_set(err, API_ERR_UNAVAILABLE,
                              "smart contracts cannot run on this node yet (no contract VM)");
            else if (e)
                node_failed(err, e, "read-only execution");
            else {
                if (json_array_append_new(out, read_only_json(&r)) != 0)
                    e = WEFT_E_NOMEM;
                node_read_only_result_free(&r);
            }
        }
        for (size_t k = 0; k < 3; k++)
            free(bufs[k]);
    }
    if (e) {
        json_decref(out);
        return e;
    }
    *result = out;
    return WEFT_OK;
}

static weft_err m_execute_read_only_call(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return read_only(ctx, params, result, err, false);
}

static weft_err m_execute_read_only_bytecode(void *ctx, json_t *params, json_t **result,
                                             api_error *err)
{
    return read_only(ctx, params, result, err, true);
}

/* ---- private methods ------------------------------------------------------------------------- */

static weft_err m_stop_node(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    VT(m)->request_stop(NODE(m));
    *result = NULL;
    return WEFT_OK;
}

#define SIGN_MESSAGE_MAX ((size_t)1024 * 1024)

static weft_err m_node_sign_message(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    json_t *x;
    uint8_t *msg;
    size_t len;
    if (api_params_one(&x, params, err) != WEFT_OK ||
        api_json_get_bytes(&msg, &len, x, SIGN_MESSAGE_MAX, "params[0]", err) != WEFT_OK)
        return WEFT_E_RPC;
    pubkey_t pk;
    signature_t sig;
    VT(m)->sign_message(NODE(m), msg, len, &pk, &sig);
    free(msg);
    *result = json_pack("{s:o,s:o}", "public_key", api_json_pubkey(&pk), "signature",
                        api_json_signature(&sig));
    return *result ? WEFT_OK : WEFT_E_NOMEM;
}

static weft_err m_add_staking_secret_keys(void *ctx, json_t *params, json_t **result,
                                          api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    keypair_t *keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        const char *s;
        weft_err d;
        if (api_json_get_string(&s, NULL, json_array_get(list, i), MODEL_STR_MAX, "params[0][i]",
                                err) != WEFT_OK)
            e = api_invalid_params(err, "params[0][%zu]: expected a secret key \"S…\"", i);
        else if ((d = secret_key_parse(&keys[i], s)) != WEFT_OK) /* the key is never echoed */
            e = api_invalid_params(err, "params[0][%zu]: not a secret key (%s)", i,
                                   weft_err_name(d));
    }
    if (!e) {
        e = VT(m)->staking_add(NODE(m), keys, n);
        if (e)
            node_failed(err, e, "staking keys");
    }
    for (size_t i = 0; i < n; i++)
        keypair_wipe(&keys[i]);
    free(keys);
    if (e)
        return e;
    *result = NULL;
    return WEFT_OK;
}

static weft_err m_remove_staking_addresses(void *ctx, json_t *params, json_t **result,
                                           api_error *err)
{
    api_massa_t *m = ctx;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    address_t *a = malloc((n ? n : 1) * sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        e = api_json_get_address(&a[i], json_array_get(list, i), what, err);
    }
    if (!e && (e = VT(m)->staking_remove(NODE(m), a, n)) != WEFT_OK)
        node_failed(err, e, "staking addresses");
    free(a);
    if (e)
        return e;
    *result = NULL;
    return WEFT_OK;
}

static weft_err m_get_staking_addresses(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    address_t *a = NULL;
    size_t n = 0;
    weft_err e = VT(m)->staking_list(NODE(m), &a, &n);
    if (e)
        return node_failed(err, e, "staking addresses");
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++)
        if (json_array_append_new(out, api_json_address(&a[i])) != 0) {
            json_decref(out);
            out = NULL;
        }
    free(a);
    if (!out)
        return WEFT_E_NOMEM;
    *result = out;
    return WEFT_OK;
}

/* Peer bans and the peers whitelist (Massa's shapes): params [[node ids "N…"]] or [[IP
 * addresses]], result null; node_peers_whitelist takes none and answers the whitelisted IPs.  Every
 * parameter is checked before anything is done (a bad one is -32602 and nothing changes); IPs are
 * passed on in their canonical text form (inet_ntop).  Unbanning a peer that is not banned, or
 * removing an IP that is not whitelisted, succeeds (as Massa).  Without a network: -32002. */
typedef enum peer_cmd {
    PEER_BAN_ID,
    PEER_BAN_IP,
    PEER_UNBAN_ID,
    PEER_UNBAN_IP,
    PEER_WHITELIST_ADD,
    PEER_WHITELIST_REMOVE,
} peer_cmd;

static weft_err net_unavailable(api_error *err)
{
    return api_error_set(err, API_ERR_UNAVAILABLE,
                         "peer management is not available: this node runs without a network");
}

/* An IP address (v4 or v6) in canonical text form. */
static weft_err parse_ip(char out[NET_ADDR_MAX], const json_t *v, const char *what, api_error *err)
{
    const char *s;
    if (api_json_get_string(&s, NULL, v, NET_ADDR_MAX - 1, what, err) != WEFT_OK)
        return WEFT_E_RPC;
    uint8_t buf[16];
    int af = inet_pton(AF_INET, s, buf) == 1    ? AF_INET
             : inet_pton(AF_INET6, s, buf) == 1 ? AF_INET6
                                                : 0;
    if (!af || !inet_ntop(af, buf, out, NET_ADDR_MAX))
        return api_invalid_params(err, "%s: not an IP address", what);
    return WEFT_OK;
}

static weft_err peer_command(api_massa_t *m, json_t *params, json_t **result, api_error *err,
                             peer_cmd cmd)
{
    bool by_id = cmd == PEER_BAN_ID || cmd == PEER_UNBAN_ID;
    json_t *list;
    size_t n;
    if (list_param(&list, &n, params, err) != WEFT_OK)
        return WEFT_E_RPC;
    pubkey_t *ids = by_id ? calloc(n ? n : 1, sizeof *ids) : NULL;
    char(*ips)[NET_ADDR_MAX] = by_id ? NULL : calloc(n ? n : 1, sizeof *ips);
    if (!ids && !ips)
        return WEFT_E_NOMEM;
    weft_err e = WEFT_OK;
    for (size_t i = 0; i < n && !e; i++) {
        char what[48];
        snprintf(what, sizeof what, "params[0][%zu]", i);
        if (!by_id) {
            e = parse_ip(ips[i], json_array_get(list, i), what, err);
            continue;
        }
        const char *s;
        if ((e = api_json_get_string(&s, NULL, json_array_get(list, i), MODEL_STR_MAX - 1, what,
                                     err)) != WEFT_OK)
            break;
        weft_err d = node_id_parse(&ids[i], s);
        if (d)
            e = api_invalid_params(err, "%s: not a node id (%s)", what, weft_err_name(d));
    }
    const api_net_vt *net = NET(m);
    if (!e && !net)
        e = net_unavailable(err);
    for (size_t i = 0; i < n && !e; i++) {
        weft_err d = WEFT_E_UNSUPPORTED;
        const char *what = "ban";
        switch (cmd) {
        case PEER_BAN_ID:
            d = net->ban_id ? net->ban_id(net->ctx, &ids[i]) : d;
            break;
        case PEER_UNBAN_ID:
            what = "unban";
            d = net->unban_id ? net->unban_id(net->ctx, &ids[i]) : d;
            break;
        case PEER_BAN_IP:
            d = net->ban_ip ? net->ban_ip(net->ctx, ips[i]) : d;
            break;
        case PEER_UNBAN_IP:
            what = "unban";
            d = net->unban_ip ? net->unban_ip(net->ctx, ips[i]) : d;
            break;
        case PEER_WHITELIST_ADD:
            what = "whitelist";
            d = net->whitelist_add ? net->whitelist_add(net->ctx, ips[i]) : d;
            break;
        case PEER_WHITELIST_REMOVE:
            what = "whitelist";
            d = net->whitelist_remove ? net->whitelist_remove(net->ctx, ips[i]) : d;
            break;
        }
        bool removal = cmd == PEER_UNBAN_ID || cmd == PEER_UNBAN_IP || cmd == PEER_WHITELIST_REMOVE;
        if (d == WEFT_E_NOT_FOUND && removal)
            d = WEFT_OK;
        if (d == WEFT_E_NOMEM)
            e = d;
        else if (d)
            e = api_error_node(err, d, "%s %s", what, by_id ? "node id" : ips[i]);
    }
    free(ids);
    free(ips);
    if (e)
        return e;
    *result = NULL;
    return WEFT_OK;
}

static weft_err m_ban_by_id(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_BAN_ID);
}
static weft_err m_ban_by_ip(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_BAN_IP);
}
static weft_err m_unban_by_id(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_UNBAN_ID);
}
static weft_err m_unban_by_ip(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_UNBAN_IP);
}
static weft_err m_whitelist_add(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_WHITELIST_ADD);
}
static weft_err m_whitelist_remove(void *ctx, json_t *params, json_t **result, api_error *err)
{
    return peer_command(ctx, params, result, err, PEER_WHITELIST_REMOVE);
}

static weft_err m_peers_whitelist(void *ctx, json_t *params, json_t **result, api_error *err)
{
    api_massa_t *m = ctx;
    if (api_params_none(params, err) != WEFT_OK)
        return WEFT_E_RPC;
    const api_net_vt *net = NET(m);
    if (!net || !net->whitelist)
        return net_unavailable(err);
    char(*ips)[NET_ADDR_MAX] = NULL;
    size_t n = 0;
    weft_err e = net->whitelist(net->ctx, &ips, &n);
    if (e)
        return e == WEFT_E_NOMEM ? e : api_error_node(err, e, "peers whitelist");
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++) {
        ips[i][NET_ADDR_MAX - 1] = '\0';
        if (json_array_append_new(out, api_json_text(ips[i], strlen(ips[i]))) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    free(ips);
    if (!out)
        return WEFT_E_NOMEM;
    *result = out;
    return WEFT_OK;
}

/* ---- metrics ------------------------------------------------------------------------------- */

/* Resident set size in bytes, from /proc/self/statm; 0 where unavailable. */
static double rss_bytes(void)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *end;
    errno = 0;
    strtoull(buf, &end, 10); /* total size, then the resident pages */
    unsigned long long resident = strtoull(end, &end, 10);
    long page = sysconf(_SC_PAGESIZE);
    return errno == 0 && page > 0 ? (double)resident * (double)page : 0;
}

static void gauge(wr_t *out, const char *name, const char *help, double v)
{
    api_metrics_text_family(out, name, API_METRIC_GAUGE, help);
    api_metrics_text_sample(out, name, NULL, NULL, 0, v);
}

static void counter(wr_t *out, const char *name, const char *help, double v)
{
    api_metrics_text_family(out, name, API_METRIC_COUNTER, help);
    api_metrics_text_sample(out, name, NULL, NULL, 0, v);
}

/* The final state transfer's counters (docs/api.md "Metrics"). */
static void state_metrics(wr_t *out, const net_stats *ns)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"weft_state_parts_fetched_total", "final state parts received",
         offsetof(net_stats, state_parts_in)},
        {"weft_state_records_fetched_total", "final state records received",
         offsetof(net_stats, state_records_in)},
        {"weft_state_bytes_fetched_total", "final state record bytes received",
         offsetof(net_stats, state_bytes_in)},
        {"weft_state_parts_served_total", "final state parts sent to peers",
         offsetof(net_stats, state_parts_out)},
        {"weft_state_records_served_total", "final state records sent to peers",
         offsetof(net_stats, state_records_out)},
        {"weft_state_bytes_served_total", "final state record bytes sent to peers",
         offsetof(net_stats, state_bytes_out)},
        {"weft_state_transfers_completed_total", "final state transfers completed",
         offsetof(net_stats, state_transfers)},
        {"weft_state_transfers_failed_total", "final state transfers given up (every peer failed)",
         offsetof(net_stats, state_failures)},
        {"weft_state_transfers_restarted_total",
         "final state transfers started over or moved to another peer",
         offsetof(net_stats, state_restarts)},
        {"weft_state_checks_confirmed_total",
         "peers' fingerprints that confirmed a final state being fetched",
         offsetof(net_stats, state_confirmed)},
        {"weft_state_checks_contradicted_total",
         "peers' fingerprints that contradicted a final state being fetched",
         offsetof(net_stats, state_contradicted)},
        {"weft_state_transfers_disputed_total",
         "final states dropped: more peers contradicted than confirmed, or too few confirmed",
         offsetof(net_stats, state_disputed)},
        {"weft_state_checks_answered_total",
         "peers' fingerprint checks answered with this node's fingerprint",
         offsetof(net_stats, state_checks_answered)},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(counters); i++) {
        uint64_t v;
        memcpy(&v, (const uint8_t *)ns + counters[i].off, sizeof v);
        counter(out, counters[i].name, counters[i].help, (double)v);
    }
    gauge(out, "weft_state_transfer_active", "1 while a final state transfer is under way",
          ns->state_fetching ? 1 : 0);
    gauge(out, "weft_state_transfer_records", "records received by the transfer under way",
          (double)ns->state_cur_records);
    gauge(out, "weft_state_transfer_bytes", "record bytes received by the transfer under way",
          (double)ns->state_cur_bytes);
    gauge(out, "weft_state_transfer_roots", "root blocks received by the transfer under way",
          (double)ns->state_cur_roots);
    gauge(out, "weft_state_transfer_roots_expected", "root blocks the transfer under way needs",
          (double)ns->state_cur_roots_total);
}

weft_err api_massa_metrics_text(void *ctx, wr_t *out)
{
    api_massa_t *m = ctx;
    node_status_t st;
    weft_err e = VT(m)->get_status(NODE(m), &st);
    if (e)
        return e;
    const model_params *p = VT(m)->params(NODE(m));
    gauge(out, "weft_current_period", "period of the current slot (the node's clock)",
          st.has_slot ? (double)st.last_slot.period : 0);
    gauge(out, "weft_current_thread", "thread of the current slot",
          st.has_slot ? (double)st.last_slot.thread : 0);
    gauge(out, "weft_current_cycle", "current cycle", (double)st.current_cycle);
    api_metrics_text_family(out, "weft_final_period", API_METRIC_GAUGE,
                            "latest final period per thread");
    for (uint32_t t = 0; t < p->thread_count && t < MODEL_MAX_THREADS; t++) {
        char th[8];
        snprintf(th, sizeof th, "%u", (unsigned)t);
        api_label l = {"thread", th};
        api_metrics_text_sample(out, "weft_final_period", NULL, &l, 1, (double)st.final_periods[t]);
    }
    gauge(out, "weft_final_cursor_period", "period of the last finalized (executed) slot",
          st.has_final_cursor ? (double)st.final_cursor.period : 0);
    gauge(out, "weft_active_cursor_period", "period of the last speculatively executed slot",
          st.has_active_cursor ? (double)st.active_cursor.period : 0);
    gauge(out, "weft_cliques", "maximal cliques of the block graph", (double)st.clique_count);
    counter(out, "weft_blocks_final_total", "blocks finalized since start",
            (double)st.final_block_count);
    counter(out, "weft_blocks_stale_total", "blocks found stale since start",
            (double)st.stale_block_count);
    gauge(out, "weft_blocks_pending", "blocks pending in the graph",
          (double)st.pending_block_count);
    gauge(out, "weft_pool_operations", "operations in the pool", (double)st.pool_ops);
    gauge(out, "weft_pool_endorsements", "endorsements in the pool", (double)st.pool_endorsements);
    net_stats ns;
    memset(&ns, 0, sizeof ns);
    if (NET(m) && NET(m)->stats && NET(m)->stats(NET(m)->ctx, &ns) != WEFT_OK)
        memset(&ns, 0, sizeof ns);
    gauge(out, "weft_peers", "peer connections (0 without a network)", (double)ns.peers);
    gauge(out, "weft_peers_ready", "peers past the handshake and hello", (double)ns.peers_ready);
    api_metrics_text_family(out, "weft_peer_connections", API_METRIC_GAUGE,
                            "peer connections by direction");
    api_label in = {"direction", "in"}, outl = {"direction", "out"};
    api_metrics_text_sample(out, "weft_peer_connections", NULL, &in, 1, (double)ns.peers_inbound);
    api_metrics_text_sample(out, "weft_peer_connections", NULL, &outl, 1,
                            (double)ns.peers_outbound);
    gauge(out, "weft_banned_peers", "peers and IPs banned now", (double)ns.bans_active);
    counter(out, "weft_bans_total", "bans since start", (double)ns.bans_total);
    counter(out, "weft_net_bytes_received_total", "bytes received from peers", (double)ns.bytes_in);
    counter(out, "weft_net_bytes_sent_total", "bytes sent to peers", (double)ns.bytes_out);
    counter(out, "weft_net_blocks_received_total", "blocks received from peers",
            (double)ns.blocks_in);
    counter(out, "weft_net_operations_received_total", "operations received from peers",
            (double)ns.ops_in);
    gauge(out, "weft_net_syncing", "1 while the node catches up with its peers",
          ns.syncing ? 1 : 0);
    WEFT_STATIC_ASSERT(API_OPS_BEHIND_MAX_MS == 200, "the help text below names the bound");
    gauge(out, "weft_net_operations_behind_seconds",
          "how long the oldest operation batch or announcement from a peer has waited for this "
          "node's checks (send_operations is refused above 0.2)",
          NET(m) && NET(m)->ops_behind_ms ? (double)NET(m)->ops_behind_ms(NET(m)->ctx) / 1000.0
                                          : 0);
    state_metrics(out, &ns);
    counter(out, "weft_operations_final_executed_total",
            "operations executed in final slots since start", (double)st.ops_final_executed);
    counter(out, "weft_blocks_produced_total", "blocks produced by this node since start",
            (double)st.blocks_produced);
    counter(out, "weft_endorsements_produced_total",
            "endorsements produced by this node since start", (double)st.endorsements_produced);
    counter(out, "weft_factory_slots_undrawn_total",
            "slots whose producer this node could not tell: the draws need the cycle two before "
            "final",
            (double)st.slots_undrawn);
    gauge(out, "weft_staking_addresses", "addresses this node stakes for",
          (double)st.staking_addresses);
    counter(out, "weft_operation_signatures_verified_total",
            "operation signatures verified since start", (double)st.op_sigs_verified);
    counter(out, "weft_operation_signature_cache_hits_total",
            "operation signature checks answered by the cache of those verified before (an "
            "operation's block finds it there)",
            (double)st.op_sig_cache_hits);
    if (VT(m)->latency_stats) {
        node_latency_t lat;
        VT(m)->latency_stats(NODE(m), &lat);
        api_metrics_text_histogram(out, "weft_execution_latency_seconds",
                                   "from a slot's start to the speculative execution of its block",
                                   node_latency_bounds_s, NODE_LATENCY_BUCKETS,
                                   lat.execution.counts, lat.execution.sum_s);
        api_metrics_text_histogram(out, "weft_finality_latency_seconds",
                                   "from a slot's start to the final execution of its block",
                                   node_latency_bounds_s, NODE_LATENCY_BUCKETS, lat.finality.counts,
                                   lat.finality.sum_s);
        counter(out, "weft_operations_executed_total",
                "operations executed speculatively (first execution of their block)",
                (double)lat.ops_executed);
    }
    if (VT(m)->actor_stats) {
        node_actor_stat as[16];
        size_t n = VT(m)->actor_stats(NODE(m), as, WEFT_ARRAY_LEN(as));
        api_metrics_text_family(out, "weft_actor_mailbox_depth", API_METRIC_GAUGE,
                                "messages waiting in each actor's mailbox");
        for (size_t i = 0; i < n; i++) {
            api_label l = {"actor", as[i].name ? as[i].name : "?"};
            api_metrics_text_sample(out, "weft_actor_mailbox_depth", NULL, &l, 1,
                                    (double)as[i].mailbox_depth);
        }
        api_metrics_text_family(out, "weft_actor_restarts_total", API_METRIC_COUNTER,
                                "restarts of each actor after a failure");
        for (size_t i = 0; i < n; i++) {
            api_label l = {"actor", as[i].name ? as[i].name : "?"};
            api_metrics_text_sample(out, "weft_actor_restarts_total", NULL, &l, 1,
                                    (double)as[i].restarts);
        }
    }
    gauge(out, "weft_process_resident_memory_bytes", "resident memory of the node process",
          rss_bytes());
    if (m->cfg.metrics)
        api_metrics_write(m->cfg.metrics, out);
    return wr_err(out);
}

/* ---- the table ------------------------------------------------------------------------------- */

const api_method api_massa_methods[] = {
    {"get_status", m_get_status, API_PUBLIC},
    {"get_addresses", m_get_addresses, API_PUBLIC},
    {"get_addresses_bytecode", m_get_addresses_bytecode, API_PUBLIC},
    {"send_operations", m_send_operations, API_PUBLIC},
    {"get_operations", m_get_operations, API_PUBLIC},
    {"get_blocks", m_get_blocks, API_PUBLIC},
    {"get_blockclique_block_by_slot", m_get_blockclique_block_by_slot, API_PUBLIC},
    {"get_graph_interval", m_get_graph_interval, API_PUBLIC},
    {"get_cliques", m_get_cliques, API_PUBLIC},
    {"get_stakers", m_get_stakers, API_PUBLIC},
    {"get_endorsements", m_get_endorsements, API_PUBLIC},
    {"get_datastore_entries", m_get_datastore_entries, API_PUBLIC},
    {"get_filtered_sc_output_event", m_get_filtered_sc_output_event, API_PUBLIC},
    {"execute_read_only_call", m_execute_read_only_call, API_PUBLIC},
    {"execute_read_only_bytecode", m_execute_read_only_bytecode, API_PUBLIC},
    {"stop_node", m_stop_node, API_PRIVATE},
    {"node_sign_message", m_node_sign_message, API_PRIVATE},
    {"add_staking_secret_keys", m_add_staking_secret_keys, API_PRIVATE},
    {"remove_staking_addresses", m_remove_staking_addresses, API_PRIVATE},
    {"get_staking_addresses", m_get_staking_addresses, API_PRIVATE},
    {"node_ban_by_id", m_ban_by_id, API_PRIVATE},
    {"node_ban_by_ip", m_ban_by_ip, API_PRIVATE},
    {"node_unban_by_id", m_unban_by_id, API_PRIVATE},
    {"node_unban_by_ip", m_unban_by_ip, API_PRIVATE},
    {"node_peers_whitelist", m_peers_whitelist, API_PRIVATE},
    {"node_add_to_peers_whitelist", m_whitelist_add, API_PRIVATE},
    {"node_remove_from_peers_whitelist", m_whitelist_remove, API_PRIVATE},
};
const size_t api_massa_method_count = WEFT_ARRAY_LEN(api_massa_methods);
