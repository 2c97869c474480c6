/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/alloc_count.h - counting heap allocations for perf/bench_kernel.c.
 *
 * perf/alloc_count.c replaces malloc, calloc, realloc, posix_memalign,
 * aligned_alloc and free for the whole process (glibc's __libc_* entry
 * points do the work), and counts blocks and bytes between
 * chio__alloc_count_start() and chio__alloc_count_stop(), telling apart the
 * allocations made from code linked into the executable (libchio, linked
 * statically) from those of its dependencies (OpenSSL, RocksDB, libstdc++).
 * Only the bench-kernel binary links it (Makefile); nothing in the library
 * or the tests depends on it. Counters are atomics: any thread may allocate
 * while counting; start and stop are called from one thread.
 */
#ifndef CHIO_PERF_ALLOC_COUNT_H
#define CHIO_PERF_ALLOC_COUNT_H

#include <stdint.h>

typedef struct chio__alloc_counts {
    uint64_t blocks;     /* every allocation */
    uint64_t bytes;      /* bytes requested by them */
    uint64_t own_blocks; /* those called from the executable's own text */
    uint64_t own_bytes;
} chio__alloc_counts;

/* Zero the counters and start counting. */
void chio__alloc_count_start(void);

/* Stop counting and copy the counters to *@out. */
void chio__alloc_count_stop(chio__alloc_counts *out);

#endif
