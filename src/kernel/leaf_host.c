/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host.c - the host chio's own kernel reads in a string leaf
 * of the arguments, under any key (its parse_domain), for the domain
 * constraints (constraint_domain.c): "evil.com", "x@evil.com:22/y", and
 * with @idn a name past ASCII with an ASCII top-level label ("évil.com"),
 * which a tool that puts it in a URL reaches as punycode. No state.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "normalize.h"

/* White space as Rust's str::trim() drops it (char::is_whitespace; a few
 * more Unicode spaces, chio__space_at, only widen what is read). */
static size_t trim_space_at(const char *s, size_t n)
{
    unsigned char c = n > 0 ? (unsigned char)s[0] : 0;

    return n == 0 ? 0 : (c >= '\t' && c <= '\r') || c == ' ' ? 1 : chio__space_at(s, n);
}

/* [*a, *b) of @s without the dots (or, @space, the white space) at its
 * ends, as Rust's trim_matches('.') and trim() drop them. */
static void trim_ends(const char *s, size_t *a, size_t *b, int space)
{
    size_t i, k, end;

    if (!space) {
        while (*a < *b && s[*a] == '.')
            (*a)++;
        while (*b > *a && s[*b - 1] == '.')
            (*b)--;
        return;
    }
    while (*a < *b && (k = trim_space_at(s + *a, *b - *a)) > 0)
        *a += k;
    for (i = end = *a; i < *b;) /* end: after the last byte that is no space */
        if ((k = trim_space_at(s + i, *b - i)) > 0)
            i += k;
        else
            end = ++i;
    *b = end;
}

/* The host chio itself reads in a string leaf, under any key (its
 * kernel's parse_domain): the value trimmed, after its first "://", up to
 * the first '/', '?' or '#', after the last '@', up to the first ':',
 * with dots, then white space, then dots trimmed off its ends; a host
 * when it is "localhost" or holds a '.' and only ASCII letters, digits,
 * '-' and '.' ("evil.com", "user@evil.com", "evil.com:22/x", "8.8.8.8",
 * and "report.pdf" or "1.2.3" as well). 1 with its start and length,
 * else 0. */
int chio__leaf_host(const char *s, size_t n, int idn, size_t *at, size_t *len)
{
    size_t a = 0, b = n, i, k, dot = 0, wide = 0, last = 0;
    const char *sep;

    trim_ends(s, &a, &b, 1);
    if ((sep = memmem(s + a, b - a, "://", 3)) != NULL)
        a = (size_t)(sep - s) + 3;
    for (i = a; i < b && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
        ;
    for (b = i; i > a; i--)
        if (s[i - 1] == '@') {
            a = i;
            break;
        }
    for (i = a; i < b && s[i] != ':'; i++)
        ;
    for (b = i, k = 0; k < 3; k++)
        trim_ends(s, &a, &b, k == 1);
    for (i = a; i < b; i++) {
        unsigned char c = (unsigned char)chio__ascii_lower((unsigned char)s[i]);
        if (c == '.')
            dot = 1, last = i + 1;
        else if (idn && c >= 0x80 && chio__space_at(s + i, b - i) == 0)
            wide = 1;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    *at = a;
    *len = b - a;
    if (idn) {          /* a name past ASCII whose last label is an ASCII TLD */
        int letter = 0; /* "com", "xn--p1ai" (review 14), not "2" */
        for (i = last; i < b && (isalnum((unsigned char)s[i]) || s[i] == '-'); i++)
            letter |= isalpha((unsigned char)s[i]) != 0;
        return wide && dot && letter && i == b && b - last >= 2;
    }
    return dot ? b > a : b - a == 9 && strncasecmp(s + a, "localhost", 9) == 0;
}
