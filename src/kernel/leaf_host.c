/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host.c - the host chio's own kernel reads in a string leaf
 * of the arguments, under any key (its parse_domain), for the domain
 * constraints (constraint_domain.c): "evil.com", "x@evil.com:22/y", and
 * with @idn a name past ASCII with an ASCII top-level label ("évil.com"),
 * which a tool that puts it in a URL reaches as punycode; and the hosts
 * in every later ':'-field of a leaf and of its words, as the first is
 * read, with bracketed IPv6 literals and IPv4 numbers that are no count
 * or time ("a.example:443:evil.com:443", "3232235777:3128", "[::1]:80";
 * review 17). No state.
 */
#include <arpa/inet.h>
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
 * and "report.pdf" or "1.2.3" as well). chio's reading stops there; ours
 * takes '_' as well, which DNS serves and curl and getaddrinfo() resolve
 * ("x_y.evil.com"; review 19 guards F1). 1 with its start and length,
 * else 0. */
/* [*a, *b) of @s cut to the authority chio's parse_domain reads: trimmed,
 * after its first "://", up to the first '/', '?' or '#', after the last
 * '@'. 1 when there was an '@'. */
static int authority(const char *s, size_t *a, size_t *b)
{
    const char *sep;
    size_t i;

    trim_ends(s, a, b, 1);
    if ((sep = memmem(s + *a, *b - *a, "://", 3)) != NULL)
        *a = (size_t)(sep - s) + 3;
    for (i = *a; i < *b && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
        ;
    for (*b = i; i > *a; i--)
        if (s[i - 1] == '@') {
            *a = i;
            return 1;
        }
    return 0;
}

int chio__leaf_host(const char *s, size_t n, int idn, size_t *at, size_t *len)
{
    size_t a = 0, b = n, i, k, dot = 0, wide = 0, last = 0;

    authority(s, &a, &b);
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
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
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

/* ---- every field and word of a leaf (review 17 constraints F1, F2) ---------------------- */

/* How a unit of a leaf is read (unit_hosts): the leaf itself, a word of
 * running text (from its second field on), or the value of an option
 * or KEY=VALUE word that names a host, where a bare number is one. */
enum { HOW_LEAF, HOW_WORD, HOW_VALUE };

/* Where the ':'-separated field starting at s[@a] ends (before its ':' or
 * at @b); one that opens with '[' runs past its ']' ("[::1]:3128"). */
static size_t field_end(const char *s, size_t a, size_t b)
{
    const char *close;
    size_t i = a;

    if (i < b && s[i] == '[' && (close = memchr(s + i, ']', b - i)) != NULL)
        i = (size_t)(close - s) + 1;
    while (i < b && s[i] != ':')
        i++;
    return i;
}

static int all_digits(const char *s, size_t a, size_t b)
{
    for (; a < b; a++)
        if (!chio__ascii_digit((unsigned char)s[a]))
            return 0;
    return 1;
}

/* The port the field [a, b) is, when it follows a host: up to five
 * digits, or nothing ("::evil.com:" keeps curl's own port), as 0..65535;
 * -1 when it is no port. */
static long port_of(const char *s, size_t a, size_t b)
{
    long v = 0;

    if (b - a > 5 || !all_digits(s, a, b))
        return -1;
    for (; a < b; a++)
        v = v * 10 + (s[a] - '0');
    return v <= 65535 ? v : -1;
}

/* The rule for a host of chio__leaf_host without @idn: "localhost", or a
 * dotted name of ASCII letters, digits, '-' and '_'. */
static int name_host(const char *s, size_t a, size_t b)
{
    size_t i;
    int dot = 0;

    for (i = a; i < b; i++) {
        int c = chio__ascii_lower((unsigned char)s[i]);
        if (c == '.')
            dot = 1;
        else if (!((c >= 'a' && c <= 'z') || chio__ascii_digit(c) || c == '-' || c == '_'))
            return 0;
    }
    return dot ? b > a : b - a == 9 && strncasecmp(s + a, "localhost", 9) == 0;
}

/* A WHATWG IPv4 number without dots ("3232235777", "0xc0a80101",
 * "017700000001"), which getaddrinfo() and WHATWG read as an address, is
 * read as a host only where it is surely not a count, an id or a time:
 * below 2^24 it is in 0.0.0.0/8, which no route reaches, so "0755", "10"
 * and "10:30" stay text; 0 itself (0.0.0.0 is the local host to Linux and
 * macOS) only after '@' (@at), before a port of 60 or more, which no
 * clock time has, or as the whole value of an option or key that takes
 * a host ("curl -x 0", "http_proxy=0"); otherwise a hex or octal spelling always, a decimal
 * one only after '@' or before a port (@port >= 0), since a port-less
 * decimal ("count": "3232235777", a Unix time) is a number. */
static int number_host(const char *s, size_t a, size_t b, int at, long port, int how)
{
    uint64_t v;
    int prefixed = b - a >= 2 && s[a] == '0';

    if (a == b || !chio__ascii_digit((unsigned char)s[a]) ||
        chio__ipv4_number(s + a, b - a, &v) != 0 || v > 0xffffffffu)
        return 0;
    if (v == 0) /* a host option's whole value "0" (review 22 hosts H7) */
        return at || port >= 60 || how == HOW_VALUE;
    if (v < ((uint64_t)1 << 24))
        return 0;
    /* the value of an option that takes a host ("curl -x 2130706433")
     * is one; a later field without a port or '@' ("key:0x1234567") is
     * not (review 18 F2, F4) */
    return how == HOW_VALUE || at || port >= 0 || (prefixed && how == HOW_LEAF);
}

/* A later field that is a number with one or two dots ("1:23.456",
 * "--lr:0.001", "lat:48.8566", "ratio 1:1.5") or a dotted name whose last
 * label starts with a digit ("apt-get install libc6=1:2.36-9",
 * "nginx:1.25.3"): a time, a ratio, a version, no host any resolver
 * reaches. Only a dotted quad ("a.example:443:10.0.0.1", curl's
 * --resolve) is read there (review 18 F4). */
static int later_field_text(const char *s, size_t a, size_t b)
{
    size_t i, dots = 0, last = a;
    int numeric = 1;

    for (i = a; i < b; i++) {
        if (s[i] == '.')
            dots++, last = i + 1;
        else if (!chio__ascii_digit((unsigned char)s[i]))
            numeric = 0;
    }
    if (numeric)
        return dots < 3;
    return last < b && chio__ascii_digit((unsigned char)s[last]);
}

/* A bracketed IPv6 literal ("[::1]", "[::ffff:c0a8:101]"): a host. One
 * with a zone ("[fe80::1%eth0]") is one to getaddrinfo() too; it has no
 * canonical form, so the caller denies it. Brackets round anything else
 * ("[draft]", "[10:30:00]") are text. */
static int bracket_host(const char *s, size_t a, size_t b)
{
    char v6[CHIO__HOST_MAX], out[CHIO__HOST_MAX];
    const char *pct;
    size_t len;

    if (b - a < 2 || s[a] != '[' || s[b - 1] != ']')
        return 0;
    if (chio__host_canon(s + a, b - a, out, sizeof(out)) == 0)
        return 1;
    if ((pct = memchr(s + a, '%', b - a)) == NULL ||
        (len = (size_t)(pct - s) - a) + 1 >= sizeof(v6))
        return 0;
    memcpy(v6, s + a, len);
    v6[len] = ']';
    return chio__host_canon(v6, len + 1, out, sizeof(out)) == 0;
}

/* An IPv6 address written without brackets, [a, b) of @s, with an
 * optional zone ("::1", "::ffff:7f00:1", "fe80::1%lo"), as getaddrinfo()
 * and curl's --resolve take it (review 19 guards F2); "::" alone, the
 * unspecified address, is also a separator in text and stays one. Its
 * bracketed form, which the host reader compares, in @out. */
static int bare_ipv6(const char *s, size_t a, size_t b, char out[CHIO__HOST_MAX])
{
    char text[64];
    /* the address is shorter than @text: look no further for its end */
    const char *pct = memchr(s + a, '%', b - a < sizeof(text) ? b - a : sizeof(text));
    size_t len = pct != NULL ? (size_t)(pct - s) - a : b - a, o;
    unsigned char addr[16];

    if (len < 3 || len >= sizeof(text) || memchr(s + a, ':', len) == NULL)
        return 0;
    memcpy(text, s + a, len);
    text[len] = '\0';
    if (inet_pton(AF_INET6, text, addr) != 1)
        return 0;
    /* "[addr%zone]": a zone of any length (getaddrinfo() reads one of
     * 300 bytes, review 20 fixes F1) is cut to fit; with its '%' kept
     * the host reader still refuses it */
    out[0] = '[';
    o = b - a + 2 < CHIO__HOST_MAX ? b - a : CHIO__HOST_MAX - 3;
    memcpy(out + 1, s + a, o);
    out[o + 1] = ']';
    out[o + 2] = '\0';
    return 1;
}

/* Each ','-separated address of [a, b) that is a bare IPv6 address
 * (bare_ipv6), bracketed, to @each; the rest to list_hosts. For the
 * addresses after curl's "--resolve HOST:PORT:" and an IPv6 leaf or
 * option value. 1 when one was such an address (*@rc the answer), else
 * 0 and nothing was handed on. */
static int list_hosts(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx);

static int ipv6_hosts(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx,
                      int *rc)
{
    char v6[CHIO__HOST_MAX];
    size_t i, e;
    int any = 0;

    for (i = a; i <= b; i = e + 1) {
        const char *comma = memchr(s + i, ',', b - i);
        e = comma != NULL ? (size_t)(comma - s) : b;
        any |= bare_ipv6(s, i, e, v6);
    }
    if (!any)
        return 0;
    *rc = 0;
    for (i = a; i <= b && *rc == 0; i = e + 1) {
        const char *comma = memchr(s + i, ',', b - i);
        e = comma != NULL ? (size_t)(comma - s) : b;
        *rc = bare_ipv6(s, i, e, v6) ? each(ctx, v6, strlen(v6)) : list_hosts(s, i, e, each, ctx);
    }
    return 1;
}

/* Is field [a, b) the seconds of a clock time ("12:30:45.123",
 * "2024-01-01T12:30:45.5Z"): the last field, two digits, '.', digits and
 * an optional 'Z', after a field of two digits (the minutes) and one
 * ending in a digit (the hour)? Those are text: no HOST:PORT:ADDR form
 * ends in one (curl's --resolve takes a dotted quad only). */
static int seconds_field(const char *s, size_t a, size_t b, const size_t prev[4], int idx)
{
    size_t i;

    if (idx < 2 || b - a < 4 || prev[1] - prev[0] != 2 || !all_digits(s, prev[0], prev[1]) ||
        prev[3] == prev[2] || !chio__ascii_digit((unsigned char)s[prev[3] - 1]))
        return 0;
    if (b - a > 4 && (s[b - 1] == 'Z' || s[b - 1] == 'z'))
        b--;
    if (!all_digits(s, a, a + 2) || s[a + 2] != '.')
        return 0;
    for (i = a + 3; i < b; i++)
        if (!chio__ascii_digit((unsigned char)s[i]))
            return 0;
    return b > a + 3;
}

/* The ','-separated addresses of a later field [a, b): each a dotted
 * quad, a bracketed IPv6 literal or a dotted name is a host. */
static int list_hosts(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx)
{
    size_t i, e;
    int rc;

    for (i = a; i < b; i = e + 1) {
        const char *comma = memchr(s + i, ',', b - i);
        e = comma != NULL ? (size_t)(comma - s) : b;
        if (((name_host(s, i, e) && !later_field_text(s, i, e)) || bracket_host(s, i, e)) &&
            (rc = each(ctx, s + i, e - i)) != 0)
            return rc;
    }
    return 0;
}

/* [a, b) of @s read as chio reads a leaf (trimmed, after its first "://",
 * up to '/', '?' or '#', after the last '@'), each of its ':'-separated
 * fields from the @from'th on read as chio reads the first: a dotted
 * name, a bracketed IPv6 literal or an IPv4 number (number_host) is a
 * host, handed to @each. Its first nonzero answer, else 0. */
static int unit_hosts(const char *s, size_t a, size_t b, int how, chio__leaf_host_fn each,
                      void *ctx)
{
    int from = how == HOW_WORD;
    size_t fa, fb, x, y, prev[4] = {0, 0, 0, 0}; /* the fields before: [0,1) and [2,3) */
    int at = authority(s, &a, &b), idx, k, rc;

    /* a leaf or an option's value that is an IPv6 address without
     * brackets ("::ffff:7f00:1"); a word of running text is not read so
     * ("the address 2001:db8::1 is documentation") */
    x = a, y = b;
    trim_ends(s, &x, &y, 1);
    if (how != HOW_WORD && ipv6_hosts(s, x, y, each, ctx, &rc))
        return rc;
    for (idx = 0, fa = a;; idx++, fa = fb + 1) {
        long port = -1;
        int host;
        fb = field_end(s, fa, b);
        /* after HOST:PORT: (curl's --resolve), the rest may be IPv6
         * addresses without brackets ("a.example:443:::1,::2"); read
         * once per unit, at its third field (review 20 fixes F2: tried
         * at every field, "1:1:1:.." cost quadratic time) */
        if (idx == 2 && prev[1] > prev[0] && port_of(s, prev[0], prev[1]) >= 0 &&
            ipv6_hosts(s, fa, b, each, ctx, &rc))
            return rc;
        if (fb < b)
            port = port_of(s, fb + 1, field_end(s, fb + 1, b));
        for (x = fa, y = fb, k = 0; k < 3; k++)
            trim_ends(s, &x, &y, k == 1);
        if (idx > 0 && memchr(s + x, ',', y - x) != NULL) {
            /* "--resolve a.example:443:10.0.0.1,10.0.0.2": each address */
            if (idx >= from && (rc = list_hosts(s, x, y, each, ctx)) != 0)
                return rc;
            host = 0;
        } else if (name_host(s, x, y)) {
            host = !(fb == b && seconds_field(s, x, y, prev, idx)) &&
                   !(idx > 0 && later_field_text(s, x, y));
        } else {
            host = bracket_host(s, x, y) ||
                   number_host(s, x, y, at && idx == 0, port, idx == 0 ? how : HOW_WORD);
        }
        if (idx >= from && host && (rc = each(ctx, s + x, y - x)) != 0)
            return rc;
        if (fb >= b)
            return 0;
        prev[2] = prev[0], prev[3] = prev[1], prev[0] = x, prev[1] = y;
    }
}

/* Options whose value is a host: curl's proxies and connection maps,
 * ssh's jump host ("-J", "--jump" in other tools), long ones as written. */
static const char *const host_options[] = {
    "--proxy",      "--preproxy", "--socks4",   "--socks4a", "--socks5", "--socks5-hostname",
    "--connect-to", "--resolve",  "--proxy1.0", "--jump",    NULL};

/* Does the word [a, b) give an option that takes a host: 1 when its value
 * is the next word ("-x", "--proxy"), 2 when it is glued on, from *@v
 * ("-xevil.com", "--proxy=evil.com"); else 0. Short options may come in
 * a bundle whose first 'x' or 'J' takes the rest or the next word
 * ("-sSx", "-4x", "-vJ", "-sxevil.com", curl's "-s:x" with its "-:"
 * inside; *@bundle set), and a long one
 * may be abbreviated as curl allows, to three letters or more, in any
 * case ("--pre", "--preprox", "--proxy1", "--PROXY"; reviews 20 and 21).
 * Any other option's value is no host: "pip install -r
 * requirements.txt" (review 18 F4). */
static int host_option(const char *s, size_t a, size_t b, size_t *v, int *bundle)
{
    const char *eq = memchr(s + a, '=', b - a);
    size_t end = eq != NULL ? (size_t)(eq - s) : b, i, n, k;

    *bundle = 0;
    if (b - a >= 2 && s[a] == '-' && s[a + 1] != '-') {
        for (k = a + 1; k < b && (isalnum((unsigned char)s[k]) || s[k] == '#' || s[k] == ':') &&
                        s[k] != 'x' && s[k] != 'J';
             k++)
            ;
        if (k == b || (s[k] != 'x' && s[k] != 'J'))
            return 0;
        *bundle = k > a + 1;
        if (k + 1 == b)
            return 1;
        *v = k + 1 + (s[k + 1] == '=');
        return 2;
    }
    if (end - a < 5 || s[a] != '-' || s[a + 1] != '-')
        return 0;
    for (i = 0; host_options[i] != NULL; i++) {
        n = strlen(host_options[i]);
        if (end - a <= n && strncasecmp(s + a, host_options[i], end - a) == 0) {
            *v = end + 1;
            return eq != NULL ? 2 : 1;
        }
    }
    return 0;
}

/* Is the word [a, b) KEY=VALUE (also ssh's "-oKEY=VALUE") whose KEY names
 * a URL or host as an argument's key would ("HTTPS_PROXY=evil.com:3128",
 * "ProxyJump=evil.com", "http.proxy=..."; review 18 F2)? Its value's
 * start in *@v. */
/* Does s[@a, @b) (@b - @a bytes of letters, digits, '_', '-', '.') name
 * a URL or host as an argument's key would ("HTTPS_PROXY", "ProxyJump",
 * "http.proxy")? */
static int host_key(const char *s, size_t a, size_t b)
{
    char key[64];
    chio__key k;
    size_t i, n = b - a;

    /* ssh's ServerAliveInterval and ServerAliveCountMax are counts */
    if (n == 0 || n >= sizeof(key) || (n > 11 && strncasecmp(s + a, "serveralive", 11) == 0))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[a + i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return 0;
        key[i] = (char)c;
    }
    key[n] = '\0';
    memset(&k, 0, sizeof(k));
    k.name = key;
    return chio__key_names(&k, CHIO__KEY_URL);
}

static int host_assignment(const char *s, size_t a, size_t b, size_t *v)
{
    const char *eq = memchr(s + a, '=', b - a);

    if (b - a > 2 && s[a] == '-' && s[a + 1] == 'o')
        a += 2;
    if (eq == NULL || !host_key(s, a, (size_t)(eq - s)))
        return 0;
    *v = (size_t)(eq - s) + 1;
    return 1;
}

/* A value that is a ','-separated list (ssh's "-J evil.com,api.example.com",
 * "ProxyJump a,b", curl's "--resolve h:443:a,b"): each entry is read as a
 * value too (user@ and :port as anywhere), in any order, as well as the
 * whole (review 23 hostfix H5: ssh connects straight to the first). */
static int list_values(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx)
{
    const char *comma;
    size_t e;
    int rc;

    size_t k = a;

    if (memchr(s + a, ',', b - a) == NULL)
        return 0;
    /* NO_PROXY=a,b, no_proxy=..: hosts not reached through the proxy */
    if (k > 0 && s[k - 1] == '=') {
        for (k--; k > 0 && (isalnum((unsigned char)s[k - 1]) || s[k - 1] == '_'); k--)
            ;
        if ((a - 1 - k == 8 && strncasecmp(s + k, "no_proxy", 8) == 0) ||
            (a - 1 - k == 7 && strncasecmp(s + k, "noproxy", 7) == 0))
            return 0;
    }
    for (; a <= b; a = e + 1) {
        comma = a < b ? memchr(s + a, ',', b - a) : NULL;
        e = comma != NULL ? (size_t)(comma - s) : b;
        if (e > a && (rc = unit_hosts(s, a, e, HOW_VALUE, each, ctx)) != 0)
            return rc;
    }
    return 0;
}

/* The value [a, b) of an option that takes a host: read whole (HOW_VALUE),
 * or, when it holds a shell expansion ('$', a backtick, a brace: "${P:-
 * evil.com}", "{evil.com,a}"), handed on as written, a host that cannot
 * be read (review 21 H3: the value is whatever the shell makes it). */
static int value_hosts(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx)
{
    size_t i;
    int rc;

    for (i = a; i < b; i++)
        if (s[i] == '$' || s[i] == '`' || s[i] == '{')
            return each(ctx, s + a, b - a);
    if ((rc = unit_hosts(s, a, b, HOW_VALUE, each, ctx)) != 0)
        return rc;
    return list_values(s, a, b, each, ctx);
}

int chio__leaf_field_hosts(const char *s, size_t n, chio__leaf_host_fn each, void *ctx)
{
    return chio__leaf_field_hosts_in(s, n, 0, each, ctx);
}

int chio__leaf_host_key(const char *s, size_t n)
{
    return host_key(s, 0, n);
}

/* Review 23 hostfix R1, H1, M1: a bundle's host option ("-sx", "-AJ")
 * and the KEY VALUE readings are read in a word whose command segment
 * could run curl or ssh (for a bundle), ssh or git (for -o and config
 * KEY VALUE): chio__segs (leaf_host_prog.c), plus @extra; curl's config
 * text where any segment of the leaf could run curl or wget. */
int chio__leaf_field_hosts_in(const char *s, size_t n, int extra, chio__leaf_host_fn each,
                              void *ctx)
{
    size_t a = 0, b = n, i, k, wa, v;
    int whole, after_option = 0, opt, bundle, rc = 0, programs, fetch, escaped;
    chio__segs segs;
    chio__kv kv;

    trim_ends(s, &a, &b, 1);
    for (i = a; i < b && trim_space_at(s + i, b - i) == 0; i++)
        ;
    whole = i == b; /* one word: every field of it, as the leaf */
    /* config text written to a file or piped (chio__kv_text) is read
     * whatever segment of the leaf could run the program that reads it;
     * curl's or wget's config text reaches it from another segment
     * ("echo 'proxy = H' | curl -K -", "curl -K <(echo ..)"); a name held
     * as an argument may run under another name ("ln -s $(which curl) c;
     * ./c -sx H"), a defined one anything */
    programs = chio__leaf_programs_escaped(s, b, &escaped);
    fetch = programs & CHIO__PROG_FETCH;
    chio__kv_init(&kv, programs | escaped);
    /* config text written is read where the call could run a program
     * that reads it, or to a file one reads (review 24 hosts M1) */
    chio__kv_text_for(&kv, s + a, b - a,
                      (extra & CHIO__SEGS_CONNECTS) != 0 ||
                          chio__kv_connects(programs | escaped | (extra & CHIO__PROG_ALL),
                                            chio__kv_names_git(s + a, b - a)));
    chio__segs_init(&segs, s, b, extra | fetch | escaped);
    for (i = a; i < b && rc == 0;) {
        if ((k = trim_space_at(s + i, b - i)) > 0) {
            i += k;
            continue;
        }
        for (wa = i; i < b && trim_space_at(s + i, b - i) == 0; i++)
            ;
        /* A word of running text is read from its second field on (chio
         * reads a leaf whole, not each word's first field: "see
         * main.py:42"); the value of an option that takes a host, glued
         * on or the next word, and of a KEY=VALUE word whose KEY names a
         * host, is read whole. */
        if (after_option)
            rc = value_hosts(s, wa, i, each, ctx);
        else if (whole || memchr(s + wa, ':', i - wa) != NULL)
            rc = unit_hosts(s, wa, i, whole ? HOW_LEAF : HOW_WORD, each, ctx);
        programs = chio__segs_bits(&segs, wa, i);
        opt = host_option(s, wa, i, &v, &bundle);
        if (bundle && !(programs & CHIO__PROG_BUNDLE))
            opt = 0;
        after_option = opt == 1;
        /* "-o ProxyJump evil.com", "git config http.proxy evil.com",
         * "proxy = evil.com" (leaf_host_kv.c), armed by the segment */
        kv.programs = programs;
        if (rc == 0)
            rc = chio__kv_word(&kv, s, wa, i, each, ctx);
        if (rc == 0 && opt == 2 && v < i)
            rc = value_hosts(s, v, i, each, ctx);
        /* both readings of "-oProxyJump=evil.com": a bundle's glued
         * value, and ssh's -o with its KEY=VALUE */
        if (rc == 0 && host_assignment(s, wa, i, &v) && v < i)
            rc = value_hosts(s, v, i, each, ctx);
    }
    return rc != 0 ? rc : chio__kv_end(&kv, each, ctx);
}

int chio__leaf_takes_host(const char *s, size_t n, int programs)
{
    size_t a = 0, b = n, i, k, wa, v;
    int opt = 0, bundle;

    trim_ends(s, &a, &b, 1);
    for (i = a; i < b;) {
        if ((k = trim_space_at(s + i, b - i)) > 0) {
            i += k;
            continue;
        }
        for (wa = i; i < b && trim_space_at(s + i, b - i) == 0; i++)
            ;
        opt = host_option(s, wa, i, &v, &bundle);
        if (bundle && !(programs & CHIO__PROG_BUNDLE))
            opt = 0;
    }
    return opt == 1;
}

int chio__leaf_value_hosts(const char *s, size_t n, chio__leaf_host_fn each, void *ctx)
{
    size_t a = 0, b = n;

    trim_ends(s, &a, &b, 1);
    return a < b ? value_hosts(s, a, b, each, ctx) : 0;
}
