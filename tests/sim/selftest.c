/* selftest.c — the link model (link.c) against a trivial fake endpoint: no node, no protocol core.
 * `sim --selftest` runs it (ctest sim_selftest).  Each check prints one line; the first failure
 * names what broke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int failures;
static bool verbose_;

#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            failures++;                                                                            \
            printf("sim selftest: FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);                      \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

enum { MAXEV = 4096 };

typedef struct evlog {
    sim_event ev[MAXEV];
    uint32_t tag[MAXEV]; /* first 4 bytes of the frame */
    size_t n;
} evlog;

static uint8_t *frame_of(uint32_t tag, size_t len)
{
    if (len < 4)
        len = 4;
    uint8_t *f = calloc(1, len);
    memcpy(f, &tag, 4);
    return f;
}

/* Collects every event due up to `until`, stepping time by 10 ms like the simulator. */
static void run(sim_net *n, uint64_t from, uint64_t until, evlog *lg)
{
    for (uint64_t t = from; t <= until; t += 10) {
        sim_event ev;
        while (sim_net_next(n, t, &ev)) {
            if (lg->n < MAXEV) {
                lg->ev[lg->n] = ev;
                lg->tag[lg->n] = 0;
                if (ev.kind == SIM_EV_FRAME)
                    memcpy(&lg->tag[lg->n], ev.frame, 4);
                lg->ev[lg->n].frame = NULL;
                lg->n++;
            }
            free(ev.frame);
        }
    }
}

static size_t count(const evlog *lg, sim_ev_kind k, int node)
{
    size_t c = 0;
    for (size_t i = 0; i < lg->n; i++)
        c += lg->ev[i].kind == k && (node < 0 || lg->ev[i].node == node);
    return c;
}

static const sim_event *find(const evlog *lg, sim_ev_kind k, int node)
{
    for (size_t i = 0; i < lg->n; i++)
        if (lg->ev[i].kind == k && lg->ev[i].node == node)
            return &lg->ev[i];
    return NULL;
}

/* Dials from 0 to 1 at t=0 and runs until both ends are connected; returns the connection. */
static uint32_t connect01(sim_net *n, evlog *lg)
{
    sim_net_dial(n, 0, 1, "b:1", 0);
    run(n, 0, 200, lg);
    const sim_event *a = find(lg, SIM_EV_CONNECTED, 0), *b = find(lg, SIM_EV_CONNECTED, 1);
    CHECK(a && b && a->conn == b->conn && a->end == 0 && b->end == 1, "both ends connected");
    CHECK(a && strcmp(a->addr, "b:1") == 0, "dialer told the address it dialed");
    return a ? a->conn : 0;
}

static void t_order_latency(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.latency_ms = 30;
    c.jitter_ms = 200;
    c.bandwidth = 0;
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 2, 1) == WEFT_OK, "new");
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    uint64_t sent[300];
    for (uint32_t i = 0; i < 300; i++) {
        sent[i] = 200 + i * 3;
        run(n, sent[i], sent[i], lg); /* deliveries due so far */
        sim_net_send(n, id, 0, i % 3 ? NET_LANE_CONTROL : NET_LANE_BULK, frame_of(i, 8), 8,
                     sent[i]);
    }
    run(n, 1100, 3000, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 300, "all 300 frames arrive (got %zu)",
          count(lg, SIM_EV_FRAME, 1));
    uint32_t want = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < lg->n; i++) {
        if (lg->ev[i].kind != SIM_EV_FRAME)
            continue;
        /* with an idle wire every frame is written at once: order = send order */
        CHECK(lg->tag[i] == want, "in order: got %u want %u", lg->tag[i], want);
        CHECK(lg->ev[i].at >= sent[want] + 30, "not before the latency");
        CHECK(lg->ev[i].at >= last, "arrival times non-decreasing");
        last = lg->ev[i].at;
        want++;
    }
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  order and latency: 300 frames in order, none before the latency\n");
}

static void t_lanes(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.latency_ms = 10;
    c.jitter_ms = 0;
    c.bandwidth = 10000; /* 1000-byte frames take 100 ms on the wire */
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 2, 2) == WEFT_OK, "new");
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    for (uint32_t i = 0; i < 5; i++)
        sim_net_send(n, id, 0, NET_LANE_BULK, frame_of(100 + i, 1000), 1000, 300);
    run(n, 300, 350, lg);
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(7, 10), 10, 350);
    run(n, 360, 2000, lg);
    uint32_t order[6];
    size_t k = 0;
    for (size_t i = 0; i < lg->n && k < 6; i++)
        if (lg->ev[i].kind == SIM_EV_FRAME)
            order[k++] = lg->tag[i];
    CHECK(k == 6, "six frames (got %zu)", k);
    /* the first bulk frame was on the wire; the control frame overtakes the four queued ones */
    CHECK(k == 6 && order[0] == 100 && order[1] == 7 && order[2] == 101 && order[5] == 104,
          "control overtakes queued bulk: %u %u %u … %u", order[0], order[1], order[2], order[5]);
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  lanes: a control frame overtakes queued bulk frames, not the one on the wire\n");
}

