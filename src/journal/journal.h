/* journal — the signing journal (DESIGN §4.5, seed 001's write-ahead log for signatures).
 *
 * Before a block or an endorsement signed by this node leaves the process, its slot (and index)
 * is appended here and synced; a slot found in the journal is never signed again, across crashes
 * and restarts.  Format (docs/journal.md): an 8-byte magic "WEFTJRN1", then fixed-size 22-byte
 * records: kind u8 ‖ period u64 LE ‖ thread u8 ‖ index u32 LE ‖ first 8 bytes of BLAKE3 of the
 * preceding 14 bytes.  A torn or corrupt *last* record (a crash mid-append) is detected at open,
 * logged and truncated away; a corrupt record followed by valid ones means the medium is damaged
 * and opening fails with E_CORRUPT (the node must not guess what it signed).
 *
 * This module does file I/O (it is a shell, not a pure core): open/append/compact sync before
 * returning; an append of many records (journal_append) costs one write and one sync.  A journal_t
 * is used by one thread (the factory actor); not thread-safe.
 */
#ifndef WEFT_JOURNAL_H
#define WEFT_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

typedef enum journal_kind {
    JOURNAL_BLOCK = 1,
    JOURNAL_ENDORSEMENT = 2,
} journal_kind;

typedef struct journal journal_t;

typedef struct journal_open_report {
    uint64_t records;         /* valid records loaded */
    uint64_t truncated_bytes; /* torn/corrupt tail removed (0 when clean) */
} journal_open_report;

/* Opens (creating if absent, mode 0600) the journal at `path`, replays it and repairs a torn tail.
 * Errors: E_IO (errno-level failure, logged), E_CORRUPT (bad magic, or damage before the tail),
 * E_NOMEM.  On success *out is owned by the caller (journal_close).  `report` may be NULL. */
WEFT_MUST_USE weft_err journal_open(journal_t **out, const char *path, journal_open_report *report);
/* Closes and frees; NULL is accepted. */
void journal_close(journal_t *j);

/* True if this node already recorded a signature of that kind for (slot, index); index is 0 for
 * blocks. */
bool journal_has(const journal_t *j, journal_kind kind, slot_t slot, uint32_t index);
/* An entry of an append: its kind, slot and index (0 for blocks). */
typedef struct journal_entry {
    journal_kind kind;
    slot_t slot;
    uint32_t index;
} journal_entry;

/* Appends records of any kinds, slots and indices (a factory's reservation of the signatures its
 * keys are drawn for in the next slots) with one write and one sync.  All-or-nothing in memory;
 * on disk a crash may keep a prefix of the records, each of which is then refused after restart
 * — nothing of the batch may be signed before WEFT_OK, so nothing signed left.  Errors:
 * E_ALREADY_SIGNED (one of them is recorded or repeats in the batch; nothing written), E_LIMIT
 * (n > JOURNAL_MAX_APPEND), E_NOMEM, E_IO (the journal refuses every later record too: a failed
 * append may have left a partial record that only a reopen can repair). */
#define JOURNAL_MAX_APPEND 1024
WEFT_MUST_USE weft_err journal_append(journal_t *j, const journal_entry *e, size_t n);
/* Appends (kind, slot, index) and syncs it to disk (journal_append of one entry); only after
 * WEFT_OK may the signed object leave the process. */
WEFT_MUST_USE weft_err journal_record(journal_t *j, journal_kind kind, slot_t slot, uint32_t index);
/* Records several indices of one slot and kind (the endorsements a node signs for a slot) with
 * one write and one sync, as journal_append; E_LIMIT if n > JOURNAL_MAX_BATCH. */
#define JOURNAL_MAX_BATCH 64
WEFT_MUST_USE weft_err journal_record_many(journal_t *j, journal_kind kind, slot_t slot,
                                           const uint32_t *indices, size_t n);
/* Rewrites the journal keeping only records with period >= min_period (atomically: a new file,
 * synced, renamed over the old one, directory synced).  Errors: E_IO (the old journal stays). */
WEFT_MUST_USE weft_err journal_compact(journal_t *j, uint64_t min_period);
uint64_t journal_count(const journal_t *j);
/* The syncs (fsync/fdatasync) this journal made since it was opened: at most one per append,
 * plus those of creating, repairing and compacting the file. */
uint64_t journal_syncs(const journal_t *j);

#endif
