/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev31_paths.c - review 31: a differential test of how
 * the kernel reads paths. A seeded generator writes tricky path strings
 * (dot segments, repeated and encoded separators, backslashes, look-alike
 * dots and slashes, file: URLs, paths in running text and flags, in keys,
 * arrays and nested objects); an independent oracle resolves each the way
 * a POSIX tool would (open(2): only '/' separates, ".." at the root stays
 * there, relative paths from the working directory) after the decodings a
 * tool plausibly applies (percent-decoding once, a file: URL's path,
 * splitting words and option values). Every call the kernel allows must
 * resolve, in every such reading, under the path_prefix grant and outside
 * the forbidden_path prefixes, these read literally (kernel.md: "deny when
 * any string argument starts with one"). The named tests are the holes the
 * differential found, each a row that was allowed before its fix.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW   1710000300u
#define ROOT  "/workspace"
#define CASES 6000
#define MAXS  512 /* bytes of one generated path */
#define MAXR  48  /* readings of one value */

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* The forbidden prefixes: a directory, and two that end inside a name
 * (every key file "id_*", and "shadow" with its backups "shadow-"). */
static const char *const forbidden[] = {"/etc/", "/root/.ssh/id_", "/var/lib/shadow"};
#define NFORBIDDEN (sizeof(forbidden) / sizeof(forbidden[0]))

/* ---- the oracle: what a POSIX tool opens ----------------------------------------------- */

/* @s (@n bytes) resolved lexically as open(2) does from working directory
 * @cwd: only '/' separates, "" and "." stay, ".." goes up (at "/" it stays
 * "/"). Writes an absolute path to @out (room for MAXS * 2). */
static void posix_resolve(const char *s, size_t n, const char *cwd, char *out)
{
    size_t o = 0, i = 0;

    if (n == 0 || s[0] != '/') {
        o = strlen(cwd);
        memcpy(out, cwd, o);
        if (o == 1)
            o = 0; /* "/": segments add their own '/' */
    }
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (j - i > 1 || (j - i == 1 && s[i] != '.')) {
            out[o++] = '/';
            memcpy(out + o, s + i, j - i);
            o += j - i;
        }
        i = j + 1;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Every %XX of @s decoded once, into @out. */
static void pct_decode(const char *s, char *out)
{
    size_t o = 0;

    for (; *s; s++) {
        if (s[0] == '%' && hexv(s[1]) >= 0 && hexv(s[2]) >= 0) {
            out[o++] = (char)(hexv(s[1]) * 16 + hexv(s[2]));
            s += 2;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

typedef struct readings {
    char v[MAXR][MAXS * 2];
    size_t n;
} readings;

static void add(readings *r, const char *s)
{
    if (r->n < MAXR)
        snprintf(r->v[r->n++], MAXS * 2, "%s", s);
}

/* A local file: URL's path, the way a WHATWG parser takes it ('\' a slash,
 * host empty or localhost, query and fragment dropped, then decoded) and
 * the way a tool that strips "file://" does (all the rest, decoded). */
static void file_readings(readings *r, const char *s)
{
    char path[MAXS * 2], dec[MAXS * 2], *q;
    const char *p = s + 5, *h;
    size_t i;

    if ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\')) {
        for (h = p + 2; *h && !strchr("/\\?#", *h); h++)
            ;
        if (h > p + 2 && !(h - (p + 2) == 9 && strncasecmp(p + 2, "localhost", 9) == 0))
            return; /* another host: nothing local */
        if (p[0] == '/' && p[1] == '/') {
            pct_decode(p + 2, dec);
            add(r, dec); /* "file://" stripped: "//x" read from its host on */
        }
        p = h;
    }
    snprintf(path, sizeof(path), "%s", p);
    if ((q = strpbrk(path, "?#")) != NULL)
        *q = '\0';
    for (i = strlen(path); i > 0 && path[i - 1] == ' '; i--)
        path[i - 1] = '\0'; /* a URL parser drops trailing spaces */
    for (i = 0; path[i]; i++)
        if (path[i] == '\\')
            path[i] = '/';
    pct_decode(path, dec + 1);
    dec[0] = '/'; /* a file URL's path is absolute: "file:etc" is "/etc" */
    add(r, dec[1] == '/' ? dec + 1 : dec);
}

/* The readings of one word: as written, decoded once, as a file: URL. */
static void word_readings(readings *r, const char *w)
{
    char dec[MAXS * 2];

    while (*w == ' ')
        w++;
    if (*w == '\0')
        return;
    if (strncasecmp(w, "file:", 5) == 0) {
        file_readings(r, w);
        return;
    }
    add(r, w);
    pct_decode(w, dec);
    if (strcmp(dec, w) != 0)
        add(r, dec);
    if (w[0] == '-' && w[1] == 'o' && w[2] != '\0')
        word_readings(r, w + 2); /* a short option's glued value */
}

/* Every path a tool could open given @v: the whole value, and each of its
 * words (split at ' ', and at '=' as an option's value) as written and
 * decoded first. */
static void oracle_readings(readings *r, const char *v)
{
    char buf[MAXS * 2], *tok, *save;
    int pass;

    r->n = 0;
    word_readings(r, v);
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0)
            snprintf(buf, sizeof(buf), "%s", v);
        else
            pct_decode(v, buf);
        for (tok = strtok_r(buf, " =,", &save); tok != NULL; tok = strtok_r(NULL, " =,", &save))
            word_readings(r, tok);
    }
}

/* Does @res (resolved) lie at or under @root? */
static int under(const char *res, const char *root)
{
    size_t n = strlen(root);

    return strncmp(res, root, n) == 0 && (res[n] == '\0' || res[n] == '/');
}

/* Where a reading of @v leaves the grant: the first reading that resolves
 * outside @root (relative ones from @root itself, a tool started there;
 * "~" is a home directory), or NULL. @relative: the grant is the relative
 * prefix ".", so an absolute reading is outside too. */
static const char *outside_root(const char *v, const char *root, int relative, readings *r,
                                char *res)
{
    size_t i;

    oracle_readings(r, v);
    for (i = 0; i < r->n; i++) {
        snprintf(res, MAXS * 2, "%s", r->v[i]);
        if (r->v[i][0] == '~' || (relative && r->v[i][0] == '/'))
            return r->v[i];
        posix_resolve(r->v[i], strlen(r->v[i]), root, res);
        if (!under(res, root))
            return r->v[i];
    }
    return NULL;
}

/* The first absolute reading of @v that resolves to a path starting with
 * a forbidden prefix (byte for byte, kernel.md's literal rule), or NULL. */
static const char *forbidden_reading(const char *v, readings *r, char *res)
{
    size_t i, j;

    oracle_readings(r, v);
    for (i = 0; i < r->n; i++) {
        if (r->v[i][0] != '/')
            continue; /* the tool's working directory is not known */
        posix_resolve(r->v[i], strlen(r->v[i]), "/", res);
        for (j = 0; j < NFORBIDDEN; j++)
            if (strncmp(res, forbidden[j], strlen(forbidden[j])) == 0)
                return r->v[i];
    }
    return NULL;
}

/* ---- the generator ---------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

#define PICK(s, a) ((a)[rng_next(s) % (sizeof(a) / sizeof((a)[0]))])

static const char *const heads[] = {
    "",  "",     "",       "",   "file://", "file:",   "file://localhost",
    " ", "cat ", "--out=", "-o", "x,",      "FILE://", "file:\\\\"};
static const char *const starts[] = {
    "/",      "/",        "/",           "//",        "./",         "",       "\\",
    "~/",     "",         "a/",          "./b/",      "",           ROOT "/", ROOT "/",
    ROOT "/", ROOT "/a/", "/root/.ssh/", "/var/lib/", "/x/../etc/", "/."};
/* clang-format off */
static const char *const segs[] = {
    "workspace", "workspace", "workspace", "etc", "passwd", "root", ".ssh", "id_rsa", "var",
    "lib", "shadow-", "shadow", "a", "b", ".", "..", "..", "", "%2e%2e", "%2e", "%2E%2e",
    "..%2f..", "a\\..", "..\\..", "x\\..\\..", "etc\\..\\workspace",
    "\xe2\x80\xa5", "\xef\xbc\x8e\xef\xbc\x8e", "ETC", "etc%2fpasswd", "%252e%252e", "id_",
    "workspace2", "...", "..a", "a b", "%5c..%5C..", "..%5c", "~root", "%7e", "\xe2\x88\x95",
    ".\xe2\x80\x8b.", "a;b", "$(x)", "a\"b", "a'b"};
/* clang-format on */
static const char *const seps[] = {"/",   "/",  "/",   "/",   "//",
                                   "/./", "\\", "%2f", "%2F", "\xef\xbc\x8f"};
static const char *const tails[] = {"",   "",   "", "/", "?q", "#f", " ", "?/../../etc/passwd",
                                    "/.", "/.."};

/* One tricky path, from @seed's stream, into @out (MAXS bytes). */
static void gen_path(uint64_t *seed, char *out)
{
    size_t nseg = 1 + rng_next(seed) % 6, i;
    int o = snprintf(out, MAXS, "%s%s", PICK(seed, heads), PICK(seed, starts));

    for (i = 0; i < nseg && o < MAXS - 64; i++)
        o += snprintf(out + o, (size_t)(MAXS - o), "%s%s", i ? PICK(seed, seps) : "",
                      PICK(seed, segs));
    snprintf(out + o, (size_t)(MAXS - o), "%s", PICK(seed, tails));
}

/* @s as a JSON string (quotes included) into @out. */
static void json_str(const char *s, char *out)
{
    size_t o = 0;

    out[o++] = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* Arguments placing the path @v somewhere a tool reads it. */
static void gen_args(uint64_t *seed, const char *v, char *out, size_t cap)
{
    char js[MAXS * 2 + 4];

    json_str(v, js);
    switch (rng_next(seed) % 5) {
    case 0:
        snprintf(out, cap, "{\"path\":%s}", js);
        break;
    case 1:
        snprintf(out, cap, "{\"x\":%s}", js);
        break;
    case 2:
        snprintf(out, cap, "{\"files\":{%s:\"data\"}}", js);
        break;
    case 3:
        snprintf(out, cap, "{\"list\":[\"" ROOT "/ok\",%s]}", js);
        break;
    default:
        snprintf(out, cap, "{\"a\":{\"b\":[{\"target\":%s}]}}", js);
        break;
    }
}

/* ---- the kernel's side ------------------------------------------------------------------ */

typedef struct bench {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    const char *cap;
} bench;

/* A kernel serving srv/t, with one session whose grant holds
 * @constraints; with a forbidden_path guard on @prefixes (@n) when n > 0. */
static void bench_open(bench *b, const char *cap, const char *constraints,
                       const char *const *prefixes, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_error err;

    b->k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    b->cap = cap;
    chio_error_init(&err);
    if (n > 0)
        cr_assert_eq(chio_kernel_add_forbidden_path_guard(b->k, "Paths", prefixes, n, &err), 0,
                     "%s", err.message);
    kt_grant_session(b->k, NOW, cap, constraints, b->sid);
}

/* The verdict on srv/t called with @args; every call leaves a receipt. */
static chio_verdict bench_call(bench *b, const char *args, chio_code *code)
{
    chio_response r;
    chio_error err;
    chio_call c;
    chio_verdict v;

    kt_grant_call(&c, b->sid, b->cap, args, strlen(args));
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(b->k, &c, &r, &err), 0, "%s: %s", args, err.message);
    cr_assert_not_null(r.receipt, "%s: no receipt", args);
    v = r.verdict;
    *code = r.code;
    chio_response_destroy(&r);
    return v;
}

#define PP_ROOT "{\"type\":\"path_prefix\",\"value\":\"" ROOT "\"}"
#define PP_REL  "{\"type\":\"path_prefix\",\"value\":\".\"}"

/* ---- the differential ------------------------------------------------------------------- */

/* A number from the environment (to explore more seeds and cases by
 * hand: CHIO_REV31_SEED, CHIO_REV31_CASES), or @dflt. */
static uint64_t env_or(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : dflt;
}

/* CASES generated paths (seed fixed, so a failure names a reproducible
 * row): each allowed call must stay inside the grant and outside the
 * forbidden prefixes in every reading the oracle makes. */
Test(rev31_paths, generated_paths_allowed_only_inside_the_grant_and_outside_the_prefixes)
{
    static readings r;
    static char res[MAXS * 2];
    bench pp, rel, fp;
    uint64_t seed = env_or("CHIO_REV31_SEED", 0x31c0ffee);
    char v[MAXS], args[MAXS * 3];
    const char *bad;
    chio_code code;
    size_t i, allowed_pp = 0, allowed_rel = 0, allowed_fp = 0;
    size_t cases = (size_t)env_or("CHIO_REV31_CASES", CASES);

    bench_open(&pp, "cap-rev31-pp", PP_ROOT, NULL, 0);
    bench_open(&rel, "cap-rev31-rel", PP_REL, NULL, 0);
    bench_open(&fp, "cap-rev31-fp", "", forbidden, NFORBIDDEN);

    for (i = 0; i < cases; i++) {
        gen_path(&seed, v);
        gen_args(&seed, v, args, sizeof(args));
        if (bench_call(&pp, args, &code) == CHIO_VERDICT_ALLOW) {
            allowed_pp++;
            bad = outside_root(v, ROOT, 0, &r, res);
            cr_expect_null(bad, "case %zu: path_prefix " ROOT " allowed %s, read as '%s' -> %s", i,
                           args, bad ? bad : "", res);
        }
        if (bench_call(&rel, args, &code) == CHIO_VERDICT_ALLOW) {
            allowed_rel++;
            bad = outside_root(v, "/cwd", 1, &r, res);
            cr_expect_null(bad, "case %zu: path_prefix . allowed %s, read as '%s' -> %s", i, args,
                           bad ? bad : "", res);
        }
        if (bench_call(&fp, args, &code) == CHIO_VERDICT_ALLOW) {
            allowed_fp++;
            bad = forbidden_reading(v, &r, res);
            cr_expect_null(bad, "case %zu: forbidden_path allowed %s, read as '%s' -> %s", i, args,
                           bad ? bad : "", res);
        } else {
            cr_expect_eq(code, CHIO_CODE_GUARD_DENIED, "case %zu: %s", i, args);
        }
    }
    /* the generator must exercise both sides, not only denials */
    cr_expect_gt(allowed_pp, cases / 20, "only %zu path_prefix allows", allowed_pp);
    cr_expect_gt(allowed_rel, cases / 20, "only %zu relative path_prefix allows", allowed_rel);
    cr_expect_gt(allowed_fp, cases / 5, "only %zu forbidden_path allows", allowed_fp);
    chio_kernel_free(pp.k);
    chio_kernel_free(rel.k);
    chio_kernel_free(fp.k);
}

/* The oracle itself agrees with the file system: realpath(3) of paths
 * made of directories that exist, a backslash name among them. */
Test(rev31_paths, the_oracle_resolves_as_the_file_system_does)
{
    static const char *const rel[] = {"w/a/../b",   "w//a/./",  "w/a\\..\\b/..",
                                      "w/a\\..\\b", "w/../w/a", "w/a/../../w"};
    char base[] = "/tmp/rev31-paths-XXXXXX", real[PATH_MAX], res[MAXS * 2];
    char realbase[PATH_MAX], p[PATH_MAX + 64];
    size_t i;

    cr_assert_not_null(mkdtemp(base));
    cr_assert_not_null(realpath(base, realbase));
    snprintf(p, sizeof(p), "%s/w", base);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/w/a", base);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/w/b", base);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/w/a\\..\\b", base); /* one name, backslashes and all */
    cr_assert_eq(mkdir(p, 0700), 0);
    for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", realbase, rel[i]);
        cr_assert_not_null(realpath(p, real), "%s", p);
        posix_resolve(p, strlen(p), "/", res);
        cr_expect_str_eq(res, real, "%s", rel[i]);
    }
    snprintf(p, sizeof(p), "%s/w/a\\..\\b", base);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/w/a", base);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/w/b", base);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/w", base);
    rmdir(p);
    rmdir(base);
}

