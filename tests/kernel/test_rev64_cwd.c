/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev64_cwd.c - review 24 paths (R3, R4, R5, R6, R8,
 * M2), forbidden_path:
 * - R5: the working directory as a whole word after any run of
 *   expansions that may be empty ("$A$B$C$D$E$PWD", "$@$PWD",
 *   "$(:)$PWD"), a substitution that prints it ("$(printenv PWD)",
 *   "$(echo .)") and a nameref to it ("declare -n r=PWD; .. $r");
 * - R8: a lone "$_" read as any directory at worst ("cd /etc && : .;
 *   tar cf - $_");
 * - R3: a listing through filters whose quoted operands hold '(' or ';'
 *   ("grep -E '^(sha|pas)'", "jq -rR 'select(..)'") still reaches the
 *   command that acts on it;
 * - R4: find with no starting point walks the working directory ("cd
 *   /etc && find -maxdepth 1 -exec cat {} +");
 * - R6, M2: an awk program that pipes ("cmd | getline", "print |") or
 *   writes ("print > $0") acts, one that compares ("length($0) > 5") or
 *   prints to "/dev/stderr" does not.
 * The last test holds the new readings to a linear cost.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hostcost.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};

static void run(const char *const *rows, const int *denied, size_t n)
{
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), rows, denied, n);
}

