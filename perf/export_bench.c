/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/export_bench.c - does the fleet exporter keep up with a kernel at
 * its full sync rate? A real kernel in this process (sync durability,
 * checkpoints every 100) signs receipts from --threads caller threads as
 * fast as it commits them, for --seconds; `chio export --follow` runs as
 * its own process on the same store, publishing to the JetStream cluster
 * at --nats (perf/export-bench.sh starts one). Every 100 ms the lag is
 * sampled: receipts the kernel has committed (chio_kernel_metrics.last_seq)
 * minus the last receipt seq the stream holds for the kernel (read from
 * the stream itself; the stream is made before the run). After the run: the time the exporter takes
 * to catch up, then SIGTERM and its CPU time (the child's rusage) per exported receipt. Prints one
 * JSON line; the samples go to DIR/lag.csv.
 *
 *   export-bench --nats URLS --dir DIR --cli build/chio [--seconds S]
 *                [--threads N] [--batch B] [--durability sync|nosync]
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "chio/chio.h"
#include "export/transport.h"

static atomic_int stop_signing;
static atomic_ullong sign_errors;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

static void quiet(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    (void)level;
    (void)json;
    (void)len;
}

static void *signer(void *arg)
{
    chio_kernel *k = arg;
    unsigned long long i = 0;
    char params[96];

    while (!atomic_load(&stop_signing)) {
        chio_receipt_builder *b = NULL;
        chio_receipt *r = NULL;

        snprintf(params, sizeof(params), "{\"path\":\"/workspace/bench-%p-%llu\"}", (void *)&i, i);
        i++;
        if (chio_receipt_builder_new(&b) != 0 ||
            chio_receipt_builder_set_capability_id(b, "cap-bench") != 0 ||
            chio_receipt_builder_set_tool(b, "srv-files", "file_read") != 0 ||
            chio_receipt_builder_set_parameters(b, params, strlen(params), NULL) != 0 ||
            chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL) != 0 ||
            chio_kernel_sign_receipt(k, b, &r, NULL) != 0)
            atomic_fetch_add(&sign_errors, 1);
        chio_receipt_free(r);
    }
    return NULL;
}

static int on_last(void *ctx, const chio__xp_msg *m)
{
    *(uint64_t *)ctx = m->item_seq;
    return 0;
}

/* The last receipt seq the stream holds on @subject (0 when none or unknown). */
static uint64_t stream_seq(chio__xp *t, const char *subject, uint64_t prev)
{
    uint64_t seq = 0;
    int rc = chio__xp_last(t, subject, on_last, &seq);

    if (rc == CHIO__XP_ENOTFOUND)
        return 0;
    return rc == 0 ? seq : prev;
}

