/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_empty_expansions.c - the forbidden_path guard reads
 * a value with every expansion that may expand to nothing read as
 * nothing (chio__shell_unquote_empty, kernel/shell_ansi.c), and a pattern
 * substitution "${x/pat/word}" as its word. "cat /$(:)etc/shadow",
 * "cat /\"$@\"etc/shadow", "cat /${@}etc/shadow" and
 * "cat /${x:+y}etc/shadow" are "cat /etc/shadow" to bash (nothing set)
 * and passed a guard on /etc/ before. The reading is checked against the
 * cases written out here and against the bash on this machine for
 * seeded random words.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernelutil.h"
#include "kernel/shell_ansi.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *cmd; /* the shell text, as the tool receives it */
    int denied;
} cmd_row;

/* {"cmd": @cmd} with @cmd escaped as a JSON string, into @out. */
static void cmd_json(const char *cmd, char *out, size_t cap)
{
    size_t o = 0;

    o += (size_t)snprintf(out, cap, "{\"cmd\":\"");
    for (; *cmd != '\0' && o + 8 < cap; cmd++) {
        if (*cmd == '"' || *cmd == '\\') {
            out[o++] = '\\';
            out[o++] = *cmd;
        } else if (*cmd == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *cmd;
        }
    }
    cr_assert_lt(o + 3, cap, "row too long: %s", cmd);
    memcpy(out + o, "\"}", 3);
}

/* Each row's command through a guard on /etc/ and /root/. */
static void run_cmd_rows(const cmd_row *rows, size_t n)
{
    char(*json)[1024] = calloc(n, sizeof(*json));
    const char **args = calloc(n, sizeof(*args));
    int *denied = calloc(n, sizeof(*denied));
    size_t i;

    cr_assert(json != NULL && args != NULL && denied != NULL);
    for (i = 0; i < n; i++) {
        cmd_json(rows[i].cmd, json[i], sizeof(json[i]));
        args[i] = json[i];
        denied[i] = rows[i].denied;
    }
    kt_run_guard_rows_at(NOW, args, denied, n);
    free(json);
    free(args);
    free(denied);
}

/* Rows 0-22 passed a guard on /etc/ and /root/ before this reading. */
Test(empty_expansions, expansions_that_may_be_empty_are_read_as_nothing)
{
    static const cmd_row rows[] = {
        {"cat /${@}etc/shadow", 1},
        {"cat /\"$@\"etc/shadow", 1},
        {"cat /\"${@}\"etc/shadow", 1},
        {"cat /$(:)etc/shadow", 1},
        {"cat /$( )etc/shadow", 1},
        {"cat /`:`etc/shadow", 1},
        {"cat /$((0))etc/shadow", 1},
        {"cat /$[0]etc/shadow", 1},
        {"cat /${x:+y}etc/shadow", 1},
        {"cat /${x:0:0}etc/shadow", 1},
        {"cat /${x,,}etc/shadow", 1},
        {"cat /\"$(true)\"etc/shadow", 1},
        {"cat /${x:+\"a b\"}etc/shadow", 1},
        {"cat /r${@}oot/.ssh/id_rsa", 1},
        {"cat /$(: \"$(:)\")etc/shadow", 1},
        {"cd /$(:)etc && cat shadow", 1},
        {"cd /${@}etc && cat shadow", 1},
        {"bash -c 'cat /$(:)etc/shadow'", 1},
        /* pattern substitution: the word is the value when x is the
         * pattern */
        {"x=a; cat /${x/a//etc}/shadow", 1},
        {"cat ${x//a//etc/shadow}", 1},
        {"cat ${x/#a//etc/shadow}", 1},
        {"cat \"${x/a//etc}/shadow\"", 1},
        {"cat ${x/a/$'\\x2fetc'}/shadow", 1},
        /* denied before and still */
        {"cat /$x/etc/shadow", 1},
        {"cat /${x}etc/shadow", 1},
        /* stay allowed */
        {"cat $HOME/../x", 0},
        {"echo $PATH", 0},
        {"cd $(mktemp -d) && ls", 0},
        {"ls ${OUT_DIR}/build", 0},
        {"for f in *.c; do echo \"$f\"; done", 0},
        {"grep -r \"$(whoami)\" /tmp/x", 0},
        {"echo $((1+2)) ${#arr[@]}", 0},
        {"tar czf out.tgz \"${FILES[@]}\"", 0},
        {"awk '{print $1}' /tmp/f", 0},
        {"echo ${PWD/home/tmp}/x", 0},
        {"mv \"$f\" \"${f/.txt/.md}\"", 0},
        {"ls /tmp/$USER/etc", 0},
        {"cat /$xetc/shadow", 0}, /* the variable "xetc": "//shadow" */
        /* single quotes: no expansion here, but one in a shell that reads
         * the text again ("bash -c", eval); denied, as "'$HOME/etc'" always
         * was */
        {"echo '/$(:)etc/x'", 1},
    };

    run_cmd_rows(rows, NROWS(rows));
}

