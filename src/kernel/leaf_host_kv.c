/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host_kv.c - the KEY VALUE readings of a leaf's words for
 * the domain constraints (chio__leaf_field_hosts in leaf_host.c walks the
 * words and hands each here): a word that names a host key takes a later
 * word as its value, in the spellings ssh's -o, git's and npm's config,
 * curl's config text (-K), wget's -e and the shell take (review 22 hosts
 * M1, H2, H3, H4, H6):
 *   - after ssh's "-o" (also glued: "-oProxyJump evil.com") and git's,
 *     npm's, yarn's, pnpm's or pip's "config"/"set" (their options and
 *     "--" skipped), only in a command segment that could run such a
 *     program (st->programs, leaf_host_prog.c): "gcc -o server
 *     server.c" names no host;
 *   - in a segment that could run curl or wget (config text: curl -K,
 *     wget -e), a host key followed by "=" or a word opening with '=' or
 *     '"', or ending in ':' ("proxy = H", "proxy: H", "proxy \"H\""),
 *     and with ssh too one ending in '=' ("ProxyJump= H"); elsewhere
 *     "grep 'server =' settings.py" names no host;
 *   - anywhere, "read KEY <<< VALUE", "printf -v KEY VALUE",
 *     "KEY+=VALUE", "--execute=KEY=VALUE";
 *   - a key whose value is a command line (ssh's ProxyCommand, git's
 *     core.gitProxy and core.sshCommand): each word after it, up to a
 *     control operator, is read as a host option's value;
 *   - git's "--config-env=KEY=VAR" and "GIT_CONFIG_KEY_n=KEY" whose KEY
 *     names a host: the value is elsewhere, so the word is handed on as
 *     a host that cannot be read (denied).
 * Review 23 hostfix H2, H3, M1: curl's socks/connect-to/resolve and
 * ssh's forwarding keys, "printf -vKEY", "--" before a value, "read KEY"
 * fed from elsewhere (denied), brace-expanded names, git config
 * --comment, GIT_CONFIG_PARAMETERS, ssh's -L/-R/-W; config text ("KEY
 * VALUE" lines too) in a leaf that writes to a file or pipe
 * (chio__kv_text, leaf_host_kv_text.c); no config text in grep/sed/awk words nor in curl's
 * -H/-d/-F or git's -m values.
 * The state lives in the caller's chio__kv; no other state.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"

enum {
    KV_NONE,    /* no KEY VALUE reading pending */
    KV_KEY,     /* the next word is a key ("-o", "printf -v") */
    KV_CONFIG,  /* after config/set: options skipped, then the key */
    KV_SKIP,    /* the value of config's -f/--file/--blob/--type */
    KV_VALUE,   /* a host key was read: the next word is its value */
    KV_COMMAND, /* a command key's value: every word to a control operator */
};

void chio__kv_init(chio__kv *st, int programs)
{
    memset(st, 0, sizeof(*st));
    st->programs = programs;
    st->at_cmd = 1;
}

/* A "read KEY" (mapfile, readarray) whose KEY names a host and that took
 * no "<<<" word: its value comes from elsewhere (a pipe, "< <(..)"), a
 * host that cannot be read (review 23 hostfix H2). */
static int read_done(chio__kv *st, chio__leaf_host_fn each, void *ctx)
{
    int pending = st->reading == 2;

    st->reading = 0;
    return pending ? each(ctx, st->read_name, st->read_len) : 0;
}

int chio__kv_end(chio__kv *st, chio__leaf_host_fn each, void *ctx)
{
    return read_done(st, each, ctx);
}

/* ---- words ---------------------------------------------------------------------------------- */

static int is_word(const char *s, size_t a, size_t b, const char *w)
{
    return b - a == strlen(w) && memcmp(s + a, w, b - a) == 0;
}

static int starts(const char *s, size_t a, size_t b, const char *w)
{
    return b - a >= strlen(w) && strncasecmp(s + a, w, strlen(w)) == 0;
}

/* Is [a, b) a key whose value is a command line ssh or git runs to reach
 * the host: ProxyCommand, core.gitProxy, core.sshCommand (its last dotted
 * part, in any case)? */
