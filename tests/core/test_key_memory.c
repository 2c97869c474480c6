/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_key_memory.c - the scan key creation runs for OpenSSL's
 * copy of the seed (src/core/key_memory.c) reads only the populated pages
 * of anonymous mappings: idle threads' stacks cost it nothing, and a copy
 * deep inside a mostly untouched mapping, straddling two pages, is still
 * found and its pages left out of core dumps; a pagemap that reads as
 * zeros is not trusted (every page is read); a copy in the dead stack
 * below key creation (where the scan's own register saves land) is wiped,
 * not counted and its page not marked. The core-dump checks of the whole
 * process are in tests/kernel/test_reliability.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chio/crypto.h"
#include "common/testutil.h"
#include "internal.h"

#define KM_SEED    "4242424242424242424242424242424242424242424242424242424242424242"
#define KM_THREADS 16
#define KM_STACK   (4u << 20)

static pthread_barrier_t km_bar;

/* A thread that only waits: its stack is reserved, a few pages touched. */
static void *idle_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&km_bar);
    pthread_barrier_wait(&km_bar);
    return NULL;
}

Test(key_memory, idle_thread_stacks_are_not_read)
{
    pthread_t t[KM_THREADS];
    pthread_attr_t attr;
    chio__key_dump_state st;
    chio_keypair *kp;
    int i;

    cr_assert_eq(pthread_attr_init(&attr), 0);
    cr_assert_eq(pthread_attr_setstacksize(&attr, KM_STACK), 0);
    cr_assert_eq(pthread_barrier_init(&km_bar, NULL, KM_THREADS + 1), 0);
    for (i = 0; i < KM_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], &attr, idle_thread, NULL), 0);
    pthread_barrier_wait(&km_bar);
    cr_assert_eq(chio_keypair_from_seed_hex(KM_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio__keypair_dump_state(kp, &st), 0);
    pthread_barrier_wait(&km_bar);
    for (i = 0; i < KM_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_attr_destroy(&attr);
    chio_keypair_free(kp);

    cr_log_info("scan: %zu regions, %zu bytes read, %zu skipped, %llu us", st.regions, st.bytes,
                st.skipped, (unsigned long long)(st.scan_ns / 1000));
    cr_expect_eq(st.scanned, 1, "errno %d", st.scan_errno);
    cr_expect_eq(st.unread, 0);
    /* OpenSSL's copy (sanitizer builds leave more in their fake stacks). */
    cr_expect_geq(st.copies, 1, "OpenSSL's copy was not found");
    /* Each stack is 4 MiB with a few pages written. */
    cr_expect_geq(st.skipped, (size_t)KM_THREADS * (KM_STACK / 2), "%zu bytes skipped", st.skipped);
}

/* The VmFlags of the smaps entry holding @addr ("" when none does). */
static void vmflags_at(uintptr_t addr, char *out, size_t cap)
{
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/smaps", "re");

    out[0] = '\0';
    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long a, b;
        char perms[8];

        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3)
            found = a <= addr && addr < b;
        else if (found && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

Test(key_memory, a_copy_deep_in_an_untouched_mapping_is_found_across_two_pages)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), len = 64u << 20, at = (40u << 20) - 16;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    chio__key_dump_state st;
    chio_keypair *kp;
    char flags[512];

    cr_assert_neq(m, MAP_FAILED);
    cr_assert_eq(chio__hex_decode_exact(KM_SEED, 64, m + at, CHIO_SEED_BYTES), 0);
    cr_assert_eq(chio_keypair_from_seed_hex(KM_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio__keypair_dump_state(kp, &st), 0);
    cr_expect_eq(st.scanned, 1, "errno %d", st.scan_errno);
    cr_expect_geq(st.copies, 2, "OpenSSL's and this test's: %zu found", st.copies);
    cr_expect_geq(st.skipped, len / 2, "%zu bytes skipped", st.skipped);
    /* Both pages of the copy were marked (madvise split them off). */
    vmflags_at((uintptr_t)m + (40u << 20) - ps, flags, sizeof(flags));
    cr_expect_neq(strstr(flags, " dd"), NULL, "the copy's first page is dumpable: %s", flags);
    vmflags_at((uintptr_t)m + (40u << 20), flags, sizeof(flags));
    cr_expect_neq(strstr(flags, " dd"), NULL, "the copy's second page is dumpable: %s", flags);
    chio_keypair_free(kp);
    OPENSSL_cleanse(m + at, CHIO_SEED_BYTES);
    munmap(m, len);
}

/* A pagemap that answers zeros for every page (here /dev/zero mounted over
 * it, in a mount namespace of this test process's own; a sandbox may do
 * the same) would make the scan skip every page and find no copy: key
 * creation checks it against a page it just wrote and reads everything. */
Test(key_memory, a_pagemap_reading_zeros_is_not_trusted)
{
    char path[64];
    uint64_t ent = 1;
    chio__key_dump_state st;
    chio_keypair *kp = NULL;
    int fd, built;

    snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)getpid());
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("/dev/zero", path, NULL, MS_BIND, NULL) != 0)
        cr_skip_test("cannot mount over pagemap here (needs root): %s", strerror(errno));
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)pread(fd, &ent, sizeof(ent),
                    (off_t)((uintptr_t)&ent / (uintptr_t)sysconf(_SC_PAGESIZE) * sizeof(ent)));
        close(fd);
    }
    built = chio_keypair_from_seed_hex(KM_SEED, 64, &kp, NULL);
    memset(&st, 0, sizeof(st));
    if (built == 0)
        (void)chio__keypair_dump_state(kp, &st);
    cr_assert_eq(umount2(path, MNT_DETACH), 0, "%s", strerror(errno));
    cr_assert_eq(ent, 0, "the mount did not hide pagemap");
    cr_assert_eq(built, 0);
    chio_keypair_free(kp);
    cr_expect_eq(st.scanned, 1, "errno %d", st.scan_errno);
    cr_expect_geq(st.copies, 1, "OpenSSL's copy was not found (%zu bytes read)", st.bytes);
    cr_expect_eq(st.skipped, 0, "%zu bytes skipped on a pagemap of zeros", st.skipped);
}

