/* Fuzz target: operation content (Massa layout) and the signed wire form sig ‖ pk ‖ content.
 * Oracle: whatever decodes re-encodes to the same bytes. */
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    operation_t op;
    if (op_decode(&op, data, size) == WEFT_OK) {
        wr_t w;
        wr_init(&w);
        op_encode(&w, &op);
        fuzz_same_bytes(&w, data, size, "operation");
        wr_free(&w);
        amount_t m;
        if (op_max_spending(&m, &op, amount_from_nano(100000000000ull)) == WEFT_OK &&
            m.nano < op.fee.nano)
            abort();
        op_free(&op);
    }
    signed_op_t s;
    if (signed_op_decode(&s, 77658366, data, size) == WEFT_OK) {
        wr_t w;
        wr_init(&w);
        signed_op_encode(&w, &s);
        fuzz_same_bytes(&w, data, size, "signed operation");
        wr_free(&w);
        volatile weft_err verdict = signed_op_verify(&s); /* exercised; either answer is fine */
        (void)verdict;
        signed_op_free(&s);
    }
    return 0;
}
