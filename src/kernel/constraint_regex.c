/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_regex.c - the regex_match constraint of a tool grant
 * (check 6): reading a token's pattern the way chio (Rust `regex`) reads
 * it, as an exact POSIX ERE or not at all, and matching it with a bounded
 * automaton in bounded work (regex_nfa.c). Compiled patterns live in the
 * kernel's bounded regexes cache (references: chio__regex_hold/free in
 * constraints.c). No state of its own. The secret_leak guards' patterns
 * are compiled by the same automaton (registry.c, guard_scan.c).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_regex.h"
#include "kernel_internal.h"
#include "regex_nfa.h"
#include "scope.h"

/* Reading a pattern. Tokens are written for chio, whose `regex` crate
 * reads a pattern differently from POSIX in ways that widen a match: '.'
 * matches a newline in POSIX and one byte of a multibyte character in the
 * C locale ("^safe.*$" holds for "safe\n/etc/passwd", "^..$" for "é");
 * "\d" is the letter d and "[^\d]" everything but '\' and 'd'; "a+?" is
 * "(a+)?", which matches nothing at all. So the pattern is translated into
 * an ERE that matches exactly what chio's does, and whatever has no exact
 * translation is refused (the constraint denies, as chio denies a pattern
 * its parser refuses):
 *   '.'        one UTF-8 code point but '\n' (arguments are valid UTF-8);
 *   [^set]     one code point not in set (set: ASCII only);
 *   [set]      as is (ASCII only, so one byte is one code point); a
 *              backslash, '[' other than "[:class:]", "&&", "--" or "~~"
 *              inside (set syntax in chio) is refused;
 *   \ + one of .[]{}()*+?^$|\  that character; \w and \s as is (POSIX's
 *              ASCII classes are narrower than chio's Unicode ones);
 *              \ + other ASCII punctuation but <>`' the character; \t
 *              \n \r \f \v \a, \xHH and \x{H..} the code point (its
 *              UTF-8 bytes, grouped; not NUL); \A as '^' and \z as '$'
 *              (review 17); any other escape (\d \b \W \S \1 ...) is
 *              refused: \S, \W and \D would be wider here than chio's
 *              Unicode classes;
 *   a non-ASCII character, grouped so that a quantifier takes all of it;
 *   a quantifier followed by '?' (lazy in chio) drops the '?'; "(?:" is
 *              "("; other "(?" flags, "{" not starting {n}, {n,} or
 *              {n,m}, and a quantifier with nothing to repeat are refused.
 * The ERE is read as glibc's regcomp reads it in the C locale (a byte is
 * a character), whatever locale the embedding program set.
 */
/* A multibyte UTF-8 code point (arguments are valid UTF-8). */
#define RX_MB                                                   \
    "[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf][\x80-\xbf]|" \
    "[\xf0-\xf4][\x80-\xbf][\x80-\xbf][\x80-\xbf]"
#define RX_HIGH   "\x80-\xff"
#define RX_EXPAND 80 /* the most bytes one pattern byte becomes */

static int rx_put(char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
    return 0;
}

/* Code point @cp (not NUL, not a surrogate, at most U+10FFFF) as an ERE
 * item matching exactly it: an ASCII character as itself (escaped where
 * the ERE gives it a meaning), any other as its UTF-8 bytes, grouped so
 * that a quantifier takes all of them. */
static void rx_code_point(char *out, size_t *o, uint32_t cp)
{
    char u[4];
    size_t k;

    if (cp >= 0x80) {
        k = chio__utf8_encode(u, cp);
        out[(*o)++] = '(';
        rx_put(out, o, u, k);
        out[(*o)++] = ')';
    } else if (strchr(".[]{}()*+?^$|\\", (int)cp) != NULL) {
        out[(*o)++] = '\\';
        out[(*o)++] = (char)cp;
    } else if (strchr("<>`'", (int)cp) != NULL) {
        out[(*o)++] = '[';
        out[(*o)++] = (char)cp;
        out[(*o)++] = ']';
    } else {
        out[(*o)++] = (char)cp;
    }
}

/* The code point a Rust escape at p[i] ('\\') names and the bytes it
 * spans: \t \n \r \f \v \a, \xHH, \x{H..} (1-8 hex digits). 0 when it
 * names none of these (or NUL, a surrogate, past U+10FFFF). */
