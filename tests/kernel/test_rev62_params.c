/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev62_params.c - review 22 (pathfix) of path_prefix's
 * reading of a shell parameter standing alone as a word (review 21 F11's
 * name rule, F5's chains):
 *   - P1: a default or alternative that is itself a directory parameter
 *     ("${x:-$HOME}", "${x-$OLDPWD}", "${USER:+$HOME}", "${@:-$HOME}")
 *     was read as text;
 *   - P2: indirection ("${!x}") and namerefs ("declare -n r=HOME") reach
 *     the home under a name that holds no directory;
 *   - P4: a "${..}" longer than the 256-byte bound was dropped (path_prefix
 *     and forbidden_path) instead of denied;
 *   - P5: directory names the list missed (CONDA_PREFIX, RUNNER_TEMP,
 *     XDG_DATA_DIRS, VIRTUAL_ENV, GITHUB_WORKSPACE ..);
 *   - P9: the same forms as a whole JSON value or an argv element;
 *   - P11: "$HOME" next to a positional or special parameter, a command
 *     substitution or an empty brace ("$1$HOME", "$HOME$@", "$HOME$(:)",
 *     "{,}$HOME").
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define DOT(m)   "{\"path\":\"a/b\"," m "}"
#define PP       KT_PP("/workspace")
#define A10      "aaaaaaaaaa"
#define A100     A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
#define A300     A100 A100 A100

static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};

