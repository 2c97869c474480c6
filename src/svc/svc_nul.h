/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_nul.h - the NUL bytes a client sent in a request's line or
 * headers, which libmicrohttpd (0.9.75) keeps but hides: it hands the
 * method, the target and each header name and value over as C strings,
 * and its lengths (MHD_get_connection_values_n) are their strlen, so every
 * check the two services (src/serve/, src/mcp/http*.c) make on them stops
 * at the first NUL ("Content-Length: 2\0 99" read as 2, "Transfer-Encoding:
 * chunked\0, gzip" as chunked, "/chio/health\0/x" as the health path). A
 * proxy in front may keep, drop or end the value at that byte: the framing
 * checks of svc_http.h would be beside the point. So the request is looked
 * at as libmicrohttpd left it in its read buffer (below), and refused.
 * Not part of libchio.
 */
#ifndef CHIO_SVC_NUL_H
#define CHIO_SVC_NUL_H

#include <stddef.h>

struct MHD_Connection; /* libmicrohttpd's */

/* What the URI log callback (MHD_OPTION_URI_LOG_CALLBACK) is given: the
 * target as sent, before libmicrohttpd cuts off its query and unescapes
 * it. Returns its length up to its first NUL, for svc_nul_problem(); a
 * service keeps it in the request's context, which that callback
 * allocates (it is the only place the whole target is seen). */
size_t svc_nul_target_len(const char *uri);

/* Why @c's request holds a NUL byte the client sent, or NULL: in the
 * request line (@method, @url, @version as the access handler has them;
 * @target_len from svc_nul_target_len()), or in a header line; a header
 * line libmicrohttpd did not keep in place (a folded line, which it glued
 * onto the name) is refused as malformed. What is not seen: NULs as the
 * very last bytes of a header value whose line ends in a bare LF, one
 * (it leaves the same bytes as a CRLF) or, on the last header line, up
 * to two (the line end and the empty line leave up to four NULs);
 * libmicrohttpd and a proxy that ends the value at the NUL read the same
 * value there, and nothing but NULs can hide in those bytes. */
const char *svc_nul_problem(struct MHD_Connection *c, const char *method, const char *url,
                            const char *version, size_t target_len);

#endif /* CHIO_SVC_NUL_H */