static void expect_empty(const char *in, const char *want)
{
    char out[256];
    size_t n = chio__shell_unquote_empty(in, strlen(in), 0, out, NULL);

    cr_assert_lt(strlen(in), sizeof(out));
    cr_expect_leq(n, strlen(in), "%s: %zu bytes out of %zu", in, n, strlen(in));
    cr_expect_str_eq(out, want, "%s", in);
}

/* The empty reading; what bash 5.2 prints with nothing set, but for
 * "$((..))" and "$[..]" (a number to bash, dropped here as a worst
 * guess) and "$#", "$?", "$$", which are never empty and stay. */
Test(empty_expansions, the_empty_reading)
{
    expect_empty("/${@}etc/x", "/etc/x");
    expect_empty("/\"$@\"etc/x", "/etc/x");
    expect_empty("/$(echo \")\")etc/x", "/etc/x");
    expect_empty("/$(a $(b) `c`)etc/x", "/etc/x");
    expect_empty("/`echo`etc/x", "/etc/x");
    expect_empty("/$((1 + (2)))etc/x", "/etc/x");
    expect_empty("/$[1]etc/x", "/etc/x");
    expect_empty("/${x:-'}'}etc/x", "/etc/x");
    expect_empty("/$x/$1/$*/etc", "////etc");
    expect_empty("a$'\\x2f'b", "a/b");
    expect_empty("'$(x)' \"$x\"", "$(x) ");
    expect_empty("$# $? $$ $-", "$# $? $$ $-");
    expect_empty("/$(:)etc # $(x)", "/etc ");
    expect_empty("/$(:\n)e\\\ntc", "/etc");
}

static size_t empty_reading(const char *w, size_t n, char *out)
{
    return chio__shell_unquote_empty(w, n, 0, out, NULL);
}

/* Seeded random words of literal text and expansions that bash makes
 * empty when nothing is set: the empty reading is what bash prints. */
Test(empty_expansions, the_empty_reading_matches_the_bash_on_this_machine)
{
    static const char *const alpha[] = {
        "a",      "/",       ".",        "etc",      "$x",      "${x}",     "${x:+y}", "${x+y}",
        "$@",     "\"$@\"",  "${@}",     "$*",       "$1",      "${x#a}",   "${x%b}",  "${x/a/}",
        "${x^^}", "${x,,}",  "${x:0:0}", "$(:)",     "`:`",     "\"$(:)\"", "$( )",    "\"${x}\"",
        "'q'",    "\"d\"",   "$'\\x41'", "\\$",      "${!x*}",  "$9",       "\"$x\"",  "$(echo)",
        "${y-}",  "${x##*}", "\"$*\"",   "${x:+$x}", "${x/%a}",
    };
    static const kt_reading reads[] = {{"the empty reading", empty_reading}};
    int compared = kt_bash_compare(alpha, NROWS(alpha), 52, 150, 8, "/", "z", "unset x y; set --; ",
                                   reads, NROWS(reads));

    cr_expect_gt(compared, 140, "only %d words compared", compared);
}

