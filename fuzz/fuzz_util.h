/* Shared by the model fuzz targets: a one-time crypto_init, small test parameters, and the
 * metamorphic oracle "whatever decodes re-encodes to the same bytes" (abort on violation, which
 * both libFuzzer and the replay driver report as a crash). */
#ifndef WEFT_FUZZ_UTIL_H
#define WEFT_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "model/model.h"

static inline void fuzz_init(void)
{
    static int done;
    if (!done) {
        if (crypto_init() != WEFT_OK)
            abort();
        done = 1;
    }
}

/* Parameters of the fuzzed decoders: the defaults, with T = 4 and E = 4 so that small inputs reach
 * deep code. */
static inline void fuzz_params(model_params *p)
{
    model_params_default(p);
    p->thread_count = 4;
    p->endorsement_count = 4;
    p->max_operations_per_block = 64;
}

static inline void fuzz_same_bytes(const wr_t *w, const uint8_t *data, size_t size,
                                   const char *what)
{
    if (wr_err(w) != WEFT_OK || w->len != size || memcmp(w->buf, data, size) != 0) {
        fprintf(stderr, "fuzz: %s decoded but re-encoded differently\n", what);
        abort();
    }
}

#endif
