/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/fleetutil.h - the fleet suite's harness: a real JetStream
 * cluster (scripts/nats-cluster.sh, stopped by the suite's teardown and,
 * should the test process die, by the script's watchdog), real kernels
 * writing real stores, and build/chio run as separate processes whose
 * output goes to files (exporters killed with the test process:
 * PR_SET_PDEATHSIG).
 */
#ifndef CHIO_TEST_FLEETUTIL_H
#define CHIO_TEST_FLEETUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chio/chio.h"

/* Start @nodes nats-server processes under @dir; returns the client URLs
 * (malloc'd). Fails the test when the cluster does not come up. */
char *fu_cluster_start(const char *dir, int nodes);
/* Stop the cluster under @dir (idempotent). */
void fu_cluster_stop(const char *dir);
/* SIGKILL node @i (1-based) / start it again and wait until it serves. */
void fu_cluster_kill(const char *dir, int i);
void fu_cluster_restart(const char *dir, int i);

/* A kernel on store @db signed with the seed 32 x @seed_byte, NOSYNC,
 * checkpoints every @batch receipts. */
chio_kernel *fu_kernel(const char *db, unsigned seed_byte, uint64_t batch);
/* Sign @n receipts (parameters carry @tag and a counter). */
void fu_sign(chio_kernel *k, uint64_t n, const char *tag);
/* Open @db, sign @n receipts, drain and close. */
void fu_fill(const char *db, unsigned seed_byte, uint64_t n, uint64_t batch, const char *tag);
/* The public key hex of seed 32 x @seed_byte (static buffer per call site). */
void fu_pubkey(unsigned seed_byte, char hex[65]);

/* A CLI run to completion: exit status, stdout and stderr (malloc'd). */
typedef struct fu_run {
    int status; /* exit status; -1 killed or timed out */
    char *out, *err;
} fu_run;
/* Run build/chio with @argv (NULL-terminated), output in files under
 * @dir; waits up to @timeout_ms. */
fu_run fu_cli(const char *dir, unsigned timeout_ms, const char *const *argv);
void fu_run_free(fu_run *r);

/* Start build/chio in the background; stdout and stderr to @out_path. */
pid_t fu_spawn(const char *out_path, const char *const *argv);
/* Wait up to @timeout_ms for @pid; its exit status, or -1. */
int fu_wait(pid_t pid, unsigned timeout_ms);
/* Forget @pid, reaped by the caller (so that teardown never signals its id). */
void fu_forget(pid_t pid);
/* Forget every background process (killed by the suite's teardown). */
void fu_kill_all(void);
/* A fleet suite's fixture: a fresh temp directory *@dir with a NATS
 * cluster of @nodes under *@dir/nats (*@nc), its client URLs in *@urls;
 * fu_suite_down() kills what the test started, stops the cluster and
 * removes the directory. */
void fu_suite_up(char **dir, char **nc, char **urls, int nodes);
void fu_suite_down(char **dir, char **nc, char **urls);
/* @dir/@name, malloc'd. */
char *fu_path_in(const char *dir, const char *name);

/* The serving programs, for the start-up witness: */
/* Run @exe (an absolute path) like fu_cli(). */
fu_run fu_exe(const char *dir, unsigned timeout_ms, const char *exe, const char *const *argv);
/* Start @exe in the background; stdout to @out_path, stderr to @err_path
 * (the same file when NULL). */
pid_t fu_spawn_exe(const char *exe, const char *out_path, const char *err_path,
                   const char *const *argv);
/* Write the seed 32 x @seed_byte to @path (mode 0600), or into
 * CHIO_SIGNING_KEY (host-service's key). */
void fu_seed_file(unsigned seed_byte, const char *path);
void fu_seed_env(unsigned seed_byte);
/* GET @path from 127.0.0.1:@port: the HTTP status, or -1. */
int fu_http_status(unsigned port, const char *path);

/* "receipt_seq" (or @field) of @db's position file for stream @stream; 0 when none. */
uint64_t fu_position(const char *db, const char *stream, const char *field);

/* Receipt @seq of the store @db as its kernel signed it (malloc'd), its
 * length in *@len; fails the test when it cannot be read. */
char *fu_stored_receipt(const char *db, uint64_t seq, size_t *len);
/* `chio export --receipt-db @db --nats @urls` (run in @dir, 60 s at most)
 * must succeed, having published @published receipts up to @last_seq. */
void fu_export_expect(const char *dir, const char *urls, const char *db, long long published,
                      long long last_seq);

/* The unsigned integer after "\"@name\":" in @json; -1 when absent. */
long long fu_field(const char *json, const char *name);
/* The line of @text that starts with @prefix (a static copy), or NULL. */
const char *fu_line(const char *text, const char *prefix);

/* Publish @body on @subject as another client of the NATS servers at
 * @urls would (not through the exporter), with Chio-Seq = Chio-Last-Seq
 * = @seq: what an attacker who may publish on the stream can write. */
void fu_rogue_pub(const char *urls, const char *subject, const char *body, size_t len,
                  uint64_t seq);

#endif
