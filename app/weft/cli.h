/* Shared declarations of the weft client's command modules. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "model/model.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* offline: the command ran but the result is negative (bad signature) */
#define CLI_EXIT_NODE 1  /* online: the node cannot be reached, or refused the request */
#define CLI_EXIT_USAGE 2 /* malformed input or usage (wallet included): a named error on stderr */
#define CLI_EXIT_NEGATIVE                                                                          \
    3                      /* online: the answer is negative (operation failed, expired, unknown) */
#define CLI_EXIT_TIMEOUT 4 /* `op wait` / `--wait`: not final before the timeout */

/* A command gets argv with argv[0] = its own name. */
typedef int (*cli_fn)(int argc, char **argv);
struct cli_command {
    const char *name;
    cli_fn fn;
    const char *help;
};

int cmd_key(int argc, char **argv);
int cmd_op(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_devnet(int argc, char **argv);
/* online commands (cmd_chain.c, cmd_send.c, cmd_wallet.c, cmd_node.c) */
int cmd_status(int argc, char **argv);
int cmd_balance(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_cliques(int argc, char **argv);
int cmd_stakers(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_rolls(int argc, char **argv);
int cmd_op_track(int argc, char **argv); /* op status | op wait (called by cmd_op) */
int cmd_wallet(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_staking(int argc, char **argv);

/* Prints "weft: <NAME>: <message>[: detail]" to stderr and returns CLI_EXIT_USAGE. */
int cli_error(weft_err err, const char *detail_fmt, ...) WEFT_PRINTF(2, 3);

/* A command-line option "--name VALUE" (or "--name" alone when is_flag). */
struct cli_opt {
    const char *name;
    const char *value; /* borrowed from argv */
    bool is_flag;
    bool set;
};
/* Parses argv[1..] into opts and up to max_positional positional arguments.  Returns CLI_EXIT_OK,
 * or CLI_EXIT_USAGE after printing a named error. */
int cli_parse_opts(int argc, char **argv, struct cli_opt *opts, size_t nopts,
                   const char **positional, size_t max_positional, size_t *npositional);

/* JSON value constructors (new references; NULL on allocation failure, which jansson's setters
 * tolerate and cli_print reports). */
json_t *cli_u64(uint64_t v);     /* a number, or a decimal string above INT64_MAX */
json_t *cli_nano(uint64_t nano); /* nanoMAS as a decimal string */
json_t *cli_hex(const uint8_t *data, size_t len);
/* Prints obj (steals nothing) as JSON (--json) or as aligned "key value" lines; returns an exit
 * status. */
int cli_print(json_t *obj, bool as_json);

/* ---- online commands: where the node is, JSON-RPC calls, output ------------------------------ */

/* The options every online command takes, first in its option array (CLI_CONN_OPTS, then the
 * command's own from index CLI_CONN_NOPTS on):
 *   --rpc URL             public API (else from --repo, else --devnet node 0, else
 *                         http://127.0.0.1:33035);
 *   --repo DIR            a node's repository: api.json gives both API addresses, api.token the
 *                         private API's bearer token;
 *   --devnet DIR          a devnet (DIR/devnet.json): its node 0, as --repo;
 *   --private-rpc URL, --token-file F   the private API and its token without a repository;
 *   --wallet F            the wallet file (default $XDG_CONFIG_HOME or ~/.config:
 * weft/wallet.json);
 *   --json                print the JSON result instead of aligned lines. */
#define CLI_CONN_OPTS                                                                              \
    {.name = "rpc"}, {.name = "repo"}, {.name = "devnet"}, {.name = "private-rpc"},                \
        {.name = "token-file"}, {.name = "wallet"},                                                \
    {                                                                                              \
        .name = "json", .is_flag = true                                                            \
    }
enum {
    CLI_O_RPC,
    CLI_O_REPO,
    CLI_O_DEVNET,
    CLI_O_PRIVATE,
    CLI_O_TOKEN,
    CLI_O_WALLET,
    CLI_O_JSON,
    CLI_CONN_NOPTS
};

#define CLI_URL_MAX 300
struct cli_conn {
    char url[CLI_URL_MAX];         /* public API, "http://host:port" */
    char private_url[CLI_URL_MAX]; /* private API ("" when unknown) */
    char token[65];                /* private API token ("" when unknown) */
    char hint[CLI_URL_MAX + 64];   /* where the URLs came from, for error messages */
    const char *wallet;            /* --wallet or NULL */
    bool json;
    long timeout_ms; /* per call */
};
/* Resolves the connection from the parsed options; returns an exit status (errors printed). */
int cli_conn_init(struct cli_conn *c, const struct cli_opt *opts);
/* Calls a public (or private) method with params (stolen; NULL: none).  On success *result is a
 * new reference.  Otherwise prints what went wrong and what to do, and returns CLI_EXIT_NODE. */
int cli_call(const struct cli_conn *c, bool private_api, const char *method, json_t *params,
             json_t **result);
/* get_status's chain id, minimal fee, current period and operation validity. */
struct cli_chain {
    uint64_t chain_id;
    uint64_t period; /* last_slot.period (0 before genesis) */
    uint64_t validity_periods;
    uint64_t minimal_fee_nano;
    uint32_t thread_count;
};
int cli_chain_info(const struct cli_conn *c, struct cli_chain *out);

/* One human output line: the key left-aligned in a column, then the printf'd value. */
void cli_line(const char *key, const char *fmt, ...) WEFT_PRINTF(2, 3);
/* A JSON value as short text ("" for null; strings unquoted). */
const char *cli_text(const json_t *v, char *buf, size_t cap);
/* Parses an address / op id / block id argument; prints a named error (exit status) if bad. */
int cli_parse_address(address_t *out, const char *text, const char *what);
int cli_parse_op_id(op_id_t *out, const char *text);

/* ---- wallet (wallet.c) ------------------------------------------------------------------------
 */

/* A wallet file: JSON with each account's address and public key in clear and its secret key
 * sealed with libsodium's secretbox (XSalsa20-Poly1305) under a key derived from the password by
 * crypto_pwhash (Argon2id; salt and limits in the file); mode 0600, written atomically.  The
 * password comes from WEFT_WALLET_PASSWORD, else from a prompt on the terminal. */
typedef struct cli_wallet cli_wallet;
/* Loads path (NULL: the default path); a missing file is an empty wallet.  Exit status. */
int wallet_open(cli_wallet **out, const char *path);
void wallet_close(cli_wallet *w); /* wipes the derived key */
const char *wallet_path(const cli_wallet *w);
size_t wallet_count(const cli_wallet *w);
const address_t *wallet_address(const cli_wallet *w, size_t i);
const pubkey_t *wallet_pubkey(const cli_wallet *w, size_t i);
/* Index of an address, or -1. */
long wallet_find(const cli_wallet *w, const address_t *a);
/* Adds a key (asks for the password; a new wallet asks twice) and saves.  E_EXISTS → exit 2. */
int wallet_add(cli_wallet *w, const keypair_t *kp);
/* The keypair of account i (asks for the password).  Exit status. */
int wallet_keypair(cli_wallet *w, size_t i, keypair_t *out);
/* The account to sign with: --from (must be in the wallet), else the only account. */
int wallet_pick(const cli_wallet *w, const char *from, size_t *index);

#endif
