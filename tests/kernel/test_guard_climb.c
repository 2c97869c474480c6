/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_guard_climb.c - the forbidden_path guard's reading of
 * a relative word that climbs above its start (kernel/guard_path_climb.c).
 * Review 52's most frequent false denial was every such word ("cat
 * ../README.md", "cd ../web"); a plain one is now read from where it
 * may land and passes when that is beside the prefixes. Review 53 then
 * attacked that reading: a word that may land in or above a prefix
 * ("..", "../etc" under "/etc/shadow"), or a tool that changes to or
 * walks such a directory, must still deny. Each denied row's comment
 * names a working directory outside the prefixes from which it reads
 * under one.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* Review 52's harmless commands an agent runs in /workspace, denied
 * before for their climb; guard on /etc/ and /root/. */
Test(guard_climb, a_word_that_lands_beside_the_prefixes_passes)
{
    static const char *const args[] = {
        "{\"cmd\":\"cat ../README.md\"}",
        "{\"cmd\":\"cd ../web\"}",
        "{\"cmd\":\"cp ../shared/util.py src/\"}",
        "{\"cmd\":\"cd packages/api; npm test; cd ../web; npm test\"}",
        "{\"cmd\":\"cd src; gcc -I../include -o app main.c\"}",
        "{\"cmd\":\"cd build && ../configure --prefix=/usr/local\"}",
        "{\"cmd\":\"diff ../old/app.py src/app.py\"}",
        "{\"cmd\":\"rsync -a ../backup/ ./restore/\"}",
        "{\"cmd\":\"grep -rn TODO ../src\"}",
        "{\"cmd\":\"vim ../x.c:10\"}",
        "{\"cmd\":\"cat ../x.bak~\"}",
        "{\"path\":\"../my file.txt\"}",
        "{\"cwd\":\"../web\",\"cmd\":\"npm test\"}",
        "{\"cmd\":\"ls ../.ssh\"}", /* /X/.ssh: /root/.ssh only from inside /root */
    };
    static const int denied[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* Words whose rest after the climb is under a prefix from "/" or from a
 * directory above one, in any reading the guard gives a path; and words
 * it cannot read so (not plain, or a ".." below /proc or /dev). */
Test(guard_climb, a_word_that_may_land_under_a_prefix_denies)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cat ../etc/shadow\"}",         /* from /workspace */
        "{\"cmd\":\"cat a/../../../etc/shadow\"}", /* from /workspace/b */
        "{\"cmd\":\"cat ../ETC/SHADOW\"}",         /* case folded */
        "{\"cmd\":\"cat ../etc./shadow\"}",        /* Windows' reading */
        "{\"cmd\":\"cat ../shadow-\"}",            /* from /etc/ssl */
        "{\"cmd\":\"cat ../.ssh/id_rsa\"}",        /* from /root/x */
        "{\"cmd\":\"cat ../proc/self/root/etc/shadow\"}",
        "{\"cmd\":\"cat ../proc/self/root/../etc/shadow\"}", /* a link's ".." */
        "{\"cmd\":\"cat ../self/root/etc/shadow\"}",         /* from /proc/1 */
        "{\"cmd\":\"cat ../fd/3/shadow\"}",                  /* from /dev/shm */
        "{\"cmd\":\"cat ../e*/shadow\"}",                    /* a glob: not plain */
        "{\"cmd\":\"cat ..%2fetc/shadow\"}",                 /* an escape: not plain */
        "{\"cmd\":\"cat -o../etc/shadow\"}",                 /* a glued value */
        "{\"cmd\":\"cat --file=../etc/shadow\"}",
        "{\"path\":\"../etc/shadow~\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* Review 53: a climbing word is also a directory to "cd", "-C", a key
 * naming one, or a tool that walks it, and the guard does not follow a
 * working directory through a chain of changes. So a word that may land
 * in a directory above a prefix ("..", "../..", "../etc" under
 * "/etc/shadow") still denies, and "cd .." places its ancestors. Each
 * passed the first version of this reading. */
Test(guard_climb, review53_a_word_that_may_land_above_a_prefix_denies)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd ../.. && cd etc && cat shadow\"}",     /* from /workspace/a */
        "{\"cmd\":\"cd /etc/ssl && cd .. && cat shadow\"}",   /* from anywhere */
        "{\"cmd\":\"cd ../etc/ssl && cd .. && cat shadow\"}", /* from /workspace */
        "{\"cmd\":\"cd .. && cat shadow\"}",                  /* from /etc/ssl */
        "{\"cmd\":\"CDPATH=.. cd etc && cat shadow\"}",       /* from /workspace */
        "{\"cwd\":\"../..\",\"cmd\":\"cd etc && cat shadow\"}",
        "{\"base\":\"../etc\",\"file\":\"shadow\"}", "{\"cmd\":\"cd ../etc && grep -r root .\"}",
        "{\"cmd\":\"tar -C../.. -czf /tmp/a.tgz .\"}",
        "{\"cmd\":\"gcc -I.. -include etc/shadow x.c\"}",
        "{\"argv\":[\"tar\",\"-czf\",\"/tmp/a\",\"../..\"]}",
        "{\"cmd\":\"cat $(find ../etc -name shadow)\"}",
        "{\"cmd\":\"ln -s ../etc e && cat e/shadow\"}",
        "{\"cmd\":\"cd ../self && cat root/etc/shadow\"}", /* from /proc/1 */
        "{\"cmd\":\"sudo -D ../etc cat shadow\"}",
        /* its second pass */
        "{\"cmd\":\"cd /dev/shm && cat ../stdin/shadow < /etc\"}", /* stdin is /etc */
        "{\"cmd\":\"cat ../dev/stdin/shadow < /etc\"}",
        "{\"cmd\":\"cat /dev/stdin/shadow < /etc\"}",
        "{\"cmd\":\"cat ../self/root/../etc/shadow\"}", /* from /proc/1: "/" */
        "{\"cmd\":\"echo etc | xargs -I X cat ../X/shadow\"}",
        "{\"cmd\":\"cat ../a/../shadow\"}", /* from /etc/ssl/x */
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* Tools that walk a tree given a climbing directory: ".." from a
 * directory one below "/" is "/". Review 53 also found walkers the first
 * version did not know, or did not find past a wrapper's argument or a
 * keyword; they walk "/" the same. */
Test(guard_climb, review53_walkers_given_a_climb_or_found_past_wrappers)
{
    static const char *const args[] = {
        "{\"cmd\":\"grep -r PRIVATE ..\"}",
        "{\"cmd\":\"tar czf /tmp/a.tgz ../..\"}",
        "{\"cmd\":\"find .. -name id_rsa -delete\"}",
        "{\"cmd\":\"timeout 300 grep -r PRIVATE /\"}",
        "{\"cmd\":\"env -u X grep -r PRIVATE /\"}",
        "{\"cmd\":\"sudo -u bob tar czf /tmp/a.tgz /\"}",
        "{\"cmd\":\"if true; then grep -r PRIVATE /; fi\"}",
        "{\"cmd\":\"{ grep -r PRIVATE /; }\"}",
        "{\"cmd\":\"eval grep -r PRIVATE /\"}",
        "{\"cmd\":\"bash -c 'grep -r PRIVATE /'\"}",
        "{\"cmd\":\"rgrep PRIVATE /\"}",
        "{\"cmd\":\"grep -d recurse PRIVATE /\"}",
        "{\"cmd\":\"grep --directories recurse PRIVATE /\"}",
        "{\"cmd\":\"gzip -r /\"}",
        "{\"cmd\":\"chattr -R +i /\"}",
        "{\"cmd\":\"sudo -u du grep -r PRIVATE /\"}", /* a user named like a walker */
        "{\"cmd\":\"ctags -R ..\"}",
        /* stay allowed */
        "{\"cmd\":\"grep -rn TODO ../src\"}",
        "{\"cmd\":\"ls ..\"}",
        "{\"cmd\":\"cd build && cmake ..\"}",
        "{\"cmd\":\"timeout 300 grep -r TODO /workspace\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* Review 53's second pass: a relative directory given to a walking tool,
 * or a relative target that does not climb, after "cd .." or "cd /",
 * read from there; from a directory the guard cannot place ("cd
 * $REPO") it is not. Guard on /etc/ and /root/; each row from
 * /workspace. */
Test(guard_climb, review53_walks_and_targets_after_cd_dot_dot)
{
    static const char *const args[] = {
        "{\"cmd\":\"cd .. && grep -r x .\"}",
        "{\"cmd\":\"pushd .. && grep -r x .\"}",
        "{\"cmd\":\"env -C .. grep -r x .\"}",
        "{\"cmd\":\"cd .. && tar czf /tmp/a.tgz etc\"}",
        "{\"cmd\":\"cd / && grep -r x .\"}",
        "{\"cmd\":\"cd .. && cd etc && cat passwd\"}",
        "{\"cmd\":\"cd .. && cd root && cat .bashrc\"}",
        "{\"cmd\":\"CDPATH=.. cd etc && cat passwd\"}",
        "{\"cmd\":\"cd .. && env -C etc cat passwd\"}",
        /* stay allowed */
        "{\"cmd\":\"cd \\\"$REPO\\\" && grep -rn TODO .\"}",
        "{\"cmd\":\"cd .. && grep -r x src\"}",
        "{\"cmd\":\"cd .. && cd web && make\"}",
        "{\"cmd\":\"cd /workspace && grep -r x .\"}",
        "{\"cmd\":\"cd build && grep -rn x .\"}",
        "{\"cmd\":\"make -C .. install DESTDIR=root\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_at(NOW, args, denied, NROWS(args));
}

/* Review 53's third pass: "/dev" is a directory above every prefix (its
 * "stdin" may be any open directory), a tool that fills words in is
 * found however it is spelled, each CDPATH entry is a directory, and
 * sudo's -D takes a climb. Guard on /etc/shadow and /root/.ssh/. */
Test(guard_climb, review53_third_pass)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"cmd\":\"cd ../dev && cat stdin/shadow < /etc\"}",
        "{\"cmd\":\"cd /dev && cat stdin/shadow < /etc\"}",
        "{\"cwd\":\"../dev\",\"cmd\":\"cat stdin/shadow\"}",
        "{\"cmd\":\"echo etc | x\\\\args -I X cat ../X/shadow\"}",
        "{\"cmd\":\"echo etc | x''args -I X cat ../X/shadow\"}",
        "{\"cmd\":\"parallel -I X cat ../X/shadow ::: etc\"}",
        "{\"cmd\":\"echo etc | sed 's|.*|cat ../\\u0026/shadow|' | sh\"}",
        "{\"cmd\":\"CDPATH=/tmp:/ cd etc && cat shadow\"}",
        "{\"cmd\":\"CDPATH=/nonexist:/root cd .ssh && cat id_rsa\"}",
        "{\"cmd\":\"sudo -D .. grep -r x .\"}",
        /* stay allowed */
        "{\"cmd\":\"cat ../dev/null\"}",
        "{\"cmd\":\"CDPATH=.:/workspace cd web\"}",
        "{\"cmd\":\"cd ../web && npm test\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}
