/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev46_sessions.c - review 46 of sessions and
 * registration. Suite rev46_sessions:
 * - an open_session that fails opens nothing and leaves registration open
 *   (docs/configuration.md, "Registration"): open_session closed
 *   registration before it drew the session's id and put the session in
 *   the table, so an open that failed there (out of memory for the table
 *   entry, no randomness for the id) had published nothing yet left every
 *   later registration refused CHIO_ESERVING. Each allocation of an open
 *   is failed in turn here, and a registration must succeed after each
 *   failed open.
 */
#include <criterion/criterion.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"

TestSuite(rev46_sessions);

static chio_tool_server one_server(const char *id)
{
    static const char *const tools[] = {"t"};
    chio_tool_server ts;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = id;
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    return ts;
}

Test(rev46_sessions, every_failed_open_leaves_registration_open)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1], name[32];
    uint64_t nth;
    int rc = -1, failed = 0;

    cr_assert(fa_active(), "the allocation injector is not linked in");
    kt_config(&cfg, NULL);
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    /* The random generator's first use allocates (and survives a failed
     * allocation): done here, so that the counted allocations below are
     * the open's own. */
    cr_assert_eq(RAND_bytes((unsigned char *)name, 16), 1);
    /* The Nth allocation of the open fails, for N = 1, 2, ... until an
     * open asks for fewer allocations than N and succeeds. */
    for (nth = 1; nth < 64 && rc != 0; nth++) {
        chio_tool_server ts;

        chio_error_init(&err);
        fa_arm(nth, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_open_session(k, TEST_PUB, NULL, NULL, 0, sid, &err);
        fa_disarm();
        if (rc == 0)
            break;
        cr_assert_eq(rc, CHIO_ENOMEM, "open with allocation %llu failing: %s (%d)",
                     (unsigned long long)nth, err.message, rc);
        failed++;
        snprintf(name, sizeof(name), "srv-%llu", (unsigned long long)nth);
        ts = one_server(name);
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0,
                     "an open that failed at allocation %llu opened nothing, yet registration "
                     "is refused: %s",
                     (unsigned long long)nth, err.message);
    }
    cr_assert_eq(rc, 0, "no open succeeded");
    cr_assert_gt(failed, 0);
    /* Opened now: registration is closed. */
    {
        chio_tool_server ts = one_server("late");

        chio_error_init(&err);
        cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_ESERVING);
    }
    chio_kernel_free(k);
}
