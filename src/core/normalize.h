/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize.h - how a tool will read a string, as opposed to how it is
 * written: the host a WHATWG URL parser connects to, the path a file API
 * opens, and the text a secret scanner should see. Shared by the argument
 * constraints and the built-in guards (kernel layer) so both read inputs
 * the same way. Everything that cannot be read unambiguously is a failure,
 * and callers deny on failure.
 *
 * Pure functions, no state, no locks; they allocate only for inputs longer
 * than a small stack buffer (and free before returning). Nothing here is
 * API; every name starts with chio__.
 */
#ifndef CHIO_CORE_NORMALIZE_H
#define CHIO_CORE_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Helpers shared by normalize.c, normalize_url.c and normalize_host.c. */
static inline int chio__ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline int chio__ascii_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The value of hex digit @c, or -1. */
static inline int chio__hex_value(int c)
{
    c = chio__ascii_lower(c);
    return chio__ascii_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 when the @n bytes at @s start with a %uXXXX escape: one character to
 * JavaScript's unescape() and .NET's UrlDecode ("%u002e" is '.'), six
 * bytes to every other decoder. Reads in order and stops at the first
 * byte that does not fit, so a NUL-terminated @s may pass SIZE_MAX. */
static inline int chio__u_escape_at(const char *s, size_t n)
{
    size_t k;

    if (n < 6 || s[0] != '%' || (s[1] != 'u' && s[1] != 'U'))
        return 0;
    for (k = 2; k < 6; k++)
        if (chio__hex_value((unsigned char)s[k]) < 0)
            return 0;
    return 1;
}

/* '/' or '\\': a separator to some reader of a path or URL. */
static inline int chio__is_slash(int c)
{
    return c == '/' || c == '\\';
}

/* Scratch space: @stack when @need fits, else the heap (*@heap, which the
 * caller frees; NULL when @stack was used). NULL when out of memory. */
static inline char *chio__scratch(char *stack, size_t stack_cap, size_t need, char **heap)
{
    *heap = NULL;
    if (need <= stack_cap)
        return stack;
    *heap = malloc(need);
    return *heap;
}

/* Decode one UTF-8 sequence at @s (@n > 0): the code point, its length in
 * *@len; UINT32_MAX with *@len = 1 when the bytes are not a valid
 * sequence (normalize_text.c). */
uint32_t chio__utf8_decode(const unsigned char *s, size_t n, size_t *len);

/* Code point @cp (at most U+10FFFF, the caller's check) as UTF-8 at @out
 * (room for 4 bytes); returns the bytes written (normalize_text.c). */
size_t chio__utf8_encode(char *out, uint32_t cp);

/* Longest canonical host we produce (DNS allows 253; room for IPv6). */
#define CHIO__HOST_MAX 256

/* ---- URLs and hosts ------------------------------------------------------------------ */

/*
 * chio__url_host - the host a WHATWG URL parser (browsers, Node, urllib3's
 * WHATWG mode) would connect to for @s (@n bytes, need not be
 * NUL-terminated). Accepts an absolute URL with a scheme, and a
 * scheme-relative "//host..." or "\\host..." (read as a special scheme).
 * Writes the canonical host, NUL-terminated, to @out: lowercase, percent-
 * decoded, one trailing dot removed, IPv4 in dotted decimal, IPv6 in
 * brackets in WHATWG's compressed form.
 * Returns 0, CHIO_EINVAL when there is no host or it cannot be read
 * unambiguously (non-ASCII, forbidden code point, a character no DNS name
 * has: anything but letters, digits, '-', '_', '.'; bad IPv4/IPv6, bad port,
 * empty label, two '@' in the authority, or an RFC 3986 reader such as
 * curl or urllib3 would see another host, as in "https://a.com\@b.com"),
 * or CHIO_ETOOBIG when it does not fit @cap. @out is an empty string on
 * failure.
 */
int chio__url_host(const char *s, size_t n, char *out, size_t cap);

/* Readers for chio__url_host_reading. */
#define CHIO__URL_WHATWG        0 /* browsers, Node: the parser above, alone */
#define CHIO__URL_RFC3986       1 /* curl, urllib3, Go: the URL as written, '\' is data */
#define CHIO__URL_RFC3986_CLEAN 2 /* Python's urlsplit: the same, tab, LF, CR removed first */

/* chio__url_host_reading - the host one kind of reader alone would take
 * from @s: for callers that must hold every reading of an ambiguous value
 * to the rules, never for deciding that a URL is unambiguous. WHATWG
 * reading: as WHATWG does, userinfo up to the last '@' however many there
 * are, '\' as data in a non-special authority. RFC 3986 reading (special
 * schemes and "//" scheme-relative URLs): after the scheme, any run of '/'
 * and '\' is skipped (curl reads "https:host", "https:/\host", "https:///host"; "//" is
 * required without a scheme), the authority ends at the first / ? #, the
 * userinfo at its last '@'. Returns 0 with the canonical host, CHIO_EINVAL
 * when that reader finds no host or surely fails on it, or another
 * failure (CHIO_ERANGE, CHIO_ETOOBIG) when the kernel cannot tell which
 * host the reader takes: callers deny then. */
int chio__url_host_reading(const char *s, size_t n, int reader, char *out, size_t cap);

/* chio__host_canon - the canonical form (as above) of a bare host: no
 * scheme, userinfo or port. Same returns as chio__url_host. */
int chio__host_canon(const char *s, size_t n, char *out, size_t cap);

/* chio__ipv4_number - one part of a WHATWG IPv4 address (@len bytes at
 * @p): decimal, "0x" hex, or '0'-prefixed octal ("0x" alone is 0), in
 * *@out, saturated above 2^32. 0 on success, -1 when it is no such part. */
int chio__ipv4_number(const char *p, size_t len, uint64_t *out);

/* chio__host_reading - chio__host_canon for readings: CHIO_EINVAL only
 * where WHATWG's host parser surely fails as well (an ASCII forbidden code
 * point, a bad IPv4 or IPv6 address), CHIO_ERANGE where it may succeed and
 * the kernel cannot tell how (non-ASCII, which needs IDNA; empty labels,
 * which WHATWG keeps) or will not compare the host (a character no DNS
 * name has, such as '&'), CHIO_ETOOBIG. */
int chio__host_reading(const char *s, size_t n, char *out, size_t cap);

/* chio__url_special_scheme - 1 when @s, read as WHATWG does (leading and
 * trailing C0/space stripped, tab/LF/CR removed), starts with a special
 * scheme (http, https, ws, wss, ftp, file; any case) and ':'; else 0. */
int chio__url_special_scheme(const char *s, size_t n);

/* chio__space_at - the length in bytes of the white space character at
 * the start of @s: ' ' or one of the Unicode spaces that JavaScript's
 * trim() and Python's strip() and split() treat as white space (U+0085,
 * U+00A0, U+1680, U+180E, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000, U+FEFF); 0 when there is none. */
size_t chio__space_at(const char *s, size_t n);

/* chio__url_break - the length in bytes of the word break at s[@i] when
 * looking for the URLs in running text: a C0 control, space or DEL, a
 * quote (' " `), a bracket (< > ( ) { }), ',', ';' or '|', or a Unicode
 * space (chio__space_at); 0 when s[@i] starts no break. */
size_t chio__url_break(const char *s, size_t n, size_t i);

/* chio__url_candidate - does a leaf (@key: its nearest object key, may be
 * NULL) name a URL or host? 2 when only the key says so (a URL-ish key such
 * as url, host, endpoint, ...), 1 when the value does ("://" anywhere, a
 * special scheme, or a leading "//" or "\\", at its start or at the start
 * of a word after a chio__url_break), 0 when neither. */
int chio__url_candidate(const char *key, const char *s, size_t n);

/* An object key as the argument walkers hand it to the checks, with what
 * its text names worked out once, when first asked: a long key above many
 * leaves ({"<4 MiB key>": ["", "", ...]}) is read once per member, not
 * once per leaf under it. @name is NULL for no key (the top level). @up is
 * the key of the member that holds this one's object (NULL at the top, and
 * for an object key itself): a member's URL-ish name is said of every
 * leaf under it ({"proxy": {"server": "evil.com:3128"}} is a host). */
typedef struct chio__key {
    const char *name;
    unsigned asked, names; /* CHIO__KEY_* bits: worked out, and true */
    struct chio__key *up;
} chio__key;

#define CHIO__KEY_PATH 1u /* names a path: chio__path_candidate's key list */
#define CHIO__KEY_URL  2u /* names a URL or host: chio__url_candidate's */

/* chio__key_names - does @k name @what (one CHIO__KEY_* bit): its own
 * name, or for CHIO__KEY_URL also a key above it (@up)? Reads each key's
 * text the first time only. 0 for a NULL @k. */
int chio__key_names(chio__key *k, unsigned what);

/* chio__url_candidate_key, chio__path_candidate_key - chio__url_candidate
 * and chio__path_candidate with the key's answer from @k (may be NULL). */
int chio__url_candidate_key(chio__key *k, const char *s, size_t n);
int chio__path_candidate_key(chio__key *k, const char *s, size_t n);

/* ---- paths ------------------------------------------------------------------------------ */

/* chio__path_candidate - 1 when a leaf may be read as a path: its key names
 * one (path, file, dir, folder, root, cwd, ...) or its value looks like one
 * (starts with / \ ~ ., contains / or \, starts with "file:" in any case
 * as WHATWG reads it (chio__starts_file_url),
 * contains %2f %5c %2e in any case, also encoded again: %252e, %25252f,
 * or a look-alike dot or slash: see chio__look_alike).
 * Conservative by design. @key may be
 * NULL. */
int chio__path_candidate(const char *key, const char *s, size_t n);

/* chio__starts_file_url - 1 when @s starts "file:" (any case) as a WHATWG
 * URL parser reads it: C0 controls and spaces before it skipped, tab, LF
 * and CR inside it dropped ("\tfi\tle:etc/passwd" is file:///etc/passwd
 * to Node); else 0. */
int chio__starts_file_url(const char *s, size_t n);

/* chio__look_alike - the ASCII text ("." ".." "..." "/" "\\") that NFKC
 * or Windows' best-fit conversion makes of the UTF-8 sequence at the start
 * of @s: U+FF0E, U+FE52, U+2024 (a dot), U+2025, U+FE30 (two), U+2026,
 * U+FE19 (three), U+FF0F, U+2215, U+2044 (a slash), U+FF3C, U+FE68,
 * U+2216, U+00A5, U+20A9 (a backslash): every code point NFKC turns into
 * dots, slashes or backslashes only, and those best-fit maps to a slash
 * or backslash. NULL when there is none; its length in bytes (2 or 3) in
 * *@len. Never longer than the bytes it replaces. */
const char *chio__look_alike(const char *s, size_t n, size_t *len);

/* chio__has_look_alike - 1 when @s (@n bytes) holds a look-alike other
 * than a currency sign ("Total: \u00a5100" is a price, read as '\\' only
 * in a value that is a path for another reason). */
int chio__has_look_alike(const char *s, size_t n);

/* chio__fold_look_alikes - @s with every look-alike replaced by its
 * ASCII text, into @out (room for @n + 1; may be @s: the output never
 * runs ahead of the input); returns the new length. */
size_t chio__fold_look_alikes(const char *s, size_t n, char *out);

/* Flags of chio__path_normalize. */
#define CHIO__PATH_DECODE 1u /* percent-decode once (and read file: URLs) */
#define CHIO__PATH_TRIM   2u /* with DECODE: drop white space around the decoded value */
#define CHIO__PATH_WHOLE  4u /* with DECODE: a file: URL's path runs on through '?', '#', ' ' */
/* CHIO__PATH_WHATWG, with DECODE: a file: URL's dot segments resolved
 * first as WHATWG does ("%2e" is a dot, ".." pops an empty segment).
 * CHIO__PATH_POSIX: only '/' separates, a backslash is a byte of a name as
 * open(2) reads it (a file: URL's raw backslash is still a '/', as WHATWG
 * reads it, unless CHIO__PATH_WHOLE). CHIO__PATH_SAME:
 * chio__path_normalize's answer when the WHATWG reading adds nothing. */
#define CHIO__PATH_WHATWG 16u
#define CHIO__PATH_POSIX  8u
#define CHIO__PATH_SAME   1

/*
 * chio__path_normalize - @s as a normalised path in @out (NUL-terminated;
 * length in *@outlen): "/" and "\" separate (only "/" with
 * CHIO__PATH_POSIX), empty and "." segments are dropped, ".." pops one;
 * the result is "/a/b", "/" or a relative "a/b"
 * ("" for an empty relative path). With CHIO__PATH_DECODE, a value starting
 * with "file:" (any case) is read as a WHATWG file URL (host empty or
 * localhost, query, fragment and trailing spaces dropped, or kept with
 * CHIO__PATH_WHOLE),
 * and the path is percent-decoded once. @cap must be at least @n + 2.
 * Returns 0, or CHIO_EINVAL when a C0 control or DEL appears (before or
 * after decoding), ".." climbs above the root or above the start of a
 * relative path or pops a segment below /proc or /dev (links there send
 * the operating system's ".." elsewhere), a decoded value still holds a
 * %XX escape (double encoding) or is not valid UTF-8 (overlong "%c0%ae"),
 * or a file: URL names another host; CHIO_ETOOBIG when @cap is too small;
 * CHIO__PATH_SAME (with CHIO__PATH_WHATWG) when the WHATWG reading cannot
 * differ from the one without it, and nothing was written.
 */
int chio__path_normalize(const char *s, size_t n, unsigned flags, char *out, size_t cap,
                         size_t *outlen);

/*
 * chio__path_readings - every reading of a path-looking @s a tool could
 * make, normalised: as written, with surrounding white space trimmed (' '
 * and the Unicode spaces JavaScript's trim() and Python's strip() remove),
 * each of those percent-decoded once (file: URLs read per WHATWG, and
 * through their query and fragment as a tool that strips "file://" reads
 * them), and decoded then trimmed ("%20/etc" is also "/etc"); each of
 * these that holds a backslash both with '\' a separator (Windows, URL
 * parsers) and with it part of a name (open(2): "/etc\..\w/x" is in a
 * directory named "etc\..\w" at the root, not "/w/x"); when @s is
 * not ASCII, all of these again as NFKC or Windows' best-fit conversion
 * would leave it: look-alike dots and slashes (chio__look_alike) folded,
 * and chio__text_fold's folding (what NFKC makes one ASCII character,
 * invisible format characters dropped). A file: URL is read also
 * as WHATWG resolves its dot segments and, when it holds a backslash, as
 * POSIX opens it (CHIO__PATH_WHATWG, CHIO__PATH_POSIX). @fn gets each
 * normalised form (NUL-terminated); a nonzero return stops the walk and is
 * returned. Returns CHIO_EINVAL as soon as one reading fails to normalise
 * (callers deny), CHIO_ENOMEM, or 0.
 */
int chio__path_readings(const char *s, size_t n, int (*fn)(void *ctx, const char *p, size_t len),
                        void *ctx);

/* chio__long_option_value - where the value of a long option
 * "--name=VALUE" (or "-n=VALUE") starts in @s (@n bytes), or 0 when @s
 * is no such option: one argv element "--out=/a;b/../../etc" names the
 * path "/a;b/../../etc" as a whole. */
size_t chio__long_option_value(const char *s, size_t n);

/* chio__path_under - 1 when the normalised path @p lies at or under the
 * normalised @prefix, comparing whole segments ("/etc" covers "/etc" and
 * "/etc/x", not "/etcx"); absolute and relative never mix. @fold_case
 * compares ASCII letters case-insensitively. */
int chio__path_under(const char *p, size_t plen, const char *prefix, size_t xlen, int fold_case);

/* ---- text for secret scanning ---------------------------------------------------------- */

/* chio__text_fold - @s with invisible format characters (zero-width,
 * bidi controls, soft hyphen, variation selectors, tags, ...) and NUL
 * removed and every code point NFKC turns into one ASCII character
 * folded to it (fullwidth ASCII U+FF01..U+FF5E and U+3000, mathematical
 * alphanumerics, circled and squared letters, Roman numerals,
 * superscripts, small forms, ...; not the other Unicode spaces), written
 * to @out (which may be @s itself:
 * the output is never longer). Invalid UTF-8 bytes are copied as they are.
 * Returns the new length and NUL-terminates (@out needs @n + 1 bytes). */
size_t chio__text_fold(const char *s, size_t n, char *out);

/* chio__text_fold_spaces - chio__text_fold with the Unicode spaces NFKC
 * turns into ' ' (U+00A0, U+2000..U+200A, U+202F, U+205F) and U+1680
 * folded to ' ' too: text as the secret scanner reads it ("Bearer" U+00A0
 * "<token>" is "Bearer <token>" to a tool that normalises it). Not for
 * paths and hosts, where such a space is white space (chio__space_at) or
 * part of the name, never ' '. Same contract as chio__text_fold. */
size_t chio__text_fold_spaces(const char *s, size_t n, char *out);

/* chio__host_fold - @s as a URL's host parser folds it before IDNA:
 * chio__text_fold, then the two other dots UTS 46 maps to '.' (U+3002,
 * U+FF61; U+FF0E is fullwidth ASCII), into @out (room for @n + 1; may be
 * @s: never longer). Returns the new length and NUL-terminates. */
size_t chio__host_fold(const char *s, size_t n, char *out);

/* chio__percent_decode - one pass of %XX decoding (an invalid escape stays
 * as written) into @out (may be @s; never longer). Returns the new length
 * and NUL-terminates (@out needs @n + 1 bytes). */
size_t chio__percent_decode(const char *s, size_t n, char *out);

/* chio__text_unescape - one pass of the escapes text is smuggled in:
 * "\uXXXX" and "%uXXXX" (surrogate pairs joined), "\u{H...}" (1 to 8 hex
 * digits), "\UXXXXXXXX", "\xHH", "\NNN" (three octal digits, up to
 * "\377": a byte, as C and printf %b read it) and HTML numeric character
 * references ("&#65;", "&#x41;", ";" optional), into UTF-8 in @out (may be
 * @s; never longer). Escapes of NUL, lone surrogates or code points above
 * U+10FFFF stay as written. Returns the new length and NUL-terminates. */
size_t chio__text_unescape(const char *s, size_t n, char *out);

/* chio__has_escape - 1 when @s holds a valid %XX escape, or a %uXXXX one
 * (which chio__percent_decode leaves as written: a reading that still
 * holds one after a decode is ambiguous, as one with a %XX left is). */
int chio__has_escape(const char *s, size_t n);

#endif /* CHIO_CORE_NORMALIZE_H */
