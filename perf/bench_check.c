/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_check.c - bench-kernel's regression check (--check BASELINE):
 * this run's ratios, and those of the earlier runs named with --prior,
 * against the baseline file's, each within its tolerance. It owns reading
 * the JSON files and the verdict lines perf-check prints; the run itself
 * is perf/bench_kernel.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kernel.h"
#include "chio/json.h"

/* The JSON document in the file at @path (dies when it cannot). */
static chio_json_doc *read_json(const char *path)
{
    chio_json_doc *doc = NULL;
    size_t len;
    char *text;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        chio__bench_die("cannot read %s", path);
    text = malloc(1 << 20);
    if (text == NULL)
        chio__bench_die("out of memory");
    len = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    if (chio_json_parse(text, len, &doc, NULL) != 0)
        chio__bench_die("%s is not JSON", path);
    free(text);
    return doc;
}

/* 1 when the run @doc names ratio @k in its "ungated" list (a ratio that
 * means nothing on this machine: see naive_disk_bound in main). */
static int ungated_in(chio_json_doc *doc, const char *k)
{
    const chio_json *u = chio_json_get(chio_json_root(doc), "ungated");
    size_t i;

    for (i = 0; i < chio_json_size(u); i++) {
        const char *name = chio_json_string(chio_json_at(u, i), NULL);
        if (name != NULL && strcmp(name, k) == 0)
            return 1;
    }
    return 0;
}

/* 1 when this run (@cur) or one of the --prior runs ungated ratio @k. */
static int ungated_anywhere(const char *k, chio_json_doc *cur, chio_json_doc *const *prior,
                            size_t nprior)
{
    size_t j;

    for (j = 0; j < nprior; j++)
        if (ungated_in(prior[j], k))
            return 1;
    return ungated_in(cur, k);
}

/* The best value of ratio @k over this run (@have) and the --prior runs
 * (@prior, @nprior): the lowest for a ceiling, the highest for a floor. */
static double best_of(const char *k, int ceiling, double have, chio_json_doc *const *prior,
                      size_t nprior)
{
    size_t j;

    for (j = 0; j < nprior; j++) {
        double v;
        if (chio_json_get_double(
                chio_json_get(chio_json_get(chio_json_root(prior[j]), "ratios"), k), &v) == 0 &&
            (ceiling ? v < have : v > have))
            have = v;
    }
    return have;
}

/* Every ratio in the baseline file ({"tolerance":T,"tolerances":{name:T},
 * "ratios":{name:value}}) must be met by this run, or by one of the
 * earlier runs named with --prior (scripts/perf-check repeats a run that
 * failed: noise moves single runs, a regression moves every one): a ratio
 * named *_max is a ceiling (the best value <= baseline * (1 + T)), any
 * other a floor (>= baseline * (1 - T)); T is the ratio's own tolerance
 * when given. */
int chio__bench_check_baseline(const char *path, const char *run_json, size_t run_len,
                               const char *const *priors, size_t npriors)
{
    chio_json_doc *base = read_json(path), *cur = NULL, *prior[8];
    const chio_json *ratios, *got, *tols;
    double tol = 0.3;
    size_t i;
    int bad = 0;

    if (chio_json_parse(run_json, run_len, &cur, NULL) != 0)
        chio__bench_die("this run is not JSON");
    for (i = 0; i < npriors; i++)
        prior[i] = read_json(priors[i]);
    chio_json_get_double(chio_json_get(chio_json_root(base), "tolerance"), &tol);
    ratios = chio_json_get(chio_json_root(base), "ratios");
    tols = chio_json_get(chio_json_root(base), "tolerances");
    got = chio_json_get(chio_json_root(cur), "ratios");
    for (i = 0; i < chio_json_size(ratios); i++) {
        const char *k = chio_json_key_at(ratios, i, NULL);
        double want = 0, have = 0, t = tol;
        int ceiling = strlen(k) > 4 && strcmp(k + strlen(k) - 4, "_max") == 0;
        chio_json_get_double(chio_json_get(ratios, k), &want);
        chio_json_get_double(chio_json_get(tols, k), &t);
        if (chio_json_get_double(chio_json_get(got, k), &have) != 0) {
            printf("perf-check: %-40s missing from this run\n", k);
            bad++;
            continue;
        }
        have = best_of(k, ceiling, have, prior, npriors);
        if (ungated_anywhere(k, cur, prior, npriors)) {
            printf("perf-check: not gated %-30s %.4g (baseline %.4g; not meaningful on this "
                   "machine, see above)\n",
                   k, have, want);
            continue;
        }
        if (ceiling ? have > want * (1 + t) : have < want * (1 - t)) {
            printf("perf-check: REGRESSION %-30s %.4g, baseline %.4g (%s %.0f%% tolerance%s)\n", k,
                   have, want, ceiling ? "above" : "below", t * 100,
                   npriors ? ", best of this run and the earlier ones" : "");
            bad++;
        } else {
            printf("perf-check: ok         %-30s %.4g (baseline %.4g, limit %.4g)\n", k, have, want,
                   ceiling ? want * (1 + t) : want * (1 - t));
        }
    }
    chio_json_doc_free(base);
    chio_json_doc_free(cur);
    for (i = 0; i < npriors; i++)
        chio_json_doc_free(prior[i]);
    return bad;
}
