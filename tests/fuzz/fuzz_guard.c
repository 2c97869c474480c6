/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_guard.c - libFuzzer target for the forbidden_path guard
 * (src/kernel/guard_path*.c, guard_scan.c and the shell readings under
 * them), called as the kernel calls it, without the rest of an
 * evaluation. Internal: built with the library's -Isrc/... layers, to
 * reach the guard a kernel registered (kernel_internal.h).
 *
 * Byte 0 of an input picks the prefix set, byte 1 the argument shape, the
 * rest is text: up to its first space a directory D, after it a word V
 * (no space: V alone). The shapes are {"path": V}, {"cmd": "cat V"},
 * {"cmd": "grep -n x V | head"}, {"cmd": "cd D && cat V"},
 * {"cwd": D, "cmd": "cat V"}, {"cmd": "cd D; cp V /tmp/x"},
 * {"code": "open('D' + 'V')"}, {"code": "os.path.join('D', 'V')"},
 * {"code": "open(f'{\"D\"}{\"V\"}')"} and {"code":
 * "open('{1}{0}'.format('V', 'D'))"}, V and D escaped as JSON strings
 * (bytes past 0x7f as they are).
 *
 * For every input:
 *   - the guard returns 0 with a pass or a deny, or -1 only for arguments
 *     that are not JSON (which denies); its details are NUL-terminated
 *     within their buffer; a second call gives the same verdict and the
 *     same details;
 *   - soundness against a lexical oracle: when V, and D where the shape
 *     has one, are plain (letters, digits, '.', '_', '-' and '/', not
 *     opening with '-'), the path each names is resolved the way
 *     Python's posixpath.normpath does ("." dropped, ".." pops, none
 *     above "/"); a relative V without D from each of several working
 *     directories outside the prefixes (/w, /w/x, ... five deep); a
 *     relative D likewise. When some such path is at or under a prefix
 *     (ASCII case folded; a prefix written without a trailing '/' covers
 *     every path that starts with it) the guard must deny. Two readings
 *     are left out, both documented as left open (docs/security.md): a
 *     bare V from a relative D that names only the directory of a prefix
 *     ending in '/' ("cd .. && ls root" under /root/), and a relative D
 *     that climbs and then names a directory ("cd ../web"); for the
 *     code shapes, an absolute plain D joined with a plain V (concatenated,
 *     or as os.path.join joins them) at or under a prefix must deny.
 * Any violated invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chio/chio.h"
#include "kernel_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 2048
#define NSETS    3
#define NSHAPES  12

static const char *const sets[NSETS][3] = {
    {"/etc/", "/root/", NULL},
    {"/secret.key", NULL, NULL},
    {"/etc/shadow", "/root/.ssh/", NULL},
};
static const char *const cwds[] = {"/w", "/w/x", "/w/x/y", "/w/x/y/z", "/w/x/y/z/v"};

static chio_kernel *kernels[NSETS];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_guard: invariant violated: %s\n", what);
    abort();
}

static chio_kernel *kernel_for(size_t set)
{
    chio_kernel_config cfg;
    chio_error err;
    size_t n = 0;

    if (kernels[set] != NULL)
        return kernels[set];
    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    if (chio_keypair_from_seed_hex(
            "0707070707070707070707070707070707070707070707070707070707070707", 64, &cfg.keypair,
            &err) != 0)
        fail("the fixed seed is refused");
    cfg.policy_hash = "fuzz";
    cfg.ephemeral_store = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &kernels[set], &err) != 0)
        fail("an ephemeral kernel does not start");
    while (sets[set][n] != NULL)
        n++;
    if (chio_kernel_add_forbidden_path_guard(kernels[set], "paths", sets[set], n, &err) != 0)
        fail("the prefix set is refused");
    return kernels[set];
}

/* ---- the lexical oracle --------------------------------------------------------------------- */

static int plain(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '-')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/'))
            return 0;
    }
    return 1;
}

/* @base (absolute) joined with @rel, resolved lexically into @out (room
 * for strlen(base) + n + 2 bytes); @rel absolute replaces @base. */
