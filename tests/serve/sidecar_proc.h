/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/sidecar_proc.h - a real `chio serve` child for the sidecar
 * suites: started with a seed, a bearer token and a free loopback port,
 * in a temporary directory of its own; killed and cleaned up at the end.
 */
#ifndef CHIO_TESTS_SIDECAR_PROC_H
#define CHIO_TESTS_SIDECAR_PROC_H

#include <sys/types.h>

typedef struct sidecar {
    pid_t pid;
    unsigned port;
    char *dir;
} sidecar;

/* Start `chio serve` signing with @seed_hex (64 hex digits) and guarded by
 * @bearer; fails the test unless it serves within 15 s. */
void sidecar_start(sidecar *sc, const char *seed_hex, const char *bearer);
/* The same with the options @extra (NULL ended, at most 21; NULL for
 * none) after its own. */
void sidecar_start_with(sidecar *sc, const char *seed_hex, const char *bearer,
                        const char *const *extra);
/* Kill it and remove its directory. */
void sidecar_stop(sidecar *sc);
/* POST @body to @target with the header lines @headers (each ending in
 * CRLF, "" for none) on a new connection, reading until the sidecar
 * closes (10 s at most); the status, and the answer's body in *@reply
 * (malloc'd, the caller frees it). Fails the test on a socket error or
 * no HTTP answer. */
unsigned sidecar_post(const sidecar *sc, const char *target, const char *headers, const char *body,
                      char **reply);

#endif
