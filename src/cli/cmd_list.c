/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_list.c - `chio receipt list`: which stored receipts to show
 * (filters, --from-seq, --limit, --last, --reverse), how (a table on a
 * terminal, JSON Lines otherwise or with --format), what was left out (a
 * count on stderr), and --tail, which follows a running kernel's log.
 * Reads the store through the public API (see cli_open_store in cmd_store.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char list_usage[] =
    "usage: chio receipt list --receipt-db DIR [--format table|jsonl]\n"
    "                         [--from-seq N] [--limit N | --last N] [--reverse]\n"
    "                         [--since UNIX] [--until UNIX] [--tool-name T]\n"
    "                         [--tool-server S] [--outcome allow|deny|cancelled|incomplete]\n"
    "       chio receipt list --receipt-db DIR --tail [--from-seq N] [--last N] [filters]\n"
    "\n"
    "Print the receipts a kernel stored in DIR. Works while a kernel has the\n"
    "database open.\n"
    "\n"
    "Output: --format table (the default when stdout is a terminal) prints one\n"
    "row per receipt: seq, time (UTC), verdict, code, server/tool, capability.\n"
    "--format jsonl (the default when stdout is a pipe or file) prints each\n"
    "receipt exactly as stored, canonical JSON, one receipt per line. An\n"
    "explicit --format wins over the default.\n"
    "\n"
    "Which receipts: those matching every filter given (--since and --until bound\n"
    "the timestamp, inclusive; --outcome matches the verdict; --tool-name and\n"
    "--tool-server match exactly) with sequence number >= --from-seq (default 1).\n"
    "Of those, the oldest --limit (default 50; 0 = all), or with --last N the\n"
    "newest N (--limit and --last cannot be combined). Rows come oldest first;\n"
    "--reverse prints them newest first and, with --limit, keeps the newest.\n"
    "When the default limit left matching receipts out, stderr says how many.\n"
    "\n"
    "--tail prints the existing receipts (all from --from-seq, or the last N\n"
    "sequence numbers with --last N or --limit N) and then follows the log,\n"
    "printing each receipt a running kernel commits, in sequence order, exactly\n"
    "once, until SIGINT or SIGTERM (exit 0). The filters apply to both parts;\n"
    "--reverse cannot be combined with --tail.\n"
    "\n"
    "exit status: 0 listed, 2 bad usage, an unreadable database or (--tail) a log\n"
    "changed under the tail\n";

typedef struct held {
    uint64_t seq;
    char *json;
    size_t len;
} held;

typedef struct list_ctx {
    /* what to show */
    uint64_t since, until, from, limit;
    int has_since, has_until, filtered, newest, reverse, table;
    const char *tool_name, *tool_server;
    int outcome; /* chio_verdict, or -1 */
    /* progress */
    uint64_t next_seq; /* first sequence number not yet visited */
    uint64_t matched, printed, unreadable;
    int header_done;
    /* --tail: the receipt at UINT64_MAX was visited (nothing can follow),
     * and a copy of the last receipt visited, to see the log change under
     * the tail (its tail cut or rewritten) */
    int at_end;
    uint64_t seen_seq;
    char *seen;
    size_t seen_len;
    /* the newest @limit matches (ring), or the oldest ones for --reverse */
    held *ring;
    size_t nring, head;
} list_ctx;

/* ---- rows ---------------------------------------------------------------------------- */

/* The decision code: the guard field of a deny holds the kernel's code
 * (out_of_scope, ...) or the name of the guard that denied. */
static void decision_code(const chio_receipt *r, char *out, size_t cap)
{
    const chio_json *dec = chio_json_get(chio_receipt_root(r), "decision");
    const char *guard = chio_json_string(chio_json_get(dec, "guard"), NULL);
#define CODE_STRING(name, str) str,
    static const char *const codes[] = {CHIO_CODE_MAP(CODE_STRING)};
#undef CODE_STRING
    size_t i;

    if (guard == NULL || guard[0] == '\0') {
        /* Only a deny names its check; the other verdicts have one code. */
        chio_verdict v = chio_receipt_verdict(r);
        snprintf(out, cap, "%s",
                 v == CHIO_VERDICT_ALLOW        ? "none"
                 : v == CHIO_VERDICT_INCOMPLETE ? chio_code_name(CHIO_CODE_STREAM_LIMIT)
                 : v == CHIO_VERDICT_CANCELLED  ? chio_code_name(CHIO_CODE_CANCELLED)
                                                : "-");
        return;
    }
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(guard, codes[i]) == 0) {
            snprintf(out, cap, "%s", guard);
            return;
        }
    snprintf(out, cap, "guard_denied (%s)", guard);
}

