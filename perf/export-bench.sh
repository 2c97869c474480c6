#!/usr/bin/env bash
# perf/export-bench.sh - fleet exporter throughput and lag against a kernel
# at its full sync rate (docs/performance.md "Fleet export", docs/fleet.md).
# Starts a three-node JetStream cluster on loopback (scripts/nats-cluster.sh),
# runs build/perf/export-bench (a real kernel signing with sync durability
# from THREADS callers for SECONDS while `chio export --follow` tails its
# store), prints its JSON line and stops the cluster.
#
#   perf/export-bench.sh [SECONDS] [THREADS] [BATCH]     (default 15 16 256)
#
# Environment: BUILD (default build), DURABILITY (sync|nosync, default sync),
# KEEP=1 keeps the work directory (lag.csv: the 100 ms samples).
# Exit status: 0 when the exporter caught up after the run, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
seconds=${1:-15}
threads=${2:-16}
batch=${3:-256}
work=$(mktemp -d "${TMPDIR:-/tmp}/chio-export-bench.XXXXXX")
cleanup() {
    "$here/scripts/nats-cluster.sh" stop "$work/nats" >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "export-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

for f in "$build/chio" "$build/perf/export-bench"; do
    [ -x "$f" ] || { echo "export-bench: $f missing (make export-bench builds it)" >&2; exit 2; }
done
urls=$("$here/scripts/nats-cluster.sh" start "$work/nats" 3 --owner $$)
"$build/perf/export-bench" --nats "$urls" --dir "$work" --cli "$build/chio" \
    --seconds "$seconds" --threads "$threads" --batch "$batch" \
    --durability "${DURABILITY:-sync}"
