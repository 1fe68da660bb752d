/* weftd — the weft node daemon.
 *
 *   weftd init --repo DIR --genesis FILE [--staking-key S… | --staking-key-file F]…
 *              [--node-key S…] [--SECTION.KEY VALUE]…
 *   weftd run  --repo DIR [--SECTION.KEY VALUE]…
 *
 * Every config.ini setting is also a flag (--api.public 127.0.0.1:0, --node.log debug, …): at init
 * it is written to config.ini, at run it overrides config.ini for that run.  `run` holds the
 * repository's lock, starts the node, its network (peers: p2p.listen, p2p.bootstrap) and its API,
 * writes api.json and api.token, and stops cleanly (API, network, then the node: every final write
 * completed) on SIGINT or SIGTERM or the stop_node RPC.
 * Exit status: 0 clean stop, 1 runtime failure, 2 usage or bad input (a named error on stderr). */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "repo/repo.h"
#include "weftd.h"

#define MAX_SETTINGS 128
#define MAX_KEYS 64

static int usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  weftd init --repo DIR --genesis FILE [--staking-key S...]... "
            "[--staking-key-file FILE]... [--node-key S...] [--SECTION.KEY VALUE]...\n"
            "  weftd run --repo DIR [--SECTION.KEY VALUE]...\n"
            "settings (docs/repo.md): --api.public --api.private --api.metrics --p2p.listen\n"
            "  --p2p.bootstrap --p2p.max_peers --p2p.outbound --p2p.max_per_ip --p2p.ban_seconds\n"
            "  --p2p.fetch_state_after_periods --p2p.state_peers --p2p.state_confirmations\n"
            "  --node.block_retention --node.log\n"
            "  --node.store_map_mb --node.store_no_sync --node.pool_max_ops_per_thread\n");
    return f == stdout ? 0 : 2;
}

static int fail(weft_err e, const char *fmt, ...) WEFT_PRINTF(2, 3);
static int fail(weft_err e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weftd: %s: %s\n", weft_err_name(e), msg);
    return 2;
}

typedef struct args {
    const char *repo, *genesis, *node_key;
    const char *keys[MAX_KEYS];
    size_t nkeys;
    const char *key_files[MAX_KEYS];
    size_t nkey_files;
    const char *settings[MAX_SETTINGS][2];
    size_t nsettings;
} args;

static int parse_args(int argc, char **argv, args *a, bool init)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0)
            return usage(stdout) - 1;
        if (strncmp(o, "--", 2) != 0 || i + 1 >= argc)
            return fail(WEFT_E_USAGE, "expected --OPTION VALUE, got '%s'", o);
        const char *v = argv[++i];
        const char *name = o + 2;
        if (strcmp(name, "repo") == 0)
            a->repo = v;
        else if (init && strcmp(name, "genesis") == 0)
            a->genesis = v;
        else if (init && strcmp(name, "node-key") == 0)
            a->node_key = v;
        else if (init && strcmp(name, "staking-key") == 0 && a->nkeys < MAX_KEYS)
            a->keys[a->nkeys++] = v;
        else if (init && strcmp(name, "staking-key-file") == 0 && a->nkey_files < MAX_KEYS)
            a->key_files[a->nkey_files++] = v;
        else if (strchr(name, '.') && a->nsettings < MAX_SETTINGS) {
            a->settings[a->nsettings][0] = name;
            a->settings[a->nsettings][1] = v;
            a->nsettings++;
        } else
            return fail(WEFT_E_USAGE, "unknown option '%s'", o);
    }
    if (!a->repo)
        return fail(WEFT_E_USAGE, "--repo DIR is required");
    if (init && !a->genesis)
        return fail(WEFT_E_USAGE, "--genesis FILE is required");
    return 0;
}

static int read_key_file(const char *path, keypair_t *kp)
{
    char err[512];
    weft_err e = repo_read_key_file(path, kp, err, sizeof err);
    return e ? fail(e, "%s", err) : 0;
}