static int command_key(const char *s, size_t a, size_t b)
{
    static const char *const keys[] = {"proxycommand", "gitproxy", "sshcommand", NULL};
    const char *dot = a < b ? memrchr(s + a, '.', b - a) : NULL;
    size_t i;

    if (dot != NULL)
        a = (size_t)(dot - s) + 1;
    for (i = 0; keys[i] != NULL; i++)
        if (b - a == strlen(keys[i]) && strncasecmp(s + a, keys[i], b - a) == 0)
            return 1;
    return 0;
}

/* Does [a, b) name a host as a key: whole (chio__leaf_host_key), or, with
 * @dotted (a git config key), by its last dotted part ("http.<url>.proxy",
 * "remote.origin.proxy"), or a command key? */
static int names_host_one(const char *s, size_t a, size_t b, int dotted);

/* curl's config names of its host options and ssh's forwarding keys,
 * which chio__leaf_host_key does not know (review 23 hostfix H2):
 * "socks5 = H", "-o 'LocalForward 8080 evil.com:80'". */
static const char *const more_keys[] = {
    "socks4",       "socks4a",       "socks5",    "socks5-hostname", "connect-to", "resolve",
    "localforward", "remoteforward", "proxyjump", "preproxy",        NULL};

static int forward_key(const char *s, size_t a, size_t b)
{
    return (b - a == 12 && strncasecmp(s + a, "localforward", 12) == 0) ||
           (b - a == 13 && strncasecmp(s + a, "remoteforward", 13) == 0);
}

/* A name with a brace expansion ("{http,https}_proxy"): each spelling of
 * its first group, read as a name. */
static int names_host_braced(const char *s, size_t a, size_t b, int dotted)
{
    const char *open = memchr(s + a, '{', b - a), *close;
    char buf[64];
    size_t o, c, x, y, len;

    if (open == NULL || (close = memchr(open, '}', (size_t)(s + b - open))) == NULL)
        return 0;
    o = (size_t)(open - s);
    c = (size_t)(close - s);
    for (x = o + 1; x <= c; x = y + 1) {
        for (y = x; y < c && s[y] != ','; y++)
            ;
        len = (o - a) + (y - x) + (b - c - 1);
        if (len >= sizeof(buf))
            return 1; /* too long to spell out: fail closed */
        memcpy(buf, s + a, o - a);
        memcpy(buf + (o - a), s + x, y - x);
        memcpy(buf + (o - a) + (y - x), s + c + 1, b - c - 1);
        if (names_host_one(buf, 0, len, dotted))
            return 1;
    }
    return 0;
}

static int names_host_one(const char *s, size_t a, size_t b, int dotted)
{
    const char *dot = a < b ? memrchr(s + a, '.', b - a) : NULL;
    size_t i;

    if (a >= b)
        return 0;
    for (i = 0; more_keys[i] != NULL; i++)
        if (b - a == strlen(more_keys[i]) && strncasecmp(s + a, more_keys[i], b - a) == 0)
            return 1;
    return chio__leaf_host_key(s + a, b - a) || command_key(s, a, b) ||
           (dotted && dot != NULL && chio__leaf_host_key(dot + 1, (size_t)(s + b - dot - 1)));
}

static int names_host(const char *s, size_t a, size_t b, int dotted)
{
    return names_host_one(s, a, b, dotted) || (a < b && names_host_braced(s, a, b, dotted));
}

/* A control operator word, or the count of such bytes ending the word
 * ("evil.com;"). */
static size_t control_tail(const char *s, size_t a, size_t b)
{
    size_t k = 0;

    while (b - k > a && strchr(";|&", s[b - k - 1]) != NULL)
        k++;
    return k;
}

/* The value [a, b) of a host key: read as a host option's value (a
 * trailing '\' dropped); one
 * holding '%' (a printf format: "printf 'proxy = %s\n' H") has its value
 * elsewhere and is handed on whole, a host that cannot be read. */
