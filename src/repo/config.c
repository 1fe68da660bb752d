/* repo: config.ini — defaults, one setting at a time (repo_config_set), the INI parser and the
 * writer.  The INI dialect: "[section]" headers, "key = value" lines (spaces around both trimmed),
 * whole-line comments starting with '#' or ';', blank lines, LF or CRLF line ends, an optional
 * UTF-8 byte-order mark.  A key may appear once per file. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

void repo_config_default(repo_config_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->api_public, sizeof c->api_public, "127.0.0.1:33035");
    snprintf(c->api_private, sizeof c->api_private, "127.0.0.1:33034");
    snprintf(c->metrics, sizeof c->metrics, "127.0.0.1:31248");
    snprintf(c->p2p_listen, sizeof c->p2p_listen, "0.0.0.0:31244");
    c->bootstrap_count = 0;
    c->max_peers = 32;
    c->p2p_outbound = 8;
    c->p2p_max_per_ip = 4;
    c->p2p_ban_seconds = 3600;
    c->block_retention = REPO_RETAIN_ALL;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->store_map_mb = 64;
    c->store_no_sync = false;
    c->pool_max_ops_per_thread = 8192;
}

void repo_errf(char *err, size_t errcap, const char *fmt, ...)
{
    if (!err || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* ---- value parsers ------------------------------------------------------------------------- */

static bool host_char_ok(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '-' || ch == '_';
}

/* Splits "host:port" / "[v6]:port"; host (without brackets) into host[hcap]. */
static weft_err split_addr(const char *v, char *host, size_t hcap, uint16_t *port, char *err,
                           size_t errcap)
{
    size_t len = strlen(v);
    if (len == 0) {
        repo_errf(err, errcap, "empty address (expected host:port)");
        return WEFT_E_REPO_CONFIG;
    }
    if (len >= REPO_ADDR_MAX) {
        repo_errf(err, errcap, "address longer than %d characters", REPO_ADDR_MAX - 1);
        return WEFT_E_REPO_CONFIG;
    }
    const char *colon = strrchr(v, ':');
    if (!colon) {
        repo_errf(err, errcap, "address \"%s\" has no port (expected host:port)", v);
        return WEFT_E_REPO_CONFIG;
    }
    uint64_t p;
    if (model_parse_u64(&p, colon + 1) != WEFT_OK || p > 65535) {
        repo_errf(err, errcap, "address \"%s\": port must be a number in 0..65535", v);
        return WEFT_E_REPO_CONFIG;
    }
    size_t hlen = (size_t)(colon - v);
    if (hlen == 0) {
        repo_errf(err, errcap, "address \"%s\" has an empty host", v);
        return WEFT_E_REPO_CONFIG;
    }
    if (v[0] == '[') {
        if (hlen < 3 || v[hlen - 1] != ']') {
            repo_errf(err, errcap, "address \"%s\": bad bracketed IPv6 host", v);
            return WEFT_E_REPO_CONFIG;
        }
        char inner[REPO_ADDR_MAX];
        memcpy(inner, v + 1, hlen - 2);
        inner[hlen - 2] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, inner, &a6) != 1) {
            repo_errf(err, errcap, "address \"%s\": \"%s\" is not an IPv6 address", v, inner);
            return WEFT_E_REPO_CONFIG;
        }
        snprintf(host, hcap, "%s", inner);
    } else {
        for (size_t i = 0; i < hlen; i++) {
            if (v[i] == ':') {
                repo_errf(err, errcap, "address \"%s\": write IPv6 hosts in brackets ([::1]:port)",
                          v);
                return WEFT_E_REPO_CONFIG;
            }
            if (!host_char_ok(v[i])) {
                repo_errf(err, errcap, "address \"%s\": bad character in host", v);
                return WEFT_E_REPO_CONFIG;
            }
        }
        memcpy(host, v, hlen);
        host[hlen] = '\0';
    }
    *port = (uint16_t)p;
    return WEFT_OK;
}

bool repo_host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return ((const uint8_t *)&a4.s_addr)[0] == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
    return false;
}

