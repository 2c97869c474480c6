/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev27_guards.c - review 27 of the guards and of what
 * receipts carry, through the real pipeline (chio_kernel_evaluate on an
 * ephemeral store, Ed25519 receipts): guard evidence and deny reasons never
 * quote a string a secret_leak guard flags (an object key naming the
 * argument, a host guard's details, the host's answer to a nested
 * request); a host guard answering oddly denies; a value encoded more
 * layers deep than the scanner undoes is
 * denied, not passed; words of percent-encoded running text are read as
 * paths; a forbidden prefix that cannot be read as a path is registered
 * (refused before review 29); secret patterns read bytes whatever locale the host set.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW     1710000300u
#define SECRET  "AKIAABCDEFGHIJKLMNOP"
#define SECRET2 "ghp_abcdefghij"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* The nested handler fails, quoting the request it was asked (as a model
 * API's error message may). */
static int failing_host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                        size_t len, chio_output *reply)
{
    char msg[512];

    (void)user;
    (void)kind;
    (void)session_id;
    snprintf(msg, sizeof(msg), "model refused the prompt %.*s", (int)len, req);
    chio_output_set_error(reply, msg);
    return -1;
}

/* A tool that asks the agent's model a question holding a secret. */
static int sampling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    static const char req[] = "{\"messages\":[{\"content\":\"my key is " SECRET "\"}]}";
    char *reply = NULL;
    size_t rlen;

    (void)user;
    (void)tool;
    chio_tool_ctx_sample(ctx, req, sizeof(req) - 1, 0, &reply, &rlen, NULL);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

/* A kernel serving "t" (echo) and "nest" (sampling_tool) on "srv". */
static chio_kernel *new_kernel(void)
{
    static const char *const echo_tools[] = {"t"};
    static const char *const nest_tools[] = {"nest"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = echo_tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    ts.server_id = "srv-nest";
    ts.tool_names = nest_tools;
    ts.invoke = sampling_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(k, failing_host, NULL, &err), 0, "%s", err.message);
    return k;
}

static void add_paths(chio_kernel *k)
{
    static const char *const prefixes[] = {"/etc/", "/root/"};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 2, &err), 0, "%s",
                 err.message);
}

static void add_secrets(chio_kernel *k, const char *name, const char *pattern)
{
    const char *patterns[1] = {pattern};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, name, patterns, 1, &err), 0, "%s",
                 err.message);
}

/* Call @server/@tool with @args in a new session of a token allowing
 * everything; the response in @r. */
static void call(chio_kernel *k, const char *server, const char *tool, const char *args,
                 chio_response *r)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32], *tok;
    const char *caps[1];
    chio_error err;
    chio_call c;

    snprintf(id, sizeof(id), "cap-r27-%u", ++n);
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
    c.server_id = server;
    c.tool_name = tool;
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_response_init(r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s: %s", args, err.message);
    cr_assert_not_null(r->receipt, "%s: no receipt", args);
    free(tok);
}

/* @rec verifies under the kernel key and holds none of @secret. */
static void expect_clean(const chio_receipt *rec, const char *secret, const char *what)
{
    chio_receipt_report rep;
    uint8_t pub[32];
    size_t len;
    const char *json = chio_receipt_json(rec, &len);
    char *copy;

    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, pub), 0);
    cr_assert_eq(chio_receipt_verify(rec, pub, 1, &rep), 0);
    cr_expect(rep.ok, "%s: the receipt does not verify", what);
    copy = strndup(json, len);
    cr_assert_not_null(copy);
    cr_expect_null(strstr(copy, secret), "%s: the receipt holds the secret: %s", what, copy);
    free(copy);
}

/* The guard that denied @r, from its receipt. */
static const char *denied_by(const chio_response *r)
{
    const chio_json *d = chio_json_get(chio_receipt_root(r->receipt), "decision");

    return chio_json_string(chio_json_get(d, "guard"), NULL);
}

/* ---- evidence and reasons never quote a flagged key --------------------------------------- */

