/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_size.c - the size constraints of a tool grant (check
 * 6; see constraint_size.h), called by constraints.c:
 *   max_length    every string leaf and object key has at most N bytes
 *                 (numbers are not bounded, as in chio: the tool gets a
 *                 number's canonical text, at most 24 bytes);
 *   max_args_size the canonical JSON of the arguments (what the tool
 *                 gets) has at most N bytes, and so has their serde_json
 *                 text, the length chio's kernel bounds, where a float
 *                 with an integral value keeps its ".0" ("1.0" is "1"
 *                 canonical) and "-0" is "-0.0" (review 47); a float
 *                 zero counts as "-0.0", its sign not being kept.
 * No state, no locks, no allocation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "constraint_size.h"
#include "guard_scan.h"

/* Object keys count: a tool that takes a map creates its keys. */
static int scan_length(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    (void)key;
    (void)s;
    (void)is_key;
    return n > *(const uint64_t *)ctx;
}

/* How many bytes serde_json (chio's reader and writer: the arguments'
 * to_string(), whose length chio's max_args_size bounds) writes for the
 * number whose canonical text is @t (@n bytes, RFC 8785 / ECMAScript
 * form): ryu's shortest digits, an integral value below 1e16 with ".0"
 * ("1.0", "0.0"), a decimal point within 16 digits of it ("12.5",
 * "0.00012"), else "1e16" or "1.5e-7". */
static size_t serde_number_len(const char *t, size_t n)
{
    char d[32];
    size_t len = 0, i, lead, sign = n > 0 && t[0] == '-', ex;
    int e = 0, frac = 0, dot = 0, kk, x;

    for (i = sign; i < n && t[i] != 'e'; i++) {
        if (t[i] == '.')
            dot = 1;
        else if (len < sizeof(d)) {
            d[len++] = t[i];
            frac += dot;
        }
    }
    if (i < n)
        e = atoi(t + i + 1); /* "e+21", "e-7" */
    e -= frac;
    for (lead = 0; lead < len && d[lead] == '0'; lead++)
        ;
    while (len > lead && d[len - 1] == '0') {
        len--;
        e++;
    }
    len -= lead;
    if (len == 0)
        return sign + 3; /* "0.0" */
    kk = (int)len + e;
    if (e >= 0 && kk <= 16)
        return sign + (size_t)kk + 2;
    if (kk > 0 && kk <= 16)
        return sign + len + 1;
    if (kk > -5 && kk <= 0)
        return sign + 2 + (size_t)-kk + len;
    x = kk - 1;
    for (ex = x < 0 ? 2 : 1, x = x < 0 ? -x : x; x >= 10; x /= 10)
        ex++;
    return sign + (len == 1 ? 1 : len + 1) + 1 + ex;
}

/* The bytes serde_json writes for the numbers under @v beyond those the
 * canonical JSON writes for them ("1.0" is "1" canonical: 2 more; "-0",
 * a float -0.0 to serde_json, is "0": 3 more); numbers it writes shorter
 * count nothing. */
static uint64_t serde_excess(const chio_json *v)
{
    char num[32];
    uint64_t sum = 0, u;
    size_t i, n, ours, theirs;
    int64_t s;
    double d;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_INT:
        /* "-0": the unsigned reader refuses it (CHIO_ERANGE) */
        return chio_json_get_int64(v, &s) == 0 && s == 0 &&
                       chio_json_get_uint64(v, &u) == CHIO_ERANGE
                   ? 3
                   : 0;
    case CHIO_JSON_DOUBLE:
        ours = chio__number_text(v, num);
        theirs = serde_number_len(num, ours);
        /* A float zero may have been "-0.0" (or "-1e-400"), which
         * serde_json writes "-0.0"; the reader keeps no sign of a float
         * zero (core/json_parse.c), so the longer text counts: a bound
         * at "0.0" exactly denies, never one past "-0.0" (review 47). */
        if (chio_json_get_double(v, &d) == 0 && d == 0.0)
            theirs = 4;
        return theirs > ours ? theirs - ours : 0;
    case CHIO_JSON_ARRAY:
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++)
            sum += serde_excess(chio_json_at(v, i));
        return sum;
    default:
        return 0;
    }
}

/* max_args_size: the canonical JSON of the arguments (what the tool
 * gets), and the arguments as chio's kernel measures them (serde_json's
 * to_string(): "1.0" where the canonical form writes "1"), are at most N
 * bytes each: {"a":1.0} is 9 bytes to chio, 7 canonical, so a bound of 8
 * denies it, as chio does (review 47). */
static int args_size_holds(const chio__constraint *c, const chio_json *args,
                           size_t args_canonical_len, char *reason, size_t cap)
{
    uint64_t as_chio;

    if (args_canonical_len > c->num) {
        snprintf(reason, cap, "arguments are %zu bytes; max_args_size is %llu", args_canonical_len,
                 (unsigned long long)c->num);
        return 0;
    }
    as_chio = (uint64_t)args_canonical_len + serde_excess(args);
    if (as_chio > c->num) {
        snprintf(reason, cap,
                 "arguments are %llu bytes as chio writes them (numbers such as 1.0 keep their "
                 "\".0\"; %zu canonical); max_args_size is %llu",
                 (unsigned long long)as_chio, args_canonical_len, (unsigned long long)c->num);
        return 0;
    }
    return 1;
}

int chio__size_holds(const chio__constraint *c, const chio_json *args, size_t args_canonical_len,
                     char *reason, size_t cap)
{
    if (c->kind == CHIO__CONSTRAINT_MAX_ARGS_SIZE)
        return args_size_holds(c, args, args_canonical_len, reason, cap);
    if (chio__each_text(args, 0, scan_length, (void *)&c->num)) {
        snprintf(reason, cap, "a string argument or object key is longer than max_length %llu",
                 (unsigned long long)c->num);
        return 0;
    }
    return 1;
}
