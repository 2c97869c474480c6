/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_walk.c - the forbidden_path guard's reading of tools
 * that walk a directory tree (review 52): "grep -r PRIVATE /",
 * "tar czf /tmp/a.tgz /", "cp -a / /tmp/all" and
 * "find / -name shadow | xargs cat" never name a prefix, yet read what
 * is under every one. A command whose tool reads as it walks (tar, zip,
 * rsync, rg, ag, ack) or is told to (grep -r, cp -a, rm -r, chmod -R,
 * ...), or a listing tool (find, du, tree, fd, ls -R) whose finds are
 * acted on ("-exec", "-delete", "| xargs"), that names a directory above
 * a prefix ("/", "/root" for "/root/.ssh/", "/proc") is a hit. Listing
 * names alone ("find / -name '*.conf'") is not. Read on the value as a shell
 * reads it (chio__shell_unquote, made by the caller). A relative
 * directory that climbs ("grep -r x ..", "tar cf a.tar ../..") is a hit
 * when it may land above a prefix (guard_path_climb.c); one that does not
 * climb ("cd / && grep -r x .") is not followed. No state, no locks; a
 * climbing word's join longer than a stack buffer is malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard_path.h"
#include "internal.h"
#include "normalize.h"

/* A tool and the short options that make it walk ("" : it always does);
 * @lists: it only lists names ("find / -name '*.conf'" stays allowed, as
 * review 49 asked), and counts when what it finds is run on or read
 * ("-exec", "-delete", "| xargs"). */
typedef struct {
    const char *name;
    const char *letters;
    int lists;
} walker;

static const walker walkers[] = {
    {"find", "", 1},    {"du", "", 1},        {"tree", "", 1},     {"fd", "", 1},
    {"fdfind", "", 1},  {"ls", "R", 1},       {"tar", "", 0},      {"zip", "", 0},
    {"7z", "", 0},      {"rsync", "", 0},     {"rg", "", 0},       {"ag", "", 0},
    {"ack", "", 0},     {"grep", "rR", 0},    {"egrep", "rR", 0},  {"fgrep", "rR", 0},
    {"zgrep", "rR", 0}, {"cp", "rRa", 0},     {"rm", "rR", 0},     {"chmod", "R", 0},
    {"chown", "R", 0},  {"chgrp", "R", 0},    {"setfacl", "R", 0}, {"scp", "r", 0},
    {"diff", "r", 0},   {"rgrep", "", 0},     {"ugrep", "rR", 0},  {"gzip", "r", 0},
    {"gunzip", "r", 0}, {"zstd", "r", 0},     {"chattr", "R", 0},  {"jar", "", 0},
    {"bsdtar", "", 0},  {"7za", "", 0},       {"7zz", "", 0},      {"pigz", "r", 0},
    {"ctags", "R", 0},  {"clamscan", "r", 0}, {"md5deep", "r", 0}, {"hashdeep", "r", 0},
    {"rclone", "", 0},  {"restic", "", 0},    {"borg", "", 0},     {"dir", "R", 1},
    {"vdir", "R", 1},   {"compgen", "", 1},
};

/* Words of a listing tool that run something on, or remove, what it
 * finds. */
static const char *const acts[] = {"-exec", "-execdir", "-ok",    "-okdir",      "-delete",
                                   "-x",    "-X",       "--exec", "--exec-batch"};

/* Does the command after the '|' at t[i] take what it reads as names to
 * act on ("| xargs cat", "| while read f", "| parallel")? */
static int word_at_is(const char *t, size_t i, size_t n, const char *const *words, size_t nw)
{
    size_t k, l;

    for (k = 0; k < nw; k++) {
        l = strlen(words[k]);
        if (n - i >= l && memcmp(t + i, words[k], l) == 0 &&
            (n - i == l || t[i + l] == ' ' || t[i + l] == '\t'))
            return 1;
    }
    return 0;
}

