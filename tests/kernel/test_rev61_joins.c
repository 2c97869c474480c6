/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev61_joins.c - review 21 (pathfix F7): joins of
 * literals the forbidden_path guard did not read: Ruby's calls without
 * parentheses (File.expand_path 'shadow', '/etc'), Perl's fat comma
 * "=>" between a join's arguments, JavaScript's String.raw`..` terms,
 * PowerShell's Join-Path (bare or quoted words, -Path/-ChildPath). Each
 * deny row opens /etc/shadow or ~root/.ssh/id_rsa; the last rows stay
 * allowed. The last test holds hostile shapes of the new forms to a
 * linear cost.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/joinutil.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

Test(rev61_joins, more_spellings_of_a_join_are_read)
{
    static const char *const rows[] = {
        "File.read(File.expand_path 'shadow', '/etc')",
        "File.read File.absolute_path 'shadow', '/etc'",
        "File.join '/etc', 'shadow'",
        "File::Spec->rel2abs('shadow' => '/etc')",
        "File::Spec->catfile('/etc' => 'shadow')",
        "fs.readFileSync(path.join(String.raw`/etc`, String.raw`shadow`))",
        "Get-Content (Join-Path /etc shadow)",
        "Join-Path -Path /etc -ChildPath shadow",
        "Join-Path '/etc' 'shadow'",
        "Join-Path -ChildPath .ssh/id_rsa -Path /root",
        /* stay allowed */
        "File.expand_path 'shadow', '/tmp'",
        "puts 'shadow' => '/etc'",
        "Join-Path /tmp shadow",
        "Join-Path /etc passwd",
        "String.raw`/etc` + ' and ' + 'shadow'",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    ju_run_rows(rows, denied, NROWS(rows));
}

/* 4 times the bytes take about 4 times the CPU time (quadratic would
 * be 16). */
Test(rev61_joins, the_new_join_forms_cost_linear_time, .timeout = 300)
{
    static const ju_shape shapes[] = {
        {"", "File.expand_path 'a', "}, {"", "'a' => "},
        {"", "String.raw`/a` + "},      {"", "Join-Path "},
        {"", "Join-Path -Path "},       {"", "Join-Path /a "},
        {"", "x Join-Path '"},
    };

    ju_expect_linear(shapes, NROWS(shapes), "); open(r'/etc/' + r'shadow')");
}
