/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_kernel.c - the kernel against the hardware limit and a naive
 * baseline, in one run (these machines are shared: only ratios between
 * numbers taken in the same run are compared).
 *
 *   raw limits      single-thread OpenSSL Ed25519 sign and verify rates,
 *                   SHA-256 of a typical receipt, RocksDB write+sync of a
 *                   batch of receipts (what one group commit costs);
 *   throughput      allowed evaluations end to end (evaluate, dispatch to
 *                   an in-process echo tool, sign, durable commit) at 1-256
 *                   caller threads, 1 and 2 signers, sync and nosync;
 *   naive baseline  the same calls, each signed under one global mutex and
 *                   written with its own synced RocksDB write;
 *   latency         open loop at 50% and 90% of the measured capacity
 *                   (arrivals on a fixed schedule, latency counted from the
 *                   scheduled time so queueing shows), allow and deny;
 *   verification    a capability check on a cache hit and a cold one;
 *   allocations     heap blocks and bytes per allowed evaluation (counted
 *                   by the malloc interposer in perf/alloc_count.c, which
 *                   only this binary links);
 *   memory          RSS after 10 thousand and after 1 million receipts.
 *
 *   build/perf/bench-kernel [--quick] [--json FILE] [--check BASELINE]
 *                           [--prior RUN_JSON]... [--write-baseline FILE] [--dir DIR]
 *
 * --quick is the CI regression run (well under 3 minutes); --check compares
 * its ratios with a baseline file and exits 1 naming every ratio that fell
 * below the tolerance; --prior names the --json of an earlier run whose
 * ratios count too (the best value of each is checked).
 *
 * This file owns the run: the options, the timing, error and scratch
 * directory helpers, the raw limits, verification, allocations and memory,
 * the report and the JSON. The kernel under test, the naive baseline and
 * the closed- and open-loop loads with their histograms are in
 * perf/bench_kernel_load.c, the regression check (--check) in
 * perf/bench_check.c; bench_kernel.h declares what the files share.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "bench_kernel.h"
#include "kernel_internal.h"

/* ---- timing and output --------------------------------------------------------------------- */

double chio__bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t chio__bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int quick;
static const char *base_dir = "/tmp";
static chio_buf json_out; /* the --json object, built as we go */
static int json_fields;

static void jnum(const char *key, double v)
{
    chio__buf_printf(&json_out, "%s\"%s\":%.6g", json_fields++ ? "," : "", key, v);
}

void chio__bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-kernel: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

int chio__bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void chio__bench_rmrf(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-kernel: could not remove %s\n", path);
}

char *chio__bench_new_dir(const char *tag)
{
    char *d;
    if (asprintf(&d, "%s/chio-bench-%s-XXXXXX", base_dir, tag) < 0 || mkdtemp(d) == NULL)
        chio__bench_die("cannot create a directory under %s", base_dir);
    return d;
}

/* ---- raw limits -------------------------------------------------------------------------------
 */

typedef struct raw {
    double sign, verify, sha256, sync_batches, sync_us, sync_p99_us, sync_max_us;
} raw;

static double rate_for(double seconds, int (*fn)(void *), void *ctx)
{
    double start = chio__bench_now_s(), el;
    long n = 0, i;

    do {
        for (i = 0; i < 16; i++)
            if (fn(ctx) != 0)
                chio__bench_die("raw operation failed");
        n += 16;
        el = chio__bench_now_s() - start;
    } while (el < seconds);
    return (double)n / el;
}

typedef struct raw_ctx {
    chio_keypair *kp;
    uint8_t pub[32], sig[64], msg[1024];
} raw_ctx;

static int op_sign(void *c)
{
    raw_ctx *r = c;
    return chio_keypair_sign(r->kp, r->msg, sizeof(r->msg), r->sig);
}

static int op_verify(void *c)
{
    raw_ctx *r = c;
    return chio_ed25519_verify(r->pub, r->msg, sizeof(r->msg), r->sig);
}

static int op_sha(void *c)
{
    raw_ctx *r = c;
    uint8_t d[32];
    return chio_sha256(r->msg, sizeof(r->msg), d);
}

