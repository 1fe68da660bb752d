/* weft devnet — a local network of weftd processes on loopback.
 *
 *   weft devnet [--nodes N] --dir DIR [--t0 MS] [--thread-count T] [--periods-per-cycle N]
 *               [--endorsement-count E] [--delta-f0 F] [--max-block-size B] [--accounts N]
 *               [--chain-id N] [--base-port P] [--detach]
 *   weft devnet stop --dir DIR
 *   weft devnet status --dir DIR [--json]
 *
 * Creating a devnet: a fresh genesis (starting a few seconds from now) with funded test accounts
 * and every node's staking key holding rolls, one repository per node (DIR/nodeI, its whole
 * configuration, ports included, in its config.ini), each node started as `weftd run --repo`, and
 * DIR/devnet.json describing the network.  The nodes are connected: node I bootstraps from nodes
 * 0..I-1 (and learns the others from their peer lists); on loopback every peer has the same IP, so
 * the per-IP and peer limits are raised to fit N nodes.  The test accounts' secret keys are
 * printed.  Without --detach the command shows live status of every node (slot, final period,
 * peers, blocks, and whether the nodes agree on the latest common final block) until Ctrl-C, then
 * stops the nodes; with --detach it returns and `weft devnet stop --dir DIR` stops them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "model/model.h"
#include "repo/repo.h"

#define MAX_NODES 64
#define MAX_ACCOUNTS 1000

typedef struct dnode {
    keypair_t node_key, staking;
    uint16_t ports[4]; /* public, private, metrics, p2p */
    char repo[PATH_MAX + 32];
    pid_t pid;
} dnode;

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* A free TCP port on 127.0.0.1, or base + k when a base port is given.  The socket that found it
 * stays bound (*fd, closed by the caller once every port is picked: -1 with a base port), so that
 * the kernel never hands the same port to two of the devnet's sockets (a port picked and released
 * at once came back for the next pick: two nodes then fought over it). */
static int pick_port(uint16_t base, unsigned k, uint16_t *out, int *fd)
{
    *fd = -1;
    if (base) {
        *out = (uint16_t)(base + k);
        return 0;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        close(s);
        return -1;
    }
    *out = ntohs(a.sin_port);
    *fd = s;
    return 0;
}

/* The weftd binary beside this weft binary (or WEFTD). */
static void weftd_path(char *out, size_t cap)
{
    const char *env = getenv("WEFTD");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, cap, "weftd");
        return;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    /* build trees: app/weft/weft beside app/weftd/weftd; installs: bin/weft beside bin/weftd
     * (a path too long for out: weftd from PATH) */
    if ((size_t)snprintf(out, cap, "%s/weftd", self) < cap && access(out, X_OK) == 0)
        return;
    if ((size_t)snprintf(out, cap, "%s/../weftd/weftd", self) >= cap)
        snprintf(out, cap, "weftd");
}

static pid_t spawn_node(const char *weftd, const char *repo, bool detach)
{
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/weftd.log", repo);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (detach)
        setsid();
    else
        setpgid(0, 0); /* Ctrl-C reaches weft only; weft stops the nodes in order */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, 0);
        close(nul);
    }
    execl(weftd, weftd, "run", "--repo", repo, (char *)NULL);
    fprintf(stderr, "weft devnet: cannot run %s: %s\n", weftd, strerror(errno));
    _exit(127);
}

