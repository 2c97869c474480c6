/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev58_join.c - review 17 (F2): the forbidden_path
 * guard's reading of a separator joining a list's items and of a relative
 * literal resolved against a file: base (kernel/guard_path_join_list.c).
 * '/'.join(['', 'etc', 'shadow']) with a list (the tuple was read),
 * os.sep.join([...]), '/etc/'.join(['', 'shadow']), JavaScript's
 * ['', 'etc', 'shadow'].join('/'), os.path.join('/etc', *['shadow']),
 * new URL('shadow', 'file:///etc/') and urljoin('file:///etc/', 'shadow')
 * open /etc/shadow, and each was allowed. Code that joins harmless
 * strings the same ways stays allowed, and so does a join whose real
 * value is not a path ('-'.join(['', 'etc', 'shadow'])). The last test
 * holds the CPU time of hostile shapes of these forms to a ratio of
 * sizes, as rev57_guard_cost does.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* {"cmd":"<@v JSON-escaped>"}, malloc'ed. */
static char *cmd_args(const char *v)
{
    size_t n = strlen(v), o = 0, i;
    char *a = malloc(2 * n + 16);

    cr_assert_not_null(a);
    o += (size_t)sprintf(a, "{\"cmd\":\"");
    for (i = 0; i < n; i++) {
        if (v[i] == '\n') {
            a[o++] = '\\';
            a[o++] = 'n';
            continue;
        }
        if (v[i] == '\\' || v[i] == '"')
            a[o++] = '\\';
        a[o++] = v[i];
    }
    memcpy(a + o, "\"}", 3);
    return a;
}

/* Each value of @rows under "cmd", against the prefixes of review 17's
 * reproducer; @denied[i] says whether row i is denied. */
static void run_rows(const char *const *rows, const int *denied, size_t n)
{
    static const char *const prefixes[] = {"/root/.ssh/", "/etc/shadow"};
    char **args = calloc(n, sizeof(*args));
    size_t i;

    cr_assert_not_null(args);
    for (i = 0; i < n; i++)
        args[i] = cmd_args(rows[i]);
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), (const char *const *)args, denied, n);
    for (i = 0; i < n; i++)
        free(args[i]);
    free(args);
}

/* The separator join of a list: review 17's rows, their controls, the
 * other spellings of the form, and ordinary joins that stay allowed. */
