/* Function-body validation and translation into internal code, in one pass over the operators.
 *
 * The validator is the spec's algorithm (operand stack of types, control stack of labels,
 * polymorphic stack after unconditional branches).  Alongside each operand type the translator
 * keeps where the value lives:
 *   HOME   in the temporary slot of its stack height (T + height, T = number of locals);
 *   LOCAL  still in a local (local.get emits nothing; the value is read from the local directly);
 *   CONST  in the function's constant area (constants emit nothing; deduplicated; copied into the
 *          frame at entry, so the instructions read them like any slot).
 * A lazy LOCAL entry is copied to its home before that local is written (local.set/tee), and all
 * lazy locals are made HOME at block entries, so every control path agrees on where values are.
 * Branch targets are resolved here: backward offsets immediately, forward ones through patch
 * lists; values carried by a branch are copied into the target's home slots.  Peepholes: an
 * operator whose result is immediately stored by local.set writes the local directly (values still
 * waiting in that local are copied out before it), an integer comparison (or i32.eqz) consumed by
 * br_if / if becomes one compare-and-branch, and an integer constant operand becomes an immediate
 * of the instruction (_I forms; the constant area then keeps only the constants still read from
 * the frame).  After translation, the register pass (below) lets an instruction take the value
 * its predecessor produced from the interpreter's register instead of the frame.
 *
 * Gas (docs/vm.md): the body is cut into runs at every branch — br, br_if, br_table, if, the jump
 * over an else arm, return, unreachable.  A run is entered at the function's entry, after a
 * conditional branch (falling through) or at a branch target (a loop header, an else arm, the end
 * of a block or if that a branch leaves to); its cost is the sum of the cost-table costs of its
 * operators from there to the branch that ends it.  Falling through into a branch target does not
 * start a new run.  The cost is charged on entry, before any of its operators runs — by the
 * instruction that enters it: the call (the entry run), or the branch, which carries the gas of
 * the run it jumps to and, if conditional, of the run it falls into.  So a completed execution
 * pays exactly the costs of the operators it executed, with no instruction spent on metering.
 * Unreachable code is neither emitted nor charged.  Costs are patched into the branches when the
 * run they enter is closed (forward branches, fall-throughs) or at once (loops, already closed).
 */
#include <stdlib.h>

#include "vm/vm_internal.h"

enum { K_HOME, K_LOCAL, K_CONST };
#define T_ANY 0 /* unknown type (popped from a polymorphic stack) */

typedef struct ent {
    uint8_t type;
    uint8_t kind;
    uint32_t slot; /* frame slot (HOME/LOCAL) or constant index (CONST) */
} ent;

enum { C_FUNC = 0, C_BLOCK = 2, C_LOOP = 3, C_IF = 4 };

typedef struct ctl {
    uint8_t kind;
    bool unreachable; /* after an unconditional branch in this construct */
    bool dead;        /* the whole construct is unreachable code: nothing is emitted */
    bool has_else;
    bool branched; /* some branch targets this construct's end */
    uint32_t height;
    uint32_t np, nr;
    const uint8_t *params, *results;
    uint32_t label;       /* loop: word index of the header */
    uint32_t run_id;      /* loop: the run holding the header */
    uint64_t cost_before; /* loop: cost of that run before the header */
    uint32_t patches;     /* head of the patch list (1-based, 0 = empty) */
    uint32_t else_site;   /* if: word holding the offset of the jump to the else arm */
    bool else_hi;         /* ... in its hi half */
    uint32_t else_gsite;  /* if: gas field of that jump */
} ctl;

/* A forward branch waiting for its target (patch lists, one per control entry). */
typedef struct patch_t {
    uint32_t site;  /* bit 31: patch the hi half */
    uint32_t gsite; /* gas field of the branch (GS_NONE when unmetered) */
    uint32_t next;  /* 1-based, 0 = end of list */
} patch_t;

/* A gas field waiting for the final cost of the current run. */
typedef struct gpend_t {
    uint32_t gsite;
    uint64_t before; /* cost of the run before the entry point */
} gpend_t;

typedef struct pad_t {
    uint32_t gen, pos;
} pad_t;

typedef struct cx {
    vm_module *m;
    const vm_config *cfg;
    const void *const *H;
    vm_rd r; /* its sticky error is the first failure of any class */
    /* function */
    const vm_code *code;
    uint32_t np;  /* parameters */
    uint32_t pad; /* slots between parameters and locals, so that results fit below T */
    uint32_t T;   /* end of the locals = start of the constants (provisional temporaries) */
    const uint8_t *ltypes;
    uint32_t *lrefs; /* per local: LOCAL entries on the stack */
    uint32_t nlazy;  /* all LOCAL entries on the stack */
    ent *stk;
    uint32_t h, stkcap, maxh;
    ctl *ctls;
    uint32_t nctl, ctlcap;
    /* code */
    vm_op *ops;
    uint32_t n, cap;
    uint16_t *opc; /* the opcode of the instruction starting at each word (heads only) */
    uint32_t opccap;
    /* operand fields to fix up once the number of constants is known: word * 8 + field, where
     * field 0..3 is s.a..s.d and 4 is w.hi */
    uint32_t *fix; /* constant operands: become T + constant index */
    uint32_t nfix, fixcap;
    uint32_t *tfix; /* temporaries: move up past the constants */
    uint32_t ntfix, tfixcap;
    patch_t *pl;
    uint32_t npl, plcap;
    /* constants */
    vm_slot *cv;
    uint32_t ncv, cvcap;
    uint32_t *chash; /* open addressing: const index + 1 */
    uint32_t chcap;
    /* gas runs; a gas site is word * 2 + (1 for the hi half), GS_ENTRY for the function entry */
    bool metered;
    bool run_open;
    uint32_t run_id;
    uint64_t run_cost;
    uint64_t *run_final; /* final cost of each closed run, by id */
    uint32_t nruns, runcap;
    gpend_t *gp; /* sites waiting for the current run's final cost */
    uint32_t ngp, gpcap;
    uint64_t entry_gas;
    /* peepholes: the last emitted instruction, when its result is the top of the stack */
    uint32_t last_word; /* handler word, UINT32_MAX = none */
    uint32_t last_dst;  /* its destination slot */
    int last_field;     /* operand field of the destination in word last_word + 1 */
    /* br_table landing pads, per control entry */
    pad_t *pads;
    uint32_t pad_cap, gen;
} cx;

#define NONE UINT32_MAX
#define GS_NONE UINT32_MAX         /* no gas field (unmetered) */
#define GS_ENTRY (UINT32_MAX - 1u) /* the function's entry gas */

/* ---- failure -------------------------------------------------------------------------------- */

static bool bad(const cx *x) { return x->r.err != WEFT_OK; }

static void fail(cx *x, weft_err err, const char *why) { vm_rd_fail(&x->r, err, why); }

static void invalid(cx *x, const char *why) { fail(x, WEFT_E_VM_INVALID, why); }
static void malformed(cx *x, const char *why) { vm_rd_fail(&x->r, WEFT_E_VM_MALFORMED, why); }

/* Grows *p (elements of `size`) to hold at least `need`; false (E_NOMEM) on failure. */
static bool reserve(cx *x, void **p, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return true;
    uint32_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > UINT32_MAX / 2) {
            fail(x, WEFT_E_VM_LIMIT, "function too large");
            return false;
        }
        nc *= 2;
    }
    void *np = realloc(*p, (size_t)nc * size);
    if (!np) {
        fail(x, WEFT_E_NOMEM, "out of memory");
        return false;
    }
    *p = np;
    *cap = nc;
    return true;
}

/* ---- code emission -------------------------------------------------------------------------- */

static ctl *top(cx *x) { return &x->ctls[x->nctl - 1]; }
static bool live(cx *x) { return !top(x)->unreachable && !top(x)->dead; }

/* Appends an instruction with `words` zeroed operand words; returns the handler word's index. */
/* At most 16 code words per byte of the binary (plus a small allowance), over all functions. */
static uint64_t code_limit(const vm_module *m) { return (uint64_t)16 * m->size + 65536; }

static uint32_t emit(cx *x, enum vm_opcode op, uint32_t words)
{
    /* translated code is bounded by the module's size: no unbounded allocation from input */
    if ((uint64_t)x->m->code_words + x->n + 1 + words > code_limit(x->m)) {
        fail(x, WEFT_E_VM_LIMIT, "translated code too large");
        return 0;
    }
    if (!reserve(x, (void **)&x->ops, &x->cap, x->n + 1 + words, sizeof *x->ops) ||
        !reserve(x, (void **)&x->opc, &x->opccap, x->n + 1 + words, sizeof *x->opc))
        return 0;
    uint32_t at = x->n;
    x->ops[at].h = x->H[op];
    x->opc[at] = (uint16_t)op;
    for (uint32_t i = 1; i <= words; i++)
        x->ops[at + i].u64 = 0;
    x->n += 1 + words;
    x->last_word = NONE;
    return at;
}

/* Replaces the instruction at word `at` by `op` (same operand layout). */
static void set_op(cx *x, uint32_t at, enum vm_opcode op)
{
    x->ops[at].h = x->H[op];
    x->opc[at] = (uint16_t)op;
}

static void set_field(vm_op *w, int field, uint32_t v)
{
    switch (field) {
    case 0:
        w->s.a = (uint16_t)v;
        break;
    case 1:
        w->s.b = (uint16_t)v;
        break;
    case 2:
        w->s.c = (uint16_t)v;
        break;
    default:
        w->s.d = (uint16_t)v;
        break;
    }
}

static uint32_t get_field(const vm_op *w, int field)
{
    switch (field) {
    case 0:
        return w->s.a;
    case 1:
        return w->s.b;
    case 2:
        return w->s.c;
    default:
        return w->s.d;
    }
}

/* Frame slot of local i: parameters first, then the padding, then the declared locals. */
static uint32_t lslot(const cx *x, uint32_t i) { return i < x->np ? i : i + x->pad; }

static void add_fix(cx *x, uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t site)
{
    if (reserve(x, (void **)list, cap, *n + 1, sizeof **list))
        (*list)[(*n)++] = site;
}

/* Writes slot `slot` (a frame slot below T, or a provisional temporary slot at or above T) into
 * operand field `field` (0..3 = s.a..s.d) of word `word`. */
static void put_slot(cx *x, uint32_t word, int field, uint32_t slot)
{
    if (bad(x))
        return;
    set_field(&x->ops[word], field, slot);
    if (slot >= x->T)
        add_fix(x, &x->tfix, &x->ntfix, &x->tfixcap, word * 8 + (uint32_t)field);
}

/* Writes the location of `e` into operand field `field` of word `word`. */
static void put(cx *x, uint32_t word, int field, ent e)
{
    if (bad(x))
        return;
    if (e.kind == K_CONST) {
        set_field(&x->ops[word], field, e.slot);
        add_fix(x, &x->fix, &x->nfix, &x->fixcap, word * 8 + (uint32_t)field);
    } else if (e.kind == K_LOCAL) {
        set_field(&x->ops[word], field, lslot(x, e.slot));
    } else {
        put_slot(x, word, field, e.slot);
    }
}

/* Forgets the fix-up of the last temporary operand written, which must be `site`. */
static void drop_temp_fix(cx *x, uint32_t site)
{
    WEFT_ASSERT(x->ntfix > 0 && x->tfix[x->ntfix - 1] == site);
    x->ntfix--;
}

/* Remembers that the instruction at `at` wrote its result to `dst` through field `field`. */
static void set_last(cx *x, uint32_t at, int field, uint32_t dst)
{
    x->last_word = at;
    x->last_field = field;
    x->last_dst = dst;
}

/* Appends one zeroed word to the last instruction. */
static void emit_word(cx *x)
{
    if ((uint64_t)x->m->code_words + x->n + 1 > code_limit(x->m)) {
        fail(x, WEFT_E_VM_LIMIT, "translated code too large");
        return;
    }
    if (!reserve(x, (void **)&x->ops, &x->cap, x->n + 1, sizeof *x->ops))
        return;
    x->ops[x->n++].u64 = 0;
}

/* The immediate form of constant `e` of type `type`: true when it fits 32 bits (sign-extended to
 * 64 when read; an i32 or f32 slot uses only its low 32 bits). */
