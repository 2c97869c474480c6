/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_bad_input_cli.c - the bad input matrix of the `chio`
 * command line (docs/cli.md: exit 0 ok, 1 a negative
 * verification, 2 bad usage or bad input):
 *
 *   canon              malformed, truncated, too deep, oversized stdin: exit 2,
 *                      nothing on stdout, the code (and offset) on stderr
 *   receipt/capability verify
 *                      garbage lines among good ones: exit 2 and, for each
 *                      bad line, {"code","error","line","ok":false} with its
 *                      line number; every report line is valid JSON
 *   seed files         pubkey, receipt sign and capability issue refuse
 *                      world-readable and malformed seed files with a clear
 *                      message that never repeats the seed; symbolic links,
 *                      FIFOs and devices are refused at once (a FIFO never
 *                      blocks the command); keygen refuses to overwrite or
 *                      follow links
 *   store directories  scenario run --receipt-db, receipt archive and bench
 *                      refuse a non-empty directory that is not a chio store
 *                      and leave it byte for byte as it was; an empty
 *                      directory or an existing store is accepted, except
 *                      as the live log of receipt archive, which must exist
 *   scenario run       malformed files: exit 2, no step printed, the path of
 *                      the bad field in the message
 *   huge inputs        over the JSON limit, over the CLI's read limit, many
 *                      lines: an answer, never a crash
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/testutil.h"

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define PUB0B  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define IAT    1710000000u
#define SCOPE                                                                              \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]," \
    "\"constraints\":[{\"type\":\"max_length\",\"value\":100}]}]}"

/* A literal with embedded NULs: pointer and exact length. */
#define LIT(s) (s), (sizeof(s) - 1)

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(bad_input_cli, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------------------- */

static char *path(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static char *write_file(const char *name, const void *data, size_t len, unsigned mode)
{
    char *p = path(name);

    cr_assert_eq(testutil_write_file(p, data, len, mode), 0, "cannot write %s", p);
    return p;
}

/* A sparse file of @size zero bytes (no disk, no memory in the test). */
static char *sparse_file(const char *name, off_t size)
{
    char *p = path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, size), 0);
    close(fd);
    return p;
}

static cli_result run_in(const char *in, size_t len, const char *const *argv)
{
    return testutil_run_cli(argv, in, len);
}

#define RUN(in, len, ...) run_in(in, len, (const char *const[]){__VA_ARGS__, NULL})

/* The seed digits must never appear in what the CLI prints. */
static int leaks_seed(const cli_result *r)
{
    return strstr(r->err, "0707070707070707") != NULL || strstr(r->out, "0707070707070707") != NULL;
}

/* Split stdout into lines, parse each as JSON (fails the test when one is
 * not). Returns the number of lines; docs[i] are freed by free_docs. */
#define MAX_REPORTS 32
static size_t parse_reports(const cli_result *r, chio_json_doc **docs, size_t max)
{
    const char *p = r->out, *end = r->out + r->out_len, *nl;
    size_t n = 0;

    while (p < end) {
        chio_error err;
        nl = memchr(p, '\n', (size_t)(end - p));
        cr_assert_not_null(nl, "report output does not end with a newline: %s", p);
        cr_assert_lt(n, max, "too many report lines");
        chio_error_init(&err);
        cr_assert_eq(chio_json_parse(p, (size_t)(nl - p), &docs[n], &err), 0,
                     "report line %zu is not valid JSON (%s): %.*s", n + 1, err.message,
                     (int)(nl - p), p);
        n++;
        p = nl + 1;
    }
    return n;
}

static void free_docs(chio_json_doc **docs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        chio_json_doc_free(docs[i]);
}

/* A bad-document report: exactly code, error, line, ok:false. @line < 0: any. */
static void expect_bad_report(const chio_json *rep, const char *code, long line, const char *row)
{
    const chio_json *e = chio_json_get(rep, "error"), *l = chio_json_get(rep, "line");
    uint64_t got;
    int ok = 1;

    cr_expect_eq(chio_json_size(rep), 4, "%s: report has %zu members", row, chio_json_size(rep));
    cr_expect_str_eq(chio_json_string(chio_json_get(rep, "code"), NULL), code, "%s", row);
    cr_expect(chio_json_string(e, NULL) != NULL && chio_json_size(e) > 0, "%s: no error text", row);
    cr_expect_eq(chio_json_get_bool(chio_json_get(rep, "ok"), &ok), 0, "%s: ok not a bool", row);
    cr_expect_eq(ok, 0, "%s: ok must be false", row);
    cr_expect_eq(chio_json_get_uint64(l, &got), 0, "%s: line not a number", row);
    if (line >= 0)
        cr_expect_eq(got, (uint64_t)line, "%s: line %llu, want %ld", row, (unsigned long long)got,
                     line);
}

/* A verification report (not a bad-document one), with ok = @ok. */
static void expect_verify_report(const chio_json *rep, int want_ok, const char *row)
{
    int ok = -1;

    cr_expect_null(chio_json_get(rep, "code"), "%s: a verification report has no code", row);
    cr_expect_not_null(chio_json_get(rep, "signature_valid"), "%s", row);
    cr_expect_eq(chio_json_get_bool(chio_json_get(rep, "ok"), &ok), 0, "%s", row);
    cr_expect_eq(ok, want_ok, "%s: ok %d, want %d", row, ok, want_ok);
}

static chio_keypair *keypair(const char *seed)
{
    chio_keypair *kp = NULL;

    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    return kp;
}

/* A signed allow receipt (canonical JSON; free with free()). */
static char *good_receipt(void)
{
    chio_receipt_builder *b;
    chio_receipt *r;
    chio_keypair *kp = keypair(SEED07);
    chio_error err;
    char *out;

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, IAT), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "read"), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, LIT("{\"path\":\"/a\"}"), &err), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, &err), 0, "%s", err.message);
    out = strdup(chio_receipt_json(r, NULL));
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
    return out;
}

/* A token issued by seed 0b to PUB07, valid IAT..IAT+1000. */
static char *good_token(void)
{
    chio_keypair *kp = keypair(SEED0B);
    chio_capability *cap;
    chio_error err;
    char *out;

    chio_error_init(&err);
    cr_assert_eq(chio_capability_issue(kp, "cap-cli", PUB07, LIT(SCOPE), IAT, 1000, &cap, &err), 0,
                 "%s", err.message);
    out = strdup(chio_capability_json(cap, NULL));
    chio_capability_free(cap);
    chio_keypair_free(kp);
    return out;
}

/* @doc with the first @from replaced by @to; "..."- drops the 2 characters after it. */
static char *edit(const char *doc, const char *from, const char *to)
{
    const char *at = strstr(doc, from);
    char *out, *m;

    cr_assert_not_null(at, "[%s] not found", from);
    cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from)), 0);
    m = strstr(out, "\"\"-");
    if (m != NULL)
        memmove(m + 1, m + 5, strlen(m + 5) + 1);
    return out;
}

