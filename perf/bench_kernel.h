/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_kernel.h - what the three files of the kernel benchmark share
 * (build/perf/bench-kernel; nothing else links them).
 *
 * perf/bench_kernel.c owns the run: its options, the scratch directories
 * under --dir, the raw limits, capability verification, allocations and RSS,
 * the report and the JSON; it provides the timing,
 * error and directory helpers declared first below. perf/bench_kernel_load.c
 * owns the loads: the kernel under test, the naive baseline, closed-loop
 * throughput and open-loop latency with its histograms. perf/bench_check.c
 * owns the regression check. Everything else in each file is static.
 */
#ifndef CHIO_PERF_BENCH_KERNEL_H
#define CHIO_PERF_BENCH_KERNEL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_internal.h"

/* The seed of every signing key in the benchmark. */
#define CHIO__BENCH_SEED "0707070707070707070707070707070707070707070707070707070707070707"

/* ---- provided by bench_kernel.c ------------------------------------------------------------ */

/* CLOCK_MONOTONIC, in seconds and in nanoseconds. */
double chio__bench_now_s(void);
uint64_t chio__bench_now_ns(void);

/* Print "bench-kernel: " and the message on stderr, then exit(2). */
void chio__bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A new directory chio-bench-@tag-XXXXXX under --dir ($TMPDIR, else /tmp);
 * the caller removes it with chio__bench_rmrf() and frees the name. */
char *chio__bench_new_dir(const char *tag);
void chio__bench_rmrf(const char *path);

/* qsort() comparison of two uint64_t. */
int chio__bench_cmp_u64(const void *a, const void *b);

/* ---- provided by bench_check.c ------------------------------------------------------------- */

/* Check this run's JSON (@run_json, @run_len) against the baseline file at
 * @path, counting the --prior runs' JSON files (@priors, @npriors, 8 at
 * most) too; prints a line per ratio. Returns the number of ratios that
 * regressed or are missing (0: no regression); dies on unreadable input. */
int chio__bench_check_baseline(const char *path, const char *run_json, size_t run_len,
                               const char *const *priors, size_t npriors);

/* ---- provided by bench_kernel_load.c ------------------------------------------------------- */

/* Latency samples of one run, appended by its threads under @mu. */
typedef struct chio__bench_lat {
    uint64_t *v; /* nanoseconds */
    size_t n, cap;
    pthread_mutex_t mu;
} chio__bench_lat;

/* A kernel with one session holding capability "cap-bench" (file_read under
 * /workspace on server "srv", whose tools echo their arguments). */
typedef struct chio__bench_kernel {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *dir;
} chio__bench_kernel;

/* Open one with @signers signer threads and @dur, its store in a new
 * directory tagged @tag; chio__bench_kernel_close() frees it all. */
void chio__bench_kernel_open(chio__bench_kernel *b, int signers, chio_durability dur,
                             const char *tag);
void chio__bench_kernel_close(chio__bench_kernel *b);

/* One evaluation; @deny calls a tool outside the grant (out_of_scope).
 * 0 when it returned the verdict expected. */
int chio__bench_call(chio__bench_kernel *b, int deny);

/* The naive baseline: each receipt signed under one global mutex and
 * written with its own synced RocksDB write. */
typedef struct chio__bench_naive {
    pthread_mutex_t mu;
    chio_keypair *kp;
    chio_store *store;
    chio__store_batch *batch;
    uint64_t seq;
    char *dir;
} chio__bench_naive;

void chio__bench_naive_open(chio__bench_naive *n);
void chio__bench_naive_close(chio__bench_naive *n);

/* What a closed-loop run measured. */
typedef struct chio__bench_tp {
    double rate, p50_us, p99_us;
    double cpu_us; /* process CPU (user + system, every thread) per call */
} chio__bench_tp;

/* @threads callers calling back to back for @seconds, on @b or, when @nv is
 * not NULL, on the naive baseline (after 20 warm-up calls); the latencies
 * land in @l. */
chio__bench_tp chio__bench_closed_loop(chio__bench_kernel *b, chio__bench_naive *nv, int threads,
                                       double seconds, chio__bench_lat *l);

/* What an open-loop run measured (microseconds). */
typedef struct chio__bench_lat_res {
    double offered, p50, p99, p999, max;
    uint64_t hist[24]; /* buckets of powers of two microseconds */
} chio__bench_lat_res;

/* Arrivals at @rate per second for @seconds, served by 64 workers, each
 * latency counted from its scheduled arrival; allowed calls, or denied ones
 * with @deny. The sorted latencies are left in @l. */
chio__bench_lat_res chio__bench_open_loop(chio__bench_kernel *b, int deny, double rate,
                                          double seconds, chio__bench_lat *l);

/* Print the histogram of @r (@n samples in all), one line per non-empty bucket. */
void chio__bench_print_hist(const chio__bench_lat_res *r, size_t n);

#endif
