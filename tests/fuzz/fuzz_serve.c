/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_serve.c - libFuzzer target for the sidecar's request
 * handler (src/serve/: chio_serve_handle), without sockets: the same
 * function libmicrohttpd's threads call for every request of `chio serve`.
 *
 * Input: byte 0 picks the route (the seven routes and an unknown path),
 * byte 1 its flags (bit 0: the other method; bit 1: send the right bearer
 * token; bit 2: the first line of the rest is the X-Chio-Capability
 * header); the rest is the body. The sidecar is built once (a real kernel
 * on a RocksDB store in a temporary directory, no fsync, tools srv:echo and
 * srv:read, a bearer token) and kept between inputs: it is the state under
 * test. Invariants (abort() when violated):
 *   - every reply has a status in the documented set and a body;
 *   - a JSON reply is valid JSON; an error reply is exactly {"code",
 *     "message"}, and a 400's code is never internal_error;
 *   - a 200 from evaluate has verdict, code, reason and a receipt that
 *     verifies (signature, id, parameter hash) and is signed by the sidecar;
 *   - an allow never breaks a max_length constraint: when every grant of
 *     the body's capability carries one, no string leaf of the parameters
 *     is longer than the largest of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chio/chio.h>
#include <sanitizer/lsan_interface.h>

#include "serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TOKEN "fuzz-bearer-token-0123456789"

static chio_serve *srv;
static uint8_t kernel_key[32];

static void fail(const char *what, const char *body)
{
    fprintf(stderr, "fuzz_serve: invariant violated: %s\nbody: %s\n", what, body ? body : "");
    abort();
}

static void setup(void)
{
    static const char *const tools[] = {"srv:echo", "srv:read"};
    char tmpl[] = "/tmp/fuzz-serve-XXXXXX";
    chio_serve_config cfg;
    chio_error err;
    chio_keypair *kp = NULL;
    static char dir[64];
    int rc;

    /* The key of seed 11 x 32: the corpus's tokens are issued by it. */
    __lsan_disable();
    rc = chio_keypair_from_seed_hex(
        "1111111111111111111111111111111111111111111111111111111111111111", 64, &kp, NULL);
    __lsan_enable();
    if (rc != 0 || mkdtemp(tmpl) == NULL)
        fail("setup", NULL);
    snprintf(dir, sizeof(dir), "%s/db", tmpl);
    chio_keypair_public_key(kp, kernel_key);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.receipt_db = dir;
    cfg.nosync = 1;
    cfg.checkpoint_batch = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
    cfg.tools = tools;
    cfg.ntools = 2;
    cfg.bearer_token = FUZZ_TOKEN;
    cfg.quiet = 1;
    chio_error_init(&err);
    /* The sidecar lives for the whole run. Its key's page (mmap) holds
     * the only pointers to OpenSSL's key and signing contexts; it is a
     * LeakSanitizer root region (core/key_memory.c; in clang builds only
     * since it asks __has_feature, before which contexts made after
     * set-up read as leaked). The set-up stays out of the leak checks. */
    __lsan_disable();
    rc = chio_serve_new(&cfg, &srv, &err);
    __lsan_enable();
    if (rc != 0) {
        fprintf(stderr, "fuzz_serve: %s\n", err.message);
        abort();
    }
}

/* The longest string leaf under @v (object keys are not leaves). */
static size_t longest_leaf(const chio_json *v)
{
    size_t i, n = chio_json_size(v), m = 0, x;

    if (chio_json_typeof(v) == CHIO_JSON_STRING)
        return n;
    if (chio_json_typeof(v) != CHIO_JSON_ARRAY && chio_json_typeof(v) != CHIO_JSON_OBJECT)
        return 0;
    for (i = 0; i < n; i++)
        if ((x = longest_leaf(chio_json_at(v, i))) > m)
            m = x;
    return m;
}

/* The max_length of @grant (its largest), or -1 without one. */
static long grant_max_length(const chio_json *grant)
{
    const chio_json *cs = chio_json_get(grant, "constraints");
    size_t i;
    long best = -1;
    int64_t n;

    for (i = 0; i < chio_json_size(cs); i++) {
        const chio_json *c = chio_json_at(cs, i);
        const char *type = chio_json_string(chio_json_get(c, "type"), NULL);

        if (type != NULL && strcmp(type, "max_length") == 0 &&
            chio_json_get_int64(chio_json_get(c, "value"), &n) == 0 && n >= 0 && n > best)
            best = n > 1000000 ? 1000000 : (long)n;
    }
    return best;
}

/* An allowed request (@req, the body) whose capability holds a
 * max_length in every grant has no longer string in its parameters. */
