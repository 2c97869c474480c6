/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/key_memory.c - the memory that holds a signing seed: a keypair's own
 * pages, and the heap pages holding OpenSSL's copy of its key, kept out of
 * core dumps and, where the process may lock memory, out of swap. Its only
 * caller is core/crypto.c, which owns the keypair and its EVP_PKEY and
 * keeps this module's state (chio__key_mem) at the start of the keypair.
 *
 * A keypair lives in pages of its own (mmap), marked MADV_DONTDUMP so no
 * core dump holds the seed, and mlock()ed so it never reaches swap when
 * RLIMIT_MEMLOCK allows; when it does not, the keypair says so
 * (chio_keypair_memory_locked()) and chio_keypair_lock_memory() is the
 * strict form that fails. The pages are wiped before they are unmapped.
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
 *    The scan's comparisons put the seed's bytes in vector registers, and
 *    a lazily bound call during the scan (or a signal) saves them on the
 *    stack below it: after the scan the dead stack below it is wiped
 *    (16 KiB) and only the copies still there afterwards are marked, so
 *    no page of the caller's stack is left out of dumps for that.
 *    Not covered: registers that still hold bytes of the seed after key
 *    creation, saved on a stack later by the host's own lazily bound
 *    calls or signal handlers (C cannot clear them portably).
 * When the scan cannot run (no /proc) or a mapping cannot be read or
 * marked, the keypair reports dontdump = 0 (chio_keypair_memory_locked())
 * and chio__keypair_dump_state() says why; key creation still succeeds.
 * The signing contexts kept per key hold references to OpenSSL's key, not
 * copies (measured: no new copy after a signature).
 *
 * Locking: the registry of heap pages marked for OpenSSL's copies is
 * guarded by one mutex, held for each mark or release together with its
 * madvise/mlock calls. A keypair's own state is written only while it is
 * built, by chio_keypair_lock_memory() and when it is freed.
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

#include "chio/crypto.h"
#include "internal.h"

/* LeakSanitizer does not scan mmap'd pages: the keypair's page holds the
 * only pointers to OpenSSL's key and contexts, so it is registered as a
 * root region in sanitizer builds (otherwise a host that exits with a live
 * kernel reports them as leaked, and so does a leak check while one
 * lives). gcc defines __SANITIZE_ADDRESS__; clang (14 at least) only
 * answers __has_feature(address_sanitizer), nested here because gcc before
 * 14 cannot parse __has_feature in an #if. */
#if defined(__SANITIZE_ADDRESS__)
#define CHIO__KM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHIO__KM_ASAN 1
#endif
#endif
#ifdef CHIO__KM_ASAN /* the root region is registered in ASan builds only */
#include <sanitizer/lsan_interface.h>
#define KP_LSAN_ROOT(p, n)   __lsan_register_root_region((p), (n))
#define KP_LSAN_UNROOT(p, n) __lsan_unregister_root_region((p), (n))
#else
#define KP_LSAN_ROOT(p, n)   ((void)(p), (void)(n))
#define KP_LSAN_UNROOT(p, n) ((void)(p), (void)(n))
#endif

/* Bytes read per pread of /proc/self/mem (plus an overlap of 31, so a copy
 * straddling two reads is seen once). */
#define SCAN_CHUNK (64u << 10)
/* Copies one scan can record and mark; more are counted as unmarked. */
#define SCAN_HITS 8
/* Heap pages marked for OpenSSL's copies, across all live keypairs. */
#define PAGE_REG 64

static void (*keypair_free_hook)(const void *mem, size_t len);

void chio__keypair_set_free_hook(void (*fn)(const void *mem, size_t len))
{
    keypair_free_hook = fn;
}

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
    int mapfd;                 /* /proc/self/pagemap, or -1: every page is read */
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

/* Pagemap entries read at a time (8 bytes each: 2 MiB of address space). */
#define PM_BATCH 512
/* A page that holds data of this process: in RAM (bit 63) or in swap
 * (bit 62, which also covers migration entries). An anonymous private page
 * with neither was never written and reads as zeros. */
#define PM_POPULATED ((uint64_t)3 << 62)

/* Scan an anonymous private mapping, reading only its runs of populated
 * pages: a thread's stack or a heap arena reserves megabytes it never
 * touches, and reading those through /proc/self/mem copies zeros. A seed
 * copy lies in written memory, so in populated pages; one straddling two
 * pages has both populated and sits inside one run. When pagemap cannot
 * be read, the rest of the mapping is read whole. -1 as scan_range. */
