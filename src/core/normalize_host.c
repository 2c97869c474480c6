/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize_host.c - the host half of core/normalize.h: WHATWG's host
 * parser for special URLs (https://url.spec.whatwg.org/#host-parsing):
 * percent-decoding, forbidden domain code points, the "ends in a number"
 * rule, the IPv4 parser (decimal, octal, hex and short forms) and the IPv6
 * parser, with their serialisers. No IDNA: a non-ASCII host fails. Labels
 * must be non-empty (one final dot is dropped), and a host hold only what
 * a DNS name holds (letters, digits, '-', '_', '.').
 *
 * Also chio__host_fold(), the folding a host parser makes before IDNA.
 *
 * Core layer, no state, no locks, no allocation.
 */
#include <stdint.h>
#include <string.h>

#include "chio/error.h"
#include "normalize.h"

/* ---- IPv4 (WHATWG "IPv4 parser") ------------------------------------------------------ */

#define IPV4_BIG ((uint64_t)1 << 40) /* saturation: anything above 2^32 fails */

/* One part: decimal, 0x hex, or 0-prefixed octal; an empty part after the
 * prefix is 0. -1 on failure. */
static int ipv4_number(const char *p, size_t len, uint64_t *out)
{
    unsigned radix = 10;
    uint64_t acc = 0;
    size_t i;

    if (len == 0)
        return -1;
    if (len >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        radix = 16;
        p += 2;
        len -= 2;
    } else if (len >= 2 && p[0] == '0') {
        radix = 8;
        p++;
        len--;
    }
    for (i = 0; i < len; i++) {
        int d = chio__hex_value((unsigned char)p[i]);
        if (d < 0 || (unsigned)d >= radix)
            return -1;
        acc = acc * radix + (unsigned)d;
        if (acc > IPV4_BIG)
            acc = IPV4_BIG;
    }
    *out = acc;
    return 0;
}

int chio__ipv4_number(const char *p, size_t len, uint64_t *out)
{
    return ipv4_number(p, len, out);
}

/* WHATWG "ends in a number": the last label (a trailing empty one
 * ignored) is all digits or parses as an IPv4 number. */
static int ends_in_number(const char *s, size_t n)
{
    const char *last;
    size_t len, i;
    uint64_t v;

    if (n > 0 && s[n - 1] == '.')
        n--; /* a trailing empty label is ignored */
    last = s + n;
    while (last > s && last[-1] != '.')
        last--;
    len = (size_t)(s + n - last);
    if (len == 0)
        return 0;
    for (i = 0; i < len && chio__ascii_digit((unsigned char)last[i]); i++)
        ;
    if (i == len)
        return 1;
    return ipv4_number(last, len, &v) == 0;
}

static size_t put_u8(char *out, unsigned v)
{
    size_t o = 0;

    if (v >= 100)
        out[o++] = (char)('0' + v / 100);
    if (v >= 10)
        out[o++] = (char)('0' + v / 10 % 10);
    out[o++] = (char)('0' + v % 10);
    return o;
}

static int ipv4_parse(const char *s, size_t n, char *out, size_t cap)
{
    uint64_t num[4], addr;
    size_t nparts = 0, i = 0, o = 0;
    int k;

    if (n > 0 && s[n - 1] == '.')
        n--; /* one trailing dot is allowed */
    for (;;) {
        size_t j = i;
        while (j < n && s[j] != '.')
            j++;
        if (nparts == 4 || ipv4_number(s + i, j - i, &num[nparts]) != 0)
            return CHIO_EINVAL;
        nparts++;
        if (j >= n)
            break;
        i = j + 1;
    }
    for (i = 0; i + 1 < nparts; i++)
        if (num[i] > 255)
            return CHIO_EINVAL;
    if (num[nparts - 1] >= ((uint64_t)1 << (8 * (5 - nparts))))
        return CHIO_EINVAL;
    addr = num[nparts - 1];
    for (i = 0; i + 1 < nparts; i++)
        addr += num[i] << (8 * (3 - i));
    if (cap < 16)
        return CHIO_ETOOBIG;
    for (k = 3; k >= 0; k--) {
        o += put_u8(out + o, (unsigned)(addr >> (8 * k)) & 255u);
        if (k > 0)
            out[o++] = '.';
    }
    out[o] = '\0';
    return 0;
}

/* ---- IPv6 (WHATWG "IPv6 parser" and serialiser) ------------------------------------------ */

static int ipv6_parse(const char *s, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    uint16_t a[8] = {0};
    int piece = 0, compress = -1, best = -1, bestlen = 1, ignore0 = 0;
    size_t p = 0, o = 0;
    int i;

#define C (p < n ? (unsigned char)s[p] : 0)
    if (C == ':') {
        if (p + 1 >= n || s[p + 1] != ':')
            return CHIO_EINVAL;
        p += 2;
        compress = ++piece;
    }
    while (p < n) {
        unsigned value = 0, length = 0;
        if (piece == 8)
            return CHIO_EINVAL;
        if (C == ':') {
            if (compress != -1)
                return CHIO_EINVAL;
            p++;
            compress = ++piece;
            continue;
        }
        while (length < 4 && p < n && chio__hex_value(C) >= 0) {
            value = value * 16 + (unsigned)chio__hex_value(C);
            p++;
            length++;
        }
        if (p < n && C == '.') {
            int seen = 0;
            if (length == 0 || piece > 6)
                return CHIO_EINVAL;
            p -= length;
            while (p < n) {
                int v4 = -1;
                if (seen > 0) {
                    if (C == '.' && seen < 4)
                        p++;
                    else
                        return CHIO_EINVAL;
                }
                if (p >= n || !chio__ascii_digit(C))
                    return CHIO_EINVAL;
                while (p < n && chio__ascii_digit(C)) {
                    int d = C - '0';
                    if (v4 == -1)
                        v4 = d;
                    else if (v4 == 0)
                        return CHIO_EINVAL; /* leading zero */
                    else
                        v4 = v4 * 10 + d;
                    if (v4 > 255)
                        return CHIO_EINVAL;
                    p++;
                }
                a[piece] = (uint16_t)(a[piece] * 0x100 + v4);
                seen++;
                if (seen == 2 || seen == 4)
                    piece++;
            }
            if (seen != 4)
                return CHIO_EINVAL;
            break;
        } else if (p < n && C == ':') {
            p++;
            if (p >= n)
                return CHIO_EINVAL;
        } else if (p < n) {
            return CHIO_EINVAL;
        }
        a[piece++] = (uint16_t)value;
    }
#undef C
    if (compress != -1) {
        int swaps = piece - compress;
        piece = 7;
        while (piece != 0 && swaps > 0) {
            uint16_t t = a[piece];
            a[piece] = a[compress + swaps - 1];
            a[compress + swaps - 1] = t;
            piece--;
            swaps--;
        }
    } else if (piece != 8) {
        return CHIO_EINVAL;
    }
    /* Serialise: the first longest run of two or more zero pieces is "::". */
    for (i = 0; i < 8;) {
        int j = i;
        while (j < 8 && a[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    if (cap < 42)
        return CHIO_ETOOBIG;
    out[o++] = '[';
    for (i = 0; i < 8; i++) {
        int shift, started = 0;
        if (ignore0 && a[i] == 0)
            continue;
        ignore0 = 0;
        if (best == i) {
            out[o++] = ':';
            if (i == 0)
                out[o++] = ':';
            ignore0 = 1;
            continue;
        }
        for (shift = 12; shift >= 0; shift -= 4) {
            unsigned d = (a[i] >> shift) & 15u;
            if (d || started || shift == 0) {
                out[o++] = hex[d];
                started = 1;
            }
        }
        if (i != 7)
            out[o++] = ':';
    }
    out[o++] = ']';
    out[o] = '\0';
    return 0;
}

/* ---- hosts ------------------------------------------------------------------------------ */

/* WHATWG forbidden domain code points (forbidden host code points, C0
 * controls, '%' and DEL); bytes >= 0x80 are refused separately. */
static int forbidden_domain(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("#%/:<>?@[\\]^|", c) != NULL;
}

/* Is every byte of the lowercased @d one a DNS name or an IPv4 address
 * in any WHATWG form has (letters, digits, '-', '_', '.')? WHATWG also
 * accepts "!$&'()*+,;=`{}~" and '"' in a host; no DNS name holds them,
 * and a tool that hands the URL to a shell splits it there. */
static int dns_chars(const char *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!chio__ascii_digit((unsigned char)d[i]) && !(d[i] >= 'a' && d[i] <= 'z') &&
            d[i] != '-' && d[i] != '_' && d[i] != '.')
            return 0;
    return 1;
}

/* The canonical host; with @reading, a failure is CHIO_EINVAL only where
 * WHATWG's host parser surely fails too, and CHIO_ERANGE where it may not
 * (see chio__host_reading). */
static int host_canon(const char *s, size_t n, int reading, char *out, size_t cap)
{
    char d[CHIO__HOST_MAX * 4];
    size_t dl, i;
    int nonascii = 0;

    if (cap > 0)
        out[0] = '\0';
    if (n == 0)
        return CHIO_EINVAL;
    if (s[0] == '[') {
        if (n < 2 || s[n - 1] != ']')
            return CHIO_EINVAL;
        return ipv6_parse(s + 1, n - 2, out, cap);
    }
    if (n >= sizeof(d))
        return CHIO_ETOOBIG;
    dl = chio__percent_decode(s, n, d);
    for (i = 0; i < dl; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c >= 0x80)
            nonascii = 1;
        else if (forbidden_domain(c))
            return CHIO_EINVAL; /* IDNA keeps ASCII as it is: WHATWG fails too */
        d[i] = (char)chio__ascii_lower(c);
    }
    if (nonascii) /* needs IDNA, which we do not have ("\uff45vil.com" is evil.com) */
        return reading ? CHIO_ERANGE : CHIO_EINVAL;
    if (!dns_chars(d, dl)) /* "evil.com&x.example.com": a shell runs evil.com */
        return reading ? CHIO_ERANGE : CHIO_EINVAL; /* WHATWG accepts it: deny */
    if (ends_in_number(d, dl)) {
        int rc = ipv4_parse(d, dl, out, cap);
        if (rc != 0 && cap > 0)
            out[0] = '\0';
        return rc;
    }
    if (dl > 0 && d[dl - 1] == '.')
        dl--;
    if (dl == 0 || d[0] == '.' || d[dl - 1] == '.' || memmem(d, dl, "..", 2) != NULL)
        return reading ? CHIO_ERANGE : CHIO_EINVAL; /* empty label: WHATWG keeps it */
    if (dl + 1 > cap || dl >= CHIO__HOST_MAX)
        return CHIO_ETOOBIG;
    memcpy(out, d, dl);
    out[dl] = '\0';
    return 0;
}

int chio__host_canon(const char *s, size_t n, char *out, size_t cap)
{
    return host_canon(s, n, 0, out, cap);
}

int chio__host_reading(const char *s, size_t n, char *out, size_t cap)
{
    return host_canon(s, n, 1, out, cap);
}

/* ---- folding before IDNA ---------------------------------------------------------------- */

size_t chio__host_fold(const char *s, size_t n, char *out)
{
    size_t i, o = 0, len = chio__text_fold(s, n, out);

    for (i = 0; i < len; i++) {
        if (i + 2 < len &&
            (memcmp(out + i, "\xe3\x80\x82", 3) == 0 || memcmp(out + i, "\xef\xbd\xa1", 3) == 0)) {
            out[o++] = '.'; /* U+3002, U+FF61 */
            i += 2;
        } else {
            out[o++] = out[i];
        }
    }
    out[o] = '\0';
    return o;
}
