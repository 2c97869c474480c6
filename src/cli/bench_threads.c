/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/bench_threads.c - for `chio bench`'s report, read back from the
 * system about the kernel's threads in this process: which scheduling
 * policy the signer threads actually run under (a requested
 * signer_realtime the system refused is logged by the kernel; this says
 * what the measured run got), and each kind of thread's time on a CPU and
 * time runnable but waiting for one (/proc/self/task/TID/schedstat, in
 * nanoseconds), and the whole machine's idle and steal time over the
 * same phase (/proc/stat). Linux only: the threads are found by name
 * under /proc/self/task.
 */
#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"

/* The thread @tid's name into @name; 0, or -1 when it has exited. */
static int thread_name(const char *tid, char *name, size_t cap)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(name, (int)cap, f) == NULL)
        name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\n")] = '\0';
    return 0;
}

int cli_signers_realtime(void)
{
    char name[32];
    struct dirent *d;
    DIR *dir = opendir("/proc/self/task");
    int found = 0, all_fifo = 1;

    if (dir == NULL)
        return -1;
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.' || thread_name(d->d_name, name, sizeof(name)) != 0 ||
            strcmp(name, "chio-signer") != 0)
            continue;
        found = 1;
        if (sched_getscheduler((pid_t)atoi(d->d_name)) != SCHED_FIFO)
            all_fifo = 0;
    }
    closedir(dir);
    return found ? all_fifo : -1;
}

/* The kind of thread @name is, or -1 for one not the kernel's or RocksDB's
 * (the bench's callers and main thread). */
static int thread_kind(const char *name)
{
    static const char *const prefix[CLI_THREAD_KINDS] = {"chio-signer", "chio-commit",
                                                         "chio-checkpoint", "rocksdb:", "chio-"};
    int i;

    for (i = 0; i < CLI_THREAD_KINDS; i++)
        if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
            return i;
    return -1;
}

/* Add the thread @tid's schedstat (on-CPU and run-queue wait, ns) to @t. */
static void add_schedstat(const char *tid, int kind, cli_thread_times *t)
{
    unsigned long long run = 0, wait = 0;
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", tid);
    if ((f = fopen(path, "r")) == NULL)
        return;
    if (fscanf(f, "%llu %llu", &run, &wait) == 2) {
        t->oncpu_ns[kind] += (double)run;
        t->runq_ns[kind] += (double)wait;
        t->threads[kind]++;
        t->ok = 1;
    }
    fclose(f);
}

/* The machine's CPU time so far from /proc/stat's first line ("cpu"
 * user nice system idle iowait irq softirq steal ...; guest time is
 * already inside user and nice), in clock ticks, into @t. */
static void read_proc_stat(cli_thread_times *t)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int i;

    if (f == NULL)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) == 8) {
        for (i = 0; i < 8; i++)
            t->sys_total += v[i];
        t->sys_idle = v[3] + v[4];
        t->sys_steal = v[7];
        t->sys_ok = 1;
    }
    fclose(f);
}

void cli_thread_times_read(cli_thread_times *t)
{
    char name[32];
    struct dirent *d;
    DIR *dir;
    int kind;

    memset(t, 0, sizeof(*t));
    read_proc_stat(t);
    if ((dir = opendir("/proc/self/task")) == NULL)
        return;
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.' || thread_name(d->d_name, name, sizeof(name)) != 0)
            continue;
        if ((kind = thread_kind(name)) >= 0)
            add_schedstat(d->d_name, kind, t);
    }
    closedir(dir);
}

/* The machine's idle and steal shares between @a and @b (JSON members
 * with trailing commas, null when no clock tick passed, or a text line);
 * nothing when /proc/stat was unreadable. */
static void report_machine(const cli_thread_times *a, const cli_thread_times *b, int json)
{
    double total, idle, steal;

    if (!a->sys_ok || !b->sys_ok)
        return;
    if (b->sys_total <= a->sys_total) { /* a phase shorter than a tick */
        if (json)
            printf("\"machine_idle\":null,\"machine_steal\":null,");
        return;
    }
    total = (double)(b->sys_total - a->sys_total);
    idle = (double)(b->sys_idle - a->sys_idle) / total;
    steal = (double)(b->sys_steal - a->sys_steal) / total;
    if (json)
        printf("\"machine_idle\":%.3f,\"machine_steal\":%.3f,", idle, steal);
    else
        printf("  machine        CPUs idle %.1f%%, stolen %.1f%% over the calls (/proc/stat, "
               "all CPUs)\n",
               idle * 100, steal * 100);
}

/* Per call over the measured phase, between @a and @b: each kind's CPU in
 * microseconds, the callers' (the process's CPU less the kinds'), and the
 * signers' busy and waiting-for-a-CPU shares of the phase's wall time.
 * JSON members (each followed by a comma) or one text line. */
void cli_thread_times_report(const cli_thread_times *a, const cli_thread_times *b, double cpu_s,
                             double elapsed_s, uint64_t calls, int json)
{
    static const char *const key[CLI_THREAD_KINDS] = {"signer", "commit", "checkpoint", "rocksdb",
                                                      "other_kernel"};
    double us[CLI_THREAD_KINDS], rest = cpu_s * 1e6, busy = 0, wait = 0;
    int i, n = b->threads[0];

    report_machine(a, b, json);
    if (!a->ok || !b->ok || calls == 0 || elapsed_s <= 0)
        return;
    for (i = 0; i < CLI_THREAD_KINDS; i++) {
        us[i] = (b->oncpu_ns[i] - a->oncpu_ns[i]) / 1e3;
        rest -= us[i];
        us[i] /= (double)calls;
    }
    rest = rest > 0 ? rest / (double)calls : 0;
    if (n > 0) {
        busy = (b->oncpu_ns[0] - a->oncpu_ns[0]) / 1e9 / elapsed_s / n;
        wait = (b->runq_ns[0] - a->runq_ns[0]) / 1e9 / elapsed_s / n;
    }
    if (json) {
        printf("\"thread_cpu_per_call_us\":{");
        for (i = 0; i < CLI_THREAD_KINDS; i++)
            printf("\"%s\":%.2f,", key[i], us[i]);
        printf("\"callers\":%.2f},\"signer_busy\":%.3f,\"signer_waiting_for_cpu\":%.3f,", rest,
               busy, wait);
        return;
    }
    printf("  by thread      signer %.1f, commit %.1f, checkpoint %.1f, RocksDB %.1f, other "
           "kernel %.1f, callers %.1f us per call\n",
           us[0], us[1], us[2], us[3], us[4], rest);
    printf("  signer         busy %.0f%% of the run, runnable but off a CPU %.0f%%\n", busy * 100,
           wait * 100);
}
