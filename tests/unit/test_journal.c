/* Unit tests of src/journal: record/refuse/replay, torn tails at every byte, corrupt tail vs
 * corrupt middle, bad magic, compaction, batches of one slot's endorsements, mixed appends
 * (journal_append: all or nothing, bounded, one sync, torn, refused after reopen). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "journal/journal.h"
#include "testutil.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/weft-journal-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/signing.journal", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static long file_size(void)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void write_file(const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *read_file(size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static void test_record_refuse_replay(void **state)
{
    (void)state;
    journal_t *j;
    journal_open_report rep;
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_true(rep.records == 0 && rep.truncated_bytes == 0);
    slot_t s = {5, 3};
    assert_false(journal_has(j, JOURNAL_BLOCK, s, 0));
    assert_int_equal(journal_record(j, JOURNAL_BLOCK, s, 0), WEFT_OK);
    assert_true(journal_has(j, JOURNAL_BLOCK, s, 0));
    assert_int_equal(journal_record(j, JOURNAL_BLOCK, s, 0), WEFT_E_ALREADY_SIGNED);
    assert_false(journal_has(j, JOURNAL_ENDORSEMENT, s, 2));
    assert_int_equal(journal_record(j, JOURNAL_ENDORSEMENT, s, 2), WEFT_OK);
    assert_int_equal(journal_record(j, JOURNAL_ENDORSEMENT, s, 3), WEFT_OK);
    assert_int_equal(journal_record(j, JOURNAL_ENDORSEMENT, s, 2), WEFT_E_ALREADY_SIGNED);
    journal_close(j);
    assert_int_equal(file_size(), 8 + 3 * 22);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_true(rep.records == 3 && rep.truncated_bytes == 0);
    assert_true(journal_has(j, JOURNAL_BLOCK, s, 0));
    assert_true(journal_has(j, JOURNAL_ENDORSEMENT, s, 2));
    assert_false(journal_has(j, JOURNAL_BLOCK, (slot_t){5, 4}, 0));
    assert_int_equal(journal_record(j, JOURNAL_BLOCK, s, 0), WEFT_E_ALREADY_SIGNED);
    journal_close(j);
}

/* A crash can stop an append at any byte: every prefix of a valid journal opens, keeping exactly
 * the complete records, and the slots it keeps stay refused. */
static void test_torn_tail_at_every_byte(void **state)
{
    (void)state;
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(journal_record(j, JOURNAL_BLOCK, (slot_t){i, 1}, 0), WEFT_OK);
    journal_close(j);
    size_t len;
    uint8_t *full = read_file(&len);
    assert_int_equal(len, 8 + 4 * 22);
    for (size_t cut = 0; cut <= len; cut++) {
        write_file(full, cut);
        journal_open_report rep;
        assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
        size_t want = cut < 8 ? 0 : (cut - 8) / 22;
        assert_int_equal(rep.records, want);
        assert_int_equal(rep.truncated_bytes, cut < 8 ? 0 : (cut - 8) % 22);
        for (uint32_t i = 0; i < 4; i++)
            assert_int_equal(journal_has(j, JOURNAL_BLOCK, (slot_t){i, 1}, 0), i < want);
        journal_close(j);
        assert_int_equal(file_size(), 8 + (long)want * 22);
    }
    free(full);
}

static void test_corruption(void **state)
{
    (void)state;
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(journal_record(j, JOURNAL_ENDORSEMENT, (slot_t){9, 0}, i), WEFT_OK);
    journal_close(j);
    size_t len;
    uint8_t *b = read_file(&len);
    /* damage in the last record: a torn append, truncated */
    b[8 + 2 * 22 + 5] ^= 1;
    write_file(b, len);
    journal_open_report rep;
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_int_equal(rep.records, 2);
    assert_int_equal(rep.truncated_bytes, 22);
    journal_close(j);
    /* damage before the tail: refuse to open, change nothing */
    b[8 + 2 * 22 + 5] ^= 1;
    b[8 + 0 * 22 + 20] ^= 0x80;
    write_file(b, len);
    assert_int_equal(journal_open(&j, path, NULL), WEFT_E_CORRUPT);
    assert_null(j);
    assert_int_equal(file_size(), (long)len);
    /* not a journal */
    memcpy(b, "NOTAJRNL", 8);
    write_file(b, len);
    assert_int_equal(journal_open(&j, path, NULL), WEFT_E_CORRUPT);
    /* an unknown kind with a valid checksum, before the tail, is damage too */
    memcpy(b, "WEFTJRN1", 8);
    b[8 + 0 * 22 + 20] ^= 0x80; /* undo the earlier damage */
    b[8 + 1 * 22] = 7;
    uint8_t h[32];
    crypto_blake3(h, b + 8 + 22, 14);
    memcpy(b + 8 + 22 + 14, h, 8);
    write_file(b, len);
    assert_int_equal(journal_open(&j, path, NULL), WEFT_E_CORRUPT);
    free(b);
    assert_int_equal(journal_open(&j, "/nonexistent-dir/x/journal", NULL), WEFT_E_IO);
}

