/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path.h - what the forbidden_path guard's files share
 * (guard_path.c: a value and the texts it is read as;
 * guard_path_readings.c: the readings of a string and the prefixes;
 * guard_path_shell.c: the readings of what a shell expands, braces,
 * homes and globs; guard_path_wild.c: expansions whose text cannot be
 * known; guard_path_walk.c: tools that walk a tree; guard_path_climb.c:
 * relative words that climb, and the directories above a prefix;
 * guard_path_cwd.c: relative words read from the working directories the
 * arguments set, and guard_path_cwd_roots.c: which of those directories
 * matter (the two share guard_path_cwd.h); guard_path_cdword.c: what a
 * change of directory is;
 * guard_path_join.c: string literals that code joins into a path;
 * guard_path_join_list.c: a separator joining a list's items, a relative
 * literal resolved against a file: base):
 * the hit being sought and the readings each calls.
 * Internal to the guard.
 */
#ifndef CHIO_KERNEL_GUARD_PATH_H
#define CHIO_KERNEL_GUARD_PATH_H

#include <stddef.h>

#include "kernel_internal.h"

#define PREFIX_STACK 256

typedef struct path_hit {
    const chio__guard_reg *g;
    size_t prefix; /* index of the prefix hit */
    int nomem;
    int braces_too_large; /* the value's brace expansion passed its bounds */
    int no_climb;         /* climbing words stay unreadable (guard_path_climb.c) */
    int links_hit;        /* a path through an unknown link is a hit, not unreadable */
} path_hit;

/* guard_path_match.c: one reading @p (@len bytes) of a path against the
 * prefixes, as a chio__path_readings callback (@ctx a path_hit): 1 for a
 * hit (its prefix in the hit), 0, CHIO_EINVAL for a path through a link
 * the guard cannot follow (a hit with links_hit), or 1 on out of memory
 * with nomem set. */
int chio__gp_reading_forbidden(void *ctx, const char *p, size_t len);

/* guard_path_readings.c. Each returns 1 for a hit (its prefix in the
 * hit), 0, CHIO_EINVAL for a reading that cannot be read, or CHIO_ENOMEM. */

/* Each word of @s that looks like a path, and a short option's glued
 * value; @words 0 reads @s as one word; with @hits_only only hits count. */
int chio__gp_check_words(path_hit *ph, const char *s, size_t n, int words, int hits_only);
/* Every reading of @s read whole as a path; hits only. */
int chio__gp_check_path_hits(path_hit *ph, const char *s, size_t n);
/* @s after quote removal and $IFS, when a shell's reading could differ. */
int chio__gp_check_shell_reading(path_hit *ph, const char *s, size_t n);
/* @s with its globs and expansions read at worst for ".."; hits only. */
int chio__gp_check_glob_reading(path_hit *ph, const char *s, size_t n);
/* Every reading of @s read whole as a path; a plain relative word that
 * climbs above its start is read from where it could land
 * (guard_path_climb.c), and one that may land above a prefix stays
 * unreadable. */
int chio__gp_check_readings(path_hit *ph, const char *s, size_t n);
/* Each line or field of @s (chio__gp_line_text) that looks like a path
 * under @key, read as strictly as a value of one line. */
int chio__gp_check_lines(path_hit *ph, chio__key *key, const char *s, size_t n);
/* The items of @s split at one separator only (',' ';' ' ' '='), each
 * read whole when it looks like a path. */
int chio__gp_check_items(path_hit *ph, const char *s, size_t n);
/* @d (@len bytes), the shell's reading of @s (chio__gp_shell_text), when
 * it differs from @s: whole when it is one word, and each of its words. */
int chio__gp_check_shell_text(path_hit *ph, const char *s, size_t n, const char *d, size_t len);
/* Does the value @s under @key itself say "path": the key names one, it
 * opens like one ('/', '\\', '~', '.' after spaces), or a file: URL? */
int chio__gp_strong_path(chio__key *key, const char *s, size_t n);
/* Is @s text of several lines or tab-separated fields, with no other
 * control character? */
