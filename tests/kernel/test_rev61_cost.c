/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev61_cost.c - review 21 (pathfix F1): the search for
 * the operand of a change of directory walked to the end of the text
 * past every option and call name, once per change of directory, so a
 * value of such words repeated cost its length squared: "fchdir(" to
 * 1 MiB took 351 s, "-C " to 128 KiB 14 s. The walk now stops after
 * CHIO__GP_CD_SKIP_MAX words (the operand is then any directory). The
 * reading of words with marks an expansion makes ("{$HOME," repeated
 * after a cd) matched from every start to the word's end; it stops when
 * no state of the match is left. CPU
 * time held to a ratio (joinutil.c), never the wall clock.
 */
#include <criterion/criterion.h>

#include "kernel/joinutil.h"

Test(rev61_cost, changes_of_directory_repeated_cost_linear_time, .timeout = 300)
{
    static const ju_shape shapes[] = {
        {"", "fchdir("},     {"", "dir_fd="}, {"", ".current_dir("},    {"", "-C "},
        {"", "-w "},         {"", "--wd="},   {"", "--chdir="},         {"", "Set-Location "},
        {"", ".directory("}, {"", "cd -P "},  {"cd /etc; ", "{$HOME,"}, {"cd /etc; ", "=$HOME,"},
    };

    ju_expect_linear(shapes, sizeof(shapes) / sizeof(shapes[0]), "\n cd /etc && cat shadow\n");
}
