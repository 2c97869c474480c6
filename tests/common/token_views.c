/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/token_views.c - see token_views.h.
 */
#include "common/token_views.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "kernel/tokens.h"
#include "serve/serve.h"

uint64_t tv_now(void)
{
    static uint64_t at;

    if (at == 0)
        at = (uint64_t)time(NULL);
    return at;
}

cli_result tv_verify(const char *tok)
{
    char pub[65], at[32];
    const char *argv[] = {"capability", "verify", "--at", at, "--trusted-key", pub, NULL};

    tk_pub(TK_KERNEL_SEED, pub);
    snprintf(at, sizeof(at), "%llu", (unsigned long long)tv_now());
    return testutil_run_cli(argv, tok, strlen(tok));
}

/* A sidecar whose kernel trusts the test kernel's key (its own key new). */
static chio_serve *sidecar_new(void)
{
    chio_serve_config cfg;
    chio_serve *srv = NULL;
    chio_keypair *kp = NULL;
    chio_error err;
    uint8_t ca[32];
    char pub[65];

    tk_pub(TK_KERNEL_SEED, pub);
    cr_assert_eq(chio_pubkey_from_hex(pub, 64, ca), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.ca_keys = ca;
    cfg.n_ca_keys = 1;
    cfg.nosync = 1;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
    return srv;
}

void tv_sidecar_code(const char *tok, const char *params, char *code, size_t cap)
{
    chio_serve *srv = sidecar_new();
    chio_serve_request rq;
    chio_serve_reply rep;
    char *body = NULL;
    const char *c;

    cr_assert(asprintf(&body,
                       "{\"capability\":%s,\"tool_server\":\"s\",\"tool_name\":\"t\","
                       "\"parameters\":%s}",
                       tok, params) > 0);
    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = "/v1/evaluate";
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    cr_assert_eq(rep.status, 200, "%.*s", (int)rep.body_len, rep.body);
    c = strstr(rep.body, "\"code\":\"");
    cr_assert_not_null(c, "%.*s", (int)rep.body_len, rep.body);
    c += strlen("\"code\":\"");
    snprintf(code, cap, "%.*s", (int)(strchr(c, '"') - c), c);
    free(rep.body);
    free(body);
    chio_serve_free(srv);
}