/* A batch of one slot's endorsements: one append, refused as a whole when any index is known or
 * repeated, replayed after reopen; a torn batch keeps exactly its complete records. */
static void test_record_many(void **state)
{
    (void)state;
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    slot_t s = {7, 3};
    uint32_t idx[3] = {0, 5, 9};
    assert_int_equal(journal_record_many(j, JOURNAL_ENDORSEMENT, s, idx, 3), WEFT_OK);
    for (int i = 0; i < 3; i++)
        assert_true(journal_has(j, JOURNAL_ENDORSEMENT, s, idx[i]));
    assert_false(journal_has(j, JOURNAL_ENDORSEMENT, s, 1));
    uint32_t again[2] = {1, 9};
    assert_int_equal(journal_record_many(j, JOURNAL_ENDORSEMENT, s, again, 2),
                     WEFT_E_ALREADY_SIGNED);
    assert_false(journal_has(j, JOURNAL_ENDORSEMENT, s, 1)); /* nothing of a refused batch */
    uint32_t dup[2] = {2, 2};
    assert_int_equal(journal_record_many(j, JOURNAL_ENDORSEMENT, s, dup, 2), WEFT_E_ALREADY_SIGNED);
    assert_int_equal(journal_record_many(j, JOURNAL_ENDORSEMENT, s, NULL, 0), WEFT_OK);
    uint32_t many[JOURNAL_MAX_BATCH + 1] = {0};
    assert_int_equal(journal_record_many(j, JOURNAL_ENDORSEMENT, s, many, JOURNAL_MAX_BATCH + 1),
                     WEFT_E_LIMIT);
    assert_int_equal(journal_count(j), 3);
    journal_close(j);
    /* a crash in the middle of the batch's write: cut the file inside the third record */
    long full = file_size();
    assert_int_equal(truncate(path, full - 5), 0);
    journal_open_report rep;
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_int_equal(rep.records, 2);
    assert_true(journal_has(j, JOURNAL_ENDORSEMENT, s, 0));
    assert_true(journal_has(j, JOURNAL_ENDORSEMENT, s, 5));
    assert_false(journal_has(j, JOURNAL_ENDORSEMENT, s, 9));
    journal_close(j);
}

static void test_compact(void **state)
{
    (void)state;
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0x10);
    for (uint64_t p = 0; p < 100; p++)
        assert_int_equal(
            journal_record(j, JOURNAL_BLOCK, (slot_t){p, (uint8_t)test_rng_below(&r, 32)}, 0),
            WEFT_OK);
    assert_int_equal(journal_count(j), 100);
    assert_int_equal(journal_compact(j, 60), WEFT_OK);
    assert_int_equal(journal_count(j), 40);
    assert_int_equal(file_size(), 8 + 40 * 22);
    assert_int_equal(journal_record(j, JOURNAL_BLOCK, (slot_t){100, 0}, 0), WEFT_OK);
    journal_close(j);
    journal_open_report rep;
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_int_equal(rep.records, 41);
    assert_true(journal_has(j, JOURNAL_BLOCK, (slot_t){100, 0}, 0));
    journal_close(j);
}

/* Distinct entries of both kinds over many slots, in random order: entry i has slot
 * (base + i / 32, i % 32), so no two are equal. */
static void mixed_entries(journal_entry *e, size_t n, uint64_t base, test_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        bool block = test_rng_below(r, 3) == 0;
        e[i] = (journal_entry){block ? JOURNAL_BLOCK : JOURNAL_ENDORSEMENT,
                               (slot_t){base + i / 32, (uint8_t)(i % 32)},
                               block ? 0 : (uint32_t)test_rng_below(r, 16)};
    }
    for (size_t i = n; i > 1; i--) {
        size_t k = test_rng_below(r, i);
        journal_entry t = e[i - 1];
        e[i - 1] = e[k];
        e[k] = t;
    }
}

/* An append of mixed records (kinds, slots, indices): one write and one sync, all or nothing,
 * bounded, replayed and refused after reopen, a torn one keeping exactly a prefix of its records,
 * and compaction after it. */
