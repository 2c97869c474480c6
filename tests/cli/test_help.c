/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_help.c - every `--help` against docs/cli.md, so that the
 * two cannot drift: each command's help exits 0; the options its parser
 * accepts (listed on stderr under CHIO_CLI_HELP_NAMES), the options its
 * usage synopsis names and the options in its docs/cli.md table are the
 * same three sets; every group's help and docs name each subcommand the
 * dispatcher accepts; every command the docs describe exists; and the two
 * example programs' help matches their sections.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/testutil.h"

#define DOC_PATH CHIO_SCENARIOS_DIR "/../docs/cli.md"

/* Every command with options (a leaf) and every command group. */
static const char *const leaves[] = {"keygen",
                                     "pubkey",
                                     "canon",
                                     "receipt sign",
                                     "receipt verify",
                                     "receipt list",
                                     "receipt archive",
                                     "capability issue",
                                     "capability verify",
                                     "checkpoint list",
                                     "checkpoint prove",
                                     "checkpoint verify-proof",
                                     "scenario run",
                                     "bench",
                                     "serve",
                                     "mcp serve",
                                     "mcp serve-http",
                                     "export",
                                     "fleet verify",
                                     "fleet witness"};
static const char *const groups[] = {"",         "receipt", "capability", "checkpoint",
                                     "scenario", "mcp",     "fleet"};

typedef struct names {
    char *v[128];
    size_t n;
} names;

static void names_add(names *s, const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == len && strncmp(s->v[i], p, len) == 0)
            return;
    cr_assert_lt(s->n, sizeof(s->v) / sizeof(s->v[0]));
    s->v[s->n++] = strndup(p, len);
}

static void names_free(names *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static int names_has(const names *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return 1;
    return 0;
}

/* "a, b" of the names in @a that @b lacks (static buffer; one at a time). */
static const char *missing(const names *a, const names *b)
{
    static char buf[2048];
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < a->n; i++)
        if (!names_has(b, a->v[i]))
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? ", " : "", a->v[i]);
    return o ? buf : "(none)";
}

/* Every --option token in @text[0..len), --help and a bare -- left out. */
static void options_in(const char *text, size_t len, names *out)
{
    size_t i, j;

    for (i = 0; i + 2 < len; i++) {
        if (text[i] != '-' || text[i + 1] != '-' || (i > 0 && text[i - 1] == '-'))
            continue;
        for (j = i + 2; j < len && (islower((unsigned char)text[j]) ||
                                    isdigit((unsigned char)text[j]) || text[j] == '-');
             j++)
            ;
        if (j > i + 2 && !(j - i == 6 && strncmp(text + i, "--help", 6) == 0))
            names_add(out, text + i, j - i);
        i = j;
    }
}

/* The usage synopsis: the help text up to its first blank line. */
static size_t synopsis_len(const char *help)
{
    const char *end = strstr(help, "\n\n");
    return end ? (size_t)(end - help) : strlen(help);
}

/* The words after "@what:" on a line of @err (the CHIO_CLI_HELP_NAMES list). */
static void listed(const char *err, const char *what, names *out)
{
    char key[32];
    const char *p, *e;

    snprintf(key, sizeof(key), "%s:", what);
    p = strstr(err, key);
    cr_assert_not_null(p, "no '%s' list on stderr: %s", key, err);
    p += strlen(key);
    e = strchr(p, '\n');
    if (e == NULL)
        e = p + strlen(p);
    while (p < e) {
        const char *w;
        while (p < e && *p == ' ')
            p++;
        w = p;
        while (p < e && *p != ' ')
            p++;
        if (p > w && !(p - w == 6 && strncmp(w, "--help", 6) == 0))
            names_add(out, w, (size_t)(p - w));
    }
}

static char *doc;

static void load_doc(void)
{
    size_t len;

    doc = testutil_read_file(DOC_PATH, &len);
    cr_assert_not_null(doc, "cannot read %s", DOC_PATH);
}

