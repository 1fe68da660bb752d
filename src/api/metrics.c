/* api/metrics.c — a small metrics registry and the Prometheus text exposition format (0.0.4).
 *
 * A registry holds families (one name, help, type, and for histograms the bucket bounds) and
 * their series (one per set of label values).  Series are allocated one by one, so their handles
 * stay valid while the family's list grows; values are C11 atomics updated without the lock (a
 * gauge is the bit pattern of a double, changed by compare-and-swap).  The registry lock guards
 * only the lists: adding a series and writing the text.
 *
 * Text format: for each family "# HELP name text" (backslash and newline escaped), "# TYPE name
 * counter|gauge|histogram", then one line per sample `name{l="v",...} value` (label values with
 * backslash, double quote and newline escaped).  A histogram writes cumulative `_bucket` lines with
 * an `le` label (its bounds, then "+Inf"), `_sum` and `_count`; `_count` and the "+Inf" bucket are
 * the same snapshot, so a scrape is never self-contradictory. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

const double api_metrics_latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};
const size_t api_metrics_latency_nbounds = WEFT_ARRAY_LEN(api_metrics_latency_bounds);

struct family;

struct api_metric {
    struct family *fam;
    char *labels;              /* rendered and escaped: `a="x",b="y"`; "" without labels */
    _Atomic uint64_t value;    /* counter: the count; gauge: the bits of a double */
    _Atomic uint64_t *buckets; /* histogram: nbounds + 1 non-cumulative counts (last: > max) */
    _Atomic uint64_t sum_bits; /* histogram: the bits of the double sum */
};

struct family {
    char *name;
    char *help;
    api_metric_type type;
    double *bounds; /* histogram bucket upper bounds, strictly increasing */
    size_t nbounds;
    api_metric_t **series;
    size_t count, cap;
};

struct api_metrics {
    pthread_mutex_t mu;
    struct family **fams;
    size_t count, cap;
};

/* ---- text ------------------------------------------------------------------------------------ */

static void put(wr_t *w, const char *s) { wr_bytes(w, s, strlen(s)); }

/* Escapes s: backslash and newline always, the double quote inside label values. */
static void put_escaped(wr_t *w, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(w, "\\\\");
        else if (*s == '\n')
            put(w, "\\n");
        else if (quote && *s == '"')
            put(w, "\\\"");
        else
            wr_u8(w, (uint8_t)*s);
    }
}

/* A double in Prometheus form: exact integers, else the shortest text that reads back the same. */
static void format_value(char out[40], double v)
{
    if (v != v) {
        snprintf(out, 40, "NaN");
    } else if (v > 1.7976931348623157e308) {
        snprintf(out, 40, "+Inf");
    } else if (v < -1.7976931348623157e308) {
        snprintf(out, 40, "-Inf");
    } else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v) {
        snprintf(out, 40, "%" PRId64, (int64_t)v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, 40, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                return;
        }
    }
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    return valid_name(s, false) && strncmp(s, "__", 2) != 0 && strcmp(s, "le") != 0;
}

static const char *type_text(api_metric_type t)
{
    switch (t) {
    case API_METRIC_COUNTER:
        return "counter";
    case API_METRIC_GAUGE:
        return "gauge";
    case API_METRIC_HISTOGRAM:
        return "histogram";
    }
    WEFT_PANIC("bad metric type %d", (int)t);
}

void api_metrics_text_family(wr_t *out, const char *name, api_metric_type type, const char *help)
{
    WEFT_MISUSE(valid_name(name, true));
    put(out, "# HELP ");
    put(out, name);
    wr_u8(out, ' ');
    put_escaped(out, help ? help : "", false);
    put(out, "\n# TYPE ");
    put(out, name);
    wr_u8(out, ' ');
    put(out, type_text(type));
    wr_u8(out, '\n');
}

/* One sample line; labels already rendered (may be ""), plus an optional extra label (le). */
static void sample_line(wr_t *out, const char *name, const char *suffix, const char *labels,
                        const char *le, const char *value)
{
    put(out, name);
    if (suffix)
        put(out, suffix);
    bool any = labels[0] != '\0';
    if (any || le) {
        wr_u8(out, '{');
        put(out, labels);
        if (le) {
            put(out, any ? ",le=\"" : "le=\"");
            put(out, le);
            wr_u8(out, '"');
        }
        wr_u8(out, '}');
    }
    wr_u8(out, ' ');
    put(out, value);
    wr_u8(out, '\n');
}

static void render_labels(wr_t *w, const api_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        WEFT_MISUSE(valid_label_name(labels[i].name) && labels[i].value);
        for (size_t j = 0; j < i; j++)
            WEFT_MISUSE(strcmp(labels[i].name, labels[j].name) != 0);
        if (i)
            wr_u8(w, ',');
        put(w, labels[i].name);
        put(w, "=\"");
        put_escaped(w, labels[i].value, true);
        wr_u8(w, '"');
    }
}

