/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev54_fleet.c - review 54: the witness and copies of
 * receipts published ahead of the exporter. A store that archived its
 * first receipts reads a stream item it lacks as a replay when the same
 * bytes came earlier under a seq the store archived (another client
 * publishing an archived receipt again). Whoever could publish on the
 * kernel's subject and held receipts the exporter had not yet sent
 * published them first under seq 1; the exporter's own copies then read
 * as replays, and the witness passed a store rolled back past them. Only
 * an archived seq published in seq order counts as an original now.
 * Real NATS JetStream, the real CLI.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "export/fleetutil.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    fu_suite_up(&dir, &nc, &urls, 1);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(fleet_rev54, .init = setup, .fini = teardown);

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

static void rogue_pub(const char *subject, const char *body, size_t len, uint64_t seq)
{
    fu_rogue_pub(urls, subject, body, len, seq);
}

Test(fleet_rev54, copies_published_ahead_do_not_hide_a_rollback)
{
    char *db = fu_path_in(dir, "db"), *arch = fu_path_in(dir, "arch"),
         *old = fu_path_in(dir, "old"), key[65], rs[128], cmd[1024];
    uint64_t seq;
    fu_run v;

    fu_pubkey(0x83, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    fu_fill(db, 0x83, 40, 10, "a");
    fu_export_expect(dir, urls, db, 40, 40);
    v = CLI(60000, "receipt", "archive", "--receipt-db", db, "--archive", arch, "--max-size", "1");
    cr_assert_eq(v.status, 0, "%s%s", v.out, v.err);
    fu_run_free(&v);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", db, old); /* what it is rolled back to */
    cr_assert_eq(system(cmd), 0);
    fu_fill(db, 0x83, 5, 10, "b");     /* 41..45, not yet exported */
    for (seq = 41; seq <= 45; seq++) { /* held by a caller, published first */
        size_t len;
        char *r = fu_stored_receipt(db, seq, &len);
        rogue_pub(rs, r, len, 1);
        free(r);
    }
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", old, "--nats", urls);
    cr_expect_eq(v.status, 1, "a rollback past 41..45 passed: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"reason\":\"rewound\"") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "first_differing_seq"), 41, "%s", v.out);
    fu_run_free(&v);
    /* the store as it is: no rollback */
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    fu_run_free(&v);
    free(db);
    free(arch);
    free(old);
}
