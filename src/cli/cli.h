/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cli.h - shared pieces of the `chio` command line: exit codes, a small
 * long-option parser, input reading, seed-file loading and error output.
 * The CLI sits on top of the public API only (include/chio/).
 */
#ifndef CHIO_CLI_H
#define CHIO_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "../svc/svc_buf.h"
#include "../svc/svc_json_span.h"
#include "chio/chio.h"

enum {
    CLI_OK = 0,       /* success, every verification passed */
    CLI_NEGATIVE = 1, /* ran fine, but a verification failed */
    CLI_USAGE = 2     /* bad usage or bad input */
};

/* One option a command accepts. */
typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    int takes_value;
    int repeatable;
    /* filled by cli_parse: */
    const char *value; /* last value (or "1" for flags) */
    const char **values;
    size_t nvalues;
} cli_opt;

/*
 * Parse argv (after the command words) into @opts and up to @maxpos
 * positional arguments. Handles --name VALUE, --name=VALUE and --help.
 * Returns 0, or CLI_USAGE after printing an error (or -1 when --help was
 * given and @usage was printed to stdout).
 */
int cli_parse(int argc, char **argv, cli_opt *opts, size_t nopts, const char **pos, size_t maxpos,
              size_t *npos, const char *cmd, const char *usage);

cli_opt *cli_find(cli_opt *opts, size_t nopts, const char *name);

/* Strict decimal uint64; returns 0 or -1. */
int cli_u64(const char *s, uint64_t *out);

/* Read a whole file ("-" or NULL = stdin). Caller frees. Returns NULL after
 * printing an error. */
char *cli_read_input(const char *cmd, const char *path, size_t *len);

/*
 * Load a seed file: only a regular file named directly (a symbolic link,
 * FIFO, device or directory is refused at once, never waited on), refuse
 * group/other access with a message saying why, strip exactly one trailing
 * "\n", apply the library's seed rules.
 * Returns the keypair or NULL after printing an error. The read buffer is
 * wiped before returning.
 */
chio_keypair *cli_load_seed(const char *cmd, const char *path);
/*
 * Open @path for reading as a private secret file, the checks every file
 * holding a secret gets (the seed file, `chio serve`'s token files): the
 * file named itself, never a symbolic link's target; a regular file (a
 * FIFO, device or directory is refused at once, never waited on); no
 * group or other access; owned by this user or root. @label names the
 * file in messages ("seed file", "--token-file"), @what the secret ("a
 * signing seed"). Returns the descriptor, or -1: when open() itself
 * failed for another reason than a symbolic link, nothing is printed and
 * *@open_errno holds its errno (the caller words it); else *@open_errno
 * is 0 and why was printed.
 */
int cli_open_secret_file(const char *cmd, const char *label, const char *what, const char *path,
                         int *open_errno);
/* 1 when the file @st describes belongs to this process's effective user
 * or to root: a secret (a seed, a bearer token) in a file another user
 * owns is one that user may rewrite, so it is refused. */
int cli_owned_by_us_or_root(const struct stat *st);

/*
 * Before a command creates or opens a receipt store read-write at @dir (given
 * with option @opt, e.g. "--receipt-db"): a missing or empty directory, or an
 * existing chio store (it has the CHIO-RECEIPT-STORE file), is fine; anything
 * else (a file, a directory of other files) is refused, so that RocksDB never
 * writes its files among a user's. Returns 0, or CLI_USAGE after printing why.
 */
int cli_check_store_dir(const char *cmd, const char *opt, const char *dir);

/* 1 when @dir holds a chio store (its CHIO-RECEIPT-STORE file), else 0. */
int cli_store_exists(const char *dir);

/* Before a command reads the store at @dir (--receipt-db): 1 when @dir is
 * a directory; else 0 after printing that it is missing or not a directory
 * (the library's "no receipt store" would not say why). */
int cli_store_dir_present(const char *cmd, const char *dir);

/* After a usage error: the synopsis of @usage (up to its first blank line)
 * and "Run 'chio <cmd> --help' for every option." on stderr. */
void cli_usage_hint(const char *cmd, const char *usage);

/*
 * Error lines never quote a seed typed on the command line (cli/redact_args.c):
 * main() notes its argv with cli_note_args(); cli_message_out() writes @msg
 * (a heap string, taken: wiped and freed; NULL says out of memory) to @f
 * with every run of hex digits in it that is, or is a piece at least
 * CLI_SECRET_HEX_MIN / 2 long of, a run of CLI_SECRET_HEX_MIN or more hex
 * digits anywhere in a word of that argv replaced (the rest of the line
 * kept); cli_message_printf() formats one first.
 * cli_secret_hex(): the length of the first run of at least
 * CLI_SECRET_HEX_MIN hex digits in @s (anywhere in it), else 0; the run's
 * start in *@digits (optional).
 */
