/* net_bench — the network under load: real weftd processes on this machine, driven through their
 * JSON-RPC APIs (issue 6 item 6).
 *
 * Part 1, throughput and propagation: a 4-node devnet (`weft devnet`, t0 = 16 s, T = 32,
 * max_block_size = 1,000,000 B as node_bench) with 1,000 funded test accounts.  Transfers are
 * pre-signed and rendered as JSON, then submitted by several client threads in send_operations
 * batches of 128, round-robin over the 4 nodes, as fast as the nodes admit them (a batch refused
 * by a full pool is retried from the refused operation, one refused by a busy node — E_BUSY,
 * operations from its peers wait for its checks — is sent again after 20 ms, doubling up to
 * 320 ms while the node stays busy, for at most 60 s) or at a given rate.  Prints:
 *   - final tx/s with all nodes agreeing: operations executed in final slots, counted on every
 *     node (get_status final_executed_operations_count) — the rate of the slowest node, best
 *     sustained over one period and overall — and whether every node has the same final block in
 *     every slot;
 *   - block propagation to all nodes (median, p99): from the producer's "block produced" log line
 *     to the latest "block from a peer taken" line among the other nodes (the nodes run with
 *     WEFT_LOG=debug; both lines carry the slot, and the wall clocks are the same machine's);
 *   - the refused answers by error name, the blocks produced from the feed's start (operations
 *     per block, stale blocks, operations of final blocks included again: the first node's
 *     "operations already executed" lines), and the nodes' CPU time from the feed's start to
 *     the last final transfer (from /proc: per node, per thread name over the nodes, and per
 *     final transfer), the operation signatures verified per final transfer, on average per node
 *     (and the checks the nodes' caches of verified signatures answered:
 *     weft_operation_signatures_verified_total, weft_operation_signature_cache_hits_total), and
 *     each node's peak resident memory.
 * Part 2, sync: a chain of at least 10,000 final blocks (t0 = 16 s, T = 32, E = 16, 50
 * transfers per slot) is built offline — one in-process node holding the 4 stakers' keys, on a
 * fake clock that runs from a genesis set in the past up to the present as fast as the node
 * keeps up — and copied into the repositories of a 4-node devnet (one staker each) started with
 * `weftd run`.  A 5th node with an empty repository (the same genesis, no staking key)
 * bootstraps from the 4 and catches up.  Prints its sync speed (final blocks per second, from
 * its API answering to its final period reaching the others' at its start) and, for comparison,
 * the rate at which one core verifies the same blocks' signatures (header, endorsements,
 * operations; read back from the 5th node's repository with the node's network interface,
 * verified on one thread).  Goals (issue 6): >= 4,000 final tx/s; sync >= 0.8 x the one-core
 * verification rate.
 *
 * No figure is a pass/fail criterion.  weft and weftd are taken from WEFT and WEFTD or from the
 * build tree beside this program (bench/../app/weft).  The scratch directory is made in TMPDIR
 * (default /tmp) and removed at the end unless NET_BENCH_KEEP is set.
 *
 * usage: net_bench [feed seconds, default 60; 0 skips part 1] [sync blocks, default 10000; 0
 *                  skips part 2] [transfers per slot of the synced chain, default 50]
 *                  [feed rate in tx/s, default 0: as fast as the nodes admit them] */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "crypto/crypto.h"
#include "model/model.h"
#include "node/node.h"
#include "repo/repo.h"

#define NNODES 4
#define BATCH 128     /* send_operations takes at most 128 operations */
#define FEEDERS 8     /* client threads: with 4, the nodes' CPU was partly idle waiting for them */
#define ACCOUNTS 1000 /* weft devnet's limit */
#define FEE_NANO 10000000ull /* the minimal fee, 0.01 MAS */
#define BUSY_MAX_S 60.0      /* the most a batch waits for a node answering E_BUSY */

static char g_weft[PATH_MAX], g_weftd[PATH_MAX];

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "net_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

/* ---- processes ---------------------------------------------------------------------------- */

/* Runs argv to completion (stdout and stderr to log_path, or inherited); returns the exit
 * status (-1 if it could not run).  debug: WEFT_LOG=debug in its environment. */
static int run_cmd(char *const argv[], const char *log_path, bool debug)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (debug)
            setenv("WEFT_LOG", "debug", 1);
        else
            unsetenv("WEFT_LOG");
        if (log_path) {
            FILE *f = fopen(log_path, "a");
            if (f) {
                dup2(fileno(f), 1);
                dup2(fileno(f), 2);
            }
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts `weftd run --repo repo` in its own session, logging to repo/weftd.log. */
static pid_t spawn_weftd(const char *repo)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        unsetenv("WEFT_LOG");
        char log[PATH_MAX + 16];
        snprintf(log, sizeof log, "%s/weftd.log", repo);
        FILE *f = fopen(log, "a");
        if (f) {
            dup2(fileno(f), 1);
            dup2(fileno(f), 2);
        }
        execl(g_weftd, g_weftd, "run", "--repo", repo, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void find_tools(void)
{
    const char *w = getenv("WEFT"), *d = getenv("WEFTD");
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    if (w && *w)
        snprintf(g_weft, sizeof g_weft, "%s", w);
    else
        snprintf(g_weft, sizeof g_weft, "%.*s/../app/weft", PATH_MAX - 20, self);
    if (d && *d)
        snprintf(g_weftd, sizeof g_weftd, "%s", d);
    else
        snprintf(g_weftd, sizeof g_weftd, "%.*s/../app/weftd", PATH_MAX - 20, self);
    if (access(g_weft, X_OK) != 0 || access(g_weftd, X_OK) != 0)
        die("weft or weftd not found (set WEFT and WEFTD): %s", g_weft);
    setenv("WEFTD", g_weftd, 1); /* weft devnet starts this weftd */
}

/* ---- JSON-RPC over libcurl (one handle per thread, kept alive) ---------------------------- */

typedef struct http {
    CURL *c;
    struct curl_slist *hdr;
    char *buf;
    size_t len, cap;
} http;

static size_t http_write(char *p, size_t sz, size_t n, void *ctx)
{
    http *h = ctx;
    size_t m = sz * n;
    if (h->len + m + 1 > h->cap) {
        size_t nc = (h->len + m + 1) * 2;
        char *nb = realloc(h->buf, nc);
        if (!nb)
            return 0;
        h->buf = nb;
        h->cap = nc;
    }
    memcpy(h->buf + h->len, p, m);
    h->len += m;
    h->buf[h->len] = 0;
    return m;
}

static void http_init(http *h)
{
    memset(h, 0, sizeof *h);
    h->c = curl_easy_init();
    h->hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, h->hdr);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
}

static void http_free(http *h)
{
    curl_easy_cleanup(h->c);
    curl_slist_free_all(h->hdr);
    free(h->buf);
}

/* POSTs body (or GETs when body is NULL); the answer text in h->buf, NULL on failure. */
static const char *http_do(http *h, const char *url, const char *body, size_t len)
{
    h->len = 0;
    if (h->buf)
        h->buf[0] = 0;
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, (long)len);
    } else
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
    if (curl_easy_perform(h->c) != CURLE_OK)
        return NULL;
    return h->buf ? h->buf : "";
}

