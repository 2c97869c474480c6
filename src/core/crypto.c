/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/crypto.c - Ed25519 keypairs, signing and verification, and SHA-256,
 * all through OpenSSL libcrypto's EVP interface.
 *
 * Owns the only copy of a signing seed: it is decoded straight into the
 * keypair, handed to OpenSSL (which keeps its own key schedule and cleanses
 * it in EVP_PKEY_free) and wiped with OPENSSL_cleanse when the keypair is
 * freed. Error messages never quote seed characters.
 *
 * A keypair lives in pages of its own (mmap), marked MADV_DONTDUMP so no
 * core dump holds the seed, and mlock()ed so it never reaches swap when
 * RLIMIT_MEMLOCK allows; when it does not, the keypair says so
 * (chio_keypair_memory_locked()) and chio_keypair_lock_memory() is the
 * strict form that fails. OpenSSL keeps its own copy of the private key
 * (its ECX_KEY, built by EVP_PKEY_new_raw_private_key) in its ordinary
 * heap, which a core dump holds: OpenSSL 3.0 copies it there with
 * OPENSSL_malloc (OSSL_PARAM_get_octet_string), not into its secure heap,
 * even when the process has one, and offers no way to place it. The
 * signing contexts kept per key hold references to that key, not copies.
 *
 * Thread-safety: a keypair is immutable after construction; every signing
 * call uses its own EVP_MD_CTX, so concurrent signing is safe. The SHA-256
 * EVP_MD is fetched once (pthread_once) and shared read-only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "chio/crypto.h"
#include "internal.h"

/* Signing contexts kept per key: a fresh EVP_DigestSignInit costs OpenSSL
 * 3.0 about eight heap blocks per signature, a reused context none. */
#define SIGN_POOL 8

struct chio_keypair {
    EVP_PKEY *pkey;
    uint8_t seed[CHIO_SEED_BYTES];
    uint8_t pub[CHIO_PUBKEY_BYTES];
    char pub_hex[CHIO_PUBKEY_HEX_LEN + 1];
    int locked;     /* mlock()ed (at creation, or by chio_keypair_lock_memory()) */
    int lock_errno; /* why mlock failed at creation; 0 when locked */
    int dontdump;   /* madvise(MADV_DONTDUMP) succeeded */
    size_t map_len; /* the mapping holding this struct (whole pages) */
    /* Initialised signing contexts, each owned by whoever set its busy flag
     * (any thread; released after one signature). Freed with the key, so
     * no context outlives it. Mutable behind the const signing API. */
    EVP_MD_CTX *pool[SIGN_POOL];
    int busy[SIGN_POOL];
};

static void (*keypair_free_hook)(const void *mem, size_t len);

void chio__keypair_set_free_hook(void (*fn)(const void *mem, size_t len))
{
    keypair_free_hook = fn;
}

/* ---- SHA-256 ---------------------------------------------------------------------- */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* One digest context per thread, reused: EVP_Digest() would allocate and
 * free a context (and its provider state) for every hash, several times per
 * receipt. The key's destructor frees a thread's context when it exits. */
static pthread_key_t sha256_ctx_key;
static int sha256_ctx_key_ok;

static void free_sha256_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void fetch_sha256(void)
{
    /* An explicit fetch avoids a provider lookup on every digest. */
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_ctx_key_ok = pthread_key_create(&sha256_ctx_key, free_sha256_ctx) == 0;
}