/* An outside review (bash 5.2.15 as ground truth) found these past the
 * first version: a case pattern's or a here-document's ')' inside
 * "$(..)", a quoted here-document's body read as code, and expansions
 * whose text is cut from a variable bash sets ("${PWD::1}" is "/",
 * "${-:2}" "c" under "bash -c", "${HOME:1}" "root") or made by a
 * command. Every row passed that version's guard on /etc/ and /root/. */
Test(empty_expansions, review_cases_heredocs_and_cut_variables)
{
    static const cmd_row rows[] = {
        {"cat /et${-:2}/shadow", 1},
        {"cat /${HOME:1}/.bashrc", 1},
        {"cat /e$(echo t)c/shadow", 1},
        {"cat /e$(printf t)c/shadow", 1},
        {"cat /$(case x in x) ;; esac)etc/shadow", 1},
        {"cat ${PWD::1}etc/shadow", 1},
        {"cat ${BASH::1}etc/shadow", 1},
        {"cat ${PWD%%w*}etc/shadow", 1},
        {"cat /e${x:-$(echo t)}c/shadow", 1},
        {"cat /e${x:-`echo t`}c/shadow", 1},
        {"cat /$(case x in x) esac)etc/shadow", 1},
        {"cat /$(cat <<E\n)\nE\n)etc/shadow", 1},
        {"cat /$(cat <<'E'\n)\nE\n)etc/shadow", 1},
        {"cat /$(case $x in *) ;; esac)etc/shadow", 1},
        {"cat /$(case x in x) esac)et${x}c/shadow", 1},
        {"cat \"/$(case x in x) esac)etc/shadow\"", 1},
        {"cat /$(case x in x|y) esac)etc/shadow", 1},
        {"cat /$(case x in x) : ;; y) : ;; esac)etc/shadow", 1},
        {": <<'E'\n`\nE\ncat /$(:)etc/shadow", 1},
        {": <<'E'\n$(\nE\ncat /$(:)etc/shadow", 1},
        {": <<'E'\n${\nE\ncat /$(:)etc/shadow", 1},
        {": <<'E'\n$((\nE\ncat /$(:)etc/shadow", 1},
        {"cat /et${SHELLOPTS:3:1}/shadow", 1},
        {"cat /${BASH_VERSION:11:1}tc/shadow", 1},
        {"cat ${_::1}etc/shadow", 1},
        {"cat ${SHELL::1}etc/shadow", 1},
        {"cat ${PATH::1}etc/shadow", 1},
        {"cat ${HOME::1}etc/shadow", 1},
        {"cat ${HOME%%r*}etc/shadow", 1},
        {"cat /${HOME#/}/.bashrc", 1},
        {"cat /${HOME:1:4}/.bashrc", 1},
        {"cat /r${HOME:2}/.bashrc", 1},
        {"cat /$(: <<E\n)\nE\n)etc/shadow", 1},
        {"cat > notes.md <<'EOF'\nUse $( to start\nEOF\ncat /$(:)etc/shadow", 1},
        {"cat > n.md <<'EOF'\n`\nEOF\ncat /`:`etc/shadow", 1},
        {": <<'E'\n$(x\nE\ncat /$(:)etc/shadow", 1},
        {": $(: <<'E'\n$(\nE\n) ; cat /$(:)etc/shadow", 1},
        {": \"$(: <<'E'\n\"\nE\n)\"; cat /$(:)etc/shadow", 1},
        {"cat /et${-:2:1}/shadow", 1},
        {"cat /et${-: -1}/shadow", 1},
        {"cat /et${-#??}/shadow", 1},
        {"cat /et${-##*B}/shadow", 1},
        {"cat /et${-:(-1)}/shadow", 1},
        {"cd /tmp/.. && cat e${x}tc/shadow", 1},
        {"cd / && cat e$(:)tc/shadow", 1},
        {"cat ${PWD::1}r${x}oot/.bashrc", 1},
        {"cat ${PWD::1}root/.bashrc", 1},
        {"cat ${OLDPWD::1}etc/shadow", 1},
        {"cat ${HOME::1}${HOME:1}/.bashrc", 1},
        {"cat ${HOME:0}/.bashrc", 1},
        {"cat \"${HOME%/}/.ssh/id_rsa\"", 1},
        {"cat ${HOME,,}/.bashrc", 1},
        {"cat ${HOME:+/ro${x}ot}/.bashrc", 1},
        {"cd / && cat e${x}tc/shadow", 1},
        {"cd / && cat \"e$(:)tc/shadow\"", 1},
        {"cd / ; cat e`:`tc/shadow", 1},
        {"cd / && cd e$(:)tc && cat shadow", 1},
        {"cd / && cat r$(:)oot/.bashrc", 1},
        {"cat /et${MACHTYPE:8:1}/shadow", 1},
        {"cat /et${BASH_VERSINFO[5]:8:1}/shadow", 1},
        {"cat /et${BASHOPTS:0:1}/shadow", 1},
        {"cat /${HOME:-}/.bashrc", 1},
        {"cat ${HOME-x}/.bashrc", 1},
        {"cat \"${HOME:?}\"/.ssh/id_rsa", 1},
        {"cat ${HOME#}/.bashrc", 1},
        {"cat ${HOME:0:5}/.bashrc", 1},
        {"cat $(echo /)etc/shadow", 1},
        {"cat $(pwd | cut -c1)etc/shadow", 1},
        {"$(:) cat /et${-:2}/shadow", 1},
        {"eval cat /et\\${-:2}/shadow", 1},
        {"bash -c 'cat /et${-:2}/shadow'", 1},
        {"cat /$(case x in x) esac)$(case x in x) esac)etc/shadow", 1},
        {"cat /$(case x in\nx) ;;\nesac)etc/shadow", 1},
        {"cat /$(case x in x)\nesac)etc/shadow", 1},
        {"cat /$(if :; then case x in x) :;; esac; fi)etc/shadow", 1},
        {"cat /$(case x in x) echo ')' ;; esac >/dev/null)etc/shadow", 1},
        {"cat /\"$(case x in x) esac)\"etc/shadow", 1},
        {"cat /$(: $(case x in x) esac))etc/shadow", 1},
        {"cat ${PWD::1}e$(case x in x) esac)tc/shadow", 1},
        {"cat < /et${-:2}/shadow", 1},
        {"wc -c 0</${HOME:1}/.ssh/id_rsa", 1},
    };

    run_cmd_rows(rows, NROWS(rows));
}

