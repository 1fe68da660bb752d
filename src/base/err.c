/* Error names and messages, generated from err_table.h. */
#include "base/base.h"

const char *weft_err_name(int err)
{
    switch (err) {
#define X(name, value, msg)                                                                        \
    case value:                                                                                    \
        return #name;
#include "base/err_table.h"
#undef X
    default:
        return "E_UNKNOWN";
    }
}

const char *weft_strerror(int err)
{
    switch (err) {
#define X(name, value, msg)                                                                        \
    case value:                                                                                    \
        return msg;
#include "base/err_table.h"
#undef X
    default:
        return "unknown error";
    }
}