/* A RocksDB write+sync of a batch of 16 receipt-sized values, the cost of
 * one group commit; also a synced write of one value (the naive path). */
static void raw_store(raw *out)
{
    char *dir = chio__bench_new_dir("raw"), val[1100];
    chio_store *s;
    chio__store_batch *b = chio__store_batch_new();
    chio_error err;
    uint64_t seq = 0;
    double start, el;
    long n = 0;
    int i;

    static uint64_t lats[200000];
    size_t nl = 0;

    memset(val, 'r', sizeof(val));
    if (chio_store_open(dir, CHIO_STORE_READ_WRITE, &s, &err) != 0)
        chio__bench_die("store: %s", err.message);
    start = chio__bench_now_s();
    do {
        uint64_t t0 = chio__bench_now_ns();
        for (i = 0; i < 16; i++) {
            char id[65];
            snprintf(id, sizeof(id), "%064llu", (unsigned long long)++seq);
            chio__store_batch_put_receipt(b, s, seq, val, sizeof(val), id);
        }
        if (chio__store_write(s, b, 1, &err) != 0)
            chio__bench_die("store write: %s", err.message);
        if (nl < sizeof(lats) / sizeof(lats[0]))
            lats[nl++] = chio__bench_now_ns() - t0;
        chio__store_batch_clear(b);
        n++;
        el = chio__bench_now_s() - start;
    } while (el < (quick ? 0.5 : 1.5));
    out->sync_batches = (double)n / el;
    out->sync_us = el * 1e6 / (double)n;
    qsort(lats, nl, sizeof(lats[0]), chio__bench_cmp_u64);
    out->sync_p99_us = nl ? (double)lats[(size_t)(0.99 * (double)(nl - 1))] / 1000.0 : 0;
    out->sync_max_us = nl ? (double)lats[nl - 1] / 1000.0 : 0;
    chio__store_batch_free(b);
    chio_store_close(s);
    chio__bench_rmrf(dir);
    free(dir);
}

/* The signing key and message of the raw limits, kept for sign_pace(). */
static raw_ctx pace_ctx;

static void measure_raw(raw *r)
{
    raw_ctx *c = &pace_ctx;
    chio_error err;
    double secs = quick ? 0.5 : 1.0;

    memset(c, 0, sizeof(*c));
    memset(c->msg, 'm', sizeof(c->msg));
    if (chio_keypair_from_seed_hex(CHIO__BENCH_SEED, 64, &c->kp, &err) != 0)
        chio__bench_die("seed");
    chio_keypair_public_key(c->kp, c->pub);
    chio_keypair_sign(c->kp, c->msg, sizeof(c->msg), c->sig);
    r->sign = rate_for(secs, op_sign, c);
    r->verify = rate_for(secs, op_verify, c);
    r->sha256 = rate_for(secs / 2, op_sha, c);
    raw_store(r);
}

/* ---- the signing pace beside each gated measurement
 * ------------------------------------------------------- */

/* A shared machine's speed moves between minutes (a raw signature has
 * read 25 us and 45 us on the same VM a minute apart), so a ratio over
 * the raw rate measured once at the start moves with it. Each gated
 * measurement is divided instead by the signing cost measured just
 * before and just after it: wall_us, the wall-clock time per signature
 * of one thread (what the machine gives a thread now: the divisor of
 * throughput and latency), and cpu_us, that thread's CPU time per
 * signature (what the work costs whatever else runs: the divisor of
 * the process CPU per evaluation). */
typedef struct pace {
    double wall_us, cpu_us;
    double sync_us; /* see sync_pace (0: not measured) */
} pace;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pace sign_pace(void)
{
    double start = chio__bench_now_s(), cpu0 = thread_cpu_s(), el;
    long n = 0, i;
    pace p;

    do {
        for (i = 0; i < 16; i++)
            if (op_sign(&pace_ctx) != 0)
                chio__bench_die("raw operation failed");
        n += 16;
        el = chio__bench_now_s() - start;
    } while (el < 0.15);
    p.wall_us = el * 1e6 / (double)n;
    p.cpu_us = (thread_cpu_s() - cpu0) * 1e6 / (double)n;
    p.sync_us = 0;
    return p;
}

