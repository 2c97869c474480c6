/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev59_hosts.c - an argv passed as an array of words:
 * the element after an option that takes a host ("-x", "--proxy",
 * "--connect-to", "-J") is that option's value, read whole as a value
 * glued on or in the same string is, a bare IPv4 number included (stop
 * 58 left ["-x", "2130706433"] unread: curl connects to 127.0.0.1).
 * Each row stands beside an allowed url; the allow rows are arrays in
 * which no host option comes before the number, or whose value is no
 * host.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW         1710000300u
#define WITH_URL(m) "{\"url\":\"https://api.example.com/\"," m "}"

Test(rev59_hosts, the_element_after_a_host_option_is_its_value)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"curl\",\"-x\",\"2130706433\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"0x7f000001\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--proxy\",\"3232235777\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--proxy\",3232235777]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"--socks5\",\" 2130706433 \"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"ssh\",\"-J\",\"3232235777\",\"h\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"argv\":[\"curl -x\",\"2130706433\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"o\":{\"a\":[[\"-x\",\"2130706433\"]]}"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"user@3232235777\"]"), 0},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"evil.com\"]"), 0},
        /* the allowed host as the value; numbers after other options */
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"api.example.com:3128\"]"), 1},
        {KT_DX("127.0.0.1"), "{\"url\":\"http://127.0.0.1/\",\"args\":[\"-x\",\"2130706433\"]}", 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-n\",\"2130706433\"]"), 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\"],\"id\":\"2130706433\""), 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"2130706433\",\"-x\"]"), 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"-x\",\"8080\",\"-x\",\"10:30\"]"), 1},
        {KT_DX("api.example.com"), WITH_URL("\"args\":[\"tar\",\"-xf\",\"2130706433\"]"), 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
