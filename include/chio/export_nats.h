/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/export_nats.h - the fleet exporter (docs/fleet.md) inside a host:
 * a thread that follows the kernel's receipt store and publishes every
 * receipt and checkpoint, exactly once and in order, to a NATS JetStream
 * stream, as `chio export --follow` does in a process of its own.
 *
 * Not part of libchio and not included by chio/chio.h: a host that exports
 * links build/libchio_export.a, then libchio, then the NATS C client
 * (`pkg-config --libs libnats`); a host that does not links no NATS code.
 *
 * The signing path is never blocked: the exporter reads the store through
 * a RocksDB secondary instance of its own (the kernel keeps the primary),
 * so the local store is the backlog. While the servers are unreachable the
 * kernel signs on and the lag grows; the exporter catches up when they
 * return. Its messages (retries, a store that went back) go to stderr.
 *
 * Thread-safety: chio_export_nats_lag(), chio_export_nats_stats() and
 * chio_export_nats_metrics_prometheus() may be called from any thread at
 * any time; start and stop by one thread. The NATS client library is
 * shared by the process and released when its last connection closes;
 * connections may open and close on several threads at once (an exporter
 * and a start-up witness check, say). One exporter per kernel store.
 */
#ifndef CHIO_EXPORT_NATS_H
#define CHIO_EXPORT_NATS_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chio_export_nats chio_export_nats;

typedef struct chio_export_nats_config {
    const char *receipt_db; /* the kernel's store directory (required) */
    const char *urls;       /* nats://host:port[,nats://...] (required) */
    const char *stream;     /* NULL: "CHIO"; 1-64 of A-Z a-z 0-9 _ - */
    /* The kernel writing the store (may be NULL): the lag counts from its
     * committed seq (chio_kernel_metrics.last_seq), which sees receipts
     * the exporter has not read yet. Without it, from what the exporter
     * has read. Must outlive the exporter when set. */
    const chio_kernel *kernel;
    unsigned max_batch; /* receipts per message, 1..256; 0: 256 */
    unsigned poll_ms;   /* pause between looks at an exported store; 0: 100 */
    void *reserved[4];  /* zero (abi.h rule 1): CHIO_EINVAL otherwise */
} chio_export_nats_config;

/* Counters of a running exporter (a snapshot). */
/* Filled by chio_export_nats_stats_get() in caller memory. Frozen (abi.h
 * rule 5): it has no reserved tail, so its layout never changes; more
 * counters come as a successor type with its own function. */
typedef struct chio_export_nats_stats {
    uint64_t committed_seq; /* the store's last receipt seq, as far as known */
    uint64_t acked_seq;     /* the last receipt seq the stream holds */
    uint64_t lag;           /* committed_seq - acked_seq (0 when ahead) */
    uint64_t published;     /* receipts appended by this exporter */
    uint64_t messages;      /* receipt messages appended by this exporter */
    int synced;             /* 1 once the stream's position is known */
    int running;            /* 0 once the exporter thread has ended */
    int exit_status;        /* when ended: 0 stopped, 1 the store went back, 2 error */
} chio_export_nats_stats;

/* Zero @cfg (every default). NULL is ignored. */
void chio_export_nats_config_init(chio_export_nats_config *cfg);

/*
 * chio_export_nats_start - start the exporter thread. Returns at once: the
 * thread waits for the store and the servers by itself.
 * Returns 0; CHIO_EINVAL (@cfg or @out NULL, receipt_db or urls missing or
 * empty, urls not starting with nats://, or any element of the list not
 * nats:// then a host and an optional port from 1 to 65535, a bad stream name, max_batch over
 * 256, a non-zero reserved field); CHIO_ENOMEM; CHIO_ESYS (no thread). *@out is NULL on failure;
 * @err optional.
 * Ownership: the strings of @cfg are copied (cfg->kernel is borrowed, see
 * above); stop and free *out with chio_export_nats_stop().
 */
int chio_export_nats_start(const chio_export_nats_config *cfg, chio_export_nats **out,
                           chio_error *err);

