/* badpeer — a hostile peer for the end-to-end tests: it connects to a node's p2p port, goes
 * through the handshake of docs/protocol.md with its own node key (or not), then misbehaves in
 * one way and reports how the node reacted.  Every message is built with src/net's encoders
 * (net_wire.h) and every answer is read with its decoder, so the format lives in one place.
 *
 *   badpeer MODE --connect HOST:PORT --genesis FILE [--key-seed HEX64] [--wait-ms N]
 *
 * MODE:
 *   probe     handshake only, then disconnect: tells whether the node accepts this node id
 *   prejunk   random bytes before any handshake (no node id yet: closed, not bannable by id)
 *   garbage   after the handshake, a frame of an unknown message type with a random body
 *   oversize  after the handshake, a frame length above max_frame (NET_MAX_FRAME)
 *   badsig    after the handshake, the HEADER of a block for the next slot whose signature is
 *             invalid; the pull that follows is answered (operation ids, full block)
 *   producer  the same with a valid signature by a key that is not drawn for the slot
 *   opshash   the same with a valid signature, but the operation ids it sends do not match
 *             the header's ops_hash (checked before the producer)
 *
 * The genesis file gives the chain id, the thread count and the genesis ids the handshake needs,
 * and the clock parameters for the slot of the forged block.  The node key is derived from
 * --key-seed (64 hex digits; random without it), so a second run with the same seed is the same
 * node id (to check a ban).
 *
 * Prints one "badpeer: …" line per step on stdout; the last one is the result:
 *   result: refused CODE TEXT   the node sent REFUSE (CODE as in net_wire.h) and closed
 *   result: closed MS           the node closed the connection MS ms after the fault was sent
 *   result: ready               (probe) the handshake completed
 *   result: open                the connection was still open after --wait-ms (default 10,000)
 * Exit status: 0 when a result was printed, 2 on a usage error or a failed connection.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "model/model.h"
#include "net/net.h"
#include "net/net_wire.h"
#include "node/node.h"
#include "repo/repo.h"

typedef enum mode {
    M_PROBE,
    M_PREJUNK,
    M_GARBAGE,
    M_OVERSIZE,
    M_BADSIG,
    M_PRODUCER,
    M_OPSHASH
} mode;
static const char *const mode_names[] = {"probe",  "prejunk",  "garbage", "oversize",
                                         "badsig", "producer", "opshash"};

typedef struct peer {
    int fd;
    model_params params;
    block_id_t genesis[MODEL_MAX_THREADS];
    keypair_t key;
    uint8_t nonce[NET_NONCE_LEN];
    net_wire_limits limits;
    /* learnt from the node */
    pubkey_t node_id;
    uint8_t node_nonce[NET_NONCE_LEN];
    bool got_handshake, got_proof, got_hello;
    net_hello hello;
    /* the forged block */
    block_header_t forged;
    bool forged_sent;
} peer;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) WEFT_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("badpeer: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr, "usage: badpeer probe|prejunk|garbage|oversize|badsig|producer|opshash "
                    "--connect HOST:PORT --genesis FILE [--key-seed HEX64] [--wait-ms N]\n");
    return 2;
}