weft_err repo_addr_split(const char *addr, char *host, size_t hcap, uint16_t *port)
{
    char e[8];
    char h[REPO_ADDR_MAX];
    weft_err rc = split_addr(addr, h, sizeof h, port, e, sizeof e);
    if (rc != WEFT_OK)
        return rc;
    if (strlen(h) >= hcap)
        return WEFT_E_LIMIT;
    memcpy(host, h, strlen(h) + 1);
    return WEFT_OK;
}

static weft_err set_addr(char out[REPO_ADDR_MAX], const char *v, bool loopback, char *err,
                         size_t errcap)
{
    char host[REPO_ADDR_MAX];
    uint16_t port;
    weft_err e = split_addr(v, host, sizeof host, &port, err, errcap);
    if (e != WEFT_OK)
        return e;
    if (loopback && !repo_host_is_loopback(host)) {
        repo_errf(err, errcap,
                  "address \"%s\": the private API must listen on a loopback host (127.x.x.x, "
                  "[::1] or localhost)",
                  v);
        return WEFT_E_REPO_CONFIG;
    }
    snprintf(out, REPO_ADDR_MAX, "%s", v);
    return WEFT_OK;
}

static weft_err set_u64(uint64_t *out, const char *v, uint64_t min, uint64_t max, char *err,
                        size_t errcap)
{
    uint64_t x;
    if (model_parse_u64(&x, v) != WEFT_OK || x < min || x > max) {
        repo_errf(err, errcap, "\"%s\" is not a number in %llu..%llu", v, (unsigned long long)min,
                  (unsigned long long)max);
        return WEFT_E_REPO_CONFIG;
    }
    *out = x;
    return WEFT_OK;
}

static weft_err set_bool(bool *out, const char *v, char *err, size_t errcap)
{
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else {
        repo_errf(err, errcap, "\"%s\" is not a boolean (true or false)", v);
        return WEFT_E_REPO_CONFIG;
    }
    return WEFT_OK;
}

/* Splits a comma-separated list (entries trimmed of spaces and tabs; an empty or blank value is
 * the empty list) into at most `max` entries shorter than REPO_ADDR_MAX; `what` names an entry in
 * the errors. */
static weft_err split_list(const char *v, const char *what, size_t max, char (*out)[REPO_ADDR_MAX],
                           size_t *n, char *err, size_t errcap)
{
    *n = 0;
    const char *p = v;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return WEFT_OK;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            repo_errf(err, errcap, "empty entry in the %s list", what);
            return WEFT_E_REPO_CONFIG;
        }
        if (*n == max) {
            repo_errf(err, errcap, "more than %zu %s entries", max, what);
            return WEFT_E_REPO_CONFIG;
        }
        if (len >= REPO_ADDR_MAX) {
            repo_errf(err, errcap, "%s entry longer than %d characters", what, REPO_ADDR_MAX - 1);
            return WEFT_E_REPO_CONFIG;
        }
        memcpy(out[*n], p, len);
        out[*n][len] = '\0';
        (*n)++;
        if (!end)
            return WEFT_OK;
        p = end + 1;
    }
}

static weft_err set_bootstrap(repo_config_t *c, const char *v, char *err, size_t errcap)
{
    char list[REPO_MAX_BOOTSTRAP][REPO_ADDR_MAX];
    size_t n;
    weft_err e = split_list(v, "bootstrap", REPO_MAX_BOOTSTRAP, list, &n, err, errcap);
    for (size_t i = 0; e == WEFT_OK && i < n; i++) {
        char one[REPO_ADDR_MAX];
        memcpy(one, list[i], sizeof one);
        e = set_addr(list[i], one, false, err, errcap);
    }
    if (e != WEFT_OK)
        return e;
    memcpy(c->bootstrap, list, n * sizeof list[0]);
    memset(c->bootstrap + n, 0, (REPO_MAX_BOOTSTRAP - n) * sizeof list[0]);
    c->bootstrap_count = n;
    return WEFT_OK;
}

