/* netd internals: the parts of the service (service.c) that are plain data structures, exposed for
 * the unit tests (tests/unit/test_netd.c) — the framing reader of one connection, the two outbound
 * lanes of one connection — and the start of a service over any chain (the simulator and the tests
 * give a fake chain; weftd gives the node through netd_start). Not thread-safe: each object belongs
 * to the service's loop thread. */
#ifndef WEFT_NETD_INTERNAL_H
#define WEFT_NETD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/netd.h"

/* ---- framing: bytes from a connection → whole frames ----------------------------------------- */

/* The reader of one connection: the 5-byte header is collected first and checked (net_frame_check
 * against max_frame) before the frame's buffer is allocated. */
typedef struct netd_reader {
    uint32_t max_frame;
    uint8_t hdr[NET_FRAME_HEADER];
    size_t hdr_got;
    uint8_t *frame; /* NET_FRAME_HEADER + body, allocated once the header passed the check */
    size_t total, got;
} netd_reader;

void netd_reader_init(netd_reader *r, uint32_t max_frame);
void netd_reader_free(netd_reader *r);
/* Consumes bytes from *p (*len left) until one frame is complete or the bytes run out.  Returns 1
 * with a whole frame in *frame (malloc'd, the caller frees it) of *flen bytes; 0 when every byte
 * was consumed without completing a frame; or a negative error, after which the connection is
 * unusable: E_NET_LIMIT (the length prefix is above max_frame: nothing was allocated),
 * E_NET_MESSAGE (an empty frame), E_NOMEM. */
int netd_reader_feed(netd_reader *r, const uint8_t **p, size_t *len, uint8_t **frame, size_t *flen);

/* ---- the outbound lanes of one connection ---------------------------------------------------- */

typedef struct netd_qframe {
    struct netd_qframe *next;
    uint8_t *data; /* owned */
    size_t len;
} netd_qframe;

/* Frames waiting to be written, per lane, and the batch being written.  Every CONTROL frame queued
 * is written before any BULK frame; queued bytes (in flight included) are bounded. */
typedef struct netd_lanes {
    netd_qframe *head[2], *tail[2];
    size_t count[2];
    size_t queued;     /* bytes queued or in flight */
    size_t max_queued; /* bound on queued */
    netd_qframe *inflight;
    size_t inflight_count;
} netd_lanes;

/* Frames of one write: all queued CONTROL frames (at most NETD_BATCH_MAX), or else BULK frames up
 * to NETD_BULK_BATCH_BYTES (at least one). */
#define NETD_BATCH_MAX 64
#define NETD_BULK_BATCH_BYTES (256u << 10)

void netd_lanes_init(netd_lanes *l, size_t max_queued);
/* Frees every queued and in-flight frame. */
void netd_lanes_free(netd_lanes *l);
/* Queues frame (len bytes; taken on success) on lane.  E_NET_LIMIT (frame not taken) if the queued
 * bytes would exceed max_queued — the peer does not read: the service closes it; E_NOMEM. */
WEFT_MUST_USE weft_err netd_lanes_push(netd_lanes *l, net_lane lane, uint8_t *frame, size_t len);
/* Takes the next batch to write (none while one is in flight): fills up to cap entries of bufs and
 * lens (borrowed until netd_lanes_done) and returns their count, 0 when nothing is queued. *lane
 * says which lane the batch came from. */
size_t netd_lanes_next(netd_lanes *l, const uint8_t **bufs, size_t *lens, size_t cap,
                       net_lane *lane);
/* The batch is written (or failed): frees it. */
void netd_lanes_done(netd_lanes *l);
static inline size_t netd_lanes_queued(const netd_lanes *l) { return l->queued; }

/* ---- start over any chain -------------------------------------------------------------------- */

/* netd_start with the core over (vt, chain_ctx) instead of the node (netd_start passes
 * netd_node_chain_vt and the node).  Both are borrowed until netd_stop. */
WEFT_MUST_USE weft_err netd_start_chain(netd *s, const net_chain_vt *vt, void *chain_ctx, char *err,
                                        size_t errcap);

/* Limits of the service (docs/netd.md). */
#define NETD_TICK_MS 50                 /* net_core_tick period */
#define NETD_MAX_QUEUED (64u << 20)     /* bytes queued for one peer before it is closed */
#define NETD_CLOSE_FLUSH_MAX (1u << 20) /* a CLOSE with more queued closes at once */
#define NETD_FLUSH_TIMEOUT_MS 5000      /* a closing connection that does not drain is cut */
#define NETD_CONNECT_TIMEOUT_MS 10000   /* an outbound connect that does not complete fails */
#define NETD_READ_CHUNK (64u << 10)     /* bytes read from a socket at a time */
#define NETD_DEFER_MAX (8u << 20)       /* bytes of operation batches and announcements … */
#define NETD_DEFER_BUDGET_MS 10 /* … waiting, handed to the core this long per iteration */

#endif
