/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev64_hosts.c - review 24 "hosts": the per-segment
 * program model (src/kernel/leaf_host_prog.c, leaf_host.c,
 * leaf_host_kv.c, constraint_domain.c):
 *   - C1: the segment splitter is linear (a run of backticks or newlines
 *     inside single quotes or $'..' was quadratic);
 * The grant is domain_exact api.example.com; every call carries its URL.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/hostcost.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define DX       KT_DX("api.example.com")
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* C1: CPU time held to a ratio: 4 times the bytes may cost about 4 times
 * the time (quadratic: 16); the figures are printed for the report */
Test(rev64_hosts, c1_the_splitter_costs_linear_time, .timeout = 60)
{
    static const char *const tools[] = {"t"};
    static const char *const cases[][3] = {
        {"echo '", "`", "'"},       {"echo $'", "`", "'"},
        {"echo '", "'`", "'"},      {"echo $'", "`x", "'"},
        {"echo '", "\\n", "'"},     {"echo \\\"", "\\n", "\\\""},
        {"echo \\\"", "`", "\\\""}, {"echo ", "`", ""},
        {"echo ", "$(", ""},        {"", "{ ", ""},
        {"echo ", "'", ""},         {"sh -c ", "\\n", ""},
        {"curl -A ", "} ", ""},
    };
    chio_kernel *k = kt_echo_kernel(NULL, hc_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    double t1, t4;
    size_t i;

    kt_grant_session(k, NOW, "cap-cost", DX, sid);
    for (i = 0; i < NROWS(cases); i++) {
        (void)hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 16); /* warm */
        t1 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 18);
        t4 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 1 << 20);
        fprintf(stderr, "rev64_hosts cost '%s%s': 256K %.4f s, 1M %.4f s, ratio %.2f\n",
                cases[i][0], cases[i][1], t1, t4, t4 / (t1 > 0 ? t1 : 1e-9));
        cr_expect_lt(t4, 8 * t1 + 0.05, "'%s': 256 KiB took %.4f s, 1 MiB %.4f s (ratio %.1f)",
                     cases[i][1], t1, t4, t4 / (t1 > 0 ? t1 : 1e-9));
        cr_expect_lt(t4, 2.0, "'%s': 1 MiB took %.4f s", cases[i][1], t4);
    }
    chio_kernel_free(k);
}
