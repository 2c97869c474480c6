/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev42_shell.c - review 42 of the argument constraints:
 * values a tool that hands them to a shell, splits their words or reads a
 * nested object reads elsewhere than the kernel did. Each row is one
 * constraint, one argument object and the verdict, through the real
 * pipeline (every row leaves a receipt). Each test holds rows that were
 * allowed before its fix, and values that must stay allowed.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

#define PP KT_PP
#define DX KT_DX
#define DG KT_DG
#define W  PP("/workspace")
#define E  DX("example.com")

/* F1: path_prefix read the value as written only; a shell removes quotes
 * and backslashes and splits at $IFS ("/workspace/.\./etc" is
 * "/workspace/../etc" to sh). The forbidden_path guard's reading
 * (shell_words.c) now holds under path_prefix too, whole and by words.
 * Rows 0-5 were allowed before. */
Test(rev42_shell, path_prefix_reads_the_value_as_a_shell_does)
{
    static const row rows[] = {
        {W, "{\"path\":\"/workspace/.\\\\./etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/\\\\.\\\\./etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a/.\\\\./.\\\\./etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a$IFS/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a${IFS}/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a%24IFS/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a\",\"out\":\"-o/workspace/.\\\\./etc/x\"}", 0},
        /* legitimate values stay allowed */
        {W, "{\"path\":\"/workspace/a b.txt\"}", 1},
        {W, "{\"path\":\"/workspace/it's.txt\"}", 1},
        {W, "{\"path\":\"/workspace/my\\\\ file.txt\"}", 1},
        {W, "{\"path\":\"/workspace/\\\"quoted\\\" name/x\"}", 1},
        {W, "{\"path\":\"/workspace/a$IFS/workspace/b\"}", 1},
        {W, "{\"path\":\"/workspace/$HOME-notes\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Globs, braces and expansions: a segment a shell could make ".." cannot
 * be read unambiguously (dash globs ".?" and ".[.]" to "..", bash braces
 * "{..,x}", an unset variable leaves ".${x}." as ".."), nor can a word
 * that starts with an expansion ("$HOME/x" is any path). Rows 0-9 and
 * 12-14 were allowed before. */
Test(rev42_shell, a_segment_a_shell_could_expand_to_dot_dot_denies)
{
    static const row rows[] = {
        {W, "{\"path\":\"/workspace/.?/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.[.]/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/[.][.]/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.[!a]/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.*/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/{..,x}/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.{.,}/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.${x}./etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/.$*./etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/${x:-..}/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/$(echo ..)/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/`echo ..`/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/$x/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a $HOME/.ssh/id_rsa\"}", 0},
        {PP("."), "{\"path\":\"$HOME/x\"}", 0},
        /* globs and braces that cannot make ".." stay allowed */
        {W, "{\"path\":\"/workspace/*.txt\"}", 1},
        {W, "{\"path\":\"/workspace/*\"}", 1},
        {W, "{\"path\":\"/workspace/file.{c,h}\"}", 1},
        {W, "{\"path\":\"/workspace/.[a-z]x\"}", 1},
        {W, "{\"path\":\"/workspace/a?b/v1.2\"}", 1},
        {W, "{\"path\":\"/workspace/price$\"}", 1},
        {W, "{\"path\":\"/workspace/.git/config\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A leading "//" whose first segment is the prefix's: a share on a host
 * of that name to Win32 and Python's ntpath, under the prefix to POSIX.
 * Rows 0, 2 and 4 were allowed before. */
Test(rev42_shell, a_unc_host_named_like_the_prefix_denies)
{
    static const row rows[] = {
        {W, "{\"path\":\"//workspace/share/x\"}", 0},
        {W, "{\"path\":\"//WORKSPACE/share/x\"}", 0},
        {W, "{\"path\":\"file:////workspace/share/x\"}", 0},
        {W, "{\"path\":\"\\\\\\\\workspace\\\\share\\\\x\"}", 0},
        {W, "{\"path\":\"/workspace/a //workspace/share/x\"}", 0},
        {W, "{\"path\":\"file:///workspace/share/x\"}", 1},
        {W, "{\"path\":\"/workspace//share/x\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F2: a value under a URL-ish key that holds a word break is read word by
 * word by a tool that splits it ("curl https://example.com/ evil.com"
 * fetches evil.com too): every word after white space is a bare host, and
 * every word after ',' or ';' that holds '.', ':' or '@'. Rows 0-11 were
 * allowed before. */
Test(rev42_shell, every_word_of_a_url_value_is_a_host)
{
    static const row rows[] = {
        {E, "{\"url\":\"https://example.com/ evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/${IFS}evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/$IFS'evil.com'\"}", 0},
        {E, "{\"url\":\"https://example.com/ @evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/ -x evil.com:8080\"}", 0},
        {E, "{\"url\":\"https://example.com/ -xevil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/ --proxy=evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/\\tevil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/,evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/;evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/ evil.com/x\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://a.example.com/ evil\"}", 0},
        /* the same words allowed, and commas WHATWG keeps in a URL */
        {E, "{\"url\":\"https://example.com/ example.com\"}", 1},
        {E, "{\"url\":\"https://example.com/ -v\"}", 1},
        {E, "{\"url\":\"https://example.com/a,b\"}", 1},
        {E, "{\"url\":\"https://example.com/?ids=1,2,3\"}", 1},
        {E, "{\"url\":\"https://example.com/wiki/Foo_(bar)\"}", 1},
        {E, "{\"url\":\"https://example.com/a%20b\"}", 1},
        {DG("*.example.com"), "{\"url\":\"https://a.example.com/,b.example.com\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F3: a URL-ish member name is said of everything under it: Playwright's
 * {"proxy": {"server": "evil.com:3128"}} routes through evil.com. Path-
 * ish names are not inherited (a map from path to content, {"files":
 * {"/w/a": "text"}}, holds contents). Rows 0-5 were allowed before; row
 * 7 was denied (no host was seen). */
Test(rev42_shell, a_url_key_is_inherited_by_what_it_holds)
{
    static const row rows[] = {
        {E, "{\"url\":\"https://example.com/\",\"proxy\":{\"server\":\"evil.com:3128\"}}", 0},
        {E, "{\"url\":{\"value\":\"evil.com\"},\"u\":\"https://example.com/\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"webhook\":[{\"target\":\"evil.com\"}]}", 0},
        {E, "{\"url\":\"https://example.com/\",\"proxy\":{\"a\":{\"b\":[\"evil.com\"]}}}", 0},
        {E, "{\"url\":\"https://example.com/\",\"proxy\":{\"n\":2130706433}}", 0},
        {E, "{\"endpoint\":{\"value\":\"evil.com\"},\"u\":\"https://example.com/\"}", 0},
        {E, "{\"proxy\":{\"server\":\"http://example.com:3128\"}}", 1},
        {E, "{\"url\":{\"value\":\"example.com\"}}", 1},
        {E, "{\"url\":\"https://example.com/\",\"opts\":{\"mode\":\"fast\"}}", 1},
        {W, "{\"files\":{\"/workspace/a\":\"some text\"}}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Bare hosts under keys outside the URL names: whole words "ip",
 * "server", "remote", "addr", "upstream" of a key now name a host
 * ("observer" and "zip" do not), and scp syntax "user@host:path" is a
 * host under any key. Rows 0-4 were allowed before; row 6 was denied
 * (no host was seen). */
Test(rev42_shell, host_words_of_keys_and_scp_syntax_are_hosts)
{
    static const row rows[] = {
        {E, "{\"url\":\"https://example.com/\",\"server\":\"evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"ip\":\"10.0.0.1\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"serverName\":\"evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"remote_addr\":\"evil.com\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"cb\":\"git@evil.com:repo.git\"}", 0},
        {E, "{\"repo\":\"git@evil.com:org/repo.git\"}", 0},
        {E, "{\"repo\":\"git@example.com:org/repo.git\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"observer\":\"x\",\"zip\":\"12345\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"description\":\"a b\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"note\":\"mail bob@example.com\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}
