/* npar — a few worker threads that run the items of one job alongside the calling thread
 * (internal to src/node): the node verifies a block's signatures (header, endorsements,
 * operations) and a batch of operations from the API or a peer over several cores.
 *
 * One job at a time: a caller that finds the pool busy (another thread's job) runs its items by
 * itself, so callers never wait for each other and a job never waits for a worker to wake — the
 * caller takes items too, and returns once every item taken has finished.  A pool of 0 workers
 * runs everything on the caller.  Results do not depend on the number of workers.
 * Thread-safety: npar_all may be called from any thread; npar_free once no call is running. */
#ifndef WEFT_NODE_NPAR_H
#define WEFT_NODE_NPAR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

typedef struct npar npar;

/* At most this many workers (the caller is one more). */
#define NPAR_MAX_WORKERS 7

/* A pool of `workers` threads (≤ NPAR_MAX_WORKERS): E_INVAL, E_NOMEM, or the thread error. */
WEFT_MUST_USE weft_err npar_new(npar **out, unsigned workers);
void npar_free(npar *p);
/* The workers the node starts with: the online CPUs − 1, at most 3. */
unsigned npar_default_workers(void);

/* An item of a job: true if it passed.  Runs on any of the threads (it must be thread-safe). */
typedef bool (*npar_item_fn)(void *ctx, size_t i);
/* Runs item(ctx, i) for i < n, over the caller and the idle workers; true iff every item returned
 * true.  After an item returns false the items not started yet are skipped.  p may be NULL. */
bool npar_all(npar *p, size_t n, npar_item_fn item, void *ctx);

#endif
