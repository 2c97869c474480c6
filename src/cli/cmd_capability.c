/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_capability.c - `chio capability issue` and `chio capability verify`.
 *
 * verify prints one JSON report per token (verify.c holds the report and
 * its ok rule): `ok` = signature valid, time status valid, delegation chain
 * shape valid and, when --trusted-key was given, the issuer is one of those
 * keys; without --trusted-key issuer_trusted is null. `ok` is that rule
 * alone, as chio's verify and tests/interop's model of it read a token. A
 * token holding something the kernel does not enforce
 * (chio_capability_unenforced(): a field or attenuation chio's types do
 * not have, a grant asking for what the kernel cannot check) also gets an
 * "unusable" member naming it (review 47: the report said nothing while
 * the kernel denied the calls under such a grant, unsupported_grant), and
 * so does a grant with a constraint whose value alone denies every call
 * (chio_capability_never_allows(): a regex the kernel does not read, a
 * path prefix no path lies under; review 6 CLI F2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char capability_usage[] =
    "usage: chio capability <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  issue --seed-file FILE --subject HEX --scope JSON --ttl SECS [--id ID] [--now UNIX]\n"
    "                             sign a capability token\n"
    "  verify --at UNIX [--trusted-key HEX]... [--max-depth N] [FILE]\n"
    "                             verify capability tokens\n"
    "\n"
    "  chio capability <subcommand> --help    all options of one subcommand\n";

static const char issue_usage[] =
    "usage: chio capability issue --seed-file FILE --subject HEX --scope JSON --ttl SECS\n"
    "                             [--id ID] [--now UNIX]\n"
    "\n"
    "Sign a chio.capability.v1 token with the seed in FILE (the issuer) for the\n"
    "agent key --subject, valid from --now (default: the current time) for --ttl\n"
    "seconds. --scope is a JSON object {\"grants\":[...],\"resource_grants\":[...],\n"
    "\"prompt_grants\":[...]}. --id defaults to a new UUIDv7; one over 256 bytes is\n"
    "refused (a kernel cannot revoke it, so it denies the token). Prints the token\n"
    "as canonical JSON and a newline.\n";

static const char verify_usage[] =
    "usage: chio capability verify --at UNIX [--trusted-key HEX]... [--max-depth N] [FILE]\n"
    "\n"
    "Verify capability tokens from FILE or stdin (one per line, or one JSON\n"
    "document) at time --at. Prints one JSON report per token with id,\n"
    "signature_valid, time_status (valid, not_yet_valid, expired),\n"
    "delegation_chain_shape_valid, issuer_trusted, checked, not_checked and ok.\n"
    "ok = signature valid, time valid, chain valid (at most --max-depth links\n"
    "when given) and, when --trusted-key (repeatable) is given, a trusted issuer.\n"
    "Without --trusted-key the issuer is not checked: issuer_trusted is null,\n"
    "\"issuer\" is listed in not_checked and a note on stderr says so.\n"
    "A token with a part the kernel does not enforce (a field or attenuation\n"
    "chio has no type for, a grant asking for what the kernel cannot check,\n"
    "such as dpop_required or a cost cap) also gets \"unusable\", saying what:\n"
    "the kernel denies the calls only that part would allow. So does a token\n"
    "whose id, or a delegation link's, is empty or over 256 bytes: the kernel\n"
    "cannot revoke it and denies every call under it (capability_revoked),\n"
    "and a grant with a constraint whose value alone denies every call (a\n"
    "regex the kernel does not read, a path prefix holding a word break),\n"
    "and a token whose own scope or expiry contradicts an attenuation of its\n"
    "delegation chain (delegation_invalid).\n"
    "Exit 0 when every token is ok, 1 when one is not, 2 on unreadable input.\n";

static int capability_issue(int argc, char **argv)
{
    cli_opt opts[] = {{"seed-file", 1, 0, 0, 0, 0}, {"subject", 1, 0, 0, 0, 0},
                      {"scope", 1, 0, 0, 0, 0},     {"ttl", 1, 0, 0, 0, 0},
                      {"id", 1, 0, 0, 0, 0},        {"now", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos, len;
    uint64_t ttl, now;
    chio_keypair *kp;
    chio_capability *cap = NULL;
    chio_error err;
    const char *out;
    int rc;

    rc = cli_parse(argc, argv, opts, 6, pos, 0, &npos, "capability issue", issue_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (!opts[0].value || !opts[1].value || !opts[2].value || !opts[3].value)
        return cli_error("capability issue", "--seed-file, --subject, --scope and --ttl are "
                                             "required (see --help)");
    if (cli_u64(opts[3].value, &ttl) != 0 || ttl == 0)
        return cli_error("capability issue", "--ttl must be a positive number of seconds");
    if (opts[4].value != NULL && strlen(opts[4].value) > CHIO_MAX_REVOCATION_ID_LEN)
        return cli_error("capability issue",
                         "--id is %zu bytes; a kernel revokes only ids of 1 to %d bytes and "
                         "denies a token with any other (capability_revoked), as "
                         "chio_kernel_issue_capability() refuses it",
                         strlen(opts[4].value), CHIO_MAX_REVOCATION_ID_LEN);
    now = (uint64_t)time(NULL);
    if (opts[5].value && cli_u64(opts[5].value, &now) != 0)
        return cli_error("capability issue", "--now must be Unix seconds (a non-negative integer)");
    kp = cli_load_seed("capability issue", opts[0].value);
    if (kp == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    rc = chio_capability_issue(kp, opts[4].value, opts[1].value, opts[2].value,
                               strlen(opts[2].value), now, ttl, &cap, &err);
    chio_keypair_free(kp);
    if (rc != 0)
        return cli_lib_error("capability issue", "cannot issue", rc, &err);
    /* A grant asking for what the kernel does not enforce (dpop_required,
     * a cost cap, an unknown constraint type) is denied unsupported_grant
     * at every call. The token is signed as chio signs it (the bytes stay
     * chio's), with a warning: printed silently, dpop_required read as a
     * hardened token that in fact allows nothing (review 6). */
    {
        char why[400];
        if (chio_capability_unenforced(cap, why, sizeof(why)) == 1)
            fprintf(stderr,
                    "chio capability issue: warning: %s; the kernel denies every call that only "
                    "that grant would allow (unsupported_grant)\n",
                    why);
        /* A constraint whose value no argument can meet (a regex the
         * kernel does not read, a prefix holding a word break): enforced,
         * and so the grant allows nothing (constraint_violated). */
        int dead = 0;
        if (chio_capability_never_allows(cap, &dead, why, sizeof(why)) == 0 && dead)
            fprintf(stderr, "chio capability issue: warning: %s\n", why);
    }
    out = chio_capability_json(cap, &len);
    rc = cli_write(out, len);
    if (rc == 0)
        rc = cli_write("\n", 1);
    chio_capability_free(cap);
    return rc;
}

/* An id of @cap the kernel's revocation list cannot hold (empty, or over
 * CHIO_MAX_REVOCATION_ID_LEN bytes), described into @why: such a token
 * could never be revoked, so the kernel denies it at check 3
 * (capability_revoked). 0 when every id can be revoked. */
static int unrevocable(const chio_capability *cap, char *why, size_t why_cap)
{
    size_t i, n = strlen(chio_capability_id(cap));
    const char *id;

    if (n == 0 || n > CHIO_MAX_REVOCATION_ID_LEN) {
        snprintf(why, why_cap,
                 "the capability id is %zu bytes; only ids of 1 to %d bytes can be revoked, so "
                 "the kernel refuses the token (capability_revoked)",
                 n, CHIO_MAX_REVOCATION_ID_LEN);
        return 1;
    }
    for (i = 0; (id = chio_capability_delegation_id(cap, i)) != NULL; i++) {
        n = strlen(id);
        if (n == 0 || n > CHIO_MAX_REVOCATION_ID_LEN) {
            snprintf(why, why_cap,
                     "delegation link %zu names a capability id of %zu bytes; only ids of 1 to "
                     "%d bytes can be revoked, so the kernel refuses the token "
                     "(capability_revoked)",
                     i, n, CHIO_MAX_REVOCATION_ID_LEN);
            return 1;
        }
    }
    return 0;
}

/* A delegation link's attenuation the token's own scope or expiry
 * contradicts, described into @why: the kernel refuses such a token at
 * check 4 (delegation_invalid). 0 when there is none. */
static int contradicts_chain(const chio_capability *cap, char *why, size_t why_cap)
{
    char what[300];

    if (chio_capability_contradicts_chain(cap, NULL, what, sizeof(what)) != 1)
        return 0;
    snprintf(why, why_cap, "%s, so the kernel refuses the token (delegation_invalid)", what);
    return 1;
}

/* The library's report (verify.c), then what the kernel does not enforce
 * (chio_capability_unenforced()) or a token it refuses for an id it could
 * not revoke, named; `ok` stays the report's. */
static int check_usable(const char *text, size_t len, const cli_verify_ctx *ctx, svc_buf *b,
                        int *intact, int *trusted, chio_error *err)
{
    chio_capability *cap = NULL;
    char why[400];
    int dead = 0, rc = cli_capability_verifier.check(text, len, ctx, b, intact, trusted, err);

    if (rc != 0)
        return rc;
    if (chio_capability_parse(text, len, &cap, NULL) != 0) /* parsed once already */
        return CHIO_ENOMEM;
    if (chio_capability_unenforced(cap, why, sizeof(why)) == 1 ||
        unrevocable(cap, why, sizeof(why)) || contradicts_chain(cap, why, sizeof(why)) ||
        ((rc = chio_capability_never_allows(cap, &dead, why, sizeof(why))) == 0 && dead)) {
        svc_buf_puts(b, ",\"unusable\":");
        svc_buf_json_cstr(b, why);
    }
    chio_capability_free(cap);
    return rc; /* 0, or CHIO_ENOMEM from chio_capability_never_allows() */
}

static const cli_verifier capability_verifier = {"capability verify",
                                                 "token",
                                                 "issuer_trusted",
                                                 "issuer",
                                                 "\"signature\",\"time\",\"delegation_chain\"",
                                                 "signature, validity time and delegation chain",
                                                 check_usable};

/* --at and --max-depth into @ctx; returns 0 or CLI_USAGE. */
static int verify_options(cli_opt *opts, cli_verify_ctx *ctx)
{
    uint64_t depth;

    ctx->max_depth = -1;
    if (opts[0].value == NULL)
        return cli_error("capability verify", "--at UNIX is required (Unix seconds)");
    if (cli_u64(opts[0].value, &ctx->at) != 0)
        return cli_error("capability verify", "--at must be Unix seconds, not '%s'", opts[0].value);
    if (opts[2].value == NULL)
        return 0;
    if (cli_u64(opts[2].value, &depth) != 0 || depth > 1000000)
        return cli_error("capability verify", "--max-depth must be a small non-negative integer");
    ctx->max_depth = (long)depth;
    return 0;
}

static int capability_verify(int argc, char **argv)
{
    cli_opt opts[] = {
        {"at", 1, 0, 0, 0, 0}, {"trusted-key", 1, 1, 0, 0, 0}, {"max-depth", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    cli_verify_ctx ctx;
    uint8_t *keys = NULL;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.kind = &capability_verifier;
    rc = cli_parse(argc, argv, opts, 3, pos, 1, &npos, "capability verify", verify_usage);
    if (rc == 0)
        rc = verify_options(opts, &ctx);
    if (rc == 0)
        rc = cli_trusted_keys("capability verify", &opts[1], &keys, &ctx.ntrusted);
    free(opts[1].values);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    ctx.trusted = keys;
    rc = cli_verify_run(&ctx, npos ? pos[0] : NULL);
    free(keys);
    return rc;
}

int cmd_capability(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"issue", capability_issue},
                                          {"verify", capability_verify}};
    return cli_dispatch("capability", argc, argv, subs, 2, capability_usage);
}
