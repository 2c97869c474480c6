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

#define KEY_SEED "0909090909090909090909090909090909090909090909090909090909090909"
/* any 32 bytes of hex: the writer only copies the kernel key */
#define KEY_PUB "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

typedef struct fcase {
    const char *name;
    chio_verdict verdict;
    const char *reason, *guard;
    const char *params; /* canonical */
    const char *output; /* NULL: none */
    size_t nev;
    const char *parent;
    const char *orig_hash, *red_guard, *red_reason;
    chio_redaction_mode redaction;
    uint64_t red_count;
    const char *tool;
} fcase;

static const fcase cases[] = {
    {"allow", CHIO_VERDICT_ALLOW, NULL, NULL, "{\"path\":\"/w/a\"}", "{\"ok\":true}", 0, NULL, NULL,
     NULL, NULL, 0, 0, "read"},
    {"allow, evidence, no output", CHIO_VERDICT_ALLOW, NULL, NULL, "{}", NULL, 3, NULL, NULL, NULL,
     NULL, 0, 0, "read"},
    {"deny", CHIO_VERDICT_DENY, "path \"/etc\" is forbidden\n", "forbidden_path",
     "{\"path\":\"/etc/shadow\"}", NULL, 2, NULL, NULL, NULL, NULL, 0, 0, "read"},
    {"cancelled, nested", CHIO_VERDICT_CANCELLED, "the host cancelled", NULL, "[1,2,3]", NULL, 1,
     "parent-1", NULL, NULL, NULL, 0, 0, "sample"},
    {"incomplete", CHIO_VERDICT_INCOMPLETE, "stream cut", NULL, "\"x\"", "{\"n\":1}", 0, NULL, NULL,
     NULL, NULL, 0, 0, "stream"},
    {"redacted", CHIO_VERDICT_DENY, "secret", "secret_leak", "{\"k\":\"[redacted]\"}", NULL, 1,
     NULL, "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", "secret_leak", NULL,
     CHIO_REDACTION_REDACTED, 2, "read"},
    {"summary", CHIO_VERDICT_DENY, "too deep", "arguments", "{\"chio_omitted_arguments\":1}", NULL,
     0, NULL, "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34", NULL,
     "arguments too deep", CHIO_REDACTION_SUMMARY, 0, "read"},
    {"unicode and controls", CHIO_VERDICT_DENY, "caf\xc3\xa9 \xe2\x80\xae\x01\x1f", "g\xc3\xbc",
     "{\"\xc3\xa9\":\"\\u0000\"}", NULL, 2, "p\xc3\xa4", NULL, NULL, NULL, 0, 0, "t\xe2\x82\xac"},
};

static chio__evidence evs[] = {{"forbidden_path", 1, "path allowed"},
                               {"secret_leak", 0, NULL},
                               {"custom \"quoted\"", 1, "tab\there"}};

static void fill(const fcase *c, chio__receipt_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->timestamp = 1710000123;
    f->capability_id = "cap-\xc3\xa9-1";
    f->tool_server = "srv";
    f->tool_name = c->tool;
    f->params = c->params;
    f->params_len = strlen(c->params);
    f->params_canonical = 1;
    f->output = c->output;
    f->output_len = c->output ? strlen(c->output) : 0;
    f->verdict = c->verdict;
    f->reason = c->reason;
    f->guard = c->guard;
    f->ev = evs;
    f->nev = c->nev;
    f->request_id = "req-1";
    f->session_id = "sess-1";
    f->parent_request_id = c->parent;
    f->redaction = c->redaction;
    f->orig_hash = c->orig_hash;
    f->red_guard = c->red_guard;
    f->red_reason = c->red_reason;
    f->red_count = c->red_count;
}

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
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chio__receipt_fields f;
        chio__receipt_prep a, b;
        chio_receipt *ra, *rb;
        chio_receipt_report rep;
        chio_error err;
        const char *ma, *mb;
        size_t la, lb;
        uint8_t sig[64], pub[32];

        fill(&cases[i], &f);
        chio_error_init(&err);
        cr_assert_eq(chio__receipt_prepare(builder_for(&f), key, "policy-1", 0, &a, &err), 0,
                     "%s: builder: %s", cases[i].name, err.message);
        cr_assert_eq(chio__receipt_prepare_fields(&f, key, "policy-1", &b, &err), 0,
                     "%s: fields: %s", cases[i].name, err.message);
        ma = chio__receipt_prep_message(&a, &la);
        mb = chio__receipt_prep_message(&b, &lb);
        cr_expect(la == lb && memcmp(ma, mb, la) == 0, "%s: messages differ:\n%.*s\n%.*s",
                  cases[i].name, (int)la, ma, (int)lb, mb);
        cr_expect_str_eq(a.id, b.id, "%s", cases[i].name);
        cr_assert_eq(chio_keypair_sign(kp, ma, la, sig), 0);
        chio__receipt_prep_set_signature(&a, sig);
        chio__receipt_prep_set_signature(&b, sig);
        ra = chio__receipt_prep_finish(&a);
        rb = chio__receipt_prep_finish(&b);
        ma = chio_receipt_json(ra, &la);
        mb = chio_receipt_json(rb, &lb);
        cr_expect(la == lb && memcmp(ma, mb, la) == 0, "%s: stored forms differ", cases[i].name);
        /* the typed fields read like the parsed ones */
        cr_expect_str_eq(chio_receipt_id(rb), chio_receipt_id(ra));
        cr_expect_eq(chio_receipt_verdict(rb), cases[i].verdict);
        cr_expect_str_eq(chio_receipt_tool_name(rb), cases[i].tool);
        cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
        cr_assert_eq(chio_receipt_verify(rb, pub, 1, &rep), 0);
        cr_expect(rep.ok, "%s: does not verify", cases[i].name);
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

    fill(&cases[0], &f);
    f.tool_name = "bad\xc3"; /* cut UTF-8 */
    chio_error_init(&err);
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, &err), CHIO_EINVAL);
    cr_expect_null(p.r);
    fill(&cases[0], &f);
    f.verdict = CHIO_VERDICT_DENY; /* a deny needs its reason and guard */
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, NULL), CHIO_EINVAL);
    fill(&cases[0], &f);
    f.ev = bad_ev;
    f.nev = 1;
    cr_expect_eq(chio__receipt_prepare_fields(&f, KEY_PUB, "p", &p, NULL), CHIO_EINVAL);
    fill(&cases[0], &f);
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
