/* Unit tests of src/api/massa.c: every Massa method's result shape (exact key sets, explicit
 * nulls, decimal-string amounts, numeric chain_id, byte arrays), the parameter wrapping and the
 * errors (bad params, unknown ids left out, node refusals, no VM, private methods), over a fake
 * node that records what it was asked.  One get_status and one transfer go through the HTTP
 * server and the client as massa-web3 would send them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "testutil.h"

/* ---- the fake node --------------------------------------------------------------------------- */

struct fake_node {
    model_params p;
    keypair_t node_key, user;
    address_t user_addr;
    slot_t now_slot;
    bool before_genesis;
    /* operations known to the node: [0] pool only, [1] speculative success, [2] final failure */
    signed_op_t known[3];
    block_header_t header; /* the one known block */
    op_id_t block_ops[2];
    endorsement_t endorsement; /* in that block */
    /* what it was asked */
    node_event_filter last_filter;
    size_t sent;
    size_t verified; /* operations checked through verify_operation */
    amount_t sent_fee;
    bool stop_requested;
    size_t staking_added;
    address_t removed;
    weft_err pool_verdict;
};

static const model_params *f_params(void *n) { return &((struct fake_node *)n)->p; }
static void f_node_id(void *n, pubkey_t *out) { *out = ((struct fake_node *)n)->node_key.pk; }
static uint64_t f_now_ms(void *n) { return 1700000000000ull; }
static weft_err f_current_slot(void *n, slot_t *out)
{
    struct fake_node *f = n;
    if (f->before_genesis)
        return WEFT_E_RANGE;
    *out = f->now_slot;
    return WEFT_OK;
}

static weft_err f_get_status(void *n, node_status_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    out->now_ms = f_now_ms(n);
    out->has_slot = !f->before_genesis;
    out->last_slot = f->now_slot;
    out->next_slot = (slot_t){f->now_slot.period, (uint8_t)(f->now_slot.thread + 1)};
    out->current_cycle = 0;
    out->has_final_cursor = true;
    out->final_cursor = (slot_t){98, 4};
    out->final_block_count = 11;
    out->stale_block_count = 2;
    out->clique_count = 1;
    out->pool_ops = 5;
    out->pool_endorsements = 6;
    out->ops_final_executed = 7;
    out->op_sigs_verified = 12;
    out->op_sig_cache_hits = 9;
    for (uint32_t t = 0; t < f->p.thread_count; t++)
        out->final_periods[t] = 90 + t;
    return WEFT_OK;
}

static weft_err f_send_operations(void *n, signed_op_t **ops, size_t count, weft_err *results)
{
    struct fake_node *f = n;
    for (size_t i = 0; i < count; i++) {
        results[i] = f->pool_verdict;
        f->sent_fee = ops[i]->op.fee;
        signed_op_free(ops[i]);
        free(ops[i]);
    }
    f->sent += count;
    return WEFT_OK;
}

static weft_err f_verify_operation(void *n, const signed_op_t *op)
{
    struct fake_node *f = n;
    f->verified++;
    return signed_op_verify(op);
}

static weft_err f_get_operation(void *n, const op_id_t *id, node_op_info_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3; i++) {
        if (hash32_cmp(&f->known[i].id.h, &id->h) != 0)
            continue;
        out->found = true;
        out->has_op = true;
        if (signed_op_from_parts(&out->op, f->p.chain_id, &f->known[i].creator, &f->known[i].sig,
                                 f->known[i].content, f->known[i].content_len) != WEFT_OK)
            return WEFT_E_NOMEM;
        out->in_pool = true; /* the pool may still hold an executed one: the API hides it */
        if (i > 0) {
            out->in_blocks = malloc(sizeof *out->in_blocks);
            out->in_blocks[0] = f->header.id;
            out->in_block_count = 1;
            out->spec_executed = true;
            out->spec_success = i == 1;
            out->final_executed = i == 2;
            out->final_success = false;
        }
    }
    return WEFT_OK;
}

static node_bytes_t bytes_of(const char *s)
{
    node_bytes_t b = {malloc(strlen(s) + 1), strlen(s)};
    memcpy(b.b, s, b.len);
    return b;
}

static weft_err f_get_address(void *n, const address_t *a, node_address_info_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    out->addr = *a;
    if (!address_eq(a, &f->user_addr))
        return WEFT_OK; /* an unknown address: zeroes */
    out->final_exists = out->candidate_exists = true;
    out->final_balance = amount_from_nano(1500000000);
    out->candidate_balance = amount_from_nano(1250000000);
    out->final_rolls = 3;
    out->candidate_rolls = 4;
    out->final_keys = malloc(sizeof *out->final_keys);
    out->final_keys[0] = bytes_of("NAME");
    out->final_key_count = 1;
    out->candidate_keys = malloc(2 * sizeof *out->candidate_keys);
    out->candidate_keys[0] = bytes_of("NAME");
    out->candidate_keys[1] = bytes_of("SYMBOL");
    out->candidate_key_count = 2;
    out->credits = malloc(sizeof *out->credits);
    out->credits[0] = (node_credit_t){{130, 0}, amount_from_nano(100000000000ull)};
    out->credit_count = 1;
    out->draws = malloc(2 * sizeof *out->draws);
    out->draws[0] = (node_draw_t){{101, 3}, -1};
    out->draws[1] = (node_draw_t){{101, 4}, 7};
    out->draw_count = 2;
    out->cycle_produced = 9;
    out->cycle_missed = 1;
    return WEFT_OK;
}

static weft_err f_get_datastore(void *n, const address_t *a, const uint8_t *key, size_t klen,
                                node_ds_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (klen == 4 && memcmp(key, "NAME", 4) == 0) {
        out->has_final = true;
        out->final_value = bytes_of("TOK");
    }
    if (klen == 6 && memcmp(key, "SYMBOL", 6) == 0) {
        out->has_candidate = true;
        out->candidate_value = bytes_of("T");
    }
    return WEFT_OK;
}

static weft_err f_get_bytecode(void *n, const address_t *a, bool final, node_bytes_t *out)
{
    memset(out, 0, sizeof *out);
    if (!final)
        return WEFT_E_NOT_FOUND;
    out->b = malloc(4);
    memcpy(out->b,
           "\x00"
           "asm",
           4);
    out->len = 4;
    return WEFT_OK;
}

static weft_err f_get_block(void *n, const block_id_t *id, node_block_info_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    if (!block_id_eq(id, &f->header.id))
        return WEFT_E_NOT_FOUND;
    out->id = *id;
    out->status = NODE_BLOCK_PENDING;
    out->in_blockclique = true;
    out->header = f->header;
    address_of_pubkey(&out->creator, &f->header.creator);
    out->op_ids = malloc(2 * sizeof *out->op_ids);
    memcpy(out->op_ids, f->block_ops, 2 * sizeof *out->op_ids);
    out->op_count = 2;
    out->has_body = true;
    return WEFT_OK;
}

static weft_err f_blockclique_block_at(void *n, slot_t slot, block_id_t *out)
{
    struct fake_node *f = n;
    if (slot_cmp(slot, f->header.slot) != 0)
        return WEFT_E_NOT_FOUND;
    *out = f->header.id;
    return WEFT_OK;
}

static weft_err f_graph_interval(void *n, uint64_t start_ms, uint64_t end_ms,
                                 node_graph_item_t **items, size_t *count)
{
    struct fake_node *f = n;
    node_graph_item_t *it = calloc(2, sizeof *it);
    it[0].id = f->header.id;
    it[0].slot = f->header.slot;
    address_of_pubkey(&it[0].creator, &f->header.creator);
    it[0].status = NODE_BLOCK_PENDING;
    it[0].in_blockclique = true;
    it[0].parent_count = 2;
    it[1] = it[0];
    it[1].status = NODE_BLOCK_STALE;
    it[1].in_blockclique = false;
    *items = it;
    *count = start_ms == 0 && end_ms == UINT64_MAX ? 2 : 1;
    return WEFT_OK;
}

static weft_err f_get_cliques(void *n, node_clique_t **cliques, size_t *count)
{
    struct fake_node *f = n;
    node_clique_t *c = calloc(2, sizeof *c);
    c[0].fitness = 34;
    c[0].is_blockclique = true;
    c[0].ids = malloc(sizeof *c[0].ids);
    c[0].ids[0] = f->header.id;
    c[0].count = 1;
    c[1].fitness = 17;
    *cliques = c;
    *count = 2;
    return WEFT_OK;
}

static weft_err f_get_stakers(void *n, pos_stake_t **out, size_t *count)
{
    struct fake_node *f = n;
    pos_stake_t *s = calloc(3, sizeof *s);
    for (int i = 0; i < 3; i++) {
        s[i].addr = f->user_addr;
        s[i].addr.hash.b[31] = (uint8_t)i;
    }
    s[0].rolls = 5;
    s[1].rolls = 50;
    s[2].rolls = 7;
    *out = s;
    *count = 3;
    return WEFT_OK;
}

static weft_err f_get_endorsement(void *n, const endorsement_id_t *id, node_endorsement_info_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    if (hash32_cmp(&id->h, &f->endorsement.id.h) != 0)
        return WEFT_E_NOT_FOUND;
    out->e = f->endorsement;
    out->in_blocks = malloc(sizeof *out->in_blocks);
    out->in_blocks[0] = f->header.id;
    out->in_block_count = 1;
    return WEFT_OK;
}

