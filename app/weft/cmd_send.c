/* Operations from the wallet and their progress:
 *   weft send --to ADDR --amount MAS [--fee MAS] [--from ADDR] [--wait [--timeout S]]
 *   weft rolls buy|sell N [--fee MAS] [--from ADDR] [--wait [--timeout S]]
 *   weft op status ID | op wait ID [--timeout S] [--speculative]
 * An operation is built in Massa's layout, its expiry is the node's current period plus the
 * validity window minus one (get_status), its fee the node's minimal fee unless --fee, and it is
 * signed with the wallet key of --from (or the wallet's only account) for the node's chain id. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "crypto/crypto.h"

#define DEFAULT_WAIT_S 300
#define POLL_MS 200

/* ---- progress -------------------------------------------------------------------------------- */

enum op_state { ST_UNKNOWN, ST_KNOWN, ST_POOL, ST_BLOCK, ST_SPEC, ST_FINAL };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static enum op_state state_of(const json_t *item)
{
    if (!item)
        return ST_UNKNOWN;
    if (json_is_true(json_object_get(item, "is_operation_final")))
        return ST_FINAL;
    if (!json_is_null(json_object_get(item, "op_exec_status")))
        return ST_SPEC;
    if (json_array_size(json_object_get(item, "in_blocks")) > 0)
        return ST_BLOCK;
    return json_is_true(json_object_get(item, "in_pool")) ? ST_POOL : ST_KNOWN;
}

static const char *outcome(const json_t *item)
{
    return json_is_true(json_object_get(item, "op_exec_status")) ? "succeeded" : "failed";
}

/* The operation's entry (new reference), or NULL when the node does not know it; exit status in
 * *rc. */
static json_t *fetch(const struct cli_conn *c, const char *id, int *rc)
{
    json_t *r;
    *rc = cli_call(c, false, "get_operations", json_pack("[[s]]", id), &r);
    if (*rc)
        return NULL;
    json_t *item = json_incref(json_array_get(r, 0));
    json_decref(r);
    return item;
}

