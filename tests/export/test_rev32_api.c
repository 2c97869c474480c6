/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev32_api.c - review 32: the in-host exporter's API
 * (chio/export_nats.h) misused the way a new host would: NULL for each
 * pointer argument in turn, a bad stream name, max_batch out of range, a
 * non-zero reserved field, a bad kernel key for the witness. Each is
 * CHIO_EINVAL with a message (where a chio_error is taken) before any
 * thread starts or any server is asked; nothing here needs NATS.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "chio/export_nats.h"
#include "kernel/rev32api.h"

TestSuite(rev32_xapi);

Test(rev32_xapi, exporter_calls_refuse_each_bad_argument_before_starting)
{
    chio_export_nats_config cfg;
    chio_export_nats *x = (chio_export_nats *)1;
    chio_export_nats_stats st;
    chio_error err;
    char *out = NULL;
    size_t len = 0;

    chio_export_nats_config_init(NULL);
    chio_export_nats_config_init(&cfg);
    ERC(chio_export_nats_start(NULL, &x, &err), CHIO_EINVAL);
    cr_expect_null(x);
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.receipt_db = "/nonexistent/db";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.urls = "nats://127.0.0.1:1";
    ERC(chio_export_nats_start(&cfg, NULL, &err), CHIO_EINVAL);
    /* empty strings name no store and no server (the thread used to start
     * and fail later, out of the caller's sight) */
    cfg.receipt_db = "";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.receipt_db = "/nonexistent/db";
    cfg.urls = "";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.urls = "nats://127.0.0.1:1";
    cfg.stream = "";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.stream = "a.b";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.stream = "\xff";
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.stream = NULL;
    cfg.max_batch = 257;
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.max_batch = 0;
    cfg.reserved[3] = &cfg;
    ERC(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cr_expect_null(x);

    cr_expect_eq(chio_export_nats_lag(NULL), 0);
    cr_expect_eq(chio_export_nats_stats_get(NULL, &st), CHIO_EINVAL);
    out = (char *)1;
    cr_expect_eq(chio_export_nats_metrics_prometheus(NULL, &out, &len), CHIO_EINVAL);
    cr_expect_null(out, "*out is NULL after every failure");
    cr_expect_eq(chio_export_nats_stop(NULL), 0);
}

Test(rev32_xapi, witness_refuses_each_bad_argument_before_asking)
{
    chio_export_nats_witness_report rep;
    chio_error err;

    ERC(chio_export_nats_witness(NULL, "nats://127.0.0.1:1", NULL, NULL, 1, &rep, &err),
        CHIO_EINVAL);
    ERC(chio_export_nats_witness("/nonexistent", NULL, NULL, NULL, 1, &rep, &err), CHIO_EINVAL);
    ERC(chio_export_nats_witness("/nonexistent", "nats://127.0.0.1:1", NULL, NULL, 1, NULL, &err),
        CHIO_EINVAL);
    ERC(chio_export_nats_witness("/nonexistent", "nats://127.0.0.1:1", "a b", NULL, 1, &rep, &err),
        CHIO_EINVAL);
    ERC(chio_export_nats_witness("/nonexistent", "nats://127.0.0.1:1", NULL, "zz", 1, &rep, &err),
        CHIO_EINVAL);
    cr_expect_eq(rep.rollback, 0);
    cr_expect_eq(chio_export_nats_witness(NULL, NULL, NULL, NULL, 0, NULL, NULL), CHIO_EINVAL);
}
