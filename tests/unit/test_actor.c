/* Unit tests of src/actor: mailbox order from several senders, back-pressure (DROP refuses and
 * frees, BLOCK waits; blocked senders released at stop), request/reply with status, result,
 * timeout and a late reply freed, shutdown in reverse order after every queued message, restarts
 * that rebuild state from "storage", the restart budget and on_fatal, start failure rolled back in
 * reverse, sends to stopped actors; timers on the fake clock: exact deadlines, cancel, wall steps
 * back and jumps forward, order of many timers, a timer into a full mailbox delivered later in
 * order; quiescence (actor_system_idle) across a forward, due timers and a parked timer; one
 * smoke test on the real clock.
 *
 * Outcomes never depend on sleeps: timer tests use the fake clock and actor_timer_sync, and
 * "handled" is established with a ping request queued behind the messages (FIFO) or by polling
 * with a generous bound for asynchronous deliveries.  Handlers never call cmocka assertions (they
 * run on actor threads): they record, and the test thread asserts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor/actor.h"
#include "testutil.h"

/* ---- counted payloads ------------------------------------------------------------------------ */

static atomic_int frees;

static void cnt_free(void *p)
{
    atomic_fetch_add(&frees, 1);
    free(p);
}

static uint64_t *val(uint64_t v)
{
    uint64_t *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = v;
    return p;
}

/* Polls `cond(arg)` every millisecond for up to 20 s (asynchronous deliveries only). */
static bool wait_for(bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < 20000; i++) {
        if (cond(arg))
            return true;
        usleep(1000);
    }
    return cond(arg);
}

/* ---- a global event log (start/stop order across actors) ------------------------------------- */

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char ev_log[64][32];
static int ev_n;

static void ev(const char *what, const char *name)
{
    pthread_mutex_lock(&ev_mu);
    if (ev_n < 64)
        snprintf(ev_log[ev_n++], sizeof ev_log[0], "%s %s", what, name);
    pthread_mutex_unlock(&ev_mu);
}

static void ev_reset(void)
{
    pthread_mutex_lock(&ev_mu);
    ev_n = 0;
    pthread_mutex_unlock(&ev_mu);
}

static void ev_expect(const char *const *want, int n)
{
    pthread_mutex_lock(&ev_mu);
    int got = ev_n;
    pthread_mutex_unlock(&ev_mu);
    assert_int_equal(got, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(ev_log[i], want[i]);
}

/* ---- the test actor -------------------------------------------------------------------------- */

enum {
    K_REC = 1,  /* record *payload */
    K_GATE = 2, /* record, then wait until the gate opens */
    K_PING = 3, /* request: reply OK */
    K_INC = 4,  /* counter++, durable write to storage */
    K_GET = 5,  /* request: reply with the counter */
    K_FAIL = 6, /* return E_IO */
    K_ECHO = 7, /* request: reply status -*payload with a copy of the payload */
    K_SLOW = 8, /* request: wait for the gate, then reply with a counted result */
    K_FWD = 9,  /* record, forward a copy to `fwd` with BLOCK */
    K_TIMER = 10,
};

#define MAXSEEN 8192

typedef struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *name;
    uint32_t kind[MAXSEEN];
    uint64_t v[MAXSEEN];
    size_t n;
    bool gate_open, in_gate;
    int starts, stops;
    weft_err start_err;   /* returned by start */
    int fail_start_after; /* >0: starts beyond this many fail with E_IO */
    int *storage;         /* "durable" counter */
    int counter;          /* state rebuilt by start */
    actor_t *fwd;         /* K_FWD target */
    int fwd_errors;
    int bad;          /* anomalies seen on the actor thread */
    uint64_t last[8]; /* per-sender last sequence + 1 (FIFO test) */
} rec;

static void rec_init(rec *r, const char *name)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->name = name;
}

