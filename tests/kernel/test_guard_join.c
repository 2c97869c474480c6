/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_guard_join.c - the forbidden_path guard's reading of
 * string literals that code joins into one path (kernel/guard_path_join.c):
 * open("/etc/" + "shadow"), os.path.join("/etc", "shadow") and their kin
 * in JavaScript, SQL, PHP and under a shell's quotes name a file under
 * "/etc/shadow" that no single literal names. Code that quotes strings
 * near each other still passes unless their join is under a prefix.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

Test(guard_join, literals_joined_into_a_path_under_a_prefix_deny)
{
    static const char *const prefixes[] = {"/etc/shadow", "/root/.ssh/"};
    static const char *const args[] = {
        "{\"code\":\"open(\\\"/etc/\\\" + \\\"shadow\\\").read()\"}",
        "{\"code\":\"open('/etc/' 'shadow')\"}", /* Python's adjacent literals */
        "{\"code\":\"open(os.path.join('/etc', 'shadow'))\"}",
        "{\"code\":\"Path('/etc') / 'shadow'\"}",
        "{\"code\":\"Path('/etc').joinpath('shadow')\"}",
        "{\"code\":\"fs.readFileSync(path.join('/etc', 'shadow'))\"}",
        "{\"code\":\"'/etc/'.concat('shadow')\"}",
        "{\"sql\":\"SELECT pg_read_file('/etc/' || 'shadow')\"}",
        "{\"code\":\"file_get_contents('/etc/' . 'shadow')\"}",
        "{\"code\":\"filepath.Join(\\\"/root\\\", \\\".ssh\\\", \\\"id_rsa\\\")\"}",
        "{\"code\":\"open('/etc' + '' + '' + '/shadow')\"}", /* empty literals */
        /* past eight literals while still above a prefix */
        "{\"code\":\"open('/etc'+'/.'+'/.'+'/.'+'/.'+'/.'+'/.'+'/.'+'/.'+'/shadow')\"}",
        /* what a shell hands the program */
        "{\"cmd\":\"python3 -c \\\"print(open(\\\\\\\"/etc/\\\\\\\" + "
        "\\\\\\\"shadow\\\\\\\").read())\\\"\"}",
        "{\"cmd\":\"node -e "
        "'require(\\\"fs\\\").readFileSync(require(\\\"path\\\").join(\\\"/etc\\\", "
        "\\\"shadow\\\"))'\"}",
        /* stay allowed */
        "{\"code\":\"open(os.path.join('/etc', 'hosts'))\"}",
        "{\"code\":\"path.join(__dirname, 'public', 'index.html')\"}",
        "{\"code\":\"fs.readFileSync('/tmp/' + name + '.json')\"}",
        "{\"code\":\"x = ['/api', '/users', '/orders']\"}",
        "{\"code\":\"print('/etc', 'has', 'shadow')\"}", /* "has" between: /etc/has/shadow */
        "{\"code\":\"open('/etc/' + user).read() + 'shadow'\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* A format whose placeholders the literals after it fill: "%s/%s" %
 * ("/etc", "shadow"), "/etc/{}".format("shadow"), printf's arguments. */
Test(guard_join, a_format_filled_with_literals_is_read_filled)
{
    static const char *const prefixes[] = {"/etc/shadow"};
    static const char *const args[] = {
        "{\"code\":\"open('%s/%s' % ('/etc', 'shadow'))\"}",
        "{\"code\":\"open('{}/{}'.format('/etc', 'shadow'))\"}",
        "{\"code\":\"open('/etc/%s' % 'shadow')\"}",
        "{\"code\":\"open('/etc/{0}'.format('shadow'))\"}",
        "{\"code\":\"snprintf(b, n, \\\"%s/%s\\\", \\\"/etc\\\", \\\"shadow\\\")\"}",
        /* stay allowed */
        "{\"code\":\"print('%s items' % '5')\"}",
        "{\"code\":\"open('/tmp/%s.json' % 'x')\"}",
        "{\"code\":\"log('{} and {}'.format('/etc', 'x'))\"}",
        "{\"code\":\"open('/etc/%s' % name)\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}

/* What an f-string or a template literal evaluates to when what it
 * interpolates is a literal (f"/etc/{'shadow'}", `/etc/${"shadow"}`), and
 * a format filled by index or by name ("{1}/{0}", "{f}" with f='..'). */
Test(guard_join, interpolated_literals_and_placeholders_by_index_or_name)
{
    static const char *const prefixes[] = {"/etc/shadow"};
    static const char *const args[] = {
        "{\"code\":\"open(f\\\"/etc/{'shadow'}\\\")\"}",
        "{\"code\":\"open(f'/etc/{ \\\"shadow\\\" }')\"}",
        "{\"code\":\"open(f\\\"{'/etc'}/shadow\\\")\"}",
        "{\"code\":\"fs.readFileSync(`/etc/${'shadow'}`)\"}",
        "{\"code\":\"fs.readFileSync(`${\\\"/etc\\\"}/${\\\"shadow\\\"}`)\"}",
        "{\"code\":\"open(f'/e{\\\"tc/sha\\\"}dow')\"}",
        "{\"code\":\"open('{1}/{0}'.format('shadow', '/etc'))\"}",
        "{\"code\":\"open('/etc/{f}'.format(f='shadow'))\"}",
        "{\"code\":\"open('{d}/{f}'.format(f = 'shadow', d = '/etc'))\"}",
        "{\"code\":\"open('{0}{1}'.format('/etc/', 'shadow'))\"}",
        "{\"cmd\":\"python3 -c \\\"open(f'/etc/{\\\\\\\"shadow\\\\\\\"}')\\\"\"}",
        "{\"code\":\"open('/etc/%(f)s' % {'f': 'shadow'})\"}",
        "{\"code\":\"open(\\\"%(d)s/%(f)s\\\" % {\\\"f\\\": \\\"shadow\\\", "
        "\\\"d\\\":\\\"/etc\\\"})\"}",
        "{\"code\":\"open('/etc/%(f)s' % dict(f='shadow'))\"}",
        /* Python 3.12: an f-string that nests its own quote */
        "{\"code\":\"open(f\\\"/etc/{\\\"shadow\\\"}\\\")\"}",
        "{\"code\":\"open(f\\\"/etc/{ \\\"sha\\\" }{\\\"dow\\\"}\\\")\"}",
        "{\"code\":\"open(rf'{'/etc'}/shadow')\"}",
        /* second review 54: flags, width, precision; a conversion and a
         * spec; a template literal nesting its own quote */
        "{\"code\":\"open('/etc/%(f).6s' % {'f': 'shadow'})\"}",
        "{\"code\":\"open('/etc/%-6s' % 'shadow')\"}",
        "{\"code\":\"open('%.11s' % '/etc/shadowX')\"}",
        "{\"code\":\"open('/etc/{f!s}'.format(f='shadow'))\"}",
        "{\"code\":\"open('/etc/{:s}'.format('shadow'))\"}",
        "{\"code\":\"open(f\\\"/etc/{\\\"shadow\\\"!s}\\\")\"}",
        "{\"code\":\"fs.readFileSync(`/etc/${`shadow`}`)\"}",
        /* stay allowed */
        "{\"code\":\"open('%.3s/shadow' % '/etcX')\"}", /* the precision cuts */
        "{\"code\":\"open(f\\\"/etc/{name}\\\")\"}",
        "{\"code\":\"print(f\\\"/etc/{'hosts'}\\\")\"}",
        "{\"code\":\"open('/etc/{1}'.format('shadow', 'hosts'))\"}", /* by index */
        "{\"code\":\"open('/etc/{f}'.format(g='shadow'))\"}", "{\"code\":\"`${'a'}/${'b'}`\"}",
        "{\"code\":\"open('/etc/%(f)s' % {'f': 'hosts', 'g': 'shadow'})\"}",
        "{\"code\":\"open('/etc/%(f)s' % {'g': 'shadow'})\"}",
        "{\"code\":\"open('/etc/%(f)d' % {'f': 'shadow'})\"}",
        "{\"code\":\"open(f\\\"/etc/{\\\"hosts\\\"}\\\")\"}",
        "{\"code\":\"open(f\\\"/etc/{{\\\"shadow\\\"}}\\\")\"}", /* escaped braces */
        "{\"code\":\"open(\\\"/etc/{\\\"shadow\\\"}\\\")\"}",    /* not an f-string */
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    cr_assert_eq(NROWS(args), NROWS(denied));
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), args, denied, NROWS(args));
}
