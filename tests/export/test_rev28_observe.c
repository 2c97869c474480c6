/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev28_observe.c - review 28: what the fleet commands
 * print about their servers. A NATS server refusing the connection sends
 * an -ERR line of its own text, which the client library keeps as its last
 * error and `chio fleet verify` (like `chio export`) prints: a hostile or
 * broken server's ESC, BEL or OSC sequence must not reach the operator's
 * terminal. A fake server on loopback (a thread here) speaks just enough
 * of the protocol: INFO, then -ERR after the client's CONNECT.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/testutil.h"

typedef struct fake_nats {
    int fd;
    int stop;
    pthread_t thread;
} fake_nats;

static void serve_one(int c)
{
    static const char info[] = "INFO {\"server_id\":\"fake\",\"version\":\"2.10.0\",\"proto\":1,"
                               "\"max_payload\":1048576,\"headers\":true}\r\n";
    static const char refusal[] = "-ERR 'Authorization \x1b[2J\x1b]0;pwned\x07 Violation'\r\n";
    struct pollfd p = {c, POLLIN, 0};
    char buf[4096];

    if (write(c, info, sizeof(info) - 1) != (ssize_t)(sizeof(info) - 1))
        return;
    if (poll(&p, 1, 5000) == 1 && read(c, buf, sizeof(buf)) > 0)
        (void)!write(c, refusal, sizeof(refusal) - 1);
    p.events = POLLIN;
    if (poll(&p, 1, 2000) == 1)
        (void)!read(c, buf, sizeof(buf)); /* the client closes */
}

static void *fake_main(void *arg)
{
    fake_nats *f = arg;

    while (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {f->fd, POLLIN, 0};
        int c;

        if (poll(&p, 1, 100) != 1)
            continue;
        c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

static unsigned fake_start(fake_nats *f)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(f, 0, sizeof(*f));
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(f->fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(f->fd, 8), 0);
    cr_assert_eq(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
    return ntohs(a.sin_port);
}

static void fake_stop(fake_nats *f)
{
    __atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

Test(rev28_observe, a_servers_refusal_reaches_stderr_without_escape_sequences)
{
    fake_nats f;
    char url[64];
    unsigned port = fake_start(&f);
    cli_result r;

    snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
    {
        const char *argv[] = {"fleet", "verify", "--nats", url, NULL};
        r = testutil_run_cli(argv, NULL, 0);
    }
    fake_stop(&f);
    cr_expect_neq(r.status, 0);
    cr_expect_not_null(strstr(r.err, "Authorization"), "the server's text is shown: %s", r.err);
    cr_expect_null(memchr(r.err, 0x1b, r.err_len), "ESC on stderr: %s", r.err);
    cr_expect_null(memchr(r.err, 0x07, r.err_len), "BEL on stderr: %s", r.err);
    testutil_cli_free(&r);
}
