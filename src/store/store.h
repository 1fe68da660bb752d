/* store — the node's LMDB environment and the fault-injecting storage wrapper (DESIGN §5
 * "Repository"; final state layout: docs/consensus.md §2).
 *
 * One LMDB environment per node (a directory holding data.mdb and lock.mdb) with one named
 * database per state table (state_table_name).  store_kv() exposes it as the state module's
 * storage interface (state_kv_t), so that state_final_apply writes each finalized slot — or a batch
 * of them (state_final_batch_begin) — in one LMDB write transaction: all of it becomes durable at
 * commit, or none of it does — a process crash at any point leaves the previous or the new final
 * state.  Reads through the kv while a write transaction is open see its writes.
 *
 * Transactions poison themselves (LMDB's MDB_TXN_ERROR model, c-style-anchors §6): after a failed
 * put or del, every call but abort fails with E_STORE_POISONED and commit aborts.  A full map
 * (MDB_MAP_FULL, at a write or at commit) is not a failure: the store keeps a log of the open
 * transaction's writes, aborts, doubles the map size (up to map_size_max), begins again and replays
 * the log, transparently to the caller; only past map_size_max does the transaction fail with
 * E_STORE_MAP_FULL.
 *
 * store_fault_t wraps any state_kv_t to inject faults in tests: a failed write (E_STORE_FAULT) at
 * the N-th write, or a crash before the N-th write (a callback — e.g. _exit in a forked child — or,
 * without one, an in-process simulation that drops the transaction and fails every later call).
 *
 * Errors: E_STORE_LMDB (other LMDB errors, logged with mdb_strerror), E_STORE_POISONED,
 * E_STORE_MAP_FULL, E_LIMIT (key or value size LMDB refuses: keys are 1..511 bytes), E_IO, E_NOMEM,
 * E_STATE (write without transaction, nested begin), E_BUSY (environment locked: MDB_READERS_FULL).
 * Thread-safety: a store_t and its kv are used by one thread at a time (the execution actor);
 * store_open/close are not concurrent with anything on the same store.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "state/state.h"

typedef struct store_options {
    const char *dir;     /* environment directory; created (mode 0700) if missing */
    size_t map_size;     /* initial map size in bytes; 0: STORE_DEFAULT_MAP_SIZE */
    size_t map_size_max; /* growth limit; 0: STORE_DEFAULT_MAP_MAX */
    bool no_sync;        /* MDB_NOSYNC: skip fsync at commit (tests; a crash of the machine can
                            lose recent commits, a crash of the process cannot) */
} store_options;

#define STORE_DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define STORE_DEFAULT_MAP_MAX ((size_t)1 << 40)

typedef struct store store_t;

/* Opens (creating if needed) the environment and every state table.  Clears reader slots left by
 * dead processes.  Errors above; *out is NULL on error. */
WEFT_MUST_USE weft_err store_open(store_t **out, const store_options *o);
/* Aborts an open transaction and closes the environment. */
void store_close(store_t *s);
/* The storage interface over this store (valid until store_close). */
state_kv_t store_kv(store_t *s);
/* The current map size in bytes (grows on MDB_MAP_FULL). */
size_t store_map_size(const store_t *s);

/* ---- snapshots ------------------------------------------------------------------------------- */

/* A read-only view of the store as it is when opened, kept until closed (an LMDB read
 * transaction): the store's writes go on and are not seen through it.  Its kv (store_snapshot_kv)
 * answers get and scan; begin, put, del and commit fail with E_STATE.  A snapshot belongs to the
 * store's thread.  An open snapshot keeps the pages it sees from being reused (the file grows
 * while it lives: close it soon), and the map cannot change size under it: a write that grows the
 * map, and store_close, end every snapshot first — its reads then fail with E_STORE_SNAPSHOT
 * (store_snapshot_live says so); the handle stays valid until store_snapshot_close. */
typedef struct store_snap store_snap_t;
WEFT_MUST_USE weft_err store_snapshot_open(store_t *s, store_snap_t **out);
state_kv_t store_snapshot_kv(store_snap_t *sn);
bool store_snapshot_live(const store_snap_t *sn);
void store_snapshot_close(store_snap_t *sn);

/* Maps an LMDB return code to a weft error, logging the unexpected ones under `module` with the
 * operation `what`: ENOMEM → E_NOMEM, EIO/ENOSPC → E_IO, MDB_MAP_FULL → E_STORE_MAP_FULL,
 * MDB_BAD_VALSIZE → E_LIMIT, MDB_READERS_FULL → E_BUSY, MDB_CORRUPTED/MDB_PAGE_NOTFOUND →
 * E_CORRUPT, anything else → E_STORE_LMDB.  Shared by every LMDB environment of the node. */
weft_err store_lmdb_err(int rc, const char *module, const char *what);

/* ---- fault injection ------------------------------------------------------------------------- */

typedef struct store_fault {
    state_kv_t inner;
    uint64_t writes;          /* put, del and commit calls seen so far (each one counts, from 1) */
    uint64_t fail_at;         /* the write with this number fails with E_STORE_FAULT (0: never) */
    uint64_t crash_at;        /* before the write with this number, crash (0: never) */
    void (*crash)(void *ctx); /* called at the crash point; NULL: simulate in process */
    void *crash_ctx;
    bool crashed;  /* simulated crash happened: every call fails with E_STORE_CRASHED */
    bool poisoned; /* an injected failure poisoned the open transaction */
} store_fault_t;

/* Initializes a pass-through wrapper around inner (borrowed); set the fields above to arm it. */
void store_fault_init(store_fault_t *f, state_kv_t inner);
state_kv_t store_fault_kv(store_fault_t *f);

#endif
