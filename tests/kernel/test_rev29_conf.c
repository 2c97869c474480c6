/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_conf.c - review 29, conformance of the kernel
 * with a literal reading of spec/kernel.md, through the real pipeline
 * (chio_kernel_evaluate on an ephemeral store, Ed25519 receipts):
 *
 *  - forbidden_path: "deny when any string argument starts with one" of
 *    its prefixes. A prefix that cannot be read as a path ("../", a
 *    control character, '..' above the root) is still a prefix: it is
 *    registered, denies the strings that start with it as written, and the
 *    operator hears (a warn log line) that only that spelling is caught.
 *    Before, registration refused it (CHIO_EINVAL), so a policy naming
 *    "../" could not be run at all.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* Warn lines seen by the log sink (one kernel at a time in this file). */
static char warned[4096];

static void log_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    size_t used = strlen(warned);

    (void)ctx;
    if (level == CHIO_LOG_WARN && used + len + 2 < sizeof(warned)) {
        memcpy(warned + used, json, len);
        warned[used + len] = '\n';
        warned[used + len + 1] = '\0';
    }
}

/* A kernel serving srv/t (echo), logging warnings to log_sink. */
static chio_kernel *new_kernel(void)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    warned[0] = '\0';
    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = log_sink;
    cfg.log_level = CHIO_LOG_WARN;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    return k;
}

/* The verdict of srv/t with @args, in a new session of a token allowing
 * everything; the code in *@code. */
static chio_verdict call(chio_kernel *k, const char *args, chio_code *code)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32], *tok;
    const char *caps[1];
    chio_response r;
    chio_verdict v;
    chio_error err;
    chio_call c;

    snprintf(id, sizeof(id), "cap-r29-%u", ++n);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   NOW - 10, 1000, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = id;
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", args, err.message);
    cr_assert_not_null(r.receipt, "%s: no receipt", args);
    v = r.verdict;
    *code = r.code;
    chio_response_destroy(&r);
    free(tok);
    return v;
}

static void expect_denied(chio_kernel *k, const char *args)
{
    chio_code code;

    cr_expect_eq(call(k, args, &code), CHIO_VERDICT_DENY, "%s was allowed", args);
    cr_expect_eq(code, CHIO_CODE_GUARD_DENIED, "%s: code %s", args, chio_code_name(code));
}

static void expect_allowed(chio_kernel *k, const char *args)
{
    chio_code code;

    cr_expect_eq(call(k, args, &code), CHIO_VERDICT_ALLOW, "%s: %s", args, chio_code_name(code));
}

Test(rev29_conf_kernel, a_forbidden_prefix_that_is_no_path_denies_what_starts_with_it)
{
    static const char *const odd[] = {"../", "/../etc/", "/etc/\n", "/a/../../etc"};
    chio_kernel *k = new_kernel();
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Odd", odd, 4, &err), 0, "%s",
                 err.message);
    /* one warn line per such prefix, naming its index */
    cr_expect_not_null(strstr(warned, "\"prefix_index\":0"), "%s", warned);
    cr_expect_not_null(strstr(warned, "\"prefix_index\":3"), "%s", warned);
    cr_expect_not_null(strstr(warned, "forbidden_prefix_as_written"), "%s", warned);
    expect_denied(k, "{\"p\":\"../secret\"}");
    expect_denied(k, "{\"p\":\"/../etc/passwd\"}");
    expect_denied(k, "{\"p\":\"/etc/\\nx\"}");
    expect_denied(k, "{\"list\":[\"x\",{\"q\":\"/a/../../etc/shadow\"}]}");
    expect_allowed(k, "{\"p\":\"./x\",\"q\":\"a/b\"}");
    expect_allowed(k, "{\"p\":\"/etc\"}"); /* shorter than every prefix */
    chio_kernel_free(k);
}

/* A prefix that is a path logs nothing. */
Test(rev29_conf_kernel, a_forbidden_prefix_that_is_a_path_logs_nothing)
{
    static const char *const good[] = {"/etc/", "~/.ssh/", "relative/dir", "/"};
    chio_kernel *k = new_kernel();
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Good", good, 4, &err), 0, "%s",
                 err.message);
    cr_expect_null(strstr(warned, "forbidden_prefix_as_written"), "%s", warned);
    chio_kernel_free(k);
}
