/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/alloc_count.c - the malloc interposer of the kernel benchmark (see
 * alloc_count.h). It owns the process's allocation entry points while the
 * benchmark runs and calls nothing of libchio; bench_kernel.c reads its
 * counters around the evaluations it measures.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h> /* the prototypes replaced here */

#include "alloc_count.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* Exported (the build hides symbols by default) so that OpenSSL, RocksDB
 * and libstdc++ allocate through these too. An allocation whose caller
 * lies in this executable's text is libchio's own (the library is linked
 * in statically); the rest are its dependencies'. */
#define INTERPOSE __attribute__((visibility("default")))
extern char __executable_start, etext;

static int counting;
static chio__alloc_counts counts;

static void count(size_t n, const void *caller)
{
    /* Relaxed: the counters are read after counting stops (a seq_cst store
     * in chio__alloc_count_stop orders the reads after it). */
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&counts.blocks, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&counts.bytes, n, __ATOMIC_RELAXED);
        if ((const char *)caller >= &__executable_start && (const char *)caller < &etext) {
            __atomic_add_fetch(&counts.own_blocks, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&counts.own_bytes, n, __ATOMIC_RELAXED);
        }
    }
}

void chio__alloc_count_start(void)
{
    __atomic_store_n(&counts.blocks, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&counts.bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&counts.own_blocks, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&counts.own_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
}

void chio__alloc_count_stop(chio__alloc_counts *out)
{
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    out->blocks = __atomic_load_n(&counts.blocks, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&counts.bytes, __ATOMIC_RELAXED);
    out->own_blocks = __atomic_load_n(&counts.own_blocks, __ATOMIC_RELAXED);
    out->own_bytes = __atomic_load_n(&counts.own_bytes, __ATOMIC_RELAXED);
}

INTERPOSE void *malloc(size_t n)
{
    count(n, __builtin_return_address(0));
    return __libc_malloc(n);
}

INTERPOSE void *calloc(size_t a, size_t b)
{
    count(a * b, __builtin_return_address(0));
    return __libc_calloc(a, b);
}

INTERPOSE void *realloc(void *p, size_t n)
{
    count(n, __builtin_return_address(0));
    return __libc_realloc(p, n);
}

INTERPOSE int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    count(n, __builtin_return_address(0));
    p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

INTERPOSE void *aligned_alloc(size_t align, size_t n)
{
    count(n, __builtin_return_address(0));
    return __libc_memalign(align, n);
}

INTERPOSE void free(void *p)
{
    __libc_free(p);
}
