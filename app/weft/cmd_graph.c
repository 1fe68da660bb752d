/* weft graph replay SCENARIO.json [--trace] — runs a block graph scenario (spec/blockclique.md)
 * through the graph core and prints the graph's state as one JSON line at the end, or one line
 * after every block with --trace.  A malformed or unreadable scenario prints a named error and
 * exits with status 2.  "-" reads the scenario from standard input. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "graph/graph.h"

/* Reads a whole file (or stdin for "-") into a new buffer. */
static weft_err read_all(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return WEFT_E_IO;
    weft_err err = WEFT_OK;
    size_t n = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                err = WEFT_E_NOMEM;
                goto out;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f))
                err = WEFT_E_IO;
            break;
        }
    }
out:
    if (f != stdin)
        fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = n;
    return WEFT_OK;
}

static int graph_usage(void)
{
    return cli_error(WEFT_E_USAGE, "usage: weft graph replay SCENARIO.json [--trace]");
}

int cmd_graph(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "replay") != 0)
        return graph_usage();
    struct cli_opt opts[] = {{.name = "trace", .is_flag = true}};
    const char *pos[1];
    size_t npos;
    int rc = cli_parse_opts(argc - 1, argv + 1, opts, WEFT_ARRAY_LEN(opts), pos, 1, &npos);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (npos != 1)
        return graph_usage();
    char *text = NULL, *out = NULL;
    size_t len = 0;
    weft_err err = read_all(pos[0], &text, &len);
    if (err)
        return cli_error(err, "%s: %s", pos[0], err == WEFT_E_IO ? strerror(errno) : "");
    char msg[512];
    err = graph_replay(&out, text, len, opts[0].set, msg, sizeof msg);
    free(text);
    if (err)
        return cli_error(err, "%s: %s", pos[0], msg);
    fputs(out, stdout);
    free(out);
    if (fflush(stdout) != 0)
        return cli_error(WEFT_E_IO, "writing the output: %s", strerror(errno));
    return CLI_EXIT_OK;
}