static void make_event(struct fake_node *f, node_event_t *e, uint32_t index, bool full,
                       const char *data)
{
    memset(e, 0, sizeof *e);
    e->ev.slot = (slot_t){99, 2};
    e->ev.index = index;
    e->ev.has_block = full;
    e->ev.block = f->header.id;
    e->ev.has_op = full;
    e->ev.op = f->known[1].id;
    e->ev.is_error = !full;
    e->ev.call_stack = malloc(sizeof(address_t));
    e->ev.call_stack[0] = f->user_addr;
    e->ev.call_stack_len = 1;
    e->ev.data = strdup(data);
    e->ev.data_len = strlen(data);
    e->is_final = full;
}

static weft_err f_get_events(void *n, const node_event_filter *flt, node_event_t **out,
                             size_t *count)
{
    struct fake_node *f = n;
    f->last_filter = *flt;
    node_event_t *e = calloc(2, sizeof *e);
    make_event(f, &e[0], 0, true, "Contract deployed at address: AS1");
    make_event(f, &e[1], 1, false, "{\"massa_execution_error\":\"bad \xff byte\"}");
    *out = e;
    *count = 2;
    return WEFT_OK;
}

static weft_err f_read_only(void *n, const node_read_only_t *in, node_read_only_result_t *out)
{
    struct fake_node *f = n;
    memset(out, 0, sizeof *out);
    if (!in->is_bytecode && strcmp(in->function, "novm") == 0)
        return WEFT_E_EXEC_NO_VM;
    out->executed_at = f->now_slot;
    out->gas_cost = in->max_gas / 2;
    if (in->is_bytecode) {
        snprintf(out->error, sizeof out->error, "boom at %zu bytes", in->bytecode_len);
        return WEFT_OK;
    }
    out->ok = true;
    out->result.b = malloc(3);
    memcpy(out->result.b, "\x01\x02\x03", 3);
    out->result.len = 3;
    out->events = calloc(1, sizeof *out->events);
    make_event(f, &out->events[0], 0, true, "read only");
    out->event_count = 1;
    return WEFT_OK;
}

static void f_request_stop(void *n) { ((struct fake_node *)n)->stop_requested = true; }

static void f_sign_message(void *n, const uint8_t *msg, size_t len, pubkey_t *pk, signature_t *sig)
{
    struct fake_node *f = n;
    *pk = f->node_key.pk;
    crypto_ed25519_sign(sig->b, f->node_key.sk, msg, len);
}

static weft_err f_staking_add(void *n, const keypair_t *keys, size_t count)
{
    struct fake_node *f = n;
    f->staking_added += count;
    return WEFT_OK;
}

static weft_err f_staking_remove(void *n, const address_t *addrs, size_t count)
{
    struct fake_node *f = n;
    if (count)
        f->removed = addrs[0];
    return WEFT_OK;
}

static weft_err f_staking_list(void *n, address_t **out, size_t *count)
{
    struct fake_node *f = n;
    *out = malloc(sizeof **out);
    (*out)[0] = f->user_addr;
    *count = 1;
    return WEFT_OK;
}

static size_t f_actor_stats(void *n, node_actor_stat *out, size_t cap)
{
    static const char *names[] = {"execution", "pool", "consensus", "factory"};
    for (size_t i = 0; i < 4 && i < cap; i++)
        out[i] = (node_actor_stat){names[i], i * 2, i == 2};
    return cap < 4 ? cap : 4;
}

/* execution: one block in the 5 ms bucket, two in the 0.1 s one; finality: one above 300 s */
static void f_latency_stats(void *n, node_latency_t *out)
{
    memset(out, 0, sizeof *out);
    out->execution.counts[0] = 1;
    out->execution.counts[4] = 2;
    out->execution.count = 3;
    out->execution.sum_s = 0.125;
    out->finality.counts[NODE_LATENCY_BUCKETS] = 1;
    out->finality.count = 1;
    out->finality.sum_s = 400;
    out->ops_executed = 42;
}

static const api_node_vt fake_vt = {
    .params = f_params,
    .node_id = f_node_id,
    .now_ms = f_now_ms,
    .current_slot = f_current_slot,
    .get_status = f_get_status,
    .send_operations = f_send_operations,
    .verify_operation = f_verify_operation,
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
    .actor_stats = f_actor_stats,
    .latency_stats = f_latency_stats,
};

/* ---- fixture --------------------------------------------------------------------------------- */

static struct fake_node F;
static api_massa_t *M;
static api_rpc_t *PUB, *PRIV;

/* Serialized content of a transaction of `amount` nanoMAS to the user, with fee and expiry. */
static uint8_t *transfer_content(size_t *len, uint64_t fee, uint64_t expire, uint64_t amount)
{
    operation_t op = {0};
    op.fee = amount_from_nano(fee);
    op.expire_period = expire;
    op.type = OP_TRANSACTION;
    op.u.transaction.recipient = F.user_addr;
    op.u.transaction.amount = amount_from_nano(amount);
    wr_t w;
    wr_init(&w);
    op_encode(&w, &op);
    return wr_take(&w, len);
}

static void sign_op(signed_op_t *out, const uint8_t *content, size_t len)
{
    hash32_t d;
    op_digest(&d, F.p.chain_id, &F.user.pk, content, len);
    signature_t sig;
    model_sign_digest(&sig, &F.user, &d);
    assert_int_equal(signed_op_from_parts(out, F.p.chain_id, &F.user.pk, &sig, content, len),
                     WEFT_OK);
}

static int setup(void **state)
{
    memset(&F, 0, sizeof F);
    model_params_default(&F.p);
    F.p.chain_id = 77658366;
    F.p.genesis_timestamp_ms = 1699999000000ull;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    keypair_from_seed(&F.user, seed);
    address_of_pubkey(&F.user_addr, &F.user.pk);
    seed[0] = 99;
    keypair_from_seed(&F.node_key, seed);
    F.now_slot = (slot_t){100, 5};
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *c = transfer_content(&len, 10000000, 105, 1000000000ull + (uint64_t)i);
        sign_op(&F.known[i], c, len);
        free(c);
    }
    /* a block of slot (3,1) with two operations and one endorsement */
    block_header_t *h = &F.header;
    h->slot = (slot_t){3, 1};
    h->parent_count = F.p.thread_count;
    for (uint32_t t = 0; t < F.p.thread_count; t++)
        memset(&h->parents[t], (int)t + 1, sizeof h->parents[t]);
    F.block_ops[0] = F.known[1].id;
    F.block_ops[1] = F.known[2].id;
    block_ops_hash(&h->ops_hash, F.block_ops, 2);
    endorsement_t *e = &F.endorsement;
    e->slot = h->slot;
    e->index = 2;
    e->endorsed = h->parents[1];
    endorsement_sign(e, &F.node_key);
    h->endorsements[0] = *e;
    h->endorsement_count = 1;
    header_sign(h, &F.node_key);

    api_massa_config c = {.node = &F,
                          .vt = &fake_vt,
                          .minimal_fee = amount_from_nano(10000000),
                          .version = "weft/test"};
    if (api_massa_new(&M, &c) != WEFT_OK)
        return -1;
    api_rpc_config rc = {
        .methods = api_massa_methods, .method_count = api_massa_method_count, .ctx = M};
    if (api_rpc_new(&PUB, &rc) != WEFT_OK)
        return -1;
    rc.private_api = true;
    return api_rpc_new(&PRIV, &rc) == WEFT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    for (int i = 0; i < 3; i++)
        signed_op_free(&F.known[i]);
    api_rpc_free(PUB);
    api_rpc_free(PRIV);
    api_massa_free(M);
    return 0;
}

/* Calls method with params (JSON text, NULL for none) on the public or private dispatcher.
 * Returns the result (new reference; json null for null) and sets *code to 0, or returns the
 * error object and sets *code. */
static json_t *call(bool priv, const char *method, const char *params, int *code)
{
    char body[65536];
    if (params)
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,\"id\":1}", method, params);
    else
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", method);
    char *out;
    size_t len;
    assert_int_equal(api_rpc_handle(priv ? PRIV : PUB, &out, &len, body, strlen(body)), WEFT_OK);
    assert_non_null(out);
    json_error_t e;
    json_t *a = json_loads(out, 0, &e);
    if (!a)
        fail_msg("answer is not JSON: %s", out);
    free(out);
    json_t *err = json_object_get(a, "error");
    json_t *r;
    if (err) {
        *code = (int)json_integer_value(json_object_get(err, "code"));
        r = json_incref(err);
    } else {
        *code = 0;
        r = json_incref(json_object_get(a, "result"));
    }
    json_decref(a);
    return r;
}

static json_t *ok(const char *method, const char *params)
{
    int code;
    json_t *r = call(false, method, params, &code);
    if (code != 0)
        fail_msg("%s %s: error %d: %s", method, params ? params : "", code,
                 json_string_value(json_object_get(r, "message")));
    return r;
}

static json_t *ok_private(const char *method, const char *params)
{
    int code;
    json_t *r = call(true, method, params, &code);
    if (code != 0)
        fail_msg("%s: error %d: %s", method, code,
                 json_string_value(json_object_get(r, "message")));
    return r;
}