static int run_init(const char *weftd, const char *repo, const char *genesis, const dnode *d,
                    const char *bootstrap, size_t nodes)
{
    char sk[MODEL_STR_MAX], nk[MODEL_STR_MAX], pub[32], priv[32], met[32], p2p[32], peers[16],
        per_ip[16];
    secret_key_to_str(sk, &d->staking);
    secret_key_to_str(nk, &d->node_key);
    snprintf(pub, sizeof pub, "127.0.0.1:%u", d->ports[0]);
    snprintf(priv, sizeof priv, "127.0.0.1:%u", d->ports[1]);
    snprintf(met, sizeof met, "127.0.0.1:%u", d->ports[2]);
    snprintf(p2p, sizeof p2p, "127.0.0.1:%u", d->ports[3]);
    /* every peer of a loopback devnet has the IP 127.0.0.1: room for all of them (inbound
     * connections are accepted up to max_peers - outbound, 8 by default) */
    snprintf(peers, sizeof peers, "%zu", nodes + 8);
    snprintf(per_ip, sizeof per_ip, "%zu", 2 * nodes + 4);
    const char *const opts[][2] = {{"--repo", repo},
                                   {"--genesis", genesis},
                                   {"--staking-key", sk},
                                   {"--node-key", nk},
                                   {"--api.public", pub},
                                   {"--api.private", priv},
                                   {"--api.metrics", met},
                                   {"--p2p.listen", p2p},
                                   {"--p2p.max_peers", peers},
                                   {"--p2p.max_per_ip", per_ip},
                                   {"--p2p.bootstrap", bootstrap}};
    const char *argv[2 * WEFT_ARRAY_LEN(opts) + 3] = {weftd, "init"};
    size_t argc = 2;
    for (size_t i = 0; i < WEFT_ARRAY_LEN(opts); i++) {
        if (!opts[i][1] || !*opts[i][1])
            continue; /* no bootstrap list for node 0 */
        argv[argc++] = opts[i][0];
        argv[argc++] = opts[i][1];
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            close(nul);
        }
        execv(weftd, (char *const *)argv);
        fprintf(stderr, "weft devnet: cannot run %s: %s\n", weftd, strerror(errno));
        _exit(127);
    }
    crypto_wipe(sk, sizeof sk);
    crypto_wipe(nk, sizeof nk);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

static json_t *call_node(const char *url, const char *method, json_t *params)
{
    json_t *res = NULL;
    api_error e;
    memset(&e, 0, sizeof e);
    weft_err err = api_client_call(url, NULL, method, params, 2000, &res, &e);
    api_error_clear(&e);
    json_decref(params);
    return err ? NULL : res;
}

static json_t *status_of(const char *url)
{
    return call_node(url, "get_status", json_pack("[{}]"));
}

static long long jint(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* One line per node, then whether the nodes agree on the final block of the latest slot that is
 * final everywhere (thread 0 of the lowest final period). */
static void print_status(json_t *dev)
{
    json_t *nodes = json_object_get(dev, "nodes");
    size_t n = json_array_size(nodes), i;
    json_t *nd;
    long long common = -1;
    size_t answering = 0;
    printf("node  slot        final  peers  final blocks  stale  cliques  pool ops\n");
    json_array_foreach (nodes, i, nd) {
        const char *url = json_string_value(json_object_get(nd, "public_api"));
        json_t *st = url ? status_of(url) : NULL;
        if (!st) {
            printf("%4zu  (not answering)\n", i);
            continue;
        }
        json_t *ls = json_object_get(st, "last_slot");
        json_t *cs = json_object_get(st, "consensus_stats");
        json_t *ex = json_object_get(st, "execution_stats");
        json_t *fc = ex ? json_object_get(ex, "final_cursor") : NULL;
        long long fp = json_is_object(fc) ? jint(fc, "period") : -1;
        char slot[32];
        snprintf(slot, sizeof slot, "%lld:%lld", jint(ls, "period"), jint(ls, "thread"));
        printf("%4zu  %-10s  %5lld  %5zu  %12lld  %5lld  %7lld  %8lld\n", i, slot, fp,
               json_object_size(json_object_get(st, "connected_nodes")),
               jint(cs, "final_block_count"), jint(cs, "stale_block_count"),
               jint(cs, "clique_count"),
               (long long)json_integer_value(json_array_get(json_object_get(st, "pool_stats"), 0)));
        if (answering++ == 0 || fp < common)
            common = fp;
        json_decref(st);
    }
    if (n > 1 && answering == n && common >= 1) {
        char first[MODEL_STR_MAX] = "";
        bool agree = true, known = true;
        json_array_foreach (nodes, i, nd) {
            const char *url = json_string_value(json_object_get(nd, "public_api"));
            json_t *b =
                call_node(url, "get_blockclique_block_by_slot",
                          json_pack("[{s:I,s:i}]", "period", (json_int_t)common, "thread", 0));
            /* the block (Massa's shape: header.id), or null for a slot without one */
            const char *id = json_string_value(json_object_get(json_object_get(b, "header"), "id"));
            if (!b || (!id && !json_is_null(b)))
                known = false;
            else if (i == 0)
                snprintf(first, sizeof first, "%s", id ? id : "(no block)");
            else if (strcmp(first, id ? id : "(no block)") != 0)
                agree = false;
            json_decref(b);
        }
        if (known)
            printf("slot %lld:0 final on every node: %s\n", common,
                   agree ? first : "NODES DISAGREE");
    }
    fflush(stdout);
}

static json_t *load_devnet(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/devnet.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        cli_error(WEFT_E_NOT_FOUND, "%s: %s", path, je.text);
    return j;
}

/* SIGTERM to every node, then waits for each (the process may be ours or detached) up to 10 s. */
static int stop_nodes(json_t *dev)
{
    json_t *nodes = json_object_get(dev, "nodes");
    size_t i;
    json_t *nd;
    int rc = 0;
    json_array_foreach (nodes, i, nd) {
        pid_t pid = (pid_t)json_integer_value(json_object_get(nd, "pid"));
        if (pid > 0 && kill(pid, SIGTERM) != 0)
            json_object_set_new(nd, "pid", json_integer(0)); /* already gone */
    }
    uint64_t deadline = now_ms() + 10000;
    json_array_foreach (nodes, i, nd) {
        pid_t pid = (pid_t)json_integer_value(json_object_get(nd, "pid"));
        if (pid <= 0)
            continue;
        while (kill(pid, 0) == 0 && now_ms() < deadline) {
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            usleep(10000);
        }
        if (kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) != pid) {
            fprintf(stderr, "weft devnet: node %zu (pid %d) did not stop\n", i, (int)pid);
            rc = 1;
        } else
            printf("node %zu stopped (pid %d)\n", i, (int)pid);
    }
    return rc;
}

