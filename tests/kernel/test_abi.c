/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_abi.c - issue 13, the evolvable ABI (chio/abi.h): input
 * structs with a non-zero reserved byte are refused with CHIO_EINVAL (and
 * nothing is signed or registered); output structs come back with their
 * reserved tails zeroed, whatever the caller's memory held; the naming
 * scheme (chio_errno_name, chio_errno_reason, chio_<enum>_name) answers
 * for every value of its X-macro table and the deprecated names answer the
 * same; the public decision-code enum has no count member.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

static const char *const tools[] = {"read"};
static const char scope[] = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                            "\"operations\":[\"invoke\"]}]}";

/* An ephemeral kernel serving srv/read, a session holding cap-abi. */
static chio_kernel *kernel_and_session(char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_capability *cap = NULL;
    const char *tok;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-abi", TK_AGENT_PUB, scope, strlen(scope), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    return k;
}

static void fill_call(chio_call *c, const char *sid)
{
    memset(c, 0, sizeof(*c));
    c->session_id = sid;
    c->capability_id = "cap-abi";
    c->server_id = "srv";
    c->tool_name = "read";
    c->arguments_json = "{\"x\":1}";
    c->arguments_len = 7;
}

static uint64_t signed_count(const chio_kernel *k)
{
    chio_kernel_metrics m;

    cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    return m.receipts_signed;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

Test(abi, call_with_reserved_bytes_is_refused_without_a_receipt)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    chio_response r;
    chio_error err;
    chio_call c;
    uint64_t before;
    size_t slot;

    /* The same call with zeroed reserved bytes is allowed. */
    fill_call(&c, sid);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    for (slot = 0; slot < sizeof(c.reserved) / sizeof(c.reserved[0]); slot++) {
        before = signed_count(k);
        fill_call(&c, sid);
        c.reserved[slot] = &c; /* a field of a later release, set by a newer caller */
        chio_error_init(&err);
        cr_expect_eq(chio_kernel_evaluate(k, &c, &r, &err), CHIO_EINVAL, "slot %zu", slot);
        cr_expect(strstr(err.message, "reserved") != NULL, "%s", err.message);
        cr_expect_null(r.receipt);
        chio_response_destroy(&r);
        cr_expect_eq(chio_kernel_evaluate_async(k, &c, NULL, NULL, &err), CHIO_EINVAL);
        cr_expect_eq(signed_count(k), before, "slot %zu: something was signed", slot);
    }
    chio_kernel_free(k);
}

Test(abi, call_options_with_reserved_bytes_are_refused)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    chio_call_options o;
    chio_response r;
    chio_error err;
    chio_call c;
    uint64_t before = signed_count(k);

    fill_call(&c, sid);
    memset(&o, 0, sizeof(o));
    o.reserved[1] = &o;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), CHIO_EINVAL);
    cr_expect(strstr(err.message, "chio_call_options.reserved") != NULL, "%s", err.message);
    chio_response_destroy(&r);
    cr_expect_eq(signed_count(k), before);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"), 1);
    o.reserved[1] = NULL;
    cr_expect_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

static int rp_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "1", 1);
}

static int pp_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "1", 1);
}

Test(abi, registrations_with_reserved_bytes_are_refused)
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_tool_server ts;
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_error err;
    char *list = NULL;
    size_t len = 0;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv2";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    ts.reserved[0] = &ts;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_EINVAL);
    cr_expect(strstr(err.message, "chio_tool_server.reserved") != NULL, "%s", err.message);
    ts.reserved[0] = NULL; /* refused means not registered: the id is still free */
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);

    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "docs";
    rp.read = rp_read;
    rp.reserved[2] = &rp;
    cr_expect_eq(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EINVAL);
    rp.reserved[2] = NULL;
    cr_expect_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);

    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "prompts";
    pp.get = pp_get;
    pp.reserved[1] = &pp;
    cr_expect_eq(chio_kernel_register_prompt_provider(k, &pp, &err), CHIO_EINVAL);
    pp.reserved[1] = NULL;
    cr_expect_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_expect_eq(chio_kernel_list_resources(k, &list, &len, &err), 0, "%s", err.message);
    chio_free(list);
    chio_kernel_free(k);
}

/* Completion of an asynchronous evaluation: 1 when its response's reserved
 * tail was zero, -1 when not. */
static void async_seen(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    int *seen = ctx;

    (void)err;
    __atomic_store_n(seen, rc == 0 && all_zero(resp->reserved, sizeof(resp->reserved)) ? 1 : -1,
                     __ATOMIC_RELEASE);
}

