/* graph internals shared by the files of src/graph (not part of the module's contract).
 *
 * Layout of the state:
 *   - every block the graph remembers is a `gnode`, owned by a node table (so that references to
 *     it can be handles that go stale safely when it is pruned) and indexed by id in an open-
 *     addressing hash map;
 *   - blocks waiting for parents or for their slot sit in FIFO queues (oldest dropped first); a
 *     block whose parents are all known moves to a ready heap ordered by (slot, id);
 *   - each pending block owns a small index; ancestors, descendants and incompatibilities of
 *     pending blocks are bitsets over those indices (rows of `words` 64-bit words), and so is each
 *     maximal clique.  Final blocks leave the bitsets and form one chain per thread.
 * Files: graph.c (lifecycle, inputs, queues, outputs, queries), rules.c (processing one block:
 * the checks of spec/blockclique.md and insertion), cliques.c (maximal cliques, blockclique, stale,
 * finality, best parents), map.c (hash maps), replay.c (the scenario tool).
 */
#ifndef WEFT_GRAPH_INTERNAL_H
#define WEFT_GRAPH_INTERNAL_H

#include "graph/graph.h"

/* ---- bitsets over pending indices ----------------------------------------------------------- */

static inline bool bs_get(const uint64_t *r, uint32_t i) { return (r[i >> 6] >> (i & 63)) & 1; }
static inline void bs_set(uint64_t *r, uint32_t i) { r[i >> 6] |= UINT64_C(1) << (i & 63); }
static inline void bs_clr(uint64_t *r, uint32_t i) { r[i >> 6] &= ~(UINT64_C(1) << (i & 63)); }
static inline void bs_zero(uint64_t *r, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        r[k] = 0;
}
static inline void bs_copy(uint64_t *d, const uint64_t *s, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        d[k] = s[k];
}
static inline void bs_or(uint64_t *d, const uint64_t *s, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        d[k] |= s[k];
}
static inline bool bs_any_and(const uint64_t *a, const uint64_t *b, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        if (a[k] & b[k])
            return true;
    return false;
}
static inline bool bs_eq(const uint64_t *a, const uint64_t *b, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        if (a[k] != b[k])
            return false;
    return true;
}
static inline bool bs_subset(const uint64_t *a, const uint64_t *b, uint32_t w) /* a ⊆ b */
{
    for (uint32_t k = 0; k < w; k++)
        if (a[k] & ~b[k])
            return false;
    return true;
}
static inline bool bs_empty(const uint64_t *a, uint32_t w)
{
    for (uint32_t k = 0; k < w; k++)
        if (a[k])
            return false;
    return true;
}
static inline uint32_t bs_count(const uint64_t *a, uint32_t w)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < w; k++)
        n += (uint32_t)__builtin_popcountll(a[k]);
    return n;
}
/* The first set bit of row r (w words) at or after `from`, or -1.  Iterate with
 *   for (int32_t i = bs_next(r, w, 0); i >= 0; i = bs_next(r, w, i + 1)) */
static inline int32_t bs_next(const uint64_t *r, uint32_t w, int32_t from)
{
    uint32_t k = (uint32_t)from >> 6;
    if (k >= w)
        return -1;
    uint64_t m = r[k] & (~UINT64_C(0) << (from & 63));
    while (!m) {
        if (++k >= w)
            return -1;
        m = r[k];
    }
    return (int32_t)(k * 64 + (uint32_t)__builtin_ctzll(m));
}

/* ---- 320-bit sums of ids (big-endian 256-bit integers) --------------------------------------- */

#define IDSUM_LIMBS 5
typedef struct idsum {
    uint64_t l[IDSUM_LIMBS]; /* little-endian limbs */
} idsum_t;
/* The 256-bit big-endian integer of an id as 4 little-endian limbs. */
void idsum_limbs(uint64_t out[4], const block_id_t *id);
void idsum_add(idsum_t *s, const uint64_t v[4]);
void idsum_sub(idsum_t *s, const uint64_t v[4]);
int idsum_cmp(const idsum_t *a, const idsum_t *b);

