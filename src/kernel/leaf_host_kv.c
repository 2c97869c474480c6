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
 *     "--" skipped), only when the call could run such a program (a word
 *     naming one anywhere in its arguments, chio__leaf_programs): "gcc -o
 *     server server.c" names no host;
 *   - in a call that could run curl or wget (config text: curl -K,
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

/* ---- the programs a call could run --------------------------------------------------------- */

static int program_bits(const char *name, size_t len)
{
    static const char *const ssh[] = {"ssh", "scp", "sftp", NULL};
    static const char *const config[] = {"git", "npm", "yarn", "pnpm", "pip", "pip3", NULL};
    static const char *const fetch[] = {"curl", "wget", "wget2", NULL};
    int bits = 0;
    size_t i;

    if (len > 4 && memcmp(name + len - 4, ".exe", 4) == 0)
        len -= 4;
    for (i = 0; ssh[i] != NULL; i++)
        if (len == strlen(ssh[i]) && memcmp(name, ssh[i], len) == 0)
            bits |= CHIO__PROG_SSH;
    for (i = 0; config[i] != NULL; i++)
        if (len == strlen(config[i]) && memcmp(name, config[i], len) == 0)
            bits |= CHIO__PROG_CONFIG;
    for (i = 0; fetch[i] != NULL; i++)
        if (len == strlen(fetch[i]) && memcmp(name, fetch[i], len) == 0)
            bits |= CHIO__PROG_FETCH;
    return bits;
}

/* Two spellings of each token's name, lowercased, quotes dropped, after
 * its last '/': @a with backslashes dropped ("s\sh" is ssh to a shell),
 * @b after its last backslash too ("C:\bin\ssh.exe"). A name longer than
 * the buffers is no program's. */
int chio__leaf_programs(const char *s, size_t n)
{
    char a[16], b[16];
    size_t i, la = 0, lb = 0;
    int bits = 0;

    for (i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : ' ';
        if (isspace(c) || (c != '\0' && strchr(";|&()<>{}[]$=,:!`*?#~@", c) != NULL)) {
            if (la > 0 && la < sizeof(a))
                bits |= program_bits(a, la);
            if (lb > 0 && lb < sizeof(b))
                bits |= program_bits(b, lb);
            la = lb = 0;
        } else if (c == '\'' || c == '"') {
            continue;
        } else if (c == '/') {
            la = lb = 0;
        } else if (c == '\\') {
            lb = 0;
        } else {
            if (la < sizeof(a))
                a[la++] = (char)tolower(c);
            if (lb < sizeof(b))
                b[lb++] = (char)tolower(c);
        }
    }
    return bits;
}

void chio__kv_init(chio__kv *st, int programs)
{
    memset(st, 0, sizeof(*st));
    st->programs = programs;
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
static int names_host(const char *s, size_t a, size_t b, int dotted)
{
    const char *dot = a < b ? memrchr(s + a, '.', b - a) : NULL;

    if (a >= b)
        return 0;
    return chio__leaf_host_key(s + a, b - a) || command_key(s, a, b) ||
           (dotted && dot != NULL && chio__leaf_host_key(dot + 1, (size_t)(s + b - dot - 1)));
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
    if (!names_host(s, a, k, 0))
        return 0;
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

/* ---- one word ------------------------------------------------------------------------------- */

static int kv_word(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                   void *ctx)
{
    int mode = st->mode, prev_key = st->prev_key, first = st->words++ == 0, printf_v, rc = 0;
    size_t tail = control_tail(s, a, b), e = b - tail, va;
    const char *slash;

    st->prev_key = 0;
    printf_v = st->prev_printf && is_word(s, a, b, "-v");
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
        if (is_word(s, a, e, "=") || is_word(s, a, e, ":") || is_word(s, a, e, "<<<"))
            return 0;
        va = a + (s[a] == '=' ? 1 : starts(s, a, e, "<<<") ? 3 : 0);
        while (va < e && (s[va] == '"' || s[va] == '\''))
            va++;
        while (e > va && (s[e - 1] == '"' || s[e - 1] == '\''))
            e--;
        if (va >= e)
            return 0;
        st->mode = st->command ? KV_COMMAND : KV_NONE;
        rc = read_value(s, va, e, st->command, each, ctx);
        if (tail > 0)
            st->mode = KV_NONE;
        return rc;
    case KV_SKIP:
        st->mode = KV_CONFIG;
        return 0;
    case KV_CONFIG:
        if (is_word(s, a, e, "--") || is_word(s, a, e, "set"))
            return 0;
        if (s[a] == '-') {
            if (is_word(s, a, e, "-f") || is_word(s, a, e, "--file") ||
                is_word(s, a, e, "--blob") || is_word(s, a, e, "--type"))
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
    /* "proxy = H", "proxy =H", "proxy \"H\"", "read http_proxy <<< H" */
    if (prev_key) {
        int config_text = (st->programs & CHIO__PROG_FETCH) != 0;
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
    if ((st->programs & CHIO__PROG_FETCH) && e - a > 1 && s[e - 1] == ':' &&
        names_host(s, a, e - 1, 0)) {
        key_at(st, s, a, e, 0);
        return 0;
    }
    /* a host key word, also opening a quoted text ("echo 'proxy \"H\"'") */
    while (a < e && (s[a] == '\'' || s[a] == '"'))
        a++;
    st->prev_key = names_host(s, a, e, 0);
    st->command = command_key(s, a, e);
    return 0;
}

/* A word ending in a control operator ("-e;", "x&&") ends the command:
 * no reading runs on past it ("git pull; set -e; host db.internal"). */
int chio__kv_word(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                  void *ctx)
{
    int rc = kv_word(st, s, a, b, each, ctx);

    if (control_tail(s, a, b) > 0) {
        st->mode = KV_NONE;
        st->prev_key = 0;
    }
    if (st->mode != KV_COMMAND)
        st->skip_next = 0;
    return rc;
}
