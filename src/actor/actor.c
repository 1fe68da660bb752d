/* actor.c — actors, their mailboxes, request/reply and the supervisor (see actor.h and
 * docs/actors.md).
 *
 * Each actor has one mutex guarding its mailbox (a ring of `cap` messages) and its state, three
 * condition variables (the worker waits for messages, blocked senders for room, the controlling
 * thread for start and exit), and one worker thread that runs start, then handles messages one
 * at a time until a stop request finds the mailbox empty, then runs stop.
 *
 * A reply slot is reference-counted: the caller of actor_call holds one reference, the request
 * (the "answer right") another, consumed by the one answer; the worker holds a third while the
 * handler runs so that it can answer E_ACTOR_FAILED for a handler that failed without answering.
 * A caller that times out marks the slot abandoned and drops its reference: a later answer frees
 * its result payload, and the last reference frees the slot.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "actor/actor_internal.h"

#define DEFAULT_MAX_RESTARTS 5u
#define DEFAULT_RESTART_WINDOW_MS 60000u

/* ---- reply slots ----------------------------------------------------------------------------- */

struct actor_reply {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: actor_call's timeout is real time */
    int refs;
    bool answered;  /* actor_reply (or the runtime) gave the answer */
    bool abandoned; /* the caller timed out: a late result is freed */
    weft_err status;
    void *result;
    actor_free_fn result_free;
};

static actor_reply_t *reply_new(void)
{
    actor_reply_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    WEFT_ASSERT(pthread_mutex_init(&r->mu, NULL) == 0);
    actor_cond_init_mono(&r->cv);
    r->refs = 2; /* the caller and the answer right */
    return r;
}

static void reply_ref(actor_reply_t *r)
{
    pthread_mutex_lock(&r->mu);
    r->refs++;
    pthread_mutex_unlock(&r->mu);
}

