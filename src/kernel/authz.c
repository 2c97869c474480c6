/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/authz.c - checks 1 to 6 of the pipeline that concern the token:
 * signature and issuer, time (and again just before a dispatch),
 * revocation (the list is revocation.c's),
 * delegation chain, subject and scope (constraints in constraints.c; a
 * resource URI with dot segments is under no prefix pattern); plus
 * capability issuing. Check 8, the invocation budget, is budget.c's.
 *
 * Owns one concurrent table (shmap.c):
 *   token_cache  sha256(canonical token bytes) -> {signature ok, issuer
 *                trusted, chain links ok}, three bits packed into the
 *                value pointer (no allocation, nothing to free on
 *                eviction). Only the time-independent,
 *                revocation-independent facts are cached, so time and
 *                revocation are evaluated on every call and a hit can never
 *                let an expired or revoked token through; a tampered token
 *                has other bytes, so another key, and is verified afresh.
 *                A token of CHIO__BADSIG_HOLD_MIN_BYTES or more whose
 *                signature did not verify, twice in a row (a failure may
 *                be libcrypto out of memory, which it reports as a bad
 *                signature), is held as such for badsig_hold_secs (the
 *                monotonic second packed into the value), then verified
 *                afresh; any other failure (a smaller token, an error, a
 *                bad link) is not kept, and verified again on each call.
 *                Bounded (CHIO__TOKEN_CACHE_MAX): a full shard evicts by
 *                CLOCK, so a hot working set stays cached under any churn
 *                of cold tokens, and an evicted token is just verified again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "normalize.h"
#include "regex_nfa.h"
#include "request.h"
#include "scope.h"

/* ---- checks 1-5 --------------------------------------------------------------------- */

/* A cache value: bit 3 always set (never NULL), bits 0-2 the facts. A
 * value with bit 4 set is a held failure instead: the signature did not
 * verify, twice in a row, at the monotonic second in bits 5 and up. */
#define VERIFIED_TAG 8u
#define BADSIG_TAG   16u
#define STAMP_SHIFT  5
#define STAMP_MASK   (UINTPTR_MAX >> STAMP_SHIFT)

static uintptr_t mono_stamp(void)
{
    return (uintptr_t)(chio__mono_ns() / 1000000000u) & STAMP_MASK;
}

/* Is @sc large enough for its failed verification to be held? Verifying
 * a smaller one again costs less than the rest of a call (whose receipt
 * is signed too), so it is never held: memory short while it was checked
 * can never deny it once memory is back. */
static int holdable(const chio__session_cap *sc)
{
    size_t len = 0;

    (void)chio_capability_json(sc->cap, &len);
    return len >= CHIO__BADSIG_HOLD_MIN_BYTES;
}

/* Verify @sc into @local, up to @tries times while the signature does not
 * verify: libcrypto reports an allocation failure inside a verification
 * as a bad signature, so a failure to be held is verified a second time
 * before it is believed, and one failed allocation cannot hold a valid
 * token. Returns 1 when every try said the signature does not verify, 0
 * when it verified or when a verification failed with an error (out of
 * memory, nothing to hold; @local is then all zero). */
static int verify_token(chio_kernel *k, const chio__session_cap *sc, int tries,
                        chio__verified *local, chio_capability_report *rep)
{
    for (; tries > 0; tries--) {
        memset(local, 0, sizeof(*local));
        if (chio__capability_verify_lazy(sc->cap, k->med.trusted, k->med.ntrusted,
                                         (long)k->max_delegation_depth, rep) != 0)
            return 0; /* all zero: denied as invalid_signature */
        local->sig_ok = (uint8_t)(rep->signature_valid != 0);
        local->issuer_trusted = (uint8_t)(rep->issuer_trusted != 0);
        local->chain_ok = (uint8_t)(rep->delegation_chain_shape_valid != 0);
        if (local->sig_ok)
            return 0;
    }
    return 1;
}

/* Replace what @key holds (@old, or nothing) with @v; losing to another
 * thread's value, or a failed allocation, leaves that: both are fine. */
static void cache_put(chio_kernel *k, const uint8_t *key, uintptr_t old, uintptr_t v)
{
    if (old != 0)
        (void)chio__shmap_remove(&k->med.token_cache, key, 32, (void *)old);
    (void)chio__shmap_put_if_absent(&k->med.token_cache, key, 32, (void *)v);
}

static const chio__verified *verified_of(chio_kernel *k, const chio__session_cap *sc,
                                         chio__verified *local)
{
    uintptr_t hit = (uintptr_t)chio__shmap_get(&k->med.token_cache, sc->hash, 32), v, now;
    chio_capability_report rep;
    int hold;

    memset(local, 0, sizeof(*local));
    if (hit != 0 && !(hit & BADSIG_TAG)) {
        local->sig_ok = (uint8_t)(hit & 1u);
        local->issuer_trusted = (uint8_t)((hit >> 1) & 1u);
        local->chain_ok = (uint8_t)((hit >> 2) & 1u);
        return local;
    }
    /* A held failure: denied invalid_signature like a fresh one, without
     * re-serialising and hashing the token again (linear in its size, up
     * to CHIO_JSON_MAX_INPUT, while the agent paid for the bytes once at
     * open_session). Held for badsig_hold_secs only: should both
     * verifications have failed for lack of memory, the valid token is
     * verified afresh once that has passed. */
    now = mono_stamp();
    if (hit != 0 && ((now - (hit >> STAMP_SHIFT)) & STAMP_MASK) < k->med.badsig_hold_secs)
        return local;
    /* Links are verified only for a token that check 1 lets through and
     * whose depth check 4 accepts (the kernel's limit is fixed for its
     * life); for any other token chain_ok is 0, which no caller reads
     * because an earlier code denies first. So a token padded with many
     * validly signed links costs at most max_delegation_depth link
     * verifications, not one per link. */
    hold = holdable(sc);
    if (verify_token(k, sc, hold ? 2 : 1, local, &rep) && hold) {
        cache_put(k, sc->hash, hit, VERIFIED_TAG | BADSIG_TAG | now << STAMP_SHIFT);
        return local;
    }
    /* Not cached: an error (out of memory), a small token whose signature
     * did not verify, or a link that did not verify (a token only a
     * trusted issuer can have signed); verified again on each call, as a
     * link may fail for lack of memory too. */
    if (!local->sig_ok || rep.chain_error_link >= 0)
        return local;
    v = VERIFIED_TAG | local->sig_ok | (uintptr_t)local->issuer_trusted << 1 |
        (uintptr_t)local->chain_ok << 2;
    cache_put(k, sc->hash, hit, v);
    return local;
}

int chio__token_trusted(chio_kernel *k, const chio__session_cap *sc)
{
    chio__verified local;
    const chio__verified *v = verified_of(k, sc, &local);

    return v->sig_ok && v->issuer_trusted;
}

/* Can chio_kernel_revoke_capability() take @id? JSON strings are UTF-8
 * and tokens' ids hold no NUL, so only the length can stop it. */
static int revocable(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= CHIO__MAX_REVOCATION_ID_LEN;
}

/* Check 2 at @now: valid iff issued_at <= now < expires_at, and never once
 * the kernel dropped state of a token expiring then (mediate.h). @when
 * ends the reason ("" at check 2, " during the call" before a dispatch).
 * The clock first: the floor is a reading the clock made earlier, named
 * only when the clock itself no longer shows the expiry. */
static chio_code check_time(chio_kernel *k, const chio_capability *c, uint64_t now,
                            const char *when, char *reason, size_t cap)
{
    uint64_t exp = chio_capability_expires_at(c), iat = chio_capability_issued_at(c);

    if (now >= exp) {
        snprintf(reason, cap, "capability expired at %llu%s (now %llu)", (unsigned long long)exp,
                 when, (unsigned long long)now);
        return CHIO_CODE_CAPABILITY_EXPIRED;
    }
    if (chio__expired_by_floor(k, exp)) {
        snprintf(reason, cap,
                 "capability expired at %llu%s (the kernel clock read later than that "
                 "before; now %llu)",
                 (unsigned long long)exp, when, (unsigned long long)now);
        return CHIO_CODE_CAPABILITY_EXPIRED;
    }
    if (now < iat) {
        snprintf(reason, cap, "capability is not valid before %llu%s (now %llu)",
                 (unsigned long long)iat, when, (unsigned long long)now);
        return CHIO_CODE_CAPABILITY_NOT_YET_VALID;
    }
    return CHIO_CODE_NONE;
}

chio_code chio__time_since_check(chio_kernel *k, const chio_capability *cap, char *reason,
                                 size_t cap_reason)
{
    return check_time(k, cap, chio__kernel_now(k), " during the call", reason, cap_reason);
}

chio_code chio__check_token(chio_kernel *k, const chio__session_cap *sc, const char *agent,
                            uint64_t now, char *reason, size_t cap)
{
    const chio_capability *c = sc->cap;
    chio__verified local;
    const chio__verified *v = verified_of(k, sc, &local);
    size_t i, depth;
    chio_code code;

    /* 1. signature, then issuer */
    if (!v->sig_ok) {
        snprintf(reason, cap, "capability signature does not verify under its issuer key");
        return CHIO_CODE_INVALID_SIGNATURE;
    }
    if (!v->issuer_trusted) {
        snprintf(reason, cap, "capability issuer %s is not a trusted issuer",
                 chio_capability_issuer_hex(c));
        return CHIO_CODE_UNTRUSTED_ISSUER;
    }
    /* 2. time */
    code = check_time(k, c, now, "", reason, cap);
    if (code != CHIO_CODE_NONE)
        return code;
    /* 3. revocation of the token or of any id in its delegation chain. An
     * id the revocation list cannot hold (empty, or longer than
     * CHIO_MAX_REVOCATION_ID_LEN) could never be revoked: fail closed. */
    if (!revocable(chio_capability_id(c))) {
        snprintf(reason, cap,
                 "capability id is %zu bytes; only ids of 1 to %d bytes can be revoked, so "
                 "this one is refused",
                 strlen(chio_capability_id(c)), CHIO__MAX_REVOCATION_ID_LEN);
        return CHIO_CODE_CAPABILITY_REVOKED;
    }
    if (chio__revoked(k, chio_capability_id(c))) {
        snprintf(reason, cap, "capability '%.100s' has been revoked", chio_capability_id(c));
        return CHIO_CODE_CAPABILITY_REVOKED;
    }
    depth = chio_capability_delegation_depth(c);
    for (i = 0; i < depth; i++) {
        const char *id = chio_capability_delegation_id(c, i);
        if (id != NULL && !revocable(id)) {
            snprintf(reason, cap,
                     "delegation link %zu names a capability id of %zu bytes; only ids of 1 "
                     "to %d bytes can be revoked, so this token is refused",
                     i, strlen(id), CHIO__MAX_REVOCATION_ID_LEN);
            return CHIO_CODE_CAPABILITY_REVOKED;
        }
        if (id != NULL && chio__revoked(k, id)) {
            snprintf(reason, cap, "delegation ancestor '%.100s' (link %zu) has been revoked", id,
                     i);
            return CHIO_CODE_CAPABILITY_REVOKED;
        }
    }
    /* 4. delegation chain: depth, then the links (chio's order) */
    if (depth > k->max_delegation_depth) {
        snprintf(reason, cap, "delegation chain has %zu links; at most %u are allowed", depth,
                 k->max_delegation_depth);
        return CHIO_CODE_DELEGATION_DEPTH_EXCEEDED;
    }
    if (!v->chain_ok) {
        snprintf(reason, cap,
                 "delegation chain is invalid (a link signature, delegator/delegatee "
                 "connection or timestamp order fails)");
        return CHIO_CODE_DELEGATION_INVALID;
    }
    /* A link's attenuation the token's own scope or expiry contradicts:
     * chio refuses such a token (docs/spec-reading.md). Found on first
     * use and kept in the token, within a work bound. */
    if (chio_capability_contradicts_chain(c, NULL, NULL, 0) == 1) {
        chio_capability_contradicts_chain(c, NULL, reason, cap);
        return CHIO_CODE_DELEGATION_INVALID;
    }
    /* 5. subject binding */
    if (strcmp(chio_capability_subject_hex(c), agent) != 0) {
        snprintf(reason, cap, "capability subject %.64s is not the calling agent",
                 chio_capability_subject_hex(c));
        return CHIO_CODE_SUBJECT_MISMATCH;
    }
    return CHIO_CODE_NONE;
}

/* ---- check 6: scope ------------------------------------------------------------------- */

static int name_matches(const char *grant, const char *name)
{
    return strcmp(grant, "*") == 0 || strcmp(grant, name) == 0;
}

/* Why @tg is unusable, into @why; 0 when the kernel enforces all of it. */
static int grant_unsupported(const chio_capability *cap, const chio__tool_grant *tg, uint32_t g,
                             char *why, size_t cap_why)
{
    const char *top = chio_capability_unknown_field(cap);

    if (top != NULL)
        snprintf(why, cap_why, "the capability has a field the kernel does not enforce ('%.60s')",
                 top);
    else
        return chio__grant_unsupported_why(tg, g, why, cap_why);
    return 1;
}

void chio__grant_list_free(chio__grant_list *l)
{
    if (l->idx != l->local)
        free(l->idx);
    l->idx = l->local;
    l->n = 0;
}

/* chio's specificity of grant @g for @server/@tool: server named exactly,
 * tool named exactly, number of constraints (compared in that order). */
static int more_specific(const chio__tool_grant *a, const chio__tool_grant *b, const char *server,
                         const char *tool)
{
    int as = strcmp(a->server_id, server) == 0, bs = strcmp(b->server_id, server) == 0;
    int at = strcmp(a->tool_name, tool) == 0, bt = strcmp(b->tool_name, tool) == 0;

    if (as != bs)
        return as > bs;
    if (at != bt)
        return at > bt;
    return a->nconstraints > b->nconstraints;
}

/* Appends grant @g to @out keeping budget order: after every grant at
 * least as specific (so ties stay in token order). */
static void grant_list_insert(const chio__scope *sc, chio__grant_list *out, uint32_t g,
                              const char *server, const char *tool)
{
    uint32_t i = out->n;

    while (i > 0 && more_specific(&sc->grants[g], &sc->grants[out->idx[i - 1]], server, tool)) {
        out->idx[i] = out->idx[i - 1];
        i--;
    }
    out->idx[i] = g;
    out->n++;
}

chio_code chio__check_tool_scope(chio_kernel *k, const chio_capability *cap, const char *server,
                                 const char *tool, const chio_json *args, size_t args_canonical_len,
                                 chio__grant_list *out, char *reason, size_t cap_reason)
{
    const chio__scope *sc = chio__capability_scope(cap);
    chio__call_work w = {CHIO__CALL_CONSTRAINT_CHECKS,
                         CHIO__CALL_CONSTRAINT_BYTES +
                             (uint64_t)CHIO__CALL_CONSTRAINT_ARGS * args_canonical_len,
                         CHIO__NFA_WORK_MAX};
    const uint64_t per_check = (uint64_t)args_canonical_len + CHIO__CONSTRAINT_CHECK_BYTES;
    uint32_t g, c;
    int matched = 0, usable = 0, cut = 0;
    char first_reason[256] = "", unsupported[256] = "";

    out->idx = out->local;
    out->n = 0;
    if (sc->ngrants > CHIO__GRANTS_LOCAL &&
        (out->idx = malloc(sc->ngrants * sizeof(*out->idx))) == NULL) {
        out->idx = out->local;
        snprintf(reason, cap_reason, "out of memory matching grants");
        return CHIO_CODE_OUT_OF_SCOPE; /* fail closed */
    }
    for (g = 0; g < sc->ngrants; g++) {
        const chio__tool_grant *tg = &sc->grants[g];
        char why[256];
        int ok = 1;

        if (!name_matches(tg->server_id, server) || !name_matches(tg->tool_name, tool) ||
            !(tg->ops & CHIO__OP_INVOKE))
            continue;
        /* A grant asking for what the kernel does not enforce is unusable
         * (fail closed), whatever its constraints say. */
        if (grant_unsupported(cap, tg, g, why, sizeof(why))) {
            if (!matched)
                snprintf(unsupported, sizeof(unsupported), "%s", why);
            matched = 1;
            continue;
        }
        if (tg->nconstraints > w.checks_left ||
            (uint64_t)tg->nconstraints * per_check > w.bytes_left) {
            /* Past the call's bound: this grant and the ones after it are
             * not read (cut), so they allow nothing. */
            cut = 1;
            break;
        }
        w.bytes_left -= (uint64_t)tg->nconstraints * per_check;
        for (c = 0; c < tg->nconstraints && ok; c++, w.checks_left--)
            ok = chio__constraint_holds(k, &tg->constraints[c], args, args_canonical_len, &w, why,
                                        sizeof(why));
        if (ok) {
            grant_list_insert(sc, out, g, server, tool);
            continue;
        }
        if (!usable)
            snprintf(first_reason, sizeof(first_reason), "grant %u: %.200s", g, why);
        matched = usable = 1;
    }
    if (out->n > 0)
        return CHIO_CODE_NONE;
    if (cut) {
        snprintf(reason, cap_reason,
                 "the grants for %.100s/%.100s hold more constraints than one call checks "
                 "(%u, or %llu readings of these %zu bytes of arguments); grant %u and those "
                 "after it were not read (denied)",
                 server, tool, (unsigned)CHIO__CALL_CONSTRAINT_CHECKS,
                 (unsigned long long)((CHIO__CALL_CONSTRAINT_BYTES +
                                       (uint64_t)CHIO__CALL_CONSTRAINT_ARGS * args_canonical_len) /
                                      per_check),
                 args_canonical_len, g);
        return CHIO_CODE_CONSTRAINT_VIOLATED;
    }
    if (!matched) {
        snprintf(reason, cap_reason, "no grant allows invoke of %.100s/%.100s", server, tool);
        return CHIO_CODE_OUT_OF_SCOPE;
    }
    if (!usable) {
        snprintf(reason, cap_reason, "%s", unsupported);
        return CHIO_CODE_UNSUPPORTED_GRANT;
    }
    snprintf(reason, cap_reason, "%s", first_reason);
    return CHIO_CODE_CONSTRAINT_VIOLATED;
}

/* The text a sequence at @s passes for with some reader though it is no
 * dot, slash or backslash: the NFKC and best-fit look-alikes
 * (chio__look_alike: U+FF0E and U+2024 are '.', U+2025 is "..", U+FE68
 * and U+00A5 are '\\', U+2215 is '/', ...) and the
 * overlong UTF-8 forms C0 AE / C0 AF that lax decoders accept. Sets @*n to
 * its length in bytes (0 when there is none). @s is NUL-terminated. */
static const char *look_alike(const unsigned char *s, size_t *n)
{
    *n = 0;
    if (s[0] == 0xc0 && (s[1] == 0xae || s[1] == 0xaf)) {
        *n = 2;
        return s[1] == 0xae ? "." : "/";
    }
    if (s[0] < 0x80 || s[1] == '\0')
        return NULL;
    return chio__look_alike((const char *)s, s[2] == '\0' ? 2 : 3, n);
}

/* One reading further: every "%XX" replaced by its byte, every look-
 * alike by the text it passes for, and tab, LF and CR dropped as a WHATWG
 * URL parser drops them ("/pub/.\t./x" is "/x" to it), from @in into @out
 * (as long as @in at most: a look-alike's text is never longer than the
 * look-alike). Returns 0 when nothing changed, 1 when something did, -1
 * when a "%00" decoded to NUL (a reader may cut the path there or not) or
 * a "%uXXXX" is met (JavaScript's unescape() and .NET decode it, others
 * do not). */
static int decode_once(const char *in, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    int changed = 0;
    size_t n;

    while (*s != '\0') {
        const char *as = look_alike(s, &n);
        int hi, lo;
        if (n == 0 && s[0] == '%' && (hi = chio__hex_value(s[1])) >= 0 &&
            (lo = chio__hex_value(s[2])) >= 0) {
            if (hi == 0 && lo == 0)
                return -1;
            *out++ = (char)(hi * 16 + lo);
            s += 3;
            changed = 1;
            continue;
        }
        if (n == 0 && chio__u_escape_at((const char *)s, SIZE_MAX))
            return -1; /* "%u002e": '.' to unescape(), four bytes to others */
        if (n == 0 && (s[0] == '\t' || s[0] == '\n' || s[0] == '\r')) {
            s++;
            changed = 1;
            continue;
        }
        if (n == 0) {
            *out++ = (char)*s++;
            continue;
        }
        while (*as != '\0')
            *out++ = *as++;
        s += n;
        changed = 1;
    }
    *out = '\0';
    return changed;
}

/* Does @text hold a "." or ".." segment? A slash, backslash, '?' or '#'
 * ends a segment. Read as a provider may: a path parameter is dropped
 * (Tomcat and Jetty take "..;x" for ".."), and so are spaces at the end
 * (Windows trims them off a path's last segment: ".. " is ".."). Three
 * or more dots stay a name everywhere. */
static int has_dot_segment(const char *text)
{
    size_t dots = 0; /* '.' in the segment before any ';' */
    int other = 0;   /* anything else there but spaces after the dots */
    int spaces = 0;  /* a space after the dots */
    int param = 0;   /* past a ';' */

    for (;; text++) {
        char c = *text;
        if (c == '\0' || c == '/' || c == '\\' || c == '?' || c == '#') {
            if (!other && (dots == 1 || dots == 2))
                return 1;
            if (c == '\0')
                return 0;
            dots = 0;
            other = spaces = param = 0;
            continue;
        }
        if (param)
            continue;
        if (c == ';')
            param = 1;
        else if (c == '.' && !spaces)
            dots++;
        else if (c == ' ' && dots > 0)
            spaces = 1;
        else
            other = 1;
    }
}

/* Does the path of @uri hold an empty segment (two separators in a row,
 * a slash or a backslash each, before any '?' or '#')? The path starts after "scheme://authority",
 * or after "scheme:" without an authority. A provider that strips a prefix grant's text and joins
 * the rest onto its root (Python's os.path.join("/pub",
 * "/etc/passwd") is "/etc/passwd") leaves the prefix for
 * "file:///pub//etc/passwd" (review 44). */
static int has_empty_segment(const char *uri)
{
    const char *p = strstr(uri, "://"), *colon = strchr(uri, ':');

    if (p != NULL && (colon == NULL || colon == p)) {
        p += 3;
        while (*p != '\0' && *p != '/' && *p != '\\' && *p != '?' && *p != '#')
            p++; /* the authority */
    } else {
        p = colon != NULL ? colon + 1 : uri;
    }
    for (; *p != '\0' && *p != '?' && *p != '#'; p++)
        if ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\'))
            return 1;
    return 0;
}

/* Readings of a URI tried before it is judged; one that still changes
 * after them is ambiguous. */
#define URI_READINGS 4

/* Does @uri hold a "." or ".." segment as written or in any reading a
 * provider may take: percent-decoded once, twice ("%252e") or more, with
 * look-alike dots and slashes folded, tab, LF and CR dropped, invisible
 * format characters (zero-width, soft hyphen) dropped? A provider that resolves such a path
 * can leave the prefix its grant names ("file:///pub/../etc/passwd" under
 * "file:///pub/" and any suffix). A URI that still decodes further after
 * URI_READINGS readings, decodes to a NUL, or cannot be copied counts as
 * one (fail closed). */
/* has_dot_segment() of @s (@n bytes), and of @s with invisible format
 * characters dropped ("..\u200b" is ".." to a provider that strips them;
 * chio__text_fold, into @tmp, @n + 1 bytes), as path_prefix reads paths. */
static int dot_segment_folded(const char *s, size_t n, char *tmp)
{
    size_t i;

    if (has_dot_segment(s) || has_empty_segment(s))
        return 1;
    for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
        ;
    if (i == n)
        return 0;
    chio__text_fold(s, n, tmp);
    return has_dot_segment(tmp) || has_empty_segment(tmp);
}

static int uri_has_dot_segment(const char *uri)
{
    size_t n = strlen(uri) + 1;
    char *a = malloc(n), *b = malloc(n), *c = malloc(n), *t;
    int found, i;

    if (a == NULL || b == NULL || c == NULL) {
        found = 1;
    } else {
        found = dot_segment_folded(uri, n - 1, c);
        memcpy(a, uri, n);
        for (i = 0; !found; i++) {
            int changed = decode_once(a, b);
            if (changed == 0)
                break;
            found = changed < 0 || dot_segment_folded(b, strlen(b), c) || i + 1 == URI_READINGS;
            t = a;
            a = b;
            b = t;
        }
    }
    free(a);
    free(b);
    free(c);
    return found;
}

/* A prefix pattern: a trailing '*' other than the lone "*". */
static int prefix_pattern(const char *pattern)
{
    size_t n = strlen(pattern);
    return n > 1 && pattern[n - 1] == '*';
}

chio_code chio__check_pattern_scope(const chio_capability *cap, int prompts, const char *name,
                                    char *reason, size_t cap_reason)
{
    const chio__scope *sc = chio__capability_scope(cap);
    const chio__pattern_grant *g = prompts ? sc->prompts : sc->resources;
    uint32_t n = prompts ? sc->nprompts : sc->nresources, i;
    unsigned op = prompts ? CHIO__OP_GET : CHIO__OP_READ;
    const char *top = chio_capability_unknown_field(cap), *unknown = NULL, *dotted_by = NULL;
    /* A resource URI that can be read as climbing out of a prefix is
     * covered only by "*" or an exact pattern (fail closed). */
    int dotted = !prompts && uri_has_dot_segment(name);

    for (i = 0; i < n; i++) {
        if (!(g[i].ops & op) || !chio__pattern_matches(g[i].pattern, name))
            continue;
        if (dotted && prefix_pattern(g[i].pattern)) {
            if (dotted_by == NULL)
                dotted_by = g[i].pattern;
            continue;
        }
        if (top == NULL && g[i].unsupported_name == NULL)
            return CHIO_CODE_NONE;
        if (unknown == NULL)
            unknown = top ? top : g[i].unsupported_name;
    }
    if (unknown != NULL && top != NULL) {
        /* the token's own field, or a link's attenuation: named as the
         * tool path names it, not as the grant's (review 9 tokens F3) */
        snprintf(reason, cap_reason,
                 "the capability has a field the kernel does not enforce ('%.60s')", top);
        return CHIO_CODE_UNSUPPORTED_GRANT;
    }
    if (unknown != NULL) {
        snprintf(reason, cap_reason,
                 "the matching %s grant has a field the kernel does not enforce ('%.60s')",
                 prompts ? "prompt" : "resource", unknown);
        return CHIO_CODE_UNSUPPORTED_GRANT;
    }
    if (dotted_by != NULL) {
        snprintf(reason, cap_reason,
                 "resource URI '%.200s' has a '.' or '..' segment (as written or percent-decoded), "
                 "so it may leave the prefix of grant '%.100s'; only '*' or an exact pattern "
                 "covers it",
                 name, dotted_by);
        return CHIO_CODE_OUT_OF_SCOPE;
    }
    snprintf(reason, cap_reason, "no %s grant allows %s of '%.200s'",
             prompts ? "prompt" : "resource", prompts ? "get" : "read", name);
    return CHIO_CODE_OUT_OF_SCOPE;
}

int chio_capability_grants_read(const chio_capability *cap, const char *uri, int *granted)
{
    char reason[256];

    if (granted != NULL)
        *granted = 0;
    if (cap == NULL || uri == NULL || granted == NULL || !chio__utf8_valid(uri, strlen(uri)))
        return CHIO_EINVAL;
    /* The scope check of a read (providers.c), and its refusal of an empty
     * URI (invalid_request there). */
    *granted = uri[0] != '\0' &&
               chio__check_pattern_scope(cap, 0, uri, reason, sizeof(reason)) == CHIO_CODE_NONE;
    return 0;
}

/* ---- capability issuing ---------------------------------------------------------------- */

int chio_kernel_issue_capability(chio_kernel *k, const char *id, const char *subject_hex,
                                 const char *scope_json, size_t scope_len, uint64_t issued_at,
                                 uint64_t ttl_secs, chio_capability **out, chio_error *err)
{
    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    /* After drain every call errors (kernel.md): a token minted now would
     * be honoured by another kernel holding the same key. */
    if (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_RUNNING)
        return chio__fail(err, CHIO_EDRAINED, CHIO_NO_OFFSET,
                          "kernel is draining or drained: it issues no capability");
    /* A token the kernel would refuse at check 3 (see revocable()). */
    if (id != NULL && strlen(id) > CHIO__MAX_REVOCATION_ID_LEN)
        return chio__fail(err, CHIO_ETOOBIG, CHIO_NO_OFFSET,
                          "capability id is %zu bytes; at most %d can be revoked", strlen(id),
                          CHIO__MAX_REVOCATION_ID_LEN);
    return chio_capability_issue(k->kp, id, subject_hex, scope_json, scope_len,
                                 issued_at ? issued_at : chio__kernel_now(k), ttl_secs, out, err);
}