static int cmd_devnet_stop(int argc, char **argv, bool status_only)
{
    struct cli_opt opts[] = {{"dir", NULL, false, false}, {"json", NULL, true, false}};
    const char *pos[1];
    size_t np;
    int rc = cli_parse_opts(argc, argv, opts, WEFT_ARRAY_LEN(opts), pos, 0, &np);
    if (rc)
        return rc;
    if (!opts[0].set)
        return cli_error(WEFT_E_USAGE, "--dir DIR is required");
    json_t *dev = load_devnet(opts[0].value);
    if (!dev)
        return CLI_EXIT_USAGE;
    if (status_only) {
        if (opts[1].set) {
            json_t *nodes = json_object_get(dev, "nodes");
            json_t *out = json_array();
            size_t i;
            json_t *nd;
            json_array_foreach (nodes, i, nd) {
                const char *url = json_string_value(json_object_get(nd, "public_api"));
                json_t *st = url ? status_of(url) : NULL;
                json_array_append_new(out, st ? st : json_null());
            }
            char *s = json_dumps(out, JSON_INDENT(2));
            if (s)
                puts(s);
            free(s);
            json_decref(out);
        } else
            print_status(dev);
        json_decref(dev);
        return 0;
    }
    rc = stop_nodes(dev);
    json_decref(dev);
    return rc;
}

