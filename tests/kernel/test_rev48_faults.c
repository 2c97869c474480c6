/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev48_faults.c - review 48: the signing pipeline under
 * real faults of the disk, injected by a seccomp filter in a child
 * process (the kernel's own system calls answer EIO, as a disk reporting
 * a write-back error does): WAL syncs that fail (with and without synced
 * commits), WAL writes that fail, table files that cannot be written
 * (the memtable's flush). The child serves synchronous and asynchronous
 * callers across the fault and records what each got; the parent checks
 * that no call got a receipt the store lacks, that every callback ran
 * exactly once, that the kernel failed closed and said so, that drain
 * reports it, and that a new kernel starts on the log, holding every
 * receipt a caller got, and the CLI audit is clean.
 * Defects fixed: a failed store write outside the commit stage (a
 * revocation, the synced write behind a NOSYNC durability mark) left the
 * kernel serving, so the next call ran its tool though no receipt could
 * record it; a caller whose receipt's write failed was not told that the
 * kernel had failed closed.
 * Real kernel, RocksDB, Ed25519 and CLI.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/scenarios.h"

#define BATCH     10
#define BEFORE    25 /* receipts committed before the fault */
#define SYNC_THR  4
#define SYNC_EACH 8
#define ASYNC_N   24
#define MAX_ACK   60000 /* FAULT_TABLES signs until the store fails */

/* FAULT_EVAL: child_eval (tool calls on a NOSYNC kernel; WAL syncs fail). */
enum {
    FAULT_SYNC = 1,
    FAULT_WAL_WRITE = 2,
    FAULT_SYNC_NOSYNC = 3,
    FAULT_TABLES = 4,
    FAULT_EVAL = 5
};

/* What the child saw, in memory shared with the parent. */
typedef struct shared {
    int filtered;                  /* the seccomp filter is in place */
    int after_ok, after_err;       /* calls after the fault */
    int async_cbs[ASYNC_N];        /* callbacks per asynchronous request */
    int async_ok[ASYNC_N];         /* of them with a receipt */
    int async_bad;                 /* a callback with both an error and a receipt, or neither */
    int later_rc;                  /* a call after the failure */
    char later_msg[256];           /* its message */
    int drain_rc;                  /* chio_kernel_drain's result */
    int paced_ok, paced_first_err; /* FAULT_SYNC_NOSYNC, FAULT_TABLES: calls after the fault */
    int first_rc;                  /* the first synchronous call refused after the fault */
    char first_msg[256];           /* its message */
    int nack;                      /* receipts the callers were given */
    char ack[MAX_ACK][80];         /* their ids */
    pthread_mutex_t mu;
} shared;

static shared *sh;
static chio_kernel *kern;

static void ack(const chio_receipt *r)
{
    pthread_mutex_lock(&sh->mu);
    if (sh->nack < MAX_ACK)
        snprintf(sh->ack[sh->nack++], sizeof(sh->ack[0]), "%s", chio_receipt_id(r));
    pthread_mutex_unlock(&sh->mu);
}

static int sign_one(uint64_t n)
{
    chio_receipt *r = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_kernel_sign_receipt(kern, sc_builder(n), &r, &err);
    if (rc == 0 && r != NULL)
        ack(r);
    pthread_mutex_lock(&sh->mu);
    if (rc != 0 && sh->first_rc == 0 && sh->filtered) {
        sh->first_rc = rc;
        snprintf(sh->first_msg, sizeof(sh->first_msg), "%s", err.message);
    }
    pthread_mutex_unlock(&sh->mu);
    chio_receipt_free(r);
    return rc;
}

static void *sync_caller(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg;
    int i;

    for (i = 0; i < SYNC_EACH; i++) {
        int rc = sign_one(base + (uint64_t)i);
        pthread_mutex_lock(&sh->mu);
        if (rc == 0)
            sh->after_ok++;
        else
            sh->after_err++;
        pthread_mutex_unlock(&sh->mu);
    }
    return NULL;
}

static void async_done(void *ctx, int rc, chio_receipt *r)
{
    int i = (int)(uintptr_t)ctx;

    __atomic_add_fetch(&sh->async_cbs[i], 1, __ATOMIC_SEQ_CST);
    if ((rc == 0) != (r != NULL))
        __atomic_add_fetch(&sh->async_bad, 1, __ATOMIC_SEQ_CST);
    if (rc == 0 && r != NULL) {
        sh->async_ok[i] = 1;
        ack(r);
    }
    chio_receipt_free(r);
}

/* The descriptor of the store's newest WAL file (*.log), or -1. */
static int wal_fd(const char *db)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char link[512], target[512];
    int fd = -1;
    size_t dl = strlen(db);

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, db, dl) == 0 && n > 4 && strcmp(target + n - 4, ".log") == 0 &&
            strstr(target + dl, "LOG") == NULL)
            fd = atoi(e->d_name) > fd ? atoi(e->d_name) : fd;
    }
    closedir(d);
    return fd;
}

