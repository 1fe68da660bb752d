/* weft — the client.  Dispatches `weft <command> ...` to the command modules (cmd_*.c); each
 * command owns its parsing and output.  Offline commands work on their arguments; online ones
 * talk to a node's JSON-RPC API (cli.c: where the node is, calls, errors).  Exit statuses are
 * listed by the usage text. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli.h"
#include "crypto/crypto.h"

static const struct cli_command commands[] = {
    {"key", cmd_key, "key new | key show SECRET_KEY — keypairs, addresses, threads"},
    {"op", cmd_op,
     "op inspect | op sign — decode, hash and sign operations; op status ID | op wait ID "
     "[--timeout S] [--speculative]"},
    {"graph", cmd_graph, "graph replay SCENARIO.json [--trace] — run a block graph scenario"},
    {"vm", cmd_vm, "vm invoke MODULE.wasm EXPORT [TYPE:VALUE ...] — run a wasm export"},
    {"devnet", cmd_devnet,
     "devnet --dir DIR [--nodes N] [--t0 MS] [--detach] | devnet stop|status"},
    {"status", cmd_status, "the node: slot, finality, blocks, pool, peers, fee"},
    {"wallet", cmd_wallet, "wallet new | list | import [SECRET_KEY] | show [ADDRESS] [--secret]"},
    {"balance", cmd_balance, "balance [ADDRESS...] — final and candidate balances, rolls"},
    {"send", cmd_send,
     "send --to ADDRESS --amount MAS [--fee MAS] [--from ADDRESS] [--wait [--timeout S]]"},
    {"rolls", cmd_rolls, "rolls buy|sell COUNT [--fee MAS] [--from ADDRESS] [--wait]"},
    {"block", cmd_block, "block show BLOCK_ID"},
    {"cliques", cmd_cliques, "the block graph's maximal cliques"},
    {"stakers", cmd_stakers, "addresses with rolls"},
    {"events", cmd_events,
     "events [--op ID] [--emitter ADDRESS] [--caller ADDRESS] [--final|--speculative]"},
    {"node", cmd_node, "node stop (private API)"},
    {"staking", cmd_staking,
     "staking list | add [SECRET_KEY | WALLET_ADDRESS] | remove ADDRESS... (private API)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: weft <command> [args] [--json]\n\ncommands:\n");
    for (size_t i = 0; i < WEFT_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nonline commands (status … staking) find the node with:\n"
               "  --rpc URL            its public API (default: $WEFT_RPC, else "
               "http://127.0.0.1:33035)\n"
               "  --repo DIR           its repository: public and private API and token from "
               "api.json/api.token\n"
               "  --devnet DIR         node 0 of a `weft devnet` (DIR/devnet.json)\n"
               "  --private-rpc URL --token-file F   the private API (node stop, staking) without "
               "a repository\n"
               "  --wallet F           the wallet (default ~/.config/weft/wallet.json; password "
               "from\n"
               "                       $WEFT_WALLET_PASSWORD, else asked on the terminal)\n"
               "  --json               the JSON result instead of aligned lines\n"
               "\nexit status: 0 ok; 1 the node cannot be reached or refused the request; 2 bad "
               "usage or\n"
               "input (wallet included); 3 a negative answer (operation failed, expired or "
               "unknown; block\n"
               "unknown); 4 timed out waiting (op wait, --wait).  Offline commands: 1 when the "
               "result is\n"
               "negative (op inspect: invalid signature), 2 for bad input.\n");
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
