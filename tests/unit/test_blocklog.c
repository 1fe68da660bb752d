/* Unit tests of src/blocklog: put/get/has/remove and their refusals, mark_final (index, heads that
 * only move forward, all-or-nothing), final_at, foreach_pending in (slot, id) order without final
 * blocks, foreach_final ranges, prune_final keeping the heads, reopening (everything persists; a
 * different thread count is refused), map growth from a tiny map and its limit, a seeded random
 * run against an in-memory model, a real crash (a forked writer killed with SIGKILL at a random
 * moment; the reopened log is consistent and holds every call the child saw return), and
 * damaged entries written through raw LMDB (E_CORRUPT, never a crash). */
#include <dirent.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "testutil.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void tmpdir_make(char out[64])
{
    snprintf(out, 64, "/tmp/weft-blocklog-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static blocklog_t *open_log(const char *dir, uint32_t threads, size_t map, size_t max)
{
    blocklog_options o = {
        .dir = dir, .thread_count = threads, .map_size = map, .map_size_max = max, .no_sync = true};
    blocklog_t *l;
    assert_int_equal(blocklog_open(&l, &o), WEFT_OK);
    return l;
}

/* Block n: a fixed id and a record of 1 + n % 50 bytes derived from n. */
static block_id_t bid(uint64_t n)
{
    block_id_t id;
    memset(&id, 0, sizeof id);
    for (int i = 0; i < 8; i++)
        id.h.b[(size_t)i * 4] = (uint8_t)(n >> (8 * i));
    id.h.b[31] = 0xb1;
    return id;
}

static size_t rec_of(uint64_t n, uint8_t *buf)
{
    size_t len = 1 + n % 50;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(n * 31 + i);
    return len;
}

static void put_n(blocklog_t *l, uint64_t n, slot_t s)
{
    uint8_t rec[64];
    size_t len = rec_of(n, rec);
    block_id_t id = bid(n);
    assert_int_equal(blocklog_put(l, &id, s, rec, len), WEFT_OK);
}

static void assert_block(blocklog_t *l, uint64_t n, slot_t s, blocklog_status st)
{
    block_id_t id = bid(n);
    slot_t gs;
    blocklog_status gst;
    uint8_t *rec = NULL, want[64];
    size_t len = 0, wlen = rec_of(n, want);
    assert_int_equal(blocklog_get(l, &id, &gs, &gst, &rec, &len), WEFT_OK);
    assert_int_equal(slot_cmp(gs, s), 0);
    assert_int_equal(gst, st);
    assert_int_equal(len, wlen);
    assert_memory_equal(rec, want, len);
    free(rec);
}

static void mark(blocklog_t *l, uint64_t n)
{
    block_id_t id = bid(n);
    assert_int_equal(blocklog_mark_final(l, &id, 1), WEFT_OK);
}

typedef struct seen {
    block_id_t ids[4096];
    slot_t slots[4096];
    size_t n, stop_after;
} seen;

static bool collect(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec, size_t len)
{
    seen *s = ctx;
    assert_true(s->n < WEFT_ARRAY_LEN(s->ids));
    assert_true(len > 0 && rec != NULL);
    s->ids[s->n] = *id;
    s->slots[s->n] = slot;
    s->n++;
    return s->stop_after == 0 || s->n < s->stop_after;
}

/* ---- basics --------------------------------------------------------------------------------- */

static void test_put_get_remove(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 4, 0, 0);
    slot_t s = {3, 1};
    put_n(l, 1, s);
    assert_true(blocklog_has(l, &(block_id_t){bid(1).h}));
    assert_block(l, 1, s, BLOCKLOG_PENDING);

    /* refusals: the same id again, a thread past T, an empty record */
    uint8_t rec[4] = {1, 2, 3, 4};
    block_id_t id1 = bid(1), id2 = bid(2);
    assert_int_equal(blocklog_put(l, &id1, (slot_t){9, 0}, rec, 4), WEFT_E_EXISTS);
    assert_block(l, 1, s, BLOCKLOG_PENDING); /* replaced nothing */
    assert_int_equal(blocklog_put(l, &id2, (slot_t){3, 4}, rec, 4), WEFT_E_INVAL);
    assert_int_equal(blocklog_put(l, &id2, (slot_t){3, 0}, rec, 0), WEFT_E_INVAL);
    assert_false(blocklog_has(l, &id2));
    assert_int_equal(blocklog_get(l, &id2, NULL, NULL, NULL, NULL), WEFT_E_NOT_FOUND);

    /* remove: pending only */
    assert_int_equal(blocklog_remove(l, &id2), WEFT_E_NOT_FOUND);
    assert_int_equal(blocklog_remove(l, &id1), WEFT_OK);
    assert_false(blocklog_has(l, &id1));
    assert_int_equal(blocklog_remove(l, &id1), WEFT_E_NOT_FOUND);
    put_n(l, 1, s); /* a removed id may come back */
    mark(l, 1);
    assert_int_equal(blocklog_remove(l, &id1), WEFT_E_STATE);
    assert_block(l, 1, s, BLOCKLOG_FINAL);

    blocklog_stats st;
    blocklog_get_stats(l, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.final, 1);
    assert_true(st.map_size > 0);
    blocklog_close(l);
    tmpdir_remove(dir);
}

static void test_mark_final_and_heads(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    block_id_t hid[2];
    slot_t hs[2];
    bool have = true;
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_false(have); /* a fresh log */

    put_n(l, 10, (slot_t){0, 0});
    put_n(l, 11, (slot_t){0, 1});
    put_n(l, 12, (slot_t){1, 0});
    put_n(l, 13, (slot_t){2, 0});
    put_n(l, 14, (slot_t){2, 1});
    put_n(l, 15, (slot_t){2, 1}); /* a competitor at the same slot */

    /* all or nothing: one unknown id, nothing is written */
    block_id_t ids[3] = {bid(10), bid(99), bid(11)};
    assert_int_equal(blocklog_mark_final(l, ids, 3), WEFT_E_NOT_FOUND);
    assert_block(l, 10, (slot_t){0, 0}, BLOCKLOG_PENDING);
    block_id_t got;
    assert_int_equal(blocklog_final_at(l, (slot_t){0, 0}, &got), WEFT_E_NOT_FOUND);

    /* only thread 0 final: no heads yet (every thread needs one) */
    mark(l, 10);
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_false(have);
    ids[0] = bid(11);
    ids[1] = bid(11); /* a repeat in one call is harmless */
    assert_int_equal(blocklog_mark_final(l, ids, 2), WEFT_OK);
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_true(have);
    assert_true(block_id_eq(&hid[0], &(block_id_t){bid(10).h}));
    assert_true(block_id_eq(&hid[1], &(block_id_t){bid(11).h}));

    /* out of order: period 2 first, then period 1 — the head stays at 2 */
    mark(l, 13);
    mark(l, 12);
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_true(block_id_eq(&hid[0], &(block_id_t){bid(13).h}));
    assert_int_equal(hs[0].period, 2);
    assert_int_equal(hs[0].thread, 0);
    assert_int_equal(blocklog_final_at(l, (slot_t){1, 0}, &got), WEFT_OK);
    assert_true(block_id_eq(&got, &(block_id_t){bid(12).h}));
    assert_int_equal(blocklog_final_at(l, (slot_t){1, 1}, &got), WEFT_E_NOT_FOUND); /* a miss */

    /* marking again is a no-op; a second final block at one slot is refused */
    mark(l, 12);
    mark(l, 14);
    ids[0] = bid(15);
    assert_int_equal(blocklog_mark_final(l, ids, 1), WEFT_E_EXISTS);
    assert_block(l, 15, (slot_t){2, 1}, BLOCKLOG_PENDING);
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_true(block_id_eq(&hid[1], &(block_id_t){bid(14).h}));
    assert_int_equal(hs[1].period, 2);
    blocklog_close(l);
    tmpdir_remove(dir);
}

/* A new block and final marks in one transaction: all or nothing. */
static void test_put_final(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    put_n(l, 10, (slot_t){1, 0});
    uint8_t rec[64];
    size_t len = rec_of(20, rec);
    block_id_t id = bid(20), ids[2] = {bid(10), bid(99)};
    /* an unknown id among the marks: the new block is not stored either */
    assert_int_equal(blocklog_put_final(l, &id, (slot_t){2, 0}, rec, len, ids, 2),
                     WEFT_E_NOT_FOUND);
    assert_false(blocklog_has(l, &id));
    assert_block(l, 10, (slot_t){1, 0}, BLOCKLOG_PENDING);
    /* the new block and an older one final; the new one may be among the marks */
    ids[1] = id;
    assert_int_equal(blocklog_put_final(l, &id, (slot_t){2, 0}, rec, len, ids, 2), WEFT_OK);
    assert_block(l, 10, (slot_t){1, 0}, BLOCKLOG_FINAL);
    assert_block(l, 20, (slot_t){2, 0}, BLOCKLOG_FINAL);
    /* a block already stored: refused, the marks not written */
    put_n(l, 21, (slot_t){3, 0});
    ids[0] = bid(21);
    assert_int_equal(blocklog_put_final(l, &id, (slot_t){2, 0}, rec, len, ids, 1), WEFT_E_EXISTS);
    assert_block(l, 21, (slot_t){3, 0}, BLOCKLOG_PENDING);
    /* a new block alone, marks alone, nothing at all */
    block_id_t id22 = bid(22);
    len = rec_of(22, rec);
    assert_int_equal(blocklog_put_final(l, &id22, (slot_t){3, 1}, rec, len, NULL, 0), WEFT_OK);
    assert_block(l, 22, (slot_t){3, 1}, BLOCKLOG_PENDING);
    assert_int_equal(blocklog_put_final(l, NULL, (slot_t){0, 0}, NULL, 0, ids, 1), WEFT_OK);
    assert_block(l, 21, (slot_t){3, 0}, BLOCKLOG_FINAL);
    assert_int_equal(blocklog_put_final(l, NULL, (slot_t){0, 0}, NULL, 0, NULL, 0), WEFT_OK);
    blocklog_close(l);
    tmpdir_remove(dir);
}

/* Group commit: several new blocks, final marks naming them and removals in one transaction. */
static void test_write_group(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    put_n(l, 10, (slot_t){1, 0});
    put_n(l, 11, (slot_t){1, 1});
    uint8_t recs[3][64];
    block_id_t nid[3] = {bid(30), bid(31), bid(32)};
    blocklog_put_rec puts[3];
    for (int i = 0; i < 3; i++)
        puts[i] = (blocklog_put_rec){&nid[i], (slot_t){2, (uint8_t)(i % 2)}, recs[i],
                                     rec_of(30 + (uint64_t)i, recs[i])};
    puts[2].slot = (slot_t){3, 0};
    /* a final mark of an unknown block: none of the three new blocks is stored, nothing removed */
    block_id_t fin[2] = {bid(10), bid(99)}, rm[3] = {bid(11), bid(32), bid(77)};
    size_t skipped = 5;
    assert_int_equal(blocklog_write(l, puts, 3, fin, 2, rm, 3, &skipped), WEFT_E_NOT_FOUND);
    for (int i = 0; i < 3; i++)
        assert_false(blocklog_has(l, &nid[i]));
    assert_block(l, 11, (slot_t){1, 1}, BLOCKLOG_PENDING);
    /* all of it: 10 and the new 30 final, 11 removed, 32 put and removed, 77 absent (skipped), a
     * final block among the removals (10) skipped too */
    fin[1] = nid[0];
    block_id_t rm2[4] = {bid(11), bid(32), bid(77), bid(10)};
    assert_int_equal(blocklog_write(l, puts, 3, fin, 2, rm2, 4, &skipped), WEFT_OK);
    assert_int_equal(skipped, 2);
    assert_block(l, 10, (slot_t){1, 0}, BLOCKLOG_FINAL);
    assert_block(l, 30, (slot_t){2, 0}, BLOCKLOG_FINAL);
    assert_block(l, 31, (slot_t){2, 1}, BLOCKLOG_PENDING);
    assert_false(blocklog_has(l, &rm2[0]));
    assert_false(blocklog_has(l, &nid[2]));
    /* a block already stored among the puts: refused whole */
    block_id_t id40 = bid(40);
    uint8_t r40[64];
    blocklog_put_rec again[2] = {{&id40, (slot_t){4, 0}, r40, rec_of(40, r40)}, puts[1]};
    assert_int_equal(blocklog_write(l, again, 2, NULL, 0, NULL, 0, NULL), WEFT_E_EXISTS);
    assert_false(blocklog_has(l, &id40));
    /* a bad thread or an empty record: E_INVAL before anything */
    again[0].slot.thread = 2;
    assert_int_equal(blocklog_write(l, again, 1, NULL, 0, NULL, 0, NULL), WEFT_E_INVAL);
    again[0].slot.thread = 0;
    again[0].len = 0;
    assert_int_equal(blocklog_write(l, again, 1, NULL, 0, NULL, 0, NULL), WEFT_E_INVAL);
    assert_int_equal(blocklog_write(l, NULL, 0, NULL, 0, NULL, 0, &skipped), WEFT_OK);
    assert_int_equal(skipped, 0);
    /* survives a reopen */
    blocklog_close(l);
    l = open_log(dir, 2, 0, 0);
    assert_block(l, 30, (slot_t){2, 0}, BLOCKLOG_FINAL);
    assert_block(l, 31, (slot_t){2, 1}, BLOCKLOG_PENDING);
    blocklog_close(l);
    tmpdir_remove(dir);
}

static void test_foreach(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 4, 0, 0);
    /* blocks put out of order, several per slot */
    uint64_t order[] = {7, 3, 9, 1, 4, 8, 2, 6, 5, 0, 11, 10};
    for (size_t i = 0; i < WEFT_ARRAY_LEN(order); i++) {
        uint64_t n = order[i];
        put_n(l, n, (slot_t){n / 4, (uint8_t)(n % 3)});
    }
    mark(l, 4);
    mark(l, 0);
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(blocklog_foreach_pending(l, collect, s), WEFT_OK);
    assert_int_equal(s->n, WEFT_ARRAY_LEN(order) - 2);
    for (size_t i = 0; i < s->n; i++) {
        assert_false(block_id_eq(&s->ids[i], &(block_id_t){bid(4).h}));
        assert_false(block_id_eq(&s->ids[i], &(block_id_t){bid(0).h}));
        if (i) {
            int c = slot_cmp(s->slots[i - 1], s->slots[i]);
            assert_true(c < 0 || (c == 0 && hash32_cmp(&s->ids[i - 1].h, &s->ids[i].h) < 0));
        }
    }
    /* the visitor stops the walk */
    memset(s, 0, sizeof *s);
    s->stop_after = 3;
    assert_int_equal(blocklog_foreach_pending(l, collect, s), WEFT_OK);
    assert_int_equal(s->n, 3);

    /* final ranges: [from, to) in slot order */
    for (uint64_t n = 1; n < 12; n++)
        if (n != 4 && n % 4 == 1) /* 1, 5, 9: slots (0,1) (1,2) (2,0) */
            mark(l, n);
    memset(s, 0, sizeof *s);
    assert_int_equal(blocklog_foreach_final(l, (slot_t){0, 0}, (slot_t){9, 0}, collect, s),
                     WEFT_OK);
    uint64_t want[] = {0, 1, 4, 5, 9}; /* slots (0,0) (0,1) (1,1) (1,2) (2,0) */
    assert_int_equal(s->n, WEFT_ARRAY_LEN(want));
    for (size_t i = 0; i < s->n; i++)
        assert_true(block_id_eq(&s->ids[i], &(block_id_t){bid(want[i]).h}));
    memset(s, 0, sizeof *s);
    assert_int_equal(blocklog_foreach_final(l, (slot_t){0, 1}, (slot_t){2, 0}, collect, s),
                     WEFT_OK);
    assert_int_equal(s->n, 3); /* (0,1) (1,1) (1,2); to is excluded */
    memset(s, 0, sizeof *s);
    assert_int_equal(blocklog_foreach_final(l, (slot_t){2, 0}, (slot_t){1, 0}, collect, s),
                     WEFT_OK);
    assert_int_equal(s->n, 0);
    free(s);
    blocklog_close(l);
    tmpdir_remove(dir);
}

