/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev48_urls.c - review 48: a server URL no export
 * transport serves is refused before anything starts. The in-host
 * exporter (chio_export_nats_start) accepted `http://x`, returned 0 and
 * its thread died at once, exporting nothing while the host went on;
 * `chio serve --witness-nats http://x` (and `chio mcp serve`) exited 4,
 * "could not check", which a service manager restarts for ever, where a
 * malformed option is bad usage (exit 2).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/export_nats.h"
#include "common/testutil.h"

TestSuite(rev48_urls);

Test(rev48_urls, the_in_host_exporter_refuses_a_url_no_transport_serves)
{
    static const char *const bad[] = {"http://127.0.0.1:4222", "127.0.0.1:4222", "nats:/x",
                                      "tls://x"};
    char *dir = testutil_tmpdir();
    chio_export_nats_config cfg;
    chio_export_nats *x;
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&cfg, 0, sizeof(cfg));
        cfg.receipt_db = dir;
        cfg.urls = bad[i];
        x = (chio_export_nats *)&cfg; /* set to NULL by the call */
        chio_error_init(&err);
        cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL, "%s: %s", bad[i],
                     err.message);
        cr_expect_null(x);
        cr_expect_not_null(strstr(err.message, "must start with nats://"), "%s: %s", bad[i],
                           err.message);
        if (x != NULL)
            chio_export_nats_stop(x);
    }
    testutil_rmrf(dir);
    free(dir);
}

Test(rev48_urls, a_witness_url_no_transport_serves_is_bad_usage)
{
    char *dir = testutil_tmpdir(), *db = NULL, *seed = NULL;
    FILE *f;
    cli_result r;

    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&seed, "%s/seed", dir), 0);
    f = fopen(seed, "w");
    cr_assert_not_null(f);
    fputs("0707070707070707070707070707070707070707070707070707070707070707", f);
    fclose(f);
    cr_assert_eq(chmod(seed, 0600), 0);
    r = testutil_run_cli((const char *const[]){"serve", "--receipt-db", db, "--seed-file", seed,
                                               "--witness-nats", "http://127.0.0.1:4222", NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "--witness-nats"), "%s", r.err);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(seed);
}