/* Commands known to only pass names on or print them: "ls /etc | grep
 * sha | xargs cat" acts on them as "ls /etc | xargs cat" does (review 21
 * F10). Any other command a listing's output reaches is read as acting
 * on it ("| python3 -c ..", "| perl -ne ..", "| xargs", "| while read";
 * review 22 P6: the class fails closed), and so is one past FILTERS_MAX
 * of them (each command's text is then read a bounded number of times).
 * Those that read it only as data and print (hash, encode, compress,
 * dump, pick: "| md5sum", "| base64", "| gzip", "| jq -R", "| fzf") are
 * on the list too (review 23 Q6), each unless told to act (data_acts);
 * an interpreter's program (python3 -c, perl -e, ruby -e, node -e) stays
 * acted on, as it may open what it reads. */
#define FILTERS_MAX 8

static int word_in(const char *t, size_t i, size_t e, const char *word)
{
    size_t l = strlen(word), k;

    for (k = i; k + l <= e; k++)
        if (memcmp(t + k, word, l) == 0)
            return 1;
    return 0;
}

static int awk_name_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does the awk command t[@i, @e) pipe or write, outside its strings: a
 * '|' that is not "||" ("cmd | getline", "print | \"sh\""; review 24
 * paths R6; one in a regular expression, "/a|b/", counts too, at worst),
 * or a '>' in a print or printf statement ("print > $0"), but for one to
 * "/dev/stderr" or "/dev/stdout"? A '>' elsewhere compares
 * ("length($0) > 5", "$1 > \"m\""; review 24 paths M2). Strings as awk
 * reads them, its quotes as the shell's reading leaves them. */
static int awk_writes_unread(const char *t, size_t i, size_t e);
static int awk_std_target(const char *t, size_t k, size_t e);

static int awk_writes(const char *t, size_t i, size_t e)
{
    size_t k;
    int in_print = 0;

    for (k = i; k < e; k++) {
        char c = t[k];
        if (c == '"') { /* an awk string */
            for (k++; k < e && t[k] != '"'; k++)
                if (t[k] == '\\')
                    k++;
            if (k >= e) /* not closed: the strings are not followed */
                return awk_writes_unread(t, i, e);
            continue;
        }
        /* A '/' may open a regular expression, in which '"', ';', '{'
         * and '}' are plain bytes ("/\"/", "/;/"), a '#' a comment: the
         * strings and statements are not followed then (review 25 paths
         * R1, R4). The first such is seen, as all before it is read
         * right. */
        if (c == '/' || c == '#')
            return awk_writes_unread(t, i, e);
        /* a newline does not end a print statement ("print \"x\",\n >
         * $0"), only ';', '{', '}' do */
        if (c == ';' || c == '{' || c == '}')
            in_print = 0;
        if ((c == 'p') && (k == i || !awk_name_char(t[k - 1])) && e - k >= 5 &&
            memcmp(t + k, "print", 5) == 0 &&
            (k + 5 == e || !awk_name_char(t[k + 5]) ||
             (t[k + 5] == 'f' && (k + 6 == e || !awk_name_char(t[k + 6])))))
            in_print = 1;
        if (c == '|') {
            if (k + 1 < e && t[k + 1] == '|') {
                k++;
                continue;
            }
            return 1;
        }
        if (c == '>' && in_print && !awk_std_target(t, k, e))
            return 1;
    }
    return 0;
}

/* Is the '>' at t[@k] one to "/dev/stderr" or "/dev/stdout" and no more? */
static int awk_std_target(const char *t, size_t k, size_t e)
{
    size_t m;

    for (m = k + 1; m < e && (t[m] == '>' || t[m] == ' ' || t[m] == '\t'); m++)
        ;
    /* the shell's reading may have dropped the quotes */
    m += m < e && t[m] == '"';
    if (!((e - m >= 11 && memcmp(t + m, "/dev/stderr", 11) == 0) ||
          (e - m >= 11 && memcmp(t + m, "/dev/stdout", 11) == 0)))
        return 0;
    m += 11;
    for (m += m < e && t[m] == '"'; m < e && (t[m] == ' ' || t[m] == '\t'); m++)
        ;
    if (m < e && t[m] != ';' && t[m] != '}' && t[m] != '\n' && t[m] != '\'')
        return 0; /* more to the target: "\"/dev/stderr\" $0" */
    return 1;
}