Test(rev58_join, a_separator_joining_a_list_into_a_path_denies)
{
    static const char *const rows[] = {
        /* review 17's table */
        "python3 -c \"print(open('/'.join(['', 'etc', 'shadow'])).read())\"",
        "python3 -c \"print(open('/'.join(['', 'root', '.ssh', 'id_rsa'])).read())\"",
        "python3 -c \"import os; print(open(os.sep.join(['', 'etc', 'shadow'])).read())\"",
        "python3 -c \"print(open('/etc/'.join(['', 'shadow'])).read())\"",
        "node -e \"console.log(require('fs').readFileSync(['', 'etc', "
        "'shadow'].join('/'),'utf8'))\"",
        /* its controls, denied before */
        "python3 -c \"print(open('/'.join(('', 'etc', 'shadow'))).read())\"",
        "python3 -c \"print(open('/'.join(['/etc', 'shadow'])).read())\"",
        /* the same class */
        "open(os.path.sep.join(('', 'root', '.ssh', 'id_rsa')))",
        "open(''.join(['/et', 'c/shadow']))",
        "open('/etc/sh'.join(['', 'adow']))",
        "open('/'.join([\n    '',\n    'etc',\n    'shadow',\n]))",
        "fs.readFileSync(['', 'etc', 'shadow'].join(path.sep))",
        "String.join(\"/\", \"\", \"etc\", \"shadow\")",
        "String.join(\"/\", List.of(\"\", \"etc\", \"shadow\"))",
        "perl -e 'open(F, join(\"/\", \"\", \"etc\", \"shadow\"))'",
        "file_get_contents(implode('/', ['', 'etc', 'shadow']))",
        "open(str.join('/', ['', 'etc', 'shadow']))",
        "open('/'.join(['', 'etc', '', '', '', '', '', '', '', '', 'shadow']))",
        /* stay allowed */
        "print(', '.join(['a', 'b', 'c']))",
        "url = '/'.join(['', 'api', 'v1', 'users'])",
        "p = os.sep.join(['', 'tmp', 'out.txt'])",
        "const p = ['', 'home', 'me', 'notes.txt'].join('/')",
        "slug = '-'.join(['', 'etc', 'shadow'])",
        "const id = ['', 'etc', 'shadow'].join('-')",
        "rel = '/'.join(['etc', 'shadow'])", /* relative: etc/shadow */
        "print(\"\\n\".join([\"\", \"etc\", \"shadow\"]))",
        "String.join(\", \", names)",
        "print('', 'etc', 'shadow')",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

/* A path join from the root that no literal spells: a splat of a list in
 * a path join's arguments, a separator's name as its first argument, an
 * empty first part in Ruby and Perl. */
Test(rev58_join, a_path_join_from_the_root_by_a_name_or_a_splat_denies)
{
    static const char *const rows[] = {
        "open(os.path.join('/etc', *['shadow']))",
        "open(os.path.join(*['/etc', 'shadow']))", /* denied before */
        "open(os.path.join(os.sep, 'etc', 'shadow'))",
        "fs.readFileSync(path.join(path.sep, 'root', '.ssh', 'id_rsa'))",
        "Files.readString(Paths.get(File.separator, \"etc\", \"shadow\"))",
        "File.read(File.join('', 'etc', 'shadow'))",
        "File::Spec->catfile('', 'root', '.ssh', 'id_rsa')",
        /* stay allowed */
        "open(os.path.join('/var/log', *['app', 'x.log']))", "path.join(path.sep, 'srv', 'www')",
        "os.path.join('', 'etc', 'shadow')", /* Python drops '': etc/shadow */
        "x = d['/etc/']['shadow']",          /* indexing joins nothing */
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

/* A relative literal resolved against a file: base (or an absolute path
 * given to urljoin or url.resolve) as WHATWG resolves it: the base's
 * directory, then the relative text. */
Test(rev58_join, a_relative_literal_resolved_against_a_file_base_denies)
{
    static const char *const rows[] = {
        /* review 17's table */
        "node -e \"console.log(require('fs').readFileSync(new URL('shadow', "
        "'file:///etc/'),'utf8'))\"",
        "node -e \"console.log(require('fs').readFileSync(new URL('.ssh/id_rsa',"
        "'file:///root/'),'utf8'))\"",
        "python3 -c \"import urllib.parse as u, urllib.request as r; "
        "print(r.urlopen(u.urljoin('file:///etc/', 'shadow')).read())\"",
        /* the same class */
        "fs.readFileSync(new URL('../etc/shadow', 'file:///tmp/'))",
        "fs.readFileSync(URL.parse('shadow', 'file:///etc/passwd'))",
        "fs.readFileSync(new URL('shadow', 'file:///etc/?v=1#top'))",
        "open(urljoin('/etc/passwd', 'shadow'))",
        "fs.readFileSync(url.resolve('/etc/', 'shadow'))",
        "fs.readFileSync(require('url').resolve('file:///etc/', 'shadow'))",
        "File.read(URI.join('file:///etc/', 'shadow').path)",
        "Files.readString(Path.of(URI.create(\"file:///root/\").resolve(\".ssh/id_rsa\")))",
        /* stay allowed */
        "fetch(new URL('/api/users', 'https://example.com'))",
        "fetch(new URL('shadow', 'https://example.com/etc/'))",
        "urljoin('https://example.com/etc/', 'shadow')",
        "new URL('index.html', 'file:///srv/www/')",
        "urljoin('file:///etc/hosts', 'resolv.conf')",
        "new URL('shadow', 'file:///etc/x/')",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A value: @head, @unit repeated to @n bytes, then a join that names
 * /etc/shadow, which must still be found after them. */
typedef struct shape {
    const char *head, *unit;
} shape;

static const char tail[] = "); open('/'.join(['', 'etc', 'shadow']))";

static char *value_of(const shape *sh, size_t n)
{
    size_t hl = strlen(sh->head), ul = strlen(sh->unit), o;
    char *v = malloc(hl + n + sizeof(tail)), *a;

    cr_assert_not_null(v);
    memcpy(v, sh->head, hl);
    for (o = 0; o < n; o++)
        v[hl + o] = sh->unit[o % ul];
    memcpy(v + hl + n, tail, sizeof(tail));
    a = cmd_args(v);
    free(v);
    return a;
}

/* One call of srv/t with @args on @k, a forbidden_path guard on
 * /etc/shadow: its CPU time; the verdict must be a denial. */
static double timed_call(chio_kernel *k, const char *args, const shape *sh)
{
    static unsigned seq;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    double t0, t;

    snprintf(id, sizeof(id), "cap-rev58-cost-%u", ++seq);
    kt_grant_session(k, NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(&r);
    chio_error_init(&err);
    t0 = cpu_now();
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    t = cpu_now() - t0;
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "\"%s\" + \"%s\"...: %s", sh->head, sh->unit,
                 chio_code_name(r.code));
    chio_response_destroy(&r);
    return t;
}

static double least_time(chio_kernel *k, const shape *sh, size_t n)
{
    char *args = value_of(sh, n);
    double best = 1e9, t;
    int i;

    for (i = 0; i < 3; i++) {
        t = timed_call(k, args, sh);
        best = t < best ? t : best;
    }
    free(args);
    return best;
}

/* Shapes that start a list or URL reading at every literal, or one list
 * of every literal: 4 times the bytes take about 4 times the CPU time
 * (quadratic would be 16). */
Test(rev58_join, list_and_url_readings_cost_linear_time)
{
    static const shape shapes[] = {
        {"os.sep.join([", "'', "}, {"", "['', "},
        {"", "'/'.join(["},        {"", "'', "},
        {"", "File.join('', "},    {"", "new URL('a', 'file:///x/'), "},
        {"", "urljoin('/', "},     {"[", "'a', "},
    };
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/shadow"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t i, n = 16u << 10;
    double t1, t4;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 1, &err), 0, "%s",
                 err.message);
    for (i = 0; i < NROWS(shapes); i++) {
        (void)least_time(k, &shapes[i], n); /* warm up */
        t1 = least_time(k, &shapes[i], n);
        t4 = least_time(k, &shapes[i], 4 * n);
        cr_expect_lt(t4, 8 * t1 + 0.005, "\"%s\" + \"%s\": %zu bytes %.4f s, %zu bytes %.4f s",
                     shapes[i].head, shapes[i].unit, n, t1, 4 * n, t4);
    }
    chio_kernel_free(k);
}
