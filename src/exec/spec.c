/* The speculative executor (DESIGN §4.3): a history of slot outputs on top of the final state,
 * contiguous from the final state's next slot.  Pushing executes the next slot over the history;
 * a blockclique change keeps the longest unchanged prefix and re-executes the rest; finalizing
 * writes the first slot's diff to the final state, reusing the cached output when its content is
 * the final content. */
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"

/* Size of one entry of a layer array (a pointer to a diff). */
#define LAYER_SIZE sizeof(void *)
WEFT_STATIC_ASSERT(sizeof(const state_diff_t *) == sizeof(void *), "layer pointer size");

struct exec {
    state_final_t *final;
    exec_config cfg;
    exec_vm_t vm;
    bool has_vm;
    exec_output *hist;           /* oldest first */
    const state_diff_t **layers; /* hist[i].diff, kept in step with hist */
    size_t n, cap;
};

weft_err exec_new(exec_t **out, state_final_t *final, const exec_config *cfg, const exec_vm_t *vm)
{
    WEFT_MISUSE(out && final && cfg);
    *out = NULL;
    if (!state_final_has_genesis(final))
        return WEFT_E_STATE;
    exec_t *e = calloc(1, sizeof *e);
    if (!e)
        return WEFT_E_NOMEM;
    e->final = final;
    e->cfg = *cfg;
    if (vm) {
        e->vm = *vm;
        e->has_vm = true;
    }
    *out = e;
    return WEFT_OK;
}

static void drop_from(exec_t *e, size_t i)
{
    while (e->n > i)
        exec_output_free(&e->hist[--e->n]);
}

void exec_free(exec_t *e)
{
    if (!e)
        return;
    drop_from(e, 0);
    free(e->hist);
    free(e->layers);
    free(e);
}

weft_err exec_next_slot(const exec_t *e, slot_t *out)
{
    if (e->n == 0)
        return state_final_next_slot(e->final, out);
    return slot_next(state_final_params(e->final), out, e->hist[e->n - 1].slot);
}

size_t exec_history_len(const exec_t *e) { return e->n; }

const exec_output *exec_history_at(const exec_t *e, size_t i)
{
    return i < e->n ? &e->hist[i] : NULL;
}

weft_err exec_push(exec_t *e, const exec_slot_in *in)
{
    slot_t next;
    weft_err err = exec_next_slot(e, &next);
    if (err)
        return err;
    if (slot_cmp(next, in->slot) != 0)
        return WEFT_E_EXEC_SLOT;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        exec_output *h = realloc(e->hist, cap * sizeof *h);
        if (!h)
            return WEFT_E_NOMEM;
        e->hist = h;
        const state_diff_t **l = realloc(e->layers, cap * LAYER_SIZE);
        if (!l)
            return WEFT_E_NOMEM;
        e->layers = l;
        e->cap = cap;
    }
    exec_output o;
    err = exec_slot(&o, &e->cfg, e->has_vm ? &e->vm : NULL, e->final, e->layers, e->n, in);
    if (err)
        return err;
    e->hist[e->n] = o;
    e->layers[e->n] = o.diff;
    e->n++;
    return WEFT_OK;
}

void exec_truncate(exec_t *e, slot_t from)
{
    size_t i = 0;
    while (i < e->n && slot_cmp(e->hist[i].slot, from) < 0)
        i++;
    drop_from(e, i);
}

/* Whether output o was executed from the same content as in. */
static bool same_content(const exec_output *o, const exec_slot_in *in)
{
    if (slot_cmp(o->slot, in->slot) != 0 || !address_eq(&o->producer, &in->producer) ||
        o->has_block != (in->block != NULL))
        return false;
    return !in->block || block_id_eq(&o->block, &in->block->id);
}

weft_err exec_set_blockclique(exec_t *e, const exec_slot_in *slots, size_t n, size_t *executed)
{
    const model_params *p = state_final_params(e->final);
    slot_t s;
    weft_err err = state_final_next_slot(e->final, &s);
    if (executed)
        *executed = 0;
    for (size_t i = 0; !err && i < n; i++) {
        if (slot_cmp(slots[i].slot, s) != 0)
            return WEFT_E_EXEC_SLOT;
        if (i + 1 < n)
            err = slot_next(p, &s, s);
    }
    if (err)
        return err;
    size_t keep = 0;
    while (keep < e->n && keep < n && same_content(&e->hist[keep], &slots[keep]))
        keep++;
    drop_from(e, keep);
    for (size_t i = keep; i < n; i++) {
        if ((err = exec_push(e, &slots[i])))
            return err;
        if (executed)
            (*executed)++;
    }
    return WEFT_OK;
}

weft_err exec_finalize(exec_t *e, const exec_slot_in *in, bool *cache_hit, exec_output *finalized)
{
    slot_t next;
    weft_err err = state_final_next_slot(e->final, &next);
    if (err)
        return err;
    if (slot_cmp(next, in->slot) != 0)
        return WEFT_E_EXEC_SLOT;
    bool hit = e->n > 0 && same_content(&e->hist[0], in);
    if (cache_hit)
        *cache_hit = hit;
    exec_output o;
    if (hit) {
        o = e->hist[0];
    } else {
        drop_from(e, 0);
        err = exec_slot(&o, &e->cfg, e->has_vm ? &e->vm : NULL, e->final, NULL, 0, in);
        if (err)
            return err;
    }
    err = state_final_apply(e->final, in->slot, o.diff);
    if (err) {
        if (!hit)
            exec_output_free(&o);
        return err;
    }
    if (hit) {
        e->n--;
        memmove(e->hist, e->hist + 1, e->n * sizeof *e->hist);
        memmove(e->layers, e->layers + 1, e->n * LAYER_SIZE);
    }
    if (finalized)
        *finalized = o;
    else
        exec_output_free(&o);
    return WEFT_OK;
}

void exec_view(exec_t *e, state_view_t *v) { state_view_init(v, e->final, e->layers, e->n, NULL); }
