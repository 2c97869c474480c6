/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_cwd_paths.c - the forbidden_path guard reads a
 * relative path from the working directories the arguments set
 * (src/kernel/guard_path_cwd.c). Before, "cd / && cat etc/passwd" passed
 * a guard on /etc/: the relative word named nothing the guard could place.
 * Each row is one call through the real pipeline (every row leaves a
 * receipt); the rows that must stay allowed are beside the ones denied.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* Under /etc/ and /root/: a change of directory to "/" (or to where the
 * guard cannot tell: "/" at worst), then a relative path. Every denied
 * row was allowed before but two ("cd ../../.." and "cd ~": the climb
 * and the home were denied on their own). */
Test(cwd_paths, a_relative_path_after_a_change_of_directory_is_read_from_there)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd / && cat etc/passwd\"}",
        "{\"cmd\":\"cd /;cat etc/shadow\"}",
        "{\"cmd\":\"(cd /tmp/.. && cat ./etc/passwd)\"}",
        "{\"cmd\":\"cd -P -- / && cat etc/passwd\"}",
        "{\"cmd\":\"pushd / >/dev/null; cat etc/passwd\"}",
        "{\"cmd\":\"tar -C / -cf - etc/passwd\"}",
        "{\"cmd\":\"git -C/ show HEAD:etc/passwd\"}",
        "{\"cmd\":\"env --chdir=/ cat etc/passwd\"}",
        /* targets the guard cannot place: "/" at worst */
        "{\"cmd\":\"cd - && cat etc/passwd\"}",
        "{\"cmd\":\"cd $D && cat etc/passwd\"}",
        "{\"cmd\":\"cd \\\"$(printf '\\\\57')\\\" && cat etc/passwd\"}",
        "{\"cmd\":\"cd ../../../../../.. && cat etc/passwd\"}",
        /* a bare cd is $HOME: /root at worst */
        "{\"cmd\":\"cd && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd ~ && cat .ssh/id_rsa\"}",
        /* the relative word in a shell's reading, a glob, percent-encoded */
        "{\"cmd\":\"cd / && cat e\\\"t\\\"c/passwd\"}",
        "{\"cmd\":\"cd / && cat et?/passwd\"}",
        "{\"cmd\":\"cd%20/%20&&%20cat%20etc/passwd\"}",
        "{\"cmd\":\"cd {/,} && cat etc/passwd\"}",
        /* stay allowed: a directory below no prefix, a relative one, prose */
        "{\"cmd\":\"cd /workspace && cat etc/config.yaml\"}",
        "{\"cmd\":\"cd build && make && cat etc/x.conf\"}",
        "{\"cmd\":\"cd / && ls && cat tmp/x\"}",
        "{\"cmd\":\"ls / && cat etc/notes.txt\"}",
        "{\"text\":\"Use tabs / spaces, etc.\"}",
        "{\"cmd\":\"grep -C 3 foo etc/hosts\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* The directory and the path may be two arguments (a tool that takes a
 * working directory), or inside JSON an argument holds. */