/* awk_writes for a program whose strings and statements are not followed
 * (a regular expression, a comment, a string not closed): any '|' that is
 * not "||", strings or not, pipes; any '>' writes when the program prints
 * at all ("print", "printf" as a word anywhere), but for one to "/dev/stderr" or
 * "/dev/stdout". A '>' in a program that never prints compares
 * ("/x/ && length($0) > 5"). Fails closed: "/\"/ {print | \"sort\"}"
 * denies (review 25 paths R1, R4, M1). */
static int awk_writes_unread(const char *t, size_t i, size_t e)
{
    int prints = 0;
    size_t k;

    /* "print" or "printf" as a word: "print_" is a name (a reading with
     * blanks as '_' keeps "print_$1_>_/dev/stderr" allowed) */
    for (k = i; k < e && !prints; k++)
        prints = t[k] == 'p' && (k == i || !awk_name_char(t[k - 1])) && e - k >= 5 &&
                 memcmp(t + k, "print", 5) == 0 &&
                 (k + 5 == e || !awk_name_char(t[k + 5]) ||
                  (t[k + 5] == 'f' && (k + 6 == e || !awk_name_char(t[k + 6]))));
    for (k = i; k < e; k++) {
        if (t[k] == '|') {
            if (k + 1 < e && t[k + 1] == '|') {
                k++;
                continue;
            }
            return 1;
        }
        if (t[k] == '>' && prints && !awk_std_target(t, k, e))
            return 1;
    }
    return 0;
}

/* Does the filter t[@i, @e), one of the list, act on what it reads for
 * all that: an awk program that runs, opens or writes ("system(",
 * "getline <", "print > $0", "-f prog", "@load"; review 23 Q4), a
 * checksum tool told to check the files its input names ("md5sum -c"),
 * fzf running a preview or a bound command on each name? */
static int data_acts(const char *t, size_t i, size_t e)
{
    size_t k, w;

    if (word_at_is(t, i, e, (const char *const[]){"awk", "gawk", "mawk", "nawk", "busybox awk"}, 5))
        return word_in(t, i, e, "system") || word_in(t, i, e, "getline") || awk_writes(t, i, e) ||
               word_in(t, i, e, " -f") || word_in(t, i, e, "--file") || word_in(t, i, e, "@") ||
               word_in(t, i, e, " -i") || word_in(t, i, e, "--include") || word_in(t, i, e, " -E");
    if (word_at_is(t, i, e, (const char *const[]){"fzf", "sk"}, 2))
        return word_in(t, i, e, "--preview") || word_in(t, i, e, "--bind") ||
               word_in(t, i, e, "execute") || word_in(t, i, e, "become");
    /* "-c", "--check", or a bundle holding 'c' on a checksum tool */
    if (word_at_is(t, i, e,
                   (const char *const[]){"md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum",
                                         "sha512sum", "b2sum", "cksum", "sum"},
                   9))
        for (k = i; k < e; k = w) {
            while (k < e && (t[k] == ' ' || t[k] == '\t'))
                k++;
            for (w = k; w < e && t[w] != ' ' && t[w] != '\t'; w++)
                ;
            if (w > k + 1 && t[k] == '-' &&
                ((t[k + 1] != '-' && memchr(t + k, 'c', w - k) != NULL) ||
                 (w - k == 7 && memcmp(t + k, "--check", 7) == 0)))
                return 1;
        }
    return 0;
}

/* The bytes a filter's program at t[@s] reads to, its quotes paired
 * (an awk program holds '(' and '|': "'{ while ((getline l < f) > 0)
 * .. }'"), at least to @e and at most PROGRAM_MAX bytes past @s; past
 * that, 0 (read at worst: acted on). */
#define PROGRAM_MAX 4096

static size_t program_end(const char *t, size_t s, size_t e, size_t n)
{
    size_t k, lim = n - s > PROGRAM_MAX ? s + PROGRAM_MAX : n;
    char q = 0;

    for (k = s; k < lim; k++) {
        if (q != 0) {
            q = t[k] == q ? 0 : q;
            continue;
        }
        if (t[k] == '\'' || t[k] == '"')
            q = t[k];
        else if (t[k] == '|' || t[k] == ';' || t[k] == '&' || t[k] == '\n')
            break;
    }
    if (k == lim && lim < n)
        return 0; /* past the bound */
    return k < e ? e : k;
}