static void rec_destroy(rec *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

static size_t rec_n(rec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void gate_open(rec *r)
{
    pthread_mutex_lock(&r->mu);
    r->gate_open = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static bool in_gate(void *arg)
{
    rec *r = arg;
    pthread_mutex_lock(&r->mu);
    bool b = r->in_gate;
    pthread_mutex_unlock(&r->mu);
    return b;
}

static weft_err rec_start(void *ctx, actor_t *self)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->starts++;
    bool fail =
        r->start_err != WEFT_OK || (r->fail_start_after > 0 && r->starts > r->fail_start_after);
    r->counter = r->storage ? *r->storage : 0;
    pthread_mutex_unlock(&r->mu);
    ev(fail ? "startfail" : "start", r->name);
    return fail ? (r->start_err ? r->start_err : WEFT_E_IO) : WEFT_OK;
}

static void rec_stop(void *ctx, actor_t *self)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->stops++;
    r->counter = -1;
    pthread_mutex_unlock(&r->mu);
    ev("stop", r->name);
}

static void record(rec *r, uint32_t kind, uint64_t v)
{
    pthread_mutex_lock(&r->mu);
    if (r->n < MAXSEEN) {
        r->kind[r->n] = kind;
        r->v[r->n] = v;
        r->n++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static weft_err rec_handle(void *ctx, actor_t *self, actor_msg_t *m)
{
    rec *r = ctx;
    uint64_t v = m->payload ? *(uint64_t *)m->payload : 0;
    if (m->payload && m->free_fn)
        m->free_fn(m->payload);
    switch (m->kind) {
    case K_GATE:
        record(r, m->kind, v);
        pthread_mutex_lock(&r->mu);
        r->in_gate = true;
        while (!r->gate_open)
            pthread_cond_wait(&r->cv, &r->mu);
        r->in_gate = false;
        pthread_mutex_unlock(&r->mu);
        break;
    case K_PING:
        actor_reply(m->reply, WEFT_OK, NULL, NULL);
        break;
    case K_INC:
        pthread_mutex_lock(&r->mu);
        r->counter++;
        if (r->storage)
            *r->storage = r->counter;
        pthread_mutex_unlock(&r->mu);
        break;
    case K_GET: {
        pthread_mutex_lock(&r->mu);
        uint64_t c = (uint64_t)r->counter;
        pthread_mutex_unlock(&r->mu);
        actor_reply(m->reply, WEFT_OK, val(c), cnt_free);
        break;
    }
    case K_FAIL:
        return WEFT_E_IO;
    case K_ECHO:
        actor_reply(m->reply, (weft_err)(-(int64_t)v), val(v), cnt_free);
        break;
    case K_SLOW:
        pthread_mutex_lock(&r->mu);
        r->in_gate = true;
        while (!r->gate_open)
            pthread_cond_wait(&r->cv, &r->mu);
        r->in_gate = false;
        pthread_mutex_unlock(&r->mu);
        actor_reply(m->reply, WEFT_OK, val(v), cnt_free);
        break;
    case K_FWD:
        record(r, m->kind, v);
        if (actor_send(r->fwd, K_REC, val(v), cnt_free, ACTOR_SEND_BLOCK) != WEFT_OK) {
            pthread_mutex_lock(&r->mu);
            r->fwd_errors++;
            pthread_mutex_unlock(&r->mu);
        }
        break;
    default: /* K_REC, K_TIMER and per-sender sequences */
        if (m->kind >= 100 && m->kind < 108) {
            uint32_t s = m->kind - 100;
            pthread_mutex_lock(&r->mu);
            if (v != r->last[s])
                r->bad++;
            r->last[s] = v + 1;
            pthread_mutex_unlock(&r->mu);
        }
        record(r, m->kind, v);
        break;
    }
    return WEFT_OK;
}

static actor_t *add(actor_system_t *s, rec *r, size_t cap)
{
    actor_def d = {.name = r->name,
                   .mailbox_cap = cap,
                   .ctx = r,
                   .start = rec_start,
                   .handle = rec_handle,
                   .stop = rec_stop};
    actor_t *a = NULL;
    assert_int_equal(actor_system_add(s, &d, &a), WEFT_OK);
    assert_non_null(a);
    return a;
}

static void ping(actor_t *a)
{
    assert_int_equal(actor_call(a, K_PING, NULL, NULL, 0, NULL, NULL), 0);
}

static void send_ok(actor_t *a, uint32_t kind, uint64_t v)
{
    assert_int_equal(actor_send(a, kind, val(v), cnt_free, ACTOR_SEND_BLOCK), WEFT_OK);
}

static void *stopper(void *s)
{
    actor_system_stop(s);
    return NULL;
}

/* ---- mailboxes ------------------------------------------------------------------------------- */

typedef struct sender_arg {
    actor_t *to;
    uint32_t id;
    uint64_t n;
    actor_send_mode mode;
    weft_err last;
    atomic_bool done;
} sender_arg;

static void *sender_main(void *p)
{
    sender_arg *sa = p;
    sa->last = WEFT_OK;
    for (uint64_t i = 0; i < sa->n && sa->last == WEFT_OK; i++)
        sa->last = actor_send(sa->to, 100 + sa->id, val(i), cnt_free, sa->mode);
    atomic_store(&sa->done, true);
    return NULL;
}

static void test_fifo_from_several_senders(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "fifo");
    actor_t *a = add(s, &r, 8);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);
    enum { NS = 4, PER = 1500 };
    sender_arg sa[NS];
    pthread_t th[NS];
    for (uint32_t i = 0; i < NS; i++) {
        sa[i] = (sender_arg){.to = a, .id = i, .n = PER, .mode = ACTOR_SEND_BLOCK};
        assert_int_equal(pthread_create(&th[i], NULL, sender_main, &sa[i]), 0);
    }
    for (int i = 0; i < NS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sa[i].last, WEFT_OK);
    }
    ping(a);
    assert_int_equal(rec_n(&r), NS * PER);
    assert_int_equal(r.bad, 0);
    for (int i = 0; i < NS; i++)
        assert_int_equal(r.last[i], PER);
    assert_int_equal(atomic_load(&frees), NS * PER);
    actor_system_free(s);
    rec_destroy(&r);
}

