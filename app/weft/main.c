/* weft — the client.  Dispatches `weft <command> ...` to the command modules (cmd_*.c); each
 * command owns its parsing and output.  Exit status: 0 ok, 2 bad input or usage (a named error on
 * stderr), other values as documented by the command. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli.h"
#include "crypto/crypto.h"

static const struct cli_command commands[] = {
    {"key", cmd_key, "key new | key show SECRET_KEY — keypairs, addresses, threads"},
    {"op", cmd_op, "op inspect | op sign — decode, hash and sign operations"},
    {"graph", cmd_graph, "graph replay SCENARIO.json [--trace] — run a block graph scenario"},
    {"vm", cmd_vm, "vm invoke MODULE.wasm EXPORT [TYPE:VALUE ...] — run a wasm export"},
    {"devnet", cmd_devnet,
     "devnet --dir DIR [--nodes N] [--t0 MS] [--detach] | devnet stop|status"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: weft <command> [args] [--json]\n\ncommands:\n");
    for (size_t i = 0; i < WEFT_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    if (crypto_init() != WEFT_OK) {
        fprintf(stderr, "weft: E_UNSUPPORTED: cannot initialize libsodium\n");
        return 1;
    }
    if (log_init(NULL) != WEFT_OK)
        fprintf(stderr, "weft: ignoring unknown WEFT_LOG level\n");
    for (size_t i = 0; i < WEFT_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "weft: E_USAGE: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
