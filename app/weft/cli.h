/* Shared declarations of the weft client's command modules. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* the command ran but the result is negative (e.g. invalid signature) */
#define CLI_EXIT_USAGE 2 /* malformed input or usage: a named error on stderr */

/* A command gets argv with argv[0] = its own name. */
typedef int (*cli_fn)(int argc, char **argv);
struct cli_command {
    const char *name;
    cli_fn fn;
    const char *help;
};

int cmd_key(int argc, char **argv);
int cmd_op(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_devnet(int argc, char **argv);

/* Prints "weft: <NAME>: <message>[: detail]" to stderr and returns CLI_EXIT_USAGE. */
int cli_error(weft_err err, const char *detail_fmt, ...) WEFT_PRINTF(2, 3);

/* A command-line option "--name VALUE" (or "--name" alone when is_flag). */
struct cli_opt {
    const char *name;
    const char *value; /* borrowed from argv */
    bool is_flag;
    bool set;
};
/* Parses argv[1..] into opts and up to max_positional positional arguments.  Returns CLI_EXIT_OK,
 * or CLI_EXIT_USAGE after printing a named error. */
int cli_parse_opts(int argc, char **argv, struct cli_opt *opts, size_t nopts,
                   const char **positional, size_t max_positional, size_t *npositional);

/* JSON value constructors (new references; NULL on allocation failure, which jansson's setters
 * tolerate and cli_print reports). */
json_t *cli_u64(uint64_t v);     /* a number, or a decimal string above INT64_MAX */
json_t *cli_nano(uint64_t nano); /* nanoMAS as a decimal string */
json_t *cli_hex(const uint8_t *data, size_t len);
/* Prints obj (steals nothing) as JSON (--json) or as aligned "key value" lines; returns an exit
 * status. */
int cli_print(json_t *obj, bool as_json);

#endif
