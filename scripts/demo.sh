#!/usr/bin/env bash
# The libchio demo, end to end: a development signing key under ./state,
# capabilities issued to an agent, examples/host-service (libchio embedded
# in a service) started against the RocksDB log ./state/receipts, a
# separate agent process (examples/agent-client) driving a mixed workload
# over the service's Unix socket (a second client trying the agent's
# session, a revocation refused on the agent socket and done by the operator
# on the admin socket), SIGTERM and a clean drain, then the log listed and
# audited.
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
# per run: revocations persist in the log).
FILES="cap-files-$NOW"
TEMP="cap-temp-$NOW"
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
CHIO_SIGNING_KEY=$(cat "$KEY") CHIO_POLICY_HASH=demo-policy-v1 \
    "$HOST" --receipt-db "$DB" --socket "$SOCK" --admin-socket "$ADMIN" \
    --pid-file "$PIDFILE" 2>"$STATE/host-service.log" &
HOST_PID=$!
# On any failure below, do not leave the service running.
trap 'kill -TERM "$HOST_PID" 2>/dev/null || true' EXIT
# Ready once it logs that both sockets listen (a stale socket file may be
# there before that); stop waiting as soon as it exits.
ready() { grep -q '"event":"admin_listening"' "$STATE/host-service.log" 2>/dev/null; }
for _ in $(seq 100); do ready && break; kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
ready || { echo "host-service did not start:"; cat "$STATE/host-service.log"; exit 1; }
echo "host-service running (pid $HOST_PID), receipts in $DB"
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
ask() { # what request: send one request on the agent's connection
    local reply
    printf '%s\n' "$2" >>"$STATE/requests.jsonl"
    printf '%s\n' "$2" >&"$AGENT_IN"
    IFS= read -r -t 30 reply <&"$AGENT_OUT" || { echo "no answer from host-service"; cat "$STATE/host-service.log"; exit 1; }
    printf '%s\n' "$reply" >>"$STATE/responses.jsonl"
    printf '  %-44s %s\n' "$1" "$(printf '%s\n' "$reply" | summary)"
    REPLY_LINE=$reply
}
once() { # what flag path request: a separate connection for one request
    local reply
    reply=$(printf '%s\n' "$4" | "$CLIENT" "$2" "$3") || true
    printf '  %-44s %s\n' "$1" "$(printf '%s\n' "$reply" | summary)"
}

echo "the agent (one connection):"
ask "open a session with both capabilities" \
    "$(printf '{"op":"open_session","session":"agent","agent":"%s","capabilities":[%s,%s]}' \
        "$AGENT_PUB" "$(cat "$STATE/cap-files.json")" "$(cat "$STATE/cap-temp.json")")"
SESSION_ID=$(printf '%s\n' "$REPLY_LINE" | sed -n 's/.*"session":"\(sess-[A-Za-z0-9_-]*\)".*/\1/p')
ask "read /workspace/README.md" "$(call agent "$FILES" srv-files file_read '{"path":"/workspace/README.md"}')"
ask "list /workspace/src" "$(call agent "$FILES" srv-files list_dir '{"path":"/workspace/src"}')"
ask "fetch api.example.com" "$(call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}')"
ask "read /workspace/../etc/shadow" "$(call agent "$FILES" srv-files file_read '{"path":"/workspace/../etc/shadow"}')"
ask "write a file holding an AWS key" "$(call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"key AKIAABCDEFGHIJKLMNOP"}')"
ask "file_read with the web capability" "$(call agent "$TEMP" srv-files file_read '{"path":"/workspace/README.md"}')"
ask "revoke a capability (agent socket)" "$(printf '{"op":"revoke","capability_id":"%s"}' "$FILES")"

echo "another client that read the session id $SESSION_ID from a receipt:"
once "call on that session" --socket "$SOCK" "$(call "$SESSION_ID" "$FILES" srv-files file_read '{"path":"/workspace/README.md"}')"
once "close that session" --socket "$SOCK" "$(printf '{"op":"close_session","session":"%s"}' "$SESSION_ID")"

echo "the operator (admin socket):"
once "revoke $TEMP" --admin-socket "$ADMIN" "$(printf '{"op":"revoke","capability_id":"%s"}' "$TEMP")"

echo "the agent again, same session:"
ask "fetch with the revoked capability" "$(call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}')"
ask "write /workspace/notes.txt" "$(call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"hello"}')"
exec {AGENT_IN}>&-
wait "$CLIENT_PID" || { echo "agent-client failed"; exit 1; }
# The service closes the sessions of a connection that ends.
for _ in $(seq 50); do
    grep -q '"agent connection closed; 1 session(s) closed"' "$STATE/host-service.log" && break
    sleep 0.1
done
grep -q '"agent connection closed; 1 session(s) closed"' "$STATE/host-service.log" ||
    { echo "the agent's session was not closed with its connection"; exit 1; }
echo "the agent disconnected: host-service closed its 1 session"
once "status" --admin-socket "$ADMIN" '{"op":"status"}'
echo "(requests in $STATE/requests.jsonl, responses in $STATE/responses.jsonl)"

kill -TERM "$HOST_PID"
trap - EXIT
if wait "$HOST_PID"; then
    echo "SIGTERM: host-service drained every session and the kernel, exit 0"
else
    echo "host-service exited with $?"; cat "$STATE/host-service.log"; exit 1
fi

echo "the log now holds $("$CHIO" receipt list --receipt-db "$DB" --limit 0 | wc -l) receipts; the last one:"
"$CHIO" receipt list --receipt-db "$DB" --limit 0 | tail -n 1 | cut -c1-150 | sed 's/$/.../'
"$CHIO" receipt verify --receipt-db "$DB" --trusted-key "$KERNEL_PUB" | sed 's/^/audit: /'
echo
echo "look at the receipts again with:"
echo "  $CHIO receipt list --receipt-db $DB"
