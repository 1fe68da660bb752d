/* actor — weft's actor runtime (DESIGN §5, seed 001): actors, mailboxes, request/reply, a
 * supervisor, timers behind a clock interface.
 *
 * An actor is a thread that owns one core (its state) and a bounded mailbox.  Actors talk only by
 * messages.  A message is a kind (a small integer the actor defines), a payload pointer with the
 * function that frees it, and optionally a reply slot (request/reply).  The actor's handler runs
 * one message at a time, in mailbox order (FIFO; a sender's messages arrive in the order sent).
 *
 * Back-pressure.  A mailbox holds at most `mailbox_cap` messages.  actor_send with
 * ACTOR_SEND_BLOCK waits for room (the default for messages that must not be lost: blocks,
 * finality, replies); with ACTOR_SEND_DROP a full mailbox refuses the message at once with E_BUSY
 * and frees its payload (for traffic that may be shed under load: operations from clients, status
 * ticks).  Every actor documents, per message kind, which one its senders use.  A mailbox accepts
 * messages from actor_system_add on (they wait for the actor's start) until its actor stops.  An
 * actor sending to its own full mailbox gets E_BUSY even with ACTOR_SEND_BLOCK (waiting would
 * never end); a cycle of actors blocking on each other's full mailboxes is a design error the
 * runtime does not detect — use DROP or a larger mailbox on one edge of any cycle.
 *
 * Supervision.  An actor_system_t starts actors in the order they were added (dependency order),
 * stops them in reverse order, and restarts an actor that fails: when a handler returns an error
 * (or actor_inject_failure asks for it), the runtime calls the actor's `stop` then `start` again —
 * `start` rebuilds the state from storage — and goes on with the next message.  The failing
 * message gets E_ACTOR_FAILED as reply if it was a request.  The restart runs on the actor's
 * thread; messages that arrive meanwhile wait in the mailbox.  A `start` that fails during a
 * restart counts as one more failure and is retried (stop is not called for a state that was not
 * built).  More than `max_restarts` restarts within `restart_window_ms` (on the system clock's
 * monotonic time) make the failure fatal: the actor's state is released (`stop`), its mailbox is
 * closed (queued messages discarded, requests answered E_ACTOR_STOPPED, blocked senders released),
 * then the system's `on_fatal` callback runs once for that actor (weftd then shuts down).  A start
 * that fails at system start aborts actor_system_start, which stops the actors already started,
 * in reverse.
 *
 * Shutdown.  actor_system_stop sends every actor, in reverse order, a stop request that is queued
 * behind the messages already in its mailbox (so every write asked for before shutdown is done),
 * waits for the thread to call `stop` and exit, then goes to the next actor.  From the stop request
 * on, the actor's mailbox refuses new messages: messages sent to a stopping or stopped actor are
 * refused with E_ACTOR_STOPPED and their payloads freed, and senders blocked on its full mailbox
 * are released with E_ACTOR_STOPPED.  The timer thread stops after the last actor; timers due
 * for an actor that has stopped, and timers still pending then, are freed undelivered.
 *
 * Timers.  A clock (actor_clock_t) gives monotonic and wall time in ms and can wait until a
 * monotonic deadline; actor_clock_system() is the real one (CLOCK_MONOTONIC / CLOCK_REALTIME),
 * actor_fake_clock_* a manual one for tests (time moves only when the test advances it).  A timer
 * delivers a message (kind, payload) to an actor at a deadline.  Deadlines are either monotonic
 * (actor_timer_after) or wall-clock instants (actor_timer_at_wall, for slot times): a wall
 * deadline is converted to a monotonic one when set and re-checked against the wall clock when
 * due — if the wall clock stepped back, the timer is re-armed for the remaining wall time (which
 * is the step), so a wall clock step or jump never fires a timer early, nor late by more than the
 * step.  Exactly: a wall timer fires at the first check of the timer thread that sees wall now ≥
 * its wall deadline; the thread checks at each monotonic deadline it waits for, at every clock
 * wake (the fake clock wakes on every advance and step), and at least every 100 ms of monotonic
 * time while wall timers are pending — so after a forward jump it is late by at most
 * min(jump, 100 ms) plus scheduling.  Timers come due in (monotonic deadline, set order) order.
 * Timers are delivered with ACTOR_SEND_BLOCK semantics but never block the timer thread:
 * a full mailbox delays the timer's delivery until there is room (its order is kept: later timers
 * for the same actor wait behind it; timers for other actors are not held up).
 *
 * Errors: E_BUSY (full mailbox with DROP), E_ACTOR_STOPPED, E_ACTOR_FAILED, E_TIMEOUT
 * (actor_call's deadline), E_NOMEM, E_INVAL (bad definition); misuse (NULL, adding an actor after
 * start) aborts.
 * Thread-safety: actor_send, actor_call, actor_reply, timers and actor_inject_failure may be called
 * from any thread.  actor_system_* lifecycle calls come from one controlling thread.
 * Ownership: a message payload belongs to the runtime from the moment actor_send/actor_call is
 * called (freed with its free function if undelivered) until the handler receives it; the handler
 * then owns it (it must free it, or pass it on).  A reply payload belongs to the caller of
 * actor_call once it returns.
 */
