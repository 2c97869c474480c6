/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_key_memory.c - the scan key creation runs for OpenSSL's
 * copy of the seed (src/core/key_memory.c) reads only the populated pages
 * of anonymous mappings: idle threads' stacks cost it nothing, and a copy
 * deep inside a mostly untouched mapping, straddling two pages, is still
 * found and its pages left out of core dumps; a pagemap that reads as
 * zeros is not trusted (every page is read). The core-dump checks of the
 * whole process are in tests/kernel/test_reliability.c.
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
