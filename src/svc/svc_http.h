/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_http.h - request checks the two libmicrohttpd services (the
 * sidecar in src/serve/, the MCP gateway's HTTP transport in src/mcp/)
 * share. Not part of libchio; header only.
 */
#ifndef CHIO_SVC_HTTP_H
#define CHIO_SVC_HTTP_H

#include <string.h>
#include <strings.h>

#include <microhttpd.h>

/* 1 when @c may be in a header name: an RFC 9110 5.1 token character. */
static inline int svc_http_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* 1 when @key cannot be a header name as sent, and libmicrohttpd (0.9.75)
 * kept it anyway: whitespace before the colon ("Content-Length : 5" is no
 * Content-Length to it, so the body is read as a next request), or a
 * folded line (obs-fold, RFC 9112 5.2), which it glues onto the name
 * ("Content-Length:\r\n 5" becomes a header "Content-Length5" with no
 * value). A proxy reading either as a Content-Length or Transfer-Encoding
 * frames the body another way. So: a name with a character that is no
 * token character, or one that begins with one of the two framing names
 * and goes on. */
static inline int svc_http_bad_name(const char *key)
{
    static const char *const framing[] = {MHD_HTTP_HEADER_CONTENT_LENGTH,
                                          MHD_HTTP_HEADER_TRANSFER_ENCODING};
    size_t i;

    for (i = 0; key[i] != '\0'; i++)
        if (!svc_http_tchar((unsigned char)key[i]))
            return 1;
    for (i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
        if (strncasecmp(key, framing[i], strlen(framing[i])) == 0 &&
            key[strlen(framing[i])] != '\0')
            return 1;
    return key[0] == '\0'; /* an empty name */
}

/* 1 when @value holds a control character other than a tab. */
static inline int svc_http_bad_value(const char *value)
{
    const unsigned char *v = (const unsigned char *)(value != NULL ? value : "");

    for (; *v != '\0'; v++)
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
            return 1;
    return 0;
}

/* How many Content-Length ([0]) and Transfer-Encoding ([1]) headers,
 * Transfer-Encodings other than a plain "chunked" ([2]), malformed header
 * names ([3]) and header values holding a control character ([4]). */
static inline enum MHD_Result svc_http_count_framing(void *cls, enum MHD_ValueKind kind,
                                                     const char *key, const char *value)
{
    unsigned *n = cls;

    (void)kind;
    n[4] += svc_http_bad_value(value);
    if (svc_http_bad_name(key)) {
        n[3]++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        n[0]++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        n[1]++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            n[2]++;
    }
    return MHD_YES;
}

/* Why the body of @c's request (HTTP @version) has no single framing, or
 * NULL: a header value holding a CR or another control character
 * (libmicrohttpd keeps a bare CR inside a value, while a proxy may end the
 * line there and read what follows, "X: a\rContent-Length: 9", as a
 * header of its own; RFC 9112 2.2), a malformed header name (above), more than one Content-Length
 * (libmicrohttpd frames the body by the first), a Content-Length with a
 * Transfer-Encoding (libmicrohttpd reads it chunked and keeps the
 * connection), a Transfer-Encoding other than one plain "chunked"
 * (libmicrohttpd waited for the connection's timeout), or one in an
 * HTTP/1.0 request (RFC 9112 6.1: its framing is faulty; libmicrohttpd
 * read it chunked). A peer (a proxy) reading the other framing would see
 * another request (RFC 9112 6.3: a smuggling desync), so a service refuses
 * it from the headers alone and never reads the body; the connection
 * closes after the answer. */
static inline const char *svc_http_framing_problem(struct MHD_Connection *c, const char *version)
{
    unsigned n[5] = {0, 0, 0, 0, 0};

    MHD_get_connection_values(c, MHD_HEADER_KIND, svc_http_count_framing, n);
    if (n[4] > 0)
        return "a header value holding a CR, a NUL or another control character";
    if (n[3] > 0)
        return "a malformed header name (whitespace before its colon, or a folded line)";
    if (n[0] > 1)
        return "more than one Content-Length header";
    if (n[0] > 0 && n[1] > 0)
        return "both Content-Length and Transfer-Encoding headers";
    if (n[1] > 1 || n[2] > 0)
        return "a Transfer-Encoding other than chunked";
    if (n[1] > 0 && version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
        return "a Transfer-Encoding in an HTTP/1.0 request";
    return NULL;
}

/* MHD_OPTION_UNESCAPE_CALLBACK: paths are matched byte for byte as sent,
 * no percent-decoding, so that "/v1/%65valuate" or "/mcp%00x" is no route
 * (404), never a route in disguise (libmicrohttpd's own decoding wrote a
 * NUL for "%00", and "/mcp%00x" was /mcp). Returns the length unchanged. */
static inline size_t svc_http_keep_escapes(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

#endif /* CHIO_SVC_HTTP_H */
