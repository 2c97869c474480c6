/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cwd.h - what the forbidden_path guard's two files on
 * working directories share: guard_path_cwd_roots.c (which directories
 * a call's arguments set that matter, its roots) and guard_path_cwd.c
 * (the walk over the leaves, and each relative word read again from
 * those roots). The scan they both fill in, its bounds, and the helpers
 * each calls of the other. Internal to the guard; no state, no locks.
 */
#ifndef CHIO_KERNEL_GUARD_PATH_CWD_H
#define CHIO_KERNEL_GUARD_PATH_CWD_H

#include <stddef.h>
#include <string.h>

#include "guard_path.h"

/* The most working directories one call's arguments may name above a
 * prefix (distinct readings), of them holding a glob, the most
 * (directory, word) pairs read and the most bytes of them: past any the
 * arguments cannot be read and the guard denies. The pairs and their
 * bytes are bounded in proportion to the text the arguments hold (each
 * pair costs some microseconds of readings, and a short hostile text
 * once made millions of bytes of them: 8 KiB took 4 s), up to the
 * absolute bounds. */
#define CWD_ROOTS_MAX           32
#define CWD_GLOB_ROOTS_MAX      8
#define CWD_JOINS_MAX           (1u << 18)
#define CWD_JOIN_BYTES_MAX      ((size_t)1 << 23)
#define CWD_JOINS_BASE          1024
#define CWD_JOINS_PER_BYTE      32
#define CWD_JOIN_BYTES_BASE     ((size_t)16 << 10)
#define CWD_JOIN_BYTES_PER_BYTE 256

typedef struct cwd_scan {
    path_hit ph;
    char *roots[CWD_ROOTS_MAX];
    char *norms[CWD_ROOTS_MAX]; /* each root normalised (NULL: read as written) */
    size_t lens[CWD_ROOTS_MAX];
    /* 1: a root at worst (a target the guard could not place), from
     * which only words holding a separator are read */
    unsigned char worst[CWD_ROOTS_MAX];
    /* 1: a tool that walks "." or a name from there is read
     * (chio__gp_check_walk_in): a placed root, or one a climb may land
     * in ("cd .. && grep -r x ."); not one of "cd $REPO" */
    unsigned char walked[CWD_ROOTS_MAX];
    size_t nroots;
    size_t lo, hi; /* the roots the words are read from in this round */
    size_t joins;  /* pairs read so far */
    size_t jbytes; /* and their bytes */
    size_t text;   /* bytes of text the arguments hold (the bounds' scale) */
    size_t nglobs; /* roots holding a glob */
    int reading;   /* 0: collecting roots; 1: reading words from them */
    int depth;     /* layers of JSON-in-a-string above the leaf */
    int too_much;  /* a bound above was passed */
    int einval;    /* a reading's callback answered CHIO_EINVAL (chio__gpc_noted()) */
} cwd_scan;

/* Does @w hold a glob or an expansion the guard cannot place? */
static inline int chio__gpc_unplaced(const char *w, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strchr("$`*?[", w[i]) != NULL)
            return 1;
    return 0;
}

/* The answer of a reading's callback, noted: a reading function answers
 * -1 when it runs out of memory and passes any other answer on, and
 * CHIO_EINVAL is -1 too (a bound passed, or a word that cannot be read). */
static inline int chio__gpc_noted(cwd_scan *cs, int rc)
{
    cs->einval |= rc == CHIO_EINVAL;
    return rc;
}

/* What a reading function's answer @rc means: its own -1 is out of
 * memory, a callback's CHIO_EINVAL stays one. */
static inline int chio__gpc_reading_rc(const cwd_scan *cs, int rc)
{
    return rc == -1 && !cs->einval ? CHIO_ENOMEM : rc;
}

/* guard_path_cwd_roots.c. */

/* Is @w (@n bytes) a directory a relative word could start from and
 * reach a prefix (chio__gp_ancestor)? Out of memory sets ph.nomem. */
int chio__gpc_is_ancestor(cwd_scan *cs, const char *w, size_t n);
/* Note @w (@n bytes) as a working directory, at @worst (cwd_scan.worst),
 * walked at worst too when @climb (cwd_scan.walked). 0, CHIO_ENOMEM, or
 * CHIO_EINVAL past the bounds on roots (too_much). */
int chio__gpc_add_root(cwd_scan *cs, const char *w, size_t n, int worst, int climb);
/* The length of a head of @w (@n bytes) naming the working directory
 * ("~+", "$PWD") or one the shell keeps (*@stack 1: "~-", "$OLDPWD",
 * "~1", "$DIRSTACK"), with the separators after it; 0 for none. */
size_t chio__gpc_dir_head(const char *w, size_t n, int *stack);
/* The length of the working directory standing as a whole word at
 * @t[@i] (the word chio__gp_cwd_word_at ends at @j): "$PWD", any
 * "${PWD..}", "~+", "$(pwd)", "`pwd`", "$(realpath .)", "$(readlink -f
 * .)", or (*@stack 1) one the shell keeps, "$OLDPWD", any
 * "${OLDPWD..}", "${DIRSTACK..}", "~-", "$(dirs ..)"; separators and an
 * expansion after it ("$PWD$X") count; 0 for none (review 22 P3). */
size_t chio__gpc_whole_dir(const char *t, size_t n, size_t i, size_t j, int *stack);
/* The roots the text @t (@n bytes) names: the target of each change of
 * directory ("cd /", "tar -C /", "-C/"). 0, CHIO_ENOMEM or CHIO_EINVAL. */
int chio__gpc_collect_text(cwd_scan *cs, const char *t, size_t n);
/* The value @s (@n bytes) of a key that names a working directory
 * ({"cwd": "/root"}), read as a path value is; @decoded: @s is already
 * percent-decoded. 0, CHIO_ENOMEM or CHIO_EINVAL. */
int chio__gpc_cd_value(cwd_scan *cs, const char *s, size_t n, int decoded);

#endif /* CHIO_KERNEL_GUARD_PATH_CWD_H */