static bool const_imm(const cx *x, ent e, uint8_t type, uint32_t *imm)
{
    if (e.kind != K_CONST || e.slot >= x->ncv)
        return false;
    uint64_t bits = x->cv[e.slot].u64;
    *imm = (uint32_t)bits;
    if (type == VM_I32 || type == VM_F32)
        return true;
    return (uint64_t)(int64_t)(int32_t)(uint32_t)bits == bits;
}

static void emit_copy(cx *x, ent src, uint32_t dst)
{
    uint32_t imm;
    if (const_imm(x, src, src.type, &imm)) {
        uint32_t at = emit(x, VMOP_CONST32, 1);
        put_slot(x, at + 1, 1, dst);
        if (!bad(x))
            x->ops[at + 1].w.hi = imm;
        return;
    }
    uint32_t at = emit(x, VMOP_COPY, 1);
    put(x, at + 1, 0, src);
    put_slot(x, at + 1, 1, dst);
}

/* ---- gas runs ------------------------------------------------------------------------------ */

static void write_gas(cx *x, uint32_t gsite, uint64_t v)
{
    if (bad(x) || gsite == GS_NONE)
        return;
    if (v > UINT32_MAX) {
        fail(x, WEFT_E_VM_LIMIT, "a straight-line run costs more than 2^32-1 gas");
        return;
    }
    if (gsite == GS_ENTRY)
        x->entry_gas = v;
    else if (gsite & 1)
        x->ops[gsite / 2].w.hi = (uint32_t)v;
    else
        x->ops[gsite / 2].w.lo = (uint32_t)v;
}

/* Starts a run at the current position (metered functions only). */
static void run_begin(cx *x)
{
    if (!x->metered || bad(x))
        return;
    if (!reserve(x, (void **)&x->run_final, &x->runcap, x->nruns + 1, sizeof *x->run_final))
        return;
    x->run_open = true;
    x->run_cost = 0;
    x->run_id = x->nruns++;
    x->run_final[x->run_id] = 0;
}

/* Closes the current run: its cost is now known; patch every site waiting for it. */
static void run_end(cx *x)
{
    if (!x->run_open)
        return;
    for (uint32_t i = 0; i < x->ngp; i++)
        write_gas(x, x->gp[i].gsite, x->run_cost - x->gp[i].before);
    x->ngp = 0;
    x->run_final[x->run_id] = x->run_cost;
    x->run_open = false;
}

static void charge(cx *x, uint64_t cost)
{
    if (x->run_open && live(x))
        x->run_cost += cost;
}

/* Gas site `gsite` enters the current run, `before` into its cost. */
static void gas_wait(cx *x, uint32_t gsite, uint64_t before)
{
    if (gsite == GS_NONE || !x->run_open)
        return;
    if (reserve(x, (void **)&x->gp, &x->gpcap, x->ngp + 1, sizeof *x->gp))
        x->gp[x->ngp++] = (gpend_t){.gsite = gsite, .before = before};
}

/* Gas site `gsite` enters the current run at its present position. */
static void gas_here(cx *x, uint32_t gsite) { gas_wait(x, gsite, x->run_cost); }

/* Ends the current run at a conditional branch and starts the fall-through run, which the
 * branch's `fall` gas site enters. */
static void fall_through(cx *x, uint32_t fall)
{
    run_end(x);
    run_begin(x);
    gas_here(x, fall);
}

/* ---- branch patching ------------------------------------------------------------------------ */

static void set_offset(cx *x, uint32_t site, bool hi, uint32_t target)
{
    if (bad(x))
        return;
    int32_t off = (int32_t)((int64_t)target - (int64_t)site);
    if (hi)
        x->ops[site].w.hi = (uint32_t)off;
    else
        x->ops[site].w.lo = (uint32_t)off;
}

/* Makes the branch whose offset is at `site` (hi half if `hi`) and whose gas field is `gsite`
 * jump to the label of `c`: now for a loop (whose header run is either closed, so its cost is
 * known, or still open), at the construct's end otherwise. */
static void link(cx *x, ctl *c, uint32_t site, bool hi, uint32_t gsite)
{
    if (c->kind == C_LOOP) {
        set_offset(x, site, hi, c->label);
        if (x->run_open && c->run_id == x->run_id)
            gas_wait(x, gsite, c->cost_before);
        else if (gsite != GS_NONE)
            write_gas(x, gsite, x->run_final[c->run_id] - c->cost_before);
        return;
    }
    c->branched = true;
    if (!reserve(x, (void **)&x->pl, &x->plcap, x->npl + 1, sizeof *x->pl))
        return;
    x->pl[x->npl].site = site | (hi ? 0x80000000u : 0);
    x->pl[x->npl].gsite = gsite;
    x->pl[x->npl].next = c->patches;
    c->patches = ++x->npl;
}

/* Places the label of `c` at `target`, inside the current run. */
static void resolve(cx *x, ctl *c, uint32_t target)
{
    for (uint32_t p = c->patches; p && !bad(x); p = x->pl[p - 1].next) {
        uint32_t s = x->pl[p - 1].site;
        set_offset(x, s & 0x7fffffffu, s >> 31, target);
        gas_here(x, x->pl[p - 1].gsite);
    }
    c->patches = 0;
}

/* The gas site of word `word`'s lo (hi) half, or GS_NONE when unmetered. */
static uint32_t gsite_of(const cx *x, uint32_t word, bool hi)
{
    return x->metered ? word * 2 + (hi ? 1u : 0u) : GS_NONE;
}

/* ---- the operand stack ---------------------------------------------------------------------- */

static uint32_t push(cx *x, uint8_t type)
{
    if (!reserve(x, (void **)&x->stk, &x->stkcap, x->h + 1, sizeof *x->stk))
        return 0;
    uint32_t slot = x->T + x->h;
    x->stk[x->h++] = (ent){.type = type, .kind = K_HOME, .slot = slot};
    if (x->h > x->maxh)
        x->maxh = x->h;
    return slot;
}

static void push_ent(cx *x, ent e)
{
    if (!reserve(x, (void **)&x->stk, &x->stkcap, x->h + 1, sizeof *x->stk))
        return;
    if (e.kind == K_LOCAL) {
        x->lrefs[e.slot]++;
        x->nlazy++;
    }
    x->stk[x->h++] = e;
    if (x->h > x->maxh)
        x->maxh = x->h;
}

static ent pop(cx *x, uint8_t want)
{
    ctl *c = top(x);
    if (x->h == c->height) {
        if (!c->unreachable)
            invalid(x, "type mismatch");
        return (ent){.type = T_ANY, .kind = K_HOME, .slot = x->T + x->h};
    }
    ent e = x->stk[--x->h];
    if (e.kind == K_LOCAL) {
        x->lrefs[e.slot]--;
        x->nlazy--;
    }
    if (want != T_ANY && e.type != T_ANY && e.type != want)
        invalid(x, "type mismatch");
    return e;
}

/* Drops entries above height h (branch out, else). */
static void truncate_to(cx *x, uint32_t h)
{
    while (x->h > h) {
        ent e = x->stk[--x->h];
        if (e.kind == K_LOCAL) {
            x->lrefs[e.slot]--;
            x->nlazy--;
        }
    }
}

/* Moves the value at stack index i into its home slot. */
static void materialize(cx *x, uint32_t i)
{
    ent *e = &x->stk[i];
    if (e->kind == K_HOME)
        return;
    if (live(x))
        emit_copy(x, *e, x->T + i);
    if (e->kind == K_LOCAL) {
        x->lrefs[e->slot]--;
        x->nlazy--;
    }
    e->kind = K_HOME;
    e->slot = x->T + i;
}

/* Materializes every stack entry that is lazily local l. */
static void materialize_local(cx *x, uint32_t l)
{
    for (uint32_t i = 0; i < x->h && x->lrefs[l]; i++)
        if (x->stk[i].kind == K_LOCAL && x->stk[i].slot == l)
            materialize(x, i);
}

/* As materialize_local, with the copies placed before the last instruction emitted (which must be
 * x->last_word, at most 4 words, and must not read the slots the copies write): the instruction
 * and its operand fix-ups move after them. */
static void materialize_before_last(cx *x, uint32_t l)
{
    uint32_t lw = x->last_word, len = x->n - lw;
    WEFT_ASSERT(lw != NONE && len <= 4);
    vm_op saved[4];
    memcpy(saved, &x->ops[lw], sizeof(vm_op) * len);
    uint16_t op = x->opc[lw];
    uint32_t sf[4], st[4], nsf = 0, nst = 0; /* its fix-ups, last first */
    while (x->nfix && x->fix[x->nfix - 1] / 8 >= lw && nsf < 4)
        sf[nsf++] = x->fix[--x->nfix];
    while (x->ntfix && x->tfix[x->ntfix - 1] / 8 >= lw && nst < 4)
        st[nst++] = x->tfix[--x->ntfix];
    x->n = lw;
    materialize_local(x, l);
    uint32_t at = x->n, d = (at - lw) * 8;
    if ((uint64_t)x->m->code_words + at + len > code_limit(x->m)) {
        fail(x, WEFT_E_VM_LIMIT, "translated code too large");
        return;
    }
    if (bad(x) || !reserve(x, (void **)&x->ops, &x->cap, at + len, sizeof *x->ops) ||
        !reserve(x, (void **)&x->opc, &x->opccap, at + len, sizeof *x->opc))
        return;
    memcpy(&x->ops[at], saved, sizeof(vm_op) * len);
    x->opc[at] = op;
    x->n = at + len;
    while (nsf)
        add_fix(x, &x->fix, &x->nfix, &x->fixcap, sf[--nsf] + d);
    while (nst)
        add_fix(x, &x->tfix, &x->ntfix, &x->tfixcap, st[--nst] + d);
    x->last_word = at;
}

static void materialize_locals(cx *x, uint32_t from)
{
    for (uint32_t i = from; i < x->h && x->nlazy; i++)
        if (x->stk[i].kind == K_LOCAL)
            materialize(x, i);
}

/* Checks that the top n values have the types `types`.  The values stay on the stack; values
 * missing under a polymorphic stack are added as HOME entries, typed `types` unless `keep_any`
 * (br_table keeps them unknown, as the spec's algorithm does). */
