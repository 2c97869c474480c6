/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev61_cwd2.c - review 21 (pathfix) of the readings of
 * working directories (forbidden_path) and path_prefix's lone parameter:
 *   - F2: "${..}" holding a blank, quote or operator split its word
 *     ("cd /etc && cat \"${PWD:-a b}/shadow\"" passed);
 *   - F3: "$PWD", "$OLDPWD" standing as a whole word (the directory
 *     itself) were not read as "." and "~-" are;
 *   - F5: path_prefix's lone "$HOME" inside "( )", next to another
 *     parameter ("$HOME$X") or in a brace word ("{$HOME,x}");
 *   - F6: changes of directory through "Path::new(..)", "--w=", a "-w"
 *     ending a cluster ("-Fw/etc"), .NET's "WorkingDirectory =", pwsh's
 *     "-wd" and PowerShell's abbreviated "-WorkingDir";
 *   - F8: path_prefix's "cd alone / cd -" for "Set-Location", "chdir",
 *     and "popd", "pushd +1", "Pop-Location" (the directory stack) in
 *     both readings;
 *   - F9: a working-directory value read as a path value is: a file: URL,
 *     a drive letter, invisible characters before it.
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/joinutil.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define DOT(m)   "{\"path\":\"a/b\"," m "}"

static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};

static void guard_rows(const char *const *args, const int *denied, size_t n)
{
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, n);
}

Test(rev61_cwd2, a_braced_parameter_is_one_piece_with_blanks_inside)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc && cat \\\"${PWD:-a b}/shadow\\\"\"}",
        "{\"cmd\":\"cd /etc && cat ${PWD:-a;b}/shadow\"}",
        "{\"cmd\":\"cd /etc && cat ${PWD:-a|b}/shadow\"}",
        "{\"cmd\":\"cd /etc && cd /tmp && cat ${OLDPWD:-a b}/shadow\"}",
        "{\"cmd\":\"cd /root && cat ${PWD:- }/.ssh/id_rsa\"}",
        /* stay allowed */
        "{\"cmd\":\"cd /tmp && cat \\\"${PWD:-a b}/shadow\\\"\"}",
        "{\"cmd\":\"cd /etc && echo \\\"${A:-x y}\\\" done\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
}

Test(rev61_cwd2, the_working_directory_as_a_whole_word)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc && cd /tmp && tar cf - $OLDPWD\"}",
        "{\"cmd\":\"cd /etc && cp -r $PWD /tmp/x\"}",
        "{\"cmd\":\"cd /root && tar cf - \\\"$PWD\\\"\"}",
        "{\"cmd\":\"cd /etc && cp -r ${PWD} /tmp/x\"}",
        "{\"cmd\":\"cd /etc; cd /tmp; tar cf - ${OLDPWD}\"}",
        /* stay allowed */
        "{\"cmd\":\"cd /tmp && cp -r $PWD /tmp/x\"}",
        "{\"cmd\":\"find $PWD -name x\"}",
        "{\"cmd\":\"cd /etc && echo $PWDX\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
}