/* Expects an error with `code` whose message contains `needle`. */
static void fails(bool priv, const char *method, const char *params, int want, const char *needle)
{
    int code;
    json_t *r = call(priv, method, params, &code);
    const char *msg = json_string_value(json_object_get(r, "message"));
    if (code != want || (needle && !strstr(msg, needle)))
        fail_msg("%s %s: got %d '%s', wanted %d '%s'", method, params, code, msg, want,
                 needle ? needle : "");
    json_decref(r);
}

/* obj has exactly the keys of the comma-separated list. */
static void assert_keys(const json_t *obj, const char *list)
{
    assert_true(json_is_object(obj));
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    size_t n = 0;
    for (char *save, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save), n++)
        if (!json_object_get(obj, k)) {
            char *dump = json_dumps(obj, JSON_COMPACT);
            fail_msg("missing key %s in %s", k, dump);
        }
    if (json_object_size(obj) != n) {
        char *dump = json_dumps(obj, JSON_COMPACT);
        fail_msg("expected exactly {%s}, got %s", list, dump);
    }
}

static json_t *at(const json_t *j, const char *path) { return json_object_get(j, path); }

static void assert_slot(const json_t *s, uint64_t period, int thread)
{
    assert_keys(s, "period,thread");
    assert_int_equal(json_integer_value(at(s, "period")), period);
    assert_int_equal(json_integer_value(at(s, "thread")), thread);
}

static void assert_str(const json_t *j, const char *want)
{
    if (!json_is_string(j)) {
        char *dump = json_dumps(j, JSON_ENCODE_ANY);
        fail_msg("expected the string '%s', got %s", want, dump ? dump : "nothing");
    }
    assert_string_equal(json_string_value(j), want);
}

/* The JSON text of a byte array (malloc'd). */
static char *bytes_text(const uint8_t *b, size_t len)
{
    json_t *j = api_json_bytes(b, len);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static char *id_text(const op_id_t *id)
{
    static char buf[4][MODEL_STR_MAX];
    static int k;
    char *b = buf[k++ % 4];
    op_id_to_str(b, id);
    return b;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_get_status(void **state)
{
    json_t *s = ok("get_status", "[{}]");
    assert_keys(s, "node_id,node_ip,version,current_time,current_cycle,current_cycle_time,"
                   "next_cycle_time,connected_nodes,last_slot,next_slot,consensus_stats,"
                   "pool_stats,network_stats,execution_stats,config,chain_id,minimal_fees,"
                   "current_mip_version");
    assert_true(json_is_null(at(s, "node_ip")));
    assert_str(at(s, "version"), "weft/test");
    assert_int_equal(json_string_value(at(s, "node_id"))[0], 'N');
    assert_true(json_is_integer(at(s, "chain_id"))); /* a number, not a string */
    assert_int_equal(json_integer_value(at(s, "chain_id")), 77658366);
    assert_str(at(s, "minimal_fees"), "0.01");
    assert_int_equal(json_integer_value(at(s, "current_time")), 1700000000000ll);
    assert_int_equal(json_integer_value(at(s, "current_cycle_time")), 1699999000000ll);
    assert_int_equal(json_integer_value(at(s, "next_cycle_time")), 1699999000000ll + 128 * 16000);
    assert_keys(at(s, "connected_nodes"), "");
    assert_slot(at(s, "last_slot"), 100, 5);
    assert_slot(at(s, "next_slot"), 100, 6);
    json_t *c = at(s, "consensus_stats");
    assert_keys(c, "start_timespan,end_timespan,final_block_count,stale_block_count,clique_count");
    assert_int_equal(json_integer_value(at(c, "final_block_count")), 11);
    assert_int_equal(json_integer_value(at(c, "stale_block_count")), 2);
    json_t *pool = at(s, "pool_stats");
    assert_int_equal(json_array_size(pool), 2);
    assert_int_equal(json_integer_value(json_array_get(pool, 0)), 5);
    assert_int_equal(json_integer_value(json_array_get(pool, 1)), 6);
    assert_keys(at(s, "network_stats"), "in_connection_count,out_connection_count,"
                                        "known_peer_count,banned_peer_count,active_node_count");
    json_t *x = at(s, "execution_stats");
    assert_keys(x, "time_window_start,time_window_end,final_block_count,"
                   "final_executed_operations_count,active_cursor,final_cursor");
    assert_int_equal(json_integer_value(at(x, "final_executed_operations_count")), 7);
    assert_slot(at(x, "final_cursor"), 98, 4);
    assert_slot(at(x, "active_cursor"), 0, 0); /* none yet: still a slot */
    json_t *cfg = at(s, "config");
    assert_keys(cfg, "genesis_timestamp,end_timestamp,thread_count,t0,delta_f0,"
                     "operation_validity_periods,periods_per_cycle,block_reward,roll_price,"
                     "max_block_size");
    assert_true(json_is_null(at(cfg, "end_timestamp")));
    assert_int_equal(json_integer_value(at(cfg, "thread_count")), 32);
    assert_int_equal(json_integer_value(at(cfg, "t0")), 16000);
    assert_int_equal(json_integer_value(at(cfg, "delta_f0")), 1088);
    assert_str(at(cfg, "block_reward"), "0.4");
    assert_str(at(cfg, "roll_price"), "100");
    json_decref(s);

    /* every parameter form massa-web3 and Massa's client send */
    json_decref(ok("get_status", NULL));
    json_decref(ok("get_status", "[]"));
    fails(false, "get_status", "[1]", API_ERR_INVALID_PARAMS, "takes none");

    /* before genesis: last_slot is an explicit null */
    F.before_genesis = true;
    s = ok("get_status", "[{}]");
    assert_true(json_is_null(at(s, "last_slot")));
    F.before_genesis = false;
    json_decref(s);
}

static void test_get_addresses(void **state)
{
    char au[MODEL_STR_MAX], other[MODEL_STR_MAX], params[512];
    address_to_str(au, &F.user_addr);
    address_t o = F.user_addr;
    o.hash.b[0] ^= 0xff;
    address_to_str(other, &o);
    snprintf(params, sizeof params, "[[\"%s\",\"%s\"]]", au, other);
    json_t *r = ok("get_addresses", params);
    assert_int_equal(json_array_size(r), 2);
    json_t *a = json_array_get(r, 0);
    assert_keys(a, "address,thread,final_balance,final_roll_count,final_datastore_keys,"
                   "candidate_balance,candidate_roll_count,candidate_datastore_keys,"
                   "deferred_credits,next_block_draws,next_endorsement_draws,created_blocks,"
                   "created_operations,created_endorsements,cycle_infos");
    assert_str(at(a, "address"), au);
    assert_int_equal(json_integer_value(at(a, "thread")), address_thread(&F.user_addr, 32));
    assert_str(at(a, "final_balance"), "1.5");
    assert_str(at(a, "candidate_balance"), "1.25");
    assert_int_equal(json_integer_value(at(a, "final_roll_count")), 3);
    assert_int_equal(json_integer_value(at(a, "candidate_roll_count")), 4);
    char *keys = json_dumps(at(a, "candidate_datastore_keys"), JSON_COMPACT);
    assert_string_equal(keys, "[[78,65,77,69],[83,89,77,66,79,76]]"); /* NAME, SYMBOL */
    free(keys);
    json_t *credit = json_array_get(at(a, "deferred_credits"), 0);
    assert_keys(credit, "slot,amount");
    assert_str(at(credit, "amount"), "100");
    assert_slot(json_array_get(at(a, "next_block_draws"), 0), 101, 3);
    json_t *ed = json_array_get(at(a, "next_endorsement_draws"), 0);
    assert_keys(ed, "slot,index");
    assert_int_equal(json_integer_value(at(ed, "index")), 7);
    json_t *ci = json_array_get(at(a, "cycle_infos"), 0);
    assert_keys(ci, "cycle,is_final,ok_count,nok_count,active_rolls");
    assert_true(json_is_null(at(ci, "active_rolls")));
    assert_int_equal(json_integer_value(at(ci, "ok_count")), 9);
    /* an address the node does not know: zero balances, empty lists */
    json_t *b = json_array_get(r, 1);
    assert_str(at(b, "final_balance"), "0");
    assert_int_equal(json_array_size(at(b, "final_datastore_keys")), 0);
    json_decref(r);

    fails(false, "get_addresses", "[[\"AU1bad\"]]", API_ERR_INVALID_PARAMS, "params[0][0]");
    fails(false, "get_addresses", "[\"AU12\"]", API_ERR_INVALID_PARAMS, "params[0]");
    fails(false, "get_addresses", "[]", API_ERR_INVALID_PARAMS, "one element");
    /* the argument count is bounded */
    char big[16384];
    size_t len = (size_t)snprintf(big, sizeof big, "[[");
    for (int i = 0; i <= API_MASSA_MAX_ARGS; i++)
        len += (size_t)snprintf(big + len, sizeof big - len, "%s\"%s\"", i ? "," : "", au);
    snprintf(big + len, sizeof big - len, "]]");
    fails(false, "get_addresses", big, API_ERR_INVALID_PARAMS, "at most 128");
}

static void test_get_datastore_entries(void **state)
{
    char au[MODEL_STR_MAX], params[512];
    address_to_str(au, &F.user_addr);
    snprintf(params, sizeof params,
             "[[{\"address\":\"%s\",\"key\":[78,65,77,69]},{\"address\":\"%s\","
             "\"key\":[83,89,77,66,79,76]},{\"address\":\"%s\",\"key\":[]}]]",
             au, au, au);
    json_t *r = ok("get_datastore_entries", params);
    char *s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "[{\"final_value\":[84,79,75],\"candidate_value\":null},"
                           "{\"final_value\":null,\"candidate_value\":[84]},"
                           "{\"final_value\":null,\"candidate_value\":null}]");
    free(s);
    json_decref(r);
    snprintf(params, sizeof params, "[[{\"address\":\"%s\",\"key\":[256]}]]", au);
    fails(false, "get_datastore_entries", params, API_ERR_INVALID_PARAMS, "params[0][0].key");
    snprintf(params, sizeof params, "[[{\"address\":\"%s\"}]]", au);
    fails(false, "get_datastore_entries", params, API_ERR_INVALID_PARAMS, "key");

    snprintf(params, sizeof params,
             "[[{\"address\":\"%s\",\"is_final\":true},{\"address\":\"%s\",\"is_final\":false}]]",
             au, au);
    r = ok("get_addresses_bytecode", params);
    s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "[[0,97,115,109],[]]");
    free(s);
    json_decref(r);
}

