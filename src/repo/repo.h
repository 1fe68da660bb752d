/* repo — the node repository (DESIGN §5 "Repository", seed 002): a data directory that fully
 * defines a node.
 *
 *   DIR/repo.lock        the lock: one daemon per repository (flock, holds the owner's pid)
 *   DIR/config.ini       the node's settings (INI; every setting is also a weftd flag)
 *   DIR/genesis.json     chain id, genesis timestamp, protocol parameters, initial balances
 *                        and rolls (docs/repo.md gives the shape)
 *   DIR/keys/node.key    the node key (secret key text "S…"), mode 0600
 *   DIR/keys/staking/<AU…>.key  staking keys, one per file (named by address), mode 0600
 *   DIR/store/           the LMDB environment (final state, block log, metadata)
 *   DIR/journal          the signing journal (src/journal)
 *   DIR/api.json         written at start: the API addresses actually bound (public, private,
 *                        metrics, p2p) and the pid
 *   DIR/api.token        written at start: the private API bearer token (random), mode 0600
 *
 * Config keys (section.key = default) — docs/repo.md lists them all with their meaning:
 *   [api]     public = 127.0.0.1:33035   private = 127.0.0.1:33034   metrics = 127.0.0.1:31248
 *   [p2p]     listen = 0.0.0.0:31244     bootstrap = (comma-separated host:port list, empty)
 *             max_peers = 32            outbound = 8     max_per_ip = 4
 *             ban_seconds = 3600         fetch_state_after_periods = 0
 *             state_peers = (comma-separated node id list, empty: any peer)
 *             state_confirmations = 0 (0 .. REPO_MAX_STATE_CONFIRMATIONS)
 *   [node]    block_retention = all | N (periods of final blocks kept)    log = info
 *             store_map_mb = 64          store_no_sync = false
 *             pool_max_ops_per_thread = 8192
 * A port of 0 means "pick a free port" (the bound one is written to api.json).
 *
 * Errors: E_REPO_MISSING (no config/genesis: not a repository), E_REPO_LOCKED (the message names
 * the holder: "repository DIR is locked by pid N", available from repo_error), E_REPO_CONFIG (a bad
 * or unknown key or value, with file:line in repo_error), E_REPO_GENESIS (with the field named),
 * E_REPO_KEY (bad key file, or a key file readable by group/others), E_EXISTS (init on a non-empty
 * repository), E_IO, E_NOMEM.
 * Thread-safety: a repo_t is built and read by one thread; after repo_open its fields are
 * immutable and may be read from any thread.
 */
#ifndef WEFT_REPO_H
#define WEFT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "pos/pos.h"

#define REPO_ADDR_MAX 128 /* "host:port" with NUL */
#define REPO_MAX_BOOTSTRAP 64
#define REPO_MAX_STATE_PEERS 16        /* = NET_STATE_PEERS_MAX */
#define REPO_MAX_STATE_CONFIRMATIONS 4 /* NET_STATE_CHECKERS: the peers a transfer asks */
#define REPO_MAX_STAKING_KEYS 256
#define REPO_RETAIN_ALL UINT64_MAX

/* An initial balance of genesis.json. */
typedef struct repo_balance {
    address_t addr;
    amount_t amount;
} repo_balance_t;

typedef struct repo_genesis {
    model_params params; /* chain_id and genesis_timestamp_ms included */
    repo_balance_t *balances;
    size_t balance_count;
    pos_stake_t *rolls;
    size_t roll_count;
} repo_genesis_t;

