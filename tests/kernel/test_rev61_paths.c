/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev61_paths.c - review 21 (pathfix F11): path_prefix
 * read every shell parameter standing alone as a path (review 20 F6's
 * fix), so "echo $USER", "git commit -m 'fix $ISSUE'" and a template's
 * "${name}" denied under every prefix. Only a parameter whose name holds
 * a directory (HOME, OLDPWD, TMPDIR, ..DIR, ..HOME, ..PATH, ..ROOT) or
 * whose braced default is a path is read so now.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define WS(m)    "{\"path\":\"/workspace/a\"," m "}"
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

Test(rev61_paths, a_parameter_named_for_no_directory_is_text)
{
    static const kt_row rows[] = {
        {KT_PP("/workspace"), WS("\"cmd\":\"rm -rf $HOME\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"cp a.txt ${DESTDIR}\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"rsync -a . $XDG_CONFIG_HOME\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"tar -xf a.tar -C ${X:-/etc}\""), 0},
        {KT_PP("/workspace"), WS("\"dest\":\"$OLDPWD\""), 0},
        {KT_PP("/workspace"), WS("\"cmd\":\"echo $USER\""), 1},
        {KT_PP("/workspace"), WS("\"cmd\":\"git commit -m 'fix $ISSUE'\""), 1},
        {KT_PP("/workspace"), WS("\"cmd\":\"docker run -e TOKEN=$TOKEN img\""), 1},
        {KT_PP("/workspace"), WS("\"text\":\"Hello ${name}, welcome\""), 1},
    };

    kt_run_rows_at(NOW, rows, NROWS(rows));
}