Test(rev64_cwd, the_working_directory_after_any_run_of_expansions_that_may_be_empty)
{
    /* R5: any number of expansions that may be empty before the cwd, a
     * substitution that prints it, a nameref to it */
    static const char *const rows[] = {
        "{\"cmd\": \"cd /etc && tar cf - $A$B$C$D$E$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - ${A}${B}${C}${D}${E}${PWD}\"}",
        "{\"cmd\": \"cd /etc && tar cf - $1$2$3$4$5$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - $A$B$C$D$E$F$G$H$I$J$K$L$M$N$O$P$Q$R$S$T$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - $@$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(:)$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - `true`$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(true)$(pwd)\"}",
        "{\"cmd\": \"cd /etc && tar cf - ''$@$(:)$PWD\"}",
        "{\"cmd\": \"cd /etc && declare -n r=PWD; tar cf - $r\"}",
        "{\"cmd\": \"cd /etc && x=-n; declare $x r=PWD; tar cf - $r\"}",
        "{\"cmd\": \"cd /root && typeset -n r=PWD; zip -r /tmp/k.zip $r\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(printenv PWD)\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(echo .)\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(env | grep ^PWD= | cut -d= -f2)\"}",
        "{\"cmd\": \"cd /tmp && tar cf - $A$B$C$D$E$PWD\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(echo hosts)\"}",
        "{\"cmd\": \"cd /etc && declare -n r=HOSTNAME; echo $r\"}",
        "{\"cmd\": \"cd /etc && cat hosts\"}",
        "{\"cmd\": \"tar cf - $(:)$PWD\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev64_cwd, a_lone_dollar_underscore_is_any_directory)
{
    /* R8: "$_" after a command whose last word is the cwd */
    static const char *const rows[] = {
        "{\"cmd\": \"cd /etc && test -d $PWD && tar cf - $_\"}",
        "{\"cmd\": \"cd /etc && echo $PWD >/dev/null; tar cf - $_\"}",
        "{\"cmd\": \"cd /etc && : $(pwd); tar cf - $_\"}",
        "{\"cmd\": \"cd /etc && true .; tar cf - $_\"}",
        "{\"cmd\": \"cd /etc && : .; tar cf - ${_}\"}",
        "{\"cmd\": \"cd /root && : .; zip -r /tmp/k.zip \\\"$_\\\"\"}",
        "{\"cmd\": \"echo $_\"}",
        "{\"cmd\": \"mkdir -p build && cd $_ && make\"}",
        "{\"cmd\": \"cd /tmp && : .; tar cf - $_\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 1};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev64_cwd, a_filter_with_a_quoted_paren_keeps_the_listing_acted_on)
{
    /* R3: quotes followed in a filter's operands */
    static const char *const rows[] = {
        "{\"cmd\": \"ls /etc | grep -E '^(sha|pas)' | xargs -I{} cat /etc/{}\"}",
        "{\"cmd\": \"cd /etc && ls | grep '(\\\\|sha' | xargs cat\"}",
        "{\"cmd\": \"cd /etc && ls | sed 's/(//' | xargs cat\"}",
        "{\"cmd\": \"cd /etc && ls | awk '(1)' | xargs cat\"}",
        "{\"cmd\": \"cd /etc && ls | jq -rR 'select(startswith(\\\"sha\\\"))' | xargs cat\"}",
        "{\"cmd\": \"ls /etc | jq -rR 'select(startswith(\\\"sha\\\")) | \\\"/etc/\\\"+.' | xargs "
        "cat\"}",
        "{\"cmd\": \"cd /etc && ls | md5sum '(' | xargs cat\"}",
        "{\"cmd\": \"cd /etc && ls | jq -rR '(.)' | tee >(xargs cat)\"}",
        "{\"cmd\": \"cd /etc && ls | jq -rR 'select(..)' | while read f; do cat $f; done\"}",
        "{\"cmd\": \"cd /etc && ls | jq -R '(.)' | jq -r . | xargs cat\"}",
        "{\"cmd\": \"ls /etc | grep -v ';' | sort | xargs -I{} cat /etc/{}\"}",
        "{\"cmd\": \"ls /etc | grep -E '^(a|b)'\"}",
        "{\"cmd\": \"ls | grep '(' | wc -l\"}",
        "{\"cmd\": \"ls /etc | jq -R 'select(length>3)'\"}",
        "{\"cmd\": \"ls /etc | grep -E '(a|b)' | wc -l\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev64_cwd, find_with_no_starting_point_walks_the_working_directory)
{
    /* R4: find's default start "." */
    static const char *const rows[] = {
        "{\"cmd\": \"cd /etc && find -maxdepth 1 -exec cat {} +\"}",
        "{\"cmd\": \"cd /etc && find -type f -exec cat {} +\"}",
        "{\"cmd\": \"cd /etc && find -maxdepth 1 | xargs cat\"}",
        "{\"cmd\": \"cd /etc && cat $(find -maxdepth 1)\"}",
        "{\"cmd\": \"cd /etc && tar cf - $(find -maxdepth 1)\"}",
        "{\"cmd\": \"cd /root && find -type f -exec cat {} +\"}",
        "{\"cmd\": \"cd /etc && find -L -maxdepth 1 -exec cat {} +\"}",
        "{\"cmd\": \"cd /etc && find \\\\( -name 'sha*' \\\\) -exec cat {} +\"}",
        "{\"cmd\": \"find -name '*.c' | xargs wc -l\"}",
        "{\"cmd\": \"cd src && find -name '*.c' -exec grep -l foo {} +\"}",
        "{\"cmd\": \"cd /tmp && find -maxdepth 1 -exec cat {} +\"}",
        "{\"cmd\": \"cd /etc && find -maxdepth 1\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

Test(rev64_cwd, an_awk_program_that_pipes_or_writes_acts_and_one_that_compares_does_not)
{
    /* R6, M2 */
    static const char *const rows[] = {
        "{\"cmd\": \"ls /etc | awk '{cmd=\\\"cat /etc/\\\"$0; cmd | getline}'\"}",
        "{\"cmd\": \"ls /etc | awk '{c=\\\"cat /etc/\\\"$0; while((c | getline l)>0) print l}'\"}",
        "{\"cmd\": \"ls /etc | awk '{f=\\\"/etc/\\\"$0; while((getline < f)>0) print}'\"}",
        "{\"cmd\": \"ls /etc | awk '{f=\\\"/etc/\\\"$0; getline x < f; print x}'\"}",
        "{\"cmd\": \"ls /etc | awk '{print | \\\"sh\\\"}'\"}",
        "{\"cmd\": \"ls /etc | awk '{if (length > 3) print > $0}'\"}",
        "{\"cmd\": \"ls /etc | awk '{print \\\"a;b\\\" > $0}'\"}",
        "{\"cmd\": \"ls /etc | awk '{print > \\\"/dev/stderr\\\" $0}'\"}",
        "{\"cmd\": \"ls /etc | awk '/a|b/'\"}",
        "{\"cmd\": \"ls /etc | awk '{print $1}'\"}",
        "{\"cmd\": \"ls /etc | awk 'length($0) > 5'\"}",
        "{\"cmd\": \"ls /etc | awk '$1 > \\\"m\\\"'\"}",
        "{\"cmd\": \"ls /etc | awk '{ if (length > 10) print }'\"}",
        "{\"cmd\": \"ls /etc | awk '{n++} END {print n > \\\"/dev/stderr\\\"}'\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

/* CPU time held to a ratio: 4 times the bytes may cost about 4 times the
 * time (quadratic: 16); the figures are printed for the report */
Test(rev64_cwd, the_new_readings_cost_linear_time, .timeout = 300)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][3] = {
        {"cd /etc && tar cf - ", "$A", "$PWD"},
        {"cd /etc && tar cf - ", "$@$(:)", "$PWD"},
        {"ls /etc | ", "grep -E '(a)' | ", "xargs cat"},
        {"cd /etc && ", "find -exec cat {} + ; ", ""},
        {"cd /etc && declare -n r=PWD; ", "r=PWD; ", "tar cf - $r"},
        {"ls /etc | awk '", "{x; print $1 > 5} ", "'"},
    };
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, NROWS(prefixes), &err),
                 0, "%s", err.message);
    kt_grant_session(k, NOW, "cap-cost", "", sid);
    hc_expect_linear(k, sid, "rev64_cwd", cases, NROWS(cases), 1 << 18, 6);
    chio_kernel_free(k);
}
