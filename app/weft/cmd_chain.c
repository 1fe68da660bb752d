/* The read-only online commands: weft status | balance [ADDR…] | block show ID | cliques |
 * stakers | events [--op ID] [--emitter ADDR] [--caller ADDR] [--final|--speculative].
 * With --json each prints the node's JSON-RPC result unchanged (block show: the block's entry);
 * otherwise short aligned lines. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define TEXT_MAX 256
#define MAX_ADDRESSES 128 /* per get_addresses call (the API's limit) */

/* Parses the common options plus nextra command options; fills conn.  Returns an exit status. */
static int online_args(int argc, char **argv, struct cli_opt *opts, size_t nopts, const char **pos,
                       size_t max_pos, size_t *npos, struct cli_conn *c)
{
    int rc = cli_parse_opts(argc, argv, opts, nopts, pos, max_pos, npos);
    return rc ? rc : cli_conn_init(c, opts);
}

static const char *slot_text(const json_t *s, char *buf, size_t cap)
{
    if (!json_is_object(s))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%lld:%lld", (long long)json_integer_value(json_object_get(s, "period")),
                 (long long)json_integer_value(json_object_get(s, "thread")));
    return buf;
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

/* ---- status ---------------------------------------------------------------------------------- */

int cmd_status(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    struct cli_conn c;
    const char *pos[1];
    size_t npos;
    int rc = online_args(argc, argv, opts, CLI_CONN_NOPTS, pos, 0, &npos, &c);
    if (rc)
        return rc;
    json_t *s;
    if ((rc = cli_call(&c, false, "get_status", json_pack("[{}]"), &s)) != 0)
        return rc;
    if (c.json) {
        rc = cli_print(s, true);
        json_decref(s);
        return rc;
    }
    char a[TEXT_MAX], b[TEXT_MAX];
    json_t *cs = json_object_get(s, "consensus_stats"), *ns = json_object_get(s, "network_stats");
    json_t *xs = json_object_get(s, "execution_stats"), *pool = json_object_get(s, "pool_stats");
    json_t *cfg = json_object_get(s, "config");
    cli_line("node", "%s  (%s)", cli_text(json_object_get(s, "node_id"), a, sizeof a),
             cli_text(json_object_get(s, "version"), b, sizeof b));
    cli_line("url", "%s", c.url);
    cli_line("chain id", "%s", cli_text(json_object_get(s, "chain_id"), a, sizeof a));
    cli_line("slot", "%s  cycle %lld", slot_text(json_object_get(s, "last_slot"), a, sizeof a),
             num(s, "current_cycle"));
    cli_line("final", "%s  (executed: %s)",
             slot_text(json_object_get(xs, "final_cursor"), a, sizeof a),
             slot_text(json_object_get(xs, "active_cursor"), b, sizeof b));
    cli_line("blocks", "%lld final, %lld stale, %lld cliques", num(cs, "final_block_count"),
             num(cs, "stale_block_count"), num(cs, "clique_count"));
    cli_line("operations", "%lld final executed, %lld in pool (%lld endorsements)",
             num(xs, "final_executed_operations_count"),
             (long long)json_integer_value(json_array_get(pool, 0)),
             (long long)json_integer_value(json_array_get(pool, 1)));
    cli_line("peers", "%lld in, %lld out, %lld banned", num(ns, "in_connection_count"),
             num(ns, "out_connection_count"), num(ns, "banned_peer_count"));
    cli_line("minimal fee", "%s MAS", cli_text(json_object_get(s, "minimal_fees"), a, sizeof a));
    cli_line("t0", "%lld ms, %lld threads, %lld periods per cycle", num(cfg, "t0"),
             num(cfg, "thread_count"), num(cfg, "periods_per_cycle"));
    json_decref(s);
    return CLI_EXIT_OK;
}

/* ---- balance --------------------------------------------------------------------------------- */