typedef struct repo_config {
    char api_public[REPO_ADDR_MAX];  /* "host:port" */
    char api_private[REPO_ADDR_MAX]; /* must be a loopback host */
    char metrics[REPO_ADDR_MAX];
    char p2p_listen[REPO_ADDR_MAX];
    char bootstrap[REPO_MAX_BOOTSTRAP][REPO_ADDR_MAX];
    size_t bootstrap_count;
    uint32_t max_peers;       /* inbound connections are accepted up to max_peers - outbound */
    uint32_t p2p_outbound;    /* outbound connections kept open */
    uint32_t p2p_max_per_ip;  /* connections with one IP (whitelisted ones excepted) */
    uint64_t p2p_ban_seconds; /* ban duration of a misbehaving peer */
    uint64_t p2p_fetch_state_after; /* > 0: fetch a peer's final state when that far behind */
    pubkey_t state_peers[REPO_MAX_STATE_PEERS]; /* the final state only from these (none: any) */
    size_t state_peer_count;
    uint32_t p2p_state_confirmations; /* peers that must confirm a fetched state's fingerprint */
    uint64_t block_retention;         /* periods of final blocks kept; REPO_RETAIN_ALL */
    char log_level[16];
    uint64_t store_map_mb;
    bool store_no_sync;
    uint32_t pool_max_ops_per_thread;
} repo_config_t;

typedef struct repo {
    char *dir;            /* absolute path */
    int lock_fd;          /* held until repo_close */
    repo_config_t config; /* config.ini, then overrides */
    repo_genesis_t genesis;
    keypair_t node_key;
    keypair_t *staking_keys;
    size_t staking_count;
    char err[256]; /* detail of the last error, NUL-terminated */
} repo_t;

/* Fills c with the defaults above. */
void repo_config_default(repo_config_t *c);
/* Applies one "section.key=value" setting (the form of weftd's --set flag and of config.ini
 * lines); E_REPO_CONFIG with a message in err (errcap bytes) otherwise. */
WEFT_MUST_USE weft_err repo_config_set(repo_config_t *c, const char *key, const char *value,
                                       char *err, size_t errcap);
/* Parses config.ini text (len bytes, need not be NUL-terminated) on top of *c (callers start from
 * repo_config_default).  All or nothing: on error *c is unchanged and err says
 * "config.ini:LINE: what" (E_REPO_CONFIG: unknown section or key, a key set twice, a line that is
 * not "[section]" / "key = value" / comment / blank, a bad value; E_NOMEM).  The dialect: '#' or
 * ';' whole-line comments, spaces around keys and values trimmed, LF or CRLF, optional UTF-8 BOM.
 */
WEFT_MUST_USE weft_err repo_config_parse(repo_config_t *c, const char *text, size_t len, char *err,
                                         size_t errcap);
/* Writes c as INI text (every key, with comments) to path (mode 0644, atomically). */
WEFT_MUST_USE weft_err repo_config_write(const repo_config_t *c, const char *path);
/* The text repo_config_write writes: a new malloc'd NUL-terminated string (free it), length in
 * *len.  Parsing it onto defaults gives back c (for values repo_config_set accepts). */
WEFT_MUST_USE weft_err repo_config_format(const repo_config_t *c, char **out, size_t *len);
bool repo_config_eq(const repo_config_t *a, const repo_config_t *b);
/* Splits a config address "host:port" or "[v6]:port" (as accepted by repo_config_set) into host
 * (without brackets, hcap bytes) and port: for binding and connecting.  E_REPO_CONFIG if
 * malformed, E_LIMIT if host does not fit. */
WEFT_MUST_USE weft_err repo_addr_split(const char *addr, char *host, size_t hcap, uint16_t *port);
/* True for "localhost", 127.x.x.x and ::1 (host without brackets). */
bool repo_host_is_loopback(const char *host);

/* Parses genesis.json text (len bytes).  On error (E_REPO_GENESIS) err names the field
 * ("genesis.json: balances.AU…: malformed amount") and *out is zeroed.  Strict: duplicate JSON
 * keys, unknown fields, wrong types, out-of-range integers, inconsistent parameters
 * (model_params_check, roll_price > 0), invalid or non-user addresses, entries with 0 rolls and
 * a missing or empty "rolls" are all rejected.  Balances and rolls are sorted by address (kind,
 * hash).  *out owns its arrays (repo_genesis_free).  JSON integers are at most 2^63-1. */
WEFT_MUST_USE weft_err repo_genesis_parse(repo_genesis_t *out, const char *json, size_t len,
                                          char *err, size_t errcap);
/* Writes g as genesis.json text to path (atomically, mode 0644): every parameter, keys in a fixed
 * order, balances and rolls in array order.  E_RANGE for an integer above 2^63-1. */
