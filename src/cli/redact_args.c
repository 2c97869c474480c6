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
 * unknown command print goes through cli_message_out(): each run of
 * CLI_SECRET_HEX_MIN or more hex digits anywhere in a word of the command
 * line (`--seed-file "$S "`, `"$S:"`, `--trusted-key="${S}z"`) is replaced
 * wherever the line quotes it, and so is a piece of one at least half
 * that long (a quote cut short); the rest of the line stays readable.
 * Before review 45 only a word made of hex digits alone was hidden, so a
 * trailing space, "\r" or ":" showed all 64 digits. Public keys typed on
 * the command line are hex too and are left out the same way; the lines
 * name the option, so nothing is lost but the echo of what the user typed.
 *
 * cli_redacting_stream() hands the same rule to what the layers below
 * print to a FILE (the exporter and the witness, src/export/).
 *
 * The formatted line is wiped before its memory is freed. Locking: none;
 * the noted argv is written once by main() before any thread starts and
 * only read after.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

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

/* The length of the run of hex digits at @s (0 when @s is not at one). */
static size_t hex_run(const char *s)
{
    size_t n = 0;

    while (is_hex(s[n]))
        n++;
    return n;
}

size_t cli_secret_hex(const char *s, const char **digits)
{
    size_t n;

    for (; s != NULL && *s != '\0'; s += n ? n : 1) {
        n = hex_run(s);
        if (n >= CLI_SECRET_HEX_MIN) {
            if (digits != NULL)
                *digits = s;
            return n;
        }
    }
    return 0;
}

/* 1 when the @nn hex digits at @needle are among the @hn at @hay, in
 * either case (a message may print a value typed in upper case in lower). */
static int holds_hex(const char *hay, size_t hn, const char *needle, size_t nn)
{
    size_t i;

    for (i = 0; nn <= hn && i <= hn - nn; i++)
        if (strncasecmp(hay + i, needle, nn) == 0)
            return 1;
    return 0;
}

/* 1 when the @n hex digits at @run are part of, or hold, a run of at least
 * CLI_SECRET_HEX_MIN hex digits in a word of the noted command line. */
static int from_a_secret(const char *run, size_t n)
{
    int i;

    for (i = 1; i < noted_argc; i++) {
        const char *w = noted_argv[i], *d;
        size_t dn;
        while ((dn = cli_secret_hex(w, &d)) != 0) {
            if (holds_hex(d, dn, run, n) || holds_hex(run, n, d, dn))
                return 1;
            w = d + dn;
        }
    }
    return 0;
}

/* The run of hex digits at @p needs hiding: at least half of
 * CLI_SECRET_HEX_MIN long (a quote cut short, as '%.80s' cuts one, still
 * shows that much of a seed) and part of a command-line secret. */
static int must_hide(const char *p, size_t n)
{
    return n >= CLI_SECRET_HEX_MIN / 2 && from_a_secret(p, n);
}

/* @msg with every run of hex digits must_hide() picks replaced by HIDDEN,
 * the rest kept; @msg is wiped and freed. NULL out of memory. */
static char *hide_runs(char *msg)
{
    size_t len = strlen(msg), hl = strlen(HIDDEN), n, cap = len + 1;
    const char *p;
    char *out;

    for (p = msg; *p != '\0'; p += n ? n : 1)
        if ((n = hex_run(p)) != 0 && must_hide(p, n))
            cap += hl;
    out = malloc(cap);
    if (out != NULL) {
        char *w = out;
        for (p = msg; *p != '\0'; p += n ? n : 1) {
            n = hex_run(p);
            if (n != 0 && must_hide(p, n)) {
                memcpy(w, HIDDEN, hl);
                w += hl;
            } else {
                memcpy(w, p, n ? n : 1);
                w += n ? n : 1;
            }
        }
        *w = '\0';
    }
    explicit_bzero(msg, len);
    free(msg);
    return out;
}

void cli_message_out(FILE *f, char *msg)
{
    if (msg != NULL && noted_argc > 1)
        msg = hide_runs(msg);
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

/* ---- a stream whose lines go through cli_message_out() ---------------------------- */

/* What the layers below the CLI print (the fleet exporter, the witness:
 * src/export/) goes to the FILE they are handed; before review 48 that
 * was stderr itself, and `--nats nats://SEED:4222` or a seed typed as a
 * URL came back in "cannot connect to ..." whole. */
typedef struct redacting {
    FILE *to;
    char *line;
    size_t len, cap;
} redacting;

static void redacting_line(redacting *r)
{
    char *msg = malloc(r->len + 1);

    if (msg != NULL) {
        memcpy(msg, r->line, r->len);
        msg[r->len] = '\0';
    }
    cli_message_out(r->to, msg);
    fflush(r->to);
    explicit_bzero(r->line, r->len);
    r->len = 0;
}

static ssize_t redacting_write(void *cookie, const char *buf, size_t n)
{
    redacting *r = cookie;
    size_t i;

    for (i = 0; i < n; i++) {
        if (r->len + 2 > r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 256;
            char *p = malloc(cap);

            if (p == NULL)
                return -1;
            if (r->len > 0)
                memcpy(p, r->line, r->len);
            if (r->line != NULL)
                explicit_bzero(r->line, r->len);
            free(r->line);
            r->line = p;
            r->cap = cap;
        }
        r->line[r->len++] = buf[i];
        if (buf[i] == '\n')
            redacting_line(r);
    }
    return (ssize_t)n;
}

static int redacting_close(void *cookie)
{
    redacting *r = cookie;

    if (r->len > 0) {
        r->line[r->len++] = '\n';
        redacting_line(r);
    }
    free(r->line);
    free(r);
    return 0;
}

FILE *cli_redacting_stream(FILE *to)
{
    static const cookie_io_functions_t io = {NULL, redacting_write, NULL, redacting_close};
    redacting *r = calloc(1, sizeof(*r));
    FILE *f;

    if (r == NULL)
        return to;
    r->to = to;
    f = fopencookie(r, "w", io);
    if (f == NULL) {
        free(r);
        return to;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

void cli_redacting_close(FILE *f, FILE *to)
{
    if (f != NULL && f != to)
        fclose(f);
}