void api_metrics_text_sample(wr_t *out, const char *name, const char *suffix,
                             const api_label *labels, size_t nlabels, double value)
{
    WEFT_MISUSE(valid_name(name, true));
    wr_t lw;
    wr_init(&lw);
    render_labels(&lw, labels, nlabels);
    wr_u8(&lw, '\0');
    char v[40];
    format_value(v, value);
    if (wr_err(&lw) != WEFT_OK) {
        wr_free(&lw);
        out->err = out->err ? out->err : WEFT_E_NOMEM;
        return;
    }
    sample_line(out, name, suffix, (const char *)lw.buf, NULL, v);
    wr_free(&lw);
}

void api_metrics_text_histogram(wr_t *out, const char *name, const char *help, const double *bounds,
                                size_t nbounds, const uint64_t *counts, double sum)
{
    api_metrics_text_family(out, name, API_METRIC_HISTOGRAM, help);
    uint64_t cum = 0;
    char le[40], v[40];
    for (size_t i = 0; i <= nbounds; i++) {
        cum += counts[i];
        if (i < nbounds)
            format_value(le, bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(v, sizeof v, "%" PRIu64, cum);
        sample_line(out, name, "_bucket", "", le, v);
    }
    format_value(v, sum);
    sample_line(out, name, "_sum", "", NULL, v);
    snprintf(v, sizeof v, "%" PRIu64, cum);
    sample_line(out, name, "_count", "", NULL, v);
}

/* ---- registry -------------------------------------------------------------------------------- */

weft_err api_metrics_new(api_metrics_t **out)
{
    *out = NULL;
    api_metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return WEFT_E_NOMEM;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return WEFT_E_NOMEM;
    }
    *out = m;
    return WEFT_OK;
}

static void metric_free(api_metric_t *s)
{
    if (!s)
        return;
    free(s->labels);
    free(s->buckets);
    free(s);
}

static void family_free(struct family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        metric_free(f->series[i]);
    free(f->series);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void api_metrics_free(api_metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        family_free(m->fams[i]);
    free(m->fams);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Room for one more element in an array of `count` elements of `elem` bytes with capacity *cap:
 * returns the (possibly moved) array, or NULL when it cannot grow (the old one is kept). */
static void *grow(void *arr, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *n = realloc(arr, ncap * elem);
    if (n)
        *cap = ncap;
    return n;
}

/* Finds or creates the family; NULL on E_NOMEM.  Called with the lock held. */
static struct family *family_get(api_metrics_t *m, const char *name, const char *help,
                                 api_metric_type type, const double *bounds, size_t nbounds)
{
    for (size_t i = 0; i < m->count; i++) {
        struct family *f = m->fams[i];
        if (strcmp(f->name, name) == 0) {
            WEFT_MISUSE(f->type == type);
            return f;
        }
    }
    if (type == API_METRIC_HISTOGRAM) {
        for (size_t i = 0; i < nbounds; i++) {
            WEFT_MISUSE(bounds[i] == bounds[i] && bounds[i] > -1.7976931348623157e308 &&
                        bounds[i] < 1.7976931348623157e308);
            WEFT_MISUSE(i == 0 || bounds[i] > bounds[i - 1]);
        }
    }
    struct family **fams = grow(m->fams, &m->cap, m->count, sizeof(struct family *));
    if (!fams)
        return NULL;
    m->fams = fams;
    struct family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (type == API_METRIC_HISTOGRAM && nbounds) {
        f->bounds = malloc(nbounds * sizeof *f->bounds);
        if (f->bounds)
            memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);
        f->nbounds = nbounds;
    }
    if (!f->name || !f->help || (f->nbounds && !f->bounds)) {
        family_free(f);
        return NULL;
    }
    m->fams[m->count++] = f;
    return f;
}

static api_metric_t *series_add(api_metrics_t *m, api_metric_type type, const char *name,
                                const char *help, const api_label *labels, size_t nlabels,
                                const double *bounds, size_t nbounds)
{
    WEFT_MISUSE(m && valid_name(name, true) && (nlabels == 0 || labels));
    wr_t lw;
    wr_init(&lw);
    render_labels(&lw, labels, nlabels);
    wr_u8(&lw, '\0');
    if (wr_err(&lw) != WEFT_OK) {
        wr_free(&lw);
        return NULL;
    }
    const char *rendered = (const char *)lw.buf;
    api_metric_t *s = NULL;
    pthread_mutex_lock(&m->mu);
    struct family *f = family_get(m, name, help, type, bounds, nbounds);
    if (!f)
        goto out;
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->series[i]->labels, rendered) == 0) {
            s = f->series[i];
            goto out;
        }
    }
    api_metric_t **series = grow(f->series, &f->cap, f->count, sizeof(api_metric_t *));
    if (!series)
        goto out;
    f->series = series;
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->fam = f;
    s->labels = strdup(rendered);
    if (type == API_METRIC_HISTOGRAM)
        s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets);
    if (!s->labels || (type == API_METRIC_HISTOGRAM && !s->buckets)) {
        metric_free(s);
        s = NULL;
        goto out;
    }
    f->series[f->count++] = s;
