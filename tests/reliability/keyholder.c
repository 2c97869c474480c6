/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/reliability/keyholder.c - a host process holding a signing key, for
 * the core-dump test (tests/kernel/test_reliability.c): it reads a seed
 * (64 hex digits) from stdin or from the file named by --seed-file with
 * read(2) (no stdio buffer keeps a copy), builds a kernel from it, wipes
 * its own buffer, signs one receipt through the kernel (the signer
 * thread's pooled context included), prints "ready <pid> <locked>
 * <dontdump> <scanned> <copies> <pages> <scan_us> <secure>" (the last five
 * from chio__keypair_dump_state(): what key creation did about OpenSSL's
 * copy of the key) and waits until stdin closes (or a line arrives).
 *
 *   keyholder [--secure-heap] [--seed-file PATH]
 *
 * --secure-heap: give OpenSSL a secure heap first
 * (CRYPTO_secure_malloc_init): libchio then moves OpenSSL's copy of the
 * private key there (EVP_PKEY_dup), so the scan finds no copy to mark.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chio/chio.h"
#include "core/internal.h"

#define POLICY "policy-keyholder"

static int read_seed(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    ssize_t r;

    /* Up to a newline (stdin stays open for the wait below) or the end. */
    while (n < cap && memchr(buf, '\n', n) == NULL && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    *len = n;
    return n == 64 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static char seed[128]; /* static: not on a stack that a later call reuses unwiped */
    const char *file = NULL;
    chio_kernel_config cfg;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_receipt_builder *b = NULL;
    chio_receipt *rec = NULL;
    chio__key_dump_state ds;
    chio_error err;
    size_t len = 0;
    int i, fd = 0, secure = 0, dontdump = 0, locked;
    char line[16];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--secure-heap") == 0)
            secure = 1;
        else if (strcmp(argv[i], "--seed-file") == 0 && i + 1 < argc)
            file = argv[++i];
        else
            return fprintf(stderr, "usage: keyholder [--secure-heap] [--seed-file PATH]\n"), 2;
    }
    chio_error_init(&err);
    if (secure && CRYPTO_secure_malloc_init(65536, 32) == 0)
        return fprintf(stderr, "no secure heap\n"), 1;
    if (file != NULL && (fd = open(file, O_RDONLY)) < 0)
        return perror(file), 1;
    if (read_seed(fd, seed, sizeof(seed), &len) != 0)
        return fprintf(stderr, "the seed must be 64 hex digits\n"), 1;
    if (file != NULL)
        close(fd);
    if (chio_keypair_from_seed_hex(seed, len, &kp, &err) != 0)
        return fprintf(stderr, "seed: %s\n", err.message), 1;
    OPENSSL_cleanse(seed, sizeof(seed));
    locked = chio_keypair_memory_locked(kp, &dontdump, NULL);
    if (chio__keypair_dump_state(kp, &ds) != 0)
        return fprintf(stderr, "no dump state\n"), 1;

    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = POLICY;
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0)
        return fprintf(stderr, "kernel: %s\n", err.message), 1;
    if (chio_receipt_builder_new(&b) != 0 || chio_receipt_builder_set_capability_id(b, "cap-1") ||
        chio_receipt_builder_set_tool(b, "srv", "tool") ||
        chio_receipt_builder_set_parameters(b, "{}", 2, NULL) ||
        chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL))
        return fprintf(stderr, "builder failed\n"), 1;
    if (chio_kernel_sign_receipt(k, b, &rec, &err) != 0)
        return fprintf(stderr, "sign: %s\n", err.message), 1;
    chio_receipt_free(rec);

    printf("ready %d %d %d %d %zu %zu %llu %d\n", (int)getpid(), locked, dontdump, ds.scanned,
           ds.copies, ds.pages, (unsigned long long)(ds.scan_ns / 1000), ds.secure_heap);
    fflush(stdout);
    (void)!read(0, line, sizeof(line)); /* wait for the test */
    chio_kernel_free(k);
    return 0;
}
