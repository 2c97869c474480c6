/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_canon.c - `chio canon`: JSON on stdin to chio's canonical bytes on
 * stdout, exactly (no trailing newline).
 */
#include <stdlib.h>

#include "cli.h"

static const char canon_usage[] =
    "usage: chio canon < input.json\n"
    "\n"
    "Read one JSON value from stdin and write its canonical form (chio's RFC 8785\n"
    "variant) to stdout with no trailing newline. Malformed input exits 2 with\n"
    "the byte offset of the problem.\n";

int cmd_canon(int argc, char **argv)
{
    const char *pos[1];
    size_t npos, len, outlen;
    char *in, *out;
    chio_error err;
    int rc;

    rc = cli_parse(argc, argv, NULL, 0, pos, 0, &npos, "canon", canon_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    in = cli_read_input("canon", NULL, &len);
    if (in == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    rc = chio_json_canonicalize(in, len, &out, &outlen, &err);
    free(in);
    if (rc != 0)
        return cli_lib_error("canon", "invalid JSON", rc, &err);
    rc = cli_write(out, outlen);
    chio_free(out);
    return rc;
}
