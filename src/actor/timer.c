/* timer.c — the timer thread of an actor system (see actor.h "Timers" and docs/actors.md).
 *
 * Pending timers sit in a min-heap ordered by (monotonic deadline, id).  A timer that comes due
 * moves to the due list, a FIFO of fired timers in deadline order, from which the thread delivers
 * without blocking: a timer whose mailbox is full stays in the list (and every later timer for the
 * same actor waits behind it in that pass, so an actor receives its timers in order); the actor
 * wakes the timer thread when it next takes a message.
 *
 * Each pass of the thread reads both clocks once and then:
 *   1. pops every timer with mono deadline ≤ now; a wall timer whose wall deadline is still ahead
 *      (the wall clock stepped back) is re-armed at now + (wall deadline − wall now);
 *   2. moves every wall timer whose wall deadline ≤ wall now to the due list even if its mono
 *      deadline is ahead (the wall clock jumped forward);
 *   3. delivers the due list.
 * Then it waits on the clock until the earliest mono deadline — at most WALL_RECHECK_MS while wall
 * timers are pending, so that a forward jump of the real wall clock is noticed within that time
 * (the fake clock wakes its waiters on every step) — or until kicked.
 *
 * Kicks (a new earlier timer, room in a mailbox, sync, stop) must not be lost in the window
 * between the thread releasing its lock and entering clock->wait_until: the kicker sets `kick`
 * and calls clock->wake until the thread reports that it left the wait.
 */
#include <stdlib.h>

#include "actor/actor_internal.h"

#define WALL_RECHECK_MS 100u

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

/* ---- heap ------------------------------------------------------------------------------------ */

static bool earlier(const actor_timer *x, const actor_timer *y)
{
    return x->mono_deadline < y->mono_deadline ||
           (x->mono_deadline == y->mono_deadline && x->id < y->id);
}

static void sift_up(actor_timer **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(h[i], h[p]))
            break;
        actor_timer *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void sift_down(actor_timer **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && earlier(h[l], h[m]))
            m = l;
        if (r < n && earlier(h[r], h[m]))
            m = r;
        if (m == i)
            return;
        actor_timer *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static actor_timer *heap_remove(actor_system_t *s, size_t i)
{
    actor_timer *t = s->heap[i];
    s->hn--;
    if (i < s->hn) {
        s->heap[i] = s->heap[s->hn];
        sift_down(s->heap, s->hn, i);
        sift_up(s->heap, i);
    }
    if (t->wall)
        s->n_wall--;
    return t;
}

static void heap_push(actor_system_t *s, actor_timer *t) /* capacity checked */
{
    s->heap[s->hn] = t;
    sift_up(s->heap, s->hn);
    s->hn++;
    if (t->wall)
        s->n_wall++;
}

/* Inserts into a list kept in (mono deadline, id) order. */
static void insert_sorted(actor_timer **list, actor_timer *t)
{
    while (*list && !earlier(t, *list))
        list = &(*list)->next;
    t->next = *list;
    *list = t;
}

static void free_timer_list(actor_timer *t)
{
    while (t) {
        actor_timer *next = t->next;
        if (t->payload && t->free_fn)
            t->free_fn(t->payload);
        free(t);
        t = next;
    }
}

/* ---- kicks ----------------------------------------------------------------------------------- */

static void kick_locked(actor_system_t *s) /* s->tm held */
{
    s->kick = true;
    while (s->kick && s->in_wait && s->tthread_running) {
        pthread_mutex_unlock(&s->tm);
        s->clock->vt->wake(s->clock);
        pthread_mutex_lock(&s->tm);
        if (s->kick && s->in_wait && s->tthread_running) {
            struct timespec ts = actor_mono_after(1);
            (void)pthread_cond_timedwait(&s->tcv, &s->tm, &ts);
        }
    }
}

void actor_timers_kick(actor_system_t *s)
{
    pthread_mutex_lock(&s->tm);
    kick_locked(s);
    pthread_mutex_unlock(&s->tm);
}

/* ---- the thread ------------------------------------------------------------------------------ */

