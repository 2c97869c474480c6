/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev54_issue.c - review 54, issuing a capability from a
 * scope whose grant says "constraints": null. Issuing dropped the null
 * like any null optional, so the token was signed with no constraints (an
 * allow-all grant), while the kernel reads a presented token holding that
 * null as unusable (unsupported_grant). chio_capability_issue() and
 * chio_kernel_issue_capability() now refuse such a scope (CHIO_EFORMAT,
 * naming the field); the null optionals the kernel reads as absent
 * (max_invocations: null is unlimited, dpop_required and the cost caps)
 * are still dropped.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

TestSuite(rev54_issue);

#define GRANT_HEAD "{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]"

static chio_keypair *issuer_key(void)
{
    chio_keypair *kp = NULL;

    cr_assert_eq(chio_keypair_from_seed_hex(TK_KERNEL_SEED, strlen(TK_KERNEL_SEED), &kp, NULL), 0);
    return kp;
}

/* chio_capability_issue() of @scope; the token (or NULL) into *@out. */
static int issue(const char *scope, chio_capability **out, chio_error *err)
{
    chio_keypair *kp = issuer_key();
    int rc;

    chio_error_init(err);
    rc = chio_capability_issue(kp, "cap-54", TK_AGENT_PUB, scope, strlen(scope), 1710000000u, 1000,
                               out, err);
    chio_keypair_free(kp);
    return rc;
}

Test(rev54_issue, a_null_constraint_list_is_refused_when_issuing)
{
    static const char *const scopes[] = {
        "{\"grants\":[" GRANT_HEAD ",\"constraints\":null}]}",
        /* in a later grant, and next to other null optionals */
        "{\"grants\":[" GRANT_HEAD "}," GRANT_HEAD
        ",\"max_invocations\":null,\"constraints\":null}]}",
    };
    size_t i;

    for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        chio_capability *cap = (chio_capability *)1;
        chio_error err;
        int rc = issue(scopes[i], &cap, &err);

        cr_expect_eq(rc, CHIO_EFORMAT, "%s: %s (%s)", scopes[i], chio_errno_name(rc), err.message);
        cr_expect_null(cap, "%s", scopes[i]);
        cr_expect(strstr(err.message, "'constraints' is null") != NULL, "%s", err.message);
        if (rc == 0)
            chio_capability_free(cap);
    }
}

/* The other null optionals are read as absent by the kernel too: still
 * dropped, and max_invocations: null stays unlimited. An empty list is
 * no constraints, as written. */
Test(rev54_issue, the_other_null_optionals_are_still_dropped)
{
    static const char *const scopes[] = {
        "{\"grants\":[" GRANT_HEAD ",\"constraints\":[]}]}",
        "{\"grants\":[" GRANT_HEAD ",\"max_invocations\":null}]}",
        "{\"grants\":[" GRANT_HEAD ",\"dpop_required\":null,\"max_cost_per_invocation\":null,"
        "\"max_total_cost\":null}]}",
        "{\"grants\":[" GRANT_HEAD ",\"constraints\":[{\"type\":\"max_length\",\"value\":5}],"
        "\"max_invocations\":null}]}",
    };
    size_t i;

    for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        chio_capability *cap = NULL;
        chio_error err;
        const char *json;
        int rc = issue(scopes[i], &cap, &err);

        cr_assert_eq(rc, 0, "%s: %s (%s)", scopes[i], chio_errno_name(rc), err.message);
        json = chio_capability_json(cap, NULL);
        cr_expect(strstr(json, "null") == NULL, "%s: %s", scopes[i], json);
        chio_capability_free(cap);
    }
}

Test(rev54_issue, the_kernel_refuses_to_issue_a_null_constraint_list)
{
    static const char *const tools[] = {"t"};
    static const char scope[] = "{\"grants\":[" GRANT_HEAD ",\"constraints\":null}]}";
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_capability *cap = (chio_capability *)1;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_kernel_issue_capability(k, "cap-54k", TK_AGENT_PUB, scope, strlen(scope), 0, 100,
                                      &cap, &err);
    cr_expect_eq(rc, CHIO_EFORMAT, "%s (%s)", chio_errno_name(rc), err.message);
    cr_expect_null(cap);
    cr_expect(strstr(err.message, "'constraints' is null") != NULL, "%s", err.message);
    if (rc == 0)
        chio_capability_free(cap);
    chio_kernel_free(k);
}

/* Second review 54: a constraint of a type the kernel knows whose value
 * it cannot read (missing, null, the wrong type) made the grant unusable
 * on every call; issuing now refuses it. A type the kernel does not know
 * is still signed as written (another reader may know it; the kernel
 * refuses the grant). */
Test(rev54_issue, a_known_constraint_without_a_readable_value_is_refused_when_issuing)
{
    static const struct {
        const char *constraint;
        int rc;
    } rows[] = {
        {"{\"type\":\"path_prefix\"}", CHIO_EFORMAT},
        {"{\"type\":\"path_prefix\",\"value\":null}", CHIO_EFORMAT},
        {"{\"type\":\"domain_exact\",\"value\":123}", CHIO_EFORMAT},
        {"{\"type\":\"max_length\",\"value\":\"5\"}", CHIO_EFORMAT},
        {"{\"type\":\"custom\",\"value\":[\"env\"]}", CHIO_EFORMAT},
        {"{\"type\":\"future_kind\",\"value\":1}", 0},
        {"{\"type\":\"path_prefix\",\"value\":\"/w\"}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char scope[256];
        chio_capability *cap = NULL;
        chio_error err;
        int rc;

        snprintf(scope, sizeof(scope), "{\"grants\":[" GRANT_HEAD ",\"constraints\":[%s]}]}",
                 rows[i].constraint);
        rc = issue(scope, &cap, &err);
        cr_expect_eq(rc, rows[i].rc, "%s: %s (%s)", rows[i].constraint, chio_errno_name(rc),
                     err.message);
        if (rc == CHIO_EFORMAT)
            cr_expect(strstr(err.message, "no value the kernel can read") != NULL, "%s",
                      err.message);
        chio_capability_free(cap);
    }
}