static void test_send_operations(void **state)
{
    size_t len;
    uint8_t *content = transfer_content(&len, 10000000, 105, 1500000000);
    signed_op_t s;
    sign_op(&s, content, len);
    char pk[MODEL_STR_MAX], sig[MODEL_STR_MAX];
    pubkey_to_str(pk, &s.creator);
    signature_to_str(sig, &s.sig);
    char *bytes = bytes_text(content, len);
    char params[4096];
    snprintf(params, sizeof params,
             "[[{\"serialized_content\":%s,\"creator_public_key\":\"%s\",\"signature\":\"%s\"}]]",
             bytes, pk, sig);
    size_t sent = F.sent, verified = F.verified;
    json_t *r = ok("send_operations", params);
    assert_int_equal(json_array_size(r), 1);
    assert_str(json_array_get(r, 0), id_text(&s.id));
    assert_int_equal(F.sent, sent + 1);
    assert_int_equal(F.verified, verified + 1); /* through the node (its cache of signatures) */
    assert_true(F.sent_fee.nano == 10000000);
    json_decref(r);

    /* the pool's refusal is the node's error, naming the operation */
    F.pool_verdict = WEFT_E_POOL_FULL;
    int code;
    r = call(false, "send_operations", params, &code);
    assert_int_equal(code, API_ERR_NODE);
    assert_str(at(at(r, "data"), "name"), "E_POOL_FULL");
    assert_int_equal(json_integer_value(at(at(r, "data"), "index")), 0);
    assert_non_null(strstr(json_string_value(at(r, "message")), id_text(&s.id)));
    json_decref(r);
    F.pool_verdict = WEFT_OK;
    free(bytes);
    signed_op_free(&s);
    free(content);

    /* refused before the pool: nothing reaches the node */
    struct {
        uint64_t fee, expire;
        bool tamper;
        const char *name;
    } bad[] = {
        {9999999, 105, false, "E_NODE_OP_REJECTED"}, /* fee below 0.01 */
        {10000000, 99, false, "E_POOL_EXPIRED"},     /* before the current period 100 */
        {10000000, 111, false, "E_POOL_TOO_EARLY"},  /* more than 10 periods ahead */
        {10000000, 110, true, "E_SIGNATURE"},
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(bad); i++) {
        content = transfer_content(&len, bad[i].fee, bad[i].expire, 1);
        sign_op(&s, content, len);
        if (bad[i].tamper)
            s.sig.b[0] ^= 1;
        signature_to_str(sig, &s.sig);
        bytes = bytes_text(content, len);
        snprintf(params, sizeof params,
                 "[[{\"serialized_content\":%s,\"creator_public_key\":\"%s\",\"signature\":\"%s\""
                 "}]]",
                 bytes, pk, sig);
        sent = F.sent;
        verified = F.verified;
        r = call(false, "send_operations", params, &code);
        assert_int_equal(code, API_ERR_NODE);
        assert_str(at(at(r, "data"), "name"), bad[i].name);
        assert_int_equal(F.sent, sent);
        assert_int_equal(F.verified, verified + bad[i].tamper);
        json_decref(r);
        free(bytes);
        signed_op_free(&s);
        free(content);
    }
    /* the window's edges are accepted: the current period and current + 10 */
    for (uint64_t expire = 100; expire <= 110; expire += 10) {
        content = transfer_content(&len, 10000000, expire, 1);
        sign_op(&s, content, len);
        signature_to_str(sig, &s.sig);
        bytes = bytes_text(content, len);
        snprintf(params, sizeof params,
                 "[[{\"serialized_content\":%s,\"creator_public_key\":\"%s\",\"signature\":\"%s\""
                 "}]]",
                 bytes, pk, sig);
        json_decref(ok("send_operations", params));
        free(bytes);
        signed_op_free(&s);
        free(content);
    }

    /* malformed: trailing byte, bad key, bytes out of range, not wrapped */
    content = transfer_content(&len, 10000000, 105, 1);
    sign_op(&s, content, len);
    signature_to_str(sig, &s.sig);
    bytes = bytes_text(content, len);
    bytes[strlen(bytes) - 1] = '\0';
    snprintf(params, sizeof params,
             "[[{\"serialized_content\":%s,0],\"creator_public_key\":\"%s\",\"signature\":\"%s\""
             "}]]",
             bytes, pk, sig);
    fails(false, "send_operations", params, API_ERR_INVALID_PARAMS, "E_TRAILING");
    snprintf(params, sizeof params,
             "[[{\"serialized_content\":[1,2],\"creator_public_key\":\"P1x\",\"signature\":\"%s\""
             "}]]",
             sig);
    fails(false, "send_operations", params, API_ERR_INVALID_PARAMS, "creator_public_key");
    /* a key that is not a valid point (the identity: small order) is refused every time, while
     * the valid key sent above is remembered as checked */
    pubkey_t weak;
    memset(&weak, 0, sizeof weak);
    weak.b[0] = 1;
    char wpk[MODEL_STR_MAX];
    pubkey_to_str(wpk, &weak);
    snprintf(params, sizeof params,
             "[[{\"serialized_content\":[1,2],\"creator_public_key\":\"%s\",\"signature\":\"%s\""
             "}]]",
             wpk, sig);
    for (int k = 0; k < 2; k++)
        fails(false, "send_operations", params, API_ERR_INVALID_PARAMS, "E_PUBLIC_KEY");
    snprintf(params, sizeof params,
             "[[{\"serialized_content\":[1,999],\"creator_public_key\":\"%s\",\"signature\":"
             "\"%s\"}]]",
             pk, sig);
    fails(false, "send_operations", params, API_ERR_INVALID_PARAMS, "serialized_content[1]");
    fails(false, "send_operations", "[{}]", API_ERR_INVALID_PARAMS, "params[0]");
    free(bytes);
    signed_op_free(&s);
    free(content);
}

static void test_get_operations(void **state)
{
    op_id_t unknown;
    memset(&unknown, 0x42, sizeof unknown);
    char params[1024];
    snprintf(params, sizeof params, "[[\"%s\",\"%s\",\"%s\",\"%s\"]]", id_text(&F.known[0].id),
             id_text(&unknown), id_text(&F.known[1].id), id_text(&F.known[2].id));
    json_t *r = ok("get_operations", params);
    assert_int_equal(json_array_size(r), 3); /* the unknown one is left out */
    struct {
        const char *status, *final;
        bool in_pool;
        size_t blocks;
    } want[3] = {
        {"null", "null", true, 0}, {"true", "false", false, 1}, {"false", "true", false, 1}};
    for (int i = 0; i < 3; i++) {
        json_t *o = json_array_get(r, (size_t)i);
        assert_keys(o, "id,in_pool,in_blocks,is_operation_final,thread,operation,op_exec_status");
        assert_str(at(o, "id"), id_text(&F.known[i].id));
        char *st = json_dumps(at(o, "op_exec_status"), JSON_ENCODE_ANY);
        char *fi = json_dumps(at(o, "is_operation_final"), JSON_ENCODE_ANY);
        assert_string_equal(st, want[i].status); /* explicit nulls until executed */
        assert_string_equal(fi, want[i].final);
        free(st);
        free(fi);
        assert_true(json_is_true(at(o, "in_pool")) == want[i].in_pool);
        assert_int_equal(json_array_size(at(o, "in_blocks")), want[i].blocks);
        assert_int_equal(json_integer_value(at(o, "thread")), address_thread(&F.user_addr, 32));
        json_t *op = at(o, "operation");
        assert_keys(op, "content,signature,content_creator_pub_key,content_creator_address,id");
        assert_keys(at(op, "content"), "fee,expire_period,op");
        assert_str(at(at(op, "content"), "fee"), "0.01");
        assert_int_equal(json_integer_value(at(at(op, "content"), "expire_period")), 105);
        json_t *tx = at(at(at(op, "content"), "op"), "Transaction");
        assert_keys(tx, "recipient_address,amount");
        char amt[32];
        snprintf(amt, sizeof amt, "1.00000000%d", i);
        assert_str(at(tx, "amount"), i ? amt : "1");
        assert_str(at(op, "id"), id_text(&F.known[i].id));
    }
    json_decref(r);
    fails(false, "get_operations", "[[\"B1234\"]]", API_ERR_INVALID_PARAMS, "params[0][0]");
    r = ok("get_operations", "[[]]");
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
}

