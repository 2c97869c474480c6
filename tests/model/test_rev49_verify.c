/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev49_verify.c - review 49: chio_receipt_verify's
 * report after an error. A host that ignores the return code and reads
 * the report must find ok and authorized 0, never what an earlier call
 * left in it (the report lives in the host's memory, often reused).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "common/failalloc.h"
#include "kernel/kernelutil.h"

static int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (c[i] != 0)
            return 0;
    return 1;
}

Test(rev49_verify, a_report_is_zeroed_when_verification_runs_out_of_memory)
{
    chio_receipt_builder *b = kt_builder(49);
    chio_keypair *kp = NULL;
    chio_receipt *before = NULL;
    chio_receipt_report good, rep;
    uint8_t pub[32];
    uint64_t nth;
    int rc, failed = 0;

    cr_assert(fa_active());
    chio_receipt_builder_set_timestamp(b, 1049);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-49"), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
    chio_error err;
    chio_error_init(&err);
    cr_assert_eq(chio_receipt_sign(b, kp, &before, &err), 0, "%s", err.message);
    cr_assert_eq(chio_receipt_verify(before, pub, 1, &good), 0);
    cr_assert(good.ok && good.authorized);
    /* Each allocation verification makes, failed in turn, on a freshly
     * signed receipt (a receipt caches its parse once read), with the
     * report holding the trusted allow of the call before. */
    for (nth = 1; nth < 64; nth++) {
        chio_receipt *r = NULL;

        cr_assert_eq(chio_receipt_sign(b, kp, &r, NULL), 0);
        memcpy(&rep, &good, sizeof(rep));
        fa_arm(nth, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_receipt_verify(r, pub, 1, &rep);
        fa_disarm();
        chio_receipt_free(r);
        if (rc == 0)
            break;
        failed++;
        /* OpenSSL's own allocations fail as CHIO_ECRYPTO */
        cr_assert(rc == CHIO_ENOMEM || rc == CHIO_ECRYPTO, "allocation %llu: rc %d",
                  (unsigned long long)nth, rc);
        cr_assert(all_zero(&rep, sizeof(rep)), "allocation %llu failed: the report kept %s",
                  (unsigned long long)nth, rep.ok ? "ok = 1" : "other fields");
    }
    cr_assert_gt(failed, 0, "no allocation of verification could be failed");
    cr_assert(all_zero(&rep, sizeof(rep)) == 0 && rep.ok, "the last, unfailed run verified");
    chio_receipt_free(before);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

Test(rev49_verify, a_report_is_zeroed_on_invalid_arguments)
{
    chio_receipt_builder *b = kt_builder(50);
    chio_keypair *kp = NULL;
    chio_receipt *r = NULL;
    chio_receipt_report good, rep;
    uint8_t pub[32];

    chio_receipt_builder_set_timestamp(b, 1050);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-49"), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, NULL), 0);
    cr_assert_eq(chio_receipt_verify(r, pub, 1, &good), 0);
    cr_assert(good.ok);
    memcpy(&rep, &good, sizeof(rep));
    cr_assert_eq(chio_receipt_verify(NULL, pub, 1, &rep), CHIO_EINVAL);
    cr_assert(all_zero(&rep, sizeof(rep)));
    memcpy(&rep, &good, sizeof(rep));
    cr_assert_eq(chio_receipt_verify(r, NULL, 1, &rep), CHIO_EINVAL);
    cr_assert(all_zero(&rep, sizeof(rep)));
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}
