/* Unit tests of src/repo: config values and the INI parser (line numbers, unknown keys, bad
 * values), genesis.json (round trip, defaults, every rejection), init/open round trip, init
 * refusing an existing repository, key file permissions, the lock held by a forked child,
 * overrides, api.json/api.token, staking keys persisting across reopen. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "repo/repo.h"
#include "testutil.h"

static char tmp[64];  /* the test's scratch directory */
static char rdir[96]; /* the repository inside it */

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/weft-repo-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(rdir, sizeof rdir, "%s/node/repo", tmp); /* two missing levels: mkdir -p */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void key_of(keypair_t *kp, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    keypair_from_seed(kp, seed);
}

static void addr_of(char out[MODEL_STR_MAX], uint8_t tag)
{
    keypair_t kp;
    key_of(&kp, tag);
    address_t a;
    address_of_pubkey(&a, &kp.pk);
    address_to_str(out, &a);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
    size_t len;
    uint8_t *b = base_read_file(path, &len);
    assert_non_null(b);
    char *s = realloc(b, len + 1);
    assert_non_null(s);
    s[len] = '\0';
    return s;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
}

/* A genesis with two balances (keys 1 and 2) and rolls for key 1 (and key 3 when `two_stakers`). */
static char *genesis_text(bool two_stakers)
{
    char a1[MODEL_STR_MAX], a2[MODEL_STR_MAX], a3[MODEL_STR_MAX];
    addr_of(a1, 1);
    addr_of(a2, 2);
    addr_of(a3, 3);
    char *s = malloc(2048);
    assert_non_null(s);
    snprintf(s, 2048,
             "{\n  \"chain_id\": 77,\n  \"genesis_timestamp\": 1700000000000,\n"
             "  \"params\": {\"thread_count\": 4, \"t0\": 2000, \"endorsement_count\": 3,\n"
             "             \"roll_price\": \"10\", \"block_reward\": \"0.25\"},\n"
             "  \"balances\": {\"%s\": \"1000.5\", \"%s\": \"0.000000001\"},\n"
             "  \"rolls\": {\"%s\": 10%s%s%s}\n}\n",
             a1, a2, a1, two_stakers ? ", \"" : "", two_stakers ? a3 : "",
             two_stakers ? "\": 5" : "");
    return s;
}

static char *genesis_file(bool two_stakers)
{
    static char path[128];
    path_in(path, sizeof path, tmp, "genesis-in.json");
    char *g = genesis_text(two_stakers);
    write_text(path, g);
    free(g);
    return path;
}

/* ---- config -------------------------------------------------------------------------------- */

/* A valid public key (node ids must be points of the curve), from a seed of byte b. */
static pubkey_t test_pubkey(uint8_t b)
{
    keypair_t kp;
    test_seed_key(&kp, b);
    return kp.pk;
}

static void expect_set_fail(const char *key, const char *value, const char *needle)
{
    repo_config_t c;
    repo_config_default(&c);
    repo_config_t before = c;
    char err[256] = "";
    assert_int_equal(repo_config_set(&c, key, value, err, sizeof err), WEFT_E_REPO_CONFIG);
    if (!strstr(err, needle))
        fail_msg("set %s=%s: message \"%s\" lacks \"%s\"", key, value, err, needle);
    assert_true(repo_config_eq(&c, &before));
}

