/* The ordered map behind diffs, the in-memory kv and view scans: an AVL tree keyed by
 * (table, key bytes), one allocation per node holding key and value, worst-case O(log n) with no
 * hashing (keys can be chosen by contract authors: no collision flooding). */
#include <stdlib.h>
#include <string.h>

#include "state/state_internal.h"

int state_key_cmp(uint8_t ta, const uint8_t *a, size_t alen, uint8_t tb, const uint8_t *b,
                  size_t blen)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

bool state_in_range(const uint8_t *key, size_t klen, const uint8_t *from, size_t flen,
                    const uint8_t *to, size_t tlen)
{
    if (state_key_cmp(0, key, klen, 0, from, flen) < 0)
        return false;
    return !to || state_key_cmp(0, key, klen, 0, to, tlen) < 0;
}

state_node *state_node_new(state_table t, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen, bool del)
{
    state_node *n = malloc(sizeof *n + klen + vlen);
    if (!n)
        return NULL;
    n->l = n->r = NULL;
    n->h = 1;
    n->table = (uint8_t)t;
    n->del = del;
    n->klen = (uint32_t)klen;
    n->vlen = (uint32_t)vlen;
    if (klen)
        memcpy(n->data, key, klen);
    if (vlen)
        memcpy(n->data + klen, val, vlen);
    return n;
}

static inline int ht(const state_node *n) { return n ? n->h : 0; }
static inline void fix(state_node *n)
{
    int a = ht(n->l), b = ht(n->r);
    n->h = 1 + (a > b ? a : b);
}
static state_node *rot_right(state_node *n)
{
    state_node *l = n->l;
    n->l = l->r;
    l->r = n;
    fix(n);
    fix(l);
    return l;
}
static state_node *rot_left(state_node *n)
{
    state_node *r = n->r;
    n->r = r->l;
    r->l = n;
    fix(n);
    fix(r);
    return r;
}
static state_node *balance(state_node *n)
{
    fix(n);
    int b = ht(n->l) - ht(n->r);
    if (b > 1) {
        if (ht(n->l->l) < ht(n->l->r))
            n->l = rot_left(n->l);
        return rot_right(n);
    }
    if (b < -1) {
        if (ht(n->r->r) < ht(n->r->l))
            n->r = rot_right(n->r);
        return rot_left(n);
    }
    return n;
}

static int node_cmp(const state_node *x, const state_node *n)
{
    return state_key_cmp(x->table, node_key(x), x->klen, n->table, node_key(n), n->klen);
}

static state_node *ins(state_node *n, state_node *x, state_node **old)
{
    if (!n) {
        x->l = x->r = NULL;
        x->h = 1;
        return x;
    }
    int c = node_cmp(x, n);
    if (c == 0) {
        x->l = n->l;
        x->r = n->r;
        x->h = n->h;
        n->l = n->r = NULL;
        *old = n;
        return x;
    }
    if (c < 0)
        n->l = ins(n->l, x, old);
    else
        n->r = ins(n->r, x, old);
    return balance(n);
}

state_node *state_map_insert(state_map *m, state_node *x)
{
    state_node *old = NULL;
    m->root = ins(m->root, x, &old);
    if (!old)
        m->count++;
    return old;
}

state_node *state_map_find(const state_map *m, state_table t, const uint8_t *key, size_t klen)
{
    state_node *n = m->root;
    while (n) {
        int c = state_key_cmp((uint8_t)t, key, klen, n->table, node_key(n), n->klen);
        if (c == 0)
            return n;
        n = c < 0 ? n->l : n->r;
    }
    return NULL;
}

/* Detaches the minimum of subtree n into *min; returns the new subtree. */
static state_node *take_min(state_node *n, state_node **min)
{
    if (!n->l) {
        *min = n;
        return n->r;
    }
    n->l = take_min(n->l, min);
    return balance(n);
}

static state_node *rem(state_node *n, state_table t, const uint8_t *key, size_t klen,
                       state_node **out)
{
    if (!n)
        return NULL;
    int c = state_key_cmp((uint8_t)t, key, klen, n->table, node_key(n), n->klen);
    if (c < 0) {
        n->l = rem(n->l, t, key, klen, out);
    } else if (c > 0) {
        n->r = rem(n->r, t, key, klen, out);
    } else {
        *out = n;
        state_node *l = n->l, *r = n->r;
        n->l = n->r = NULL;
        if (!r)
            return l;
        state_node *min;
        r = take_min(r, &min);
        min->l = l;
        min->r = r;
        return balance(min);
    }
    return balance(n);
}

state_node *state_map_remove(state_map *m, state_table t, const uint8_t *key, size_t klen)
{
    state_node *out = NULL;
    m->root = rem(m->root, t, key, klen, &out);
    if (out)
        m->count--;
    return out;
}

static void free_tree(state_node *n)
{
    while (n) {
        free_tree(n->l);
        state_node *r = n->r;
        free(n);
        n = r;
    }
}

void state_map_clear(state_map *m)
{
    free_tree(m->root);
    m->root = NULL;
    m->count = 0;
}

void state_map_iter_seek(state_map_iter *it, const state_map *m, state_table t, const uint8_t *key,
                         size_t klen)
{
    it->n = 0;
    state_node *n = m->root;
    while (n) {
        int c = state_key_cmp(n->table, node_key(n), n->klen, (uint8_t)t, key, klen);
        if (c >= 0) {
            WEFT_ASSERT(it->n < (int)WEFT_ARRAY_LEN(it->stack));
            it->stack[it->n++] = n;
            n = n->l;
        } else {
            n = n->r;
        }
    }
}

void state_map_iter_first(state_map_iter *it, const state_map *m)
{
    it->n = 0;
    for (state_node *n = m->root; n; n = n->l) {
        WEFT_ASSERT(it->n < (int)WEFT_ARRAY_LEN(it->stack));
        it->stack[it->n++] = n;
    }
}

state_node *state_map_iter_next(state_map_iter *it)
{
    if (it->n == 0)
        return NULL;
    state_node *n = it->stack[--it->n];
    for (state_node *c = n->r; c; c = c->l) {
        WEFT_ASSERT(it->n < (int)WEFT_ARRAY_LEN(it->stack));
        it->stack[it->n++] = c;
    }
    return n;
}