static void test_prune_keeps_heads(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    /* thread 0 final at periods 0..9, thread 1 only at 0..2 (its head stays low) */
    uint64_t n = 0;
    for (uint64_t p = 0; p < 10; p++) {
        put_n(l, n, (slot_t){p, 0});
        mark(l, n++);
        if (p < 3) {
            put_n(l, n, (slot_t){p, 1});
            mark(l, n++);
        }
    }
    put_n(l, 500, (slot_t){1, 1}); /* a pending block below the cut stays */
    size_t removed = 0;
    assert_int_equal(blocklog_prune_final(l, 6, &removed), WEFT_OK);
    assert_int_equal(removed, 6 + 2); /* thread 0: periods 0..5; thread 1: 0, 1 (2 is its head) */
    block_id_t got;
    assert_int_equal(blocklog_final_at(l, (slot_t){5, 0}, &got), WEFT_E_NOT_FOUND);
    assert_int_equal(blocklog_final_at(l, (slot_t){6, 0}, &got), WEFT_OK);
    assert_int_equal(blocklog_final_at(l, (slot_t){2, 1}, &got), WEFT_OK);
    assert_false(blocklog_has(l, &(block_id_t){bid(0).h}));
    assert_true(blocklog_has(l, &(block_id_t){bid(500).h}));
    block_id_t hid[2];
    slot_t hs[2];
    bool have;
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_true(have);
    assert_int_equal(hs[0].period, 9);
    assert_int_equal(hs[1].period, 2);
    /* pruning everything leaves exactly the heads */
    assert_int_equal(blocklog_prune_final(l, UINT64_MAX, &removed), WEFT_OK);
    assert_int_equal(removed, 3); /* thread 0 periods 6..8 */
    blocklog_stats st;
    blocklog_get_stats(l, &st);
    assert_int_equal(st.final, 2);
    assert_int_equal(st.pending, 1);
    blocklog_close(l);
    tmpdir_remove(dir);
}

