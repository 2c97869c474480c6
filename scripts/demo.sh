#!/usr/bin/env bash
# The libchio demo, end to end: a development signing key under ./state,
# capabilities issued to an agent, examples/host-service (libchio embedded
# in a service) started against the RocksDB log ./state/receipts, a
# separate agent process (examples/agent-client) driving a mixed workload
# over the service's Unix socket (a second client trying the agent's
# session, a revocation refused on the agent socket and done by the operator
# on the admin socket), SIGTERM and a clean drain, then the log listed and
# audited, and one receipt proved to be in a signed checkpoint. Each step
# says what it tests and what it should get; a step that gets something
# else makes the demo exit 1.
set -euo pipefail
BUILD=${1:-build}
CHIO=$BUILD/chio
HOST=$BUILD/examples/host-service
CLIENT=$BUILD/examples/agent-client
STATE=./state
DB=$STATE/receipts
SOCK=$STATE/host-service.sock
ADMIN=$STATE/host-service.admin.sock
PIDFILE=$STATE/host-service.pid
mkdir -p "$STATE"
chmod 700 "$STATE"

KEY=$STATE/kernel-signing.DEVELOPMENT-ONLY.seed
AGENT=$STATE/agent.DEVELOPMENT-ONLY.seed
for k in "$KEY" "$AGENT"; do
    if [ ! -f "$k" ]; then
        "$CHIO" keygen --out "$k" >/dev/null
        echo "created $k (mode 0600; a development-only key, never for production)"
    fi
done
KERNEL_PUB=$("$CHIO" pubkey --seed-file "$KEY")
AGENT_PUB=$("$CHIO" pubkey --seed-file "$AGENT")
NOW=$(date +%s)
echo "kernel key $KERNEL_PUB"

# Two capabilities for the agent, signed with the kernel's key (ids unique
# per run: revocations persist in the log, and two runs can start within
# the same second, so the id carries the nanoseconds too).
RUN=$(date +%s%N)
FILES="cap-files-$RUN"
TEMP="cap-temp-$RUN"
"$CHIO" capability issue --seed-file "$KEY" --subject "$AGENT_PUB" --ttl 3600 --now "$NOW" \
    --id "$FILES" --scope '{"grants":[{"server_id":"srv-files","tool_name":"*","operations":["invoke"],"constraints":[{"type":"path_prefix","value":"/workspace/"}]}]}' \
    > "$STATE/cap-files.json"
"$CHIO" capability issue --seed-file "$KEY" --subject "$AGENT_PUB" --ttl 3600 --now "$NOW" \
    --id "$TEMP" --scope '{"grants":[{"server_id":"srv-web","tool_name":"fetch","operations":["invoke"],"constraints":[{"type":"domain_glob","value":"*.example.com"}]}]}' \
    > "$STATE/cap-temp.json"

# The service reads its seed from the environment (and wipes it). Agents
# talk on $SOCK; revocation is an operator action on the admin socket.
# The service replaces a stale socket left by a killed run itself, and
# refuses (exit 2, "already in use") a socket a running service answers on.
# The previous run's log goes first: its "admin_listening" line must not
# be mistaken for this run's (the background start truncates it only later).
: >"$STATE/host-service.log"
CHIO_SIGNING_KEY=$(cat "$KEY") CHIO_POLICY_HASH=demo-policy-v1 \
    "$HOST" --receipt-db "$DB" --socket "$SOCK" --admin-socket "$ADMIN" \
    --pid-file "$PIDFILE" --checkpoint-batch 4 2>"$STATE/host-service.log" &
HOST_PID=$!
# On any failure below, do not leave the service running.
trap 'kill -TERM "$HOST_PID" 2>/dev/null || true' EXIT
# Ready once it logs that both sockets listen (a stale socket file may be
# there before that); stop waiting as soon as it exits.
ready() { grep -q '"event":"admin_listening"' "$STATE/host-service.log" 2>/dev/null; }
for _ in $(seq 100); do ready && break; kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
ready || { echo "host-service did not start:"; cat "$STATE/host-service.log"; exit 1; }
BEFORE=$("$CHIO" receipt list --receipt-db "$DB" --format jsonl --limit 0 2>/dev/null | wc -l) || BEFORE=0
echo "host-service running (pid $HOST_PID), receipts in $DB, a signed checkpoint every 4 receipts"
echo "  agent socket $SOCK, admin socket $ADMIN"