static void test_blocks_graph_cliques(void **state)
{
    char bid[MODEL_STR_MAX], params[512];
    block_id_to_str(bid, &F.header.id);
    block_id_t unknown;
    memset(&unknown, 7, sizeof unknown);
    char ubid[MODEL_STR_MAX];
    block_id_to_str(ubid, &unknown);
    snprintf(params, sizeof params, "[[\"%s\",\"%s\"]]", ubid, bid);
    json_t *r = ok("get_blocks", params);
    assert_int_equal(json_array_size(r), 1);
    json_t *b = json_array_get(r, 0);
    assert_keys(b, "id,content");
    assert_str(at(b, "id"), bid);
    json_t *c = at(b, "content");
    assert_keys(c, "is_final,is_in_blockclique,is_candidate,is_discarded,block");
    assert_true(json_is_false(at(c, "is_final")) && json_is_true(at(c, "is_candidate")));
    assert_true(json_is_true(at(c, "is_in_blockclique")) && json_is_false(at(c, "is_discarded")));
    json_t *blk = at(c, "block");
    assert_keys(blk, "header,operations");
    assert_int_equal(json_array_size(at(blk, "operations")), 2);
    assert_str(json_array_get(at(blk, "operations"), 0), id_text(&F.block_ops[0]));
    json_t *h = at(blk, "header");
    assert_keys(h, "content,signature,content_creator_pub_key,content_creator_address,id");
    assert_str(at(h, "id"), bid);
    json_t *hc = at(h, "content");
    assert_keys(hc, "current_version,announced_version,slot,parents,operation_merkle_root,"
                    "endorsements,denunciations");
    assert_true(json_is_null(at(hc, "announced_version")));
    assert_slot(at(hc, "slot"), 3, 1);
    assert_int_equal(json_array_size(at(hc, "parents")), 32);
    json_t *e = json_array_get(at(hc, "endorsements"), 0);
    assert_keys(e, "content,signature,content_creator_pub_key,content_creator_address,id");
    assert_keys(at(e, "content"), "slot,index,endorsed_block");
    assert_int_equal(json_integer_value(at(at(e, "content"), "index")), 2);
    json_decref(r);

    /* by slot: the block, or null */
    r = ok("get_blockclique_block_by_slot", "[{\"period\":3,\"thread\":1}]");
    assert_str(at(at(r, "header"), "id"), bid);
    json_decref(r);
    r = ok("get_blockclique_block_by_slot", "[{\"period\":4,\"thread\":1}]");
    assert_true(json_is_null(r));
    json_decref(r);
    fails(false, "get_blockclique_block_by_slot", "[{\"period\":4,\"thread\":32}]",
          API_ERR_INVALID_PARAMS, "thread");

    /* the graph interval: summaries; absent and null bounds mean the whole graph */
    r = ok("get_graph_interval", "[{}]");
    assert_int_equal(json_array_size(r), 2);
    json_t *g = json_array_get(r, 1);
    assert_keys(g, "id,is_final,is_stale,is_in_blockclique,slot,creator,parents");
    assert_true(json_is_true(at(g, "is_stale")) && json_is_false(at(g, "is_in_blockclique")));
    json_decref(r);
    r = ok("get_graph_interval", "[{\"start\":null,\"end\":null}]");
    assert_int_equal(json_array_size(r), 2);
    json_decref(r);
    r = ok("get_graph_interval", "[{\"start\":1000,\"end\":2000}]");
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    fails(false, "get_graph_interval", "[{\"start\":-1}]", API_ERR_INVALID_PARAMS, "start");

    r = ok("get_cliques", "[]");
    assert_int_equal(json_array_size(r), 2);
    assert_keys(json_array_get(r, 0), "block_ids,fitness,is_blockclique");
    assert_int_equal(json_integer_value(at(json_array_get(r, 0), "fitness")), 34);
    assert_str(json_array_get(at(json_array_get(r, 0), "block_ids"), 0), bid);
    json_decref(r);

    /* endorsements: the unknown one is left out */
    char eid[MODEL_STR_MAX];
    endorsement_id_to_str(eid, &F.endorsement.id);
    snprintf(params, sizeof params, "[[\"%s\",\"E1111111111111111111111111111111111111111111\"]]",
             eid);
    int code;
    json_t *x = call(false, "get_endorsements", params, &code);
    assert_int_equal(code, API_ERR_INVALID_PARAMS); /* not an id at all */
    json_decref(x);
    endorsement_id_t other;
    memset(&other, 1, sizeof other);
    char oeid[MODEL_STR_MAX];
    endorsement_id_to_str(oeid, &other);
    snprintf(params, sizeof params, "[[\"%s\",\"%s\"]]", eid, oeid);
    r = ok("get_endorsements", params);
    assert_int_equal(json_array_size(r), 1);
    assert_keys(json_array_get(r, 0), "id,in_pool,in_blocks,is_final,endorsement");
    assert_str(at(json_array_get(r, 0), "id"), eid);
    json_decref(r);
}

static void test_get_stakers(void **state)
{
    json_t *r = ok("get_stakers", "[]");
    assert_int_equal(json_array_size(r), 3);
    int want[3] = {50, 7, 5}; /* most rolls first */
    for (size_t i = 0; i < 3; i++) {
        json_t *pair = json_array_get(r, i);
        assert_int_equal(json_array_size(pair), 2);
        assert_int_equal(json_string_value(json_array_get(pair, 0))[0], 'A');
        assert_int_equal(json_integer_value(json_array_get(pair, 1)), want[i]);
    }
    json_decref(r);
    r = ok("get_stakers", "[{\"limit\":1,\"offset\":1}]");
    assert_int_equal(json_array_size(r), 1);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(r, 0), 1)), 7);
    json_decref(r);
    json_decref(ok("get_stakers", "[null]"));
    json_decref(ok("get_stakers", NULL));
    fails(false, "get_stakers", "[{\"limit\":-1,\"offset\":0}]", API_ERR_INVALID_PARAMS, "limit");
}

static void test_events(void **state)
{
    char oid[MODEL_STR_MAX], au[MODEL_STR_MAX], params[1024];
    op_id_to_str(oid, &F.known[1].id);
    address_to_str(au, &F.user_addr);
    snprintf(params, sizeof params,
             "[{\"start\":{\"period\":1,\"thread\":0},\"end\":{\"period\":200,\"thread\":3},"
             "\"emitter_address\":\"%s\",\"original_caller_address\":null,"
             "\"original_operation_id\":\"%s\",\"is_final\":false}]",
             au, oid);
    json_t *r = ok("get_filtered_sc_output_event", params);
    /* the filter reached the node */
    node_event_filter *f = &F.last_filter;
    assert_true(f->has_start && f->start.period == 1 && f->has_end && f->end.thread == 3);
    assert_true(f->has_emitter && address_eq(&f->emitter, &F.user_addr));
    assert_false(f->has_caller);
    assert_true(f->has_op && hash32_cmp(&f->op.h, &F.known[1].id.h) == 0);
    assert_int_equal(f->is_final, 0); /* "speculative", which the node widens for massa-web3 */
    assert_int_equal(f->is_error, -1);
    assert_int_equal(json_array_size(r), 2);
    json_t *e0 = json_array_get(r, 0);
    assert_keys(e0, "data,context");
    assert_str(at(e0, "data"), "Contract deployed at address: AS1");
    json_t *c0 = at(e0, "context");
    assert_keys(c0, "slot,block,read_only,call_stack,index_in_slot,origin_operation_id,is_final,"
                    "is_error,deferred_call_id,async_msg_id");
    assert_slot(at(c0, "slot"), 99, 2);
    assert_str(at(c0, "origin_operation_id"), oid);
    assert_str(json_array_get(at(c0, "call_stack"), 0), au);
    assert_true(json_is_true(at(c0, "is_final")) && json_is_false(at(c0, "is_error")));
    assert_true(json_is_false(at(c0, "read_only")));
    assert_true(json_is_null(at(c0, "deferred_call_id")) && json_is_null(at(c0, "async_msg_id")));
    /* no block, no operation: explicit nulls; invalid UTF-8 in contract output is replaced */
    json_t *c1 = at(json_array_get(r, 1), "context");
    assert_true(json_is_null(at(c1, "block")) && json_is_null(at(c1, "origin_operation_id")));
    assert_true(json_is_true(at(c1, "is_error")));
    assert_str(at(json_array_get(r, 1), "data"),
               "{\"massa_execution_error\":\"bad \xEF\xBF\xBD byte\"}");
    json_decref(r);

    json_decref(ok("get_filtered_sc_output_event", "[{\"is_final\":true,\"is_error\":true}]"));
    assert_int_equal(F.last_filter.is_final, 1);
    assert_int_equal(F.last_filter.is_error, 1);
    json_decref(ok("get_filtered_sc_output_event", "[{}]"));
    assert_int_equal(F.last_filter.is_final, -1);
    assert_false(F.last_filter.has_start);
    fails(false, "get_filtered_sc_output_event", "[{\"is_final\":\"no\"}]", API_ERR_INVALID_PARAMS,
          "is_final");
    fails(false, "get_filtered_sc_output_event", "[{\"start\":{\"period\":1}}]",
          API_ERR_INVALID_PARAMS, "start.thread");
}

