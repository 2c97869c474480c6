/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/testutil.h - helpers shared by the Criterion suites: loading
 * the upstream vectors vendored in tests/vectors (or $CHIO_VECTORS_DIR),
 * reading files, running the chio CLI with given stdin, and temp dirs.
 * Waiting for a condition with a deadline is in common/poll.h (no
 * Criterion there, so the plain TSan driver can use it too).
 *
 * A suite that needs the vectors calls testutil_load_vectors(); the vendored
 * copy is part of the tree, so a missing or unparsable file fails the test
 * (it never skips). scripts/check-vectors.sh checks the copy itself.
 */
#ifndef CHIO_TESTUTIL_H
#define CHIO_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/json.h"

/* Read a whole file; NULL when it cannot be read. Free with free(). */
char *testutil_read_file(const char *path, size_t *len);

/* Parse tests/vectors/<name> ($CHIO_VECTORS_DIR/<name> when that is set);
 * fails the test when the file is absent or invalid. Never returns NULL. */
chio_json_doc *testutil_load_vectors(const char *name);

/* Result of running the CLI. */
typedef struct cli_result {
    int status; /* exit status, or -1 when it did not exit normally */
    char *out;  /* captured stdout (NUL-terminated) */
    size_t out_len;
    char *err; /* captured stderr */
    size_t err_len;
} cli_result;

/* Run build/chio with argv (NULL-terminated, argv[0] excluded) and stdin. */
cli_result testutil_run_cli(const char *const *argv, const char *in, size_t in_len);
/* Write @json to @dir/s.json and `chio scenario run` it. */
cli_result testutil_run_scenario_text(const char *dir, const char *json);
/* Line @i (0-based) of @out parsed as JSON (free it), or NULL. */
chio_json_doc *testutil_output_line(const char *out, size_t i);
void testutil_cli_free(cli_result *r);

/* mkdtemp under $TMPDIR (under /tmp when TMPDIR is unset or too long for
 * a Unix socket path inside); returns a malloc'd path. */
char *testutil_tmpdir(void);
/* What @fd receives until the peer closes (or a read fails), @until
 * shows up in it (when not NULL) or @ms pass, NUL-terminated (possibly
 * empty); malloc'd, never NULL. */
char *testutil_recv_until(int fd, const char *until, unsigned ms);
/* A new TCP connection to 127.0.0.1:@port (close-on-exec), or -1 when
 * the connect fails (fails the test when no socket can be made). */
int testutil_dial(unsigned port);
/* A chunked request body without end on @fd (made nonblocking): 64 KiB
 * chunks ("10000\r\n", 65536 spaces, "\r\n") until the peer closes the
 * connection, @limit bytes are sent or @ms pass. Returns the bytes sent;
 * *@closed 1 when the peer closed it; what it answered (the first 4 KiB
 * or so) in *@answer (malloc'd, possibly empty; the caller frees it). */
#define TESTUTIL_CHUNK_LEN (7 + 65536 + 2)
size_t testutil_stream_chunked(int fd, size_t limit, unsigned ms, int *closed, char **answer);
/* "@dir/@name" (the caller frees it). */
char *testutil_join(const char *dir, const char *name);
/* @rel, a path from the repository's root, made absolute (the caller
 * frees it). */
char *testutil_repo_path(const char *rel);
/* rm -rf @path. */
void testutil_rmrf(const char *path);
/* Write @len bytes to @path with @mode. Returns 0 on success. */
int testutil_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* A tmpfs of @size ("2m") at @mnt in a mount namespace of this test
 * process's own (Criterion runs each test in a process of its own: the
 * mount goes with it, whatever happens). NULL, or why not (the caller
 * skips). */
const char *testutil_private_tmpfs(const char *mnt, const char *size);
/* Write to @path until its file system is full. */
void testutil_fill_fs(const char *path);

/* Hex helpers for tests. */
void testutil_hex(const uint8_t *in, size_t n, char *out);
/* A synced raw put (delete when @val is NULL) of @key in column family @cf
 * of the RocksDB store at @db, which no one else may hold open. */
void testutil_raw_write(const char *db, const char *cf, const void *key, size_t klen,
                        const void *val, size_t vlen);
/* The same under the 8-byte key of sequence number @seq. */
void testutil_raw_write_seq(const char *db, const char *cf, uint64_t seq, const void *val,
                            size_t vlen);
/* The log head the key of seed @seed_hex would sign after receipt @last
 * and checkpoint @cp (the chain value stored at @last, chain_from 1, time
 * 2000), written over the stored one of the store at @db (no one else may
 * hold it open): a head read back from the WAL, or forged with another key. */
void testutil_write_head(const char *db, const char *seed_hex, uint64_t last, uint64_t cp);
/* The stored bytes of receipt (or, @checkpoint set, checkpoint) @seq of
 * the store at @db, which must be there; the caller frees them. */
char *testutil_stored(const char *db, int checkpoint, uint64_t seq, size_t *len);

#endif
