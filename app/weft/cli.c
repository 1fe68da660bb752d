/* Helpers shared by the client's commands: named errors, option parsing, output (JSON with --json,
 * "key: value" lines otherwise), and for the online commands: where the node is (--rpc, --repo,
 * --devnet, the private API's token) and JSON-RPC calls whose failures say what to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

int cli_error(weft_err err, const char *detail_fmt, ...)
{
    fprintf(stderr, "weft: %s: %s", weft_err_name(err), weft_strerror(err));
    if (detail_fmt && *detail_fmt) {
        va_list ap;
        fputs(": ", stderr);
        va_start(ap, detail_fmt);
        vfprintf(stderr, detail_fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_parse_opts(int argc, char **argv, struct cli_opt *opts, size_t nopts,
                   const char **positional, size_t max_positional, size_t *npositional)
{
    *npositional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*npositional == max_positional)
                return cli_error(WEFT_E_USAGE, "unexpected argument '%s'", a);
            positional[(*npositional)++] = a;
            continue;
        }
        struct cli_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strcmp(a + 2, opts[k].name) == 0)
                o = &opts[k];
        if (!o)
            return cli_error(WEFT_E_USAGE, "unknown option '%s'", a);
        if (o->is_flag) {
            o->set = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(WEFT_E_USAGE, "option '%s' needs a value", a);
        o->value = argv[++i];
        o->set = true;
    }
    return CLI_EXIT_OK;
}

json_t *cli_u64(uint64_t v)
{
    /* jansson integers are signed 64-bit: values above INT64_MAX are written as decimal strings */
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

json_t *cli_hex(const uint8_t *data, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (!s)
        return NULL;
    hex_encode(s, 2 * len + 1, data, len);
    json_t *j = json_string(s);
    free(s);
    return j;
}

json_t *cli_nano(uint64_t nano)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)nano);
    return json_string(buf);
}

int cli_print(json_t *obj, bool as_json)
{
    if (!obj)
        return cli_error(WEFT_E_NOMEM, NULL);
    if (as_json) {
        char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            return cli_error(WEFT_E_NOMEM, NULL);
        puts(s);
        free(s);
        return CLI_EXIT_OK;
    }
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        if (json_is_string(v)) {
            printf("%-16s %s\n", key, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
            printf("%-16s %s\n", key, s ? s : "?");
            free(s);
        }
    }
    return CLI_EXIT_OK;
}

/* ---- online commands ------------------------------------------------------------------------- */

/* "host:port" or a URL → "http://host:port" (a trailing slash dropped). */
static void set_url(char out[CLI_URL_MAX], const char *in)
{
    bool has_scheme = strstr(in, "://") != NULL;
    snprintf(out, CLI_URL_MAX, "%s%s", has_scheme ? "" : "http://", in);
    size_t n = strlen(out);
    if (n > 8 && out[n - 1] == '/')
        out[n - 1] = '\0';
}

static int read_token_file(struct cli_conn *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_error(WEFT_E_IO, "cannot read the token file %s: %s", path, strerror(errno));
    char buf[128] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n != 64)
        return cli_error(WEFT_E_INVAL, "%s: not an API token (64 hex characters expected)", path);
    memcpy(c->token, buf, 65);
    crypto_wipe(buf, sizeof buf);
    return CLI_EXIT_OK;
}

/* A repository's api.json and api.token. */
static int conn_from_repo(struct cli_conn *c, const char *dir, bool quiet_missing)
{
    repo_endpoints_t ep;
    char token[65] = "";
    weft_err e = repo_read_endpoints(dir, &ep, token);
    if (e == WEFT_E_NOT_FOUND && ep.api_public[0] == '\0') {
        if (quiet_missing)
            return CLI_EXIT_NODE;
        fprintf(stderr,
                "weft: %s has no api.json: is weftd running on this repository? "
                "(weftd run --repo %s)\n",
                dir, dir);
        return CLI_EXIT_NODE;
    }
    if (e != WEFT_OK && ep.api_public[0] == '\0')
        return cli_error(e, "reading %s/api.json", dir);
    set_url(c->url, ep.api_public);
    set_url(c->private_url, ep.api_private);
    if (e == WEFT_OK)
        memcpy(c->token, token, sizeof token);
    crypto_wipe(token, sizeof token);
    snprintf(c->hint, sizeof c->hint, "%.300s/api.json", dir);
    return CLI_EXIT_OK;
}

static int conn_from_devnet(struct cli_conn *c, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/devnet.json", dir);
    json_error_t je;
    json_t *d = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!d) {
        fprintf(stderr, "weft: cannot read %s (%s): is DIR a devnet made by `weft devnet`?\n", path,
                je.text);
        return CLI_EXIT_USAGE;
    }
    json_t *node = json_array_get(json_object_get(d, "nodes"), 0);
    const char *repo = json_string_value(json_object_get(node, "repo"));
    const char *pub = json_string_value(json_object_get(node, "public_api"));
    const char *priv = json_string_value(json_object_get(node, "private_api"));
    int rc = CLI_EXIT_OK;
    if (!repo || conn_from_repo(c, repo, true) != CLI_EXIT_OK) {
        if (!pub) {
            fprintf(stderr, "weft: %s lists no node\n", path);
            rc = CLI_EXIT_USAGE;
        } else {
            set_url(c->url, pub);
            if (priv)
                set_url(c->private_url, priv);
        }
    }
    if (!rc)
        snprintf(c->hint, sizeof c->hint, "node 0 of %.300s", path);
    json_decref(d);
    return rc;
}