static int read_value(const char *s, size_t a, size_t b, int command, chio__leaf_host_fn each,
                      void *ctx)
{
    while (b > a && s[b - 1] == '\\') /* "nc\ evil.com\ 22": escaped blanks */
        b--;
    if (a >= b)
        return 0;
    if (!command && memchr(s + a, '%', b - a) != NULL)
        return each(ctx, s + a, b - a);
    return chio__leaf_value_hosts(s + a, b - a, each, ctx);
}

/* A forwarding's value ("8080:evil.com:80", "evil.com:80", "-W
 * evil.com:22"): each ':'-field that is no port is read as a host
 * option's value; a bracketed one ("[::1]:80") is read whole; ssh's
 * tokens ("%h:%p") name no host. */
static int forward_value(const char *s, size_t a, size_t b, chio__leaf_host_fn each, void *ctx)
{
    size_t x, y, k;
    int rc;

    if (memchr(s + a, '[', b - a) != NULL)
        return read_value(s, a, b, 1, each, ctx);
    for (x = a; x < b; x = y + 1) {
        for (y = x; y < b && s[y] != ':'; y++)
            ;
        for (k = x; k < y && isdigit((unsigned char)s[k]); k++)
            ;
        if (k < y && s[x] != '/' && (rc = read_value(s, x, y, 1, each, ctx)) != 0)
            return rc;
    }
    return 0;
}

/* A key [a, b) in a key's place (after "-o", "printf -v", config's
 * options): a value follows when it names a host. A trailing '\' (the
 * escaped blank of "-oProxyJump\ evil.com") or ':' is no part of it. */
static void key_at(chio__kv *st, const char *s, size_t a, size_t b, int dotted)
{
    while (b > a && (s[b - 1] == '\\' || s[b - 1] == ':'))
        b--;
    st->mode = KV_NONE;
    if (memchr(s + a, '=', b - a) == NULL && names_host(s, a, b, dotted)) {
        st->mode = KV_VALUE;
        st->command = command_key(s, a, b);
        st->forward = forward_key(s, a, b) ? 2 : 0;
    }
}

/* git's "--config-env=KEY=VAR", "GIT_CONFIG_KEY_n=KEY": 1 when the word
 * names a host key whose value is elsewhere. */
static int config_elsewhere(const char *s, size_t a, size_t b)
{
    const char *eq;

    if (starts(s, a, b, "--config-env=")) {
        a += strlen("--config-env=");
        eq = memchr(s + a, '=', b - a);
        return names_host(s, a, eq != NULL ? (size_t)(eq - s) : b, 1);
    }
    if (starts(s, a, b, "GIT_CONFIG_KEY_") && (eq = memchr(s + a, '=', b - a)) != NULL)
        return names_host(s, (size_t)(eq - s) + 1, b, 1);
    return 0;
}

/* The assignment spellings of the word [a, b): "KEY+=VALUE",
 * "--execute=KEY=VALUE" (read here), "KEY=" (its value is the next
 * word), and a command key's "KEY=VALUE" (its value runs on). */
static int assignment(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                      void *ctx)
{
    const char *eq;
    size_t k;

    if (starts(s, a, b, "--execute="))
        a += strlen("--execute=");
    if ((eq = memchr(s + a, '=', b - a)) == NULL)
        return 0;
    k = (size_t)(eq - s);
    if (k > a && s[k - 1] == '+')
        k--;
    if (!names_host(s, a, k, 0) || (k - a == 8 && strncasecmp(s + a, "no_proxy", 8) == 0))
        return 0; /* NO_PROXY's list: read whole in leaf_host.c */
    st->command = command_key(s, a, k);
    if (eq + 1 == s + b) { /* "ProxyJump= evil.com" in ssh's or curl's words */
        if (st->programs & (CHIO__PROG_SSH | CHIO__PROG_FETCH))
            st->mode = KV_VALUE;
        return 0;
    }
    if (st->command)
        st->mode = KV_COMMAND;
    return read_value(s, (size_t)(eq - s) + 1, b, st->command, each, ctx);
}

