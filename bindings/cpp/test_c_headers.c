/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_c_headers.c - the public C headers are strict C99: this translation
 * unit must compile with
 *   cc -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -c bindings/cpp/test_c_headers.c
 * It includes the umbrella header twice (include guards) and every header
 * on its own, and touches a few declarations so that they are really used.
 * CHIO_WARN_DEPRECATED is on: the bindings use no deprecated name.
 */
#define CHIO_WARN_DEPRECATED 1
#include <chio/chio.h>
#include <chio/chio.h>
#include <chio/capability.h>
#include <chio/checkpoint.h>
#include <chio/crypto.h>
#include <chio/error.h>
#include <chio/evaluate.h>
#include <chio/export.h>
#include <chio/json.h>
#include <chio/kernel.h>
#include <chio/merkle.h>
#include <chio/receipt.h>
#include <chio/store.h>
#include <chio/abi.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Compile-time checks of a few ABI promises. */
typedef char chio_check_no_offset[(CHIO_NO_OFFSET == (size_t)-1) ? 1 : -1];
typedef char chio_check_enosession[(CHIO_ENOSESSION == -72) ? 1 : -1];
typedef char chio_check_session_len[(CHIO_SESSION_ID_LEN == 27) ? 1 : -1];
typedef char chio_check_code_last[(CHIO_CODE_INVALID_REQUEST == 24) ? 1 : -1];
/* Reserved tails end the structs that have them (chio/abi.h). */
typedef char chio_check_call_tail[(offsetof(chio_call, reserved) + sizeof(((chio_call *)0)->reserved) ==
                                   sizeof(chio_call))
                                      ? 1
                                      : -1];

int chio_header_check_c(void);

int chio_header_check_c(void)
{
    chio_error err;
    chio_kernel_config cfg;
    chio_response resp;
    chio_call call;
    const char *name;

    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    chio_response_init(&resp);
    memset(&call, 0, sizeof(call));
    call.arguments_json = "{}";
    call.arguments_len = 2;
    name = chio_errno_name(CHIO_ENOSESSION);
    printf("%s %s %s %s %s %d\n", chio_version(), name, chio_strerror(CHIO_EDRAINED),
           chio_code_name(CHIO_CODE_TOOL_ERROR), chio_verdict_name(CHIO_VERDICT_DENY),
           (int)cfg.signer_threads);
    chio_response_destroy(&resp);
    return err.code;
}