/* The section headed "## `@title`" or "### `@title`", up to the next heading. */
static const char *section(const char *title, size_t *len)
{
    char want[128];
    const char *p = doc, *end;

    snprintf(want, sizeof(want), " `%s`\n", title);
    for (;;) {
        p = strstr(p, want);
        cr_assert_not_null(p, "docs/cli.md has no section `%s`", title);
        if (p > doc && p[-1] == '#' && (p - 2 < doc || p[-2] == '#' || p[-2] == '\n'))
            break;
        p++;
    }
    end = strstr(p + 1, "\n#");
    *len = end ? (size_t)(end - p) : strlen(p);
    return p;
}

/* The options of a section's table: rows starting "| `--name". */
static void table_options(const char *sec, size_t len, names *out)
{
    const char *p = sec, *end = sec + len;

    while (p < end && (p = strstr(p, "\n| `--")) != NULL && p < end) {
        const char *name = p + 4, *e = name + 2;
        while (islower((unsigned char)*e) || isdigit((unsigned char)*e) || *e == '-')
            e++;
        if (!(e - name == 6 && strncmp(name, "--help", 6) == 0))
            names_add(out, name, (size_t)(e - name));
        p = e;
    }
}

static cli_result help_of(const char *path)
{
    const char *argv[4] = {NULL, NULL, NULL, NULL};
    char *copy = strdup(path), *sp;
    cli_result r;
    size_t n = 0;

    if (copy[0] != '\0') {
        argv[n++] = copy;
        sp = strchr(copy, ' ');
        if (sp != NULL) {
            *sp = '\0';
            argv[n++] = sp + 1;
        }
    }
    argv[n] = "--help";
    setenv("CHIO_CLI_HELP_NAMES", "1", 1);
    r = testutil_run_cli(argv, NULL, 0);
    free(copy);
    return r;
}

TestSuite(help, .init = load_doc);

Test(help, every_command_help_matches_its_parser_and_docs)
{
    size_t i;

    for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        names parsed = {0}, synopsis = {0}, documented = {0};
        char title[64], usage[80];
        const char *sec;
        size_t len;
        cli_result r = help_of(leaves[i]);

        cr_expect_eq(r.status, 0, "chio %s --help exits %d", leaves[i], r.status);
        snprintf(usage, sizeof(usage), "usage: chio %s", leaves[i]);
        cr_expect_eq(strncmp(r.out, usage, strlen(usage)), 0, "%s: %.200s", leaves[i], r.out);
        listed(r.err, "options", &parsed);
        options_in(r.out, synopsis_len(r.out), &synopsis);
        snprintf(title, sizeof(title), "chio %s", leaves[i]);
        sec = section(title, &len);
        table_options(sec, len, &documented);
        cr_expect_gt(parsed.n + (strcmp(leaves[i], "canon") == 0), 0, "%s", leaves[i]);
        cr_expect(!strcmp(missing(&parsed, &synopsis), "(none)"),
                  "chio %s: accepted but not in the --help synopsis: %s", leaves[i],
                  missing(&parsed, &synopsis));
        cr_expect(!strcmp(missing(&synopsis, &parsed), "(none)"),
                  "chio %s: in --help but not accepted: %s", leaves[i],
                  missing(&synopsis, &parsed));
        cr_expect(!strcmp(missing(&parsed, &documented), "(none)"),
                  "chio %s: accepted but not in docs/cli.md: %s", leaves[i],
                  missing(&parsed, &documented));
        cr_expect(!strcmp(missing(&documented, &parsed), "(none)"),
                  "chio %s: in docs/cli.md but not accepted: %s", leaves[i],
                  missing(&documented, &parsed));
        names_free(&parsed);
        names_free(&synopsis);
        names_free(&documented);
        testutil_cli_free(&r);
    }
}