static weft_err set_state_peers(repo_config_t *c, const char *v, char *err, size_t errcap)
{
    char list[REPO_MAX_STATE_PEERS][REPO_ADDR_MAX];
    pubkey_t ids[REPO_MAX_STATE_PEERS];
    size_t n;
    weft_err e = split_list(v, "state_peers", REPO_MAX_STATE_PEERS, list, &n, err, errcap);
    for (size_t i = 0; e == WEFT_OK && i < n; i++)
        if (node_id_parse(&ids[i], list[i]) != WEFT_OK) {
            repo_errf(err, errcap, "'%s' is not a node id (N...)", list[i]);
            e = WEFT_E_REPO_CONFIG;
        }
    if (e != WEFT_OK)
        return e;
    memset(c->state_peers, 0, sizeof c->state_peers);
    memcpy(c->state_peers, ids, n * sizeof ids[0]);
    c->state_peer_count = n;
    return WEFT_OK;
}

/* ---- the key table ------------------------------------------------------------------------- */

enum cfg_key {
    K_API_PUBLIC,
    K_API_PRIVATE,
    K_API_METRICS,
    K_P2P_LISTEN,
    K_P2P_BOOTSTRAP,
    K_P2P_MAX_PEERS,
    K_P2P_OUTBOUND,
    K_P2P_MAX_PER_IP,
    K_P2P_BAN_SECONDS,
    K_P2P_FETCH_STATE,
    K_P2P_STATE_PEERS,
    K_P2P_STATE_CONFIRM,
    K_NODE_RETENTION,
    K_NODE_LOG,
    K_NODE_MAP_MB,
    K_NODE_NO_SYNC,
    K_NODE_POOL_MAX,
    K_COUNT
};

static const struct {
    const char *section;
    const char *key;
    const char *comment; /* written above the key by repo_config_write */
} keys[K_COUNT] = {
    [K_API_PUBLIC] = {"api", "public",
                      "Public JSON-RPC API (host:port; port 0 picks a free port, see api.json)."},
    [K_API_PRIVATE] = {"api", "private",
                       "Private (administrative) JSON-RPC API; must be a loopback host (127.x.x.x, "
                       "[::1], localhost).\n# Requests carry the bearer token of api.token."},
    [K_API_METRICS] = {"api", "metrics", "Prometheus metrics endpoint (host:port)."},
    [K_P2P_LISTEN] = {"p2p", "listen", "Address the peer-to-peer listener binds (host:port)."},
    [K_P2P_BOOTSTRAP] = {"p2p", "bootstrap",
                         "Peers to connect to at start: comma-separated host:port list (may be "
                         "empty)."},
    [K_P2P_MAX_PEERS] = {"p2p", "max_peers",
                         "Maximum number of connected peers: inbound connections are accepted up "
                         "to max_peers - outbound."},
    [K_P2P_OUTBOUND] = {"p2p", "outbound", "Outbound connections the node keeps open."},
    [K_P2P_MAX_PER_IP] = {"p2p", "max_per_ip",
                          "Maximum number of connections with one IP address (whitelisted "
                          "addresses excepted)."},
    [K_P2P_BAN_SECONDS] = {"p2p", "ban_seconds",
                           "How long a misbehaving peer stays banned (node id and IP), in "
                           "seconds."},
    [K_P2P_FETCH_STATE] = {"p2p", "fetch_state_after_periods",
                           "A node this many periods behind a peer fetches the peer's final state "
                           "instead of\n# its blocks (0: only when the peers no longer keep the "
                           "blocks it lacks)."},
    [K_P2P_STATE_PEERS] = {"p2p", "state_peers",
                           "Node ids (comma-separated N... list) the final state may be fetched "
                           "from; empty: any peer\n# (the state is checked against the fingerprint "
                           "its server announces, which only a trusted\n# server makes "
                           "meaningful)."},
    [K_P2P_STATE_CONFIRM] = {"p2p", "state_confirmations",
                             "Peers other than its server that must confirm a fetched final "
                             "state's fingerprint at its\n# slot, 0..4 (0: none needed; a state a "
                             "peer contradicts is adopted only when more peers confirm it)."},
    [K_NODE_RETENTION] = {"node", "block_retention",
                          "Final blocks kept in the store: \"all\", or a number N >= 1 of "
                          "periods (older final blocks are pruned)."},
    [K_NODE_LOG] = {"node", "log", "Log level: error, warn, info, debug or trace."},
    [K_NODE_MAP_MB] = {"node", "store_map_mb",
                       "Size limit of the LMDB store map, in MiB (the file grows up to it)."},
    [K_NODE_NO_SYNC] = {"node", "store_no_sync",
                        "true: do not fsync store commits (faster; a crash may lose the latest "
                        "final slots,\n# which are then fetched again). For tests and devnets."},
    [K_NODE_POOL_MAX] = {"node", "pool_max_ops_per_thread",
                         "Operation pool capacity per thread (lowest-priority entries are dropped "
                         "beyond it)."},
};

