/* Peers' addresses and bans (docs/protocol.md "Peers", "Bans"): the address book (bootstrap
 * addresses and those learned from PEERS messages and handshakes), the dial policy with
 * exponential backoff, peer lists, bans by node id and IP with expiry, and the whitelist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static uint64_t since(uint64_t now, uint64_t t) { return now > t ? now - t : 0; }

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return u64_add(&r, a, b) ? r : UINT64_MAX;
}

/* ---- bans ------------------------------------------------------------------------------------ */

bool net_ip_is_loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0 || strcmp(ip, "localhost") == 0;
}

bool net_ip_banned(const net_core *c, const char *ip, uint64_t now)
{
    for (size_t i = 0; i < c->nbans; i++)
        if (c->bans[i].is_ip && c->bans[i].until_ms > now && strcmp(c->bans[i].ip, ip) == 0)
            return true;
    return false;
}

bool net_id_banned(const net_core *c, const pubkey_t *id, uint64_t now)
{
    for (size_t i = 0; i < c->nbans; i++)
        if (!c->bans[i].is_ip && c->bans[i].until_ms > now &&
            memcmp(c->bans[i].id.b, id->b, 32) == 0)
            return true;
    return false;
}

bool net_ip_whitelisted(const net_core *c, const char *ip)
{
    for (size_t i = 0; i < c->nwhite; i++)
        if (strcmp(c->white[i], ip) == 0)
            return true;
    return false;
}

/* Adds (or extends) a ban; when the table is full the ban that ends first makes room. */
static bool add_ban(net_core *c, bool is_ip, const pubkey_t *id, const char *ip, uint64_t now)
{
    uint64_t until = add_sat(now, c->cfg.ban_ms);
    for (size_t i = 0; i < c->nbans; i++) {
        net_ban *b = &c->bans[i];
        if (b->is_ip == is_ip &&
            (is_ip ? strcmp(b->ip, ip) == 0 : memcmp(b->id.b, id->b, 32) == 0)) {
            if (until > b->until_ms)
                b->until_ms = until;
            return true;
        }
    }
    if (!c->bans) {
        c->bans = calloc(NET_MAX_BANS, sizeof *c->bans);
        if (!c->bans) {
            c->oom = true;
            return false;
        }
    }
    size_t at = c->nbans;
    if (c->nbans == NET_MAX_BANS) {
        at = 0;
        for (size_t i = 1; i < c->nbans; i++)
            if (c->bans[i].until_ms < c->bans[at].until_ms)
                at = i;
    } else {
        c->nbans++;
    }
    net_ban *b = &c->bans[at];
    memset(b, 0, sizeof *b);
    b->is_ip = is_ip;
    if (is_ip)
        snprintf(b->ip, sizeof b->ip, "%s", ip);
    else
        b->id = *id;
    b->until_ms = until;
    return true;
}

/* Closes the connections of a node id or an IP (with banned = true). */
static void close_matching(net_core *c, const pubkey_t *id, const char *ip, weft_err reason,
                           bool spare_whitelisted)
{
    for (size_t i = 0; i < c->npeers; i++) {
        net_peer *p = c->peers[i];
        if (p->closing || (spare_whitelisted && p->whitelisted))
            continue;
        bool hit = (id && p->has_node_id && memcmp(p->node_id.b, id->b, 32) == 0) ||
                   (ip && strcmp(p->ip, ip) == 0);
        if (hit)
            net_peer_close(c, p, reason, true);
    }
}

bool net_ban_sender(net_core *c, const net_sender *s, weft_err reason, uint64_t now)
{
    if (s->ip[0] && net_ip_whitelisted(c, s->ip))
        return false;
    bool by_id = s->has_node_id && add_ban(c, false, &s->node_id, NULL, now);
    bool by_ip = s->ip[0] && !net_ip_is_loopback(s->ip) && add_ban(c, true, NULL, s->ip, now);
    if (!by_id && !by_ip)
        return false;
    c->st.bans_total++;
    close_matching(c, by_id ? &s->node_id : NULL, by_ip ? s->ip : NULL, reason, true);
    return true;
}

void net_bans_free(net_core *c)
{
    free(c->bans);
    free(c->white);
    c->bans = NULL;
    c->white = NULL;
    c->nbans = c->nwhite = 0;
}