static bool expire_period(const json_t *item, uint64_t *out)
{
    json_t *v = json_object_get(json_object_get(json_object_get(item, "operation"), "content"),
                                "expire_period");
    if (!json_is_integer(v))
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* One progress line per state reached (states passed between two polls are inferred). */
static void progress(double t, enum op_state from, enum op_state to, const json_t *item)
{
    for (int s = (int)from + 1; s <= (int)to; s++) {
        switch ((enum op_state)s) {
        case ST_UNKNOWN:
        case ST_KNOWN:
            continue;
        case ST_POOL:
            if (to != ST_POOL)
                continue; /* only when seen */
            printf("%7.1fs  pending in the pool\n", t);
            break;
        case ST_BLOCK:
            printf("%7.1fs  in block %s\n", t,
                   json_string_value(json_array_get(json_object_get(item, "in_blocks"), 0)));
            break;
        case ST_SPEC:
            printf("%7.1fs  speculatively executed: %s\n", t, outcome(item));
            break;
        case ST_FINAL:
            printf("%7.1fs  final: %s\n", t, outcome(item));
            break;
        }
    }
    fflush(stdout);
}

/* Waits until the operation is final (or speculatively executed when until_spec). */
static int wait_op(const struct cli_conn *c, const char *id, double timeout_s, bool until_spec)
{
    double t0 = now_s();
    enum op_state shown = ST_UNKNOWN, goal = until_spec ? ST_SPEC : ST_FINAL;
    json_t *item = NULL;
    int rc = CLI_EXIT_OK;
    for (unsigned poll = 0;; poll++) {
        json_t *next = fetch(c, id, &rc);
        if (rc)
            break;
        if (next) {
            json_decref(item);
            item = next;
        }
        enum op_state st = state_of(next);
        double t = now_s() - t0;
        if (st > shown) {
            if (!c->json)
                progress(t, shown, st, item);
            shown = st;
        }
        if (st >= goal) {
            rc = json_is_true(json_object_get(item, "op_exec_status")) ? CLI_EXIT_OK
                                                                       : CLI_EXIT_NEGATIVE;
            break;
        }
        uint64_t exp;
        if (st < ST_BLOCK && poll % 10 == 9 && item && expire_period(item, &exp)) {
            struct cli_chain ch;
            if ((rc = cli_chain_info(c, &ch)) != 0)
                break;
            if (ch.period > exp) {
                fprintf(stderr,
                        "weft: operation %s expired (period %llu passed) before a block "
                        "included it\n",
                        id, (unsigned long long)exp);
                rc = CLI_EXIT_NEGATIVE;
                break;
            }
        }
        if (t >= timeout_s) {
            fprintf(stderr,
                    "weft: operation %s not %s after %.0f s (%s): wait longer with --timeout S\n",
                    id, until_spec ? "executed" : "final", timeout_s,
                    st == ST_UNKNOWN ? "the node does not know it"
                    : st == ST_POOL  ? "still in the pool"
                    : st == ST_BLOCK ? "in a block, not executed yet"
                                     : "executed, not final yet");
            rc = CLI_EXIT_TIMEOUT;
            break;
        }
        sleep_ms(POLL_MS);
    }
    if (c->json && (rc == CLI_EXIT_OK || rc == CLI_EXIT_NEGATIVE) && item)
        cli_print(item, true);
    json_decref(item);
    return rc;
}

static int parse_timeout(const struct cli_opt *o, double *out)
{
    *out = DEFAULT_WAIT_S;
    if (!o->set)
        return CLI_EXIT_OK;
    uint64_t v;
    if (model_parse_u64(&v, o->value) != WEFT_OK || v == 0 || v > 86400)
        return cli_error(WEFT_E_USAGE, "--timeout wants seconds, 1..86400");
    *out = (double)v;
    return CLI_EXIT_OK;
}

/* ---- op status | op wait --------------------------------------------------------------------- */

int cmd_op_track(int argc, char **argv)
{
    enum { O_TIMEOUT = CLI_CONN_NOPTS, O_SPEC, O_N };
    struct cli_opt opts[O_N] = {
        CLI_CONN_OPTS, {.name = "timeout"}, {.name = "speculative", .is_flag = true}};
    const char *pos[1];
    size_t npos;
    bool wait = strcmp(argv[1], "wait") == 0;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, O_N, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || (!wait && (opts[O_TIMEOUT].set || opts[O_SPEC].set)))
        return cli_error(WEFT_E_USAGE, "usage: weft op status OPERATION_ID [--json] | weft op wait "
                                       "OPERATION_ID [--timeout S] [--speculative] [--json]");
    struct cli_conn c;
    op_id_t id;
    double timeout;
    if ((rc = cli_parse_op_id(&id, pos[0])) != 0 || (rc = cli_conn_init(&c, opts)) != 0 ||
        (rc = parse_timeout(&opts[O_TIMEOUT], &timeout)) != 0)
        return rc;
    if (wait)
        return wait_op(&c, pos[0], timeout, opts[O_SPEC].set);
    json_t *item = fetch(&c, pos[0], &rc);
    if (rc)
        return rc;
    if (c.json) {
        rc = cli_print(item ? item : json_null(), true);
        json_decref(item);
        return rc ? rc : item ? CLI_EXIT_OK : CLI_EXIT_NEGATIVE;
    }
    enum op_state st = state_of(item);
    char text[128];
    switch (st) {
    case ST_UNKNOWN:
        printf("operation %s: unknown to the node at %s\n", pos[0], c.url);
        return CLI_EXIT_NEGATIVE;
    case ST_KNOWN:
        snprintf(text, sizeof text, "known, no longer in the pool and in no block");
        break;
    case ST_POOL:
        snprintf(text, sizeof text, "pending in the pool");
        break;
    case ST_BLOCK:
        snprintf(text, sizeof text, "in a block, not executed yet");
        break;
    case ST_SPEC:
        snprintf(text, sizeof text, "speculatively executed: %s (not final)", outcome(item));
        break;
    case ST_FINAL:
        snprintf(text, sizeof text, "final: %s", outcome(item));
        break;
    }
    cli_line("operation", "%s", pos[0]);
    cli_line("status", "%s", text);
    size_t i;
    json_t *b;
    json_array_foreach (json_object_get(item, "in_blocks"), i, b)
        cli_line(i ? "" : "in blocks", "%s", json_string_value(b));
    json_t *content = json_object_get(json_object_get(item, "operation"), "content");
    char a[256], f[64];
    if (content) {
        cli_line(
            "creator", "%s",
            cli_text(json_object_get(json_object_get(item, "operation"), "content_creator_address"),
                     a, sizeof a));
        cli_line("fee", "%s MAS", cli_text(json_object_get(content, "fee"), f, sizeof f));
        cli_line("expire period", "%s",
                 cli_text(json_object_get(content, "expire_period"), f, sizeof f));
    }
    json_decref(item);
    return CLI_EXIT_OK;
}