static int find_key(const char *section, size_t slen, const char *key)
{
    for (int i = 0; i < K_COUNT; i++)
        if (strlen(keys[i].section) == slen && memcmp(keys[i].section, section, slen) == 0 &&
            strcmp(keys[i].key, key) == 0)
            return i;
    return -1;
}

static bool known_section(const char *s)
{
    for (int i = 0; i < K_COUNT; i++)
        if (strcmp(keys[i].section, s) == 0)
            return true;
    return false;
}

static weft_err set_by_index(repo_config_t *c, int k, const char *v, char *err, size_t errcap)
{
    uint64_t x;
    weft_err e;
    switch (k) {
    case K_API_PUBLIC:
        return set_addr(c->api_public, v, false, err, errcap);
    case K_API_PRIVATE:
        return set_addr(c->api_private, v, true, err, errcap);
    case K_API_METRICS:
        return set_addr(c->metrics, v, false, err, errcap);
    case K_P2P_LISTEN:
        return set_addr(c->p2p_listen, v, false, err, errcap);
    case K_P2P_BOOTSTRAP:
        return set_bootstrap(c, v, err, errcap);
    case K_P2P_STATE_PEERS:
        return set_state_peers(c, v, err, errcap);
    case K_P2P_MAX_PEERS:
        e = set_u64(&x, v, 0, UINT32_MAX, err, errcap);
        if (e == WEFT_OK)
            c->max_peers = (uint32_t)x;
        return e;
    case K_P2P_OUTBOUND:
        e = set_u64(&x, v, 0, UINT32_MAX, err, errcap);
        if (e == WEFT_OK)
            c->p2p_outbound = (uint32_t)x;
        return e;
    case K_P2P_MAX_PER_IP:
        e = set_u64(&x, v, 1, UINT32_MAX, err, errcap);
        if (e == WEFT_OK)
            c->p2p_max_per_ip = (uint32_t)x;
        return e;
    case K_P2P_BAN_SECONDS:
        /* kept in milliseconds by the network: seconds * 1000 must fit in 64 bits */
        e = set_u64(&x, v, 0, UINT64_MAX / 1000, err, errcap);
        if (e == WEFT_OK)
            c->p2p_ban_seconds = x;
        return e;
    case K_P2P_FETCH_STATE:
        e = set_u64(&x, v, 0, UINT64_MAX, err, errcap);
        if (e == WEFT_OK)
            c->p2p_fetch_state_after = x;
        return e;
    case K_P2P_STATE_CONFIRM:
        e = set_u64(&x, v, 0, REPO_MAX_STATE_CONFIRMATIONS, err, errcap);
        if (e == WEFT_OK)
            c->p2p_state_confirmations = (uint32_t)x;
        return e;
    case K_NODE_RETENTION:
        if (strcmp(v, "all") == 0) {
            c->block_retention = REPO_RETAIN_ALL;
            return WEFT_OK;
        }
        /* UINT64_MAX is the "all" marker: a number must stay below it */
        if (model_parse_u64(&x, v) != WEFT_OK || x < 1 || x == REPO_RETAIN_ALL) {
            repo_errf(err, errcap, "\"%s\" is neither \"all\" nor a number of periods >= 1", v);
            return WEFT_E_REPO_CONFIG;
        }
        c->block_retention = x;
        return WEFT_OK;
    case K_NODE_LOG: {
        log_level lvl;
        static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
        if (log_level_parse(v, &lvl) != WEFT_OK || (size_t)lvl >= WEFT_ARRAY_LEN(names)) {
            repo_errf(err, errcap, "\"%s\" is not a log level (error, warn, info, debug, trace)",
                      v);
            return WEFT_E_REPO_CONFIG;
        }
        snprintf(c->log_level, sizeof c->log_level, "%s", names[lvl]);
        return WEFT_OK;
    }
    case K_NODE_MAP_MB:
        /* the byte size (MiB << 20) must fit in 64 bits */
        e = set_u64(&x, v, 1, UINT64_MAX >> 20, err, errcap);
        if (e == WEFT_OK)
            c->store_map_mb = x;
        return e;
    case K_NODE_NO_SYNC:
        return set_bool(&c->store_no_sync, v, err, errcap);
    case K_NODE_POOL_MAX:
        e = set_u64(&x, v, 1, UINT32_MAX, err, errcap);
        if (e == WEFT_OK)
            c->pool_max_ops_per_thread = (uint32_t)x;
        return e;
    default:
        WEFT_PANIC("config key index %d", k);
    }
}