weft_err net_core_ban_id(net_core *c, const pubkey_t *id, uint64_t now_ms)
{
    c->now = now_ms;
    if (!add_ban(c, false, id, NULL, now_ms))
        return WEFT_E_NOMEM;
    c->st.bans_total++;
    close_matching(c, id, NULL, WEFT_E_NET_BANNED, false);
    return WEFT_OK;
}

weft_err net_core_ban_ip(net_core *c, const char *ip, uint64_t now_ms)
{
    c->now = now_ms;
    if (!ip || !ip[0] || strlen(ip) >= NET_ADDR_MAX)
        return WEFT_E_INVAL;
    if (!add_ban(c, true, NULL, ip, now_ms))
        return WEFT_E_NOMEM;
    c->st.bans_total++;
    close_matching(c, NULL, ip, WEFT_E_NET_BANNED, false);
    return WEFT_OK;
}

static weft_err unban(net_core *c, bool is_ip, const pubkey_t *id, const char *ip)
{
    bool found = false;
    size_t k = 0;
    for (size_t i = 0; i < c->nbans; i++) {
        net_ban *b = &c->bans[i];
        bool hit =
            b->is_ip == is_ip && (is_ip ? strcmp(b->ip, ip) == 0 : memcmp(b->id.b, id->b, 32) == 0);
        if (hit && b->until_ms > c->now)
            found = true;
        if (!hit)
            c->bans[k++] = *b;
    }
    c->nbans = k;
    return found ? WEFT_OK : WEFT_E_NOT_FOUND;
}

weft_err net_core_unban_id(net_core *c, const pubkey_t *id) { return unban(c, false, id, NULL); }

weft_err net_core_unban_ip(net_core *c, const char *ip)
{
    if (!ip)
        return WEFT_E_INVAL;
    return unban(c, true, NULL, ip);
}

/* ---- whitelist ------------------------------------------------------------------------------- */

static void refresh_whitelisted(net_core *c)
{
    for (size_t i = 0; i < c->npeers; i++)
        c->peers[i]->whitelisted = net_ip_whitelisted(c, c->peers[i]->ip);
}

weft_err net_core_whitelist_add(net_core *c, const char *ip)
{
    if (!ip || !ip[0] || strlen(ip) >= NET_ADDR_MAX)
        return WEFT_E_INVAL;
    if (net_ip_whitelisted(c, ip))
        return WEFT_OK;
    if (c->nwhite == NET_MAX_WHITELIST)
        return WEFT_E_LIMIT;
    if (!c->white) {
        c->white = calloc(NET_MAX_WHITELIST, NET_ADDR_MAX);
        if (!c->white)
            return WEFT_E_NOMEM;
    }
    snprintf(c->white[c->nwhite++], NET_ADDR_MAX, "%s", ip);
    refresh_whitelisted(c);
    return WEFT_OK;
}

weft_err net_core_whitelist_remove(net_core *c, const char *ip)
{
    if (!ip)
        return WEFT_E_INVAL;
    for (size_t i = 0; i < c->nwhite; i++)
        if (strcmp(c->white[i], ip) == 0) {
            memmove(c->white[i], c->white[i + 1], (c->nwhite - i - 1) * NET_ADDR_MAX);
            c->nwhite--;
            refresh_whitelisted(c);
            return WEFT_OK;
        }
    return WEFT_E_NOT_FOUND;
}

size_t net_core_whitelist(const net_core *c, char (*out)[NET_ADDR_MAX], size_t cap)
{
    for (size_t i = 0; i < c->nwhite && i < cap; i++)
        memcpy(out[i], c->white[i], NET_ADDR_MAX);
    return c->nwhite;
}

/* ---- address book ---------------------------------------------------------------------------- */

net_book_entry *net_book_find(net_core *c, const char *addr)
{
    for (size_t i = 0; i < c->nbook; i++)
        if (strcmp(c->book[i].addr, addr) == 0)
            return &c->book[i];
    return NULL;
}

static bool entry_connected(const net_core *c, const net_book_entry *b)
{
    for (size_t i = 0; i < c->npeers; i++) {
        const net_peer *p = c->peers[i];
        if (p->closing)
            continue;
        if ((p->outbound && strcmp(p->addr, b->addr) == 0) ||
            (b->has_node_id && p->has_node_id && memcmp(p->node_id.b, b->node_id.b, 32) == 0))
            return true;
    }
    return false;
}

