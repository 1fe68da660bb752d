/* weft key new | key show SECRET_KEY — keypairs and what derives from them: secret key (S…),
 * public key (P…), user address (AU…), the address's thread, and the binary forms in hex. */
#include <string.h>

#include "cli.h"
#include "crypto/crypto.h"
#include "model/model.h"

static int print_key(const keypair_t *kp, uint32_t thread_count, bool as_json)
{
    char sk[MODEL_STR_MAX], pk[MODEL_STR_MAX], addr[MODEL_STR_MAX];
    uint8_t pkb[MODEL_PK_LEN];
    address_t a;
    wr_t w;
    uint8_t ab[MODEL_ADDRESS_LEN];

    secret_key_to_str(sk, kp);
    pubkey_to_str(pk, &kp->pk);
    pubkey_to_bytes(pkb, &kp->pk);
    address_of_pubkey(&a, &kp->pk);
    address_to_str(addr, &a);
    wr_init_fixed(&w, ab, sizeof ab);
    address_write(&w, &a);

    json_t *o = json_object();
    json_object_set_new(o, "secret_key", json_string(sk));
    json_object_set_new(o, "public_key", json_string(pk));
    json_object_set_new(o, "address", json_string(addr));
    json_object_set_new(o, "thread", json_integer(address_thread(&a, thread_count)));
    json_object_set_new(o, "thread_count", json_integer(thread_count));
    json_object_set_new(o, "public_key_bytes", cli_hex(pkb, sizeof pkb));
    json_object_set_new(o, "address_bytes", cli_hex(ab, w.len));
    int rc = cli_print(o, as_json);
    json_decref(o);
    crypto_wipe(sk, sizeof sk);
    return rc;
}

static int key_usage(void)
{
    return cli_error(WEFT_E_USAGE, "usage: weft key new [--thread-count T] [--json] | "
                                   "weft key show SECRET_KEY [--thread-count T] [--json]");
}

int cmd_key(int argc, char **argv)
{
    if (argc < 2)
        return key_usage();
    const char *sub = argv[1];
    struct cli_opt opts[] = {{.name = "json", .is_flag = true}, {.name = "thread-count"}};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, 2, pos, 1, &npos);
    if (rc)
        return rc;
    uint32_t threads = 32;
    if (opts[1].set) {
        uint64_t t;
        if (model_parse_u64(&t, opts[1].value) != WEFT_OK || t == 0 || t > 256 || (t & (t - 1)))
            return cli_error(WEFT_E_INVAL, "--thread-count must be a power of two in 1..256");
        threads = (uint32_t)t;
    }
    keypair_t kp;
    if (strcmp(sub, "new") == 0) {
        if (npos != 0)
            return key_usage();
        uint8_t seed[32];
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&kp, seed);
        crypto_wipe(seed, sizeof seed);
    } else if (strcmp(sub, "show") == 0) {
        if (npos != 1)
            return key_usage();
        weft_err e = secret_key_parse(&kp, pos[0]);
        if (e)
            return cli_error(e, "secret key '%s'", pos[0]);
    } else {
        return key_usage();
    }
    rc = print_key(&kp, threads, opts[0].set);
    keypair_wipe(&kp);
    return rc;
}
