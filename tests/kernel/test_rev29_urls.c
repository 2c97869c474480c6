/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_urls.c - review 29 of the constraints, guards
 * and resource grants that read paths, hosts and member names: arguments a
 * tool would read outside the grant (or under a forbidden prefix) that the
 * kernel let through before, and a deny reason that kept a flagged secret.
 * Each row runs through the real pipeline and must leave a receipt; each
 * test names the rows that were allowed before its fix.
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

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

/* A kernel with the echo tool "t" on server "srv", at NOW. */
static chio_kernel *echo_kernel(void)
{
    static const char *const tools[] = {"t"};

    return kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
}

/* One call of srv/t with @args in a new session of a token whose one
 * grant carries @constraints (a JSON array's inside; "" for none). */
static void call(chio_kernel *k, const char *constraints, const char *args, chio_response *r)
{
    static unsigned n;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;
    chio_call c;

    snprintf(id, sizeof(id), "cap-rev29-%u", ++n);
    kt_grant_session(k, NOW, id, constraints, sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s: %s", args, err.message);
    cr_assert_not_null(r->receipt, "%s: no receipt", args);
}

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

#define PP KT_PP
#define DX KT_DX
#define DG KT_DG

/* NFKC turns U+2025 (two dot leader) and U+FE30 (its vertical form) into
 * "..", and U+FE68 (small reverse solidus) into '\'; only the one-dot
 * look-alikes and the fullwidth slashes were folded, so "/w/\u2025/etc"
 * stayed one name. Rows 0-3 were allowed before. */
Test(rev29_urls, nfkc_dot_leaders_and_small_reverse_solidus_are_read_in_paths)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":\"/workspace/\\u2025/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/\\ufe30/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a/..\\ufe68..\\ufe68etc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"\\u2025\\ufe68secret\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/\\u2026\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a\\u2025b\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* The same reader folds fullwidth and mathematical letters to ASCII:
 * "/\uff45\uff54\uff43/passwd" is /etc/passwd to it, and only dots and
 * slashes were folded for the forbidden_path guard. Rows 0-3 were allowed
 * before. */
Test(rev29_urls, fullwidth_letters_in_a_path_are_folded_for_the_forbidden_path_guard)
{
    static const char *const args[] = {
        "{\"path\":\"/\\uff45\\uff54\\uff43/passwd\"}",
        "{\"cmd\":\"cat /\\uff52\\uff4f\\uff4f\\uff54/.ssh/id_rsa\"}",
        "{\"path\":\"/tmp/\\u2025/etc/shadow\"}",
        "{\"path\":\"/\\ud835\\udc1e\\ud835\\udc2d\\ud835\\udc1c/hosts\"}",
        "{\"path\":\"/tmp/\\uff45\\uff54\\uff43/passwd\"}",
        "{\"path\":\"/\\uff54\\uff4d\\uff50/x\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* A prefix of "." (or "") covers every relative path, and "~/.ssh/id_rsa"
 * or "C:\\Windows\\win.ini" normalise to relative paths; a tool that
 * expands '~' (a shell, Python's expanduser) or runs on Windows reads
 * them outside its working directory. Rows 0-3 were allowed before. */
Test(rev29_urls, home_and_drive_paths_are_not_under_a_relative_prefix)
{
    static const row rows[] = {
        {PP("."), "{\"path\":\"~/.ssh/id_rsa\"}", 0},
        {PP("."), "{\"path\":\"~root/.ssh/id_rsa\"}", 0},
        {PP("./"), "{\"path\":\"C:\\\\Windows\\\\win.ini\"}", 0},
        {PP(""), "{\"path\":\"c:secret.txt\"}", 0},
        {PP("."), "{\"path\":\"src/main.c\"}", 1},
        {PP("."), "{\"path\":\"src/~backup\"}", 1},
        {PP("~/proj"), "{\"path\":\"~/proj/a.txt\"}", 1},
        {PP("src"), "{\"path\":\"src/c:x\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* WHATWG accepts '&', '$', '!', '*', ... in a host, and a glob's '*'
 * matched them: "https://evil.com&x.example.com/" was allowed by
 * *.example.com, yet a shell given that URL runs curl on evil.com in the
 * background. A host with a character no DNS name has denies. Rows 0-3
 * were allowed before. */
Test(rev29_urls, a_host_with_characters_no_dns_name_has_denies)
{
    static const row rows[] = {
        {DG("*.example.com"), "{\"url\":\"https://evil.com&x.example.com/\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://evil.com$x.example.com/\"}", 0},
        {DG("*example.com"), "{\"url\":\"https://evil.com!example.com/\"}", 0},
        {DG("*.example.com"), "{\"host\":\"evil.com&x.example.com\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://api.example.com/?a=1&b=2\"}", 1},
        {DG("*.example.com"), "{\"url\":\"https://my_host.example.com/\"}", 1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/a&b\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Counts the reads that reach the provider. */
static int provide(void *user, const char *uri, chio_output *out)
{
    (void)uri;
    (*(int *)user)++;
    return chio_output_set_json(out, "\"text\"", 6);
}

/* A resource URI with a dot segment is under no prefix pattern, in any
 * reading a provider may take; the NFKC look-alikes were only the
 * one-dot ones and the fullwidth slashes, so U+2025 ("..") and U+FE68
 * ('\') passed a grant of file:///pub/ *. Rows 0-3 were allowed before. */
Test(rev29_urls, resource_uris_with_nfkc_dot_leaders_are_not_under_a_prefix)
{
    static const struct {
        const char *uri;
        int allowed;
    } rows[] = {
        {"file:///pub/\xe2\x80\xa5/etc/passwd", 0}, /* U+2025 */
        {"file:///pub/\xef\xb8\xb0/etc/passwd", 0}, /* U+FE30 */
        {"file:///pub/..\xef\xb9\xa8"
         "etc",
         0},                                     /* U+FE68 */
        {"file:///pub/%E2%80%A5/etc/passwd", 0}, /* U+2025, encoded */
        {"file:///pub/a\xe2\x80\xa5"
         "b.txt",
         1},                             /* a name */
        {"file:///pub/\xe2\x80\xa6", 1}, /* U+2026: "..." is a name */
    };
    chio_resource_provider rp;
    chio_kernel *k = echo_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_response r;
    chio_error err;
    int reads = 0, want = 0;
    size_t i;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = provide;
    rp.user = &reads;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-rev29-pub", TK_AGENT_PUB,
                   "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\","
                   "\"operations\":[\"read\"]}]}",
                   NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response_init(&r);
        cr_assert_eq(
            chio_kernel_read_resource(k, sid, NULL, "cap-rev29-pub", rows[i].uri, &r, &err), 0,
            "%s: %s", rows[i].uri, err.message);
        cr_assert_not_null(r.receipt, "row %zu: no receipt", i);
        if (rows[i].allowed)
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, rows[i].uri,
                         r.reason);
        else
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_OUT_OF_SCOPE,
                      "row %zu (%s): verdict %d code %s", i, rows[i].uri, r.verdict,
                      chio_code_name(r.code));
        want += rows[i].allowed;
        cr_expect_eq(reads, want, "row %zu: the provider was asked %d times, want %d", i, reads,
                     want);
        chio_response_destroy(&r);
    }
    free(tok);
    chio_kernel_free(k);
}

/* A path value was read only whole: "/workspace/a /etc/passwd" is one path
 * under /workspace (a file named "a /etc/passwd"), yet a tool that hands
 * it to a shell or splits a list reads /etc/passwd as well. Each word that
 * starts a path (also after ",=:@;|&<>" and quotes, as a glued option's
 * value, and after one percent-decoding) must be under the prefix too.
 * Rows 0-8 were allowed before. */
Test(rev29_urls, each_word_of_a_path_value_that_starts_a_path_is_read)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"args\":\"/workspace/a /etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a;/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"files\":\"/workspace/a,/etc/shadow\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a>/etc/cron.d/x\"}", 0},
        {PP("/workspace"), "{\"args\":\"/workspace/a --out=/etc/x\"}", 0},
        {PP("/workspace"), "{\"args\":\"/workspace/a -o/etc/x\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a%20/etc/passwd\"}", 0},
        {PP("src"), "{\"path\":\"src/a ../../etc/passwd\"}", 0},
        {PP("/workspace"), "{\"args\":\"/workspace/a file:///etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/my notes.txt\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/Photos (2024)/a.jpg\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/node_modules/@types/node/x.d.ts\"}", 1},
        {PP("/workspace"), "{\"args\":\"/workspace/a /workspace/b,/workspace/c\"}", 1},
        {PP("/workspace"), "{\"args\":\"/workspace/a -o/workspace/b\"}", 1},
        {PP("/workspace"), "{\"args\":\"/workspace/a file://localhost/workspace/b\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* "/proc/<pid>/cwd/..." is a path in that process's working directory
 * (init's is "/": "/proc/1/cwd/etc/shadow" is /etc/shadow), and
 * "/proc/<pid>/fd/<n>/..." and "/dev/fd/<n>/..." a path in a directory it
 * holds open; the forbidden_path guard resolved only /proc/<pid>/root.
 * Such a path could be under any prefix: it is unreadable, so denied.
 * Rows 0-4 were allowed before. */
Test(rev29_urls, paths_through_cwd_and_fd_links_are_denied_by_the_forbidden_path_guard)
{
    static const char *const args[] = {
        "{\"path\":\"/proc/1/cwd/etc/shadow\"}",
        "{\"path\":\"/proc/self/task/7/cwd/root/.ssh/id_rsa\"}",
        "{\"path\":\"/proc/self/fd/3/passwd\"}",
        "{\"path\":\"/dev/fd/4/shadow\"}",
        "{\"cmd\":\"cat /proc/self/root/proc/1/cwd/etc/shadow\"}",
        "{\"path\":\"/proc/self/status\"}",
        "{\"path\":\"/proc/self/fd/1\"}",
        "{\"path\":\"/dev/fd/0\"}",
        "{\"path\":\"/tmp/proc/1/cwd/x\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

#define CU(k, v) "{\"type\":\"custom\",\"value\":[\"" k "\",\"" v "\"]}"

/* Go's encoding/json matches member names to fields case-insensitively
 * (U+017F and U+212A fold to 's' and 'k' as well), the last one winning:
 * {"env": "prod", "ENV": "staging"} sets env to "staging", yet custom
 * [env, prod] held (only "env" was compared). Rows 0-3 were allowed
 * before. */
Test(rev29_urls, custom_reads_member_names_as_a_case_folding_decoder_does)
{
    static const row rows[] = {
        {CU("env", "prod"), "{\"env\":\"prod\",\"ENV\":\"staging\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"opts\":{\"Env\":\"staging\"}}", 0},
        {CU("kind", "safe"), "{\"kind\":\"safe\",\"\\u212aind\":\"unsafe\"}", 0},
        {CU("mask", "on"), "{\"mask\":\"on\",\"ma\\u017fk\":\"off\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"Env\":\"prod\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"envx\":\"staging\"}", 1},
        {CU("env", "prod"), "{\"ENV\":\"prod\"}", 0}, /* no member env to an exact reader */
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A number where a path goes is denied with a reason that quotes it; a
 * secret_leak guard that flags the number has it redacted from the
 * receipt's parameters, but the reason was unquoted only when the key was
 * flagged, so the receipt kept the secret in its reason. */
Test(rev29_urls, a_flagged_number_where_a_path_goes_is_not_quoted_in_the_reason)
{
    static const char *const patterns[] = {"4[0-9]{15}"};
    chio_kernel *k = echo_kernel();
    chio_response r;
    chio_error err;
    size_t len;
    const char *json;
    char *copy;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, 1, &err), 0, "%s",
                 err.message);
    call(k, PP("/workspace"), "{\"path\":\"/workspace/a\",\"file\":4111111111111111}", &r);
    cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_CONSTRAINT_VIOLATED,
              "verdict %d code %s", r.verdict, chio_code_name(r.code));
    cr_expect_null(strstr(r.reason, "4111111111111111"), "the reason quotes it: %s", r.reason);
    json = chio_receipt_json(r.receipt, &len);
    copy = strndup(json, len);
    cr_assert_not_null(copy);
    cr_expect_null(strstr(copy, "4111111111111111"), "the receipt holds the secret: %s", copy);
    free(copy);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* A URL percent-encoded once or more ("https%3A%2F%2Fevil.com") was no
 * URL to the domain constraints (no "://" as written, no URL key), so it
 * passed beside an allowed URL; a tool that decodes it (a proxy or
 * redirect parameter passed on) fetches evil.com. Its decoded text is
 * now held to the constraint too. Rows 0-2 were allowed before. */
Test(rev29_urls, a_percent_encoded_url_is_held_to_the_domain_constraints)
{
    static const row rows[] = {
        {DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"https%3A%2F%2Fevil.com%2F\"}", 0},
        {DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"https%253A%252F%252Fevil.com\"}", 0},
        {DG("*.example.com"),
         "{\"url\":\"https://a.example.com/\",\"q\":\"see%20https%3A%2F%2Fevil.com\"}", 0},
        {DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"https%3A%2F%2Fapi.example.com%2Fx\"}",
         1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"q\":\"50%25 off\"}", 1},
        /* an encoded URL only adds a check: it names no URL by itself */
        {DX("api.example.com"), "{\"next\":\"https%3A%2F%2Fapi.example.com\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}
