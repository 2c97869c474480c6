/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_shell_assign.c - the forbidden_path guard reads a
 * command with the variables it assigns put in place of their
 * references (chio__shell_assigned_reading, kernel/shell_assign.c):
 * "x=etc; cat /$x/shadow" passed a guard on /etc/ before (the reading
 * that drops expansions made it "//shadow").
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "kernel/kernelutil.h"
#include "kernel/shell_assign.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* Rows 0-9 passed a guard on /etc/ and /root/ before this reading. */
Test(shell_assign, variables_the_command_assigns_are_read_in_place)
{
    static const char *const args[] = {
        "{\"cmd\":\"x=etc; cat /$x/shadow\"}",
        "{\"cmd\":\"x=etc; cat /${x}/shadow\"}",
        "{\"cmd\":\"export x=etc; cat \\\"/$x/shadow\\\"\"}",
        "{\"cmd\":\"a=/e; b=${a}tc; cat $b/shadow\"}",
        "{\"cmd\":\"a=/e; a+=tc; cat $a/shadow\"}",
        "{\"cmd\":\"x='e'tc; cat /$x/shadow\"}",
        "{\"cmd\":\"x=$'\\\\x65tc'; cat /$x/shadow\"}",
        "{\"cmd\":\"d=ro; cd /${d}ot && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"x=/tmp; cat $x/a; x=etc; cat /$x/shadow\"}",
        "{\"cmd\":\"local x=et; x+=c; bash -c \\\"cat /$x/shadow\\\"\"}",
        /* denied before and still: the value itself is a path there */
        "{\"cmd\":\"x=/etc; cat $x/shadow\"}",
        /* stay allowed */
        "{\"cmd\":\"f=a.txt; cp $f /tmp/$f\"}",
        "{\"cmd\":\"x=etc; echo $x\"}",
        "{\"cmd\":\"dir=/workspace/etc; ls $dir/x\"}",
        "{\"cmd\":\"n=3; seq $n\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

static void expect_assigned(const char *in, int want_rc, const char *want)
{
    char *out = (char *)1;
    size_t len = 7;
    unsigned most;
    int rc = chio__shell_assigned_reading(in, strlen(in), -1, &out, &len, &most);

    cr_expect_eq(rc, want_rc, "%s: rc %d", in, rc);
    if (want == NULL) {
        cr_expect_null(out, "%s", in);
        cr_expect_eq(len, 0);
        return;
    }
    cr_assert_not_null(out, "%s", in);
    cr_expect_eq(len, strlen(out), "%s", in);
    cr_expect_str_eq(out, want, "%s", in);
    free(out);
}

Test(shell_assign, the_assigned_reading)
{
    expect_assigned("x=etc; cat /$x/s", 1, "x=etc; cat /etc/s");
    expect_assigned("x=a b; echo $x", 1, "x=a b; echo a");
    expect_assigned("x=\"a b\"; echo $x", 1, "x=\"a b\"; echo \"a b\"");
    expect_assigned("x=$(echo a); echo ${x}", 1, "x=$(echo a); echo $(echo a)");
    expect_assigned("a=/e; b=${a}tc; cat $b", 1, "a=/e; b=/etc; cat /etc");
    expect_assigned("a=1; a+=2; echo $a", 1, "a=1; a+=12; echo 12");
    expect_assigned("x=1; echo $x; x=2; echo $x", 1, "x=1; echo 1; x=2; echo 2");
    expect_assigned("echo $x; x=1", 0, NULL); /* used before it is set */
    expect_assigned("echo a=b $x", 0, NULL);  /* "a=b" read as one, but no "$a" */
    expect_assigned("x=1; echo $xy ${x:-2} ${x#zz} $1", 1, "x=1; echo $xy 1 1 $1");
    expect_assigned("a=(etc b); a[1]=c; echo ${a[0]} $a", 1, "a=(etc b); a[1]=c; echo c c");
    expect_assigned("a=(etc b); echo ${a[0]}/$a", 1, "a=(etc b); echo etc/etc");
    expect_assigned(": ${x:=etc}; echo $x", 1, ": ${x:=etc}; echo etc");
    expect_assigned("set -- a etc; echo $2 ${1} \"$@\"", 1, "set -- a etc; echo etc a \"a etc\"");
    expect_assigned("set -e; echo $1", 0, NULL);
    /* literal operators applied; a glob pattern leaves the value */
    expect_assigned("x=/atc; echo ${x/a/e} ${x:1} ${x:1:2} ${x#/} ${x%c} ${x/#\\/}", 1,
                    "x=/atc; echo /etc atc at atc /at /atc");
    expect_assigned("x=abc; echo ${x/b*/} ${x##a*}", 1, "x=abc; echo abc abc");
    /* indirection: the name it holds */
    expect_assigned("x=HOME; echo ${!x}/a ${!x:0:5}", 1, "x=HOME; echo ${HOME}/a ${HOME:0:5}");
    expect_assigned("set -- a b etc; shift 2; echo $1", 1, "set -- a b etc; shift 2; echo etc");
    expect_assigned("for d in a etc; do echo $d; done", 1, "for d in a etc; do echo etc; done");
    expect_assigned("no assignment", 0, NULL);
}

/* With a pick, a name keeps its value from that assignment on: scope and
 * branches are not followed, so each may be the one a later word sees. */
Test(shell_assign, picks)
{
    const char *in = "x=t; x=Q true; for d in a etc; do echo /e${x}c $d; done";
    char *out;
    size_t len;
    unsigned most = 0;

    cr_assert_eq(chio__shell_assigned_reading(in, strlen(in), -1, &out, &len, &most), 1);
    cr_expect_str_eq(out, "x=t; x=Q true; for d in a etc; do echo /eQc etc; done");
    cr_expect_eq(most, 2);
    free(out);
    cr_assert_eq(chio__shell_assigned_reading(in, strlen(in), 0, &out, &len, &most), 1);
    cr_expect_str_eq(out, "x=t; x=Q true; for d in a etc; do echo /etc a; done");
    free(out);
}

/* 256 names are followed and one more refuses the value, so that none
 * is dropped; a reading past 4 x the value + 4 KiB is refused, and the
 * guard denies both. */
Test(shell_assign, bounds)
{
    char *buf = malloc(8192), *out, json[8300];
    unsigned most;
    const char *args[1];
    static const int denied[] = {1};
    size_t len, o = 0;
    int i;

    cr_assert_not_null(buf);
    for (i = 0; i < 256; i++)
        o += (size_t)snprintf(buf + o, 8192 - o, "v%d=x; ", i);
    snprintf(buf + o, 8192 - o, "echo $v0 $v255");
    cr_assert_eq(chio__shell_assigned_reading(buf, strlen(buf), -1, &out, &len, &most), 1);
    cr_expect(strstr(out, "echo x x") != NULL, "%s", out);
    free(out);
    snprintf(buf + o, 8192 - o, "x=etc; cat /$x/shadow");
    cr_expect_eq(chio__shell_assigned_reading(buf, strlen(buf), -1, &out, &len, &most),
                 CHIO_ETOOBIG);
    cr_expect_null(out);
    snprintf(json, sizeof(json), "{\"cmd\":\"%s\"}", buf);
    args[0] = json;
    kt_run_guard_rows_at(NOW, args, denied, 1);
    free(buf);

    {
        size_t n = 5000 + 2 * 3000, k;
        char *big = malloc(n + 1), *bigjson = malloc(n + 16);

        cr_assert(big != NULL && bigjson != NULL);
        memcpy(big, "x=", 2);
        memset(big + 2, 'a', 4991);
        memcpy(big + 4993, "; cat /", 7);
        for (k = 5000; k + 2 <= n; k += 2)
            memcpy(big + k, "$x", 2);
        big[n] = '\0';
        cr_expect_eq(chio__shell_assigned_reading(big, n, -1, &out, &len, &most), CHIO_ETOOBIG);
        cr_expect_null(out);
        snprintf(bigjson, n + 16, "{\"cmd\":\"%s\"}", big);
        args[0] = bigjson;
        kt_run_guard_rows_at(NOW, args, denied, 1);
        free(big);
        free(bigjson);
    }
}