/* Expansions nested past the 32 frames the reading follows: denied (the
 * review's 63 levels of "${x:-" had passed). */
Test(empty_expansions, nesting_past_the_reading_denies)
{
    static const char *const opens[] = {"${x:-", "${x#", "\"${x:-", "$(: "};
    static const char *const closes[] = {"}", "}", "}\"", ")"};
    char *cmd = malloc(4096), *json = malloc(8192);
    const char *args[1];
    static const int denied[] = {1};
    size_t k;
    int depth, d;

    cr_assert(cmd != NULL && json != NULL);
    for (k = 0; k < NROWS(opens); k++) {
        for (depth = 33; depth <= 200; depth += 167) {
            strcpy(cmd, "cat /");
            for (d = 0; d < depth; d++)
                strcat(cmd, opens[k]);
            for (d = 0; d < depth; d++)
                strcat(cmd, closes[k]);
            strcat(cmd, "etc/shadow");
            cmd_json(cmd, json, 8192);
            args[0] = json;
            kt_run_guard_rows_at(NOW, args, denied, 1);
        }
    }
    free(cmd);
    free(json);
}

/* The wild reading's marks: 1 any text, 2 the home's; plain variables of
 * other names are read as nothing, a default form without an expansion
 * in its word too. */
Test(empty_expansions, the_wild_reading)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"/et${-:2}/x", "/et\001/x"},
        {"${PWD::1}etc", "\001etc"},
        {"/$(a)`b`$((1))$[2]", "/\001\001\001\001"},
        {"/${HOME:1}/$USER/${LOGNAME}", "/\002/\002/\002"},
        {"/$x/${y}/${z:-w}/${z:-$w}", "////\001"},
        {"a\001b", "a?b"},
        {"'$(x)' \"$(y)\"", "$(x) \001"},
    };
    char out[128];
    unsigned flags;
    size_t k, n;

    for (k = 0; k < NROWS(cases); k++) {
        n = chio__shell_unquote_empty(cases[k].in, strlen(cases[k].in), CHIO__EMPTY_WILD, out,
                                      &flags);
        cr_expect(n == strlen(cases[k].want) && memcmp(out, cases[k].want, n) == 0, "%s: \"%.*s\"",
                  cases[k].in, (int)n, out);
    }
}

