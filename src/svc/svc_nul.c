/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_nul.c - a NUL byte the client sent in the request line or a
 * header line (svc_nul.h), found in libmicrohttpd's read buffer. The
 * request's line and headers stay there as they came in (0.9.75), each
 * byte in place, with a NUL written for the space after the method (more
 * spaces skipped), the space before the version, the colon after each
 * name (spaces and tabs after it skipped) and each line's CR and LF, and
 * in the target for its '?' and the '&' and '=' of its query. The method,
 * the target, the version and each header name and value point into that
 * buffer, and the request's header size (MHD_CONNECTION_INFO_REQUEST_
 * HEADER_SIZE) ends it where the body begins. So a line holds no NUL of
 * the client's when each string ends exactly where the next begins, past
 * only the NULs libmicrohttpd wrote: one for a bare LF, two for a CRLF.
 * A header whose name is not in that buffer was a folded line, which
 * libmicrohttpd glued onto the name of the one before.
 */
#include "svc_nul.h"

#include <stdint.h>
#include <string.h>

#include <microhttpd.h>

#define IN_LINE   "a request line holding a NUL"
#define IN_HEADER "a header value holding a CR, a NUL or another control character"
#define FOLDED    "a malformed header name (whitespace before its colon, or a folded line)"

/* The header block and how far it has been walked. */
typedef struct walk {
    uintptr_t lo, hi; /* [the method, the body) */
    const char *end;  /* the NUL that ends the line before */
    const char *why;  /* the first problem, or NULL */
} walk;

static int in_block(const walk *w, const char *p)
{
    return (uintptr_t)p >= w->lo && (uintptr_t)p < w->hi;
}

/* 1 when the @n bytes at @p are all NUL. */
static int all_nul(const char *p, size_t n)
{
    for (; n > 0; n--, p++)
        if (*p != '\0')
            return 0;
    return 1;
}

/* 1 when from the end of the line before to @start (the next line's first
 * byte) there are @lo to @hi bytes, all NUL: its line end (CR LF or a bare
 * LF), with for the last line the empty one that ends the headers. */
static int nuls_to(const walk *w, const char *start, size_t lo, size_t hi)
{
    uintptr_t gap = (uintptr_t)start - (uintptr_t)w->end;

    return (uintptr_t)start > (uintptr_t)w->end && gap >= lo && gap <= hi &&
           all_nul(w->end, (size_t)gap);
}

/* MHD_get_connection_values callback, in the order the lines came: each
 * name begins right after the line before ends, its value right after its
 * colon and the blanks libmicrohttpd skipped. */
static enum MHD_Result header_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    walk *w = cls;
    const char *p;

    (void)kind;
    if (key == NULL || value == NULL || !in_block(w, key) || !in_block(w, value)) {
        w->why = FOLDED;
        return MHD_NO;
    }
    if (!nuls_to(w, key, 1, 2)) {
        w->why = IN_HEADER;
        return MHD_NO;
    }
    for (p = key + strlen(key) + 1; p != value && (*p == ' ' || *p == '\t'); p++)
        ;
    if (p != value) {
        w->why = IN_HEADER;
        return MHD_NO;
    }
    w->end = value + strlen(value);
    return MHD_YES;
}

size_t svc_nul_target_len(const char *uri)
{
    return uri != NULL ? strlen(uri) : SIZE_MAX;
}

const char *svc_nul_problem(struct MHD_Connection *c, const char *method, const char *url,
                            const char *version, size_t target_len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    walk w;
    const char *p;

    if (ci == NULL || method == NULL || url == NULL || version == NULL)
        return IN_LINE;
    w.lo = (uintptr_t)method;
    w.hi = w.lo + ci->header_size;
    w.why = NULL;
    /* The method, then its space and any more before the target. */
    for (p = method + strlen(method) + 1; p != url && *p == ' '; p++)
        ;
    if (p != url || !in_block(&w, version))
        return IN_LINE;
    /* The target as sent (the log callback's length, from before the
     * query was cut off) ends at the space before the version. */
    if (target_len == SIZE_MAX || (uintptr_t)url + target_len + 1 != (uintptr_t)version)
        return IN_LINE;
    w.end = version + strlen(version);
    MHD_get_connection_values(c, MHD_HEADER_KIND, header_line, &w);
    if (w.why != NULL)
        return w.why;
    /* The last line's end and the empty line, then the body. */
    if (!nuls_to(&w, (const char *)w.hi, 2, 4))
        return IN_HEADER;
    return NULL;
}