/* A call with params given as JSON text: the whole answer object (json_decref), or NULL. */
static json_t *rpc(http *h, const char *url, const char *method, const char *params)
{
    size_t cap = strlen(method) + strlen(params) + 64;
    char *body = malloc(cap);
    if (!body)
        return NULL;
    snprintf(body, cap, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}", method,
             params);
    const char *ans = http_do(h, url, body, strlen(body));
    free(body);
    return ans ? json_loads(ans, 0, NULL) : NULL;
}

/* A sample without labels in Prometheus text t: its value, or -1. */
static double metric_in(const char *t, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

/* A node's operation signatures verified and found in its cache so far, from one GET of its
 * metrics; false if they could not be read. */
static bool sig_counts(http *h, const char *url, double *verified, double *hits)
{
    const char *t = url[0] ? http_do(h, url, NULL, 0) : NULL;
    *verified = metric_in(t, "weft_operation_signatures_verified_total");
    *hits = metric_in(t, "weft_operation_signature_cache_hits_total");
    return *verified >= 0 && *hits >= 0;
}

typedef struct nstat {
    long long fp; /* final cursor period, -1 unknown */
    unsigned long long final_ops, final_blocks;
    bool ok;
} nstat;

static nstat status_of(http *h, const char *url)
{
    nstat s = {-1, 0, 0, false};
    json_t *a = rpc(h, url, "get_status", "[{}]");
    json_t *r = a ? json_object_get(a, "result") : NULL;
    if (r) {
        json_t *ex = json_object_get(r, "execution_stats");
        json_t *fc = json_object_get(ex, "final_cursor");
        s.fp = json_is_object(fc) ? json_integer_value(json_object_get(fc, "period")) : -1;
        s.final_ops = (unsigned long long)json_integer_value(
            json_object_get(ex, "final_executed_operations_count"));
        s.final_blocks = (unsigned long long)json_integer_value(
            json_object_get(json_object_get(r, "consensus_stats"), "final_block_count"));
        s.ok = true;
    }
    json_decref(a);
    return s;
}

/* The final block id of a slot ("" for none; false if the node did not answer). */
static bool block_at(http *h, const char *url, uint64_t period, uint32_t thread, char *out,
                     size_t cap)
{
    char params[96];
    snprintf(params, sizeof params, "[{\"period\":%llu,\"thread\":%u}]", (unsigned long long)period,
             thread);
    json_t *a = rpc(h, url, "get_blockclique_block_by_slot", params);
    json_t *r = a ? json_object_get(a, "result") : NULL;
    bool ok = r != NULL;
    const char *id = json_string_value(json_object_get(json_object_get(r, "header"), "id"));
    snprintf(out, cap, "%s", id ? id : "");
    json_decref(a);
    return ok;
}

/* ---- devnets ----------------------------------------------------------------------------- */

typedef struct bnode {
    char url[128];
    char metrics[160]; /* http://host:port/metrics */
    char repo[PATH_MAX];
    char p2p[64];
    pid_t pid;
} bnode;

typedef struct devnet {
    char dir[PATH_MAX];
    size_t n;
    bnode nodes[NNODES + 1];
    model_params params;
    keypair_t acc[ACCOUNTS];
    char acc_pk[ACCOUNTS][MODEL_STR_MAX];
    address_t acc_addr[ACCOUNTS];
    size_t nacc;
} devnet;

static void read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
        die("cannot read %s", path);
    (*out)[n] = 0;
    *len = (size_t)n;
    fclose(f);
}

static void devnet_start(devnet *dv, const char *dir, uint64_t t0, uint32_t max_block_size,
                         size_t accounts, bool debug)
{
    memset(dv, 0, sizeof *dv);
    snprintf(dv->dir, sizeof dv->dir, "%s", dir);
    char t0s[24], mbs[24], acs[24];
    snprintf(t0s, sizeof t0s, "%llu", (unsigned long long)t0);
    snprintf(mbs, sizeof mbs, "%u", max_block_size);
    snprintf(acs, sizeof acs, "%zu", accounts);
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s.log", dir);
    char *argv[] = {g_weft,
                    "devnet",
                    "--nodes",
                    "4",
                    "--dir",
                    dv->dir,
                    "--t0",
                    t0s,
                    "--max-block-size",
                    mbs,
                    "--accounts",
                    acs,
                    "--detach",
                    "--genesis-delay",
                    "4000",
                    NULL};
    if (run_cmd(argv, log, debug) != 0)
        die("weft devnet failed: see %s", log);
    char path[PATH_MAX + 32], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    read_file(path, &text, &len);
    repo_genesis_t g;
    char err[256];
    check(repo_genesis_parse(&g, text, len, err, sizeof err), "genesis.json");
    dv->params = g.params;
    repo_genesis_free(&g);
    free(text);
    snprintf(path, sizeof path, "%s/devnet.json", dir);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        die("cannot read %s", path);
    json_t *nodes = json_object_get(j, "nodes"), *nd;
    size_t i;
    json_array_foreach (nodes, i, nd) {
        if (i >= NNODES)
            break;
        bnode *b = &dv->nodes[i];
        snprintf(b->url, sizeof b->url, "%s", json_string_value(json_object_get(nd, "public_api")));
        snprintf(b->repo, sizeof b->repo, "%s", json_string_value(json_object_get(nd, "repo")));
        snprintf(b->p2p, sizeof b->p2p, "%s", json_string_value(json_object_get(nd, "p2p")));
        b->pid = (pid_t)json_integer_value(json_object_get(nd, "pid"));
        repo_endpoints_t ep;
        if (repo_read_endpoints(b->repo, &ep, NULL) == WEFT_OK && ep.metrics[0])
            snprintf(b->metrics, sizeof b->metrics, "http://%s/metrics", ep.metrics);
        dv->n++;
    }
    json_t *acc = json_object_get(j, "accounts"), *a;
    json_array_foreach (acc, i, a) {
        if (i >= ACCOUNTS)
            break;
        check(secret_key_parse(&dv->acc[i], json_string_value(json_object_get(a, "secret_key"))),
              "account key");
        pubkey_to_str(dv->acc_pk[i], &dv->acc[i].pk);
        address_of_pubkey(&dv->acc_addr[i], &dv->acc[i].pk);
        dv->nacc++;
    }
    json_decref(j);
    if (dv->n != NNODES || dv->nacc != accounts)
        die("unexpected devnet.json in %s", dir);
}

static void devnet_stop(devnet *dv)
{
    char *argv[] = {g_weft, "devnet", "stop", "--dir", dv->dir, NULL};
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s.log", dv->dir);
    run_cmd(argv, log, false);
    for (size_t i = 0; i < NNODES; i++) /* a node that did not stop in 10 s */
        if (dv->nodes[i].pid > 0 && kill(dv->nodes[i].pid, 0) == 0) {
            fprintf(stderr, "net_bench: node %zu (pid %d) did not stop: killed\n", i,
                    (int)dv->nodes[i].pid);
            kill(dv->nodes[i].pid, SIGKILL);
        }
    for (size_t i = 0; i < dv->nacc; i++)
        keypair_wipe(&dv->acc[i]);
}