int cmd_balance(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    struct cli_conn c;
    const char *pos[MAX_ADDRESSES];
    size_t npos;
    int rc = online_args(argc, argv, opts, CLI_CONN_NOPTS, pos, MAX_ADDRESSES, &npos, &c);
    if (rc)
        return rc;
    json_t *list = json_array();
    if (!list)
        return cli_error(WEFT_E_NOMEM, NULL);
    for (size_t i = 0; i < npos && !rc; i++) {
        address_t a;
        if ((rc = cli_parse_address(&a, pos[i], "address")) == 0)
            json_array_append_new(list, json_string(pos[i]));
    }
    if (!rc && npos == 0) { /* the wallet's accounts */
        cli_wallet *w;
        if ((rc = wallet_open(&w, c.wallet)) == 0) {
            for (size_t i = 0; i < wallet_count(w) && i < MAX_ADDRESSES; i++) {
                char as[MODEL_STR_MAX];
                address_to_str(as, wallet_address(w, i));
                json_array_append_new(list, json_string(as));
            }
            if (!wallet_count(w))
                rc = cli_error(WEFT_E_USAGE,
                               "give addresses (weft balance AU…), or add accounts to the wallet "
                               "%s",
                               wallet_path(w));
            wallet_close(w);
        }
    }
    if (rc) {
        json_decref(list);
        return rc;
    }
    json_t *r;
    if ((rc = cli_call(&c, false, "get_addresses", json_pack("[o]", list), &r)) != 0)
        return rc;
    if (c.json) {
        rc = cli_print(r, true);
    } else {
        size_t i;
        json_t *x;
        printf("%-54s %20s %20s %8s\n", "address", "final (MAS)", "candidate (MAS)", "rolls");
        json_array_foreach (r, i, x) {
            char a[TEXT_MAX], f[TEXT_MAX], cand[TEXT_MAX];
            printf("%-54s %20s %20s %8lld\n", cli_text(json_object_get(x, "address"), a, sizeof a),
                   cli_text(json_object_get(x, "final_balance"), f, sizeof f),
                   cli_text(json_object_get(x, "candidate_balance"), cand, sizeof cand),
                   num(x, "candidate_roll_count"));
        }
    }
    json_decref(r);
    return rc;
}

/* ---- block show ------------------------------------------------------------------------------ */

int cmd_block(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    struct cli_conn c;
    const char *pos[2];
    size_t npos;
    int rc = online_args(argc, argv, opts, CLI_CONN_NOPTS, pos, 2, &npos, &c);
    if (rc)
        return rc;
    if (npos != 2 || strcmp(pos[0], "show") != 0)
        return cli_error(WEFT_E_USAGE, "usage: weft block show BLOCK_ID [--json]");
    block_id_t id;
    weft_err e = block_id_parse(&id, pos[1]);
    if (e)
        return cli_error(e, "'%s' is not a block id (B…)", pos[1]);
    json_t *r;
    if ((rc = cli_call(&c, false, "get_blocks", json_pack("[[s]]", pos[1]), &r)) != 0)
        return rc;
    json_t *item = json_array_get(r, 0);
    if (!item) {
        json_decref(r);
        fprintf(stderr, "weft: block %s is unknown to the node at %s\n", pos[1], c.url);
        return CLI_EXIT_NEGATIVE;
    }
    if (c.json) {
        rc = cli_print(item, true);
        json_decref(r);
        return rc;
    }
    json_t *content = json_object_get(item, "content");
    json_t *blk = json_object_get(content, "block");
    json_t *hdr = json_object_get(blk, "header"), *hc = json_object_get(hdr, "content");
    json_t *ops = json_object_get(blk, "operations");
    bool final = json_is_true(json_object_get(content, "is_final"));
    bool cand = json_is_true(json_object_get(content, "is_candidate"));
    bool bc = json_is_true(json_object_get(content, "is_in_blockclique"));
    char a[TEXT_MAX];
    cli_line("block", "%s", pos[1]);
    cli_line("slot", "%s", slot_text(json_object_get(hc, "slot"), a, sizeof a));
    cli_line("status", "%s%s",
             final  ? "final"
             : cand ? "candidate"
                    : "discarded",
             bc ? ", in the blockclique" : "");
    cli_line("creator", "%s",
             cli_text(json_object_get(hdr, "content_creator_address"), a, sizeof a));
    cli_line("parents", "%zu", json_array_size(json_object_get(hc, "parents")));
    cli_line("endorsements", "%zu", json_array_size(json_object_get(hc, "endorsements")));
    cli_line("operations", "%zu", json_array_size(ops));
    size_t i;
    json_t *x;
    json_array_foreach (ops, i, x)
        printf("  %s\n", json_string_value(x));
    json_decref(r);
    return CLI_EXIT_OK;
}

/* ---- cliques and stakers --------------------------------------------------------------------- */

int cmd_cliques(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    struct cli_conn c;
    const char *pos[1];
    size_t npos;
    int rc = online_args(argc, argv, opts, CLI_CONN_NOPTS, pos, 0, &npos, &c);
    if (rc)
        return rc;
    json_t *r;
    if ((rc = cli_call(&c, false, "get_cliques", NULL, &r)) != 0)
        return rc;
    if (c.json) {
        rc = cli_print(r, true);
    } else {
        size_t i;
        json_t *x;
        printf("%-6s %-12s %12s %8s\n", "clique", "", "fitness", "blocks");
        json_array_foreach (r, i, x) {
            char f[TEXT_MAX];
            printf("%-6zu %-12s %12s %8zu\n", i,
                   json_is_true(json_object_get(x, "is_blockclique")) ? "blockclique" : "",
                   cli_text(json_object_get(x, "fitness"), f, sizeof f),
                   json_array_size(json_object_get(x, "block_ids")));
        }
    }
    json_decref(r);
    return rc;
}

