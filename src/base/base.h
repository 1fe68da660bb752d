/* base — the foundation every weft module builds on.
 *
 * Contents, in order:
 *   1. the project-wide error enum (weft_err) generated from err_table.h, with names and messages;
 *   2. failure handling: WEFT_ASSERT (cheap, always on), WEFT_VERIFY (expensive, debug/test
 * builds), weft_panic (broken invariant: message + stack trace + abort), WEFT_MISUSE (caller
 * misuse);
 *   3. logging: levels, key=value fields, to stderr, level from config or WEFT_LOG;
 *   4. checked u64 arithmetic;
 *   5. a bounded byte reader with a sticky error (rd_*) and a byte writer (wr_*);
 *   6. unsigned LEB128 varints (u64), rejecting overlong and overflowing encodings;
 *   7. base58 and base58check (4-byte double-SHA-256 checksum), hex;
 *   8. whole-file reading for tools and tests.
 *
 * Failure classes (DESIGN §8): bad outside input returns a weft_err and never asserts; caller
 * misuse aborts through WEFT_MISUSE; broken invariants panic.  Functions returning weft_err or bool
 * success are WEFT_MUST_USE.
 *
 * Thread-safety: everything here is safe to call from any thread; rd_t/wr_t values are not shared.
 * The log level is process-wide configuration set once at start-up (log_init) before threads start.
 */
#ifndef WEFT_BASE_H
#define WEFT_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_MUST_USE __attribute__((warn_unused_result))
#define WEFT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WEFT_NORETURN __attribute__((noreturn))
#define WEFT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WEFT_STATIC_ASSERT(c, msg) _Static_assert(c, msg)

/* ---- 1. errors ------------------------------------------------------------------------------ */

typedef enum weft_err {
#define X(name, value, msg) WEFT_##name = (value),
#include "base/err_table.h"
#undef X
} weft_err;

/* The symbolic name ("E_TRUNCATED") of an error code; "E_UNKNOWN" for a value not in the table.
 * Returns a static string. */
const char *weft_err_name(int err);
/* The human-readable message of an error code; a static string. */
const char *weft_strerror(int err);

/* ---- 2. failure handling -------------------------------------------------------------------- */

/* Report a broken internal invariant: prints the message and a stack trace, then aborts. */
WEFT_NORETURN void weft_panic(const char *file, int line, const char *fmt, ...) WEFT_PRINTF(3, 4);

