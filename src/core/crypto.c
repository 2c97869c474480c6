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
 * strict form that fails.
 *
 * OpenSSL keeps its own copy of the private key (the ECX_KEY's 32-byte
 * privkey). OpenSSL 3.0 imports a raw key with OSSL_PARAM_get_octet_string,
 * which allocates it with plain OPENSSL_malloc: ordinary heap, even when
 * the process has a secure heap, and OpenSSL offers no way to place it.
 * Two steps keep it out of core dumps anyway, both at key creation only
 * (nothing on the signing path):
 *  - when the host set up OpenSSL's secure heap (mmap'd, MADV_DONTDUMP and
 *    mlocked by OpenSSL), the key is duplicated (EVP_PKEY_dup allocates the
 *    private key with OPENSSL_secure_malloc) and the original freed, which
 *    cleanses its heap copy;
 *  - then the process's own writable private mappings are scanned (read
 *    through /proc/self/mem, so a mapping vanishing meanwhile is an error,
 *    not a fault) for the seed's bytes outside our own pages, and every
 *    page holding a copy is marked MADV_DONTDUMP and mlocked. Such a page
 *    is shared with other heap blocks, which leave core dumps with it (a
 *    page or two per key). The marks are refcounted per page across
 *    keypairs and lifted (MADV_DODUMP, munlock) only after EVP_PKEY_free
 *    has cleansed OpenSSL's copy and no other keypair needs the page.
 * When the scan cannot run (no /proc) or a mapping cannot be read or
 * marked, the keypair reports dontdump = 0 (chio_keypair_memory_locked())
 * and chio__keypair_dump_state() says why; key creation still succeeds.
 * The signing contexts kept per key hold references to OpenSSL's key, not
 * copies (measured: no new copy after a signature).
 *
 * Thread-safety: a keypair is immutable after construction; every signing
 * call uses its own EVP_MD_CTX, so concurrent signing is safe. The SHA-256
 * EVP_MD is fetched once (pthread_once) and shared read-only. The registry
 * of heap pages marked for OpenSSL's copies is guarded by one mutex, held
 * for each mark or release together with its madvise/mlock calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
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

/* Pages one keypair may hold marked for OpenSSL's copies: one copy, which
 * may straddle two pages, with room for a second. */
#define KP_COPY_PAGES 4

