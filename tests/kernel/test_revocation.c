/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_revocation.c - the bounds of the revocation list:
 * capability ids longer than CHIO_MAX_REVOCATION_ID_LEN are refused with
 * CHIO_ETOOBIG and store nothing; a full list refuses new ids with
 * CHIO_ELIMIT (the bound is lowered through a test hook, the count is
 * restored on reopen) while ids already listed still succeed; racing
 * revokers never pass the bound.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel_internal.h"

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(revocation, .init = setup, .fini = teardown);

static chio_kernel *kernel(void)
{
    chio_kernel_config cfg;

    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    return kt_kernel(&cfg);
}

static int count_one(void *ctx, const char *id, size_t len)
{
    (void)id;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

static int stored_revocations(void)
{
    chio_store *s;
    int n = 0;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_scan_revocations(s, count_one, &n, NULL), 0);
    chio_store_close(s);
    return n;
}

Test(revocation, ids_over_256_bytes_are_refused_and_store_nothing)
{
    chio_kernel *k = kernel();
    char id[CHIO_MAX_REVOCATION_ID_LEN + 2];
    chio_error err;

    cr_assert_eq(CHIO_MAX_REVOCATION_ID_LEN, 256);
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0'; /* 257 bytes */
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_revoke_capability(k, id, &err), CHIO_ETOOBIG);
    cr_expect_eq(err.code, CHIO_ETOOBIG);
    cr_expect(strstr(err.message, "257 bytes") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "256") != NULL, "%s", err.message);
    cr_expect_eq(chio_kernel_is_revoked(k, id), 0);
    id[CHIO_MAX_REVOCATION_ID_LEN] = '\0'; /* 256 bytes: fine */
    cr_expect_eq(chio_kernel_revoke_capability(k, id, NULL), 0);
    cr_expect_eq(chio_kernel_is_revoked(k, id), 1);
    /* a 900 KB id: refused before anything is written */
    {
        size_t big = 900 * 1024;
        char *huge = malloc(big + 1);
        cr_assert_not_null(huge);
        memset(huge, 'b', big);
        huge[big] = '\0';
        cr_expect_eq(chio_kernel_revoke_capability(k, huge, NULL), CHIO_ETOOBIG);
        free(huge);
    }
    chio_kernel_free(k);
    cr_expect_eq(stored_revocations(), 1);
}

Test(revocation, a_full_list_refuses_new_ids_also_after_reopen)
{
    chio_kernel *k = kernel();
    chio_error err;

    cr_assert_eq(CHIO_MAX_REVOCATIONS, 1000000);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio__kernel_set_max_revocations(k, 3);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-1", NULL), 0);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-2", NULL), 0);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-3", NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-4", &err), CHIO_ELIMIT);
    cr_expect(strstr(err.message, "full") != NULL, "%s", err.message);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-4"), 0);
    /* already listed: still a no-op success */
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-2", NULL), 0);
    chio_kernel_free(k);
    cr_expect_eq(stored_revocations(), 3);

    /* the count is restored from the store */
    k = kernel();
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio__kernel_set_max_revocations(k, 3);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-3"), 1);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-5", NULL), CHIO_ELIMIT);
    chio__kernel_set_max_revocations(k, 4);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-5", NULL), 0);
    chio_kernel_free(k);
    cr_expect_eq(stored_revocations(), 4);
}

typedef struct revoker {
    chio_kernel *k;
    int n, ok, limited;
} revoker;

static void *revoke_many(void *arg)
{
    revoker *r = arg;
    char id[64];
    int i, rc;

    for (i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "cap-%d-%d", r->n, i);
        rc = chio_kernel_revoke_capability(r->k, id, NULL);
        if (rc == 0)
            r->ok++;
        else if (rc == CHIO_ELIMIT)
            r->limited++;
    }
    return NULL;
}

Test(revocation, racing_revokers_never_pass_the_bound)
{
    chio_kernel *k = kernel();
    pthread_t th[4];
    revoker rs[4];
    int i, ok = 0, limited = 0;

    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio__kernel_set_max_revocations(k, 25);
    for (i = 0; i < 4; i++) {
        rs[i] = (revoker){k, i, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, revoke_many, &rs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += rs[i].ok;
        limited += rs[i].limited;
    }
    cr_expect_eq(ok, 25);
    cr_expect_eq(limited, 15);
    chio_kernel_free(k);
    cr_expect_eq(stored_revocations(), 25);
}