static void test_reopen(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    for (uint64_t n = 0; n < 20; n++)
        put_n(l, n, (slot_t){n / 2, (uint8_t)(n % 2)});
    for (uint64_t n = 0; n < 8; n++)
        mark(l, n);
    block_id_t id3 = bid(13);
    assert_int_equal(blocklog_remove(l, &id3), WEFT_OK);
    blocklog_close(l);

    blocklog_options o = {.dir = dir, .thread_count = 4, .no_sync = true};
    assert_int_equal(blocklog_open(&l, &o), WEFT_E_INVAL);
    assert_null(l);
    o.thread_count = 0;
    assert_int_equal(blocklog_open(&l, &o), WEFT_E_INVAL);

    l = open_log(dir, 2, 0, 0);
    for (uint64_t n = 0; n < 20; n++) {
        if (n == 13) {
            assert_false(blocklog_has(l, &id3));
            continue;
        }
        assert_block(l, n, (slot_t){n / 2, (uint8_t)(n % 2)},
                     n < 8 ? BLOCKLOG_FINAL : BLOCKLOG_PENDING);
    }
    block_id_t hid[2];
    slot_t hs[2];
    bool have;
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
    assert_true(have);
    assert_true(block_id_eq(&hid[0], &(block_id_t){bid(6).h}));
    assert_true(block_id_eq(&hid[1], &(block_id_t){bid(7).h}));
    blocklog_stats st;
    blocklog_get_stats(l, &st);
    assert_int_equal(st.final, 8);
    assert_int_equal(st.pending, 11);
    blocklog_close(l);
    tmpdir_remove(dir);
}