static uint64_t current_period(const model_params *p)
{
    slot_t s;
    return slot_at_time(p, &s, wall_ms()) == WEFT_OK ? s.period : 0;
}

static long long min_final(http *h, devnet *dv, size_t n)
{
    long long m = LLONG_MAX;
    for (size_t i = 0; i < n; i++) {
        nstat s = status_of(h, dv->nodes[i].url);
        if (!s.ok || s.fp < m)
            m = s.ok ? s.fp : -1;
    }
    return m;
}

/* Whether the nodes have the same final block in every slot of periods 1..upto; *filled counts
 * the slots with a block. */
static bool all_agree(http *h, devnet *dv, uint64_t upto, size_t *slots, size_t *filled)
{
    bool agree = true;
    *slots = *filled = 0;
    for (uint64_t p = 1; p <= upto; p++)
        for (uint32_t t = 0; t < dv->params.thread_count; t++) {
            char first[MODEL_STR_MAX], id[MODEL_STR_MAX];
            for (size_t i = 0; i < dv->n; i++) {
                if (!block_at(h, dv->nodes[i].url, p, t, i ? id : first, MODEL_STR_MAX))
                    return false;
                if (i && strcmp(id, first) != 0)
                    agree = false;
            }
            (*slots)++;
            *filled += first[0] != 0;
        }
    return agree;
}

/* ---- transfers ---------------------------------------------------------------------------- */

/* A signed transfer, kept as its send_operations item (JSON text), rendered once when signed so
 * that the feed spends no client CPU on encoding. */
typedef struct pre_op {
    char *json;
    uint32_t len;
} pre_op;

static void wr_str(wr_t *w, const char *s) { wr_bytes(w, s, strlen(s)); }

static void sign_transfer(pre_op *o, const devnet *dv, size_t i, uint64_t expire, uint64_t amount)
{
    size_t a = i % dv->nacc;
    operation_t op;
    memset(&op, 0, sizeof op);
    op.fee = amount_from_nano(FEE_NANO);
    op.expire_period = expire;
    op.type = OP_TRANSACTION;
    op.u.transaction.recipient = dv->acc_addr[(a + 1) % dv->nacc];
    op.u.transaction.amount = amount_from_nano(amount);
    wr_t c;
    wr_init(&c);
    op_encode(&c, &op);
    check(wr_err(&c), "transfer");
    hash32_t d;
    signature_t sig;
    op_digest(&d, dv->params.chain_id, &dv->acc[a].pk, c.buf, c.len);
    model_sign_digest(&sig, &dv->acc[a], &d);

    wr_t w;
    wr_init(&w);
    char num[8], sigs[MODEL_STR_MAX];
    wr_str(&w, "{\"serialized_content\":[");
    for (size_t b = 0; b < c.len; b++) {
        int m = snprintf(num, sizeof num, b ? ",%u" : "%u", c.buf[b]);
        wr_bytes(&w, num, (size_t)m);
    }
    signature_to_str(sigs, &sig);
    wr_str(&w, "],\"creator_public_key\":\"");
    wr_str(&w, dv->acc_pk[a]);
    wr_str(&w, "\",\"signature\":\"");
    wr_str(&w, sigs);
    wr_str(&w, "\"}");
    check(wr_err(&w), "transfer item");
    size_t len;
    o->json = (char *)wr_take(&w, &len);
    o->len = (uint32_t)len;
    wr_free(&c);
}

/* The send_operations request of ops[0..n) (malloc'd text). */
static char *ops_request(const pre_op *ops, size_t n, size_t *len)
{
    wr_t w;
    wr_init(&w);
    wr_str(&w, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"send_operations\",\"params\":[[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            wr_bytes(&w, ",", 1);
        wr_bytes(&w, ops[k].json, ops[k].len);
    }
    wr_bytes(&w, "]]}", 4); /* with the NUL */
    check(wr_err(&w), "request");
    char *out = (char *)wr_take(&w, len);
    (*len)--;
    return out;
}

/* Refused answers of send_operations, by error name (several feeder threads). */
#define REFUSAL_KINDS 8
static struct {
    pthread_mutex_t mu;
    char name[REFUSAL_KINDS][40];
    unsigned long long count[REFUSAL_KINDS];
    size_t n;
} g_refused = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void count_refusal(const char *name)
{
    pthread_mutex_lock(&g_refused.mu);
    size_t k = 0;
    while (k < g_refused.n && strcmp(g_refused.name[k], name) != 0)
        k++;
    if (k == g_refused.n && k < REFUSAL_KINDS)
        snprintf(g_refused.name[g_refused.n++], sizeof g_refused.name[0], "%s", name);
    if (k < g_refused.n)
        g_refused.count[k]++;
    pthread_mutex_unlock(&g_refused.mu);
}

/* Sends ops[0..n) to url until all are admitted (a refused one is retried from its index, at
 * most `patience` times in a row); returns how many were admitted.  A node answering E_BUSY is
 * asked again after 20 ms, then 40, 80 ... up to 320 ms while it stays busy (each refused request
 * costs the node its parsing), for at most BUSY_MAX_S in all. */
static size_t submit(http *h, const char *url, const pre_op *ops, size_t n, int patience,
                     atomic_ullong *requests)
{
    size_t done = 0, body_at = SIZE_MAX, len = 0;
    char *body = NULL;
    int tries = 0;
    useconds_t pause = 20000;
    double busy_waited = 0; /* seconds */
    while (done < n) {
        if (body_at != done) { /* the request of ops[done..n) */
            free(body);
            body = ops_request(ops + done, n - done, &len);
            body_at = done;
        }
        const char *ans = http_do(h, url, body, len);
        atomic_fetch_add(requests, 1);
        json_t *a = ans ? json_loads(ans, 0, NULL) : NULL;
        json_t *er = a ? json_object_get(a, "error") : NULL;
        if (a && !er) {
            json_decref(a);
            break;
        }
        size_t idx = 0;
        json_t *data = er ? json_object_get(er, "data") : NULL;
        const char *why = json_string_value(json_object_get(data, "name"));
        count_refusal(why ? why : a ? "(no name)" : "(no answer)");
        if (json_is_integer(json_object_get(data, "index")))
            idx = (size_t)json_integer_value(json_object_get(data, "index"));
        bool is_busy = why && strcmp(why, "E_BUSY") == 0;
        json_decref(a);
        if (is_busy && busy_waited < BUSY_MAX_S) { /* it checks its peers' first */
            usleep(pause);
            busy_waited += pause / 1e6;
            if (pause < 320000)
                pause *= 2;
            continue;
        }
        pause = 20000;
        if (idx > 0) {
            done += idx; /* those before the refused one were admitted */
            tries = 0;
            continue;
        }
        if (++tries > patience) { /* give this one up */
            done++;
            tries = 0;
            continue;
        }
        usleep(20000);
    }
    free(body);
    return n; /* counted as admitted: the node's admitted counter is the exact figure */
}