#ifndef WEFT_ACTOR_H
#define WEFT_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- clocks ---------------------------------------------------------------------------------- */

typedef struct actor_clock actor_clock_t;

typedef struct actor_clock_vtbl {
    uint64_t (*mono_ms)(actor_clock_t *c); /* monotonic ms (arbitrary origin) */
    uint64_t (*wall_ms)(actor_clock_t *c); /* ms since the Unix epoch */
    /* Waits until mono_ms() >= deadline or actor_clock_wake is called (spurious wakes allowed).
     * Called with no lock held. */
    void (*wait_until)(actor_clock_t *c, uint64_t deadline_mono_ms);
    /* Wakes every waiter of wait_until. */
    void (*wake)(actor_clock_t *c);
} actor_clock_vtbl;

struct actor_clock {
    const actor_clock_vtbl *vt;
};

/* The process's real clock (a static object; thread-safe). */
actor_clock_t *actor_clock_system(void);

/* A fake clock for tests: starts at mono 0 and wall `wall_start_ms`; time moves only through
 * actor_fake_clock_advance (both clocks) and actor_fake_clock_step_wall (wall only: a step or
 * jump, may be negative).  Thread-safe. */
typedef struct actor_fake_clock actor_fake_clock_t;
WEFT_MUST_USE weft_err actor_fake_clock_new(actor_fake_clock_t **out, uint64_t wall_start_ms);
void actor_fake_clock_free(actor_fake_clock_t *c);
actor_clock_t *actor_fake_clock_base(actor_fake_clock_t *c);
void actor_fake_clock_advance(actor_fake_clock_t *c, uint64_t ms);
void actor_fake_clock_step_wall(actor_fake_clock_t *c, int64_t ms);

/* ---- messages -------------------------------------------------------------------------------- */

typedef void (*actor_free_fn)(void *payload);

typedef struct actor_reply actor_reply_t; /* opaque: the waiting caller of actor_call */

typedef struct actor_msg {
    uint32_t kind;
    void *payload;         /* may be NULL */
    actor_free_fn free_fn; /* frees payload; NULL: nothing to free */
    actor_reply_t *reply;  /* non-NULL for a request: answer with actor_reply exactly once */
} actor_msg_t;

typedef enum actor_send_mode {
    ACTOR_SEND_BLOCK = 0, /* wait for room in the mailbox */
    ACTOR_SEND_DROP = 1,  /* refuse at once with E_BUSY when full */
} actor_send_mode;

/* ---- actors and the system ------------------------------------------------------------------- */

typedef struct actor actor_t;
typedef struct actor_system actor_system_t;

typedef struct actor_def {
    const char *name;   /* for logs, thread names and metrics; copied */
    size_t mailbox_cap; /* ≥ 1 */
    void *ctx;          /* the actor's state holder, passed to every callback; borrowed */
    /* Builds the state (at system start and at every restart: from storage).  An error at system
     * start fails actor_system_start; at a restart it counts as one more failure. */
    weft_err (*start)(void *ctx, actor_t *self);
    /* Handles one message; owns msg->payload from now on and must answer msg->reply if set.
     * Returning an error fails the actor (restart); the runtime then answers an unanswered
     * request with E_ACTOR_FAILED (the handler must then not answer it later).  A handler that
     * returns WEFT_OK without answering keeps the reply: it must answer it later, exactly once,
     * from any thread (deferred reply, e.g. after asking another actor). */
    weft_err (*handle)(void *ctx, actor_t *self, actor_msg_t *msg);
    /* Releases the state (at stop and before a restart); must complete every durable write. */
    void (*stop)(void *ctx, actor_t *self);
} actor_def;

typedef struct actor_system_config {
    actor_clock_t *clock;       /* borrowed; NULL: actor_clock_system() */
    uint32_t max_restarts;      /* per actor within the window; default 5 (0 here: default) */
    uint64_t restart_window_ms; /* default 60000 (0 here: default) */
    /* Called once per failing actor, from its thread, when it exceeds max_restarts (a restart
     * whose start fails counts); the actor is already stopped then.  It must not call
     * actor_system_stop (which joins that thread): signal the controlling thread instead.  May be
     * NULL. */
    void (*on_fatal)(void *ctx, const char *actor_name, weft_err err);
    void *on_fatal_ctx;
} actor_system_config;