static void timer_pass(actor_system_t *s, uint64_t pass, actor_timer **undeliverable)
{
    actor_clock_t *c = s->clock;
    uint64_t now_m = c->vt->mono_ms(c);
    uint64_t now_w = c->vt->wall_ms(c);
    actor_timer *batch = NULL, *rearm = NULL;

    while (s->hn > 0 && s->heap[0]->mono_deadline <= now_m) {
        actor_timer *t = heap_remove(s, 0);
        if (t->wall && now_w < t->wall_deadline) {
            t->mono_deadline = sat_add(now_m, t->wall_deadline - now_w);
            t->next = rearm;
            rearm = t;
        } else {
            insert_sorted(&batch, t);
        }
    }
    while (rearm) {
        actor_timer *t = rearm;
        rearm = t->next;
        heap_push(s, t);
    }
    if (s->n_wall > 0) {
        size_t keep = 0, n = s->hn;
        for (size_t i = 0; i < n; i++) {
            actor_timer *t = s->heap[i];
            if (t->wall && t->wall_deadline <= now_w) {
                s->n_wall--;
                insert_sorted(&batch, t);
            } else {
                s->heap[keep++] = t;
            }
        }
        if (keep != n) {
            s->hn = keep;
            for (size_t i = keep / 2; i-- > 0;)
                sift_down(s->heap, keep, i);
        }
    }
    if (batch) {
        if (s->due_tail)
            s->due_tail->next = batch;
        else
            s->due_head = batch;
        while (batch->next)
            batch = batch->next;
        s->due_tail = batch;
    }

    actor_timer **link = &s->due_head, *last = NULL;
    while (*link) {
        actor_timer *t = *link;
        if (t->to->timer_block_pass != pass) {
            actor_enq r = actor_try_enqueue(t->to, t->kind, t->payload, t->free_fn);
            if (r == ACTOR_ENQ_FULL) {
                t->to->timer_block_pass = pass;
            } else {
                *link = t->next;
                if (r == ACTOR_ENQ_STOPPED) {
                    t->next = *undeliverable;
                    *undeliverable = t;
                } else {
                    free(t);
                }
                continue;
            }
        }
        last = t;
        link = &t->next;
    }
    s->due_tail = last;
}

static void *timer_main(void *arg)
{
    actor_system_t *s = arg;
    actor_set_thread_name("actor-timers");
    pthread_mutex_lock(&s->tm);
    while (!s->tstop) {
        uint64_t pass = ++s->pass_begun;
        s->kick = false;
        actor_timer *undeliverable = NULL;
        timer_pass(s, pass, &undeliverable);
        s->pass_done = pass;
        pthread_cond_broadcast(&s->tcv);
        if (undeliverable) {
            pthread_mutex_unlock(&s->tm);
            free_timer_list(undeliverable);
            pthread_mutex_lock(&s->tm);
        }
        if (s->kick || s->tstop)
            continue;
        uint64_t deadline = s->hn > 0 ? s->heap[0]->mono_deadline : UINT64_MAX;
        if (s->n_wall > 0) {
            uint64_t recheck = sat_add(s->clock->vt->mono_ms(s->clock), WALL_RECHECK_MS);
            if (recheck < deadline)
                deadline = recheck;
        }
        s->in_wait = true;
        s->wait_deadline = deadline;
        pthread_mutex_unlock(&s->tm);
        s->clock->vt->wait_until(s->clock, deadline);
        pthread_mutex_lock(&s->tm);
        s->in_wait = false;
        pthread_cond_broadcast(&s->tcv);
    }
    pthread_mutex_unlock(&s->tm);
    return NULL;
}

void actor_timers_init(actor_system_t *s)
{
    WEFT_ASSERT(pthread_mutex_init(&s->tm, NULL) == 0);
    actor_cond_init_mono(&s->tcv);
    s->next_id = 1;
}

void actor_timers_destroy(actor_system_t *s)
{
    WEFT_ASSERT(!s->tthread_running && s->hn == 0 && s->due_head == NULL);
    free(s->heap);
    pthread_cond_destroy(&s->tcv);
    pthread_mutex_destroy(&s->tm);
}

weft_err actor_timers_start(actor_system_t *s)
{
    pthread_mutex_lock(&s->tm);
    s->tthread_running = true;
    int rc = pthread_create(&s->tthread, NULL, timer_main, s);
    if (rc != 0)
        s->tthread_running = false;
    pthread_mutex_unlock(&s->tm);
    return rc == 0 ? WEFT_OK : WEFT_E_NOMEM;
}

void actor_timers_stop(actor_system_t *s)
{
    pthread_mutex_lock(&s->tm);
    s->tclosed = true;
    s->tstop = true;
    bool running = s->tthread_running;
    kick_locked(s);
    pthread_mutex_unlock(&s->tm);
    if (running)
        WEFT_ASSERT(pthread_join(s->tthread, NULL) == 0);
    pthread_mutex_lock(&s->tm);
    s->tthread_running = false;
    actor_timer *all = s->due_head;
    s->due_head = s->due_tail = NULL;
    for (size_t i = 0; i < s->hn; i++) {
        s->heap[i]->next = all;
        all = s->heap[i];
    }
    s->hn = 0;
    s->n_wall = 0;
    pthread_mutex_unlock(&s->tm);
    free_timer_list(all);
}

