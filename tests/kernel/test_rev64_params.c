/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev64_params.c - review 24 (paths) of path_prefix's
 * lone parameters, home-cd reading and directory stack:
 *   - R1: a unary test's operand is handed on through "$_" ("test -d
 *     $HOME && rm -rf $_") and "test"/"[" may be a function, an alias or
 *     a builtin turned off the value itself defines;
 *   - R2: a change to the home as a git "!" alias, a trap's action or a
 *     command word an expansion makes ("${CD:-cd}; rm -rf *");
 *   - R7: a nameref declared with a computed option ("declare $x r=HOME");
 *   - M1: false denials: a pushd in an if or while condition, or before a
 *     "{ }" group, and payload names ($JSON_DATA, $BUILD_TARGET).
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define PP       KT_PP("/workspace")

Test(rev64_params, a_test_operand_is_no_path_only_while_nothing_reads_it_again)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"[[ -n $HOME ]] && echo ok\""), 1},
        {PP, WS("\"cmd\":\"test -n \\\"$TMP_FILE\\\"\""), 1},
        {PP, WS("\"cmd\":\"[ -z \\\"$JAVA_HOME\\\" ] && echo unset\""), 1},
        {PP, WS("\"cmd\":\"echo $USER\""), 1},
        {PP, WS("\"cmd\":\"test -d build && make\""), 1},
        {PP, WS("\"cmd\":\"rm -rf $HOME\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME && rm -rf $HOME\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME && rm -rf $_\""), 0},
        /* a literal previous word: read where it stands (R1 follow-up,
         * test_rev64_underscore) */
        {PP, WS("\"cmd\":\"mkdir -p build && cd $_\""), 1},
        {PP, WS("\"cmd\":\"test -n \\\"$HOME\\\" && cd \\\"$_\\\" && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME && tar -xf a.tar -C $_\""), 0},
        {PP, WS("\"cmd\":\"if test -d $HOME; then rm -rf $_; fi\""), 0},
        {PP, WS("\"cmd\":\"test -e \\\"$HOME\\\" && mv -t \\\"$_\\\" x\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME\\nrm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"[ -d $HOME ] && rm -rf ${_}\""), 0},
        {PP, WS("\"cmd\":\"[ -d $HOME ] && cp -r x \\\"${_}\\\"\""), 0},
        {PP, WS("\"cmd\":\"test() { rm -rf \\\"$2\\\"; }; test -n $HOME\""), 0},
        {PP, WS("\"cmd\":\"function [ { rm -rf \\\"$2\\\"; }; [ -d $HOME ]\""), 0},
        {PP, WS("\"cmd\":\"alias test='rm -r'\\ntest -f $HOME\""), 0},
        {PP, WS("\"cmd\":\"enable -n test; test -n $HOME\""), 0},
        {PP, WS("\"cmd\":\". ./defs.sh; test -n $HOME\""), 0},
        {PP, WS("\"cmd\":\"source defs.sh; [ -d $HOME ]\""), 0},
        {PP, WS("\"cmd\":\"eval \\\"$DEFS\\\"; [[ -d $HOME ]]\""), 0},
        {PP, WS("\"cmd\":\"BASH_ENV=defs.sh bash -c '[ -d $HOME ]'\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev64_params, a_change_to_the_home_in_a_git_alias_a_trap_or_a_computed_command_word)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"cd && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"x=cd; $x; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"git -c alias.ci='!cd && rm -rf *' ci\""), 0},
        {PP, WS("\"cmd\":\"git -c alias.x='!cd; rm -rf *' x\""), 0},
        {PP, WS("\"cmd\":\"git -c alias.x='!cd' x\""), 0},
        {PP, WS("\"cmd\":\"git -c alias.x=\\\"!sh -c cd; rm -rf *\\\" x\""), 0},
        {PP, WS("\"cmd\":\"git config alias.x '!cd; rm -rf *'; git x\""), 0},
        {PP, WS("\"cmd\":\"trap 'cd' DEBUG; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap cd DEBUG; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap -- \\\"cd\\\" ERR; false; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap 'popd' DEBUG; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap $'cd' DEBUG; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap \\\"$a\\\" DEBUG; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"git -c alias.x=$'!cd; rm -rf *' x\""), 0},
        {PP, WS("\"cmd\":\"${CD:-cd} -L; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if $DRY_RUN; then rm -rf *; fi\""), 0},
        {PP, WS("\"cmd\":\"for f in *.sh; do \\\"$f\\\"; done\""), 1},
        {PP, WS("\"cmd\":\"(( $n > 1 )) && make\""), 1},
        {PP, WS("\"cmd\":\"arr=(\\\"$@\\\"); make\""), 1},
        {PP, WS("\"cmd\":\"${CD:-cd}; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"$x; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"\\\"$@\\\"; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"${CD:-cd} -; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if true; then $x; fi; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"trap 'rm -f \\\"$lockfile\\\"' EXIT; make\""), 1},
        {PP, WS("\"cmd\":\"$PYTHON -m pytest tests\""), 1},
        {PP, WS("\"cmd\":\"${PYTHON:-python3} -m venv .venv && make\""), 1},
        {PP, WS("\"cmd\":\"$CC -o app main.c\""), 1},
        {PP, WS("\"cmd\":\"git -c alias.st=status st\""), 1},
        {PP, WS("\"cmd\":\"$EDITOR notes.txt; make\""), 1},
        {PP, WS("\"cmd\":\"$x.sh; make\""), 1},
        {PP, WS("\"cmd\":\"ls | $FILTER | sort\""), 1},
        {PP, WS("\"cmd\":\"make; $x\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev64_params, a_declaration_with_a_computed_option_may_declare_a_nameref)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"declare -n r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare -${x:-n} r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"x=-n; declare $x r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"set -- -n; declare \\\"$@\\\" r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"o=n; declare -$o r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"o=n; declare -\\\"$o\\\" r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"f() { local $1 r=HOME; rm -rf $r; }; f -n\""), 0},
        {PP, WS("\"cmd\":\"typeset ${x} r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"x='-n r=HOME'; declare $x; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"local `echo -n` r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"f() { local name=\\\"$1\\\"; echo \\\"hi $name\\\"; }\""), 1},
        {PP, WS("\"cmd\":\"declare -a arr=(\\\"$@\\\"); echo ${#arr[@]}\""), 1},
        {PP, WS("\"cmd\":\"declare -r VERSION=$1; echo $VERSION\""), 1},
        {PP, WS("\"cmd\":\"local count+=$n; echo $count\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev64_params, pushd_in_a_condition_or_before_a_group_and_payload_names)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"if pushd build; then make; popd; fi\""), 1},
        {PP, WS("\"cmd\":\"pushd build && { make; popd; }\""), 1},
        {PP, WS("\"cmd\":\"while pushd a; do popd; break; done\""), 1},
        {PP, WS("\"cmd\":\"if [ -d b ]; then pushd b; make; popd; fi\""), 1},
        {PP, WS("\"cmd\":\"if pushd build; then make; popd; else echo no; fi\""), 1},
        {PP, WS("\"cmd\":\"pushd a && { make; popd; } && echo done\""), 1},
        {PP, WS("\"cmd\":\"docker build --target $BUILD_TARGET .\""), 1},
        {PP, WS("\"cmd\":\"curl -d \\\"$JSON_DATA\\\" x\""), 1},
        {PP, WS("\"cmd\":\"echo \\\"$FORM_DATA\\\"\""), 1},
        {PP, WS("\"cmd\":\"curl -d \\\"$POST_DATA\\\" x\""), 1},
        {PP, WS("\"cmd\":\"cat $CONFIG\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $PIP_TARGET\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $SNAP_DATA\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $SNAP_USER_DATA\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $XDG_DATA_HOME\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $CARGO_TARGET_DIR\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $APP_DATA_DIR\""), 0},
        {PP, WS("\"cmd\":\"if pushd a; then make; fi; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if pushd a; then :; else popd; fi; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if x; then :; elif pushd a; then :; else popd; fi; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"until pushd a; do popd; done; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a || { popd; }; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"{ pushd a; }; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a && { make; }; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a && { popd; popd; }; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if pushd a; then popd; popd; fi; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"x || pushd a && { popd; }; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a; { popd; }; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if ! pushd a; then popd; fi; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"while x; do pushd a; done; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"{ pushd a; done; popd; rm -rf *\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
