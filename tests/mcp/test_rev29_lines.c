/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev29_lines.c - a client line the stdio transport cannot
 * read (longer than CHIO__MCP_MAX_LINE, 64 MiB, by more than one read of
 * 64 KiB) was dropped with a line on stderr and no answer, so a client
 * waiting for it waited forever. Now
 * the gateway answers it with a JSON-RPC parse error (-32700, id null, as
 * for any line it cannot parse) and goes on reading: the next line is
 * answered too. The line goes through the real line reader over a pipe.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "mcp/mcp.h"
#include "mcp/mcp_internal.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}";

static struct {
    pthread_mutex_t mu;
    char *line[16];
    int n;
} seen = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    pthread_mutex_lock(&seen.mu);
    if (seen.n < 16)
        seen.line[seen.n++] = strndup(line, len);
    pthread_mutex_unlock(&seen.mu);
    return 0;
}

static int to_server(void *user, const char *line, size_t len)
{
    (void)user;
    (void)line;
    (void)len;
    return 0;
}

typedef struct feed {
    int fd;
    const char *p;
    size_t len;
} feed;

static void *feeder(void *arg)
{
    feed *f = arg;
    size_t off = 0;
    ssize_t n;

    while (off < f->len && (n = write(f->fd, f->p + off, f->len - off)) > 0)
        off += (size_t)n;
    close(f->fd);
    return NULL;
}

TestSuite(rev29_mcp_lines);

Test(rev29_mcp_lines, a_client_line_too_long_to_read_is_answered_with_a_parse_error)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"x\":\"";
    const size_t longlen = CHIO__MCP_MAX_LINE + 200000; /* past the limit by more than a read */
    char *dir = testutil_tmpdir(), *text = malloc(longlen + 64);
    chio__mcp_reader r = {0};
    chio_mcp_gateway *gw = NULL;
    chio_mcp_policy *pol = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *kern = NULL;
    pthread_t t;
    feed f;
    int fds[2], i;

    cr_assert_not_null(text);
    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, dir, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    /* A request whose line is one byte over the limit, then a line the
     * gateway cannot parse. */
    memcpy(text, head, strlen(head));
    memset(text + strlen(head), 'a', longlen - strlen(head) - 2);
    memcpy(text + longlen - 2, "\"}", 2);
    strcpy(text + longlen, "\n{\n");
    cr_assert_eq(pipe(fds), 0);
    f.fd = fds[1];
    f.p = text;
    f.len = strlen(text);
    cr_assert_eq(pthread_create(&t, NULL, feeder, &f), 0);
    while (chio__mcp_read_lines(&r, fds[0], gw, chio_mcp_gateway_client_line) == 1)
        ;
    pthread_join(t, NULL);
    close(fds[0]);
    free(r.buf);
    pthread_mutex_lock(&seen.mu);
    cr_expect_eq(seen.n, 2, "%d answers", seen.n);
    for (i = 0; i < seen.n; i++) {
        cr_expect(strstr(seen.line[i], "-32700") != NULL, "answer %d: %s", i, seen.line[i]);
        cr_expect(strstr(seen.line[i], "\"id\":null") != NULL, "answer %d: %s", i, seen.line[i]);
    }
    cr_expect(seen.n > 0 && strstr(seen.line[0], "too long") != NULL, "%s",
              seen.n > 0 ? seen.line[0] : "(none)");
    for (i = 0; i < seen.n; i++)
        free(seen.line[i]);
    seen.n = 0;
    pthread_mutex_unlock(&seen.mu);
    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_expect_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern); /* and the keypair, which the kernel took */
    chio_mcp_policy_free(pol);
    free(text);
    testutil_rmrf(dir);
    free(dir);
}