#define CLI_SECRET_HEX_MIN 32
void cli_note_args(int argc, char **argv);
size_t cli_secret_hex(const char *s, const char **digits);
void cli_message_out(FILE *f, char *msg);
void cli_message_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line-buffered stream whose every line is written to @to through
 * cli_message_out(), for the layers below that print to a FILE (the
 * exporter, the witness); @to itself when one cannot be made. Close it
 * with cli_redacting_close(f, @to) (a last line without "\n" is written
 * then). */
FILE *cli_redacting_stream(FILE *to);
void cli_redacting_close(FILE *f, FILE *to);

/* Print "chio <cmd>: <message>" to stderr (through cli_message_out());
 * returns CLI_USAGE. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, from a chio_error record (adds the code name). */
int cli_lib_error(const char *cmd, const char *what, int rc, const chio_error *err);
/* A receipt store another process holds (CHIO_EBUSY): says so, who usually
 * holds one, and @todo (what to do instead); returns CLI_USAGE. */
int cli_store_busy(const char *cmd, const char *dir, const char *todo, const chio_error *err);

/* Parse repeated --trusted-key values into 32-byte keys (malloc'd). */
int cli_trusted_keys(const char *cmd, cli_opt *opt, uint8_t **keys, size_t *n);

/*
 * Split an input into JSON documents: the whole input when it is one JSON
 * value (an array counts as a list of documents), else one per non-empty
 * line. Calls @fn for each with its 1-based line number (0 for a whole
 * document; an array's element: its 1-based index). Each document is
 * handed over as the bytes written in the input, an array's elements
 * included (never re-serialised: that would read -0 or 1.7e9 as the
 * integer the library refuses them as). An empty array calls @fn for
 * nothing (the caller says that nothing was verified). Returns the worst
 * exit code @fn returned.
 */
typedef int (*cli_doc_fn)(const char *text, size_t len, size_t line, void *ctx);
int cli_for_each_document(const char *text, size_t len, cli_doc_fn fn, void *ctx);

/* Read @path (NULL or "-": stdin) and run @fn on each document in it;
 * returns the worst exit code. */
int cli_run_documents(const char *cmd, const char *path, cli_doc_fn fn, void *ctx);

/* An input document that is not a readable receipt or token: print
 * {"code":..,"error":..,"line":N,"ok":false} on stdout and the message on
 * stderr. Returns CLI_USAGE. */
int cli_bad_document(const char *cmd, int rc, const chio_error *err, size_t line);

/* Print one report line (@json from a chio_*_report_json call that returned
 * @rc; freed here). Returns CLI_OK when @ok, else CLI_NEGATIVE. */
int cli_emit_report(const char *cmd, int rc, char *json, size_t len, int ok);

/* `receipt verify` and `capability verify` (verify.c): one report shape and
 * one ok rule (intact, and trusted when --trusted-key was given). */
typedef struct cli_verify_ctx cli_verify_ctx;
typedef struct cli_verifier {
    const char *cmd;                   /* "receipt verify" */
    const char *noun;                  /* "receipt" */
    const char *trust_field;           /* "signer_trusted": null when no key was given */
    const char *trust;                 /* the trust check's name in checked/not_checked */
    const char *integrity_checks;      /* JSON array items: "\"signature\",..." */
    const char *integrity_checks_text; /* the same in words */
    /* Parse and verify one document: append its own report fields (no
     * braces, no trailing comma) to @b, set *intact and *trusted. Returns 0,
     * or a chio error code with @err filled for an unreadable document. */
    int (*check)(const char *text, size_t len, const cli_verify_ctx *ctx, svc_buf *b, int *intact,
                 int *trusted, chio_error *err);
} cli_verifier;
struct cli_verify_ctx {
    const cli_verifier *kind;
    const uint8_t *trusted; /* ntrusted keys of 32 bytes */
    size_t ntrusted;
    uint64_t at;      /* tokens: the time to check at */
    long max_depth;   /* tokens: most delegation links, -1 = any */
    size_t *reported; /* NULL, or counts the reports printed */
};
extern const cli_verifier cli_receipt_verifier, cli_capability_verifier;
/* A cli_doc_fn: verify one document and print its report line. */
int cli_verify_document(const char *text, size_t len, size_t line, void *ctx);
/* Verify every document in @path (NULL or "-": stdin); the worst exit code. */
int cli_verify_run(const cli_verify_ctx *ctx, const char *path);

/* A command group ("receipt", "capability") with subcommands. */
typedef struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_subcommand;
int cli_dispatch(const char *group, int argc, char **argv, const cli_subcommand *subs, size_t nsubs,
                 const char *usage);

/* Write all bytes to stdout; returns 0 or CLI_USAGE on a write error. */
int cli_write(const void *data, size_t len);