/* The paces before (@a) and after (@b) a measurement: the mean signing
 * costs, and the faster synced write (a disk that stalled once still
 * counts as the disk it is). */
static pace pace_mean(pace a, pace b)
{
    pace p = {(a.wall_us + b.wall_us) / 2, (a.cpu_us + b.cpu_us) / 2,
              a.sync_us < b.sync_us ? a.sync_us : b.sync_us};
    return p;
}

/* The store sync_pace() writes to, and its directory (opened on first use,
 * removed by sync_pace_done()). */
static chio_store *pace_store;
static char *pace_dir;

/* Microseconds per RocksDB write+sync of a batch of 16 receipt-sized
 * values now (at least 0.15 s and 3 batches): with 16 synchronous
 * callers a group commit holds at most 16 receipts, so 16 receipts per
 * this time is what the disk allows them, however fast the CPU. */
static double sync_pace(void)
{
    static uint64_t seq;
    chio__store_batch *b = chio__store_batch_new();
    double start = chio__bench_now_s(), el;
    char val[1100];
    chio_error err;
    long n = 0;
    int i;

    if (pace_store == NULL) {
        pace_dir = chio__bench_new_dir("pace");
        if (chio_store_open(pace_dir, CHIO_STORE_READ_WRITE, &pace_store, &err) != 0)
            chio__bench_die("store: %s", err.message);
    }
    memset(val, 'r', sizeof(val));
    do {
        for (i = 0; i < 16; i++) {
            char id[65];
            snprintf(id, sizeof(id), "%064llu", (unsigned long long)++seq);
            chio__store_batch_put_receipt(b, pace_store, seq, val, sizeof(val), id);
        }
        if (chio__store_write(pace_store, b, 1, &err) != 0)
            chio__bench_die("store write: %s", err.message);
        chio__store_batch_clear(b);
        n++;
        el = chio__bench_now_s() - start;
    } while (el < 0.15 || n < 3);
    chio__store_batch_free(b);
    return el * 1e6 / (double)n;
}

static void sync_pace_done(void)
{
    if (pace_store == NULL)
        return;
    chio_store_close(pace_store);
    chio__bench_rmrf(pace_dir);
    free(pace_dir);
}

/* The signing pace and, for a synchronous measurement, the disk's. */
static pace pace_now(int sync)
{
    pace p = sign_pace();

    p.sync_us = sync ? sync_pace() : 0;
    return p;
}

/* ---- capability verification, allocations, memory
 * -------------------------------------------------- */

static double verify_ns(chio__bench_kernel *b, int cold, double seconds)
{
    chio__session *s = chio__session_find(b->k, b->sid);
    const chio__session_cap *sc = chio__session_find_cap(s, "cap-bench");
    uint64_t now = (uint64_t)time(NULL);
    char reason[256];
    long n = 0;
    double start = chio__bench_now_s(), el;

    do {
        int i;
        for (i = 0; i < 64; i++) {
            if (cold) {
                chio_capability_report rep;
                if (chio_capability_verify(sc->cap, now, b->k->med.trusted, b->k->med.ntrusted, -1,
                                           &rep) != 0 ||
                    !rep.ok)
                    chio__bench_die("verify");
            } else if (chio__check_token(b->k, sc, s->agent, now, reason, sizeof(reason)) !=
                       CHIO_CODE_NONE) {
                chio__bench_die("check_token: %s", reason);
            }
        }
        n += 64;
        el = chio__bench_now_s() - start;
    } while (el < seconds);
    return el * 1e9 / (double)n;
}

static void allocations(chio__bench_kernel *b, double *blocks, double *bytes, double *own,
                        double *own_b)
{
    chio__alloc_counts c;
    int i, n = 2000;

    for (i = 0; i < 100; i++)
        chio__bench_call(b, 0);
    chio__alloc_count_start();
    for (i = 0; i < n; i++)
        if (chio__bench_call(b, 0) != 0)
            chio__bench_die("call failed");
    chio__alloc_count_stop(&c);
    *blocks = (double)c.blocks / n;
    *bytes = (double)c.bytes / n;
    *own = (double)c.own_blocks / n;
    *own_b = (double)c.own_bytes / n;
}