static uint32_t rx_escaped_code_point(const char *p, size_t n, size_t i, size_t *used)
{
    static const char simple[] = "tnrfva", value[] = "\t\n\r\f\v\a";
    const char *at = i + 1 < n ? strchr(simple, p[i + 1]) : NULL;
    uint32_t v = 0;
    size_t j, digits;

    if (at != NULL && *at != '\0') {
        *used = 2;
        return (uint32_t)(unsigned char)value[at - simple];
    }
    if (i + 2 >= n || p[i + 1] != 'x')
        return 0;
    if (p[i + 2] == '{') {
        for (j = i + 3, digits = 0; j < n && chio__hex_value((unsigned char)p[j]) >= 0; j++)
            if (++digits > 8 ||
                (v = v * 16 + (uint32_t)chio__hex_value((unsigned char)p[j])) > 0x10FFFF)
                return 0;
        if (digits == 0 || j >= n || p[j] != '}')
            return 0;
        *used = j + 1 - i;
    } else {
        if (i + 3 >= n || chio__hex_value((unsigned char)p[i + 2]) < 0 ||
            chio__hex_value((unsigned char)p[i + 3]) < 0)
            return 0;
        v = (uint32_t)(chio__hex_value((unsigned char)p[i + 2]) * 16 +
                       chio__hex_value((unsigned char)p[i + 3]));
        *used = 4;
    }
    return v >= 0xD800 && v <= 0xDFFF ? 0 : v;
}

/* The bracket expression at p[i] ('['): its end (index after ']') in
 * @end, 0 when it is refused. */
static int rx_bracket(const char *p, size_t n, size_t i, size_t *end)
{
    size_t j = i + 1;

    if (j < n && p[j] == '^')
        j++;
    if (j < n && p[j] == ']')
        j++; /* a leading ']' is a member, in both readings */
    for (; j < n && p[j] != ']'; j++) {
        unsigned char c = (unsigned char)p[j];
        if (c >= 0x80 || c == '\\')
            return 0;
        if (c == '[') {
            const char *close;
            if (j + 1 >= n || p[j + 1] != ':' || (close = strstr(p + j + 2, ":]")) == NULL)
                return 0;
            j = (size_t)(close - p) + 1;
            continue;
        }
        if ((c == '&' || c == '-' || c == '~') && j + 1 < n && p[j + 1] == (char)c)
            return 0;
    }
    if (j >= n)
        return 0;
    *end = j + 1;
    return 1;
}

/* The size of the automaton is bounded the way chio's regex bounds its
 * own (it refuses a pattern whose program is too big): the automaton
 * (regex_nfa.c, as glibc's before it) holds a repeated item once per
 * count, so "((a{1,250}){1,250}){1,250}" is 15 million copies (glibc:
 * seconds of CPU and gigabytes; regex_nfa.c also refuses an automaton
 * over CHIO__NFA_MAX_STATES states, which alternatives weighing nothing
 * here could still reach: "(a" with 20 '|' then "){8000}"). Every item weighs
 * 1 ('.' and [^set], which become alternations, RX_WIDE), a group the sum
 * of its items, a repeat {m,n} times max(m,n) (+ twice); a pattern over
 * RX_MAX_COST, or nested deeper than RX_MAX_DEPTH groups, is refused. */
#define RX_MAX_COST  8192u
#define RX_MAX_DEPTH 32
#define RX_WIDE      8u

typedef struct rx_cost {
    uint64_t sum[RX_MAX_DEPTH + 1]; /* per open group */
    uint64_t last;                  /* the item a quantifier would repeat */
    int depth;
} rx_cost;

static int rx_item(rx_cost *rc, uint64_t w)
{
    rc->last = w;
    rc->sum[rc->depth] += w;
    return rc->sum[rc->depth] > RX_MAX_COST ? -1 : 0;
}

/* Repeat the last item @times in all. */
static int rx_repeat(rx_cost *rc, uint64_t times)
{
    if (times > 1) {
        rc->sum[rc->depth] += rc->last * (times - 1);
        rc->last *= times;
    }
    return rc->sum[rc->depth] > RX_MAX_COST ? -1 : 0;
}

/* Translate chio pattern @p into a POSIX ERE in @out (at least
 * RX_EXPAND * strlen(p) + 1 bytes), writing @bol for an anchor '^' when
 * it is not NULL. 0, or -1 when refused. */
