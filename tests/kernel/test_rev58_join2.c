/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev58_join2.c - review 18 (fixes2 F1): the
 * forbidden_path guard's reading of code that joins literals into a path
 * (kernel/guard_path_join_list.c, guard_path_join.c) missed the forms
 * next to the ones it read: comments and line breaks between a list's
 * items, string prefixes, triple quotes, adjacent and parenthesised
 * literals, separators given by a name (os.sep, File.separator,
 * require('path').sep, DIRECTORY_SEPARATOR, ..) in a list join, a path
 * join's first part or a concatenation, and arrays made by a type (new
 * String[]{..}, new[] {..}, []string{..}, Stream.of, Array.of) with the
 * separator before or after the items. Each row opens /etc/shadow or
 * ~root/.ssh/id_rsa and was allowed; ordinary joins stay allowed. The
 * last test holds the CPU time of hostile shapes of the new forms to a
 * ratio of sizes, as rev58_join's does.
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

/* Comments and line breaks between a list's items or a call's
 * arguments are blanks: they join nothing. */
Test(rev58_join2, a_comment_between_the_items_of_a_list_denies)
{
    static const char *const rows[] = {
        "open('/'.join([\n    '',\n    'etc',  # the dir\n    'shadow',\n]))",
        "fs.readFileSync([\n  '',\n  'etc', // dir\n  'shadow',\n].join('/'))",
        "fs.readFileSync(['', /* c */ 'etc', 'shadow'].join('/'))",
        "String.join(\"/\", \"\", // root\n    \"etc\", \"shadow\")",
        "open('/'.join([  # parts\n    '', 'root', '.ssh', 'id_rsa']))",
        "__import__('os').path.join(\n    '/etc',\n    'shadow',\n)",
        "urljoin(\n    'file:///etc/',\n    'shadow',\n)",
        "open(os.path.join('/etc',  # the dir\n    'shadow'))",
        "fs.readFileSync(path.join('/etc', /* d */ 'shadow'))",
        /* stay allowed */
        "print(', '.join([\n    'a',  # first\n    'b',\n]))",
        "const s = ['a', /* b */ 'c'].join(', ')",
        "x = ['', 'etc', # the dir\n 'shadow']",
        "echo '/etc/'\necho 'shadow'",
        "cat '/etc/'\n'shadow'",
        "os.path.join('/etc', # 'shadow'\n 'hosts')",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

/* String prefixes, triple quotes, adjacent literals and a literal in
 * parentheses or str(..) are items like a bare literal. */
Test(rev58_join2, a_prefixed_adjacent_or_wrapped_item_denies)
{
    static const char *const rows[] = {
        "open('/'.join([r'', r'etc', r'shadow']))",
        "open('/'.join([u'', u'etc', u'shadow']))",
        "open('/'.join(['', f'etc', f'shadow']))",
        "open(b'/'.join([b'', b'etc', b'shadow']))",
        "open('/'.join(['', rb'root', '.ssh', 'id_rsa']))",
        "open('/'.join(['', '''etc''', 'shadow']))",
        "open('/'.join(['', 'et' 'c', 'shadow']))",
        "open('/'.join([(''), ('etc'), 'shadow']))",
        "open('/'.join(['', 'root', str('.ssh'), 'id_rsa']))",
        "open(os.sep.join([r'', r'etc', r'shadow']))",
        /* stay allowed */
        "'-'.join([r'', r'etc', r'shadow'])",
        "', '.join(['a' 'b', ('c'), str('d')])",
        "'/'.join([r'', r'tmp', r'out.txt'])",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

/* A separator given by a name is read as '/': as a list join's
 * separator, as a path join's first part, as a term of a concatenation. */
Test(rev58_join2, a_named_separator_is_read_as_a_slash)
{
    static const char *const rows[] = {
        "open(os.path.join(os.path.sep, *['etc', 'shadow']))",
        "open(Path(os.sep, 'etc', 'shadow'))",
        "fs.readFileSync(['', 'etc', 'shadow'].join(require('path').sep))",
        "Files.readString(FileSystems.getDefault().getPath(File.separator, \"etc\", \"shadow\"))",
        "String.join(File.separator, List.of(\"\", \"etc\", \"shadow\"))",
        "File::Spec->catfile(File::Spec->rootdir, 'etc', 'shadow')",
        "os.ReadFile(filepath.Join(string(filepath.Separator), \"etc\", \"shadow\"))",
        "File.ReadAllText(Path.Combine(Path.DirectorySeparatorChar.ToString(), \"etc\", "
        "\"shadow\"))",
        "File.read(File.join(File::SEPARATOR, 'etc', 'shadow'))",
        "file_get_contents(implode(DIRECTORY_SEPARATOR, ['', 'etc', 'shadow']))",
        "open(os.sep + 'etc' + os.sep + 'shadow')",
        "new File(File.separator + \"etc\" + File.separator + \"shadow\")",
        "file_get_contents(DIRECTORY_SEPARATOR . 'etc' . DIRECTORY_SEPARATOR . 'shadow')",
        "open(os.path.join(os.sep + 'etc', 'shadow'))",
        /* stay allowed */
        "open(os.path.join(os.sep, 'tmp', 'x.log'))",
        "path.join(path.sep, 'srv', 'www')",
        "print(sep, 'etc', 'shadow')",
        "String.join(File.separator, List.of(\"tmp\", \"x\"))",
        "p = os.sep + 'tmp' + os.sep + 'out.txt'",
        "String.join(\", \", list)",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    run_rows(rows, denied, NROWS(rows));
}

/* An array made by a type is a list, its separator given before the
 * items or after them. */
Test(rev58_join2, a_typed_array_joined_into_a_path_denies)
{
    static const char *const rows[] = {
        "String.join(\"/\", new String[]{\"\", \"etc\", \"shadow\"})",
        "Stream.of(\"\", \"etc\", \"shadow\").collect(Collectors.joining(\"/\"))",
        "string.Join(\"/\", new[] {\"\", \"etc\", \"shadow\"})",
        "strings.Join([]string{\"\", \"etc\", \"shadow\"}, \"/\")",
        "fs.readFileSync(Array.of('', 'etc', 'shadow').join('/'))",
        "File.read([\"\", \"etc\", \"shadow\"] * \"/\")",
        "String.join(\"/\", new String[] {\"\", \"root\", \".ssh\", \"id_rsa\"})",
        "open('/'.join(list(('', 'etc', 'shadow'))))",
        "open('/'.join(iter(['', 'etc', 'shadow'])))",
        "fs.readFileSync(['', 'etc', 'shadow'].join`/`)",
        "require('path').join(require('path').sep, 'etc', 'shadow')",
        "do { require File::Spec; File::Spec->join('', 'etc', 'shadow') }",
        /* stay allowed */
        "', '.join(names)",
        "String.join(\", \", new String[]{\"a\", \"b\"})",
        "strings.Join([]string{\"a\", \"b\"}, \", \")",
        "Stream.of(\"a\", \"b\").collect(Collectors.joining(\", \"))",
        "x = [\"\", \"etc\"] * 3",
        "urljoin('https://example.com/', 'etc/shadow')",
        "new URL('etc/shadow', 'https://example.com/')",
        "The list ['', 'etc', 'shadow'] has three items; join them with a dash.",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};

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

/* A value: @head, @unit repeated to @n bytes, then a concatenation by
 * a separator's name (read since review 18) that names
 * /etc/shadow, which must still be found after them. */
typedef struct shape {
    const char *head, *unit;
} shape;

static const char tail[] = "); open(os.sep + 'etc' + os.sep + 'shadow')";

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

    snprintf(id, sizeof(id), "cap-rev58j2-cost-%u", ++seq);
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

/* Shapes that start a new form at every literal, or one list of every
 * literal: 4 times the bytes take about 4 times the CPU time
 * (quadratic would be 16). */
Test(rev58_join2, new_join_readings_cost_linear_time)
{
    static const shape shapes[] = {
        {"'/'.join([", "'a' "},
        {"'/'.join([", "'', # c\n"},
        {"", "/* c */ '', "},
        {"", "Stream.of('', "},
        {"", "new String[]{'', "},
        {"", "String.join(File.separator, '', "},
        {"", "os.sep + 'a' + "},
        {"", "Path(require('path').sep, "},
        {"", "r'', "},
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