static void test_read_only(void **state)
{
    char as[MODEL_STR_MAX], au[MODEL_STR_MAX], params[1024];
    address_t sc = F.user_addr;
    sc.kind = ADDRESS_SC;
    address_to_str(as, &sc);
    address_to_str(au, &F.user_addr);
    snprintf(params, sizeof params,
             "[[{\"max_gas\":1000000,\"target_address\":\"%s\",\"target_function\":\"balanceOf\","
             "\"parameter\":[1,2],\"caller_address\":\"%s\",\"coins\":null,\"fee\":\"0.01\"}]]",
             as, au);
    json_t *r = ok("execute_read_only_call", params);
    assert_int_equal(json_array_size(r), 1);
    json_t *x = json_array_get(r, 0);
    assert_keys(x, "executed_at,result,output_events,gas_cost,state_changes");
    assert_slot(at(x, "executed_at"), 100, 5);
    char *s = json_dumps(at(x, "result"), JSON_COMPACT);
    assert_string_equal(s, "{\"Ok\":[1,2,3]}");
    free(s);
    assert_int_equal(json_integer_value(at(x, "gas_cost")), 500000);
    assert_keys(at(x, "state_changes"), "ledger_changes,async_pool_changes,pos_changes,"
                                        "executed_ops_changes,executed_denunciations_changes,"
                                        "execution_trail_hash_change");
    json_t *ev = json_array_get(at(x, "output_events"), 0);
    assert_true(json_is_true(at(at(ev, "context"), "read_only")));
    json_decref(r);

    /* bytecode: an execution error is a result, not a JSON-RPC error */
    snprintf(params, sizeof params,
             "[[{\"max_gas\":1000,\"bytecode\":[0,97,115,109],\"address\":\"%s\","
             "\"operation_datastore\":null,\"fee\":null}]]",
             au);
    r = ok("execute_read_only_bytecode", params);
    s = json_dumps(at(json_array_get(r, 0), "result"), JSON_COMPACT);
    assert_string_equal(s, "{\"Error\":\"boom at 4 bytes\"}");
    free(s);
    json_decref(r);

    /* no VM: a clear JSON-RPC error */
    snprintf(params, sizeof params,
             "[[{\"max_gas\":1,\"target_address\":\"%s\",\"target_function\":\"novm\","
             "\"parameter\":[]}]]",
             as);
    fails(false, "execute_read_only_call", params, API_ERR_UNAVAILABLE, "no contract VM");
    snprintf(params, sizeof params,
             "[[{\"max_gas\":4294967296,\"target_address\":\"%s\",\"target_function\":\"f\","
             "\"parameter\":[]}]]",
             as);
    fails(false, "execute_read_only_call", params, API_ERR_INVALID_PARAMS, "max_gas");
    snprintf(params, sizeof params,
             "[[{\"max_gas\":1,\"target_address\":\"%s\",\"target_function\":\"f\"}]]", as);
    fails(false, "execute_read_only_call", params, API_ERR_INVALID_PARAMS, "parameter");
}

static void test_private_methods(void **state)
{
    /* private methods are refused on the public API */
    fails(false, "stop_node", NULL, API_ERR_METHOD_NOT_FOUND, "private");
    fails(false, "add_staking_secret_keys", "[[]]", API_ERR_METHOD_NOT_FOUND, "private");
    assert_false(F.stop_requested);

    json_t *r = ok_private("stop_node", NULL);
    assert_true(json_is_null(r));
    assert_true(F.stop_requested);
    json_decref(r);

    r = ok_private("node_sign_message", "[[104,105]]");
    assert_keys(r, "public_key,signature");
    pubkey_t pk;
    signature_t sig;
    assert_int_equal(api_json_get_pubkey(&pk, at(r, "public_key"), "pk", NULL), WEFT_OK);
    assert_int_equal(api_json_get_signature(&sig, at(r, "signature"), "sig", NULL), WEFT_OK);
    assert_int_equal(crypto_ed25519_verify(sig.b, pk.b, (const uint8_t *)"hi", 2), WEFT_OK);
    json_decref(r);

    char sk[MODEL_STR_MAX], params[512], au[MODEL_STR_MAX];
    secret_key_to_str(sk, &F.user);
    snprintf(params, sizeof params, "[[\"%s\"]]", sk);
    r = ok_private("add_staking_secret_keys", params);
    assert_true(json_is_null(r));
    assert_int_equal(F.staking_added, 1);
    json_decref(r);
    /* a bad key is refused without echoing it */
    int code;
    r = call(true, "add_staking_secret_keys", "[[\"S1notakeyatall\"]]", &code);
    assert_int_equal(code, API_ERR_INVALID_PARAMS);
    assert_null(strstr(json_string_value(at(r, "message")), "S1notakeyatall"));
    json_decref(r);

    address_to_str(au, &F.user_addr);
    snprintf(params, sizeof params, "[[\"%s\"]]", au);
    json_decref(ok_private("remove_staking_addresses", params));
    assert_true(address_eq(&F.removed, &F.user_addr));
    r = ok_private("get_staking_addresses", NULL);
    assert_int_equal(json_array_size(r), 1);
    assert_str(json_array_get(r, 0), au);
    json_decref(r);

    /* peers: parameters checked, then "not available yet" */
    fails(true, "node_ban_by_ip", "[[\"10.0.0.1\",\"::1\"]]", API_ERR_UNAVAILABLE, "network");
    fails(true, "node_ban_by_ip", "[[\"10.0.0.300\"]]", API_ERR_INVALID_PARAMS, "IP");
    fails(true, "node_unban_by_id", "[[\"N1x\"]]", API_ERR_INVALID_PARAMS, "node id");
    fails(true, "node_peers_whitelist", NULL, API_ERR_UNAVAILABLE, "network");
    fails(true, "node_add_to_peers_whitelist", "[[\"::1\"]]", API_ERR_UNAVAILABLE, "network");
}

static void test_metrics(void **state)
{
    api_metrics_t *reg = NULL;
    assert_int_equal(api_metrics_new(&reg), WEFT_OK);
    api_massa_config c = {.node = &F, .vt = &fake_vt, .metrics = reg};
    api_massa_t *m = NULL;
    assert_int_equal(api_massa_new(&m, &c), WEFT_OK);
    api_rpc_config rc = {.methods = api_massa_methods,
                         .method_count = api_massa_method_count,
                         .ctx = m,
                         .metrics = reg};
    api_rpc_t *r = NULL;
    assert_int_equal(api_rpc_new(&r, &rc), WEFT_OK);

    /* one admitted transfer, one refused by the pool */
    size_t len;
    uint8_t *content = transfer_content(&len, 0, 105, 5);
    signed_op_t so;
    sign_op(&so, content, len);
    json_t *params =
        json_pack("[[{s:o,s:o,s:o}]]", "serialized_content", api_json_bytes(content, len),
                  "creator_public_key", api_json_pubkey(&so.creator), "signature",
                  api_json_signature(&so.sig));
    json_t *req = json_pack("{s:s,s:s,s:O,s:i}", "jsonrpc", "2.0", "method", "send_operations",
                            "params", params, "id", 1);
    char *body = json_dumps(req, JSON_COMPACT);
    for (int i = 0; i < 2; i++) {
        F.pool_verdict = i ? WEFT_E_POOL_FULL : WEFT_OK;
        char *out;
        size_t olen;
        assert_int_equal(api_rpc_handle(r, &out, &olen, body, strlen(body)), WEFT_OK);
        free(out);
    }
    F.pool_verdict = WEFT_OK;
    free(body);
    json_decref(req);
    json_decref(params);
    signed_op_free(&so);
    free(content);

    wr_t w;
    wr_init(&w);
    assert_int_equal(api_massa_metrics_text(m, &w), WEFT_OK);
    wr_u8(&w, 0);
    const char *t = (const char *)w.buf;
    const char *want[] = {
        "# TYPE weft_final_period gauge\n",
        "weft_final_period{thread=\"0\"} 90\n",
        "weft_final_period{thread=\"31\"} 121\n",
        "weft_current_period 100\n",
        "weft_cliques 1\n",
        "# TYPE weft_blocks_final_total counter\nweft_blocks_final_total 11\n",
        "weft_pool_operations 5\n",
        "weft_pool_endorsements 6\n",
        "weft_operations_final_executed_total 7\n",
        "# TYPE weft_operation_signatures_verified_total counter\n"
        "weft_operation_signatures_verified_total 12\n",
        "weft_operation_signature_cache_hits_total 9\n",
        "weft_actor_mailbox_depth{actor=\"consensus\"} 4\n",
        "weft_actor_restarts_total{actor=\"consensus\"} 1\n",
        "# TYPE weft_process_resident_memory_bytes gauge\n",
        "weft_api_operations_admitted_total 1\n",
        "weft_api_operations_refused_total 1\n",
        "weft_api_calls_total{api=\"public\",method=\"send_operations\"} 2\n",
        "# TYPE weft_execution_latency_seconds histogram\n"
        "weft_execution_latency_seconds_bucket{le=\"0.005\"} 1\n"
        "weft_execution_latency_seconds_bucket{le=\"0.01\"} 1\n",
        "weft_execution_latency_seconds_bucket{le=\"0.05\"} 1\n"
        "weft_execution_latency_seconds_bucket{le=\"0.1\"} 3\n",
        "weft_execution_latency_seconds_bucket{le=\"300\"} 3\n"
        "weft_execution_latency_seconds_bucket{le=\"+Inf\"} 3\n"
        "weft_execution_latency_seconds_sum 0.125\n"
        "weft_execution_latency_seconds_count 3\n",
        "weft_finality_latency_seconds_bucket{le=\"300\"} 0\n"
        "weft_finality_latency_seconds_bucket{le=\"+Inf\"} 1\n"
        "weft_finality_latency_seconds_sum 400\n"
        "weft_finality_latency_seconds_count 1\n",
        "# TYPE weft_operations_executed_total counter\nweft_operations_executed_total 42\n",
    };
    for (size_t i = 0; i < WEFT_ARRAY_LEN(want); i++)
        if (!strstr(t, want[i]))
            fail_msg("metrics text lacks '%s':\n%s", want[i], t);
    assert_null(strstr(t, "weft_process_resident_memory_bytes 0\n")); /* read from /proc */
    assert_non_null(strstr(t, "weft_peers 0\n"));                     /* no network */
    wr_free(&w);
    api_rpc_free(r);
    api_massa_free(m);
    api_metrics_free(reg);
}