static char *nested(size_t depth)
{
    char *s = malloc(2 * depth + 1);

    cr_assert_not_null(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

/* ---- chio canon ------------------------------------------------------------------------- */

typedef struct canon_row {
    const char *name;
    const char *in;
    size_t len;
    const char *code; /* NULL: accepted, output @want */
    const char *want;
} canon_row;

static const canon_row canon_rows[] = {
    {"sorted and compact", LIT("{ \"b\": 1, \"a\": [1e2, \"\\u00e9\"] }"), NULL,
     "{\"a\":[100,\"\xc3\xa9\"],\"b\":1}"},
    {"NUL in a value is kept", LIT("[\"a\\u0000\"]"), NULL, "[\"a\\u0000\"]"},
    {"empty input", "", 0, "CHIO_EJSON_TRUNCATED", NULL},
    {"whitespace only", LIT(" \n\t "), "CHIO_EJSON_TRUNCATED", NULL},
    {"truncated object", LIT("{\"a\":"), "CHIO_EJSON_TRUNCATED", NULL},
    {"truncated array", LIT("[1,2"), "CHIO_EJSON_TRUNCATED", NULL},
    {"unterminated string", LIT("\"abc"), "CHIO_EJSON_TRUNCATED", NULL},
    {"trailing comma", LIT("{\"a\":1,}"), "CHIO_EJSON_SYNTAX", NULL},
    {"single quotes", LIT("{'a':1}"), "CHIO_EJSON_SYNTAX", NULL},
    {"NaN", LIT("[NaN]"), "CHIO_EJSON_SYNTAX", NULL},
    {"binary garbage", LIT("\x89PNG\r\n\x1a\n"), "CHIO_EJSON_SYNTAX", NULL},
    {"duplicate key", LIT("{\"a\":1,\"a\":2}"), "CHIO_EJSON_DUPKEY", NULL},
    {"invalid UTF-8", LIT("\"\xc0\xaf\""), "CHIO_EJSON_UTF8", NULL},
    {"lone surrogate", LIT("\"\\udc00\""), "CHIO_EJSON_SURROGATE", NULL},
    {"NUL in a key", LIT("{\"\\u0000\":1}"), "CHIO_EJSON_NULKEY", NULL},
    {"raw control character", LIT("\"a\x07\""), "CHIO_EJSON_CONTROL", NULL},
    {"raw NUL byte", LIT("\"a\0\""), "CHIO_EJSON_CONTROL", NULL},
    {"two documents", LIT("{}\n{}"), "CHIO_EJSON_TRAILING", NULL},
    {"overflowing number", LIT("[1e999]"), "CHIO_EJSON_NUMBER", NULL},
};

static void expect_canon_rejects(const char *row, const char *in, size_t len, const char *code,
                                 int offset)
{
    cli_result r = RUN(in, len, "canon");

    cr_expect_eq(r.status, 2, "%s: exit %d (%s)", row, r.status, r.err);
    cr_expect_eq(r.out_len, 0, "%s: printed %zu bytes", row, r.out_len);
    cr_expect(strstr(r.err, code) != NULL, "%s: stderr lacks %s: %s", row, code, r.err);
    if (offset)
        cr_expect(strstr(r.err, "byte") != NULL, "%s: no offset in %s", row, r.err);
    testutil_cli_free(&r);
}

Test(bad_input_cli, canon_matrix)
{
    size_t i;

    for (i = 0; i < sizeof(canon_rows) / sizeof(canon_rows[0]); i++) {
        const canon_row *row = &canon_rows[i];
        char label[96];

        snprintf(label, sizeof(label), "canon row %zu (%s)", i, row->name);
        if (row->code == NULL) {
            cli_result r = RUN(row->in, row->len, "canon");
            cr_expect_eq(r.status, 0, "%s: exit %d (%s)", label, r.status, r.err);
            cr_expect_str_eq(r.out, row->want, "%s", label);
            testutil_cli_free(&r);
        } else {
            expect_canon_rejects(label, row->in, row->len, row->code, 1);
        }
    }
}

Test(bad_input_cli, canon_deep_and_huge_inputs)
{
    char *deep = nested(CHIO_JSON_MAX_DEPTH + 1), *ok = nested(CHIO_JSON_MAX_DEPTH);
    char *open = malloc(1000000), *big;
    cli_result r;

    expect_canon_rejects("129 levels", deep, strlen(deep), "CHIO_EJSON_DEPTH", 1);
    r = RUN(ok, strlen(ok), "canon");
    cr_expect_eq(r.status, 0, "128 levels: %s", r.err);
    cr_expect_str_eq(r.out, ok);
    testutil_cli_free(&r);
    cr_assert_not_null(open);
    memset(open, '[', 1000000);
    expect_canon_rejects("1e6 open brackets", open, 1000000, "CHIO_EJSON_DEPTH", 1);
    /* over CHIO_JSON_MAX_INPUT on stdin: refused, no crash */
    big = malloc(CHIO_JSON_MAX_INPUT + 1);
    cr_assert_not_null(big);
    memset(big, ' ', CHIO_JSON_MAX_INPUT + 1);
    big[0] = '1';
    expect_canon_rejects("64 MiB + 1 on stdin", big, CHIO_JSON_MAX_INPUT + 1, "CHIO_ETOOBIG", 0);
    free(big);
    free(open);
    free(deep);
    free(ok);
}

/* ---- receipt verify and capability verify ------------------------------------------------ */

/* One line of the input: its text and what its report must be. Blank lines
 * get no report. */
typedef struct line_row {
    const char *name;
    const char *text;      /* GOOD: the good document; otherwise literal text */
    const char *from, *to; /* when set: the good document edited */
    const char *code;      /* bad-document code, or NULL for a verification report */
    int ok;                /* for a verification report */
} line_row;

static const char GOOD[] = "(good)";         /* the good document */
static const char GOOD_CRLF[] = "(good\\r)"; /* the good document and a CR before the newline */

static const line_row receipt_lines[] = {
    {"good receipt", GOOD, NULL, NULL, NULL, 1},
    {"truncated", "{\"a\":", NULL, NULL, "CHIO_EJSON_TRUNCATED", 0},
    {"blank", "", NULL, NULL, NULL, 0},
    {"garbage word", "garbage", NULL, NULL, "CHIO_EJSON_SYNTAX", 0},
    {"binary", "\xff\xfe\x01", NULL, NULL, "CHIO_EJSON_SYNTAX", 0},
    {"invalid UTF-8 string", "\"\xff\"", NULL, NULL, "CHIO_EJSON_UTF8", 0},
    {"a number", "42", NULL, NULL, "CHIO_EFORMAT", 0},
    {"empty object", "{}", NULL, NULL, "CHIO_EFORMAT", 0},
    {"an array on one line", "[1,2]", NULL, NULL, "CHIO_EFORMAT", 0},
    {"spaces and tabs", "  \t  ", NULL, NULL, NULL, 0},
    {"short kernel_key", GOOD, "\"kernel_key\":\"ea", "\"kernel_key\":\"", "CHIO_EKEY", 0},
    {"short signature", GOOD, "\"signature\":\"", "\"signature\":\"\"-", "CHIO_ESIGFORMAT", 0},
    {"negative timestamp", GOOD, "\"timestamp\":", "\"timestamp\":-", "CHIO_EFORMAT", 0},
    {"timestamp past uint64", GOOD, "\"timestamp\":", "\"timestamp\":99999999999", "CHIO_EFORMAT",
     0},
    {"unknown enum, message cut inside a character", GOOD, "\"trust_level\":\"mediated\"",
     "\"trust_level\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"",
     "CHIO_EFORMAT", 0},
    {"unknown enum with quotes and controls", GOOD, "\"trust_level\":\"mediated\"",
     "\"trust_level\":\"\\u0001\\\"\\\\\\u001f\"", "CHIO_EFORMAT", 0},
    {"duplicate key", GOOD, "{\"action\"", "{\"id\":\"x\",\"action\"", "CHIO_EJSON_DUPKEY", 0},
    {"lone surrogate", "{\"a\":\"\\ud800\"}", NULL, NULL, "CHIO_EJSON_SURROGATE", 0},
    {"tampered tool_name", GOOD, "\"tool_name\":\"read\"", "\"tool_name\":\"rm\"", NULL, 0},
    {"good receipt, CRLF", GOOD_CRLF, NULL, NULL, NULL, 1},
    {"too deep",
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
     NULL, NULL, "CHIO_EJSON_DEPTH", 0},
};

static const line_row capability_lines[] = {
    {"good token", GOOD, NULL, NULL, NULL, 1},
    {"missing colon", GOOD, "\"subject\":", "\"subject\"", "CHIO_EJSON_SYNTAX", 0},
    {"truncated", "{\"id\":\"cap\",", NULL, NULL, "CHIO_EJSON_TRUNCATED", 0},
    {"blank", "", NULL, NULL, NULL, 0},
    {"garbage word", "token", NULL, NULL, "CHIO_EJSON_SYNTAX", 0},
    {"negative issued_at", GOOD, "\"issued_at\":", "\"issued_at\":-", "CHIO_EFORMAT", 0},
    {"expires_at past uint64", GOOD, "\"expires_at\":", "\"expires_at\":99999999999",
     "CHIO_EFORMAT", 0},
    {"short issuer", GOOD, "\"issuer\":\"66", "\"issuer\":\"", "CHIO_EKEY", 0},
    {"short signature", GOOD, "\"signature\":\"", "\"signature\":\"\"-", "CHIO_ESIGFORMAT", 0},
    {"other schema", GOOD, "\"scope\"", "\"schema\":\"chio.capability.v2\",\"scope\"",
     "CHIO_ESCHEMA", 0},
    {"unknown operation", GOOD, "\"invoke\"", "\"launch\"", "CHIO_EFORMAT", 0},
    {"unknown operation with quotes and controls", GOOD, "\"invoke\"", "\"\\u0007\\\"bell\"",
     "CHIO_EFORMAT", 0},
    {"duplicate key", GOOD, "\"scope\"", "\"id\":\"x\",\"scope\"", "CHIO_EJSON_DUPKEY", 0},
    {"a string", "\"cap\"", NULL, NULL, "CHIO_EFORMAT", 0},
    {"invalid UTF-8 in id", GOOD, "\"id\":\"cap-cli\"", "\"id\":\"\xe0\x80\xaf\"",
     "CHIO_EJSON_UTF8", 0},
    {"unknown constraint type (parses; the signature breaks)", GOOD, "\"max_length\"",
     "\"geo_fence\"", NULL, 0},
    {"good token again", GOOD, NULL, NULL, NULL, 1},
};

/* Build the input from @rows, run @argv with it as FILE and on stdin, and
 * check each report against its row. */
static void run_line_matrix(const char *what, const line_row *rows, size_t nrows, const char *good,
                            const char *const *argv_file, const char *const *argv_stdin)
{
    char *text = NULL, *file;
    size_t len = 0, i, pass;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    for (i = 0; i < nrows; i++) {
        const int is_good = rows[i].text == GOOD || rows[i].text == GOOD_CRLF;
        char *line = rows[i].from ? edit(good, rows[i].from, rows[i].to)
                                  : strdup(is_good ? good : rows[i].text);
        fprintf(f, "%s%s\n", line, rows[i].text == GOOD_CRLF ? "\r" : "");
        free(line);
    }
    fclose(f);
    file = write_file("lines.jsonl", text, len, 0644);
    for (pass = 0; pass < 2; pass++) {
        const char *argv[16];
        chio_json_doc *docs[MAX_REPORTS];
        size_t n, k = 0, j;
        cli_result r;

        if (pass == 0) {
            for (j = 0; argv_file[j]; j++)
                argv[j] = argv_file[j];
            argv[j++] = file;
            argv[j] = NULL;
            r = testutil_run_cli(argv, NULL, 0);
        } else {
            r = testutil_run_cli(argv_stdin, text, len);
        }
        cr_expect_eq(r.status, 2, "%s (%s): exit %d, bad input must win (%s)", what,
                     pass ? "stdin" : "FILE", r.status, r.err);
        n = parse_reports(&r, docs, MAX_REPORTS);
        for (i = 0; i < nrows; i++) {
            char label[160];
            const char *t = rows[i].text;
            if (t != GOOD && t != GOOD_CRLF && rows[i].from == NULL &&
                strspn(t, " \t") == strlen(t))
                continue; /* blank: no report */
            snprintf(label, sizeof(label), "%s line %zu (%s)%s", what, i + 1, rows[i].name,
                     pass ? " on stdin" : "");
            if (k >= n) {
                cr_expect_fail("%s: no report", label);
                continue;
            }
            if (rows[i].code != NULL) {
                expect_bad_report(chio_json_root(docs[k]), rows[i].code, (long)(i + 1), label);
                cr_expect(strstr(r.err, rows[i].code) != NULL, "%s: stderr lacks the code", label);
            } else {
                expect_verify_report(chio_json_root(docs[k]), rows[i].ok, label);
            }
            k++;
        }
        cr_expect_eq(n, k, "%s: %zu report lines for %zu documents", what, n, k);
        free_docs(docs, n);
        testutil_cli_free(&r);
    }
    free(file);
    free(text);
}

Test(bad_input_cli, receipt_verify_garbage_lines)
{
    char *good = good_receipt();

    run_line_matrix("receipt verify", receipt_lines,
                    sizeof(receipt_lines) / sizeof(receipt_lines[0]), good,
                    (const char *const[]){"receipt", "verify", NULL},
                    (const char *const[]){"receipt", "verify", NULL});
    free(good);
}

Test(bad_input_cli, capability_verify_garbage_lines)
{
    char *good = good_token();

    run_line_matrix("capability verify", capability_lines,
                    sizeof(capability_lines) / sizeof(capability_lines[0]), good,
                    (const char *const[]){"capability", "verify", "--at", "1710000300", NULL},
                    (const char *const[]){"capability", "verify", "--at", "1710000300", NULL});
    free(good);
}

/* Inputs that are one document (not lines) and other shapes. */
typedef struct doc_case {
    const char *name;
    const char *in;
    size_t nreports; /* bad-document reports expected */
    const char *code;
} doc_case;

static const doc_case whole_docs[] = {
    {"empty input", "", 1, "CHIO_EJSON_TRUNCATED"},
    {"blank lines only", "\n \n\t\n", 1, "CHIO_EJSON_TRUNCATED"},
    {"one pretty-printed non-document", "{\n  \"id\": 1\n}\n", 1, "CHIO_EFORMAT"},
    {"an array of non-documents", "[{}, 42, \"x\"]", 3, "CHIO_EFORMAT"},
    {"a single truncated line without newline", "{", 1, "CHIO_EJSON_TRUNCATED"},
};

Test(bad_input_cli, verify_whole_document_inputs)
{
    static const char *const cmds[2][5] = {{"receipt", "verify", NULL},
                                           {"capability", "verify", "--at", "1", NULL}};
    size_t c, i;

    for (c = 0; c < 2; c++) {
        for (i = 0; i < sizeof(whole_docs) / sizeof(whole_docs[0]); i++) {
            chio_json_doc *docs[MAX_REPORTS];
            char label[128];
            cli_result r = testutil_run_cli(cmds[c], whole_docs[i].in, strlen(whole_docs[i].in));
            size_t n, j;

            snprintf(label, sizeof(label), "%s %s: %s", cmds[c][0], cmds[c][1], whole_docs[i].name);
            cr_expect_eq(r.status, 2, "%s: exit %d", label, r.status);
            n = parse_reports(&r, docs, MAX_REPORTS);
            cr_expect_eq(n, whole_docs[i].nreports, "%s: %zu reports", label, n);
            for (j = 0; j < n; j++)
                expect_bad_report(chio_json_root(docs[j]), whole_docs[i].code, -1, label);
            cr_expect(r.err_len > 0, "%s: nothing on stderr", label);
            free_docs(docs, n);
            testutil_cli_free(&r);
        }
    }
}

Test(bad_input_cli, verify_huge_and_many_line_inputs)
{
    static const char *const rv[] = {"receipt", "verify", NULL};
    char *over_json = sparse_file("65mib", (off_t)CHIO_JSON_MAX_INPUT + 1024);
    char *over_cli = sparse_file("257mib", (off_t)257 * 1024 * 1024);
    char *many, *p;
    const size_t nlines = 20000;
    chio_json_doc *docs[1];
    cli_result r;
    size_t i, count = 0;

    /* one line bigger than the JSON reader's limit: a report, exit 2 */
    r = testutil_run_cli((const char *const[]){"receipt", "verify", over_json, NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d (%s)", r.status, r.err);
    cr_assert_eq(parse_reports(&r, docs, 1), 1);
    expect_bad_report(chio_json_root(docs[0]), "CHIO_ETOOBIG", 1, "65 MiB line");
    free_docs(docs, 1);
    testutil_cli_free(&r);
    /* more than the CLI reads at all: refused with a message, no report, no crash */
    r = testutil_run_cli((const char *const[]){"capability", "verify", "--at", "1", over_cli, NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d (%s)", r.status, r.err);
    cr_expect_eq(r.out_len, 0);
    cr_expect(strstr(r.err, "larger than") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    /* 20000 garbage lines: 20000 reports, the last one says line 20000 */
    many = malloc(nlines * 4 + 1);
    cr_assert_not_null(many);
    for (i = 0; i < nlines; i++)
        memcpy(many + 4 * i, "{x}\n", 4);
    many[nlines * 4] = '\0';
    r = testutil_run_cli(rv, many, nlines * 4);
    cr_expect_eq(r.status, 2);
    for (p = r.out; (p = strchr(p, '\n')) != NULL; p++)
        count++;
    cr_expect_eq(count, nlines, "%zu report lines", count);
    cr_expect(strstr(r.out, "\"line\":20000,") != NULL, "no report for the last line");
    testutil_cli_free(&r);
    /* a FILE that cannot be read */
    r = testutil_run_cli((const char *const[]){"receipt", "verify", "/nonexistent/x", NULL}, NULL,
                         0);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "cannot open") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", "verify", dir, NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "a directory as FILE: exit %d", r.status);
    cr_expect_eq(r.out_len, 0);
    testutil_cli_free(&r);
    free(many);
    free(over_json);
    free(over_cli);
}

/* Bad options of the verify commands: exit 2, nothing verified. */
static const char *const verify_usage_rows[][8] = {
    {"capability", "verify", NULL},
    {"capability", "verify", "--at", NULL},
    {"capability", "verify", "--at", "-5", NULL},
    {"capability", "verify", "--at", "soon", NULL},
    {"capability", "verify", "--at", "18446744073709551616", NULL},
    {"capability", "verify", "--at", "1", "--max-depth", "x", NULL},
    {"capability", "verify", "--at", "1", "--max-depth", "-1", NULL},
    {"capability", "verify", "--at", "1", "--max-depth", "1000001", NULL},
    {"capability", "verify", "--at", "1", "--at", "2", NULL},
    {"capability", "verify", "--at", "1", "--trusted-key", "abcd", NULL},
    {"capability", "verify", "--at", "1", "--bogus", NULL},
    {"receipt", "verify", "--trusted-key", "0X" PUB07, NULL},
    {"receipt", "verify", "--trusted-key", PUB07 "00", NULL},
    {"receipt", "verify", "--trusted-key", "", NULL},
    {"receipt", "verify", "a", "b", NULL},
};

Test(bad_input_cli, verify_bad_options)
{
    char *good = good_token();
    size_t i;

    for (i = 0; i < sizeof(verify_usage_rows) / sizeof(verify_usage_rows[0]); i++) {
        cli_result r = testutil_run_cli(verify_usage_rows[i], good, strlen(good));
        cr_expect_eq(r.status, 2, "usage row %zu: exit %d", i, r.status);
        cr_expect_eq(r.out_len, 0, "usage row %zu printed a report: %s", i, r.out);
        cr_expect(r.err_len > 0, "usage row %zu: no message", i);
        testutil_cli_free(&r);
    }
    /* an input that cannot be read gets its one message, not the note on
     * --trusted-key first (the note follows reports only) */
    for (i = 0; i < 2; i++) {
        cli_result r = testutil_run_cli(
            i == 0
                ? (const char *const[]){"capability", "verify", "--at", "1", "/nonexistent/t", NULL}
                : (const char *const[]){"receipt", "verify", "/nonexistent/r", NULL},
            NULL, 0);
        const char *nl = strchr(r.err, '\n');
        cr_expect_eq(r.status, 2);
        cr_expect(strstr(r.err, "cannot open /nonexistent/") != NULL, "%s", r.err);
        cr_expect(nl != NULL && nl[1] == '\0', "not one line: %s", r.err);
        testutil_cli_free(&r);
    }
    /* a malformed --at is named as such, not reported as missing */
    {
        cli_result r =
            testutil_run_cli((const char *const[]){"capability", "verify", "--at", "soon", NULL},
                             good, strlen(good));
        cr_expect_eq(r.status, 2);
        cr_expect(strstr(r.err, "--at must be Unix seconds, not 'soon'") != NULL, "%s", r.err);
        testutil_cli_free(&r);
    }
    free(good);
}

/* ---- seed files --------------------------------------------------------------------------- */

typedef enum seed_kind { K_FILE, K_DIR, K_MISSING, K_LINK, K_BIG } seed_kind;

typedef struct seed_file_row {
    const char *name;
    seed_kind kind;
    const char *content;
    size_t len;
    unsigned mode;
    const char *msg; /* in stderr; NULL: accepted */
} seed_file_row;

static const seed_file_row seed_file_rows[] = {
    {"good, 0600", K_FILE, LIT(SEED07 "\n"), 0600, NULL},
    {"good, no newline, 0400", K_FILE, LIT(SEED07), 0400, NULL},
    {"world-readable", K_FILE, LIT(SEED07 "\n"), 0644, "group or others"},
    {"group-readable", K_FILE, LIT(SEED07 "\n"), 0640, "group or others"},
    {"world-readable only", K_FILE, LIT(SEED07 "\n"), 0604, "group or others"},
    {"group-writable", K_FILE, LIT(SEED07 "\n"), 0620, "group or others"},
    {"world-writable", K_FILE, LIT(SEED07 "\n"), 0602, "group or others"},
    {"link to a world-readable file", K_LINK, LIT(SEED07 "\n"), 0644, "symbolic link"},
    {"link to a private file", K_LINK, LIT(SEED07 "\n"), 0600, "symbolic link"},
    {"empty", K_FILE, "", 0, 0600, "CHIO_ESEED_LENGTH"},
    {"only a newline", K_FILE, LIT("\n"), 0600, "CHIO_ESEED_LENGTH"},
    {"two newlines", K_FILE, LIT(SEED07 "\n\n"), 0600, "CHIO_ESEED_NEWLINE"},
    {"CRLF", K_FILE, LIT(SEED07 "\r\n"), 0600, "CHIO_ESEED_SPACE"},
    {"trailing space", K_FILE, LIT(SEED07 " \n"), 0600, "CHIO_ESEED_SPACE"},
    {"PEM text", K_FILE,
     LIT("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
         "-----END PRIVATE KEY-----\n"),
     0600, "CHIO_ESEED_SPACE"},
    {"65 digits", K_FILE, LIT(SEED07 "0\n"), 0600, "CHIO_ESEED_ODD"},
    {"upper-case 0X", K_FILE, LIT("0X" SEED07 "\n"), 0600, "CHIO_ESEED_NONHEX"},
    {"NUL inside", K_FILE,
     LIT("0707070707\0"
         "07070707070707070707070707070707070707070707070707070"),
     0600, "CHIO_ESEED_NONHEX"},
    {"JSON instead of hex", K_FILE, LIT("{\"seed\":\"07\"}"), 0600, "CHIO_ESEED_ODD"},
    {"64 bytes of hex", K_FILE, LIT(SEED07 SEED07 "\n"), 0600, "CHIO_ESEED_LENGTH"},
    {"larger than a seed file", K_BIG, NULL, 0, 0600, "too large"},
    {"a directory", K_DIR, NULL, 0, 0700, "not a regular file"},
    {"missing", K_MISSING, NULL, 0, 0, "cannot open"},
};

static char *make_seed_file(const seed_file_row *row, size_t i)
{
    char name[32], *p;

    snprintf(name, sizeof(name), "seed-%zu", i);
    switch (row->kind) {
    case K_FILE:
        return write_file(name, row->content, row->len, row->mode);
    case K_BIG: {
        char *big = malloc(5000);
        cr_assert_not_null(big);
        memset(big, '0', 5000);
        p = write_file(name, big, 5000, row->mode);
        free(big);
        return p;
    }
    case K_DIR:
        p = path(name);
        cr_assert_eq(mkdir(p, row->mode), 0);
        return p;
    case K_MISSING:
        return path(name);
    case K_LINK: {
        char target[48], *t;
        snprintf(target, sizeof(target), "seed-%zu.target", i);
        t = write_file(target, row->content, row->len, row->mode);
        p = path(name);
        cr_assert_eq(symlink(t, p), 0);
        free(t);
        return p;
    }
    }
    return NULL;
}

Test(bad_input_cli, seed_file_matrix)
{
    size_t i, c;

    for (i = 0; i < sizeof(seed_file_rows) / sizeof(seed_file_rows[0]); i++) {
        const seed_file_row *row = &seed_file_rows[i];
        char *seed = make_seed_file(row, i);
        const char *const cmds[3][16] = {
            {"pubkey", "--seed-file", seed, NULL},
            {"receipt", "sign", "--seed-file", seed, NULL},
            {"capability", "issue", "--seed-file", seed, "--subject", PUB0B, "--scope", SCOPE,
             "--ttl", "60", "--id", "cap-x", "--now", "1710000000", NULL},
        };
        const char *body = "{\"action\":{\"parameters\":{}},\"capability_id\":\"c\","
                           "\"decision\":{\"verdict\":\"allow\"},\"policy_hash\":\"p\","
                           "\"timestamp\":1,\"tool_name\":\"t\",\"tool_server\":\"s\"}";

        for (c = 0; c < 3; c++) {
            cli_result r =
                testutil_run_cli(cmds[c], c == 1 ? body : NULL, c == 1 ? strlen(body) : 0);
            char label[128];

            snprintf(label, sizeof(label), "seed row %zu (%s), %s %s", i, row->name, cmds[c][0],
                     cmds[c][1]);
            if (row->msg == NULL) {
                cr_expect_eq(r.status, 0, "%s: exit %d (%s)", label, r.status, r.err);
                if (c == 0)
                    cr_expect_str_eq(r.out, PUB07 "\n", "%s", label);
            } else {
                cr_expect_eq(r.status, 2, "%s: exit %d (%s)", label, r.status, r.err);
                cr_expect_eq(r.out_len, 0, "%s: printed %s", label, r.out);
                cr_expect(strstr(r.err, row->msg) != NULL, "%s: stderr lacks '%s': %s", label,
                          row->msg, r.err);
            }
            cr_expect(!leaks_seed(&r), "%s: the seed was printed", label);
            testutil_cli_free(&r);
        }
        free(seed);
    }
}

Test(bad_input_cli, keygen_refuses_bad_targets)
{
    char *existing = write_file("existing.seed", LIT(SEED07 "\n"), 0644);
    char *dangling = path("dangling.seed"), *target = path("target-of-link");
    char *missing_dir = path("no/such/dir/key.seed"), *subdir = path("adir");
    struct {
        const char *name;
        const char *const argv[6];
        const char *msg;
    } rows[] = {
        {"existing file", {"keygen", "--out", existing, NULL}, "overwrite"},
        {"dangling symlink", {"keygen", "--out", dangling, NULL}, "overwrite"},
        {"a directory", {"keygen", "--out", subdir, NULL}, "is a directory"},
        {"missing directory", {"keygen", "--out", missing_dir, NULL}, "cannot create"},
        {"empty path", {"keygen", "--out", "", NULL}, "cannot create"},
        {"no --out", {"keygen", NULL}, "--out"},
        {"--out without a value", {"keygen", "--out", NULL}, "needs a value"},
        {"an extra argument", {"keygen", "--out", existing, "extra", NULL}, "unexpected"},
    };
    size_t i, len;
    char *after;
    struct stat st;

    cr_assert_eq(symlink(target, dangling), 0);
    cr_assert_eq(mkdir(subdir, 0700), 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cli_result r = testutil_run_cli(rows[i].argv, NULL, 0);
        cr_expect_eq(r.status, 2, "keygen row %zu (%s): exit %d (%s)", i, rows[i].name, r.status,
                     r.err);
        cr_expect_eq(r.out_len, 0, "keygen row %zu (%s): printed %s", i, rows[i].name, r.out);
        cr_expect(strstr(r.err, rows[i].msg) != NULL, "keygen row %zu (%s): stderr lacks '%s': %s",
                  i, rows[i].name, rows[i].msg, r.err);
        testutil_cli_free(&r);
    }
    after = testutil_read_file(existing, &len);
    cr_expect(after != NULL && len == 65 && memcmp(after, SEED07 "\n", 65) == 0,
              "the existing seed file was changed");
    cr_expect_neq(lstat(target, &st), 0, "keygen followed a dangling symlink");
    free(after);
    free(existing);
    free(dangling);
    free(target);
    free(missing_dir);
    free(subdir);
}

/* ---- scenario run ------------------------------------------------------------------------- */

typedef struct scenario_row {
    const char *name;
    const char *text;
    const char *field; /* the path in the message ("(file)": not JSON at all) */
} scenario_row;

#define STEP_CALL "\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"c\",\"server\":\"x\""

static const scenario_row scenario_rows[] = {
    /* not JSON: the file, or the member the error sits in */
    {"empty file", "", "(file)"},
    {"truncated", "{\"steps\":[", "(file)"},
    {"trailing comma", "{\"steps\":[],}", "(file)"},
    {"duplicate key", "{\"steps\":[],\"steps\":[]}", "steps"},
    {"invalid UTF-8", "{\"steps\":[],\"kernel\":{\"policy_hash\":\"\xff\"}}", "kernel.policy_hash"},
    {"lone surrogate", "{\"steps\":[{\"op\":\"revoke\",\"capability_id\":\"\\udc00\"}]}",
     "steps[0].capability_id"},
    /* too deep outside a call's arguments (deep arguments are the call's
     * own: test_rev32_scen.c) */
    {"too deep kernel member",
     "{\"steps\":[],\"kernel\":{\"ca_public_keys\":"
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
     "kernel.ca_public_keys[0][0]"},
    /* top level */
    {"an array", "[]", "(top)"},
    {"no steps", "{}", "steps"},
    {"steps an object", "{\"steps\":{}}", "steps"},
    {"unknown top-level field", "{\"steps\":[],\"step\":[]}", "step"},
    {"other schema", "{\"schema\":\"chio.scenario.v0\",\"steps\":[]}", "schema"},
    {"numeric schema", "{\"schema\":1,\"steps\":[]}", "schema"},
    {"negative clock", "{\"clock\":-5,\"steps\":[]}", "clock"},
    {"string clock", "{\"clock\":\"now\",\"steps\":[]}", "clock"},
    {"fractional clock", "{\"clock\":1.5,\"steps\":[]}", "clock"},
    {"clock past uint64", "{\"clock\":18446744073709551616,\"steps\":[]}", "clock"},
    /* kernel */
    {"kernel an array", "{\"kernel\":[],\"steps\":[]}", "kernel"},
    {"unknown kernel field", "{\"kernel\":{\"policy\":\"p\"},\"steps\":[]}", "kernel.policy"},
    {"numeric policy_hash", "{\"kernel\":{\"policy_hash\":7},\"steps\":[]}", "kernel.policy_hash"},
    {"NUL in policy_hash", "{\"kernel\":{\"policy_hash\":\"a\\u0000\"},\"steps\":[]}",
     "kernel.policy_hash"},
    {"string boolean", "{\"kernel\":{\"allow_sampling\":\"yes\"},\"steps\":[]}",
     "kernel.allow_sampling"},
    {"depth past uint32", "{\"kernel\":{\"max_delegation_depth\":4294967296},\"steps\":[]}",
     "kernel.max_delegation_depth"},
    {"negative byte limit", "{\"kernel\":{\"max_stream_total_bytes\":-1},\"steps\":[]}",
     "kernel.max_stream_total_bytes"},
    {"ca keys a string", "{\"kernel\":{\"ca_public_keys\":\"" PUB07 "\"},\"steps\":[]}",
     "kernel.ca_public_keys"},
    {"short ca key", "{\"kernel\":{\"ca_public_keys\":[\"" PUB07 "\",\"abc\"]},\"steps\":[]}",
     "kernel.ca_public_keys[1]"},
    {"numeric ca key", "{\"kernel\":{\"ca_public_keys\":[7]},\"steps\":[]}",
     "kernel.ca_public_keys[0]"},
    {"NUL in a ca key", "{\"kernel\":{\"ca_public_keys\":[\"a\\u0000\"]},\"steps\":[]}",
     "kernel.ca_public_keys[0]"},
    {"ca keys, then depth past uint32",
     "{\"kernel\":{\"ca_public_keys\":[\"" PUB07 "\"],\"max_delegation_depth\":4294967296},"
     "\"steps\":[]}",
     "kernel.max_delegation_depth"},
    {"seed with a newline", "{\"kernel\":{\"signing_seed_hex\":\"" SEED07 "\\n\"},\"steps\":[]}",
     "kernel.signing_seed_hex"},
    {"seed only 0x", "{\"kernel\":{\"signing_seed_hex\":\"0x\"},\"steps\":[]}",
     "kernel.signing_seed_hex"},
    {"numeric seed", "{\"kernel\":{\"signing_seed_hex\":7},\"steps\":[]}",
     "kernel.signing_seed_hex"},
    /* tool servers and guards */
    {"tool_servers an object", "{\"tool_servers\":{},\"steps\":[]}", "tool_servers"},
    {"server without id", "{\"tool_servers\":[{}],\"steps\":[]}", "tool_servers[0].server_id"},
    {"tools a string", "{\"tool_servers\":[{\"server_id\":\"a\",\"tools\":\"t\"}],\"steps\":[]}",
     "tool_servers[0].tools"},
    {"numeric tool", "{\"tool_servers\":[{\"server_id\":\"a\",\"tools\":[\"t\",1]}],\"steps\":[]}",
     "tool_servers[0].tools[1]"},
    {"unknown behavior",
     "{\"tool_servers\":[{\"server_id\":\"a\",\"behavior\":\"dance\"}],\"steps\":[]}",
     "tool_servers[0].behavior"},
    {"too many chunks",
     "{\"tool_servers\":[{\"server_id\":\"a\",\"chunks\":2000000}],\"steps\":[]}",
     "tool_servers[0].chunks"},
    {"negative delay", "{\"tool_servers\":[{\"server_id\":\"a\",\"delay_ms\":-1}],\"steps\":[]}",
     "tool_servers[0].delay_ms"},
    {"duplicate server id",
     "{\"tool_servers\":[{\"server_id\":\"a\"},{\"server_id\":\"a\"}],\"steps\":[]}",
     "tool_servers[1].server_id"},
    {"empty server id", "{\"tool_servers\":[{\"server_id\":\"\"}],\"steps\":[]}",
     "tool_servers[0].server_id"},
    {"unknown guard type", "{\"guards\":[{\"name\":\"g\",\"type\":\"magic\"}],\"steps\":[]}",
     "guards[0].type"},
    {"guard without type", "{\"guards\":[{\"name\":\"g\"}],\"steps\":[]}", "guards[0].type"},
    {"guard without name", "{\"guards\":[{\"type\":\"forbidden_path\"}],\"steps\":[]}",
     "guards[0].name"},
    {"numeric prefix",
     "{\"guards\":[{\"name\":\"g\",\"type\":\"forbidden_path\",\"prefixes\":[1]}],\"steps\":[]}",
     "guards[0].prefixes[0]"},
    {"invalid regex",
     "{\"guards\":[{\"name\":\"g\",\"type\":\"secret_leak\",\"patterns\":[\"[\"]}],\"steps\":[]}",
     "guards[0].patterns"},
    {"duplicate guard name",
     "{\"guards\":[{\"name\":\"g\",\"type\":\"forbidden_path\"},{\"name\":\"g\",\"type\":"
     "\"secret_leak\"}],\"steps\":[]}",
     "guards[1].name"},
    /* steps */
    {"step a number", "{\"steps\":[1]}", "steps[0]"},
    {"step without op", "{\"steps\":[{}]}", "steps[0].op"},
    {"numeric op", "{\"steps\":[{\"op\":1}]}", "steps[0].op"},
    {"unknown op", "{\"steps\":[{\"op\":\"drain\"},{\"op\":\"explode\"}]}", "steps[1].op"},
    {"unknown step field", "{\"steps\":[{\"op\":\"drain\",\"when\":1}]}", "steps[0].when"},
    {"negative at", "{\"steps\":[{\"op\":\"drain\",\"at\":-1}]}", "steps[0].at"},
    {"string at", "{\"steps\":[{\"op\":\"drain\",\"at\":\"later\"}]}", "steps[0].at"},
    {"call without tool", "{\"steps\":[{" STEP_CALL "}]}", "steps[0].tool"},
    {"call without capability_id",
     "{\"steps\":[{\"op\":\"call\",\"session\":\"s\",\"server\":\"x\",\"tool\":\"t\"}]}",
     "steps[0].capability_id"},
    {"numeric request_id", "{\"steps\":[{" STEP_CALL ",\"tool\":\"t\",\"request_id\":5}]}",
     "steps[0].request_id"},
    {"NUL in a session label", "{\"steps\":[{\"op\":\"close_session\",\"session\":\"s\\u0000x\"}]}",
     "steps[0].session"},
    {"open without agent", "{\"steps\":[{\"op\":\"open_session\",\"session\":\"s\"}]}",
     "steps[0].agent"},
    {"capabilities an object",
     "{\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"a\","
     "\"capabilities\":{}}]}",
     "steps[0].capabilities"},
    {"numeric capability",
     "{\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"a\","
     "\"capabilities\":[{},true]}]}",
     "steps[0].capabilities[1]"},
    {"revoke without id", "{\"steps\":[{\"op\":\"revoke\"}]}", "steps[0].capability_id"},
    {"numeric session", "{\"steps\":[{\"op\":\"begin_draining\",\"session\":7}]}",
     "steps[0].session"},
};

/* The message names @field as the path: "<field>: <problem>". */
static void expect_scenario_malformed(const char *label, const char *file, const char *field)
{
    cli_result r = testutil_run_cli((const char *const[]){"scenario", "run", file, NULL}, NULL, 0);
    char want[160];

    snprintf(want, sizeof(want), "%s: ", field);

    cr_expect_eq(r.status, 2, "%s: exit %d (%s)", label, r.status, r.err);
    cr_expect_eq(r.out_len, 0, "%s: a malformed file printed steps: %s", label, r.out);
    cr_expect(strstr(r.err, "malformed scenario") != NULL, "%s: %s", label, r.err);
    cr_expect(strstr(r.err, want) != NULL, "%s: stderr does not name '%s': %s", label, field,
              r.err);
    cr_expect(!leaks_seed(&r), "%s: the seed was printed", label);
    testutil_cli_free(&r);
}

Test(bad_input_cli, scenario_malformed_files_name_the_field)
{
    size_t i;

    for (i = 0; i < sizeof(scenario_rows) / sizeof(scenario_rows[0]); i++) {
        char name[32], label[128], *file;

        snprintf(name, sizeof(name), "scenario-%zu.json", i);
        snprintf(label, sizeof(label), "scenario row %zu (%s)", i, scenario_rows[i].name);
        file = write_file(name, scenario_rows[i].text, strlen(scenario_rows[i].text), 0644);
        expect_scenario_malformed(label, file, scenario_rows[i].field);
        free(file);
    }
}

Test(bad_input_cli, scenario_huge_missing_and_usage)
{
    char *huge = sparse_file("huge.json", (off_t)CHIO_JSON_MAX_INPUT + 1);
    char *nul = write_file("nul.json", LIT("{\"steps\":[]}\0"), 0644);
    cli_result r;

    expect_scenario_malformed("65 MiB of NULs", huge, "(file)");
    expect_scenario_malformed("a NUL after the document", nul, "(file)");
    r = testutil_run_cli((const char *const[]){"scenario", "run", "/nonexistent/s.json", NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "cannot open") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"scenario", "run", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "no FILE: exit %d", r.status);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"scenario", "run", dir, NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "a directory: exit %d", r.status);
    cr_expect_eq(r.out_len, 0);
    testutil_cli_free(&r);
    free(huge);
    free(nul);
}

/* ---- seed files that are not regular files; store directories ------------------------------ */

/*
 * Run the CLI with stdin from /dev/null, stdout and stderr into files, and
 * a hard limit: a command still running after @limit_ms is killed and the
 * result says so (status -1), so a hang fails the test instead of stalling
 * the suite. *elapsed_ms is how long it ran.
 */
static cli_result run_limited(const char *const *argv, long limit_ms, long *elapsed_ms)
{
    const char *args[32];
    char *outp = path("limited.out"), *errp = path("limited.err");
    struct timespec t0, t1;
    cli_result r;
    pid_t pid;
    int st = 0, fd, exited = 0;
    size_t i;

    memset(&r, 0, sizeof(r));
    args[0] = CHIO_TEST_CLI;
    for (i = 0; argv[i] != NULL && i < 30; i++)
        args[i + 1] = argv[i];
    args[i + 1] = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fd = open("/dev/null", O_RDONLY);
        dup2(fd, 0);
        fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    for (;;) {
        long ms;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > limit_ms)
            break;
        usleep(5000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    r.status = exited && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = testutil_read_file(outp, &r.out_len);
    r.err = testutil_read_file(errp, &r.err_len);
    if (r.out == NULL)
        r.out = strdup("");
    if (r.err == NULL)
        r.err = strdup("");
    free(outp);
    free(errp);
    return r;
}

/* A FIFO with no writer blocks whoever opens it: each command must refuse
 * it without opening it, within 1 s more than twice what the same binary
 * takes to run `pubkey` on a regular seed file just before (a fixed 1 s
 * bound failed under load: these commands took 190 to 350 ms there
 * without ASan, several times that with it). A command that opens the
 * FIFO stays blocked until killed at 5 s. */
Test(bad_input_cli, seed_file_fifo_is_refused_at_once)
{
    char *fifo = path("seed.fifo"), *db = path("bench-db");
    char *regular = write_file("control.seed", LIT(SEED07 "\n"), 0600);
    const char *const control[] = {"pubkey", "--seed-file", regular, NULL};
    const char *const cmds[4][16] = {
        {"pubkey", "--seed-file", fifo, NULL},
        {"receipt", "sign", "--seed-file", fifo, NULL},
        {"capability", "issue", "--seed-file", fifo, "--subject", PUB0B, "--scope", SCOPE, "--ttl",
         "60", "--id", "cap-x", "--now", "1710000000", NULL},
        {"bench", "--receipt-db", db, "--threads", "1", "--calls", "1", "--seed-file", fifo, NULL},
    };
    struct stat st;
    size_t c;

    cr_assert_eq(mkfifo(fifo, 0600), 0);
    for (c = 0; c < 4; c++) {
        long ms, base_ms;
        cli_result r = run_limited(control, 5000, &base_ms);

        cr_assert_eq(r.status, 0, "pubkey on a regular seed file: %s", r.err);
        testutil_cli_free(&r);
        r = run_limited(cmds[c], 5000, &ms);
        cr_expect_neq(r.status, -1, "%s: still waiting on the FIFO after %ld ms", cmds[c][0], ms);
        cr_expect_eq(r.status, 2, "%s: exit %d (%s)", cmds[c][0], r.status, r.err);
        cr_expect_lt(ms, 1000 + 2 * base_ms, "%s: took %ld ms (pubkey on a regular file %ld ms)",
                     cmds[c][0], ms, base_ms);
        cr_expect(strstr(r.err, "not a regular file") != NULL, "%s: %s", cmds[c][0], r.err);
        cr_expect_eq(r.out_len, 0, "%s printed %s", cmds[c][0], r.out);
        testutil_cli_free(&r);
    }
    cr_expect_neq(stat(db, &st), 0, "bench created its store without a key");
    free(regular);
    free(fifo);
    free(db);
}

Test(bad_input_cli, seed_file_symlinks_and_devices_are_refused)
{
    char *target = write_file("private.seed", LIT(SEED07 "\n"), 0600);
    char *link = path("link.seed");
    const char *const rows[][2] = {
        {"a link to a private seed file", NULL}, /* filled below */
        {"/dev/null", "/dev/null"},
        {"/dev/zero", "/dev/zero"},
    };
    size_t i;

    cr_assert_eq(symlink(target, link), 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *p = rows[i][1] ? rows[i][1] : link;
        const char *const argv[] = {"pubkey", "--seed-file", p, NULL};
        long ms;
        cli_result r = run_limited(argv, 5000, &ms);

        cr_expect_eq(r.status, 2, "%s: exit %d (%s)", rows[i][0], r.status, r.err);
        cr_expect_eq(r.out_len, 0, "%s: printed %s", rows[i][0], r.out);
        cr_expect(strstr(r.err, rows[i][1] ? "not a regular file" : "symbolic link") != NULL,
                  "%s: %s", rows[i][0], r.err);
        cr_expect(!leaks_seed(&r), "%s: the seed was printed", rows[i][0]);
        testutil_cli_free(&r);
    }
    {
        const char *const argv[] = {"pubkey", "--seed-file", target, NULL};
        cli_result r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 0, "the file itself: %s", r.err);
        cr_expect_str_eq(r.out, PUB07 "\n");
        testutil_cli_free(&r);
    }
    free(target);
    free(link);
}

/* Every name (recursively, sorted), its mode and its bytes, as one string. */
static void snapshot_into(const char *root, const char *rel, char **acc, size_t *len)
{
    struct dirent **names;
    char *full;
    int n, i;

    cr_assert_geq(asprintf(&full, "%s%s%s", root, rel[0] ? "/" : "", rel), 0);
    n = scandir(full, &names, NULL, alphasort);
    cr_assert_geq(n, 0, "cannot list %s", full);
    for (i = 0; i < n; i++) {
        char *sub, *p, *content = NULL, *line;
        struct stat st;
        size_t clen = 0;

        if (strcmp(names[i]->d_name, ".") == 0 || strcmp(names[i]->d_name, "..") == 0) {
            free(names[i]);
            continue;
        }
        cr_assert_geq(asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]->d_name), 0);
        cr_assert_geq(asprintf(&p, "%s/%s", root, sub), 0);
        cr_assert_eq(lstat(p, &st), 0);
        if (S_ISREG(st.st_mode))
            content = testutil_read_file(p, &clen);
        cr_assert_geq(asprintf(&line, "%s %o %zu [%.*s]\n", sub, (unsigned)st.st_mode, clen,
                               (int)clen, content ? content : ""),
                      0);
        *acc = realloc(*acc, *len + strlen(line) + 1);
        cr_assert_not_null(*acc);
        memcpy(*acc + *len, line, strlen(line) + 1);
        *len += strlen(line);
        if (S_ISDIR(st.st_mode))
            snapshot_into(root, sub, acc, len);
        free(line);
        free(content);
        free(p);
        free(sub);
        free(names[i]);
    }
    free(names);
    free(full);
}

static char *snapshot(const char *root)
{
    char *acc = strdup("");
    size_t len = 0;

    cr_assert_not_null(acc);
    snapshot_into(root, "", &acc, &len);
    return acc;
}

/* A directory of a user's files: two files and a subdirectory. */
static char *user_dir(const char *name)
{
    char *d = path(name), *p;

    cr_assert_eq(mkdir(d, 0700), 0);
    cr_assert_geq(asprintf(&p, "%s/notes.txt", d), 0);
    cr_assert_eq(testutil_write_file(p, LIT("my notes\n"), 0644), 0);
    free(p);
    cr_assert_geq(asprintf(&p, "%s/sub", d), 0);
    cr_assert_eq(mkdir(p, 0755), 0);
    free(p);
    cr_assert_geq(asprintf(&p, "%s/sub/data.bin", d), 0);
    cr_assert_eq(testutil_write_file(p, LIT("\x01\x02\x03"), 0600), 0);
    free(p);
    return d;
}

static cli_result run_argv(const char *const *argv)
{
    return testutil_run_cli(argv, NULL, 0);
}

#define SCENARIO_FILE CHIO_SCENARIOS_DIR "/sessions.json"

Test(bad_input_cli, store_commands_refuse_a_directory_of_user_files)
{
    char *user = user_dir("user-files"), *store = path("a-store"), *fresh = path("fresh");
    char *before = snapshot(user), *after, *file = write_file("plain-file", LIT("x"), 0600);
    cli_result r;
    size_t i;

    /* a real store to archive from */
    r = run_argv(
        (const char *const[]){"scenario", "run", SCENARIO_FILE, "--receipt-db", store, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    {
        const char *const rows[][16] = {
            {"scenario", "run", SCENARIO_FILE, "--receipt-db", user, NULL},
            {"receipt", "archive", "--receipt-db", store, "--archive", user, "--older-than",
             "99999999999", NULL},
            {"receipt", "archive", "--receipt-db", user, "--archive", fresh, "--older-than",
             "99999999999", NULL},
            {"bench", "--receipt-db", user, "--threads", "1", "--calls", "2", "--durability",
             "nosync", NULL},
        };
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            r = run_argv(rows[i]);
            cr_expect_eq(r.status, 2, "row %zu (%s): exit %d (%s)", i, rows[i][0], r.status, r.err);
            cr_expect_eq(r.out_len, 0, "row %zu: printed %s", i, r.out);
            cr_expect(strstr(r.err, "not a chio receipt store") != NULL, "row %zu: %s", i, r.err);
            cr_expect(strstr(r.err, user) != NULL, "row %zu does not name the directory: %s", i,
                      r.err);
            testutil_cli_free(&r);
            after = snapshot(user);
            cr_expect_str_eq(after, before, "row %zu changed the directory", i);
            free(after);
        }
    }
    {
        struct stat st;
        cr_expect_neq(stat(fresh, &st), 0, "the archive was created despite the refusal");
    }
    /* a link to nothing: the store would be made wherever it points */
    {
        char *dangling = path("dangling-db"), *target = path("not-there");
        cr_assert_eq(symlink(target, dangling), 0);
        r = run_argv((const char *const[]){"bench", "--receipt-db", dangling, "--threads", "1",
                                           "--calls", "1", NULL});
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect(strstr(r.err, "symbolic link to nothing") != NULL, "%s", r.err);
        cr_expect_neq(access(target, F_OK), 0, "the link's target was created");
        testutil_cli_free(&r);
        free(dangling);
        free(target);
    }
    /* a regular file where the directory should be */
    r = run_argv((const char *const[]){"bench", "--receipt-db", file, "--threads", "1", "--calls",
                                       "1", NULL});
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "not a directory") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(before);
    free(user);
    free(store);
    free(fresh);
    free(file);
}

Test(bad_input_cli, store_commands_accept_empty_dirs_and_existing_stores)
{
    char *store = path("store"), *arch = path("archive"), *bdb = path("bench");
    char *seed = write_file("bench.seed", LIT(SEED07 "\n"), 0600);
    cli_result r;
    size_t i;

    cr_assert_eq(mkdir(store, 0700), 0);
    cr_assert_eq(mkdir(arch, 0700), 0);
    cr_assert_eq(mkdir(bdb, 0700), 0);
    /* each command twice: first into the empty directory, then into the
     * store it made */
    for (i = 0; i < 2; i++) {
        r = run_argv(
            (const char *const[]){"scenario", "run", SCENARIO_FILE, "--receipt-db", store, NULL});
        cr_expect_eq(r.status, 0, "scenario run, pass %zu: %s", i, r.err);
        testutil_cli_free(&r);
        r = run_argv((const char *const[]){"receipt", "archive", "--receipt-db", store, "--archive",
                                           arch, "--max-size", "1", NULL});
        cr_expect_eq(r.status, 0, "receipt archive, pass %zu: %s", i, r.err);
        testutil_cli_free(&r);
        if (i == 0) { /* the second pass really meets an existing store */
            char *sentinel;
            struct stat st;
            cr_assert_geq(asprintf(&sentinel, "%s/CHIO-RECEIPT-STORE", arch), 0);
            cr_expect_eq(stat(sentinel, &st), 0, "the archive is not a store after pass 0");
            free(sentinel);
        }
        r = run_argv((const char *const[]){"bench", "--receipt-db", bdb, "--threads", "1",
                                           "--calls", "2", "--durability", "nosync", "--seed-file",
                                           seed, NULL});
        cr_expect_eq(r.status, 0, "bench, pass %zu: %s", i, r.err);
        testutil_cli_free(&r);
    }
    free(store);
    free(arch);
    free(bdb);
    free(seed);
}

/* `receipt archive` reads a live log that must already exist: a missing
 * (mistyped) or empty --receipt-db is refused, and neither it nor the
 * archive is created, instead of a new empty store and "nothing moved". */
Test(bad_input_cli, archive_refuses_a_missing_or_empty_live_log)
{
    char *missing = path("no-such-store"), *empty = path("empty-dir"), *arch = path("archive");
    const char *live[] = {missing, empty};
    char *before, *after;
    struct stat st;
    cli_result r;
    size_t i;

    cr_assert_eq(mkdir(empty, 0700), 0);
    before = snapshot(empty);
    for (i = 0; i < 2; i++) {
        r = run_argv((const char *const[]){"receipt", "archive", "--receipt-db", live[i],
                                           "--archive", arch, "--max-size", "1", NULL});
        cr_expect_eq(r.status, 2, "%s: exit %d (%s)", live[i], r.status, r.err);
        cr_expect_eq(r.out_len, 0, "%s: printed %s", live[i], r.out);
        cr_expect(strstr(r.err, "no receipt store there") != NULL, "%s", r.err);
        cr_expect(strstr(r.err, live[i]) != NULL, "does not name the directory: %s", r.err);
        testutil_cli_free(&r);
        cr_expect_neq(stat(arch, &st), 0, "%s: the archive was created", live[i]);
    }
    cr_expect_neq(stat(missing, &st), 0, "a store was created at the mistyped path");
    after = snapshot(empty);
    cr_expect_str_eq(after, before, "a store was made in the empty directory");
    free(before);
    free(after);
    free(missing);
    free(empty);
    free(arch);
}

/* A private secret file that belongs to another user is refused: its owner
 * could replace the signing key or the bearer token at any time. (Needs
 * root to give a file away; the file's own user and root stay accepted.) */
Test(bad_input_cli, seed_and_token_files_of_another_user_are_refused)
{
    char *seed = write_file("other.seed", LIT(SEED07 "\n"), 0600);
    char *tok = write_file("other.token", LIT("a-bearer-token-of-32-characters-x\n"), 0600);
    char *db = path("other-db");
    cli_result r;

    if (geteuid() != 0)
        cr_skip_test("only root can give a file to another user");
    cr_assert_eq(chown(seed, 65534, 65534), 0);
    r = run_argv((const char *const[]){"pubkey", "--seed-file", seed, NULL});
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect_eq(r.out_len, 0, "%s", r.out);
    cr_expect(strstr(r.err, "belongs to uid 65534") != NULL, "%s", r.err);
    cr_expect(!leaks_seed(&r), "the seed was printed");
    testutil_cli_free(&r);

    cr_assert_eq(chown(seed, 0, 0), 0); /* root's own file: accepted */
    r = run_argv((const char *const[]){"pubkey", "--seed-file", seed, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, PUB07 "\n");
    testutil_cli_free(&r);

    cr_assert_eq(chown(tok, 65534, 65534), 0);
    {
        const char *const argv[] = {
            "serve",       "--receipt-db", db,  "--seed-file", seed, "--listen",
            "127.0.0.1:0", "--token-file", tok, NULL};
        long ms;
        r = run_limited(argv, 10000, &ms);
    }
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "--token-file") != NULL && strstr(r.err, "belongs to uid 65534"), "%s",
              r.err);
    testutil_cli_free(&r);
    free(seed);
    free(tok);
    free(db);
}
