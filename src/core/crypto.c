/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/crypto.c - Ed25519 keypairs (from a seed or the random generator),
 * signing and verification, and the hex forms of keys and signatures, all
 * through OpenSSL libcrypto's EVP interface. SHA-256 is core/sha256.c; the
 * memory a keypair lives in, and the protection of OpenSSL's own copy of
 * the key, are core/key_memory.c.
 *
 * Owns the only copy of a signing seed: it is decoded straight into the
 * keypair, handed to OpenSSL (which keeps its own key schedule and cleanses
 * it in EVP_PKEY_free) and wiped with OPENSSL_cleanse when the keypair is
 * freed. Error messages never quote seed characters.
 *
 * Thread-safety: a keypair is immutable after construction; every signing
 * call uses its own EVP_MD_CTX, so concurrent signing is safe.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "chio/crypto.h"
#include "internal.h"

/* Signing contexts kept per key: a fresh EVP_DigestSignInit costs OpenSSL
 * 3.0 about eight heap blocks per signature, a reused context none. */
#define SIGN_POOL 8

struct chio_keypair {
    chio__key_mem mem; /* first: the keypair's pages start with it (core/key_memory.c) */
    EVP_PKEY *pkey;
    uint8_t seed[CHIO_SEED_BYTES];
    uint8_t pub[CHIO_PUBKEY_BYTES];
    char pub_hex[CHIO_PUBKEY_HEX_LEN + 1];
    /* Initialised signing contexts, each owned by whoever set its busy flag
     * (any thread; released after one signature). Freed with the key, so
     * no context outlives it. Mutable behind the const signing API. */
    EVP_MD_CTX *pool[SIGN_POOL];
    int busy[SIGN_POOL];
};

_Static_assert(offsetof(struct chio_keypair, mem) == 0, "the keypair's pages start with its mem");

/* ---- seeds ------------------------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Apply chio's seed rules; on success *digits points at the 64 hex digits. */
static int check_seed_hex(const char *hex, size_t len, const char **digits, chio_error *err)
{
    const char *p = hex;
    size_t n = len, i;

    if (len > 0 && hex[len - 1] == '\n')
        return chio__fail(err, CHIO_ESEED_NEWLINE, len - 1,
                          "signing seed ends with a newline; no trimming is done");
    for (i = 0; i < len; i++)
        if (is_space(hex[i]))
            return chio__fail(err, CHIO_ESEED_SPACE, i,
                              "signing seed contains whitespace at byte %zu", i);
    if (n >= 2 && p[0] == '0' && p[1] == 'x') {
        p += 2;
        n -= 2;
    }
    if (n % 2 != 0)
        return chio__fail(err, CHIO_ESEED_ODD, CHIO_NO_OFFSET,
                          "signing seed has an odd number of hex digits (%zu)", n);
    for (i = 0; i < n; i++)
        if (!is_hex(p[i]))
            return chio__fail(err, CHIO_ESEED_NONHEX, (size_t)(p - hex) + i,
                              "signing seed has a non-hex character at byte %zu",
                              (size_t)(p - hex) + i);
    if (n != 2 * CHIO_SEED_BYTES)
        return chio__fail(err, CHIO_ESEED_LENGTH, CHIO_NO_OFFSET,
                          "signing seed decodes to %zu bytes, expected 32", n / 2);
    *digits = p;
    return 0;
}

/* ---- keypairs --------------------------------------------------------------------- */

/* A zeroed keypair in pages of its own (core/key_memory.c). NULL when out
 * of memory. */
static chio_keypair *keypair_alloc(void)
{
    return (chio_keypair *)chio__key_mem_open(sizeof(chio_keypair));
}

int chio__keypair_dump_state(const struct chio_keypair *kp, chio__key_dump_state *out)
{
    if (kp == NULL || out == NULL)
        return CHIO_EINVAL;
    *out = kp->mem.dump;
    return 0;
}

/* Keep OpenSSL's copy of the key out of core dumps (see core/key_memory.c)
 * and record the outcome: dontdump only when nothing dumpable holds the
 * seed; locked only when the marked heap pages are locked too. */
static void protect_key(chio_keypair *kp)
{
    uint8_t sig[CHIO_SIGNATURE_BYTES];

    chio__key_mem_secure_heap(&kp->mem, &kp->pkey);
    /* A first signature sets up a pooled context (what OpenSSL derives
     * lazily exists before the scan) and saves the first caller the init. */
    (void)chio_keypair_sign(kp, "", 0, sig);
    chio__key_mem_protect_copies(&kp->mem, kp->seed);
}