/* Resolves "section.key"; -1 with the message in err if unknown. */
static int resolve(const char *key, char *err, size_t errcap)
{
    const char *dot = key ? strchr(key, '.') : NULL;
    int k = dot ? find_key(key, (size_t)(dot - key), dot + 1) : -1;
    if (k < 0)
        repo_errf(err, errcap, "unknown key %s", key ? key : "(null)");
    return k;
}

weft_err repo_config_set(repo_config_t *c, const char *key, const char *value, char *err,
                         size_t errcap)
{
    int k = resolve(key, err, errcap);
    if (k < 0)
        return WEFT_E_REPO_CONFIG;
    if (!value) {
        repo_errf(err, errcap, "%s: no value", key);
        return WEFT_E_REPO_CONFIG;
    }
    char detail[256];
    weft_err e = set_by_index(c, k, value, detail, sizeof detail);
    if (e != WEFT_OK)
        repo_errf(err, errcap, "%s: %s", key, detail);
    return e;
}

/* ---- INI parser ---------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

weft_err repo_config_parse_named(repo_config_t *c, const char *name, const char *text, size_t len,
                                 char *err, size_t errcap)
{
    if (memchr(text, '\0', len)) {
        repo_errf(err, errcap, "%s: contains a NUL byte", name);
        return WEFT_E_REPO_CONFIG;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        repo_errf(err, errcap, "%s: out of memory", name);
        return WEFT_E_NOMEM;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    repo_config_t work = *c; /* all or nothing */
    bool seen[K_COUNT] = {false};
    char section[16] = "";
    weft_err rc = WEFT_OK;
    char *p = buf;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (unsigned line = 1; p; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t ll = strlen(p);
        if (ll > 0 && p[ll - 1] == '\r')
            p[ll - 1] = '\0';
        char *s = trim(p);
        p = nl ? nl + 1 : NULL;
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            size_t n = strlen(s);
            if (s[n - 1] != ']') {
                repo_errf(err, errcap, "%s:%u: malformed section header", name, line);
                rc = WEFT_E_REPO_CONFIG;
                break;
            }
            s[n - 1] = '\0';
            char *sec = trim(s + 1);
            if (!known_section(sec)) {
                repo_errf(err, errcap, "%s:%u: unknown section [%.64s]", name, line, sec);
                rc = WEFT_E_REPO_CONFIG;
                break;
            }
            snprintf(section, sizeof section, "%s", sec);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            repo_errf(err, errcap, "%s:%u: expected \"key = value\"", name, line);
            rc = WEFT_E_REPO_CONFIG;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (section[0] == '\0') {
            repo_errf(err, errcap, "%s:%u: key \"%.64s\" before any [section]", name, line, key);
            rc = WEFT_E_REPO_CONFIG;
            break;
        }
        int k = find_key(section, strlen(section), key);
        if (k < 0) {
            repo_errf(err, errcap, "%s:%u: unknown key %s.%.64s", name, line, section, key);
            rc = WEFT_E_REPO_CONFIG;
            break;
        }
        if (seen[k]) {
            repo_errf(err, errcap, "%s:%u: %s.%s set twice", name, line, section, key);
            rc = WEFT_E_REPO_CONFIG;
            break;
        }
        seen[k] = true;
        char detail[256];
        if (set_by_index(&work, k, value, detail, sizeof detail) != WEFT_OK) {
            repo_errf(err, errcap, "%s:%u: %s.%s: %s", name, line, section, key, detail);
            rc = WEFT_E_REPO_CONFIG;
            break;
        }
    }
    free(buf);
    if (rc == WEFT_OK)
        *c = work;
    return rc;
}