Test(help, every_group_names_each_subcommand_in_help_and_docs)
{
    size_t i, j, k, nleaves = sizeof(leaves) / sizeof(leaves[0]);

    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        names subs = {0};
        char title[64], line[80];
        const char *sec;
        size_t len;
        cli_result r = help_of(groups[i]);

        cr_expect_eq(r.status, 0, "chio %s --help exits %d", groups[i], r.status);
        listed(r.err, "subcommands", &subs);
        cr_expect_gt(subs.n, 0);
        snprintf(title, sizeof(title), "%s%s", groups[i][0] ? "chio " : "chio", groups[i]);
        sec = section(title, &len);
        for (j = 0; j < subs.n; j++) {
            int known = 0;
            if (groups[i][0] == '\0') {
                cr_expect(strstr(r.out, subs.v[j]) != NULL, "chio --help lacks %s", subs.v[j]);
                continue;
            }
            snprintf(line, sizeof(line), "\n  %s ", subs.v[j]);
            cr_expect_not_null(strstr(r.out, line), "chio %s --help lacks a line for '%s'",
                               groups[i], subs.v[j]);
            snprintf(line, sizeof(line), "`%s`", subs.v[j]);
            cr_expect(memmem(sec, len, line, strlen(line)) != NULL,
                      "docs/cli.md section `%s` does not name %s", title, line);
            /* and it is one of the leaves this test checks */
            snprintf(line, sizeof(line), "%s %s", groups[i], subs.v[j]);
            for (k = 0; k < nleaves; k++)
                known |= strcmp(leaves[k], line) == 0;
            cr_expect(known, "chio %s is not in this test's list of commands", line);
        }
        if (groups[i][0] == '\0')
            for (k = 0; k < nleaves; k++) {
                cr_expect_not_null(strstr(r.out, leaves[k]), "chio --help lacks '%s'", leaves[k]);
                /* and the docs' list of commands names its first word */
                snprintf(line, sizeof(line), "`%.*s`", (int)strcspn(leaves[k], " "), leaves[k]);
                cr_expect(memmem(sec, len, line, strlen(line)) != NULL,
                          "docs/cli.md section `chio` does not name %s", line);
            }
        names_free(&subs);
        testutil_cli_free(&r);
    }
}

/* Every `chio ...` section of the docs is a command that exists. */
Test(help, every_documented_command_exists)
{
    const char *p = doc;
    size_t n = 0;

    while ((p = strstr(p, "\n### `chio ")) != NULL) {
        char path[64];
        const char *s = p + 11, *e = strchr(s, '`');
        cli_result r;

        cr_assert_not_null(e);
        snprintf(path, sizeof(path), "%.*s", (int)(e - s), s);
        r = help_of(path);
        cr_expect_eq(r.status, 0, "docs/cli.md documents `chio %s`, whose --help exits %d: %s",
                     path, r.status, r.err);
        testutil_cli_free(&r);
        n++;
        p = e;
    }
    cr_expect_geq(n, 18, "only %zu command sections found", n);
}

static char *run_example(const char *cmd, int *status)
{
    char *out = NULL;
    size_t cap = 0, len = 0, got;
    FILE *f = popen(cmd, "r");

    cr_assert_not_null(f);
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        got = fread(out + len, 1, 4096, f);
        len += got;
    } while (got > 0);
    out[len] = '\0';
    *status = pclose(f);
    return out;
}

Test(help, example_programs_help_matches_docs)
{
    static const char *const progs[] = {"agent-client", "host-service"};
    size_t i;

    for (i = 0; i < 2; i++) {
        names shown = {0}, documented = {0};
        char cmd[512];
        const char *sec;
        size_t len;
        int status;
        char *out;

        snprintf(cmd, sizeof(cmd), "%s/%s --help 2>/dev/null", CHIO_EXAMPLES_DIR, progs[i]);
        out = run_example(cmd, &status);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s --help: status %d", progs[i],
                  status);
        options_in(out, strlen(out), &shown);
        sec = section(progs[i], &len);
        table_options(sec, len, &documented);
        cr_expect_gt(shown.n, 0);
        cr_expect(!strcmp(missing(&shown, &documented), "(none)"),
                  "%s: in --help but not in docs/cli.md: %s", progs[i],
                  missing(&shown, &documented));
        cr_expect(!strcmp(missing(&documented, &shown), "(none)"),
                  "%s: in docs/cli.md but not in --help: %s", progs[i],
                  missing(&documented, &shown));
        free(out);
        names_free(&shown);
        names_free(&documented);
        /* --help wins wherever it is, and a missing value is bad usage */
        snprintf(cmd, sizeof(cmd), "%s/%s --socket /nonexistent --help 2>/dev/null",
                 CHIO_EXAMPLES_DIR, progs[i]);
        out = run_example(cmd, &status);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: late --help status %d",
                  progs[i], status);
        free(out);
    }
}

