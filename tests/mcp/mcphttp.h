/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/mcphttp.h - a test's client of `chio mcp serve-http`: start
 * the real CLI on a free loopback port and wait until it listens, then
 * raw HTTP/1.1 POSTs on fresh connections (Connection: close), a JSON
 * answer read whole, and a session opened with initialize and
 * notifications/initialized. Every call fails the test on a socket or
 * process error.
 */
#ifndef CHIO_TESTS_MCPHTTP_H
#define CHIO_TESTS_MCPHTTP_H

#include <sys/types.h>

/* Fork and exec build/chio with @args (after the program name, NULL
 * ended; they should end in "--listen 127.0.0.1:0 ... -- CMD..."), its
 * stdout and stderr into @err_path, CHIO_RECORD set to @record when not
 * NULL; killed when the test process dies. Waits up to @wait_ms until
 * it says where it listens. Returns its pid; *@port the port. */
pid_t mh_start(const char *const *args, const char *err_path, const char *record, unsigned wait_ms,
               unsigned *port);
/* A new TCP connection to 127.0.0.1:@port. */
int mh_connect(unsigned port);
/* A POST of @body to /mcp with the Content-Type line @type and the extra
 * header lines @extra (each ending "\r\n"), on a new connection
 * (returned). */
int mh_post_typed(unsigned port, const char *type, const char *extra, const char *accept,
                  const char *body);
/* The same as application/json. */
int mh_post_send(unsigned port, const char *extra, const char *accept, const char *body);
/* The whole answer of a JSON-mode POST (malloc'd), read until the server
 * closes the connection or @wait_ms passed. */
char *mh_post(unsigned port, const char *extra, const char *body, unsigned wait_ms);
/* "Mcp-Session-Id: @sid\r\n" (a static buffer). */
const char *mh_sid_header(const char *sid);
/* Open a session with the initialize request @init, then send
 * notifications/initialized; its id into @sid. */
void mh_session(unsigned port, const char *init, char sid[33], unsigned wait_ms);

/* SIGTERM the serve-http @pid (it must exit 0) and return the receipts
 * of its store @db as JSON lines (`chio receipt list`; caller frees). */
char *mh_stop(pid_t pid, const char *db);

#endif
