/* sigcache — operation signatures this node already verified (internal to src/node).
 *
 * An operation reaches a node twice: alone (from the API or a peer, verified before the pool
 * admits it) and later inside a block (verified again by node_net_block).  The cache remembers
 * the (id, signature) pairs that verified, so that the second check is a lookup.  The id commits
 * to the chain, the creator's key and the content (op_digest) but not to the signature, so an
 * entry holds both and a hit needs both equal: an operation carrying another signature is always
 * verified.  Ids are the node's own (recomputed from the content by signed_op_finish), never a
 * peer's claim.
 *
 * Bounded: a fixed table of sets of NSIGCACHE_WAYS entries, the set chosen by the id's first 8
 * bytes (big-endian) modulo the number of sets; a new entry replaces the oldest of its set.  A
 * miss only costs a verification.  The node sizes the table for its pool's capacity, so that most
 * operations that waited in the pool are still there when their block arrives.  Thread-safe (API,
 * network and actor threads), striped locks.
 */
#ifndef WEFT_NODE_SIGCACHE_H
#define WEFT_NODE_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "model/model.h"

typedef struct nsigcache nsigcache;

#define NSIGCACHE_WAYS 4         /* entries per set */
#define NSIGCACHE_ENTRY_BYTES 96 /* an id and a signature (and 2 bytes per set) */
#define NSIGCACHE_MIN_BITS 16    /* 2^16 entries: 6 MiB */
#define NSIGCACHE_MAX_BITS 22    /* 2^22 entries: 386 MiB */

/* The size (log2 of the entries) of a cache that holds `ops` operations: the smallest power of
 * two ≥ ops, within [NSIGCACHE_MIN_BITS, NSIGCACHE_MAX_BITS].  The node passes its pool's
 * capacity (pool_max_ops_per_thread × thread_count: 2^18 entries, 24 MiB, by default). */
unsigned nsigcache_bits_for(uint64_t ops);
/* A cache of 2^bits entries (8 ≤ bits ≤ 24): E_INVAL, E_NOMEM. */
WEFT_MUST_USE weft_err nsigcache_new(nsigcache **out, unsigned bits);
void nsigcache_free(nsigcache *c);
/* signed_op_verify(op) through the cache: WEFT_OK at once if (op->id, op->sig) verified before;
 * otherwise the verification's result, a success being recorded.  c may be NULL (no cache). */
WEFT_MUST_USE weft_err nsigcache_verify(nsigcache *c, const signed_op_t *op);
/* Counters (tests, benchmarks): lookups that hit, verifications done through the cache. */
void nsigcache_stats(nsigcache *c, uint64_t *hits, uint64_t *verified);

#endif