call() { # session capability server tool arguments
    printf '{"op":"call","session":"%s","capability_id":"%s","server":"%s","tool":"%s","arguments":%s}\n' "$@"
}
# One line per response: the verdict and the code (or what the op did).
summary() {
    sed -e 's/^{"ok":true,"verdict":"\([a-z]*\)","code":"\([a-z_]*\)".*/\1 (\2)/' \
        -e 's/^{"ok":true,"session":.*/session opened/' \
        -e 's/^{"ok":true}$/ok/' \
        -e 's/^{"ok":true,"connections":\([0-9]*\),"admin_connections":[0-9]*,"sessions":\([0-9]*\).*/\1 agent connections, \2 sessions open/' \
        -e 's/^{"ok":false,"code":"\([a-z_]*\)".*/error (\1)/'
}
: > "$STATE/requests.jsonl"
: > "$STATE/responses.jsonl"

# The agent keeps one connection open for the whole run: its session
# belongs to that connection and ends with it.
coproc AGENT { exec "$CLIENT" --socket "$SOCK"; }
CLIENT_PID=$AGENT_PID # bash unsets AGENT_PID once the client exits
AGENT_IN=${AGENT[1]}
AGENT_OUT=${AGENT[0]}
UNEXPECTED=0
# One line per step: what it tests, then what it got; a result other than
# the expected one is marked and fails the demo at the end.
show() { # what expected got
    if [ "$3" = "$2" ]; then
        printf '  %-60s -> %s\n' "$1" "$3"
    else
        printf '  %-60s -> %s   UNEXPECTED (expected %s)\n' "$1" "$3" "$2"
        UNEXPECTED=$((UNEXPECTED + 1))
    fi
}
ask() { # what expected request: send one request on the agent's connection
    local reply
    printf '%s\n' "$3" >>"$STATE/requests.jsonl"
    printf '%s\n' "$3" >&"$AGENT_IN"
    IFS= read -r -t 30 reply <&"$AGENT_OUT" || { echo "no answer from host-service"; cat "$STATE/host-service.log"; exit 1; }
    printf '%s\n' "$reply" >>"$STATE/responses.jsonl"
    show "$1" "$2" "$(printf '%s\n' "$reply" | summary)"
    REPLY_LINE=$reply
}
once() { # what expected flag path request: a separate connection for one request
    local reply
    reply=$(printf '%s\n' "$5" | "$CLIENT" "$3" "$4") || true
    show "$1" "$2" "$(printf '%s\n' "$reply" | summary)"
}

echo "the agent (one connection; each line: what it tests -> verdict (code)):"
ask "open a session holding both capabilities" "session opened" \
    "$(printf '{"op":"open_session","session":"agent","agent":"%s","capabilities":[%s,%s]}' \
        "$AGENT_PUB" "$(cat "$STATE/cap-files.json")" "$(cat "$STATE/cap-temp.json")")"
SESSION_ID=$(printf '%s\n' "$REPLY_LINE" | sed -n 's/.*"session":"\(sess-[A-Za-z0-9_-]*\)".*/\1/p')
ask "granted: file_read inside the /workspace/ prefix" "allow (none)" \
    "$(call agent "$FILES" srv-files file_read '{"path":"/workspace/README.md"}')"
ask "granted: list_dir, any tool of srv-files (tool_name *)" "allow (none)" \
    "$(call agent "$FILES" srv-files list_dir '{"path":"/workspace/src"}')"
ask "granted: fetch a host matching *.example.com" "allow (none)" \
    "$(call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}')"
ask "constraint: ../ climbs out of /workspace/" "deny (constraint_violated)" \
    "$(call agent "$FILES" srv-files file_read '{"path":"/workspace/../etc/shadow"}')"
TRAVERSAL_ID=$(printf '%s\n' "$REPLY_LINE" | sed -n 's/.*"receipt_id":"\([0-9a-f]*\)".*/\1/p')
ask "guard: an AWS key in the arguments (SecretLeakGuard)" "deny (guard_denied)" \
    "$(call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"key AKIAABCDEFGHIJKLMNOP"}')"
ask "scope: file_read under the web-only capability" "deny (out_of_scope)" \
    "$(call agent "$TEMP" srv-files file_read '{"path":"/workspace/README.md"}')"
ask "roles: an agent may not revoke (agent socket)" "error (forbidden)" \
    "$(printf '{"op":"revoke","capability_id":"%s"}' "$FILES")"

echo "another client that read the session id $SESSION_ID from a receipt:"
once "sessions: call on another connection's session" "error (unknown_session)" \
    --socket "$SOCK" "$(call "$SESSION_ID" "$FILES" srv-files file_read '{"path":"/workspace/README.md"}')"
