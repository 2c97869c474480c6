/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev28_sidecar.c - review 28 of the sidecar's control
 * routes, against the real `chio serve` over loopback HTTP/1.1.
 * Suite rev28_sidecar:
 * - a mint under an id a token minted here already has was answered 200
 *   and replaced the first token: whoever had been given the id then
 *   evaluated with the second token's subject and scope (a tool the first
 *   never granted was allowed). Now 409 id_in_use, and the first token
 *   stays;
 * - a mint under a revoked id was answered 200 with a token denied
 *   capability_revoked at every call. Now 409 id_in_use.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define BEARER  "rev28-sidecar-bearer-0123456789"
#define SUBJECT "1111111111111111111111111111111111111111111111111111111111111111"
#define SUBJ2   "2222222222222222222222222222222222222222222222222222222222222222"

#define SEED_HEX "2929292929292929292929292929292929292929292929292929292929292929"

/* The suite's sidecar (sidecar_proc.h), with its seed and bearer token. */
static void start(sidecar *sc)
{
    sidecar_start(sc, SEED_HEX, BEARER "\n");
}

static void stop(sidecar *sc)
{
    sidecar_stop(sc);
}

/* POST @body to @path with the bearer token on a new connection; the
 * status, and the answer's body in *@reply (malloc'd). */
static unsigned post(const sidecar *sc, const char *path, const char *body, char **reply)
{
    return sidecar_post(sc, path, "Authorization: Bearer " BEARER "\r\n", body, reply);
}

/* Mint a token for @subject granting invoke of s:@tool (and the grant's
 * extra members @extra, "" for none) under @id; the status, the answer in
 * *@reply. */
static unsigned mint(const sidecar *sc, const char *subject, const char *tool, const char *extra,
                     const char *id, char **reply)
{
    char body[1024];

    snprintf(body, sizeof(body),
             "{\"subject\":\"%s\",\"scope\":{\"grants\":[{\"server_id\":\"s\",\"tool_name\":"
             "\"%s\",\"operations\":[\"invoke\"]%s}]},\"id\":\"%s\"}",
             subject, tool, extra, id);
    return post(sc, "/v1/capabilities/mint", body, reply);
}

/* Evaluate s:@tool by the minted id @id; the answer must be 200 with
 * "code":@code. */
static void evaluate_id(const sidecar *sc, const char *id, const char *tool, const char *code)
{
    char body[512], want[96], *reply = NULL;

    snprintf(body, sizeof(body),
             "{\"capability_id\":\"%s\",\"tool_server\":\"s\",\"tool_name\":\"%s\"}", id, tool);
    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    cr_assert_eq(post(sc, "/v1/evaluate", body, &reply), 200, "%s", reply);
    cr_assert_not_null(strstr(reply, want), "%s %s: want %s, got %s", id, tool, code, reply);
    free(reply);
}

TestSuite(rev28_sidecar);

Test(rev28_sidecar, a_minted_id_is_not_minted_again)
{
    sidecar sc;
    char *reply = NULL;

    start(&sc);
    cr_assert_eq(mint(&sc, SUBJECT, "read", "", "job-1", &reply), 200, "%s", reply);
    free(reply);
    evaluate_id(&sc, "job-1", "read", "none");
    evaluate_id(&sc, "job-1", "admin", "out_of_scope");
    /* The same id again, another subject and a wider tool: the old
     * sidecar answered 200 and job-1's holder was then allowed admin. */
    cr_assert_eq(mint(&sc, SUBJ2, "admin", "", "job-1", &reply), 409, "%s", reply);
    cr_assert_not_null(strstr(reply, "\"code\":\"id_in_use\""), "%s", reply);
    free(reply);
    evaluate_id(&sc, "job-1", "admin", "out_of_scope");
    evaluate_id(&sc, "job-1", "read", "none");
    stop(&sc);
}

Test(rev28_sidecar, a_revoked_id_is_not_minted)
{
    sidecar sc;
    char *reply = NULL;

    start(&sc);
    cr_assert_eq(post(&sc, "/v1/capabilities/revoke", "{\"capability_id\":\"job-2\"}", &reply), 200,
                 "%s", reply);
    free(reply);
    /* The old sidecar signed it and answered 200: a token denied
     * capability_revoked at every call. */
    cr_assert_eq(mint(&sc, SUBJECT, "read", "", "job-2", &reply), 409, "%s", reply);
    cr_assert_not_null(strstr(reply, "\"code\":\"id_in_use\""), "%s", reply);
    free(reply);
    evaluate_id(&sc, "job-2", "read", "unknown_capability");
    /* Another id still mints. */
    cr_assert_eq(mint(&sc, SUBJECT, "read", "", "job-3", &reply), 200, "%s", reply);
    free(reply);
    evaluate_id(&sc, "job-3", "read", "none");
    stop(&sc);
}
