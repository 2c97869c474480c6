/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_scan.h - the matching behind the built-in guards, shared by
 * the guards themselves (registry.c) and by redaction (redact.c), so a
 * string the secret_leak guard would deny is exactly a string redaction
 * replaces (guard_scan.c: secrets; guard_path.c: forbidden paths). Paths
 * and text are read through core/normalize.h.
 * No state, no locks: guard registrations are read-only while serving.
 */
#ifndef CHIO_KERNEL_GUARD_SCAN_H
#define CHIO_KERNEL_GUARD_SCAN_H

#include <stddef.h>

#include "chio/json.h"
#include "regex_nfa.h"
#include "mediate.h"
#include "normalize.h"

/*
 * chio__each_text - every string value and every object key under @v, in
 * document order (an object's key before its value), and with @numbers
 * every number too, as its canonical JSON text. @key is the nearest
 * object key of a value (its name NULL at the top level and for a key
 * itself; never a NULL pointer), one chio__key for every leaf under one
 * member, whose @up leads to the enclosing members' keys (a key itself
 * has none); @is_key tells which. Stops at the first nonzero return of @fn and
 * returns it.
 */
int chio__each_text(const chio_json *v, int numbers,
                    int (*fn)(void *ctx, chio__key *key, const char *s, size_t n, int is_key),
                    void *ctx);

/* chio__each_text with @key as the nearest key of @v's leaves and the
 * enclosing key of its members (JSON held in a string under @key). */
int chio__each_text_under(const chio_json *v, chio__key *key, int numbers,
                          int (*fn)(void *ctx, chio__key *key, const char *s, size_t n, int is_key),
                          void *ctx);

/* The canonical JSON text of a number @v in @out (NUL-terminated) and its
 * length; 0 when @v is not a number. */
size_t chio__number_text(const chio_json *v, char out[32]);

/* Is @g a built-in secret_leak guard? */
int chio__is_secret_guard(const chio__guard_reg *g);

/* The *pattern chio__secret_scan reports for a string it could not read
 * to the end: still encoded after CHIO__SECRET_DECODE_MAX rounds. */
#define CHIO__SECRET_TOO_DEEP   ((size_t)-1)
#define CHIO__SECRET_DECODE_MAX 4
/* ... and for one it could not search within the work bound below. */
#define CHIO__SECRET_TOO_COSTLY ((size_t)-2)
/* ... and for one holding JSON that cannot be read one way (a duplicate
 * key, a lone surrogate, 1e400): readers differ on what a tool gets. */
#define CHIO__SECRET_AMBIGUOUS ((size_t)-3)
/* ... and for one whose shell reading it could not finish: expansions
 * nested past what it follows (CHIO__EMPTY_NESTED_DEEP):
 * "AKIA$($(...$(:)...))IOSF..." hides the key. */
#define CHIO__SECRET_SHELL_DEEP ((size_t)-4)
/* ... and for one whose braces expand past what the reading expands
 * (CHIO__BRACES_TOO_LARGE; not a JSON object or array). */
#define CHIO__SECRET_BRACES_LARGE ((size_t)-5)
/* ... and for one whose variables, put in place of their references,
 * pass what the reading expands (chio__shell_assigned_reading's bounds). */
#define CHIO__SECRET_ASSIGN_LARGE ((size_t)-6)

/* The most automaton states one secret pattern may have (a larger one is
 * refused at registration: every byte searched may visit each state). */
#define CHIO__SECRET_MAX_STATES ((size_t)CHIO_SECRET_PATTERN_MAX_STATES)
/* The work bound of the secret scans of one call, per pattern: a base
 * (about 10 ms of CPU here) plus so many steps per byte read (each
 * reading of each string, and one per reading for its end). A pattern
 * whose search of ordinary text keeps fewer states alive than that (the
 * built-in ones: one or two) never reaches it; one that keeps more (a
 * large counted repetition on text that feeds it) is cut off, and what
 * it did not read is flagged (fail closed). So a call's scan costs time
 * linear in its arguments, never more. */
#define CHIO__SECRET_WORK_BASE ((uint64_t)1 << 22)
#define CHIO__SECRET_WORK_BYTE 64u

/*
 * One call's secret scans: the search state of every pattern (made by
 * the first scan that needs it) and the work left. Zero it before the
 * first scan, keep it for every scan of the same call over the same
 * guards, and release it with chio__secret_work_destroy. One thread.
 */
typedef struct chio__secret_work {
    chio__nfa_run *runs; /* one per pattern of the guards scanned */
    size_t nruns;
    uint64_t left; /* steps left to this call */
    int ready;
} chio__secret_work;

void chio__secret_work_destroy(chio__secret_work *w);

