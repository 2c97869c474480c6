/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/mcputil.h - what the suites that drive an in-process MCP
 * gateway share: a log of the lines each side of the gateway got (side 0
 * the client, 1 the server), searched and waited on by the text a line
 * holds, and a count of the stored receipts that hold some text.
 */
#ifndef CHIO_TESTS_MCPUTIL_H
#define CHIO_TESTS_MCPUTIL_H

#include <pthread.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* The first 64 lines of each side, in the order they came. */
typedef struct mt_lines {
    pthread_mutex_t mu;
    char *line[2][64];
    int n[2];
} mt_lines;
#define MT_LINES_INIT                     \
    {                                     \
        PTHREAD_MUTEX_INITIALIZER, {{0}}, \
        {                                 \
            0, 0                          \
        }                                 \
    }

/* Keep a copy of @line (@len bytes) as the next line of @side. */
void mt_lines_add(mt_lines *l, int side, const char *line, size_t len);
/* A copy of the first line of @side holding @needle (malloc'd), waited for
 * up to @ms (0: look once); NULL when none came. */
char *mt_lines_wait(mt_lines *l, int side, const char *needle, uint64_t ms);
/* How many lines of @side hold @needle. */
int mt_lines_count(mt_lines *l, int side, const char *needle);
/* The client's copy of the answer to its request with the numeric id @id
 * (first or last member, as the gateway writes it), waited for up to 10 s;
 * NULL when none came. */
char *mt_lines_answer(mt_lines *l, int id);
/* Free every kept line; the log is empty again. */
void mt_lines_clear(mt_lines *l);
/* How many receipts in the store at @dir hold @a and, unless NULL, @b. */
int mt_stored(const char *dir, const char *a, const char *b);

/* The real `chio mcp serve --policy @pol --receipt-db @db --seed-file @seed
 * -- node @server` as a child (killed with the test process), the server
 * recording what it gets in @rec (CHIO_RECORD), the gateway's stderr in
 * @err; *@pid, its stdin in *@in and its stdout in *@out. */
void mt_stdio_start(const char *pol, const char *db, const char *seed, const char *server,
                    const char *rec, const char *err, pid_t *pid, int *in, int *out);
/* Write @line and a newline to the gateway's stdin @in. */
void mt_stdio_send(int in, const char *line);
/* Read the gateway's stdout @out whole into *@got (*@len bytes, kept
 * NUL-terminated and grown) until it holds @needle (1) or @ms pass (0);
 * read whole, a long line cannot block the gateway. */
int mt_stdio_wait(int out, char **got, size_t *len, const char *needle, unsigned ms);
/* Close the gateway's stdin @in (it ends when its client does), wait @ms
 * for @pid to exit (then SIGKILL it) and close its stdout @out. */
void mt_stdio_stop(pid_t pid, int in, int out, unsigned ms);

/* A stdio gateway (mt_stdio_start) in front of a scripted Node server,
 * with its seed, policy, store, stderr and the server's record as files
 * under a test's directory, and what its client got so far. */
typedef struct mt_scripted {
    char *server, *seed, *pol, *db, *err, *rec;
    pid_t pid;
    int in, out;
    char *got; /* what the client got so far (NUL-terminated) */
    size_t len;
} mt_scripted;
/* Start the gateway under @dir in front of the repository's @script
 * (e.g. "tests/mcp/rev44-server.mjs"), with @policy and the seed whose 64
 * hex digits are @seed_hex. */
void mt_scripted_start(mt_scripted *s, const char *dir, const char *script, const char *policy,
                       const char *seed_hex);
/* Write @line and a newline to the gateway. */
void mt_scripted_send(mt_scripted *s, const char *line);
/* Read what the client gets until it holds @needle (1) or @ms pass (0). */
int mt_scripted_wait(mt_scripted *s, const char *needle, unsigned ms);
/* The server's record (every line it got), or "" (caller frees). */
char *mt_scripted_record(const mt_scripted *s);
/* Send @init, wait @ms for its answer ("serverInfo"), then send
 * notifications/initialized. */
void mt_scripted_session(mt_scripted *s, const char *init, unsigned ms);
/* Stop the gateway (mt_stdio_stop, @ms) and free what *@s holds. */
void mt_scripted_stop(mt_scripted *s, unsigned ms);

#endif
