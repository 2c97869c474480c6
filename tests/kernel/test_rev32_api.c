/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_api.c - review 32: the kernel and store API
 * (kernel.h, evaluate.h, store.h) misused the way a new host reaching it
 * through FFI would: NULL for each pointer argument in turn, out-of-range
 * configuration and enum values, empty and non-UTF-8 strings, and calls
 * in the wrong order (evaluate before any session, register after
 * serving, everything after a drain, twice over, a session used after its
 * close, free without a drain). Each must end in a documented result code
 * with a message where the call takes a chio_error, never a crash, a leak
 * (run under `make asan` too), a receipt for a call that was refused
 * before the pipeline, or an allow. The lower layers' sweep is
 * tests/core/test_rev32_api.c; a tool misusing its context is
 * tests/kernel/test_rev32_tools.c, the store tests/store/test_rev32_api.c
 * (same suite).
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev32api.h"
#include "kernel/tokens.h"

#define NOW 1700000000u

TestSuite(rev32_kapi);

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static const char *const TOOLS[] = {"t"};

static chio_kernel *echo_kernel(void)
{
    return kt_echo_kernel(NULL, fixed_clock, "srv", TOOLS, 1);
}

static uint64_t signed_receipts(chio_kernel *k)
{
    chio_kernel_metrics m;

    cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    return m.receipts_signed;
}

/* ---- configuration ------------------------------------------------------------------ */

/* A config whose one field @set breaks: CHIO_ECONFIG naming it, the keypair
 * freed (the kernel takes it in every case; ASan sees a leak otherwise). */
static void bad_config(void (*set)(chio_kernel_config *), const char *field)
{
    chio_kernel_config cfg;
    chio_kernel *k = (chio_kernel *)1;
    chio_error err;

    kt_config(&cfg, NULL);
    set(&cfg);
    ERC(chio_kernel_new(&cfg, &k, &err), CHIO_ECONFIG);
    cr_expect_null(k, "%s", field);
    cr_expect_not_null(strstr(err.message, field), "%s: %s", field, err.message);
}

static void set_durability(chio_kernel_config *c)
{
    c->durability = (chio_durability)7;
}
static void set_log_level(chio_kernel_config *c)
{
    c->log_level = (chio_log_level)-1;
}
static void set_log_level_hi(chio_kernel_config *c)
{
    c->log_level = (chio_log_level)4;
}
static void set_ca_null(chio_kernel_config *c)
{
    c->n_ca_public_keys = 1;
}
static void set_ca_huge(chio_kernel_config *c)
{
    static const uint8_t key[32] = {1};
    c->ca_public_keys = key;
    c->n_ca_public_keys = SIZE_MAX / 16;
}
static void set_policy_empty(chio_kernel_config *c)
{
    c->policy_hash = "";
}
static void set_policy_utf8(chio_kernel_config *c)
{
    c->policy_hash = "p\xff";
}
static void set_policy_null(chio_kernel_config *c)
{
    c->policy_hash = NULL;
}
static void set_keypair_null(chio_kernel_config *c)
{
    chio_keypair_free(c->keypair);
    c->keypair = NULL;
}
static void set_store_empty(chio_kernel_config *c)
{
    c->ephemeral_store = 0;
    c->receipt_store_path = "";
}
static void set_store_none(chio_kernel_config *c)
{
    c->ephemeral_store = 0;
}
static void set_ring(chio_kernel_config *c)
{
    c->ring_capacity = 3;
}
static void set_ring_zero(chio_kernel_config *c)
{
    c->ring_capacity = 0;
}
static void set_signers(chio_kernel_config *c)
{
    c->signer_threads = UINT32_MAX;
}
static void set_batch(chio_kernel_config *c)
{
    c->max_batch = 0;
}
static void set_args(chio_kernel_config *c)
{
    c->max_argument_bytes = UINT64_MAX;
}
static void set_cp(chio_kernel_config *c)
{
    c->checkpoint_batch_size = UINT64_MAX;
}
static void set_prio(chio_kernel_config *c)
{
    c->signer_priority = INT_MIN;
}
static void set_rt(chio_kernel_config *c)
{
    c->signer_realtime = 100;
}
static void set_reserved(chio_kernel_config *c)
{
    c->reserved[4] = c;
}
static void set_retention(chio_kernel_config *c)
{
    c->retention_config.enabled = 1;
}

