/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev59_api.c - review 19 of the public API:
 *   - F1: a directory that never held a store, holding only a symbolic
 *     link or a FIFO, was reported as a corrupt store (CHIO_ECORRUPT) by
 *     chio_store_open() in every mode, and so by `chio receipt verify`,
 *     where store.h promises CHIO_ESTORE (read-write) and CHIO_ENOTFOUND
 *     (read modes), as for a stray regular file; a link in the place of
 *     a store's own file (CURRENT) is still refused as damage;
 *   - F2: chio_capability_report_json() and chio_receipt_report_json()
 *     copied a caller's bytes of no UTF-8 into their JSON, which
 *     chio_json_parse() then refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/testutil.h"

/* @dir/@sub made 0700 with one entry @name: a link (@fifo 0) or a FIFO. */
static char *dir_with(const char *dir, const char *sub, const char *name, int fifo)
{
    char *d = NULL, *e = NULL;

    cr_assert_geq(asprintf(&d, "%s/%s", dir, sub), 0);
    cr_assert_geq(asprintf(&e, "%s/%s", d, name), 0);
    cr_assert_eq(mkdir(d, 0700), 0);
    cr_assert_eq(fifo ? mkfifo(e, 0600) : symlink("/etc/passwd", e), 0);
    free(e);
    return d;
}

static int open_code(const char *path, chio_store_mode mode)
{
    chio_store *s = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_store_open(path, mode, &s, &err);
    chio_store_close(s);
    return rc;
}

Test(rev59_api, a_directory_of_no_store_holding_a_link_or_fifo_is_no_store)
{
    char *dir = testutil_tmpdir();
    char *link = dir_with(dir, "link", "latest", 0), *fifo = dir_with(dir, "fifo", "pipe", 1);
    char *cur = dir_with(dir, "cur", "CURRENT", 0);
    const char *both[] = {link, fifo};
    cli_result r;
    size_t i;

    for (i = 0; i < 2; i++) {
        cr_expect_eq(open_code(both[i], CHIO_STORE_READ_WRITE), CHIO_ESTORE, "%s", both[i]);
        cr_expect_eq(open_code(both[i], CHIO_STORE_READ_ONLY), CHIO_ENOTFOUND, "%s", both[i]);
        cr_expect_eq(open_code(both[i], CHIO_STORE_SECONDARY), CHIO_ENOTFOUND, "%s", both[i]);
        cr_expect_eq(chio_store_check_dir(both[i], NULL), CHIO_ESTORE, "%s", both[i]);
        r = testutil_run_cli(
            (const char *const[]){"receipt", "verify", "--receipt-db", both[i], NULL}, NULL, 0);
        cr_expect(strstr(r.err, "CHIO_ECORRUPT") == NULL && strstr(r.err, "damaged") == NULL,
                  "%s: %s", both[i], r.err);
        testutil_cli_free(&r);
    }
    /* a store's own file as a link is damage, as before */
    cr_expect_eq(open_code(cur, CHIO_STORE_READ_ONLY), CHIO_ECORRUPT);
    cr_expect_eq(open_code(cur, CHIO_STORE_READ_WRITE), CHIO_ECORRUPT);
    testutil_rmrf(dir);
    free(dir);
    free(link);
    free(fifo);
    free(cur);
}

/* @json (@len bytes) parses as JSON and holds '?' where the bad bytes were. */
static void expect_json(const char *json, size_t len, const char *what)
{
    chio_json_doc *doc = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_json_parse(json, len, &doc, &err), 0, "%s: %s", what, err.message);
    cr_expect_not_null(strchr(json, '?'), "%s", what);
    chio_json_doc_free(doc);
}

Test(rev59_api, a_report_with_bytes_of_no_utf8_renders_as_json)
{
    chio_capability_report cr;
    chio_receipt_report rr;
    char *out = NULL;
    size_t len;

    memset(&cr, 0, sizeof(cr));
    cr.id = "a\xff\xfe"
            "b";
    cr.time_status_name = "\xc0\x80";
    cr_assert_eq(chio_capability_report_json(&cr, &out, &len), 0);
    expect_json(out, len, "capability report");
    chio_free(out);
    memset(&rr, 0, sizeof(rr));
    memset(rr.signer_key_hex, 0xff, sizeof(rr.signer_key_hex));
    rr.id = "\xed\xa0\x80";
    cr_assert_eq(chio_receipt_report_json(&rr, &out, &len), 0);
    expect_json(out, len, "receipt report");
    cr_expect_eq(strlen(out), len);
    chio_free(out);
}
