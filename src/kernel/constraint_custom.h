/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_custom.h - the custom constraint (see
 * constraint_custom.c), called by constraints.c.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_CUSTOM_H
#define CHIO_KERNEL_CONSTRAINT_CUSTOM_H

#include <stddef.h>

#include "kernel_internal.h"
#include "scope.h"

/*
 * chio__custom_holds - 1 when the custom constraint @c ([k, v]) holds on
 * @args: some object member named exactly k, at any depth, is the string
 * v, and every member named k, or named k to a decoder that folds case
 * (ASCII case, U+017F as 's', U+212A as 'k', as Go's encoding/json
 * does), is that string (a decoy {"x": {"env": "staging"}} or "ENV" beside
 * "env" must not pass); else 0 with a reason in @reason (@cap bytes),
 * which names the key only when a secret_leak guard flags v.
 */
int chio__custom_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap);

#endif /* CHIO_KERNEL_CONSTRAINT_CUSTOM_H */