/* The length of the bidirectional control at @p (@n bytes readable):
 * U+061C, U+200E, U+200F, U+202A-U+202E or U+2066-U+2069; 0 for anything
 * else. A tool name holding U+202E reorders the rest of its table row on
 * the terminal (reviews 6 and 7). */
static size_t bidi_control(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0xd8 && p[1] == 0x9c)
        return 2;
    if (n >= 3 && p[0] == 0xe2 &&
        ((p[1] == 0x80 && (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae))) ||
         (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
        return 3;
    return 0;
}

/* Copy @s into @out, at most @width characters, "..." marking a cut.
 * Control characters (C0, DEL and C1 as UTF-8) become '?': a tool name is
 * the caller's text (a denial receipt keeps the name it asked for), and a
 * newline or an escape sequence must not draw rows on the operator's
 * terminal. */
static void fit(const char *s, char *out, size_t width)
{
    size_t n = strlen(s), i, b;

    if (n <= width) {
        memcpy(out, s, n + 1);
    } else {
        memcpy(out, s, width - 3);
        memcpy(out + width - 3, "...", 4);
        n = width;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f)
            out[i] = '?';
        else if (c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] >= 0x80 &&
                 (unsigned char)out[i + 1] <= 0x9f)
            out[i] = out[i + 1] = '?';
        else if ((b = bidi_control((const unsigned char *)out + i, n - i)) > 0)
            memset(out + i, '?', b);
    }
}

static int print_header(list_ctx *c)
{
    if (c->header_done)
        return 0;
    c->header_done = 1;
    return printf("%8s  %-20s  %-10s  %-34s  %-28s  %s\n", "SEQ", "TIME (UTC)", "VERDICT", "CODE",
                  "SERVER/TOOL", "CAPABILITY") < 0
               ? CLI_USAGE
               : 0;
}

static int print_row(list_ctx *c, uint64_t seq, const char *json, size_t len)
{
    chio_receipt *r = NULL;
    char when[32] = "?", code[64], tool[256], st[40], cap[200];
    struct tm tm;
    time_t t;
    int n;

    if (print_header(c) != 0)
        return CLI_USAGE;
    if (chio_receipt_parse(json, len, &r, NULL) != 0) {
        n = printf("%8llu  (unreadable receipt: run chio receipt verify --receipt-db)\n",
                   (unsigned long long)seq);
        return n < 0 ? CLI_USAGE : 0;
    }
    t = (time_t)chio_receipt_timestamp(r);
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    decision_code(r, tool, sizeof(tool));
    fit(tool, code, 34);
    snprintf(tool, sizeof(tool), "%s/%s", chio_receipt_tool_server(r), chio_receipt_tool_name(r));
    fit(tool, st, 28);
    fit(chio_receipt_capability_id(r), cap, 60);
    n = printf("%8llu  %-20s  %-10s  %-34s  %-28s  %s\n", (unsigned long long)seq, when,
               chio_verdict_name(chio_receipt_verdict(r)), code, st, cap);
    chio_receipt_free(r);
    return n < 0 ? CLI_USAGE : 0;
}

static int emit(list_ctx *c, uint64_t seq, const char *json, size_t len)
{
    c->printed++;
    if (c->table)
        return print_row(c, seq, json, len);
    /* One receipt per line, and only bytes a kernel writes: stored bytes
     * holding a control byte or invalid UTF-8 were not written by one and
     * must not reach the reader's terminal. */
    if (!cli_printable_json(json, len)) {
        fprintf(stderr,
                "chio receipt list: receipt %llu is not one line of JSON text (a control byte "
                "or invalid UTF-8) and is left out; run chio receipt verify --receipt-db\n",
                (unsigned long long)seq);
        return 0;
    }
    return cli_write(json, len) || cli_write("\n", 1) ? CLI_USAGE : 0;
}

/* ---- selection ----------------------------------------------------------------------- */

static int matches(list_ctx *c, const char *json, size_t len)
{
    chio_receipt *r = NULL;
    int keep = 1;

    if (!c->filtered)
        return 1;
    if (chio_receipt_parse(json, len, &r, NULL) != 0) {
        c->unreadable++;
        return 0; /* cannot be matched; `receipt verify` reports it */
    }
    if (c->has_since && chio_receipt_timestamp(r) < c->since)
        keep = 0;
    if (c->has_until && chio_receipt_timestamp(r) > c->until)
        keep = 0;
    if (c->tool_name && strcmp(chio_receipt_tool_name(r), c->tool_name) != 0)
        keep = 0;
    if (c->tool_server && strcmp(chio_receipt_tool_server(r), c->tool_server) != 0)
        keep = 0;
    if (c->outcome >= 0 && (int)chio_receipt_verdict(r) != c->outcome)
        keep = 0;
    chio_receipt_free(r);
    return keep;
}

