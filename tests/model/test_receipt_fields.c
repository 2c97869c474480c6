/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_receipt_fields.c - the kernel's one-pass receipt writer
 * (chio__receipt_prepare_fields) against the builder path
 * (chio__receipt_prepare): the same fields give byte-identical signing
 * messages, ids and stored forms, over a table of decisions, evidence,
 * request contexts, redaction metadata, escapes and non-ASCII text; and
 * what the builder refuses (text that is not UTF-8, a decision that does
 * not fit its verdict) the writer refuses too, with nothing prepared.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "model.h"
#include "model/receipt_cases.h"

#define KEY_SEED "0909090909090909090909090909090909090909090909090909090909090909"
/* any 32 bytes of hex: the writer only copies the kernel key */
#define KEY_PUB "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

/* The same receipt through the public builder and the kernel's setters. */
static chio_receipt_builder *builder_for(const chio__receipt_fields *f)
{
    chio_receipt_builder *b;
    char hash[65];
    size_t i;

    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, f->timestamp), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, f->capability_id), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, f->tool_server, f->tool_name), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, f->params, f->params_len, NULL), 0);
    if (f->output != NULL) {
        cr_assert_eq(chio_sha256_hex(f->output, f->output_len, hash), 0);
        cr_assert_eq(chio_receipt_builder_set_content_hash(b, hash), 0);
    }
    cr_assert_eq(chio_receipt_builder_set_decision(
                     b, f->verdict, f->verdict == CHIO_VERDICT_ALLOW ? NULL : f->reason,
                     f->verdict == CHIO_VERDICT_DENY ? f->guard : NULL),
                 0);
    for (i = 0; i < f->nev; i++)
        cr_assert_eq(
            chio_receipt_builder_add_evidence(b, f->ev[i].name, f->ev[i].passed, f->ev[i].details),
            0);
    cr_assert_eq(
        chio__receipt_builder_set_context(b, f->request_id, f->session_id, f->parent_request_id),
        0);
    if (f->orig_hash != NULL) {
        cr_assert_eq(chio_receipt_builder_set_redaction_mode(b, f->redaction), 0);
        cr_assert_eq(chio__receipt_builder_set_redaction(b, f->orig_hash, f->red_guard,
                                                         f->red_count, f->red_reason),
                     0);
    }
    return b;
}

TestSuite(receipt_fields);

Test(receipt_fields, the_one_pass_writer_matches_the_builder_byte_for_byte)
{
    chio_keypair *kp;
    const char *key;
    size_t i;

    cr_assert_eq(chio_keypair_from_seed_hex(KEY_SEED, 64, &kp, NULL), 0);
    key = chio_keypair_public_hex(kp);
    for (i = 0; i < receipt_ncases; i++) {
        chio__receipt_fields f;
        chio__receipt_prep a, b;
        chio_receipt *ra, *rb;
        chio_receipt_report rep;
        chio_error err;
        const char *ma, *mb;
        size_t la, lb;
        uint8_t sig[64], pub[32];

        receipt_case_fill(&receipt_cases[i], &f);
        chio_error_init(&err);
        cr_assert_eq(chio__receipt_prepare(builder_for(&f), key, "policy-1", 0, &a, &err), 0,
                     "%s: builder: %s", receipt_cases[i].name, err.message);
        cr_assert_eq(chio__receipt_prepare_fields(&f, key, "policy-1", &b, &err), 0,
                     "%s: fields: %s", receipt_cases[i].name, err.message);
        ma = chio__receipt_prep_message(&a, &la);
        mb = chio__receipt_prep_message(&b, &lb);
        cr_expect(la == lb && memcmp(ma, mb, la) == 0, "%s: messages differ:\n%.*s\n%.*s",
                  receipt_cases[i].name, (int)la, ma, (int)lb, mb);
        cr_expect_str_eq(a.id, b.id, "%s", receipt_cases[i].name);
        cr_assert_eq(chio_keypair_sign(kp, ma, la, sig), 0);
        chio__receipt_prep_set_signature(&a, sig);
        chio__receipt_prep_set_signature(&b, sig);
        ra = chio__receipt_prep_finish(&a);
        rb = chio__receipt_prep_finish(&b);
        ma = chio_receipt_json(ra, &la);
        mb = chio_receipt_json(rb, &lb);
        cr_expect(la == lb && memcmp(ma, mb, la) == 0, "%s: stored forms differ",
                  receipt_cases[i].name);
        /* the typed fields read like the parsed ones */
        cr_expect_str_eq(chio_receipt_id(rb), chio_receipt_id(ra));
        cr_expect_eq(chio_receipt_verdict(rb), receipt_cases[i].verdict);
        cr_expect_str_eq(chio_receipt_tool_name(rb), receipt_cases[i].tool);
        cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
        cr_assert_eq(chio_receipt_verify(rb, pub, 1, &rep), 0);
        cr_expect(rep.ok, "%s: does not verify", receipt_cases[i].name);
        chio_receipt_free(ra);
        chio_receipt_free(rb);
    }
    chio_keypair_free(kp);
}

Test(receipt_fields, what_the_builder_refuses_the_writer_refuses)
{
    chio__receipt_fields f;
    chio__receipt_prep p;
    chio_error err;
    static chio__evidence bad_ev[] = {{"g\xff", 1, NULL}};

    receipt_case_fill(&receipt_cases[0], &f);
    f.tool_name = "bad\xc3"; /* cut UTF-8 */
    chio_error_init(&err);
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, &err), CHIO_EINVAL);
    cr_expect_null(p.r);
    receipt_case_fill(&receipt_cases[0], &f);
    f.verdict = CHIO_VERDICT_DENY; /* a deny needs its reason and guard */
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, NULL), CHIO_EINVAL);
    receipt_case_fill(&receipt_cases[0], &f);
    f.ev = bad_ev;
    f.nev = 1;
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, NULL), CHIO_EINVAL);
    receipt_case_fill(&receipt_cases[0], &f);
    f.params = "{\"b\":1,\"a\":2}"; /* not canonical: written canonically */
    f.params_len = strlen(f.params);
    f.params_canonical = 0;
    cr_assert_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, NULL), 0);
    {
        size_t len;
        const char *m = chio__receipt_prep_message(&p, &len);
        cr_expect(strstr(m, "\"parameters\":{\"a\":2,\"b\":1}") != NULL, "%s", m);
    }
    chio__receipt_prep_destroy(&p);
}