static void check_top_k(cx *x, const uint8_t *types, uint32_t n, bool keep_any)
{
    ent tmp[16];
    ent *saved = n <= 16 ? tmp : malloc(sizeof(ent) * n);
    if (!saved) {
        fail(x, WEFT_E_NOMEM, "out of memory");
        return;
    }
    for (uint32_t i = n; i-- > 0;) {
        saved[i] = pop(x, types[i]);
        if (saved[i].type == T_ANY && !keep_any)
            saved[i].type = types[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        ent e = saved[i];
        if (e.kind == K_HOME)
            e.slot = x->T + x->h;
        push_ent(x, e);
    }
    if (saved != tmp)
        free(saved);
}

static void check_top(cx *x, const uint8_t *types, uint32_t n) { check_top_k(x, types, n, false); }

/* ---- constants ------------------------------------------------------------------------------ */

/* The constant-area index of `bits`, added if new; NONE when the area is full and `bits` is not
 * in it. */
static uint32_t const_index(cx *x, uint64_t bits)
{
    if (x->ncv * 2 >= x->chcap) {
        uint32_t nc = x->chcap ? x->chcap * 2 : 64;
        uint32_t *nh = calloc(nc, sizeof *nh);
        if (!nh) {
            fail(x, WEFT_E_NOMEM, "out of memory");
            return 0;
        }
        for (uint32_t i = 0; i < x->ncv; i++) {
            uint64_t hh = (x->cv[i].u64 * 0x9e3779b97f4a7c15ull) >> 32;
            uint32_t k = (uint32_t)hh & (nc - 1);
            while (nh[k])
                k = (k + 1) & (nc - 1);
            nh[k] = i + 1;
        }
        free(x->chash);
        x->chash = nh;
        x->chcap = nc;
    }
    uint64_t hh = (bits * 0x9e3779b97f4a7c15ull) >> 32;
    uint32_t k = (uint32_t)hh & (x->chcap - 1);
    while (x->chash[k]) {
        if (x->cv[x->chash[k] - 1].u64 == bits)
            return x->chash[k] - 1;
        k = (k + 1) & (x->chcap - 1);
    }
    if (x->ncv >= VM_MAX_CONSTS)
        return NONE;
    if (!reserve(x, (void **)&x->cv, &x->cvcap, x->ncv + 1, sizeof *x->cv))
        return 0;
    x->cv[x->ncv].u64 = bits;
    x->chash[k] = x->ncv + 1;
    return x->ncv++;
}

static void push_const(cx *x, uint8_t type, uint64_t bits)
{
    uint32_t k = live(x) ? const_index(x, bits) : 0;
    if (k != NONE) {
        push_ent(x, (ent){.type = type, .kind = K_CONST, .slot = k});
        return;
    }
    /* the constant area is full: materialize this one with an instruction */
    uint32_t dst = push(x, type);
    uint32_t at = emit(x, VMOP_CONST, 2);
    put_slot(x, at + 1, 2, dst);
    if (!bad(x))
        x->ops[at + 2].u64 = bits;
    set_last(x, at, 2, dst);
}

/* ---- control -------------------------------------------------------------------------------- */

static void push_ctl(cx *x, uint8_t kind, const uint8_t *params, uint32_t np,
                     const uint8_t *results, uint32_t nr)
{
    if (x->nctl >= x->cfg->limits.block_depth) {
        fail(x, WEFT_E_VM_LIMIT, "blocks nested too deeply");
        return;
    }
    if (!reserve(x, (void **)&x->ctls, &x->ctlcap, x->nctl + 1, sizeof *x->ctls))
        return;
    bool dead = x->nctl > 0 && !live(x);
    x->ctls[x->nctl++] = (ctl){.kind = kind,
                               .dead = dead,
                               .height = x->h - np,
                               .np = np,
                               .nr = nr,
                               .params = params,
                               .results = results};
}

static void label_types(const ctl *c, const uint8_t **types, uint32_t *n)
{
    if (c->kind == C_LOOP) {
        *types = c->params;
        *n = c->np;
    } else {
        *types = c->results;
        *n = c->nr;
    }
}

static void set_unreachable(cx *x)
{
    ctl *c = top(x);
    truncate_to(x, c->height);
    c->unreachable = true;
    run_end(x);
}

/* Copies the top n values into the home slots starting at height `base`. */
static void copy_values(cx *x, uint32_t base, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ent e = x->stk[x->h - n + i];
        uint32_t dst = x->T + base + i;
        if (e.kind != K_HOME || e.slot != dst)
            emit_copy(x, e, dst);
    }
}

static bool values_in_place(cx *x, uint32_t base, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ent e = x->stk[x->h - n + i];
        if (e.kind != K_HOME || e.slot != x->T + base + i)
            return false;
    }
    return true;
}

/* Return: results to slots 0..n-1 (the callee's parameters, where the caller reads them). */
static void emit_return(cx *x)
{
    uint32_t n = x->ctls[0].nr;
    /* a single result computed by the instruction just emitted: make it write the result slot
     * (everything in the frame is dead once the function returns) */
    if (n == 1 && x->last_word != NONE && x->h > top(x)->height) {
        ent e = x->stk[x->h - 1];
        if (e.kind == K_HOME && e.slot == x->last_dst) {
            drop_temp_fix(x, (x->last_word + 1) * 8 + (uint32_t)x->last_field);
            set_field(&x->ops[x->last_word + 1], x->last_field, 0);
            emit(x, VMOP_RETURN, 0);
            return;
        }
    }
    if (n > 1)
        for (uint32_t i = x->h - n; i < x->h; i++)
            if (x->stk[i].kind == K_LOCAL)
                materialize(x, i);
    for (uint32_t i = 0; i < n; i++) {
        ent e = x->stk[x->h - n + i];
        if (!(e.kind == K_LOCAL && lslot(x, e.slot) == i))
            emit_copy(x, e, i);
    }
    emit(x, VMOP_RETURN, 0);
}

/* Unconditional branch to control entry `c` carrying its label values (already type-checked). */
static void emit_branch(cx *x, ctl *c)
{
    if (c == &x->ctls[0]) {
        emit_return(x);
        return;
    }
    const uint8_t *types;
    uint32_t n;
    label_types(c, &types, &n);
    copy_values(x, c->height, n);
    uint32_t at = emit(x, x->metered ? VMOP_BR_G : VMOP_BR, 1);
    link(x, c, at + 1, false, gsite_of(x, at + 1, true));
}

static ctl *read_label(cx *x)
{
    uint32_t l = vm_rd_u32(&x->r);
    if (bad(x))
        return NULL;
    if (l >= x->nctl) {
        invalid(x, "unknown label");
        return NULL;
    }
    return &x->ctls[x->nctl - 1 - l];
}

/* Reads a block type into (params, results). */
static void read_blocktype(cx *x, const uint8_t **p, uint32_t *np, const uint8_t **r, uint32_t *nr)
{
    static const uint8_t single[] = {VM_I32, VM_I64, VM_F32, VM_F64, VM_FUNCREF, VM_EXTERNREF};
    *p = *r = NULL;
    *np = *nr = 0;
    int64_t v = vm_rd_sleb(&x->r, 33);
    if (bad(x))
        return;
    if (v == -64)
        return;
    if (v < 0) {
        uint8_t b = (uint8_t)(v & 0x7f);
        for (size_t i = 0; i < sizeof single; i++)
            if (single[i] == b) {
                if (vm_is_ref(b) && !(x->cfg->features & VM_FEAT_REF_TYPES)) {
                    fail(x, WEFT_E_VM_FEATURE, "reference types are not enabled");
                    return;
                }
                *r = &single[i];
                *nr = 1;
                return;
            }
        malformed(x, "malformed block type");
        return;
    }
    if ((uint64_t)v >= x->m->ntypes) {
        invalid(x, "unknown type");
        return;
    }
    const vm_functype *ft = &x->m->types[v].ft;
    if ((ft->nparams > 0 || ft->nresults > 1) && !(x->cfg->features & VM_FEAT_MULTI_VALUE)) {
        fail(x, WEFT_E_VM_FEATURE, "block parameters need the multi-value feature");
        return;
    }
    *p = ft->params;
    *np = ft->nparams;
    *r = ft->results;
    *nr = ft->nresults;
}

/* Compare-and-branch fusion: if the last instruction computed `cond` (just popped) by an integer
 * comparison or i32.eqz, rewrite it into a branch taken when the comparison is `when` (metered:
 * the variant with a gas word, appended).  Returns the word holding the branch offset (its hi half
 * when *hi), or NONE when not applicable; *gword receives the gas word (NONE if unmetered). */
static uint32_t fuse_branch(cx *x, ent cond, bool when, bool *hi, uint32_t *gword)
{
    *gword = NONE;
    if (x->last_word == NONE || cond.kind != K_HOME || cond.slot != x->last_dst || bad(x))
        return NONE;
    uint32_t at = x->last_word;
    const void *h = x->ops[at].h;
    x->last_word = NONE;
    if (x->H[VMOP_I32_EQZ] == h) {
        /* eqz(v) != 0  <=>  v == 0: a BR_IFZ (or BR_IF) on v, whose slot moves from field a to c */
        vm_op w = x->ops[at + 1];
        drop_temp_fix(x, (at + 1) * 8 + 1);
        set_op(x, at,
               when ? (x->metered ? VMOP_BR_IFZ_G : VMOP_BR_IFZ)
                    : (x->metered ? VMOP_BR_IF_G : VMOP_BR_IF));
        x->ops[at + 1].u64 = 0;
        x->ops[at + 1].s.c = w.s.a;
        if (x->nfix > 0 && x->fix[x->nfix - 1] == (at + 1) * 8 + 0)
            x->fix[x->nfix - 1] = (at + 1) * 8 + 2;
        if (x->ntfix > 0 && x->tfix[x->ntfix - 1] == (at + 1) * 8 + 0)
            x->tfix[x->ntfix - 1] = (at + 1) * 8 + 2;
        if (x->metered) {
            WEFT_ASSERT(x->n == at + 2);
            emit_word(x);
            *gword = at + 2;
        }
        *hi = false;
        return at + 1;
    }
    /* relation order: eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u; the negation of each */
    static const uint8_t negate[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};
    uint16_t op = x->opc[at];
    bool imm = op >= VMOP_I32_EQ_I && op <= VMOP_I64_GE_U_I;
    if (!imm && !(op >= VMOP_I32_EQ && op <= VMOP_I64_GE_U && op != VMOP_I64_EQZ))
        return NONE;
    int idx = imm                ? op - VMOP_I32_EQ_I
              : op < VMOP_I64_EQ ? op - VMOP_I32_EQ
                                 : op - VMOP_I64_EQ + 10;
    bool is64 = idx >= 10;
    int rel = idx % 10;
    if (!when)
        rel = negate[rel];
    /* the comparison's destination operand goes; BR_<cmp>_I keeps the immediate in a word of its
     * own, after the gas word when metered */
    drop_temp_fix(x, (at + 1) * 8 + (imm ? 1 : 2));
    int base = imm ? (x->metered ? VMOP_BRG_I32_EQ_I : VMOP_BR_I32_EQ_I)
                   : (x->metered ? VMOP_BRG_I32_EQ : VMOP_BR_I32_EQ);
    set_op(x, at, (enum vm_opcode)(base + (is64 ? 10 : 0) + rel));
    uint32_t value = x->ops[at + 1].w.hi;
    if (imm)
        x->ops[at + 1].s.b = 0;
    x->ops[at + 1].w.hi = 0;
    WEFT_ASSERT(x->n == at + 2);
    if (x->metered) {
        emit_word(x);
        *gword = at + 2;
    }
    if (imm) {
        emit_word(x);
        if (!bad(x))
            x->ops[x->n - 1].w.lo = value;
    }
    *hi = true;
    return at + 1;
}

/* ---- numeric operators ---------------------------------------------------------------------- */

/* The immediate form of an operator (0: none). */
static const uint16_t imm_op[VMOP_COUNT_] = {
#define Y(X, n) [VMOP_##n] = VMOP_##n##_I,
    VM_IMM_BINS(Y, _)
#undef Y
};

