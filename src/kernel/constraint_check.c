/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_check.c - chio_capability_never_allows(): a token's
 * tool grants read without a call, for constraints whose value alone
 * makes check 6 deny every call under the grant (a pattern the kernel
 * does not enforce, a path prefix no path lies under, a host pattern no
 * host matches). The judgement is check 6's own
 * (chio__constraint_never_holds, constraints.c), so a grant this calls
 * dead is one the kernel denies, with the reason it gives. `chio
 * capability verify` and `issue` report it (review 6 CLI F2).
 *
 * No state; a regex is compiled alone and dropped (never cached).
 */
#include <stdio.h>

#include "kernel_internal.h"
#include "scope.h"

int chio_capability_never_allows(const chio_capability *cap, int *found, char *why, size_t why_cap)
{
    const chio__scope *sc;
    char scratch[1], reason[256];
    uint32_t g, c;
    int rc;

    if (found != NULL)
        *found = 0;
    if (cap == NULL || found == NULL || (why == NULL && why_cap > 0))
        return CHIO_EINVAL;
    if (why_cap == 0) {
        why = scratch;
        why_cap = sizeof(scratch);
    }
    why[0] = '\0';
    sc = chio__capability_scope(cap);
    for (g = 0; g < sc->ngrants; g++) {
        const chio__tool_grant *tg = &sc->grants[g];
        /* A grant asking for what the kernel does not enforce is unusable
         * already (chio_capability_unenforced() names it). */
        if (tg->unsupported != NULL)
            continue;
        for (c = 0; c < tg->nconstraints; c++) {
            reason[0] = '\0';
            rc = chio__constraint_never_holds(&tg->constraints[c], reason, sizeof(reason));
            if (rc == 0)
                continue;
            if (rc != 1)
                return rc; /* CHIO_ENOMEM */
            *found = 1;
            snprintf(why, why_cap,
                     "grant %u (server '%.60s', tool '%.60s') allows no call, whatever the "
                     "arguments (constraint %u, constraint_violated): %s",
                     g, tg->server_id, tg->tool_name, c, reason);
            return 0;
        }
    }
    return 0;
}
