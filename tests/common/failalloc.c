/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/failalloc.c - the allocation-failure injector (see
 * failalloc.h). The real allocator is found with dlsym(RTLD_NEXT) (glibc's,
 * or ASan's in a sanitizer build); while that lookup runs, allocations come
 * from a small static pool that free() recognises and ignores.
 */

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define FA_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA_LSAN 1
#endif
#endif
#ifdef FA_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#undef strdup
#undef strndup

#define INTERPOSE __attribute__((visibility("default")))

extern char __executable_start, etext;

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*memalign_fn)(void **, size_t, size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static memalign_fn real_posix_memalign;

/* The bootstrap pool: what dlsym allocates while the real functions are
 * being looked up (never freed for real). */
static _Alignas(16) char pool[8192];
static size_t pool_used;
static __thread int resolving;

/* Armed state. */
static int armed;
static uint64_t fail_nth;
static int fail_threads;
static int fail_mode;
static pthread_t arming_thread;
static uint64_t counted;
static uint64_t failed;
static uintptr_t failed_caller;
/* libcrypto's text, found at fa_arm() */
static uintptr_t crypto_lo, crypto_hi;
/* libcriterion's text, found before main() */
static uintptr_t runner_lo, runner_hi;

static void *pool_alloc(size_t n)
{
    size_t at = (pool_used + 15) & ~(size_t)15;

    if (at + n > sizeof(pool))
        return NULL;
    pool_used = at + n;
    return pool + at;
}

static int in_pool(const void *p)
{
    return (const char *)p >= pool && (const char *)p < pool + sizeof(pool);
}

static void resolve(void)
{
    if (real_malloc != NULL)
        return;
    resolving = 1;
    real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    real_posix_memalign = (memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
    __atomic_store_n(&real_malloc, (malloc_fn)dlsym(RTLD_NEXT, "malloc"), __ATOMIC_RELEASE);
    resolving = 0;
}

static int find_crypto(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libcrypto") == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            crypto_lo = info->dlpi_addr + ph->p_vaddr;
            crypto_hi = crypto_lo + ph->p_memsz;
        }
    }
    return 1;
}

static int find_runner(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libcriterion") == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            runner_lo = info->dlpi_addr + ph->p_vaddr;
            runner_hi = runner_lo + ph->p_memsz;
        }
    }
    return 1;
}

__attribute__((constructor)) static void find_runner_text(void)
{
    dl_iterate_phdr(find_runner, NULL);
}

/*
 * Criterion's runner process at times exits with a small block it
 * allocated itself still live (48 bytes from calloc, seen in runs with
 * suites that set .timeout: its timeout thread reclaims cancelled
 * requests lazily), and LeakSanitizer reports that against this
 * executable, failing `make asan` for a leak that is not ours. Under ASan a
 * block whose immediate caller is libcriterion's own code is marked
 * ignored; what libchio, OpenSSL and the tests allocate (including memory
 * a test allocates while Criterion called it) is checked as before.
 */
static void *runner_block(void *p, const void *caller)
{
#ifdef FA_LSAN
    uintptr_t c = (uintptr_t)caller;

    if (p != NULL && c >= runner_lo && c < runner_hi)
        __lsan_ignore_object(p);
#else
    (void)caller;
#endif
    return p;
}

/* 1 when this allocation is to fail. @caller: the allocating code. */
static int should_fail(const void *caller)
{
    uintptr_t c = (uintptr_t)caller;
    uint64_t n;

    if (!__atomic_load_n(&armed, __ATOMIC_ACQUIRE) || resolving)
        return 0;
    if (!((c >= (uintptr_t)&__executable_start && c < (uintptr_t)&etext) ||
          (c >= crypto_lo && c < crypto_hi)))
        return 0;
    if (fail_threads == FA_THIS_THREAD && !pthread_equal(pthread_self(), arming_thread))
        return 0;
    if (fail_threads == FA_OTHER_THREADS && pthread_equal(pthread_self(), arming_thread))
        return 0;
    n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
    if (fail_nth == 0 || n < fail_nth || (n > fail_nth && fail_mode == FA_ONLY_NTH) ||
        (fail_mode == FA_EVERY_NTH && n % fail_nth != 0))
        return 0;
    if (__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED) == 1)
        failed_caller = c;
    return 1;
}