static void resolve(const char *base, const char *rel, size_t n, char *out)
{
    char tmp[2 * TEXT_MAX + 64];
    size_t i = 0, o = 0, t;

    if (n > 0 && rel[0] == '/')
        t = (size_t)snprintf(tmp, sizeof(tmp), "%.*s", (int)n, rel);
    else
        t = (size_t)snprintf(tmp, sizeof(tmp), "%s/%.*s", base, (int)n, rel);
    out[o++] = '/';
    while (i < t) {
        size_t j = i;
        while (j < t && tmp[j] != '/')
            j++;
        if (j - i == 2 && tmp[i] == '.' && tmp[i + 1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* the separator before the popped segment */
        } else if (j > i && !(j - i == 1 && tmp[i] == '.')) {
            if (o > 1)
                out[o++] = '/';
            memcpy(out + o, tmp + i, j - i);
            o += j - i;
        }
        i = j + 1;
    }
    out[o] = '\0';
}

/* 1: @p is under a prefix, or at one written without a trailing '/';
 * 2: only at the directory a prefix ending in '/' names; 0: neither. */
static int under(size_t set, const char *p)
{
    size_t i, pl = strlen(p);
    int at_dir = 0;

    for (i = 0; sets[set][i] != NULL; i++) {
        const char *x = sets[set][i];
        size_t xl = strlen(x);
        if (x[xl - 1] == '/') { /* a directory: itself and below */
            if (pl >= xl && p[xl - 1] == '/' && strncasecmp(p, x, xl - 1) == 0)
                return 1;
            at_dir |= pl == xl - 1 && strncasecmp(p, x, xl - 1) == 0;
        } else if (pl >= xl && strncasecmp(p, x, xl) == 0) {
            return 1;
        }
    }
    return at_dir ? 2 : 0;
}

/* Does some working directory outside the prefixes, after "cd D" (D
 * NULL: none), make V a path under a prefix? Not when @bare_dir_open
 * and V names only the directory of a prefix ending in '/'. */
static int must_deny(size_t set, const char *d, size_t dn, const char *v, size_t vn,
                     int bare_dir_open)
{
    char dir[2 * TEXT_MAX + 64], p[4 * TEXT_MAX + 128];
    size_t c;
    int u;

    for (c = 0; c < sizeof(cwds) / sizeof(cwds[0]); c++) {
        if (d != NULL)
            resolve(cwds[c], d, dn, dir);
        else
            snprintf(dir, sizeof(dir), "%s", cwds[c]);
        resolve(dir, v, vn, p);
        if ((u = under(set, p)) == 1 || (u == 2 && !bare_dir_open))
            return 1;
    }
    return 0;
}

/* Left open by design (docs/security.md): a relative D that climbs and
 * then names a directory ("cd ../web": read as a directory at worst). */
static int climbs_then_names(const char *d, size_t dn)
{
    size_t i;
    int climbs = 0, named_after = 0;

    for (i = 0; i < dn;) {
        size_t j = i;
        while (j < dn && d[j] != '/')
            j++;
        if (j - i == 2 && d[i] == '.' && d[i + 1] == '.')
            climbs = 1;
        else if (climbs && j > i && !(j - i == 1 && d[i] == '.'))
            named_after = 1;
        i = j + 1;
    }
    return d[0] != '/' && named_after;
}

/* ---- the arguments -------------------------------------------------------------------------- */

static size_t put(char *out, size_t o, const char *s)
{
    size_t n = strlen(s);

    memcpy(out + o, s, n);
    return o + n;
}

/* @s as the inside of a JSON string */
static size_t put_escaped(char *out, size_t o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static size_t build(char *out, unsigned shape, const char *d, size_t dn, const char *v, size_t vn)
{
    static const char *const head[NSHAPES] = {"{\"path\":\"",
                                              "{\"cmd\":\"cat ",
                                              "{\"cmd\":\"grep -n x ",
                                              "{\"cmd\":\"cd ",
                                              "{\"cwd\":\"",
                                              "{\"cmd\":\"cd ",
                                              "{\"code\":\"open('",
                                              "{\"code\":\"os.path.join('",
                                              "{\"code\":\"open(f'{\\\"",
                                              "{\"code\":\"open('{1}{0}'.format('",
                                              "{\"code\":\"open('%(a)s%(b)s' % {'b': '",
                                              "{\"code\":\"open(f\\\"{\\\""};
    size_t o = put(out, 0, head[shape]);

    switch (shape) {
    case 0:
    case 1:
        o = put_escaped(out, o, v, vn);
        return put(out, o, "\"}");
    case 2:
        o = put_escaped(out, o, v, vn);
        return put(out, o, " | head\"}");
    case 3:
        o = put_escaped(out, o, d, dn);
        o = put(out, o, " && cat ");
        o = put_escaped(out, o, v, vn);
        return put(out, o, "\"}");
    case 4:
        o = put_escaped(out, o, d, dn);
        o = put(out, o, "\",\"cmd\":\"cat ");
        o = put_escaped(out, o, v, vn);
        return put(out, o, "\"}");
    case 5:
        o = put_escaped(out, o, d, dn);
        o = put(out, o, "; cp ");
        o = put_escaped(out, o, v, vn);
        return put(out, o, " /tmp/x\"}");
    case 8: /* an f-string interpolating two literals */
        o = put_escaped(out, o, d, dn);
        o = put(out, o, "\\\"}{\\\"");
        o = put_escaped(out, o, v, vn);
        return put(out, o, "\\\"}')\"}");
    case 9: /* a format filled by index */
        o = put_escaped(out, o, v, vn);
        o = put(out, o, "', '");
        o = put_escaped(out, o, d, dn);
        return put(out, o, "'))\"}");
    case 11: /* Python 3.12: an f-string nesting its own quote */
        o = put_escaped(out, o, d, dn);
        o = put(out, o, "\\\"}{\\\"");
        o = put_escaped(out, o, v, vn);
        return put(out, o, "\\\"}\\\")\"}");
    case 10: /* a format filled by name from a dict */
        o = put_escaped(out, o, v, vn);
        o = put(out, o, "', 'a': '");
        o = put_escaped(out, o, d, dn);
        return put(out, o, "'})\"}");
    default: /* code that joins two literals: concatenated, or a path join */
        o = put_escaped(out, o, d, dn);
        o = put(out, o, shape == 6 ? "' + '" : "', '");
        o = put_escaped(out, o, v, vn);
        return put(out, o, "')\"}");
    }
}

/* Shapes 6 to 11: open('D' + 'V'), f'{"D"}{"V"}', '{1}{0}'.format('V',
 * 'D'), '%(a)s%(b)s' % {'b': 'V', 'a': 'D'} and f"{"D"}{"V"}" name D and V
 * concatenated, os.path.join('D', 'V') V when it is
 * absolute, else D, '/' and V. When D is absolute and both are plain, a
 * path at or under a prefix must deny. */
static void code_oracle(size_t set, unsigned shape, const char *d, size_t dn, const char *v,
                        size_t vn, chio_guard_verdict verdict, const char *args)
{
    char joined[2 * TEXT_MAX + 8], p[2 * TEXT_MAX + 64];

    if (verdict != CHIO_GUARD_PASS || dn == 0 || d[0] != '/' || !plain(d, dn) || !plain(v, vn))
        return;
    if (shape == 7 && v[0] == '/')
        snprintf(joined, sizeof(joined), "%.*s", (int)vn, v);
    else
        snprintf(joined, sizeof(joined), "%.*s%s%.*s", (int)dn, d, shape == 7 ? "/" : "", (int)vn,
                 v);
    resolve("/", joined, strlen(joined), p);
    if (under(set, p) != 0) {
        fprintf(stderr, "fuzz_guard: passed: %s\n", args);
        fail("literals joined into a path under a prefix passed");
    }
}

static int call_guard(chio_kernel *k, const char *args, size_t n, chio_guard_verdict *v,
                      char *details, size_t cap)
{
    chio__guard_reg *g = &k->med.guards[k->med.nguards - 1];
    chio_guard_input in;

    memset(&in, 0, sizeof(in));
    in.arguments_json = args;
    in.arguments_len = n;
    *v = CHIO_GUARD_PASS;
    memset(details, 0x5a, cap);
    details[cap - 1] = '\0';
    details[0] = '\0';
    /* a built-in guard is handed its own registration (registry.c) */
    return g->fn(g->builtin ? (void *)g : g->user, &in, v, details, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char args[6 * TEXT_MAX + 128];
    char d1[512], d2[512];
    const char *text, *sp, *d = NULL, *v;
    size_t set, n, dn = 0, vn, len;
    unsigned shape;
    chio_guard_verdict v1, v2;
    chio_kernel *k;
    int rc1, rc2, bare_dir;

    if (size < 2)
        return 0;
    set = data[0] % NSETS;
    shape = data[1] % NSHAPES;
    text = (const char *)data + 2;
    n = size - 2 > TEXT_MAX ? TEXT_MAX : size - 2;
    v = text;
    vn = n;
    if (shape >= 3 && (sp = memchr(text, ' ', n)) != NULL) {
        d = text;
        dn = (size_t)(sp - text);
        v = sp + 1;
        vn = n - dn - 1;
    } else if (shape >= 3) {
        d = "/w";
        dn = 2;
    }
    k = kernel_for(set);
    len = build(args, shape, d, dn, v, vn);
    rc1 = call_guard(k, args, len, &v1, d1, sizeof(d1));
    rc2 = call_guard(k, args, len, &v2, d2, sizeof(d2));
    if (rc1 != 0 && rc1 != -1)
        fail("the guard returned neither 0 nor -1");
    if (rc1 == -1) {
        chio_json_doc *doc = NULL;
        if (chio_json_parse(args, len, &doc, NULL) == 0)
            fail("the guard failed on arguments that are JSON");
        return 0;
    }
    if (v1 != CHIO_GUARD_PASS && v1 != CHIO_GUARD_DENY)
        fail("the guard's verdict is neither pass nor deny");
    if (memchr(d1, '\0', sizeof(d1)) == NULL || d1[0] == '\0')
        fail("the guard's details are empty or not NUL-terminated");
    if (rc2 != rc1 || v2 != v1 || strcmp(d1, d2) != 0)
        fail("the guard answered the same arguments two ways");
    if (shape >= 6) {
        code_oracle(set, shape, d, dn, v, vn, v1, args);
        return 0;
    }
    /* left open (docs/security.md): a bare V naming a prefix's directory
     * from a relative D ("cd .. && ls root" under /root/) */
    bare_dir = d != NULL && d[0] != '/' && memchr(v, '/', vn) == NULL;
    if (v1 == CHIO_GUARD_PASS && plain(v, vn) && (d == NULL || plain(d, dn)) &&
        !(d != NULL && climbs_then_names(d, dn)) && must_deny(set, d, dn, v, vn, bare_dir)) {
        fprintf(stderr, "fuzz_guard: passed: %s\n", args);
        fail("a plain path under a prefix passed");
    }
    return 0;
}