/* Every thread of this process: fsync and fdatasync fail with EIO
 * (FAULT_SYNC), or every write to descriptor @fd does (FAULT_WAL_WRITE). */
static int install_fault(int mode, int fd)
{
    struct sock_filter sync_f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fsync, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fdatasync, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
    };
    struct sock_filter write_f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwrite64, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_writev, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwritev, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
    };
    struct sock_filter tables_f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwrite64, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_writev, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwritev, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog;

    if (mode == FAULT_TABLES) {
        prog.len = (unsigned short)(sizeof(tables_f) / sizeof(tables_f[0]));
        prog.filter = tables_f;
    } else if (mode == FAULT_SYNC) {
        prog.len = (unsigned short)(sizeof(sync_f) / sizeof(sync_f[0]));
        prog.filter = sync_f;
    } else {
        prog.len = (unsigned short)(sizeof(write_f) / sizeof(write_f[0]));
        prog.filter = write_f;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

/* The child: a kernel on @db, BEFORE receipts, the fault, then callers. */
static void child(const char *db, int mode)
{
    chio_kernel_config cfg;
    chio_error err;
    pthread_t t[SYNC_THR];
    uint64_t i;
    int fd = -1;

    chio_error_init(&err);
    if (sc_config(&cfg, db) != 0)
        _exit(10);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = mode == FAULT_SYNC_NOSYNC || mode == FAULT_TABLES ? CHIO_DURABILITY_NOSYNC
                                                                       : CHIO_DURABILITY_SYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &kern, &err) != 0)
        _exit(11);
    for (i = 1; i <= BEFORE; i++)
        if (sign_one(i) != 0)
            _exit(12);
    if ((mode == FAULT_WAL_WRITE || mode == FAULT_TABLES) && (fd = wal_fd(db)) < 0)
        _exit(13);
    if (mode == FAULT_SYNC_NOSYNC)
        testutil_nap_ms(1100); /* past the mark's interval */
    if (install_fault(mode == FAULT_SYNC_NOSYNC ? FAULT_SYNC : mode, fd) != 0)
        _exit(14);
    sh->filtered = 1;
    if (mode == FAULT_TABLES) {
        uint64_t end = testutil_now_ms() + 40000;
        for (i = 0; i < 50000 && testutil_now_ms() < end; i++) {
            int rc = sign_one(10000 + i);
            if (rc != 0) {
                sh->paced_first_err = (int)i + 1;
                break;
            }
            sh->paced_ok++;
        }
    }
    if (mode == FAULT_SYNC_NOSYNC) {
        uint64_t end = testutil_now_ms() + 10000;
        for (i = 0; testutil_now_ms() < end; i++) {
            int rc = sign_one(10000 + i);
            if (rc != 0) {
                sh->paced_first_err = (int)i + 1;
                break;
            }
            sh->paced_ok++;
            testutil_nap_ms(10);
        }
    }
    for (i = 0; i < ASYNC_N; i++)
        if (chio_kernel_sign_receipt_async(kern, sc_builder(1000 + i), async_done,
                                           (void *)(uintptr_t)i, NULL) != 0)
            __atomic_add_fetch(&sh->async_cbs[i], 1000, __ATOMIC_SEQ_CST); /* refused: no cb */
    for (i = 0; i < SYNC_THR; i++)
        if (pthread_create(&t[i], NULL, sync_caller, (void *)(uintptr_t)(2000 + 100 * i)) != 0)
            _exit(15);
    for (i = 0; i < SYNC_THR; i++)
        pthread_join(t[i], NULL);
    {
        chio_receipt *r = NULL;
        chio_error e2;
        chio_error_init(&e2);
        sh->later_rc = chio_kernel_sign_receipt(kern, sc_builder(5000), &r, &e2);
        snprintf(sh->later_msg, sizeof(sh->later_msg), "%s", e2.message);
        if (r != NULL)
            ack(r);
        chio_receipt_free(r);
    }
    sh->drain_rc = chio_kernel_drain(kern, NULL);
    chio_kernel_free(kern);
    _exit(0);
}

static void child_eval(const char *db);

/* Run the child under @mode on @db; fails the test when it hangs (60 s)
 * or dies. */
static void run_child(const char *db, int mode)
{
    pid_t pid;
    int st = 0;
    uint64_t deadline;
    pthread_mutexattr_t ma;

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(sh, MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->mu, &ma);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0 && mode == FAULT_EVAL)
        child_eval(db);
    if (pid == 0)
        child(db, mode);
    deadline = testutil_now_ms() + 60000;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (testutil_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("the child hung (60 s) after the fault");
        }
        testutil_nap_ms(5);
    }
    cr_assert(WIFEXITED(st), "the child died (status %d)", st);
    cr_assert_eq(WEXITSTATUS(st), 0, "the child's setup failed at step %d", WEXITSTATUS(st));
}