/* Keep a copy of the match in the ring of the newest @limit (or of all). */
static int hold(list_ctx *c, uint64_t seq, const char *json, size_t len)
{
    held *h;
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return CLI_USAGE;
    memcpy(copy, json, len);
    copy[len] = '\0';
    if (c->limit == 0 || c->nring < c->limit) {
        if ((c->nring & (c->nring - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
            held *p = realloc(c->ring, (c->nring ? 2 * c->nring : 1) * sizeof(*p));
            if (p == NULL) {
                free(copy);
                return CLI_USAGE;
            }
            c->ring = p;
        }
        h = &c->ring[c->nring++];
    } else {
        h = &c->ring[c->head]; /* the oldest one held goes */
        c->head = (c->head + 1) % c->nring;
        free(h->json);
    }
    h->seq = seq;
    h->json = copy;
    h->len = len;
    return 0;
}

static int visit(void *vctx, uint64_t seq, const char *json, size_t len)
{
    list_ctx *c = vctx;

    c->next_seq = seq + 1;
    if (!matches(c, json, len))
        return 0;
    c->matched++;
    if (c->newest)
        return hold(c, seq, json, len);
    if (c->limit != 0 && c->printed >= c->limit)
        return c->filtered ? 0 : 1; /* keep counting matches; unfiltered: counted below */
    return emit(c, seq, json, len);
}

/* Print what hold() kept (unless @print is 0), oldest first or, with
 * --reverse, newest first; frees it either way. */
static int flush_held(list_ctx *c, int print)
{
    size_t i, k;
    int rc = 0;

    for (i = 0; i < c->nring; i++) {
        k = c->reverse ? (c->head + c->nring - 1 - i) % c->nring : (c->head + i) % c->nring;
        if (rc == 0 && print)
            rc = emit(c, c->ring[k].seq, c->ring[k].json, c->ring[k].len);
        free(c->ring[k].json);
    }
    free(c->ring);
    c->ring = NULL;
    c->nring = 0;
    return rc;
}

/* ---- --tail ---------------------------------------------------------------------------- */

static volatile sig_atomic_t tail_stop;

static void on_tail_signal(int sig)
{
    (void)sig;
    tail_stop = 1;
}

static int tail_visit(void *vctx, uint64_t seq, const char *json, size_t len)
{
    list_ctx *c = vctx;
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return CHIO_ENOMEM;
    memcpy(copy, json, len);
    free(c->seen);
    c->seen = copy;
    c->seen_len = len;
    c->seen_seq = seq;
    /* No wrap to 0 after the last number: the next scan would print the
     * whole log again, and again. */
    if (seq == UINT64_MAX)
        c->at_end = 1;
    c->next_seq = seq + 1;
    return matches(c, json, len) ? emit(c, seq, json, len) : 0;
}

/* The log only grows: the last receipt the tail visited is still there,
 * byte for byte. Returns 0, or 1 after saying that it is not (its tail
 * was cut, or rewritten, under the tail: the receipts that replace it
 * would be skipped, or printed after their numbers had gone by). */
static int tail_log_changed(chio_store *s, list_ctx *c)
{
    uint64_t first = 0, last = 0;
    char *json = NULL;
    size_t len = 0;
    int rc, same;

    if (c->seen == NULL)
        return 0;
    rc = chio_store_get_receipt(s, c->seen_seq, &json, &len, NULL);
    same = rc == 0 && len == c->seen_len && memcmp(json, c->seen, len) == 0;
    free(json);
    if (same || (rc != 0 && rc != CHIO_ENOTFOUND))
        return 0; /* unchanged, or not readable now: the scan says why */
    /* Archiving (chio receipt archive) moves old receipts out but keeps
     * the newest: gone, with the log now starting after it, is that. */
    if (rc == CHIO_ENOTFOUND && chio_store_seq_range(s, &first, &last, NULL) == 0 &&
        first > c->seen_seq)
        return 0;
    fprintf(stderr,
            "chio receipt list: the log changed under --tail: receipt %llu, already read, is %s; "
            "run chio receipt verify --receipt-db\n",
            (unsigned long long)c->seen_seq, rc == 0 ? "no longer the same" : "gone");
    return 1;
}

/*
 * Follow the log: catch the secondary instance up with the primary, print
 * what was committed after c->next_seq, sleep, repeat. Sequence numbers are
 * contiguous and only grow, so starting each scan at next_seq prints every
 * receipt once and in order.
 */
static int tail_log(const char *dir, list_ctx *c, uint64_t last_n)
{
    struct sigaction sa;
    struct timespec nap = {0, 100 * 1000 * 1000};
    uint64_t first = 0, last = 0;
    chio_store *s;
    chio_error err;
    int rc;

    s = cli_open_store("receipt list", dir); /* integrity: see cli_open_store */
    if (s == NULL)
        return CLI_USAGE;
    chio_store_close(s);
    s = NULL;
    chio_error_init(&err);
    rc = chio_store_open(dir, CHIO_STORE_SECONDARY, &s, &err);
    if (rc == 0)
        rc = chio_store_catch_up(s, &err);
    if (rc == 0)
        rc = chio_store_seq_range(s, &first, &last, &err);
    if (rc != 0) {
        chio_store_close(s);
        return cli_lib_error("receipt list", dir, rc, &err);
    }
    c->next_seq = c->from;
    if (last_n > 0 && last >= last_n && last - last_n + 1 > c->next_seq)
        c->next_seq = last - last_n + 1; /* the last N */
    if (c->table && print_header(c) != 0)
        rc = CLI_USAGE;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_tail_signal; /* no SA_RESTART: the nap ends early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (rc == 0 && !tail_stop) {
        chio_error_init(&err);
        rc = chio_store_catch_up(s, &err);
        if (rc == 0 && tail_log_changed(s, c)) {
            chio_store_close(s);
            free(c->seen);
            return CLI_USAGE;
        }
        if (rc == 0 && !c->at_end)
            rc = chio_store_scan(s, c->next_seq, tail_visit, c, &err);
        if (rc < 0) {
            chio_store_close(s);
            free(c->seen);
            return cli_lib_error("receipt list", "following the log", rc, &err);
        }
        if (rc == 0 && c->at_end) {
            fflush(stdout);
            fprintf(stderr, "chio receipt list: the log holds a receipt at the last sequence "
                            "number; nothing can follow it\n");
            break;
        }
        fflush(stdout);
        if (rc == 0 && !tail_stop)
            nanosleep(&nap, NULL);
    }
    chio_store_close(s);
    free(c->seen);
    return rc == 0 ? CLI_OK : cli_error("receipt list", "cannot write the output");
}

/* ---- the command ------------------------------------------------------------------------ */

enum {
    O_DB,
    O_FORMAT,
    O_FROM,
    O_LIMIT,
    O_LAST,
    O_REVERSE,
    O_SINCE,
    O_UNTIL,
    O_NAME,
    O_SERVER,
    O_OUTCOME,
    O_TAIL,
    O_COUNT
};

/* Read the options into @c; returns 0 or CLI_USAGE after saying why. */
static int list_options(cli_opt *o, list_ctx *c, uint64_t *last_n)
{
    static const char *const outcomes[] = {"allow", "deny", "cancelled", "incomplete"};
    const char *fmt = o[O_FORMAT].value;
    size_t i;

    memset(c, 0, sizeof(*c));
    c->limit = 50;
    c->from = 1;
    c->outcome = -1;
    *last_n = 0;
    if (o[O_DB].value == NULL)
        return cli_error("receipt list", "--receipt-db DIR is required");
    if (fmt != NULL && strcmp(fmt, "table") != 0 && strcmp(fmt, "jsonl") != 0)
        return cli_error("receipt list", "--format must be table or jsonl, not '%s'", fmt);
    c->table = fmt != NULL ? strcmp(fmt, "table") == 0 : isatty(STDOUT_FILENO);
    if (o[O_FROM].value && (cli_u64(o[O_FROM].value, &c->from) != 0 || c->from == 0))
        return cli_error("receipt list", "--from-seq must be a sequence number (1 or more)");
    if (o[O_LIMIT].value && cli_u64(o[O_LIMIT].value, &c->limit) != 0)
        return cli_error("receipt list", "--limit must be a non-negative integer (0 = all)");
    if (o[O_LAST].value && (cli_u64(o[O_LAST].value, last_n) != 0 || *last_n == 0))
        return cli_error("receipt list", "--last must be a positive integer");
    if (o[O_LAST].value && o[O_LIMIT].value)
        return cli_error("receipt list", "give --limit N (the oldest N) or --last N (the newest "
                                         "N), not both");
    if (o[O_SINCE].value && (c->has_since = 1, cli_u64(o[O_SINCE].value, &c->since) != 0))
        return cli_error("receipt list", "--since must be Unix seconds");
    if (o[O_UNTIL].value && (c->has_until = 1, cli_u64(o[O_UNTIL].value, &c->until) != 0))
        return cli_error("receipt list", "--until must be Unix seconds");
    c->tool_name = o[O_NAME].value;
    c->tool_server = o[O_SERVER].value;
    if (o[O_OUTCOME].value) {
        for (i = 0; i < 4; i++)
            if (strcmp(o[O_OUTCOME].value, outcomes[i]) == 0)
                c->outcome = (int)i + 1; /* chio_verdict: ALLOW = 1 ... */
        if (c->outcome < 0)
            return cli_error("receipt list", "--outcome must be allow, deny, cancelled or "
                                             "incomplete");
    }
    c->filtered = c->has_since || c->has_until || c->tool_name || c->tool_server || c->outcome >= 0;
    c->reverse = o[O_REVERSE].value != NULL;
    if (c->reverse && o[O_TAIL].value)
        return cli_error("receipt list", "--reverse cannot be combined with --tail");
    if (*last_n > 0)
        c->limit = *last_n;
    c->newest = *last_n > 0 || c->reverse; /* keep the newest matches */
    return 0;
}

int cmd_receipt_list(int argc, char **argv)
{
    cli_opt o[O_COUNT] = {
        {"receipt-db", 1, 0, 0, 0, 0},  {"format", 1, 0, 0, 0, 0},  {"from-seq", 1, 0, 0, 0, 0},
        {"limit", 1, 0, 0, 0, 0},       {"last", 1, 0, 0, 0, 0},    {"reverse", 0, 0, 0, 0, 0},
        {"since", 1, 0, 0, 0, 0},       {"until", 1, 0, 0, 0, 0},   {"tool-name", 1, 0, 0, 0, 0},
        {"tool-server", 1, 0, 0, 0, 0}, {"outcome", 1, 0, 0, 0, 0}, {"tail", 0, 0, 0, 0, 0}};
    const char *pos[1];
    uint64_t first = 0, last = 0, start, last_n;
    size_t npos;
    list_ctx c;
    chio_store *s;
    chio_error err;
    int rc;

    rc = cli_parse(argc, argv, o, O_COUNT, pos, 0, &npos, "receipt list", list_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (list_options(o, &c, &last_n) != 0)
        return CLI_USAGE;
    if (o[O_TAIL].value != NULL) /* a --limit N given with --tail means the last N */
        return tail_log(o[O_DB].value, &c, last_n ? last_n : (o[O_LIMIT].value ? c.limit : 0));
    s = cli_open_store("receipt list", o[O_DB].value);
    if (s == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    rc = chio_store_seq_range(s, &first, &last, &err);
    start = c.from;
    /* Unfiltered, the matches are the range [from, last]: the newest N
     * start N before its end, and nothing after the oldest N is read. */
    if (rc == 0 && !c.filtered && c.newest && c.limit > 0 && last >= c.limit &&
        last - c.limit + 1 > start)
        start = last - c.limit + 1;
    if (rc == 0 && last >= start)
        rc = chio_store_scan(s, start, visit, &c, &err);
    chio_store_close(s);
    if (rc < 0) {
        flush_held(&c, 0);
        return cli_lib_error("receipt list", "reading the log", rc, &err);
    }
    if (rc == 1)
        rc = 0; /* the scan stopped after the oldest --limit */
    rc = flush_held(&c, rc == 0);
    if (rc != 0)
        return cli_error("receipt list", "cannot write the output (or out of memory)");
    if (!c.filtered) /* the count of matches the scan did not reach */
        c.matched = last >= c.from ? last - (first > c.from ? first : c.from) + 1 : 0;
    /* Said when the default --limit cut the list: a limit asked for is
     * no surprise (and stays quiet in pipelines). */
    if (c.matched > c.printed && o[O_LIMIT].value == NULL && o[O_LAST].value == NULL)
        fprintf(stderr,
                "chio receipt list: showed %llu of %llu matching receipts; %llu not shown "
                "(--limit 0 shows all, --last N the newest N, --from-seq N from seq N on)\n",
                (unsigned long long)c.printed, (unsigned long long)c.matched,
                (unsigned long long)(c.matched - c.printed));
    if (c.unreadable > 0)
        fprintf(stderr,
                "chio receipt list: %llu unreadable receipts skipped by the filters "
                "(run chio receipt verify --receipt-db)\n",
                (unsigned long long)c.unreadable);
    if (c.printed == 0 && c.table)
        fprintf(stderr, "chio receipt list: no matching receipts\n");
    return CLI_OK;
}
