/* Helpers shared by the client's commands: named errors, option parsing, output (JSON with --json,
 * "key: value" lines otherwise). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_error(weft_err err, const char *detail_fmt, ...)
{
    fprintf(stderr, "weft: %s: %s", weft_err_name(err), weft_strerror(err));
    if (detail_fmt && *detail_fmt) {
        va_list ap;
        fputs(": ", stderr);
        va_start(ap, detail_fmt);
        vfprintf(stderr, detail_fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_parse_opts(int argc, char **argv, struct cli_opt *opts, size_t nopts,
                   const char **positional, size_t max_positional, size_t *npositional)
{
    *npositional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*npositional == max_positional)
                return cli_error(WEFT_E_USAGE, "unexpected argument '%s'", a);
            positional[(*npositional)++] = a;
            continue;
        }
        struct cli_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strcmp(a + 2, opts[k].name) == 0)
                o = &opts[k];
        if (!o)
            return cli_error(WEFT_E_USAGE, "unknown option '%s'", a);
        if (o->is_flag) {
            o->set = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(WEFT_E_USAGE, "option '%s' needs a value", a);
        o->value = argv[++i];
        o->set = true;
    }
    return CLI_EXIT_OK;
}

json_t *cli_u64(uint64_t v)
{
    /* jansson integers are signed 64-bit: values above INT64_MAX are written as decimal strings */
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

json_t *cli_hex(const uint8_t *data, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (!s)
        return NULL;
    hex_encode(s, 2 * len + 1, data, len);
    json_t *j = json_string(s);
    free(s);
    return j;
}

json_t *cli_nano(uint64_t nano)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)nano);
    return json_string(buf);
}

int cli_print(json_t *obj, bool as_json)
{
    if (!obj)
        return cli_error(WEFT_E_NOMEM, NULL);
    if (as_json) {
        char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            return cli_error(WEFT_E_NOMEM, NULL);
        puts(s);
        free(s);
        return CLI_EXIT_OK;
    }
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        if (json_is_string(v)) {
            printf("%-16s %s\n", key, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
            printf("%-16s %s\n", key, s ? s : "?");
            free(s);
        }
    }
    return CLI_EXIT_OK;
}
