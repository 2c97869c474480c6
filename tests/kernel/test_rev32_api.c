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
 * tests/core/test_rev32_api.c.
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
#include "kernel/tokens.h"

#define NOW 1700000000u

/* @expr returns @want; for a failure the chio_error `err` (reset first)
 * holds the same code and a message. */
#define ERC(expr, want)                                                                   \
    do {                                                                                  \
        chio_error_init(&err);                                                            \
        int rc_ = (expr);                                                                 \
        cr_expect_eq(rc_, (want), "%s: got %s want %s (%s)", #expr, chio_errno_name(rc_), \
                     chio_errno_name(want), err.message);                                 \
        if ((want) < 0 && rc_ == (want)) {                                                \
            cr_expect_eq(err.code, (want), "%s: err.code %d", #expr, err.code);           \
            cr_expect_neq(err.message[0], '\0', "%s: no message", #expr);                 \
        }                                                                                 \
    } while (0)
#define RC(expr, want)                                                               \
    do {                                                                             \
        int rc_ = (expr);                                                            \
        cr_expect_eq(rc_, (want), "%s: got %s want %s", #expr, chio_errno_name(rc_), \
                     chio_errno_name(want));                                         \
    } while (0)

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

/* ---- a tool's context and output ---------------------------------------------------------- */

Test(rev32_kapi, tool_context_and_output_calls_on_null)
{
    char *reply = (char *)1;
    size_t len = 0;
    chio_error err;

    RC(chio_output_set_json(NULL, "1", 1), CHIO_EINVAL);
    chio_output_set_error(NULL, "x");
    RC(chio_tool_ctx_emit_chunk(NULL, "1", 1), CHIO_EINVAL);
    cr_expect_eq(chio_tool_ctx_cancelled(NULL), 0);
    cr_expect_null(chio_tool_ctx_session_id(NULL));
    cr_expect_null(chio_tool_ctx_request_id(NULL));
    ERC(chio_tool_ctx_sample(NULL, "{}", 2, 0, &reply, &len, &err), CHIO_EINVAL);
    ERC(chio_tool_ctx_elicit(NULL, "{}", 2, &reply, &len, &err), CHIO_EINVAL);
}

/* A tool that misuses its own context: NULL and bad arguments to every
 * call it may make. Records the results for the test to check. */
typedef struct misuse_log {
    int set_null, set_huge, set_nul, emit_null, sample_null_reply, sample_null_text;
    int elicit_null_reply, sample_no_len, elicit_no_len, emit_unstreamed;
    char *sampled;
} misuse_log;

static int misusing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    misuse_log *m = user;
    size_t rlen;
    char *reply = NULL;

    (void)tool;
    (void)args;
    (void)len;
    m->set_null = chio_output_set_json(out, NULL, 1);
    m->set_huge = chio_output_set_json(out, "1", SIZE_MAX);
    m->set_nul = chio_output_set_json(out, "\"\0\"", 3);
    chio_output_set_error(out, NULL);
    m->emit_null = chio_tool_ctx_emit_chunk(ctx, NULL, 1);
    m->sample_null_reply = chio_tool_ctx_sample(ctx, "{}", 2, 0, NULL, &rlen, NULL);
    m->sample_null_text = chio_tool_ctx_sample(ctx, NULL, 2, 0, &reply, &rlen, NULL);
    m->elicit_null_reply = chio_tool_ctx_elicit(ctx, "{}", 2, NULL, NULL, NULL);
    cr_expect_null(reply);
    /* The reply's length is optional (the reply is NUL-terminated). */
    m->sample_no_len = chio_tool_ctx_sample(ctx, "{}", 2, 0, &m->sampled, NULL, NULL);
    m->elicit_no_len = chio_tool_ctx_elicit(ctx, "{}", 2, &reply, NULL, NULL);
    chio_free(reply);
    /* A chunk from a tool that is not streamed. */
    m->emit_unstreamed = chio_tool_ctx_emit_chunk(ctx, "1", 1);
    return chio_output_set_json(out, "1", 1);
}

Test(rev32_kapi, a_tool_misusing_its_context_gets_codes_and_the_call_ends_with_a_receipt)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_tool_server ts;
    chio_response resp;
    chio_call call;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];
    misuse_log m;

    memset(&m, 0, sizeof m);
    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof ts);
    ts.server_id = "srv";
    ts.tool_names = TOOLS;
    ts.ntools = 1;
    ts.invoke = misusing_tool;
    ts.user = &m;
    ERC(chio_kernel_register_tool_server(k, &ts, &err), 0);
    open_one(k, sid);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    chio_response_init(&resp);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), 0);
    cr_expect_eq(m.set_null, CHIO_EINVAL);
    cr_expect_eq(m.set_huge, CHIO_ETOOBIG);
    cr_expect_eq(m.set_nul, CHIO_EJSON_CONTROL);
    cr_expect_eq(m.emit_null, CHIO_EINVAL);
    cr_expect_eq(m.sample_null_reply, CHIO_EINVAL);
    cr_expect_eq(m.sample_null_text, CHIO_EINVAL);
    cr_expect_eq(m.elicit_null_reply, CHIO_EINVAL);
    cr_expect_eq(m.sample_no_len, 0);
    cr_expect_eq(m.emit_unstreamed, CHIO_EINVAL, "got %s", chio_errno_name(m.emit_unstreamed));
    cr_expect_eq(m.elicit_no_len, 0);
    cr_expect_str_eq(m.sampled ? m.sampled : "(none)", "null");
    chio_free(m.sampled);
    cr_expect_not_null(resp.receipt);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}

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
