/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_domain.h - the domain_exact and domain_glob
 * constraints (see constraint_domain.c), called by constraints.c, and the
 * two helpers of constraints.c they share with path_prefix.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_DOMAIN_H
#define CHIO_KERNEL_CONSTRAINT_DOMAIN_H

#include <stdint.h>
#include <stddef.h>

#include "kernel_internal.h"
#include "scope.h"

/*
 * chio__domain_holds - 1 when every URL or host leaf of @args (and there
 * is one) names a host allowed by the domain_exact or domain_glob
 * constraint @c; else 0 with a reason in @reason (@cap bytes), which
 * quotes the value at fault unless a secret_leak guard flags it.
 */
int chio__domain_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap);
/* 1 when the value of the domain constraint @c alone matches no host
 * (empty, longer than a host name, a glob ending in '.'), with the
 * reason in @reason; else 0. */
int chio__domain_value_denies(const chio__constraint *c, char *reason, size_t cap);

/* leaf_host.c: the host chio reads in the string leaf @s (@n bytes), at
 * s[*@at] for *@len bytes: the value trimmed, after its first "://", up to
 * '/', '?' or '#', after the last '@', before the first ':', dots and
 * white space trimmed; 1 when it is "localhost" or a dotted name of ASCII
 * letters, digits and '-'. With @idn, 1 instead when it is such a name
 * holding bytes past ASCII (no Unicode space) whose last label is ASCII
 * letters, digits and '-' with a letter ("évil.com"). Else 0. */
int chio__leaf_host(const char *s, size_t n, int idn, size_t *at, size_t *len);

/* leaf_host.c: the hosts in every ':'-separated field of the string leaf
 * @s (@n bytes), read as chio__leaf_host reads the first, and in the
 * fields of its words ("--connect-to a.example:443:evil.com:443"; a word
 * of running text from its second field on, an option's value, glued
 * after '=' or the next word, whole): a dotted name or "localhost", a
 * bracketed IPv6 literal, or a WHATWG IPv4 number that is no count or
 * time ("3232235777:3128", "0xc0a80101", "user@2130706433"). Each is
 * handed to @each (its text, as written) with @ctx; its first nonzero
 * answer is returned, else 0. */
typedef int (*chio__leaf_host_fn)(void *ctx, const char *host, size_t n);
int chio__leaf_field_hosts(const char *s, size_t n, chio__leaf_host_fn each, void *ctx);
/* The same, with @extra (CHIO__PROG_* bits) added to every command
 * segment's programs: an argv array's element is read with its array's
 * (chio__leaf_programs; review 23 hostfix R1, H1, M1). */
int chio__leaf_field_hosts_in(const char *s, size_t n, int extra, chio__leaf_host_fn each,
                              void *ctx);

/* leaf_host.c: does the string leaf @s end with an option whose value,
 * a host, is the next word ("-x", "--proxy", "curl --connect-to")? Then
 * the next element of its array is that value ["-x", "2130706433"]. A
 * bundle of short options ("-sx") counts where @programs (the array's,
 * chio__leaf_programs' bits) hold CHIO__PROG_BUNDLE. */
int chio__leaf_takes_host(const char *s, size_t n, int programs);

/* leaf_host.c: the hosts of @s read as such an option's value (whole, a
 * bare IPv4 number included), handed to @each as chio__leaf_field_hosts
 * hands them. */
int chio__leaf_value_hosts(const char *s, size_t n, chio__leaf_host_fn each, void *ctx);

/* leaf_host.c: does @s (@n bytes) name a URL or host as an argument's
 * key would? */
int chio__leaf_host_key(const char *s, size_t n);

