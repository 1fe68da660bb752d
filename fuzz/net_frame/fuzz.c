/* Fuzz target: protocol frames from a peer past the handshake (src/net, docs/protocol.md).  The
 * input is a sequence of frames, each cut by its own length prefix; they go to one core over a
 * fake chain (tests/unit/net_harness.c) with the chain's events and the timers run after them.
 * Oracle: no crash, no sanitizer report, no leak, and the core never fails a call (a bad peer is
 * closed, never an error).  The corpus is written by unit_net_core (WEFT_NET_FRAME_CORPUS=dir). */
#include "../../tests/unit/net_harness.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        if (log_init("error") != WEFT_OK)
            abort();
        quiet = 1;
    }
    fz_env e;
    fz_init(&e);
    fz_feed(&e, data, size);
    fz_free(&e);
    return 0;
}
