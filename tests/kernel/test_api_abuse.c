/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_api_abuse.c - the public API used carelessly by a host:
 * arguments at the edge of their type and callbacks that call back in.
 *
 *   null_kernel     registration with a NULL kernel is CHIO_EINVAL before
 *                   anything is read through it (UBSan builds aborted on
 *                   the member access)
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define SCOPE_ALL                                                                            \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}],"               \
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}"

TestSuite(api_abuse);

/* ---- null_kernel -------------------------------------------------------------------- */

static int read_one(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "1", 1);
}

static int get_one(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "1", 1);
}

Test(api_abuse, registering_a_provider_on_a_null_kernel_is_einval)
{
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    memset(&pp, 0, sizeof(pp));
    rp.provider_id = "rp";
    rp.read = read_one;
    pp.provider_id = "pp";
    pp.get = get_one;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(NULL, &rp, &err), CHIO_EINVAL);
    cr_assert_eq(err.code, CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_prompt_provider(NULL, &pp, &err), CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
}
