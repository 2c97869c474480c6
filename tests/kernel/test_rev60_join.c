/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev60_join.c - review 20 (paths F3, F4): the
 * forbidden_path guard's reading of code that joins literals into a path
 * (kernel/guard_path_join*.c).
 *
 * F3: a string prefix on a literal (r'', b'', rb'', R'', u'', f'', L"",
 * u8"", @"", a C++ "..."s suffix) stopped a chain, a path join's
 * arguments, adjacent literals and a format's arguments, though list
 * joins read prefixed items: open(r'/etc/' + r'shadow') was allowed.
 *
 * F4: joins that take the directory second or by another name were not
 * read: Ruby's File.expand_path('shadow', '/etc'), Perl's rel2abs, Node's
 * path.format({dir, base}), Ruby's Pathname + (a '/' join), Rust's
 * PathBuf::push and .to_owned() +, Python's Path /= and __truediv__,
 * .strip() and str(..) around a term, a backslash-newline before '+'.
 *
 * Each row opens /etc/shadow or ~root/.ssh/id_rsa; the last rows of each
 * test stay allowed. The last test holds hostile shapes of the new forms
 * to a linear cost, as rev58_join2's does.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/joinutil.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* F3: a prefixed literal is a term of a chain, an argument of a path
 * join or a format, an adjacent literal, as a bare one is. */
