/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_http.h - request checks the two libmicrohttpd services (the
 * sidecar in src/serve/, the MCP gateway's HTTP transport in src/mcp/)
 * share. Not part of libchio; header only.
 */
#ifndef CHIO_SVC_HTTP_H
#define CHIO_SVC_HTTP_H

#include <strings.h>

#include <microhttpd.h>

/* How many Content-Length ([0]) and Transfer-Encoding ([1]) headers, and
 * Transfer-Encodings other than a plain "chunked" ([2]). */
static inline enum MHD_Result svc_http_count_framing(void *cls, enum MHD_ValueKind kind,
                                                     const char *key, const char *value)
{
    unsigned *n = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        n[0]++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        n[1]++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            n[2]++;
    }
    return MHD_YES;
}

/* Why the body of @c's request has no single framing, or NULL: more than
 * one Content-Length (libmicrohttpd frames the body by the first), a
 * Content-Length with a Transfer-Encoding (libmicrohttpd reads it chunked
 * and keeps the connection), or a Transfer-Encoding other than one plain
 * "chunked" (libmicrohttpd waited for the connection's timeout). A peer (a
 * proxy) reading the other framing would see another request (RFC 9112
 * 6.3: a smuggling desync), so a service refuses it from the headers alone
 * and never reads the body; the connection closes after the answer. */
static inline const char *svc_http_framing_problem(struct MHD_Connection *c)
{
    unsigned n[3] = {0, 0, 0};

    MHD_get_connection_values(c, MHD_HEADER_KIND, svc_http_count_framing, n);
    if (n[0] > 1)
        return "more than one Content-Length header";
    if (n[0] > 0 && n[1] > 0)
        return "both Content-Length and Transfer-Encoding headers";
    if (n[1] > 1 || n[2] > 0)
        return "a Transfer-Encoding other than chunked";
    return NULL;
}

#endif /* CHIO_SVC_HTTP_H */