static void test_backpressure(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "bp");
    actor_t *a = add(s, &r, 2);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    send_ok(a, K_GATE, 0);
    assert_true(wait_for(in_gate, &r)); /* the handler holds the gate: the mailbox is empty */
    send_ok(a, K_REC, 1);
    assert_int_equal(actor_send(a, K_REC, val(2), cnt_free, ACTOR_SEND_DROP), WEFT_OK);
    assert_int_equal(actor_mailbox_depth(a), 2);
    /* full: DROP refuses at once and frees */
    for (int i = 0; i < 5; i++)
        assert_int_equal(actor_send(a, K_REC, val(99), cnt_free, ACTOR_SEND_DROP), WEFT_E_BUSY);
    assert_int_equal(atomic_load(&frees), 1 + 5); /* the gate message's payload, the 5 refused */
    /* BLOCK waits for room */
    sender_arg sa = {.to = a, .id = 0, .n = 3, .mode = ACTOR_SEND_BLOCK};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &sa), 0);
    usleep(20000); /* cannot make the test pass wrongly: only shows a sender that did not wait */
    assert_false(atomic_load(&sa.done));
    assert_int_equal(actor_mailbox_depth(a), 2);
    gate_open(&r);
    pthread_join(th, NULL);
    assert_int_equal(sa.last, WEFT_OK);
    ping(a);
    assert_int_equal(rec_n(&r), 1 + 2 + 3);
    assert_int_equal(r.v[1], 1);
    assert_int_equal(r.v[2], 2);
    assert_int_equal(r.kind[3], 100);
    assert_int_equal(r.bad, 0);
    assert_int_equal(atomic_load(&frees), 1 + 5 + 2 + 3);
    actor_system_free(s);
    rec_destroy(&r);
}

/* ---- request/reply --------------------------------------------------------------------------- */

static void test_call_reply(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "call");
    int storage = 41;
    r.storage = &storage;
    actor_t *a = add(s, &r, 4);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    send_ok(a, K_INC, 0);
    void *res = NULL;
    actor_free_fn rf = NULL;
    assert_int_equal(actor_call(a, K_GET, NULL, NULL, 0, &res, &rf), WEFT_OK);
    assert_non_null(res);
    assert_int_equal(*(uint64_t *)res, 42);
    assert_ptr_equal(rf, cnt_free);
    rf(res);
    /* the handler's status comes back with the result */
    assert_int_equal(actor_call(a, K_ECHO, val(4), cnt_free, 1000, &res, &rf), WEFT_E_NOT_FOUND);
    assert_int_equal(*(uint64_t *)res, 4);
    rf(res);
    /* result not wanted: the runtime frees it */
    assert_int_equal(actor_call(a, K_GET, NULL, NULL, 0, NULL, NULL), WEFT_OK);
    assert_int_equal(atomic_load(&frees), 5); /* INC, ECHO in and out, GET out twice */
    actor_system_free(s);
    rec_destroy(&r);
}

static void test_call_timeout_late_reply(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "slow");
    actor_t *a = add(s, &r, 4);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    void *res = (void *)1;
    actor_free_fn rf = cnt_free;
    /* the handler waits for the gate, which opens only after the caller gave up */
    assert_int_equal(actor_call(a, K_SLOW, val(7), cnt_free, 30, &res, &rf), WEFT_E_TIMEOUT);
    assert_null(res);
    assert_null(rf);
    assert_true(wait_for(in_gate, &r));
    gate_open(&r);
    ping(a);                                  /* the late reply has been given */
    assert_int_equal(atomic_load(&frees), 2); /* the request payload and the late result */
    actor_system_free(s);
    rec_destroy(&r);
}

/* ---- supervision ----------------------------------------------------------------------------- */

static void test_shutdown_reverse_after_queued(void **state)
{
    (void)state;
    ev_reset();
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec ra, rb, rc;
    rec_init(&ra, "A");
    rec_init(&rb, "B");
    rec_init(&rc, "C");
    actor_t *a = add(s, &ra, 16);
    actor_t *b = add(s, &rb, 16);
    actor_t *c = add(s, &rc, 16);
    rc.fwd = b; /* C's final writes go through B, which stops after C */
    rb.fwd = a;
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    send_ok(c, K_GATE, 0);
    assert_true(wait_for(in_gate, &rc));
    for (uint64_t i = 1; i <= 10; i++)
        send_ok(c, K_FWD, i);
    for (uint64_t i = 1; i <= 5; i++)
        send_ok(a, K_REC, 100 + i);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, s), 0);
    /* once C's stop is requested, it refuses new messages, yet has 10 queued */
    for (int i = 0; i < 20000; i++) {
        weft_err e = actor_send(c, K_REC, val(0), cnt_free, ACTOR_SEND_DROP);
        if (e == WEFT_E_ACTOR_STOPPED)
            break;
        assert_true(e == WEFT_OK || e == WEFT_E_BUSY);
        usleep(1000);
    }
    assert_int_equal(actor_send(c, K_REC, val(0), cnt_free, ACTOR_SEND_DROP), WEFT_E_ACTOR_STOPPED);
    gate_open(&rc);
    pthread_join(th, NULL);

    /* C handled its 10 final writes (plus the probes accepted before the stop request), and B
     * received every one of them before it stopped; A handled its 5 */
    size_t fwd = 0;
    for (size_t i = 0; i < rc.n; i++)
        fwd += rc.kind[i] == K_FWD;
    assert_int_equal(fwd, 10);
    assert_int_equal(rc.fwd_errors, 0);
    assert_int_equal(rb.n, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(rb.v[i], i + 1);
    assert_int_equal(ra.n, 5);
    const char *want[] = {"start A", "start B", "start C", "stop C", "stop B", "stop A"};
    ev_expect(want, 6);
    assert_int_equal(actor_send(a, K_REC, val(0), cnt_free, ACTOR_SEND_BLOCK),
                     WEFT_E_ACTOR_STOPPED);
    actor_system_stop(s); /* idempotent */
    actor_system_free(s);
    rec_destroy(&ra);
    rec_destroy(&rb);
    rec_destroy(&rc);
}