/* ---- map growth ----------------------------------------------------------------------------- */

static void test_map_growth(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 4, 64 << 10, 64 << 20); /* 64 KiB to start */
    blocklog_stats st;
    blocklog_get_stats(l, &st);
    size_t first = st.map_size;
    uint8_t *big = malloc(3000);
    memset(big, 0xab, 3000);
    block_id_t ids[64];
    for (uint64_t n = 0; n < 2000; n++) {
        block_id_t id = bid(n);
        assert_int_equal(blocklog_put(l, &id, (slot_t){n / 4, (uint8_t)(n % 4)}, big, 3000),
                         WEFT_OK);
        ids[n % 64] = id;
        if (n % 64 == 63) /* one large transaction now and then */
            assert_int_equal(blocklog_mark_final(l, ids, 64), WEFT_OK);
    }
    blocklog_get_stats(l, &st);
    print_message("map grew from %zu to %zu bytes\n", first, st.map_size);
    assert_true(st.map_size > first);
    assert_int_equal(st.pending + st.final, 2000);
    assert_int_equal(st.final, 31 * 64);
    blocklog_close(l);
    tmpdir_remove(dir);

    /* the limit: E_STORE_MAP_FULL, and the log stays usable with what it had */
    tmpdir_make(dir);
    l = open_log(dir, 4, 64 << 10, 256 << 10);
    uint64_t n = 0;
    weft_err err = WEFT_OK;
    for (; n < 1000 && err == WEFT_OK; n++) {
        block_id_t id = bid(n);
        err = blocklog_put(l, &id, (slot_t){n, 0}, big, 3000);
    }
    assert_int_equal(err, WEFT_E_STORE_MAP_FULL);
    assert_false(blocklog_has(l, &(block_id_t){bid(n - 1).h}));
    assert_true(blocklog_has(l, &(block_id_t){bid(0).h}));
    block_id_t id0 = bid(0);
    assert_int_equal(blocklog_remove(l, &id0), WEFT_OK);
    free(big);
    blocklog_close(l);
    tmpdir_remove(dir);
}

