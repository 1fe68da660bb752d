/* graph/replay.c — the scenario tool of spec/blockclique.md: parse a scenario (JSON), feed its
 * blocks in file order to a graph configured to follow the spec literally (no clock, nothing
 * bounded or pruned, no per-slot limit), and print the graph's state as JSON lines.
 *
 * Text in, text out: no I/O here (`weft graph replay` reads the file and prints; the unit tests and
 * the fuzz target call graph_replay directly).  Block ids are the scenario's strings; the graph
 * sees BLAKE3(string) as the 32-byte id, which also orders same-slot blocks and breaks clique ties.
 * The output follows the reference format byte for byte: keys sorted, ", " and ": " separators,
 * strings escaped as ASCII with lower-case \u escapes, id lists sorted by byte order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "graph/graph.h"

typedef struct name {
    block_id_t id;
    const char *s;
} name;

typedef struct rblock {
    graph_block b;
    block_id_t *parents;
} rblock;

typedef struct replay {
    json_t *root;
    uint32_t T;
    uint64_t delta_f0;
    rblock *blocks;
    size_t nblocks;
    name *names;
    size_t nnames;
    char (*gnames)[16]; /* "g0".."g63" */
    char *err;
    size_t errcap;
} replay;

static weft_err fail(replay *r, weft_err e, const char *fmt, ...) WEFT_PRINTF(3, 4);
static weft_err fail(replay *r, weft_err e, const char *fmt, ...)
{
    if (r->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errcap, fmt, ap);
        va_end(ap);
    }
    return e;
}

static void id_of(block_id_t *out, const char *s) { crypto_blake3(out->h.b, s, strlen(s)); }

/* A non-negative JSON integer no larger than max. */
static bool get_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    const name *x = a, *y = b;
    return hash32_cmp(&x->id.h, &y->id.h);
}

static weft_err parse(replay *r, const char *json, size_t len)
{
    json_error_t jerr;
    r->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->root)
        return fail(r, WEFT_E_JSON, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(r->root))
        return fail(r, WEFT_E_GRAPH_SCENARIO, "the scenario is not a JSON object");
    uint64_t v;
    if (!get_uint(json_object_get(r->root, "thread_count"), MODEL_MAX_THREADS, &v) || v < 1)
        return fail(r, WEFT_E_GRAPH_SCENARIO, "thread_count: expected an integer in 1..%d",
                    MODEL_MAX_THREADS);
    r->T = (uint32_t)v;
    if (!get_uint(json_object_get(r->root, "delta_f0"), INT64_MAX, &r->delta_f0))
        return fail(r, WEFT_E_GRAPH_SCENARIO, "delta_f0: expected a non-negative integer");
    const json_t *blocks = json_object_get(r->root, "blocks");
    if (!json_is_array(blocks))
        return fail(r, WEFT_E_GRAPH_SCENARIO, "blocks: expected an array");
    r->nblocks = json_array_size(blocks);
    r->blocks = calloc(r->nblocks + 1, sizeof *r->blocks);
    r->names = calloc(r->nblocks + r->T, sizeof *r->names);
    r->gnames = calloc(r->T, sizeof *r->gnames);
    if (!r->blocks || !r->names || !r->gnames)
        return WEFT_E_NOMEM;
    for (uint32_t i = 0; i < r->T; i++) {
        snprintf(r->gnames[i], sizeof r->gnames[i], "g%u", i);
        r->names[r->nnames].s = r->gnames[i];
        id_of(&r->names[r->nnames++].id, r->gnames[i]);
    }
    for (size_t i = 0; i < r->nblocks; i++) {
        const json_t *jb = json_array_get(blocks, i);
        rblock *rb = &r->blocks[i];
        if (!json_is_object(jb))
            return fail(r, WEFT_E_GRAPH_SCENARIO, "blocks[%zu]: expected an object", i);
        const json_t *id = json_object_get(jb, "id");
        if (!json_is_string(id))
            return fail(r, WEFT_E_GRAPH_SCENARIO, "blocks[%zu].id: expected a string", i);
        const json_t *slot = json_object_get(jb, "slot");
        uint64_t period, thread;
        if (!json_is_array(slot) || json_array_size(slot) != 2 ||
            !get_uint(json_array_get(slot, 0), INT64_MAX, &period) ||
            !get_uint(json_array_get(slot, 1), INT64_MAX, &thread))
            return fail(r, WEFT_E_GRAPH_SCENARIO,
                        "blocks[%zu].slot: expected [period, thread], non-negative integers", i);
        const json_t *parents = json_object_get(jb, "parents");
        if (!json_is_array(parents) || json_array_size(parents) > GRAPH_MAX_PARENTS)
            return fail(r, WEFT_E_GRAPH_SCENARIO,
                        "blocks[%zu].parents: expected an array of at most %d ids", i,
                        GRAPH_MAX_PARENTS);
        uint64_t fitness = 1;
        const json_t *jf = json_object_get(jb, "fitness");
        if (jf && !get_uint(jf, GRAPH_MAX_FITNESS, &fitness))
            return fail(r, WEFT_E_GRAPH_SCENARIO,
                        "blocks[%zu].fitness: expected an integer in 0..%llu", i,
                        (unsigned long long)GRAPH_MAX_FITNESS);
        size_t np = json_array_size(parents);
        rb->parents = calloc(np + 1, sizeof *rb->parents);
        if (!rb->parents)
            return WEFT_E_NOMEM;
        for (size_t k = 0; k < np; k++) {
            const json_t *p = json_array_get(parents, k);
            if (!json_is_string(p))
                return fail(r, WEFT_E_GRAPH_SCENARIO, "blocks[%zu].parents[%zu]: expected a string",
                            i, k);
            id_of(&rb->parents[k], json_string_value(p));
        }
        const char *s = json_string_value(id);
        id_of(&rb->b.id, s);
        /* threads beyond 255 do not fit a slot; any thread >= T makes the block invalid anyway */
        rb->b.slot.period = period;
        rb->b.slot.thread = (uint8_t)(thread > 255 ? 255 : thread);
        rb->b.fitness = fitness;
        rb->b.parent_count = (uint32_t)np;
        rb->b.parents = rb->parents;
        r->names[r->nnames].id = rb->b.id;
        r->names[r->nnames++].s = s;
    }
    qsort(r->names, r->nnames, sizeof *r->names, name_cmp);
    return WEFT_OK;
}

