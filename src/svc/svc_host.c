/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_host.c - the Host header rule of svc_host.h: the value split
 * into a name and a port, the name matched against the loopback names,
 * the listen address and the allowed names, and the header counted on a
 * libmicrohttpd connection.
 */
#include "svc_host.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* The longest name part read: a DNS name is at most 253 bytes, an IPv6
 * literal with its brackets 47. */
#define NAME_MAX_LEN 253

void svc_host_rule_init(svc_host_rule *r, const char *listen_host, const char *const *names,
                        size_t nnames)
{
    struct in_addr a4;
    struct in6_addr a6;

    memset(r, 0, sizeof(*r));
    r->names = names;
    r->nnames = nnames;
    if (listen_host == NULL)
        return;
    if (inet_pton(AF_INET, listen_host, &a4) == 1) {
        r->family = AF_INET;
        memcpy(r->addr, &a4, 4);
        r->any_address = a4.s_addr == htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET6, listen_host, &a6) == 1) {
        r->family = AF_INET6;
        memcpy(r->addr, &a6, 16);
        r->any_address = IN6_IS_ADDR_UNSPECIFIED(&a6);
    }
}

/* Split @value into its name (copied to @name) and check the port after
 * it: none, or ':' and 1 to 5 digits. 0 when malformed. */
static int split_host(const char *value, char name[NAME_MAX_LEN + 1])
{
    size_t n, digits;
    const char *port;

    if (value[0] == '[') {
        const char *end = strchr(value, ']');
        if (end == NULL)
            return 0;
        n = (size_t)(end - value) + 1;
    } else {
        n = strcspn(value, ":");
    }
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    port = value + n;
    if (*port == ':') {
        digits = strspn(port + 1, "0123456789");
        if (digits == 0 || digits > 5 || port[1 + digits] != '\0')
            return 0;
    } else if (*port != '\0') {
        return 0;
    }
    memcpy(name, value, n);
    name[n] = '\0';
    return 1;
}

/* 1 when the numeric name @name (an IPv4 address or a bracketed IPv6
 * one) is accepted by @r: loopback, the listen address, or any address
 * under a wildcard listen. -1 when @name is not numeric. */
static int address_ok(const svc_host_rule *r, char *name)
{
    struct in_addr a4;
    struct in6_addr a6;
    size_t n = strlen(name);
    int ok;

    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127 || r->any_address ||
               (r->family == AF_INET && memcmp(r->addr, &a4, 4) == 0);
    if (name[0] != '[' || name[n - 1] != ']')
        return -1;
    name[n - 1] = '\0'; /* the address between the brackets */
    ok = inet_pton(AF_INET6, name + 1, &a6) == 1;
    name[n - 1] = ']';
    if (!ok)
        return 0; /* brackets around no address: no name either */
    return IN6_IS_ADDR_LOOPBACK(&a6) || r->any_address ||
           (r->family == AF_INET6 && memcmp(r->addr, &a6, 16) == 0);
}

int svc_host_value_ok(const svc_host_rule *r, const char *value)
{
    char name[NAME_MAX_LEN + 1];
    size_t i;
    int ok;

    if (value == NULL || !split_host(value, name))
        return 0;
    if ((ok = address_ok(r, name)) >= 0)
        return ok;
    if (strcasecmp(name, "localhost") == 0)
        return 1;
    for (i = 0; i < r->nnames; i++)
        if (strcasecmp(name, r->names[i]) == 0)
            return 1;
    return 0;
}

/* The Host headers of a request: how many, and the first one's value. */
typedef struct host_seen {
    unsigned n;
    const char *value;
} host_seen;

/* MHD_get_connection_values callback: counts the Host headers. */
static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    host_seen *h = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0 && h->n++ == 0)
        h->value = value;
    return MHD_YES;
}

svc_host_verdict svc_host_check(const svc_host_rule *r, struct MHD_Connection *c,
                                const char *version)
{
    host_seen h = {0, NULL};

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &h);
    if (h.n > 1)
        return SVC_HOST_DUPLICATE;
    if (h.n == 0)
        return version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? SVC_HOST_OK
                                                                             : SVC_HOST_MISSING;
    return svc_host_value_ok(r, h.value != NULL ? h.value : "") ? SVC_HOST_OK : SVC_HOST_REFUSED;
}

int svc_host_name_valid(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n <= NAME_MAX_LEN &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}
