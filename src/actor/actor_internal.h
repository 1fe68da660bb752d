/* actor_internal.h — structures shared by the actor runtime's files: actor.c (actors, mailboxes,
 * request/reply, supervision, the system), timer.c (the timer thread) and clock.c (clocks).
 *
 * Lock order: system timer lock (s->tm) → actor mailbox lock (a->mu) → reply lock (r->mu) → clock
 * lock.  Payload free functions, handler callbacks and on_fatal never run with a runtime lock held.
 */
#ifndef WEFT_ACTOR_INTERNAL_H
#define WEFT_ACTOR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "actor/actor.h"

/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
void actor_cond_init_mono(pthread_cond_t *cv);
/* Absolute CLOCK_MONOTONIC time `ms` from now (for pthread_cond_timedwait on such a condvar). */
struct timespec actor_mono_after(uint64_t ms);
/* Sets the calling thread's name (truncated to 15 characters). */
void actor_set_thread_name(const char *name);

typedef enum actor_state {
    ACTOR_NEW = 0,     /* added; mailbox open; thread not started */
    ACTOR_RUNNING = 1, /* thread started (start running or done) */
    ACTOR_STOPPED = 2, /* closed: mailbox refuses everything; thread exited or never ran */
} actor_state;

/* Result of a non-blocking enqueue attempt (timer deliveries). */
typedef enum actor_enq {
    ACTOR_ENQ_OK = 0,
    ACTOR_ENQ_FULL = 1,
    ACTOR_ENQ_STOPPED = 2,
} actor_enq;

struct actor {
    actor_system_t *sys;
    char *name;
    actor_def def;       /* def.name points to `name` */
    uint32_t index;      /* position in the system (start order) */
    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t cv;   /* worker: mailbox non-empty or stop requested */
    pthread_cond_t room; /* blocked senders: room in the mailbox or mailbox closed */
    pthread_cond_t ctl;  /* controller: start returned, thread exited */
    actor_msg_t *ring;   /* mailbox: cap entries, `count` from `head` */
    size_t cap, head, count;
    actor_state state;
    bool accepting;  /* the mailbox takes new messages */
    bool stop_req;   /* exit once the mailbox is empty */
    bool start_done; /* the initial start returned (start_err) */
    weft_err start_err;
    bool exited;         /* the worker thread returned */
    bool inject;         /* fail the next message */
    bool handling;       /* a message was taken and its handler (or restart) has not finished */
    bool timer_waiting;  /* the timer thread has a delivery parked on this full mailbox */
    bool thread_created; /* `thread` must be joined */
    pthread_t thread;
    uint64_t restarts;
    uint64_t *restart_at; /* ring of the last max_restarts restart times (mono ms) */
    uint32_t restart_n, restart_head;
    uint64_t timer_block_pass; /* timer thread only (under s->tm): pass in which it found it full */
};

typedef struct actor_timer actor_timer;
struct actor_timer {
    actor_timer_id id;
    actor_t *to;
    uint32_t kind;
    void *payload;
    actor_free_fn free_fn;
    uint64_t mono_deadline;
    uint64_t wall_deadline; /* wall timers only */
    bool wall;
    actor_timer *next; /* due list */
};

struct actor_system {
    actor_clock_t *clock;
    uint32_t max_restarts;
    uint64_t restart_window_ms;
    void (*on_fatal)(void *ctx, const char *actor_name, weft_err err);
    void *on_fatal_ctx;
    actor_t **actors;
    size_t n, cap;
    enum { SYS_NEW, SYS_RUNNING, SYS_STOPPED } state;
    atomic_uint_fast64_t activity; /* messages ever enqueued (actor_system_idle) */

    /* timers (timer.c); everything below under tm */
    pthread_mutex_t tm;
    pthread_cond_t tcv; /* timer thread → others: left a wait, finished a pass */
    pthread_t tthread;
    bool tthread_running;
    bool tstop;   /* the timer thread must exit */
    bool tclosed; /* no new timers (system stopped) */
    bool kick;    /* re-run a pass before waiting */
    bool in_wait; /* the timer thread is (about to be) in clock->wait_until */
    uint64_t wait_deadline;
    uint64_t pass_begun, pass_done;
    actor_timer **heap; /* min-heap by (mono_deadline, id) */
    size_t hn, hcap;
    size_t n_wall;                    /* wall timers in the heap */
    actor_timer *due_head, *due_tail; /* fired, waiting for room in their mailbox, in order */
    uint64_t next_id;
};

/* actor.c → timer.c */
weft_err actor_timers_start(actor_system_t *s);
void actor_timers_stop(actor_system_t *s); /* joins the thread, frees every pending timer */
void actor_timers_kick(actor_system_t *s);
void actor_timers_init(actor_system_t *s);
void actor_timers_destroy(actor_system_t *s);
/* Whether a timer is due at the clock's current time but not delivered yet (in the heap or
 * parked on a full mailbox). */
bool actor_timers_due(actor_system_t *s);

/* timer.c → actor.c: enqueue without blocking; on ACTOR_ENQ_FULL the actor wakes the timer
 * thread (actor_timers_kick) when it next takes a message. */
actor_enq actor_try_enqueue(actor_t *a, uint32_t kind, void *payload, actor_free_fn free_fn);

#endif