/* ---- a seeded random run against a model ---------------------------------------------------- */

#define MODEL_N 300

typedef struct model_block {
    bool present;
    blocklog_status st;
    slot_t slot;
} model_block;

static void check_against(blocklog_t *l, const model_block *m, uint32_t T)
{
    size_t pending = 0, final = 0;
    uint64_t head[4] = {0};
    bool have[4] = {false};
    for (uint64_t n = 0; n < MODEL_N; n++) {
        block_id_t id = bid(n);
        if (!m[n].present) {
            assert_false(blocklog_has(l, &id));
            continue;
        }
        assert_block(l, n, m[n].slot, m[n].st);
        if (m[n].st == BLOCKLOG_PENDING) {
            pending++;
            continue;
        }
        final++;
        block_id_t got;
        assert_int_equal(blocklog_final_at(l, m[n].slot, &got), WEFT_OK);
        assert_true(block_id_eq(&got, &id));
        uint8_t t = m[n].slot.thread;
        if (!have[t] || head[t] < m[n].slot.period)
            head[t] = m[n].slot.period;
        have[t] = true;
    }
    blocklog_stats st;
    blocklog_get_stats(l, &st);
    assert_int_equal(st.pending, pending);
    assert_int_equal(st.final, final);
    block_id_t hid[4];
    slot_t hs[4];
    bool all;
    assert_int_equal(blocklog_heads(l, hid, hs, &all), WEFT_OK);
    bool want_all = true;
    for (uint32_t t = 0; t < T; t++)
        want_all = want_all && have[t];
    assert_int_equal(all, want_all);
    for (uint32_t t = 0; all && t < T; t++)
        assert_int_equal(hs[t].period, head[t]);
}

