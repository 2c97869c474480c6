/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/transport.c - the transport seam (transport.h): picks the
 * implementation from the URL scheme and forwards each call to it; the
 * code table's names; a server's text made safe to quote; server URLs
 * as messages may show them (passwords and tokens hidden); the
 * monotonic clock and naps the retry loops use. No client
 * library is seen here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "transport.h"

static const chio__xp_ops *const transports[] = {&chio__xp_nats};

const char *chio__xp_code_name(int rc)
{
    if (rc == 0)
        return "OK";
#define CHIO__XP_NAME(name, num, text) \
    if (rc == -(num))                  \
        return #name;
    CHIO__XP_ERRNO_MAP(CHIO__XP_NAME)
#undef CHIO__XP_NAME
    return "?";
}

int chio__xp_fail(chio__xp *t, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
    return rc;
}

/* Append @n bytes of @s to @out (@cap bytes, NUL-terminated, cut). */
static void shown_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + 1 >= cap)
        return;
    if (n > cap - 1 - *o)
        n = cap - 1 - *o;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
}

void chio__xp_urls_shown(const char *urls, char *out, size_t cap)
{
    size_t o = 0;
    const char *u = urls;

    if (cap == 0)
        return;
    out[0] = '\0';
    while (u != NULL) {
        const char *auth = strstr(u, "://"), *end, *at = NULL, *colon, *lim;

        if (auth != NULL) {
            auth += 3;
            /* The userinfo ends at the last '@' before the next URL's
             * "://", not at a comma: the client takes a password or token
             * with an '@' or a '/' in it (review 46: the first '@' showed
             * the rest, "u:***@ss@host" for the password "pa@ss"), and a
             * list refused for a password with a ',' in it showed that
             * password (review 18). Hiding too much of a URL is harmless. */
            lim = strstr(auth, "://");
            at = memrchr(auth, '@', (size_t)((lim != NULL ? lim : auth + strlen(auth)) - auth));
        }
        if (at != NULL) {
            end = strchr(at, ',');
            colon = memchr(auth, ':', (size_t)(at - auth));
            shown_put(out, cap, &o, u, (size_t)(auth - u));
            if (colon != NULL) /* user:password: the user is shown */
                shown_put(out, cap, &o, auth, (size_t)(colon - auth) + 1);
            shown_put(out, cap, &o, "***", 3);
            shown_put(out, cap, &o, at, end != NULL ? (size_t)(end - at) : strlen(at));
        } else {
            end = strchr(u, ',');
            shown_put(out, cap, &o, u, end != NULL ? (size_t)(end - u) : strlen(u));
        }
        if (end == NULL)
            break;
        shown_put(out, cap, &o, ",", 1);
        u = end + 1;
    }
}

/* Is @u (@len bytes, one element of a server list) "@scheme://" then an
 * optional userinfo (up to the last '@'), a host (a name, or an IPv6
 * literal in brackets) and an optional ":port" of 1 to 65535, with no
 * blank or control byte anywhere? A client
 * library waits for ever on "nats://", "nats://h:99999" or an element of
 * another scheme it skips: the same typo as a wrong scheme (review 17
 * fleet F2). */