typedef struct feedctx {
    devnet *dv;
    pre_op *ops;
    size_t nops;
    atomic_size_t next, sent;
    atomic_ullong requests;
    double start, deadline;
    double rate; /* operations per second; 0: as fast as the nodes admit them */
} feedctx;

static void *feeder(void *arg)
{
    feedctx *f = arg;
    http h[NNODES];
    for (int i = 0; i < NNODES; i++)
        http_init(&h[i]);
    for (;;) {
        size_t b = atomic_fetch_add(&f->next, 1);
        if (b * BATCH >= f->nops || now_s() >= f->deadline)
            break;
        if (f->rate > 0) { /* batch b is due at its place in a steady stream */
            double due = f->start + (double)(b * BATCH) / f->rate;
            while (now_s() < due)
                usleep(2000);
        }
        size_t n = f->nops - b * BATCH < BATCH ? f->nops - b * BATCH : BATCH;
        int node = (int)(b % NNODES);
        submit(&h[node], f->dv->nodes[node].url, f->ops + b * BATCH, n, 100, &f->requests);
        atomic_fetch_add(&f->sent, n);
    }
    for (int i = 0; i < NNODES; i++)
        http_free(&h[i]);
    return NULL;
}

/* ---- logs: block production and reception times -------------------------------------------- */

/* "2024-05-01T12:00:00.123Z" at the start of a log line: ms since the epoch (0 if not a time). */
static uint64_t line_ms(const char *l)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms;
    if (sscanf(l, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (uint64_t)timegm(&tm) * 1000 + (uint64_t)ms;
}

/* Blocks produced (their operation counts) and found stale, from the logs. */
typedef struct blockstats {
    size_t produced, with_ops, stale;
    unsigned long long ops, max_ops;
    unsigned long long again; /* operations of final blocks already executed (the first node) */
} blockstats;

/* Fills prod[slot index] (the producer's time) and recv[node][slot index] from the nodes' logs,
 * for slot indices < cap; bs counts the blocks produced from since_ms on (and stale ones seen by
 * the first node). */
static void parse_logs(const devnet *dv, uint64_t *prod, uint64_t (*recv)[NNODES], size_t cap,
                       uint64_t since_ms, blockstats *bs)
{
    memset(bs, 0, sizeof *bs);
    uint32_t T = dv->params.thread_count;
    for (size_t i = 0; i < dv->n; i++) {
        char path[PATH_MAX + 16], line[2048];
        snprintf(path, sizeof path, "%s/weftd.log", dv->nodes[i].repo);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            const char *m;
            unsigned long long p, nops;
            unsigned t;
            if (i == 0 && strstr(line, "consensus: block stale") && line_ms(line) >= since_ms)
                bs->stale++;
            const char *g =
                i == 0 ? strstr(line, "exec: final slot: operations already executed") : NULL;
            if (g && (g = strstr(g, " count=")) && sscanf(g, " count=%llu", &nops) == 1)
                bs->again += nops;
            bool produced = (m = strstr(line, "factory: block produced period=")) != NULL;
            if (!produced && !(m = strstr(line, "consensus: block from a peer taken period=")))
                continue;
            const char *v = strstr(m, "period=");
            if (sscanf(v, "period=%llu thread=%u", &p, &t) != 2 || t >= T)
                continue;
            size_t k = (size_t)p * T + t;
            if (k >= cap)
                continue;
            uint64_t ms = line_ms(line);
            const char *o = produced ? strstr(v, " ops=") : NULL;
            if (o && sscanf(o, " ops=%llu", &nops) == 1 && ms >= since_ms) {
                bs->produced++;
                bs->with_ops += nops > 0;
                bs->ops += nops;
                bs->max_ops = nops > bs->max_ops ? nops : bs->max_ops;
            }
            if (produced)
                prod[k] = ms;
            else
                recv[k][i] = ms;
        }
        if (f)
            fclose(f);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double q)
{
    size_t k = (size_t)((double)n * q);
    return v[k < n ? k : n - 1];
}

/* ---- CPU time of the nodes, per thread name, from /proc ------------------------------------ */

#define CPU_GROUPS 12
typedef struct cpu_use {
    char name[CPU_GROUPS][20]; /* thread names (comm): api workers, execution, the network, … */
    double s[CPU_GROUPS];      /* user + system seconds */
    size_t n;
    double total;
    unsigned long peak_kb; /* the process's peak resident memory so far (VmHWM) */
} cpu_use;

/* Adds the user + system time of every thread of pid, grouped by thread name, and reads the
 * process's peak resident memory. */
static void cpu_of(pid_t pid, cpu_use *u)
{
    memset(u, 0, sizeof *u);
    char spath[64], sl[256];
    snprintf(spath, sizeof spath, "/proc/%d/status", (int)pid);
    FILE *sf = fopen(spath, "r");
    while (sf && fgets(sl, sizeof sl, sf))
        if (sscanf(sl, "VmHWM: %lu kB", &u->peak_kb) == 1)
            break;
    if (sf)
        fclose(sf);
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    double tck = (double)sysconf(_SC_CLK_TCK);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX], line[1024];
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = 0;
        char *l = strchr(line, '('), *r = strrchr(line, ')');
        if (!l || !r || r < l)
            continue;
        char name[20];
        snprintf(name, sizeof name, "%.*s", (int)(r - l - 1), l + 1);
        if (strncmp(name, "MHD", 3) == 0) /* the API's workers and listeners */
            snprintf(name, sizeof name, "api (MHD)");
        unsigned long ut = 0, st = 0;
        /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
         * stime */
        if (sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        double sec = (double)(ut + st) / tck;
        size_t k = 0;
        while (k < u->n && strcmp(u->name[k], name) != 0)
            k++;
        if (k == u->n && u->n < CPU_GROUPS)
            memcpy(u->name[u->n++], name, sizeof name);
        if (k < u->n)
            u->s[k] += sec;
        u->total += sec;
    }
    if (d)
        closedir(d);
}

/* Prints each node's CPU seconds between a and b (per thread name, summed over the nodes) and per
 * final operation. */
