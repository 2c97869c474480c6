#!/usr/bin/env bash
# The libchio demo: a development signing key under ./state, a capability
# issued to an agent, and the kernel signing receipts into an embedded
# RocksDB log at ./state/receipts (through the real ring, signer threads and
# group commit), then the log listed, audited and one receipt proven against
# its Merkle checkpoint. The host-service issue turns this into a service
# that a separate client drives.
set -euo pipefail
CHIO=${1:-build/chio}
STATE=./state
DB=$STATE/receipts
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
"$CHIO" capability verify --at "$NOW" --trusted-key "$KERNEL_PUB" "$STATE/capability.json" >/dev/null
echo "issued and verified capability $(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$STATE/capability.json")"

echo "kernel: signing 500 receipts from 8 threads into $DB ..."
"$CHIO" bench --receipt-db "$DB" --seed-file "$KEY" --threads 8 --calls 500 |
    sed -n '2,4p'

echo "the last receipt in the log:"
"$CHIO" receipt list --receipt-db "$DB" --limit 0 | tail -n 1 | cut -c1-160 | sed 's/$/.../'

"$CHIO" receipt verify --receipt-db "$DB" --trusted-key "$KERNEL_PUB" |
    sed 's/^/audit: /'

FIRST_ID=$("$CHIO" receipt list --receipt-db "$DB" --limit 1 | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p')
"$CHIO" checkpoint prove --receipt-db "$DB" --receipt "$FIRST_ID" > "$STATE/proof.json"
"$CHIO" checkpoint verify-proof --receipt-db "$DB" --trusted-key "$KERNEL_PUB" "$STATE/proof.json" |
    sed 's/^/inclusion proof of the first receipt: /'

# The mediation pipeline: a policy scenario (sessions, capabilities, guards)
# against a real kernel whose receipts go to ./state/scenario-receipts.
SDB=$STATE/scenario-receipts
echo
echo "policy scenario scenarios/guards.json (receipts into $SDB):"
"$CHIO" scenario run scenarios/guards.json --receipt-db "$SDB" |
    sed -n 's/^{"code":"\([^"]*\)","op":"call".*"step":\([0-9]*\),"verdict":"\([a-z]*\)"}$/  step \2: \3 (\1)/p'
"$CHIO" receipt verify --receipt-db "$SDB" \
    --trusted-key ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c |
    sed 's/^/audit: /'
echo
echo "look at the receipts again with:"
echo "  $CHIO receipt list --receipt-db $DB"
echo "  $CHIO receipt list --receipt-db $SDB"