once "sessions: close another connection's session" "error (unknown_session)" \
    --socket "$SOCK" "$(printf '{"op":"close_session","session":"%s"}' "$SESSION_ID")"

echo "the operator (admin socket):"
once "revocation: revoke $TEMP" "ok" \
    --admin-socket "$ADMIN" "$(printf '{"op":"revoke","capability_id":"%s"}' "$TEMP")"

echo "the agent again, same session:"
ask "revocation: fetch with the revoked capability" "deny (capability_revoked)" \
    "$(call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}')"
ask "granted: file_write without a secret" "allow (none)" \
    "$(call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"hello"}')"
exec {AGENT_IN}>&-
wait "$CLIENT_PID" || { echo "agent-client failed"; exit 1; }
# The service closes the sessions of a connection that ends (30 s at most):
# asked on the admin socket, since its connection_closed log lines are at
# most one a second (review 19) and the agent's may be one not shown.
status() { printf '{"op":"status"}\n' | "$CLIENT" --admin-socket "$ADMIN" 2>/dev/null | summary; }
for _ in $(seq 300); do
    case $(status) in *", 0 sessions open") break ;; esac
    sleep 0.1
done
case $(status) in
*", 0 sessions open") ;;
*) echo "the agent's session was not closed with its connection"; exit 1 ;;
esac
echo "the agent disconnected: host-service closed its 1 session"
# A connection's thread counts it out a moment after closing its sessions,
# and the two one-request clients above were never waited for: ask until
# the count has settled (30 s at most), then show the answer.
for _ in $(seq 300); do
    [ "$(status)" = "0 agent connections, 0 sessions open" ] && break
    sleep 0.1
done
once "cleanup: nothing left open" "0 agent connections, 0 sessions open" \
    --admin-socket "$ADMIN" '{"op":"status"}'
echo "(requests in $STATE/requests.jsonl, responses in $STATE/responses.jsonl)"

kill -TERM "$HOST_PID"
trap - EXIT
if wait "$HOST_PID"; then
    echo "SIGTERM: host-service drained every session and the kernel, exit 0"
else
    echo "host-service exited with $?"; cat "$STATE/host-service.log"; exit 1
fi


# The receipts of this run, as a table (`receipt list` prints JSON Lines
# when its output is not a terminal; --format says which).
TOTAL=$("$CHIO" receipt list --receipt-db "$DB" --format jsonl --limit 0 | wc -l)
RUN_COUNT=$((TOTAL - BEFORE))
echo
echo "the log holds $TOTAL receipts, $RUN_COUNT from this run:"
"$CHIO" receipt list --receipt-db "$DB" --format table --last "$RUN_COUNT" 2>/dev/null | sed 's/^/  /'
echo
echo "audit of the whole log, signer pinned to the kernel key:"
"$CHIO" receipt verify --receipt-db "$DB" --trusted-key "$KERNEL_PUB" | sed 's/^/  /'

# Every 4 receipts the kernel signed a checkpoint: a Merkle root over them.
# Prove that the path-traversal denial is in one, and check the proof.
echo
echo "checkpoints: $("$CHIO" checkpoint list --receipt-db "$DB" | wc -l) signed Merkle roots"
PROOF=$STATE/proof.json
if ! "$CHIO" checkpoint prove --receipt-db "$DB" --receipt "$TRAVERSAL_ID" >"$PROOF"; then
    echo "no inclusion proof for receipt $TRAVERSAL_ID"; exit 1
fi
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$PROOF"; }
echo "inclusion proof ($PROOF): the path-traversal denial, receipt seq $(field receipt_seq),"
echo "  is leaf $(field leaf_index) of checkpoint $(field checkpoint_seq) (a tree of $(field tree_size) receipts)"
if CHECK=$("$CHIO" checkpoint verify-proof --receipt-db "$DB" --trusted-key "$KERNEL_PUB" "$PROOF"); then
    echo "  $CHECK"
    echo "inclusion proof verified: the receipt hashes up to the root of a checkpoint signed by $KERNEL_PUB"
else
    echo "  $CHECK"; echo "the inclusion proof did not verify"; exit 1
fi
echo
echo "look at the receipts again with:"
echo "  $CHIO receipt list --receipt-db $DB --last 20"
echo "  $CHIO checkpoint list --receipt-db $DB"
if [ "$UNEXPECTED" -ne 0 ]; then
    echo "$UNEXPECTED step(s) got an unexpected result (marked UNEXPECTED above)"
    exit 1
fi