static EVP_MD_CTX *thread_sha256_ctx(void)
{
    EVP_MD_CTX *ctx;

    if (!sha256_ctx_key_ok)
        return NULL;
    ctx = pthread_getspecific(sha256_ctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx != NULL && pthread_setspecific(sha256_ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

int chio_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    const EVP_MD *md;
    EVP_MD_CTX *ctx;
    int ok;

    if ((data == NULL && len != 0) || out == NULL)
        return CHIO_EINVAL;
    pthread_once(&sha256_once, fetch_sha256);
    md = sha256_md ? sha256_md : EVP_sha256();
    ctx = thread_sha256_ctx();
    if (ctx != NULL)
        ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
             EVP_DigestUpdate(ctx, data ? data : "", len) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &n) == 1;
    else
        ok = EVP_Digest(data ? data : "", len, out, &n, md, NULL) == 1;
    if (!ok || n != 32) {
        ERR_clear_error();
        return CHIO_ECRYPTO;
    }
    return 0;
}

int chio_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[32];
    int rc;

    if (out == NULL)
        return CHIO_EINVAL;
    rc = chio_sha256(data, len, h);
    if (rc != 0)
        return rc;
    chio__hex_encode(h, 32, out);
    return 0;
}

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

/* LeakSanitizer does not scan mmap'd pages: the keypair's page holds the
 * only pointers to OpenSSL's key and contexts, so it is registered as a
 * root region in sanitizer builds (otherwise a host that exits with a live
 * kernel reports them as leaked). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define KP_LSAN_ROOT(p, n)   __lsan_register_root_region((p), (n))
#define KP_LSAN_UNROOT(p, n) __lsan_unregister_root_region((p), (n))
#else
#define KP_LSAN_ROOT(p, n)   ((void)(p), (void)(n))
#define KP_LSAN_UNROOT(p, n) ((void)(p), (void)(n))
#endif

/* A zeroed keypair in pages of its own: excluded from core dumps and
 * locked in memory where the process may lock it (failure is recorded,
 * not fatal). NULL when out of memory. */
static chio_keypair *keypair_alloc(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len, ps = page > 0 ? (size_t)page : 4096;
    chio_keypair *kp;
    void *mem;

    len = (sizeof(*kp) + ps - 1) / ps * ps;
    mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    kp = mem; /* anonymous pages are zero */
    kp->map_len = len;
    KP_LSAN_ROOT(mem, len);
#ifdef MADV_DONTDUMP
    kp->dontdump = madvise(mem, len, MADV_DONTDUMP) == 0;
#endif
    if (mlock(mem, len) == 0)
        kp->locked = 1;
    else
        kp->lock_errno = errno;
    return kp;
}

/* Finish a keypair whose seed is in place: build the OpenSSL key and derive
 * the public key. Frees @kp on failure. */
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
    int locked = kp->locked;
    size_t len = kp->map_len;

    for (size_t i = 0; i < SIGN_POOL; i++)
        EVP_MD_CTX_free(kp->pool[i]); /* they hold references to the key */
    EVP_PKEY_free(kp->pkey);          /* OpenSSL cleanses its own copy of the key */
    OPENSSL_cleanse(kp, len);
    if (keypair_free_hook != NULL) /* tests: the memory as munmap() will get it */
        keypair_free_hook(kp, len);
    if (locked)
        munlock(kp, len);
    KP_LSAN_UNROOT(kp, len);
    munmap(kp, len);
}

int chio_keypair_lock_memory(chio_keypair *kp, chio_error *err)
{
    if (kp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL keypair");
    if (kp->locked)
        return 0;
    if (mlock(kp, kp->map_len) != 0) {
        int e = errno;
        kp->lock_errno = e;
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                          "mlock of the key failed: %s (raise RLIMIT_MEMLOCK, ulimit -l)",
                          strerror(e));
    }
    kp->locked = 1;
    kp->lock_errno = 0;
    return 0;
}

int chio_keypair_memory_locked(const chio_keypair *kp, int *dontdump, int *lock_errno)
{
    if (kp == NULL)
        return CHIO_EINVAL;
    if (dontdump != NULL)
        *dontdump = kp->dontdump;
    if (lock_errno != NULL)
        *lock_errno = kp->lock_errno;
    return kp->locked;
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

int chio_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *pkey;
    EVP_MD_CTX *ctx;
    int rc;

    if (pub == NULL || sig == NULL || (msg == NULL && len != 0))
        return CHIO_EINVAL;
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
