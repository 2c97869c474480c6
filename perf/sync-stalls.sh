#!/usr/bin/env bash
# perf/sync-stalls.sh - the floor a WAL sync puts under a synchronous call's p99.
#
# An open-loop call under CHIO_DURABILITY_SYNC cannot return before a WAL
# sync that started after it arrived has finished, so it waits at least for
# the rest of the sync in progress. When a sync stalls (one that takes
# tens of milliseconds), every call arriving meanwhile waits for it. This
# script measures that floor in the same file system as the store, twice:
#
#   bare disk    a write(8 KiB) + fdatasync loop, back to back, no libchio
#   in the run   chio bench --durability sync, 16 callers at RATE calls/s,
#                under `perf trace -e fdatasync,fsync`: the commit stage's
#                own WAL syncs during the run
#
# and prints for each the p99 of the wait an arrival at a random moment
# sees before the sync in progress completes (the time-weighted residual:
# the smallest T with at most 1% of the wall time inside a sync more than T
# from its end), next to the run's own call p99. When the floor is near the
# calls' p99, the syncs are the bound, not the pipeline's hand-offs. A
# sync's duration is the disk's and whatever the file system does around
# it, including waiting for a CPU (docs/performance.md, "What a synced call
# waits for at half load").
#
# Usage: perf/sync-stalls.sh [CHIO_BINARY] [RATE] [OUT_DIR]
#   RATE defaults to half the closed-loop rate of 16 synchronous callers,
#   measured first (as perf/hot-path-table.sh does).
# Needs perf (Debian: linux-perf) with permission to trace syscalls (root,
# or kernel.perf_event_paranoid <= -1). Not part of `make test`.
set -euo pipefail
CHIO=${1:-build/chio}
RATE=${2:-}
OUT=${3:-build/sync-stalls}
SECS=${SYNC_STALLS_SECS:-10}
command -v perf >/dev/null || { echo "sync-stalls: perf not found (Debian: apt-get install linux-perf)" >&2; exit 2; }
mkdir -p "$OUT"
db="$OUT/db"

if [ -z "$RATE" ]; then
    rm -rf "$db"
    RATE=$("$CHIO" bench --receipt-db "$db" --json --threads 16 --calls 40000 --durability sync |
        python3 -c 'import json, sys; print(int(json.load(sys.stdin)["calls_per_sec"] / 2))')
fi

# residual P99 over a list of sync durations (seconds) spanning TOTAL seconds
PY_RESIDUAL='
def residual_p99(durs, total):
    def frac(t):
        return sum(max(0.0, d - t) for d in durs) / total
    lo, hi = 0.0, max(durs)
    for _ in range(60):
        mid = (lo + hi) / 2
        if frac(mid) > 0.01:
            lo = mid
        else:
            hi = mid
    return hi

def summary(durs, total):
    s = sorted(durs)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))] * 1e3
    return {"syncs": len(s), "sync_p50_ms": round(q(0.5), 3), "sync_p99_ms": round(q(0.99), 3),
            "sync_max_ms": round(s[-1] * 1e3, 1),
            "in_sync_pct": round(100 * sum(s) / total, 1),
            "in_syncs_over_3ms_pct": round(100 * sum(d for d in s if d > 0.003) / total, 2),
            "residual_p99_ms": round(residual_p99(s, total) * 1e3, 2)}
'

# 1. the bare disk
rm -rf "$db"
mkdir -p "$db"
python3 - "$db" "$SECS" > "$OUT/bare.json" <<PY
import json, os, sys, time
$PY_RESIDUAL
path = os.path.join(sys.argv[1], "sync-stalls.tmp")
secs = float(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
buf = b"x" * 8192
durs = []
t_start = time.perf_counter()
while time.perf_counter() - t_start < secs:
    t0 = time.perf_counter()
    os.write(fd, buf)
    os.fdatasync(fd)
    durs.append(time.perf_counter() - t0)
total = time.perf_counter() - t_start
os.close(fd)
os.unlink(path)
print(json.dumps(summary(durs, total)))
PY

# 2. the run, with the commit stage's syncs traced
rm -rf "$db"
calls=$((RATE * SECS))
# The trace goes to memory: a file growing in the store's file system would
# ride along with every WAL sync (ext4 commits all pending metadata, and
# in data=ordered mode the data behind it, at each fdatasync) and stall it.
trace=$(mktemp /dev/shm/sync-stalls.XXXXXX)
perf trace -o "$trace" -e fdatasync,fsync -- \
    "$CHIO" bench --receipt-db "$db" --json --threads 16 --calls "$calls" --rate "$RATE" \
    --durability sync > "$OUT/bench.json"
rm -rf "$db"
mv "$trace" "$OUT/trace.txt"
python3 - "$OUT/trace.txt" "$OUT/bench.json" "$OUT/bare.json" "$RATE" <<PY
import collections, json, re, sys
$PY_RESIDUAL
rows = []
for line in open(sys.argv[1]):
    # "T ( D ms): COMM/TID fdatasync(fd: N) = 0", or, when another event
    # came between entry and exit, "T (      ): ... fdatasync(fd: N) ..."
    # followed by "T ( D ms): COMM/TID  ... [continued]: fdatasync()) = 0".
    m = re.match(r"\s*([\d.]+) \(\s*([\d.]+) ms\): (.+?)/(\d+)\s+(?:\.\.\. \[continued\]: )?(\w+)\(", line)
    if m and float(m.group(2)) < 600000:
        rows.append((float(m.group(1)) / 1e3, float(m.group(2)) / 1e3, int(m.group(4))))
if not rows:
    sys.exit("sync-stalls: perf trace recorded no syncs (permission?)")
# The thread with the most syncs is the commit stage.
tid = collections.Counter(r[2] for r in rows).most_common(1)[0][0]
mine = [r for r in rows if r[2] == tid]
total = mine[-1][0] + mine[-1][1] - mine[0][0]
run = summary([r[1] for r in mine], total)
bench = json.loads(open(sys.argv[2]).read())
bare = json.loads(open(sys.argv[3]).read())
print("| measured | syncs | sync p50 ms | sync p99 ms | longest ms | time in syncs > 3 ms | wait for the sync in progress, p99 ms | calls p99 ms |")
print("|---|---|---|---|---|---|---|---|")
print("| bare disk, back to back | %d | %.2f | %.2f | %.1f | %.2f%% | %.2f | - |" % (
    bare["syncs"], bare["sync_p50_ms"], bare["sync_p99_ms"], bare["sync_max_ms"],
    bare["in_syncs_over_3ms_pct"], bare["residual_p99_ms"]))
print("| commit stage, %s calls/s | %d | %.2f | %.2f | %.1f | %.2f%% | %.2f | %.2f |" % (
    sys.argv[4], run["syncs"], run["sync_p50_ms"], run["sync_p99_ms"], run["sync_max_ms"],
    run["in_syncs_over_3ms_pct"], run["residual_p99_ms"], bench["p99_us"] / 1e3))
PY