/* A word of a command key's value ("nc evil.com 22", "ssh -W %h:%p
 * evil.com"): read as a host option's value, but for option words (the
 * leaf's host options are read as everywhere) and the file or name after
 * ssh's or nc's -i, -F, -E, -S, -l, -c, -m, -p, -P ("ssh -i key.pem"). */
static int command_word(chio__kv *st, const char *s, size_t a, size_t e, chio__leaf_host_fn each,
                        void *ctx)
{
    static const char *const skip[] = {"-i", "-F", "-E", "-S", "-l", "-c", "-m", "-p", "-P", NULL};
    size_t i;

    if (st->skip_next) {
        st->skip_next = 0;
        return 0;
    }
    if (s[a] == '-') {
        for (i = 0; skip[i] != NULL; i++)
            if (is_word(s, a, e, skip[i]))
                st->skip_next = 1;
        return 0;
    }
    return read_value(s, a, e, 1, each, ctx);
}

/* ---- review 23 hostfix H2, H3 ------------------------------------------------------------ */

/* Is config text read in this call: curl's or wget's (-K, -e), or text the
 * call writes to a file or pipe (chio__kv_text), but not in a grep, sed or
 * awk command's words nor the value of curl's -H/-d/-F or git's -m
 * (st->quiet; review 23 hostfix M1)? */
static int config_armed(const chio__kv *st)
{
    return !st->quiet && ((st->programs & CHIO__PROG_FETCH) != 0 || st->written);
}

/* [a, e) after its last printf or echo escape "\n" ("'[http]\nproxy"). */
static size_t after_newline(const char *s, size_t a, size_t e)
{
    size_t k;

    for (k = e; k > a + 1; k--)
        if (s[k - 2] == '\\' && s[k - 1] == 'n')
            return k;
    return a;
}

/* Does the word at @a open a line: only blanks between it and a newline
 * (or a "\n" escape) or the start of the text? */
static int line_start(const char *s, size_t a)
{
    while (a > 0 && (s[a - 1] == ' ' || s[a - 1] == '\t'))
        a--;
    return a == 0 || s[a - 1] == '\n' || s[a - 1] == '\r' ||
           (a >= 2 && s[a - 2] == '\\' && s[a - 1] == 'n');
}

/* The rest [a, e) of a value's word after a printf escape ("on\nhttp_proxy"):
 * a host key there opens the next line of config text. */
static void next_line_key(chio__kv *st, const char *s, size_t a, size_t e)
{
    while (e > a && (s[e - 1] == '"' || s[e - 1] == '\''))
        e--;
    a = after_newline(s, a, e);
    st->prev_key = !st->quiet && names_host(s, a, e, 0);
    st->command = command_key(s, a, e);
    if (st->prev_key && st->written)
        key_at(st, s, a, e, 0);
}

/* The word's name after its last '/' is @w? */
static int named(const char *s, size_t a, size_t e, const char *w)
{
    const char *slash = a < e ? memrchr(s + a, '/', e - a) : NULL;

    return is_word(s, slash != NULL ? (size_t)(slash - s) + 1 : a, e, w);
}

/* GIT_CONFIG_PARAMETERS's "'KEY'='VALUE'" (or "'KEY=VALUE'") pairs in
 * [a, e): the value of each KEY that names a host is read. */
static int config_parameters(const char *s, size_t a, size_t e, chio__leaf_host_fn each, void *ctx)
{
    size_t i, ka, kb, va, vb;
    int rc;

    for (i = a; i < e; i++) {
        if (s[i] != '=')
            continue;
        kb = i;
        while (kb > a && (s[kb - 1] == '\'' || s[kb - 1] == '"' || s[kb - 1] == '\\'))
            kb--;
        for (ka = kb; ka > a && (isalnum((unsigned char)s[ka - 1]) || strchr("._-", s[ka - 1]));
             ka--)
            ;
        if (!names_host(s, ka, kb, 1))
            continue;
        for (va = i + 1; va < e && (s[va] == '\'' || s[va] == '"' || s[va] == '\\'); va++)
            ;
        for (vb = va; vb < e && s[vb] != '\'' && s[vb] != '"' && s[vb] != '\\'; vb++)
            ;
        if (vb == va)
            return each(ctx, s + a, e - a); /* the value is elsewhere */
        if ((rc = read_value(s, va, vb, 0, each, ctx)) != 0)
            return rc;
        i = vb;
    }
    return 0;
}