/* ---- send and rolls -------------------------------------------------------------------------- */

/* Signs op (fee and expiry set here) with the wallet account of `from`, sends it, prints its id
 * and, with wait, follows it until final. */
static int send_op(const struct cli_conn *c, operation_t *op, const char *from, const char *fee_opt,
                   bool wait, double timeout_s)
{
    if (fee_opt) {
        weft_err e = amount_parse(&op->fee, fee_opt);
        if (e)
            return cli_error(e, "--fee '%s' (a MAS amount such as 0.01)", fee_opt);
    }
    cli_wallet *w;
    int rc = wallet_open(&w, c->wallet);
    if (rc)
        return rc;
    size_t idx;
    struct cli_chain ch;
    keypair_t kp;
    memset(&kp, 0, sizeof kp);
    if ((rc = wallet_pick(w, from, &idx)) != 0 || (rc = cli_chain_info(c, &ch)) != 0) {
        wallet_close(w);
        return rc;
    }
    if (!fee_opt)
        op->fee = amount_from_nano(ch.minimal_fee_nano);
    else if (op->fee.nano < ch.minimal_fee_nano) {
        wallet_close(w);
        char min[AMOUNT_STR_MAX];
        amount_format(min, amount_from_nano(ch.minimal_fee_nano));
        return cli_error(WEFT_E_USAGE, "--fee %s is below the node's minimal fee %s MAS", fee_opt,
                         min);
    }
    uint64_t margin = ch.validity_periods > 1 ? ch.validity_periods - 1 : ch.validity_periods;
    op->expire_period = ch.period + margin;
    rc = wallet_keypair(w, idx, &kp);
    wallet_close(w);
    if (rc)
        return rc;

    wr_t wr;
    wr_init(&wr);
    op_encode(&wr, op);
    if (wr_err(&wr) != WEFT_OK) {
        wr_free(&wr);
        keypair_wipe(&kp);
        return cli_error(WEFT_E_NOMEM, NULL);
    }
    hash32_t digest;
    signature_t sig;
    op_digest(&digest, ch.chain_id, &kp.pk, wr.buf, wr.len);
    model_sign_digest(&sig, &kp, &digest);
    char pk_s[MODEL_STR_MAX], sig_s[MODEL_STR_MAX], id_s[MODEL_STR_MAX], from_s[MODEL_STR_MAX];
    pubkey_to_str(pk_s, &kp.pk);
    signature_to_str(sig_s, &sig);
    op_id_t id = {digest};
    op_id_to_str(id_s, &id);
    address_t fa;
    address_of_pubkey(&fa, &kp.pk);
    address_to_str(from_s, &fa);
    keypair_wipe(&kp);
    json_t *bytes = json_array();
    for (size_t i = 0; bytes && i < wr.len; i++)
        if (json_array_append_new(bytes, json_integer(wr.buf[i])) != 0) {
            json_decref(bytes);
            bytes = NULL;
        }
    wr_free(&wr);
    json_t *params = json_pack("[[{s:o,s:s,s:s}]]", "serialized_content", bytes,
                               "creator_public_key", pk_s, "signature", sig_s);
    if (!params)
        return cli_error(WEFT_E_NOMEM, NULL);
    json_t *r;
    if ((rc = cli_call(c, false, "send_operations", params, &r)) != 0)
        return rc;
    const char *got = json_string_value(json_array_get(r, 0));
    if (!got || strcmp(got, id_s) != 0)
        fprintf(stderr, "weft: warning: the node answered id %s, computed %s\n",
                got ? got : "(none)", id_s);
    json_decref(r);
    char fee[AMOUNT_STR_MAX];
    amount_format(fee, op->fee);
    if (c->json && !wait) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "operation_id", id_s, "from", from_s, "fee", fee,
                              "expire_period", (json_int_t)op->expire_period);
        rc = cli_print(o, true);
        json_decref(o);
        return rc;
    }
    if (!c->json) {
        cli_line("operation", "%s", id_s);
        cli_line("from", "%s", from_s);
        cli_line("fee", "%s MAS, expires after period %llu", fee,
                 (unsigned long long)op->expire_period);
    }
    return wait ? wait_op(c, id_s, timeout_s, false) : CLI_EXIT_OK;
}