static void test_config_values(void **state)
{
    (void)state;
    repo_config_t c;
    repo_config_default(&c);
    assert_string_equal(c.api_public, "127.0.0.1:33035");
    assert_string_equal(c.api_private, "127.0.0.1:33034");
    assert_string_equal(c.metrics, "127.0.0.1:31248");
    assert_string_equal(c.p2p_listen, "0.0.0.0:31244");
    assert_int_equal(c.bootstrap_count, 0);
    assert_int_equal(c.max_peers, 32);
    assert_int_equal(c.p2p_outbound, 8);
    assert_int_equal(c.p2p_max_per_ip, 4);
    assert_int_equal(c.p2p_ban_seconds, 3600);
    assert_true(c.block_retention == REPO_RETAIN_ALL);
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.store_map_mb, 64);
    assert_false(c.store_no_sync);
    assert_int_equal(c.pool_max_ops_per_thread, 8192);

    char err[256];
    assert_int_equal(repo_config_set(&c, "api.public", "0.0.0.0:0", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "api.private", "[::1]:65535", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "api.private", "localhost:1", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "api.private", "127.9.8.7:2", err, sizeof err), WEFT_OK);
    assert_int_equal(
        repo_config_set(&c, "p2p.bootstrap", " a.example:1 , [2001:db8::1]:2,b:3", err, sizeof err),
        WEFT_OK);
    assert_int_equal(c.bootstrap_count, 3);
    assert_string_equal(c.bootstrap[1], "[2001:db8::1]:2");
    assert_string_equal(c.bootstrap[2], "b:3");
    assert_int_equal(repo_config_set(&c, "p2p.bootstrap", "", err, sizeof err), WEFT_OK);
    assert_int_equal(c.bootstrap_count, 0);
    assert_int_equal(c.state_peer_count, 0);
    char ids[2][MODEL_STR_MAX], list[2 * MODEL_STR_MAX + 8];
    pubkey_t pk[2];
    for (int i = 0; i < 2; i++) {
        pk[i] = test_pubkey((uint8_t)(0x51 + i));
        node_id_to_str(ids[i], &pk[i]);
    }
    snprintf(list, sizeof list, " %s ,%s", ids[0], ids[1]);
    assert_int_equal(repo_config_set(&c, "p2p.state_peers", list, err, sizeof err), WEFT_OK);
    assert_int_equal(c.state_peer_count, 2);
    assert_memory_equal(c.state_peers[0].b, pk[0].b, 32);
    assert_memory_equal(c.state_peers[1].b, pk[1].b, 32);
    assert_int_equal(repo_config_set(&c, "p2p.state_peers", " ", err, sizeof err), WEFT_OK);
    assert_int_equal(c.state_peer_count, 0);
    assert_int_equal(c.p2p_state_confirmations, 0); /* the default */
    assert_int_equal(repo_config_set(&c, "p2p.state_confirmations", "3", err, sizeof err), WEFT_OK);
    assert_int_equal(c.p2p_state_confirmations, 3);
    assert_int_equal(repo_config_set(&c, "p2p.state_confirmations", "4", err, sizeof err), WEFT_OK);
    assert_int_equal(c.p2p_state_confirmations, REPO_MAX_STATE_CONFIRMATIONS);
    assert_int_equal(repo_config_set(&c, "p2p.state_confirmations", "0", err, sizeof err), WEFT_OK);
    assert_int_equal(c.p2p_state_confirmations, 0);
    assert_int_equal(repo_config_set(&c, "node.block_retention", "100", err, sizeof err), WEFT_OK);
    assert_int_equal(c.block_retention, 100);
    assert_int_equal(repo_config_set(&c, "node.block_retention", "all", err, sizeof err), WEFT_OK);
    assert_true(c.block_retention == REPO_RETAIN_ALL);
    assert_int_equal(repo_config_set(&c, "node.log", "TRACE", err, sizeof err), WEFT_OK);
    assert_string_equal(c.log_level, "trace"); /* canonical, as log.c names it */
    assert_int_equal(repo_config_set(&c, "node.store_no_sync", "true", err, sizeof err), WEFT_OK);
    assert_true(c.store_no_sync);
    assert_int_equal(repo_config_set(&c, "p2p.max_peers", "0", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "p2p.outbound", "0", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "p2p.max_per_ip", "64", err, sizeof err), WEFT_OK);
    assert_int_equal(c.p2p_max_per_ip, 64);
    assert_int_equal(repo_config_set(&c, "p2p.ban_seconds", "0", err, sizeof err), WEFT_OK);

    expect_set_fail("api.foo", "1", "unknown key api.foo");
    expect_set_fail("nosection", "1", "unknown key nosection");
    expect_set_fail("api.public", "127.0.0.1", "no port");
    expect_set_fail("api.public", ":80", "empty host");
    expect_set_fail("api.public", "host:65536", "0..65535");
    expect_set_fail("api.public", "host:-1", "0..65535");
    expect_set_fail("api.public", "host:", "0..65535");
    expect_set_fail("api.public", "::1:80", "brackets");
    expect_set_fail("api.public", "[zz]:80", "not an IPv6");
    expect_set_fail("api.public", "ho st:80", "bad character");
    expect_set_fail("api.private", "0.0.0.0:33034", "loopback");
    expect_set_fail("api.private", "192.168.1.1:1", "loopback");
    expect_set_fail("api.private", "[2001:db8::1]:1", "loopback");
    expect_set_fail("api.private", "127.0.0.1.evil:1", "loopback");
    expect_set_fail("p2p.bootstrap", "a:1,,b:2", "empty entry");
    expect_set_fail("p2p.bootstrap", "a:1,b", "no port");
    expect_set_fail("p2p.max_peers", "4294967296", "0..4294967295");
    expect_set_fail("p2p.max_peers", "-1", "not a number");
    expect_set_fail("p2p.max_per_ip", "0", "1..4294967295");
    expect_set_fail("p2p.ban_seconds", "18446744073709552", "not a number");
    expect_set_fail("p2p.state_confirmations", "5", "0..4");
    expect_set_fail("p2p.state_confirmations", "4294967299", "0..4");
    expect_set_fail("p2p.state_confirmations", "-1", "not a number");
    expect_set_fail("p2p.state_confirmations", "two", "not a number");
    expect_set_fail("p2p.state_confirmations", "", "not a number");
    expect_set_fail("node.block_retention", "0", "neither");
    expect_set_fail("node.block_retention", "some", "neither");
    expect_set_fail("node.log", "verbose", "not a log level");
    expect_set_fail("node.store_no_sync", "yes", "not a boolean");
    expect_set_fail("node.store_map_mb", "0", "not a number");
    expect_set_fail("node.pool_max_ops_per_thread", "", "not a number");

    /* more than REPO_MAX_BOOTSTRAP entries */
    char big[REPO_MAX_BOOTSTRAP * 8 + 16] = "";
    size_t used = 0;
    for (int i = 0; i <= REPO_MAX_BOOTSTRAP; i++)
        used += (size_t)snprintf(big + used, sizeof big - used, i ? ",h:1" : "h:1");
    expect_set_fail("p2p.bootstrap", big, "more than");
    /* state_peers: node ids only, at most REPO_MAX_STATE_PEERS */
    char id[MODEL_STR_MAX], many[(REPO_MAX_STATE_PEERS + 1) * MODEL_STR_MAX];
    pubkey_t one = test_pubkey(7);
    node_id_to_str(id, &one);
    expect_set_fail("p2p.state_peers", "127.0.0.1:31244", "not a node id");
    id[strlen(id) - 1] ^= 1; /* a bad checksum */
    expect_set_fail("p2p.state_peers", id, "not a node id");
    id[strlen(id) - 1] ^= 1;
    snprintf(many, sizeof many, "%s,,%s", id, id);
    expect_set_fail("p2p.state_peers", many, "empty entry");
    used = 0;
    for (int i = 0; i <= REPO_MAX_STATE_PEERS; i++)
        used += (size_t)snprintf(many + used, sizeof many - used, "%s%s", i ? "," : "", id);
    expect_set_fail("p2p.state_peers", many, "more than");

    /* every level name log.c accepts is accepted here */
    static const char *const lv[] = {"error", "warn", "info", "debug", "trace"};
    for (size_t i = 0; i < 5; i++) {
        log_level l;
        assert_int_equal(log_level_parse(lv[i], &l), WEFT_OK);
        assert_int_equal(repo_config_set(&c, "node.log", lv[i], err, sizeof err), WEFT_OK);
        assert_string_equal(c.log_level, lv[i]);
    }

    char host[64];
    uint16_t port;
    assert_int_equal(repo_addr_split("[::1]:8080", host, sizeof host, &port), WEFT_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_true(repo_host_is_loopback(host));
    assert_int_equal(repo_addr_split("example.org:1", host, 4, &port), WEFT_E_LIMIT);
}