Test(rev61_cwd2, a_lone_home_in_parentheses_chains_and_braces)
{
    static const kt_row rows[] = {
        {KT_PP("/workspace"), WS("\"cmd\":\"(rm -rf $HOME)\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"echo $(rm -rf $HOME)\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"rm -rf $HOME$X\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"tar -xf a.tar -C \\\"${HOME}${EMPTY}\\\"\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"rm -rf $X$HOME\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"rm -rf {$HOME,x}\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"rm -rf $HOME{,}\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"(rm -rf $HOME)\""), 0},
        /* stay allowed: no directory's name */
        {KT_PP("/workspace"), WS("\"cmd\":\"(echo $USER)\""), 1},
        {KT_PP("/workspace"), WS("\"cmd\":\"echo $USER$ISSUE\""), 1},
        {KT_PP("/workspace"), WS("\"cmd\":\"echo {$USER,x}\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev61_cwd2, more_changes_of_directory)
{
    static const char *const args[] = {
        "{\"code\":\"Command::new(\\\"cat\\\").arg(\\\"shadow\\\").current_dir(Path::new("
        "\\\"/etc\\\")).output()\"}",
        "{\"code\":\"std::env::set_current_dir(Path::new(\\\"/etc\\\")).unwrap(); "
        "std::fs::read(\\\"shadow\\\")\"}",
        "{\"cmd\":\"unshare --w=/etc cat shadow\"}",
        "{\"cmd\":\"nsenter -Fw/etc cat shadow\"}",
        "{\"code\":\"var psi = new ProcessStartInfo(\\\"cat\\\", \\\"shadow\\\") { "
        "WorkingDirectory = \\\"/etc\\\" };\"}",
        "{\"cmd\":\"pwsh -wd /etc -c 'Get-Content shadow'\"}",
        "{\"cmd\":\"Start-Process cat -ArgumentList shadow -WorkingDir /etc\"}",
        /* stay allowed */
        "{\"cmd\":\"nsenter -Fw/tmp cat shadow\"}",
        "{\"code\":\"x.current_dir(Path::new(\\\"/tmp\\\")); read(\\\"shadow\\\")\"}",
        "{\"cmd\":\"ls -lw/etc\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
}

Test(rev61_cwd2, the_directory_stack_and_powershell_words)
{
    static const char *const args[] = {
        "{\"cmd\":\"popd; cat shadow\"}",
        "{\"cmd\":\"pushd +1; cat shadow\"}",
        "{\"cmd\":\"Pop-Location; cat shadow\"}",
        "{\"cmd\":\"popd -0; cat shadow\"}",
        /* stay allowed */
        "{\"cmd\":\"pushd /tmp; cat shadow\"}",
        "{\"cmd\":\"popd; cat hosts\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 0, 0};
    static const kt_row rows[] = {
        {KT_PP("."), DOT("\"cmd\":\"Set-Location; cat .ssh/id_rsa\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"Set-Location -; cat .ssh/id_rsa\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"chdir; cat .ssh/id_rsa\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"popd; cat .ssh/id_rsa\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"pushd +1; cat x\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"Pop-Location; cat x\""), 0},
        /* stay allowed */
        {KT_PP("."), DOT("\"cmd\":\"Set-Location src; cat x\""), 1},
        {KT_PP("."), DOT("\"cmd\":\"pushd src; cat x\""), 1},
    };

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev61_cwd2, a_working_directory_value_read_as_a_path_value)
{
    static const char *const args[] = {
        "{\"cwd\":\"file:///etc\",\"file\":\"shadow\"}",
        "{\"cwd\":\"file:///\",\"file\":\"etc/shadow\"}",
        "{\"cwd\":\"C:/etc\",\"file\":\"shadow\"}",
        "{\"cwd\":\"\\u200b/etc\",\"file\":\"shadow\"}",
        "{\"cwd\":\"\\u2060/etc\",\"file\":\"shadow\"}",
        "{\"cwd\":\"\\u00ad/etc\",\"file\":\"shadow\"}",
        /* stay allowed */
        "{\"cwd\":\"file:///tmp\",\"file\":\"shadow\"}",
        "{\"cwd\":\"C:/tmp\",\"file\":\"shadow\"}",
        "{\"cwd\":\"src\",\"file\":\"shadow\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
}

Test(rev61_cwd2, the_new_readings_repeated_cost_linear_time, .timeout = 300)
{
    static const ju_shape shapes[] = {
        {"", "${PWD:-a b "}, {"", "${ "},  {"", "$HOME$"},     {"", "{$HOME,x} "},
        {"", "popd "},       {"", "-Fw/"}, {"", "Path::new("}, {"", "pushd +1 "},
        {"", "$PWD "},       {"", "--w="},
    };

    ju_expect_linear(shapes, sizeof(shapes) / sizeof(shapes[0]), "\n cd /etc && cat shadow\n");
}

/* F10: listings acted on: "ls -R" with no operand after "cd", a filter
 * between the listing and what acts on it, coreutils' "dir"/"vdir". */
Test(rev61_cwd2, listings_through_filters_and_without_operands)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc; ls -R | xargs cat\"}",
        "{\"cmd\":\"cd /etc; find | xargs cat\"}",
        "{\"cmd\":\"ls /etc | grep sha | xargs -I{} cat /etc/{}\"}",
        "{\"cmd\":\"ls /etc | sort | head -n 99 | xargs -I{} cat /etc/{}\"}",
        "{\"cmd\":\"find /etc | grep sha | xargs cat\"}",
        "{\"cmd\":\"dir /etc | xargs -I{} cat /etc/{}\"}",
        "{\"cmd\":\"vdir /etc | xargs -I{} cat /etc/{}\"}",
        /* stay allowed */
        "{\"cmd\":\"cd /tmp; ls -R | xargs cat\"}",
        "{\"cmd\":\"ls /etc | grep sha | wc -l\"}",
        "{\"cmd\":\"cd /etc; ls -R | wc -l\"}",
        "{\"cmd\":\"ls /tmp | grep x | xargs cat\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    guard_rows(args, denied, NROWS(args));
}

Test(rev61_cwd2, filters_in_a_pipe_repeated_cost_linear_time, .timeout = 300)
{
    static const ju_shape shapes[] = {
        {"", "ls | grep x | sort | "},
        {"", "| grep "},
        {"", "dir | "},
        {"", "ls -R | xargs "},
    };

    ju_expect_linear(shapes, sizeof(shapes) / sizeof(shapes[0]), "\n cd /etc && cat shadow\n");
}