/* The readings review 23 hostfix H2 adds, for the word [a, e): *@done
 * when the word is taken. "read"/"mapfile"/"readarray" whose name is a
 * host key, "printf -vKEY", GIT_CONFIG_PARAMETERS, ssh's -L/-R/-W. */
static int more_word(chio__kv *st, const char *s, size_t a, size_t e, int printf_vg,
                     chio__leaf_host_fn each, void *ctx, int *done)
{
    size_t k;

    *done = 0;
    if (st->cmd &&
        (named(s, a, e, "read") || named(s, a, e, "mapfile") || named(s, a, e, "readarray"))) {
        st->reading = 1;
        *done = 1;
        return 0;
    }
    if (st->reading != 0) {
        if (starts(s, a, e, "<<<"))
            st->reading = 3; /* read as "read KEY <<< VALUE" below */
        else if (s[a] != '-' && s[a] != '<' && st->reading != 3) {
            for (k = a; k < e && (s[k] == '\'' || s[k] == '"'); k++)
                ;
            if (names_host(s, k, e, 0)) {
                st->reading = 2;
                st->read_name = s + a;
                st->read_len = e - a;
            }
        }
    }
    if (printf_vg) { /* "printf -vhttp_proxy H" */
        key_at(st, s, a + 2, e, 0);
        *done = 1;
        return 0;
    }
    if (st->gcp || starts(s, a, e, "GIT_CONFIG_PARAMETERS=")) {
        size_t quotes = 0, i;

        k = st->gcp ? a : a + strlen("GIT_CONFIG_PARAMETERS=");
        /* a double-quoted value may run over blanks to its closing quote */
        for (i = k; i < e; i++)
            quotes += s[i] == '"';
        if (quotes % 2 == 1)
            st->gcp = !st->gcp;
        *done = 1;
        return config_parameters(s, k, e, each, ctx);
    }
    if ((st->programs & CHIO__PROG_SSH) && e - a >= 2 && s[a] == '-' &&
        (s[a + 1] == 'L' || s[a + 1] == 'R' || s[a + 1] == 'W')) {
        if (e - a == 2) {
            st->mode = KV_VALUE;
            st->forward = 1;
            st->command = 0;
        } else if (is_word(s, a, a + 2, "-L") || is_word(s, a, a + 2, "-R") ||
                   is_word(s, a, a + 2, "-W")) {
            *done = 1;
            return s[a + 2] == '-' ? 0 : forward_value(s, a + 2, e, each, ctx);
        }
        *done = 1;
    }
    return 0;
}

/* ---- one word ------------------------------------------------------------------------------- */

