/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/otel/rev32_api.c - review 32 (the public API misused): the span
 * calls of an OTEL=1 build with NULL arguments and a path that cannot be
 * opened. Each is a documented code with a message and *out NULL after
 * every failure (the file exporter's left it as the caller had it), the
 * export and close calls ignore NULL. Called by otel_main.c; returns the
 * number of failed checks.
 */
#include <stdio.h>
#include <string.h>

#include <chio/chio.h>

int otel_rev32_api(void); /* called by otel_main.c */

#define CHECK(cond, what)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "otel-test: %s:%d: %s\n", __FILE__, __LINE__, what); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

int otel_rev32_api(void)
{
    chio_otel_file_exporter *x;
    chio_error err;
    int failures = 0;

    x = (chio_otel_file_exporter *)1;
    chio_error_init(&err);
    CHECK(chio_otel_file_exporter_open(NULL, &x, &err) == CHIO_EINVAL, "NULL path");
    CHECK(x == NULL, "*out after a NULL path");
    CHECK(err.code == CHIO_EINVAL && err.message[0] != '\0', "message for a NULL path");
    CHECK(chio_otel_file_exporter_open("/tmp/x", NULL, &err) == CHIO_EINVAL, "NULL out");
    x = (chio_otel_file_exporter *)1;
    chio_error_init(&err);
    CHECK(chio_otel_file_exporter_open("/nonexistent-dir/spans.jsonl", &x, &err) == CHIO_EIO,
          "a path that cannot be opened");
    CHECK(x == NULL, "*out after CHIO_EIO");
    CHECK(strstr(err.message, "/nonexistent-dir/spans.jsonl") != NULL, "the message names it");
    CHECK(chio_kernel_set_span_exporter(NULL, NULL, NULL, &err) == CHIO_EINVAL, "NULL kernel");
    chio_otel_file_exporter_export(NULL, NULL);
    chio_otel_file_exporter_close(NULL);
    return failures;
}