Test(rev60_join, a_prefixed_literal_joins_like_a_bare_one)
{
    static const char *const rows[] = {
        "open(r'/etc/' + r'shadow')",
        "open('/etc/' + r'shadow')",
        "open(b'/etc/' + b'shadow')",
        "open(rb'/etc/' + rb'shadow')",
        "open(R'/etc/' + R'shadow')",
        "open(os.path.join(r'/etc', r'shadow'))",
        "os.path.join(b'/etc', b'shadow')",
        "open(r'/root/.ss' + r'h/id_rsa')",
        "open(u'/etc/' u'shadow')",
        "open(r'/etc/' r'shadow')",
        "open(f'/etc/' + f'shadow')",
        "fopen(L\"/etc/\" L\"shadow\", \"r\")",
        "fopen(u8\"/etc/\" u8\"shadow\", \"r\")",
        "std::ifstream f(\"/etc/\"s + \"shadow\"s);",
        "File.ReadAllText(@\"/etc/\" + @\"shadow\")",
        "File.ReadAllText(Path.Combine(@\"/etc\", @\"shadow\"))",
        "python3 -c \"open(r'/etc/' + r'shadow')\"",
        "open('%s/%s' % (r'/etc', r'shadow'))",
        "urljoin(r'file:///etc/', r'shadow')",
        /* stay allowed */
        "open(r'/etc/' + r'hosts')",
        "open(r'/tmp/' + r'shadow')",
        "x = r'/etc/' if y else r'shadow'",
        "std::string a = \"/etc/\"s; auto b = \"shadow\"s;",
        "print(b'/etc/', 'no', rb'shadow')",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    ju_run_rows(rows, denied, NROWS(rows));
}

/* F4: a call that takes the directory second, Node's path.format. */
Test(rev60_join, a_directory_given_second_or_by_a_key_is_joined)
{
    static const char *const rows[] = {
        "File.read(File.expand_path('shadow', '/etc'))",
        "File.read(File.absolute_path('shadow','/etc'))",
        "File::Spec->rel2abs('.ssh/id_rsa', '/root')",
        "File.realpath('shadow', '/etc/')",
        "File.ReadAllText(Path.GetFullPath(\"shadow\", \"/etc\"))",
        "File.read(File.expand_path(r'shadow', r'/etc'))",
        "fs.readFileSync(path.format({dir: '/etc', base: 'shadow'}))",
        "path.format({root: '/etc/', base: 'shadow'})",
        "path.format({ dir: '/etc', name: 'shadow', ext: '' })",
        "path.format({'dir': '/etc', 'base': 'shadow'})",
        "path.posix.format({\n  base: 'shadow',\n  dir: '/etc',\n})",
        "path.format({root: '/', dir: '/etc', name: 'shad', ext: 'ow'})",
        /* stay allowed */
        "File.expand_path('shadow', '/tmp')",
        "File.expand_path('hosts', '/etc')",
        "File.expand_path('~/x', '/etc')",
        "path.format({dir: '/etc', base: 'hosts'})",
        "path.format({root: '/', base: 'etc'})",
        "path.format({dir: '/etc', name: 'hosts', ext: 'bak'})",
        "fmt.format({dir: '/tmp', base: 'shadow'})",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    ju_run_rows(rows, denied, NROWS(rows));
}

/* F4: operators and methods that join by another name: Pathname's '+',
 * a term passed through .strip(), str(..), .to_owned(), String::from,
 * __truediv__, a backslash-newline before the operator. */
Test(rev60_join, a_join_by_another_operator_or_method_denies)
{
    static const char *const rows[] = {
        "(Pathname('/etc') + 'shadow').read",
        "Pathname.new('/root') + '.ssh' + 'id_rsa'",
        "let p = \"/etc/\".to_owned() + \"shadow\";",
        "let p = \"/etc/\".to_string() + \"shadow\";",
        "let p = String::from(\"/etc/\") + &String::from(\"shadow\");",
        "open(Path('/etc').__truediv__('shadow'))",
        "open('/etc/'.strip() + 'shadow')",
        "open(str('/etc/') + str('shadow'))",
        "open('/etc/' \\\n    + 'shadow')",
        "open('/etc/' \\\n    'shadow')",
        /* stay allowed */
        "(Pathname('/etc') + 'hosts').read",
        "Pathname('/etc').to_s + 'shadow'",
        "open('/etc/'.upper() + 'shadow')",
        "open(str('/etc/') + str(name))",
        "x = '/etc/' \\\n  + 'hosts'",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    ju_run_rows(rows, denied, NROWS(rows));
}

/* F4: a path object or string bound to a name, then pushed onto by
 * that name a little later: PathBuf::push, String::push_str, Path /=,
 * +=. */
Test(rev60_join, a_name_bound_to_a_path_then_pushed_onto_denies)
{
    static const char *const rows[] = {
        "let mut p = PathBuf::from(\"/etc\"); p.push(\"shadow\");",
        "let mut p: PathBuf = PathBuf::from(\"/root\");\np.push(\".ssh\");\np.push(\"id_rsa\");",
        "let mut s = String::from(\"/etc/\"); s.push_str(\"shadow\");",
        "p = Path('/etc'); p /= 'shadow'; p.read_text()",
        "p = pathlib.Path(r'/etc')\np /= r'shadow'",
        "p = '/etc/'; p += 'shadow'; open(p)",
        /* stay allowed */
        "let mut p = PathBuf::from(\"/etc\"); p.push(\"hosts\");",
        "p = Path('/etc'); q = Path('/tmp'); q /= 'shadow'",
        "p = Path('/tmp'); p /= 'shadow'",
        "p = '/etc/'; p += 'x'",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(rows), NROWS(denied));
    ju_run_rows(rows, denied, NROWS(rows));
}

/* Shapes that start each new reading at every literal: 4 times the
 * bytes take about 4 times the CPU time (quadratic would be 16). */
Test(rev60_join, prefixed_and_other_joins_cost_linear_time)
{
    static const ju_shape shapes[] = {
        {"", "r'' + "},
        {"", "rb'a' r'b' "},
        {"", "\"a\"s + "},
        {"", "File.expand_path('a', "},
        {"", "path.format({dir: '/a', base: "},
        {"path.format({", "dir: '/a', "},
        {"", "Pathname('/a') + "},
        {"", "'a'.to_owned() + str("},
        {"", "'/a' \\\n+ "},
        {"", "p = Path('/a'); "},
        {"p = Path('/a'); ", "p /= 'b'; "},
        {"", "let mut p = PathBuf::from(\"/a\"); p.push("},
    };

    ju_expect_linear(shapes, NROWS(shapes), "); open(r'/etc/' + r'shadow')");
}
