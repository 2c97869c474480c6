/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev55_api.c - review 5 of stop 55, the public API as
 * an FFI host misuses it: a NULL output with a length is refused by the
 * receipt builder (it reset content_hash to "no output"); a capability
 * report is zeroed on argument errors too (ok read the caller's stack); a
 * server or provider id "*" is refused (grants read it as any server,
 * receipts as no provider); a tool server with only invoke_stream
 * registers (the header said otherwise); a drained kernel issues no
 * capability (it still signed tokens another kernel with its key takes).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define SCOPE "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"

static const char *content_hash(const chio_receipt *r)
{
    const chio_json *body = chio_receipt_root(r);
    const chio_json *h = chio_json_get(body, "content_hash");

    if (h == NULL) /* the signed envelope carries the body under "body" */
        h = chio_json_get(chio_json_get(body, "body"), "content_hash");
    return h != NULL ? chio_json_string(h, NULL) : NULL;
}

Test(rev55_api, a_null_output_with_a_length_is_refused_and_the_hash_kept)
{
    chio_receipt_builder *b = kt_builder(1);
    chio_keypair *kp = NULL;
    chio_receipt *r1 = NULL, *r2 = NULL;

    cr_assert_eq(chio_keypair_from_seed_hex(TK_KERNEL_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "p"), 0);
    cr_assert_eq(chio_receipt_builder_set_output(b, "{\"a\":1}", 7, NULL), 0);
    chio_error err;
    cr_assert_eq(chio_receipt_sign(b, kp, &r1, &err), 0, "%s", err.message);
    cr_expect_eq(chio_receipt_builder_set_output(b, NULL, 12, NULL), CHIO_EINVAL);
    cr_assert_eq(chio_receipt_sign(b, kp, &r2, NULL), 0);
    cr_assert_not_null(content_hash(r1));
    cr_expect_str_eq(content_hash(r2), content_hash(r1));
    /* NULL with 0 still means no output */
    cr_expect_eq(chio_receipt_builder_set_output(b, NULL, 0, NULL), 0);
    chio_receipt_free(r1);
    chio_receipt_free(r2);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

static int nop_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    (void)out;
    return 0;
}

Test(rev55_api, ids_star_are_refused_and_a_stream_only_server_registers)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    const char *tools[] = {"t"};
    chio_tool_server ts;
    chio_resource_provider rp;
    chio_prompt_provider pp;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "*";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, NULL), CHIO_EINVAL);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "*";
    rp.read = nop_read;
    cr_expect_eq(chio_kernel_register_resource_provider(k, &rp, NULL), CHIO_EINVAL);
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "*";
    cr_expect_eq(chio_kernel_register_prompt_provider(k, &pp, NULL), CHIO_EINVAL);
    /* an id holding a star is an id */
    rp.provider_id = "p*";
    cr_expect_eq(chio_kernel_register_resource_provider(k, &rp, NULL), 0);
    /* invoke_stream alone is a server; neither is not */
    ts.server_id = "streamer";
    ts.invoke = NULL;
    ts.invoke_stream = kt_echo_tool;
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    ts.server_id = "nothing";
    ts.invoke_stream = NULL;
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, NULL), CHIO_EINVAL);
    chio_kernel_free(k);
}

Test(rev55_api, capability_report_is_zeroed_on_argument_errors_and_drain_stops_issuing)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_capability *cap = NULL, *late = (chio_capability *)1;
    chio_capability_report rep;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_issue_capability(k, "c1", TK_AGENT_PUB, SCOPE, strlen(SCOPE), 0, 60,
                                              &cap, NULL),
                 0);
    memset(&rep, 0x5a, sizeof(rep));
    cr_expect_eq(chio_capability_verify(cap, 0, NULL, 3, -1, &rep), CHIO_EINVAL);
    cr_expect_eq(rep.ok, 0, "ok %d after CHIO_EINVAL", rep.ok);
    memset(&rep, 0x5a, sizeof(rep));
    cr_expect_eq(chio_capability_verify(NULL, 0, NULL, 0, -1, &rep), CHIO_EINVAL);
    cr_expect_eq(rep.ok, 0);

    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    cr_expect_eq(chio_kernel_issue_capability(k, "c2", TK_AGENT_PUB, SCOPE, strlen(SCOPE), 0, 60,
                                              &late, NULL),
                 CHIO_EDRAINED);
    cr_expect_null(late);
    chio_capability_free(cap);
    chio_kernel_free(k);
}
