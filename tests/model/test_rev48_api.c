/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev48_api.c - review 48 of the verifying calls' key
 * counts. chio_receipt_verify, chio_capability_verify and
 * chio_store_audit_log read @ntrusted keys of 32 bytes; a count whose
 * byte size overflows (SIZE_MAX) made them read out of bounds and crash
 * (SIGSEGV in chio_capability_verify), where docs/abi.md promised such a
 * count is refused. It is now CHIO_EINVAL, before a key is read. And
 * chio_store_archive() on a read-only live store refuses before it makes
 * anything.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define NOW 1710000300u

static uint64_t at_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

TestSuite(rev48_api);

Test(rev48_api, a_trusted_key_count_whose_size_overflows_is_einval)
{
    static const char *const tools[] = {"t"};
    static const uint8_t key[32];
    char *dir = testutil_tmpdir(), *db = NULL, sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k;
    chio_response r;
    chio_call c;
    chio_error err;
    chio_receipt_report rrep;
    chio_capability_report crep;
    chio_store_audit arep;
    chio_json_doc *vectors;
    const chio_json *tok;
    chio_capability *cap = NULL;
    chio_store *s = NULL;
    char *text;
    size_t len;

    /* a receipt from a real call */
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    k = kt_echo_kernel(db, at_now, "srv", tools, 1);
    kt_grant_session(k, NOW, "cap-48", "", sid);
    kt_grant_call(&c, sid, "cap-48", "{}", 2);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    memset(&rrep, 0, sizeof(rrep));
    cr_expect_eq(chio_receipt_verify(r.receipt, key, SIZE_MAX, &rrep), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_verify(r.receipt, key, 1, &rrep), 0);
    chio_response_destroy(&r);
    chio_kernel_free(k);

    /* a token from the vectors */
    vectors = testutil_load_vectors("chio-capability-v1.json");
    tok = chio_json_get(chio_json_at(chio_json_get(chio_json_root(vectors), "cases"), 0),
                        "capability");
    cr_assert_eq(chio_json_write_canonical(tok, &text, &len), 0);
    cr_assert_eq(chio_capability_parse(text, len, &cap, &err), 0, "%s", err.message);
    memset(&crep, 0, sizeof(crep));
    cr_expect_eq(chio_capability_verify(cap, NOW, key, SIZE_MAX, -1, &crep), CHIO_EINVAL);
    cr_expect_eq(chio_capability_verify(cap, NOW, key, 1, -1, &crep), 0);
    chio_capability_free(cap);
    chio_free(text);
    chio_json_doc_free(vectors);

    /* the store the call wrote */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    memset(&arep, 0, sizeof(arep));
    cr_expect_eq(chio_store_audit_log(s, key, SIZE_MAX, NULL, NULL, &arep, &err), CHIO_EINVAL);
    chio_store_close(s);
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

/* chio_store_archive on a live store opened read-only created the archive
 * log (a new RocksDB directory) and only then refused, once a receipt was
 * eligible; with nothing eligible it returned 0. It now refuses first,
 * whatever is eligible, and creates nothing. */
Test(rev48_api, archiving_from_a_read_only_store_is_refused_before_anything_is_made)
{
    static const char *const tools[] = {"t"};
    char *dir = testutil_tmpdir(), *db = NULL, *arch = NULL, sid[CHIO_SESSION_ID_LEN + 1];
    chio_archive_report rep;
    chio_kernel *k;
    chio_response r;
    chio_call c;
    chio_error err;
    chio_store *s = NULL;
    struct stat st;
    uint64_t older[] = {UINT64_MAX, 0};
    size_t i;

    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    cr_assert_geq(asprintf(&arch, "%s/arch", dir), 0);
    k = kt_echo_kernel(db, at_now, "srv", tools, 1);
    kt_grant_session(k, NOW, "cap-48", "", sid);
    kt_grant_call(&c, sid, "cap-48", "{}", 2);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    chio_response_destroy(&r);
    chio_kernel_free(k);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    for (i = 0; i < 2; i++) { /* every receipt eligible, then none */
        chio_error_init(&err);
        cr_expect_eq(chio_store_archive(s, arch, older[i], 0, 1, &rep, &err), CHIO_EINVAL,
                     "older_than %llu: %s", (unsigned long long)older[i], err.message);
        cr_expect_neq(stat(arch, &st), 0, "the archive log was made at %s", arch);
    }
    chio_store_close(s);
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(arch);
}