Test(cwd_paths, a_working_directory_argument_places_the_other_arguments)
{
    static const char *const args[] = {
        "{\"cwd\":\"/\",\"file\":\"etc/passwd\"}",
        "{\"working_dir\":\"/\",\"argv\":[\"cat\",\"etc/passwd\"]}",
        "{\"workingDirectory\":\"/tmp/..\",\"path\":\"root/.bashrc\"}",
        "{\"dir\":\"../../../..\",\"path\":\"etc/passwd\"}",
        "{\"body\":\"{\\\"cwd\\\":\\\"/\\\",\\\"file\\\":\\\"etc/passwd\\\"}\"}",
        /* stay allowed */
        "{\"cwd\":\"/workspace\",\"file\":\"etc/passwd\"}",
        "{\"cwd\":\"/\",\"cmd\":\"make\"}",
        "{\"cwd\":\"src\",\"file\":\"etc/passwd\"}",
        "{\"root\":\"/srv/app\",\"files\":[\"etc/a\",\"root/b\"]}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* A prefix below the directory changed to ("/etc/shadow", "/root/.ssh/"):
 * the directory is read as an ancestor of the prefix, also when it is
 * reached one relative step at a time or through a glob. */
Test(cwd_paths, a_directory_above_a_prefix_places_the_words_after_it)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc && cat shadow\"}",
        "{\"cmd\":\"cd /; cd etc; cat shadow-\"}",
        "{\"cmd\":\"cd /root && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd /e* && cat shadow\"}",
        "{\"cwd\":\"/root/.ssh/..\",\"path\":\".ssh/id_ed25519\"}",
        "{\"cmd\":\"cd /ETC && cat SHADOW\"}",
        "{\"cwd\":\"~\",\"file\":\".ssh/id_rsa\"}",
        "{\"cmd\":\"cd && cat .ssh/id_rsa\"}",
        /* stay allowed */
        "{\"cmd\":\"cd /etc && cat hosts\"}",
        "{\"cmd\":\"cd /root && ls\"}",
        "{\"cmd\":\"cd /tmp && cat shadow\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* More working directories than the guard follows cannot be read, and
 * deny: 32 distinct readings (here one above each of 33 prefixes), or 8
 * holding a glob; 32 and 8 pass. */
Test(cwd_paths, more_directories_than_the_guard_reads_deny)
{
    static char pfx[33][16], many[4][1024];
    const char *prefixes[33], *args[4];
    static const int denied[] = {1, 0, 1, 0};
    size_t i, k, o;

    for (i = 0; i < 33; i++) {
        snprintf(pfx[i], sizeof(pfx[i]), "/d%zu/x/", i);
        prefixes[i] = pfx[i];
    }
    for (k = 0; k < 4; k++) {
        size_t count = k == 0 ? 33 : k == 1 ? 32 : k == 2 ? 9 : 8;
        o = (size_t)snprintf(many[k], sizeof(many[k]), "{\"cmd\":\"");
        for (i = 0; i < count; i++)
            o += (size_t)snprintf(many[k] + o, sizeof(many[k]) - o,
                                  k < 2 ? "cd /d%zu; " : "cd /a%zu*; ", i);
        snprintf(many[k] + o, sizeof(many[k]) - o, "ls\"}");
        args[k] = many[k];
    }
    kt_run_guard_rows_with(NOW, prefixes, 33, args, denied, 4);
}

/* An outside reviewer's pass over the first version: a redirection or a
 * command substitution before the target, a bracket in the relative
 * word, -C glued to anything or at the end of a cluster, old-style tar,
 * getopt_long's abbreviations, CDPATH, chdir and cwd in code, more
 * options and keys. Each was read by bash or python3 as /etc/passwd.
 * Then the false denies it found, which must pass: a "." read from "/"
 * again and again until the bound, a key read as a word, and a word
 * without a separator read from a directory the guard could not place
 * ("chown root:root" after "cd $REPO"). */
Test(cwd_paths, review_redirections_brackets_options_keys_and_code)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd >/dev/null / && cat etc/passwd\"}",
        "{\"cmd\":\"cd 2>/dev/null / && cat etc/passwd\"}",
        "{\"cmd\":\"cd -- >/dev/null / && cat etc/passwd\"}",
        "{\"cmd\":\"cd / && cat e[t]c/passwd\"}",
        "{\"cwd\":\"/\",\"cmd\":\"cat [e]tc/passwd\"}",
        "{\"cmd\":\"cd `echo /` && cat etc/passwd\"}",
        "{\"cmd\":\"tar -C$D -cf - etc/shadow\"}",
        "{\"cmd\":\"tar -cC / -f - etc/shadow\"}",
        "{\"cmd\":\"env -iC/ cat etc/passwd\"}",
        "{\"cmd\":\"tar cfC - / etc/passwd\"}",
        "{\"cmd\":\"tar --dir=/ -cf - etc/passwd\"}",
        "{\"cmd\":\"env --ch=/ cat etc/passwd\"}",
        "{\"cmd\":\"CDPATH=/ cd etc && cat passwd\"}",
        "{\"env\":{\"CDPATH\":\"/\"},\"cmd\":\"cd etc && cat passwd\"}",
        "{\"cmd\":\"python3 -c \\\"import os;os.chdir('/');open('etc/passwd')\\\"\"}",
        "{\"cmd\":\"python3 -c \\\"import subprocess;subprocess.run(['cat','etc/passwd'],"
        "cwd='/')\\\"\"}",
        "{\"cmd\":\"sudo -D / cat etc/passwd\"}",
        "{\"cmd\":\"docker run -w / img cat etc/passwd\"}",
        "{\"cmd\":\"chroot / cat etc/passwd\"}",
        "{\"current_dir\":\"/\",\"file\":\"etc/passwd\"}",
        "{\"rootPath\":\"/\",\"file\":\"etc/passwd\"}",
        "{\"folder\":\"/\",\"file\":\"etc/passwd\"}",
        "{\"cwd\":{\"path\":\"/\"},\"file\":\"etc/passwd\"}",
        /* must pass */
        "{\"cmd\":\"cd $X && git add .\"}",
        "{\"cmd\":\"cd $BUILD_DIR && cmake .\"}",
        "{\"cmd\":\"git -C .. diff .\"}",
        "{\"cmd\":\"cd / && ls .\"}",
        "{\"root\":\"/\",\"cmd\":\"ls\"}",
        "{\"cmd\":\"cd \\\"$REPO\\\" && sudo chown -R root:root build\"}",
        "{\"cmd\":\"make -C .. install DESTDIR=root\"}",
        "{\"cmd\":\"cd - && echo etc\"}",
        /* "cd" alone is the home, /root at worst, as "cd ~" is: since
         * review 52 its words are read from there, so "cd; cat .bashrc"
         * denies, and so does listing it */
        "{\"cmd\":\"cd && ls\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* A target the guard cannot place is read from every directory above a
 * prefix, not only "/": under /root/.ssh/ that is /root too. */
Test(cwd_paths, review_a_target_nowhere_is_read_above_every_prefix)
{
    static const char *const prefixes[] = {"/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd $D && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd - && cat .ssh/id_rsa\"}",
        "{\"cwd\":\"$D\",\"file\":\".ssh/id_rsa\"}",
        "{\"cmd\":\"cd ${HOME%/} && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd $(echo ~) && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"pushd >/dev/null ~ && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd >/dev/null && cat .ssh/id_rsa\"}",
        "{\"cmd\":\"cd /root && cat .s[s]h/id_rsa\"}",
        /* must pass */
        "{\"cmd\":\"cd $D && cat notes/id_rsa.pub\"}",
        "{\"cmd\":\"cd /root && ls\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* A second reviewer's pass: a value glued to a short option, a call in
 * code whose directory follows a string prefix, a keyword or a template
 * literal, a relative glob changed to from "/", "~+" (the working
 * directory itself) and a long key. Each was read by bash, python3, node
 * or ruby as the file under the prefix. */
Test(cwd_paths, review2_glued_options_code_strings_and_relative_globs)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd /etc && sort -oshadow x\"}",
        "{\"cmd\":\"cd /root && ssh -i.ssh/id_rsa host\"}",
        "{\"argv\":[\"sort\",\"-oshadow\",\"x\"],\"cwd\":\"/etc\"}",
        "{\"cmd\":\"python3 -c \\\"import os;os.chdir(b'/etc');open('shadow')\\\"\"}",
        "{\"cmd\":\"python3 -c \\\"import os;os.chdir(path='/etc');open('shadow')\\\"\"}",
        "{\"cmd\":\"node -e \\\"process.chdir(`/etc`);fs.readFileSync('shadow')\\\"\"}",
        "{\"cmd\":\"ruby -e 'Dir.chdir %q(/etc); puts File.read %q(shadow)'\"}",
        "{\"cmd\":\"cd / && cd e?c && cat shadow\"}",
        "{\"cmd\":\"cd / && cd [e]tc && cat shadow\"}",
        "{\"cmd\":\"cd /etc && cat ~+/shadow\"}",
        "{\"thisIsAVeryLongNameForTheCurrentWorkingDirectory\":\"/etc\",\"f\":\"shadow\"}",
        /* must pass */
        "{\"cmd\":\"cd /etc && sort -ohosts x\"}",
        "{\"cmd\":\"python3 -c \\\"import os;os.chdir(b'/srv');open('shadow')\\\"\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* The second reviewer's false denies: from a directory the guard cannot
 * place, a word opening with a glob (any directory's children) is read
 * only when a later segment names a prefix's; "-w" (docker's workdir,
 * wc's words) and the like count only with an absolute directory. And
 * the glued and code forms under /etc/. */
Test(cwd_paths, review2_globs_after_an_unplaced_directory_and_weak_options)
{
    static const char *const prefixes[] = {"/etc/", "/home/alice/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd / && grep -fetc/passwd x\"}",
        "{\"cmd\":\"python3 -c \\\"import os;os.chdir(b'/');open('etc/passwd')\\\"\"}",
        "{\"cmd\":\"cd $D && cat */.ssh/id_rsa\"}",
        /* must pass */
        "{\"cmd\":\"for d in */; do (cd \\\"$d\\\" && git pull); done\"}",
        "{\"cmd\":\"wc -w */*.md\"}",
        "{\"cmd\":\"cd \\\"$REPO\\\" && ls -d */\"}",
        "{\"cmd\":\"rm -rf */node_modules\",\"cwd\":\"$REPO\"}",
        "{\"cmd\":\"./configure --prefix=$PREFIX && make && ls */\"}",
        "{\"cmd\":\"tar -C \\\"$DEST\\\" -xzf pkg.tgz --wildcards '*/bin/*'\"}",
        "{\"cmd\":\"git -C \\\"$repo\\\" log --oneline -- '*/*.py'\"}",
        "{\"path\":\".vscode/launch.json\",\"content\":\"{\\\"configurations\\\":[{\\\"cwd\\\":"
        "\\\"${workspaceFolder}\\\",\\\"skipFiles\\\":[\\\"**/node_modules/**\\\"]}]}\"}",
        "{\"path\":\"tsconfig.json\",\"content\":\"{\\\"compilerOptions\\\":{\\\"outDir\\\":"
        "\\\"${configDir}/dist\\\"},\\\"include\\\":[\\\"**/*.ts\\\"]}\"}",
        "{\"text\":\"Use `cd $PROJECT` then run `ls */` to see the packages\"}",
        "{\"cmd\":\"du -sh -- */ | sort -h\",\"cwd\":\"~\"}",
    };
    static const int denied[] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* "cd" alone, "cd $HOME" and "cd ${HOME}" are the home (/root at worst),
 * as "cd ~" is: every word after them is read from there (review 52;
 * "cd; cat .bashrc" and "cd $HOME && cat .bashrc" had passed). */
Test(cwd_paths, a_home_target_reads_every_word)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd; cat .bashrc\"}",
        "{\"cmd\":\"cd -P && cat .profile\"}",
        "{\"cmd\":\"cd $HOME && cat .bashrc\"}",
        "{\"cmd\":\"cd ${HOME} && cat .bashrc\"}",
        "{\"cmd\":\"cd \\\"$HOME\\\"; cat .bashrc\"}",
        /* another user's home is not under /root/ */
        "{\"cmd\":\"cd ~alice && cat .bashrc\"}",
        "{\"cmd\":\"cd $X && git add .\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* A word with no separator from a directory the guard places only at
 * worst ("/" after "cd ..", any ancestor of a prefix after "cd $X"):
 * read against the prefixes that name a file or the start of a name, so
 * a prefix at the top level ("/secret.key") is reached by its bare name.
 * The directory a prefix ending in '/' names ("root" under "/root/") is
 * still not read so ("chown root x"). Found by a seeded random check of
 * plain paths against posixpath.normpath. */
Test(cwd_paths, a_bare_name_at_worst_is_read_against_open_prefixes)
{
    static const char *const prefixes[] = {"/secret.key", "/root/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd .. && cat secret.key\"}",          /* from /w */
        "{\"cmd\":\"pushd .. && cat SECRET.KEY\"}",       /* case folded */
        "{\"cmd\":\"cd $X && cat secret.key.bak\"}",      /* $X=/ */
        "{\"cwd\":\"$D\",\"cmd\":\"cat secret.key\"}",    /* $D=/ */
        "{\"cmd\":\"cd - && cp secret.key /tmp/k\"}",     /* $OLDPWD=/ */
        "{\"cmd\":\"cd ../.. && cp secret.key /tmp/k\"}", /* from /w/x */
        /* stay allowed */
        "{\"cmd\":\"cd .. && chown root x\"}",
        "{\"cmd\":\"cd $X && cat secret.txt\"}",
        "{\"cmd\":\"cd .. && cat notes.md\"}",
        "{\"cmd\":\"cd $REPO && make install\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    static const char *const shadow[] = {"/etc/shadow"};
    static const char *const under_etc[] = {
        "{\"cmd\":\"cd - && cat shadow-\"}",       /* $OLDPWD=/etc */
        "{\"cmd\":\"cd $X && cat shadow\"}",       /* $X=/etc */
        "{\"cmd\":\"cd /$(:)etc && cat shadow\"}", /* cd /etc */
        "{\"cmd\":\"cd $X && cat passwd\"}",
    };
    static const int etc_denied[] = {1, 1, 1, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
    cr_assert_eq(NROWS(under_etc), NROWS(etc_denied));
    kt_run_guard_rows_with(NOW, shadow, 1, under_etc, etc_denied, NROWS(under_etc));
}

static uint64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* The view of the open prefixes that a bare name is read against is built
 * when the guard is registered: a registration that runs short of memory
 * at any of its allocations leaves nothing behind (registering the same
 * name again succeeds), and the guard that does register reads a bare
 * name from "/" against "/secret.key" (the third prefix, which the
 * denial names) but not against "/root/". */
Test(cwd_paths, a_registration_short_of_memory_leaves_no_guard_and_a_retry_reads_bare_names)
{
    static const char *const prefixes[] = {"/root/", "/var/", "/secret.key"};
    static const char *const tools[] = {"t"};
    static const char *const args[] = {"{\"cmd\":\"cd .. && cat secret.key\"}",
                                       "{\"cmd\":\"cd .. && chown root x\"}"};
    char name[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kt_echo_kernel(NULL, fixed_now, "srv", tools, 1);
    chio_response r;
    chio_error err;
    chio_call c;
    uint64_t i, counted, failed = 0;
    int rc;

    for (i = 1;; i++) {
        snprintf(name, sizeof(name), "Paths%llu", (unsigned long long)i);
        chio_error_init(&err);
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_add_forbidden_path_guard(k, name, prefixes, NROWS(prefixes), &err);
        counted = fa_disarm();
        if (rc != 0) {
            cr_assert_eq(rc, CHIO_ENOMEM, "allocation %llu: %s", (unsigned long long)i,
                         err.message);
            failed++;
            cr_assert_eq(
                chio_kernel_add_forbidden_path_guard(k, name, prefixes, NROWS(prefixes), &err), 0,
                "the retry after allocation %llu: %s", (unsigned long long)i, err.message);
        }
        if (i > counted)
            break; /* nothing was failed: every allocation was tried */
    }
    cr_assert_gt(failed, 3, "only %llu of %llu allocations could fail", (unsigned long long)failed,
                 (unsigned long long)counted);
    for (i = 0; i < NROWS(args); i++) {
        snprintf(name, sizeof(name), "cap-reg-%llu", (unsigned long long)i);
        kt_grant_session(k, NOW, name, "", sid);
        kt_grant_call(&c, sid, name, args[i], strlen(args[i]));
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
        cr_assert_not_null(r.receipt);
        if (i == 0) {
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s: %s", args[i], chio_code_name(r.code));
            cr_expect_not_null(strstr(r.reason, "'/secret.key'"), "%s", r.reason);
        } else
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s: %s", args[i], r.reason);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

/* A short text that names many working directories and many readings of
 * its words (found by fuzz_guard: 62 bytes took 80 ms, 8 KiB 4 s, and
 * that one came back as a guard error rather than a denial) is denied as
 * more than the guard reads, within bounds on the (directory, word)
 * pairs read that grow with the text (docs/security.md). */
Test(cwd_paths, a_text_naming_too_much_is_denied_as_such)
{
    /* the parameter expansion closed before its blank: since review 21
     * (F2) "${..}" runs to its matching brace, blanks included, and the
     * words it held would be one piece */
    static const char piece[] =
        "t$e'%F${\\u0003${IFS}} \\uff0e)%2etc~<.HsIFS}eInfinityhc[` `.* cwd";
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const tools[] = {"t"};
    static const size_t reps[] = {1, 16, 128};
    chio_kernel *k = kt_echo_kernel(NULL, fixed_now, "srv", tools, 1);
    char *args, id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    size_t i, n, o;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, NROWS(prefixes), &err),
                 0, "%s", err.message);
    for (i = 0; i < NROWS(reps); i++) {
        args = malloc(64 + reps[i] * sizeof(piece));
        cr_assert_not_null(args);
        o = (size_t)sprintf(args, "{\"cmd\":\"cd \\\\~u( && cat ");
        for (n = 0; n < reps[i]; n++)
            o += (size_t)sprintf(args + o, "%s", piece);
        strcpy(args + o, "\"}");
        snprintf(id, sizeof(id), "cap-much-%zu", i);
        kt_grant_session(k, NOW, id, "", sid);
        kt_grant_call(&c, sid, id, args, strlen(args));
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
        cr_assert_not_null(r.receipt);
        cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%zu pieces: %s", reps[i],
                     chio_code_name(r.code));
        cr_expect_not_null(strstr(r.reason, "more working directories or relative paths"),
                           "%zu pieces: %s", reps[i], r.reason);
        chio_response_destroy(&r);
        free(args);
    }
    chio_kernel_free(k);
}
