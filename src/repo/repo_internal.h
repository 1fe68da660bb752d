/* repo: helpers shared by the files of the module (not part of the contract). */
#ifndef WEFT_REPO_INTERNAL_H
#define WEFT_REPO_INTERNAL_H

#include <stddef.h>

#include "repo/repo.h"

/* snprintf into err (no-op when err is NULL or errcap 0). */
void repo_errf(char *err, size_t errcap, const char *fmt, ...) WEFT_PRINTF(3, 4);

/* Writes data to path atomically: a temporary file beside it (created with `mode`), fsync, rename,
 * fsync of the directory.  E_IO (errno kept) on failure; the temporary file is removed. */
WEFT_MUST_USE weft_err repo_write_atomic(const char *path, const void *data, size_t len,
                                         unsigned mode);

/* Config parsing with the file name used in messages ("NAME:LINE: ..."). */
WEFT_MUST_USE weft_err repo_config_parse_named(repo_config_t *c, const char *name, const char *text,
                                               size_t len, char *err, size_t errcap);
/* Genesis parsing with the file name used in messages ("NAME: field: ..."). */
WEFT_MUST_USE weft_err repo_genesis_parse_named(repo_genesis_t *out, const char *name,
                                                const char *json, size_t len, char *err,
                                                size_t errcap);

#endif
