/* Fuzz target: the config.ini parser (src/repo).  Oracle: a parse either succeeds or leaves the
 * configuration untouched with a message; what parses formats to text that parses back to the same
 * configuration. */
#include "../fuzz_util.h"
#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    repo_config_t c, d;
    repo_config_default(&c);
    repo_config_default(&d);
    char err[256] = "";
    if (repo_config_parse(&c, (const char *)data, size, err, sizeof err) != WEFT_OK) {
        if (!repo_config_eq(&c, &d) || strncmp(err, "config.ini:", 11) != 0)
            abort(); /* all or nothing, and a message naming the file */
        return 0;
    }
    char *text;
    size_t len;
    if (repo_config_format(&c, &text, &len) != WEFT_OK)
        abort();
    repo_config_t back;
    repo_config_default(&back);
    if (repo_config_parse(&back, text, len, err, sizeof err) != WEFT_OK) {
        fprintf(stderr, "fuzz: formatted config does not parse: %s\n", err);
        abort();
    }
    if (!repo_config_eq(&c, &back)) {
        fprintf(stderr, "fuzz: config format/parse changed the value\n");
        abort();
    }
    free(text);
    return 0;
}
