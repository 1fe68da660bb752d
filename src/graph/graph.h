/* graph — the block graph core: weft's blockclique consensus (DESIGN §3, spec/blockclique.md).
 *
 * A graph holds the blocks of a T-thread block DAG that a node knows about and decides, block by
 * block, what each one is: waiting (for its parents, or for its slot), pending (part of the
 * incompatibility graph and of its maximal cliques), final, stale or invalid.  It maintains the
 * ancestors and descendants of pending blocks, their incompatibilities (thread, grandpa,
 * inherited), every maximal clique of compatible pending blocks, the blockclique (highest fitness,
 * ties to the smallest sum of block ids read as big-endian integers), stale pruning, finality and
 * the best parents for the next block.  The rules are normative in spec/blockclique.md;
 * docs/graph.md explains how this implementation follows them and what it costs.
 *
 * It is a pure core: no I/O, no clock, no globals.  The caller passes the current slot with each
 * input, collects the outputs (newly pending, final, stale, invalid, missing parents, blockclique
 * change) after each input, and may keep several graphs in one process.
 *
 * Inputs are outside data (blocks from peers): a bad block becomes invalid or stale with a reason,
 * or the call returns a named error; nothing a peer sends makes the core assert.  Misuse by the
 * caller (NULL where forbidden, a thread index >= T in a query) aborts through WEFT_MISUSE.
 * Allocation failure in the middle of an update poisons the graph: that call and every later
 * mutating call return E_NOMEM, and the owner must rebuild the graph (DESIGN: "state changes are
 * transactions that poison themselves").
 *
 * Bounds (all in graph_config): at most max_blocks_per_slot blocks per slot enter processing unless
 * the caller forces one; at most max_future blocks wait for their slot and at most max_waiting for
 * their parents (the oldest arrival is dropped first); at most max_discarded stale/invalid records
 * are remembered; final blocks older than anything a new block may still reference (plus
 * final_keep_periods) are pruned.
 *
 * Thread-safety: a graph is not thread-safe; one owner calls it.  Distinct graphs are independent.
 */
#ifndef WEFT_GRAPH_H
#define WEFT_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

/* A block's fitness (1 + endorsements) is at most this; graph_add rejects larger values. */
#define GRAPH_MAX_FITNESS (UINT64_C(1) << 32)
/* A block names at most this many parent ids (a block with a count other than T is invalid, but
 * the ids are kept until it is processed, so their number is bounded). */
#define GRAPH_MAX_PARENTS 256
/* Value of a bound meaning "no bound" (max_future, max_waiting, max_discarded) or, for
 * final_keep_periods, "never prune". */
#define GRAPH_UNBOUNDED SIZE_MAX
#define GRAPH_KEEP_ALL UINT64_MAX

typedef struct graph graph;

/* What the graph knows of a block. */
typedef enum graph_status {
    GRAPH_UNKNOWN = 0, /* never seen, forgotten (dropped, pruned, evicted), or only wanted */
    GRAPH_WAITING_PARENTS = 1, /* a parent is unknown or itself waiting */
    GRAPH_WAITING_SLOT = 2,    /* from the future: its slot is after the current slot */
    GRAPH_PENDING = 3,         /* in the incompatibility graph and in at least one clique */
    GRAPH_FINAL = 4,
    GRAPH_STALE = 5,
    GRAPH_INVALID = 6,
} graph_status;

/* Lower-case name of a status ("pending"), a static string. */
const char *graph_status_name(graph_status st);

typedef struct graph_config {
    uint32_t thread_count;        /* T, 1..MODEL_MAX_THREADS */
    uint64_t delta_f0;            /* Δf0: stale and final fitness threshold */
    uint32_t max_blocks_per_slot; /* blocks per slot accepted unless forced; default 2 */
    size_t max_future;            /* blocks waiting for their slot; default 1024 */
    size_t max_waiting;           /* blocks waiting for parents; default 2048 */
    size_t max_discarded;         /* stale and invalid blocks remembered; default 4096 */
    uint64_t final_keep_periods;  /* final blocks kept beyond the reference frontier; default 8 */
    /* Node mode (default true): a block whose period is not after the latest final period of its
     * thread is stale on arrival, before waiting for unknown parents (those may be pruned final
     * blocks).  False follows spec/blockclique.md literally (`weft graph replay`). */
    bool stale_old_on_arrival;
    uint64_t hash_seed; /* keys the id hash table (any value; a node may randomize it) */
} graph_config;

/* Fills *c with the defaults above for T threads and threshold delta_f0. */
void graph_config_init(graph_config *c, uint32_t thread_count, uint64_t delta_f0);