net_book_entry *net_book_add(net_core *c, const char *addr, bool bootstrap)
{
    char host[NET_ADDR_MAX];
    uint16_t port;
    if (!net_addr_parse(addr, host, sizeof host, &port))
        return NULL;
    net_book_entry *b = net_book_find(c, addr);
    if (b) {
        b->bootstrap |= bootstrap;
        return b;
    }
    if (!c->book) {
        c->book = calloc(NET_BOOK_MAX, sizeof *c->book);
        if (!c->book) {
            c->oom = true;
            return NULL;
        }
    }
    size_t at = c->nbook;
    if (c->nbook == NET_BOOK_MAX) { /* replace the learned address that failed most */
        size_t worst = SIZE_MAX;
        for (size_t i = 0; i < c->nbook; i++) {
            const net_book_entry *e = &c->book[i];
            if (e->bootstrap || e->dialing || entry_connected(c, e))
                continue;
            if (worst == SIZE_MAX || e->failures > c->book[worst].failures ||
                (e->self && !c->book[worst].self))
                worst = i;
        }
        if (worst == SIZE_MAX ||
            (!bootstrap && c->book[worst].failures == 0 && !c->book[worst].self))
            return NULL; /* keep what works */
        at = worst;
    } else {
        c->nbook++;
    }
    b = &c->book[at];
    memset(b, 0, sizeof *b);
    snprintf(b->addr, sizeof b->addr, "%s", addr);
    snprintf(b->host, sizeof b->host, "%s", host);
    b->bootstrap = bootstrap;
    b->next_dial_ms = 0;
    return b;
}

static uint64_t backoff(const net_core *c, uint32_t failures)
{
    uint64_t d = c->cfg.dial_backoff_min_ms ? c->cfg.dial_backoff_min_ms : 1;
    for (uint32_t i = 1; i < failures && d < c->cfg.dial_backoff_max_ms; i++)
        d = add_sat(d, d);
    return d < c->cfg.dial_backoff_max_ms ? d : c->cfg.dial_backoff_max_ms;
}

static void entry_failed(net_core *c, net_book_entry *b, uint32_t weight)
{
    b->dialing = false;
    b->failures = b->failures + weight < b->failures ? UINT32_MAX : b->failures + weight;
    b->next_dial_ms = add_sat(c->now, backoff(c, b->failures));
}

void net_core_dial_failed(net_core *c, const char *addr, uint64_t now_ms)
{
    c->now = now_ms;
    net_book_entry *b = addr ? net_book_find(c, addr) : NULL;
    if (b)
        entry_failed(c, b, 1);
}

void net_book_connected(net_core *c, net_peer *p)
{
    if (!p->outbound)
        return;
    net_book_entry *b = net_book_find(c, p->addr);
    if (b)
        b->dialing = false;
}

/* The address an inbound peer listens on: its IP and the port of its handshake; false if it
 * does not fit. */
static bool listen_addr(char out[NET_ADDR_MAX], const net_peer *p)
{
    char a[NET_ADDR_MAX + 16];
    if (strchr(p->ip, ':'))
        snprintf(a, sizeof a, "[%s]:%u", p->ip, p->listen_port);
    else
        snprintf(a, sizeof a, "%s:%u", p->ip, p->listen_port);
    if (strlen(a) >= NET_ADDR_MAX)
        return false;
    memcpy(out, a, NET_ADDR_MAX);
    return true;
}

void net_book_ready(net_core *c, net_peer *p)
{
    net_book_entry *b = NULL;
    if (p->outbound) {
        b = net_book_find(c, p->addr);
        if (!b)
            b = net_book_add(c, p->addr, false);
        if (b) {
            b->failures = 0;
            b->last_ok_ms = c->now ? c->now : 1;
        }
    } else if (p->listen_port) {
        char a[NET_ADDR_MAX];
        if (listen_addr(a, p))
            b = net_book_add(c, a, false);
    }
    if (b) {
        b->node_id = p->node_id;
        b->has_node_id = true;
    }
}

void net_book_gone(net_core *c, net_peer *p, bool was_ready)
{
    if (!p->outbound)
        return;
    net_book_entry *b = net_book_find(c, p->addr);
    if (!b)
        return;
    b->dialing = false;
    if (was_ready)
        b->next_dial_ms = add_sat(c->now, c->cfg.dial_backoff_min_ms);
    else
        entry_failed(c, b, 1);
}