struct chio_keypair {
    EVP_PKEY *pkey;
    uint8_t seed[CHIO_SEED_BYTES];
    uint8_t pub[CHIO_PUBKEY_BYTES];
    char pub_hex[CHIO_PUBKEY_HEX_LEN + 1];
    int locked;                /* mlock()ed (at creation, or by chio_keypair_lock_memory()) */
    int lock_errno;            /* why mlock failed at creation; 0 when locked */
    int dontdump;              /* our pages MADV_DONTDUMP and no copy found left dumpable */
    int own_dd;                /* madvise(MADV_DONTDUMP) of our own pages succeeded */
    chio__key_dump_state dump; /* what the scan for OpenSSL's copies found */
    uintptr_t copy_pages[KP_COPY_PAGES]; /* registered heap pages (refcounted) */
    size_t n_copy_pages;
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

/* SHA-256 over @n parts back to back, on this thread's reused context. */
int chio__sha256_parts(const chio__bytes *parts, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    const EVP_MD *md;
    EVP_MD_CTX *ctx, *own = NULL;
    size_t i;
    int ok;

    pthread_once(&sha256_once, fetch_sha256);
    md = sha256_md ? sha256_md : EVP_sha256();
    ctx = thread_sha256_ctx();
    if (ctx == NULL)
        ctx = own = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;
    for (i = 0; ok && i < n; i++)
        ok = parts[i].len == 0 || EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(own);
    if (!ok) {
        ERR_clear_error();
        return ctx == NULL ? CHIO_ENOMEM : CHIO_ECRYPTO;
    }
    return 0;
}

int chio_sha256(const void *data, size_t len, uint8_t out[32])
{
    chio__bytes part = {data, len};

    if ((data == NULL && len != 0) || out == NULL)
        return CHIO_EINVAL;
    return chio__sha256_parts(&part, 1, out);
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
    kp->own_dd = madvise(mem, len, MADV_DONTDUMP) == 0;
#endif
    if (mlock(mem, len) == 0)
        kp->locked = 1;
    else
        kp->lock_errno = errno;
    return kp;
}

/* ---- OpenSSL's copy of the private key ------------------------------------------ */

/* Bytes read per pread of /proc/self/mem (plus an overlap of 31, so a copy
 * straddling two reads is seen once). */
#define SCAN_CHUNK (64u << 10)
/* Copies one scan can record and mark; more are counted as unmarked. */
#define SCAN_HITS 8
/* Heap pages marked for OpenSSL's copies, across all live keypairs. */
#define PAGE_REG 64

/* A heap page marked MADV_DONTDUMP for OpenSSL's copies, with the number
 * of live keypairs that need it (a page is shared with other heap blocks,
 * and two keys' copies may share one). */
typedef struct marked_page {
    uintptr_t page;
    unsigned refs;
    int host_locked; /* its mapping was mlocked before us (mlockall): never munlock */
    int locked;      /* mlocked: by us, or by the host (host_locked) */
} marked_page;

/* Guards page_reg. Held for a whole scan and for every mark and release
 * with its madvise/mlock calls, so no release lifts a mark that a scan
 * running meanwhile relies on (a page already marked is skipped as dd). */
static pthread_mutex_t page_mu = PTHREAD_MUTEX_INITIALIZER;
static marked_page page_reg[PAGE_REG];

/* One scan of this process for a seed. */
typedef struct scan_ctx {
    const uint8_t *seed;
    int memfd;
    unsigned char *buf;        /* SCAN_CHUNK + 31 bytes, a DONTDUMP mapping of ours */
    uintptr_t skip[2][2];      /* [start, end) ranges not to scan: the keypair, buf */
    uintptr_t hits[SCAN_HITS]; /* addresses of copies found */
    int hit_lo[SCAN_HITS];     /* their mapping was already mlocked */
    size_t nhits;
    chio__key_dump_state *st;
} scan_ctx;

static size_t page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Record the copies of the seed among the first @npos positions of buf. */
static void scan_buf(scan_ctx *c, uintptr_t at, size_t npos, int lo)
{
    const unsigned char *p = c->buf, *end = c->buf + npos, *hit;

    /* memchr + memcmp: fast, and the same under sanitizers' interceptors. */
    while (p < end && (hit = memchr(p, c->seed[0], (size_t)(end - p))) != NULL) {
        if (memcmp(hit, c->seed, CHIO_SEED_BYTES) == 0) {
            if (c->nhits < SCAN_HITS) {
                c->hits[c->nhits] = at + (uintptr_t)(hit - c->buf);
                c->hit_lo[c->nhits++] = lo;
            } else {
                c->st->unmarked++; /* no room: a copy we cannot mark */
            }
            c->st->copies++;
        }
        p = hit + 1;
    }
}

/* Scan [start, end) through /proc/self/mem, which returns an error, not a
 * fault, for memory unmapped meanwhile. -1 when part could not be read. */
static int scan_range(scan_ctx *c, uintptr_t start, uintptr_t end, int lo)
{
    uintptr_t at = start;

    while (at < end) {
        size_t want = end - at > SCAN_CHUNK + 31 ? SCAN_CHUNK + 31 : (size_t)(end - at);
        ssize_t n = pread(c->memfd, c->buf, want, (off_t)at);
        int full;

        if (n <= 0)
            return -1;
        /* A full read that is not the last: its last 31 bytes start the
         * next read, so only positions below SCAN_CHUNK are searched here. */
        full = (size_t)n == want && at + (uintptr_t)n < end;
        if (full)
            scan_buf(c, at, SCAN_CHUNK, lo);
        else if ((size_t)n >= CHIO_SEED_BYTES)
            scan_buf(c, at, (size_t)n - CHIO_SEED_BYTES + 1, lo);
        c->st->bytes += full ? SCAN_CHUNK : (size_t)n;
        at += full ? SCAN_CHUNK : (uintptr_t)n;
    }
    return 0;
}

/* One mapping of smaps, decided at its VmFlags line: scanned when it is
 * readable, writable and private, holds resident or swapped pages, is not
 * already left out of dumps (dd) and is not one of ours. */
static void scan_mapping(scan_ctx *c, uintptr_t start, uintptr_t end, const char *perms,
                         long resident, const char *vmflags)
{
    size_t i;

    if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' || resident == 0 ||
        strstr(vmflags, " dd") != NULL)
        return;
    for (i = 0; i < 2; i++)
        if (start < c->skip[i][1] && end > c->skip[i][0])
            return; /* the keypair's pages or our buffer: dd already */
    c->st->regions++;
    if (scan_range(c, start, end, strstr(vmflags, " lo") != NULL) != 0)
        c->st->unread++;
}