static void expect_ini_fail(const char *text, const char *message)
{
    repo_config_t c, before;
    repo_config_default(&c);
    before = c;
    char err[256] = "";
    assert_int_equal(repo_config_parse(&c, text, strlen(text), err, sizeof err),
                     WEFT_E_REPO_CONFIG);
    if (!strstr(err, message))
        fail_msg("INI error \"%s\" lacks \"%s\"", err, message);
    assert_true(repo_config_eq(&c, &before)); /* all or nothing */
}

static void test_config_ini(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF# comment\r\n"
                       "; other comment\n"
                       "\n"
                       "[api]\n"
                       "  public =  0.0.0.0:9000  \n"
                       "[ p2p ]\n"
                       "bootstrap = 10.0.0.1:31244, 10.0.0.2:31244\n"
                       "[node]\n"
                       "block_retention = 50\r\n"
                       "log=debug\n"
                       "store_no_sync = true"; /* no final newline */
    repo_config_t c;
    repo_config_default(&c);
    char err[256] = "";
    assert_int_equal(repo_config_parse(&c, text, strlen(text), err, sizeof err), WEFT_OK);
    assert_string_equal(c.api_public, "0.0.0.0:9000");
    assert_string_equal(c.api_private, "127.0.0.1:33034"); /* untouched default */
    assert_int_equal(c.bootstrap_count, 2);
    assert_string_equal(c.bootstrap[1], "10.0.0.2:31244");
    assert_int_equal(c.block_retention, 50);
    assert_string_equal(c.log_level, "debug");
    assert_true(c.store_no_sync);

    expect_ini_fail("[api]\npublic = 1.2.3.4:5\nfoo = 1\n", "config.ini:3: unknown key api.foo");
    expect_ini_fail("# c\n\n[api]\n\n[bogus]\n", "config.ini:5: unknown section [bogus]");
    expect_ini_fail("public = 1.2.3.4:5\n", "config.ini:1: key \"public\" before any [section]");
    expect_ini_fail("[api]\n\npublic 1.2.3.4:5\n", "config.ini:3: expected \"key = value\"");
    expect_ini_fail("[api\n", "config.ini:1: malformed section header");
    expect_ini_fail("[node]\nlog = info\nlog = warn\n", "config.ini:3: node.log set twice");
    expect_ini_fail("[api]\npublic = 1.2.3.4:5\n[node]\nlog = loud\n",
                    "config.ini:4: node.log: \"loud\" is not a log level");
    expect_ini_fail("[api]\r\nprivate = 10.0.0.1:1\r\n", "config.ini:2: api.private: address");
    expect_ini_fail("[api]\nprivate = 10.0.0.1:1\n", "loopback");
    expect_ini_fail("[p2p]\nlisten = nowhere\n", "config.ini:2: p2p.listen: address");
    expect_ini_fail("[node]\nstore_map_mb = 1x\n", "config.ini:2: node.store_map_mb");
    expect_ini_fail("[api]\npublic = 1.2.3.4:5 # trailing comment\n", "config.ini:2");
    char nul[] = "[api]\npublic = 1.2.3.4:5\0\n";
    repo_config_default(&c);
    assert_int_equal(repo_config_parse(&c, nul, sizeof nul - 1, err, sizeof err),
                     WEFT_E_REPO_CONFIG);

    /* format → parse is the identity, with a comment on every key */
    repo_config_default(&c);
    assert_int_equal(repo_config_set(&c, "p2p.bootstrap", "a:1,[::1]:2", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "node.block_retention", "7", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "node.pool_max_ops_per_thread", "9", err, sizeof err),
                     WEFT_OK);
    assert_int_equal(repo_config_set(&c, "p2p.ban_seconds", "60", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "p2p.max_per_ip", "12", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&c, "p2p.fetch_state_after_periods", "40", err, sizeof err),
                     WEFT_OK);
    assert_int_equal(c.p2p_fetch_state_after, 40);
    assert_int_equal(repo_config_set(&c, "p2p.state_confirmations", "2", err, sizeof err), WEFT_OK);
    pubkey_t sp = test_pubkey(0x2a);
    char spid[MODEL_STR_MAX], spline[MODEL_STR_MAX + 32];
    node_id_to_str(spid, &sp);
    assert_int_equal(repo_config_set(&c, "p2p.state_peers", spid, err, sizeof err), WEFT_OK);
    char *out;
    size_t len;
    assert_int_equal(repo_config_format(&c, &out, &len), WEFT_OK);
    assert_int_equal(strlen(out), len);
    repo_config_t back;
    repo_config_default(&back);
    assert_int_equal(repo_config_parse(&back, out, len, err, sizeof err), WEFT_OK);
    assert_true(repo_config_eq(&back, &c));
    assert_non_null(strstr(out, "\n# default: all\nblock_retention = 7\n"));
    assert_non_null(strstr(out, "bootstrap = a:1,[::1]:2\n"));
    snprintf(spline, sizeof spline, "\nstate_peers = %s\n", spid);
    assert_non_null(strstr(out, spline));
    assert_non_null(strstr(out, "\n# default: 0\nstate_confirmations = 2\n"));
    back.p2p_state_confirmations = 1; /* the field takes part in the comparison */
    assert_false(repo_config_eq(&back, &c));
    free(out);
}

