/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_urls.c - review 54: a URL whose authority
 * holds a percent-encoded delimiter. "https://evil.com%2f@api.example.com/"
 * is api.example.com to WHATWG and RFC 3986 readers and evil.com to a
 * tool that decodes the URL before it parses it. The kernel held running
 * text to its decoded reading but not a value that is one URL, so the
 * same URL was denied after a word and allowed alone. Now both are held
 * to it (constraint_domain_url.c, encoded_authority). Real kernels.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u
#define DX  KT_DX("api.example.com")

Test(rev54_urls, a_url_whose_authority_holds_an_encoded_delimiter_is_read_decoded_too)
{
    static const kt_row rows[] = {
        {DX, "{\"url\":\"https://evil.com%2f@api.example.com/\"}", 0},  /* before: allowed */
        {DX, "{\"url\":\"https://evil.com%2F@api.example.com/x\"}", 0}, /* before: allowed */
        {DX, "{\"url\":\"https://evil.com%23@api.example.com/\"}", 0},  /* before: allowed */
        {DX, "{\"url\":\"https://evil.com%3f@api.example.com/\"}", 0},  /* before: allowed */
        {DX, "{\"url\":\"https://evil.com%5c@api.example.com/\"}", 0},  /* before: allowed */
        {DX, "{\"q\":\"https://evil.com%2f@api.example.com/ x\"}", 0},  /* before: allowed */
        {DX, "{\"q\":\"x https://evil.com%2f@api.example.com/\"}", 0},
        /* second review: a special scheme's slashes are any number of
         * slashes or backslashes, and %u escapes */
        {DX, "{\"url\":\"https:\\\\\\\\evil.com%2f@api.example.com/\"}", 0},
        {DX, "{\"url\":\"https:/evil.com%2f@api.example.com/\"}", 0},
        {DX, "{\"url\":\"https:evil.com%2f@api.example.com/\"}", 0},
        {DX, "{\"url\":\"https://evil.com%u002f@api.example.com/\"}", 0},
        /* the decoded reading names the same host: allowed */
        {DX, "{\"url\":\"https://me%40mail.example@api.example.com/\"}", 1},
        {DX, "{\"url\":\"https://api.example.com/a%2fb\"}", 1},
        {DX, "{\"url\":\"https://u:p%3Ax@api.example.com/\"}", 1},
        {DX, "{\"url\":\"https://api.example.com/\"}", 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