/* What every fault must give: no receipt after it, each callback once,
 * the kernel failed closed, and a log a new kernel and the CLI accept,
 * holding every receipt a caller got. */
static void check_outcome(const char *db)
{
    chio_store *s = NULL;
    chio_error err;
    int i;

    cr_assert(sh->filtered);
    cr_expect_eq(sh->after_ok, 0, "%d synchronous calls got a receipt after the fault",
                 sh->after_ok);
    for (i = 0; i < ASYNC_N; i++) {
        cr_expect_eq(sh->async_cbs[i] % 1000 + sh->async_cbs[i] / 1000, 1,
                     "asynchronous request %d: %d callbacks (+1000 when refused)", i,
                     sh->async_cbs[i]);
        cr_expect_eq(sh->async_ok[i], 0, "asynchronous request %d got a receipt after the fault",
                     i);
    }
    cr_expect_eq(sh->async_bad, 0);
    /* The first refusal says the kernel failed closed, not only that one
     * receipt was not committed. */
    cr_expect(sh->first_rc == CHIO_ESTORE || sh->first_rc == CHIO_EFAILED, "first refusal: %d",
              sh->first_rc);
    cr_expect(strstr(sh->first_msg, "failed closed") != NULL, "first refusal: %s", sh->first_msg);
    cr_expect_eq(sh->later_rc, CHIO_EFAILED, "a call after the failure: %d (%s)", sh->later_rc,
                 sh->later_msg);
    cr_expect(strstr(sh->later_msg, "failed closed") != NULL, "message: %s", sh->later_msg);
    cr_expect_eq(sh->drain_rc, CHIO_EFAILED, "drain: %d", sh->drain_rc);
    /* Without WAL syncs on the commits, the calls before the failed sync
     * (the mark's, once a second) were answered, as NOSYNC promises. */
    cr_expect_eq(sh->nack, BEFORE + sh->paced_ok, "%d receipts acknowledged, %d before the fault",
                 sh->nack, BEFORE + sh->paced_ok);

    /* A new kernel starts on the log. */
    {
        char msg[512];
        int rc = kt_try_start(db, BATCH, msg, sizeof(msg));
        cr_expect_eq(rc, 0, "a new kernel on the log: %d (%s)", rc, msg);
    }
    /* Every acknowledged receipt is in it. */
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    for (i = 0; i < sh->nack; i++) {
        uint64_t seq = 0;
        cr_expect_eq(chio_store_find_receipt(s, sh->ack[i], &seq, &err), 0,
                     "acknowledged receipt %s is not in the log: %s", sh->ack[i], err.message);
    }
    chio_store_close(s);
    (void)kt_check_log_owed(db, BATCH, 2);
    {
        const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};
        cli_result r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 0, "audit: %s %s", r.out, r.err);
        testutil_cli_free(&r);
    }
}

Test(rev48_faults, a_wal_sync_that_fails_answers_every_caller_and_the_log_audits_clean)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");

    run_child(db, FAULT_SYNC);
    check_outcome(db);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

Test(rev48_faults, a_wal_write_that_fails_answers_every_caller_and_the_log_audits_clean)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");

    run_child(db, FAULT_WAL_WRITE);
    check_outcome(db);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

Test(rev48_faults, a_wal_sync_that_fails_without_synced_commits_fails_the_kernel_closed)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");

    run_child(db, FAULT_SYNC_NOSYNC);
    cr_expect_gt(sh->paced_first_err, 0, "the kernel still served 10 s after its WAL sync failed");
    check_outcome(db);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

/* ---- a failed store write outside the commit stage ------------------------------------------ */

#define NOW48 1710000300u

static uint64_t now48(void *ctx)
{
    (void)ctx;
    return NOW48;
}

static int tool_runs;

static int counting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    __atomic_add_fetch(&tool_runs, 1, __ATOMIC_SEQ_CST);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

/* A revocation whose write fails (here: the store directory removed under
 * the kernel, so the write lands in no log) tells the kernel its store
 * cannot commit: the kernel fails closed then, and the next call runs no
 * tool. Before, the kernel went on serving: the next call ran its tool
 * and only its receipt's commit failed the kernel closed, so a tool ran
 * that no receipt could record, after the kernel had been told. */