/* The end of the filter command at t[@s]: the '|', ';', '&' or newline
 * that ends it outside quotes (its program may hold any of them, and
 * '(' and ')': "grep -E '^(sha|pas)'", "jq -rR 'select(..)'", "awk '{x;
 * getline}'"; review 24 paths R3), a quote with no close read as text;
 * '(' and ')' are text too (a group or a substitution in a filter's
 * operands does not end what the filter writes on), and a process
 * substitution written into ("tee >(xargs cat)") sets *@into. At most
 * PROGRAM_MAX bytes, charged to *@budget; past either, n + 1 (read at
 * worst: acted on). */
static size_t filter_end(const char *t, size_t s, size_t n, int *into, size_t *budget)
{
    size_t k, q, lim = n - s > PROGRAM_MAX ? s + PROGRAM_MAX : n;

    *into = 0;
    for (k = s; k < lim; k++) {
        if (t[k] == '\\' && k + 1 < lim) {
            k++;
            continue;
        }
        if (t[k] == '\'' || t[k] == '"') {
            for (q = k + 1; q < lim && t[q] != t[k]; q++)
                if (t[k] == '"' && t[q] == '\\')
                    q++;
            if (q < lim)
                k = q; /* a quote with no close is text */
            else if (lim < n)
                break; /* past the bound */
            continue;
        }
        if (t[k] == '(' && k > s && t[k - 1] == '>') {
            *into = 1;
            break;
        }
        if (t[k] == '(') { /* to its ')', if it has one: "grep -E ^(a|b)" as the shell reads it */
            size_t depth = 1;
            for (q = k + 1; q < lim && depth > 0; q++)
                depth += t[q] == '(' ? 1 : t[q] == ')' ? (size_t)-1 : 0;
            if (q - k > *budget) {
                *budget = 0;
                return n + 1;
            }
            *budget -= q - k;
            if (depth == 0)
                k = q - 1;
            continue;
        }
        if (t[k] == '|' || t[k] == ';' || t[k] == '&' || t[k] == '\n')
            break;
    }
    if (k - s > *budget) {
        *budget = 0;
        return n + 1;
    }
    *budget -= k - s;
    return k == lim && lim < n ? n + 1 : k;
}

/* Does the output of the command ending at t[@i] reach a command that
 * acts on the names it reads, through any of the print-only filters
 * (FILTERS_MAX of them; past that at worst)? *@budget bounds the bytes
 * all the filters of one text take to read (check_walk). */
static int piped_to_act(const char *t, size_t i, size_t n, size_t *budget)
{
    static const char *const passive[] = {
        "grep",      "egrep", "fgrep",  "rg",      "sort",      "uniq",      "head",
        "tail",      "sed",   "awk",    "tee",     "cut",       "tr",        "nl",
        "cat",       "tac",   "rev",    "column",  "fold",      "fmt",       "pr",
        "wc",        "less",  "more",   "paste",   "expand",    "comm",      "gawk",
        "mawk",      "nawk",  "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum",
        "sha512sum", "b2sum", "cksum",  "sum",     "base64",    "base32",    "basenc",
        "gzip",      "xz",    "bzip2",  "zstd",    "lz4",       "brotli",    "fzf",
        "sk",        "jq",    "od",     "xxd",     "hexdump",   "unexpand",  "iconv",
        "strings"};
    size_t s, pe;
    int hops, into;

    for (hops = 0;; hops++) {
        /* a process substitution the output is written into: "tee
         * >(xargs cat)", "ls /etc > >(while read f ..)" (review 23 Q4) */
        if (i < n && t[i] == '(' && i > 0 && t[i - 1] == '>')
            return 1;
        if (i >= n || t[i] != '|' || (i + 1 < n && t[i + 1] == '|'))
            return 0; /* the output is printed */
        if (hops == FILTERS_MAX)
            return 1; /* not read past the bound: at worst */
        for (i++; i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '&'); i++)
            ;
        if (!word_at_is(t, i, n, passive, sizeof(passive) / sizeof(passive[0])))
            return 1;
        /* the filter's command, to the '|' after it, its quotes paired
         * ("sed 's#^#/etc/#'", "grep -E '^(a|b)'") */
        s = i;
        if ((i = filter_end(t, s, n, &into, budget)) > n || into)
            return 1;
        if ((pe = program_end(t, s, i, n)) == 0 || data_acts(t, s, pe))
            return 1;
    }
}