#define WEFT_PANIC(...) weft_panic(__FILE__, __LINE__, __VA_ARGS__)
/* Cheap invariant, always checked; failure means memory corruption or a logic bug. */
#define WEFT_ASSERT(c)                                                                             \
    do {                                                                                           \
        if (__builtin_expect(!(c), 0))                                                             \
            weft_panic(__FILE__, __LINE__, "assertion failed: %s", #c);                            \
    } while (0)
/* Caller misuse of an API (NULL where forbidden, out-of-contract argument): abort with a message.
 */
#define WEFT_MISUSE(c)                                                                             \
    do {                                                                                           \
        if (__builtin_expect(!(c), 0))                                                             \
            weft_panic(__FILE__, __LINE__, "API misuse: %s", #c);                                  \
    } while (0)
/* Expensive invariant: checked only when built with WEFT_VERIFY (dev/asan presets). */
#ifdef WEFT_VERIFY
#define WEFT_VERIFY_CHECK(c) WEFT_ASSERT(c)
#else
#define WEFT_VERIFY_CHECK(c) ((void)0)
#endif

/* ---- 3. logging ----------------------------------------------------------------------------- */

typedef enum log_level {
    LOG_ERROR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3,
    LOG_TRACE = 4,
} log_level;

/* Sets the process log level.  `spec` is a level name ("error", "warn", "info", "debug", "trace");
 * NULL means: take WEFT_LOG from the environment, or "info" if unset.  Returns WEFT_E_INVAL (and
 * keeps the current level) for an unknown name.  Call before starting threads. */
WEFT_MUST_USE weft_err log_init(const char *spec);
/* Parses a level name into *out. */
WEFT_MUST_USE weft_err log_level_parse(const char *name, log_level *out);
log_level log_get_level(void);
bool log_enabled(log_level lvl);
/* Writes one line to stderr: "<ISO-8601 UTC time> <LEVEL> <module>: <msg> key=value ...".
 * `fields_fmt` is a printf format producing the key=value part (may be NULL).  The whole line is
 * written with one write(2), so lines from different threads do not interleave. */
void log_write(log_level lvl, const char *module, const char *msg, const char *fields_fmt, ...)
    WEFT_PRINTF(4, 5);

#define LOG_AT(lvl, module, msg, ...)                                                              \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, module, msg, __VA_ARGS__);                                              \
    } while (0)
#define log_error(module, msg, ...) LOG_AT(LOG_ERROR, module, msg, __VA_ARGS__)
#define log_warn(module, msg, ...) LOG_AT(LOG_WARN, module, msg, __VA_ARGS__)
#define log_info(module, msg, ...) LOG_AT(LOG_INFO, module, msg, __VA_ARGS__)
#define log_debug(module, msg, ...) LOG_AT(LOG_DEBUG, module, msg, __VA_ARGS__)

/* ---- 4. checked arithmetic ------------------------------------------------------------------ */

/* Each returns true and stores the result on success; on overflow returns false, *out untouched. */
static inline WEFT_MUST_USE bool u64_add(uint64_t *out, uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}
static inline WEFT_MUST_USE bool u64_sub(uint64_t *out, uint64_t a, uint64_t b)
{
    if (b > a)
        return false;
    *out = a - b;
    return true;
}
static inline WEFT_MUST_USE bool u64_mul(uint64_t *out, uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}
/* Division: false when b == 0. */
static inline WEFT_MUST_USE bool u64_div(uint64_t *out, uint64_t a, uint64_t b)
{
    if (b == 0)
        return false;
    *out = a / b;
    return true;
}

/* ---- 5. byte reader and writer -------------------------------------------------------------- */

/* A bounded reader over borrowed bytes.  The first failure is sticky: later reads return zeroes and
 * do nothing, and rd_err() reports the first error.  Decoders read freely and check once. */
typedef struct rd {
    const uint8_t *p; /* borrowed: must outlive the reader and every pointer it hands out */
    size_t len;
    size_t pos;
    weft_err err;
} rd_t;

void rd_init(rd_t *r, const void *data, size_t len);
/* Marks the reader failed with `err` unless it has already failed.  Returns the sticky error. */
weft_err rd_fail(rd_t *r, weft_err err);
static inline weft_err rd_err(const rd_t *r) { return r->err; }
static inline size_t rd_left(const rd_t *r) { return r->err ? 0 : r->len - r->pos; }
/* Returns a borrowed pointer to the next n bytes and advances, or NULL (E_TRUNCATED) if fewer are
 * left.  n == 0 returns a non-NULL pointer. */
const uint8_t *rd_ptr(rd_t *r, size_t n);
void rd_bytes(rd_t *r, void *out, size_t n); /* zero-fills `out` on failure */
uint8_t rd_u8(rd_t *r);
uint32_t rd_u32le(rd_t *r);
uint64_t rd_u64le(rd_t *r);
uint64_t rd_u64be(rd_t *r);
/* Reads an unsigned LEB128 varint of at most 64 bits; E_VARINT_OVERLONG for a needless trailing
 * zero group, E_VARINT_OVERFLOW past 2^64-1, E_TRUNCATED if it runs off the end. */
uint64_t rd_varint(rd_t *r);
/* Reads a varint and fails with `err` if it exceeds `max`. */
uint64_t rd_varint_max(rd_t *r, uint64_t max, weft_err err);
/* Completes a decode: returns the sticky error, or E_TRAILING if bytes are left. */
WEFT_MUST_USE weft_err rd_finish(const rd_t *r);

/* A byte writer: growable (owns its buffer, free with wr_free or take it with wr_take) or fixed
 * (writes into caller memory; E_LIMIT when full).  The first failure is sticky. */
typedef struct wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    weft_err err;
    bool fixed;
} wr_t;

