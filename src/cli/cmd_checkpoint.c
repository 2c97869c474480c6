/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_checkpoint.c - the `chio checkpoint` group over a kernel's
 * receipt log (--receipt-db): `checkpoint list` (the stored checkpoints),
 * `checkpoint prove` (a receipt's inclusion proof in the checkpoint that
 * covers it) and `checkpoint verify-proof` (a proof checked against its
 * receipt and a verified, optionally trusted, checkpoint). The log is
 * opened for reading with cli_open_store (cmd_store.c); the CLI reads the
 * public API only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char checkpoint_usage[] =
    "usage: chio checkpoint <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  list --receipt-db DIR                            the stored checkpoints\n"
    "  prove --receipt-db DIR (--receipt ID | --seq N)  the inclusion proof of a receipt\n"
    "  verify-proof [--receipt FILE] [--receipt-db DIR] [--checkpoint FILE]\n"
    "               [--trusted-key HEX]... [PROOF]      check an inclusion proof\n"
    "\n"
    "  chio checkpoint <subcommand> --help    all options of one subcommand\n";

static const char cp_list_usage[] =
    "usage: chio checkpoint list --receipt-db DIR\n"
    "\n"
    "Print every stored checkpoint, oldest first, one per line as stored:\n"
    "{\"body\":{chio.checkpoint_statement.v1},\"signature\":..}.\n";

static const char prove_usage[] =
    "usage: chio checkpoint prove --receipt-db DIR (--receipt ID | --seq N)\n"
    "\n"
    "Print the inclusion proof of a receipt in the checkpoint that covers it:\n"
    "{\"checkpoint_seq\",\"receipt_seq\",\"leaf_index\",\"merkle_root\",\n"
    " \"proof\":{\"tree_size\",\"leaf_index\",\"audit_path\":[\"0x..\",..]}}.\n"
    "Exit 1 when no stored checkpoint covers the receipt: not yet, or (stderr says\n"
    "so) the one that covered it is missing or invalid.\n";

static const char verify_proof_usage[] =
    "usage: chio checkpoint verify-proof [--receipt FILE] [--receipt-db DIR]\n"
    "                                    [--checkpoint FILE] [--trusted-key HEX]... [PROOF]\n"
    "\n"
    "Check an inclusion proof (from PROOF or stdin): the receipt's canonical bytes\n"
    "must hash up to the proof's merkle_root. The receipt comes from --receipt or,\n"
    "by receipt_seq, from --receipt-db. The checkpoint (--checkpoint, or by\n"
    "checkpoint_seq from --receipt-db) must verify, be trusted when --trusted-key\n"
    "is given, carry the same root and cover receipt_seq at leaf_index. Without a\n"
    "checkpoint the root is the proof's own claim: ok is false.\n"
    "Prints a JSON report; exit 0 valid, 1 invalid, 2 bad input.\n";

static int print_line(void *ctx, uint64_t seq, const char *json, size_t len)
{
    (void)ctx;
    /* One checkpoint per line of printable JSON: a stored value holding a
     * line break or another control byte, or bytes that are not UTF-8 (no
     * kernel writes them), would add lines of its own making or send a
     * crafted store's escape sequences to the terminal (review 6). */
    if (!cli_printable_json(json, len)) {
        fprintf(stderr,
                "chio checkpoint list: checkpoint %llu is not one line of JSON text (a control "
                "byte or bytes that are not UTF-8) and is left out; run chio receipt verify "
                "--receipt-db\n",
                (unsigned long long)seq);
        return 0;
    }
    return cli_write(json, len) || cli_write("\n", 1) ? CLI_USAGE : 0;
}

