/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/error.c - result-code names and texts (generated from CHIO_ERRNO_MAP;
 * the reporting classes, chio_errno_reason(), are in kernel/codes.c) and the
 * helpers that fill a caller's chio_error record. Calls nothing above the C
 * library but chio__utf8_repair (core/json_parse.c). No shared state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "internal.h"

const char *chio_strerror(int code)
{
    switch (code) {
    case CHIO_OK:
        return "success";
#define CHIO__ERR_TEXT(name, num, msg) \
    case CHIO_##name:                  \
        return msg;
        CHIO_ERRNO_MAP(CHIO__ERR_TEXT)
#undef CHIO__ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *chio_errno_name(int code)
{
    switch (code) {
    case CHIO_OK:
        return "CHIO_OK";
#define CHIO__ERR_NAME(name, num, msg) \
    case CHIO_##name:                  \
        return "CHIO_" #name;
        CHIO_ERRNO_MAP(CHIO__ERR_NAME)
#undef CHIO__ERR_NAME
    default:
        return "CHIO_EUNKNOWN";
    }
}

/* The deprecated name stays exported for programs linked against it. */
const char *chio_err_name(int code)
{
    return chio_errno_name(code);
}

void chio_error_init(chio_error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->offset = CHIO_NO_OFFSET;
    err->message[0] = '\0';
}

void chio_free(void *ptr)
{
    free(ptr);
}

/*
 * A message may quote the input's text (a schema, a key, a field's value,
 * an id): whoever wrote the input chose it, and hosts log messages and the
 * CLI prints them to a terminal. Every message is made one line of UTF-8
 * without control characters: bytes that are not UTF-8 (a quote cut inside
 * a character among them) and each C0, DEL or C1 character become '?'.
 */
static void message_clean(char *m)
{
    unsigned char *r = (unsigned char *)m, *w = r;

    chio__utf8_repair(m);
    while (*r != '\0') {
        if (*r < 0x20 || *r == 0x7f) {
            *w++ = '?';
            r++;
        } else if (*r == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) { /* C1, U+0080..U+009F */
            *w++ = '?';
            r += 2;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

int chio__vfail(chio_error *err, int code, size_t offset, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->offset = offset;
    if (fmt == NULL || fmt[0] == '\0') {
        snprintf(err->message, sizeof(err->message), "%s", chio_strerror(code));
    } else {
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        message_clean(err->message);
    }
    return code;
}

int chio__fail(chio_error *err, int code, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chio__vfail(err, code, offset, fmt, ap);
    va_end(ap);
    return code;
}

const char *chio_version(void)
{
    return CHIO_VERSION_STRING;
}
