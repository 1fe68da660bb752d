/* Fuzz target: Massa's JSON-RPC methods (src/api/massa.c) on a fake node — request body →
 * dispatch (private API: every method) → each method's parameter decoding (ids, addresses,
 * slots, amounts, byte arrays, operations: decode, signature, fee and expiry checks) → the
 * node call → the result shape.
 * Oracles: every answer is a well-formed JSON-RPC answer; what reaches the node is valid (slots
 * within the thread count, datastore keys within their limit, operations decoded and signed). */
#include "../fuzz_util.h"

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static model_params params;

static void check(bool ok)
{
    if (!ok)
        abort();
}

static const model_params *f_params(void *n) { return &params; }
static void f_node_id(void *n, pubkey_t *out) { memset(out, 1, sizeof *out); }
static uint64_t f_now_ms(void *n) { return 1700000000000ull; }
static weft_err f_current_slot(void *n, slot_t *out)
{
    *out = (slot_t){100, 5};
    return WEFT_OK;
}
static weft_err f_get_status(void *n, node_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->has_slot = true;
    out->last_slot = (slot_t){100, 5};
    out->next_slot = (slot_t){100, 6};
    return WEFT_OK;
}
static weft_err f_send_operations(void *n, signed_op_t **ops, size_t count, weft_err *results)
{
    for (size_t i = 0; i < count; i++) {
        check(signed_op_verify(ops[i]) == WEFT_OK);
        results[i] = ops[i]->op.fee.nano == 12345678 ? WEFT_E_POOL_FULL : WEFT_OK;
        signed_op_free(ops[i]);
        free(ops[i]);
    }
    return WEFT_OK;
}
static weft_err f_get_operation(void *n, const op_id_t *id, node_op_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->found = id->h.b[0] & 1;
    out->in_pool = id->h.b[0] & 2;
    out->spec_executed = id->h.b[0] & 4;
    out->spec_success = id->h.b[0] & 8;
    out->final_executed = id->h.b[0] & 16;
    return WEFT_OK;
}
static weft_err f_get_address(void *n, const address_t *a, node_address_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->addr = *a;
    out->final_balance = amount_from_nano(a->hash.b[0]);
    return WEFT_OK;
}
static weft_err f_get_datastore(void *n, const address_t *a, const uint8_t *key, size_t klen,
                                node_ds_value_t *out)
{
    check(klen <= OP_MAX_DS_KEY_LEN);
    memset(out, 0, sizeof *out);
    if (klen) {
        out->has_final = true;
        out->final_value.b = malloc(klen);
        memcpy(out->final_value.b, key, klen);
        out->final_value.len = klen;
    }
    return WEFT_OK;
}
static weft_err f_get_bytecode(void *n, const address_t *a, bool final, node_bytes_t *out)
{
    memset(out, 0, sizeof *out);
    return WEFT_E_NOT_FOUND;
}
static weft_err f_get_block(void *n, const block_id_t *id, node_block_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (!(id->h.b[0] & 1))
        return WEFT_E_NOT_FOUND;
    out->id = *id;
    out->status = NODE_BLOCK_FINAL;
    out->header.id = *id;
    out->has_body = true;
    return WEFT_OK;
}
static weft_err f_blockclique_block_at(void *n, slot_t slot, block_id_t *out)
{
    check(slot.thread < params.thread_count);
    memset(out, 0, sizeof *out);
    out->h.b[0] = (uint8_t)(slot.period & 1);
    return WEFT_OK;
}
static weft_err f_graph_interval(void *n, uint64_t start_ms, uint64_t end_ms,
                                 node_graph_item_t **items, size_t *count)
{
    *items = calloc(1, sizeof **items);
    *count = start_ms <= end_ms ? 1 : 0;
    return WEFT_OK;
}
static weft_err f_get_cliques(void *n, node_clique_t **cliques, size_t *count)
{
    *cliques = calloc(1, sizeof **cliques);
    *count = 1;
    return WEFT_OK;
}
static weft_err f_get_stakers(void *n, pos_stake_t **out, size_t *count)
{
    *out = calloc(3, sizeof **out);
    for (uint64_t i = 0; i < 3; i++)
        (*out)[i].rolls = i * 7 % 3;
    *count = 3;
    return WEFT_OK;
}
static weft_err f_get_endorsement(void *n, const endorsement_id_t *id, node_endorsement_info_t *out)
{
    memset(out, 0, sizeof *out);
    return id->h.b[0] & 1 ? WEFT_OK : WEFT_E_NOT_FOUND;
}
static weft_err f_get_events(void *n, const node_event_filter *f, node_event_t **out, size_t *count)
{
    check(!f->has_start || f->start.thread < params.thread_count);
    check(!f->has_end || f->end.thread < params.thread_count);
    check(f->is_final >= -1 && f->is_final <= 1 && f->is_error >= -1 && f->is_error <= 1);
    *out = calloc(1, sizeof **out);
    (*out)->ev.data = strdup("\xff event");
    (*out)->ev.data_len = 7;
    *count = 1;
    return WEFT_OK;
}
static weft_err f_read_only(void *n, const node_read_only_t *in, node_read_only_result_t *out)
{
    memset(out, 0, sizeof *out);
    check(in->max_gas <= EXEC_DEFAULT_MAX_BLOCK_GAS);
    if (!in->is_bytecode && in->function[0] == 'x')
        return WEFT_E_EXEC_NO_VM;
    out->ok = in->max_gas & 1;
    snprintf(out->error, sizeof out->error, "failed");
    return WEFT_OK;
}
static void f_request_stop(void *n) {}
static void f_sign_message(void *n, const uint8_t *msg, size_t len, pubkey_t *pk, signature_t *sig)
{
    memset(pk, 2, sizeof *pk);
    memset(sig, 3, sizeof *sig);
}
static weft_err f_staking_add(void *n, const keypair_t *keys, size_t count) { return WEFT_OK; }
static weft_err f_staking_remove(void *n, const address_t *addrs, size_t count) { return WEFT_OK; }
static weft_err f_staking_list(void *n, address_t **out, size_t *count)
{
    *out = calloc(1, sizeof **out);
    *count = 1;
    return WEFT_OK;
}

