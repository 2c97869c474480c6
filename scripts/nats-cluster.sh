#!/usr/bin/env bash
# A JetStream cluster on loopback for the fleet tests (tests/export/) and
# for trying `chio export` / `chio fleet` by hand (docs/fleet.md).
#
#   scripts/nats-cluster.sh start DIR [NODES] [--owner PID]
#       start NODES (default 3) nats-server processes with JetStream, one
#       config file, log, pid file and store directory each under DIR/nI,
#       routed to each other on free loopback ports (one node: no cluster);
#       wait until every node reports the same JetStream meta leader and
#       the full cluster size (polling the monitoring port, deadline 30 s),
#       then print the client URLs, comma-separated, on stdout (also kept
#       in DIR/urls). With --owner PID a watchdog stops the cluster when
#       that process is gone (a test that crashed cannot leave servers).
#   scripts/nats-cluster.sh stop DIR          stop every node (TERM, then KILL
#                                             after 10 s) and any straggler
#                                             still running on DIR's configs
#   scripts/nats-cluster.sh kill DIR I        SIGKILL node I (1-based)
#   scripts/nats-cluster.sh restart DIR I     start node I again on its ports
#                                             and store; wait until it serves
#
# Environment: CHIO_NATS_PORTS=LO-HI picks the ports from LO..HI only
# (tests/export/test_fleet.c uses it to leave few to pick from); TMPDIR
# holds the port holds (below).
#
# Exit status: 0, 1 a node did not come up (its log is printed), 2 usage.
set -euo pipefail

die() {
    echo "nats-cluster: $*" >&2
    exit 1
}
usage() {
    echo "usage: scripts/nats-cluster.sh start DIR [NODES] [--owner PID] | stop DIR |" \
        "kill DIR I | restart DIR I" >&2
    exit 2
}

command -v nats-server >/dev/null 2>&1 || die "nats-server not found (scripts/install-deps.sh)"

# Ports held for a cluster, from its pick until `stop`, across every
# cluster on the machine: a killed node's ports stay its own until it is
# restarted, where a random pick by another test's cluster once took one
# meanwhile ("bind: address already in use" on the restart, with Criterion
# running two tests per CPU). A hold is the file $HOLDS/PORT naming the
# holder's DIR; DIR/ports lists what DIR holds. A hold whose DIR no longer
# lists the port (its cluster was stopped, or its directory removed by a
# test that died) is stale and is taken over. Holds are made, taken over
# and let go under one lock ($HOLDS/.lock, flock), so two pickers never
# both take a port.
HOLDS=${TMPDIR:-/tmp}/chio-nats-ports

# Run "$@" holding the holds' lock.
with_holds_lock() {
    local lk rc=0
    mkdir -p "$HOLDS"
    exec {lk}>>"$HOLDS/.lock"
    flock "$lk"
    "$@" || rc=$?
    exec {lk}>&-
    return "$rc"
}

# Hold $1 for $dir: 0 when held, 1 when another cluster holds it.
hold_port_locked() {
    local p=$1 owner
    owner=$(cat "$HOLDS/$p" 2>/dev/null || true)
    if [ -n "$owner" ] && grep -qx "$p" "$owner/ports" 2>/dev/null; then
        return 1
    fi
    echo "$p" >>"$dir/ports"
    echo "$dir" >"$HOLDS/$p"
}
hold_port() { with_holds_lock hold_port_locked "$1"; }

# Let go of every port $dir holds.
release_ports_locked() {
    local p
    [ -e "$dir/ports" ] || return 0
    while read -r p; do
        if [ -n "$p" ] && [ "$(cat "$HOLDS/$p" 2>/dev/null)" = "$dir" ]; then
            rm -f "${HOLDS:?}/$p"
        fi
    done <"$dir/ports"
    rm -f "$dir/ports"
}
release_ports() { with_holds_lock release_ports_locked; }

