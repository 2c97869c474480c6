/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/bench_limits.c - the reference measurements `chio bench` sets its
 * calls against, taken in the same run: the raw OpenSSL Ed25519 signing
 * rate on one thread, the same with every usable CPU signing at once,
 * a paced (cold-cache) signature, a bare 8 KiB write+fdatasync in the
 * store's directory, back to back or paced, and the CPU of one thread
 * hand-off (a futex wake and sleep) with a CPU idle and with all busy.
 *
 * None of these touch a kernel or a store: they are what the hardware
 * and the libraries underneath give a loop that does nothing else, so a
 * call's cost can be read as a multiple of them.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double cli_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Signs @len-byte messages in rounds of 64 for at least @secs seconds;
 * returns how many, and the thread's CPU seconds in *@cpu_s. */
static long sign_for(const chio_keypair *kp, const char *msg, size_t len, double secs,
                     double *cpu_s)
{
    uint8_t sig[64];
    double t0 = cli_bench_now(), c0 = thread_cpu_s();
    long n = 0, i;

    do {
        for (i = 0; i < 64; i++)
            chio_keypair_sign(kp, msg, len, sig);
        n += 64;
    } while (cli_bench_now() - t0 < secs);
    *cpu_s = thread_cpu_s() - c0;
    return n;
}

double cli_bench_raw_sign_rate(const chio_keypair *kp, size_t len)
{
    char *msg = malloc(len);
    double t0, el, cpu;
    long n;

    if (msg == NULL)
        return 0;
    memset(msg, 'x', len);
    t0 = cli_bench_now();
    n = sign_for(kp, msg, len, 1.0, &cpu);
    el = cli_bench_now() - t0;
    free(msg);
    return (double)n / el;
}

/* ---- paced references ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sleep until @due (seconds on cli_bench_now()'s clock) and return when the
 * thread woke, so the caller can see how late it ran. An absolute
 * CLOCK_MONOTONIC sleep with the thread's timer slack at 1 ns: Linux lets
 * a normal thread's timer fire up to 50 us late by default so that wake-ups
 * coalesce, which a load generator that counts latency from the due time
 * would charge to the calls it paces. */