static void print_cpu(const cpu_use *a, const cpu_use *b, size_t nodes, double wall,
                      unsigned long long final_ops)
{
    cpu_use sum;
    memset(&sum, 0, sizeof sum);
    double total = 0;
    printf("  cpu           over %.0f s of wall time:", wall);
    for (size_t i = 0; i < nodes; i++) {
        double d = b[i].total - a[i].total;
        total += d;
        printf(" node%zu %.1f s", i, d);
        for (size_t k = 0; k < b[i].n; k++) {
            double before = 0;
            for (size_t j = 0; j < a[i].n; j++)
                if (strcmp(a[i].name[j], b[i].name[k]) == 0)
                    before = a[i].s[j];
            size_t m = 0;
            while (m < sum.n && strcmp(sum.name[m], b[i].name[k]) != 0)
                m++;
            if (m == sum.n && sum.n < CPU_GROUPS)
                memcpy(sum.name[sum.n++], b[i].name[k], sizeof sum.name[0]);
            if (m < sum.n)
                sum.s[m] += b[i].s[k] - before;
        }
    }
    printf(" (%.2f cores)\n", wall > 0 ? total / wall : 0.0);
    printf("                by thread over the %zu nodes:", nodes);
    for (size_t m = 0; m < sum.n; m++)
        if (sum.s[m] >= 0.05)
            printf(" %s %.1f s;", sum.name[m], sum.s[m]);
    printf("\n");
    if (final_ops)
        printf(
            "                per final transfer: %.0f us of CPU per node on average, %.0f us for "
            "the %zu nodes\n",
            total * 1e6 / (double)final_ops / (double)nodes, total * 1e6 / (double)final_ops,
            nodes);
    printf("  memory        peak resident (VmHWM):");
    for (size_t i = 0; i < nodes; i++)
        printf(" node%zu %.0f MB", i, (double)b[i].peak_kb / 1024.0);
    printf("\n");
}

/* ---- part 1 ---------------------------------------------------------------------------------- */

static void part1(const char *dir, double seconds, double rate)
{
    static devnet dv;
    char d[512];
    snprintf(d, sizeof d, "%s/tps", dir);
    char rs[48] = "as fast as admitted";
    if (rate > 0)
        snprintf(rs, sizeof rs, "at %.0f tx/s", rate);
    printf("net_bench part 1: 4-node devnet, t0 16000 ms, T 32, max_block_size 1000000, %d "
           "accounts, fed %.0f s %s\n",
           ACCOUNTS, seconds, rs);
    fflush(stdout);
    devnet_start(&dv, d, 16000, 1000000, ACCOUNTS, true);

    /* pre-signed transfers, valid from now to the end of the validity window */
    size_t nops = (size_t)(seconds * (rate > 0 && rate < 8000 ? rate : 8000));
    pre_op *ops = calloc(nops, sizeof *ops);
    if (!ops)
        die("%s", "out of memory");
    uint64_t expire = current_period(&dv.params) + dv.params.operation_validity_periods;
    double t0 = now_s();
    for (size_t i = 0; i < nops; i++)
        sign_transfer(&ops[i], &dv, i, expire, 1000 + i);
    printf("  %zu transfers signed and rendered in %.1f s (expire period %llu)\n", nops,
           now_s() - t0, (unsigned long long)expire);
    fflush(stdout);

    http h;
    http_init(&h);
    uint64_t genesis = dv.params.genesis_timestamp_ms;
    while (wall_ms() < genesis + 1000 || min_final(&h, &dv, NNODES) < 0)
        usleep(100000);
    nstat s0[NNODES];
    for (int i = 0; i < NNODES; i++)
        s0[i] = status_of(&h, dv.nodes[i].url);
    uint64_t feed_start_ms = wall_ms();
    double start = now_s();
    static cpu_use cpu0[NNODES], cpu1[NNODES];
    double sigs0[NNODES], hits0[NNODES];
    bool sigs_known = true;
    for (int i = 0; i < NNODES; i++) {
        cpu_of(dv.nodes[i].pid, &cpu0[i]);
        sigs_known &= sig_counts(&h, dv.nodes[i].metrics, &sigs0[i], &hits0[i]);
    }
    feedctx f = {.dv = &dv,
                 .ops = ops,
                 .nops = nops,
                 .start = start,
                 .deadline = start + seconds,
                 .rate = rate};
    pthread_t th[FEEDERS];
    for (int k = 0; k < FEEDERS; k++)
        pthread_create(&th[k], NULL, feeder, &f);

    /* every second: each node's final operations; the slowest node's count is what all agree on */
    enum { MAXPTS = 4096 };
    static double pt_t[MAXPTS];
    static unsigned long long pt_f[MAXPTS];
    size_t npts = 0;
    double best = 0, window = (double)dv.params.t0_ms / 1000.0, last_change = now_s();
    unsigned long long last_min = 0;
    bool fed = false;
    for (;;) {
        sleep(1);
        unsigned long long mn = ULLONG_MAX;
        for (int i = 0; i < NNODES; i++) {
            nstat s = status_of(&h, dv.nodes[i].url);
            unsigned long long c = s.ok ? s.final_ops - s0[i].final_ops : 0;
            if (c < mn)
                mn = c;
        }
        if (npts < MAXPTS) {
            pt_t[npts] = now_s();
            pt_f[npts] = mn;
            for (size_t k = 0; k < npts; k++)
                if (pt_t[npts] - pt_t[k] >= window && pt_t[npts] - pt_t[k] < window + 1.5) {
                    double r = (double)(pt_f[npts] - pt_f[k]) / (pt_t[npts] - pt_t[k]);
                    if (r > best)
                        best = r;
                }
            npts++;
        }
        if (mn != last_min) {
            last_min = mn;
            last_change = now_s();
        }
        if (!fed && now_s() >= start + seconds) {
            fed = true;
            for (int k = 0; k < FEEDERS; k++)
                pthread_join(th[k], NULL);
        }
        /* done when every submitted operation is final on every node, or when the nodes
         * stopped finalizing more of them for 3 periods after some were final */
        if (fed && last_min >= atomic_load(&f.sent))
            break;
        if (fed && last_min > 0 && now_s() - last_change > 3 * window)
            break;
        if (fed && now_s() > start + seconds + 300)
            break;
    }
    double first_t = 0, last_t = 0;
    for (size_t k = 0; k < npts; k++) {
        if (!first_t && pt_f[k] > 0)
            first_t = k ? pt_t[k - 1] : start;
        if (pt_f[k] == last_min) {
            last_t = pt_t[k];
            break;
        }
    }
    unsigned long long mx = 0;
    for (int i = 0; i < NNODES; i++) {
        nstat s = status_of(&h, dv.nodes[i].url);
        unsigned long long c = s.final_ops - s0[i].final_ops;
        if (c > mx)
            mx = c;
    }
    double sigs = 0, hits = 0;
    for (int i = 0; i < NNODES; i++) {
        cpu_of(dv.nodes[i].pid, &cpu1[i]);
        double v, c;
        sigs_known &= sig_counts(&h, dv.nodes[i].metrics, &v, &c);
        sigs += v - sigs0[i];
        hits += c - hits0[i];
    }
    double cpu_wall = now_s() - start;
    for (int k = 0; k < 60 && min_final(&h, &dv, NNODES) < 2; k++)
        sleep(1); /* at least period 1 final everywhere, to compare */
    long long upto = min_final(&h, &dv, NNODES) - 1;
    size_t slots = 0, filled = 0;
    bool agree = upto >= 1 && all_agree(&h, &dv, (uint64_t)upto, &slots, &filled);
    printf("  submitted     %zu transfers in %llu send_operations requests over %.0f s\n",
           atomic_load(&f.sent), (unsigned long long)atomic_load(&f.requests), seconds);
    printf("  final         %llu transfers final on every node (max on one node %llu): %.0f tx/s "
           "overall, best sustained over one period %.0f tx/s\n",
           last_min, mx, last_t > first_t ? (double)last_min / (last_t - first_t) : 0.0, best);
    printf("  refused       answers refusing an operation (retried from it):");
    for (size_t k = 0; k < g_refused.n; k++)
        printf(" %s %llu;", g_refused.name[k], g_refused.count[k]);
    printf(g_refused.n ? "\n" : " none\n");
    print_cpu(cpu0, cpu1, NNODES, cpu_wall, last_min);
    if (!last_min)
        printf("  signatures    no transfer final\n");
    else if (sigs_known)
        printf("  signatures    operation signatures verified per final transfer: %.2f per node "
               "on average (%.2f found in the cache of those verified before)\n",
               sigs / (double)last_min / NNODES, hits / (double)last_min / NNODES);
    else
        printf("  signatures    the nodes' metrics could not be read\n");
    if (upto < 1)
        printf("  agreement     no period final on every node\n");
    else
        printf("  agreement     periods 1..%lld: %zu slots, %zu blocks, %s\n", upto, slots, filled,
               agree ? "the same final block in every slot on all 4 nodes" : "NODES DISAGREE");

    /* propagation from the logs */
    devnet_stop(&dv);
    size_t cap = (size_t)(upto + 4) * dv.params.thread_count;
    uint64_t *prod = calloc(cap, sizeof *prod);
    uint64_t(*recv)[NNODES] = calloc(cap, sizeof *recv);
    double *prop = calloc(cap, sizeof *prop), *first = calloc(cap, sizeof *first);
    if (!prod || !recv || !prop || !first)
        die("%s", "out of memory");
    blockstats bs;
    parse_logs(&dv, prod, recv, cap, feed_start_ms, &bs);
    printf("  blocks        %zu produced from the feed's start, %zu with operations: %.0f "
           "operations per block on average (max %llu), %llu in all; %zu found stale; %llu "
           "operations of final blocks included again (refused by execution)\n",
           bs.produced, bs.with_ops, bs.produced ? (double)bs.ops / (double)bs.produced : 0.0,
           bs.max_ops, bs.ops, bs.stale, bs.again);
    size_t np = 0, partial = 0;
    for (size_t k = 0; k < cap; k++) {
        if (!prod[k] || prod[k] < feed_start_ms)
            continue;
        size_t got = 0;
        uint64_t mxr = 0, mnr = UINT64_MAX;
        for (int i = 0; i < NNODES; i++)
            if (recv[k][i]) {
                got++;
                mxr = recv[k][i] > mxr ? recv[k][i] : mxr;
                mnr = recv[k][i] < mnr ? recv[k][i] : mnr;
            }
        if (got == NNODES - 1) {
            prop[np] = (double)(mxr > prod[k] ? mxr - prod[k] : 0);
            first[np++] = (double)(mnr > prod[k] ? mnr - prod[k] : 0);
        } else
            partial++;
    }
    qsort(prop, np, sizeof *prop, cmp_double);
    qsort(first, np, sizeof *first, cmp_double);
    if (np)
        printf("  propagation   %zu blocks produced under load: to all nodes median %.0f ms, p99 "
               "%.0f ms, max %.0f ms (to the first peer: median %.0f ms); %zu not seen by "
               "every peer in the logs\n",
               np, pct(prop, np, 0.5), pct(prop, np, 0.99), prop[np - 1], pct(first, np, 0.5),
               partial);
    else
        printf("  propagation   no block seen in the logs (are the debug lines there?)\n");
    fflush(stdout);
    for (size_t i = 0; i < nops; i++)
        free(ops[i].json);
    free(ops);
    free(prod);
    free(recv);
    free(prop);
    free(first);
    http_free(&h);
}

