/* weftd's Prometheus metrics: the node's status, actor mailboxes and the process's memory,
 * written as text exposition at each scrape (docs/api.md lists them). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "weftd.h"

static void line(wr_t *w, const char *fmt, ...) WEFT_PRINTF(2, 3);
static void line(wr_t *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        wr_bytes(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void head(wr_t *w, const char *name, const char *type, const char *help)
{
    line(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4096;
}

weft_err weftd_metrics_text(void *ctx, wr_t *w)
{
    node_t *n = ctx;
    node_status_t st;
    weft_err e = node_get_status(n, &st);
    if (e)
        return e;
    const model_params *p = node_params(n);
    head(w, "weft_slot_period", "gauge", "period of the current slot");
    line(w, "weft_slot_period %llu\n", (unsigned long long)st.last_slot.period);
    head(w, "weft_slot_thread", "gauge", "thread of the current slot");
    line(w, "weft_slot_thread %u\n", st.last_slot.thread);
    head(w, "weft_final_period", "gauge", "latest final period per thread");
    for (uint32_t t = 0; t < p->thread_count; t++)
        line(w, "weft_final_period{thread=\"%u\"} %llu\n", t,
             (unsigned long long)st.final_periods[t]);
    head(w, "weft_execution_final_period", "gauge", "period of execution's final cursor");
    line(w, "weft_execution_final_period %llu\n",
         st.has_final_cursor ? (unsigned long long)st.final_cursor.period : 0ull);
    head(w, "weft_cliques", "gauge", "maximal cliques kept by the block graph");
    line(w, "weft_cliques %zu\n", st.clique_count);
    head(w, "weft_blocks", "gauge", "blocks by status (pending now; final and stale since start)");
    line(w, "weft_blocks{status=\"pending\"} %zu\n", st.pending_block_count);
    line(w, "weft_blocks{status=\"final\"} %zu\n", st.final_block_count);
    line(w, "weft_blocks{status=\"stale\"} %zu\n", st.stale_block_count);
    head(w, "weft_pool_operations", "gauge", "operations in the pool");
    line(w, "weft_pool_operations %zu\n", st.pool_ops);
    head(w, "weft_pool_endorsements", "gauge", "endorsements in the pool");
    line(w, "weft_pool_endorsements %zu\n", st.pool_endorsements);
    head(w, "weft_operations_final_total", "counter",
         "operations executed in final slots since start");
    line(w, "weft_operations_final_total %llu\n", (unsigned long long)st.ops_final_executed);
    head(w, "weft_blocks_produced_total", "counter", "blocks this node produced since start");
    line(w, "weft_blocks_produced_total %llu\n", (unsigned long long)st.blocks_produced);
    head(w, "weft_endorsements_produced_total", "counter",
         "endorsements this node produced since start");
    line(w, "weft_endorsements_produced_total %llu\n",
         (unsigned long long)st.endorsements_produced);
    head(w, "weft_staking_addresses", "gauge", "staking keys of this node");
    line(w, "weft_staking_addresses %zu\n", st.staking_addresses);
    node_actor_stat as[16];
    size_t na = node_actor_stats(n, as, 16);
    head(w, "weft_actor_mailbox_depth", "gauge", "messages waiting in each actor's mailbox");
    for (size_t i = 0; i < na; i++)
        line(w, "weft_actor_mailbox_depth{actor=\"%s\"} %zu\n", as[i].name, as[i].mailbox_depth);
    head(w, "weft_actor_restarts_total", "counter", "supervisor restarts of each actor");
    for (size_t i = 0; i < na; i++)
        line(w, "weft_actor_restarts_total{actor=\"%s\"} %llu\n", as[i].name,
             (unsigned long long)as[i].restarts);
    head(w, "process_resident_memory_bytes", "gauge", "resident set size");
    line(w, "process_resident_memory_bytes %ld\n", rss_bytes());
    return wr_err(w);
}
