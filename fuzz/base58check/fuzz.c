/* Fuzz target: base58 and base58check text decoding, and the key/address/id text parsers.
 * Oracle: text that decodes re-encodes to the same text. */
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t out[2048];
    char back[4096];
    int n = b58check_decode(out, sizeof out, text);
    if (n >= 0) {
        if (b58check_encode(back, sizeof back, out, (size_t)n) < 0 || strcmp(back, text) != 0)
            abort();
    }
    n = b58_decode(out, sizeof out, text);
    if (n >= 0 && strlen(text) == size) {
        if (b58_encode(back, sizeof back, out, (size_t)n) < 0 || strcmp(back, text) != 0)
            abort();
    }
    address_t a;
    if (address_parse(&a, text) == WEFT_OK) {
        address_to_str(back, &a);
        if (strcmp(back, text) != 0)
            abort();
    }
    pubkey_t pk;
    if (pubkey_parse(&pk, text) == WEFT_OK) {
        pubkey_to_str(back, &pk);
        if (strcmp(back, text) != 0)
            abort();
    }
    keypair_t kp;
    if (secret_key_parse(&kp, text) == WEFT_OK) {
        secret_key_to_str(back, &kp);
        if (strcmp(back, text) != 0)
            abort();
    }
    signature_t sig;
    if (signature_parse(&sig, text) == WEFT_OK) {
        signature_to_str(back, &sig);
        if (strcmp(back, text) != 0)
            abort();
    }
    op_id_t id;
    if (op_id_parse(&id, text) == WEFT_OK) {
        op_id_to_str(back, &id);
        if (strcmp(back, text) != 0)
            abort();
    }
    amount_t am;
    if (amount_parse(&am, text) == WEFT_OK) {
        char s[AMOUNT_STR_MAX];
        amount_format(s, am);
        amount_t again;
        if (amount_parse(&again, s) != WEFT_OK || again.nano != am.nano)
            abort();
    }
    free(text);
    return 0;
}
