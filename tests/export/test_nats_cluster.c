/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_nats_cluster.c - the fleet suites' cluster script
 * (scripts/nats-cluster.sh): a killed node keeps its ports from every
 * other cluster on the machine until it is restarted or stopped, so tests
 * that run side by side never restart a node onto a port another test's
 * cluster took meanwhile (a CI run failed so, with two tests per CPU).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/testutil.h"
#include "export/fleetutil.h"

TestSuite(nats_cluster);

/* The port numbers written under @cluster/nI/@file, appended to @v. */
static size_t ports_of(const char *cluster, int nodes, const char *file, unsigned *v, size_t n)
{
    char path[4096];
    int i;

    for (i = 1; i <= nodes; i++) {
        char *text;
        snprintf(path, sizeof(path), "%s/n%d/%s", cluster, i, file);
        text = testutil_read_file(path, NULL);
        cr_assert_not_null(text, "%s", path);
        v[n++] = (unsigned)strtoul(text, NULL, 10);
        free(text);
    }
    return n;
}

/* The number of holds under the TMPDIR @tmp (its lock not counted). */
static int holds_left(const char *tmp)
{
    char cmd[4200];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls '%s/chio-nats-ports' | wc -l", tmp);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* Fourteen ports to pick from: cluster A (one node: client, monitoring
 * and route ports) takes 3; its node is killed; cluster B (three nodes)
 * then needs 9 of the 11 left. Without the holds, B's picks took one of
 * the killed node's ports in most runs and A's restart failed to bind. */
Test(nats_cluster, a_killed_node_keeps_its_ports_from_other_clusters, .timeout = 120)
{
    char *dir = testutil_tmpdir(), *holds = testutil_join(dir, "tmp");
    char *a = testutil_join(dir, "a"), *b = testutil_join(dir, "b"), *ua, *ub, range[32];
    unsigned pa[2], pb[6];
    unsigned lo = 10000 + (unsigned)(getpid() % 1500) * 14;
    size_t i, j, na, nb;

    cr_assert_eq(mkdir(holds, 0700), 0);
    cr_assert_eq(setenv("TMPDIR", holds, 1), 0); /* this test's holds only */
    snprintf(range, sizeof(range), "%u-%u", lo, lo + 13);
    cr_assert_eq(setenv("CHIO_NATS_PORTS", range, 1), 0);

    ua = fu_cluster_start(a, 1);
    fu_cluster_kill(a, 1);
    ub = fu_cluster_start(b, 3);
    na = ports_of(a, 1, "port", pa, 0);
    na = ports_of(a, 1, "mport", pa, na);
    nb = ports_of(b, 3, "port", pb, 0);
    nb = ports_of(b, 3, "mport", pb, nb);
    for (i = 0; i < na; i++)
        for (j = 0; j < nb; j++)
            cr_expect_neq(pa[i], pb[j], "cluster b took port %u of a's killed node", pa[i]);
    fu_cluster_restart(a, 1); /* binds its old ports again: they were kept */

    fu_cluster_stop(b);
    fu_cluster_stop(a);
    cr_expect_eq(holds_left(holds), 0, "every hold let go once both clusters stopped");
    testutil_rmrf(dir);
    free(ua);
    free(ub);
    free(a);
    free(b);
    free(holds);
    free(dir);
}