/* ---- part 2 ---------------------------------------------------------------------------------- */

/* A free loopback port, never one given before by this process (a port picked and released at
 * once can come back at the next pick, before the first node bound it). */
static uint16_t free_port(void)
{
    static uint16_t given[64];
    static size_t ngiven;
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &l) != 0)
            die("%s", "no free port");
        close(fd);
        uint16_t p = ntohs(a.sin_port);
        bool seen = false;
        for (size_t i = 0; i < ngiven; i++)
            seen |= given[i] == p;
        if (seen)
            continue;
        if (ngiven < sizeof given / sizeof given[0])
            given[ngiven++] = p;
        return p;
    }
    die("%s", "no free port");
    return 0;
}

typedef struct vblock {
    block_header_t h;
    uint8_t **ops;
    size_t *lens;
    uint32_t n;
} vblock;

/* Reads the final blocks of periods 1..upto-1 back from a stopped node's repository (through
 * the node's network interface, as a peer would get them). */
static vblock *load_blocks(const char *repo, uint64_t upto, size_t *count)
{
    repo_t *r;
    char err[256];
    check(repo_open(&r, repo, NULL, 0, err, sizeof err), err);
    node_t *node;
    check(node_start(&node, r, NULL, err, sizeof err), err);
    size_t cap = 16384, n = 0;
    vblock *v = calloc(cap, sizeof *v);
    slot_t after = {0, 0};
    bool more = true;
    while (more && v) {
        block_id_t *ids;
        slot_t *slots, oldest;
        size_t k;
        check(
            node_net_final_range(node, after, NODE_NET_MAX_RANGE, &ids, &slots, &k, &more, &oldest),
            "final range");
        for (size_t i = 0; i < k; i++) {
            after = slots[i];
            if (slots[i].period == 0)
                continue;
            if (slots[i].period >= upto) {
                more = false;
                break;
            }
            node_net_block_data d;
            check(node_net_get_block(node, &ids[i], true, &d), "get block");
            if (n == cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
                if (!v)
                    die("%s", "out of memory");
            }
            vblock *b = &v[n++];
            b->h = d.header;
            b->n = d.op_count;
            b->ops = calloc(d.op_count + 1, sizeof *b->ops);
            b->lens = calloc(d.op_count + 1, sizeof *b->lens);
            for (uint32_t o = 0; o < d.op_count; o++) {
                b->ops[o] = d.ops[o].b;
                b->lens[o] = d.ops[o].len;
                d.ops[o].b = NULL;
            }
            node_net_block_data_free(&d);
        }
        free(ids);
        free(slots);
        if (!k)
            break;
    }
    node_stop(node);
    repo_close(r);
    *count = n;
    return v;
}

/* Waits until the node's actors are idle (after a fake clock advance or a request). */
static void wait_idle(actor_system_t *s)
{
    double t = now_s();
    for (unsigned k = 0; !actor_system_idle(s); k++) {
        if (k < 64) {
            sched_yield();
            continue;
        }
        usleep(50);
        if (now_s() - t > 120)
            die("%s", "the building node stays busy for 2 minutes");
    }
}

/* Builds the chain offline: one in-process node holding the 4 stakers' keys on a fake clock that
 * runs from genesis (set in the past) up to the present as fast as the node keeps up, fed with
 * opb fresh transfers per slot.  Returns the final period reached. */