static int checkpoint_list(int argc, char **argv)
{
    cli_opt opts[] = {{"receipt-db", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    chio_store *s;
    chio_error err;
    int rc;

    rc = cli_parse(argc, argv, opts, 1, pos, 0, &npos, "checkpoint list", cp_list_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    s = cli_open_store("checkpoint list", opts[0].value);
    if (s == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    rc = chio_store_scan_checkpoints(s, 1, print_line, NULL, &err);
    chio_store_close(s);
    if (rc < 0)
        return cli_lib_error("checkpoint list", "reading checkpoints", rc, &err);
    return rc ? CLI_USAGE : CLI_OK;
}

typedef struct find_cp {
    uint64_t seq;
    chio_checkpoint *found;
    int err;
    uint64_t later, later_start; /* the first checkpoint of receipts after seq (0: none) */
    uint64_t bad;                /* the first one unreadable or under another number */
} find_cp;

static int find_covering(void *ctx, uint64_t cseq, const char *json, size_t len)
{
    find_cp *f = ctx;
    chio_checkpoint *cp = NULL;

    /* One that does not parse, or is stored under a number its body does
     * not carry (swapped, copied), covers nothing here: the audit names
     * it. */
    if (chio_checkpoint_parse(json, len, &cp, NULL) != 0 || chio_checkpoint_seq(cp) != cseq) {
        chio_checkpoint_free(cp);
        if (f->bad == 0)
            f->bad = cseq;
        return 0;
    }
    if (chio_checkpoint_batch_start(cp) <= f->seq && f->seq <= chio_checkpoint_batch_end(cp)) {
        f->found = cp;
        return 1;
    }
    if (chio_checkpoint_batch_start(cp) > f->seq && f->later == 0) {
        f->later = cseq;
        f->later_start = chio_checkpoint_batch_start(cp);
    }
    chio_checkpoint_free(cp);
    return 0;
}

/* No stored checkpoint covers receipt @f->seq. A kernel covers every
 * receipt up to its newest checkpoint's end (from where the log starts),
 * so with a checkpoint for later receipts stored, or one that cannot be
 * read, the one that covered it is gone or damaged: before review 19
 * (audit) F1 this said "not covered by a checkpoint yet"
 * [`rev59_audit_counts::prove_names_a_deleted_covering_checkpoint`]. */
static int prove_uncovered(const find_cp *f, const char *dir)
{
    if (f->later != 0)
        fprintf(stderr,
                "chio checkpoint prove: receipt %llu is in no stored checkpoint, but checkpoint "
                "%llu covers later receipts (from %llu): the checkpoint that covered it is "
                "missing or invalid; audit the log with chio receipt verify --receipt-db %s\n",
                (unsigned long long)f->seq, (unsigned long long)f->later,
                (unsigned long long)f->later_start, dir);
    else if (f->bad != 0)
        fprintf(stderr,
                "chio checkpoint prove: receipt %llu is in no readable checkpoint: checkpoint "
                "%llu is unreadable or stored under another number (the one covering it may be "
                "that one); audit the log with chio receipt verify --receipt-db %s\n",
                (unsigned long long)f->seq, (unsigned long long)f->bad, dir);
    else
        fprintf(stderr, "chio checkpoint prove: receipt %llu is not covered by a checkpoint yet\n",
                (unsigned long long)f->seq);
    return CLI_NEGATIVE;
}

typedef struct leaves {
    uint8_t *data;
    size_t n, cap;
    uint64_t end;
    int oom;
} leaves;

static int collect_leaf(void *ctx, uint64_t seq, const char *json, size_t len)
{
    leaves *l = ctx;

    if (seq > l->end)
        return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 128;
        uint8_t *p = realloc(l->data, cap * 32);
        if (p == NULL) {
            l->oom = 1;
            return 1;
        }
        l->data = p;
        l->cap = cap;
    }
    return chio_merkle_leaf_hash(json, len, l->data + 32 * l->n++) == 0 ? 0 : 1;
}

/* A seq the store does not hold: say which it does, so that a receipt moved
 * to an archive (chio receipt archive, retention) or not written yet is told
 * from a typo. Closes @s; returns the usage status. */
static int prove_no_such_seq(chio_store *s, const char *dir, uint64_t seq)
{
    uint64_t first = 0, last = 0;
    chio_error err;

    chio_error_init(&err);
    if (chio_store_seq_range(s, &first, &last, &err) != 0 || last == 0) {
        chio_store_close(s);
        return cli_error("checkpoint prove", "no receipt with sequence number %llu: %s holds none",
                         (unsigned long long)seq, dir);
    }
    chio_store_close(s);
    return cli_error(
        "checkpoint prove", "no receipt with sequence number %llu: %s holds seqs %llu to %llu%s",
        (unsigned long long)seq, dir, (unsigned long long)first, (unsigned long long)last,
        seq < first ? " (older ones were archived: prove it with --receipt-db "
                      "set to the archive log)"
                    : "");
}

static int checkpoint_prove(int argc, char **argv)
{
    cli_opt opts[] = {
        {"receipt-db", 1, 0, 0, 0, 0}, {"receipt", 1, 0, 0, 0, 0}, {"seq", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos, len;
    chio_store *s;
    chio_error err;
    find_cp f;
    leaves l;
    chio_inclusion_proof p;
    char *json = NULL;
    int rc;

    rc = cli_parse(argc, argv, opts, 3, pos, 0, &npos, "checkpoint prove", prove_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if ((opts[1].value == NULL) == (opts[2].value == NULL))
        return cli_error("checkpoint prove", "give exactly one of --receipt ID and --seq N");
    memset(&f, 0, sizeof(f));
    if (opts[2].value && (cli_u64(opts[2].value, &f.seq) != 0 || f.seq == 0))
        return cli_error("checkpoint prove", "--seq must be a positive integer");
    s = cli_open_store("checkpoint prove", opts[0].value);
    if (s == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    if (opts[1].value && chio_store_find_receipt(s, opts[1].value, &f.seq, &err) != 0) {
        chio_store_close(s);
        return cli_error("checkpoint prove", "no receipt with id %s in %s", opts[1].value,
                         opts[0].value);
    }
    if (chio_store_get_receipt(s, f.seq, &json, &len, &err) != 0)
        return prove_no_such_seq(s, opts[0].value, f.seq);
    free(json);
    rc = chio_store_scan_checkpoints(s, 1, find_covering, &f, &err);
    if (rc < 0 || f.found == NULL) {
        chio_store_close(s);
        if (rc < 0)
            return cli_lib_error("checkpoint prove", "reading checkpoints", rc, &err);
        return prove_uncovered(&f, opts[0].value);
    }
    memset(&l, 0, sizeof(l));
    l.end = chio_checkpoint_batch_end(f.found);
    rc = chio_store_scan(s, chio_checkpoint_batch_start(f.found), collect_leaf, &l, &err);
    chio_store_close(s);
    memset(&p, 0, sizeof(p));
    p.checkpoint_seq = chio_checkpoint_seq(f.found);
    p.receipt_seq = f.seq;
    memcpy(p.merkle_root, chio_checkpoint_merkle_root(f.found), 32);
    if (rc < 0 || l.oom || l.n != chio_checkpoint_tree_size(f.found) ||
        chio_merkle_prove(l.data, l.n, f.seq - chio_checkpoint_batch_start(f.found), &p.proof) !=
            0 ||
        chio_merkle_verify(l.data + 32 * (f.seq - chio_checkpoint_batch_start(f.found)), &p.proof,
                           p.merkle_root) != 0) {
        free(l.data);
        chio_checkpoint_free(f.found);
        return cli_error("checkpoint prove",
                         "the stored receipts of checkpoint %llu do not rebuild its Merkle root "
                         "(run chio receipt verify --receipt-db)",
                         (unsigned long long)p.checkpoint_seq);
    }
    free(l.data);
    chio_checkpoint_free(f.found);
    rc = chio_inclusion_proof_json(&p, &json, &len);
    if (rc != 0)
        return cli_error("checkpoint prove", "out of memory");
    cli_write(json, len);
    cli_write("\n", 1);
    chio_free(json);
    return CLI_OK;
}

/* Is @hex (a checkpoint's kernel key) one of the @n keys at @keys? */
static int key_listed(const char *hex, const uint8_t *keys, size_t n)
{
    uint8_t key[32];
    size_t i;

    if (chio_pubkey_from_hex(hex, strlen(hex), key) != 0)
        return 0;
    for (i = 0; i < n; i++)
        if (memcmp(keys + 32 * i, key, 32) == 0)
            return 1;
    return 0;
}

/*
 * Which body rule checkpoint @cp breaks, into @why, once
 * chio_checkpoint_verify() said CHIO_ECORRUPT: that comes only after its
 * signature verified, so calling it a bad signature sent an auditor after
 * a forgery when a kernel had signed an inconsistent body.
 */
static void body_problem(const chio_checkpoint *cp, char *why, size_t cap)
{
    unsigned long long start = chio_checkpoint_batch_start(cp), end = chio_checkpoint_batch_end(cp);
    const char *pre = "its signature verifies but its body is inconsistent";

    if (chio_checkpoint_seq(cp) == 0)
        snprintf(why, cap, "%s: checkpoint_seq is 0", pre);
    else if (start == 0)
        snprintf(why, cap, "%s: batch_start_seq is 0", pre);
    else if (end < start)
        snprintf(why, cap, "%s: batch_end_seq %llu is before batch_start_seq %llu", pre, end,
                 start);
    else
        snprintf(why, cap, "%s: tree_size %llu is not batch_end_seq - batch_start_seq + 1 (%llu)",
                 pre, (unsigned long long)chio_checkpoint_tree_size(cp), end - start + 1);
}

/*
 * Why checkpoint @cp cannot vouch for proof @p, written into @why, or NULL
 * when it can: it verifies, is the checkpoint the proof names, holds its
 * root and tree size, covers its receipt at its leaf, and (with
 * --trusted-key) is signed by a trusted key. "checkpoint_valid":false alone
 * read as a forged checkpoint when it was only another one (the newest of
 * `checkpoint list`, say), so stderr says which of these failed.
 */
static const char *checkpoint_refusal(const chio_checkpoint *cp, const chio_inclusion_proof *p,
                                      const uint8_t *keys, size_t ntrusted, char *why, size_t cap)
{
    uint64_t start = chio_checkpoint_batch_start(cp);
    int rc = chio_checkpoint_verify(cp);

    if (rc == CHIO_ECORRUPT)
        body_problem(cp, why, cap);
    else if (rc == CHIO_EBADSIG)
        snprintf(why, cap, "its signature does not verify");
    else if (rc != 0)
        snprintf(why, cap, "its signature could not be checked (%s)", chio_strerror(rc));
    else if (chio_checkpoint_seq(cp) != p->checkpoint_seq)
        snprintf(why, cap, "it is checkpoint %llu and the proof names checkpoint %llu",
                 (unsigned long long)chio_checkpoint_seq(cp),
                 (unsigned long long)p->checkpoint_seq);
    else if (memcmp(chio_checkpoint_merkle_root(cp), p->merkle_root, 32) != 0)
        snprintf(why, cap, "its merkle_root is not the proof's");
    else if (chio_checkpoint_tree_size(cp) != p->proof.tree_size)
        snprintf(why, cap, "its tree has %llu leaves and the proof's %llu",
                 (unsigned long long)chio_checkpoint_tree_size(cp),
                 (unsigned long long)p->proof.tree_size);
    else if (p->receipt_seq != start + p->proof.leaf_index)
        snprintf(why, cap, "its leaf %llu is receipt %llu, not receipt %llu",
                 (unsigned long long)p->proof.leaf_index,
                 (unsigned long long)(start + p->proof.leaf_index),
                 (unsigned long long)p->receipt_seq);
    else if (ntrusted > 0 && !key_listed(chio_checkpoint_kernel_key_hex(cp), keys, ntrusted))
        snprintf(why, cap, "it is signed by %s, which is not a --trusted-key",
                 chio_checkpoint_kernel_key_hex(cp));
    else
        return NULL;
    return why;
}

/*
 * A --receipt read as the library reads a receipt, or NULL (said on
 * stderr). Its leaf is chio_receipt_json(): the normalised canonical bytes
 * (null optionals and empty lists dropped, kernel_key and signature
 * lowercase) that `receipt verify` checks and chio hashes, so a receipt
 * another tool re-spelled proves as it verifies. Stored receipts need no
 * reading: the kernel wrote them in that form and hashed them as stored.
 */
static chio_receipt *receipt_as_read(const char *text, size_t len, const char *file)
{
    chio_receipt *r = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_receipt_parse(text, len, &r, &err);
    if (rc != 0) {
        cli_error("checkpoint verify-proof", "--receipt %s is not a receipt: %s (%s)", file,
                  err.message[0] ? err.message : chio_strerror(rc), chio_errno_name(rc));
        return NULL;
    }
    return r;
}

static int checkpoint_verify_proof(int argc, char **argv)
{
    cli_opt opts[] = {{"receipt", 1, 0, 0, 0, 0},
                      {"receipt-db", 1, 0, 0, 0, 0},
                      {"checkpoint", 1, 0, 0, 0, 0},
                      {"trusted-key", 1, 1, 0, 0, 0}};
    const char *pos[1];
    size_t npos, len, rlen = 0, clen = 0, ntrusted = 0;
    chio_inclusion_proof p;
    chio_checkpoint *cp = NULL;
    chio_receipt *rec = NULL;
    chio_store *s = NULL;
    chio_error err;
    uint8_t *keys = NULL;
    char *text = NULL, *receipt = NULL, *cptext = NULL, why[256];
    const char *refused = NULL, *leaf;
    int rc, inclusion, cp_ok = 1, checked = 0;

    rc = cli_parse(argc, argv, opts, 4, pos, 1, &npos, "checkpoint verify-proof",
                   verify_proof_usage);
    if (rc == 0)
        rc = cli_trusted_keys("checkpoint verify-proof", &opts[3], &keys, &ntrusted);
    free(opts[3].values);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    rc = CLI_USAGE;
    text = cli_read_input("checkpoint verify-proof", npos ? pos[0] : NULL, &len);
    if (text == NULL)
        goto out;
    chio_error_init(&err);
    if (chio_inclusion_proof_parse(text, len, &p, &err) != 0) {
        cli_lib_error("checkpoint verify-proof", "proof", err.code, &err);
        goto out;
    }
    if (opts[1].value != NULL &&
        (s = cli_open_store("checkpoint verify-proof", opts[1].value)) == NULL)
        goto out;
    if (opts[0].value != NULL)
        receipt = cli_read_input("checkpoint verify-proof", opts[0].value, &rlen);
    else if (s != NULL && chio_store_get_receipt(s, p.receipt_seq, &receipt, &rlen, &err) != 0)
        receipt = NULL;
    if (receipt == NULL) {
        cli_error("checkpoint verify-proof",
                  "the receipt is needed: --receipt FILE, or --receipt-db holding seq %llu",
                  (unsigned long long)p.receipt_seq);
        goto out;
    }
    if (opts[0].value != NULL && (rec = receipt_as_read(receipt, rlen, opts[0].value)) == NULL)
        goto out;
    if (opts[2].value != NULL) {
        cptext = cli_read_input("checkpoint verify-proof", opts[2].value, &clen);
        if (cptext == NULL)
            goto out;
    } else if (s != NULL &&
               chio_store_get_checkpoint(s, p.checkpoint_seq, &cptext, &clen, &err) != 0) {
        cptext = NULL; /* the store should have it: said below */
    }
    if (cptext != NULL) {
        checked = 1;
        if (chio_checkpoint_parse(cptext, clen, &cp, &err) != 0) {
            cli_lib_error("checkpoint verify-proof", "checkpoint", err.code, &err);
            goto out;
        }
        refused = checkpoint_refusal(cp, &p, keys, ntrusted, why, sizeof(why));
        cp_ok = refused == NULL;
    }
    leaf = rec != NULL ? chio_receipt_json(rec, &rlen) : receipt;
    rc = chio_inclusion_proof_verify(&p, leaf, rlen);
    if (rc != 0 && rc != CHIO_EPROOF) {
        cli_error("checkpoint verify-proof", "the receipt is not JSON: %s", chio_strerror(rc));
        rc = CLI_USAGE;
        goto out;
    }
    inclusion = rc == 0;
    /* A proof carries its own merkle_root: without a signed checkpoint
     * holding that root, any receipt "verifies" against a tree of itself. */
    if (!checked && s != NULL) {
        cp_ok = 0;
        fprintf(stderr,
                "chio checkpoint verify-proof: %s holds no checkpoint %llu, so none was "
                "checked: the proof is from another log, or that checkpoint was archived (give "
                "the archive as --receipt-db, or --checkpoint FILE)\n",
                opts[1].value, (unsigned long long)p.checkpoint_seq);
    } else if (!checked) {
        cp_ok = 0;
        fprintf(stderr, "chio checkpoint verify-proof: no checkpoint was checked: the proof's "
                        "merkle_root is only its own claim; pass --checkpoint FILE or "
                        "--receipt-db DIR\n");
    } else if (refused != NULL) {
        fprintf(stderr,
                "chio checkpoint verify-proof: the checkpoint does not vouch for this "
                "proof: %s\n",
                refused);
    } else if (ntrusted == 0) {
        fprintf(stderr, "chio checkpoint verify-proof: no --trusted-key given: the checkpoint was "
                        "checked against the key it names itself, not against a key you trust\n");
    }
    printf("{\"checkpoint_checked\":%s,\"checkpoint_seq\":%llu,\"checkpoint_valid\":%s,"
           "\"inclusion_valid\":%s,\"leaf_index\":%llu,\"ok\":%s,\"receipt_seq\":%llu}\n",
           checked ? "true" : "false", (unsigned long long)p.checkpoint_seq,
           checked ? (cp_ok ? "true" : "false") : "null", inclusion ? "true" : "false",
           (unsigned long long)p.proof.leaf_index, inclusion && cp_ok ? "true" : "false",
           (unsigned long long)p.receipt_seq);
    rc = inclusion && cp_ok ? CLI_OK : CLI_NEGATIVE;
out:
    chio_checkpoint_free(cp);
    chio_receipt_free(rec);
    chio_store_close(s);
    free(text);
    free(receipt);
    free(cptext);
    free(keys);
    return rc;
}

int cmd_checkpoint(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"list", checkpoint_list},
                                          {"prove", checkpoint_prove},
                                          {"verify-proof", checkpoint_verify_proof}};
    return cli_dispatch("checkpoint", argc, argv, subs, 3, checkpoint_usage);
}