static const api_node_vt fake_vt = {
    .params = f_params,
    .node_id = f_node_id,
    .now_ms = f_now_ms,
    .current_slot = f_current_slot,
    .get_status = f_get_status,
    .send_operations = f_send_operations,
    .get_operation = f_get_operation,
    .get_address = f_get_address,
    .get_datastore = f_get_datastore,
    .get_bytecode = f_get_bytecode,
    .get_block = f_get_block,
    .blockclique_block_at = f_blockclique_block_at,
    .graph_interval = f_graph_interval,
    .get_cliques = f_get_cliques,
    .get_stakers = f_get_stakers,
    .get_endorsement = f_get_endorsement,
    .get_events = f_get_events,
    .read_only = f_read_only,
    .request_stop = f_request_stop,
    .sign_message = f_sign_message,
    .staking_add = f_staking_add,
    .staking_remove = f_staking_remove,
    .staking_list = f_staking_list,
};

static void check_answer(const json_t *a)
{
    json_t *e = json_object_get(a, "error");
    json_t *r = json_object_get(a, "result");
    check(json_is_object(a) && json_object_get(a, "id") && (!e != !r));
    check(!e || (json_is_integer(json_object_get(e, "code")) &&
                 json_is_string(json_object_get(e, "message"))));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    static api_massa_t *massa;
    static api_rpc_t *rpc;
    static int node; /* the fake node has no state: any non-NULL context */
    if (!rpc) {
        model_params_default(&params);
        params.chain_id = 77658366;
        params.genesis_timestamp_ms = 1699999000000ull;
        api_massa_config mc = {
            .node = &node, .vt = &fake_vt, .minimal_fee = amount_from_nano(1000)};
        check(api_massa_new(&massa, &mc) == WEFT_OK);
        api_rpc_config c = {.methods = api_massa_methods,
                            .method_count = api_massa_method_count,
                            .ctx = massa,
                            .private_api = true};
        check(api_rpc_new(&rpc, &c) == WEFT_OK);
    }
    char *out = NULL;
    size_t out_len = 0;
    check(api_rpc_handle(rpc, &out, &out_len, (const char *)data, size) == WEFT_OK);
    if (!out)
        return 0;
    json_error_t jerr;
    json_t *ans = json_loadb(out, out_len, JSON_DECODE_ANY, &jerr);
    check(ans != NULL);
    if (json_is_array(ans)) {
        size_t i;
        json_t *a;
        json_array_foreach (ans, i, a)
            check_answer(a);
    } else {
        check_answer(ans);
    }
    json_decref(ans);
    free(out);
    return 0;
}