static double rss_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

typedef struct fill {
    chio__bench_kernel *b;
    long target;
    long *done;
} fill;

static void *fill_thread(void *arg)
{
    fill *f = arg;

    while (__atomic_add_fetch(f->done, 1, __ATOMIC_RELAXED) <= f->target)
        if (chio__bench_call(f->b, 0) != 0)
            chio__bench_die("fill call failed");
    return NULL;
}

static void fill_to(chio__bench_kernel *b, long target, long *done)
{
    enum { T = 16 };
    pthread_t th[T];
    fill f = {b, target, done};
    int i;

    for (i = 0; i < T; i++)
        pthread_create(&th[i], NULL, fill_thread, &f);
    for (i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    *done = target;
}

/* ---- main
 * -----------------------------------------------------------------------------------------------
 */

int main(int argc, char **argv)
{
    static const int threads_full[] = {1, 2, 4, 8, 16, 64, 256};
    static const int threads_quick[] = {1, 16, 64};
    const int *tlist;
    size_t ntl;
    const char *json_path = NULL, *check_path = NULL, *write_base = NULL, *priors[8];
    size_t npriors = 0;
    chio__bench_lat l = {NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER};
    double secs, ours16_sync = 0, naive16 = 0, ours16_p99 = 0, naive16_p99 = 0, cap16 = 0;
    double two_nosync64 = 0, blocks, bytes, own, own_bytes, hit, cold, rss10k = 0, rss1m = 0;
    double s1_ratio, s2_ratio, cpu_ratio;
    double cpu16_nosync = 0; /* process CPU per call, 1 signer, nosync, 16 callers (us) */
    /* the signing pace around each gated measurement (see sign_pace) */
    pace pc_s1_sync16 = {0, 0, 0}, pc_s2_nosync64 = {0, 0, 0}, pc_cpu16 = {0, 0, 0};
    pace pc_naive16 = {0, 0, 0};
    pace pc_lat[4];
    int naive_disk_bound, s1_disk_bound;
    chio__bench_lat_res lr[4];
    double ours_rate[8] = {0}, ours_p99[8] = {0};
    chio_buf ratios;
    raw r;
    chio__bench_kernel b;
    int i, s, d, bad = 0, dir_given = 0;
    size_t ti;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
            check_path = argv[++i];
        else if (strcmp(argv[i], "--prior") == 0 && i + 1 < argc && npriors < 8)
            priors[npriors++] = argv[++i];
        else if (strcmp(argv[i], "--write-baseline") == 0 && i + 1 < argc)
            write_base = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            base_dir = argv[++i];
            dir_given = 1;
        } else {
            fprintf(stderr, "usage: bench-kernel [--quick] [--json FILE] [--check BASELINE] "
                            "[--prior RUN_JSON]... [--write-baseline FILE] [--dir DIR]\n");
            return 2;
        }
    }
    if (!dir_given && getenv("TMPDIR") != NULL)
        base_dir = getenv("TMPDIR");
    tlist = quick ? threads_quick : threads_full;
    ntl = quick ? 3 : 7;
    secs = quick ? 0.6 : 1.5;
    chio__buf_init(&json_out);
    chio__buf_init(&ratios);
    chio__buf_puts(&json_out, "{");

    measure_raw(&r);
    printf("raw limits (one thread; %s run)\n", quick ? "quick" : "full");
    printf("  Ed25519 sign        %10.0f /s  (%.1f us)\n", r.sign, 1e6 / r.sign);
    printf("  Ed25519 verify      %10.0f /s\n", r.verify);
    printf("  SHA-256 of 1 KiB    %10.0f /s\n", r.sha256);
    printf("  RocksDB write+sync  %10.0f batches/s of 16 receipts (%.0f us each, p99 %.0f us, "
           "max %.0f us)\n",
           r.sync_batches, r.sync_us, r.sync_p99_us, r.sync_max_us);
    jnum("raw_sign_per_s", r.sign);
    jnum("raw_verify_per_s", r.verify);
    jnum("raw_sha256_1k_per_s", r.sha256);
    jnum("raw_sync_batches_per_s", r.sync_batches);
    jnum("raw_sync_us", r.sync_us);
    jnum("raw_sync_p99_us", r.sync_p99_us);

    if (getenv("CHIO_BENCH_CAPACITY"))
        goto latency;
    printf("\nallowed evaluations end to end (evaluate + echo tool + sign + commit), closed "
           "loop\n");
    printf("  %-7s %-8s %7s %10s %8s %9s %9s %10s %8s\n", "signers", "durab.", "callers", "calls/s",
           "x sign", "p50 us", "p99 us", "CPU us/call", "x sign");
    for (d = 0; d < 2; d++) {
        for (s = 1; s <= 2; s++) {
            chio__bench_kernel_open(&b, s, d == 0 ? CHIO_DURABILITY_SYNC : CHIO_DURABILITY_NOSYNC,
                                    "tp");
            for (ti = 0; ti < ntl; ti++) {
                int gated = tlist[ti] == (s == 2 && d == 1 ? 64 : 16) && (s == 1 || d == 1);
                pace before = gated ? pace_now(d == 0) : (pace){0, 0, 0}, around;
                chio__bench_tp t = chio__bench_closed_loop(&b, NULL, tlist[ti], secs, &l);
                char key[64];

                around = gated ? pace_mean(before, pace_now(d == 0)) : before;
                printf("  %-7d %-8s %7d %10.0f %8.2f %9.0f %9.0f %10.1f %8.2f\n", s,
                       d == 0 ? "sync" : "nosync", tlist[ti], t.rate, t.rate / r.sign, t.p50_us,
                       t.p99_us, t.cpu_us, t.cpu_us * r.sign / 1e6);
                snprintf(key, sizeof(key), "tp_s%d_%s_t%d", s, d == 0 ? "sync" : "nosync",
                         tlist[ti]);
                jnum(key, t.rate);
                snprintf(key, sizeof(key), "cpu_us_s%d_%s_t%d", s, d == 0 ? "sync" : "nosync",
                         tlist[ti]);
                jnum(key, t.cpu_us);
                if (s == 1 && d == 0) {
                    ours_rate[ti] = t.rate;
                    ours_p99[ti] = t.p99_us;
                }
                if (s == 1 && d == 0 && tlist[ti] == 16) {
                    ours16_sync = t.rate;
                    ours16_p99 = t.p99_us;
                    cap16 = t.rate;
                    pc_s1_sync16 = around;
                }
                if (s == 2 && d == 1 && tlist[ti] == 64) {
                    two_nosync64 = t.rate;
                    pc_s2_nosync64 = around;
                }
                if (s == 1 && d == 1 && tlist[ti] == 16) {
                    cpu16_nosync = t.cpu_us;
                    pc_cpu16 = around;
                }
            }
            chio__bench_kernel_close(&b);
        }
    }

    printf("\nnaive baseline (global mutex, one synced write per receipt) vs libchio "
           "(1 signer, sync)\n");
    printf("  %7s %12s %12s %12s %12s %8s\n", "callers", "naive /s", "libchio /s", "naive p99",
           "libchio p99", "ratio");
    {
        chio__bench_naive nv;
        chio__bench_naive_open(&nv);
        for (ti = 0; ti < ntl; ti++) {
            pace before = tlist[ti] == 16 ? sign_pace() : (pace){0, 0, 0};
            chio__bench_tp t = chio__bench_closed_loop(NULL, &nv, tlist[ti], secs, &l);
            char key[64];

            if (tlist[ti] == 16)
                pc_naive16 = pace_mean(before, sign_pace());
            snprintf(key, sizeof(key), "naive_sync_t%d", tlist[ti]);
            jnum(key, t.rate);
            printf("  %7d %12.0f %12.0f %9.0f us %9.0f us %7.1fx\n", tlist[ti], t.rate,
                   ours_rate[ti], t.p99_us, ours_p99[ti], ours_rate[ti] / t.rate);
            if (tlist[ti] == 16) {
                naive16 = t.rate;
                naive16_p99 = t.p99_us;
            }
        }
        chio__bench_naive_close(&nv);
    }
    printf("  at 16 callers: libchio %.0f/s (p99 %.0f us) vs naive %.0f/s (p99 %.0f us): "
           "%.1fx throughput\n",
           ours16_sync, ours16_p99, naive16, naive16_p99, ours16_sync / naive16);

