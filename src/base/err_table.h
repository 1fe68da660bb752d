/* The one error table of weft.  Each line: X(NAME, value, "message").  0 is OK; every error is a
 * distinct negative value.  Grouped by area; add new codes at the end of their group with the next
 * free value of the group's band.  Included only by base.h and err.c. */

/* general: -1 .. -99 */
X(OK, 0, "success")
X(E_NOMEM, -1, "out of memory")
X(E_INVAL, -2, "invalid argument")
X(E_IO, -3, "input/output error")
X(E_NOT_FOUND, -4, "not found")
X(E_EXISTS, -5, "already exists")
X(E_BUSY, -6, "resource busy or locked")
X(E_OVERFLOW, -7, "arithmetic overflow")
X(E_UNDERFLOW, -8, "arithmetic underflow (insufficient amount)")
X(E_LIMIT, -9, "size or count limit exceeded")
X(E_UNSUPPORTED, -10, "unsupported")
X(E_TIMEOUT, -11, "timed out")
X(E_CLOSED, -12, "closed")
X(E_STATE, -13, "not valid in the current state")

/* decoding: -100 .. -199 */
X(E_TRUNCATED, -100, "input truncated")
X(E_TRAILING, -101, "trailing bytes after the encoded value")
X(E_VARINT_OVERLONG, -102, "overlong varint encoding")
X(E_VARINT_OVERFLOW, -103, "varint overflows its type")
X(E_BASE58, -104, "invalid base58 character")
X(E_CHECKSUM, -105, "base58check checksum mismatch")
X(E_HEX, -106, "invalid hex string")
X(E_PREFIX, -107, "wrong prefix letter")
X(E_VERSION, -108, "unsupported version")
X(E_LENGTH, -109, "wrong length")
X(E_UTF8, -110, "invalid UTF-8")
X(E_JSON, -111, "malformed JSON")
X(E_RANGE, -112, "value out of range")
X(E_DUPLICATE, -113, "duplicate entry")

/* model: -200 .. -299 */
X(E_AMOUNT, -200, "malformed amount")
X(E_AMOUNT_OVERFLOW, -201, "amount overflows u64 nanoMAS")
X(E_ADDRESS_TYPE, -202, "unknown address type")
X(E_OP_TYPE, -203, "unknown operation type")
X(E_DS_KEY_TOO_LONG, -204, "datastore key longer than 255 bytes")
X(E_DS_VALUE_TOO_LONG, -205, "datastore value longer than 500000 bytes")
X(E_DS_TOO_MANY_ENTRIES, -206, "more than 128 datastore entries")
X(E_DS_DUPLICATE_KEY, -207, "duplicate datastore key")
X(E_FUNC_NAME_TOO_LONG, -208, "function name longer than 255 bytes")
X(E_PARAM_TOO_LONG, -209, "call parameter longer than 10000000 bytes")
X(E_BYTECODE_TOO_LONG, -210, "bytecode longer than 10000000 bytes")
X(E_SIGNATURE, -211, "invalid signature")
X(E_PUBLIC_KEY, -212, "invalid public key")
X(E_SECRET_KEY, -213, "invalid secret key")
X(E_THREAD, -214, "thread out of range")
X(E_PARENTS, -215, "wrong parents")
X(E_ENDORSEMENT, -216, "invalid endorsement")
X(E_TOO_MANY_OPS, -217, "too many operations in block")
X(E_OPS_HASH, -218, "operation list does not match the header's hash")
X(E_SLOT, -219, "invalid slot")
X(E_EMPTY, -220, "empty input")

/* graph (consensus core): -300 .. -399 */
X(E_GRAPH_CONFIG, -300, "invalid block graph configuration")
X(E_GRAPH_SCENARIO, -301, "malformed graph scenario")
X(E_GRAPH_DUPLICATE, -302, "block already known to the graph")
X(E_GRAPH_SLOT_FULL, -303, "slot already holds its maximum number of blocks")
X(E_GRAPH_FITNESS, -304, "block fitness out of range")
X(E_GRAPH_PARENT_COUNT, -305, "too many parent ids")
X(E_GRAPH_STRUCTURE, -306, "bad block structure (thread, parent count, parent threads or slots)")
X(E_GRAPH_PARENT_INVALID, -307, "a parent is invalid")
X(E_GRAPH_PARENT_STALE, -308, "a parent is stale")
X(E_GRAPH_OLD_PERIOD, -309, "period not after the latest final period of its thread")
X(E_GRAPH_PARENTS_CONFLICT, -310, "two parents are incompatible")
X(E_GRAPH_INCONSISTENT, -311, "parents are not topologically consistent")
X(E_GRAPH_FINAL_CONFLICT, -312, "incompatible with a final block")
X(E_GRAPH_ANCESTOR_CONFLICT, -313, "incompatible with one of its own ancestors")
X(E_GRAPH_LOW_FITNESS, -314, "only in cliques too far below the blockclique")

/* pos / state / execution / store / pool: -400 .. -499 */
/* (pool: -490 .. -499) */
X(E_POOL_EXPIRED, -490, "operation expired")
X(E_POOL_TOO_EARLY, -491, "operation expires too far in the future")
X(E_POOL_UNPAYABLE, -492, "creator cannot pay the operation's maximum spending")
X(E_POOL_FULL, -493, "pool full of higher-priority entries")

/* node, actors, repository: -500 .. -599 */

/* network: -600 .. -699 */

/* api / cli: -700 .. -799 */
X(E_USAGE, -700, "bad command-line usage")

/* vm: -800 .. -899 (the trap messages are the WebAssembly spec's trap texts) */
X(E_VM_MALFORMED, -800, "malformed WebAssembly binary")
X(E_VM_INVALID, -801, "invalid WebAssembly module")
X(E_VM_FEATURE, -802, "WebAssembly feature not enabled")
X(E_VM_LIMIT, -803, "WebAssembly module or execution exceeds a configured limit")
X(E_VM_UNLINKABLE, -804, "unknown import or incompatible import type")
X(E_VM_TRAP_UNREACHABLE, -810, "unreachable")
X(E_VM_TRAP_MEMORY, -811, "out of bounds memory access")
X(E_VM_TRAP_TABLE, -812, "out of bounds table access")
X(E_VM_TRAP_DIV_ZERO, -813, "integer divide by zero")
X(E_VM_TRAP_INT_OVERFLOW, -814, "integer overflow")
X(E_VM_TRAP_CONVERSION, -815, "invalid conversion to integer")
X(E_VM_TRAP_UNDEFINED_ELEM, -816, "undefined element")
X(E_VM_TRAP_UNINIT_ELEM, -817, "uninitialized element")
X(E_VM_TRAP_INDIRECT_TYPE, -818, "indirect call type mismatch")
X(E_VM_TRAP_STACK, -819, "call stack exhausted")
X(E_VM_OUT_OF_GAS, -820, "out of gas")
X(E_VM_TRAP_HOST, -821, "host function trapped")
