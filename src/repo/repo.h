/* repo — the node repository (DESIGN §5 "Repository", seed 002): a data directory that fully
 * defines a node.
 *
 *   DIR/repo.lock        the lock: one daemon per repository (flock, holds the owner's pid)
 *   DIR/config.ini       the node's settings (INI; every setting is also a weftd flag)
 *   DIR/genesis.json     chain id, genesis timestamp, protocol parameters, initial balances
 *                        and rolls (docs/repo.md gives the shape)
 *   DIR/keys/node.key    the node key (secret key text "S…"), mode 0600
 *   DIR/keys/staking/*.key  staking keys, one per file (named by address), mode 0600
 *   DIR/store/           the LMDB environment (final state, block log, metadata)
 *   DIR/journal          the signing journal (src/journal)
 *   DIR/api.json         written at start: the API addresses actually bound (public, private,
 *                        metrics, p2p) and the pid
 *   DIR/api.token        written at start: the private API bearer token (random), mode 0600
 *
 * Config keys (section.key = default) — docs/repo.md lists them all with their meaning:
 *   [api]     public = 127.0.0.1:33035   private = 127.0.0.1:33034   metrics = 127.0.0.1:31248
 *   [p2p]     listen = 0.0.0.0:31244     bootstrap = (comma-separated host:port list, empty)
 *             max_peers = 32
 *   [node]    block_retention = all | N (periods of final blocks kept)    log = info
 *             store_map_mb = 64          store_no_sync = false
 *             pool_max_ops_per_thread = 2048
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
    uint32_t max_peers;
    uint64_t block_retention; /* periods of final blocks kept; REPO_RETAIN_ALL */
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
/* Writes c as INI text (every key, with comments) to path (mode 0644, atomically). */
WEFT_MUST_USE weft_err repo_config_write(const repo_config_t *c, const char *path);

/* Parses genesis.json text (len bytes).  On error, err names the field.  *out owns its arrays
 * (repo_genesis_free). */
WEFT_MUST_USE weft_err repo_genesis_parse(repo_genesis_t *out, const char *json, size_t len,
                                          char *err, size_t errcap);
/* Writes g as genesis.json text to path (atomically). */
WEFT_MUST_USE weft_err repo_genesis_write(const repo_genesis_t *g, const char *path);
void repo_genesis_free(repo_genesis_t *g);

typedef struct repo_init_options {
    const char *genesis_path;   /* copied into the repository (parsed and checked first) */
    const keypair_t *node_key;  /* NULL: a fresh random one */
    const keypair_t *staking;   /* staking keys to install (may be NULL with count 0) */
    size_t staking_count;
    const repo_config_t *config; /* NULL: defaults */
} repo_init_options;

/* Creates a repository in dir (created if missing; E_EXISTS if it already holds a config or
 * genesis).  Writes config.ini, genesis.json, keys/ (0700) with node.key and staking keys (0600). */
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
/* Reads api.json/api.token of a repository (for `weft` and tests; no lock needed).  token may be
 * NULL. */
WEFT_MUST_USE weft_err repo_read_endpoints(const char *dir, repo_endpoints_t *e, char token[65]);

#endif
