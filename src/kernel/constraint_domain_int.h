/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_domain_int.h - what the domain_exact and domain_glob
 * constraints' walk of the arguments (constraint_domain.c) and their URL
 * readings (constraint_domain_url.c) share: the scan state of one check,
 * the comparison of a host with the constraint and the reading of one
 * leaf as a URL or host. Private to those two files.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_DOMAIN_INT_H
#define CHIO_KERNEL_CONSTRAINT_DOMAIN_INT_H

#include <stddef.h>

#include "constraint_domain.h"
#include "normalize.h"

/* Layers of percent-encoding looked through for a URL a tool decodes. */
#define URL_DECODE_MAX 4

typedef struct domain_scan {
    chio_kernel *k;
    const chio__constraint *c;
    char want[CHIO__HOST_MAX];
    int seen, bad;
    int depth;    /* layers of percent-decoding of the value being read */
    int shell;    /* reading a value's shell form (chio__shell_unquote) */
    int embedded; /* layers of JSON-in-a-string above the leaf being read */
    int json;     /* the leaf being read is JSON text (review 23 hostfix M1) */
    /* the call's names held as an argument or defined (an alias, a
     * function, a link), CHIO__PROG_* bits, and CHIO__SEGS_CONNECTS when
     * some leaf could run ssh, git, curl or wget: every leaf is read with
     * them (review 24 hosts H3, M1) */
    int call_extra;
    char *reason;
    size_t cap;
} domain_scan;

/* constraint_domain_url.c: 1 when @host is allowed by the constraint of
 * @ds; else 0 with the reason (quoting @s, @n bytes). */
int chio__domain_host_allowed(domain_scan *ds, const char *s, size_t n, const char *host);

/* constraint_domain_url.c: the string leaf @s (@n bytes) under @key read
 * as a URL or host and held to the constraint of @ctx (a domain_scan): 0
 * when it holds or is no URL or host, 1 when it is denied (ds->bad and
 * the reason set). Sets ds->seen when the leaf names a URL or host. */
int chio__domain_scan(void *ctx, chio__key *key, const char *s, size_t n);

#endif /* CHIO_KERNEL_CONSTRAINT_DOMAIN_INT_H */
