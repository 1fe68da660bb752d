/* Fuzz target: block wire form (header ‖ operation ids).  Oracle: re-encodes to the same bytes. */
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    model_params p;
    fuzz_params(&p);
    block_t *b = malloc(sizeof *b);
    if (!b)
        return 0;
    if (block_decode(b, &p, data, size) == WEFT_OK) {
        wr_t w;
        wr_init(&w);
        block_encode(&w, b);
        fuzz_same_bytes(&w, data, size, "block");
        wr_free(&w);
        block_free(b);
    }
    free(b);
    return 0;
}