Test(rev32_kapi, kernel_new_refuses_each_bad_field_by_name_and_frees_the_key)
{
    bad_config(set_durability, "durability");
    bad_config(set_log_level, "log_level");
    bad_config(set_log_level_hi, "log_level");
    bad_config(set_ca_null, "ca_public_keys");
    bad_config(set_ca_huge, "n_ca_public_keys");
    bad_config(set_policy_empty, "policy_hash");
    bad_config(set_policy_utf8, "policy_hash");
    bad_config(set_policy_null, "policy_hash");
    bad_config(set_keypair_null, "keypair");
    bad_config(set_store_empty, "receipt_store_path");
    bad_config(set_store_none, "receipt_store_path");
    bad_config(set_ring, "ring_capacity");
    bad_config(set_ring_zero, "ring_capacity");
    bad_config(set_signers, "signer_threads");
    bad_config(set_batch, "max_batch");
    bad_config(set_args, "max_argument_bytes");
    bad_config(set_cp, "checkpoint_batch_size");
    bad_config(set_prio, "signer_priority");
    bad_config(set_rt, "signer_realtime");
    bad_config(set_reserved, "reserved");
    bad_config(set_retention, "retention_config");
}

Test(rev32_kapi, kernel_new_with_null_arguments)
{
    chio_kernel_config cfg;
    chio_kernel *k = (chio_kernel *)1;
    chio_error err;

    chio_kernel_config_init(NULL);
    ERC(chio_kernel_new(NULL, &k, &err), CHIO_EINVAL);
    cr_expect_null(k);
    /* out NULL: refused, and the keypair is still taken (freed). */
    kt_config(&cfg, NULL);
    ERC(chio_kernel_new(&cfg, NULL, &err), CHIO_EINVAL);
    kt_config(&cfg, NULL);
    ERC(chio_kernel_new(&cfg, &k, NULL), 0);
    chio_kernel_free(k);
}

/* ---- a NULL kernel -------------------------------------------------------------------- */

