/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_size.h - the max_length and max_args_size constraints
 * (see constraint_size.c), called by constraints.c.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_SIZE_H
#define CHIO_KERNEL_CONSTRAINT_SIZE_H

#include <stddef.h>

#include "kernel_internal.h"
#include "scope.h"

/*
 * chio__size_holds - 1 when the max_length or max_args_size constraint @c
 * holds on @args, whose canonical JSON is @args_canonical_len bytes:
 * max_length when every string leaf and object key has at most c->num
 * bytes; max_args_size when the canonical JSON and serde_json's text of
 * @args (chio's measure: "1.0" keeps its ".0") have at most c->num bytes
 * each. Else 0 with a reason in @reason (@cap bytes).
 */
int chio__size_holds(const chio__constraint *c, const chio_json *args, size_t args_canonical_len,
                     char *reason, size_t cap);

#endif /* CHIO_KERNEL_CONSTRAINT_SIZE_H */
