/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/token_views.h - what the tools say of a capability token
 * that the test kernel's key (TK_KERNEL_SEED, tests/kernel/tokens.h)
 * signed: `chio capability verify` trusting that key, and the kernel of an
 * in-process sidecar (chio_serve) trusting it. Tests compare the two so
 * that the CLI's report and the kernel's verdict cannot drift apart.
 */
#ifndef CHIO_TEST_TOKEN_VIEWS_H
#define CHIO_TEST_TOKEN_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "common/testutil.h"

/* Now, read once per test process (the sidecar's kernel judges time by
 * its own clock): tokens are issued before it and verified at it. */
uint64_t tv_now(void);
/* `chio capability verify --at tv_now() --trusted-key <kernel key>` of
 * @tok on stdin. */
cli_result tv_verify(const char *tok);
/* The verdict code the sidecar's kernel gives a call to tool t of server
 * s with the arguments @params (a JSON object) under @tok, into @code
 * (@cap bytes). Fails the test when the sidecar does not answer 200. */
void tv_sidecar_code(const char *tok, const char *params, char *code, size_t cap);

#endif