static uint64_t build_chain(const char *repo, const char *gpath, const model_params *p,
                            const keypair_t *stakers, const keypair_t *acc, const address_t *addr,
                            size_t nacc, uint32_t opb)
{
    repo_config_t cfg;
    repo_config_default(&cfg);
    cfg.store_no_sync = true; /* a scratch chain: no fsync per slot */
    cfg.pool_max_ops_per_thread = 8192;
    char err[256];
    repo_init_options io = {
        .genesis_path = gpath, .staking = stakers, .staking_count = NNODES, .config = &cfg};
    check(repo_init(repo, &io, err, sizeof err), err);
    repo_t *r;
    check(repo_open(&r, repo, NULL, 0, err, sizeof err), err);
    actor_fake_clock_t *fc;
    uint64_t vnow = p->genesis_timestamp_ms - 2000;
    check(actor_fake_clock_new(&fc, vnow), "fake clock");
    node_options no = {.clock = actor_fake_clock_base(fc)};
    node_t *node;
    check(node_start(&node, r, &no, err, sizeof err), err);
    actor_system_t *sys = node_actor_system(node);
    uint64_t step = p->t0_ms / p->thread_count, k = 0;
    signed_op_t **ops = calloc(opb + 1, sizeof *ops);
    weft_err *res = calloc(opb + 1, sizeof *res);
    double t0 = now_s(), last = t0;
    while (vnow + step + 3000 < wall_ms()) {
        actor_fake_clock_advance(fc, step);
        vnow += step;
        actor_timer_sync(sys);
        wait_idle(sys);
        slot_t s;
        if (!opb || slot_at_time(p, &s, vnow) != WEFT_OK)
            continue;
        for (uint32_t i = 0; i < opb; i++, k++) {
            size_t a = k % nacc;
            operation_t op;
            memset(&op, 0, sizeof op);
            op.fee = amount_from_nano(FEE_NANO);
            op.expire_period = s.period + 5;
            op.type = OP_TRANSACTION;
            op.u.transaction.recipient = addr[(a + 1) % nacc];
            op.u.transaction.amount = amount_from_nano(1000 + k);
            wr_t c;
            wr_init(&c);
            op_encode(&c, &op);
            hash32_t d;
            op_digest(&d, p->chain_id, &acc[a].pk, c.buf, c.len);
            signature_t sig;
            model_sign_digest(&sig, &acc[a], &d);
            ops[i] = malloc(sizeof *ops[i]);
            check(ops[i] ? signed_op_from_parts(ops[i], p->chain_id, &acc[a].pk, &sig, c.buf, c.len)
                         : WEFT_E_NOMEM,
                  "operation");
            wr_free(&c);
        }
        check(node_send_operations(node, ops, opb, res), "send_operations");
        wait_idle(sys);
        if (now_s() - last >= 30) {
            last = now_s();
            printf("  ... building: period %llu of %llu (%.0f s)\n", (unsigned long long)s.period,
                   (unsigned long long)((wall_ms() - p->genesis_timestamp_ms) / p->t0_ms),
                   now_s() - t0);
            fflush(stdout);
        }
    }
    node_status_t st;
    check(node_get_status(node, &st), "status");
    node_stop(node);
    repo_close(r);
    actor_fake_clock_free(fc);
    free(ops);
    free(res);
    uint64_t fp = st.has_final_cursor ? st.final_cursor.period : 0;
    printf("  chain built offline in %.0f s: %zu final blocks, %llu final operations, final "
           "period %llu, %zu stale\n",
           now_s() - t0, st.final_block_count, (unsigned long long)st.ops_final_executed,
           (unsigned long long)fp, st.stale_block_count);
    fflush(stdout);
    return fp;
}

/* `weftd init` of a repository on the genesis file with fixed loopback ports; the node's URL in
 * b->url and its p2p address in b->p2p. */
static void init_repo(bnode *b, const char *gpath, const keypair_t *node_key,
                      const keypair_t *staking, const char *boot, const char *logdir)
{
    char pub[32], priv[32], met[32], sk[MODEL_STR_MAX] = "", nk[MODEL_STR_MAX] = "";
    snprintf(pub, sizeof pub, "127.0.0.1:%u", free_port());
    snprintf(priv, sizeof priv, "127.0.0.1:%u", free_port());
    snprintf(met, sizeof met, "127.0.0.1:%u", free_port());
    snprintf(b->p2p, sizeof b->p2p, "127.0.0.1:%u", free_port());
    snprintf(b->url, sizeof b->url, "http://%s", pub);
    const char *argv[32] = {
        g_weftd,        "init", "--repo",          b->repo, "--genesis",        gpath,
        "--api.public", pub,    "--api.private",   priv,    "--api.metrics",    met,
        "--p2p.listen", b->p2p, "--p2p.max_peers", "12",    "--p2p.max_per_ip", "12"};
    size_t n = 0;
    while (argv[n])
        n++;
    if (boot && *boot) {
        argv[n++] = "--p2p.bootstrap";
        argv[n++] = boot;
    }
    if (node_key) {
        secret_key_to_str(nk, node_key);
        argv[n++] = "--node-key";
        argv[n++] = nk;
    }
    if (staking) {
        secret_key_to_str(sk, staking);
        argv[n++] = "--staking-key";
        argv[n++] = sk;
    }
    argv[n] = NULL;
    char log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/init.log", logdir);
    if (run_cmd((char *const *)argv, log, false) != 0)
        die("weftd init failed: see %s", log);
    crypto_wipe(sk, sizeof sk);
    crypto_wipe(nk, sizeof nk);
}