/*
 * chio_export_nats_lag - receipts committed and not yet acknowledged by
 * the stream (before the first answer of the stream: every receipt the
 * store holds). 0 for NULL. Ownership: @x borrowed.
 */
uint64_t chio_export_nats_lag(const chio_export_nats *x);

/* Snapshot of the counters into @out (caller-allocated). Returns 0 or
 * CHIO_EINVAL (@x or @out NULL). */
int chio_export_nats_stats_get(const chio_export_nats *x, chio_export_nats_stats *out);

/*
 * chio_export_nats_metrics_prometheus - the counters in Prometheus text:
 * chio_export_lag_receipts (gauge), chio_export_acked_seq (gauge),
 * chio_export_receipts_total and chio_export_messages_total (counters),
 * chio_export_running (gauge, 0 or 1).
 * @len optional. Returns 0, CHIO_EINVAL (@x or @out NULL), CHIO_ENOMEM;
 * *@out is NULL on failure. Ownership: free *out with chio_free() (or
 * free(), which it calls).
 */
int chio_export_nats_metrics_prometheus(const chio_export_nats *x, char **out, size_t *len);

/*
 * chio_export_nats_stop - ask the thread to stop after the publish in
 * flight (within about 5 s, the longest a publish waits for its
 * acknowledgement, whatever poll_ms is; a read of the stream or a
 * connection attempt under way is finished first), save the
 * acknowledged position, join it and free
 * everything. Returns the thread's exit status (0 stopped cleanly, 1 the
 * store went back (rewound or forked) and nothing was published, 2 an
 * error said on stderr); 0 for NULL. Ownership: takes @x (it is freed).
 */
int chio_export_nats_stop(chio_export_nats *x);

/* ---- the witness: run before a kernel opens its store ------------------------------ */

/* What chio_export_nats_witness() found. */
typedef struct chio_export_nats_witness_report {
    int rollback;                 /* 1: the local log is behind (rewound) or apart (forked) */
    const char *reason;           /* "rewound", "forked", or NULL (static strings) */
    int checkpoint;               /* 1: the first difference is a checkpoint's seq */
    uint64_t first_differing_seq; /* 0 when there is no rollback */
    uint64_t local_last_seq;      /* the store's last receipt seq */
    uint64_t published_last_seq;  /* the stream's last receipt seq of this kernel */
    char kernel[65];              /* the kernel key compared, hex */
    uint64_t reserved[4];         /* written as zeros */
} chio_export_nats_witness_report;

/*
 * chio_export_nats_witness - compare the receipt store @receipt_db with
 * what kernel @kernel_key_hex (the key the host signs with; NULL: the
 * store's own) published to @stream (NULL: "CHIO") at @urls, waiting up
 * to @timeout_ms (0: 5 s) for the servers. A host calls it before
 * chio_kernel_new() opens the store and refuses to serve when
 * @rep->rollback is 1: a store rolled back to an earlier copy passes every
 * local check. With a key, a store that does not exist yet is an empty log
 * (a deleted store is "rewound" at seq 1 once its kernel has published);
 * a store written by another key is an error. The store is opened
 * read-only and closed before the call returns.
 * Returns 0 when the comparison ran (read @rep: equal to the stream or
 * ahead of it is rollback 0); CHIO_EIO when the servers could not be
 * reached or stopped answering (fail closed: do not serve, unless the
 * host chose to start unchecked); CHIO_EINVAL (NULL arguments, a bad
 * stream name or key) and CHIO_ESTORE (the store could not be read, or
 * belongs to another key), with @err (optional) saying why. @rep is
 * zeroed first whenever it is not NULL.
 * Ownership: the strings borrowed; @rep caller-allocated, its reason a
 * static string. Thread-safety: any thread; it opens its own connection.
 */
int chio_export_nats_witness(const char *receipt_db, const char *urls, const char *stream,
                             const char *kernel_key_hex, int timeout_ms,
                             chio_export_nats_witness_report *rep, chio_error *err);

#ifdef __cplusplus
}
#endif

#endif
