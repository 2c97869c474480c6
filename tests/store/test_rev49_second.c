/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev49_second.c - review 49, second pass: the audit's
 * new problems (durable_checkpoint_lost, head_before_log_start, the first
 * API's unchained count) and a kernel's new start check must not flag an
 * honest log. Real kernels write the log: without WAL syncs, then with,
 * then without again, each restart archiving by age (retention_config)
 * while it signs; with checkpoints and without. Every live log and every
 * archive audits clean, through both audit APIs, and every restart is
 * taken.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

static char *dir, *live, *arch;

static void setup(void)
{
    dir = testutil_tmpdir();
    live = testutil_join(dir, "live");
    arch = testutil_join(dir, "archive");
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(live);
    free(arch);
}

TestSuite(rev49_second_audit, .init = setup, .fini = teardown);

static void show(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    fprintf(stderr, "problem: %.*s\n", (int)len, json);
}

/* One kernel's life: start (its retention pass runs), sign @n receipts
 * from @from, archive again, stop. */
static void run(uint64_t from, uint64_t n, chio_durability d, uint32_t cps)
{
    chio_kernel_config cfg;
    chio_archive_report rep;
    chio_kernel *k;

    kt_config(&cfg, live);
    cfg.checkpoint_batch_size = cps;
    cfg.durability = d;
    cfg.retention_config.enabled = 1;
    cfg.retention_config.retention_days = 1; /* every receipt (timestamps of 1970) */
    cfg.retention_config.archive_path = arch;
    k = kt_kernel(&cfg);
    kt_sign_range(k, from, n);
    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(chio_kernel_run_retention(k, &rep, NULL), 0);
    chio_kernel_free(k);
}

static uint64_t audit_clean(const char *path, int archive)
{
    uint64_t first;
    chio_store *s = NULL;
    chio_store_audit a;
    chio_store_audit_v2 v;

    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, NULL), 0, "%s", path);
    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    cr_assert_eq(chio_store_audit_log_v2(s, NULL, 0, show, NULL, &v, NULL), 0);
    /* an archive's one problem is that it is one (archive_log) */
    cr_expect_eq(v.log_problems, archive ? 1 : 0, "%s: log problems", path);
    cr_expect_eq(v.base.invalid, 0, "%s", path);
    cr_expect_eq(v.base.gaps, 0, "%s", path);
    cr_expect_eq(v.archive, archive, "%s", path);
    memset(&a, 0, sizeof(a));
    cr_assert_eq(chio_store_audit_log(s, NULL, 0, show, NULL, &a, NULL), 0);
    /* the first API counts an archive's missing head as a problem (archive_log)
     */
    if (!archive)
        cr_expect_eq(a.invalid, 0, "%s: the first audit API", path);
    chio_store_close(s);
    first = v.base.receipts > 0 ? v.base.first_seq : 0;
    return first;
}

static void lives(uint32_t cps)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    run(1, 9, CHIO_DURABILITY_NOSYNC, cps);
    run(10, 7, CHIO_DURABILITY_SYNC, cps);
    run(17, 6, CHIO_DURABILITY_NOSYNC, cps);
    run(23, 1, CHIO_DURABILITY_NOSYNC, cps);
    /* the last start takes the log (check_durable, restore) */
    kt_config(&cfg, live);
    cfg.checkpoint_batch_size = cps;
    k = kt_kernel(&cfg);
    chio_kernel_free(k);
    /* archiving did move receipts: the live log starts late, the archive at 1 */
    cr_expect_gt(audit_clean(live, 0), 1);
    cr_expect_eq(audit_clean(arch, 1), 1);
}

Test(rev49_second_audit, nosync_sync_nosync_lives_archiving_as_they_go_audit_clean)
{
    lives(2);
}

Test(rev49_second_audit, the_same_lives_without_checkpoints_audit_clean)
{
    lives(0);
}

Test(rev49_second_audit, the_same_lives_with_checkpoints_of_one_audit_clean)
{
    lives(1);
}