static int element_ok(const char *u, size_t len, const char *scheme)
{
    size_t sl = strlen(scheme), i, h;
    const char *at;
    unsigned long port = 0;

    if (len < sl + 3 || strncmp(u, scheme, sl) != 0 || strncmp(u + sl, "://", 3) != 0)
        return 0;
    /* a blank or a control byte anywhere is a typo no resolver reads */
    for (i = 0; i < len; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return 0;
    i = sl + 3;
    if ((at = memrchr(u + i, '@', len - i)) != NULL)
        i = (size_t)(at - u) + 1;
    h = i;
    if (i < len && u[i] == '[') {
        while (i < len && u[i] != ']')
            i++;
        if (i == len || i == h + 1)
            return 0;
        i++;
    } else {
        while (i < len && u[i] != ':' && strchr(" /?#[]", u[i]) == NULL)
            i++;
        if (i == h)
            return 0;
    }
    if (i < len && u[i] == ':') {
        size_t d = ++i;
        while (i < len && u[i] >= '0' && u[i] <= '9' && i - d < 6)
            port = port * 10 + (unsigned long)(u[i++] - '0');
        if (i == d || port == 0 || port > 65535)
            return 0;
    }
    return i == len;
}

/* The transport whose scheme @urls starts with, or NULL with @why set. */
static const chio__xp_ops *transport_of(const char *urls, char *why, size_t cap)
{
    const char *colon;
    char shown[512];
    size_t i, n;

    if (urls == NULL || urls[0] == '\0') {
        snprintf(why, cap, "no server URL given");
        return NULL;
    }
    colon = strstr(urls, "://");
    n = colon ? (size_t)(colon - urls) : 0;
    for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (n == strlen(transports[i]->scheme) && strncmp(urls, transports[i]->scheme, n) == 0)
            break;
    chio__xp_urls_shown(urls, shown, sizeof(shown));
    if (i == sizeof(transports) / sizeof(transports[0])) {
        snprintf(why, cap, "'%s': the URL must start with nats://", shown);
        return NULL;
    }
    for (n = 1;; n++) {
        const char *end = strchr(urls, ',');
        size_t len = end != NULL ? (size_t)(end - urls) : strlen(urls);
        if (!element_ok(urls, len, transports[i]->scheme)) {
            snprintf(why, cap,
                     "'%s': server %zu of the list is not a %s:// URL with a host and an "
                     "optional port from 1 to 65535",
                     shown, n, transports[i]->scheme);
            return NULL;
        }
        if (end == NULL)
            return transports[i];
        urls = end + 1;
    }
}

int chio__xp_url_ok(const char *urls, char *why, size_t cap)
{
    return transport_of(urls, why, cap) != NULL;
}

int chio__xp_open(const char *urls, const char *stream, int timeout_ms, chio__xp **out, char *why,
                  size_t cap)
{
    const chio__xp_ops *t;

    *out = NULL;
    if (stream == NULL || stream[0] == '\0') {
        snprintf(why, cap, "no stream name given");
        return CHIO__XP_EINVAL;
    }
    t = transport_of(urls, why, cap);
    return t != NULL ? t->open(urls, stream, timeout_ms, out, why, cap) : CHIO__XP_EINVAL;
}

void chio__xp_close(chio__xp *t)
{
    if (t != NULL)
        t->ops->close(t);
}

const char *chio__xp_errmsg(const chio__xp *t)
{
    return t != NULL ? t->err : "";
}

int chio__xp_ensure_stream(chio__xp *t, const char *const *subjects, size_t nsubjects,
                           int *replicas, int *created)
{
    t->err[0] = '\0';
    return t->ops->ensure_stream(t, subjects, nsubjects, replicas, created);
}

int chio__xp_publish(chio__xp *t, const chio__xp_pub *p, uint64_t *position, int *duplicate)
{
    t->err[0] = '\0';
    return t->ops->publish(t, p, position, duplicate);
}

int chio__xp_last(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx)
{
    t->err[0] = '\0';
    return t->ops->last(t, subject, fn, ctx);
}

uint64_t chio__xp_max_payload(chio__xp *t)
{
    return t->ops->max_payload(t);
}

int chio__xp_read(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn, void *ctx)
{
    t->err[0] = '\0';
    return t->ops->read(t, filter, from, fn, ctx);
}

int chio__xp_state_get(chio__xp *t, chio__xp_state *st)
{
    t->err[0] = '\0';
    memset(st, 0, sizeof(*st));
    return t->ops->state(t, st);
}

/* Length of the well-formed UTF-8 character at @s, 0 when it is not one
 * (a NUL ends the string and is no continuation byte). Well-formed as RFC
 * 3629 has it: no overlong form (an ESC or a C1 control spelled in three
 * bytes, which a lenient terminal decodes as the control), no surrogate,
 * nothing past U+10FFFF (review 46: these passed). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    size_t n = 0, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    if (s[0] == 0xe0)
        lo = 0xa0; /* below: overlong */
    else if (s[0] == 0xed)
        hi = 0x9f; /* above: surrogates */
    else if (s[0] == 0xf0)
        lo = 0x90; /* below: overlong */
    else if (s[0] == 0xf4)
        hi = 0x8f; /* above: past U+10FFFF */
    if (n == 0 || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

void chio__xp_shown(char *out, size_t cap, const char *s)
{
    const unsigned char *r;
    size_t o = 0, n;

    for (r = (const unsigned char *)s; *r != '\0' && o + 4 < cap; r += n ? n : 1) {
        n = utf8_len(r);
        if (n == 0 || *r < 0x20 || *r == 0x7f || (*r == 0xc2 && r[1] <= 0x9f)) {
            out[o++] = '?';
        } else {
            memcpy(out + o, r, n);
            o += n;
        }
    }
    out[o] = '\0';
}

uint64_t chio__xp_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void chio__xp_nap_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}