void wr_init(wr_t *w);
void wr_init_fixed(wr_t *w, void *buf, size_t cap);
/* Frees a growable writer's buffer and resets it; no-op for fixed writers. */
void wr_free(wr_t *w);
/* Transfers ownership of a growable writer's buffer to the caller (free() it); the writer is reset.
 * Returns NULL if the writer failed (and frees the buffer) or is empty. *len receives the length.
 */
uint8_t *wr_take(wr_t *w, size_t *len);
void wr_bytes(wr_t *w, const void *data, size_t n);
void wr_u8(wr_t *w, uint8_t v);
void wr_u32le(wr_t *w, uint32_t v);
void wr_u64le(wr_t *w, uint64_t v);
void wr_u64be(wr_t *w, uint64_t v);
void wr_varint(wr_t *w, uint64_t v);
static inline weft_err wr_err(const wr_t *w) { return w->err; }

/* ---- 6. varints ----------------------------------------------------------------------------- */

#define VARINT_MAX_LEN 10
/* Encodes v into out (at least VARINT_MAX_LEN bytes); returns the length written. */
size_t varint_encode(uint8_t *out, uint64_t v);
/* Decodes one varint from data[0..len): returns the number of bytes consumed (> 0) and sets *v, or
 * a negative weft_err (E_TRUNCATED, E_VARINT_OVERLONG, E_VARINT_OVERFLOW). */
int varint_decode(uint64_t *v, const uint8_t *data, size_t len);
size_t varint_len(uint64_t v);

/* ---- 7. text encodings ---------------------------------------------------------------------- */

/* Base58 (Bitcoin alphabet).  b58_encode writes a NUL-terminated string into out (cap bytes);
 * returns the string length, or E_LIMIT if cap is too small.  Inputs are limited to 1024 bytes
 * (E_LIMIT beyond). */
int b58_encode(char *out, size_t cap, const uint8_t *data, size_t len);
/* Decodes text (NUL-terminated, at most 2048 chars) into out (cap bytes); returns the decoded
 * length or a negative error: E_BASE58 (bad character or empty text), E_LIMIT (does not fit). */
int b58_decode(uint8_t *out, size_t cap, const char *text);
/* Base58check: payload ‖ first 4 bytes of SHA-256(SHA-256(payload)). */
int b58check_encode(char *out, size_t cap, const uint8_t *payload, size_t len);
/* Returns the payload length, or E_BASE58, E_CHECKSUM (checksum mismatch or text too short to hold
 * one), E_LIMIT. */
int b58check_decode(uint8_t *out, size_t cap, const char *text);

/* Lower-case hex.  hex_encode writes 2*len chars plus NUL into out (cap >= 2*len+1, else aborts as
 * misuse).  hex_decode accepts upper or lower case, returns the byte count or E_HEX (odd length,
 * bad digit), E_LIMIT (does not fit in cap). */
void hex_encode(char *out, size_t cap, const uint8_t *data, size_t len);
int hex_decode(uint8_t *out, size_t cap, const char *text);
/* Decodes hex into a newly malloc'd buffer (caller frees; non-NULL even when empty). */
WEFT_MUST_USE weft_err hex_decode_alloc(uint8_t **out, size_t *len, const char *text);

/* ---- 8. files (tools, tests, benchmarks: never protocol cores) --------------------------------
 */

/* Reads a whole file into a new malloc'd buffer (caller frees; non-NULL for an empty file) and
 * sets *len.  Returns NULL with errno set (the open error, ENOMEM or EIO) on failure. */
uint8_t *base_read_file(const char *path, size_t *len);

#endif