static void stop_pid(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(50000);
    }
    fprintf(stderr, "net_bench: pid %d did not stop in 10 s: killed\n", (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static size_t peer_count(http *h, const char *url)
{
    json_t *a = rpc(h, url, "get_status", "[{}]");
    size_t n = json_object_size(json_object_get(json_object_get(a, "result"), "connected_nodes"));
    json_decref(a);
    return n;
}

static void part2(const char *dir, size_t blocks, uint32_t opb)
{
    static devnet dv;
    memset(&dv, 0, sizeof dv);
    char d[512];
    snprintf(d, sizeof d, "%s/sync", dir);
    if (mkdir(d, 0755) != 0)
        die("cannot create %s", d);
    printf("net_bench part 2: a chain of >= %zu final blocks (t0 16000 ms, T 32, %u transfers "
           "per slot) built offline, served by a 4-node devnet; a 5th node syncs it\n",
           blocks, opb);
    fflush(stdout);

    /* genesis: 4 stakers, funded accounts, starting far enough in the past */
    model_params p;
    model_params_default(&p);
    crypto_random(&p.chain_id, sizeof p.chain_id);
    p.chain_id = 5000 + p.chain_id % 1000000;
    uint64_t periods = (blocks + p.thread_count - 1) / p.thread_count + 6;
    uint64_t now = wall_ms();
    p.genesis_timestamp_ms = now - periods * p.t0_ms;
    p.genesis_timestamp_ms -= p.genesis_timestamp_ms % 1000;
    enum { NACC = 256 };
    keypair_t stakers[NNODES], node_keys[NNODES + 1];
    static keypair_t acc[NACC];
    static address_t addr[NACC];
    repo_genesis_t g;
    memset(&g, 0, sizeof g);
    g.params = p;
    g.balances = calloc(NACC + NNODES, sizeof *g.balances);
    g.rolls = calloc(NNODES, sizeof *g.rolls);
    if (!g.balances || !g.rolls)
        die("%s", "out of memory");
    uint8_t seed[32];
    for (size_t i = 0; i < NACC; i++) {
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&acc[i], seed);
        address_of_pubkey(&addr[i], &acc[i].pk);
        g.balances[i].addr = addr[i];
        g.balances[i].amount = amount_from_nano(1000000ull * 1000000000ull);
    }
    for (size_t i = 0; i < NNODES; i++) {
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&stakers[i], seed);
        address_of_pubkey(&g.rolls[i].addr, &stakers[i].pk);
        g.rolls[i].rolls = 100;
        g.balances[NACC + i].addr = g.rolls[i].addr;
        g.balances[NACC + i].amount = amount_from_nano(1000ull * 1000000000ull);
    }
    for (size_t i = 0; i <= NNODES; i++) {
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&node_keys[i], seed);
    }
    g.balance_count = NACC + NNODES;
    g.roll_count = NNODES;
    char gpath[600];
    snprintf(gpath, sizeof gpath, "%s/genesis.json", d);
    check(repo_genesis_write(&g, gpath), "genesis");
    repo_genesis_free(&g);
    dv.params = p;

    char builder[600];
    snprintf(builder, sizeof builder, "%s/builder", d);
    uint64_t built = build_chain(builder, gpath, &p, stakers, acc, addr, NACC, opb);

    /* the 4-node devnet on copies of the chain, one staker each */
    char boot[512] = "";
    for (size_t i = 0; i < NNODES; i++) {
        bnode *b = &dv.nodes[i];
        snprintf(b->repo, sizeof b->repo, "%s/node%zu", d, i);
        init_repo(b, gpath, &node_keys[i], &stakers[i], boot, d);
        char cmd[3 * 600 + sizeof dv.nodes[0].repo + 64];
        snprintf(cmd, sizeof cmd, "cp -a '%s/blocks' '%s/store' '%s/journal' '%s/'", builder,
                 builder, builder, b->repo);
        if (system(cmd) != 0)
            die("cannot copy the chain into %s", b->repo);
        snprintf(boot + strlen(boot), sizeof boot - strlen(boot), "%s%s", i ? "," : "", b->p2p);
        dv.n++;
    }
    for (size_t i = 0; i < NNODES; i++)
        dv.nodes[i].pid = spawn_weftd(dv.nodes[i].repo);
    http h;
    http_init(&h);
    double t0 = now_s();
    for (;;) {
        bool ready = true;
        for (size_t i = 0; i < NNODES && ready; i++)
            ready = peer_count(&h, dv.nodes[i].url) >= NNODES - 1;
        if (ready)
            break;
        if (now_s() - t0 > 120)
            die("%s", "the devnet nodes did not connect in 2 minutes");
        usleep(200000);
    }
    long long goal = min_final(&h, &dv, NNODES);
    printf("  devnet up and connected in %.1f s, final period %lld on every node (built: %llu)\n",
           now_s() - t0, goal, (unsigned long long)built);
    fflush(stdout);

    /* the 5th node: empty repository, no staking key */
    bnode *late = &dv.nodes[NNODES];
    snprintf(late->repo, sizeof late->repo, "%s/late", d);
    init_repo(late, gpath, &node_keys[NNODES], NULL, boot, d);
    late->pid = spawn_weftd(late->repo);
    double t_up = 0, t_done = 0;
    for (;;) {
        nstat st = status_of(&h, late->url);
        if (st.ok && !t_up)
            t_up = now_s();
        if (st.ok && st.fp >= goal) {
            t_done = now_s();
            break;
        }
        if (t_up && now_s() - t_up > 1800)
            break;
        usleep(100000);
    }
    stop_pid(late->pid);
    for (size_t i = 0; i < NNODES; i++)
        stop_pid(dv.nodes[i].pid);
    http_free(&h);
    for (size_t i = 0; i < NNODES; i++) {
        keypair_wipe(&stakers[i]);
        keypair_wipe(&node_keys[i]);
    }
    keypair_wipe(&node_keys[NNODES]);
    if (!t_done) {
        printf("  sync          the 5th node did not reach final period %lld in 30 min\n", goal);
        return;
    }

    /* the blocks it synced, verified on one core */
    size_t n;
    vblock *v = load_blocks(late->repo, (uint64_t)goal, &n);
    size_t sigs = 0, nops = 0;
    double vt = now_s();
    for (size_t i = 0; i < n; i++) {
        check(header_verify(&v[i].h), "header_verify");
        sigs += 1 + v[i].h.endorsement_count;
        for (uint32_t k = 0; k < v[i].n; k++) {
            signed_op_t op;
            check(signed_op_decode(&op, p.chain_id, v[i].ops[k], v[i].lens[k]), "decode");
            check(signed_op_verify(&op), "verify");
            signed_op_free(&op);
        }
        sigs += v[i].n;
        nops += v[i].n;
    }
    double verify = now_s() - vt;
    double sync_rate = (double)n / (t_done - t_up), vrate = (double)n / verify;
    printf("  sync          5th node (empty repository): %zu final blocks (%zu operations) in "
           "%.1f s: %.0f blocks/s\n",
           n, nops, t_done - t_up, sync_rate);
    printf("  verification  the same blocks' signatures on one core: %zu signatures in %.2f s: "
           "%.0f blocks/s (%.0f signatures/s)\n",
           sigs, verify, vrate, (double)sigs / verify);
    printf("  ratio         sync / one-core verification = %.2f (goal >= 0.8)\n",
           sync_rate / vrate);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < v[i].n; k++)
            free(v[i].ops[k]);
        free(v[i].ops);
        free(v[i].lens);
    }
    free(v);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    size_t blocks = argc > 2 ? (size_t)atol(argv[2]) : 10000;
    uint32_t opb = argc > 3 ? (uint32_t)atol(argv[3]) : 50;
    double rate = argc > 4 ? atof(argv[4]) : 0;
    if (seconds < 0 || seconds > 120 || opb > 5000 || rate < 0) {
        fprintf(stderr,
                "usage: net_bench [feed seconds 0..120, 0: skip part 1] [sync blocks, 0: skip part "
                "2] [transfers per slot of the synced chain, at most 5000] [feed rate tx/s, 0: as "
                "fast as admitted]\n");
        return 2;
    }
    check(crypto_init(), "crypto_init");
    check(log_init(getenv("WEFT_LOG") ? NULL : "warn"), "log");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    find_tools();
    char dir[400];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.360s/weft-net-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    printf("net_bench: scratch directory %s\n", dir);
    if (seconds > 0)
        part1(dir, seconds, rate);
    if (blocks)
        part2(dir, blocks, opb);
    char cmd[420];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!getenv("NET_BENCH_KEEP") && system(cmd) != 0)
        fprintf(stderr, "net_bench: could not remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}
