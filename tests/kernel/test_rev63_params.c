/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev63_params.c - review 23 (pathfix) of path_prefix's
 * lone parameters and directory stack (b5a0df3, 72d13d5):
 *   - Q1: namerefs and indirection missed ("declare -n r=H\"OME\"",
 *     "declare -n r; r=HOME", a nameref "for" variable, a chain declared in
 *     reverse order, "${!a[0]}") and short-option clusters with a glued
 *     parameter ("tar -xzC$HOME", "cp -at$HOME");
 *   - Q2: directory names still missed ($DOCKER_CONFIG, $GOBIN,
 *     $SNAP_USER_DATA, $PUBLIC, $KUBECONFIG ..);
 *   - Q3: a popd paired with any pushd word (a subshell, '&', a comment,
 *     an echo argument, a function, "bash -c" text) and any "-m" read as
 *     a commit message ("bash -c -m '..'"), PowerShell stacks mixed;
 *   - Q5: false denials ($NO_CACHE, *_PASSWORD, "[ -z \"${!v}\" ]", a
 *     usage default past 256 bytes, HOME_PAGE_TITLE).
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define PP       KT_PP("/workspace")
#define A10      "aaaaaaaaaa"
#define A100     A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
#define A1000    A100 A100 A100 A100 A100 A100 A100 A100 A100 A100