/* Is the command at t[@i] the inside of a process substitution "<(..)"
 * whose output is read ("while read f; do ..; done < <(ls /etc)";
 * review 22 P6)? */
static int substituted_to_act(const char *t, size_t i)
{
    return i >= 2 && t[i - 1] == '(' && t[i - 2] == '<';
}

static int cmd_break(char c)
{
    return c == ';' || c == '|' || c == '&' || c == '\n' || c == '(' || c == ')' || c == '`';
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The word at t[i, *e) of the command ending at @end. */
static size_t word_end(const char *t, size_t i, size_t end)
{
    while (i < end && !blank(t[i]))
        i++;
    return i;
}

/* Is @w (@n bytes) the word @name, or a path ending in "/" @name? */
static int names(const char *w, size_t n, const char *name)
{
    size_t l = strlen(name);

    return n >= l && memcmp(w + n - l, name, l) == 0 && (n == l || w[n - l - 1] == '/');
}

/* A directory above a prefix, or a glob that may name one: "grep -r x
 * /e?c" under "/etc/shadow" walks /etc. */
static int ancestor_reading(void *ctx, const char *p, size_t len)
{
    int rc = chio__gp_ancestor(ctx, p, len);

    return rc != 0 ? rc : chio__gp_glob_ancestor(ctx, p, len);
}

/* A climbing word's landings need no reading of their own here: the one
 * that is above a prefix is the answer (CHIO__GP_CLIMB_ABOVE). */
static int no_reading(void *ctx, const char *p, size_t len)
{
    (void)ctx;
    (void)p;
    (void)len;
    return 0;
}

/* Does the option word @w (@n bytes), after the word @prev (@pn bytes),
 * make @tool walk? */
static int walks_with(const walker *tool, const char *prev, size_t pn, const char *w, size_t n)
{
    size_t k;

    if (n >= 11 && memcmp(w, "--recursive", 11) == 0)
        return 1;
    /* grep's "-d recurse", "--directories recurse" */
    if (n >= 3 && memcmp(w, "rec", 3) == 0 &&
        ((pn == 2 && memcmp(prev, "-d", 2) == 0) ||
         (pn == 13 && memcmp(prev, "--directories", 13) == 0)))
        return 1;
    if (strchr(tool->letters, 'a') != NULL && n == 9 && memcmp(w, "--archive", 9) == 0)
        return 1;
    if (n >= 17 && memcmp(w, "--directories=rec", 17) == 0)
        return 1;
    if (n < 2 || w[0] != '-' || w[1] == '-')
        return 0;
    for (k = 1; k < n; k++)
        if (strchr(tool->letters, w[k]) != NULL)
            return 1;
    return 0;
}

/* The walker the word @w (@n bytes) names, or NULL. */
static const walker *walker_named(const char *w, size_t n)
{
    size_t k;

    for (k = 0; k < sizeof(walkers) / sizeof(walkers[0]); k++)
        if (names(w, n, walkers[k].name))
            return &walkers[k];
    return NULL;
}

/* Working directories a relative operand is read from
 * (chio__gp_check_walk_in), or none. */
typedef struct walk_dirs {
    const char *const *dirs;
    const size_t *lens;
    size_t n;
} walk_dirs;

/* The relative operand @w (@n bytes) read from each of @wd: a directory
 * above a prefix, or one under it, is a hit ("cd .. && grep -r x ." from
 * /workspace walks "/"; "cd .. && tar cf a.tar etc" reads /etc). */
static int walk_relative(path_hit *ph, const walk_dirs *wd, const char *w, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    size_t k, jl, most = 0;
    int rc = 0;

    for (k = 0; k < wd->n; k++)
        most = wd->lens[k] > most ? wd->lens[k] : most;
    if (most + n + 2 > sizeof(stack) && (j = heap = malloc(most + n + 2)) == NULL)
        return CHIO_ENOMEM;
    for (k = 0; rc == 0 && k < wd->n; k++) {
        memcpy(j, wd->dirs[k], wd->lens[k]);
        jl = wd->lens[k];
        j[jl++] = '/';
        memcpy(j + jl, w, n);
        jl += n;
        j[jl] = '\0';
        rc = chio__path_readings(j, jl, ancestor_reading, ph);
        if (rc != 1 && rc != CHIO_ENOMEM)
            rc = chio__gp_check_path_hits(ph, j, jl);
    }
    free(heap);
    return rc == 1 || rc == CHIO_ENOMEM ? rc : 0;
}

/* The glob @dir (@dl bytes) "/" @rel (@rl bytes, may be 0) "/" @tail
 * matched against the prefixes (chio__gp_check_glob_words): 1 for a hit,
 * 0, or CHIO_ENOMEM. */
static int listed_glob(path_hit *ph, const char *dir, size_t dl, const char *rel, size_t rl,
                       const char *tail)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    size_t tl = strlen(tail), jl = 0;
    int rc;

    if (dl + rl + tl + 3 > sizeof(stack) && (j = heap = malloc(dl + rl + tl + 3)) == NULL)
        return CHIO_ENOMEM;
    memcpy(j, dir, dl);
    jl = dl;
    if (rl > 0) {
        j[jl++] = '/';
        memcpy(j + jl, rel, rl);
        jl += rl;
    }
    j[jl++] = '/';
    memcpy(j + jl, tail, tl);
    jl += tl;
    j[jl] = '\0';
    rc = chio__gp_check_glob_words(ph, j, jl);
    free(heap);
    return rc == 1 || rc == CHIO_ENOMEM ? rc : 0;
}