static void test_random_against_model(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    test_rng r;
    test_rng_init(&r, seed);
    char dir[64];
    tmpdir_make(dir);
    const uint32_t T = 4;
    blocklog_t *l = open_log(dir, T, 32 << 10, 0);
    model_block *m = calloc(MODEL_N, sizeof *m);
    bool slot_final[MODEL_N / 2][4] = {{false}};
    for (int step = 0; step < 1500; step++) {
        uint64_t n = test_rng_below(&r, MODEL_N);
        block_id_t id = bid(n);
        switch (test_rng_below(&r, 5)) {
        case 0:
        case 1: {
            slot_t s = {test_rng_below(&r, MODEL_N / 2), (uint8_t)test_rng_below(&r, T)};
            uint8_t rec[64];
            size_t len = rec_of(n, rec);
            weft_err err = blocklog_put(l, &id, m[n].present ? m[n].slot : s, rec, len);
            assert_int_equal(err, m[n].present ? WEFT_E_EXISTS : WEFT_OK);
            if (!m[n].present)
                m[n] = (model_block){true, BLOCKLOG_PENDING, s};
            break;
        }
        case 2: {
            weft_err want = !m[n].present               ? WEFT_E_NOT_FOUND
                            : m[n].st == BLOCKLOG_FINAL ? WEFT_E_STATE
                                                        : WEFT_OK;
            assert_int_equal(blocklog_remove(l, &id), want);
            if (want == WEFT_OK)
                m[n].present = false;
            break;
        }
        case 3: {
            weft_err want = WEFT_OK;
            if (!m[n].present)
                want = WEFT_E_NOT_FOUND;
            else if (m[n].st == BLOCKLOG_PENDING && slot_final[m[n].slot.period][m[n].slot.thread])
                want = WEFT_E_EXISTS;
            assert_int_equal(blocklog_mark_final(l, &id, 1), want);
            if (want == WEFT_OK) {
                m[n].st = BLOCKLOG_FINAL;
                slot_final[m[n].slot.period][m[n].slot.thread] = true;
            }
            break;
        }
        default:
            if (test_rng_below(&r, 20) == 0) {
                blocklog_close(l);
                l = open_log(dir, T, 0, 0);
            }
            break;
        }
        if (step % 100 == 99)
            check_against(l, m, T);
    }
    check_against(l, m, T);
    free(m);
    blocklog_close(l);
    tmpdir_remove(dir);
}

/* ---- a real crash --------------------------------------------------------------------------- */

/* The child's blocks: n at slot (n / 2, n % 2); every third one is a stale competitor that stays
 * pending (it shares the slot of the block before it). */
static slot_t crash_slot(uint64_t n) { return (slot_t){n / 2, (uint8_t)(n % 2)}; }

/* In a forked child: put blocks and mark them final in a loop, reporting each returned
 * mark_final (its block number) on the pipe.  Never returns. */
