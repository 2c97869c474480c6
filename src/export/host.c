/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/host.c - the in-host exporter (include/chio/export_nats.h): the
 * exporter of exporter.c run with --follow on a thread of its own, its
 * progress read by the host (lag, counters, Prometheus text). The thread
 * touches the kernel not at all: it reads the store through its own
 * secondary instance; only chio_export_nats_lag() and friends read the
 * kernel's committed seq (chio_kernel_metrics_get(), safe from any thread).
 * Public API and the exporter; built into build/libchio_export.a.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "chio/export_nats.h"
#include "export.h"
#include "transport.h"

struct chio_export_nats {
    chio__export_config cfg;
    chio__export_status st;
    atomic_int stop;
    const chio_kernel *kernel;
    char *db, *urls, *stream;
    pthread_t thread;
};

void chio_export_nats_config_init(chio_export_nats_config *cfg)
{
    if (cfg != NULL)
        memset(cfg, 0, sizeof(*cfg));
}

static void *run(void *arg)
{
    chio_export_nats *x = arg;

    chio__export_run(&x->cfg, NULL, stderr);
    return NULL;
}

static int fail(chio_error *err, int rc, const char *msg)
{
    if (err != NULL) {
        chio_error_init(err);
        err->code = rc;
        snprintf(err->message, sizeof(err->message), "%s", msg);
    }
    return rc;
}

int chio_export_nats_start(const chio_export_nats_config *cfg, chio_export_nats **out,
                           chio_error *err)
{
    chio_export_nats *x;
    const char *stream;

    if (out != NULL)
        *out = NULL;
    if (cfg == NULL || out == NULL || cfg->receipt_db == NULL || cfg->urls == NULL ||
        cfg->receipt_db[0] == '\0' || cfg->urls[0] == '\0')
        return fail(err, CHIO_EINVAL, "export: receipt_db and urls are required");
    {
        /* A URL no transport serves fails here, not in the thread after a
         * successful start (review 48) */
        char why[200], msg[sizeof(((chio_error *)0)->message)];
        if (!chio__xp_url_ok(cfg->urls, why, sizeof(why))) {
            snprintf(msg, sizeof(msg), "export: %.200s", why);
            return fail(err, CHIO_EINVAL, msg);
        }
    }
    stream = cfg->stream ? cfg->stream : "CHIO";
    if (!chio__fleet_stream_name_ok(stream))
        return fail(err, CHIO_EINVAL, "export: the stream name must be 1-64 of A-Z a-z 0-9 _ -");
    if (cfg->max_batch > CHIO__EXPORT_MAX_ITEMS)
        return fail(err, CHIO_EINVAL, "export: max_batch must be 0-256");
    /* abi.h rule 1: a field a newer header added must not be dropped
     * unseen (the header said "zero" and nothing looked). */
    for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
        if (cfg->reserved[i] != NULL)
            return fail(err, CHIO_EINVAL, "export: reserved fields must be zero");
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return fail(err, CHIO_ENOMEM, "export: out of memory");
    x->db = strdup(cfg->receipt_db);
    x->urls = strdup(cfg->urls);
    x->stream = strdup(stream);
    if (x->db == NULL || x->urls == NULL || x->stream == NULL) {
        free(x->db);
        free(x->urls);
        free(x->stream);
        free(x);
        return fail(err, CHIO_ENOMEM, "export: out of memory");
    }
    x->kernel = cfg->kernel;
    x->cfg.db = x->db;
    x->cfg.urls = x->urls;
    x->cfg.stream = x->stream;
    x->cfg.follow = 1;
    x->cfg.stop = &x->stop;
    x->cfg.max_batch = cfg->max_batch;
    x->cfg.poll_ms = cfg->poll_ms;
    x->cfg.status = &x->st;
    if (pthread_create(&x->thread, NULL, run, x) != 0) {
        free(x->db);
        free(x->urls);
        free(x->stream);
        free(x);
        return fail(err, CHIO_ESYS, "export: cannot start the exporter thread");
    }
    *out = x;
    return 0;
}

/* Frozen (abi.h rule 5): pinned here, as src/core/abi.c pins the
 * library's layouts (LP64). */
_Static_assert(sizeof(chio_export_nats_stats) == 56 &&
                   offsetof(chio_export_nats_stats, exit_status) == 48,
               "chio_export_nats_stats is frozen");

int chio_export_nats_stats_get(const chio_export_nats *x, chio_export_nats_stats *out)
{
    chio_export_nats *mx = (chio_export_nats *)x; /* atomics are read, never written */
    chio_kernel_metrics m;
    uint64_t committed;

    if (x == NULL || out == NULL)
        return CHIO_EINVAL;
    memset(out, 0, sizeof(*out));
    committed = atomic_load(&mx->st.local_seq);
    if (x->kernel != NULL && chio_kernel_metrics_get(x->kernel, &m) == 0 && m.last_seq > committed)
        committed = m.last_seq;
    out->committed_seq = committed;
    out->acked_seq = atomic_load(&mx->st.acked_seq);
    out->lag = committed > out->acked_seq ? committed - out->acked_seq : 0;
    out->published = atomic_load(&mx->st.published);
    out->messages = atomic_load(&mx->st.messages);
    out->synced = atomic_load(&mx->st.synced);
    out->running = !atomic_load(&mx->st.finished);
    out->exit_status = out->running ? 0 : atomic_load(&mx->st.exit);
    return 0;
}