static int scan_populated(scan_ctx *c, uintptr_t start, uintptr_t end, int lo)
{
    size_t ps = page_size();
    uintptr_t at = start, run = 0; /* run: start of the open run, 0 for none */
    uint64_t ent[PM_BATCH];
    int rc = 0;

    while (at < end) {
        size_t left = (end - at + ps - 1) / ps, want = left > PM_BATCH ? PM_BATCH : left, i;
        ssize_t n = pread(c->mapfd, ent, want * sizeof(ent[0]), (off_t)(at / ps * sizeof(ent[0])));

        if (n < (ssize_t)sizeof(ent[0]))
            return scan_range(c, run ? run : at, end, lo) | rc; /* read what is left */
        for (i = 0; i < (size_t)n / sizeof(ent[0]); i++, at += ps) {
            if (ent[i] & PM_POPULATED) {
                if (run == 0)
                    run = at;
                continue;
            }
            c->st->skipped += ps;
            if (run != 0 && scan_range(c, run, at, lo) != 0)
                rc = -1;
            run = 0;
        }
    }
    if (run != 0 && scan_range(c, run, end, lo) != 0)
        rc = -1;
    return rc;
}

/* One mapping of smaps, decided at its VmFlags line: scanned when it is
 * readable, writable and private, holds resident or swapped pages, is not
 * already left out of dumps (dd) and is not one of ours. An anonymous one
 * (inode 0) is read where its pages are populated; a file-backed one whole
 * (its untouched pages read the file's bytes). */
static void scan_mapping(scan_ctx *c, uintptr_t start, uintptr_t end, const char *perms, int anon,
                         long resident, const char *vmflags)
{
    int lo = strstr(vmflags, " lo") != NULL, rc;
    size_t i;

    if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' || resident == 0 ||
        strstr(vmflags, " dd") != NULL)
        return;
    for (i = 0; i < 2; i++)
        if (start < c->skip[i][1] && end > c->skip[i][0])
            return; /* the keypair's pages or our buffer: dd already */
    c->st->regions++;
    rc = anon && c->mapfd >= 0 ? scan_populated(c, start, end, lo) : scan_range(c, start, end, lo);
    if (rc != 0)
        c->st->unread++;
}

/* Walk /proc/self/smaps (header line, then fields, VmFlags last). */
static int scan_smaps(scan_ctx *c)
{
    char line[1024], perms[8] = "";
    unsigned long start = 0, end = 0, inode = 0;
    long resident = 0;
    int have = 0, whole = 1;
    FILE *f = fopen("/proc/self/smaps", "re");

    if (f == NULL)
        return errno ? errno : ENOENT;
    while (fgets(line, sizeof(line), f) != NULL) {
        int was_whole = whole;
        unsigned long a, b, ino;
        char pm[8];

        whole = strchr(line, '\n') != NULL;
        if (!was_whole)
            continue; /* the rest of a long path name */
        if (sscanf(line, "%lx-%lx %7s %*x %*s %lu", &a, &b, pm, &ino) == 4) {
            start = a;
            end = b;
            inode = ino;
            memcpy(perms, pm, sizeof(perms));
            resident = 0;
            have = 1;
        } else if (have && (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Swap:", 5) == 0)) {
            resident += strtol(strchr(line, ':') + 1, NULL, 10);
        } else if (have && strncmp(line, "VmFlags:", 8) == 0) {
            have = 0;
            scan_mapping(c, start, end, perms, inode == 0, resident, line + 8);
        }
    }
    fclose(f);
    return 0;
}

/* Note @page as needed by @km (already marked by another keypair, or just
 * marked now). Called with page_mu held. */
static void page_ref(chio__key_mem *km, uintptr_t page, int lo)
{
    size_t ps = page_size(), i, slot = PAGE_REG;

    for (i = 0; i < km->n_copy_pages; i++)
        if (km->copy_pages[i] == page)
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
            km->dump.unmarked++;
            return;
        }
        km->dump.pages++;
        if (slot == PAGE_REG || km->n_copy_pages == CHIO__KEY_COPY_PAGES) {
            /* No room to track it: it stays out of dumps (and locked) for good. */
            if (!lo && mlock((void *)page, ps) != 0)
                km->dump.unlocked++;
            return;
        }
        page_reg[slot].page = page;
        page_reg[slot].host_locked = lo;
        page_reg[slot].locked = lo || mlock((void *)page, ps) == 0;
    } else if (km->n_copy_pages == CHIO__KEY_COPY_PAGES) {
        return; /* marked and held by another key; cannot track (stays marked) */
    }
    if (!page_reg[slot].locked)
        km->dump.unlocked++;
    page_reg[slot].refs++;
    km->copy_pages[km->n_copy_pages++] = page;
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
static void mark_hits(chio__key_mem *km, const scan_ctx *c)
{
    size_t ps = page_size(), i;

    for (i = 0; i < c->nhits; i++) {
        uintptr_t first = c->hits[i] & ~(uintptr_t)(ps - 1);
        uintptr_t last = (c->hits[i] + CHIO_SEED_BYTES - 1) & ~(uintptr_t)(ps - 1);

        page_ref(km, first, c->hit_lo[i]);
        if (last != first)
            page_ref(km, last, c->hit_lo[i]);
    }
}

