/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/tokens.c - see tokens.h. Messages are built as JSON text,
 * canonicalised by the library and signed with chio_keypair_sign(), the
 * way chio signs them (spec/wire-format.md section 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/tokens.h"

static chio_keypair *key(const char *seed)
{
    chio_keypair *kp = NULL;

    chio_keypair_from_seed_hex(seed, strlen(seed), &kp, NULL);
    return kp;
}

void tk_pub(const char *seed_hex, char out[65])
{
    chio_keypair *kp = key(seed_hex);

    snprintf(out, 65, "%s", kp ? chio_keypair_public_hex(kp) : "");
    chio_keypair_free(kp);
}

/* Canonicalise @text, sign it with @seed, write the signature hex. */
static int sign_text(const char *seed, const char *text, char sighex[129], char **canon_out)
{
    chio_keypair *kp = key(seed);
    uint8_t sig[64];
    char *canon;
    size_t len;
    int rc;

    if (kp == NULL)
        return -1;
    rc = chio_json_canonicalize(text, strlen(text), &canon, &len, NULL);
    if (rc == 0)
        rc = chio_keypair_sign(kp, canon, len, sig);
    chio_keypair_free(kp);
    if (rc != 0) {
        chio_free(canon);
        return -1;
    }
    chio_hex_encode(sig, 64, sighex);
    if (canon_out)
        *canon_out = canon;
    else
        chio_free(canon);
    return 0;
}

char *tk_token(const char *issuer_seed, const char *id, const char *subject_pub,
               const char *scope_json, uint64_t iat, uint64_t ttl, const tk_link *links,
               size_t nlinks)
{
    size_t cap = 4096 + strlen(scope_json) + nlinks * 512, i;
    char *chain = malloc(cap), *body = malloc(cap), *out = malloc(cap + 200);
    char issuer[65], sig[129];
    size_t off = 0;

    if (chain == NULL || body == NULL || out == NULL)
        goto fail;
    tk_pub(issuer_seed, issuer);
    chain[0] = '\0';
    for (i = 0; i < nlinks; i++) {
        char link[1024], delegator[65];
        tk_pub(links[i].delegator_seed, delegator);
        snprintf(link, sizeof(link),
                 "{\"capability_id\":\"%s\",\"delegator\":\"%s\",\"delegatee\":\"%s\","
                 "\"timestamp\":%llu}",
                 links[i].capability_id, delegator, links[i].delegatee_pub,
                 (unsigned long long)links[i].timestamp);
        if (sign_text(links[i].delegator_seed, link, sig, NULL) != 0)
            goto fail;
        link[strlen(link) - 1] = '\0';
        off += (size_t)snprintf(chain + off, cap - off, "%s%s,\"signature\":\"%s\"}", i ? "," : "",
                                link, sig);
    }
    snprintf(body, cap,
             "{%s%s%s\"expires_at\":%llu,\"id\":\"%s\",\"issued_at\":%llu,\"issuer\":\"%s\","
             "\"scope\":%s,\"subject\":\"%s\"",
             nlinks ? "\"delegation_chain\":[" : "", chain, nlinks ? "]," : "",
             (unsigned long long)(iat + ttl), id, (unsigned long long)iat, issuer, scope_json,
             subject_pub);
    snprintf(out, cap + 200, "%s,\"schema\":\"chio.capability.v1\"}", body);
    if (sign_text(issuer_seed, out, sig, NULL) != 0)
        goto fail;
    snprintf(out, cap + 200, "%s,\"signature\":\"%s\"}", body, sig);
    {
        char *canon;
        size_t len;
        if (chio_json_canonicalize(out, strlen(out), &canon, &len, NULL) != 0)
            goto fail;
        free(chain);
        free(body);
        free(out);
        out = strdup(canon);
        chio_free(canon);
        return out;
    }
fail:
    free(chain);
    free(body);
    free(out);
    return NULL;
}

char *tk_replace(const char *json, const char *from, const char *to)
{
    const char *at = strstr(json, from);
    size_t n = strlen(json) - strlen(from) + strlen(to) + 1, pre;
    char *out;

    if (at == NULL)
        return NULL;
    out = malloc(n);
    if (out == NULL)
        return NULL;
    pre = (size_t)(at - json);
    memcpy(out, json, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}