latency:
    if (getenv("CHIO_BENCH_CAPACITY")) /* investigation: skip the sweeps */
        cap16 = atof(getenv("CHIO_BENCH_CAPACITY"));
    printf("\nopen-loop latency, 1 signer, sync (capacity %.0f calls/s at 16 callers)\n", cap16);
    chio__bench_kernel_open(
        &b, 1, getenv("CHIO_BENCH_LAT_NOSYNC") ? CHIO_DURABILITY_NOSYNC : CHIO_DURABILITY_SYNC,
        "lat");
    for (i = 0; i < 4; i++) {
        int deny = i >= 2;
        double load = i % 2 == 0 ? 0.5 : 0.9;
        char key[64];
        pace before = sign_pace();
        lr[i] = chio__bench_open_loop(&b, deny, load * cap16, quick ? 1.0 : 3.0, &l);
        pc_lat[i] = pace_mean(before, sign_pace());
        printf("  %-5s at %2.0f%% (%6.0f/s): p50 %6.0f us  p99 %6.0f us  p99.9 %6.0f us  max "
               "%6.0f us\n",
               deny ? "deny" : "allow", load * 100, lr[i].offered, lr[i].p50, lr[i].p99, lr[i].p999,
               lr[i].max);
        if (!quick)
            chio__bench_print_hist(&lr[i], l.n);
        snprintf(key, sizeof(key), "lat_%s_%d_p99_us", deny ? "deny" : "allow", (int)(load * 100));
        jnum(key, lr[i].p99);
        snprintf(key, sizeof(key), "lat_%s_%d_p50_us", deny ? "deny" : "allow", (int)(load * 100));
        jnum(key, lr[i].p50);
        snprintf(key, sizeof(key), "lat_%s_%d_p999_us", deny ? "deny" : "allow", (int)(load * 100));
        jnum(key, lr[i].p999);
    }

    /* Cached and cold in turn, three times, the pair with the lowest
     * ratio kept: a pair is measured within a fraction of a second, so
     * the machine's speed moves less between its two halves. */
    hit = cold = 0;
    for (i = 0; i < 3; i++) {
        double h = verify_ns(&b, 0, quick ? 0.1 : 0.33), c = verify_ns(&b, 1, quick ? 0.1 : 0.33);
        if (i == 0 || h / c < hit / cold)
            hit = h, cold = c;
    }
    printf("\ncapability verification: cached %.0f ns, cold %.0f ns (%.0fx)\n", hit, cold,
           cold / hit);
    jnum("verify_cached_ns", hit);
    jnum("verify_cold_ns", cold);
    allocations(&b, &blocks, &bytes, &own, &own_bytes);
    printf("heap allocations per allowed evaluation (single caller): libchio %.1f blocks "
           "(%.0f bytes); with OpenSSL and RocksDB %.1f blocks (%.0f bytes)\n",
           own, own_bytes, blocks, bytes);
    jnum("alloc_blocks_per_eval", blocks);
    jnum("alloc_bytes_per_eval", bytes);
    jnum("alloc_own_blocks_per_eval", own);
    jnum("alloc_own_bytes_per_eval", own_bytes);
    chio__bench_kernel_close(&b);

    if (!quick) {
        long done = 0;
        chio__bench_kernel_open(&b, 2, CHIO_DURABILITY_NOSYNC, "rss");
        fill_to(&b, 10000, &done);
        rss10k = rss_mib();
        fill_to(&b, 1000000, &done);
        rss1m = rss_mib();
        chio__bench_kernel_close(&b);
        printf("RSS: %.1f MiB after 10 thousand receipts, %.1f MiB after 1 million (+%.1f MiB)\n",
               rss10k, rss1m, rss1m - rss10k);
        jnum("rss_10k_mib", rss10k);
        jnum("rss_1m_mib", rss1m);
    }

    /* Ratios: what the targets and the regression gate compare, each over
     * the signing pace measured around it. */
    /* 1 signer, sync, 16 callers, over the signing rate: gated where the
     * disk, at its fastest around the measurement, lets those callers
     * reach 0.4 of the signing rate (16 receipts per synced write; twice
     * the floor). On a slower disk the throughput is the disk's whatever
     * the code: a 5 ms sync allows 3,200 calls/s, and the ratio read 0.17
     * here, under its floor of 0.2. */
    s1_ratio = ours16_sync * pc_s1_sync16.wall_us / 1e6;
    s1_disk_bound =
        pc_s1_sync16.sync_us > 0 && 16e6 / pc_s1_sync16.sync_us < 0.4 * 1e6 / pc_s1_sync16.wall_us;
    if (s1_disk_bound)
        printf("\n1 signer sync 16 callers over the signing rate not gated: a 16-receipt synced "
               "write took %.0f us at best around it, which allows %.0f calls/s, under 0.4 of the "
               "signing rate (%.0f/s)\n",
               pc_s1_sync16.sync_us, 16e6 / pc_s1_sync16.sync_us, 1e6 / pc_s1_sync16.wall_us);
    s2_ratio = two_nosync64 * pc_s2_nosync64.wall_us / 1e6;
    cpu_ratio = pc_cpu16.cpu_us > 0 ? cpu16_nosync / pc_cpu16.cpu_us : 0;
    /* libchio over the naive baseline measures group commit against one
     * synced write per call, which means something only where that write
     * is most of a naive call: on a disk that syncs in tens of
     * microseconds (tmpfs, a write-back cache) both paths are bound by
     * the CPU and read about 1.2x, whatever the code does. Gated where a
     * naive call took at least 12 signatures' time (its own work took 2 on tmpfs;
     * the rest is the sync). */
    naive_disk_bound = naive16 > 0 && naive16 * pc_naive16.wall_us / 1e6 <= 1.0 / 12;
    if (!naive_disk_bound)
        printf("\nlibchio over the naive baseline not gated: a naive call took %.1f "
               "signatures' time (under 12: the disk syncs too fast to matter)\n",
               naive16 > 0 && pc_naive16.wall_us > 0 ? 1e6 / naive16 / pc_naive16.wall_us : 0);
    printf("\nsigning pace around each gated measurement (wall us / CPU us per signature): "
           "s1 sync 16 %.1f/%.1f (a 16-receipt synced write %.0f us at best), s2 nosync 64 "
           "%.1f/%.1f, s1 "
           "nosync 16 %.1f/%.1f, "
           "allow 50%% %.1f/%.1f, deny 50%% %.1f/%.1f\n",
           pc_s1_sync16.wall_us, pc_s1_sync16.cpu_us, pc_s1_sync16.sync_us, pc_s2_nosync64.wall_us,
           pc_s2_nosync64.cpu_us, pc_cpu16.wall_us, pc_cpu16.cpu_us, pc_lat[0].wall_us,
           pc_lat[0].cpu_us, pc_lat[2].wall_us, pc_lat[2].cpu_us);
    chio__buf_printf(&ratios,
                     "\"s1_sync_16_over_sign\":%.4f,\"s2_nosync_64_over_sign\":%.4f,"
                     "\"over_naive_sync_16\":%.4f,\"naive_p99_over_ours_16\":%.4f,"
                     "\"allow_p99_50pct_over_sign_us_max\":%.4f,"
                     "\"deny_p99_50pct_over_sign_us_max\":%.4f,"
                     "\"verify_cached_over_cold_max\":%.6f,\"alloc_own_blocks_per_eval_max\":%.2f,"
                     "\"alloc_blocks_per_eval_max\":%.2f,\"cpu_per_eval_over_sign_max\":%.3f",
                     s1_ratio, s2_ratio, ours16_sync / naive16, naive16_p99 / ours16_p99,
                     lr[0].p99 / pc_lat[0].wall_us, lr[2].p99 / pc_lat[2].wall_us, hit / cold, own,
                     blocks, cpu_ratio);
    if (!quick)
        chio__buf_printf(&ratios, ",\"rss_growth_mib_max\":%.1f", rss1m - rss10k);
    chio__buf_printf(&json_out, ",\"ratios\":{%.*s}", (int)ratios.len, ratios.data);
    chio__buf_printf(&json_out, ",\"ungated\":[%s%s%s]}",
                     naive_disk_bound ? "" : "\"over_naive_sync_16\"",
                     !naive_disk_bound && s1_disk_bound ? "," : "",
                     s1_disk_bound ? "\"s1_sync_16_over_sign\"" : "");

    printf("\ntargets (ratios from this run)\n");
    printf("  1 signer sync 16 callers / raw sign     %6.2f  (target >= 0.90)\n", s1_ratio);
    printf("  2 signers nosync 64 callers / raw sign  %6.2f  (target >= 1.60)\n", s2_ratio);
    /* Kept as a column, not a target: the naive path is one synced write
     * per call, so its rate moves with the disk's sync time (issue 12). */
    printf("  vs naive, sync, 16 callers              %6.1fx (not a target: moves with the disk; "
           "lower p99: %s)\n",
           ours16_sync / naive16, ours16_p99 < naive16_p99 ? "yes" : "no");
    printf("  allow p99 at 50%% load                   %6.0f us (target < 1000)\n", lr[0].p99);
    printf("  deny p99 at 50%% load                    %6.0f us (target < 1000)\n", lr[2].p99);
    printf("  cached capability verification          %6.0f ns (target < 2000)\n", hit);
    printf("  heap allocations per allowed evaluation %6.1f    (target <= 6; libchio's own; "
           "%.1f with OpenSSL and RocksDB)\n",
           own, blocks);
    printf("  process CPU per evaluation / raw sign   %6.2f    (target <= 1.4; 1 signer, nosync, "
           "16 callers; both CPU time)\n",
           cpu_ratio);
    if (!quick)
        printf("  RSS growth 10k -> 1M receipts           %6.1f MiB (target < 64)\n",
               rss1m - rss10k);

    if (json_path != NULL) {
        FILE *f = fopen(json_path, "w");
        if (f == NULL || fwrite(json_out.data, 1, json_out.len, f) != json_out.len ||
            fputc('\n', f) == EOF || fclose(f) != 0)
            chio__bench_die("cannot write %s", json_path);
    }
    if (write_base != NULL) {
        FILE *f = fopen(write_base, "w");
        if (f == NULL)
            chio__bench_die("cannot write %s", write_base);
        /* Throughput ratios drift with the neighbours on a shared machine;
         * tail latency far more; allocation counts hardly at all. */
        fprintf(f,
                "{\"tolerance\":0.5,\"tolerances\":{\"naive_p99_over_ours_16\":0.8,"
                "\"allow_p99_50pct_over_sign_us_max\":5,\"deny_p99_50pct_over_sign_us_max\":5,"
                "\"verify_cached_over_cold_max\":1,\"alloc_own_blocks_per_eval_max\":0.2,"
                "\"alloc_blocks_per_eval_max\":0.3,\"rss_growth_mib_max\":1,"
                "\"cpu_per_eval_over_sign_max\":1.5},"
                "\"ratios\":{%.*s}}\n",
                (int)ratios.len, ratios.data);
        fclose(f);
    }
    if (check_path != NULL) {
        printf("\n");
        bad = chio__bench_check_baseline(check_path, json_out.data, json_out.len, priors, npriors);
        printf("perf-check: %s\n", bad ? "REGRESSION (see above)" : "no regression");
    }
    chio_keypair_free(pace_ctx.kp);
    sync_pace_done();
    chio__buf_destroy(&json_out);
    chio__buf_destroy(&ratios);
    free(l.v);
    return bad ? 1 : 0;
}