/* ---- nodes ---------------------------------------------------------------------------------- */

/* Handle to a node: table slot + generation.  Dereferences to NULL once the node is freed. */
typedef struct gref {
    uint32_t slot;
    uint32_t gen;
} gref;

/* A processed block's parent in one thread: the handle (NULL once pruned) and its period. */
typedef struct gpar {
    gref ref;
    uint64_t period;
} gpar;

enum gn_state {
    GN_MISSING = 0, /* placeholder for a wanted parent: only `id` and `waiters` are meaningful */
    GN_FUTURE,      /* waiting for its slot (future queue) */
    GN_WAITING,     /* waiting for parents (waiting queue) */
    GN_READY,       /* parents known; in the ready heap, processed before the input returns */
    GN_PENDING,
    GN_FINAL,
    GN_STALE,
    GN_INVALID,
};

typedef struct gnode gnode;
struct gnode {
    block_id_t id;
    slot_t slot;
    uint64_t fitness;
    uint8_t state; /* enum gn_state */
    bool counted;  /* counts in the per-slot map */
    bool genesis;
    weft_err reason; /* STALE/INVALID */
    uint32_t self;   /* table slot */
    uint64_t seq;    /* arrival order */
    uint32_t npar;
    block_id_t *pid;  /* FUTURE/WAITING/READY: the parent ids as given (npar) */
    gpar *par;        /* PENDING/FINAL (non-genesis): one per thread (npar == T) */
    uint32_t unready; /* WAITING: references to parents not yet known */
    gnode **waiters;  /* MISSING/FUTURE/WAITING: one entry per reference from a waiting block */
    uint32_t nwaiters, capwaiters;
    gnode *qprev, *qnext; /* queue links (future, waiting or discarded queue) */
    uint32_t idx;         /* PENDING: index in the bitsets */
    gref final_child;     /* FINAL: the final block of the same thread whose parent it is */
    bool bc_reported;     /* in the blockclique snapshot of the last outputs clear */
};

typedef struct gqueue {
    gnode *head, *tail; /* head = oldest */
    size_t count;
} gqueue;

typedef struct gclique {
    uint64_t fit;
    idsum_t sum;
    uint32_t size;
} gclique;

/* A growable array of events/ids for the outputs. */
typedef struct evlist {
    graph_event *v;
    size_t n, cap;
} evlist;
typedef struct idlist {
    block_id_t *v;
    size_t n, cap;
} idlist;

typedef struct slotcount {
    slot_t slot;
    uint32_t count; /* 0 = empty entry */
} slotcount;

struct graph {
    graph_config cfg;
    uint32_t T;
    weft_err poisoned;
    uint64_t seq;

    /* node table */
    gnode **tab;
    uint32_t *tab_gen;
    uint32_t tab_cap, tab_top;
    uint32_t *tab_free;
    uint32_t n_tab_free;

    /* id -> node (linear probing, backward-shift deletion) */
    gnode **map;
    size_t map_cap, map_count;
    /* slot -> number of known blocks */
    slotcount *smap;
    size_t smap_cap, smap_count;

    gqueue future, waiting, discarded;
    gnode **heap; /* ready heap, min (slot, id) first */
    size_t n_heap, cap_heap;

    /* finality, per thread */
    uint64_t lfp[MODEL_MAX_THREADS];
    bool restoring; /* GRAPH_RESTORE inputs since the last settle: stale and final deferred */
    gnode *latest_final[MODEL_MAX_THREADS];
    gnode *oldest_final[MODEL_MAX_THREADS];
    size_t n_final; /* remembered final blocks */

    /* pending blocks: indices 0..cap-1, rows of `words` words */
    uint32_t cap, words, npending;
    uint64_t *pmask;
    uint64_t *anc, *desc, *inc;
    gnode **pnode;
    uint64_t *pfit;  /* fitness by index */
    uint64_t *pdfit; /* fitness sum of pending descendants by index */
    uint64_t (*plimbs)[4];
    uint32_t *free_idx;
    uint32_t n_free_idx;