Test(rev32_kapi, every_kernel_call_on_a_null_kernel_is_einval_or_empty)
{
    chio_error err;
    chio_kernel_metrics m;
    chio_archive_report ar;
    chio_response resp;
    chio_call call;
    chio_session_state st = CHIO_SESSION_READY;
    char *out = NULL, sid[CHIO_SESSION_ID_LEN + 1];
    size_t len = 0;
    chio_capability *cap = NULL;
    chio_tool_server ts;
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_receipt *r = NULL;

    chio_response_init(&resp);
    memset(&call, 0, sizeof call);
    memset(&ts, 0, sizeof ts);
    memset(&rp, 0, sizeof rp);
    memset(&pp, 0, sizeof pp);
    ERC(chio_kernel_start(NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_drain(NULL, &err), CHIO_EINVAL);
    chio_kernel_free(NULL);
    cr_expect_null(chio_kernel_public_hex(NULL));
    RC(chio_kernel_metrics_get(NULL, &m), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_in_flight(NULL), 0);
    RC(chio_kernel_metrics_prometheus(NULL, &out, &len), CHIO_EINVAL);
    cr_expect_null(out);
    cr_expect_eq(chio_kernel_unreceipted_errors(NULL, NULL), 0);
    r = (chio_receipt *)1;
    ERC(chio_kernel_sign_receipt(NULL, kt_builder(1), &r, &err), CHIO_EINVAL);
    cr_expect_null(r, "*out is NULL after every failure");
    r = (chio_receipt *)1;
    ERC(chio_kernel_try_sign_receipt(NULL, kt_builder(2), &r, &err), CHIO_EINVAL);
    cr_expect_null(r, "*out is NULL after every failure");
    ERC(chio_kernel_sign_receipt_async(NULL, kt_builder(3), NULL, NULL, &err), CHIO_EINVAL);
    cr_expect_null(r);
    ERC(chio_kernel_run_retention(NULL, &ar, &err), CHIO_EINVAL);
    ERC(chio_kernel_register_tool_server(NULL, &ts, &err), CHIO_EINVAL);
    ERC(chio_kernel_register_resource_provider(NULL, &rp, &err), CHIO_EINVAL);
    ERC(chio_kernel_register_prompt_provider(NULL, &pp, &err), CHIO_EINVAL);
    ERC(chio_kernel_set_nested_handler(NULL, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_guard(NULL, "g", NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_forbidden_path_guard(NULL, "g", NULL, 0, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_secret_leak_guard(NULL, "g", NULL, 0, &err), CHIO_EINVAL);
    cap = (chio_capability *)1;
    ERC(chio_kernel_issue_capability(NULL, "c", TK_AGENT_PUB, "{}", 2, 0, 10, &cap, &err),
        CHIO_EINVAL);
    cr_expect_null(cap, "*out is NULL after every failure");
    ERC(chio_kernel_revoke_capability(NULL, "c", &err), CHIO_EINVAL);
    RC(chio_kernel_is_revoked(NULL, "c"), CHIO_EINVAL);
    ERC(chio_kernel_open_session(NULL, TK_AGENT_PUB, NULL, NULL, 0, sid, &err), CHIO_EINVAL);
    ERC(chio_kernel_begin_draining_session(NULL, "s", &err), CHIO_EINVAL);
    ERC(chio_kernel_close_session(NULL, "s", &err), CHIO_EINVAL);
    RC(chio_kernel_session_state(NULL, "s", &st), CHIO_EINVAL);
    ERC(chio_kernel_evaluate(NULL, &call, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_evaluate_ex(NULL, &call, NULL, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_evaluate_async(NULL, &call, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_read_resource(NULL, "s", NULL, "c", "u", &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt(NULL, "s", NULL, "c", "p", NULL, 0, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_read_resource_ex(NULL, "s", NULL, "c", "u", NULL, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt_ex(NULL, "s", NULL, "c", "p", NULL, 0, NULL, &resp, &err),
        CHIO_EINVAL);
    ERC(chio_kernel_list_resources(NULL, &out, &len, &err), CHIO_EINVAL);
    ERC(chio_kernel_list_prompts(NULL, &out, &len, &err), CHIO_EINVAL);
    cr_expect_null(out);
    chio_response_destroy(&resp);
}

/* ---- NULL outputs and handles on a live kernel ------------------------------------------ */

Test(rev32_kapi, null_outputs_on_a_live_kernel_are_einval_and_take_the_builder)
{
    chio_kernel *k = echo_kernel();
    chio_error err;
    chio_receipt *r = NULL;
    char *out = NULL;
    size_t len = 0;

    RC(chio_kernel_metrics_get(k, NULL), CHIO_EINVAL);
    RC(chio_kernel_metrics_prometheus(k, NULL, &len), CHIO_EINVAL);
    RC(chio_kernel_metrics_prometheus(k, &out, NULL), 0);
    cr_expect_not_null(out);
    chio_free(out);
    out = NULL;
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "no_such_reason"), 0);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, ""), 0);
    /* Signing: a NULL builder or out is refused; the builder is taken in
     * every case (ASan would see it leak). */
    ERC(chio_kernel_sign_receipt(k, NULL, &r, &err), CHIO_EINVAL);
    ERC(chio_kernel_sign_receipt(k, kt_builder(1), NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_try_sign_receipt(k, NULL, &r, &err), CHIO_EINVAL);
    ERC(chio_kernel_try_sign_receipt(k, kt_builder(2), NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_sign_receipt_async(k, NULL, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_sign_receipt_async(k, kt_builder(3), NULL, NULL, &err), CHIO_EINVAL);
    cr_expect_null(r);
    /* Retention is not configured: CHIO_ECONFIG, also with a NULL report. */
    ERC(chio_kernel_run_retention(k, NULL, &err), CHIO_EINVAL);
    chio_archive_report ar;
    ERC(chio_kernel_run_retention(k, &ar, &err), CHIO_ECONFIG);
    ERC(chio_kernel_list_resources(k, NULL, &len, &err), CHIO_EINVAL);
    ERC(chio_kernel_list_prompts(k, NULL, &len, &err), CHIO_EINVAL);
    ERC(chio_kernel_list_resources(k, &out, NULL, &err), 0);
    cr_expect_str_eq(out, "[]");
    chio_free(out);
    out = NULL;
    ERC(chio_kernel_list_prompts(k, &out, NULL, &err), 0);
    cr_expect_str_eq(out, "[]");
    chio_free(out);
    cr_expect_eq(signed_receipts(k), 0, "nothing was signed");
    ERC(chio_kernel_drain(k, &err), 0);
    chio_kernel_free(k);
}

/* ---- registration ---------------------------------------------------------------------- */

static int no_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    return 0;
}

static int read_none(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    (void)out;
    return CHIO_ENOTMINE;
}

static int list_garbage(void *user, chio_output *out)
{
    (void)user;
    return chio_output_set_json(out, "{}", 2); /* an object, not the array asked for */
}

static int get_none(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    (void)out;
    return CHIO_ENOTMINE;
}

static int pass_guard(void *user, const chio_guard_input *in, chio_guard_verdict *v, char *d,
                      size_t cap)
{
    (void)user;
    (void)in;
    (void)d;
    (void)cap;
    *v = CHIO_GUARD_PASS;
    return 0;
}

/* Register @ts on @k: @want, with a message. */
static void reg_tool(chio_kernel *k, const chio_tool_server *ts, int want, const char *what)
{
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_kernel_register_tool_server(k, ts, &err);
    cr_expect_eq(rc, want, "%s: got %s (%s)", what, chio_errno_name(rc), err.message);
    if (want < 0 && rc == want)
        cr_expect_neq(err.message[0], '\0', "%s: no message", what);
}

Test(rev32_kapi, registration_refuses_each_bad_argument)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_tool_server ts;
    chio_error err;
    static const char *const names[] = {"a", NULL};
    static const char *const bad_utf8[] = {"\xff"};
    static const char *const empty_name[] = {""};

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof ts);
    ts.server_id = "s";
    ts.invoke = no_invoke;
    ts.tool_names = TOOLS;
    ts.ntools = 1;
    reg_tool(k, NULL, CHIO_EINVAL, "NULL server");
    ts.server_id = NULL;
    reg_tool(k, &ts, CHIO_EINVAL, "NULL id");
    ts.server_id = "";
    reg_tool(k, &ts, CHIO_EINVAL, "empty id");
    ts.server_id = "\xc3\x28";
    reg_tool(k, &ts, CHIO_EINVAL, "non-UTF-8 id");
    ts.server_id = "s";
    ts.invoke = NULL;
    reg_tool(k, &ts, CHIO_EINVAL, "no invoke");
    ts.invoke = no_invoke;
    ts.tool_names = NULL;
    reg_tool(k, &ts, CHIO_EINVAL, "NULL names, ntools 1");
    ts.tool_names = names;
    ts.ntools = 2;
    reg_tool(k, &ts, CHIO_EINVAL, "a NULL name");
    /* A count that does not fit an allocation: refused, the names never
     * read past the NULL that ends them. */
    ts.ntools = SIZE_MAX;
    reg_tool(k, &ts, CHIO_EINVAL, "ntools SIZE_MAX");
    ts.ntools = SIZE_MAX / 4;
    reg_tool(k, &ts, CHIO_EINVAL, "ntools SIZE_MAX / 4");
    ts.tool_names = bad_utf8;
    ts.ntools = 1;
    reg_tool(k, &ts, CHIO_EINVAL, "non-UTF-8 name");
    ts.tool_names = empty_name;
    reg_tool(k, &ts, CHIO_EINVAL, "empty name");
    ts.tool_names = TOOLS;
    ts.flags = 2;
    reg_tool(k, &ts, CHIO_EINVAL, "unknown flag");
    ts.flags = CHIO_TOOL_SERVER_ANY_TOOL;
    reg_tool(k, &ts, CHIO_EINVAL, "ANY_TOOL with names");
    ts.flags = 0;
    ts.reserved[2] = &ts;
    reg_tool(k, &ts, CHIO_EINVAL, "reserved");
    ts.reserved[2] = NULL;
    reg_tool(k, &ts, 0, "good");
    reg_tool(k, &ts, CHIO_EDUPLICATE, "twice");

    chio_resource_provider rp;
    memset(&rp, 0, sizeof rp);
    ERC(chio_kernel_register_resource_provider(k, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EINVAL);
    rp.provider_id = "r";
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EINVAL);
    rp.read = read_none;
    rp.reserved[0] = &rp;
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EINVAL);
    rp.reserved[0] = NULL;
    rp.provider_id = "\xff";
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EINVAL);
    rp.provider_id = "r";
    rp.list = list_garbage;
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), 0);
    ERC(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EDUPLICATE);
    /* A provider that lists no array: CHIO_EFORMAT naming it, *out NULL. */
    char *listed = (char *)1;
    ERC(chio_kernel_list_resources(k, &listed, NULL, &err), CHIO_EFORMAT);
    cr_expect_null(listed);

    chio_prompt_provider pp;
    memset(&pp, 0, sizeof pp);
    ERC(chio_kernel_register_prompt_provider(k, NULL, &err), CHIO_EINVAL);
    pp.provider_id = "p";
    ERC(chio_kernel_register_prompt_provider(k, &pp, &err), CHIO_EINVAL);
    pp.get = get_none;
    pp.reserved[3] = &pp;
    ERC(chio_kernel_register_prompt_provider(k, &pp, &err), CHIO_EINVAL);
    pp.reserved[3] = NULL;
    ERC(chio_kernel_register_prompt_provider(k, &pp, &err), 0);

    ERC(chio_kernel_add_guard(k, NULL, pass_guard, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_guard(k, "", pass_guard, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_guard(k, "\xff", pass_guard, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_guard(k, "g", NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_guard(k, "g", pass_guard, NULL, &err), 0);
    ERC(chio_kernel_add_guard(k, "g", pass_guard, NULL, &err), CHIO_EDUPLICATE);
    static const char *const prefixes[] = {"/etc", NULL};
    ERC(chio_kernel_add_forbidden_path_guard(k, "f", NULL, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_forbidden_path_guard(k, "f", prefixes, 2, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_forbidden_path_guard(k, "f", prefixes, SIZE_MAX, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_forbidden_path_guard(k, NULL, prefixes, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_forbidden_path_guard(k, "f", prefixes, 1, &err), 0);
    static const char *const patterns[] = {"(", NULL};
    static const char *const good_patterns[] = {"sk-[a-z]+"};
    ERC(chio_kernel_add_secret_leak_guard(k, "l", NULL, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_secret_leak_guard(k, "l", patterns, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_secret_leak_guard(k, "l", patterns + 1, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_secret_leak_guard(k, NULL, good_patterns, 1, &err), CHIO_EINVAL);
    ERC(chio_kernel_add_secret_leak_guard(k, "l", good_patterns, 1, &err), 0);
    ERC(chio_kernel_set_nested_handler(k, NULL, NULL, &err), 0);
    chio_kernel_free(k);
}

/* ---- lifecycle order -------------------------------------------------------------------- */

static void async_never(void *ctx, int rc, chio_response *resp, const chio_error *err);

static void sign_never(void *ctx, int rc, chio_receipt *r)
{
    (void)rc;
    chio_receipt_free(r);
    *(int *)ctx = 1;
}

static void open_one(chio_kernel *k, char sid[CHIO_SESSION_ID_LEN + 1])
{
    kt_grant_session(k, NOW, "cap-1", "", sid);
}

Test(rev32_kapi, calls_in_the_wrong_order_get_their_documented_codes)
{
    chio_kernel *k = echo_kernel();
    chio_tool_server ts;
    chio_response resp;
    chio_call call;
    chio_error err;
    chio_receipt *r = NULL;
    chio_session_state st;
    char sid[CHIO_SESSION_ID_LEN + 1];

    chio_response_init(&resp);
    /* Evaluate before any session: no session has that id. */
    kt_grant_call(&call, "sess-AAAAAAAAAAAAAAAAAAAAAA", "cap-1", "{}", 2);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_ENOSESSION);
    call.session_id = NULL;
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_ENOSESSION);
    call.session_id = "";
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_ENOSESSION);
    call.session_id = "\xff";
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_ENOSESSION);
    cr_expect_null(resp.receipt);
    RC(chio_kernel_session_state(k, "sess-x", &st), CHIO_ENOSESSION);
    ERC(chio_kernel_close_session(k, "sess-x", &err), CHIO_ENOSESSION);
    /* A NULL session id names no session (as for evaluate). */
    ERC(chio_kernel_begin_draining_session(k, NULL, &err), CHIO_ENOSESSION);
    ERC(chio_kernel_close_session(k, NULL, &err), CHIO_ENOSESSION);
    RC(chio_kernel_session_state(k, NULL, &st), CHIO_ENOSESSION);

    /* Register after serving. */
    open_one(k, sid);
    RC(chio_kernel_session_state(k, sid, NULL), CHIO_EINVAL);
    memset(&ts, 0, sizeof ts);
    ts.server_id = "late";
    ts.invoke = no_invoke;
    ts.tool_names = TOOLS;
    ts.ntools = 1;
    ERC(chio_kernel_register_tool_server(k, &ts, &err), CHIO_ESERVING);
    ERC(chio_kernel_add_guard(k, "late", pass_guard, NULL, &err), CHIO_ESERVING);
    ERC(chio_kernel_set_nested_handler(k, NULL, NULL, &err), CHIO_ESERVING);

    /* The session closed: its id stays known, every call on it refused. */
    ERC(chio_kernel_close_session(k, sid, &err), 0);
    ERC(chio_kernel_close_session(k, sid, &err), 0);
    RC(chio_kernel_session_state(k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_CLOSED);
    ERC(chio_kernel_begin_draining_session(k, sid, &err), CHIO_ESESSION_CLOSED);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_ESESSION_CLOSED);
    ERC(chio_kernel_read_resource(k, sid, NULL, "cap-1", "u", &resp, &err), CHIO_ESESSION_CLOSED);
    ERC(chio_kernel_get_prompt(k, sid, NULL, "cap-1", "p", NULL, 0, &resp, &err),
        CHIO_ESESSION_CLOSED);
    cr_expect_eq(signed_receipts(k), 0, "no receipt for a refused call");

    /* Drain twice, then everything is CHIO_EDRAINED. */
    ERC(chio_kernel_drain(k, &err), 0);
    ERC(chio_kernel_drain(k, &err), 0);
    ERC(chio_kernel_start(k, &err), CHIO_EDRAINED);
    ERC(chio_kernel_sign_receipt(k, kt_builder(1), &r, &err), CHIO_EDRAINED);
    ERC(chio_kernel_try_sign_receipt(k, kt_builder(2), &r, &err), CHIO_EDRAINED);
    cr_expect_null(r);
    ERC(chio_kernel_register_tool_server(k, &ts, &err), CHIO_EDRAINED);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 0, sid, &err), CHIO_EDRAINED);
    ERC(chio_kernel_revoke_capability(k, "cap-1", &err), CHIO_EDRAINED);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_EDRAINED);
    int called = 0;
    ERC(chio_kernel_evaluate_async(k, &call, async_never, &called, &err), CHIO_EDRAINED);
    ERC(chio_kernel_sign_receipt_async(k, kt_builder(3), sign_never, &called, &err), CHIO_EDRAINED);
    cr_expect_eq(called, 0, "a refused async call never calls back");
    chio_archive_report ar;
    ERC(chio_kernel_run_retention(k, &ar, &err), CHIO_ECONFIG);
    ERC(chio_kernel_add_guard(k, "late2", pass_guard, NULL, &err), CHIO_EDRAINED);
    chio_response_destroy(&resp);
    chio_response_destroy(&resp);
    chio_response_destroy(NULL);
    chio_response_init(NULL);
    chio_kernel_free(k);
}

Test(rev32_kapi, a_kernel_never_started_drains_and_refuses_to_start)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    ERC(chio_kernel_drain(k, &err), 0);
    ERC(chio_kernel_start(k, &err), CHIO_EDRAINED);
    RC(chio_kernel_is_revoked(k, "c"), CHIO_EDRAINED);
    chio_kernel_free(k);
}

/* Free without drain: a started kernel with an open session and a
 * signed receipt is drained and released by chio_kernel_free() alone. */
Test(rev32_kapi, free_without_drain_releases_everything)
{
    chio_kernel *k = echo_kernel();
    chio_response resp;
    chio_call call;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];

    open_one(k, sid);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    chio_response_init(&resp);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), 0);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}

/* ---- sessions, capabilities, revocation ----------------------------------------------- */

Test(rev32_kapi, open_session_and_capability_calls_refuse_each_bad_argument)
{
    chio_kernel *k = echo_kernel();
    chio_capability *cap = NULL;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok =
        tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB, "{\"grants\":[]}", NOW, 10, NULL, 0);
    const char *caps[2] = {tok, NULL};
    size_t lens[2] = {strlen(tok), 0};
    char id[CHIO_MAX_REVOCATION_ID_LEN + 2];

    ERC(chio_kernel_open_session(k, NULL, caps, NULL, 1, sid, &err), CHIO_EINVAL);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 1, sid, &err), CHIO_EINVAL);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 2, sid, &err), CHIO_EINVAL);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, SIZE_MAX, sid, &err), CHIO_ETOOBIG);
    ERC(chio_kernel_open_session(k, "\xff", caps, NULL, 1, sid, &err), CHIO_EINVAL);
    lens[0] = SIZE_MAX;
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps, lens, 1, sid, &err), CHIO_ETOOBIG);
    lens[0] = 0;
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps, lens, 1, sid, &err), CHIO_EJSON_TRUNCATED);
    /* A NUL inside the counted text of a token. */
    char *nul = strdup(tok);
    nul[10] = '\0';
    caps[1] = nul;
    lens[0] = strlen(tok);
    lens[1] = strlen(tok);
    ERC(chio_kernel_open_session(k, TK_AGENT_PUB, caps + 1, lens + 1, 1, sid, &err),
        CHIO_EJSON_CONTROL);
    free(nul);

    ERC(chio_kernel_issue_capability(k, "c", NULL, "{}", 2, 0, 10, &cap, &err), CHIO_EINVAL);
    ERC(chio_kernel_issue_capability(k, "c", TK_AGENT_PUB, NULL, 2, 0, 10, &cap, &err),
        CHIO_EINVAL);
    ERC(chio_kernel_issue_capability(k, "c", TK_AGENT_PUB, "{}", 2, 0, 10, NULL, &err),
        CHIO_EINVAL);
    ERC(chio_kernel_issue_capability(k, "c", TK_AGENT_PUB, "{}", 2, 0, 0, &cap, &err), CHIO_ERANGE);
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    ERC(chio_kernel_issue_capability(k, id, TK_AGENT_PUB, "{}", 2, 0, 10, &cap, &err),
        CHIO_ETOOBIG);
    cr_expect_null(cap);
    ERC(chio_kernel_revoke_capability(k, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_revoke_capability(k, "", &err), CHIO_EINVAL);
    ERC(chio_kernel_revoke_capability(k, "\xff\xfe", &err), CHIO_EINVAL);
    RC(chio_kernel_is_revoked(k, ""), 0);
    ERC(chio_kernel_revoke_capability(k, id, &err), CHIO_ETOOBIG);
    RC(chio_kernel_is_revoked(k, NULL), CHIO_EINVAL);
    RC(chio_kernel_is_revoked(k, id), 0);
    cr_expect_eq(signed_receipts(k), 0);
    free(tok);
    chio_kernel_free(k);
}