/* A here-document's body is text: "$(" in a quoted one opens nothing, and
 * the rewind reading closes "$(" where a case pattern's ')' is. */
Test(empty_expansions, heredoc_bodies_and_stray_closes)
{
    char out[128];
    unsigned flags = 0;
    size_t n;

    expect_empty(": <<'E'\n$(\nE\ncat /$(:)etc/x", ": <<E\n$(\nE\ncat /etc/x");
    expect_empty("cat <<-E\n\t`\n\tE\n/$(:)etc", "cat <<-E\n\t`\n\tE\n/etc");
    expect_empty("echo $((1<<2))\n/$(:)etc", "echo \n/etc");
    n = chio__shell_unquote_empty("/$(case x in x) esac)etc", 24, 0, out, &flags);
    cr_expect(flags & CHIO__EMPTY_STRAY_CLOSE);
    cr_expect(n == 10 && memcmp(out, "/ esac)etc", 10) == 0, "%.*s", (int)n, out);
    n = chio__shell_unquote_empty("/$(case x in x) esac)etc", 24, CHIO__EMPTY_REWIND, out, &flags);
    cr_expect(n == 4 && memcmp(out, "/etc", 4) == 0, "%.*s", (int)n, out);
}

/* Everyday commands with expansions stay allowed under /etc/ and /root/. */
Test(empty_expansions, everyday_expansions_stay_allowed)
{
    static const cmd_row rows[] = {
        {"ls $(pwd)/src", 0},
        {"cd \"$(git rev-parse --show-toplevel)\" && make", 0},
        {"cat \"$(dirname \"$0\")/lib/util.sh\"", 0},
        {"for f in $(find . -name '*.c'); do wc -l \"$f\"; done", 0},
        {"cp \"${SRC_DIR}/config.yaml\" \"${DEST_DIR}/\"", 0},
        {"mv \"${file%.txt}.bak\" /tmp/", 0},
        {"tar czf \"backup-$(date +%F).tgz\" ./data", 0},
        {"grep -rn TODO ${PROJECT_ROOT:-.}/src", 0},
        {"cd ${WORKDIR:-/workspace} && ls", 0},
        {"sed -i \"s/${OLD}/${NEW}/g\" config.txt", 0},
        {"echo \"${USER} logged in at $(date)\"", 0},
        {"cat ${LOG_DIR}/app-$(date +%Y%m%d).log", 0},
        {"file=${path##*/}; echo ${file%.*}", 0},
        {"cp -r src/${name}/ dist/", 0},
        {"tail -f /var/log/app/$(hostname).log", 0},
        {"cd \"${0%/*}\" && ./run.sh", 0},
        {"ls /workspace/$(basename $PWD)", 0},
        {"cat <<'EOF' > notes.md\nUse $( and ${x%/*}\nEOF", 0},
        {"cat $HOME/../x", 0},
    };

    run_cmd_rows(rows, NROWS(rows));
}

/* A second review pass found these past the version with the readings
 * above: "<<<" and "<<" shifts ("((..))", subscripts) taken for
 * here-documents, delimiters with quoted blanks or expansions, a ".."
 * that stays under the prefix taken as climbing out, values assigned by
 * "set --", arrays, "${x:=..}" or read through an operator, and "cd"
 * alone or with "-P"/"--". Every row passed that version's guard. */
