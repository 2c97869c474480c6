/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/kernelutil.h - helpers for the kernel suites: a kernel on a
 * fresh RocksDB directory, a valid receipt builder, thread counting, and a
 * full check of a stored log (contiguous sequence numbers, every receipt
 * verifying under the kernel key, every checkpoint verifying and matching
 * the Merkle root of its receipts, the checkpoint chain), and waiting for
 * the checkpoints the checkpoint and commit threads write after a call
 * has returned.
 */
#ifndef CHIO_TEST_KERNELUTIL_H
#define CHIO_TEST_KERNELUTIL_H

#include <stdint.h>

#include "chio/chio.h"

#include "kernel/scenarios.h"

#define TEST_SEED SC_SEED
#define TEST_PUB  SC_PUB

/* chio_kernel_config_init + the test key + @path (NULL: ephemeral). */
void kt_config(chio_kernel_config *cfg, const char *path);
chio_kernel *kt_kernel(const chio_kernel_config *cfg);
/* A tool answering with its own arguments (canonical JSON). */
int kt_echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                 chio_output *out);
/* Register tool server @server serving @tools (@ntools of them) through
 * kt_echo_tool on @k; fails the test on an error. */
void kt_serve_echo(chio_kernel *k, const char *server, const char *const *tools, size_t ntools);
/* The signature of a tool server's invoke and invoke_stream. */
typedef int (*kt_tool_fn)(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out);
/* Register tool server @server on @k with the one tool "t", answered by
 * @fn (its invoke_stream when @streaming, else its invoke). Fails the test
 * on an error. */
void kt_serve_t(chio_kernel *k, const char *server, int streaming, kt_tool_fn fn);
/* A kernel for the mediation suites: store @path (NULL: ephemeral), clock
 * @clock, NOSYNC, error-level logs, and tool server @server serving @tools
 * (@ntools of them) through kt_echo_tool. */
chio_kernel *kt_echo_kernel(const char *path, chio_clock_fn clock, const char *server,
                            const char *const *tools, size_t ntools);
/* A session on @k (its id in @sid) holding one token: id @id, issued by
 * the test kernel key (TK_KERNEL_SEED) to TK_AGENT_PUB at @now - 10 for
 * 100 s, with one grant to invoke srv/t under @constraints (the inside of
 * a JSON array, "" for none). Fails the test on any error. */
void kt_grant_session(chio_kernel *k, uint64_t now, const char *id, const char *constraints,
                      char sid[CHIO_SESSION_ID_LEN + 1]);
/* A clock (chio_clock_fn) reading the uint64_t that @ctx points at: a
 * suite sets cfg.clock_ctx to its own variable and moves time by storing
 * to it. */
uint64_t kt_clock_at(void *ctx);
/* A kernel on store @db (no WAL syncs, errors logged only) whose clock
 * reads *@now (kt_clock_at), with delegation chains up to @max_depth,
 * serving srv/read (the echo tool). */
chio_kernel *kt_read_kernel(const char *db, uint64_t *now, uint32_t max_depth);
/* A session on @k for TK_AGENT_PUB holding the one token @tok (JSON); its
 * id into @sid. Fails the test on an error. */
void kt_open1(chio_kernel *k, const char *tok, char sid[CHIO_SESSION_ID_LEN + 1]);
/* One call of srv/read with "{}" in session @sid under capability @cap;
 * returns its decision code (CHIO_CODE_NONE: allowed). Fails the test when
 * the call fails, when the decision has no receipt, or when the receipt
 * disagrees (verdict allow for CHIO_CODE_NONE, else verdict deny with the
 * code's name as its guard and @cap as its capability_id). */
chio_code kt_call_read(chio_kernel *k, const char *sid, const char *cap);
/* @c: a call of srv/@tool in session @sid under capability @cap with the
 * JSON text @args (NUL-terminated); every other field zero. */
void kt_call_init(chio_call *c, const char *sid, const char *cap, const char *tool,
                  const char *args);
/* @c: a call of srv/t in session @sid under capability @id with @args
 * (@len bytes). */
void kt_grant_call(chio_call *c, const char *sid, const char *id, const char *args, size_t len);
/* One call of srv/t with @args on @k, in a session of its own holding a
 * fresh token (issued as by kt_grant_session() at @now) whose one grant
 * carries regex_match @pattern (a JSON string body, any length); the
 * response, with its receipt, into @r (the caller destroys it). Fails the
 * test on an error or a missing receipt. */
void kt_regex_call(chio_kernel *k, uint64_t now, const char *pattern, const char *args,
                   chio_response *r);
/* A constraint row: a grant on srv/t carrying @constraint (the inside of
 * a JSON array, "" for none), one call with @args, and what it must give:
 * allow 1 allowed, 0 denied constraint_violated, KT_UNUSABLE denied
 * unsupported_grant (a constraint the kernel cannot read makes the grant
 * unusable). */