void fa_arm(uint64_t nth, fa_threads threads, fa_mode mode)
{
    resolve();
    if (crypto_hi == 0)
        dl_iterate_phdr(find_crypto, NULL);
    __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
    fail_nth = nth;
    fail_threads = (int)threads;
    fail_mode = (int)mode;
    arming_thread = pthread_self();
    __atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&failed, 0, __ATOMIC_RELAXED);
    failed_caller = 0;
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

uint64_t fa_disarm(void)
{
    __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&counted, __ATOMIC_RELAXED);
}

uint64_t fa_failures(void)
{
    return __atomic_load_n(&failed, __ATOMIC_RELAXED);
}

const char *fa_failed_site(char *buf, size_t cap)
{
    uintptr_t c = failed_caller;

    if (c >= (uintptr_t)&__executable_start && c < (uintptr_t)&etext)
        snprintf(buf, cap, "exe+0x%lx", (unsigned long)(c - (uintptr_t)&__executable_start));
    else if (c >= crypto_lo && c < crypto_hi)
        snprintf(buf, cap, "libcrypto+0x%lx", (unsigned long)(c - crypto_lo));
    else
        snprintf(buf, cap, "none");
    return buf;
}

int fa_active(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    void *p;

    /* a counted allocation from this executable's text fails when armed */
    fa_arm(1, FA_THIS_THREAD, FA_ONLY_NTH);
    p = alloc(16);
    fa_disarm();
    free(p);
    return p == NULL;
}

static void *do_malloc(size_t n, const void *caller)
{
    if (real_malloc == NULL) {
        if (resolving)
            return pool_alloc(n);
        resolve();
    }
    if (should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return runner_block(real_malloc(n), caller);
}

INTERPOSE void *malloc(size_t n)
{
    return do_malloc(n, __builtin_return_address(0));
}

INTERPOSE void *calloc(size_t a, size_t b)
{
    void *p;

    if (real_malloc == NULL) {
        if (resolving) {
            p = b != 0 && a > SIZE_MAX / b ? NULL : pool_alloc(a * b);
            if (p != NULL)
                memset(p, 0, a * b);
            return p;
        }
        resolve();
    }
    if (should_fail(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return runner_block(real_calloc(a, b), __builtin_return_address(0));
}

INTERPOSE void *realloc(void *p, size_t n)
{
    if (real_malloc == NULL && !resolving)
        resolve();
    if (in_pool(p) || real_malloc == NULL) {
        void *q = do_malloc(n, __builtin_return_address(0));
        if (q != NULL && p != NULL)
            memcpy(q, p, n < sizeof(pool) ? n : sizeof(pool));
        return q;
    }
    if (should_fail(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return runner_block(real_realloc(p, n), __builtin_return_address(0));
}

INTERPOSE void free(void *p)
{
    if (p == NULL || in_pool(p))
        return;
    if (real_free == NULL)
        resolve();
    real_free(p);
}

INTERPOSE int posix_memalign(void **out, size_t align, size_t n)
{
    if (real_malloc == NULL)
        resolve();
    if (should_fail(__builtin_return_address(0)))
        return ENOMEM;
    return real_posix_memalign(out, align, n);
}

INTERPOSE void *aligned_alloc(size_t align, size_t n)
{
    void *p;

    if (real_malloc == NULL)
        resolve();
    if (should_fail(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) == 0 ? p
                                                                                            : NULL;
}

INTERPOSE void *memalign(size_t align, size_t n)
{
    return aligned_alloc(align, n);
}

/* The string functions allocate inside libc, where the caller check above
 * cannot see who asked; these copies allocate from here, on behalf of
 * their own caller. */
INTERPOSE char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = do_malloc(n, __builtin_return_address(0));

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

INTERPOSE char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *p = do_malloc(n + 1, __builtin_return_address(0));

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int fa_vasprintf(char **out, const char *fmt, va_list ap, const void *caller)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return -1;
    *out = do_malloc((size_t)n + 1, caller);
    if (*out == NULL)
        return -1;
    return vsnprintf(*out, (size_t)n + 1, fmt, ap);
}

INTERPOSE int vasprintf(char **out, const char *fmt, va_list ap)
{
    return fa_vasprintf(out, fmt, ap, __builtin_return_address(0));
}

INTERPOSE int asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fa_vasprintf(out, fmt, ap, __builtin_return_address(0));
    va_end(ap);
    return n;
}
