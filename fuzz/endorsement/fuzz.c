/* Fuzz target: endorsement wire form.  Oracle: re-encodes to the same bytes. */
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    model_params p;
    fuzz_params(&p);
    endorsement_t e;
    if (endorsement_decode(&e, &p, data, size) == WEFT_OK) {
        wr_t w;
        wr_init(&w);
        endorsement_encode(&w, &e);
        fuzz_same_bytes(&w, data, size, "endorsement");
        wr_free(&w);
        volatile weft_err verdict = endorsement_verify(&e); /* exercised; either answer is fine */
        (void)verdict;
    }
    return 0;
}