static uint64_t committed(chio_kernel *k)
{
    chio_kernel_metrics m;

    chio_kernel_metrics_get(k, &m);
    return m.last_seq;
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
    int i;

    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    const char *urls = arg(argc, argv, "--nats", NULL), *dir = arg(argc, argv, "--dir", NULL);
    const char *cli = arg(argc, argv, "--cli", "build/chio");
    const char *batch = arg(argc, argv, "--batch", NULL);
    const char *dur = arg(argc, argv, "--durability", "sync");
    unsigned seconds = (unsigned)atoi(arg(argc, argv, "--seconds", "15"));
    unsigned nthreads = (unsigned)atoi(arg(argc, argv, "--threads", "16")), i;
    char db[1024], csv_path[1024], log_path[1024], subject[128], why[256];
    chio_kernel_config cfg;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio__xp *t = NULL;
    pthread_t *th;
    struct rusage ru;
    FILE *csv;
    pid_t pid;
    uint64_t t0, end, c = 0, a = 0, max_lag = 0, sum_lag = 0, samples = 0;
    uint64_t c_end, a_end, caught_ms = 0, done;
    double cpu_s;
    int st = 0;

    if (urls == NULL || dir == NULL || seconds == 0 || nthreads == 0 || nthreads > 256) {
        fprintf(stderr, "usage: export-bench --nats URLS --dir DIR --cli PATH [--seconds S] "
                        "[--threads N] [--batch B] [--durability sync|nosync]\n");
        return 2;
    }
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(csv_path, sizeof(csv_path), "%s/lag.csv", dir);
    snprintf(log_path, sizeof(log_path), "%s/export.log", dir);
    chio_keypair_generate(&kp, NULL);
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = "policy-export-bench";
    cfg.receipt_store_path = db;
    cfg.durability = strcmp(dur, "nosync") == 0 ? CHIO_DURABILITY_NOSYNC : CHIO_DURABILITY_SYNC;
    cfg.log = quiet;
    if (chio_kernel_new(&cfg, &k, NULL) != 0 || chio_kernel_start(k, NULL) != 0) {
        fprintf(stderr, "export-bench: cannot start the kernel on %s\n", db);
        return 1;
    }
    snprintf(subject, sizeof(subject), "chio.%s.receipts", chio_kernel_public_hex(k));
    if (chio__xp_open(urls, "CHIO", 5000, &t, why, sizeof(why)) != 0) {
        fprintf(stderr, "export-bench: %s\n", why);
        return 1;
    }
    {
        /* the stream first (as the exporter would make it), so that no
         * sample waits on a stream that is not there yet */
        static const char *const subjects[] = {"chio.*.receipts", "chio.*.checkpoints"};
        if (chio__xp_ensure_stream(t, subjects, 2, NULL, NULL) != 0) {
            fprintf(stderr, "export-bench: %s\n", chio__xp_errmsg(t));
            return 1;
        }
    }
    pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        if (batch != NULL)
            execl(cli, cli, "export", "--receipt-db", db, "--nats", urls, "--follow", "--batch",
                  batch, (char *)NULL);
        else
            execl(cli, cli, "export", "--receipt-db", db, "--nats", urls, "--follow", (char *)NULL);
        _exit(127);
    }
    csv = fopen(csv_path, "w");
    if (pid < 0 || csv == NULL)
        return 1;
    fprintf(csv, "ms,committed,acked,lag\n");
    th = calloc(nthreads, sizeof(*th));
    t0 = now_ms();
    for (i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, signer, k);
    end = t0 + seconds * 1000u;
    while (now_ms() < end) {
        nap_ms(100);
        a = stream_seq(t, subject, a);
        c = committed(k);
        fprintf(csv, "%llu,%llu,%llu,%llu\n", (unsigned long long)(now_ms() - t0),
                (unsigned long long)c, (unsigned long long)a,
                (unsigned long long)(c > a ? c - a : 0));
        if (c > a && c - a > max_lag)
            max_lag = c - a;
        sum_lag += c > a ? c - a : 0;
        samples++;
    }
    atomic_store(&stop_signing, 1);
    for (i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    done = now_ms();
    c_end = committed(k);
    a_end = stream_seq(t, subject, a);
    /* the exporter finishes what is left */
    while ((a = stream_seq(t, subject, a)) < c_end && now_ms() < done + 120000)
        nap_ms(10);
    caught_ms = now_ms() - done;
    kill(pid, SIGTERM);
    wait4(pid, &st, 0, &ru);
    cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    fclose(csv);
    printf("{\"seconds\":%.1f,\"threads\":%u,\"durability\":\"%s\",\"batch\":%s,"
           "\"kernel_receipts_per_sec\":%.0f,\"exported_receipts_per_sec\":%.0f,"
           "\"max_lag\":%llu,\"mean_lag\":%.0f,\"final_lag\":%llu,\"catch_up_ms\":%llu,"
           "\"caught_up\":%s,\"exporter_cpu_us_per_receipt\":%.1f,\"exporter_cpu_pct\":%.1f,"
           "\"sign_errors\":%llu,\"exporter_exit\":%d}\n",
           (double)(done - t0) / 1000.0, nthreads, dur, batch ? batch : "256",
           (double)c_end * 1000.0 / (double)(done - t0),
           (double)a_end * 1000.0 / (double)(done - t0), (unsigned long long)max_lag,
           samples ? (double)sum_lag / (double)samples : 0.0,
           (unsigned long long)(c_end > a_end ? c_end - a_end : 0), (unsigned long long)caught_ms,
           a >= c_end ? "true" : "false", a ? cpu_s * 1e6 / (double)a : 0.0,
           cpu_s * 100.0 * 1000.0 / (double)(now_ms() - t0),
           (unsigned long long)atomic_load(&sign_errors), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    chio__xp_close(t);
    chio_kernel_free(k);
    free(th);
    return a >= c_end ? 0 : 1;
}