/* A block as the graph sees it.  All pointers are borrowed for the duration of the call. */
typedef struct graph_block {
    block_id_t id;
    slot_t slot;
    uint64_t fitness;          /* 1 + endorsements; 0..GRAPH_MAX_FITNESS */
    uint32_t parent_count;     /* T for a well-formed block; 0..GRAPH_MAX_PARENTS */
    const block_id_t *parents; /* parents[i] should be in thread i; NULL allowed when count is 0 */
} graph_block;

/* graph_add flags */
#define GRAPH_FORCE 1u /* bypass max_blocks_per_slot (the caller asked peers for this block) */
/* The block was already taken (pending or waiting) by the graph this one restarts
 * (graph_new_from): it is not judged stale on arrival, and the stale and finality decisions of the
 * graph update wait until the next input without this flag (graph_add or graph_tick), which makes
 * them once for the whole restored set.  So the restored blocks may be given in any order (the
 * node's block log gives them in (slot, id) order) and end as in the old graph. */
#define GRAPH_RESTORE 2u

/* An event about one block, in the outputs. */
typedef struct graph_event {
    block_id_t id;
    slot_t slot;
    weft_err reason; /* for stale and invalid: why (an E_GRAPH_* code); WEFT_OK otherwise */
} graph_event;

/* What changed since the last graph_outputs_clear.  Each list is in the order events happened,
 * except `final`, which is in (slot, id) order.  A block may appear in several lists (pending, then
 * final).  Pointers are borrowed: valid until the next call that mutates the graph. */
typedef struct graph_outputs {
    const graph_event *pending; /* newly pending */
    size_t n_pending;
    const graph_event *final; /* newly final, in slot order */
    size_t n_final;
    const graph_event *stale; /* newly stale, with reason */
    size_t n_stale;
    const graph_event *invalid; /* newly invalid, with reason: the network bans their senders */
    size_t n_invalid;
    const block_id_t *missing; /* parent ids newly wanted: ask peers for them */
    size_t n_missing;
    const graph_event *dropped; /* forgotten by a bound (queue overflow), without verdict */
    size_t n_dropped;
    bool blockclique_changed;   /* the blockclique's set of pending blocks changed */
    const block_id_t *bc_added; /* blocks that entered the blockclique */
    size_t n_bc_added;
    const block_id_t *bc_removed; /* blocks that left it other than by becoming final */
    size_t n_bc_removed;
} graph_outputs;

/* Creates a graph whose genesis blocks genesis[0..T-1] are final at slots (0, i).  *out receives a
 * new graph (free with graph_free).  Errors: E_GRAPH_CONFIG (T out of range, max_blocks_per_slot
 * 0, two equal genesis ids), E_NOMEM.  The same as graph_new_from with the T genesis blocks. */
WEFT_MUST_USE weft_err graph_new(graph **out, const graph_config *cfg, const block_id_t *genesis);

/* A final block a restarted graph starts from (from the node's block log). */
typedef struct graph_final_block {
    block_id_t id;
    slot_t slot;
    uint64_t fitness;                           /* 0..GRAPH_MAX_FITNESS */
    uint32_t parent_count;                      /* 0 for a genesis block (period 0), else T */
    block_id_t parents[MODEL_MAX_THREADS];      /* parents[t] in thread t */
    uint64_t parent_periods[MODEL_MAX_THREADS]; /* period of parents[t] */
} graph_final_block;

/* Creates a graph whose final blocks are finals[0..n) (any order): for every thread at least one,
 * the latest of each thread being its final head; older final blocks of a thread (any suffix of
 * its final chain below the head, e.g. the last few periods the node kept) are known too, so that
 * pending blocks naming them as parents are accepted exactly as by the graph that finalized them.
 * A parent named by a final block resolves to the given final block of that id when there is one;
 * otherwise it stands for a forgotten final block of that period, exactly as a pruned one does in
 * the graph that finalized them.  Then give the graph the blocks that were pending or waiting (any
 * order, with GRAPH_FORCE | GRAPH_RESTORE) and make one more input (graph_tick): the graph is then
 * the old one, except that it no longer knows the old one's stale and invalid blocks.
 * Errors, nothing created: E_GRAPH_CONFIG (the configuration as for graph_new; a thread without a
 * final block; duplicate ids; two final blocks of one slot; a slot thread >= T; a fitness above
 * GRAPH_MAX_FITNESS; a parent count other than 0 and T, or 0 after period 0; a parent slot not
 * before the block's, or after the head of its thread; a block whose parent in its own thread is
 * not the previous given final block of the thread; a parent id that is a given final block of
 * another slot), E_NOMEM.  The blocks are trusted to be final blocks of one graph (the node's
 * own log): compatibility between them is not checked. */
WEFT_MUST_USE weft_err graph_new_from(graph **out, const graph_config *cfg,
                                      const graph_final_block *finals, size_t n);
/* Frees a graph and everything it owns; NULL is ignored. */
void graph_free(graph *g);

