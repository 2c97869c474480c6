/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/redact_args.c - the CLI's own error lines, with every command-line
 * value that could be a signing seed left out.
 *
 * A seed belongs in a file (--seed-file). One typed where a file name or
 * an argument belongs (`--seed-file "$(cat kernel.seed)"`, `chio pubkey
 * $SEED`, `--token-file` given the token) used to be quoted back in the
 * error ("cannot open seed file 1f2e...: No such file or directory"),
 * which hands it to whatever keeps stderr: a terminal's scroll-back, a CI
 * log, the journal of a service unit. Every line cli_error() and an
 * unknown command print goes through cli_message_out(): each word of the
 * command line made of hex digits only, at least CLI_SECRET_HEX_MIN of
 * them after an optional "0x" (the value of a --name=value word likewise),
 * is replaced wherever the line quotes it. Public keys typed on the
 * command line are hex too and are left out the same way; the lines name
 * the option, so nothing is lost but the echo of what the user typed.
 *
 * The formatted line is wiped before its memory is freed. Locking: none;
 * the noted argv is written once by main() before any thread starts and
 * only read after.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What a quoted value is replaced with. */
#define HIDDEN "<hex digits, not shown: it may be a signing seed>"

/* The command line main() was given (NULL: none noted, as in a test that
 * calls the parser directly). */
static int noted_argc;
static char **noted_argv;

void cli_note_args(int argc, char **argv)
{
    noted_argc = argc;
    noted_argv = argv;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

size_t cli_secret_hex(const char *s, const char **digits)
{
    const char *p = s;
    size_t n = 0;

    if (s == NULL)
        return 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    while (is_hex(p[n]))
        n++;
    if (p[n] != '\0' || n < CLI_SECRET_HEX_MIN)
        return 0;
    if (digits != NULL)
        *digits = p;
    return n;
}

/* The hex digits of command-line word @a that must not be shown (the
 * value of a --name=value word), or NULL; their count in *@n. */
static const char *secret_of_word(const char *a, size_t *n)
{
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL, *digits = NULL;

    *n = cli_secret_hex(eq ? eq + 1 : a, &digits);
    return *n ? digits : NULL;
}

/* Replace, in the heap string *@msg, every occurrence of the @n bytes at
 * @secret by HIDDEN; the old string is wiped. 0, or -1 out of memory (then
 * *@msg is wiped and freed, and NULL). */
static int hide(char **msg, const char *secret, size_t n)
{
    size_t len = strlen(*msg), count = 0, hl = strlen(HIDDEN);
    const char *p, *hit;
    char *out, *w;

    for (p = *msg; (hit = memmem(p, len - (size_t)(p - *msg), secret, n)) != NULL; p = hit + n)
        count++;
    if (count == 0)
        return 0;
    out = malloc(len - count * n + count * hl + 1);
    if (out != NULL) {
        for (p = *msg, w = out; (hit = memmem(p, len - (size_t)(p - *msg), secret, n)) != NULL;
             p = hit + n) {
            memcpy(w, p, (size_t)(hit - p));
            w += hit - p;
            memcpy(w, HIDDEN, hl);
            w += hl;
        }
        strcpy(w, p);
    }
    explicit_bzero(*msg, len);
    free(*msg);
    *msg = out;
    return out ? 0 : -1;
}

void cli_message_out(FILE *f, char *msg)
{
    int i;

    for (i = 1; msg != NULL && i < noted_argc; i++) {
        size_t n;
        const char *s = secret_of_word(noted_argv[i], &n);
        if (s != NULL && hide(&msg, s, n) != 0)
            break;
    }
    fputs(msg != NULL ? msg : "(the message could not be shown: out of memory)\n", f);
    if (msg != NULL)
        explicit_bzero(msg, strlen(msg));
    free(msg);
}

void cli_message_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    cli_message_out(f, n < 0 ? NULL : msg);
}