static void crash_child(const char *dir, int fd, uint64_t start)
{
    blocklog_options o = {.dir = dir, .thread_count = 2, .map_size = 32 << 10};
    blocklog_t *l;
    if (blocklog_open(&l, &o))
        _exit(2);
    uint8_t rec[64], big[2000];
    memset(big, 7, sizeof big);
    for (uint64_t n = start;; n++) {
        block_id_t id = bid(n);
        size_t len = rec_of(n, rec);
        if (blocklog_put(l, &id, crash_slot(n), n % 5 == 0 ? big : rec, n % 5 == 0 ? 2000 : len))
            _exit(2);
        block_id_t other = bid(1000000 + n); /* a competitor that stays pending */
        if (blocklog_put(l, &other, crash_slot(n), rec, len))
            _exit(2);
        if (blocklog_mark_final(l, &id, 1))
            _exit(2);
        if (write(fd, &n, sizeof n) != sizeof n)
            _exit(2);
        if (n % 50 == 49) {
            size_t removed;
            if (blocklog_prune_final(l, n / 2 - 10 > n / 2 ? 0 : n / 2 - 10, &removed))
                _exit(2);
        }
    }
}

typedef struct crash_check {
    blocklog_t *l;
    size_t count;
    bool seen[2];
    uint64_t max_period[2];
} crash_check;

static bool check_final_entry(void *ctx, const block_id_t *id, slot_t slot, const uint8_t *rec,
                              size_t len)
{
    crash_check *c = ctx;
    slot_t s;
    blocklog_status st;
    assert_int_equal(blocklog_get(c->l, id, &s, &st, NULL, NULL), WEFT_OK);
    assert_int_equal(st, BLOCKLOG_FINAL);
    assert_int_equal(slot_cmp(s, slot), 0);
    assert_true(slot.thread < 2);
    c->count++;
    if (!c->seen[slot.thread] || slot.period > c->max_period[slot.thread])
        c->max_period[slot.thread] = slot.period;
    c->seen[slot.thread] = true;
    return true;
}

static void test_crash_consistency(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    test_rng r;
    test_rng_init(&r, seed);
    char dir[64];
    tmpdir_make(dir);
    uint64_t next = 0;                             /* the child's next block number */
    blocklog_close(open_log(dir, 2, 32 << 10, 0)); /* the environment exists before any kill */
    for (int round = 0; round < 6; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(dir, fds[1], next);
        }
        close(fds[1]);
        /* let it run for a random while, then kill it wherever it is */
        struct timespec ts = {0, (long)(1000000 + test_rng_below(&r, 150000000))};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* killed, not an early error exit */
        uint64_t v, last = UINT64_MAX;
        while (read(fds[0], &v, sizeof v) == sizeof v)
            last = v;
        close(fds[0]);

        blocklog_t *l = open_log(dir, 2, 0, 0);
        /* every final index entry names a FINAL block of its slot */
        crash_check c = {.l = l};
        assert_int_equal(blocklog_foreach_final(l, (slot_t){0, 0}, (slot_t){UINT64_MAX, 0},
                                                check_final_entry, &c),
                         WEFT_OK);
        /* the heads are the latest final slot of each thread */
        block_id_t hid[2];
        slot_t hs[2];
        bool have;
        assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_OK);
        assert_int_equal(have, c.seen[0] && c.seen[1]);
        for (uint8_t t = 0; have && t < 2; t++) {
            assert_int_equal(hs[t].period, c.max_period[t]);
            assert_int_equal(hs[t].thread, t);
            block_id_t at;
            assert_int_equal(blocklog_final_at(l, hs[t], &at), WEFT_OK);
            assert_true(block_id_eq(&at, &hid[t]));
        }
        /* the latest final block: the later of the two heads */
        bool any = have;
        uint64_t last_final = 0;
        for (uint8_t t = 0; have && t < 2; t++)
            if (hs[t].period * 2 + t > last_final)
                last_final = hs[t].period * 2 + t;
        /* every mark_final the child saw return is there; the log may hold one call more */
        if (last != UINT64_MAX) {
            if (last >= 1)
                assert_true(have);
            if (have)
                assert_true(last_final >= last && last_final <= last + 1);
            block_id_t got;
            assert_int_equal(blocklog_final_at(l, crash_slot(last), &got), WEFT_OK);
            assert_true(block_id_eq(&got, &(block_id_t){bid(last).h}));
        }
        blocklog_stats st;
        blocklog_get_stats(l, &st);
        assert_int_equal(st.final, c.count);
        print_message("round %d: child reported %s%llu, log has %zu final, %zu pending\n", round,
                      last == UINT64_MAX ? "nothing " : "block ",
                      (unsigned long long)(last == UINT64_MAX ? 0 : last), st.final, st.pending);
        /* the next child continues after whatever is in the log */
        next = any ? last_final + 1 : 0;
        while (blocklog_has(l, &(block_id_t){bid(next).h}))
            next++;
        blocklog_close(l);
    }
    tmpdir_remove(dir);
}