/* leaf_host_prog.c (the segments) and leaf_host_prog_words.c (the
 * names): the programs a leaf's command segments could run
 * (review 23 hostfix R1, H1, M1): CHIO__PROG_SSH where a token names ssh,
 * scp or sftp, CHIO__PROG_CONFIG git, npm, yarn, pnpm or pip,
 * CHIO__PROG_FETCH curl or wget, CHIO__PROG_BUNDLE curl, ssh, scp or
 * sftp (whose bundles hold -x or -J), and CHIO__PROG_ALL where the
 * segment's program cannot be known (an expansion or glob as its name,
 * an option word first). They arm the bundle reading (leaf_host.c) and
 * the KEY VALUE readings (leaf_host_kv.c) of the segment's words only.
 * chio__segs walks a leaf's segments in order: chio__segs_bits gives
 * the bits of every segment the word [wa, wb) touches (words in order).
 * chio__leaf_programs: every segment's, ORed;
 * chio__leaf_tokens_programs: the tokens' alone; chio__leaf_word_role:
 * what the word [a, b) is where a command's name stands. */
#define CHIO__PROG_SSH    1
#define CHIO__PROG_CONFIG 2
#define CHIO__PROG_FETCH  4
#define CHIO__PROG_BUNDLE 8
#define CHIO__PROG_ALL    15
#define CHIO__SEGS_DEPTH  64
#define CHIO__SEGS_JSON   16 /* with @extra: the leaf is JSON text */
/* with @extra: some leaf of the call could run ssh, git, curl or wget,
 * whose config text a leaf may write (review 24 hosts M1) */
#define CHIO__SEGS_CONNECTS 32
typedef struct chio__segs {
    const char *s;
    size_t n, pos, end, jdepth;
    uint64_t jobject;
    int bits, extra, quote, inherit, all, depth, json, escaped, defines;
    int cont; /* the next segment goes on a command (review 24 hosts H1) */
    unsigned char kind[CHIO__SEGS_DEPTH];
    int saved[CHIO__SEGS_DEPTH];
    /* the last word chio__prog_unknowable_at (leaf_host_prog_words.c)
     * scanned, [uk_from, uk_end), its start
     * uk_a and its last expansion or glob character uk_last + 1 (0:
     * none): each byte is scanned once (review 24 hosts C1) */
    size_t uk_from, uk_a, uk_end, uk_last;
} chio__segs;
void chio__segs_init(chio__segs *g, const char *s, size_t n, int extra);
int chio__segs_bits(chio__segs *g, size_t wa, size_t wb);
int chio__leaf_programs(const char *s, size_t n);
/* ... and in *@escaped the names some segment holds as an argument, not
 * as its command's name ("which curl", "ln -s /usr/bin/curl c"; every
 * program where one defines an alias or a function): another segment
 * may run them under another name. */
int chio__leaf_programs_escaped(const char *s, size_t n, int *escaped);
int chio__leaf_tokens_programs(const char *s, size_t n);
enum {
    CHIO__WORD_NONE,
    CHIO__WORD_UNKNOWABLE,
    CHIO__WORD_OPTION,
    CHIO__WORD_ASSIGN,
    CHIO__WORD_COUNT,
    CHIO__WORD_WRAPPER,
    CHIO__WORD_COMMAND,
};
int chio__leaf_word_role(const char *s, size_t a, size_t b);
/* The walk to a command's name past assignments, wrappers, a wrapper's
 * options and counts, and the word after such an option (its value, or
 * the name: "sudo -u bob curl"): each word's role in turn, 1 when it is
 * the name, 0 to read on. @w starts zeroed. One walk for the three
 * readings of a command's name (leaf_host_prog_words.c, the argv arrays
 * of constraint_domain.c). */
typedef struct chio__cmd_walk {
    int wrapped, after_option;
} chio__cmd_walk;
int chio__cmd_walk_step(chio__cmd_walk *w, int role);

/* leaf_host_kv.c: the KEY VALUE readings of a leaf's words (review 22
 * hosts M1, H2-H4, H6), armed by st->programs, the bits of the word's
 * segment (set before each word). chio__kv_word takes each word [a, b)
 * of a leaf in turn, with the state @st (set by chio__kv_init), and
 * hands each host it reads to @each. */
