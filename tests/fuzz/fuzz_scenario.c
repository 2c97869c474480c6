/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_scenario.c - libFuzzer target for the CLI's
 * chio.scenario.v1 reader (cli_scenario_check in src/cli/scenario_read.c).
 *
 * The input is checked exactly as `chio scenario run` checks a file before
 * running anything. Invariants (abort() when violated): the result is 0 or
 * -1, a rejection comes with a non-empty, NUL-terminated message, and a
 * truncated message buffer still gets a NUL-terminated prefix of the same
 * message. Nothing is run: no kernel, no store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_scenario: invariant violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader takes a length, so the input is passed as libFuzzer gives
     * it (an exact-size heap buffer, no NUL after it): a read past @size
     * shows up as an AddressSanitizer heap-buffer-overflow. */
    const char *text = (const char *)data;
    char msg[1024], small[16];
    int rc;

    memset(msg, 0x55, sizeof(msg));
    rc = cli_scenario_check(text, size, msg, sizeof(msg));
    if (rc != 0 && rc != -1)
        fail("result is neither 0 nor -1");
    if (rc == -1) {
        if (memchr(msg, '\0', sizeof(msg)) == NULL || msg[0] == '\0')
            fail("rejection without a NUL-terminated message");
        memset(small, 0x55, sizeof(small));
        if (cli_scenario_check(text, size, small, sizeof(small)) != -1)
            fail("second check of the same text disagrees");
        if (memchr(small, '\0', sizeof(small)) == NULL ||
            strncmp(small, msg, strlen(small)) != 0)
            fail("truncated message is not a prefix of the full one");
    }
    return 0;
}
