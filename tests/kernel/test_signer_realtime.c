/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_signer_realtime.c - chio_kernel_config.signer_realtime:
 * the range check, the signer threads (and only they) running SCHED_FIFO
 * when the system permits it, and a refusal that is logged once while the
 * kernel goes on signing. The refusal is made certain in a child process
 * that drops CAP_SYS_NICE and sets RLIMIT_RTPRIO to 0.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(signer_realtime, .init = setup, .fini = teardown);

static char *db_path(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* The ids of this process's threads named @name, at most @cap of them;
 * returns how many were found. */
static int threads_named(const char *name, pid_t *tids, int cap)
{
    char path[300], comm[32];
    struct dirent *d;
    DIR *dir_ = opendir("/proc/self/task");
    int n = 0;
    FILE *f;

    cr_assert_not_null(dir_);
    while (n < cap && (d = readdir(dir_)) != NULL) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue; /* the thread has exited */
        if (fgets(comm, sizeof(comm), f) == NULL)
            comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, name) == 0)
            tids[n++] = (pid_t)atoi(d->d_name);
    }
    closedir(dir_);
    return n;
}

/* The scheduling policy shared by this process's threads named @name:
 * SCHED_* when they all agree, -2 when they differ, -1 when there is none. */
static int policy_of_threads(const char *name)
{
    pid_t tids[64];
    int n = threads_named(name, tids, 64), found = -1, pol, i;

    for (i = 0; i < n; i++) {
        if ((pol = sched_getscheduler(tids[i])) < 0)
            continue; /* exited meanwhile */
        found = found == -1 || found == pol ? pol : -2;
    }
    return found;
}

/* One thread named chio-signer; 0 when there is none. */
static pid_t signer_tid(void)
{
    pid_t tid = 0;

    return threads_named("chio-signer", &tid, 1) == 1 ? tid : 0;
}

static int a_signer_runs(void *arg)
{
    (void)arg;
    return signer_tid() != 0;
}

/* Counts the log lines naming the refusal. */
typedef struct {
    int refusals;
} log_seen;

static void on_log(void *ctx, chio_log_level level, const char *json, size_t len)
{
    log_seen *s = ctx;

    (void)len;
    if (level == CHIO_LOG_WARN && strstr(json, "\"signer_realtime_not_applied\"") != NULL)
        __atomic_add_fetch(&s->refusals, 1, __ATOMIC_SEQ_CST);
}

static int refusal_logged(void *arg)
{
    return __atomic_load_n(&((log_seen *)arg)->refusals, __ATOMIC_SEQ_CST) > 0;
}

static int signers_fifo(void *arg)
{
    (void)arg;
    return policy_of_threads("chio-signer") == SCHED_FIFO;
}

static void config_rejected(int value)
{
    char *path = db_path("range");
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;

    kt_config(&cfg, path);
    cfg.signer_realtime = value;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_new(&cfg, &k, &err), CHIO_ECONFIG, "signer_realtime %d", value);
    cr_expect_not_null(strstr(err.message, "signer_realtime"), "%s", err.message);
    cr_expect_null(k);
    free(path);
}

Test(signer_realtime, values_outside_0_to_99_are_refused_naming_the_field)
{
    config_rejected(-1);
    config_rejected(100);
    config_rejected(1 << 20);
}

Test(signer_realtime, the_padding_beside_it_must_be_zero)
{
    char *path = db_path("pad");
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;

    kt_config(&cfg, path);
    cfg.reserved_int = 1;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_new(&cfg, &k, &err), CHIO_ECONFIG);
    cr_expect_not_null(strstr(err.message, "reserved_int"), "%s", err.message);
    free(path);
}

Test(signer_realtime, off_by_default_the_signer_runs_under_the_normal_scheduler)
{
    char *path = db_path("off");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;

    kt_config(&cfg, path);
    cr_expect_eq(cfg.signer_realtime, 0);
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(1), &r, NULL), 0);
    chio_receipt_free(r);
    /* A thread names itself once it runs: poll for the name. */
    cr_assert(testutil_wait_until(a_signer_runs, NULL, 10000), "a signer thread runs");
    cr_expect_eq(policy_of_threads("chio-signer"), SCHED_OTHER);
    chio_kernel_free(k);
    free(path);
}

/* Applied where permitted (root with CAP_SYS_NICE, or RLIMIT_RTPRIO), to
 * the signers only; where not, the refusal is logged and signing goes on.
 * Either way the outcome is checked, never assumed. */
