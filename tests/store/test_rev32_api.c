/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev32_api.c - review 32's API misuse sweep (suite
 * rev32_kapi, see tests/kernel/test_rev32_api.c): every store.h call with
 * NULL for each pointer, an empty path, a mode outside the enum, a file
 * where a store directory belongs, sequence numbers 0 and UINT64_MAX, and
 * an audit size below the struct's head. Each is a documented code with a
 * message; outputs are NULL after every failure.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev32api.h"

/* ---- the store --------------------------------------------------------------------------- */

static int visit_none(void *ctx, uint64_t seq, const char *json, size_t len)
{
    (void)ctx;
    (void)seq;
    (void)json;
    (void)len;
    return 0;
}

static void audit_none(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    (void)json;
    (void)len;
}

Test(rev32_kapi, store_calls_refuse_each_bad_argument)
{
    char *dir = testutil_tmpdir(), path[512], arch[512];
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_store *s = NULL, *none = (chio_store *)1;
    chio_error err;
    uint64_t a = 0, b = 0;
    char *json = NULL;
    size_t len = 0;
    chio_store_audit au;
    chio_store_audit_v2 au2;
    chio_archive_report ar;
    chio_receipt *r = NULL;

    snprintf(path, sizeof path, "%s/db", dir);
    snprintf(arch, sizeof arch, "%s/arch", dir);
    kt_config(&cfg, path);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    ERC(chio_kernel_sign_receipt(k, kt_builder(1), &r, &err), 0);
    char rid[CHIO_SHA256_HEX_LEN + 1];
    snprintf(rid, sizeof rid, "%s", chio_receipt_id(r));
    chio_receipt_free(r);
    chio_kernel_free(k);

    ERC(chio_store_open(NULL, CHIO_STORE_READ_ONLY, &none, &err), CHIO_EINVAL);
    cr_expect_null(none);
    ERC(chio_store_open(path, CHIO_STORE_READ_ONLY, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_open("", CHIO_STORE_READ_ONLY, &s, &err), CHIO_EINVAL);
    ERC(chio_store_open(path, (chio_store_mode)9, &s, &err), CHIO_EINVAL);
    ERC(chio_store_open(path, (chio_store_mode)-1, &s, &err), CHIO_EINVAL);
    /* A file where a store directory is expected: no store there (read
     * modes), a store error naming it (read-write). */
    char file[600];
    snprintf(file, sizeof file, "%s/plain", dir);
    cr_assert_eq(testutil_write_file(file, "x", 1, 0600), 0);
    ERC(chio_store_open(file, CHIO_STORE_READ_ONLY, &s, &err), CHIO_ENOTFOUND);
    ERC(chio_store_open(file, CHIO_STORE_SECONDARY, &s, &err), CHIO_ENOTFOUND);
    ERC(chio_store_open(file, CHIO_STORE_READ_WRITE, &s, &err), CHIO_ESTORE);
    cr_expect_null(s);
    chio_store_close(NULL);
    ERC(chio_store_catch_up(NULL, &err), CHIO_EINVAL);
    ERC(chio_store_seq_range(NULL, &a, &b, &err), CHIO_EINVAL);
    ERC(chio_store_last_checkpoint_seq(NULL, &a, &err), CHIO_EINVAL);
    json = (char *)1;
    ERC(chio_store_get_receipt(NULL, 1, &json, &len, &err), CHIO_EINVAL);
    cr_expect_null(json, "*json is NULL after every failure");
    json = (char *)1;
    ERC(chio_store_get_checkpoint(NULL, 1, &json, &len, &err), CHIO_EINVAL);
    cr_expect_null(json, "*json is NULL after every failure");
    ERC(chio_store_find_receipt(NULL, "x", &a, &err), CHIO_EINVAL);
    ERC(chio_store_scan(NULL, 0, visit_none, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_scan_checkpoints(NULL, 0, visit_none, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_archive(NULL, arch, 0, 0, 0, &ar, &err), CHIO_EINVAL);
    ERC(chio_store_audit_log(NULL, NULL, 0, NULL, NULL, &au, &err), CHIO_EINVAL);
    memset(&au2, 0, sizeof au2);
    au2.size = sizeof au2;
    ERC(chio_store_audit_log_v2(NULL, NULL, 0, NULL, NULL, &au2, &err), CHIO_EINVAL);
    ERC(chio_store_audit_seam(NULL, NULL, NULL, NULL, &a, &err), CHIO_EINVAL);

    ERC(chio_store_open(path, CHIO_STORE_READ_WRITE, &s, &err), 0);
    ERC(chio_store_catch_up(s, &err), CHIO_EINVAL);
    ERC(chio_store_seq_range(s, NULL, &b, &err), CHIO_EINVAL);
    ERC(chio_store_seq_range(s, &a, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_last_checkpoint_seq(s, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_get_receipt(s, 1, NULL, &len, &err), CHIO_EINVAL);
    ERC(chio_store_get_receipt(s, 0, &json, &len, &err), CHIO_ENOTFOUND);
    ERC(chio_store_get_receipt(s, UINT64_MAX, &json, &len, &err), CHIO_ENOTFOUND);
    ERC(chio_store_get_checkpoint(s, 0, NULL, &len, &err), CHIO_EINVAL);
    ERC(chio_store_get_checkpoint(s, UINT64_MAX, &json, &len, &err), CHIO_ENOTFOUND);
    cr_expect_null(json);
    ERC(chio_store_get_receipt(s, 1, &json, NULL, &err), 0);
    cr_expect_not_null(json);
    chio_free(json);
    ERC(chio_store_find_receipt(s, NULL, &a, &err), CHIO_EINVAL);
    ERC(chio_store_find_receipt(s, "x", NULL, &err), CHIO_EINVAL);
    /* A NULL @seq for an id that is stored (it was written through). */
    ERC(chio_store_find_receipt(s, rid, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_find_receipt(s, rid, &a, &err), 0);
    cr_expect_eq(a, 1);
    ERC(chio_store_find_receipt(s, "", &a, &err), CHIO_ENOTFOUND);
    ERC(chio_store_scan(s, 0, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_scan_checkpoints(s, 0, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_scan(s, UINT64_MAX, visit_none, NULL, &err), 0);
    ERC(chio_store_archive(s, NULL, 0, 0, 0, &ar, &err), CHIO_EINVAL);
    ERC(chio_store_archive(s, "", 0, 0, 0, &ar, &err), CHIO_EINVAL);
    ERC(chio_store_archive(s, arch, 0, 0, 0, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_audit_log(s, NULL, 1, audit_none, NULL, &au, &err), CHIO_EINVAL);
    ERC(chio_store_audit_log(s, NULL, 0, audit_none, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_audit_log(s, NULL, 0, NULL, NULL, &au, &err), 0);
    cr_expect_eq(au.receipts, 1);
    ERC(chio_store_audit_log_v2(s, NULL, 0, audit_none, NULL, NULL, &err), CHIO_EINVAL);
    au2.size = 0;
    ERC(chio_store_audit_log_v2(s, NULL, 0, audit_none, NULL, &au2, &err), CHIO_EINVAL);
    au2.size = 8;
    ERC(chio_store_audit_log_v2(s, NULL, 0, audit_none, NULL, &au2, &err), CHIO_EINVAL);
    au2.size = UINT32_MAX;
    ERC(chio_store_audit_log_v2(s, NULL, 1, audit_none, NULL, &au2, &err), CHIO_EINVAL);
    au2.size = sizeof au2;
    ERC(chio_store_audit_log_v2(s, NULL, 0, NULL, NULL, &au2, &err), 0);
    ERC(chio_store_audit_seam(NULL, s, audit_none, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_store_audit_seam(NULL, s, NULL, NULL, &a, &err), 0);
    chio_store_close(s);
    testutil_rmrf(dir);
    free(dir);
}
