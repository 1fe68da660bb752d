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
 * Bounded: a fixed direct-mapped table (a new entry replaces the one at its place); a miss only
 * costs a verification.  Thread-safe (API, network and actor threads), striped locks.
 */
#ifndef WEFT_NODE_SIGCACHE_H
#define WEFT_NODE_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "model/model.h"

typedef struct nsigcache nsigcache;

/* The node's cache: 2^16 entries (about 6 MiB), the operations of a few seconds at thousands of
 * operations per second. */
#define NODE_SIGCACHE_BITS 16

/* A cache of 2^bits entries (8 ≤ bits ≤ 24): E_INVAL, E_NOMEM. */
WEFT_MUST_USE weft_err nsigcache_new(nsigcache **out, unsigned bits);
void nsigcache_free(nsigcache *c);
/* signed_op_verify(op) through the cache: WEFT_OK at once if (op->id, op->sig) verified before;
 * otherwise the verification's result, a success being recorded.  c may be NULL (no cache). */
WEFT_MUST_USE weft_err nsigcache_verify(nsigcache *c, const signed_op_t *op);
/* Counters (tests, benchmarks): lookups that hit, verifications done through the cache. */
void nsigcache_stats(nsigcache *c, uint64_t *hits, uint64_t *verified);

#endif
