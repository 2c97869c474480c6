/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev58_urls.c - review 17 of the fleet, F2: a server
 * list whose first element started with nats:// passed whatever followed:
 * "nats://", "nats://,", a port past 65535 were waited on for ever ("cannot
 * connect ... (waiting)" once a minute), and an element of another scheme
 * ("nats://h:1,http://x:1") was skipped by the client without a word.
 * Every element is now checked before anything starts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/export_nats.h"
#include "common/testutil.h"
#include "export/fleetutil.h"

TestSuite(rev58_urls);

static const char *const bad[] = {
    "nats://",
    "nats://,",
    "nats://127.0.0.1:99999",
    "nats://h:",
    "nats://h:0",
    "nats://h:42x",
    "nats://[]:4222",
    "nats://u:p@",
    "nats://h:1,",
    "nats://h/x",
    "nats://h:1,http://x:1",
    "nats://h:1,,nats://g:2",
    "nats://h:1,nats:/",
    "nats://h:1 ",
    /* stop 59: a control byte or a blank in the host or userinfo */
    "nats://h\001st:4222",
    "nats://u:p\177@h:1",
    "nats://h\tx:1",
    "nats://u p@h:1",
};

Test(rev58_urls, the_in_host_exporter_refuses_a_list_with_a_malformed_server)
{
    char *dir = testutil_tmpdir();
    chio_export_nats_config cfg;
    chio_export_nats *x;
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chio_export_nats_config_init(&cfg);
        cfg.receipt_db = dir;
        cfg.urls = bad[i];
        x = (chio_export_nats *)&cfg; /* set to NULL by the call */
        chio_error_init(&err);
        cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL, "%s: %s", bad[i],
                     err.message);
        cr_expect_null(x);
        cr_expect_not_null(strstr(err.message, "of the list is not a nats:// URL"), "%s: %s",
                           bad[i], err.message);
        if (x != NULL)
            chio_export_nats_stop(x);
    }
    testutil_rmrf(dir);
    free(dir);
}

Test(rev58_urls, the_fleet_commands_refuse_it_as_bad_usage)
{
    char *dir = testutil_tmpdir(), *db = NULL;
    cli_result r;

    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    fu_fill(db, 0x5c, 5, 10, "urls");
    r = testutil_run_cli((const char *const[]){"fleet", "witness", "--receipt-db", db, "--nats",
                                               "nats://127.0.0.1:4222,http://x:1", NULL},
                         NULL, 0);
    cr_expect_neq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "server 2 of the list"), "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"export", "--receipt-db", db, "--nats",
                                               "nats://127.0.0.1:99999", NULL},
                         NULL, 0);
    cr_expect_neq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "server 1 of the list"), "%s", r.err);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

/* Review 18: a list refused for a password holding a ',' (the client
 * splits it there) showed that password in the message. */
Test(rev58_urls, a_refused_list_never_shows_a_password_with_a_comma)
{
    static const char *const lists[] = {"nats://u:s3cr,etpw@127.0.0.1:4222",
                                        "nats://h:1,nats://u:s3cr,etpw@127.0.0.1:4222",
                                        "nats://s3cr,etpw@127.0.0.1:4222"};
    char *dir = testutil_tmpdir();
    chio_export_nats_config cfg;
    chio_export_nats *x;
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        chio_export_nats_config_init(&cfg);
        cfg.receipt_db = dir;
        cfg.urls = lists[i];
        chio_error_init(&err);
        cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL, "%zu: %s", i,
                     err.message);
        cr_expect_null(strstr(err.message, "s3cr"), "%zu: %s", i, err.message);
        cr_expect_null(strstr(err.message, "etpw"), "%zu: %s", i, err.message);
        cr_expect_not_null(strstr(err.message, "***"), "%zu: %s", i, err.message);
    }
    testutil_rmrf(dir);
    free(dir);
}
