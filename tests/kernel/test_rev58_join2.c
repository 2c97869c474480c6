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
#include <stdlib.h>
#include <string.h>

#include "kernel/joinutil.h"

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

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
    ju_run_rows(rows, denied, NROWS(rows));
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
    ju_run_rows(rows, denied, NROWS(rows));
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
    ju_run_rows(rows, denied, NROWS(rows));
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
    ju_run_rows(rows, denied, NROWS(rows));
}

/* Shapes that start a new form at every literal, or one list of every
 * literal: 4 times the bytes take about 4 times the CPU time
 * (quadratic would be 16). */
Test(rev58_join2, new_join_readings_cost_linear_time)
{
    static const ju_shape shapes[] = {
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

    ju_expect_linear(shapes, NROWS(shapes), "); open(os.sep + 'etc' + os.sep + 'shadow')");
}
