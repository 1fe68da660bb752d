/* Fuzz target: genesis.json parsing (src/repo).  Oracle: whatever parses writes back to text that
 * parses to the same value, and writing that value again gives the same text. */
#include "../fuzz_util.h"
#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size > 65536)
        return 0;
    repo_genesis_t g;
    char err[256];
    if (repo_genesis_parse(&g, (const char *)data, size, err, sizeof err) != WEFT_OK) {
        if (g.balances || g.rolls || g.balance_count || g.roll_count || err[0] == '\0')
            abort(); /* zeroed output and a message on every error */
        return 0;
    }
    char *text, *text2;
    size_t len, len2;
    if (repo_genesis_to_json(&g, &text, &len) != WEFT_OK)
        abort();
    repo_genesis_t back;
    if (repo_genesis_parse(&back, text, len, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "fuzz: written genesis does not parse: %s\n", err);
        abort();
    }
    if (!repo_genesis_eq(&g, &back)) {
        fprintf(stderr, "fuzz: genesis write/parse changed the value\n");
        abort();
    }
    if (repo_genesis_to_json(&back, &text2, &len2) != WEFT_OK || len2 != len ||
        memcmp(text, text2, len) != 0)
        abort();
    free(text);
    free(text2);
    repo_genesis_free(&back);
    repo_genesis_free(&g);
    return 0;
}
