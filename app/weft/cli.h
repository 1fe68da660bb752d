/* Shared declarations of the weft client's command modules. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stdbool.h>
#include <stdio.h>

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

/* Prints "weft: <NAME>: <message>[: detail]" to stderr and returns CLI_EXIT_USAGE. */
int cli_error(weft_err err, const char *detail_fmt, ...) WEFT_PRINTF(2, 3);

#endif