int cmd_devnet(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "stop") == 0)
        return cmd_devnet_stop(argc - 1, argv + 1, false);
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return cmd_devnet_stop(argc - 1, argv + 1, true);
    struct cli_opt opts[] = {
        {"nodes", NULL, false, false},
        {"dir", NULL, false, false},
        {"t0", NULL, false, false},
        {"thread-count", NULL, false, false},
        {"periods-per-cycle", NULL, false, false},
        {"endorsement-count", NULL, false, false},
        {"delta-f0", NULL, false, false},
        {"max-block-size", NULL, false, false},
        {"accounts", NULL, false, false},
        {"chain-id", NULL, false, false},
        {"base-port", NULL, false, false},
        {"detach", NULL, true, false},
        {"genesis-delay", NULL, false, false},
    };
    enum {
        O_NODES,
        O_DIR,
        O_T0,
        O_T,
        O_PPC,
        O_E,
        O_DF0,
        O_MBS,
        O_ACC,
        O_CHAIN,
        O_PORT,
        O_DETACH,
        O_DELAY
    };
    const char *pos[1];
    size_t np;
    int rc = cli_parse_opts(argc, argv, opts, WEFT_ARRAY_LEN(opts), pos, 0, &np);
    if (rc)
        return rc;
    if (!opts[O_DIR].set)
        return cli_error(WEFT_E_USAGE, "--dir DIR is required");
    uint64_t v[WEFT_ARRAY_LEN(opts)];
    uint64_t defaults[WEFT_ARRAY_LEN(opts)] = {1,      0, 16000, 32, 128, 16,  0,
                                               300000, 5, 0,     0,  0,   3000};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(opts); i++) {
        v[i] = defaults[i];
        if (i == O_DIR || i == O_DETACH || !opts[i].set)
            continue;
        if (model_parse_u64(&v[i], opts[i].value) != WEFT_OK)
            return cli_error(WEFT_E_USAGE, "--%s: not a number: '%s'", opts[i].name, opts[i].value);
    }
    if (v[O_NODES] < 1 || v[O_NODES] > MAX_NODES)
        return cli_error(WEFT_E_USAGE, "--nodes must be 1..%d", MAX_NODES);
    if (v[O_ACC] > MAX_ACCOUNTS)
        return cli_error(WEFT_E_USAGE, "--accounts must be at most %d", MAX_ACCOUNTS);
    if (v[O_PORT] > 65535 - 4 * MAX_NODES)
        return cli_error(WEFT_E_USAGE, "--base-port too large");
    const char *dir = opts[O_DIR].value;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return cli_error(WEFT_E_IO, "cannot create %s: %s", dir, strerror(errno));
    char dpath[PATH_MAX + 16];
    snprintf(dpath, sizeof dpath, "%s/devnet.json", dir);
    if (access(dpath, F_OK) == 0)
        return cli_error(WEFT_E_EXISTS,
                         "%s exists: restart its nodes with `weftd run --repo DIR/nodeI`, or stop "
                         "them with `weft devnet stop --dir %s` and use a fresh --dir",
                         dpath, dir);
    char absdir[PATH_MAX];
    if (!realpath(dir, absdir))
        return cli_error(WEFT_E_IO, "%s: %s", dir, strerror(errno));

    /* genesis */
    model_params p;
    model_params_default(&p);
    p.thread_count = (uint32_t)v[O_T];
    p.t0_ms = v[O_T0];
    p.periods_per_cycle = v[O_PPC];
    p.endorsement_count = (uint32_t)v[O_E];
    p.delta_f0 = opts[O_DF0].set ? v[O_DF0] : 64 * (v[O_E] + 1);
    p.max_block_size = (uint32_t)v[O_MBS];
    if (opts[O_CHAIN].set)
        p.chain_id = v[O_CHAIN];
    else {
        crypto_random(&p.chain_id, sizeof p.chain_id);
        p.chain_id = 1000 + p.chain_id % 1000000;
    }
    /* start at a slot boundary a little ahead, so that every node is up for the first slots */
    uint64_t g = now_ms() + v[O_DELAY];
    p.genesis_timestamp_ms = g - g % 1000;
    weft_err e = model_params_check(&p);
    if (e)
        return cli_error(e, "protocol parameters");
    /* the draws of cycle D need cycle D-2 final: finality lagging about a cycle stops production
     * for good (docs/consensus.md §1.1); blocks without endorsements need delta_f0 / T periods */
    uint64_t cycle_slots;
    if (u64_mul(&cycle_slots, p.periods_per_cycle, p.thread_count) &&
        (p.delta_f0 > UINT64_MAX / 2 || cycle_slots < 2 * p.delta_f0))
        fprintf(stderr,
                "weft devnet: warning: a cycle of %llu slots holds less than twice delta_f0 (%llu) "
                "of fitness without endorsements; a chain whose finality lags a cycle stops for "
                "good\n",
                (unsigned long long)cycle_slots, (unsigned long long)p.delta_f0);
    size_t nn = (size_t)v[O_NODES], na = (size_t)v[O_ACC];
    dnode *nodes = calloc(nn, sizeof *nodes);
    keypair_t *acc = calloc(na ? na : 1, sizeof *acc);
    repo_genesis_t gen;
    memset(&gen, 0, sizeof gen);
    gen.params = p;
    gen.balances = calloc(na + nn, sizeof *gen.balances);
    gen.rolls = calloc(nn, sizeof *gen.rolls);
    int *held = calloc(4 * nn + 1, sizeof *held); /* the sockets of the ports picked */
    size_t nheld = 0;
    if (!nodes || !acc || !gen.balances || !gen.rolls || !held)
        return cli_error(WEFT_E_NOMEM, NULL);
    for (size_t i = 0; i < na; i++) {
        uint8_t seed[32];
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&acc[i], seed);
        address_of_pubkey(&gen.balances[i].addr, &acc[i].pk);
        gen.balances[i].amount = amount_from_nano(1000000ull * 1000000000ull); /* 1,000,000 MAS */
    }
    gen.balance_count = na;
    char bootstrap[4096] = "";
    for (size_t i = 0; i < nn; i++) {
        uint8_t seed[32];
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&nodes[i].staking, seed);
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&nodes[i].node_key, seed);
        address_of_pubkey(&gen.rolls[i].addr, &nodes[i].staking.pk);
        gen.rolls[i].rolls = 100;
        gen.balances[na + i].addr = gen.rolls[i].addr;
        gen.balances[na + i].amount = amount_from_nano(1000ull * 1000000000ull);
        for (unsigned k = 0; k < 4; k++) {
            int fd;
            if (pick_port((uint16_t)v[O_PORT], (unsigned)(4 * i + k), &nodes[i].ports[k], &fd) !=
                0) {
                close_fds(held, nheld);
                return cli_error(WEFT_E_IO, "cannot find a free port");
            }
            if (fd >= 0)
                held[nheld++] = fd;
        }
        snprintf(nodes[i].repo, sizeof nodes[i].repo, "%s/node%zu", absdir, i);
    }
    close_fds(held, nheld); /* every port distinct: the nodes bind them from here on */
    free(held);
    gen.balance_count = na + nn;
    gen.roll_count = nn;
    char gpath[PATH_MAX + 16];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", absdir);
    e = repo_genesis_write(&gen, gpath);
    if (e)
        return cli_error(e, "cannot write %s", gpath);
    char weftd[PATH_MAX];
    weftd_path(weftd, sizeof weftd);
    for (size_t i = 0; i < nn; i++) {
        size_t off = 0;
        bootstrap[0] = 0;
        for (size_t k = 0; k < i && off + 32 < sizeof bootstrap; k++)
            off += (size_t)snprintf(bootstrap + off, sizeof bootstrap - off, "%s127.0.0.1:%u",
                                    k ? "," : "", nodes[k].ports[3]);
        if (run_init(weftd, nodes[i].repo, gpath, &nodes[i], bootstrap, nn) != 0)
            return cli_error(WEFT_E_IO, "`%s init --repo %s` failed", weftd, nodes[i].repo);
    }
    /* start */
    bool detach = opts[O_DETACH].set;
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (size_t i = 0; i < nn; i++) {
        nodes[i].pid = spawn_node(weftd, nodes[i].repo, detach);
        if (nodes[i].pid < 0)
            return cli_error(WEFT_E_IO, "cannot start weftd: %s", strerror(errno));
    }
    /* devnet.json once every node wrote its endpoints */
    json_t *dev = json_object();
    json_t *jn = json_array();
    json_object_set_new(dev, "chain_id", json_integer((json_int_t)p.chain_id));
    for (size_t i = 0; i < nn; i++) {
        repo_endpoints_t ep;
        bool ok = false;
        for (int k = 0; k < 1000 && !interrupted; k++) {
            if (repo_read_endpoints(nodes[i].repo, &ep, NULL) == WEFT_OK) {
                ok = true;
                break;
            }
            if (waitpid(nodes[i].pid, NULL, WNOHANG) == nodes[i].pid)
                break;
            usleep(20000);
        }
        if (!ok) {
            fprintf(stderr, "weft devnet: node %zu did not start: see %s/weftd.log\n", i,
                    nodes[i].repo);
            for (size_t k = 0; k < nn; k++)
                kill(nodes[k].pid, SIGTERM);
            return 1;
        }
        char buf[MODEL_STR_MAX], url[160];
        json_t *o = json_object();
        snprintf(url, sizeof url, "http://%s", ep.api_public);
        json_object_set_new(o, "public_api", json_string(url));
        snprintf(url, sizeof url, "http://%s", ep.api_private);
        json_object_set_new(o, "private_api", json_string(url));
        json_object_set_new(o, "p2p", json_string(ep.p2p)); /* the address actually bound */
        node_id_to_str(buf, &nodes[i].node_key.pk);
        json_object_set_new(o, "node_id", json_string(buf));
        address_t sa_;
        address_of_pubkey(&sa_, &nodes[i].staking.pk);
        address_to_str(buf, &sa_);
        json_object_set_new(o, "staking_address", json_string(buf));
        json_object_set_new(o, "pid", json_integer(nodes[i].pid));
        json_object_set_new(o, "repo", json_string(nodes[i].repo));
        json_array_append_new(jn, o);
    }
    json_object_set_new(dev, "nodes", jn);
    json_t *ja = json_array();
    for (size_t i = 0; i < na; i++) {
        char ad[MODEL_STR_MAX], sk[MODEL_STR_MAX];
        address_to_str(ad, &gen.balances[i].addr);
        secret_key_to_str(sk, &acc[i]);
        json_array_append_new(ja, json_pack("{s:s,s:s}", "address", ad, "secret_key", sk));
        crypto_wipe(sk, sizeof sk);
    }
    json_object_set_new(dev, "accounts", ja);
    if (json_dump_file(dev, dpath, JSON_INDENT(2)) != 0)
        return cli_error(WEFT_E_IO, "cannot write %s", dpath);
    printf("devnet: %zu node(s), chain id %llu, t0 %llu ms, %u threads — %s\n", nn,
           (unsigned long long)p.chain_id, (unsigned long long)p.t0_ms, p.thread_count, dpath);
    for (size_t i = 0; i < nn; i++) {
        json_t *o = json_array_get(jn, i);
        printf("  node %zu  pid %d  public %s  private %s  repo %s\n", i, (int)nodes[i].pid,
               json_string_value(json_object_get(o, "public_api")),
               json_string_value(json_object_get(o, "private_api")), nodes[i].repo);
    }
    printf("test accounts (1,000,000 MAS each):\n");
    for (size_t i = 0; i < na; i++) {
        json_t *o = json_array_get(ja, i);
        printf("  %s  %s\n", json_string_value(json_object_get(o, "address")),
               json_string_value(json_object_get(o, "secret_key")));
    }
    fflush(stdout);
    for (size_t i = 0; i < nn; i++) {
        keypair_wipe(&nodes[i].staking);
        keypair_wipe(&nodes[i].node_key);
    }
    for (size_t i = 0; i < na; i++)
        keypair_wipe(&acc[i]);
    free(acc);
    repo_genesis_free(&gen);
    if (detach) {
        printf("running in the background: `weft devnet stop --dir %s` stops it\n", dir);
        json_decref(dev);
        free(nodes);
        return 0;
    }
    printf("live status (Ctrl-C stops the devnet):\n");
    while (!interrupted) {
        print_status(dev);
        for (int k = 0; k < 20 && !interrupted; k++)
            usleep(100000);
        for (size_t i = 0; i < nn; i++)
            if (nodes[i].pid > 0 && waitpid(nodes[i].pid, NULL, WNOHANG) == nodes[i].pid) {
                fprintf(stderr, "weft devnet: node %zu exited: see %s/weftd.log\n", i,
                        nodes[i].repo);
                nodes[i].pid = 0;
            }
    }
    printf("\nstopping the devnet\n");
    rc = stop_nodes(dev);
    json_decref(dev);
    free(nodes);
    return rc;
}
