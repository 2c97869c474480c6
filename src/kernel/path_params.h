/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_params.h - what the two files of path_prefix's reading of
 * a lone shell parameter share: path_params.c (whether a parameter's
 * name, default or nameref holds a directory, and the reading of each
 * parameter word) and path_params_cmd.c (what the command around the
 * word makes of it: a unary test's operand, and "$_"). The reading's
 * context, its kinds and bounds, the name helpers both use, and what
 * path_params.c asks of path_params_cmd.c. Internal to path_prefix;
 * lexical, no allocation.
 */
#ifndef CHIO_KERNEL_PATH_PARAMS_H
#define CHIO_KERNEL_PATH_PARAMS_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"

/* A "${" closes within LP_BRACE bytes, or its word cannot be read (4096
 * since review 23 Q5: a long usage default is read, still linear). */
#define LP_BRACE 4096
/* Parameters inside a default inside a default .. read this deep. */
#define LP_DEPTH 8
/* Namerefs one value may declare, and the longest name read. */
#define LP_REFS     16
#define LP_REF_NAME 64
/* Words after one "declare -n" read. */
#define LP_DECL_WORDS 64

/* What a parameter, or a word of them, is to path_prefix: text, a
 * directory, a parameter the text cannot name ("${!x}"), or a "${" that
 * does not close within LP_BRACE bytes or nests past LP_DEPTH. */
enum { LP_TEXT = 0, LP_DIR = 1, LP_INDIRECT = 2, LP_BOUND = 3 };

typedef struct lp_ctx {
    const char *s;
    size_t n;
    char ref[LP_REFS][LP_REF_NAME]; /* the names declared namerefs */
    size_t ref_len[LP_REFS];
    size_t tgt_at[LP_REFS], tgt_len[LP_REFS]; /* a literal target, or len 0 */
    int unread[LP_REFS];                      /* its value cannot be read */
    size_t nrefs;
    int anyref;       /* a nameref whose name cannot be read: any parameter */
    int bound;        /* a nameref bound passed: the value cannot be read */
    int redef;        /* test_redefined's answer, -1 before it is asked */
    struct lp_us *us; /* "$_"'s reading (chio__lp_underscore_kind), mutable */
} lp_ctx;

/* The quote state a forward scan has reached, for "$_" (review 24 paths
 * R1 follow-up): at byte qpos, in quotes qs (0 none, 1 '..', 2 "..", 3
 * $'..'); run, whether the value may run quoted text as shell (-1 before
 * it is asked). */
struct lp_us {
    size_t qpos;
    int qs;
    int run;
    size_t heredoc; /* the first "<<" (us_in_heredoc), SIZE_MAX before asked */
};

static inline int chio__lp_alpha(unsigned char c)
{
    int l = chio__ascii_lower(c);

    return l >= 'a' && l <= 'z';
}

static inline int chio__lp_name_start(unsigned char c)
{
    return c == '_' || chio__lp_alpha(c);
}

static inline int chio__lp_name_char(unsigned char c)
{
    return chio__lp_name_start(c) || chio__ascii_digit(c);
}

static inline int chio__lp_name_is(const char *w, size_t n, const char *x)
{
    return strlen(x) == n && strncasecmp(w, x, n) == 0;
}

/* Is the parameter word s[@i, @j) the operand of a unary test ("[ -z
 * \"${!v}\" ]"), and may the value not redefine "test" or "[" (asked
 * once, kept in @c)? path_params_cmd.c. */
int chio__lp_unredefined_test_operand(lp_ctx *c, size_t i, size_t j);

/* What "$_" or "${_}" (the name at @w) is: LP_TEXT or LP_INDIRECT
 * (review 24 paths R1 and its follow-up); path_params_cmd.c. */
int chio__lp_underscore_kind(const lp_ctx *c, const char *w);

#endif /* CHIO_KERNEL_PATH_PARAMS_H */