static void test_restart_rebuilds_from_storage(void **state)
{
    (void)state;
    ev_reset();
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "counter");
    int storage = 0;
    r.storage = &storage;
    actor_t *a = add(s, &r, 8);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    for (int i = 0; i < 3; i++)
        send_ok(a, K_INC, 0);
    actor_inject_failure(a);
    send_ok(a, K_INC, 0); /* fails: not handled, payload freed by the runtime */
    void *res;
    actor_free_fn rf;
    assert_int_equal(actor_call(a, K_GET, NULL, NULL, 0, &res, &rf), WEFT_OK);
    assert_int_equal(*(uint64_t *)res, 3); /* reloaded from storage by start */
    rf(res);
    assert_int_equal(actor_restarts(a), 1);

    /* a request that fails by injection, and one whose handler fails */
    actor_inject_failure(a);
    assert_int_equal(actor_call(a, K_GET, NULL, NULL, 0, &res, &rf), WEFT_E_ACTOR_FAILED);
    assert_null(res);
    assert_int_equal(actor_call(a, K_FAIL, val(1), cnt_free, 0, NULL, NULL), WEFT_E_ACTOR_FAILED);
    ping(a); /* the answer comes before the restart: wait for it */
    assert_int_equal(actor_restarts(a), 3);
    send_ok(a, K_INC, 0);
    assert_int_equal(actor_call(a, K_GET, NULL, NULL, 0, &res, &rf), WEFT_OK);
    assert_int_equal(*(uint64_t *)res, 4);
    rf(res);
    assert_int_equal(r.starts, 4);
    assert_int_equal(r.stops, 3);
    actor_system_free(s);
    assert_int_equal(r.stops, 4);
    assert_int_equal(storage, 4);
    /* INC x5 payloads, 2 GET results, the FAIL payload */
    assert_int_equal(atomic_load(&frees), 5 + 2 + 1);
    rec_destroy(&r);
}

typedef struct fatal_rec {
    atomic_int calls;
    char name[32];
    weft_err err;
} fatal_rec;

static void on_fatal(void *ctx, const char *name, weft_err err)
{
    fatal_rec *f = ctx;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->err = err;
    atomic_fetch_add(&f->calls, 1);
}

static bool fatal_called(void *arg) { return atomic_load(&((fatal_rec *)arg)->calls) > 0; }

static void test_restart_budget(void **state)
{
    (void)state;
    actor_fake_clock_t *fc;
    assert_int_equal(actor_fake_clock_new(&fc, 0), WEFT_OK);
    fatal_rec fr = {0};
    actor_system_config cfg = {.clock = actor_fake_clock_base(fc),
                               .max_restarts = 3,
                               .restart_window_ms = 1000,
                               .on_fatal = on_fatal,
                               .on_fatal_ctx = &fr};
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, &cfg), WEFT_OK);
    rec r, other;
    rec_init(&r, "flaky");
    rec_init(&other, "other");
    actor_t *a = add(s, &r, 8);
    actor_t *o = add(s, &other, 8);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);

    /* three failures within the window: restarts */
    for (int i = 0; i < 3; i++)
        assert_int_equal(actor_call(a, K_FAIL, NULL, NULL, 0, NULL, NULL), WEFT_E_ACTOR_FAILED);
    ping(a);
    assert_int_equal(actor_restarts(a), 3);
    /* the window slides: after it, three more are allowed */
    actor_fake_clock_advance(fc, 1000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(actor_call(a, K_FAIL, NULL, NULL, 0, NULL, NULL), WEFT_E_ACTOR_FAILED);
    ping(a);
    assert_int_equal(actor_restarts(a), 6);
    assert_int_equal(atomic_load(&fr.calls), 0);
    /* the fourth within the window is fatal; messages queued behind it are freed */
    actor_fake_clock_advance(fc, 999);
    actor_inject_failure(a);
    assert_int_equal(actor_send(a, K_REC, val(1), cnt_free, ACTOR_SEND_BLOCK), WEFT_OK);
    weft_err e2 = actor_send(a, K_REC, val(2), cnt_free, ACTOR_SEND_BLOCK);
    assert_true(e2 == WEFT_OK || e2 == WEFT_E_ACTOR_STOPPED); /* before or after the fatal stop */
    assert_true(wait_for(fatal_called, &fr));
    assert_string_equal(fr.name, "flaky");
    assert_int_equal(fr.err, WEFT_E_ACTOR_FAILED);
    assert_int_equal(actor_send(a, K_REC, val(3), cnt_free, ACTOR_SEND_BLOCK),
                     WEFT_E_ACTOR_STOPPED);
    assert_int_equal(actor_call(a, K_PING, NULL, NULL, 0, NULL, NULL), WEFT_E_ACTOR_STOPPED);
    assert_int_equal(rec_n(&r), 0);
    assert_int_equal(actor_restarts(a), 6);
    ping(o); /* the other actor goes on */
    actor_system_free(s);
    assert_int_equal(atomic_load(&fr.calls), 1);
    assert_int_equal(r.starts, 7);
    assert_int_equal(r.stops, 7); /* the state was released once per start */
    assert_int_equal(atomic_load(&frees), 3);
    actor_fake_clock_free(fc);
    rec_destroy(&r);
    rec_destroy(&other);
}