Test(signer_realtime, signers_run_sched_fifo_or_the_refusal_is_logged)
{
    char *path = db_path("on");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;
    log_seen seen = {0};
    chio_error err;
    struct sched_param sp;
    int i, applied = 0;

    kt_config(&cfg, path);
    cfg.signer_realtime = 3;
    cfg.signer_threads = 2;
    cfg.log = on_log;
    cfg.log_ctx = &seen;
    cfg.log_level = CHIO_LOG_WARN;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    /* Each signer applies the policy to itself as it starts: wait for
     * either outcome. */
    for (i = 0; i < 10000 && !signers_fifo(NULL) && !refusal_logged(&seen); i++)
        usleep(1000);
    if (refusal_logged(&seen)) {
        cr_log_info("SCHED_FIFO refused here; the logged refusal was checked");
        cr_expect_eq(policy_of_threads("chio-signer"), SCHED_OTHER);
    } else {
        /* Both signers, each at the priority asked for. */
        cr_assert(testutil_wait_until(signers_fifo, NULL, 10000), "the signers are SCHED_FIFO");
        applied = 1;
    }
    for (i = 0; i < 50; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    if (applied) {
        /* Every thread has run by now; only the signers changed policy. */
        cr_expect_eq(policy_of_threads("chio-signer"), SCHED_FIFO);
        cr_expect_eq(policy_of_threads("chio-commit"), SCHED_OTHER, "not the commit thread");
        cr_expect_eq(policy_of_threads("chio-complete"), SCHED_OTHER, "not the completer");
        cr_expect_eq(sched_getscheduler(0), SCHED_OTHER, "not the thread that built it");
        memset(&sp, 0, sizeof(sp));
        cr_expect_eq(sched_getparam(signer_tid(), &sp), 0);
        cr_expect_eq(sp.sched_priority, 3, "the priority asked for");
    }
    chio_kernel_free(k);
    cr_expect_eq(kt_check_log(path, cfg.checkpoint_batch_size).receipts, 50);
    free(path);
}

/* Drops CAP_SYS_NICE from this (child) process's effective and permitted
 * sets; 0, or -1. */
static int drop_sys_nice(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0)
        return -1;
    data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
    data[CAP_SYS_NICE / 32].permitted &= ~(1u << (CAP_SYS_NICE % 32));
    data[CAP_SYS_NICE / 32].inheritable &= ~(1u << (CAP_SYS_NICE % 32));
    return syscall(SYS_capset, &hdr, data) == 0 ? 0 : -1;
}

/* The child's checks, as an exit code: 0 when all held. */
static int refused_child(const char *path)
{
    struct rlimit none = {0, 0};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_receipt *r;
    log_seen seen = {0};
    chio_error err;
    int i;

    if (drop_sys_nice() != 0 || setrlimit(RLIMIT_RTPRIO, &none) != 0)
        return 10;
    kt_config(&cfg, path);
    cfg.signer_realtime = 10;
    cfg.signer_threads = 3;
    cfg.log = on_log;
    cfg.log_ctx = &seen;
    cfg.log_level = CHIO_LOG_WARN;
    chio_error_init(&err);
    if (chio_kernel_new(&cfg, &k, &err) != 0 || chio_kernel_start(k, &err) != 0)
        return 11;
    if (!testutil_wait_until(refusal_logged, &seen, 10000))
        return 12;
    for (i = 0; i < 20; i++) {
        if (chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL) != 0)
            return 13;
        chio_receipt_free(r);
    }
    if (policy_of_threads("chio-signer") != SCHED_OTHER)
        return 14;
    chio_kernel_free(k);
    /* Three signers refused, one line: logged once per kernel. */
    return __atomic_load_n(&seen.refusals, __ATOMIC_SEQ_CST) == 1 ? 0 : 15;
}

Test(signer_realtime, a_refusal_is_logged_once_and_the_kernel_signs_on)
{
    char *path = db_path("refused");
    int status = 0;
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(refused_child(path));
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the child exited (status %d)", status);
    cr_expect_eq(WEXITSTATUS(status), 0,
                 "child check %d failed (10 set-up, 11 start, 12 no refusal logged, 13 sign, "
                 "14 policy, 15 not exactly one line)",
                 WEXITSTATUS(status));
    cr_expect_eq(kt_check_log(path, CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE).receipts, 20);
    free(path);
}