static int rx_translate(const char *p, const char *bol, char *out)
{
    size_t n = strlen(p), i = 0, o = 0, end;
    int can_repeat = 0; /* the previous item is something a quantifier may follow */
    rx_cost rc;

    memset(&rc, 0, sizeof(rc));
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            uint64_t times = c == '+' ? 2 : 1, lo = 0, hi = 0;
            if (!can_repeat)
                return -1;
            if (c == '{') {
                size_t j = i + 1;
                if (j >= n || !isdigit((unsigned char)p[j]))
                    return -1;
                for (; j < n && isdigit((unsigned char)p[j]) && lo <= RX_MAX_COST; j++)
                    lo = lo * 10 + (uint64_t)(p[j] - '0');
                hi = lo;
                if (j < n && p[j] == ',') {
                    j++;
                    if (j < n && isdigit((unsigned char)p[j]))
                        for (hi = 0; j < n && isdigit((unsigned char)p[j]) && hi <= RX_MAX_COST;
                             j++)
                            hi = hi * 10 + (uint64_t)(p[j] - '0');
                    else
                        hi = lo + 1; /* {n,}: n copies and a star */
                }
                if (j >= n || p[j] != '}' || lo > RX_MAX_COST || hi > RX_MAX_COST)
                    return -1;
                times = hi > lo ? hi : lo;
                rx_put(out, &o, p + i, j + 1 - i);
                i = j + 1;
            } else {
                out[o++] = (char)c;
                i++;
            }
            if (rx_repeat(&rc, times) != 0)
                return -1;
            if (i < n && p[i] == '?')
                i++; /* lazy: the same matches */
            can_repeat = 0;
            continue;
        }
        can_repeat = 1;
        if (c == '.') {
            rx_put(out, &o, "([^\n" RX_HIGH "]|" RX_MB ")",
                   sizeof("([^\n" RX_HIGH "]|" RX_MB ")") - 1);
            i++;
            if (rx_item(&rc, RX_WIDE) != 0)
                return -1;
        } else if (c == '[') {
            if (!rx_bracket(p, n, i, &end))
                return -1;
            if (p[i + 1] == '^') {
                /* one ASCII byte outside the set, or a multibyte code point */
                size_t at = i + 2 + (p[i + 2] == ']'), last = end - 2;
                rx_put(out, &o, "([^", 3);
                if (p[at] != '-') {
                    rx_put(out, &o, p + i + 2, at - (i + 2));
                    rx_put(out, &o, RX_HIGH, sizeof(RX_HIGH) - 1);
                    rx_put(out, &o, p + at, end - at);
                } else if (p[last] != '-') {
                    rx_put(out, &o, p + i + 2, last + 1 - (i + 2));
                    rx_put(out, &o, RX_HIGH "]", sizeof(RX_HIGH "]") - 1);
                } else {
                    return -1;
                }
                rx_put(out, &o, "|" RX_MB ")", sizeof("|" RX_MB ")") - 1);
                if (rx_item(&rc, RX_WIDE) != 0)
                    return -1;
            } else {
                rx_put(out, &o, p + i, end - i);
                if (rx_item(&rc, 1) != 0)
                    return -1;
            }
            i = end;
        } else if (c == '\\' && i + 1 < n && (p[i + 1] == 'A' || p[i + 1] == 'z')) {
            /* the start and the end of the text: '^' and '$' here */
            if (p[i + 1] == 'A' && bol != NULL)
                rx_put(out, &o, bol, strlen(bol));
            else
                out[o++] = p[i + 1] == 'A' ? '^' : '$';
            i += 2;
            can_repeat = 0;
        } else if (c == '\\') {
            unsigned char e = i + 1 < n ? (unsigned char)p[i + 1] : 0;
            uint32_t cp;
            size_t used = 2;
            if (e != 0 && strchr(".[]{}()*+?^$|\\", e) != NULL) {
                rx_put(out, &o, p + i, 2);
            } else if (e == 'w' || e == 's') {
                rx_put(out, &o, p + i, 2);
            } else if (e != 0 && e < 0x80 && ispunct(e) && strchr("<>`'", e) == NULL) {
                out[o++] = (char)e;
            } else if ((cp = rx_escaped_code_point(p, n, i, &used)) != 0) {
                rx_code_point(out, &o, cp);
            } else {
                return -1;
            }
            i += used;
            if (rx_item(&rc, 1) != 0)
                return -1;
        } else if (c == '(') {
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 >= n || p[i + 2] != ':')
                    return -1;
                i += 2;
            }
            if (rc.depth == RX_MAX_DEPTH)
                return -1;
            rc.sum[++rc.depth] = 0;
            out[o++] = '(';
            i++;
            can_repeat = 0;
        } else if (c == ')') {
            /* an unmatched ')' is a literal to POSIX, an error to chio */
            if (rc.depth == 0)
                return -1;
            rc.depth--;
            out[o++] = ')';
            i++;
            if (rx_item(&rc, rc.sum[rc.depth + 1]) != 0)
                return -1;
        } else if (c == '^' && bol != NULL) {
            rx_put(out, &o, bol, strlen(bol)); /* nothing to repeat after it */
            i++;
            can_repeat = 0;
        } else if (c == '|' || c == '^' || c == '$') {
            out[o++] = (char)c; /* nothing to repeat after these */
            i++;
            can_repeat = 0;
        } else if (c >= 0x80) {
            size_t j = i + 1;
            while (j < n && ((unsigned char)p[j] & 0xc0) == 0x80)
                j++;
            out[o++] = '(';
            rx_put(out, &o, p + i, j - i);
            out[o++] = ')';
            i = j;
            if (rx_item(&rc, 1) != 0)
                return -1;
        } else {
            out[o++] = (char)c; /* ordinary characters */
            i++;
            if (rx_item(&rc, 1) != 0)
                return -1;
        }
    }
    out[o] = '\0';
    return rc.depth == 0 ? 0 : -1;
}

