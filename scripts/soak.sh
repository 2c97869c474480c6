#!/usr/bin/env bash
# The soak: examples/host-service under a long mixed load, watched for growth.
#
#   scripts/soak.sh [BUILD]          (make soak; BUILD defaults to build)
#
# On a fresh store in BUILD/soak/ it starts host-service (agent socket,
# admin socket, PID file: flags every version of the example has), then
# SOAK_WORKERS client processes that loop until the end: issue a fresh
# capability (chio capability issue), open a session with it and a shared
# web capability on a new connection (examples/agent-client), make 7 calls
# (3 allowed, 4 denied: path traversal, a secret in the arguments, a domain
# outside the grant, a tool outside the capability's scope), close the
# session; every 4th capability is then revoked on the admin socket and a
# new connection checks it is refused. Connections are short-lived, so an
# idle timeout in the service never cuts one.
#
# Restarts: during the first half of the run the service gets SIGTERM every
# SOAK_RESTART_SECONDS (it must drain and exit 0) and is started again on the
# same store; the second half is one uninterrupted process, so that growth
# inside a process shows (a restart would hide it).
#
# Every SOAK_SAMPLE_SECONDS it samples the service's RSS (VmRSS), open fds
# (/proc/PID/fd), threads (/proc/PID/status), open sessions (admin "status")
# and the calls made so far into BUILD/soak/samples.csv, and draws
# BUILD/soak/soak.png with gnuplot (installed by scripts/install-deps.sh
# --soak when missing; without it the run still decides, with no picture).
#
# Verdict (exit 1 on any): growth in the final, uninterrupted process: of its
# samples after a warm-up (SOAK_WARMUP_SECONDS, default a third of its run:
# RocksDB's memtables fill up to their bound first), the median of the last
# third against the median of the second third: RSS up by more than
# SOAK_RSS_PCT percent (10), fds or threads up by more than SOAK_FD_SLACK /
# SOAK_THREAD_SLACK (4); a SIGTERM that did not exit 0; sessions left open
# once every client has stopped; no allowed call at all; or `chio receipt
# verify --receipt-db` on the store not clean at the end (or holding fewer
# receipts than the verdicts the clients saw).
set -euo pipefail

BUILD=${1:-build}
MINUTES=${SOAK_MINUTES:-10}
WORKERS=${SOAK_WORKERS:-6}
SAMPLE_S=${SOAK_SAMPLE_SECONDS:-3}
RSS_PCT=${SOAK_RSS_PCT:-10}
FD_SLACK=${SOAK_FD_SLACK:-4}
THREAD_SLACK=${SOAK_THREAD_SLACK:-4}
DURATION=$((MINUTES * 60))
RESTART_S=${SOAK_RESTART_SECONDS:-$((DURATION / 8 > 20 ? DURATION / 8 : 20))}
WARMUP_S=${SOAK_WARMUP_SECONDS:-$((DURATION / 6))}

CHIO=$BUILD/chio
HOST=$BUILD/examples/host-service
CLIENT=$BUILD/examples/agent-client
DIR=$BUILD/soak
DB=$DIR/receipts
SOCK=$DIR/agent.sock
ADMIN=$DIR/admin.sock
PIDFILE=$DIR/host-service.pid
CSV=$DIR/samples.csv
PNG=$DIR/soak.png
LOG=$DIR/host-service.log

for b in "$CHIO" "$HOST" "$CLIENT"; do
    [ -x "$b" ] || { echo "soak: $b is missing (make all first)" >&2; exit 2; }
done
if ! command -v gnuplot >/dev/null 2>&1; then
    ./scripts/install-deps.sh --soak || echo "soak: gnuplot could not be installed: no plot" >&2
fi

rm -rf "$DIR"
mkdir -p "$DIR"
chmod 700 "$DIR"
KEY=$DIR/kernel.seed
AGENT=$DIR/agent.seed
"$CHIO" keygen --out "$KEY" >/dev/null
"$CHIO" keygen --out "$AGENT" >/dev/null
KERNEL_PUB=$("$CHIO" pubkey --seed-file "$KEY")
AGENT_PUB=$("$CHIO" pubkey --seed-file "$AGENT")
TTL=$((DURATION + 3600))
FILES_SCOPE='{"grants":[{"server_id":"srv-files","tool_name":"*","operations":["invoke"],"constraints":[{"type":"path_prefix","value":"/workspace/"}]}]}'
WEB_SCOPE='{"grants":[{"server_id":"srv-web","tool_name":"fetch","operations":["invoke"],"constraints":[{"type":"domain_glob","value":"*.example.com"}]}]}'
WEB_ID=soak-web
"$CHIO" capability issue --seed-file "$KEY" --subject "$AGENT_PUB" --ttl "$TTL" \
    --now "$EPOCHSECONDS" --id "$WEB_ID" --scope "$WEB_SCOPE" >"$DIR/cap-web.json"

