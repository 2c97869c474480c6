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

static inline enum MHD_Result svc_http_count_length(void *cls, enum MHD_ValueKind kind,
                                                    const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        (*(unsigned *)cls)++;
    return MHD_YES;
}

/* Whether @c's request carries more than one Content-Length header.
 * libmicrohttpd frames the body by the first; a peer (a proxy) reading
 * another would see another request (RFC 9112 6.3: unrecoverable), so a
 * service refuses it from the headers alone and never reads the body. */
static inline int svc_http_lengths_ambiguous(struct MHD_Connection *c)
{
    unsigned n = 0;

    MHD_get_connection_values(c, MHD_HEADER_KIND, svc_http_count_length, &n);
    return n > 1;
}

#endif /* CHIO_SVC_HTTP_H */