static void check_allow_within_max_length(const char *req, size_t req_len, const char *body)
{
    chio_json_doc *doc = NULL;
    const chio_json *grants;
    size_t i;
    long limit = -1, m;

    if (req == NULL || chio_json_parse(req, req_len, &doc, NULL) != 0)
        return;
    grants = chio_json_get(chio_json_get(chio_json_get(chio_json_root(doc), "capability"), "scope"),
                           "grants");
    for (i = 0; i < chio_json_size(grants); i++) {
        if ((m = grant_max_length(chio_json_at(grants, i))) < 0) {
            limit = -1; /* a grant without max_length: no bound to check */
            break;
        }
        if (m > limit)
            limit = m;
    }
    if (limit >= 0 &&
        longest_leaf(chio_json_get(chio_json_root(doc), "parameters")) > (size_t)limit)
        fail("evaluate allowed a string longer than every grant's max_length", body);
    chio_json_doc_free(doc);
}

static void check_evaluate(const chio_json *root, const char *body)
{
    const chio_json *rj = chio_json_get(root, "receipt");
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    char *text = NULL;
    size_t len = 0;

    if (chio_json_get(root, "verdict") == NULL || chio_json_get(root, "code") == NULL ||
        chio_json_get(root, "reason") == NULL || rj == NULL)
        fail("evaluate 200 without verdict, code, reason and receipt", body);
    if (chio_json_write_canonical(rj, &text, &len) != 0 ||
        chio_receipt_parse(text, len, &r, NULL) != 0)
        fail("evaluate receipt does not parse", body);
    memset(&rep, 0, sizeof(rep));
    if (chio_receipt_verify(r, kernel_key, 1, &rep) != 0 || !rep.ok)
        fail("evaluate receipt does not verify against the sidecar's key", body);
    chio_receipt_free(r);
    chio_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/chio/live",
                                        "/chio/health",
                                        "/metrics",
                                        "/v1/evaluate",
                                        "/v1/receipts/verify",
                                        "/v1/capabilities/mint",
                                        "/v1/capabilities/revoke",
                                        "/v1/unknown"};
    static const int post[] = {0, 0, 0, 1, 1, 1, 1, 1};
    chio_serve_request rq;
    chio_serve_reply rep;
    chio_json_doc *doc = NULL;
    char *rest = NULL, *hdr = NULL;
    size_t route, n;

    if (srv == NULL)
        setup();
    if (size < 2)
        return 0;
    route = data[0] % 8;
    memset(&rq, 0, sizeof(rq));
    rq.path = paths[route];
    rq.method = (post[route] ^ (data[1] & 1)) ? "POST" : "GET";
    rq.authorization = (data[1] & 2) ? "Bearer " FUZZ_TOKEN : NULL;
    rest = malloc(size - 2 + 1);
    if (rest == NULL)
        return 0;
    memcpy(rest, data + 2, size - 2);
    rest[size - 2] = '\0';
    rq.body = rest;
    rq.body_len = size - 2;
    if (data[1] & 4) {
        n = strcspn(rest, "\n");
        hdr = strndup(rest, n);
        rq.capability_header = hdr;
        rq.body = rest + (n < size - 2 ? n + 1 : n);
        rq.body_len = size - 2 - (size_t)(rq.body - rest);
    }
    if (rq.body_len == 0)
        rq.body = NULL;

    chio_serve_handle(srv, &rq, &rep);
    switch (rep.status) {
    case 200:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 500:
    case 503:
        break;
    default:
        fail("unexpected status", rep.body);
    }
    if (rep.body == NULL)
        fail("reply without a body", NULL);
    if (strcmp(rep.content_type, "application/json") == 0) {
        const chio_json *root;

        if (chio_json_parse(rep.body, rep.body_len, &doc, NULL) != 0)
            fail("a JSON reply is not JSON", rep.body);
        root = chio_json_root(doc);
        if (rep.status != 200 && route > 2) {
            const char *code = chio_json_string(chio_json_get(root, "code"), NULL);

            if (chio_json_size(root) != 2 || code == NULL ||
                chio_json_string(chio_json_get(root, "message"), NULL) == NULL)
                fail("an error reply is not exactly {code, message}", rep.body);
            if (rep.status == 400 && strcmp(code, "internal_error") == 0)
                fail("a 400 (the request's fault) says internal_error", rep.body);
        }
        if (rep.status == 200 && route == 3) {
            const char *verdict = chio_json_string(chio_json_get(root, "verdict"), NULL);

            check_evaluate(root, rep.body);
            if (verdict != NULL && strcmp(verdict, "allow") == 0)
                check_allow_within_max_length(rq.body, rq.body_len, rep.body);
        }
        chio_json_doc_free(doc);
    }
    free(rep.body);
    free(hdr);
    free(rest);
    return 0;
}