Test(empty_expansions, review2_heredocs_shifts_assignments_and_homes)
{
    static const cmd_row rows[] = {
        {"((x=1<<2))\ncat /e$(echo t)c/shadow", 1},
        {"a[1<<2]=x\ncat /e$(echo t)c/shadow", 1},
        {"for ((i=1<<2;i<0;)); do :; done\ncat /e$(echo t)c/shadow", 1},
        {"cat <<<E\ncat /e$(echo t)c/shadow", 1},
        {"cat <<< E\ncat /e$(echo t)c/shadow", 1},
        {"cat <<E\\ F\nx\nE F\ncat /e$(echo t)c/shadow", 1},
        {"cd; cat .bashrc", 1},
        {"set -- etc; cat /$1/shadow", 1},
        {"a=(etc); cat /${a[0]}/shadow", 1},
        {"a=(etc); cat /$a/shadow", 1},
        {"a[0]=etc; cat /$a/shadow", 1},
        {"declare -a a=(etc); cat /$a/shadow", 1},
        {": ${x:=etc}; cat /$x/shadow", 1},
        {": ${x=etc}; cat /$x/shadow", 1},
        {"x=etc; cat /${x/zzz/q}/shadow", 1},
        {"x=etc; cat /${x//zzz}/shadow", 1},
        {"x=ETC; cat /${x,,}/shadow", 1},
        {"declare -u x=root; cat /${x,,}/.bashrc", 1},
        {"x=(etc x); cat /$x/shadow", 1},
        {"v0=x; v1=x; v2=x; v3=x; v4=x; v5=x; v6=x; v7=x; v8=x; v9=x; v10=x; v11=x; v12=x; v13=x; "
         "v14=x; v15=x; v16=x; v17=x; v18=x; v19=x; v20=x; v21=x; v22=x; v23=x; v24=x; v25=x; "
         "v26=x; v27=x; v28=x; v29=x; v30=x; v31=x; v32=x; v33=x; v34=x; v35=x; v36=x; v37=x; "
         "v38=x; v39=x; x=etc; cat /$x/shadow",
         1},
        {"cd; cd .; cat .bashrc", 1},
        {"cd -P; cat .bashrc", 1},
        {"cd --; cat .bashrc", 1},
        {"cd && cat .bashrc", 1},
        {"cat <<<E\ncat /e$(:)tc/shadow", 1},
        {"cat <<E\\ F\nE F\ncat /e$(:)tc/shadow", 1},
        {"cat /e$(echo t)c/ssl/../shadow", 1},
        {"cat ${PWD::1}etc/default/../shadow", 1},
        {"cd /e$(echo t)c/ssl/..; cat shadow", 1},
        {"(( x = 1 << 2 ))\ncat /e$(:)tc/shadow", 1},
        {"declare -i x; x[1<<2]=1\ncat /e$(:)tc/shadow", 1},
        {"cat <<\"E F\"\nE F\ncat /e$(:)tc/shadow", 1},
        {"cat <<'E F'\nE F\ncat /e$(:)tc/shadow", 1},
        {"cat <<${x}E\n${x}E\ncat /e$(:)tc/shadow", 1},
        {"cat <<E$(:)\nE$(:)\ncat /e$(:)tc/shadow", 1},
        {"cat <<`:`E\n`:`E\ncat /e$(:)tc/shadow", 1},
        {"x=etc; cat /${x#zz}/shadow", 1},
        {"x=etc; cat /${x%zz}/shadow", 1},
        {"x=etc; cat /${x:0}/shadow", 1},
        {"x=etc; cat /${x@L}/shadow", 1},
        {"x=ETC; cat /${x@L}/shadow", 1},
        {"cd /tmp && cd && cat .profile", 1},
        {"x=etc; cat /${x::3}/shadow", 1},
        {"x=etc; cat /\"${x#z}\"/shadow", 1},
        {"x=root; cat /${x%z}/.bashrc", 1},
        {"set -- root; cat /$1/.bashrc", 1},
        {"set -- root; cat /$@/.bashrc", 1},
        {"((y=1<<2))\ncat /ro$(:)ot/.bashrc", 1},
        {"cat <<< x\ncat /ro$(:)ot/.bashrc", 1},
        {"a=(root); cat /${a[@]}/.bashrc", 1},
    };

    run_cmd_rows(rows, NROWS(rows));
}

