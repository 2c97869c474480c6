/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev57_guards.c - review 12 (guards) of the
 * forbidden_path guard, with a real kernel (guard on /etc/ and /root/):
 *   - F1: "cat$IFS$9/etc/passwd" is "cat /etc/passwd" to sh, bash and
 *     dash, and was allowed: the reading that made "$IFS" a blank kept
 *     "$9", and the one that made "$9" nothing made "$IFS" nothing too.
 *     The empty reading now reads "$IFS" and "${IFS}" as a blank;
 *   - F5: curl and libssh2 read the path of an sftp: or scp: URL as an
 *     absolute path on the host ("sftp://localhost/etc/shadow"), and
 *     such URLs were allowed while "scp root@localhost:/etc/shadow ."
 *     was denied. They are now read as the file: URL of their path.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u

Test(rev57_guards, ifs_then_an_unset_parameter_is_a_blank_before_the_path)
{
    static const char *const args[] = {
        "{\"cmd\":\"cat$IFS$9/etc/passwd\"}",
        "{\"cmd\":\"cat$IFS$x/etc/passwd\"}",
        "{\"cmd\":\"x=1;cat$IFS$9$9/etc/passwd\"}",
        "{\"cmd\":\"cat$IFS$9/root/.ssh/id_rsa\"}",
        "{\"cmd\":\"ls$IFS$9/etc\"}",
        "{\"path\":\"cat$IFS$9/etc/passwd\"}",
        "{\"argv\":[\"sh\",\"-c\",\"cat$IFS$9/etc/passwd\"]}",
        "{\"cmd\":\"cat\\\"$IFS\\\"$9/etc/passwd\"}",
        "{\"cmd\":\"cat$IFS$9/tmp/x\"}",
        "{\"cmd\":\"echo $IFS is the separator\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

Test(rev57_guards, the_path_of_an_sftp_or_scp_url_is_read_as_a_path_on_the_host)
{
    static const char *const args[] = {
        "{\"cmd\":\"curl sftp://localhost/etc/shadow\"}",
        "{\"cmd\":\"curl scp://root@localhost/root/.ssh/id_rsa -o k\"}",
        "{\"path\":\"sftp://localhost/etc/passwd\"}",
        "{\"src\":\"SFTP://backup.example:2222/etc/passwd\"}",
        "{\"src\":\"sftp://h/%65tc/passwd\"}",
        "{\"cmd\":\"curl 'scp://u:p@h/etc/shadow'\"}",
        "{\"cmd\":\"curl sftp://backup.example/tmp/x\"}",
        "{\"cmd\":\"curl https://example.com/scp://x\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 12 F6: form encoding, '+' a blank ("cat+/etc/passwd" to
 * unquote_plus), beside the percent-decoded reading that already caught
 * "cat%20/etc/passwd". */
Test(rev57_guards, a_form_encoded_blank_before_a_path_is_read)
{
    static const char *const args[] = {
        "{\"q\":\"cat+/etc/passwd\"}",
        "{\"q\":\"cmd=cat+%2Fetc%2Fshadow\"}",
        "{\"q\":\"c+++ /tmp/x\"}",
        "{\"q\":\"a+b=c\"}",
    };
    static const int denied[] = {1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 12 F6: a Windows tool's path into a WSL distribution is the
 * distribution's own path ("\\wsl$\Ubuntu\etc\shadow" is /etc/shadow
 * there). */
Test(rev57_guards, a_path_into_a_wsl_distribution_is_read_from_its_root)
{
    static const char *const args[] = {
        "{\"p\":\"\\\\\\\\wsl$\\\\Ubuntu\\\\etc\\\\shadow\"}",
        "{\"cmd\":\"type \\\\\\\\wsl.localhost\\\\Debian\\\\root\\\\.ssh\\\\id_rsa\"}",
        "{\"p\":\"//WSL$/Ubuntu/etc/passwd\"}",
        "{\"p\":\"\\\\\\\\wsl$\\\\Ubuntu\\\\tmp\\\\x\"}",
        "{\"p\":\"\\\\\\\\server\\\\share\\\\etc\\\\x\"}",
    };
    static const int denied[] = {1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 13: the same paths through Windows device prefixes to a UNC
 * path, and the other URL schemes whose path a tool opens on the host
 * (ssh: and fish: to KIO and GIO, ftp: to curl, which reads "%2F" as the
 * root). */
Test(rev57_guards, device_prefixes_and_other_remote_file_schemes_are_read_too)
{
    static const char *const args[] = {
        "{\"p\":\"\\\\\\\\?\\\\UNC\\\\wsl$\\\\Ubuntu\\\\etc\\\\shadow\"}",
        "{\"p\":\"\\\\\\\\.\\\\UNC\\\\wsl.localhost\\\\Ubuntu\\\\etc\\\\shadow\"}",
        "{\"p\":\"//?/UNC/wsl$/Ubuntu/etc/shadow\"}",
        "{\"p\":\"\\\\??\\\\UNC\\\\wsl$\\\\Ubuntu\\\\root\\\\.ssh\\\\id_rsa\"}",
        "{\"cmd\":\"curl ftp://localhost/%2Fetc/shadow\"}",
        "{\"u\":\"fish://localhost/etc/shadow\"}",
        "{\"u\":\"ssh://root@localhost:22/root/.ssh/id_rsa\"}",
        "{\"u\":\"git+ssh://git@example.com/org/repo.git\"}",
        "{\"u\":\"ftp://example.com/pub/file.txt\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 13 (noted by the F2 fix): an apostrophe or an escaped quote
 * before the code paired with the code's first quote and shifted every
 * literal after it, so the joined path was never read. */
Test(rev57_guards, a_stray_quote_before_joined_literals_does_not_hide_them)
{
    static const char *const args[] = {
        "{\"cmd\":\"echo it\\\\'s; python3 -c \\\"open('/ro' + 'ot/.ssh/id_rsa')\\\"\"}",
        "{\"cmd\":\"echo \\\\' ; python3 -c \\\"open('/ro' + 'ot/.ssh/id_rsa')\\\"\"}",
        "{\"text\":\"Here's the code: open('/et' + 'c/shadow')\"}",
        "{\"text\":\"it's 'fine' and 'ok', isn't it\"}",
        "{\"text\":\"Here's the code: open('/tm' + 'p/x')\"}",
    };
    static const int denied[] = {1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 15 F1: after an apostrophe the second pass read the whole
 * "python3 -c \"...\"" string as one literal and never looked inside;
 * the code a string holds is now read too, one level down. */
Test(rev57_guards, joined_literals_inside_a_string_after_an_apostrophe_are_read)
{
    static const char *const args[] = {
        "{\"cmd\":\"cat <<EOF\\nit's\\nEOF\\npython3 -c \\\"open('/et' + 'c/shadow')\\\"\"}",
        "{\"text\":\"Here's how: python3 -c \\\"open('/et' + 'c/shadow')\\\"\"}",
        "{\"text\":\"```\\nit's: node -e \\\"require('fs').readFileSync('/ro' + "
        "'ot/.ssh/id_rsa')\\\"\\n```\"}",
        "{\"text\":\"Here's how: python3 -c \\\"open('/tm' + 'p/x')\\\"\"}",
    };
    static const int denied[] = {1, 1, 1, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}
