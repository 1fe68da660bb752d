/* Signing journal: append-only file of fixed-size checksummed records, an in-memory sorted set of
 * what was signed, torn-tail repair at open, atomic compaction.  See journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "journal/journal.h"

#define MAGIC "WEFTJRN1"
#define MAGIC_LEN 8
#define BODY_LEN 14
#define REC_LEN (BODY_LEN + 8)

typedef struct jrec {
    uint8_t kind;
    uint64_t period;
    uint8_t thread;
    uint32_t index;
} jrec;

struct journal {
    char *path;
    int fd;
    bool failed;    /* a failed append: refuse everything until reopened */
    uint64_t syncs; /* syncs of the file since open (appends, repair, compaction) */
    jrec *recs;     /* sorted, unique */
    size_t len, cap;
};

static int rec_cmp(const jrec *a, const jrec *b)
{
    if (a->period != b->period)
        return a->period < b->period ? -1 : 1;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return 0;
}

/* Position of r in the sorted set, or where it would go; *found tells which. */
static size_t find(const journal_t *j, const jrec *r, bool *found)
{
    size_t lo = 0, hi = j->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rec_cmp(&j->recs[mid], r) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < j->len && rec_cmp(&j->recs[lo], r) == 0;
    return lo;
}

/* Makes room for one more record in the set. */
static bool reserve(journal_t *j, size_t n)
{
    if (j->len + n <= j->cap)
        return true;
    size_t ncap = j->cap ? j->cap * 2 : 256;
    while (ncap < j->len + n)
        ncap *= 2;
    jrec *nr = realloc(j->recs, ncap * sizeof *nr);
    if (!nr)
        return false;
    j->recs = nr;
    j->cap = ncap;
    return true;
}

static bool reserve_one(journal_t *j) { return reserve(j, 1); }

static bool set_add(journal_t *j, const jrec *r)
{
    bool found;
    size_t at = find(j, r, &found);
    if (found)
        return true;
    if (!reserve_one(j))
        return false;
    memmove(j->recs + at + 1, j->recs + at, (j->len - at) * sizeof *j->recs);
    j->recs[at] = *r;
    j->len++;
    return true;
}

static void encode(uint8_t out[REC_LEN], const jrec *r)
{
    wr_t w;
    wr_init_fixed(&w, out, REC_LEN);
    wr_u8(&w, r->kind);
    wr_u64le(&w, r->period);
    wr_u8(&w, r->thread);
    wr_u32le(&w, r->index);
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_blake3(h, out, BODY_LEN);
    wr_bytes(&w, h, 8);
    WEFT_ASSERT(wr_err(&w) == WEFT_OK && w.len == REC_LEN);
}

/* Decodes one record; false if its checksum or kind is wrong. */
static bool decode(jrec *r, const uint8_t in[REC_LEN])
{
    uint8_t h[CRYPTO_HASH_LEN];
    crypto_blake3(h, in, BODY_LEN);
    if (memcmp(h, in + BODY_LEN, 8) != 0)
        return false;
    rd_t rd;
    rd_init(&rd, in, BODY_LEN);
    r->kind = rd_u8(&rd);
    r->period = rd_u64le(&rd);
    r->thread = rd_u8(&rd);
    r->index = rd_u32le(&rd);
    return rd_finish(&rd) == WEFT_OK &&
           (r->kind == JOURNAL_BLOCK || r->kind == JOURNAL_ENDORSEMENT);
}

static weft_err io_error(const char *what, const char *path)
{
    log_error("journal", "I/O failure", "op=%s path=%s errno=%d (%s)", what, path, errno,
              strerror(errno));
    return WEFT_E_IO;
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Syncs the directory holding path, so that a create or rename is durable. */
static bool sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return false;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (dfd < 0)
        return false;
    bool ok = fsync(dfd) == 0;
    close(dfd);
    return ok;
}

