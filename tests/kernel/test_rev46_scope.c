/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev46_scope.c - review 46 of scopes and argument
 * constraints: each row is one constraint, one argument value and the
 * verdict, through the real pipeline (a signed token, chio_kernel_evaluate,
 * a receipt for every row). Each test holds rows that were allowed before
 * its fix, and values that must stay allowed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

#define DX KT_DX("api.example.com")
#define DG KT_DG("*.example.com")

/* F1: chio holds every string leaf to the domain constraints, under any
 * key: its kernel's parse_domain reads "evil.com", "user@evil.com",
 * "evil.com:22" or "evil.com/x" as the host evil.com and denies it. The
 * kernel read bare hosts only under URL-ish keys, so a decoy URL beside
 * {"target": "evil.com"} (a ping, dig, git or mail tool's argument) was
 * allowed where chio denies. Rows 0-11 were allowed before. */
Test(rev46_scope, every_leaf_chio_reads_as_a_host_is_held_to_the_domain)
{
    static const row rows[] = {
        {DX, "{\"url\":\"https://api.example.com/\",\"target\":\"evil.com\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"to\":\"user@evil.com\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":\"evil.com:22\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"repo\":\"evil.com/org/x\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"dns\":\"8.8.8.8\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":\"mailto:x@evil.com\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":\" EVIL.com. \"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":[{\"n\":\"localhost\"}]}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"to\":\"x@ evil.com\"}", 0},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":\"evil.com\\u00a0:80\"}", 0},
        {DG, "{\"url\":\"https://a.example.com/\",\"peer\":\"\\u00a0evil.com\"}", 0},
        {DG, "{\"url\":\"https://a.example.com/\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\"}\"}",
         0},
        /* what chio reads as the allowed host, or as no host, stays allowed */
        /* a string inside a JSON text is no leaf to chio ('{"name":"report.pdf"}'
         * names no host): its own readings (URL-ish keys, URLs) hold it */
        {DX,
         "{\"url\":\"https://api.example.com/v1\",\"body\":\"{\\\"name\\\":\\\"report.pdf\\\"}\"}",
         1},
        {DX, "{\"url\":\"https://api.example.com/v1\",\"body\":\"[\\\"a.txt\\\",\\\"1.2.3\\\"]\"}",
         1},
        {DX, "{\"url\":\"https://api.example.com/\",\"to\":\"bot@api.example.com\"}", 1},
        {DX, "{\"url\":\"https://api.example.com/\",\"q\":\"hello world\",\"n\":\"x\"}", 1},
        {DX, "{\"url\":\"https://api.example.com/\",\"note\":\"mail bob@evil.com today\"}", 1},
        {DG, "{\"url\":\"https://a.example.com/\",\"mirror\":\"b.example.com:8080/x\"}", 1},
        {DX, "{\"url\":\"https://api.example.com/\",\"path\":\"/workspace/b.txt\"}", 1},
        /* a host chio reads is a check, not the URL a grant needs */
        {DX, "{\"q\":\"api.example.com\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

#define PP KT_PP("/workspace")

/* F2: Windows' best-fit conversion (a wide argument handed to an ANSI API
 * or argv) maps U+2215 DIVISION SLASH and U+2044 FRACTION SLASH to '/',
 * U+2216 SET MINUS to '\' (code page 1252), U+00A5 YEN SIGN to '\' (932)
 * and U+20A9 WON SIGN to '\' (949). The kernel folded only the NFKC
 * look-alikes, though docs/spec-reading.md says paths are read as
 * best-fit leaves them too, so "/workspace/..\u2215etc\u2215passwd" was
 * under path_prefix /workspace. Rows 0-4 were allowed before. */
Test(rev46_scope, best_fit_slashes_climb_out_of_a_path_prefix)
{
    static const row rows[] = {
        {PP, "{\"path\":\"/workspace/..\\u2215etc\\u2215passwd\"}", 0},
        {PP, "{\"path\":\"/workspace/..\\u2044..\\u2044etc\"}", 0},
        {PP, "{\"path\":\"/workspace/x/..\\u2216..\\u2216etc\"}", 0},
        {PP, "{\"path\":\"/workspace/x/..\\u00a5..\\u00a5etc\"}", 0},
        {PP, "{\"path\":\"/workspace/x/..\\u20a9..\\u20a9etc\"}", 0},
        {PP, "{\"path\":\"/workspace/a\",\"x\":\"..\\u2215..\\u2215etc\"}", 0},
        /* names holding them, and other non-ASCII names, stay allowed */
        {PP, "{\"path\":\"/workspace/\\u00a5100.txt\"}", 1},
        {PP, "{\"path\":\"/workspace/a\\u2215b/caf\\u00e9\"}", 1},
        {PP, "{\"path\":\"/workspace/x/..\\u2215y\"}", 1},
        /* a yen or won sign is a currency sign where nothing else says path */
        {PP, "{\"path\":\"/workspace/a\",\"text\":\"Total: \\u00a5100, \\u20a95000\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F2, the forbidden_path guard (on /etc/ and /root/): the same readings.
 * Rows 0-3 were allowed before. */
Test(rev46_scope, best_fit_slashes_reach_a_forbidden_prefix)
{
    static const char *const args[] = {
        "{\"p\":\"/etc\\u2215passwd\"}",
        "{\"p\":\"\\u2044root\\u2044.ssh\"}",
        "{\"p\":\"/tmp/..\\u00a5etc\\u00a5shadow\"}",
        "{\"p\":\"/tmp/..\\u20a9..\\u20a9etc\\u20a9passwd\"}",
        "{\"p\":\"/tmp/\\u00a5100\"}",
        "{\"p\":\"\\u20a9etc\\u20a9passwd\"}", /* a price, unless a slash says path */
    };
    static const int denied[] = {1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

static uint64_t at_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int read_any(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"content\"", 9);
}

/* One resource read of @uri in a session of its own holding a token whose
 * one resource grant is the prefix "file:///pub/"; its code, checking the receipt. */
static chio_code read_pub(chio_kernel *k, const char *id, const char *uri)
{
    static const char scope[] =
        "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}";
    char *tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    char sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1];
    chio_response r;
    chio_error err;
    chio_code code;

    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, id, uri, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt, "%s: no receipt", uri);
    code = r.code;
    chio_response_destroy(&r);
    return code;
}

/* F2, a resource prefix grant: a URI with a best-fit dot segment is under
 * no prefix pattern. Reads 0-3 were allowed before. */
Test(rev46_scope, best_fit_slashes_leave_a_resource_prefix_grant)
{
    static const struct {
        const char *uri;
        int allow;
    } reads[] = {
        {"file:///pub/..\xe2\x88\x95"
         "etc/passwd",
         0},
        {"file:///pub/..\xc2\xa5"
         "etc/passwd",
         0},
        {"file:///pub/x/..\xe2\x81\x84..\xe2\x81\x84"
         "etc",
         0},
        {"file:///pub/\xc2\xa5"
         "100.txt",
         0}, /* "\100.txt", a root of its own to Windows' os.path.join */
        {"file:///pub/a\xc2\xa5"
         "100.txt",
         1},
    };
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, at_now, "srv", tools, 1);
    chio_resource_provider rp;
    chio_error err;
    char id[32];
    size_t i;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = read_any;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        snprintf(id, sizeof(id), "cap-res-%zu", i);
        cr_expect_eq(read_pub(k, id, reads[i].uri),
                     reads[i].allow ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE, "read %zu: %s", i,
                     reads[i].uri);
    }
    chio_kernel_free(k);
}

/* F3: Windows drops one '.' that ends a path segment and the trailing
 * dots and spaces of the last one (Microsoft's "File path formats"), so a
 * Windows tool opens /etc/passwd for "/etc./passwd"; the forbidden_path
 * guard (on /etc/ and /root/) compared "etc." with "etc" and let it
 * through. Rows 0-4 were allowed before. */
Test(rev46_scope, windows_trailing_dots_reach_a_forbidden_prefix)
{
    static const char *const args[] = {
        "{\"p\":\"/etc./passwd\"}",
        "{\"p\":\"/root./.ssh/id_rsa\"}",
        "{\"p\":\"/tmp/../etc./shadow\"}",
        "{\"p\":\"file:///etc./passwd\"}",
        "{\"cmd\":\"cat /root. \"}",
        /* three dots, or two, are a name to Windows too */
        "{\"p\":\"/etc../passwd\"}",
        "{\"p\":\"/tmp/etc./x\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* A kernel at NOW serving srv/t through the echo tool, with a
 * secret_leak guard on an AWS key id and an API key, and a forbidden_path
 * guard on /etc/. */
static chio_kernel *secret_kernel(void)
{
    static const char *const tools[] = {"t"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}", "sk-[a-zA-Z0-9]{20}"};
    static const char *const prefixes[] = {"/etc/"};
    chio_kernel *k = kt_echo_kernel(NULL, at_now, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, 2, &err), 0, "%s",
                 err.message);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 1, &err), 0, "%s",
                 err.message);
    return k;
}

/* F4: the secret scanner (and the NFKC reading of paths) folded only
 * fullwidth and mathematical look-alikes to ASCII, while NFKC turns a
 * thousand more code points into one ASCII character: circled (U+24BE
 * is 'I'), squared (U+1F138), Roman numeral (U+2160), letterlike
 * (U+2110), superscript (U+00B9 is '1') letters and digits, small
 * punctuation (U+FE63 is '-'). A tool that normalises the text reads the
 * key. Rows 0-6 were allowed before. */
Test(rev46_scope, secrets_spelled_with_what_nfkc_folds_are_found)
{
    static const struct {
        const char *args;
        int denied;
    } rows[] = {
        {"{\"x\":\"AKIA\\u24beOSFODNN7EXAMPLE\"}", 1},
        {"{\"x\":\"AKIA\\ud83c\\udd38OSFODNN7EXAMPLE\"}", 1},
        {"{\"x\":\"AKIA\\u2160OSFODNN7EXAMPLE\"}", 1},
        {"{\"x\":\"AKIA\\u2110OSFODNN7EXAMPLE\"}", 1},
        {"{\"x\":\"AKIAIOSFODNN\\u00b9EXAMPLE\"}", 1},
        {"{\"x\":\"sk\\ufe63abcdefghijklmnopqrst\"}", 1},
        {"{\"p\":\"/\\u24d4tc/passwd\"}", 1},
        /* look-alikes NFKC keeps (Greek, Cyrillic), and plain text, pass */
        {"{\"x\":\"AKIA\\u0399OSFODNN7EXAMPLE\"}", 0},
        {"{\"x\":\"\\u2460 \\u2461 \\u00b2 caf\\u00e9\"}", 0},
    };
    chio_kernel *k = secret_kernel();
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(id, sizeof(id), "cap-sec-%zu", i);
        kt_grant_session(k, NOW, id, "", sid);
        kt_grant_call(&c, sid, id, rows[i].args, strlen(rows[i].args));
        chio_error_init(&err);
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", rows[i].args, err.message);
        cr_assert_not_null(r.receipt, "%s: no receipt", rows[i].args);
        if (rows[i].denied)
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, rows[i].args,
                         chio_code_name(r.code));
        else
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, rows[i].args,
                         r.reason);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}
