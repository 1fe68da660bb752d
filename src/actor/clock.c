/* clock.c — the clocks behind actor_clock_t: the process's real clock (CLOCK_MONOTONIC for
 * deadlines, CLOCK_REALTIME for wall time) and the fake clock of tests, plus the small pthread
 * helpers the runtime shares (monotonic condition variables, thread names).
 *
 * Both clocks keep a wake generation: wait_until returns when the deadline is reached or the
 * generation moved (wake, or for the fake clock any advance or wall step). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor/actor_internal.h"

/* ---- pthread helpers ------------------------------------------------------------------------- */

static pthread_condattr_t mono_attr;
static pthread_once_t mono_attr_once = PTHREAD_ONCE_INIT;

static void mono_attr_init(void)
{
    WEFT_ASSERT(pthread_condattr_init(&mono_attr) == 0);
    WEFT_ASSERT(pthread_condattr_setclock(&mono_attr, CLOCK_MONOTONIC) == 0);
}

void actor_cond_init_mono(pthread_cond_t *cv)
{
    WEFT_ASSERT(pthread_once(&mono_attr_once, mono_attr_init) == 0);
    WEFT_ASSERT(pthread_cond_init(cv, &mono_attr) == 0);
}

static uint64_t mono_now_ms(void)
{
    struct timespec ts;
    WEFT_ASSERT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits of more than a day are cut to a day (callers loop; spurious wakes are allowed). */
#define MAX_WAIT_MS (24ull * 3600u * 1000u)

struct timespec actor_mono_after(uint64_t ms)
{
    if (ms > MAX_WAIT_MS)
        ms = MAX_WAIT_MS;
    struct timespec ts;
    WEFT_ASSERT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void actor_set_thread_name(const char *name)
{
    char buf[16];
    size_t n = strlen(name);
    if (n > 15)
        n = 15;
    memcpy(buf, name, n);
    buf[n] = 0;
    (void)pthread_setname_np(pthread_self(), buf); /* best effort: names are for tools only */
}

/* ---- the system clock ------------------------------------------------------------------------ */

typedef struct sys_clock {
    actor_clock_t base;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    uint64_t gen;
} sys_clock;

static uint64_t sys_mono_ms(actor_clock_t *c) { return mono_now_ms(); }

static uint64_t sys_wall_ms(actor_clock_t *c)
{
    struct timespec ts;
    WEFT_ASSERT(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    if (ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sys_wait_until(actor_clock_t *c, uint64_t deadline)
{
    sys_clock *sc = (sys_clock *)c;
    pthread_mutex_lock(&sc->mu);
    uint64_t gen = sc->gen;
    for (;;) {
        uint64_t now = mono_now_ms();
        if (now >= deadline || sc->gen != gen)
            break;
        struct timespec ts = actor_mono_after(deadline - now);
        int rc = pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
        WEFT_ASSERT(rc == 0 || rc == ETIMEDOUT);
    }
    pthread_mutex_unlock(&sc->mu);
}

static void sys_wake(actor_clock_t *c)
{
    sys_clock *sc = (sys_clock *)c;
    pthread_mutex_lock(&sc->mu);
    sc->gen++;
    pthread_cond_broadcast(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
}

static const actor_clock_vtbl sys_vtbl = {sys_mono_ms, sys_wall_ms, sys_wait_until, sys_wake};
static sys_clock the_sys_clock = {.base = {&sys_vtbl}, .mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t sys_clock_once = PTHREAD_ONCE_INIT;

static void sys_clock_init(void) { actor_cond_init_mono(&the_sys_clock.cv); }

actor_clock_t *actor_clock_system(void)
{
    WEFT_ASSERT(pthread_once(&sys_clock_once, sys_clock_init) == 0);
    return &the_sys_clock.base;
}

/* ---- the fake clock -------------------------------------------------------------------------- */

struct actor_fake_clock {
    actor_clock_t base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t mono, wall, gen;
};

static uint64_t fake_mono_ms(actor_clock_t *c)
{
    actor_fake_clock_t *f = (actor_fake_clock_t *)c;
    pthread_mutex_lock(&f->mu);
    uint64_t v = f->mono;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static uint64_t fake_wall_ms(actor_clock_t *c)
{
    actor_fake_clock_t *f = (actor_fake_clock_t *)c;
    pthread_mutex_lock(&f->mu);
    uint64_t v = f->wall;
    pthread_mutex_unlock(&f->mu);
    return v;
}

/* Spurious wakes are allowed (actor.h): the wait also ends after FAKE_RECHECK_MS of real time.
 * The generation is read here, so a step or an advance that came between the caller's last look
 * at the clock and this call (a wall step just before the timer thread began to wait, with only
 * a fake monotonic deadline ahead) would otherwise be missed for good: unit_actor's idle test
 * hung on it under load. */
#define FAKE_RECHECK_MS 10

static void fake_wait_until(actor_clock_t *c, uint64_t deadline)
{
    actor_fake_clock_t *f = (actor_fake_clock_t *)c;
    struct timespec until = actor_mono_after(FAKE_RECHECK_MS);
    pthread_mutex_lock(&f->mu);
    uint64_t gen = f->gen;
    while (f->mono < deadline && f->gen == gen)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&f->mu);
}

static void fake_bump(actor_fake_clock_t *f)
{
    f->gen++;
    pthread_cond_broadcast(&f->cv);
}

static void fake_wake(actor_clock_t *c)
{
    actor_fake_clock_t *f = (actor_fake_clock_t *)c;
    pthread_mutex_lock(&f->mu);
    fake_bump(f);
    pthread_mutex_unlock(&f->mu);
}

static const actor_clock_vtbl fake_vtbl = {fake_mono_ms, fake_wall_ms, fake_wait_until, fake_wake};

weft_err actor_fake_clock_new(actor_fake_clock_t **out, uint64_t wall_start_ms)
{
    WEFT_MISUSE(out != NULL);
    *out = NULL;
    actor_fake_clock_t *f = calloc(1, sizeof *f);
    if (!f)
        return WEFT_E_NOMEM;
    f->base.vt = &fake_vtbl;
    WEFT_ASSERT(pthread_mutex_init(&f->mu, NULL) == 0);
    actor_cond_init_mono(&f->cv);
    f->wall = wall_start_ms;
    *out = f;
    return WEFT_OK;
}

void actor_fake_clock_free(actor_fake_clock_t *f)
{
    if (!f)
        return;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

actor_clock_t *actor_fake_clock_base(actor_fake_clock_t *f)
{
    WEFT_MISUSE(f != NULL);
    return &f->base;
}

void actor_fake_clock_advance(actor_fake_clock_t *f, uint64_t ms)
{
    WEFT_MISUSE(f != NULL);
    pthread_mutex_lock(&f->mu);
    WEFT_MISUSE(f->mono + ms >= f->mono && f->wall + ms >= f->wall);
    f->mono += ms;
    f->wall += ms;
    fake_bump(f);
    pthread_mutex_unlock(&f->mu);
}

void actor_fake_clock_step_wall(actor_fake_clock_t *f, int64_t ms)
{
    WEFT_MISUSE(f != NULL);
    pthread_mutex_lock(&f->mu);
    if (ms < 0) {
        uint64_t back = (uint64_t)0 - (uint64_t)ms;
        f->wall = back > f->wall ? 0 : f->wall - back;
    } else {
        WEFT_MISUSE(f->wall + (uint64_t)ms >= f->wall);
        f->wall += (uint64_t)ms;
    }
    fake_bump(f);
    pthread_mutex_unlock(&f->mu);
}