/* Decode the seed into the deepest bytes of a 12 KiB frame and return the
 * address: dead stack below the caller, deeper than key creation's own
 * frames reach before the scan, as the dynamic linker's save of the
 * vector registers leaves it when a function the scan calls is bound
 * lazily (the scan compared those registers with the seed). */
static __attribute__((noinline)) uintptr_t plant_in_dead_stack(void)
{
    unsigned char pad[12288];

    cr_assert_eq(chio__hex_decode_exact(KM_SEED, 64, pad, CHIO_SEED_BYTES), 0);
    __asm__ __volatile__("" : : "r"(pad) : "memory");
    return (uintptr_t)pad;
}

/* Whether the bytes at @at hold the seed, read through /proc/self/mem
 * (the address is dead stack: no C access to it). */
static int holds_seed(uintptr_t at)
{
    unsigned char now[CHIO_SEED_BYTES], seed[CHIO_SEED_BYTES];
    int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC), same;

    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, now, sizeof(now), (off_t)at), (ssize_t)sizeof(now));
    close(fd);
    cr_assert_eq(chio__hex_decode_exact(KM_SEED, 64, seed, sizeof(seed)), 0);
    same = memcmp(now, seed, sizeof(seed)) == 0;
    OPENSSL_cleanse(now, sizeof(now));
    return same;
}

Test(key_memory, a_copy_in_dead_stack_below_the_scan_is_wiped_not_marked)
{
    chio__key_dump_state st;
    chio_keypair *kp;
    uintptr_t at = plant_in_dead_stack();
    char flags[512];

    cr_assert(holds_seed(at), "the planted copy is not there");
    cr_assert_eq(chio_keypair_from_seed_hex(KM_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio__keypair_dump_state(kp, &st), 0);
    cr_expect_eq(st.scanned, 1, "errno %d", st.scan_errno);
    cr_expect_eq(st.copies, 1, "OpenSSL's copy only: %zu found", st.copies);
    cr_expect_not(holds_seed(at), "the copy in dead stack is still there");
    vmflags_at(at, flags, sizeof(flags));
    cr_expect_eq(strstr(flags, " dd"), NULL, "a page of this thread's stack was marked: %s", flags);
    chio_keypair_free(kp);
}