/* Finish a keypair whose seed is in place: build the OpenSSL key, derive
 * the public key and protect OpenSSL's copy. Frees @kp on failure. */
static int keypair_finish(chio_keypair *kp, chio_keypair **out, chio_error *err)
{
    size_t publen = CHIO_PUBKEY_BYTES;

    kp->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, kp->seed, CHIO_SEED_BYTES);
    if (kp->pkey == NULL || EVP_PKEY_get_raw_public_key(kp->pkey, kp->pub, &publen) != 1 ||
        publen != CHIO_PUBKEY_BYTES) {
        ERR_clear_error();
        chio_keypair_free(kp);
        return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET,
                          "OpenSSL could not build the Ed25519 key");
    }
    chio__hex_encode(kp->pub, CHIO_PUBKEY_BYTES, kp->pub_hex);
    protect_key(kp);
    *out = kp;
    return 0;
}

int chio_keypair_from_seed_hex(const char *hex, size_t len, chio_keypair **out, chio_error *err)
{
    const char *digits = NULL;
    chio_keypair *kp;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (hex == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "seed is NULL");
    rc = check_seed_hex(hex, len, &digits, err);
    if (rc != 0)
        return rc;
    kp = keypair_alloc();
    if (kp == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    /* Decode straight into the keypair: the seed gets no other copy. */
    (void)chio__hex_decode_exact(digits, 2 * CHIO_SEED_BYTES, kp->seed, CHIO_SEED_BYTES);
    return keypair_finish(kp, out, err);
}

int chio_keypair_generate(chio_keypair **out, chio_error *err)
{
    chio_keypair *kp;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    kp = keypair_alloc();
    if (kp == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (RAND_priv_bytes(kp->seed, CHIO_SEED_BYTES) != 1) {
        ERR_clear_error();
        chio_keypair_free(kp);
        return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "the random generator failed");
    }
    return keypair_finish(kp, out, err);
}

void chio_keypair_free(chio_keypair *kp)
{
    if (kp == NULL)
        return;
    for (size_t i = 0; i < SIGN_POOL; i++)
        EVP_MD_CTX_free(kp->pool[i]); /* they hold references to the key */
    EVP_PKEY_free(kp->pkey);          /* OpenSSL cleanses its own copy of the key */
    chio__key_mem_close(&kp->mem);    /* only now: wipes and unmaps the keypair */
}

int chio_keypair_lock_memory(chio_keypair *kp, chio_error *err)
{
    int e;

    if (kp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL keypair");
    e = chio__key_mem_lock(&kp->mem);
    if (e != 0)
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                          "mlock of the key failed: %s (raise RLIMIT_MEMLOCK, ulimit -l)",
                          strerror(e));
    return 0;
}

int chio_keypair_memory_locked(const chio_keypair *kp, int *dontdump, int *lock_errno)
{
    if (kp == NULL)
        return CHIO_EINVAL;
    if (dontdump != NULL)
        *dontdump = kp->mem.dontdump;
    if (lock_errno != NULL)
        *lock_errno = kp->mem.lock_errno;
    return kp->mem.locked;
}

int chio_keypair_write_seed_hex(const chio_keypair *kp, char out[65])
{
    if (kp == NULL || out == NULL)
        return CHIO_EINVAL;
    chio__hex_encode(kp->seed, CHIO_SEED_BYTES, out);
    return 0;
}

const char *chio_keypair_public_hex(const chio_keypair *kp)
{
    return kp ? kp->pub_hex : NULL;
}

int chio_keypair_public_key(const chio_keypair *kp, uint8_t out[32])
{
    if (kp == NULL || out == NULL)
        return CHIO_EINVAL;
    memcpy(out, kp->pub, CHIO_PUBKEY_BYTES);
    return 0;
}

/* One Ed25519 signature with @ctx, initialised first when @fresh. */
static int sign_with(EVP_MD_CTX *ctx, int fresh, EVP_PKEY *pkey, const void *msg, size_t len,
                     uint8_t sig[64])
{
    size_t siglen = CHIO_SIGNATURE_BYTES;

    return (!fresh || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1) &&
           EVP_DigestSign(ctx, sig, &siglen, msg ? msg : (const void *)"", len) == 1 &&
           siglen == CHIO_SIGNATURE_BYTES;
}

int chio_keypair_sign(const chio_keypair *kp, const void *msg, size_t len, uint8_t sig[64])
{
    chio_keypair *k = (chio_keypair *)kp; /* the pool is the only mutable part */
    EVP_MD_CTX *ctx;
    size_t i;
    int ok, fresh;

    if (kp == NULL || sig == NULL || (msg == NULL && len != 0))
        return CHIO_EINVAL;
    for (i = 0; i < SIGN_POOL; i++) {
        int idle = 0;
        /* Acquire: pairs with the release below, so the context the last
         * owner left (or set up) is fully visible to us. */
        if (__atomic_compare_exchange_n(&k->busy[i], &idle, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
    }
    if (i == SIGN_POOL) { /* every pooled context in use: a one-off one */
        ctx = EVP_MD_CTX_new();
        ok = ctx != NULL && sign_with(ctx, 1, k->pkey, msg, len, sig);
        EVP_MD_CTX_free(ctx);
    } else {
        fresh = k->pool[i] == NULL;
        if (fresh)
            k->pool[i] = EVP_MD_CTX_new();
        ok = k->pool[i] != NULL && sign_with(k->pool[i], fresh, k->pkey, msg, len, sig);
        if (!ok) { /* never reuse a context that failed */
            EVP_MD_CTX_free(k->pool[i]);
            k->pool[i] = NULL;
        }
        /* Release: hands the context, and our writes to it, to the next owner. */
        __atomic_store_n(&k->busy[i], 0, __ATOMIC_RELEASE);
    }
    if (!ok) {
        ERR_clear_error();
        return CHIO_ECRYPTO;
    }
    return 0;
}

/* The y coordinates (little endian, sign bit clear) of the eight points of
 * the Ed25519 torsion subgroup: 0 and 1, p - 1, the two of order eight,
 * and the non-canonical p and p + 1 (standing for 0 and 1). Under such a
 * public key A, [k]A is a small-order point for every k, so the signature
 * R = the identity, S = 0 (among others) verifies for every message;
 * OpenSSL does not reject them. */
static const uint8_t small_order_y[7][32] = {
    {0},
    {0x01},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
};

int chio__ed25519_small_order(const uint8_t pub[32])
{
    size_t i;

    for (i = 0; i < sizeof(small_order_y) / sizeof(small_order_y[0]); i++)
        if (memcmp(pub, small_order_y[i], 31) == 0 && (pub[31] & 0x7f) == small_order_y[i][31])
            return 1;
    return 0;
}

int chio_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *pkey;
    EVP_MD_CTX *ctx;
    int rc;

    if (pub == NULL || sig == NULL || (msg == NULL && len != 0))
        return CHIO_EINVAL;
    if (chio__ed25519_small_order(pub))
        return CHIO_EBADSIG; /* anyone can "sign" under it */
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CHIO_PUBKEY_BYTES);
    if (pkey == NULL) {
        ERR_clear_error();
        return CHIO_EBADSIG; /* not a usable public key */
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        EVP_PKEY_free(pkey);
        return CHIO_ENOMEM;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
        rc = CHIO_ECRYPTO;
    } else {
        /* 1 = valid; 0 = bad signature; <0 = malformed input (e.g. a key
         * that is not a curve point). Everything but 1 is a failed check. */
        rc =
            EVP_DigestVerify(ctx, sig, CHIO_SIGNATURE_BYTES, msg ? msg : (const void *)"", len) == 1
                ? 0
                : CHIO_EBADSIG;
    }
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int chio_pubkey_from_hex(const char *hex, size_t len, uint8_t out[32])
{
    uint8_t tmp[CHIO_PUBKEY_BYTES];

    if (hex == NULL || out == NULL)
        return CHIO_EINVAL;
    if (len >= 2 && hex[0] == '0' && hex[1] == 'x') {
        hex += 2;
        len -= 2;
    }
    if (chio__hex_decode_exact(hex, len, tmp, sizeof(tmp)) != 0)
        return CHIO_EKEY;
    memcpy(out, tmp, sizeof(tmp));
    return 0;
}

int chio_signature_from_hex(const char *hex, size_t len, uint8_t out[64])
{
    uint8_t tmp[CHIO_SIGNATURE_BYTES];

    if (hex == NULL || out == NULL)
        return CHIO_EINVAL;
    if (chio__hex_decode_exact(hex, len, tmp, sizeof(tmp)) != 0)
        return CHIO_ESIGFORMAT;
    memcpy(out, tmp, sizeof(tmp));
    return 0;
}
