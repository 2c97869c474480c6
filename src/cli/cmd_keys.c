/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_keys.c - `chio keygen` and `chio pubkey`: create a seed file
 * (mode 0600, never overwritten) and show a seed file's public key. The
 * seed text is wiped from memory as soon as it is written or parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

static const char keygen_usage[] =
    "usage: chio keygen --out FILE [--json]\n"
    "\n"
    "Write a new random Ed25519 signing seed to FILE as 64 hex digits and a\n"
    "newline, with mode 0600. Refuses to overwrite an existing file. Prints the\n"
    "public key as 64 lowercase hex digits (or {\"public_key\":...} with --json).\n";

static const char pubkey_usage[] =
    "usage: chio pubkey --seed-file FILE [--json]\n"
    "\n"
    "Print the public key of the seed in FILE (64 hex digits; one trailing\n"
    "newline allowed): a regular file, not a link, that neither group nor\n"
    "others can read or write. Exit 2 for a missing, unsafe or malformed file.\n";

static void print_pub(const chio_keypair *kp, int json)
{
    if (json)
        printf("{\"public_key\":\"%s\"}\n", chio_keypair_public_hex(kp));
    else
        printf("%s\n", chio_keypair_public_hex(kp));
}

/* fsync the directory holding @path, so that the new file's name is as
 * durable as its bytes (review 47: without it a power loss right after
 * keygen reported success could leave no seed file). 0 or an errno. */
static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    int fd, e = 0;

    if (copy == NULL)
        return ENOMEM;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    return e;
}

int cmd_keygen(int argc, char **argv)
{
    cli_opt opts[] = {{"out", 1, 0, 0, 0, 0}, {"json", 0, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    chio_keypair *kp = NULL;
    chio_error err;
    char seed[66];
    int rc, fd;
    ssize_t w;
    struct stat st;

    rc = cli_parse(argc, argv, opts, 2, pos, 0, &npos, "keygen", keygen_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (opts[0].value == NULL)
        return cli_error("keygen", "--out FILE is required");
    chio_error_init(&err);
    rc = chio_keypair_generate(&kp, &err);
    if (rc != 0)
        return cli_lib_error("keygen", "cannot generate a key", rc, &err);
    fd = open(opts[0].value, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        chio_keypair_free(kp);
        if (e == EEXIST && stat(opts[0].value, &st) == 0 && S_ISDIR(st.st_mode))
            return cli_error("keygen", "--out %s is a directory: give the new seed file's name",
                             opts[0].value);
        if (e == EEXIST)
            return cli_error("keygen",
                             "refusing to overwrite existing file %s (keygen never replaces a "
                             "key: choose another --out)",
                             opts[0].value);
        return cli_error("keygen", "cannot create %s: %s", opts[0].value, strerror(e));
    }
    (void)fchmod(fd, 0600); /* whatever the umask was */
    chio_keypair_write_seed_hex(kp, seed);
    seed[64] = '\n';
    w = write(fd, seed, 65);
    OPENSSL_cleanse(seed, sizeof(seed));
    if (w >= 0 && w != 65) {
        /* a short write sets no errno: say what happened */
        close(fd);
        unlink(opts[0].value); /* never a truncated seed left behind */
        chio_keypair_free(kp);
        return cli_error("keygen",
                         "cannot write %s: only %zd of 65 bytes were written (disk full or a "
                         "file size limit?); the file was removed",
                         opts[0].value, w);
    }
    if (w != 65 || fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(opts[0].value);
        chio_keypair_free(kp);
        return cli_error("keygen", "cannot write %s: %s", opts[0].value, strerror(e));
    }
    if ((rc = sync_parent(opts[0].value)) != 0) {
        unlink(opts[0].value);
        chio_keypair_free(kp);
        return cli_error("keygen", "cannot sync the directory of %s: %s; the file was removed",
                         opts[0].value, strerror(rc));
    }
    print_pub(kp, opts[1].value != NULL);
    chio_keypair_free(kp);
    return CLI_OK;
}

int cmd_pubkey(int argc, char **argv)
{
    cli_opt opts[] = {{"seed-file", 1, 0, 0, 0, 0}, {"json", 0, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    chio_keypair *kp;
    int rc;

    rc = cli_parse(argc, argv, opts, 2, pos, 0, &npos, "pubkey", pubkey_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    kp = cli_load_seed("pubkey", opts[0].value);
    if (kp == NULL)
        return CLI_USAGE;
    print_pub(kp, opts[1].value != NULL);
    chio_keypair_free(kp);
    return CLI_OK;
}