weft_err journal_open(journal_t **out, const char *path, journal_open_report *report)
{
    weft_err err = WEFT_OK;
    uint8_t *buf = NULL;
    *out = NULL;
    journal_t *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        err = WEFT_E_NOMEM;
        goto fail;
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        err = io_error("open", path);
        goto fail;
    }
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        err = io_error("stat", path);
        goto fail;
    }
    size_t size = (size_t)st.st_size;
    if (size < MAGIC_LEN) {
        /* new (or torn while being created): start a fresh file */
        if (size > 0)
            log_warn("journal", "discarding a torn header", "path=%s bytes=%zu", path, size);
        if (ftruncate(j->fd, 0) != 0 || pwrite(j->fd, MAGIC, MAGIC_LEN, 0) != MAGIC_LEN ||
            fsync(j->fd) != 0 || !sync_dir(path)) {
            err = io_error("create", path);
            goto fail;
        }
        j->syncs += 2;
        size = MAGIC_LEN;
    }
    buf = malloc(size);
    if (!buf) {
        err = WEFT_E_NOMEM;
        goto fail;
    }
    ssize_t got = pread(j->fd, buf, size, 0);
    if (got < 0 || (size_t)got != size) {
        err = io_error("read", path);
        goto fail;
    }
    if (memcmp(buf, MAGIC, MAGIC_LEN) != 0) {
        log_error("journal", "not a signing journal (bad magic)", "path=%s", path);
        err = WEFT_E_CORRUPT;
        goto fail;
    }
    size_t nrec = (size - MAGIC_LEN) / REC_LEN, good = 0;
    for (size_t i = 0; i < nrec; i++) {
        jrec r;
        if (!decode(&r, buf + MAGIC_LEN + i * REC_LEN)) {
            if (i + 1 < nrec) {
                log_error("journal", "corrupt record before the tail", "path=%s record=%zu of=%zu",
                          path, i, nrec);
                err = WEFT_E_CORRUPT;
                goto fail;
            }
            break; /* a torn last record */
        }
        if (!set_add(j, &r)) {
            err = WEFT_E_NOMEM;
            goto fail;
        }
        good++;
    }
    size_t keep = MAGIC_LEN + good * REC_LEN;
    if (keep != size) {
        log_warn("journal", "truncating a torn tail", "path=%s bytes=%zu records=%zu", path,
                 size - keep, good);
        if (ftruncate(j->fd, (off_t)keep) != 0 || fsync(j->fd) != 0) {
            err = io_error("truncate", path);
            goto fail;
        }
        j->syncs++;
    }
    if (lseek(j->fd, (off_t)keep, SEEK_SET) < 0) {
        err = io_error("seek", path);
        goto fail;
    }
    if (report) {
        report->records = good;
        report->truncated_bytes = size - keep;
    }
    free(buf);
    *out = j;
    return WEFT_OK;
fail:
    free(buf);
    journal_close(j);
    return err;
}

void journal_close(journal_t *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->recs);
    free(j->path);
    free(j);
}

static jrec make(journal_kind kind, slot_t slot, uint32_t index)
{
    WEFT_MISUSE(kind == JOURNAL_BLOCK || kind == JOURNAL_ENDORSEMENT);
    WEFT_MISUSE(kind == JOURNAL_ENDORSEMENT || index == 0);
    return (jrec){(uint8_t)kind, slot.period, slot.thread, index};
}

bool journal_has(const journal_t *j, journal_kind kind, slot_t slot, uint32_t index)
{
    jrec r = make(kind, slot, index);
    bool found;
    find(j, &r, &found);
    return found;
}

/* Merges the sorted batch rs[0..n) (none of it present) into the set; capacity was reserved. */
static void set_merge(journal_t *j, const jrec *rs, size_t n)
{
    size_t i = j->len, k = n, out = j->len + n;
    while (k > 0) {
        if (i > 0 && rec_cmp(&j->recs[i - 1], &rs[k - 1]) > 0)
            j->recs[--out] = j->recs[--i];
        else
            j->recs[--out] = rs[--k];
    }
    j->len += n;
}