/* /proc/self/pagemap, once it has shown @page (ours, just written) as
 * populated; -1 otherwise, and the scan reads every page. A pagemap that
 * reads as zeros (a sandbox, a file mounted over it) would otherwise skip
 * every page and report no copy. */
static int open_pagemap(unsigned char *page)
{
    uint64_t ent = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    *(volatile unsigned char *)page = 0; /* written: in RAM from now on */
    if (pread(fd, &ent, sizeof(ent), (off_t)((uintptr_t)page / page_size() * sizeof(ent))) !=
            (ssize_t)sizeof(ent) ||
        (ent & PM_POPULATED) == 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* How much dead stack below protect_openssl_copies' frame
 * wipe_dead_stack() overwrites: more than the scan's own calls reach (a
 * pagemap batch of 4 KiB, an smaps line, libc, and the dynamic linker's
 * save of every vector register, up to 2.7 KiB, when a lazily bound
 * function is first called). */
#define DEAD_STACK_WIPE 16384

/*
 * The scan compares with the seed, so its bytes pass through vector
 * registers; when a function the scan calls is bound lazily, the dynamic
 * linker's trampoline saves those registers on the stack (xsave), below
 * the scan's frames, and the same scan then finds that save as "a copy",
 * in stack that is dead once the scan has returned (a signal delivered
 * meanwhile leaves its saved registers there too). Overwrite it.
 */
static __attribute__((noinline)) void wipe_dead_stack(void)
{
    unsigned char pad[DEAD_STACK_WIPE];

    explicit_bzero(pad, sizeof(pad));
    __asm__ __volatile__("" : : "r"(pad) : "memory"); /* keep the array and its wipe */
}

/* After wipe_dead_stack(): keep only the hits that still hold the seed,
 * read again through /proc/self/mem into our own (DONTDUMP) buffer and
 * compared a byte at a time (CRYPTO_memcmp, no vector register). The ones
 * the wipe erased are not copies any more and get no mark. */
static void drop_wiped_hits(scan_ctx *c)
{
    size_t i, kept = 0;

    for (i = 0; i < c->nhits; i++) {
        if (pread(c->memfd, c->buf, CHIO_SEED_BYTES, (off_t)c->hits[i]) ==
                (ssize_t)CHIO_SEED_BYTES &&
            CRYPTO_memcmp(c->buf, c->seed, CHIO_SEED_BYTES) != 0) {
            c->st->copies--;
            continue;
        }
        c->hits[kept] = c->hits[i];
        c->hit_lo[kept++] = c->hit_lo[i];
    }
    c->nhits = kept;
}

/* Find OpenSSL's copies of @seed and keep them out of core dumps; the
 * outcome goes to km->dump. Key creation only. */
static void protect_openssl_copies(chio__key_mem *km, const uint8_t *seed)
{
    size_t blen = (SCAN_CHUNK + 31 + page_size() - 1) / page_size() * page_size();
    uint64_t t0 = now_ns();
    scan_ctx c;
    int rc;

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* Fuzz builds (scripts/fuzz.sh) make keys in a process whose sanitizer
     * mappings span many GiB: the scan reads them all and takes seconds per
     * key, past libFuzzer's per-input timeout. Reported as not scanned. */
    (void)blen;
    (void)t0;
    (void)seed;
    km->dump.scan_errno = ENOSYS;
    return;
#endif
    memset(&c, 0, sizeof(c));
    c.seed = seed;
    c.st = &km->dump;
    c.buf = mmap(NULL, blen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c.buf == MAP_FAILED) {
        km->dump.scan_errno = errno;
        return;
    }
#ifdef MADV_DONTDUMP
    (void)madvise(c.buf, blen, MADV_DONTDUMP); /* it holds copies while scanning */
#endif
    c.skip[0][0] = (uintptr_t)km;
    c.skip[0][1] = (uintptr_t)km + km->map_len;
    c.skip[1][0] = (uintptr_t)c.buf;
    c.skip[1][1] = (uintptr_t)c.buf + blen;
    c.memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    c.mapfd = open_pagemap(c.buf);
    if (c.memfd < 0) {
        km->dump.scan_errno = errno;
    } else {
        pthread_mutex_lock(&page_mu);
        rc = scan_smaps(&c);
        if (rc == 0) {
            scan_marked_pages(&c);
            wipe_dead_stack();
            drop_wiped_hits(&c);
            mark_hits(km, &c);
            km->dump.scanned = 1;
        }
        km->dump.scan_errno = rc;
        pthread_mutex_unlock(&page_mu);
        close(c.memfd);
    }
    if (c.mapfd >= 0)
        close(c.mapfd);
    OPENSSL_cleanse(c.buf, blen);
    munmap(c.buf, blen);
    wipe_dead_stack(); /* what the calls since the first wipe saved there */
    km->dump.scan_ns = now_ns() - t0;
}

/* Lift this key's marks whose page no other key needs. After EVP_PKEY_free
 * has cleansed OpenSSL's copy; a page the heap gave back meanwhile only
 * makes madvise fail, which is harmless. */
static void release_copy_pages(chio__key_mem *km)
{
    size_t ps = page_size(), i, j;

    if (km->n_copy_pages == 0)
        return;
    pthread_mutex_lock(&page_mu);
    for (i = 0; i < km->n_copy_pages; i++)
        for (j = 0; j < PAGE_REG; j++) {
            marked_page *m = &page_reg[j];
            if (m->refs == 0 || m->page != km->copy_pages[i])
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
    km->n_copy_pages = 0;
}

/* mlock this key's marked pages not locked yet; 0, or the errno of the
 * first refusal. */
static int lock_copy_pages(chio__key_mem *km)
{
    size_t ps = page_size(), i, j;
    int e = 0;

    pthread_mutex_lock(&page_mu);
    km->dump.unlocked = 0;
    for (i = 0; i < km->n_copy_pages; i++)
        for (j = 0; j < PAGE_REG; j++) {
            marked_page *m = &page_reg[j];
            if (m->refs == 0 || m->page != km->copy_pages[i])
                continue;
            if (!m->locked && mlock((void *)m->page, ps) == 0)
                m->locked = 1;
            else if (!m->locked) {
                km->dump.unlocked++;
                if (e == 0)
                    e = errno;
            }
            break;
        }
    pthread_mutex_unlock(&page_mu);
    return e;
}

/* ---- the interface to core/crypto.c (declared in internal.h) -------------------- */

chio__key_mem *chio__key_mem_open(size_t size)
{
    size_t len, ps = page_size();
    chio__key_mem *km;
    void *mem;

    len = (size + ps - 1) / ps * ps;
    mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    km = mem; /* anonymous pages are zero */
    km->map_len = len;
    KP_LSAN_ROOT(mem, len);
#ifdef MADV_DONTDUMP
    km->own_dd = madvise(mem, len, MADV_DONTDUMP) == 0;
#endif
    if (mlock(mem, len) == 0)
        km->locked = 1;
    else
        km->lock_errno = errno;
    return km;
}

/* With a host secure heap (OpenSSL's, DONTDUMP and mlocked), move the key
 * there: EVP_PKEY_dup allocates the private key with OPENSSL_secure_malloc,
 * and freeing the original cleanses its ordinary-heap copy. */
void chio__key_mem_secure_heap(chio__key_mem *km, EVP_PKEY **pkey)
{
    EVP_PKEY *dup;

    if (!CRYPTO_secure_malloc_initialized())
        return;
    dup = EVP_PKEY_dup(*pkey);
    if (dup == NULL) {
        ERR_clear_error();
        return; /* chio__key_mem_protect_copies still finds and marks the copy */
    }
    EVP_PKEY_free(*pkey);
    *pkey = dup;
    km->dump.secure_heap = 1;
}

void chio__key_mem_protect_copies(chio__key_mem *km, const uint8_t *seed)
{
    protect_openssl_copies(km, seed);
    km->dontdump = km->own_dd && km->dump.scanned && km->dump.unmarked == 0 && km->dump.unread == 0;
    if (km->locked && km->dump.unlocked > 0) {
        int e = lock_copy_pages(km); /* one retry, for the errno */
        if (e != 0) {
            km->locked = 0;
            km->lock_errno = e;
        }
    }
}

int chio__key_mem_lock(chio__key_mem *km)
{
    int e;

    if (km->locked)
        return 0;
    /* Our own pages, then the heap pages marked for OpenSSL's copy. */
    e = mlock(km, km->map_len) != 0 ? errno : lock_copy_pages(km);
    if (e != 0) {
        km->lock_errno = e;
        return e;
    }
    km->locked = 1;
    km->lock_errno = 0;
    return 0;
}

void chio__key_mem_close(chio__key_mem *km)
{
    if (km == NULL)
        return;
    int locked = km->locked;
    size_t len = km->map_len;

    release_copy_pages(km); /* only now: the caller freed OpenSSL's copy */
    OPENSSL_cleanse(km, len);
    if (keypair_free_hook != NULL) /* tests: the memory as munmap() will get it */
        keypair_free_hook(km, len);
    if (locked)
        munlock(km, len);
    KP_LSAN_UNROOT(km, len);
    munmap(km, len);
}