/* A third pass: a '#' after a quoted blank read as a comment, "\\\\" in
 * backquotes and in an unquoted here-document (one backslash to the
 * shell that reads them), "${!x}", literal operators on a value assigned,
 * "shift", and an assignment whose scope or branch hides it from a later
 * word (each name read also with its value kept from an earlier
 * assignment). Every row passed that version's guard. */
Test(empty_expansions, review3_comments_backquotes_indirection_and_scope)
{
    static const cmd_row rows[] = {
        {"cat /x\\ #/../etc/shadow", 1},
        {"cat /x' '#/../etc/shadow", 1},
        {"cat /x$' '#/../etc/shadow", 1},
        {"cat \"/x \"#/../root/.bashrc", 1},
        {"echo `cat /e\\\\tc/shadow`", 1},
        {"echo `cat /r\\\\oot/.bashrc`", 1},
        {"echo \"`cat /e\\\\tc/shadow`\"", 1},
        {"bash <<E\ncat /e\\\\tc/shadow\nE", 1},
        {"x=HOME; cat ${!x}/.bashrc", 1},
        {"y=HOME; cat ${!y}/.ssh/id_rsa", 1},
        {"x=HOME; cat \"${!x}/.bashrc\"", 1},
        {"x=HOME; cat ${!x:0:5}/.bashrc", 1},
        {"x=HOME; cat ${!x%/}/.bashrc", 1},
        {"x=/atc; cat ${x/a/e}/shadow", 1},
        {"x=/X/e''tc; cat ${x#/X}/shadow", 1},
        {"x=/e''tcX; cat ${x%X}/shadow", 1},
        {"x=X/e''tc; cat ${x:1}/shadow", 1},
        {"set -- x etc; shift; cat /$1/shadow", 1},
        {"set -- x y etc; shift 2; cat /$1/shadow", 1},
        {"x=t; (x=Q); cat /e${x}c/shadow", 1},
        {"x=t; x=Q | true; cat /e${x}c/shadow", 1},
        {"x=t; { x=Q; } | :; cat /e${x}c/shadow", 1},
        {"x=t; echo $(x=Q); cat /e${x}c/shadow", 1},
        {"x=t; (x=Q; :); cat /e${x}c/shadow", 1},
        {"x=t; x=Q true; cat /e${x}c/shadow", 1},
        {"x=t; x=Q command true; cat /e${x}c/shadow", 1},
        {"x=t; x=Q cat /e${x}c/shadow", 1},
        {"x=t; false && x=Q; cat /e${x}c/shadow", 1},
        {"x=t; true || x=Q; cat /e${x}c/shadow", 1},
        {"x=t; [[ -n 1 ]] || x=Q; cat /e${x}c/shadow", 1},
        {"x=t; if false; then x=Q; fi; cat /e${x}c/shadow", 1},
        {"x=t; case a in b) x=Q;; esac; cat /e${x}c/shadow", 1},
        {"for d in a b etc c; do cat /$d/shadow; done", 1},
        {"select d in root; do cat /$d/.bashrc; break; done", 1},
        {"x=(\n etc\n); cat /$x/shadow", 1},
        /* stay allowed */
        {"for f in *.c; do gcc -c $f; done", 0},
        {"for i in 1 2 3; do echo $i; done", 0},
        {"x=/tmp; x=/var/tmp; cat $x/a", 0},
        {"f=a.txt; mv $f ${f%.txt}.md", 0},
        {"echo `date` \\\\ done", 0},
        {"git commit -m \"fix: handle # in names\"", 0},
    };

    run_cmd_rows(rows, NROWS(rows));
}