static int cmd_init(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    repo_config_t cfg;
    repo_config_default(&cfg);
    char err[512];
    for (size_t i = 0; i < a.nsettings; i++) {
        weft_err e = repo_config_set(&cfg, a.settings[i][0], a.settings[i][1], err, sizeof err);
        if (e)
            return fail(e, "%s", err);
    }
    keypair_t keys[2 * MAX_KEYS];
    size_t nk = 0;
    for (size_t i = 0; i < a.nkeys; i++) {
        weft_err e = secret_key_parse(&keys[nk], a.keys[i]);
        if (e)
            return fail(e, "--staking-key: not a secret key");
        nk++;
    }
    for (size_t i = 0; i < a.nkey_files; i++) {
        rc = read_key_file(a.key_files[i], &keys[nk]);
        if (rc)
            return rc;
        nk++;
    }
    keypair_t node_key;
    bool has_node_key = false;
    if (a.node_key) {
        weft_err e = secret_key_parse(&node_key, a.node_key);
        if (e)
            return fail(e, "--node-key: not a secret key");
        has_node_key = true;
    }
    repo_init_options o = {
        .genesis_path = a.genesis,
        .node_key = has_node_key ? &node_key : NULL,
        .staking = keys,
        .staking_count = nk,
        .config = &cfg,
    };
    weft_err e = repo_init(a.repo, &o, err, sizeof err);
    for (size_t i = 0; i < nk; i++)
        keypair_wipe(&keys[i]);
    if (has_node_key)
        keypair_wipe(&node_key);
    if (e)
        return fail(e, "%s", err);
    printf("repository created: %s\n", a.repo);
    return 0;
}

static pthread_t main_thread;

static void on_stop_request(void *ctx)
{
    (void)ctx;
    pthread_kill(main_thread, SIGTERM);
}

static int cmd_run(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a, false);
    if (rc)
        return rc < 0 ? 0 : rc;
    /* Signals are taken by sigwait in this thread only: block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_thread = pthread_self();

    char err[512];
    repo_t *repo = NULL;
    weft_err e =
        repo_open(&repo, a.repo, (const char *const(*)[2])a.settings, a.nsettings, err, sizeof err);
    if (e)
        return fail(e, "%s", err);
    if (!getenv("WEFT_LOG") && log_init(repo->config.log_level) != WEFT_OK)
        log_warn("weftd", "unknown log level, keeping the default", "level=%s",
                 repo->config.log_level);
    /* the network exists before the node (the node reports its events to it), starts after it (it
     * serves the node's chain) and stops before it.  A node that fetched a peer's final state
     * asks for a restart (node_request_restart): everything stops and starts again, and the node
     * adopts the state as it starts. */
    for (;;) {
        netd *net = NULL;
        e = weftd_network_new(&net, repo, err, sizeof err);
        if (e) {
            repo_close(repo);
            fprintf(stderr, "weftd: %s: %s\n", weft_err_name(e), err);
            return 1;
        }
        node_options no = {.on_stop_request = on_stop_request, .net = netd_events(net)};
        node_t *node = NULL;
        e = node_start(&node, repo, &no, err, sizeof err);
        if (e) {
            netd_free(net);
            repo_close(repo);
            fprintf(stderr, "weftd: %s: %s\n", weft_err_name(e), err);
            return 1;
        }
        e = netd_start(net, node, err, sizeof err);
        weftd_services *svc = NULL;
        if (!e)
            e = weftd_services_start(&svc, node, repo, net, err, sizeof err);
        if (e) {
            fprintf(stderr, "weftd: %s: %s\n", weft_err_name(e), err);
            netd_stop(net);
            node_stop(node);
            netd_free(net);
            repo_close(repo);
            return 1;
        }
        pubkey_t id;
        node_id(node, &id);
        char ids[MODEL_STR_MAX];
        node_id_to_str(ids, &id);
        char p2p[REPO_ADDR_MAX];
        weftd_network_address(repo, net, p2p, sizeof p2p);
        log_info("weftd", "node running", "node_id=%s repo=%s chain_id=%llu p2p=%s", ids, repo->dir,
                 (unsigned long long)repo->genesis.params.chain_id, p2p);
        int sig = 0;
        while (sigwait(&set, &sig) != 0)
            ;
        bool restart = node_restart_requested(node);
        log_info("weftd", restart ? "restarting" : "stopping", "signal=%d", sig);
        weftd_services_stop(svc);
        netd_stop(net);
        node_stop(node);
        netd_free(net);
        if (!restart)
            break;
    }
    repo_clear_endpoints(repo);
    repo_close(repo);
    log_info("weftd", "stopped cleanly", NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout);
    if (crypto_init() != WEFT_OK) {
        fprintf(stderr, "weftd: E_UNSUPPORTED: cannot initialize libsodium\n");
        return 1;
    }
    if (log_init(NULL) != WEFT_OK)
        fprintf(stderr, "weftd: ignoring unknown WEFT_LOG level\n");
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc, argv);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    fprintf(stderr, "weftd: E_USAGE: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
