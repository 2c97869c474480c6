/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev27_bounded.c - the sidecar's table of minted tokens
 * does not fill for good: a sidecar that mints short-lived tokens (one
 * per task, the usual way) kept every one until it restarted, so after
 * CHIO_SERVE_MAX_SESSIONS mints every later mint was 503 limit_reached.
 * Expired tokens now give their slots back when the table is full; a
 * full table of unexpired tokens still refuses (503, limit_reached).
 * The serve layer in-process (chio_serve_handle(), the routes as the HTTP
 * layer calls them) over an ephemeral kernel: no sockets, so that the
 * 65536 mints take seconds. Suite serve_bounded.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "serve/serve.h"

#define BEARER "Bearer rev27-bounded-bearer-token"

static chio_serve *srv;

static void setup(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER + 7;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    chio_serve_free(srv);
}

TestSuite(serve_bounded, .init = setup, .fini = teardown);

/* POST @path with @body; the status, the reply's body in @text (when
 * not NULL, the caller frees it). */
static unsigned post(const char *path, const char *body, char **text)
{
    chio_serve_request rq;
    chio_serve_reply rep;

    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = path;
    rq.authorization = BEARER;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    if (text != NULL)
        *text = rep.body != NULL ? strndup(rep.body, rep.body_len) : strdup("");
    free(rep.body);
    return rep.status;
}

/* Mint a token for tool s:t living @ttl seconds, id @id (NULL: a random
 * one); the status, the reply in @text as for post(). */
static unsigned mint(unsigned ttl, const char *id, char **text)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"subject\":\"%064d\",\"scope\":{\"grants\":[{\"server_id\":\"s\",\"tool_name\":"
             "\"t\",\"operations\":[\"invoke\"]}]},\"ttl_secs\":%u%s%s%s}",
             0, ttl, id ? ",\"id\":\"" : "", id ? id : "", id ? "\"" : "");
    return post("/v1/capabilities/mint", body, text);
}

Test(serve_bounded, expired_minted_tokens_give_their_slots_back)
{
    uint64_t deadline;
    unsigned st = 0;
    char *text = NULL;
    int i;

    /* A long-lived token first: it must survive the sweeps below. */
    cr_assert_eq(mint(3600, "kept-one", NULL), 200);
    for (i = 1; i < CHIO_SERVE_MAX_SESSIONS; i++)
        cr_assert_eq(st = mint(1, NULL, NULL), 200, "mint %d: %u", i, st);
    /* The table is full; once the short-lived tokens expire (within two
     * seconds of their mint), a mint succeeds again. The old table kept
     * them: every mint was 503 until a restart. */
    deadline = testutil_now_ms() + 5000;
    do {
        st = mint(3600, NULL, NULL);
        if (st != 200)
            testutil_nap_ms(50);
    } while (st != 200 && testutil_now_ms() < deadline);
    cr_assert_eq(st, 200, "a full table of expired tokens still refused a mint (%u)", st);
    /* The long-lived token is still known by its id. */
    cr_assert_eq(post("/v1/evaluate",
                      "{\"capability_id\":\"kept-one\",\"tool_server\":\"s\",\"tool_name\":\"t\","
                      "\"parameters\":{}}",
                      &text),
                 200, "%s", text);
    cr_assert(strstr(text, "\"verdict\":\"allow\"") != NULL, "%s", text);
    free(text);
}

Test(serve_bounded, a_table_full_of_live_tokens_refuses_with_503)
{
    unsigned st = 0;
    char *text = NULL;
    int i;

    for (i = 0; i < CHIO_SERVE_MAX_SESSIONS; i++)
        cr_assert_eq(st = mint(3600, NULL, NULL), 200, "mint %d: %u", i, st);
    cr_assert_eq(mint(3600, NULL, &text), 503, "%s", text);
    cr_assert(strstr(text, "\"code\":\"limit_reached\"") != NULL, "%s", text);
    cr_assert(strstr(text, "unexpired") != NULL, "%s", text);
    free(text);
}
