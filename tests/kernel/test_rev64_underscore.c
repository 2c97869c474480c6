/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev64_underscore.c - review 24 (paths) R1 follow-up:
 * R1 made every lone "$_" / "${_}" unreadable under path_prefix, which
 * closed "test -d $HOME && rm -rf $_" but denied "mkdir -p build && cd
 * $_", a Perl one-liner's '$_' and a PowerShell block's "{ $_ }". A "$_"
 * inside '..' is text (unless the value may run text as commands: eval,
 * trap, a function, "_="), a PowerShell pipeline item after "|
 * ForEach-Object {" is text, and an unquoted "$_" reads as the previous
 * simple command's last word when that word is a literal the value holds
 * (its path is read where it stands); any other "$_" still denies.
 * Each deny row has allow rows beside it that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define PP       KT_PP("/workspace")

Test(rev64_underscore, a_quoted_or_powershell_underscore_is_text)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"perl -ne 'print $_' f.txt\""), 1},
        {PP, WS("\"cmd\":\"perl -ne 'chomp; print $_' f.txt && echo ok\""), 1},
        {PP, WS("\"cmd\":\"Get-ChildItem | ForEach-Object { $_ }\""), 1},
        {PP, WS("\"cmd\":\"Get-ChildItem | % { $_ }\""), 1},
        {PP, WS("\"cmd\":\"gci | Where-Object { $_ -match 'x' }\""), 1},
        {PP, WS("\"cmd\":\"Get-ChildItem | Where-Object { $_.Name -match 'x' }\""), 1},
        /* '..' another shell reads in this one: eval, a trap, a function */
        {PP, WS("\"cmd\":\"test -d $HOME && eval 'rm -rf $_'\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME && trap 'rm -rf $_' EXIT\""), 0},
        {PP, WS("\"cmd\":\"env _=$HOME bash -c 'rm -rf $_'\""), 0},
        {PP, WS("\"cmd\":\"f() { rm -rf $1; }; echo x | ForEach-Object { $_ }\""), 0},
        /* "?" is a glob to a shell: not read as PowerShell's */
        {PP, WS("\"cmd\":\"Get-ChildItem | ? { $_ }\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME && echo { $_ }\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}

Test(rev64_underscore, an_unquoted_underscore_reads_as_the_previous_literal_word)
{
    static const kt_row rows[] = {
        {PP, WS("\"cmd\":\"mkdir -p build && cd $_\""), 1},
        {PP, WS("\"cmd\":\"mkdir -p out; cd \\\"$_\\\" && make\""), 1},
        {PP, WS("\"cmd\":\"mkdir -p b && cd ${_}\""), 1},
        {PP, WS("\"cmd\":\"mkdir -p build\\ncd $_\""), 1},
        /* mkdir may not have run: "$_" may be test's (review 25 paths R2) */
        {PP, WS("\"cmd\":\"test -d build || mkdir build && cd $_\""), 0},
        /* the literal word is read where it stands */
        {PP, WS("\"cmd\":\"mkdir -p /etc/x && cd $_\""), 0},
        {PP, WS("\"cmd\":\"mkdir -p ../x && cd $_\""), 0},
        /* no literal word to read */
        {PP, WS("\"cmd\":\"test -d $HOME && rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"cd $_\""), 0},
        {PP, WS("\"cmd\":\"rm -rf \\\"$_\\\"\""), 0},
        {PP, WS("\"cmd\":\"echo -L && cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo - && cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"echo +1 && pushd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"X=a && cd $_ && rm -rf *\""), 0},
        {PP, WS("\"cmd\":\"ls | head -1 && rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"sleep 1 & rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"[ -d $HOME ] && (rm -rf $_)\""), 0},
        {PP, WS("\"cmd\":\"test -d $HOME; for x in a; do rm -rf $_; done\""), 0},
        {PP, WS("\"cmd\":\"echo 'a; b' && rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"echo x >a && rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"echo \\\"x; y\\\" && rm -rf $_\""), 0},
        {PP, WS("\"cmd\":\"echo ${HOME:-$_}\""), 0},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
