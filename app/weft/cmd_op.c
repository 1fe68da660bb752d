/* weft op inspect | op sign — decode an operation's serialized content (Massa's layout), compute
 * its signed digest and id for a chain, check or make its signature.  (op status | op wait, the
 * online subcommands, are in cmd_send.c.) */
#include <string.h>

#include "cli.h"
#include "crypto/crypto.h"
#include "model/model.h"

static json_t *address_json(const address_t *a)
{
    char s[MODEL_STR_MAX];
    address_to_str(s, a);
    return json_string(s);
}

/* The decoded fields of an operation, flat: type, fee, expire_period, then the type's own. */
static void op_fields(json_t *o, const operation_t *op)
{
    json_object_set_new(o, "type", json_integer(op->type));
    json_object_set_new(o, "fee", cli_nano(op->fee.nano));
    json_object_set_new(o, "expire_period", cli_u64(op->expire_period));
    switch (op->type) {
    case OP_TRANSACTION:
        json_object_set_new(o, "recipient", address_json(&op->u.transaction.recipient));
        json_object_set_new(o, "amount", cli_nano(op->u.transaction.amount.nano));
        break;
    case OP_ROLL_BUY:
    case OP_ROLL_SELL:
        json_object_set_new(o, "roll_count", cli_nano(op->u.roll.roll_count));
        break;
    case OP_EXECUTE_SC: {
        json_object_set_new(o, "max_gas", cli_u64(op->u.execute_sc.max_gas));
        json_object_set_new(o, "max_coins", cli_nano(op->u.execute_sc.max_coins.nano));
        json_object_set_new(o, "data",
                            cli_hex(op->u.execute_sc.bytecode, op->u.execute_sc.bytecode_len));
        json_t *ds = json_array();
        for (size_t i = 0; i < op->u.execute_sc.datastore_len; i++) {
            const op_ds_entry *e = &op->u.execute_sc.datastore[i];
            json_t *entry = json_object();
            json_object_set_new(entry, "key", cli_hex(e->key, e->key_len));
            json_object_set_new(entry, "value", cli_hex(e->value, e->value_len));
            json_array_append_new(ds, entry);
        }
        json_object_set_new(o, "datastore", ds);
        break;
    }
    case OP_CALL_SC:
        json_object_set_new(o, "max_gas", cli_u64(op->u.call_sc.max_gas));
        json_object_set_new(o, "coins", cli_nano(op->u.call_sc.coins.nano));
        json_object_set_new(o, "target_addr", address_json(&op->u.call_sc.target));
        json_object_set_new(o, "target_func", json_string(op->u.call_sc.function));
        json_object_set_new(o, "param", cli_hex(op->u.call_sc.param, op->u.call_sc.param_len));
        break;
    }
}

static void id_fields(json_t *o, const hash32_t *digest, const pubkey_t *creator)
{
    char s[MODEL_STR_MAX];
    op_id_t id = {*digest};
    op_id_to_str(s, &id);
    json_object_set_new(o, "id", json_string(s));
    json_object_set_new(o, "signed_digest", cli_hex(digest->b, MODEL_HASH_LEN));
    address_t a;
    address_of_pubkey(&a, creator);
    address_to_str(s, &a);
    json_object_set_new(o, "creator_address", json_string(s));
}

static int op_usage(void)
{
    return cli_error(WEFT_E_USAGE,
                     "usage: weft op inspect --chain-id N --public-key P --content HEX "
                     "[--signature SIG] [--json] | "
                     "weft op sign --chain-id N --secret-key S --content HEX [--json] | "
                     "weft op status ID | weft op wait ID [--timeout S] [--speculative]");
}

int cmd_op(int argc, char **argv)
{
    if (argc < 2)
        return op_usage();
    const char *sub = argv[1];
    if (strcmp(sub, "status") == 0 || strcmp(sub, "wait") == 0)
        return cmd_op_track(argc, argv); /* online: cmd_send.c */
    enum { O_JSON, O_CHAIN, O_PK, O_SK, O_CONTENT, O_SIG, O_N };
    struct cli_opt opts[O_N] = {{.name = "json", .is_flag = true},
                                {.name = "chain-id"},
                                {.name = "public-key"},
                                {.name = "secret-key"},
                                {.name = "content"},
                                {.name = "signature"}};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, O_N, pos, 0, &npos);
    if (rc)
        return rc;
    bool inspect = strcmp(sub, "inspect") == 0, sign = strcmp(sub, "sign") == 0;
    if ((!inspect && !sign) || !opts[O_CHAIN].set || !opts[O_CONTENT].set ||
        (inspect && (!opts[O_PK].set || opts[O_SK].set)) ||
        (sign && (!opts[O_SK].set || opts[O_PK].set || opts[O_SIG].set)))
        return op_usage();

    uint64_t chain_id;
    weft_err e = model_parse_u64(&chain_id, opts[O_CHAIN].value);
    if (e)
        return cli_error(e, "--chain-id '%s'", opts[O_CHAIN].value);
    uint8_t *content = NULL;
    size_t content_len = 0;
    operation_t op;
    memset(&op, 0, sizeof op);
    keypair_t kp;
    memset(&kp, 0, sizeof kp);
    json_t *o = NULL;

    if ((e = hex_decode_alloc(&content, &content_len, opts[O_CONTENT].value)) != WEFT_OK) {
        rc = cli_error(e, "--content");
        goto out;
    }
    if ((e = op_decode(&op, content, content_len)) != WEFT_OK) {
        rc = cli_error(e, "operation content");
        goto out;
    }
    pubkey_t creator;
    if (inspect) {
        if ((e = pubkey_parse(&creator, opts[O_PK].value)) != WEFT_OK) {
            rc = cli_error(e, "--public-key '%s'", opts[O_PK].value);
            goto out;
        }
    } else {
        if ((e = secret_key_parse(&kp, opts[O_SK].value)) != WEFT_OK) {
            rc = cli_error(e, "--secret-key");
            goto out;
        }
        creator = kp.pk;
    }
    signature_t sig;
    if (opts[O_SIG].set && (e = signature_parse(&sig, opts[O_SIG].value)) != WEFT_OK) {
        rc = cli_error(e, "--signature '%s'", opts[O_SIG].value);
        goto out;
    }

    hash32_t digest;
    op_digest(&digest, chain_id, &creator, content, content_len);
    o = json_object();
    if (inspect) {
        op_fields(o, &op);
        id_fields(o, &digest, &creator);
        if (opts[O_SIG].set)
            json_object_set_new(
                o, "signature_valid",
                json_boolean(model_verify_digest(&sig, &creator, &digest) == WEFT_OK));
    } else {
        char s[MODEL_STR_MAX];
        id_fields(o, &digest, &creator);
        model_sign_digest(&sig, &kp, &digest);
        signature_to_str(s, &sig);
        json_object_set_new(o, "signature", json_string(s));
        uint8_t sb[MODEL_SIG_LEN];
        sb[0] = 0;
        memcpy(sb + 1, sig.b, 64);
        json_object_set_new(o, "signature_bytes", cli_hex(sb, sizeof sb));
        pubkey_to_str(s, &creator);
        json_object_set_new(o, "public_key", json_string(s));
    }
    rc = cli_print(o, opts[O_JSON].set);
out:
    json_decref(o);
    op_free(&op);
    free(content);
    keypair_wipe(&kp);
    return rc;
}
