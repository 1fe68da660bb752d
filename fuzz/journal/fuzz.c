/* Fuzz target: the signing journal's file decoder (journal_open on arbitrary file contents).
 * Oracles: open never crashes; when it succeeds, a second open finds a clean file (no torn tail
 * left) with the same number of records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "journal/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        if (crypto_init() != WEFT_OK || log_init("error") != WEFT_OK)
            abort();
        snprintf(path, sizeof path, "/tmp/weft-fuzz-journal-%d", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    journal_t *j;
    journal_open_report a, b;
    if (journal_open(&j, path, &a) == WEFT_OK) {
        journal_close(j);
        if (journal_open(&j, path, &b) != WEFT_OK || b.truncated_bytes != 0 ||
            b.records != a.records)
            abort();
        journal_close(j);
    }
    unlink(path);
    return 0;
}
