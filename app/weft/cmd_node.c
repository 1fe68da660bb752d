/* The private commands (the node's private API: loopback address and bearer token, from --repo
 * DIR or --private-rpc URL --token-file F):
 *   weft node stop
 *   weft staking list | add [SECRET_KEY | WALLET_ADDRESS] | remove ADDRESS…
 * `staking add` takes a secret key from its argument or standard input, or the key of a wallet
 * account given by its address. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crypto/crypto.h"

#define MAX_ADDRESSES 128

int cmd_node(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc, argv, opts, CLI_CONN_NOPTS, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || strcmp(pos[0], "stop") != 0)
        return cli_error(WEFT_E_USAGE, "usage: weft node stop (--repo DIR | --private-rpc URL "
                                       "--token-file F) [--json]");
    struct cli_conn c;
    json_t *r;
    if ((rc = cli_conn_init(&c, opts)) != 0 || (rc = cli_call(&c, true, "stop_node", NULL, &r)))
        return rc;
    if (c.json)
        rc = cli_print(r, true);
    else
        printf("stop requested: the node at %s is shutting down\n", c.private_url);
    json_decref(r);
    return rc;
}

static int staking_usage(void)
{
    return cli_error(WEFT_E_USAGE, "usage: weft staking list | add [SECRET_KEY | WALLET_ADDRESS] "
                                   "(else a secret key from stdin) | remove ADDRESS...   "
                                   "(--repo DIR | --private-rpc URL --token-file F) [--json]");
}

/* The secret key to add: an S… argument, a wallet address, or a line of stdin. */
static int staking_key(const struct cli_conn *c, const char *arg, keypair_t *kp)
{
    char line[256] = "";
    if (arg && (arg[0] == 'A')) {
        cli_wallet *w;
        size_t i;
        int rc = wallet_open(&w, c->wallet);
        if (!rc && (rc = wallet_pick(w, arg, &i)) == 0)
            rc = wallet_keypair(w, i, kp);
        wallet_close(w);
        return rc;
    }
    if (arg)
        snprintf(line, sizeof line, "%s", arg);
    else if (!fgets(line, sizeof line, stdin))
        return cli_error(WEFT_E_USAGE, "no secret key on standard input");
    line[strcspn(line, "\r\n")] = '\0';
    weft_err e = secret_key_parse(kp, line);
    crypto_wipe(line, sizeof line);
    return e ? cli_error(e, "not a secret key (S…) nor a wallet address (AU…)") : CLI_EXIT_OK;
}

int cmd_staking(int argc, char **argv)
{
    if (argc < 2)
        return staking_usage();
    const char *sub = argv[1];
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    const char *pos[MAX_ADDRESSES];
    size_t npos;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, CLI_CONN_NOPTS, pos, MAX_ADDRESSES, &npos);
    if (rc)
        return rc;
    bool list = strcmp(sub, "list") == 0, add = strcmp(sub, "add") == 0;
    bool remove = strcmp(sub, "remove") == 0;
    if ((!list && !add && !remove) || (list && npos) || (add && npos > 1) || (remove && !npos))
        return staking_usage();
    struct cli_conn c;
    if ((rc = cli_conn_init(&c, opts)) != 0)
        return rc;
    json_t *r = NULL;
    if (list) {
        if ((rc = cli_call(&c, true, "get_staking_addresses", NULL, &r)) != 0)
            return rc;
        if (c.json) {
            rc = cli_print(r, true);
        } else if (!json_array_size(r)) {
            printf("no staking address\n");
        } else {
            size_t i;
            json_t *x;
            json_array_foreach (r, i, x)
                printf("%s\n", json_string_value(x));
        }
        json_decref(r);
        return rc;
    }
    json_t *items = json_array();
    if (!items)
        return cli_error(WEFT_E_NOMEM, NULL);
    char shown[MODEL_STR_MAX] = "";
    if (add) {
        keypair_t kp;
        if ((rc = staking_key(&c, npos ? pos[0] : NULL, &kp)) == 0) {
            char sk[MODEL_STR_MAX];
            secret_key_to_str(sk, &kp);
            json_array_append_new(items, json_string(sk));
            crypto_wipe(sk, sizeof sk);
            address_t a;
            address_of_pubkey(&a, &kp.pk);
            address_to_str(shown, &a);
            keypair_wipe(&kp);
        }
    } else {
        for (size_t i = 0; i < npos && !rc; i++) {
            address_t a;
            if ((rc = cli_parse_address(&a, pos[i], "address")) == 0)
                json_array_append_new(items, json_string(pos[i]));
        }
    }
    if (rc) {
        json_decref(items);
        return rc;
    }
    const char *method = add ? "add_staking_secret_keys" : "remove_staking_addresses";
    if ((rc = cli_call(&c, true, method, json_pack("[o]", items), &r)) != 0)
        return rc;
    if (c.json) {
        json_t *o = json_pack("{s:s}", add ? "added" : "removed", add ? shown : "");
        if (o && remove) {
            json_object_set_new(o, "removed", json_array());
            for (size_t i = 0; i < npos; i++)
                json_array_append_new(json_object_get(o, "removed"), json_string(pos[i]));
        }
        rc = cli_print(o, true);
        json_decref(o);
    } else if (add) {
        printf("staking for %s\n", shown);
    } else {
        for (size_t i = 0; i < npos; i++)
            printf("no longer staking for %s\n", pos[i]);
    }
    json_decref(r);
    return rc;
}
