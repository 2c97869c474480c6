/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev48_fleet.c - review 48 of the exporter, on a
 * one-node JetStream server (scripts/nats-cluster.sh).
 *
 * A --follow exporter reads the store's RocksDB IDENTITY file on every
 * poll, to notice a store replaced under it. It read it with fopen(), so
 * a FIFO put in the file's place blocked that open for good: the exporter
 * hung, and a SIGTERM was never acted on. The file is now opened with
 * O_NOFOLLOW|O_NONBLOCK and read only when it is a regular file; the
 * changed identity makes the exporter open the store again, which refuses
 * the FIFO (store/store_dir.c), and the exporter stops with an error.
 * Real kernel, store, server and build/chio process.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/poll.h"
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

TestSuite(rev48_fleet, .init = setup, .fini = teardown);

Test(rev48_fleet, a_fifo_for_identity_under_follow_stops_the_exporter_not_hangs_it)
{
    char *db = fu_path_in(dir, "db"), *log = fu_path_in(dir, "follow.log"), *ident = NULL,
         *moved = NULL;
    chio_kernel *k;
    uint64_t end;
    pid_t pid;
    int st;

    k = fu_kernel(db, 0x48, 10);
    fu_sign(k, 10, "a");
    chio_kernel_free(k);
    pid = fu_spawn(
        log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls, "--follow", NULL});
    for (end = testutil_now_ms() + 30000;
         testutil_now_ms() < end && fu_position(db, "CHIO", NULL) < 10;)
        testutil_nap_ms(5);
    cr_assert_eq(fu_position(db, "CHIO", NULL), 10, "exported");
    cr_assert_geq(asprintf(&ident, "%s/IDENTITY", db), 0);
    cr_assert_geq(asprintf(&moved, "%s/IDENTITY.away", db), 0);
    cr_assert_eq(rename(ident, moved), 0);
    cr_assert_eq(mkfifo(ident, 0600), 0);
    /* The exporter notices the changed identity, and waits for the store
     * to open again (as for a kernel's restart), naming the FIFO within
     * about 10 s. Before review 48 it blocked in fopen() of the FIFO:
     * nothing was said and the SIGTERM below was never acted on. */
    for (end = testutil_now_ms() + 40000; testutil_now_ms() < end;) {
        size_t len;
        char *text = testutil_read_file(log, &len);
        int seen = text != NULL && strstr(text, "which is a FIFO") != NULL;
        free(text);
        if (seen)
            break;
        testutil_nap_ms(50);
    }
    cr_expect_eq(kill(pid, SIGTERM), 0);
    st = fu_wait(pid, 15000);
    {
        size_t len;
        char *text = testutil_read_file(log, &len);
        cr_expect(text != NULL && strstr(text, "'IDENTITY', which is a FIFO") != NULL,
                  "the FIFO is named: %s", text ? text : "");
        cr_expect(st >= 0, "the exporter stops at SIGTERM (got %d): %s", st, text ? text : "");
        free(text);
    }
    unlink(ident);
    free(ident);
    free(moved);
    free(log);
    free(db);
}