out:
    pthread_mutex_unlock(&m->mu);
    wr_free(&lw);
    return s;
}

api_metric_t *api_metrics_counter(api_metrics_t *m, const char *name, const char *help,
                                  const api_label *labels, size_t nlabels)
{
    return series_add(m, API_METRIC_COUNTER, name, help, labels, nlabels, NULL, 0);
}

api_metric_t *api_metrics_gauge(api_metrics_t *m, const char *name, const char *help,
                                const api_label *labels, size_t nlabels)
{
    return series_add(m, API_METRIC_GAUGE, name, help, labels, nlabels, NULL, 0);
}

api_metric_t *api_metrics_histogram(api_metrics_t *m, const char *name, const char *help,
                                    const api_label *labels, size_t nlabels, const double *bounds,
                                    size_t nbounds)
{
    return series_add(m, API_METRIC_HISTOGRAM, name, help, labels, nlabels, bounds, nbounds);
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void add_double(_Atomic uint64_t *cell, double v)
{
    uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(cell, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void api_metric_inc(api_metric_t *c, uint64_t n)
{
    if (!c)
        return;
    WEFT_MISUSE(c->fam->type == API_METRIC_COUNTER);
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void api_metric_set(api_metric_t *g, double v)
{
    if (!g)
        return;
    WEFT_MISUSE(g->fam->type == API_METRIC_GAUGE);
    atomic_store_explicit(&g->value, dbits(v), memory_order_relaxed);
}

void api_metric_add(api_metric_t *g, double v)
{
    if (!g)
        return;
    WEFT_MISUSE(g->fam->type == API_METRIC_GAUGE);
    add_double(&g->value, v);
}

void api_metric_observe(api_metric_t *h, double v)
{
    if (!h)
        return;
    WEFT_MISUSE(h->fam->type == API_METRIC_HISTOGRAM);
    size_t i = 0;
    while (i < h->fam->nbounds && !(v <= h->fam->bounds[i]))
        i++;
    /* the sum first: a scrape may see it ahead of the count, never a count without its sum */
    add_double(&h->sum_bits, v);
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
}

static uint64_t histogram_count(const api_metric_t *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= h->fam->nbounds; i++)
        n += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    return n;
}

double api_metric_value(const api_metric_t *m)
{
    if (!m)
        return 0;
    switch (m->fam->type) {
    case API_METRIC_COUNTER:
        return (double)atomic_load_explicit(&m->value, memory_order_relaxed);
    case API_METRIC_GAUGE:
        return bitsd(atomic_load_explicit(&m->value, memory_order_relaxed));
    case API_METRIC_HISTOGRAM:
        return (double)histogram_count(m);
    }
    WEFT_PANIC("bad metric type %d", (int)m->fam->type);
}

static void write_series(wr_t *out, const struct family *f, const api_metric_t *s)
{
    char v[40];
    switch (f->type) {
    case API_METRIC_COUNTER:
        snprintf(v, sizeof v, "%" PRIu64, atomic_load_explicit(&s->value, memory_order_relaxed));
        sample_line(out, f->name, NULL, s->labels, NULL, v);
        return;
    case API_METRIC_GAUGE:
        format_value(v, bitsd(atomic_load_explicit(&s->value, memory_order_relaxed)));
        sample_line(out, f->name, NULL, s->labels, NULL, v);
        return;
    case API_METRIC_HISTOGRAM: {
        uint64_t cum = 0;
        char le[40];
        for (size_t i = 0; i <= f->nbounds; i++) {
            cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            if (i < f->nbounds)
                format_value(le, f->bounds[i]);
            else
                snprintf(le, sizeof le, "+Inf");
            snprintf(v, sizeof v, "%" PRIu64, cum);
            sample_line(out, f->name, "_bucket", s->labels, le, v);
        }
        format_value(v, bitsd(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
        sample_line(out, f->name, "_sum", s->labels, NULL, v);
        snprintf(v, sizeof v, "%" PRIu64, cum);
        sample_line(out, f->name, "_count", s->labels, NULL, v);
        return;
    }
    }
    WEFT_PANIC("bad metric type %d", (int)f->type);
}

void api_metrics_write(const api_metrics_t *m, wr_t *out)
{
    WEFT_MISUSE(m && out);
    pthread_mutex_t *mu = (pthread_mutex_t *)&m->mu; /* the lock guards lists, not the value */
    pthread_mutex_lock(mu);
    for (size_t i = 0; i < m->count; i++) {
        const struct family *f = m->fams[i];
        api_metrics_text_family(out, f->name, f->type, f->help);
        for (size_t j = 0; j < f->count; j++)
            write_series(out, f, f->series[j]);
    }
    pthread_mutex_unlock(mu);
}