int cmd_keygen(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_canon(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_capability(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_scenario(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* cmd_serve.c: the sidecar (src/serve/) */
/* bench_sidecar.c: `chio bench --compare-sidecar` (stores under @dir). */
int cli_bench_compare_sidecar(const char *dir, uint64_t calls, int nosync, const char *seed_file,
                              int json);
/* bench_limits.c: the reference measurements `chio bench` reports beside
 * its calls. cli_bench_now: CLOCK_MONOTONIC in seconds.
 * cli_bench_sleep_until: sleep to @due on that clock (absolute, the
 * thread's timer slack at 1 ns) and return the time it woke.
 * cli_bench_raw_sign_rate: signatures/s of @len-byte messages on one
 * thread, about 1 s (0 when out of memory). cli_bench_paced_sign_us: p50
 * of single signatures made one every @period_s s, *@late_us the p50 of
 * how late the thread's timer woke it. cli_bench_fsync_p50_us: p50 of an
 * 8 KiB write+fdatasync in @dir, back to back (@period_s 0) or paced; 0
 * when no file can be made there. cli_bench_sign_all_cpus: one signing
 * loop per CPU the process may run on, at once, for about 1 s; fills *@out and returns 0, or
 * -1 (out zeroed) when not every loop could start. */
typedef struct cli_sign_all_cpus {
    int cpus;       /* loops run, one per usable CPU */
    double cpu_us;  /* thread CPU time per signature */
    double per_sec; /* signatures/s of all loops together */
} cli_sign_all_cpus;
double cli_bench_now(void);
double cli_bench_sleep_until(double due);
double cli_bench_raw_sign_rate(const chio_keypair *kp, size_t len);
double cli_bench_paced_sign_us(const chio_keypair *kp, size_t len, double period_s,
                               double *late_us);
double cli_bench_fsync_p50_us(const char *dir, double period_s);
int cli_bench_sign_all_cpus(const chio_keypair *kp, size_t len, cli_sign_all_cpus *out);
/* bench_limits.c: CPU us per thread hand-off (a futex wake, the switch in,
 * the waker's sleep) with one pair of threads passing a turn, the other
 * CPUs idle (*@idle_us), and with four pairs per usable CPU (*@busy_us);
 * 0 when the threads could not be made. */
void cli_bench_handoff(double *idle_us, double *busy_us);
/* bench_threads.c: 1 when every signer thread of this process runs
 * SCHED_FIFO, 0 when one does not, -1 when none was found. */
int cli_signers_realtime(void);
/* bench_threads.c: the kernel's threads of this process by kind (signer,
 * commit, checkpoint, RocksDB's, the kernel's others), each kind's summed
 * time on a CPU and time runnable but waiting for one, in ns, and how many
 * threads of it were found. ok is 0 when nothing could be read (no
 * /proc/self/task/TID/schedstat). Threads that exited are not counted.
 * Also the whole machine's CPU time from /proc/stat's "cpu" line, in
 * clock ticks (sys_ok 0 when unreadable): all of it, idle (with iowait)
 * and steal, so the report can say how idle the CPUs were over the
 * measured calls alone, not over the bench's own set-up and reference
 * measurements that a vmstat beside the whole run also counts. */
#define CLI_THREAD_KINDS 5
typedef struct cli_thread_times {
    double oncpu_ns[CLI_THREAD_KINDS];
    double runq_ns[CLI_THREAD_KINDS];
    int threads[CLI_THREAD_KINDS];
    int ok;
    unsigned long long sys_total, sys_idle, sys_steal;
    int sys_ok;
} cli_thread_times;
void cli_thread_times_read(cli_thread_times *t);
/* Prints the per-call CPU of each kind between @a and @b and the signers'
 * shares of the wall time (JSON members, each with a trailing comma, or a
 * text line; nothing when either reading failed), then the machine's idle
 * and steal shares between them (likewise). */
void cli_thread_times_report(const cli_thread_times *a, const cli_thread_times *b, double cpu_s,
                             double elapsed_s, uint64_t calls, int json);
/* cmd_mcp.c: `chio mcp serve` (the MCP gateway, src/mcp/). */
int cmd_mcp(int argc, char **argv);
/* scenario_read.c: validate a scenario file's text; 0, or -1 with the bad
 * field's path and the problem in @msg. */
int cli_scenario_check(const char *text, size_t len, char *msg, size_t cap);
/* cmd_export.c, cmd_fleet.c: `chio export` and `chio fleet` (src/export/). */
int cmd_export(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_receipt_list(int argc, char **argv);
int cmd_receipt_archive(int argc, char **argv);

/* cmd_store.c: open a receipt log for reading (secondary, else
 * read-only); NULL after printing an error. */
chio_store *cli_open_store(const char *cmd, const char *dir);
/* `receipt verify --receipt-db`: audit, print problems and the summary. */
/* A legacy log (no key record, chain or head) fails unless @allow_legacy. */
int cli_audit_store(const char *dir, const uint8_t *trusted, size_t ntrusted, int allow_legacy,
                    int allow_archive);
/* `receipt verify --receipt-db LIVE --archive DIR...` (archives oldest
 * first): the seams between consecutive logs (chio_store_audit_seam), the
 * oldest starting at receipt 1; prints problems and a summary line. */
int cli_audit_seams(const char *live, const char *const *archives, size_t n);

/* Could a kernel have written the stored JSON @json: no control byte
 * (C0, DEL or C1) and valid UTF-8? What fails is not printed to a
 * terminal (a crafted store's escape sequences). */
int cli_printable_json(const char *json, size_t len);

#endif