int chio__gp_line_text(const char *s, size_t n);
/* The shell's reading of @s (@n bytes) in *@r and *@rl: @s itself when
 * the shell reads it as written, else made in @stack (@cap bytes) or in a
 * block left in *@heap, which the caller frees (NULL when none). 0, or
 * CHIO_ENOMEM. */
int chio__gp_shell_text(const char *s, size_t n, char *stack, size_t cap, char **heap,
                        const char **r, size_t *rl);
/* guard_path_wild.c: the words of @s's wild reading, where an expansion
 * whose text cannot be known may stand for any text; hits only. */
int chio__gp_check_wild_reading(path_hit *ph, const char *s, size_t n);
/* guard_path_walk.c: a tool that walks a tree ("grep -r x /") given a
 * directory above a prefix is a hit; @t (@len bytes) is the value's shell
 * reading (chio__shell_reading), which the caller made. */
int chio__gp_check_walk(path_hit *ph, const char *t, size_t len);
/* chio__gp_check_walk with each relative operand ("grep -r x .", "tar cf
 * a.tar etc") also read from each of the @ndirs working directories
 * @dirs (normalised, @lens bytes each): above a prefix or under one is a
 * hit. */
int chio__gp_check_walk_in(path_hit *ph, const char *t, size_t len, const char *const *dirs,
                           const size_t *lens, size_t ndirs);
/* guard_path_join.c: the quoted literals of @s that code joins into one
 * path (open("/etc/" + "shadow"), os.path.join("/etc", "shadow")), read
 * joined; hits only. */
int chio__gp_check_joined_literals(path_hit *ph, const char *s, size_t n);
/* The words of @s percent-decoded once. */
int chio__gp_check_decoded_words(path_hit *ph, const char *s, size_t n);
/* Does @s hold an sftp: or scp: URL (guard_path_remote.c)? */
int chio__gp_has_remote_file_url(const char *s, size_t n);
/* @s with each sftp: and scp: URL written as the file: URL of its path,
 * host and port dropped; malloc'ed (NULL: no memory), its length in
 * *@len. */
char *chio__gp_remote_file_reading(const char *s, size_t n, size_t *len);
/* @read(@ph, text, length, @ctx) of @s percent-decoded once; 0 when @s
 * holds no escape. */
int chio__gp_decoded(path_hit *ph, const char *s, size_t n,
                     int (*read)(path_hit *, const char *, size_t, void *), void *ctx);
/* guard_path_climb.c. Is the normalised reading @p a directory above a
 * prefix: "/", a proper ancestor of an absolute prefix ("/root" for
 * "/root/.ssh/"), or a path through /proc, /dev itself, /dev/fd or
 * /dev/stdin, /dev/stdout, /dev/stderr (which guard_path.c looks through
 * or finds unreadable)? 1 with the prefix it reaches in @ph, else 0. */
int chio__gp_ancestor(path_hit *ph, const char *p, size_t len);
/* guard_path_climb.c. May the normalised reading @p, a glob ('*', '?',
 * brackets), match a directory above a prefix ("/e*" and "/e?c" match
 * "/etc", above "/etc/shadow"), or reach /proc, /dev itself, /dev/fd or
 * /dev/std*? 1 with the prefix in @ph, 0 (also for a word with no glob),
 * or CHIO_ENOMEM. For a tool that walks what the glob names. */
int chio__gp_glob_ancestor(path_hit *ph, const char *p, size_t len);
/* guard_path_climb.c: a plain relative word that climbs above its start
 * ("../README.md"; printable ASCII without a quote, an expansion, a
 * glob, a brace, a home, '%' or '\\'), its rest after the climb read
 * from each directory it could land in that matters ("/", each proper
 * ancestor of an absolute prefix, /proc and /dev) and as a relative
 * path: @fn(@ctx, joined path, length) on each, normalised. Returns its
 * first nonzero answer; CHIO__GP_CLIMB_ABOVE when the word may land in a
 * directory above a prefix (a join is one: chio__gp_ancestor; or nothing
 * follows the climb: ".."); 0 when it lands beside the prefixes;
 * CHIO__GP_NO_CLIMB when @w is no plain relative word that climbs;
 * CHIO_EINVAL when a ".." after the climb pops below "proc" or "dev"
 * (links there); CHIO_ENOMEM. */