static int kv_word(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                   void *ctx)
{
    int mode = st->mode, prev_key = st->prev_key, first = st->words++ == 0, printf_v, printf_vg;
    int rc = 0, done = 0;
    size_t tail = control_tail(s, a, b), e = b - tail, va, k;
    const char *slash;

    st->prev_key = 0;
    printf_v = st->prev_printf && is_word(s, a, b, "-v");
    printf_vg = st->prev_printf && e - a > 2 && s[a] == '-' && s[a + 1] == 'v';
    slash = a < b ? memrchr(s + a, '/', b - a) : NULL;
    st->prev_printf = is_word(s, slash != NULL ? (size_t)(slash - s) + 1 : a, b, "printf");
    if (e == a) { /* ";", "&&", "|": a new command */
        st->mode = KV_NONE;
        return 0;
    }
    switch (mode) {
    case KV_COMMAND:
        return command_word(st, s, a, e, each, ctx);
    case KV_VALUE:
        if (is_word(s, a, e, "=") || is_word(s, a, e, ":") || is_word(s, a, e, "<<<") ||
            is_word(s, a, e, "--")) /* "printf -v http_proxy -- H" */
            return 0;
        va = a + (s[a] == '=' ? 1 : starts(s, a, e, "<<<") ? 3 : 0);
        while (va < e && (s[va] == '"' || s[va] == '\''))
            va++;
        while (e > va && (s[e - 1] == '"' || s[e - 1] == '\''))
            e--;
        for (k = va; k + 1 < e; k++) /* "evil.com\n'": a printf escape ends it */
            if (s[k] == '\\' && (s[k + 1] == 'n' || s[k + 1] == 'r' || s[k + 1] == 't'))
                e = k;
        if (va >= e)
            return 0;
        if (st->forward > 0) { /* "LocalForward 8080 evil.com:80" */
            st->mode = --st->forward > 0 && tail == 0 ? KV_VALUE : KV_NONE;
            return forward_value(s, va, e, each, ctx);
        }
        st->mode = st->command ? KV_COMMAND : KV_NONE;
        rc = read_value(s, va, e, st->command, each, ctx);
        if (tail > 0)
            st->mode = KV_NONE;
        if (rc == 0 && st->mode == KV_NONE && e < b - tail)
            next_line_key(st, s, e, b - tail); /* "on\nhttp_proxy = H" */
        return rc;
    case KV_SKIP:
        st->mode = KV_CONFIG;
        return 0;
    case KV_CONFIG:
        if (is_word(s, a, e, "--") || is_word(s, a, e, "set"))
            return 0;
        if (s[a] == '-') {
            if (is_word(s, a, e, "-f") || is_word(s, a, e, "--file") ||
                is_word(s, a, e, "--blob") || is_word(s, a, e, "--type") ||
                is_word(s, a, e, "--comment") || is_word(s, a, e, "--default"))
                st->mode = KV_SKIP;
            return 0;
        }
        key_at(st, s, a, e, 1);
        return 0;
    case KV_KEY:
        if (memchr(s + a, '=', e - a) == NULL) {
            key_at(st, s, a, e, 0);
            return 0;
        }
        st->mode = KV_NONE;
        break;
    default:
        break;
    }
    if ((rc = more_word(st, s, a, e, printf_vg, each, ctx, &done)) != 0 || done)
        return rc;
    /* "proxy = H", "proxy =H", "proxy \"H\"", "read http_proxy <<< H" */
    if (prev_key) {
        int config_text = config_armed(st);
        if ((config_text && is_word(s, a, e, "=")) || is_word(s, a, e, "<<<")) {
            st->mode = KV_VALUE;
            return 0;
        }
        if ((config_text && (s[a] == '=' || s[a] == '"')) || starts(s, a, e, "<<<")) {
            st->mode = KV_VALUE;
            return kv_word(st, s, a, b, each, ctx);
        }
    }
    if ((st->programs & CHIO__PROG_SSH) && is_word(s, a, e, "-o")) {
        st->mode = KV_KEY;
        return 0;
    }
    if (printf_v) {
        st->mode = KV_KEY;
        return 0;
    }
    if ((st->programs & CHIO__PROG_CONFIG) &&
        (is_word(s, a, e, "config") || is_word(s, a, e, "set"))) {
        st->mode = KV_CONFIG;
        return 0;
    }
    if ((st->programs & CHIO__PROG_SSH) && e - a > 2 && s[a] == '-' && s[a + 1] == 'o' &&
        memchr(s + a, '=', e - a) == NULL) {
        key_at(st, s, a + 2, e, 0); /* "-oProxyJump evil.com" */
        return 0;
    }
    if (config_elsewhere(s, a, e))
        return each(ctx, s + a, e - a);
    if (memchr(s + a, '=', e - a) != NULL)
        return assignment(st, s, a, e, each, ctx);
    /* the first word of an argv element in ssh's call ("ProxyJump
     * evil.com" after "-o"), or a host key ending in ':' ("proxy: H") */
    if (first && (st->programs & CHIO__PROG_SSH)) {
        key_at(st, s, a, e, 0);
        if (st->mode != KV_NONE)
            return 0;
    }
    if (config_armed(st) && e - a > 1 && s[e - 1] == ':' && names_host(s, a, e - 1, 0)) {
        key_at(st, s, a, e, 0);
        return 0;
    }
    /* a host key word, also opening a quoted text ("echo 'proxy \"H\"'"),
     * or after a printf escape ("'[http]\nproxy = H") */
    va = a;
    while (a < e && (s[a] == '\'' || s[a] == '"'))
        a++;
    a = after_newline(s, a, e);
    st->prev_key = !st->quiet && names_host(s, a, e, 0);
    st->command = command_key(s, a, e);
    /* review 23 hostfix H3: a config file's "KEY VALUE" line in text the
     * call writes ("Host *\n  ProxyJump evil.com" into ssh -F's file) */
    if (st->prev_key && st->written && (a > va || line_start(s, va)))
        key_at(st, s, a, e, 0);
    return 0;
}

