#!/usr/bin/env bash
# The libchio demo (foundation stage): with the chio CLI, create a
# development signing key under ./state, issue a capability to an agent,
# sign an allow and a deny receipt, verify them, and show that a tampered
# receipt fails. The kernel issue replaces this with a host service that
# writes receipts to RocksDB under ./state/receipts.
set -euo pipefail
CHIO=${1:-build/chio}
STATE=./state
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

SCOPE='{"grants":[{"server_id":"srv-files","tool_name":"file_read","operations":["invoke"],"constraints":[{"type":"path_prefix","value":"/workspace/"}],"max_invocations":10}]}'
"$CHIO" capability issue --seed-file "$KEY" --subject "$AGENT_PUB" --scope "$SCOPE" \
    --ttl 3600 --now "$NOW" > "$STATE/capability.json"
CAP_ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$STATE/capability.json")
echo "issued capability $CAP_ID to agent ${AGENT_PUB:0:16}..."
"$CHIO" capability verify --at "$NOW" --trusted-key "$KERNEL_PUB" "$STATE/capability.json" >/dev/null
echo "capability verifies (trusted issuer, valid now)"

body() { # verdict-json parameters-json
    printf '{"timestamp":%s,"capability_id":"%s","tool_server":"srv-files","tool_name":"file_read",' "$NOW" "$CAP_ID"
    printf '"action":{"parameters":%s},"decision":%s,"receipt_kind":"mediated_decision",' "$2" "$1"
    printf '"boundary_class":"prevent","tool_origin":"caller_executed","redaction_mode":"none",'
    printf '"content_hash":"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",'
    printf '"policy_hash":"dev-policy-hash","trust_level":"mediated"}'
}
: > "$STATE/receipts.jsonl"
body '{"verdict":"allow"}' '{"path":"/workspace/notes.md"}' |
    "$CHIO" receipt sign --seed-file "$KEY" >> "$STATE/receipts.jsonl"
body '{"verdict":"deny","reason":"path is outside /workspace/","guard":"scope"}' '{"path":"/etc/shadow"}' |
    "$CHIO" receipt sign --seed-file "$KEY" >> "$STATE/receipts.jsonl"
echo "signed 2 receipts into $STATE/receipts.jsonl (one allow, one deny)"

"$CHIO" receipt verify --trusted-key "$KERNEL_PUB" "$STATE/receipts.jsonl" |
    sed 's/.*"decision":"\([a-z]*\)".*"ok":\([a-z]*\).*"result":"\([A-Za-z]*\)".*/  \1: ok=\2 result=\3/'

sed 's#/workspace/notes.md#/workspace/secret.md#' "$STATE/receipts.jsonl" > "$STATE/tampered.jsonl"
if "$CHIO" receipt verify --trusted-key "$KERNEL_PUB" "$STATE/tampered.jsonl" >/dev/null; then
    echo "ERROR: a tampered receipt verified" >&2
    exit 1
fi
echo "a tampered copy fails verification (exit 1), as it must"
echo
echo "look at the receipts again with:"
echo "  $CHIO receipt verify --trusted-key $KERNEL_PUB $STATE/receipts.jsonl"
