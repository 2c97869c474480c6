/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_domain.c - the domain_exact and domain_glob
 * constraints (check 6), called by constraints.c:
 *   domain_exact  the hosts of the URL/host leaves must exist and all equal
 *   domain_glob   ...or all match the glob ('*' any run; every other
 *                 character, '?' and '[' included, is itself, as in chio).
 * Leaves: under a URL-ish key (url, uri, host, domain, endpoint, href,
 * link, address, origin, proxy, proxies, ..., or a whole word of it: ip,
 * server, remote, upstream, ..., or a word starting with "prox": the
 * nearest key or any enclosing member's,
 * so {"proxy": {"server": "evil.com:3128"}} is a host), a value with
 * "://", a special scheme and ':', or a leading "//" or "\\" (at its
 * start, a later word's, or after an '='). Hosts come from the WHATWG URL
 * parser (userinfo up to the last '@', '\' ends the authority, IPv4 forms
 * in dotted decimal, IPv6 compressed, percent-decoded, lowercase, one
 * final dot removed); a leaf without a readable host, a non-ASCII host, a
 * host with a character no DNS name has ("&", "$", ...), a URL an RFC 3986
 * reader would send elsewhere (or with two '@'), or a value under a URL
 * key with no scheme that holds / \ @ : ? or # denies (a number or
 * boolean there is read as its JSON text). A value that is not one URL but
 * running text with URLs in it is held to each of them (each must parse
 * and match), and so is a value that is one URL but holds a word break
 * (white space, a Unicode space, ",;|" ...), and so is the host a WHATWG
 * or RFC 3986 reader takes from the whole value (denied when it is
 * non-ASCII), and from each word split at white space alone; running text
 * no reader takes as one URL is held to its decoded text too; a
 * non-special URL's opaque host counts only when it is canonical as
 * written; a value that is a URL only once percent-decoded is held to the
 * same as decoded (scan_encoded_url).
 * Under a URL-ish key the other words of such a value are hosts too
 * (bare_word_allowed: "https://a.example/ evil.com" is two URLs to curl):
 * every word after white space (or at the start) is read as a bare host
 * ("-x" and "--opt" alone are options; "-xHOST" and "--opt=HOST" their
 * hosts), and so is a word after a list separator ',' or ';' that holds
 * '.', ':' or '@' (a list splitter reads "https://a.example/,evil.com" as
 * two): a single label there ("https://a.example/a,b", "?ids=1,2") is
 * read as part of the URL, as WHATWG reads it; a word after another break
 * ('(', a quote) is not read. A value under a URL-ish key is read again as
 * a POSIX shell reads it (quote removal, "$IFS" and "${IFS}" as white
 * space; shell_words.c). A value in scp syntax ("git@evil.com:x.git")
 * under any key is a bare host. The constraint's value is read the same
 * way (a glob: lowercased only, as chio reads it). Every string value is
 * also read as chio's own kernel reads it (chio_leaf_host: "evil.com" or
 * "x@evil.com" under any key is the host evil.com), and that host, when
 * there is one, must be allowed too (review 46), and so must every host
 * in a later ':'-field of it or of its words, an IPv4 number or an IPv6
 * literal included (chio__leaf_field_hosts; review 17).
 * This file owns the walk of the arguments (every string, key, number and
 * boolean leaf, JSON in a string, an argv's option values), chio's own
 * reading of each leaf and the check of the constraint's value; the URL
 * readings of one leaf (chio__domain_scan, scan_encoded_url,
 * bare_word_allowed, ...) and the host comparison are in
 * constraint_domain_url.c (constraint_domain_int.h).
 * No state, no locks; scratch space malloc'ed and freed per value.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_domain_int.h"
#include "guard_scan.h"
#include "normalize.h"
#include "shell_ansi.h"
#include "shell_words.h"

static int chio_leaf_host(const char *s, size_t n, size_t *at, size_t *len)
{
    return chio__leaf_host(s, n, 0, at, len);
}

/* A host found in a later field or word of a leaf (chio__leaf_field_hosts:
 * "a.example:443:evil.com:443", "3232235777:3128", "[::1]:3128"), checked
 * against the constraint with the whole leaf quoted. */
typedef struct field_check {
    domain_scan *ds;
    const char *s;
    size_t n;
} field_check;

static int field_host_allowed(void *ctx, const char *h, size_t len)
{
    field_check *fc = ctx;
    char host[CHIO__HOST_MAX];

    if (chio__host_canon(h, len, host, sizeof(host)) != 0) {
        snprintf(fc->ds->reason, fc->ds->cap,
                 "'%.*s' names a host that cannot be read unambiguously",
                 (int)(fc->n > 120 ? 120 : fc->n), fc->s);
        return 1;
    }
    return !chio__domain_host_allowed(fc->ds, fc->s, fc->n, host);
}

/* chio holds every string leaf whose own reading (chio_leaf_host) is a
 * host to the constraint, whatever its key: {"target": "evil.com"} or
 * {"to": "x@evil.com"} beside an allowed URL is denied by chio, so it is
 * here (the URL readings above apply to URL-ish keys and URLs only).
 * Such a host is one more check, not the URL the arguments must name (a
 * grant that needs one still needs one). Every later ':'-field of the
 * leaf and of its words is read the same way, and an IPv4 number or an
 * IPv6 literal there is a host too (review 17 constraints F1, F2: curl's
 * "--connect-to a.example:443:evil.com:443", requests' proxies
 * {"https": "3232235777:3128"}). 1 when it holds, else 0 with the
 * reason. */
static int chio_reading_allowed(domain_scan *ds, const char *s, size_t n)
{
    char host[CHIO__HOST_MAX];
    field_check fc;
    size_t at, len;

    /* "évil.com": a tool that puts it in a URL reaches its punycode
     * (xn--vil-9la.com), which the kernel does not compute; review 13 */
    if (chio__leaf_host(s, n, 1, &at, &len)) {
        snprintf(ds->reason, ds->cap,
                 "'%.*s' names a host past ASCII, which the kernel cannot compare",
                 (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    if (chio_leaf_host(s, n, &at, &len)) {
        if (chio__host_canon(s + at, len, host, sizeof(host)) != 0) {
            snprintf(ds->reason, ds->cap, "'%.*s' names a host that cannot be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            return 0;
        }
        if (!chio__domain_host_allowed(ds, s, n, host))
            return 0;
    }
    fc.ds = ds;
    fc.s = s;
    fc.n = n;
    return chio__leaf_field_hosts_in(s, n, (ds->json ? CHIO__SEGS_JSON : 0) | ds->call_extra,
                                     field_host_allowed, &fc) == 0;
}

/* An argv passed as an array of words: the element after one that ends
 * with an option taking a host ("-x", "--proxy") is that option's value,
 * read whole as chio__leaf_field_hosts reads a value glued on or in the
 * same string (["-x", "2130706433"], ["--proxy", 3232235777]). Every
 * array of @v, at any depth of its members; 1 when each such value
 * holds, else 0 with the reason. */
/* The programs an argv array could run (review 23 hostfix R1, H1, M1):
 * the tokens of its strings; every program when its command (the first
 * element past wrappers, their options and counts) cannot be known or
 * the array starts with an option (["-sx", "H"], the args of
 * {"command": "curl", ..}); and the programs of a script after "-c". */
static int array_programs(const chio_json *v)
{
    size_t i, n = chio_json_size(v), len;
    const char *s;
    int bits = 0, named = 0, script = 0, role;
    chio__cmd_walk w = {0, 0};

    for (i = 0; i < n; i++) {
        if ((s = chio_json_string(chio_json_at(v, i), &len)) == NULL) {
            script = 0;
            continue;
        }
        bits |= chio__leaf_tokens_programs(s, len);
        if (script)
            bits |= chio__leaf_programs(s, len);
        script = len >= 2 && s[0] == '-' && s[len - 1] == 'c' &&
                 strspn(s + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == len - 1;
        if (named)
            continue;
        role = chio__leaf_word_role(s, 0, len);
        if (role == CHIO__WORD_UNKNOWABLE || (i == 0 && role == CHIO__WORD_OPTION))
            return CHIO__PROG_ALL;
        named = chio__cmd_walk_step(&w, role);
    }
    return bits;
}

/* Each string of the array @v read again with the array's programs
 * @bits: "ProxyJump evil.com" after "-o" in ssh's argv, "http.proxy"
 * then its value in git's. 1 when each holds, else 0 with the reason. */
static int array_readings_allowed(domain_scan *ds, const chio_json *v, int bits)
{
    field_check fc;
    size_t i, n = chio_json_size(v), len;
    const char *s;

    for (i = 0; i < n; i++) {
        if ((s = chio_json_string(chio_json_at(v, i), &len)) == NULL)
            continue;
        fc.ds = ds;
        fc.s = s;
        fc.n = len;
        if (chio__leaf_field_hosts_in(s, len, bits | ds->call_extra, field_host_allowed, &fc) !=
            0) {
            chio__unquote_secret(ds->k, s, len, ds->c, ds->reason, ds->cap);
            ds->seen = 1;
            ds->bad = 1;
            return 0;
        }
    }
    return 1;
}

/* An argv passed as an array of words: the element after one that ends
 * with an option taking a host ("-x", "--proxy") is that option's value,
 * read whole as chio__leaf_field_hosts reads a value glued on or in the
 * same string (["-x", "2130706433"], ["--proxy", 3232235777]). Every
 * array of @v, at any depth of its members; 1 when each such value
 * holds, else 0 with the reason. */
static int option_values_allowed(domain_scan *ds, const chio_json *v)
{
    const chio_json *e, *next;
    field_check fc;
    char num[64];
    size_t i, n, len;
    const char *s;
    int programs = 0;

    if (chio_json_typeof(v) != CHIO_JSON_ARRAY && chio_json_typeof(v) != CHIO_JSON_OBJECT)
        return 1;
    n = chio_json_size(v);
    /* a bundle ("-sx") is read where the array could run curl or ssh:
     * ["env", "curl", "-sx", ...], ["-sx", ...] (review 23 hostfix) */
    if (chio_json_typeof(v) == CHIO_JSON_ARRAY) {
        programs = array_programs(v);
        if (programs != 0 && !array_readings_allowed(ds, v, programs))
            return 0;
    }
    for (i = 0; i < n; i++) {
        e = chio_json_at(v, i);
        if (!option_values_allowed(ds, e))
            return 0;
        if (chio_json_typeof(v) != CHIO_JSON_ARRAY || i + 1 >= n ||
            chio_json_typeof(e) != CHIO_JSON_STRING || (s = chio_json_string(e, &len)) == NULL ||
            !chio__leaf_takes_host(s, len, programs))
            continue;
        next = chio_json_at(v, i + 1);
        if (chio_json_typeof(next) == CHIO_JSON_STRING) {
            s = chio_json_string(next, &len);
        } else if (chio_json_typeof(next) == CHIO_JSON_INT ||
                   chio_json_typeof(next) == CHIO_JSON_UINT) {
            len = chio__number_text(next, num);
            s = num;
        } else {
            continue;
        }
        fc.ds = ds;
        fc.s = s;
        fc.n = len;
        if (chio__leaf_value_hosts(s, len, field_host_allowed, &fc) != 0) {
            chio__unquote_secret(ds->k, s, len, ds->c, ds->reason, ds->cap);
            ds->seen = 1;
            ds->bad = 1;
            return 0;
        }
    }
    return 1;
}

/* chio_reading_allowed() of @s (@n bytes) as a URL's host parser folds
 * it (chio__host_fold: fullwidth "ｅｖｉｌ．ｃｏｍ" and "evil。com" are
 * evil.com to a tool that puts them in a URL; review 12). Only for text
 * with a byte past ASCII. */
static int folded_reading_allowed(domain_scan *ds, const char *s, size_t n)
{
    char *f;
    size_t i, len;
    int ok;

    for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
        ;
    if (i == n)
        return 1;
    if ((f = malloc(n + 1)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    len = chio__host_fold(s, n, f);
    ok = chio_reading_allowed(ds, f, len);
    free(f);
    return ok;
}

/* chio_reading_allowed() of @s, folded too, and of each layer of its
 * percent-decoding (review 11, constraints L2): "evil%2ecom" under any
 * key is evil.com to a tool that puts it in a URL (WHATWG decodes a
 * host's escapes). 1 when every reading holds; deeper than
 * URL_DECODE_MAX layers, or out of memory, denies. */
static int chio_readings_allowed(domain_scan *ds, const char *s, size_t n)
{
    char *d = NULL;
    size_t len = n;
    int depth, ok = chio_reading_allowed(ds, s, n) && folded_reading_allowed(ds, s, n);

    for (depth = 0; ok && chio__has_escape(s, len); depth++) {
        char *next = depth < URL_DECODE_MAX ? malloc(len + 1) : NULL;
        if (next == NULL) {
            snprintf(ds->reason, ds->cap, "'%.*s' is percent-encoded too deep to be read",
                     (int)(n > 120 ? 120 : n), s);
            ok = 0;
            break;
        }
        len = chio__percent_decode(s, len, next);
        free(d);
        s = d = next;
        ok = chio_reading_allowed(ds, s, len) && folded_reading_allowed(ds, s, len);
    }
    free(d);
    return ok;
}

/* Is @s, blanks aside, a JSON object or array, whole, as a strict parser
 * reads it? Its first and last bytes alone ('{' or '[', '}' or ']') are
 * also a shell's brace group and tests ("{ curl -x 'evil.com:3128' URL;
 * }", "[ -d x ] && ... || [ 1 ]"; review 22 H5). A lenient reading is not
 * enough: JSONC takes "[1] // ; curl ..." as [1]. */
static int json_text(const char *s, size_t n)
{
    chio_json_doc *doc = NULL;
    size_t a = 0, b = n;

    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r'))
        b--;
    if (b - a < 2 || (s[a] != '{' && s[a] != '[') || (s[b - 1] != '}' && s[b - 1] != ']'))
        return 0;
    if (chio_json_parse(s + a, b - a, &doc, NULL) != 0)
        return 0;
    chio_json_doc_free(doc);
    return 1;
}

static int scan_domain_text(void *ctx, chio__key *key, const char *s, size_t n, int is_key);

/* JSON text (json_text) read as a shell reads it with its punctuation
 * outside strings ('{', '}', '[', ']', ',', ':') taken as blanks: a
 * shell runs a line of it, '[ 1,' then a newline and '"curl" ,
 * "-x127.0.0.1:18222" , "https://a.example/" ]', as curl with that
 * proxy, while its members are kept apart ('{"name":"report.pdf"}' is
 * the words name and report.pdf, no host). 1 when it holds, else 0 with
 * the reason. */
/* What JSON text's punctuation @c is read as: a newline (a command
 * segment's end, leaf_host_prog.c) between an object's members, a blank
 * between an array's elements (one argv); past 64 levels, a blank. */
static char json_gap(char c, size_t *depth, uint64_t *object)
{
    int in_object = *depth > 0 && *depth <= 64 && ((*object >> (*depth - 1)) & 1) != 0;

    if (c == '{' || c == '[') {
        if (*depth < 64) {
            if (c == '{')
                *object |= (uint64_t)1 << *depth;
            else
                *object &= ~((uint64_t)1 << *depth);
        }
        ++*depth;
        return c == '{' ? '\n' : ' ';
    }
    if (c == '}' || c == ']') {
        if (*depth > 0)
            --*depth;
        return c == '}' ? '\n' : ' ';
    }
    return in_object ? '\n' : ' ';
}

static int json_words_allowed(domain_scan *ds, const char *s, size_t n)
{
    char stack[512], *heap = NULL, *w;
    const char *r;
    size_t i, len, depth = 0;
    uint64_t object = 0;
    int ok, in = 0;

    if ((w = malloc(n + 1)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    for (i = 0; i < n; i++) {
        w[i] = s[i];
        if (in && s[i] == '\\' && i + 1 < n) {
            i++;
            w[i] = s[i];
            continue;
        }
        if (s[i] == '"')
            in = !in;
        else if (!in && strchr("{}[],:", s[i]) != NULL && s[i] != '\0')
            w[i] = json_gap(s[i], &depth, &object);
    }
    if ((r = chio__shell_reading(w, n, stack, sizeof(stack), &heap, &len)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        free(w);
        return 0;
    }
    ok = chio_readings_allowed(ds, r, len);
    free(heap);
    free(w);
    return ok;
}

/* A quoted word whose JSON is an array ('["curl","-x","H",URL]' that
 * python's subprocess.run(json.loads(..)) or "jq -r '.[]' | xargs curl"
 * runs) is an argv: the element after a host option is its value
 * (option_values_allowed), and its members are words apart
 * (json_words_allowed), as for a whole leaf of JSON text (review 23
 * hostfix H4). 1 when it holds, else 0 with the reason. */
static int quoted_array_allowed(domain_scan *ds, const char *s, size_t n)
{
    chio_json_doc *doc = NULL;
    size_t a = 0;
    int ok;

    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    if (a >= n || s[a] != '[' || chio_json_parse(s, n, &doc, NULL) != 0)
        return 1;
    ok = option_values_allowed(ds, chio_json_root(doc));
    chio_json_doc_free(doc);
    return ok && json_words_allowed(ds, s, n);
}

/* A word in single quotes whose text is JSON ('{"name":"report.pdf",
 * "size":1}', a body a command sends) is read as JSON held in a string
 * under @key, as an argument's JSON text is, and blanked in *@copy
 * (allocated on the first, @n bytes) for the shell reading, whose quote
 * removal would run its members into one word (review 22 M2). Quotes
 * are followed as a shell follows them ('\\', "..", $'..'). 1 when each
 * holds, else 0 with the reason. */
static int quoted_json_allowed(domain_scan *ds, chio__key *key, const char *s, size_t n,
                               char **copy)
{
    const char *close;
    size_t i = 0, q;
    int rc;

    *copy = NULL;
    while (i < n) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == '"' || (s[i] == '$' && i + 1 < n && s[i + 1] == '\'')) {
            char end = s[i] == '"' ? '"' : '\'';
            for (i += s[i] == '"' ? 1 : 2; i < n && s[i] != end; i++)
                if (s[i] == '\\')
                    i++;
            i++;
            continue;
        }
        if (s[i] != '\'' || (close = memchr(s + i + 1, '\'', n - i - 1)) == NULL) {
            i += s[i] == '\'' ? n : 1; /* an unclosed quote: the rest is in it */
            continue;
        }
        q = i;
        i = (size_t)(close - s) + 1;
        if (!json_text(s + q + 1, i - q - 2))
            continue;
        if (*copy == NULL) {
            if ((*copy = malloc(n)) == NULL) {
                snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'",
                         (int)(n > 120 ? 120 : n), s);
                return 0;
            }
            memcpy(*copy, s, n);
        }
        memset(*copy + q, ' ', i - q);
        ds->embedded++;
        rc = scan_domain_text(ds, key, s + q + 1, i - q - 2, 0);
        ds->embedded--;
        if (rc != 0 || !quoted_array_allowed(ds, s + q + 1, i - q - 2))
            return 0;
    }
    return 1;
}

/* chio_readings_allowed() of @s and, when it holds a quote, of the words
 * a shell hands a program: quotes removed ("curl -x
 * 'evil.com:3128'", "HTTPS_PROXY='evil.com:3128' curl"), and each $'..'
 * decoded (review 20 fixes F3: an option's value in quotes was read with
 * its quotes, and so was no host). */
static int leaf_readings_allowed(domain_scan *ds, chio__key *key, const char *s, size_t n)
{
    char stack[512], *heap = NULL, *ansi, *copy = NULL;
    const char *r, *t;
    size_t len;
    int ok;

    ds->json = n > 0 && memchr(s, '"', n) != NULL && json_text(s, n);
    ok = chio_readings_allowed(ds, s, n);
    ds->json = 0;
    if (!ok)
        return 0;
    /* quotes or a line continuation ("-x \\" then a newline; review 21
     * H2): a backslash alone is more often a Windows path
     * ("C:\\Users\\me\\x.txt") than a shell's escape; JSON text, whose
     * quotes removed would run its members into one word ('{"name":
     * "report.pdf","size":1}' names no host; review 21 M1), is read with
     * its members apart (json_words_allowed; review 22 H5) */
    if (memchr(s, '\'', n) == NULL && memchr(s, '"', n) == NULL &&
        memmem(s, n, "\\\n", 2) == NULL && memmem(s, n, "\\\r\n", 3) == NULL)
        return 1;
    if (json_text(s, n))
        return json_words_allowed(ds, s, n);
    if (!quoted_json_allowed(ds, key, s, n, &copy)) {
        free(copy);
        return 0;
    }
    t = copy != NULL ? copy : s;
    if ((r = chio__shell_reading(t, n, stack, sizeof(stack), &heap, &len)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        free(copy);
        return 0;
    }
    ok = (len == n && memcmp(r, s, n) == 0) || chio_readings_allowed(ds, r, len);
    free(heap);
    if (ok && memmem(s, n, "$'", 2) != NULL) {
        if ((ansi = malloc(n + 1)) == NULL) {
            snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n),
                     s);
            free(copy);
            return 0;
        }
        len = chio__shell_unquote_ansi(t, n, ansi);
        ok = chio_readings_allowed(ds, ansi, len);
        free(ansi);
    }
    free(copy);
    return ok;
}

/* Object keys are read too ({"requests": {"https://evil.com/": {...}}}); a
 * key is a URL when its text says so (chio__url_candidate without a key). */
static int scan_domain_scalar(void *ctx, chio__key *key, const char *s, size_t n);

/* A string that is itself JSON ("{\"host\": \"evil.com\"}", a body or
 * options a tool parses) is read as the arguments it holds would be,
 * under the leaf's key: its URLs and hosts are held to the constraint
 * (they do not count as the URL the arguments must name). One that
 * cannot be read unambiguously (a duplicate key, too many layers)
 * denies. */
static int scan_domain_text(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    domain_scan *ds = ctx;
    int seen = ds->seen, rc = 0;

    if (!is_key) {
        ds->embedded++;
        rc = chio__each_embedded(s, n, key, ds->embedded - 1, scan_domain_text, scan_domain_scalar,
                                 ds);
        ds->embedded--;
        if (rc == CHIO__EMBEDDED_AMBIGUOUS) {
            snprintf(ds->reason, ds->cap, "'%.*s' holds JSON that cannot be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
            ds->seen = 1;
            ds->bad = 1;
            return 1;
        }
        if (rc != 0)
            return rc;
        ds->seen = seen;
        /* chio reads each string leaf of the arguments whole: a string
         * inside a JSON text is no leaf to it ('{"name":"report.pdf"}'
         * names no host), and the embedded readings above keep their own
         * rules (URL-ish keys, URLs). */
        if (ds->embedded == 0 && !leaf_readings_allowed(ds, key, s, n)) {
            chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
            ds->seen = 1; /* denied: keep this reason */
            ds->bad = 1;
            return 1;
        }
    }
    return chio__domain_scan(ctx, key, s, n);
}

/* A number or boolean whose key names a URL or host is read as its JSON
 * text, as a bare host: a tool that builds the URL from it connects there
 * ("http://" + 2130706433 is 127.0.0.1). */
static int scan_domain_scalar(void *ctx, chio__key *key, const char *s, size_t n)
{
    if (!chio__key_names(key, CHIO__KEY_URL))
        return 0;
    return chio__domain_scan(ctx, key, s, n);
}

/* Can a host read from the arguments ever equal the domain_exact value
 * @v (@n bytes)? Every such host is canonical (host_allowed compares it
 * whole, ASCII): no scheme, port, path, user or query, no '*' or '\\', no
 * white space, control or non-ASCII character (a host is read in its
 * punycode form; the value is compared as written), no empty label, and a
 * ':' only inside an IPv6 literal's brackets. A value with one of those
 * matches no host
 * ("https://example.com", "example.com:443", "*.example.com", "a..b"),
 * whatever the call. One final dot is dropped first, as the check does. */
static int exact_can_match(const char *v, size_t n)
{
    size_t i;

    if (n > 0 && v[n - 1] == '.')
        n--;
    if (n == 0 || v[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("/@?#*\\", ch) != NULL)
            return 0;
        if (ch == '.' && i + 1 < n && v[i + 1] == '.')
            return 0;
        if (ch == ':' && v[0] != '[')
            return 0;
    }
    return 1;
}

int chio__domain_value_denies(const chio__constraint *c, char *reason, size_t cap)
{
    size_t n = strlen(c->str);

    if (n == 0 || n >= CHIO__HOST_MAX) {
        snprintf(reason, cap,
                 "%s value is empty or longer than a host name: no host matches it "
                 "(denied)",
                 c->type_name);
        return 1;
    }
    if (c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT && !exact_can_match(c->str, n)) {
        snprintf(reason, cap,
                 "domain_exact '%.100s' is not a host name as hosts are read (a scheme, port, "
                 "path, '*', white space, a non-ASCII character or an empty label): no host "
                 "matches it (denied)",
                 c->str);
        return 1;
    }
    /* Every host is read without a final dot, and a glob keeps its own
     * (as chio reads it): "*.example.com." matches no host. */
    if (c->kind == CHIO__CONSTRAINT_DOMAIN_GLOB && c->str[n - 1] == '.') {
        snprintf(reason, cap,
                 "domain_glob '%.100s' ends in a dot and hosts are read without their final dot: "
                 "no host matches it (denied)",
                 c->str);
        return 1;
    }
    return 0;
}

/* Review 24 hosts H3, M1: a name one leaf holds as an argument or
 * defines ("alias c=curl", "ln -s /usr/bin/curl c") may be run by
 * another leaf of the call ({"setup": .., "cmd": "c -sx H"}); and
 * config text is read where some leaf could run ssh, git, curl or wget.
 * acc[0]: the escaped names, acc[1]: every program, acc[2]: git named. */
static int call_programs_leaf(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    int *acc = ctx, escaped = 0;

    (void)key;
    if (is_key)
        return 0;
    acc[1] |= chio__leaf_programs_escaped(s, n, &escaped);
    acc[0] |= escaped;
    acc[1] |= escaped;
    if (!acc[2])
        acc[2] = chio__kv_names_git(s, n);
    return 0;
}

static int call_extra(const chio_json *args)
{
    int acc[3] = {0, 0, 0};

    chio__each_text(args, 0, call_programs_leaf, acc);
    return (acc[0] & CHIO__PROG_ALL) |
           (chio__kv_connects(acc[1], acc[2]) ? CHIO__SEGS_CONNECTS : 0);
}

int chio__domain_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap)
{
    domain_scan ds;
    size_t i, n = strlen(c->str);

    memset(&ds, 0, sizeof(ds));
    ds.k = k;
    ds.c = c;
    ds.reason = reason;
    ds.cap = cap;
    if (chio__domain_value_denies(c, reason, cap))
        return 0;
    /* The allowed host, read like the hosts it is compared with; an exact
     * value the host reader refuses is lowercased with one final dot
     * removed. A glob is lowercased only, as chio reads it: its final dot
     * stays, so "*.example.com." matches no host (every host is read
     * without one), as in chio; until review 48 the dot was dropped and
     * the glob allowed calls chio denies. */
    if (c->kind != CHIO__CONSTRAINT_DOMAIN_EXACT ||
        chio__host_canon(c->str, n, ds.want, sizeof(ds.want)) != 0) {
        for (i = 0; i < n; i++)
            ds.want[i] = (char)tolower((unsigned char)c->str[i]);
        ds.want[n] = '\0';
        if (c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT && ds.want[n - 1] == '.')
            ds.want[--n] = '\0';
    }
    ds.call_extra = call_extra(args);
    chio__each_text(args, 0, scan_domain_text, &ds);
    if (!ds.bad)
        chio__each_scalar(args, scan_domain_scalar, &ds);
    if (!ds.bad)
        option_values_allowed(&ds, args);
    if (!ds.seen)
        snprintf(reason, cap, "%s '%.100s': the arguments name no URL or host", c->type_name,
                 c->str);
    return ds.seen && !ds.bad;
}