static const char *name_of(const replay *r, const block_id_t *id)
{
    name key = {.id = *id};
    const name *n = bsearch(&key, r->names, r->nnames, sizeof *r->names, name_cmp);
    WEFT_ASSERT(n); /* every block the graph knows came from the scenario */
    return n->s;
}

/* ---- output --------------------------------------------------------------------------------- */

static void put_str(wr_t *w, const char *s) { wr_bytes(w, s, strlen(s)); }

static void put_u4(wr_t *w, unsigned cp)
{
    char buf[16];
    snprintf(buf, sizeof buf, "\\u%04x", cp & 0xffff);
    put_str(w, buf);
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii): input is valid UTF-8. */
static void put_json_string(wr_t *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    wr_u8(w, '"');
    while (*p) {
        unsigned cp;
        int len;
        if (*p < 0x80) {
            cp = *p;
            len = 1;
        } else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            len = 2;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            len = 3;
        } else {
            cp = *p & 0x07;
            len = 4;
        }
        for (int k = 1; k < len; k++) {
            WEFT_ASSERT(p[k] != 0);
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        p += len;
        switch (cp) {
        case '"':
            put_str(w, "\\\"");
            break;
        case '\\':
            put_str(w, "\\\\");
            break;
        case '\n':
            put_str(w, "\\n");
            break;
        case '\r':
            put_str(w, "\\r");
            break;
        case '\t':
            put_str(w, "\\t");
            break;
        case '\b':
            put_str(w, "\\b");
            break;
        case '\f':
            put_str(w, "\\f");
            break;
        default:
            if (cp >= 0x20 && cp < 0x7f) {
                wr_u8(w, (uint8_t)cp);
            } else if (cp < 0x10000) {
                put_u4(w, cp);
            } else {
                cp -= 0x10000;
                put_u4(w, 0xd800 | (cp >> 10));
                put_u4(w, 0xdc00 | (cp & 0x3ff));
            }
        }
    }
    wr_u8(w, '"');
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_names(wr_t *w, const char **v, size_t n)
{
    qsort(v, n, sizeof *v, str_cmp);
    wr_u8(w, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            put_str(w, ", ");
        put_json_string(w, v[i]);
    }
    wr_u8(w, ']');
}

enum { L_PENDING, L_FINAL, L_STALE, L_INVALID, L_WAITING, L_COUNT };

typedef struct collect {
    const replay *r;
    const char **v[L_COUNT];
    size_t n[L_COUNT];
} collect;

static void visit(void *vctx, const block_id_t *id, slot_t slot, graph_status st, weft_err reason)
{
    collect *c = vctx;
    int l;
    switch (st) {
    case GRAPH_PENDING:
        l = L_PENDING;
        break;
    case GRAPH_FINAL:
        l = L_FINAL;
        break;
    case GRAPH_STALE:
        l = L_STALE;
        break;
    case GRAPH_INVALID:
        l = L_INVALID;
        break;
    default:
        l = L_WAITING;
        break;
    }
    c->v[l][c->n[l]++] = name_of(c->r, id);
}

static weft_err put_state(wr_t *w, const replay *r, const graph *g)
{
    weft_err err = WEFT_E_NOMEM;
    collect c = {.r = r};
    size_t cap = r->nnames + 1;
    const char **ids = NULL;
    block_id_t *bids = malloc(cap * sizeof *bids);
    if (!bids)
        goto out;
    for (int l = 0; l < L_COUNT; l++)
        if (!(c.v[l] = malloc(cap * sizeof *c.v[l])))
            goto out;
    ids = malloc(cap * sizeof *ids);
    if (!ids)
        goto out;
    graph_foreach(g, visit, &c);

    put_str(w, "{\"best_parents\": [");
    graph_best_parents(g, bids);
    for (uint32_t t = 0; t < r->T; t++) {
        if (t)
            put_str(w, ", ");
        put_json_string(w, name_of(r, &bids[t]));
    }
    put_str(w, "], \"cliques\": [");
    for (size_t i = 0; i < graph_clique_count(g); i++) {
        size_t n = graph_clique_blocks(g, i, bids, cap);
        WEFT_ASSERT(n <= cap);
        for (size_t k = 0; k < n; k++)
            ids[k] = name_of(r, &bids[k]);
        if (i)
            put_str(w, ", ");
        put_str(w, "{\"blocks\": ");
        put_names(w, ids, n);
        char buf[64];
        snprintf(buf, sizeof buf, ", \"fitness\": %llu, \"is_blockclique\": %s}",
                 (unsigned long long)graph_clique_fitness(g, i), i == 0 ? "true" : "false");
        put_str(w, buf);
    }
    static const char *const keys[L_COUNT] = {"pending", "final", "stale", "invalid", "waiting"};
    static const int order[L_COUNT] = {L_FINAL, L_INVALID, L_PENDING, L_STALE, L_WAITING};
    put_str(w, "]");
    for (int k = 0; k < L_COUNT; k++) {
        int l = order[k];
        put_str(w, ", \"");
        put_str(w, keys[l]);
        put_str(w, "\": ");
        put_names(w, c.v[l], c.n[l]);
    }
    put_str(w, "}\n");
    err = wr_err(w) ? WEFT_E_NOMEM : WEFT_OK;
out:
    free(bids);
    free(ids);
    for (int l = 0; l < L_COUNT; l++)
        free(c.v[l]);
    return err;
}

weft_err graph_replay(char **out, const char *json, size_t len, bool trace, char *err,
                      size_t errcap)
{
    WEFT_MISUSE(out && (json || len == 0) && (err || errcap == 0));
    *out = NULL;
    if (errcap)
        err[0] = 0;
    replay r = {.err = err, .errcap = errcap};
    graph *g = NULL;
    wr_t w;
    wr_init(&w);
    weft_err e = parse(&r, json ? json : "", len);
    if (e)
        goto done;
    graph_config cfg;
    graph_config_init(&cfg, r.T, r.delta_f0);
    cfg.max_future = cfg.max_waiting = cfg.max_discarded = GRAPH_UNBOUNDED;
    cfg.final_keep_periods = GRAPH_KEEP_ALL;
    cfg.stale_old_on_arrival = false;
    block_id_t genesis[MODEL_MAX_THREADS];
    for (uint32_t i = 0; i < r.T; i++)
        id_of(&genesis[i], r.gnames[i]);
    e = graph_new(&g, &cfg, genesis);
    if (e)
        goto done;
    for (size_t i = 0; i < r.nblocks; i++) {
        e = graph_add(g, &r.blocks[i].b, NULL, GRAPH_FORCE);
        if (e == WEFT_E_GRAPH_DUPLICATE) /* a block seen twice: the second copy changes nothing */
            e = WEFT_OK;
        if (e)
            goto done;
        graph_outputs_clear(g);
        if (trace && (e = put_state(&w, &r, g)))
            goto done;
    }
    if (!trace && (e = put_state(&w, &r, g)))
        goto done;
    wr_u8(&w, 0);
    if (wr_err(&w)) {
        e = WEFT_E_NOMEM;
        goto done;
    }
    size_t outlen;
    *out = (char *)wr_take(&w, &outlen);
done:
    wr_free(&w);
    graph_free(g);
    if (r.blocks)
        for (size_t i = 0; i < r.nblocks; i++)
            free(r.blocks[i].parents);
    free(r.blocks);
    free(r.names);
    free(r.gnames);
    json_decref(r.root);
    return e;
}
