/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/failalloc.h - an allocation-failure injector for the test
 * binary (test-only: it is linked into build/test-chio, never into the
 * library). It interposes malloc, calloc, realloc, posix_memalign,
 * aligned_alloc, memalign, strdup and strndup for the whole process and
 * passes every call through while disarmed (one relaxed atomic load).
 *
 * Armed, it counts the allocations that libchio and OpenSSL make (the
 * immediate caller lies in this executable's text, which holds the
 * statically linked library, or in libcrypto) on the chosen threads, and
 * fails the Nth one (and, in FA_FROM_NTH mode, every later one) with
 * NULL / ENOMEM. RocksDB and the C++ runtime allocate through operator
 * new, which throws instead of returning NULL, so their allocations are
 * passed through and never counted. Under AddressSanitizer the library's
 * allocations reach ASan's allocator (the real functions are looked up
 * with dlsym(RTLD_NEXT)), so leaks after a failure are still reported.
 */
#ifndef CHIO_TEST_FAILALLOC_H
#define CHIO_TEST_FAILALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef enum fa_threads {
    FA_THIS_THREAD = 0,  /* only the thread that called fa_arm() */
    FA_ANY_THREAD = 1,   /* every thread */
    FA_OTHER_THREADS = 2 /* every thread but the one that called fa_arm() */
} fa_threads;

typedef enum fa_mode {
    FA_ONLY_NTH = 0, /* the Nth allocation fails, later ones succeed */
    FA_FROM_NTH = 1, /* the Nth and every later one fail (memory stays short) */
    FA_EVERY_NTH = 2 /* every Nth one fails (N, 2N, ...: memory is tight) */
} fa_mode;

/* Start counting from 0 and fail the @nth counted allocation (1-based; 0:
 * count only, fail nothing) on @threads in @mode. */
void fa_arm(uint64_t nth, fa_threads threads, fa_mode mode);
/* Stop counting and failing; returns how many allocations were counted
 * since fa_arm(). */
uint64_t fa_disarm(void);
/* How many allocations the current arming has failed so far. */
uint64_t fa_failures(void);
/* Where the first allocation the current arming failed was made, for
 * messages: "exe+0x..." (addr2line -e build/test-chio), "libcrypto+0x..."
 * or "none"; written into @buf (@cap bytes). */
const char *fa_failed_site(char *buf, size_t cap);
/* 1 when the interposers are in place (they are in every build of the test
 * binary; this guards against a linker dropping them). */
int fa_active(void);

#endif
