/* weft wallet new | list | import [SECRET_KEY] | show [ADDRESS] [--secret] — the accounts the
 * client signs with (wallet.c holds the file).  Secret keys are printed only by `show --secret`;
 * `import` reads the key from its argument or, better (shell history, ps), from standard input. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crypto/crypto.h"

static int wallet_usage(void)
{
    return cli_error(WEFT_E_USAGE,
                     "usage: weft wallet new | list | import [SECRET_KEY] (else read from stdin) "
                     "| show [ADDRESS] [--secret]   [--wallet F] [--json]");
}

static json_t *account_json(const cli_wallet *w, size_t i, uint32_t threads)
{
    char as[MODEL_STR_MAX], ps[MODEL_STR_MAX];
    address_to_str(as, wallet_address(w, i));
    pubkey_to_str(ps, wallet_pubkey(w, i));
    return json_pack("{s:s,s:s,s:i}", "address", as, "public_key", ps, "thread",
                     (int)address_thread(wallet_address(w, i), threads));
}

/* A secret key from stdin (one line). */
static int read_secret(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return cli_error(WEFT_E_USAGE, "no secret key on standard input");
    out[strcspn(out, "\r\n")] = '\0';
    return CLI_EXIT_OK;
}

static int print_added(const cli_wallet *w, const keypair_t *kp, bool json, const char *verb)
{
    char as[MODEL_STR_MAX], ps[MODEL_STR_MAX];
    address_t a;
    address_of_pubkey(&a, &kp->pk);
    address_to_str(as, &a);
    pubkey_to_str(ps, &kp->pk);
    if (json) {
        json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "address", as, "public_key", ps, "thread",
                              (int)address_thread(&a, 32), "wallet", wallet_path(w));
        int rc = cli_print(o, true);
        json_decref(o);
        return rc;
    }
    printf("%s %s\n", verb, as);
    cli_line("public key", "%s", ps);
    cli_line("thread", "%u", (unsigned)address_thread(&a, 32));
    cli_line("wallet", "%s", wallet_path(w));
    return CLI_EXIT_OK;
}

int cmd_wallet(int argc, char **argv)
{
    if (argc < 2)
        return wallet_usage();
    const char *sub = argv[1];
    enum { O_SECRET = CLI_CONN_NOPTS, O_N };
    struct cli_opt opts[O_N] = {CLI_CONN_OPTS, {.name = "secret", .is_flag = true}};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, O_N, pos, 1, &npos);
    if (rc)
        return rc;
    bool json = opts[CLI_O_JSON].set;
    bool is_new = strcmp(sub, "new") == 0, is_list = strcmp(sub, "list") == 0;
    bool is_import = strcmp(sub, "import") == 0, is_show = strcmp(sub, "show") == 0;
    if ((!is_new && !is_list && !is_import && !is_show) || (opts[O_SECRET].set && !is_show) ||
        ((is_new || is_list) && npos != 0))
        return wallet_usage();
    cli_wallet *w;
    if ((rc = wallet_open(&w, opts[CLI_O_WALLET].set ? opts[CLI_O_WALLET].value : NULL)) != 0)
        return rc;
    keypair_t kp;
    memset(&kp, 0, sizeof kp);
    char secret[256] = "";
    if (is_new || is_import) {
        if (is_new) {
            uint8_t seed[32];
            crypto_random(seed, sizeof seed);
            keypair_from_seed(&kp, seed);
            crypto_wipe(seed, sizeof seed);
        } else {
            if (npos)
                snprintf(secret, sizeof secret, "%s", pos[0]);
            else
                rc = read_secret(secret, sizeof secret);
            weft_err e = rc ? WEFT_OK : secret_key_parse(&kp, secret);
            if (e) /* the key is never echoed */
                rc = cli_error(e, "not a secret key (S…)");
        }
        if (!rc)
            rc = wallet_add(w, &kp);
        if (!rc)
            rc = print_added(w, &kp, json, is_new ? "created" : "imported");
    } else if (is_list) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < wallet_count(w); i++)
            json_array_append_new(a, account_json(w, i, 32));
        if (!a) {
            rc = cli_error(WEFT_E_NOMEM, NULL);
        } else if (json) {
            rc = cli_print(a, true);
        } else if (!wallet_count(w)) {
            printf("no account in %s (weft wallet new | weft wallet import)\n", wallet_path(w));
        } else {
            for (size_t i = 0; i < wallet_count(w); i++) {
                json_t *x = json_array_get(a, i);
                printf("%-54s %s\n", json_string_value(json_object_get(x, "address")),
                       json_string_value(json_object_get(x, "public_key")));
            }
        }
        json_decref(a);
    } else { /* show */
        size_t i = 0;
        rc = wallet_pick(w, npos ? pos[0] : NULL, &i);
        if (!rc && opts[O_SECRET].set)
            rc = wallet_keypair(w, i, &kp);
        json_t *o = rc ? NULL : account_json(w, i, 32);
        if (o && opts[O_SECRET].set) {
            secret_key_to_str(secret, &kp);
            json_object_set_new(o, "secret_key", json_string(secret));
        }
        if (o && json) {
            rc = cli_print(o, true);
        } else if (o) {
            cli_line("address", "%s", json_string_value(json_object_get(o, "address")));
            cli_line("public key", "%s", json_string_value(json_object_get(o, "public_key")));
            cli_line("thread", "%lld", (long long)json_integer_value(json_object_get(o, "thread")));
            if (opts[O_SECRET].set)
                cli_line("secret key", "%s", secret);
        }
        json_decref(o);
    }
    crypto_wipe(secret, sizeof secret);
    keypair_wipe(&kp);
    wallet_close(w);
    return rc;
}