Test(rev27_guards, a_forbidden_path_under_a_secret_key_does_not_quote_the_key)
{
    chio_kernel *k = new_kernel();
    chio_response r;

    add_paths(k); /* first: it denies before the secret guard runs */
    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    call(k, "srv", "t", "{\"" SECRET "\":\"/etc/passwd\"}", &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_str_eq(denied_by(&r), "Paths");
    cr_expect_null(strstr(r.reason, SECRET), "the reason quotes the key: %s", r.reason);
    expect_clean(r.receipt, SECRET, "path under a secret key");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(rev27_guards, a_secret_guard_does_not_quote_a_key_another_secret_guard_flags)
{
    chio_kernel *k = new_kernel();
    chio_response r;

    add_secrets(k, "Aws", "AKIA[0-9A-Z]{16}");
    add_secrets(k, "Github", "ghp_[a-z]{10}");
    call(k, "srv", "t", "{\"" SECRET2 "\":\"" SECRET "\"}", &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_str_eq(denied_by(&r), "Aws");
    cr_expect_null(strstr(r.reason, SECRET2), "the reason quotes the key: %s", r.reason);
    expect_clean(r.receipt, SECRET2, "value flagged by one guard, key by another");
    expect_clean(r.receipt, SECRET, "value flagged by one guard, key by another");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(rev27_guards, an_out_of_scope_resource_or_prompt_name_holding_a_secret_is_not_quoted)
{
    static const char *const names[] = {"https://h.example/x?token=" SECRET,
                                        "file:///docs/../" SECRET};
    chio_kernel *k = new_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_response r;
    chio_error err;
    size_t i;

    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    tok = tk_token(TK_KERNEL_SEED, "cap-rs", TK_AGENT_PUB,
                   "{\"resource_grants\":[{\"uri_pattern\":\"file:///docs/*\","
                   "\"operations\":[\"read\"]}],\"prompt_grants\":[{\"prompt_name\":"
                   "\"summarise\",\"operations\":[\"get\"]}]}",
                   NOW - 10, 1000, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-rs", names[i], &r, &err), 0, "%s",
                     err.message);
        cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE, "%s", chio_code_name(r.code));
        cr_expect_null(strstr(r.reason, SECRET), "the reason quotes the URI: %s", r.reason);
        expect_clean(r.receipt, SECRET, names[i]);
        chio_response_destroy(&r);
    }
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, NULL, "cap-rs", "leak-" SECRET, "{}", 2, &r, &err),
                 0, "%s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE, "%s", chio_code_name(r.code));
    cr_expect_null(strstr(r.reason, SECRET), "the reason quotes the name: %s", r.reason);
    expect_clean(r.receipt, SECRET, "prompt name");
    chio_response_destroy(&r);
    /* a clean name is still quoted */
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-rs", "file:///etc/x", &r, &err), 0);
    cr_expect_not_null(strstr(r.reason, "file:///etc/x"), "%s", r.reason);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* ---- host text a secret guard flags is withheld ------------------------------------------- */

/* A host guard whose details quote the arguments; @user: its verdict. */
static int quoting_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                         char *details, size_t cap)
{
    snprintf(details, cap, "looked at %.*s", (int)in->arguments_len, in->arguments_json);
    *verdict = *(const chio_guard_verdict *)user;
    return 0;
}

Test(rev27_guards, host_guard_details_quoting_a_secret_are_withheld)
{
    static const chio_guard_verdict deny = CHIO_GUARD_DENY, pass = CHIO_GUARD_PASS;
    chio_kernel *k = new_kernel();
    chio_response r;
    chio_error err;

    chio_error_init(&err);
    /* denies: its details become the reason and the evidence */
    cr_assert_eq(chio_kernel_add_guard(k, "Quoter", quoting_guard, (void *)&deny, &err), 0);
    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    call(k, "srv", "t", "{\"note\":\"" SECRET "\"}", &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_str_eq(denied_by(&r), "Quoter");
    cr_expect_null(strstr(r.reason, SECRET), "the reason quotes the secret: %s", r.reason);
    expect_clean(r.receipt, SECRET, "denying host guard");
    chio_response_destroy(&r);
    /* clean arguments: the details stay as the guard wrote them */
    call(k, "srv", "t", "{\"note\":\"hello\"}", &r);
    cr_expect_not_null(strstr(r.reason, "looked at {\"note\":\"hello\"}"), "%s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(k);

    /* passes: its evidence stays in the receipt the secret guard's deny signs */
    k = new_kernel();
    cr_assert_eq(chio_kernel_add_guard(k, "Quoter", quoting_guard, (void *)&pass, &err), 0);
    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    call(k, "srv", "t", "{\"note\":\"" SECRET "\"}", &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_str_eq(denied_by(&r), "Secrets");
    expect_clean(r.receipt, SECRET, "passing host guard");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* Quotes the arguments after 500 bytes of padding: a receipt keeps 511
 * bytes of details, so a cut there would split the secret. */
static int padded_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                        char *details, size_t cap)
{
    (void)user;
    snprintf(details, cap, "%500s%.*s", "", (int)in->arguments_len, in->arguments_json);
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

Test(rev27_guards, host_guard_details_are_checked_before_they_are_cut)
{
    chio_kernel *k = new_kernel();
    chio_response r;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_guard(k, "Padded", padded_guard, NULL, &err), 0);
    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    call(k, "srv", "t", "{\"n\":\"" SECRET "\"}", &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    expect_clean(r.receipt, "AKIA", "details cut inside the secret");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(rev27_guards, a_nested_host_error_quoting_a_secret_is_withheld_from_the_child_receipt)
{
    chio_kernel *k = new_kernel();
    chio_response r;

    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    call(k, "srv-nest", "nest", "{}", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_assert_eq(r.nchildren, 1);
    cr_expect_eq(chio_receipt_verdict(r.children[0]), CHIO_VERDICT_DENY);
    expect_clean(r.children[0], SECRET, "child receipt of a failed nested request");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* ---- a host guard's odd answers deny ------------------------------------------------------- */

/* @user: what to do; 0 pass (the control), 1 verdict 42, 2 verdict left
 * unset, 3 return 1, 4 return -5 with a pass verdict. */
static int odd_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                     char *details, size_t cap)
{
    int how = *(const int *)user;

    (void)in;
    (void)details;
    (void)cap;
    if (how == 0)
        *verdict = CHIO_GUARD_PASS;
    else if (how == 1)
        *verdict = (chio_guard_verdict)42;
    else if (how == 4)
        *verdict = CHIO_GUARD_PASS;
    return how == 3 ? 1 : how == 4 ? -5 : 0;
}

Test(rev27_guards, a_host_guard_answering_oddly_denies_with_a_receipt)
{
    static const int hows[] = {0, 1, 2, 3, 4};
    size_t i;

    for (i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
        chio_kernel *k = new_kernel();
        chio_response r;
        chio_error err;

        chio_error_init(&err);
        cr_assert_eq(chio_kernel_add_guard(k, "Odd", odd_guard, (void *)&hows[i], &err), 0);
        call(k, "srv", "t", "{\"a\":1}", &r);
        if (hows[i] == 0) {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        } else {
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_GUARD_DENIED,
                      "case %d: verdict %d code %s", hows[i], r.verdict, chio_code_name(r.code));
            cr_expect_str_eq(denied_by(&r), "Odd", "case %d", hows[i]);
            expect_clean(r.receipt, "\x01", "odd guard"); /* verifies */
            /* review 12: the receipt tells a broken guard from a deny */
            if (hows[i] == 1)
                cr_expect_not_null(strstr(r.reason, "guard returned an invalid verdict 42"), "%s",
                                   r.reason);
        }
        chio_response_destroy(&r);
        chio_kernel_free(k);
    }
}

/* ---- the secret scanner stops early: it denies ------------------------------------------------
 */

Test(rev27_guards, a_value_encoded_deeper_than_the_scanner_reads_is_denied_and_redacted)
{
    static const struct {
        const char *args;
        int denied;
    } rows[] = {
        /* four layers: undone, the pattern matches */
        {"{\"n\":\"%25252541KIAABCDEFGHIJKLMNOP\"}", 1},
        /* five and more: no more readings, so no pass either */
        {"{\"n\":\"%2525252541KIAABCDEFGHIJKLMNOP\"}", 1},
        {"{\"n\":\"&#37;2525252541KIAABCDEFGHIJKLMNOP\"}", 1},
        {"{\"%252525252541KIAABCDEFGHIJKLMNOP\":1}", 1},
        /* deep, but no secret under it: still unreadable, denied */
        {"{\"n\":\"%2525252541\"}", 1},
        /* four layers of something harmless pass */
        {"{\"n\":\"100%25252525\"}", 0},
        {"{\"n\":\"50%\"}", 0},
    };
    chio_kernel *k = new_kernel();
    size_t i;

    add_secrets(k, "Secrets", "AKIA[0-9A-Z]{16}");
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;
        const chio_json *root;

        call(k, "srv", "t", rows[i].args, &r);
        if (!rows[i].denied) {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu: %s", i, r.reason);
            chio_response_destroy(&r);
            continue;
        }
        cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, rows[i].args,
                     chio_code_name(r.code));
        root = chio_receipt_root(r.receipt);
        cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "redacted",
                         "row %zu", i);
        /* eight characters of every row's value: "2541" alone turned up
         * in the receipt's random ids and hashes about once in 30 runs */
        expect_clean(r.receipt, "25252541", rows[i].args);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);

    /* a secret_leak guard with no pattern looks for nothing, however deep */
    k = new_kernel();
    {
        chio_response r;
        chio_error err;

        chio_error_init(&err);
        cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Empty", NULL, 0, &err), 0, "%s",
                     err.message);
        call(k, "srv", "t", rows[1].args, &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

/* ---- percent-encoded running text ------------------------------------------------------------ */

Test(rev27_guards, words_of_percent_encoded_running_text_are_read_as_paths)
{
    static const struct {
        const char *args;
        int denied;
    } rows[] = {
        {"{\"cmd\":\"cat%20/etc/passwd\"}", 1},   {"{\"cmd\":\"/tmp/x%20/etc/passwd\"}", 1},
        {"{\"q\":\"a%3B/root/.ssh/id_rsa\"}", 1}, {"{\"cmd\":\"cat%20%2Fetc%2Fshadow\"}", 1},
        {"{\"cmd\":\"cat%20/tmp/notes\"}", 0},    {"{\"q\":\"100%25%20of%20/tmp/x\"}", 0},
    };
    chio_kernel *k = new_kernel();
    size_t i;

    add_paths(k);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;

        call(k, "srv", "t", rows[i].args, &r);
        if (rows[i].denied) {
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, rows[i].args,
                         chio_code_name(r.code));
            cr_expect_str_eq(denied_by(&r), "Paths", "row %zu", i);
        } else {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, rows[i].args,
                         r.reason);
        }
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

/* ---- shell quoting ----------------------------------------------------------------------------
 */

Test(rev27_guards, paths_spelled_with_shell_quotes_or_ifs_are_read_as_the_shell_reads_them)
{
    static const struct {
        const char *args;
        int denied;
    } rows[] = {
        {"{\"cmd\":\"cat /e''tc/passwd\"}", 1},
        {"{\"cmd\":\"cat /e\\\"t\\\"c/passwd\"}", 1},
        {"{\"cmd\":\"cat /e\\\\tc/passwd\"}", 1},
        {"{\"cmd\":\"cat$IFS/etc/passwd\"}", 1},
        {"{\"cmd\":\"cat${IFS}/r'oo't/x\"}", 1},
        {"{\"p\":\"/r'o'ot/.ssh/id_rsa\"}", 1},
        {"{\"cmd\":\"echo \\\"it's fine\\\" /tmp/x\"}", 0},
        {"{\"cmd\":\"cat '/tmp/a b' \\\"/tmp/c\\\"\"}", 0},
    };
    chio_kernel *k = new_kernel();
    size_t i;

    add_paths(k);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;

        call(k, "srv", "t", rows[i].args, &r);
        if (rows[i].denied) {
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, rows[i].args,
                         chio_code_name(r.code));
            cr_expect_str_eq(denied_by(&r), "Paths", "row %zu", i);
        } else {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, rows[i].args,
                         r.reason);
        }
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

/* ---- a forbidden prefix that cannot be read is still a prefix ------------------------------ */

/* Review 27 refused these at registration (CHIO_EINVAL); kernel.md's
 * forbidden_path only asks for "starts with", which needs no path, so
 * review 29 registers them (matched as written, with a warn log line:
 * test_rev29_conf.c). */
Test(rev27_guards, a_forbidden_prefix_that_cannot_be_read_as_a_path_is_registered)
{
    static const char *const odd[] = {"/../etc/", "/etc/\n", "/proc/1/../x", "/a/../../etc"};
    static const char *const good[] = {"/etc/", "~/.ssh/", "relative/dir", "/"};
    chio_kernel *k = new_kernel();
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "odd-%zu", i);
        chio_error_init(&err);
        cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, name, odd + i, 1, &err), 0,
                     "prefix %zu: %s", i, err.message);
    }
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, "good", good, 4, &err), 0, "%s",
                 err.message);
    chio_kernel_free(k);
}