/* A word ending in a control operator ("-e;", "x&&") ends the command:
 * no reading runs on past it ("git pull; set -e; host db.internal"). */
int chio__kv_word(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                  void *ctx)
{
    static const char *const quiet_cmds[] = {"grep", "egrep", "fgrep", "rg", "sed",
                                             "awk",  "gawk",  "mawk",  NULL};
    static const char *const quiet_opts[] = {"-H",
                                             "--header",
                                             "-d",
                                             "--data",
                                             "--data-raw",
                                             "--data-binary",
                                             "--data-urlencode",
                                             "--data-ascii",
                                             "--json",
                                             "-F",
                                             "--form",
                                             "-m",
                                             "--message",
                                             "-A",
                                             "--user-agent",
                                             NULL};
    size_t tail = control_tail(s, a, b), e = b - tail, i, q;
    int rc, end;

    /* review 23 hostfix M1: the words of a grep, sed or awk command, and
     * the value of curl's -H, -d, -F or git's -m (to its closing quote),
     * are no config text */
    st->cmd = st->at_cmd;
    if (st->cmd)
        for (i = 0; quiet_cmds[i] != NULL; i++)
            if (named(s, a, e, quiet_cmds[i]))
                st->quiet_cmd = 1;
    if (st->quiet_next && e > a && (s[a] == '\'' || s[a] == '"')) {
        for (q = 0, i = a; i < e; i++)
            q += s[i] == s[a];
        if (q % 2 == 1)
            st->quiet_quote = s[a];
    } else if (st->quiet_quote && memchr(s + a, st->quiet_quote, e - a) != NULL) {
        st->quiet_next = 1; /* this word, the last of the quoted value */
        st->quiet_quote = 0;
    }
    st->quiet = st->quiet_cmd || st->quiet_next || st->quiet_quote;
    st->quiet_next = 0;
    rc = kv_word(st, s, a, b, each, ctx);
    for (i = 0; quiet_opts[i] != NULL; i++)
        if (is_word(s, a, e, quiet_opts[i]))
            st->quiet_next = 1;
    end = tail > 0 || e == a;
    st->at_cmd =
        end ||
        (st->cmd && ((memchr(s + a, '=', e - a) != NULL && s[a] != '-') || is_word(s, a, e, "{") ||
                     is_word(s, a, e, "(") || is_word(s, a, e, "!") || named(s, a, e, "sudo") ||
                     named(s, a, e, "env") || named(s, a, e, "command") ||
                     named(s, a, e, "builtin") || named(s, a, e, "exec"))) ||
        is_word(s, a, e, "then") || is_word(s, a, e, "do") || is_word(s, a, e, "while") ||
        is_word(s, a, e, "until") || is_word(s, a, e, "if") || is_word(s, a, e, "elif") ||
        is_word(s, a, e, "else");
    if (end) {
        st->mode = KV_NONE;
        st->prev_key = 0;
        st->quiet_cmd = st->quiet_next = st->gcp = 0;
        st->quiet_quote = 0;
        if (rc == 0)
            rc = read_done(st, each, ctx);
        st->reading = 0;
    }
    if (st->mode != KV_COMMAND)
        st->skip_next = 0;
    return rc;
}
