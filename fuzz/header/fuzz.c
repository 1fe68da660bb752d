/* Fuzz target: block header wire form (with its endorsements).  Oracle: re-encodes to the same
 * bytes. */
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    model_params p;
    fuzz_params(&p);
    block_header_t *h = malloc(sizeof *h);
    if (!h)
        return 0;
    if (header_decode(h, &p, data, size) == WEFT_OK) {
        wr_t w;
        wr_init(&w);
        header_encode(&w, h);
        fuzz_same_bytes(&w, data, size, "header");
        wr_free(&w);
        volatile weft_err verdict = header_verify(h); /* exercised; either answer is fine */
        (void)verdict;
    }
    free(h);
    return 0;
}