/* ---- the holes the differential found ---------------------------------------------------- */

typedef struct row {
    const char *grant; /* the grant's constraint, or NULL: the forbidden_path guard */
    const char *args;
    int allow;
} row;

/* Each row through the real pipeline: allowed, or denied with a receipt
 * (constraint_violated under a grant, guard_denied under the guard). */
static void run_rows(const row *rows, size_t n)
{
    char cap[48];
    chio_code code;
    chio_verdict v;
    size_t i;

    for (i = 0; i < n; i++) {
        bench b;
        snprintf(cap, sizeof(cap), "cap-rev31-row-%zu", i);
        bench_open(&b, cap, rows[i].grant ? rows[i].grant : "", forbidden,
                   rows[i].grant ? 0 : NFORBIDDEN);
        v = bench_call(&b, rows[i].args, &code);
        if (rows[i].allow)
            cr_expect_eq(v, CHIO_VERDICT_ALLOW, "row %zu (%s): denied, %s", i, rows[i].args,
                         chio_code_name(code));
        else
            cr_expect(v == CHIO_VERDICT_DENY &&
                          code == (rows[i].grant ? CHIO_CODE_CONSTRAINT_VIOLATED
                                                 : CHIO_CODE_GUARD_DENIED),
                      "row %zu (%s): verdict %d, %s", i, rows[i].args, v, chio_code_name(code));
        chio_kernel_free(b.k);
    }
}

