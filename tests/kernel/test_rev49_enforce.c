/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev49_enforce.c - review 49 of what the grant
 * constraints allow: braces, which bash (and curl's URL globbing) expand
 * into alternatives before a path is opened or a URL fetched. Each row is one
 * constraint, one argument object and the verdict, through the real pipeline
 * (every row leaves a receipt). Each test holds rows that were allowed before
 * its fix, and values that must stay allowed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

/* F1: path_prefix denies a value with a segment a shell could expand to
 * "..", brace alternatives included; but the alternatives were cut apart
 * at ',' and read on their own, so a brace that adds nothing to the
 * segment before it ("..{a,}", bash: "..a" and "..") or after it
 * ("{x,}..") was not seen, nor a brace that opens a word with a path
 * ("{~root/x,}", "{,}/etc/x": bash expands the brace, then the tilde of
 * the word it made), nor one that makes a segment vanish or split before
 * a ".." ("/w/{x,}/.." is "/w//..", that is "/"). All of these were
 * allowed under /workspace (or "."), though `bash -c "cat $path"` reads
 * a file outside it; a brace is now followed through each alternative
 * into the text after it; and a bracket holding ',' (".[,.]" matches
 * ".." in dash) was cut at the ','. Rows 0-11 were allowed before. */
Test(rev49_enforce, braces_are_read_as_bash_expands_them)
{
    static const row rows[] = {
        {KT_PP("/workspace"), "{\"path\":\"/workspace/..{a,}/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/.{a,.}/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{x,}../etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/.{x,}{y,}./etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {~root/.ssh/id_rsa,}\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {~root,x}/.ssh/id_rsa\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {{~root/.ssh/id_rsa,},}\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {-o/etc/passwd,}\"}", 0},
        {KT_PP("."), "{\"path\":\"{~root/.ssh/id_rsa,}\"}", 0},
        {KT_PP("."), "{\"path\":\"a {~root/.ssh/id_rsa,}\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{x,}/../etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/.[,.]/etc/passwd\"}", 0},
        /* as before */
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a,..}\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{.,x}/../etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a/b,c}/../../etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{..,x}/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {x,~/.ssh/id_rsa}\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {/etc/passwd,}\"}", 0},
        /* braces that make no ".." and start no path stay allowed */
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a,b}.txt\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/file.{c,h}\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/a {b,c}.txt\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/.{bashrc,profile}\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a,b}/../c\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a,b}{c,d}/x\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{notes}\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/x[a,b].txt\"}", 1},
        {KT_PP("."), "{\"path\":\"src/{a,b}/x.c\"}", 1},
        {KT_PP("."), "{\"path\":\"{a,b}/x.txt\"}", 1},
        {KT_PP("."), "{\"path\":\"{.env,.bashrc}\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F2: under a URL-ish key every word after white space is a bare host
 * that must be allowed, but a word after a brace was read like one after
 * '(' or a quote: not at all. So "https://api.example.com/ {evil.com,}"
 * (bash: two words, curl fetches evil.com) and
 * "{evil.com,https://api.example.com/}" (curl's URL globbing fetches both,
 * whether a shell runs it or not) were allowed under domain_exact
 * api.example.com, and so was "https://api.example.com/ {,}evil.com"
 * (an empty alternative: the text after the brace starts the word). Each
 * alternative of a brace that opens a word, and the text after it when an
 * alternative is empty, is now read as that word would be; inside a word
 * each alternative keeps the word's start, and its host. Rows 0-6 were
 * allowed before. */
Test(rev49_enforce, a_word_after_a_brace_is_a_host_as_curl_and_bash_read_it)
{
    static const row rows[] = {
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ {evil.com,}\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"{evil.com,https://api.example.com/}\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ {evil.com,x}\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ {evil,}\"}", 0},
        {KT_DG("*.example.com"), "{\"url\":\"https://api.example.com/ {{evil.com,},}\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ {,}evil.com\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"{,}evil.com https://api.example.com/\"}", 0},
        /* as before */
        {KT_DX("api.example.com"), "{\"url\":\"{https://evil.com/,https://api.example.com/}\"}", 0},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ evil.com\"}", 0},
        /* braces in a URL that name no other host stay allowed */
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/v1/{id}/items\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/{a,b}.json\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"{https://api.example.com/a,https://api.example.com/b}\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/ {api.example.com,}\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/q?f={\\\"name\\\":\\\"x.y\\\"}\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F3: the forbidden_path guard read globs and variables as written, so
 * "cat /tmp/.?/etc/passwd" (dash, /bin/sh on Debian, globs ".?" to "..")
 * and "cat /tmp/$x/../etc/passwd" ($x unset: "/tmp//../etc/passwd") were
 * allowed under the prefix /etc/ though the shell reads /etc/passwd. The
 * value is now also read with each glob and bracket matching a dot and
 * each expansion empty; only a hit in that reading counts. Rows 0-6 were
 * allowed before. */
Test(rev49_enforce, the_forbidden_path_guard_reads_globs_and_unset_variables_at_worst)
{
    static const char *const args[] = {
        "{\"cmd\":\"cat /tmp/.?/etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/$x/../etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/.${x}./etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/*/../etc/passwd\"}",
        "{\"cmd\":\"cat /.?/.?/.? /tmp/.?/etc/passwd\"}",
        "{\"cmd\":\"ls /etc*\"}",
        "{\"path\":\"/var/.?/root/.ssh/id_rsa\"}",
        /* as before */
        "{\"cmd\":\"cat {,}/etc/passwd\"}",
        /* globs, regexes and prose that reach no prefix stay allowed */
        "{\"cmd\":\"grep -r \\\"foo.*\\\" /workspace\"}",
        "{\"cmd\":\"find / -name \\\"*.conf\\\"\"}",
        "{\"pattern\":\"^/api/v[0-9]+/.*$\"}",
        "{\"cmd\":\"rm -rf /tmp/*\"}",
        "{\"cmd\":\"cat /tmp/*/x\"}",
        "{\"text\":\"price is $5 or $10?\"}",
        "{\"cmd\":\"echo $HOME\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}
