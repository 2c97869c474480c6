/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_host.h - the Host header rule the two libmicrohttpd services
 * (the sidecar in src/serve/, the MCP gateway's HTTP transport in
 * src/mcp/) apply against DNS rebinding. A web page whose name an attacker
 * re-points at 127.0.0.1 becomes same-origin with a loopback service: its
 * GETs carry no Origin, and it reads the answers. Its requests still name
 * the page's host in Host, so a Host is accepted only when it names
 *   - localhost (any case), an IPv4 address in 127.0.0.0/8, or [::1];
 *   - the address the service listens on (a numeric address, compared as
 *     an address: "[fd00::1]" and "[fd00:0::1]" are one);
 *   - any numeric address, when it listens on a wildcard (0.0.0.0, [::]):
 *     it cannot know which of the machine's addresses a client used, and a
 *     numeric Host is the origin of no attacker's page;
 *   - a name the operator allowed (the sidecar's --allow-host), any case;
 * each with any port or none (a port forward changes the port a client
 * names; the name is what a rebound page cannot choose). An HTTP/1.1
 * request without a Host, or any request with more than one, is malformed
 * (RFC 9112 3.2: 400); an HTTP/1.0 request without one is accepted (the
 * version predates Host; a browser always sends one).
 * Not part of libchio.
 */
#ifndef CHIO_SVC_HOST_H
#define CHIO_SVC_HOST_H

#include <stddef.h>

struct MHD_Connection; /* libmicrohttpd's; only svc_host.c looks inside */

/* What a service accepts besides the loopback names. */
typedef struct svc_host_rule {
    int family;               /* the listen address: AF_INET, AF_INET6, 0 (loopback only) */
    unsigned char addr[16];   /* its bytes (4 for AF_INET) */
    int any_address;          /* listening on a wildcard: any numeric address */
    const char *const *names; /* allowed names (borrowed), without a port */
    size_t nnames;
} svc_host_rule;

/* What svc_host_check() found. */
typedef enum svc_host_verdict {
    SVC_HOST_OK = 0,
    SVC_HOST_MISSING,   /* HTTP/1.1 without Host: 400 */
    SVC_HOST_DUPLICATE, /* more than one Host: 400 */
    SVC_HOST_REFUSED    /* a Host the rule does not accept: 403 */
} svc_host_verdict;

/* The rule for a service listening on the numeric address @listen_host
 * ("127.0.0.1", "::", "10.0.0.5"; NULL: loopback names only), accepting
 * the @nnames @names too (borrowed: they must outlive the rule). */
void svc_host_rule_init(svc_host_rule *r, const char *listen_host, const char *const *names,
                        size_t nnames);

/* 1 when the Host value @value (name, then ":PORT" or nothing) is one @r
 * accepts. */
int svc_host_value_ok(const svc_host_rule *r, const char *value);

/* The Host header(s) of @c's request (HTTP @version) against @r. */
svc_host_verdict svc_host_check(const svc_host_rule *r, struct MHD_Connection *c,
                                const char *version);

/* 1 when @name may be given as an allowed name: 1 to 253 letters, digits,
 * '-', '.' and '_' (a DNS or container name; no port). */
int svc_host_name_valid(const char *name);

#endif /* CHIO_SVC_HOST_H */