/* A listing of one level ("ls /etc", "ls" after "cd /etc") whose names
 * are acted on ("| xargs cat", "| while read f"): each directory it lists
 * is read as the glob of its entries, the directory then a star (and
 * then a dot and a star with "-a" or "-A"), as "cat /etc/" and a star
 * is: a hit when a prefix is an entry of it (review 20 F8). A relative
 * operand, and none (".") are read from @wd. */
static int list_from(path_hit *ph, const char *t, size_t first, size_t end, const walk_dirs *wd)
{
    size_t i, e, k, operands = 0;
    int rc = 0, dots = 0;

    for (i = first; i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e - i >= 2 && t[i] == '-' && t[i + 1] != '-')
            dots |= memchr(t + i, 'a', e - i) != NULL || memchr(t + i, 'A', e - i) != NULL;
        else if (e - i > 2 && t[i] == '-')
            dots |= (e - i == 5 && memcmp(t + i, "--all", 5) == 0) ||
                    (e - i == 12 && memcmp(t + i, "--almost-all", 12) == 0);
    }
    for (i = first; rc == 0 && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e == i || t[i] == '-')
            continue; /* the end, or an option */
        operands++;
        if (t[i] == '/') {
            rc = listed_glob(ph, t + i, e - i, NULL, 0, "*");
            if (rc == 0 && dots)
                rc = listed_glob(ph, t + i, e - i, NULL, 0, ".*");
            continue;
        }
        for (k = 0; rc == 0 && wd != NULL && k < wd->n; k++) {
            rc = listed_glob(ph, wd->dirs[k], wd->lens[k], t + i, e - i, "*");
            if (rc == 0 && dots)
                rc = listed_glob(ph, wd->dirs[k], wd->lens[k], t + i, e - i, ".*");
        }
    }
    /* no operand: the working directory */
    for (k = 0; rc == 0 && operands == 0 && wd != NULL && k < wd->n; k++) {
        rc = listed_glob(ph, wd->dirs[k], wd->lens[k], NULL, 0, "*");
        if (rc == 0 && dots)
            rc = listed_glob(ph, wd->dirs[k], wd->lens[k], NULL, 0, ".*");
    }
    return rc;
}

/* Does the find command t[@i, @end) (after its name) give no starting
 * point: after its options -H, -L, -P, -D x, -On, nothing or an
 * expression word ("-maxdepth", "-name", "(", "!")? */