uint64_t chio_export_nats_lag(const chio_export_nats *x)
{
    chio_export_nats_stats s;

    return chio_export_nats_stats_get(x, &s) == 0 ? s.lag : 0;
}

int chio_export_nats_metrics_prometheus(const chio_export_nats *x, char **out, size_t *len)
{
    chio_export_nats_stats s;
    char *text = NULL;
    int n;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (out == NULL || chio_export_nats_stats_get(x, &s) != 0)
        return CHIO_EINVAL;
    n = asprintf(&text,
                 "# HELP chio_export_lag_receipts Receipts committed and not yet acknowledged by "
                 "the stream.\n"
                 "# TYPE chio_export_lag_receipts gauge\n"
                 "chio_export_lag_receipts %llu\n"
                 "# HELP chio_export_acked_seq The last receipt seq the stream holds.\n"
                 "# TYPE chio_export_acked_seq gauge\n"
                 "chio_export_acked_seq %llu\n"
                 "# HELP chio_export_receipts_total Receipts appended to the stream.\n"
                 "# TYPE chio_export_receipts_total counter\n"
                 "chio_export_receipts_total %llu\n"
                 "# HELP chio_export_messages_total Receipt messages appended to the stream.\n"
                 "# TYPE chio_export_messages_total counter\n"
                 "chio_export_messages_total %llu\n"
                 "# HELP chio_export_running 1 while the exporter thread runs.\n"
                 "# TYPE chio_export_running gauge\n"
                 "chio_export_running %d\n",
                 (unsigned long long)s.lag, (unsigned long long)s.acked_seq,
                 (unsigned long long)s.published, (unsigned long long)s.messages, s.running);
    if (n < 0)
        return CHIO_ENOMEM;
    *out = text;
    if (len != NULL)
        *len = (size_t)n;
    return 0;
}

int chio_export_nats_stop(chio_export_nats *x)
{
    int rc;

    if (x == NULL)
        return 0;
    atomic_store(&x->stop, 1);
    pthread_join(x->thread, NULL);
    rc = atomic_load(&x->st.exit);
    free(x->db);
    free(x->urls);
    free(x->stream);
    free(x);
    return rc;
}

/* ---- the witness ------------------------------------------------------------------ */

static int witness_args_ok(const char *stream, const char *key)
{
    size_t i, n;

    if (stream != NULL) {
        n = strlen(stream);
        if (n == 0 || n > 64)
            return 0;
        for (i = 0; i < n; i++)
            if (!((stream[i] >= 'A' && stream[i] <= 'Z') ||
                  (stream[i] >= 'a' && stream[i] <= 'z') ||
                  (stream[i] >= '0' && stream[i] <= '9') || stream[i] == '_' || stream[i] == '-'))
                return 0;
    }
    if (key != NULL) {
        if (strlen(key) != 64)
            return 0;
        for (i = 0; i < 64; i++)
            if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
                return 0;
    }
    return 1;
}

int chio_export_nats_witness(const char *receipt_db, const char *urls, const char *stream,
                             const char *kernel_key_hex, int timeout_ms,
                             chio_export_nats_witness_report *rep, chio_error *err)
{
    chio__witness_result w;
    char why[sizeof(((chio_error *)0)->message)] = "";
    int rc;

    if (rep != NULL)
        memset(rep, 0, sizeof(*rep));
    if (receipt_db == NULL || urls == NULL || rep == NULL) {
        if (err != NULL) {
            err->code = CHIO_EINVAL;
            snprintf(err->message, sizeof(err->message), "receipt_db, urls and rep are required");
        }
        return CHIO_EINVAL;
    }
    if (!witness_args_ok(stream, kernel_key_hex)) {
        if (err != NULL) {
            err->code = CHIO_EINVAL;
            snprintf(err->message, sizeof(err->message),
                     "a stream name is 1-64 of A-Z a-z 0-9 _ -, a kernel key 64 hex digits");
        }
        return CHIO_EINVAL;
    }
    memset(&w, 0, sizeof(w));
    rc = chio__witness_check(receipt_db, urls, stream ? stream : "CHIO", kernel_key_hex, timeout_ms,
                             &w, why, sizeof(why));
    if (rc == CHIO__WITNESS_CLEAN || rc == CHIO__WITNESS_ROLLBACK) {
        rep->rollback = rc == CHIO__WITNESS_ROLLBACK;
        rep->reason = w.reason;
        rep->checkpoint = w.checkpoint;
        rep->first_differing_seq = w.first_diff;
        rep->local_last_seq = w.local_last;
        rep->published_last_seq = w.stream_last;
        memcpy(rep->kernel, w.kernel, sizeof(rep->kernel));
        return 0;
    }
    rc = rc == CHIO__WITNESS_UNREACHABLE ? CHIO_EIO : CHIO_ESTORE;
    if (err != NULL) {
        err->code = rc;
        snprintf(err->message, sizeof(err->message), "%s", why[0] ? why : chio_strerror(rc));
    }
    return rc;
}