static void test_failing_restart_counts(void **state)
{
    (void)state;
    actor_fake_clock_t *fc;
    assert_int_equal(actor_fake_clock_new(&fc, 0), WEFT_OK);
    fatal_rec fr = {0};
    actor_system_config cfg = {.clock = actor_fake_clock_base(fc),
                               .max_restarts = 4,
                               .on_fatal = on_fatal,
                               .on_fatal_ctx = &fr};
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, &cfg), WEFT_OK);
    rec r;
    rec_init(&r, "nostart");
    r.fail_start_after = 1; /* the first start succeeds, every restart fails */
    actor_t *a = add(s, &r, 8);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    actor_inject_failure(a);
    assert_int_equal(actor_call(a, K_PING, NULL, NULL, 0, NULL, NULL), WEFT_E_ACTOR_FAILED);
    assert_true(wait_for(fatal_called, &fr));
    assert_int_equal(fr.err, WEFT_E_IO); /* the last failure: the start's */
    assert_int_equal(actor_restarts(a), 4);
    actor_system_free(s);
    assert_int_equal(atomic_load(&fr.calls), 1);
    assert_int_equal(r.starts, 1 + 4);
    assert_int_equal(r.stops, 1); /* only the state that was built */
    actor_fake_clock_free(fc);
    rec_destroy(&r);
}

static void test_start_failure_rolls_back(void **state)
{
    (void)state;
    ev_reset();
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec ra, rb, rc, rd;
    rec_init(&ra, "A");
    rec_init(&rb, "B");
    rec_init(&rc, "C");
    rec_init(&rd, "D");
    rc.start_err = WEFT_E_CORRUPT;
    actor_t *a = add(s, &ra, 4);
    add(s, &rb, 4);
    add(s, &rc, 4);
    actor_t *d = add(s, &rd, 4);
    atomic_store(&frees, 0);
    send_ok(a, K_REC, 1); /* queued before start: handled after A's start */
    send_ok(d, K_REC, 2); /* D never starts: freed */
    send_ok(d, K_REC, 3);
    assert_int_equal(actor_system_start(s), WEFT_E_CORRUPT);
    const char *want[] = {"start A", "start B", "startfail C", "stop B", "stop A"};
    ev_expect(want, 5);
    assert_int_equal(ra.n, 1);
    assert_int_equal(rd.n, 0);
    assert_int_equal(atomic_load(&frees), 3);
    assert_int_equal(actor_send(d, K_REC, val(4), cnt_free, ACTOR_SEND_BLOCK),
                     WEFT_E_ACTOR_STOPPED);
    assert_int_equal(atomic_load(&frees), 4);
    actor_system_free(s);
    assert_int_equal(rc.stops, 0);
    assert_int_equal(rd.starts, 0);
    rec_destroy(&ra);
    rec_destroy(&rb);
    rec_destroy(&rc);
    rec_destroy(&rd);
}

static void test_blocked_sender_released_at_stop(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "full");
    actor_t *a = add(s, &r, 1);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);
    send_ok(a, K_GATE, 0);
    assert_true(wait_for(in_gate, &r));
    send_ok(a, K_REC, 1); /* the mailbox is full */
    sender_arg sa = {.to = a, .id = 0, .n = 1, .mode = ACTOR_SEND_BLOCK};
    pthread_t th, st;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &sa), 0);
    assert_int_equal(pthread_create(&st, NULL, stopper, s), 0);
    pthread_join(th, NULL); /* released by the stop request while the handler still waits */
    assert_int_equal(sa.last, WEFT_E_ACTOR_STOPPED);
    gate_open(&r);
    pthread_join(st, NULL);
    assert_int_equal(rec_n(&r), 2); /* the queued message was still handled */
    assert_int_equal(atomic_load(&frees), 3);
    assert_int_equal(actor_call(a, K_PING, NULL, NULL, 0, NULL, NULL), WEFT_E_ACTOR_STOPPED);
    actor_system_free(s);
    rec_destroy(&r);
}