Test(rev62_params, a_default_that_is_a_directory_parameter_is_that_directory)
{
    static const kt_row rows[] = {
        /* controls */
        {PP, WS("\"cmd\":\"rm -rf $HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x:-/etc}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x:-~}\""), 0},
        /* P1 */
        {PP, WS("\"cmd\":\"rm -rf ${x:-$HOME}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf \\\"${x:-$HOME}\\\"\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x:-${HOME}}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x-$OLDPWD}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${USER:+$HOME}\""), 0},
        {PP, WS("\"cmd\":\"tar -xf a.tar -C ${x:-$HOME}\""), 0},
        {PP, WS("\"cmd\":\"cd ${x:-$HOME} && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${@:-$HOME}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${*:-$HOME}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${1:-$HOME}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${#:+$HOME}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x:-${y:-${z:-$HOME}}}\""), 0},
        {PP, WS("\"cmd\":\"sh -c 'rm -rf $1' _ ${x:-$HOME}\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"rm -rf ${x:-$HOME}\""), 0},
        /* stay allowed: defaults that hold no directory */
        {PP, WS("\"cmd\":\"echo ${name:-world}\""), 1},
        {PP, WS("\"cmd\":\"echo ${name:-$USER}\""), 1},
        {PP, WS("\"cmd\":\"export X=${X:-default}\""), 1},
        {PP, WS("\"cmd\":\"echo ${#name} ${#}\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_params, indirection_and_namerefs)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"rm -rf ${HOME}\""), 0},
        /* P2 */
        {PP, WS("\"cmd\":\"x=HOME; rm -rf ${!x}\""), 0},
        {PP, WS("\"cmd\":\"x=OLDPWD; rm -rf \\\"${!x}\\\"\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${!x:-a}\""), 0},
        {PP, WS("\"cmd\":\"declare -n r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"local -n r=HOME; rm -rf \\\"$r\\\"\""), 0},
        {PP, WS("\"cmd\":\"typeset -n r=HOME; rm -rf ${r}\""), 0},
        {PP, WS("\"cmd\":\"declare -rn r='OLDPWD'; ls $r\""), 0},
        {PP, WS("\"cmd\":\"declare -n a=HOME; declare -n b=a; rm -rf $b\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"x=HOME; rm -rf ${!x}\""), 0},
        /* stay allowed: lists of names and keys, a nameref to text */
        {PP, WS("\"cmd\":\"echo ${!BASH*}\""), 1},
        {PP, WS("\"cmd\":\"echo ${!} ${#} ${#x}\""), 1},
        {PP, WS("\"cmd\":\"echo ${!arr[@]}\""), 1},
        {PP, WS("\"cmd\":\"declare -n r=arr; echo $r\""), 1},
        {PP, WS("\"cmd\":\"f() { local -n arr=$1; echo \\\"${arr[@]}\\\"; }\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_params, a_brace_past_the_bound_is_unreadable)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"rm -rf ${HOME:-aaaa}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${HOME#aaaa}\""), 0},
        /* P4 */
        {PP, WS("\"cmd\":\"rm -rf ${HOME:-" A300 "}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf \\\"${HOME#" A300 "}\\\"\""), 0},
        {PP, WS("\"cmd\":\"tar -xf a.tar -C ${HOME%" A300 "}\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${x:-" A300 "$HOME}\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"rm -rf ${HOME:-" A300 "}\""), 0},
        /* stay allowed: text that no parameter's head opens */
        {PP, WS("\"code\":\"`${items.map(x => x.name)}" A300 "`\""), 1},
        {PP, WS("\"cmd\":\"echo ${x:-" A100 "}\""), 1},
    };
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc && cat ${PWD:-aaaa}/shadow\"}",
        "{\"cmd\":\"cd /etc && cat ${PWD#aaaa}/shadow\"}",
        /* P4 */
        "{\"cmd\":\"cd /etc && cat ${PWD:-" A300 "}/shadow\"}",
        "{\"cmd\":\"cd /etc && cp -r ${PWD:-" A300 "} /tmp/x\"}",
        /* stay allowed */
        "{\"cmd\":\"echo ${x:-" A100 "}\"}",
        "{\"code\":\"`${items.map(x => x.name)}" A300 "`\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 0, 0};

    kt_run_rows_at(NOW, rows, NROWS(rows));
    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

Test(rev62_params, directory_names_by_suffix_and_part)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"rm -rf $XDG_CACHE_HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $TMPDIR\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $PREFIX\""), 0},
        /* P5 */
        {PP, WS("\"cmd\":\"rm -rf $CONDA_PREFIX\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $HOMEBREW_PREFIX\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $RUNNER_TEMP\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $XDG_DATA_DIRS\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $VIRTUAL_ENV\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $GITHUB_WORKSPACE\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $ProgramFiles\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $npm_config_prefix\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $RUNNER_TOOL_CACHE\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $WORKSPACE\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $CWD\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $TMP_FILE\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $VENV_BIN\""), 0},
        /* stay allowed: names of no directory */
        {PP, WS("\"cmd\":\"echo $USER\""), 1},
        {PP, WS("\"cmd\":\"git commit -m \\\"fix $ISSUE\\\"\""), 1},
        {PP, WS("\"text\":\"Hello ${name}, welcome\""), 1},
        {PP, WS("\"cmd\":\"echo $NODE_ENV $CONDA_DEFAULT_ENV $TEMPLATE_NAME\""), 1},
        {PP, WS("\"cmd\":\"docker run -e TOKEN=$TOKEN img\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_params, whole_json_values)
{
    static const kt_row rows[] = {
        {PP, WS("\"dest\":\"$HOME\""), 0},
        /* P9 */
        {PP, WS("\"dest\":\"${x:-$HOME}\""), 0},
        {PP, WS("\"dest\":\"${!x}\""), 0},
        {PP, WS("\"dest\":\"$CONDA_PREFIX\""), 0},
        {PP, WS("\"args\":[\"tar\",\"-xf\",\"a.tar\",\"-C\",\"${x:-$HOME}\"]"), 0},
        {PP, WS("\"dest\":\"$1$HOME\""), 0},
        /* stay allowed */
        {PP, WS("\"dest\":\"${name:-x}\""), 1},
        {PP, WS("\"args\":[\"echo\",\"$USER\"]"), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev62_params, positional_special_and_substitutions_next_to_home)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"rm -rf $HOME$X\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${1}$HOME\""), 0},
        /* P11 */
        {PP, WS("\"cmd\":\"rm -rf $1$HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $*$HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $HOME$1\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $HOME$@\""), 0},
        {PP, WS("\"cmd\":\"tar -xf a.tar -C $1$HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $HOME$(:)\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $(:)$HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf `:`$HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf {,}$HOME\""), 0},
        {KT_PP("."), DOT("\"cmd\":\"rm -rf $1$HOME\""), 0},
        /* stay allowed */
        {PP, WS("\"cmd\":\"echo $1 $2 $@ $5 $0\""), 1},
        {PP, WS("\"cmd\":\"echo $1$USER$@$(:) $$ $! $?\""), 1},
        {PP, WS("\"cmd\":\"echo $HOME-notes $(pwd)\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