/* ---- evaluation ------------------------------------------------------------------------- */

static void evaluate_refused(chio_kernel *k, const chio_call *call, const chio_call_options *o,
                             int want, const char *what)
{
    chio_response resp;
    chio_error err;
    int rc;

    chio_response_init(&resp);
    chio_error_init(&err);
    rc = chio_kernel_evaluate_ex(k, call, o, &resp, &err);
    cr_expect_eq(rc, want, "%s: got %s (%s)", what, chio_errno_name(rc), err.message);
    cr_expect_eq(err.code, want, "%s", what);
    cr_expect_neq(err.message[0], '\0', "%s: no message", what);
    cr_expect_null(resp.receipt, "%s", what);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_NONE, "%s: no allow", what);
    chio_response_destroy(&resp);
}

static void async_never(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)rc;
    (void)resp;
    (void)err;
    *(int *)ctx = 1;
}

Test(rev32_kapi, evaluation_refuses_each_bad_argument_without_a_receipt)
{
    chio_kernel *k = echo_kernel();
    chio_call call, c;
    chio_call_options o;
    chio_response resp;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int called = 0;

    open_one(k, sid);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    memset(&o, 0, sizeof o);
    chio_response_init(&resp);
    ERC(chio_kernel_evaluate(k, NULL, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_evaluate(k, &call, NULL, &err), CHIO_EINVAL);
    c = call;
    c.capability_id = NULL;
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "NULL capability id");
    c = call;
    c.server_id = NULL;
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "NULL server id");
    c = call;
    c.tool_name = NULL;
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "NULL tool name");
    c = call;
    c.tool_name = "t\xff";
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "non-UTF-8 tool name");
    c = call;
    c.request_id = "\xc0\xaf";
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "non-UTF-8 request id");
    c = call;
    c.capability_id = "\xed\xb0\x80";
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "non-UTF-8 capability id");
    c = call;
    c.reserved[3] = &c;
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "reserved");
    c = call;
    c.arguments_json = NULL;
    c.arguments_len = 5;
    evaluate_refused(k, &c, NULL, CHIO_EINVAL, "NULL arguments with a length");
    c = call;
    c.arguments_json = "{\"a\":\"\0\"}";
    c.arguments_len = 8;
    evaluate_refused(k, &c, NULL, CHIO_EJSON_CONTROL, "a NUL inside the arguments");
    c.arguments_json = "{\"a\":\"\xff\"}";
    c.arguments_len = 8;
    evaluate_refused(k, &c, NULL, CHIO_EJSON_UTF8, "non-UTF-8 arguments");
    o.flags = 4;
    evaluate_refused(k, &call, &o, CHIO_EINVAL, "unknown option flag");
    o.flags = 0;
    o.reserved[0] = &o;
    evaluate_refused(k, &call, &o, CHIO_EINVAL, "reserved option");
    o.reserved[0] = NULL;

    ERC(chio_kernel_evaluate_async(k, NULL, async_never, &called, &err), CHIO_EINVAL);
    ERC(chio_kernel_evaluate_async(k, &call, NULL, NULL, &err), CHIO_EINVAL);
    c = call;
    c.tool_name = NULL;
    ERC(chio_kernel_evaluate_async(k, &c, async_never, &called, &err), CHIO_EINVAL);
    cr_expect_eq(called, 0, "an async call refused at once never calls back");

    uint64_t before = chio_kernel_unreceipted_errors(k, "invalid_arguments");
    ERC(chio_kernel_read_resource(k, sid, NULL, "cap-1", NULL, &resp, &err), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"), before + 1,
                 "a NULL URI is counted, as every error without a receipt");
    ERC(chio_kernel_read_resource(k, sid, NULL, NULL, "u", &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_read_resource(k, sid, NULL, "cap-1", "u", NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_read_resource(k, sid, NULL, "cap-1", "\xff", &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt(k, sid, NULL, "cap-1", NULL, NULL, 0, &resp, &err), CHIO_EINVAL);
    /* NULL arguments with a length are a host's bug, not {}: refused. */
    ERC(chio_kernel_get_prompt(k, sid, NULL, "cap-1", "p", NULL, 3, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt_ex(k, sid, NULL, "cap-1", "p", NULL, 1, NULL, &resp, &err),
        CHIO_EINVAL);
    ERC(chio_kernel_get_prompt(k, sid, NULL, "cap-1", "p", "{}", 2, NULL, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt(k, sid, NULL, "cap-1", "p", "{\"a\":\"\0\"}", 8, &resp, &err),
        CHIO_EJSON_CONTROL);
    o.flags = CHIO_CALL_DECIDE_ONLY;
    ERC(chio_kernel_read_resource_ex(k, sid, NULL, "cap-1", "u", &o, &resp, &err), CHIO_EINVAL);
    ERC(chio_kernel_get_prompt_ex(k, sid, NULL, "cap-1", "p", NULL, 0, &o, &resp, &err),
        CHIO_EINVAL);
    cr_expect_null(resp.receipt);
    cr_expect_eq(signed_receipts(k), 0, "no receipt for any refused call");
    cr_expect_gt(chio_kernel_unreceipted_errors(k, "invalid_arguments"), 0);

    /* After all that the kernel serves the same call. */
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), 0);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}