static int find_no_start(const char *t, size_t i, size_t end)
{
    size_t e;
    int arg = 0;

    for (; i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e == i)
            break;
        if (arg) {
            arg = 0;
            continue;
        }
        if (e - i == 2 && t[i] == '-' && strchr("HLP", t[i + 1]) != NULL)
            continue;
        if (e - i == 2 && t[i] == '-' && t[i + 1] == 'D') {
            arg = 1;
            continue;
        }
        if (e - i >= 2 && t[i] == '-' && t[i + 1] == 'O')
            continue;
        return t[i] == '-' || t[i] == '!' || t[i] == '(' || t[i] == ',' ||
               (t[i] == '\\' && e - i > 1 && (t[i + 1] == '(' || t[i + 1] == '!'));
    }
    return 1;
}

/* The command t[first, end) after the word that names @tool: whether it
 * walks, and its words above a prefix, the relative ones also read from
 * @wd. 1 for a hit, 0, or CHIO_ENOMEM. */
static int walk_from(path_hit *ph, const walker *tool, const char *t, size_t first, size_t end,
                     int piped, const walk_dirs *wd)
{
    size_t i, e, k, prev = 0, pn = 0, operands = 0;
    int walks = tool->letters[0] == '\0', rc = 0;

    if (tool->lists && walks && !piped) { /* only names: counts when acted on */
        walks = 0;
        for (i = first; !walks && i < end; i = e) {
            while (i < end && blank(t[i]))
                i++;
            e = word_end(t, i, end);
            for (k = 0; k < sizeof(acts) / sizeof(acts[0]) && !walks; k++)
                walks = e - i == strlen(acts[k]) && memcmp(t + i, acts[k], e - i) == 0;
        }
    }
    for (i = first; !walks && tool->letters[0] != '\0' && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        walks = e > i && walks_with(tool, t + prev, pn, t + i, e - i) && (!tool->lists || piped);
        prev = i;
        pn = e - i;
    }
    /* coreutils' "dir" and "vdir" are "ls" (review 21 F10) */
    if (!walks && piped &&
        (strcmp(tool->name, "ls") == 0 || strcmp(tool->name, "dir") == 0 ||
         strcmp(tool->name, "vdir") == 0))
        return list_from(ph, t, first, end, wd);
    for (i = first; walks && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e > i && t[i] == '/')
            rc = chio__path_readings(t + i, e - i, ancestor_reading, ph);
        else if (e > i && (rc = chio__gp_climb_readings(ph, t + i, e - i, no_reading, NULL)) ==
                              CHIO__GP_CLIMB_ABOVE)
            rc = 1; /* "..", "../..": "/" from a directory one below it */
        if (rc != 1 && rc != CHIO_ENOMEM && wd != NULL && e > i && t[i] != '/' && t[i] != '-')
            rc = walk_relative(ph, wd, t + i, e - i);
        if (rc == 1 || rc == CHIO_ENOMEM)
            return rc;
        operands += e > i && t[i] != '-';
        rc = 0;
    }
    /* a listing tool with no operand walks the working directory: "cd
     * /etc; ls -R | xargs cat", as "ls | xargs cat" (review 21 F10) */
    if (walks && tool->lists && operands == 0 && wd != NULL)
        return walk_relative(ph, wd, ".", 1);
    /* find with no starting point starts at "." (GNU find: "cd /etc &&
     * find -maxdepth 1 -exec cat {} +"; review 24 paths R4) */
    if (walks && wd != NULL && strcmp(tool->name, "find") == 0 && find_no_start(t, first, end))
        return walk_relative(ph, wd, ".", 1);
    return 0;
}

/* The walkers one command may name that are read; past them it is a hit
 * (a command naming "du du du ... grep -r x /" is not read in part). */
#define WALKERS_PER_COMMAND 16

/* One command t[i, end). Its tool is not known: each word that names a
 * walker, wherever it stands, is read as the tool with what follows it
 * (after assignments, wrappers and their arguments: "timeout 300 grep",
 * "env -u X grep", "sudo -u du grep"; after keywords: "then grep", "{
 * grep", "! grep"; after "eval" or in "bash -c", whose quotes the
 * reading has dropped). 1 for a hit, 0, or CHIO_ENOMEM. */