static void test_bad_definitions(void **state)
{
    (void)state;
    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "bad");
    actor_def d = {.name = "bad",
                   .mailbox_cap = 0,
                   .ctx = &r,
                   .start = rec_start,
                   .handle = rec_handle,
                   .stop = rec_stop};
    actor_t *a = (actor_t *)1;
    assert_int_equal(actor_system_add(s, &d, &a), WEFT_E_INVAL);
    assert_null(a);
    d.mailbox_cap = 1;
    d.handle = NULL;
    assert_int_equal(actor_system_add(s, &d, NULL), WEFT_E_INVAL);
    /* a long name is kept whole (thread names are cut to 15 characters) */
    d.handle = rec_handle;
    d.name = "a-rather-long-actor-name";
    assert_int_equal(actor_system_add(s, &d, &a), WEFT_OK);
    assert_string_equal(actor_name(a), "a-rather-long-actor-name");
    assert_int_equal(actor_system_start(s), WEFT_OK);
    ping(a);
    actor_system_free(s);
    rec_destroy(&r);
}

/* ---- timers on the fake clock ---------------------------------------------------------------- */

#define WALL0 1700000000000ull

typedef struct tfix {
    actor_fake_clock_t *fc;
    actor_system_t *s;
    rec r, x;
    actor_t *a, *b;
} tfix;

static tfix *tfix_new(size_t cap)
{
    tfix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(actor_fake_clock_new(&f->fc, WALL0), WEFT_OK);
    actor_system_config cfg = {.clock = actor_fake_clock_base(f->fc)};
    assert_int_equal(actor_system_new(&f->s, &cfg), WEFT_OK);
    assert_ptr_equal(actor_system_clock(f->s), actor_fake_clock_base(f->fc));
    rec_init(&f->r, "timed");
    rec_init(&f->x, "other");
    f->a = add(f->s, &f->r, cap);
    f->b = add(f->s, &f->x, 16);
    assert_int_equal(actor_system_start(f->s), WEFT_OK);
    atomic_store(&frees, 0);
    return f;
}

static void tfix_free(tfix *f)
{
    actor_system_free(f->s);
    actor_fake_clock_free(f->fc);
    rec_destroy(&f->r);
    rec_destroy(&f->x);
    free(f);
}

/* Moves the fake clock and returns how many messages the actor has handled once every timer due
 * by then was delivered. */
static size_t advance(tfix *f, uint64_t ms)
{
    actor_fake_clock_advance(f->fc, ms);
    actor_timer_sync(f->s);
    ping(f->a);
    return rec_n(&f->r);
}

static size_t step_wall(tfix *f, int64_t ms)
{
    actor_fake_clock_step_wall(f->fc, ms);
    actor_timer_sync(f->s);
    ping(f->a);
    return rec_n(&f->r);
}

static void test_timer_after_exact(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    assert_int_not_equal(actor_timer_after(f->s, f->a, 100, K_TIMER, val(1), cnt_free), 0);
    assert_int_equal(advance(f, 0), 0);
    assert_int_equal(advance(f, 99), 0);
    assert_int_equal(advance(f, 1), 1);
    assert_int_equal(f->r.kind[0], K_TIMER);
    assert_int_equal(f->r.v[0], 1);
    assert_int_equal(advance(f, 1000), 1);
    /* zero delay: at once */
    assert_int_not_equal(actor_timer_after(f->s, f->a, 0, K_TIMER, val(2), cnt_free), 0);
    assert_int_equal(advance(f, 0), 2);
    tfix_free(f);
    assert_int_equal(atomic_load(&frees), 2);
}

static void test_timer_at_wall_exact(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 + 500, K_TIMER, val(1), cnt_free),
                         0);
    assert_int_equal(advance(f, 499), 0);
    assert_int_equal(advance(f, 1), 1);
    /* in the past: at once */
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 - 5, K_TIMER, val(2), cnt_free), 0);
    assert_int_equal(advance(f, 0), 2);
    tfix_free(f);
}

static void test_timer_cancel(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    actor_timer_id t1 = actor_timer_after(f->s, f->a, 100, K_TIMER, val(1), cnt_free);
    actor_timer_id t2 = actor_timer_at_wall(f->s, f->a, WALL0 + 100, K_TIMER, val(2), cnt_free);
    actor_timer_id t3 = actor_timer_after(f->s, f->a, 100, K_TIMER, val(3), cnt_free);
    assert_true(t1 && t2 && t3 && t1 != t2 && t2 != t3);
    assert_true(actor_timer_cancel(f->s, t1));
    assert_true(actor_timer_cancel(f->s, t2));
    assert_int_equal(atomic_load(&frees), 2);
    assert_false(actor_timer_cancel(f->s, t1));
    assert_false(actor_timer_cancel(f->s, 12345));
    assert_int_equal(advance(f, 200), 1);
    assert_int_equal(f->r.v[0], 3);
    assert_false(actor_timer_cancel(f->s, t3)); /* delivered */
    tfix_free(f);
    assert_int_equal(atomic_load(&frees), 3);
}

static void test_wall_step_back_never_early(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 + 1000, K_TIMER, val(1), cnt_free),
                         0);
    assert_int_equal(step_wall(f, -500), 0);
    /* the converted mono deadline passes; the wall clock says 500 ms early */
    assert_int_equal(advance(f, 1000), 0);
    assert_int_equal(advance(f, 499), 0);
    assert_int_equal(advance(f, 1), 1);
    /* two steps back while pending */
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 + 2000, K_TIMER, val(2), cnt_free),
                         0); /* wall is now WALL0+1000 */
    assert_int_equal(advance(f, 600), 1);
    assert_int_equal(step_wall(f, -300), 1);
    assert_int_equal(advance(f, 400), 1);
    assert_int_equal(step_wall(f, -100), 1);
    assert_int_equal(advance(f, 399), 1);
    assert_int_equal(advance(f, 1), 2);
    tfix_free(f);
}