static void reply_free(actor_reply_t *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void reply_unref(actor_reply_t *r)
{
    pthread_mutex_lock(&r->mu);
    WEFT_ASSERT(r->refs > 0);
    int left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (left == 0)
        reply_free(r);
}

/* Gives the answer and consumes the answer right; a second answer is misuse. */
static void reply_answer(actor_reply_t *r, weft_err status, void *result, actor_free_fn rfree)
{
    pthread_mutex_lock(&r->mu);
    if (r->answered) {
        pthread_mutex_unlock(&r->mu);
        WEFT_MISUSE(!"actor_reply called twice for one request");
    }
    r->answered = true;
    bool drop = r->abandoned;
    if (!drop) {
        r->status = status;
        r->result = result;
        r->result_free = rfree;
        pthread_cond_broadcast(&r->cv);
    }
    WEFT_ASSERT(r->refs > 0);
    int left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (drop && result && rfree)
        rfree(result);
    if (left == 0)
        reply_free(r);
}

/* After the handler ran: the runtime's fallback answer for a failed handler (if it did not answer),
 * and the runtime's reference dropped, in one step. */
static void reply_after_handle(actor_reply_t *r, bool failed)
{
    pthread_mutex_lock(&r->mu);
    if (failed && !r->answered) {
        r->answered = true;
        if (!r->abandoned) {
            r->status = WEFT_E_ACTOR_FAILED;
            pthread_cond_broadcast(&r->cv);
        }
        r->refs--; /* the answer right */
    }
    WEFT_ASSERT(r->refs > 0);
    int left = --r->refs; /* the runtime's */
    pthread_mutex_unlock(&r->mu);
    if (left == 0)
        reply_free(r);
}

void actor_reply(actor_reply_t *r, weft_err status, void *result, actor_free_fn result_free)
{
    WEFT_MISUSE(r != NULL);
    reply_answer(r, status, result, result_free);
}

/* A message that will never reach a handler: free its payload, answer its request. */
static void msg_discard(actor_msg_t *m, weft_err status)
{
    if (m->payload && m->free_fn)
        m->free_fn(m->payload);
    if (m->reply)
        reply_answer(m->reply, status, NULL, NULL);
}

/* ---- mailboxes ------------------------------------------------------------------------------- */

static bool on_own_thread(actor_t *a) /* a->mu held */
{
    return a->thread_created && pthread_equal(pthread_self(), a->thread);
}

static void ring_push(actor_t *a, const actor_msg_t *m) /* a->mu held, room checked */
{
    a->ring[(a->head + a->count) % a->cap] = *m;
    a->count++;
    atomic_fetch_add(&a->sys->activity, 1);
    pthread_cond_signal(&a->cv);
}

static actor_msg_t ring_pop(actor_t *a) /* a->mu held, count > 0 */
{
    actor_msg_t m = a->ring[a->head];
    a->head = (a->head + 1) % a->cap;
    a->count--;
    pthread_cond_broadcast(&a->room);
    return m;
}

static weft_err enqueue(actor_t *a, const actor_msg_t *m, actor_send_mode mode)
{
    pthread_mutex_lock(&a->mu);
    bool self = on_own_thread(a);
    for (;;) {
        if (!a->accepting) {
            pthread_mutex_unlock(&a->mu);
            return WEFT_E_ACTOR_STOPPED;
        }
        if (a->count < a->cap)
            break;
        /* waiting on one's own mailbox would never end: refuse as if DROP */
        if (mode == ACTOR_SEND_DROP || self) {
            pthread_mutex_unlock(&a->mu);
            return WEFT_E_BUSY;
        }
        pthread_cond_wait(&a->room, &a->mu);
    }
    ring_push(a, m);
    pthread_mutex_unlock(&a->mu);
    return WEFT_OK;
}

actor_enq actor_try_enqueue(actor_t *a, uint32_t kind, void *payload, actor_free_fn free_fn)
{
    actor_msg_t m = {.kind = kind, .payload = payload, .free_fn = free_fn};
    pthread_mutex_lock(&a->mu);
    actor_enq r = ACTOR_ENQ_OK;
    if (!a->accepting) {
        r = ACTOR_ENQ_STOPPED;
    } else if (a->count == a->cap) {
        a->timer_waiting = true;
        r = ACTOR_ENQ_FULL;
    } else {
        ring_push(a, &m);
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

/* Closes the mailbox (new messages and blocked senders get E_ACTOR_STOPPED) and discards what it
 * holds.  Called without a->mu. */
static void mailbox_close(actor_t *a)
{
    pthread_mutex_lock(&a->mu);
    a->accepting = false;
    a->state = ACTOR_STOPPED;
    pthread_cond_broadcast(&a->room);
    while (a->count > 0) {
        actor_msg_t m = ring_pop(a);
        pthread_mutex_unlock(&a->mu);
        msg_discard(&m, WEFT_E_ACTOR_STOPPED);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
}

weft_err actor_send(actor_t *to, uint32_t kind, void *payload, actor_free_fn free_fn,
                    actor_send_mode mode)
{
    WEFT_MISUSE(to != NULL);
    WEFT_MISUSE(mode == ACTOR_SEND_BLOCK || mode == ACTOR_SEND_DROP);
    actor_msg_t m = {.kind = kind, .payload = payload, .free_fn = free_fn};
    weft_err err = enqueue(to, &m, mode);
    if (err != WEFT_OK && payload && free_fn)
        free_fn(payload);
    return err;
}

weft_err actor_call(actor_t *to, uint32_t kind, void *payload, actor_free_fn free_fn,
                    uint64_t timeout_ms, void **result, actor_free_fn *result_free)
{
    WEFT_MISUSE(to != NULL);
    if (result)
        *result = NULL;
    if (result_free)
        *result_free = NULL;
    pthread_mutex_lock(&to->mu);
    bool self = on_own_thread(to);
    pthread_mutex_unlock(&to->mu);
    WEFT_MISUSE(!self); /* a call to oneself would wait for ever */

    actor_reply_t *r = reply_new();
    if (!r) {
        if (payload && free_fn)
            free_fn(payload);
        return WEFT_E_NOMEM;
    }
    actor_msg_t m = {.kind = kind, .payload = payload, .free_fn = free_fn, .reply = r};
    weft_err err = enqueue(to, &m, ACTOR_SEND_BLOCK);
    if (err != WEFT_OK) {
        if (payload && free_fn)
            free_fn(payload);
        reply_free(r); /* both references are ours: the request never left */
        return err;
    }

    struct timespec until = actor_mono_after(timeout_ms);
    pthread_mutex_lock(&r->mu);
    while (!r->answered) {
        if (timeout_ms == 0) {
            pthread_cond_wait(&r->cv, &r->mu);
        } else if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0 && !r->answered) {
            r->abandoned = true;
            break;
        }
    }
    void *res = NULL;
    actor_free_fn rfree = NULL;
    if (r->answered) {
        err = r->status;
        res = r->result;
        rfree = r->result_free;
    } else {
        err = WEFT_E_TIMEOUT;
    }
    pthread_mutex_unlock(&r->mu);
    reply_unref(r);

    if (result) {
        *result = res;
        if (result_free)
            *result_free = rfree;
    } else if (res && rfree) {
        rfree(res);
    }
    return err;
}

void actor_inject_failure(actor_t *a)
{
    WEFT_MISUSE(a != NULL);
    pthread_mutex_lock(&a->mu);
    a->inject = true;
    pthread_mutex_unlock(&a->mu);
}

const char *actor_name(const actor_t *a)
{
    WEFT_MISUSE(a != NULL);
    return a->name;
}

size_t actor_mailbox_depth(actor_t *a)
{
    WEFT_MISUSE(a != NULL);
    pthread_mutex_lock(&a->mu);
    size_t n = a->count;
    pthread_mutex_unlock(&a->mu);
    return n;
}

uint64_t actor_restarts(actor_t *a)
{
    WEFT_MISUSE(a != NULL);
    pthread_mutex_lock(&a->mu);
    uint64_t n = a->restarts;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* ---- supervision ----------------------------------------------------------------------------- */

/* True if one more restart at `now` would make more than max_restarts within the window. */
static bool budget_spent(actor_t *a, uint64_t now) /* a->mu held */
{
    actor_system_t *s = a->sys;
    if (a->restart_n < s->max_restarts)
        return false;
    uint64_t oldest = a->restart_at[a->restart_head];
    return now < oldest || now - oldest < s->restart_window_ms;
}

static void budget_record(actor_t *a, uint64_t now) /* a->mu held */
{
    actor_system_t *s = a->sys;
    a->restart_at[a->restart_head] = now;
    a->restart_head = (a->restart_head + 1) % s->max_restarts;
    if (a->restart_n < s->max_restarts)
        a->restart_n++;
    a->restarts++;
}

/* The actor failed with `err`: restart it (stop if its state is built, start again; a failing
 * start counts as one more failure) within the budget.  Returns false when the budget is spent:
 * the state has been released and the caller must stop the actor as fatal. */
static bool actor_recover(actor_t *a, weft_err *err, bool *built)
{
    actor_system_t *s = a->sys;
    for (;;) {
        uint64_t now = s->clock->vt->mono_ms(s->clock);
        pthread_mutex_lock(&a->mu);
        bool spent = budget_spent(a, now);
        if (!spent)
            budget_record(a, now);
        uint64_t n = a->restarts;
        pthread_mutex_unlock(&a->mu);
        if (*built) {
            a->def.stop(a->def.ctx, a);
            *built = false;
        }
        if (spent)
            return false;
        log_warn("actor", "restarting after a failure", "actor=%s err=%s restarts=%" PRIu64,
                 a->name, weft_err_name(*err), n);
        weft_err e = a->def.start(a->def.ctx, a);
        if (e == WEFT_OK) {
            *built = true;
            return true;
        }
        *err = e;
    }
}

static void actor_fatal(actor_t *a, weft_err err)
{
    actor_system_t *s = a->sys;
    log_error("actor", "restart budget spent: actor stopped", "actor=%s err=%s restarts=%" PRIu64,
              a->name, weft_err_name(err), actor_restarts(a));
    mailbox_close(a);
    if (s->on_fatal)
        s->on_fatal(s->on_fatal_ctx, a->name, err);
}

static void *actor_main(void *arg)
{
    actor_t *a = arg;
    actor_system_t *s = a->sys;
    actor_set_thread_name(a->name);

    weft_err err = a->def.start(a->def.ctx, a);
    pthread_mutex_lock(&a->mu);
    a->start_done = true;
    a->start_err = err;
    pthread_cond_broadcast(&a->ctl);
    pthread_mutex_unlock(&a->mu);
    bool built = err == WEFT_OK;

    while (built) {
        pthread_mutex_lock(&a->mu);
        while (a->count == 0 && !a->stop_req)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->count == 0) { /* stop requested and every earlier message handled */
            pthread_mutex_unlock(&a->mu);
            break;
        }
        actor_msg_t m = ring_pop(a);
        a->handling = true;
        bool inject = a->inject;
        a->inject = false;
        bool kick = a->timer_waiting;
        a->timer_waiting = false;
        pthread_mutex_unlock(&a->mu);
        if (kick)
            actor_timers_kick(s);

        weft_err herr;
        if (inject) {
            msg_discard(&m, WEFT_E_ACTOR_FAILED);
            herr = WEFT_E_ACTOR_FAILED;
        } else {
            actor_reply_t *r = m.reply;
            if (r)
                reply_ref(r);
            herr = a->def.handle(a->def.ctx, a, &m);
            if (r)
                reply_after_handle(r, herr != WEFT_OK);
        }
        bool fatal = herr != WEFT_OK && !actor_recover(a, &herr, &built);
        if (fatal)
            actor_fatal(a, herr);
        pthread_mutex_lock(&a->mu);
        a->handling = false;
        pthread_mutex_unlock(&a->mu);
        if (fatal)
            break;
    }
    if (built)
        a->def.stop(a->def.ctx, a);
    mailbox_close(a); /* start failed, or stopped: refuse from now on (already empty if stopped) */
    pthread_mutex_lock(&a->mu);
    a->exited = true;
    pthread_cond_broadcast(&a->ctl);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Stops one actor: a running one finishes its mailbox and runs stop; a never-started one has its
 * mailbox discarded.  Joins the thread. */
static void actor_stop_one(actor_t *a)
{
    pthread_mutex_lock(&a->mu);
    bool created = a->thread_created;
    if (created) {
        a->stop_req = true;
        a->accepting = false;
        pthread_cond_broadcast(&a->cv);
        pthread_cond_broadcast(&a->room);
        while (!a->exited)
            pthread_cond_wait(&a->ctl, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    if (created) {
        WEFT_ASSERT(pthread_join(a->thread, NULL) == 0);
        pthread_mutex_lock(&a->mu);
        a->thread_created = false;
        pthread_mutex_unlock(&a->mu);
    } else {
        mailbox_close(a);
    }
}

/* ---- the system ------------------------------------------------------------------------------ */

weft_err actor_system_new(actor_system_t **out, const actor_system_config *cfg)
{
    WEFT_MISUSE(out != NULL);
    *out = NULL;
    actor_system_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_E_NOMEM;
    actor_system_config dflt = {0};
    if (!cfg)
        cfg = &dflt;
    s->clock = cfg->clock ? cfg->clock : actor_clock_system();
    s->max_restarts = cfg->max_restarts ? cfg->max_restarts : DEFAULT_MAX_RESTARTS;
    s->restart_window_ms =
        cfg->restart_window_ms ? cfg->restart_window_ms : DEFAULT_RESTART_WINDOW_MS;
    s->on_fatal = cfg->on_fatal;
    s->on_fatal_ctx = cfg->on_fatal_ctx;
    s->state = SYS_NEW;
    actor_timers_init(s);
    *out = s;
    return WEFT_OK;
}

static void actor_free_one(actor_t *a)
{
    pthread_cond_destroy(&a->cv);
    pthread_cond_destroy(&a->room);
    pthread_cond_destroy(&a->ctl);
    pthread_mutex_destroy(&a->mu);
    free(a->ring);
    free(a->restart_at);
    free(a->name);
    free(a);
}

weft_err actor_system_add(actor_system_t *s, const actor_def *def, actor_t **out)
{
    WEFT_MISUSE(s != NULL && def != NULL);
    WEFT_MISUSE(s->state == SYS_NEW); /* actors are added before start */
    if (out)
        *out = NULL;
    if (def->mailbox_cap == 0 || !def->name || !def->start || !def->handle || !def->stop)
        return WEFT_E_INVAL;
    if (s->n == UINT32_MAX)
        return WEFT_E_INVAL;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        actor_t **na = realloc(s->actors, ncap * sizeof(actor_t *));
        if (!na)
            return WEFT_E_NOMEM;
        s->actors = na;
        s->cap = ncap;
    }
    actor_t *a = calloc(1, sizeof *a);
    if (!a)
        return WEFT_E_NOMEM;
    a->name = strdup(def->name);
    a->ring = calloc(def->mailbox_cap, sizeof *a->ring);
    a->restart_at = calloc(s->max_restarts, sizeof *a->restart_at);
    if (!a->name || !a->ring || !a->restart_at) {
        free(a->name);
        free(a->ring);
        free(a->restart_at);
        free(a);
        return WEFT_E_NOMEM;
    }
    a->sys = s;
    a->def = *def;
    a->def.name = a->name;
    a->cap = def->mailbox_cap;
    a->index = (uint32_t)s->n;
    a->state = ACTOR_NEW;
    a->accepting = true;
    WEFT_ASSERT(pthread_mutex_init(&a->mu, NULL) == 0);
    WEFT_ASSERT(pthread_cond_init(&a->cv, NULL) == 0);
    WEFT_ASSERT(pthread_cond_init(&a->room, NULL) == 0);
    WEFT_ASSERT(pthread_cond_init(&a->ctl, NULL) == 0);
    s->actors[s->n++] = a;
    if (out)
        *out = a;
    return WEFT_OK;
}

/* Stops actors [0, started) in reverse, discards the mailboxes of the others, stops the timers. */
static void system_shutdown(actor_system_t *s, size_t started)
{
    for (size_t i = started; i-- > 0;)
        actor_stop_one(s->actors[i]);
    for (size_t i = started; i < s->n; i++)
        actor_stop_one(s->actors[i]);
    actor_timers_stop(s);
    s->state = SYS_STOPPED;
}

weft_err actor_system_start(actor_system_t *s)
{
    WEFT_MISUSE(s != NULL);
    WEFT_MISUSE(s->state == SYS_NEW); /* started once */
    s->state = SYS_RUNNING;
    weft_err err = actor_timers_start(s);
    if (err != WEFT_OK) {
        system_shutdown(s, 0);
        return err;
    }
    for (size_t i = 0; i < s->n; i++) {
        actor_t *a = s->actors[i];
        pthread_mutex_lock(&a->mu);
        int rc = pthread_create(&a->thread, NULL, actor_main, a);
        if (rc == 0) {
            a->thread_created = true;
            a->state = ACTOR_RUNNING;
            while (!a->start_done)
                pthread_cond_wait(&a->ctl, &a->mu);
            err = a->start_err;
        } else {
            err = WEFT_E_NOMEM;
        }
        pthread_mutex_unlock(&a->mu);
        if (err != WEFT_OK) {
            log_error("actor", "start failed", "actor=%s err=%s", a->name, weft_err_name(err));
            actor_stop_one(a); /* joins the thread, which has closed the mailbox */
            system_shutdown(s, i);
            return err;
        }
    }
    return WEFT_OK;
}

void actor_system_stop(actor_system_t *s)
{
    WEFT_MISUSE(s != NULL);
    if (s->state == SYS_STOPPED)
        return;
    system_shutdown(s, s->state == SYS_RUNNING ? s->n : 0);
}

void actor_system_free(actor_system_t *s)
{
    if (!s)
        return;
    actor_system_stop(s);
    for (size_t i = 0; i < s->n; i++)
        actor_free_one(s->actors[i]);
    free(s->actors);
    actor_timers_destroy(s);
    free(s);
}

bool actor_system_idle(actor_system_t *s)
{
    WEFT_MISUSE(s != NULL);
    /* Each actor is seen idle at its check; it can only become busy again through an enqueue,
     * which moves `activity`: an unchanged count over all checks means all were idle at once. */
    uint64_t before = atomic_load(&s->activity);
    for (size_t i = 0; i < s->n; i++) {
        actor_t *a = s->actors[i];
        pthread_mutex_lock(&a->mu);
        bool busy = a->count > 0 || a->handling;
        pthread_mutex_unlock(&a->mu);
        if (busy)
            return false;
    }
    if (actor_timers_due(s))
        return false;
    return atomic_load(&s->activity) == before;
}

actor_clock_t *actor_system_clock(actor_system_t *s)
{
    WEFT_MISUSE(s != NULL);
    return s->clock;
}
