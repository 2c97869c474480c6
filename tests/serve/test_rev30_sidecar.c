/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev30_sidecar.c - review 30 of the sidecar's request
 * credentials, against the real `chio serve` over loopback HTTP/1.1.
 * Suite rev30_sidecar:
 * - libmicrohttpd hands over the first of two same-named headers, so a
 *   request with two Authorization headers passed with the right token
 *   first and any second one, and one with two X-Chio-Capability headers
 *   was evaluated with the first token while the second was dropped
 *   unseen. Now both are 400 invalid_request from the headers alone, like
 *   two Host headers, and nothing is signed;
 * - the bearer check's edges that hold: any case of the scheme, spaces
 *   around the token, a token in the query string is no token (401).
 * Suite rev30_bounded, the serve layer in-process (chio_serve_handle(), as
 * the HTTP layer calls it, so that 65536 mints take seconds):
 * - a revoked minted token kept its slot in the table of minted tokens
 *   until it expired, so a sidecar that minted long-lived tokens and
 *   revoked them when done was full after 65536 mints, however many it
 *   had revoked, and answered every later mint 503 until it restarted.
 *   Revoked tokens now give their slots back when the table is full.
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
#include "serve/serve.h"
#include "serve/serve_internal.h"

#define BEARER  "rev30-sidecar-bearer-0123456789"
#define SUBJECT "3333333333333333333333333333333333333333333333333333333333333333"

#define SEED_HEX "3030303030303030303030303030303030303030303030303030303030303030"

/* The suite's sidecar (sidecar_proc.h), with its seed and bearer token. */
static void start(sidecar *sc)
{
    sidecar_start(sc, SEED_HEX, BEARER "\n");
}

static void stop(sidecar *sc)
{
    sidecar_stop(sc);
}

static unsigned send_raw(const sidecar *sc, const char *target, const char *headers,
                         const char *body, char **reply)
{
    return sidecar_post(sc, target, headers, body, reply);
}

/* Base64url (no padding) of @in, malloc'd. */
static char *b64url(const char *in)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), i, o = 0;
    char *out = malloc(n * 4 / 3 + 4);
    uint32_t acc = 0;
    int bits = 0;

    cr_assert_not_null(out);
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | (unsigned char)in[i];
        for (bits += 8; bits >= 6; bits -= 6)
            out[o++] = al[(acc >> (bits - 6)) & 63];
    }
    if (bits > 0)
        out[o++] = al[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

/* Mint a token for SUBJECT granting s:read under @id; its JSON text
 * (malloc'd). */
static char *mint_token(const sidecar *sc, const char *id)
{
    char body[512], *reply = NULL, *tok;
    const char *end;

    snprintf(body, sizeof(body),
             "{\"subject\":\"" SUBJECT "\",\"scope\":{\"grants\":[{\"server_id\":\"s\","
             "\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]},\"id\":\"%s\"}",
             id);
    cr_assert_eq(
        send_raw(sc, "/v1/capabilities/mint", "Authorization: Bearer " BEARER "\r\n", body, &reply),
        200, "%s", reply);
    cr_assert_eq(strncmp(reply, "{\"capability\":", 14), 0, "%s", reply);
    end = strstr(reply, ",\"capability_id\":");
    cr_assert_not_null(end, "%s", reply);
    tok = strndup(reply + 14, (size_t)(end - (reply + 14)));
    free(reply);
    return tok;
}

#define EVAL_UNKNOWN \
    "{\"capability_id\":\"never-minted\",\"tool_server\":\"s\",\"tool_name\":\"read\"}"

TestSuite(rev30_sidecar);

Test(rev30_sidecar, two_authorization_headers_are_400_and_sign_nothing)
{
    static const char *const twice[] = {
        "Authorization: Bearer " BEARER "\r\nAuthorization: Bearer wrong-wrong-wrong\r\n",
        "Authorization: Bearer wrong-wrong-wrong\r\nAuthorization: Bearer " BEARER "\r\n",
        "Authorization: Bearer " BEARER "\r\nauthorization: Bearer " BEARER "\r\n",
    };
    sidecar sc;
    char *reply = NULL;
    size_t i;

    start(&sc);
    /* One right header: evaluated (an id never minted: a deny with a receipt). */
    cr_assert_eq(
        send_raw(&sc, "/v1/evaluate", "Authorization: Bearer " BEARER "\r\n", EVAL_UNKNOWN, &reply),
        200, "%s", reply);
    cr_assert_not_null(strstr(reply, "\"code\":\"unknown_capability\""), "%s", reply);
    free(reply);
    for (i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
        cr_assert_eq(send_raw(&sc, "/v1/evaluate", twice[i], EVAL_UNKNOWN, &reply), 400,
                     "case %zu: %s", i, reply);
        cr_assert_not_null(strstr(reply, "more than one Authorization header"), "%s", reply);
        cr_assert_null(strstr(reply, "\"receipt\""), "%s", reply);
        free(reply);
        cr_assert_eq(send_raw(&sc, "/v1/capabilities/revoke", twice[i],
                              "{\"capability_id\":\"x-rev30\"}", &reply),
                     400, "case %zu: %s", i, reply);
        free(reply);
    }
    stop(&sc);
}

Test(rev30_sidecar, two_capability_headers_are_400_and_sign_nothing)
{
    sidecar sc;
    char *tok, *enc, hdr[8192], *reply = NULL;
    const char *body =
        "{\"capability_id\":\"rev30-a\",\"tool_server\":\"s\",\"tool_name\":\"read\"}";

    start(&sc);
    tok = mint_token(&sc, "rev30-a");
    enc = b64url(tok);
    /* One header: the token is evaluated, and allowed. */
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer " BEARER "\r\nX-Chio-Capability: %s\r\n",
             enc);
    cr_assert_eq(send_raw(&sc, "/v1/evaluate", hdr, body, &reply), 200, "%s", reply);
    cr_assert_not_null(strstr(reply, "\"verdict\":\"allow\""), "%s", reply);
    free(reply);
    /* Two: which one a proxy or a log saw is anyone's guess. */
    snprintf(hdr, sizeof(hdr),
             "Authorization: Bearer " BEARER "\r\nX-Chio-Capability: %s\r\n"
             "x-chio-capability: e30\r\n",
             enc);
    cr_assert_eq(send_raw(&sc, "/v1/evaluate", hdr, body, &reply), 400, "%s", reply);
    cr_assert_not_null(strstr(reply, "more than one X-Chio-Capability header"), "%s", reply);
    cr_assert_null(strstr(reply, "\"receipt\""), "%s", reply);
    free(reply);
    free(enc);
    free(tok);
    stop(&sc);
}