static void test_wall_jump_forward_bounded(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 + 10000, K_TIMER, val(1), cnt_free),
                         0);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->a, WALL0 + 20000, K_TIMER, val(2), cnt_free),
                         0);
    assert_int_not_equal(actor_timer_after(f->s, f->a, 10000, K_TIMER, val(3), cnt_free), 0);
    /* a jump that does not reach the deadline: fires when the wall clock gets there */
    assert_int_equal(step_wall(f, 4000), 0);
    assert_int_equal(advance(f, 5999), 0);
    assert_int_equal(advance(f, 1), 1);
    assert_int_equal(f->r.v[0], 1);
    /* a jump past the deadline: fires without the monotonic clock moving */
    assert_int_equal(step_wall(f, 60000), 2);
    assert_int_equal(f->r.v[1], 2);
    /* the monotonic timer is not moved by wall jumps */
    assert_int_equal(advance(f, 3999), 2);
    assert_int_equal(advance(f, 1), 3);
    tfix_free(f);
}

static void test_many_timers_in_order(void **state)
{
    (void)state;
    tfix *f = tfix_new(512);
    test_rng rng;
    test_rng_init(&rng, test_seed());
    enum { N = 400 };
    uint64_t dl[N];
    for (uint64_t i = 0; i < N; i++) {
        dl[i] = test_rng_below(&rng, 50) * 10; /* many equal deadlines */
        if (i % 3 == 0)
            assert_int_not_equal(
                actor_timer_at_wall(f->s, f->a, WALL0 + dl[i], K_TIMER, val(i), cnt_free), 0);
        else
            assert_int_not_equal(actor_timer_after(f->s, f->a, dl[i], K_TIMER, val(i), cnt_free),
                                 0);
    }
    size_t before = 0;
    for (uint64_t t = 0; t <= 500; t += 7) {
        size_t now = advance(f, t == 0 ? 0 : 7);
        /* exactly the timers with deadline <= t have fired */
        size_t want = 0;
        for (int i = 0; i < N; i++)
            want += dl[i] <= t;
        assert_int_equal(now, want);
        assert_true(now >= before);
        before = now;
    }
    assert_int_equal(rec_n(&f->r), N);
    for (size_t k = 1; k < N; k++) {
        uint64_t p = f->r.v[k - 1], q = f->r.v[k];
        assert_true(dl[p] < dl[q] || (dl[p] == dl[q] && p < q));
    }
    tfix_free(f);
    assert_int_equal(atomic_load(&frees), N);
}

static bool handled5(void *arg) { return rec_n(arg) >= 5; }

static void test_timer_into_full_mailbox(void **state)
{
    (void)state;
    tfix *f = tfix_new(2);
    send_ok(f->a, K_GATE, 0);
    assert_true(wait_for(in_gate, &f->r));
    send_ok(f->a, K_REC, 1);
    send_ok(f->a, K_REC, 2); /* full */
    assert_int_not_equal(actor_timer_after(f->s, f->a, 10, K_TIMER, val(3), cnt_free), 0);
    assert_int_not_equal(actor_timer_after(f->s, f->a, 20, K_TIMER, val(4), cnt_free), 0);
    assert_int_not_equal(actor_timer_after(f->s, f->b, 15, K_TIMER, val(5), cnt_free), 0);
    actor_fake_clock_advance(f->fc, 30);
    actor_timer_sync(f->s);
    /* the other actor got its timer although the first one's mailbox is full */
    ping(f->b);
    assert_int_equal(rec_n(&f->x), 1);
    assert_int_equal(f->x.v[0], 5);
    assert_int_equal(actor_mailbox_depth(f->a), 2);
    /* room: the parked timers follow, in order */
    gate_open(&f->r);
    assert_true(wait_for(handled5, &f->r));
    ping(f->a);
    assert_int_equal(rec_n(&f->r), 5);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(f->r.v[i], i);
    assert_int_equal(f->r.kind[3], K_TIMER);
    assert_int_equal(f->r.kind[4], K_TIMER);
    tfix_free(f);
}

static void test_timers_pending_at_stop_freed(void **state)
{
    (void)state;
    tfix *f = tfix_new(2);
    assert_int_not_equal(actor_timer_after(f->s, f->a, 100, K_TIMER, val(1), cnt_free), 0);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->b, WALL0 + 100, K_TIMER, val(2), cnt_free),
                         0);
    actor_system_stop(f->s);
    assert_int_equal(atomic_load(&frees), 2);
    /* no timers once stopped */
    assert_int_equal(actor_timer_after(f->s, f->a, 1, K_TIMER, val(3), cnt_free), 0);
    assert_int_equal(atomic_load(&frees), 3);
    tfix_free(f);
}

/* ---- quiescence ------------------------------------------------------------------------------ */

static bool sys_idle(void *arg) { return actor_system_idle(arg); }