/* Matching. The translation is compiled once into a bounded automaton
 * (regex_nfa.c) and searched for anywhere in each string; '^' holds at
 * the start of the string only and '$' at its end, as chio's do (glibc's
 * regexec also let them hold after a newline the match read and before
 * one it read next: "[^z]^b" matched "\nb"; test
 * rev27_regex::the_anchors_hold_at_the_ends_of_the_string_only). Test
 * rev27_regex::the_matcher_agrees_with_glibc_on_translated_patterns
 * compares the search with the anchored one glibc ran before,
 * "^(P)|^[\x01-\xff]*(P')", P' being P with '^' never matching. The work
 * of one call is bounded (CHIO__NFA_WORK_MAX steps for all its strings
 * and all its regex_match constraints together, chio__call_work): glibc built automaton states
 * lazily and kept them, so
 * "(a|b)*a(a|b){16}x" took 13 s and 370 MB on 1 MiB of 'a' and 'b',
 * "a{1,2000}b" 9 s on 16 KiB. A call that would need more denies. */
int chio__regex_ere(const char *pattern, const char *bol, char **ere)
{
    *ere = malloc(RX_EXPAND * strlen(pattern) + 1);
    if (*ere == NULL)
        return CHIO_ENOMEM;
    if (rx_translate(pattern, bol, *ere) == 0)
        return 0;
    free(*ere);
    *ere = NULL;
    return CHIO_EINVAL;
}

static chio__regex *compiled(chio_kernel *k, const char *pattern)
{
    size_t n = strlen(pattern);
    chio__regex *r = chio__shmap_get(&k->med.regexes, pattern, n), *in;
    char *ere;

    if (r != NULL)
        return r;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->err = chio__regex_ere(pattern, NULL, &ere);
    if (r->err == 0)
        r->err = chio__nfa_compile(ere, &r->nfa);
    free(ere);
    if (r->err == CHIO_ENOMEM) {
        free(r);
        return NULL; /* not cached: a later call may have the memory */
    }
    r->refs = 2; /* the cache's and ours */
    /* Weighed by what it holds: the cache is bounded in bytes too. */
    in = chio__shmap_put_weighted(&k->med.regexes, pattern, n, r,
                                  n + sizeof(*r) + (r->nfa ? chio__nfa_bytes(r->nfa) : 0));
    if (in == r)
        return r;
    r->refs = 1; /* not cached: ours alone */
    if (in == NULL)
        return r; /* compiled for this call only */
    chio__regex_free(r);
    return in; /* another thread's, held for us */
}

typedef struct rx_scan {
    chio__nfa_run run;
    int rc; /* the last search's answer */
} rx_scan;

