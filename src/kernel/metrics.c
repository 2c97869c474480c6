/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/metrics.c - counter snapshots and their Prometheus text form.
 * Every counter is an atomic in the kernel object, written by the pipeline
 * threads with relaxed ordering (they are statistics, not synchronisation)
 * and read here at any time from any thread.
 */
#include <string.h>

#include "kernel_internal.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int chio_kernel_metrics_get(const chio_kernel *k, chio_kernel_metrics *m)
{
    chio_kernel *kk = (chio_kernel *)k;

    if (k == NULL || m == NULL)
        return CHIO_EINVAL;
    memset(m, 0, sizeof(*m));
    m->receipts_signed = LOAD(kk->m_signed);
    m->batches = LOAD(kk->m_batches);
    m->max_batch = LOAD(kk->m_max_batch);
    m->avg_batch = m->batches ? (double)m->receipts_signed / (double)m->batches : 0.0;
    m->ring_capacity = k->ring_capacity;
    /* Acquire: the queue is only valid once the kernel has started. */
    if (__atomic_load_n(&kk->started, __ATOMIC_ACQUIRE)) {
        m->ring_depth = chio__queue_depth(&kk->queue);
        m->ring_high_water = LOAD(kk->queue.high_water);
        m->blocking_episodes = LOAD(kk->queue.blocked);
    }
    m->wal_syncs = LOAD(kk->m_wal_syncs);
    m->checkpoints = LOAD(kk->m_checkpoints);
    m->write_errors = LOAD(kk->m_write_errors);
    m->last_seq = LOAD(kk->m_last_seq);
    /* Acquire: a failure of the checkpoint's mark (commit.c) shows below. */
    m->last_checkpoint_seq = __atomic_load_n(&kk->m_last_checkpoint_seq, __ATOMIC_ACQUIRE);
    m->signer_threads_running = LOAD(kk->m_signers_running);
    m->failed = __atomic_load_n(&kk->failed, __ATOMIC_SEQ_CST);
    m->draining = __atomic_load_n(&kk->state, __ATOMIC_SEQ_CST) != KSTATE_RUNNING;
    return 0;
}

/* One counter or gauge: its HELP and TYPE lines and its sample, an
 * integer (never through a double: a count past 2^53 stays exact). */
static void metric(chio_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    chio__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                     (unsigned long long)v);
}

/* The average group commit, with three decimals when it is not whole,
 * written digit by digit: printf's %f writes the decimal point of the
 * host's locale (LC_NUMERIC), and a host that called setlocale() for a
 * language writing "1,500" would make the whole exposition unparsable. */
static void metric_avg(chio_buf *b, uint64_t receipts, uint64_t batches)
{
    /* thousandths, rounded half up, in integers: the remainder is below
     * @batches, so nothing overflows until 2^54 group commits */
    uint64_t milli = batches ? receipts / batches * 1000u +
                                   ((receipts % batches) * 1000u + batches / 2) / batches
                             : 0;

    chio__buf_puts(b, "# HELP chio_signing_batch_size_avg Receipts per group commit.\n"
                      "# TYPE chio_signing_batch_size_avg gauge\n");
    if (milli % 1000 == 0)
        chio__buf_printf(b, "chio_signing_batch_size_avg %llu\n",
                         (unsigned long long)(milli / 1000));
    else
        chio__buf_printf(b, "chio_signing_batch_size_avg %llu.%03llu\n",
                         (unsigned long long)(milli / 1000), (unsigned long long)(milli % 1000));
}

/* Evaluation errors that left no receipt, one labelled sample per reason. */
static void unreceipted(chio_buf *b, const chio_kernel *k)
{
    const char *name;
    size_t i;

    chio__buf_puts(b, "# HELP chio_unreceipted_errors_total Evaluations that ended in an error "
                      "with no receipt, by reason.\n"
                      "# TYPE chio_unreceipted_errors_total counter\n");
    for (i = 0; (name = chio__unreceipted_name(i)) != NULL; i++)
        chio__buf_printf(b, "chio_unreceipted_errors_total{reason=\"%s\"} %llu\n", name,
                         (unsigned long long)chio_kernel_unreceipted_errors(k, name));
}

/* What the kernel's tables hold now: a host that never closes its
 * sessions grows without bound, and these show it (the count takes each
 * shard's read lock in turn: cheap, and only when scraped). */
static void tables(chio_buf *b, chio_kernel *k)
{
    metric(b, "chio_sessions_open", "gauge", "Sessions open or draining, not yet closed.",
           chio__session_count(k));
    metric(b, "chio_revocations", "gauge", "Capability ids on the revocation list.",
           chio__shmap_count(&k->med.revocations));
    metric(b, "chio_budgets", "gauge", "Invocation budgets held (capability id and grant).",
           chio__shmap_count(&k->med.budgets));
}

int chio_kernel_metrics_prometheus(const chio_kernel *k, char **out, size_t *len)
{
    chio_kernel_metrics m;
    chio_buf b;
    int rc;

    if (out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
    rc = chio_kernel_metrics_get(k, &m);
    if (rc != 0)
        return rc;
    chio__buf_init(&b);
    metric(&b, "chio_receipts_signed_total", "counter", "Receipts signed and committed.",
           m.receipts_signed);
    metric(&b, "chio_signing_batches_total", "counter", "Group commits (one WriteBatch each).",
           m.batches);
    metric(&b, "chio_signing_batch_size_max", "gauge", "Largest group commit.", m.max_batch);
    metric_avg(&b, m.receipts_signed, m.batches);
    metric(&b, "chio_signing_queue_depth", "gauge", "Requests waiting in the signing ring.",
           m.ring_depth);
    metric(&b, "chio_signing_queue_high_water", "gauge", "Deepest the signing ring has been.",
           m.ring_high_water);
    metric(&b, "chio_signing_queue_capacity", "gauge", "Slots in the signing ring.",
           m.ring_capacity);
    metric(&b, "chio_signing_queue_block_total", "counter",
           "Times a caller waited for an in-flight credit or room in the signing ring.",
           m.blocking_episodes);
    metric(&b, "chio_in_flight", "gauge",
           "Requests in flight (queued, signing, committing or completing).",
           chio_kernel_in_flight(k));
    metric(&b, "chio_in_flight_limit", "gauge", "The in-flight budget (ring capacity).",
           m.ring_capacity);
    metric(&b, "chio_receipt_store_wal_syncs_total", "counter", "Synced WAL writes.", m.wal_syncs);
    metric(&b, "chio_checkpoints_total", "counter", "Merkle checkpoints written.", m.checkpoints);
    metric(&b, "chio_receipt_store_write_errors_total", "counter", "Failed receipt store writes.",
           m.write_errors);
    metric(&b, "chio_receipt_last_seq", "gauge", "Highest committed receipt sequence number.",
           m.last_seq);
    metric(&b, "chio_signer_threads", "gauge", "Signer threads running.", m.signer_threads_running);
    metric(&b, "chio_kernel_failed", "gauge", "1 when the kernel has failed closed.", m.failed);
    tables(&b, (chio_kernel *)k);
    unreceipted(&b, k);
    *out = chio__buf_detach(&b, len);
    return *out ? 0 : CHIO_ENOMEM;
}