/* ---- the API --------------------------------------------------------------------------------- */

static actor_timer_id timer_set(actor_system_t *s, actor_t *to, bool wall, uint64_t arg,
                                uint32_t kind, void *payload, actor_free_fn free_fn)
{
    WEFT_MISUSE(s != NULL && to != NULL && to->sys == s);
    actor_timer *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->to = to;
    t->kind = kind;
    t->payload = payload;
    t->free_fn = free_fn;
    t->wall = wall;
    pthread_mutex_lock(&s->tm);
    if (s->tclosed)
        goto fail_locked;
    if (s->hn == s->hcap) {
        size_t ncap = s->hcap ? s->hcap * 2 : 16;
        actor_timer **nh = realloc(s->heap, ncap * sizeof(actor_timer *));
        if (!nh)
            goto fail_locked;
        s->heap = nh;
        s->hcap = ncap;
    }
    actor_clock_t *c = s->clock;
    uint64_t now_m = c->vt->mono_ms(c);
    if (wall) {
        uint64_t now_w = c->vt->wall_ms(c);
        t->wall_deadline = arg;
        t->mono_deadline = sat_add(now_m, arg > now_w ? arg - now_w : 0);
    } else {
        t->mono_deadline = sat_add(now_m, arg);
    }
    actor_timer_id id = t->id = s->next_id++;
    heap_push(s, t);
    /* t may be delivered and freed while kick_locked waits: not touched after this */
    if (s->in_wait && t->mono_deadline < s->wait_deadline)
        kick_locked(s);
    pthread_mutex_unlock(&s->tm);
    return id;

fail_locked:
    pthread_mutex_unlock(&s->tm);
fail:
    free(t);
    if (payload && free_fn)
        free_fn(payload);
    return 0;
}

actor_timer_id actor_timer_after(actor_system_t *s, actor_t *to, uint64_t delay_ms, uint32_t kind,
                                 void *payload, actor_free_fn free_fn)
{
    return timer_set(s, to, false, delay_ms, kind, payload, free_fn);
}

actor_timer_id actor_timer_at_wall(actor_system_t *s, actor_t *to, uint64_t wall_ms, uint32_t kind,
                                   void *payload, actor_free_fn free_fn)
{
    return timer_set(s, to, true, wall_ms, kind, payload, free_fn);
}

bool actor_timer_cancel(actor_system_t *s, actor_timer_id id)
{
    WEFT_MISUSE(s != NULL);
    actor_timer *found = NULL;
    pthread_mutex_lock(&s->tm);
    for (size_t i = 0; i < s->hn; i++)
        if (s->heap[i]->id == id) {
            found = heap_remove(s, i);
            break;
        }
    if (!found) {
        actor_timer *prev = NULL;
        for (actor_timer *t = s->due_head; t; prev = t, t = t->next)
            if (t->id == id) {
                if (prev)
                    prev->next = t->next;
                else
                    s->due_head = t->next;
                if (s->due_tail == t)
                    s->due_tail = prev;
                found = t;
                break;
            }
    }
    pthread_mutex_unlock(&s->tm);
    if (!found)
        return false;
    found->next = NULL;
    free_timer_list(found);
    return true;
}

bool actor_timers_due(actor_system_t *s)
{
    actor_clock_t *c = s->clock;
    uint64_t now_m = c->vt->mono_ms(c);
    uint64_t now_w = c->vt->wall_ms(c);
    pthread_mutex_lock(&s->tm);
    bool due = s->due_head != NULL || (s->hn > 0 && s->heap[0]->mono_deadline <= now_m);
    for (size_t i = 0; !due && s->n_wall > 0 && i < s->hn; i++)
        due = s->heap[i]->wall && s->heap[i]->wall_deadline <= now_w;
    pthread_mutex_unlock(&s->tm);
    return due;
}

void actor_timer_sync(actor_system_t *s)
{
    WEFT_MISUSE(s != NULL);
    pthread_mutex_lock(&s->tm);
    uint64_t target = s->pass_begun + 1;
    kick_locked(s);
    while (s->tthread_running && !s->tstop && s->pass_done < target)
        pthread_cond_wait(&s->tcv, &s->tm);
    pthread_mutex_unlock(&s->tm);
}