#define KT_UNUSABLE (-1)
typedef struct kt_row {
    const char *constraint;
    const char *args;
    int allow;
} kt_row;
/* Each of @rows (@n of them) in a session of its own on one echo kernel
 * (kt_echo_kernel with @clock; tokens as by kt_grant_session() at @now):
 * the verdict and code as the row says, and a receipt for every row,
 * allowed or denied. Failures name the row. */
void kt_run_rows(chio_clock_fn clock, uint64_t now, const kt_row *rows, size_t n);
/* kt_run_rows() on a clock that always reads @now. */
void kt_run_rows_at(uint64_t now, const kt_row *rows, size_t n);
/* Each of @args (@n of them) in a session of its own (a grant with no
 * constraint, as kt_grant_session() at @now) on one echo kernel with a
 * forbidden_path guard on /etc/ and /root/: denied guard_denied when
 * @denied[i], else allowed; a receipt for every row. */
void kt_run_guard_rows_at(uint64_t now, const char *const *args, const int *denied, size_t n);
/* kt_run_guard_rows_at with the guard's @prefixes (@nprefixes) instead. */
void kt_run_guard_rows_with(uint64_t now, const char *const *prefixes, size_t nprefixes,
                            const char *const *args, const int *denied, size_t n);
/* A row's constraint: path_prefix, domain_exact, domain_glob of @v. */
#define KT_PP(v) "{\"type\":\"path_prefix\",\"value\":\"" v "\"}"
#define KT_DX(v) "{\"type\":\"domain_exact\",\"value\":\"" v "\"}"
#define KT_DG(v) "{\"type\":\"domain_glob\",\"value\":\"" v "\"}"
/* An allow receipt body, unique per @n. */
chio_receipt_builder *kt_builder(uint64_t n);
/* Start (and free) a kernel on the store @db with checkpoints every
 * @batch: chio_kernel_new()'s or chio_kernel_start()'s result, the error
 * message in @msg (@cap bytes). */
int kt_try_start(const char *db, uint32_t batch, char *msg, size_t cap);
/* Sign kt_builder(i) for i = @from .. @from + @n - 1 on @k, receipt i
 * timestamped 1000 + i (the store suites' logs). */
void kt_sign_range(chio_kernel *k, uint64_t from, uint64_t n);
/* A log at @db of receipts 1..@n (kt_sign_range) with checkpoints of
 * @batch (0: none), synced, its kernel gone. */
void kt_make_log(const char *db, uint64_t n, uint32_t batch);
/* A "Field: N kB" line of /proc/self/status (VmRSS, VmHWM), in KiB; -1
 * when absent. */
long kt_status_kib(const char *field);
/* Reset VmHWM to the current RSS (write "5" to /proc/self/clear_refs,
 * Linux >= 4.0); 1 when done, 0 when it cannot be. */
int kt_reset_peak(void);
/* Threads in this process. */
int kt_threads(void);
/* Wait (30 s at most) until @k has written checkpoint @seq: a checkpoint
 * is signed on its own thread and written with a later commit group, so
 * it lands some time after the receipt that completed its range. Fails
 * the test, naming the newest one written, when it does not. */
void kt_wait_checkpoint(chio_kernel *k, uint64_t seq);

typedef sc_log_report kt_log_report;
/* sc_check_log, failing the test on a problem. */
kt_log_report kt_check_log(const char *path, uint64_t batch_size);
/* sc_check_log_owed: a log left by a failed or killed kernel. */
kt_log_report kt_check_log_owed(const char *path, uint64_t batch_size, uint64_t max_owed);

/* What `bash -c @cmd` (/bin/bash under LC_ALL=C.UTF-8, stderr to
 * /dev/null) writes on stdout: up to @cap bytes into @out, their count in
 * *@len. Returns 1 when bash exited 0. The ground truth of the tests that
 * compare the kernel's shell readings with bash. */
int kt_bash_output(const char *cmd, char *out, size_t cap, size_t *len);

/* A reading of the shell word @w (@n bytes) into @out (room for 512
 * bytes); its length. */
typedef struct kt_reading {
    const char *name;
    size_t (*read)(const char *w, size_t n, char *out);
} kt_reading;

/* Seeded random words compared with bash: @tries words, each @head, then
 * 1 to @max_parts pieces drawn from @alpha (@nalpha of them) with
 * rand_r(@seed), then @tail; bash prints each with "@setup printf '%s'
 * WORD" and every one of @nreads @reads must give the same bytes (the
 * test fails naming the word otherwise). Returns how many words bash
 * printed; skips the test when there is no /bin/bash. */
int kt_bash_compare(const char *const *alpha, size_t nalpha, unsigned seed, int tries,
                    int max_parts, const char *head, const char *tail, const char *setup,
                    const kt_reading *reads, size_t nreads);

#endif