double cli_bench_sleep_until(double due)
{
    static _Thread_local int slack_set;
    struct timespec ts;
    double t;

    if (!slack_set) {
        (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* best effort */
        slack_set = 1;
    }
    ts.tv_sec = (time_t)due;
    ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while ((t = cli_bench_now()) < due)
        (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    return t;
}

/* How many paced samples a reference measurement takes: about 2 s of them,
 * at least 9 and at most PACED_MAX. */
#define PACED_MAX 201

static int paced_samples(double period_s)
{
    int want = period_s > 0 ? (int)(2.0 / period_s) : 0;

    return want > PACED_MAX ? PACED_MAX : want < 9 ? 9 : want;
}

static double median(double *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

/* p50 of single signatures of @len bytes made one every @period_s seconds:
 * what a paced caller's signature costs when the CPU's caches have gone
 * cold between calls. *@late_us gets the p50 of how late this thread woke
 * after each due time: the timer and scheduler wake-up every paced call
 * also pays, since its latency counts from when it was due. */
double cli_bench_paced_sign_us(const chio_keypair *kp, size_t len, double period_s, double *late_us)
{
    uint8_t sig[64];
    double lat[PACED_MAX], late[PACED_MAX], due;
    char *msg = malloc(len);
    int n = 0, want = paced_samples(period_s);

    *late_us = 0;
    if (msg == NULL)
        return 0;
    memset(msg, 'x', len);
    due = cli_bench_now();
    while (n < want) {
        double t0;
        due += period_s;
        t0 = cli_bench_sleep_until(due);
        late[n] = (t0 - due) * 1e6;
        chio_keypair_sign(kp, msg, len, sig);
        lat[n++] = (cli_bench_now() - t0) * 1e6;
    }
    free(msg);
    *late_us = median(late, n);
    return median(lat, n);
}

/* p50 of a bare 8 KiB write + fdatasync in @dir, in microseconds (0 when
 * the directory cannot take a file): 64 back to back when @period_s is 0,
 * else one every @period_s seconds (the disk's path as cold as a paced
 * synchronous call finds it). */
double cli_bench_fsync_p50_us(const char *dir, double period_s)
{
    char path[4096], buf[8192];
    double lat[PACED_MAX], due = cli_bench_now();
    int fd, i, n = 0, want = period_s > 0 ? paced_samples(period_s) : 64;

    if ((size_t)snprintf(path, sizeof(path), "%s/.chio-bench-fsync", dir) >= sizeof(path))
        return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return 0;
    memset(buf, 'f', sizeof(buf));
    for (i = 0; i < want; i++) {
        double t0;
        if (period_s > 0)
            cli_bench_sleep_until(due += period_s);
        t0 = cli_bench_now();
        if (pwrite(fd, buf, sizeof(buf), (off_t)i * (off_t)sizeof(buf)) != (ssize_t)sizeof(buf) ||
            fdatasync(fd) != 0)
            break;
        lat[n++] = (cli_bench_now() - t0) * 1e6;
    }
    close(fd);
    unlink(path);
    return median(lat, n);
}

/* ---- every CPU signing at once ---------------------------------------------------------------
 * A call's CPU time is measured while every CPU works, and on a virtual
 * machine (or with SMT) a CPU's speed then depends on what its neighbour
 * runs: the single-thread rate above is a best case. This runs one signing
 * loop per CPU the process may use, started together, and reports the CPU each
 * signature took (thread CPU clocks) and the combined rate. */

#define ALL_CPUS_MAX 256

typedef struct all_cpus_go {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
} all_cpus_go;

typedef struct all_cpus_arg {
    const chio_keypair *kp;
    const char *msg;
    size_t len;
    all_cpus_go *start;
    long n;
    double cpu_s;
} all_cpus_arg;

static void *all_cpus_main(void *p)
{
    all_cpus_arg *a = p;

    pthread_mutex_lock(&a->start->mu);
    while (!a->start->go)
        pthread_cond_wait(&a->start->cv, &a->start->mu);
    pthread_mutex_unlock(&a->start->mu);
    a->n = sign_for(a->kp, a->msg, a->len, 1.0, &a->cpu_s);
    return NULL;
}

/* The CPUs this process may run on (its affinity mask; a cpuset or
 * taskset may allow fewer than are online), else the online count. */
static long usable_cpus(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

int cli_bench_sign_all_cpus(const chio_keypair *kp, size_t len, cli_sign_all_cpus *out)
{
    all_cpus_go start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    all_cpus_arg args[ALL_CPUS_MAX];
    pthread_t ts[ALL_CPUS_MAX];
    long ncpu = usable_cpus(), started = 0, i, n = 0;
    double t0, el, cpu = 0;
    char *msg;

    memset(out, 0, sizeof(*out));
    if (ncpu < 1)
        return -1;
    if (ncpu > ALL_CPUS_MAX)
        ncpu = ALL_CPUS_MAX;
    msg = malloc(len);
    if (msg == NULL)
        return -1;
    memset(msg, 'x', len);
    for (i = 0; i < ncpu; i++) {
        args[i] = (all_cpus_arg){kp, msg, len, &start, 0, 0};
        if (pthread_create(&ts[i], NULL, all_cpus_main, &args[i]) != 0)
            break;
        started++;
    }
    /* Released together, so that every loop runs beside the others. */
    pthread_mutex_lock(&start.mu);
    start.go = 1;
    pthread_cond_broadcast(&start.cv);
    pthread_mutex_unlock(&start.mu);
    t0 = cli_bench_now();
    for (i = 0; i < started; i++) {
        pthread_join(ts[i], NULL);
        n += args[i].n;
        cpu += args[i].cpu_s;
    }
    el = cli_bench_now() - t0;
    free(msg);
    if (started < ncpu || n <= 0 || el <= 0)
        return -1; /* fewer loops than CPUs measure something else */
    out->cpus = (int)started;
    out->cpu_us = cpu * 1e6 / (double)n;
    out->per_sec = (double)n / el;
    return 0;
}

/* ---- a thread hand-off -----------------------------------------------------------------------
 * What one synchronous hand-off between threads costs in CPU: a futex wake
 * of a sleeping thread, its switch in, and the waker's own sleep. Pairs of
 * threads pass a turn back and forth, each sleeping on a futex until it is
 * its turn. With one pair the other CPUs are idle, so each wake-up also
 * wakes an idle CPU (on a VM: a halted vCPU the hypervisor must start);
 * with four pairs per usable CPU every CPU stays busy, as in a loaded run.
 * The CPU is the pairs' own thread CPU time, over the hand-offs made. */

#define HANDOFF_ROUNDS 4000

typedef struct handoff_pair {
    _Atomic int turn; /* 0 or 1: whose turn it is */
    double cpu_s[2];
} handoff_pair;

typedef struct handoff_arg {
    handoff_pair *p;
    int me;
} handoff_arg;

static void *handoff_main(void *v)
{
    handoff_arg *a = v;
    _Atomic int *turn = &a->p->turn;
    double c0 = thread_cpu_s();
    int i;

    for (i = 0; i < HANDOFF_ROUNDS; i++) {
        int seen;
        while ((seen = atomic_load(turn)) != a->me)
            syscall(SYS_futex, turn, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        /* seq_cst store, then the wake: a partner that read the old turn
         * is either asleep (woken here) or sees the new value in the
         * kernel's futex check and does not sleep. */
        atomic_store(turn, 1 - a->me);
        syscall(SYS_futex, turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    a->p->cpu_s[a->me] = thread_cpu_s() - c0;
    return NULL;
}

/* CPU us per hand-off with @npairs pairs at once; 0 when threads fail. */
static double handoff_us(long npairs)
{
    handoff_pair *ps = calloc((size_t)npairs, sizeof(*ps));
    handoff_arg *as = calloc((size_t)npairs * 2, sizeof(*as));
    pthread_t *ts = calloc((size_t)npairs * 2, sizeof(*ts));
    long i, started = 0;
    double cpu = 0;

    if (ps == NULL || as == NULL || ts == NULL)
        goto out;
    for (i = 0; i < npairs * 2; i++) {
        as[i] = (handoff_arg){&ps[i / 2], (int)(i % 2)};
        if (pthread_create(&ts[i], NULL, handoff_main, &as[i]) != 0)
            break;
        started++;
    }
    if (started % 2 == 1)
        handoff_main(&as[started]); /* the side that did not start: played here */
    for (i = 0; i < started; i++)
        pthread_join(ts[i], NULL);
    if (started == npairs * 2)
        for (i = 0; i < npairs; i++)
            cpu += ps[i].cpu_s[0] + ps[i].cpu_s[1];
out:
    free(ps);
    free(as);
    free(ts);
    return cpu > 0 ? cpu * 1e6 / ((double)npairs * HANDOFF_ROUNDS * 2) : 0;
}

void cli_bench_handoff(double *idle_us, double *busy_us)
{
    long ncpu = usable_cpus();

    *idle_us = handoff_us(1);
    *busy_us = handoff_us(4 * (ncpu > 0 ? ncpu : 1));
}
