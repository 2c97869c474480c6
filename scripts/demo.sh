#!/usr/bin/env bash
# The libchio demo, end to end: a development signing key under ./state,
# capabilities issued to an agent, examples/host-service (libchio embedded
# in a service) started against the RocksDB log ./state/receipts, a
# separate agent process (examples/agent-client) driving a mixed workload
# over the service's Unix socket, SIGTERM and a clean drain, then the log
# listed and audited.
set -euo pipefail
BUILD=${1:-build}
CHIO=$BUILD/chio
HOST=$BUILD/examples/host-service
CLIENT=$BUILD/examples/agent-client
STATE=./state
DB=$STATE/receipts
SOCK=$STATE/host-service.sock
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

# The service reads its seed from the environment (and wipes it).
rm -f "$SOCK"
CHIO_SIGNING_KEY=$(cat "$KEY") CHIO_POLICY_HASH=demo-policy-v1 \
    "$HOST" --receipt-db "$DB" --socket "$SOCK" --pid-file "$PIDFILE" 2>"$STATE/host-service.log" &
HOST_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "host-service did not start:"; cat "$STATE/host-service.log"; exit 1; }
echo "host-service running (pid $HOST_PID), receipts in $DB"

call() { # session capability server tool arguments
    printf '{"op":"call","session":"%s","capability_id":"%s","server":"%s","tool":"%s","arguments":%s}\n' "$@"
}
{
    printf '{"op":"open_session","session":"agent","agent":"%s","capabilities":[%s,%s]}\n' \
        "$AGENT_PUB" "$(cat "$STATE/cap-files.json")" "$(cat "$STATE/cap-temp.json")"
    call agent "$FILES" srv-files file_read '{"path":"/workspace/README.md"}'
    call agent "$FILES" srv-files list_dir '{"path":"/workspace/src"}'
    call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}'
    call agent "$FILES" srv-files file_read '{"path":"/workspace/../etc/shadow"}'
    call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"key AKIAABCDEFGHIJKLMNOP"}'
    call agent "$TEMP" srv-files file_read '{"path":"/workspace/README.md"}'
    printf '{"op":"revoke","capability_id":"%s"}\n' "$TEMP"
    call agent "$TEMP" srv-web fetch '{"url":"https://api.example.com/status"}'
    call agent "$FILES" srv-files file_write '{"path":"/workspace/notes.txt","text":"hello"}'
} > "$STATE/requests.jsonl"

echo "agent-client sends $(wc -l < "$STATE/requests.jsonl") requests:"
"$CLIENT" --socket "$SOCK" "$STATE/requests.jsonl" > "$STATE/responses.jsonl"
# One line per response: the verdict and the code (or what the op did).
sed -e 's/^{"ok":true,"verdict":"\([a-z]*\)","code":"\([a-z_]*\)".*/  \1 (\2)/' \
    -e 's/^{"ok":true,"session":.*/  session opened/' \
    -e 's/^{"ok":true}$/  revoked/' \
    -e 's/^{"ok":false,"code":"\([a-z_]*\)".*/  error (\1)/' "$STATE/responses.jsonl"

kill -TERM "$HOST_PID"
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
