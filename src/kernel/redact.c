/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/redact.c - redacted copies of arguments and tool output for
 * receipts (see mediate.h). Placeholder: nothing is flagged yet.
 */
#include <stddef.h>

#include "kernel_internal.h"

int chio__redact(chio_kernel *k, const chio_json *v, char **out, size_t *out_len, size_t *nflagged,
                 const char **guard)
{
    (void)k;
    (void)v;
    *out = NULL;
    *out_len = 0;
    *nflagged = 0;
    *guard = NULL;
    return 0;
}