/* actor_system_idle: false while a handler runs or a message waits, including a message forwarded
 * from one actor to another and a timer due but not yet delivered; true once all is handled. */
static void test_system_idle(void **state)
{
    (void)state;
    tfix *f = tfix_new(16);
    f->r.fwd = f->b;
    assert_true(wait_for(sys_idle, f->s)); /* after start */
    /* a handler blocked in the gate, then a forward queued behind it */
    send_ok(f->a, K_GATE, 0);
    send_ok(f->a, K_FWD, 7);
    assert_true(wait_for(in_gate, &f->r));
    assert_false(actor_system_idle(f->s));
    gate_open(&f->r);
    assert_true(wait_for(sys_idle, f->s));
    /* idle implies the forwarded message was handled by the second actor */
    assert_int_equal(rec_n(&f->x), 1);
    assert_int_equal(f->x.v[0], 7);
    assert_int_equal(rec_n(&f->r), 2);

    /* a timer not due yet leaves the system idle; due, it does not until handled */
    assert_int_not_equal(actor_timer_after(f->s, f->b, 50, K_TIMER, val(8), cnt_free), 0);
    assert_int_not_equal(actor_timer_at_wall(f->s, f->b, WALL0 + 80, K_TIMER, val(9), cnt_free), 0);
    assert_true(actor_system_idle(f->s));
    actor_fake_clock_advance(f->fc, 50);
    assert_true(wait_for(sys_idle, f->s)); /* no sync needed: a due timer counts as work */
    assert_int_equal(rec_n(&f->x), 2);
    assert_int_equal(f->x.v[1], 8);
    /* a wall jump makes the wall timer due although its monotonic deadline is ahead */
    actor_fake_clock_step_wall(f->fc, 100);
    assert_true(wait_for(sys_idle, f->s));
    assert_int_equal(rec_n(&f->x), 3);
    assert_int_equal(f->x.v[2], 9);

    /* a timer parked on a full mailbox counts as work */
    tfix_free(f);
    f = tfix_new(1);
    send_ok(f->a, K_GATE, 0);
    assert_true(wait_for(in_gate, &f->r));
    send_ok(f->a, K_REC, 1); /* full */
    assert_int_not_equal(actor_timer_after(f->s, f->a, 0, K_TIMER, val(2), cnt_free), 0);
    actor_timer_sync(f->s);
    assert_false(actor_system_idle(f->s));
    gate_open(&f->r);
    assert_true(wait_for(sys_idle, f->s));
    assert_int_equal(rec_n(&f->r), 3);
    assert_int_equal(f->r.kind[2], K_TIMER);
    tfix_free(f);
}

/* ---- the real clock -------------------------------------------------------------------------- */

static bool handled1(void *arg) { return rec_n(arg) >= 1; }

static void test_real_clock_smoke(void **state)
{
    (void)state;
    actor_clock_t *c = actor_clock_system();
    uint64_t m0 = c->vt->mono_ms(c);
    assert_true(c->vt->wall_ms(c) > WALL0);
    c->vt->wait_until(c, m0 + 5);
    assert_true(c->vt->mono_ms(c) >= m0 + 5);
    c->vt->wait_until(c, 0); /* in the past: returns */

    actor_system_t *s;
    assert_int_equal(actor_system_new(&s, NULL), WEFT_OK);
    rec r;
    rec_init(&r, "real");
    actor_t *a = add(s, &r, 4);
    assert_int_equal(actor_system_start(s), WEFT_OK);
    atomic_store(&frees, 0);
    uint64_t t0 = c->vt->mono_ms(c);
    assert_int_not_equal(actor_timer_after(s, a, 20, K_TIMER, val(1), cnt_free), 0);
    assert_int_not_equal(actor_timer_after(s, a, 60000, K_TIMER, val(2), cnt_free), 0);
    assert_true(wait_for(handled1, &r));
    assert_true(c->vt->mono_ms(c) >= t0 + 20); /* never early */
    actor_system_free(s);
    assert_int_equal(atomic_load(&frees), 2);
    rec_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_from_several_senders),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_call_reply),
        cmocka_unit_test(test_call_timeout_late_reply),
        cmocka_unit_test(test_shutdown_reverse_after_queued),
        cmocka_unit_test(test_restart_rebuilds_from_storage),
        cmocka_unit_test(test_restart_budget),
        cmocka_unit_test(test_failing_restart_counts),
        cmocka_unit_test(test_start_failure_rolls_back),
        cmocka_unit_test(test_blocked_sender_released_at_stop),
        cmocka_unit_test(test_bad_definitions),
        cmocka_unit_test(test_timer_after_exact),
        cmocka_unit_test(test_timer_at_wall_exact),
        cmocka_unit_test(test_timer_cancel),
        cmocka_unit_test(test_wall_step_back_never_early),
        cmocka_unit_test(test_wall_jump_forward_bounded),
        cmocka_unit_test(test_many_timers_in_order),
        cmocka_unit_test(test_timer_into_full_mailbox),
        cmocka_unit_test(test_timers_pending_at_stop_freed),
        cmocka_unit_test(test_system_idle),
        cmocka_unit_test(test_real_clock_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
