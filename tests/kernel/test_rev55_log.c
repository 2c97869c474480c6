/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev55_log.c - review 5 of stop 55, O3: the default
 * stderr log wrote a line and its newline in two stdio calls, serialised
 * only by its own kernel, so two kernels in one process (operations.md
 * supports several) joined two JSON objects on one line and left an empty
 * one. Two kernels now log 2 x 6000 debug lines to one stderr, and every
 * line is one JSON object.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define CALLS 6000

typedef struct {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int failed;
} worker;

static void *calls(void *arg)
{
    worker *w = arg;
    chio_call c;
    int i;

    kt_grant_call(&c, w->sid, "cap-log", "{}", 2);
    for (i = 0; i < CALLS; i++) {
        chio_response r;
        if (chio_kernel_evaluate(w->k, &c, &r, NULL) != 0 || r.verdict != CHIO_VERDICT_ALLOW)
            w->failed++;
        chio_response_destroy(&r);
    }
    return NULL;
}

static void start(worker *w)
{
    chio_kernel_config cfg;

    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = NULL;                 /* the default sink: stderr */
    cfg.log_level = CHIO_LOG_DEBUG; /* a decision line per call */
    w->k = kt_kernel(&cfg);
    kt_serve_t(w->k, "srv", 0, kt_echo_tool);
    kt_grant_session(w->k, (uint64_t)time(NULL), "cap-log", "", w->sid);
}

Test(rev55_log, two_kernels_logging_to_stderr_write_whole_lines)
{
    char *dir = testutil_tmpdir(), *path = testutil_join(dir, "stderr"), *text, *line, *save;
    worker w[2] = {{0}};
    pthread_t t[2];
    size_t len = 0, lines = 0, bad = 0, i;
    int fd, saved;

    for (i = 0; i < 2; i++)
        start(&w[i]);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    cr_assert_eq(dup2(fd, 2), 2);
    close(fd);
    for (i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, calls, &w[i]), 0);
    for (i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < 2; i++)
        chio_kernel_free(w[i].k);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    cr_expect_eq(w[0].failed + w[1].failed, 0);

    text = testutil_read_file(path, &len);
    cr_assert_not_null(text);
    cr_assert(len > 0 && text[len - 1] == '\n',
              "stderr (%zu bytes) does not end with a newline: %.300s", len, text);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        chio_json_doc *doc = NULL;
        lines++;
        if (chio_json_parse(line, strlen(line), &doc, NULL) != 0 ||
            chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT) {
            if (bad++ < 3)
                cr_log_error("not one JSON object: %.200s", line);
        }
        chio_json_doc_free(doc);
    }
    /* strtok_r skips empty lines: count them from the length */
    cr_expect_geq(lines, 2 * CALLS);
    cr_expect_eq(bad, 0, "%zu of %zu lines are not one JSON object", bad, lines);
    cr_expect_null(strstr(text, "\n\n"), "an empty line");
    free(text);
    testutil_rmrf(dir);
    free(path);
    free(dir);
}
