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
#include <stdlib.h>
#include <string.h>

#include "kernel/joinutil.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

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
    ju_run_rows(rows, denied, NROWS(rows));
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
    ju_run_rows(rows, denied, NROWS(rows));
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
    ju_run_rows(rows, denied, NROWS(rows));
}

/* Shapes that start a list or URL reading at every literal, or one list
 * of every literal: 4 times the bytes take about 4 times the CPU time
 * (quadratic would be 16). */
Test(rev58_join, list_and_url_readings_cost_linear_time)
{
    static const ju_shape shapes[] = {
        {"os.sep.join([", "'', "}, {"", "['', "},
        {"", "'/'.join(["},        {"", "'', "},
        {"", "File.join('', "},    {"", "new URL('a', 'file:///x/'), "},
        {"", "urljoin('/', "},     {"[", "'a', "},
    };

    ju_expect_linear(shapes, NROWS(shapes), "); open('/'.join(['', 'etc', 'shadow']))");
}