WEFT_MUST_USE weft_err actor_system_new(actor_system_t **out, const actor_system_config *cfg);
/* Stops (if running) and frees the system and its actors. */
void actor_system_free(actor_system_t *s);
/* Adds an actor (before start); *out (may be NULL) receives its handle, valid until
 * actor_system_free.  E_INVAL for mailbox_cap 0 or a missing callback. */
WEFT_MUST_USE weft_err actor_system_add(actor_system_t *s, const actor_def *def, actor_t **out);
/* Starts the timer thread, then the actors in order: each one's start runs on its own thread, and
 * the next actor starts only after it succeeded.  On error the started ones are stopped in
 * reverse, the mailboxes of the others are closed, and the error of the failing start is returned;
 * the system is then stopped (free it).  Called once. */
WEFT_MUST_USE weft_err actor_system_start(actor_system_t *s);
/* Stops the actors in reverse order, then the timer thread (see Shutdown).  Idempotent; on a system
 * never started it closes the mailboxes (queued messages discarded). */
void actor_system_stop(actor_system_t *s);
actor_clock_t *actor_system_clock(actor_system_t *s);
/* Whether the system is quiescent: no actor has a message queued or a handler (or a restart)
 * running, and no timer is due at the clock's current time without having been handled.  The
 * answer is consistent: a message enqueued while the actors are checked makes it false.  For
 * tests on the fake clock (advance, actor_timer_sync, then poll until idle); threads outside the
 * system (an actor_call in progress from elsewhere) are the caller's to account for.  Any
 * thread. */
bool actor_system_idle(actor_system_t *s);

const char *actor_name(const actor_t *a);
/* Messages waiting in the mailbox now (for metrics). */
size_t actor_mailbox_depth(actor_t *a);
/* Restarts so far. */
uint64_t actor_restarts(actor_t *a);

/* Sends a one-way message.  E_BUSY (DROP, or the actor's own thread, with a full mailbox),
 * E_ACTOR_STOPPED.  On any error the payload is freed. */
WEFT_MUST_USE weft_err actor_send(actor_t *to, uint32_t kind, void *payload, actor_free_fn free_fn,
                                  actor_send_mode mode);
/* Sends a request and waits for the reply (at most timeout_ms, 0: no limit).  On success
 * *result (may be NULL: dropped with result_free) receives the reply payload and the function
 * returns the handler's status given to actor_reply.  E_TIMEOUT: the reply, if it comes later,
 * is freed by the runtime.  E_ACTOR_FAILED: the handler failed; E_ACTOR_STOPPED: the actor
 * stopped before handling it.  The request is queued with ACTOR_SEND_BLOCK.  The timeout is real
 * time (CLOCK_MONOTONIC) whatever the system's clock: it bounds how long a thread blocks.  Must
 * not be called from the target actor's own thread (misuse). */
WEFT_MUST_USE weft_err actor_call(actor_t *to, uint32_t kind, void *payload, actor_free_fn free_fn,
                                  uint64_t timeout_ms, void **result, actor_free_fn *result_free);
/* Answers a request: status and an optional result payload (owned by the caller from now on, or
 * freed with result_free if the caller gave up). */
void actor_reply(actor_reply_t *r, weft_err status, void *result, actor_free_fn result_free);

/* Makes the actor's next message fail as if its handler had returned E_ACTOR_FAILED (tests of
 * supervision): the handler does not see it, its payload is freed, a request is answered
 * E_ACTOR_FAILED, and the actor restarts. */
void actor_inject_failure(actor_t *a);

/* ---- timers ---------------------------------------------------------------------------------- */

typedef uint64_t actor_timer_id; /* 0 is never a valid id */

/* Delivers (kind, payload) to `to` (an actor of `s`) when the monotonic clock reaches
 * now + delay_ms.  Returns the timer id, or 0 on allocation failure or once the system is stopped
 * (the payload is then freed).  Timers may be set before actor_system_start. */
actor_timer_id actor_timer_after(actor_system_t *s, actor_t *to, uint64_t delay_ms, uint32_t kind,
                                 void *payload, actor_free_fn free_fn);
/* Delivers (kind, payload) when the wall clock reaches wall_ms (see Timers); in the past: at once.
 */
actor_timer_id actor_timer_at_wall(actor_system_t *s, actor_t *to, uint64_t wall_ms, uint32_t kind,
                                   void *payload, actor_free_fn free_fn);
/* Cancels a pending timer (its payload is freed), including one that is due but waiting for room
 * in a full mailbox; false if it was already delivered or is unknown. */
bool actor_timer_cancel(actor_system_t *s, actor_timer_id id);
/* Waits until the timer thread has completed a pass that began after this call: every timer due
 * at the clock's time of the call has been delivered to its mailbox (or is waiting for room in a
 * full one).  For deterministic tests with the fake clock; returns at once if the timer thread
 * is not running. */
void actor_timer_sync(actor_system_t *s);

#endif
