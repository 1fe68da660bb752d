/* Unit tests of src/journal: record/refuse/replay, torn tails at every byte, corrupt tail vs
 * corrupt middle, bad magic, compaction. */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