weft_err repo_config_parse(repo_config_t *c, const char *text, size_t len, char *err, size_t errcap)
{
    return repo_config_parse_named(c, "config.ini", text, len, err, errcap);
}

/* ---- writer -------------------------------------------------------------------------------- */

static void value_text(const repo_config_t *c, int k, wr_t *w)
{
    char tmp[32];
    const char *s = tmp;
    size_t cap = REPO_ADDR_MAX - 1;
    switch (k) {
    case K_API_PUBLIC:
        s = c->api_public;
        break;
    case K_API_PRIVATE:
        s = c->api_private;
        break;
    case K_API_METRICS:
        s = c->metrics;
        break;
    case K_P2P_LISTEN:
        s = c->p2p_listen;
        break;
    case K_P2P_BOOTSTRAP:
        for (size_t i = 0; i < c->bootstrap_count && i < REPO_MAX_BOOTSTRAP; i++) {
            if (i)
                wr_bytes(w, ",", 1);
            wr_bytes(w, c->bootstrap[i], strnlen(c->bootstrap[i], REPO_ADDR_MAX - 1));
        }
        return;
    case K_P2P_STATE_PEERS:
        for (size_t i = 0; i < c->state_peer_count && i < REPO_MAX_STATE_PEERS; i++) {
            char id[MODEL_STR_MAX];
            node_id_to_str(id, &c->state_peers[i]);
            if (i)
                wr_bytes(w, ",", 1);
            wr_bytes(w, id, strlen(id));
        }
        return;
    case K_P2P_MAX_PEERS:
        snprintf(tmp, sizeof tmp, "%u", c->max_peers);
        break;
    case K_P2P_OUTBOUND:
        snprintf(tmp, sizeof tmp, "%u", c->p2p_outbound);
        break;
    case K_P2P_MAX_PER_IP:
        snprintf(tmp, sizeof tmp, "%u", c->p2p_max_per_ip);
        break;
    case K_P2P_BAN_SECONDS:
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)c->p2p_ban_seconds);
        break;
    case K_P2P_FETCH_STATE:
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)c->p2p_fetch_state_after);
        break;
    case K_P2P_STATE_CONFIRM:
        snprintf(tmp, sizeof tmp, "%u", c->p2p_state_confirmations);
        break;
    case K_NODE_RETENTION:
        if (c->block_retention == REPO_RETAIN_ALL)
            s = "all";
        else
            snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)c->block_retention);
        break;
    case K_NODE_LOG:
        s = c->log_level;
        cap = sizeof c->log_level - 1;
        break;
    case K_NODE_MAP_MB:
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)c->store_map_mb);
        break;
    case K_NODE_NO_SYNC:
        s = c->store_no_sync ? "true" : "false";
        break;
    case K_NODE_POOL_MAX:
        snprintf(tmp, sizeof tmp, "%u", c->pool_max_ops_per_thread);
        break;
    default:
        WEFT_PANIC("config key index %d", k);
    }
    /* the fixed-size fields are written up to their capacity even when not NUL-terminated */
    wr_bytes(w, s, strnlen(s, cap));
}