static void test_append_mixed(void **state)
{
    (void)state;
    test_rng r;
    test_rng_init(&r, test_seed() ^ 0x20);
    journal_t *j;
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    uint64_t syncs = journal_syncs(j);
    assert_int_equal(journal_record(j, JOURNAL_BLOCK, (slot_t){50, 3}, 0), WEFT_OK);
    assert_int_equal(journal_syncs(j), syncs + 1);
    size_t n = 300;
    journal_entry *e = malloc((JOURNAL_MAX_APPEND + 1) * sizeof *e);
    assert_non_null(e);
    mixed_entries(e, n, 100, &r);
    assert_int_equal(journal_append(j, e, n), WEFT_OK);
    assert_int_equal(journal_syncs(j), syncs + 2);
    assert_int_equal(journal_count(j), n + 1);
    for (size_t i = 0; i < n; i++)
        assert_true(journal_has(j, e[i].kind, e[i].slot, e[i].index));
    long size = file_size();
    assert_int_equal(size, 8 + (long)(n + 1) * 22);

    /* refused as a whole: one entry already recorded (here the block of the first append) */
    journal_entry f[3] = {{JOURNAL_BLOCK, {10, 0}, 0},
                          {JOURNAL_ENDORSEMENT, {10, 1}, 4},
                          {JOURNAL_BLOCK, {50, 3}, 0}};
    assert_int_equal(journal_append(j, f, 3), WEFT_E_ALREADY_SIGNED);
    /* or one repeated in the batch */
    f[2] = f[1];
    assert_int_equal(journal_append(j, f, 3), WEFT_E_ALREADY_SIGNED);
    assert_false(journal_has(j, JOURNAL_BLOCK, (slot_t){10, 0}, 0));
    assert_false(journal_has(j, JOURNAL_ENDORSEMENT, (slot_t){10, 1}, 4));
    assert_int_equal(journal_syncs(j), syncs + 2);
    assert_int_equal(file_size(), size);
    assert_int_equal(journal_append(j, NULL, 0), WEFT_OK);
    assert_int_equal(journal_syncs(j), syncs + 2);

    /* bounded: one more than JOURNAL_MAX_APPEND is refused, JOURNAL_MAX_APPEND is one append */
    mixed_entries(e, JOURNAL_MAX_APPEND + 1, 1000, &r);
    assert_int_equal(journal_append(j, e, JOURNAL_MAX_APPEND + 1), WEFT_E_LIMIT);
    assert_false(journal_has(j, e[0].kind, e[0].slot, e[0].index));
    assert_int_equal(journal_append(j, e, JOURNAL_MAX_APPEND), WEFT_OK);
    assert_int_equal(journal_syncs(j), syncs + 3);
    journal_close(j);

    /* after reopen every record of it is refused, alone or in a batch */
    journal_open_report rep;
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_int_equal(rep.records, n + 1 + JOURNAL_MAX_APPEND);
    for (size_t i = 0; i < JOURNAL_MAX_APPEND; i++) {
        assert_true(journal_has(j, e[i].kind, e[i].slot, e[i].index));
        assert_int_equal(journal_record(j, e[i].kind, e[i].slot, e[i].index),
                         WEFT_E_ALREADY_SIGNED);
    }
    f[0] = e[JOURNAL_MAX_APPEND]; /* never recorded */
    f[1] = e[17];
    assert_int_equal(journal_append(j, f, 2), WEFT_E_ALREADY_SIGNED);
    journal_close(j);

    /* a crash inside the big append's write: each cut keeps exactly the records before it, in the
     * batch's order; those are refused, the others can still be recorded */
    size_t len;
    uint8_t *full = read_file(&len);
    size_t start = len - JOURNAL_MAX_APPEND * 22;
    for (int t = 0; t < 8; t++) {
        size_t cut = start + (size_t)test_rng_below(&r, JOURNAL_MAX_APPEND * 22);
        if (t == 0)
            cut = start + 1;
        write_file(full, cut);
        assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
        size_t kept = (cut - start) / 22;
        assert_int_equal(rep.records, n + 1 + kept);
        assert_int_equal(rep.truncated_bytes, (cut - start) % 22);
        for (size_t i = 0; i < JOURNAL_MAX_APPEND; i++)
            assert_int_equal(journal_has(j, e[i].kind, e[i].slot, e[i].index), i < kept);
        if (kept > 0)
            assert_int_equal(journal_append(j, e, kept + 1), WEFT_E_ALREADY_SIGNED);
        assert_int_equal(journal_append(j, e + kept, JOURNAL_MAX_APPEND - kept), WEFT_OK);
        assert_int_equal(journal_count(j), n + 1 + JOURNAL_MAX_APPEND);
        journal_close(j);
    }
    free(full);

    /* compaction keeps the periods asked for, mixed records included */
    assert_int_equal(journal_open(&j, path, NULL), WEFT_OK);
    assert_int_equal(journal_compact(j, 1000), WEFT_OK);
    assert_int_equal(journal_count(j), JOURNAL_MAX_APPEND);
    assert_false(journal_has(j, JOURNAL_BLOCK, (slot_t){50, 3}, 0));
    journal_close(j);
    assert_int_equal(journal_open(&j, path, &rep), WEFT_OK);
    assert_int_equal(rep.records, JOURNAL_MAX_APPEND);
    for (size_t i = 0; i < JOURNAL_MAX_APPEND; i++)
        assert_true(journal_has(j, e[i].kind, e[i].slot, e[i].index));
    journal_close(j);
    free(e);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    if (log_init("error") != WEFT_OK) /* the torn-tail sweep logs a warning per prefix */
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_refuse_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_mixed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