Test(help, no_command_or_an_unknown_one_is_usage)
{
    cli_result r = testutil_run_cli((const char *const[]){NULL}, NULL, 0);

    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "receipt archive"), "the usage goes to stderr");
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"frobnicate", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "unknown command 'frobnicate'"), "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "a group without a subcommand");
    testutil_cli_free(&r);
}

/* A mistyped command or subcommand is named with the likely one, and at
 * the top level only the synopsis follows, so that the error stays on a
 * screen (it used to be followed by the whole help, with no suggestion). */
Test(help, a_mistyped_command_suggests_the_likely_one)
{
    cli_result r = testutil_run_cli((const char *const[]){"recipt", "list", NULL}, NULL, 0);

    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, "chio: unknown command 'recipt' (did you mean 'receipt'?)\n"
                            "usage: chio <command> [<subcommand>] [options]\n"
                            "Run 'chio --help' for every command.\n");
    cr_expect_eq(r.out_len, 0);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"srve", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "(did you mean 'serve'?)"), "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"frobnicate", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2);
    cr_expect_null(strstr(r.err, "did you mean"), "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", "lst", NULL}, NULL, 0);
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "chio receipt: unknown subcommand 'lst' (did you mean "
                                     "'list'?)\nusage: chio receipt"),
                       "%s", r.err);
    testutil_cli_free(&r);
}

/* A usage error prints its one-line message, the synopsis and where the
 * rest is, not the whole help: the message must stay on a screen. */
Test(help, a_usage_error_shows_the_message_and_the_synopsis_only)
{
    size_t i;

    for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        const char *argv[4] = {NULL, NULL, NULL, NULL};
        char *copy = strdup(leaves[i]), *sp = strchr(copy, ' '), *want;
        cli_result help = help_of(leaves[i]), r;
        size_t n = 0;

        argv[n++] = copy;
        if (sp != NULL) {
            *sp = '\0';
            argv[n++] = sp + 1;
        }
        argv[n] = "--no-such-option";
        r = testutil_run_cli(argv, NULL, 0);
        cr_assert_geq(asprintf(&want,
                               "chio %s: unknown option '--no-such-option'\n%.*s\n"
                               "Run 'chio %s --help' for every option.\n",
                               leaves[i], (int)synopsis_len(help.out), help.out, leaves[i]),
                      0);
        cr_expect_eq(r.status, 2, "chio %s --no-such-option exits %d", leaves[i], r.status);
        cr_expect_str_eq(r.err, want, "chio %s", leaves[i]);
        cr_expect_eq(r.out_len, 0, "chio %s printed on stdout: %s", leaves[i], r.out);
        free(want);
        free(copy);
        testutil_cli_free(&r);
        testutil_cli_free(&help);
    }
    /* the same after the gateway's own usage errors */
    {
        cli_result help = help_of("mcp serve"), r;
        char *want;

        r = testutil_run_cli((const char *const[]){"mcp", "serve", "--policy", "p", "--receipt-db",
                                                   "d", "--seed-file", "s", NULL},
                             NULL, 0);
        cr_assert_geq(asprintf(&want,
                               "chio mcp serve: the wrapped server's command goes after --\n%.*s\n"
                               "Run 'chio mcp serve --help' for every option.\n",
                               (int)synopsis_len(help.out), help.out),
                      0);
        cr_expect_eq(r.status, 2);
        cr_expect_str_eq(r.err, want);
        free(want);
        testutil_cli_free(&r);
        testutil_cli_free(&help);
    }
}