static int walk_command(path_hit *ph, const char *t, size_t i, size_t end, int piped,
                        const walk_dirs *wd)
{
    const walker *tool;
    size_t e, named = 0;
    int rc = 0;

    for (; rc == 0 && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e == i || (tool = walker_named(t + i, e - i)) == NULL)
            continue;
        if (++named > WALKERS_PER_COMMAND) {
            ph->prefix = 0;
            return 1;
        }
        rc = walk_from(ph, tool, t, e, end, piped, wd);
    }
    return rc;
}

/* Does the pipeline whose first command ends at t[@end] count what it
 * lists ("n=$(ls | wc -l)") rather than pass the names on? */
static int pipeline_counts(const char *t, size_t end, size_t n)
{
    size_t i = end, hops;

    for (hops = 0; hops < FILTERS_MAX && i < n && t[i] == '|'; hops++) {
        for (i++; i < n && (t[i] == ' ' || t[i] == '\t'); i++)
            ;
        if (word_at_is(t, i, n, (const char *const[]){"wc"}, 1))
            return 1;
        while (i < n && !cmd_break(t[i]))
            i++;
    }
    return 0;
}

/* Is the command at t[@i] (ending at @end) the inside of a command
 * substitution "$(..)" or an opening backtick (@tick) whose words become
 * operands ("cat $(ls)", "tar cf - $(ls)", "cat `ls | grep ^sha`",
 * "for f in $(ls)"; review 23 Q8)? Not when the command it stands in
 * (its first word at @outer) prints them ("echo $(ls)") or the pipeline
 * counts them ("$(ls | wc -l)"). */
static int operands_to_act(const char *t, size_t i, size_t end, size_t n, int tick, size_t outer)
{
    size_t k;

    if (!(i >= 2 && t[i - 1] == '(' && t[i - 2] == '$') && !(i >= 1 && t[i - 1] == '`' && tick))
        return 0;
    if (pipeline_counts(t, end, n))
        return 0;
    for (k = outer; k < i && blank(t[k]); k++)
        ;
    return !word_at_is(t, k, n, (const char *const[]){"echo", "printf"}, 2);
}

/* The bytes piped_to_act may read per byte of a text, in all. */
#define FILTER_BYTES_PER_TEXT 16

/* Does a word of the command t[@i, @end) name a walker? */
static int names_walker(const char *t, size_t i, size_t end)
{
    size_t e;

    for (; i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e > i && walker_named(t + i, e - i) != NULL)
            return 1;
    }
    return 0;
}

static int check_walk(path_hit *ph, const char *t, size_t len, const walk_dirs *wd)
{
    size_t i = 0, end, outer = 0, budget = FILTER_BYTES_PER_TEXT * len + PROGRAM_MAX;
    int rc = 0, tick = 0;

    if (wd == NULL && memchr(t, '/', len) == NULL && memmem(t, len, "..", 2) == NULL)
        return 0;
    while (rc == 0 && i < len) {
        for (end = i; end < len && !cmd_break(t[end]); end++)
            ;
        /* the filters after a command are read only when it names a
         * walker, within the text's budget (piped_to_act) */
        if (names_walker(t, i, end))
            rc = walk_command(ph, t, i, end,
                              piped_to_act(t, end, len, &budget) || substituted_to_act(t, i) ||
                                  operands_to_act(t, i, end, len, tick, outer),
                              wd);
        /* the command a substitution stands in starts after a list's
         * or a pipeline's separator, not after "$(", ")" or a backtick */
        if (end < len && t[end] == '`')
            tick = !tick;
        if (end < len && t[end] != '(' && t[end] != ')' && t[end] != '`')
            outer = end + 1;
        i = end + 1;
    }
    return rc;
}

int chio__gp_check_walk(path_hit *ph, const char *t, size_t len)
{
    return check_walk(ph, t, len, NULL);
}

int chio__gp_check_walk_in(path_hit *ph, const char *t, size_t len, const char *const *dirs,
                           const size_t *lens, size_t ndirs)
{
    walk_dirs wd = {dirs, lens, ndirs};

    return check_walk(ph, t, len, &wd);
}