/* ---- the network (api_net_vt) ---------------------------------------------------------------- */

struct fake_net {
    net_peer_info peers[3];
    size_t npeers;
    net_stats stats;
    pubkey_t banned_ids[4];
    size_t nbanned_ids;
    char ips[8][NET_ADDR_MAX]; /* "ban X", "unban X", "wl+ X", "wl- X" in call order */
    size_t nips;
    char whitelist[2][NET_ADDR_MAX];
    size_t nwhitelist;
    weft_err fail;      /* returned by the next command, then reset */
    uint64_t behind_ms; /* how long peers' operations have waited for checks */
};
static struct fake_net N;

static weft_err n_peers(void *ctx, net_peer_info **out, size_t *n)
{
    struct fake_net *f = ctx;
    *out = malloc(sizeof f->peers);
    if (!*out)
        return WEFT_E_NOMEM;
    memcpy(*out, f->peers, sizeof f->peers);
    *n = f->npeers;
    return WEFT_OK;
}
static weft_err n_stats(void *ctx, net_stats *out)
{
    *out = ((struct fake_net *)ctx)->stats;
    return WEFT_OK;
}
static weft_err n_record(struct fake_net *f, const char *what, const char *ip)
{
    weft_err e = f->fail;
    f->fail = WEFT_OK;
    if (!e && f->nips < WEFT_ARRAY_LEN(f->ips))
        snprintf(f->ips[f->nips++], NET_ADDR_MAX, "%s %s", what, ip);
    return e;
}
static weft_err n_ban_id(void *ctx, const pubkey_t *id)
{
    struct fake_net *f = ctx;
    weft_err e = n_record(f, "ban", "id");
    if (!e && f->nbanned_ids < WEFT_ARRAY_LEN(f->banned_ids))
        f->banned_ids[f->nbanned_ids++] = *id;
    return e;
}
static weft_err n_unban_id(void *ctx, const pubkey_t *id) { return n_record(ctx, "unban", "id"); }
static weft_err n_ban_ip(void *ctx, const char *ip) { return n_record(ctx, "ban", ip); }
static weft_err n_unban_ip(void *ctx, const char *ip) { return n_record(ctx, "unban", ip); }
static weft_err n_wl_add(void *ctx, const char *ip) { return n_record(ctx, "wl+", ip); }
static weft_err n_wl_remove(void *ctx, const char *ip) { return n_record(ctx, "wl-", ip); }
static weft_err n_whitelist(void *ctx, char (**out)[NET_ADDR_MAX], size_t *n)
{
    struct fake_net *f = ctx;
    *out = malloc(sizeof f->whitelist);
    if (!*out)
        return WEFT_E_NOMEM;
    memcpy(*out, f->whitelist, sizeof f->whitelist);
    *n = f->nwhitelist;
    return WEFT_OK;
}

static uint64_t n_ops_behind_ms(void *ctx) { return ((struct fake_net *)ctx)->behind_ms; }