# A port nobody uses (a random pick that no socket in /proc/net/tcp{,6}
# has as its local port and no other cluster holds, none picked twice) in
# $port, held for $dir until `stop`. Picked below the kernel's ephemeral
# range (ip_local_port_range, 32768.. by default) when there is room:
# `restart` binds a killed node's old ports again, and a port in that
# range can meanwhile become some client socket's local port.
free_port() {
    local i lo=20000 span=40000 eph
    eph=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 0)
    if [ "${eph:-0}" -gt 12000 ] 2>/dev/null; then
        lo=10000
        span=$((eph - 10000))
    fi
    if [[ ${CHIO_NATS_PORTS:-} =~ ^([0-9]+)-([0-9]+)$ ]]; then # a test's own range
        lo=${BASH_REMATCH[1]}
        span=$((BASH_REMATCH[2] - lo + 1))
    fi
    for i in $(seq 1 200); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % span))
        case " ${taken[*]-} " in *" $port "*) continue ;; esac
        if ! grep -qi "^ *[0-9]*: [0-9A-F]*:$(printf %04X "$port") " /proc/net/tcp /proc/net/tcp6 \
            2>/dev/null && hold_port "$port"; then
            taken+=("$port")
            return 0
        fi
    done
    die "no free port found"
}

# GET http://127.0.0.1:$1$2 with bash's /dev/tcp; the body on stdout.
http_get() {
    local fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
    timeout 2 cat <&"$fd" | sed '1,/^\r\{0,1\}$/d'
    exec {fd}>&-
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

node_pid() { cat "$dir/n$1/pid" 2>/dev/null || true; }

start_node() { # $1: node number; the config file is already written
    local i=$1
    rm -f "$dir/n$i/pid"
    nats-server -c "$dir/n$i/server.conf" >>"$dir/n$i/log" 2>&1 &
    echo $! >"$dir/n$i/pid"
}

# Does node $1 answer /jsz with meta leader $2 (any non-empty one when $2
# is "") and cluster size $3? Prints the leader.
node_ready() {
    local body leader size
    body=$(http_get "$(cat "$dir/n$1/mport")" /jsz) || return 1
    leader=$(sed -n 's/.*"leader": *"\([^"]*\)".*/\1/p' <<<"$body" | head -1)
    [ -n "$leader" ] || return 1
    [ -z "$2" ] || [ "$leader" = "$2" ] || return 1
    if [ "$3" -gt 1 ]; then
        size=$(sed -n 's/.*"cluster_size": *\([0-9]*\).*/\1/p' <<<"$body" | head -1)
        [ "${size:-0}" = "$3" ] || return 1
    fi
    echo "$leader"
}

# Wait until every node agrees on one meta leader (deadline 30 s).
wait_ready() {
    local n=$1 end i leader ok
    end=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$end" ]; do
        ok=1
        leader=""
        for i in $(seq 1 "$n"); do
            pid_alive "$(node_pid "$i")" || {
                tail -n 20 "$dir/n$i/log" >&2
                die "node $i exited"
            }
            if [ "$n" = 1 ]; then
                # a lone server has no meta group: JetStream up is enough
                http_get "$(cat "$dir/n$i/mport")" '/healthz?js-enabled-only=true' |
                    grep -q '"ok"' || ok=0
                continue
            fi
            leader=$(node_ready "$i" "$leader" "$n") || ok=0
            [ "$ok" = 1 ] || break
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    for i in $(seq 1 "$n"); do
        tail -n 5 "$dir/n$i/log" >&2
        http_get "$(cat "$dir/n$i/mport")" /jsz | grep -A5 meta_cluster >&2 || true
    done
    die "the JetStream cluster did not elect a meta leader within 30 s"
}

# Every nats-server whose command line names a config under DIR.
stragglers() {
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-c $dir/n" && echo "${p#/proc/}"
    done
    return 0
}

stop_all() {
    local pids=() p end
    for f in "$dir"/n*/pid; do
        [ -e "$f" ] && pids+=("$(cat "$f")")
    done
    mapfile -t -O "${#pids[@]}" pids < <(stragglers)
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    end=$((SECONDS + 10))
    for p in "${pids[@]}"; do
        while pid_alive "$p" && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [ -e "$dir/watchdog.pid" ]; then
        p=$(cat "$dir/watchdog.pid")
        rm -f "$dir/watchdog.pid"
        [ "$p" != "${BASHPID:-$$}" ] && kill -TERM "$p" 2>/dev/null || true
    fi
    rm -f "$dir"/n*/pid
    release_ports
}

cmd=${1:-}
[ $# -ge 2 ] || usage
dir=$2
case $cmd in
start)
    nodes=3
    owner=""
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --owner)
            [ $# -ge 2 ] || usage
            owner=$2
            shift 2
            ;;
        [0-9]*)
            nodes=$1
            shift
            ;;
        *) usage ;;
        esac
    done
    [ "$nodes" -ge 1 ] && [ "$nodes" -le 9 ] || usage
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    taken=()
    echo "$nodes" >"$dir/nodes"
    if [ -n "$owner" ]; then
        # The watchdog: polls its owner once a second; stops the cluster
        # when the owner is gone. Detached from our stdout so that a
        # caller reading it sees the end of the URL line.
        echo starting >"$dir/watchdog.pid"
        (
            while pid_alive "$owner" && [ -e "$dir/watchdog.pid" ]; do sleep 1; done
            [ -e "$dir/watchdog.pid" ] && stop_all
        ) </dev/null >/dev/null 2>>"$dir/watchdog.log" &
        echo $! >"$dir/watchdog.pid"
    fi
    # A port taken between the pick and the bind makes a node exit: try
    # again with other ports (three times).
    # A cluster name of its own: when another test's cluster takes a port
    # this one let go (a node killed and restarted), nodes of the two meet
    # on a route; NATS refuses a route from another cluster name, where
    # the same name merged the two (one test then read the other's stream).
    cname="chio-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    for attempt in 1 2 3; do
        cports=()
        urls=()
        for i in $(seq 1 "$nodes"); do
            mkdir -p "$dir/n$i/js"
            free_port
            echo "$port" >"$dir/n$i/port"
            free_port
            echo "$port" >"$dir/n$i/mport"
            free_port
            cports+=("$port")
        done
        routes=""
        for i in $(seq 1 "$nodes"); do
            routes+="${routes:+, }nats-route://127.0.0.1:${cports[$((i - 1))]}"
        done
        for i in $(seq 1 "$nodes"); do
            {
                echo "server_name: n$i"
                echo "listen: 127.0.0.1:$(cat "$dir/n$i/port")"
                echo "http: 127.0.0.1:$(cat "$dir/n$i/mport")"
                echo "jetstream { store_dir: \"$dir/n$i/js\", max_memory_store: 64MB, max_file_store: 2GB }"
                if [ "$nodes" -gt 1 ]; then
                    echo "cluster { name: $cname, listen: 127.0.0.1:${cports[$((i - 1))]}, routes: [$routes] }"
                fi
            } >"$dir/n$i/server.conf"
            urls+=("nats://127.0.0.1:$(cat "$dir/n$i/port")")
        done
        for i in $(seq 1 "$nodes"); do start_node "$i"; done
        if (wait_ready "$nodes"); then
            break
        fi
        keep=$(cat "$dir/watchdog.pid" 2>/dev/null || true)
        stop_all
        [ -z "$keep" ] || echo "$keep" >"$dir/watchdog.pid"
        if [ "$attempt" = 3 ] || ! grep -q "address already in use" "$dir"/n*/log; then
            rm -f "$dir/watchdog.pid"
            exit 1
        fi
        rm -rf "${dir:?}"/n*
    done
    (
        IFS=,
        echo "${urls[*]}"
    ) | tee "$dir/urls"
    ;;
stop)
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    stop_all
    ;;
kill)
    [ $# -eq 3 ] || usage
    dir=$(cd "$dir" && pwd)
    p=$(node_pid "$3")
    pid_alive "$p" || die "node $3 is not running"
    kill -KILL "$p"
    while pid_alive "$p"; do sleep 0.01; done
    rm -f "$dir/n$3/pid"
    ;;
restart)
    [ $# -eq 3 ] || usage
    dir=$(cd "$dir" && pwd)
    pid_alive "$(node_pid "$3")" && die "node $3 is running"
    start_node "$3"
    wait_ready "$(cat "$dir/nodes")"
    ;;
*) usage ;;
esac