static int rec_qcmp(const void *a, const void *b) { return rec_cmp(a, b); }

weft_err journal_append(journal_t *j, const journal_entry *e, size_t n)
{
    if (j->failed)
        return WEFT_E_IO;
    if (n == 0)
        return WEFT_OK;
    if (n > JOURNAL_MAX_APPEND)
        return WEFT_E_LIMIT;
    uint8_t *buf = malloc(n * REC_LEN);
    jrec *rs = malloc(n * sizeof *rs);
    weft_err err = WEFT_OK;
    if (!buf || !rs) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rs[i] = make(e[i].kind, e[i].slot, e[i].index);
        bool found;
        find(j, &rs[i], &found);
        if (found) {
            err = WEFT_E_ALREADY_SIGNED;
            goto out;
        }
        encode(buf + i * REC_LEN, &rs[i]);
    }
    qsort(rs, n, sizeof *rs, rec_qcmp);
    for (size_t i = 1; i < n; i++)
        if (rec_cmp(&rs[i - 1], &rs[i]) == 0) {
            err = WEFT_E_ALREADY_SIGNED;
            goto out;
        }
    /* reserve memory first: once on disk, the records must also be in the set */
    if (!reserve(j, n)) {
        err = WEFT_E_NOMEM;
        goto out;
    }
    /* one write and one sync: a crash leaves a prefix of whole records and at most one torn one,
     * which opening truncates — every record that reached the disk is refused after restart */
    if (!write_all(j->fd, buf, n * REC_LEN) || fdatasync(j->fd) != 0) {
        j->failed = true;
        err = io_error("append", j->path);
        goto out;
    }
    j->syncs++;
    set_merge(j, rs, n);
out:
    free(buf);
    free(rs);
    return err;
}

weft_err journal_record(journal_t *j, journal_kind kind, slot_t slot, uint32_t index)
{
    journal_entry e = {kind, slot, index};
    return journal_append(j, &e, 1);
}

weft_err journal_record_many(journal_t *j, journal_kind kind, slot_t slot, const uint32_t *indices,
                             size_t n)
{
    if (n > JOURNAL_MAX_BATCH)
        return j->failed ? WEFT_E_IO : WEFT_E_LIMIT;
    journal_entry e[JOURNAL_MAX_BATCH];
    for (size_t i = 0; i < n; i++)
        e[i] = (journal_entry){kind, slot, indices[i]};
    return journal_append(j, e, n);
}

weft_err journal_compact(journal_t *j, uint64_t min_period)
{
    if (j->failed)
        return WEFT_E_IO;
    size_t plen = strlen(j->path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return WEFT_E_NOMEM;
    memcpy(tmp, j->path, plen);
    memcpy(tmp + plen, ".new", 5);
    weft_err err = WEFT_OK;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = io_error("open", tmp);
        goto out;
    }
    size_t first = 0;
    while (first < j->len && j->recs[first].period < min_period)
        first++;
    bool ok = write_all(fd, (const uint8_t *)MAGIC, MAGIC_LEN);
    for (size_t i = first; ok && i < j->len; i++) {
        uint8_t rec[REC_LEN];
        encode(rec, &j->recs[i]);
        ok = write_all(fd, rec, REC_LEN);
    }
    if (!ok || fsync(fd) != 0 || rename(tmp, j->path) != 0 || !sync_dir(j->path)) {
        err = io_error("compact", tmp);
        close(fd);
        unlink(tmp);
        goto out;
    }
    j->syncs += 2;
    close(j->fd);
    j->fd = fd;
    if (lseek(j->fd, 0, SEEK_END) < 0) {
        j->failed = true;
        err = io_error("seek", j->path);
        goto out;
    }
    memmove(j->recs, j->recs + first, (j->len - first) * sizeof *j->recs);
    j->len -= first;
out:
    free(tmp);
    return err;
}

uint64_t journal_count(const journal_t *j) { return j->len; }

uint64_t journal_syncs(const journal_t *j) { return j->syncs; }