/* ---- genesis ------------------------------------------------------------------------------- */

static void expect_genesis_fail(const char *json, const char *message)
{
    repo_genesis_t g;
    char err[256] = "";
    assert_int_equal(repo_genesis_parse(&g, json, strlen(json), err, sizeof err),
                     WEFT_E_REPO_GENESIS);
    if (!strstr(err, message))
        fail_msg("genesis error \"%s\" lacks \"%s\"", err, message);
    assert_null(g.balances);
    assert_null(g.rolls);
}

static void test_genesis(void **state)
{
    (void)state;
    char a1[MODEL_STR_MAX], a2[MODEL_STR_MAX], a3[MODEL_STR_MAX];
    addr_of(a1, 1);
    addr_of(a2, 2);
    addr_of(a3, 3);
    char *text = genesis_text(true);
    repo_genesis_t g;
    char err[256] = "";
    assert_int_equal(repo_genesis_parse(&g, text, strlen(text), err, sizeof err), WEFT_OK);
    free(text);
    assert_int_equal(g.params.chain_id, 77);
    assert_int_equal(g.params.genesis_timestamp_ms, 1700000000000ull);
    assert_int_equal(g.params.thread_count, 4);
    assert_int_equal(g.params.t0_ms, 2000);
    assert_int_equal(g.params.endorsement_count, 3);
    assert_int_equal(g.params.delta_f0, 64 * 4); /* 64 × (E + 1) from the given E */
    assert_int_equal(g.params.periods_per_cycle, 128);
    assert_int_equal(g.params.max_block_size, 300000);
    assert_int_equal(g.params.max_operations_per_block, 5000);
    assert_int_equal(g.params.operation_validity_periods, 10);
    assert_int_equal(g.params.roll_price, 10000000000ull);
    assert_int_equal(g.params.block_reward, 250000000ull);
    assert_int_equal(g.balance_count, 2);
    assert_int_equal(g.roll_count, 2);
    uint64_t sum = 0;
    for (size_t i = 0; i < g.balance_count; i++)
        sum += g.balances[i].amount.nano;
    assert_int_equal(sum, 1000500000001ull);
    for (size_t i = 1; i < g.roll_count; i++) /* address order */
        assert_true(hash32_cmp(&g.rolls[i - 1].addr.hash, &g.rolls[i].addr.hash) < 0);

    /* write → parse is the identity; the text is deterministic */
    char path[128];
    path_in(path, sizeof path, tmp, "g.json");
    assert_int_equal(repo_genesis_write(&g, path), WEFT_OK);
    char *w1 = slurp(path);
    repo_genesis_t g2;
    assert_int_equal(repo_genesis_parse(&g2, w1, strlen(w1), err, sizeof err), WEFT_OK);
    assert_true(repo_genesis_eq(&g, &g2));
    char *w2;
    size_t w2len;
    assert_int_equal(repo_genesis_to_json(&g2, &w2, &w2len), WEFT_OK);
    assert_string_equal(w1, w2);
    assert_non_null(strstr(w1, "\"delta_f0\": 256"));
    assert_non_null(strstr(w1, "\"block_reward\": \"0.25\""));
    free(w1);
    free(w2);
    repo_genesis_free(&g2);
    g.params.chain_id = UINT64_MAX; /* beyond JSON's integers */
    assert_int_equal(repo_genesis_write(&g, path), WEFT_E_RANGE);
    repo_genesis_free(&g);
    repo_genesis_free(&g); /* twice is fine */

    /* explicit delta_f0 wins over the derived default */
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{\"delta_f0\":5},"
             "\"rolls\":{\"%s\":1}}",
             a1);
    assert_int_equal(repo_genesis_parse(&g, buf, strlen(buf), err, sizeof err), WEFT_OK);
    assert_int_equal(g.params.delta_f0, 5);
    assert_int_equal(g.params.thread_count, 32);
    assert_int_equal(g.balance_count, 0);
    repo_genesis_free(&g);

#define G(...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0}"),
                        "genesis.json: rolls: missing");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{}}"),
                        "genesis.json: rolls: at least one");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{\"%s\":0}}", a1),
                        "must be at least 1");
    char msg[256];
    snprintf(msg, sizeof msg, "genesis.json: balances.%s: malformed amount", a2);
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"balances\":{\"%s\":\"1.x\"},"
                          "\"rolls\":{\"%s\":1}}",
                          a2, a1),
                        msg);
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"balances\":{\"%s\":1},"
                          "\"rolls\":{\"%s\":1}}",
                          a2, a1),
                        "must be a string of MAS");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"balances\":{\"%s\":"
                          "\"18446744074\"},\"rolls\":{\"%s\":1}}",
                          a2, a1),
                        "amount overflows");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"extra\":1,"
                          "\"rolls\":{\"%s\":1}}",
                          a1),
                        "genesis.json: extra: unknown field");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{\"t1\":1},"
                          "\"rolls\":{\"%s\":1}}",
                          a1),
                        "genesis.json: params.t1: unknown field");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,"
                          "\"rolls\":{\"%s\":1,\"%s\":2}}",
                          a1, a1),
                        "duplicate");
    expect_genesis_fail(G("{\"chain_id\":1,\"chain_id\":2,\"genesis_timestamp\":0,"
                          "\"rolls\":{\"%s\":1}}",
                          a1),
                        "duplicate");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{\"thread_count\":4,"
                          "\"t0\":1001},\"rolls\":{\"%s\":1}}",
                          a1),
                        "params.t0: must be a positive multiple of thread_count");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{\"thread_count\":3},"
                          "\"rolls\":{\"%s\":1}}",
                          a1),
                        "params.thread_count: must be a power of two");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{"
                          "\"endorsement_count\":65},\"rolls\":{\"%s\":1}}",
                          a1),
                        "params.endorsement_count");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{"
                          "\"roll_price\":\"0\"},\"rolls\":{\"%s\":1}}",
                          a1),
                        "params.roll_price");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"params\":{"
                          "\"thread_count\":4294967296},\"rolls\":{\"%s\":1}}",
                          a1),
                        "params.thread_count: out of range");
    expect_genesis_fail(G("{\"chain_id\":1.5,\"genesis_timestamp\":0,\"rolls\":{\"%s\":1}}", a1),
                        "chain_id: must be an integer");
    expect_genesis_fail(G("{\"chain_id\":-1,\"genesis_timestamp\":0,\"rolls\":{\"%s\":1}}", a1),
                        "chain_id: out of range");
    expect_genesis_fail(G("{\"genesis_timestamp\":0,\"rolls\":{\"%s\":1}}", a1),
                        "chain_id: missing");
    expect_genesis_fail(G("{\"chain_id\":1,\"rolls\":{\"%s\":1}}", a1),
                        "genesis_timestamp: missing");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{\"AUnope\":1}}"),
                        "rolls.AUnope: not an address");
    char sc[MODEL_STR_MAX];
    snprintf(sc, sizeof sc, "AS%s", a1 + 2); /* the same hash as a smart-contract address */
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{\"%s\":1}}", sc),
                        "rolls.AS");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":[1]}"),
                        "rolls: must be an object");
    expect_genesis_fail(G("[]"), "top level must be an object");
    expect_genesis_fail(G("{\"chain_id\":1,"), "genesis.json:1:");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{\"%s\":1}} x", a1),
                        "genesis.json:");
    expect_genesis_fail(G("{\"chain_id\":1,\"genesis_timestamp\":0,"
                          "\"rolls\":{\"%s\":9223372036854775807,\"%s\":9223372036854775807,"
                          "\"%s\":9223372036854775807}}",
                          a1, a2, a3),
                        "rolls: the total overflows");
