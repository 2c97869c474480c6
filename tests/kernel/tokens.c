/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/tokens.c - see tokens.h. Messages are built as JSON text,
 * canonicalised by the library and signed with chio_keypair_sign(), the
 * way chio signs them (spec/wire-format.md section 4).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/tokens.h"

/* Keypairs made here, kept for the process's life. Making one scans the
 * process's writable memory for OpenSSL's copy of the seed (docs/
 * security.md, "The signing key and core dumps"): milliseconds to tens of
 * them in a test process,
 * paid for every token when each made its own (a third of the suite's
 * system time; a test minting 400 tokens took 40 s). The few seeds the
 * tests use are made once; signing is safe from any thread. */
#define KEY_CACHE 32
static struct {
    char seed[67];
    chio_keypair *kp;
} keys[KEY_CACHE];
static size_t nkeys;
static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;

/* The keypair of @seed, or NULL; *@owned set when the caller frees it
 * (the cache was full or the seed too long to keep). */
static chio_keypair *key(const char *seed, int *owned)
{
    chio_keypair *kp = NULL;
    size_t i, n = strlen(seed);

    *owned = 0;
    pthread_mutex_lock(&keys_mu);
    for (i = 0; i < nkeys; i++)
        if (strcmp(keys[i].seed, seed) == 0) {
            kp = keys[i].kp;
            break;
        }
    if (kp == NULL && chio_keypair_from_seed_hex(seed, n, &kp, NULL) == 0) {
        if (nkeys < KEY_CACHE && n < sizeof(keys[0].seed)) {
            memcpy(keys[nkeys].seed, seed, n + 1);
            keys[nkeys++].kp = kp;
        } else {
            *owned = 1;
        }
    }
    pthread_mutex_unlock(&keys_mu);
    return kp;
}

static void key_done(chio_keypair *kp, int owned)
{
    if (owned)
        chio_keypair_free(kp);
}

void tk_pub(const char *seed_hex, char out[65])
{
    int owned;
    chio_keypair *kp = key(seed_hex, &owned);

    snprintf(out, 65, "%s", kp ? chio_keypair_public_hex(kp) : "");
    key_done(kp, owned);
}

/* Canonicalise @text, sign it with @seed, write the signature hex. */
static int sign_text(const char *seed, const char *text, char sighex[129], char **canon_out)
{
    int owned;
    chio_keypair *kp = key(seed, &owned);
    uint8_t sig[64];
    char *canon;
    size_t len;
    int rc;

    if (kp == NULL)
        return -1;
    rc = chio_json_canonicalize(text, strlen(text), &canon, &len, NULL);
    if (rc == 0)
        rc = chio_keypair_sign(kp, canon, len, sig);
    key_done(kp, owned);
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

    for (i = 0; i < nlinks; i++)
        cap += links[i].attenuations ? strlen(links[i].attenuations) + 32 : 0;
    char *chain = malloc(cap), *body = malloc(cap), *out;
    char issuer[65], sig[129];
    size_t off = 0;

    if (chain == NULL || body == NULL)
        goto fail;
    tk_pub(issuer_seed, issuer);
    chain[0] = '\0';
    for (i = 0; i < nlinks; i++) {
        const char *att = links[i].attenuations;
        size_t lcap = 1024 + (att ? strlen(att) : 0);
        char *link = malloc(lcap), delegator[65];
        int bad;

        if (link == NULL)
            goto fail;
        tk_pub(links[i].delegator_seed, delegator);
        snprintf(link, lcap,
                 "{%s%s%s\"capability_id\":\"%s\",\"delegator\":\"%s\",\"delegatee\":\"%s\","
                 "\"timestamp\":%llu}",
                 att ? "\"attenuations\":" : "", att ? att : "", att ? "," : "",
                 links[i].capability_id, delegator, links[i].delegatee_pub,
                 (unsigned long long)links[i].timestamp);
        bad = sign_text(links[i].delegator_seed, link, sig, NULL) != 0;
        if (bad) {
            free(link);
            goto fail;
        }
        link[strlen(link) - 1] = '\0';
        off += (size_t)snprintf(chain + off, cap - off, "%s%s,\"signature\":\"%s\"}", i ? "," : "",
                                link, sig);
        free(link);
    }
    snprintf(body, cap,
             "{%s%s%s\"expires_at\":%llu,\"id\":\"%s\",\"issued_at\":%llu,\"issuer\":\"%s\","
             "\"scope\":%s,\"subject\":\"%s\"}",
             nlinks ? "\"delegation_chain\":[" : "", chain, nlinks ? "]," : "",
             (unsigned long long)(iat + ttl), id, (unsigned long long)iat, issuer, scope_json,
             subject_pub);
    out = tk_sign_body(issuer_seed, body);
    free(chain);
    free(body);
    return out;
fail:
    free(chain);
    free(body);
    return NULL;
}

char *tk_sign_body(const char *issuer_seed, const char *body)
{
    size_t n = strlen(body), cap = n + 200;
    char *text = malloc(cap), sig[129], *canon = NULL, *out = NULL;
    size_t len;

    if (text == NULL || n < 2 || body[n - 1] != '}')
        goto done;
    /* signed: the body with "schema" added; stored: with "signature" */
    snprintf(text, cap, "%.*s,\"schema\":\"chio.capability.v1\"}", (int)(n - 1), body);
    if (sign_text(issuer_seed, text, sig, NULL) != 0)
        goto done;
    snprintf(text, cap, "%.*s,\"signature\":\"%s\"}", (int)(n - 1), body, sig);
    if (chio_json_canonicalize(text, strlen(text), &canon, &len, NULL) != 0)
        goto done;
    out = strdup(canon);
done:
    chio_free(canon);
    free(text);
    return out;
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

char *tk_attenuated(const char *id, const char *scope_json, uint64_t iat, uint64_t ttl,
                    const char *attenuations)
{
    tk_link link;

    memset(&link, 0, sizeof(link));
    link.capability_id = "cap-parent";
    link.delegator_seed = TK_OTHER_SEED;
    link.delegatee_pub = TK_AGENT_PUB;
    link.timestamp = iat;
    link.attenuations = attenuations;
    return tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope_json, iat, ttl, &link, 1);
}