int cmd_send(int argc, char **argv)
{
    enum { O_TO = CLI_CONN_NOPTS, O_AMOUNT, O_FEE, O_FROM, O_WAIT, O_TIMEOUT, O_N };
    struct cli_opt opts[O_N] = {CLI_CONN_OPTS,      {.name = "to"},
                                {.name = "amount"}, {.name = "fee"},
                                {.name = "from"},   {.name = "wait", .is_flag = true},
                                {.name = "timeout"}};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc, argv, opts, O_N, pos, 0, &npos);
    if (rc)
        return rc;
    if (!opts[O_TO].set || !opts[O_AMOUNT].set)
        return cli_error(WEFT_E_USAGE, "usage: weft send --to ADDRESS --amount MAS [--fee MAS] "
                                       "[--from ADDRESS] [--wait [--timeout S]] [--json]");
    operation_t op;
    memset(&op, 0, sizeof op);
    op.type = OP_TRANSACTION;
    weft_err e;
    if ((rc = cli_parse_address(&op.u.transaction.recipient, opts[O_TO].value, "--to")) != 0)
        return rc;
    if ((e = amount_parse(&op.u.transaction.amount, opts[O_AMOUNT].value)) != WEFT_OK)
        return cli_error(e, "--amount '%s' (a MAS amount such as 12.5)", opts[O_AMOUNT].value);
    struct cli_conn c;
    double timeout;
    if ((rc = parse_timeout(&opts[O_TIMEOUT], &timeout)) != 0 || (rc = cli_conn_init(&c, opts)))
        return rc;
    return send_op(&c, &op, opts[O_FROM].set ? opts[O_FROM].value : NULL,
                   opts[O_FEE].set ? opts[O_FEE].value : NULL, opts[O_WAIT].set, timeout);
}

int cmd_rolls(int argc, char **argv)
{
    enum { O_FEE = CLI_CONN_NOPTS, O_FROM, O_WAIT, O_TIMEOUT, O_N };
    struct cli_opt opts[O_N] = {CLI_CONN_OPTS,
                                {.name = "fee"},
                                {.name = "from"},
                                {.name = "wait", .is_flag = true},
                                {.name = "timeout"}};
    const char *pos[2];
    size_t npos;
    int rc = cli_parse_opts(argc, argv, opts, O_N, pos, 2, &npos);
    if (rc)
        return rc;
    uint64_t n = 0;
    if (npos != 2 || (strcmp(pos[0], "buy") != 0 && strcmp(pos[0], "sell") != 0))
        return cli_error(WEFT_E_USAGE, "usage: weft rolls buy|sell COUNT [--fee MAS] "
                                       "[--from ADDRESS] [--wait [--timeout S]] [--json]");
    if (model_parse_u64(&n, pos[1]) != WEFT_OK || n == 0)
        return cli_error(WEFT_E_USAGE, "roll count '%s': a whole number above 0", pos[1]);
    operation_t op;
    memset(&op, 0, sizeof op);
    op.type = strcmp(pos[0], "buy") == 0 ? OP_ROLL_BUY : OP_ROLL_SELL;
    op.u.roll.roll_count = n;
    struct cli_conn c;
    double timeout;
    if ((rc = parse_timeout(&opts[O_TIMEOUT], &timeout)) != 0 || (rc = cli_conn_init(&c, opts)))
        return rc;
    return send_op(&c, &op, opts[O_FROM].set ? opts[O_FROM].value : NULL,
                   opts[O_FEE].set ? opts[O_FEE].value : NULL, opts[O_WAIT].set, timeout);
}