/* Gives the graph one block.  `now` is the current slot (the latest slot whose time has come), or
 * NULL for "no clock" (no block is from the future).  The block and every waiting block that it
 * unblocks are processed before the call returns; read the results with graph_outputs.
 * Returns OK when the graph took the block (whatever its verdict), or, leaving the graph unchanged:
 *   E_GRAPH_DUPLICATE   the id is already known (any status but UNKNOWN);
 *   E_GRAPH_SLOT_FULL   max_blocks_per_slot blocks of this slot are known and flags lacks FORCE;
 *   E_GRAPH_FITNESS     fitness > GRAPH_MAX_FITNESS;
 *   E_GRAPH_PARENT_COUNT parent_count > GRAPH_MAX_PARENTS;
 *   E_NOMEM             (the graph is poisoned: see above).
 * A poisoned graph returns E_NOMEM. */
WEFT_MUST_USE weft_err graph_add(graph *g, const graph_block *b, const slot_t *now, unsigned flags);
/* The clock moved to `now`: blocks waiting for a slot <= now are processed, in (slot, id) order.
 * Errors: E_NOMEM (poisoned). */
WEFT_MUST_USE weft_err graph_tick(graph *g, slot_t now);

/* Outputs accumulated since the last clear (borrowed, see graph_outputs). */
const graph_outputs *graph_get_outputs(const graph *g);
/* Empties the outputs; the blockclique change is then measured from the current blockclique. */
void graph_outputs_clear(graph *g);

/* ---- queries (none mutates the graph; borrowed results as stated) ---------------------------- */

/* Status of a block; *reason (if not NULL) receives the reason for STALE/INVALID, else OK. */
graph_status graph_block_status(const graph *g, const block_id_t *id, weft_err *reason);
/* Number of remembered blocks with this status (UNKNOWN: the missing parents wanted). */
size_t graph_count(const graph *g, graph_status st);
/* Calls fn for every remembered block (any status but UNKNOWN), in no particular order.  fn must
 * not mutate the graph. */
typedef void (*graph_visit_fn)(void *ctx, const block_id_t *id, slot_t slot, graph_status st,
                               weft_err reason);
void graph_foreach(const graph *g, graph_visit_fn fn, void *ctx);
/* Writes up to cap wanted parent ids into out; returns how many are wanted in all. */
size_t graph_missing(const graph *g, block_id_t *out, size_t cap);

/* Cliques: the kept cliques (fitness >= blockclique fitness - Δf0) of the pending blocks, ordered
 * by fitness (higher first) then id sum (smaller first).  Index 0 is the blockclique.  With no
 * pending block there is one empty clique of fitness 0.  Indices are valid until the next
 * mutating call. */
size_t graph_clique_count(const graph *g);
uint64_t graph_clique_fitness(const graph *g, size_t i);
/* Writes up to cap block ids of clique i into out (in no particular order); returns its size. */
size_t graph_clique_blocks(const graph *g, size_t i, block_id_t *out, size_t cap);
/* Number of maximal cliques held, kept or not (for monitoring: the cost of an update grows with
 * it). */
size_t graph_clique_total(const graph *g);

/* Best parents for a new block: out[i] = the block of thread i with the highest period among the
 * latest final block of thread i and the blockclique's blocks of thread i.  out has T entries. */
void graph_best_parents(const graph *g, block_id_t *out);
/* The latest final block of thread t (< T) and its slot (either pointer may be NULL). */
void graph_latest_final(const graph *g, uint32_t t, block_id_t *id, slot_t *slot);
/* Whether two pending blocks are incompatible; false if either is not pending. */
bool graph_incompatible(const graph *g, const block_id_t *a, const block_id_t *b);
/* Whether pending block a is an ancestor of pending block d (false if either is not pending). */
bool graph_is_ancestor(const graph *g, const block_id_t *a, const block_id_t *d);
const graph_config *graph_get_config(const graph *g);

/* Checks every internal invariant (expensive: recomputes the maximal cliques from scratch, the
 * ancestor/descendant/incompatibility closure, the final chains) and panics on the first broken
 * one.  For tests; also run after every update in WEFT_VERIFY builds. */
void graph_check(const graph *g);

/* ---- replay: the scenario format of spec/blockclique.md -------------------------------------- */

/* Runs a scenario (JSON text of `len` bytes, not necessarily NUL-terminated) through a graph built
 * for it (stale_old_on_arrival false, every bound unlimited, every block forced, no clock) and
 * writes the JSON state lines of `weft graph replay` into a new NUL-terminated buffer *out (caller
 * frees): one line after every block when trace, else one line at the end.  On a malformed
 * scenario returns E_GRAPH_SCENARIO (or E_JSON for bad JSON syntax) and writes a one-line
 * explanation into err (errcap bytes, may be 0); *out is then NULL.  Other errors: E_NOMEM. */
WEFT_MUST_USE weft_err graph_replay(char **out, const char *json, size_t len, bool trace, char *err,
                                    size_t errcap);

#endif