/* The operator computing the same with its operands swapped (0: none). */
#define MIRROR(t)                                                                                  \
    [VMOP_##t##_EQ] = VMOP_##t##_EQ, [VMOP_##t##_NE] = VMOP_##t##_NE,                              \
    [VMOP_##t##_LT_S] = VMOP_##t##_GT_S, [VMOP_##t##_LT_U] = VMOP_##t##_GT_U,                      \
    [VMOP_##t##_GT_S] = VMOP_##t##_LT_S, [VMOP_##t##_GT_U] = VMOP_##t##_LT_U,                      \
    [VMOP_##t##_LE_S] = VMOP_##t##_GE_S, [VMOP_##t##_LE_U] = VMOP_##t##_GE_U,                      \
    [VMOP_##t##_GE_S] = VMOP_##t##_LE_S, [VMOP_##t##_GE_U] = VMOP_##t##_LE_U,                      \
    [VMOP_##t##_ADD] = VMOP_##t##_ADD, [VMOP_##t##_MUL] = VMOP_##t##_MUL,                          \
    [VMOP_##t##_AND] = VMOP_##t##_AND, [VMOP_##t##_OR] = VMOP_##t##_OR,                            \
    [VMOP_##t##_XOR] = VMOP_##t##_XOR
static const uint16_t mirror_op[VMOP_COUNT_] = {MIRROR(I32), MIRROR(I64)};
#undef MIRROR

enum { N_UN = 1, N_BIN, N_RETYPE };
typedef struct numop {
    uint8_t form;
    uint8_t a; /* operand type */
    uint8_t r; /* result type */
    uint16_t op;
} numop;

#define UN(t, r, o)                                                                                \
    {                                                                                              \
        N_UN, VM_##t, VM_##r, VMOP_##o                                                             \
    }
#define BI(t, r, o)                                                                                \
    {                                                                                              \
        N_BIN, VM_##t, VM_##r, VMOP_##o                                                            \
    }
#define RT(t, r)                                                                                   \
    {                                                                                              \
        N_RETYPE, VM_##t, VM_##r, 0                                                                \
    }

static const numop numops[0xc5 - 0x45] = {
    UN(I32, I32, I32_EQZ),
    BI(I32, I32, I32_EQ),
    BI(I32, I32, I32_NE),
    BI(I32, I32, I32_LT_S),
    BI(I32, I32, I32_LT_U),
    BI(I32, I32, I32_GT_S),
    BI(I32, I32, I32_GT_U),
    BI(I32, I32, I32_LE_S),
    BI(I32, I32, I32_LE_U),
    BI(I32, I32, I32_GE_S),
    BI(I32, I32, I32_GE_U),
    UN(I64, I32, I64_EQZ),
    BI(I64, I32, I64_EQ),
    BI(I64, I32, I64_NE),
    BI(I64, I32, I64_LT_S),
    BI(I64, I32, I64_LT_U),
    BI(I64, I32, I64_GT_S),
    BI(I64, I32, I64_GT_U),
    BI(I64, I32, I64_LE_S),
    BI(I64, I32, I64_LE_U),
    BI(I64, I32, I64_GE_S),
    BI(I64, I32, I64_GE_U),
    BI(F32, I32, F32_EQ),
    BI(F32, I32, F32_NE),
    BI(F32, I32, F32_LT),
    BI(F32, I32, F32_GT),
    BI(F32, I32, F32_LE),
    BI(F32, I32, F32_GE),
    BI(F64, I32, F64_EQ),
    BI(F64, I32, F64_NE),
    BI(F64, I32, F64_LT),
    BI(F64, I32, F64_GT),
    BI(F64, I32, F64_LE),
    BI(F64, I32, F64_GE),
    UN(I32, I32, I32_CLZ),
    UN(I32, I32, I32_CTZ),
    UN(I32, I32, I32_POPCNT),
    BI(I32, I32, I32_ADD),
    BI(I32, I32, I32_SUB),
    BI(I32, I32, I32_MUL),
    BI(I32, I32, I32_DIV_S),
    BI(I32, I32, I32_DIV_U),
    BI(I32, I32, I32_REM_S),
    BI(I32, I32, I32_REM_U),
    BI(I32, I32, I32_AND),
    BI(I32, I32, I32_OR),
    BI(I32, I32, I32_XOR),
    BI(I32, I32, I32_SHL),
    BI(I32, I32, I32_SHR_S),
    BI(I32, I32, I32_SHR_U),
    BI(I32, I32, I32_ROTL),
    BI(I32, I32, I32_ROTR),
    UN(I64, I64, I64_CLZ),
    UN(I64, I64, I64_CTZ),
    UN(I64, I64, I64_POPCNT),
    BI(I64, I64, I64_ADD),
    BI(I64, I64, I64_SUB),
    BI(I64, I64, I64_MUL),
    BI(I64, I64, I64_DIV_S),
    BI(I64, I64, I64_DIV_U),
    BI(I64, I64, I64_REM_S),
    BI(I64, I64, I64_REM_U),
    BI(I64, I64, I64_AND),
    BI(I64, I64, I64_OR),
    BI(I64, I64, I64_XOR),
    BI(I64, I64, I64_SHL),
    BI(I64, I64, I64_SHR_S),
    BI(I64, I64, I64_SHR_U),
    BI(I64, I64, I64_ROTL),
    BI(I64, I64, I64_ROTR),
    UN(F32, F32, F32_ABS),
    UN(F32, F32, F32_NEG),
    UN(F32, F32, F32_CEIL),
    UN(F32, F32, F32_FLOOR),
    UN(F32, F32, F32_TRUNC),
    UN(F32, F32, F32_NEAREST),
    UN(F32, F32, F32_SQRT),
    BI(F32, F32, F32_ADD),
    BI(F32, F32, F32_SUB),
    BI(F32, F32, F32_MUL),
    BI(F32, F32, F32_DIV),
    BI(F32, F32, F32_MIN),
    BI(F32, F32, F32_MAX),
    BI(F32, F32, F32_COPYSIGN),
    UN(F64, F64, F64_ABS),
    UN(F64, F64, F64_NEG),
    UN(F64, F64, F64_CEIL),
    UN(F64, F64, F64_FLOOR),
    UN(F64, F64, F64_TRUNC),
    UN(F64, F64, F64_NEAREST),
    UN(F64, F64, F64_SQRT),
    BI(F64, F64, F64_ADD),
    BI(F64, F64, F64_SUB),
    BI(F64, F64, F64_MUL),
    BI(F64, F64, F64_DIV),
    BI(F64, F64, F64_MIN),
    BI(F64, F64, F64_MAX),
    BI(F64, F64, F64_COPYSIGN),
    RT(I64, I32),
    UN(F32, I32, I32_TRUNC_F32_S),
    UN(F32, I32, I32_TRUNC_F32_U),
    UN(F64, I32, I32_TRUNC_F64_S),
    UN(F64, I32, I32_TRUNC_F64_U),
    UN(I32, I64, I64_EXTEND_I32_S),
    UN(I32, I64, I64_EXTEND_I32_U),
    UN(F32, I64, I64_TRUNC_F32_S),
    UN(F32, I64, I64_TRUNC_F32_U),
    UN(F64, I64, I64_TRUNC_F64_S),
    UN(F64, I64, I64_TRUNC_F64_U),
    UN(I32, F32, F32_CONVERT_I32_S),
    UN(I32, F32, F32_CONVERT_I32_U),
    UN(I64, F32, F32_CONVERT_I64_S),
    UN(I64, F32, F32_CONVERT_I64_U),
    UN(F64, F32, F32_DEMOTE_F64),
    UN(I32, F64, F64_CONVERT_I32_S),
    UN(I32, F64, F64_CONVERT_I32_U),
    UN(I64, F64, F64_CONVERT_I64_S),
    UN(I64, F64, F64_CONVERT_I64_U),
    UN(F32, F64, F64_PROMOTE_F32),
    RT(F32, I32),
    RT(F64, I64),
    RT(I32, F32),
    RT(I64, F64),
    UN(I32, I32, I32_EXTEND8_S),
    UN(I32, I32, I32_EXTEND16_S),
    UN(I64, I64, I64_EXTEND8_S),
    UN(I64, I64, I64_EXTEND16_S),
    UN(I64, I64, I64_EXTEND32_S),
};

static const numop satops[8] = {
    UN(F32, I32, I32_TRUNC_SAT_F32_S), UN(F32, I32, I32_TRUNC_SAT_F32_U),
    UN(F64, I32, I32_TRUNC_SAT_F64_S), UN(F64, I32, I32_TRUNC_SAT_F64_U),
    UN(F32, I64, I64_TRUNC_SAT_F32_S), UN(F32, I64, I64_TRUNC_SAT_F32_U),
    UN(F64, I64, I64_TRUNC_SAT_F64_S), UN(F64, I64, I64_TRUNC_SAT_F64_U),
};

static void numeric(cx *x, const numop *o)
{
    if (o->form == N_RETYPE) {
        ent e = pop(x, o->a);
        e.type = o->r;
        if (e.kind == K_HOME)
            e.slot = x->T + x->h;
        push_ent(x, e);
        return;
    }
    if (o->form == N_UN) {
        ent a = pop(x, o->a);
        uint32_t dst = push(x, o->r);
        if (!live(x))
            return;
        uint32_t at = emit(x, o->op, 1);
        put(x, at + 1, 0, a);
        put_slot(x, at + 1, 1, dst);
        set_last(x, at, 1, dst);
        return;
    }
    ent b = pop(x, o->a);
    ent a = pop(x, o->a);
    uint32_t dst = push(x, o->r);
    if (!live(x))
        return;
    /* a constant operand becomes an immediate: the second one, or the first one of a commutative
     * operator or a comparison (mirrored) */
    uint32_t imm;
    uint16_t op = 0;
    if (imm_op[o->op] && const_imm(x, b, o->a, &imm)) {
        op = o->op;
    } else if (imm_op[mirror_op[o->op]] && const_imm(x, a, o->a, &imm)) {
        op = mirror_op[o->op];
        a = b;
    }
    if (op) {
        uint32_t at = emit(x, (enum vm_opcode)imm_op[op], 1);
        put(x, at + 1, 0, a);
        put_slot(x, at + 1, 1, dst);
        if (!bad(x))
            x->ops[at + 1].w.hi = imm;
        set_last(x, at, 1, dst);
        return;
    }
    uint32_t at = emit(x, o->op, 1);
    put(x, at + 1, 0, a);
    put(x, at + 1, 1, b);
    put_slot(x, at + 1, 2, dst);
    set_last(x, at, 2, dst);
}

/* ---- memory --------------------------------------------------------------------------------- */

static void need_memory(cx *x)
{
    if (x->m->nmems == 0)
        invalid(x, "unknown memory 0");
}

static uint32_t read_memarg(cx *x, uint32_t natural_log2)
{
    uint32_t align = vm_rd_u32(&x->r);
    uint32_t offset = vm_rd_u32(&x->r);
    if (bad(x))
        return 0;
    need_memory(x);
    if (align > natural_log2)
        invalid(x, "alignment must not be larger than natural");
    return offset;
}

static void load(cx *x, enum vm_opcode op, uint8_t type, uint32_t nat)
{
    uint32_t off = read_memarg(x, nat);
    ent a = pop(x, VM_I32);
    uint32_t dst = push(x, type);
    if (!live(x) || bad(x))
        return;
    uint32_t at = emit(x, op, 1);
    put(x, at + 1, 0, a);
    put_slot(x, at + 1, 1, dst);
    if (!bad(x))
        x->ops[at + 1].w.hi = off;
    set_last(x, at, 1, dst);
}

static void store(cx *x, enum vm_opcode op, uint8_t type, uint32_t nat)
{
    uint32_t off = read_memarg(x, nat);
    ent v = pop(x, type);
    ent a = pop(x, VM_I32);
    if (!live(x) || bad(x))
        return;
    uint32_t at = emit(x, op, 1);
    put(x, at + 1, 0, a);
    put(x, at + 1, 1, v);
    if (!bad(x))
        x->ops[at + 1].w.hi = off;
}

static void zero_byte(cx *x)
{
    uint8_t b = vm_rd_u8(&x->r);
    if (!bad(x) && b != 0)
        malformed(x, "zero byte expected");
}

/* ---- tables --------------------------------------------------------------------------------- */

static uint8_t table_type(cx *x, uint32_t t)
{
    if (t >= x->m->ntables) {
        invalid(x, "unknown table");
        return T_ANY;
    }
    return x->m->tables[t].elem_type;
}

static void need_reftypes(cx *x)
{
    if (!(x->cfg->features & VM_FEAT_REF_TYPES))
        fail(x, WEFT_E_VM_FEATURE, "reference types are not enabled");
}

/* ---- calls ---------------------------------------------------------------------------------- */

/* Pops the arguments of `ft` (materialized in their home slots) and returns their base height. */
static uint32_t call_args(cx *x, const vm_functype *ft)
{
    check_top(x, ft->params, ft->nparams);
    if (bad(x))
        return 0;
    uint32_t base = x->h - ft->nparams;
    for (uint32_t i = base; i < x->h; i++)
        materialize(x, i);
    truncate_to(x, base);
    return base;
}

static void call_results(cx *x, const vm_functype *ft)
{
    for (uint32_t i = 0; i < ft->nresults; i++)
        push(x, ft->results[i]);
}

/* ---- the operator loop ---------------------------------------------------------------------- */

static uint32_t op_cost(cx *x, uint32_t index) { return x->cfg->gas->op[index]; }

static void block_start(cx *x, uint8_t kind)
{
    const uint8_t *p, *r;
    uint32_t np, nr;
    read_blocktype(x, &p, &np, &r, &nr);
    if (bad(x))
        return;
    check_top(x, p, np);
    if (bad(x))
        return;
    /* every path into the construct must agree on where values are */
    if (x->nlazy && live(x))
        materialize_locals(x, 0);
    if (kind != C_BLOCK && live(x))
        for (uint32_t i = x->h - np; i < x->h; i++)
            materialize(x, i);
    push_ctl(x, kind, p, np, r, nr);
}

static void op_if(cx *x)
{
    bool was_live = live(x);
    ent cond = pop(x, VM_I32);
    /* peek the block type: fusing the condition's comparison is possible only when entering the
     * construct emits no copies (no parameters, no lazy locals) */
    const uint8_t *save = x->r.p;
    const uint8_t *p, *r;
    uint32_t np, nr;
    read_blocktype(x, &p, &np, &r, &nr);
    if (bad(x))
        return;
    x->r.p = save;
    bool hi = false;
    uint32_t site = NONE, gword = NONE;
    if (was_live && np == 0 && x->nlazy == 0)
        site = fuse_branch(x, cond, false, &hi, &gword);
    block_start(x, C_IF);
    if (bad(x))
        return;
    ctl *c = top(x);
    if (!was_live)
        return;
    if (site == NONE) {
        uint32_t at = emit(x, x->metered ? VMOP_BR_IFZ_G : VMOP_BR_IFZ, x->metered ? 2 : 1);
        put(x, at + 1, 2, cond);
        site = at + 1;
        hi = false;
        gword = x->metered ? at + 2 : NONE;
    }
    c->else_site = site;
    c->else_hi = hi;
    c->else_gsite = gword == NONE ? GS_NONE : gword * 2;
    /* the then arm is the fall-through */
    fall_through(x, gword == NONE ? GS_NONE : gword * 2 + 1);
}

static void op_else(cx *x)
{
    ctl *c = top(x);
    if (c->kind != C_IF || c->has_else) {
        malformed(x, "else without if");
        return;
    }
    check_top(x, c->results, c->nr);
    if (x->h != c->height + c->nr)
        invalid(x, "type mismatch");
    if (bad(x))
        return;
    if (live(x)) {
        copy_values(x, c->height, c->nr);
        uint32_t at = emit(x, x->metered ? VMOP_BR_G : VMOP_BR, 1);
        link(x, c, at + 1, false, gsite_of(x, at + 1, true));
    }
    run_end(x);
    truncate_to(x, c->height);
    for (uint32_t i = 0; i < c->np; i++)
        push(x, c->params[i]);
    c->unreachable = false;
    c->has_else = true;
    x->last_word = NONE;
    if (!c->dead) {
        /* the else arm: a branch target, entered by the if's jump */
        set_offset(x, c->else_site, c->else_hi, x->n);
        run_begin(x);
        gas_here(x, c->else_gsite);
    }
}

static void op_end(cx *x)
{
    ctl *c = top(x);
    check_top(x, c->results, c->nr);
    if (x->h != c->height + c->nr)
        invalid(x, "type mismatch");
    if (c->kind == C_IF && !c->has_else &&
        (c->np != c->nr || (c->np && memcmp(c->params, c->results, c->np) != 0)))
        invalid(x, "type mismatch");
    if (bad(x))
        return;
    if (c->kind == C_FUNC) {
        if (live(x))
            emit_return(x);
        run_end(x);
        truncate_to(x, c->height);
        x->nctl--;
        return;
    }
    if (live(x))
        copy_values(x, c->height, c->nr);
    if (!c->dead) {
        /* the code after `end` is reached by falling through or by branches to the label: it
         * continues the current run, or starts one when nothing falls through */
        if (!x->run_open)
            run_begin(x);
        uint32_t here = x->n;
        if (c->kind == C_IF && !c->has_else) {
            set_offset(x, c->else_site, c->else_hi, here);
            gas_here(x, c->else_gsite);
        }
        resolve(x, c, here);
        if (c->branched || c->kind == C_IF)
            x->last_word = NONE; /* a merge point: no peephole across it */
    }
    truncate_to(x, c->height);
    x->nctl--;
    for (uint32_t i = 0; i < c->nr; i++)
        push(x, c->results[i]);
}

static void op_br_if(cx *x)
{
    ctl *t = read_label(x);
    if (!t)
        return;
    const uint8_t *types;
    uint32_t n;
    label_types(t, &types, &n);
    bool was_live = live(x);
    ent cond = pop(x, VM_I32);
    bool hi = false;
    uint32_t site = NONE, gword = NONE;
    if (was_live && t != &x->ctls[0] && n == 0)
        site = fuse_branch(x, cond, true, &hi, &gword);
    check_top(x, types, n);
    if (bad(x))
        return;
    uint32_t fall = GS_NONE;
    if (was_live) {
        if (site != NONE) {
            link(x, t, site, hi, gword == NONE ? GS_NONE : gword * 2);
            fall = gword == NONE ? GS_NONE : gword * 2 + 1;
        } else if (t != &x->ctls[0] && values_in_place(x, t->height, n)) {
            uint32_t at = emit(x, x->metered ? VMOP_BR_IF_G : VMOP_BR_IF, x->metered ? 2 : 1);
            put(x, at + 1, 2, cond);
            link(x, t, at + 1, false, gsite_of(x, at + 2, false));
            fall = gsite_of(x, at + 2, true);
        } else {
            /* values to copy: skip the copies and the branch when not taken; the skip lands on
             * the fall-through run, whose gas it carries */
            uint32_t at = emit(x, x->metered ? VMOP_BR_IFZ_G : VMOP_BR_IFZ, x->metered ? 2 : 1);
            put(x, at + 1, 2, cond);
            emit_branch(x, t);
            set_offset(x, at + 1, false, x->n);
            fall = gsite_of(x, at + 2, false);
        }
    }
    if (was_live)
        fall_through(x, fall);
    x->last_word = NONE;
}

static void op_br_table(cx *x)
{
    uint32_t cnt = vm_rd_u32(&x->r);
    if (bad(x))
        return;
    if (cnt > (size_t)(x->r.end - x->r.p)) {
        malformed(x, "unexpected end");
        return;
    }
    uint32_t *labels = malloc(sizeof(uint32_t) * ((size_t)cnt + 1));
    if (!labels) {
        fail(x, WEFT_E_NOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i <= cnt && !bad(x); i++) {
        labels[i] = vm_rd_u32(&x->r);
        if (!bad(x) && labels[i] >= x->nctl)
            invalid(x, "unknown label");
    }
    ent idx = pop(x, VM_I32);
    if (bad(x))
        goto out;
    const uint8_t *dtypes;
    uint32_t arity;
    label_types(&x->ctls[x->nctl - 1 - labels[cnt]], &dtypes, &arity);
    for (uint32_t i = 0; i <= cnt && !bad(x); i++) {
        const uint8_t *types;
        uint32_t n;
        label_types(&x->ctls[x->nctl - 1 - labels[i]], &types, &n);
        if (n != arity) {
            invalid(x, "type mismatch");
            break;
        }
        check_top_k(x, types, n, true);
    }
    if (bad(x) || !live(x))
        goto out;
    for (uint32_t i = x->h - arity; i < x->h; i++)
        materialize(x, i);
    uint32_t at = emit(x, x->metered ? VMOP_BR_TABLE_G : VMOP_BR_TABLE, 1 + cnt + 1);
    if (bad(x))
        goto out;
    x->ops[at + 1].w.lo = cnt;
    put(x, at + 1, 2, idx);
    uint32_t old = x->pad_cap;
    if (!reserve(x, (void **)&x->pads, &x->pad_cap, x->nctl, sizeof *x->pads))
        goto out;
    if (x->pad_cap > old)
        memset(x->pads + old, 0, sizeof *x->pads * (x->pad_cap - old));
    x->gen++;
    for (uint32_t i = 0; i <= cnt && !bad(x); i++) {
        uint32_t ci = x->nctl - 1 - labels[i];
        ctl *t = &x->ctls[ci];
        uint32_t site = at + 2 + i;
        if (ci != 0 && values_in_place(x, t->height, arity)) {
            link(x, t, site, false, gsite_of(x, site, true));
            continue;
        }
        if (x->pads[ci].gen != x->gen) {
            x->pads[ci].gen = x->gen;
            x->pads[ci].pos = x->n;
            emit_branch(x, t);
        }
        set_offset(x, site, false, x->pads[ci].pos);
    }
out:
    free(labels);
    set_unreachable(x);
}

static void op_call_indirect(cx *x)
{
    uint32_t ti = vm_rd_u32(&x->r);
    uint32_t table = vm_rd_u32(&x->r);
    if (bad(x))
        return;
    if (table != 0)
        need_reftypes(x);
    if (bad(x))
        return;
    if (table_type(x, table) != VM_FUNCREF && !bad(x))
        invalid(x, "type mismatch");
    if (ti >= x->m->ntypes && !bad(x))
        invalid(x, "unknown type");
    if (bad(x))
        return;
    const vm_functype *ft = &x->m->types[ti].ft;
    ent idx = pop(x, VM_I32);
    uint32_t base = call_args(x, ft);
    if (bad(x))
        return;
    if (live(x)) {
        uint32_t at = emit(x, VMOP_CALL_INDIRECT, 2);
        if (!bad(x)) {
            x->ops[at + 1].w.lo = ti;
            x->ops[at + 2].w.lo = table;
        }
        put_slot(x, at + 1, 2, x->T + base);
        put(x, at + 1, 3, idx);
    }
    call_results(x, ft);
}

static void op_local(cx *x, uint8_t op)
{
    uint32_t l = vm_rd_u32(&x->r);
    if (bad(x))
        return;
    if (l >= x->T) {
        invalid(x, "unknown local");
        return;
    }
    uint8_t type = x->ltypes[l];
    if (op == 0x20) {
        push_ent(x, (ent){.type = type, .kind = K_LOCAL, .slot = l});
        return;
    }
    bool tee = op == 0x22;
    if (!live(x)) {
        (void)pop(x, type);
        if (tee)
            push(x, type);
        return;
    }
    /* can the instruction that produced the value write the local directly? */
    bool retarget = x->last_word != NONE && x->h > top(x)->height &&
                    x->stk[x->h - 1].kind == K_HOME && x->stk[x->h - 1].slot == x->last_dst;
    int lf = x->last_field;
    ent v = pop(x, type);
    if (bad(x))
        return;
    if (x->lrefs[l]) {
        /* values still waiting in the local are copied out before it changes: before the
         * producer when it is retargeted (it reads only operands above them on the stack) */
        if (retarget)
            materialize_before_last(x, l);
        else
            materialize_local(x, l);
    }
    uint32_t lw = x->last_word;
    if (retarget && !bad(x)) {
        drop_temp_fix(x, (lw + 1) * 8 + (uint32_t)lf);
        set_field(&x->ops[lw + 1], lf, lslot(x, l));
        x->last_word = NONE;
        if (tee)
            push_ent(x, (ent){.type = type, .kind = K_LOCAL, .slot = l});
        return;
    }
    if (!(v.kind == K_LOCAL && v.slot == l))
        emit_copy(x, v, lslot(x, l));
    if (tee) {
        if (v.kind == K_HOME)
            v.slot = x->T + x->h;
        push_ent(x, v);
    }
}

/* memory.init and data.drop need the data count section; a module without one that names a
 * segment it does not have is invalid rather than malformed (as the reference interpreter, which
 * checks indices of text modules before any binary rule, reports it). */
static void check_data_index(cx *x, uint32_t seg)
{
    const vm_module *m = x->m;
    if (bad(x))
        return;
    if (m->has_datacount ? seg >= m->datacount : seg >= m->ndatas)
        invalid(x, "unknown data segment");
    else if (!m->has_datacount)
        malformed(x, "data count section required");
}

static void op_fc(cx *x)
{
    uint32_t sub = vm_rd_u32(&x->r);
    if (bad(x))
        return;
    charge(x, op_cost(x, 256 + (sub < 256 ? sub : 255)));
    vm_module *m = x->m;
    if (sub < 8) {
        numeric(x, &satops[sub]);
        return;
    }
    switch (sub) {
    case 8: { /* memory.init */
        uint32_t seg = vm_rd_u32(&x->r);
        zero_byte(x);
        if (bad(x))
            return;
        need_memory(x);
        check_data_index(x, seg);
        ent n = pop(x, VM_I32), s = pop(x, VM_I32), d = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_MEMORY_INIT, 2);
        put(x, at + 1, 0, d);
        put(x, at + 1, 1, s);
        put(x, at + 1, 2, n);
        if (!bad(x))
            x->ops[at + 2].w.lo = seg;
        return;
    }
    case 9: { /* data.drop */
        uint32_t seg = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        check_data_index(x, seg);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_DATA_DROP, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = seg;
        return;
    }
    case 10:   /* memory.copy */
    case 11: { /* memory.fill */
        zero_byte(x);
        if (sub == 10)
            zero_byte(x);
        if (bad(x))
            return;
        need_memory(x);
        ent n = pop(x, VM_I32), v = pop(x, VM_I32), d = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, sub == 10 ? VMOP_MEMORY_COPY : VMOP_MEMORY_FILL, 1);
        put(x, at + 1, 0, d);
        put(x, at + 1, 1, v);
        put(x, at + 1, 2, n);
        return;
    }
    case 12: { /* table.init elem table */
        uint32_t seg = vm_rd_u32(&x->r);
        uint32_t t = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (t != 0)
            need_reftypes(x);
        uint8_t tt = table_type(x, t);
        if (bad(x))
            return;
        if (seg >= m->nelems) {
            invalid(x, "unknown elem segment");
            return;
        }
        if (m->elems[seg].type != tt) {
            invalid(x, "type mismatch");
            return;
        }
        ent n = pop(x, VM_I32), s = pop(x, VM_I32), d = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_TABLE_INIT, 2);
        if (!bad(x)) {
            x->ops[at + 1].w.lo = t;
            x->ops[at + 1].w.hi = seg;
        }
        put(x, at + 2, 0, d);
        put(x, at + 2, 1, s);
        put(x, at + 2, 2, n);
        return;
    }
    case 13: { /* elem.drop */
        uint32_t seg = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (seg >= m->nelems) {
            invalid(x, "unknown elem segment");
            return;
        }
        if (!live(x))
            return;
        uint32_t at = emit(x, VMOP_ELEM_DROP, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = seg;
        return;
    }
    case 14: { /* table.copy dst src */
        uint32_t td = vm_rd_u32(&x->r);
        uint32_t ts = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (td != 0 || ts != 0)
            need_reftypes(x);
        uint8_t a = table_type(x, td);
        uint8_t b = table_type(x, ts);
        if (bad(x))
            return;
        if (a != b) {
            invalid(x, "type mismatch");
            return;
        }
        ent n = pop(x, VM_I32), s = pop(x, VM_I32), d = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_TABLE_COPY, 2);
        if (!bad(x)) {
            x->ops[at + 1].w.lo = td;
            x->ops[at + 1].w.hi = ts;
        }
        put(x, at + 2, 0, d);
        put(x, at + 2, 1, s);
        put(x, at + 2, 2, n);
        return;
    }
    case 15:   /* table.grow */
    case 16:   /* table.size */
    case 17: { /* table.fill */
        uint32_t t = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        need_reftypes(x);
        uint8_t tt = table_type(x, t);
        if (bad(x))
            return;
        if (sub == 16) {
            uint32_t dst = push(x, VM_I32);
            if (!live(x))
                return;
            uint32_t at = emit(x, VMOP_TABLE_SIZE, 1);
            if (!bad(x))
                x->ops[at + 1].w.lo = t;
            put_slot(x, at + 1, 2, dst);
            return;
        }
        if (sub == 15) {
            ent n = pop(x, VM_I32), init = pop(x, tt);
            uint32_t dst = push(x, VM_I32);
            if (!live(x) || bad(x))
                return;
            uint32_t at = emit(x, VMOP_TABLE_GROW, 2);
            if (!bad(x))
                x->ops[at + 1].w.lo = t;
            put(x, at + 1, 2, init);
            put(x, at + 1, 3, n);
            put_slot(x, at + 2, 0, dst);
            return;
        }
        ent n = pop(x, VM_I32), v = pop(x, tt), d = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_TABLE_FILL, 2);
        if (!bad(x))
            x->ops[at + 1].w.lo = t;
        put(x, at + 1, 2, d);
        put(x, at + 2, 0, v);
        put(x, at + 2, 1, n);
        return;
    }
    default:
        malformed(x, "illegal opcode");
        return;
    }
}

static void operator(cx *x)
{
    vm_module *m = x->m;
    uint8_t op = vm_rd_u8(&x->r);
    if (bad(x))
        return;
    if (op != 0xfc)
        charge(x, op_cost(x, op));
    if (op >= 0x45 && op <= 0xc4) {
        numeric(x, &numops[op - 0x45]);
        return;
    }
    switch (op) {
    case 0x00: /* unreachable */
        if (live(x))
            emit(x, VMOP_UNREACHABLE, 0);
        set_unreachable(x);
        return;
    case 0x01: /* nop */
        return;
    case 0x02: /* block */
        block_start(x, C_BLOCK);
        return;
    case 0x03: { /* loop: its header is a branch target inside the current run */
        block_start(x, C_LOOP);
        if (bad(x))
            return;
        ctl *c = top(x);
        x->last_word = NONE;
        c->label = x->n;
        c->run_id = x->run_id;
        c->cost_before = x->run_cost;
        return;
    }
    case 0x04:
        op_if(x);
        return;
    case 0x05:
        op_else(x);
        return;
    case 0x0b:
        op_end(x);
        return;
    case 0x0c: { /* br */
        ctl *t = read_label(x);
        if (!t)
            return;
        const uint8_t *types;
        uint32_t n;
        label_types(t, &types, &n);
        check_top(x, types, n);
        if (bad(x))
            return;
        if (live(x))
            emit_branch(x, t);
        set_unreachable(x);
        return;
    }
    case 0x0d:
        op_br_if(x);
        return;
    case 0x0e:
        op_br_table(x);
        return;
    case 0x0f: /* return */
        check_top(x, x->ctls[0].results, x->ctls[0].nr);
        if (bad(x))
            return;
        if (live(x))
            emit_return(x);
        set_unreachable(x);
        return;
    case 0x10: { /* call */
        uint32_t f = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (f >= m->nfuncs) {
            invalid(x, "unknown function");
            return;
        }
        const vm_functype *ft = &m->types[m->func_type[f]].ft;
        uint32_t base = call_args(x, ft);
        if (bad(x))
            return;
        if (live(x)) {
            uint32_t at = emit(x, VMOP_CALL, 1);
            if (!bad(x)) {
                x->ops[at + 1].w.lo = f;
                x->ops[at + 1].w.hi = x->T + base;
                add_fix(x, &x->tfix, &x->ntfix, &x->tfixcap, (at + 1) * 8 + 4);
            }
        }
        call_results(x, ft);
        return;
    }
    case 0x11:
        op_call_indirect(x);
        return;
    case 0x1a: /* drop */
        (void)pop(x, T_ANY);
        return;
    case 0x1b:   /* select */
    case 0x1c: { /* select t */
        uint8_t want = T_ANY;
        if (op == 0x1c) {
            need_reftypes(x);
            uint32_t n = vm_rd_u32(&x->r);
            if (bad(x))
                return;
            if (n != 1) {
                invalid(x, "invalid result arity");
                return;
            }
            uint8_t b = vm_rd_u8(&x->r);
            if (bad(x))
                return;
            if (!vm_valtype_known(b)) {
                malformed(x, "malformed value type");
                return;
            }
            want = b;
        }
        ent c = pop(x, VM_I32);
        ent b = pop(x, want);
        ent a = pop(x, want);
        if (bad(x))
            return;
        uint8_t t = want;
        if (t == T_ANY) {
            t = a.type != T_ANY ? a.type : b.type;
            if ((a.type != T_ANY && !vm_is_num(a.type)) ||
                (b.type != T_ANY && !vm_is_num(b.type)) ||
                (a.type != T_ANY && b.type != T_ANY && a.type != b.type)) {
                invalid(x, "type mismatch");
                return;
            }
        }
        uint32_t dst = push(x, t);
        if (!live(x))
            return;
        uint32_t at = emit(x, VMOP_SELECT, 1);
        put(x, at + 1, 0, a);
        put(x, at + 1, 1, b);
        put(x, at + 1, 2, c);
        put_slot(x, at + 1, 3, dst);
        set_last(x, at, 3, dst);
        return;
    }
    case 0x20:
    case 0x21:
    case 0x22:
        op_local(x, op);
        return;
    case 0x23: { /* global.get */
        uint32_t g = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (g >= m->nglobals) {
            invalid(x, "unknown global");
            return;
        }
        uint32_t dst = push(x, m->globals[g].type);
        if (!live(x))
            return;
        uint32_t at = emit(x, VMOP_GLOBAL_GET, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = g;
        put_slot(x, at + 1, 2, dst);
        set_last(x, at, 2, dst);
        return;
    }
    case 0x24: { /* global.set */
        uint32_t g = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (g >= m->nglobals) {
            invalid(x, "unknown global");
            return;
        }
        if (!m->globals[g].mut) {
            invalid(x, "global is immutable");
            return;
        }
        ent v = pop(x, m->globals[g].type);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_GLOBAL_SET, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = g;
        put(x, at + 1, 2, v);
        return;
    }
    case 0x25:   /* table.get */
    case 0x26: { /* table.set */
        uint32_t t = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        need_reftypes(x);
        uint8_t tt = table_type(x, t);
        if (bad(x))
            return;
        if (op == 0x25) {
            ent i = pop(x, VM_I32);
            uint32_t dst = push(x, tt);
            if (!live(x) || bad(x))
                return;
            uint32_t at = emit(x, VMOP_TABLE_GET, 1);
            if (!bad(x))
                x->ops[at + 1].w.lo = t;
            put(x, at + 1, 2, i);
            put_slot(x, at + 1, 3, dst);
            return;
        }
        ent v = pop(x, tt);
        ent i = pop(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_TABLE_SET, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = t;
        put(x, at + 1, 2, i);
        put(x, at + 1, 3, v);
        return;
    }
    case 0x28:
        load(x, VMOP_LOAD32U, VM_I32, 2);
        return;
    case 0x29:
        load(x, VMOP_LOAD64, VM_I64, 3);
        return;
    case 0x2a:
        load(x, VMOP_LOAD32U, VM_F32, 2);
        return;
    case 0x2b:
        load(x, VMOP_LOAD64, VM_F64, 3);
        return;
    case 0x2c:
        load(x, VMOP_LOAD8S, VM_I32, 0);
        return;
    case 0x2d:
        load(x, VMOP_LOAD8U, VM_I32, 0);
        return;
    case 0x2e:
        load(x, VMOP_LOAD16S, VM_I32, 1);
        return;
    case 0x2f:
        load(x, VMOP_LOAD16U, VM_I32, 1);
        return;
    case 0x30:
        load(x, VMOP_LOAD8S, VM_I64, 0);
        return;
    case 0x31:
        load(x, VMOP_LOAD8U, VM_I64, 0);
        return;
    case 0x32:
        load(x, VMOP_LOAD16S, VM_I64, 1);
        return;
    case 0x33:
        load(x, VMOP_LOAD16U, VM_I64, 1);
        return;
    case 0x34:
        load(x, VMOP_LOAD32S, VM_I64, 2);
        return;
    case 0x35:
        load(x, VMOP_LOAD32U, VM_I64, 2);
        return;
    case 0x36:
        store(x, VMOP_STORE32, VM_I32, 2);
        return;
    case 0x37:
        store(x, VMOP_STORE64, VM_I64, 3);
        return;
    case 0x38:
        store(x, VMOP_STORE32, VM_F32, 2);
        return;
    case 0x39:
        store(x, VMOP_STORE64, VM_F64, 3);
        return;
    case 0x3a:
        store(x, VMOP_STORE8, VM_I32, 0);
        return;
    case 0x3b:
        store(x, VMOP_STORE16, VM_I32, 1);
        return;
    case 0x3c:
        store(x, VMOP_STORE8, VM_I64, 0);
        return;
    case 0x3d:
        store(x, VMOP_STORE16, VM_I64, 1);
        return;
    case 0x3e:
        store(x, VMOP_STORE32, VM_I64, 2);
        return;
    case 0x3f: { /* memory.size */
        zero_byte(x);
        if (bad(x))
            return;
        need_memory(x);
        uint32_t dst = push(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_MEMORY_SIZE, 1);
        put_slot(x, at + 1, 2, dst);
        set_last(x, at, 2, dst);
        return;
    }
    case 0x40: { /* memory.grow */
        zero_byte(x);
        if (bad(x))
            return;
        need_memory(x);
        ent d = pop(x, VM_I32);
        uint32_t dst = push(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_MEMORY_GROW, 1);
        put(x, at + 1, 0, d);
        put_slot(x, at + 1, 2, dst);
        return;
    }
    case 0x41:
        push_const(x, VM_I32, (uint32_t)(int32_t)vm_rd_sleb(&x->r, 32));
        return;
    case 0x42:
        push_const(x, VM_I64, (uint64_t)vm_rd_sleb(&x->r, 64));
        return;
    case 0x43: {
        if (x->r.end - x->r.p < 4) {
            malformed(x, "unexpected end");
            return;
        }
        uint32_t v;
        memcpy(&v, x->r.p, 4);
        x->r.p += 4;
        push_const(x, VM_F32, v);
        return;
    }
    case 0x44: {
        if (x->r.end - x->r.p < 8) {
            malformed(x, "unexpected end");
            return;
        }
        uint64_t v;
        memcpy(&v, x->r.p, 8);
        x->r.p += 8;
        push_const(x, VM_F64, v);
        return;
    }
    case 0xd0: { /* ref.null t */
        need_reftypes(x);
        uint8_t t = vm_rd_u8(&x->r);
        if (bad(x))
            return;
        if (!vm_is_ref(t)) {
            malformed(x, "malformed reference type");
            return;
        }
        push_const(x, t, 0);
        return;
    }
    case 0xd1: { /* ref.is_null */
        need_reftypes(x);
        ent a = pop(x, T_ANY);
        if (a.type != T_ANY && !vm_is_ref(a.type))
            invalid(x, "type mismatch");
        uint32_t dst = push(x, VM_I32);
        if (!live(x) || bad(x))
            return;
        uint32_t at = emit(x, VMOP_REF_IS_NULL, 1);
        put(x, at + 1, 0, a);
        put_slot(x, at + 1, 1, dst);
        return;
    }
    case 0xd2: { /* ref.func */
        need_reftypes(x);
        uint32_t f = vm_rd_u32(&x->r);
        if (bad(x))
            return;
        if (f >= m->nfuncs) {
            invalid(x, "unknown function");
            return;
        }
        if (!(m->declared[f / 8] & (1u << (f % 8)))) {
            invalid(x, "undeclared function reference");
            return;
        }
        uint32_t dst = push(x, VM_FUNCREF);
        if (!live(x))
            return;
        uint32_t at = emit(x, VMOP_REF_FUNC, 1);
        if (!bad(x))
            x->ops[at + 1].w.lo = f;
        put_slot(x, at + 1, 2, dst);
        return;
    }
    case 0xfc:
        op_fc(x);
        return;
    case 0xfd:
        fail(x, WEFT_E_VM_FEATURE, "SIMD is not supported");
        return;
    default:
        malformed(x, "illegal opcode");
        return;
    }
}

/* ---- syntax pre-pass ------------------------------------------------------------------------ */

/* The binary grammar of a body, checked before validation so that a malformed body is reported as
 * malformed even when an earlier operator is invalid (the spec decodes the whole module before
 * validating it): every operator is known, its immediates are well-formed, blocks nest properly
 * and the final `end` is the body's last byte. */
static weft_err syntax_check(const vm_code *c, const uint8_t *base, vm_diag *diag, uint32_t fidx)
{
    vm_rd r = {.p = c->body, .end = c->body + c->body_len, .base = base};
    uint64_t depth = 1;
    while (depth > 0 && vm_rd_ok(&r)) {
        uint8_t op = vm_rd_u8(&r);
        if (!vm_rd_ok(&r))
            break;
        if (op >= 0x45 && op <= 0xc4)
            continue;
        switch (op) {
        case 0x00:
        case 0x01:
        case 0x05:
        case 0x0f:
        case 0x1a:
        case 0x1b:
        case 0xd1:
            break;
        case 0x02:
        case 0x03:
        case 0x04:
            (void)vm_rd_sleb(&r, 33);
            depth++;
            break;
        case 0x0b:
            depth--;
            break;
        case 0x0c:
        case 0x0d:
        case 0x10:
        case 0x20:
        case 0x21:
        case 0x22:
        case 0x23:
        case 0x24:
        case 0x25:
        case 0x26:
        case 0xd2:
            (void)vm_rd_u32(&r);
            break;
        case 0x0e: {
            uint32_t n = vm_rd_u32(&r);
            for (uint64_t k = 0; k <= n && vm_rd_ok(&r); k++)
                (void)vm_rd_u32(&r);
            break;
        }
        case 0x11:
            (void)vm_rd_u32(&r);
            (void)vm_rd_u32(&r);
            break;
        case 0x1c: {
            uint32_t n = vm_rd_u32(&r);
            for (uint64_t k = 0; k < n && vm_rd_ok(&r); k++)
                (void)vm_rd_u8(&r);
            break;
        }
        case 0x3f:
        case 0x40:
            if (vm_rd_u8(&r) != 0 && vm_rd_ok(&r))
                vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "zero byte expected");
            break;
        case 0x41:
            (void)vm_rd_sleb(&r, 32);
            break;
        case 0x42:
            (void)vm_rd_sleb(&r, 64);
            break;
        case 0x43:
        case 0x44: {
            size_t n = op == 0x43 ? 4 : 8;
            if ((size_t)(r.end - r.p) < n)
                vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "unexpected end");
            else
                r.p += n;
            break;
        }
        case 0xd0:
            (void)vm_rd_u8(&r);
            break;
        case 0xfc: {
            uint32_t sub = vm_rd_u32(&r);
            if (!vm_rd_ok(&r) || sub < 8)
                break;
            switch (sub) {
            case 8:
                (void)vm_rd_u32(&r);
                __attribute__((fallthrough)); /* then the reserved byte */
            case 11:
                if (vm_rd_u8(&r) != 0 && vm_rd_ok(&r))
                    vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "zero byte expected");
                break;
            case 10:
                for (int k = 0; k < 2; k++)
                    if (vm_rd_u8(&r) != 0 && vm_rd_ok(&r))
                        vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "zero byte expected");
                break;
            case 9:
            case 13:
            case 15:
            case 16:
            case 17:
                (void)vm_rd_u32(&r);
                break;
            case 12:
            case 14:
                (void)vm_rd_u32(&r);
                (void)vm_rd_u32(&r);
                break;
            default:
                vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "illegal opcode");
                break;
            }
            break;
        }
        default:
            if (op >= 0x28 && op <= 0x3e) { /* memarg */
                (void)vm_rd_u32(&r);
                (void)vm_rd_u32(&r);
                break;
            }
            if (op == 0xfd)
                vm_rd_fail(&r, WEFT_E_VM_FEATURE, "SIMD is not supported");
            else
                vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "illegal opcode");
            break;
        }
    }
    if (vm_rd_ok(&r) && r.p != r.end)
        vm_rd_fail(&r, WEFT_E_VM_MALFORMED, "section size mismatch");
    if (!vm_rd_ok(&r))
        vm_diag_set(diag, r.err_off, "%s (function %u)", r.why, fidx);
    return r.err;
}

weft_err vm_syntax_check(const vm_module *m, uint32_t i, const uint8_t *base, vm_diag *diag)
{
    return syntax_check(&m->codes[i], base, diag, m->nfunc_imports + i);
}

/* ---- the constant area ---------------------------------------------------------------------- */

/* Keeps only the constants that some operand reads from the frame (the others became immediates),
 * so that a call copies no more than those. */
static void compact_consts(cx *x)
{
    if (x->ncv == 0)
        return;
    uint32_t *map = calloc(x->ncv, sizeof *map); /* new index + 1, 0 = unused */
    if (!map) {
        fail(x, WEFT_E_NOMEM, "out of memory");
        return;
    }
    for (uint32_t k = 0; k < x->nfix; k++)
        map[get_field(&x->ops[x->fix[k] / 8], (int)(x->fix[k] % 8))] = 1;
    uint32_t n = 0;
    for (uint32_t k = 0; k < x->ncv; k++)
        if (map[k]) {
            x->cv[n] = x->cv[k];
            map[k] = ++n;
        }
    for (uint32_t k = 0; k < x->nfix; k++) {
        vm_op *w = &x->ops[x->fix[k] / 8];
        int f = (int)(x->fix[k] % 8);
        set_field(w, f, map[get_field(w, f)] - 1);
    }
    x->ncv = n;
    free(map);
}

/* ---- the register pass ---------------------------------------------------------------------- */

/* Every instruction that produces a value also leaves it in the interpreter's register `reg`
 * (vm_internal.h).  Once a function is translated and its slots are final, this pass replaces an
 * instruction that reads the slot the previous instruction just wrote by its register variant,
 * which reads `reg` instead: a dependent chain then passes values in a register rather than
 * through memory.  The slot is still written, so nothing else changes.  The value in `reg` is
 * known only on the straight path from its producer: never at a branch target, nor after an
 * instruction that may change `reg` or slots behind the pass's back (calls, memory and table
 * operations, unconditional branches). */

enum {
    F_NONE,
    F_JMP,
    F_BRC,
    F_BRT,
    F_BRCMP,
    F_BRCMPI,
    F_UN,
    F_FUN,
    F_BIN,
    F_CBIN,
    F_FBIN,
    F_BINI,
    F_LOAD,
    F_STORE,
    F_CONST,
    F_IMM,
    F_SEL,
    F_GGET,
    F_GSET
};

/* Forms and words of every instruction; a register variant has those of its base. */
enum {
#define X(name, words, form) VMF_##name = F_##form,
    VM_OPS(X)
#undef X
};
static const uint8_t op_form[VMOP_COUNT_] = {
#define X(name, words, form) [VMOP_##name] = F_##form,
    VM_OPS(X)
#undef X
#define V(var, base, field) [VMOP_##var] = VMF_##base,
#define X(name, words, form) VM_VAR_##form(name, V)
        VM_OPS(X)
#undef X
#undef V
};

static const uint8_t op_words[VMOP_COUNT_] = {
#define X(name, words, form) [VMOP_##name] = words,
    VM_OPS(X)
#undef X
#define V(var, base, field) [VMOP_##var] = VMW_##var,
#define X(name, words, form) VM_VAR_##form(name, V)
        VM_OPS(X)
#undef X
#undef V
};

/* op_var[op][f]: the variant of base instruction op reading operand field f from reg (0: none). */
static const uint16_t op_var[VMOP_COUNT_][3] = {
#define V(var, base, field) [VMOP_##base][field] = VMOP_##var,
#define X(name, words, form) VM_VAR_##form(name, V)
    VM_OPS(X)
#undef X
#undef V
};

/* Words of the instruction starting at word i. */
static uint32_t insn_words(const cx *x, uint32_t i)
{
    uint16_t op = x->opc[i];
    if (op_form[op] == F_BRT)
        return 2 + x->ops[i + 1].w.lo + 1;
    return 1 + op_words[op];
}

/* The word a branch at `site` with offset `off` jumps to. */
static uint32_t branch_target(const cx *x, uint32_t site, uint32_t off)
{
    int64_t t = (int64_t)site + (int32_t)off;
    WEFT_ASSERT(t >= 0 && t <= (int64_t)x->n);
    return (uint32_t)t;
}

/* Calls STMT with site_ (the word holding a branch offset), hi_ (in its hi half) and t_ (the
 * target) for every branch of the instruction at word i. */
#define FOR_BRANCHES(x, i, STMT)                                                                   \
    do {                                                                                           \
        uint32_t site_ = (i) + 1, t_;                                                              \
        bool hi_ = false;                                                                          \
        (void)hi_;                                                                                 \
        switch (op_form[(x)->opc[i]]) {                                                            \
        case F_JMP:                                                                                \
        case F_BRC:                                                                                \
            t_ = branch_target(x, site_, (x)->ops[site_].w.lo);                                    \
            STMT;                                                                                  \
            break;                                                                                 \
        case F_BRCMP:                                                                              \
        case F_BRCMPI:                                                                             \
            hi_ = true;                                                                            \
            t_ = branch_target(x, site_, (x)->ops[site_].w.hi);                                    \
            STMT;                                                                                  \
            break;                                                                                 \
        case F_BRT:                                                                                \
            for (uint32_t k_ = 0; k_ <= (x)->ops[(i) + 1].w.lo; k_++) {                            \
                site_ = (i) + 2 + k_;                                                              \
                t_ = branch_target(x, site_, (x)->ops[site_].w.lo);                                \
                STMT;                                                                              \
            }                                                                                      \
            break;                                                                                 \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

#define HELD_ANY (NONE - 1u) /* no path seen yet (the analysis starts optimistic) */

static uint32_t held_meet(uint32_t a, uint32_t b)
{
    if (a == HELD_ANY)
        return b;
    if (b == HELD_ANY)
        return a;
    return a == b ? a : NONE;
}

/* The slot whose value reg holds after the instruction at word i, given `held` before it. */
static uint32_t held_after(const cx *x, uint32_t i, uint32_t held)
{
    const vm_op *w = &x->ops[i + 1];
    switch (op_form[x->opc[i]]) {
    case F_UN:
    case F_FUN:
    case F_BINI:
    case F_LOAD:
    case F_IMM:
        return w->s.b;
    case F_BIN:
    case F_CBIN:
    case F_FBIN:
    case F_CONST:
    case F_GGET:
        return w->s.c;
    case F_SEL:
        return w->s.d;
    case F_STORE:
    case F_GSET:
    case F_BRC:
    case F_BRCMP:
    case F_BRCMPI:
    case F_JMP: /* a branch keeps reg for its target */
    case F_BRT:
        return held;
    default:
        return NONE;
    }
}

static bool falls_through(const cx *x, uint32_t i)
{
    uint16_t op = x->opc[i];
    return op != VMOP_RETURN && op != VMOP_UNREACHABLE && op_form[op] != F_JMP &&
           op_form[op] != F_BRT;
}

/* The instruction computing what `op` computes with its operands s.a and s.b swapped (a
 * comparison mirrored), or 0. */
static uint16_t swapped_op(uint16_t op)
{
    /* relation order: eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u */
    static const uint8_t mirror_rel[10] = {0, 1, 4, 5, 2, 3, 8, 9, 6, 7};
    static const uint16_t bases[] = {VMOP_BR_I32_EQ, VMOP_BR_I64_EQ, VMOP_BRG_I32_EQ,
                                     VMOP_BRG_I64_EQ};
    if (op_form[op] == F_CBIN)
        return mirror_op[op];
    for (size_t k = 0; k < sizeof bases / sizeof bases[0]; k++)
        if (op >= bases[k] && op < bases[k] + 10)
            return (uint16_t)(bases[k] + mirror_rel[op - bases[k]]);
    return 0;
}

/* Makes the instruction at word i read the operand held in the register from it (its register
 * variant), swapping the operands of a commutative operator or a comparison when that one has a
 * variant for s.a only. */
static void use_register(cx *x, uint32_t i, uint32_t held)
{
    uint16_t op = x->opc[i];
    vm_op *w = &x->ops[i + 1];
    if (op_var[op][0] && w->s.a == held) {
        set_op(x, i, (enum vm_opcode)op_var[op][0]);
        return;
    }
    if (op_var[op][1] && w->s.b == held) {
        set_op(x, i, (enum vm_opcode)op_var[op][1]);
        return;
    }
    uint16_t sw = swapped_op(op);
    if (sw && op_var[sw][0] && w->s.b == held) {
        uint16_t a = w->s.a;
        w->s.a = w->s.b;
        w->s.b = a;
        set_op(x, i, (enum vm_opcode)op_var[sw][0]);
        return;
    }
    if (op_var[op][2] && w->s.c == held)
        set_op(x, i, (enum vm_opcode)op_var[op][2]);
}

/* One walk over the code: the value held at each instruction is that of its predecessors (the
 * previous instruction if it falls through; at a branch target also every branch to it, as
 * recorded in `in`).  Branches update `in`; returns whether `in` changed.  With `apply`, the
 * instructions reading the held slot become their register variants. */
static bool held_walk(cx *x, uint32_t *in, const uint8_t *tgt, bool apply)
{
    bool changed = false;
    uint32_t held = NONE; /* at the entry */
    bool falls = true;
    for (uint32_t i = 0; i < x->n; i += insn_words(x, i)) {
        if (tgt[i])
            held = held_meet(falls ? held : HELD_ANY, in[i]);
        else if (!falls)
            held = NONE;
        if (held == HELD_ANY)
            held = NONE; /* not reached (yet): assume nothing */
        FOR_BRANCHES(x, i, {
            uint32_t v = held_meet(in[t_], held);
            if (v != in[t_]) {
                in[t_] = v;
                changed = true;
            }
        });
        if (apply && held != NONE)
            use_register(x, i, held);
        held = held_after(x, i, held);
        falls = falls_through(x, i);
    }
    return changed;
}

static void register_pass(cx *x)
{
    uint8_t *tgt = calloc((size_t)x->n + 1, 1);
    uint32_t *in = malloc(sizeof *in * ((size_t)x->n + 1));
    if (!tgt || !in) {
        free(tgt);
        free(in);
        fail(x, WEFT_E_NOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < x->n; i += insn_words(x, i))
        FOR_BRANCHES(x, i, tgt[t_] = 1);
    for (uint32_t i = 0; i <= x->n; i++)
        in[i] = HELD_ANY;
    /* the values only descend (any -> a slot -> none): a few walks reach the fixed point; if
     * they do not, nothing is assumed at branch targets */
    bool stable = false;
    for (int pass = 0; pass < 8 && !stable; pass++)
        stable = !held_walk(x, in, tgt, false);
    if (!stable)
        for (uint32_t i = 0; i <= x->n; i++)
            in[i] = NONE;
    (void)held_walk(x, in, tgt, true);
    free(tgt);
    free(in);
}

/* ---- superinstructions --------------------------------------------------------------------- */

static const struct {
    uint16_t first, second, fused;
} pairs[] = {
#define F(x, y) {VMOP_##x, VMOP_##y, VMOP_F_##x##__##y},
    VM_PAIRS(F)
#undef F
};

static uint16_t pair_of(uint16_t first, uint16_t second)
{
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
        if (pairs[k].first == first && pairs[k].second == second)
            return pairs[k].fused;
    return 0;
}

/* Replaces each listed pair of instructions (VM_PAIRS) whose second one is no branch target by
 * the fused instruction: the operand words stay as they are, minus the second handler word, and
 * every branch offset is recomputed for the shorter code.  Runs last (the register pass has chosen
 * the variants the pairs name). */
static void fuse_pass(cx *x)
{
    uint8_t *tgt = calloc((size_t)x->n + 1, 1);
    uint32_t *map = malloc(sizeof *map * ((size_t)x->n + 1)); /* old word -> new word */
    vm_op *out = malloc(sizeof *out * ((size_t)x->n + 1));
    if (!tgt || !map || !out) {
        fail(x, WEFT_E_NOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < x->n; i += insn_words(x, i))
        FOR_BRANCHES(x, i, tgt[t_] = 1);
    uint32_t j = 0;
    for (uint32_t i = 0; i < x->n;) {
        uint32_t li = insn_words(x, i), k = i + li;
        uint16_t f = k < x->n && !tgt[k] ? pair_of(x->opc[i], x->opc[k]) : 0;
        out[j] = f ? (vm_op){.h = x->H[f]} : x->ops[i];
        map[i] = j;
        for (uint32_t w = 1; w < li; w++) {
            out[j + w] = x->ops[i + w];
            map[i + w] = j + w;
        }
        j += li;
        i = k;
        if (f) {
            uint32_t lk = insn_words(x, k);
            map[k] = j - 1; /* never a target */
            for (uint32_t w = 1; w < lk; w++) {
                out[j - 1 + w] = x->ops[k + w];
                map[k + w] = j - 1 + w;
            }
            j += lk - 1;
            i = k + lk;
        }
    }
    map[x->n] = j;
    for (uint32_t i = 0; i < x->n; i += insn_words(x, i))
        FOR_BRANCHES(x, i, {
            uint32_t off = (uint32_t)((int64_t)map[t_] - (int64_t)map[site_]);
            if (hi_)
                out[map[site_]].w.hi = off;
            else
                out[map[site_]].w.lo = off;
        });
    free(x->ops);
    x->ops = out;
    x->cap = x->n + 1;
    out = NULL;
    x->n = j; /* x->opc no longer describes the code */
done:
    free(tgt);
    free(map);
    free(out);
}

/* ---- one function --------------------------------------------------------------------------- */

static void cx_free(cx *x)
{
    free(x->lrefs);
    free(x->stk);
    free(x->ctls);
    free(x->ops);
    free(x->opc);
    free(x->fix);
    free(x->tfix);
    free(x->pl);
    free(x->cv);
    free(x->chash);
    free(x->pads);
    free(x->run_final);
    free(x->gp);
}

weft_err vm_compile(vm_module *m, uint32_t i, const uint8_t *base, vm_diag *diag)
{
    vm_code *c = &m->codes[i];
    const vm_functype *ft = &m->types[m->func_type[m->nfunc_imports + i]].ft;
    cx x = {.m = m, .cfg = &m->cfg, .H = vm_interp_handlers(), .code = c};
    x.r.p = c->body;
    x.r.end = c->body + c->body_len;
    x.r.base = base;
    x.np = c->nparams;
    x.pad = ft->nresults > ft->nparams ? ft->nresults - ft->nparams : 0;
    x.T = c->nparams + x.pad + c->nlocals;
    x.ltypes = c->local_types;
    x.last_word = NONE;
    weft_err err = WEFT_OK;

    if (x.T > VM_MAX_FRAME_SLOTS) {
        fail(&x, WEFT_E_VM_LIMIT, "too many locals");
        goto out;
    }
    x.lrefs = calloc((size_t)x.T + 1, sizeof *x.lrefs);
    if (!x.lrefs) {
        fail(&x, WEFT_E_NOMEM, "out of memory");
        goto out;
    }
    x.metered = m->cfg.metering;
    push_ctl(&x, C_FUNC, NULL, 0, ft->results, ft->nresults);
    run_begin(&x);
    gas_here(&x, GS_ENTRY);
    charge(&x, (uint64_t)m->cfg.gas->per_local * c->nlocals);
    while (x.nctl > 0 && !bad(&x))
        operator(&x);
    if (bad(&x))
        goto out;
    if (x.r.p != x.r.end) {
        malformed(&x, "section size mismatch");
        goto out;
    }
    compact_consts(&x);
    if (bad(&x))
        goto out;
    uint64_t slots = (uint64_t)x.T + x.ncv + x.maxh;
    if (slots > VM_MAX_FRAME_SLOTS) {
        fail(&x, WEFT_E_VM_LIMIT, "function frame exceeds 65535 slots");
        goto out;
    }
    m->code_words += x.n;
    /* frame: [params | padding | locals | constants | temporaries] */
    for (uint32_t k = 0; k < x.nfix; k++) {
        vm_op *w = &x.ops[x.fix[k] / 8];
        uint32_t f = x.fix[k] % 8;
        set_field(w, (int)f, x.T + (f == 0 ? w->s.a : f == 1 ? w->s.b : f == 2 ? w->s.c : w->s.d));
    }
    for (uint32_t k = 0; k < x.ntfix; k++) {
        vm_op *w = &x.ops[x.tfix[k] / 8];
        uint32_t f = x.tfix[k] % 8;
        if (f == 4)
            w->w.hi += x.ncv;
        else
            set_field(w, (int)f,
                      x.ncv + (f == 0   ? w->s.a
                               : f == 1 ? w->s.b
                               : f == 2 ? w->s.c
                                        : w->s.d));
    }
    register_pass(&x);
    if (!bad(&x))
        fuse_pass(&x);
    if (bad(&x))
        goto out;
    c->ops = vm_arena_alloc(&m->arena, sizeof *c->ops * (x.n ? x.n : 1));
    c->consts = vm_arena_alloc(&m->arena, sizeof *c->consts * (x.ncv ? x.ncv : 1));
    if (!c->ops || !c->consts) {
        fail(&x, WEFT_E_NOMEM, "out of memory");
        goto out;
    }
    if (x.n)
        memcpy(c->ops, x.ops, sizeof *c->ops * x.n);
    if (x.ncv)
        memcpy(c->consts, x.cv, sizeof *c->consts * x.ncv);
    c->nops = x.n;
    c->const_base = x.T;
    c->nzero = x.pad + c->nlocals;
    c->nconsts = x.ncv;
    c->entry_gas = x.entry_gas;
    c->frame_slots = (uint32_t)slots;
    c->stack_slots = x.T + x.maxh;
out:
    if (x.r.err != WEFT_OK) {
        err = x.r.err;
        vm_diag_set(diag, x.r.err_off, "%s (function %u)", x.r.why, m->nfunc_imports + i);
    }
    cx_free(&x);
    return err;
}
