/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/retention_target.c - may this archive log take these receipts?
 * (chio_store_archive(), retention.c)
 *
 * An archive is written over by key: a receipt or checkpoint put under a
 * number it already holds replaces what was there. So before anything is
 * written, the target must be this live log's archive, or empty:
 *
 * - a store that is not marked as an archive and holds anything (another
 *   kernel's live log, say) is refused: archiving into it would overwrite
 *   its receipts and mark it as an archive;
 * - an archive whose key record differs from the live log's belongs to
 *   another log (another key, or another store of the same key) and is
 *   refused;
 * - a receipt or checkpoint the archive already holds must be the same
 *   bytes (a pass that a crash cut between the archive write and the live
 *   delete, run again); different bytes are refused;
 * - the receipts must continue the archive: a range that would leave a gap
 *   after its last receipt is refused (the archive would no longer verify
 *   on its own), and so is an archive whose hash chain value at its last
 *   receipt is not the live log's anchor there (receipts changed in it
 *   since, with its unsigned chain rewritten): it is not continued.
 *
 * Refusals happen before the range's write, so nothing is lost or replaced.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store_internal.h"

/* Whether metadata @name is stored in @s (@out: 1 or 0). */
static int has_meta(chio_store *s, const char *name, int *out, chio_error *err)
{
    char *val = NULL;
    size_t len = 0;
    int rc = chio__store_get_meta(s, name, &val, &len, err);

    free(val);
    *out = rc == 0;
    if (rc == CHIO_ENOTFOUND) {
        if (err != NULL)
            chio_error_init(err);
        return 0;
    }
    return rc;
}

/* Do @live and @arch carry the same key record (or is @arch's absent)? */
static int same_key_record(chio_store *live, chio_store *arch, chio_error *err)
{
    char *a = NULL, *l = NULL;
    size_t alen = 0, llen = 0;
    int rc = chio__store_get_meta(arch, CHIO__META_KEY_RECORD, &a, &alen, err);

    if (rc == CHIO_ENOTFOUND) {
        if (err != NULL)
            chio_error_init(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = chio__store_get_meta(live, CHIO__META_KEY_RECORD, &l, &llen, err);
    if (rc == 0 && (alen != llen || memcmp(a, l, alen) != 0))
        rc = CHIO_ENOTFOUND; /* differs: reported below */
    if (rc == CHIO_ENOTFOUND)
        rc = chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET,
                        "the archive belongs to another log (its key record is not this log's); "
                        "choose another archive_path");
    free(a);
    free(l);
    return rc;
}

int chio__archive_target_check(chio_store *live, chio_store *arch, uint64_t *arch_last,
                               chio_error *err)
{
    uint64_t mark = 0, first = 0, last = 0, last_cp = 0;
    int key = 0, head = 0, rc;

    *arch_last = 0;
    rc = chio__store_get_meta_u64(arch, CHIO__META_ARCHIVE, &mark, err);
    if (rc == 0)
        rc = chio_store_seq_range(arch, &first, &last, err);
    if (rc == 0)
        rc = chio_store_last_checkpoint_seq(arch, &last_cp, err);
    if (rc == 0)
        rc = has_meta(arch, CHIO__META_KEY_RECORD, &key, err);
    if (rc == 0)
        rc = has_meta(arch, CHIO__META_LOG_HEAD, &head, err);
    if (rc != 0)
        return rc;
    /* A log that is not an archive: never written into. */
    if (mark != 1 && (last > 0 || last_cp > 0 || key || head))
        return chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET,
                          "the archive path holds a receipt log that is not an archive (receipts "
                          "up to %llu); archiving into it would overwrite them",
                          (unsigned long long)last);
    rc = same_key_record(live, arch, err);
    if (rc == 0)
        *arch_last = last;
    return rc;
}

/* 0 when @arch does not hold the entry or holds exactly @json. */
static int same_or_absent(int rc, char *have, size_t hlen, const char *json, size_t len,
                          const char *what, uint64_t n, chio_error *err)
{
    int same = rc == 0 && hlen == len && memcmp(have, json, len) == 0;

    free(have);
    if (rc == CHIO_ENOTFOUND || same) {
        if (err != NULL)
            chio_error_init(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "the archive already holds a different %s %llu; nothing was moved (audit "
                      "both logs with chio receipt verify --receipt-db)",
                      what, (unsigned long long)n);
}

int chio__archive_receipt_fits(chio_store *arch, uint64_t seq, const char *json, size_t len,
                               chio_error *err)
{
    char *have = NULL;
    size_t hlen = 0;
    int rc = chio_store_get_receipt(arch, seq, &have, &hlen, err);

    return same_or_absent(rc, have, hlen, json, len, "receipt", seq, err);
}

int chio__archive_checkpoint_fits(chio_store *arch, uint64_t cseq, const char *json, size_t len,
                                  chio_error *err)
{
    char *have = NULL;
    size_t hlen = 0;
    int rc = chio_store_get_checkpoint(arch, cseq, &have, &hlen, err);

    return same_or_absent(rc, have, hlen, json, len, "checkpoint", cseq, err);
}

int chio__archive_chain_fits(chio_store *arch, chio_store *live, uint64_t last, chio_error *err)
{
    uint8_t a[32], l[32];
    int ra = chio__store_get_chain(arch, last, a, NULL);
    int rl = chio__store_get_chain(live, last, l, NULL);

    /* Refused only when both hold a value and they differ: a part no
     * chain covers (legacy), or an archive written before chain entries
     * moved with their receipts, is continued (the audit with --archive
     * names a missing value). */
    if (ra == CHIO_ESTORE || rl == CHIO_ESTORE)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "reading the hash chain failed");
    if (ra == CHIO_ENOTFOUND || rl == CHIO_ENOTFOUND || (ra == 0 && rl == 0 && !memcmp(a, l, 32)))
        return 0;
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "the archive's hash chain at its last receipt %llu is not the value this "
                      "log continues from: receipts in the archive were changed since they were "
                      "archived; nothing was moved (audit both with chio receipt verify "
                      "--receipt-db LIVE --archive ARCHIVE)",
                      (unsigned long long)last);
}