int cli_conn_init(struct cli_conn *c, const struct cli_opt *opts)
{
    memset(c, 0, sizeof *c);
    c->json = opts[CLI_O_JSON].set;
    c->wallet = opts[CLI_O_WALLET].set ? opts[CLI_O_WALLET].value : NULL;
    c->timeout_ms = 30000;
    int rc = CLI_EXIT_OK;
    if (opts[CLI_O_REPO].set)
        rc = conn_from_repo(c, opts[CLI_O_REPO].value, false);
    else if (opts[CLI_O_DEVNET].set)
        rc = conn_from_devnet(c, opts[CLI_O_DEVNET].value);
    if (rc)
        return rc;
    if (opts[CLI_O_RPC].set) {
        set_url(c->url, opts[CLI_O_RPC].value);
        snprintf(c->hint, sizeof c->hint, "--rpc");
    } else if (!c->url[0]) {
        const char *env = getenv("WEFT_RPC");
        set_url(c->url, env && *env ? env : "http://127.0.0.1:33035");
        snprintf(c->hint, sizeof c->hint, env && *env ? "WEFT_RPC" : "the default address");
    }
    if (opts[CLI_O_PRIVATE].set)
        set_url(c->private_url, opts[CLI_O_PRIVATE].value);
    if (opts[CLI_O_TOKEN].set && (rc = read_token_file(c, opts[CLI_O_TOKEN].value)) != 0)
        return rc;
    return CLI_EXIT_OK;
}

int cli_call(const struct cli_conn *c, bool private_api, const char *method, json_t *params,
             json_t **result)
{
    *result = NULL;
    const char *url = private_api ? c->private_url : c->url;
    if (private_api && (!c->private_url[0] || !c->token[0])) {
        json_decref(params);
        fprintf(stderr,
                "weft: %s is a private method: it needs the private API and its token — give "
                "--repo DIR (the node's repository) or --private-rpc URL --token-file F\n",
                method);
        return CLI_EXIT_USAGE;
    }
    api_error err;
    weft_err e = api_client_call(url, private_api ? c->token : NULL, method, params, c->timeout_ms,
                                 result, &err);
    json_decref(params);
    if (e == WEFT_OK)
        return CLI_EXIT_OK;
    if (e == WEFT_E_RPC_TRANSPORT) {
        fprintf(stderr, "weft: %s (the %s API address came from %s)\n", err.message,
                private_api ? "private" : "public", c->hint);
    } else if (e == WEFT_E_RPC) {
        fprintf(stderr, "weft: the node refused %s: %s (JSON-RPC error %d)\n", method, err.message,
                err.code);
        if (err.code == API_ERR_UNAUTHORIZED)
            fprintf(stderr, "weft: the token does not match this run of the node: use --repo DIR "
                            "(api.token is rewritten at each start)\n");
        else if (err.code == API_ERR_METHOD_NOT_FOUND && !private_api)
            fprintf(stderr, "weft: is that the public API? private methods need --repo DIR or "
                            "--private-rpc URL\n");
    } else {
        cli_error(e, "%s", method);
    }
    api_error_clear(&err);
    return e == WEFT_E_NOMEM || e == WEFT_E_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_NODE;
}

static bool json_u64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && model_parse_u64(out, json_string_value(v)) == WEFT_OK;
}

int cli_chain_info(const struct cli_conn *c, struct cli_chain *out)
{
    memset(out, 0, sizeof *out);
    json_t *st;
    int rc = cli_call(c, false, "get_status", json_pack("[{}]"), &st);
    if (rc)
        return rc;
    json_t *cfg = json_object_get(st, "config");
    json_t *last = json_object_get(st, "last_slot");
    amount_t fee = {0};
    uint64_t threads = 0;
    const char *fee_s = json_string_value(json_object_get(st, "minimal_fees"));
    bool ok =
        json_u64(json_object_get(st, "chain_id"), &out->chain_id) && fee_s &&
        amount_parse(&fee, fee_s) == WEFT_OK &&
        json_u64(json_object_get(cfg, "operation_validity_periods"), &out->validity_periods) &&
        json_u64(json_object_get(cfg, "thread_count"), &threads) && threads > 0 &&
        threads <= MODEL_MAX_THREADS &&
        (json_is_null(last) || json_u64(json_object_get(last, "period"), &out->period));
    json_decref(st);
    if (!ok) {
        fprintf(stderr,
                "weft: get_status from %s lacks chain_id, minimal_fees, last_slot or "
                "config: is that a weft or Massa node?\n",
                c->url);
        return CLI_EXIT_NODE;
    }
    out->minimal_fee_nano = fee.nano;
    out->thread_count = (uint32_t)threads;
    return CLI_EXIT_OK;
}

void cli_line(const char *key, const char *fmt, ...)
{
    va_list ap;
    printf("%-14s ", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

const char *cli_text(const json_t *v, char *buf, size_t cap)
{
    if (!v || json_is_null(v))
        snprintf(buf, cap, "-");
    else if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        snprintf(buf, cap, "yes");
    else if (json_is_false(v))
        snprintf(buf, cap, "no");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, cap, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}

int cli_parse_address(address_t *out, const char *text, const char *what)
{
    weft_err e = address_parse(out, text);
    return e ? cli_error(e, "%s '%s' is not an address (AU… or AS…)", what, text) : CLI_EXIT_OK;
}

int cli_parse_op_id(op_id_t *out, const char *text)
{
    weft_err e = op_id_parse(out, text);
    return e ? cli_error(e, "'%s' is not an operation id (O…)", text) : CLI_EXIT_OK;
}