/* ---- damaged entries ------------------------------------------------------------------------ */

static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_corrupt_entries(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    blocklog_t *l = open_log(dir, 2, 0, 0);
    put_n(l, 1, (slot_t){1, 0});
    put_n(l, 2, (slot_t){1, 1});
    put_n(l, 3, (slot_t){2, 0});
    mark(l, 1);
    mark(l, 2);
    blocklog_close(l);

    block_id_t id1 = bid(1), id3 = bid(3);
    uint8_t shorty[5] = {0};
    raw_put(dir, "blocks", id3.h.b, 32, shorty, sizeof shorty); /* too short */
    l = open_log(dir, 2, 0, 0);
    assert_int_equal(blocklog_get(l, &id3, NULL, NULL, NULL, NULL), WEFT_E_CORRUPT);
    assert_false(blocklog_has(l, &id3));
    assert_int_equal(blocklog_remove(l, &id3), WEFT_E_CORRUPT);
    assert_int_equal(blocklog_mark_final(l, &id3, 1), WEFT_E_CORRUPT);
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(blocklog_foreach_pending(l, collect, s), WEFT_E_CORRUPT);
    blocklog_close(l);

    uint8_t badst[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 9, 1, 2}; /* status 9 */
    raw_put(dir, "blocks", id1.h.b, 32, badst, sizeof badst);
    uint8_t badth[12] = {0, 0, 0, 0, 0, 0, 0, 1, 7, 2, 1, 2}; /* thread 7 of 2 */
    raw_put(dir, "blocks", id3.h.b, 32, badth, sizeof badth);
    l = open_log(dir, 2, 0, 0);
    assert_int_equal(blocklog_get(l, &id1, NULL, NULL, NULL, NULL), WEFT_E_CORRUPT);
    assert_int_equal(blocklog_get(l, &id3, NULL, NULL, NULL, NULL), WEFT_E_CORRUPT);
    memset(s, 0, sizeof *s);
    assert_int_equal(blocklog_foreach_final(l, (slot_t){0, 0}, (slot_t){9, 0}, collect, s),
                     WEFT_E_CORRUPT);
    blocklog_close(l);

    uint8_t fkey[9] = {0, 0, 0, 0, 0, 0, 0, 1, 1}, fval[3] = {1, 2, 3};
    raw_put(dir, "final", fkey, 9, fval, 3); /* an index entry of the wrong size */
    uint8_t hkey[5] = {'h', 'e', 'a', 'd', 1};
    raw_put(dir, "meta", hkey, 5, fval, 3); /* a head of the wrong size */
    l = open_log(dir, 2, 0, 0);
    block_id_t got, hid[2];
    slot_t hs[2];
    bool have;
    assert_int_equal(blocklog_final_at(l, (slot_t){1, 1}, &got), WEFT_E_CORRUPT);
    assert_int_equal(blocklog_heads(l, hid, hs, &have), WEFT_E_CORRUPT);
    assert_false(have);
    size_t removed;
    assert_int_equal(blocklog_prune_final(l, 5, &removed), WEFT_E_CORRUPT);
    blocklog_close(l);

    uint8_t fmt[2] = {1, 0};
    raw_put(dir, "meta", "format", 6, fmt, 2); /* a format record that does not decode */
    blocklog_options o = {.dir = dir, .thread_count = 2, .no_sync = true};
    assert_int_equal(blocklog_open(&l, &o), WEFT_E_CORRUPT);
    uint8_t fmt9[4] = {9, 0, 0, 0};
    raw_put(dir, "meta", "format", 6, fmt9, 4); /* a later format */
    assert_int_equal(blocklog_open(&l, &o), WEFT_E_VERSION);
    free(s);
    tmpdir_remove(dir);
}

int main(void)
{
    if (log_init("error") != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_remove),
        cmocka_unit_test(test_mark_final_and_heads),
        cmocka_unit_test(test_put_final),
        cmocka_unit_test(test_write_group),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_prune_keeps_heads),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_crash_consistency),
        cmocka_unit_test(test_corrupt_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