HOST_PID=
GENERATION=0
STARTED_AT=()   # seconds into the run at which each generation started
FAILURES=()
T0=$SECONDS

start_host() {
    rm -f "$SOCK" "$ADMIN"
    CHIO_SIGNING_KEY=$(cat "$KEY") CHIO_POLICY_HASH=soak-policy-v1 \
        "$HOST" --receipt-db "$DB" --socket "$SOCK" --admin-socket "$ADMIN" \
        --pid-file "$PIDFILE" 2>>"$LOG" &
    HOST_PID=$!
    GENERATION=$((GENERATION + 1))
    STARTED_AT+=($((SECONDS - T0)))
    for _ in $(seq 100); do [ -S "$SOCK" ] && [ -S "$ADMIN" ] && return 0; sleep 0.1; done
    echo "soak: host-service did not start:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
}

stop_host() {
    local rc=0
    kill -TERM "$HOST_PID"
    for _ in $(seq 300); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$HOST_PID" 2>/dev/null; then
        FAILURES+=("host-service (generation $GENERATION) still draining 30 s after SIGTERM: killed")
        kill -KILL "$HOST_PID"
    fi
    wait "$HOST_PID" || rc=$?
    if [ "$rc" -ne 0 ]; then
        FAILURES+=("host-service (generation $GENERATION) exited $rc on SIGTERM")
    fi
    HOST_PID=
}

cleanup() {
    touch "$DIR/stop"
    [ -n "$HOST_PID" ] && kill -TERM "$HOST_PID" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

# ---- the clients --------------------------------------------------------------------------
call() { # session capability server tool arguments
    printf '{"op":"call","session":"%s","capability_id":"%s","server":"%s","tool":"%s","arguments":%s}\n' "$@"
}

# One worker: loops until $DIR/stop exists. Per iteration it appends one line
# "client_rc allows denies errors revoked_checked revoked_refused" to its
# counts file.
worker() {
    local w=$1 i=0 id cap req resp rc allows denies errors rchk rref
    req=$DIR/w$w.req
    resp=$DIR/w$w.resp
    while [ ! -e "$DIR/stop" ]; do
        i=$((i + 1))
        id=soak-w$w-$i
        cap=$("$CHIO" capability issue --seed-file "$KEY" --subject "$AGENT_PUB" --ttl "$TTL" \
            --now "$EPOCHSECONDS" --id "$id" --scope "$FILES_SCOPE")
        {
            printf '{"op":"open_session","session":"s","agent":"%s","capabilities":[%s,%s]}\n' \
                "$AGENT_PUB" "$cap" "$(cat "$DIR/cap-web.json")"
            call s "$id" srv-files file_read '{"path":"/workspace/README.md"}'
            call s "$id" srv-files list_dir '{"path":"/workspace/src"}'
            call s "$WEB_ID" srv-web fetch '{"url":"https://api.example.com/status"}'
            call s "$id" srv-files file_read '{"path":"/workspace/../etc/shadow"}'
            call s "$id" srv-files file_write '{"path":"/workspace/n.txt","text":"key AKIAABCDEFGHIJKLMNOP"}'
            call s "$WEB_ID" srv-web fetch '{"url":"https://evil.test/x"}'
            call s "$WEB_ID" srv-files file_read '{"path":"/workspace/README.md"}'
            printf '{"op":"close_session","session":"s"}\n'
        } >"$req"
        rc=0
        timeout 60 "$CLIENT" --socket "$SOCK" "$req" >"$resp" 2>/dev/null || rc=$?
        allows=$(grep -c '"verdict":"allow"' "$resp" || true)
        denies=$(grep -c '"verdict":"deny"' "$resp" || true)
        errors=$(grep -c '"ok":false' "$resp" || true)
        rchk=0
        rref=0
        if [ "$rc" -eq 0 ] && [ $((i % 4)) -eq 0 ]; then
            if printf '{"op":"revoke","capability_id":"%s"}\n' "$id" |
                timeout 60 "$CLIENT" --admin-socket "$ADMIN" 2>/dev/null | grep -q '^{"ok":true}'; then
                rchk=1
                {
                    printf '{"op":"open_session","session":"r","agent":"%s","capabilities":[%s]}\n' \
                        "$AGENT_PUB" "$cap"
                    call r "$id" srv-files file_read '{"path":"/workspace/README.md"}'
                } >"$req"
                if timeout 60 "$CLIENT" --socket "$SOCK" "$req" 2>/dev/null | grep -q 'revoked'; then
                    rref=1
                fi
            fi
        fi
        echo "$rc $allows $denies $errors $rchk $rref" >>"$DIR/w$w.counts"
        [ "$rc" -eq 0 ] || sleep 0.2 # the service is restarting
    done
}

# Totals over every worker: iterations ok_iterations allows denies errors revoked refused
totals() {
    { cat "$DIR"/w*.counts 2>/dev/null || true; } | awk '{n++; ok += ($1 == 0); a += $2; d += $3; e += $4;
        r += $5; f += $6} END {printf "%d %d %d %d %d %d %d\n", n, ok, a, d, e, r, f}'
}