/* Walk /proc/self/smaps (header line, then fields, VmFlags last). */
static int scan_smaps(scan_ctx *c)
{
    char line[1024], perms[8] = "";
    unsigned long start = 0, end = 0;
    long resident = 0;
    int have = 0, whole = 1;
    FILE *f = fopen("/proc/self/smaps", "re");

    if (f == NULL)
        return errno ? errno : ENOENT;
    while (fgets(line, sizeof(line), f) != NULL) {
        int was_whole = whole;
        unsigned long a, b;
        char pm[8];

        whole = strchr(line, '\n') != NULL;
        if (!was_whole)
            continue; /* the rest of a long path name */
        if (sscanf(line, "%lx-%lx %7s", &a, &b, pm) == 3) {
            start = a;
            end = b;
            memcpy(perms, pm, sizeof(perms));
            resident = 0;
            have = 1;
        } else if (have && (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Swap:", 5) == 0)) {
            resident += strtol(strchr(line, ':') + 1, NULL, 10);
        } else if (have && strncmp(line, "VmFlags:", 8) == 0) {
            have = 0;
            scan_mapping(c, start, end, perms, resident, line + 8);
        }
    }
    fclose(f);
    return 0;
}

/* Note @page as needed by @kp (already marked by another keypair, or just
 * marked now). Called with page_mu held. */
static void page_ref(chio_keypair *kp, uintptr_t page, int lo)
{
    size_t ps = page_size(), i, slot = PAGE_REG;

    for (i = 0; i < kp->n_copy_pages; i++)
        if (kp->copy_pages[i] == page)
            return; /* a second copy on a page this key holds */
    for (i = 0; i < PAGE_REG; i++) {
        if (page_reg[i].refs > 0 && page_reg[i].page == page) {
            slot = i;
            break;
        }
        if (page_reg[i].refs == 0 && slot == PAGE_REG)
            slot = i;
    }
    if (slot == PAGE_REG || page_reg[slot].refs == 0) {
        if (madvise((void *)page, ps, MADV_DONTDUMP) != 0) {
            kp->dump.unmarked++;
            return;
        }
        kp->dump.pages++;
        if (slot == PAGE_REG || kp->n_copy_pages == KP_COPY_PAGES) {
            /* No room to track it: it stays out of dumps (and locked) for good. */
            if (!lo && mlock((void *)page, ps) != 0)
                kp->dump.unlocked++;
            return;
        }
        page_reg[slot].page = page;
        page_reg[slot].host_locked = lo;
        page_reg[slot].locked = lo || mlock((void *)page, ps) == 0;
    } else if (kp->n_copy_pages == KP_COPY_PAGES) {
        return; /* marked and held by another key; cannot track (stays marked) */
    }
    if (!page_reg[slot].locked)
        kp->dump.unlocked++;
    page_reg[slot].refs++;
    kp->copy_pages[kp->n_copy_pages++] = page;
}

/* Registry pages of other keypairs may hold this key's copy too (they are
 * dd, so the smaps walk skipped them): read each. Called with page_mu held. */
static void scan_marked_pages(scan_ctx *c)
{
    size_t ps = page_size(), i;

    for (i = 0; i < PAGE_REG; i++)
        if (page_reg[i].refs > 0 &&
            scan_range(c, page_reg[i].page, page_reg[i].page + ps, page_reg[i].host_locked) != 0)
            c->st->unread++;
}

/* Mark every page holding a copy found. Called with page_mu held. */
static void mark_hits(chio_keypair *kp, const scan_ctx *c)
{
    size_t ps = page_size(), i;

    for (i = 0; i < c->nhits; i++) {
        uintptr_t first = c->hits[i] & ~(uintptr_t)(ps - 1);
        uintptr_t last = (c->hits[i] + CHIO_SEED_BYTES - 1) & ~(uintptr_t)(ps - 1);

        page_ref(kp, first, c->hit_lo[i]);
        if (last != first)
            page_ref(kp, last, c->hit_lo[i]);
    }
}

/* Find OpenSSL's copies of @kp's seed and keep them out of core dumps;
 * the outcome goes to kp->dump. Key creation only. */
static void protect_openssl_copies(chio_keypair *kp)
{
    size_t blen = (SCAN_CHUNK + 31 + page_size() - 1) / page_size() * page_size();
    uint64_t t0 = now_ns();
    scan_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.seed = kp->seed;
    c.st = &kp->dump;
    c.buf = mmap(NULL, blen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c.buf == MAP_FAILED) {
        kp->dump.scan_errno = errno;
        return;
    }
#ifdef MADV_DONTDUMP
    (void)madvise(c.buf, blen, MADV_DONTDUMP); /* it holds copies while scanning */
#endif
    c.skip[0][0] = (uintptr_t)kp;
    c.skip[0][1] = (uintptr_t)kp + kp->map_len;
    c.skip[1][0] = (uintptr_t)c.buf;
    c.skip[1][1] = (uintptr_t)c.buf + blen;
    c.memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (c.memfd < 0) {
        kp->dump.scan_errno = errno;
    } else {
        pthread_mutex_lock(&page_mu);
        rc = scan_smaps(&c);
        if (rc == 0) {
            scan_marked_pages(&c);
            mark_hits(kp, &c);
            kp->dump.scanned = 1;
        }
        kp->dump.scan_errno = rc;
        pthread_mutex_unlock(&page_mu);
        close(c.memfd);
    }
    OPENSSL_cleanse(c.buf, blen);
    munmap(c.buf, blen);
    kp->dump.scan_ns = now_ns() - t0;
}

/* Lift this key's marks whose page no other key needs. After EVP_PKEY_free
 * has cleansed OpenSSL's copy; a page the heap gave back meanwhile only
 * makes madvise fail, which is harmless. */
static void release_copy_pages(chio_keypair *kp)
{
    size_t ps = page_size(), i, j;

    if (kp->n_copy_pages == 0)
        return;
    pthread_mutex_lock(&page_mu);
    for (i = 0; i < kp->n_copy_pages; i++)
        for (j = 0; j < PAGE_REG; j++) {
            marked_page *m = &page_reg[j];
            if (m->refs == 0 || m->page != kp->copy_pages[i])
                continue;
            if (--m->refs == 0) {
#ifdef MADV_DODUMP
                (void)madvise((void *)m->page, ps, MADV_DODUMP);
#endif
                if (m->locked && !m->host_locked)
                    (void)munlock((void *)m->page, ps);
            }
            break;
        }
    pthread_mutex_unlock(&page_mu);
    kp->n_copy_pages = 0;
}

/* mlock this key's marked pages not locked yet; 0, or the errno of the
 * first refusal. */
static int lock_copy_pages(chio_keypair *kp)
{
    size_t ps = page_size(), i, j;
    int e = 0;

    pthread_mutex_lock(&page_mu);
    kp->dump.unlocked = 0;
    for (i = 0; i < kp->n_copy_pages; i++)
        for (j = 0; j < PAGE_REG; j++) {
            marked_page *m = &page_reg[j];
            if (m->refs == 0 || m->page != kp->copy_pages[i])
                continue;
            if (!m->locked && mlock((void *)m->page, ps) == 0)
                m->locked = 1;
            else if (!m->locked) {
                kp->dump.unlocked++;
                if (e == 0)
                    e = errno;
            }
            break;
        }
    pthread_mutex_unlock(&page_mu);
    return e;
}

/* With a host secure heap (OpenSSL's, DONTDUMP and mlocked), move the key
 * there: EVP_PKEY_dup allocates the private key with OPENSSL_secure_malloc,
 * and freeing the original cleanses its ordinary-heap copy. */
static void move_to_secure_heap(chio_keypair *kp)
{
    EVP_PKEY *dup;

    if (!CRYPTO_secure_malloc_initialized())
        return;
    dup = EVP_PKEY_dup(kp->pkey);
    if (dup == NULL) {
        ERR_clear_error();
        return; /* the scan below still finds and marks the copy */
    }
    EVP_PKEY_free(kp->pkey);
    kp->pkey = dup;
    kp->dump.secure_heap = 1;
}

int chio__keypair_dump_state(const struct chio_keypair *kp, chio__key_dump_state *out)
{
    if (kp == NULL || out == NULL)
        return CHIO_EINVAL;
    *out = kp->dump;
    return 0;
}

/* Keep OpenSSL's copy of the key out of core dumps (see the file comment)
 * and record the outcome: dontdump only when nothing dumpable holds the
 * seed; locked only when the marked heap pages are locked too. */
static void protect_key(chio_keypair *kp)
{
    uint8_t sig[CHIO_SIGNATURE_BYTES];

    move_to_secure_heap(kp);
    /* A first signature sets up a pooled context (what OpenSSL derives
     * lazily exists before the scan) and saves the first caller the init. */
    (void)chio_keypair_sign(kp, "", 0, sig);
    protect_openssl_copies(kp);
    kp->dontdump = kp->own_dd && kp->dump.scanned && kp->dump.unmarked == 0 && kp->dump.unread == 0;
    if (kp->locked && kp->dump.unlocked > 0) {
        int e = lock_copy_pages(kp); /* one retry, for the errno */
        if (e != 0) {
            kp->locked = 0;
            kp->lock_errno = e;
        }
    }
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
    int locked = kp->locked;
    size_t len = kp->map_len;

    for (size_t i = 0; i < SIGN_POOL; i++)
        EVP_MD_CTX_free(kp->pool[i]); /* they hold references to the key */
    EVP_PKEY_free(kp->pkey);          /* OpenSSL cleanses its own copy of the key */
    release_copy_pages(kp);           /* only now: the copy is gone */
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
    int e;

    if (kp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL keypair");
    if (kp->locked)
        return 0;
    /* Our own pages, then the heap pages marked for OpenSSL's copy. */
    e = mlock(kp, kp->map_len) != 0 ? errno : lock_copy_pages(kp);
    if (e != 0) {
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