/* open(2) reads a backslash as part of a name: "/etc\..\workspace/x" is a
 * file in the directory "etc\..\workspace" at the root, outside /workspace,
 * and "/x/../etc/a\..\..\b" a file in /etc. The kernel read '\' only as a
 * separator (Windows, URL parsers); rows 0-2 and 5 were allowed before
 * (3 and 4 were denied through their as-written and shell readings). */
Test(rev31_paths, a_backslash_is_part_of_a_name_to_open)
{
    static const row rows[] = {
        {PP_ROOT, "{\"path\":\"/etc\\\\..\\\\workspace/x\"}", 0},
        {PP_ROOT, "{\"path\":\"/a\\\\../workspace/x\"}", 0},
        {PP_ROOT, "{\"path\":\"file:///etc\\\\..\\\\workspace/x\"}", 0},
        {PP_ROOT, "{\"path\":\"/etc%5c..%5cworkspace/x\"}", 0},
        {NULL, "{\"path\":\"/x/../etc/a\\\\..\\\\..\\\\b\"}", 0},
        {NULL, "{\"x\":\"-o/etc\\\\..\\\\w b/../etc/passwd\"}", 0},
        {PP_ROOT, "{\"path\":\"/workspace/a\\\\b\"}", 1},
        {PP_ROOT, "{\"path\":\"/workspace/a\\\\..\\\\b\"}", 1},
        {NULL, "{\"path\":\"/tmp/a\\\\b\"}", 1},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* kernel.md: "deny when any string argument starts with one". A prefix
 * that ends inside a name ("/root/.ssh/id_", "/var/lib/shadow", "/etc")
 * denies "/root/.ssh/id_rsa", "/var/lib/shadow-" and "/etcetera" as
 * written, but the guard compared other spellings by whole segments, so
 * "/root//.ssh/id_rsa" passed. Rows 0-4 were allowed before. */
Test(rev31_paths, a_prefix_ending_inside_a_name_covers_every_spelling)
{
    static const char *const prefixes[] = {"/root/.ssh/id_", "/var/lib/shadow", "/etc"};
    static const char *const args[] = {"{\"path\":\"/root//.ssh/id_rsa\"}",
                                       "{\"path\":\"/root/./.ssh/id_ed25519\"}",
                                       "{\"path\":\"file:///var/lib/shadow-\"}",
                                       "{\"x\":\"cat /var/lib/./shadow.bak\"}",
                                       "{\"path\":\"/./etcetera\"}",
                                       "{\"path\":\"/root/.ssh/known_hosts\"}",
                                       "{\"path\":\"/var/lib/other\"}",
                                       "{\"path\":\"/et\"}"};
    static const int allow[] = {0, 0, 0, 0, 0, 1, 1, 1};
    chio_code code;
    chio_verdict v;
    bench b;
    size_t i;

    bench_open(&b, "cap-rev31-open", "", prefixes, 3);
    for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        v = bench_call(&b, args[i], &code);
        if (allow[i])
            cr_expect_eq(v, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, args[i],
                         chio_code_name(code));
        else
            cr_expect_eq(code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, args[i],
                         chio_code_name(code));
    }
    chio_kernel_free(b.k);
}

/* Spaces at one end only: a tool that strips "file://" keeps the trailing
 * one ("file:///workspace " is the directory "workspace " at the root;
 * "file:///x/../etc/.. " the name ".. " in /etc), lstrip() the leading
 * one. The kernel trimmed both ends together. Rows 0-3 were allowed
 * before. */
Test(rev31_paths, spaces_trimmed_at_one_end_only_are_read_too)
{
    static const row rows[] = {
        {PP_ROOT, "{\"path\":\"file:///workspace \"}", 0},
        {NULL, "{\"path\":\"file:///x/../etc/.. \"}", 0},
        {NULL, "{\"x\":\" /x/../etc/.. \"}", 0},
        {NULL, "{\"x\":\" /.a b/%2e?/../../etc/passwd\"}", 0},
        {PP_ROOT, "{\"path\":\"file:///workspace/a \"}", 1},
        {NULL, "{\"x\":\" /tmp/a \"}", 1},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Relative paths that leave where they start: a word of a path value
 * that does not start like a path ("d/../../etc" after "/workspace/a/b/c",
 * to a tool in /workspace that splits words), ".." as a word of its own,
 * "~/.." (a home's parent) and a short option's glued value ("-o../x",
 * "-o/etc/passwd" as the whole value) were not read. Rows 0-7 were
 * allowed before. */
Test(rev31_paths, relative_words_and_options_that_climb_are_read)
{
    static const row rows[] = {
        {PP_ROOT, "{\"cmd\":\"/workspace/a/b/c d/../../etc\"}", 0},
        {PP_ROOT, "{\"list\":[\"/workspace/ok\",\"cat ..\"]}", 0},
        {PP_ROOT, "{\"path\":\"/workspace/a\",\"x\":\"--out=..\"}", 0},
        {PP_REL, "{\"path\":\"~/../x\"}", 0},
        {PP_REL, "{\"x\":\"cat ~/../etc/passwd\"}", 0},
        {PP_REL, "{\"path\":\"-o../etc/passwd\"}", 0},
        {PP_REL, "{\"path\":\"-o/etc/passwd\"}", 0},
        {PP_REL, "{\"path\":\"-o~/../x\"}", 0},
        {PP_REL, "{\"path\":\"-o./a\"}", 1},
        {PP_REL, "{\"path\":\"a/b\",\"q\":\"wait.. then\"}", 1},
        {PP_ROOT, "{\"path\":\"/workspace/my notes/x\"}", 1},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Found with a wider generator: a home named without a slash ("cat
 * ~root", "--out=~root", "-o%7e" decoded), a long option's value read
 * whole ("--out=/a;b/root?/../../etc/passwd" is one path to getopt), a
 * file URL's literal '\' a slash but its "%5c" part of a name
 * ("file:/etc\..%5c/" is the name "..\" in /etc), and a path split only
 * at spaces or only at one list separator, which the word breaks at ';'
 * and '"' cut apart. Rows 0-6 were allowed before. */
Test(rev31_paths, homes_options_and_list_items_are_read_whole)
{
    static const row rows[] = {
        {PP_ROOT, "{\"list\":[\"/workspace/ok\",\"cat ~root\"]}", 0},
        {PP_REL, "{\"files\":{\"--out=~root\":\"data\"}}", 0},
        {PP_ROOT, "{\"list\":[\"/workspace/ok\",\"-o%7e\"]}", 0},
        {NULL, "{\"x\":\"--out=/a;b/root?/../../etc/passwd\"}", 0},
        {NULL, "{\"x\":\"file:/etc\\\\..%5c/\"}", 0},
        {NULL, "{\"x\":\"cat /.var\\\\a;b/./workspace%2f..?/../../etc/passwd\"}", 0},
        {NULL, "{\"x\":\"x,/a\\\"b\\\\~r\\\\a;b/a\\\\etc\\\\..\\\\w%2fr?/../../etc/passwd\"}", 0},
        {PP_REL, "{\"path\":\"a\",\"q\":\"x~y\"}", 1},
        {PP_ROOT, "{\"path\":\"/workspace/Photos (2024)/a.jpg\"}", 1},
        {NULL, "{\"x\":\"--out=/tmp/a;b\"}", 1},
    };

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}