/* ---- secret patterns do not depend on the host's locale ------------------------------------ */

/* kernel.md: secret_leak patterns are POSIX EREs. They are compiled and
 * matched in the C locale (a byte is a character), as `chio scenario run`
 * reads them, whatever locale the embedding program selected: under a
 * UTF-8 locale "^.$" held for "\u00e9" before, and not under the CLI's.
 * (Keys are scanned too: "qq" matches neither pattern.) */
Test(rev27_guards, secret_patterns_read_bytes_whatever_locale_the_host_set)
{
    locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0), prev;
    chio_response r;
    chio_kernel *k;

    cr_assert_neq(utf8, (locale_t)0, "this test needs the C.UTF-8 locale");
    prev = uselocale(utf8);
    k = new_kernel();
    add_secrets(k, "OneChar", "^.$");
    add_secrets(k, "TwoChars", "^x..$");
    call(k, "srv", "t", "{\"qq\":\"\u00e9\"}", &r); /* two bytes: not one character */
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "\u00e9 is two bytes: %s", r.reason);
    chio_response_destroy(&r);
    call(k, "srv", "t", "{\"qq\":\"x\u00e9\"}", &r); /* x and two bytes */
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "x\u00e9 is three bytes: %s", r.reason);
    cr_expect_str_eq(denied_by(&r), "TwoChars");
    chio_response_destroy(&r);
    call(k, "srv", "t", "{\"qq\":\"z\"}", &r);
    cr_expect_str_eq(denied_by(&r), "OneChar");
    chio_response_destroy(&r);
    chio_kernel_free(k);
    uselocale(prev);
    freelocale(utf8);
}