Test(abi, output_structs_come_back_with_zeroed_reserved_tails)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    chio_kernel_metrics m;
    chio_receipt_report rep;
    chio_response r;
    chio_error err;
    chio_call c;
    uint8_t pub[CHIO_PUBKEY_BYTES];
    chio_capability *cap = NULL;
    chio_capability_report crep;
    int seen = 0;

    /* The caller's memory holds garbage: the library writes every byte. */
    memset(&r, 0xa5, sizeof(r));
    fill_call(&c, sid);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect(all_zero(r.reserved, sizeof(r.reserved)));

    memset(&m, 0xa5, sizeof(m));
    cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    cr_expect(all_zero(m.reserved, sizeof(m.reserved)));
    cr_expect_geq(m.receipts_signed, 1);

    cr_assert_eq(chio_pubkey_from_hex(chio_kernel_public_hex(k), CHIO_PUBKEY_HEX_LEN, pub), 0);
    memset(&rep, 0xa5, sizeof(rep));
    cr_assert_eq(chio_receipt_verify(r.receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok);
    cr_expect(all_zero(rep.reserved, sizeof(rep.reserved)));
    chio_response_destroy(&r);

    cr_assert_eq(chio_kernel_issue_capability(k, "cap-2", TK_AGENT_PUB, scope, strlen(scope), 0, 60,
                                              &cap, &err),
                 0, "%s", err.message);
    memset(&crep, 0xa5, sizeof(crep));
    cr_assert_eq(chio_capability_verify(cap, 0, pub, 1, -1, &crep), 0);
    cr_expect(crep.signature_valid);
    cr_expect(all_zero(crep.reserved, sizeof(crep.reserved)));
    chio_capability_free(cap);

    /* The kernel's own response of an asynchronous call too. */
    fill_call(&c, sid);
    cr_assert_eq(chio_kernel_evaluate_async(k, &c, async_seen, &seen, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message); /* runs every callback */
    cr_expect_eq(__atomic_load_n(&seen, __ATOMIC_ACQUIRE), 1);
    chio_kernel_free(k);
}

/* ---- names ------------------------------------------------------------------------------ */

Test(abi, every_result_code_has_a_name_a_text_and_a_reason)
{
    static const struct {
        int code;
        const char *name, *text;
    } table[] = {
#define ROW(name, num, msg) {CHIO_##name, "CHIO_" #name, msg},
        CHIO_ERRNO_MAP(ROW)
#undef ROW
    };
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const char *reason = chio_errno_reason(table[i].code);

        cr_expect_str_eq(chio_errno_name(table[i].code), table[i].name);
        cr_expect_str_eq(chio_strerror(table[i].code), table[i].text);
        cr_expect_not_null(reason);
        cr_expect_str_neq(reason, "none", "%s", table[i].name);
        /* The deprecated names answer the same. */
        cr_expect_eq(chio_err_name(table[i].code), chio_errno_name(table[i].code));
        cr_expect_eq(chio_error_code_name(table[i].code), reason);
    }
    cr_expect_str_eq(chio_errno_name(0), "CHIO_OK");
    cr_expect_str_eq(chio_errno_name(-9999), "CHIO_EUNKNOWN");
    cr_expect_str_eq(chio_errno_reason(0), "none");
    cr_expect_str_eq(chio_errno_reason(-9999), "internal_error");
    /* The classes the scenario reports and the unreceipted counters use. */
    cr_expect_str_eq(chio_errno_reason(CHIO_ENOSESSION), "unknown_session");
    cr_expect_str_eq(chio_errno_reason(CHIO_ECANCELLED), "cancelled");
    cr_expect_str_eq(chio_errno_reason(CHIO_ECORRUPT), "store_failure");
    cr_expect_str_eq(chio_errno_reason(CHIO_EJSON_DEPTH), "invalid_arguments");
    cr_expect_str_eq(chio_errno_reason(CHIO_ENOMEM), "internal_error");
}

Test(abi, enum_names_come_from_their_x_macros)
{
    static const char *const codes[] = {
#define ROW(name, str) str,
        CHIO_CODE_MAP(ROW)
#undef ROW
    };
    size_t n = sizeof(codes) / sizeof(codes[0]), i;

    for (i = 0; i < n; i++)
        cr_expect_str_eq(chio_code_name((chio_code)i), codes[i]);
    cr_expect_null(chio_code_name((chio_code)n)); /* no public count: past the table */
    cr_expect_null(chio_code_name((chio_code)-1));

#define CHECK(map, fn, type, first)                             \
    do {                                                        \
        static const char *const want[] = {map(ROW)};           \
        size_t j;                                               \
        for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)    \
            cr_expect_str_eq(fn((type)(j + (first))), want[j]); \
        cr_expect_null(fn((type)(j + (first))));                \
    } while (0)
#define ROW(name, str) str,
    CHECK(CHIO_RECEIPT_KIND_MAP, chio_receipt_kind_name, chio_receipt_kind, 0);
    CHECK(CHIO_BOUNDARY_CLASS_MAP, chio_boundary_class_name, chio_boundary_class, 0);
    CHECK(CHIO_OBSERVATION_OUTCOME_MAP, chio_observation_outcome_name, chio_observation_outcome, 1);
    CHECK(CHIO_TOOL_ORIGIN_MAP, chio_tool_origin_name, chio_tool_origin, 0);
    CHECK(CHIO_REDACTION_MODE_MAP, chio_redaction_mode_name, chio_redaction_mode, 0);
    CHECK(CHIO_TRUST_LEVEL_MAP, chio_trust_level_name, chio_trust_level, 0);
    CHECK(CHIO_VERDICT_MAP, chio_verdict_name, chio_verdict, 1);
    CHECK(CHIO_SESSION_STATE_MAP, chio_session_state_name, chio_session_state, 0);
    CHECK(CHIO_TIME_STATUS_MAP, chio_time_status_name, chio_time_status, 0);
#undef ROW
#undef CHECK
    cr_expect_str_eq(chio_verdict_name(CHIO_VERDICT_NONE), "none");
    cr_expect_str_eq(chio_observation_outcome_name(CHIO_OUTCOME_NONE), "none");
    /* Values are ABI: the X-macros keep them where they were. */
    cr_expect_eq(CHIO_VERDICT_INCOMPLETE, 4);
    cr_expect_eq(CHIO_ORIGIN_HOST_EXECUTED_UNMEDIATED, 2);
    cr_expect_eq(CHIO_OUTCOME_DROPPED, 3);
    cr_expect_eq(CHIO_SESSION_CLOSED, 3);
    cr_expect_eq(CHIO_CODE_INVALID_REQUEST, 24);
}