int cmd_stakers(int argc, char **argv)
{
    struct cli_opt opts[CLI_CONN_NOPTS] = {CLI_CONN_OPTS};
    struct cli_conn c;
    const char *pos[1];
    size_t npos;
    int rc = online_args(argc, argv, opts, CLI_CONN_NOPTS, pos, 0, &npos, &c);
    if (rc)
        return rc;
    json_t *r;
    if ((rc = cli_call(&c, false, "get_stakers", NULL, &r)) != 0)
        return rc;
    if (c.json) {
        rc = cli_print(r, true);
    } else {
        size_t i;
        json_t *x;
        printf("%-54s %8s\n", "address", "rolls");
        json_array_foreach (r, i, x) {
            char a[TEXT_MAX], n[TEXT_MAX];
            printf("%-54s %8s\n", cli_text(json_array_get(x, 0), a, sizeof a),
                   cli_text(json_array_get(x, 1), n, sizeof n));
        }
    }
    json_decref(r);
    return rc;
}

/* ---- events ---------------------------------------------------------------------------------- */

int cmd_events(int argc, char **argv)
{
    enum { O_OP = CLI_CONN_NOPTS, O_EMITTER, O_CALLER, O_FINAL, O_SPEC, O_N };
    struct cli_opt opts[O_N] = {CLI_CONN_OPTS,
                                {.name = "op"},
                                {.name = "emitter"},
                                {.name = "caller"},
                                {.name = "final", .is_flag = true},
                                {.name = "speculative", .is_flag = true}};
    struct cli_conn c;
    const char *pos[1];
    size_t npos;
    int rc = online_args(argc, argv, opts, O_N, pos, 0, &npos, &c);
    if (rc)
        return rc;
    if (opts[O_FINAL].set && opts[O_SPEC].set)
        return cli_error(WEFT_E_USAGE, "--final and --speculative exclude each other");
    json_t *f =
        json_pack("{s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "start", "end", "emitter_address",
                  "original_caller_address", "original_operation_id", "is_final", "is_error");
    if (!f)
        return cli_error(WEFT_E_NOMEM, NULL);
    op_id_t id;
    address_t a;
    if (!rc && opts[O_OP].set && (rc = cli_parse_op_id(&id, opts[O_OP].value)) == 0)
        json_object_set_new(f, "original_operation_id", json_string(opts[O_OP].value));
    if (!rc && opts[O_EMITTER].set &&
        (rc = cli_parse_address(&a, opts[O_EMITTER].value, "--emitter")) == 0)
        json_object_set_new(f, "emitter_address", json_string(opts[O_EMITTER].value));
    if (!rc && opts[O_CALLER].set &&
        (rc = cli_parse_address(&a, opts[O_CALLER].value, "--caller")) == 0)
        json_object_set_new(f, "original_caller_address", json_string(opts[O_CALLER].value));
    if (opts[O_FINAL].set || opts[O_SPEC].set)
        json_object_set_new(f, "is_final", json_boolean(opts[O_FINAL].set));
    if (rc) {
        json_decref(f);
        return rc;
    }
    json_t *r;
    if ((rc = cli_call(&c, false, "get_filtered_sc_output_event", json_pack("[o]", f), &r)) != 0)
        return rc;
    if (c.json) {
        rc = cli_print(r, true);
    } else if (json_array_size(r) == 0) {
        printf("no event\n");
    } else {
        size_t i;
        json_t *x;
        json_array_foreach (r, i, x) {
            json_t *ctx = json_object_get(x, "context");
            json_t *stack = json_object_get(ctx, "call_stack");
            char s[TEXT_MAX], op[TEXT_MAX], em[TEXT_MAX];
            printf("%-9s %-5s %-5s %-53s %s\n",
                   slot_text(json_object_get(ctx, "slot"), s, sizeof s),
                   json_is_true(json_object_get(ctx, "is_final")) ? "final" : "spec",
                   json_is_true(json_object_get(ctx, "is_error")) ? "error" : "",
                   cli_text(json_object_get(ctx, "origin_operation_id"), op, sizeof op),
                   cli_text(json_array_get(stack, json_array_size(stack) - 1), em, sizeof em));
            printf("          %s\n", json_string_value(json_object_get(x, "data")));
        }
    }
    json_decref(r);
    return rc;
}