Test(rev63_params, a_popd_pairs_only_with_a_pushd_that_surely_ran_in_the_same_shell)
{
    static const kt_row rows[] = {
        /* stay allowed: the value's own pairs */
        {PP, WS("\"cmd\":\"pushd build && make && popd\""), 1},
        {PP, WS("\"cmd\":\"pushd build; npm test; popd\""), 1},
        {PP, WS("\"cmd\":\"Push-Location src; dotnet build; Pop-Location\""), 1},
        {PP, WS("\"cmd\":\"pushd a && pushd b && popd && popd\""), 1},
        {PP, WS("\"cmd\":\"set -e\\npushd frontend\\nnpm ci\\npopd\\n\""), 1},
        {PP, WS("\"cmd\":\"for d in a b; do pushd $d; make; popd; done\""), 1},
        {PP, WS("\"cmd\":\"if [ -d build ]; then pushd build; make; popd; fi\""), 1},
        {PP, WS("\"cmd\":\"pushd -- a; make; popd\""), 1},
        {PP, WS("\"cmd\":\"Push-Location src -StackName a; make; Pop-Location -StackName a\""), 1},
        {PP, WS("\"cmd\":\"git commit -m 'Fix chdir; handle errors'\""), 1},
        {PP, WS("\"cmd\":\"git commit -am \\\"Fix cd handling\\\"\""), 1},
        {PP, WS("\"cmd\":\"git commit --message='cd into dir'\""), 1},
        {PP, WS("\"cmd\":\"git tag -a v1 -m 'cd release'\""), 1},
        /* controls */
        {PP, WS("\"cmd\":\"popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd build; popd; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"bash -c 'cd && rm -rf *'\""), 0},
        /* Q3: a pushd that did not surely run in this shell before the popd */
        {PP, WS("\"cmd\":\"(pushd build && make); popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo pushd build; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"# pushd build\\npopd\\nrm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd build & popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"f() { pushd build; }; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"bash -c \\\"pushd build\\\"; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"{ pushd a; }; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo \\\"$(pushd a)\\\"; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"false && pushd a; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a || popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a | cat; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"x | pushd a; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a b; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"if x; then pushd a; fi; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"for d in a; do pushd $d; done; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a && make &\\npopd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"cat <<EOF\\npushd a\\nEOF\\npopd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"case x in a) pushd b;; esac; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"pushd a; (popd); popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"cat<<EOF\\npushd a\\nEOF\\npopd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo $'\\\\'; pushd a; '; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"command pushd a; popd; rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"shopt -s expand_aliases; alias pushd=true; pushd a; popd; rm -rf *\""),
         0},
        {PP,
         WS("\"cmd\":\"Set-Alias Push-Location Write-Output; Push-Location a; Pop-Location; "
            "Remove-Item -Recurse *\""),
         0},
        /* Q3: PowerShell stacks and bash's popd */
        {PP, WS("\"cmd\":\"Push-Location src -StackName a; Pop-Location; Remove-Item -Recurse *\""),
         0},
        {PP, WS("\"cmd\":\"Push-Location src; popd; rm -rf *\""), 0},
        /* Q3: a -m that is no git commit message */
        {PP, WS("\"cmd\":\"bash -c -m 'cd && rm -rf *'\""), 0},
        {PP, WS("\"cmd\":\"sh -c -m \\\"cd && rm -rf *\\\"\""), 0},
        {PP, WS("\"cmd\":\"echo git commit -m 'x; cd; rm -rf *'\""), 0},
        {PP, WS("\"cmd\":\"git log -m 'cd; rm -rf *'\""), 0},
        {PP, WS("\"cmd\":\"gitx commit -m 'cd; rm -rf *'\""), 0},
        {PP, WS("\"cmd\":\"git commit -m 'x'; cd; rm -rf *\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev63_params, any_nameref_or_indirection_that_cannot_be_read_is_unreadable)
{
    static const kt_row rows[] = {
        /* controls */
        {PP, WS("\"cmd\":\"rm -rf $HOME\""), 0},
        {PP, WS("\"cmd\":\"declare -n r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"x=HOME; rm -rf ${!x}\""), 0},
        /* Q1 */
        {PP, WS("\"cmd\":\"declare -n r=H\\\"OME\\\"; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare -n r; r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare -n r; for r in HOME; do rm -rf $r; done\""), 0},
        {PP, WS("\"cmd\":\"declare -n r=arr; for r in HOME; do rm -rf $r; done\""), 0},
        {PP, WS("\"cmd\":\"declare -n a=b; declare -n b=HOME; rm -rf $a\""), 0},
        {PP, WS("\"cmd\":\"declare -n 'r'=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare -n \\\"$x\\\"=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare -n r=$x; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"d''eclare -n r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"\\\"declare\\\" -n r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"declare \\\"-n\\\" r=HOME; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"eval 'declare -n r=HOME'; rm -rf $r\""), 0},
        {PP, WS("\"cmd\":\"a=(HOME); rm -rf ${!a[0]}\""), 0},
        {PP, WS("\"cmd\":\"a=(HOME); rm -rf ${!a[i]}\""), 0},
        {PP, WS("\"cmd\":\"tar -xzC$HOME -f a.tgz\""), 0},
        {PP, WS("\"cmd\":\"cp -at$HOME x\""), 0},
        {PP, WS("\"cmd\":\"install -Dt$HOME a\""), 0},
        {PP, WS("\"cmd\":\"ln -sft$HOME a\""), 0},
        /* stay allowed */
        {PP, WS("\"cmd\":\"declare -n r=arr; echo $r\""), 1},
        {PP, WS("\"cmd\":\"f() { local -n arr=$1; echo \\\"${arr[@]}\\\"; }\""), 1},
        {PP, WS("\"cmd\":\"for i in \\\"${!arr[@]}\\\"; do echo \\\"${arr[$i]}\\\"; done\""), 1},
        {PP, WS("\"cmd\":\"echo ${!BASH*}\""), 1},
        {PP, WS("\"cmd\":\"tar -xzf a.tgz -C build\""), 1},
        {PP, WS("\"cmd\":\"cp -at build x\""), 1},
        {PP, WS("\"cmd\":\"declare -a list; echo $list\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev63_params, directory_names_by_their_last_part)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"rm -rf $DOCKER_CONFIG\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $GOBIN\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $BUN_INSTALL\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $HOMEBREW_CELLAR\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $ZSH\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $SNAP_USER_DATA\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $PUBLIC\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $ProgramW6432\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $CommonProgramFiles\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $OneDrive\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $PIP_TARGET\""), 0},
        {PP, WS("\"cmd\":\"cp x $KUBECONFIG\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $PGDATA\""), 0},
        {PP, WS("\"cmd\":\"rm -rf $NIX_STORE\""), 0},
        {PP, WS("\"cmd\":\"rm -rf ${DIST}\""), 0},
        /* stay allowed */
        {PP, WS("\"cmd\":\"echo $BUILD_NUMBER\""), 1},
        {PP, WS("\"cmd\":\"echo $USER $ISSUE\""), 1},
        {PP, WS("\"cmd\":\"echo $DATA\""), 1},
        {PP, WS("\"cmd\":\"echo $GITHUB_TOKEN\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev63_params, nouns_flags_test_operands_and_long_defaults_are_no_path)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"echo $NO_CACHE\""), 1},
        {PP, WS("\"cmd\":\"docker build $NO_CACHE -t app .\""), 1},
        {PP, WS("\"cmd\":\"mysql -u root -p$MYSQL_ROOT_PASSWORD -e \\\"show databases\\\"\""), 1},
        {PP, WS("\"cmd\":\"echo \\\"$ROOT_PASSWORD\\\" | docker login --password-stdin\""), 1},
        {PP,
         WS("\"cmd\":\"for v in API_KEY DB_URL; do [ -z \\\"${!v}\\\" ] && echo \\\"missing "
            "$v\\\"; done\""),
         1},
        {PP, WS("\"cmd\":\"echo ${HOME_PAGE_TITLE}\""), 1},
        {PP, WS("\"cmd\":\"test -n \\\"$TMP_FILE\\\"\""), 1},
        {PP, WS("\"cmd\":\"[[ -n $HOME ]] && echo ok\""), 1},
        /* still denied: a substitution in the test, a word outside it */
        {PP, WS("\"cmd\":\"[ -z \\\"$(rm -rf $HOME)\\\" ]\""), 0},
        {PP, WS("\"cmd\":\"cp -r [ -z $HOME ] x\""), 0},
        {PP, WS("\"cmd\":\"cp -r \\\"; [ -z \\\" $HOME \\\" ]\\\" x\""), 0},
        {PP, WS("\"cmd\":\"[ -z \\\"${!v}\\\" ] || rm -rf ${!v}\""), 0},
        {PP, WS("\"cmd\":\"test -z $HOME; rm -rf $HOME\""), 0},
        {PP, WS("\"cmd\":\"echo [ -z $HOME ]\""), 0},
        /* a usage default past 256 bytes is read; past 4096 it is not */
        {PP, WS("\"cmd\":\"echo \\\"${1:-usage: " A100 A100 A100 "}\\\"\""), 1},
        {PP, WS("\"cmd\":\"rm -rf ${HOME:-" A100 A100 A100 "}\""), 0},
        {PP, WS("\"cmd\":\"echo \\\"${1:-" A1000 A1000 A1000 A1000 A1000 "}\\\"\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