Test(rev30_sidecar, the_bearer_checks_edges_hold)
{
    sidecar sc;
    char *reply = NULL;

    start(&sc);
    /* The scheme in any case, spaces around the token: accepted (RFC 9110). */
    cr_assert_eq(send_raw(&sc, "/v1/evaluate", "Authorization: bEaReR    " BEARER "  \r\n",
                          EVAL_UNKNOWN, &reply),
                 200, "%s", reply);
    free(reply);
    /* The token in the query string, or as another scheme, is no token. */
    cr_assert_eq(send_raw(&sc, "/v1/evaluate?access_token=" BEARER, "", EVAL_UNKNOWN, &reply), 401,
                 "%s", reply);
    free(reply);
    cr_assert_eq(
        send_raw(&sc, "/v1/evaluate", "Authorization: Basic " BEARER "\r\n", EVAL_UNKNOWN, &reply),
        401, "%s", reply);
    free(reply);
    /* A prefix of the token, or the token with a byte more: 401. */
    cr_assert_eq(send_raw(&sc, "/v1/capabilities/revoke", "Authorization: Bearer rev30\r\n",
                          "{\"capability_id\":\"x\"}", &reply),
                 401, "%s", reply);
    free(reply);
    cr_assert_eq(send_raw(&sc, "/v1/capabilities/revoke", "Authorization: Bearer " BEARER "x\r\n",
                          "{\"capability_id\":\"x\"}", &reply),
                 401, "%s", reply);
    free(reply);
    stop(&sc);
}

/* ---- rev30_bounded: in-process ------------------------------------------------------------- */

static chio_serve *srv;

static void bounded_setup(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
}

static void bounded_teardown(void)
{
    chio_serve_free(srv);
}

TestSuite(rev30_bounded, .init = bounded_setup, .fini = bounded_teardown);

/* POST @body to @path in-process with the bearer token; the status, the
 * reply's body in *@text when @text is not NULL (the caller frees it). */
static unsigned handle(const char *path, const char *body, char **text)
{
    chio_serve_request rq;
    chio_serve_reply rep;

    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = path;
    rq.authorization = "Bearer " BEARER;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    if (text != NULL)
        *text = rep.body != NULL ? strndup(rep.body, rep.body_len) : strdup("");
    free(rep.body);
    return rep.status;
}

/* Mint a day-long token for s:read under id "long-@n". */
static unsigned mint_long(int n)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"subject\":\"" SUBJECT "\",\"scope\":{\"grants\":[{\"server_id\":\"s\","
             "\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]},\"ttl_secs\":86400,"
             "\"id\":\"long-%d\"}",
             n);
    return handle("/v1/capabilities/mint", body, NULL);
}

/* Evaluate s:read by the minted id "long-@n"; the answer must be 200 with
 * @want in it (a decision, with its receipt). */
static void evaluate_long(int n, const char *want)
{
    char body[256], *text = NULL;

    snprintf(body, sizeof(body),
             "{\"capability_id\":\"long-%d\",\"tool_server\":\"s\",\"tool_name\":\"read\"}", n);
    cr_assert_eq(handle("/v1/evaluate", body, &text), 200, "%s", text);
    cr_assert_not_null(strstr(text, want), "long-%d: want %s, got %s", n, want, text);
    cr_assert_not_null(strstr(text, "\"receipt\":{"), "%s", text);
    free(text);
}

Test(rev30_bounded, revoked_minted_tokens_give_their_slots_back)
{
    unsigned st = 0;
    int i;

    for (i = 0; i < CHIO_SERVE_MAX_SESSIONS; i++)
        cr_assert_eq(st = mint_long(i), 200, "mint %d: %u", i, st);
    cr_assert_eq(st = mint_long(i), 503, "a full table of live tokens: %u", st);
    cr_assert_eq(handle("/v1/capabilities/revoke", "{\"capability_id\":\"long-7\"}", NULL), 200);
    /* Denied whether or not its slot was taken back yet. */
    evaluate_long(7, "\"verdict\":\"deny\"");
    /* The revoked token's slot is free: the old table answered 503 here
     * until the revoked token expired, a day later. */
    cr_assert_eq(st = mint_long(CHIO_SERVE_MAX_SESSIONS), 200, "after a revoke: %u", st);
    cr_assert_eq(st = mint_long(CHIO_SERVE_MAX_SESSIONS + 1), 503, "full again: %u", st);
    /* The revoked id stays denied and is never minted again; the live
     * tokens are untouched. */
    evaluate_long(7, "\"verdict\":\"deny\"");
    cr_assert_eq(st = mint_long(7), 409, "the revoked id minted again: %u", st);
    evaluate_long(6, "\"verdict\":\"allow\"");
    evaluate_long(CHIO_SERVE_MAX_SESSIONS, "\"verdict\":\"allow\"");
}