#undef G
}

/* ---- init and open ------------------------------------------------------------------------- */

static void init_repo(bool with_staking)
{
    keypair_t node, st[2];
    key_of(&node, 9);
    key_of(&st[0], 1);
    key_of(&st[1], 3);
    repo_config_t cfg;
    repo_config_default(&cfg);
    char err[256] = "";
    assert_int_equal(repo_config_set(&cfg, "api.public", "127.0.0.1:0", err, sizeof err), WEFT_OK);
    assert_int_equal(repo_config_set(&cfg, "node.log", "debug", err, sizeof err), WEFT_OK);
    repo_init_options o = {.genesis_path = genesis_file(true),
                           .node_key = &node,
                           .staking = st,
                           .staking_count = with_staking ? 2 : 0,
                           .config = &cfg};
    weft_err e = repo_init(rdir, &o, err, sizeof err);
    if (e != WEFT_OK)
        fail_msg("repo_init: %s: %s", weft_err_name(e), err);
}

static mode_t mode_of(const char *dir, const char *name)
{
    char p[256];
    path_in(p, sizeof p, dir, name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 0777;
}

static void test_init_open(void **state)
{
    (void)state;
    init_repo(true);
    assert_int_equal(mode_of(rdir, "keys"), 0700);
    assert_int_equal(mode_of(rdir, "keys/staking"), 0700);
    assert_int_equal(mode_of(rdir, "keys/node.key"), 0600);

    /* genesis.json is the given file byte for byte */
    char gpath[256];
    path_in(gpath, sizeof gpath, rdir, "genesis.json");
    char *given = genesis_text(true), *stored = slurp(gpath);
    assert_string_equal(given, stored);
    free(given);
    free(stored);

    repo_t *r;
    char err[256] = "";
    weft_err e = repo_open(&r, rdir, NULL, 0, err, sizeof err);
    if (e != WEFT_OK)
        fail_msg("repo_open: %s", err);
    assert_int_equal(r->dir[0], '/');
    assert_non_null(strstr(r->dir, "/node/repo"));
    assert_string_equal(r->config.api_public, "127.0.0.1:0");
    assert_string_equal(r->config.log_level, "debug");
    assert_string_equal(r->config.api_private, "127.0.0.1:33034");
    assert_int_equal(r->genesis.params.chain_id, 77);
    assert_int_equal(r->genesis.params.thread_count, 4);
    assert_int_equal(r->genesis.params.block_reward, 250000000ull);
    assert_int_equal(r->genesis.roll_count, 2);
    keypair_t node;
    key_of(&node, 9);
    assert_memory_equal(r->node_key.seed, node.seed, 32);
    assert_memory_equal(r->node_key.pk.b, node.pk.b, 32);
    assert_int_equal(r->staking_count, 2);
    char p[512];
    assert_int_equal(repo_path(r, "store", p, sizeof p), WEFT_OK);
    assert_non_null(strstr(p, "/node/repo/store"));
    assert_int_equal(repo_path(r, "store", p, 8), WEFT_E_LIMIT);
    repo_close(r);
    repo_close(NULL);

    /* a fresh random node key when none is given */
    char other[128];
    path_in(other, sizeof other, tmp, "other");
    repo_init_options o = {.genesis_path = genesis_file(false)};
    assert_int_equal(repo_init(other, &o, err, sizeof err), WEFT_OK);
    assert_int_equal(repo_open(&r, other, NULL, 0, err, sizeof err), WEFT_OK);
    assert_memory_not_equal(r->node_key.pk.b, node.pk.b, 32);
    assert_int_equal(r->staking_count, 0);
    repo_config_t d;
    repo_config_default(&d);
    assert_true(repo_config_eq(&r->config, &d));
    repo_close(r);
}

static void test_init_refuses(void **state)
{
    (void)state;
    char err[256] = "";
    /* a bad genesis: nothing is written, not even the directory */
    char bad[128];
    path_in(bad, sizeof bad, tmp, "bad.json");
    write_text(bad, "{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{}}");
    repo_init_options o = {.genesis_path = bad};
    assert_int_equal(repo_init(rdir, &o, err, sizeof err), WEFT_E_REPO_GENESIS);
    assert_non_null(strstr(err, "bad.json: rolls: at least one"));
    struct stat st;
    assert_int_equal(stat(rdir, &st), -1);
    /* a missing genesis file */
    char missing[128];
    path_in(missing, sizeof missing, tmp, "missing.json");
    o.genesis_path = missing;
    assert_int_equal(repo_init(rdir, &o, err, sizeof err), WEFT_E_IO);
    assert_non_null(strstr(err, "missing.json"));
    o.genesis_path = NULL;
    assert_int_equal(repo_init(rdir, &o, err, sizeof err), WEFT_E_INVAL);
    /* a bad given configuration */
    repo_config_t cfg;
    repo_config_default(&cfg);
    snprintf(cfg.api_private, sizeof cfg.api_private, "8.8.8.8:1");
    o.genesis_path = genesis_file(false);
    o.config = &cfg;
    assert_int_equal(repo_init(rdir, &o, err, sizeof err), WEFT_E_REPO_CONFIG);
    assert_int_equal(stat(rdir, &st), -1);
    /* duplicate staking keys */
    keypair_t two[2];
    key_of(&two[0], 4);
    key_of(&two[1], 4);
    repo_init_options dup = {
        .genesis_path = genesis_file(false), .staking = two, .staking_count = 2};
    assert_int_equal(repo_init(rdir, &dup, err, sizeof err), WEFT_E_DUPLICATE);
    assert_int_equal(stat(rdir, &st), -1);

    /* init on an existing repository: E_EXISTS and nothing changed */
    init_repo(true);
    const char *files[] = {"config.ini", "genesis.json", "keys/node.key"};
    char *before[3];
    for (int i = 0; i < 3; i++) {
        char p[256];
        path_in(p, sizeof p, rdir, files[i]);
        before[i] = slurp(p);
    }
    keypair_t k;
    key_of(&k, 42);
    repo_init_options again = {.genesis_path = genesis_file(false), .node_key = &k};
    assert_int_equal(repo_init(rdir, &again, err, sizeof err), WEFT_E_EXISTS);
    assert_non_null(strstr(err, "already holds a repository"));
    for (int i = 0; i < 3; i++) {
        char p[256];
        path_in(p, sizeof p, rdir, files[i]);
        char *now = slurp(p);
        assert_string_equal(now, before[i]);
        free(now);
        free(before[i]);
    }
    /* genesis.json alone is enough to refuse */
    char p[256];
    path_in(p, sizeof p, rdir, "config.ini");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(repo_init(rdir, &again, err, sizeof err), WEFT_E_EXISTS);
    assert_non_null(strstr(err, "genesis.json exists"));
}

static void test_open_errors(void **state)
{
    (void)state;
    repo_t *r = (repo_t *)1;
    char err[256] = "";
    /* not a repository: a missing directory, an empty one */
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_MISSING);
    assert_null(r);
    char want[512];
    snprintf(want, sizeof want,
             "%s is not a weft repository (weftd init --repo %s --genesis FILE creates one)", rdir,
             rdir);
    assert_string_equal(err, want);
    assert_int_equal(repo_open(&r, tmp, NULL, 0, err, sizeof err), WEFT_E_REPO_MISSING);
    char lock[128];
    path_in(lock, sizeof lock, tmp, "repo.lock");
    struct stat st;
    assert_int_equal(stat(lock, &st), -1); /* no lock file left in a non-repository */

    init_repo(false);
    char p[256];

    /* a bad config.ini line */
    path_in(p, sizeof p, rdir, "config.ini");
    char *orig = slurp(p);
    write_text(p, "[api]\npublic = 1.2.3.4:5\nfoo = 1\n");
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_CONFIG);
    assert_string_equal(err, "config.ini:3: unknown key api.foo");
    write_text(p, orig);
    free(orig);

    /* a bad override */
    const char *const bad_ov[][2] = {{"api.private", "0.0.0.0:1"}};
    assert_int_equal(repo_open(&r, rdir, bad_ov, 1, err, sizeof err), WEFT_E_REPO_CONFIG);
    assert_non_null(strstr(err, "override: api.private"));
    const char *const unk_ov[][2] = {{"node.nope", "1"}};
    assert_int_equal(repo_open(&r, rdir, unk_ov, 1, err, sizeof err), WEFT_E_REPO_CONFIG);
    assert_non_null(strstr(err, "unknown key node.nope"));

    /* a bad genesis.json */
    path_in(p, sizeof p, rdir, "genesis.json");
    orig = slurp(p);
    write_text(p, "{\"chain_id\":1,\"genesis_timestamp\":0,\"rolls\":{},\"x\":1}");
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_GENESIS);
    assert_string_equal(err, "genesis.json: x: unknown field");
    write_text(p, orig);
    free(orig);

    /* key file permissions, content */
    path_in(p, sizeof p, rdir, "keys/node.key");
    assert_int_equal(chmod(p, 0640), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    assert_string_equal(err, "keys/node.key is readable by others (chmod 600)");
    assert_int_equal(chmod(p, 0604), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    assert_int_equal(chmod(p, 0600), 0);
    orig = slurp(p);
    write_text(p, "Snot-a-key\n");
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    assert_non_null(strstr(err, "keys/node.key: not a secret key"));
    write_text(p, orig);
    free(orig);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    assert_non_null(strstr(err, "keys/node.key"));

    /* a staking key file readable by others, and one under the wrong name */
    keypair_t node;
    key_of(&node, 9);
    char sks[MODEL_STR_MAX], text[MODEL_STR_MAX + 2];
    secret_key_to_str(sks, &node);
    snprintf(text, sizeof text, "%s\n", sks);
    write_text(p, text);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    repo_close(r);
    char a1[MODEL_STR_MAX], sk[256], sp[256];
    addr_of(a1, 1);
    snprintf(sk, sizeof sk, "keys/staking/%s.key", a1);
    path_in(sp, sizeof sp, rdir, sk);
    write_text(sp, text); /* node key under key 1's name */
    assert_int_equal(chmod(sp, 0644), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    char want2[300];
    snprintf(want2, sizeof want2, "%s is readable by others (chmod 600)", sk);
    assert_string_equal(err, want2);
    assert_int_equal(chmod(sp, 0600), 0);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_KEY);
    assert_non_null(strstr(err, "holds the key of"));
    assert_int_equal(unlink(sp), 0);
    /* other files in keys/staking are ignored */
    path_in(sp, sizeof sp, rdir, "keys/staking/README");
    write_text(sp, "notes\n");
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    assert_int_equal(r->staking_count, 0);
    repo_close(r);
}

static void test_overrides(void **state)
{
    (void)state;
    init_repo(false);
    char p[256];
    path_in(p, sizeof p, rdir, "config.ini");
    write_text(p, "[node]\nlog = warn\nstore_map_mb = 128\n[p2p]\nmax_peers = 8\n");
    const char *const ov[][2] = {{"node.log", "trace"}, {"p2p.bootstrap", "h:1"}};
    repo_t *r;
    char err[256] = "";
    assert_int_equal(repo_open(&r, rdir, ov, 2, err, sizeof err), WEFT_OK);
    assert_string_equal(r->config.log_level, "trace");         /* override wins */
    assert_int_equal(r->config.store_map_mb, 128);             /* config.ini */
    assert_int_equal(r->config.max_peers, 8);                  /* config.ini */
    assert_int_equal(r->config.bootstrap_count, 1);            /* override */
    assert_int_equal(r->config.pool_max_ops_per_thread, 8192); /* default */
    repo_close(r);
}

/* ---- the lock ------------------------------------------------------------------------------ */

static void test_lock(void **state)
{
    (void)state;
    init_repo(false);
    int to_parent[2], to_child[2];
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(pipe(to_child), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(to_parent[0]);
        close(to_child[1]);
        repo_t *cr;
        char cerr[256];
        char ok = repo_open(&cr, rdir, NULL, 0, cerr, sizeof cerr) == WEFT_OK ? 'y' : 'n';
        if (write(to_parent[1], &ok, 1) != 1)
            _exit(2);
        char go;
        if (read(to_child[0], &go, 1) != 1) /* hold the lock until told */
            _exit(3);
        if (ok == 'y')
            repo_close(cr);
        _exit(0);
    }
    close(to_parent[1]);
    close(to_child[0]);
    char ok;
    assert_int_equal(read(to_parent[0], &ok, 1), 1);
    assert_int_equal(ok, 'y');

    repo_t *r = (repo_t *)1;
    char err[256] = "";
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_LOCKED);
    assert_null(r);
    char want[512];
    char abs[256];
    assert_non_null(realpath(rdir, abs));
    snprintf(want, sizeof want, "repository %s is locked by pid %ld", abs, (long)pid);
    assert_string_equal(err, want);
    /* init refuses too (the repository exists) */
    repo_init_options o = {.genesis_path = genesis_file(false)};
    assert_int_equal(repo_init(rdir, &o, err, sizeof err), WEFT_E_EXISTS);

    /* the child exits (without repo_close here: process exit releases the lock) */
    char go = 'x';
    assert_int_equal(write(to_child[1], &go, 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(to_parent[0]);
    close(to_child[1]);
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    /* our pid is in the lock file now; a second open in this process is refused */
    char lp[256];
    path_in(lp, sizeof lp, rdir, "repo.lock");
    char *pidtext = slurp(lp);
    assert_int_equal(strtol(pidtext, NULL, 10), (long)getpid());
    free(pidtext);
    repo_t *r2;
    assert_int_equal(repo_open(&r2, rdir, NULL, 0, err, sizeof err), WEFT_E_REPO_LOCKED);
    snprintf(want, sizeof want, "locked by pid %ld", (long)getpid());
    assert_non_null(strstr(err, want));
    repo_close(r);
    assert_int_equal(repo_open(&r2, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    repo_close(r2);
}

/* ---- endpoints and staking keys ------------------------------------------------------------ */

static void test_endpoints(void **state)
{
    (void)state;
    init_repo(false);
    repo_t *r;
    char err[256] = "";
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    repo_endpoints_t e = {.api_public = "127.0.0.1:40001",
                          .api_private = "127.0.0.1:40002",
                          .metrics = "127.0.0.1:40003",
                          .p2p = "0.0.0.0:40004"};
    repo_endpoints_t back;
    char tok[65] = "", tok2[65] = "";
    assert_int_equal(repo_read_endpoints(rdir, &back, tok2), WEFT_E_NOT_FOUND);
    assert_int_equal(repo_write_endpoints(r, &e, tok), WEFT_OK);
    assert_int_equal(strlen(tok), 64);
    uint8_t raw[32];
    assert_int_equal(hex_decode(raw, sizeof raw, tok), 32);
    assert_int_equal(mode_of(rdir, "api.token"), 0600);
    assert_int_equal(repo_read_endpoints(rdir, &back, tok2), WEFT_OK);
    assert_string_equal(tok, tok2);
    assert_string_equal(back.api_public, e.api_public);
    assert_string_equal(back.api_private, e.api_private);
    assert_string_equal(back.metrics, e.metrics);
    assert_string_equal(back.p2p, e.p2p);
    assert_int_equal(repo_read_endpoints(rdir, &back, NULL), WEFT_OK);

    /* api.json carries the pid and the node id */
    char p[256];
    path_in(p, sizeof p, rdir, "api.json");
    json_t *j = json_load_file(p, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
    char nid[MODEL_STR_MAX];
    node_id_to_str(nid, &r->node_key.pk);
    assert_string_equal(json_string_value(json_object_get(j, "node_id")), nid);
    json_decref(j);

    /* a fresh token each time */
    assert_int_equal(repo_write_endpoints(r, &e, tok2), WEFT_OK);
    assert_string_not_equal(tok, tok2);
    /* malformed files */
    path_in(p, sizeof p, rdir, "api.token");
    write_text(p, "abc\n");
    assert_int_equal(repo_read_endpoints(rdir, &back, tok), WEFT_E_CORRUPT);
    path_in(p, sizeof p, rdir, "api.json");
    write_text(p, "{\"public_api\": 1}");
    assert_int_equal(repo_read_endpoints(rdir, &back, NULL), WEFT_E_CORRUPT);
    repo_clear_endpoints(r);
    assert_int_equal(repo_read_endpoints(rdir, &back, NULL), WEFT_E_NOT_FOUND);
    repo_close(r);
}

static void test_staking(void **state)
{
    (void)state;
    init_repo(true); /* keys 1 and 3 */
    repo_t *r;
    char err[256] = "";
    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    assert_int_equal(r->staking_count, 2);
    keypair_t k1, k5;
    key_of(&k1, 1);
    key_of(&k5, 5);
    assert_int_equal(repo_staking_add(r, &k1), WEFT_E_EXISTS);
    assert_int_equal(repo_staking_add(r, &k5), WEFT_OK);
    assert_int_equal(r->staking_count, 3);
    char a5[MODEL_STR_MAX], name[256];
    addr_of(a5, 5);
    snprintf(name, sizeof name, "keys/staking/%s.key", a5);
    assert_int_equal(mode_of(rdir, name), 0600);
    address_t a1;
    address_of_pubkey(&a1, &k1.pk);
    assert_int_equal(repo_staking_remove(r, &a1), WEFT_OK);
    assert_int_equal(repo_staking_remove(r, &a1), WEFT_E_NOT_FOUND);
    assert_non_null(strstr(r->err, "no staking key"));
    assert_int_equal(r->staking_count, 2);
    repo_close(r);

    assert_int_equal(repo_open(&r, rdir, NULL, 0, err, sizeof err), WEFT_OK);
    assert_int_equal(r->staking_count, 2);
    bool has5 = false, has1 = false;
    for (size_t i = 0; i < r->staking_count; i++) {
        has5 |= memcmp(r->staking_keys[i].pk.b, k5.pk.b, 32) == 0;
        has1 |= memcmp(r->staking_keys[i].pk.b, k1.pk.b, 32) == 0;
    }
    assert_true(has5);
    assert_false(has1);
    /* the array is in address order, as a fresh load gives it */
    for (size_t i = 1; i < r->staking_count; i++) {
        address_t x, y;
        address_of_pubkey(&x, &r->staking_keys[i - 1].pk);
        address_of_pubkey(&y, &r->staking_keys[i].pk);
        assert_true(hash32_cmp(&x.hash, &y.hash) < 0);
    }
    repo_close(r);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_ini, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genesis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staking, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
