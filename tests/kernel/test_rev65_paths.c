/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev65_paths.c - review 25 paths:
 * - C1: forbidden_path's nameref reading ("declare", "typeset", "local"
 *   with an option word holding 'n') walks each run of option words
 *   once: "x=1; -declare -declare ..." costs linear time;
 * - R1, R4: an awk program holding a '/' (a regular expression, in which
 *   '"', ';', '{', '}' are plain bytes) or a '#' is not followed: any
 *   '|' acts, and any '>' when it prints ("/\"/ {print | \"xargs
 *   cat\"}", "print \"x\", /;/ > $0"); M1 ("print k | \"sort -u\"")
 *   stays denied;
 * - R2, R3 (path_prefix): "$_" is read from the previous command only
 *   when that one surely ran (not after "||", nor when it follows "||",
 *   or "&&" with "$_"'s own command joined by ";"), and never past a
 *   "<<" (an unquoted here-document expands "cd '$_'").
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

/* C1: CPU time held to a ratio: 4 times the bytes may cost about 4 times
 * the time (quadratic: 16; the old code took 20 s at 512 KiB, so it runs
 * past the timeout); the figures are printed for the report */
Test(rev65_paths, the_nameref_reading_costs_linear_time, .timeout = 60)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][3] = {
        {"x=1; ", "-declare ", ""},
        {"x=1; ", "-local ", ""},
        {"x=1; ", "-typeset ", ""},
        {"x=1; ", "-declare -local -typeset ", "cat /etc/hosts"},
    };
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, NROWS(prefixes), &err),
                 0, "%s", err.message);
    kt_grant_session(k, NOW, "cap-cost", "", sid);
    hc_expect_linear(k, sid, "rev65_paths", cases, NROWS(cases), 1 << 17, 6);
    chio_kernel_free(k);
}

static void run(const char *const *rows, const int *denied, size_t n)
{
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), rows, denied, n);
}

/* R1, R4: a '/' (a regular expression may hold '"', ';', '{', '}') or a
 * '#' in an awk program: its strings and statements are not followed,
 * and any '|' or (in a program that prints) any '>' acts */
Test(rev65_paths, an_awk_regex_hides_no_pipe_or_write)
{
    static const char *const rows[] = {
        "{\"cmd\": \"cd /etc && ls | awk '!/\\\"/ {print > \\\"/dev/stderr\\\"; print | \\\"xargs "
        "cat\\\"}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '/\\\"/ || 1 {print | \\\"xargs cat\\\"}'\"}",
        "{\"cmd\": \"ls /etc | awk '$0 ~ /\\\"/ || 1 {print \\\"/etc/\\\" $0 | \\\"xargs "
        "cat\\\"}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '$0 ~ /\\\"/ || 1 {print | \\\"xargs cat\\\"}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '{print \\\"x\\\" > $0}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '{print \\\"x\\\", /;/ > $0}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '{print \\\"x\\\", /}/ > $0}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '{printf \\\"%s\\\", /{/ > $0}'\"}",
        "{\"cmd\": \"ls /etc | awk '{print \\\"x\\\", /;/ > (\\\"/etc/\\\" $0)}'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '# \\\"\\n{print | \\\"xargs cat\\\"} # \\\"'\"}",
        "{\"cmd\": \"cd /etc && ls | awk '{print \\\"x\\\",\\n $0 > $0}'\"}",
        /* M1 (Low), left denied: a pipe to a print-only command */
        "{\"cmd\": \"ls /etc | awk '{a[$0]} END {for (k in a) print k | \\\"sort -u\\\"}'\"}",
        /* allowed: no pipe, no write */
        "{\"cmd\": \"ls /etc | awk '{print $1}'\"}",
        "{\"cmd\": \"ls /etc | awk 'length($0) > 5'\"}",
        "{\"cmd\": \"ls /etc | awk '/x/ && length($0) > 5'\"}",
        "{\"cmd\": \"ls /etc | awk '/conf/ {print $1}'\"}",
        "{\"cmd\": \"ls /etc | awk '/x/{print > \\\"/dev/stderr\\\"}'\"}",
        "{\"cmd\": \"ls -l /etc | awk '$5 > 1000 {print $9}'\"}",
        "{\"cmd\": \"ls /etc | awk '{print $1 > \\\"/dev/stderr\\\"}'\"}",
        "{\"cmd\": \"ls /etc | awk '/x/ {print $1 > \\\"/dev/stdout\\\"}'\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run(rows, denied, NROWS(rows));
}

#define WS(m) "{\"path\":\"/workspace/a\"," m "}"
#define PP    KT_PP("/workspace")

/* R2: "$_" is read from the previous command only when it surely ran */
Test(rev65_paths, an_underscore_after_a_command_that_may_not_have_run_is_unread)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"cd && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"a=1; cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo -- || mkdir -p build; cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"false -- && mkdir -p build; cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"a=1 || mkdir -p build; cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\": -- || mkdir -p build\\ncd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo -- || mkdir -p build && cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"mkdir -p build || cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"mkdir -p build && cd $_ && rm -rf *\""), 1},
        {PP, WS("\"cmd\":\"mkdir -p build; cd $_ && make\""), 1},
        {PP, WS("\"cmd\":\"true && mkdir -p build && cd $_\""), 1},
        {PP, WS("\"cmd\":\"make; mkdir -p out\\ncd $_\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

/* R3: in a here-document body the outer shell expands "$_" whatever the
 * quotes; any "$_" past a "<<" is unread */
Test(rev65_paths, an_underscore_in_a_here_document_is_unread)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"bash <<EOF\\ncd && rm -rf *\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"true --\\nbash <<EOF\\ncd $_ && rm -rf *\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"true --\\nbash <<EOF\\ncd \\\"$_\\\" && rm -rf *\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"true --\\nbash <<EOF\\ncd '$_' && rm -rf *\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"echo --; sh <<EOF\\ncd '$_'; rm -rf *\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"true --; bash <<EOF\\nrm -rf '$_'/*\\nEOF\""), 0},
        {PP, WS("\"cmd\":\"perl -ne 'print $_' f.txt\""), 1},
        {PP, WS("\"cmd\":\"mkdir -p build && cd $_\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
