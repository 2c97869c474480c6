/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/line_id.c - the gateway request a line of the server's names when
 * the line is no JSON the gateway reads (messages.c's unreadable and
 * unsent lines): the "chio-N" of its top-level "id" member, found by the
 * line's structure alone, so that the request it may have answered fails
 * instead of waiting for good.
 */
#include <string.h>

#include "mcp_internal.h"

/* @p past JSON whitespace (@end at most). */
static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The N of @p's "chio-N" string value (the quote first), or 0. */
static unsigned long long chio_id_at(const char *p, const char *end)
{
    unsigned long long n;

    if (end - p < 7 || memcmp(p, "\"chio-", 6) != 0 || p[6] < '0' || p[6] > '9')
        return 0;
    for (n = 0, p += 6; p < end && *p >= '0' && *p <= '9' && n < 100000000000000000ull; p++)
        n = n * 10 + (unsigned long long)(*p - '0');
    return p < end && *p == '"' ? n : 0;
}

/* The N of the line's own "id":"chio-N": the "id" member of the top-level
 * object, found by the line's structure (strings and their escapes
 * skipped, brackets counted), as an answer names its request; 0 when that
 * member is missing or names no request of the gateway's. An "id" key
 * nested in the answer's result (structuredContent, say) names nothing:
 * the MCP TypeScript SDK writes {"result":...,"jsonrpc":"2.0","id":...},
 * and the first "id" in the line failed another call in flight (its real
 * answer then dropped) while the one this line answers waited for good. */
unsigned long long chio__mcp_line_id(const char *line, size_t len)
{
    const char *end = line + len, *p = line;
    int depth = 0;

    while (p < end) {
        const char *s;
        if (*p == '{' || *p == '[') {
            depth++;
            p++;
            continue;
        }
        if (*p == '}' || *p == ']') {
            depth--;
            p++;
            continue;
        }
        if (*p != '"') {
            p++;
            continue;
        }
        s = ++p;
        while (p < end && *p != '"')
            p += *p == '\\' && p + 1 < end ? 2 : 1;
        if (p >= end)
            return 0;
        p++;
        if (depth == 1 && p - s == 3 && memcmp(s, "id", 2) == 0) {
            const char *v = skip_space(p, end);
            if (v < end && *v == ':')
                return chio_id_at(skip_space(v + 1, end), end);
        }
    }
    return 0;
}
