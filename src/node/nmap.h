/* nmap — the node's hash map from 32-byte keys to non-NULL pointers (internal to src/node).
 * Not thread-safe; values are borrowed (the map never frees them). */
#ifndef WEFT_NMAP_H
#define WEFT_NMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

#define NMAP_KEY 32

typedef struct nmap_entry {
    uint8_t k[NMAP_KEY];
    void *v; /* NULL: empty */
} nmap_entry;

typedef struct nmap {
    nmap_entry *e;
    size_t cap, count;
    uint64_t seed;
} nmap;

void nmap_init(nmap *m, uint64_t seed);
void nmap_free(nmap *m);
void *nmap_get(const nmap *m, const uint8_t *k);
/* Inserts or replaces; E_NOMEM (map unchanged). */
WEFT_MUST_USE weft_err nmap_put(nmap *m, const uint8_t *k, void *v);
/* Removes and returns the value, or NULL. */
void *nmap_del(nmap *m, const uint8_t *k);
/* The key of a slot. */
void nmap_slot_key(uint8_t k[NMAP_KEY], slot_t s);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->e[i].v) ... (no mutation meanwhile). */

#endif