typedef struct chio__kv {
    int programs, mode, command, prev_key, prev_printf, skip_next;
    size_t words;
    /* review 23 hostfix H2, H3, M1 (leaf_host_kv.c) */
    int written, at_cmd, cmd, forward, reading, quiet, quiet_cmd, quiet_next, gcp;
    char quiet_quote;
    const char *read_name;
    size_t read_len;
} chio__kv;
void chio__kv_init(chio__kv *st, int programs);
/* leaf_host_kv_text.c, review 23 hostfix H3: arms the config-text
 * readings for a leaf @s that
 * writes text to a file or pipe ('>', '>>', tee, a heredoc, '|'); and,
 * after its last word, chio__kv_end hands on a pending "read KEY" whose
 * value cannot be read. */
void chio__kv_text(chio__kv *st, const char *s, size_t n);
/* review 24 hosts M1: chio__kv_text, armed only where @connects (the
 * call could run ssh, git, curl or wget) or the text goes to a file such
 * a program reads (~/.ssh/config, *ssh_config, .gitconfig, .git/config,
 * .curlrc, .wgetrc, .npmrc, pip.conf): "host = 0.0.0.0" into app.py is
 * no config text. */
void chio__kv_text_for(chio__kv *st, const char *s, size_t n, int connects);
/* review 24 hosts M1: could a call whose programs are @bits (CHIO__PROG_*)
 * run ssh, git, curl or wget? @git: its text names git anywhere
 * (chio__kv_names_git; CHIO__PROG_CONFIG is also npm's and pip's). */
int chio__kv_connects(int bits, int git);
int chio__kv_names_git(const char *s, size_t n);
int chio__kv_end(chio__kv *st, chio__leaf_host_fn each, void *ctx);
int chio__kv_word(chio__kv *st, const char *s, size_t a, size_t b, chio__leaf_host_fn each,
                  void *ctx);

/* constraints.c: every number and boolean leaf of @v as its JSON text,
 * with its nearest key (chio__each_string's walk). */
int chio__each_scalar(const chio_json *v, int (*fn)(void *, chio__key *, const char *, size_t),
                      void *ctx);

/* constraints.c: a string leaf @s (@n bytes) under @key that is itself a
 * JSON object or array ("{\"host\": \"evil.com\"}", a body or options
 * a tool parses): every string value and object key in it is handed to
 * @text and every number and boolean to @scalar (either may be NULL),
 * with @key as the enclosing key of its members, as if it stood there in
 * the arguments. @depth counts the layers of such JSON above @s (0 for
 * an argument's own leaf); the callbacks call this again for the strings
 * they are handed, with @depth + 1. 0 when @s is no JSON object or array
 * (or every leaf holds), the callbacks' nonzero answer, or
 * CHIO__EMBEDDED_AMBIGUOUS when it cannot be read unambiguously: a
 * duplicate key (readers take the first or the last), JSON deeper than
 * CHIO__EMBEDDED_MAX layers, or no memory. */
#define CHIO__EMBEDDED_MAX       4
#define CHIO__EMBEDDED_AMBIGUOUS (-1000)
int chio__each_embedded(const char *s, size_t n, chio__key *key, int depth,
                        int (*text)(void *, chio__key *, const char *, size_t, int),
                        int (*scalar)(void *, chio__key *, const char *, size_t), void *ctx);
/* embedded_json.c: the parse chio__each_embedded() makes of @s (@n bytes)
 * at @depth layers: 1 with *@doc the JSON it holds (free with
 * chio_json_doc_free()): strict JSON, or else the values a lenient reader
 * takes from it (a stream of values, comments, trailing commas, single
 * quotes, bare names; several as one array); 0 when it holds none (*@doc
 * NULL: text), CHIO__EMBEDDED_AMBIGUOUS when it cannot be read one way
 * (also JSON only a lenient reader takes whose members we cannot read: a
 * lone surrogate, 1e400, NaN in text we do not rewrite; *@doc NULL). */
int chio__embedded_parse(const char *s, size_t n, int depth, chio_json_doc **doc);

/* constraints.c: when a built-in secret_leak guard of @k flags @s (@n
 * bytes), @reason is rewritten to name the constraint @c only (the
 * receipt redacts that value from its parameters). */
void chio__unquote_secret(chio_kernel *k, const char *s, size_t n, const chio__constraint *c,
                          char *reason, size_t cap);

#endif /* CHIO_KERNEL_CONSTRAINT_DOMAIN_H */
