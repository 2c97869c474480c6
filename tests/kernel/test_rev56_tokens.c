/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev56_tokens.c - review 9 of the tokens, F3: a token
 * with a top-level member the kernel does not enforce (signed, so it
 * cannot be dropped) is unusable on every path, unsupported_grant; on the
 * resource and prompt paths the reason blamed "the matching resource
 * grant" (or prompt grant) for the token's own member. It names the
 * capability now, as the tool path does.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define SCOPE                                                                              \
    "{\"grants\":[],\"prompt_grants\":[{\"operations\":[\"get\"],\"prompt_name\":\"*\"}]," \
    "\"resource_grants\":[{\"operations\":[\"read\"],\"uri_pattern\":\"file:///docs/*\"}]}"

static uint64_t at(void *ctx)
{
    (void)ctx;
    return IAT + 10;
}

static int provide(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"text\"", 6);
}

static int prompt(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "\"prompt\"", 8);
}

/* A token of TK_KERNEL_SEED's with the extra top-level member "zz",
 * signed by hand (chio_capability_issue() refuses unknown members). */
static char *token_with_zz(void)
{
    char issuer[65], body[1024], *out;

    tk_pub(TK_KERNEL_SEED, issuer);
    snprintf(body, sizeof(body),
             "{\"expires_at\":%u,\"id\":\"cap-zz\",\"issued_at\":%u,\"issuer\":\"%s\","
             "\"scope\":" SCOPE ",\"subject\":\"" TK_AGENT_PUB "\",\"zz\":1}",
             IAT + 1000, IAT, issuer);
    out = tk_sign_body(TK_KERNEL_SEED, body);
    cr_assert_not_null(out);
    return out;
}

Test(rev56_tokens, a_tokens_own_unknown_member_is_named_as_the_capabilitys_on_every_path)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, at, "srv", tools, 1);
    chio_resource_provider rp;
    chio_prompt_provider pp;
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token_with_zz();
    chio_response r;
    chio_error err;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "docs";
    rp.read = provide;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "prompts";
    pp.get = prompt;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    kt_open1(k, tok, sid);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-zz", "file:///docs/a", &r, &err), 0,
                 "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.code, CHIO_CODE_UNSUPPORTED_GRANT, "%s", chio_code_name(r.code));
    cr_expect_str_eq(r.reason, "the capability has a field the kernel does not enforce ('zz')");
    chio_response_destroy(&r);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, NULL, "cap-zz", "p", "{}", 2, &r, &err), 0, "%s",
                 err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.code, CHIO_CODE_UNSUPPORTED_GRANT, "%s", chio_code_name(r.code));
    cr_expect_str_eq(r.reason, "the capability has a field the kernel does not enforce ('zz')");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* chio_capability_grants_read() (review 9 MCP F1: the gateway's list and
 * update filters ask it) answers as a read's scope check does, on a token
 * whose one resource grant is file:///docs/ and below. */
Test(rev56_tokens, grants_read_answers_as_the_reads_scope_check)
{
    static const struct {
        const char *uri;
        int granted;
    } rows[] = {
        {"file:///docs/a", 1},
        {"file:///docs/sub/b.txt", 1},
        {"file:///docs/../etc/passwd", 0},
        {"file:///docs/%2e%2e/etc/passwd", 0},
        {"file:///docs//etc/x", 0},
        {"file:///docs/a\\..\\..\\etc", 0},
        {"file:///etc/passwd", 0},
        {"", 0},
    };
    char *tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                         "{\"resource_grants\":[{\"uri_pattern\":\"file:///docs/*\","
                         "\"operations\":[\"read\"]}]}",
                         IAT, 100, NULL, 0);
    chio_capability *cap = NULL;
    int granted = 7;

    cr_assert_not_null(tok);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cr_assert_eq(chio_capability_grants_read(cap, rows[i].uri, &granted), 0, "%s", rows[i].uri);
        cr_expect_eq(granted, rows[i].granted, "%s", rows[i].uri);
    }
    granted = 7;
    cr_expect_eq(chio_capability_grants_read(NULL, "file:///docs/a", &granted), CHIO_EINVAL);
    cr_expect_eq(granted, 0);
    cr_expect_eq(chio_capability_grants_read(cap, NULL, &granted), CHIO_EINVAL);
    cr_expect_eq(chio_capability_grants_read(cap, "file:///docs/a", NULL), CHIO_EINVAL);
    granted = 7;
    cr_expect_eq(chio_capability_grants_read(cap, "file:///docs/\xff", &granted), CHIO_EINVAL);
    cr_expect_eq(granted, 0);
    chio_capability_free(cap);
    free(tok);
}