WEFT_MUST_USE weft_err repo_genesis_write(const repo_genesis_t *g, const char *path);
/* The text repo_genesis_write writes (malloc'd, NUL-terminated, ends with a newline). */
WEFT_MUST_USE weft_err repo_genesis_to_json(const repo_genesis_t *g, char **out, size_t *len);
bool repo_genesis_eq(const repo_genesis_t *a, const repo_genesis_t *b);
void repo_genesis_free(repo_genesis_t *g);

typedef struct repo_init_options {
    const char *genesis_path;  /* copied into the repository (parsed and checked first) */
    const keypair_t *node_key; /* NULL: a fresh random one */
    const keypair_t *staking;  /* staking keys to install (may be NULL with count 0) */
    size_t staking_count;
    const repo_config_t *config; /* NULL: defaults */
} repo_init_options;

/* Creates a repository in dir (created if missing; E_EXISTS if it already holds a config or
 * genesis).  Writes config.ini, genesis.json, keys/ (0700) with node.key and staking keys (0600).
 */
WEFT_MUST_USE weft_err repo_init(const char *dir, const repo_init_options *o, char *err,
                                 size_t errcap);

/* Opens a repository: takes the lock (E_REPO_LOCKED at once if another process holds it: the
 * message in r->err names its pid), reads config.ini then applies overrides[0..n) ("section.key",
 * "value" pairs), genesis.json and the keys.  *out owns everything (repo_close releases the
 * lock).  On error *out is NULL and err (errcap bytes) says why. */
WEFT_MUST_USE weft_err repo_open(repo_t **out, const char *dir, const char *const (*overrides)[2],
                                 size_t n_overrides, char *err, size_t errcap);
void repo_close(repo_t *r);

/* Paths inside the repository: writes DIR/name into out (cap bytes); E_LIMIT if it does not fit. */
WEFT_MUST_USE weft_err repo_path(const repo_t *r, const char *name, char *out, size_t cap);

/* Reads a key file as the repository's own are read: the secret key text ("S…", an optional
 * newline), a regular file not readable by group or others (E_REPO_KEY with the reason in err). */
WEFT_MUST_USE weft_err repo_read_key_file(const char *path, keypair_t *kp, char *err,
                                          size_t errcap);

/* Adds a staking key (written to keys/staking/<address>.key, 0600) / removes one by address
 * (E_NOT_FOUND).  Not thread-safe with readers of staking_keys: the node serializes. */
WEFT_MUST_USE weft_err repo_staking_add(repo_t *r, const keypair_t *kp);
WEFT_MUST_USE weft_err repo_staking_remove(repo_t *r, const address_t *addr);

/* The addresses actually bound, written to DIR/api.json at start. */
typedef struct repo_endpoints {
    char api_public[REPO_ADDR_MAX];
    char api_private[REPO_ADDR_MAX];
    char metrics[REPO_ADDR_MAX];
    char p2p[REPO_ADDR_MAX];
} repo_endpoints_t;
/* Writes api.json ({"public_api":…, "private_api":…, "metrics":…, "p2p":…, "pid":N,
 * "node_id":"N…"}) and a fresh random api.token (0600, 64 hex chars, returned in token[65]). */
WEFT_MUST_USE weft_err repo_write_endpoints(repo_t *r, const repo_endpoints_t *e, char token[65]);
/* The same with a token chosen by the caller (64 hex characters, E_INVAL otherwise): weftd starts
 * its private API with the token before it knows the bound addresses. */
WEFT_MUST_USE weft_err repo_write_endpoints_token(repo_t *r, const repo_endpoints_t *e,
                                                  const char *token);
/* Reads api.json/api.token of a repository (for `weft` and tests; no lock needed).  token may be
 * NULL.  E_NOT_FOUND if a file is absent (no node running), E_CORRUPT if malformed. */
WEFT_MUST_USE weft_err repo_read_endpoints(const char *dir, repo_endpoints_t *e, char token[65]);
/* Removes api.json and api.token (at clean shutdown); errors are ignored. */
void repo_clear_endpoints(repo_t *r);

#endif
