/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev59_guards.c - review 19 of the guards and
 * constraints (docs/security.md "Inputs are read the way the tool will
 * read them"):
 *   - F1: a host name holding '_' ("x_y.evil.com", which DNS serves and
 *     curl resolves) was no host under a key outside the URL-ish list,
 *     nor as an option's value or a later field;
 *   - F2: an IPv6 address without brackets ("::ffff:7f00:1", "::1") was
 *     no host there, nor after curl's "--resolve HOST:PORT:";
 *   - F3: JSON encoded twice (a string whose text is one JSON string
 *     literal holding JSON) was text to custom, the domain constraints,
 *     forbidden_path and secret_leak;
 *   - F4: bash's short "\u41" and "\U49" escapes were not undone by the
 *     secret scanner.
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/rev32secret.h"

#define NOW         1710000300u
#define WITH_URL(m) "{\"url\":\"https://api.example.com/\"," m "}"
#define CUSTOM_PROD "{\"type\":\"custom\",\"value\":[\"env\",\"prod\"]}"
#define NROWS(a)    (sizeof(a) / sizeof((a)[0]))

Test(rev59_guards, a_host_name_with_an_underscore_is_a_host_under_any_key)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"x_y.evil.com\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"user@x_y.evil.com:443\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"x_y.evil.com:3128\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"o\":\"curl -xx_y.evil.com:3128 https://a\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"o\":\"--connect-to api.example.com:80:x_y.evil.com:80\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"env\":\"HTTPS_PROXY=x_y.evil.com:3128\""), 0},
        {KT_DG("*.example.com"), WITH_URL("\"target\":\"_acme.evil.com\""), 0},
        /* the allowed host spelled with '_', and names without a dot */
        {KT_DG("*.example.com"), WITH_URL("\"target\":\"x_y.example.com\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"name\":\"snake_case\",\"v\":\"a_b c_d.e\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev59_guards, an_ipv6_address_without_brackets_is_a_host)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"::ffff:7f00:1\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"::ffff:a9fe:a9fe\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"::1\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\" 0:0:0:0:0:ffff:7f00:1 \""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"user@::1\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"fe80::1%lo\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--proxy\",\"::1\"]"), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--resolve\",\"api.example.com:443:::ffff:7f00:1\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"o\":\"--resolve api.example.com:443:10.0.0.1,::1\""),
         0},
        /* the allowed address; prose, times, separators and code stay text */
        {KT_DX("[::1]"), "{\"url\":\"http://[::1]/\",\"target\":\"::1\"}", 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"the address 2001:db8::1 is documentation, fe80::1 too\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"sep\":\"::\",\"t\":\"12:30:45\",\"mac\":\"00:1a:2b:3c:4d:5e\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"sym\":\"std::vector\",\"r\":\"1:2:3\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* {"env":"prod", ...} and the same JSON encoded twice under "payload" */
#define TWICE(inner) "\"payload\":\"\\\"" inner "\\\"\""

Test(rev59_guards, json_encoded_twice_is_read_as_the_json_it_holds)
{
    static const kt_row rows[] = {
        {CUSTOM_PROD,
         "{\"env\":\"prod\"," TWICE("{\\\\\\\"env\\\\\\\":\\\\\\\"staging\\\\\\\"}") "}", 0},
        {KT_DX("api.example.com"),
         WITH_URL(TWICE("{\\\\\\\"host\\\\\\\":\\\\\\\"evil.com\\\\\\\"}")), 0},
        {KT_DX("api.example.com"), WITH_URL(TWICE("[\\\\\\\"https://evil.com/\\\\\\\"]")), 0},
        /* the allowed values, and a string literal that holds no JSON */
        {CUSTOM_PROD, "{\"env\":\"prod\"," TWICE("{\\\\\\\"env\\\\\\\":\\\\\\\"prod\\\\\\\"}") "}",
         1},
        {KT_DX("api.example.com"),
         WITH_URL(TWICE("{\\\\\\\"host\\\\\\\":\\\\\\\"api.example.com\\\\\\\"}")), 1},
        {CUSTOM_PROD, "{\"env\":\"prod\"," TWICE("hello {world}") "}", 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev59_guards, a_path_in_json_encoded_twice_is_denied_by_forbidden_path)
{
    static const char *const args[] = {
        /* '"{\"p\": \"\\u002fetc\\u002fshadow\"}"' as the tool's text */
        "{\"payload\":\"\\\"{\\\\\\\"p\\\\\\\": "
        "\\\\\\\"\\\\\\\\u002fetc\\\\\\\\u002fshadow\\\\\\\"}\\\"\"}",
        "{\"payload\":\"\\\"[\\\\\\\"/root/.ssh/id_rsa\\\\\\\"]\\\"\"}",
        "{\"payload\":\"\\\"{\\\\\\\"p\\\\\\\": \\\\\\\"/tmp/x\\\\\\\"}\\\"\"}",
    };
    static const int denied[] = {1, 1, 0};

    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* A secret_leak denial whose stored arguments and reason hold no part of
 * the key. */
static void expect_redacted(chio_kernel *k, const char *args)
{
    chio_response r;
    size_t len;
    const char *json;

    r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s: %s", args, chio_code_name(r.code));
    cr_assert_not_null(r.receipt, "%s: no receipt", args);
    json = chio_receipt_json(r.receipt, &len);
    cr_expect_null(memmem(json, len, "OSFODNN7", 8), "%s: the receipt keeps the key", args);
    cr_expect(r.reason == NULL || strstr(r.reason, "OSFODNN7") == NULL, "%s", args);
    chio_response_destroy(&r);
}

Test(rev59_guards, a_key_in_json_encoded_twice_or_in_bash_short_escapes_is_denied_and_redacted)
{
    static const char *const pats[] = {"AKIA[0-9A-Z]{16}"};
    static const char *const denied[] = {
        "{\"payload\":\"\\\"[\\\\\\\"AKIAIOSFODNN7EXAMPLE\\\\\\\"]\\\"\"}",
        "{\"cmd\":\"printf %b '\\\\u41KIAIOSFODNN7EXAMPLE'\"}",
        "{\"cmd\":\"echo -e 'AKIA\\\\u49OSFODNN7EXAMPLE'\"}",
        "{\"cmd\":\"echo -e 'AKIA\\\\U49OSFODNN7EXAMPLE'\"}",
    };
    chio_kernel *k = r32s_guarded_kernel(pats, 1);
    chio_response r;
    size_t i;

    for (i = 0; i < NROWS(denied); i++)
        expect_redacted(k, denied[i]);
    /* text without a key, with the same escapes */
    r32s_timed_call(k, "{\"cmd\":\"printf %b '\\\\u41BC \\\\U1F600'\"}", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}