Test(rev48_faults, a_revocation_that_cannot_be_written_fails_the_kernel_closed_before_any_tool)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db"), sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    chio_response r;
    chio_error err;
    chio_call c;
    chio_kernel *k;
    int rc;

    kt_config(&cfg, db);
    cfg.clock = now48;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", 0, counting_tool);
    kt_grant_session(k, NOW48, "cap-48", "", sid);
    kt_grant_call(&c, sid, "cap-48", "{}", 2);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    cr_assert_eq(tool_runs, 1);

    testutil_rmrf(db);
    rc = chio_kernel_revoke_capability(k, "cap-48", &err);
    cr_assert_eq(rc, CHIO_ESTORE, "the revocation: %d (%s)", rc, err.message);
    cr_expect_neq(strstr(err.message, "receipt store"), NULL, "%s", err.message);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.failed, 1, "the kernel goes on serving after a failed store write");
    cr_expect_eq(m.write_errors, 1);

    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(k, &c, &r, &err);
    cr_expect_eq(rc, CHIO_EFAILED, "the next call: %d (%s)", rc, err.message);
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    cr_expect_eq(tool_runs, 1, "a tool ran after the kernel learnt its store cannot commit");
    cr_expect_eq(chio_kernel_drain(k, NULL), CHIO_EFAILED);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

Test(rev48_faults, table_files_that_cannot_be_written_fail_the_kernel_closed_without_a_hang)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");

    run_child(db, FAULT_TABLES);
    cr_expect_gt(sh->paced_first_err, 0, "no failure after %d receipts", sh->paced_ok);
    check_outcome(db);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

/* The child of the test below: a NOSYNC kernel serving srv/t through
 * counting_tool; BEFORE calls, the mark's interval, then WAL syncs fail
 * and calls go on until one is refused (10 s at most). */
static void child_eval(const char *db)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_response r;
    chio_call c;
    uint64_t end;
    int i, rc;

    if (sc_config(&cfg, db) != 0)
        _exit(10);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.clock = now48;
    if (chio_kernel_new(&cfg, &kern, NULL) != 0)
        _exit(11);
    kt_serve_t(kern, "srv", 0, counting_tool);
    kt_grant_session(kern, NOW48, "cap-48", "", sid);
    kt_grant_call(&c, sid, "cap-48", "{}", 2);
    for (i = 0; i < BEFORE; i++) {
        chio_response_init(&r);
        rc = chio_kernel_evaluate(kern, &c, &r, NULL);
        chio_response_destroy(&r);
        if (rc != 0)
            _exit(12);
    }
    testutil_nap_ms(1100); /* past the mark's interval */
    if (install_fault(FAULT_SYNC, -1) != 0)
        _exit(14);
    sh->filtered = 1;
    for (end = testutil_now_ms() + 10000; testutil_now_ms() < end;) {
        chio_kernel_metrics m;
        uint64_t wait_end;
        chio_response_init(&r);
        rc = chio_kernel_evaluate(kern, &c, &r, NULL);
        if (rc == 0 && r.receipt != NULL)
            sh->paced_ok++;
        chio_response_destroy(&r);
        if (rc != 0) {
            sh->paced_first_err = rc;
            break;
        }
        /* A call that completed a checkpoint: wait until it is written
         * (signed off the commit stage, written by a later group), so that
         * the next call comes after its mark's sync. */
        chio_kernel_metrics_get(kern, &m);
        if (m.last_seq % BATCH != 0)
            continue;
        for (wait_end = testutil_now_ms() + 10000; testutil_now_ms() < wait_end;) {
            chio_kernel_metrics_get(kern, &m);
            if (m.last_checkpoint_seq >= m.last_seq / BATCH || m.failed)
                break;
            testutil_nap_ms(1);
        }
    }
    sh->after_ok = __atomic_load_n(&tool_runs, __ATOMIC_SEQ_CST) - BEFORE; /* tools run */
    sh->drain_rc = chio_kernel_drain(kern, NULL);
    chio_kernel_free(kern);
    _exit(0);
}

/* Without WAL syncs on the commits, the store's WAL is synced when the
 * durability mark moves (once a second, with a checkpoint). When that
 * sync fails, what is on disk is unknown: the kernel fails closed then,
 * and the next call runs no tool. Before, the failure only made the
 * mark stay behind: the next call ran its tool and only its receipt's
 * commit (refused by RocksDB since) failed the kernel closed. */
Test(rev48_faults, a_failed_sync_of_the_durability_mark_fails_the_kernel_closed_before_any_tool)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");

    run_child(db, FAULT_EVAL);
    cr_assert(sh->filtered);
    cr_expect_eq(sh->paced_first_err, CHIO_EFAILED,
                 "the first refused call: %d (CHIO_EFAILED: refused before its tool ran)",
                 sh->paced_first_err);
    cr_expect_eq(sh->after_ok, sh->paced_ok,
                 "%d tools ran after the fault for %d answered calls: one ran that no receipt "
                 "could record",
                 sh->after_ok, sh->paced_ok);
    cr_expect_eq(sh->drain_rc, CHIO_EFAILED);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}