static int scan_regex(void *ctx, chio__key *key, const char *s, size_t n)
{
    rx_scan *sc = ctx;

    (void)key;
    sc->rc = chio__nfa_run_search(&sc->run, s, n);
    return sc->rc != 0; /* a match, or the budget is spent */
}

/* The reason a pattern that did not compile denies. */
/* Why @pattern denies: @err is its compile error, CHIO_ENOMEM when it
 * could not be compiled for lack of memory. */
static void rx_bad_reason(int err, const char *pattern, char *reason, size_t cap)
{
    if (err == CHIO_ENOMEM)
        snprintf(reason, cap, "regex_match '%.100s' could not be compiled: out of memory (denied)",
                 pattern);
    else if (err == CHIO_ETOOBIG)
        snprintf(reason, cap,
                 "regex_match pattern '%.100s' is too large: its automaton would have more than "
                 "%u states (denied)",
                 pattern, (unsigned)CHIO__NFA_MAX_STATES);
    else
        snprintf(reason, cap,
                 "regex_match pattern '%.100s' is invalid or cannot be read exactly as chio "
                 "reads it (denied)",
                 pattern);
}

int chio__regex_match_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                            uint64_t *steps, char *reason, size_t cap)
{
    chio__regex *r = compiled(k, c->str);
    rx_scan sc;

    if (r == NULL || r->err != 0) {
        rx_bad_reason(r == NULL ? CHIO_ENOMEM : r->err, c->str, reason, cap);
        chio__regex_free(r);
        return 0;
    }
    if (chio__nfa_run_init(&sc.run, r->nfa, *steps) != 0) {
        rx_bad_reason(CHIO_ENOMEM, c->str, reason, cap);
        chio__regex_free(r);
        return 0;
    }
    sc.rc = 0;
    chio__each_string(args, scan_regex, &sc);
    *steps = sc.run.work; /* what is left to the call's other searches */
    chio__nfa_run_destroy(&sc.run);
    if (sc.rc == 1) {
        chio__regex_free(r);
        return 1;
    }
    if (sc.rc == CHIO_ELIMIT)
        snprintf(reason, cap,
                 "regex_match '%.100s': searching the arguments would take more than %llu "
                 "steps, the bound of one call, shared by all its regex_match constraints (its "
                 "automaton has %zu states) (denied)",
                 c->str, (unsigned long long)CHIO__NFA_WORK_MAX, chio__nfa_states(r->nfa));
    else if (sc.rc < 0)
        rx_bad_reason(CHIO_ENOMEM, c->str, reason, cap);
    else
        snprintf(reason, cap, "no argument matches regex_match '%.100s'", c->str);
    chio__regex_free(r);
    return 0;
}

/* Compile @pattern as check 6 does, uncached, and drop it: 0 or its
 * error (CHIO_EINVAL, CHIO_ETOOBIG, CHIO_ENOMEM). */
static int rx_compile_alone(const char *pattern)
{
    chio__nfa *nfa = NULL;
    char *ere;
    int rc = chio__regex_ere(pattern, NULL, &ere);

    if (rc == 0) {
        rc = chio__nfa_compile(ere, &nfa);
        free(ere);
        chio__nfa_free(nfa);
    }
    return rc;
}

int chio__regex_never_holds(const char *pattern, char *reason, size_t cap)
{
    int rc = rx_compile_alone(pattern);

    if (rc == 0 || rc == CHIO_ENOMEM)
        return rc;
    rx_bad_reason(rc, pattern, reason, cap);
    return 1;
}

int chio_regex_constraint_check(const char *pattern, chio_error *err)
{
    int rc;

    if (pattern == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "the pattern is NULL");
    rc = rx_compile_alone(pattern);
    if (rc == CHIO_ENOMEM)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    if (rc == CHIO_ETOOBIG)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "the pattern is too large: its automaton would have more than %u "
                          "states",
                          (unsigned)CHIO__NFA_MAX_STATES);
    if (rc != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "the pattern is not one the kernel enforces: invalid, too large "
                          "(each repetition of an item counts; at most %u in all) or without "
                          "an exact reading as chio reads it (not read: escapes such as \\d "
                          "\\b \\W \\1, flags other than (?:, non-ASCII characters or "
                          "backslashes inside [...])",
                          RX_MAX_COST);
    return 0;
}