/* Does @s name a tool that fills words in from its input (xargs,
 * parallel, xe), also spelled with quotes or backslashes ("x''args")?
 * Then no climbing word of @s is read as plain. */
int chio__gp_fills_words(const char *s, size_t n);
#define CHIO__GP_NO_CLIMB    2
#define CHIO__GP_CLIMB_ABOVE 3
int chio__gp_climb_readings(path_hit *ph, const char *w, size_t n,
                            int (*fn)(void *ctx, const char *p, size_t len), void *ctx);
/* Does @s hold a break between words? */
int chio__gp_has_word_break(const char *s, size_t n);

/* guard_path_shell.c. */

/* @s as bash expands its braces (exact), and the guesses of a shell that
 * reads it again (hits only). */
int chio__gp_check_brace_reading(path_hit *ph, const char *s, size_t n);
/* @s with its homes and globs read at worst; hits only. */
int chio__gp_check_tilde_and_glob(path_hit *ph, const char *s, size_t n);
/* chio__gp_check_tilde_and_glob of @s percent-decoded once. */
int chio__gp_check_decoded_homes(path_hit *ph, const char *s, size_t n);
/* Each word of @t holding a glob, matched against the prefixes as a
 * pattern; hits only. */
int chio__gp_check_glob_words(path_hit *ph, const char *t, size_t n);

/* guard_path_cdword.c: what guard_path_cwd_roots.c takes for a change
 * of directory. */

/* What kind of change of directory a word is (chio__gp_cd_word). */
#define CHIO__GP_CD_NONE  0
#define CHIO__GP_CD_SHELL 1 /* "cd", "-C", "--chdir": its target at worst too */
#define CHIO__GP_CD_CODE  2 /* "os.chdir(", "cwd=": a call's argument, quoted */
#define CHIO__GP_CD_WEAK \
    3 /* "-w", "-D", "--prefix": other tools' flags too; absolute targets only */

/* Where a word ends for the reading of working directories: white space
 * (Unicode spaces too), the shell's operators, quotes, braces and the
 * separators of a list or an assignment; not '[' ("e[t]c/passwd" is one
 * word). The end of the word at @i of @t, the break's bytes in *@brk. */
size_t chio__gp_cwd_word_at(const char *t, size_t n, size_t i, size_t *brk);
/* One past the '}' matching the "${" at t[@i] (quotes paired, within
 * 256 bytes), or @i. */
size_t chio__gp_braced_end(const char *t, size_t n, size_t i);
/* Does the word @w set the working directory for what follows ("cd",
 * "pushd", "CDPATH", "chroot", "-C", "--chdir" and its abbreviations,
 * "chdir(", "cwd", "-w", "-D", "--prefix")? Its CHIO__GP_CD_* kind. */
int chio__gp_cd_word(const char *w, size_t n);
/* Does the JSON key @name name a working directory ("cwd",
 * "working_dir", "rootPath", "folder", "CDPATH")? */
int chio__gp_cd_key(const char *name);
/* The operand of the change of directory of kind @kind whose word ends at
 * @i of @t: its start in *@ws (@n: none) and its end; *@cmd 1 when a
 * command substitution stands before it, 2 when more than
 * CHIO__GP_CD_SKIP_MAX options and call names do (the operand cannot be
 * told: any directory, read at worst as every directory is, review 22
 * P12; review 21 F1: searched to the end of the text for each change of
 * directory, "fchdir(" repeated to 1 MiB took 351 s). */
#define CHIO__GP_CD_SKIP_MAX 32
size_t chio__gp_cd_operand(const char *t, size_t n, size_t i, int kind, size_t *ws, int *cmd);
/* Is t[@i, @j) "cwd" or "workdir" with no value after it? */
int chio__gp_assignment_only(const char *t, size_t n, size_t i, size_t j);
/* Is t[@i, @j) an old-style "tar" whose letters take a directory ("cfC")? */
int chio__gp_tar_bundle(const char *t, size_t n, size_t i, size_t j);

#endif /* CHIO_KERNEL_GUARD_PATH_H */