void net_book_refused(net_core *c, net_peer *p, uint8_t code)
{
    if (!p->outbound)
        return;
    net_book_entry *b = net_book_find(c, p->addr);
    if (!b)
        return;
    switch (code) {
    case NET_REFUSE_SELF:
        b->self = true;
        break;
    case NET_REFUSE_VERSION:
    case NET_REFUSE_CHAIN:
    case NET_REFUSE_BANNED:
        entry_failed(c, b, 16); /* the longest backoff */
        break;
    default:
        break;
    }
}

static size_t outbound_count(const net_core *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->npeers; i++)
        if (c->peers[i]->outbound && !c->peers[i]->closing)
            n++;
    for (size_t i = 0; i < c->nbook; i++)
        if (c->book[i].dialing)
            n++;
    return n;
}

static size_t ip_count(const net_core *c, const char *ip)
{
    size_t n = 0;
    for (size_t i = 0; i < c->npeers; i++)
        if (!c->peers[i]->closing && strcmp(c->peers[i]->ip, ip) == 0)
            n++;
    return n;
}

static bool dialable(const net_core *c, const net_book_entry *b)
{
    if (b->self || b->dialing || b->next_dial_ms > c->now)
        return false;
    if (net_ip_banned(c, b->host, c->now) ||
        (b->has_node_id && net_id_banned(c, &b->node_id, c->now)))
        return false;
    if (!net_ip_whitelisted(c, b->host) && ip_count(c, b->host) >= c->cfg.max_per_ip)
        return false;
    return !entry_connected(c, b);
}

weft_err net_book_tick(net_core *c)
{
    /* dials the shell never reported on count as failures */
    for (size_t i = 0; i < c->nbook; i++) {
        net_book_entry *b = &c->book[i];
        if (b->dialing && since(c->now, b->dial_started_ms) >= NET_DIAL_TIMEOUT_MS)
            entry_failed(c, b, 1);
    }
    /* expired bans go */
    size_t k = 0;
    for (size_t i = 0; i < c->nbans; i++)
        if (c->bans[i].until_ms > c->now)
            c->bans[k++] = c->bans[i];
    c->nbans = k;
    /* dials towards the outbound target: the addresses that failed least, oldest attempt first */
    size_t have = outbound_count(c);
    while (have < c->cfg.outbound_target) {
        net_book_entry *best = NULL;
        for (size_t i = 0; i < c->nbook; i++) {
            net_book_entry *b = &c->book[i];
            if (!dialable(c, b))
                continue;
            if (!best || b->failures < best->failures ||
                (b->failures == best->failures && b->dial_started_ms < best->dial_started_ms))
                best = b;
        }
        if (!best)
            break;
        net_action a;
        memset(&a, 0, sizeof a);
        a.kind = NET_ACT_DIAL;
        snprintf(a.addr, sizeof a.addr, "%s", best->addr);
        weft_err e = net_push_action(c, &a);
        if (e)
            return e;
        best->dialing = true;
        best->dial_started_ms = c->now;
        have++;
    }
    return WEFT_OK;
}

/* ---- peer lists ------------------------------------------------------------------------------ */

weft_err net_on_peers_ask(net_core *c, net_peer *p)
{
    char(*list)[NET_ADDR_MAX] = calloc(NET_MAX_PEERS_IN_LIST, NET_ADDR_MAX);
    if (!list) {
        c->oom = true;
        return WEFT_E_NOMEM;
    }
    /* addresses where a handshake proved a node, most recently seen first */
    uint32_t n = 0;
    for (size_t i = c->nbook; i-- > 0 && n < NET_MAX_PEERS_IN_LIST;) {
        const net_book_entry *b = &c->book[i];
        if (b->self || !b->has_node_id ||
            (p->has_node_id && memcmp(b->node_id.b, p->node_id.b, 32) == 0))
            continue;
        if (net_ip_banned(c, b->host, c->now))
            continue;
        memcpy(list[n++], b->addr, NET_ADDR_MAX);
    }
    wr_t w;
    wr_init(&w);
    net_enc_peers(&w, (const char(*)[NET_ADDR_MAX])list, n);
    free(list);
    return net_send(c, p, &w);
}

weft_err net_on_peers(net_core *c, net_peer *p, const net_msg *m)
{
    (void)p;
    for (uint32_t i = 0; i < m->u.peers.count; i++)
        (void)net_book_add(c, m->u.peers.addrs[i], false); /* full book: ignored */
    return c->oom ? WEFT_E_NOMEM : WEFT_OK;
}
