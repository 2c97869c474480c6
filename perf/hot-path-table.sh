#!/usr/bin/env bash
# perf/hot-path-table.sh - the hot-path table: every figure measured in one
# run of this script on this machine, through the public API (chio bench:
# N caller threads, each a synchronous chio_kernel_evaluate of an echo tool
# on one session; process CPU from getrusage over the calls only).
#
#   closed loop   1, 16, 64 callers x nosync/sync: calls/s over the raw sign
#                 rate and over `limit`, CPU per call over the raw sign time,
#                 a signature's CPU with every CPU signing at once over the
#                 raw sign time (how much a busy neighbour CPU slows one),
#                 the CPU of one thread hand-off (futex wake and sleep)
#                 with every CPU busy and with a CPU idle,
#                 the machine's idle and steal % over the calls alone (the
#                 bench reads /proc/stat before and after them: is the CPU
#                 the bound?), vmstat's idle % over the whole run (which
#                 also counts the bench's set-up and its single-threaded
#                 reference measurements), the
#                 signer's share of the run on a CPU and runnable but off
#                 one, and its CPU per call (the sign time in the run); the
#                 16- and 64-caller rows again with the signers SCHED_FIFO
#                 (-rt: signer_realtime 1)
#   lone call     1 caller, 100 calls/s open loop: p50 next to the raw sign
#                 time, the paced (cold) sign time, how late a paced thread's
#                 timer wakes it, and (sync) the paced fsync; p50 "in the
#                 call" counts from when the caller started the call (after
#                 its own timer woke it), p50 from the call's due time
#   50% load      16 callers open loop at half of the closed-loop rate just
#                 measured: p99 from each call's due time, at the inherited
#                 priority, with the kernel threads at nice -10 and with
#                 the signers SCHED_FIFO (-rt)
#
# Usage: perf/hot-path-table.sh [CHIO_BINARY] [OUT_DIR]
# Writes OUT_DIR/hot-path.jsonl (one chio bench --json line per run, with
# "case" and "vmstat_idle" added) and prints a Markdown table.
set -euo pipefail
CHIO=${1:-build/chio}
OUT=${2:-build/hot-path}
CALLS=${HOT_PATH_CALLS:-40000}
mkdir -p "$OUT"
JSONL="$OUT/hot-path.jsonl"
: > "$JSONL"

# run NAME ARGS... : one chio bench run with vmstat sampling next to it.
run() {
    local name=$1; shift
    local db="$OUT/db"
    rm -rf "$db"
    vmstat 1 > "$OUT/vmstat.txt" 2>/dev/null &
    local vm=$!
    local line
    line=$("$CHIO" bench --receipt-db "$db" --json "$@")
    kill "$vm" 2>/dev/null || true
    wait "$vm" 2>/dev/null || true
    # idle is vmstat's 15th column; skip the two headers and the first
    # sample (averages since boot).
    local idle
    idle=$(awk 'NR > 3 && $15 ~ /^[0-9]+$/ { s += $15; n++ } END { if (n) printf "%.0f", s / n; else print "null" }' "$OUT/vmstat.txt")
    printf '%s\n' "$line" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read()); d["case"] = sys.argv[1]
d["vmstat_idle"] = None if sys.argv[2] == "null" else int(sys.argv[2])
print(json.dumps(d))' "$name" "$idle" >> "$JSONL"
    rm -rf "$db"
}

for d in nosync sync; do
    for n in 1 16 64; do
        run "closed-$n-$d" --threads "$n" --calls "$CALLS" --durability "$d"
    done
done
# The same closed loops with the signer threads SCHED_FIFO
# (chio_kernel_config.signer_realtime; the JSON's signer_realtime_applied
# says whether the system allowed it).
for d in nosync sync; do
    for n in 16 64; do
        run "closed-$n-$d-rt" --threads "$n" --calls "$CALLS" --durability "$d" --signer-realtime 1
    done
done
for d in nosync sync; do
    run "lone-$d" --threads 1 --calls 500 --rate 100 --durability "$d"
done
for d in nosync sync; do
    cap=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["case"] == "closed-16-" + sys.argv[2]: print(int(d["calls_per_sec"] / 2))' "$JSONL" "$d")
    run "half-$d" --threads 16 --calls $((cap * 6)) --rate "$cap" --durability "$d"
    run "half-$d-nice-10" --threads 16 --calls $((cap * 6)) --rate "$cap" --durability "$d" \
        --signer-priority -10
    run "half-$d-rt" --threads 16 --calls $((cap * 6)) --rate "$cap" --durability "$d" \
        --signer-realtime 1
done

python3 - "$JSONL" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def opt(v, fmt):
    return (fmt % v) if v else "-"
def pct(v):
    return "-" if v is None else "%.1f" % (100 * v)
print("| case | calls/s | / raw sign rate | / limit | CPU per call / raw sign | all-CPU sign / raw sign | hand-off CPU us busy / idle | idle % in calls | steal % | vmstat idle % | signer busy % | signer off-CPU % | signer us/call | p50 us | p99 us | in-call p50 us | raw sign us | paced sign us | woke late us | fsync p50 us | paced fsync us |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for d in rows:
    by = d.get("thread_cpu_per_call_us") or {}
    print("| %s | %.0f | %.2f | %.2f | %.2fx | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %.1f | %s | %s | %.0f | %s |" % (
        d["case"], d["calls_per_sec"], d["ratio_to_raw"], d["ratio_to_limit"],
        d["cpu_per_call_to_sign"],
        opt(d.get("sign_all_cpus_us", 0) / d["raw_sign_us"] if d["raw_sign_us"] else 0, "%.2fx"),
        "%s / %s" % (opt(d.get("handoff_busy_cpu_us"), "%.1f"), opt(d.get("handoff_idle_cpu_us"), "%.1f")),
        pct(d.get("machine_idle")), pct(d.get("machine_steal")),
        d["vmstat_idle"],
        opt(100 * d.get("signer_busy", 0), "%.0f"), "%.0f" % (100 * d.get("signer_waiting_for_cpu", 0)),
        opt(by.get("signer"), "%.1f"), d["p50_us"], d["p99_us"],
        opt(d["in_call_p50_us"] if d.get("open_loop_rate") else 0, "%d"), d["raw_sign_us"], opt(d["sign_paced_p50_us"], "%.1f"),
        opt(d.get("wake_late_p50_us"), "%.0f"), d["fsync_p50_us"],
        opt(d.get("fsync_paced_p50_us"), "%.0f")))
PY