    /* every maximal clique of the pending incompatibility graph */
    gclique *cl;
    uint64_t *clbits;
    uint32_t ncl, cap_cl;
    uint32_t *kept; /* kept clique indices in order; kept[0] = blockclique */
    uint32_t nkept;
    gnode *best[MODEL_MAX_THREADS];

    /* scratch rows (Bron–Kerbosch stack, temporaries) */
    uint64_t *scratch;
    size_t scratch_words;

    /* outputs */
    evlist o_pending, o_final, o_stale, o_invalid, o_dropped;
    idlist o_missing, o_bc_added, o_bc_removed;
    bool o_bc_changed;
    idlist bc_snap;    /* blockclique ids at the last clear, sorted */
    graph_outputs out; /* view refreshed after each input */
};

static inline uint64_t *ROW(uint64_t *base, uint32_t words, uint32_t i)
{
    return base + (size_t)i * words;
}

/* ---- graph.c -------------------------------------------------------------------------------- */
gnode *g_deref(const graph *g, gref r);
static inline gref g_ref(const graph *g, const gnode *n)
{
    gref r = {n->self, g->tab_gen[n->self]};
    return r;
}
/* Appends to an output list; false on allocation failure. */
WEFT_MUST_USE bool g_ev_push(evlist *l, const gnode *n, weft_err reason);
WEFT_MUST_USE bool g_id_push(idlist *l, const block_id_t *id);
/* Records a verdict of STALE or INVALID for n (leaving every other structure alone). */
WEFT_MUST_USE weft_err g_discard(graph *g, gnode *n, uint8_t state, weft_err reason);
void g_poison(graph *g, weft_err err);

/* ---- map.c ---------------------------------------------------------------------------------- */
gnode *map_get(const graph *g, const block_id_t *id);
WEFT_MUST_USE weft_err map_put(graph *g, gnode *n); /* n->id must be absent */
void map_del(graph *g, const gnode *n);
/* Per-slot counts. */
uint32_t smap_get(const graph *g, slot_t s);
WEFT_MUST_USE weft_err smap_inc(graph *g, slot_t s);
void smap_dec(graph *g, slot_t s);

/* ---- rules.c -------------------------------------------------------------------------------- */
/* Processes a READY block whose parents resolve to known nodes `P` (npar of them): applies the
 * checks and either records a verdict or inserts it as pending and runs the graph update. */
WEFT_MUST_USE weft_err rules_process(graph *g, gnode *b, gnode **P);

/* ---- cliques.c ------------------------------------------------------------------------------ */
/* Grows the pending index capacity so that one more block fits. */
WEFT_MUST_USE weft_err pend_reserve(graph *g);
/* Ensures scratch has room for n words. */
WEFT_MUST_USE weft_err scratch_reserve(graph *g, size_t n);
/* Updates the cliques after pending block b was inserted (its inc row is its incompatible set):
 * b joins every clique disjoint from that set when inherit_only, else the cliques holding b are
 * enumerated by Bron–Kerbosch; then stale pruning, finality, kept cliques and best parents. */
WEFT_MUST_USE weft_err cliques_update(graph *g, gnode *b, bool inherit_only);
/* Takes index i out of every row (anc, desc, inc, pending mask) and frees it; cliques untouched. */
void pend_remove(graph *g, gnode *n);
/* Sets up the clique set of an empty pending graph (one empty clique) and the best parents. */
WEFT_MUST_USE weft_err cliques_init(graph *g);
/* After GRAPH_RESTORE inputs: stale pruning and finality over the whole pending set, then the
 * kept order and best parents; clears g->restoring. */
WEFT_MUST_USE weft_err cliques_settle(graph *g);
/* Recomputes kept order and best parents (after genesis or any clique change). */
WEFT_MUST_USE weft_err cliques_order(graph *g);
/* Full check of the clique set against a from-scratch enumeration (graph_check). */
void cliques_check(const graph *g);

#endif