sample() {
    local t rss fds thr sess calls
    [ -n "$HOST_PID" ] && [ -r "/proc/$HOST_PID/status" ] || return 0
    t=$((SECONDS - T0))
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$HOST_PID/status")
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$HOST_PID/status")
    fds=$(find "/proc/$HOST_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    sess=$(printf '{"op":"status"}\n' | timeout 10 "$CLIENT" --admin-socket "$ADMIN" 2>/dev/null |
        sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
    calls=$(totals | awk '{print $3 + $4}')
    echo "$t,$GENERATION,$HOST_PID,$rss,$fds,$thr,${sess:-},$calls" >>"$CSV"
}

# ---- the run ------------------------------------------------------------------------------
echo "soak: $MINUTES min, $WORKERS clients, a sample every ${SAMPLE_S}s, restarts every" \
    "${RESTART_S}s in the first half; store $DB"
echo "t_s,generation,pid,rss_kb,fds,threads,sessions,calls" >"$CSV"
start_host
for w in $(seq "$WORKERS"); do
    worker "$w" &
done
NEXT_RESTART=$RESTART_S
while [ $((SECONDS - T0)) -lt "$DURATION" ]; do
    sample
    now=$((SECONDS - T0))
    if [ "$now" -ge "$NEXT_RESTART" ] && [ "$now" -lt $((DURATION / 2)) ]; then
        stop_host
        start_host
        NEXT_RESTART=$((now + RESTART_S))
        echo "soak: ${now}s: restarted (generation $GENERATION), $(totals | awk '{print $3 + $4}') calls so far"
    fi
    sleep "$SAMPLE_S"
done
touch "$DIR/stop"
for j in $(jobs -p); do
    [ "$j" = "$HOST_PID" ] || wait "$j" || true
done
sleep 1
sample # every client gone: the last row's sessions must be 0
LAST_SESSIONS=$(tail -n 1 "$CSV" | cut -d, -f7)
stop_host
trap - EXIT

# ---- the verdict --------------------------------------------------------------------------
FINAL_START=${STARTED_AT[$((GENERATION - 1))]}
VERDICT=$(awk -F, -v gen="$GENERATION" -v from=$((FINAL_START + WARMUP_S)) \
    -v rss_pct="$RSS_PCT" -v fd_slack="$FD_SLACK" -v thr_slack="$THREAD_SLACK" '
    function median(a, n,    i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NR == 1 || $2 != gen || $1 < from { next }
    { n++; rss[n] = $4; fds[n] = $5; thr[n] = $6 }
    END {
        if (n < 6) { print "FAIL too few samples after warm-up (" n ")"; exit }
        a = int(n / 3); b = int(2 * n / 3)
        for (i = a + 1; i <= b; i++) { m = i - a; r2[m] = rss[i]; f2[m] = fds[i]; t2[m] = thr[i] }
        for (i = b + 1; i <= n; i++) { m = i - b; r3[m] = rss[i]; f3[m] = fds[i]; t3[m] = thr[i] }
        mr2 = median(r2, b - a); mr3 = median(r3, n - b)
        mf2 = median(f2, b - a); mf3 = median(f3, n - b)
        mt2 = median(t2, b - a); mt3 = median(t3, n - b)
        growth = mr2 > 0 ? 100 * (mr3 - mr2) / mr2 : 0
        bad = ""
        if (growth > rss_pct) bad = bad sprintf(" RSS +%.1f%% (limit %d%%);", growth, rss_pct)
        if (mf3 - mf2 > fd_slack) bad = bad sprintf(" fds +%g (limit %d);", mf3 - mf2, fd_slack)
        if (mt3 - mt2 > thr_slack) bad = bad sprintf(" threads +%g (limit %d);", mt3 - mt2, thr_slack)
        printf "%s %d samples; medians second third -> last third: RSS %d -> %d KiB (%+.1f%%), fds %g -> %g, threads %g -> %g;%s\n",
            bad == "" ? "OK" : "FAIL", n, mr2, mr3, growth, mf2, mf3, mt2, mt3, bad
    }' "$CSV")
echo "soak: trend in the final process (from ${FINAL_START}s, warm-up ${WARMUP_S}s): ${VERDICT#* }"
[ "${VERDICT%% *}" = OK ] || FAILURES+=("growth: ${VERDICT#* }")
if [ "${LAST_SESSIONS:-x}" != 0 ]; then
    FAILURES+=("sessions still open after every client stopped: ${LAST_SESSIONS:-unknown}")
fi

read -r ITER OKITER ALLOWS DENIES ERRORS REVOKED REFUSED < <(totals)
echo "soak: $ITER client iterations ($OKITER with every request answered), $((ALLOWS + DENIES))" \
    "calls: $ALLOWS allowed, $DENIES denied, $ERRORS error answers; $REVOKED revocations," \
    "$REFUSED of them checked refused; $GENERATION service processes"
[ "$ALLOWS" -gt 0 ] || FAILURES+=("no call was allowed")

AUDIT_RC=0
"$CHIO" receipt verify --receipt-db "$DB" --trusted-key "$KERNEL_PUB" >"$DIR/audit.json" 2>&1 ||
    AUDIT_RC=$?
RECEIPTS=$(sed -n 's/.*"receipts":\([0-9]*\).*/\1/p' "$DIR/audit.json" | tail -n 1)
echo "soak: audit (exit $AUDIT_RC): $(tail -n 1 "$DIR/audit.json")"
[ "$AUDIT_RC" -eq 0 ] || FAILURES+=("chio receipt verify --receipt-db exited $AUDIT_RC")
if [ -z "$RECEIPTS" ] || [ "$RECEIPTS" -lt $((ALLOWS + DENIES)) ]; then
    FAILURES+=("the store holds ${RECEIPTS:-no} receipts for $((ALLOWS + DENIES)) verdicts")
fi

FIRST=$(sed -n 2p "$CSV")
LAST=$(tail -n 1 "$CSV")
echo "soak: first sample t,gen,pid,rss_kb,fds,threads,sessions,calls = $FIRST"
echo "soak: last sample  t,gen,pid,rss_kb,fds,threads,sessions,calls = $LAST"

if command -v gnuplot >/dev/null 2>&1; then
    restarts=""
    for s in "${STARTED_AT[@]:1}"; do
        restarts+="set arrow from $s, graph 0 to $s, graph 1 nohead dt 2 lc rgb 'gray'; "
    done
    gnuplot <<EOF || echo "soak: gnuplot failed: no plot" >&2
set terminal pngcairo size 1000,900 noenhanced
set output '$PNG'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 4,1 title "chio soak: ${MINUTES} min, ${WORKERS} clients, $((ALLOWS + DENIES)) calls, ${RECEIPTS:-?} receipts verified (dashed: restarts)"
set xlabel 'seconds'
set grid
$restarts
set ylabel 'RSS (MiB)'
plot '$CSV' using 1:(\$4/1024) with linespoints pt 7 ps 0.4 title 'RSS'
set ylabel 'open fds'
plot '$CSV' using 1:5 with linespoints pt 7 ps 0.4 title 'fds'
set ylabel 'threads'
plot '$CSV' using 1:6 with linespoints pt 7 ps 0.4 title 'threads'
set ylabel 'calls (total)'
set ytics nomirror
set y2tics
set y2label 'open sessions'
plot '$CSV' using 1:8 with lines title 'calls', '' using 1:7 axes x1y2 with steps title 'open sessions (right)'
unset multiplot
EOF
    [ -f "$PNG" ] && echo "soak: plot in $PNG"
fi
echo "soak: samples in $CSV, service log in $LOG"

if [ "${#FAILURES[@]}" -gt 0 ]; then
    printf 'soak: FAIL: %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
echo "soak: PASS"
