/* Fuzz target: the graph scenario tool (JSON scenario parser + the whole graph core behind it, with
 * graph_check after every input in WEFT_VERIFY builds).  Oracles: no crash, leak or sanitizer
 * report; an accepted scenario yields output, a rejected one a message; and the final state printed
 * without trace is exactly the last line of the trace. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) /* bounded work per input: scenarios here are a few dozen blocks */
        return 0;
    char *trace = NULL, *last = NULL, err[256];
    weft_err e = graph_replay(&trace, (const char *)data, size, true, err, sizeof err);
    if (e != WEFT_OK) {
        if (trace || err[0] == 0)
            abort();
        return 0;
    }
    if (graph_replay(&last, (const char *)data, size, false, err, sizeof err) != WEFT_OK)
        abort();
    size_t n = strlen(trace);
    if (n > 0) {
        const char *l = trace + n - 1; /* ends with '\n' */
        while (l > trace && l[-1] != '\n')
            l--;
        if (strcmp(l, last) != 0)
            abort();
    }
    free(trace);
    free(last);
    return 0;
}