static void test_network(void **state)
{
    memset(&N, 0, sizeof N);
    uint8_t seed[32] = {7};
    keypair_t peer_a, peer_b;
    keypair_from_seed(&peer_a, seed);
    seed[0] = 8;
    keypair_from_seed(&peer_b, seed);
    N.peers[0] = (net_peer_info){
        .peer = 1, .node_id = peer_a.pk, .addr = "10.0.0.2:31244", .outbound = true, .ready = true};
    N.peers[1] = (net_peer_info){.peer = 2,
                                 .node_id = peer_b.pk,
                                 .addr = "[fe80::1]:40000",
                                 .outbound = false,
                                 .ready = true};
    N.peers[2] = (net_peer_info){.peer = 3, .addr = "10.0.0.9:5555", .ready = false};
    N.npeers = 3;
    N.stats = (net_stats){.peers = 3,
                          .peers_ready = 2,
                          .peers_inbound = 2,
                          .peers_outbound = 1,
                          .bans_active = 4,
                          .bans_total = 9,
                          .bytes_in = 1000,
                          .bytes_out = 2000,
                          .state_fetching = true,
                          .state_parts_in = 11,
                          .state_records_in = 12,
                          .state_bytes_in = 13,
                          .state_parts_out = 21,
                          .state_records_out = 22,
                          .state_bytes_out = 23,
                          .state_transfers = 2,
                          .state_failures = 3,
                          .state_restarts = 4,
                          .state_confirmed = 14,
                          .state_contradicted = 15,
                          .state_disputed = 16,
                          .state_checks_answered = 17,
                          .state_cur_records = 5,
                          .state_cur_bytes = 6,
                          .state_cur_roots = 7,
                          .state_cur_roots_total = 8};
    snprintf(N.whitelist[0], NET_ADDR_MAX, "192.168.1.1");
    snprintf(N.whitelist[1], NET_ADDR_MAX, "::1");
    N.nwhitelist = 2;
    api_net_vt vt = {.ctx = &N,
                     .peers = n_peers,
                     .stats = n_stats,
                     .ban_id = n_ban_id,
                     .ban_ip = n_ban_ip,
                     .unban_id = n_unban_id,
                     .unban_ip = n_unban_ip,
                     .whitelist_add = n_wl_add,
                     .whitelist_remove = n_wl_remove,
                     .whitelist = n_whitelist,
                     .ops_behind_ms = n_ops_behind_ms};
    api_massa_config c = {.node = &F, .vt = &fake_vt, .net = &vt};
    api_massa_t *m = NULL;
    assert_int_equal(api_massa_new(&m, &c), WEFT_OK);
    api_rpc_config rc = {.methods = api_massa_methods,
                         .method_count = api_massa_method_count,
                         .ctx = m,
                         .private_api = true};
    api_rpc_t *saved = PRIV;
    assert_int_equal(api_rpc_new(&PRIV, &rc), WEFT_OK);

    /* get_status: connected_nodes {"N…": [ip, is_outgoing]} for ready peers, network_stats */
    json_t *s = ok_private("get_status", "[{}]");
    char ida[MODEL_STR_MAX], idb[MODEL_STR_MAX], params[512];
    node_id_to_str(ida, &peer_a.pk);
    node_id_to_str(idb, &peer_b.pk);
    json_t *cn = at(s, "connected_nodes");
    char keys[2 * MODEL_STR_MAX + 2];
    snprintf(keys, sizeof keys, "%s,%s", ida, idb);
    assert_keys(cn, keys);
    json_t *a = at(cn, ida), *b = at(cn, idb);
    assert_int_equal(json_array_size(a), 2);
    assert_str(json_array_get(a, 0), "10.0.0.2");
    assert_true(json_is_true(json_array_get(a, 1)));
    assert_str(json_array_get(b, 0), "fe80::1");
    assert_true(json_is_false(json_array_get(b, 1)));
    json_t *ns = at(s, "network_stats");
    assert_int_equal(json_integer_value(at(ns, "in_connection_count")), 2);
    assert_int_equal(json_integer_value(at(ns, "out_connection_count")), 1);
    assert_int_equal(json_integer_value(at(ns, "known_peer_count")), 3);
    assert_int_equal(json_integer_value(at(ns, "banned_peer_count")), 4);
    assert_int_equal(json_integer_value(at(ns, "active_node_count")), 2);
    json_decref(s);

    /* bans and unbans by id: null results, every id passed on */
    snprintf(params, sizeof params, "[[\"%s\",\"%s\"]]", ida, idb);
    json_t *r = ok_private("node_ban_by_id", params);
    assert_true(json_is_null(r));
    assert_int_equal(N.nbanned_ids, 2);
    assert_memory_equal(&N.banned_ids[1], &peer_b.pk, sizeof peer_b.pk);
    json_decref(r);
    json_decref(ok_private("node_unban_by_id", params));
    /* by IP: canonical text forms; an unban without a ban succeeds, other refusals are -32000 */
    json_decref(ok_private("node_ban_by_ip", "[[\"10.0.0.2\",\"0:0::0:1\"]]"));
    N.fail = WEFT_E_NOT_FOUND;
    json_decref(ok_private("node_unban_by_ip", "[[\"10.0.0.3\"]]"));
    json_decref(ok_private("node_add_to_peers_whitelist", "[[\"192.168.1.1\"]]"));
    json_decref(ok_private("node_remove_from_peers_whitelist", "[[\"FE80::0001\"]]"));
    const char *want[] = {"ban id",       "ban id",  "unban id",        "unban id",
                          "ban 10.0.0.2", "ban ::1", "wl+ 192.168.1.1", "wl- fe80::1"};
    assert_int_equal(N.nips, WEFT_ARRAY_LEN(want));
    for (size_t i = 0; i < WEFT_ARRAY_LEN(want); i++)
        assert_string_equal(N.ips[i], want[i]);
    N.fail = WEFT_E_NOMEM;
    fails(true, "node_ban_by_ip", "[[\"10.0.0.3\"]]", API_ERR_INTERNAL, NULL);
    N.fail = WEFT_E_INVAL;
    fails(true, "node_ban_by_ip", "[[\"10.0.0.3\"]]", API_ERR_NODE, "10.0.0.3");
    N.fail = WEFT_OK;
    r = ok_private("node_peers_whitelist", NULL);
    assert_int_equal(json_array_size(r), 2);
    assert_str(json_array_get(r, 0), "192.168.1.1");
    assert_str(json_array_get(r, 1), "::1");
    json_decref(r);
    json_decref(ok_private("node_peers_whitelist", "[]"));

    /* send_operations while the node's checks are more than API_OPS_BEHIND_MAX_MS behind its
     * peers' operations: E_BUSY, before any check, and nothing reaches the node; at the bound it
     * is taken */
    size_t len;
    uint8_t *content = transfer_content(&len, 10000000, 105, 1500000000);
    signed_op_t so;
    sign_op(&so, content, len);
    char pk[MODEL_STR_MAX], sig[MODEL_STR_MAX], op_params[4096];
    pubkey_to_str(pk, &so.creator);
    signature_to_str(sig, &so.sig);
    char *bytes = bytes_text(content, len);
    snprintf(op_params, sizeof op_params,
             "[[{\"serialized_content\":%s,\"creator_public_key\":\"%s\",\"signature\":\"%s\"}]]",
             bytes, pk, sig);
    size_t sent = F.sent, verified = F.verified;
    N.behind_ms = API_OPS_BEHIND_MAX_MS + 1;
    fails(true, "send_operations", op_params, API_ERR_NODE, "201 ms behind");
    int code;
    json_t *busy = call(true, "send_operations", op_params, &code);
    assert_str(at(at(busy, "data"), "name"), "E_BUSY");
    json_decref(busy);
    assert_int_equal(F.sent, sent);
    assert_int_equal(F.verified, verified);
    N.behind_ms = API_OPS_BEHIND_MAX_MS;
    json_decref(ok_private("send_operations", op_params));
    assert_int_equal(F.sent, sent + 1);
    free(bytes);
    signed_op_free(&so);
    free(content);

    /* bad parameters: -32602 and nothing is done (the good ones before a bad one included) */
    size_t before = N.nips;
    fails(true, "node_ban_by_ip", "[[\"10.0.0.1\",\"10.0.0.300\"]]", API_ERR_INVALID_PARAMS,
          "params[0][1]: not an IP address");
    fails(true, "node_ban_by_ip", "[[\"10.0.0.1:80\"]]", API_ERR_INVALID_PARAMS, "IP");
    fails(true, "node_ban_by_ip", "[[\"\"]]", API_ERR_INVALID_PARAMS, "IP");
    fails(true, "node_ban_by_ip", "[[7]]", API_ERR_INVALID_PARAMS, "params[0][0]");
    fails(true, "node_ban_by_ip", "[\"10.0.0.1\"]", API_ERR_INVALID_PARAMS, NULL);
    fails(true, "node_add_to_peers_whitelist", "[[\"example.com\"]]", API_ERR_INVALID_PARAMS, "IP");
    fails(true, "node_remove_from_peers_whitelist", "[[null]]", API_ERR_INVALID_PARAMS, NULL);
    snprintf(params, sizeof params, "[[\"%s\",\"N1x\"]]", ida);
    fails(true, "node_ban_by_id", params, API_ERR_INVALID_PARAMS, "params[0][1]: not a node id");
    fails(true, "node_unban_by_id", "[[\"P1notanid\"]]", API_ERR_INVALID_PARAMS, "node id");
    fails(true, "node_peers_whitelist", "[1]", API_ERR_INVALID_PARAMS, NULL);
    assert_int_equal(N.nips, before);
    assert_int_equal(N.nbanned_ids, 2);
    /* still private */
    fails(false, "node_ban_by_ip", "[[\"10.0.0.1\"]]", API_ERR_METHOD_NOT_FOUND, "private");

    /* metrics: peers, bans, traffic, the final state transfer */
    wr_t w;
    wr_init(&w);
    assert_int_equal(api_massa_metrics_text(m, &w), WEFT_OK);
    wr_u8(&w, 0);
    const char *t = (const char *)w.buf;
    const char *lines[] = {"weft_peers 3\n",
                           "weft_peers_ready 2\n",
                           "weft_peer_connections{direction=\"in\"} 2\n",
                           "weft_peer_connections{direction=\"out\"} 1\n",
                           "weft_banned_peers 4\n",
                           "weft_bans_total 9\n",
                           "weft_net_bytes_received_total 1000\n",
                           "weft_net_bytes_sent_total 2000\n",
                           "weft_state_parts_fetched_total 11\n",
                           "weft_state_records_fetched_total 12\n",
                           "weft_state_bytes_fetched_total 13\n",
                           "weft_state_parts_served_total 21\n",
                           "weft_state_records_served_total 22\n",
                           "weft_state_bytes_served_total 23\n",
                           "weft_state_transfers_completed_total 2\n",
                           "weft_state_transfers_failed_total 3\n",
                           "weft_state_transfers_restarted_total 4\n",
                           "weft_state_checks_confirmed_total 14\n",
                           "weft_state_checks_contradicted_total 15\n",
                           "weft_state_transfers_disputed_total 16\n",
                           "weft_state_checks_answered_total 17\n",
                           "weft_state_transfer_active 1\n",
                           "weft_state_transfer_records 5\n",
                           "weft_state_transfer_bytes 6\n",
                           "weft_state_transfer_roots 7\n",
                           "weft_state_transfer_roots_expected 8\n",
                           "weft_net_operations_behind_seconds 0.2\n"};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(lines); i++)
        if (!strstr(t, lines[i]))
            fail_msg("metrics text lacks '%s':\n%s", lines[i], t);
    wr_free(&w);
    api_rpc_free(PRIV);
    PRIV = saved;
    api_massa_free(m);
}

/* massa-web3's own requests, through HTTP: get_status then a transfer. */
static void test_over_http(void **state)
{
    api_server_config c = {.kind = API_SERVER_PUBLIC,
                           .listen = "127.0.0.1:0",
                           .methods = api_massa_methods,
                           .method_count = api_massa_method_count,
                           .ctx = M};
    api_server_t *s = NULL;
    assert_int_equal(api_server_start(&s, &c, NULL, 0), WEFT_OK);
    char url[96];
    snprintf(url, sizeof url, "http://%s", api_server_address(s));
    json_t *params = json_pack("[{}]");
    json_t *result = NULL;
    api_error err;
    assert_int_equal(api_client_call(url, NULL, "get_status", params, 0, &result, &err), WEFT_OK);
    assert_str(at(result, "minimal_fees"), "0.01");
    assert_int_equal(json_integer_value(at(at(result, "last_slot"), "period")), 100);
    json_decref(result);
    json_decref(params);

    size_t len;
    uint8_t *content = transfer_content(&len, 10000000, 109, 5);
    signed_op_t so;
    sign_op(&so, content, len);
    params = json_pack("[[{s:o,s:o,s:o}]]", "serialized_content", api_json_bytes(content, len),
                       "creator_public_key", api_json_pubkey(&so.creator), "signature",
                       api_json_signature(&so.sig));
    assert_int_equal(api_client_call(url, NULL, "send_operations", params, 0, &result, &err),
                     WEFT_OK);
    assert_str(json_array_get(result, 0), id_text(&so.id));
    json_decref(result);
    json_decref(params);
    signed_op_free(&so);
    free(content);
    /* the private method on the public port, as the client reports it */
    assert_int_equal(api_client_call(url, NULL, "stop_node", NULL, 0, &result, &err), WEFT_E_RPC);
    assert_int_equal(err.code, API_ERR_METHOD_NOT_FOUND);
    api_error_clear(&err);
    api_server_stop(s);
}

int main(void)
{
    if (crypto_init() != WEFT_OK || log_init("warn") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_status),
        cmocka_unit_test(test_get_addresses),
        cmocka_unit_test(test_get_datastore_entries),
        cmocka_unit_test(test_send_operations),
        cmocka_unit_test(test_get_operations),
        cmocka_unit_test(test_blocks_graph_cliques),
        cmocka_unit_test(test_get_stakers),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_private_methods),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_over_http),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
