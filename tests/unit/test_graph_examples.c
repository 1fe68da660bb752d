/* The examples of the spec through the graph core: every shared/spec/blockclique-examples/NAME.json
 * replayed (graph_replay, with and without trace) must print NAME.expected.jsonl line for line.
 * Skipped visibly when shared/ is absent (a separate executable, so that the skip never hides the
 * other graph tests). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "graph/graph.h"
#include "testutil.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Compares two texts line by line, failing with the first differing line. */
static void assert_same_lines(const char *what, const char *got, const char *want)
{
    int line = 1;
    while (*got || *want) {
        const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
        size_t gl = ge ? (size_t)(ge - got) : strlen(got),
               wl = we ? (size_t)(we - want) : strlen(want);
        if (gl != wl || memcmp(got, want, gl) != 0)
            fail_msg("%s: line %d differs\n  got:  %.*s\n  want: %.*s", what, line, (int)gl, got,
                     (int)wl, want);
        got += gl + (ge ? 1 : 0);
        want += wl + (we ? 1 : 0);
        line++;
    }
}

static void test_spec_examples(void **state)
{
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        print_message(
            "SKIP: shared/ not found (set WEFT_SHARED) — blockclique examples not checked\n");
        skip();
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/spec/blockclique-examples", shared);
    DIR *d = opendir(dir);
    if (!d) {
        print_message("SKIP: %s not found\n", dir);
        skip();
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0)
            continue;
        char path[8192], epath[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(epath, sizeof epath, "%s/%.*s.expected.jsonl", dir, (int)(nl - 5), e->d_name);
        size_t len, elen;
        char *json = slurp(path, &len);
        char *want = slurp(epath, &elen);
        if (!json || !want)
            fail_msg("cannot read %s or its expected output", path);
        char *out = NULL, err[256];
        weft_err r = graph_replay(&out, json, len, true, err, sizeof err);
        if (r != WEFT_OK)
            fail_msg("%s: %s: %s", e->d_name, weft_err_name(r), err);
        assert_same_lines(e->d_name, out, want);
        /* without --trace: only the last state */
        char *last = NULL;
        assert_int_equal(graph_replay(&last, json, len, false, err, sizeof err), WEFT_OK);
        const char *lastline = want + elen - 1;
        while (lastline > want && lastline[-1] != '\n')
            lastline--;
        assert_string_equal(last, lastline);
        free(out);
        free(last);
        free(json);
        free(want);
        count++;
    }
    closedir(d);
    print_message("%d blockclique examples match\n", count);
    assert_true(count >= 25);
}

int main(void)
{
    if (crypto_init() != WEFT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