static void t_partition(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.latency_ms = 20;
    c.jitter_ms = 10;
    c.user_timeout_ms = 5000;
    c.connect_timeout_ms = 1000;
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 3, 3) == WEFT_OK, "new");
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    /* a short partition: frames wait, then arrive in order after the heal */
    sim_net_set_group(n, 1, 1, 300);
    for (uint32_t i = 0; i < 10; i++)
        sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(i, 4), 4, 300 + i);
    sim_net_dial(n, 2, 1, "b:1", 310);
    run(n, 310, 2000, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 0, "nothing crosses a partition");
    const sim_event *df = find(lg, SIM_EV_DIAL_FAILED, 2);
    CHECK(df && df->at == 1310, "a dial across it fails after the connect timeout");
    sim_net_set_group(n, 1, 0, 2000);
    run(n, 2000, 2500, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 10, "all frames after the heal (got %zu)",
          count(lg, SIM_EV_FRAME, 1));
    uint32_t want = 0;
    for (size_t i = 0; i < lg->n; i++)
        if (lg->ev[i].kind == SIM_EV_FRAME) {
            CHECK(lg->tag[i] == want && lg->ev[i].at >= 2020, "in order, after the heal");
            want++;
        }
    CHECK(count(lg, SIM_EV_CLOSED, -1) == 0, "the connection survived");
    /* a long one with data pending: the connection breaks at the user timeout */
    lg->n = 0;
    sim_net_set_group(n, 1, 1, 3000);
    sim_net_send(n, id, 1, NET_LANE_CONTROL, frame_of(99, 4), 4, 3000);
    run(n, 3000, 9000, lg);
    const sim_event *c0 = find(lg, SIM_EV_CLOSED, 0), *c1 = find(lg, SIM_EV_CLOSED, 1);
    CHECK(c0 && c1 && c0->at == 8000 && c1->at == 8000, "both ends closed at the user timeout");
    CHECK(count(lg, SIM_EV_FRAME, -1) == 0, "the pending frame is lost");
    CHECK(sim_net_open_count(n) == 0, "no connection left");
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  partition: stall then in-order delivery at the heal; dials time out; a long "
               "stall breaks\n");
}

static void t_crash(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.latency_ms = 25;
    c.jitter_ms = 0;
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 2, 4) == WEFT_OK, "new");
    sim_net_set_up(n, 0, true, 0);
    sim_net_set_up(n, 1, true, 0);
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(1, 4), 4, 300);
    sim_net_send(n, id, 1, NET_LANE_CONTROL, frame_of(2, 4), 4, 300);
    sim_net_set_up(n, 1, false, 310);
    run(n, 310, 1000, lg);
    const sim_event *cl = find(lg, SIM_EV_CLOSED, 0);
    CHECK(cl && cl->at == 335, "the peer hears the reset one latency later");
    CHECK(count(lg, SIM_EV_FRAME, -1) == 0, "frames in flight either way are lost");
    CHECK(count(lg, SIM_EV_CLOSED, 1) == 0, "the crashed node hears nothing");
    lg->n = 0;
    sim_net_dial(n, 0, 1, "b:1", 1000);
    run(n, 1000, 1100, lg);
    const sim_event *df = find(lg, SIM_EV_DIAL_FAILED, 0);
    CHECK(df && df->at == 1050, "a dial to a down node is refused after a round trip");
    sim_net_set_up(n, 1, true, 1100);
    lg->n = 0;
    sim_net_dial(n, 0, 1, "b:1", 1100);
    run(n, 1100, 1300, lg);
    CHECK(count(lg, SIM_EV_CONNECTED, -1) == 2, "after the restart a dial connects");
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  crash: peers hear the reset, frames lost, dials refused until the restart\n");
}