/*
 * chio__secret_scan - does some built-in secret_leak guard among
 * @guards[0..n) flag @s (@len bytes, NUL-terminated at @len)? Each guard's
 * patterns are matched against the string as written, with invisible
 * format characters removed and fullwidth/mathematical letters and the
 * Unicode spaces NFKC makes ' ' folded to ASCII (chio__text_fold_spaces),
 * and with escapes undone (chio__text_unescape's and %XX, repeatedly,
 * folding again, up to CHIO__SECRET_DECODE_MAX rounds); a string holding
 * quotes, a backslash, '$' or a backtick also as a shell hands it to the
 * tool (quote removal, $'...' decoded, expansions read empty: the
 * forbidden_path guard's readings), each of those read the same way.
 * Other guards are
 * skipped. Returns 1 with the lowest flagging guard's index in *@guard and
 * the pattern's in *@pattern, 0 when nothing matches, or CHIO_ENOMEM. A
 * string that no pattern matches but that one more round would still
 * decode was not read to the end: it is flagged too (fail closed), by the
 * first secret_leak guard, with *@pattern CHIO__SECRET_TOO_DEEP. A search
 * that spends the call's work bound (@w: shared by the scans of one call;
 * NULL: this string alone) flags the string, by the guard whose pattern
 * was searched, with *@pattern CHIO__SECRET_TOO_COSTLY. A string that is
 * itself a JSON object or array is also scanned as the strings, keys and
 * numbers it holds, each whole (an anchored pattern holds for a member a
 * tool that parses it reads), up to CHIO__EMBEDDED_MAX layers; one more
 * is flagged CHIO__SECRET_TOO_DEEP, and well-formed JSON our reader
 * cannot read one way (a duplicate key, a lone surrogate escape, 1e400)
 * CHIO__SECRET_AMBIGUOUS;
 * a syntax error (NaN, running text) leaves the string to its text scan.
 */
int chio__secret_scan(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                      chio__secret_work *w, size_t *guard, size_t *pattern);

/* chio__secret_named - does a built-in secret_leak guard of @k flag the
 * identifier @s (a tool name, server id, capability id, request id or
 * session id, NUL-terminated; NULL is not flagged)? 1 when flagged or
 * out of memory (fail closed: the caller then does not quote it), else 0.
 * Kernel texts (reasons, error messages) and receipt fields quote an
 * identifier only when this says 0 (review 54). */
int chio__secret_named(const struct chio_kernel *k, const char *s);

/* chio__secret_named_n - the same for @len bytes at @s (which may hold a
 * NUL); an empty text is not flagged. Reads the guards without a lock:
 * the caller holds build_mu or the kernel is serving. */
int chio__secret_named_n(const struct chio_kernel *k, const char *s, size_t len);

/*
 * chio__forbidden_path_hit - does the forbidden_path guard @g deny the
 * argument text @s (a value with nearest key @key, or a key with @key's
 * name NULL)? @quote_key: may the details name @key (not when a secret_leak
 * guard flags it). It does when @s starts with a prefix as written, or when @s may be
 * a path (chio__path_candidate) and some reading of it (as written,
 * trimmed, percent-decoded, a file: URL's path, look-alike dots and
 * slashes folded) normalises to a path at or
 * under a normalised prefix (whole segments, ASCII case folded; a leading
 * "/proc/<pid>/root" or "/proc/<pid>/task/<tid>/root" is also looked
 * through), or when such a reading cannot be normalised at all or goes
 * through a link whose target the kernel cannot tell ("/proc/<pid>/cwd/",
 * "/proc/<pid>/fd/<n>/x", "/dev/fd/<n>/x"). A value that is running text (its key does
 * not name a path and it does not start like one, but holds whitespace or
 * punctuation) is not read whole: each of its words that looks like a
 * path is, as above (words end at white space, Unicode spaces included,
 * and at shell punctuation, '=', ':' and '@'; a word starting "file:" runs
 * on through ':'); so is the value of a short option glued to it
 * ("-o/etc/x"). Words are checked in path-like values too, and in the
 * value percent-decoded once when it holds a %XX escape ("cat%20/etc/x"),
 * and in the value as a shell reads it after quote removal and $IFS
 * ("cat /e''tc/x", "cat$IFS/etc/x"), whole and by words.
 * Returns 1 with a reason in
 * @details (naming the argument's key and the prefix, never the value, which
 * may be a secret redacted from the receipt), 0, or CHIO_ENOMEM.
 */
int chio__forbidden_path_hit(const chio__guard_reg *g, chio__key *key, int quote_key, const char *s,
                             size_t n, char *details, size_t cap);

/*
 * chio__forbidden_cwd_hit - the forbidden_path guard @g over all the
 * arguments @args together (guard_path_cwd.c), after each leaf passed
 * chio__forbidden_path_hit: the working directories the arguments set
 * ("cd /", "tar -C /", "pushd", "env --chdir", "os.chdir('/')", a value
 * under a key such as "cwd" or "working_dir") that are above a prefix,
 * and each relative word of every string value read from each of them
 * ("cd / && cat etc/passwd", {"cwd": "/root", "file": ".ssh/id_rsa"}).
 * A directory it cannot place ("cd $X", "cd -", a bare "cd", "cd
 * ../../..") is read at "/" and at every directory above a prefix, for
 * the words that hold a separator. Object keys are not read. Only hits
 * count. Returns 1 with a reason in @details (naming the prefix, never
 * a value), also when the arguments name more such directories, or more
 * pairs to read, than the guard reads, or could not be read; 0; or
 * CHIO_ENOMEM.
 */
int chio__forbidden_cwd_hit(const chio__guard_reg *g, const chio_json *args, char *details,
                            size_t cap);

#endif /* CHIO_KERNEL_GUARD_SCAN_H */
