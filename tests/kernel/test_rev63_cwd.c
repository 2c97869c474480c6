/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev63_cwd.c - review 23 (pathfix Q4, Q6, Q7, Q8),
 * forbidden_path:
 * - Q4: a "-c" script's positional words are read in its own change of
 *   directory ("bash -c 'cd /$1 && cat sha*' _ etc"); a listing reaching
 *   a process substitution ("| tee >(xargs ..)") or an awk program that
 *   runs or opens ("system(", "getline <") is acted on;
 * - Q7: the working directory as a whole word after an expansion
 *   ("$X$PWD"), as "${!x}", "$(command pwd)", "$(/bin/pwd)",
 *   "$(echo $PWD)", and a variable assigned from it before a change
 *   ("d=$PWD; cd /tmp; tar cf - \"$d\"");
 * - Q8: a listing in a command substitution as operands ("cat $(ls)",
 *   "cat `ls | grep ^sha`", "tar cf - $(ls)");
 * - Q6: a listing piped to a command that only reads it as data and
 *   prints (md5sum, base64, gzip, jq, fzf) is not acted on.
 * The last test holds the new readings to a linear cost.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/joinutil.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};

static void run(const char *const *rows, const int *denied, size_t n)
{
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), rows, denied, n);
}

Test(rev63_cwd, a_c_scripts_positional_words_are_read_in_its_cd)
{
    static const char *const rows[] = {
        "{\"cmd\":\"bash -c 'cd /$1 && cat sha*' _ etc\"}",
        "{\"cmd\":\"bash -c 'cd $1 && cat sha*' _ /etc\"}",
        "{\"cmd\":\"bash -c 'cd /$1 && tar cf - .' _ root\"}",
        "{\"cmd\":\"sh -c 'cd /$1; ls | xargs cat' _ etc\"}",
        "{\"cmd\":\"bash -c 'cd \\\"$@\\\" && cat sha*' _ /etc\"}",
        /* controls */
        "{\"cmd\":\"bash -c 'cd /etc && cat sha*'\"}",
        "{\"cmd\":\"bash -c 'cd /$1 && cat hosts' _ tmp\"}",
        "{\"cmd\":\"bash -c 'cd $1 && make' _ build\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev63_cwd, a_listing_through_a_process_substitution_or_awk_is_acted_on)
{
    static const char *const rows[] = {
        "{\"cmd\":\"ls /etc | tee >(xargs -I{} cat /etc/{})\"}",
        "{\"cmd\":\"ls /etc | tee >(while read f; do cat /etc/$f; done) | wc -l\"}",
        "{\"cmd\":\"ls /etc | awk '{system(\\\"cat /etc/\\\" $0)}'\"}",
        "{\"cmd\":\"ls /etc | sort | awk '{ while ((getline l < (\\\"/etc/\\\" $0)) > 0) print l "
        "}'\"}",
        "{\"cmd\":\"ls /etc > >(xargs -I{} cat /etc/{})\"}",
        "{\"cmd\":\"cd /etc && ls | gawk '{print | \\\"sh\\\"}'\"}",
        /* controls: printed */
        "{\"cmd\":\"ls /etc | awk '{print $1}'\"}",
        "{\"cmd\":\"ls /etc | tee /tmp/list | wc -l\"}",
        "{\"cmd\":\"ls | tee >(xargs cat)\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev63_cwd, the_working_directory_as_a_whole_word_in_more_spellings)
{
    static const char *const rows[] = {
        "{\"cmd\":\"cd /etc && tar cf - $X$PWD\"}",
        "{\"cmd\":\"cd /root && zip -r /tmp/k.zip $X$PWD\"}",
        "{\"cmd\":\"cd /etc && x=PWD; tar cf - ${!x}\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(command pwd)\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(builtin pwd)\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(/bin/pwd)\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(echo $PWD)\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(cd . && pwd)\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(pwd;)\"}",
        "{\"cmd\":\"cd /etc && tar cf - `command pwd`\"}",
        "{\"cmd\":\"cd /etc && tar cf - $(dirname $PWD/x)\"}",
        "{\"cmd\":\"cd /etc && d=$(pwd); cd /tmp; tar cf - $d\"}",
        "{\"cmd\":\"cd /etc && d=$PWD; cd /tmp; tar cf - \\\"$d\\\"\"}",
        "{\"cmd\":\"cd /etc; zip -r /tmp/a.zip $(ls -d $PWD)\"}",
        /* controls */
        "{\"cmd\":\"cd /etc && tar cf - $(pwd)\"}",
        "{\"cmd\":\"cd /tmp && tar cf - $X$PWD\"}",
        "{\"cmd\":\"cd /tmp && tar cf - $(command pwd)\"}",
        "{\"cmd\":\"d=$PWD; cd /tmp/b; tar cf - \\\"$d\\\"\"}",
        "{\"cmd\":\"echo $(basename $PWD)\"}",
        "{\"cmd\":\"for v in API_KEY DB_URL; do [ -z \\\"${!v}\\\" ] && echo \\\"missing "
        "$v\\\"; done\"}",
        "{\"cmd\":\"for v in A B; do [ -z \\\"${!v}\\\" ] && exit 1; done; tar czf out.tgz .\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev63_cwd, a_listing_substituted_as_operands_is_acted_on)
{
    static const char *const rows[] = {
        "{\"cmd\":\"cd /etc && cat $(ls)\"}",
        "{\"cmd\":\"cd /etc; cat $(ls -A)\"}",
        "{\"cmd\":\"cd /etc && cat $(ls | grep ^sha)\"}",
        "{\"cmd\":\"cd /etc; cat `ls | grep ^sha`\"}",
        "{\"cmd\":\"cd /etc; tar cf - $(ls)\"}",
        "{\"cmd\":\"cat $(ls /etc | grep sha | xargs -I{} echo /etc/{})\"}",
        "{\"cmd\":\"cd /etc; for f in $(ls); do cat $f; done\"}",
        /* controls */
        "{\"cmd\":\"cd /etc; cat $(ls -d /etc/*)\"}",
        "{\"cmd\":\"cd /etc && echo $(ls)\"}",
        "{\"cmd\":\"cd /etc && n=$(ls | wc -l)\"}",
        "{\"cmd\":\"cat $(ls *.txt)\"}",
        "{\"cmd\":\"cd /tmp && cat $(ls)\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev63_cwd, a_listing_read_only_as_data_is_not_acted_on)
{
    static const char *const rows[] = {
        "{\"cmd\":\"ls /etc | md5sum\"}",
        "{\"cmd\":\"ls /etc | sha256sum\"}",
        "{\"cmd\":\"ls /etc | jq -R -s .\"}",
        "{\"cmd\":\"cd /etc && ls | jq -R .\"}",
        "{\"cmd\":\"ls /etc | base64\"}",
        "{\"cmd\":\"ls /etc | gzip > l.gz\"}",
        "{\"cmd\":\"ls -1 /etc | fzf\"}",
        "{\"cmd\":\"ls /etc | xxd | head\"}",
        "{\"cmd\":\"ls /etc | grep -c conf\"}",
        /* still acted on */
        "{\"cmd\":\"ls /etc | python3 -c 'import sys; print(len(sys.stdin.read().split()))'\"}",
        "{\"cmd\":\"ls /etc | fzf --preview 'cat /etc/{}'\"}",
        "{\"cmd\":\"ls /etc | sed 's|^|x  /etc/|' | md5sum -c\"}",
        "{\"cmd\":\"ls /etc | tee >(md5sum) | xargs cat\"}",
    };
    static const int denied[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev63_cwd, the_new_readings_cost_linear_time, .timeout = 300)
{
    static const ju_shape shapes[] = {
        {"cd /etc; ", "$X$PWD "},
        {"cd /etc; ", "cat $(ls) "},
        {"ls /etc | ", "tee >(xargs cat) "},
        {"", "bash -c 'cd /$1' _ etc "},
    };

    ju_expect_linear(shapes, NROWS(shapes), "'\n cat /etc/shadow");
}