static void t_faults(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.latency_ms = 10;
    c.jitter_ms = 0;
    c.drop_pm = 1000;
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 2, 5) == WEFT_OK, "new");
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(1, 4), 4, 300);
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(2, 4), 4, 300);
    run(n, 300, 600, lg);
    CHECK(count(lg, SIM_EV_FRAME, -1) == 0, "a dropped frame never arrives, nor what follows");
    CHECK(count(lg, SIM_EV_CLOSED, 0) == 1 && count(lg, SIM_EV_CLOSED, 1) == 1,
          "a drop breaks the connection at both ends");
    sim_net_free(n);

    c.drop_pm = 0;
    c.dup_pm = 1000;
    CHECK(sim_net_new(&n, &c, 2, 6) == WEFT_OK, "new");
    lg->n = 0;
    id = connect01(n, lg);
    lg->n = 0;
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(1, 4), 4, 300);
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(2, 4), 4, 300);
    run(n, 300, 600, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 1 && lg->ev[0].kind == SIM_EV_FRAME && lg->tag[0] == 1,
          "a dup fault delivers the frame …");
    CHECK(count(lg, SIM_EV_CLOSED, 0) == 1 && count(lg, SIM_EV_CLOSED, 1) == 1,
          "… then breaks the connection");
    sim_net_free(n);

    c.dup_pm = 0;
    c.retrans_pm = 1000;
    c.rto_ms = 200;
    CHECK(sim_net_new(&n, &c, 2, 7) == WEFT_OK, "new");
    lg->n = 0;
    id = connect01(n, lg);
    lg->n = 0;
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(1, 4), 4, 300);
    sim_net_send(n, id, 0, NET_LANE_CONTROL, frame_of(2, 4), 4, 300);
    run(n, 300, 2000, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 2, "retransmitted frames arrive");
    CHECK(lg->n >= 2 && lg->ev[0].at == 300 + 10 + 200 && lg->ev[1].at == 300 + 10 + 400,
          "after rto, doubled for a second loss (%llu, %llu)", (unsigned long long)lg->ev[0].at,
          (unsigned long long)lg->ev[1].at);
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  faults: drop breaks before the frame, dup after it, retransmissions delay\n");
}

static void t_close(void)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 2, 8) == WEFT_OK, "new");
    evlog *lg = calloc(1, sizeof *lg);
    uint32_t id = connect01(n, lg);
    lg->n = 0;
    for (uint32_t i = 0; i < 3; i++)
        sim_net_send(n, id, 0, NET_LANE_BULK, frame_of(i, 4), 4, 300);
    sim_net_close(n, id, 0, 300);
    sim_net_send(n, id, 1, NET_LANE_CONTROL, frame_of(9, 4), 4, 300);
    run(n, 300, 1000, lg);
    CHECK(count(lg, SIM_EV_FRAME, 1) == 3, "what was sent before the close arrives");
    CHECK(lg->n == 4 && lg->ev[3].kind == SIM_EV_CLOSED && lg->ev[3].node == 1,
          "then the other end hears the close");
    CHECK(count(lg, SIM_EV_FRAME, 0) == 0 && count(lg, SIM_EV_CLOSED, 0) == 0,
          "the closing end hears nothing more");
    CHECK(sim_net_open_count(n) == 0, "no connection left");
    free(lg);
    sim_net_free(n);
    if (verbose_)
        printf("  close: data then EOF at the other end; nothing for the closing end\n");
}

/* Same seed and calls: the same events; another seed: other times. */
static uint64_t digest_run(uint64_t seed)
{
    sim_link_cfg c;
    sim_link_cfg_default(&c);
    c.jitter_ms = 100;
    c.retrans_pm = 100;
    c.dup_pm = 10;
    sim_net *n;
    CHECK(sim_net_new(&n, &c, 3, seed) == WEFT_OK, "new");
    for (int i = 0; i < 3; i++)
        sim_net_set_up(n, i, true, 0);
    evlog *lg = calloc(1, sizeof *lg);
    sim_net_dial(n, 0, 1, "b", 0);
    sim_net_dial(n, 2, 1, "b", 0);
    sim_net_dial(n, 2, 0, "a", 0);
    uint64_t h = 1469598103934665603ull;
    uint32_t conns[8];
    int ends[8];
    size_t nc = 0;
    for (uint64_t t = 0; t < 5000; t += 10) {
        size_t from = lg->n;
        run(n, t, t, lg);
        for (size_t i = from; i < lg->n; i++) {
            h = (h ^ (lg->ev[i].at * 31 + lg->ev[i].kind * 7 + (uint64_t)lg->ev[i].node)) *
                1099511628211ull;
            if (lg->ev[i].kind == SIM_EV_CONNECTED && nc < 8) {
                conns[nc] = lg->ev[i].conn;
                ends[nc++] = lg->ev[i].end;
            }
        }
        for (size_t k = 0; k < nc; k++)
            sim_net_send(n, conns[k], ends[k], (t / 10) % 2 ? NET_LANE_BULK : NET_LANE_CONTROL,
                         frame_of((uint32_t)t, 100), 100, t);
    }
    free(lg);
    sim_net_free(n);
    return h;
}

int sim_selftest(bool verbose)
{
    verbose_ = verbose;
    failures = 0;
    t_order_latency();
    t_lanes();
    t_partition();
    t_crash();
    t_faults();
    t_close();
    uint64_t a = digest_run(42), b = digest_run(42), d = digest_run(43);
    CHECK(a == b, "a seed replays the same events");
    CHECK(a != d, "another seed gives other events");
    if (verbose_)
        printf("  determinism: a seed replays the same events\n");
    printf("sim selftest: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