static void wr_str(wr_t *w, const char *s) { wr_bytes(w, s, strlen(s)); }

weft_err repo_config_format(const repo_config_t *c, char **out, size_t *len)
{
    repo_config_t d;
    repo_config_default(&d);
    wr_t w;
    wr_init(&w);
    wr_str(&w, "# weft node configuration (docs/repo.md). Every key can also be given to weftd as\n"
               "# --set section.key=value, which wins over this file.\n");
    const char *section = "";
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(section, keys[k].section) != 0) {
            section = keys[k].section;
            wr_str(&w, "\n[");
            wr_str(&w, section);
            wr_str(&w, "]\n");
        }
        wr_str(&w, "\n# ");
        wr_str(&w, keys[k].comment);
        wr_str(&w, "\n# default: ");
        wr_t dv;
        wr_init(&dv);
        value_text(&d, k, &dv);
        if (dv.len == 0)
            wr_str(&w, "(empty)");
        else
            wr_bytes(&w, dv.buf, dv.len);
        wr_free(&dv);
        wr_str(&w, "\n");
        wr_str(&w, keys[k].key);
        wr_str(&w, " =");
        wr_t vv;
        wr_init(&vv);
        value_text(c, k, &vv);
        if (vv.len > 0) { /* no trailing space after an empty value */
            wr_str(&w, " ");
            wr_bytes(&w, vv.buf, vv.len);
        }
        if (wr_err(&vv) != WEFT_OK)
            w.err = WEFT_E_NOMEM;
        wr_free(&vv);
        wr_str(&w, "\n");
    }
    if (wr_err(&w) != WEFT_OK) {
        wr_free(&w);
        return WEFT_E_NOMEM;
    }
    wr_u8(&w, 0);
    size_t n;
    uint8_t *b = wr_take(&w, &n);
    if (!b)
        return WEFT_E_NOMEM;
    *out = (char *)b;
    *len = n - 1;
    return WEFT_OK;
}

weft_err repo_config_write(const repo_config_t *c, const char *path)
{
    char *text;
    size_t len;
    weft_err e = repo_config_format(c, &text, &len);
    if (e != WEFT_OK)
        return e;
    e = repo_write_atomic(path, text, len, 0644);
    free(text);
    return e;
}

static bool field_eq(const char *a, const char *b, size_t cap) { return strncmp(a, b, cap) == 0; }

bool repo_config_eq(const repo_config_t *a, const repo_config_t *b)
{
    if (!field_eq(a->api_public, b->api_public, REPO_ADDR_MAX) ||
        !field_eq(a->api_private, b->api_private, REPO_ADDR_MAX) ||
        !field_eq(a->metrics, b->metrics, REPO_ADDR_MAX) ||
        !field_eq(a->p2p_listen, b->p2p_listen, REPO_ADDR_MAX) ||
        !field_eq(a->log_level, b->log_level, sizeof a->log_level))
        return false;
    if (a->bootstrap_count != b->bootstrap_count || a->bootstrap_count > REPO_MAX_BOOTSTRAP)
        return false;
    for (size_t i = 0; i < a->bootstrap_count; i++)
        if (!field_eq(a->bootstrap[i], b->bootstrap[i], REPO_ADDR_MAX))
            return false;
    if (a->state_peer_count != b->state_peer_count || a->state_peer_count > REPO_MAX_STATE_PEERS ||
        memcmp(a->state_peers, b->state_peers, a->state_peer_count * sizeof a->state_peers[0]))
        return false;
    return a->max_peers == b->max_peers && a->p2p_outbound == b->p2p_outbound &&
           a->p2p_max_per_ip == b->p2p_max_per_ip && a->p2p_ban_seconds == b->p2p_ban_seconds &&
           a->p2p_fetch_state_after == b->p2p_fetch_state_after &&
           a->p2p_state_confirmations == b->p2p_state_confirmations &&
           a->block_retention == b->block_retention && a->store_map_mb == b->store_map_mb &&
           a->store_no_sync == b->store_no_sync &&
           a->pool_max_ops_per_thread == b->pool_max_ops_per_thread;
}