static int dial(const char *addr)
{
    char host[256];
    uint16_t port;
    if (!net_addr_parse(addr, host, sizeof host, &port))
        return -1;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Writes all of buf; false when the node closed the connection. */
static bool send_all(peer *p, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    while (len) {
        ssize_t n = send(p->fd, b, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        b += n;
        len -= (size_t)n;
    }
    return true;
}

static bool send_wr(peer *p, wr_t *w)
{
    bool ok = wr_err(w) == WEFT_OK && send_all(p, w->buf, w->len);
    wr_free(w);
    return ok;
}

/* Reads exactly len bytes before the deadline: 1 done, 0 closed by the node, -1 timeout. */
static int recv_all(peer *p, uint8_t *buf, size_t len, uint64_t deadline)
{
    while (len) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return -1;
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        int r = poll(&pf, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        ssize_t n = recv(p->fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* EOF or reset */
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Reads one frame and decodes it: 1 a message in *m (net_msg_free), 0 closed, -1 timeout. */
static int recv_msg(peer *p, net_msg *m, uint64_t deadline)
{
    uint8_t hdr[NET_FRAME_HEADER];
    int r = recv_all(p, hdr, sizeof hdr, deadline);
    if (r != 1)
        return r;
    size_t total;
    if (net_frame_check(hdr, NET_MAX_FRAME, &total) != WEFT_OK) {
        say("the node sent a bad frame header");
        return 0;
    }
    uint8_t *frame = malloc(total);
    if (!frame)
        return 0;
    memcpy(frame, hdr, sizeof hdr);
    r = recv_all(p, frame + sizeof hdr, total - sizeof hdr, deadline);
    if (r == 1) {
        weft_err e = net_msg_decode(m, &p->limits, frame, total);
        if (e != WEFT_OK) {
            say("undecodable %s from the node: %s", net_msg_name(frame[4]), weft_err_name(e));
            memset(m, 0, sizeof *m); /* an unknown message: ignored */
        }
        /* lists borrowed from the frame are not used after this point */
    }
    free(frame);
    return r;
}

static bool send_handshake(peer *p)
{
    net_handshake h;
    memset(&h, 0, sizeof h);
    h.version = NET_PROTOCOL_VERSION;
    h.chain_id = p->params.chain_id;
    h.genesis = p->genesis[0];
    h.thread_count = p->params.thread_count;
    h.node_id = p->key.pk;
    h.listen_port = 0;
    memcpy(h.nonce, p->nonce, NET_NONCE_LEN);
    wr_t w;
    wr_init(&w);
    net_enc_handshake(&w, &h);
    return send_wr(p, &w);
}

/* A hello of a node at genesis: nothing final, the genesis blocks as heads. */
static bool send_hello(peer *p)
{
    net_hello h;
    memset(&h, 0, sizeof h);
    h.thread_count = p->params.thread_count;
    for (uint32_t t = 0; t < h.thread_count; t++)
        h.heads[t] = p->genesis[t];
    wr_t w;
    wr_init(&w);
    net_enc_hello(&w, &h);
    return send_wr(p, &w);
}

/* A message during the handshake: false when the connection is over (result printed). */
static bool on_handshake_msg(peer *p, net_msg *m, bool *done)
{
    switch (m->type) {
    case NET_MSG_HANDSHAKE: {
        const net_handshake *h = &m->u.handshake;
        if (h->chain_id != p->params.chain_id || !block_id_eq(&h->genesis, &p->genesis[0]))
            say("the node is on another chain (chain id %llu)", (unsigned long long)h->chain_id);
        p->node_id = h->node_id;
        memcpy(p->node_nonce, h->nonce, NET_NONCE_LEN);
        p->got_handshake = true;
        hash32_t d;
        net_proof_digest(&d, p->params.chain_id, p->node_nonce, &p->key.pk, &p->node_id);
        signature_t sig;
        model_sign_digest(&sig, &p->key, &d);
        wr_t w;
        wr_init(&w);
        net_enc_proof(&w, &sig);
        if (!send_wr(p, &w))
            return false;
        break;
    }
    case NET_MSG_PROOF: {
        hash32_t d;
        net_proof_digest(&d, p->params.chain_id, p->nonce, &p->node_id, &p->key.pk);
        if (!p->got_handshake || model_verify_digest(&m->u.proof, &p->node_id, &d) != WEFT_OK)
            say("the node's key proof does not verify");
        p->got_proof = true;
        break;
    }
    case NET_MSG_REFUSE:
        say("result: refused %u %s", m->u.refuse.code, m->u.refuse.text);
        return false;
    case NET_MSG_HELLO:
        p->hello = m->u.hello;
        p->got_hello = true;
        break;
    default:
        break;
    }
    *done = p->got_proof && p->got_hello;
    return true;
}

/* The forged block: the next slot (after the node's heads and the clock), the node's heads as
 * parents, no endorsements, no operations (opshash: one operation id in ops_hash), signed by a
 * fresh key that holds no rolls. */
static void forge(peer *p, mode md)
{
    block_header_t *h = &p->forged;
    memset(h, 0, sizeof *h);
    slot_t s = {0, 0};
    if (slot_at_time(&p->params, &s, wall_ms()) != WEFT_OK || slot_next(&p->params, &s, s))
        s = (slot_t){1, 0};
    for (uint32_t t = 0; t < p->params.thread_count; t++)
        while (p->hello.head_periods[t] >= s.period)
            if (slot_next(&p->params, &s, s) != WEFT_OK)
                break;
    h->version = HEADER_VERSION;
    h->slot = s;
    h->parent_count = p->params.thread_count;
    for (uint32_t t = 0; t < p->params.thread_count; t++)
        h->parents[t] = p->hello.heads[t];
    op_id_t one;
    crypto_random(&one, sizeof one);
    block_ops_hash(&h->ops_hash, md == M_OPSHASH ? &one : NULL, md == M_OPSHASH ? 1 : 0);
    keypair_t k;
    uint8_t seed[32];
    crypto_random(seed, sizeof seed);
    keypair_from_seed(&k, seed);
    header_sign(h, &k); /* computes the id, then signs it */
    keypair_wipe(&k);
    if (md == M_BADSIG)
        h->sig.b[7] ^= 0x40;
    char id[MODEL_STR_MAX];
    block_id_to_str(id, &h->id);
    say("forged block %s at slot (%llu, %u)", id, (unsigned long long)s.period, s.thread);
}

/* Answers the node's asks for the forged block. */
static bool serve(peer *p, mode md, const net_msg *m)
{
    if (m->type != NET_MSG_ASK_BLOCK || !block_id_eq(&m->u.ask.id, &p->forged.id))
        return true;
    wr_t w;
    wr_init(&w);
    op_id_t wrong;
    crypto_random(&wrong, sizeof wrong);
    switch (m->u.ask.what) {
    case NET_ASK_HEADER:
        net_enc_header(&w, NET_MSG_BLOCK_HEADER, &p->forged);
        say("asked the header");
        break;
    case NET_ASK_OP_IDS:
        /* opshash: an id list that does not hash to ops_hash */
        net_enc_block_op_ids(&w, &p->forged.id, &wrong, md == M_OPSHASH ? 1 : 0);
        say("asked the operation ids");
        break;
    case NET_ASK_OPS:
        net_enc_block_ops(&w, &p->forged.id, NULL, NULL, 0);
        say("asked operations");
        break;
    case NET_ASK_FULL:
        net_enc_block_full(&w, &p->forged, NULL, NULL, 0);
        say("asked the full block");
        break;
    default:
        break;
    }
    return send_wr(p, &w);
}

/* Waits for the node to close the connection (answering asks meanwhile); prints the result. */
static void await_close(peer *p, mode md, uint64_t t_fault, uint64_t wait_ms)
{
    uint64_t deadline = t_fault + wait_ms;
    for (;;) {
        net_msg m;
        int r = recv_msg(p, &m, deadline);
        if (r == 0) {
            say("result: closed %llu", (unsigned long long)(mono_ms() - t_fault));
            return;
        }
        if (r < 0) {
            say("result: open");
            return;
        }
        if (m.type == NET_MSG_REFUSE)
            say("refused %u %s", m.u.refuse.code, m.u.refuse.text);
        bool ok = serve(p, md, &m);
        net_msg_free(&m);
        if (!ok) {
            say("result: closed %llu", (unsigned long long)(mono_ms() - t_fault));
            return;
        }
    }
}

static bool hex_seed(uint8_t out[32], const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

static bool load_genesis(peer *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    repo_genesis_t g;
    char err[256];
    bool ok = buf && repo_genesis_parse(&g, buf, len, err, sizeof err) == WEFT_OK;
    free(buf);
    if (!ok)
        return false;
    p->params = g.params;
    repo_genesis_free(&g);
    block_header_t gh[MODEL_MAX_THREADS];
    node_genesis_headers(&p->params, gh);
    for (uint32_t t = 0; t < p->params.thread_count; t++)
        p->genesis[t] = gh[t].id;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    int md = -1;
    for (size_t i = 0; i < WEFT_ARRAY_LEN(mode_names); i++)
        if (strcmp(argv[1], mode_names[i]) == 0)
            md = (int)i;
    const char *addr = NULL, *gpath = NULL, *seedhex = NULL;
    uint64_t wait_ms = 10000;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--connect") == 0)
            addr = argv[i + 1];
        else if (strcmp(argv[i], "--genesis") == 0)
            gpath = argv[i + 1];
        else if (strcmp(argv[i], "--key-seed") == 0)
            seedhex = argv[i + 1];
        else if (strcmp(argv[i], "--wait-ms") == 0)
            wait_ms = strtoull(argv[i + 1], NULL, 10);
        else
            return usage();
    }
    if (md < 0 || !addr || !gpath || (argc % 2) != 0)
        return usage();
    if (crypto_init() != WEFT_OK)
        return 2;
    static peer p; /* zeroed */
    if (!load_genesis(&p, gpath)) {
        fprintf(stderr, "badpeer: cannot read the genesis file %s\n", gpath);
        return 2;
    }
    uint8_t seed[32];
    if (seedhex) {
        if (!hex_seed(seed, seedhex))
            return usage();
    } else
        crypto_random(seed, sizeof seed);
    keypair_from_seed(&p.key, seed);
    crypto_random(p.nonce, sizeof p.nonce);
    p.limits.thread_count = p.params.thread_count;
    p.limits.max_ops = 5000;
    p.limits.max_sync_ids = NET_MAX_SYNC_IDS;
    p.limits.params = p.params;
    p.limits.params.endorsement_count = MODEL_MAX_ENDORSEMENTS;
    char nid[MODEL_STR_MAX];
    node_id_to_str(nid, &p.key.pk);

    p.fd = dial(addr);
    if (p.fd < 0) {
        fprintf(stderr, "badpeer: cannot connect to %s: %s\n", addr, strerror(errno));
        return 2;
    }
    say("connected to %s as %s, mode %s", addr, nid, mode_names[md]);
    if (md == M_PREJUNK) {
        uint8_t junk[256];
        crypto_random(junk, sizeof junk);
        junk[4] = 0; /* type 0: no such message, whatever the length says */
        uint64_t t = mono_ms();
        send_all(&p, junk, sizeof junk);
        say("sent %zu random bytes", sizeof junk);
        await_close(&p, (mode)md, t, wait_ms);
        close(p.fd);
        return 0;
    }
    if (!send_handshake(&p)) {
        say("result: closed 0");
        close(p.fd);
        return 0;
    }
    uint64_t deadline = mono_ms() + wait_ms;
    bool ready = false;
    while (!ready) {
        net_msg m;
        int r = recv_msg(&p, &m, deadline);
        if (r <= 0) {
            say(r == 0 ? "result: closed 0" : "result: open");
            close(p.fd);
            return 0;
        }
        bool more = on_handshake_msg(&p, &m, &ready);
        net_msg_free(&m);
        if (!more) {
            close(p.fd);
            return 0;
        }
    }
    say("handshake done with the node");
    if (md == M_PROBE) {
        say("result: ready");
        close(p.fd);
        return 0;
    }
    if (!send_hello(&p)) {
        say("result: closed 0");
        close(p.fd);
        return 0;
    }
    wr_t w;
    wr_init(&w);
    uint64_t t_fault = mono_ms();
    switch ((mode)md) {
    case M_GARBAGE: {
        uint8_t body[64];
        crypto_random(body, sizeof body);
        uint8_t hdr[NET_FRAME_HEADER] = {0, 0, 0, 1 + sizeof body, 0}; /* type 0: none */
        wr_bytes(&w, hdr, sizeof hdr);
        wr_bytes(&w, body, sizeof body);
        say("sending a frame of type 0 with %zu random bytes", sizeof body);
        break;
    }
    case M_OVERSIZE: {
        uint32_t l = NET_MAX_FRAME + 2; /* type byte + max_frame + 1 body bytes */
        uint8_t hdr[NET_FRAME_HEADER] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8),
                                         (uint8_t)l, NET_MSG_OPS};
        uint8_t body[1024];
        crypto_random(body, sizeof body);
        wr_bytes(&w, hdr, sizeof hdr);
        wr_bytes(&w, body, sizeof body);
        say("sending a frame header announcing %u bytes", l);
        break;
    }
    default:
        forge(&p, (mode)md);
        net_enc_header(&w, NET_MSG_HEADER, &p.forged);
        break;
    }
    if (!send_wr(&p, &w)) {
        say("result: closed 0");
        close(p.fd);
        return 0;
    }
    await_close(&p, (mode)md, t_fault, wait_ms);
    close(p.fd);
    keypair_wipe(&p.key);
    return 0;
}
